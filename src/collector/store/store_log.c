/*
 * store_log.c -- the collector's Merkle log of stored records, in the
 * database (store_log.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_int.h"
#include "store_log.h"

/* Runs go in with multi-row INSERTs of these sizes (as records do). */
static const int store_log_chunks[] = { 64, 8, 1 };
#define STORE_LOG_NCHUNKS \
	((int)(sizeof(store_log_chunks) / sizeof(store_log_chunks[0])))

/* A node to keep: its place and hash. */
struct store_log_node {
	unsigned level;
	uint64_t index;
	unsigned char hash[MERKLE_HASH_LEN];
};

struct store_log_nodes {
	struct store_log_node *v;
	size_t n, cap;
};

/* A run to write: nodes v[first] to v[first + n - 1] of a sorted
 * store_log_nodes, consecutive on one level. */
struct store_log_run {
	size_t first, n;
};

/*
 * The log while a group transaction is open (store_group_begin): locked
 * and read by the group's first ingest, appended to in memory by each,
 * and written once, by store_log_group_flush, just before the group
 * commits, so that a group of many batches writes its nodes in one
 * pass, in runs as long as the group's, and the state row once.  `mark`
 * is the log as the ingest in the current savepoint found it, to go
 * back to when that savepoint is rolled back (which, on PostgreSQL,
 * also gives back the row lock if that ingest took it).
 */
struct store_log_group {
	bool locked, changed;
	struct merkle_frontier fr;
	struct store_log_nodes ns;
	struct {
		bool locked, changed;
		struct merkle_frontier fr;
		size_t n;
	} mark;
};

/* --- State --- */

/* The frontier as stored: the hash of each set bit of the size, from
 * level 0 up, one after the other. */
static size_t
store_log_frontier_len(uint64_t size)
{
	return (size_t)__builtin_popcountll(size) * MERKLE_HASH_LEN;
}

static void
store_log_frontier_encode(const struct merkle_frontier *fr, unsigned char *out)
{
	for (unsigned level = 0; level < 64; level++)
		if (fr->size & (UINT64_C(1) << level)) {
			memcpy(out, fr->hash[level], MERKLE_HASH_LEN);
			out += MERKLE_HASH_LEN;
		}
}

struct store_log_state {
	struct merkle_frontier fr;
	bool got, bad;
};

static int
store_log_state_cb(void *arg, const struct db_row *row)
{
	struct store_log_state *s = arg;
	const unsigned char *p;
	long long size;

	s->got = true;
	size = store_col_int(&row->col[0], -1);
	if (size < 0 || row->col[1].type != DB_BLOB ||
	    row->col[1].len != store_log_frontier_len((uint64_t)size)) {
		s->bad = true;
		return 1;
	}
	merkle_frontier_init(&s->fr);
	s->fr.size = (uint64_t)size;
	p = row->col[1].p;
	for (unsigned level = 0; level < 64; level++)
		if (s->fr.size & (UINT64_C(1) << level)) {
			memcpy(s->fr.hash[level], p, MERKLE_HASH_LEN);
			p += MERKLE_HASH_LEN;
		}
	return 1;
}

/* The log's state, locked for the transaction when `lock`. */
static int
store_log_state_read(struct store *st, bool lock, struct merkle_frontier *fr)
{
	struct store_log_state s = { .got = false };
	const char *sql = lock && st->is_pg ?
	    "SELECT size, frontier FROM log_state WHERE id = 1 FOR UPDATE" :
	    "SELECT size, frontier FROM log_state WHERE id = 1";

	if (db_query(st->db, sql, NULL, 0, store_log_state_cb, &s) == -1) {
		store_set_error(st, "the log's state");
		return STORE_E_DB;
	}
	if (!s.got || s.bad) {
		snprintf(st->error, sizeof(st->error),
		    "the log's state is %s (table log_state)",
		    s.got ? "damaged" : "missing");
		return STORE_E_DB;
	}
	*fr = s.fr;
	return STORE_OK;
}

