/*
 * report_html.c -- the case-study report written out (report.h): the
 * page, its figures (report_svg.h) and the JSON block of their data.
 * Every string from the database goes through report_svg_text().
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "annotate.h"
#include "episodes.h"
#include "export.h"
#include "report.h"
#include "report_int.h"
#include "report_svg.h"

static const char *const report_figure_names[] = { "availability", "targets",
	"rtt", "episodes" };
#define REPORT_NFIGURES \
	(sizeof(report_figure_names) / sizeof(report_figure_names[0]))

/* No script runs, nothing is fetched: the page is its own world. */
#define REPORT_HEAD \
	"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">" \
	"<meta http-equiv=\"Content-Security-Policy\" content=\"default-src " \
	"'none'; style-src 'unsafe-inline'\">" \
	"<meta name=\"generator\" content=\"corewatch-collector report\">"
#define REPORT_STYLE \
	"<style>body{font-family:sans-serif;margin:2em;max-width:1000px}" \
	"table{border-collapse:collapse;font-size:12px;margin:1em 0}" \
	"td,th{border:1px solid #bbb;padding:2px 5px;text-align:left;" \
	"vertical-align:top}th{background:#eee}code,.mono{font-family:" \
	"monospace;font-size:11px;word-break:break-all}figure{margin:1em 0}" \
	"figure svg{max-width:100%%;height:auto}figcaption{font-size:12px;" \
	"color:#444}@media print{figure,tr{break-inside:avoid}}</style>"

size_t
report_figure_count(void)
{
	return REPORT_NFIGURES;
}

const char *
report_figure_name(size_t i)
{
	return i < REPORT_NFIGURES ? report_figure_names[i] : NULL;
}

/* printf-style text with `s` escaped after it: the common shape of a
 * cell.  Returns 0 or -1. */
static int
report_put(struct evbuffer *out, const char *before, const char *s,
    const char *after)
{
	int rc = 0;

	rc |= evbuffer_add(out, before, strlen(before));
	rc |= report_svg_text(out, s);
	rc |= evbuffer_add(out, after, strlen(after));
	return rc == 0 ? 0 : -1;
}

static const char *
report_time(cw_usec_t t, char buf[CW_TIME_STRLEN])
{
	if (t <= 0)
		return "-";
	export_time_format(t, buf);
	return buf;
}

/* The annotations as bands, numbered from 1 in their order.  NULL when
 * there are none or memory ran out (*ok false then). */
static struct report_svg_band *
report_bands(const struct report *r, bool *ok)
{
	struct report_svg_band *b;

	*ok = true;
	if (r->nannots == 0)
		return NULL;
	if ((b = calloc(r->nannots, sizeof(*b))) == NULL) {
		*ok = false;
		return NULL;
	}
	for (size_t i = 0; i < r->nannots; i++)
		b[i] = (struct report_svg_band){ r->annots[i].from,
			r->annots[i].to, (int)i + 1 };
	return b;
}

/* A heatmap of `n` series (the `size`-byte elements from `base`, each
 * starting with a struct report_series) under `title`. */
static int
report_fig_series(const struct report *r, struct evbuffer *out,
    const struct report_svg_band *bands, const char *title, const void *base,
    size_t n, size_t size)
{
	struct report_svg_heatmap h = { .frame = { title, r->filter.from,
		                            r->filter.to, bands, r->nannots },
		.nrows = n,
		.ncols = r->ncols };
	const char **labels = calloc(n + 1, sizeof(*labels));
	double *v = calloc(n * r->ncols + 1, sizeof(*v));
	int rc = -1;

	if (labels != NULL && v != NULL) {
		for (size_t g = 0; g < n; g++) {
			const struct report_series *s =
			    (const void *)((const char *)base + g * size);
			labels[g] = s->label;
			for (size_t c = 0; c < r->ncols; c++)
				v[g * r->ncols + c] = s->total[c] > 0 ?
				    (double)s->ok[c] / (double)s->total[c] :
				    -1;
		}
		h.labels = labels;
		h.values = v;
		rc = report_svg_heatmap(out, &h);
	}
	free(labels);
	free(v);
	return rc;
}

