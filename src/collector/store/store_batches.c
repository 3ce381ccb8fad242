/*
 * store_batches.c -- the signature of every accepted batch and what it
 * covers (store.h: struct store_batch_row; doc/evidence.md), kept in
 * the batches table in the transaction of the batch's records, and read
 * back a page at a time.  The signed body itself is not kept: it is the
 * batch's records' stored lines, each followed by a newline, in seq
 * order; `seqs` and `forks` say which lines when that is not every
 * stored record from first_seq to last_seq.
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "record.h"
#include "store.h"
#include "store_int.h"

/* The seqs of `b` as ascending ranges "1-3,7,9-12"; NULL with *oom
 * false when they are every seq from the first to the last. */
static char *
store_batch_seqs(const struct store_batch *b, bool *oom)
{
	const struct record *r = b->recs;
	size_t len = 0, cap, i = 0;
	char *text;

	*oom = false;
	if (r[b->n - 1].seq - r[0].seq + 1 == (uint64_t)b->n)
		return NULL;
	cap = b->n * 42 + 1; /* two 20-digit seqs and a separator each */
	if ((text = malloc(cap)) == NULL) {
		*oom = true;
		return NULL;
	}
	while (i < b->n) {
		size_t j = i;
		while (j + 1 < b->n && r[j + 1].seq == r[j].seq + 1)
			j++;
		len += (size_t)snprintf(text + len, cap - len,
		    j > i ? "%s%" PRIu64 "-%" PRIu64 : "%s%" PRIu64,
		    i > 0 ? "," : "", r[i].seq, r[j].seq);
		i = j + 1;
	}
	return text;
}

/* "seq:hash,..." of the records of `b` listed in `forks` (n > 0), or
 * NULL out of memory. */
static char *
store_batch_forks(const struct store_batch *b, const size_t *forks, size_t n)
{
	size_t cap = n * (21 + RECORD_HASH_HEX + 1) + 1, len = 0;
	char hex[RECORD_HASH_HEX + 1], *text;

	if ((text = malloc(cap)) == NULL)
		return NULL;
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		const struct record *r = &b->recs[forks[i]];
		record_hex(r->hash, RECORD_HASH_LEN, hex);
		len += (size_t)snprintf(text + len, cap - len,
		    "%s%" PRIu64 ":%s", i > 0 ? "," : "", r->seq, hex);
	}
	return text;
}

int
store_batch_keep(struct store *st, const struct store_batch *b,
    const size_t *forks, size_t nforks)
{
	char *seqs, *fork_text = NULL;
	struct db_value p[12];
	bool oom, heartbeat = false;
	int ret;

	if (b->sig == NULL || b->body_hash == NULL)
		return 0;
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->recs[i].type, "heartbeat") == 0)
			heartbeat = true;
	seqs = store_batch_seqs(b, &oom);
	if (oom ||
	    (nforks > 0 &&
	        (fork_text = store_batch_forks(b, forks, nforks)) == NULL)) {
		free(seqs);
		snprintf(st->error, sizeof(st->error), "out of memory");
		return -1;
	}
	p[0] = DB_V_TEXT(b->probe->id);
	p[1] = DB_V_TEXT(b->recs[0].chain);
	p[2] = DB_V_INT((long long)b->recs[0].seq);
	p[3] = DB_V_INT((long long)b->recs[b->n - 1].seq);
	p[4] = DB_V_INT((long long)b->n);
	p[5] = seqs != NULL ? DB_V_TEXT(seqs) : DB_V_NULL;
	p[6] = fork_text != NULL ? DB_V_TEXT(fork_text) : DB_V_NULL;
	p[7] = DB_V_BLOB(b->body_hash, RECORD_HASH_LEN);
	p[8] = DB_V_BLOB(b->sig, RECORD_SIG_LEN);
	p[9] = DB_V_INT(b->received_at);
	p[10] = DB_V_INT(heartbeat);
	/* The same body again (a replay) is the same signature: it
	 * changes nothing, as it changes no record. */
	ret = db_exec(st->db,
	    "INSERT INTO batches (probe, chain, first_seq, last_seq, count, "
	    "seqs, forks, body_hash, sig, received_at, heartbeat) VALUES "
	    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
	    p, 11);
	free(seqs);
	free(fork_text);
	if (ret == -1)
		store_set_error(st, "batch signature");
	return ret == -1 ? -1 : 0;
}

