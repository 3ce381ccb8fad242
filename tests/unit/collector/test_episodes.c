/* test_episodes.c -- episodes over a SQLite store (and PostgreSQL when
 * CW_TEST_PG_URL names a database the test may wipe), from hand-built
 * result sequences whose episodes are known exactly: one failure is
 * none, two in a row are one, an ongoing one, brackets exact to the
 * record, failures counted by name, the scopes target, probe and
 * region, a probe's cut as one episode, a heartbeat gap against the
 * interval the probe declares, severity and its order, the filters, and
 * the JSON lines and CSV of one episode byte for byte. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "episodes.h"
#include "export.h"
#include "store_fixture.h"

#define T1 "193.0.14.129" /* k.root */
#define T2 "198.41.0.4"   /* a.root */

/* 2026-11-26T10:00:00Z: the time of the first record of each test. */
static cw_usec_t
base_time(void)
{
	cw_usec_t t;

	assert_int_equal(cw_time_parse("2026-11-26T10:00:00Z", &t), 0);
	return t;
}

/* A DNS result of `addr` at base + `sec` seconds: ok when `failure` is
 * NULL.  Returns its seq. */
static uint64_t
meas(struct schain *c, long sec, const char *addr, const char *failure)
{
	char body[768], when[CW_TIME_STRLEN];

	cw_time_format(base_time() + sec * CW_USEC_PER_SEC, when, sizeof(when));
	snprintf(body, sizeof(body),
	    "\"time\":\"%s\",\"name\":\"root-soa\",\"server\":\"%s\","
	    "\"addr\":\"%s\",\"port\":53,\"af\":4,\"proto\":\"udp\","
	    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},%s",
	    when, addr, addr,
	    failure == NULL ? "\"ok\":true,\"failure\":null,\"rtt_ms\":10.5,"
	                      "\"rcode\":\"NOERROR\"" :
	                      "\"ok\":false,\"rtt_ms\":null,\"failure\":");
	if (failure != NULL) {
		size_t n = strlen(body);
		snprintf(body + n, sizeof(body) - n, "\"%s\"", failure);
	}
	schain_add(c, "dns", body);
	return c->seq;
}

/* A heartbeat at base + `sec` declaring the interval `every` seconds
 * (0: none).  Returns its seq. */
static uint64_t
heartbeat_every(struct schain *c, long sec, int every)
{
	char body[128], when[CW_TIME_STRLEN];

	cw_time_format(base_time() + sec * CW_USEC_PER_SEC, when, sizeof(when));
	if (every > 0)
		snprintf(body, sizeof(body),
		    "\"time\":\"%s\",\"interval_s\":%d.0,\"queue\":0", when,
		    every);
	else
		snprintf(body, sizeof(body), "\"time\":\"%s\",\"queue\":0",
		    when);
	schain_add(c, "heartbeat", body);
	return c->seq;
}

/* A heartbeat at base + `sec` that declares no interval. */
static uint64_t
heartbeat(struct schain *c, long sec)
{
	return heartbeat_every(c, sec, 0);
}

static int
id_cb(void *arg, const struct db_row *row)
{
	*(long long *)arg = row->col[0].i;
	return 0;
}

/* The id the store gave record `seq` of chain `c`. */
static long long
rec_id(struct sfix *f, const struct schain *c, uint64_t seq)
{
	struct db_value p[2] = { DB_V_TEXT(c->probe_id),
		DB_V_INT((long long)seq) };
	long long id = 0;

	assert_int_equal(db_query(store_db(f->st),
	                     "SELECT id FROM records WHERE probe = ? AND "
	                     "seq = ?",
	                     p, 2, id_cb, &id),
	    0);
	assert_true(id > 0);
	return id;
}

/* The episodes of the store for `q` (NULL: the defaults, silences
 * included); the caller clears the list. */
static struct episode_list
find(struct sfix *f, const struct episodes_query *q)
{
	struct episodes_query dflt;
	struct episode_list l;

	if (q == NULL) {
		episodes_query_init(&dflt);
		dflt.heartbeats = true;
		q = &dflt;
	}
	assert_int_equal(episodes_find(f->st, q, &l), 0);
	return l;
}

