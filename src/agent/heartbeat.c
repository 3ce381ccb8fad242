/*
 * heartbeat.c -- the probe's heartbeat record, the clock check and the
 * measurement configuration the heartbeat declares.
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

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
    const struct heartbeat_clock *clock, const struct config_identity *id,
    json_t *config)
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
	    json_object_set_new(r, "identity", v) == -1 ||
	    (config != NULL && json_object_set(r, "config", config) == -1)) {
		json_decref(r);
		return NULL;
	}
	return r;
}

/* --- The declared configuration --- */

/* heartbeat_targets: m's fixed targets as [{name, address, port}]. */
static json_t *
heartbeat_targets(const struct measurement *m)
{
	json_t *a = json_array(), *t;

	for (size_t i = 0; a != NULL && i < m->ntargets; i++) {
		if ((t = json_object()) == NULL ||
		    json_array_append_new(a, t) == -1) {
			json_decref(a);
			return NULL;
		}
		if (m->targets[i].name[0] != '\0')
			result_set_str(t, "name", m->targets[i].name);
		result_set_str(t, "address", m->targets[i].addr);
		result_set_int(t, "port", target_port(&m->targets[i]));
	}
	return a;
}

/* heartbeat_measurement: what every kind has, then the kind's own. */
static json_t *
heartbeat_measurement(const struct measurement *m)
{
	json_t *o = json_object(), *tlds = json_array(), *targets;

	if (o == NULL || tlds == NULL ||
	    json_object_set_new(o, "tlds", tlds) == -1 ||
	    (targets = heartbeat_targets(m)) == NULL ||
	    json_object_set_new(o, "targets", targets) == -1)
		goto fail;
	result_set_str(o, "name", m->name);
	result_set_str(o, "kind", m->kind->name);
	result_set_int(o, "interval_ms", m->interval / CW_USEC_PER_MSEC);
	result_set_int(o, "spread_ms", m->spread / CW_USEC_PER_MSEC);
	for (size_t i = 0; i < m->ntlds; i++)
		if (json_array_append_new(tlds, json_string(m->tlds[i])) == -1)
			goto fail;
	if (m->kind->describe != NULL && m->kind->describe(m, o) == -1)
		goto fail;
	return o;
fail:
	if (o == NULL)
		json_decref(tlds);
	json_decref(o);
	return NULL;
}

static int
heartbeat_name_cmp(const void *a, const void *b)
{
	const struct measurement *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

/* heartbeat_canonical: the canonical JSON the hash is taken of. */
static char *
heartbeat_canonical(const json_t *v)
{
	return json_dumps(v,
	    JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII |
	        JSON_ENCODE_ANY);
}

int
heartbeat_config_set(struct heartbeat_config *hc, const struct config *conf)
{
	const struct measurement **byname = NULL;
	unsigned char h[crypto_hash_sha256_BYTES];
	json_t *a = json_array(), *d;
	char *canon = NULL;

	if (a == NULL ||
	    (conf->nmeasurements > 0 &&
	        (byname = calloc(conf->nmeasurements, sizeof(*byname))) ==
	            NULL))
		goto fail;
	for (size_t i = 0; i < conf->nmeasurements; i++)
		byname[i] = &conf->measurements[i];
	if (conf->nmeasurements > 0)
		qsort(byname, conf->nmeasurements, sizeof(*byname),
		    heartbeat_name_cmp);
	for (size_t i = 0; i < conf->nmeasurements; i++)
		if ((d = heartbeat_measurement(byname[i])) == NULL ||
		    json_array_append_new(a, d) == -1)
			goto fail;
	if ((canon = heartbeat_canonical(a)) == NULL)
		goto fail;
	crypto_hash_sha256(h, (const unsigned char *)canon, strlen(canon));
	sodium_bin2hex(hc->hash, sizeof(hc->hash), h, sizeof(h));
	json_decref(hc->measurements);
	hc->measurements = a;
	hc->declared = 0;
	free(canon);
	free(byname);
	return 0;
fail:
	log_warnx("heartbeat: out of memory describing the configuration");
	free(canon);
	free(byname);
	json_decref(a);
	return -1;
}

bool
heartbeat_config_due(const struct heartbeat_config *hc, cw_usec_t now)
{
	/* A clock stepped back counts as due too. */
	return hc->declared == 0 || now < hc->declared ||
	    now - hc->declared >= HEARTBEAT_DECLARE_EVERY;
}

void
heartbeat_config_clear(struct heartbeat_config *hc)
{
	json_decref(hc->measurements);
	memset(hc, 0, sizeof(*hc));
}

/* heartbeat_config_fit: the descriptions of hc that fit in
 * HEARTBEAT_CONFIG_MAX bytes, in order, into `a`; how many did not. */
static size_t
heartbeat_config_fit(const struct heartbeat_config *hc, json_t *a)
{
	size_t used = 0, omitted = 0, i;
	json_t *d;
	char *s;

	json_array_foreach(hc->measurements, i, d) {
		size_t len = (s = heartbeat_canonical(d)) != NULL ?
		    strlen(s) + 1 :
		    SIZE_MAX;
		free(s);
		if (len > HEARTBEAT_CONFIG_MAX - used ||
		    json_array_append(a, d) == -1) {
			omitted++;
			continue;
		}
		used += len;
	}
	return omitted;
}

json_t *
heartbeat_config_json(const struct heartbeat_config *hc, bool declare)
{
	json_t *o = json_object(), *a;

	if (o == NULL)
		return NULL;
	result_set_str(o, "hash", hc->hash);
	result_set_int(o, "count",
	    (long long)json_array_size(hc->measurements));
	if (!declare)
		return o;
	if ((a = json_array()) == NULL ||
	    json_object_set_new(o, "measurements", a) == -1) {
		json_decref(o);
		return NULL;
	}
	result_set_int(o, "omitted", (long long)heartbeat_config_fit(hc, a));
	return o;
}
