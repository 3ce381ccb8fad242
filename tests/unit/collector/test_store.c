/* test_store.c -- the store on SQLite, and on PostgreSQL when
 * CW_TEST_PG_URL names a database the test may wipe: schema, probes,
 * tokens, and ingest (duplicates, gaps, losses, equivocation, broken
 * chains, group commit). */
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

#include "store_fixture.h"
#include "store_int.h"

/* --- fixtures --- */

/* Probe "kyiv-1" declares no country and no ASN here
 * (sfix_setup_bare_*). */
static long long
scalar(struct sfix_test *t, const char *sql)
{
	return sfix_scalar(&t->s, sql);
}

static const char measurement[] =
    "\"time\":\"2026-11-26T10:00:00.123456Z\","
    "\"name\":\"root-soa\",\"server\":\"k.root-servers.net\","
    "\"addr\":\"193.0.14.129\",\"port\":53,\"af\":4,\"proto\":\"udp\","
    "\"query\":{\"qname\":\".\",\"qtype\":\"SOA\"},\"ok\":true,"
    "\"failure\":null,\"rtt_ms\":12.345,\"rcode\":\"NOERROR\","
    "\"soa_serial\":2026112600,\"nsid\":\"k1.ams\"";

/* --- tests --- */

static void
test_schema(void **state)
{
	struct sfix_test *t = *state;
	struct store *again;
	char err[512];

	assert_int_equal(store_db_version(t->s.st), store_schema_version());
	/* Opening again applies nothing and keeps the data. */
	if ((again = store_open(t->s.url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", t->s.url, err);
	assert_int_equal(store_db_version(again), store_schema_version());
	store_close(again);
	assert_int_equal(scalar(t, "SELECT count(*) FROM probes"), 1);
	assert_int_equal(scalar(t, "SELECT count(*) FROM schema_version"),
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
	struct sfix_test *t = *state;
	unsigned char pk[32], sk[64];
	struct store_probe p, q;
	char err[256], num[16];
	int n = 0;

	assert_int_equal(t->p->num, 1);
	assert_string_equal(t->p->name, "kyiv-1");
	assert_false(t->p->revoked);
	assert_int_equal(t->p->asn, -1);
	/* The same key twice. */
	assert_int_equal(store_probe_add(t->s.st, "again", t->p->pubkey, NULL,
	                     err, sizeof(err)),
	    STORE_E_EXISTS);
	assert_non_null(strstr(err, t->p->id));
	/* Names: empty, too long, control characters. */
	crypto_sign_keypair(pk, sk);
	assert_int_equal(store_probe_add(t->s.st, "", pk, NULL, err,
	                     sizeof(err)),
	    STORE_E_INVALID);
	assert_int_equal(store_probe_add(t->s.st, "a\nb", pk, NULL, err,
	                     sizeof(err)),
	    STORE_E_INVALID);
	assert_int_equal(store_probe_add(t->s.st, "kharkiv-2", pk, &p, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(p.num, 2);
	/* By id and by number. */
	assert_int_equal(store_probe_get(t->s.st, p.id, &q), STORE_OK);
	assert_memory_equal(q.pubkey, pk, 32);
	store_probe_clear(&q);
	snprintf(num, sizeof(num), "%lld", p.num);
	assert_int_equal(store_probe_get(t->s.st, num, &q), STORE_OK);
	assert_string_equal(q.id, p.id);
	store_probe_clear(&q);
	assert_int_equal(store_probe_get(t->s.st, "99", &q), STORE_E_NOTFOUND);
	assert_int_equal(store_probe_get(t->s.st, "x'; DROP", &q),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_probe_list(t->s.st, list_cb, &n), STORE_OK);
	assert_int_equal(n, 2);
	/* Revoked, twice: still there, flagged. */
	assert_int_equal(store_probe_revoke(t->s.st, num, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_revoke(t->s.st, p.id, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_get(t->s.st, p.id, &q), STORE_OK);
	assert_true(q.revoked);
	assert_true(q.revoked_at > 0);
	store_probe_clear(&q);
	assert_int_equal(store_probe_revoke(t->s.st, "77", err, sizeof(err)),
	    STORE_E_NOTFOUND);
	store_probe_clear(&p);
}

static void
test_tokens(void **state)
{
	struct sfix_test *t = *state;
	char token[STORE_TOKEN_LEN + 1], err[256];
	unsigned char pk[32], sk[64], pk2[32];
	struct store_probe p;

	assert_int_equal(store_token_create(t->s.st, "odesa-3",
	                     3600 * CW_USEC_PER_SEC, token, err, sizeof(err)),
	    STORE_OK);
	assert_int_equal(strlen(token), STORE_TOKEN_LEN);
	/* Only the hash is stored. */
	assert_int_equal(scalar(t, "SELECT count(*) FROM tokens"), 1);
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(pk2, sk);
	assert_int_equal(store_token_redeem(t->s.st, "short", pk, NULL, err,
	                     sizeof(err)),
	    STORE_E_NOTFOUND);
	assert_int_equal(store_token_redeem(t->s.st, token, t->p->pubkey, NULL,
	                     err, sizeof(err)),
	    STORE_E_EXISTS);
	/* The failed redeem did not use the token up. */
	assert_int_equal(store_token_redeem(t->s.st, token, pk, &p, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_string_equal(p.name, "odesa-3");
	store_probe_clear(&p);
	assert_int_equal(store_token_redeem(t->s.st, token, pk2, NULL, err,
	                     sizeof(err)),
	    STORE_E_NOTFOUND);
	assert_string_equal(err, "token used already");
	/* Expired. */
	assert_int_equal(store_token_create(t->s.st, "x", 1, token, err,
	                     sizeof(err)),
	    STORE_OK);
	usleep(2000);
	assert_int_equal(store_token_redeem(t->s.st, token, pk2, NULL, err,
	                     sizeof(err)),
	    STORE_E_NOTFOUND);
	assert_string_equal(err, "token expired");
	assert_int_equal(store_token_create(t->s.st, "x", 0, token, err,
	                     sizeof(err)),
	    STORE_E_INVALID);
}

static void
test_ingest_and_replay(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 5; i++)
		schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 5), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.acked_seq, 5);
	assert_int_equal(rc.stored, 5);
	assert_int_equal(rc.duplicates, 0);
	assert_int_equal(rc.gaps, 0);
	assert_string_equal(rc.chain, c.chain);
	/* Exact bytes and parsed columns. */
	assert_int_equal(
	    scalar(t,
	        "SELECT count(*) FROM records WHERE "
	        "rtt_ms > 12.3 AND rtt_ms < 12.4 AND ok = 1 AND af = 4 AND "
	        "soa_serial = 2026112600 AND time = 1795687200123456"),
	    5);
	assert_int_equal(scalar(t, "SELECT count(DISTINCT msm) FROM records"),
	    1);
	/* A replay changes nothing. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 5), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.acked_seq, 5);
	assert_int_equal(rc.stored, 0);
	assert_int_equal(rc.duplicates, 5);
	/* Overlapping: 4, 5 again and 6, 7 new. */
	schain_add(&c, "dns", measurement);
	schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 3, 4), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.stored, 2);
	assert_int_equal(rc.duplicates, 2);
	assert_int_equal(rc.acked_seq, 7);
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 7);
	assert_int_equal(scalar(t, "SELECT last_seq FROM chains"), 7);
	assert_true(
	    scalar(t, "SELECT last_seen FROM probes WHERE num = 1") > 0);
	schain_free(&c);
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
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 299; i++)
		schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 299), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.stored, 299);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 299);
	assert_int_equal(scalar(t,
	                     "SELECT CAST(sum(seq) AS BIGINT) FROM "
	                     "records"),
	    299 * 300 / 2);
	assert_int_equal(
	    scalar(t,
	        "SELECT count(*) FROM records WHERE "
	        "soa_serial = 2026112600 AND addr = '193.0.14.129'"),
	    299);
	schain_free(&c);
}

