/*
 * store.c -- the collector's storage, written once over db.h: schema and
 * migrations, transactions, and the ingest of batches (duplicates,
 * gaps, equivocations, group commit).  Probes and tokens:
 * store_probe.c; reading records back: store_read.c; batch signatures:
 * store_batches.c; what they share: store_int.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "db.h"
#include "log.h"
#include "store.h"
#include "store_episodes.h"
#include "store_log.h"
#include "store_int.h"
#include "store_db.h"

/* Measurement numbers by (type, name): looked up for every record. */
struct store_msm {
	struct store_msm *next;
	long long num;
	char key[]; /* type, NUL, name, NUL */
};

/* Forget every cached measurement number: after a rollback, a number
 * made inside the transaction no longer exists. */
static void
store_msm_forget(struct store *st)
{
	for (size_t i = 0; i < STORE_MSM_BUCKETS; i++) {
		while (st->msm[i] != NULL) {
			struct store_msm *m = st->msm[i];
			st->msm[i] = m->next;
			free(m);
		}
	}
}

static size_t
store_msm_bucket(const char *type, const char *name)
{
	uint32_t h = 2166136261u; /* FNV-1a */

	for (const char *p = type; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	h = (h ^ 0xff) * 16777619u;
	for (const char *p = name; *p != '\0'; p++)
		h = (h ^ (unsigned char)*p) * 16777619u;
	return h % STORE_MSM_BUCKETS;
}

static struct store_msm *
store_msm_find(struct store *st, const char *type, const char *name)
{
	size_t tl = strlen(type);

	for (struct store_msm *m = st->msm[store_msm_bucket(type, name)];
	     m != NULL; m = m->next)
		if (strcmp(m->key, type) == 0 &&
		    strcmp(m->key + tl + 1, name) == 0)
			return m;
	return NULL;
}

static void
store_msm_remember(struct store *st, const char *type, const char *name,
    long long num)
{
	size_t tl = strlen(type), nl = strlen(name), b;
	struct store_msm *m = malloc(sizeof(*m) + tl + nl + 2);

	if (m == NULL)
		return; /* only a cache */
	m->num = num;
	memcpy(m->key, type, tl + 1);
	memcpy(m->key + tl + 1, name, nl + 1);
	b = store_msm_bucket(type, name);
	m->next = st->msm[b];
	st->msm[b] = m;
}

/* --- Schema --- */

/*
 * Each migration is SQL text for both backends: "@ID@" is an integer key
 * the database assigns, "@BLOB@" a byte string.  Times are microseconds
 * since the epoch (UTC), hashes raw 32 bytes, records their exact line.
 * Append migrations; never edit one that has shipped.
 */
static const char *const store_migrations[] = {
	/* 1: probes, tokens, chains, records, gaps, equivocations. */
	"CREATE TABLE probes ("
	"  num @ID@,"
	"  id TEXT NOT NULL UNIQUE,"
	"  name TEXT NOT NULL,"
	"  pubkey @BLOB@ NOT NULL UNIQUE,"
	"  created_at BIGINT NOT NULL,"
	"  revoked_at BIGINT,"
	"  first_seen BIGINT,"
	"  last_seen BIGINT,"
	"  country TEXT,"
	"  asn BIGINT,"
	"  location TEXT,"
	"  last_heartbeat @BLOB@);"
	"CREATE TABLE tokens ("
	"  hash TEXT PRIMARY KEY,"
	"  name TEXT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  expires_at BIGINT NOT NULL,"
	"  used_at BIGINT,"
	"  probe TEXT);"
	"CREATE TABLE measurements ("
	"  num @ID@,"
	"  type TEXT NOT NULL,"
	"  name TEXT NOT NULL,"
	"  UNIQUE (type, name));"
	"CREATE TABLE chains ("
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  first_seen BIGINT NOT NULL,"
	"  last_seq BIGINT NOT NULL,"  /* highest stored seq */
	"  last_hash @BLOB@ NOT NULL," /* its hash */
	"  open_gaps BIGINT NOT NULL," /* unexplained gaps */
	"  PRIMARY KEY (probe, chain));"
	"CREATE TABLE records ("
	"  id @ID@,"
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  hash @BLOB@ NOT NULL,"
	"  prev @BLOB@ NOT NULL,"
	"  line @BLOB@ NOT NULL,"
	"  received_at BIGINT NOT NULL,"
	"  type TEXT NOT NULL,"
	"  time BIGINT,"
	"  name TEXT,"
	"  msm BIGINT,"
	"  server TEXT,"
	"  addr TEXT,"
	"  port BIGINT,"
	"  af BIGINT,"
	"  proto TEXT,"
	"  qname TEXT,"
	"  qtype TEXT,"
	"  ok BIGINT,"
	"  failure TEXT,"
	"  rtt_ms DOUBLE PRECISION,"
	"  rcode TEXT,"
	"  nsid TEXT,"
	"  soa_serial BIGINT,"
	"  country TEXT,"
	"  asn BIGINT,"
	"  UNIQUE (probe, chain, seq));"
	/* Exports page in id order, summaries in time order, with or
	 * without a probe or an address: each has its index, so that no
	 * page sorts every matching row. */
	"CREATE INDEX records_time ON records (time);"
	"CREATE INDEX records_probe_time ON records (probe, time);"
	"CREATE INDEX records_addr_time ON records (addr, time);"
	"CREATE INDEX records_probe_id ON records (probe, id);"
	"CREATE INDEX records_addr_id ON records (addr, id);"
	"CREATE TABLE equivocations ("
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  hash @BLOB@ NOT NULL,"
	"  prev @BLOB@ NOT NULL,"
	"  line @BLOB@ NOT NULL,"
	"  received_at BIGINT NOT NULL,"
	"  PRIMARY KEY (probe, chain, seq, hash));"
	"CREATE TABLE losses ("
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  seq BIGINT NOT NULL,"
	"  first_seq BIGINT NOT NULL,"
	"  last_seq BIGINT NOT NULL,"
	"  reason TEXT,"
	"  PRIMARY KEY (probe, chain, seq));"
	"CREATE TABLE gaps ("
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  first_seq BIGINT NOT NULL,"
	"  last_seq BIGINT NOT NULL,"
	"  explained BIGINT NOT NULL,"
	"  detected_at BIGINT NOT NULL,"
	"  PRIMARY KEY (probe, chain, first_seq));",
	/* 2: annotations (store_annot.c); listed by time window. */
	"CREATE TABLE annotations ("
	"  id @ID@,"
	"  time_from BIGINT NOT NULL,"
	"  time_to BIGINT NOT NULL,"
	"  created_at BIGINT NOT NULL,"
	"  text TEXT NOT NULL,"
	"  country TEXT,"
	"  asn BIGINT,"
	"  probe TEXT,"
	"  url TEXT);"
	"CREATE INDEX annotations_from ON annotations (time_from);",
	/* 3: episodes' state per target and runs (store_episodes.h). */
	STORE_EPISODES_SCHEMA,
	/* 4: the evidence the CSV export shows (store_evidence), so that
	 * an export does not decode every line.  `evidence` is 1 on rows
	 * stored since; NULL on older rows, whose line is read instead. */
	"ALTER TABLE records ADD COLUMN evidence BIGINT;"
	"ALTER TABLE records ADD COLUMN failure_detail TEXT;"
	"ALTER TABLE records ADD COLUMN txt TEXT;"
	"ALTER TABLE records ADD COLUMN late_count BIGINT;"
	"ALTER TABLE records ADD COLUMN late_differ BIGINT;"
	"ALTER TABLE records ADD COLUMN truncated BIGINT;"
	"ALTER TABLE records ADD COLUMN tcp_fallback BIGINT;"
	"ALTER TABLE records ADD COLUMN attempts BIGINT;"
	"ALTER TABLE records ADD COLUMN http_status BIGINT;",
	/* 5: what a summary reads of a result (store_measurements_by_time)
	 * in the indexes by probe and by address, after their keys and the
	 * id (PostgreSQL's order and cursor column; SQLite's rowid), so that
	 * a dashboard's summary of a target over a day reads its index in
	 * order rather than a table page for each result it counts
	 * (doc/performance.md).  They replace the narrower ones, which
	 * exports and episodes read the same way.  On SQLite only: a
	 * PostgreSQL B-tree refuses an entry over about 2,700 bytes, and a
	 * result's text (an NSID a server chose, a name) can be longer, so
	 * there the indexes keep their keys and the id (@COVER_*@). */
	"CREATE INDEX IF NOT EXISTS records_probe_time_msm ON records ("
	"  probe, time, id @COVER_BY_PROBE@);"
	"DROP INDEX IF EXISTS records_probe_time;"
	"CREATE INDEX IF NOT EXISTS records_addr_time_msm ON records ("
	"  addr, time, id @COVER_BY_ADDR@);"
	"DROP INDEX IF EXISTS records_addr_time;"
	/* The runs an episodes window reads: those ended after its start
	 * (or open), judged on the index (store_episode_runs), not every
	 * run begun before its end, as along episode_runs_start. */
	"CREATE INDEX IF NOT EXISTS episode_runs_end ON episode_runs ("
	"  end_time, start_time, silence, failures);"
	"DROP INDEX IF EXISTS episode_runs_start;",
	/* 6: on PostgreSQL, what a summary reads (migration 5's columns but
	 * the country and AS) after the keys of the indexes by probe and by
	 * address, for the records whose texts fit an index entry
	 * (STORE_COVER_FITS), and the others by time: a target's day then
	 * reads its index, not a table page for each result.  Migration 5's
	 * narrow indexes stay for the reads of whole records.  An index-only
	 * scan reads the table for a page not marked all-visible: autovacuum
	 * marks them every 20,000 records stored, not after a fifth of the
	 * table, so the last day (the dashboard's) is read from the index
	 * too.  Nothing on SQLite, covered since 5 (@COVER_FITTING@). */
	"@COVER_FITTING@",
	/* 7: the log of every stored record (store_log.h). */
	STORE_LOG_SCHEMA,
	/* 8: the signature of every accepted batch and what it covers
	 * (store_batches.c, doc/evidence.md): the signed body is the
	 * batch's records' lines, not kept twice.  One row per signed
	 * body: a replay changes nothing.  Read by probe and chain, by
	 * time received, and in the order kept. */
	"CREATE TABLE IF NOT EXISTS batches ("
	"  id @ID@,"
	"  probe TEXT NOT NULL,"
	"  chain TEXT NOT NULL,"
	"  first_seq BIGINT NOT NULL,"
	"  last_seq BIGINT NOT NULL,"
	"  count BIGINT NOT NULL,"
	"  seqs TEXT,"  /* NULL: every seq first_seq..last_seq */
	"  forks TEXT," /* NULL: no line from equivocations */
	"  body_hash @BLOB@ NOT NULL,"
	"  sig @BLOB@ NOT NULL,"
	"  received_at BIGINT NOT NULL,"
	"  heartbeat BIGINT NOT NULL,"
	"  UNIQUE (probe, body_hash));"
	"CREATE INDEX IF NOT EXISTS batches_chain ON batches (probe, chain, first_seq);"
	"CREATE INDEX IF NOT EXISTS batches_received "
	"ON batches (received_at);",
	/* 9: on SQLite, the log's nodes in a table clustered on its key
	 * (WITHOUT ROWID): a node is found in one B-tree, not in the key's
	 * index and then in the table, which halves what a proof reads and
	 * what an append writes (doc/evidence.md, What the log costs).
	 * PostgreSQL's tables are heaps either way: nothing there. */
	"@LOG_NODES_CLUSTERED@",
	/* 10: a row of log_nodes holds a run of nodes, not one: an append
	 * writes a row per run (a level's new nodes, up to STORE_LOG_RUN)
	 * rather than a row per node, about two a record (doc/evidence.md,
	 * What the log costs).  The rows kept before are runs of one. */
	"ALTER TABLE log_nodes RENAME COLUMN hash TO hashes;",
};

#define STORE_NMIGRATIONS \
	((int)(sizeof(store_migrations) / sizeof(store_migrations[0])))

int
store_schema_version(void)
{
	return STORE_NMIGRATIONS;
}

void
store_set_error(struct store *st, const char *what)
{
	snprintf(st->error, sizeof(st->error), "%s: %s", what,
	    db_error(st->db));
}

/* Migration 6's predicate and statistics, of unqualified columns. */
#define STORE_FITS_SQL  STORE_COVER_FITS("")
#define STORE_BYTES_SQL STORE_COVER_BYTES("")

/* The words a migration's text spells alike for both backends. */
static const struct store_schema_word {
	const char *token, *sqlite, *pg;
} store_schema_words[] = {
	{ "@ID@", "INTEGER PRIMARY KEY",
	    "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY" },
	{ "@BLOB@", "BLOB", "BYTEA" },
	{ "@EMPTY_BLOB@", "X''", "'\\x'::bytea" },
	/* What a summary reads, after an index's keys (migration 5). */
	{ "@COVER_BY_PROBE@",
	    ", type, ok, name, server, addr, proto, qname, port, af, nsid, "
	    "rtt_ms, soa_serial, country, asn",
	    "" },
	{ "@COVER_BY_ADDR@",
	    ", type, ok, name, server, probe, proto, qname, port, af, nsid, "
	    "rtt_ms, soa_serial, country, asn",
	    "" },
	/* Migration 9: the log's nodes clustered on (level, idx). */
	{ "@LOG_NODES_CLUSTERED@",
	    "CREATE TABLE log_nodes_by_key ("
	    " level INTEGER NOT NULL,"
	    " idx INTEGER NOT NULL,"
	    " hash BLOB NOT NULL,"
	    " PRIMARY KEY (level, idx)) WITHOUT ROWID;"
	    "INSERT INTO log_nodes_by_key (level, idx, hash)"
	    " SELECT level, idx, hash FROM log_nodes ORDER BY level, idx;"
	    "DROP TABLE log_nodes;"
	    "ALTER TABLE log_nodes_by_key RENAME TO log_nodes;",
	    "" },
	/* Migration 6: PostgreSQL's partial covering indexes. */
	{ "@COVER_FITTING@", "",
	    "CREATE INDEX IF NOT EXISTS records_probe_time_fit ON records"
	    " (probe, time, id) INCLUDE (type, ok, name, server, addr, proto,"
	    " qname, port, af, nsid, rtt_ms, soa_serial)"
	    " WHERE " STORE_FITS_SQL ";"
	    "CREATE INDEX IF NOT EXISTS records_addr_time_fit ON records"
	    " (addr, time, id) INCLUDE (type, ok, name, server, probe, proto,"
	    " qname, port, af, nsid, rtt_ms, soa_serial)"
	    " WHERE " STORE_FITS_SQL ";"
	    "CREATE INDEX IF NOT EXISTS records_time_long ON records"
	    " (time, id) WHERE NOT " STORE_FITS_SQL ";"
	    "CREATE STATISTICS IF NOT EXISTS records_cover_bytes"
	    " ON " STORE_BYTES_SQL " FROM records;"
	    "ALTER TABLE records SET (autovacuum_vacuum_insert_threshold ="
	    " 20000, autovacuum_vacuum_insert_scale_factor = 0);"
	    "ANALYZE records;" },
};

/* The word of `text`'s start, or NULL when it starts with none. */
static const struct store_schema_word *
store_schema_word_at(const char *text)
{
	for (size_t i = 0;
	     i < sizeof(store_schema_words) / sizeof(store_schema_words[0]);
	     i++)
		if (strncmp(text, store_schema_words[i].token,
		        strlen(store_schema_words[i].token)) == 0)
			return &store_schema_words[i];
	return NULL;
}

/* A migration's text with the backend's words for its tokens
 * (store_schema_words), or NULL out of memory.  The caller frees it. */
static char *
store_schema_text(const char *text, bool is_pg)
{
	size_t cap = 1, n = 0;
	const char *t;
	char *out;

	for (t = text; *t != '\0';) {
		const struct store_schema_word *w = store_schema_word_at(t);
		cap += w != NULL ? strlen(is_pg ? w->pg : w->sqlite) : 1;
		t += w != NULL ? strlen(w->token) : 1;
	}
	if ((out = malloc(cap)) == NULL)
		return NULL;
	for (t = text; *t != '\0';) {
		const struct store_schema_word *w = store_schema_word_at(t);
		if (w == NULL) {
			out[n++] = *t++;
			continue;
		}
		memcpy(out + n, is_pg ? w->pg : w->sqlite,
		    strlen(is_pg ? w->pg : w->sqlite));
		n += strlen(is_pg ? w->pg : w->sqlite);
		t += strlen(w->token);
	}
	out[n] = '\0';
	return out;
}

static int
store_int_cb(void *arg, const struct db_row *row)
{
	long long *v = arg;

	if (row->n > 0 && row->col[0].type == DB_INT)
		*v = row->col[0].i;
	return 1;
}

int
store_db_version(struct store *st)
{
	long long v = 0;

	if (db_query(st->db, "SELECT max(version) FROM schema_version", NULL, 0,
	        store_int_cb, &v) == -1)
		return -1;
	return (int)v;
}

static int
store_migrate(struct store *st, char *err, size_t errlen)
{
	int have;

	if (db_exec_script(st->db,
	        "CREATE TABLE IF NOT EXISTS schema_version"
	        " (version BIGINT NOT NULL)") == -1 ||
	    (have = store_db_version(st)) < 0) {
		log_say(err, errlen, "schema: %s", db_error(st->db));
		return -1;
	}
	if (have > STORE_NMIGRATIONS) {
		log_say(err, errlen,
		    "the database has schema version %d, "
		    "newer than this collector's %d: upgrade the collector",
		    have, STORE_NMIGRATIONS);
		return -1;
	}
	for (int v = have + 1; v <= STORE_NMIGRATIONS; v++) {
		char *text = store_schema_text(store_migrations[v - 1],
		    st->is_pg);
		struct db_value p = DB_V_INT(v);
		if (text == NULL || db_exec_script(st->db, "BEGIN") == -1 ||
		    db_exec_script(st->db, text) == -1 ||
		    db_exec(st->db,
		        "INSERT INTO schema_version (version) "
		        "VALUES (?)",
		        &p, 1) == -1 ||
		    db_exec_script(st->db, "COMMIT") == -1) {
			log_say(err, errlen, "migration %d: %s", v,
			    text == NULL ? "out of memory" : db_error(st->db));
			db_exec_script(st->db, "ROLLBACK");
			free(text);
			return -1;
		}
		free(text);
		log_info("store: schema migrated to version %d", v);
	}
	return 0;
}

struct store *
store_open(const char *url, char *err, size_t errlen)
{
	struct store *st;

	if ((st = calloc(1, sizeof(*st))) == NULL) {
		log_say(err, errlen, "out of memory");
		return NULL;
	}
	if ((st->db = db_open(url, err, errlen)) == NULL) {
		free(st);
		return NULL;
	}
	st->is_pg = strcmp(db_backend(st->db), "postgresql") == 0;
	if (store_migrate(st, err, errlen) == -1) {
		store_close(st);
		return NULL;
	}
	return st;
}

void
store_close(struct store *st)
{
	if (st == NULL)
		return;
	if (st->in_group)
		store_group_rollback(st);
	store_msm_forget(st);
	for (size_t i = 0;
	     i < sizeof(st->insert_sql) / sizeof(st->insert_sql[0]); i++)
		free(st->insert_sql[i]);
	db_close(st->db);
	free(st);
}

const char *
store_error_text(struct store *st)
{
	return st->error[0] != '\0' ? st->error : db_error(st->db);
}

bool
store_unavailable(struct store *st)
{
	return db_unavailable(st->db);
}

int
store_ping(struct store *st, const char **why)
{
	if (db_ping(st->db) == 0)
		return 0;
	if (why != NULL)
		*why = db_error(st->db);
	return -1;
}

long long
store_size(struct store *st)
{
	return db_size(st->db);
}

const char *
store_backend(const struct store *st)
{
	return db_backend(st->db);
}

struct db *
store_db(struct store *st)
{
	return st->db;
}

long long
store_col_int(const struct db_value *v, long long dflt)
{
	return v->type == DB_INT ? v->i : dflt;
}

void
store_col_text(const struct db_value *v, char *out, size_t size)
{
	size_t n = 0;

	if (v->type == DB_TEXT || v->type == DB_BLOB)
		n = v->len < size - 1 ? v->len : size - 1;
	if (n > 0)
		memcpy(out, v->p, n);
	out[n] = '\0';
}

/* --- Transactions --- */

int
store_begin(struct store *st)
{
	if (st->in_group) {
		if (db_exec_script(st->db, "SAVEPOINT store_op") == -1) {
			store_set_error(st, "savepoint");
			return -1;
		}
		store_log_group_mark(st);
		return 0;
	}
	if (db_exec_script(st->db, "BEGIN") == -1) {
		store_set_error(st, "begin");
		return -1;
	}
	return 0;
}

int
store_commit(struct store *st)
{
	if (st->in_group) {
		if (db_exec_script(st->db, "RELEASE SAVEPOINT store_op") ==
		    -1) {
			store_set_error(st, "release");
			return -1;
		}
		return 0;
	}
	if (db_exec_script(st->db, "COMMIT") == -1) {
		store_set_error(st, "commit");
		db_exec_script(st->db, "ROLLBACK");
		store_msm_forget(st);
		return -1;
	}
	return 0;
}

void
store_rollback(struct store *st)
{
	store_msm_forget(st);
	if (st->in_group) {
		db_exec_script(st->db,
		    "ROLLBACK TO SAVEPOINT store_op;"
		    "RELEASE SAVEPOINT store_op");
		store_log_group_undo(st);
		return;
	}
	db_exec_script(st->db, "ROLLBACK");
}

int
store_group_begin(struct store *st)
{
	if (st->in_group)
		return STORE_OK;
	if (db_exec_script(st->db, "BEGIN") == -1) {
		store_set_error(st, "begin");
		return STORE_E_DB;
	}
	st->in_group = true;
	return STORE_OK;
}

int
store_group_commit(struct store *st)
{
	int rc;

	if (!st->in_group)
		return STORE_OK;
	rc = store_log_group_flush(st);
	store_log_group_end(st);
	st->in_group = false;
	if (rc != STORE_OK) {
		db_exec_script(st->db, "ROLLBACK");
		store_msm_forget(st);
		return STORE_E_DB;
	}
	if (db_exec_script(st->db, "COMMIT") == -1) {
		store_set_error(st, "commit");
		db_exec_script(st->db, "ROLLBACK");
		store_msm_forget(st);
		return STORE_E_DB;
	}
	return STORE_OK;
}

void
store_group_rollback(struct store *st)
{
	if (!st->in_group)
		return;
	store_log_group_end(st);
	st->in_group = false;
	db_exec_script(st->db, "ROLLBACK");
	store_msm_forget(st);
}

/* --- Ingest --- */

int
store_batch_check(const struct store_batch *b, char *err, size_t errlen)
{
	if (b->n == 0) {
		log_say(err, errlen, "an empty batch");
		return STORE_E_INVALID;
	}
	for (size_t i = 0; i < b->n; i++) {
		const struct record *r = &b->recs[i];
		if (strcmp(r->probe, b->probe->id) != 0) {
			log_say(err, errlen,
			    "line %zu: probe %s, the batch "
			    "is signed by %s",
			    i + 1, r->probe, b->probe->id);
			return STORE_E_INVALID;
		}
		if (i == 0)
			continue;
		if (strcmp(r->chain, b->recs[0].chain) != 0) {
			log_say(err, errlen,
			    "line %zu: chain %s, line 1 has "
			    "%s: one chain per batch",
			    i + 1, r->chain, b->recs[0].chain);
			return STORE_E_INVALID;
		}
		if (r->seq <= b->recs[i - 1].seq) {
			log_say(err, errlen,
			    "line %zu: seq %" PRIu64 " after "
			    "%" PRIu64 ": seqs must ascend",
			    i + 1, r->seq, b->recs[i - 1].seq);
			return STORE_E_INVALID;
		}
		if (r->seq != b->recs[i - 1].seq + 1)
			continue;
		if (memcmp(r->prev_hash, b->recs[i - 1].hash,
		        RECORD_HASH_LEN) != 0) {
			log_say(err, errlen,
			    "line %zu: prev is not the hash "
			    "of line %zu",
			    i + 1, i);
			return STORE_E_INVALID;
		}
	}
	return STORE_OK;
}

/* A stored record of the chain near the batch: its seq, hash, prev. */
struct store_near {
	uint64_t seq;
	unsigned char hash[RECORD_HASH_LEN];
	unsigned char prev[RECORD_HASH_LEN];
};

struct store_near_set {
	struct store_near *v;
	size_t n, cap;
	bool oom;
};

void *
store_grow(void *v, size_t n, size_t *cap, size_t size)
{
	size_t grown;
	void *nv;

	if (n < *cap)
		return v;
	grown = *cap == 0 ? 64 : *cap * 2;
	if ((nv = reallocarray(v, grown, size)) == NULL)
		return NULL;
	*cap = grown;
	return nv;
}

static int
store_near_cb(void *arg, const struct db_row *row)
{
	struct store_near_set *set = arg;
	struct store_near *nv;

	if (row->n < 3 || row->col[1].type != DB_BLOB ||
	    row->col[1].len != RECORD_HASH_LEN || row->col[2].type != DB_BLOB ||
	    row->col[2].len != RECORD_HASH_LEN)
		return 0;
	if ((nv = store_grow(set->v, set->n, &set->cap, sizeof(*nv))) == NULL) {
		set->oom = true;
		return 1;
	}
	set->v = nv;
	nv = &set->v[set->n++];
	nv->seq = (uint64_t)row->col[0].i;
	memcpy(nv->hash, row->col[1].p, RECORD_HASH_LEN);
	memcpy(nv->prev, row->col[2].p, RECORD_HASH_LEN);
	return 0;
}

/* bsearch comparators: a seq (the key) against an element's seq. */
static int
store_near_cmp(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key;
	uint64_t e = ((const struct store_near *)elem)->seq;

	return k < e ? -1 : k > e;
}

static int
store_record_cmp(const void *key, const void *elem)
{
	uint64_t k = *(const uint64_t *)key;
	uint64_t e = ((const struct record *)elem)->seq;

	return k < e ? -1 : k > e;
}

/* The stored record with `seq` (the set ascends), or NULL. */
static const struct store_near *
store_near_find(const struct store_near_set *set, uint64_t seq)
{
	return set->n == 0 ?
	    NULL :
	    bsearch(&seq, set->v, set->n, sizeof(*set->v), store_near_cmp);
}

/* The record of the batch with `seq` (records ascend), or NULL. */
static const struct record *
store_batch_find(const struct store_batch *b, uint64_t seq)
{
	return b->n == 0 ?
	    NULL :
	    bsearch(&seq, b->recs, b->n, sizeof(*b->recs), store_record_cmp);
}

/* The parsed columns of a record, for queries.  Strings point into the
 * record's JSON. */
struct store_cols {
	cw_usec_t time;
	bool has_time;
	const char *name, *server, *addr, *proto, *qname, *qtype;
	const char *failure, *rcode, *nsid;
	long long port, af, soa_serial;
	int ok; /* -1 when absent */
	double rtt_ms;
	bool has_rtt;
};

const char *
store_json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static long long
store_json_int(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : -1;
}

static void
store_cols_get(const struct record *r, struct store_cols *c)
{
	json_t *o = r->json, *q = json_object_get(o, "query"), *v;
	const char *t;

	memset(c, 0, sizeof(*c));
	if ((t = store_json_str(o, "time")) != NULL &&
	    cw_time_parse(t, &c->time) == 0)
		c->has_time = true;
	c->name = store_json_str(o, "name");
	c->server = store_json_str(o, "server");
	c->addr = store_json_str(o, "addr");
	c->proto = store_json_str(o, "proto");
	c->qname = store_json_str(q, "qname");
	c->qtype = store_json_str(q, "qtype");
	c->failure = store_json_str(o, "failure");
	c->rcode = store_json_str(o, "rcode");
	c->nsid = store_json_str(o, "nsid");
	c->port = store_json_int(o, "port");
	c->af = store_json_int(o, "af");
	c->soa_serial = store_json_int(o, "soa_serial");
	v = json_object_get(o, "ok");
	c->ok = json_is_boolean(v) ? json_is_true(v) : -1;
	v = json_object_get(o, "rtt_ms");
	if (strcmp(r->type, "http") == 0) {
		/* HTTP: the host is the server, the URL's scheme the
		 * transport and the whole measurement's time the RTT, so
		 * that summaries and filters treat both kinds alike. */
		const char *url = store_json_str(o, "url");
		c->server = store_json_str(o, "host");
		c->proto = url == NULL                 ? NULL :
		    strncasecmp(url, "https:", 6) == 0 ? "https" :
		    strncasecmp(url, "http:", 5) == 0  ? "http" :
		                                         NULL;
		v = json_object_get(o, "total_ms");
	}
	if (json_is_number(v)) {
		c->rtt_ms = json_number_value(v);
		c->has_rtt = true;
	}
}

static struct db_value
store_v_str(const char *s)
{
	return s != NULL ? DB_V_TEXT(s) : DB_V_NULL;
}

static struct db_value
store_v_int(long long v)
{
	return v >= 0 ? DB_V_INT(v) : DB_V_NULL;
}

/* The stable number of measurement (type, name), made on first sight. */
static int
store_msm_num(struct store *st, const char *type, const char *name,
    long long *num)
{
	struct db_value p[2] = { DB_V_TEXT(type), DB_V_TEXT(name) };
	const struct store_msm *m;

	if ((m = store_msm_find(st, type, name)) != NULL) {
		*num = m->num;
		return 0;
	}
	*num = 0;
	if (db_query(st->db,
	        "SELECT num FROM measurements WHERE type = ? AND "
	        "name = ?",
	        p, 2, store_int_cb, num) == -1)
		return -1;
	if (*num != 0) {
		store_msm_remember(st, type, name, *num);
		return 0;
	}
	if (db_exec(st->db,
	        "INSERT INTO measurements (type, name) VALUES "
	        "(?, ?) ON CONFLICT DO NOTHING",
	        p, 2) == -1 ||
	    db_query(st->db,
	        "SELECT num FROM measurements WHERE type = ? AND "
	        "name = ?",
	        p, 2, store_int_cb, num) == -1)
		return -1;
	if (*num != 0)
		store_msm_remember(st, type, name, *num);
	return 0;
}

/* What a batch's records are tagged with: the probe's declared country
 * ("" when none) and ASN (-1). */
struct store_identity {
	char country[3];
	long long asn;
};

/* The columns of a record row, in this order. */
#define STORE_RECORD_COLUMNS \
	"probe, chain, seq, hash, prev, line, received_at, type, time, " \
	"name, msm, server, addr, port, af, proto, qname, qtype, ok, " \
	"failure, rtt_ms, rcode, nsid, soa_serial, country, asn, " \
	"evidence, failure_detail, txt, late_count, late_differ, " \
	"truncated, tcp_fallback, attempts, http_status, log_index"
#define STORE_RECORD_NCOLUMNS 36

static struct db_value
store_v_bool(int v)
{
	return v >= 0 ? DB_V_INT(v) : DB_V_NULL;
}

/* Fill the STORE_RECORD_NCOLUMNS parameters of record `r`, leaf
 * `log_index` of the log, into `p` (they point into `r`, and into
 * *owned, which the caller frees after the statement). */
static int
store_record_params(struct store *st, const struct store_batch *b,
    const struct store_identity *who, const struct record *r,
    uint64_t log_index, struct db_value *p, char **owned)
{
	struct store_evidence ev;
	struct store_cols c;
	long long msm = 0;
	int n = 0;

	store_cols_get(r, &c);
	if (store_evidence_parse(r->json, r->type, &ev, owned) == -1) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		return -1;
	}
	if (c.name != NULL && store_msm_num(st, r->type, c.name, &msm) == -1)
		return -1;
	p[n++] = DB_V_TEXT(r->probe);
	p[n++] = DB_V_TEXT(r->chain);
	p[n++] = DB_V_INT((long long)r->seq);
	p[n++] = DB_V_BLOB(r->hash, RECORD_HASH_LEN);
	p[n++] = DB_V_BLOB(r->prev_hash, RECORD_HASH_LEN);
	p[n++] = DB_V_BLOB(r->line, r->len);
	p[n++] = DB_V_INT(b->received_at);
	p[n++] = DB_V_TEXT(r->type);
	p[n++] = c.has_time ? DB_V_INT(c.time) : DB_V_NULL;
	p[n++] = store_v_str(c.name);
	p[n++] = msm != 0 ? DB_V_INT(msm) : DB_V_NULL;
	p[n++] = store_v_str(c.server);
	p[n++] = store_v_str(c.addr);
	p[n++] = store_v_int(c.port);
	p[n++] = store_v_int(c.af);
	p[n++] = store_v_str(c.proto);
	p[n++] = store_v_str(c.qname);
	p[n++] = store_v_str(c.qtype);
	p[n++] = c.ok >= 0 ? DB_V_INT(c.ok) : DB_V_NULL;
	p[n++] = store_v_str(c.failure);
	p[n++] = c.has_rtt ? DB_V_REAL(c.rtt_ms) : DB_V_NULL;
	p[n++] = store_v_str(c.rcode);
	p[n++] = store_v_str(c.nsid);
	p[n++] = store_v_int(c.soa_serial);
	p[n++] = who->country[0] != '\0' ? DB_V_TEXT(who->country) : DB_V_NULL;
	p[n++] = store_v_int(who->asn);
	p[n++] = DB_V_INT(1);
	p[n++] = store_v_str(ev.failure_detail);
	p[n++] = store_v_str(ev.txt);
	p[n++] = store_v_int(ev.late_count);
	p[n++] = store_v_bool(ev.late_differ);
	p[n++] = store_v_bool(ev.truncated);
	p[n++] = store_v_bool(ev.tcp_fallback);
	p[n++] = store_v_int(ev.attempts);
	p[n++] = store_v_int(ev.http_status);
	p[n++] = DB_V_INT((long long)log_index);
	return 0;
}

