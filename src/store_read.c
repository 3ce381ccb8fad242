/*
 * store_read.c -- time-ordered reads of the records (store_read.h), on
 * the schema of store.c's migrations.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_read.h"

#define STORE_READ_COLUMNS \
	"r.id, r.line, r.probe, p.num, r.chain, r.seq, r.received_at, " \
	"r.type, r.time, r.name, r.msm, r.server, r.addr, r.proto, r.qname, " \
	"r.qtype, r.port, r.af, r.ok, r.failure, r.rcode, r.nsid, r.rtt_ms, " \
	"r.soa_serial, r.country, r.asn"
#define STORE_READ_NCOLUMNS	26

struct store_read {
	int		(*cb)(void *, const struct store_row *);
	void		*arg;
	long long	 given;
	struct store_cursor last;
};

static long long
store_read_int(const struct db_value *v)
{
	return v->type == DB_INT ? v->i : -1;
}

/* A text column as a C string (db.h: TEXT columns end in a NUL), or
 * NULL when it is NULL. */
static const char *
store_read_text(const struct db_value *v)
{
	return v->type == DB_TEXT ? v->p : NULL;
}

static int
store_read_cb(void *arg, const struct db_row *row)
{
	struct store_read *rd = arg;
	const struct db_value *c = row->col;
	struct store_row r;
	int stop;

	if (row->n < STORE_READ_NCOLUMNS || c[1].type != DB_BLOB)
		return 0;
	memset(&r, 0, sizeof(r));
	r.id = store_read_int(&c[0]);
	r.line = c[1].p;
	r.len = c[1].len;
	r.probe = store_read_text(&c[2]);
	r.probe_num = store_read_int(&c[3]);
	r.chain = store_read_text(&c[4]);
	r.seq = store_read_int(&c[5]);
	r.received_at = store_read_int(&c[6]);
	r.type = store_read_text(&c[7]);
	r.time = store_read_int(&c[8]);
	r.name = store_read_text(&c[9]);
	r.msm = store_read_int(&c[10]);
	r.server = store_read_text(&c[11]);
	r.addr = store_read_text(&c[12]);
	r.proto = store_read_text(&c[13]);
	r.qname = store_read_text(&c[14]);
	r.qtype = store_read_text(&c[15]);
	r.port = store_read_int(&c[16]);
	r.af = store_read_int(&c[17]);
	r.ok = (int)store_read_int(&c[18]);
	r.failure = store_read_text(&c[19]);
	r.rcode = store_read_text(&c[20]);
	r.nsid = store_read_text(&c[21]);
	if (c[22].type == DB_REAL || c[22].type == DB_INT) {
		r.has_rtt = true;
		r.rtt_ms = c[22].type == DB_REAL ? c[22].r : (double)c[22].i;
	}
	r.soa_serial = store_read_int(&c[23]);
	r.country = store_read_text(&c[24]);
	r.asn = store_read_int(&c[25]);
	if (r.probe == NULL || r.chain == NULL || r.type == NULL)
		return 0;	/* NOT NULL columns: cannot happen */
	stop = rd->cb(rd->arg, &r);
	rd->given++;
	rd->last.time = r.time;
	rd->last.id = r.id;
	return stop;
}

/* The probe filter: an id (32 hex) or a number. */
static int
store_read_probe(const char *probe, struct db_value *v, bool *by_id)
{
	char *end;
	long long num;

	if (strlen(probe) == RECORD_ID_HEX) {
		*v = DB_V_TEXT(probe);
		*by_id = true;
		return 0;
	}
	num = strtoll(probe, &end, 10);
	if (end == probe || *end != '\0' || num < 1)
		return -1;
	*v = DB_V_INT(num);
	*by_id = false;
	return 0;
}

long long
store_results_by_time(struct store *st, const struct store_filter *f,
    bool measurements, struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg)
{
	struct store_read rd = {cb, arg, 0, *cur};
	struct db_value p[14];
	char sql[1400];
	size_t len;
	int n = 0;

	/* The cursor as a range on time (not an OR of two), so that both
	 * databases walk the time index from the cursor on and need no
	 * sort: rows are (time, id) ordered in it. */
	len = (size_t)snprintf(sql, sizeof(sql), "SELECT " STORE_READ_COLUMNS
	    " FROM records r JOIN probes p ON p.id = r.probe WHERE "
	    "r.time >= ? AND (r.time > ? OR r.id > ?)");
	p[n++] = DB_V_INT(cur->time);
	p[n++] = DB_V_INT(cur->time);
	p[n++] = DB_V_INT(cur->id);
#define STORE_READ_WHERE(cond, value) do {				\
	len += (size_t)snprintf(sql + len, sizeof(sql) - len,		\
	    " AND " cond " ?");						\
	p[n++] = (value);						\
} while (0)
	if (f->from != 0)
		STORE_READ_WHERE("r.time >=", DB_V_INT(f->from));
	if (f->to != 0)
		STORE_READ_WHERE("r.time <", DB_V_INT(f->to));
	if (f->probe != NULL) {
		struct db_value key;
		bool by_id;
		if (store_read_probe(f->probe, &key, &by_id) == -1)
			return 0;	/* no such probe: nothing matches */
		if (by_id)
			STORE_READ_WHERE("p.id =", key);
		else
			STORE_READ_WHERE("p.num =", key);
	}
	if (f->type != NULL)
		STORE_READ_WHERE("r.type =", DB_V_TEXT(f->type));
	if (f->name != NULL)
		STORE_READ_WHERE("r.name =", DB_V_TEXT(f->name));
	if (f->addr != NULL)
		STORE_READ_WHERE("r.addr =", DB_V_TEXT(f->addr));
	if (f->country != NULL)
		STORE_READ_WHERE("r.country =", DB_V_TEXT(f->country));
	if (f->asn >= 0)
		STORE_READ_WHERE("r.asn =", DB_V_INT(f->asn));
#undef STORE_READ_WHERE
	if (measurements)
		len += (size_t)snprintf(sql + len, sizeof(sql) - len,
		    " AND r.ok IS NOT NULL AND r.type IN ('dns', 'http')");
	snprintf(sql + len, sizeof(sql) - len,
	    " ORDER BY r.time, r.id LIMIT ?");
	p[n++] = DB_V_INT(limit > (size_t)INT32_MAX ? INT32_MAX :
	    (long long)limit);
	if (db_query(store_db(st), sql, p, n, store_read_cb, &rd) == -1)
		return STORE_E_DB;
	if (rd.given > 0)
		*cur = rd.last;
	return rd.given;
}
