/*
 * collector_http.c -- the collector's HTTP service on evhttp.
 *
 * A batch goes through cheap checks first (content type, the
 * Authorization header, the probe's enrollment), then the expensive
 * ones (inflating, the signature over the body, parsing every line) and
 * waits in `pending` for the group commit: a callback made active for
 * the end of the current turn of the event loop stores every batch that
 * completed in that turn in one transaction, and only then answers
 * each.  A batch waiting there keeps its own copy of the body, since
 * its client may go away meanwhile: when a connection closes, the
 * batches still attached to it lose their request (libevent frees it)
 * and are stored without an answer.
 *
 * Connections are counted from accept to close.  evhttp 2.1 has no hook
 * for either end, so the service makes each connection's bufferevent
 * itself (evhttp_set_bevcb) and, at the end of the same turn, finds
 * the evhttp connection that took it (the bufferevent's callback
 * argument, which evhttp sets to its connection; checked) to register
 * a close callback.
 *
 * evhttp 2.1 reads a whole body before a callback sees its request, and
 * has no hook between head and body.  So the service reads each
 * connection's input itself, from a callback on the input buffer that
 * runs as bytes arrive, before evhttp's read callback parses them: it
 * copies a request's head, decides on it (collector_head.c reads it the
 * way evhttp will, or refuses it), then counts the body down and waits
 * for evhttp's answer (the request's on_complete callback) before the
 * next head.  To refuse, it drops what came, writes the whole small
 * answer to the socket itself, stops reading, and at the end of the
 * turn has evhttp free the connection (which shuts our side down) while
 * a duplicate of the socket is read out for a little while, so that the
 * body still coming does not turn into a reset that could destroy the
 * answer.  A connection is "in its head" from accept, or from its last
 * answer, to a complete head: those are the ones header_timeout cuts
 * and the cap drops, oldest first.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "collector_head.h"
#include "collector_http.h"
#include "gzip.h"
#include "ingest.h"
#include "log.h"
#include "record.h"
#include "result.h"
#include "store.h"
#include "workq.h"

#define CHTTP_LISTEN_MAX	8
#define CHTTP_BACKLOG		511
#define CHTTP_HEADERS_MAX	100	/* header lines in one request */
#define CHTTP_ENROLL_MAX	4096	/* bytes of an enrollment request */
#define CHTTP_ROUTES_MAX	16
#define CHTTP_ERR_LEN		512
#define CHTTP_SLICE		(64 * 1024)	/* body bytes hashed per turn */
#define CHTTP_HEAD_ALLOC	512	/* first allocation of a head copy */
/* Descriptors past max_connections (serve keeps 64 spare): refused
 * connections read out, and new ones accepted before as many in their
 * heads are dropped. */
#define CHTTP_LINGER_MAX	16
#define CHTTP_OVER_CAP		16
#define CHTTP_LINGER_TIME	(2 * CW_USEC_PER_SEC)
#define CHTTP_PEER_BUCKETS	4096	/* of the per-address counts */

/* Why a batch was refused: the label of corewatch_batches_rejected_total. */
enum chttp_reason {
	CHTTP_R_METHOD,		/* not POST */
	CHTTP_R_CONTENT_TYPE,	/* not application/x-ndjson */
	CHTTP_R_ENCODING,	/* a Content-Encoding other than gzip */
	CHTTP_R_AUTH,		/* Authorization missing or malformed */
	CHTTP_R_UNKNOWN_PROBE,
	CHTTP_R_REVOKED,
	CHTTP_R_SIGNATURE,
	CHTTP_R_GZIP,		/* does not inflate */
	CHTTP_R_TOO_LARGE,	/* body, sent or inflated, over max_body */
	CHTTP_R_RECORD_TOO_LARGE,
	CHTTP_R_MALFORMED,	/* empty, a line without newline, bad record */
	CHTTP_R_INVALID,	/* records that do not make one batch */
	CHTTP_R_CHAIN,		/* a prev that does not match what is stored */
	CHTTP_R_UNAVAILABLE,	/* database down, or shutting down */
	CHTTP_REASONS
};

static const char *const chttp_reason_names[CHTTP_REASONS] = {
	"method", "content_type", "encoding", "auth", "unknown_probe",
	"revoked", "signature", "gzip", "too_large", "record_too_large",
	"malformed", "invalid", "chain", "unavailable",
};

/* Upper bounds of the ingest latency histogram, in seconds. */
static const double chttp_buckets[] = {
	0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
	10,
};
#define CHTTP_BUCKETS (sizeof(chttp_buckets) / sizeof(chttp_buckets[0]))

struct chttp_metrics {
	unsigned long long	batches_accepted;
	unsigned long long	records_stored;
	unsigned long long	records_duplicate;
	unsigned long long	records_equivocation;
	unsigned long long	gaps;
	unsigned long long	enrollments;
	unsigned long long	cap_reached;
	unsigned long long	rejected[CHTTP_REASONS];
	unsigned long long	latency[CHTTP_BUCKETS + 1]; /* last: +Inf */
	unsigned long long	latency_count;
	double			latency_sum;
};

/* Where a connection's request is, as its head reader sees it. */
enum chttp_phase {
	CHTTP_HEAD,		/* reading a head: evictable */
	CHTTP_BODY,		/* a body vouched for, arriving */
	CHTTP_WAIT,		/* evhttp's request until it is answered */
	CHTTP_REFUSED,		/* answered by us; closing */
};

/* The connections open from one client address (an IPv6 /64): only a
 * count, in memory, never logged. */
struct chttp_peer {
	struct chttp_peer	*next;
	size_t			 bucket;
	unsigned		 count;
	unsigned char		 key[16];
};

/* One connection, counted against the cap from accept to close. */
struct chttp_conn {
	struct collector_http		*h;
	struct bufferevent		*bev;
	struct evhttp_connection	*evcon;	/* NULL until adopted */
	int				 fd;	/* -1 until adopted */
	struct evbuffer_cb_entry	*in_cb, *out_cb;
	struct event			*deadline;	/* of one request */
	struct event			*head_timer;	/* of one head */
	bool				 writing;	/* output not empty */
	enum chttp_phase		 phase;
	char				*head;	/* copy of the head so far */
	size_t				 headlen, headcap;
	uint64_t			 body_left;
	size_t				 reserved;	/* of h->body_bytes */
	struct chttp_peer		*peer;
	bool				 in_heads, closing;
	TAILQ_ENTRY(chttp_conn)		 head_link;	/* h->heads */
	TAILQ_ENTRY(chttp_conn)		 close_link;	/* h->closing */
	struct chttp_conn		*next, *prev;	/* h->conns */
	struct chttp_conn		*next_adopt;
};
TAILQ_HEAD(chttp_conn_q, chttp_conn);

/* A refused connection read out for a little while after its answer,
 * so that the body still coming does not make the kernel reset the
 * connection (a reset may destroy the answer before it is read). */
struct chttp_linger {
	struct collector_http	*h;
	int			 fd;
	struct event		*ev;
	cw_usec_t		 until;		/* monotonic */
	struct chttp_linger	*next, *prev;	/* h->lingering */
};

/* A batch from its checks to its answer. */
struct chttp_batch {
	struct chttp_batch	*next;
	struct collector_http	*h;
	struct evhttp_request	*req;	/* NULL once its client is gone */
	struct ingest_batch	 ib;	/* the body is our own copy */
	cw_usec_t		 started;	/* monotonic, complete */
	/* For the checking thread (workq.h): the body as sent when it is
	 * gzip (NULL otherwise), the limit it may inflate to, the
	 * signature; the hashing of the body, slice by slice; and what it
	 * found. */
	unsigned char		*raw;
	size_t			 rawlen, max_body;
	char			 sig[RECORD_SIG_B64 + 1];
	struct gzip_stream	*inflating;	/* of raw, being hashed */
	crypto_hash_sha256_state sha;
	size_t			 hashed;	/* bytes of the body */
	int			 gz;		/* of gzip_inflate */
	int			 code;		/* of ingest_verify, _records */
	int			 rc;		/* of store_ingest */
	struct store_receipt	 receipt;
};

struct chttp_route {
	struct collector_http	*h;
	bool			 read;
	void			(*cb)(struct evhttp_request *, void *);
	void			*arg;
};

