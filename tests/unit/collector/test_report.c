/* test_report.c -- the case-study report built on a SQLite store (and
 * PostgreSQL when CW_TEST_PG_URL names a database the test may wipe) from
 * a fixture whose every number is known: two probes (one with a hostile
 * name), a declared configuration, one episode of a.root with exact
 * brackets, a hostile annotation.  The page must hold the availability
 * (overall and per column in the JSON block), the episode with its
 * four bracketing record ids, the annotation escaped, the methodology,
 * the evidence per probe, and the SHA-256 of the records, recomputed
 * here from the lines in time order and from an export's output. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <jansson.h>

#include "export.h"
#include "report.h"
#include "report_int.h"
#include "store_annot.h"
#include "store_fixture.h"
#include "summary.h"

#define A_ROOT  "198.41.0.4"
#define K_ROOT  "193.0.14.129"
#define HOSTILE "</script><img src=x onerror=alert(1)>&\"'"
#define HASH2   "7777777777777777777777777777777777777777777777777777777777777777"
#define HASH    "3f0c0000000000000000000000000000000000000000000000000000000000aa"

/* 2026-11-26T10:00:00Z, the fixture's first record. */
static cw_usec_t
base_time(void)
{
	cw_usec_t t;

	assert_int_equal(cw_time_parse("2026-11-26T10:00:00Z", &t), 0);
	return t;
}

/* A DNS result of `addr` at base + `sec`: ok with `rtt` when `failure`
 * is NULL. */
static void
meas(struct schain *c, long sec, const char *addr, const char *failure,
    double rtt)
{
	char body[768], when[CW_TIME_STRLEN];

	cw_time_format(base_time() + sec * CW_USEC_PER_SEC, when, sizeof(when));
	if (failure == NULL)
		snprintf(body, sizeof(body),
		    "\"time\":\"%s\",\"name\":\"root-soa\",\"server\":\"%s\","
		    "\"addr\":\"%s\",\"port\":53,\"af\":4,\"proto\":\"udp\","
		    "\"ok\":true,\"failure\":null,\"rtt_ms\":%.1f,"
		    "\"rcode\":\"NOERROR\"",
		    when, addr, addr, rtt);
	else
		snprintf(body, sizeof(body),
		    "\"time\":\"%s\",\"name\":\"root-soa\",\"server\":\"%s\","
		    "\"addr\":\"%s\",\"port\":53,\"af\":4,\"proto\":\"udp\","
		    "\"ok\":false,\"rtt_ms\":null,\"failure\":\"%s\"",
		    when, addr, addr, failure);
	schain_add(c, "dns", body);
}

/* A heartbeat at base + `sec` declaring the configuration. */
static void
heartbeat(struct schain *c, long sec)
{
	char body[1024], when[CW_TIME_STRLEN];

	cw_time_format(base_time() + sec * CW_USEC_PER_SEC, when, sizeof(when));
	snprintf(body, sizeof(body),
	    "\"time\":\"%s\",\"queue\":0,\"config\":{\"hash\":\"" HASH "\","
	    "\"count\":1,\"omitted\":0,\"measurements\":[{\"name\":"
	    "\"root-soa\",\"kind\":\"dns\",\"interval_ms\":60000,"
	    "\"spread_ms\":0,\"targets\":[{\"name\":\"a.root-servers.net\","
	    "\"address\":\"" A_ROOT "\",\"port\":53},{\"name\":"
	    "\"k.root-servers.net\",\"address\":\"" K_ROOT "\",\"port\":53}],"
	    "\"tlds\":[],\"timeout_ms\":4000}]}",
	    when);
	schain_add(c, "heartbeat", body);
}

/* A heartbeat at base + `sec` declaring the configuration by `hash`
 * alone, as between two full declarations. */
static void
heartbeat_hash(struct schain *c, long sec, const char *hash)
{
	char body[256], when[CW_TIME_STRLEN];

	cw_time_format(base_time() + sec * CW_USEC_PER_SEC, when, sizeof(when));
	snprintf(body, sizeof(body),
	    "\"time\":\"%s\",\"queue\":0,\"config\":{\"hash\":\"%s\"}", when,
	    hash);
	schain_add(c, "heartbeat", body);
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
	struct db_value p[2] = { DB_V_TEXT(c->chain),
		DB_V_INT((long long)seq) };
	long long id = 0;

	assert_int_equal(db_query(store_db(f->st),
	                     "SELECT id FROM records WHERE chain = ? AND "
	                     "seq = ?",
	                     p, 2, id_cb, &id),
	    0);
	assert_true(id > 0);
	return id;
}