static void
test_exact_bytes(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];
	struct db_value p = DB_V_INT(1);

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	/* Spacing, key order and escapes exactly as sent. */
	schain_add(&c, "dns",
	    "\"name\" : \"caf\\u00e9 \xe2\x9c\x93\",  \"x\":1.50");
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(db_query(store_db(t->s.st),
	                     "SELECT line FROM "
	                     "records WHERE seq = ?",
	                     &p, 1, line_cb, c.lines[0]),
	    0);
	schain_free(&c);
}

static void
test_gap_and_fill(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 6; i++)
		schain_add(&c, "dns", measurement); /* lines 0..5: seq 1..6 */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps_opened, 0);
	/* 5..6 arrive before 3..4: a gap 3..4. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 4, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(rc.gaps_opened, 1);
	assert_int_equal(scalar(t,
	                     "SELECT first_seq * 100 + last_seq FROM "
	                     "gaps"),
	    304);
	assert_int_equal(scalar(t, "SELECT explained FROM gaps"), 0);
	/* 3 alone leaves 4: the same gap, smaller, not a new one. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 2, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(rc.gaps_opened, 0);
	assert_int_equal(scalar(t,
	                     "SELECT first_seq * 100 + last_seq FROM "
	                     "gaps"),
	    404);
	/* 4 closes it; its links to 3 and 5 are checked. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 3, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(scalar(t, "SELECT count(*) FROM gaps"), 0);
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 6);
	schain_free(&c);
}

static void
test_gap_first_batch_and_loss(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "fedcba9876543210fedcba9876543210");
	schain_add(&c, "dns", measurement); /* seq 1 */
	schain_skip(&c, 3);                 /* 2..4 dropped */
	schain_line(&c, 5, c.last, "loss",
	    "\"lost\":{\"first_seq\":2,"
	    "\"last_seq\":4,\"count\":3},\"reason\":\"spool_full\"");
	/* The batch starts at 5: seq 1 was never sent either. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 1, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(rc.gaps_opened, 1);
	/* 1..4 missing; the loss record covers only 2..4. */
	assert_int_equal(scalar(t,
	                     "SELECT first_seq * 100 + last_seq FROM "
	                     "gaps"),
	    104);
	assert_int_equal(scalar(t, "SELECT explained FROM gaps"), 0);
	/* Seq 1 arrives: 2..4 is left, and explained: no gap is open. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(rc.gaps_opened, 0);
	assert_int_equal(scalar(t,
	                     "SELECT first_seq * 100 + last_seq FROM "
	                     "gaps"),
	    204);
	assert_int_equal(scalar(t, "SELECT explained FROM gaps"), 1);
	assert_int_equal(scalar(t, "SELECT count(*) FROM losses"), 1);
	schain_free(&c);
}

/* A gap, then the loss record that explains it, then more records: the
 * gap is open until the loss record comes, then never again. */