/*
 * Rows go in with multi-row INSERTs of a few fixed sizes (so that the
 * statements are prepared once): one round trip per chunk, not per
 * record, which is what PostgreSQL needs to keep up.
 */
static const int store_chunks[] = { 256, 32, 4, 1 };
#define STORE_NCHUNKS ((int)(sizeof(store_chunks) / sizeof(store_chunks[0])))

char *
store_rows_sql(const char *head, const char *row, int k)
{
	size_t len = strlen(head) + (size_t)k * (strlen(row) + 1) + 1;
	char *sql;

	if ((sql = malloc(len)) == NULL)
		return NULL;
	strcpy(sql, head);
	for (int i = 0; i < k; i++) {
		if (i > 0)
			strcat(sql, ",");
		strcat(sql, row);
	}
	return sql;
}

static const char *
store_insert_sql(struct store *st, int chunk)
{
	static const char row[] = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	                          "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	                          "?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";

	if (st->insert_sql[chunk] == NULL)
		st->insert_sql[chunk] = store_rows_sql(
		    "INSERT INTO records (" STORE_RECORD_COLUMNS ") VALUES ",
		    row, store_chunks[chunk]);
	return st->insert_sql[chunk];
}

/* Insert the batch's records listed in `idx` (n of them), tagged with
 * `who`, as the log's leaves from `log_base` on. */
