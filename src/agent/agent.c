/*
 * agent.c -- the measuring agent's scheduler and result path (agent.h):
 * the tasks of a configuration, their cycles and runs, through each
 * kind's operations only (probes/probe.h); results to the spool and the
 * output; the set-up run and once share (TLD discovery, the kinds'
 * contexts, the spool, the uploader, the heartbeat); run's stop and
 * reload.  The commands are cmd_run.c, cmd_once.c and cmd_check.c.
 */
#include "config.h"

#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "agent.h"
#include "conf.h"
#include "heartbeat.h"
#include "key.h"
#include "log.h"
#include "output.h"
#include "probe.h"
#include "result.h"
#include "schedule.h"
#include "spool.h"
#include "sysutil.h"
#include "tld.h"
#include "receipts.h"
#include "upload.h"

#define AGENT_RESOLV_CONF "/etc/resolv.conf"

const struct agent_clock agent_clock_system = {
	.real = cw_real_usec,
	.schedule = schedule_clock,
	.timer_new = schedule_timer_new,
	.timer_free = schedule_timer_free,
};

/* --- Results --- */

/* agent_emit: a result goes into the spool first (when there is
 * one), then to the output.  The caller keeps its reference. */
static void
agent_emit(struct agent *a, const json_t *result)
{
	if (a->spool != NULL && spool_append(a->spool, result) == 0)
		a->spool_errors++;
	upload_kick(a->uploader);
	if (a->out != NULL && output_write(a->out, result) == -1)
		a->write_errors++;
}

/* agent_record: tag a measurement's result with its TLD (NULL: none),
 * count it and write it.  The caller keeps its reference. */
static void
agent_record(struct agent *a, json_t *result, const char *tld)
{
	if (tld != NULL)
		result_set_str(result, "tld", tld);
	a->results++;
	if (result_failure(result) != CW_OK)
		a->failures++;
	agent_emit(a, result);
}

/* agent_health_change: the run of task t that just ended changed its
 * health to h->run: say so. */
static void
agent_health_change(const struct task *t, const struct task_health *h)
{
	char since[CW_TIME_STRLEN];
	const char *sep = h->run_detail[0] != '\0' ? ": " : "";

	if (h->run == CW_OK)
		log_info("%s: recovered after %llu failed run%s since %s",
		    t->label, h->failed_runs, h->failed_runs == 1 ? "" : "s",
		    cw_time_format(h->since, since, sizeof(since)));
	else if (h->state == CW_OK)
		log_warnx("%s: failing: %s%s%s", t->label,
		    cw_failure_name(h->run), sep, h->run_detail);
	else
		log_warnx("%s: still failing, now with %s (was %s)%s%s",
		    t->label, cw_failure_name(h->run),
		    cw_failure_name(h->state), sep, h->run_detail);
}

/* agent_health: run: result r of task t is in (`last`: its run is
 * over); when the run is over and ended otherwise than the one before,
 * log the change. */
static void
agent_health(struct task *t, const json_t *r, bool last)
{
	struct task_health *h = &t->health;
	enum cw_failure failure = result_failure(r);
	const char *detail;

	if (failure != CW_OK && h->run == CW_OK) {
		h->run = failure;
		detail = json_string_value(
		    json_object_get(r, "failure_detail"));
		snprintf(h->run_detail, sizeof(h->run_detail), "%s",
		    detail != NULL ? detail : "");
	}
	if (!last)
		return;
	if (h->run != h->state) {
		agent_health_change(t, h);
		if (h->state == CW_OK) {
			h->since = t->agent->time->real();
			h->failed_runs = 0;
		}
		h->state = h->run;
	}
	if (h->state != CW_OK)
		h->failed_runs++;
	h->run = CW_OK;
	h->run_detail[0] = '\0';
}

/* agent_result: write a task's result and count it; `last` when the
 * task's run has nothing more to report.  Takes the reference. */
static void
agent_result(struct task *t, json_t *result, bool last)
{
	struct agent *a = t->agent;

	agent_record(a, result, t->pt.tld);
	if (a->mode == AGENT_RUN)
		agent_health(t, result, last);
	if (a->mode == AGENT_ONCE) {
		if (t->results == NULL)
			t->results = json_array();
		if (t->results != NULL)
			json_array_append(t->results, result);
		if (last && !t->settled) {
			t->settled = true;
			a->settled++;
		}
	}
	json_decref(result);
}

void
agent_result_failure(struct task *t, enum cw_failure failure,
    const char *detail, ...)
{
	char text[512];
	json_t *r;
	va_list ap;

	if ((r = result_new(t->m->kind->name, t->m->name,
	         t->agent->time->real())) == NULL) {
		log_warnx("%s: out of memory for a result", t->label);
		return;
	}
	va_start(ap, detail);
	vsnprintf(text, sizeof(text), detail, ap);
	va_end(ap);
	t->m->kind->failure_fields(r, t->m, &t->pt);
	result_set_failure(r, failure, "%s", text);
	agent_result(t, r, true);
}

/* --- Tasks --- */

/*
 * agent_tld_servers: the server addresses of TLD `tld` (NULL and 0
 * while none are known): the set the TLD discovery (src/agent/tld.h) holds.
 * Until a TLD's servers are known each cycle reports dns_no_servers
 * for it.
 */
