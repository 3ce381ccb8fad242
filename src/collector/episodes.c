/*
 * episodes.c -- outage episodes from the runs the store keeps
 * (store_episodes.h, doc/episodes.md): the runs of the window, each
 * measured against the probe's other results of its time (one count
 * on the (probe, time) index), then a pass over all of them for the
 * regions, the filters and the order.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>

#include "episodes.h"
#include "export.h"
#include "store_episodes.h"

const char *
episode_scope_name(enum episode_scope s)
{
	switch (s) {
	case EPISODE_PROBE:
		return "probe";
	case EPISODE_REGION:
		return "region";
	default:
		return "target";
	}
}

void
episodes_query_init(struct episodes_query *q)
{
	memset(q, 0, sizeof(*q));
	store_filter_init(&q->filter);
	q->min_failures = EPISODES_MIN_FAILURES;
	q->scope = -1;
	q->now = cw_real_usec();
}

int
episodes_param_set(struct episodes_query *q, const char *key, const char *value,
    char *err, size_t errlen)
{
	char *end;
	double d;
	long long n;

	if (strcmp(key, "scope") == 0) {
		for (int s = EPISODE_TARGET; s <= EPISODE_REGION; s++)
			if (strcmp(value, episode_scope_name(s)) == 0) {
				q->scope = s;
				return 1;
			}
		snprintf(err, errlen,
		    "scope: \"%s\" is not target, probe or region", value);
		return -1;
	}
	if (strcmp(key, "min_severity") == 0) {
		errno = 0;
		d = strtod(value, &end);
		if (value[0] == '\0' || *end != '\0' || errno != 0 ||
		    !isfinite(d) || d < 0) {
			snprintf(err, errlen,
			    "min_severity: \"%s\" is not a number >= 0", value);
			return -1;
		}
		q->min_severity = d;
		return 1;
	}
	if (strcmp(key, "per_target") == 0) {
		if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
			snprintf(err, errlen,
			    "per_target: \"%s\" is not true or false", value);
			return -1;
		}
		q->per_target = value[0] == 't';
		return 1;
	}
	if (strcmp(key, "min_failures") != 0 && strcmp(key, "silence") != 0)
		return 0;
	errno = 0;
	n = strtoll(value, &end, 10);
	if (key[0] == 'm') { /* min_failures */
		if (value[0] == '\0' || *end != '\0' || n < 1 || n > 1000) {
			snprintf(err, errlen,
			    "min_failures: \"%s\" is not a whole number from "
			    "1 to 1000",
			    value);
			return -1;
		}
		q->min_failures = (int)n;
		return 1;
	}
	if (value[0] == '\0' || *end != '\0' || errno != 0 || n < 0 ||
	    n > INT64_MAX / CW_USEC_PER_SEC) {
		snprintf(err, errlen,
		    "silence: \"%s\" is not a whole number of seconds from 0",
		    value);
		return -1;
	}
	q->silence = n * CW_USEC_PER_SEC;
	return 1;
}

/* --- The list --- */

static void
episode_target_clear(struct episode_target *t)
{
	free(t->name);
	free(t->server);
	free(t->addr);
	free(t->proto);
}

static void
episode_clear(struct episode *e)
{
	free(e->name);
	free(e->server);
	free(e->addr);
	free(e->proto);
	for (size_t i = 0; i < e->ntargets; i++)
		episode_target_clear(&e->targets[i]);
	free(e->targets);
	for (size_t i = 0; i < e->nnames; i++)
		free(e->names[i].name);
	free(e->names);
}