struct collector_http {
	struct event_base		*base;
	struct store			*st;
	struct collector_http_conf	 conf;
	char				*read_token;
	struct evhttp			*http;
	struct evconnlistener		*listeners[CHTTP_LISTEN_MAX];
	size_t				 nlisteners;
	bool				 paused;	/* at the cap */
	bool				 stopping;
	bool				 freeing;	/* answer nothing */
	bool				 db_down;	/* until a ping works */
	/* The last write that failed (real time; 0: none since the last
	 * that worked) and the database's reason, for /healthz. */
	cw_usec_t			 write_failed_at;
	char				 write_error[CHTTP_ERR_LEN];
	unsigned			 nconns;
	size_t				 nwriting;
	size_t				 body_bytes;	/* reserved */
	struct chttp_conn		*conns;
	struct chttp_conn_q		 heads;	/* oldest first */
	unsigned			 nheads;
	struct chttp_conn_q		 closing;
	struct event			*close_ev;
	struct chttp_conn		**byfd;	/* of adopted connections */
	size_t				 nbyfd;
	struct chttp_linger		*lingering;
	unsigned			 nlingering;
	struct chttp_peer		*peers[CHTTP_PEER_BUCKETS];
	unsigned char			 peer_key[crypto_shorthash_KEYBYTES];
	struct chttp_conn		*adopting, **adopting_tail; /* in
							 * the order accepted */
	struct event			*adopt_ev;
	struct event			*commit_ev;
	/* Batches on the checking thread, then waiting for the commit. */
	struct workq			*checker;
	struct chttp_batch		*checking, **checking_tail;
	struct chttp_batch		*pending, **pending_tail;
	struct chttp_route		 routes[CHTTP_ROUTES_MAX];
	size_t				 nroutes;
	struct chttp_metrics		 m;
};

void
collector_http_conf_init(struct collector_http_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_body = COLLECTOR_HTTP_MAX_BODY;
	conf->max_headers_size = COLLECTOR_HTTP_MAX_HEADERS;
	conf->body_budget = COLLECTOR_HTTP_BODY_BUDGET;
	conf->header_timeout = COLLECTOR_HTTP_HEADER_TIMEOUT;
	conf->timeout = COLLECTOR_HTTP_TIMEOUT;
	conf->request_timeout = COLLECTOR_HTTP_REQUEST_TIMEOUT;
	conf->max_connections = COLLECTOR_HTTP_MAX_CONNECTIONS;
	conf->max_per_address = COLLECTOR_HTTP_MAX_PER_ADDRESS;
	conf->drain_timeout = COLLECTOR_HTTP_DRAIN_TIMEOUT;
}

/* --- Answers --- */

void
collector_http_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char *line = body != NULL ? result_dump(body) : NULL;

	json_decref(body);
	if (buf == NULL || line == NULL || evbuffer_add_printf(buf, "%s\n",
	    line) == -1) {
		log_warnx("%s: out of memory", __func__);
		free(line);
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	free(line);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

/* chttp_error_name: the "error" member for an HTTP status. */
static const char *
chttp_error_name(int code)
{
	switch (code) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 411:
		return "length_required";
	case 413:
		return "payload_too_large";
	case 415:
		return "unsupported_media_type";
	case 431:
		return "request_header_fields_too_large";
	case 503:
		return "unavailable";
	default:
		return code >= 500 ? "internal_error" : "bad_request";
	}
}

/* chttp_error_body: the JSON of an error, {"error": ..., "detail":
 * `detail` (NULL: null), non-ASCII bytes shown as '?'}; NULL when out
 * of memory. */
static json_t *
chttp_error_body(int code, char *detail)
{
	/* Details may quote what a client sent: ASCII only. */
	for (char *p = detail; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return json_pack("{s:s, s:s?}", "error", chttp_error_name(code),
	    "detail", detail);
}

void
collector_http_error(struct evhttp_request *req, int code, const char *fmt,
    ...)
{
	char detail[CHTTP_ERR_LEN], retry[16];
	va_list ap;
	json_t *body;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	body = chttp_error_body(code, fmt != NULL ? detail : NULL);
	if (code == 503) {
		snprintf(retry, sizeof(retry), "%d",
		    COLLECTOR_HTTP_RETRY_AFTER);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", retry);
	}
	collector_http_json(req, code, body);
}

/* chttp_reject: refuse a batch: count why and answer. */
static void chttp_reject(struct collector_http *h, struct evhttp_request *req,
    enum chttp_reason why, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
chttp_reject(struct collector_http *h, struct evhttp_request *req,
    enum chttp_reason why, int code, const char *fmt, ...)
{
	char detail[CHTTP_ERR_LEN];
	va_list ap;

	h->m.rejected[why]++;
	if (req == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	collector_http_error(req, code, "%s", detail);
}

/* chttp_method_not_allowed: 405 with the Allow header. */
static void
chttp_method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	collector_http_error(req, 405, "use %s", allow);
}

/* --- Connections --- */

/* chttp_listeners_update: accept while under the cap, or a little over
 * it while connections in their head can be dropped (chttp_evict), and
 * not stopping. */
static void
chttp_listeners_update(struct collector_http *h)
{
	unsigned over = h->nheads < CHTTP_OVER_CAP ? h->nheads :
	    CHTTP_OVER_CAP;
	bool accept = !h->stopping && h->nconns < h->conf.max_connections +
	    over;

	if (accept == !h->paused)
		return;
	for (size_t i = 0; i < h->nlisteners; i++) {
		if (accept)
			evconnlistener_enable(h->listeners[i]);
		else
			evconnlistener_disable(h->listeners[i]);
	}
	h->paused = !accept;
	if (h->paused && !h->stopping) {
		h->m.cap_reached++;
		log_debug("collector: %u connections, the cap: not accepting "
		    "until one closes", h->nconns);
	}
}

static void chttp_peer_put(struct collector_http *h, struct chttp_peer *p);
static bool chttp_db_usable(struct collector_http *h);
static void chttp_db_failed(struct collector_http *h, const char *what);
static enum chttp_reason chttp_reason_of(enum ingest_reason why);

/* chttp_heads_leave: the connection is no longer in its head. */
static void
chttp_heads_leave(struct chttp_conn *c)
{
	if (c->in_heads) {
		TAILQ_REMOVE(&c->h->heads, c, head_link);
		c->h->nheads--;
		chttp_listeners_update(c->h);
	}
	c->in_heads = false;
	if (c->head_timer != NULL)
		evtimer_del(c->head_timer);
	free(c->head);
	c->head = NULL;
	c->headlen = c->headcap = 0;
}

/* chttp_heads_enter: a head is awaited from now on, for at most
 * header_timeout. */
static void
chttp_heads_enter(struct chttp_conn *c)
{
	struct timeval tv;

	c->phase = CHTTP_HEAD;
	if (!c->in_heads) {
		TAILQ_INSERT_TAIL(&c->h->heads, c, head_link);
		c->h->nheads++;
		chttp_listeners_update(c->h);
	}
	c->in_heads = true;
	if (c->head_timer != NULL && c->h->conf.header_timeout > 0) {
		cw_usec_to_timeval(c->h->conf.header_timeout, &tv);
		evtimer_add(c->head_timer, &tv);
	}
}

/* chttp_release: give the body's reservation back. */
static void
chttp_release(struct chttp_conn *c)
{
	c->h->body_bytes -= c->reserved;
	c->reserved = 0;
}

/* chttp_conn_free: forget a connection (it is gone or going). */
static void
chttp_conn_free(struct chttp_conn *c)
{
	struct collector_http *h = c->h;

	chttp_heads_leave(c);
	chttp_release(c);
	if (c->closing)
		TAILQ_REMOVE(&h->closing, c, close_link);
	if (c->peer != NULL)
		chttp_peer_put(h, c->peer);
	if (c->fd >= 0 && (size_t)c->fd < h->nbyfd && h->byfd[c->fd] == c)
		h->byfd[c->fd] = NULL;
	if (c->head_timer != NULL)
		event_free(c->head_timer);
	if (c->deadline != NULL)
		event_free(c->deadline);
	if (c->writing)
		h->nwriting--;
	if (c->prev != NULL)
		c->prev->next = c->next;
	else
		h->conns = c->next;
	if (c->next != NULL)
		c->next->prev = c->prev;
	h->nconns--;
	free(c);
	chttp_listeners_update(h);
}

/* chttp_batches_forget: the batches of `list` that came on `evcon` lose
 * their request. */
static void
chttp_batches_forget(struct chttp_batch *list, struct evhttp_connection *evcon)
{
	for (struct chttp_batch *b = list; b != NULL; b = b->next)
		if (b->req != NULL &&
		    evhttp_request_get_connection(b->req) == evcon)
			b->req = NULL;
}

/* chttp_conn_closed: evhttp's close callback: the batches still
 * attached to the connection lose their request, which evhttp frees
 * right after this returns; the connection leaves the count. */
static void
chttp_conn_closed(struct evhttp_connection *evcon, void *arg)
{
	struct chttp_conn *c = arg;
	struct collector_http *h = c->h;

	chttp_batches_forget(h->checking, evcon);
	chttp_batches_forget(h->pending, evcon);
	if (c->in_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_input(c->bev),
		    c->in_cb);
	if (c->out_cb != NULL)
		evbuffer_remove_cb_entry(bufferevent_get_output(c->bev),
		    c->out_cb);
	chttp_conn_free(c);
}

/* chttp_conn_deadline: a request took longer than request_timeout to
 * arrive (a client trickling bytes defeats the idle timeout). */
static void
chttp_conn_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct chttp_conn *c = arg;

	(void)fd;
	(void)what;
	log_debug("collector: a request did not arrive within its deadline; "
	    "closing its connection");
	evhttp_connection_free(c->evcon);	/* frees c */
}

/* chttp_conn_head_late: no complete head within header_timeout. */
static void
chttp_conn_head_late(evutil_socket_t fd, short what, void *arg)
{
	struct chttp_conn *c = arg;

	(void)fd;
	(void)what;
	log_debug("collector: no request head within header_timeout; "
	    "closing its connection");
	evhttp_connection_free(c->evcon);	/* frees c */
}

/* --- Refusing before evhttp reads --- */

/* chttp_linger_end: close a refused connection for good. */
static void
chttp_linger_end(struct chttp_linger *l)
{
	struct collector_http *h = l->h;

	if (l->prev != NULL)
		l->prev->next = l->next;
	else
		h->lingering = l->next;
	if (l->next != NULL)
		l->next->prev = l->prev;
	h->nlingering--;
	event_free(l->ev);
	close(l->fd);
	free(l);
}

/* chttp_linger_read: read and drop what the client still sends, until
 * it closes, or CHTTP_LINGER_TIME is over. */
static void
chttp_linger_read(evutil_socket_t fd, short what, void *arg)
{
	struct chttp_linger *l = arg;
	char buf[16384];
	ssize_t n;

	if (!(what & EV_TIMEOUT) && cw_mono_usec() < l->until) {
		while ((n = read(fd, buf, sizeof(buf))) > 0)
			;
		if (n == -1 && (errno == EAGAIN || errno == EWOULDBLOCK ||
		    errno == EINTR))
			return;
	}
	chttp_linger_end(l);
}

/* chttp_linger_start: keep reading `fd` (ours now) for a little while;
 * past CHTTP_LINGER_MAX of them it is closed at once. */
static void
chttp_linger_start(struct collector_http *h, int fd)
{
	struct chttp_linger *l = NULL;
	struct timeval tv;

	if (h->nlingering >= CHTTP_LINGER_MAX ||
	    (l = calloc(1, sizeof(*l))) == NULL ||
	    (l->ev = event_new(h->base, fd, EV_READ | EV_PERSIST,
	    chttp_linger_read, l)) == NULL) {
		free(l);
		close(fd);
		return;
	}
	l->h = h;
	l->fd = fd;
	l->until = cw_mono_usec() + CHTTP_LINGER_TIME;
	cw_usec_to_timeval(CHTTP_LINGER_TIME, &tv);
	event_add(l->ev, &tv);
	l->next = h->lingering;
	if (h->lingering != NULL)
		h->lingering->prev = l;
	h->lingering = l;
	h->nlingering++;
}

/* chttp_close_run: close the connections refused in this turn, out of
 * libevent's callbacks: evhttp frees its connection and shuts our
 * answer's direction down; a duplicate of the socket lingers. */
static void
chttp_close_run(evutil_socket_t fd, short what, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_conn *c;
	int dup;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&h->closing)) != NULL) {
		dup = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC, 0);
		evhttp_connection_free(c->evcon);	/* frees c */
		if (dup != -1)
			chttp_linger_start(h, dup);
	}
}