static int
store_records_insert(struct store *st, const struct store_batch *b,
    const struct store_identity *who, const size_t *idx, size_t n,
    uint64_t log_base)
{
	struct db_value *p;
	char **owned; /* the joined TXT of each row of a chunk */
	size_t done = 0;
	int ret = -1, k = 0;

	p = calloc((size_t)store_chunks[0] * STORE_RECORD_NCOLUMNS, sizeof(*p));
	owned = calloc((size_t)store_chunks[0], sizeof(*owned));
	if (p == NULL || owned == NULL)
		goto out;
	while (done < n) {
		int c = 0;
		const char *sql;
		while (store_chunks[c] > (int)(n - done))
			c++;
		k = store_chunks[c];
		for (int i = 0; i < k; i++)
			if (store_record_params(st, b, who,
			        &b->recs[idx[done + i]],
			        log_base + done + (size_t)i,
			        p + (size_t)i * STORE_RECORD_NCOLUMNS,
			        &owned[i]) == -1)
				goto out;
		if ((sql = store_insert_sql(st, c)) == NULL ||
		    db_exec(st->db, sql, p, k * STORE_RECORD_NCOLUMNS) == -1)
			goto out;
		for (int i = 0; i < k; i++) {
			free(owned[i]);
			owned[i] = NULL;
		}
		done += (size_t)k;
	}
	ret = 0;
out:
	if (owned != NULL)
		for (int i = 0; i < k; i++)
			free(owned[i]);
	free(owned);
	free(p);
	return ret;
}

