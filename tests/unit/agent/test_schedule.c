/* test_schedule.c -- cycle arithmetic and the libevent timers. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "schedule.h"

#define SEC  CW_USEC_PER_SEC
#define MSEC CW_USEC_PER_MSEC

static void
test_offsets_in_bounds(void **state)
{
	static const cw_usec_t spreads[] = {
		1,
		2,
		1000,
		30 * SEC,
		(cw_usec_t)UINT32_MAX,
		(cw_usec_t)UINT32_MAX + 1,
		7 * 86400 * SEC,
	};
	cw_usec_t max_seen = 0;

	(void)state;
	assert_int_equal(schedule_offset(0), 0);
	assert_int_equal(schedule_offset(-5), 0);
	for (size_t i = 0; i < sizeof(spreads) / sizeof(spreads[0]); i++)
		for (int k = 0; k < 2000; k++) {
			cw_usec_t o = schedule_offset(spreads[i]);
			assert_true(o >= 0 && o < spreads[i]);
			if (spreads[i] == 7 * 86400 * SEC && o > max_seen)
				max_seen = o;
		}
	/* Offsets beyond 32 bits are reached too. */
	assert_true(max_seen > (cw_usec_t)UINT32_MAX);
}

/* Every cycle fires once, inside [start, start + spread), with a new
 * offset each time, and 10,000 cycles of late wake-ups add no drift. */
static void
test_no_drift(void **state)
{
	const cw_usec_t t0 = 1000 * SEC, interval = 5 * 60 * SEC;
	const cw_usec_t spread = 30 * SEC;
	struct schedule s;
	cw_usec_t now = t0, at, first = -1;
	uint64_t skipped;
	int distinct = 0;

	(void)state;
	schedule_init(&s, t0, interval, spread);
	for (int64_t k = 0; k < 10000; k++) {
		at = schedule_plan(&s, now, schedule_offset(spread), &skipped);
		assert_int_equal(s.cycle, k);
		assert_int_equal(skipped, 0);
		assert_true(at >= t0 + k * interval);
		assert_true(at < t0 + k * interval + spread);
		if (k == 0)
			first = at;
		else if (at - (t0 + k * interval) != first - t0)
			distinct++;
		/* The timer fires up to 50 ms late, every time. */
		now = at + (cw_usec_t)randombytes_uniform(50 * MSEC);
	}
	assert_true(distinct > 9000);
	/* After the last one, cycle 10,000 is still on the grid. */
	at = schedule_plan(&s, now, 0, NULL);
	assert_int_equal(at, t0 + 10000 * interval);
}

/* A machine that slept through cycles resumes with one firing in the
 * cycle it wakes up in, not a burst of the missed ones. */
static void
test_late_wakeup_skips(void **state)
{
	const cw_usec_t t0 = 0, interval = 60 * SEC, spread = 10 * SEC;
	struct schedule s;
	uint64_t skipped = 99;
	cw_usec_t now, at;

	(void)state;
	schedule_init(&s, t0, interval, spread);
	for (int k = 0; k <= 5; k++)
		schedule_plan(&s, t0 + k * interval, 0, &skipped);
	assert_int_equal(s.cycle, 5);
	/* Suspended until the middle of cycle 100. */
	now = t0 + 100 * interval + interval / 2;
	at = schedule_plan(&s, now, 2 * SEC, &skipped);
	assert_int_equal(s.cycle, 100);
	assert_int_equal(skipped, 94); /* cycles 6 to 99 */
	assert_int_equal(at, now);     /* its offset has passed: at once */
	/* Then back on the grid. */
	at = schedule_plan(&s, now, 3 * SEC, &skipped);
	assert_int_equal(s.cycle, 101);
	assert_int_equal(skipped, 0);
	assert_int_equal(at, t0 + 101 * interval + 3 * SEC);
	/* Waking early in a cycle keeps that cycle's offset. */
	now = t0 + 200 * interval + SEC;
	at = schedule_plan(&s, now, 4 * SEC, &skipped);
	assert_int_equal(s.cycle, 200);
	assert_int_equal(skipped, 98);
	assert_int_equal(at, t0 + 200 * interval + 4 * SEC);
	/* A firing late by less than a cycle skips nothing. */
	now = at + interval - 1;
	at = schedule_plan(&s, now, 5 * SEC, &skipped);
	assert_int_equal(s.cycle, 201);
	assert_int_equal(skipped, 0);
	assert_int_equal(at, t0 + 201 * interval + 5 * SEC);
}

