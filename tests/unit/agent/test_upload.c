/*
 * test_upload.c -- the uploader: its arithmetic (backoff with full
 * jitter, Retry-After, what each status means, when a batch is due),
 * then the whole uploader on one event loop against a small collector
 * of the test's own (evhttp on 127.0.0.1) and an in-memory spool with
 * the functions of spool.h the uploader calls: batches by count, bytes
 * and age, signed and gzipped; receipts acknowledged; 503 with
 * Retry-After; 400 set aside in the dead-letter file; 413 split; a
 * wrong receipt retried; failover between two URLs and back; freeing
 * the uploader with a request in flight.  The real collector is
 * tests/scenario/upload.sh's business.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <netinet/in.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "cwtime.h"
#include "gzip.h"
#include "log.h"
#include "record.h"
#include "spool.h"
#include "upload.h"

/* --- an in-memory spool: what upload.c calls of spool.h --- */

#define FAKE_MAX 4096

struct spool {
	char *lines[FAKE_MAX + 1]; /* by seq; no newline */
	uint64_t last, acked;
	cw_usec_t receipts[FAKE_MAX + 1]; /* by acked seq */
	unsigned syncs, acks;
	unsigned fail_reads; /* reads that fail after a line */
	char chain[RECORD_ID_HEX + 1];
};

int
spool_read(struct spool *sp, uint64_t after_seq, size_t max_records,
    size_t max_bytes, struct evbuffer *body, uint64_t *first, uint64_t *last)
{
	size_t n = 0, bytes = 0;

	if (sp->fail_reads > 0 && after_seq < sp->last) {
		/* A line goes out, then the disk fails. */
		sp->fail_reads--;
		evbuffer_add_printf(body, "%s\n", sp->lines[after_seq + 1]);
		return -1;
	}
	for (uint64_t s = after_seq + 1; s <= sp->last && n < max_records;
	     s++) {
		size_t len = strlen(sp->lines[s]);
		if (bytes + len + 1 > max_bytes)
			break;
		evbuffer_add(body, sp->lines[s], len);
		evbuffer_add(body, "\n", 1);
		bytes += len + 1;
		if (n++ == 0)
			*first = s;
		*last = s;
	}
	return (int)n;
}

int
spool_sync(struct spool *sp)
{
	sp->syncs++;
	return 0;
}

int
spool_ack(struct spool *sp, uint64_t seq, cw_usec_t receipt_time)
{
	assert_true(seq > sp->acked);
	assert_true(seq <= sp->last);
	sp->acked = seq;
	sp->receipts[seq] = receipt_time;
	sp->acks++;
	return 0;
}

void
spool_get_status(const struct spool *sp, struct spool_status *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->chain, sp->chain, sizeof(st->chain));
	st->last_seq = sp->last;
	st->acked_seq = sp->acked;
	st->depth = sp->last - sp->acked;
}

/* --- the test's world --- */

#define SEED_BYTE     7
#define SERVER_SCRIPT 16

struct server {
	struct evhttp *http;
	int port;
	int script[SERVER_SCRIPT]; /* statuses to answer, in turn */
	const char *retry_after;   /* with the next 503/429 */
	bool hold;                 /* never answer */
	bool bad_receipt;          /* 200 naming another seq */
	unsigned requests;
	struct evhttp_request *held;
	struct world *w;
};

struct world {
	struct event_base *base;
	struct spool sp;
	struct server srv[2];
	unsigned char pk[32], sk[64];
	char probe[RECORD_ID_HEX + 1];
	char dir[64];
	char dead[128];
	/* What the collectors stored, in order: each batch's seqs. */
	uint64_t got_first[256], got_last[256];
	size_t got_n[256], got_bytes[256];
	cw_usec_t got_at[256];
	size_t nbatches;
	uint64_t stored_last;
};

static struct world W;

/* fake_received_at: the received_at of the receipt for a batch ending
 * at `last`: years from the test's clock, one second per seq. */
