/*
 * store_read.h -- reads of the store that store.h does not offer, for
 * the summaries: the records in measurement-time order.  Written over
 * db.h for both backends, on the schema of store.c.
 */
#ifndef CW_STORE_READ_H
#define CW_STORE_READ_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

/* Where a time-ordered read goes on: after the record with this
 * measurement time and id.  Start with STORE_CURSOR_START. */
struct store_cursor {
	long long	time;
	long long	id;
};

#define STORE_CURSOR_START	((struct store_cursor){-1, 0})

/*
 * store_results_by_time: the records matching `f` that have a
 * measurement time and come after `cur`, ordered by (time, id), at most
 * `limit` of them, each to `cb` (non-zero stops) as in store_results().
 * With `measurements`, only measurement results ("dns" and "http"
 * records with an `ok`) are read.  Moves `cur` to the last record given.
 * Returns the number of records given, or STORE_E_DB (the reason in
 * db_error(store_db(st)); store_unavailable() as ever).
 */
long long store_results_by_time(struct store *st,
    const struct store_filter *f, bool measurements,
    struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg);

#endif /* CW_STORE_READ_H */
