/*
 * store_int.h -- what the parts of the store share, and nothing outside
 * them includes: the store itself and the helpers one part calls in
 * another.  store.c opens the store, migrates its schema, runs its
 * transactions and ingests batches; store_probe.c keeps probes and
 * enrollment tokens; store_read.c reads records back; store_batches.c
 * keeps and reads the batch signatures.  The error rule of store.h
 * holds here too: a helper that fails with the database puts the reason
 * in the store's error (store_set_error) and returns -1.
 */
#ifndef CW_STORE_INT_H
#define CW_STORE_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "db.h"
#include "store.h"

/* What a summary reads of a measurement result (r: records, p: probes;
 * store_measurements_by_time): all of it is in the indexes by probe and
 * by address (migration 5 on SQLite, 6 on PostgreSQL for the records
 * that fit: STORE_COVER_FITS), so that SQLite reads no table page and
 * PostgreSQL scans the index only (doc/performance.md). */
#define STORE_MSM_COLUMNS \
	"r.id, r.probe, p.num, r.type, r.time, r.name, r.server, r.addr, " \
	"r.proto, r.qname, r.port, r.af, r.ok, r.nsid, r.rtt_ms, r.soa_serial"
#define STORE_MSM_NCOLUMNS 16
/* The same but p.num, read of records alone (store_read). */
#define STORE_MSM_RECORD_COLUMNS \
	"r.id, r.probe, r.type, r.time, r.name, r.server, r.addr, r.proto, " \
	"r.qname, r.port, r.af, r.ok, r.nsid, r.rtt_ms, r.soa_serial"

/*
 * On PostgreSQL, whether a record's texts fit the indexes that cover a
 * summary there (migration 6), with `t` the records table's prefix ("r."
 * or "").  A B-tree entry over about 2,700 bytes is refused, and no text
 * a record holds is bounded but its probe (32 hex digits) and type
 * (under RECORD_TYPE_MAX): the covering indexes are partial, holding the
 * records whose other texts the summary reads come to at most 2,048
 * bytes (STORE_COVER_BYTES; an entry then stays under 2,400: 15
 * columns, their headers and alignment), and the few others are found
 * along records_time_long.  The text is the indexes' predicate:
 * PostgreSQL uses a partial index only for a query that holds the same
 * condition, so it must never change.  Statistics on the sum tell the
 * planner how few the others are.
 */
#define STORE_COVER_BYTES(t) \
	"(coalesce(octet_length(" t "name), 0) + " \
	"coalesce(octet_length(" t "server), 0) + " \
	"coalesce(octet_length(" t "addr), 0) + " \
	"coalesce(octet_length(" t "proto), 0) + " \
	"coalesce(octet_length(" t "qname), 0) + " \
	"coalesce(octet_length(" t "nsid), 0))"
#define STORE_COVER_FITS(t) "(" STORE_COVER_BYTES(t) " <= 2048)"

/* Buckets of the cache of measurement numbers, by (type, name). */
#define STORE_MSM_BUCKETS 256

struct store_msm;
struct store_log_group;

struct store {
	struct db *db;
	bool is_pg;
	bool in_group;                     /* a group transaction is open */
	struct store_log_group *log_group; /* its log (store_log.c) */
	char error[512];
	struct store_msm *msm[STORE_MSM_BUCKETS];
	char *insert_sql[4]; /* by store_chunks */
};

/* store_set_error: keep "`what`: the database's last error" as the
 * store's error (store_error_text). */
void store_set_error(struct store *st, const char *what);

/* store_col_int: an integer column, or `dflt` when it is NULL or not an
 * integer. */
long long store_col_int(const struct db_value *v, long long dflt);

/* store_col_text: a text or blob column into `out` of `size` (> 0)
 * bytes, cut to fit and always NUL-terminated; "" when it is NULL. */
void store_col_text(const struct db_value *v, char *out, size_t size);

/* store_begin, store_commit, store_rollback: one operation's
 * transaction, or a savepoint in the open group transaction
 * (store_group_begin).  store_begin and store_commit return 0, or -1
 * with the store's error set (a failed COMMIT outside a group has
 * rolled back and forgotten the cached measurement numbers);
 * store_rollback forgets them too. */
int store_begin(struct store *st);
int store_commit(struct store *st);
void store_rollback(struct store *st);

/* store_probe_key: a probe named by `id`, its id (RECORD_ID_HEX long) or
 * its number, as a value `v` to match in `*column` ("id" or "num", a
 * static string); -1 when `id` is neither. */
int store_probe_key(const char *id, struct db_value *v, const char **column);

/* store_rows_sql: `head` and `k` (> 0) copies of `row` joined by
 * commas: a multi-row INSERT.  The caller frees it; NULL when out of
 * memory. */
char *store_rows_sql(const char *head, const char *row, int k);

/* store_json_str: the string member `key` of `obj`, or NULL (owned by
 * obj). */
const char *store_json_str(json_t *obj, const char *key);

/* A SELECT built a condition at a time (store_read.c, store_batches.c):
 * its text and its parameters. */
#define STORE_QUERY_PARAMS 16
struct store_query {
	char sql[1800];
	size_t len;
	struct db_value p[STORE_QUERY_PARAMS];
	int n;
};

/* store_grow: room for element n of v, an array of *cap elements of
 * `size` bytes, which doubles (from 64) when full: the array to use
 * from now on (v, or where it moved; *cap updated), or NULL when out
 * of memory (v and *cap as they were). */
void *store_grow(void *v, size_t n, size_t *cap, size_t size);

/* store_query_where: append " AND <cond> ?" with the value `v`; a
 * `cond` that holds its "?" already is appended as it is. */
void store_query_where(struct store_query *q, const char *cond,
    struct db_value v);

/* store_query_probe: the condition that the probe named `probe` (an id
 * or a number, store_probe_key) is p.id or p.num.  Returns 0, or -1
 * when `probe` names no probe (the query would give no row). */
int store_query_probe(struct store_query *q, const char *probe);

/* store_query_probe_as: the same with the conditions `by_id` (the
 * probe's id) and `by_num` (its number) of the caller's columns. */
int store_query_probe_as(struct store_query *q, const char *probe,
    const char *by_id, const char *by_num);

/*
 * store_filter_where: append the conditions of filter `f` to `q`; the
 * records are `r` and the probes `p`, or (`arms`) the probe is named by
 * the record's column only.  Returns 0, or 1 when the filter names no
 * probe (the query would give no row).
 */
int store_filter_where(const struct store_filter *f, bool arms,
    struct store_query *q);

/* store_batch_keep: keep the signature of batch `b` (store_batch: none
 * when it has none) and what it covers, `forks` (n of them) the indexes
 * of its records that were kept as equivocations; in the ingest's
 * transaction.  The same body kept already changes nothing.  Returns 0,
 * or -1 with the store's error set. */
int store_batch_keep(struct store *st, const struct store_batch *b,
    const size_t *forks, size_t nforks);

#endif /* CW_STORE_INT_H */