static void
agent_tld_servers(void *arg, const char *tld, const struct target **targets,
    size_t *n)
{
	struct agent *a = ((struct agent_tasks *)arg)->agent;
	const struct tld_set *set;

	*targets = NULL;
	*n = 0;
	if (a->tld != NULL && (set = tld_discovery_get(a->tld, tld)) != NULL) {
		*targets = set->servers;
		*n = set->n;
	}
}

/* agent_tasks_add: append task pt of the measurement being laid out
 * (probe_task_add_fn). */
static int
agent_tasks_add(void *arg, const struct probe_task *pt)
{
	struct agent_tasks *ts = arg;
	struct task *grown, *t;

	grown = reallocarray(ts->v, ts->n + 1, sizeof(*grown));
	if (grown == NULL) {
		log_warn("%s: reallocarray", __func__);
		return -1;
	}
	ts->v = grown;
	t = &ts->v[ts->n];
	memset(t, 0, sizeof(*t));
	t->agent = ts->agent;
	t->m = ts->adding;
	t->pt = *pt;
	t->m->kind->label(t->m, &t->pt, t->label, sizeof(t->label));
	ts->n++;
	return 0;
}

void
agent_tasks_free(struct agent_tasks *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		struct task *t = &ts->v[i];
		if (t->run != NULL)
			t->m->kind->cancel(t->run);
		if (t->timer != NULL)
			t->agent->time->timer_free(t->timer);
		json_decref(t->results);
	}
	free(ts->v);
	free(ts->groups);
	memset(ts, 0, sizeof(*ts));
}

/* Order of tasks by group: measurement, then address and port. */
static int
agent_task_group_cmp(const void *x, const void *y)
{
	const struct task *a = *(struct task *const *)x;
	const struct task *b = *(struct task *const *)y;
	int c;

	if (a->m != b->m)
		return a->m < b->m ? -1 : 1;
	if ((c = strcmp(a->pt.target.addr, b->pt.target.addr)) != 0)
		return c;
	return (int)target_port(&a->pt.target) -
	    (int)target_port(&b->pt.target);
}

/* agent_tasks_group: put the tasks that share a measurement of a
 * serial kind and a server address into one group.  Returns 0 or -1
 * (logged). */
static int
agent_tasks_group(struct agent_tasks *ts)
{
	struct task **order;
	size_t n = 0;

	if ((order = calloc(ts->n + 1, sizeof(*order))) == NULL ||
	    (ts->groups = calloc(ts->n + 1, sizeof(*ts->groups))) == NULL) {
		log_warn("%s: calloc", __func__);
		free(order);
		return -1;
	}
	for (size_t i = 0; i < ts->n; i++)
		if (ts->v[i].pt.has_target && ts->v[i].m->kind->serial)
			order[n++] = &ts->v[i];
	qsort(order, n, sizeof(*order), agent_task_group_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 ||
		    agent_task_group_cmp(&order[i - 1], &order[i]) != 0)
			ts->ngroups++;
		order[i]->group = &ts->groups[ts->ngroups - 1];
		if (++order[i]->group->size > ts->max_group)
			ts->max_group = order[i]->group->size;
	}
	free(order);
	return 0;
}

/* agent_tasks_build: the tasks of `conf`.  Returns 0 or -1 (logged). */
int
agent_tasks_build(struct agent *a, const struct config *conf,
    struct agent_tasks *ts)
{
	memset(ts, 0, sizeof(*ts));
	ts->agent = a;
	for (size_t i = 0; i < conf->nmeasurements; i++) {
		ts->adding = &conf->measurements[i];
		if (ts->adding->kind->tasks(ts->adding, agent_tasks_add,
		        agent_tld_servers, ts) == -1)
			goto fail;
	}
	ts->adding = NULL;
	if (agent_tasks_group(ts) == -1)
		goto fail;
	return 0;
fail:
	agent_tasks_free(ts);
	return -1;
}

static void agent_group_next(struct task_group *);
static void agent_run_drained(struct agent *);

/* agent_task_done: a result of task t's run (probe_done_fn). */
static void
agent_task_done(json_t *result, bool last, void *arg)
{
	struct task *t = arg;
	struct agent *a = t->agent;

	if (last)
		t->run = NULL;
	agent_result(t, result, last);
	if (!last)
		return;
	if (t->group != NULL)
		agent_group_next(t->group);
	agent_run_drained(a);
	if (a->mode == AGENT_ONCE && --a->pending == 0)
		event_base_loopbreak(a->base);
}

/* A run whose task went away in a rebuild: its results still count.
 * Kept on the agent's list so a stop can cancel it. */
struct agent_orphan {
	struct agent *agent;
	const struct probe_kind *kind;
	struct probe_run *run;
	char *tld; /* copy of the task's, or NULL */
	struct agent_orphan *next, **prevp;
};

static void
agent_orphan_free(struct agent_orphan *o)
{
	if ((*o->prevp = o->next) != NULL)
		o->next->prevp = o->prevp;
	free(o->tld);
	free(o);
}

/* agent_orphans_cancel: stop every orphaned run (at a stop). */
static void
agent_orphans_cancel(struct agent *a)
{
	while (a->orphans != NULL) {
		a->orphans->kind->cancel(a->orphans->run);
		agent_orphan_free(a->orphans);
	}
}