static void
test_gap_explained_later(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", measurement); /* seq 1 */
	schain_add(&c, "dns", measurement); /* seq 2 */
	schain_skip(&c, 2);                 /* 3..4 dropped */
	schain_add(&c, "dns", measurement); /* seq 5 */
	schain_add(&c, "loss",
	    "\"lost\":{\"first_seq\":3,"
	    "\"last_seq\":4,\"count\":2},\"reason\":\"spool_full\"");
	schain_add(&c, "dns", measurement); /* seq 7 */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 2, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 1);
	assert_int_equal(rc.gaps_opened, 1);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 3, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(rc.gaps_opened, 0);
	assert_int_equal(scalar(t, "SELECT explained FROM gaps"), 1);
	/* The next batch appends: the chain's row remembers none open. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 4, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(rc.gaps_opened, 0);
	assert_int_equal(scalar(t, "SELECT open_gaps FROM chains"), 0);
	schain_free(&c);
}

static void
test_equivocation(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c, fork;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", measurement);
	schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	/* Seq 2 again, other bytes, same prev. */
	schain_init(&fork, t->p, c.chain);
	schain_line(&fork, 1, NULL, "dns", measurement);
	schain_line(&fork, 2, fork.last, "dns", "\"name\":\"forged\"");
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&fork, 1, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.equivocations, 1);
	assert_int_equal(rc.stored, 0);
	/* The first stays, the second is kept apart. */
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE "
	                     "name = 'root-soa'"),
	    2);
	assert_int_equal(scalar(t, "SELECT count(*) FROM equivocations"), 1);
	/* Sent again: still one, and a duplicate of what is kept, not a
	 * second equivocation. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&fork, 1, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(rc.equivocations, 0);
	assert_int_equal(rc.duplicates, 1);
	assert_int_equal(rc.stored, 0);
	assert_int_equal(scalar(t, "SELECT count(*) FROM equivocations"), 1);
	schain_free(&c);
	schain_free(&fork);
}

static void
test_chain_broken(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c;
	unsigned char wrong[32];
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", measurement);
	schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	/* Seq 3 whose prev is not seq 2's hash, with seq 4 after it. */
	memset(wrong, 0x55, sizeof(wrong));
	schain_line(&c, 3, wrong, "dns", measurement);
	schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 2, 2), &rc, err,
	                     sizeof(err)),
	    STORE_E_CHAIN);
	assert_non_null(strstr(err, "line 1"));
	/* Nothing of the batch stored. */
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 2);
	assert_int_equal(scalar(t, "SELECT last_seq FROM chains"), 2);
	schain_free(&c);

	/* The other direction: a stored seq 6 that seq 5 does not lead to. */
	schain_init(&c, t->p, "11111111111111111111111111111111");
	for (int i = 0; i < 6; i++)
		schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 5, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	schain_truncate(&c, 4);
	schain_line(&c, 5, c.last, "dns", "\"name\":\"other\"");
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 4, 1), &rc, err,
	                     sizeof(err)),
	    STORE_E_CHAIN);
	schain_free(&c);
}

static void
test_batch_check(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain c, d;
	struct sbatch *bt;
	unsigned char wrong[32];
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", measurement);
	schain_add(&c, "dns", measurement);
	/* Descending. */
	bt = sbatch_of(&c, 0, 2);
	struct record tmp = bt->recs[0];
	bt->recs[0] = bt->recs[1];
	bt->recs[1] = tmp;
	assert_int_equal(sbatch_ingest(&t->s, bt, &rc, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_non_null(strstr(err, "ascend"));
	/* Two chains in one batch. */
	schain_init(&d, t->p, "22222222222222222222222222222222");
	schain_add(&d, "dns", measurement);
	schain_add(&d, "dns", measurement);
	bt = sbatch_of(&c, 0, 2);
	record_clear(&bt->recs[1]);
	assert_int_equal(record_parse(d.lines[1], strlen(d.lines[1]),
	                     &bt->recs[1], err, sizeof(err)),
	    0);
	assert_int_equal(sbatch_ingest(&t->s, bt, &rc, err, sizeof(err)),
	    STORE_E_INVALID);
	assert_non_null(strstr(err, "one chain per batch"));
	/* Within the batch, prev must be the line before. */
	schain_truncate(&c, 1);
	memset(wrong, 0x11, sizeof(wrong));
	schain_line(&c, 2, wrong, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_E_INVALID);
	assert_string_equal(err, "line 2: prev is not the hash of line 1");
	/* Another probe's records under this probe's signature. */
	memcpy(d.probe_id, "00000000000000000000000000000000", 33);
	schain_free(&d);
	schain_line(&d, 1, NULL, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&d, 0, 1), &rc, err,
	                     sizeof(err)),
	    STORE_E_INVALID);
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 0);
	schain_free(&c);
	schain_free(&d);
}

