/*
 * store_episodes.c -- the episode tables (store_episodes.h): kept up to
 * date by each ingest, read by episodes.c.
 *
 * An ingest loads the probe's state (a row per target, tens of them),
 * reads back the records it has just stored, in seq order, with the ids
 * the database gave them, and walks them in memory; then it writes the
 * targets it touched and the runs that changed, each in one statement.
 * A result that had nothing to query (dns_no_servers: a TLD whose
 * servers are not known yet) measured no target: it is left out.
 * Nothing is written while a query is being read (libpq reads a result
 * whole, SQLite could not write under an open statement on every
 * version): the changes are collected first.
 */
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "db.h"
#include "store_episodes.h"
#include "store_int.h"

/* A target of the probe (or its heartbeats: target ""), as stored in
 * episode_state, with what the ingest changed. */
struct se_target {
	char *target, *name, *server, *addr, *proto, *names, *country;
	long long af, asn;
	long long last_time, last_ok_id, last_ok_time;
	long long first_id, first_time, last_id, last_f_time, failures;
	cw_usec_t interval; /* heartbeats: what the last declared; 0 unread */
	bool dirty;         /* write its state */
	bool run_dirty;     /* write its open run */
};

/* A run (or a silence) to write to episode_runs. */
struct se_run {
	bool silence;
	size_t target; /* its target's index in se_ingest.t */
	long long last_ok_id, last_ok_time, first_id, first_time;
	long long last_id, last_time, first_ok_id, first_ok_time;
	long long failures;
	char *names, *country; /* owned */
	long long asn;
};

struct se_ingest {
	struct se_target *t;
	size_t nt, tcap;
	struct se_run *runs;
	size_t nruns, rcap;
	bool oom;
};

static char *
se_dup(const struct db_value *v)
{
	char *s;

	if (v->type != DB_TEXT && v->type != DB_BLOB)
		return NULL;
	if ((s = malloc(v->len + 1)) == NULL)
		return NULL;
	memcpy(s, v->p, v->len);
	s[v->len] = '\0';
	return s;
}

static const char *
se_text(const struct db_value *v)
{
	return v->type == DB_TEXT ? v->p : NULL;
}

static bool
se_eq(const char *a, const char *b)
{
	return a == NULL ? b == NULL : b != NULL && strcmp(a, b) == 0;
}

static void
se_target_free(struct se_target *t)
{
	free(t->target);
	free(t->name);
	free(t->server);
	free(t->addr);
	free(t->proto);
	free(t->names);
	free(t->country);
}

static void
se_ingest_free(struct se_ingest *in)
{
	for (size_t i = 0; i < in->nt; i++)
		se_target_free(&in->t[i]);
	free(in->t);
	for (size_t i = 0; i < in->nruns; i++) {
		free(in->runs[i].names);
		free(in->runs[i].country);
	}
	free(in->runs);
}

/* A new target at the end of in->t, zeroed; NULL out of memory. */
static struct se_target *
se_target_push(struct se_ingest *in)
{
	if (in->nt == in->tcap) {
		size_t cap = in->tcap == 0 ? 32 : in->tcap * 2;
		struct se_target *v = reallocarray(in->t, cap, sizeof(*v));
		if (v == NULL)
			return NULL;
		in->t = v;
		in->tcap = cap;
	}
	memset(&in->t[in->nt], 0, sizeof(in->t[0]));
	in->t[in->nt].af = in->t[in->nt].asn = -1;
	in->t[in->nt].last_time = -1;
	return &in->t[in->nt++];
}

#define SE_STATE_COLUMNS \
	"target, name, server, addr, proto, af, last_time, last_ok_id, " \
	"last_ok_time, run_first_id, run_first_time, run_last_id, " \
	"run_last_time, run_failures, run_names, country, asn"

