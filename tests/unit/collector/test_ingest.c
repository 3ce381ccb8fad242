/* test_ingest.c -- one batch's checks and storing (ingest.c), called
 * directly on a SQLite store as the HTTP service and `import` call it: a
 * good batch stored byte for byte and replayed as duplicates; each
 * refusal with its status, its reason and its message, and nothing
 * stored: a chain broken against the stored records (409), a seq twice
 * in one batch (400), a record one byte over RECORD_MAX_LEN (413, and
 * one of exactly the limit stored), a line that is not JSON, an empty
 * body, a last line without its newline (400), a bad signature, a
 * probe never enrolled (401), a revoked one (403); the status of every
 * store result; the piecewise signature check agreeing with the whole
 * one; a batch inside a store group that is rolled back. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "ingest.h"
#include "store_fixture.h"

#define SEED 7 /* of the fixture's probe, t->p */

/* --- helpers --- */

/* ingest_batch() of `body` (taken) for probe `probe` signed `sig`, into
 * a fresh *b (the caller clears it). */
static int
ingest_as(struct sfix_test *t, const char *probe, char *body, size_t len,
    const char *sig, struct ingest_batch *b, struct store_receipt *rc)
{
	memset(b, 0, sizeof(*b));
	memset(rc, 0, sizeof(*rc));
	b->body = (unsigned char *)body;
	b->len = len;
	b->received_at = SFIX_RECEIVED;
	return ingest_batch(t->s.st, probe, sig, b, rc);
}

/* The same, signed by the fixture's probe as a probe signs it. */
static int
ingest_signed(struct sfix_test *t, char *body, size_t len,
    struct ingest_batch *b, struct store_receipt *rc)
{
	char sig[RECORD_SIG_B64 + 1];

	sfix_sign(t->p, SEED, body, len, sig);
	return ingest_as(t, t->p->id, body, len, sig, b, rc);
}

/* Lines [from, from + n) of the fixture's chain as one signed batch. */
static int
ingest_chain(struct sfix_test *t, size_t from, size_t n, struct ingest_batch *b,
    struct store_receipt *rc)
{
	size_t len;
	char *body = schain_body(&t->c, from, n, &len);

	return ingest_signed(t, body, len, b, rc);
}

/* --- tests --- */

static void
test_good_batch_stored_with_receipt(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;

	schain_measurements(&t->c, 3);
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	assert_int_equal(b.reason, INGEST_R_NONE);
	assert_int_equal(b.n, 3);
	assert_string_equal(rc.probe, t->p->id);
	assert_string_equal(rc.chain, SFIX_CHAIN);
	assert_int_equal(rc.acked_seq, 3);
	assert_int_equal(rc.stored, 3);
	assert_int_equal(rc.duplicates, 0);
	assert_int_equal(rc.equivocations, 0);
	assert_int_equal(rc.gaps, 0);
	assert_int_equal(rc.received_at, SFIX_RECEIVED);
	ingest_batch_clear(&b);
	assert_null(b.body);
	sfix_assert_stored(&t->s, &t->c, 3);
}

static void
test_replay_stored_as_duplicates(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;

	schain_measurements(&t->c, 3);
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	ingest_batch_clear(&b);
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	assert_int_equal(rc.acked_seq, 3);
	assert_int_equal(rc.stored, 0);
	assert_int_equal(rc.duplicates, 3);
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 3);
}

static void
test_chain_break_conflict(void **state)
{
	struct sfix_test *t = *state;
	unsigned char wrong[RECORD_HASH_LEN];
	struct store_receipt rc;
	struct ingest_batch b;

	schain_measurements(&t->c, 3);
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	ingest_batch_clear(&b);
	/* Seq 4 names a prev that is not stored seq 3's hash. */
	memset(wrong, 0xab, sizeof(wrong));
	schain_line(&t->c, 4, wrong, "dns", SFIX_MEASUREMENT);
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	assert_int_equal(ingest_chain(t, 3, 2, &b, &rc), 409);
	assert_int_equal(b.reason, INGEST_R_CHAIN);
	assert_string_equal(b.err,
	    "line 1: seq 4's prev is not the hash of "
	    "the stored seq 3: the chain is broken");
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 3);
}

static void
test_duplicate_seq_in_batch_invalid(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;
	unsigned char first[RECORD_HASH_LEN];

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	memcpy(first, t->c.last, sizeof(first));
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	/* Seq 2 again, with other content. */
	schain_line(&t->c, 2, first, "dns",
	    "\"time\":"
	    "\"2026-11-26T10:05:00Z\"");
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 400);
	assert_int_equal(b.reason, INGEST_R_INVALID);
	assert_string_equal(b.err, "line 3: seq 2 after 2: seqs must ascend");
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 0);
}

/* A "pad" that makes the next record of the chain exactly `len` bytes
 * long; the caller frees it. */