static cw_usec_t
fake_received_at(uint64_t last)
{
	return ((cw_usec_t)1577836800 + (cw_usec_t)last) * CW_USEC_PER_SEC +
	    123456;
}

/* fake_answer: the receipt (or the scripted error) for a good batch. */
static void
fake_answer(struct server *s, struct evhttp_request *req, uint64_t first,
    uint64_t last, size_t n, size_t bytes)
{
	struct world *w = s->w;
	struct evbuffer *out = evbuffer_new();
	char when[CW_TIME_STRLEN];
	int code = s->script[0];

	memmove(s->script, s->script + 1,
	    sizeof(s->script) - sizeof(s->script[0]));
	s->script[SERVER_SCRIPT - 1] = 0;
	if (code == 0)
		code = 200;
	if (code == 200 && s->bad_receipt) {
		/* Stored, says it, but names another seq. */
		evbuffer_add_printf(out,
		    "{\"probe\":\"%s\",\"chain\":\"%s\","
		    "\"acked_seq\":%llu}\n",
		    w->probe, w->sp.chain, (unsigned long long)last + 1);
		s->bad_receipt = false;
	} else if (code == 200) {
		assert_true(w->nbatches < 256);
		w->got_first[w->nbatches] = first;
		w->got_last[w->nbatches] = last;
		w->got_n[w->nbatches] = n;
		w->got_bytes[w->nbatches] = bytes;
		w->got_at[w->nbatches] = cw_mono_usec();
		w->nbatches++;
		/* Exactly once, in order, from the cursor on. */
		assert_int_equal(first, w->stored_last + 1);
		w->stored_last = last;
		evbuffer_add_printf(out,
		    "{\"probe\":\"%s\",\"chain\":\"%s\","
		    "\"acked_seq\":%llu,\"stored\":%zu,\"duplicates\":0,"
		    "\"received_at\":\"%s\"}\n",
		    w->probe, w->sp.chain, (unsigned long long)last, n,
		    cw_time_format(fake_received_at(last), when, sizeof(when)));
	} else {
		if (code == 400 || code == 401 || code == 403 || code == 409)
			w->stored_last = last; /* set aside: skipped */
		if (s->retry_after != NULL)
			evhttp_add_header(evhttp_request_get_output_headers(
			                      req),
			    "Retry-After", s->retry_after);
		s->retry_after = NULL;
		evbuffer_add_printf(out,
		    "{\"error\":\"scripted\",\"detail\":"
		    "\"status %d\"}\n",
		    code);
	}
	evhttp_send_reply(req, code, NULL, out);
	evbuffer_free(out);
}

/* fake_batches: POST /api/v1/batches: check it as the collector would
 * (signature over the inflated body, lines, seqs) and answer. */
static void
fake_batches(struct evhttp_request *req, void *arg)
{
	struct server *s = arg;
	struct world *w = s->w;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	char probe[RECORD_ID_HEX + 1], sig[RECORD_SIG_B64 + 1], err[128];
	unsigned char *body;
	size_t len, n = 0;
	uint64_t first = 0, last = 0;
	const char *p, *nl;

	s->requests++;
	if (s->hold) {
		s->held = req;
		return;
	}
	assert_int_equal(evhttp_request_get_command(req), EVHTTP_REQ_POST);
	assert_string_equal(evhttp_find_header(in, "Content-Type"),
	    "application/x-ndjson");
	assert_string_equal(evhttp_find_header(in, "Content-Encoding"), "gzip");
	assert_null(evhttp_find_header(in, "Expect"));
	assert_int_equal(batch_auth_parse(evhttp_find_header(in,
	                                      "Authorization"),
	                     probe, sig, err, sizeof(err)),
	    0);
	assert_string_equal(probe, w->probe);
	assert_int_equal(gzip_inflate(evbuffer_pullup(buf, -1),
	                     evbuffer_get_length(buf), 16 << 20, &body, &len),
	    GZIP_OK);
	assert_true(batch_verify(w->pk, probe, body, len, sig));
	for (p = (const char *)body; p < (const char *)body + len; p = nl + 1) {
		json_t *j;
		nl = memchr(p, '\n', len - (size_t)(p - (const char *)body));
		assert_non_null(nl);
		j = json_loadb(p, (size_t)(nl - p), 0, NULL);
		assert_non_null(j);
		last = (uint64_t)json_integer_value(json_object_get(j, "seq"));
		if (n++ == 0)
			first = last;
		json_decref(j);
	}
	assert_int_equal(n, last - first + 1);
	free(body);
	fake_answer(s, req, first, last, n, len);
}

