/*
 * episodes.h -- outage episodes derived from the stored results
 * (doc/episodes.md states every rule and the severity formula).
 *
 * An episode is a run of at least `min_failures` failed measurements in
 * a row of one target (measurement name, server or URL, address,
 * transport, address family) from one probe, bracketed by the records
 * around it: the last success before and the first failure at its
 * start, the last failure and the first success after at its end (none
 * while it is ongoing).  Its scope says what failed: the target alone,
 * the probe (it reached none of its targets meanwhile; also a probe
 * whose heartbeats stopped), or a region (probes of one declared
 * country or ASN that lost the same target in overlapping windows).
 *
 * The runs of failures are kept incrementally: each ingest moves a
 * state per target on in its own transaction (store_episodes.h), so a
 * query reads the runs of its window, not a day of records; what
 * depends on the query (the failures that make an episode, the scope,
 * the region, the severity) is decided here, on query
 * (contrib/bench/episodes-bench.sh measures it).
 */
#ifndef CW_EPISODES_H
#define CW_EPISODES_H

#include <stdbool.h>
#include <stddef.h>

#include "cwtime.h"
#include "record.h"
#include "store.h"

#define EPISODES_MIN_FAILURES 2 /* failures in a row that open one */

enum episode_scope {
	EPISODE_TARGET,
	EPISODE_PROBE,
	EPISODE_REGION,
};

/* A record that bounds an episode: id 0 when there is none (no success
 * before it in the window, or none after it yet). */
struct episode_mark {
	long long id;
	cw_usec_t time;
};

/* One target of a probe episode that covers several. */
struct episode_target {
	char *name, *server, *addr, *proto; /* owned */
	long long af;
};

/* Failures of one name ("generic_timeout_error" ...) in an episode. */
struct episode_failure {
	char *name; /* owned */
	long long n;
};

struct episode {
	enum episode_scope scope;
	bool silence; /* a heartbeat gap: no target, no failures */
	bool dropped; /* not given: merged into another, or too short */
	char probe[RECORD_ID_HEX + 1];
	long long probe_num;
	char country[3]; /* of its first failure's record; "" undeclared */
	long long asn;   /* -1 undeclared */
	/* The target; all NULL (af -1) for a silence and for a probe
	 * episode of several targets (those in `targets`).  Owned. */
	char *name, *server, *addr, *proto;
	long long af;
	struct episode_target *targets; /* owned; ntargets 0: the one above */
	size_t ntargets;
	struct episode_mark last_ok, first_failure, last_failure, first_ok;
	long long failures;
	struct episode_failure *names; /* by name, owned */
	size_t nnames;
	long long measurements; /* of the probe, first to last failure */
	long long failing;      /* of them, failed */
	double duration_s;
	double severity;
	size_t region_probes; /* probes in its region (scope region) */
};

struct episode_list {
	struct episode *v;
	size_t n, cap;
};

/* What to find.  `filter` as the exports take it (its probe, name,
 * addr, country and asn select episodes, its from/to the records they
 * are derived from); `scope` < 0: any. */
struct episodes_query {
	struct store_filter filter;
	int min_failures;
	int scope;
	double min_severity;
	bool heartbeats;   /* silences too: for the read token only */
	bool per_target;   /* a probe's cut as one episode per target */
	cw_usec_t silence; /* the least gap that is a silence (0: none) */
	cw_usec_t now;     /* where a silence without a next heartbeat ends */
};

/* episodes_query_init: the defaults (2 failures, any scope, severity 0,
 * silences left out, no least silence beyond the probe's own, a probe's
 * cut as one episode), `now` the real time. */
void episodes_query_init(struct episodes_query *q);

/*
 * episodes_param_set: the episode parameter `key` ("scope",
 * "min_severity", "min_failures", "silence", "per_target") from
 * `value`: a scope name, a number >= 0, an integer from 1 to 1000,
 * whole seconds from 0, "true" or "false".
 * Returns 1 when set, 0 when `key` is not one of them, -1 for a bad
 * value (the reason, naming the parameter, in `err`).
 */
int episodes_param_set(struct episodes_query *q, const char *key,
    const char *value, char *err, size_t errlen);

/*
 * episodes_find: the episodes of `st` that `q` selects into `out`
 * (initialised here; free with episode_list_clear, also after an
 * error), ordered by first failure (a silence by its last heartbeat),
 * probe and target: the runs of failures (and silences) that overlap
 * the window [filter.from, filter.to), with their brackets wherever
 * the records are; the runs of one probe's cut (scope probe) merged
 * into one episode of all their targets unless `per_target`.  A
 * silence is a heartbeat gap longer than twice the interval the probe
 * declared (store_heartbeat_interval) and than `silence`.  Returns 0, or STORE_E_DB (the reason in
 * store_error_text(); store_unavailable() tells 503) or -1 out of
 * memory.
 */
int episodes_find(struct store *st, const struct episodes_query *q,
    struct episode_list *out);

void episode_list_clear(struct episode_list *l);

/* episode_scope_name: "target", "probe" or "region". */
const char *episode_scope_name(enum episode_scope s);

struct evbuffer;

/* episodes_write_jsonl, episodes_write_csv: the list as JSON lines, or
 * as CSV with a header row (CRLF), appended to `out`.  Returns 0, or -1
 * out of memory. */
int episodes_write_jsonl(const struct episode_list *l, struct evbuffer *out);
int episodes_write_csv(const struct episode_list *l, struct evbuffer *out);

#endif /* CW_EPISODES_H */
