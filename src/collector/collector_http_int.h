/*
 * collector_http_int.h -- what the parts of the collector's HTTP service
 * share, and nothing outside them includes: its limits, the state of the
 * service, a connection and a batch, and the functions one part calls in
 * another.  collector_http.c answers requests (batches, enrollment,
 * routing, the service); collector_http_conn.c keeps connections from
 * accept to close and refuses before evhttp reads a body;
 * collector_http_health.c answers /healthz and /metrics.  Everything
 * here runs on the service's event loop.
 */
#ifndef CW_COLLECTOR_HTTP_INT_H
#define CW_COLLECTOR_HTTP_INT_H

#include <sys/queue.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>
#include <jansson.h>
#include <sodium.h>

#include "collector_http.h"
#include "cwtime.h"
#include "ingest.h"
#include "record.h"
#include "store.h"
#include "tlog.h"

struct bufferevent;
struct event;
struct event_base;
struct evbuffer_cb_entry;
struct evconnlistener;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct gzip_stream;
struct workq;

#define CHTTP_LISTEN_MAX  8
#define CHTTP_BACKLOG     511
#define CHTTP_HEADERS_MAX 100  /* header lines in one request */
#define CHTTP_ENROLL_MAX  4096 /* bytes of an enrollment request */
#define CHTTP_ROUTES_MAX  32   /* 19 in use (the API, the dashboard, the log) */
#define CHTTP_ERR_LEN     512
#define CHTTP_SLICE       (64 * 1024) /* body bytes hashed per turn */
#define CHTTP_HEAD_ALLOC  512         /* first allocation of a head copy */
/* Descriptors past max_connections (serve keeps 64 spare): refused
 * connections read out, and new ones accepted before as many in their
 * heads are dropped. */
#define CHTTP_LINGER_MAX   16
#define CHTTP_OVER_CAP     16
#define CHTTP_LINGER_TIME  (2 * CW_USEC_PER_SEC)
#define CHTTP_PEER_BUCKETS 4096 /* of the per-address counts */

/* Why a batch was refused: the label of corewatch_batches_rejected_total. */
enum chttp_reason {
	CHTTP_R_METHOD,       /* not POST */
	CHTTP_R_CONTENT_TYPE, /* not application/x-ndjson */
	CHTTP_R_ENCODING,     /* a Content-Encoding other than gzip */
	CHTTP_R_AUTH,         /* Authorization missing or malformed */
	CHTTP_R_UNKNOWN_PROBE,
	CHTTP_R_REVOKED,
	CHTTP_R_SIGNATURE,
	CHTTP_R_GZIP,      /* does not inflate */
	CHTTP_R_TOO_LARGE, /* body, sent or inflated, over max_body */
	CHTTP_R_RECORD_TOO_LARGE,
	CHTTP_R_MALFORMED,   /* empty, a line without newline, bad record */
	CHTTP_R_INVALID,     /* records that do not make one batch */
	CHTTP_R_CHAIN,       /* a prev that does not match what is stored */
	CHTTP_R_UNAVAILABLE, /* database down, or shutting down */
	CHTTP_REASONS
};

static const char *const chttp_reason_names[CHTTP_REASONS] = {
	"method",
	"content_type",
	"encoding",
	"auth",
	"unknown_probe",
	"revoked",
	"signature",
	"gzip",
	"too_large",
	"record_too_large",
	"malformed",
	"invalid",
	"chain",
	"unavailable",
};

/* Upper bounds of the ingest latency histogram, in seconds. */
static const double chttp_buckets[] = {
	0.001,
	0.0025,
	0.005,
	0.01,
	0.025,
	0.05,
	0.1,
	0.25,
	0.5,
	1,
	2.5,
	5,
	10,
};
#define CHTTP_BUCKETS (sizeof(chttp_buckets) / sizeof(chttp_buckets[0]))

struct chttp_metrics {
	unsigned long long batches_accepted;
	unsigned long long records_stored;
	unsigned long long records_duplicate;
	unsigned long long records_equivocation;
	unsigned long long gaps;
	unsigned long long enrollments;
	unsigned long long cap_reached;
	unsigned long long rejected[CHTTP_REASONS];
	unsigned long long latency[CHTTP_BUCKETS + 1]; /* last: +Inf */
	unsigned long long latency_count;
	double latency_sum;
};