/* store_count_cb: count the rows (of a RETURNING clause). */
static int
store_count_cb(void *arg, const struct db_row *row)
{
	(void)row;
	(*(long long *)arg)++;
	return 0;
}

/* Keep `r` apart as an equivocation: 1 when it is new, 0 when the same
 * bytes were kept already (sent again), -1 on a database error. */
static int
store_equivocation_insert(struct store *st, const struct store_batch *b,
    const struct record *r)
{
	struct db_value p[7];
	long long kept = 0;

	p[0] = DB_V_TEXT(r->probe);
	p[1] = DB_V_TEXT(r->chain);
	p[2] = DB_V_INT((long long)r->seq);
	p[3] = DB_V_BLOB(r->hash, RECORD_HASH_LEN);
	p[4] = DB_V_BLOB(r->prev_hash, RECORD_HASH_LEN);
	p[5] = DB_V_BLOB(r->line, r->len);
	p[6] = DB_V_INT(b->received_at);
	if (db_query(st->db,
	        "INSERT INTO equivocations (probe, chain, seq, "
	        "hash, prev, line, received_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
	        "ON CONFLICT DO NOTHING RETURNING seq",
	        p, 7, store_count_cb, &kept) == -1)
		return -1;
	return kept > 0;
}

/* A `loss` record: the seqs it says were dropped. */
static int
store_loss_insert(struct store *st, const struct record *r)
{
	json_t *lost = json_object_get(r->json, "lost");
	long long first = store_json_int(lost, "first_seq");
	long long last = store_json_int(lost, "last_seq");
	struct db_value p[6];

	if (first < 1 || last < first || (uint64_t)last >= r->seq)
		return 0; /* kept as a record; explains nothing */
	p[0] = DB_V_TEXT(r->probe);
	p[1] = DB_V_TEXT(r->chain);
	p[2] = DB_V_INT((long long)r->seq);
	p[3] = DB_V_INT(first);
	p[4] = DB_V_INT(last);
	p[5] = store_v_str(store_json_str(r->json, "reason"));
	return db_exec(st->db,
	    "INSERT INTO losses (probe, chain, seq, "
	    "first_seq, last_seq, reason) VALUES (?, ?, ?, ?, ?, ?) "
	    "ON CONFLICT DO NOTHING",
	    p, 6);
}

