/*
 * store_episodes.h -- what the store keeps for episodes (episodes.h,
 * doc/episodes.md), maintained in the transaction of each ingest so
 * that a query reads runs, not a day of records:
 *
 *   episode_state  one row per target (measurement name, server, addr,
 *                  proto, af) of each probe: its last success and its
 *                  open run of failures; and one per probe (target "")
 *                  with its last heartbeat;
 *   episode_runs   every run of one failure or more, open or closed,
 *                  with its brackets and failures by name; and every
 *                  gap between two heartbeats of a probe longer than
 *                  twice the interval the first of them declares (a
 *                  silence; store_heartbeat_interval).
 *
 * Results that had nothing to query (failure dns_no_servers) are no
 * target's and are left out.  Records are taken in seq order as they
 * are stored; a record whose
 * time is not after the last one taken for its target (a gap filled
 * late, a clock that stepped back) changes nothing.
 */
#ifndef CW_STORE_EPISODES_H
#define CW_STORE_EPISODES_H

#include <stdbool.h>

#include "cwtime.h"
#include "store.h"

/* The heartbeat interval of a heartbeat that declares none: the
 * probe's default (corewatch.conf(5)). */
#define STORE_HEARTBEAT_DEFAULT (300 * CW_USEC_PER_SEC)

/*
 * store_heartbeat_interval: the interval a heartbeat record (its line,
 * `len` bytes, not NUL-terminated) declares, its "interval_s", in
 * microseconds; STORE_HEARTBEAT_DEFAULT when it declares none or the
 * line is not a JSON object.  A gap of more than twice this after the
 * heartbeat is a silence: a probe on time never has one.
 */
cw_usec_t store_heartbeat_interval(const void *line, size_t len);

/* The schema of the two tables (a migration of store.c). */
#define STORE_EPISODES_SCHEMA \
	"CREATE TABLE episode_state (" \
	"  probe TEXT NOT NULL," \
	"  target TEXT NOT NULL," \
	"  name TEXT, server TEXT, addr TEXT, proto TEXT, af BIGINT," \
	"  last_time BIGINT NOT NULL," \
	"  last_ok_id BIGINT, last_ok_time BIGINT," \
	"  run_first_id BIGINT, run_first_time BIGINT," \
	"  run_last_id BIGINT, run_last_time BIGINT," \
	"  run_failures BIGINT NOT NULL, run_names TEXT," \
	"  country TEXT, asn BIGINT," \
	"  PRIMARY KEY (probe, target));" \
	"CREATE TABLE episode_runs (" \
	"  key_id BIGINT PRIMARY KEY," \
	"  silence BIGINT NOT NULL," \
	"  probe TEXT NOT NULL," \
	"  name TEXT, server TEXT, addr TEXT, proto TEXT, af BIGINT," \
	"  country TEXT, asn BIGINT," \
	"  last_ok_id BIGINT, last_ok_time BIGINT," \
	"  first_id BIGINT, first_time BIGINT," \
	"  last_id BIGINT, last_time BIGINT," \
	"  first_ok_id BIGINT, first_ok_time BIGINT," \
	"  failures BIGINT NOT NULL, names TEXT," \
	"  start_time BIGINT NOT NULL, end_time BIGINT);" \
	"CREATE INDEX episode_runs_start ON episode_runs (start_time);"

/*
 * store_episodes_ingest: take the records of chain `chain` of probe
 * `probe` with seqs from `first` to `last`, just stored, into the
 * tables above.  Runs inside the caller's transaction (store_ingest).
 * Returns 0, or -1 with the store's error set.
 */
int store_episodes_ingest(struct store *st, const char *probe,
    const char *chain, long long first, long long last);

/* A run or a silence as store_episode_runs() gives it: strings
 * NUL-terminated and valid only during the callback, absent ones NULL;
 * absent numbers -1, absent marks id 0. */
struct store_episode_run {
	bool silence;
	const char *probe, *name, *server, *addr, *proto;
	long long af;
	const char *country;
	long long asn;
	long long last_ok_id, last_ok_time, first_id, first_time;
	long long last_id, last_time, first_ok_id, first_ok_time;
	long long failures;
	const char *names; /* "name=count;name=count" */
};

/*
 * store_episode_runs: the runs of `min_failures` or more and the
 * silences that overlap [from, to) (0: open), and then (with `to` 0 or
 * after it) each probe's last heartbeat before `to` as a silence not
 * ended yet (first_ok_id 0, last_ok its heartbeat), each to `cb`
 * (non-zero stops).  Returns the number given, or STORE_E_DB.
 */
long long store_episode_runs(struct store *st, cw_usec_t from, cw_usec_t to,
    long long min_failures,
    int (*cb)(void *arg, const struct store_episode_run *r), void *arg);

/*
 * store_episode_count: the measurement results of probe `probe` timed
 * from `t0` to `t1` (both included) in *n, the failed ones in *failing.
 * Returns 0, or STORE_E_DB.
 */
int store_episode_count(struct store *st, const char *probe, cw_usec_t t0,
    cw_usec_t t1, long long *n, long long *failing);

#endif /* CW_STORE_EPISODES_H */
