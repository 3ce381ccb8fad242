/* test_agent.c -- the agent's scheduler and result path (agent.h) with
 * a fake measurement kind behind probes/probe.h and a fake clock: the
 * kind reports after a delay it chooses, or cannot start; the clock is
 * virtual time, and the cycle timers are planned with schedule_plan()
 * and fired by the test in time order, so every assertion is exact. */
#include "config.h"

#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "agent.h"
#include "output.h"
#include "result.h"

#define SEC   CW_USEC_PER_SEC
#define T0    (1000 * SEC)                /* the fake schedule clock at start */
#define REAL0 (INT64_C(1700000000) * SEC) /* UTC at T0 */

/* --- The fake clock and its timers --- */

static cw_usec_t fake_now = T0;

struct fake_timer {
	struct schedule sched;
	schedule_fire_fn fn;
	void *arg;
	cw_usec_t next;
	struct fake_timer *link;
};

static struct fake_timer *fake_timers;

static cw_usec_t
fake_schedule(void)
{
	return fake_now;
}

static cw_usec_t
fake_real(void)
{
	return REAL0 + (fake_now - T0);
}

/* Every cycle fires half way into its spread. */
static cw_usec_t
fake_plan(struct fake_timer *ft)
{
	return schedule_plan(&ft->sched, fake_now, ft->sched.spread / 2, NULL);
}

static struct schedule_timer *
fake_timer_new(struct event_base *base, cw_usec_t t0, cw_usec_t interval,
    cw_usec_t spread, const char *name, schedule_fire_fn fn, void *arg)
{
	struct fake_timer *ft = calloc(1, sizeof(*ft));

	(void)base;
	(void)name;
	assert_non_null(ft);
	schedule_init(&ft->sched, t0, interval, spread);
	ft->fn = fn;
	ft->arg = arg;
	ft->next = fake_plan(ft);
	ft->link = fake_timers;
	fake_timers = ft;
	return (struct schedule_timer *)(void *)ft;
}

static void
fake_timer_free(struct schedule_timer *t)
{
	struct fake_timer **pp;

	for (pp = &fake_timers; *pp != NULL; pp = &(*pp)->link)
		if (*pp == (struct fake_timer *)(void *)t) {
			*pp = (*pp)->link;
			free(t);
			return;
		}
	fail_msg("freeing a timer that is not there");
}

static const struct agent_clock fake_clock = {
	.real = fake_real,
	.schedule = fake_schedule,
	.timer_new = fake_timer_new,
	.timer_free = fake_timer_free,
};

/* --- The fake kind --- */

struct fake_spec {
	cw_usec_t delay;   /* a run reports this long after its start */
	bool cannot_start; /* start returns NULL */
	bool fails;        /* the result is a timeout */
};

struct fake_run {
	cw_usec_t done_at;
	probe_done_fn done;
	void *arg;
	const struct measurement *m;
	struct probe_task t;
	struct fake_run *link;
};

static struct fake_run *fake_runs; /* in flight */

#define STARTS_MAX 64
static struct {
	cw_usec_t at;
	char addr[64];
} starts[STARTS_MAX];
static size_t nstarts, ncancels;

static void
fake_spec_free(void *spec)
{
	free(spec);
}

static size_t
fake_queries(const struct measurement *m)
{
	return m->ntargets;
}

static void
fake_summary(const struct measurement *m, char *buf, size_t len)
{
	snprintf(buf, len, "fake %s", m->name);
}

static int
fake_tasks(const struct measurement *m, probe_task_add_fn add,
    probe_tld_servers_fn servers, void *arg)
{
	struct probe_task t;

	(void)servers;
	for (size_t i = 0; i < m->ntargets; i++) {
		memset(&t, 0, sizeof(t));
		t.has_target = true;
		t.target = m->targets[i];
		t.af = m->targets[i].af;
		if (add(arg, &t) == -1)
			return -1;
	}
	return 0;
}

static cw_usec_t
fake_run_max(const struct measurement *m)
{
	return ((const struct fake_spec *)m->spec)->delay;
}

static void
fake_label(const struct measurement *m, const struct probe_task *t, char *buf,
    size_t len)
{
	snprintf(buf, len, "%s %s", m->name, t->target.addr);
}