static void
server_start(struct world *w, struct server *s)
{
	struct evhttp_bound_socket *bs;
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);

	memset(s, 0, sizeof(*s));
	s->w = w;
	s->http = evhttp_new(w->base);
	assert_non_null(s->http);
	evhttp_set_cb(s->http, "/api/v1/batches", fake_batches, s);
	bs = evhttp_bind_socket_with_handle(s->http, "127.0.0.1", 0);
	assert_non_null(bs);
	assert_int_equal(getsockname(evhttp_bound_socket_get_fd(bs),
	                     (struct sockaddr *)&sin, &slen),
	    0);
	s->port = ntohs(sin.sin_port);
}

/* append: records seq last+1 .. last+n of `pad` bytes of padding. */
static void
append(struct world *w, size_t n, size_t pad)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t seq = ++w->sp.last;
		char *line;
		assert_true(seq <= FAKE_MAX);
		assert_true(
		    asprintf(&line,
		        "{\"probe\":\"%s\",\"chain\":\"%s\","
		        "\"seq\":%llu,\"type\":\"test\",\"pad\":\"%*s\"}",
		        w->probe, w->sp.chain, (unsigned long long)seq,
		        (int)pad, "") > 0);
		w->sp.lines[seq] = line;
	}
}

static int
setup(void **state)
{
	unsigned char seed[32];

	(void)state;
	memset(&W, 0, sizeof(W));
	memset(seed, SEED_BYTE, sizeof(seed));
	crypto_sign_seed_keypair(W.pk, W.sk, seed);
	record_probe_id(W.pk, W.probe);
	strcpy(W.sp.chain, "00112233445566778899aabbccddeeff");
	W.base = event_base_new();
	assert_non_null(W.base);
	server_start(&W, &W.srv[0]);
	server_start(&W, &W.srv[1]);
	strcpy(W.dir, "/tmp/test_upload.XXXXXX");
	assert_non_null(mkdtemp(W.dir));
	/* A directory that is not there yet: made when first needed. */
	snprintf(W.dead, sizeof(W.dead), "%s/dead/dead-letter.jsonl", W.dir);
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	for (int i = 0; i < 2; i++)
		evhttp_free(W.srv[i].http);
	event_base_free(W.base);
	for (size_t i = 0; i <= FAKE_MAX; i++)
		free(W.sp.lines[i]);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", W.dir);
	assert_int_equal(system(cmd), 0);
	return 0;
}

/* config: one URL per server given (-1: a closed port). */
static void
config(struct upload_config *c, const char **urls, char bufs[][64],
    const int *which, size_t n)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < n; i++) {
		int port = which[i] >= 0 ? W.srv[which[i]].port : 1;
		snprintf(bufs[i], 64, "http://127.0.0.1:%d/", port);
		urls[i] = bufs[i];
	}
	c->urls = urls;
	c->nurls = n;
	c->probe = W.probe;
	c->sk = W.sk;
	c->batch_records = 10;
	c->batch_age = 200 * CW_USEC_PER_MSEC;
	c->backoff_min = 20 * CW_USEC_PER_MSEC;
	c->backoff_max = 100 * CW_USEC_PER_MSEC;
	c->failback = 300 * CW_USEC_PER_MSEC;
	c->timeout = 5 * CW_USEC_PER_SEC;
	c->dead_letter = W.dead;
}

/* run_until: turn the loop until `done(up)` or `ms` pass; returns
 * whether done. */
