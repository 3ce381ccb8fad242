/*
 * collector_fixture.h -- the collector's HTTP service for the unit tests
 * of its HTTP layers (test_collector_http, test_export_http): the real
 * service (collector_http.h, and export_http.h when asked for) on an
 * event loop of the test's own, listening on 127.0.0.1 on a port the
 * kernel picks, storing into a SQLite store of store_fixture.h with
 * its probe "kyiv-1" (seed 7; what the fixture stores itself is tagged
 * UA and AS64500); and a fake client: raw bytes written on a
 * bufferevent of the same loop, and what comes back parsed into
 * answers (Content-Length or chunked) as they arrive.
 *
 * The loop turns only inside cfix_run_until(), one iteration at a time
 * and for a bounded time, so that a test sees the service between two
 * turns (a batch being checked, a stream half written).
 *
 * Include after cmocka.h; everything here is static inline.  Errors are
 * test failures.
 */
#ifndef CW_TEST_COLLECTOR_FIXTURE_H
#define CW_TEST_COLLECTOR_FIXTURE_H

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdbool.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/util.h>
#include <jansson.h>

#include "collector_http.h"
#include "cwtime.h"
#include "export_http.h"
#include "store_fixture.h"

#define CFIX_SEED       7 /* of the fixture's probe, as sfix_probe */
#define CFIX_READ_TOKEN "0123456789abcdef-read"
#define CFIX_WAIT_MS    5000 /* the longest a test waits for anything */

/* The service, its store and loop. */
struct cfix {
	struct sfix s;
	struct store_probe *p; /* "kyiv-1", the fixture's */
	struct schain c;       /* SFIX_CHAIN of p */
	struct event_base *base;
	struct event *tick; /* bounds one turn */
	struct collector_http *h;
	struct export_http *x; /* NULL unless asked for */
	int port;
};

/* Where the reading of an answer is. */
enum cresp_state {
	CRESP_HEAD,
	CRESP_LENGTH, /* a body of Content-Length */
	CRESP_CHUNK_SIZE,
	CRESP_CHUNK_DATA,
	CRESP_CHUNK_END, /* the CRLF after a chunk */
	CRESP_LAST_END,  /* the CRLF after the last, empty chunk */
	CRESP_DONE,
};

/* One answer as the client read it. */
struct cresp {
	int status;
	char *head; /* status line and headers, NUL-terminated */
	char *body; /* reassembled when chunked; NUL-terminated */
	size_t len, cap;
	bool chunked;
	json_t *json; /* the body, when it parses as JSON */
	enum cresp_state state;
	size_t left; /* bytes of the body or chunk to come */
};

/* A fake client: one connection to the service. */
struct cclient {
	struct cfix *w;
	struct bufferevent *bev;
	struct evbuffer *in; /* read and not parsed yet */
	struct cresp part;   /* the answer being read */
	size_t got;          /* bytes read in all */
	bool eof;            /* closed by the service, or failed */
};

/* The conf of the tests: small limits (as tests/scenario/
 * collector_http.sh has them) and the read token CFIX_READ_TOKEN. */
static inline void
cfix_conf(struct collector_http_conf *conf)
{
	collector_http_conf_init(conf);
	conf->max_body = 256 * 1024;
	conf->max_headers_size = 4 * 1024;
	conf->read_token = CFIX_READ_TOKEN;
}

/* The port of the one socket listening on 127.0.0.1 in this process:
 * collector_http_listen() logs the port it bound but does not say it,
 * and the test should not change the service to learn it. */
static inline int
cfix_listening_port(void)
{
	int port = -1;

	for (int fd = 3; fd < 4096; fd++) {
		struct sockaddr_in sin;
		socklen_t len = sizeof(int), slen = sizeof(sin);
		int on = 0;
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) ==
		        -1 ||
		    !on ||
		    getsockname(fd, (struct sockaddr *)&sin, &slen) == -1 ||
		    sin.sin_family != AF_INET ||
		    sin.sin_addr.s_addr != htonl(INADDR_LOOPBACK))
			continue;
		assert_int_equal(port, -1); /* one only */
		port = ntohs(sin.sin_port);
	}
	assert_true(port > 0);
	return port;
}

static inline void
cfix_tick_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
}

/*
 * cfix_open: the store with its probe, the loop, and the service on it
 * with `conf`, listening; with the read endpoints (export_http.h, a
 * summary of at most `max_groups` groups a bucket) when `exports`.
 */
