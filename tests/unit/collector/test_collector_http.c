/*
 * test_collector_http.c -- the collector's HTTP service (collector_http.c,
 * with collector_head.c reading heads and workq.c checking batches behind
 * it) on one event loop with a fake client that sends raw HTTP on
 * loopback (collector_fixture.h), over a SQLite store: enrollment with a
 * token (once), and its bad requests; a signed batch stored byte for
 * byte with its receipt, its replay counted as duplicates, a chain broken
 * against the stored records; a bad signature; bodies refused from the
 * head alone (a probe never enrolled, a revoked one, no Authorization)
 * and heads that evhttp could frame otherwise (400, 405, 411, 431); a
 * body over max_body, on the wire or once inflated, and the wrong media
 * types; pipelined requests answered in order; the read token on
 * /metrics; a client gone before its answer; and a stop with a batch
 * being checked: stored and answered, what comes after refused.  Every
 * refusal is a JSON error and stores nothing.  What
 * tests/scenario/collector_http.sh and collector_preauth.sh assert of the
 * daemon, asserted here of the module.
 */
#include "config.h"

#include <ctype.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "gzip.h"
#include "store_fixture.h"
#include "collector_fixture.h"

/* A probe nobody enrolled, with a signature of zeros. */
#define NOBODY_ID "0123456789abcdef0123456789abcdef"
#define ZERO_SIG \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
#define NOBODY_AUTH "CW1-Ed25519 probe=" NOBODY_ID ",sig=" ZERO_SIG
#define READ_AUTH   "Bearer " CFIX_READ_TOKEN

/* --- requests --- */

/* The Authorization of `body` signed by the fixture's probe. */
static void
auth_of(struct cfix *w, const void *body, size_t len, char *auth,
    size_t authlen)
{
	char sig[RECORD_SIG_B64 + 1];

	sfix_sign(w->p, CFIX_SEED, body, len, sig);
	snprintf(auth, authlen, BATCH_AUTH_SCHEME " probe=%s,sig=%s", w->p->id,
	    sig);
}

/* A POST of a batch, raw: `body` (`len` bytes) as `type`, with `auth`
 * (NULL: no Authorization) and `extra` header lines (each ending in
 * CRLF; "" for none).  The caller frees it; its length in *reqlen. */
static char *
batch_request_as(const char *type, const void *body, size_t len,
    const char *auth, const char *extra, size_t *reqlen)
{
	char *head, *req;
	int n;

	assert_true((n = asprintf(&head,
	                 "POST /api/v1/batches HTTP/1.1\r\n"
	                 "Host: t\r\nContent-Type: %s\r\n%s%s%s"
	                 "Content-Length: %zu\r\n%s\r\n",
	                 type, auth != NULL ? "Authorization: " : "",
	                 auth != NULL ? auth : "", auth != NULL ? "\r\n" : "",
	                 len, extra)) > 0);
	/* One byte more: a NUL after the body, so that the head can be
	 * searched as a string. */
	assert_non_null(req = malloc((size_t)n + len + 1));
	memcpy(req, head, (size_t)n);
	memcpy(req + n, body, len);
	req[(size_t)n + len] = '\0';
	free(head);
	*reqlen = (size_t)n + len;
	return req;
}

/* The same as application/x-ndjson, as a probe sends it. */
static char *
batch_request(const void *body, size_t len, const char *auth, const char *extra,
    size_t *reqlen)
{
	return batch_request_as("application/x-ndjson", body, len, auth, extra,
	    reqlen);
}

/* The POST of lines [from, from + n) of the fixture's chain, signed. */
static char *
chain_request(struct cfix *w, size_t from, size_t n, size_t *reqlen)
{
	char auth[256], *body, *req;
	size_t len;

	body = schain_body(&w->c, from, n, &len);
	auth_of(w, body, len, auth, sizeof(auth));
	req = batch_request(body, len, auth, "", reqlen);
	free(body);
	return req;
}