static void
test_group_commit(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct schain a, b;
	unsigned char wrong[32];
	char err[256];

	schain_init(&a, t->p, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	schain_init(&b, t->p, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
	schain_add(&a, "dns", measurement);
	schain_add(&b, "dns", measurement);
	memset(wrong, 0x77, sizeof(wrong));
	schain_line(&b, 2, wrong, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&b, 0, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	/* One group: a good batch, a broken one, another good one. */
	schain_add(&a, "dns", measurement);
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&a, 0, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&b, 1, 1), &rc, err,
	                     sizeof(err)),
	    STORE_E_CHAIN);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&a, 1, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_group_commit(t->s.st), STORE_OK);
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE chain "
	                     "= 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'"),
	    2);
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE chain "
	                     "= 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb'"),
	    1);
	/* A rolled-back group stores nothing. */
	schain_add(&a, "dns", measurement);
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&a, 2, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	store_group_rollback(t->s.st);
	assert_int_equal(scalar(t, "SELECT count(*) FROM records"), 3);
	/* A measurement first seen in a rolled-back group gets its number
	 * again when it comes back: no record names a number that is not
	 * there. */
	schain_line(&a, 4, a.last, "dns", "\"name\":\"new-msm\"");
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&a, 3, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	store_group_rollback(t->s.st);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&a, 2, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(
	    scalar(t,
	        "SELECT count(*) FROM records r WHERE "
	        "r.msm IS NOT NULL AND NOT EXISTS (SELECT 1 FROM measurements m "
	        "WHERE m.num = r.msm)"),
	    0);
	assert_int_equal(scalar(t, "SELECT count(*) FROM measurements"), 2);
	schain_free(&a);
	schain_free(&b);
}

static void
test_heartbeat_identity(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct store_probe p;
	struct schain c;
	char err[256], id[33];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_line(&c, 1, NULL, "heartbeat",
	    "\"identity\":{\"name\":\"k\","
	    "\"country\":\"UA\",\"asn\":15895,\"location\":\"Kyiv\"},"
	    "\"queue\":0");
	schain_add(&c, "dns", measurement);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 2), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_get(t->s.st, t->p->id, &p), STORE_OK);
	assert_string_equal(p.country, "UA");
	assert_int_equal(p.asn, 15895);
	assert_non_null(p.last_heartbeat);
	assert_string_equal(p.last_heartbeat, c.lines[0]);
	store_probe_clear(&p);
	/* The batch that declares them carries them: the heartbeat and the
	 * measurement (the probe as looked up before had none). */
	assert_string_equal(t->p->country, "");
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE "
	                     "country = 'UA' AND asn = 15895"),
	    2);
	schain_add(&c, "dns", measurement);
	store_probe_clear(t->p);
	snprintf(id, sizeof(id), "%s", t->p->id);
	assert_int_equal(store_probe_get(t->s.st, id, t->p), STORE_OK);
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 2, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE "
	                     "country = 'UA' AND asn = 15895"),
	    3);
	/* A heartbeat without an identity declares nothing anew: what was
	 * declared stands, and tags it too. */
	schain_add(&c, "heartbeat", "\"queue\":1");
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 3, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	assert_int_equal(store_probe_get(t->s.st, id, &p), STORE_OK);
	assert_string_equal(p.country, "UA");
	assert_int_equal(p.asn, 15895);
	assert_string_equal(p.last_heartbeat, c.lines[3]);
	store_probe_clear(&p);
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE "
	                     "country = 'UA' AND asn = 15895"),
	    4);
	schain_free(&c);
}

