/* test_store.c -- the store on SQLite, and on PostgreSQL when
 * CW_TEST_PG_URL names a database the test may wipe: schema, probes,
 * tokens, and ingest (duplicates, gaps, losses, equivocation, broken
 * chains, group commit). */
#include "config.h"

#include <inttypes.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "store.h"

/* ---- fixtures ------------------------------------------------------ */

struct fix {
	char		 url[512];
	char		 path[256];	/* SQLite file, removed at the end */
	struct store	*st;
	struct store_probe probe;
	unsigned char	 pk[32];
};

static const char *pg_url;

static struct store *
open_store(struct fix *f)
{
	char err[512];
	struct store *st = store_open(f->url, err, sizeof(err));

	if (st == NULL)
		fail_msg("store_open %s: %s", f->url, err);
	return st;
}

static void
fixture_common(struct fix *f)
{
	unsigned char sk[64];
	char err[256];

	f->st = open_store(f);
	crypto_sign_keypair(f->pk, sk);
	assert_int_equal(store_probe_add(f->st, "kyiv-1", f->pk, &f->probe,
	    err, sizeof(err)), STORE_OK);
}

static int
setup_sqlite(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	int fd;

	snprintf(f->path, sizeof(f->path), "/tmp/cw-test-store.XXXXXX");
	assert_true((fd = mkstemp(f->path)) != -1);
	close(fd);
	snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	fixture_common(f);
	*state = f;
	return 0;
}

static int
setup_pg(void **state)
{
	struct fix *f = calloc(1, sizeof(*f));
	char err[256];
	struct db *db;

	snprintf(f->url, sizeof(f->url), "%s", pg_url);
	/* A clean database for every test. */
	db = db_open(f->url, err, sizeof(err));
	if (db == NULL)
		fail_msg("db_open: %s", err);
	assert_int_equal(db_exec_script(db, "DROP SCHEMA public CASCADE;"
	    "CREATE SCHEMA public"), 0);
	db_close(db);
	fixture_common(f);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fix *f = *state;
	char wal[300];

	store_probe_clear(&f->probe);
	store_close(f->st);
	if (f->path[0] != '\0') {
		unlink(f->path);
		snprintf(wal, sizeof(wal), "%s-wal", f->path);
		unlink(wal);
		snprintf(wal, sizeof(wal), "%s-shm", f->path);
		unlink(wal);
	}
	free(f);
	return 0;
}

/* ---- building batches ---------------------------------------------- */

#define MAXREC 320

/* Lines of one chain, built like a probe would, kept for the test. */
struct chain {
	char		probe[33];
	char		chain[33];
	unsigned char	last[32];	/* hash of the last line made */
	uint64_t	seq;		/* of the last line made */
	char	       *lines[MAXREC];
	size_t		n;
};

static void
chain_init(struct chain *c, const struct fix *f, const char *chain_hex)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->probe, f->probe.id, 33);
	snprintf(c->chain, sizeof(c->chain), "%s", chain_hex);
}

static void
chain_free(struct chain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	c->n = 0;
}

/* Make the line for seq `seq` with `prev` and extra JSON `body` (a
 * fragment of keys), append it to the chain's lines, return its index. */
static size_t
chain_line(struct chain *c, uint64_t seq, const unsigned char prev[32],
    const char *type, const char *body)
{
	char prevhex[65], *line;
	unsigned char h[32];

	if (seq == 1)
		memset(prevhex, '0', 64), prevhex[64] = '\0';
	else
		record_hex(prev, 32, prevhex);
	assert_true(asprintf(&line, "{\"probe\":\"%s\",\"chain\":\"%s\","
	    "\"seq\":%" PRIu64 ",\"prev\":\"%s\",\"type\":\"%s\"%s%s}",
	    c->probe, c->chain, seq, prevhex, type, body[0] ? "," : "",
	    body) > 0);
	assert_true(c->n < MAXREC);
	c->lines[c->n] = line;
	record_hash(line, strlen(line), h);
	memcpy(c->last, h, 32);
	c->seq = seq;
	return c->n++;
}

