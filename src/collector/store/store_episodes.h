/*
 * store_episodes.h -- the lean read of records that episodes.c derives
 * outage episodes from: measurement results and heartbeats in one time
 * window, grouped by probe and in time order within a probe, with only
 * the columns an episode needs (no record bytes).
 */
#ifndef CW_STORE_EPISODES_H
#define CW_STORE_EPISODES_H

#include <stdbool.h>

#include "cwtime.h"
#include "store.h"

/* One record as store_episode_rows() gives it.  Strings are
 * NUL-terminated and valid only during the callback; absent ones are
 * NULL, absent numbers -1. */
struct store_episode_row {
	long long id;
	long long time;
	const char *probe; /* id */
	bool heartbeat;    /* else a "dns" or "http" result with an ok */
	const char *name, *server, *addr, *proto;
	long long af;
	int ok; /* 1 or 0; -1 for a heartbeat */
	const char *failure;
	const char *country;
	long long asn;
};

/*
 * store_episode_rows: every "dns" and "http" record with an `ok` (and,
 * with `heartbeats`, every heartbeat) whose measurement time is in
 * [from, to) (0: open), ordered by (probe, time, id), each to `cb`
 * (non-zero stops).  Returns the number of rows given, or STORE_E_DB
 * with the reason in store_error_text().
 */
long long store_episode_rows(struct store *st, cw_usec_t from, cw_usec_t to,
    bool heartbeats, int (*cb)(void *arg, const struct store_episode_row *r),
    void *arg);

#endif /* CW_STORE_EPISODES_H */