/* chttp_status_text: the reason phrase of a status the head reader
 * answers with. */
static const char *
chttp_status_text(int code)
{
	switch (code) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 405:
		return "Method Not Allowed";
	case 411:
		return "Length Required";
	case 413:
		return "Payload Too Large";
	case 431:
		return "Request Header Fields Too Large";
	default:
		return "Service Unavailable";
	}
}

/* chttp_refuse_write: the whole answer, straight to the socket (it is
 * small and nothing else is being written on the connection). */
static void
chttp_refuse_write(struct chttp_conn *c, int code, char *detail)
{
	char head[512], retry[32];
	json_t *body = chttp_error_body(code, detail);
	char *line = body != NULL ? result_dump(body) : NULL;
	size_t len = line != NULL ? strlen(line) + 1 : 0;
	int n;

	json_decref(body);
	retry[0] = '\0';
	if (code == 503)
		snprintf(retry, sizeof(retry), "Retry-After: %d\r\n",
		    COLLECTOR_HTTP_RETRY_AFTER);
	n = snprintf(head, sizeof(head), "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s%s%s\r\n", code, chttp_status_text(code),
	    len, retry, code == 401 ? "WWW-Authenticate: " BATCH_AUTH_SCHEME
	    "\r\n" : "", code == 405 ? "Allow: GET, HEAD, POST\r\n" : "");
	if (line != NULL && n > 0 && (size_t)n < sizeof(head)) {
		struct iovec iov[2] = {
			{ head, (size_t)n }, { line, len },
		};
		line[len - 1] = '\n';
		/* A short write loses the end of a refusal, no more. */
		if (writev(c->fd, iov, 2) < (ssize_t)((size_t)n + len))
			log_debug("collector: a refusal was cut short");
	}
	free(line);
}

/* chttp_refuse: answer the request whose head is in, before evhttp reads
 * its body, and close the connection: what came is dropped, evhttp sees
 * nothing more of it, and the closing waits for the end of the turn.
 * `why` (< CHTTP_REASONS) is counted. */
static void chttp_refuse(struct chttp_conn *c, int why, int code,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
chttp_refuse(struct chttp_conn *c, int why, int code, const char *fmt, ...)
{
	struct collector_http *h = c->h;
	struct evbuffer *in = bufferevent_get_input(c->bev);
	char detail[CHTTP_ERR_LEN];
	va_list ap;

	if (why >= 0 && why < CHTTP_REASONS)
		h->m.rejected[why]++;
	chttp_heads_leave(c);
	chttp_release(c);
	c->phase = CHTTP_REFUSED;
	evbuffer_drain(in, evbuffer_get_length(in));
	bufferevent_disable(c->bev, EV_READ);
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	chttp_refuse_write(c, code, detail);
	if (!c->closing)
		TAILQ_INSERT_TAIL(&h->closing, c, close_link);
	c->closing = true;
	event_active(h->close_ev, EV_TIMEOUT, 1);
}

/* chttp_vouch_auth: a body that is not an enrollment's must be signed by
 * an enrolled, unrevoked probe: 0, or -1 when refused. */
static int
chttp_vouch_auth(struct chttp_conn *c, const struct chead *hd)
{
	struct collector_http *h = c->h;
	char probe[RECORD_ID_HEX + 1], sig[RECORD_SIG_B64 + 1];
	char err[CHTTP_ERR_LEN];
	struct ingest_batch ib;
	int code;

	if (hd->auth_long || batch_auth_parse(hd->auth[0] != '\0' ? hd->auth :
	    NULL, probe, sig, err, sizeof(err)) == -1) {
		chttp_refuse(c, CHTTP_R_AUTH, 401, "%s", hd->auth_long ?
		    "the Authorization header is too long" : err);
		return -1;
	}
	if (!chttp_db_usable(h)) {
		chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503, "the database is "
		    "unavailable; try again later");
		return -1;
	}
	memset(&ib, 0, sizeof(ib));
	if ((code = ingest_probe(h->st, probe, &ib)) != 0) {
		if (code == 503)
			chttp_db_failed(h, "looking up a probe");
		chttp_refuse(c, (int)chttp_reason_of(ib.reason), code, "%s",
		    ib.err);
	}
	ingest_batch_clear(&ib);
	return code == 0 ? 0 : -1;
}

/* chttp_vouch: decide on a complete head (c->head, `len` bytes): refuse
 * it, or let evhttp read it, with its body's bytes reserved. */
static void
chttp_vouch(struct chttp_conn *c, size_t len)
{
	struct collector_http *h = c->h;
	char err[CHTTP_ERR_LEN];
	struct chead hd;
	int code;

	if ((code = chead_parse(c->head, len, &hd, err, sizeof(err))) != 0) {
		chttp_refuse(c, CHTTP_R_MALFORMED, code, "%s", err);
		return;
	}
	chttp_heads_leave(c);
	if (hd.length > 0) {
		size_t max = hd.enroll ? CHTTP_ENROLL_MAX : h->conf.max_body;
		if (hd.length > max) {
			chttp_refuse(c, CHTTP_R_TOO_LARGE, 413, "Content-Length "
			    "%llu is over the limit of %zu bytes",
			    (unsigned long long)hd.length, max);
			return;
		}
		if (!hd.enroll && chttp_vouch_auth(c, &hd) == -1)
			return;
		if (h->body_bytes + hd.length > h->conf.body_budget) {
			chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503, "too many "
			    "bodies being received; try again later");
			return;
		}
		c->reserved = (size_t)hd.length;
		h->body_bytes += c->reserved;
	}
	c->body_left = hd.length;
	c->phase = hd.length > 0 ? CHTTP_BODY : CHTTP_WAIT;
}

/* chttp_head_take: copy bytes of a head from `in` at `off`; decides once
 * the head is complete.  Returns how many bytes of `in` were the head's. */
