/* test_workq.c -- the collector's checking thread: jobs run off the
 * loop thread, one at a time, and finish on the loop in the order they
 * were pushed; a job cut into slices lets a short one pushed after it
 * through first, however many such jobs wait; freeing the queue lets the
 * running slice end and hands back the others as not finished; a drain
 * finishes every job before it returns, or, at its deadline, lets the
 * running slice end and hands back the others, and the queue goes on. */
#include "config.h"

#include <dirent.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "cwtime.h"
#include "workq.h"

#define JOBS 50

struct job {
	int n;          /* its place in the order */
	pthread_t loop; /* the loop's thread */
	bool off_loop;  /* `work` ran on another thread */
	int *order;     /* `done` appends n here */
	int *ndone;
	bool ran;
	int slow_ms;           /* `work` sleeps this long */
	volatile int *started; /* set when `work` begins */
	int slices;            /* `work` calls it takes */
	int calls;
};

static bool
job_work(void *arg)
{
	struct job *j = arg;
	struct timespec ts = { 0, (long)j->slow_ms * 1000000L };

	if (j->started != NULL)
		__atomic_store_n(j->started, 1, __ATOMIC_SEQ_CST);
	j->off_loop = !pthread_equal(pthread_self(), j->loop);
	if (j->slow_ms > 0)
		nanosleep(&ts, NULL);
	return ++j->calls >= j->slices;
}

static void
job_done(void *arg, bool ran)
{
	struct job *j = arg;

	assert_true(pthread_equal(pthread_self(), j->loop));
	j->ran = ran;
	j->order[(*j->ndone)++] = j->n;
}

/* Run `base` until every job is done, for at most about 10 s. */
static void
loop_until_done(struct event_base *base, struct workq *q)
{
	struct timeval tick = { 0, 10000 };

	for (int i = 0; i < 1000 && workq_pending(q) > 0; i++) {
		event_base_loopexit(base, &tick);
		event_base_dispatch(base);
	}
}

static void
test_order(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct job jobs[JOBS];
	int order[JOBS], ndone = 0;

	(void)state;
	assert_non_null(base);
	assert_non_null(q = workq_new(base));
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .n = i,
			.loop = pthread_self(),
			.order = order,
			.ndone = &ndone,
			.slow_ms = i % 7 == 0 };
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	}
	assert_int_equal(workq_pending(q), JOBS);
	loop_until_done(base, q);
	assert_int_equal(workq_pending(q), 0);
	assert_int_equal(ndone, JOBS);
	for (int i = 0; i < JOBS; i++) {
		assert_int_equal(order[i], i);
		assert_true(jobs[i].ran);
		assert_true(jobs[i].off_loop);
	}
	workq_free(q);
	event_base_free(base);
}

static void
test_free_while_busy(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct job jobs[3];
	volatile int started = 0;
	int order[3], ndone = 0;

	(void)state;
	assert_non_null(base);
	assert_non_null(q = workq_new(base));
	for (int i = 0; i < 3; i++) {
		jobs[i] = (struct job){ .n = i,
			.loop = pthread_self(),
			.order = order,
			.ndone = &ndone };
		if (i == 0) {
			jobs[i].slow_ms = 200;
			jobs[i].started = &started;
		}
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	}
	/* The first job is running (it sleeps): free the queue now. */
	for (int i = 0;
	     i < 1000 && !__atomic_load_n(&started, __ATOMIC_SEQ_CST); i++) {
		struct timespec ts = { 0, 1000000L };
		nanosleep(&ts, NULL);
	}
	assert_true(started);
	workq_free(q);
	assert_int_equal(ndone, 3);
	assert_int_equal(order[0], 0);
	assert_true(jobs[0].ran);
	assert_true(jobs[0].off_loop);
	assert_false(jobs[1].ran);
	assert_false(jobs[2].ran);
	assert_int_equal(order[1], 1);
	assert_int_equal(order[2], 2);
	event_base_free(base);
}

/* Jobs of many slices (a flood of gzip bombs) and then short ones: each
 * short one is done after at most one slice of each long one, not after
 * all of them; the long ones still finish. */