/* `n` more rounds of both targets answered, every 60 s from `sec`. */
static long
rounds_ok(struct schain *c, long sec, int n)
{
	for (int i = 0; i < n; i++, sec += 60) {
		meas(c, sec, T1, NULL);
		meas(c, sec + 1, T2, NULL);
	}
	return sec;
}

static void
assert_mark(struct sfix *f, const struct schain *c, struct episode_mark m,
    uint64_t seq)
{
	assert_int_equal(m.id, rec_id(f, c, seq));
}

/* One failure alone is no episode; two in a row are, bracketed to the
 * record, with the failures by name, the share and the severity. */
static void
test_target(void **state)
{
	struct sfix_test *t = *state;
	struct episode_list l;
	uint64_t ok_before, ff, lf, ok_after;
	long s;

	s = rounds_ok(&t->c, 0, 2);                  /* 0, 60 */
	meas(&t->c, s, T1, "generic_timeout_error"); /* 120: one alone */
	meas(&t->c, s + 1, T2, NULL);
	ok_before = meas(&t->c, s + 60, T1, NULL); /* 180 */
	meas(&t->c, s + 61, T2, NULL);
	ff = meas(&t->c, s + 120, T1, "generic_timeout_error"); /* 240 */
	meas(&t->c, s + 121, T2, NULL);
	meas(&t->c, s + 180, T1, "connection_refused"); /* 300 */
	meas(&t->c, s + 181, T2, NULL);
	lf = meas(&t->c, s + 240, T1, "generic_timeout_error"); /* 360 */
	meas(&t->c, s + 241, T2, NULL);
	ok_after = meas(&t->c, s + 300, T1, NULL); /* 420 */
	meas(&t->c, s + 301, T2, NULL);
	schain_ingest(&t->s, &t->c, 5);

	l = find(&t->s, NULL);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].scope, EPISODE_TARGET);
	assert_false(l.v[0].silence);
	assert_string_equal(l.v[0].addr, T1);
	assert_string_equal(l.v[0].name, "root-soa");
	assert_string_equal(l.v[0].proto, "udp");
	assert_int_equal(l.v[0].af, 4);
	assert_string_equal(l.v[0].probe, t->p->id);
	assert_int_equal(l.v[0].probe_num, t->p->num);
	assert_mark(&t->s, &t->c, l.v[0].last_ok, ok_before);
	assert_mark(&t->s, &t->c, l.v[0].first_failure, ff);
	assert_mark(&t->s, &t->c, l.v[0].last_failure, lf);
	assert_mark(&t->s, &t->c, l.v[0].first_ok, ok_after);
	assert_int_equal(l.v[0].first_failure.time,
	    base_time() + 240 * CW_USEC_PER_SEC);
	assert_int_equal(l.v[0].failures, 3);
	assert_int_equal(l.v[0].nnames, 2);
	assert_string_equal(l.v[0].names[0].name, "generic_timeout_error");
	assert_int_equal(l.v[0].names[0].n, 2);
	assert_string_equal(l.v[0].names[1].name, "connection_refused");
	assert_int_equal(l.v[0].names[1].n, 1);
	/* 240 .. 360: three of T1, failed, and two of T2 (241, 301). */
	assert_int_equal(l.v[0].measurements, 5);
	assert_int_equal(l.v[0].failing, 3);
	assert_true(l.v[0].duration_s == 180.0);
	assert_true(l.v[0].severity == 3.0 / 5.0 * 180.0);
	assert_string_equal(l.v[0].country, "UA");
	assert_int_equal(l.v[0].asn, 64500);
	episode_list_clear(&l);
}

/* Two failures at the end are an ongoing episode; min_failures 3 makes
 * them none. */
static void
test_ongoing(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	char err[128];
	uint64_t ok_before, lf;

	ok_before = meas(&t->c, 0, T1, NULL);
	meas(&t->c, 1, T2, NULL);
	meas(&t->c, 60, T1, "generic_timeout_error");
	meas(&t->c, 61, T2, NULL);
	lf = meas(&t->c, 120, T1, "generic_timeout_error");
	meas(&t->c, 121, T2, NULL);
	schain_ingest(&t->s, &t->c, 64);

	l = find(&t->s, NULL);
	assert_int_equal(l.n, 1);
	assert_mark(&t->s, &t->c, l.v[0].last_ok, ok_before);
	assert_mark(&t->s, &t->c, l.v[0].last_failure, lf);
	assert_int_equal(l.v[0].first_ok.id, 0);
	assert_true(l.v[0].duration_s == 60.0);
	episode_list_clear(&l);

	episodes_query_init(&q);
	assert_int_equal(episodes_param_set(&q, "min_failures", "3", err,
	                     sizeof(err)),
	    1);
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
}