/* The fixture: probe kyiv-1 (t->c) measures a.root and k.root every
 * minute from 10:00 for 10 rounds; a.root times out at rounds 4, 5 and
 * 6 (10:04 to 10:06).  The hostile probe measures k.root 5 times.
 * Records ingested: kyiv-1's chain, then the other's.  Fills the seqs
 * of the brackets and the lines in time order (`all`, with newlines). */
struct fixture {
	struct schain other;
	uint64_t last_ok, first_fail, last_fail, first_ok;
	struct evbuffer *all;
};

/* A line and where it was ingested, to sort by time. */
struct tline {
	const char *time, *line;
	size_t order;
};

static int
tline_cmp(const void *a, const void *b)
{
	const struct tline *x = a, *y = b;
	int c = strcmp(x->time, y->time);

	return c != 0 ? c : x->order < y->order ? -1 : x->order > y->order;
}

/* fx->all: the lines of both chains ordered by their time (the same
 * format in every line, so the text sorts), then as ingested, each
 * with its newline. */
static void
fixture_lines(struct sfix_test *t, struct fixture *fx)
{
	size_t n = t->c.n + fx->other.n;
	struct tline *v = calloc(n, sizeof(*v));

	assert_non_null(v);
	for (size_t i = 0; i < n; i++) {
		v[i].line = i < t->c.n ? t->c.lines[i] :
		                         fx->other.lines[i - t->c.n];
		assert_non_null(v[i].time = strstr(v[i].line, "\"time\":\""));
		v[i].order = i;
	}
	qsort(v, n, sizeof(*v), tline_cmp);
	assert_non_null(fx->all = evbuffer_new());
	for (size_t i = 0; i < n; i++)
		evbuffer_add_printf(fx->all, "%s\n", v[i].line);
	free(v);
}

/* The SHA-256 (hex) of what an export of `f` in JSON lines writes. */
static void
export_sha256(struct sfix_test *t, const struct store_filter *f,
    char hex[RECORD_HASH_HEX + 1])
{
	unsigned char h[crypto_hash_sha256_BYTES];
	struct evbuffer *b = evbuffer_new();
	struct exporter *e;
	char err[256];
	int rc;

	assert_non_null(b);
	assert_non_null(
	    e = export_new(t->s.st, f, EXPORT_JSONL, err, sizeof(err)));
	while ((rc = export_step(e, b)) == 1)
		;
	assert_int_equal(rc, 0);
	export_free(e);
	crypto_hash_sha256(h, evbuffer_pullup(b, -1), evbuffer_get_length(b));
	record_hex(h, sizeof(h), hex);
	evbuffer_free(b);
}

static void
fixture_make(struct sfix_test *t, struct fixture *fx)
{
	struct store_probe *p2;
	struct store_annotation a;
	char err[256];

	heartbeat(&t->c, 0);
	for (int i = 0; i < 10; i++) {
		bool fail = i >= 4 && i <= 6;
		meas(&t->c, 60 * i + 1, A_ROOT,
		    fail ? "generic_timeout_error" : NULL, 10 + i);
		if (i == 3)
			fx->last_ok = t->c.seq;
		if (i == 4)
			fx->first_fail = t->c.seq;
		if (i == 6)
			fx->last_fail = t->c.seq;
		if (i == 7)
			fx->first_ok = t->c.seq;
		meas(&t->c, 60 * i + 2, K_ROOT, NULL, 20);
	}
	schain_ingest(&t->s, &t->c, 7);
	p2 = sfix_probe(&t->s, HOSTILE, 9, "DE", 3320);
	schain_init(&fx->other, p2, "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0");
	for (int i = 0; i < 5; i++)
		meas(&fx->other, 60 * i + 3, K_ROOT, NULL, 30);
	schain_ingest(&t->s, &fx->other, 100);
	fixture_lines(t, fx);
	store_annotation_init(&a);
	a.from = base_time() + 4 * 60 * CW_USEC_PER_SEC;
	a.to = base_time() + 7 * 60 * CW_USEC_PER_SEC;
	snprintf(a.text, sizeof(a.text), "%s", "cable cut " HOSTILE);
	assert_int_equal(store_annotation_add(t->s.st, &a, err, sizeof(err)),
	    STORE_OK);
}

