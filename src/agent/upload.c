/*
 * upload.c -- the probe's uploader (upload.h): libcurl's multi socket
 * API driven by libevent, one batch in flight at a time.
 *
 * The uploader is a small state machine:
 *   FORMING	records are read from the spool into the batch as they
 *		come (upload_kick) until it is due (count, bytes, age);
 *   SENDING	the sealed batch (synced, signed, gzipped) is in flight;
 *   WAITING	it failed everywhere: a backoff, then it is sent again.
 * The batch stays sealed across retries: the same bytes and signature
 * go to every URL until one acknowledges them or refuses them.
 *
 * libcurl runs on the loop through src/agent/curlev.c, which reports the
 * finished request to upload_curl_done().
 */
#include "config.h"

#include <sys/types.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "curlev.h"
#include "fileio.h"
#include "gzip.h"
#include "log.h"
#include "receipts.h"
#include "result.h"
#include "spool.h"
#include "upload.h"

#define UPLOAD_RESPONSE_MAX    (64 * 1024) /* bytes of an answer kept */
#define UPLOAD_GZIP_LEVEL      6
#define UPLOAD_CONNECT_TIMEOUT (30 * CW_USEC_PER_SEC)
#define UPLOAD_LOW_SPEED_TIME  60L             /* s under 1 byte/s: give up */
#define UPLOAD_RETRY_AFTER_MAX (366 * 86400LL) /* s */
#define UPLOAD_HEADER_MAX      256

enum upload_state {
	UPLOAD_S_FORMING,
	UPLOAD_S_SENDING,
	UPLOAD_S_WAITING,
};

/* The batch being formed, then sent. */
struct upload_batch {
	struct evbuffer *body; /* record lines, uncompressed */
	size_t n;
	uint64_t first, last;
	cw_usec_t started; /* monotonic: its first record read */
	bool sealed;
	char chain[RECORD_ID_HEX + 1];
	unsigned char *gz;
	size_t gzlen;
	char sig[RECORD_SIG_B64 + 1];
};

struct upload {
	struct event_base *base;
	struct spool *sp;
	struct upload_config cfg;     /* strings point below */
	char *urls[UPLOAD_URLS_MAX];  /* base URLs */
	char *posts[UPLOAD_URLS_MAX]; /* + API path */
	struct upload_path paths[UPLOAD_URLS_MAX];
	char *proxy;
	char *probe;
	char *dead_letter;
	char *dead_dir;
	char *receipts; /* NULL: none kept */
	unsigned char sk[64];

	struct curlev *cv;
	CURL *easy; /* the request in flight */
	struct curl_slist *headers;
	struct evbuffer *resp;
	struct evbuffer *scratch; /* what spool_read gives */
	char retry_after[UPLOAD_HEADER_MAX];
	char errbuf[CURL_ERROR_SIZE];
	struct event *kick_ev, *wait_ev;
	cw_usec_t wait_until;    /* monotonic: not before */
	struct event *drain_ev;  /* the bound of a drain */
	void (*drained)(void *); /* NULL: none */
	void *drained_arg;

	enum upload_state state;
	struct upload_batch b;
	size_t max_records; /* halved by a 413 */
	uint64_t read_seq;  /* last seq in the batch */
	uint64_t acked;     /* the cursor */
	bool more;          /* the spool has more */
	cw_usec_t oldest;   /* real time of the oldest
			     * unacknowledged record */
	bool read_failing;

	size_t cur;            /* URL in use */
	unsigned tried;        /* URLs tried this round */
	unsigned rounds;       /* rounds failed in a row */
	cw_usec_t round_retry; /* largest Retry-After */
	cw_usec_t failed_over; /* monotonic; 0: on the first */

	cw_usec_t failing_since;
	cw_usec_t last_receipt;
	unsigned failures;
	uint64_t dead_letters;
};

static void upload_step(struct upload *up);
static void upload_send(struct upload *up);
static void upload_wait(struct upload *up, cw_usec_t usec);

/* --- the arithmetic --- */

cw_usec_t
upload_backoff_ceiling(unsigned failures, cw_usec_t base, cw_usec_t cap)
{
	cw_usec_t c = base;

	if (failures == 0 || base <= 0 || cap <= 0)
		return 0;
	for (unsigned i = 1; i < failures && c < cap; i++)
		c = c > cap / 2 ? cap : c * 2;
	return c < cap ? c : cap;
}

cw_usec_t
upload_backoff(unsigned failures, cw_usec_t base, cw_usec_t cap)
{
	cw_usec_t c = upload_backoff_ceiling(failures, base, cap);
	cw_usec_t ms = c / CW_USEC_PER_MSEC;

	/* Milliseconds are fine enough and keep the bound in 32 bits. */
	if (ms <= 0)
		return 0;
	if (ms >= (cw_usec_t)UINT32_MAX)
		ms = UINT32_MAX - 1;
	return (cw_usec_t)randombytes_uniform((uint32_t)ms + 1) *
	    CW_USEC_PER_MSEC;
}