static int
se_state_cb(void *arg, const struct db_row *row)
{
	struct se_ingest *in = arg;
	const struct db_value *c = row->col;
	struct se_target *t;

	if (row->n < 17)
		return 0;
	if ((t = se_target_push(in)) == NULL) {
		in->oom = true;
		return 1;
	}
	t->target = se_dup(&c[0]);
	t->name = se_dup(&c[1]);
	t->server = se_dup(&c[2]);
	t->addr = se_dup(&c[3]);
	t->proto = se_dup(&c[4]);
	t->af = store_col_int(&c[5], -1);
	t->last_time = store_col_int(&c[6], -1);
	t->last_ok_id = store_col_int(&c[7], 0);
	t->last_ok_time = store_col_int(&c[8], 0);
	t->first_id = store_col_int(&c[9], 0);
	t->first_time = store_col_int(&c[10], 0);
	t->last_id = store_col_int(&c[11], 0);
	t->last_f_time = store_col_int(&c[12], 0);
	t->failures = store_col_int(&c[13], 0);
	t->names = se_dup(&c[14]);
	t->country = se_dup(&c[15]);
	t->asn = store_col_int(&c[16], -1);
	if (t->target == NULL)
		in->oom = true;
	return in->oom;
}

/* The key of a target: its columns joined by a unit separator. */
static char *
se_key(const char *name, const char *server, const char *addr,
    const char *proto, long long af)
{
	char *key;

	if (asprintf(&key, "%s\x1f%s\x1f%s\x1f%s\x1f%lld", name ? name : "",
	        server ? server : "", addr ? addr : "", proto ? proto : "",
	        af) == -1)
		return NULL;
	return key;
}

/* The target of a record, from the state or new; NULL out of memory. */
static struct se_target *
se_target_of(struct se_ingest *in, const struct db_value *c, bool heartbeat)
{
	const char *name = se_text(&c[3]), *server = se_text(&c[4]);
	const char *addr = se_text(&c[5]), *proto = se_text(&c[6]);
	long long af = store_col_int(&c[7], -1);
	struct se_target *t;

	for (size_t i = 0; i < in->nt; i++) {
		t = &in->t[i];
		if (heartbeat ?
		        t->target[0] == '\0' :
		        (t->target[0] != '\0' && t->af == af &&
		            se_eq(t->addr, addr) && se_eq(t->name, name) &&
		            se_eq(t->server, server) && se_eq(t->proto, proto)))
			return t;
	}
	if ((t = se_target_push(in)) == NULL)
		return NULL;
	if (heartbeat) {
		t->target = strdup("");
		return t->target != NULL ? t : NULL;
	}
	t->af = af;
	t->target = se_key(name, server, addr, proto, af);
	if (t->target == NULL || (name && !(t->name = strdup(name))) ||
	    (server && !(t->server = strdup(server))) ||
	    (addr && !(t->addr = strdup(addr))) ||
	    (proto && !(t->proto = strdup(proto))))
		return NULL;
	return t;
}

/* "name=count;..." with one more failure of `failure`, in a new
 * string; NULL out of memory. */
static char *
se_names_add(const char *names, const char *failure)
{
	size_t flen = strlen(failure);
	const char *s = names;
	char *out;

	while (s != NULL && *s != '\0') {
		const char *eq = strchr(s, '='), *end = strchr(s, ';');
		if (end == NULL)
			end = s + strlen(s);
		if (eq != NULL && eq < end && (size_t)(eq - s) == flen &&
		    memcmp(s, failure, flen) == 0) {
			long long n = strtoll(eq + 1, NULL, 10) + 1;
			if (asprintf(&out, "%.*s%lld%s", (int)(eq + 1 - names),
			        names, n, end) == -1)
				return NULL;
			return out;
		}
		s = *end == ';' ? end + 1 : end;
	}
	if (asprintf(&out, "%s%s%s=1", names != NULL ? names : "",
	        names != NULL && names[0] != '\0' ? ";" : "", failure) == -1)
		return NULL;
	return out;
}

/* Keep a run of `t` (its state now) to write, ended by `ok` (id 0: not
 * yet); a silence when `silence`. */
