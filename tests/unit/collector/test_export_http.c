/*
 * test_export_http.c -- the collector's read endpoints (export_http.c)
 * through the real service (collector_http.c) with a fake client on
 * loopback (collector_fixture.h), over a SQLite store: results in each
 * format streamed chunked with their Content-Type, byte for byte what
 * the exporter writes; a filter; the summary in both formats, and over
 * its cap of groups (400); every bad parameter a 400 naming it; the read
 * token, and public_read withholding heartbeats and what a volunteer
 * declares; a client that stops reading (its stream stays, one page at
 * a time, while the loop serves others, and completes once it reads);
 * a client that goes away mid-answer (its stream is freed); the
 * endpoints freed with an answer in flight (the client gets no last
 * chunk).  Leaks are AddressSanitizer's to find (the asan build).
 */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "export.h"
#include "summary.h"
#include "store_fixture.h"
#include "collector_fixture.h"

#define READ_AUTH   "Bearer " CFIX_READ_TOKEN
#define BIG_RECORDS 128 /* of BIG_PAD bytes: 8 MiB to stream */
#define BIG_PAD     64000

static const char r_ok[] =
    "\"time\":\"2026-11-26T10:00:00.123456Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\",\"id\":4660},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":12.345,\"rcode\":\"NOERROR\","
    "\"counts\":{\"qd\":1,\"an\":1,\"ns\":13,\"ar\":1},\"size\":118,"
    "\"soa_serial\":2026112600,\"nsid\":\"k1.ams\",\"abuf\":\"EjSEAA==\"";
static const char r_timeout[] =
    "\"time\":\"2026-11-26T10:05:00.000001Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"2001:7fd::1\",\"port\":53,\"af\":6,\"proto\":\"tcp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\",\"id\":7},\"ok\":false,"
    "\"failure\":\"generic_timeout_error\",\"rtt_ms\":null";
static const char r_heartbeat[] = "\"time\":\"2026-11-26T10:20:00Z\","
                                  "\"queue\":3";
static const char r_http[] =
    "\"time\":\"2026-11-26T10:30:00Z\","
    "\"name\":\"web\",\"url\":\"https://example.org/\",\"method\":"
    "\"GET\",\"host\":\"example.org\",\"port\":443,\"addr\":"
    "\"192.0.2.80\",\"af\":4,\"ok\":true,\"failure\":null,\"status\":200,"
    "\"total_ms\":45.5";

/* --- fixtures --- */

/* The service with the read endpoints (`public_read`, a summary of at
 * most `max_groups` groups) and four records stored: two DNS results,
 * a heartbeat (line 3), an HTTP result. */
static int
setup_with(void **state, bool public_read, size_t max_groups)
{
	struct collector_http_conf conf;
	struct cfix *w;

	cfix_conf(&conf);
	conf.public_read = public_read;
	w = cfix_new(&conf, true, max_groups);
	schain_add(&w->c, "dns", r_ok);
	schain_add(&w->c, "dns", r_timeout);
	schain_add(&w->c, "heartbeat", r_heartbeat);
	schain_add(&w->c, "http", r_http);
	schain_ingest(&w->s, &w->c, 10);
	*state = w;
	return 0;
}

static int
setup(void **state)
{
	return setup_with(state, false, SUMMARY_MAX_GROUPS);
}

static int
setup_public(void **state)
{
	return setup_with(state, true, SUMMARY_MAX_GROUPS);
}

static int
setup_capped(void **state)
{
	return setup_with(state, false, 3);
}

/* BIG_RECORDS more records of about BIG_PAD bytes each, stored. */
static void
store_big(struct cfix *w)
{
	char *body;

	assert_non_null(body = malloc(BIG_PAD + 16));
	memcpy(body, "\"pad\":\"", 7);
	memset(body + 7, 'x', BIG_PAD);
	strcpy(body + 7 + BIG_PAD, "\"");
	for (int i = 0; i < BIG_RECORDS; i++)
		schain_add(&w->c, "dns", body);
	free(body);
	schain_ingest(&w->s, &w->c, 32);
}

/* --- what the exporter itself writes --- */

/* The whole output of `e` or `s` (one of them), NUL-terminated; the
 * caller frees it. */
static char *
drain_steps(struct exporter *e, struct summary *s)
{
	struct evbuffer *buf = evbuffer_new();
	size_t len;
	char *out;
	int rc;

	assert_non_null(buf);
	while (
	    (rc = e != NULL ? export_step(e, buf) : summary_step(s, buf)) == 1)
		;
	assert_int_equal(rc, 0);
	len = evbuffer_get_length(buf);
	assert_non_null(out = malloc(len + 1));
	evbuffer_remove(buf, out, len);
	out[len] = '\0';
	evbuffer_free(buf);
	export_free(e);
	summary_free(s);
	return out;
}