static void
fixture_free(struct fixture *fx)
{
	schain_free(&fx->other);
	evbuffer_free(fx->all);
}

/* The window 09:00 to 11:00. */
static struct store_filter
window(void)
{
	struct store_filter f;

	store_filter_init(&f);
	f.from = base_time() - 3600 * CW_USEC_PER_SEC;
	f.to = base_time() + 3600 * CW_USEC_PER_SEC;
	return f;
}

static char *
html_of(const struct report *r)
{
	struct evbuffer *b = evbuffer_new();
	size_t n;
	char *s;

	assert_non_null(b);
	assert_int_equal(report_write_html(r, b), 0);
	n = evbuffer_get_length(b);
	assert_non_null(s = malloc(n + 1));
	evbuffer_remove(b, s, n);
	s[n] = '\0';
	evbuffer_free(b);
	return s;
}

/* The JSON block of the page, parsed. */
static json_t *
data_of(const char *html)
{
	const char *start = strstr(html, "id=\"report-data\">"), *end;
	json_error_t je;
	json_t *j;

	assert_non_null(start);
	start += strlen("id=\"report-data\">");
	assert_non_null(end = strstr(start, "</script>"));
	j = json_loadb(start, (size_t)(end - start), 0, &je);
	if (j == NULL)
		fail_msg("JSON block: %s", je.text);
	return j;
}

static void
assert_has(const char *html, const char *what)
{
	if (strstr(html, what) == NULL)
		fail_msg("the page lacks \"%s\"", what);
}

/* "<time> <span class="mono">#id</span>" of record `seq`. */
static void
assert_mark(struct sfix_test *t, const char *html, uint64_t seq, long sec)
{
	char want[128], when[CW_TIME_STRLEN];

	export_time_format(base_time() + sec * CW_USEC_PER_SEC, when);
	snprintf(want, sizeof(want), "%s <span class=\"mono\">#%lld</span>",
	    when, rec_id(&t->s, &t->c, seq));
	assert_has(html, want);
}

