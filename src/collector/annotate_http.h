/*
 * annotate_http.h -- annotations on the collector's HTTP service
 * (collector_http.h; doc/export.md, "Annotations"):
 *
 *   GET  /api/v1/annotations?from=T&to=T&format=jsonl|csv
 *        the annotations whose window meets [from, to), as a read
 *        endpoint: the read token, or anyone under public_read;
 *   POST /api/v1/annotations          {"from": T, "to": T, "text": ...}
 *        adds one: 201 with it, its id and creation time included;
 *   POST /api/v1/annotations/delete   {"id": N}
 *        removes one: 200, or 404 when there is none.
 *
 * Writes need "Authorization: Bearer <write token>" (write_token in the
 * configuration): without it, or with no write token configured, 401,
 * and a body is refused before it is read (collector_http_conn.c).  A
 * body is one JSON object of at most 16 KiB; every field is checked as
 * the store checks it (store_annot.h) and a refused one is a 400 naming
 * it.  A database error is a 503.
 */
#ifndef CW_ANNOTATE_HTTP_H
#define CW_ANNOTATE_HTTP_H

struct collector_http;
struct store;
struct annotate_http;

/* At most this many annotations in one answer; more: 400, asking for a
 * narrower window. */
#define ANNOTATE_HTTP_LIST_MAX 10000

/*
 * annotate_http_new: serve the annotation endpoints on `h`, keeping
 * them in `st` (both borrowed: they must outlive the endpoints).  NULL
 * when out of memory or a route cannot be added (logged).
 */
struct annotate_http *annotate_http_new(struct collector_http *h,
    struct store *st);

/* annotate_http_free: free the endpoints' state.  NULL is fine. */
void annotate_http_free(struct annotate_http *a);

#endif /* CW_ANNOTATE_HTTP_H */
