/*
 * key.h -- an Ed25519 key pair (libsodium): the probe's identity, and
 * the key the collector signs its log's checkpoints and receipts with.
 *
 * The key file holds the 32-byte secret seed as 64 lower-case hex
 * digits and a newline, nothing else, mode 0600, owned by the user who
 * runs the program.  Everything else (the public key, libsodium's 64-byte
 * secret key, the probe id of doc/protocol.md) is derived from the seed.
 */
#ifndef CW_KEY_H
#define CW_KEY_H

#include <stdint.h>

#include "record.h"

#define KEY_SEED_LEN 32
#define KEY_SK_LEN   64 /* libsodium's secret key: seed + public */
#define KEY_FILE_LEN (KEY_SEED_LEN * 2 + 1) /* hex and "\n" */

struct key {
	unsigned char pk[RECORD_PUBKEY_LEN];
	unsigned char sk[KEY_SK_LEN];
	char pk_hex[RECORD_PUBKEY_LEN * 2 + 1];
	char id[RECORD_ID_HEX + 1]; /* the probe id */
};

/* Whose key it is, for what the messages say: the program that makes
 * one ("corewatch") and its owner ("probe"). */
struct key_kind {
	const char *program;
	const char *owner;
};

extern const struct key_kind key_probe;     /* corewatch */
extern const struct key_kind key_collector; /* corewatch-collector */

/*
 * key_generate: draw a new key pair and write its seed to `path`,
 * created with O_EXCL (an existing file is never overwritten) and mode
 * 0600, and synced; a missing parent directory is created (0700).  The
 * key goes into `k` when it is not NULL.  Returns 0, or -1 (logged: the
 * file exists, cannot be written ...; a partly written file is removed).
 */
int key_generate(const char *path, const struct key_kind *kind, struct key *k);

/*
 * key_load: read the key in `path` into `k`.  Refused (-1, logged with
 * what to do): a file that is not a regular file, is readable or
 * writable by group or others, is owned by another user than the one
 * running, or does not hold exactly 64 hex digits (and one newline).
 * Clear `k` with key_clear() when done.
 */
int key_load(const char *path, const struct key_kind *kind, struct key *k);

/* key_clear: wipe the secret parts of `k`. */
void key_clear(struct key *k);

#endif