static inline void
cfix_open(struct cfix *w, const struct collector_http_conf *conf, bool exports,
    size_t max_groups)
{
	memset(w, 0, sizeof(*w));
	sfix_open(&w->s, NULL);
	w->p = sfix_probe(&w->s, "kyiv-1", CFIX_SEED, "UA", 64500);
	schain_init(&w->c, w->p, SFIX_CHAIN);
	assert_non_null(w->base = event_base_new());
	assert_non_null(w->tick = evtimer_new(w->base, cfix_tick_cb, NULL));
	assert_non_null(w->h = collector_http_new(w->base, w->s.st, conf));
	if (exports)
		assert_non_null(
		    w->x = export_http_new(w->h, w->base, w->s.st, max_groups));
	assert_int_equal(collector_http_listen(w->h, "127.0.0.1:0"), 0);
	w->port = cfix_listening_port();
}

/* cfix_close: stop the service as the daemon does (shutdown, the read
 * endpoints, the service), then the loop and the store.  The clients
 * must be closed before. */
static inline void
cfix_close(struct cfix *w)
{
	collector_http_shutdown(w->h);
	export_http_free(w->x);
	collector_http_free(w->h);
	event_free(w->tick);
	event_base_free(w->base);
	schain_free(&w->c);
	sfix_close(&w->s);
}

/* cfix_new: a struct cfix, cfix_open()ed with the same arguments, for
 * a cmocka setup; cfix_teardown() closes and frees it. */
static inline struct cfix *
cfix_new(const struct collector_http_conf *conf, bool exports,
    size_t max_groups)
{
	struct cfix *w;

	assert_non_null(w = calloc(1, sizeof(*w)));
	cfix_open(w, conf, exports, max_groups);
	return w;
}

static inline int
cfix_teardown(void **state)
{
	struct cfix *w = *state;

	cfix_close(w);
	free(w);
	return 0;
}

/* cfix_run_until: turn the loop until `done(arg)`, one iteration at a
 * time (none longer than 10 ms), for `ms` at most.  Returns whether
 * `done`. */
static inline bool
cfix_run_until(struct cfix *w, bool (*done)(void *), void *arg, long ms)
{
	cw_usec_t end = cw_mono_usec() + ms * CW_USEC_PER_MSEC;
	struct timeval tv = { 0, 10000 };

	while (!done(arg)) {
		if (cw_mono_usec() > end)
			return false;
		evtimer_add(w->tick, &tv);
		event_base_loop(w->base, EVLOOP_ONCE);
	}
	return true;
}

static inline bool
cfix_never(void *arg)
{
	(void)arg;
	return false;
}

/* cfix_run_for: turn the loop for `ms`. */
static inline void
cfix_run_for(struct cfix *w, long ms)
{
	cfix_run_until(w, cfix_never, NULL, ms);
}

/* --- the fake client --- */

static inline void
cclient_read_cb(struct bufferevent *bev, void *arg)
{
	struct cclient *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);

	c->got += evbuffer_get_length(in);
	evbuffer_add_buffer(c->in, in);
}

static inline void
cclient_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct cclient *c = arg;

	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		cclient_read_cb(bev, c);
		c->eof = true;
	}
}

/* cclient_open: connect to the service; with `rcvbuf` > 0, a receive
 * buffer that small (a slow reader's). */
static inline void
cclient_open(struct cfix *w, struct cclient *c, int rcvbuf)
{
	struct sockaddr_in sin;
	evutil_socket_t fd;

	memset(c, 0, sizeof(*c));
	c->w = w;
	assert_non_null(c->in = evbuffer_new());
	assert_true((fd = socket(AF_INET, SOCK_STREAM, 0)) != -1);
	if (rcvbuf > 0)
		assert_int_equal(setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
		                     sizeof(rcvbuf)),
		    0);
	assert_int_equal(evutil_make_socket_nonblocking(fd), 0);
	assert_non_null(c->bev = bufferevent_socket_new(w->base, fd,
	                    BEV_OPT_CLOSE_ON_FREE));
	bufferevent_setcb(c->bev, cclient_read_cb, NULL, cclient_event_cb, c);
	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	sin.sin_port = htons((uint16_t)w->port);
	assert_int_equal(bufferevent_socket_connect(c->bev,
	                     (struct sockaddr *)&sin, sizeof(sin)),
	    0);
	bufferevent_enable(c->bev, EV_READ | EV_WRITE);
}