/* export_new() of everything (heartbeats left out when `anonymous`),
 * optionally of one record `type`, in `fmt`, run to its end. */
static char *
lib_results(struct cfix *w, enum export_format fmt, bool anonymous,
    const char *type)
{
	struct store_filter f;
	struct exporter *e;
	char err[128];

	store_filter_init(&f);
	f.no_heartbeats = anonymous;
	f.type = type;
	assert_non_null(e = export_new(w->s.st, &f, fmt, err, sizeof(err)));
	return drain_steps(e, NULL);
}

static char *
lib_summary(struct cfix *w, cw_usec_t bucket, enum summary_format fmt)
{
	struct store_filter f;
	struct summary *s;
	char err[128];

	store_filter_init(&f);
	assert_non_null(
	    s = summary_new(w->s.st, &f, bucket, fmt, err, sizeof(err)));
	return drain_steps(NULL, s);
}

/* A 200 (not to be cached) as `type` whose body is `want` (taken):
 * chunked when it took more than one step, else with its length. */
static void
assert_answer(struct cresp *r, const char *type, char *want)
{
	char hdr[128];

	assert_int_equal(r->status, 200);
	assert_string_equal(cresp_header(r, "Content-Type", hdr, sizeof(hdr)),
	    type);
	assert_string_equal(cresp_header(r, "Cache-Control", hdr, sizeof(hdr)),
	    "no-store");
	assert_true(strlen(want) > 0);
	assert_int_equal(r->len, strlen(want));
	assert_string_equal(r->body, want);
	free(want);
	cresp_clear(r);
}

/* --- results and summaries --- */

static void
test_results_jsonl_are_the_stored_bytes(void **state)
{
	struct cfix *w = *state;
	struct cresp r;
	size_t rows;
	char *stored = sfix_stored(&w->s, &rows);

	assert_int_equal(rows, 4);
	assert_int_equal(cfix_get(w, "/api/v1/results", READ_AUTH, &r), 200);
	/* The exporter's bytes are the records as stored, heartbeat too. */
	assert_string_equal(r.body, stored);
	free(stored);
	assert_answer(&r, "application/x-ndjson",
	    lib_results(w, EXPORT_JSONL, false, NULL));
	assert_int_equal(cfix_get(w, "/api/v1/results?format=jsonl", READ_AUTH,
	                     &r),
	    200);
	assert_answer(&r, "application/x-ndjson",
	    lib_results(w, EXPORT_JSONL, false, NULL));
	assert_int_equal(export_http_streams(w->x), 0);
}

static void
test_results_csv_and_atlas_content_types(void **state)
{
	struct cfix *w = *state;
	struct cresp r;

	assert_int_equal(cfix_get(w, "/api/v1/results?format=csv", READ_AUTH,
	                     &r),
	    200);
	assert_int_equal(sfix_count_lines(r.body), 5); /* header, 4 rows */
	assert_answer(&r, "text/csv; charset=utf-8; header=present",
	    lib_results(w, EXPORT_CSV, false, NULL));
	assert_int_equal(cfix_get(w, "/api/v1/results?format=atlas", READ_AUTH,
	                     &r),
	    200);
	assert_answer(&r, "application/x-ndjson",
	    lib_results(w, EXPORT_ATLAS, false, NULL));
}

static void
test_results_filtered(void **state)
{
	struct cfix *w = *state;
	struct cresp r;
	char *want;

	assert_int_equal(cfix_get(w, "/api/v1/results?type=heartbeat",
	                     READ_AUTH, &r),
	    200);
	assert_true(asprintf(&want, "%s\n", w->c.lines[2]) > 0);
	assert_string_equal(r.body, want);
	free(want);
	assert_answer(&r, "application/x-ndjson",
	    lib_results(w, EXPORT_JSONL, false, "heartbeat"));
	/* Several filters at once: the two root-soa results. */
	assert_int_equal(cfix_get(w,
	                     "/api/v1/results?format=csv&name="
	                     "root-soa&country=ua&asn=64500",
	                     READ_AUTH, &r),
	    200);
	assert_int_equal(sfix_count_lines(r.body), 3);
	assert_non_null(strstr(r.body, ",root-soa,"));
	assert_null(strstr(r.body, ",web,"));
	cresp_clear(&r);
	/* A filter that selects nothing: a CSV header alone. */
	assert_int_equal(cfix_get(w, "/api/v1/results?format=csv&asn=1",
	                     READ_AUTH, &r),
	    200);
	assert_int_equal(sfix_count_lines(r.body), 1);
	assert_true(strncmp(r.body, "probe,probe_num,chain,", 22) == 0);
	cresp_clear(&r);
}

