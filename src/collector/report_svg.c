/*
 * report_svg.c -- the report's figures as SVG (report_svg.h): a frame,
 * a time axis, the bands, and the marks of each kind of figure.
 */
#include "config.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>

#include "report_svg.h"

#define SVG_WIDTH  960
#define SVG_LEFT   260 /* labels */
#define SVG_RIGHT  44  /* room for the last time label */
#define SVG_TOP    48  /* title and band numbers */
#define SVG_BOTTOM 36  /* time axis */
#define SVG_ROW    16
#define SVG_TICKS  6
#define SVG_LABEL  40 /* bytes of a row label shown; all in its title */

/* Figure colours: by scope (target, probe, region), and the bands. */
static const char *const report_svg_kind_colour[] = { "#d7301f", "#6a51a3",
	"#e6550d" };
#define SVG_BAND_COLOUR "#2171b5"

double
report_svg_map(const struct report_svg_scale *s, double v)
{
	double t;

	if (s->d1 == s->d0 || isnan(v))
		return (s->r0 + s->r1) / 2;
	t = (v - s->d0) / (s->d1 - s->d0);
	if (t < 0)
		t = 0;
	if (t > 1)
		t = 1;
	return s->r0 + t * (s->r1 - s->r0);
}

int
report_svg_text(struct evbuffer *out, const char *s)
{
	const char *run;
	int rc = 0;

	if (s == NULL)
		return 0;
	for (run = s; *s != '\0'; s++) {
		const char *ref = NULL;
		switch (*s) {
		case '&':
			ref = "&amp;";
			break;
		case '<':
			ref = "&lt;";
			break;
		case '>':
			ref = "&gt;";
			break;
		case '"':
			ref = "&quot;";
			break;
		case '\'':
			ref = "&#39;";
			break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t' &&
			    *s != '\n')
				ref = "";
			break;
		}
		if (ref == NULL)
			continue;
		rc |= evbuffer_add(out, run, (size_t)(s - run));
		rc |= evbuffer_add(out, ref, strlen(ref));
		run = s + 1;
	}
	rc |= evbuffer_add(out, run, (size_t)(s - run));
	return rc == 0 ? 0 : -1;
}

/* The opening of a figure `height` high, its title at the top. */
static int
report_svg_open(struct evbuffer *out, const char *title, int height)
{
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<svg xmlns=\"http://www.w3.org/2000/svg\" "
	          "width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\" "
	          "font-family=\"sans-serif\" font-size=\"11\" role=\"img\">"
	          "<rect width=\"%d\" height=\"%d\" fill=\"#ffffff\"/>"
	          "<text x=\"8\" y=\"18\" font-size=\"14\" "
	          "font-weight=\"bold\">",
	          SVG_WIDTH, height, SVG_WIDTH, height, SVG_WIDTH, height) < 0;
	rc |= report_svg_text(out, title);
	rc |= evbuffer_add_printf(out, "</text>") < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_svg_close(struct evbuffer *out)
{
	return evbuffer_add_printf(out, "</svg>") < 0 ? -1 : 0;
}

/* The time scale of a frame onto the plot's width. */
static struct report_svg_scale
report_svg_time_scale(const struct report_svg_frame *f)
{
	return (struct report_svg_scale){ (double)f->from, (double)f->to,
		SVG_LEFT, SVG_WIDTH - SVG_RIGHT };
}

/* The time axis under a plot whose bottom is at `y`: ticks and UTC
 * labels. */
static int
report_svg_time_axis(struct evbuffer *out, const struct report_svg_frame *f,
    int y)
{
	struct report_svg_scale s = report_svg_time_scale(f);
	char label[32];
	struct tm tm;
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	          "stroke=\"#333\"/>",
	          SVG_LEFT, y, SVG_WIDTH - SVG_RIGHT, y) < 0;
	for (int i = 0; i <= SVG_TICKS; i++) {
		cw_usec_t t = f->from + (f->to - f->from) / SVG_TICKS * i;
		time_t sec = (time_t)(t / CW_USEC_PER_SEC);
		double x = report_svg_map(&s, (double)t);
		if (gmtime_r(&sec, &tm) == NULL ||
		    strftime(label, sizeof(label), "%m-%d %H:%M", &tm) == 0)
			snprintf(label, sizeof(label), "?");
		rc |= evbuffer_add_printf(out,
		          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		          "stroke=\"#333\"/><text x=\"%.1f\" y=\"%d\" "
		          "text-anchor=\"middle\">%s</text>",
		          x, y, x, y + 4, x, y + 16, label) < 0;
	}
	rc |= evbuffer_add_printf(out,
	          "<text x=\"%d\" y=\"%d\" text-anchor=\"end\">UTC</text>",
	          SVG_WIDTH - SVG_RIGHT, y + 30) < 0;
	return rc == 0 ? 0 : -1;
}