/* cclient_send: queue `len` raw bytes (sent as the loop turns). */
static inline void
cclient_send(struct cclient *c, const void *data, size_t len)
{
	assert_int_equal(bufferevent_write(c->bev, data, len), 0);
}

static inline void
cclient_sends(struct cclient *c, const char *text)
{
	cclient_send(c, text, strlen(text));
}

static inline void
cresp_clear(struct cresp *r)
{
	free(r->head);
	free(r->body);
	json_decref(r->json);
	memset(r, 0, sizeof(*r));
}

/* cclient_close: close the connection (what is queued unsent is lost). */
static inline void
cclient_close(struct cclient *c)
{
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	c->bev = NULL;
	if (c->in != NULL)
		evbuffer_free(c->in);
	c->in = NULL;
	cresp_clear(&c->part);
}

static inline bool
cclient_eof(void *arg)
{
	return ((struct cclient *)arg)->eof;
}

/*
 * cresp_header: the value of header `name` of `r` (the first of that
 * name, case aside) into `buf`, or NULL when there is none.
 */
static inline const char *
cresp_header(const struct cresp *r, const char *name, char *buf, size_t len)
{
	size_t n = strlen(name);

	for (const char *p = strstr(r->head, "\r\n"); p != NULL && p[2] != '\r';
	     p = strstr(p + 2, "\r\n")) {
		const char *line = p + 2, *end = strstr(line, "\r\n");
		if (strncasecmp(line, name, n) != 0 || line[n] != ':')
			continue;
		line += n + 1;
		while (*line == ' ')
			line++;
		snprintf(buf, len, "%.*s", (int)(end - line), line);
		return buf;
	}
	return NULL;
}

/* cresp_body_add: up to r->left bytes of the body from `in`. */
static inline void
cresp_body_add(struct evbuffer *in, struct cresp *r)
{
	size_t n = evbuffer_get_length(in);

	if (n > r->left)
		n = r->left;
	if (r->len + n + 1 > r->cap) {
		/* Doubled: a body of megabytes arrives in small reads. */
		while (r->len + n + 1 > r->cap)
			r->cap = r->cap > 0 ? 2 * r->cap : 4096;
		assert_non_null(r->body = realloc(r->body, r->cap));
	}
	assert_int_equal(evbuffer_remove(in, r->body + r->len, n), n);
	r->len += n;
	r->body[r->len] = '\0';
	r->left -= n;
}

/* cresp_head: the head at the start of `in` (`hlen` bytes) into `r`. */
static inline void
cresp_head(struct evbuffer *in, size_t hlen, struct cresp *r)
{
	char val[64];

	assert_non_null(r->head = malloc(hlen + 1));
	assert_int_equal(evbuffer_remove(in, r->head, hlen), hlen);
	r->head[hlen] = '\0';
	assert_int_equal(sscanf(r->head, "HTTP/1.%*d %d ", &r->status), 1);
	assert_non_null(r->body = strdup(""));
	r->cap = 1;
	r->chunked = cresp_header(r, "Transfer-Encoding", val, sizeof(val)) !=
	        NULL &&
	    strcasecmp(val, "chunked") == 0;
	if (r->chunked) {
		r->state = CRESP_CHUNK_SIZE;
		return;
	}
	assert_non_null(cresp_header(r, "Content-Length", val, sizeof(val)));
	r->left = strtoul(val, NULL, 10);
	r->state = CRESP_LENGTH;
}

/* cresp_crlf: the CRLF that ends a chunk; false while it is not in. */
static inline bool
cresp_crlf(struct evbuffer *in)
{
	char crlf[2];

	if (evbuffer_get_length(in) < 2)
		return false;
	evbuffer_remove(in, crlf, 2);
	assert_memory_equal(crlf, "\r\n", 2);
	return true;
}

/*
 * cresp_feed: read on in the answer `r` (zeroed for a new one) from
 * what `in` holds, taking the bytes it reads (so that a long answer is
 * read once, as it arrives).  Returns true once it is whole (and its
 * body parsed as JSON when it is).
 */