/* Queue on `c` the POST of lines [from, from + n) of the chain. */
static void
send_chain(struct cclient *c, size_t from, size_t n)
{
	size_t len;
	char *req = chain_request(c->w, from, n, &len);

	cclient_send(c, req, len);
	free(req);
}

/* Post lines [from, from + n) of the chain on a connection of its own. */
static int
post_chain(struct cfix *w, size_t from, size_t n, struct cresp *r)
{
	size_t len;
	char *req = chain_request(w, from, n, &len);
	int status = cfix_exchange(w, req, len, r);

	free(req);
	return status;
}

/* The value of the /metrics line `name` (with its labels), read with
 * the read token; -1 when there is none. */
static long long
metric(struct cfix *w, const char *name)
{
	struct cresp r;
	char *key;
	const char *p;
	long long v = -1;

	assert_int_equal(cfix_get(w, "/metrics", READ_AUTH, &r), 200);
	assert_true(asprintf(&key, "\n%s ", name) > 0);
	if ((p = strstr(r.body, key)) != NULL)
		v = strtoll(p + strlen(key), NULL, 10);
	free(key);
	cresp_clear(&r);
	return v;
}

/* `text` is a time as cw_time_format writes it: YYYY-MM-DDTHH:MM:SS.
 * uuuuuuZ. */
static void
assert_time_text(const char *text)
{
	static const char shape[] = "dddd-dd-ddTdd:dd:dd.ddddddZ";

	assert_non_null(text);
	assert_int_equal(strlen(text), sizeof(shape) - 1);
	for (size_t i = 0; shape[i] != '\0'; i++)
		if (shape[i] == 'd')
			assert_true(isdigit((unsigned char)text[i]));
		else
			assert_int_equal(text[i], shape[i]);
}

static long long
jint(const struct cresp *r, const char *key)
{
	json_t *v = json_object_get(r->json, key);

	assert_true(json_is_integer(v));
	return (long long)json_integer_value(v);
}

static const char *
jstr(const struct cresp *r, const char *key)
{
	const char *s = json_string_value(json_object_get(r->json, key));

	assert_non_null(s);
	return s;
}

/* --- fixtures --- */

static int
setup(void **state)
{
	struct collector_http_conf conf;

	cfix_conf(&conf);
	*state = cfix_new(&conf, false, 0);
	return 0;
}

/* --- enrollment --- */

/* POST /api/v1/enroll with `json` as `type`. */
static int
enroll(struct cfix *w, const char *type, const char *json, struct cresp *r)
{
	char *req;
	int status;

	assert_true(asprintf(&req,
	                "POST /api/v1/enroll HTTP/1.1\r\nHost: t"
	                "\r\nContent-Type: %s\r\nContent-Length: %zu\r\n\r\n%s",
	                type, strlen(json), json) > 0);
	status = cfix_exchange(w, req, strlen(req), r);
	free(req);
	return status;
}

static void
test_enroll_redeems_token_once(void **state)
{
	struct cfix *w = *state;
	char token[STORE_TOKEN_LEN + 1], err[256], pkhex[65], *json;
	char id[RECORD_ID_HEX + 1];
	unsigned char pk[RECORD_PUBKEY_LEN], sk[64];
	struct store_probe p;
	struct cresp r;

	assert_int_equal(store_token_create(w->s.st, "probe-e",
	                     3600 * CW_USEC_PER_SEC, token, err, sizeof(err)),
	    STORE_OK);
	sfix_key(9, pk, sk);
	record_hex(pk, sizeof(pk), pkhex);
	record_probe_id(pk, id);
	assert_true(asprintf(&json,
	                "{\"token\":\"%s\",\"pubkey\":\"%s\","
	                "\"name\":\"ignored\"}",
	                token, pkhex) > 0);
	assert_int_equal(enroll(w, "application/json", json, &r), 200);
	assert_string_equal(jstr(&r, "probe"), id);
	assert_int_equal(jint(&r, "num"), 2);
	assert_string_equal(jstr(&r, "name"), "probe-e");
	cresp_clear(&r);
	assert_int_equal(store_probe_get(w->s.st, id, &p), STORE_OK);
	assert_string_equal(p.name, "probe-e");
	assert_memory_equal(p.pubkey, pk, sizeof(pk));
	store_probe_clear(&p);
	/* The token is used up. */
	assert_int_equal(enroll(w, "application/json", json, &r), 401);
	assert_string_equal(cresp_error(&r, "unauthorized"),
	    "the token is "
	    "unknown, used or expired");
	cresp_clear(&r);
	free(json);
	assert_int_equal(metric(w, "corewatch_enrollments_total"), 1);
}