static bool
run_until(struct upload *up, bool (*done)(struct upload *), long ms)
{
	cw_usec_t end = cw_mono_usec() + ms * CW_USEC_PER_MSEC;
	struct timeval tick = { 0, 5000 };

	while (!done(up)) {
		if (cw_mono_usec() > end)
			return false;
		event_base_loopexit(W.base, &tick);
		event_base_dispatch(W.base);
	}
	return true;
}

static bool
idle(struct upload *up)
{
	return upload_idle(up);
}

static bool
never(struct upload *up)
{
	(void)up;
	return false;
}

/* --- the arithmetic --- */

static void
test_backoff_ceiling(void **state)
{
	const cw_usec_t s = CW_USEC_PER_SEC, cap = 600 * s;

	(void)state;
	assert_int_equal(upload_backoff_ceiling(0, s, cap), 0);
	assert_int_equal(upload_backoff_ceiling(1, s, cap), s);
	assert_int_equal(upload_backoff_ceiling(2, s, cap), 2 * s);
	assert_int_equal(upload_backoff_ceiling(5, s, cap), 16 * s);
	assert_int_equal(upload_backoff_ceiling(10, s, cap), 512 * s);
	assert_int_equal(upload_backoff_ceiling(11, s, cap), cap);
	/* However many failures: no overflow, the cap. */
	assert_int_equal(upload_backoff_ceiling(64, s, cap), cap);
	assert_int_equal(upload_backoff_ceiling(UINT32_MAX, s, cap), cap);
	assert_int_equal(upload_backoff_ceiling(3, 7 * s, 10 * s), 10 * s);
	assert_int_equal(upload_backoff_ceiling(3, INT64_MAX / 2 + 1,
	                     INT64_MAX),
	    INT64_MAX);
}

static void
test_backoff_jitter(void **state)
{
	const cw_usec_t s = CW_USEC_PER_SEC, cap = 600 * s;
	cw_usec_t lo = INT64_MAX, hi = 0, sum = 0;
	const int draws = 2000;

	(void)state;
	assert_int_equal(upload_backoff(0, s, cap), 0);
	for (int i = 0; i < draws; i++) {
		cw_usec_t d = upload_backoff(4, s, cap); /* [0, 8 s] */
		assert_true(d >= 0 && d <= 8 * s);
		assert_int_equal(d % CW_USEC_PER_MSEC, 0);
		lo = d < lo ? d : lo;
		hi = d > hi ? d : hi;
		sum += d;
	}
	/* Full jitter: spread over the whole range, mean near half. */
	assert_true(lo < s);
	assert_true(hi > 7 * s);
	assert_true(sum / draws > 3 * s && sum / draws < 5 * s);
	for (int i = 0; i < 100; i++)
		assert_true(upload_backoff(40, s, cap) <= cap);
}

