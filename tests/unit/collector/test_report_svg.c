/* test_report_svg.c -- the report's SVG writer: escaping of hostile
 * text, scales (clamping, an empty domain, NaN), figures with no data,
 * a heatmap's colours and cells, bands marked and numbered, bars to the
 * end of an ongoing episode, percentile strips; every figure is checked
 * to be whole (one <svg> opened and closed). */
#include "config.h"

#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <event2/buffer.h>

#include "report_svg.h"

#define T0   INT64_C(1795651200000000) /* 2026-11-26T00:00:00Z */
#define HOUR (3600 * CW_USEC_PER_SEC)

/* What was appended to `b`, as a string the caller frees. */
static char *
take(struct evbuffer *b)
{
	size_t n = evbuffer_get_length(b);
	char *s = malloc(n + 1);

	assert_non_null(s);
	assert_int_equal(evbuffer_remove(b, s, n), (int)n);
	s[n] = '\0';
	return s;
}

static size_t
count(const char *s, const char *what)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, what)) != NULL; p++)
		n++;
	return n;
}

/* One whole figure: starts with <svg, ends with </svg>, no raw '<'
 * from the hostile text. */
static void
assert_whole(const char *s)
{
	assert_true(strncmp(s, "<svg ", 5) == 0);
	assert_int_equal(count(s, "<svg "), 1);
	assert_true(strlen(s) > 6 && strcmp(s + strlen(s) - 6, "</svg>") == 0);
	assert_null(strstr(s, "<script"));
}

static void
test_text(void **state)
{
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	assert_int_equal(report_svg_text(b,
	                     "<script>alert('x')</script> & \"q\"\x01\x1b"
	                     "tab\tok"),
	    0);
	assert_int_equal(report_svg_text(b, NULL), 0);
	s = take(b);
	assert_string_equal(s,
	    "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; "
	    "&quot;q&quot;tab\tok");
	free(s);
	assert_int_equal(report_svg_text(b, ""), 0);
	assert_int_equal(evbuffer_get_length(b), 0);
	evbuffer_free(b);
}

static void
test_scale(void **state)
{
	struct report_svg_scale s = { 0, 100, 10, 210 };
	struct report_svg_scale empty = { 5, 5, 10, 20 };

	(void)state;
	assert_true(fabs(report_svg_map(&s, 0) - 10) < 1e-9);
	assert_true(fabs(report_svg_map(&s, 50) - 110) < 1e-9);
	assert_true(fabs(report_svg_map(&s, 100) - 210) < 1e-9);
	assert_true(fabs(report_svg_map(&s, -5) - 10) < 1e-9);   /* clamped */
	assert_true(fabs(report_svg_map(&s, 1e9) - 210) < 1e-9); /* clamped */
	assert_true(fabs(report_svg_map(&s, NAN) - 110) < 1e-9);
	assert_true(fabs(report_svg_map(&empty, 5) - 15) < 1e-9);
	assert_true(fabs(report_svg_map(&empty, 99) - 15) < 1e-9);
}

/* No rows, no bars, no strips: a frame that says so. */
static void
test_empty(void **state)
{
	struct evbuffer *b = evbuffer_new();
	struct report_svg_heatmap h = { .frame = { "empty", T0, T0 + HOUR, NULL,
		                            0 } };
	struct report_svg_bars bars = { .frame = h.frame };
	struct report_svg_strips st = { "strips", "ms", NULL, 0, NULL, 0 };
	char *s;

	(void)state;
	assert_int_equal(report_svg_heatmap(b, &h), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s, ">no data<"));
	free(s);
	assert_int_equal(report_svg_bars(b, &bars), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s, ">no data<"));
	free(s);
	assert_int_equal(report_svg_strips(b, &st), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s, ">no data<"));
	free(s);
	evbuffer_free(b);
}

/* Two rows of four columns: green, red, grey (no data); the band and
 * its number; the hostile label escaped. */