int
upload_retry_after_parse(const char *value, cw_usec_t now, cw_usec_t *delay)
{
	const char *p = value;
	long long secs = 0;
	time_t t;

	if (p == NULL)
		return -1;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p >= '0' && *p <= '9') {
		for (; *p >= '0' && *p <= '9'; p++)
			if ((secs = secs * 10 + (*p - '0')) >
			    UPLOAD_RETRY_AFTER_MAX)
				secs = UPLOAD_RETRY_AFTER_MAX;
		while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
			p++;
		if (*p != '\0')
			return -1;
		*delay = secs * CW_USEC_PER_SEC;
		return 0;
	}
	if (*p == '\0' || (t = curl_getdate(p, NULL)) == -1)
		return -1;
	if ((long long)t > now / CW_USEC_PER_SEC + UPLOAD_RETRY_AFTER_MAX)
		*delay = UPLOAD_RETRY_AFTER_MAX * CW_USEC_PER_SEC;
	else if ((cw_usec_t)t * CW_USEC_PER_SEC <= now)
		*delay = 0;
	else
		*delay = (cw_usec_t)t * CW_USEC_PER_SEC - now;
	return 0;
}

enum upload_verdict
upload_status_class(long code, size_t nrecords)
{
	switch (code) {
	case 200:
		return UPLOAD_ACKED;
	case 413:
		return nrecords > 1 ? UPLOAD_SPLIT : UPLOAD_DEAD;
	case 400:
	case 401:
	case 403:
	case 409:
		return UPLOAD_DEAD;
	default:
		/* No answer, 429, 5xx; and what no collector says (a 404
		 * or a proxy's 407 is a path or a proxy set up wrong, not
		 * a bad batch): try again later. */
		return UPLOAD_RETRY;
	}
}

cw_usec_t
upload_batch_due(size_t n, size_t bytes, bool more, cw_usec_t age,
    size_t max_records, size_t max_bytes, cw_usec_t max_age)
{
	if (n == 0)
		return -1;
	if (n >= max_records || bytes >= max_bytes || more || age >= max_age)
		return 0;
	return max_age - age;
}

/* --- status --- */

void
upload_get_status(const struct upload *up, struct upload_status *st)
{
	memset(st, 0, sizeof(*st));
	st->failing_since = up->failing_since;
	st->last_receipt = up->last_receipt;
	st->consecutive_failures = up->failures;
	st->acked_seq = up->acked;
	st->dead_letters = up->dead_letters;
	st->in_flight = up->state == UPLOAD_S_SENDING;
	st->proxy = up->proxy;
	st->paths = up->paths;
	st->npaths = up->cfg.nurls;
}

/* upload_time_json: a real time as a string, 0 as null. */
static json_t *
upload_time_json(cw_usec_t t)
{
	char buf[CW_TIME_STRLEN];

	if (t == 0)
		return json_null();
	return json_string(cw_time_format(t, buf, sizeof(buf)));
}

json_t *
upload_status_json(const struct upload *up)
{
	json_t *o, *paths;

	if ((paths = json_array()) == NULL)
		return NULL;
	for (size_t i = 0; i < up->cfg.nurls; i++) {
		const struct upload_path *p = &up->paths[i];
		if (json_array_append_new(paths,
		        json_pack("{s:s, s:s?, s:I, "
		                  "s:I, s:I, s:I}",
		            "url", p->url, "proxy", up->proxy, "sent",
		            (json_int_t)p->sent, "records",
		            (json_int_t)p->records, "failed",
		            (json_int_t)p->failed, "refused",
		            (json_int_t)p->refused)) == -1) {
			json_decref(paths);
			return NULL;
		}
	}
	o = json_pack("{s:o, s:o, s:I, s:I, s:I, s:o}", "failing_since",
	    upload_time_json(up->failing_since), "last_receipt",
	    upload_time_json(up->last_receipt), "consecutive_failures",
	    (json_int_t)up->failures, "acked_seq", (json_int_t)up->acked,
	    "dead_letters", (json_int_t)up->dead_letters, "paths", paths);
	return o;
}

bool
upload_idle(const struct upload *up)
{
	struct spool_status st;

	if (up->state != UPLOAD_S_FORMING || up->b.n > 0)
		return false;
	spool_get_status(up->sp, &st);
	return st.last_seq <= up->acked;
}

/* upload_drain_end: the drain is over (`all`: every record
 * acknowledged): tell its owner, once. */
static void
upload_drain_end(struct upload *up, bool all)
{
	void (*done)(void *) = up->drained;
	struct spool_status st;

	if (done == NULL)
		return;
	up->drained = NULL;
	evtimer_del(up->drain_ev);
	spool_get_status(up->sp, &st);
	if (all)
		log_info("upload: every record acknowledged (seq %" PRIu64 ")",
		    st.last_seq);
	else
		log_warnx("upload: %" PRIu64 " record%s not acknowledged "
		          "within %.3f s stay in the spool for the next start",
		    st.last_seq - up->acked,
		    st.last_seq - up->acked == 1 ? "" : "s",
		    (double)up->cfg.stop_timeout / 1e6);
	done(up->drained_arg);
}

static void
upload_drain_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upload_drain_end(arg, false);
}