struct store_seqs {
	long long *v;
	size_t n, cap;
	bool oom;
};

static int
store_seqs_cb(void *arg, const struct db_row *row)
{
	struct store_seqs *s = arg;
	long long *nv;

	if ((nv = store_grow(s->v, s->n, &s->cap, sizeof(*nv))) == NULL) {
		s->oom = true;
		return 1;
	}
	s->v = nv;
	s->v[s->n++] = store_col_int(&row->col[0], 0);
	return 0;
}

/*
 * Recompute the chain's gaps around the batch: between the last stored
 * seq below the batch and the first stored seq above it, every hole is a
 * gap; holes past the last stored seq are not (nothing is missing yet).
 * Then mark the gaps a loss record covers.
 */
static int
store_gaps_update(struct store *st, const struct store_batch *b)
{
	const struct record *first = &b->recs[0], *last = &b->recs[b->n - 1];
	struct store_seqs seqs = { 0 };
	struct db_value p[6];
	long long lo = 0, hi = 0;
	int ret = -1;

	p[0] = DB_V_TEXT(first->probe);
	p[1] = DB_V_TEXT(first->chain);
	p[2] = DB_V_INT((long long)first->seq);
	if (db_query(st->db,
	        "SELECT max(seq) FROM records WHERE probe = ? "
	        "AND chain = ? AND seq < ?",
	        p, 3, store_int_cb, &lo) == -1)
		return -1;
	p[2] = DB_V_INT((long long)last->seq);
	if (db_query(st->db,
	        "SELECT min(seq) FROM records WHERE probe = ? "
	        "AND chain = ? AND seq > ?",
	        p, 3, store_int_cb, &hi) == -1)
		return -1;
	if (hi == 0)
		hi = (long long)last->seq;
	/* Seqs from lo to hi: lo and hi are stored (or lo = 0). */
	p[2] = DB_V_INT(lo);
	p[3] = DB_V_INT(hi);
	if (db_query(st->db,
	        "SELECT seq FROM records WHERE probe = ? AND "
	        "chain = ? AND seq >= ? AND seq <= ? ORDER BY seq",
	        p, 4, store_seqs_cb, &seqs) == -1 ||
	    seqs.oom)
		goto out;
	if (db_exec(st->db,
	        "DELETE FROM gaps WHERE probe = ? AND chain = ? "
	        "AND first_seq >= ? AND first_seq <= ?",
	        p, 4) == -1)
		goto out;
	for (size_t i = 0; i < seqs.n; i++) {
		long long before = i == 0 ? lo : seqs.v[i - 1];
		if (i == 0 && lo != 0)
			continue; /* lo itself is the first row */
		if (seqs.v[i] <= before + 1)
			continue;
		p[2] = DB_V_INT(before + 1);
		p[3] = DB_V_INT(seqs.v[i] - 1);
		p[4] = DB_V_INT(0);
		p[5] = DB_V_INT(b->received_at);
		if (db_exec(st->db,
		        "INSERT INTO gaps (probe, chain, first_seq, "
		        "last_seq, explained, detected_at) VALUES (?, ?, ?, ?, ?, ?)",
		        p, 6) == -1)
			goto out;
	}
	if (db_exec(st->db,
	        "UPDATE gaps SET explained = 1 WHERE probe = ? AND "
	        "chain = ? AND explained = 0 AND EXISTS (SELECT 1 FROM losses l "
	        "WHERE l.probe = gaps.probe AND l.chain = gaps.chain AND "
	        "l.first_seq <= gaps.first_seq AND l.last_seq >= gaps.last_seq)",
	        p, 2) == -1)
		goto out;
	ret = 0;
out:
	free(seqs.v);
	return ret;
}