static size_t
chttp_head_take(struct chttp_conn *c, struct evbuffer *in, size_t off)
{
	size_t max = c->h->conf.max_headers_size, avail, n, end, was;
	struct evbuffer_ptr pos;
	char *p;

	avail = evbuffer_get_length(in) - off;
	n = max - c->headlen < avail ? max - c->headlen : avail;
	if (c->headlen + n > c->headcap) {
		size_t cap = c->headcap > 0 ? c->headcap : CHTTP_HEAD_ALLOC;
		while (cap < c->headlen + n)
			cap *= 2;
		if (cap > max)
			cap = max;
		if ((p = realloc(c->head, cap)) == NULL) {
			chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503, "try again "
			    "later");
			return avail;
		}
		c->head = p;
		c->headcap = cap;
	}
	if (evbuffer_ptr_set(in, &pos, off, EVBUFFER_PTR_SET) == -1 ||
	    evbuffer_copyout_from(in, &pos, c->head + c->headlen, n) !=
	    (ev_ssize_t)n) {
		chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503, "try again later");
		return avail;
	}
	was = c->headlen;
	c->headlen += n;
	if ((end = chead_end(c->head, c->headlen, was)) > 0) {
		chttp_vouch(c, end);
		return end - was;
	}
	if (c->headlen >= max)
		chttp_refuse(c, CHTTP_R_MALFORMED, 431, "the request head is "
		    "over %zu bytes", max);
	return n;
}

/* chttp_conn_scan: follow the requests in `in` from `off` to its end:
 * heads are read and decided on, bodies counted down; once a request is
 * evhttp's, the bytes after it wait until it is answered. */
static void
chttp_conn_scan(struct chttp_conn *c, struct evbuffer *in, size_t off)
{
	size_t len = evbuffer_get_length(in), n;

	while (off < len && (c->phase == CHTTP_HEAD ||
	    c->phase == CHTTP_BODY)) {
		if (c->phase == CHTTP_HEAD) {
			off += chttp_head_take(c, in, off);
			continue;
		}
		n = len - off < c->body_left ? len - off : c->body_left;
		c->body_left -= n;
		off += n;
		if (c->body_left == 0)
			c->phase = CHTTP_WAIT;
	}
}

/* chttp_conn_input: bytes came in (before evhttp reads them): the first
 * of a request starts its deadline; the head reader sees them all. */
static void
chttp_conn_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct chttp_conn *c = arg;
	struct timeval tv;

	if (info->n_added == 0)
		return;
	if (c->phase == CHTTP_REFUSED) {
		evbuffer_drain(buf, evbuffer_get_length(buf));
		return;
	}
	if (c->deadline != NULL && !evtimer_pending(c->deadline, NULL)) {
		cw_usec_to_timeval(c->h->conf.request_timeout, &tv);
		evtimer_add(c->deadline, &tv);
	}
	chttp_conn_scan(c, buf, evbuffer_get_length(buf) - info->n_added);
}

/* chttp_request_done: evhttp has sent its answer to the request of a
 * connection: the next head may follow (its bytes may be in already). */
static void
chttp_request_done(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct chttp_conn *c;
	evutil_socket_t fd;

	if (evcon == NULL)
		return;
	fd = bufferevent_getfd(evhttp_connection_get_bufferevent(evcon));
	if (fd < 0 || (size_t)fd >= h->nbyfd || (c = h->byfd[fd]) == NULL ||
	    c->evcon != evcon || c->phase != CHTTP_WAIT)
		return;
	chttp_release(c);
	chttp_heads_enter(c);
	chttp_conn_scan(c, bufferevent_get_input(c->bev), 0);
}

/* chttp_request_watch: be told when `req` is answered. */
static void
chttp_request_watch(struct collector_http *h, struct evhttp_request *req)
{
	evhttp_request_set_on_complete_cb(req, chttp_request_done, h);
}

/* chttp_conn_output: an answer being written ends the request's
 * deadline; an empty output buffer means nothing is left to send. */
static void
chttp_conn_output(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct chttp_conn *c = arg;
	bool writing = evbuffer_get_length(buf) > 0;

	if (info->n_added > 0 && c->deadline != NULL)
		evtimer_del(c->deadline);
	if (writing != c->writing) {
		c->writing = writing;
		if (writing)
			c->h->nwriting++;
		else
			c->h->nwriting--;
	}
}

/* --- Client addresses --- */

/* chttp_peer_key: the client address of `fd` as 16 bytes (IPv4 in the
 * first 4, IPv6 by its /64: one site's addresses count as one);
 * -1 when there is none (a Unix socket, an error). */
static int
chttp_peer_key(int fd, unsigned char key[16])
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	const struct sockaddr_in6 *s6 = (const void *)&ss;
	const struct sockaddr_in *s4 = (const void *)&ss;

	memset(key, 0, 16);
	if (getpeername(fd, (struct sockaddr *)&ss, &len) == -1)
		return -1;
	if (ss.ss_family == AF_INET) {
		memcpy(key, &s4->sin_addr, 4);
		return 0;
	}
	if (ss.ss_family != AF_INET6)
		return -1;
	if (IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr))
		memcpy(key, &s6->sin6_addr.s6_addr[12], 4);
	else {
		memcpy(key, &s6->sin6_addr, 8);
		key[15] = 6;
	}
	return 0;
}

/* chttp_peer_get: the count of the address of `fd`, made when new;
 * NULL when out of memory or without an address. */
static struct chttp_peer *
chttp_peer_get(struct collector_http *h, int fd)
{
	unsigned char key[16], hash[crypto_shorthash_BYTES];
	struct chttp_peer **slot, *p;
	size_t i;

	if (chttp_peer_key(fd, key) == -1)
		return NULL;
	/* Keyed (SipHash), so that no client picks addresses that share a
	 * bucket. */
	crypto_shorthash(hash, key, sizeof(key), h->peer_key);
	memcpy(&i, hash, sizeof(i));
	slot = &h->peers[i % CHTTP_PEER_BUCKETS];
	for (p = *slot; p != NULL; p = p->next)
		if (memcmp(p->key, key, sizeof(key)) == 0)
			return p;
	if ((p = calloc(1, sizeof(*p))) == NULL)
		return NULL;
	memcpy(p->key, key, sizeof(key));
	p->bucket = i % CHTTP_PEER_BUCKETS;
	p->next = *slot;
	*slot = p;
	return p;
}

/* chttp_peer_put: one connection of the address less; an address
 * without any is forgotten. */
static void
chttp_peer_put(struct collector_http *h, struct chttp_peer *p)
{
	struct chttp_peer **pp;

	if (--p->count > 0)
		return;
	for (pp = &h->peers[p->bucket]; *pp != p; pp = &(*pp)->next)
		;
	*pp = p->next;
	free(p);
}

/* --- Adopting connections --- */

/* chttp_byfd_set: find the connection of descriptor `fd` again. */
static int
chttp_byfd_set(struct collector_http *h, struct chttp_conn *c)
{
	struct chttp_conn **t;
	size_t n;

	if ((size_t)c->fd >= h->nbyfd) {
		n = (size_t)c->fd + 1 > 2 * h->nbyfd ? (size_t)c->fd + 1 :
		    2 * h->nbyfd;
		if ((t = realloc(h->byfd, n * sizeof(*t))) == NULL)
			return -1;
		memset(t + h->nbyfd, 0, (n - h->nbyfd) * sizeof(*t));
		h->byfd = t;
		h->nbyfd = n;
	}
	h->byfd[c->fd] = c;
	return 0;
}

/* chttp_conn_adopt: find the evhttp connection that took c->bev and
 * watch it; 0, or -1 when it is gone already (or cannot be watched). */
static int
chttp_conn_adopt(struct chttp_conn *c)
{
	struct collector_http *h = c->h;
	struct evhttp_connection *evcon;
	void *cbarg = NULL;

	bufferevent_getcb(c->bev, NULL, NULL, NULL, &cbarg);
	if (cbarg == NULL)
		return -1;		/* evhttp freed it: closed already */
	evcon = cbarg;
	if (evhttp_connection_get_bufferevent(evcon) != c->bev) {
		log_warnx("collector: this libevent does not pass its "
		    "connection to bufferevent callbacks; connections are "
		    "not counted");
		return -1;
	}
	c->evcon = evcon;
	evhttp_connection_set_closecb(evcon, chttp_conn_closed, c);
	c->fd = bufferevent_getfd(c->bev);
	c->deadline = evtimer_new(h->base, chttp_conn_deadline, c);
	c->head_timer = evtimer_new(h->base, chttp_conn_head_late, c);
	c->in_cb = evbuffer_add_cb(bufferevent_get_input(c->bev),
	    chttp_conn_input, c);
	c->out_cb = evbuffer_add_cb(bufferevent_get_output(c->bev),
	    chttp_conn_output, c);
	if (c->deadline == NULL || c->head_timer == NULL || c->in_cb ==
	    NULL || c->out_cb == NULL || c->fd < 0 ||
	    chttp_byfd_set(h, c) == -1) {
		log_warnx("collector: cannot watch a connection");
		evhttp_connection_free(evcon);	/* frees c */
		return 0;
	}
	if (h->conf.request_timeout == 0) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
	if ((c->peer = chttp_peer_get(h, c->fd)) != NULL &&
	    ++c->peer->count > h->conf.max_per_address) {
		log_debug("collector: a client address is at "
		    "max_connections_per_address; closing its new connection");
		evhttp_connection_free(evcon);	/* frees c */
		return 0;
	}
	chttp_heads_enter(c);
	chttp_conn_scan(c, bufferevent_get_input(c->bev), 0);
	return 0;
}