void
upload_drain(struct upload *up, void (*done)(void *), void *arg)
{
	struct spool_status st;
	struct timeval tv;

	spool_get_status(up->sp, &st);
	up->drained = done;
	up->drained_arg = arg;
	cw_usec_to_timeval(up->cfg.stop_timeout, &tv);
	evtimer_add(up->drain_ev, &tv);
	log_info("upload: stopping: sending the %" PRIu64 " record%s not "
	         "acknowledged yet, for %.3f s at most",
	    st.last_seq - up->acked, st.last_seq - up->acked == 1 ? "" : "s",
	    (double)up->cfg.stop_timeout / 1e6);
	/* A batch forming goes now; one waiting for a retry goes again. */
	if (up->state == UPLOAD_S_FORMING)
		event_active(up->kick_ev, EV_TIMEOUT, 1);
	else if (up->state == UPLOAD_S_WAITING)
		upload_wait(up, 0);
}

/* --- the batch --- */

/* upload_batch_reset: an empty batch (the body's buffer is kept). */
static void
upload_batch_reset(struct upload_batch *b)
{
	evbuffer_drain(b->body, evbuffer_get_length(b->body));
	free(b->gz);
	b->gz = NULL;
	b->gzlen = 0;
	b->n = 0;
	b->first = b->last = 0;
	b->sealed = false;
	b->started = 0;
	b->chain[0] = '\0';
	b->sig[0] = '\0';
}

/* upload_wait: run upload_step (or, WAITING, upload_send) in `usec`. */
static void
upload_wait(struct upload *up, cw_usec_t usec)
{
	struct timeval tv;

	if (usec < 0)
		usec = 0;
	up->wait_until = cw_mono_usec() + usec;
	cw_usec_to_timeval(usec, &tv);
	evtimer_add(up->wait_ev, &tv);
}

/* upload_later: try again after a local failure (the spool, memory):
 * not a network failure, so no backoff round. */
static void
upload_later(struct upload *up)
{
	cw_usec_t d = up->cfg.backoff_min * 10;

	upload_wait(up, d < up->cfg.backoff_max ? d : up->cfg.backoff_max);
}

/* upload_fill: read what fits of the spool into the batch.  Returns 0
 * or -1 (the spool could not be read). */
static int
upload_fill(struct upload *up)
{
	struct upload_batch *b = &up->b;
	struct spool_status st;
	size_t len = evbuffer_get_length(b->body);
	uint64_t first = 0, last = 0;
	int n = 0;

	if (b->n < up->max_records && len < up->cfg.batch_bytes) {
		/* Read aside: a failed read may have left some lines. */
		n = spool_read(up->sp, up->read_seq, up->max_records - b->n,
		    up->cfg.batch_bytes - len, up->scratch, &first, &last);
		if (n < 0 || evbuffer_add_buffer(b->body, up->scratch) == -1) {
			evbuffer_drain(up->scratch,
			    evbuffer_get_length(up->scratch));
			return -1;
		}
	}
	if (n > 0) {
		if (b->n == 0) {
			b->first = first;
			b->started = cw_mono_usec();
		}
		b->last = last;
		b->n += (size_t)n;
		up->read_seq = last;
	}
	spool_get_status(up->sp, &st);
	up->more = st.last_seq > up->read_seq;
	up->oldest = st.oldest_unsent;
	return 0;
}

/* upload_seal: sync the spool, sign and gzip the batch.  0 or -1. */
static int
upload_seal(struct upload *up)
{
	struct upload_batch *b = &up->b;
	struct spool_status st;
	size_t len = evbuffer_get_length(b->body);
	const unsigned char *body = evbuffer_pullup(b->body, -1);

	if (spool_sync(up->sp) == -1) {
		log_warnx("upload: the spool cannot be synced; the batch "
		          "waits");
		return -1;
	}
	if (body == NULL && len > 0)
		return -1;
	spool_get_status(up->sp, &st);
	memcpy(b->chain, st.chain, sizeof(b->chain));
	batch_sign(up->sk, up->probe, body, len, b->sig);
	if (gzip_deflate(body, len, UPLOAD_GZIP_LEVEL, &b->gz, &b->gzlen) !=
	    GZIP_OK) {
		log_warnx("upload: out of memory compressing %zu bytes", len);
		return -1;
	}
	b->sealed = true;
	log_debug("upload: batch of seqs %" PRIu64 "-%" PRIu64 " (%zu "
	          "records, %zu bytes, %zu gzipped)",
	    b->first, b->last, b->n, len, b->gzlen);
	return 0;
}