/* The bands of a frame over the plot from `top` to `bottom`: a shaded
 * window, its edges, its number above. */
static int
report_svg_bands(struct evbuffer *out, const struct report_svg_frame *f,
    int top, int bottom)
{
	struct report_svg_scale s = report_svg_time_scale(f);
	int rc = 0;

	for (size_t i = 0; i < f->nbands; i++) {
		const struct report_svg_band *b = &f->bands[i];
		double x0 = report_svg_map(&s, (double)b->from);
		double x1 = report_svg_map(&s, (double)b->to);
		rc |= evbuffer_add_printf(out,
		          "<g class=\"annotation\" data-annotation=\"%d\">"
		          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		          "height=\"%d\" fill=\"%s\" fill-opacity=\"0.15\"/>"
		          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		          "stroke=\"%s\" stroke-dasharray=\"3,2\"/>"
		          "<text x=\"%.1f\" y=\"%d\" fill=\"%s\">[%d]</text>"
		          "</g>",
		          b->number, x0, top, x1 - x0, bottom - top,
		          SVG_BAND_COLOUR, x0, top - 4, x0, bottom,
		          SVG_BAND_COLOUR, x0 + 2, top - 6, SVG_BAND_COLOUR,
		          b->number) < 0;
	}
	return rc == 0 ? 0 : -1;
}

/* A row's label, right-aligned before the plot: its first SVG_LABEL
 * bytes (cut between two UTF-8 characters) and an ellipsis when it is
 * longer, the whole label as the row's tooltip. */
static int
report_svg_label(struct evbuffer *out, const char *label, int y)
{
	size_t len = label != NULL ? strlen(label) : 0, cut = len;
	char *head;
	int rc = 0;

	if (len > SVG_LABEL) {
		cut = SVG_LABEL;
		while (cut > 0 && ((unsigned char)label[cut] & 0xc0) == 0x80)
			cut--;
	}
	if ((head = strndup(label != NULL ? label : "", cut)) == NULL)
		return -1;
	rc |= evbuffer_add_printf(out, "<title>") < 0;
	rc |= report_svg_text(out, label);
	rc |= evbuffer_add_printf(out,
	          "</title><text x=\"%d\" y=\"%d\" text-anchor=\"end\">",
	          SVG_LEFT - 6, y) < 0;
	rc |= report_svg_text(out, head);
	rc |= evbuffer_add_printf(out, "%s</text>",
	          cut < len ? "&#8230;" : "") < 0;
	free(head);
	return rc == 0 ? 0 : -1;
}

static int
report_svg_no_data(struct evbuffer *out, int y)
{
	return evbuffer_add_printf(out,
	           "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" "
	           "fill=\"#777\">no data</text>",
	           (SVG_LEFT + SVG_WIDTH) / 2, y) < 0 ?
	    -1 :
	    0;
}

/* A share from 0 (red) through 0.5 (yellow) to 1 (green). */
static void
report_svg_share_colour(double v, char rgb[8])
{
	static const int c[3][3] = { { 215, 48, 39 }, { 254, 224, 139 },
		{ 26, 152, 80 } };
	int lo = v < 0.5 ? 0 : 1, ch[3];
	double t = v < 0.5 ? v * 2 : (v - 0.5) * 2;

	for (int i = 0; i < 3; i++)
		ch[i] = (int)lround(c[lo][i] + t * (c[lo + 1][i] - c[lo][i]));
	snprintf(rgb, 8, "#%02x%02x%02x", ch[0], ch[1], ch[2]);
}

