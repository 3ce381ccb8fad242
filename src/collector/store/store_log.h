/*
 * store_log.h -- the collector's log: every record it stores, appended
 * in the order of commit to an RFC 9162 Merkle tree (merkle.h), kept in
 * the same transaction as the records themselves (doc/evidence.md).
 *
 *   log_state        one row: the tree's size and its frontier (the
 *                    hashes of the perfect subtrees its leaves divide
 *                    into, smallest first), read and written by every
 *                    ingest that stores a record; on PostgreSQL read
 *                    FOR UPDATE, so that collectors sharing a database
 *                    append to one log, one after the other;
 *   log_nodes        the hash of every perfect subtree (level 0: the
 *                    leaf hashes), from which any root and proof up to
 *                    the size is computed, kept in runs: a row holds
 *                    the hashes of consecutive nodes of one level from
 *                    idx on, one after the other, as one append made
 *                    them (at most STORE_LOG_RUN, never across an index
 *                    that is a multiple of it; a log kept before
 *                    migration 10 has runs of one);
 *   log_checkpoints  the tree heads the collector signed
 *                    (c2sp.org/tlog-checkpoint notes), by size;
 *   records.log_index  each record's leaf (NULL for records stored
 *                    before the log existed, which it does not hold).
 *
 * A leaf is a record's exact line, as received: its leaf hash is
 * SHA-256(0x00 || line).  A batch's new records take consecutive
 * indexes, in the order of their seqs.  The error rule of store.h
 * holds: STORE_E_DB with the store's error set when the database
 * fails, STORE_E_INVALID for what the caller asked wrong.
 */
#ifndef CW_STORE_LOG_H
#define CW_STORE_LOG_H

#include <stddef.h>
#include <stdint.h>

#include "cwtime.h"
#include "merkle.h"
#include "record.h"
#include "db.h"
#include "store.h"

/* The schema of the log (a migration of store.c); @BLOB@ and
 * @EMPTY_BLOB@ are the store's schema words. */
#define STORE_LOG_SCHEMA \
	"CREATE TABLE log_state (" \
	"  id BIGINT PRIMARY KEY," \
	"  size BIGINT NOT NULL," \
	"  frontier @BLOB@ NOT NULL);" \
	"INSERT INTO log_state (id, size, frontier) VALUES (1, 0, " \
	"  @EMPTY_BLOB@);" \
	"CREATE TABLE log_nodes (" \
	"  level BIGINT NOT NULL," \
	"  idx BIGINT NOT NULL," \
	"  hash @BLOB@ NOT NULL," \
	"  PRIMARY KEY (level, idx));" \
	"CREATE TABLE log_checkpoints (" \
	"  size BIGINT PRIMARY KEY," \
	"  root @BLOB@ NOT NULL," \
	"  made_at BIGINT NOT NULL," \
	"  note TEXT NOT NULL);" \
	"ALTER TABLE records ADD COLUMN log_index BIGINT;"

/* The most nodes a row of log_nodes holds.  A run never crosses an
 * index that is a multiple of it, so the run that holds node (level, i)
 * is the one of that level that starts in [i - i % STORE_LOG_RUN, i].
 * 16 hashes (512 bytes) keep a row inside one page of SQLite's B-tree
 * (a row of 32 spills to an overflow page of its own, which made a log
 * of 10 million leaves 2.3 times as large and its proofs twice as
 * slow) and far below PostgreSQL's TOAST threshold. */
#define STORE_LOG_RUN 16

/* A row of log_nodes, read: `n` hashes, of the nodes (level, index) to
 * (level, index + n - 1). */
struct store_log_run_row {
	unsigned level;
	uint64_t index;
	const unsigned char *hashes; /* points into the row */
	size_t n;
};

/*
 * store_log_run_row: read the row's columns col (level), col + 1 (idx)
 * and col + 2 (hashes) into `r`.  -1 when they are not a run (a level
 * or index out of range, hashes not a whole number of hashes, none, or
 * more than STORE_LOG_RUN): such a row holds no node.
 */
int store_log_run_row(const struct db_row *row, int col,
    struct store_log_run_row *r);

/* The log as an ingest holds it: read at its start, locked on
 * PostgreSQL until its transaction ends. */
struct store_log {
	struct merkle_frontier fr;
};