/* upload_step: form the batch; send it when it is due. */
static void
upload_step(struct upload *up)
{
	struct upload_batch *b = &up->b;
	cw_usec_t due, age;

	if (up->state != UPLOAD_S_FORMING)
		return;
	if (upload_fill(up) == -1) {
		if (!up->read_failing)
			log_warnx("upload: the spool cannot be read; trying "
			          "again later");
		up->read_failing = true;
		upload_later(up);
		return;
	}
	up->read_failing = false;
	/* Records found in the spool at start may be older than the
	 * moment they were read: the spool knows when they came. */
	age = cw_mono_usec() - b->started;
	if (up->oldest > 0 && cw_real_usec() - up->oldest > age)
		age = cw_real_usec() - up->oldest;
	due = upload_batch_due(b->n, evbuffer_get_length(b->body), up->more,
	    age, up->max_records, up->cfg.batch_bytes, up->cfg.batch_age);
	if (due > 0 && up->drained != NULL)
		due = 0;
	if (due < 0 && up->drained != NULL && upload_idle(up)) {
		upload_drain_end(up, true);
		return;
	}
	if (due < 0) {
		if (up->more) {
			/* Nothing read, yet more there: cannot happen with
			 * batch_bytes above a record's limit; do not spin. */
			log_warnx(
			    "upload: the spool holds records after %" PRIu64
			    " that cannot be read",
			    up->read_seq);
			upload_wait(up, up->cfg.backoff_max);
		}
		return;
	}
	if (due > 0) {
		upload_wait(up, due);
		return;
	}
	evtimer_del(up->wait_ev);
	if (upload_seal(up) == -1) {
		free(b->gz);
		b->gz = NULL;
		upload_later(up);
		return;
	}
	up->state = UPLOAD_S_WAITING;
	upload_send(up);
}

/* --- sending --- */

/* upload_write_cb: CURLOPT_WRITEFUNCTION: keep the start of the body. */
static size_t
upload_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upload *up = arg;
	size_t len = size * nmemb, have = evbuffer_get_length(up->resp);

	if (have < UPLOAD_RESPONSE_MAX)
		evbuffer_add(up->resp, data,
		    len < UPLOAD_RESPONSE_MAX - have ?
		        len :
		        UPLOAD_RESPONSE_MAX - have);
	return len;
}

/* upload_header_cb: CURLOPT_HEADERFUNCTION: Retry-After of the final
 * answer (a status line starts a new answer). */
static size_t
upload_header_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct upload *up = arg;
	size_t len = size * nmemb, n;
	const char *v;

	if (len >= 5 && strncasecmp(data, "HTTP/", 5) == 0)
		up->retry_after[0] = '\0';
	else if (len > 12 && strncasecmp(data, "Retry-After:", 12) == 0) {
		v = data + 12;
		n = len - 12;
		while (n > 0 && (v[n - 1] == '\r' || v[n - 1] == '\n'))
			n--;
		if (n >= sizeof(up->retry_after))
			n = sizeof(up->retry_after) - 1;
		memcpy(up->retry_after, v, n);
		up->retry_after[n] = '\0';
	}
	return len;
}

/* upload_request_free: forget the request in flight. */
static void
upload_request_free(struct upload *up)
{
	if (up->easy != NULL) {
		curlev_remove(up->cv, up->easy);
		curl_easy_cleanup(up->easy);
		up->easy = NULL;
	}
	curl_slist_free_all(up->headers);
	up->headers = NULL;
	if (up->resp != NULL)
		evbuffer_drain(up->resp, evbuffer_get_length(up->resp));
	up->retry_after[0] = '\0';
	up->errbuf[0] = '\0';
}

/* upload_headers: the batch's request headers. */
static struct curl_slist *
upload_headers(struct upload *up)
{
	struct curl_slist *h = NULL, *t;
	char auth[64 + RECORD_ID_HEX + RECORD_SIG_B64];
	static const char *const fixed[] = {
		"Content-Type: application/x-ndjson", "Content-Encoding: gzip",
		"Expect:", /* no 100-continue round trip */
	};

	snprintf(auth, sizeof(auth), "Authorization: %s probe=%s,sig=%s",
	    BATCH_AUTH_SCHEME, up->probe, up->b.sig);
	if ((h = curl_slist_append(NULL, auth)) == NULL)
		return NULL;
	for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
		if ((t = curl_slist_append(h, fixed[i])) == NULL) {
			curl_slist_free_all(h);
			return NULL;
		}
		h = t;
	}
	return h;
}

/* upload_easy: a request posting the sealed batch to URL `cur`. */
static CURL *
upload_easy(struct upload *up)
{
	CURL *e;
	bool ok;

	if ((e = curl_easy_init()) == NULL)
		return NULL;
	ok = curl_easy_setopt(e, CURLOPT_URL, up->posts[up->cur]) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PROXY,
	        up->proxy != NULL ? up->proxy : "") == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_POST, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_POSTFIELDS, up->b.gz) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
	        (curl_off_t)up->b.gzlen) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, up->headers) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
	        PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, upload_write_cb) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, up) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, upload_header_cb) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, up) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, up->errbuf) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
	        (long)(UPLOAD_CONNECT_TIMEOUT / CW_USEC_PER_MSEC)) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
	        (long)(up->cfg.timeout / CW_USEC_PER_MSEC)) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME,
	        UPLOAD_LOW_SPEED_TIME) == CURLE_OK;
	if (!ok) {
		curl_easy_cleanup(e);
		return NULL;
	}
	return e;
}