void
episode_list_clear(struct episode_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		episode_clear(&l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

/* A new zeroed episode at the end of `l`, or NULL out of memory. */
static struct episode *
episode_push(struct episode_list *l)
{
	if (l->n == l->cap) {
		size_t cap = l->cap == 0 ? 64 : l->cap * 2;
		struct episode *v = reallocarray(l->v, cap, sizeof(*v));
		if (v == NULL)
			return NULL;
		l->v = v;
		l->cap = cap;
	}
	memset(&l->v[l->n], 0, sizeof(l->v[0]));
	l->v[l->n].asn = -1;
	l->v[l->n].af = -1;
	return &l->v[l->n++];
}

/* A copy of `s` in *dst (NULL stays NULL).  Returns false out of
 * memory. */
static bool
ep_dup(char **dst, const char *s)
{
	*dst = NULL;
	return s == NULL || (*dst = strdup(s)) != NULL;
}

static bool
ep_str_eq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

/* --- Runs into episodes --- */

struct ep_read {
	const struct episodes_query *q;
	struct episode_list *out;
	bool nomem;
};

/* The failure name `name` (its first `len` bytes) counted `n` times,
 * appended to e's.  Returns false out of memory. */
static bool
ep_name_push(struct episode *e, const char *name, size_t len, long long n)
{
	struct episode_failure *v;

	v = reallocarray(e->names, e->nnames + 1, sizeof(*v));
	if (v == NULL)
		return false;
	e->names = v;
	if ((v[e->nnames].name = strndup(name, len)) == NULL)
		return false;
	v[e->nnames++].n = n;
	return true;
}

/* "name=count;..." into the episode's failures by name. */
static bool
ep_names(struct episode *e, const char *names)
{
	const char *s = names;

	while (s != NULL && *s != '\0') {
		const char *eq = strchr(s, '='), *end = strchr(s, ';');
		if (end == NULL)
			end = s + strlen(s);
		if (eq == NULL || eq > end)
			return true; /* not ours: cannot happen */
		if (!ep_name_push(e, s, (size_t)(eq - s),
		        strtoll(eq + 1, NULL, 10)))
			return false;
		s = *end == ';' ? end + 1 : end;
	}
	return true;
}

/* The end of the window: where a silence not ended yet ends. */
static cw_usec_t
ep_end(const struct episodes_query *q)
{
	return q->filter.to != 0 && q->filter.to < q->now ? q->filter.to :
	                                                    q->now;
}

static int
ep_run_cb(void *arg, const struct store_episode_run *r)
{
	struct ep_read *rd = arg;
	struct episode *e;
	cw_usec_t end = 0;

	if (r->silence) {
		if (!rd->q->heartbeats)
			return 0;
		/* A gap stored is one of more than twice the interval
		 * the probe declared; one not ended yet is measured
		 * against that interval later (ep_silence_cb). */
		end = r->first_ok_id != 0 ? r->first_ok_time : ep_end(rd->q);
		if (end - r->last_ok_time <= rd->q->silence)
			return 0;
	}
	if ((e = episode_push(rd->out)) == NULL) {
		rd->nomem = true;
		return 1;
	}
	snprintf(e->probe, sizeof(e->probe), "%s", r->probe);
	snprintf(e->country, sizeof(e->country), "%s",
	    r->country != NULL && strlen(r->country) == 2 ? r->country : "");
	e->asn = r->asn;
	e->silence = r->silence;
	e->af = r->af;
	e->last_ok = (struct episode_mark){ r->last_ok_id, r->last_ok_time };
	e->first_failure = (struct episode_mark){ r->first_id, r->first_time };
	e->last_failure = (struct episode_mark){ r->last_id, r->last_time };
	e->first_ok = (struct episode_mark){ r->first_ok_id, r->first_ok_time };
	e->failures = r->failures;
	if (r->silence) {
		e->scope = EPISODE_PROBE;
		e->duration_s = (double)(end - r->last_ok_time) / 1e6;
		e->severity = e->duration_s;
	}
	if (!ep_dup(&e->name, r->name) || !ep_dup(&e->server, r->server) ||
	    !ep_dup(&e->addr, r->addr) || !ep_dup(&e->proto, r->proto) ||
	    !ep_names(e, r->names)) {
		rd->nomem = true;
		return 1;
	}
	return 0;
}

/* The share of the probe's results that failed while the episode's
 * target did, its scope and severity (doc/episodes.md). */
static int
ep_measure(struct store *st, struct episode *e)
{
	if (e->silence)
		return STORE_OK;
	if (store_episode_count(st, e->probe, e->first_failure.time,
	        e->last_failure.time, &e->measurements,
	        &e->failing) != STORE_OK)
		return STORE_E_DB;
	/* No success of the probe meanwhile: its uplink, not the target. */
	e->scope = e->failing >= e->measurements ? EPISODE_PROBE :
	                                           EPISODE_TARGET;
	e->duration_s = (double)((e->first_ok.id != 0 ? e->first_ok.time :
	                                                e->last_failure.time) -
	                    e->first_failure.time) /
	    1e6;
	e->severity = e->measurements > 0 ?
	    (double)e->failing / (double)e->measurements * e->duration_s :
	    0;
	return STORE_OK;
}

/* --- Regions, filters, order --- */

static int
ep_cmp_str(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return (a != NULL) - (b != NULL);
	return strcmp(a, b);
}

/* By target, then probe. */
static int
ep_cmp_target(const void *va, const void *vb)
{
	const struct episode *a = *(struct episode *const *)va;
	const struct episode *b = *(struct episode *const *)vb;
	int c;

	if ((c = ep_cmp_str(a->addr, b->addr)) != 0 ||
	    (c = ep_cmp_str(a->name, b->name)) != 0 ||
	    (c = ep_cmp_str(a->server, b->server)) != 0 ||
	    (c = ep_cmp_str(a->proto, b->proto)) != 0)
		return c;
	if (a->af != b->af)
		return a->af < b->af ? -1 : 1;
	return strcmp(a->probe, b->probe);
}

static bool
ep_same_target(const struct episode *a, const struct episode *b)
{
	return a->af == b->af && ep_str_eq(a->addr, b->addr) &&
	    ep_str_eq(a->name, b->name) && ep_str_eq(a->server, b->server) &&
	    ep_str_eq(a->proto, b->proto);
}

static bool
ep_overlap(const struct episode *a, const struct episode *b)
{
	long long a_end = a->first_ok.id != 0 ? a->first_ok.time : INT64_MAX;
	long long b_end = b->first_ok.id != 0 ? b->first_ok.time : INT64_MAX;

	return a->first_failure.time < b_end && b->first_failure.time < a_end;
}

static bool
ep_same_region(const struct episode *a, const struct episode *b)
{
	return (a->country[0] != '\0' && strcmp(a->country, b->country) == 0) ||
	    (a->asn >= 0 && a->asn == b->asn);
}

/* Target episodes of one target from probes of one country or ASN that
 * overlap in time are a region's: count the probes of each. */
static bool
ep_regions(struct episode_list *l)
{
	struct episode **v;
	size_t n = 0;

	if ((v = calloc(l->n + 1, sizeof(*v))) == NULL)
		return false;
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].silence && l->v[i].scope == EPISODE_TARGET)
			v[n++] = &l->v[i];
	qsort(v, n, sizeof(*v), ep_cmp_target);
	for (size_t g = 0, end; g < n; g = end) {
		for (end = g + 1; end < n && ep_same_target(v[g], v[end]);
		     end++)
			;
		for (size_t i = g; i < end; i++) {
			const char *last = v[i]->probe;
			size_t probes = 1;
			/* v is in probe order within the target: count a
			 * probe once however many of its episodes overlap. */
			for (size_t j = g; j < end; j++)
				if (strcmp(v[j]->probe, v[i]->probe) != 0 &&
				    strcmp(v[j]->probe, last) != 0 &&
				    ep_same_region(v[i], v[j]) &&
				    ep_overlap(v[i], v[j])) {
					probes++;
					last = v[j]->probe;
				}
			v[i]->region_probes = probes;
		}
	}
	for (size_t i = 0; i < n; i++)
		if (v[i]->region_probes >= 2)
			v[i]->scope = EPISODE_REGION;
	free(v);
	return true;
}