static void
test_heatmap(void **state)
{
	static const char *const labels[] = { "root-soa IPv4/udp",
		"<b>evil</b>" };
	static const double v[] = { 1, 0, -1, 0.5, 1, 1, 1, 1 };
	struct report_svg_band band = { T0 + HOUR / 4, T0 + HOUR / 2, 7 };
	struct report_svg_heatmap h = { .frame = { "A & B", T0, T0 + HOUR,
		                            &band, 1 },
		.labels = labels,
		.values = v,
		.nrows = 2,
		.ncols = 4 };
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	assert_int_equal(report_svg_heatmap(b, &h), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s, ">A &amp; B<"));
	assert_non_null(strstr(s, "&lt;b&gt;evil&lt;/b&gt;"));
	assert_null(strstr(s, "<b>"));
	assert_int_equal(count(s, "fill=\"#1a9850\""), 5); /* share 1 */
	assert_int_equal(count(s, "fill=\"#d73027\""), 1); /* share 0 */
	assert_int_equal(count(s, "fill=\"#dddddd\""), 1); /* no data */
	assert_int_equal(count(s, "fill=\"#fee08b\""), 1); /* share 0.5 */
	assert_int_equal(count(s, "data-annotation=\"7\""), 1);
	assert_non_null(strstr(s, ">[7]<"));
	/* The band starts a quarter into the plot (260 .. 916). */
	assert_non_null(strstr(s, "<rect x=\"424.0\""));
	free(s);
	evbuffer_free(b);
}

/* An ended bar and an ongoing one (to the end of the axis). */
static void
test_bars(void **state)
{
	struct report_svg_bar bars[] = {
		{ "target k.root", T0 + HOUR / 2, T0 + 3 * HOUR / 4, 0 },
		{ "probe 'x'", T0 + HOUR / 2, 0, 1 },
	};
	struct report_svg_bars fig = { .frame = { "episodes", T0, T0 + HOUR,
		                           NULL, 0 },
		.bars = bars,
		.nbars = 2 };
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	assert_int_equal(report_svg_bars(b, &fig), 0);
	s = take(b);
	assert_whole(s);
	/* x from 588 (half way) to 752 (three quarters), then to 916. */
	assert_non_null(strstr(s, "x=\"588.0\" y=\"50\" width=\"164.0\""));
	assert_non_null(strstr(s, "x=\"588.0\" y=\"66\" width=\"328.0\""));
	assert_non_null(strstr(s, "probe &#39;x&#39;"));
	free(s);
	evbuffer_free(b);
}

/* A long label: cut at 40 bytes between characters, whole in its
 * title. */
static void
test_label(void **state)
{
	/* 39 ASCII bytes, then a two-byte character across byte 40. */
	static const char *const labels[] = {
		"root-soa a.root-servers.net 198.41.0.4/\xc3\xa9tcp IPv6"
	};
	static const double v[] = { 1 };
	struct report_svg_heatmap h = { .frame = { "t", T0, T0 + HOUR, NULL,
		                            0 },
		.labels = labels,
		.values = v,
		.nrows = 1,
		.ncols = 1 };
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	assert_int_equal(report_svg_heatmap(b, &h), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s,
	    "<title>root-soa a.root-servers.net "
	    "198.41.0.4/\xc3\xa9tcp IPv6</title>"));
	assert_non_null(strstr(s,
	    ">root-soa a.root-servers.net "
	    "198.41.0.4/&#8230;</text>"));
	free(s);
	evbuffer_free(b);
}

static void
test_strips(void **state)
{
	struct report_svg_strip rows[] = {
		{ "a", { 1, 2, 3, 4, 10 }, 100 },
		{ "b", { 0 }, 0 },
	};
	struct report_svg_band band = { T0, T0, 2 };
	struct report_svg_strips st = { "rtt", "ms", rows, 2, &band, 1 };
	struct evbuffer *b = evbuffer_new();
	char *s;

	(void)state;
	assert_int_equal(report_svg_strips(b, &st), 0);
	s = take(b);
	assert_whole(s);
	assert_non_null(strstr(s, "median 3.0, p95 10.0 ms (n=100)"));
	assert_non_null(strstr(s, ">no values<"));
	assert_non_null(strstr(s, "data-annotation=\"2\">[2]"));
	/* The axis ends at the largest p95. */
	assert_non_null(strstr(s, ">10.0</text>"));
	free(s);
	evbuffer_free(b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_scale),
		cmocka_unit_test(test_empty),
		cmocka_unit_test(test_heatmap),
		cmocka_unit_test(test_bars),
		cmocka_unit_test(test_label),
		cmocka_unit_test(test_strips),
	};

	return cmocka_run_group_tests_name("report_svg", tests, NULL, NULL);
}
