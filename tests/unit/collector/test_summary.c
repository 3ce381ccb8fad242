/* test_summary.c -- the summaries over a SQLite store (and PostgreSQL
 * when CW_TEST_PG_URL names a database the test may wipe): availability,
 * median and p95 with odd and even counts, bucket edges, NSID sets,
 * SOA serial lag with RFC 1982 wrap-around, JSON and CSV byte for byte,
 * paging, filters, an empty result; DNS and HTTP apart, HTTP targets
 * per host; RTTs out of range stored before ingest checked them; the
 * cap on the groups of one bucket; buckets of 1 and 7 minutes and the
 * lengths refused; series of two names at one address apart. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <jansson.h>
#include <math.h>

#include "export.h"
#include "store_fixture.h"
#include "summary.h"

#define HOUR     (3600 * CW_USEC_PER_SEC)
#define DAY      (86400 * CW_USEC_PER_SEC)
#define FIVE_MIN (300 * CW_USEC_PER_SEC)

/* One DNS measurement.  `rtt` < 0: a timeout (no reply); `nsid` and
 * `server` may be NULL; `serial` < 0: none. */
struct meas {
	const char *time, *addr, *proto, *server, *nsid, *qname;
	double rtt;
	long long serial;
};

static void
meas_add(struct schain *c, const struct meas *m)
{
	char body[1024], extra[256] = "";
	const char *proto = m->proto != NULL ? m->proto : "udp";
	int af = strchr(m->addr, ':') != NULL ? 6 : 4;

	if (m->rtt >= 0) {
		size_t n = (size_t)snprintf(extra, sizeof(extra),
		    ",\"ok\":true,\"failure\":null,\"rtt_ms\":%.3f,"
		    "\"rcode\":\"NOERROR\"",
		    m->rtt);
		if (m->nsid != NULL)
			n += (size_t)snprintf(extra + n, sizeof(extra) - n,
			    ",\"nsid\":\"%s\"", m->nsid);
		if (m->serial >= 0)
			snprintf(extra + n, sizeof(extra) - n,
			    ",\"soa_serial\":%lld", m->serial);
	} else
		snprintf(extra, sizeof(extra),
		    ",\"ok\":false,\"failure\":"
		    "\"generic_timeout_error\",\"rtt_ms\":null");
	snprintf(body, sizeof(body),
	    "\"time\":\"%s\",\"name\":\"m\"%s%s%s,"
	    "\"addr\":\"%s\",\"port\":53,\"af\":%d,\"proto\":\"%s\","
	    "\"query\":{\"qname\":\"%s\",\"qtype\":\"SOA\"}%s",
	    m->time, m->server != NULL ? ",\"server\":\"" : "",
	    m->server != NULL ? m->server : "", m->server != NULL ? "\"" : "",
	    m->addr, af, proto, m->qname != NULL ? m->qname : ".", extra);
	schain_add(c, "dns", body);
}

/* One HTTPS measurement of `host` at `addr`: `total` < 0 is a refused
 * connection; `extra` (may be "") goes on the end of the record. */
struct hmeas {
	const char *time, *addr, *host;
	double total;
	const char *extra;
};

static void
http_add(struct schain *c, const struct hmeas *m)
{
	char body[1024], result[128];

	if (m->total >= 0)
		snprintf(result, sizeof(result),
		    "\"ok\":true,\"failure\":null,"
		    "\"status\":200,\"total_ms\":%.3f",
		    m->total);
	else
		snprintf(result, sizeof(result),
		    "\"ok\":false,\"failure\":"
		    "\"connection_refused\",\"status\":null,\"total_ms\":null");
	snprintf(body, sizeof(body),
	    "\"time\":\"%s\",\"name\":\"web\","
	    "\"url\":\"https://%s/\",\"method\":\"GET\",\"host\":\"%s\","
	    "\"port\":443,\"addr\":\"%s\",\"af\":4,%s%s",
	    m->time, m->host, m->host, m->addr, result, m->extra);
	schain_add(c, "http", body);
}

static char *
run(struct sfix_test *t, const struct store_filter *f, cw_usec_t bucket,
    enum summary_format fmt, size_t page)
{
	struct evbuffer *buf = evbuffer_new();
	struct store_filter all;
	struct summary *s;
	char err[128], *out;
	size_t len;
	int rc, n = 0;

	if (f == NULL) {
		store_filter_init(&all);
		f = &all;
	}
	assert_non_null(buf);
	assert_non_null(
	    s = summary_new(t->s.st, f, bucket, fmt, err, sizeof(err)));
	if (page > 0)
		summary_set_page_rows(s, page);
	do {
		rc = summary_step(s, buf);
		assert_true(++n < 100000);
	} while (rc == 1);
	assert_int_equal(rc, 0);
	assert_int_equal(summary_step(s, buf), 0);
	summary_free(s);
	len = evbuffer_get_length(buf);
	assert_non_null(out = malloc(len + 1));
	evbuffer_remove(buf, out, len);
	out[len] = '\0';
	evbuffer_free(buf);
	return out;
}

/* The whole summary, `page` records at a time (0: the default), is
 * `want` byte for byte. */
static void
assert_summary(struct sfix_test *t, cw_usec_t bucket, enum summary_format fmt,
    size_t page, const char *want)
{
	char *got = run(t, NULL, bucket, fmt, page);

	assert_string_equal(got, want);
	free(got);
}