/* The next measurement of the chain. */
static size_t
chain_next(struct chain *c, const char *body)
{
	return chain_line(c, c->seq + 1, c->last, "dns", body);
}

/* Skip seqs: the next line will be seq + 1 + skip, its prev the hash of
 * a line nobody has (the dropped record's). */
static void
chain_skip(struct chain *c, uint64_t skip)
{
	c->seq += skip;
	memset(c->last, 0xab, 32);
}

struct batch {
	struct record	recs[MAXREC];
	struct store_batch b;
};

/* A batch of the chain's lines [from, from + n). */
static struct batch *
batch_of(const struct fix *f, struct chain *c, size_t from, size_t n)
{
	struct batch *bt = calloc(1, sizeof(*bt));
	char err[256];

	for (size_t i = 0; i < n; i++)
		if (record_parse(c->lines[from + i], strlen(c->lines[from + i]),
		    &bt->recs[i], err, sizeof(err)) != 0)
			fail_msg("record_parse: %s", err);
	bt->b.probe = &f->probe;
	bt->b.recs = bt->recs;
	bt->b.n = n;
	bt->b.received_at = 1764000000000000LL;
	return bt;
}

static void
batch_free(struct batch *bt)
{
	for (size_t i = 0; i < bt->b.n; i++)
		record_clear(&bt->recs[i]);
	free(bt);
}

static int
ingest(struct fix *f, struct batch *bt, struct store_receipt *rc, char *err,
    size_t errlen)
{
	int ret = store_ingest(f->st, &bt->b, rc, err, errlen);

	batch_free(bt);
	return ret;
}

static int
first_int_cb(void *arg, const struct db_row *row)
{
	*(long long *)arg = row->col[0].type == DB_INT ? row->col[0].i : -1;
	return 1;
}

static long long
scalar(struct fix *f, const char *sql)
{
	long long v = -1;

	assert_int_equal(db_query(store_db(f->st), sql, NULL, 0, first_int_cb,
	    &v), 0);
	return v;
}

static const char measurement[] = "\"time\":\"2026-11-26T10:00:00.123456Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":12.345,\"rcode\":\"NOERROR\","
    "\"soa_serial\":2026112600,\"nsid\":\"k1.ams\"";

/* ---- tests ---------------------------------------------------------- */

static void
test_schema(void **state)
{
	struct fix *f = *state;
	struct store *again;

	assert_int_equal(store_db_version(f->st), store_schema_version());
	/* Opening again applies nothing and keeps the data. */
	again = open_store(f);
	assert_int_equal(store_db_version(again), store_schema_version());
	store_close(again);
	assert_int_equal(scalar(f, "SELECT count(*) FROM probes"), 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM schema_version"),
	    store_schema_version());
}

static int
list_cb(void *arg, const struct store_probe *p)
{
	int *n = arg;

	(*n)++;
	assert_true(p->num >= 1);
	return 0;
}

