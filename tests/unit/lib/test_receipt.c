/*
 * test_receipt.c -- the signed receipt's note (receipt.h): its text is
 * the nine lines of doc/evidence.md byte for byte, reads back, and every
 * way a note or a receipt can be wrong (a changed byte, another key, a
 * checkpoint passed off as a receipt, a member that says otherwise,
 * hostile text) is refused.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "note.h"
#include "receipt.h"

#define PROBE  "0123456789abcdef0123456789abcdef"
#define CHAIN  "fedcba9876543210fedcba9876543210"
#define WHEN   "2026-12-07T16:20:01.123456Z"
#define HASH   "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
#define ORIGIN "corewatch-collector/f961d1c90b4fd6e6"
#define TEXT \
	"corewatch-receipt-v1\n" ORIGIN "\n" PROBE "\n" CHAIN "\n42\n" HASH \
	"\n17\n21\n" WHEN "\n"

static unsigned char pk_a[NOTE_PUBKEY_LEN], sk_a[NOTE_SECKEY_LEN];
static unsigned char pk_b[NOTE_PUBKEY_LEN], sk_b[NOTE_SECKEY_LEN];
static struct note_key key_a, key_b, key_other_name;

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk_a, sk_a);
	crypto_sign_keypair(pk_b, sk_b);
	if (note_key_make(&key_a, ORIGIN, pk_a) != 0 ||
	    note_key_make(&key_b, ORIGIN, pk_b) != 0 ||
	    note_key_make(&key_other_name, "another/log", pk_a) != 0)
		return -1;
	return 0;
}

static void
example(struct receipt_note *r)
{
	memset(r, 0, sizeof(*r));
	snprintf(r->origin, sizeof(r->origin), "%s", ORIGIN);
	snprintf(r->probe, sizeof(r->probe), "%s", PROBE);
	snprintf(r->chain, sizeof(r->chain), "%s", CHAIN);
	r->acked_seq = 42;
	assert_int_equal(sodium_hex2bin(r->record_hash, sizeof(r->record_hash),
	                     HASH, strlen(HASH), NULL, NULL, NULL),
	    0);
	r->log_index = 17;
	r->log_size = 21;
	snprintf(r->received_at, sizeof(r->received_at), "%s", WHEN);
}

static void
test_text(void **state)
{
	struct receipt_note r, back;
	char text[RECEIPT_TEXT_MAX];
	int n;

	(void)state;
	example(&r);
	n = receipt_note_text(&r, text, sizeof(text));
	assert_int_equal(n, (int)strlen(TEXT));
	assert_string_equal(text, TEXT);
	assert_int_equal(receipt_note_parse(text, (size_t)n, &back), 0);
	assert_memory_equal(&r, &back, sizeof(r));

	/* A record in no leaf is "-". */
	r.log_index = -1;
	n = receipt_note_text(&r, text, sizeof(text));
	assert_non_null(strstr(text, "\n-\n21\n"));
	assert_int_equal(receipt_note_parse(text, (size_t)n, &back), 0);
	assert_int_equal(back.log_index, -1);

	/* Too small a buffer, or fields a note cannot carry. */
	example(&r);
	assert_int_equal(receipt_note_text(&r, text, 40), -1);
	snprintf(r.origin, sizeof(r.origin), "has space");
	assert_int_equal(receipt_note_text(&r, text, sizeof(text)), -1);
	example(&r);
	r.probe[0] = 'A';
	assert_int_equal(receipt_note_text(&r, text, sizeof(text)), -1);
	example(&r);
	snprintf(r.received_at, sizeof(r.received_at), "2026-12-07T16:20:01Z");
	assert_int_equal(receipt_note_text(&r, text, sizeof(text)), -1);
}

/* TEXT with the first occurrence of `from` replaced by `to`. */
static const char *
edited(const char *from, const char *to)
{
	static char buf[1024];
	const char *at = strstr(TEXT, from);

	assert_non_null(at);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(at - TEXT), TEXT, to,
	    at + strlen(from));
	return buf;
}