/* Results with nothing to query (a TLD's servers not learned yet) are
 * no target's: no episode, and no success of T1 is needed to end one. */
static void
test_no_servers(void **state)
{
	struct sfix_test *t = *state;
	struct episode_list l;

	meas(&t->c, 0, T1, NULL);
	for (long s = 1; s < 4; s++) {
		char body[256], when[CW_TIME_STRLEN];
		cw_time_format(base_time() + s * CW_USEC_PER_SEC, when,
		    sizeof(when));
		snprintf(body, sizeof(body),
		    "\"time\":\"%s\",\"name\":\"tld-soa\",\"tld\":\"ua\","
		    "\"ok\":false,\"failure\":\"dns_no_servers\"",
		    when);
		schain_add(&t->c, "dns", body);
	}
	meas(&t->c, 60, T1, NULL);
	schain_ingest(&t->s, &t->c, 64);

	l = find(&t->s, NULL);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
}

/* Both targets failing together: the probe's cut, one episode of both
 * targets bracketed by the probe's last success before it and first
 * after it; per_target, the probe's episode of each target. */
static void
test_probe_scope(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	char err[128];
	uint64_t ok_before, ff, lf, ok_after;
	long s = rounds_ok(&t->c, 0, 1);

	ok_before = t->c.seq; /* T2 at 1 */
	for (int i = 0; i < 3; i++, s += 60) {
		uint64_t seq = meas(&t->c, s, T1, "generic_timeout_error");
		if (i == 0)
			ff = seq;
		lf = meas(&t->c, s + 1, T2, "dns_servfail_error");
	}
	ok_after = meas(&t->c, s, T1, NULL);
	meas(&t->c, s + 1, T2, NULL);
	schain_ingest(&t->s, &t->c, 64);

	l = find(&t->s, NULL);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].scope, EPISODE_PROBE);
	assert_null(l.v[0].addr);
	assert_null(l.v[0].name);
	assert_int_equal(l.v[0].ntargets, 2);
	assert_string_equal(l.v[0].targets[0].addr, T1); /* first to fail */
	assert_string_equal(l.v[0].targets[1].addr, T2);
	assert_int_equal(l.v[0].targets[1].af, 4);
	assert_mark(&t->s, &t->c, l.v[0].last_ok, ok_before);
	assert_mark(&t->s, &t->c, l.v[0].first_failure, ff);
	assert_mark(&t->s, &t->c, l.v[0].last_failure, lf);
	assert_mark(&t->s, &t->c, l.v[0].first_ok, ok_after);
	assert_int_equal(l.v[0].failures, 6);
	assert_int_equal(l.v[0].nnames, 2);
	assert_string_equal(l.v[0].names[0].name, "generic_timeout_error");
	assert_int_equal(l.v[0].names[0].n, 3);
	assert_string_equal(l.v[0].names[1].name, "dns_servfail_error");
	assert_int_equal(l.v[0].names[1].n, 3);
	/* 60 .. 181: every result of the probe, all failed. */
	assert_int_equal(l.v[0].measurements, 6);
	assert_int_equal(l.v[0].failing, 6);
	assert_true(l.v[0].duration_s == 180.0);
	assert_true(l.v[0].severity == 180.0);
	episode_list_clear(&l);

	/* A filter on one of its targets finds it. */
	episodes_query_init(&q);
	q.filter.addr = T2;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].ntargets, 2);
	episode_list_clear(&l);

	episodes_query_init(&q);
	assert_int_equal(episodes_param_set(&q, "per_target", "true", err,
	                     sizeof(err)),
	    1);
	l = find(&t->s, &q);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(l.v[i].scope, EPISODE_PROBE);
		assert_int_equal(l.v[i].failures, 3);
		assert_int_equal(l.v[i].ntargets, 0);
		assert_int_equal(l.v[i].measurements, l.v[i].failing);
	}
	assert_string_equal(l.v[0].addr, T1); /* by first failure */
	assert_string_equal(l.v[1].addr, T2);
	episode_list_clear(&l);
}