static void
agent_orphan_done(json_t *result, bool last, void *arg)
{
	struct agent_orphan *o = arg;
	struct agent *a = o->agent;

	agent_record(a, result, o->tld);
	json_decref(result);
	if (!last)
		return;
	agent_orphan_free(o);
	agent_run_drained(a);
}

/* agent_task_same: whether old task o and new task n measure the same
 * thing the same way (a run of o may stand for n). */
static bool
agent_task_same(const struct task *o, const struct task *n)
{
	return o->m->kind == n->m->kind &&
	    strcmp(o->m->name, n->m->name) == 0 &&
	    n->m->kind->same(&o->pt, &n->pt);
}

/* agent_tasks_keep_health: a task that stays what it was keeps its
 * health, so a rebuild does not announce a failing target again. */
static void
agent_tasks_keep_health(const struct agent_tasks *old,
    struct agent_tasks *fresh)
{
	for (size_t i = 0; i < fresh->n; i++)
		for (size_t j = 0; j < old->n; j++)
			if (agent_task_same(&old->v[j], &fresh->v[i])) {
				fresh->v[i].health = old->v[j].health;
				break;
			}
}

/*
 * agent_tasks_handover: before the old tasks are freed (a reload, a TLD
 * whose servers changed), hand every run they have on the wire to the
 * same task of the new set, so that it is not measured twice at once;
 * or, when the task is gone, let it finish on its own.  Either way its
 * results are written: a rebuild loses no measurement.
 */
static void
agent_tasks_handover(struct agent *a, struct agent_tasks *old,
    struct agent_tasks *fresh)
{
	struct agent_orphan *o;

	agent_tasks_keep_health(old, fresh);
	for (size_t i = 0; i < old->n; i++) {
		struct task *ot = &old->v[i], *nt = NULL;
		if (ot->run == NULL)
			continue;
		for (size_t j = 0; j < fresh->n && nt == NULL; j++)
			if (fresh->v[j].run == NULL &&
			    agent_task_same(ot, &fresh->v[j]))
				nt = &fresh->v[j];
		if (nt != NULL) {
			ot->m->kind->redirect(ot->run, agent_task_done, nt);
			nt->run = ot->run;
			if (nt->group != NULL)
				nt->group->running = nt;
			ot->run = NULL;
			continue;
		}
		if ((o = calloc(1, sizeof(*o))) == NULL ||
		    (ot->pt.tld != NULL &&
		        (o->tld = strdup(ot->pt.tld)) == NULL)) {
			log_warn("%s: %s: its query is cancelled", __func__,
			    ot->label);
			free(o);
			continue; /* agent_tasks_free cancels it */
		}
		o->agent = a;
		o->kind = ot->m->kind;
		o->run = ot->run;
		if ((o->next = a->orphans) != NULL)
			o->next->prevp = &o->next;
		o->prevp = &a->orphans;
		a->orphans = o;
		o->kind->redirect(ot->run, agent_orphan_done, o);
		ot->run = NULL;
	}
}

/* agent_kind_ctx: the context of kind k's runs (see probe_kind); NULL
 * when a kind that needs one has none. */
static void *
agent_kind_ctx(const struct agent *a, const struct probe_kind *k)
{
	for (size_t i = 0; i < a->nkinds; i++)
		if (a->kinds[i].kind == k)
			return a->kinds[i].ctx;
	return k->context_new == NULL ? a->base : NULL;
}

/* agent_task_send: the run of task t starts now.  Returns 0 when it
 * is on its way, -1 when it could not start (its result written). */
static int
agent_task_send(struct task *t)
{
	struct agent *a = t->agent;
	const struct probe_kind *k = t->m->kind;
	void *ctx = agent_kind_ctx(a, k);

	t->run = ctx == NULL ? NULL :
	                       k->start(ctx, t->m, &t->pt, agent_task_done, t);
	if (t->run == NULL) {
		agent_result_failure(t, CW_FAIL_INTERNAL,
		    "could not start the %s", k->run_name);
		return -1;
	}
	if (t->group != NULL)
		t->group->running = t;
	return 0;
}

/* agent_group_next: the group's query finished; send the next queued
 * one.  In once, a queued task that cannot start is settled here. */
static void
agent_group_next(struct task_group *g)
{
	struct task *t;

	g->running = NULL;
	while ((t = g->head) != NULL) {
		if ((g->head = t->next_queued) == NULL)
			g->tail = NULL;
		t->next_queued = NULL;
		t->queued = false;
		if (agent_task_send(t) == 0)
			return;
		if (t->agent->mode == AGENT_ONCE)
			t->agent->pending--;
	}
}

/* agent_task_start: one run of task t, now or, while another run of its
 * group is in flight, as soon as that one is done.  A task of a TLD
 * whose servers are not known yet reports so. */
void
agent_task_start(struct task *t)
{
	struct agent *a = t->agent;
	struct task_group *g = t->group;

	if (t->pt.tld != NULL && !t->pt.has_target) {
		agent_result_failure(t, CW_FAIL_DNS_NO_SERVERS,
		    "no server set known yet for TLD \"%s\"", t->pt.tld);
		return;
	}
	if (g != NULL && g->running != NULL) {
		t->queued = true;
		if (g->tail != NULL)
			g->tail->next_queued = t;
		else
			g->head = t;
		g->tail = t;
	} else if (agent_task_send(t) == -1)
		return;
	if (a->mode == AGENT_ONCE)
		a->pending++;
}