/* --- A probe's cut: one episode of all its targets --- */

static cw_usec_t
ep_until(const struct episode *e)
{
	return e->first_ok.id != 0 ? e->first_ok.time : INT64_MAX;
}

/* By probe, then first failure, then target. */
static int
ep_cmp_cut(const void *va, const void *vb)
{
	const struct episode *a = *(struct episode *const *)va;
	const struct episode *b = *(struct episode *const *)vb;
	int c;

	if ((c = strcmp(a->probe, b->probe)) != 0)
		return c;
	if (a->first_failure.time != b->first_failure.time)
		return a->first_failure.time < b->first_failure.time ? -1 : 1;
	return ep_cmp_target(va, vb);
}

/* The failures by name of `from` added to those of `to`.  Returns
 * false out of memory. */
static bool
ep_names_add(struct episode *to, const struct episode *from)
{
	for (size_t i = 0; i < from->nnames; i++) {
		size_t j = 0;
		while (j < to->nnames &&
		    strcmp(to->names[j].name, from->names[i].name) != 0)
			j++;
		if (j < to->nnames)
			to->names[j].n += from->names[i].n;
		else if (!ep_name_push(to, from->names[i].name,
		             strlen(from->names[i].name), from->names[i].n))
			return false;
	}
	return true;
}

