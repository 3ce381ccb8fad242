/*
 * store_bundle.c -- the store's part of an evidence bundle
 * (store_bundle.h): reads only, each one indexed query.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_bundle.h"
#include "store_int.h"
#include "store_log.h"

struct store_spans {
	struct store_span *v;
	size_t n, cap;
	bool nomem;
};

static int
store_spans_cb(void *arg, const struct db_row *row)
{
	struct store_spans *s = arg;
	struct store_span *sp;

	if (row->n < 4)
		return 0;
	if ((sp = store_grow(s->v, s->n, &s->cap, sizeof(*sp))) == NULL) {
		s->nomem = true;
		return 1;
	}
	s->v = sp;
	sp = &s->v[s->n];
	store_col_text(&row->col[0], sp->probe, sizeof(sp->probe));
	store_col_text(&row->col[1], sp->chain, sizeof(sp->chain));
	if (strlen(sp->probe) != RECORD_ID_HEX ||
	    strlen(sp->chain) != RECORD_ID_HEX)
		return 0; /* not a probe's or a chain's id: cannot be */
	sp->first = store_col_int(&row->col[2], -1);
	sp->last = store_col_int(&row->col[3], -1);
	if (sp->first < 1 || sp->last < sp->first)
		return 0;
	s->n++;
	return 0;
}

/* Probe, then chain, in byte order (whatever the database's collation
 * says of text). */
static int
store_span_cmp(const void *a, const void *b)
{
	const struct store_span *x = a, *y = b;
	int c = strcmp(x->probe, y->probe);

	return c != 0 ? c : strcmp(x->chain, y->chain);
}

int
store_bundle_spans(struct store *st, const struct store_filter *f,
    struct store_span **out, size_t *n)
{
	struct store_spans s = { 0 };
	struct store_query q = { .len = 0 };

	*out = NULL;
	*n = 0;
	q.len = (size_t)snprintf(q.sql, sizeof(q.sql),
	    "SELECT r.probe, r.chain, MIN(r.seq), MAX(r.seq) FROM records r "
	    "JOIN probes p ON p.id = r.probe WHERE 1 = 1");
	if (store_filter_where(f, false, &q) == 1)
		return STORE_OK; /* no such probe */
	snprintf(q.sql + q.len, sizeof(q.sql) - q.len,
	    " GROUP BY r.probe, r.chain");
	if (db_query(st->db, q.sql, q.p, q.n, store_spans_cb, &s) == -1 ||
	    s.nomem) {
		if (s.nomem)
			snprintf(st->error, sizeof(st->error),
			    "bundle: out of memory");
		else
			store_set_error(st, "bundle: the chains");
		free(s.v);
		return STORE_E_DB;
	}
	if (s.n > 1)
		qsort(s.v, s.n, sizeof(*s.v), store_span_cmp);
	*out = s.v;
	*n = s.n;
	return STORE_OK;
}

struct store_brecs {
	int (*cb)(void *, const struct store_bundle_rec *);
	void *arg;
	long long given;
};

static int
store_brecs_cb(void *arg, const struct db_row *row)
{
	struct store_brecs *b = arg;
	struct store_bundle_rec r;

	if (row->n < 3 || row->col[1].type != DB_BLOB)
		return 0;
	r.seq = store_col_int(&row->col[0], -1);
	r.line = row->col[1].p;
	r.len = row->col[1].len;
	r.log_index = store_col_int(&row->col[2], -1);
	b->given++;
	return b->cb(b->arg, &r);
}

long long
store_bundle_records(struct store *st, const char *probe, const char *chain,
    long long after, long long last, size_t limit,
    int (*cb)(void *arg, const struct store_bundle_rec *r), void *arg)
{
	struct store_brecs b = { cb, arg, 0 };
	struct db_value p[5] = {
		DB_V_TEXT(probe),
		DB_V_TEXT(chain),
		DB_V_INT(after),
		DB_V_INT(last),
		DB_V_INT(
		    limit > (size_t)INT32_MAX ? INT32_MAX : (long long)limit),
	};

	/* Along the (probe, chain, seq) unique index, in its order. */
	if (db_query(st->db,
	        "SELECT seq, line, log_index FROM records WHERE probe = ? "
	        "AND chain = ? AND seq > ? AND seq <= ? ORDER BY seq LIMIT ?",
	        p, 5, store_brecs_cb, &b) == -1) {
		store_set_error(st, "bundle: the records");
		return STORE_E_DB;
	}
	return b.given;
}

static int
store_count_cb(void *arg, const struct db_row *row)
{
	*(long long *)arg = row->n > 0 ? store_col_int(&row->col[0], -1) : -1;
	return 0;
}

int
store_bundle_count(struct store *st, const char *probe, const char *chain,
    long long first, long long last, long long *n)
{
	struct db_value p[4] = {
		DB_V_TEXT(probe),
		DB_V_TEXT(chain),
		DB_V_INT(first),
		DB_V_INT(last),
	};

	*n = -1;
	if (db_query(st->db,
	        "SELECT count(*) FROM records WHERE probe = ? AND chain = ? "
	        "AND seq >= ? AND seq <= ?",
	        p, 4, store_count_cb, n) == -1) {
		store_set_error(st, "bundle: the records");
		return STORE_E_DB;
	}
	return STORE_OK;
}

struct store_nodes_range {
	int (*cb)(void *, uint64_t, const unsigned char *);
	void *arg;
	uint64_t lo, hi;
};

/* A run's nodes from lo to hi, one by one. */
static int
store_nodes_range_cb(void *arg, const struct db_row *row)
{
	struct store_nodes_range *r = arg;
	struct store_log_run_row run;
	int stop;

	if (store_log_run_row(row, 0, &run) == -1)
		return 0; /* left out: the caller finds it missing */
	for (size_t i = 0; i < run.n; i++) {
		uint64_t index = run.index + i;
		if (index < r->lo || index > r->hi)
			continue;
		stop = r->cb(r->arg, index, run.hashes + i * MERKLE_HASH_LEN);
		if (stop != 0)
			return stop;
	}
	return 0;
}

int
store_log_nodes_range(struct store *st, unsigned level, uint64_t lo,
    uint64_t hi,
    int (*cb)(void *arg, uint64_t index,
        const unsigned char hash[MERKLE_HASH_LEN]),
    void *arg)
{
	struct store_nodes_range r = { cb, arg, lo, hi };
	/* The run that holds node lo starts at most STORE_LOG_RUN - 1
	 * before it. */
	struct db_value p[3] = {
		DB_V_INT((long long)level),
		DB_V_INT((long long)(lo - lo % STORE_LOG_RUN)),
		DB_V_INT((long long)hi),
	};

	if (db_query(st->db,
	        "SELECT level, idx, hashes FROM log_nodes WHERE level = ? "
	        "AND idx >= ? AND idx <= ? ORDER BY idx",
	        p, 3, store_nodes_range_cb, &r) == -1) {
		store_set_error(st, "bundle: the log's nodes");
		return STORE_E_DB;
	}
	return STORE_OK;
}
