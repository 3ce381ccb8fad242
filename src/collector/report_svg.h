/*
 * report_svg.h -- the figures of a case-study report (report.h) drawn
 * as SVG: a small writer with no library behind it, so that a report
 * opens offline in any browser, with or without JavaScript, and a
 * figure can be cut out alone for a paper (doc/report.md).
 *
 * Three kinds of figure, each a function that appends one whole <svg>
 * element to an evbuffer: a heatmap of shares over time (availability
 * per target group), time bars (episodes), and percentile strips (RTT
 * distributions).  Every figure with a time axis marks the given time
 * bands (annotations) and numbers them; the strips, which have none,
 * list the bands' numbers under the plot.  Every string is escaped
 * (report_svg_text), whatever it holds.  A figure with no data draws
 * its frame and says "no data".  Functions return 0, or -1 when out of
 * memory (what was appended is then incomplete).
 */
#ifndef CW_REPORT_SVG_H
#define CW_REPORT_SVG_H

#include <stddef.h>

#include "cwtime.h"

struct evbuffer;

/* A linear scale from the domain [d0, d1] to the range [r0, r1]. */
struct report_svg_scale {
	double d0, d1, r0, r1;
};

/* report_svg_map: `v` on scale `s`, clamped into the range; the middle
 * of the range when the domain is empty (d0 == d1) or `v` is not a
 * number. */
double report_svg_map(const struct report_svg_scale *s, double v);

/* report_svg_text: `s` (NUL-terminated, NULL: nothing) appended with &,
 * <, >, " and ' as character references, and every byte below 0x20 but
 * TAB and LF dropped (XML 1.0 allows none), so that it is safe as text
 * and as a quoted attribute value in SVG and HTML alike.  Returns 0 or
 * -1. */
int report_svg_text(struct evbuffer *out, const char *s);

/* A time band to mark: an annotation's window and its number. */
struct report_svg_band {
	cw_usec_t from, to;
	int number; /* shown as [number] */
};

/* What every figure with a time axis shares. */
struct report_svg_frame {
	const char *title;  /* borrowed */
	cw_usec_t from, to; /* the time axis, from < to */
	const struct report_svg_band *bands;
	size_t nbands;
};

/* A heatmap: `nrows` rows of `ncols` equal columns spanning the frame's
 * time; values[row * ncols + col] a share from 0 to 1, or a negative
 * value where there is no data (drawn grey). */
struct report_svg_heatmap {
	struct report_svg_frame frame;
	const char *const *labels; /* nrows */
	const double *values;
	size_t nrows, ncols;
};

int report_svg_heatmap(struct evbuffer *out,
    const struct report_svg_heatmap *h);

/* Time bars: one row each, from `from` to `to` (to 0: ongoing, drawn to
 * the end of the axis), coloured by `kind` (0 .. 2: target, probe,
 * region, as episodes.h's scopes). */
struct report_svg_bar {
	const char *label; /* borrowed */
	cw_usec_t from, to;
	int kind;
};

struct report_svg_bars {
	struct report_svg_frame frame;
	const struct report_svg_bar *bars;
	size_t nbars;
};

int report_svg_bars(struct evbuffer *out, const struct report_svg_bars *b);

/* Percentile strips: for each row, the 5th, 25th, 50th, 75th and 95th
 * percentiles (p[0..4], ascending) of `n` values; a row with n 0 says
 * "no values".  `unit` labels the axis ("ms"). */
struct report_svg_strip {
	const char *label; /* borrowed */
	double p[5];
	long long n;
};

struct report_svg_strips {
	const char *title, *unit;
	const struct report_svg_strip *rows;
	size_t nrows;
	const struct report_svg_band *bands; /* listed by number only */
	size_t nbands;
};

int report_svg_strips(struct evbuffer *out, const struct report_svg_strips *s);

#endif /* CW_REPORT_SVG_H */