/* `e`'s target moved to the end of `to`'s list (which has room). */
static void
ep_target_move(struct episode *to, struct episode *e)
{
	to->targets[to->ntargets++] = (struct episode_target){ e->name,
		e->server, e->addr, e->proto, e->af };
	e->name = e->server = e->addr = e->proto = NULL;
	e->af = -1;
}

/* Fold the episodes v[1..n) of one probe's cut into v[0], the first to
 * fail: the probe's last success before it and first after it, all
 * their failures, the probe's results of the whole cut
 * (doc/episodes.md).  Returns STORE_OK, STORE_E_DB, or -1 out of
 * memory. */
static int
ep_cut_merge(struct store *st, struct episode **v, size_t n)
{
	struct episode *m = v[0];
	int rc;

	if ((m->targets = calloc(n, sizeof(*m->targets))) == NULL)
		return -1;
	ep_target_move(m, m);
	for (size_t i = 1; i < n; i++) {
		struct episode *e = v[i];
		if (!ep_names_add(m, e))
			return -1;
		m->failures += e->failures;
		if (e->last_ok.id != 0 &&
		    (m->last_ok.id == 0 || e->last_ok.time > m->last_ok.time))
			m->last_ok = e->last_ok;
		if (e->last_failure.time > m->last_failure.time)
			m->last_failure = e->last_failure;
		if (e->first_ok.id != 0 &&
		    (m->first_ok.id == 0 ||
		        e->first_ok.time < m->first_ok.time))
			m->first_ok = e->first_ok;
		ep_target_move(m, e);
		e->dropped = true;
	}
	rc = ep_measure(st, m);
	m->scope = EPISODE_PROBE;
	return rc;
}

/* The probe episodes of one probe that overlap in time (from first
 * failure to first success) are one cut: one episode each.  Returns
 * STORE_OK, STORE_E_DB, or -1 out of memory. */
static int
ep_cuts(struct store *st, struct episode_list *l)
{
	struct episode **v;
	size_t n = 0;
	int rc = STORE_OK;

	if ((v = calloc(l->n + 1, sizeof(*v))) == NULL)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].silence && l->v[i].scope == EPISODE_PROBE)
			v[n++] = &l->v[i];
	if (n > 1)
		qsort(v, n, sizeof(*v), ep_cmp_cut);
	for (size_t g = 0, end; g < n && rc == STORE_OK; g = end) {
		cw_usec_t until = ep_until(v[g]);
		for (end = g + 1;
		     end < n && strcmp(v[end]->probe, v[g]->probe) == 0 &&
		     v[end]->first_failure.time < until;
		     end++)
			if (ep_until(v[end]) > until)
				until = ep_until(v[end]);
		if (end - g > 1)
			rc = ep_cut_merge(st, &v[g], end - g);
	}
	free(v);
	return rc;
}

/* Whether `e` has a target of measurement `name` (NULL: any) and
 * address `addr` (NULL: any). */
static bool
ep_has_target(const struct episode *e, const char *name, const char *addr)
{
	if (e->ntargets == 0)
		return (name == NULL || ep_str_eq(name, e->name)) &&
		    (addr == NULL || ep_str_eq(addr, e->addr));
	for (size_t i = 0; i < e->ntargets; i++)
		if ((name == NULL || ep_str_eq(name, e->targets[i].name)) &&
		    (addr == NULL || ep_str_eq(addr, e->targets[i].addr)))
			return true;
	return false;
}

static bool
ep_selected(const struct episodes_query *q, const struct episode *e)
{
	const struct store_filter *f = &q->filter;

	if (q->scope >= 0 && (int)e->scope != q->scope)
		return false;
	if (e->severity < q->min_severity)
		return false;
	if (f->probe != NULL &&
	    (strlen(f->probe) == RECORD_ID_HEX ?
	            strcmp(f->probe, e->probe) != 0 :
	            strtoll(f->probe, NULL, 10) != e->probe_num))
		return false;
	if (f->name != NULL && !ep_has_target(e, f->name, NULL))
		return false;
	if (f->addr != NULL && !ep_has_target(e, NULL, f->addr))
		return false;
	if (f->country != NULL && strcmp(f->country, e->country) != 0)
		return false;
	return f->asn < 0 || f->asn == e->asn;
}

