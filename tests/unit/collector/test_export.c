/* test_export.c -- the exporter over a SQLite store (and PostgreSQL when
 * CW_TEST_PG_URL names a database the test may wipe): every format byte
 * for byte for known records, failures included; CSV quoting and
 * formula injection; paging across page boundaries, by rows and by
 * bytes; filters; an empty result; a database error; the filter
 * parameters; numbers out of range (1e308, NaN, 64-bit integers) stored
 * before ingest checked them; the evidence columns and keys (failure
 * detail, CHAOS TXT, late replies, truncation, TCP retry, attempts). */
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

#define CHAIN SFIX_CHAIN /* the test's chain, t->c */

/* --- the known records --- */

/* 1: a good answer over UDP. */
static const char r_ok[] =
    "\"time\":\"2026-11-26T10:00:00.123456Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"proto_requested\":\"udp\",\"query\":{\"qname\":\".\",\"qtype\":"
    "\"SOA\",\"qclass\":\"IN\",\"id\":4660,\"rd\":false},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":12.345,\"attempts\":1,\"rcode\":"
    "\"NOERROR\",\"counts\":{\"qd\":1,\"an\":1,\"ns\":13,\"ar\":1},"
    "\"size\":118,\"soa_serial\":2026112600,\"nsid\":\"k1.ams\","
    "\"abuf\":\"EjSEAA==\"";
/* 2: a timeout over TCP, IPv6. */
static const char r_timeout[] =
    "\"time\":\"2026-11-26T10:05:00.000001Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"2001:7fd::1\",\"port\":53,\"af\":6,\"proto\":\"tcp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\",\"qclass\":\"IN\","
    "\"id\":7,\"rd\":false},\"ok\":false,\"failure\":"
    "\"generic_timeout_error\",\"failure_detail\":\"no TCP connection "
    "within 4.000 s\",\"rtt_ms\":null,\"connect_ms\":null,\"attempts\":1";
/* 3: refused, an ad-hoc query (no name) of an address. */
static const char r_refused[] =
    "\"time\":\"2026-11-26T10:10:00Z\","
    "\"addr\":\"127.0.0.1\",\"port\":5353,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\"ua.\",\"qtype\":\"SOA\",\"qclass\":\"IN\","
    "\"id\":9,\"rd\":false},\"ok\":false,\"failure\":"
    "\"connection_refused\",\"failure_detail\":\"recv: Connection "
    "refused\",\"rtt_ms\":null";
/* 4: a SERVFAIL: failed, with a reply. */
static const char r_servfail[] =
    "\"time\":\"2026-11-26T10:15:00Z\","
    "\"name\":\"ua-soa\",\"server\":\"ns1.example\",\"addr\":"
    "\"192.0.2.53\",\"port\":53,\"af\":4,\"proto\":\"udp\",\"query\":"
    "{\"qname\":\"ua.\",\"qtype\":\"SOA\",\"id\":300},\"ok\":false,"
    "\"failure\":\"dns_servfail_error\",\"rtt_ms\":3.5,\"rcode\":"
    "\"SERVFAIL\",\"counts\":{\"qd\":1,\"an\":0,\"ns\":0,\"ar\":0},"
    "\"size\":20,\"abuf\":\"ASyBggABAAAAAAAA\"";
/* 5: a heartbeat. */
static const char r_heartbeat[] = "\"time\":\"2026-11-26T10:20:00Z\","
                                  "\"queue\":3";
/* 6: text from the network that a spreadsheet would run. */
static const char r_inject[] =
    "\"time\":\"2026-11-26T10:25:00Z\","
    "\"name\":\"x,y\",\"server\":\"=HYPERLINK(\\\"http://evil\\\")\","
    "\"addr\":\"192.0.2.1\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\"-1+1\",\"qtype\":\"TXT\",\"id\":1},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":1,\"rcode\":\"NOERROR\",\"counts\":"
    "{\"qd\":1,\"an\":1,\"ns\":0,\"ar\":0},\"size\":40,\"nsid\":"
    "\"@a\\nb\",\"abuf\":\"AAE=\"";
/* 7: an HTTP result. */
static const char r_http[] =
    "\"time\":\"2026-11-26T10:30:00Z\","
    "\"name\":\"web\",\"url\":\"https://example.org/\",\"method\":"
    "\"GET\",\"host\":\"example.org\",\"port\":443,\"addr\":"
    "\"192.0.2.80\",\"af\":4,\"ok\":true,\"failure\":null,\"dns_ms\":"
    "null,\"status\":200,\"http_version\":\"1.1\",\"connect_ms\":11.25,"
    "\"tls_ms\":null,\"ttfb_ms\":20.5,\"total_ms\":45.5,\"header_bytes\":"
    "310,\"body_bytes\":1256";

#define RA "2025-11-24T16:00:00.000000Z"
#define CSV_HEAD \
	"probe,probe_num,chain,seq,received_at,time,type,name," \
	"msm,server,addr,port,af,proto,qname,qtype,ok,failure,rtt_ms,rcode," \
	"nsid,soa_serial,country,asn,failure_detail,txt,late_count," \
	"late_differ,truncated,tcp_fallback,attempts,http_status\r\n"