/* Two cuts of one probe, a success between them: two episodes. */
static void
test_probe_cuts(void **state)
{
	struct sfix_test *t = *state;
	struct episode_list l;
	long s = rounds_ok(&t->c, 0, 1);

	for (int cut = 0; cut < 2; cut++) {
		for (int i = 0; i < 2; i++, s += 60) {
			meas(&t->c, s, T1, "generic_timeout_error");
			meas(&t->c, s + 1, T2, "generic_timeout_error");
		}
		s = rounds_ok(&t->c, s, 1);
	}
	schain_ingest(&t->s, &t->c, 64);

	l = find(&t->s, NULL);
	assert_int_equal(l.n, 2);
	for (size_t i = 0; i < 2; i++) {
		assert_int_equal(l.v[i].scope, EPISODE_PROBE);
		assert_int_equal(l.v[i].ntargets, 2);
		assert_int_equal(l.v[i].failures, 4);
	}
	assert_true(l.v[0].first_ok.time < l.v[1].first_failure.time);
	episode_list_clear(&l);
}

/* T1 lost from two probes of UA (overlapping) and one of PL (at the
 * same time, but another country and ASN), all reaching T2. */
static void
region_fixture(struct sfix_test *t, struct schain *b, struct schain *c)
{
	struct store_probe *pb, *pc;

	pb = sfix_probe(&t->s, "kyiv-2", 8, "UA", 64501);
	pc = sfix_probe(&t->s, "warsaw-1", 9, "PL", 64502);
	schain_init(b, pb, "b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0");
	schain_init(c, pc, "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0");
	for (long s = 0; s < 600; s += 60) {
		bool a_down = s >= 120 && s < 300;
		bool b_down = s >= 240 && s < 420;
		meas(&t->c, s, T1, a_down ? "generic_timeout_error" : NULL);
		meas(&t->c, s + 1, T2, NULL);
		meas(b, s + 2, T1, b_down ? "generic_timeout_error" : NULL);
		meas(b, s + 3, T2, NULL);
		meas(c, s + 4, T1, a_down ? "generic_timeout_error" : NULL);
		meas(c, s + 5, T2, NULL);
	}
	schain_ingest(&t->s, &t->c, 64);
	schain_ingest(&t->s, b, 64);
	schain_ingest(&t->s, c, 64);
}

static void
test_region_scope(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	struct schain b, c;
	char err[128];

	region_fixture(t, &b, &c);
	l = find(&t->s, NULL);
	assert_int_equal(l.n, 3);
	/* By first failure: a (120), warsaw (124), b (242). */
	assert_string_equal(l.v[0].probe, t->p->id);
	assert_int_equal(l.v[0].scope, EPISODE_REGION);
	assert_int_equal(l.v[0].region_probes, 2);
	assert_string_equal(l.v[1].probe, c.probe_id);
	assert_int_equal(l.v[1].scope, EPISODE_TARGET);
	assert_int_equal(l.v[1].region_probes, 1);
	assert_string_equal(l.v[2].probe, b.probe_id);
	assert_int_equal(l.v[2].scope, EPISODE_REGION);
	assert_int_equal(l.v[2].failures, 3);
	episode_list_clear(&l);

	episodes_query_init(&q);
	assert_int_equal(episodes_param_set(&q, "scope", "region", err,
	                     sizeof(err)),
	    1);
	l = find(&t->s, &q);
	assert_int_equal(l.n, 2);
	episode_list_clear(&l);
	assert_int_equal(episodes_param_set(&q, "scope", "target", err,
	                     sizeof(err)),
	    1);
	q.filter.country = "PL";
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].probe, c.probe_id);
	episode_list_clear(&l);
	schain_free(&b);
	schain_free(&c);
}

/* A heartbeat gap over the silence is the probe's episode, bracketed
 * by the heartbeats around it; without heartbeats (an anonymous
 * reader) it is not there. */
