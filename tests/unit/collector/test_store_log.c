/* test_store_log.c -- the collector's log of stored records, on SQLite
 * and, when CW_TEST_PG_URL names a database the test may wipe, on
 * PostgreSQL (tests/scenario/store_pg.sh): every stored record is a
 * leaf, in the order of commit, and nothing else is; roots and proofs
 * from the database check against a tree built here from the stored
 * lines; what is rolled back leaves no trace; the log survives a
 * reopen; damage is an error, not a wrong answer. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "merkle.h"
#include "store_fixture.h"
#include "store_log.h"

#define H MERKLE_HASH_LEN

static const char measurement[] =
    "\"time\":\"2026-11-26T10:00:00.123456Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":12.345,\"rcode\":\"NOERROR\"";

/* The stored lines by log index, as the test reads them back. */
struct leaves {
	unsigned char (*hash)[H];
	size_t n;
	long long last_index;
	bool in_order;
};

static int
leaves_cb(void *arg, const struct db_row *row)
{
	struct leaves *l = arg;
	long long index = row->col[0].type == DB_INT ? row->col[0].i : -1;

	assert_non_null(l->hash = reallocarray(l->hash, l->n + 1, H));
	merkle_leaf_hash(row->col[1].p, row->col[1].len, l->hash[l->n]);
	if (index != (long long)l->n)
		l->in_order = false;
	l->n++;
	return 0;
}

/* Every record's leaf hash, in log index order; every record must have
 * an index, and the indexes must be 0, 1, 2 ... in the order of ids. */
static void
leaves_read(struct sfix_test *t, struct leaves *l)
{
	memset(l, 0, sizeof(*l));
	l->in_order = true;
	assert_int_equal(db_query(store_db(t->s.st),
	                     "SELECT log_index, line FROM records ORDER BY id",
	                     NULL, 0, leaves_cb, l),
	    0);
	assert_true(l->in_order);
}

/* The root of the first `size` leaves, from the hashes alone. */
static void
leaves_root(const struct leaves *l, size_t size, unsigned char root[H])
{
	struct merkle_frontier fr;

	merkle_frontier_init(&fr);
	for (size_t i = 0; i < size; i++)
		assert_int_equal(merkle_frontier_append(&fr, l->hash[i], NULL,
		                     NULL),
		    0);
	merkle_frontier_root(&fr, root);
}

/* The database's head, roots and proofs agree with the leaves. */
static void
assert_log_matches(struct sfix_test *t, const struct leaves *l)
{
	static const size_t sizes[] = { 1, 2, 3, 5, 8, 13, 21, 36, 37, 64, 65,
		100, 131, 136 };
	unsigned char root[H], want[H], old_root[H], leaf[H],
	    proof[MERKLE_MAX_PROOF][H];
	struct store_log_head head;
	size_t len;

	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	assert_int_equal(head.size, l->n);
	leaves_root(l, l->n, want);
	assert_memory_equal(head.root, want, H);
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		size_t size = sizes[k];
		if (size > l->n)
			continue;
		leaves_root(l, size, want);
		assert_int_equal(store_log_root(t->s.st, size, root), STORE_OK);
		assert_memory_equal(root, want, H);
		for (size_t i = 0; i < size; i++) {
			assert_int_equal(store_log_inclusion(t->s.st, i, size,
			                     leaf, proof, &len),
			    STORE_OK);
			assert_memory_equal(leaf, l->hash[i], H);
			assert_true(merkle_verify_inclusion(leaf, i, size,
			    proof, len, want));
		}
		for (size_t old = 1; old <= size; old++) {
			assert_int_equal(store_log_consistency(t->s.st, old,
			                     size, old_root, root, proof, &len),
			    STORE_OK);
			assert_memory_equal(root, want, H);
			assert_true(merkle_verify_consistency(old, size,
			    old_root, root, proof, len));
		}
	}
}

static int
ingest(struct sfix_test *t, struct schain *c, size_t from, size_t n,
    struct store_receipt *rc)
{
	char err[256];

	return sbatch_ingest(&t->s, sbatch_of(c, from, n), rc, err,
	    sizeof(err));
}

/* Batches, replays, a broken batch, a rolled-back group: the log holds
 * exactly the stored records, in the order they were committed. */