void
store_batch_page_clear(struct store_batch_page *pg)
{
	for (size_t i = 0; i < pg->n; i++) {
		free(pg->v[i].seqs);
		free(pg->v[i].forks);
	}
	free(pg->v);
	memset(pg, 0, sizeof(*pg));
}

/* A column of `len` bytes exactly into `out`; -1 when it is not. */
static int
store_col_bytes(const struct db_value *v, unsigned char *out, size_t len)
{
	if (v->type != DB_BLOB || v->len != len)
		return -1;
	memcpy(out, v->p, len);
	return 0;
}

/* A text column as a string of its own, NULL when NULL; -1 out of
 * memory. */
static int
store_col_dup(const struct db_value *v, char **out)
{
	*out = NULL;
	if (v->type != DB_TEXT)
		return 0;
	if ((*out = malloc(v->len + 1)) == NULL)
		return -1;
	memcpy(*out, v->p, v->len);
	(*out)[v->len] = '\0';
	return 0;
}

#define STORE_BATCH_COLUMNS \
	"b.id, b.probe, p.num, p.pubkey, b.chain, b.first_seq, b.last_seq, " \
	"b.count, b.seqs, b.forks, b.body_hash, b.sig, b.received_at, " \
	"b.heartbeat"
#define STORE_BATCH_NCOLUMNS 14

struct store_batch_read {
	struct store_batch_page *pg;
	size_t cap;
	bool oom, bad;
};

static int
store_batch_cb(void *arg, const struct db_row *row)
{
	struct store_batch_read *rd = arg;
	struct store_batch_page *pg = rd->pg;
	struct store_batch_row *r, *nv;
	const struct db_value *c = row->col;

	if (row->n < STORE_BATCH_NCOLUMNS)
		return rd->bad = true;
	if (pg->n == rd->cap) {
		size_t grown = rd->cap == 0 ? 64 : rd->cap * 2;
		if ((nv = reallocarray(pg->v, grown, sizeof(*nv))) == NULL)
			return rd->oom = true;
		pg->v = nv;
		rd->cap = grown;
	}
	r = &pg->v[pg->n];
	memset(r, 0, sizeof(*r));
	r->id = store_col_int(&c[0], 0);
	store_col_text(&c[1], r->probe, sizeof(r->probe));
	r->probe_num = store_col_int(&c[2], 0);
	store_col_text(&c[4], r->chain, sizeof(r->chain));
	r->first_seq = store_col_int(&c[5], 0);
	r->last_seq = store_col_int(&c[6], 0);
	r->count = store_col_int(&c[7], 0);
	r->received_at = store_col_int(&c[12], 0);
	r->heartbeat = store_col_int(&c[13], 0) != 0;
	if (store_col_bytes(&c[3], r->pubkey, RECORD_PUBKEY_LEN) == -1 ||
	    store_col_bytes(&c[10], r->body_hash, RECORD_HASH_LEN) == -1 ||
	    store_col_bytes(&c[11], r->sig, RECORD_SIG_LEN) == -1)
		return rd->bad = true;
	if (store_col_dup(&c[8], &r->seqs) == -1 ||
	    store_col_dup(&c[9], &r->forks) == -1) {
		free(r->seqs);
		return rd->oom = true;
	}
	pg->n++;
	return 0;
}

int
store_batches(struct store *st, const struct store_batch_filter *f,
    long long after, size_t limit, struct store_batch_page *pg)
{
	struct store_batch_read rd = { pg, 0, false, false };
	struct store_query q = { .len = 0 };

	memset(pg, 0, sizeof(*pg));
	q.len = (size_t)snprintf(q.sql, sizeof(q.sql),
	    "SELECT " STORE_BATCH_COLUMNS " FROM batches b JOIN probes p ON "
	    "p.id = b.probe WHERE b.id > ?");
	q.p[q.n++] = DB_V_INT(after);
	if (f->probe != NULL && store_query_probe(&q, f->probe) == -1)
		return STORE_OK; /* no such probe: no batches */
	if (f->chain != NULL)
		store_query_where(&q, "b.chain =", DB_V_TEXT(f->chain));
	if (f->from != 0)
		store_query_where(&q, "b.received_at >=", DB_V_INT(f->from));
	if (f->to != 0)
		store_query_where(&q, "b.received_at <", DB_V_INT(f->to));
	/* A batch holds seqs from first_seq to last_seq: those whose
	 * range meets [seq_from, seq_to]. */
	if (f->seq_from > 0)
		store_query_where(&q, "b.last_seq >=", DB_V_INT(f->seq_from));
	if (f->seq_to > 0)
		store_query_where(&q, "b.first_seq <=", DB_V_INT(f->seq_to));
	if (f->no_heartbeats)
		store_query_where(&q, "b.heartbeat =", DB_V_INT(0));
	snprintf(q.sql + q.len, sizeof(q.sql) - q.len,
	    " ORDER BY b.id LIMIT ?");
	q.p[q.n++] = DB_V_INT(
	    limit > (size_t)INT32_MAX ? INT32_MAX : (long long)limit);
	if (db_query(st->db, q.sql, q.p, q.n, store_batch_cb, &rd) == -1 ||
	    rd.oom || rd.bad) {
		if (rd.oom || rd.bad)
			snprintf(st->error, sizeof(st->error), "batches: %s",
			    rd.oom ? "out of memory" : "a malformed row");
		else
			store_set_error(st, "batches");
		store_batch_page_clear(pg);
		return STORE_E_DB;
	}
	return STORE_OK;
}