static void
test_silence(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	uint64_t before, after;

	heartbeat(&t->c, 0);
	before = heartbeat(&t->c, 300);
	rounds_ok(&t->c, 301, 1);
	after = heartbeat(&t->c, 2300);
	heartbeat(&t->c, 2600);
	schain_ingest(&t->s, &t->c, 64);

	episodes_query_init(&q);
	q.heartbeats = true;
	q.now = base_time() + 2700 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_true(l.v[0].silence);
	assert_int_equal(l.v[0].scope, EPISODE_PROBE);
	assert_mark(&t->s, &t->c, l.v[0].last_ok, before);
	assert_mark(&t->s, &t->c, l.v[0].first_ok, after);
	assert_null(l.v[0].addr);
	assert_true(l.v[0].duration_s == 2000.0);
	assert_true(l.v[0].severity == 2000.0);
	episode_list_clear(&l);

	/* Still silent an hour after the last heartbeat: ongoing. */
	q.now = base_time() + 6200 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[1].first_ok.id, 0);
	assert_true(l.v[1].duration_s == 3600.0);
	episode_list_clear(&l);

	q.heartbeats = false;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
}

/* A probe that declares a heartbeat every 10 s: a gap of more than
 * 20 s is a silence, one of 15 s is not; `silence` asks for longer
 * ones; a last heartbeat more than 20 s before the end of the window
 * is a silence not ended yet. */
static void
test_silence_interval(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	char err[128];
	uint64_t before, after;

	heartbeat_every(&t->c, 0, 10);
	heartbeat_every(&t->c, 10, 10);
	before = heartbeat_every(&t->c, 20, 10);
	schain_ingest(&t->s, &t->c, 64);
	/* The gap spans two batches: the first's interval counts. */
	after = heartbeat_every(&t->c, 45, 10);
	heartbeat_every(&t->c, 60, 10);
	heartbeat_every(&t->c, 70, 10);
	schain_ingest(&t->s, &t->c, 64);

	episodes_query_init(&q);
	q.heartbeats = true;
	q.now = base_time() + 85 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_true(l.v[0].silence);
	assert_mark(&t->s, &t->c, l.v[0].last_ok, before);
	assert_mark(&t->s, &t->c, l.v[0].first_ok, after);
	assert_true(l.v[0].duration_s == 25.0);
	episode_list_clear(&l);

	/* 21 s after the last heartbeat: silent since. */
	q.now = base_time() + 91 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 2);
	assert_int_equal(l.v[1].first_ok.id, 0);
	assert_true(l.v[1].duration_s == 21.0);
	episode_list_clear(&l);

	/* silence=30: neither gap is long enough. */
	assert_int_equal(episodes_param_set(&q, "silence", "30", err,
	                     sizeof(err)),
	    1);
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
}

/* Severity: share failing x duration; a longer outage of T1 ranks
 * above a short one, and min_severity keeps only it. */
static void
test_severity(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	char err[128];
	long s = 0;

	for (int i = 0; i < 12; i++, s += 60) {
		/* T1 down 2 rounds (60 s), T2 down 8 (420 s). */
		meas(&t->c, s, T1,
		    i >= 1 && i < 3 ? "generic_timeout_error" : NULL);
		meas(&t->c, s + 1, T2,
		    i >= 2 && i < 10 ? "generic_timeout_error" : NULL);
	}
	schain_ingest(&t->s, &t->c, 64);
	l = find(&t->s, NULL);
	assert_int_equal(l.n, 2);
	assert_string_equal(l.v[0].addr, T1);
	assert_string_equal(l.v[1].addr, T2);
	assert_true(l.v[1].severity > l.v[0].severity);
	/* T1: 60..120: 60 (f), 61 (ok), 120 (f), so 2 of 3 for 120 s. */
	assert_true(l.v[0].severity == 2.0 / 3.0 * 120.0);
	episode_list_clear(&l);

	episodes_query_init(&q);
	assert_int_equal(episodes_param_set(&q, "min_severity", "100", err,
	                     sizeof(err)),
	    1);
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].addr, T2);
	episode_list_clear(&l);
}