int
store_log_lock(struct store *st, struct store_log *log)
{
	struct store_log_group *g;
	int rc;

	if (!st->in_group)
		return store_log_state_read(st, true, &log->fr);
	if (st->log_group == NULL &&
	    (st->log_group = calloc(1, sizeof(*st->log_group))) == NULL) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		return STORE_E_DB;
	}
	g = st->log_group;
	if (!g->locked) {
		if ((rc = store_log_state_read(st, true, &g->fr)) != STORE_OK)
			return rc;
		g->locked = true;
	}
	log->fr = g->fr;
	return STORE_OK;
}

void
store_log_group_mark(struct store *st)
{
	struct store_log_group *g = st->log_group;

	if (g == NULL)
		return;
	g->mark.locked = g->locked;
	g->mark.changed = g->changed;
	g->mark.fr = g->fr;
	g->mark.n = g->ns.n;
}

void
store_log_group_undo(struct store *st)
{
	struct store_log_group *g = st->log_group;

	if (g == NULL)
		return;
	g->locked = g->mark.locked;
	g->changed = g->mark.changed;
	g->fr = g->mark.fr;
	g->ns.n = g->mark.n;
}

void
store_log_group_end(struct store *st)
{
	if (st->log_group == NULL)
		return;
	free(st->log_group->ns.v);
	free(st->log_group);
	st->log_group = NULL;
}

/* --- Appending --- */

static int
store_log_keep(void *arg, unsigned level, uint64_t index,
    const unsigned char hash[MERKLE_HASH_LEN])
{
	struct store_log_nodes *ns = arg;

	if (ns->n == ns->cap) {
		size_t cap = ns->cap == 0 ? 64 : ns->cap * 2;
		struct store_log_node *v = reallocarray(ns->v, cap, sizeof(*v));
		if (v == NULL)
			return -1;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n].level = level;
	ns->v[ns->n].index = index;
	memcpy(ns->v[ns->n].hash, hash, MERKLE_HASH_LEN);
	ns->n++;
	return 0;
}

static int
store_log_node_cmp(const void *a, const void *b)
{
	const struct store_log_node *x = a, *y = b;

	if (x->level != y->level)
		return x->level < y->level ? -1 : 1;
	return x->index < y->index ? -1 : x->index > y->index;
}

/*
 * Sort the nodes by level and index, cut them into runs (a run ends
 * where its level does, where an index is skipped, and before an index
 * that is a multiple of STORE_LOG_RUN), and gather their hashes, run
 * after run, into `hashes` (MERKLE_HASH_LEN * ns->n bytes).  Returns
 * the number of runs, in `runs` (room for ns->n).
 */
static size_t
store_log_runs(struct store_log_nodes *ns, struct store_log_run *runs,
    unsigned char *hashes)
{
	size_t nruns = 0;

	qsort(ns->v, ns->n, sizeof(*ns->v), store_log_node_cmp);
	for (size_t i = 0; i < ns->n; i++) {
		const struct store_log_node *nd = &ns->v[i];
		const struct store_log_node *prev = i > 0 ? &ns->v[i - 1] :
		                                            NULL;

		if (prev == NULL || prev->level != nd->level ||
		    prev->index + 1 != nd->index ||
		    nd->index % STORE_LOG_RUN == 0)
			runs[nruns++] = (struct store_log_run){ .first = i };
		runs[nruns - 1].n++;
		memcpy(hashes + i * MERKLE_HASH_LEN, nd->hash, MERKLE_HASH_LEN);
	}
	return nruns;
}

