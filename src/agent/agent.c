/*
 * agent.c -- the measuring agent: `corewatch run`, `once` and
 * `check-config`.
 *
 * A configuration becomes a set of tasks, one per (measurement, server
 * address, transport) that its address families and transports allow.
 * `run` gives each task a schedule timer and measures for ever; `once`
 * starts every task at the same moment and waits for all of them.  The
 * tasks of one measurement to one server address form a group that has
 * one query in flight at a time (the others queue); a cycle that fires
 * while the task's previous query still runs or waits is skipped and
 * counted.
 *
 * Everything lives in one struct agent handed to every callback.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>
#include <sodium.h>

#include "cli.h"
#include "cliutil.h"
#include "conf.h"
#include "dns.h"
#include "heartbeat.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "output.h"
#include "result.h"
#include "schedule.h"
#include "spool.h"
#include "sysutil.h"
#include "table.h"
#include "tld.h"
#include "upload.h"

#define AGENT_LABEL_MAX (CONFIG_NAME_MAX + TARGET_NAME_MAX + \
	INET6_ADDRSTRLEN + 16)
#define AGENT_ONCE_GRACE (5 * CW_USEC_PER_SEC)
#define AGENT_TLD_WAIT (30 * CW_USEC_PER_SEC)	/* once: for new TLDs */
#define AGENT_RESOLV_CONF "/etc/resolv.conf"

enum agent_mode {
	AGENT_RUN,
	AGENT_ONCE,
	AGENT_CHECK,	/* check-config: what run needs, nothing started */
};

struct agent;
struct agent_orphan;
struct task_group;

/*
 * run: whether a task's target fails, so that a change is logged once
 * (it starts failing, fails in another way, recovers), not each result.
 * An HTTP run reports a result per address: the run fails with the
 * first failure among them.
 */
struct task_health {
	enum cw_failure state;		/* how its last run ended */
	cw_usec_t since;		/* real time it began failing */
	unsigned long long failed_runs;	/* since then */
	enum cw_failure run;		/* the run in progress, so far */
	char run_detail[160];		/* its failure_detail */
};

/*
 * DNS: one (measurement, address, transport), or one TLD without
 * servers.  HTTP: one (measurement, address family), whose run measures
 * every address the host resolves to, or one pinned address.
 */
struct task {
	struct agent *agent;
	const struct measurement *m;	/* in the task's config */
	struct dns_spec spec;		/* m->dns, qname set for a TLD */
	const char *tld;		/* m->tlds[i], or NULL */
	bool has_target;		/* false: a TLD without servers, or
					 * an HTTP host resolved each cycle */
	struct target target;
	enum dns_proto proto;
	int af;				/* HTTP: 4 or 6 */
	char label[AGENT_LABEL_MAX];	/* for log messages */
	struct dns_probe *inflight;
	struct http_probe *http;	/* HTTP: the run in flight */
	struct task_group *group;	/* NULL for a TLD without servers
					 * and for HTTP */
	bool queued;			/* waiting for its group */
	struct task *next_queued;
	struct schedule_timer *timer;	/* run only */
	uint64_t skipped;		/* cycles skipped: still in flight */
	json_t *results;		/* once: kept for the table */
	bool settled;			/* once: its last result is in */
	struct task_health health;	/* run: logged as it changes */
};

/*
 * The tasks of one measurement that query one server address (UDP and
 * TCP, one per TLD the server serves): one query of them at a time, so
 * a measurement never has two queries in flight to the same address.
 * A task whose turn comes while another runs waits in the queue.
 */
struct task_group {
	struct task *running;
	struct task *head, *tail;	/* queued, in order */
	size_t size;			/* tasks in the group */
};

/* The tasks of one configuration. */
struct agent_tasks {
	struct task *v;
	size_t n;
	struct task_group *groups;
	size_t ngroups;
	size_t max_group;		/* the largest group's size */
};

struct agent {
	enum agent_mode mode;
	const char *conf_path;
	bool verbose;
	struct event_base *base;
	struct config *conf;
	struct output *out;		/* NULL: results are not written */
	struct spool *spool;		/* run: NULL when none configured */
	struct key key;			/* run with a spool: the probe's */
	struct heartbeat_upload upload;	/* kept up to date by the uploader */
	struct upload *uploader;	/* run: NULL without upload */
	struct heartbeat_clock clock;
	struct event *heartbeat_ev, *clock_ev;
	unsigned long long spool_errors;	/* results not spooled */
	struct agent_tasks tasks;
	struct http_engine *http;	/* NULL: no HTTP measurement yet */
	struct tld_discovery *tld;	/* NULL: no measurement has tlds */
	struct agent_orphan *orphans;	/* queries of tasks rebuilt away */
	struct event *sig_term, *sig_int, *sig_hup, *deadline;