static void
test_parse_refused(void **state)
{
	static const char *const bad[] = {
		"",
		"\n",
		"corewatch-receipt-v1\n",
		/* A checkpoint is not a receipt. */
		ORIGIN "\n21\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
		/* One line short, one too many, no last newline. */
		"corewatch-receipt-v1\n" ORIGIN "\n" PROBE "\n" CHAIN
		"\n42\n" HASH "\n17\n21\n",
		TEXT "extension\n",
		"corewatch-receipt-v1\n" ORIGIN "\n" PROBE "\n" CHAIN
		"\n42\n" HASH "\n17\n21\n" WHEN,
	};
	static const char *const edits[][2] = {
		{ "corewatch-receipt-v1", "corewatch-receipt-v2" },
		{ "corewatch-receipt-v1\n", "corewatch-receipt-v1 \n" },
		{ ORIGIN, "" },
		{ ORIGIN, "bad origin" },
		{ ORIGIN, "bad+origin" },
		{ PROBE, "0123456789ABCDEF0123456789ABCDEF" },
		{ PROBE, "0123456789abcdef" },
		{ CHAIN, "fedcba9876543210fedcba987654321g" },
		{ "\n42\n", "\n042\n" },
		{ "\n42\n", "\n0\n" },
		{ "\n42\n", "\n+42\n" },
		{ "\n42\n", "\n9007199254740993\n" },
		{ "\n42\n", "\n99999999999999999999\n" },
		{ HASH, "00112233" },
		{ "\n17\n", "\n-1\n" },
		{ "\n17\n", "\n21\n" }, /* a leaf past the log's size */
		{ "\n17\n", "\n\n" },
		{ "\n21\n", "\n9223372036854775808\n" },
		{ WHEN, "2026-12-07T16:20:01Z" },
		{ WHEN, "2026-13-07T16:20:01.123456Z" },
		{ WHEN, "2026-12-07T16:20:01.123456+00:00" },
	};
	struct receipt_note r;
	char with_nul[] = TEXT;
	const char *t;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(receipt_note_parse(bad[i], strlen(bad[i]), &r),
		    NOTE_MALFORMED);
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		t = edited(edits[i][0], edits[i][1]);
		if (receipt_note_parse(t, strlen(t), &r) != NOTE_MALFORMED)
			fail_msg("accepted: %s -> %s", edits[i][0],
			    edits[i][1]);
	}
	with_nul[3] = '\0';
	assert_int_equal(receipt_note_parse(with_nul, sizeof(with_nul) - 1, &r),
	    NOTE_MALFORMED);
	/* Refused leaves nothing behind. */
	assert_int_equal(r.acked_seq, 0);
}

/* The receipt object a collector gives for TEXT, signed by `sk`. */
static json_t *
receipt_json(const char *text, const struct note_key *key,
    const unsigned char *sk)
{
	size_t len;
	int err;
	char *note = note_sign(text, strlen(text), key, sk, &len, &err);
	json_t *o;

	assert_non_null(note);
	o = json_pack("{s:s, s:s, s:i, s:i, s:i, s:i, s:i, s:s, s:i, s:i, s:s}",
	    "probe", PROBE, "chain", CHAIN, "acked_seq", 42, "stored", 3,
	    "duplicates", 0, "equivocations", 0, "gaps", 0, "received_at", WHEN,
	    "log_index", 17, "log_size", 21, "signed", note);
	free(note);
	assert_non_null(o);
	return o;
}

static void
expect_bad(const json_t *o, const struct note_key *key, const char *why_has)
{
	struct receipt_note r;
	char why[256] = "";

	assert_int_equal(receipt_check(o, key, &r, why, sizeof(why)), -1);
	if (strstr(why, why_has) == NULL)
		fail_msg("\"%s\" does not say \"%s\"", why, why_has);
}