/* agent_task_fire: a cycle of task t begins. */
static void
agent_task_fire(void *arg)
{
	struct task *t = arg;

	if (t->run != NULL || t->queued) {
		t->skipped++;
		t->agent->skipped++;
		log_debug("%s: previous query still running, cycle skipped "
		          "(%llu so far)",
		    t->label, (unsigned long long)t->skipped);
		return;
	}
	agent_task_start(t);
}

/* agent_tasks_schedule: a timer for every task, cycles from t0. */
int
agent_tasks_schedule(struct agent *a, struct agent_tasks *ts)
{
	cw_usec_t t0 = a->time->schedule();

	for (size_t i = 0; i < ts->n; i++) {
		struct task *t = &ts->v[i];
		t->timer = a->time->timer_new(a->base, t0, t->m->interval,
		    t->m->spread, t->label, agent_task_fire, t);
		if (t->timer == NULL)
			return -1;
	}
	return 0;
}

/* --- Set-up shared by run and once --- */

/* agent_state_dir: create the state directory when a TLD measurement
 * will cache server sets there.  A failure only costs the cache. */
static void
agent_state_dir(const struct config *conf)
{
	for (size_t i = 0; i < conf->nmeasurements; i++)
		if (conf->measurements[i].ntlds > 0) {
			if (sysutil_mkdirs(conf->state_dir) == -1)
				log_warn("state_dir %s: cannot create it; TLD "
				         "server sets will not be cached",
				    conf->state_dir);
			return;
		}
}

/* --- TLD discovery --- */

/* agent_tld_result: a discovery attempt's result goes to the output
 * like any other (it is not a task's: not counted).  In once, the wait
 * for discovery ends when every TLD has a set or an answer. */
static void
agent_tld_result(json_t *result, void *arg)
{
	struct agent *a = arg;

	agent_emit(a, result);
	json_decref(result);
	if (a->tld_waiting && tld_discovery_settled(a->tld))
		event_base_loopbreak(a->base);
}

/* agent_tld_record: run: the "tld_servers" record of `set`, naming
 * the root asked when the configuration names it. */
static void
agent_tld_record(struct agent *a, const struct tld_set *set, bool cached)
{
	const struct config_tld *c = &a->conf->tld;
	const char *root_name = NULL;
	json_t *r;

	for (size_t i = 0; i < c->nroots && root_name == NULL; i++)
		if (strcmp(c->roots[i].addr, set->root) == 0)
			root_name = c->roots[i].name;
	if ((r = tld_servers_record(set, cached, root_name, a->time->real())) ==
	    NULL) {
		log_warnx("tld %s: out of memory", set->tld);
		return;
	}
	agent_emit(a, r);
	json_decref(r);
}

struct agent_tld_new_sets {
	struct agent *a;
	const struct tld_discovery *old;
};

static void
agent_tld_record_new(const char *tld, const struct tld_set *set, bool cached,
    void *arg)
{
	struct agent_tld_new_sets *n = arg;
	const struct tld_set *was;

	if (n->old != NULL && (was = tld_discovery_get(n->old, tld)) != NULL &&
	    tld_set_equal(was, set))
		return;
	agent_tld_record(n->a, set, cached);
}

void
agent_tld_records(struct agent *a, const struct tld_discovery *old)
{
	struct agent_tld_new_sets n = { a, old };

	if (a->tld != NULL)
		tld_discovery_each(a->tld, agent_tld_record_new, &n);
}

/* agent_tld_changed: a TLD's servers were learned or changed.  run
 * records the set and rebuilds its tasks as a reload does (queries in
 * flight are handed over, cycles start afresh); once measures the sets
 * it started with. */
static void
agent_tld_changed(const char *tld, const struct tld_set *set, void *arg)
{
	struct agent *a = arg;
	struct agent_tasks ts;

	log_info("tld %s: %zu server address%s learned", tld, set->n,
	    set->n == 1 ? "" : "es");
	if (a->mode != AGENT_RUN)
		return;
	agent_tld_record(a, set, false);
	if (agent_tasks_build(a, a->conf, &ts) == -1) {
		log_warnx("tld %s: cannot rebuild the tasks, keeping the "
		          "previous ones",
		    tld);
		return;
	}
	agent_tasks_handover(a, &a->tasks, &ts);
	agent_tasks_free(&a->tasks);
	a->tasks = ts;
	if (agent_tasks_schedule(a, &a->tasks) == -1) {
		log_warnx("tld %s: cannot schedule the tasks, stopping", tld);
		agent_tasks_free(&a->tasks);
		event_base_loopbreak(a->base);
	}
}

/* agent_tld_new: the TLD discovery of `conf` into *out (NULL when no
 * measurement has tlds), every TLD added and its cached set loaded.
 * Returns 0, or -1 (logged). */
static int
agent_tld_new(struct agent *a, const struct config *conf,
    struct tld_discovery **out)
{
	const struct config_tld *c = &conf->tld;
	const struct target *resolver = NULL;
	struct tld_discovery *d;
	struct target auto_resolver;
	bool any = false;