static bool
se_run_push(struct se_ingest *in, const struct se_target *t, bool silence,
    long long ok_id, long long ok_time)
{
	struct se_run *r;

	if (in->nruns == in->rcap) {
		size_t cap = in->rcap == 0 ? 16 : in->rcap * 2;
		struct se_run *v = reallocarray(in->runs, cap, sizeof(*v));
		if (v == NULL)
			return false;
		in->runs = v;
		in->rcap = cap;
	}
	r = &in->runs[in->nruns];
	memset(r, 0, sizeof(*r));
	r->silence = silence;
	r->target = (size_t)(t - in->t);
	r->last_ok_id = t->last_ok_id;
	r->last_ok_time = t->last_ok_time;
	r->first_id = silence ? 0 : t->first_id;
	r->first_time = silence ? 0 : t->first_time;
	r->last_id = silence ? 0 : t->last_id;
	r->last_time = silence ? 0 : t->last_f_time;
	r->first_ok_id = ok_id;
	r->first_ok_time = ok_time;
	r->failures = silence ? 0 : t->failures;
	r->asn = t->asn;
	if ((!silence && t->names != NULL &&
	        (r->names = strdup(t->names)) == NULL) ||
	    (t->country != NULL && (r->country = strdup(t->country)) == NULL)) {
		free(r->names);
		return false;
	}
	in->nruns++;
	return true;
}

/* The country and ASN of record `c` onto `t`. */
static void
se_tag(struct se_target *t, const struct db_value *c)
{
	free(t->country);
	t->country = se_dup(&c[10]);
	t->asn = store_col_int(&c[11], -1);
}

cw_usec_t
store_heartbeat_interval(const void *line, size_t len)
{
	json_t *o = json_loadb(line, len, 0, NULL);
	json_t *v = json_object_get(o, "interval_s");
	double s = json_is_number(v) ? json_number_value(v) : 0;
	cw_usec_t usec = STORE_HEARTBEAT_DEFAULT;

	/* A day at most: a gap of twice that is a silence whatever. */
	if (isfinite(s) && s > 0 && s <= 86400)
		usec = (cw_usec_t)(s * 1e6);
	json_decref(o);
	return usec;
}

static int
se_line_cb(void *arg, const struct db_row *row)
{
	struct se_target *t = arg;

	if (row->n >= 1 && row->col[0].type != DB_NULL)
		t->interval = store_heartbeat_interval(row->col[0].p,
		    row->col[0].len);
	return 1;
}

/* The interval the probe's last heartbeat (an earlier batch's)
 * declared, from its record, into its target in `in`: read before the
 * batch's records, not under their query.  Returns 0, or -1 for a
 * database error. */
static int
se_interval_read(struct store *st, struct se_ingest *in)
{
	for (size_t i = 0; i < in->nt; i++) {
		struct se_target *t = &in->t[i];
		struct db_value p[1] = { DB_V_INT(t->last_ok_id) };
		if (t->target[0] != '\0' || t->last_ok_id == 0)
			continue;
		t->interval = STORE_HEARTBEAT_DEFAULT;
		return db_query(st->db, "SELECT line FROM records WHERE id = ?",
		    p, 1, se_line_cb, t);
	}
	return 0;
}

/* Take one record (a row of store_episodes_ingest's read). */
static bool
se_take(struct se_ingest *in, const struct db_row *row)
{
	const struct db_value *c = row->col;
	long long id = store_col_int(&c[0], 0), time = store_col_int(&c[1], 0);
	const char *type = se_text(&c[2]);
	bool heartbeat = type != NULL && strcmp(type, "heartbeat") == 0;
	struct se_target *t;
	char *names;

	if ((t = se_target_of(in, c, heartbeat)) == NULL)
		return false;
	if (time <= t->last_time)
		return true; /* taken already, or late: see the header */
	t->last_time = time;
	t->dirty = true;
	if (heartbeat) {
		if (t->last_ok_id != 0 &&
		    time - t->last_ok_time > 2 * t->interval &&
		    !se_run_push(in, t, true, id, time))
			return false;
		t->interval = store_heartbeat_interval(c[12].p, c[12].len);
		se_tag(t, c);
	} else if (store_col_int(&c[8], 0) != 0) {
		if (t->failures > 0 && !se_run_push(in, t, false, id, time))
			return false;
		free(t->names);
		t->names = NULL;
		t->failures = 0;
		t->first_id = t->last_id = 0;
		t->run_dirty = false;
	} else {
		/* A run is tagged with its first failure's country. */
		if (t->failures++ == 0) {
			t->first_id = id;
			t->first_time = time;
			se_tag(t, c);
		}
		t->last_id = id;
		t->last_f_time = time;
		t->run_dirty = true;
		names = se_names_add(t->names,
		    se_text(&c[9]) != NULL ? se_text(&c[9]) : "unknown");
		if (names == NULL)
			return false;
		free(t->names);
		t->names = names;
		return true;
	}
	t->last_ok_id = id;
	t->last_ok_time = time;
	return true;
}