int
report_svg_heatmap(struct evbuffer *out, const struct report_svg_heatmap *h)
{
	int plot = (int)(h->nrows > 0 ? h->nrows : 1) * SVG_ROW;
	int height = SVG_TOP + plot + SVG_BOTTOM, rc = 0;
	double cw = h->ncols > 0 ?
	    (double)(SVG_WIDTH - SVG_RIGHT - SVG_LEFT) / (double)h->ncols :
	    0;
	char rgb[8];

	rc |= report_svg_open(out, h->frame.title, height);
	if (h->nrows == 0 || h->ncols == 0)
		rc |= report_svg_no_data(out, SVG_TOP + SVG_ROW - 4);
	for (size_t r = 0; r < h->nrows && h->ncols > 0; r++) {
		int y = SVG_TOP + (int)r * SVG_ROW;
		rc |= evbuffer_add_printf(out, "<g class=\"row\">") < 0;
		rc |= report_svg_label(out, h->labels[r], y + SVG_ROW - 4);
		for (size_t c = 0; c < h->ncols; c++) {
			double v = h->values[r * h->ncols + c];
			if (v < 0 || isnan(v))
				snprintf(rgb, sizeof(rgb), "#dddddd");
			else
				report_svg_share_colour(v > 1 ? 1 : v, rgb);
			rc |= evbuffer_add_printf(out,
			          "<rect x=\"%.2f\" y=\"%d\" width=\"%.2f\" "
			          "height=\"%d\" fill=\"%s\"/>",
			          SVG_LEFT + cw * (double)c, y + 1, cw + 0.05,
			          SVG_ROW - 2, rgb) < 0;
		}
		rc |= evbuffer_add_printf(out, "</g>") < 0;
	}
	rc |= report_svg_bands(out, &h->frame, SVG_TOP, SVG_TOP + plot);
	rc |= report_svg_time_axis(out, &h->frame, SVG_TOP + plot);
	rc |= report_svg_close(out);
	return rc == 0 ? 0 : -1;
}

int
report_svg_bars(struct evbuffer *out, const struct report_svg_bars *b)
{
	struct report_svg_scale s = report_svg_time_scale(&b->frame);
	int plot = (int)(b->nbars > 0 ? b->nbars : 1) * SVG_ROW;
	int height = SVG_TOP + plot + SVG_BOTTOM + 16, rc = 0;

	rc |= report_svg_open(out, b->frame.title, height);
	if (b->nbars == 0)
		rc |= report_svg_no_data(out, SVG_TOP + SVG_ROW - 4);
	for (size_t i = 0; i < b->nbars; i++) {
		const struct report_svg_bar *bar = &b->bars[i];
		int y = SVG_TOP + (int)i * SVG_ROW;
		int kind = bar->kind >= 0 && bar->kind <= 2 ? bar->kind : 0;
		double x0 = report_svg_map(&s, (double)bar->from);
		double x1 = bar->to == 0 ? SVG_WIDTH - SVG_RIGHT :
		                           report_svg_map(&s, (double)bar->to);
		rc |= evbuffer_add_printf(out, "<g class=\"bar\">") < 0;
		rc |= report_svg_label(out, bar->label, y + SVG_ROW - 4);
		rc |= evbuffer_add_printf(out,
		          "<rect x=\"%.1f\" y=\"%d\" width=\"%.1f\" "
		          "height=\"%d\" fill=\"%s\"/></g>",
		          x0, y + 2, x1 - x0 < 2 ? 2 : x1 - x0, SVG_ROW - 4,
		          report_svg_kind_colour[kind]) < 0;
	}
	rc |= report_svg_bands(out, &b->frame, SVG_TOP, SVG_TOP + plot);
	rc |= report_svg_time_axis(out, &b->frame, SVG_TOP + plot);
	for (int k = 0; k < 3; k++)
		rc |= evbuffer_add_printf(out,
		          "<rect x=\"%d\" y=\"%d\" width=\"10\" height=\"10\" "
		          "fill=\"%s\"/><text x=\"%d\" y=\"%d\">%s</text>",
		          8 + k * 80, height - 14, report_svg_kind_colour[k],
		          22 + k * 80, height - 5,
		          k == 0     ? "target" :
		              k == 1 ? "probe" :
		                       "region") < 0;
	rc |= report_svg_close(out);
	return rc == 0 ? 0 : -1;
}

