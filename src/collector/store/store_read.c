/*
 * store_read.c -- the store's records read back, in the order of their
 * ids or of their measurement times, through a filter: what the
 * exporter and the summary read.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "store.h"
#include "store_int.h"

/* --- Reading back --- */

void
store_filter_init(struct store_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->asn = -1;
}

#define STORE_ROW_COLUMNS \
	"r.id, r.line, r.probe, p.num, r.chain, r.seq, r.received_at, " \
	"r.type, r.time, r.name, r.msm, r.server, r.addr, r.proto, r.qname, " \
	"r.qtype, r.port, r.af, r.ok, r.failure, r.rcode, r.nsid, r.rtt_ms, " \
	"r.soa_serial, r.country, r.asn, r.evidence, r.failure_detail, " \
	"r.txt, r.late_count, r.late_differ, r.truncated, r.tcp_fallback, " \
	"r.attempts, r.http_status"
#define STORE_ROW_NCOLUMNS 35

/* Whether a record fits PostgreSQL's covering indexes, as a read says. */
#define STORE_READ_FITS STORE_COVER_FITS("r.")

struct store_rows {
	int (*cb)(void *, const struct store_row *);
	void *arg;
	bool msm; /* STORE_MSM_COLUMNS, not STORE_ROW_COLUMNS */
	long long given;
	long long last;      /* id of the last row given */
	long long last_time; /* and its measurement time */
};

/* A text column as a C string (db.h: TEXT columns end in a NUL), or
 * NULL when it is NULL. */
static const char *
store_row_text(const struct db_value *v)
{
	return v->type == DB_TEXT ? v->p : NULL;
}

/* A row of STORE_ROW_COLUMNS into `r`.  Returns -1 when it is not one
 * (a NOT NULL column NULL: cannot happen). */
static int
store_row_parse(const struct db_row *row, struct store_row *r)
{
	const struct db_value *c = row->col;

	if (row->n < STORE_ROW_NCOLUMNS || c[1].type != DB_BLOB)
		return -1;
	memset(r, 0, sizeof(*r));
	r->id = store_col_int(&c[0], 0);
	r->line = c[1].p;
	r->len = c[1].len;
	r->probe = store_row_text(&c[2]);
	r->probe_num = store_col_int(&c[3], -1);
	r->chain = store_row_text(&c[4]);
	r->seq = store_col_int(&c[5], -1);
	r->received_at = store_col_int(&c[6], -1);
	r->type = store_row_text(&c[7]);
	r->time = store_col_int(&c[8], -1);
	r->name = store_row_text(&c[9]);
	r->msm = store_col_int(&c[10], -1);
	r->server = store_row_text(&c[11]);
	r->addr = store_row_text(&c[12]);
	r->proto = store_row_text(&c[13]);
	r->qname = store_row_text(&c[14]);
	r->qtype = store_row_text(&c[15]);
	r->port = store_col_int(&c[16], -1);
	r->af = store_col_int(&c[17], -1);
	r->ok = (int)store_col_int(&c[18], -1);
	r->failure = store_row_text(&c[19]);
	r->rcode = store_row_text(&c[20]);
	r->nsid = store_row_text(&c[21]);
	if (c[22].type == DB_REAL || c[22].type == DB_INT) {
		r->has_rtt = true;
		r->rtt_ms = c[22].type == DB_REAL ? c[22].r : (double)c[22].i;
	}
	r->soa_serial = store_col_int(&c[23], -1);
	r->country = store_row_text(&c[24]);
	r->asn = store_col_int(&c[25], -1);
	r->has_evidence = store_col_int(&c[26], -1) == 1;
	r->ev.failure_detail = store_row_text(&c[27]);
	r->ev.txt = store_row_text(&c[28]);
	r->ev.late_count = store_col_int(&c[29], -1);
	r->ev.late_differ = (int)store_col_int(&c[30], -1);
	r->ev.truncated = (int)store_col_int(&c[31], -1);
	r->ev.tcp_fallback = (int)store_col_int(&c[32], -1);
	r->ev.attempts = store_col_int(&c[33], -1);
	r->ev.http_status = store_col_int(&c[34], -1);
	return r->probe == NULL || r->chain == NULL || r->type == NULL ? -1 : 0;
}

/* A row of STORE_MSM_COLUMNS into `r`, what it has not absent.
 * Returns -1 when it is not one (cannot happen). */
