/*
 * report.c -- the gathering of a case-study report (report.h): one pass
 * over the selected records in time order (their SHA-256, the
 * probes, chains and declared configurations, availability per group
 * and time column, RTTs per target), then the episodes and the
 * annotations of the window.  report_html.c writes the page.
 *
 * What it computes as the summary does, it computes with summary.c's
 * code: the RTTs of a target and their median and percentiles
 * (summary_rtts), the availability in per cent
 * (summary_availability_pct).  The pass itself stays apart from the
 * summary's, for what differs:
 * - it reads every record of the window once, heartbeats and losses
 *   too, for the SHA-256 of what an export writes, the chains and the
 *   declared configurations; the summary reads measurements only, from
 *   a covering index, and a second pass would double the reading that
 *   is most of the report's time (doc/report.md, Cost);
 * - a target here is what a reader finds in the figures, its label
 *   (name, server, address, transport); the summary's DNS target is
 *   its address whatever the server's name, with port and family, so
 *   its groups join and split other rows;
 * - its columns start at --from and every row keeps all of them to the
 *   end (REPORT_MAX_GROUPS rows at most); the summary's buckets are
 *   aligned since the epoch, written and forgotten one at a time.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "episodes.h"
#include "export.h"
#include "report.h"
#include "report_int.h"
#include "store_annot.h"

/* The state of the pass. */
struct report_pass {
	struct report *r;
	crypto_hash_sha256_state sha;
	size_t last_probe; /* the probe of the last row: the next's, mostly */
	bool oom;
};

double
report_rtt_ms(const struct report_target *t, unsigned q)
{
	return summary_rtts_percentile(&t->rtt, q) / 1000.0;
}

/* Grow *v (of *cap elements of `size`) to hold n + 1.  0 or -1. */
static int
report_grow(void *v, size_t *cap, size_t n, size_t size)
{
	void **pv = v, *nv;
	size_t ncap;

	if (n < *cap)
		return 0;
	ncap = *cap == 0 ? 8 : *cap * 2;
	if ((nv = reallocarray(*pv, ncap, size)) == NULL)
		return -1;
	*pv = nv;
	*cap = ncap;
	return 0;
}

/* The probe of `row`, added when it is new.  NULL out of memory. */
static struct report_probe *
report_probe_of(struct report_pass *ps, const struct store_row *row)
{
	struct report *r = ps->r;
	struct report_probe *p;
	size_t cap = r->nprobes;

	if (ps->last_probe < r->nprobes &&
	    strcmp(r->probes[ps->last_probe].id, row->probe) == 0)
		return &r->probes[ps->last_probe];
	for (size_t i = 0; i < r->nprobes; i++)
		if (strcmp(r->probes[i].id, row->probe) == 0)
			return &r->probes[ps->last_probe = i];
	/* Grown one at a time: a report has tens or hundreds of probes. */
	if (report_grow(&r->probes, &cap, r->nprobes, sizeof(*p)) == -1)
		return NULL;
	p = &r->probes[r->nprobes];
	memset(p, 0, sizeof(*p));
	snprintf(p->id, sizeof(p->id), "%s", row->probe);
	p->num = row->probe_num;
	p->asn = -1;
	ps->last_probe = r->nprobes++;
	return p;
}

/* Count `row` in its chain of probe `p`.  0 or -1. */
static int
report_chain_add(struct report_probe *p, const struct store_row *row)
{
	struct report_chain *c;
	size_t cap = p->nchains;

	for (size_t i = 0; i < p->nchains; i++) {
		c = &p->chains[i];
		if (strcmp(c->chain, row->chain) != 0)
			continue;
		c->first = row->seq < c->first ? row->seq : c->first;
		c->last = row->seq > c->last ? row->seq : c->last;
		c->n++;
		return 0;
	}
	if (report_grow(&p->chains, &cap, p->nchains, sizeof(*c)) == -1)
		return -1;
	c = &p->chains[p->nchains++];
	snprintf(c->chain, sizeof(c->chain), "%s", row->chain);
	c->first = c->last = row->seq;
	c->n = 1;
	return 0;
}

/* The declared configuration of heartbeat `row`: its parsed line (the
 * caller frees it; NULL when it is no JSON), with *hash (NULL when
 * there is none of 64 hex digits) and *m (the measurements, NULL when
 * none) pointing into it. */