/* @P@ is the probe id. */
static const char csv_expected[] = CSV_HEAD
    "@P@,1," CHAIN ",1," RA ",2026-11-26T10:00:00.123456Z,dns,root-soa,1,"
    "k.root-servers.net,193.0.14.129,53,4,udp,.,SOA,true,,12.345,NOERROR,"
    "k1.ams,2026112600,UA,64500,,,,,,false,1,\r\n"
    "@P@,1," CHAIN ",2," RA ",2026-11-26T10:05:00.000001Z,dns,root-soa,1,"
    "k.root-servers.net,2001:7fd::1,53,6,tcp,.,SOA,false,"
    "generic_timeout_error,,,,,UA,64500,no TCP connection within 4.000 s,"
    ",,,,false,1,\r\n"
    "@P@,1," CHAIN ",3," RA ",2026-11-26T10:10:00.000000Z,dns,,,,"
    "127.0.0.1,5353,4,udp,ua.,SOA,false,connection_refused,,,,,UA,"
    "64500,recv: Connection refused,,,,,false,,\r\n"
    "@P@,1," CHAIN ",4," RA ",2026-11-26T10:15:00.000000Z,dns,ua-soa,2,"
    "ns1.example,192.0.2.53,53,4,udp,ua.,SOA,false,dns_servfail_error,"
    "3.500,SERVFAIL,,,UA,64500,,,,,,false,,\r\n"
    "@P@,1," CHAIN ",5," RA ",2026-11-26T10:20:00.000000Z,heartbeat,"
    ",,,,,,,,,,,,,,,UA,64500,,,,,,,,\r\n"
    "@P@,1," CHAIN ",6," RA ",2026-11-26T10:25:00.000000Z,dns,\"x,y\",3,"
    "\"'=HYPERLINK(\"\"http://evil\"\")\",192.0.2.1,53,4,udp,'-1+1,TXT,"
    "true,,1.000,NOERROR,\"'@a\nb\",,UA,64500,,,,,,false,,\r\n"
    "@P@,1," CHAIN ",7," RA ",2026-11-26T10:30:00.000000Z,http,web,4,"
    "example.org,192.0.2.80,443,4,https,,,true,,45.500,,,,UA,64500,,,,,,,,"
    "200\r\n";

static const char atlas_expected[] =
    "{\"fw\":5020,\"af\":4,\"dst_addr\":\"193.0.14.129\",\"dst_name\":"
    "\"k.root-servers.net\",\"proto\":\"UDP\",\"from\":\"\",\"msm_id\":1,"
    "\"prb_id\":1,\"timestamp\":1795687200,\"type\":\"dns\",\"msm_name\":"
    "\"Tdig\",\"group_id\":1,\"result\":{\"rt\":12.345,\"size\":118,"
    "\"abuf\":\"EjSEAA==\",\"ID\":4660,\"ANCOUNT\":1,\"QDCOUNT\":1,"
    "\"NSCOUNT\":13,\"ARCOUNT\":1},\"retry\":0,\"corewatch\":"
    "{\"attempts\":1,\"tcp_fallback\":false}}\n"
    "{\"fw\":5020,\"af\":6,\"dst_addr\":\"2001:7fd::1\",\"dst_name\":"
    "\"k.root-servers.net\",\"proto\":\"TCP\",\"from\":\"\",\"msm_id\":1,"
    "\"prb_id\":1,\"timestamp\":1795687500,\"type\":\"dns\",\"msm_name\":"
    "\"Tdig\",\"group_id\":1,\"error\":{\"timeout\":4000},\"retry\":0,"
    "\"corewatch\":"
    "{\"failure\":\"generic_timeout_error\",\"failure_detail\":\"no TCP "
    "connection within 4.000 s\",\"attempts\":1,\"tcp_fallback\":false}}\n"
    "{\"fw\":5020,\"af\":4,\"dst_addr\":\"127.0.0.1\",\"dst_name\":"
    "\"127.0.0.1\",\"proto\":\"UDP\",\"from\":\"\",\"msm_id\":0,"
    "\"prb_id\":1,\"timestamp\":1795687800,\"type\":\"dns\",\"msm_name\":"
    "\"Tdig\",\"group_id\":0,\"error\":{\"socket\":\"connection_refused: "
    "recv: Connection refused\"},\"corewatch\":{\"failure\":"
    "\"connection_refused\",\"failure_detail\":\"recv: Connection "
    "refused\",\"tcp_fallback\":false}}\n"
    "{\"fw\":5020,\"af\":4,\"dst_addr\":\"192.0.2.53\",\"dst_name\":"
    "\"ns1.example\",\"proto\":\"UDP\",\"from\":\"\",\"msm_id\":2,"
    "\"prb_id\":1,\"timestamp\":1795688100,\"type\":\"dns\",\"msm_name\":"
    "\"Tdig\",\"group_id\":2,\"result\":{\"rt\":3.5,\"size\":20,\"abuf\":"
    "\"ASyBggABAAAAAAAA\",\"ID\":300,\"ANCOUNT\":0,\"QDCOUNT\":1,"
    "\"NSCOUNT\":0,\"ARCOUNT\":0},\"corewatch\":{\"failure\":"
    "\"dns_servfail_error\",\"tcp_fallback\":false}}\n"
    "{\"fw\":5020,\"af\":4,\"dst_addr\":\"192.0.2.1\",\"dst_name\":"
    "\"=HYPERLINK(\\\"http://evil\\\")\",\"proto\":\"UDP\",\"from\":\"\","
    "\"msm_id\":3,\"prb_id\":1,\"timestamp\":1795688700,\"type\":\"dns\","
    "\"msm_name\":\"Tdig\",\"group_id\":3,\"result\":{\"rt\":1,\"size\":40,"
    "\"abuf\":\"AAE=\",\"ID\":1,\"ANCOUNT\":1,\"QDCOUNT\":1,\"NSCOUNT\":0,"
    "\"ARCOUNT\":0},\"corewatch\":{\"tcp_fallback\":false}}\n"
    "{\"fw\":5020,\"af\":4,\"dst_addr\":\"192.0.2.80\",\"dst_name\":"
    "\"example.org\",\"from\":\"\",\"msm_id\":4,\"prb_id\":1,\"timestamp\":"
    "1795689000,\"type\":\"http\",\"msm_name\":\"HTTPGet\",\"group_id\":4,"
    "\"uri\":\"https://example.org/\",\"result\":[{\"method\":\"GET\","
    "\"af\":4,\"dst_addr\":\"192.0.2.80\",\"res\":200,\"rt\":45.5,\"ttc\":"
    "11.25,\"ttfb\":20.5,\"ver\":\"1.1\",\"hsize\":310,\"bsize\":1256}],"
    "\"corewatch\":{}}\n";