static void
test_report(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f = window();
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[RECORD_HASH_HEX + 1], *html;
	struct fixture fx = { 0 };
	json_t *data, *g;
	struct report *r;
	char err[256];
	long long ok = 0, total = 0;

	fixture_make(t, &fx);
	r = report_build(t->s.st, &f, err, sizeof(err));
	if (r == NULL)
		fail_msg("report_build: %s", err);
	html = html_of(r);

	/* The hash, recomputed from the lines in time order, and from what
	 * the export writes. */
	crypto_hash_sha256(h, evbuffer_pullup(fx.all, -1),
	    evbuffer_get_length(fx.all));
	record_hex(h, sizeof(h), hex);
	assert_string_equal(report_sha256(r), hex);
	export_sha256(t, &f, hex);
	assert_string_equal(report_sha256(r), hex);
	assert_int_equal(report_records(r), 26); /* 1 + 20 + 5 */
	assert_has(html, hex);
	assert_has(html,
	    "--format jsonl --from 2026-11-26T09:00:00.000000Z "
	    "--to 2026-11-26T11:00:00.000000Z | sha256sum");

	/* Availability: 25 results, 22 ok. */
	assert_has(html, "<span id=\"results\">25</span>");
	assert_has(html, "<span id=\"ok\">22</span>");
	assert_has(html, "<b id=\"availability\">88.000&#8239;%</b>");
	assert_has(html, "<span id=\"probes\">2</span>");
	assert_has(html, "Countries: UA, DE. Networks: AS64500, AS3320.");
	data = data_of(html);
	assert_int_equal(json_integer_value(json_object_get(data, "results")),
	    25);
	g = json_array_get(json_object_get(data, "availability"), 0);
	assert_string_equal(json_string_value(json_object_get(g, "group")),
	    "root-soa IPv4/udp");
	/* 2 h in 120 columns of a minute; 10:04 is column 64. */
	assert_int_equal(json_array_size(json_object_get(g, "total")), 120);
	/* Per target: a.root's three failures in its columns 64 to 66. */
	{
		json_t *tg = json_array_get(json_object_get(data, "targets"),
		    0);
		assert_string_equal(json_string_value(
		                        json_object_get(tg, "target")),
		    "root-soa " A_ROOT " " A_ROOT "/udp");
		assert_int_equal(json_integer_value(
		                     json_object_get(tg, "successes")),
		    7);
		for (size_t c = 64; c <= 66; c++)
			assert_int_equal(json_integer_value(json_array_get(
			                     json_object_get(tg, "ok"), c)),
			    0);
		assert_int_equal(json_integer_value(json_array_get(
		                     json_object_get(tg, "total"), 66)),
		    1);
		assert_true(
		    json_real_value(json_object_get(tg, "median_ms")) == 13.0);
	}
	for (size_t i = 0; i < 120; i++) {
		ok += json_integer_value(
		    json_array_get(json_object_get(g, "ok"), i));
		total += json_integer_value(
		    json_array_get(json_object_get(g, "total"), i));
	}
	assert_int_equal(ok, 22);
	assert_int_equal(total, 25);
	assert_int_equal(json_integer_value(
	                     json_array_get(json_object_get(g, "total"), 64)),
	    3); /* a.root failed, k.root and the other probe answered */
	assert_int_equal(json_integer_value(
	                     json_array_get(json_object_get(g, "ok"), 64)),
	    2);
	/* a.root's, and kyiv-1's silence after its one heartbeat. */
	assert_int_equal(json_array_size(json_object_get(data, "episodes")), 2);
	assert_true(json_is_true(json_object_get(
	    json_array_get(json_object_get(data, "episodes"), 0), "silence")));
	json_decref(data);

	/* The episode and its brackets. */
	assert_has(html, "<td>probe</td><td>(heartbeats stopped)</td>");
	assert_has(html,
	    "<td>target</td><td>root-soa " A_ROOT " " A_ROOT "/udp IPv4</td>");
	assert_mark(t, html, fx.last_ok, 3 * 60 + 1);
	assert_mark(t, html, fx.first_fail, 4 * 60 + 1);
	assert_mark(t, html, fx.last_fail, 6 * 60 + 1);
	assert_mark(t, html, fx.first_ok, 7 * 60 + 1);
	assert_has(html, "generic_timeout_error &times;3");

	/* The annotation, escaped, and marked on every figure. */
	assert_has(html,
	    "<q>cable cut &lt;/script&gt;&lt;img src=x "
	    "onerror=alert(1)&gt;&amp;&quot;&#39;</q>");
	assert_int_equal(strstr(html, "<img") == NULL, 1);
	assert_int_equal(strstr(html, "</script><img") == NULL, 1);
	assert_has(html, "data-annotation=\"1\">[1]</tspan>");
	{
		size_t marks = 0;
		for (const char *p = html;
		     (p = strstr(p, "data-annotation=\"1\"")) != NULL; p++)
			marks++;
		assert_int_equal(marks, 4);
	}
	/* The hostile probe name, escaped in the evidence. */
	assert_has(html,
	    "<tr><td>&lt;/script&gt;&lt;img src=x "
	    "onerror=alert(1)&gt;&amp;&quot;&#39;<br>");

	/* The methodology and the evidence. */
	assert_has(html,
	    "<td>root-soa</td><td>dns</td><td>"
	    "a.root-servers.net " A_ROOT " port 53<br>"
	    "k.root-servers.net " K_ROOT
	    " port 53</td><td>60.000 s</td><td>4.000 s</td>");
	assert_has(html, HASH);
	assert_has(html,
	    "<span class=\"mono\">" SFIX_CHAIN "</span> seq 1&ndash;21 (21)");
	assert_has(html, "</td><td>21</td><td>20</td></tr>");
	free(html);
	report_free(r);
	fixture_free(&fx);
}

/* A figure alone; an unknown name; a window the wrong way round; an
 * empty window gives an empty report, not an error. */