static void
test_summary_json_and_csv(void **state)
{
	struct cfix *w = *state;
	struct cresp r;

	assert_int_equal(cfix_get(w, "/api/v1/summary?bucket=1d&format=json",
	                     READ_AUTH, &r),
	    200);
	/* One bucket: three targets, the probe's DNS and HTTP groups. */
	assert_non_null(r.json);
	assert_int_equal(json_array_size(json_object_get(r.json, "targets")),
	    3);
	assert_int_equal(json_array_size(json_object_get(r.json, "probes")), 2);
	assert_answer(&r, "application/x-ndjson",
	    lib_summary(w, 86400 * CW_USEC_PER_SEC, SUMMARY_JSON));
	assert_int_equal(cfix_get(w, "/api/v1/summary?format=csv", READ_AUTH,
	                     &r),
	    200);
	assert_answer(&r, "text/csv; charset=utf-8; header=present",
	    lib_summary(w, 3600 * CW_USEC_PER_SEC, SUMMARY_CSV));
	/* Any whole number of minutes, in any unit. */
	assert_int_equal(cfix_get(w, "/api/v1/summary?bucket=7m&format=json",
	                     READ_AUTH, &r),
	    200);
	assert_answer(&r, "application/x-ndjson",
	    lib_summary(w, 7 * 60 * CW_USEC_PER_SEC, SUMMARY_JSON));
	assert_int_equal(cfix_get(w, "/api/v1/summary?bucket=60s&format=csv",
	                     READ_AUTH, &r),
	    200);
	assert_answer(&r, "text/csv; charset=utf-8; header=present",
	    lib_summary(w, 60 * CW_USEC_PER_SEC, SUMMARY_CSV));
}

static void
test_summary_over_group_cap_refused(void **state)
{
	struct cfix *w = *state;
	struct cresp r;

	assert_int_equal(cfix_get(w, "/api/v1/summary?bucket=1d", READ_AUTH,
	                     &r),
	    400);
	assert_string_equal(cresp_error(&r, "bad_request"),
	    "the summary has "
	    "more than 3 targets and probes in one bucket: narrow it (probe, "
	    "type, name, addr, country, asn, a shorter from/to) or use a "
	    "smaller bucket");
	cresp_clear(&r);
	/* Narrowed to one target, it is served. */
	assert_int_equal(cfix_get(w,
	                     "/api/v1/summary?bucket=1d&addr="
	                     "193.0.14.129",
	                     READ_AUTH, &r),
	    200);
	assert_non_null(strstr(r.body, "193.0.14.129"));
	cresp_clear(&r);
	assert_int_equal(export_http_streams(w->x), 0);
}

static void
test_invalid_filters_refused(void **state)
{
	static const struct {
		const char *path;
		const char *detail; /* its start */
	} cases[] = {
		{ "/api/v1/results?format=xml",
		    "format: \"xml\" is not jsonl, csv or atlas" },
		{ "/api/v1/results?from=yesterday",
		    "from: \"yesterday\" is not a UTC time" },
		{ "/api/v1/results?colour=blue",
		    "unknown parameter \"colour\"" },
		{ "/api/v1/results?from=2026-11-27T00:00:00Z&"
		  "to=2026-11-26T00:00:00Z",
		    "from must be before to" },
		{ "/api/v1/results?asn=x", "asn: \"x\" is not an AS" },
		/* Not a whole number of minutes; nothing. */
		{ "/api/v1/summary?bucket=90s",
		    "bucket: \"90s\" is not a whole number of minutes up to "
		    "366 days" },
		{ "/api/v1/summary?bucket=0m",
		    "bucket: \"0m\" is not a whole number of minutes" },
		{ "/api/v1/summary?bucket=0", "bucket: \"0\" is not a whole" },
		{ "/api/v1/summary?format=jsonl",
		    "format: \"jsonl\" is not json or csv" },
		{ "/api/v1/probes?x=1", "unknown parameter \"x\"" },
	};
	static const char post[] = "POST /api/v1/results HTTP/1.1\r\n"
	                           "Host: t\r\nAuthorization: " READ_AUTH
	                           "\r\nContent-Length: 0"
	                           "\r\n\r\n";
	struct cfix *w = *state;
	char allow[32];
	struct cresp r;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(cfix_get(w, cases[i].path, READ_AUTH, &r),
		    400);
		cresp_error_starts(&r, "bad_request", cases[i].detail);
		cresp_clear(&r);
	}
	assert_int_equal(export_http_streams(w->x), 0);
	/* Not a GET: 405. */
	assert_int_equal(cfix_exchange(w, post, sizeof(post) - 1, &r), 405);
	assert_string_equal(cresp_error(&r, "method_not_allowed"), "use GET");
	assert_string_equal(cresp_header(&r, "Allow", allow, sizeof(allow)),
	    "GET");
	cresp_clear(&r);
}