/* --- helpers --- */

static void
add_known(struct sfix_test *t)
{
	schain_add(&t->c, "dns", r_ok);
	schain_add(&t->c, "dns", r_timeout);
	schain_add(&t->c, "dns", r_refused);
	schain_add(&t->c, "dns", r_servfail);
	schain_add(&t->c, "heartbeat", r_heartbeat);
	schain_add(&t->c, "dns", r_inject);
	schain_add(&t->c, "http", r_http);
	schain_ingest(&t->s, &t->c, 3);
}

/* `tmpl` with every "@P@" replaced by the probe id; caller frees. */
static char *
expand(const struct sfix_test *t, const char *tmpl)
{
	size_t n = 0, cap = strlen(tmpl) * 2 + 1;
	char *out = malloc(cap);

	assert_non_null(out);
	while (*tmpl != '\0') {
		if (strncmp(tmpl, "@P@", 3) == 0) {
			memcpy(out + n, t->p->id, RECORD_ID_HEX);
			n += RECORD_ID_HEX;
			tmpl += 3;
		} else
			out[n++] = *tmpl++;
		assert_true(n + RECORD_ID_HEX < cap);
	}
	out[n] = '\0';
	return out;
}

/* Run an export to the end; its output as a string (caller frees) and
 * the number of steps in *steps. */
static char *
run(struct sfix_test *t, const struct store_filter *f, enum export_format fmt,
    size_t page, int *steps)
{
	struct evbuffer *buf = evbuffer_new();
	struct exporter *e;
	char err[128], *s;
	size_t len;
	int rc, n = 0;

	assert_non_null(buf);
	assert_non_null(e = export_new(t->s.st, f, fmt, err, sizeof(err)));
	if (page > 0)
		export_set_page_rows(e, page);
	do {
		rc = export_step(e, buf);
		n++;
		assert_true(n < 100000);
	} while (rc == 1);
	assert_int_equal(rc, 0);
	assert_int_equal(export_step(e, buf), 0); /* stays done */
	export_free(e);
	len = evbuffer_get_length(buf);
	assert_non_null(s = malloc(len + 1));
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	evbuffer_free(buf);
	if (steps != NULL)
		*steps = n;
	return s;
}

static char *
run_all(struct sfix_test *t, enum export_format fmt)
{
	struct store_filter f;

	store_filter_init(&f);
	return run(t, &f, fmt, 0, NULL);
}

/* --- tests --- */

static void
test_formats_parse(void **state)
{
	enum export_format fmt;

	(void)state;
	assert_int_equal(export_format_parse("jsonl", &fmt), 0);
	assert_int_equal(fmt, EXPORT_JSONL);
	assert_int_equal(export_format_parse("csv", &fmt), 0);
	assert_int_equal(fmt, EXPORT_CSV);
	assert_int_equal(export_format_parse("atlas", &fmt), 0);
	assert_int_equal(fmt, EXPORT_ATLAS);
	assert_int_equal(export_format_parse("JSONL", &fmt), -1);
	assert_int_equal(export_format_parse("", &fmt), -1);
	assert_string_equal(export_format_name(EXPORT_ATLAS), "atlas");
	assert_string_equal(export_content_type(EXPORT_CSV),
	    "text/csv; charset=utf-8; header=present");
	assert_string_equal(export_content_type(EXPORT_JSONL),
	    "application/x-ndjson");
	assert_string_equal(export_content_type(EXPORT_ATLAS),
	    "application/x-ndjson");
}

static void
test_jsonl(void **state)
{
	struct sfix_test *t = *state;
	char *want, *got;
	size_t len = 0;

	add_known(t);
	for (size_t i = 0; i < t->c.n; i++)
		len += strlen(t->c.lines[i]) + 1;
	assert_non_null(want = malloc(len + 1));
	want[0] = '\0';
	for (size_t i = 0; i < t->c.n; i++) {
		strcat(want, t->c.lines[i]);
		strcat(want, "\n");
	}
	got = run_all(t, EXPORT_JSONL);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_csv(void **state)
{
	struct sfix_test *t = *state;
	char *want = expand(t, csv_expected), *got;

	add_known(t);
	got = run_all(t, EXPORT_CSV);
	assert_string_equal(got, want);
	free(got);
	free(want);
}

static void
test_atlas(void **state)
{
	struct sfix_test *t = *state;
	char *got;

	add_known(t);
	got = run_all(t, EXPORT_ATLAS);
	assert_string_equal(got, atlas_expected);
	free(got);
}

static void
test_csv_field(void **state)
{
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "plain", "plain" },
		{ "", "" },
		{ "a,b", "\"a,b\"" },
		{ "say \"hi\"", "\"say \"\"hi\"\"\"" },
		{ "line\r\nbreak", "\"line\r\nbreak\"" },
		{ "=1+2", "'=1+2" },
		{ "+1", "'+1" },
		{ "-1", "'-1" },
		{ "@SUM(A1)", "'@SUM(A1)" },
		{ "\tx", "'\tx" },
		{ "\rx", "\"'\rx\"" },
		{ "=a,\"b\"", "\"'=a,\"\"b\"\"\"" },
		{ "a=b", "a=b" },
	};
	struct evbuffer *buf = evbuffer_new();
	char out[64];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		size_t len;
		assert_int_equal(export_csv_field(buf, cases[i].in,
		                     strlen(cases[i].in)),
		    0);
		len = evbuffer_get_length(buf);
		assert_true(len < sizeof(out));
		evbuffer_remove(buf, out, len);
		out[len] = '\0';
		assert_string_equal(out, cases[i].out);
	}
	assert_int_equal(export_csv_field(buf, NULL, 0), 0);
	assert_int_equal(evbuffer_get_length(buf), 0);
	evbuffer_free(buf);
}