static int
store_log_nodes_insert(struct store *st, struct store_log_nodes *ns)
{
	struct db_value p[3 * 64];
	struct store_log_run *runs = NULL;
	unsigned char *hashes = NULL;
	size_t done = 0, nruns;
	char *sql[STORE_LOG_NCHUNKS] = { NULL };
	int ret = STORE_E_DB;

	if (ns->n == 0)
		return STORE_OK;
	if ((runs = calloc(ns->n, sizeof(*runs))) == NULL ||
	    (hashes = malloc(ns->n * MERKLE_HASH_LEN)) == NULL) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		goto out;
	}
	nruns = store_log_runs(ns, runs, hashes);
	while (done < nruns) {
		int c = 0, k;
		while (store_log_chunks[c] > (int)(nruns - done))
			c++;
		k = store_log_chunks[c];
		if (sql[c] == NULL &&
		    (sql[c] = store_rows_sql("INSERT INTO log_nodes (level, "
		                             "idx, hashes) VALUES ",
		         "(?, ?, ?)", k)) == NULL) {
			snprintf(st->error, sizeof(st->error), "out of memory");
			goto out;
		}
		for (int i = 0; i < k; i++) {
			const struct store_log_run *r = &runs[done + (size_t)i];
			const struct store_log_node *nd = &ns->v[r->first];
			p[3 * i] = DB_V_INT((long long)nd->level);
			p[3 * i + 1] = DB_V_INT((long long)nd->index);
			p[3 * i + 2] = DB_V_BLOB(hashes +
			        r->first * MERKLE_HASH_LEN,
			    r->n * MERKLE_HASH_LEN);
		}
		if (db_exec(st->db, sql[c], p, 3 * k) == -1) {
			store_set_error(st, "the log's nodes");
			goto out;
		}
		done += (size_t)k;
	}
	ret = STORE_OK;
out:
	for (int c = 0; c < STORE_LOG_NCHUNKS; c++)
		free(sql[c]);
	free(runs);
	free(hashes);
	return ret;
}

int
store_log_run_row(const struct db_row *row, int col,
    struct store_log_run_row *r)
{
	long long level, index;

	if (row->n < col + 3)
		return -1;
	level = store_col_int(&row->col[col], -1);
	index = store_col_int(&row->col[col + 1], -1);
	if (level < 0 || level >= 64 || index < 0 ||
	    row->col[col + 2].type != DB_BLOB || row->col[col + 2].len == 0 ||
	    row->col[col + 2].len % MERKLE_HASH_LEN != 0 ||
	    row->col[col + 2].len / MERKLE_HASH_LEN > STORE_LOG_RUN)
		return -1;
	r->level = (unsigned)level;
	r->index = (uint64_t)index;
	r->hashes = row->col[col + 2].p;
	r->n = row->col[col + 2].len / MERKLE_HASH_LEN;
	return 0;
}

/* Write the nodes `ns` and the state `fr`, in the open transaction. */
static int
store_log_write(struct store *st, struct store_log_nodes *ns,
    const struct merkle_frontier *fr)
{
	unsigned char *frontier;
	struct db_value p[2];
	int ret;

	if ((ret = store_log_nodes_insert(st, ns)) != STORE_OK)
		return ret;
	if ((frontier = malloc(store_log_frontier_len(fr->size) + 1)) == NULL) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		return STORE_E_DB;
	}
	store_log_frontier_encode(fr, frontier);
	p[0] = DB_V_INT((long long)fr->size);
	p[1] = DB_V_BLOB(frontier, store_log_frontier_len(fr->size));
	ret = STORE_OK;
	if (db_exec(st->db,
	        "UPDATE log_state SET size = ?, frontier = ? WHERE id = 1", p,
	        2) == -1) {
		store_set_error(st, "the log's state");
		ret = STORE_E_DB;
	}
	free(frontier);
	return ret;
}

int
store_log_append(struct store *st, struct store_log *log,
    const struct record *const *recs, size_t n)
{
	struct store_log_group *g = st->in_group ? st->log_group : NULL;
	struct store_log_nodes own = { 0 }, *ns = g != NULL ? &g->ns : &own;
	unsigned char leaf[MERKLE_HASH_LEN];
	int ret = STORE_E_DB;

	for (size_t i = 0; i < n; i++) {
		merkle_leaf_hash(recs[i]->line, recs[i]->len, leaf);
		if (merkle_frontier_append(&log->fr, leaf, store_log_keep,
		        ns) != 0) {
			snprintf(st->error, sizeof(st->error),
			    "the log: out of memory");
			goto out;
		}
	}
	if (g != NULL) {
		/* Written when the group commits. */
		g->fr = log->fr;
		g->changed = true;
		ret = STORE_OK;
		goto out;
	}
	ret = store_log_write(st, &own, &log->fr);
out:
	free(own.v);
	return ret;
}