static void
test_retry_after(void **state)
{
	/* 2015-10-21T07:28:00Z */
	const cw_usec_t t = INT64_C(1445412480) * CW_USEC_PER_SEC;
	cw_usec_t d = -1;

	(void)state;
	assert_int_equal(upload_retry_after_parse("120", t, &d), 0);
	assert_int_equal(d, 120 * CW_USEC_PER_SEC);
	assert_int_equal(upload_retry_after_parse(" 0 ", t, &d), 0);
	assert_int_equal(d, 0);
	assert_int_equal(upload_retry_after_parse("5\r\n", t, &d), 0);
	assert_int_equal(d, 5 * CW_USEC_PER_SEC);
	/* Absurdly large: capped, no overflow. */
	assert_int_equal(upload_retry_after_parse("99999999999999999999999999",
	                     t, &d),
	    0);
	assert_int_equal(d, INT64_C(366) * 86400 * CW_USEC_PER_SEC);
	/* The three HTTP date forms (RFC 9110 5.6.7). */
	assert_int_equal(
	    upload_retry_after_parse("Wed, 21 Oct 2015 07:30:00 GMT", t, &d),
	    0);
	assert_int_equal(d, 120 * CW_USEC_PER_SEC);
	assert_int_equal(upload_retry_after_parse(
	                     "Wednesday, 21-Oct-15 07:28:30 GMT", t, &d),
	    0);
	assert_int_equal(d, 30 * CW_USEC_PER_SEC);
	assert_int_equal(upload_retry_after_parse("Wed Oct 21 07:29:00 2015", t,
	                     &d),
	    0);
	assert_int_equal(d, 60 * CW_USEC_PER_SEC);
	/* A date gone by: no wait. */
	assert_int_equal(
	    upload_retry_after_parse("Tue, 20 Oct 2015 07:28:00 GMT", t, &d),
	    0);
	assert_int_equal(d, 0);
	d = 42;
	assert_int_equal(upload_retry_after_parse("", t, &d), -1);
	assert_int_equal(upload_retry_after_parse("   ", t, &d), -1);
	assert_int_equal(upload_retry_after_parse("12s", t, &d), -1);
	assert_int_equal(upload_retry_after_parse("-5", t, &d), -1);
	assert_int_equal(upload_retry_after_parse("1.5", t, &d), -1);
	assert_int_equal(upload_retry_after_parse("soon", t, &d), -1);
	assert_int_equal(upload_retry_after_parse(NULL, t, &d), -1);
	assert_int_equal(d, 42);
}