static void
test_figures(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f = window();
	struct evbuffer *b = evbuffer_new();
	struct fixture fx = { 0 };
	struct report *r;
	char err[256], *html;

	fixture_make(t, &fx);
	assert_non_null(r = report_build(t->s.st, &f, err, sizeof(err)));
	assert_int_equal(report_figure_count(), 4);
	for (size_t i = 0; i < report_figure_count(); i++) {
		assert_int_equal(report_figure(r, report_figure_name(i), b), 0);
		assert_true(evbuffer_get_length(b) > 100);
		assert_int_equal(memcmp(evbuffer_pullup(b, 5), "<?xml", 5), 0);
		evbuffer_drain(b, evbuffer_get_length(b));
	}
	assert_int_equal(report_figure(r, "nope", b), REPORT_E_FIGURE);
	assert_int_equal(evbuffer_get_length(b), 0);
	report_free(r);

	f.to = f.from;
	assert_null(report_build(t->s.st, &f, err, sizeof(err)));
	f.from = f.to = 0;
	assert_null(report_build(t->s.st, &f, err, sizeof(err)));

	f = window();
	f.from -= 20 * 3600 * CW_USEC_PER_SEC;
	f.to -= 20 * 3600 * CW_USEC_PER_SEC;
	assert_non_null(r = report_build(t->s.st, &f, err, sizeof(err)));
	assert_int_equal(report_records(r), 0);
	/* SHA-256 of nothing. */
	assert_string_equal(report_sha256(r),
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
	html = html_of(r);
	assert_has(html, "<td colspan=\"9\">no episode</td>");
	assert_has(html, "no heartbeat in the window");
	free(html);
	report_free(r);
	evbuffer_free(b);
	fixture_free(&fx);
}

/* A configuration declared by its hash alone in the window is
 * described by its last full declaration of the day before; one never
 * declared in full says so. */
static void
test_declared_before(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f = window();
	struct store_probe *p2;
	struct schain c2;
	struct report *r;
	char err[256], *html;

	heartbeat(&t->c, -7200);        /* 08:00, in full */
	heartbeat_hash(&t->c, 0, HASH); /* 10:00 */
	meas(&t->c, 1, A_ROOT, NULL, 10);
	schain_ingest(&t->s, &t->c, 10);
	p2 = sfix_probe(&t->s, "p2", 9, "DE", 3320);
	schain_init(&c2, p2, "d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0d0");
	heartbeat_hash(&c2, 0, HASH2);
	schain_ingest(&t->s, &c2, 10);
	assert_non_null(r = report_build(t->s.st, &f, err, sizeof(err)));
	html = html_of(r);
	assert_has(html, "<td>kyiv-1</td><td>root-soa</td><td>dns</td>");
	assert_has(html, "<td>60.000 s</td><td>4.000 s</td>");
	assert_has(html,
	    "<br>in full at 2026-11-26T08:00:00.000000Z (before "
	    "the window)</td>");
	assert_has(html,
	    "<tr><td>p2</td><td colspan=\"5\">(only the hash "
	    "was declared in the window)");
	free(html);
	report_free(r);
	schain_free(&c2);
}

/* A measurement name too long for a label: cut between two UTF-8
 * characters, so that the JSON block (and the SVG alone) stay valid. */
static void
test_long_label(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f = window();
	char body[1024], name[601], err[256], *html;
	struct report *r;
	json_t *data, *g;

	for (size_t i = 0; i < 600; i += 2)
		memcpy(name + i, "\xc3\xa9", 2); /* é */
	name[600] = '\0';
	snprintf(body, sizeof(body),
	    "\"time\":\"2026-11-26T10:00:00Z\",\"name\":\"%s\","
	    "\"server\":\"x\",\"addr\":\"" A_ROOT "\",\"port\":53,"
	    "\"af\":4,\"proto\":\"udp\",\"ok\":true,\"failure\":null,"
	    "\"rtt_ms\":1.5",
	    name);
	schain_add(&t->c, "dns", body);
	schain_ingest(&t->s, &t->c, 10);
	assert_non_null(r = report_build(t->s.st, &f, err, sizeof(err)));
	html = html_of(r);
	data = data_of(html);
	g = json_array_get(json_object_get(data, "availability"), 0);
	/* 511 bytes fit the label: 255 characters, the 256th cut. */
	assert_int_equal(json_string_length(json_object_get(g, "group")), 510);
	g = json_array_get(json_object_get(data, "targets"), 0);
	assert_non_null(json_object_get(g, "target"));
	json_decref(data);
	free(html);
	report_free(r);
}

/* The summary's targets of the window in one bucket of a day (the
 * window lies in one), parsed. */
static json_t *
summary_targets(struct sfix_test *t, const struct store_filter *f)
{
	struct evbuffer *b = evbuffer_new();
	char err[256];
	struct summary *s;
	json_error_t je;
	json_t *j, *targets;

	assert_non_null(b);
	assert_non_null(s = summary_new(t->s.st, f, 86400 * CW_USEC_PER_SEC,
	                    SUMMARY_JSON, err, sizeof(err)));
	assert_int_equal(summary_step(s, b), 0);
	summary_free(s);
	j = json_loadb((const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b), JSON_DISABLE_EOF_CHECK, &je);
	if (j == NULL)
		fail_msg("summary: %s", je.text);
	evbuffer_free(b);
	targets = json_incref(json_object_get(j, "targets"));
	json_decref(j);
	return targets;
}

/* The report and the summary of the same results agree on a target's
 * median and 95th percentile and its availability: with an even count
 * of RTTs, where a nearest-rank median (11) and the summary's mean of
 * the middle two (15.5) part. */
static void
test_same_stats_as_summary(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f = window();
	static const double rtt[] = { 30, 10, 20, 11 };
	char err[256], *html;
	struct report *r;
	json_t *data, *rt, *targets, *st;

	for (long i = 0; i < 4; i++)
		meas(&t->c, i * 60, A_ROOT, NULL, rtt[i]);
	meas(&t->c, 300, A_ROOT, "generic_timeout_error", 0);
	schain_ingest(&t->s, &t->c, 10);
	assert_non_null(r = report_build(t->s.st, &f, err, sizeof(err)));
	html = html_of(r);
	data = data_of(html);
	rt = json_array_get(json_object_get(data, "targets"), 0);
	targets = summary_targets(t, &f);
	assert_int_equal(json_array_size(targets), 1);
	st = json_array_get(targets, 0);
	assert_true(
	    json_real_value(json_object_get(st, "rtt_median_ms")) == 15.5);
	/* json_equal: both reals, of the same value. */
	assert_true(json_equal(json_object_get(rt, "median_ms"),
	    json_object_get(st, "rtt_median_ms")));
	assert_true(json_equal(json_object_get(rt, "p95_ms"),
	    json_object_get(st, "rtt_p95_ms")));
	assert_has(html, "<b id=\"availability\">80.000&#8239;%</b>");
	assert_true(
	    json_real_value(json_object_get(st, "availability_pct")) == 80.0);
	json_decref(targets);
	json_decref(data);
	free(html);
	report_free(r);
}

/* A probe's cut is one episode of several targets, its own target fields
 * NULL: its label names every target, not "(null)" or an empty one. */
static void
test_cut_label(void **state)
{
	struct episode_target tg[2] = {
		{ "root-soa", "a.root-servers.net", "198.41.0.4", "udp", 4 },
		{ "tld-soa", "ns1.sd", "10.53.2.1", "tcp", 4 },
	};
	struct episode e = { .scope = EPISODE_PROBE,
		.af = -1,
		.targets = tg,
		.ntargets = 2 };
	char *s;

	(void)state;
	assert_non_null(s = report_episode_target(&e));
	assert_string_equal(s,
	    "all 2 targets: root-soa 198.41.0.4/udp, "
	    "tld-soa 10.53.2.1/tcp");
	free(s);
	e.silence = true;
	e.ntargets = 0;
	assert_non_null(s = report_episode_target(&e));
	assert_string_equal(s, "(heartbeats stopped)");
	free(s);
}

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {
		SFIX_TEST(test_report, sfix_setup_sqlite),
		SFIX_TEST(test_figures, sfix_setup_sqlite),
		SFIX_TEST(test_long_label, sfix_setup_sqlite),
		SFIX_TEST(test_same_stats_as_summary, sfix_setup_sqlite),
		SFIX_TEST(test_declared_before, sfix_setup_sqlite),
		cmocka_unit_test(test_cut_label),
	};
	const struct CMUnitTest pg_tests[] = {
		SFIX_TEST(test_report, sfix_setup_pg),
		SFIX_TEST(test_figures, sfix_setup_pg),
		SFIX_TEST(test_long_label, sfix_setup_pg),
		SFIX_TEST(test_same_stats_as_summary, sfix_setup_pg),
		SFIX_TEST(test_declared_before, sfix_setup_pg),
	};
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("report on sqlite", sqlite_tests,
	    NULL, NULL);
	if (sfix_pg_url() != NULL)
		failed += cmocka_run_group_tests_name("report on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("report on postgresql: not run (CW_TEST_PG_URL "
		       "unset)\n");
	return failed != 0;
}