	size_t pending;			/* once: runs not reported yet */
	size_t settled;			/* once: tasks that reported */
	bool tld_waiting;		/* once: waiting for TLD discovery */
	unsigned long long results, failures, skipped, write_errors;
	bool interrupted;
	bool stopping;			/* run: draining after SIGTERM/INT */
	bool flushing;			/* run: the uploader's last sending */
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
		detail = json_string_value(json_object_get(r,
		    "failure_detail"));
		snprintf(h->run_detail, sizeof(h->run_detail), "%s",
		    detail != NULL ? detail : "");
	}
	if (!last)
		return;
	if (h->run != h->state) {
		agent_health_change(t, h);
		if (h->state == CW_OK) {
			h->since = cw_real_usec();
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

	agent_record(a, result, t->tld);
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

/* agent_result_failure: a result for task t that never got a query on
 * the wire (no servers known, out of memory, no answer in time). */
static void agent_result_failure(struct task *t, enum cw_failure failure,
    const char *detail, ...) __attribute__((format(printf, 3, 4)));

static void
agent_result_failure(struct task *t, enum cw_failure failure,
    const char *detail, ...)
{
	char text[512];
	json_t *r;
	va_list ap;

	if ((r = result_new(t->m->kind == MEASUREMENT_HTTP ? "http" : "dns",
	    t->m->name, cw_real_usec())) == NULL) {
		log_warnx("%s: out of memory for a result", t->label);
		return;
	}
	va_start(ap, detail);
	vsnprintf(text, sizeof(text), detail, ap);
	va_end(ap);
	if (t->m->kind == MEASUREMENT_HTTP) {
		result_set_str(r, "url", t->m->http.url);
		json_object_set_new(r, "addr", t->has_target ?
		    json_string(t->target.addr) : json_null());
		result_set_int(r, "af", t->af);
	} else if (t->has_target) {
		result_set_str(r, "server", t->target.name[0] != '\0' ?
		    t->target.name : NULL);
		result_set_str(r, "addr", t->target.addr);
		result_set_int(r, "port", target_port(&t->target));
		result_set_int(r, "af", t->target.af);
		result_set_str(r, "proto", dns_proto_name(t->proto));
	}
	result_set_failure(r, failure, "%s", text);
	agent_result(t, r, true);
}

/* --- Tasks --- */

/*
 * agent_tld_targets: the server addresses of TLD `tld` for measurement
 * m, into *targets (NULL and 0 while none are known): the set the TLD
 * discovery (src/tld.h) holds.  Until a TLD's servers are known each
 * cycle reports dns_no_servers for it.
 */
static void
agent_tld_targets(struct agent *a, const struct measurement *m,
    const char *tld, const struct target **targets, size_t *n)
{
	const struct tld_set *set;

	(void)m;
	*targets = NULL;
	*n = 0;
	if (a->tld != NULL && (set = tld_discovery_get(a->tld, tld)) != NULL) {
		*targets = set->servers;
		*n = set->n;
	}
}

static void
agent_task_label(struct task *t)
{
	if (t->m->kind == MEASUREMENT_HTTP)
		snprintf(t->label, sizeof(t->label), "%s %s IPv%d",
		    t->m->name, t->has_target ? t->target.addr :
		    http_url_host_af(t->m->http.url) != 0 ? "(in the URL)" :
		    "(looked up)", t->af);
	else if (!t->has_target)
		snprintf(t->label, sizeof(t->label), "%s %s", t->m->name,
		    t->tld);
	else
		snprintf(t->label, sizeof(t->label), "%s %s%s%s %s",
		    t->m->name, t->target.name, t->target.name[0] ? "=" : "",
		    t->target.addr, dns_proto_name(t->proto));
}

/* agent_tasks_add: append a task; target NULL for a TLD without
 * servers or an HTTP host resolved each cycle, whose family is `af`
 * (a target's is its own). */
static int
agent_tasks_add(struct agent *a, struct agent_tasks *ts,
    const struct measurement *m, const char *tld,
    const struct target *target, enum dns_proto proto, int af)
{
	struct task *grown, *t;

	grown = reallocarray(ts->v, ts->n + 1, sizeof(*grown));
	if (grown == NULL) {
		log_warn("%s: reallocarray", __func__);
		return -1;
	}
	ts->v = grown;
	t = &ts->v[ts->n];
	memset(t, 0, sizeof(*t));
	t->agent = a;
	t->m = m;
	t->spec = m->dns;
	t->tld = tld;
	t->af = target != NULL ? target->af : af;
	if (tld != NULL && m->qname_from_tld &&
	    dns_spec_set_qname(&t->spec, tld) == -1) {
		log_warnx("%s: bad query name \"%s\"", m->name, tld);
		return -1;
	}
	if (target != NULL) {
		t->has_target = true;
		t->target = *target;
		t->proto = proto;
		/* Learned servers are measured on the measurement's port. */
		if (tld != NULL)
			target_set_port(&t->target, m->dns.port);
	}
	agent_task_label(t);
	ts->n++;
	return 0;
}

/* agent_tasks_http: the tasks of HTTP measurement m: one per pinned
 * address of a family it measures, or one per family (the host is
 * resolved each cycle; an address in the URL has one family). */
static int
agent_tasks_http(struct agent *a, struct agent_tasks *ts,
    const struct measurement *m)
{
	int literal = http_url_host_af(m->http.url);
	int afs = m->http.afs;

	for (size_t i = 0; i < m->ntargets; i++) {
		if (!(afs & (m->targets[i].af == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			continue;
		if (agent_tasks_add(a, ts, m, NULL, &m->targets[i],
		    DNS_PROTO_TCP, 0) == -1)
			return -1;
	}
	if (m->ntargets > 0)
		return 0;
	if (literal != 0)
		afs = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;
	for (int af = 4; af <= 6; af += 2) {
		if (!(afs & (af == 4 ? HTTP_AF_4 : HTTP_AF_6)))
			continue;
		if (agent_tasks_add(a, ts, m, NULL, NULL, DNS_PROTO_TCP,
		    af) == -1)
			return -1;
	}
	return 0;
}

/* agent_tasks_targets: tasks for every address x transport allowed. */
static int
agent_tasks_targets(struct agent *a, struct agent_tasks *ts,
    const struct measurement *m, const char *tld,
    const struct target *targets, size_t n)
{
	static const enum dns_proto protos[] = {DNS_PROTO_UDP, DNS_PROTO_TCP};

	for (size_t i = 0; i < n; i++) {
		int af = targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6;
		if (!(m->dns.afs & af))
			continue;
		for (size_t p = 0; p < 2; p++)
			if ((m->dns.transports & (int)protos[p]) &&
			    agent_tasks_add(a, ts, m, tld, &targets[i],
			    protos[p], 0) == -1)
				return -1;
	}
	return 0;
}

static void
agent_tasks_free(struct agent_tasks *ts)
{
	for (size_t i = 0; i < ts->n; i++) {
		struct task *t = &ts->v[i];
		if (t->inflight != NULL)
			dns_probe_cancel(t->inflight);
		if (t->http != NULL)
			http_probe_cancel(t->http);
		schedule_timer_free(t->timer);
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
	if ((c = strcmp(a->target.addr, b->target.addr)) != 0)
		return c;
	return (int)target_port(&a->target) - (int)target_port(&b->target);
}

/* agent_tasks_group: put the tasks that share a measurement and a
 * server address into one group.  Returns 0 or -1 (logged). */
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
		if (ts->v[i].has_target && ts->v[i].m->kind == MEASUREMENT_DNS)
			order[n++] = &ts->v[i];
	qsort(order, n, sizeof(*order), agent_task_group_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || agent_task_group_cmp(&order[i - 1],
		    &order[i]) != 0)
			ts->ngroups++;
		order[i]->group = &ts->groups[ts->ngroups - 1];
		if (++order[i]->group->size > ts->max_group)
			ts->max_group = order[i]->group->size;
	}
	free(order);
	return 0;
}

/* agent_tasks_build: the tasks of `conf`.  Returns 0 or -1 (logged). */
static int
agent_tasks_build(struct agent *a, const struct config *conf,
    struct agent_tasks *ts)
{
	const struct target *targets;
	size_t n;

	memset(ts, 0, sizeof(*ts));
	for (size_t i = 0; i < conf->nmeasurements; i++) {
		const struct measurement *m = &conf->measurements[i];
		if (m->kind == MEASUREMENT_HTTP) {
			if (agent_tasks_http(a, ts, m) == -1)
				goto fail;
			continue;
		}
		if (m->ntlds == 0) {
			if (agent_tasks_targets(a, ts, m, NULL, m->targets,
			    m->ntargets) == -1)
				goto fail;
			continue;
		}
		for (size_t j = 0; j < m->ntlds; j++) {
			agent_tld_targets(a, m, m->tlds[j], &targets, &n);
			if ((n == 0 ? agent_tasks_add(a, ts, m, m->tlds[j],
			    NULL, DNS_PROTO_UDP, 0) : agent_tasks_targets(a, ts,
			    m, m->tlds[j], targets, n)) == -1)
				goto fail;
		}
	}
	if (agent_tasks_group(ts) == -1)
		goto fail;
	return 0;
fail:
	agent_tasks_free(ts);
	return -1;
}

static void agent_group_next(struct task_group *);
static void agent_run_drained(struct agent *);

static void
agent_task_done(json_t *result, const ldns_pkt *reply, void *arg)
{
	struct task *t = arg;
	struct agent *a = t->agent;

	(void)reply;
	t->inflight = NULL;
	agent_result(t, result, true);
	if (t->group != NULL)
		agent_group_next(t->group);
	agent_run_drained(a);
	if (a->mode == AGENT_ONCE && --a->pending == 0)
		event_base_loopbreak(a->base);
}

/* agent_http_done: a result of task t's HTTP run. */
static void
agent_http_done(json_t *result, bool last, void *arg)
{
	struct task *t = arg;
	struct agent *a = t->agent;

	if (last)
		t->http = NULL;
	agent_result(t, result, last);
	if (!last)
		return;
	agent_run_drained(a);
	if (a->mode == AGENT_ONCE && --a->pending == 0)
		event_base_loopbreak(a->base);
}

/* A query whose task went away in a rebuild: its result still counts.
 * Kept on the agent's list so a stop can cancel it. */
struct agent_orphan {
	struct agent *agent;
	struct dns_probe *probe;	/* one of the two */
	struct http_probe *http;
	char *tld;			/* copy of the task's, or NULL */
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

/* agent_orphans_cancel: stop every orphaned query (at a stop). */
static void
agent_orphans_cancel(struct agent *a)
{
	while (a->orphans != NULL) {
		if (a->orphans->probe != NULL)
			dns_probe_cancel(a->orphans->probe);
		if (a->orphans->http != NULL)
			http_probe_cancel(a->orphans->http);
		agent_orphan_free(a->orphans);
	}
}

static void
agent_orphan_done(json_t *result, const ldns_pkt *reply, void *arg)
{
	struct agent_orphan *o = arg;
	struct agent *a = o->agent;

	(void)reply;
	agent_record(a, result, o->tld);
	json_decref(result);
	agent_orphan_free(o);
	agent_run_drained(a);
}

static void
agent_orphan_http_done(json_t *result, bool last, void *arg)
{
	struct agent_orphan *o = arg;
	struct agent *a = o->agent;

	agent_record(a, result, NULL);
	json_decref(result);
	if (!last)
		return;
	agent_orphan_free(o);
	agent_run_drained(a);
}

/* agent_task_same: whether old task o and new task n measure the same
 * thing the same way (a query of o may stand for n). */
static bool
agent_task_same(const struct task *o, const struct task *n)
{
	if (o->m->kind != n->m->kind)
		return false;
	if (n->m->kind == MEASUREMENT_HTTP)
		return o->af == n->af && o->has_target == n->has_target &&
		    strcmp(o->m->name, n->m->name) == 0 &&
		    (!o->has_target ||
		    strcmp(o->target.addr, n->target.addr) == 0);
	return n->has_target && o->proto == n->proto &&
	    strcmp(o->m->name, n->m->name) == 0 &&
	    (o->tld == NULL) == (n->tld == NULL) &&
	    (o->tld == NULL || strcmp(o->tld, n->tld) == 0) &&
	    strcmp(o->target.addr, n->target.addr) == 0 &&
	    target_port(&o->target) == target_port(&n->target);
}

/* agent_tasks_keep_health: a task that stays what it was keeps its
 * health, so a rebuild does not announce a failing target again. */
static void
agent_tasks_keep_health(const struct agent_tasks *old,
    struct agent_tasks *new)
{
	for (size_t i = 0; i < new->n; i++)
		for (size_t j = 0; j < old->n; j++)
			if (agent_task_same(&old->v[j], &new->v[i])) {
				new->v[i].health = old->v[j].health;
				break;
			}
}

/*
 * agent_tasks_handover: before the old tasks are freed (a reload, a TLD
 * whose servers changed), hand every query they have on the wire to the
 * same task of the new set, so that it is not measured twice at once;
 * or, when the task is gone, let it finish on its own.  Either way its
 * result is written: a rebuild loses no measurement.
 */
static void
agent_tasks_handover(struct agent *a, struct agent_tasks *old,
    struct agent_tasks *new)
{
	struct agent_orphan *o;

	agent_tasks_keep_health(old, new);
	for (size_t i = 0; i < old->n; i++) {
		struct task *ot = &old->v[i], *nt = NULL;
		if (ot->inflight == NULL && ot->http == NULL)
			continue;
		for (size_t j = 0; j < new->n && nt == NULL; j++)
			if (new->v[j].inflight == NULL &&
			    new->v[j].http == NULL &&
			    agent_task_same(ot, &new->v[j]))
				nt = &new->v[j];
		if (nt != NULL && ot->http != NULL) {
			http_probe_redirect(ot->http, agent_http_done, nt);
			nt->http = ot->http;
			ot->http = NULL;
			continue;
		}
		if (nt != NULL) {
			dns_probe_redirect(ot->inflight, agent_task_done, nt);
			nt->inflight = ot->inflight;
			nt->group->running = nt;
			ot->inflight = NULL;
			continue;
		}
		if ((o = calloc(1, sizeof(*o))) == NULL ||
		    (ot->tld != NULL && (o->tld = strdup(ot->tld)) == NULL)) {
			log_warn("%s: %s: its query is cancelled", __func__,
			    ot->label);
			free(o);
			continue;	/* agent_tasks_free cancels it */
		}
		o->agent = a;
		o->probe = ot->inflight;
		o->http = ot->http;
		if ((o->next = a->orphans) != NULL)
			o->next->prevp = &o->next;
		o->prevp = &a->orphans;
		a->orphans = o;
		if (o->http != NULL)
			http_probe_redirect(ot->http, agent_orphan_http_done, o);
		else
			dns_probe_redirect(ot->inflight, agent_orphan_done, o);
		ot->inflight = NULL;
		ot->http = NULL;
	}
}

/* agent_task_send: the query of task t goes out now.  Returns 0 when
 * it is on its way, -1 when it could not start (its result written). */
static int
agent_task_send(struct task *t)
{
	struct agent *a = t->agent;

	if (t->m->kind == MEASUREMENT_HTTP) {
		t->http = a->http == NULL ? NULL : http_probe_start(a->http,
		    &t->m->http, t->has_target ? &t->target : NULL, t->af,
		    agent_http_done, t);
		if (t->http == NULL) {
			agent_result_failure(t, CW_FAIL_INTERNAL,
			    "could not start the measurement");
			return -1;
		}
		return 0;
	}
	t->inflight = dns_probe_start(a->base, &t->spec, &t->target, t->proto,
	    agent_task_done, t);
	if (t->inflight == NULL) {
		agent_result_failure(t, CW_FAIL_INTERNAL,
		    "could not start the query");
		return -1;
	}
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

/* agent_task_start: one query of task t, now or, while another query of
 * its group is in flight, as soon as that one is done. */
static void
agent_task_start(struct task *t)
{
	struct agent *a = t->agent;
	struct task_group *g = t->group;

	if (t->m->kind == MEASUREMENT_HTTP) {
		if (agent_task_send(t) == 0 && a->mode == AGENT_ONCE)
			a->pending++;
		return;
	}
	if (!t->has_target) {
		agent_result_failure(t, CW_FAIL_DNS_NO_SERVERS,
		    "no server set known yet for TLD \"%s\"", t->tld);
		return;
	}
	if (g->running != NULL) {
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

	if (t->inflight != NULL || t->http != NULL || t->queued) {
		t->skipped++;
		t->agent->skipped++;
		log_debug("%s: previous query still running, cycle skipped "
		    "(%llu so far)", t->label, (unsigned long long)t->skipped);
		return;
	}
	agent_task_start(t);
}

/* agent_tasks_schedule: a timer for every task, cycles from t0. */
static int
agent_tasks_schedule(struct agent *a, struct agent_tasks *ts)
{
	cw_usec_t t0 = schedule_clock();

	for (size_t i = 0; i < ts->n; i++) {
		struct task *t = &ts->v[i];
		t->timer = schedule_timer_new(a->base, t0, t->m->interval,
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

/* agent_tld_changed: a TLD's servers were learned or changed.  run
 * rebuilds its tasks as a reload does (queries in flight are handed
 * over, cycles start afresh); once measures the sets it started with. */
static void
agent_tld_changed(const char *tld, const struct tld_set *set, void *arg)
{
	struct agent *a = arg;
	struct agent_tasks ts;

	log_info("tld %s: %zu server address%s learned", tld, set->n,
	    set->n == 1 ? "" : "es");
	if (a->mode != AGENT_RUN)
		return;
	if (agent_tasks_build(a, a->conf, &ts) == -1) {
		log_warnx("tld %s: cannot rebuild the tasks, keeping the "
		    "previous ones", tld);
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
	if ((was == NULL) != (now == NULL) || (was != NULL &&
	    strcmp(was, now) != 0))
		log_warnx("reload: a change of %s takes effect at the next "
		    "start", what);
}

/* agent_http_start: the HTTP engine, once a configuration has an HTTP
 * measurement.  It stays as started: a reload that changes resolv_conf
 * or hosts_file is told so.  Returns 0, or -1 (logged). */
static int
agent_http_start(struct agent *a, const struct config *conf)
{
	bool any = false;

	for (size_t i = 0; i < conf->nmeasurements; i++)
		any |= conf->measurements[i].kind == MEASUREMENT_HTTP;
	if (a->http != NULL) {
		agent_file_unchanged("resolv_conf", a->conf->resolv_conf,
		    conf->resolv_conf);
		agent_file_unchanged("hosts_file", a->conf->hosts_file,
		    conf->hosts_file);
		return 0;
	}
	if (!any)
		return 0;
	if ((a->http = http_engine_new(a->base, conf->resolv_conf,
	    conf->hosts_file)) == NULL)
		return -1;
	return 0;
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

	heartbeat_clock_check(&a->clock);
	agent_upload_status(a);
	spool_get_status(a->spool, &st);
	if ((hb = heartbeat_build(cw_real_usec(), a->conf->heartbeat, &st,
	    &a->upload, &a->clock, &a->conf->probe)) == NULL) {
		log_warnx("heartbeat: out of memory");
		return;
	}
	agent_emit(a, hb);
	json_decref(hb);
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
	if (a->heartbeat_ev == NULL && (a->heartbeat_ev = event_new(a->base,
	    -1, EV_PERSIST, agent_heartbeat_cb, a)) == NULL) {
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
	if ((a->uploader = upload_new(a->base, a->spool, &uc)) == NULL)
		return -1;
	return 0;
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
static int
agent_spool_start(struct agent *a)
{
	const struct config_spool *c = &a->conf->spool;
	struct spool_config sc;
	struct timeval tv;

	if (!c->enabled)
		return 0;
	if (key_load(a->conf->key_path, &a->key) == -1) {
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
	    a)) == NULL || event_add(a->clock_ev, &tv) == -1 ||
	    agent_heartbeat_schedule(a) == -1)
		return -1;
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

/* --- What run needs beyond a well-formed file --- */

/* agent_check_dir: `dir` (option `what` needs it) is a directory this
 * user may create files in.  Returns 0, or -1 (logged). */
static int
agent_check_dir(const char *what, const char *path, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		log_errx("%s %s: directory %s: %s", what, path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_errx("%s %s: %s is not a directory", what, path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		log_errx("%s %s: directory %s: %s", what, path, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* agent_check_output: the output file can be opened for appending as
 * output_open() will: it exists and may be written, or its directory
 * (never created for it) lets it be made.  Returns 0, or -1 (logged). */
static int
agent_check_output(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			log_errx("output %s: is a directory", path);
			return -1;
		}
		if (access(path, W_OK) == -1) {
			log_errx("output %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT || (size_t)snprintf(dir, sizeof(dir), "%s",
	    path) >= sizeof(dir)) {
		log_errx("output %s: %s", path, strerror(errno != ENOENT ?
		    errno : ENAMETOOLONG));
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return agent_check_dir("output", path, dir);
}

/* agent_check_creatable: directory `path` exists, or the nearest of its
 * parents that does lets sysutil_mkdirs() make it.  Returns 0, or -1
 * (logged; `what` names the option). */
static int
agent_check_creatable(const char *what, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		log_errx("%s %s: %s", what, path, strerror(ENAMETOOLONG));
		return -1;
	}
	while (stat(dir, &st) == -1 && (errno == ENOENT ||
	    errno == ENOTDIR) && (slash = strrchr(dir, '/')) != NULL &&
	    slash != dir)
		*slash = '\0';
	return agent_check_dir(what, path, dir);
}

/* agent_check_key: the probe's key, which a spool needs, can be loaded
 * (key_load() says what is wrong with it).  Returns 0 or -1 (logged). */
static int
agent_check_key(const struct config *conf)
{
	struct key k;

	if (key_load(conf->key_path, &k) == -1) {
		log_errx("spool: the probe's key %s cannot be used "
		    "(corewatch keygen makes one; key = \"FILE\" says where "
		    "it is)", conf->key_path);
		return -1;
	}
	key_clear(&k);
	return 0;
}

/*
 * agent_check: what `run` would refuse in loaded configuration `conf`
 * before measuring: an output it cannot open, a spool without a usable
 * key or whose directory cannot be made.  Looks only; creates, locks and
 * sends nothing, so that check-config goes the same way.  Every problem
 * is logged at error level; returns 0 or -1.
 */
static int
agent_check(const struct config *conf)
{
	int rc = 0;

	if (agent_check_output(conf->output_path) == -1)
		rc = -1;
	if (conf->spool.enabled && (agent_check_key(conf) == -1 ||
	    agent_check_creatable("spool", conf->spool.dir) == -1))
		rc = -1;
	return rc;
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

static int
agent_init(struct agent *a, enum agent_mode mode, const char *conf_path,
    bool verbose)
{
	char *errors = NULL;

	memset(a, 0, sizeof(*a));
	a->mode = mode;
	a->conf_path = conf_path;
	a->verbose = verbose;
	if (verbose)
		log_init(NULL, LOG_LEVEL_DEBUG);
	if (sodium_init() < 0) {
		log_errx("%s: sodium_init failed", __func__);
		return -1;
	}
	if ((a->conf = config_load(conf_path, &errors)) == NULL) {
		/* Plain lines: editors jump to FILE:LINE. */
		fprintf(stderr, "%s\n", errors != NULL ? errors :
		    "configuration rejected");
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
	if (agent_http_start(a, a->conf) == -1)
		return -1;
	if (mode == AGENT_CHECK)
		return 0;
	agent_state_dir(a->conf);
	return agent_tld_new(a, a->conf, &a->tld);
}

static void
agent_free(struct agent *a)
{
	agent_tasks_free(&a->tasks);
	agent_orphans_cancel(a);
	http_engine_free(a->http);
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
	spool_close(a->spool);
	key_clear(&a->key);
	output_close(a->out);
	config_free(a->conf);
	if (a->base != NULL)
		event_base_free(a->base);
	memset(a, 0, sizeof(*a));
}

/* agent_signals: TERM and INT stop; HUP reloads (run only). */
static int
agent_signals(struct agent *a, event_callback_fn stop, event_callback_fn hup)
{
	a->sig_term = evsignal_new(a->base, SIGTERM, stop, a);
	a->sig_int = evsignal_new(a->base, SIGINT, stop, a);
	if (a->sig_term == NULL || a->sig_int == NULL ||
	    evsignal_add(a->sig_term, NULL) == -1 ||
	    evsignal_add(a->sig_int, NULL) == -1)
		goto fail;
	if (hup != NULL && ((a->sig_hup = evsignal_new(a->base, SIGHUP, hup,
	    a)) == NULL || evsignal_add(a->sig_hup, NULL) == -1))
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
		n += a->tasks.v[i].inflight != NULL ||
		    a->tasks.v[i].http != NULL;
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
static void
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
		schedule_timer_free(t->timer);
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
agent_reload_output(struct agent *a, const struct config *conf,
    bool *reused)
{
	*reused = strcmp(conf->output_path, a->conf->output_path) == 0;
	if (*reused)
		return a->out;
	return output_open(conf->output_path);
}

static void
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
		    "configuration", a->conf_path);
		free(errors);
		return;
	}
	/* The new tasks take their TLD servers from the new discovery. */
	if ((out = agent_reload_output(a, conf, &reused)) == NULL ||
	    agent_http_start(a, conf) == -1 ||
	    agent_tld_new(a, conf, &a->tld) == -1 ||
	    agent_tasks_build(a, conf, &ts) == -1) {
		log_warnx("reload: cannot apply %s, still running the previous "
		    "configuration", a->conf_path);
		if (a->tld != old_tld) {
			tld_discovery_free(a->tld);
			a->tld = old_tld;
		}
		if (out != NULL && !reused)
			output_close(out);
		config_free(conf);
		return;
	}
	if (old_tld != a->tld)
		tld_discovery_free(old_tld);
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
	agent_log_level(a);
	if (agent_heartbeat_schedule(a) == -1)
		log_warnx("reload: the heartbeat could not be rescheduled");
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

/* agent_default_config: -c when not given (--with-default-config). */
static const char *
agent_default_config(void)
{
	return CW_DEFAULT_CONFIG;
}

static void
agent_run_usage(FILE *fp)
{
	fprintf(fp,
"usage: corewatch run [-v] [-c FILE]\n"
"\n"
"Measure on schedule, in the foreground, until SIGTERM or SIGINT.\n"
"Results go to the configured output; messages go to stderr.\n"
"SIGHUP re-reads the configuration (a broken one is refused and the\n"
"running one kept).\n"
"\n"
"  -c, --config FILE   configuration (default %s)\n"
"  -v, --verbose       debug messages\n"
"  -h, --help          this text\n", agent_default_config());
}

static const struct option agent_run_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int
cmd_run(int argc, char **argv)
{
	const char *path = agent_default_config();
	struct agent a;
	bool verbose = false;
	int ch, status = CW_EXIT_OK;

	while ((ch = getopt_long(argc, argv, "c:vh", agent_run_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			agent_run_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_run_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected("run", argv[optind]);
	if (agent_init(&a, AGENT_RUN, path, verbose) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if ((a.out = output_open(a.conf->output_path)) == NULL ||
	    agent_spool_start(&a) == -1 ||
	    agent_signals(&a, agent_run_stop, agent_run_reload) == -1 ||
	    agent_tasks_build(&a, a.conf, &a.tasks) == -1 ||
	    agent_tasks_schedule(&a, &a.tasks) == -1) {
		log_errx("run: not started");
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	log_info("run: probe %s, %zu measurement%s, %zu task%s, results to "
	    "%s", a.conf->probe.name, a.conf->nmeasurements,
	    a.conf->nmeasurements == 1 ? "" : "s", a.tasks.n,
	    a.tasks.n == 1 ? "" : "s", output_name(a.out));
	if (a.spool != NULL)
		log_info("run: probe id %s, spool %s", a.key.id,
		    a.conf->spool.dir);
	if (event_base_dispatch(a.base) == -1) {
		log_warnx("run: event loop failed");
		status = CW_EXIT_USAGE;
	}
	agent_tasks_free(&a.tasks);
	if (output_flush(a.out) == -1)
		a.write_errors++;
	log_info("run: stopped after %llu results (%llu failed, %llu cycles "
	    "skipped, %llu not written, %llu not spooled)", a.results,
	    a.failures, a.skipped, a.write_errors, a.spool_errors);
	agent_free(&a);
	return status;
}

/* --- once --- */

static void
agent_once_stop(evutil_socket_t sig, short what, void *arg)
{
	struct agent *a = arg;

	(void)what;
	log_warnx("once: %s, stopping", strsignal((int)sig));
	a->interrupted = true;
	event_base_loopbreak(a->base);
}

/* agent_once_deadline: a query that never reported (a bug, not a
 * network failure: the probe has its own timeouts). */
static void
agent_once_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	for (size_t i = 0; i < a->tasks.n; i++) {
		struct task *t = &a->tasks.v[i];
		if (t->inflight == NULL && !t->queued)
			continue;
		dns_probe_cancel(t->inflight);
		t->inflight = NULL;
		t->queued = false;
		agent_result_failure(t, CW_FAIL_INTERNAL,
		    "no result within the deadline");
	}
	event_base_loopbreak(a->base);
}

/* agent_once_busy: the longest any query may take, times the queries
 * of the largest group (they go one after the other), plus a grace. */
static cw_usec_t
agent_once_busy(const struct config *conf, size_t max_group)
{
	cw_usec_t busy = 0;

	cw_usec_t http = 0;

	for (size_t i = 0; i < conf->nmeasurements; i++) {
		const struct measurement *m = &conf->measurements[i];
		const struct dns_spec *s = &m->dns;
		/* A truncated UDP answer is followed by a TCP query. */
		cw_usec_t b = 2 * s->timeout * (s->retries + 1) +
		    s->late_window;
		if (m->kind == MEASUREMENT_HTTP) {
			/* Runs are not queued: each has its timeout. */
			if (m->http.timeout > http)
				http = m->http.timeout;
			continue;
		}
		if (b > busy)
			busy = b;
	}
	busy *= (cw_usec_t)(max_group > 0 ? max_group : 1);
	return (busy > http ? busy : http) + AGENT_ONCE_GRACE;
}

/* agent_once_late_differs: whether DNS result r is ok but a later reply
 * to its query differed from the one taken (a sign of injection). */
static bool
agent_once_late_differs(const json_t *r)
{
	return result_failure(r) == CW_OK && json_is_true(json_object_get(
	    json_object_get(r, "late_replies"), "differ"));
}

/* agent_once_dns_via: the transport DNS result r came over (the task's
 * when r is NULL or says none); " after TC" when a truncated UDP answer
 * sent it to TCP. */
static void
agent_once_dns_via(const struct task *t, const json_t *r, char *buf,
    size_t len)
{
	const char *proto = json_string_value(json_object_get(r, "proto"));
	const char *asked = json_string_value(json_object_get(r,
	    "proto_requested"));

	if (proto == NULL)
		proto = dns_proto_name(t->proto);
	snprintf(buf, len, "%s/v%d%s", proto, t->target.af, asked != NULL &&
	    strcmp(asked, proto) != 0 ? " after TC" : "");
}

/* agent_once_dns_answer: the rcode of DNS result r and, for a TXT
 * answer (CHAOS hostname.bind, id.server ...), its text. */
static void
agent_once_dns_answer(const json_t *r, char *buf, size_t len)
{
	const char *rcode = json_string_value(json_object_get(r, "rcode"));
	size_t i, n;
	json_t *s;

	n = (size_t)snprintf(buf, len, "%s", rcode != NULL ? rcode : "");
	json_array_foreach(json_object_get(r, "txt"), i, s)
		if (n < len)
			n += (size_t)snprintf(buf + n, len - n, " \"%s\"",
			    json_string_value(s) != NULL ?
			    json_string_value(s) : "");
}

/* agent_once_row: one table row from result r of task t (NULL: it
 * never reported).  HTTP rows show the total time and the status. */
static void
agent_once_row(struct table *tab, const struct task *t, const json_t *r)
{
	bool http = t->m->kind == MEASUREMENT_HTTP;
	const char *failure = json_string_value(json_object_get(r,
	    "failure"));
	const json_t *rtt = json_object_get(r, http ? "total_ms" : "rtt_ms");
	const json_t *status = json_object_get(r, "status");
	const char *addr = json_string_value(json_object_get(r, "addr"));
	char via[32], ms[32], answer[256];
	const char *cells[8];

	answer[0] = '\0';
	if (http)
		snprintf(via, sizeof(via), "%s/v%d", strncmp(t->m->http.url,
		    "https:", 6) == 0 ? "https" : "http", t->af);
	else {
		agent_once_dns_via(t, r, via, sizeof(via));
		agent_once_dns_answer(r, answer, sizeof(answer));
	}
	if (json_is_number(rtt))
		snprintf(ms, sizeof(ms), "%.1f", json_number_value(rtt));
	else
		snprintf(ms, sizeof(ms), "-");
	if (json_is_integer(status))
		snprintf(answer, sizeof(answer), "HTTP %lld",
		    (long long)json_integer_value(status));
	cells[0] = t->m->name;
	if (http) {
		cells[1] = json_string_value(json_object_get(r, "host"));
		cells[2] = addr != NULL ? addr : "-";
		cells[3] = via;
	} else {
		cells[1] = t->has_target ? (t->target.name[0] ?
		    t->target.name : "-") : t->tld;
		cells[2] = t->has_target ? t->target.addr : "-";
		cells[3] = t->has_target ? via : "-";
	}
	cells[4] = r == NULL ? "(no result)" : failure != NULL ? failure :
	    agent_once_late_differs(r) ? "ok, late reply differs" : "ok";
	cells[5] = ms;
	cells[6] = answer[0] != '\0' ? answer : NULL;
	cells[7] = json_string_value(json_object_get(r, "nsid"));
	table_add_row(tab, cells);
}

/* agent_once_table: the readable summary on stdout. */
static void
agent_once_table(struct agent *a)
{
	static const char *headers[] = {"MEASUREMENT", "SERVER", "ADDRESS",
	    "VIA", "RESULT", "MS", "ANSWER", "NSID"};
	struct table *tab;
	size_t differ = 0;

	if ((tab = table_new(8, headers)) == NULL)
		return;
	table_set_align(tab, 5, TABLE_RIGHT);
	for (size_t i = 0; i < a->tasks.n; i++) {
		const struct task *t = &a->tasks.v[i];
		size_t j;
		json_t *r;
		if (json_array_size(t->results) == 0)
			agent_once_row(tab, t, NULL);
		json_array_foreach(t->results, j, r) {
			agent_once_row(tab, t, r);
			differ += agent_once_late_differs(r);
		}
	}
	table_print(tab, stdout);
	table_free(tab);
	printf("\n%llu of %llu ok", a->results - a->failures, a->results);
	if (differ > 0)
		printf(" (%zu with a late reply that differs: a sign of "
		    "injection)", differ);
	if (a->out != NULL)
		printf("; full results (JSON lines) appended to %s\n",
		    output_name(a->out));
	else
		printf("; full results not kept: use --json, or -o FILE (or "
		    "output { path = FILE })\n");
	fflush(stdout);
}

static void
agent_once_usage(FILE *fp)
{
	fprintf(fp,
"usage: corewatch once [-v] [-c FILE] [-o PATH] [--table | --json]\n"
"\n"
"Run every configured measurement once, all at the same time, and exit.\n"
"\n"
"  -c, --config FILE   configuration (default %s)\n"
"  -o, --output PATH   write the results here (\"-\": stdout) instead of\n"
"                      the configured output\n"
"      --table         print a readable table on stdout (the default\n"
"                      when stdout is a terminal)\n"
"      --json          no table, only JSON lines to the output\n"
"  -v, --verbose       debug messages\n"
"  -h, --help          this text\n"
"\n"
"With a table, results still go to the output when it is a file; when\n"
"it is stdout they are left out, so the table stays readable.\n"
"\n"
"Exit status: 0 every measurement ok, 1 some failed, 2 usage or\n"
"configuration error.\n", agent_default_config());
}

enum {
	AGENT_OPT_TABLE = 256,
	AGENT_OPT_JSON,
};

static const struct option agent_once_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"output", required_argument, NULL, 'o'},
	{"table", no_argument, NULL, AGENT_OPT_TABLE},
	{"json", no_argument, NULL, AGENT_OPT_JSON},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void
agent_once_tld_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct agent *a = arg;

	(void)fd;
	(void)what;
	event_base_loopbreak(a->base);
}

/* agent_once_tld_wait: TLDs without a cached set get up to
 * AGENT_TLD_WAIT to be discovered before the tasks are built. */
static int
agent_once_tld_wait(struct agent *a)
{
	struct event *timer;
	struct timeval tv;
	int rc;

	if (a->tld == NULL || tld_discovery_settled(a->tld))
		return 0;
	if ((timer = evtimer_new(a->base, agent_once_tld_timeout, a)) == NULL)
		return -1;
	cw_usec_to_timeval(AGENT_TLD_WAIT, &tv);
	a->tld_waiting = true;
	rc = evtimer_add(timer, &tv) == -1 ? -1 :
	    event_base_dispatch(a->base);
	a->tld_waiting = false;
	event_free(timer);
	if (rc != -1 && !a->interrupted && !tld_discovery_settled(a->tld))
		log_warnx("once: TLD discovery did not finish within %lld s",
		    (long long)(AGENT_TLD_WAIT / CW_USEC_PER_SEC));
	return rc == -1 ? -1 : 0;
}

/* agent_once_run: start everything and wait for every result. */
static int
agent_once_run(struct agent *a)
{
	struct timeval tv;

	if (agent_signals(a, agent_once_stop, NULL) == -1 ||
	    agent_once_tld_wait(a) == -1)
		return -1;
	if (a->interrupted)
		return 0;
	if (agent_tasks_build(a, a->conf, &a->tasks) == -1)
		return -1;
	for (size_t i = 0; i < a->tasks.n; i++)
		agent_task_start(&a->tasks.v[i]);
	if (a->pending == 0)
		return 0;
	if ((a->deadline = evtimer_new(a->base, agent_once_deadline,
	    a)) == NULL)
		return -1;
	cw_usec_to_timeval(agent_once_busy(a->conf, a->tasks.max_group), &tv);
	if (evtimer_add(a->deadline, &tv) == -1 ||
	    event_base_dispatch(a->base) == -1) {
		log_warnx("once: event loop failed");
		return -1;
	}
	return 0;
}

int
cmd_once(int argc, char **argv)
{
	const char *path = agent_default_config(), *output = NULL;
	struct agent a;
	bool verbose = false;
	int ch, table = -1, status;

	while ((ch = getopt_long(argc, argv, "c:o:vh", agent_once_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case AGENT_OPT_TABLE:
			table = 1;
			break;
		case AGENT_OPT_JSON:
			table = 0;
			break;
		case 'v':
			verbose = true;
			break;
		case 'h':
			agent_once_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_once_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected("once", argv[optind]);
	if (table == -1)
		table = isatty(STDOUT_FILENO);
	if (agent_init(&a, AGENT_ONCE, path, verbose) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (output == NULL)
		output = a.conf->output_path;
	/* A table and JSON lines on one stdout would be unreadable. */
	if (((!table || strcmp(output, "-") != 0) &&
	    (a.out = output_open(output)) == NULL) ||
	    agent_once_run(&a) == -1) {
		log_errx("once: not completed");
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (a.out != NULL && output_flush(a.out) == -1)
		a.write_errors++;
	if (table)
		agent_once_table(&a);
	status = a.failures == 0 && a.write_errors == 0 && !a.interrupted &&
	    a.settled == a.tasks.n ? CW_EXIT_OK : CW_EXIT_FAILURES;
	if (a.write_errors > 0)
		log_warnx("once: %llu results could not be written to %s",
		    a.write_errors, output_name(a.out));
	agent_free(&a);
	return status;
}

/* --- check-config --- */

static void
agent_check_usage(FILE *fp)
{
	fprintf(fp,
"usage: corewatch check-config [-q] [-c FILE | FILE]\n"
"\n"
"Check a configuration as run does before it measures, without measuring\n"
"or sending anything: the file itself (every problem as FILE:LINE:\n"
"message), then what run would refuse (an output it cannot open, a spool\n"
"without a usable key or directory, unreadable resolver files).  Prints\n"
"FILE: OK and one line per measurement when all is well.\n"
"\n"
"  -c, --config FILE   configuration (default %s)\n"
"  -q, --quiet         print nothing when it is valid\n"
"  -h, --help          this text\n"
"\n"
"Exit status: 0 valid, 2 invalid or unreadable.\n", agent_default_config());
}

static const struct option agent_check_options[] = {
	{"config", required_argument, NULL, 'c'},
	{"quiet", no_argument, NULL, 'q'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

int
cmd_check_config(int argc, char **argv)
{
	const char *path = agent_default_config();
	struct agent a;
	char line[512];
	bool quiet = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:qh", agent_check_options,
	    NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			agent_check_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_check_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind + 1 == argc)
		path = argv[optind];
	else if (optind != argc)
		return cli_unexpected("check-config", argv[optind + 1]);
	/* The way run goes, up to where it would start measuring. */
	if (agent_init(&a, AGENT_CHECK, path, false) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (!quiet) {
		printf("%s: OK\n", path);
		for (size_t i = 0; i < a.conf->nmeasurements; i++) {
			config_measurement_summary(&a.conf->measurements[i],
			    line, sizeof(line));
			printf("  %s\n", line);
		}
	}
	agent_free(&a);
	return CW_EXIT_OK;
}
