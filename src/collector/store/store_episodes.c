/*
 * store_episodes.c -- the read behind episodes (store_episodes.h): one
 * query, in the order of the (probe, time) index, so that neither
 * database sorts the rows of a day.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "db.h"
#include "store_episodes.h"
#include "store_int.h"

struct store_episode_read {
	int (*cb)(void *, const struct store_episode_row *);
	void *arg;
	long long given;
};

static const char *
store_episode_text(const struct db_value *v)
{
	return v->type == DB_TEXT ? v->p : NULL;
}

static int
store_episode_cb(void *arg, const struct db_row *row)
{
	struct store_episode_read *rd = arg;
	const struct db_value *c = row->col;
	struct store_episode_row r;
	const char *type;

	if (row->n < 13 || (type = store_episode_text(&c[3])) == NULL ||
	    (r.probe = store_episode_text(&c[2])) == NULL)
		return 0; /* NOT NULL columns: cannot happen */
	r.id = store_col_int(&c[0], 0);
	r.time = store_col_int(&c[1], -1);
	r.heartbeat = strcmp(type, "heartbeat") == 0;
	r.name = store_episode_text(&c[4]);
	r.server = store_episode_text(&c[5]);
	r.addr = store_episode_text(&c[6]);
	r.proto = store_episode_text(&c[7]);
	r.af = store_col_int(&c[8], -1);
	r.ok = r.heartbeat ? -1 : store_col_int(&c[9], 0) != 0;
	r.failure = store_episode_text(&c[10]);
	r.country = store_episode_text(&c[11]);
	r.asn = store_col_int(&c[12], -1);
	rd->given++;
	return rd->cb(rd->arg, &r);
}

long long
store_episode_rows(struct store *st, cw_usec_t from, cw_usec_t to,
    bool heartbeats, int (*cb)(void *arg, const struct store_episode_row *r),
    void *arg)
{
	struct store_episode_read rd = { cb, arg, 0 };
	struct db_value p[2];
	char sql[640];
	int n = 0;

	p[n++] = DB_V_INT(from);
	p[n++] = DB_V_INT(to > 0 ? to : INT64_MAX);
	snprintf(sql, sizeof(sql),
	    "SELECT id, time, probe, type, name, server, addr, proto, af, ok, "
	    "failure, country, asn FROM records "
	    "WHERE time >= ? AND time < ? AND "
	    "((type IN ('dns', 'http') AND ok IS NOT NULL)%s) "
	    "ORDER BY probe, time, id",
	    heartbeats ? " OR type = 'heartbeat'" : "");
	if (db_query(st->db, sql, p, n, store_episode_cb, &rd) == -1) {
		store_set_error(st, "episodes");
		return STORE_E_DB;
	}
	return rd.given;
}