/*
 * The probe's last sight, and its newest heartbeat with what it says of
 * itself (country, ASN).  Sets `who` to what the batch's records are
 * tagged with: what that heartbeat's identity declares, or without one
 * what the probe declared before the batch; so a probe's first batch,
 * the heartbeat that declares its country included, is tagged too.
 */
static int
store_probe_seen(struct store *st, const struct store_batch *b,
    struct store_identity *who)
{
	const struct record *hb = NULL;
	struct db_value p[6];

	snprintf(who->country, sizeof(who->country), "%s", b->probe->country);
	who->asn = b->probe->asn;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->recs[i].type, "heartbeat") == 0)
			hb = &b->recs[i];
	p[0] = DB_V_INT(b->received_at);
	p[1] = DB_V_INT(b->received_at);
	p[2] = DB_V_TEXT(b->probe->id);
	if (db_exec(st->db,
	        "UPDATE probes SET first_seen = coalesce("
	        "first_seen, ?), last_seen = ? WHERE id = ?",
	        p, 3) == -1)
		return -1;
	if (hb == NULL)
		return 0;
	json_t *id = json_object_get(hb->json, "identity");
	if (!json_is_object(id)) {
		/* It declares nothing of itself: what it did stands. */
		p[0] = DB_V_BLOB(hb->line, hb->len);
		p[1] = DB_V_TEXT(b->probe->id);
		return db_exec(st->db,
		    "UPDATE probes SET last_heartbeat = ? "
		    "WHERE id = ?",
		    p, 2);
	}
	const char *country = store_json_str(id, "country");
	long long asn = store_json_int(id, "asn");
	if (country != NULL &&
	    (strlen(country) != 2 || country[0] < 'A' || country[0] > 'Z' ||
	        country[1] < 'A' || country[1] > 'Z'))
		country = NULL;
	snprintf(who->country, sizeof(who->country), "%s",
	    country != NULL ? country : "");
	who->asn = asn >= 0 ? asn : -1;
	p[0] = DB_V_BLOB(hb->line, hb->len);
	p[1] = store_v_str(country);
	p[2] = store_v_int(asn);
	p[3] = store_v_str(store_json_str(id, "location"));
	p[4] = DB_V_TEXT(b->probe->id);
	return db_exec(st->db,
	    "UPDATE probes SET last_heartbeat = ?, country "
	    "= ?, asn = ?, location = ? WHERE id = ?",
	    p, 5);
}

