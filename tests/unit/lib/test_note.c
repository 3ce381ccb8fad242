/*
 * test_note.c -- signed notes and checkpoints: the specification's
 * example verifies, what we sign opens, and every way a note or a
 * checkpoint can be wrong is refused with its name.
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
#include <sodium.h>

#include "note.h"

/* The verifier key and note of c2sp.org/signed-note's example. */
#define SPEC_VKEY \
	"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
#define SPEC_TEXT "This is an example message.\n"
#define SPEC_NOTE \
	SPEC_TEXT \
	"\n\xe2\x80\x94 example.com/foo " \
	"Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZ" \
	"XsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n"

static unsigned char pk_a[NOTE_PUBKEY_LEN], sk_a[NOTE_SECKEY_LEN];
static unsigned char pk_b[NOTE_PUBKEY_LEN], sk_b[NOTE_SECKEY_LEN];

static int
setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_sign_keypair(pk_a, sk_a);
	crypto_sign_keypair(pk_b, sk_b);
	return 0;
}

static int
open_str(const char *note, const struct note_key *key, size_t *text_len)
{
	return note_open(note, strlen(note), key, text_len);
}

static void
test_spec_example(void **state)
{
	struct note_key key;
	char vkey[256];
	size_t text_len = 0;

	(void)state;
	assert_int_equal(note_vkey_parse(SPEC_VKEY, &key), 0);
	assert_string_equal(key.name, "example.com/foo");
	assert_int_equal(key.id, 0x530d903a);
	assert_int_equal(note_vkey_format(&key, vkey, sizeof(vkey)), 0);
	assert_string_equal(vkey, SPEC_VKEY);
	assert_int_equal(note_vkey_format(&key, vkey, 20), -1);
	assert_int_equal(open_str(SPEC_NOTE, &key, &text_len), 0);
	assert_int_equal(text_len, strlen(SPEC_TEXT));
}

/* A key whose base64 holds '+' (as one in four keys' does). */
static void
test_vkey_plus(void **state)
{
	unsigned char pk[NOTE_PUBKEY_LEN], sk[NOTE_SECKEY_LEN];
	struct note_key key, back;
	char vkey[256];
	const char *b64;
	int found = 0;

	(void)state;
	for (int i = 0; i < 200 && found < 5; i++) {
		crypto_sign_keypair(pk, sk);
		assert_int_equal(note_key_make(&key, "plus.example/log", pk),
		    0);
		assert_int_equal(note_vkey_format(&key, vkey, sizeof(vkey)), 0);
		b64 = strchr(strchr(vkey, '+') + 1, '+') + 1;
		if (strchr(b64, '+') == NULL)
			continue;
		found++;
		assert_int_equal(note_vkey_parse(vkey, &back), 0);
		assert_memory_equal(back.pub, pk, NOTE_PUBKEY_LEN);
		assert_int_equal(back.id, key.id);
	}
	assert_true(found > 0);
}

static void
test_vkey_refused(void **state)
{
	static const char *bad[] = {
		"",
		"example.com/foo",
		"example.com/foo+530d903a",
		"+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		/* another ID, a short one, upper case hex */
		"example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		/* another name for the ID, another type, a key cut short */
		"example.com/bar+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903a+AkyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U",
		"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k+",
		"example com+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
	};
	struct note_key key;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(note_vkey_parse(bad[i], &key), NOTE_MALFORMED);
}

/* A note of ours: it opens with its key, not with another; a changed
 * byte is a bad signature. */
static void
test_sign_open(void **state)
{
	static const char text[] = "corewatch.example/log\n42\nAAAA\n";
	struct note_key a, b, b_named_a, forged;
	size_t len, text_len;
	char *note;
	int err;

	(void)state;
	assert_int_equal(note_key_make(&a, "corewatch.example/log", pk_a), 0);
	assert_int_equal(note_key_make(&b, "other.example/log", pk_b), 0);
	assert_int_equal(note_key_make(&b_named_a, "corewatch.example/log",
	                     pk_b),
	    0);
	assert_int_not_equal(a.id, b_named_a.id);
	note = note_sign(text, strlen(text), &a, sk_a, &len, &err);
	assert_non_null(note);
	assert_int_equal(err, NOTE_OK);
	assert_int_equal(len, strlen(note));
	assert_int_equal(open_str(note, &a, &text_len), 0);
	assert_int_equal(text_len, strlen(text));
	assert_memory_equal(note, text, text_len);
	assert_int_equal(open_str(note, &b, &text_len), NOTE_UNKNOWN_KEY);
	assert_int_equal(open_str(note, &b_named_a, &text_len),
	    NOTE_UNKNOWN_KEY);
	/* The right name and ID with another public key: a forgery. */
	forged = a;
	memcpy(forged.pub, pk_b, NOTE_PUBKEY_LEN);
	assert_int_equal(open_str(note, &forged, &text_len),
	    NOTE_BAD_SIGNATURE);
	note[strlen("corewatch.example/log\n4")] = '3';
	assert_int_equal(open_str(note, &a, &text_len), NOTE_BAD_SIGNATURE);
	free(note);

	/* Signed by the wrong secret key for the public one named. */
	assert_null(note_sign(text, strlen(text), &a, sk_b, &len, &err));
	assert_int_equal(err, NOTE_MALFORMED);
}