/* The fast time formatting writes what cw_time_format writes. */
static void
test_time_format(void **state)
{
	static const cw_usec_t edges[] = {
		0,
		1,
		999999,
		1000000,
		INT64_C(951782400000000),
		INT64_C(951868799999999),
		INT64_C(4107456000000000),
		INT64_C(4107542400000000),
		INT64_C(1795687200123456),
		INT64_C(253402300799999999),
		INT64_C(253402300800000000),
		-1,
	};
	char fast[CW_TIME_STRLEN], slow[CW_TIME_STRLEN];
	uint64_t x = 88172645463325252ULL;

	(void)state;
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		assert_int_equal(export_time_format(edges[i], fast),
		    strlen(cw_time_format(edges[i], slow, sizeof(slow))));
		assert_string_equal(fast, slow);
	}
	for (int i = 0; i < 200000; i++) {
		cw_usec_t t;
		x ^= x << 13; /* xorshift: any times to 2500 */
		x ^= x >> 7;
		x ^= x << 17;
		t = (cw_usec_t)(x % UINT64_C(16725225600000000));
		export_time_format(t, fast);
		cw_time_format(t, slow, sizeof(slow));
		assert_string_equal(fast, slow);
	}
}

/* 1203 records: pages of 64, 128, 256 and then 500 by default, and of
 * 7 across odd edges. */