struct seen {
	long long ids[16];
	int n;
	bool checked;
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
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct store_filter flt;
	struct seen s = { 0 };
	long long last = 0, n;
	struct schain c;
	char err[256];

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", measurement); /* 1 */
	schain_add(&c, "dns",
	    "\"time\":\"2026-11-26T11:00:00Z\",\"addr\":"
	    "\"2001:7fd::1\",\"ok\":false,\"failure\":"
	    "\"generic_timeout_error\",\"rtt_ms\":null");       /* 2 */
	schain_line(&c, 3, c.last, "heartbeat", "\"queue\":3"); /* 3 */
	schain_add(&c, "dns", measurement);                     /* 4 */
	schain_add(&c, "dns", measurement);                     /* 5 */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 0, 5), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	store_filter_init(&flt);
	/* Page by page, two at a time. */
	while (
	    (n = store_results(t->s.st, &flt, last, 2, seen_cb, &s, &last)) > 0)
		assert_true(n <= 2);
	assert_int_equal(n, 0);
	assert_int_equal(s.n, 5);
	assert_true(s.checked);
	for (int i = 0; i < 5; i++)
		assert_int_equal(s.ids[i], i + 1);
	/* Filters. */
	memset(&s, 0, sizeof(s));
	flt.addr = "2001:7fd::1";
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    1);
	assert_int_equal(s.ids[0], 2);
	store_filter_init(&flt);
	flt.type = "heartbeat";
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    1);
	assert_int_equal(s.ids[0], 3);
	store_filter_init(&flt);
	flt.from = INT64_C(1795690800000000); /* 11:00 */
	memset(&s, 0, sizeof(s));
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    1);
	flt.from = 0;
	flt.to = INT64_C(1795690800000000);
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    3);
	store_filter_init(&flt);
	flt.probe = "1";
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    5);
	flt.probe = t->p->id;
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    5);
	flt.probe = "2";
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    0);
	store_filter_init(&flt);
	flt.country = "UA";
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    0);
	store_filter_init(&flt);
	flt.name = "root-soa";
	flt.asn = 64500;
	assert_int_equal(store_results(t->s.st, &flt, 0, 100, seen_cb, &s,
	                     &last),
	    0);
	schain_free(&c);
}

/* A plan's rows, joined into `buf` (PLAN_LEN): the last column of each,
 * SQLite's EXPLAIN QUERY PLAN details or PostgreSQL's EXPLAIN lines. */
#define PLAN_LEN 4096
static int
plan_cb(void *arg, const struct db_row *row)
{
	char *buf = arg;
	size_t len = strlen(buf);

	if (row->n >= 1 && row->col[row->n - 1].type == DB_TEXT)
		snprintf(buf + len, PLAN_LEN - len, "%s; ",
		    (const char *)row->col[row->n - 1].p);
	return 0;
}

static void
plan_has(struct sfix_test *t, const char *sql, const char *want)
{
	char buf[PLAN_LEN] = "", *q;

	assert_true(asprintf(&q, "EXPLAIN QUERY PLAN %s", sql) > 0);
	assert_int_equal(db_query(store_db(t->s.st), q, NULL, 0, plan_cb, buf),
	    0);
	free(q);
	if (strstr(buf, want) == NULL)
		fail_msg("plan of %s: %s (want %s)", sql, buf, want);
}

/* What a summary's page asks of records (store_read_by_time), the
 * filter's condition in %s. */
#define PLAN_WHERE \
	"r.time >= 5 AND (r.time > 5 OR r.id > 0) AND r.time >= 5 AND " \
	"r.time < 9 AND %s AND r.ok IS NOT NULL AND " \
	"r.type IN ('dns', 'http')"

/* The reads of the dashboard's requests stay on their indexes
 * (doc/performance.md): a summary by probe or by target from the index
 * alone, episodes' runs by end time (SQLite's plans). */
static void
test_read_plans(void **state)
{
	struct sfix_test *t = *state;
	static const char msm[] = "SELECT " STORE_MSM_COLUMNS
	                          " FROM records r JOIN probes p ON "
	                          "p.id = r.probe WHERE " PLAN_WHERE
	                          " ORDER BY r.time, r.id LIMIT 1000";
	char sql[1024];

	snprintf(sql, sizeof(sql), msm, "p.id = 'x'");
	plan_has(t, sql, "COVERING INDEX records_probe_time_msm");
	snprintf(sql, sizeof(sql), msm, "r.addr = 'x' AND r.name = 'y'");
	plan_has(t, sql, "COVERING INDEX records_addr_time_msm");
	plan_has(t,
	    "SELECT names FROM episode_runs WHERE end_time > 5 AND "
	    "start_time < 9 AND (silence = 1 OR failures >= 2)",
	    "INDEX episode_runs_end (end_time>?)");
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM sqlite_master WHERE name "
	                     "IN ('records_probe_time', 'records_addr_time', "
	                     "'episode_runs_start')"),
	    0);
}

/* Whether a record fits PostgreSQL's covering indexes, as a read says
 * (STORE_COVER_FITS), and its contrary. */
static const char fits[] = STORE_COVER_FITS("r."),
                  long_arm[] = "NOT " STORE_COVER_FITS("r.");

/* A summary's page on PostgreSQL reads the records that fit from the
 * covering index by probe or by address alone (an index-only scan) and
 * the others along records_time_long (store_read; doc/performance.md).
 * The planner is kept off the table (a few rows in it) so that the
 * test sees which index it would scan. */