/* What the collector knows of a chain before a batch. */
struct store_chain {
	bool known;
	long long last_seq;
	unsigned char last_hash[RECORD_HASH_LEN];
	long long open_gaps;
};

static int
store_chain_cb(void *arg, const struct db_row *row)
{
	struct store_chain *c = arg;

	if (row->n < 3 || row->col[1].type != DB_BLOB ||
	    row->col[1].len != RECORD_HASH_LEN)
		return 1;
	c->known = true;
	c->last_seq = store_col_int(&row->col[0], 0);
	memcpy(c->last_hash, row->col[1].p, RECORD_HASH_LEN);
	c->open_gaps = store_col_int(&row->col[2], 0);
	return 1;
}

static int
store_chain_get(struct store *st, const struct record *r, struct store_chain *c)
{
	struct db_value p[2] = { DB_V_TEXT(r->probe), DB_V_TEXT(r->chain) };

	memset(c, 0, sizeof(*c));
	return db_query(st->db,
	    "SELECT last_seq, last_hash, open_gaps FROM "
	    "chains WHERE probe = ? AND chain = ?",
	    p, 2, store_chain_cb, c);
}

/* Write the chain's state after the batch. */
static int
store_chain_put(struct store *st, const struct store_batch *b,
    const struct store_chain *c)
{
	const struct record *r = &b->recs[0];
	struct db_value p[6];

	p[0] = DB_V_TEXT(r->probe);
	p[1] = DB_V_TEXT(r->chain);
	p[2] = DB_V_INT(b->received_at);
	p[3] = DB_V_INT(c->last_seq);
	p[4] = DB_V_BLOB(c->last_hash, RECORD_HASH_LEN);
	p[5] = DB_V_INT(c->open_gaps);
	return db_exec(st->db,
	    "INSERT INTO chains (probe, chain, first_seen, "
	    "last_seq, last_hash, open_gaps) VALUES (?, ?, ?, ?, ?, ?) ON "
	    "CONFLICT (probe, chain) DO UPDATE SET last_seq = "
	    "excluded.last_seq, last_hash = excluded.last_hash, open_gaps = "
	    "excluded.open_gaps",
	    p, 6);
}

static int
store_near_push(struct store_near_set *set, uint64_t seq,
    const unsigned char *hash)
{
	if ((set->v = calloc(1, sizeof(*set->v))) == NULL) {
		set->oom = true;
		return -1;
	}
	set->n = set->cap = 1;
	set->v[0].seq = seq;
	memcpy(set->v[0].hash, hash, RECORD_HASH_LEN);
	return 0;
}

/* Does stored `near` (or the batch) agree that `r` links to its
 * neighbours?  Returns 0, or STORE_E_CHAIN with a reason. */
static int
store_link_check(const struct store_batch *b, const struct store_near_set *near,
    const struct record *r, size_t line, char *err, size_t errlen)
{
	const struct store_near *before, *after;

	if (r->seq > 1 && store_batch_find(b, r->seq - 1) == NULL &&
	    (before = store_near_find(near, r->seq - 1)) != NULL &&
	    memcmp(before->hash, r->prev_hash, RECORD_HASH_LEN) != 0) {
		log_say(err, errlen,
		    "line %zu: seq %" PRIu64 "'s prev is "
		    "not the hash of the stored seq %" PRIu64 ": the chain is "
		    "broken",
		    line, r->seq, r->seq - 1);
		return STORE_E_CHAIN;
	}
	if (store_batch_find(b, r->seq + 1) == NULL &&
	    (after = store_near_find(near, r->seq + 1)) != NULL &&
	    memcmp(after->prev, r->hash, RECORD_HASH_LEN) != 0) {
		log_say(err, errlen,
		    "line %zu: the stored seq %" PRIu64
		    " does not follow from seq %" PRIu64 ": the chain is "
		    "broken",
		    line, r->seq + 1, r->seq);
		return STORE_E_CHAIN;
	}
	return STORE_OK;
}

/* The gaps batch `b` opens above `end`, the chain's last seq before it
 * (0 for a new chain): seqs it skips that were not missing before.
 * Below the end a batch can only fill a gap, or split it. */
static size_t
store_gaps_opened(const struct store_batch *b, long long end)
{
	size_t opened = 0;

	for (size_t i = 0; i < b->n; i++) {
		long long seq = (long long)b->recs[i].seq;
		if (seq <= end)
			continue;
		if (seq > end + 1)
			opened++;
		end = seq;
	}
	return opened;
}

/*
 * Store the batch's new records (`fresh`, n of them) and append them to
 * `log` (locked), in the ingest's transaction: their log indexes follow
 * the log's size.  The receipt gets the new size, and the last record's
 * index when it is one of them.
 */
static int
store_ingest_logged(struct store *st, const struct store_batch *b,
    const struct store_identity *who, const size_t *fresh, size_t n,
    struct store_log *log, struct store_receipt *rc)
{
	const struct record **recs;
	int ret = -1;

