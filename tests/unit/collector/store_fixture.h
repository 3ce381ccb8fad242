/*
 * store_fixture.h -- the store of the collector's unit tests
 * (test_store, test_export, test_summary, test_ingest and, under
 * collector_fixture.h, test_collector_http and test_export_http): a
 * SQLite file in /tmp, or the PostgreSQL database CW_TEST_PG_URL names
 * (wiped), probes enrolled from fixed seeds, chains of records made,
 * hashed and linked as a probe makes them, and batches of their lines
 * ingested through store.h, or made into signed bodies as a probe sends
 * them (for ingest and the HTTP service).
 *
 * Include after cmocka.h; everything here is static inline.  Errors are
 * test failures (fail_msg, assert_*), except for what sbatch_ingest()
 * hands back from store_ingest().
 */
#ifndef CW_TEST_STORE_FIXTURE_H
#define CW_TEST_STORE_FIXTURE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store.h"
#include "store_db.h"

#define SFIX_PROBES   4
#define SFIX_RECEIVED INT64_C(1764000000000000)          /* 2025-11-24T16:00Z */
#define SFIX_CHAIN    "c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0" /* sfix_test's */

/* A store and the probes enrolled in it; the probes are the fixture's. */
struct sfix {
	char url[512];
	char path[256]; /* SQLite: removed at the end */
	struct store *st;
	struct store_probe probe[SFIX_PROBES];
	size_t nprobes;
};

/* A chain of one probe: every line made, in order, and its head. */
struct schain {
	struct store_probe *probe;        /* whose batches, not owned */
	char probe_id[RECORD_ID_HEX + 1]; /* in lines */
	char chain[RECORD_ID_HEX + 1];
	unsigned char last[RECORD_HASH_LEN]; /* next line's prev */
	uint64_t seq;                        /* of the last line made */
	char **lines;                        /* owned, each malloc'd */
	size_t n, cap;
	size_t done; /* ingested by schain_ingest */
};

/* A batch as the collector hands it to store_ingest: b.recs is recs. */
struct sbatch {
	struct store_batch b;
	struct record recs[]; /* b.n, parsed, owned */
};

/* The state of one test (cmocka's *state): a fresh store, probe
 * "kyiv-1" of seed 7 (p, the fixture's) and chain SFIX_CHAIN of it,
 * with no line yet (c). */
struct sfix_test {
	struct sfix s;
	struct store_probe *p;
	struct schain c;
};

/* CW_TEST_PG_URL, or NULL when it is unset or empty (PostgreSQL tests
 * are not run). */
static inline const char *
sfix_pg_url(void)
{
	const char *url = getenv("CW_TEST_PG_URL");

	return url != NULL && url[0] != '\0' ? url : NULL;
}

/* Open a store on `pg_url`'s database, wiped first, or (NULL) on a new
 * SQLite file. */