static int
report_fig_rtt(const struct report *r, struct evbuffer *out,
    const struct report_svg_band *bands)
{
	static const unsigned q[5] = { 5, 25, 50, 75, 95 };
	struct report_svg_strips s = { "RTT distribution per target "
		                       "(successful results)",
		"ms", NULL, r->ntargets, bands, r->nannots };
	struct report_svg_strip *rows = calloc(r->ntargets + 1, sizeof(*rows));
	int rc;

	if (rows == NULL)
		return -1;
	for (size_t i = 0; i < r->ntargets; i++) {
		const struct report_target *t = &r->targets[i];
		rows[i].label = t->s.label;
		rows[i].n = (long long)t->rtt.n;
		for (int k = 0; k < 5 && t->rtt.n > 0; k++)
			rows[i].p[k] = report_rtt_ms(t, q[k]);
	}
	s.rows = rows;
	rc = report_svg_strips(out, &s);
	free(rows);
	return rc;
}

/* The label of an episode's bar: scope, probe name, target. */
static char *
report_episode_label(const struct report *r, const struct episode *e)
{
	const struct report_probe *p = report_probe_find(r, e->probe);
	char *target = report_episode_target(e), *s = NULL;

	if (target != NULL &&
	    asprintf(&s, "%s %s: %s", episode_scope_name(e->scope),
	        p != NULL && p->name[0] != '\0' ? p->name : e->probe,
	        target) == -1)
		s = NULL;
	free(target);
	return s;
}

static cw_usec_t
report_episode_start(const struct episode *e)
{
	return e->silence ? e->last_ok.time : e->first_failure.time;
}

static int
report_fig_episodes(const struct report *r, struct evbuffer *out,
    const struct report_svg_band *bands)
{
	size_t n = r->episodes.n < REPORT_MAX_EPISODES ? r->episodes.n :
	                                                 REPORT_MAX_EPISODES;
	struct report_svg_bars b = { .frame = { "Episodes (bars from the "
		                                "first failure to the first "
		                                "success after)",
		                         r->filter.from, r->filter.to, bands,
		                         r->nannots },
		.nbars = n };
	struct report_svg_bar *bars = calloc(n + 1, sizeof(*bars));
	int rc = -1;

	if (bars == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		const struct episode *e = &r->episodes.v[i];
		if ((bars[i].label = report_episode_label(r, e)) == NULL)
			goto out;
		bars[i].from = report_episode_start(e);
		bars[i].to = e->first_ok.id != 0 ? e->first_ok.time : 0;
		bars[i].kind = (int)e->scope;
	}
	b.bars = bars;
	rc = report_svg_bars(out, &b);
out:
	for (size_t i = 0; i < n; i++)
		free((char *)bars[i].label);
	free(bars);
	return rc;
}

/* Figure `i` into `out`.  0 or -1. */
static int
report_fig(const struct report *r, size_t i, struct evbuffer *out)
{
	struct report_svg_band *bands;
	bool ok;
	int rc;

	bands = report_bands(r, &ok);
	if (!ok)
		return -1;
	switch (i) {
	case 0:
		rc = report_fig_series(r, out, bands,
		    "Availability per target group (share of successful "
		    "results per column)",
		    r->groups, r->ngroups, sizeof(*r->groups));
		break;
	case 1:
		rc = report_fig_series(r, out, bands,
		    "Availability per target (share of successful results "
		    "per column)",
		    r->targets, r->ntargets, sizeof(*r->targets));
		break;
	case 2:
		rc = report_fig_rtt(r, out, bands);
		break;
	default:
		rc = report_fig_episodes(r, out, bands);
		break;
	}
	free(bands);
	return rc;
}

int
report_figure(const struct report *r, const char *name, struct evbuffer *out)
{
	for (size_t i = 0; i < REPORT_NFIGURES; i++) {
		if (strcmp(name, report_figure_names[i]) != 0)
			continue;
		if (evbuffer_add_printf(out,
		        "<?xml version=\"1.0\" "
		        "encoding=\"UTF-8\"?>\n") < 0 ||
		    report_fig(r, i, out) == -1 ||
		    evbuffer_add(out, "\n", 1) == -1)
			return -1;
		return 0;
	}
	return REPORT_E_FIGURE;
}

/* --- the JSON block --- */

/* A series's columns as {"ok": [...], "total": [...]} members of `o`
 * (taken; NULL stays NULL). */