static void
test_slices(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct job jobs[JOBS];
	int order[JOBS], ndone = 0, nlong = JOBS - 5;

	(void)state;
	assert_non_null(base);
	assert_non_null(q = workq_new(base));
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .n = i,
			.loop = pthread_self(),
			.order = order,
			.ndone = &ndone,
			.slow_ms = 1,
			.slices = i < nlong ? 20 : 1 };
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	}
	loop_until_done(base, q);
	assert_int_equal(ndone, JOBS);
	/* The short ones first, in the order they came, then the long. */
	for (int i = 0; i < JOBS - nlong; i++)
		assert_int_equal(order[i], nlong + i);
	for (int i = 0; i < JOBS; i++) {
		assert_true(jobs[i].ran);
		assert_int_equal(jobs[i].calls, jobs[i].slices);
	}
	workq_free(q);
	event_base_free(base);
}

/* A drain with time enough: every job, slow, sliced or quick, is done
 * (ran) when it returns, without the loop running; then the queue takes
 * new jobs as before. */
static void
test_drain_all(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct job jobs[JOBS], more;
	int order[JOBS + 1], ndone = 0;
	cw_usec_t start;

	(void)state;
	assert_non_null(base);
	assert_non_null(q = workq_new(base));
	for (int i = 0; i < JOBS; i++) {
		jobs[i] = (struct job){ .n = i,
			.loop = pthread_self(),
			.order = order,
			.ndone = &ndone,
			.slow_ms = i % 10 == 0,
			.slices = i % 5 == 0 ? 4 : 1 };
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	}
	start = cw_mono_usec();
	assert_int_equal(workq_drain(q, start + 30 * CW_USEC_PER_SEC), 0);
	/* It returned when the jobs were done, not at its deadline. */
	assert_true(cw_mono_usec() - start < 20 * CW_USEC_PER_SEC);
	assert_int_equal(ndone, JOBS);
	assert_int_equal(workq_pending(q), 0);
	for (int i = 0; i < JOBS; i++) {
		assert_true(jobs[i].ran);
		assert_int_equal(jobs[i].calls, jobs[i].slices);
		assert_true(jobs[i].off_loop);
	}
	/* Nothing is called twice when the loop reads the wake-ups. */
	loop_until_done(base, q);
	assert_int_equal(ndone, JOBS);
	more = (struct job){ .n = JOBS,
		.loop = pthread_self(),
		.order = order,
		.ndone = &ndone };
	assert_int_equal(workq_push(q, job_work, job_done, &more), 0);
	loop_until_done(base, q);
	assert_int_equal(ndone, JOBS + 1);
	assert_true(more.ran);
	assert_int_equal(order[JOBS], JOBS);
	/* An empty queue drains at once, whatever its deadline. */
	start = cw_mono_usec();
	assert_int_equal(workq_drain(q, start + 30 * CW_USEC_PER_SEC), 0);
	assert_true(cw_mono_usec() - start < 10 * CW_USEC_PER_SEC);
	workq_free(q);
	assert_int_equal(ndone, JOBS + 1);
	event_base_free(base);
}

/* A drain past its deadline: the quick job pushed first is done (ran),
 * the slow one of many slices and the one behind it are handed back (not
 * ran) once the running slice ended, and no slice of them runs after
 * the drain returned; the queue still runs a new job. */
static void
test_drain_deadline(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct job jobs[3], more;
	volatile int started = 0;
	int order[4], ndone = 0, calls;
	cw_usec_t start, took;
	struct timespec ts = { 0, 200000000L };

	(void)state;
	assert_non_null(base);
	assert_non_null(q = workq_new(base));
	for (int i = 0; i < 3; i++)
		jobs[i] = (struct job){ .n = i,
			.loop = pthread_self(),
			.order = order,
			.ndone = &ndone };
	/* 1000 slices of 20 ms: 20 s, far past the deadline. */
	jobs[1].slow_ms = 20;
	jobs[1].slices = 1000;
	jobs[1].started = &started;
	jobs[2].slow_ms = 20;
	jobs[2].slices = 1000;
	for (int i = 0; i < 3; i++)
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	for (int i = 0;
	     i < 1000 && !__atomic_load_n(&started, __ATOMIC_SEQ_CST); i++) {
		struct timespec ms = { 0, 1000000L };
		nanosleep(&ms, NULL);
	}
	assert_true(started);
	start = cw_mono_usec();
	assert_int_equal(workq_drain(q, start + 300 * CW_USEC_PER_MSEC), 2);
	took = cw_mono_usec() - start;
	/* Not before the deadline; after it, one slice at most. */
	assert_true(took >= 300 * CW_USEC_PER_MSEC);
	assert_true(took < 5 * CW_USEC_PER_SEC);
	assert_int_equal(ndone, 3);
	assert_int_equal(workq_pending(q), 0);
	assert_int_equal(order[0], 0);
	assert_true(jobs[0].ran);
	assert_false(jobs[1].ran);
	assert_false(jobs[2].ran);
	assert_true(jobs[1].calls > 0 && jobs[1].calls < 1000);
	assert_true(jobs[2].calls < 1000);
	/* Handed back means let go: the thread touches them no more. */
	calls = jobs[1].calls + jobs[2].calls;
	nanosleep(&ts, NULL);
	assert_int_equal(jobs[1].calls + jobs[2].calls, calls);
	more = (struct job){ .n = 3,
		.loop = pthread_self(),
		.order = order,
		.ndone = &ndone };
	assert_int_equal(workq_push(q, job_work, job_done, &more), 0);
	loop_until_done(base, q);
	assert_int_equal(ndone, 4);
	assert_true(more.ran);
	assert_int_equal(more.calls, 1);
	workq_free(q);
	assert_int_equal(ndone, 4);
	event_base_free(base);
}