/* upload_send: post the sealed batch to the URL in use. */
static void
upload_send(struct upload *up)
{
	cw_usec_t now = cw_mono_usec();

	if (up->cur != 0 && up->tried == 0 &&
	    now - up->failed_over >= up->cfg.failback) {
		log_info("upload: back to %s after %lld s on %s", up->urls[0],
		    (long long)((now - up->failed_over) / CW_USEC_PER_SEC),
		    up->urls[up->cur]);
		up->cur = 0;
		up->failed_over = 0;
	}
	if ((up->headers = upload_headers(up)) == NULL ||
	    (up->easy = upload_easy(up)) == NULL ||
	    curlev_add(up->cv, up->easy, up) == -1) {
		log_warnx("upload: cannot make a request; trying again later");
		upload_request_free(up);
		up->state = UPLOAD_S_WAITING;
		upload_later(up);
		return;
	}
	up->state = UPLOAD_S_SENDING;
}

/* --- answers --- */

/* upload_receipt_ok: whether `resp` is a receipt for the batch; its
 * received_at into *received (the probe's clock now when it has none
 * that parses), and the receipt itself into *receipt when it is one
 * (the caller decrefs it). */
static bool
upload_receipt_ok(struct upload *up, cw_usec_t *received, json_t **receipt,
    char *why, size_t len)
{
	size_t n = evbuffer_get_length(up->resp);
	const char *text = (const char *)evbuffer_pullup(up->resp, -1);
	const char *probe, *chain, *at;
	json_t *r, *acked;
	bool ok;

	r = json_loadb(text != NULL ? text : "", n, 0, NULL);
	if (r == NULL || !json_is_object(r)) {
		snprintf(why, len, "a 200 without a JSON receipt");
		json_decref(r);
		return false;
	}
	probe = json_string_value(json_object_get(r, "probe"));
	chain = json_string_value(json_object_get(r, "chain"));
	acked = json_object_get(r, "acked_seq");
	at = json_string_value(json_object_get(r, "received_at"));
	if (at == NULL || cw_time_parse(at, received) == -1 || *received <= 0)
		*received = cw_real_usec();
	ok = probe != NULL && strcmp(probe, up->probe) == 0 && chain != NULL &&
	    strcmp(chain, up->b.chain) == 0 && json_is_integer(acked) &&
	    (uint64_t)json_integer_value(acked) == up->b.last;
	if (!ok)
		snprintf(why, len,
		    "a receipt that does not name this batch "
		    "(probe %s, chain %s, acked_seq %" JSON_INTEGER_FORMAT ")",
		    probe != NULL ? probe : "?", chain != NULL ? chain : "?",
		    json_is_integer(acked) ? json_integer_value(acked) : -1);
	if (ok)
		*receipt = r;
	else
		json_decref(r);
	return ok;
}

/* upload_next_batch: the batch is done with: start the next one. */
static void
upload_next_batch(struct upload *up, uint64_t acked)
{
	up->acked = acked;
	up->read_seq = acked;
	upload_batch_reset(&up->b);
	up->state = UPLOAD_S_FORMING;
	event_active(up->kick_ev, EV_TIMEOUT, 1);
}

/* upload_succeeded: the collector acknowledged the batch with a
 * receipt of real time `received`. */
static void
upload_succeeded(struct upload *up, cw_usec_t received)
{
	struct upload_path *p = &up->paths[up->cur];
	cw_usec_t now = cw_real_usec();
	char since[CW_TIME_STRLEN];

	p->sent++;
	p->records += up->b.n;
	if (up->failures > 0)
		log_info("upload: %s acknowledged seqs %" PRIu64 "-%" PRIu64
		         " after %u failures since %s",
		    up->urls[up->cur], up->b.first, up->b.last, up->failures,
		    cw_time_format(up->failing_since, since, sizeof(since)));
	up->failures = 0;
	up->failing_since = 0;
	up->last_receipt = now;
	up->rounds = 0;
	up->tried = 0;
	up->round_retry = 0;
	if (spool_ack(up->sp, up->b.last, received) == -1)
		log_warnx(
		    "upload: the spool's cursor cannot be moved to %" PRIu64
		    "; the records may be sent again",
		    up->b.last);
	upload_next_batch(up, up->b.last);
}

/* upload_failed: the attempt failed (`why`): fail over to the next URL
 * at once, or, when every URL failed this round, back off. */
static void
upload_failed(struct upload *up, const char *why)
{
	cw_usec_t delay, ra = 0;
	char since[CW_TIME_STRLEN];

	up->paths[up->cur].failed++;
	if (up->failures++ == 0)
		up->failing_since = cw_real_usec();
	/* Loudly at first, then at 2, 4, 8 ... failures. */
	if ((up->failures & (up->failures - 1)) == 0)
		log_warnx("upload: %s: %s (%u failures since %s)",
		    up->urls[up->cur], why, up->failures,
		    cw_time_format(up->failing_since, since, sizeof(since)));
	else
		log_debug("upload: %s: %s", up->urls[up->cur], why);
	if (up->retry_after[0] != '\0' &&
	    upload_retry_after_parse(up->retry_after, cw_real_usec(), &ra) ==
	        0 &&
	    ra > up->round_retry)
		up->round_retry = ra;
	upload_request_free(up);
	up->state = UPLOAD_S_WAITING;
	if (++up->tried < up->cfg.nurls) {
		if (up->cur == 0)
			up->failed_over = cw_mono_usec();
		up->cur = (up->cur + 1) % up->cfg.nurls;
		upload_wait(up, 0);
		return;
	}
	up->rounds++;
	delay = upload_backoff(up->rounds, up->cfg.backoff_min,
	    up->cfg.backoff_max);
	if (up->round_retry > delay)
		delay = up->round_retry < up->cfg.backoff_max ?
		    up->round_retry :
		    up->cfg.backoff_max;
	log_debug("upload: every URL failed (round %u); next try in %.3f s",
	    up->rounds, (double)delay / 1e6);
	up->tried = 0;
	up->round_retry = 0;
	up->cur = 0;
	up->failed_over = 0;
	upload_wait(up, delay);
}