static json_t *
report_json_columns(const struct report *r, const struct report_series *s,
    json_t *o)
{
	json_t *ok = json_array(), *total = json_array();

	for (size_t c = 0; ok != NULL && total != NULL && c < r->ncols; c++) {
		json_array_append_new(ok, json_integer(s->ok[c]));
		json_array_append_new(total, json_integer(s->total[c]));
	}
	json_object_set_new(o, "ok", ok);
	json_object_set_new(o, "total", total);
	return o;
}

static json_t *
report_json_groups(const struct report *r)
{
	json_t *a = json_array();

	for (size_t g = 0; a != NULL && g < r->ngroups; g++)
		json_array_append_new(a,
		    report_json_columns(r, &r->groups[g],
		        json_pack("{s:s}", "group", r->groups[g].label)));
	return a;
}

static json_t *
report_json_targets(const struct report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < r->ntargets; i++) {
		const struct report_target *t = &r->targets[i];
		json_t *o = json_pack("{s:s, s:I, s:I, s:I}", "target",
		    t->s.label, "results", (json_int_t)t->s.total_all,
		    "successes", (json_int_t)t->s.ok_all, "rtts",
		    (json_int_t)t->rtt.n);
		if (t->rtt.n > 0) {
			json_object_set_new(o, "p5_ms",
			    json_real(report_rtt_ms(t, 5)));
			json_object_set_new(o, "median_ms",
			    json_real(report_rtt_ms(t, 50)));
			json_object_set_new(o, "p95_ms",
			    json_real(report_rtt_ms(t, 95)));
		}
		json_array_append_new(a, report_json_columns(r, &t->s, o));
	}
	return a;
}

static json_t *
report_json_annots(const struct report *r)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < r->nannots; i++) {
		json_t *o = annotate_json(&r->annots[i]);
		json_object_set_new(o, "number", json_integer((int)i + 1));
		json_array_append_new(a, o);
	}
	return a;
}

/* The episodes as episodes.c writes them (the same keys as the API and
 * the episodes command), read back into an array. */
static json_t *
report_json_episodes(const struct report *r)
{
	struct evbuffer *b = evbuffer_new();
	json_t *a = json_array(), *o;
	char *line;
	size_t len;

	if (b == NULL || a == NULL ||
	    episodes_write_jsonl(&r->episodes, b) == -1) {
		json_decref(a);
		a = NULL;
	}
	while (a != NULL &&
	    (line = evbuffer_readln(b, &len, EVBUFFER_EOL_LF)) != NULL) {
		if ((o = json_loadb(line, len, 0, NULL)) != NULL)
			json_array_append_new(a, o);
		free(line);
	}
	if (b != NULL)
		evbuffer_free(b);
	return a;
}

/* The data of the figures and tables as one JSON document, with every
 * '<', '>' and '&' written as \u escapes, so that no string can end the
 * <script> element that holds it (the escapes are valid JSON: those
 * characters stand only inside strings). */
static int
report_json_block(const struct report *r, struct evbuffer *out)
{
	char from[CW_TIME_STRLEN], to[CW_TIME_STRLEN], *text;
	json_t *doc;
	int rc = 0;

	export_time_format(r->filter.from, from);
	export_time_format(r->filter.to, to);
	doc = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:s, s:o*, s:o*, "
	                "s:o*, s:o*}",
	    "from", from, "to", to, "bucket_s",
	    (json_int_t)(r->bucket / CW_USEC_PER_SEC), "records",
	    (json_int_t)r->records, "results", (json_int_t)r->results, "ok",
	    (json_int_t)r->ok, "sha256", r->sha256, "availability",
	    report_json_groups(r), "targets", report_json_targets(r),
	    "episodes", report_json_episodes(r), "annotations",
	    report_json_annots(r));
	if (doc == NULL ||
	    (text = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII)) ==
	        NULL) {
		json_decref(doc);
		return -1;
	}
	json_decref(doc);
	rc |= evbuffer_add_printf(out,
	          "<script type=\"application/json\" "
	          "id=\"report-data\">") < 0;
	for (const char *s = text; *s != '\0'; s++) {
		if (*s == '<' || *s == '>' || *s == '&')
			rc |= evbuffer_add_printf(out, "\\u%04x", *s) < 0;
		else
			rc |= evbuffer_add(out, s, 1);
	}
	rc |= evbuffer_add_printf(out, "</script>\n") < 0;
	free(text);
	return rc == 0 ? 0 : -1;
}

