/*
 * schedule.h -- when measurements run.
 *
 * Time is cut into cycles of `interval`: cycle k starts at t0 + k *
 * interval.  A schedule fires once per cycle, at an offset drawn anew
 * each cycle, uniformly from [0, spread), so probes started together do
 * not query in step and no server sees a burst.  Firing times are always
 * computed from t0, never from "now + interval", so they do not drift.
 * After the machine slept through whole cycles (a suspend, a stopped
 * process), the missed cycles are skipped, not run in a burst: the
 * schedule fires once in the cycle it wakes up in and goes on from there.
 *
 * The arithmetic (schedule_init, schedule_plan) is pure and unit-tested;
 * schedule_timer_* put it on a libevent loop.  The schedule clock is
 * CLOCK_BOOTTIME, which keeps counting while the system is suspended
 * (CLOCK_MONOTONIC does not, and would hide the missed cycles).
 */
#ifndef CW_SCHEDULE_H
#define CW_SCHEDULE_H

#include <stdint.h>

#include <event2/event.h>

#include "cwtime.h"

struct schedule {
	cw_usec_t t0;       /* start of cycle 0 (schedule clock) */
	cw_usec_t interval; /* cycle length, > 0 */
	cw_usec_t spread;   /* offsets are drawn from [0, spread) */
	int64_t cycle;      /* cycle of the last planned firing; -1 */
	cw_usec_t at;       /* time of the last planned firing */
};

/* schedule_init: a schedule whose cycle 0 starts at t0.  `spread` is
 * clamped to [0, interval]; an interval <= 0 is taken as 1 us. */
void schedule_init(struct schedule *s, cw_usec_t t0, cw_usec_t interval,
    cw_usec_t spread);

/*
 * schedule_plan: plan the next firing, given the time `now` and the
 * cycle's offset (normally schedule_offset(s->spread); clamped to
 * [0, spread)).  The next cycle is the one after the last planned one;
 * when `now` lies beyond the end of that cycle, the cycles in between
 * are skipped (their number is stored in *skipped, which may be NULL) and
 * the cycle containing `now` is planned instead.  The firing time is the
 * cycle's start plus the offset, or `now` if that is already past.
 * Updates s->cycle and s->at and returns s->at.
 */
cw_usec_t schedule_plan(struct schedule *s, cw_usec_t now, cw_usec_t offset,
    uint64_t *skipped);

/* schedule_offset: a uniformly random offset in [0, spread) from
 * libsodium (sodium_init() must have been called); 0 when spread <= 0. */
cw_usec_t schedule_offset(cw_usec_t spread);

/* schedule_clock: the schedule clock now (CLOCK_BOOTTIME, in us). */
cw_usec_t schedule_clock(void);

/* --- The schedule on a libevent loop --- */

/* schedule_fire_fn: a cycle's firing.  The callback may free other
 * timers, and even its own (the next firing is already planned). */
typedef void (*schedule_fire_fn)(void *arg);

struct schedule_timer;

/* schedule_timer_new: fire fn(arg) once per cycle of a schedule whose
 * cycle 0 starts at t0 (schedule clock; normally schedule_clock() at
 * start-up, shared by every timer started together).  `name` (not
 * copied: it must outlive the timer) labels log messages.  Returns NULL
 * when out of memory or libevent fails (logged). */
struct schedule_timer *schedule_timer_new(struct event_base *base, cw_usec_t t0,
    cw_usec_t interval, cw_usec_t spread, const char *name, schedule_fire_fn fn,
    void *arg);

/* schedule_timer_skipped: cycles skipped so far after late wake-ups. */
uint64_t schedule_timer_skipped(const struct schedule_timer *t);

/* schedule_timer_next: the planned time of the next firing (schedule
 * clock). */
cw_usec_t schedule_timer_next(const struct schedule_timer *t);

/* schedule_timer_free: stop and free; NULL is fine. */
void schedule_timer_free(struct schedule_timer *t);

#endif