static void
test_enroll_bad_requests_refused(void **state)
{
	static const struct {
		const char *type, *json;
		int status;
		const char *error, *detail; /* its start */
	} bad[] = {
		{ "application/json", "{\"token\": 5}", 400, "bad_request",
		    "\"token\" and \"pubkey\" must be strings" },
		{ "application/json", "{\"token\"", 400, "bad_request",
		    "not a JSON object: " },
		{ "application/json", "{\"token\":\"t\",\"pubkey\":\"xyz\"}",
		    400, "bad_request", "\"pubkey\" is not an Ed25519 key" },
		{ "text/plain", "{}", 415, "unsupported_media_type",
		    "send Content-Type: application/json" },
	};
	struct cfix *w = *state;
	char allow[64];
	struct cclient c;
	struct cresp r;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(enroll(w, bad[i].type, bad[i].json, &r),
		    bad[i].status);
		cresp_error_starts(&r, bad[i].error, bad[i].detail);
		cresp_clear(&r);
	}
	assert_int_equal(cfix_get(w, "/api/v1/enroll", NULL, &r), 405);
	assert_string_equal(cresp_error(&r, "method_not_allowed"), "use POST");
	assert_string_equal(cresp_header(&r, "Allow", allow, sizeof(allow)),
	    "POST");
	cresp_clear(&r);
	/* Over 4 KiB: refused from the head, the body never read, the
	 * connection closed. */
	cclient_open(w, &c, 0);
	cclient_sends(&c,
	    "POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\n"
	    "Content-Type: application/json\r\nContent-Length: 5000\r\n\r\n");
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 413);
	assert_string_equal(cresp_error(&r, "payload_too_large"),
	    "Content-Length 5000 is over the limit of 4096 bytes");
	cresp_clear(&r);
	assert_true(cfix_run_until(w, cclient_eof, &c, CFIX_WAIT_MS));
	cclient_close(&c);
	assert_int_equal(w->s.nprobes, 1);
	assert_int_equal(metric(w, "corewatch_enrollments_total"), 0);
}

/* --- batches --- */

static void
test_batch_stored_with_receipt(void **state)
{
	struct cfix *w = *state;
	char type[64];
	struct cresp r;

	schain_measurements(&w->c, 5);
	assert_int_equal(post_chain(w, 0, 5, &r), 200);
	assert_string_equal(cresp_header(&r, "Content-Type", type,
	                        sizeof(type)),
	    "application/json");
	assert_string_equal(jstr(&r, "probe"), w->p->id);
	assert_string_equal(jstr(&r, "chain"), SFIX_CHAIN);
	assert_int_equal(jint(&r, "acked_seq"), 5);
	assert_int_equal(jint(&r, "stored"), 5);
	assert_int_equal(jint(&r, "duplicates"), 0);
	assert_int_equal(jint(&r, "equivocations"), 0);
	assert_int_equal(jint(&r, "gaps"), 0);
	assert_time_text(jstr(&r, "received_at"));
	cresp_clear(&r);
	sfix_assert_stored(&w->s, &w->c, 5);
	assert_int_equal(metric(w, "corewatch_batches_accepted_total"), 1);
	assert_int_equal(metric(w, "corewatch_records_stored_total"), 5);
	assert_int_equal(
	    metric(w, "corewatch_ingest_latency_seconds_bucket{le=\"+Inf\"}"),
	    1);
}