static inline bool
cresp_feed(struct evbuffer *in, struct cresp *r)
{
	struct evbuffer_ptr end;
	unsigned long size;
	char *line, *stop;

	for (;;) {
		switch (r->state) {
		case CRESP_HEAD:
			end = evbuffer_search(in, "\r\n\r\n", 4, NULL);
			if (end.pos == -1)
				return false;
			cresp_head(in, (size_t)end.pos + 4, r);
			break;
		case CRESP_LENGTH:
		case CRESP_CHUNK_DATA:
			cresp_body_add(in, r);
			if (r->left > 0)
				return false;
			r->state = r->state == CRESP_LENGTH ? CRESP_DONE :
			                                      CRESP_CHUNK_END;
			break;
		case CRESP_CHUNK_SIZE:
			if ((line = evbuffer_readln(in, NULL,
			         EVBUFFER_EOL_CRLF_STRICT)) == NULL)
				return false;
			size = strtoul(line, &stop, 16);
			assert_true(*stop == '\0' && stop > line);
			free(line);
			r->left = size;
			r->state = size > 0 ? CRESP_CHUNK_DATA : CRESP_LAST_END;
			break;
		case CRESP_CHUNK_END:
		case CRESP_LAST_END:
			if (!cresp_crlf(in))
				return false;
			r->state = r->state == CRESP_CHUNK_END ?
			    CRESP_CHUNK_SIZE :
			    CRESP_DONE;
			break;
		case CRESP_DONE:
			r->json = json_loadb(r->body, r->len, 0, NULL);
			return true;
		}
	}
}

/* cclient_take: the next whole answer the client has read into `r`
 * (true), or false while it is not all there. */
static inline bool
cclient_take(struct cclient *c, struct cresp *r)
{
	if (!cresp_feed(c->in, &c->part))
		return false;
	*r = c->part;
	memset(&c->part, 0, sizeof(c->part));
	return true;
}

struct cclient_wait {
	struct cclient *c;
	struct cresp *r;
	bool taken;
};

static inline bool
cclient_answered(void *arg)
{
	struct cclient_wait *cw = arg;

	cw->taken = cclient_take(cw->c, cw->r);
	return cw->taken || cw->c->eof;
}

/* cclient_answer: turn the loop until the next whole answer is in `r`
 * (true), or the connection closed or CFIX_WAIT_MS passed without one
 * (false). */
static inline bool
cclient_answer(struct cclient *c, struct cresp *r)
{
	struct cclient_wait cw = { c, r, false };

	cfix_run_until(c->w, cclient_answered, &cw, CFIX_WAIT_MS);
	if (!cw.taken && c->eof)
		cw.taken = cclient_take(c, r);
	return cw.taken;
}

/* cfix_exchange: one request on a connection of its own, its answer in
 * `r` (cleared first); returns the status. */
static inline int
cfix_exchange(struct cfix *w, const char *request, size_t len, struct cresp *r)
{
	struct cclient c;

	cclient_open(w, &c, 0);
	cclient_send(&c, request, len);
	assert_true(cclient_answer(&c, r));
	cclient_close(&c);
	return r->status;
}

/* cfix_get: GET `path` with `auth` as the Authorization (NULL: none). */
static inline int
cfix_get(struct cfix *w, const char *path, const char *auth, struct cresp *r)
{
	char *req;
	int status;

	assert_true(
	    asprintf(&req,
	        "GET %s HTTP/1.1\r\nHost: t\r\n%s%s%s"
	        "\r\n",
	        path, auth != NULL ? "Authorization: " : "",
	        auth != NULL ? auth : "", auth != NULL ? "\r\n" : "") > 0);
	status = cfix_exchange(w, req, strlen(req), r);
	free(req);
	return status;
}

/* The JSON error of `r`: {"error": `error`, "detail": a string}; the
 * detail. */
static inline const char *
cresp_error(const struct cresp *r, const char *error)
{
	const char *detail;

	assert_non_null(r->json);
	assert_string_equal(json_string_value(
	                        json_object_get(r->json, "error")),
	    error);
	assert_non_null(
	    detail = json_string_value(json_object_get(r->json, "detail")));
	return detail;
}

/* `r` is the JSON error `error` whose detail starts with `prefix`. */
static inline void
cresp_error_starts(const struct cresp *r, const char *error, const char *prefix)
{
	const char *detail = cresp_error(r, error);

	if (strncmp(detail, prefix, strlen(prefix)) != 0)
		fail_msg("detail \"%s\", expected to start with \"%s\"", detail,
		    prefix);
}

#endif /* CW_TEST_COLLECTOR_FIXTURE_H */
