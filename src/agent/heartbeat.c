/*
 * heartbeat.c -- the probe's heartbeat record and the clock check.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "heartbeat.h"
#include "log.h"
#include "result.h"

static cw_usec_t
heartbeat_boottime(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (cw_usec_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

void
heartbeat_clock_init(struct heartbeat_clock *c)
{
	cw_usec_t boot = heartbeat_boottime();

	memset(c, 0, sizeof(*c));
	c->started = boot;
	c->ref = cw_real_usec() - boot;
}

bool
heartbeat_clock_check(struct heartbeat_clock *c)
{
	cw_usec_t offset = cw_real_usec() - heartbeat_boottime() - c->ref;
	cw_usec_t step = offset - c->offset;
	char when[CW_TIME_STRLEN];

	c->offset = offset;
	if (step < HEARTBEAT_STEP && step > -HEARTBEAT_STEP)
		return false;
	c->steps++;
	c->last_step = step;
	c->last_step_at = cw_real_usec();
	log_warnx("clock: the wall clock stepped by %+.3f s (now %s)",
	    (double)step / 1e6,
	    cw_time_format(c->last_step_at, when, sizeof(when)));
	return true;
}

/* heartbeat_time: a real time as a string, or null for 0. */
static json_t *
heartbeat_time(cw_usec_t t)
{
	char buf[CW_TIME_STRLEN];

	return t == 0 ? json_null() :
	                json_string(cw_time_format(t, buf, sizeof(buf)));
}

static json_t *
heartbeat_spool(cw_usec_t now, const struct spool_status *st)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "chain", json_string(st->chain));
	json_object_set_new(o, "last_seq",
	    json_integer((json_int_t)st->last_seq));
	json_object_set_new(o, "acked_seq",
	    json_integer((json_int_t)st->acked_seq));
	json_object_set_new(o, "depth", json_integer((json_int_t)st->depth));
	json_object_set_new(o, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(o, "oldest_unsent",
	    heartbeat_time(st->oldest_unsent));
	json_object_set_new(o, "oldest_unsent_age_s",
	    st->oldest_unsent == 0 ?
	        json_null() :
	        json_real((double)(now - st->oldest_unsent) / 1e6));
	json_object_set_new(o, "dropped",
	    json_integer((json_int_t)st->dropped));
	json_object_set_new(o, "corrupt",
	    json_integer((json_int_t)st->corrupt));
	json_object_set_new(o, "last_sync", heartbeat_time(st->last_sync));
	return o;
}

static json_t *
heartbeat_upload(const struct heartbeat_upload *up)
{
	json_t *o, *paths;

	if (up == NULL || !up->enabled)
		return json_null();
	if ((o = json_object()) == NULL || (paths = json_object()) == NULL) {
		json_decref(o);
		return NULL;
	}
	json_object_set_new(o, "failing_since",
	    heartbeat_time(up->failing_since));
	json_object_set_new(o, "last_receipt",
	    heartbeat_time(up->last_receipt));
	json_object_set_new(o, "batches",
	    json_integer((json_int_t)up->batches));
	json_object_set_new(o, "failures",
	    json_integer((json_int_t)up->failures));
	json_object_set_new(o, "dead_letters",
	    json_integer((json_int_t)up->dead_letters));
	for (size_t i = 0; i < up->npaths && i < HEARTBEAT_PATHS_MAX; i++) {
		json_t *p = json_object();
		if (p == NULL)
			continue;
		json_object_set_new(p, "batches",
		    json_integer((json_int_t)up->paths[i].batches));
		json_object_set_new(p, "failures",
		    json_integer((json_int_t)up->paths[i].failures));
		/* A name that is not UTF-8 is skipped, not fatal. */
		if (json_object_set_new(paths, up->paths[i].name, p) == -1)
			continue;
	}
	json_object_set_new(o, "paths", paths);
	return o;
}

static json_t *
heartbeat_clock(const struct heartbeat_clock *c)
{
	json_t *o = json_object();

	if (o == NULL)
		return NULL;
	json_object_set_new(o, "offset_ms", json_real((double)c->offset / 1e3));
	json_object_set_new(o, "steps", json_integer((json_int_t)c->steps));
	json_object_set_new(o, "last_step_ms",
	    c->steps == 0 ? json_null() :
	                    json_real((double)c->last_step / 1e3));
	json_object_set_new(o, "last_step_at", heartbeat_time(c->last_step_at));
	return o;
}

static json_t *
heartbeat_identity(const struct config_identity *id)
{
	json_t *o = json_object();

	if (o == NULL || id == NULL)
		return o;
	result_set_str(o, "name", id->name);
	if (id->country[0] != '\0')
		result_set_str(o, "country", id->country);
	if (id->asn != 0)
		result_set_int(o, "asn", (long long)id->asn);
	result_set_str(o, "location", id->location);
	return o;
}

json_t *
heartbeat_build(cw_usec_t now, cw_usec_t interval,
    const struct spool_status *spool, const struct heartbeat_upload *up,
    const struct heartbeat_clock *clock, const struct config_identity *id)
{
	json_t *r, *v;

	if ((r = result_new("heartbeat", NULL, now)) == NULL)
		return NULL;
	/* Not a measurement: no ok or failure. */
	json_object_del(r, "ok");
	json_object_del(r, "failure");
	json_object_set_new(r, "version", json_string(PACKAGE_VERSION));
	json_object_set_new(r, "interval_s", json_real((double)interval / 1e6));
	if (clock != NULL)
		json_object_set_new(r, "running_s",
		    json_real(
		        (double)(heartbeat_boottime() - clock->started) / 1e6));
	if ((v = spool != NULL ? heartbeat_spool(now, spool) : json_null()) ==
	        NULL ||
	    json_object_set_new(r, "spool", v) == -1 ||
	    (v = heartbeat_upload(up)) == NULL ||
	    json_object_set_new(r, "upload", v) == -1 ||
	    (clock != NULL &&
	        ((v = heartbeat_clock(clock)) == NULL ||
	            json_object_set_new(r, "clock", v) == -1)) ||
	    (v = heartbeat_identity(id)) == NULL ||
	    json_object_set_new(r, "identity", v) == -1) {
		json_decref(r);
		return NULL;
	}
	return r;
}