	*out = NULL;
	for (size_t i = 0; i < conf->nmeasurements; i++)
		any |= conf->measurements[i].ntlds > 0;
	if (!any)
		return 0;
	if (c->have_resolver)
		resolver = &c->resolver;
	else if (c->resolver_auto) {
		if (tld_resolver_from_file(AGENT_RESOLV_CONF, c->port,
		        &auto_resolver) == 0)
			resolver = &auto_resolver;
		else
			log_info("tld: no nameserver in %s: TLD servers "
			         "without glue outside their TLD stay unknown",
			    AGENT_RESOLV_CONF);
	}
	if ((d = tld_discovery_new(a->base, conf->state_dir, c->roots,
	         c->nroots, resolver, c->refresh, agent_tld_changed,
	         agent_tld_result, a)) == NULL)
		return -1;
	tld_discovery_set_port(d, c->port);
	for (size_t i = 0; i < conf->nmeasurements; i++)
		for (size_t j = 0; j < conf->measurements[i].ntlds; j++)
			if (tld_discovery_add(d,
			        conf->measurements[i].tlds[j]) == -1) {
				tld_discovery_free(d);
				return -1;
			}
	*out = d;
	return 0;
}

/* agent_file_unchanged: warn when option `what` names another file
 * after a reload (`was` before, `now` after; NULL: the default). */
static void
agent_file_unchanged(const char *what, const char *was, const char *now)
{
	if ((was == NULL) != (now == NULL) ||
	    (was != NULL && strcmp(was, now) != 0))
		log_warnx("reload: a change of %s takes effect at the next "
		          "start",
		    what);
}

/* agent_kinds_start: the context of every kind that needs one, once a
 * configuration has a measurement of it (the HTTP engine).  A context
 * stays as started: a reload that changes resolv_conf or hosts_file is
 * told so.  Returns 0, or -1 (logged). */
static int
agent_kinds_start(struct agent *a, const struct config *conf)
{
	struct probe_env env = { a->base, conf->resolv_conf, conf->hosts_file };

	if (a->nkinds > 0) {
		agent_file_unchanged("resolv_conf", a->conf->resolv_conf,
		    conf->resolv_conf);
		agent_file_unchanged("hosts_file", a->conf->hosts_file,
		    conf->hosts_file);
	}
	for (size_t i = 0; i < conf->nmeasurements; i++) {
		const struct probe_kind *k = conf->measurements[i].kind;
		void *ctx;
		if (k->context_new == NULL || agent_kind_ctx(a, k) != NULL)
			continue;
		if (a->nkinds == AGENT_KINDS_MAX) {
			log_warnx("%s: too many kinds", __func__);
			return -1;
		}
		if ((ctx = k->context_new(&env)) == NULL)
			return -1;
		a->kinds[a->nkinds].kind = k;
		a->kinds[a->nkinds++].ctx = ctx;
	}
	return 0;
}

/* agent_kinds_free: the kinds' contexts, once no run is left. */
static void
agent_kinds_free(struct agent *a)
{
	for (size_t i = 0; i < a->nkinds; i++)
		a->kinds[i].kind->context_free(a->kinds[i].ctx);
	a->nkinds = 0;
}

/* --- The spool and the heartbeat (run) --- */

/* agent_upload_status: the uploader's figures into a->upload, for the
 * heartbeat: paths are named by the URL's place in the configuration
 * ("1", "2" ...; "1+proxy" through the proxy). */
static void
agent_upload_status(struct agent *a)
{
	struct heartbeat_upload *h = &a->upload;
	struct upload_status st;

	memset(h, 0, sizeof(*h));
	if (a->uploader == NULL)
		return;
	upload_get_status(a->uploader, &st);
	h->enabled = true;
	h->failing_since = st.failing_since;
	h->last_receipt = st.last_receipt;
	h->dead_letters = st.dead_letters;
	for (size_t i = 0; i < st.npaths; i++) {
		h->batches += st.paths[i].sent;
		h->failures += st.paths[i].failed;
		if (i >= HEARTBEAT_PATHS_MAX)
			continue;
		snprintf(h->paths[i].name, sizeof(h->paths[i].name), "%zu%s",
		    i + 1, st.proxy != NULL ? "+proxy" : "");
		h->paths[i].batches = st.paths[i].sent;
		h->paths[i].failures = st.paths[i].failed;
		h->npaths = i + 1;
	}
}

/* agent_heartbeat: a heartbeat record now. */
static void
agent_heartbeat(struct agent *a)
{
	struct spool_status st;
	json_t *hb;

	cw_usec_t now = a->time->real();
	bool declare = heartbeat_config_due(&a->declared, now);
	json_t *config = NULL;

	heartbeat_clock_check(&a->clock);
	agent_upload_status(a);
	spool_get_status(a->spool, &st);
	if ((a->declared.measurements != NULL &&
	        (config = heartbeat_config_json(&a->declared, declare)) ==
	            NULL) ||
	    (hb = heartbeat_build(now, a->conf->heartbeat, &st, &a->upload,
	         &a->clock, &a->conf->probe, config)) == NULL) {
		log_warnx("heartbeat: out of memory");
		json_decref(config);
		return;
	}
	agent_emit(a, hb);
	json_decref(hb);
	json_decref(config);
	if (declare && config != NULL)
		a->declared.declared = now;
}