static void
test_log_appends(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct store_log_head head, again;
	struct schain b;
	struct leaves l;
	unsigned char wrong[H];
	char err[512];

	schain_init(&b, t->p, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	schain_measurements(&t->c, 30);
	schain_measurements(&b, 10);

	/* An empty log: the root of no leaf. */
	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	assert_int_equal(head.size, 0);
	merkle_empty_hash(wrong);
	assert_memory_equal(head.root, wrong, H);

	/* The receipt names the leaf of the batch's last record. */
	assert_int_equal(ingest(t, &t->c, 0, 5, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 4);
	assert_int_equal(rc.log_size, 5);
	assert_int_equal(ingest(t, &b, 0, 3, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 7);
	assert_int_equal(rc.log_size, 8);
	/* A replay adds nothing and gets the leaf its last record has; a
	 * batch of old and new adds the new. */
	assert_int_equal(ingest(t, &t->c, 0, 5, &rc), STORE_OK);
	assert_int_equal(rc.stored, 0);
	assert_int_equal(rc.log_index, 4);
	assert_int_equal(rc.log_size, 8);
	assert_int_equal(ingest(t, &t->c, 0, 2, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 1);
	assert_int_equal(ingest(t, &t->c, 3, 7, &rc), STORE_OK);
	assert_int_equal(rc.stored, 5);
	assert_int_equal(rc.log_index, 12);
	assert_int_equal(rc.log_size, 13);

	/* A broken batch stores nothing and appends nothing. */
	memset(wrong, 0x77, sizeof(wrong));
	schain_line(&b, 11, wrong, "dns", measurement);
	assert_int_not_equal(ingest(t, &b, 3, 8, &rc), STORE_OK);

	/* A group: a batch kept, then one rolled back with the group. */
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 10, 4, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 16);
	assert_int_equal(ingest(t, &b, 3, 7, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 23);
	assert_int_equal(store_group_commit(t->s.st), STORE_OK);
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 14, 16, &rc), STORE_OK);
	store_group_rollback(t->s.st);
	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	assert_int_equal(head.size, 24);
	/* Sent again, the same records take the next indexes. */
	assert_int_equal(ingest(t, &t->c, 14, 16, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 39);
	assert_int_equal(rc.log_size, 40);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM records"),
	    40);

	leaves_read(t, &l);
	assert_int_equal(l.n, 40);
	assert_log_matches(t, &l);

	/* Reopened, the log is the same and goes on. */
	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	store_close(t->s.st);
	assert_non_null(t->s.st = store_open(t->s.url, err, sizeof(err)));
	assert_int_equal(store_log_head(t->s.st, &again), STORE_OK);
	assert_int_equal(again.size, head.size);
	assert_memory_equal(again.root, head.root, H);
	schain_measurements(&t->c, 1);
	assert_int_equal(ingest(t, &t->c, 30, 1, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 40);
	/* A record stored before the log existed is in none. */
	assert_int_equal(
	    db_exec_script(store_db(t->s.st),
	        "UPDATE records SET log_index = NULL WHERE seq = 31"),
	    0);
	assert_int_equal(ingest(t, &t->c, 30, 1, &rc), STORE_OK);
	assert_int_equal(rc.log_index, -1);
	assert_int_equal(rc.log_size, 41);
	assert_int_equal(
	    db_exec_script(store_db(t->s.st),
	        "UPDATE records SET log_index = 40 WHERE seq = 31"),
	    0);
	free(l.hash);
	leaves_read(t, &l);
	assert_int_equal(l.n, 41);
	assert_log_matches(t, &l);
	free(l.hash);
	schain_free(&b);
}

/* Sizes and indexes beyond the log are the caller's error. */
static void
test_log_out_of_range(void **state)
{
	struct sfix_test *t = *state;
	unsigned char a[H], b[H], proof[MERKLE_MAX_PROOF][H];
	struct store_receipt rc;
	size_t len;

	schain_measurements(&t->c, 6);
	assert_int_equal(ingest(t, &t->c, 0, 6, &rc), STORE_OK);
	assert_int_equal(store_log_inclusion(t->s.st, 6, 6, a, proof, &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_inclusion(t->s.st, 0, 7, a, proof, &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_inclusion(t->s.st, 0, 0, a, proof, &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_consistency(t->s.st, 0, 6, a, b, proof,
	                     &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_consistency(t->s.st, 5, 4, a, b, proof,
	                     &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_consistency(t->s.st, 3, 7, a, b, proof,
	                     &len),
	    STORE_E_INVALID);
	assert_int_equal(store_log_root(t->s.st, 7, a), STORE_E_INVALID);
	assert_int_equal(store_log_root(t->s.st, 0, a), STORE_OK);
	merkle_empty_hash(b);
	assert_memory_equal(a, b, H);
}

/* After `sql` damages the log, leaf `index`'s proof in the tree of
 * `size` fails, saying that a node is missing. */
static void
damage_hides(struct sfix_test *t, const char *sql, uint64_t index,
    uint64_t size)
{
	unsigned char leaf[H], proof[MERKLE_MAX_PROOF][H];
	size_t len;

	assert_int_equal(db_exec_script(store_db(t->s.st), sql), 0);
	assert_int_equal(store_log_inclusion(t->s.st, index, size, leaf, proof,
	                     &len),
	    STORE_E_DB);
	assert_non_null(strstr(store_error_text(t->s.st), "lacks a node"));
}

/* A node gone, a state that does not decode: errors that say so. */
static void
test_log_damaged(void **state)
{
	struct sfix_test *t = *state;
	unsigned char a[H], proof[MERKLE_MAX_PROOF][H];
	struct store_log_head head;
	struct store_receipt rc;
	size_t len;

	schain_measurements(&t->c, 6);
	assert_int_equal(ingest(t, &t->c, 0, 4, &rc), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 4, 2, &rc), STORE_OK);
	/* The run of leaves 4 and 5 cut short: leaf 5 is in no run. */
	damage_hides(t,
	    "UPDATE log_nodes SET hashes = substr(hashes, 1, 32) "
	    "WHERE level = 0 AND idx = 4",
	    5, 6);
	/* A run whose length is not a number of hashes holds none. */
	damage_hides(t,
	    "UPDATE log_nodes SET hashes = substr(hashes, 1, 33) "
	    "WHERE level = 0 AND idx = 0",
	    3, 4);
	damage_hides(t, "DELETE FROM log_nodes WHERE level = 0 AND idx = 0", 2,
	    6);
	/* Leaf 4's proof needs neither leaves 0 to 3 nor leaf 5. */
	assert_int_equal(store_log_inclusion(t->s.st, 4, 5, a, proof, &len),
	    STORE_OK);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "UPDATE log_state SET size = 7"),
	    0);
	assert_int_equal(store_log_head(t->s.st, &head), STORE_E_DB);
	assert_non_null(strstr(store_error_text(t->s.st), "damaged"));
	/* An ingest cannot append to it either, and stores nothing. */
	schain_measurements(&t->c, 1);
	assert_int_equal(ingest(t, &t->c, 6, 1, &rc), STORE_E_DB);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM records"), 6);
}

static void
test_log_checkpoints(void **state)
{
	struct sfix_test *t = *state;
	unsigned char root[H];
	uint64_t size;
	char *note;

	assert_int_equal(store_log_checkpoint_latest(t->s.st, &note, &size),
	    STORE_OK);
	assert_null(note);
	assert_int_equal(size, 0);
	memset(root, 1, H);
	assert_int_equal(store_log_checkpoint_put(t->s.st, 5, root, 100,
	                     "five\n"),
	    STORE_OK);
	assert_int_equal(store_log_checkpoint_put(t->s.st, 9, root, 200,
	                     "nine\n"),
	    STORE_OK);
	/* One of a size: the first stays. */
	assert_int_equal(store_log_checkpoint_put(t->s.st, 9, root, 300,
	                     "nine again\n"),
	    STORE_OK);
	assert_int_equal(store_log_checkpoint_latest(t->s.st, &note, &size),
	    STORE_OK);
	assert_string_equal(note, "nine\n");
	assert_int_equal(size, 9);
	free(note);
}

/* A log kept before migration 9 (log_nodes a table with rowids) comes
 * through it whole: the same nodes, now in a table without rowids, and
 * the same roots and proofs.  SQLite only (nothing changes on
 * PostgreSQL). */
static void
test_log_clustered(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct leaves l;
	char err[512];
	long long nodes;

	schain_measurements(&t->c, 37);
	assert_int_equal(ingest(t, &t->c, 0, 20, &rc), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 20, 17, &rc), STORE_OK);
	nodes = sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes");
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "CREATE TABLE old_nodes (level BIGINT NOT NULL, "
	                     "idx BIGINT NOT NULL, hash BLOB NOT NULL, "
	                     "PRIMARY KEY (level, idx));"
	                     "INSERT INTO old_nodes SELECT * FROM log_nodes;"
	                     "DROP TABLE log_nodes;"
	                     "ALTER TABLE old_nodes RENAME TO log_nodes;"
	                     "DELETE FROM schema_version WHERE version >= 9"),
	    0);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(rowid) FROM log_nodes"),
	    nodes);
	store_close(t->s.st);
	if ((t->s.st = store_open(t->s.url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", t->s.url, err);
	assert_int_equal(store_db_version(t->s.st), store_schema_version());
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM pragma_table_list "
	                     "WHERE name = 'log_nodes' AND wr = 1"),
	    1);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    nodes);
	leaves_read(t, &l);
	assert_log_matches(t, &l);
	free(l.hash);
}

/* Records stored before the log existed (no leaf, an empty log) are
 * appended by store_log_backfill after those logged since, a bounded
 * number at a time, and then the log holds every record once. */
static void
test_log_backfill(void **state)
{
	struct sfix_test *t = *state;
	struct db_value p[3] = { DB_V_INT(0), DB_V_BLOB("", 0) };
	struct store_receipt rc;
	struct leaves l = { .in_order = true };
	long long after = 0, last = -1;
	size_t done, total = 0, rounds = 0;

	schain_measurements(&t->c, 15);
	assert_int_equal(ingest(t, &t->c, 0, 10, &rc), STORE_OK);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "UPDATE records SET log_index = NULL;"
	                     "DELETE FROM log_nodes"),
	    0);
	assert_int_equal(db_exec(store_db(t->s.st),
	                     "UPDATE log_state SET size = ?, frontier = ?", p,
	                     2),
	    0);
	assert_int_equal(ingest(t, &t->c, 10, 5, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 4);
	assert_int_equal(store_log_backfill(t->s.st, 0, 0, &done, &last),
	    STORE_E_INVALID);
	do {
		assert_int_equal(store_log_backfill(t->s.st, after, 4, &done,
		                     &after),
		    STORE_OK);
		total += done;
		assert_true(++rounds <= 4);
	} while (done > 0);
	assert_int_equal(total, 10);
	assert_int_equal(rounds, 4); /* 4, 4, 2, then none */
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM records WHERE log_index "
	                     "IS NULL"),
	    0);
	/* The old records follow the new, in the order of their ids. */
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT log_index FROM records WHERE seq = 1"),
	    5);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT log_index FROM records WHERE seq = 11"),
	    0);
	assert_int_equal(db_query(store_db(t->s.st),
	                     "SELECT log_index, line FROM records "
	                     "ORDER BY log_index",
	                     NULL, 0, leaves_cb, &l),
	    0);
	assert_true(l.in_order);
	assert_log_matches(t, &l);
	/* Nothing is left: a backfill again appends nothing. */
	assert_int_equal(store_log_backfill(t->s.st, 0, 100, &done, &last),
	    STORE_OK);
	assert_int_equal(done, 0);
	free(l.hash);
}