static int
store_msm_parse(const struct db_row *row, struct store_row *r)
{
	const struct db_value *c = row->col;

	if (row->n < STORE_MSM_NCOLUMNS)
		return -1;
	memset(r, 0, sizeof(*r));
	r->seq = r->received_at = r->msm = r->asn = -1;
	r->ev.late_count = r->ev.attempts = r->ev.http_status = -1;
	r->ev.late_differ = r->ev.truncated = r->ev.tcp_fallback = -1;
	r->id = store_col_int(&c[0], 0);
	r->probe = store_row_text(&c[1]);
	r->probe_num = store_col_int(&c[2], -1);
	r->type = store_row_text(&c[3]);
	r->time = store_col_int(&c[4], -1);
	r->name = store_row_text(&c[5]);
	r->server = store_row_text(&c[6]);
	r->addr = store_row_text(&c[7]);
	r->proto = store_row_text(&c[8]);
	r->qname = store_row_text(&c[9]);
	r->port = store_col_int(&c[10], -1);
	r->af = store_col_int(&c[11], -1);
	r->ok = (int)store_col_int(&c[12], -1);
	r->nsid = store_row_text(&c[13]);
	if (c[14].type == DB_REAL || c[14].type == DB_INT) {
		r->has_rtt = true;
		r->rtt_ms = c[14].type == DB_REAL ? c[14].r : (double)c[14].i;
	}
	r->soa_serial = store_col_int(&c[15], -1);
	return r->probe == NULL || r->type == NULL ? -1 : 0;
}

static int
store_rows_cb(void *arg, const struct db_row *row)
{
	struct store_rows *rows = arg;
	struct store_row r;
	int stop;

	if ((rows->msm ? store_msm_parse(row, &r) : store_row_parse(row, &r)) ==
	    -1)
		return 0;
	stop = rows->cb(rows->arg, &r);
	rows->given++;
	rows->last = r.id;
	rows->last_time = r.time;
	return stop;
}

void
store_query_where(struct store_query *q, const char *cond, struct db_value v)
{
	q->len += (size_t)snprintf(q->sql + q->len, sizeof(q->sql) - q->len,
	    " AND %s ?", cond);
	q->p[q->n++] = v;
}

int
store_query_probe(struct store_query *q, const char *probe)
{
	struct db_value key;
	const char *column;

	if (store_probe_key(probe, &key, &column) == -1)
		return -1;
	store_query_where(q,
	    strcmp(column, "id") == 0 ? "p.id =" : "p.num =", key);
	return 0;
}

int
store_filter_where(const struct store_filter *f, bool arms, char *where,
    size_t size, size_t *lenp, struct db_value *p, int *np)
{
	size_t len = *lenp;
	int n = *np;

#define STORE_WHERE(cond, value) \
	do { \
		len += (size_t)snprintf(where + len, size - len, " AND %s", \
		    (cond)); \
		p[n++] = (value); \
	} while (0)
	if (f->from != 0)
		STORE_WHERE("r.time >= ?", DB_V_INT(f->from));
	if (f->to != 0)
		STORE_WHERE("r.time < ?", DB_V_INT(f->to));
	if (f->probe != NULL) {
		struct db_value key;
		const char *column;
		if (store_probe_key(f->probe, &key, &column) == -1)
			return 1;
		if (strcmp(column, "id") == 0)
			STORE_WHERE(arms ? "r.probe = ?" : "p.id = ?", key);
		else
			STORE_WHERE(arms ? "r.probe = (SELECT id FROM probes "
			                   "WHERE num = ?)" :
			                   "p.num = ?",
			    key);
	}
	if (f->type != NULL)
		STORE_WHERE("r.type = ?", DB_V_TEXT(f->type));
	if (f->name != NULL)
		STORE_WHERE("r.name = ?", DB_V_TEXT(f->name));
	if (f->addr != NULL)
		STORE_WHERE("r.addr = ?", DB_V_TEXT(f->addr));
	if (f->country != NULL)
		STORE_WHERE("r.country = ?", DB_V_TEXT(f->country));
	if (f->asn >= 0)
		STORE_WHERE("r.asn = ?", DB_V_INT(f->asn));
	if (f->no_heartbeats)
		STORE_WHERE("r.type <> ?", DB_V_TEXT("heartbeat"));
#undef STORE_WHERE
	*lenp = len;
	*np = n;
	return 0;
}

/*
 * One read of records for both orders: `cursor` is the SQL condition
 * that says where the read goes on (its `ncur` values in `cur`), `extra`
 * more conditions or "", `order` the ORDER BY; the filter's conditions
 * are added.  The rows go to `rows`.  On PostgreSQL, a read of what a
 * summary reads (rows->msm, in (time, id) order) of a probe or an
 * address takes its page from the records that fit its covering indexes
 * (keyed by one or the other) and from the others
 * (STORE_COVER_FITS), each along its own index and in order: two
 * limited reads whose union is sorted (the planner would sort every
 * record of the window for a union unlimited), joined to the probes
 * after, and so the filter names the probe by the record's column.
 * Returns 0, or STORE_E_DB.
 */