/* --- the sections --- */

/* The distinct values of probes' country (`asn` false) or ASN. */
static int
report_overview_places(const struct report *r, struct evbuffer *out, bool asn)
{
	size_t shown = 0;
	int rc = 0;

	for (size_t i = 0; i < r->nprobes; i++) {
		const struct report_probe *p = &r->probes[i];
		bool seen = false;
		if (asn ? p->asn < 0 : p->country[0] == '\0')
			continue;
		for (size_t j = 0; j < i && !seen; j++)
			seen = asn ?
			    r->probes[j].asn == p->asn :
			    strcmp(r->probes[j].country, p->country) == 0;
		if (seen)
			continue;
		if (asn)
			rc |= evbuffer_add_printf(out, "%sAS%lld",
			          shown++ > 0 ? ", " : "", p->asn) < 0;
		else
			rc |= report_put(out, shown++ > 0 ? ", " : "",
			    p->country, "");
	}
	if (shown == 0)
		rc |= evbuffer_add_printf(out, "none declared") < 0;
	return rc == 0 ? 0 : -1;
}

/* `value` quoted for a POSIX shell: in single quotes, each of its own
 * written '\''. */
static int
report_shell_word(struct evbuffer *out, const char *value)
{
	int rc = evbuffer_add(out, "'", 1);

	for (const char *s = value; *s != '\0'; s++)
		rc |= *s == '\'' ? evbuffer_add(out, "'\\''", 4) :
		                   evbuffer_add(out, s, 1);
	rc |= evbuffer_add(out, "'", 1);
	return rc == 0 ? 0 : -1;
}

/* The export command that writes the records behind the report again,
 * as plain text (escaped where it is written). */
static int
report_export_command(const struct report *r, struct evbuffer *out)
{
	const struct store_filter *f = &r->filter;
	const char *keys[] = { "probe", "name", "addr", "country" };
	const char *vals[] = { f->probe, f->name, f->addr, f->country };
	char from[CW_TIME_STRLEN], to[CW_TIME_STRLEN];
	int rc = 0;

	export_time_format(f->from, from);
	export_time_format(f->to, to);
	rc |= evbuffer_add_printf(out,
	          "corewatch-collector export [-c FILE | --db URL] "
	          "--format jsonl --from %s --to %s",
	          from, to) < 0;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (vals[i] == NULL)
			continue;
		rc |= evbuffer_add_printf(out, " --%s ", keys[i]) < 0;
		rc |= report_shell_word(out, vals[i]);
	}
	if (f->asn >= 0)
		rc |= evbuffer_add_printf(out, " --asn %lld", f->asn) < 0;
	return rc == 0 ? 0 : -1;
}

/* The export command, escaped into the page. */
static int
report_put_command(const struct report *r, struct evbuffer *out,
    const char *before, const char *after)
{
	struct evbuffer *cmd = evbuffer_new();
	const char *text;
	int rc = -1;

	if (cmd != NULL && report_export_command(r, cmd) == 0 &&
	    evbuffer_add(cmd, "", 1) == 0 &&
	    (text = (const char *)evbuffer_pullup(cmd, -1)) != NULL)
		rc = report_put(out, before, text, after);
	if (cmd != NULL)
		evbuffer_free(cmd);
	return rc;
}

