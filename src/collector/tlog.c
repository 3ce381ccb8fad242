/*
 * tlog.c -- the collector's checkpoints and proofs (tlog.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cwtime.h"
#include "log.h"
#include "merkle.h"
#include "receipt.h"
#include "store_log.h"
#include "tlog.h"

#define TLOG_ORIGIN_PREFIX "corewatch-collector/"

int
tlog_signer_load(struct tlog_signer *s, const char *path, const char *origin)
{
	char name[NOTE_NAME_MAX + 1];

	memset(s, 0, sizeof(*s));
	if (key_load(path, &key_collector, &s->key) == -1)
		return -1;
	if (origin == NULL || origin[0] == '\0')
		snprintf(name, sizeof(name), TLOG_ORIGIN_PREFIX "%.16s",
		    s->key.id);
	else
		snprintf(name, sizeof(name), "%s", origin);
	if (origin != NULL && strlen(origin) > NOTE_NAME_MAX) {
		log_warnx("log_origin: longer than %d bytes", NOTE_NAME_MAX);
		tlog_signer_clear(s);
		return -1;
	}
	if (note_key_make(&s->nk, name, s->key.pk) != 0) {
		log_warnx("log_origin \"%s\": not a name a checkpoint can "
		          "carry (no spaces, no '+', no control characters)",
		    name);
		tlog_signer_clear(s);
		return -1;
	}
	return 0;
}

void
tlog_signer_clear(struct tlog_signer *s)
{
	key_clear(&s->key);
	sodium_memzero(s, sizeof(*s));
}

int
tlog_checkpoint(struct store *st, const struct tlog_signer *s, char **note,
    uint64_t *size)
{
	return tlog_checkpoint_unless(st, s, UINT64_MAX, note, size);
}

int
tlog_checkpoint_unless(struct store *st, const struct tlog_signer *s,
    uint64_t have, char **note, uint64_t *size)
{
	struct store_log_head head;
	struct checkpoint cp;
	char text[NOTE_NAME_MAX + 128];
	size_t len;
	int rc, n, err;

	*note = NULL;
	if ((rc = store_log_head(st, &head)) != STORE_OK)
		return rc;
	*size = head.size;
	if (head.size == have)
		return STORE_OK;
	snprintf(cp.origin, sizeof(cp.origin), "%s", s->nk.name);
	cp.size = head.size;
	memcpy(cp.root, head.root, sizeof(cp.root));
	if ((n = checkpoint_text(&cp, text, sizeof(text))) < 0 ||
	    (*note = note_sign(text, (size_t)n, &s->nk, s->key.sk, &len,
	         &err)) == NULL)
		return STORE_E_INVALID;
	if ((rc = store_log_checkpoint_put(st, head.size, head.root,
	         cw_real_usec(), *note)) != STORE_OK) {
		free(*note);
		*note = NULL;
		return rc;
	}
	return STORE_OK;
}

char *
tlog_receipt_note(const struct tlog_signer *s, const struct store_receipt *rc)
{
	struct receipt_note r;
	char text[RECEIPT_TEXT_MAX];
	size_t len;
	char *note;
	int n, err;

	memset(&r, 0, sizeof(r));
	snprintf(r.origin, sizeof(r.origin), "%s", s->nk.name);
	memcpy(r.probe, rc->probe, sizeof(r.probe));
	memcpy(r.chain, rc->chain, sizeof(r.chain));
	r.acked_seq = rc->acked_seq;
	memcpy(r.record_hash, rc->acked_hash, sizeof(r.record_hash));
	r.log_index = rc->log_index;
	r.log_size = rc->log_size;
	cw_time_format(rc->received_at, r.received_at, sizeof(r.received_at));
	if ((n = receipt_note_text(&r, text, sizeof(text))) < 0) {
		log_warnx("log: the receipt of chain %s seq %" PRIu64
		          " cannot be written as a note",
		    rc->chain, rc->acked_seq);
		return NULL;
	}
	if ((note = note_sign(text, (size_t)n, &s->nk, s->key.sk, &len,
	         &err)) == NULL)
		log_warnx("log: signing a receipt: %s", note_error_name(err));
	return note;
}

/* A hash as checkpoints write one: standard base64. */
static json_t *
tlog_hash_json(const unsigned char hash[MERKLE_HASH_LEN])
{
	char b64[sodium_base64_ENCODED_LEN(MERKLE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];

	sodium_bin2base64(b64, sizeof(b64), hash, MERKLE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	return json_string(b64);
}

static json_t *
tlog_proof_json(const unsigned char proof[][MERKLE_HASH_LEN], size_t len)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < len; i++)
		if (json_array_append_new(a, tlog_hash_json(proof[i])) == -1) {
			json_decref(a);
			return NULL;
		}
	return a;
}

json_t *
tlog_inclusion_json(struct store *st, uint64_t index, uint64_t size, int *rc)
{
	unsigned char leaf[MERKLE_HASH_LEN],
	    proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t len;

	if ((*rc = store_log_inclusion(st, index, size, leaf, proof, &len)) !=
	    STORE_OK)
		return NULL;
	return json_pack("{s:I, s:I, s:o, s:o}", "index", (json_int_t)index,
	    "size", (json_int_t)size, "leaf_hash", tlog_hash_json(leaf),
	    "proof", tlog_proof_json(proof, len));
}

json_t *
tlog_consistency_json(struct store *st, uint64_t old, uint64_t size, int *rc)
{
	unsigned char old_root[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN],
	    proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	size_t len;

	if ((*rc = store_log_consistency(st, old, size, old_root, root, proof,
	         &len)) != STORE_OK)
		return NULL;
	return json_pack("{s:I, s:I, s:o, s:o, s:o}", "old", (json_int_t)old,
	    "new", (json_int_t)size, "old_root", tlog_hash_json(old_root),
	    "new_root", tlog_hash_json(root), "proof",
	    tlog_proof_json(proof, len));
}

int
tlog_parse_count(const char *text, uint64_t *out)
{
	uint64_t v = 0;

	if (text == NULL || text[0] == '\0' || strlen(text) > 19)
		return -1;
	for (const char *p = text; *p != '\0'; p++) {
		if (*p < '0' || *p > '9')
			return -1;
		v = v * 10 + (uint64_t)(*p - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*out = v;
	return 0;
}