static void
test_batch_replay_counted_as_duplicates(void **state)
{
	struct cfix *w = *state;
	struct cresp r;

	schain_measurements(&w->c, 5);
	assert_int_equal(post_chain(w, 0, 5, &r), 200);
	cresp_clear(&r);
	assert_int_equal(post_chain(w, 0, 5, &r), 200);
	assert_int_equal(jint(&r, "acked_seq"), 5);
	assert_int_equal(jint(&r, "stored"), 0);
	assert_int_equal(jint(&r, "duplicates"), 5);
	cresp_clear(&r);
	sfix_assert_stored(&w->s, &w->c, 5);
	assert_int_equal(metric(w, "corewatch_batches_accepted_total"), 2);
	assert_int_equal(metric(w, "corewatch_records_duplicate_total"), 5);
}

static void
test_batch_chain_break_conflict(void **state)
{
	struct cfix *w = *state;
	unsigned char wrong[RECORD_HASH_LEN];
	struct cresp r;

	schain_measurements(&w->c, 3);
	assert_int_equal(post_chain(w, 0, 3, &r), 200);
	cresp_clear(&r);
	memset(wrong, 0xab, sizeof(wrong));
	schain_line(&w->c, 4, wrong, "dns", SFIX_MEASUREMENT);
	assert_int_equal(post_chain(w, 3, 1, &r), 409);
	assert_string_equal(cresp_error(&r, "conflict"),
	    "line 1: seq 4's "
	    "prev is not the hash of the stored seq 3: the chain is broken");
	cresp_clear(&r);
	sfix_assert_stored(&w->s, &w->c, 3);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"chain\"}"), 1);
}

static void
test_batch_bad_signature_refused(void **state)
{
	struct cfix *w = *state;
	char auth[256], hdr[64], want[256], *body, *req;
	size_t len, reqlen;
	struct cresp r;

	schain_add(&w->c, "dns", SFIX_MEASUREMENT);
	schain_add(&w->c, "dns", SFIX_MEASUREMENT);
	/* Line 1's signature over lines 1 and 2. */
	body = schain_body(&w->c, 0, 1, &len);
	auth_of(w, body, len, auth, sizeof(auth));
	free(body);
	body = schain_body(&w->c, 0, 2, &len);
	req = batch_request(body, len, auth, "", &reqlen);
	assert_int_equal(cfix_exchange(w, req, reqlen, &r), 401);
	snprintf(want, sizeof(want),
	    "the signature does not match the body "
	    "and the key of probe %s",
	    w->p->id);
	assert_string_equal(cresp_error(&r, "unauthorized"), want);
	assert_string_equal(cresp_header(&r, "WWW-Authenticate", hdr,
	                        sizeof(hdr)),
	    BATCH_AUTH_SCHEME);
	cresp_clear(&r);
	free(req);
	free(body);
	sfix_assert_stored(&w->s, &w->c, 0);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"signature\"}"),
	    1);
}

/* Send the head of a batch of `length` bytes with `auth` (NULL: none)
 * and none of its body; the one answer (the connection then closed) in
 * `r`. */
static void
refused_head(struct cfix *w, const char *auth, size_t length, struct cresp *r)
{
	struct cclient c;
	size_t reqlen;
	char *req = batch_request("", 0, auth, "", &reqlen);
	char *cl = strstr(req, "Content-Length: 0\r\n");

	/* The head alone, with the length of a body that is held back. */
	assert_non_null(cl);
	cclient_open(w, &c, 0);
	cclient_send(&c, req, (size_t)(cl - req));
	free(req);
	assert_true(asprintf(&req, "Content-Length: %zu\r\n\r\n", length) > 0);
	cclient_sends(&c, req);
	free(req);
	assert_true(cclient_answer(&c, r));
	assert_true(cfix_run_until(w, cclient_eof, &c, CFIX_WAIT_MS));
	assert_int_equal(evbuffer_get_length(c.in), 0); /* nothing more */
	cclient_close(&c);
}