/* The JSON lines of a summary, as an array of buckets. */
static json_t *
run_json(struct sfix_test *t, const struct store_filter *f, cw_usec_t bucket)
{
	char *out = run(t, f, bucket, SUMMARY_JSON, 0), *line, *save = NULL;
	json_t *all = json_array();

	for (line = strtok_r(out, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_error_t e;
		json_t *b = json_loads(line, 0, &e);
		if (b == NULL)
			fail_msg("not JSON: %s: %s", e.text, line);
		json_array_append_new(all, b);
	}
	free(out);
	return all;
}

/* The JSON summary in hourly buckets of the records that the filter
 * `key`=`value` (as in a query string) selects. */
static json_t *
run_filtered(struct sfix_test *t, const char *key, const char *value)
{
	struct export_params p;
	char err[128];

	export_params_init(&p);
	if (export_params_set(&p, key, value, err, sizeof(err)) != 1)
		fail_msg("%s=%s: %s", key, value, err);
	return run_json(t, &p.filter, HOUR);
}

/* How many targets and probes `bucket` has. */
static void
assert_groups(json_t *bucket, size_t targets, size_t probes)
{
	assert_int_equal(json_array_size(json_object_get(bucket, "targets")),
	    targets);
	assert_int_equal(json_array_size(json_object_get(bucket, "probes")),
	    probes);
}

/* The group of bucket `b` whose key `key` is `value` (a string). */
static json_t *
group(json_t *bucket, const char *list, const char *key, const char *value)
{
	json_t *arr = json_object_get(bucket, list), *g;
	size_t i;

	json_array_foreach(arr, i, g) {
		if (strcmp(json_string_value(json_object_get(g, key)), value) ==
		    0)
			return g;
	}
	fail_msg("no %s with %s %s", list, key, value);
	return NULL;
}

static json_t *
target(json_t *bucket, const char *addr, const char *proto)
{
	json_t *arr = json_object_get(bucket, "targets"), *g;
	size_t i;

	json_array_foreach(arr, i, g) {
		if (strcmp(json_string_value(json_object_get(g, "addr")),
		        addr) == 0 &&
		    strcmp(json_string_value(json_object_get(g, "proto")),
		        proto) == 0)
			return g;
	}
	fail_msg("no target %s %s", addr, proto);
	return NULL;
}

static long long
num(json_t *g, const char *key)
{
	json_t *v = json_object_get(g, key);

	if (!json_is_integer(v))
		fail_msg("%s is not an integer", key);
	return (long long)json_integer_value(v);
}

static double
real(json_t *g, const char *key)
{
	json_t *v = json_object_get(g, key);

	if (!json_is_number(v))
		fail_msg("%s is not a number", key);
	return json_number_value(v);
}

#define assert_real(g, key, want) \
	do { \
		double got_ = real((g), (key)); \
		if (got_ < (want)-1e-9 || got_ > (want) + 1e-9) \
			fail_msg("%s: %.6f, want %.6f", (key), got_, \
			    (double)(want)); \
	} while (0)

/* --- tests --- */

static void
test_parse(void **state)
{
	enum summary_format fmt;
	cw_usec_t b;

	(void)state;
	assert_int_equal(summary_bucket_parse("5m", &b), 0);
	assert_int_equal(b, FIVE_MIN);
	assert_int_equal(summary_bucket_parse("1h", &b), 0);
	assert_int_equal(b, HOUR);
	assert_int_equal(summary_bucket_parse("1d", &b), 0);
	assert_int_equal(b, DAY);
	/* Any whole number of minutes, in any unit. */
	assert_int_equal(summary_bucket_parse("1m", &b), 0);
	assert_int_equal(b, 60 * CW_USEC_PER_SEC);
	assert_int_equal(summary_bucket_parse("7m", &b), 0);
	assert_int_equal(b, 7 * 60 * CW_USEC_PER_SEC);
	assert_int_equal(summary_bucket_parse("120s", &b), 0);
	assert_int_equal(b, 2 * 60 * CW_USEC_PER_SEC);
	assert_int_equal(summary_bucket_parse("2h", &b), 0);
	assert_int_equal(b, 2 * HOUR);
	assert_int_equal(summary_bucket_parse("366d", &b), 0);
	assert_int_equal(b, 366 * DAY);
	/* Not a multiple of a minute, nothing, too long, not a length. */
	assert_int_equal(summary_bucket_parse("90s", &b), -1);
	assert_int_equal(summary_bucket_parse("59s", &b), -1);
	assert_int_equal(summary_bucket_parse("0m", &b), -1);
	assert_int_equal(summary_bucket_parse("0s", &b), -1);
	assert_int_equal(summary_bucket_parse("367d", &b), -1);
	assert_int_equal(summary_bucket_parse("99999999999999999999m", &b), -1);
	assert_int_equal(summary_bucket_parse("-1m", &b), -1);
	assert_int_equal(summary_bucket_parse(" 1m", &b), -1);
	assert_int_equal(summary_bucket_parse("1", &b), -1);
	assert_int_equal(summary_bucket_parse("m", &b), -1);
	assert_int_equal(summary_bucket_parse("1mm", &b), -1);
	assert_int_equal(summary_bucket_parse("1w", &b), -1);
	assert_int_equal(summary_bucket_parse("", &b), -1);
	assert_int_equal(summary_format_parse("json", &fmt), 0);
	assert_int_equal(fmt, SUMMARY_JSON);
	assert_int_equal(summary_format_parse("csv", &fmt), 0);
	assert_int_equal(fmt, SUMMARY_CSV);
	assert_int_equal(summary_format_parse("jsonl", &fmt), -1);
	assert_string_equal(summary_content_type(SUMMARY_CSV),
	    "text/csv; charset=utf-8; header=present");
}

static void
test_serial_cmp(void **state)
{
	(void)state;
	assert_int_equal(summary_serial_cmp(1, 1), 0);
	assert_int_equal(summary_serial_cmp(1, 2), -1);
	assert_int_equal(summary_serial_cmp(2, 1), 1);
	/* Wrap-around: 0 comes after 2^32 - 1. */
	assert_int_equal(summary_serial_cmp(UINT32_MAX, 0), -1);
	assert_int_equal(summary_serial_cmp(0, UINT32_MAX), 1);
	assert_int_equal(summary_serial_cmp(4294967290u, 5), -1);
	assert_int_equal(summary_serial_cmp(0, 0x7fffffffu), -1);
	assert_int_equal(summary_serial_cmp(0x7fffffffu, 0), 1);
	assert_int_equal(summary_serial_cmp(0x80000001u, 0), -1);
	/* Exactly 2^31 apart: undefined. */
	assert_int_equal(summary_serial_cmp(0, 0x80000000u), 2);
	assert_int_equal(summary_serial_cmp(0x80000000u, 0), 2);
	assert_int_equal(summary_serial_cmp(5, 0x80000005u), 2);
}

#define CSV_HEADER \
	"start,end,kind,type,probe,probe_num,addr,port,proto,af,server," \
	"host,measurements,successes,availability_pct,rtt_median_ms," \
	"rtt_p95_ms,nsids,soa_measurements,soa_behind,soa_lag_max_s,name\r\n"

#define K4 "193.0.14.129"
#define KN "k.root-servers.net"

/* Availability, median (even), p95, NSIDs, a bucket edge on each side,
 * transports apart; the whole output byte for byte. */
static void
test_json_exact(void **state)
{
	static const struct meas ms[] = {
		{ "2026-11-26T10:00:00Z", K4, "udp", KN, "k1", ".", 10, -1 },
		{ "2026-11-26T10:10:00Z", K4, "udp", KN, "k2", ".", 40, -1 },
		{ "2026-11-26T10:20:00Z", K4, "udp", KN, "k1", ".", 30, -1 },
		{ "2026-11-26T10:30:00Z", K4, "tcp", KN, NULL, ".", 7.25, -1 },
		{ "2026-11-26T10:40:00Z", K4, "udp", KN, NULL, ".", 20, -1 },
		{ "2026-11-26T10:59:59.999999Z", K4, "udp", KN, NULL, ".", -1,
		    -1 },
		/* The next bucket, from its first microsecond: odd count. */
		{ "2026-11-26T11:00:00Z", K4, "udp", KN, NULL, ".", 100, -1 },
		{ "2026-11-26T11:30:00Z", K4, "udp", KN, NULL, ".", 1.5, -1 },
		{ "2026-11-26T11:59:59.999999Z", K4, "udp", KN, NULL, ".", 2.5,
		    -1 },
	};
	struct sfix_test *t = *state;
	char want[4096];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		meas_add(&t->c, &ms[i]);
	schain_ingest(&t->s, &t->c, 4);
	snprintf(want, sizeof(want),
	    "{\"start\":\"2026-11-26T10:00:00.000000Z\",\"end\":"
	    "\"2026-11-26T11:00:00.000000Z\",\"targets\":["
	    "{\"type\":\"dns\",\"name\":\"m\",\"addr\":\"" K4 "\",\"port\":53,"
	    "\"proto\":\"tcp\",\"af\":4,\"server\":\"" KN "\",\"host\":null"
	    ",\"measurements\":1,\"successes\":1,\"availability_pct\":100.0,"
	    "\"rtt_median_ms\":7.25,\"rtt_p95_ms\":7.25,\"nsids\":[],"
	    "\"soa_measurements\":0,\"soa_behind\":0,\"soa_lag_max_s\":null},"
	    "{\"type\":\"dns\",\"name\":\"m\",\"addr\":\"" K4 "\",\"port\":53,"
	    "\"proto\":\"udp\",\"af\":4,\"server\":\"" KN "\",\"host\":null"
	    ",\"measurements\":5,\"successes\":4,\"availability_pct\":80.0,"
	    "\"rtt_median_ms\":25.0,\"rtt_p95_ms\":40.0,\"nsids\":[\"k1\","
	    "\"k2\"],\"soa_measurements\":0,\"soa_behind\":0,"
	    "\"soa_lag_max_s\":null}],\"probes\":["
	    "{\"type\":\"dns\",\"name\":\"m\",\"probe\":\"%s\",\"probe_num\":1,"
	    "\"measurements\":6,"
	    "\"successes\":5,\"availability_pct\":83.333,\"rtt_median_ms\":"
	    "20.0,\"rtt_p95_ms\":40.0,\"nsids\":[\"k1\",\"k2\"],"
	    "\"soa_measurements\":0,\"soa_behind\":0,\"soa_lag_max_s\":null}]}"
	    "\n"
	    "{\"start\":\"2026-11-26T11:00:00.000000Z\",\"end\":"
	    "\"2026-11-26T12:00:00.000000Z\",\"targets\":["
	    "{\"type\":\"dns\",\"name\":\"m\",\"addr\":\"" K4 "\",\"port\":53,"
	    "\"proto\":\"udp\",\"af\":4,\"server\":\"" KN "\",\"host\":null"
	    ",\"measurements\":3,\"successes\":3,\"availability_pct\":100.0,"
	    "\"rtt_median_ms\":2.5,\"rtt_p95_ms\":100.0,\"nsids\":[],"
	    "\"soa_measurements\":0,\"soa_behind\":0,\"soa_lag_max_s\":null}],"
	    "\"probes\":[{\"type\":\"dns\",\"name\":\"m\",\"probe\":\"%s\",\"probe_num\":1,"
	    "\"measurements\":3,"
	    "\"successes\":3,\"availability_pct\":100.0,\"rtt_median_ms\":2.5,"
	    "\"rtt_p95_ms\":100.0,\"nsids\":[],\"soa_measurements\":0,"
	    "\"soa_behind\":0,\"soa_lag_max_s\":null}]}\n",
	    t->p->id, t->p->id);
	assert_summary(t, HOUR, SUMMARY_JSON, 0, want);
	/* One record per page: the same. */
	assert_summary(t, HOUR, SUMMARY_JSON, 1, want);
	/* Three at a time: pages end inside and at bucket edges. */
	assert_summary(t, HOUR, SUMMARY_JSON, 3, want);
}

/* The same kind of data as CSV, with text to quote and guard. */
static void
test_csv_exact(void **state)
{
	static const struct meas ms[] = {
		{ "2026-11-26T10:00:00Z", K4, "udp", "=evil,\\\"x\\\"", "a b",
		    ".", 12.345, -1 },
		{ "2026-11-26T10:01:00Z", K4, "udp", NULL, "-c", ".", 12.346,
		    -1 },
		{ "2026-11-26T10:02:00Z", "2001:7fd::1", "tcp", NULL, NULL, ".",
		    -1, -1 },
	};
	struct sfix_test *t = *state;
	char want[4096];

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		meas_add(&t->c, &ms[i]);
	schain_ingest(&t->s, &t->c, 10);
#define B "2026-11-26T10:00:00.000000Z,2026-11-26T10:05:00.000000Z,"
	snprintf(want, sizeof(want),
	    CSV_HEADER B
	    "target,dns,,,193.0.14.129,53,udp,4,\"'=evil,\"\"x\"\"\",,2,2,"
	    "100.000,12.346,12.346,'-c a\\032b,0,0,,m\r\n" B
	    "target,dns,,,2001:7fd::1,53,tcp,6,,,1,0,0.000,,,,0,0,,m\r\n" B
	    "probe,dns,%s,1,,,,,,,3,2,66.667,12.346,12.346,'-c a\\032b,0,0,"
	    ",m\r\n",
	    t->p->id);
#undef B
	assert_summary(t, FIVE_MIN, SUMMARY_CSV, 0, want);
}

/* Percentiles: nearest rank for p95, the mean of the middle two (to
 * the microsecond, half up) for an even median. */
static void
test_percentiles(void **state)
{
	struct sfix_test *t = *state;
	struct meas m = { NULL, K4, "udp", KN, NULL, ".", 0, -1 };
	char when[64];
	json_t *all, *g;

	for (int i = 1; i <= 20; i++) {
		snprintf(when, sizeof(when), "2026-11-26T10:%02d:00Z", i);
		m.time = when;
		m.rtt = 21 - i; /* 20 .. 1, unordered */
		meas_add(&t->c, &m);
	}
	/* Another target: two values whose mean needs rounding. */
	m.addr = "198.41.0.4";
	m.time = "2026-11-26T10:30:00Z";
	m.rtt = 1.000;
	meas_add(&t->c, &m);
	m.time = "2026-11-26T10:31:00Z";
	m.rtt = 1.001;
	meas_add(&t->c, &m);
	/* A third: 21 values, p95 at rank 20. */
	m.addr = "199.9.14.201";
	for (int i = 1; i <= 21; i++) {
		snprintf(when, sizeof(when), "2026-11-26T10:%02d:30Z", i);
		m.time = when;
		m.rtt = i;
		meas_add(&t->c, &m);
	}
	schain_ingest(&t->s, &t->c, 50);
	all = run_json(t, NULL, HOUR);
	assert_int_equal(json_array_size(all), 1);
	g = target(json_array_get(all, 0), K4, "udp");
	assert_int_equal(num(g, "measurements"), 20);
	assert_real(g, "rtt_median_ms", 10.5);
	assert_real(g, "rtt_p95_ms", 19);
	g = target(json_array_get(all, 0), "198.41.0.4", "udp");
	assert_real(g, "rtt_median_ms", 1.001);
	assert_real(g, "rtt_p95_ms", 1.001);
	g = target(json_array_get(all, 0), "199.9.14.201", "udp");
	assert_real(g, "rtt_median_ms", 11);
	assert_real(g, "rtt_p95_ms", 20);
	g = json_array_get(json_object_get(json_array_get(all, 0), "probes"),
	    0);
	assert_int_equal(num(g, "measurements"), 43);
	assert_real(g, "availability_pct", 100);
	json_decref(all);
}

/* SOA serial lag: behind the newest serial of the zone, by the time
 * since the first newer serial was seen; RFC 1982 wrap-around. */
static void
test_serial_lag(void **state)
{
	static const struct meas ms[] = {
		/* Zone ".": A and B. */
		{ "2026-11-26T10:00:00Z", "10.0.0.1", "udp", "a", NULL, ".", 1,
		    100 },
		{ "2026-11-26T10:05:00Z", "10.0.0.2", "udp", "b", NULL, ".", 1,
		    100 },
		{ "2026-11-26T10:10:00Z", "10.0.0.1", "udp", "a", NULL, ".", 1,
		    101 },
		{ "2026-11-26T10:15:00Z", "10.0.0.2", "udp", "b", NULL, ".", 1,
		    100 }, /* 300 s behind */
		{ "2026-11-26T10:20:00Z", "10.0.0.2", "udp", "b", NULL, ".", 1,
		    100 }, /* 600 s behind */
		{ "2026-11-26T10:25:00Z", "10.0.0.2", "udp", "b", NULL, ".", 1,
		    101 },
		/* Zone "ua.": C wraps past 2^32 - 1 to 5 on D. */
		{ "2026-11-26T12:00:00Z", "10.0.0.3", "udp", "c", NULL, "ua.",
		    1, 4294967295LL },
		{ "2026-11-26T12:05:00Z", "10.0.0.4", "udp", "d", NULL, "UA.",
		    1, 5 },
		{ "2026-11-26T12:10:00Z", "10.0.0.3", "udp", "c", NULL, "ua.",
		    1, 4294967295LL }, /* 300 s behind */
		/* Zone ".": A skips ahead to 103; B at 102 is behind 103,
		 * E at 99 behind everything since 10:00. */
		{ "2026-11-26T13:00:00Z", "10.0.0.1", "udp", "a", NULL, ".", 1,
		    103 },
		{ "2026-11-26T13:30:00Z", "10.0.0.2", "udp", "b", NULL, ".", 1,
		    102 }, /* 1800 s */
		{ "2026-11-26T13:40:00Z", "10.0.0.5", "udp", "e", NULL, ".", 1,
		    99 }, /* 13200 s */
		/* A timeout says nothing of serials. */
		{ "2026-11-26T13:50:00Z", "10.0.0.5", "udp", "e", NULL, ".", -1,
		    -1 },
	};
	struct sfix_test *t = *state;
	json_t *all, *b, *g;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		meas_add(&t->c, &ms[i]);
	schain_ingest(&t->s, &t->c, 5);
	all = run_json(t, NULL, DAY);
	assert_int_equal(json_array_size(all), 1);
	b = json_array_get(all, 0);
	assert_string_equal(json_string_value(json_object_get(b, "start")),
	    "2026-11-26T00:00:00.000000Z");
	assert_string_equal(json_string_value(json_object_get(b, "end")),
	    "2026-11-27T00:00:00.000000Z");
	g = group(b, "targets", "addr", "10.0.0.1");
	assert_int_equal(num(g, "soa_measurements"), 3);
	assert_int_equal(num(g, "soa_behind"), 0);
	assert_real(g, "soa_lag_max_s", 0);
	g = group(b, "targets", "addr", "10.0.0.2");
	assert_int_equal(num(g, "soa_measurements"), 5);
	assert_int_equal(num(g, "soa_behind"), 3);
	assert_real(g, "soa_lag_max_s", 1800);
	g = group(b, "targets", "addr", "10.0.0.3");
	assert_int_equal(num(g, "soa_measurements"), 2);
	assert_int_equal(num(g, "soa_behind"), 1);
	assert_real(g, "soa_lag_max_s", 300);
	g = group(b, "targets", "addr", "10.0.0.4");
	assert_int_equal(num(g, "soa_behind"), 0);
	g = group(b, "targets", "addr", "10.0.0.5");
	assert_int_equal(num(g, "measurements"), 2);
	assert_int_equal(num(g, "successes"), 1);
	assert_int_equal(num(g, "soa_measurements"), 1);
	assert_int_equal(num(g, "soa_behind"), 1);
	assert_real(g, "soa_lag_max_s", 13200);
	assert_real(g, "availability_pct", 50);
	g = json_array_get(json_object_get(b, "probes"), 0);
	assert_int_equal(num(g, "soa_measurements"), 12);
	assert_int_equal(num(g, "soa_behind"), 5);
	assert_real(g, "soa_lag_max_s", 13200);
	json_decref(all);

	/* In hourly buckets the lag goes with the bucket of the
	 * measurement that was behind; the zone's history carries over. */
	all = run_json(t, NULL, HOUR);
	assert_int_equal(json_array_size(all), 3); /* 10, 12, 13 h */
	g = group(json_array_get(all, 2), "targets", "addr", "10.0.0.2");
	assert_int_equal(num(g, "soa_behind"), 1);
	assert_real(g, "soa_lag_max_s", 1800);
	g = group(json_array_get(all, 0), "targets", "addr", "10.0.0.2");
	assert_real(g, "soa_lag_max_s", 600);
	json_decref(all);
}

/* Filters; records that are not measurements; a DNS result without a
 * target address counts for its probe only. */
static void
test_filters(void **state)
{
	struct sfix_test *t = *state;
	struct store_probe *other;
	struct schain c2;
	struct meas m = { "2026-11-26T10:00:00Z", K4, "udp", KN, "k1", ".", 5,
		-1 };
	json_t *all, *b, *g;

	meas_add(&t->c, &m);
	schain_add(&t->c, "heartbeat",
	    "\"time\":\"2026-11-26T10:01:00Z\","
	    "\"queue\":0");
	schain_add(&t->c, "dns",
	    "\"time\":\"2026-11-26T10:02:00Z\","
	    "\"name\":\"tld\",\"ok\":false,\"failure\":\"dns_no_servers\"");
	schain_add(&t->c, "tld_discovery",
	    "\"time\":\"2026-11-26T10:03:00Z\","
	    "\"ok\":true,\"failure\":null");
	schain_ingest(&t->s, &t->c, 10);
	other = sfix_probe(&t->s, "other", 9, NULL, -1);
	schain_init(&c2, other, "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0");
	m.addr = "2001:7fd::1";
	meas_add(&c2, &m);
	schain_ingest(&t->s, &c2, 10);
	schain_free(&c2);

	all = run_json(t, NULL, HOUR);
	b = json_array_get(all, 0);
	/* The probe's "m" and "tld" are groups of their own, sorted by
	 * name, then probe: the two probes' "m", then "tld" (which has no
	 * target). */
	assert_groups(b, 2, 3);
	g = json_array_get(json_object_get(b, "probes"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "name")), "m");
	assert_string_equal(json_string_value(json_object_get(g, "probe")),
	    t->p->id);
	assert_int_equal(num(g, "measurements"), 1);
	assert_int_equal(num(g, "successes"), 1);
	g = json_array_get(json_object_get(b, "probes"), 2);
	assert_string_equal(json_string_value(json_object_get(g, "name")),
	    "tld");
	assert_string_equal(json_string_value(json_object_get(g, "probe")),
	    t->p->id);
	assert_int_equal(num(g, "measurements"), 1);
	assert_int_equal(num(g, "successes"), 0);
	json_decref(all);

	all = run_filtered(t, "country", "UA");
	assert_groups(json_array_get(all, 0), 1, 2);
	json_decref(all);

	all = run_filtered(t, "addr", "2001:7fd:0::1");
	b = json_array_get(all, 0);
	assert_groups(b, 1, 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(b, "probes"), 0),
	                        "probe")),
	    other->id);
	json_decref(all);

	all = run_filtered(t, "to", "2026-11-26T10:00:00Z");
	assert_int_equal(json_array_size(all), 0);
	json_decref(all);
}