struct store_line {
	char **line;
	size_t *len;
	bool oom;
};

static int
store_line_cb(void *arg, const struct db_row *row)
{
	struct store_line *l = arg;
	const struct db_value *v = &row->col[0];

	if (row->n < 1 || v->type != DB_BLOB)
		return 1;
	if ((*l->line = malloc(v->len + 1)) == NULL) {
		l->oom = true;
		return 1;
	}
	memcpy(*l->line, v->p, v->len);
	(*l->line)[v->len] = '\0';
	*l->len = v->len;
	return 1;
}

/* Fork `k` of "seq:hash,...": its seq and hash; -1 when there is no
 * such fork or the text is malformed (*bad set). */
static int
store_fork_parse(const char *forks, size_t k, long long *seq,
    char hex[RECORD_HASH_HEX + 1], bool *bad)
{
	const char *p = forks;
	char *end;

	*bad = false;
	for (size_t i = 0; p != NULL && i < k; i++)
		if ((p = strchr(p, ',')) != NULL)
			p++;
	if (p == NULL || *p == '\0')
		return -1;
	errno = 0;
	*seq = strtoll(p, &end, 10);
	if (errno != 0 || *end != ':' ||
	    strspn(end + 1, "0123456789abcdef") != RECORD_HASH_HEX ||
	    (end[1 + RECORD_HASH_HEX] != ',' &&
	        end[1 + RECORD_HASH_HEX] != '\0')) {
		*bad = true;
		return -1;
	}
	memcpy(hex, end + 1, RECORD_HASH_HEX);
	hex[RECORD_HASH_HEX] = '\0';
	return 0;
}

int
store_batch_fork(struct store *st, const struct store_batch_row *r, size_t k,
    long long *seq, char hex[RECORD_HASH_HEX + 1], char **line, size_t *len)
{
	unsigned char hash[RECORD_HASH_LEN];
	struct store_line l = { line, len, false };
	struct db_value p[4];
	bool bad = false;

	*line = NULL;
	*len = 0;
	if (r->forks == NULL ||
	    store_fork_parse(r->forks, k, seq, hex, &bad) == -1) {
		if (!bad)
			return STORE_E_NOTFOUND;
		snprintf(st->error, sizeof(st->error),
		    "batches: malformed forks of batch %lld", r->id);
		return STORE_E_DB;
	}
	sodium_hex2bin(hash, sizeof(hash), hex, RECORD_HASH_HEX, NULL, NULL,
	    NULL);
	p[0] = DB_V_TEXT(r->probe);
	p[1] = DB_V_TEXT(r->chain);
	p[2] = DB_V_INT(*seq);
	p[3] = DB_V_BLOB(hash, RECORD_HASH_LEN);
	if (db_query(st->db,
	        "SELECT line FROM equivocations WHERE probe = ? AND chain = ? "
	        "AND seq = ? AND hash = ?",
	        p, 4, store_line_cb, &l) == -1 ||
	    l.oom || *line == NULL) {
		if (l.oom || *line == NULL)
			snprintf(st->error, sizeof(st->error), "batches: %s",
			    l.oom ? "out of memory" :
			            "a fork's line is not kept");
		else
			store_set_error(st, "equivocation");
		return STORE_E_DB;
	}
	return STORE_OK;
}