/* The filters of the exports select episodes. */
static void
test_filters(void **state)
{
	struct sfix_test *t = *state;
	struct episodes_query q;
	struct episode_list l;
	struct schain b, c;
	char num[24];

	region_fixture(t, &b, &c);
	episodes_query_init(&q);
	q.filter.probe = b.probe_id;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].probe, b.probe_id);
	episode_list_clear(&l);

	snprintf(num, sizeof(num), "%lld", c.probe->num);
	q.filter.probe = num;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].probe, c.probe_id);
	episode_list_clear(&l);

	episodes_query_init(&q);
	q.filter.asn = 64501;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.v[0].probe, b.probe_id);
	episode_list_clear(&l);

	episodes_query_init(&q);
	q.filter.addr = T2;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
	q.filter.addr = T1;
	q.filter.name = "other";
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
	q.filter.name = "root-soa";
	l = find(&t->s, &q);
	assert_int_equal(l.n, 3);
	episode_list_clear(&l);

	/* The window: an episode that overlaps it is there whole, its
	 * brackets wherever they are; A's ended at 300 s. */
	episodes_query_init(&q);
	q.filter.from = base_time() + 180 * CW_USEC_PER_SEC;
	q.filter.probe = t->p->id;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	assert_int_equal(l.v[0].last_ok.time,
	    base_time() + 60 * CW_USEC_PER_SEC);
	assert_int_equal(l.v[0].failures, 3);
	episode_list_clear(&l);
	q.filter.from = base_time() + 300 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
	q.filter.from = 0;
	q.filter.to = base_time() + 120 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 0);
	episode_list_clear(&l);
	q.filter.to = base_time() + 121 * CW_USEC_PER_SEC;
	l = find(&t->s, &q);
	assert_int_equal(l.n, 1);
	episode_list_clear(&l);
	schain_free(&b);
	schain_free(&c);
}

static char *
written(const struct episode_list *l, bool csv)
{
	struct evbuffer *buf = evbuffer_new();
	size_t len;
	char *s;

	assert_non_null(buf);
	assert_int_equal(csv ? episodes_write_csv(l, buf) :
	                       episodes_write_jsonl(l, buf),
	    0);
	len = evbuffer_get_length(buf);
	assert_non_null(s = malloc(len + 1));
	evbuffer_remove(buf, s, len);
	s[len] = '\0';
	evbuffer_free(buf);
	return s;
}

/* One episode as JSON lines and CSV, byte for byte. */
static void
test_output(void **state)
{
	struct sfix_test *t = *state;
	struct episode_list l;
	uint64_t ok1, f1, f2;
	char want[2048], *got;

	ok1 = meas(&t->c, 0, T1, NULL);
	f1 = meas(&t->c, 60, T1, "generic_timeout_error");
	f2 = meas(&t->c, 120, T1, "generic_timeout_error");
	schain_ingest(&t->s, &t->c, 64);
	l = find(&t->s, NULL);
	assert_int_equal(l.n, 1);
	snprintf(want, sizeof(want),
	    "{\"scope\":\"probe\",\"silence\":false,\"probe\":\"%s\","
	    "\"probe_num\":%lld,\"country\":\"UA\",\"asn\":64500,"
	    "\"name\":\"root-soa\",\"server\":\"" T1 "\",\"addr\":\"" T1 "\","
	    "\"proto\":\"udp\",\"af\":4,"
	    "\"last_ok\":{\"id\":%lld,\"time\":\"2026-11-26T10:00:00.000000Z\"},"
	    "\"first_failure\":{\"id\":%lld,\"time\":"
	    "\"2026-11-26T10:01:00.000000Z\"},"
	    "\"last_failure\":{\"id\":%lld,\"time\":"
	    "\"2026-11-26T10:02:00.000000Z\"},"
	    "\"first_ok\":null,\"ongoing\":true,\"failures\":2,"
	    "\"failure_names\":{\"generic_timeout_error\":2},\"measurements\":2,"
	    "\"failing\":2,\"duration_s\":60.0,\"severity\":60.0,"
	    "\"region_probes\":0,\"targets\":[{\"name\":\"root-soa\","
	    "\"server\":\"" T1 "\",\"addr\":\"" T1 "\",\"proto\":\"udp\","
	    "\"af\":4}]}\n",
	    t->p->id, t->p->num, rec_id(&t->s, &t->c, ok1),
	    rec_id(&t->s, &t->c, f1), rec_id(&t->s, &t->c, f2));
	got = written(&l, false);
	assert_string_equal(got, want);
	free(got);
	snprintf(want, sizeof(want),
	    "scope,silence,probe,probe_num,country,asn,name,server,addr,proto,"
	    "af,last_ok_id,last_ok_time,first_failure_id,first_failure_time,"
	    "last_failure_id,last_failure_time,first_ok_id,first_ok_time,"
	    "ongoing,failures,failure_names,measurements,failing,duration_s,"
	    "severity,region_probes,targets\r\n"
	    "probe,false,%s,%lld,UA,64500,root-soa," T1 "," T1 ",udp,4,"
	    "%lld,2026-11-26T10:00:00.000000Z,"
	    "%lld,2026-11-26T10:01:00.000000Z,"
	    "%lld,2026-11-26T10:02:00.000000Z,,,true,2,generic_timeout_error=2,2,2,"
	    "60.000,60.000,0,root-soa " T1 " " T1 " udp 4\r\n",
	    t->p->id, t->p->num, rec_id(&t->s, &t->c, ok1),
	    rec_id(&t->s, &t->c, f1), rec_id(&t->s, &t->c, f2));
	got = written(&l, true);
	assert_string_equal(got, want);
	free(got);
	episode_list_clear(&l);
}