static void
test_empty(void **state)
{
	struct sfix_test *t = *state;

	assert_summary(t, HOUR, SUMMARY_JSON, 0, "");
	assert_summary(t, DAY, SUMMARY_CSV, 0, CSV_HEADER);
}

/* Many 5-minute buckets, read a few records at a time. */
static void
test_many_buckets(void **state)
{
	struct sfix_test *t = *state;
	struct meas m = { NULL, K4, "udp", KN, NULL, ".", 1, -1 };
	char when[64];
	json_t *all;

	for (int i = 0; i < 240; i++) { /* every 2.5 min for 10 h */
		snprintf(when, sizeof(when), "2026-11-26T%02d:%02d:%02dZ",
		    i * 150 / 3600, i * 150 / 60 % 60, i * 150 % 60);
		m.time = when;
		meas_add(&t->c, &m);
	}
	schain_ingest(&t->s, &t->c, 64);
	all = run_json(t, NULL, FIVE_MIN);
	assert_int_equal(json_array_size(all), 120);
	for (size_t i = 0; i < 120; i++)
		assert_int_equal(
		    num(json_array_get(json_object_get(json_array_get(all, i),
		                           "targets"),
		            0),
		        "measurements"),
		    2);
	json_decref(all);
}

/* The start of bucket `i` of `all` and a number of its first target. */
static const char *
bucket_start(json_t *all, size_t i)
{
	return json_string_value(
	    json_object_get(json_array_get(all, i), "start"));
}

