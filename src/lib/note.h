/*
 * note.h -- C2SP signed notes (c2sp.org/signed-note) with Ed25519
 * signatures, and the transparency log checkpoints they carry
 * (c2sp.org/tlog-checkpoint): what the collector signs its log with and
 * what a verifier or a witness checks.
 *
 * A signed note is its text (lines, each ending in a newline), a blank
 * line, and signature lines "— NAME BASE64(KEYID || SIGNATURE)\n", the em
 * dash being U+2014.  The Ed25519 signature covers the text with its
 * last newline.  A key is known by its name and its 32-bit key ID,
 * SHA-256(name || 0x0A || 0x01 || public key)[:4]; a verifier key
 * ("vkey") is written NAME+HEXID+BASE64(0x01 || public key).
 *
 * Everything here parses hostile input: a note or vkey from the network
 * or a file is checked in full (size, UTF-8, control characters, every
 * signature line's form) before anything is believed, and refused with
 * one of the errors below; nothing is allocated on a refusal.
 */
#ifndef CW_NOTE_H
#define CW_NOTE_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

#define NOTE_PUBKEY_LEN crypto_sign_PUBLICKEYBYTES
#define NOTE_SECKEY_LEN crypto_sign_SECRETKEYBYTES
#define NOTE_NAME_MAX   255   /* bytes of a key name or an origin */
#define NOTE_MAX_BYTES  65536 /* a note longer is refused */
#define NOTE_MAX_SIGS   100   /* signature lines beyond are refused */
#define NOTE_HASH_LEN   32

/* What a note or a vkey can be refused for (note_error_name). */
enum note_error {
	NOTE_OK = 0,
	NOTE_MALFORMED = -1,     /* not a signed note, or a bad vkey */
	NOTE_UNKNOWN_KEY = -2,   /* no signature by the key asked for */
	NOTE_BAD_SIGNATURE = -3, /* the key's signature does not verify */
	NOTE_NOMEM = -4,
};

/* note_error_name: a stable name for `err`: "malformed",
 * "unknown_key", "bad_signature", "out_of_memory" ("ok" for 0). */
const char *note_error_name(int err);

/* A verifier's key: its name, its key ID and its Ed25519 public key. */
struct note_key {
	char name[NOTE_NAME_MAX + 1];
	uint32_t id;
	unsigned char pub[NOTE_PUBKEY_LEN];
};

/*
 * note_key_make: fill `key` from `name` and `pub`, computing the key ID.
 * Returns 0, or NOTE_MALFORMED when the name is empty, too long, not
 * UTF-8, or holds a space, a plus or a control character.
 */
int note_key_make(struct note_key *key, const char *name,
    const unsigned char pub[NOTE_PUBKEY_LEN]);

/* note_vkey_format: `key` as a vkey into `out` of `size` bytes.
 * Returns 0, or -1 when it does not fit. */
int note_vkey_format(const struct note_key *key, char *out, size_t size);

/* note_vkey_parse: the vkey `text` into `key`: its three parts, an
 * Ed25519 type, and a key ID that matches the name and key.  Returns
 * 0 or NOTE_MALFORMED. */
int note_vkey_parse(const char *text, struct note_key *key);

/*
 * note_sign: the signed note of `text` (`len` bytes: non-empty, valid
 * UTF-8, ending in a newline, no control character but newlines, no
 * empty line at its end) signed by `sk` under `key` (its name and ID;
 * key->pub must be sk's public key).  Returns a NUL-terminated string
 * the caller frees and its length in `*out_len`, or NULL with
 * `*err` set (NOTE_MALFORMED for a text that cannot be a note's,
 * NOTE_NOMEM).
 */
char *note_sign(const char *text, size_t len, const struct note_key *key,
    const unsigned char sk[NOTE_SECKEY_LEN], size_t *out_len, int *err);

/*
 * note_open: check the signed note `note` (`len` bytes) against `key`.
 * Signatures of other keys (another name or ID) are ignored, as the
 * specification asks; the first one of `key` must verify.  Returns 0
 * and the length of its text (from the note's start) in `*text_len`, or
 * an enum note_error.
 */
int note_open(const char *note, size_t len, const struct note_key *key,
    size_t *text_len);

/* A log's tree head: what a checkpoint states. */
struct checkpoint {
	char origin[NOTE_NAME_MAX + 1];
	uint64_t size;
	unsigned char root[NOTE_HASH_LEN];
};

/* checkpoint_text: the checkpoint's note text (origin, size and root
 * lines, no extension line) into `out` of `size` bytes, NUL-terminated.
 * Returns its length, or -1 when it does not fit or the origin is not
 * a valid key name. */
int checkpoint_text(const struct checkpoint *cp, char *out, size_t size);

/*
 * checkpoint_parse: the checkpoint of a note text (note_open's `text_len`
 * bytes) into `cp`: an origin line, a size in decimal without leading
 * zeros, a root of 32 bytes in base64, then any non-empty extension
 * lines (which are not kept).  Returns 0 or NOTE_MALFORMED.
 */
int checkpoint_parse(const char *text, size_t len, struct checkpoint *cp);

#endif /* CW_NOTE_H */