static void
test_read_plans_pg(void **state)
{
	struct sfix_test *t = *state;
	static const char arm[] = "(SELECT " STORE_MSM_RECORD_COLUMNS
	                          " FROM records r WHERE " PLAN_WHERE
	                          " AND %s ORDER BY r.time, r.id LIMIT 1000)";
	static const char msm[] = "SELECT " STORE_MSM_COLUMNS " FROM (%s UNION "
	                          "ALL %s) r JOIN probes p ON p.id = r.probe "
	                          "ORDER BY r.time, r.id LIMIT 1000";
	static const char *const want[][3] = {
		{ "r.addr = 'x' AND r.name = 'y'",
		    "Index Only Scan using records_addr_time_fit",
		    "Index Scan using records_time_long" },
		{ "r.probe = 'x'",
		    "Index Only Scan using records_probe_time_fit",
		    "Index Scan using records_time_long" },
	};
	char arm1[1536], arm2[1536], sql[4096], plan[PLAN_LEN], *q;

	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "VACUUM (ANALYZE) records"),
	    0);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "SET enable_seqscan = off; "
	                     "SET enable_bitmapscan = off"),
	    0);
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		snprintf(arm1, sizeof(arm1), arm, want[i][0], fits);
		snprintf(arm2, sizeof(arm2), arm, want[i][0], long_arm);
		snprintf(sql, sizeof(sql), msm, arm1, arm2);
		plan[0] = '\0';
		assert_true(asprintf(&q, "EXPLAIN %s", sql) > 0);
		assert_int_equal(db_query(store_db(t->s.st), q, NULL, 0,
		                     plan_cb, plan),
		    0);
		free(q);
		for (int k = 1; k < 3; k++)
			if (strstr(plan, want[i][k]) == NULL)
				fail_msg("plan of %s: %s (want %s)", sql, plan,
				    want[i][k]);
	}
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "RESET enable_seqscan; RESET enable_bitmapscan"),
	    0);
}

struct long_seen {
	int n;
	long long time[4];
	size_t nsid_len[4], server_len[4];
};

static int
long_seen_cb(void *arg, const struct store_row *r)
{
	struct long_seen *s = arg;

	assert_true(s->n < 4);
	s->time[s->n] = r->time;
	s->nsid_len[s->n] = r->nsid != NULL ? strlen(r->nsid) : 0;
	s->server_len[s->n] = r->server != NULL ? strlen(r->server) : 0;
	s->n++;
	return 0;
}

/* What a summary reads of the records of test_long_nsid, a record a
 * page, by address, by probe (its id, its number) and unfiltered: the
 * four in time order, texts whole. */
static void
long_read(struct sfix_test *t)
{
	struct store_filter f;

	for (size_t k = 0; k < 4; k++) {
		struct store_cursor cur = STORE_CURSOR_START;
		struct long_seen s = { 0 };
		store_filter_init(&f);
		if (k == 0)
			f.addr = "193.0.14.129";
		else if (k < 3)
			f.probe = k == 1 ? t->p->id : "1"; /* its number */
		while (store_measurements_by_time(t->s.st, &f, &cur, 1,
		           long_seen_cb, &s) == 1)
			assert_true(s.n <= 4);
		assert_int_equal(s.n, 4);
		for (int i = 1; i < 4; i++)
			assert_true(s.time[i] > s.time[i - 1]);
		assert_int_equal(s.nsid_len[0], 2);
		assert_int_equal(s.nsid_len[1], 16000);
		assert_int_equal(s.server_len[2], 3000);
		assert_int_equal(s.nsid_len[3], 2);
	}
}

/* An NSID is what a server chose to send: one of 16,000 hex digits that
 * do not compress is stored on both backends, and so are a server name
 * of 3,000 and a query name of 2,000 bytes (PostgreSQL's B-tree refuses
 * an index entry over about 2,700 bytes: no index holds them; a summary
 * reads them apart).  Then the schema back at version 5 with these
 * records (migration 6's indexes gone), opened again: migration 6 runs
 * on them and the summary's read is the same. */