static json_t *
first_target(json_t *all, size_t i)
{
	return json_array_get(json_object_get(json_array_get(all, i),
	                          "targets"),
	    0);
}

/* One-minute buckets: each minute its own figures, the edges exact,
 * the minute without measurements not written. */
static void
test_minute_buckets(void **state)
{
	static const struct meas ms[] = {
		{ "2026-11-26T10:00:10Z", K4, "udp", KN, NULL, ".", 10, -1 },
		{ "2026-11-26T10:00:59.999999Z", K4, "udp", KN, NULL, ".", 30,
		    -1 },
		{ "2026-11-26T10:01:00Z", K4, "udp", KN, NULL, ".", -1, -1 },
		{ "2026-11-26T10:01:30Z", K4, "udp", KN, NULL, ".", 5, -1 },
		{ "2026-11-26T10:01:40Z", K4, "udp", KN, NULL, ".", -1, -1 },
		{ "2026-11-26T10:03:00Z", K4, "udp", KN, NULL, ".", 7.5, -1 },
	};
	struct sfix_test *t = *state;
	cw_usec_t minute;
	json_t *all, *g;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		meas_add(&t->c, &ms[i]);
	schain_ingest(&t->s, &t->c, 10);
	assert_int_equal(summary_bucket_parse("1m", &minute), 0);
	all = run_json(t, NULL, minute);
	assert_int_equal(json_array_size(all), 3);
	assert_string_equal(bucket_start(all, 0),
	    "2026-11-26T10:00:00.000000Z");
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(all, 0), "end")),
	    "2026-11-26T10:01:00.000000Z");
	g = first_target(all, 0);
	assert_int_equal(num(g, "measurements"), 2);
	assert_int_equal(num(g, "successes"), 2);
	assert_real(g, "rtt_median_ms", 20);
	assert_real(g, "rtt_p95_ms", 30);
	assert_string_equal(bucket_start(all, 1),
	    "2026-11-26T10:01:00.000000Z");
	g = first_target(all, 1);
	assert_int_equal(num(g, "measurements"), 3);
	assert_int_equal(num(g, "successes"), 1);
	assert_real(g, "availability_pct", 33.333);
	assert_real(g, "rtt_median_ms", 5);
	assert_string_equal(bucket_start(all, 2),
	    "2026-11-26T10:03:00.000000Z");
	g = first_target(all, 2);
	assert_int_equal(num(g, "measurements"), 1);
	assert_real(g, "rtt_median_ms", 7.5);
	json_decref(all);
}