static void
agent_heartbeat_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	agent_heartbeat(arg);
}

static void
agent_clock_cb(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	heartbeat_clock_check(&a->clock);
}

/* agent_heartbeat_schedule: (re)arm the heartbeat for the configured
 * interval (none when it is 0).  Returns 0 or -1 (logged). */
static int
agent_heartbeat_schedule(struct agent *a)
{
	struct timeval tv;

	if (a->heartbeat_ev != NULL)
		event_del(a->heartbeat_ev);
	if (a->spool == NULL || a->conf->heartbeat == 0)
		return 0;
	if (a->heartbeat_ev == NULL &&
	    (a->heartbeat_ev = event_new(a->base, -1, EV_PERSIST,
	         agent_heartbeat_cb, a)) == NULL) {
		log_warnx("heartbeat: cannot create its timer");
		return -1;
	}
	cw_usec_to_timeval(a->conf->heartbeat, &tv);
	return event_add(a->heartbeat_ev, &tv);
}

/* agent_upload_start: with a collector configured, the uploader of the
 * spool, signing with the probe's key.  Returns 0 or -1 (logged). */
static int
agent_upload_start(struct agent *a)
{
	const struct config_upload *c = &a->conf->upload;
	struct upload_config uc;
	char *receipts;

	if (c->nurls == 0)
		return 0;
	memset(&uc, 0, sizeof(uc));
	uc.urls = (const char *const *)c->urls;
	uc.nurls = c->nurls;
	uc.proxy = c->proxy;
	uc.probe = a->key.id;
	uc.sk = a->key.sk;
	uc.batch_records = c->batch_records;
	uc.batch_bytes = c->batch_bytes;
	uc.batch_age = c->batch_age;
	uc.backoff_max = c->backoff_max;
	uc.failback = c->failback;
	uc.stop_timeout = c->stop_timeout;
	uc.dead_letter = c->dead_letter;
	uc.receipts_max = c->receipts_max;
	if (asprintf(&receipts, "%s/" RECEIPTS_FILE, a->conf->spool.dir) ==
	    -1) {
		log_warnx("upload: out of memory");
		return -1;
	}
	uc.receipts = receipts;
	a->uploader = upload_new(a->base, a->spool, &uc);
	free(receipts);
	return a->uploader == NULL ? -1 : 0;
}

/* agent_upload_reload: the uploader stays as started; say so when the
 * new configuration would change it. */
static void
agent_upload_reload(const struct config *old, const struct config *conf)
{
	const struct config_upload *o = &old->upload, *n = &conf->upload;
	bool same = o->nurls == n->nurls &&
	    (o->proxy == NULL) == (n->proxy == NULL) &&
	    (o->proxy == NULL || strcmp(o->proxy, n->proxy) == 0) &&
	    o->batch_records == n->batch_records &&
	    o->batch_bytes == n->batch_bytes && o->batch_age == n->batch_age &&
	    o->backoff_max == n->backoff_max && o->failback == n->failback &&
	    o->stop_timeout == n->stop_timeout &&
	    o->receipts_max == n->receipts_max &&
	    strcmp(o->dead_letter != NULL ? o->dead_letter : "",
	        n->dead_letter != NULL ? n->dead_letter : "") == 0;

	for (size_t i = 0; same && i < o->nurls; i++)
		same = strcmp(o->urls[i], n->urls[i]) == 0;
	if (!same)
		log_warnx("reload: changes to upload take effect at the next "
		          "start");
}

/*
 * agent_spool_start: with a spool configured, load the probe's key,
 * open (and recover) the spool, and start the clock check and the
 * heartbeat, which writes its first record at once.  Returns 0, or -1
 * (logged): run does not start without the spool it was told to use.
 */
int
agent_spool_start(struct agent *a)
{
	const struct config_spool *c = &a->conf->spool;
	struct spool_config sc;
	struct timeval tv;

	if (!c->enabled)
		return 0;
	if (key_load(a->conf->key_path, &key_probe, &a->key) == -1) {
		log_errx("run: a spool needs the probe's key (corewatch "
		         "keygen makes one; key = \"FILE\" says where it is)");
		return -1;
	}
	memset(&sc, 0, sizeof(sc));
	sc.dir = c->dir;
	sc.probe = a->key.id;
	sc.max_bytes = c->max_bytes;
	sc.min_free_bytes = c->min_free_bytes;
	sc.sync_interval = c->sync_interval;
	if ((a->spool = spool_open(&sc, a->base)) == NULL ||
	    agent_upload_start(a) == -1)
		return -1;
	heartbeat_clock_init(&a->clock);
	cw_usec_to_timeval(HEARTBEAT_CLOCK_CHECK, &tv);
	if ((a->clock_ev = event_new(a->base, -1, EV_PERSIST, agent_clock_cb,
	         a)) == NULL ||
	    event_add(a->clock_ev, &tv) == -1 ||
	    agent_heartbeat_schedule(a) == -1)
		return -1;
	/* Without a description the heartbeats just declare nothing. */
	heartbeat_config_set(&a->declared, a->conf);
	if (a->conf->heartbeat != 0)
		agent_heartbeat(a);
	return 0;
}

