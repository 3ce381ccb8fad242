/* test_workq.c -- the collector's checking thread: jobs run off the
 * loop thread, one at a time, and finish on the loop in the order they
 * were pushed; a job cut into slices lets a short one pushed after it
 * through first, however many such jobs wait; freeing the queue lets the
 * running slice end and hands back the others as not finished. */
#include "config.h"

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>
#include <event2/event.h>

#include "workq.h"

#define JOBS	50

struct job {
	int		 n;		/* its place in the order */
	pthread_t	 loop;		/* the loop's thread */
	bool		 off_loop;	/* `work` ran on another thread */
	int		*order;		/* `done` appends n here */
	int		*ndone;
	bool		 ran;
	int		 slow_ms;	/* `work` sleeps this long */
	volatile int	*started;	/* set when `work` begins */
	int		 slices;	/* `work` calls it takes */
	int		 calls;
};

static bool
job_work(void *arg)
{
	struct job *j = arg;
	struct timespec ts = {0, (long)j->slow_ms * 1000000L};

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
	struct timeval tick = {0, 10000};

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
		jobs[i] = (struct job){.n = i, .loop = pthread_self(),
		    .order = order, .ndone = &ndone, .slow_ms = i % 7 == 0};
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
		jobs[i] = (struct job){.n = i, .loop = pthread_self(),
		    .order = order, .ndone = &ndone};
		if (i == 0) {
			jobs[i].slow_ms = 200;
			jobs[i].started = &started;
		}
		assert_int_equal(workq_push(q, job_work, job_done, &jobs[i]),
		    0);
	}
	/* The first job is running (it sleeps): free the queue now. */
	for (int i = 0; i < 1000 &&
	    !__atomic_load_n(&started, __ATOMIC_SEQ_CST); i++) {
		struct timespec ts = {0, 1000000L};
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
		jobs[i] = (struct job){.n = i, .loop = pthread_self(),
		    .order = order, .ndone = &ndone, .slow_ms = 1,
		    .slices = i < nlong ? 20 : 1};
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

static void
test_free_idle(void **state)
{
	struct event_base *base = event_base_new();

	(void)state;
	assert_non_null(base);
	workq_free(workq_new(base));
	workq_free(NULL);
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
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