/* What the filter selects, said in a sentence. */
static int
report_selection(const struct report *r, struct evbuffer *out)
{
	const struct store_filter *f = &r->filter;
	int rc = 0;

	rc |= evbuffer_add_printf(out, "<p id=\"selection\">Selection: ") < 0;
	if (f->probe == NULL && f->name == NULL && f->addr == NULL &&
	    f->country == NULL && f->asn < 0)
		rc |= evbuffer_add_printf(out, "every record of the window") <
		    0;
	rc |= report_put(out, f->probe != NULL ? " probe " : "", f->probe, "");
	rc |= report_put(out, f->name != NULL ? " measurement " : "", f->name,
	    "");
	rc |= report_put(out, f->addr != NULL ? " address " : "", f->addr, "");
	rc |= report_put(out, f->country != NULL ? " country " : "", f->country,
	    "");
	if (f->asn >= 0)
		rc |= evbuffer_add_printf(out, " AS%lld", f->asn) < 0;
	rc |= evbuffer_add_printf(out, ".</p>") < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_overview(const struct report *r, struct evbuffer *out)
{
	char from[CW_TIME_STRLEN], to[CW_TIME_STRLEN];
	int rc = 0;

	export_time_format(r->filter.from, from);
	export_time_format(r->filter.to, to);
	rc |= evbuffer_add_printf(out,
	          "<h1>corewatch case study</h1><section id=\"overview\">"
	          "<h2>Overview</h2><p>From <time>%s</time> to "
	          "<time>%s</time> (UTC), the collector holds "
	          "<span id=\"records\">%llu</span> records from "
	          "<span id=\"probes\">%zu</span> probes. Countries: ",
	          from, to, r->records, r->nprobes) < 0;
	rc |= report_overview_places(r, out, false);
	rc |= evbuffer_add_printf(out, ". Networks: ") < 0;
	rc |= report_overview_places(r, out, true);
	rc |= evbuffer_add_printf(out,
	          ".</p><p>Of <span id=\"results\">%lld</span> measurement "
	          "results, <span id=\"ok\">%lld</span> succeeded: overall "
	          "availability <b id=\"availability\">%.3f&#8239;%%</b>. "
	          "Episodes: <span id=\"episode-count\">%zu</span>; "
	          "annotations: %zu.</p><p>Measured (target groups): ",
	          r->results, r->ok,
	          summary_availability_pct((unsigned long long)r->ok,
	              (unsigned long long)r->results),
	          r->episodes.n, r->nannots) < 0;
	for (size_t g = 0; g < r->ngroups; g++)
		rc |= report_put(out, g > 0 ? ", <code>" : "<code>",
		    r->groups[g].label, "</code>");
	if (r->groups_left_out > 0 || r->targets_left_out > 0)
		rc |= evbuffer_add_printf(out,
		          " (only the first %d groups and targets are drawn: "
		          "%zu and %zu results left out of the figures)",
		          REPORT_MAX_GROUPS, r->groups_left_out,
		          r->targets_left_out) < 0;
	rc |= evbuffer_add_printf(out,
	          ". The methodology below is what the probes' heartbeats "
	          "declared.</p>") < 0;
	rc |= report_selection(r, out);
	rc |= evbuffer_add_printf(out, "</section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_figures(const struct report *r, struct evbuffer *out)
{
	static const char *const captions[] = {
		"Each row a target group (measurement, address family, "
		"transport), each column one time bucket: green all "
		"results succeeded, red none, grey no results.",
		"As figure 1, each row a target (measurement, server, "
		"address, transport).",
		"Per target, the RTT of its successful results: median (of "
		"an even count the mean of the middle two), 25th to 75th and "
		"5th to 95th percentiles (nearest rank), as in the summary.",
		"Each bar an episode (doc/episodes.md), coloured by scope; "
		"an open bar is ongoing at the end of the window.",
	};
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<section id=\"figures\"><h2>Figures</h2>") < 0;
	for (size_t i = 0; i < REPORT_NFIGURES; i++) {
		rc |= evbuffer_add_printf(out, "<figure id=\"fig-%s\">",
		          report_figure_names[i]) < 0;
		rc |= report_fig(r, i, out);
		rc |= evbuffer_add_printf(out,
		          "<figcaption>Figure %zu (%s). %s Shaded bands "
		          "and [n]: the annotations.</figcaption></figure>\n",
		          i + 1, report_figure_names[i], captions[i]) < 0;
	}
	if (r->episodes.n > REPORT_MAX_EPISODES)
		rc |= evbuffer_add_printf(out,
		          "<p>The episode figure shows the first %d of %zu "
		          "episodes; the table lists them all.</p>",
		          REPORT_MAX_EPISODES, r->episodes.n) < 0;
	rc |= report_json_block(r, out);
	rc |= evbuffer_add_printf(out, "</section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

/* A bracket: "time (record id)" of a mark, "-" when there is none. */
static int
report_mark(struct evbuffer *out, const struct episode_mark *m,
    const char *none)
{
	char t[CW_TIME_STRLEN];

	if (m->id == 0)
		return evbuffer_add_printf(out, "%s", none) < 0 ? -1 : 0;
	return evbuffer_add_printf(out, "%s <span class=\"mono\">#%lld</span>",
	           report_time(m->time, t), m->id) < 0 ?
	    -1 :
	    0;
}

static int
report_episode_row(const struct report *r, const struct episode *e,
    struct evbuffer *out)
{
	const struct report_probe *p = report_probe_find(r, e->probe);
	char *target = report_episode_target(e);
	int rc = target == NULL;

	rc |= report_put(out, "<tr class=\"episode\"><td>",
	    episode_scope_name(e->scope), "</td>");
	rc |= report_put(out, "<td>", target, "</td>");
	rc |= report_put(out, "<td>", p != NULL ? p->name : "", "");
	rc |= report_put(out, " <span class=\"mono\">", e->probe,
	    "</span></td><td>");
	rc |= report_mark(out, &e->last_ok, "none in the window");
	rc |= evbuffer_add_printf(out, " &rarr; ") < 0;
	rc |= report_mark(out, &e->first_failure, "-");
	rc |= evbuffer_add_printf(out, "</td><td>") < 0;
	rc |= report_mark(out, &e->last_failure, "-");
	rc |= evbuffer_add_printf(out, " &rarr; ") < 0;
	rc |= report_mark(out, &e->first_ok, "ongoing");
	rc |= evbuffer_add_printf(out, "</td><td>") < 0;
	for (size_t i = 0; i < e->nnames; i++) {
		rc |= report_put(out, i > 0 ? "<br>" : "", e->names[i].name,
		    "");
		rc |= evbuffer_add_printf(out, " &times;%lld", e->names[i].n) <
		    0;
	}
	rc |= evbuffer_add_printf(out,
	          "</td><td>%.1f s</td><td>%.4f</td><td>%lld failures "
	          "of %lld results</td></tr>\n",
	          e->duration_s, e->severity, e->failures, e->measurements) < 0;
	free(target);
	return rc == 0 ? 0 : -1;
}

static int
report_episodes(const struct report *r, struct evbuffer *out)
{
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<section id=\"episodes\"><h2>Episodes</h2><p>Runs of "
	          "failures (two in a row at least) of one target from one "
	          "probe, and heartbeat gaps, as "
	          "<code>corewatch-collector episodes</code> finds them "
	          "(doc/episodes.md). Brackets: the last success and the "
	          "first failure at the start, the last failure and the "
	          "first success at the end, each with its record id.</p>"
	          "<table><thead><tr><th>scope</th><th>target</th>"
	          "<th>probe</th><th>start (last success &rarr; first "
	          "failure)</th><th>end (last failure &rarr; first "
	          "success)</th><th>failures by name</th><th>duration</th>"
	          "<th>severity</th><th>evidence</th></tr></thead>"
	          "<tbody>\n") < 0;
	for (size_t i = 0; i < r->episodes.n; i++)
		rc |= report_episode_row(r, &r->episodes.v[i], out);
	if (r->episodes.n == 0)
		rc |= evbuffer_add_printf(out,
		          "<tr><td colspan=\"9\">no episode</td></tr>") < 0;
	rc |= evbuffer_add_printf(out, "</tbody></table></section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

/* A declared measurement's targets: "name address:port" each. */
static int
report_targets_text(json_t *targets, struct evbuffer *out)
{
	size_t i;
	json_t *t;
	int rc = 0;

	json_array_foreach(targets, i, t) {
		rc |= report_put(out, i > 0 ? "<br>" : "",
		    json_string_value(json_object_get(t, "name")), " ");
		rc |= report_put(out, "",
		    json_string_value(json_object_get(t, "address")), "");
		if (json_integer_value(json_object_get(t, "port")) > 0)
			rc |= evbuffer_add_printf(out, " port %lld",
			          (long long)json_integer_value(
			              json_object_get(t, "port"))) < 0;
	}
	return rc == 0 ? 0 : -1;
}

static int
report_config_rows(const struct report *r, const struct report_probe *p,
    const struct report_config *c, struct evbuffer *out)
{
	char t0[CW_TIME_STRLEN], t1[CW_TIME_STRLEN], t2[CW_TIME_STRLEN];
	bool before = c->full_at != 0 && c->full_at < r->filter.from;
	size_t i;
	json_t *m;
	int rc = 0;

	if (c->measurements == NULL || json_array_size(c->measurements) == 0) {
		rc |= report_put(out, "<tr><td>", p->name, "</td>");
		rc |= evbuffer_add_printf(out,
		          "<td colspan=\"5\">(only the hash was declared in "
		          "the window)</td><td class=\"mono\">%s</td></tr>\n",
		          c->hash) < 0;
		return rc == 0 ? 0 : -1;
	}
	json_array_foreach(c->measurements, i, m) {
		rc |= report_put(out, "<tr><td>", p->name, "</td>");
		rc |= report_put(out, "<td>",
		    json_string_value(json_object_get(m, "name")), "</td>");
		rc |= report_put(out, "<td>",
		    json_string_value(json_object_get(m, "kind")), "</td><td>");
		rc |= report_targets_text(json_object_get(m, "targets"), out);
		rc |= evbuffer_add_printf(out,
		          "</td><td>%.3f s</td><td>%.3f s</td>"
		          "<td class=\"mono\">%s<br>%s &ndash; %s%s%s%s</td>"
		          "</tr>\n",
		          (double)json_integer_value(
		              json_object_get(m, "interval_ms")) /
		              1000,
		          (double)json_integer_value(
		              json_object_get(m, "timeout_ms")) /
		              1000,
		          c->hash, report_time(c->first, t0),
		          report_time(c->last, t1),
		          before ? "<br>in full at " : "",
		          before ? report_time(c->full_at, t2) : "",
		          before ? " (before the window)" : "") < 0;
	}
	return rc == 0 ? 0 : -1;
}

static int
report_methodology(const struct report *r, struct evbuffer *out)
{
	size_t rows = 0;
	int rc = 0;

	rc |=
	    evbuffer_add_printf(out,
	        "<section id=\"methodology\"><h2>Methodology</h2><p>What "
	        "each probe's heartbeats declared of its configuration in "
	        "the window (doc/spool.md, \"The declared "
	        "configuration\"): each measurement's name, kind, "
	        "targets, interval and timeout, and the configuration's "
	        "SHA-256 with the first and last heartbeat that declared "
	        "it; a configuration declared by its hash alone in the "
	        "window is described by the last full declaration of the "
	        "day before.</p><table><thead><tr><th>probe</th><th>measurement"
	        "</th><th>kind</th><th>targets</th><th>interval</th>"
	        "<th>timeout</th><th>configuration hash, declared"
	        "</th></tr></thead><tbody>\n") < 0;
	for (size_t i = 0; i < r->nprobes; i++)
		for (size_t j = 0; j < r->probes[i].nconfigs; j++, rows++)
			rc |= report_config_rows(r, &r->probes[i],
			    &r->probes[i].configs[j], out);
	if (rows == 0)
		rc |= evbuffer_add_printf(out,
		          "<tr><td colspan=\"7\">no heartbeat in the window "
		          "declared a configuration</td></tr>") < 0;
	rc |= evbuffer_add_printf(out, "</tbody></table></section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_annotations(const struct report *r, struct evbuffer *out)
{
	char t0[CW_TIME_STRLEN], t1[CW_TIME_STRLEN];
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<section id=\"annotations\"><h2>Annotations</h2><p>What "
	          "operators and researchers recorded of the world in the "
	          "window (<code>corewatch-collector annotate</code>); "
	          "their numbers mark the figures.</p><ol>\n") < 0;
	for (size_t i = 0; i < r->nannots; i++) {
		const struct store_annotation *a = &r->annots[i];
		rc |= evbuffer_add_printf(out,
		          "<li class=\"annotation\" value=\"%zu\">[%zu] "
		          "%s &ndash; %s: ",
		          i + 1, i + 1, report_time(a->from, t0),
		          report_time(a->to, t1)) < 0;
		rc |= report_put(out, "<q>", a->text, "</q>");
		rc |= report_put(out, a->country[0] != '\0' ? " country " : "",
		    a->country, "");
		if (a->asn >= 0)
			rc |= evbuffer_add_printf(out, " AS%lld", a->asn) < 0;
		rc |= report_put(out, a->probe[0] != '\0' ? " probe " : "",
		    a->probe, "");
		rc |= report_put(out,
		    a->url[0] != '\0' ? " <span "
		                        "class=\"mono\">" :
		                        "",
		    a->url, a->url[0] != '\0' ? "</span>" : "");
		rc |= evbuffer_add_printf(out, "</li>\n") < 0;
	}
	if (r->nannots == 0)
		rc |= evbuffer_add_printf(out, "<li>none</li>") < 0;
	rc |= evbuffer_add_printf(out, "</ol></section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_evidence_probe(const struct report_probe *p, struct evbuffer *out)
{
	int rc = 0;

	rc |= report_put(out, "<tr><td>", p->name, "");
	rc |= evbuffer_add_printf(out,
	          "<br><span class=\"mono\">%s</span> (#%lld)</td>"
	          "<td class=\"mono\">%s</td><td>",
	          p->id, p->num, p->pubkey[0] != '\0' ? p->pubkey : "?") < 0;
	rc |= report_put(out, "", p->country[0] != '\0' ? p->country : "-", "");
	if (p->asn >= 0)
		rc |= evbuffer_add_printf(out, " AS%lld", p->asn) < 0;
	rc |= evbuffer_add_printf(out, "</td><td>") < 0;
	for (size_t i = 0; i < p->nchains; i++)
		rc |=
		    evbuffer_add_printf(out,
		        "%s<span class=\"mono\">%s</span> seq %lld&ndash;%lld "
		        "(%lld)",
		        i > 0 ? "<br>" : "", p->chains[i].chain,
		        p->chains[i].first, p->chains[i].last,
		        p->chains[i].n) < 0;
	rc |= evbuffer_add_printf(out, "</td><td>%lld</td><td>%lld</td></tr>\n",
	          p->records, p->results) < 0;
	return rc == 0 ? 0 : -1;
}

static int
report_evidence(const struct report *r, struct evbuffer *out)
{
	int rc = 0;

	rc |= evbuffer_add_printf(out,
	          "<section id=\"evidence\"><h2>Evidence</h2><p>The records "
	          "behind this report, per probe: its Ed25519 public key "
	          "(hex; the probe id is the first 16 bytes of its "
	          "SHA-256), its chains with the first and last seq and "
	          "the records of each in the selection, and its records "
	          "and measurement results.</p><table><thead><tr>"
	          "<th>probe</th><th>public key</th><th>declared</th>"
	          "<th>chains</th><th>records</th><th>results</th></tr>"
	          "</thead><tbody>\n") < 0;
	for (size_t i = 0; i < r->nprobes; i++)
		rc |= report_evidence_probe(&r->probes[i], out);
	rc |= evbuffer_add_printf(out,
	          "</tbody></table><p>SHA-256 of the %llu records: "
	          "<code id=\"sha256\">%s</code>, over their exact lines "
	          "ordered by measurement time, then by the order the "
	          "collector stored them in, each followed by a newline "
	          "(doc/report.md): the bytes of</p><pre><code>",
	          r->records, r->sha256) < 0;
	rc |= report_put_command(r, out, "", " | sha256sum");
	rc |= evbuffer_add_printf(out,
	          "</code></pre><p>The same command without "
	          "<code>| sha256sum</code> exports the records again; "
	          "<code>--format csv</code> or <code>--format atlas</code> "
	          "give them in the other formats.</p></section>\n") < 0;
	return rc == 0 ? 0 : -1;
}

int
report_write_html(const struct report *r, struct evbuffer *out)
{
	char from[CW_TIME_STRLEN], to[CW_TIME_STRLEN];
	int rc = 0;

	export_time_format(r->filter.from, from);
	export_time_format(r->filter.to, to);
	rc |= evbuffer_add_printf(out,
	          REPORT_HEAD "<title>corewatch case study %s &ndash; %s"
	                      "</title>" REPORT_STYLE "</head><body>\n",
	          from, to) < 0;
	rc |= report_overview(r, out);
	rc |= report_figures(r, out);
	rc |= report_episodes(r, out);
	rc |= report_methodology(r, out);
	rc |= report_annotations(r, out);
	rc |= report_evidence(r, out);
	rc |= evbuffer_add_printf(out, "</body></html>\n") < 0;
	return rc == 0 ? 0 : -1;
}