/* Seven-minute buckets, aligned to multiples of 7 minutes since the
 * epoch: 2026-11-26T10:00:00Z is 1795687200 s, 09:55:00 the multiple
 * of 420 s before it, so the buckets run 09:55-10:02, 10:02-10:09. */
static void
test_seven_minute_buckets(void **state)
{
	static const struct meas ms[] = {
		{ "2026-11-26T09:55:00Z", K4, "udp", KN, NULL, ".", 1, -1 },
		{ "2026-11-26T10:01:59.999999Z", K4, "udp", KN, NULL, ".", 3,
		    -1 },
		{ "2026-11-26T10:02:00Z", K4, "udp", KN, NULL, ".", 4, -1 },
		{ "2026-11-26T10:08:00Z", K4, "udp", KN, NULL, ".", -1, -1 },
	};
	struct sfix_test *t = *state;
	cw_usec_t seven;
	json_t *all, *g;

	for (size_t i = 0; i < sizeof(ms) / sizeof(ms[0]); i++)
		meas_add(&t->c, &ms[i]);
	schain_ingest(&t->s, &t->c, 10);
	assert_int_equal(summary_bucket_parse("7m", &seven), 0);
	all = run_json(t, NULL, seven);
	assert_int_equal(json_array_size(all), 2);
	assert_string_equal(bucket_start(all, 0),
	    "2026-11-26T09:55:00.000000Z");
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(all, 0), "end")),
	    "2026-11-26T10:02:00.000000Z");
	g = first_target(all, 0);
	assert_int_equal(num(g, "measurements"), 2);
	assert_real(g, "rtt_median_ms", 2);
	assert_string_equal(bucket_start(all, 1),
	    "2026-11-26T10:02:00.000000Z");
	g = first_target(all, 1);
	assert_int_equal(num(g, "measurements"), 2);
	assert_int_equal(num(g, "successes"), 1);
	assert_real(g, "availability_pct", 50);
	json_decref(all);
}