int
store_log_group_flush(struct store *st)
{
	struct store_log_group *g = st->log_group;

	if (g == NULL || !g->changed)
		return STORE_OK;
	return store_log_write(st, &g->ns, &g->fr);
}

/* --- Backfilling --- */

/* The records in no leaf yet, as store_log_backfill reads them. */
struct store_log_unlogged {
	long long *id;
	struct record *rec; /* only line and len are set */
	size_t n, max;
	bool oom;
};

static int
store_log_unlogged_cb(void *arg, const struct db_row *row)
{
	struct store_log_unlogged *u = arg;
	char *line;

	if (row->n != 2 || row->col[0].type != DB_INT ||
	    (line = malloc(row->col[1].len + 1)) == NULL) {
		u->oom = true;
		return 1;
	}
	memcpy(line, row->col[1].p, row->col[1].len);
	u->id[u->n] = row->col[0].i;
	u->rec[u->n].line = line;
	u->rec[u->n].len = row->col[1].len;
	return ++u->n == u->max;
}

int
store_log_backfill(struct store *st, long long after, size_t max, size_t *done,
    long long *last)
{
	struct store_log_unlogged u = { .max = max };
	const struct record **recs = NULL;
	struct store_log log;
	struct db_value p[2];
	int ret = STORE_E_DB;

	*done = 0;
	if (max == 0)
		return STORE_E_INVALID;
	if ((u.id = calloc(max, sizeof(*u.id))) == NULL ||
	    (u.rec = calloc(max, sizeof(*u.rec))) == NULL ||
	    (recs = calloc(max, sizeof(*recs))) == NULL) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		goto out;
	}
	if (store_begin(st) == -1)
		goto out;
	/* The log's lock first, as an ingest takes it. */
	p[0] = DB_V_INT(after);
	p[1] = DB_V_INT((long long)max);
	if (store_log_lock(st, &log) != STORE_OK ||
	    db_query(st->db,
	        "SELECT id, line FROM records WHERE id > ? AND "
	        "log_index IS NULL ORDER BY id LIMIT ?",
	        p, 2, store_log_unlogged_cb, &u) == -1) {
		if (!u.oom)
			store_set_error(st, "the records in no leaf");
		store_rollback(st);
		goto out;
	}
	if (u.oom) {
		snprintf(st->error, sizeof(st->error),
		    "the records in no leaf: out of memory");
		store_rollback(st);
		goto out;
	}
	for (size_t i = 0; i < u.n; i++) {
		recs[i] = &u.rec[i];
		p[0] = DB_V_INT((long long)(log.fr.size + i));
		p[1] = DB_V_INT(u.id[i]);
		if (db_exec(st->db,
		        "UPDATE records SET log_index = ? WHERE id = ?", p,
		        2) == -1) {
			store_set_error(st, "a record's leaf");
			store_rollback(st);
			goto out;
		}
	}
	if (u.n > 0 && store_log_append(st, &log, recs, u.n) != STORE_OK) {
		store_rollback(st);
		goto out;
	}
	if (store_commit(st) == -1)
		goto out;
	*done = u.n;
	if (u.n > 0)
		*last = u.id[u.n - 1];
	ret = STORE_OK;
out:
	for (size_t i = 0; i < u.n; i++)
		free((char *)u.rec[i].line);
	free(u.id);
	free(u.rec);
	free(recs);
	return ret;
}

/* --- Reading: roots and proofs --- */

/*
 * A proof's nodes are read in one query: the proof is computed once
 * with every node asked for noted (and zeros given), those nodes are
 * read, and the proof is computed again from them.  Which nodes a proof
 * needs depends only on its sizes and indexes, never on the hashes.
 */
#define STORE_LOG_MAX_FETCH (2 * MERKLE_MAX_PROOF + 2)

struct store_log_fetch {
	struct store_log_node v[STORE_LOG_MAX_FETCH];
	bool have[STORE_LOG_MAX_FETCH];
	size_t n;
	bool noting;
};