static int
store_read(struct store *st, const struct store_filter *f, const char *cursor,
    const struct db_value *cur, int ncur, const char *extra, const char *order,
    size_t limit, struct store_rows *rows)
{
	bool arms = st->is_pg && rows->msm &&
	    (f->probe != NULL || f->addr != NULL);
	struct db_value p[32],
	    lim = DB_V_INT(
	        limit > (size_t)INT32_MAX ? INT32_MAX : (long long)limit);
	char where[1024], sql[4096];
	size_t len;
	int n = 0, nwhere, wrote;

	len = (size_t)snprintf(where, sizeof(where), "%s", cursor);
	for (int i = 0; i < ncur; i++)
		p[n++] = cur[i];
	if (store_filter_where(f, arms, where, sizeof(where), &len, p, &n) == 1)
		return STORE_OK; /* no such probe: no rows */
	snprintf(where + len, sizeof(where) - len, "%s", extra);
	nwhere = n;
	if (arms) {
		wrote = snprintf(sql, sizeof(sql),
		    "SELECT " STORE_MSM_COLUMNS " FROM ("
		    "(SELECT " STORE_MSM_RECORD_COLUMNS " FROM records r "
		    "WHERE %s AND " STORE_READ_FITS " "
		    "ORDER BY r.time, r.id LIMIT ?) UNION ALL "
		    "(SELECT " STORE_MSM_RECORD_COLUMNS " FROM records r "
		    "WHERE %s AND NOT " STORE_READ_FITS " "
		    "ORDER BY r.time, r.id LIMIT ?)) r "
		    "JOIN probes p ON p.id = r.probe "
		    "ORDER BY r.time, r.id LIMIT ?",
		    where, where);
		p[n++] = lim;
		for (int i = 0; i < nwhere; i++)
			p[n++] = p[i];
		p[n++] = lim;
	} else
		wrote = snprintf(sql, sizeof(sql),
		    "SELECT %s FROM records r JOIN probes p ON p.id = r.probe "
		    "WHERE %s ORDER BY %s LIMIT ?",
		    rows->msm ? STORE_MSM_COLUMNS : STORE_ROW_COLUMNS, where,
		    order);
	p[n++] = lim;
	if (wrote < 0 || (size_t)wrote >= sizeof(sql)) {
		snprintf(st->error, sizeof(st->error),
		    "results: the query is too long");
		return STORE_E_DB;
	}
	if (db_query(st->db, sql, p, n, store_rows_cb, rows) == -1) {
		store_set_error(st, "results");
		return STORE_E_DB;
	}
	return STORE_OK;
}

long long
store_results(struct store *st, const struct store_filter *f, long long after,
    size_t limit, int (*cb)(void *arg, const struct store_row *row), void *arg,
    long long *last)
{
	struct store_rows rows = { cb, arg, false, 0, 0, 0 };
	struct db_value cur = DB_V_INT(after);

	if (store_read(st, f, "r.id > ?", &cur, 1, "", "r.id", limit, &rows) !=
	    STORE_OK)
		return STORE_E_DB;
	if (rows.given > 0 && last != NULL)
		*last = rows.last;
	return rows.given;
}

/* A time-ordered read of `rows` (store_results_by_time()). */
static long long
store_read_by_time(struct store *st, const struct store_filter *f,
    struct store_cursor *cur, size_t limit, struct store_rows *rows)
{
	struct store_cursor at = *cur;
	struct db_value c[3];

	/* A cursor before `from` starts at `from` (ids are positive):
	 * SQLite bounds its index range by one of the two lower bounds,
	 * and the first cursor's would read the index from its start (a
	 * target's day in a week of data read seven days of it). */
	if (f->from != 0 && at.time < f->from) {
		at.time = f->from;
		at.id = 0;
	}
	c[0] = DB_V_INT(at.time);
	c[1] = DB_V_INT(at.time);
	c[2] = DB_V_INT(at.id);
	/* The cursor as a range on time (not an OR of two), so that both
	 * databases walk the time index from the cursor on and need no
	 * sort: rows are (time, id) ordered in it. */
	if (store_read(st, f, "r.time >= ? AND (r.time > ? OR r.id > ?)", c, 3,
	        rows->msm ? " AND r.ok IS NOT NULL AND r.type IN ('dns', "
	                    "'http')" :
	                    "",
	        "r.time, r.id", limit, rows) != STORE_OK)
		return STORE_E_DB;
	if (rows->given > 0) {
		cur->time = rows->last_time;
		cur->id = rows->last;
	}
	return rows->given;
}

long long
store_results_by_time(struct store *st, const struct store_filter *f,
    struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg)
{
	struct store_rows rows = { cb, arg, false, 0, 0, 0 };

	return store_read_by_time(st, f, cur, limit, &rows);
}

long long
store_measurements_by_time(struct store *st, const struct store_filter *f,
    struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg)
{
	struct store_rows rows = { cb, arg, true, 0, 0, 0 };

	return store_read_by_time(st, f, cur, limit, &rows);
}
