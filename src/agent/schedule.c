/*
 * schedule.c -- cycle arithmetic and the timers that follow it.
 */
#include "config.h"

#include <stdlib.h>
#include <time.h>

#include <sodium.h>

#include "log.h"
#include "schedule.h"

void
schedule_init(struct schedule *s, cw_usec_t t0, cw_usec_t interval,
    cw_usec_t spread)
{
	if (interval <= 0)
		interval = 1;
	if (spread < 0)
		spread = 0;
	if (spread > interval)
		spread = interval;
	s->t0 = t0;
	s->interval = interval;
	s->spread = spread;
	s->cycle = -1;
	s->at = t0;
}

/* schedule_cycle_of: the cycle containing `now` (-1 before t0). */
static int64_t
schedule_cycle_of(const struct schedule *s, cw_usec_t now)
{
	if (now < s->t0)
		return -1;
	return (now - s->t0) / s->interval;
}

cw_usec_t
schedule_plan(struct schedule *s, cw_usec_t now, cw_usec_t offset,
    uint64_t *skipped)
{
	int64_t next = s->cycle + 1;
	int64_t current = schedule_cycle_of(s, now);
	uint64_t missed = 0;

	if (offset < 0 || s->spread == 0)
		offset = 0;
	else if (offset >= s->spread)
		offset = s->spread - 1;
	/* Cycles that ended while we were not running are gone. */
	if (current > next) {
		missed = (uint64_t)(current - next);
		next = current;
	}
	s->cycle = next;
	s->at = s->t0 + next * s->interval + offset;
	if (s->at < now)
		s->at = now;
	if (skipped != NULL)
		*skipped = missed;
	return s->at;
}

cw_usec_t
schedule_offset(cw_usec_t spread)
{
	uint64_t bound, limit, r;

	if (spread <= 0)
		return 0;
	if (spread <= UINT32_MAX)
		return (cw_usec_t)randombytes_uniform((uint32_t)spread);
	/* Offsets beyond 71 minutes: rejection sampling on 64 bits. */
	bound = (uint64_t)spread;
	limit = UINT64_MAX - UINT64_MAX % bound;
	do
		randombytes_buf(&r, sizeof(r));
	while (r >= limit);
	return (cw_usec_t)(r % bound);
}

cw_usec_t
schedule_clock(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) == 0)
		return (cw_usec_t)ts.tv_sec * CW_USEC_PER_SEC +
		    ts.tv_nsec / 1000;
#endif
	return cw_mono_usec();
}

struct schedule_timer {
	struct schedule sched;
	struct event *ev;
	const char *name;
	schedule_fire_fn fn;
	void *arg;
	uint64_t skipped;
};

/* schedule_timer_arm: plan the next firing and add the timer for it. */
static int
schedule_timer_arm(struct schedule_timer *t, cw_usec_t now)
{
	struct timeval tv;
	uint64_t skipped;

	schedule_plan(&t->sched, now, schedule_offset(t->sched.spread),
	    &skipped);
	if (skipped > 0) {
		t->skipped += skipped;
		log_info("%s: woke up late, skipped %llu cycle%s", t->name,
		    (unsigned long long)skipped, skipped == 1 ? "" : "s");
	}
	cw_usec_to_timeval(t->sched.at - now, &tv);
	if (evtimer_add(t->ev, &tv) == -1) {
		log_warnx("%s: cannot add timer", t->name);
		return -1;
	}
	return 0;
}

static void
schedule_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct schedule_timer *t = arg;

	(void)fd;
	(void)what;
	/* Plan first: fn may free this timer. */
	schedule_timer_arm(t, schedule_clock());
	t->fn(t->arg);
}

struct schedule_timer *
schedule_timer_new(struct event_base *base, cw_usec_t t0, cw_usec_t interval,
    cw_usec_t spread, const char *name, schedule_fire_fn fn, void *arg)
{
	struct schedule_timer *t;

	if ((t = calloc(1, sizeof(*t))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	schedule_init(&t->sched, t0, interval, spread);
	t->name = name != NULL ? name : "schedule";
	t->fn = fn;
	t->arg = arg;
	if ((t->ev = evtimer_new(base, schedule_timer_cb, t)) == NULL) {
		log_warnx("%s: evtimer_new failed", t->name);
		free(t);
		return NULL;
	}
	if (schedule_timer_arm(t, schedule_clock()) == -1) {
		schedule_timer_free(t);
		return NULL;
	}
	return t;
}

uint64_t
schedule_timer_skipped(const struct schedule_timer *t)
{
	return t->skipped;
}

cw_usec_t
schedule_timer_next(const struct schedule_timer *t)
{
	return t->sched.at;
}

void
schedule_timer_free(struct schedule_timer *t)
{
	if (t == NULL)
		return;
	if (t->ev != NULL)
		event_free(t->ev);
	free(t);
}