static void
test_long_nsid(void **state)
{
	struct sfix_test *t = *state;
	static char body[20000], nsid[16001];
	bool pg = strcmp(db_backend(store_db(t->s.st)), "postgresql") == 0;
	struct schain c;
	struct store *again;
	char err[512];

	sfix_hex_noise(nsid, sizeof(nsid) - 1);
	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	for (int i = 0; i < 4; i++) {
		sfix_long_result(body, sizeof(body), i, nsid);
		schain_add(&c, "dns", body);
	}
	schain_ingest(&t->s, &c, 4);
	assert_int_equal(scalar(t,
	                     "SELECT count(*) FROM records WHERE "
	                     "length(nsid) = 16000"),
	    1);
	long_read(t);
	/* Back to version 5 (the log of version 7 goes too). */
	if (pg)
		assert_int_equal(
		    db_exec_script(store_db(t->s.st),
		        "DROP INDEX records_probe_time_fit, "
		        "records_addr_time_fit, records_time_long; "
		        "DROP STATISTICS records_cover_bytes;"),
		    0);
	assert_int_equal(db_exec_script(store_db(t->s.st),
	                     "DROP TABLE log_state; DROP TABLE log_nodes; "
	                     "DROP TABLE log_checkpoints; "
	                     "ALTER TABLE records DROP COLUMN log_index; "
	                     "DELETE FROM schema_version WHERE version >= 6"),
	    0);
	assert_int_equal(store_db_version(t->s.st), 5);
	if ((again = store_open(t->s.url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", t->s.url, err);
	assert_int_equal(store_db_version(again), store_schema_version());
	store_close(again);
	if (pg)
		assert_int_equal(scalar(t,
		                     "SELECT count(*) FROM pg_indexes WHERE "
		                     "indexname IN ('records_probe_time_fit', "
		                     "'records_addr_time_fit', "
		                     "'records_time_long')"),
		    3);
	if (pg) /* autovacuum marks the new records' pages soon */
		assert_int_equal(scalar(t,
		                     "SELECT count(*) FROM pg_class WHERE "
		                     "relname = 'records' AND reloptions @> "
		                     "'{autovacuum_vacuum_insert_scale_"
		                     "factor=0}'"),
		    1);
	long_read(t);
	schain_free(&c);
}

/* Ingest lines [from, from + n) of `c` as one signed batch (the
 * signature is 64 bytes of `sigbyte`: the store keeps, it does not
 * check); returns store_ingest's result. */
static int
signed_ingest(struct sfix_test *t, const struct schain *c, size_t from,
    size_t n, unsigned char sigbyte, struct store_receipt *rc)
{
	unsigned char hash[RECORD_HASH_LEN], sig[RECORD_SIG_LEN];
	struct sbatch *bt = sbatch_of(c, from, n);
	char err[256], *body;
	size_t len;

	body = schain_body(c, from, n, &len);
	record_hash(body, len, hash);
	free(body);
	memset(sig, sigbyte, sizeof(sig));
	bt->b.body_hash = hash;
	bt->b.sig = sig;
	return sbatch_ingest(&t->s, bt, rc, err, sizeof(err));
}

/* The kept batches (of every probe) with id > 0 matching `f`. */
static void
batches_read(struct sfix_test *t, const struct store_batch_filter *f,
    struct store_batch_page *pg)
{
	assert_int_equal(store_batches(t->s.st, f, 0, 100, pg), STORE_OK);
}

static void
test_batch_signatures(void **state)
{
	struct sfix_test *t = *state;
	struct store_batch_filter all = { 0 }, f = { 0 };
	struct store_batch_page pg;
	struct store_receipt rc;
	struct schain c, fork;
	char hex[RECORD_HASH_HEX + 1], err[256], *line;
	unsigned char hash[RECORD_HASH_LEN];
	long long seq;
	size_t len;

	schain_init(&c, t->p, "0123456789abcdef0123456789abcdef");
	schain_measurements(&c, 6);
	/* Seqs 1-3, then the same body again: one row. */
	assert_int_equal(signed_ingest(t, &c, 0, 3, 0x11, &rc), STORE_OK);
	assert_int_equal(signed_ingest(t, &c, 0, 3, 0x11, &rc), STORE_OK);
	assert_int_equal(rc.duplicates, 3);
	/* Seqs 2-4 (2 and 3 duplicates): its own row. */
	assert_int_equal(signed_ingest(t, &c, 1, 3, 0x22, &rc), STORE_OK);
	/* Seq 6 alone: its own row. */
	assert_int_equal(signed_ingest(t, &c, 5, 1, 0x33, &rc), STORE_OK);
	/* Seq 5 unsigned (a tool's batch): no row. */
	assert_int_equal(sbatch_ingest(&t->s, sbatch_of(&c, 4, 1), &rc, err,
	                     sizeof(err)),
	    STORE_OK);
	batches_read(t, &all, &pg);
	assert_int_equal(pg.n, 3);
	assert_int_equal(pg.v[0].first_seq, 1);
	assert_int_equal(pg.v[0].last_seq, 3);
	assert_int_equal(pg.v[0].count, 3);
	assert_null(pg.v[0].seqs);
	assert_null(pg.v[0].forks);
	assert_int_equal(pg.v[0].sig[63], 0x11);
	assert_memory_equal(pg.v[0].pubkey, t->p->pubkey, RECORD_PUBKEY_LEN);
	assert_string_equal(pg.v[0].chain, c.chain);
	assert_int_equal(pg.v[0].received_at, SFIX_RECEIVED);
	assert_int_equal(pg.v[1].first_seq, 2);
	assert_int_equal(pg.v[1].sig[0], 0x22);
	assert_int_equal(pg.v[2].first_seq, 6);
	store_batch_page_clear(&pg);
	/* Seq 2 forked, then 3 after it: the fork is named, with the
	 * bytes kept apart. */
	schain_init(&fork, t->p, c.chain);
	schain_line(&fork, 1, NULL, "dns", SFIX_MEASUREMENT);
	schain_line(&fork, 2, fork.last, "dns", "\"name\":\"forged\"");
	schain_line(&fork, 3, fork.last, "dns", "\"name\":\"forged\"");
	assert_int_equal(signed_ingest(t, &fork, 1, 2, 0x44, &rc), STORE_OK);
	assert_int_equal(rc.equivocations, 2);
	f.seq_from = 2;
	f.seq_to = 2;
	f.probe = t->p->id;
	batches_read(t, &f, &pg);
	assert_int_equal(pg.n, 3); /* 1-3, 2-4, the fork */
	assert_non_null(pg.v[2].forks);
	assert_int_equal(store_batch_fork(t->s.st, &pg.v[2], 0, &seq, hex,
	                     &line, &len),
	    STORE_OK);
	assert_int_equal(seq, 2);
	assert_string_equal(line, fork.lines[1]);
	record_hash(line, len, hash);
	free(line);
	{
		char want[RECORD_HASH_HEX + 1];
		record_hex(hash, RECORD_HASH_LEN, want);
		assert_string_equal(hex, want);
	}
	assert_int_equal(store_batch_fork(t->s.st, &pg.v[2], 1, &seq, hex,
	                     &line, &len),
	    STORE_OK);
	assert_int_equal(seq, 3);
	assert_string_equal(line, fork.lines[2]);
	free(line);
	assert_int_equal(store_batch_fork(t->s.st, &pg.v[2], 2, &seq, hex,
	                     &line, &len),
	    STORE_E_NOTFOUND);
	store_batch_page_clear(&pg);
	schain_free(&fork);
	/* A batch with a hole (seqs 5, a duplicate, and 7): its seqs are
	 * listed. */
	schain_init(&fork, t->p, c.chain);
	record_hash(c.lines[3], strlen(c.lines[3]), hash);
	schain_line(&fork, 5, hash, "dns", SFIX_MEASUREMENT);
	assert_string_equal(fork.lines[0], c.lines[4]);
	record_hash(c.lines[5], strlen(c.lines[5]), hash);
	schain_line(&fork, 7, hash, "dns", SFIX_MEASUREMENT);
	assert_int_equal(signed_ingest(t, &fork, 0, 2, 0x55, &rc), STORE_OK);
	assert_int_equal(rc.stored, 1);
	f.seq_from = 7;
	f.seq_to = 0;
	batches_read(t, &f, &pg);
	assert_int_equal(pg.n, 1);
	assert_string_equal(pg.v[0].seqs, "5,7");
	assert_int_equal(pg.v[0].count, 2);
	store_batch_page_clear(&pg);
	/* A refused batch (seq 8 not after the stored 7) keeps no row. */
	schain_skip(&fork, 0);
	schain_add(&fork, "dns", SFIX_MEASUREMENT);
	assert_int_equal(signed_ingest(t, &fork, 2, 1, 0x66, &rc),
	    STORE_E_CHAIN);
	assert_int_equal(scalar(t, "SELECT count(*) FROM batches"), 5);
	/* Another chain, another probe: filtered. */
	f = (struct store_batch_filter){ .chain = "ffffffffffffffffffffffff"
		                                  "ffffffff" };
	batches_read(t, &f, &pg);
	assert_int_equal(pg.n, 0);
	f = (struct store_batch_filter){ .probe = "2" };
	batches_read(t, &f, &pg);
	assert_int_equal(pg.n, 0);
	schain_free(&fork);
	schain_free(&c);
}

#define STORE_TESTS(setup) \
	SFIX_TEST(test_schema, setup), SFIX_TEST(test_probes, setup), \
	    SFIX_TEST(test_tokens, setup), \
	    SFIX_TEST(test_ingest_and_replay, setup), \
	    SFIX_TEST(test_exact_bytes, setup), \
	    SFIX_TEST(test_large_batch, setup), \
	    SFIX_TEST(test_gap_and_fill, setup), \
	    SFIX_TEST(test_gap_first_batch_and_loss, setup), \
	    SFIX_TEST(test_gap_explained_later, setup), \
	    SFIX_TEST(test_equivocation, setup), \
	    SFIX_TEST(test_chain_broken, setup), \
	    SFIX_TEST(test_batch_check, setup), \
	    SFIX_TEST(test_group_commit, setup), \
	    SFIX_TEST(test_heartbeat_identity, setup), \
	    SFIX_TEST(test_results, setup), SFIX_TEST(test_long_nsid, setup), \
	    SFIX_TEST(test_batch_signatures, setup)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = { STORE_TESTS(
		                                       sfix_setup_bare_sqlite),
		SFIX_TEST(test_read_plans, sfix_setup_bare_sqlite) };
	const struct CMUnitTest pg_tests[] = { STORE_TESTS(sfix_setup_bare_pg),
		SFIX_TEST(test_read_plans_pg, sfix_setup_bare_pg) };

	if (sodium_init() < 0)
		return 1;
	return SFIX_RUN("store", sqlite_tests, pg_tests,
	           "tests/scenario/store_pg.sh") != 0;
}