static void
test_paging(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f;
	char *got, *line, *save = NULL;
	int steps;
	long long seq = 0;

	for (int i = 0; i < 1203; i++)
		schain_add(&t->c, "dns", r_ok);
	schain_ingest(&t->s, &t->c, 400);
	store_filter_init(&f);
	got = run(t, &f, EXPORT_JSONL, 0, &steps);
	assert_int_equal(steps, 5); /* 64, 128, 256, 500, 255 */
	assert_int_equal(sfix_count_lines(got), 1203);
	/* In ingest order, each record once. */
	for (line = strtok_r(got, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		char want[32];
		snprintf(want, sizeof(want), "\"seq\":%lld,", ++seq);
		assert_non_null(strstr(line, want));
	}
	assert_int_equal(seq, 1203);
	free(got);
	got = run(t, &f, EXPORT_CSV, 7, &steps);
	assert_int_equal(steps, 1203 / 7 + 1);
	assert_int_equal(sfix_count_lines(got), 1204);
	free(got);
	/* A page that ends exactly at the end: one more, empty step
	 * (64 + 17 x 67 = 1203). */
	got = run(t, &f, EXPORT_ATLAS, 67, &steps);
	assert_int_equal(steps, 19);
	assert_int_equal(sfix_count_lines(got), 1203);
	free(got);
}

/* Pages end on their bytes as well: each step's output passes the
 * bound by less than one record's, and the whole is the same, byte for
 * byte, as in pages of rows. */
static void
test_paging_bytes(void **state)
{
	static const enum export_format fmts[] = { EXPORT_JSONL, EXPORT_CSV,
		EXPORT_ATLAS };
	struct sfix_test *t = *state;
	struct store_filter f;
	const size_t bound = 10000, record_max = 2048;
	char err[128];

	for (int i = 0; i < 1203; i++)
		schain_add(&t->c, "dns", r_ok);
	schain_ingest(&t->s, &t->c, 400);
	store_filter_init(&f);
	for (size_t k = 0; k < sizeof(fmts) / sizeof(fmts[0]); k++) {
		char *whole = run(t, &f, fmts[k], 0, NULL);
		struct evbuffer *buf = evbuffer_new();
		struct exporter *e;
		size_t len = 0, before, steps = 0;
		int rc;

		assert_non_null(buf);
		assert_non_null(
		    e = export_new(t->s.st, &f, fmts[k], err, sizeof(err)));
		export_set_page_bytes(e, bound);
		do {
			before = evbuffer_get_length(buf);
			rc = export_step(e, buf);
			assert_true(evbuffer_get_length(buf) - before <
			    bound + record_max);
			steps++;
		} while (rc == 1 && steps < 100000);
		assert_int_equal(rc, 0);
		len = evbuffer_get_length(buf);
		assert_true(steps >= len / (bound + record_max));
		assert_true(steps > 3); /* not the 3 pages of rows */
		assert_int_equal(len, strlen(whole));
		assert_memory_equal(evbuffer_pullup(buf, -1), whole, len);
		export_free(e);
		evbuffer_free(buf);
		free(whole);
	}
}

static void
test_empty(void **state)
{
	struct sfix_test *t = *state;
	char *got;
	int steps;
	struct store_filter f;

	store_filter_init(&f);
	got = run(t, &f, EXPORT_CSV, 0, &steps);
	assert_string_equal(got, CSV_HEAD);
	assert_int_equal(steps, 1);
	free(got);
	got = run(t, &f, EXPORT_JSONL, 0, NULL);
	assert_string_equal(got, "");
	free(got);
	got = run(t, &f, EXPORT_ATLAS, 0, NULL);
	assert_string_equal(got, "");
	free(got);
	/* Records, none selected. */
	add_known(t);
	f.type = "loss";
	got = run(t, &f, EXPORT_CSV, 0, NULL);
	assert_string_equal(got, CSV_HEAD);
	free(got);
}

/* How many records of the known ones a filter selects. */
static size_t
selected(struct sfix_test *t, struct export_params *p)
{
	char *got = run(t, &p->filter, EXPORT_JSONL, 2, NULL);
	size_t n = sfix_count_lines(got);

	free(got);
	return n;
}

static void
set(struct export_params *p, const char *key, const char *value)
{
	char err[128];

	if (export_params_set(p, key, value, err, sizeof(err)) != 1)
		fail_msg("%s=%s: %s", key, value, err);
}

static void
test_filters(void **state)
{
	struct sfix_test *t = *state;
	struct store_probe *other;
	struct schain c2;
	struct export_params p;

	add_known(t);
	other = sfix_probe(&t->s, "other", 9, NULL, -1);
	schain_init(&c2, other, "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0");
	schain_add(&c2, "dns", r_ok);
	schain_add(&c2, "dns", r_timeout);
	schain_ingest(&t->s, &c2, 10);
	schain_free(&c2);

	export_params_init(&p);
	assert_int_equal(selected(t, &p), 9);
	set(&p, "addr", "2001:07FD:0:0::1"); /* canonical form */
	assert_string_equal(p.filter.addr, "2001:7fd::1");
	assert_int_equal(selected(t, &p), 2);
	set(&p, "probe", "1");
	assert_int_equal(selected(t, &p), 1);
	set(&p, "probe", other->id);
	assert_int_equal(selected(t, &p), 1);
	set(&p, "probe", "3");
	assert_int_equal(selected(t, &p), 0);

	export_params_init(&p);
	set(&p, "type", "heartbeat");
	assert_int_equal(selected(t, &p), 1);
	set(&p, "type", "http");
	assert_int_equal(selected(t, &p), 1);

	export_params_init(&p);
	set(&p, "name", "root-soa");
	assert_int_equal(selected(t, &p), 4);
	set(&p, "country", "ua");
	assert_string_equal(p.filter.country, "UA");
	assert_int_equal(selected(t, &p), 2);
	set(&p, "asn", "64500");
	assert_int_equal(selected(t, &p), 2);
	set(&p, "asn", "64501");
	assert_int_equal(selected(t, &p), 0);

	/* Time: from inclusive, to exclusive. */
	export_params_init(&p);
	set(&p, "from", "2026-11-26T10:10:00Z");
	set(&p, "to", "2026-11-26T10:25:00Z");
	assert_int_equal(selected(t, &p), 3); /* 10:10, 10:15, 10:20 */
	set(&p, "from", "2026-11-26T10:00:00.123457Z");
	assert_int_equal(selected(t, &p), 5); /* and both 10:05 */
}

static void
test_params(void **state)
{
	static const struct {
		const char *key, *value;
	} bad[] = {
		{ "from", "yesterday" },
		{ "from", "2026-13-01T00:00:00Z" },
		{ "to", "2026-11-26 10:00:00" },
		{ "probe", "0" },
		{ "probe", "abc" },
		{ "probe", "C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0C0" },
		{ "probe", "-1" },
		{ "type", "" },
		{ "type", "DNS" },
		{ "type", "a b" },
		{ "name", "" },
		{ "addr", "example.org" },
		{ "addr", "193.0.14.129/24" },
		{ "country", "U" },
		{ "country", "UKR" },
		{ "country", "U1" },
		{ "country", "" },
		{ "asn", "AS64500" },
		{ "asn", "-1" },
		{ "asn", "4294967296" },
		{ "asn", "" },
		{ "asn", "12x" },
	};
	struct export_params p;
	char err[256];

	(void)state;
	export_params_init(&p);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (export_params_set(&p, bad[i].key, bad[i].value, err,
		        sizeof(err)) != -1)
			fail_msg("%s=%s accepted", bad[i].key, bad[i].value);
		assert_true(strncmp(err, bad[i].key, strlen(bad[i].key)) == 0);
	}
	assert_int_equal(export_params_set(&p, "format", "csv", err,
	                     sizeof(err)),
	    0);
	set(&p, "asn", "4294967295");
	assert_int_equal(p.filter.asn, 4294967295LL);
	set(&p, "asn", "0");
	assert_int_equal(p.filter.asn, 0);
	set(&p, "addr", "193.0.14.129");
	assert_string_equal(p.filter.addr, "193.0.14.129");
	set(&p, "from", "2026-11-26T10:00:00Z");
	set(&p, "to", "2026-11-26T10:00:00Z");
	assert_int_equal(export_params_check(&p, err, sizeof(err)), -1);
	set(&p, "to", "2026-11-26T10:00:00.000001Z");
	assert_int_equal(export_params_check(&p, err, sizeof(err)), 0);
}

/* --- records stored before ingest checked ranges --- */

/* A DNS and an HTTP record with `%1$s` for the RTT and `%2$s` for every
 * integer (query id, counts, size, port, serial, status, bytes). */
#define WILD_DNS \
	"\"time\":\"2026-11-26T10:40:00Z\",\"name\":\"wild\"," \
	"\"addr\":\"192.0.2.9\",\"port\":%2$s,\"af\":4,\"proto\":\"udp\"," \
	"\"query\":{\"qname\":\".\",\"qtype\":\"SOA\",\"id\":%2$s},\"ok\":" \
	"true,\"failure\":null,\"rtt_ms\":%1$s,\"rcode\":\"NOERROR\"," \
	"\"counts\":{\"qd\":%2$s,\"an\":%2$s,\"ns\":0,\"ar\":0},\"size\":" \
	"%2$s,\"soa_serial\":%2$s,\"abuf\":\"AAE=\""