static cw_usec_t
ep_start(const struct episode *e)
{
	return e->silence ? e->last_ok.time : e->first_failure.time;
}

static int
ep_cmp_time(const void *va, const void *vb)
{
	const struct episode *a = va, *b = vb;
	int c;

	if (ep_start(a) != ep_start(b))
		return ep_start(a) < ep_start(b) ? -1 : 1;
	if ((c = strcmp(a->probe, b->probe)) != 0)
		return c;
	return ep_cmp_target(&a, &b);
}

struct ep_probes {
	const struct episodes_query *q;
	struct episode_list *l;
};

/* The probes' numbers, from the probe list (one read, not one per
 * episode); and a silence not ended yet measured against twice the
 * interval of the probe's last heartbeat, as the ingest measures the
 * others (store_episodes.h). */
static int
ep_probe_cb(void *arg, const struct store_probe *p)
{
	struct ep_probes *pr = arg;
	cw_usec_t interval = 0;

	for (size_t i = 0; i < pr->l->n; i++) {
		struct episode *e = &pr->l->v[i];
		if (strcmp(e->probe, p->id) != 0)
			continue;
		e->probe_num = p->num;
		if (!e->silence || e->first_ok.id != 0)
			continue;
		if (interval == 0)
			interval = p->last_heartbeat != NULL ?
			    store_heartbeat_interval(p->last_heartbeat,
			        strlen(p->last_heartbeat)) :
			    STORE_HEARTBEAT_DEFAULT;
		if (ep_end(pr->q) - e->last_ok.time <= 2 * interval)
			e->dropped = true;
	}
	return 0;
}

int
episodes_find(struct store *st, const struct episodes_query *q,
    struct episode_list *out)
{
	struct ep_read rd = { .q = q, .out = out };
	struct ep_probes pr = { q, out };
	size_t kept = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	if (store_episode_runs(st, q->filter.from, q->filter.to,
	        q->min_failures, ep_run_cb, &rd) < 0)
		return STORE_E_DB;
	if (rd.nomem)
		return -1;
	for (size_t i = 0; i < out->n; i++)
		if (ep_measure(st, &out->v[i]) != STORE_OK)
			return STORE_E_DB;
	if (!ep_regions(out))
		return -1;
	if (!q->per_target && (rc = ep_cuts(st, out)) != STORE_OK)
		return rc;
	if (out->n > 0 && store_probe_list(st, ep_probe_cb, &pr) != STORE_OK)
		return STORE_E_DB;
	for (size_t i = 0; i < out->n; i++) {
		if (out->v[i].dropped || !ep_selected(q, &out->v[i])) {
			episode_clear(&out->v[i]);
			continue;
		}
		out->v[kept++] = out->v[i];
	}
	out->n = kept;
	if (out->n > 1)
		qsort(out->v, out->n, sizeof(*out->v), ep_cmp_time);
	return 0;
}

/* --- Output --- */

static json_t *
ep_mark_json(struct episode_mark m)
{
	char buf[CW_TIME_STRLEN];

	if (m.id == 0)
		return json_null();
	export_time_format(m.time, buf);
	return json_pack("{s:I,s:s}", "id", (json_int_t)m.id, "time", buf);
}

static json_t *
ep_str_json(const char *s)
{
	return s != NULL ? json_string(s) : json_null();
}

static json_t *
ep_target_json(const char *name, const char *server, const char *addr,
    const char *proto, long long af)
{
	return json_pack("{s:o,s:o,s:o,s:o,s:o}", "name", ep_str_json(name),
	    "server", ep_str_json(server), "addr", ep_str_json(addr), "proto",
	    ep_str_json(proto), "af", af >= 0 ? json_integer(af) : json_null());
}

/* The episode's targets: its own, those of a cut, none for a
 * silence. */
static json_t *
ep_targets_json(const struct episode *e)
{
	json_t *a = json_array();

	if (a == NULL || e->silence)
		return a;
	if (e->ntargets == 0)
		json_array_append_new(a,
		    ep_target_json(e->name, e->server, e->addr, e->proto,
		        e->af));
	for (size_t i = 0; i < e->ntargets; i++) {
		const struct episode_target *t = &e->targets[i];
		json_array_append_new(a,
		    ep_target_json(t->name, t->server, t->addr, t->proto,
		        t->af));
	}
	return a;
}