/* Signatures of other keys are ignored wherever they are; the first of
 * ours decides. */
static void
test_several_signatures(void **state)
{
	static const char text[] = "origin.example\n1\nAAAA\n";
	struct note_key a, b;
	size_t len_a, len_b, text_len;
	char *note_a, *note_b, both[4096], changed[256], *mid;
	const char *sig_a, *sig_b;
	int err;

	(void)state;
	assert_int_equal(note_key_make(&a, "a.example", pk_a), 0);
	assert_int_equal(note_key_make(&b, "b.example", pk_b), 0);
	note_a = note_sign(text, strlen(text), &a, sk_a, &len_a, &err);
	note_b = note_sign(text, strlen(text), &b, sk_b, &len_b, &err);
	assert_non_null(note_a);
	assert_non_null(note_b);
	sig_a = note_a + strlen(text) + 1;
	sig_b = note_b + strlen(text) + 1;

	snprintf(both, sizeof(both), "%s\n%s%s", text, sig_b, sig_a);
	assert_int_equal(open_str(both, &a, &text_len), 0);
	assert_int_equal(open_str(both, &b, &text_len), 0);
	assert_int_equal(text_len, strlen(text));

	/* Ours twice, the second changed (a base64 character in the
	 * signature's middle): the first decides. */
	snprintf(changed, sizeof(changed), "%s", sig_a);
	mid = &changed[strlen(changed) - 40];
	*mid = *mid == 'A' ? 'B' : 'A';
	snprintf(both, sizeof(both), "%s\n%s%s", text, sig_a, changed);
	assert_int_equal(open_str(both, &a, &text_len), 0);
	/* The changed one first: refused. */
	snprintf(both, sizeof(both), "%s\n%s%s", text, changed, sig_a);
	assert_int_equal(open_str(both, &a, &text_len), NOTE_BAD_SIGNATURE);
	free(note_a);
	free(note_b);
}

/* The em dash with no space after it (the dash's last byte is a hex
 * digit of its escape, so the text goes on in a string of its own). */
static const char no_space_after_dash[] = SPEC_TEXT
    "\n\xe2\x80\x94"
    "example.com/foo AAAAAAAA\n";