static void
test_probes(void **state)
{
	struct fix *f = *state;
	unsigned char pk[32], sk[64];
	struct store_probe p, q;
	char err[256], num[16];
	int n = 0;

	assert_int_equal(f->probe.num, 1);
	assert_string_equal(f->probe.name, "kyiv-1");
	assert_false(f->probe.revoked);
	assert_int_equal(f->probe.asn, -1);
	/* The same key twice. */
	assert_int_equal(store_probe_add(f->st, "again", f->pk, NULL, err,
	    sizeof(err)), STORE_E_EXISTS);
	assert_non_null(strstr(err, f->probe.id));
	/* Names: empty, too long, control characters. */
	crypto_sign_keypair(pk, sk);
	assert_int_equal(store_probe_add(f->st, "", pk, NULL, err,
	    sizeof(err)), STORE_E_INVALID);
	assert_int_equal(store_probe_add(f->st, "a\nb", pk, NULL, err,
	    sizeof(err)), STORE_E_INVALID);
	assert_int_equal(store_probe_add(f->st, "kharkiv-2", pk, &p, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(p.num, 2);
	/* By id and by number. */
	assert_int_equal(store_probe_get(f->st, p.id, &q), STORE_OK);
	assert_memory_equal(q.pubkey, pk, 32);
	store_probe_clear(&q);
	snprintf(num, sizeof(num), "%lld", p.num);
	assert_int_equal(store_probe_get(f->st, num, &q), STORE_OK);
	assert_string_equal(q.id, p.id);
	store_probe_clear(&q);
	assert_int_equal(store_probe_get(f->st, "99", &q), STORE_E_NOTFOUND);
	assert_int_equal(store_probe_get(f->st, "x'; DROP", &q),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_probe_list(f->st, list_cb, &n), STORE_OK);
	assert_int_equal(n, 2);
	/* Revoked, twice: still there, flagged. */
	assert_int_equal(store_probe_revoke(f->st, num, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_revoke(f->st, p.id, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_get(f->st, p.id, &q), STORE_OK);
	assert_true(q.revoked);
	assert_true(q.revoked_at > 0);
	store_probe_clear(&q);
	assert_int_equal(store_probe_revoke(f->st, "77", err, sizeof(err)),
	    STORE_E_NOTFOUND);
	store_probe_clear(&p);
}

static void
test_tokens(void **state)
{
	struct fix *f = *state;
	char token[STORE_TOKEN_LEN + 1], err[256];
	unsigned char pk[32], sk[64], pk2[32];
	struct store_probe p;

	assert_int_equal(store_token_create(f->st, "odesa-3", 3600 *
	    CW_USEC_PER_SEC, token, err, sizeof(err)), STORE_OK);
	assert_int_equal(strlen(token), STORE_TOKEN_LEN);
	/* Only the hash is stored. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM tokens"), 1);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk);
	assert_int_equal(store_token_redeem(f->st, "short", pk, NULL, err,
	    sizeof(err)), STORE_E_NOTFOUND);
	assert_int_equal(store_token_redeem(f->st, token, f->pk, NULL, err,
	    sizeof(err)), STORE_E_EXISTS);
	/* The failed redeem did not use the token up. */
	assert_int_equal(store_token_redeem(f->st, token, pk, &p, err,
	    sizeof(err)), STORE_OK);
	assert_string_equal(p.name, "odesa-3");
	store_probe_clear(&p);
	assert_int_equal(store_token_redeem(f->st, token, pk2, NULL, err,
	    sizeof(err)), STORE_E_NOTFOUND);
	assert_string_equal(err, "token used already");
	/* Expired. */
	assert_int_equal(store_token_create(f->st, "x", 1, token, err,
	    sizeof(err)), STORE_OK);
	usleep(2000);
	assert_int_equal(store_token_redeem(f->st, token, pk2, NULL, err,
	    sizeof(err)), STORE_E_NOTFOUND);
	assert_string_equal(err, "token expired");
	assert_int_equal(store_token_create(f->st, "x", 0, token, err,
	    sizeof(err)), STORE_E_INVALID);
}

static void
test_ingest_and_replay(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 5; i++)
		chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 5), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.acked_seq, 5);
	assert_int_equal(rc.stored, 5);
	assert_int_equal(rc.duplicates, 0);
	assert_int_equal(rc.gaps, 0);
	assert_string_equal(rc.chain, c.chain);
	/* Exact bytes and parsed columns. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE "
	    "rtt_ms > 12.3 AND rtt_ms < 12.4 AND ok = 1 AND af = 4 AND "
	    "soa_serial = 2026112600 AND time = 1795687200123456"), 5);
	assert_int_equal(scalar(f, "SELECT count(DISTINCT msm) FROM records"),
	    1);
	/* A replay changes nothing. */
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 5), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.acked_seq, 5);
	assert_int_equal(rc.stored, 0);
	assert_int_equal(rc.duplicates, 5);
	/* Overlapping: 4, 5 again and 6, 7 new. */
	chain_next(&c, measurement);
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 3, 4), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.stored, 2);
	assert_int_equal(rc.duplicates, 2);
	assert_int_equal(rc.acked_seq, 7);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 7);
	assert_int_equal(scalar(f, "SELECT last_seq FROM chains"), 7);
	assert_true(scalar(f, "SELECT last_seen FROM probes WHERE num = 1") >
	    0);
	chain_free(&c);
}

