/*
 * report_int.h -- what report.c gathers and report_html.c writes: the
 * internals of report.h, shared by its two files only.
 */
#ifndef CW_REPORT_INT_H
#define CW_REPORT_INT_H

/* How far before the window a configuration declared by its hash alone
 * is looked up in full: a probe declares it in full once a day. */
#define REPORT_DECLARED_LOOKBACK (25 * 3600 * CW_USEC_PER_SEC)

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "episodes.h"
#include "record.h"
#include "store.h"
#include "store_annot.h"
#include "summary.h"

/* A row of an availability timeline: a target group (name, family,
 * transport) or a target, with its results per time column. */
struct report_series {
	char *label;           /* owned; first, for report_label_find */
	long long *ok, *total; /* ncols each, owned */
	long long ok_all, total_all;
};

/* A target (name, server, address, transport): its availability and
 * the RTTs of its successes (sorted once gathered), kept as the
 * summary keeps a group's, for the same median and percentiles
 * (summary_rtts_percentile). */
struct report_target {
	struct report_series s;  /* first */
	struct summary_rtts rtt; /* owned */
};

struct report_chain {
	char chain[RECORD_ID_HEX + 1];
	long long first, last, n;
};

/* A configuration a probe declared: its hash and, when a heartbeat
 * carried it whole, its measurements (a JSON array, owned). */
struct report_config {
	char hash[RECORD_HASH_HEX + 1];
	json_t *measurements;
	cw_usec_t first, last; /* heartbeats that declared it */
	cw_usec_t full_at;     /* the one that had the measurements: before the
			    * window when only the hash was declared in it */
};

struct report_probe {
	char id[RECORD_ID_HEX + 1];
	long long num;
	char name[STORE_NAME_MAX + 1];
	char pubkey[2 * RECORD_PUBKEY_LEN + 1]; /* hex; "" unknown */
	char country[3];
	long long asn;
	long long records, results, ok;
	struct report_chain *chains;
	size_t nchains;
	struct report_config *configs;
	size_t nconfigs;
};

struct report {
	struct store_filter filter; /* deep copy */
	cw_usec_t bucket;
	size_t ncols;
	struct report_series *groups;
	size_t ngroups, groups_left_out; /* results of groups not drawn */
	struct report_target *targets;
	size_t ntargets, targets_left_out;
	struct report_probe *probes;
	size_t nprobes;
	long long results, ok;
	unsigned long long records;
	char sha256[RECORD_HASH_HEX + 1];
	struct episode_list episodes;
	struct store_annotation *annots;
	size_t nannots;
};

/* report_rtt_ms: percentile `q` (1 to 100; 50 the median) of target
 * `t`'s RTTs (t->rtt.n > 0) in milliseconds, as the summary defines it
 * (summary_rtts_percentile). */
double report_rtt_ms(const struct report_target *t, unsigned q);

/* report_episode_target: "name server addr /proto IPvN" of an
 * episode's target, "all N targets: ..." of a probe's cut, or
 * "(heartbeats stopped)" of a silence, into a string the caller frees
 * (NULL out of memory). */
char *report_episode_target(const struct episode *e);

/* report_probe_find: the gathered probe of id `id`, or NULL. */
const struct report_probe *report_probe_find(const struct report *r,
    const char *id);

#endif /* CW_REPORT_INT_H */