/* Every row of log_nodes split into rows of one node, the form of a log
 * kept before migration 10. */
static void
runs_split(struct sfix_test *t)
{
	bool pg = t->s.path[0] == '\0';

	assert_int_equal(
	    db_exec_script(store_db(t->s.st),
	        pg ? "CREATE TABLE singles AS SELECT level, idx + i AS idx, "
	             "substr(hashes, i * 32 + 1, 32) AS hashes "
	             "FROM log_nodes, generate_series(0, 15) AS i "
	             "WHERE i * 32 < length(hashes);" :
	             "CREATE TABLE singles AS WITH RECURSIVE k(i) AS "
	             "(SELECT 0 UNION ALL SELECT i + 1 FROM k WHERE i < 15) "
	             "SELECT level, idx + i AS idx, "
	             "substr(hashes, i * 32 + 1, 32) AS hashes "
	             "FROM log_nodes, k WHERE i * 32 < length(hashes);"),
	    0);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "DELETE FROM log_nodes;"
	                     "INSERT INTO log_nodes (level, idx, hashes) "
	                     "SELECT level, idx, hashes FROM singles;"
	                     "DROP TABLE singles"),
	    0);
}

/* An append keeps a row per run of a level's new nodes, not a row per
 * node, cut at multiples of STORE_LOG_RUN; roots and proofs read across
 * runs of every length, across appends, and from rows of one node (a
 * log kept before migration 10) mixed with runs. */