static int
store_log_fetch_node(void *arg, unsigned level, uint64_t index,
    unsigned char out[MERKLE_HASH_LEN])
{
	struct store_log_fetch *f = arg;

	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].level == level && f->v[i].index == index) {
			if (!f->noting && !f->have[i])
				return -1;
			memcpy(out, f->v[i].hash, MERKLE_HASH_LEN);
			return 0;
		}
	if (!f->noting || f->n == STORE_LOG_MAX_FETCH)
		return -1;
	f->v[f->n].level = level;
	f->v[f->n].index = index;
	memset(f->v[f->n].hash, 0, MERKLE_HASH_LEN);
	f->have[f->n] = false;
	f->n++;
	memset(out, 0, MERKLE_HASH_LEN);
	return 0;
}

static int
store_log_fetch_cb(void *arg, const struct db_row *row)
{
	struct store_log_fetch *f = arg;
	struct store_log_run_row r;

	if (store_log_run_row(row, 0, &r) == -1)
		return 0; /* left without: the proof fails */
	for (size_t i = 0; i < f->n; i++)
		if (f->v[i].level == r.level && f->v[i].index >= r.index &&
		    f->v[i].index - r.index < r.n) {
			memcpy(f->v[i].hash,
			    r.hashes +
			        (f->v[i].index - r.index) * MERKLE_HASH_LEN,
			    MERKLE_HASH_LEN);
			f->have[i] = true;
		}
	return 0;
}

/* Read the nodes `f` noted: for each, the runs of its level that start
 * at most STORE_LOG_RUN - 1 before it (one of them holds it). */
static int
store_log_fetch_read(struct store *st, struct store_log_fetch *f)
{
	static const char head[] = "SELECT level, idx, hashes FROM log_nodes "
	                           "WHERE ";
	static const char term[] = " OR (level = ? AND idx >= ? AND idx <= ?)";
	struct db_value p[3 * STORE_LOG_MAX_FETCH];
	char sql[sizeof(head) + STORE_LOG_MAX_FETCH * sizeof(term)];
	int ret;

	f->noting = false;
	if (f->n == 0)
		return STORE_OK;
	memcpy(sql, head, sizeof(head));
	for (size_t i = 0; i < f->n; i++) {
		uint64_t index = f->v[i].index;
		strcat(sql, i == 0 ? term + 4 : term);
		p[3 * i] = DB_V_INT((long long)f->v[i].level);
		p[3 * i + 1] = DB_V_INT(
		    (long long)(index - index % STORE_LOG_RUN));
		p[3 * i + 2] = DB_V_INT((long long)index);
	}
	ret = db_query(st->db, sql, p, 3 * (int)f->n, store_log_fetch_cb, f);
	if (ret == -1) {
		store_set_error(st, "the log's nodes");
		return STORE_E_DB;
	}
	return STORE_OK;
}

/* What a computation over the log's nodes failed for: a node missing
 * from a log that says it is large enough is damage, not a request's
 * fault. */
static int
store_log_missing(struct store *st)
{
	snprintf(st->error, sizeof(st->error),
	    "the log lacks a node it should hold (table log_nodes)");
	return STORE_E_DB;
}

/* Whether the committed log holds `size` leaves: STORE_OK, or
 * STORE_E_INVALID when it is smaller (a request's error), STORE_E_DB. */
static int
store_log_within(struct store *st, uint64_t size)
{
	struct merkle_frontier fr;
	int rc;

	if ((rc = store_log_state_read(st, false, &fr)) != STORE_OK)
		return rc;
	return size > fr.size ? STORE_E_INVALID : STORE_OK;
}

int
store_log_head(struct store *st, struct store_log_head *head)
{
	struct merkle_frontier fr;
	int rc;

	if ((rc = store_log_state_read(st, false, &fr)) != STORE_OK)
		return rc;
	head->size = fr.size;
	merkle_frontier_root(&fr, head->root);
	return STORE_OK;
}

int
store_log_root(struct store *st, uint64_t size,
    unsigned char root[MERKLE_HASH_LEN])
{
	struct store_log_fetch f = { .n = 0, .noting = true };
	int rc;

	if ((rc = store_log_within(st, size)) != STORE_OK)
		return rc;
	if (merkle_root(store_log_fetch_node, &f, size, root) != 0 ||
	    (rc = store_log_fetch_read(st, &f)) != STORE_OK)
		return rc != STORE_OK ? rc : store_log_missing(st);
	if (merkle_root(store_log_fetch_node, &f, size, root) != 0)
		return store_log_missing(st);
	return STORE_OK;
}