/* The parameters' checks. */
static void
test_params(void **state)
{
	struct episodes_query q;
	char err[128];

	(void)state;
	episodes_query_init(&q);
	assert_int_equal(q.min_failures, 2);
	assert_int_equal(q.scope, -1);
	assert_false(q.heartbeats);
	assert_int_equal(episodes_param_set(&q, "scope", "world", err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "scope"));
	assert_int_equal(episodes_param_set(&q, "min_failures", "0", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(episodes_param_set(&q, "min_failures", "1001", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(episodes_param_set(&q, "min_severity", "-1", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(episodes_param_set(&q, "min_severity", "nan", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(q.silence, 0);
	assert_false(q.per_target);
	assert_int_equal(episodes_param_set(&q, "silence", "-1", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(episodes_param_set(&q, "silence", "10s", err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(episodes_param_set(&q, "silence", "600", err,
	                     sizeof(err)),
	    1);
	assert_int_equal(q.silence, 600 * CW_USEC_PER_SEC);
	assert_int_equal(episodes_param_set(&q, "silence", "0", err,
	                     sizeof(err)),
	    1);
	assert_int_equal(q.silence, 0);
	assert_int_equal(episodes_param_set(&q, "per_target", "yes", err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "per_target"));
	assert_int_equal(episodes_param_set(&q, "per_target", "true", err,
	                     sizeof(err)),
	    1);
	assert_true(q.per_target);
	assert_int_equal(episodes_param_set(&q, "format", "csv", err,
	                     sizeof(err)),
	    0);
}

#define EPISODES_TESTS(setup) \
	SFIX_TEST(test_target, setup), SFIX_TEST(test_ongoing, setup), \
	    SFIX_TEST(test_probe_scope, setup), \
	    SFIX_TEST(test_probe_cuts, setup), \
	    SFIX_TEST(test_no_servers, setup), \
	    SFIX_TEST(test_silence_interval, setup), \
	    SFIX_TEST(test_region_scope, setup), \
	    SFIX_TEST(test_silence, setup), SFIX_TEST(test_severity, setup), \
	    SFIX_TEST(test_filters, setup), SFIX_TEST(test_output, setup)

int
main(void)
{
	const struct CMUnitTest plain[] = {
		cmocka_unit_test(test_params),
	};
	const struct CMUnitTest sqlite_tests[] = { EPISODES_TESTS(
	    sfix_setup_sqlite) };
	const struct CMUnitTest pg_tests[] = { EPISODES_TESTS(sfix_setup_pg) };
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("episodes", plain, NULL, NULL);
	failed += cmocka_run_group_tests_name("episodes on sqlite",
	    sqlite_tests, NULL, NULL);
	if (sfix_pg_url() != NULL)
		failed += cmocka_run_group_tests_name("episodes on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("episodes on postgresql: not run (CW_TEST_PG_URL "
		       "unset)\n");
	return failed != 0;
}