int
report_svg_strips(struct evbuffer *out, const struct report_svg_strips *s)
{
	int plot = (int)(s->nrows > 0 ? s->nrows : 1) * SVG_ROW;
	int height = SVG_TOP + plot + SVG_BOTTOM + 16, rc = 0;
	struct report_svg_scale sc = { 0, 0, SVG_LEFT, SVG_WIDTH - 180 };
	int y = SVG_TOP + plot;

	for (size_t i = 0; i < s->nrows; i++)
		if (s->rows[i].n > 0 && s->rows[i].p[4] > sc.d1)
			sc.d1 = s->rows[i].p[4];
	rc |= report_svg_open(out, s->title, height);
	if (s->nrows == 0)
		rc |= report_svg_no_data(out, SVG_TOP + SVG_ROW - 4);
	for (size_t i = 0; i < s->nrows; i++) {
		const struct report_svg_strip *r = &s->rows[i];
		int ry = SVG_TOP + (int)i * SVG_ROW, mid = ry + SVG_ROW / 2;
		double x[5];
		rc |= evbuffer_add_printf(out, "<g class=\"strip\">") < 0;
		rc |= report_svg_label(out, r->label, ry + SVG_ROW - 4);
		if (r->n == 0) {
			rc |= evbuffer_add_printf(out,
			          "<text x=\"%d\" y=\"%d\" fill=\"#777\">"
			          "no values</text></g>",
			          SVG_LEFT, ry + SVG_ROW - 4) < 0;
			continue;
		}
		for (int k = 0; k < 5; k++)
			x[k] = report_svg_map(&sc, r->p[k]);
		rc |= evbuffer_add_printf(out,
		          "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
		          "stroke=\"#555\"/><rect x=\"%.1f\" y=\"%d\" "
		          "width=\"%.1f\" height=\"%d\" fill=\"#9ecae1\" "
		          "stroke=\"#3182bd\"/><line x1=\"%.1f\" y1=\"%d\" "
		          "x2=\"%.1f\" y2=\"%d\" stroke=\"#08306b\" "
		          "stroke-width=\"2\"/><text x=\"%d\" y=\"%d\">"
		          "median %.1f, p95 %.1f %s (n=%lld)</text></g>",
		          x[0], mid, x[4], mid, x[1], ry + 3, x[3] - x[1],
		          SVG_ROW - 6, x[2], ry + 2, x[2], ry + SVG_ROW - 2,
		          SVG_WIDTH - 174, ry + SVG_ROW - 4, r->p[2], r->p[4],
		          s->unit, r->n) < 0;
	}
	rc |= evbuffer_add_printf(out,
	          "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" "
	          "stroke=\"#333\"/>",
	          SVG_LEFT, y, SVG_WIDTH - 180, y) < 0;
	for (int k = 0; k <= 4; k++) {
		double v = sc.d1 / 4 * k;
		rc |= evbuffer_add_printf(out,
		          "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">"
		          "%.1f</text>",
		          report_svg_map(&sc, v), y + 16, v) < 0;
	}
	rc |= evbuffer_add_printf(out,
	          "<text x=\"%d\" y=\"%d\">%s; box: p25-p75, whiskers: "
	          "p5-p95, bar: median</text>",
	          SVG_LEFT, y + 30, s->unit) < 0;
	if (s->nbands > 0) {
		rc |= evbuffer_add_printf(out,
		          "<text x=\"8\" y=\"%d\" fill=\"%s\">annotations in "
		          "the window:",
		          height - 5, SVG_BAND_COLOUR) < 0;
		for (size_t i = 0; i < s->nbands; i++)
			rc |= evbuffer_add_printf(out,
			          " <tspan class=\"annotation\" "
			          "data-annotation=\"%d\">[%d]</tspan>",
			          s->bands[i].number, s->bands[i].number) < 0;
		rc |= evbuffer_add_printf(out, "</text>") < 0;
	}
	rc |= report_svg_close(out);
	return rc == 0 ? 0 : -1;
}