/*
 * store_log_lock: read the log's state into `log`, inside the open
 * transaction (on PostgreSQL, locking it).  Returns STORE_OK or
 * STORE_E_DB (a state that cannot be decoded is one too).
 */
int store_log_lock(struct store *st, struct store_log *log);

/*
 * store_log_append: append the `n` lines (recs[i]->line) as the next
 * leaves of `log`, keep the nodes they complete and write the new state,
 * in the open transaction; inside a group (store_group_begin), in the
 * group's log in memory, written by store_log_group_flush.  Returns
 * STORE_OK or STORE_E_DB (the caller rolls back: `log` is then of no
 * use).
 */
int store_log_append(struct store *st, struct store_log *log,
    const struct record *const *recs, size_t n);

/*
 * The group's log, for store.c's transactions: store_log_group_mark
 * when an ingest's savepoint is taken, store_log_group_undo when it is
 * rolled back to (the group's log as it was at the mark, unlocked again
 * if that ingest locked it), store_log_group_flush just before the group
 * commits (STORE_OK, or STORE_E_DB: the group must roll back), and
 * store_log_group_end when the group ends either way.
 */
void store_log_group_mark(struct store *st);
void store_log_group_undo(struct store *st);
int store_log_group_flush(struct store *st);
void store_log_group_end(struct store *st);

/*
 * store_log_backfill: append to the log, in the order of their ids, the
 * first `max` records after id `after` that are in no leaf (stored
 * before the collector kept a log), and give each its leaf, in one
 * transaction of its own (not inside a group).  `*done` is how many
 * (0: none is left after `after`), `*last` the id of the last of them.
 * The leaves they take are those of the moment of the backfill: a
 * checkpoint made after it covers them, none made before.  STORE_OK,
 * STORE_E_DB, or STORE_E_INVALID when `max` is 0.
 */
int store_log_backfill(struct store *st, long long after, size_t max,
    size_t *done, long long *last);

/* The log's size and root. */
struct store_log_head {
	uint64_t size;
	unsigned char root[MERKLE_HASH_LEN];
};

/* store_log_head: the log as committed now.  STORE_OK or STORE_E_DB. */
int store_log_head(struct store *st, struct store_log_head *head);

/*
 * store_log_inclusion: the proof that leaf `index` is in the tree of
 * `size` leaves, into `proof` (MERKLE_MAX_PROOF hashes) and `*len`, and
 * the leaf's hash into `leaf`.  STORE_E_INVALID when index >= size or
 * the log is not that large (yet); STORE_E_DB.
 */
int store_log_inclusion(struct store *st, uint64_t index, uint64_t size,
    unsigned char leaf[MERKLE_HASH_LEN], unsigned char proof[][MERKLE_HASH_LEN],
    size_t *len);

/*
 * store_log_consistency: the proof that the tree of `old` leaves is a
 * prefix of the tree of `size`, and both roots (`old_root`, `root`).
 * STORE_E_INVALID unless 0 < old <= size <= the log's size; STORE_E_DB.
 */
int store_log_consistency(struct store *st, uint64_t old, uint64_t size,
    unsigned char old_root[MERKLE_HASH_LEN],
    unsigned char root[MERKLE_HASH_LEN], unsigned char proof[][MERKLE_HASH_LEN],
    size_t *len);

/*
 * store_log_root: the root of the tree of its first `size` leaves.
 * STORE_E_INVALID when the log is smaller; STORE_E_DB.
 */
int store_log_root(struct store *st, uint64_t size,
    unsigned char root[MERKLE_HASH_LEN]);

/*
 * store_log_checkpoint_put: keep the signed checkpoint `note` of the
 * tree of `size` leaves and root `root`, made at `made_at`; one of a
 * size is kept (the first).  STORE_OK or STORE_E_DB.
 */
int store_log_checkpoint_put(struct store *st, uint64_t size,
    const unsigned char root[MERKLE_HASH_LEN], cw_usec_t made_at,
    const char *note);

/*
 * store_log_checkpoint_latest: the note of the largest checkpoint kept,
 * and its size, into `*note` (the caller frees it); NULL and 0 when
 * none.  STORE_OK or STORE_E_DB.
 */
int store_log_checkpoint_latest(struct store *st, char **note, uint64_t *size);

#endif /* CW_STORE_LOG_H */