static void
test_status_class(void **state)
{
	(void)state;
	assert_int_equal(upload_status_class(200, 5), UPLOAD_ACKED);
	assert_int_equal(upload_status_class(0, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(429, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(500, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(502, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(503, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(204, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(302, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(404, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(407, 5), UPLOAD_RETRY);
	/* It always sends a Content-Length: a 411 is a proxy's doing. */
	assert_int_equal(upload_status_class(411, 5), UPLOAD_RETRY);
	assert_int_equal(upload_status_class(400, 5), UPLOAD_DEAD);
	assert_int_equal(upload_status_class(401, 5), UPLOAD_DEAD);
	assert_int_equal(upload_status_class(403, 5), UPLOAD_DEAD);
	assert_int_equal(upload_status_class(409, 5), UPLOAD_DEAD);
	assert_int_equal(upload_status_class(413, 5), UPLOAD_SPLIT);
	assert_int_equal(upload_status_class(413, 1), UPLOAD_DEAD);
}

static void
test_batch_due(void **state)
{
	const cw_usec_t s = CW_USEC_PER_SEC;

	(void)state;
	assert_int_equal(upload_batch_due(0, 0, false, 0, 10, 1000, s), -1);
	assert_int_equal(upload_batch_due(0, 0, true, 0, 10, 1000, s), -1);
	/* Count, bytes, more than fits, age. */
	assert_int_equal(upload_batch_due(10, 100, false, 0, 10, 1000, s), 0);
	assert_int_equal(upload_batch_due(3, 1000, false, 0, 10, 1000, s), 0);
	assert_int_equal(upload_batch_due(3, 900, true, 0, 10, 1000, s), 0);
	assert_int_equal(upload_batch_due(3, 900, false, s, 10, 1000, s), 0);
	assert_int_equal(upload_batch_due(3, 900, false, 2 * s, 10, 1000, s),
	    0);
	/* None of them: wait for the age. */
	assert_int_equal(upload_batch_due(3, 900, false, s / 4, 10, 1000, s),
	    3 * s / 4);
}

/* --- the uploader --- */

static void
test_batches_by_count_and_age(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;
	struct upload_status st;
	cw_usec_t t0;

	(void)state;
	config(&c, urls, bufs, which, 1);
	append(&W, 25, 10);
	t0 = cw_mono_usec();
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, idle, 5000));
	/* 10, 10 at once; the last 5 when the first of them is 200 ms old. */
	assert_int_equal(W.nbatches, 3);
	assert_int_equal(W.got_n[0], 10);
	assert_int_equal(W.got_n[1], 10);
	assert_int_equal(W.got_n[2], 5);
	assert_true(W.got_at[1] - t0 < 150 * CW_USEC_PER_MSEC);
	assert_true(W.got_at[2] - t0 >= 200 * CW_USEC_PER_MSEC);
	assert_int_equal(W.sp.acked, 25);
	assert_true(W.sp.syncs >= 3);
	/* Each ack carries its receipt's received_at, not the probe's
	 * clock. */
	assert_int_equal(W.sp.receipts[10], fake_received_at(10));
	assert_int_equal(W.sp.receipts[25], fake_received_at(25));
	/* More records later: kicked, then due by age again. */
	append(&W, 4, 10);
	upload_kick(up);
	assert_true(run_until(up, idle, 5000));
	assert_int_equal(W.nbatches, 4);
	assert_int_equal(W.got_first[3], 26);
	assert_int_equal(W.got_last[3], 29);
	upload_get_status(up, &st);
	assert_int_equal(st.acked_seq, 29);
	assert_int_equal(st.consecutive_failures, 0);
	assert_int_equal(st.failing_since, 0);
	assert_true(st.last_receipt > 0);
	assert_int_equal(st.npaths, 1);
	assert_int_equal(st.paths[0].sent, 4);
	assert_int_equal(st.paths[0].records, 29);
	assert_int_equal(st.paths[0].failed, 0);
	upload_free(up);
}

static void
test_batches_by_bytes(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;

	(void)state;
	config(&c, urls, bufs, which, 1);
	c.batch_records = 1000;
	c.batch_bytes = 1;     /* raised to UPLOAD_BATCH_BYTES_MIN */
	append(&W, 20, 10000); /* ~10 KB each: 6 fit in 64 KiB */
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, idle, 5000));
	assert_int_equal(W.sp.acked, 20);
	assert_int_equal(W.nbatches, 4);
	for (size_t i = 0; i < W.nbatches; i++)
		assert_true(W.got_bytes[i] <= UPLOAD_BATCH_BYTES_MIN);
	assert_int_equal(W.got_n[0], 6);
	assert_int_equal(W.got_n[3], 2);
	upload_free(up);
}

static bool
acked_15(struct upload *up)
{
	(void)up;
	return W.sp.acked >= 15;
}

static void
test_retry_after_honoured(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;
	struct upload_status st;
	cw_usec_t t0;

	(void)state;
	config(&c, urls, bufs, which, 1);
	c.backoff_max = 3 * CW_USEC_PER_SEC;
	W.srv[0].script[0] = 503;
	W.srv[0].retry_after = "1";
	W.srv[0].script[1] = 500;
	append(&W, 10, 10);
	t0 = cw_mono_usec();
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, never, 300) == false);
	upload_get_status(up, &st);
	assert_int_equal(st.consecutive_failures, 1);
	assert_true(st.failing_since > 0);
	assert_int_equal(st.paths[0].failed, 1);
	assert_int_equal(W.sp.acked, 0);
	assert_true(run_until(up, idle, 8000));
	/* Not before Retry-After; then a 500 and a short backoff. */
	assert_int_equal(W.srv[0].requests, 3);
	assert_true(W.got_at[0] - t0 >= CW_USEC_PER_SEC);
	upload_get_status(up, &st);
	assert_int_equal(st.consecutive_failures, 0);
	assert_int_equal(st.failing_since, 0);
	assert_int_equal(st.paths[0].failed, 2);
	assert_int_equal(st.paths[0].sent, 1);
	/* A 200 whose receipt names another seq is not an ack. */
	W.srv[0].bad_receipt = true;
	append(&W, 5, 10);
	upload_kick(up);
	assert_true(run_until(up, acked_15, 5000));
	upload_get_status(up, &st);
	assert_int_equal(st.paths[0].failed, 3);
	assert_int_equal(W.nbatches, 2);
	assert_int_equal(W.srv[0].requests, 5);
	upload_free(up);
}

static void
test_dead_letter(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;
	struct upload_status st;
	char path[256], line[4096], head[256];
	json_t *j;
	FILE *fp;
	size_t len;

	(void)state;
	config(&c, urls, bufs, which, 1);
	W.srv[0].script[0] = 400;
	append(&W, 25, 10);
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, idle, 5000));
	/* Seqs 1-10 refused and set aside; the queue went on.  No receipt
	 * for them: no time (the spool keeps the last receipt's). */
	assert_int_equal(W.sp.acked, 25);
	assert_int_equal(W.sp.receipts[10], 0);
	assert_int_equal(W.sp.receipts[25], fake_received_at(25));
	assert_int_equal(W.nbatches, 2);
	assert_int_equal(W.got_first[0], 11);
	upload_get_status(up, &st);
	assert_int_equal(st.dead_letters, 1);
	assert_int_equal(st.paths[0].refused, 1);
	assert_non_null(fp = fopen(W.dead, "r"));
	assert_non_null(fgets(line, sizeof(line), fp));
	assert_null(fgets(head, sizeof(head), fp));
	fclose(fp);
	assert_non_null(j = json_loads(line, 0, NULL));
	assert_int_equal(json_integer_value(json_object_get(j, "status")), 400);
	assert_int_equal(json_integer_value(json_object_get(j, "first_seq")),
	    1);
	assert_int_equal(json_integer_value(json_object_get(j, "last_seq")),
	    10);
	assert_string_equal(json_string_value(
	                        json_object_get(json_object_get(j, "error"),
	                            "error")),
	    "scripted");
	assert_non_null(json_string_value(json_object_get(j, "time")));
	snprintf(path, sizeof(path), "%s",
	    json_string_value(json_object_get(j, "file")));
	json_decref(j);
	/* The batch file: a header line, then exactly the body. */
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(head, sizeof(head), fp));
	assert_int_equal(strncmp(head, "CW1-BATCH ", 10), 0);
	assert_non_null(strstr(head, W.probe));
	len = fread(line, 1, sizeof(line), fp);
	fclose(fp);
	assert_int_equal(strtoul(strrchr(head, ' ') + 1, NULL, 10), len);
	assert_int_equal(strncmp(line, W.sp.lines[1], strlen(W.sp.lines[1])),
	    0);
	upload_free(up);
}