static int
se_record_cb(void *arg, const struct db_row *row)
{
	struct se_ingest *in = arg;

	if (row->n < 13 || !se_take(in, row)) {
		in->oom = true;
		return 1;
	}
	return 0;
}

static struct db_value
se_v_text(const char *s)
{
	return s != NULL ? DB_V_TEXT(s) : DB_V_NULL;
}

static struct db_value
se_v_id(long long id)
{
	return id > 0 ? DB_V_INT(id) : DB_V_NULL;
}

static struct db_value
se_v_time(long long id, long long time)
{
	return id > 0 ? DB_V_INT(time) : DB_V_NULL;
}

static int
se_run_write(struct store *st, const char *probe, const struct se_run *r,
    const struct se_target *t)
{
	struct db_value p[22];
	long long start = r->silence ? r->last_ok_time : r->first_time;

	p[0] = DB_V_INT(r->silence ? r->first_ok_id : r->first_id);
	p[1] = DB_V_INT(r->silence);
	p[2] = DB_V_TEXT(probe);
	p[3] = se_v_text(r->silence ? NULL : t->name);
	p[4] = se_v_text(r->silence ? NULL : t->server);
	p[5] = se_v_text(r->silence ? NULL : t->addr);
	p[6] = se_v_text(r->silence ? NULL : t->proto);
	p[7] = r->silence || t->af < 0 ? DB_V_NULL : DB_V_INT(t->af);
	p[8] = se_v_text(r->country);
	p[9] = r->asn >= 0 ? DB_V_INT(r->asn) : DB_V_NULL;
	p[10] = se_v_id(r->last_ok_id);
	p[11] = se_v_time(r->last_ok_id, r->last_ok_time);
	p[12] = se_v_id(r->first_id);
	p[13] = se_v_time(r->first_id, r->first_time);
	p[14] = se_v_id(r->last_id);
	p[15] = se_v_time(r->last_id, r->last_time);
	p[16] = se_v_id(r->first_ok_id);
	p[17] = se_v_time(r->first_ok_id, r->first_ok_time);
	p[18] = DB_V_INT(r->failures);
	p[19] = se_v_text(r->names);
	p[20] = DB_V_INT(start);
	p[21] = se_v_time(r->first_ok_id, r->first_ok_time);
	return db_exec(st->db,
	    "INSERT INTO episode_runs (key_id, silence, probe, name, server, "
	    "addr, proto, af, country, asn, last_ok_id, last_ok_time, "
	    "first_id, first_time, last_id, last_time, first_ok_id, "
	    "first_ok_time, failures, names, start_time, end_time) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (key_id) DO UPDATE SET last_id = excluded.last_id, "
	    "last_time = excluded.last_time, first_ok_id = "
	    "excluded.first_ok_id, first_ok_time = excluded.first_ok_time, "
	    "failures = excluded.failures, names = excluded.names, "
	    "end_time = excluded.end_time",
	    p, 22);
}