/* chttp_evict: past the cap, drop the connections longest in their
 * head (idle or trickling) for the new ones. */
static void
chttp_evict(struct collector_http *h)
{
	struct chttp_conn *c;

	while (h->nconns > h->conf.max_connections &&
	    (c = TAILQ_FIRST(&h->heads)) != NULL)
		evhttp_connection_free(c->evcon);	/* frees c */
}

/* chttp_adopt: the end of the turn in which connections were
 * accepted. */
static void
chttp_adopt(evutil_socket_t fd, short what, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_conn *c, *next;

	(void)fd;
	(void)what;
	c = h->adopting;
	h->adopting = NULL;
	h->adopting_tail = &h->adopting;
	for (; c != NULL; c = next) {
		struct bufferevent *bev = c->bev;
		next = c->next_adopt;
		c->next_adopt = NULL;
		if (chttp_conn_adopt(c) == -1)
			chttp_conn_free(c);
		bufferevent_decref(bev);	/* evhttp keeps its own */
	}
	chttp_evict(h);
}

/* chttp_bevcb: evhttp asks for the bufferevent of a new connection. */
static struct bufferevent *
chttp_bevcb(struct event_base *base, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_conn *c;
	struct bufferevent *bev;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL;		/* evhttp makes one: not counted */
	if ((bev = bufferevent_socket_new(base, -1,
	    BEV_OPT_CLOSE_ON_FREE)) == NULL) {
		free(c);
		return NULL;
	}
	/* Our reference keeps it readable until chttp_adopt, even if
	 * evhttp frees the connection before. */
	bufferevent_incref(bev);
	c->h = h;
	c->bev = bev;
	c->fd = -1;
	c->next = h->conns;
	if (h->conns != NULL)
		h->conns->prev = c;
	h->conns = c;
	*h->adopting_tail = c;
	h->adopting_tail = &c->next_adopt;
	h->nconns++;
	chttp_listeners_update(h);
	event_active(h->adopt_ev, EV_TIMEOUT, 1);
	return bev;
}

/* --- Batches --- */

static void
chttp_batch_free(struct chttp_batch *b)
{
	if (b == NULL)
		return;
	ingest_batch_clear(&b->ib);
	gzip_stream_free(b->inflating);
	free(b->raw);
	free(b);
}

/* chttp_reason_of: the metric label of an ingest refusal. */
static enum chttp_reason
chttp_reason_of(enum ingest_reason why)
{
	switch (why) {
	case INGEST_R_UNKNOWN_PROBE:
		return CHTTP_R_UNKNOWN_PROBE;
	case INGEST_R_REVOKED:
		return CHTTP_R_REVOKED;
	case INGEST_R_SIGNATURE:
		return CHTTP_R_SIGNATURE;
	case INGEST_R_RECORD_TOO_LARGE:
		return CHTTP_R_RECORD_TOO_LARGE;
	case INGEST_R_MALFORMED:
		return CHTTP_R_MALFORMED;
	case INGEST_R_INVALID:
		return CHTTP_R_INVALID;
	case INGEST_R_CHAIN:
		return CHTTP_R_CHAIN;
	default:
		return CHTTP_R_UNAVAILABLE;
	}
}

/* chttp_media_is: whether the header value `v` names media type `type`
 * (case aside, parameters after ';' ignored). */
static bool
chttp_media_is(const char *v, const char *type)
{
	size_t n = strlen(type);

	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, type, n) != 0)
		return false;
	v += n;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0' || *v == ';';
}

/* chttp_db_failed: a store call failed with STORE_E_DB: when the
 * database cannot be reached, say so once and ping it before its next
 * use. */
static void
chttp_db_failed(struct collector_http *h, const char *what)
{
	if (!store_unavailable(h->st)) {
		log_warnx("collector: %s: %s", what, store_error_text(h->st));
		return;
	}
	if (!h->db_down)
		log_warnx("collector: the database is unavailable (%s: %s); "
		    "answering 503 until it is back", what,
		    store_error_text(h->st));
	h->db_down = true;
}

/* chttp_db_usable: false while the database is known to be down and a
 * ping (which reconnects) does not bring it back. */
static bool
chttp_db_usable(struct collector_http *h)
{
	if (!h->db_down)
		return true;
	if (store_ping(h->st, NULL) != 0)
		return false;
	log_info("collector: the database is back");
	h->db_down = false;
	return true;
}

/* chttp_write_outcome: whether a write of the database worked.  A full
 * disk fails every write while the database still answers a ping, so a
 * failure is kept for /healthz until a write works again. */
static void
chttp_write_outcome(struct collector_http *h, bool ok)
{
	if (ok) {
		if (h->write_failed_at != 0)
			log_info("collector: writing the database works again");
		h->write_failed_at = 0;
		return;
	}
	h->write_failed_at = cw_real_usec();
	snprintf(h->write_error, sizeof(h->write_error), "%s",
	    store_error_text(h->st));
}

/* chttp_batch_auth: the Authorization header and the probe it names. */
static int
chttp_batch_auth(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b, char sig[RECORD_SIG_B64 + 1])
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	char probe[RECORD_ID_HEX + 1], err[CHTTP_ERR_LEN];
	int code;

	if (batch_auth_parse(evhttp_find_header(in, "Authorization"), probe,
	    sig, err, sizeof(err)) == -1) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", BATCH_AUTH_SCHEME);
		chttp_reject(h, req, CHTTP_R_AUTH, 401, "%s",
		    err);
		return -1;
	}
	if ((code = ingest_probe(h->st, probe, &b->ib)) == 0)
		return 0;
	if (code == 503)
		chttp_db_failed(h, "looking up a probe");
	chttp_reject(h, req, chttp_reason_of(b->ib.reason), code, "%s",
	    b->ib.err);
	return -1;
}

/* chttp_batch_body: our own copy of the body: as it is, or as sent for
 * the checking thread to inflate (b->raw). */
static int
chttp_batch_body(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	const char *enc = evhttp_find_header(in, "Content-Encoding");
	size_t len = evbuffer_get_length(buf);

	if (len > h->conf.max_body) {
		chttp_reject(h, req, CHTTP_R_TOO_LARGE, 413,
		    "%zu bytes, over the limit of %zu", len, h->conf.max_body);
		return -1;
	}
	b->max_body = h->conf.max_body;
	if (enc == NULL || strcasecmp(enc, "identity") == 0) {
		if ((b->ib.body = malloc(len + 1)) == NULL)
			goto nomem;
		evbuffer_copyout(buf, b->ib.body, len);
		b->ib.body[len] = '\0';
		b->ib.len = len;
		crypto_hash_sha256_init(&b->sha);
		return 0;
	}
	if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0) {
		chttp_reject(h, req, CHTTP_R_ENCODING, 415,
		    "Content-Encoding \"%.64s\": only gzip is supported",
		    enc);
		return -1;
	}
	if ((b->raw = malloc(len > 0 ? len : 1)) == NULL)
		goto nomem;
	evbuffer_copyout(buf, b->raw, len);
	b->rawlen = len;
	crypto_hash_sha256_init(&b->sha);
	return 0;
nomem:
	log_warnx("collector: out of memory for a batch of %zu bytes", len);
	collector_http_error(req, 503, "try again later");
	return -1;
}

/* chttp_check_hash: hash the next CHTTP_SLICE bytes of the body: of
 * b->ib.body, or inflated from b->raw into a window that is dropped:
 * nothing a client sends is kept inflated before its signature holds.
 * Returns 1 while more remain, 0 once all is hashed, -1 when the body
 * does not inflate (b->gz). */
static int
chttp_check_hash(struct chttp_batch *b)
{
	unsigned char window[CHTTP_SLICE];
	size_t got;

	if (b->raw == NULL) {
		got = b->ib.len - b->hashed;
		if (got > CHTTP_SLICE)
			got = CHTTP_SLICE;
		crypto_hash_sha256_update(&b->sha, b->ib.body + b->hashed,
		    got);
		b->hashed += got;
		return b->hashed < b->ib.len ? 1 : 0;
	}
	if (b->inflating == NULL && (b->inflating = gzip_stream_new(b->raw,
	    b->rawlen, b->max_body)) == NULL) {
		b->gz = GZIP_E_NOMEM;
		return -1;
	}
	if ((b->gz = gzip_stream_read(b->inflating, window, sizeof(window),
	    &got)) != GZIP_OK)
		return -1;
	crypto_hash_sha256_update(&b->sha, window, got);
	b->hashed += got;
	return got > 0 ? 1 : 0;
}