/* An SOA series and a hostname.bind series of one address are targets
 * (and probe groups) of their own: never merged. */
static void
test_names_apart(void **state)
{
	struct sfix_test *t = *state;
	json_t *all, *b, *g;
	char *csv;

	schain_add(&t->c, "dns",
	    "\"time\":\"2026-11-26T10:00:00Z\",\"name\":\"root-soa\","
	    "\"addr\":\"" K4 "\",\"port\":53,\"af\":4,\"proto\":\"udp\","
	    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},\"ok\":true,"
	    "\"failure\":null,\"rtt_ms\":10,\"rcode\":\"NOERROR\","
	    "\"soa_serial\":7");
	schain_add(&t->c, "dns",
	    "\"time\":\"2026-11-26T10:00:01Z\",\"name\":\"k-id\","
	    "\"addr\":\"" K4 "\",\"port\":53,\"af\":4,\"proto\":\"udp\","
	    "\"query\":{\"qname\":\"hostname.bind.\",\"qtype\":\"TXT\","
	    "\"qclass\":\"CH\"},\"ok\":false,\"failure\":"
	    "\"generic_timeout_error\",\"rtt_ms\":null");
	schain_add(&t->c, "dns",
	    "\"time\":\"2026-11-26T10:00:02Z\",\"name\":\"k-id\","
	    "\"addr\":\"" K4 "\",\"port\":53,\"af\":4,\"proto\":\"udp\","
	    "\"query\":{\"qname\":\"hostname.bind.\",\"qtype\":\"TXT\","
	    "\"qclass\":\"CH\"},\"ok\":true,\"failure\":null,\"rtt_ms\":50,"
	    "\"rcode\":\"NOERROR\"");
	schain_ingest(&t->s, &t->c, 10);
	all = run_json(t, NULL, HOUR);
	assert_int_equal(json_array_size(all), 1);
	b = json_array_get(all, 0);
	assert_groups(b, 2, 2);
	/* Sorted by name: k-id, then root-soa. */
	g = json_array_get(json_object_get(b, "targets"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "name")),
	    "k-id");
	assert_string_equal(json_string_value(json_object_get(g, "addr")), K4);
	assert_int_equal(num(g, "measurements"), 2);
	assert_int_equal(num(g, "successes"), 1);
	assert_real(g, "rtt_median_ms", 50);
	assert_int_equal(num(g, "soa_measurements"), 0);
	g = json_array_get(json_object_get(b, "targets"), 1);
	assert_string_equal(json_string_value(json_object_get(g, "name")),
	    "root-soa");
	assert_string_equal(json_string_value(json_object_get(g, "addr")), K4);
	assert_int_equal(num(g, "measurements"), 1);
	assert_real(g, "availability_pct", 100);
	assert_real(g, "rtt_median_ms", 10);
	assert_int_equal(num(g, "soa_measurements"), 1);
	g = json_array_get(json_object_get(b, "probes"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "name")),
	    "k-id");
	assert_int_equal(num(g, "measurements"), 2);
	json_decref(all);
	/* The CSV's last column names each row's series. */
	csv = run(t, NULL, HOUR, SUMMARY_CSV, 0);
	assert_non_null(
	    strstr(csv, ",2,1,50.000,50.000,50.000,,0,0,,k-id\r\n"));
	assert_non_null(
	    strstr(csv, ",1,1,100.000,10.000,10.000,,1,0,0.000,root-soa\r\n"));
	free(csv);
}

/* DNS and HTTP of one probe in groups of their own, DNS first; one
 * address serving two hosts is two HTTP targets; an HTTP record's stray
 * NSID and SOA serial count for nothing (nor in the zone's serials). */