static void
test_note_refused(void **state)
{
	static const char *bad[] = {
		"",
		"\n\n",
		/* no blank line, no signature line */
		SPEC_TEXT "\xe2\x80\x94 example.com/foo AAAAAAAA\n",
		SPEC_TEXT "\n",
		/* not ending in a newline */
		SPEC_TEXT "\n\xe2\x80\x94 example.com/foo AAAAAAAA",
		/* a hyphen for the em dash, no space after it, no name */
		SPEC_TEXT "\n- example.com/foo AAAAAAAA\n",
		no_space_after_dash,
		SPEC_TEXT "\n\xe2\x80\x94  AAAAAAAA\n",
		/* a name with a plus; no signature; too short; not base64 */
		SPEC_TEXT "\n\xe2\x80\x94 a+b AAAAAAAA\n",
		SPEC_TEXT "\n\xe2\x80\x94 example.com/foo\n",
		SPEC_TEXT "\n\xe2\x80\x94 example.com/foo AAAA\n",
		SPEC_TEXT "\n\xe2\x80\x94 example.com/foo AA!AAAAA\n",
		SPEC_TEXT "\n\xe2\x80\x94 example.com/foo AAAAAAAA \n",
		/* a control character, a bad UTF-8 byte, an overlong one */
		"This is\tan example.\n\n\xe2\x80\x94 example.com/foo AAAAAAAA\n",
		"This is \xff.\n\n\xe2\x80\x94 example.com/foo AAAAAAAA\n",
		"This is \xc0\xaf.\n\n\xe2\x80\x94 example.com/foo AAAAAAAA\n",
		/* an empty line among the signatures */
		SPEC_NOTE "\n",
	};
	struct note_key key;
	size_t text_len;

	(void)state;
	assert_int_equal(note_vkey_parse(SPEC_VKEY, &key), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(open_str(bad[i], &key, &text_len),
		    NOTE_MALFORMED);
	assert_string_equal(note_error_name(NOTE_MALFORMED), "malformed");
	assert_string_equal(note_error_name(NOTE_UNKNOWN_KEY), "unknown_key");
	assert_string_equal(note_error_name(NOTE_BAD_SIGNATURE),
	    "bad_signature");
}

/* Past NOTE_MAX_SIGS lines or NOTE_MAX_BYTES, a note is refused. */
static void
test_note_limits(void **state)
{
	static const char line[] = "\xe2\x80\x94 x.example AAAAAAAA\n";
	struct note_key key;
	size_t text_len, len, cap = NOTE_MAX_BYTES + 64;
	char *note = malloc(cap);

	(void)state;
	assert_non_null(note);
	assert_int_equal(note_vkey_parse(SPEC_VKEY, &key), 0);
	len = (size_t)snprintf(note, cap, SPEC_NOTE);
	for (int i = 0; i < NOTE_MAX_SIGS - 1; i++)
		len += (size_t)snprintf(note + len, cap - len, "%s", line);
	assert_int_equal(note_open(note, len, &key, &text_len), 0);
	len += (size_t)snprintf(note + len, cap - len, "%s", line);
	assert_int_equal(note_open(note, len, &key, &text_len), NOTE_MALFORMED);

	memset(note, 'a', cap);
	memcpy(note + NOTE_MAX_BYTES - strlen(SPEC_NOTE) + 1, SPEC_NOTE,
	    strlen(SPEC_NOTE));
	assert_int_equal(note_open(note, NOTE_MAX_BYTES + 1, &key, &text_len),
	    NOTE_MALFORMED);
	free(note);
}

static void
test_sign_refused(void **state)
{
	static const char *bad[] = { "", "no newline", "two\n\n", "\n",
		"tab\there\n", "bad \xff\n" };
	struct note_key a;
	size_t len;
	int err;

	(void)state;
	assert_int_equal(note_key_make(&a, "a.example", pk_a), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err = 0;
		assert_null(
		    note_sign(bad[i], strlen(bad[i]), &a, sk_a, &len, &err));
		assert_int_equal(err, NOTE_MALFORMED);
	}
	assert_int_equal(note_key_make(&a, "", pk_a), NOTE_MALFORMED);
	assert_int_equal(note_key_make(&a, "a b", pk_a), NOTE_MALFORMED);
	assert_int_equal(note_key_make(&a, "a+b", pk_a), NOTE_MALFORMED);
	assert_int_equal(note_key_make(&a,
	                     "a\xe2\x80\x83"
	                     "b",
	                     pk_a),
	    NOTE_MALFORMED); /* an em space */
}

/* A size of 2^64, one past what a checkpoint can name. */
static const char size_past_2_64[] =
    "origin\n18446744073709551616\n"
    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";

static void
test_checkpoint(void **state)
{
	static const char spec[] =
	    "example.com/behind-the-sofa\n20852163\n"
	    "CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n";
	static const char *bad[] = {
		"",
		"origin\n1\n",
		"origin\n\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n01\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n-1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		"origin\n1 \nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n",
		size_past_2_64,
		"origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2=\n",
		"origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I\n",
		"origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n",
		"origin\n1\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=",
	};
	struct checkpoint cp, back;
	char text[512];
	int n;

	(void)state;
	assert_int_equal(checkpoint_parse(spec, strlen(spec), &cp), 0);
	assert_string_equal(cp.origin, "example.com/behind-the-sofa");
	assert_int_equal(cp.size, 20852163);
	n = checkpoint_text(&cp, text, sizeof(text));
	assert_int_equal(n, (int)strlen(spec));
	assert_string_equal(text, spec);
	assert_int_equal(checkpoint_text(&cp, text, 20), -1);

	snprintf(text, sizeof(text), "%sext one\next two\n", spec);
	assert_int_equal(checkpoint_parse(text, strlen(text), &back), 0);
	assert_string_equal(back.origin, cp.origin);
	assert_int_equal(back.size, cp.size);
	assert_memory_equal(back.root, cp.root, NOTE_HASH_LEN);

	cp.size = UINT64_MAX;
	n = checkpoint_text(&cp, text, sizeof(text));
	assert_true(n > 0);
	assert_int_equal(checkpoint_parse(text, (size_t)n, &back), 0);
	assert_true(back.size == UINT64_MAX);
	cp.size = 0;
	n = checkpoint_text(&cp, text, sizeof(text));
	assert_int_equal(checkpoint_parse(text, (size_t)n, &back), 0);
	assert_int_equal(back.size, 0);

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(checkpoint_parse(bad[i], strlen(bad[i]),
		                     &back),
		    NOTE_MALFORMED);
	strcpy(cp.origin, "has space");
	assert_int_equal(checkpoint_text(&cp, text, sizeof(text)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_spec_example),
		cmocka_unit_test(test_vkey_refused),
		cmocka_unit_test(test_vkey_plus),
		cmocka_unit_test(test_sign_open),
		cmocka_unit_test(test_several_signatures),
		cmocka_unit_test(test_note_refused),
		cmocka_unit_test(test_note_limits),
		cmocka_unit_test(test_sign_refused),
		cmocka_unit_test(test_checkpoint),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