/* agent_spool_reload: the spool and the key stay as opened; say so
 * when the new configuration would change them. */
static void
agent_spool_reload(const struct config *old, const struct config *conf)
{
	const struct config_spool *o = &old->spool, *n = &conf->spool;

	if (o->enabled != n->enabled || strcmp(o->dir, n->dir) != 0 ||
	    o->max_bytes != n->max_bytes ||
	    o->min_free_bytes != n->min_free_bytes ||
	    o->sync_interval != n->sync_interval ||
	    strcmp(old->key_path, conf->key_path) != 0)
		log_warnx("reload: changes to the spool or the key take effect "
		          "at the next start");
}

static void
agent_log_level(const struct agent *a)
{
	log_init(NULL, a->verbose ? LOG_LEVEL_DEBUG : a->conf->log_level);
}

/* agent_log_errors: each line of a config_load() error text. */
static void
agent_log_errors(const char *what, const char *errors)
{
	const char *p = errors;

	while (p != NULL && *p != '\0') {
		const char *nl = strchr(p, '\n');
		int n = nl != NULL ? (int)(nl - p) : (int)strlen(p);
		log_warnx("%s: %.*s", what, n, p);
		p = nl != NULL ? nl + 1 : NULL;
	}
}

int
agent_init(struct agent *a, enum agent_mode mode, const char *conf_path,
    bool verbose)
{
	char *errors = NULL;

	memset(a, 0, sizeof(*a));
	a->time = &agent_clock_system;
	a->mode = mode;
	a->conf_path = conf_path;
	a->verbose = verbose;
	if (verbose)
		log_init(NULL, LOG_LEVEL_DEBUG);
	/* libsodium (query IDs, schedule offsets) is set up by main(). */
	if ((a->conf = config_load(conf_path, &errors)) == NULL) {
		/* Plain lines: editors jump to FILE:LINE. */
		fprintf(stderr, "%s\n",
		    errors != NULL ? errors : "configuration rejected");
		free(errors);
		return -1;
	}
	agent_log_level(a);
	/* once takes its output from -o and keeps no spool. */
	if (mode != AGENT_ONCE && agent_check(a->conf) == -1)
		return -1;
	sysutil_raise_nofile();
	signal(SIGPIPE, SIG_IGN);
	if ((a->base = sysutil_event_base()) == NULL) {
		log_errx("%s: cannot create the event loop", __func__);
		return -1;
	}
	/* The HTTP engine reads its resolver's files, nothing more. */
	if (agent_kinds_start(a, a->conf) == -1)
		return -1;
	if (mode == AGENT_CHECK)
		return 0;
	agent_state_dir(a->conf);
	return agent_tld_new(a, a->conf, &a->tld);
}

void
agent_free(struct agent *a)
{
	agent_tasks_free(&a->tasks);
	agent_orphans_cancel(a);
	agent_kinds_free(a);
	tld_discovery_free(a->tld);
	if (a->sig_term != NULL)
		event_free(a->sig_term);
	if (a->sig_int != NULL)
		event_free(a->sig_int);
	if (a->sig_hup != NULL)
		event_free(a->sig_hup);
	if (a->deadline != NULL)
		event_free(a->deadline);
	if (a->heartbeat_ev != NULL)
		event_free(a->heartbeat_ev);
	if (a->clock_ev != NULL)
		event_free(a->clock_ev);
	upload_free(a->uploader);
	heartbeat_config_clear(&a->declared);
	spool_close(a->spool);
	key_clear(&a->key);
	output_close(a->out);
	config_free(a->conf);
	if (a->base != NULL)
		event_base_free(a->base);
	memset(a, 0, sizeof(*a));
}

/* agent_signals: TERM and INT stop; HUP reloads (run only). */
int
agent_signals(struct agent *a, event_callback_fn stop, event_callback_fn hup)
{
	a->sig_term = evsignal_new(a->base, SIGTERM, stop, a);
	a->sig_int = evsignal_new(a->base, SIGINT, stop, a);
	if (a->sig_term == NULL || a->sig_int == NULL ||
	    evsignal_add(a->sig_term, NULL) == -1 ||
	    evsignal_add(a->sig_int, NULL) == -1)
		goto fail;
	if (hup != NULL &&
	    ((a->sig_hup = evsignal_new(a->base, SIGHUP, hup, a)) == NULL ||
	        evsignal_add(a->sig_hup, NULL) == -1))
		goto fail;
	return 0;
fail:
	log_warnx("%s: cannot install signal handlers", __func__);
	return -1;
}

/* --- run --- */

/* agent_in_flight: queries on the wire, the tasks' and the orphans'. */
static size_t
agent_in_flight(const struct agent *a)
{
	size_t n = 0;

	for (size_t i = 0; i < a->tasks.n; i++)
		n += a->tasks.v[i].run != NULL;
	for (const struct agent_orphan *o = a->orphans; o != NULL; o = o->next)
		n++;
	return n;
}

static void
agent_upload_drained(void *arg)
{
	struct agent *a = arg;

	event_base_loopbreak(a->base);
}

