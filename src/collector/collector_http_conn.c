/*
 * collector_http_conn.c -- the collector's HTTP connections, from accept
 * to close, and what the service refuses before evhttp reads a body:
 * the cap on connections and per client address, the head timeout, the
 * memory all bodies may take, and a body neither an enrollment's nor
 * signed by an enrolled, unrevoked probe.
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

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "collector_head.h"
#include "collector_http.h"
#include "collector_http_int.h"
#include "ingest.h"
#include "log.h"
#include "result.h"

/* --- Connections --- */

/* chttp_listeners_update: accept while under the cap, or a little over
 * it while connections in their head can be dropped (chttp_evict), and
 * not stopping. */
void
chttp_listeners_update(struct collector_http *h)
{
	unsigned over = h->nheads < CHTTP_OVER_CAP ? h->nheads : CHTTP_OVER_CAP;
	bool accept = !h->stopping &&
	    h->nconns < h->conf.max_connections + over;

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
		          "until one closes",
		    h->nconns);
	}
}

static void chttp_peer_put(struct collector_http *h, struct chttp_peer *p);

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
void
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
	evhttp_connection_free(c->evcon); /* frees c */
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
	evhttp_connection_free(c->evcon); /* frees c */
}

/* --- Refusing before evhttp reads --- */

/* chttp_linger_end: close a refused connection for good. */
void
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
		if (n == -1 &&
		    (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
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
void
chttp_close_run(evutil_socket_t fd, short what, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_conn *c;
	int dup;

	(void)fd;
	(void)what;
	while ((c = TAILQ_FIRST(&h->closing)) != NULL) {
		dup = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC, 0);
		evhttp_connection_free(c->evcon); /* frees c */
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
	n = snprintf(head, sizeof(head),
	    "HTTP/1.1 %d %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: %zu\r\n"
	    "Connection: close\r\n%s%s%s\r\n",
	    code, chttp_status_text(code), len, retry,
	    code == 401 ? "WWW-Authenticate: " BATCH_AUTH_SCHEME "\r\n" : "",
	    code == 405 ? "Allow: GET, HEAD, POST\r\n" : "");
	if (line != NULL && n > 0 && (size_t)n < sizeof(head)) {
		struct iovec iov[2] = {
			{ head, (size_t)n },
			{ line, len },
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

	if (hd->auth_long ||
	    batch_auth_parse(hd->auth[0] != '\0' ? hd->auth : NULL, probe, sig,
	        err, sizeof(err)) == -1) {
		chttp_refuse(c, CHTTP_R_AUTH, 401, "%s",
		    hd->auth_long ? "the Authorization header is too long" :
		                    err);
		return -1;
	}
	if (!chttp_db_usable(h)) {
		chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503,
		    "the database is "
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
		size_t max = hd.enroll ? CHTTP_ENROLL_MAX :
		    hd.write           ? COLLECTOR_HTTP_WRITE_MAX :
		                         h->conf.max_body;
		if (hd.length > max) {
			chttp_refuse(c, CHTTP_R_TOO_LARGE, 413,
			    "Content-Length "
			    "%llu is over the limit of %zu bytes",
			    (unsigned long long)hd.length, max);
			return;
		}
		if (hd.write && !chttp_bearer_ok(h->write_token, hd.auth)) {
			/* Not a batch: no batch metric. */
			chttp_refuse(c, -1, 401,
			    "this endpoint needs "
			    "Authorization: Bearer <write token>");
			return;
		}
		if (!hd.enroll && !hd.write && chttp_vouch_auth(c, &hd) == -1)
			return;
		if (h->body_bytes + hd.length > h->conf.body_budget) {
			chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503,
			    "too many "
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
			chttp_refuse(c, CHTTP_R_UNAVAILABLE, 503,
			    "try again "
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
		chttp_refuse(c, CHTTP_R_MALFORMED, 431,
		    "the request head is "
		    "over %zu bytes",
		    max);
	return n;
}

/* chttp_conn_scan: follow the requests in `in` from `off` to its end:
 * heads are read and decided on, bodies counted down; once a request is
 * evhttp's, the bytes after it wait until it is answered. */
static void
chttp_conn_scan(struct chttp_conn *c, struct evbuffer *in, size_t off)
{
	size_t len = evbuffer_get_length(in), n;

	while (
	    off < len && (c->phase == CHTTP_HEAD || c->phase == CHTTP_BODY)) {
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
void
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

/* An answer streamed in chunks ends with a small one (the last chunk
 * of a summary, "0\r\n\r\n"): sent at once, not held by Nagle's
 * algorithm until the client's delayed ACK of the chunk before, which
 * added up to 40 ms to an answer (doc/performance.md).  Not TCP (a unix
 * socket): nothing to do. */
static void
chttp_conn_nodelay(evutil_socket_t fd)
{
	int one = 1;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
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
		return -1; /* evhttp freed it: closed already */
	evcon = cbarg;
	if (evhttp_connection_get_bufferevent(evcon) != c->bev) {
		log_warnx(
		    "collector: this libevent does not pass its "
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
	if (c->deadline == NULL || c->head_timer == NULL || c->in_cb == NULL ||
	    c->out_cb == NULL || c->fd < 0 || chttp_byfd_set(h, c) == -1) {
		log_warnx("collector: cannot watch a connection");
		evhttp_connection_free(evcon); /* frees c */
		return 0;
	}
	if (h->conf.request_timeout == 0) {
		event_free(c->deadline);
		c->deadline = NULL;
	}
	chttp_conn_nodelay(c->fd);
	if ((c->peer = chttp_peer_get(h, c->fd)) != NULL &&
	    ++c->peer->count > h->conf.max_per_address) {
		log_debug(
		    "collector: a client address is at "
		    "max_connections_per_address; closing its new connection");
		evhttp_connection_free(evcon); /* frees c */
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
		evhttp_connection_free(c->evcon); /* frees c */
}

/* chttp_adopt: the end of the turn in which connections were
 * accepted. */
void
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
		bufferevent_decref(bev); /* evhttp keeps its own */
	}
	chttp_evict(h);
}

/* chttp_bevcb: evhttp asks for the bufferevent of a new connection. */
struct bufferevent *
chttp_bevcb(struct event_base *base, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_conn *c;
	struct bufferevent *bev;

	if ((c = calloc(1, sizeof(*c))) == NULL)
		return NULL; /* evhttp makes one: not counted */
	if ((bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE)) ==
	    NULL) {
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