/* What a queue holds of the process: its open descriptors, its threads
 * and the events added to `base`. */
struct held {
	int fds;
	int threads;
	int events;
};

static int
count_fds(void)
{
	DIR *d;
	int n = 0;

	assert_non_null(d = opendir("/proc/self/fd"));
	while (readdir(d) != NULL)
		n++;
	closedir(d);
	return n;
}

static int
count_threads(void)
{
	char line[128];
	FILE *fp;
	int n = -1;

	assert_non_null(fp = fopen("/proc/self/status", "r"));
	while (fgets(line, sizeof(line), fp) != NULL)
		if (sscanf(line, "Threads: %d", &n) == 1)
			break;
	fclose(fp);
	assert_true(n > 0);
	return n;
}

static struct held
held_now(struct event_base *base)
{
	return (struct held){ .fds = count_fds(),
		.threads = count_threads(),
		.events = event_base_get_num_events(base,
		    EVENT_BASE_COUNT_ADDED) };
}

/* Everything held at `before` and nothing more: the thread may linger
 * in /proc for a moment after pthread_join() returned, so wait for it
 * for at most about 2 s. */
static void
assert_released(struct event_base *base, struct held before)
{
	struct held now = held_now(base);
	struct timespec ms = { 0, 1000000L };

	for (int i = 0; i < 2000 && now.threads != before.threads; i++) {
		nanosleep(&ms, NULL);
		now = held_now(base);
	}
	assert_int_equal(now.fds, before.fds);
	assert_int_equal(now.threads, before.threads);
	assert_int_equal(now.events, before.events);
}

/* Freeing a queue with nothing to do stops its thread, closes its pipe,
 * takes its event off the loop and calls no `done`; a queue that is
 * idle after its jobs finished calls none of them again. */
static void
test_free_idle(void **state)
{
	struct event_base *base = event_base_new();
	struct workq *q;
	struct held before, running;
	struct job j;
	int order[1], ndone = 0;

	(void)state;
	assert_non_null(base);
	before = held_now(base);
	assert_non_null(q = workq_new(base));
	/* A thread, the two ends of a pipe and the event that reads it. */
	running = held_now(base);
	assert_int_equal(running.fds, before.fds + 2);
	assert_int_equal(running.threads, before.threads + 1);
	assert_int_equal(running.events, before.events + 1);
	assert_int_equal(workq_pending(q), 0);
	workq_free(q);
	assert_released(base, before);

	/* Idle again after a job: its `done` ran once, on the loop, and
	 * freeing the queue does not call it a second time. */
	assert_non_null(q = workq_new(base));
	j = (struct job){ .n = 0,
		.loop = pthread_self(),
		.order = order,
		.ndone = &ndone };
	assert_int_equal(workq_push(q, job_work, job_done, &j), 0);
	loop_until_done(base, q);
	assert_int_equal(ndone, 1);
	assert_true(j.ran);
	assert_int_equal(workq_pending(q), 0);
	workq_free(q);
	assert_int_equal(ndone, 1);
	assert_released(base, before);

	workq_free(NULL);
	/* Nothing of the queues is left on the loop: it has nothing to
	 * wait for and returns at once. */
	assert_int_equal(event_base_dispatch(base), 1);
	event_base_free(base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order),
		cmocka_unit_test(test_slices),
		cmocka_unit_test(test_free_while_busy),
		cmocka_unit_test(test_free_idle),
		cmocka_unit_test(test_drain_all),
		cmocka_unit_test(test_drain_deadline),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