static void
test_clamping(void **state)
{
	struct schedule s;

	(void)state;
	schedule_init(&s, 0, 10 * SEC, 20 * SEC);
	assert_int_equal(s.spread, 10 * SEC);
	assert_int_equal(schedule_plan(&s, 0, 50 * SEC, NULL), 10 * SEC - 1);
	schedule_init(&s, 0, 10 * SEC, 0);
	assert_int_equal(schedule_plan(&s, 0, 5 * SEC, NULL), 0);
	assert_int_equal(schedule_plan(&s, 0, -1, NULL), 10 * SEC);
	schedule_init(&s, 100, 0, 0);
	assert_int_equal(s.interval, 1);
	/* Planned before t0: cycle 0 still starts at t0. */
	schedule_init(&s, 5 * SEC, SEC, 0);
	assert_int_equal(schedule_plan(&s, 0, 0, NULL), 5 * SEC);
	assert_int_equal(s.cycle, 0);
}

/* --- The timers, on a real loop for half a second --- */

struct fired {
	struct event_base *base;
	struct schedule_timer *timer;
	cw_usec_t t0, interval, spread;
	cw_usec_t at[64];
	int n;
	int free_after; /* free the timer from its callback */
};

static void
fired_cb(void *arg)
{
	struct fired *f = arg;

	if (f->n < 64)
		f->at[f->n] = schedule_clock();
	f->n++;
	if (f->free_after > 0 && f->n == f->free_after) {
		schedule_timer_free(f->timer);
		f->timer = NULL;
	}
}

static void
run_loop(struct event_base *base, cw_usec_t usec)
{
	struct timeval tv;

	cw_usec_to_timeval(usec, &tv);
	event_base_loopexit(base, &tv);
	event_base_dispatch(base);
}

static void
test_timer_fires_per_cycle(void **state)
{
	struct event_config *cfg = event_config_new();
	struct fired f = { 0 };

	(void)state;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	f.base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	assert_non_null(f.base);
	f.interval = 50 * MSEC;
	f.spread = 10 * MSEC;
	f.t0 = schedule_clock();
	f.timer = schedule_timer_new(f.base, f.t0, f.interval, f.spread, "test",
	    fired_cb, &f);
	assert_non_null(f.timer);
	run_loop(f.base, 525 * MSEC);
	/* Cycles 0 to 10 start within the 525 ms; the last may not fire,
	 * and a machine stalled by other tests may skip one or two. */
	assert_true(f.n + (int)schedule_timer_skipped(f.timer) >= 8);
	assert_true(f.n <= 11);
	assert_true(f.at[0] >= f.t0 && f.at[0] < f.t0 + f.interval);
	/* Never early: cycle k fires at or after its start (late is what a
	 * loaded machine does; early would be a drift). */
	for (int k = 0; k < f.n && k < 64; k++) {
		if (schedule_timer_skipped(f.timer) == 0)
			assert_true(f.at[k] >= f.t0 + k * f.interval);
		if (k > 0)
			assert_true(f.at[k] > f.at[k - 1]);
	}
	assert_true(schedule_timer_next(f.timer) > f.at[f.n - 1]);
	schedule_timer_free(f.timer);
	event_base_free(f.base);
}

static void
test_timer_frees_itself(void **state)
{
	struct fired f = { 0 };

	(void)state;
	f.base = event_base_new();
	assert_non_null(f.base);
	f.free_after = 3;
	f.timer = schedule_timer_new(f.base, schedule_clock(), 10 * MSEC, 0,
	    "test", fired_cb, &f);
	assert_non_null(f.timer);
	run_loop(f.base, 100 * MSEC);
	assert_int_equal(f.n, 3);
	assert_null(f.timer);
	event_base_free(f.base);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_offsets_in_bounds),
		cmocka_unit_test(test_no_drift),
		cmocka_unit_test(test_late_wakeup_skips),
		cmocka_unit_test(test_clamping),
		cmocka_unit_test(test_timer_fires_per_cycle),
		cmocka_unit_test(test_timer_frees_itself),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