static json_t *
report_hb_config(const struct store_row *row, const char **hash, json_t **m)
{
	json_t *hb, *conf;

	if ((hb = json_loadb(row->line, row->len, 0, NULL)) == NULL)
		return NULL;
	conf = json_object_get(hb, "config");
	*hash = json_string_value(json_object_get(conf, "hash"));
	if (*hash != NULL && !record_is_hex(*hash, RECORD_HASH_HEX))
		*hash = NULL;
	*m = json_object_get(conf, "measurements");
	return hb;
}

/* The declared configuration of heartbeat `row` into probe `p`.  0, or
 * -1 out of memory; a heartbeat without one (or not JSON) is no
 * error. */
static int
report_config_add(struct report_probe *p, const struct store_row *row)
{
	json_t *hb, *m;
	const char *hash;
	struct report_config *c = NULL;
	size_t cap = p->nconfigs;
	int rc = 0;

	if ((hb = report_hb_config(row, &hash, &m)) == NULL)
		return 0;
	if (hash == NULL)
		goto out;
	for (size_t i = 0; i < p->nconfigs && c == NULL; i++)
		if (strcmp(p->configs[i].hash, hash) == 0)
			c = &p->configs[i];
	if (c == NULL) {
		if (report_grow(&p->configs, &cap, p->nconfigs, sizeof(*c)) ==
		    -1) {
			rc = -1;
			goto out;
		}
		c = &p->configs[p->nconfigs++];
		memset(c, 0, sizeof(*c));
		snprintf(c->hash, sizeof(c->hash), "%s", hash);
		c->first = row->time;
	}
	c->last = row->time;
	if (c->measurements == NULL && json_is_array(m)) {
		c->measurements = json_incref(m);
		c->full_at = row->time;
	}
out:
	json_decref(hb);
	return rc;
}

/* The index of the group or target labelled `label` in `labels` (every
 * `stride` bytes from `base`), or `n` when there is none. */
static size_t
report_label_find(const void *base, size_t n, size_t stride, const char *label)
{
	for (size_t i = 0; i < n; i++) {
		const char *const *l = (const void *)((const char *)base +
		    i * stride);
		if (strcmp(*l, label) == 0)
			return i;
	}
	return n;
}

/* Cut `s` before a UTF-8 character that snprintf() truncated, so that
 * a label stays valid UTF-8 (the SVG alone is XML). */