static void
test_log_runs(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct leaves l;

	schain_measurements(&t->c, 136);
	/* 100 leaves: 197 nodes.  Level 0 in runs from 0, 16, ... 96;
	 * level 1 (50 nodes) from 0, 16, 32 and 48; level 2 (25) from 0
	 * and 16; levels 3 to 6 a run each. */
	assert_int_equal(ingest(t, &t->c, 0, 100, &rc), STORE_OK);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    17);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT max(length(hashes)) FROM log_nodes"),
	    STORE_LOG_RUN * H);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT sum(length(hashes)) FROM log_nodes"),
	    197 * H);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM log_nodes WHERE level = 0 "
	                     "AND idx IN (0, 16, 32, 48, 64, 80, 96)"),
	    7);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT count(*) FROM log_nodes WHERE level = 1 "
	                     "AND idx IN (0, 16, 32, 48)"),
	    4);
	/* Small appends continue runs in rows of their own. */
	for (size_t from = 100; from < 131; from += 4)
		assert_int_equal(ingest(t, &t->c, from,
		                     from + 4 <= 131 ? 4 : 131 - from, &rc),
		    STORE_OK);
	leaves_read(t, &l);
	assert_int_equal(l.n, 131);
	assert_log_matches(t, &l);
	free(l.hash);
	/* 131 leaves hold 259 nodes: one row each once split. */
	runs_split(t);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    259);
	assert_int_equal(ingest(t, &t->c, 131, 5, &rc), STORE_OK);
	leaves_read(t, &l);
	assert_int_equal(l.n, 136);
	assert_log_matches(t, &l);
	free(l.hash);
}