/*
 * chttp_check_work: on the checking thread (workq_work_fn), with
 * nothing but `b`: one slice of hashing the body at a time, so that
 * bodies that are large once inflated (gzip bombs signed with a made-up
 * signature: anyone can send one in a probe's name) take turns with
 * every other batch instead of holding them back.  Once the signature
 * holds, a gzip body is inflated again, whole, to be kept, and every
 * record is checked.  Returns true when the batch is checked.
 */
static bool
chttp_check_work(void *arg)
{
	struct chttp_batch *b = arg;
	unsigned char digest[RECORD_HASH_LEN];
	int rc;

	if ((rc = chttp_check_hash(b)) != 0)
		return rc == -1;
	gzip_stream_free(b->inflating);
	b->inflating = NULL;
	crypto_hash_sha256_final(&b->sha, digest);
	if ((b->code = ingest_verify(&b->ib, digest, b->sig)) != 0)
		return true;
	if (b->raw != NULL) {
		b->gz = gzip_inflate(b->raw, b->rawlen, b->max_body,
		    &b->ib.body, &b->ib.len);
		free(b->raw);
		b->raw = NULL;
		if (b->gz != GZIP_OK)
			return true;
	}
	b->code = ingest_records(&b->ib);
	return true;
}

/* chttp_check_answer: refuse a batch the checking thread found bad;
 * returns -1 then, 0 when it is good. */
static int
chttp_check_answer(struct collector_http *h, struct chttp_batch *b)
{
	struct evhttp_request *req = b->req;

	switch (b->gz) {
	case GZIP_OK:
		break;
	case GZIP_E_CORRUPT:
		chttp_reject(h, req, CHTTP_R_GZIP, 400,
		    "the body does not inflate: %s", gzip_strerror(b->gz));
		return -1;
	case GZIP_E_TOO_LARGE:
		chttp_reject(h, req, CHTTP_R_TOO_LARGE, 413,
		    "the body inflates past the limit of %zu bytes",
		    b->max_body);
		return -1;
	default:
		log_warnx("collector: out of memory for a batch of %zu bytes",
		    b->rawlen);
		if (req != NULL)
			collector_http_error(req, 503, "try again later");
		return -1;
	}
	if (b->code == 0)
		return 0;
	if (b->ib.reason == INGEST_R_SIGNATURE && req != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", BATCH_AUTH_SCHEME);
	chttp_reject(h, req, chttp_reason_of(b->ib.reason), b->code, "%s",
	    b->ib.err);
	return -1;
}

/* chttp_batch_read: the checks that need the loop (the probe's key is
 * in the database); answers the request itself when one fails.  The
 * rest is the checking thread's (chttp_check_work).  Returns 0 or -1. */
static int
chttp_batch_read(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	if (!chttp_media_is(evhttp_find_header(in, "Content-Type"),
	    "application/x-ndjson")) {
		chttp_reject(h, req, CHTTP_R_CONTENT_TYPE, 415,
		    "a batch is sent as Content-Type: application/x-ndjson");
		return -1;
	}
	if (!chttp_db_usable(h)) {
		chttp_reject(h, req, CHTTP_R_UNAVAILABLE, 503,
		    "the database is unavailable; try again later");
		return -1;
	}
	if (chttp_batch_auth(h, req, b, b->sig) == -1 ||
	    chttp_batch_body(h, req, b) == -1)
		return -1;
	return 0;
}

/* chttp_receipt: the JSON receipt of a committed batch. */
static json_t *
chttp_receipt(const struct store_receipt *rc)
{
	char when[CW_TIME_STRLEN];

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s}",
	    "probe", rc->probe, "chain", rc->chain,
	    "acked_seq", (json_int_t)rc->acked_seq,
	    "stored", (json_int_t)rc->stored,
	    "duplicates", (json_int_t)rc->duplicates,
	    "equivocations", (json_int_t)rc->equivocations,
	    "gaps", (json_int_t)rc->gaps,
	    "received_at", cw_time_format(rc->received_at, when,
	    sizeof(when)));
}

/* chttp_latency: one observation of the ingest latency histogram. */
static void
chttp_latency(struct chttp_metrics *m, cw_usec_t usec)
{
	double s = (double)usec / 1e6;
	size_t i;

	for (i = 0; i < CHTTP_BUCKETS && s > chttp_buckets[i]; i++)
		;
	m->latency[i]++;
	m->latency_count++;
	m->latency_sum += s;
}

/* chttp_batch_answer: count and answer a batch after the commit. */
static void
chttp_batch_answer(struct collector_http *h, struct chttp_batch *b,
    cw_usec_t now)
{
	struct evhttp_request *req = b->req;
	int code = ingest_status(b->rc, &b->ib);

	if (code != 200) {
		chttp_reject(h, req, chttp_reason_of(b->ib.reason), code, "%s",
		    b->ib.err);
		return;
	}
	h->m.batches_accepted++;
	h->m.records_stored += b->receipt.stored;
	h->m.records_duplicate += b->receipt.duplicates;
	h->m.records_equivocation += b->receipt.equivocations;
	h->m.gaps += b->receipt.gaps_opened;
	chttp_latency(&h->m, now - b->started);
	if (req != NULL)
		collector_http_json(req, 200, chttp_receipt(&b->receipt));
}

/* chttp_commit_run: store every pending batch in one transaction, then
 * answer each. */
static void
chttp_commit_run(struct collector_http *h)
{
	struct chttp_batch *list = h->pending, *b, *next;
	bool group, stored = false;
	cw_usec_t now;

	if (list == NULL)
		return;
	h->pending = NULL;
	h->pending_tail = &h->pending;
	if (!(group = store_group_begin(h->st) == STORE_OK)) {
		chttp_db_failed(h, "beginning a transaction");
		chttp_write_outcome(h, false);
	}
	for (b = list; b != NULL; b = b->next) {
		if (!group) {
			b->rc = STORE_E_DB;
			continue;
		}
		b->rc = ingest_store(h->st, &b->ib, &b->receipt);
		if (b->rc == STORE_E_DB) {
			chttp_db_failed(h, "storing a batch");
			chttp_write_outcome(h, false);
		}
		stored |= b->rc == STORE_OK;
	}
	if (group && store_group_commit(h->st) != STORE_OK) {
		chttp_db_failed(h, "committing");
		chttp_write_outcome(h, false);
		store_group_rollback(h->st);
		for (b = list; b != NULL; b = b->next)
			if (b->rc == STORE_OK)
				b->rc = STORE_E_DB;
	} else if (stored)
		chttp_write_outcome(h, true);
	now = cw_mono_usec();
	for (b = list; b != NULL; b = next) {
		next = b->next;
		chttp_batch_answer(h, b, now);
		chttp_batch_free(b);
	}
}

static void
chttp_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chttp_commit_run(arg);
}

/* chttp_check_done: the checking thread is done with a batch of
 * h->checking (workq_done_fn, on the loop): refuse it, or queue it for
 * the commit.  Not `ran`: its check was cut short by a stop, or the
 * service is being freed. */
static void
chttp_check_done(void *arg, bool ran)
{
	struct chttp_batch *b = arg, **pp;
	struct collector_http *h = b->h;

	/* Jobs finish in any order (a small one before a large one). */
	for (pp = &h->checking; *pp != b; pp = &(*pp)->next)
		;
	if ((*pp = b->next) == NULL)
		h->checking_tail = pp;
	b->next = NULL;
	if (h->freeing) {
		chttp_batch_free(b);
		return;
	}
	if (!ran) {
		chttp_reject(h, b->req, CHTTP_R_UNAVAILABLE, 503,
		    "the collector is stopping; try again later");
		chttp_batch_free(b);
		return;
	}
	if (chttp_check_answer(h, b) == -1) {
		chttp_batch_free(b);
		return;
	}
	*h->pending_tail = b;
	h->pending_tail = &b->next;
	/* At the end of this turn of the loop, after every other batch
	 * whose check ended in it. */
	event_active(h->commit_ev, EV_TIMEOUT, 1);
}

/* chttp_batches: POST /api/v1/batches. */
static void
chttp_batches(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_batch *b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		h->m.rejected[CHTTP_R_METHOD]++;
		chttp_method_not_allowed(req, "POST");
		return;
	}
	if (h->stopping) {
		chttp_reject(h, req, CHTTP_R_UNAVAILABLE, 503,
		    "the collector is stopping; try again later");
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		collector_http_error(req, 503, "try again later");
		return;
	}
	b->h = h;
	b->req = req;
	b->started = cw_mono_usec();
	b->ib.received_at = cw_real_usec();
	if (chttp_batch_read(h, req, b) == -1) {
		chttp_batch_free(b);
		return;
	}
	if (workq_push(h->checker, chttp_check_work, chttp_check_done,
	    b) == -1) {
		collector_http_error(req, 503, "try again later");
		chttp_batch_free(b);
		return;
	}
	*h->checking_tail = b;
	h->checking_tail = &b->next;
}