static inline void
sfix_open(struct sfix *f, const char *pg_url)
{
	char err[512];
	int fd;

	memset(f, 0, sizeof(*f));
	if (pg_url != NULL) {
		struct db *db;
		snprintf(f->url, sizeof(f->url), "%s", pg_url);
		if ((db = db_open(f->url, err, sizeof(err))) == NULL)
			fail_msg("db_open: %s", err);
		assert_int_equal(db_exec_script(db,
		                     "DROP SCHEMA public "
		                     "CASCADE; CREATE SCHEMA public"),
		    0);
		db_close(db);
	} else {
		snprintf(f->path, sizeof(f->path), "/tmp/cw-test-store.XXXXXX");
		assert_true((fd = mkstemp(f->path)) != -1);
		close(fd);
		snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	}
	if ((f->st = store_open(f->url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", f->url, err);
}

/* Close the store, clear the probes, remove a SQLite file. */
static inline void
sfix_close(struct sfix *f)
{
	char name[300];

	for (size_t i = 0; i < f->nprobes; i++)
		store_probe_clear(&f->probe[i]);
	store_close(f->st);
	if (f->path[0] != '\0') {
		unlink(f->path);
		snprintf(name, sizeof(name), "%s-wal", f->path);
		unlink(name);
		snprintf(name, sizeof(name), "%s-shm", f->path);
		unlink(name);
	}
}

/* The key sfix_probe() enrolls for the seed byte `seed`. */
static inline void
sfix_key(unsigned char seed, unsigned char pk[RECORD_PUBKEY_LEN],
    unsigned char sk[64])
{
	unsigned char sd[32];

	memset(sd, seed, sizeof(sd));
	crypto_sign_seed_keypair(pk, sk, sd);
}

/* Enroll a probe whose key comes from the seed byte `seed` (so its id
 * is the same in every run), declaring `country` (NULL: none) and `asn`
 * (-1: none) from now on.  The probe is the fixture's (sfix_close). */
static inline struct store_probe *
sfix_probe(struct sfix *f, const char *name, unsigned char seed,
    const char *country, long long asn)
{
	unsigned char pk[RECORD_PUBKEY_LEN], sk[64];
	struct store_probe *p;
	char err[256];

	assert_true(f->nprobes < SFIX_PROBES);
	p = &f->probe[f->nprobes++];
	sfix_key(seed, pk, sk);
	assert_int_equal(store_probe_add(f->st, name, pk, p, err, sizeof(err)),
	    STORE_OK);
	if (country != NULL)
		snprintf(p->country, sizeof(p->country), "%s", country);
	if (asn != -1)
		p->asn = asn;
	return p;
}

/* An empty chain `chain` (hex) of probe `p`, whose lines name p's id. */
static inline void
schain_init(struct schain *c, struct store_probe *p, const char *chain)
{
	memset(c, 0, sizeof(*c));
	c->probe = p;
	snprintf(c->probe_id, sizeof(c->probe_id), "%s", p->id);
	snprintf(c->chain, sizeof(c->chain), "%s", chain);
}

/* Free the lines; seq and last stay, so lines made after go on. */
static inline void
schain_free(struct schain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
	c->lines = NULL;
	c->n = c->cap = c->done = 0;
}

/* Drop the lines from index `n` on; seq and last stay. */
static inline void
schain_truncate(struct schain *c, size_t n)
{
	for (; c->n > n; c->n--)
		free(c->lines[c->n - 1]);
	if (c->done > n)
		c->done = n;
}

/* Make a line as given: the envelope with `seq` and `prev` (the hash of
 * the line before; all zeros, and `prev` unread, for seq 1), "type",
 * then `body` (a fragment of JSON keys, may be "").  It becomes the
 * chain's head; returns its index in lines. */
static inline size_t
schain_line(struct schain *c, uint64_t seq,
    const unsigned char prev[RECORD_HASH_LEN], const char *type,
    const char *body)
{
	char prevhex[RECORD_HASH_HEX + 1], *line;

	if (seq == 1) {
		memset(prevhex, '0', RECORD_HASH_HEX);
		prevhex[RECORD_HASH_HEX] = '\0';
	} else
		record_hex(prev, RECORD_HASH_LEN, prevhex);
	assert_true(
	    asprintf(&line,
	        "{\"probe\":\"%s\",\"chain\":\"%s\","
	        "\"seq\":%" PRIu64 ",\"prev\":\"%s\",\"type\":\"%s\"%s%s}",
	        c->probe_id, c->chain, seq, prevhex, type,
	        body[0] != '\0' ? "," : "", body) > 0);
	record_hash(line, strlen(line), c->last);
	c->seq = seq;
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		assert_non_null(c->lines = reallocarray(c->lines, c->cap,
		                    sizeof(*c->lines)));
	}
	c->lines[c->n] = line;
	return c->n++;
}

/* The next record of the chain, linked to its head. */
static inline size_t
schain_add(struct schain *c, const char *type, const char *body)
{
	return schain_line(c, c->seq + 1, c->last, type, body);
}

/* The body of a DNS result (an answer to a root SOA query), for
 * schain_add(). */
#define SFIX_MEASUREMENT \
	"\"time\":\"2026-11-26T10:00:00.123456Z\"," \
	"\"name\":\"root-soa\",\"server\":\"k.root-servers.net\"," \
	"\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\"," \
	"\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},\"ok\":true," \
	"\"failure\":null,\"rtt_ms\":12.345,\"rcode\":\"NOERROR\""

/* `n` more records of the chain, each an SFIX_MEASUREMENT. */
static inline void
schain_measurements(struct schain *c, int n)
{
	for (int i = 0; i < n; i++)
		schain_add(c, "dns", SFIX_MEASUREMENT);
}

/* Skip `skip` seqs, as a probe that dropped them: the next line's prev
 * is the hash of a line nobody has. */
static inline void
schain_skip(struct schain *c, uint64_t skip)
{
	c->seq += skip;
	memset(c->last, 0xab, sizeof(c->last));
}

/* A batch of the chain's lines [from, from + n), n > 0, for its probe,
 * received at SFIX_RECEIVED.  The caller frees it (sbatch_free,
 * sbatch_ingest) and may change its records before. */
static inline struct sbatch *
sbatch_of(const struct schain *c, size_t from, size_t n)
{
	struct sbatch *bt;
	char err[256];

	assert_true(n > 0 && from + n <= c->n);
	assert_non_null(bt = calloc(1, sizeof(*bt) + n * sizeof(*bt->recs)));
	for (size_t i = 0; i < n; i++)
		if (record_parse(c->lines[from + i], strlen(c->lines[from + i]),
		        &bt->recs[i], err, sizeof(err)) != 0)
			fail_msg("record_parse: %s: %s", err,
			    c->lines[from + i]);
	bt->b.probe = c->probe;
	bt->b.recs = bt->recs;
	bt->b.n = n;
	bt->b.received_at = SFIX_RECEIVED;
	return bt;
}

/* Clear the batch's b.n records and free it. */
static inline void
sbatch_free(struct sbatch *bt)
{
	for (size_t i = 0; i < bt->b.n; i++)
		record_clear(&bt->recs[i]);
	free(bt);
}

/* store_ingest() the batch, then free it; returns store_ingest's
 * STORE_OK or STORE_E_*, with *rc and err as it leaves them. */
static inline int
sbatch_ingest(struct sfix *f, struct sbatch *bt, struct store_receipt *rc,
    char *err, size_t errlen)
{
	int ret = store_ingest(f->st, &bt->b, rc, err, errlen);

	sbatch_free(bt);
	return ret;
}

/* Ingest the chain's lines not ingested yet, in batches of at most
 * `per_batch`; each must be STORE_OK. */
static inline void
schain_ingest(struct sfix *f, struct schain *c, size_t per_batch)
{
	struct store_receipt rc;
	char err[256];

	for (size_t from = c->done; from < c->n; from += per_batch) {
		size_t n = c->n - from < per_batch ? c->n - from : per_batch;
		if (sbatch_ingest(f, sbatch_of(c, from, n), &rc, err,
		        sizeof(err)) != STORE_OK)
			fail_msg("store_ingest: %s", err);
	}
	c->done = c->n;
}

/* The body of a batch of the chain's lines [from, from + n), each with
 * its newline, as a probe sends it: malloc'd and NUL-terminated (the
 * caller frees it), its length in *len. */
static inline char *
schain_body(const struct schain *c, size_t from, size_t n, size_t *len)
{
	size_t total = 0, off = 0;
	char *body;

	assert_true(from + n <= c->n);
	for (size_t i = from; i < from + n; i++)
		total += strlen(c->lines[i]) + 1;
	assert_non_null(body = malloc(total + 1));
	for (size_t i = from; i < from + n; i++) {
		size_t l = strlen(c->lines[i]);
		memcpy(body + off, c->lines[i], l);
		body[off + l] = '\n';
		off += l + 1;
	}
	body[total] = '\0';
	*len = total;
	return body;
}

/* The base64 signature of `len` bytes of `body` by probe `p`, enrolled
 * by sfix_probe() with the seed byte `seed`, as a probe signs a batch. */
static inline void
sfix_sign(const struct store_probe *p, unsigned char seed, const void *body,
    size_t len, char sig[RECORD_SIG_B64 + 1])
{
	unsigned char pk[RECORD_PUBKEY_LEN], sk[64];

	sfix_key(seed, pk, sk);
	assert_memory_equal(pk, p->pubkey, RECORD_PUBKEY_LEN);
	batch_sign(sk, p->id, body, len, sig);
}

/* What sfix_stored() collects: every stored line and a newline. */
struct sfix_lines {
	char *text;
	size_t len, rows;
};

static inline int
sfix_lines_cb(void *arg, const struct store_row *row)
{
	struct sfix_lines *l = arg;

	assert_non_null(l->text = realloc(l->text, l->len + row->len + 2));
	memcpy(l->text + l->len, row->line, row->len);
	l->len += row->len;
	l->text[l->len++] = '\n';
	l->text[l->len] = '\0';
	l->rows++;
	return 0;
}

/* What the store holds, in ingest order, as one batch body would carry
 * it ("" when nothing; the caller frees it); *rows: how many records. */
static inline char *
sfix_stored(struct sfix *f, size_t *rows)
{
	struct sfix_lines l = { NULL, 0, 0 };
	struct store_filter filter;
	long long last = 0;

	store_filter_init(&filter);
	assert_true(store_results(f->st, &filter, 0, 100000, sfix_lines_cb, &l,
	                &last) >= 0);
	if (l.text == NULL)
		assert_non_null(l.text = strdup(""));
	*rows = l.rows;
	return l.text;
}

/* The newlines in `s` (the lines of a JSON-lines or CSV text). */
static inline size_t
sfix_count_lines(const char *s)
{
	size_t n = 0;

	for (; *s != '\0'; s++)
		n += *s == '\n';
	return n;
}

/* Exactly lines [0, n) of chain `c` are what the store holds, byte for
 * byte and in order (nothing at all for 0). */
static inline void
sfix_assert_stored(struct sfix *f, const struct schain *c, size_t n)
{
	size_t rows, len;
	char *got = sfix_stored(f, &rows), *want;

	want = n > 0 ? schain_body(c, 0, n, &len) : strdup("");
	assert_non_null(want);
	assert_int_equal(rows, n);
	assert_string_equal(got, want);
	free(want);
	free(got);
}

/* `n` hex digits that do not compress (an NSID a server may send) and a
 * NUL into `out`, the same on each call. */
static inline void
sfix_hex_noise(char *out, size_t n)
{
	uint32_t x = 2463534242u;

	for (size_t i = 0; i < n; i++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		out[i] = "0123456789abcdef"[x & 15];
	}
	out[n] = '\0';
}

/* Into `body` of `size`, the body of result `i` (0 to 3) of four DNS
 * results of 193.0.14.129 "root-soa", a minute apart from 10:00 on
 * 2026-11-26, RTTs 10, 20, 30 and 40 ms: the second with `nsid` as its
 * NSID, the third with a server name of 3,000 and a query name of 2,000
 * bytes, the others with the NSID "k1" (texts as long as a server may
 * send: tests of what the store keeps and reads of them). */
static inline void
sfix_long_result(char *body, size_t size, int i, const char *nsid)
{
	static char server[3001], qname[2001];

	memset(server, 's', sizeof(server) - 1);
	memset(qname, 'q', sizeof(qname) - 1);
	snprintf(body, size,
	    "\"time\":\"2026-11-26T10:%02d:00Z\",\"name\":\"root-soa\","
	    "\"server\":\"%s\",\"addr\":\"193.0.14.129\",\"port\":53,"
	    "\"af\":4,\"proto\":\"udp\",\"query\":{\"qname\":\"%s\","
	    "\"qtype\":\"SOA\"},\"ok\":true,\"failure\":null,"
	    "\"rtt_ms\":%d,\"rcode\":\"NOERROR\",\"nsid\":\"%s\"",
	    i, i == 2 ? server : "k.root-servers.net", i == 2 ? qname : ".",
	    10 * (i + 1), i == 1 ? nsid : "k1");
}

static inline int
sfix_first_int_cb(void *arg, const struct db_row *row)
{
	*(long long *)arg = row->col[0].type == DB_INT ? row->col[0].i : -1;
	return 1;
}

/* The integer the query `sql` gives first (-1: NULL or none). */
static inline long long
sfix_scalar(struct sfix *f, const char *sql)
{
	long long v = -1;

	assert_int_equal(db_query(store_db(f->st), sql, NULL, 0,
	                     sfix_first_int_cb, &v),
	    0);
	return v;
}

/* Overwrite record `seq` of chain `c`, stored already, as a store
 * written before ingest checked ranges may hold it: its line becomes
 * the envelope, "type" and `body` (neither hashed nor checked), its
 * rtt_ms column `rtt` (NaN as the backend keeps it: NULL on SQLite),
 * its port and soa_serial columns `num` (< 0: NULL).  Returns the
 * line; the caller frees it. */
static inline char *
sfix_overwrite(struct sfix *f, const struct schain *c, uint64_t seq,
    const char *type, const char *body, double rtt, long long num)
{
	struct db_value p[6];
	char *line;

	assert_true(
	    asprintf(&line,
	        "{\"probe\":\"%s\",\"chain\":\"%s\","
	        "\"seq\":%" PRIu64 ",\"prev\":\"%064d\",\"type\":\"%s\",%s}",
	        c->probe_id, c->chain, seq, 0, type, body) > 0);
	p[0] = DB_V_BLOB(line, strlen(line));
	p[1] = DB_V_REAL(rtt);
	p[2] = num >= 0 ? DB_V_INT(num) : DB_V_NULL;
	p[3] = p[2];
	p[4] = DB_V_TEXT(c->chain);
	p[5] = DB_V_INT((long long)seq);
	assert_int_equal(
	    db_exec(store_db(f->st),
	        "UPDATE records SET "
	        "line = ?, rtt_ms = ?, port = ?, soa_serial = ? WHERE chain = ? "
	        "AND seq = ?",
	        p, 6),
	    0);
	return line;
}

/* cmocka setup: a struct sfix_test in *state, on `pg_url`'s database
 * or (NULL) SQLite, its probe declaring `country` and `asn` as
 * sfix_probe's.  Freed by sfix_teardown. */
static inline int
sfix_test_setup(void **state, const char *pg_url, const char *country,
    long long asn)
{
	struct sfix_test *t;

	assert_non_null(t = calloc(1, sizeof(*t)));
	sfix_open(&t->s, pg_url);
	t->p = sfix_probe(&t->s, "kyiv-1", 7, country, asn);
	schain_init(&t->c, t->p, SFIX_CHAIN);
	*state = t;
	return 0;
}

/* The setups of the tests of what reads the store back (export,
 * summary): the probe declares UA and AS64500; on SQLite, or on
 * sfix_pg_url()'s database (call it only when that is not NULL). */
static inline int
sfix_setup_sqlite(void **state)
{
	return sfix_test_setup(state, NULL, "UA", 64500);
}

static inline int
sfix_setup_pg(void **state)
{
	return sfix_test_setup(state, sfix_pg_url(), "UA", 64500);
}

/* The setups of the tests of the store itself: the probe declares
 * no country and no ASN. */
static inline int
sfix_setup_bare_sqlite(void **state)
{
	return sfix_test_setup(state, NULL, NULL, -1);
}

static inline int
sfix_setup_bare_pg(void **state)
{
	return sfix_test_setup(state, sfix_pg_url(), NULL, -1);
}

/* cmocka teardown of every sfix_test; SFIX_TEST(fn, setup) is the
 * test of `fn` with `setup` and this teardown. */
static inline int
sfix_teardown(void **state)
{
	struct sfix_test *t = *state;

	schain_free(&t->c);
	sfix_close(&t->s);
	free(t);
	return 0;
}

#define SFIX_TEST(fn, setup) \
	cmocka_unit_test_setup_teardown(fn, setup, sfix_teardown)

/*
 * sfix_run: run `sqlite` (n_sqlite tests) as the group "WHAT on sqlite"
 * and, when sfix_pg_url() names a database, `pg` as "WHAT on
 * postgresql" (else say that they did not run, and which scenario runs
 * them).  Returns the number of failed tests.
 */
static inline int
sfix_run(const char *what, const struct CMUnitTest *sqlite, size_t n_sqlite,
    const struct CMUnitTest *pg, size_t n_pg, const char *scenario)
{
	char name[128];
	int failed;

	snprintf(name, sizeof(name), "%s on sqlite", what);
	failed = _cmocka_run_group_tests(name, sqlite, n_sqlite, NULL, NULL);
	if (sfix_pg_url() != NULL) {
		snprintf(name, sizeof(name), "%s on postgresql", what);
		failed += _cmocka_run_group_tests(name, pg, n_pg, NULL, NULL);
	} else
		printf("%s on postgresql: not run (CW_TEST_PG_URL unset; %s "
		       "runs it)\n",
		    what, scenario);
	return failed;
}

#define SFIX_RUN(what, sqlite, pg, scenario) \
	sfix_run(what, sqlite, sizeof(sqlite) / sizeof(sqlite[0]), pg, \
	    sizeof(pg) / sizeof(pg[0]), scenario)

#endif /* CW_TEST_STORE_FIXTURE_H */