static void
test_check(void **state)
{
	struct receipt_note r;
	char why[256], *note;
	json_t *o, *b;
	size_t len;
	int err;

	(void)state;
	o = receipt_json(TEXT, &key_a, sk_a);
	assert_int_equal(receipt_check(o, &key_a, &r, why, sizeof(why)), 0);
	assert_int_equal(r.log_index, 17);
	assert_string_equal(r.received_at, WHEN);

	/* Another key of the same name: its signature is not there. */
	expect_bad(o, &key_b, "unknown_key");
	/* The key of another name. */
	expect_bad(o, &key_other_name, "unknown_key");

	/* Signed by another key that claims the same name: its key ID
	 * is another, so key_a's signature is not there. */
	b = receipt_json(TEXT, &key_b, sk_b);
	expect_bad(b, &key_a, "unknown_key");
	json_decref(b);

	/* One byte of the note changed: in the text, in the signature. */
	note = strdup(json_string_value(json_object_get(o, "signed")));
	assert_non_null(note);
	note[strlen(TEXT) - 3] ^= 1;
	b = json_deep_copy(o);
	json_object_set_new(b, "signed", json_string(note));
	expect_bad(b, &key_a, "bad_signature");
	note[strlen(TEXT) - 3] ^= 1;
	note[strlen(note) - 6] = note[strlen(note) - 6] == 'A' ? 'B' : 'A';
	json_object_set_new(b, "signed", json_string(note));
	expect_bad(b, &key_a, "bad_signature");
	json_decref(b);
	free(note);

	/* A member that says otherwise than the text. */
	b = json_deep_copy(o);
	json_object_set_new(b, "log_size", json_integer(22));
	expect_bad(b, &key_a, "log_size");
	json_object_set_new(b, "log_size", json_integer(21));
	json_object_set_new(b, "log_index", json_null());
	expect_bad(b, &key_a, "log_index");
	json_object_set_new(b, "log_index", json_integer(17));
	json_object_set_new(b, "received_at",
	    json_string("2026-12-07T16:20:01.123457Z"));
	expect_bad(b, &key_a, "received_at");
	json_object_set_new(b, "received_at", json_string(WHEN));
	json_object_set_new(b, "chain", json_string(PROBE));
	expect_bad(b, &key_a, "chain");
	json_decref(b);

	/* A checkpoint signed by the same key is not a receipt. */
	note = note_sign(ORIGIN
	    "\n21\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
	    strlen(ORIGIN) + 49, &key_a, sk_a, &len, &err);
	assert_non_null(note);
	b = json_deep_copy(o);
	json_object_set_new(b, "signed", json_string(note));
	expect_bad(b, &key_a, "not a receipt");
	free(note);

	/* No note, a note that is not a string, or not a note. */
	json_object_del(b, "signed");
	expect_bad(b, &key_a, "no \"signed\"");
	json_object_set_new(b, "signed", json_integer(1));
	expect_bad(b, &key_a, "no \"signed\"");
	json_object_set_new(b, "signed", json_string("garbage\n"));
	expect_bad(b, &key_a, "malformed");
	json_decref(b);
	json_decref(o);
}

static void
test_members_refused(void **state)
{
	struct receipt_note r;
	char why[256];
	json_t *o, *b;

	(void)state;
	o = receipt_json(TEXT, &key_a, sk_a);
	assert_int_equal(receipt_members(o, &r, why, sizeof(why)), 0);
	assert_int_equal(r.acked_seq, 42);
	b = json_array();
	assert_int_equal(receipt_members(b, &r, why, sizeof(why)), -1);
	json_decref(b);
	assert_int_equal(receipt_members(NULL, &r, why, sizeof(why)), -1);
	{
		static const char *const keys[] = { "probe", "chain",
			"acked_seq", "log_index", "log_size", "received_at" };
		json_t *wrong[] = { json_string("x"), json_integer(-1),
			json_real(1.5), json_string("2026-12-07"), NULL };
		for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++)
			for (size_t w = 0; wrong[w] != NULL; w++) {
				b = json_deep_copy(o);
				json_object_set(b, keys[k], wrong[w]);
				if (receipt_members(b, &r, why, sizeof(why)) !=
				    -1)
					fail_msg("%s: accepted", keys[k]);
				json_decref(b);
			}
		for (size_t w = 0; wrong[w] != NULL; w++)
			json_decref(wrong[w]);
	}
	b = json_deep_copy(o);
	json_object_set_new(b, "acked_seq", json_integer(0));
	assert_int_equal(receipt_members(b, &r, why, sizeof(why)), -1);
	json_object_del(b, "acked_seq");
	assert_int_equal(receipt_members(b, &r, why, sizeof(why)), -1);
	json_decref(b);
	json_decref(o);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_text),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_check),
		cmocka_unit_test(test_members_refused),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