static bool
fake_same(const struct probe_task *o, const struct probe_task *n)
{
	return strcmp(o->target.addr, n->target.addr) == 0;
}

static void
fake_failure_fields(json_t *r, const struct measurement *m,
    const struct probe_task *t)
{
	(void)m;
	result_set_str(r, "addr", t->target.addr);
}

static struct probe_run *
fake_start(void *ctx, const struct measurement *m, const struct probe_task *t,
    probe_done_fn done, void *arg)
{
	const struct fake_spec *spec = m->spec;
	struct fake_run *run;

	assert_non_null(ctx); /* no context_new: the event base */
	if (spec->cannot_start)
		return NULL;
	assert_true(nstarts < STARTS_MAX);
	starts[nstarts].at = fake_now;
	snprintf(starts[nstarts].addr, sizeof(starts[nstarts].addr), "%s",
	    t->target.addr);
	nstarts++;
	run = calloc(1, sizeof(*run));
	assert_non_null(run);
	run->done_at = fake_now + spec->delay;
	run->done = done;
	run->arg = arg;
	run->m = m;
	run->t = *t;
	run->link = fake_runs;
	fake_runs = run;
	return (struct probe_run *)(void *)run;
}

static void
fake_unlink(struct fake_run *run)
{
	struct fake_run **pp;

	for (pp = &fake_runs; *pp != run; pp = &(*pp)->link)
		assert_non_null(*pp);
	*pp = run->link;
}

static void
fake_cancel(struct probe_run *r)
{
	struct fake_run *run = (struct fake_run *)(void *)r;

	fake_unlink(run);
	free(run);
	ncancels++;
}

static void
fake_redirect(struct probe_run *r, probe_done_fn done, void *arg)
{
	struct fake_run *run = (struct fake_run *)(void *)r;

	run->done = done;
	run->arg = arg;
}

static void
fake_once_cells(const struct measurement *m, const struct probe_task *t,
    const json_t *r, struct probe_cells *c)
{
	(void)m;
	(void)r;
	c->address = t->target.addr;
	c->ms_field = "rtt_ms";
}

static const struct probe_kind fake_kind = {
	.name = "fake",
	.run_name = "fake run",
	.spec_free = fake_spec_free,
	.queries = fake_queries,
	.summary = fake_summary,
	.tasks = fake_tasks,
	.serial = false,
	.run_max = fake_run_max,
	.label = fake_label,
	.same = fake_same,
	.failure_fields = fake_failure_fields,
	.start = fake_start,
	.cancel = fake_cancel,
	.redirect = fake_redirect,
	.once_cells = fake_once_cells,
};

/* fake_finish: run reports now. */
static void
fake_finish(struct fake_run *run)
{
	const struct fake_spec *spec = run->m->spec;
	json_t *r = result_new("fake", run->m->name, fake_real());

	assert_non_null(r);
	result_set_str(r, "addr", run->t.target.addr);
	if (spec->fails)
		result_set_failure(r, CW_FAIL_TIMEOUT, "no answer");
	else
		result_set_ok(r);
	fake_unlink(run);
	run->done(r, true, run->arg);
	free(run);
}

/* advance: fire the timers and finish the runs due up to `until`, in
 * time order (timers first at equal times), moving the clock along. */
static void
advance(cw_usec_t until)
{
	for (;;) {
		struct fake_timer *ft = NULL;
		struct fake_run *run = NULL;

		for (struct fake_timer *x = fake_timers; x != NULL; x = x->link)
			if (ft == NULL || x->next < ft->next)
				ft = x;
		for (struct fake_run *x = fake_runs; x != NULL; x = x->link)
			if (run == NULL || x->done_at < run->done_at)
				run = x;
		if (ft != NULL && ft->next <= until &&
		    (run == NULL || ft->next <= run->done_at)) {
			fake_now = ft->next;
			/* As schedule.c does: plan, then fire. */
			ft->next = fake_plan(ft);
			ft->fn(ft->arg);
		} else if (run != NULL && run->done_at <= until) {
			fake_now = run->done_at;
			fake_finish(run);
		} else
			break;
	}
	fake_now = until;
}

/* --- The agent under test --- */

static char out_path[64];