/* --- Enrollment --- */

/* chttp_enroll_parse: the request's token and public key. */
static int
chttp_enroll_parse(struct evhttp_request *req, json_t **root,
    const char **token, unsigned char pk[RECORD_PUBKEY_LEN])
{
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(buf);
	const char *key;
	json_error_t jerr;

	if (!chttp_media_is(evhttp_find_header(
	    evhttp_request_get_input_headers(req), "Content-Type"),
	    "application/json")) {
		collector_http_error(req, 415,
		    "send Content-Type: application/json");
		return -1;
	}
	if (len > CHTTP_ENROLL_MAX) {
		collector_http_error(req, 413,
		    "%zu bytes, over the limit of %d", len, CHTTP_ENROLL_MAX);
		return -1;
	}
	*root = json_loadb(len > 0 ? (const char *)evbuffer_pullup(buf, -1) :
	    "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL || !json_is_object(*root)) {
		collector_http_error(req, 400, "not a JSON object: %s",
		    *root == NULL ? jerr.text : "");
		return -1;
	}
	*token = json_string_value(json_object_get(*root, "token"));
	key = json_string_value(json_object_get(*root, "pubkey"));
	if (*token == NULL || key == NULL) {
		collector_http_error(req, 400,
		    "\"token\" and \"pubkey\" must be strings");
		return -1;
	}
	if (json_object_get(*root, "name") != NULL &&
	    !json_is_string(json_object_get(*root, "name"))) {
		collector_http_error(req, 400, "\"name\" must be a string");
		return -1;
	}
	if (record_pubkey_parse(key, pk) == -1) {
		collector_http_error(req, 400,
		    "\"pubkey\" is not an Ed25519 key in 64 hex digits or "
		    "44 base64 characters");
		return -1;
	}
	return 0;
}

/* chttp_enroll: POST /api/v1/enroll. */
static void
chttp_enroll(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	unsigned char pk[RECORD_PUBKEY_LEN];
	struct store_probe p;
	char err[CHTTP_ERR_LEN];
	const char *token;
	json_t *root = NULL;
	int rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		chttp_method_not_allowed(req, "POST");
		return;
	}
	if (chttp_enroll_parse(req, &root, &token, pk) == -1) {
		json_decref(root);
		return;
	}
	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	rc = chttp_db_usable(h) ? store_token_redeem(h->st, token, pk, &p, err,
	    sizeof(err)) : STORE_E_DB;
	if (rc == STORE_E_DB && !h->db_down) {
		chttp_db_failed(h, "redeeming a token");
		chttp_write_outcome(h, false);
	} else if (rc == STORE_OK)
		chttp_write_outcome(h, true);
	json_decref(root);
	if (rc == STORE_OK) {
		h->m.enrollments++;
		log_info("collector: probe %s (%lld, \"%s\") enrolled with a "
		    "token", p.id, p.num, p.name);
		collector_http_json(req, 200, json_pack("{s:s, s:I, s:s}",
		    "probe", p.id, "num", (json_int_t)p.num, "name", p.name));
	} else if (rc == STORE_E_NOTFOUND)
		collector_http_error(req, 401, "the token is "
		    "unknown, used or expired");
	else if (rc == STORE_E_EXISTS)
		collector_http_error(req, 409, "this key "
		    "is enrolled already");
	else if (rc == STORE_E_INVALID)
		collector_http_error(req, 400, "%s", err);
	else
		collector_http_error(req, 503, "try again later");
	store_probe_clear(&p);
}

/* --- Health and metrics --- */

/* chttp_unhealthy: answer /healthz with 503 and `body` (taken). */
static void
chttp_unhealthy(struct evhttp_request *req, json_t *body)
{
	char retry[16];

	snprintf(retry, sizeof(retry), "%d", COLLECTOR_HTTP_RETRY_AFTER);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Retry-After", retry);
	collector_http_json(req, 503, body);
}

/*
 * GET /healthz: ok, or not with a generic reason.  What the database
 * library said (a socket path, a file name) goes only to a holder of
 * the read token, as "db_error".
 */
static void
chttp_healthz(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	const char *backend = store_backend(h->st), *why = NULL;
	bool trusted = collector_http_read_trusted(h, req);
	char when[CW_TIME_STRLEN];
	json_t *body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		chttp_method_not_allowed(req, "GET");
		return;
	}
	if (store_ping(h->st, &why) != 0) {
		h->db_down = true;
		body = json_pack("{s:s, s:s, s:s, s:s}", "status",
		    "unavailable", "db", backend, "error",
		    "unavailable", "detail", "the database does not answer");
		if (body != NULL && trusted)
			json_object_set_new(body, "db_error",
			    json_string(why));
		chttp_unhealthy(req, body);
		return;
	}
	h->db_down = false;
	if (h->write_failed_at != 0) {
		body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "status",
		    "failing", "db", backend, "error", "write_failed",
		    "detail", "writing to the database fails",
		    "last_write_failure", cw_time_format(h->write_failed_at,
		    when, sizeof(when)));
		if (body != NULL && trusted)
			json_object_set_new(body, "db_error",
			    json_string(h->write_error));
		chttp_unhealthy(req, body);
		return;
	}
	collector_http_json(req, 200, json_pack("{s:s, s:s}", "status",
	    h->stopping ? "stopping" : "ok", "db", backend));
}

/* chttp_metric: one counter or gauge with its help and type lines. */
static void
chttp_metric(struct evbuffer *out, const char *name, const char *type,
    const char *help, unsigned long long value)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n",
	    name, help, name, type, name, value);
}

static void
chttp_metrics_histogram(struct evbuffer *out, const struct chttp_metrics *m)
{
	const char *name = "corewatch_ingest_latency_seconds";
	unsigned long long sum = 0;

	evbuffer_add_printf(out, "# HELP %s From a batch received whole to "
	    "its commit.\n# TYPE %s histogram\n", name, name);
	for (size_t i = 0; i < CHTTP_BUCKETS; i++) {
		sum += m->latency[i];
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
		    chttp_buckets[i], sum);
	}
	evbuffer_add_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n", name, m->latency_count, name, m->latency_sum,
	    name, m->latency_count);
}

static void
chttp_metrics(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	const struct chttp_metrics *m = &h->m;
	struct evbuffer *out;
	long long size;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		chttp_method_not_allowed(req, "GET");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		collector_http_error(req, 503, NULL);
		return;
	}
	chttp_metric(out, "corewatch_batches_accepted_total", "counter",
	    "Batches stored (replays included) and acknowledged.",
	    m->batches_accepted);
	chttp_metric(out, "corewatch_records_stored_total", "counter",
	    "Records stored for the first time.", m->records_stored);
	chttp_metric(out, "corewatch_records_duplicate_total", "counter",
	    "Records received again with the same hash.",
	    m->records_duplicate);
	chttp_metric(out, "corewatch_records_equivocation_total", "counter",
	    "Records received again with another hash (kept apart).",
	    m->records_equivocation);
	chttp_metric(out, "corewatch_gaps_total", "counter",
	    "Gaps opened in chains by accepted batches (seqs skipped).",
	    m->gaps);
	chttp_metric(out, "corewatch_enrollments_total", "counter",
	    "Probes enrolled with a token.", m->enrollments);
	evbuffer_add_printf(out, "# HELP corewatch_batches_rejected_total "
	    "Batches refused, by reason.\n# TYPE "
	    "corewatch_batches_rejected_total counter\n");
	for (size_t i = 0; i < CHTTP_REASONS; i++)
		evbuffer_add_printf(out, "corewatch_batches_rejected_total"
		    "{reason=\"%s\"} %llu\n", chttp_reason_names[i],
		    m->rejected[i]);
	chttp_metrics_histogram(out, m);
	if ((size = store_size(h->st)) >= 0)
		chttp_metric(out, "corewatch_db_size_bytes", "gauge",
		    "Bytes the database takes.", (unsigned long long)size);
	chttp_metric(out, "corewatch_connections", "gauge",
	    "Client connections open.", h->nconns);
	chttp_metric(out, "corewatch_connections_max", "gauge",
	    "The cap on client connections.", h->conf.max_connections);
	chttp_metric(out, "corewatch_connection_cap_reached_total", "counter",
	    "Times the cap stopped new connections from being accepted.",
	    m->cap_reached);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, NULL, out);
	evbuffer_free(out);
}

/* --- Routing --- */

bool
collector_http_read_trusted(const struct collector_http *h,
    struct evhttp_request *req)
{
	const char *auth, *tok;
	size_t n;