static void
test_types(void **state)
{
	static const struct meas dns[] = {
		{ "2026-11-26T10:00:00Z", K4, "udp", KN, "k1", ".", 10, 100 },
		{ "2026-11-26T10:15:00Z", K4, "udp", KN, "k1", ".", 30, 100 },
		{ "2026-11-26T10:30:00Z", K4, "udp", KN, NULL, ".", 20, -1 },
	};
	static const struct hmeas http[] = {
		{ "2026-11-26T10:05:00Z", "192.0.2.10", "a.example", 200, "" },
		{ "2026-11-26T10:10:00Z", "192.0.2.10", "b.example", 500,
		    ",\"nsid\":\"x\",\"soa_serial\":999,\"query\":{\"qname\":"
		    "\".\",\"qtype\":\"SOA\"}" },
		{ "2026-11-26T10:20:00Z", "192.0.2.10", "a.example", 400, "" },
		{ "2026-11-26T10:25:00Z", "192.0.2.10", "a.example", -1, "" },
		{ "2026-11-26T10:35:00Z", "192.0.2.11", "a.example", 600, "" },
	};
	struct sfix_test *t = *state;
	char want[4096];
	json_t *all, *b;

	meas_add(&t->c, &dns[0]);
	http_add(&t->c, &http[0]);
	http_add(&t->c, &http[1]);
	meas_add(&t->c, &dns[1]);
	http_add(&t->c, &http[2]);
	http_add(&t->c, &http[3]);
	meas_add(&t->c, &dns[2]);
	http_add(&t->c, &http[4]);
	schain_ingest(&t->s, &t->c, 3);
#define NO_DNS \
	"\"nsids\":null,\"soa_measurements\":null," \
	"\"soa_behind\":null,\"soa_lag_max_s\":null}"
#define WEB(addr, host) \
	"{\"type\":\"http\",\"name\":\"web\",\"addr\":\"" addr "\"," \
	"\"port\":443,\"proto\":\"https\",\"af\":4,\"server\":\"" host \
	"\",\"host\":\"" host "\","
	snprintf(want, sizeof(want),
	    "{\"start\":\"2026-11-26T10:00:00.000000Z\",\"end\":"
	    "\"2026-11-26T11:00:00.000000Z\",\"targets\":["
	    "{\"type\":\"dns\",\"name\":\"m\",\"addr\":\"" K4 "\",\"port\":53,"
	    "\"proto\":\"udp\",\"af\":4,\"server\":\"" KN "\",\"host\":null,"
	    "\"measurements\":3,\"successes\":3,\"availability_pct\":100.0,"
	    "\"rtt_median_ms\":20.0,\"rtt_p95_ms\":30.0,\"nsids\":[\"k1\"],"
	    "\"soa_measurements\":2,\"soa_behind\":0,\"soa_lag_max_s\":0.0}," WEB(
	        "192.0.2.10",
	        "a.example") "\"measurements\":3,\"successes\":2,"
	                     "\"availability_pct\":66.667,\"rtt_median_ms\":300.0,"
	                     "\"rtt_p95_ms\":400.0," NO_DNS
	                     "," WEB("192.0.2.10",
	                         "b.example") "\"measurements\":1,\"successes\":1,"
	                                      "\"availability_pct\":100.0,\"rtt_median_ms\":500.0,"
	                                      "\"rtt_p95_ms\":500.0," NO_DNS
	                                      "," WEB("192.0.2.11",
	                                          "a.example") "\"measurements\":1,\"successes\":1,"
	                                                       "\"availability_pct\":100.0,\"rtt_median_ms\":600.0,"
	                                                       "\"rtt_p95_ms\":600.0," NO_DNS
	                                                       "],\"probes\":["
	                                                       "{\"type\":\"dns\",\"name\":\"m\",\"probe\":\"%s\",\"probe_num\":1,"
	                                                       "\"measurements\":3,\"successes\":3,\"availability_pct\":100.0,"
	                                                       "\"rtt_median_ms\":20.0,\"rtt_p95_ms\":30.0,\"nsids\":[\"k1\"],"
	                                                       "\"soa_measurements\":2,\"soa_behind\":0,\"soa_lag_max_s\":0.0},"
	                                                       "{\"type\":\"http\",\"name\":\"web\",\"probe\":\"%s\",\"probe_num\":1,"
	                                                       "\"measurements\":5,\"successes\":4,\"availability_pct\":80.0,"
	                                                       "\"rtt_median_ms\":450.0,\"rtt_p95_ms\":600.0," NO_DNS
	                                                       "]}\n",
	    t->p->id, t->p->id);
#undef WEB
#undef NO_DNS
	assert_summary(t, HOUR, SUMMARY_JSON, 0, want);
	assert_summary(t, HOUR, SUMMARY_JSON, 1, want);

#define B "2026-11-26T10:00:00.000000Z,2026-11-26T11:00:00.000000Z,"
	snprintf(want, sizeof(want),
	    CSV_HEADER B
	    "target,dns,,," K4 ",53,udp,4," KN ",,3,3,100.000,20.000,"
	    "30.000,k1,2,0,0.000,m\r\n" B
	    "target,http,,,192.0.2.10,443,https,4,a.example,a.example,3,2,"
	    "66.667,300.000,400.000,,,,,web\r\n" B
	    "target,http,,,192.0.2.10,443,https,4,b.example,b.example,1,1,"
	    "100.000,500.000,500.000,,,,,web\r\n" B
	    "target,http,,,192.0.2.11,443,https,4,a.example,a.example,1,1,"
	    "100.000,600.000,600.000,,,,,web\r\n" B
	    "probe,dns,%s,1,,,,,,,3,3,100.000,20.000,30.000,k1,2,0,0.000,m\r\n" B
	    "probe,http,%s,1,,,,,,,5,4,80.000,450.000,600.000,,,,,web\r\n",
	    t->p->id, t->p->id);
#undef B
	assert_summary(t, HOUR, SUMMARY_CSV, 0, want);

	/* Filtered to one type: that type's groups only. */
	all = run_filtered(t, "type", "http");
	b = json_array_get(all, 0);
	assert_groups(b, 3, 1);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(b, "probes"), 0),
	                        "type")),
	    "http");
	assert_real(group(b, "probes", "type", "http"), "rtt_median_ms", 450);
	json_decref(all);
}

/* RTTs stored before ingest checked ranges (1e308, -1, infinities,
 * NaN) are counted as 0 or as the largest RTT a summary keeps (2^32 - 1
 * microseconds), and both formats are written whole. */