/* agent_fake: an agent in run mode on one measurement of the fake kind
 * ("fake-1", every `interval`, spread 10 s) to the given addresses,
 * results to a temporary file, tasks scheduled at T0. */
static void
agent_fake(struct agent *a, cw_usec_t interval, const struct fake_spec *spec,
    const char *const *addrs, size_t n)
{
	struct measurement *m;
	struct config *c;
	struct fake_spec *s;
	char err[128];
	int fd;

	fake_now = T0;
	fake_timers = NULL;
	fake_runs = NULL;
	nstarts = ncancels = 0;
	snprintf(out_path, sizeof(out_path), "/tmp/test_agent.XXXXXX");
	assert_true((fd = mkstemp(out_path)) != -1);
	close(fd);

	assert_non_null(c = calloc(1, sizeof(*c)));
	assert_non_null(c->measurements = calloc(1, sizeof(*m)));
	c->nmeasurements = 1;
	m = &c->measurements[0];
	assert_non_null(m->name = strdup("fake-1"));
	m->kind = &fake_kind;
	assert_non_null(s = malloc(sizeof(*s)));
	*s = *spec;
	m->spec = s;
	m->interval = interval;
	m->spread = 10 * SEC;
	assert_non_null(m->targets = calloc(n, sizeof(*m->targets)));
	for (size_t i = 0; i < n; i++)
		assert_int_equal(target_parse(addrs[i], 0, &m->targets[i], err,
		                     sizeof(err)),
		    0);
	m->ntargets = n;

	memset(a, 0, sizeof(*a));
	a->mode = AGENT_RUN;
	a->time = &fake_clock;
	a->conf = c;
	assert_non_null(a->base = event_base_new());
	assert_non_null(a->out = output_open(out_path));
	assert_int_equal(agent_tasks_build(a, c, &a->tasks), 0);
	assert_int_equal(a->tasks.n, n);
	assert_int_equal(agent_tasks_schedule(a, &a->tasks), 0);
}

/* results_read: the results written so far, as a JSON array. */
static json_t *
results_read(struct agent *a)
{
	json_t *v = json_array();
	char line[4096];
	FILE *fp;

	assert_int_equal(output_flush(a->out), 0);
	assert_non_null(fp = fopen(out_path, "r"));
	while (fgets(line, sizeof(line), fp) != NULL) {
		json_t *r = json_loads(line, 0, NULL);
		assert_non_null(r);
		json_array_append_new(v, r);
	}
	fclose(fp);
	return v;
}

static void
agent_fake_free(struct agent *a)
{
	agent_free(a); /* frees the config, cancels what runs */
	assert_null(fake_timers);
	assert_null(fake_runs);
	unlink(out_path);
}

static const char *const two[] = { "192.0.2.1", "2001:db8::1" };

/* Each cycle fires at its start plus the offset (half the spread here),
 * every interval from T0, once per task; each result carries the kind's
 * own fields and the time the kind gave it. */
static void
test_cycles(void **state)
{
	struct fake_spec spec = { .delay = 2 * SEC };
	struct agent a;
	json_t *v, *r;
	size_t i;

	(void)state;
	agent_fake(&a, 60 * SEC, &spec, two, 2);
	assert_int_equal(nstarts, 0);
	advance(T0 + 3 * 60 * SEC);
	assert_int_equal(nstarts, 6);
	for (i = 0; i < nstarts; i++)
		assert_int_equal(starts[i].at,
		    T0 + (cw_usec_t)(i / 2) * 60 * SEC + 5 * SEC);
	assert_int_equal(a.results, 6);
	assert_int_equal(a.failures, 0);
	assert_int_equal(a.skipped, 0);
	v = results_read(&a);
	assert_int_equal(json_array_size(v), 6);
	json_array_foreach(v, i, r) {
		assert_string_equal(json_string_value(
		                        json_object_get(r, "type")),
		    "fake");
		assert_string_equal(json_string_value(
		                        json_object_get(r, "name")),
		    "fake-1");
		assert_non_null(json_string_value(json_object_get(r, "addr")));
	}
	json_decref(v);
	agent_fake_free(&a);
}

/* A run still in flight when its task's next cycle fires: that cycle
 * is skipped and counted, and the next one starts as planned. */