#define WILD_HTTP \
	"\"time\":\"2026-11-26T10:45:00Z\",\"name\":\"wild\"," \
	"\"url\":\"http://example.org/\",\"host\":\"example.org\",\"port\":" \
	"%2$s,\"addr\":\"192.0.2.80\",\"af\":4,\"ok\":true,\"failure\":null," \
	"\"status\":%2$s,\"connect_ms\":%1$s,\"ttfb_ms\":%1$s,\"total_ms\":" \
	"%1$s,\"header_bytes\":%2$s,\"body_bytes\":%2$s"

/* Values no probe sends, in the line and in the columns. */
static const struct {
	bool http;
	const char *rtt;  /* in the line */
	double col;       /* its rtt_ms column */
	const char *num;  /* every integer in the line */
	long long numcol; /* the port and soa_serial columns */
} wild[] = {
	{ false, "1e308", 1e308, "9223372036854775807", INT64_MAX },
	{ false, "1e200", 1e200, "-9223372036854775808", -1 },
	{ false, "1.5e100", 1.5e100, "4294967296", INT64_C(4294967296) },
	{ false, "-1", -1, "-1", -1 },
	{ false, "-1e308", -1e308, "0", 0 },
	{ false, "1e999", INFINITY, "1e999", 53 }, /* not JSON */
	{ false, "-1e999", -INFINITY, "0", 0 },
	{ false, "0", NAN, "65536", 65536 },
	{ true, "1e308", 1e308, "9223372036854775807", INT64_MAX },
	{ true, "-1e200", -1e200, "-1", -1 },
};

#define NWILD (sizeof(wild) / sizeof(wild[0]))

/* The wild records, stored over the same records with sane numbers
 * that passed ingest; their lines into lines[] (the caller frees
 * each). */
static void
add_wild(struct sfix_test *t, char *lines[NWILD])
{
	char *body;

	for (size_t i = 0; i < NWILD; i++) {
		assert_true(asprintf(&body, wild[i].http ? WILD_HTTP : WILD_DNS,
		                "1", "53") > 0);
		schain_add(&t->c, wild[i].http ? "http" : "dns", body);
		free(body);
	}
	schain_ingest(&t->s, &t->c, NWILD);
	for (size_t i = 0; i < NWILD; i++) {
		assert_true(asprintf(&body, wild[i].http ? WILD_HTTP : WILD_DNS,
		                wild[i].rtt, wild[i].num) > 0);
		lines[i] = sfix_overwrite(&t->s, &t->c, i + 1,
		    wild[i].http ? "http" : "dns", body, wild[i].col,
		    wild[i].numcol);
		free(body);
	}
}

/* CSV field `k` (0-based) of `row`, which has no quoted field. */
static char *
csv_nth(const char *row, int k)
{
	const char *end;

	for (; k > 0; k--)
		row = strchr(row, ',') + 1;
	end = row + strcspn(row, ",\r");
	return strndup(row, (size_t)(end - row));
}

/* A stored RTT of 1e308 crashed every CSV export, and one of 1e200 put
 * stack bytes into its field: each number is written whole (or, not
 * finite, left empty) in every format, under ASan. */
static void
test_out_of_range(void **state)
{
	struct sfix_test *t = *state;
	char *lines[NWILD], *got, *row, *save = NULL;
	size_t i = 0, parsed = 0;

	add_wild(t, lines);
	got = run_all(t, EXPORT_CSV);
	assert_int_equal(sfix_count_lines(got), NWILD + 1);
	for (row = strtok_r(got + strlen(CSV_HEAD), "\n", &save); row != NULL;
	     row = strtok_r(NULL, "\n", &save), i++) {
		char *rtt = csv_nth(row, 18), *port = csv_nth(row, 11), *end;
		assert_true(i < NWILD);
		if (isfinite(wild[i].col)) {
			/* Digits, a point, three decimals: that number. */
			assert_true(strspn(rtt, "-0123456789.") == strlen(rtt));
			assert_int_equal(strlen(strchr(rtt, '.')), 4);
			assert_true(strtod(rtt, &end) == wild[i].col);
			assert_int_equal(*end, '\0');
		} else
			assert_string_equal(rtt, "");
		if (wild[i].numcol >= 0)
			assert_int_equal(strtoll(port, NULL, 10),
			    wild[i].numcol);
		else
			assert_string_equal(port, "");
		free(rtt);
		free(port);
	}
	assert_int_equal(i, NWILD);
	free(got);
	/* JSON lines: the bytes stored, whatever they hold. */
	got = run_all(t, EXPORT_JSONL);
	for (i = 0, row = got; i < NWILD; i++) {
		assert_memory_equal(row, lines[i], strlen(lines[i]));
		row += strlen(lines[i]);
		assert_int_equal(*row++, '\n');
	}
	assert_string_equal(row, "");
	free(got);
	/* Atlas: one JSON line per record that is JSON, its RTT as stored. */
	got = run_all(t, EXPORT_ATLAS);
	for (row = strtok_r(got, "\n", &save); row != NULL;
	     row = strtok_r(NULL, "\n", &save), parsed++) {
		json_t *o = json_loads(row, 0, NULL), *res;
		assert_non_null(o);
		res = json_object_get(o, "result");
		if (json_is_array(res))
			res = json_array_get(res, 0);
		assert_true(json_is_number(json_object_get(res, "rt")));
		json_decref(o);
	}
	for (i = 0; i < NWILD; i++) {
		json_t *o = json_loads(lines[i], 0, NULL);
		parsed -= o != NULL ? 1 : 0;
		json_decref(o);
		free(lines[i]);
	}
	assert_int_equal(parsed, 0);
	free(got);
}

/* --- evidence: what the JSON lines hold and CSV and Atlas must keep --- */

/* A CHAOS answer (the instance name, one TXT string with a space), a
 * differing late reply, after two timeouts. */