static void
test_out_of_range(void **state)
{
	static const double rtts[] = { 1e308, -1, INFINITY, -INFINITY, NAN,
		12.5 };
	struct sfix_test *t = *state;
	json_t *all, *g;
	char *csv, *line;

	for (size_t i = 0; i < sizeof(rtts) / sizeof(rtts[0]); i++)
		meas_add(&t->c,
		    &(struct meas){ .time = "2026-11-26T10:00:00Z",
		        .addr = "192.0.2.1",
		        .rtt = 1,
		        .serial = -1 });
	schain_ingest(&t->s, &t->c, 10);
	for (size_t i = 0; i < sizeof(rtts) / sizeof(rtts[0]); i++)
		free(sfix_overwrite(&t->s, &t->c, i + 1, "dns", "\"ok\":true",
		    rtts[i], 53));
	all = run_json(t, NULL, HOUR);
	assert_int_equal(json_array_size(all), 1);
	g = json_array_get(json_object_get(json_array_get(all, 0), "targets"),
	    0);
	assert_int_equal(json_integer_value(json_object_get(g, "measurements")),
	    6);
	assert_true(
	    json_real_value(json_object_get(g, "rtt_p95_ms")) == 4294967.295);
	assert_true(json_real_value(json_object_get(g, "rtt_median_ms")) >= 0);
	json_decref(all);
	csv = run(t, NULL, HOUR, SUMMARY_CSV, 0);
	assert_non_null(line = strstr(csv, "\r\n"));
	assert_non_null(strstr(line, ",4294967.295,"));
	free(csv);
}

/* A summary with a cap of `cap` groups a bucket, read 3 records a
 * step: its last result (it stays), its output in *out (caller frees). */
static int
run_capped(struct sfix_test *t, enum summary_format fmt, size_t cap, char **out)
{
	struct evbuffer *buf = evbuffer_new();
	struct store_filter all;
	struct summary *s;
	char err[128];
	size_t len;
	int rc, n = 0;

	assert_non_null(buf);
	store_filter_init(&all);
	assert_non_null(
	    s = summary_new(t->s.st, &all, HOUR, fmt, err, sizeof(err)));
	summary_set_max_groups(s, cap);
	summary_set_page_rows(s, 3);
	do {
		rc = summary_step(s, buf);
		assert_true(++n < 100000);
	} while (rc == 1);
	assert_int_equal(summary_step(s, buf), rc);
	summary_free(s);
	len = evbuffer_get_length(buf);
	assert_non_null(*out = malloc(len + 1));
	evbuffer_remove(buf, *out, len);
	(*out)[len] = '\0';
	evbuffer_free(buf);
	return rc;
}

/* A bucket of 19 targets and their probe (20 groups) passes a cap of
 * 20, byte for byte as without a cap, and is refused at 19 with nothing
 * written, not even the CSV header; the cap is of one bucket at a time
 * (the next hour has 11 groups more). */
static void
test_max_groups(void **state)
{
	static const enum summary_format fmts[] = { SUMMARY_JSON, SUMMARY_CSV };
	struct sfix_test *t = *state;
	struct meas m = { "2026-11-26T10:00:00Z", NULL, "udp", KN, NULL, ".", 5,
		-1 };
	char addr[32], *whole, *got;

	for (int i = 0; i < 29; i++) {
		if (i == 19)
			m.time = "2026-11-26T11:00:00Z";
		snprintf(addr, sizeof(addr), "192.0.2.%d", i % 19 + 1);
		m.addr = addr;
		meas_add(&t->c, &m);
	}
	schain_ingest(&t->s, &t->c, 64);
	for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
		whole = run(t, NULL, HOUR, fmts[k], 0);
		assert_true(strlen(whole) > 0);
		assert_int_equal(run_capped(t, fmts[k], 20, &got), 0);
		assert_string_equal(got, whole);
		free(got);
		assert_int_equal(run_capped(t, fmts[k], 19, &got),
		    SUMMARY_E_GROUPS);
		assert_string_equal(got, "");
		free(got);
		free(whole);
	}
}

/* Texts as long as a server may send: an NSID of 16,000 hex digits
 * that do not compress, a server name of 3,000 and a query name of
 * 2,000 bytes.  Each result is counted in its target's summary and the
 * NSID given whole, read a record a page (PostgreSQL reads these apart
 * from the results its covering indexes hold: store_read). */
static void
test_long_texts(void **state)
{
	struct sfix_test *t = *state;
	static char nsid[16001], body[20000];
	struct export_params ep;
	char err[128], *out;
	json_t *b, *g, *nsids;

	sfix_hex_noise(nsid, sizeof(nsid) - 1);
	for (int i = 0; i < 4; i++) {
		sfix_long_result(body, sizeof(body), i, nsid);
		schain_add(&t->c, "dns", body);
	}
	schain_ingest(&t->s, &t->c, 4);
	export_params_init(&ep);
	if (export_params_set(&ep, "addr", K4, err, sizeof(err)) != 1 ||
	    export_params_set(&ep, "name", "root-soa", err, sizeof(err)) != 1)
		fail_msg("%s", err);
	out = run(t, &ep.filter, HOUR, SUMMARY_JSON, 1);
	assert_non_null(b = json_loads(out, 0, NULL));
	free(out);
	g = target(b, K4, "udp");
	assert_int_equal(num(g, "measurements"), 4);
	assert_int_equal(num(g, "successes"), 4);
	assert_true(real(g, "rtt_median_ms") == 25.0);
	assert_true(real(g, "rtt_p95_ms") == 40.0);
	nsids = json_object_get(g, "nsids");
	assert_int_equal(json_array_size(nsids), 2);
	assert_true(
	    strcmp(json_string_value(json_array_get(nsids, 0)), nsid) == 0 ||
	    strcmp(json_string_value(json_array_get(nsids, 1)), nsid) == 0);
	json_decref(b);
}

#define SUMMARY_TESTS(setup) \
	SFIX_TEST(test_json_exact, setup), SFIX_TEST(test_csv_exact, setup), \
	    SFIX_TEST(test_percentiles, setup), \
	    SFIX_TEST(test_serial_lag, setup), SFIX_TEST(test_filters, setup), \
	    SFIX_TEST(test_empty, setup), SFIX_TEST(test_many_buckets, setup), \
	    SFIX_TEST(test_minute_buckets, setup), \
	    SFIX_TEST(test_seven_minute_buckets, setup), \
	    SFIX_TEST(test_names_apart, setup), SFIX_TEST(test_types, setup), \
	    SFIX_TEST(test_out_of_range, setup), \
	    SFIX_TEST(test_max_groups, setup), \
	    SFIX_TEST(test_long_texts, setup)

int
main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_serial_cmp),
	};
	const struct CMUnitTest sqlite_tests[] = { SUMMARY_TESTS(
	    sfix_setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { SUMMARY_TESTS(sfix_setup_pg) };
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("summary", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("summary on sqlite", sqlite_tests,
	    NULL, NULL);
	if (sfix_pg_url() != NULL)
		failed += cmocka_run_group_tests_name("summary on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("summary on postgresql: not run (CW_TEST_PG_URL "
		       "unset)\n");
	return failed != 0;
}