/* Where a connection's request is, as its head reader sees it. */
enum chttp_phase {
	CHTTP_HEAD,    /* reading a head: evictable */
	CHTTP_BODY,    /* a body vouched for, arriving */
	CHTTP_WAIT,    /* evhttp's request until it is answered */
	CHTTP_REFUSED, /* answered by us; closing */
};

/* The connections open from one client address (an IPv6 /64): only a
 * count, in memory, never logged. */
struct chttp_peer {
	struct chttp_peer *next;
	size_t bucket;
	unsigned count;
	unsigned char key[16];
};

/* One connection, counted against the cap from accept to close. */
struct chttp_conn {
	struct collector_http *h;
	struct bufferevent *bev;
	struct evhttp_connection *evcon; /* NULL until adopted */
	int fd;                          /* -1 until adopted */
	struct evbuffer_cb_entry *in_cb, *out_cb;
	struct event *deadline;   /* of one request */
	struct event *head_timer; /* of one head */
	bool writing;             /* output not empty */
	enum chttp_phase phase;
	char *head; /* copy of the head so far */
	size_t headlen, headcap;
	uint64_t body_left;
	size_t reserved; /* of h->body_bytes */
	struct chttp_peer *peer;
	bool in_heads, closing;
	TAILQ_ENTRY(chttp_conn) head_link;  /* h->heads */
	TAILQ_ENTRY(chttp_conn) close_link; /* h->closing */
	struct chttp_conn *next, *prev;     /* h->conns */
	struct chttp_conn *next_adopt;
};
TAILQ_HEAD(chttp_conn_q, chttp_conn);

/* A refused connection read out for a little while after its answer,
 * so that the body still coming does not make the kernel reset the
 * connection (a reset may destroy the answer before it is read). */
struct chttp_linger {
	struct collector_http *h;
	int fd;
	struct event *ev;
	cw_usec_t until;                  /* monotonic */
	struct chttp_linger *next, *prev; /* h->lingering */
};

/* A batch from its checks to its answer. */
struct chttp_batch {
	struct chttp_batch *next;
	struct collector_http *h;
	struct evhttp_request *req; /* NULL once its client is gone */
	struct ingest_batch ib;     /* the body is our own copy */
	cw_usec_t started;          /* monotonic, complete */
	/* For the checking thread (workq.h): the body as sent when it is
	 * gzip (NULL otherwise), the limit it may inflate to, the
	 * signature; the hashing of the body, slice by slice; and what it
	 * found. */
	unsigned char *raw;
	size_t rawlen, max_body;
	char sig[RECORD_SIG_B64 + 1];
	struct gzip_stream *inflating; /* of raw, being hashed */
	crypto_hash_sha256_state sha;
	size_t hashed; /* bytes of the body */
	int gz;        /* of gzip_inflate */
	int code;      /* of ingest_verify, _records */
	int rc;        /* of store_ingest */
	struct store_receipt receipt;
};

struct chttp_route {
	struct collector_http *h;
	const char *path; /* static */
	bool read;
	void (*cb)(struct evhttp_request *, void *);
	void *arg;
	/* The other route of a path read with GET and written with POST
	 * (/api/v1/batches), or NULL: the method picks. */
	struct chttp_route *twin;
};

struct collector_http {
	struct event_base *base;
	struct store *st;
	const struct tlog_signer *signer; /* NULL: receipts unsigned */
	struct collector_http_conf conf;
	char *read_token;
	char *write_token; /* NULL: writes refused */
	struct evhttp *http;
	struct evconnlistener *listeners[CHTTP_LISTEN_MAX];
	size_t nlisteners;
	bool paused; /* at the cap */
	bool stopping;
	bool freeing; /* answer nothing */
	bool db_down; /* until a ping works */
	/* The last write that failed (real time; 0: none since the last
	 * that worked) and the database's reason, for /healthz. */
	cw_usec_t write_failed_at;
	char write_error[CHTTP_ERR_LEN];
	unsigned nconns;
	size_t nwriting;
	size_t body_bytes; /* reserved */
	struct chttp_conn *conns;
	struct chttp_conn_q heads; /* oldest first */
	unsigned nheads;
	struct chttp_conn_q closing;
	struct event *close_ev;
	struct chttp_conn **byfd; /* of adopted connections */
	size_t nbyfd;
	struct chttp_linger *lingering;
	unsigned nlingering;
	struct chttp_peer *peers[CHTTP_PEER_BUCKETS];
	unsigned char peer_key[crypto_shorthash_KEYBYTES];
	struct chttp_conn *adopting, **adopting_tail; /* in
						       * the order accepted */
	struct event *adopt_ev;
	struct event *commit_ev;
	/* Batches on the checking thread, then waiting for the commit. */
	struct workq *checker;
	struct chttp_batch *checking, **checking_tail;
	struct chttp_batch *pending, **pending_tail;
	struct chttp_route routes[CHTTP_ROUTES_MAX];
	size_t nroutes;
	struct chttp_metrics m;
};