static char *
pad_to(struct sfix_test *t, size_t len)
{
	unsigned char last[RECORD_HASH_LEN];
	uint64_t seq = t->c.seq;
	size_t base, n;
	char *pad;

	/* The length of the record with an empty pad, made and dropped. */
	memcpy(last, t->c.last, sizeof(last));
	schain_add(&t->c, "dns", "\"pad\":\"\"");
	base = strlen(t->c.lines[t->c.n - 1]);
	schain_truncate(&t->c, t->c.n - 1);
	t->c.seq = seq;
	memcpy(t->c.last, last, sizeof(last));
	assert_true(len > base);
	n = len - base;
	assert_non_null(pad = malloc(n + 9));
	memcpy(pad, "\"pad\":\"", 7);
	memset(pad + 7, 'x', n);
	strcpy(pad + 7 + n, "\"");
	return pad;
}

static void
test_record_over_size_limit(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;
	char *pad;

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	/* Exactly RECORD_MAX_LEN bytes: stored. */
	pad = pad_to(t, RECORD_MAX_LEN);
	schain_add(&t->c, "dns", pad);
	free(pad);
	assert_int_equal(strlen(t->c.lines[1]), RECORD_MAX_LEN);
	assert_int_equal(ingest_chain(t, 0, 2, &b, &rc), 200);
	assert_int_equal(rc.stored, 2);
	ingest_batch_clear(&b);
	/* One byte more: 413, naming the line and both sizes. */
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	pad = pad_to(t, RECORD_MAX_LEN + 1);
	schain_add(&t->c, "dns", pad);
	free(pad);
	assert_int_equal(strlen(t->c.lines[3]), RECORD_MAX_LEN + 1);
	assert_int_equal(ingest_chain(t, 2, 2, &b, &rc), 413);
	assert_int_equal(b.reason, INGEST_R_RECORD_TOO_LARGE);
	assert_string_equal(b.err,
	    "line 2: a record of 65537 bytes, over the "
	    "limit of 65536");
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 2);
}

static void
test_bad_json_malformed(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;
	char *body;

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	assert_true(asprintf(&body, "%s\n{\"probe\": not json}\n%s\n",
	                t->c.lines[0], t->c.lines[0]) > 0);
	assert_int_equal(ingest_signed(t, body, strlen(body), &b, &rc), 400);
	assert_int_equal(b.reason, INGEST_R_MALFORMED);
	assert_true(strncmp(b.err, "line 2: ", 8) == 0);
	assert_true(strlen(b.err) > 8);
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 0);
}

static void
test_empty_batch_malformed(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;
	char *body;

	/* Signed, and empty. */
	assert_non_null(body = strdup(""));
	assert_int_equal(ingest_signed(t, body, 0, &b, &rc), 400);
	assert_int_equal(b.reason, INGEST_R_MALFORMED);
	assert_string_equal(b.err, "the body is empty");
	ingest_batch_clear(&b);
	/* The last line without its newline. */
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	assert_true(
	    asprintf(&body, "%s\n%s", t->c.lines[0], t->c.lines[1]) > 0);
	assert_int_equal(ingest_signed(t, body, strlen(body), &b, &rc), 400);
	assert_int_equal(b.reason, INGEST_R_MALFORMED);
	assert_string_equal(b.err, "line 2 does not end in a newline");
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 0);
}

static void
test_bad_signature_unauthorized(void **state)
{
	struct sfix_test *t = *state;
	char sig[RECORD_SIG_B64 + 1], want[256];
	struct store_receipt rc;
	struct ingest_batch b;
	size_t len;
	char *body;

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	snprintf(want, sizeof(want),
	    "the signature does not match the body "
	    "and the key of probe %s",
	    t->p->id);
	/* The signature of the first line alone, over both. */
	body = schain_body(&t->c, 0, 1, &len);
	sfix_sign(t->p, SEED, body, len, sig);
	free(body);
	body = schain_body(&t->c, 0, 2, &len);
	assert_int_equal(ingest_as(t, t->p->id, body, len, sig, &b, &rc), 401);
	assert_int_equal(b.reason, INGEST_R_SIGNATURE);
	assert_string_equal(b.err, want);
	ingest_batch_clear(&b);
	/* Not even base64 of 64 bytes. */
	body = schain_body(&t->c, 0, 2, &len);
	assert_int_equal(ingest_as(t, t->p->id, body, len, "short", &b, &rc),
	    401);
	assert_int_equal(b.reason, INGEST_R_SIGNATURE);
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 0);
}