	if ((recs = calloc(n, sizeof(*recs))) == NULL) {
		snprintf(st->error, sizeof(st->error), "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++)
		recs[i] = &b->recs[fresh[i]];
	if (store_records_insert(st, b, who, fresh, n, log->fr.size) == -1 ||
	    store_log_append(st, log, recs, n) != STORE_OK)
		goto out;
	if (fresh[n - 1] == b->n - 1)
		rc->log_index = (long long)log->fr.size - 1;
	ret = 0;
out:
	free(recs);
	return ret;
}

/* The receipt's log index when the batch's last record was stored
 * before (a replay, or a batch that ends with old records): read back. */
static int
store_receipt_log(struct store *st, const struct store_batch *b,
    struct store_receipt *rc)
{
	const struct record *last = &b->recs[b->n - 1];
	struct db_value p[3];

	if (rc->log_index >= 0)
		return 0;
	p[0] = DB_V_TEXT(last->probe);
	p[1] = DB_V_TEXT(last->chain);
	p[2] = DB_V_INT((long long)last->seq);
	return db_query(st->db,
	    "SELECT log_index FROM records WHERE probe = ? AND chain = ? "
	    "AND seq = ?",
	    p, 3, store_int_cb, &rc->log_index);
}

/*
 * Most batches carry the next records of a chain: the chain's row says
 * where it ends and the hash of its last record, which is all the links
 * need, and no gap opens or closes.  Only a batch that reaches back
 * below the chain's end reads the stored records around it, and only a
 * batch that leaves or fills a hole (or brings a loss record) redoes the
 * chain's gaps.
 */
static int
store_ingest_records(struct store *st, const struct store_batch *b,
    struct store_receipt *rc, char *err, size_t errlen)
{
	const struct record *first = &b->recs[0], *last = &b->recs[b->n - 1];
	struct store_near_set near = { 0 };
	struct store_identity who;
	struct store_chain chain;
	struct store_log log;
	struct db_value p[4];
	bool loss = false, append, holes = false;
	int ret = STORE_E_DB;
	size_t *fresh = NULL, nfresh = 0, *forks = NULL, nforks = 0;

	if ((fresh = calloc(b->n, sizeof(*fresh))) == NULL ||
	    (forks = calloc(b->n, sizeof(*forks))) == NULL) {
		near.oom = true;
		goto out;
	}
	/* The log first, whether the batch brings a record or not: every
	 * ingest then takes its locks in one order (on PostgreSQL the log's
	 * row before a probe's or a chain's), so that collectors sharing the
	 * database wait for each other rather than deadlock. */
	if (store_log_lock(st, &log) != STORE_OK ||
	    store_chain_get(st, first, &chain) == -1)
		goto out;
	append = !chain.known || (long long)first->seq > chain.last_seq;
	if (!append) {
		/* Every stored record from seq first-1 to last+1. */
		p[0] = DB_V_TEXT(first->probe);
		p[1] = DB_V_TEXT(first->chain);
		p[2] = DB_V_INT((long long)first->seq - 1);
		p[3] = DB_V_INT((long long)last->seq + 1);
		if (db_query(st->db,
		        "SELECT seq, hash, prev FROM records "
		        "WHERE probe = ? AND chain = ? AND seq >= ? AND seq <= ? "
		        "ORDER BY seq",
		        p, 4, store_near_cb, &near) == -1 ||
		    near.oom)
			goto out;
	} else if (chain.known && chain.last_seq == (long long)first->seq - 1 &&
	    store_near_push(&near, first->seq - 1, chain.last_hash) == -1)
		goto out;
	for (size_t i = 0; i < b->n; i++) {
		const struct record *r = &b->recs[i];
		const struct store_near *have = store_near_find(&near, r->seq);
		if (i > 0 && r->seq != b->recs[i - 1].seq + 1)
			holes = true;
		if (i == b->n - 1)
			memcpy(rc->acked_hash,
			    have != NULL ? have->hash : r->hash,
			    RECORD_HASH_LEN);
		if (have != NULL &&
		    memcmp(have->hash, r->hash, RECORD_HASH_LEN) == 0) {
			rc->duplicates++;
			continue;
		}
		if (have != NULL) {
			/* Kept apart once; sent again, a duplicate. */
			int kept = store_equivocation_insert(st, b, r);
			forks[nforks++] = i;
			if (kept == -1)
				goto out;
			if (kept)
				rc->equivocations++;
			else
				rc->duplicates++;
			continue;
		}
		if ((ret = store_link_check(b, &near, r, i + 1, err, errlen)) !=
		    STORE_OK)
			goto out;
		ret = STORE_E_DB;
		fresh[nfresh++] = i;
		if (strcmp(r->type, "loss") == 0) {
			if (store_loss_insert(st, r) == -1)
				goto out;
			loss = true;
		}
		rc->stored++;
	}
	if (store_probe_seen(st, b, &who) == -1)
		goto out;
	if (nfresh > 0 &&
	    store_ingest_logged(st, b, &who, fresh, nfresh, &log, rc) == -1)
		goto out;
	/* Episodes move on in the same transaction (store_episodes.h). */
	if (nfresh > 0 &&
	    store_episodes_ingest(st, first->probe, first->chain,
	        (long long)b->recs[fresh[0]].seq,
	        (long long)b->recs[fresh[nfresh - 1]].seq) == -1)
		goto out;
	/* A hole before the batch, inside it, or one it may fill. */
	if ((nfresh > 0 || loss) &&
	    (!append || holes || loss ||
	        (long long)first->seq > chain.last_seq + 1)) {
		long long open = 0;
		p[0] = DB_V_TEXT(first->probe);
		p[1] = DB_V_TEXT(first->chain);
		if (store_gaps_update(st, b) == -1 ||
		    db_query(st->db,
		        "SELECT count(*) FROM gaps WHERE probe = "
		        "? AND chain = ? AND explained = 0",
		        p, 2, store_int_cb, &open) == -1)
			goto out;
		chain.open_gaps = open;
	}
	rc->gaps_opened = store_gaps_opened(b, chain.last_seq);
	if ((long long)last->seq > chain.last_seq) {
		/* Nothing was stored above the chain's end: the batch's last
		 * record is new, and now the end. */
		chain.last_seq = (long long)last->seq;
		memcpy(chain.last_hash, last->hash, RECORD_HASH_LEN);
	}
	rc->gaps = (size_t)chain.open_gaps;
	rc->log_size = log.fr.size;
	if (store_chain_put(st, b, &chain) == -1 ||
	    store_receipt_log(st, b, rc) == -1 ||
	    store_batch_keep(st, b, forks, nforks) == -1)
		goto out;
	ret = STORE_OK;
out:
	if (ret == STORE_E_DB) {
		store_set_error(st, near.oom ? "out of memory" : "ingest");
		log_say(err, errlen, "%s", st->error);
	}
	free(near.v);
	free(fresh);
	free(forks);
	return ret;
}

int
store_ingest(struct store *st, const struct store_batch *b,
    struct store_receipt *rc, char *err, size_t errlen)
{
	int ret;

	memset(rc, 0, sizeof(*rc));
	if ((ret = store_batch_check(b, err, errlen)) != STORE_OK)
		return ret;
	memcpy(rc->probe, b->probe->id, sizeof(rc->probe));
	rc->log_index = -1;
	memcpy(rc->chain, b->recs[0].chain, sizeof(rc->chain));
	rc->acked_seq = b->recs[b->n - 1].seq;
	rc->received_at = b->received_at;
	if (store_begin(st) == -1) {
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	if ((ret = store_ingest_records(st, b, rc, err, errlen)) != STORE_OK) {
		store_rollback(st);
		return ret;
	}
	if (store_commit(st) == -1) {
		log_say(err, errlen, "%s", st->error);
		return STORE_E_DB;
	}
	return STORE_OK;
}
