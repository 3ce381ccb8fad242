/*
 * collector_http.h -- the collector's HTTP service (libevent's evhttp).
 *
 * POST /api/v1/batches takes signed batches of records, checks them and
 * stores them with a group commit: the batches that arrive within one
 * turn of the event loop are stored in one transaction and each is
 * answered with its receipt only once that transaction is durable.
 * POST /api/v1/enroll redeems an enrollment token; GET /healthz and
 * GET /metrics (Prometheus text format) tell how the collector does:
 * /healthz is not ok while the database does not answer or since a
 * write of it failed, until one works again, with a generic reason for
 * anyone and the database's own message for the read token only.
 * Every error the service writes is JSON: {"error": ..., "detail": ...}.
 *
 * Before evhttp reads a body, the service reads each request head
 * itself (collector_head.h) and refuses, without reading the body, a
 * body that is not an enrollment's nor signed by an enrolled, unrevoked
 * probe (401, 403), one over max_body (413) or past the memory all
 * bodies being received may take together (503), and whatever it
 * cannot frame exactly as evhttp does (400, 405, 411).
 *
 * Limits: the size of a body (also once inflated), of the headers, a
 * timeout for the head, an idle timeout and a deadline for a whole
 * request, a cap on connections per client address (in memory only) and
 * on all connections: at the cap the connection longest in its head is
 * dropped for a new one; with none in its head the listeners stop
 * accepting, and new connections wait in the kernel's queue.
 *
 * No client address is ever logged, stored or kept.
 */
#ifndef CW_COLLECTOR_HTTP_H
#define CW_COLLECTOR_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "cwtime.h"

struct evkeyvalq;

/* Four times a probe's largest batch by default (upload.h,
 * UPLOAD_BATCH_BYTES: 1 MiB of records, the last one may pass it). */
#define COLLECTOR_HTTP_MAX_BODY        (4 * 1024 * 1024)
#define COLLECTOR_HTTP_MAX_HEADERS     (8 * 1024)
#define COLLECTOR_HTTP_BODY_BUDGET     (256 * 1024 * 1024)
#define COLLECTOR_HTTP_HEADER_TIMEOUT  (10 * CW_USEC_PER_SEC)
#define COLLECTOR_HTTP_TIMEOUT         (30 * CW_USEC_PER_SEC)
#define COLLECTOR_HTTP_REQUEST_TIMEOUT (120 * CW_USEC_PER_SEC)
#define COLLECTOR_HTTP_MAX_CONNECTIONS 1024
#define COLLECTOR_HTTP_MAX_PER_ADDRESS 64
#define COLLECTOR_HTTP_RETRY_AFTER     5 /* seconds, with every 503 */
#define COLLECTOR_HTTP_DRAIN_TIMEOUT   (2 * CW_USEC_PER_SEC)

/* Bytes of the body of a write (an annotation, annotate_http.h): a
 * longer one is refused before it is read. */
#define COLLECTOR_HTTP_WRITE_MAX (16 * 1024)

/* The service's limits and options. */
struct collector_http_conf {
	size_t max_body;           /* bytes of a body, sent or inflated */
	size_t max_headers_size;   /* bytes of the request head */
	size_t body_budget;        /* bytes of all bodies being read */
	cw_usec_t header_timeout;  /* a head must arrive within */
	cw_usec_t timeout;         /* a client silent this long is cut */
	cw_usec_t request_timeout; /* a request must arrive within */
	unsigned max_connections;
	unsigned max_per_address; /* connections from one address
				   * (an IPv6 /64) */
	const char *read_token;   /* bearer token of read endpoints
				   * (copied); NULL: none */
	bool public_read;         /* read endpoints open to anyone */
	const char *write_token;  /* bearer token of write endpoints
				   * (annotations; copied); NULL: none,
				   * every write refused */
	cw_usec_t drain_timeout;  /* checks may take at a stop */
};

/* collector_http_conf_init: the defaults above. */
void collector_http_conf_init(struct collector_http_conf *conf);

struct event_base;
struct evhttp_request;
struct store;
struct collector_http;

/*
 * collector_http_new: the service on `base`, storing into `st` (both
 * borrowed: they must outlive it).  Nothing listens yet.  NULL when
 * out of memory or libevent fails (logged).
 */
struct collector_http *collector_http_new(struct event_base *base,
    struct store *st, const struct collector_http_conf *conf);

/* collector_http_set_signer: sign every receipt from now on with the
 * log key `signer` (borrowed: it must outlive `h`; NULL: none). */
struct tlog_signer;
void collector_http_set_signer(struct collector_http *h,
    const struct tlog_signer *signer);

