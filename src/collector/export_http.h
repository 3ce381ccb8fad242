/*
 * export_http.h -- the collector's read endpoints on its HTTP service
 * (collector_http.h), all GET and all behind the read token unless the
 * configuration opens them (public_read); even then, heartbeat records
 * and what probes declare of themselves go only to the read token
 * (doc/export.md):
 *
 *   /api/v1/results?format=jsonl|csv|atlas&<filters>   the records
 *   /api/v1/summary?bucket=Nm|Nh|Nd&format=json|csv&<filters>
 *   /api/v1/probes                                     the probes
 *
 * Results and summaries are streamed with chunked transfer encoding:
 * one page of the store is read when the previous one has been written
 * to the client, so a slow client holds one page, never the whole
 * answer.  The status goes out with the first bytes: a database error
 * before them is a 503 (database unavailable, with Retry-After) or a
 * 500, and a summary whose bucket would hold more groups (targets and
 * probes) than its cap a 400 that says how to narrow it; once streaming
 * has begun an error ends the connection without the last chunk, so
 * that a client never takes a cut answer for a whole one.
 */
#ifndef CW_EXPORT_HTTP_H
#define CW_EXPORT_HTTP_H

#include <stddef.h>

struct collector_http;
struct event_base;
struct store;
struct export_http;

/*
 * export_http_new: serve the read endpoints on `h`, reading `st`, with
 * timers on `base` (all borrowed: they must outlive the endpoints); a
 * summary may have `summary_max_groups` groups in one bucket (0: no
 * cap).  NULL when out of memory or a route cannot be added (logged).
 */
struct export_http *export_http_new(struct collector_http *h,
    struct event_base *base, struct store *st, size_t summary_max_groups);

/* export_http_streams: answers being streamed now. */
size_t export_http_streams(const struct export_http *x);

/*
 * export_http_free: end every answer still streaming (its connection is
 * closed: the client sees an incomplete body) and free the endpoints'
 * state.  Call it before collector_http_free(), which frees the
 * connections.  NULL is fine.
 */
void export_http_free(struct export_http *x);

#endif /* CW_EXPORT_HTTP_H */