/* upload_dead_file: write the refused batch as a file `corewatch-collector
 * import` reads (doc/spool.md) into `path`.  0 or -1 (logged). */
static int
upload_dead_file(struct upload *up, const char *path)
{
	struct upload_batch *b = &up->b;
	size_t len = evbuffer_get_length(b->body);
	const unsigned char *body = evbuffer_pullup(b->body, -1);
	char head[128 + RECORD_ID_HEX + RECORD_SIG_B64];
	int fd, n;
	bool ok;

	n = snprintf(head, sizeof(head), "CW1-BATCH %s %s %zu\n", up->probe,
	    b->sig, len);
	/* The directory of the dead letters is made when first needed. */
	if (mkdir(up->dead_dir, 0700) == -1 && errno != EEXIST) {
		log_warn("upload: %s", up->dead_dir);
		return -1;
	}
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) ==
	    -1) {
		log_warn("upload: %s", path);
		return -1;
	}
	ok = fileio_write_all(fd, head, (size_t)n) == 0 &&
	    fileio_write_all(fd, body, len) == 0 && fsync(fd) == 0;
	if (!ok)
		log_warn("upload: writing %s", path);
	close(fd);
	return ok ? 0 : -1;
}

/* upload_dead_line: append the JSON line about a refused batch to the
 * dead-letter file.  0 or -1 (logged). */