static void
test_in_flight_skips(void **state)
{
	struct fake_spec spec = { .delay = 90 * SEC };
	struct agent a;

	(void)state;
	agent_fake(&a, 60 * SEC, &spec, two, 1);
	advance(T0 + 250 * SEC);
	/* Started at 5 s (done at 95), 65 skipped, 125 (done at 215), 185
	 * skipped, 245 in flight. */
	assert_int_equal(nstarts, 3);
	assert_int_equal(starts[0].at, T0 + 5 * SEC);
	assert_int_equal(starts[1].at, T0 + 125 * SEC);
	assert_int_equal(starts[2].at, T0 + 245 * SEC);
	assert_int_equal(a.skipped, 2);
	assert_int_equal(a.tasks.v[0].skipped, 2);
	assert_int_equal(a.results, 2);
	agent_fake_free(&a);
	assert_int_equal(ncancels, 1); /* the one in flight */
}

/* A kind that cannot start a run: the agent writes the failure itself,
 * with the kind's fields and name, and counts it. */
static void
test_cannot_start(void **state)
{
	struct fake_spec spec = { .delay = SEC, .cannot_start = true };
	struct agent a;
	json_t *v, *r;

	(void)state;
	agent_fake(&a, 60 * SEC, &spec, two, 1);
	advance(T0 + 70 * SEC);
	assert_int_equal(a.results, 2);
	assert_int_equal(a.failures, 2);
	v = results_read(&a);
	assert_int_equal(json_array_size(v), 2);
	r = json_array_get(v, 1);
	assert_string_equal(json_string_value(json_object_get(r, "type")),
	    "fake");
	assert_string_equal(json_string_value(json_object_get(r, "addr")),
	    "192.0.2.1");
	assert_string_equal(json_string_value(json_object_get(r, "failure")),
	    "internal_error");
	assert_string_equal(json_string_value(
	                        json_object_get(r, "failure_detail")),
	    "could not start the fake run");
	json_decref(v);
	agent_fake_free(&a);
}

/* A run that fails is a result like any other, counted as failed; the
 * task's health notes since when it fails, in the fake clock's time. */
static void
test_failing_runs(void **state)
{
	struct fake_spec spec = { .delay = SEC, .fails = true };
	struct agent a;

	(void)state;
	agent_fake(&a, 60 * SEC, &spec, two, 2);
	advance(T0 + 130 * SEC);
	assert_int_equal(a.results, 6);
	assert_int_equal(a.failures, 6);
	assert_int_equal(a.tasks.v[0].health.state, CW_FAIL_TIMEOUT);
	assert_int_equal(a.tasks.v[0].health.since, REAL0 + 6 * SEC);
	assert_int_equal(a.tasks.v[0].health.failed_runs, 3);
	agent_fake_free(&a);
}

/* A stop: no cycle fires any more, the runs in flight finish and are
 * written; the same signal again cancels what is still in flight. */
static void
test_stop(void **state)
{
	struct fake_spec spec = { .delay = 30 * SEC };
	struct agent a;

	(void)state;
	agent_fake(&a, 60 * SEC, &spec, two, 2);
	advance(T0 + 10 * SEC);
	assert_int_equal(nstarts, 2);
	agent_run_stop(SIGTERM, 0, &a);
	assert_true(a.stopping);
	assert_null(fake_timers);
	assert_int_equal(ncancels, 0);
	advance(T0 + 300 * SEC);
	assert_int_equal(nstarts, 2);
	assert_int_equal(a.results, 2);
	assert_null(fake_runs);
	agent_fake_free(&a);

	agent_fake(&a, 60 * SEC, &spec, two, 2);
	advance(T0 + 10 * SEC);
	agent_run_stop(SIGTERM, 0, &a);
	agent_run_stop(SIGTERM, 0, &a);
	assert_int_equal(ncancels, 2);
	assert_null(fake_runs);
	assert_int_equal(a.results, 0);
	agent_fake_free(&a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cycles),
		cmocka_unit_test(test_in_flight_skips),
		cmocka_unit_test(test_cannot_start),
		cmocka_unit_test(test_failing_runs),
		cmocka_unit_test(test_stop),
	};

	log_init(NULL, LOG_LEVEL_WARNING);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
