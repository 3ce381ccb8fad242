/*
 * tlog.h -- what the collector says of its log (store_log.h) and signs:
 * checkpoints (c2sp.org/tlog-checkpoint notes signed with the log key,
 * note.h) and the proofs a reader checks them with, as the HTTP service
 * and the command line give them (doc/evidence.md).
 *
 * The log key is an Ed25519 key file as the probe's (key.h), made by
 * `corewatch-collector keygen`.  The log's origin, the first line of its
 * checkpoints and the name of its key, is configured (log_origin) or
 * else "corewatch-collector/" and the first 16 hex digits of the key's
 * probe-style id, so that it stays as long as the key does.
 */
#ifndef CW_TLOG_H
#define CW_TLOG_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "key.h"
#include "note.h"
#include "store.h"

/* The log key, as loaded for signing. */
struct tlog_signer {
	struct key key;
	struct note_key nk; /* origin, key id, public key */
};

/*
 * tlog_signer_load: load the key in `path` (key_load's checks) and name
 * the log `origin` (NULL or "": the default above).  Returns 0, or -1
 * with the reason logged (the file, or an origin that cannot be a key
 * name: empty, spaces, '+').
 */
int tlog_signer_load(struct tlog_signer *s, const char *path,
    const char *origin);

/* tlog_signer_clear: wipe the secret key. */
void tlog_signer_clear(struct tlog_signer *s);

/*
 * tlog_checkpoint: a signed checkpoint of the log as committed now,
 * into `*note` (the caller frees it) with its size in `*size`; kept in
 * the store when it is the first of its size.  Returns STORE_OK,
 * STORE_E_DB (the store's error says why), or STORE_E_INVALID when
 * signing failed (out of memory).
 */
int tlog_checkpoint(struct store *st, const struct tlog_signer *s, char **note,
    uint64_t *size);

/* tlog_checkpoint_unless: the same, but when the log's size is `have`
 * (the size of a checkpoint the caller holds) nothing is signed or kept:
 * STORE_OK with `*note` NULL and `*size` set. */
int tlog_checkpoint_unless(struct store *st, const struct tlog_signer *s,
    uint64_t have, char **note, uint64_t *size);

/*
 * tlog_receipt_note: the signed receipt of `rc` (doc/evidence.md, "The
 * signed receipt"): a note of receipt.h's nine lines signed with the
 * log key.  Returns it (the caller frees it), or NULL when out of
 * memory or when `rc` holds what a note cannot (logged).
 */
char *tlog_receipt_note(const struct tlog_signer *s,
    const struct store_receipt *rc);

/*
 * tlog_inclusion_json: {"index", "size", "leaf_hash", "proof": [...]}
 * for leaf `index` in the tree of `size` leaves, hashes in base64 as in
 * checkpoints; tlog_consistency_json: {"old", "new", "old_root",
 * "new_root", "proof": [...]}.  NULL with `*rc` set to the store's
 * STORE_E_INVALID (out of the log's range) or STORE_E_DB, or to
 * STORE_OK when out of memory.
 */
json_t *tlog_inclusion_json(struct store *st, uint64_t index, uint64_t size,
    int *rc);
json_t *tlog_consistency_json(struct store *st, uint64_t old, uint64_t size,
    int *rc);

/*
 * tlog_parse_count: `text` as a size or index of the log: decimal
 * digits only, at most 2^63 - 1.  Returns 0, or -1.
 */
int tlog_parse_count(const char *text, uint64_t *out);

#endif /* CW_TLOG_H */