/* In a group, the log is read and locked by the first ingest, appended
 * to in memory, and written once when the group commits: one run for
 * the group's leaves, not one per batch.  A refused batch in the group,
 * the first or another, leaves no leaf; a group whose log cannot be
 * written commits nothing. */
static void
test_log_group(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct store_log_head head;
	unsigned char wrong[H];
	struct schain b, bad;
	struct leaves l;

	schain_init(&b, t->p, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	schain_init(&bad, t->p, "dddddddddddddddddddddddddddddddd");
	schain_measurements(&t->c, 30);
	schain_measurements(&b, 20);
	memset(wrong, 0x77, sizeof(wrong));
	schain_measurements(&bad, 2);
	schain_line(&bad, 3, wrong, "dns", measurement);

	/* The refused batch first, when it has taken the log's lock. */
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_not_equal(ingest(t, &bad, 0, 3, &rc), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 0, 8, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 7);
	assert_int_not_equal(ingest(t, &bad, 0, 3, &rc), STORE_OK);
	assert_int_equal(ingest(t, &b, 0, 8, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 15);
	assert_int_equal(rc.log_size, 16);
	/* Nothing of the log written yet, in the group's own view. */
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    0);
	assert_int_equal(store_group_commit(t->s.st), STORE_OK);
	/* Leaves 0 to 15 in one run; levels 1 to 4 one each. */
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    5);
	assert_int_equal(sfix_scalar(&t->s,
	                     "SELECT length(hashes) FROM log_nodes "
	                     "WHERE level = 0 AND idx = 0"),
	    16 * H);
	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	assert_int_equal(head.size, 16);

	/* A group whose nodes cannot be written: nothing of it stays. */
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 8, 4, &rc), STORE_OK);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "ALTER TABLE log_nodes RENAME TO log_gone"),
	    0);
	assert_int_equal(store_group_commit(t->s.st), STORE_E_DB);
	assert_non_null(strstr(store_error_text(t->s.st), "the log's nodes"));
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM records"),
	    16);
	assert_int_equal(sfix_scalar(&t->s, "SELECT count(*) FROM log_nodes"),
	    5);
	assert_int_equal(store_log_head(t->s.st, &head), STORE_OK);
	assert_int_equal(head.size, 16);

	/* Sent again, outside a group and in one, they are logged. */
	assert_int_equal(ingest(t, &t->c, 8, 4, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 19);
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(ingest(t, &t->c, 12, 10, &rc), STORE_OK);
	assert_int_equal(ingest(t, &b, 8, 12, &rc), STORE_OK);
	assert_int_equal(rc.log_index, 41);
	assert_int_equal(store_group_commit(t->s.st), STORE_OK);
	leaves_read(t, &l);
	assert_int_equal(l.n, 42);
	assert_log_matches(t, &l);
	free(l.hash);
	schain_free(&b);
	schain_free(&bad);
}

#define LOG_TESTS(setup) \
	SFIX_TEST(test_log_appends, setup), \
	    SFIX_TEST(test_log_out_of_range, setup), \
	    SFIX_TEST(test_log_damaged, setup), \
	    SFIX_TEST(test_log_runs, setup), SFIX_TEST(test_log_group, setup), \
	    SFIX_TEST(test_log_checkpoints, setup), \
	    SFIX_TEST(test_log_backfill, setup)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = { LOG_TESTS(
		                                       sfix_setup_bare_sqlite),
		SFIX_TEST(test_log_clustered, sfix_setup_bare_sqlite) };
	const struct CMUnitTest pg_tests[] = { LOG_TESTS(sfix_setup_bare_pg) };

	if (sodium_init() < 0)
		return 1;
	return SFIX_RUN("log", sqlite_tests, pg_tests,
	           "tests/scenario/store_pg.sh") != 0;
}