static int
line_cb(void *arg, const struct db_row *row)
{
	const char *want = arg;

	assert_int_equal(row->col[0].type, DB_BLOB);
	assert_int_equal(row->col[0].len, strlen(want));
	assert_memory_equal(row->col[0].p, want, strlen(want));
	return 1;
}

/* 299 records: inserted in chunks of 256, 32, 4 and 1 rows. */
static void
test_large_batch(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 299; i++)
		chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 299), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.stored, 299);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 299);
	assert_int_equal(scalar(f, "SELECT CAST(sum(seq) AS BIGINT) FROM records"),
	    299 * 300 / 2);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE "
	    "soa_serial = 2026112600 AND addr = '193.0.14.129'"), 299);
	chain_free(&c);
}

static void
test_exact_bytes(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	char err[256];
	struct db_value p = DB_V_INT(1);

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	/* Spacing, key order and escapes exactly as sent. */
	chain_next(&c, "\"name\" : \"caf\\u00e9 \xe2\x9c\x93\",  \"x\":1.50");
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(db_query(store_db(f->st), "SELECT line FROM records "
	    "WHERE seq = ?", &p, 1, line_cb, c.lines[0]), 0);
	chain_free(&c);
}

static void
test_gap_and_fill(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 6; i++)
		chain_next(&c, measurement);	/* lines 0..5: seq 1..6 */
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	/* 5..6 arrive before 3..4: a gap 3..4. */
	assert_int_equal(ingest(f, batch_of(f, &c, 4, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(scalar(f, "SELECT first_seq * 100 + last_seq FROM "
	    "gaps"), 304);
	assert_int_equal(scalar(f, "SELECT explained FROM gaps"), 0);
	/* 3 alone leaves 4. */
	assert_int_equal(ingest(f, batch_of(f, &c, 2, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(scalar(f, "SELECT first_seq * 100 + last_seq FROM "
	    "gaps"), 404);
	/* 4 closes it; its links to 3 and 5 are checked. */
	assert_int_equal(ingest(f, batch_of(f, &c, 3, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM gaps"), 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 6);
	chain_free(&c);
}

static void
test_gap_first_batch_and_loss(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	char err[256];

	chain_init(&c, f, "fedcba9876543210fedcba9876543210");
	chain_next(&c, measurement);			/* seq 1 */
	chain_skip(&c, 3);				/* 2..4 dropped */
	chain_line(&c, 5, c.last, "loss", "\"lost\":{\"first_seq\":2,"
	    "\"last_seq\":4,\"count\":3},\"reason\":\"spool_full\"");
	/* The batch starts at 5: seq 1 was never sent either. */
	assert_int_equal(ingest(f, batch_of(f, &c, 1, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.gaps, 1);
	/* 1..4 missing; the loss record covers only 2..4. */
	assert_int_equal(scalar(f, "SELECT first_seq * 100 + last_seq FROM "
	    "gaps"), 104);
	assert_int_equal(scalar(f, "SELECT explained FROM gaps"), 0);
	/* Seq 1 arrives: 2..4 is left, and explained. */
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(scalar(f, "SELECT first_seq * 100 + last_seq FROM "
	    "gaps"), 204);
	assert_int_equal(scalar(f, "SELECT explained FROM gaps"), 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM losses"), 1);
	chain_free(&c);
}

static void
test_equivocation(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c, fork;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	chain_next(&c, measurement);
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	/* Seq 2 again, other bytes, same prev. */
	chain_init(&fork, f, c.chain);
	chain_line(&fork, 1, NULL, "dns", measurement);
	chain_line(&fork, 2, fork.last, "dns", "\"name\":\"forged\"");
	assert_int_equal(ingest(f, batch_of(f, &fork, 1, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.equivocations, 1);
	assert_int_equal(rc.stored, 0);
	/* The first stays, the second is kept apart. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE "
	    "name = 'root-soa'"), 2);
	assert_int_equal(scalar(f, "SELECT count(*) FROM equivocations"), 1);
	/* Sent again: still one, flagged again. */
	assert_int_equal(ingest(f, batch_of(f, &fork, 1, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(rc.equivocations, 1);
	assert_int_equal(scalar(f, "SELECT count(*) FROM equivocations"), 1);
	chain_free(&c);
	chain_free(&fork);
}

static void
test_chain_broken(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c;
	unsigned char wrong[32];
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	chain_next(&c, measurement);
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	/* Seq 3 whose prev is not seq 2's hash, with seq 4 after it. */
	memset(wrong, 0x55, sizeof(wrong));
	chain_line(&c, 3, wrong, "dns", measurement);
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 2, 2), &rc, err,
	    sizeof(err)), STORE_E_CHAIN);
	assert_non_null(strstr(err, "line 1"));
	/* Nothing of the batch stored. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 2);
	assert_int_equal(scalar(f, "SELECT last_seq FROM chains"), 2);
	chain_free(&c);

	/* The other direction: a stored seq 6 that seq 5 does not lead to. */
	chain_init(&c, f, "11111111111111111111111111111111");
	for (int i = 0; i < 6; i++)
		chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 5, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	free(c.lines[4]);
	c.n = 4;
	chain_line(&c, 5, c.last, "dns", "\"name\":\"other\"");
	assert_int_equal(ingest(f, batch_of(f, &c, 4, 1), &rc, err,
	    sizeof(err)), STORE_E_CHAIN);
	free(c.lines[5]);
	c.lines[5] = NULL;
	chain_free(&c);
}

static void
test_batch_check(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain c, d;
	struct batch *bt;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	chain_next(&c, measurement);
	chain_next(&c, measurement);
	/* Descending. */
	bt = batch_of(f, &c, 0, 2);
	struct record tmp = bt->recs[0];
	bt->recs[0] = bt->recs[1];
	bt->recs[1] = tmp;
	assert_int_equal(ingest(f, bt, &rc, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_non_null(strstr(err, "ascend"));
	/* Two chains in one batch. */
	chain_init(&d, f, "22222222222222222222222222222222");
	chain_next(&d, measurement);
	chain_next(&d, measurement);
	bt = batch_of(f, &c, 0, 1);
	record_clear(&bt->recs[0]);
	bt->b.n = 0;
	free(bt);
	bt = calloc(1, sizeof(*bt));
	assert_int_equal(record_parse(c.lines[0], strlen(c.lines[0]),
	    &bt->recs[0], err, sizeof(err)), 0);
	assert_int_equal(record_parse(d.lines[1], strlen(d.lines[1]),
	    &bt->recs[1], err, sizeof(err)), 0);
	bt->b.probe = &f->probe;
	bt->b.recs = bt->recs;
	bt->b.n = 2;
	assert_int_equal(ingest(f, bt, &rc, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_non_null(strstr(err, "one chain per batch"));
	/* Within the batch, prev must be the line before. */
	free(c.lines[1]);
	c.n = 1;
	c.seq = 1;
	memset(c.last, 0x11, 32);
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 2), &rc, err,
	    sizeof(err)), STORE_E_INVALID);
	assert_string_equal(err, "line 2: prev is not the hash of line 1");
	/* Another probe's records under this probe's signature. */
	memcpy(d.probe, "00000000000000000000000000000000", 33);
	chain_free(&d);
	chain_line(&d, 1, NULL, "dns", measurement);
	assert_int_equal(ingest(f, batch_of(f, &d, 0, 1), &rc, err,
	    sizeof(err)), STORE_E_INVALID);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 0);
	chain_free(&c);
	chain_free(&d);
}

static void
test_group_commit(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct chain a, b;
	unsigned char wrong[32];
	char err[256];

	chain_init(&a, f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	chain_init(&b, f, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	chain_next(&a, measurement);
	chain_next(&b, measurement);
	memset(wrong, 0x77, sizeof(wrong));
	chain_line(&b, 2, wrong, "dns", measurement);
	assert_int_equal(ingest(f, batch_of(f, &b, 0, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	/* One group: a good batch, a broken one, another good one. */
	chain_next(&a, measurement);
	assert_int_equal(store_group_begin(f->st), STORE_OK);
	assert_int_equal(ingest(f, batch_of(f, &a, 0, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(ingest(f, batch_of(f, &b, 1, 1), &rc, err,
	    sizeof(err)), STORE_E_CHAIN);
	assert_int_equal(ingest(f, batch_of(f, &a, 1, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(store_group_commit(f->st), STORE_OK);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE chain "
	    "= 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"), 2);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE chain "
	    "= 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'"), 1);
	/* A rolled-back group stores nothing. */
	chain_next(&a, measurement);
	assert_int_equal(store_group_begin(f->st), STORE_OK);
	assert_int_equal(ingest(f, batch_of(f, &a, 2, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	store_group_rollback(f->st);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records"), 3);
	/* A measurement first seen in a rolled-back group gets its number
	 * again when it comes back: no record names a number that is not
	 * there. */
	chain_line(&a, 4, a.last, "dns", "\"name\":\"new-msm\"");
	assert_int_equal(store_group_begin(f->st), STORE_OK);
	assert_int_equal(ingest(f, batch_of(f, &a, 3, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	store_group_rollback(f->st);
	assert_int_equal(ingest(f, batch_of(f, &a, 2, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records r WHERE "
	    "r.msm IS NOT NULL AND NOT EXISTS (SELECT 1 FROM measurements m "
	    "WHERE m.num = r.msm)"), 0);
	assert_int_equal(scalar(f, "SELECT count(*) FROM measurements"), 2);
	chain_free(&a);
	chain_free(&b);
}

static void
test_heartbeat_identity(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct store_probe p;
	struct chain c;
	char err[256], id[33];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	chain_line(&c, 1, NULL, "heartbeat", "\"identity\":{\"name\":\"k\","
	    "\"country\":\"UA\",\"asn\":15895,\"location\":\"Kyiv\"},"
	    "\"queue\":0");
	chain_next(&c, measurement);
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 2), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(store_probe_get(f->st, f->probe.id, &p), STORE_OK);
	assert_string_equal(p.country, "UA");
	assert_int_equal(p.asn, 15895);
	assert_non_null(p.last_heartbeat);
	assert_string_equal(p.last_heartbeat, c.lines[0]);
	store_probe_clear(&p);
	/* Records after it carry the declared country and ASN. */
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE "
	    "country = 'UA' AND asn = 15895"), 0);
	chain_next(&c, measurement);
	store_probe_clear(&f->probe);
	snprintf(id, sizeof(id), "%s", f->probe.id);
	assert_int_equal(store_probe_get(f->st, id, &f->probe), STORE_OK);
	assert_int_equal(ingest(f, batch_of(f, &c, 2, 1), &rc, err,
	    sizeof(err)), STORE_OK);
	assert_int_equal(scalar(f, "SELECT count(*) FROM records WHERE "
	    "country = 'UA' AND asn = 15895"), 1);
	chain_free(&c);
}

struct seen {
	long long	ids[16];
	int		n;
	bool		checked;
};

static int
seen_cb(void *arg, const struct store_row *r)
{
	struct seen *s = arg;

	assert_true(s->n < 16);
	s->ids[s->n++] = r->seq;
	if (r->seq == 1) {
		/* Every column of the first record. */
		assert_string_equal(r->type, "dns");
		assert_int_equal(r->probe_num, 1);
		assert_string_equal(r->addr, "193.0.14.129");
		assert_string_equal(r->server, "k.root-servers.net");
		assert_string_equal(r->proto, "udp");
		assert_string_equal(r->qname, ".");
		assert_string_equal(r->qtype, "SOA");
		assert_string_equal(r->rcode, "NOERROR");
		assert_string_equal(r->nsid, "k1.ams");
		assert_null(r->failure);
		assert_int_equal(r->ok, 1);
		assert_true(r->has_rtt);
		assert_true(r->rtt_ms > 12.344 && r->rtt_ms < 12.346);
		assert_int_equal(r->soa_serial, 2026112600);
		assert_int_equal(r->time, INT64_C(1795687200123456));
		assert_int_equal(r->port, 53);
		assert_int_equal(r->af, 4);
		assert_true(r->msm >= 1);
		assert_null(r->country);
		assert_int_equal(r->asn, -1);
		assert_true(r->len > 0 && r->line[0] == '{');
		s->checked = true;
	}
	return 0;
}

static void
test_results(void **state)
{
	struct fix *f = *state;
	struct store_receipt rc;
	struct store_filter flt;
	struct seen s = {0};
	long long last = 0, n;
	struct chain c;
	char err[256];

	chain_init(&c, f, "0123456789abcdef0123456789abcdef");
	chain_next(&c, measurement);				/* 1 */
	chain_next(&c, "\"time\":\"2026-11-26T11:00:00Z\",\"addr\":"
	    "\"2001:7fd::1\",\"ok\":false,\"failure\":"
	    "\"generic_timeout_error\",\"rtt_ms\":null");	/* 2 */
	chain_line(&c, 3, c.last, "heartbeat", "\"queue\":3");	/* 3 */
	chain_next(&c, measurement);				/* 4 */
	chain_next(&c, measurement);				/* 5 */
	assert_int_equal(ingest(f, batch_of(f, &c, 0, 5), &rc, err,
	    sizeof(err)), STORE_OK);
	store_filter_init(&flt);
	/* Page by page, two at a time. */
	while ((n = store_results(f->st, &flt, last, 2, seen_cb, &s,
	    &last)) > 0)
		assert_true(n <= 2);
	assert_int_equal(n, 0);
	assert_int_equal(s.n, 5);
	assert_true(s.checked);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s.ids[i], i + 1);
	/* Filters. */
	memset(&s, 0, sizeof(s));
	flt.addr = "2001:7fd::1";
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 1);
	assert_int_equal(s.ids[0], 2);
	store_filter_init(&flt);
	flt.type = "heartbeat";
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 1);
	assert_int_equal(s.ids[0], 3);
	store_filter_init(&flt);
	flt.from = INT64_C(1795690800000000);	/* 11:00 */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 1);
	flt.from = 0;
	flt.to = INT64_C(1795690800000000);
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 3);
	store_filter_init(&flt);
	flt.probe = "1";
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 5);
	flt.probe = f->probe.id;
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 5);
	flt.probe = "2";
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 0);
	store_filter_init(&flt);
	flt.country = "UA";
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 0);
	store_filter_init(&flt);
	flt.name = "root-soa";
	flt.asn = 64500;
	assert_int_equal(store_results(f->st, &flt, 0, 100, seen_cb, &s,
	    &last), 0);
	chain_free(&c);
}

#define STORE_TESTS(setup) \
	cmocka_unit_test_setup_teardown(test_schema, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_probes, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_tokens, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_ingest_and_replay, setup, \
	    teardown), \
	cmocka_unit_test_setup_teardown(test_exact_bytes, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_large_batch, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_gap_and_fill, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_gap_first_batch_and_loss, \
	    setup, teardown), \
	cmocka_unit_test_setup_teardown(test_equivocation, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_chain_broken, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_batch_check, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown), \
	cmocka_unit_test_setup_teardown(test_heartbeat_identity, setup, \
	    teardown), \
	cmocka_unit_test_setup_teardown(test_results, setup, teardown)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = {STORE_TESTS(setup_sqlite)};
	const struct CMUnitTest pg_tests[] = {STORE_TESTS(setup_pg)};
	int failed;

	if (sodium_init() < 0)
		return 1;
	failed = cmocka_run_group_tests_name("store on sqlite", sqlite_tests,
	    NULL, NULL);
	pg_url = getenv("CW_TEST_PG_URL");
	if (pg_url != NULL && pg_url[0] != '\0')
		failed += cmocka_run_group_tests_name("store on postgresql",
		    pg_tests, NULL, NULL);
	else
		printf("store on postgresql: not run (CW_TEST_PG_URL unset; "
		    "tests/scenario/store_pg.sh runs it)\n");
	return failed != 0;
}