static const char e_chaos[] =
    "\"time\":\"2026-11-26T11:00:00Z\",\"name\":\"k-id\",\"addr\":"
    "\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\",\"query\":"
    "{\"qname\":\"hostname.bind.\",\"qtype\":\"TXT\",\"qclass\":\"CH\","
    "\"id\":5},\"ok\":true,\"failure\":null,\"rtt_ms\":2,\"attempts\":3,"
    "\"truncated\":false,\"late_replies\":{\"count\":2,\"differ\":true,"
    "\"abuf\":\"AAU=\"},\"rcode\":\"NOERROR\",\"counts\":{\"qd\":1,\"an\":"
    "2,\"ns\":0,\"ar\":0},\"size\":70,\"txt\":[\"ns1.ams\",\"k root\"],"
    "\"abuf\":\"AAU=\"";
/* A truncated UDP answer retried over TCP; late replies that agree. */
static const char e_fallback[] =
    "\"time\":\"2026-11-26T11:01:00Z\",\"name\":\"root-dnskey\",\"addr\":"
    "\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"tcp\","
    "\"proto_requested\":\"udp\",\"query\":{\"qname\":\".\",\"qtype\":"
    "\"DNSKEY\",\"id\":6},\"ok\":true,\"failure\":null,\"rtt_ms\":4,"
    "\"attempts\":2,\"truncated\":true,\"truncated_reply\":{\"id\":6,"
    "\"rtt_ms\":1.5,\"size\":30,\"abuf\":\"AAY=\"},\"late_replies\":"
    "{\"count\":0,\"differ\":false},\"rcode\":\"NOERROR\",\"counts\":"
    "{\"qd\":1,\"an\":3,\"ns\":0,\"ar\":1},\"size\":900,\"abuf\":\"AAY=\"";
/* TC=1 without the TCP retry: dns_truncated. */
static const char e_truncated[] =
    "\"time\":\"2026-11-26T11:02:00Z\",\"name\":\"root-dnskey\",\"addr\":"
    "\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\",\"query\":"
    "{\"qname\":\".\",\"qtype\":\"DNSKEY\",\"id\":7},\"ok\":false,"
    "\"failure\":\"dns_truncated\",\"failure_detail\":\"TC=1 and no retry "
    "over TCP\",\"rtt_ms\":1,\"attempts\":1,\"truncated\":true,"
    "\"late_replies\":{\"count\":0,\"differ\":false},\"rcode\":"
    "\"NOERROR\",\"counts\":{\"qd\":1,\"an\":0,\"ns\":0,\"ar\":0},"
    "\"size\":30,\"abuf\":\"AAc=\"";
/* An HTTP status not expected, its body cut at max_body. */
static const char e_http[] =
    "\"time\":\"2026-11-26T11:03:00Z\",\"name\":\"web\",\"url\":"
    "\"http://example.org/\",\"host\":\"example.org\",\"port\":80,"
    "\"addr\":\"192.0.2.80\",\"af\":4,\"ok\":false,\"failure\":"
    "\"http_unexpected_status\",\"failure_detail\":\"status 503 is not "
    "one of those expected\",\"status\":503,\"total_ms\":9,"
    "\"body_bytes\":65536,\"body_truncated\":true";

static void
add_evidence(struct sfix_test *t)
{
	schain_add(&t->c, "dns", e_chaos);
	schain_add(&t->c, "dns", e_fallback);
	schain_add(&t->c, "dns", e_truncated);
	schain_add(&t->c, "http", e_http);
	schain_ingest(&t->s, &t->c, 1);
}

/* Each record's evidence columns (failure_detail to http_status), the
 * last eight of its row. */
static void
test_csv_evidence(void **state)
{
	static const char *const want[] = {
		/* TXT joined by spaces, the one inside written \032 */
		",,ns1.ams k\\032root,2,true,false,false,3,\r\n",
		",,,0,false,true,true,2,\r\n",
		",TC=1 and no retry over TCP,,0,false,true,false,1,\r\n",
		",status 503 is not one of those expected,,,,true,,,503\r\n",
	};
	struct sfix_test *t = *state;
	char *got, *row, *next;
	size_t i = 0;

	add_evidence(t);
	got = run_all(t, EXPORT_CSV);
	row = strstr(got, "\r\n") + 2; /* past the header */
	for (; *row != '\0'; row = next, i++) {
		size_t len, wlen;
		assert_true(i < sizeof(want) / sizeof(want[0]));
		next = strstr(row, "\r\n") + 2;
		len = (size_t)(next - row);
		wlen = strlen(want[i]);
		assert_true(len > wlen);
		/* "...,UA,64500" comes right before them. */
		assert_memory_equal(row + len - wlen - 5, "64500", 5);
		assert_memory_equal(row + len - wlen, want[i], wlen);
	}
	assert_int_equal(i, 4);
	free(got);
}

