/*
 * fuzz_note.c -- libFuzzer target: what a verifier or a witness reads
 * from a log it does not trust.
 *
 * The first byte chooses what the rest is: a signed note, opened with
 * the key of the specification's example and its text read as a
 * checkpoint and as a signed receipt (whose text, when it is one, must
 * be written back byte for byte) (0); a verifier key, parsed and, when accepted, written
 * back and parsed again to the same key (1); or an inclusion and a
 * consistency proof, each number and hash taken from the input, checked
 * (2).  Nothing may crash, leak or read out of bounds, and a proof made
 * of arbitrary bytes must not verify against a root of zeros.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "merkle.h"
#include "note.h"
#include "receipt.h"

#define SPEC_VKEY \
	"example.com/foo+530d903a+AekyeRrm56hApGFkyQR4" \
	"ZCbV54Id2LKaANYcrnKv3U2k"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A receipt's text has one form: what is read is written back the same. */
static void
fuzz_receipt(const char *in, size_t len)
{
	struct receipt_note r;
	char back[RECEIPT_TEXT_MAX];

	if (receipt_note_parse(in, len, &r) != 0)
		return;
	if (receipt_note_text(&r, back, sizeof(back)) != (int)len ||
	    memcmp(back, in, len) != 0)
		abort();
}

static void
fuzz_note(const char *in, size_t len)
{
	struct note_key key;
	struct checkpoint cp;
	size_t text_len;

	if (note_vkey_parse(SPEC_VKEY, &key) != 0)
		abort();
	if (note_open(in, len, &key, &text_len) == 0)
		(void)checkpoint_parse(in, text_len, &cp);
	(void)checkpoint_parse(in, len, &cp);
	fuzz_receipt(in, len);
}

static void
fuzz_vkey(const char *in, size_t len)
{
	struct note_key key, again;
	char *text, back[512];

	if ((text = malloc(len + 1)) == NULL)
		return;
	memcpy(text, in, len);
	text[len] = '\0';
	if (note_vkey_parse(text, &key) == 0) {
		if (note_vkey_format(&key, back, sizeof(back)) != 0 ||
		    note_vkey_parse(back, &again) != 0 ||
		    memcmp(key.pub, again.pub, NOTE_PUBKEY_LEN) != 0 ||
		    key.id != again.id || strcmp(key.name, again.name) != 0)
			abort();
	}
	free(text);
}

static uint64_t
take_u64(const uint8_t **p, size_t *left)
{
	uint64_t v = 0;

	for (int i = 0; i < 8 && *left > 0; i++, (*p)++, (*left)--)
		v = v << 8 | **p;
	return v;
}

static void
fuzz_proof(const uint8_t *p, size_t left)
{
	unsigned char zero[MERKLE_HASH_LEN] = { 0 };
	unsigned char proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	uint64_t a = take_u64(&p, &left), b = take_u64(&p, &left);
	size_t n = 0;

	while (n < MERKLE_MAX_PROOF && left >= MERKLE_HASH_LEN) {
		memcpy(proof[n++], p, MERKLE_HASH_LEN);
		p += MERKLE_HASH_LEN;
		left -= MERKLE_HASH_LEN;
	}
	/* A root of zeros has no known preimage: nothing verifies to it,
	 * unless the proof claims it itself (a leaf of zeros as the tree of
	 * one, an old root of zeros as the same tree). */
	if (n > 0 && memcmp(proof[0], zero, MERKLE_HASH_LEN) == 0)
		return;
	if (n > 0 &&
	    merkle_verify_inclusion(proof[0], a, b, proof + 1, n - 1, zero))
		abort();
	if (n > 0 &&
	    merkle_verify_consistency(a, b, proof[0], zero, proof + 1, n - 1))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 3) {
	case 0:
		fuzz_note((const char *)data + 1, size - 1);
		break;
	case 1:
		fuzz_vkey((const char *)data + 1, size - 1);
		break;
	default:
		fuzz_proof(data + 1, size - 1);
		break;
	}
	return 0;
}