int
store_log_inclusion(struct store *st, uint64_t index, uint64_t size,
    unsigned char leaf[MERKLE_HASH_LEN], unsigned char proof[][MERKLE_HASH_LEN],
    size_t *len)
{
	struct store_log_fetch f = { .n = 0, .noting = true };
	int rc;

	*len = 0;
	if (index >= size)
		return STORE_E_INVALID;
	if ((rc = store_log_within(st, size)) != STORE_OK)
		return rc;
	(void)store_log_fetch_node(&f, 0, index, leaf);
	if (merkle_inclusion_proof(store_log_fetch_node, &f, index, size, proof,
	        len) != 0)
		return store_log_missing(st);
	if ((rc = store_log_fetch_read(st, &f)) != STORE_OK)
		return rc;
	if (store_log_fetch_node(&f, 0, index, leaf) != 0 ||
	    merkle_inclusion_proof(store_log_fetch_node, &f, index, size, proof,
	        len) != 0)
		return store_log_missing(st);
	return STORE_OK;
}

int
store_log_consistency(struct store *st, uint64_t old, uint64_t size,
    unsigned char old_root[MERKLE_HASH_LEN],
    unsigned char root[MERKLE_HASH_LEN], unsigned char proof[][MERKLE_HASH_LEN],
    size_t *len)
{
	struct store_log_fetch f = { .n = 0, .noting = true };
	int rc;

	*len = 0;
	if (old == 0 || old > size)
		return STORE_E_INVALID;
	if ((rc = store_log_within(st, size)) != STORE_OK)
		return rc;
	/* Both roots and the proof, from one read of their nodes. */
	for (int pass = 0; pass < 2; pass++) {
		if (pass == 1 &&
		    (rc = store_log_fetch_read(st, &f)) != STORE_OK)
			return rc;
		if (merkle_root(store_log_fetch_node, &f, old, old_root) != 0 ||
		    merkle_root(store_log_fetch_node, &f, size, root) != 0 ||
		    merkle_consistency_proof(store_log_fetch_node, &f, old,
		        size, proof, len) != 0)
			return store_log_missing(st);
	}
	return STORE_OK;
}

/* --- Checkpoints --- */

int
store_log_checkpoint_put(struct store *st, uint64_t size,
    const unsigned char root[MERKLE_HASH_LEN], cw_usec_t made_at,
    const char *note)
{
	struct db_value p[4];

	p[0] = DB_V_INT((long long)size);
	p[1] = DB_V_BLOB(root, MERKLE_HASH_LEN);
	p[2] = DB_V_INT(made_at);
	p[3] = DB_V_TEXT(note);
	if (db_exec(st->db,
	        "INSERT INTO log_checkpoints (size, root, made_at, note) "
	        "VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
	        p, 4) == -1) {
		store_set_error(st, "the log's checkpoints");
		return STORE_E_DB;
	}
	return STORE_OK;
}

struct store_log_note {
	char *note;
	uint64_t size;
	bool oom;
};

static int
store_log_note_cb(void *arg, const struct db_row *row)
{
	struct store_log_note *n = arg;

	n->size = (uint64_t)store_col_int(&row->col[0], 0);
	if (row->col[1].type != DB_TEXT)
		return 1;
	if ((n->note = strndup(row->col[1].p, row->col[1].len)) == NULL)
		n->oom = true;
	return 1;
}

int
store_log_checkpoint_latest(struct store *st, char **note, uint64_t *size)
{
	struct store_log_note n = { .note = NULL };

	*note = NULL;
	*size = 0;
	if (db_query(st->db,
	        "SELECT size, note FROM log_checkpoints ORDER BY size DESC "
	        "LIMIT 1",
	        NULL, 0, store_log_note_cb, &n) == -1) {
		store_set_error(st, "the log's checkpoints");
		return STORE_E_DB;
	}
	if (n.oom) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		return STORE_E_DB;
	}
	*note = n.note;
	*size = n.note != NULL ? n.size : 0;
	return STORE_OK;
}