static json_t *
episode_json(const struct episode *e)
{
	json_t *o = json_object(), *names = json_object();

	if (o == NULL || names == NULL) {
		json_decref(o);
		json_decref(names);
		return NULL;
	}
	for (size_t i = 0; i < e->nnames; i++)
		json_object_set_new(names, e->names[i].name,
		    json_integer(e->names[i].n));
	json_object_set_new(o, "scope",
	    json_string(episode_scope_name(e->scope)));
	json_object_set_new(o, "silence", json_boolean(e->silence));
	json_object_set_new(o, "probe", json_string(e->probe));
	json_object_set_new(o, "probe_num", json_integer(e->probe_num));
	json_object_set_new(o, "country",
	    e->country[0] != '\0' ? json_string(e->country) : json_null());
	json_object_set_new(o, "asn",
	    e->asn >= 0 ? json_integer(e->asn) : json_null());
	json_object_set_new(o, "name", ep_str_json(e->name));
	json_object_set_new(o, "server", ep_str_json(e->server));
	json_object_set_new(o, "addr", ep_str_json(e->addr));
	json_object_set_new(o, "proto", ep_str_json(e->proto));
	json_object_set_new(o, "af",
	    e->af >= 0 ? json_integer(e->af) : json_null());
	json_object_set_new(o, "last_ok", ep_mark_json(e->last_ok));
	json_object_set_new(o, "first_failure", ep_mark_json(e->first_failure));
	json_object_set_new(o, "last_failure", ep_mark_json(e->last_failure));
	json_object_set_new(o, "first_ok", ep_mark_json(e->first_ok));
	json_object_set_new(o, "ongoing", json_boolean(e->first_ok.id == 0));
	json_object_set_new(o, "failures", json_integer(e->failures));
	json_object_set_new(o, "failure_names", names);
	json_object_set_new(o, "measurements", json_integer(e->measurements));
	json_object_set_new(o, "failing", json_integer(e->failing));
	json_object_set_new(o, "duration_s", json_real(e->duration_s));
	json_object_set_new(o, "severity", json_real(e->severity));
	json_object_set_new(o, "region_probes",
	    json_integer((json_int_t)e->region_probes));
	json_object_set_new(o, "targets", ep_targets_json(e));
	return o;
}

int
episodes_write_jsonl(const struct episode_list *l, struct evbuffer *out)
{
	for (size_t i = 0; i < l->n; i++) {
		json_t *o = episode_json(&l->v[i]);
		char *s;
		int rc;
		if (o == NULL)
			return -1;
		s = json_dumps(o,
		    JSON_COMPACT | JSON_PRESERVE_ORDER |
		        JSON_REAL_PRECISION(9));
		json_decref(o);
		if (s == NULL)
			return -1;
		rc = evbuffer_add_printf(out, "%s\n", s);
		free(s);
		if (rc < 0)
			return -1;
	}
	return 0;
}

#define EP_CSV_HEADER \
	"scope,silence,probe,probe_num,country,asn,name,server,addr,proto," \
	"af,last_ok_id,last_ok_time,first_failure_id,first_failure_time," \
	"last_failure_id,last_failure_time,first_ok_id,first_ok_time," \
	"ongoing,failures,failure_names,measurements,failing,duration_s," \
	"severity,region_probes,targets\r\n"

static int
ep_csv_text(struct evbuffer *out, const char *s)
{
	if (export_csv_field(out, s, s != NULL ? strlen(s) : 0) == -1)
		return -1;
	return evbuffer_add(out, ",", 1);
}

static int
ep_csv_mark(struct evbuffer *out, struct episode_mark m)
{
	char buf[CW_TIME_STRLEN];

	if (m.id == 0)
		return evbuffer_add(out, ",,", 2);
	export_time_format(m.time, buf);
	return evbuffer_add_printf(out, "%lld,%s,", m.id, buf) < 0 ? -1 : 0;
}

/* One target as the CSV's targets column writes it: its fields
 * joined by spaces (none of them holds one), "" for an absent one. */