static int
se_state_write(struct store *st, const char *probe, const struct se_target *t)
{
	struct db_value p[18];

	p[0] = DB_V_TEXT(probe);
	p[1] = DB_V_TEXT(t->target);
	p[2] = se_v_text(t->name);
	p[3] = se_v_text(t->server);
	p[4] = se_v_text(t->addr);
	p[5] = se_v_text(t->proto);
	p[6] = t->af >= 0 ? DB_V_INT(t->af) : DB_V_NULL;
	p[7] = DB_V_INT(t->last_time);
	p[8] = se_v_id(t->last_ok_id);
	p[9] = se_v_time(t->last_ok_id, t->last_ok_time);
	p[10] = se_v_id(t->failures > 0 ? t->first_id : 0);
	p[11] = se_v_time(t->failures > 0 ? t->first_id : 0, t->first_time);
	p[12] = se_v_id(t->failures > 0 ? t->last_id : 0);
	p[13] = se_v_time(t->failures > 0 ? t->last_id : 0, t->last_f_time);
	p[14] = DB_V_INT(t->failures);
	p[15] = se_v_text(t->failures > 0 ? t->names : NULL);
	p[16] = se_v_text(t->country);
	p[17] = t->asn >= 0 ? DB_V_INT(t->asn) : DB_V_NULL;
	return db_exec(st->db,
	    "INSERT INTO episode_state (probe, " SE_STATE_COLUMNS
	    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT (probe, target) DO UPDATE SET "
	    "last_time = excluded.last_time, last_ok_id = excluded.last_ok_id, "
	    "last_ok_time = excluded.last_ok_time, "
	    "run_first_id = excluded.run_first_id, "
	    "run_first_time = excluded.run_first_time, "
	    "run_last_id = excluded.run_last_id, "
	    "run_last_time = excluded.run_last_time, "
	    "run_failures = excluded.run_failures, "
	    "run_names = excluded.run_names, country = excluded.country, "
	    "asn = excluded.asn",
	    p, 18);
}

int
store_episodes_ingest(struct store *st, const char *probe, const char *chain,
    long long first, long long last)
{
	struct se_ingest in = { 0 };
	struct db_value p[4] = { DB_V_TEXT(probe), DB_V_TEXT(chain),
		DB_V_INT(first), DB_V_INT(last) };
	int rc = -1;

	if (db_query(st->db,
	        "SELECT " SE_STATE_COLUMNS " FROM episode_state "
	        "WHERE probe = ?",
	        p, 1, se_state_cb, &in) == -1 ||
	    in.oom || se_interval_read(st, &in) == -1)
		goto out;
	if (db_query(st->db,
	        "SELECT id, time, type, name, server, addr, proto, af, ok, "
	        "failure, country, asn, CASE WHEN type = 'heartbeat' THEN "
	        "line END FROM records WHERE probe = ? AND "
	        "chain = ? AND seq >= ? AND seq <= ? AND time IS NOT NULL "
	        "AND ((type IN ('dns', 'http') AND ok IS NOT NULL AND "
	        "(failure IS NULL OR failure <> 'dns_no_servers')) OR "
	        "type = 'heartbeat') ORDER BY seq",
	        p, 4, se_record_cb, &in) == -1 ||
	    in.oom)
		goto out;
	/* The runs still open, as they are now. */
	for (size_t i = 0; i < in.nt; i++)
		if (in.t[i].run_dirty && in.t[i].failures > 0 &&
		    !se_run_push(&in, &in.t[i], false, 0, 0)) {
			in.oom = true;
			goto out;
		}
	for (size_t i = 0; i < in.nruns; i++)
		if (se_run_write(st, probe, &in.runs[i],
		        &in.t[in.runs[i].target]) == -1)
			goto out;
	for (size_t i = 0; i < in.nt; i++)
		if (in.t[i].dirty && se_state_write(st, probe, &in.t[i]) == -1)
			goto out;
	rc = 0;
out:
	if (in.oom)
		store_set_error(st, "episodes: out of memory");
	else if (rc == -1)
		store_set_error(st, "episodes");
	se_ingest_free(&in);
	return rc;
}

/* --- Reading --- */

struct se_read {
	int (*cb)(void *, const struct store_episode_run *);
	void *arg;
	long long given;
};