static void
test_batch_refused_from_head(void **state)
{
	struct cfix *w = *state;
	struct store_probe *other;
	char hdr[64], want[128], err[256], auth[256];
	struct cresp r;

	refused_head(w, NOBODY_AUTH, 100000, &r);
	assert_int_equal(r.status, 401);
	assert_string_equal(cresp_error(&r, "unauthorized"),
	    "probe " NOBODY_ID " is not enrolled");
	assert_string_equal(cresp_header(&r, "WWW-Authenticate", hdr,
	                        sizeof(hdr)),
	    BATCH_AUTH_SCHEME);
	assert_string_equal(cresp_header(&r, "Connection", hdr, sizeof(hdr)),
	    "close");
	cresp_clear(&r);

	refused_head(w, NULL, 100000, &r);
	assert_int_equal(r.status, 401);
	assert_non_null(
	    strstr(cresp_error(&r, "unauthorized"), "Authorization"));
	cresp_clear(&r);

	other = sfix_probe(&w->s, "kharkiv-2", 9, NULL, -1);
	assert_int_equal(store_probe_revoke(w->s.st, other->id, err,
	                     sizeof(err)),
	    STORE_OK);
	snprintf(auth, sizeof(auth), BATCH_AUTH_SCHEME " probe=%s,sig=%s",
	    other->id, ZERO_SIG);
	refused_head(w, auth, 100000, &r);
	assert_int_equal(r.status, 403);
	snprintf(want, sizeof(want), "probe %s is revoked", other->id);
	assert_string_equal(cresp_error(&r, "forbidden"), want);
	cresp_clear(&r);

	sfix_assert_stored(&w->s, &w->c, 0);
	assert_int_equal(
	    metric(w,
	        "corewatch_batches_rejected_total{reason=\"unknown_probe\"}"),
	    1);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"auth\"}"), 1);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"revoked\"}"),
	    1);
}

/* --- heads evhttp could frame otherwise --- */

static void
test_malformed_heads_refused(void **state)
{
	static const struct {
		const char *head;
		int status;
		const char *detail;
	} cases[] = {
		/* A request hidden in the second length. */
		{ "POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nAuthorization: "
		  "@AUTH@\r\nContent-Length: 0\r\nContent-Length: 40\r\n\r\n"
		  "GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n",
		    400, "more than one Content-Length" },
		{ "POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nAuthorization: "
		  "@AUTH@\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nxxxxx\r\n"
		  "0\r\n\r\n",
		    411,
		    "send the body with a Content-Length, "
		    "not a Transfer-Encoding" },
		{ "POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nAuthorization: "
		  "@AUTH@\r\nContent-Length: 5\r\nTransfer-Encoding: gzip, "
		  "chunked\r\n\r\nxxxxx",
		    400, "both Transfer-Encoding and Content-Length" },
		{ "POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nX-A: a\r\n "
		  "Content-Length: 40\r\n\r\n",
		    400, "a folded header line" },
		{ "POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Length : "
		  "40\r\n\r\n",
		    400, "a header name with a byte not allowed in a token" },
		{ "POST /api/v1/enroll HTTP/1.1\nHost: t\nContent-Length: 40\n"
		  "\n",
		    400, "every line of the head must end in CRLF" },
		{ "POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Length: "
		  "+40\r\n\r\n",
		    400, "Content-Length must be decimal digits only" },
		{ "PURGE /api/v1/batches HTTP/1.1\r\nHost: t\r\nContent-Length: "
		  "40\r\n\r\n",
		    405, "use GET, HEAD or POST" },
		{ "HEAD /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n"
		  "\r\n",
		    400, "HEAD with a body" },
		{ "GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: @BIG@\r\n\r\n",
		    431, "the request head is over 4096 bytes" },
	};
	struct cfix *w = *state;
	char auth[256], big[5001], hdr[64], *req;
	struct cclient c;
	struct cresp r;

	schain_add(&w->c, "dns", SFIX_MEASUREMENT);
	auth_of(w, "", 0, auth, sizeof(auth));
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *at = strstr(cases[i].head, "@AUTH@");
		const char *ab = strstr(cases[i].head, "@BIG@");
		if (at != NULL)
			assert_true(asprintf(&req, "%.*s%s%s",
			                (int)(at - cases[i].head),
			                cases[i].head, auth, at + 6) > 0);
		else if (ab != NULL)
			assert_true(asprintf(&req, "%.*s%s%s",
			                (int)(ab - cases[i].head),
			                cases[i].head, big, ab + 5) > 0);
		else
			assert_non_null(req = strdup(cases[i].head));
		cclient_open(w, &c, 0);
		cclient_sends(&c, req);
		free(req);
		assert_true(cclient_answer(&c, &r));
		assert_int_equal(r.status, cases[i].status);
		assert_string_equal(cresp_error(&r,
		                        cases[i].status == 400 ?
		                            "bad_request" :
		                            cases[i].status == 405 ?
		                            "method_not_allowed" :
		                            cases[i].status == 411 ?
		                            "length_required" :
		                            "request_header_fields_too_large"),
		    cases[i].detail);
		if (cases[i].status == 405)
			assert_string_equal(cresp_header(&r, "Allow", hdr,
			                        sizeof(hdr)),
			    "GET, HEAD, POST");
		cresp_clear(&r);
		/* One answer, then the connection closes: nothing that
		 * followed the head was served. */
		assert_true(cfix_run_until(w, cclient_eof, &c, CFIX_WAIT_MS));
		assert_int_equal(evbuffer_get_length(c.in), 0);
		cclient_close(&c);
	}
	sfix_assert_stored(&w->s, &w->c, 0);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"malformed\"}"),
	    sizeof(cases) / sizeof(cases[0]));
}