static int
ep_csv_target(struct evbuffer *b, const char *name, const char *server,
    const char *addr, const char *proto, long long af)
{
	char afs[24] = "";

	if (af >= 0)
		snprintf(afs, sizeof(afs), "%lld", af);
	return evbuffer_add_printf(b, "%s%s %s %s %s %s",
	           evbuffer_get_length(b) > 0 ? ";" : "", name ? name : "",
	           server ? server : "", addr ? addr : "", proto ? proto : "",
	           afs) < 0 ?
	    -1 :
	    0;
}

/* The targets column, a field and its line's end. */
static int
ep_csv_targets(const struct episode *e, struct evbuffer *out)
{
	struct evbuffer *b = evbuffer_new();
	int rc = b == NULL ? -1 : 0;

	if (rc == 0 && !e->silence && e->ntargets == 0)
		rc = ep_csv_target(b, e->name, e->server, e->addr, e->proto,
		    e->af);
	for (size_t i = 0; rc == 0 && i < e->ntargets; i++)
		rc = ep_csv_target(b, e->targets[i].name, e->targets[i].server,
		    e->targets[i].addr, e->targets[i].proto, e->targets[i].af);
	if (rc == 0)
		rc = evbuffer_add(b, "", 1);
	if (rc == 0)
		rc = export_csv_field(out, (const char *)evbuffer_pullup(b, -1),
		    evbuffer_get_length(b) - 1);
	if (rc == 0)
		rc = evbuffer_add(out, "\r\n", 2);
	if (b != NULL)
		evbuffer_free(b);
	return rc;
}

static int
episode_csv(const struct episode *e, struct evbuffer *out)
{
	struct evbuffer *names = evbuffer_new();
	int rc = 0;

	if (names == NULL)
		return -1;
	/* name=count;name=count: failure names are words of one
	 * vocabulary (failure.h), without '=' or ';'. */
	for (size_t i = 0; i < e->nnames && rc == 0; i++)
		rc = evbuffer_add_printf(names, "%s%s=%lld", i > 0 ? ";" : "",
		         e->names[i].name, e->names[i].n) < 0;
	if (rc == 0)
		rc = evbuffer_add(names, "", 1);
	if (rc == 0 &&
	    evbuffer_add_printf(out, "%s,%s,%s,%lld,%s,",
	        episode_scope_name(e->scope), e->silence ? "true" : "false",
	        e->probe, e->probe_num, e->country) < 0)
		rc = -1;
	if (rc == 0 &&
	    (e->asn >= 0 ? evbuffer_add_printf(out, "%lld,", e->asn) < 0 :
	                   evbuffer_add(out, ",", 1) == -1))
		rc = -1;
	if (rc == 0 &&
	    (ep_csv_text(out, e->name) == -1 ||
	        ep_csv_text(out, e->server) == -1 ||
	        ep_csv_text(out, e->addr) == -1 ||
	        ep_csv_text(out, e->proto) == -1))
		rc = -1;
	if (rc == 0 &&
	    (e->af >= 0 ? evbuffer_add_printf(out, "%lld,", e->af) < 0 :
	                  evbuffer_add(out, ",", 1) == -1))
		rc = -1;
	if (rc == 0 &&
	    (ep_csv_mark(out, e->last_ok) == -1 ||
	        ep_csv_mark(out, e->first_failure) == -1 ||
	        ep_csv_mark(out, e->last_failure) == -1 ||
	        ep_csv_mark(out, e->first_ok) == -1))
		rc = -1;
	if (rc == 0 &&
	    evbuffer_add_printf(out, "%s,%lld,",
	        e->first_ok.id == 0 ? "true" : "false", e->failures) < 0)
		rc = -1;
	if (rc == 0 &&
	    ep_csv_text(out, (const char *)evbuffer_pullup(names, -1)) == -1)
		rc = -1;
	if (rc == 0 &&
	    evbuffer_add_printf(out, "%lld,%lld,%.3f,%.3f,%zu,",
	        e->measurements, e->failing, e->duration_s, e->severity,
	        e->region_probes) < 0)
		rc = -1;
	if (rc == 0)
		rc = ep_csv_targets(e, out);
	evbuffer_free(names);
	return rc;
}

int
episodes_write_csv(const struct episode_list *l, struct evbuffer *out)
{
	if (evbuffer_add(out, EP_CSV_HEADER, strlen(EP_CSV_HEADER)) == -1)
		return -1;
	for (size_t i = 0; i < l->n; i++)
		if (episode_csv(&l->v[i], out) == -1)
			return -1;
	return 0;
}