/* --- who may read what --- */

static void
test_reads_need_the_token(void **state)
{
	static const char *const paths[] = {
		"/api/v1/results",
		"/api/v1/summary",
		"/api/v1/probes",
	};
	struct cfix *w = *state;
	struct cresp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		assert_int_equal(cfix_get(w, paths[i], NULL, &r), 401);
		assert_null(strstr(r.body, w->p->id));
		cresp_clear(&r);
		assert_int_equal(cfix_get(w, paths[i], "Bearer wrong", &r),
		    401);
		cresp_clear(&r);
	}
	assert_int_equal(export_http_streams(w->x), 0);
}

static void
test_public_read_withholds_the_volunteer(void **state)
{
	static const char *const keys[] = {
		"created_at",
		"id",
		"num",
		"pubkey",
		"revoked",
		"revoked_at",
	};
	char key[sodium_base64_ENCODED_LEN(RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct cfix *w = *state;
	struct cresp r;
	json_t *p;

	/* Anyone: the measurements, no heartbeat even when asked for. */
	assert_int_equal(cfix_get(w, "/api/v1/results", NULL, &r), 200);
	assert_int_equal(sfix_count_lines(r.body), 3);
	assert_null(strstr(r.body, "\"heartbeat\""));
	assert_answer(&r, "application/x-ndjson",
	    lib_results(w, EXPORT_JSONL, true, NULL));
	assert_int_equal(cfix_get(w, "/api/v1/results?type=heartbeat", NULL,
	                     &r),
	    200);
	assert_int_equal(r.len, 0);
	cresp_clear(&r);
	/* The probes: number, id, public key, enrollment, revocation; no
	 * more. */
	assert_int_equal(cfix_get(w, "/api/v1/probes", NULL, &r), 200);
	assert_non_null(
	    p = json_array_get(json_object_get(r.json, "probes"), 0));
	assert_int_equal(json_array_size(json_object_get(r.json, "probes")), 1);
	assert_int_equal(json_object_size(p), 6);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		assert_non_null(json_object_get(p, keys[i]));
	assert_string_equal(json_string_value(json_object_get(p, "id")),
	    w->p->id);
	assert_int_equal(json_integer_value(json_object_get(p, "num")), 1);
	sodium_bin2base64(key, sizeof(key), w->p->pubkey, RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	assert_string_equal(json_string_value(json_object_get(p, "pubkey")),
	    key);
	assert_true(json_is_false(json_object_get(p, "revoked")));
	assert_null(json_object_get(p, "name"));
	cresp_clear(&r);
	/* The read token: its name, when it was seen, what it declared. */
	assert_int_equal(cfix_get(w, "/api/v1/probes", READ_AUTH, &r), 200);
	p = json_array_get(json_object_get(r.json, "probes"), 0);
	assert_string_equal(json_string_value(json_object_get(p, "name")),
	    "kyiv-1");
	/* What it declared of itself: asked for, null or not. */
	assert_int_equal(json_object_size(p), 12);
	assert_non_null(json_object_get(p, "country"));
	assert_non_null(json_object_get(p, "last_heartbeat"));
	assert_true(json_is_string(json_object_get(p, "last_seen")));
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/api/v1/results", READ_AUTH, &r), 200);
	assert_int_equal(sfix_count_lines(r.body), 4);
	cresp_clear(&r);
}

/* --- slow and vanishing readers --- */

static bool
got_some(void *arg)
{
	return ((struct cclient *)arg)->got >= 64 * 1024;
}

struct streams_wait {
	struct cfix *w;
	size_t n;
};

static bool
streams_are(void *arg)
{
	struct streams_wait *sw = arg;

	return export_http_streams(sw->w->x) == sw->n;
}

/* A client that asks for every record and stops reading once it has
 * 64 KiB of the answer; *c left open. */
static void
stalled_reader(struct cfix *w, struct cclient *c)
{
	cclient_open(w, c, 4096);
	cclient_sends(c,
	    "GET /api/v1/results HTTP/1.1\r\nHost: t\r\n"
	    "Authorization: " READ_AUTH "\r\n\r\n");
	assert_true(cfix_run_until(w, got_some, c, CFIX_WAIT_MS));
	bufferevent_disable(c->bev, EV_READ);
	/* Whatever the kernel's buffers take, the rest waits. */
	cfix_run_for(w, 300);
	assert_int_equal(export_http_streams(w->x), 1);
}

static void
test_slow_reader_does_not_hold_the_loop(void **state)
{
	struct cfix *w = *state;
	struct streams_wait sw = { w, 0 };
	struct cclient slow;
	struct cresp r;
	size_t rows, before;
	char *stored;

	store_big(w);
	stored = sfix_stored(&w->s, &rows);
	assert_int_equal(rows, 4 + BIG_RECORDS);
	stalled_reader(w, &slow);
	before = slow.got;
	/* Others are served meanwhile, a whole export included. */
	assert_int_equal(cfix_get(w, "/healthz", NULL, &r), 200);
	cresp_clear(&r);
	assert_int_equal(cfix_get(w, "/api/v1/results?type=heartbeat",
	                     READ_AUTH, &r),
	    200);
	assert_int_equal(sfix_count_lines(r.body), 1);
	cresp_clear(&r);
	assert_int_equal(export_http_streams(w->x), 1);
	assert_int_equal(slow.got, before);
	assert_true(before < strlen(stored));
	/* Reading again, it gets all of it. */
	bufferevent_enable(slow.bev, EV_READ);
	assert_true(cclient_answer(&slow, &r));
	assert_int_equal(r.status, 200);
	assert_true(r.chunked);
	assert_int_equal(r.len, strlen(stored));
	assert_true(memcmp(r.body, stored, r.len) == 0);
	cresp_clear(&r);
	free(stored);
	assert_true(cfix_run_until(w, streams_are, &sw, CFIX_WAIT_MS));
	cclient_close(&slow);
}

static void
test_client_gone_mid_export_freed(void **state)
{
	struct cfix *w = *state;
	struct streams_wait sw = { w, 0 };
	struct cclient slow;
	struct cresp r;

	store_big(w);
	stalled_reader(w, &slow);
	cclient_close(&slow);
	/* The stream notices within its watch (a second) and is freed. */
	assert_true(cfix_run_until(w, streams_are, &sw, CFIX_WAIT_MS));
	assert_int_equal(cfix_get(w, "/healthz", NULL, &r), 200);
	cresp_clear(&r);
	/* The next export is whole. */
	assert_int_equal(cfix_get(w, "/api/v1/results?type=http", READ_AUTH,
	                     &r),
	    200);
	assert_int_equal(sfix_count_lines(r.body), 1);
	cresp_clear(&r);
}

static void
test_freed_with_an_answer_in_flight(void **state)
{
	struct cfix *w = *state;
	struct cclient slow;
	struct cresp r;

	store_big(w);
	stalled_reader(w, &slow);
	/* As a stopping daemon does: the endpoints first. */
	export_http_free(w->x);
	w->x = NULL;
	bufferevent_enable(slow.bev, EV_READ);
	assert_true(cfix_run_until(w, cclient_eof, &slow, CFIX_WAIT_MS));
	/* The connection closed without the last chunk: a 200 begun, with
	 * some of the records, never whole. */
	assert_false(cclient_take(&slow, &r));
	assert_int_equal(slow.part.status, 200);
	assert_true(slow.part.chunked);
	assert_true(slow.part.len > 0);
	assert_true(slow.part.state != CRESP_DONE);
	cclient_close(&slow);
}

#define T(fn, s) cmocka_unit_test_setup_teardown(fn, s, cfix_teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_results_jsonl_are_the_stored_bytes, setup),
		T(test_results_csv_and_atlas_content_types, setup),
		T(test_results_filtered, setup),
		T(test_summary_json_and_csv, setup),
		T(test_summary_over_group_cap_refused, setup_capped),
		T(test_invalid_filters_refused, setup),
		T(test_reads_need_the_token, setup),
		T(test_public_read_withholds_the_volunteer, setup_public),
		T(test_slow_reader_does_not_hold_the_loop, setup),
		T(test_client_gone_mid_export_freed, setup),
		T(test_freed_with_an_answer_in_flight, setup),
	};

	/* A client that goes away must not kill the test. */
	signal(SIGPIPE, SIG_IGN);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("export_http", tests, NULL, NULL);
}