/* --- sizes and media types --- */

static void
test_body_over_max_body_refused(void **state)
{
	struct cfix *w = *state;
	char auth[256], hdr[64], *req, *zeros, *body;
	unsigned char *gz;
	size_t gzlen, reqlen, len;
	struct cresp r;

	auth_of(w, "", 0, auth, sizeof(auth));
	/* On the wire: refused from the head. */
	refused_head(w, auth, 256 * 1024 + 1, &r);
	assert_int_equal(r.status, 413);
	assert_string_equal(cresp_error(&r, "payload_too_large"),
	    "Content-Length 262145 is over the limit of 262144 bytes");
	cresp_clear(&r);

	/* Small on the wire, past max_body once inflated. */
	assert_non_null(zeros = calloc(1, 512 * 1024));
	assert_int_equal(gzip_deflate(zeros, 512 * 1024, 9, &gz, &gzlen),
	    GZIP_OK);
	free(zeros);
	assert_true(gzlen < 4096);
	req = batch_request(gz, gzlen, auth, "Content-Encoding: gzip\r\n",
	    &reqlen);
	assert_int_equal(cfix_exchange(w, req, reqlen, &r), 413);
	assert_string_equal(cresp_error(&r, "payload_too_large"),
	    "the body inflates past the limit of 262144 bytes");
	cresp_clear(&r);
	free(req);
	free(gz);

	/* An encoding other than gzip; a type other than ndjson. */
	schain_add(&w->c, "dns", SFIX_MEASUREMENT);
	body = schain_body(&w->c, 0, 1, &len);
	auth_of(w, body, len, auth, sizeof(auth));
	req = batch_request(body, len, auth, "Content-Encoding: br\r\n",
	    &reqlen);
	assert_int_equal(cfix_exchange(w, req, reqlen, &r), 415);
	assert_string_equal(cresp_error(&r, "unsupported_media_type"),
	    "Content-Encoding \"br\": only gzip is supported");
	cresp_clear(&r);
	free(req);
	req = batch_request_as("application/json", body, len, auth, "",
	    &reqlen);
	assert_int_equal(cfix_exchange(w, req, reqlen, &r), 415);
	assert_string_equal(cresp_error(&r, "unsupported_media_type"),
	    "a batch is sent as Content-Type: application/x-ndjson");
	assert_null(cresp_header(&r, "Retry-After", hdr, sizeof(hdr)));
	cresp_clear(&r);
	free(req);
	free(body);

	sfix_assert_stored(&w->s, &w->c, 0);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"too_large\"}"),
	    2);
	assert_int_equal(
	    metric(w, "corewatch_batches_rejected_total{reason=\"encoding\"}"),
	    1);
	assert_int_equal(
	    metric(w,
	        "corewatch_batches_rejected_total{reason=\"content_type\"}"),
	    1);
}