static void
test_unknown_and_revoked_probe(void **state)
{
	struct sfix_test *t = *state;
	struct store_probe *other;
	char sig[RECORD_SIG_B64 + 1], want[128], err[256];
	struct store_receipt rc;
	struct ingest_batch b;
	struct schain c;
	size_t len;
	char *body;

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	body = schain_body(&t->c, 0, 1, &len);
	sfix_sign(t->p, SEED, body, len, sig);
	assert_int_equal(ingest_as(t, "0123456789abcdef0123456789abcdef", body,
	                     len, sig, &b, &rc),
	    401);
	assert_int_equal(b.reason, INGEST_R_UNKNOWN_PROBE);
	assert_string_equal(b.err,
	    "probe 0123456789abcdef0123456789abcdef "
	    "is not enrolled");
	ingest_batch_clear(&b);

	other = sfix_probe(&t->s, "kharkiv-2", 9, NULL, -1);
	assert_int_equal(store_probe_revoke(t->s.st, other->id, err,
	                     sizeof(err)),
	    STORE_OK);
	schain_init(&c, other, "0123456789abcdef0123456789abcdef");
	schain_add(&c, "dns", SFIX_MEASUREMENT);
	body = schain_body(&c, 0, 1, &len);
	sfix_sign(other, 9, body, len, sig);
	assert_int_equal(ingest_as(t, other->id, body, len, sig, &b, &rc), 403);
	assert_int_equal(b.reason, INGEST_R_REVOKED);
	snprintf(want, sizeof(want), "probe %s is revoked", other->id);
	assert_string_equal(b.err, want);
	ingest_batch_clear(&b);
	schain_free(&c);
	sfix_assert_stored(&t->s, &t->c, 0);
}

static void
test_status_of_each_store_result(void **state)
{
	static const struct {
		int rc, code;
		enum ingest_reason why;
	} want[] = {
		{ STORE_OK, 200, INGEST_R_NONE },
		{ STORE_E_CHAIN, 409, INGEST_R_CHAIN },
		{ STORE_E_INVALID, 400, INGEST_R_INVALID },
		{ STORE_E_REVOKED, 403, INGEST_R_REVOKED },
		{ STORE_E_NOTFOUND, 401, INGEST_R_UNKNOWN_PROBE },
		{ STORE_E_DB, 503, INGEST_R_UNAVAILABLE },
	};
	struct ingest_batch b;

	(void)state;
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		memset(&b, 0, sizeof(b));
		snprintf(b.err, sizeof(b.err), "the store's reason");
		assert_int_equal(ingest_status(want[i].rc, &b), want[i].code);
		assert_int_equal(b.reason, want[i].why);
		/* The store's reason stays, but for what the client cannot
		 * fix: that is said in general terms. */
		assert_string_equal(b.err,
		    want[i].code == 503 ?
		        "the batch was not stored; try again later" :
		        "the store's reason");
	}
}

static void
test_piecewise_verify_agrees(void **state)
{
	struct sfix_test *t = *state;
	unsigned char digest[RECORD_HASH_LEN];
	char sig[RECORD_SIG_B64 + 1];
	struct ingest_batch b;

	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	schain_add(&t->c, "dns", SFIX_MEASUREMENT);
	memset(&b, 0, sizeof(b));
	assert_int_equal(ingest_probe(t->s.st, t->p->id, &b), 0);
	b.body = (unsigned char *)schain_body(&t->c, 0, 2, &b.len);
	sfix_sign(t->p, SEED, b.body, b.len, sig);
	record_hash(b.body, b.len, digest);
	assert_int_equal(ingest_verify(&b, digest, sig), 0);
	assert_int_equal(ingest_records(&b), 0);
	assert_int_equal(b.n, 2);
	assert_int_equal(b.recs[1].seq, 2);
	/* A digest of other bytes does not verify. */
	digest[0] ^= 1;
	assert_int_equal(ingest_verify(&b, digest, sig), 401);
	assert_int_equal(b.reason, INGEST_R_SIGNATURE);
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 0);
}

static void
test_group_rolled_back_stores_nothing(void **state)
{
	struct sfix_test *t = *state;
	struct store_receipt rc;
	struct ingest_batch b;

	schain_measurements(&t->c, 3);
	assert_int_equal(store_group_begin(t->s.st), STORE_OK);
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	assert_int_equal(rc.stored, 3);
	ingest_batch_clear(&b);
	store_group_rollback(t->s.st);
	sfix_assert_stored(&t->s, &t->c, 0);
	/* Outside a group the batch commits by itself. */
	assert_int_equal(ingest_chain(t, 0, 3, &b, &rc), 200);
	assert_int_equal(rc.stored, 3);
	ingest_batch_clear(&b);
	sfix_assert_stored(&t->s, &t->c, 3);
}

static int
setup(void **state)
{
	return sfix_test_setup(state, NULL, NULL, -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		SFIX_TEST(test_good_batch_stored_with_receipt, setup),
		SFIX_TEST(test_replay_stored_as_duplicates, setup),
		SFIX_TEST(test_chain_break_conflict, setup),
		SFIX_TEST(test_duplicate_seq_in_batch_invalid, setup),
		SFIX_TEST(test_record_over_size_limit, setup),
		SFIX_TEST(test_bad_json_malformed, setup),
		SFIX_TEST(test_empty_batch_malformed, setup),
		SFIX_TEST(test_bad_signature_unauthorized, setup),
		SFIX_TEST(test_unknown_and_revoked_probe, setup),
		SFIX_TEST(test_status_of_each_store_result, setup),
		SFIX_TEST(test_piecewise_verify_agrees, setup),
		SFIX_TEST(test_group_rolled_back_stores_nothing, setup),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests_name("ingest", tests, NULL, NULL);
}