/* The same evidence in the Atlas form: "retry", and "corewatch". */
static void
test_atlas_evidence(void **state)
{
	static const char *const want[] = {
		"{\"attempts\":3,\"truncated\":false,\"tcp_fallback\":false,"
		"\"late_replies\":{\"count\":2,\"differ\":true},\"txt\":"
		"[\"ns1.ams\",\"k root\"]}",
		"{\"attempts\":2,\"truncated\":true,\"tcp_fallback\":true,"
		"\"late_replies\":{\"count\":0,\"differ\":false}}",
		"{\"failure\":\"dns_truncated\",\"failure_detail\":\"TC=1 and "
		"no retry over TCP\",\"attempts\":1,\"truncated\":true,"
		"\"tcp_fallback\":false,\"late_replies\":{\"count\":0,"
		"\"differ\":false}}",
		"{\"failure\":\"http_unexpected_status\",\"failure_detail\":"
		"\"status 503 is not one of those expected\","
		"\"body_truncated\":true}",
	};
	static const int retry[] = { 2, 1, 0, -1 };
	struct sfix_test *t = *state;
	char *got, *line, *save = NULL;
	size_t i = 0;

	add_evidence(t);
	got = run_all(t, EXPORT_ATLAS);
	for (line = strtok_r(got, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save), i++) {
		json_t *o = json_loads(line, 0, NULL), *w;
		assert_true(i < sizeof(want) / sizeof(want[0]));
		assert_non_null(o);
		assert_non_null(w = json_loads(want[i], 0, NULL));
		assert_true(json_equal(json_object_get(o, "corewatch"), w));
		if (retry[i] < 0)
			assert_null(json_object_get(o, "retry"));
		else
			assert_int_equal(json_integer_value(
			                     json_object_get(o, "retry")),
			    retry[i]);
		json_decref(w);
		json_decref(o);
	}
	assert_int_equal(i, 4);
	free(got);
}

/* The evidence columns of the store (schema version 4). */
#define EVIDENCE_COLUMNS \
	"evidence, failure_detail, txt, late_count, late_differ, " \
	"truncated, tcp_fallback, attempts, http_status"

/* A store made before the evidence columns, migrated since: its rows
 * hold NULL in them, and export the same evidence, read from their
 * lines.  The store is taken back to schema version 3 (the columns
 * and the later tables dropped) and opened again, which migrates it as a collector update
 * would. */
static void
test_evidence_old_rows(void **state)
{
	static const char *const drop[] = { "evidence", "failure_detail", "txt",
		"late_count", "late_differ", "truncated", "tcp_fallback",
		"attempts", "http_status", "log_index" };
	struct sfix_test *t = *state;
	char *now, *old, sql[128], err[512];
	struct db *db = store_db(t->s.st);

	add_known(t);
	add_evidence(t);
	now = run_all(t, EXPORT_CSV);
	assert_non_null(strstr(now, ",ns1.ams k\\032root,2,true,false,"));
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM records WHERE evidence = 1"),
	    11);
	for (size_t i = 0; i < sizeof(drop) / sizeof(drop[0]); i++) {
		snprintf(sql, sizeof(sql), "ALTER TABLE records DROP COLUMN %s",
		    drop[i]);
		assert_int_equal(db_exec_script(db, sql), 0);
	}
	/* What later versions add goes too (the log: version 6). */
	assert_int_equal(db_exec_script(db,
	                     "DROP TABLE log_state; DROP TABLE log_nodes; "
	                     "DROP TABLE log_checkpoints;"
	                     "DELETE FROM schema_version WHERE version >= 4"),
	    0);
	store_close(t->s.st);
	if ((t->s.st = store_open(t->s.url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", t->s.url, err);
	assert_int_equal(store_db_version(t->s.st), store_schema_version());
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM records WHERE evidence IS "
	                     "NULL AND txt IS NULL AND attempts IS NULL"),
	    11);
	old = run_all(t, EXPORT_CSV);
	assert_string_equal(old, now);
	free(old);
	/* A row with the columns reads them, not its line. */
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "UPDATE records SET (" EVIDENCE_COLUMNS
	                     ") = (1, NULL, 'column', NULL, NULL, NULL, "
	                     "NULL, NULL, NULL) WHERE seq = 8"),
	    0);
	old = run_all(t, EXPORT_CSV);
	assert_string_not_equal(old, now);
	assert_non_null(strstr(old, ",,column,,,,,,\r\n"));
	assert_null(strstr(old, "ns1.ams"));
	free(old);
	free(now);
}

/* A database that fails in the middle: -1, and not "unavailable". */
static void
test_db_error(void **state)
{
	struct sfix_test *t = *state;
	struct evbuffer *buf = evbuffer_new();
	struct store_filter f;
	struct exporter *e;
	char err[128];

	add_known(t);
	store_filter_init(&f);
	assert_non_null(
	    e = export_new(t->s.st, &f, EXPORT_CSV, err, sizeof(err)));
	export_set_page_rows(e, 2);
	assert_int_equal(export_step(e, buf), 1);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "DROP TABLE records"),
	    0);
	assert_int_equal(export_step(e, buf), -1);
	assert_int_equal(export_step(e, buf), -1);
	assert_false(store_unavailable(t->s.st));
	export_free(e);
	evbuffer_free(buf);
}

#define EXPORT_TESTS(setup) \
	SFIX_TEST(test_jsonl, setup), SFIX_TEST(test_csv, setup), \
	    SFIX_TEST(test_atlas, setup), SFIX_TEST(test_paging, setup), \
	    SFIX_TEST(test_paging_bytes, setup), SFIX_TEST(test_empty, setup), \
	    SFIX_TEST(test_filters, setup), SFIX_TEST(test_db_error, setup), \
	    SFIX_TEST(test_out_of_range, setup), \
	    SFIX_TEST(test_csv_evidence, setup), \
	    SFIX_TEST(test_atlas_evidence, setup), \
	    SFIX_TEST(test_evidence_old_rows, setup)

int
main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_formats_parse),
		cmocka_unit_test(test_csv_field),
		cmocka_unit_test(test_time_format),
		cmocka_unit_test(test_params),
	};
	const struct CMUnitTest sqlite_tests[] = { EXPORT_TESTS(
	    sfix_setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { EXPORT_TESTS(sfix_setup_pg) };
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("export", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("export on sqlite", sqlite_tests,
	    NULL, NULL);
	if (sfix_pg_url() != NULL)
		failed += cmocka_run_group_tests_name("export on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("export on postgresql: not run (CW_TEST_PG_URL "
		       "unset)\n");
	return failed != 0;
}