/* --- one connection, several requests --- */

static void
test_pipelined_requests_answered_in_order(void **state)
{
	struct cfix *w = *state;
	static const char healthz[] = "GET /healthz HTTP/1.1\r\nHost: t\r\n"
	                              "\r\n";
	struct cclient c;
	struct cresp r;
	size_t len;
	char *req;

	schain_measurements(&w->c, 3);
	cclient_open(w, &c, 0);
	/* All four at once: a health check, a signed batch, a health
	 * check, the head of an unsigned body. */
	cclient_sends(&c, healthz);
	send_chain(&c, 0, 3);
	cclient_sends(&c, healthz);
	req = batch_request("", 0, NOBODY_AUTH, "", &len);
	memcpy(strstr(req, "Content-Length: 0"), "Content-Length: 9", 17);
	cclient_send(&c, req, len);
	free(req);

	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "status"), "ok");
	cresp_clear(&r);
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(jint(&r, "acked_seq"), 3);
	assert_int_equal(jint(&r, "stored"), 3);
	cresp_clear(&r);
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "status"), "ok");
	cresp_clear(&r);
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 401);
	assert_string_equal(cresp_error(&r, "unauthorized"),
	    "probe " NOBODY_ID " is not enrolled");
	cresp_clear(&r);
	assert_true(cfix_run_until(w, cclient_eof, &c, CFIX_WAIT_MS));
	assert_int_equal(evbuffer_get_length(c.in), 0);
	cclient_close(&c);
	sfix_assert_stored(&w->s, &w->c, 3);
}

/* --- reads --- */

static void
test_read_endpoint_needs_token(void **state)
{
	struct cfix *w = *state;
	char hdr[64];
	struct cresp r;

	assert_int_equal(cfix_get(w, "/metrics", NULL, &r), 401);
	assert_string_equal(cresp_error(&r, "unauthorized"),
	    "this endpoint "
	    "needs Authorization: Bearer <read token>");
	assert_string_equal(cresp_header(&r, "WWW-Authenticate", hdr,
	                        sizeof(hdr)),
	    "Bearer");
	assert_null(strstr(r.body, "corewatch_"));
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/metrics", "Bearer " CFIX_READ_TOKEN "x",
	                     &r),
	    401);
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/metrics", CFIX_READ_TOKEN, &r), 401);
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/metrics", READ_AUTH, &r), 200);
	assert_string_equal(cresp_header(&r, "Content-Type", hdr, sizeof(hdr)),
	    "text/plain; version=0.0.4; charset=utf-8");
	assert_non_null(strstr(r.body, "\ncorewatch_connections_max 1024\n"));
	assert_non_null(strstr(r.body,
	    "# TYPE corewatch_ingest_latency_"
	    "seconds histogram\n"));
	cresp_clear(&r);
	/* /healthz needs no token. */
	assert_int_equal(cfix_get(w, "/healthz", NULL, &r), 200);
	assert_string_equal(jstr(&r, "status"), "ok");
	assert_string_equal(jstr(&r, "db"), "sqlite");
	assert_null(json_object_get(r.json, "db_error"));
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/nowhere", READ_AUTH, &r), 404);
	assert_string_equal(cresp_error(&r, "not_found"), "no such endpoint");
	cresp_clear(&r);
}

/* --- clients that go, a service that stops --- */