static void
report_label_trim(char *s)
{
	size_t len = strlen(s), lead = len, need;
	unsigned char c;

	while (lead > 0 && len - lead < 4 &&
	    ((unsigned char)s[lead - 1] & 0xc0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	c = (unsigned char)s[lead - 1];
	need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
	if (lead - 1 + need > len)
		s[lead - 1] = '\0';
}

/*
 * The series labelled `label` in the array at `v` (a pointer to *n
 * elements of `size` bytes, each starting with a struct report_series),
 * added when it is new: its index; -1 when there are REPORT_MAX_GROUPS
 * already (counted in *left_out); -2 out of memory.
 */
static long
report_series_of(struct report *r, void *v, size_t *n, size_t size,
    const char *label, size_t *left_out)
{
	void **pv = v;
	size_t i = report_label_find(*pv, *n, size, label), cap = *n;
	struct report_series *s;

	if (i < *n)
		return (long)i;
	if (*n == REPORT_MAX_GROUPS) {
		(*left_out)++;
		return -1;
	}
	if (report_grow(v, &cap, *n, size) == -1)
		return -2;
	s = (struct report_series *)((char *)*pv + *n * size);
	memset(s, 0, size);
	if ((s->label = strdup(label)) == NULL ||
	    (s->ok = calloc(r->ncols, sizeof(*s->ok))) == NULL ||
	    (s->total = calloc(r->ncols, sizeof(*s->total))) == NULL) {
		free(s->label);
		free(s->ok);
		return -2;
	}
	return (long)(*n)++;
}

/* Result `row` counted in its column of `s`. */
static void
report_series_count(const struct report *r, struct report_series *s,
    const struct store_row *row)
{
	size_t col = (size_t)((row->time - r->filter.from) / r->bucket);

	if (col >= r->ncols)
		col = r->ncols - 1;
	s->total[col]++;
	s->total_all++;
	s->ok[col] += row->ok == 1;
	s->ok_all += row->ok == 1;
}

/* Result `row` in its group (name, family, transport). */
static int
report_group_add(struct report *r, const struct store_row *row)
{
	char label[512];
	long i;

	snprintf(label, sizeof(label), "%s %s%s%s",
	    row->name != NULL ? row->name : "?",
	    row->af == 6     ? "IPv6" :
	        row->af == 4 ? "IPv4" :
	                       "",
	    row->proto != NULL ? "/" : "",
	    row->proto != NULL ? row->proto : "");
	report_label_trim(label);
	i = report_series_of(r, &r->groups, &r->ngroups, sizeof(*r->groups),
	    label, &r->groups_left_out);
	if (i >= 0)
		report_series_count(r, &r->groups[i], row);
	return i == -2 ? -1 : 0;
}

/* Result `row` in its target, its RTT kept when it succeeded. */
static int
report_target_add(struct report *r, const struct store_row *row)
{
	char label[768];
	struct report_target *t;
	long i;

	snprintf(label, sizeof(label), "%s %s %s%s%s",
	    row->name != NULL ? row->name : "?",
	    row->server != NULL ? row->server : "",
	    row->addr != NULL ? row->addr : "", row->proto != NULL ? "/" : "",
	    row->proto != NULL ? row->proto : "");
	report_label_trim(label);
	i = report_series_of(r, &r->targets, &r->ntargets, sizeof(*r->targets),
	    label, &r->targets_left_out);
	if (i < 0)
		return i == -2 ? -1 : 0;
	t = &r->targets[i];
	report_series_count(r, &t->s, row);
	if (row->ok != 1 || !row->has_rtt)
		return 0;
	return summary_rtts_add(&t->rtt, row->rtt_ms);
}

/* A measurement result: its probe's counts, group and target. */
static int
report_result_add(struct report *r, struct report_probe *p,
    const struct store_row *row)
{
	r->results++;
	r->ok += row->ok == 1;
	p->results++;
	p->ok += row->ok == 1;
	if (row->country != NULL && row->country[0] != '\0')
		snprintf(p->country, sizeof(p->country), "%s", row->country);
	if (row->asn >= 0)
		p->asn = row->asn;
	if (report_group_add(r, row) == -1)
		return -1;
	return report_target_add(r, row);
}

static int
report_row_cb(void *arg, const struct store_row *row)
{
	struct report_pass *ps = arg;
	struct report_probe *p;
	bool result;

	crypto_hash_sha256_update(&ps->sha, (const unsigned char *)row->line,
	    row->len);
	crypto_hash_sha256_update(&ps->sha, (const unsigned char *)"\n", 1);
	ps->r->records++;
	result = row->type != NULL && row->ok != -1 && row->time >= 0 &&
	    (strcmp(row->type, "dns") == 0 || strcmp(row->type, "http") == 0);
	if ((p = report_probe_of(ps, row)) == NULL ||
	    report_chain_add(p, row) == -1 ||
	    (row->type != NULL && strcmp(row->type, "heartbeat") == 0 &&
	        report_config_add(p, row) == -1) ||
	    (result && report_result_add(ps->r, p, row) == -1)) {
		ps->oom = true;
		return 1;
	}
	p->records++;
	return 0;
}

/* The names and keys of the probes met, once the pass is over (a
 * backend may not take a query while it hands rows over).  0, or -1
 * with the reason in `err`. */
static int
report_read_probes(struct report *r, struct store *st, char *err, size_t errlen)
{
	struct store_probe sp;
	int rc;

	for (size_t i = 0; i < r->nprobes; i++) {
		struct report_probe *p = &r->probes[i];
		if ((rc = store_probe_get(st, p->id, &sp)) == STORE_E_NOTFOUND)
			continue;
		if (rc != STORE_OK) {
			snprintf(err, errlen, "probes: %s",
			    store_error_text(st));
			return -1;
		}
		snprintf(p->name, sizeof(p->name), "%s", sp.name);
		record_hex(sp.pubkey, sizeof(sp.pubkey), p->pubkey);
		store_probe_clear(&sp);
	}
	return 0;
}

/* A probe and the window, for report_declared_cb. */
struct report_declared {
	struct report_probe *p;
	cw_usec_t from;
};

/* A heartbeat of the day before the window: the measurements of a
 * configuration that the window declared by its hash alone (the latest
 * declaration wins: they come in time order). */
static int
report_declared_cb(void *arg, const struct store_row *row)
{
	struct report_declared *d = arg;
	json_t *hb, *m;
	const char *hash;

	if ((hb = report_hb_config(row, &hash, &m)) == NULL)
		return 0;
	for (size_t i = 0;
	     hash != NULL && json_is_array(m) && i < d->p->nconfigs; i++) {
		struct report_config *c = &d->p->configs[i];
		if (strcmp(c->hash, hash) != 0 ||
		    (c->measurements != NULL && c->full_at >= d->from))
			continue;
		json_decref(c->measurements);
		c->measurements = json_incref(m);
		c->full_at = row->time;
	}
	json_decref(hb);
	return 0;
}

/* The measurements of the configurations that the window declared by
 * their hash alone, from the heartbeats of the day before it.  0, or -1
 * with the reason in `err`. */
static int
report_read_declared(struct report *r, struct store *st, char *err,
    size_t errlen)
{
	for (size_t i = 0; i < r->nprobes; i++) {
		struct report_declared d = { &r->probes[i], r->filter.from };
		struct store_cursor cur = STORE_CURSOR_START;
		struct store_filter f;
		bool need = false;
		long long n;

		for (size_t j = 0; j < d.p->nconfigs; j++)
			need |= d.p->configs[j].measurements == NULL;
		if (!need)
			continue;
		store_filter_init(&f);
		f.from = r->filter.from > REPORT_DECLARED_LOOKBACK ?
		    r->filter.from - REPORT_DECLARED_LOOKBACK :
		    1;
		f.to = r->filter.from;
		f.probe = d.p->id;
		f.type = "heartbeat";
		do
			n = store_results_by_time(st, &f, &cur,
			    REPORT_PAGE_ROWS, report_declared_cb, &d);
		while (n == REPORT_PAGE_ROWS);
		if (n < 0) {
			snprintf(err, errlen, "heartbeats: %s",
			    store_error_text(st));
			return -1;
		}
	}
	return 0;
}

/* The pass over the records, in the order an export of the window
 * writes them (measurement time, then ingest id).  0, or -1 with the
 * reason in `err`. */
static int
report_read(struct report *r, struct store *st, char *err, size_t errlen)
{
	struct report_pass ps = { .r = r };
	struct store_cursor cur = STORE_CURSOR_START;
	unsigned char h[crypto_hash_sha256_BYTES];
	long long n;

	crypto_hash_sha256_init(&ps.sha);
	do {
		n = store_results_by_time(st, &r->filter, &cur,
		    REPORT_PAGE_ROWS, report_row_cb, &ps);
		if (ps.oom) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		if (n < 0) {
			snprintf(err, errlen, "%s%s", store_error_text(st),
			    store_unavailable(st) ?
			        " (the database is unavailable)" :
			        "");
			return -1;
		}
	} while (n == REPORT_PAGE_ROWS);
	crypto_hash_sha256_final(&ps.sha, h);
	record_hex(h, sizeof(h), r->sha256);
	if (report_read_probes(r, st, err, errlen) == -1)
		return -1;
	return report_read_declared(r, st, err, errlen);
}

static int
report_annot_cb(void *arg, const struct store_annotation *a)
{
	struct report *r = arg;
	size_t cap = r->nannots;

	if (report_grow(&r->annots, &cap, r->nannots, sizeof(*a)) == -1)
		return 1;
	r->annots[r->nannots++] = *a;
	return 0;
}

/* The episodes and annotations of the window. */
static int
report_read_events(struct report *r, struct store *st, char *err, size_t errlen)
{
	struct episodes_query q;
	int rc, n;

	episodes_query_init(&q);
	q.heartbeats = true;
	q.filter = r->filter;
	if ((rc = episodes_find(st, &q, &r->episodes)) != 0) {
		snprintf(err, errlen, "episodes: %s",
		    rc == STORE_E_DB ? store_error_text(st) : "out of memory");
		return -1;
	}
	/* All of them: one by one, each copied (the callback stops only
	 * when memory runs out, and then fewer come back than exist). */
	n = store_annotation_list(st, r->filter.from, r->filter.to, 0,
	    report_annot_cb, r);
	if (n < 0) {
		snprintf(err, errlen, "annotations: %s", store_error_text(st));
		return -1;
	}
	if ((size_t)n != r->nannots) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

struct report *
report_build(struct store *st, const struct store_filter *f, char *err,
    size_t errlen)
{
	struct report *r;
	cw_usec_t span;

	if (f->from <= 0 || f->to <= f->from) {
		snprintf(err, errlen, "the window needs --from before --to");
		return NULL;
	}
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    export_filter_copy(&r->filter, f) == -1) {
		free(r);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	/* Columns of whole minutes, at most REPORT_MAX_COLUMNS. */
	span = f->to - f->from;
	r->bucket = 60 * CW_USEC_PER_SEC;
	while (span / r->bucket + (span % r->bucket != 0) > REPORT_MAX_COLUMNS)
		r->bucket += 60 * CW_USEC_PER_SEC;
	r->ncols = (size_t)(span / r->bucket + (span % r->bucket != 0));
	if (report_read(r, st, err, errlen) == -1 ||
	    report_read_events(r, st, err, errlen) == -1) {
		report_free(r);
		return NULL;
	}
	for (size_t i = 0; i < r->ntargets; i++)
		summary_rtts_sort(&r->targets[i].rtt);
	return r;
}

static void
report_series_clear(struct report_series *s)
{
	free(s->label);
	free(s->ok);
	free(s->total);
}

void
report_free(struct report *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->ngroups; i++)
		report_series_clear(&r->groups[i]);
	for (size_t i = 0; i < r->ntargets; i++) {
		report_series_clear(&r->targets[i].s);
		summary_rtts_clear(&r->targets[i].rtt);
	}
	for (size_t i = 0; i < r->nprobes; i++) {
		for (size_t j = 0; j < r->probes[i].nconfigs; j++)
			json_decref(r->probes[i].configs[j].measurements);
		free(r->probes[i].configs);
		free(r->probes[i].chains);
	}
	free(r->groups);
	free(r->targets);
	free(r->probes);
	free(r->annots);
	episode_list_clear(&r->episodes);
	export_filter_clear(&r->filter);
	free(r);
}

const char *
report_sha256(const struct report *r)
{
	return r->sha256;
}

unsigned long long
report_records(const struct report *r)
{
	return r->records;
}

const struct report_probe *
report_probe_find(const struct report *r, const char *id)
{
	for (size_t i = 0; i < r->nprobes; i++)
		if (strcmp(r->probes[i].id, id) == 0)
			return &r->probes[i];
	return NULL;
}

/* The targets of a probe's cut (one episode of several targets):
 * "all N targets: name addr/proto, ...". */
static char *
report_cut_targets(const struct episode *e)
{
	char *s = NULL, *more;

	if (asprintf(&s, "all %zu targets:", e->ntargets) == -1)
		return NULL;
	for (size_t i = 0; i < e->ntargets; i++) {
		const struct episode_target *t = &e->targets[i];

		if (asprintf(&more, "%s%s %s %s/%s", s, i > 0 ? "," : "",
		        t->name != NULL ? t->name : "",
		        t->addr != NULL ? t->addr : "",
		        t->proto != NULL ? t->proto : "") == -1) {
			free(s);
			return NULL;
		}
		free(s);
		s = more;
	}
	return s;
}

char *
report_episode_target(const struct episode *e)
{
	char *s;

	if (e->silence)
		return strdup("(heartbeats stopped)");
	if (e->addr == NULL && e->ntargets > 0)
		return report_cut_targets(e);
	if (asprintf(&s, "%s %s %s%s%s %s", e->name != NULL ? e->name : "",
	        e->server != NULL ? e->server : "",
	        e->addr != NULL ? e->addr : "", e->proto != NULL ? "/" : "",
	        e->proto != NULL ? e->proto : "",
	        e->af == 6     ? "IPv6" :
	            e->af == 4 ? "IPv4" :
	                         "") == -1)
		return NULL;
	return s;
}