	if (h->read_token == NULL)
		return false;
	auth = evhttp_find_header(evhttp_request_get_input_headers(req),
	    "Authorization");
	if (auth == NULL || strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	tok = auth + 7;
	n = strlen(h->read_token);
	return strlen(tok) == n && sodium_memcmp(tok, h->read_token, n) == 0;
}

/* chttp_read_allowed: reads need the read token, unless the operator
 * opened them (public_read). */
static bool
chttp_read_allowed(const struct collector_http *h, struct evhttp_request *req)
{
	return h->conf.public_read || collector_http_read_trusted(h, req);
}

/* chttp_headers_ok: at most CHTTP_HEADERS_MAX header lines. */
static bool
chttp_headers_ok(struct evhttp_request *req)
{
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
		n++;
	return n <= CHTTP_HEADERS_MAX;
}

static void
chttp_route(struct evhttp_request *req, void *arg)
{
	struct chttp_route *r = arg;

	chttp_request_watch(r->h, req);
	if (!chttp_headers_ok(req)) {
		collector_http_error(req, 431, "at most %d header lines",
		    CHTTP_HEADERS_MAX);
		return;
	}
	if (r->read && !chttp_read_allowed(r->h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		collector_http_error(req, 401,
		    "this endpoint needs Authorization: Bearer <read token>");
		return;
	}
	r->cb(req, r->arg);
}

static void
chttp_not_found(struct evhttp_request *req, void *arg)
{
	chttp_request_watch(arg, req);
	collector_http_error(req, 404, "no such endpoint");
}

int
collector_http_route(struct collector_http *h, const char *path, bool read,
    void (*cb)(struct evhttp_request *, void *), void *arg)
{
	struct chttp_route *r;

	if (h->nroutes == CHTTP_ROUTES_MAX) {
		log_warnx("%s: too many routes", __func__);
		return -1;
	}
	r = &h->routes[h->nroutes];
	r->h = h;
	r->read = read;
	r->cb = cb;
	r->arg = arg;
	if (evhttp_set_cb(h->http, path, chttp_route, r) != 0) {
		log_warnx("%s: %s: already served", __func__, path);
		return -1;
	}
	h->nroutes++;
	return 0;
}

/* --- The service --- */

static int
chttp_setup(struct collector_http *h)
{
	struct timeval tv;

	if ((h->http = evhttp_new(h->base)) == NULL ||
	    (h->adopt_ev = event_new(h->base, -1, 0, chttp_adopt, h)) ==
	    NULL || (h->commit_ev = event_new(h->base, -1, 0, chttp_commit,
	    h)) == NULL || (h->close_ev = event_new(h->base, -1, 0,
	    chttp_close_run, h)) == NULL)
		return -1;
	crypto_shorthash_keygen(h->peer_key);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)h->conf.max_body);
	evhttp_set_max_headers_size(h->http,
	    (ev_ssize_t)h->conf.max_headers_size);
	cw_usec_to_timeval(h->conf.timeout, &tv);
	evhttp_set_timeout_tv(h->http, &tv);
	/* Read a body past the limit (bounded by the timeouts) so that the
	 * client sees the 413 instead of a reset. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_bevcb(h->http, chttp_bevcb, h);
	evhttp_set_gencb(h->http, chttp_not_found, h);
	if (collector_http_route(h, "/api/v1/batches", false, chttp_batches,
	    h) == -1 || collector_http_route(h, "/api/v1/enroll", false,
	    chttp_enroll, h) == -1 || collector_http_route(h, "/healthz",
	    false, chttp_healthz, h) == -1 || collector_http_route(h,
	    "/metrics", true, chttp_metrics, h) == -1)
		return -1;
	return 0;
}

struct collector_http *
collector_http_new(struct event_base *base, struct store *st,
    const struct collector_http_conf *conf)
{
	struct collector_http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	h->base = base;
	h->st = st;
	h->conf = *conf;
	h->conf.read_token = NULL;
	h->pending_tail = &h->pending;
	h->checking_tail = &h->checking;
	h->adopting_tail = &h->adopting;
	TAILQ_INIT(&h->heads);
	TAILQ_INIT(&h->closing);
	if (h->conf.max_connections == 0)
		h->conf.max_connections = 1;
	if ((conf->read_token != NULL &&
	    (h->read_token = strdup(conf->read_token)) == NULL) ||
	    (h->checker = workq_new(base)) == NULL ||
	    chttp_setup(h) == -1) {
		log_warnx("%s: cannot set up the HTTP service", __func__);
		collector_http_free(h);
		return NULL;
	}
	return h;
}

/* chttp_addr_parse: "ADDRESS:PORT" with a numeric address (IPv6 in
 * brackets) and an explicit port (0: any free one) into `ss`.  Returns
 * 0 or -1. */
static int
chttp_addr_parse(const char *addr, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(addr, ':'), *host = addr;
	char buf[INET6_ADDRSTRLEN];
	size_t hlen;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		return -1;
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		port = port * 10 + (*p - '0');
	}
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hlen < 2 || colon[-1] != ']')
			return -1;
		host++;
		hlen -= 2;
	}
	if (port > 65535 || hlen == 0 || hlen >= sizeof(buf))
		return -1;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (addr[0] != '[' && evutil_inet_pton(AF_INET, buf,
	    &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (addr[0] == '[' && evutil_inet_pton(AF_INET6, buf,
	    &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* chttp_addr_format: "127.0.0.1:8080" or "[::1]:8080" into buf. */
static void
chttp_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

int
collector_http_listen(struct collector_http *h, const char *addr)
{
	struct sockaddr_storage ss;
	struct evconnlistener *lev;
	socklen_t slen;
	int len;
	char shown[128];
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE;

	if (h->nlisteners == CHTTP_LISTEN_MAX) {
		log_warnx("%s: at most %d addresses", __func__,
		    CHTTP_LISTEN_MAX);
		return -1;
	}
	if (chttp_addr_parse(addr, &ss, &len) == -1) {
		log_warnx("collector: listen \"%s\": not a numeric "
		    "ADDRESS:PORT (127.0.0.1:8080, [::1]:8080)", addr);
		return -2;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	if (h->paused)
		flags |= LEV_OPT_DISABLED;
	if ((lev = evconnlistener_new_bind(h->base, NULL, NULL, flags,
	    CHTTP_BACKLOG, (struct sockaddr *)&ss, len)) == NULL) {
		log_warn("collector: cannot listen on %s", addr);
		return -1;
	}
	if (evhttp_bind_listener(h->http, lev) == NULL) {
		evconnlistener_free(lev);
		log_warnx("collector: cannot serve HTTP on %s", addr);
		return -1;
	}
	h->listeners[h->nlisteners++] = lev;
	slen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
	    &slen) == 0) {
		chttp_addr_format(&ss, shown, sizeof(shown));
		log_info("collector: listening on %s", shown);
	}
	return 0;
}

bool
collector_http_addr_valid(const char *addr)
{
	struct sockaddr_storage ss;
	int len;

	return chttp_addr_parse(addr, &ss, &len) == 0;
}

bool
collector_http_busy(const struct collector_http *h)
{
	return h->checking != NULL || h->pending != NULL || h->nwriting > 0;
}

void
collector_http_shutdown(struct collector_http *h)
{
	if (h->stopping)
		return;
	h->stopping = true;
	chttp_listeners_update(h);
	/* The checks end here, on this turn: each batch checked joins
	 * those waiting for the commit, each cut short is answered 503. */
	if (h->checker != NULL)
		workq_drain(h->checker, cw_mono_usec() +
		    h->conf.drain_timeout);
	chttp_commit_run(h);
}

void
collector_http_free(struct collector_http *h)
{
	struct chttp_conn *c, *next;
	struct chttp_batch *b;

	if (h == NULL)
		return;
	/* After collector_http_shutdown() nothing is checked or waits for
	 * the commit; without it, such batches are dropped here. */
	h->freeing = true;
	workq_free(h->checker);
	h->checker = NULL;
	while ((b = h->pending) != NULL) {
		h->pending = b->next;
		chttp_batch_free(b);
	}
	h->pending_tail = &h->pending;
	/* Connections accepted in this very turn: let go of our hold. */
	c = h->adopting;
	h->adopting = NULL;
	h->adopting_tail = &h->adopting;
	for (; c != NULL; c = next) {
		next = c->next_adopt;
		bufferevent_decref(c->bev);
		chttp_conn_free(c);
	}
	/* Frees the listeners and every connection (their close callbacks
	 * free ours). */
	h->nlisteners = 0;
	if (h->http != NULL)
		evhttp_free(h->http);
	for (c = h->conns; c != NULL; c = next) {
		next = c->next;
		chttp_conn_free(c);
	}
	while (h->lingering != NULL)
		chttp_linger_end(h->lingering);
	free(h->byfd);
	if (h->adopt_ev != NULL)
		event_free(h->adopt_ev);
	if (h->commit_ev != NULL)
		event_free(h->commit_ev);
	if (h->close_ev != NULL)
		event_free(h->close_ev);
	free(h->read_token);
	free(h);
}