static bool
all_sent(void *arg)
{
	struct cclient *c = arg;

	return evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;
}

struct rows_wait {
	struct cfix *w;
	size_t rows;
};

static bool
rows_stored(void *arg)
{
	struct rows_wait *rw = arg;
	size_t rows;
	char *s = sfix_stored(&rw->w->s, &rows);

	free(s);
	return rows >= rw->rows;
}

static void
test_client_gone_batch_still_stored(void **state)
{
	struct cfix *w = *state;
	struct rows_wait rw = { w, 3 };
	struct cclient c;
	struct cresp r;

	schain_measurements(&w->c, 3);
	cclient_open(w, &c, 0);
	send_chain(&c, 0, 3);
	assert_true(cfix_run_until(w, all_sent, &c, CFIX_WAIT_MS));
	cclient_close(&c);
	assert_true(cfix_run_until(w, rows_stored, &rw, CFIX_WAIT_MS));
	sfix_assert_stored(&w->s, &w->c, 3);
	assert_int_equal(metric(w, "corewatch_batches_accepted_total"), 1);
	assert_int_equal(cfix_get(w, "/healthz", NULL, &r), 200);
	cresp_clear(&r);
}

/* The batch is with the checking thread: received whole, not answered. */
static bool
batch_in_flight(void *arg)
{
	struct cclient *c = arg;

	return collector_http_busy(c->w->h) && c->got == 0;
}

static bool
got_bytes(void *arg)
{
	return ((struct cclient *)arg)->got > 0;
}

static void
test_shutdown_answers_batch_in_flight(void **state)
{
	struct cfix *w = *state;
	struct cclient c, late;
	char hdr[64];
	struct cresp r;

	schain_measurements(&w->c, 5);
	cclient_open(w, &c, 0);
	send_chain(&c, 0, 3);
	assert_true(cfix_run_until(w, batch_in_flight, &c, CFIX_WAIT_MS));
	sfix_assert_stored(&w->s, &w->c, 0);
	/* The stop waits for the check and stores the batch itself. */
	collector_http_shutdown(w->h);
	sfix_assert_stored(&w->s, &w->c, 3);
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 200);
	assert_int_equal(jint(&r, "acked_seq"), 3);
	assert_int_equal(jint(&r, "stored"), 3);
	cresp_clear(&r);
	/* What comes after on the same connection: 503, and /healthz says
	 * the collector is stopping. */
	send_chain(&c, 3, 2);
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 503);
	assert_string_equal(cresp_error(&r, "unavailable"),
	    "the collector is "
	    "stopping; try again later");
	assert_string_equal(cresp_header(&r, "Retry-After", hdr, sizeof(hdr)),
	    "5");
	cresp_clear(&r);
	cclient_sends(&c, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_true(cclient_answer(&c, &r));
	assert_int_equal(r.status, 200);
	assert_string_equal(jstr(&r, "status"), "stopping");
	cresp_clear(&r);
	sfix_assert_stored(&w->s, &w->c, 3);
	/* A new connection is not served any more. */
	cclient_open(w, &late, 0);
	cclient_sends(&late, "GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n");
	assert_false(cfix_run_until(w, got_bytes, &late, 300));
	cclient_close(&late);
	cclient_close(&c);
	assert_false(collector_http_busy(w->h));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, cfix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_enroll_redeems_token_once),
		T(test_enroll_bad_requests_refused),
		T(test_batch_stored_with_receipt),
		T(test_batch_replay_counted_as_duplicates),
		T(test_batch_chain_break_conflict),
		T(test_batch_bad_signature_refused),
		T(test_batch_refused_from_head),
		T(test_malformed_heads_refused),
		T(test_body_over_max_body_refused),
		T(test_pipelined_requests_answered_in_order),
		T(test_read_endpoint_needs_token),
		T(test_client_gone_batch_still_stored),
		T(test_shutdown_answers_batch_in_flight),
	};

	/* A client that goes away must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("collector_http", tests, NULL, NULL);
}