/* agent_run_drained: while stopping, once the last query on the wire
 * has reported, give the uploader its stop_timeout to send what the
 * spool holds (those results included), then end the loop. */
static void
agent_run_drained(struct agent *a)
{
	if (!a->stopping || a->flushing || agent_in_flight(a) > 0)
		return;
	if (a->uploader == NULL) {
		event_base_loopbreak(a->base);
		return;
	}
	a->flushing = true;
	upload_drain(a->uploader, agent_upload_drained, a);
}

/*
 * agent_run_stop: SIGTERM or SIGINT.  No cycle starts any more and what
 * waits in the groups' queues is dropped, but the queries on the wire
 * finish and their results are written: their own timeouts bound the
 * wait.  Then the uploader sends what the spool holds, within its
 * stop_timeout.  The same signal again stops at once, cancelling them.
 */
void
agent_run_stop(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	size_t n;

	(void)what;
	if (a->stopping) {
		log_info("run: %s again, stopping now", strsignal((int)sig));
		agent_tasks_free(&a->tasks);
		agent_orphans_cancel(a);
		event_base_loopbreak(a->base);
		return;
	}
	a->stopping = true;
	for (size_t i = 0; i < a->tasks.n; i++) {
		struct task *t = &a->tasks.v[i];
		if (t->timer != NULL)
			a->time->timer_free(t->timer);
		t->timer = NULL;
		t->queued = false;
		t->next_queued = NULL;
		if (t->group != NULL)
			t->group->head = t->group->tail = NULL;
	}
	/* A discovery would rebuild the tasks: it ends here. */
	tld_discovery_free(a->tld);
	a->tld = NULL;
	if ((n = agent_in_flight(a)) == 0) {
		log_info("run: %s, stopping", strsignal((int)sig));
		agent_run_drained(a);
		return;
	}
	log_info("run: %s, stopping once the %zu measurement%s in flight "
	         "report%s (the same signal again stops at once)",
	    strsignal((int)sig), n, n == 1 ? "" : "s", n == 1 ? "s" : "");
}

/* agent_reload_output: the output of the new config, reusing the open
 * one when the path did not change.  NULL on failure (logged). */
static struct output *
agent_reload_output(struct agent *a, const struct config *conf, bool *reused)
{
	*reused = strcmp(conf->output_path, a->conf->output_path) == 0;
	if (*reused)
		return a->out;
	return output_open(conf->output_path);
}

void
agent_run_reload(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;
	struct tld_discovery *old_tld = a->tld;
	struct agent_tasks ts;
	struct config *conf;
	struct output *out;
	char *errors = NULL;
	bool reused;

	(void)sig;
	(void)what;
	if (a->stopping) {
		log_info("reload: ignored, stopping");
		return;
	}
	log_info("reload: reading %s", a->conf_path);
	if ((conf = config_load(a->conf_path, &errors)) == NULL) {
		agent_log_errors("reload", errors);
		log_warnx("reload: %s rejected, still running the previous "
		          "configuration",
		    a->conf_path);
		free(errors);
		return;
	}
	/* The new tasks take their TLD servers from the new discovery. */
	if ((out = agent_reload_output(a, conf, &reused)) == NULL ||
	    agent_kinds_start(a, conf) == -1 ||
	    agent_tld_new(a, conf, &a->tld) == -1 ||
	    agent_tasks_build(a, conf, &ts) == -1) {
		log_warnx("reload: cannot apply %s, still running the previous "
		          "configuration",
		    a->conf_path);
		if (a->tld != old_tld) {
			tld_discovery_free(a->tld);
			a->tld = old_tld;
		}
		if (out != NULL && !reused)
			output_close(out);
		config_free(conf);
		return;
	}
	agent_tasks_handover(a, &a->tasks, &ts);
	agent_tasks_free(&a->tasks);
	if (!reused) {
		output_close(a->out);
		a->out = out;
	}
	agent_spool_reload(a->conf, conf);
	agent_upload_reload(a->conf, conf);
	config_free(a->conf);
	a->conf = conf;
	a->tasks = ts;
	/* The sets new to this configuration, roots named as it names
	 * them; then the old discovery goes. */
	if (old_tld != a->tld) {
		agent_tld_records(a, old_tld);
		tld_discovery_free(old_tld);
	}
	agent_log_level(a);
	if (agent_heartbeat_schedule(a) == -1)
		log_warnx("reload: the heartbeat could not be rescheduled");
	/* The configuration in effect from now on is declared at once. */
	if (a->spool != NULL && heartbeat_config_set(&a->declared, conf) == 0 &&
	    conf->heartbeat != 0)
		agent_heartbeat(a);
	agent_state_dir(a->conf);
	if (agent_tasks_schedule(a, &a->tasks) == -1) {
		/* Timers failing means libevent is out of memory. */
		log_warnx("reload: cannot schedule the tasks, stopping");
		agent_tasks_free(&a->tasks);
		event_base_loopbreak(a->base);
		return;
	}
	log_info("reload: %zu measurement%s, %zu task%s, results to %s",
	    a->conf->nmeasurements, a->conf->nmeasurements == 1 ? "" : "s",
	    a->tasks.n, a->tasks.n == 1 ? "" : "s", output_name(a->out));
}

const char *
agent_default_config(void)
{
	return CW_DEFAULT_CONFIG;
}