/* --- collector_http.c --- */

/* chttp_error_body: the JSON of an error, {"error": ..., "detail":
 * `detail` (NULL: null)}, the bytes of `detail` outside printable ASCII
 * replaced by '?' in place; the caller owns the result; NULL when out
 * of memory. */
json_t *chttp_error_body(int code, char *detail);

/* chttp_bearer_ok: whether the Authorization header `auth` (NULL:
 * none) is "Bearer <token>", compared in constant time; false when
 * `token` is NULL (none configured). */
bool chttp_bearer_ok(const char *token, const char *auth);

/* chttp_method_not_allowed: answer `req` 405, with `allow` as its
 * Allow header. */
void chttp_method_not_allowed(struct evhttp_request *req, const char *allow);

/* chttp_reason_of: the metric label of an ingest refusal (anything not
 * the client's fault: CHTTP_R_UNAVAILABLE). */
enum chttp_reason chttp_reason_of(enum ingest_reason why);

/* chttp_db_failed: a store call about `what` failed with STORE_E_DB:
 * logs it; when the database cannot be reached, says so once and marks
 * it down, so that chttp_db_usable pings it before its next use. */
void chttp_db_failed(struct collector_http *h, const char *what);

/* chttp_db_usable: false while the database is known to be down and a
 * ping (which reconnects) does not bring it back. */
bool chttp_db_usable(struct collector_http *h);

/* --- collector_http_conn.c --- */

/* chttp_bevcb: evhttp's bufferevent callback (evhttp_set_bevcb, `arg`
 * the service): makes a new connection's bufferevent, counts the
 * connection against the cap and queues it for chttp_adopt; NULL when
 * out of memory (evhttp then makes its own, uncounted). */
struct bufferevent *chttp_bevcb(struct event_base *base, void *arg);

/* chttp_adopt: the callback of h->adopt_ev (`arg` the service), made
 * active by chttp_bevcb: at the end of the turn in which connections
 * were accepted, finds the evhttp connection of each, watches its input
 * and its close; then drops connections in their heads past the cap. */
void chttp_adopt(evutil_socket_t fd, short what, void *arg);

/* chttp_close_run: the callback of h->close_ev (`arg` the service):
 * closes the connections refused in this turn, out of libevent's
 * callbacks; a duplicate of each socket lingers (chttp_linger_end). */
void chttp_close_run(evutil_socket_t fd, short what, void *arg);

/* chttp_request_watch: be told when `req` (on one of the service's
 * connections) is answered, to read the connection's next head. */
void chttp_request_watch(struct collector_http *h, struct evhttp_request *req);

/* chttp_listeners_update: accept while under the cap, or a little over
 * it while connections in their head can be dropped, and not stopping;
 * counts each time the cap stops the listeners. */
void chttp_listeners_update(struct collector_http *h);

/* chttp_conn_free: forget connection `c` (its count, timers and lists)
 * and free it; the listeners may accept again.  Its evhttp connection
 * is gone or going, and not freed here. */
void chttp_conn_free(struct chttp_conn *c);

/* chttp_linger_end: close lingering refused connection `l` for good and
 * free it. */
void chttp_linger_end(struct chttp_linger *l);

/* --- collector_http_health.c --- */

/* chttp_healthz: GET /healthz (`arg` the service). */
void chttp_healthz(struct evhttp_request *req, void *arg);

/* chttp_metrics: GET /metrics, Prometheus text format (`arg` the
 * service). */
void chttp_metrics(struct evhttp_request *req, void *arg);

#endif