static int
upload_dead_line(struct upload *up, long code, const char *file)
{
	struct upload_batch *b = &up->b;
	size_t n = evbuffer_get_length(up->resp);
	const char *text = (const char *)evbuffer_pullup(up->resp, -1);
	char when[CW_TIME_STRLEN];
	json_t *err, *o;
	char *line;
	int fd;
	bool ok;

	/* The collector's JSON error, or its text when it is not JSON. */
	if ((err = json_loadb(text != NULL ? text : "", n, 0, NULL)) == NULL &&
	    (err = json_stringn(text != NULL ? text : "", n)) == NULL)
		err = json_string("(not UTF-8)");
	o = json_pack("{s:s, s:I, s:s, s:o*, s:s, s:s, s:I, s:I, s:I, s:s}",
	    "time", cw_time_format(cw_real_usec(), when, sizeof(when)),
	    "status", (json_int_t)code, "url", up->urls[up->cur], "error", err,
	    "probe", up->probe, "chain", b->chain, "first_seq",
	    (json_int_t)b->first, "last_seq", (json_int_t)b->last, "records",
	    (json_int_t)b->n, "file", file);
	if (o == NULL || (line = result_dump(o)) == NULL) {
		json_decref(o);
		log_warnx("upload: out of memory");
		return -1;
	}
	json_decref(o);
	if ((fd = open(up->dead_letter,
	         O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) == -1) {
		log_warn("upload: %s", up->dead_letter);
		free(line);
		return -1;
	}
	n = strlen(line);
	line[n] = '\n'; /* replaces the NUL: not written */
	ok = fileio_write_all(fd, line, n + 1) == 0 && fsync(fd) == 0;
	if (!ok)
		log_warn("upload: writing %s", up->dead_letter);
	close(fd);
	free(line);
	return ok ? 0 : -1;
}

/* upload_printable: at most len-1 bytes of the answer, control bytes
 * and what is not ASCII shown as '?', trailing white space cut. */
static char *
upload_printable(struct upload *up, char *buf, size_t len)
{
	ev_ssize_t got = evbuffer_copyout(up->resp, buf, len - 1);
	size_t n = got > 0 ? (size_t)got : 0;

	while (n > 0 &&
	    (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	for (char *p = buf; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return buf;
}

/* upload_refused: the collector refused the batch for good: set it
 * aside and move on. */
static void
upload_refused(struct upload *up, long code)
{
	struct upload_batch *b = &up->b;
	char file[PATH_MAX], text[300];

	snprintf(file, sizeof(file), "%s/dead-%s-%" PRIu64 "-%" PRIu64 ".batch",
	    up->dead_dir, b->chain, b->first, b->last);
	if (upload_dead_file(up, file) == -1 ||
	    upload_dead_line(up, code, file) == -1) {
		upload_failed(up, "a refused batch cannot be set aside");
		return;
	}
	log_warnx(
	    "upload: DEAD LETTER: %s refused seqs %" PRIu64 "-%" PRIu64
	    " of chain %s with %ld: %s; the batch is set aside in %s (see "
	    "%s) and the queue moves on",
	    up->urls[up->cur], b->first, b->last, b->chain, code,
	    upload_printable(up, text, sizeof(text)), file, up->dead_letter);
	up->paths[up->cur].refused++;
	up->dead_letters++;
	up->tried = 0;
	up->rounds = 0;
	up->round_retry = 0;
	upload_request_free(up);
	if (spool_ack(up->sp, b->last, 0) == -1)
		log_warnx("upload: the spool's cursor cannot be moved past "
		          "the refused batch");
	upload_next_batch(up, b->last);
}

/* upload_split: 413 for several records: send them in halves. */
static void
upload_split(struct upload *up)
{
	up->max_records = up->b.n / 2 > 0 ? up->b.n / 2 : 1;
	log_warnx("upload: %s: a batch of %zu records is too large; batches "
	          "of at most %zu from now on",
	    up->urls[up->cur], up->b.n, up->max_records);
	upload_request_free(up);
	up->tried = 0;
	upload_next_batch(up, up->acked);
}

/* upload_done: the request finished with `res`. */
static void
upload_done(struct upload *up, CURLcode res)
{
	long code = 0;
	char why[256 + CURL_ERROR_SIZE];
	cw_usec_t received;
	json_t *receipt;

	if (res == CURLE_OK)
		curl_easy_getinfo(up->easy, CURLINFO_RESPONSE_CODE, &code);
	else {
		snprintf(why, sizeof(why), "%s%s%s", curl_easy_strerror(res),
		    up->errbuf[0] != '\0' ? ": " : "", up->errbuf);
		upload_failed(up, why);
		return;
	}
	switch (upload_status_class(code, up->b.n)) {
	case UPLOAD_ACKED:
		if (!upload_receipt_ok(up, &received, &receipt, why,
		        sizeof(why))) {
			upload_failed(up, why);
			return;
		}
		/* Kept for the volunteer's proof; a failure is logged and
		 * changes nothing of the upload. */
		if (up->receipts != NULL)
			receipts_keep(up->receipts, receipt,
			    up->cfg.receipts_max);
		json_decref(receipt);
		upload_request_free(up);
		upload_succeeded(up, received);
		break;
	case UPLOAD_SPLIT:
		upload_split(up);
		break;
	case UPLOAD_DEAD:
		upload_refused(up, code);
		break;
	case UPLOAD_RETRY:
		snprintf(why, sizeof(why), "HTTP %ld%s%s", code,
		    up->retry_after[0] != '\0' ? ", Retry-After:" : "",
		    up->retry_after);
		upload_failed(up, why);
		break;
	}
}

/* upload_curl_done: curlev's callback: the request in flight ended. */
static void
upload_curl_done(CURL *easy, CURLcode code, void *arg)
{
	struct upload *up = arg;

	if (easy == up->easy)
		upload_done(up, code);
}

/* --- events --- */

static void
upload_kick_event(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	upload_step(arg);
}

static void
upload_wait_event(evutil_socket_t fd, short what, void *arg)
{
	struct upload *up = arg;
	cw_usec_t now = cw_mono_usec();
	struct timeval tv;

	(void)fd;
	(void)what;
	/* libevent measures from the time it cached when the loop woke,
	 * which can be a few milliseconds before the wait was asked for:
	 * a collector's Retry-After is "not before", so wait out the rest. */
	if (now < up->wait_until) {
		cw_usec_to_timeval(up->wait_until - now, &tv);
		evtimer_add(up->wait_ev, &tv);
		return;
	}
	if (up->state == UPLOAD_S_WAITING)
		upload_send(up);
	else
		upload_step(up);
}

void
upload_kick(struct upload *up)
{
	if (up != NULL && up->state == UPLOAD_S_FORMING)
		event_active(up->kick_ev, EV_TIMEOUT, 1);
}

/* --- setup --- */

/* upload_dir_of: the directory part of `path` ("." when none). */
static char *
upload_dir_of(const char *path)
{
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return strdup(".");
	if (slash == path)
		return strdup("/");
	return strndup(path, (size_t)(slash - path));
}

/* upload_url_ok: an http:// or https:// URL; copies it without a final
 * slash into *base and with the API path into *post. */
static int
upload_url_copy(const char *url, char **base, char **post)
{
	size_t n = strlen(url);

	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0) {
		log_warnx("upload: \"%s\" is not an http:// or https:// URL",
		    url);
		return -1;
	}
	while (n > 8 && url[n - 1] == '/')
		n--;
	if ((*base = strndup(url, n)) == NULL ||
	    asprintf(post, "%s%s", *base, UPLOAD_API_PATH) == -1) {
		*post = NULL;
		return -1;
	}
	return 0;
}

/* upload_defaults: fill the zero members of up->cfg. */
static void
upload_defaults(struct upload_config *c)
{
	if (c->batch_records == 0)
		c->batch_records = UPLOAD_BATCH_RECORDS;
	if (c->batch_bytes == 0)
		c->batch_bytes = UPLOAD_BATCH_BYTES;
	if (c->batch_bytes < UPLOAD_BATCH_BYTES_MIN)
		c->batch_bytes = UPLOAD_BATCH_BYTES_MIN;
	if (c->batch_age == 0)
		c->batch_age = UPLOAD_BATCH_AGE;
	if (c->backoff_min == 0)
		c->backoff_min = UPLOAD_BACKOFF_MIN;
	if (c->backoff_max == 0)
		c->backoff_max = UPLOAD_BACKOFF_MAX;
	if (c->backoff_min > c->backoff_max)
		c->backoff_min = c->backoff_max;
	if (c->failback == 0)
		c->failback = UPLOAD_FAILBACK;
	if (c->timeout == 0)
		c->timeout = UPLOAD_TIMEOUT;
}

/* upload_copy: our own copies of the configuration's strings. */
static int
upload_copy(struct upload *up, const struct upload_config *cfg)
{
	up->cfg = *cfg;
	upload_defaults(&up->cfg);
	up->cfg.urls = NULL;
	for (size_t i = 0; i < cfg->nurls; i++) {
		if (upload_url_copy(cfg->urls[i], &up->urls[i],
		        &up->posts[i]) == -1)
			return -1;
		up->paths[i].url = up->urls[i];
	}
	if (cfg->proxy != NULL && cfg->proxy[0] != '\0' &&
	    (up->proxy = strdup(cfg->proxy)) == NULL)
		return -1;
	if ((up->probe = strdup(cfg->probe)) == NULL ||
	    (up->dead_letter = strdup(cfg->dead_letter)) == NULL ||
	    (up->dead_dir = upload_dir_of(cfg->dead_letter)) == NULL)
		return -1;
	if (cfg->receipts != NULL &&
	    (up->receipts = strdup(cfg->receipts)) == NULL)
		return -1;
	memcpy(up->sk, cfg->sk, sizeof(up->sk));
	up->cfg.proxy = up->proxy;
	up->cfg.probe = up->probe;
	up->cfg.dead_letter = up->dead_letter;
	up->cfg.receipts = up->receipts;
	up->cfg.sk = NULL;
	up->max_records = up->cfg.batch_records;
	return 0;
}

struct upload *
upload_new(struct event_base *base, struct spool *sp,
    const struct upload_config *cfg)
{
	struct upload *up;
	struct spool_status st;

	if (cfg->nurls == 0 || cfg->nurls > UPLOAD_URLS_MAX ||
	    cfg->probe == NULL || strlen(cfg->probe) != RECORD_ID_HEX ||
	    cfg->sk == NULL || cfg->dead_letter == NULL) {
		log_warnx("%s: 1 to %d URLs, the probe id, its key and a "
		          "dead-letter file are needed",
		    __func__, UPLOAD_URLS_MAX);
		return NULL;
	}
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: libcurl cannot be initialised", __func__);
		return NULL;
	}
	if ((up = calloc(1, sizeof(*up))) == NULL) {
		curl_global_cleanup();
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	up->base = base;
	up->sp = sp;
	if (upload_copy(up, cfg) == -1 ||
	    (up->cv = curlev_new(base, upload_curl_done)) == NULL ||
	    (up->resp = evbuffer_new()) == NULL ||
	    (up->scratch = evbuffer_new()) == NULL ||
	    (up->b.body = evbuffer_new()) == NULL ||
	    (up->kick_ev = event_new(base, -1, 0, upload_kick_event, up)) ==
	        NULL ||
	    (up->wait_ev = evtimer_new(base, upload_wait_event, up)) == NULL ||
	    (up->drain_ev = evtimer_new(base, upload_drain_event, up)) ==
	        NULL) {
		log_warnx("%s: cannot set up the uploader", __func__);
		upload_free(up);
		return NULL;
	}
	spool_get_status(sp, &st);
	up->acked = up->read_seq = st.acked_seq;
	up->state = UPLOAD_S_FORMING;
	event_active(up->kick_ev, EV_TIMEOUT, 1);
	log_info("upload: to %s%s%s%s, batches of %zu records or %zu bytes or "
	         "%g s",
	    up->urls[0], up->cfg.nurls > 1 ? " (and others)" : "",
	    up->proxy != NULL ? " through " : "",
	    up->proxy != NULL ? up->proxy : "", up->cfg.batch_records,
	    up->cfg.batch_bytes, (double)up->cfg.batch_age / 1e6);
	return up;
}

void
upload_free(struct upload *up)
{
	if (up == NULL)
		return;
	if (up->cv != NULL) {
		upload_request_free(up);
		curlev_free(up->cv);
	}
	if (up->kick_ev != NULL)
		event_free(up->kick_ev);
	if (up->wait_ev != NULL)
		event_free(up->wait_ev);
	if (up->drain_ev != NULL)
		event_free(up->drain_ev);
	if (up->resp != NULL)
		evbuffer_free(up->resp);
	if (up->scratch != NULL)
		evbuffer_free(up->scratch);
	if (up->b.body != NULL) {
		upload_batch_reset(&up->b);
		evbuffer_free(up->b.body);
	}
	for (size_t i = 0; i < UPLOAD_URLS_MAX; i++) {
		free(up->urls[i]);
		free(up->posts[i]);
	}
	free(up->proxy);
	free(up->probe);
	free(up->dead_letter);
	free(up->dead_dir);
	free(up->receipts);
	sodium_memzero(up->sk, sizeof(up->sk));
	free(up);
	curl_global_cleanup();
}