static int
se_run_cb(void *arg, const struct db_row *row)
{
	struct se_read *rd = arg;
	const struct db_value *c = row->col;
	struct store_episode_run r;

	if (row->n < 19 || (r.probe = se_text(&c[1])) == NULL)
		return 0;
	r.silence = store_col_int(&c[0], 0) != 0;
	r.name = se_text(&c[2]);
	r.server = se_text(&c[3]);
	r.addr = se_text(&c[4]);
	r.proto = se_text(&c[5]);
	r.af = store_col_int(&c[6], -1);
	r.country = se_text(&c[7]);
	r.asn = store_col_int(&c[8], -1);
	r.last_ok_id = store_col_int(&c[9], 0);
	r.last_ok_time = store_col_int(&c[10], 0);
	r.first_id = store_col_int(&c[11], 0);
	r.first_time = store_col_int(&c[12], 0);
	r.last_id = store_col_int(&c[13], 0);
	r.last_time = store_col_int(&c[14], 0);
	r.first_ok_id = store_col_int(&c[15], 0);
	r.first_ok_time = store_col_int(&c[16], 0);
	r.failures = store_col_int(&c[17], 0);
	r.names = se_text(&c[18]);
	rd->given++;
	return rd->cb(rd->arg, &r);
}

/* What store_episode_runs() reads of a run, in se_run_cb()'s order. */
#define SE_RUN_COLUMNS \
	"silence, probe, name, server, addr, proto, af, country, asn, " \
	"last_ok_id, last_ok_time, first_id, first_time, last_id, " \
	"last_time, first_ok_id, first_ok_time, failures, names"

long long
store_episode_runs(struct store *st, cw_usec_t from, cw_usec_t to,
    long long min_failures,
    int (*cb)(void *arg, const struct store_episode_run *r), void *arg)
{
	struct se_read rd = { cb, arg, 0 };
	struct db_value p[5] = { DB_V_INT(from),
		DB_V_INT(to > 0 ? to : INT64_MAX), DB_V_INT(min_failures),
		DB_V_INT(to > 0 ? to : INT64_MAX), DB_V_INT(min_failures) };

	/* Along episode_runs_end (migration 5): the runs that ended after
	 * `from`, then those still open, each judged on the index alone,
	 * so that the single losses of the days before are not read. */
	if (db_query(st->db,
	        "SELECT " SE_RUN_COLUMNS " FROM episode_runs WHERE "
	        "end_time > ? AND start_time < ? AND "
	        "(silence = 1 OR failures >= ?) UNION ALL SELECT " SE_RUN_COLUMNS
	        " FROM episode_runs WHERE end_time IS NULL "
	        "AND start_time < ? AND (silence = 1 OR failures >= ?)",
	        p, 5, se_run_cb, &rd) == -1 ||
	    db_query(st->db,
	        "SELECT 1, probe, NULL, NULL, NULL, NULL, NULL, country, asn, "
	        "last_ok_id, last_ok_time, NULL, NULL, NULL, NULL, NULL, NULL, "
	        "0, NULL FROM episode_state WHERE target = '' AND "
	        "last_ok_time < ?",
	        p + 1, 1, se_run_cb, &rd) == -1) {
		store_set_error(st, "episodes");
		return STORE_E_DB;
	}
	return rd.given;
}

static int
se_count_cb(void *arg, const struct db_row *row)
{
	long long *v = arg;

	if (row->n >= 2) {
		v[0] = store_col_int(&row->col[0], 0);
		v[1] = store_col_int(&row->col[1], 0);
	}
	return 0;
}

int
store_episode_count(struct store *st, const char *probe, cw_usec_t t0,
    cw_usec_t t1, long long *n, long long *failing)
{
	struct db_value p[3] = { DB_V_TEXT(probe), DB_V_INT(t0), DB_V_INT(t1) };
	long long v[2] = { 0, 0 };

	if (db_query(st->db,
	        "SELECT count(*), sum(CASE WHEN ok = 0 THEN 1 ELSE 0 END) "
	        "FROM records WHERE probe = ? AND time >= ? AND time <= ? AND "
	        "ok IS NOT NULL AND type IN ('dns', 'http')",
	        p, 3, se_count_cb, v) == -1) {
		store_set_error(st, "episodes");
		return STORE_E_DB;
	}
	*n = v[0];
	*failing = v[1];
	return STORE_OK;
}