static void
test_split_on_413(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;

	(void)state;
	config(&c, urls, bufs, which, 1);
	W.srv[0].script[0] = 413;
	W.srv[0].script[1] = 413;
	append(&W, 20, 10);
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, idle, 5000));
	/* 10 refused as too large, then 5 too; batches of 2 from then. */
	assert_int_equal(W.sp.acked, 20);
	assert_int_equal(W.nbatches, 10);
	assert_int_equal(W.got_n[0], 2);
	assert_int_equal(access(W.dead, F_OK), -1);
	upload_free(up);
}

static void
test_spool_read_fails(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;

	(void)state;
	config(&c, urls, bufs, which, 1);
	c.batch_age = 300 * CW_USEC_PER_MSEC;
	append(&W, 3, 10);
	W.sp.fail_reads = 1;
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	/* The first read fails; the next takes 1..3 into the batch ... */
	assert_false(run_until(up, never, 250));
	assert_int_equal(W.sp.fail_reads, 0);
	/* ... and the read after, with 3 lines in the batch, fails too. */
	W.sp.fail_reads = 1;
	append(&W, 3, 10);
	upload_kick(up);
	assert_true(run_until(up, idle, 5000));
	/* Nothing of the failed reads went out: 1..6 once, in order. */
	assert_int_equal(W.sp.fail_reads, 0);
	assert_int_equal(W.got_first[0], 1);
	assert_int_equal(W.sp.acked, 6);
	assert_int_equal(W.got_n[0] + (W.nbatches > 1 ? W.got_n[1] : 0), 6);
	upload_free(up);
}

static bool
three_batches(struct upload *up)
{
	(void)up;
	return W.nbatches >= 3;
}