/*
 * collector_http_listen: listen on `addr` ("127.0.0.1:8080",
 * "[::1]:8080", "0.0.0.0:8080"; port 0 picks a free one).  Logs the
 * address bound.  Returns 0, -1 (logged) when it cannot be bound, or
 * -2 (logged) when `addr` is not a numeric address and port.
 */
int collector_http_listen(struct collector_http *h, const char *addr);

/* collector_http_addr_valid: whether `addr` is a numeric ADDRESS:PORT
 * that collector_http_listen() takes (for checking a configuration). */
bool collector_http_addr_valid(const char *addr);

/*
 * collector_http_shutdown: stop accepting connections and answer every
 * batch that arrives from now on with 503; drain the checking thread:
 * wait, for drain_timeout at most (the loop does nothing meanwhile),
 * until every batch received is checked, and answer 503 each one whose
 * check is not done by then (it is not stored); then store the batches
 * checked in one transaction and answer them.  When it returns, no
 * batch waits for a check or a commit; the answers may still be being
 * written (collector_http_busy()).  Idempotent.  The daemon calls it
 * before collector_http_free() and before the store closes.
 */
void collector_http_shutdown(struct collector_http *h);

/* collector_http_busy: whether batches wait for their commit or
 * answers are still being written (a stopping collector waits for
 * them, a little). */
bool collector_http_busy(const struct collector_http *h);

/* collector_http_free: close every connection and free the service;
 * it stores and answers nothing.  Call collector_http_shutdown() first:
 * without it, the batches being checked or waiting for their commit are
 * dropped, neither stored nor answered.  NULL is fine. */
void collector_http_free(struct collector_http *h);

/*
 * collector_http_route: serve `path` (exactly, query string aside) with
 * `cb`.  When `read` is true, a request without "Authorization: Bearer
 * <read token>" gets 401 and never reaches `cb`, unless the
 * configuration opens reads to anyone (public_read); with no read token
 * configured and public_read off, every read is refused.  A path may
 * have two routes, one read and one not: a GET goes to the read one,
 * any other method to the other (GET /api/v1/batches reads the batch
 * signatures, POST sends a batch).  `path` must outlive `h`.  Returns 0
 * or -1 (path taken, or out of memory).
 */
int collector_http_route(struct collector_http *h, const char *path, bool read,
    void (*cb)(struct evhttp_request *, void *), void *arg);

/*
 * collector_http_read_trusted: whether `req` carries "Authorization:
 * Bearer <read token>" (false when no token is configured).  Only such
 * a reader gets what a volunteer declares of themselves (location, the
 * heartbeats) and the database's own error messages.
 */
bool collector_http_read_trusted(const struct collector_http *h,
    struct evhttp_request *req);

/* collector_http_read_allowed: whether `req` may read: it carries the
 * read token, or the configuration opens reads (public_read). */
bool collector_http_read_allowed(const struct collector_http *h,
    struct evhttp_request *req);

/*
 * collector_http_write_trusted: whether `req` carries "Authorization:
 * Bearer <write token>" (compared in constant time; false when no
 * write token is configured).  Only such a request may change what the
 * collector keeps beside the records (annotate_http.h).  A body for a
 * write endpoint is refused before it is read without this token
 * (collector_http_conn.c); the endpoint checks again.
 */
bool collector_http_write_trusted(const struct collector_http *h,
    struct evhttp_request *req);

/*
 * collector_http_error: answer `req` with status `code` and the JSON
 * body {"error": <the status as a name: "bad_request", "unauthorized",
 * ...>, "detail": <printf of fmt, non-ASCII bytes shown as '?'>}; with
 * Retry-After on a 503.  `fmt` may be NULL (detail null).
 */
void collector_http_error(struct evhttp_request *req, int code, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* collector_http_json: answer `req` with status `code` and `body` as
 * one line of JSON; takes the reference to `body`. */
void collector_http_json(struct evhttp_request *req, int code, json_t *body);

/* collector_http_store_error: answer `req` for a failure of the store
 * `st`: 503 when the database is unavailable, 500 otherwise; the
 * store's error goes to the log after `what`, never to the reader. */
void collector_http_store_error(struct evhttp_request *req, struct store *st,
    const char *what);

/* collector_http_get_only: whether `req` is a GET; else it is answered
 * 405 (Allow: GET). */
bool collector_http_get_only(struct evhttp_request *req);

/* collector_http_query: the query parameters of `req` into `q` (clear
 * it with evhttp_clear_headers after).  Returns 0, or -1 after
 * answering 400. */
int collector_http_query(struct evhttp_request *req, struct evkeyvalq *q);

#endif /* CW_COLLECTOR_HTTP_H */