static void
test_failover(void **state)
{
	struct upload_config c;
	const char *urls[3];
	char bufs[3][64];
	const int which[] = { -1, 1, 0 }; /* refused, then B, then A */
	struct upload *up;
	struct upload_status st;
	json_t *j;

	(void)state;
	config(&c, urls, bufs, which, 3);
	append(&W, 20, 10);
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, idle, 5000));
	/* The first URL refused the connection; B took both batches and
	 * stayed in use (A, third, never asked). */
	assert_int_equal(W.srv[1].requests, 2);
	assert_int_equal(W.srv[0].requests, 0);
	upload_get_status(up, &st);
	assert_int_equal(st.npaths, 3);
	assert_int_equal(st.paths[0].failed, 1);
	assert_int_equal(st.paths[1].sent, 2);
	assert_int_equal(st.paths[1].records, 20);
	assert_int_equal(st.consecutive_failures, 0);
	/* After `failback` it tries the first again, then B again; B now
	 * fails with a 503, so A gets it. */
	usleep(350 * 1000);
	W.srv[1].script[0] = 503;
	append(&W, 10, 10);
	upload_kick(up);
	assert_true(run_until(up, three_batches, 5000));
	assert_true(run_until(up, idle, 5000));
	upload_get_status(up, &st);
	assert_int_equal(st.paths[0].failed, 2);
	assert_int_equal(st.paths[1].failed, 1);
	assert_int_equal(st.paths[2].sent, 1);
	assert_int_equal(W.srv[0].requests, 1);
	assert_non_null(j = upload_status_json(up));
	assert_int_equal(json_array_size(json_object_get(j, "paths")), 3);
	assert_int_equal(json_integer_value(json_object_get(
	                     json_array_get(json_object_get(j, "paths"), 1),
	                     "sent")),
	    2);
	assert_true(json_is_null(json_object_get(j, "failing_since")));
	assert_true(json_is_null(
	    json_object_get(json_array_get(json_object_get(j, "paths"), 1),
	        "proxy")));
	json_decref(j);
	upload_free(up);
}

static bool
held(struct upload *up)
{
	(void)up;
	return W.srv[0].held != NULL;
}

static void
test_free_in_flight(void **state)
{
	struct upload_config c;
	const char *urls[1];
	char bufs[1][64];
	const int which[] = { 0 };
	struct upload *up;
	struct upload_status st;

	(void)state;
	config(&c, urls, bufs, which, 1);
	W.srv[0].hold = true;
	append(&W, 10, 10);
	assert_non_null(up = upload_new(W.base, &W.sp, &c));
	assert_true(run_until(up, held, 5000));
	upload_get_status(up, &st);
	assert_true(st.in_flight);
	assert_false(upload_idle(up));
	upload_free(up);
	assert_int_equal(W.sp.acked, 0);
	/* No upload at all: nothing to make, and kicking NULL is fine. */
	upload_kick(NULL);
	upload_free(NULL);
}

static void
test_config_refused(void **state)
{
	struct upload_config c;
	const char *urls[1] = { "ftp://127.0.0.1/" };

	(void)state;
	memset(&c, 0, sizeof(c));
	c.probe = W.probe;
	c.sk = W.sk;
	c.dead_letter = W.dead;
	assert_null(upload_new(W.base, &W.sp, &c)); /* no URL */
	c.urls = urls;
	c.nurls = 1;
	assert_null(upload_new(W.base, &W.sp, &c)); /* not http(s) */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_backoff_ceiling),
		cmocka_unit_test(test_backoff_jitter),
		cmocka_unit_test(test_retry_after),
		cmocka_unit_test(test_status_class),
		cmocka_unit_test(test_batch_due),
		cmocka_unit_test_setup_teardown(test_batches_by_count_and_age,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_batches_by_bytes, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_retry_after_honoured,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_letter, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_split_on_413, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_spool_read_fails, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_failover, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_in_flight, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_config_refused, setup,
		    teardown),
	};

	log_init("test_upload", LOG_LEVEL_WARNING);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
