/*
 * record.h -- records, their chain and signed batches: the wire contract
 * between probe and collector (doc/protocol.md).
 *
 * A record is one result as one line of UTF-8 JSON, at most
 * RECORD_MAX_LEN bytes, whose envelope names its probe, chain, seq and
 * the hash of the record before it.  A record's hash is SHA-256 of its
 * exact line bytes (without the newline); nobody re-serialises a record.
 * A batch is 1..N records of one probe and one chain in ascending seq,
 * each line ending in "\n", signed with the probe's Ed25519 key.
 */
#ifndef CW_RECORD_H
#define CW_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RECORD_MAX_LEN    65536 /* bytes of one line, no newline */
#define RECORD_ID_HEX     32    /* probe and chain ids: 16 bytes */
#define RECORD_HASH_HEX   64    /* SHA-256 in hex */
#define RECORD_HASH_LEN   32
#define RECORD_PUBKEY_LEN 32 /* Ed25519 */
#define RECORD_SIG_LEN    64
#define RECORD_SIG_B64    88 /* base64 of 64 bytes, padded */
#define RECORD_TYPE_MAX   32
#define RECORD_MS_MAX     86400000           /* a duration: one day, in ms */
#define RECORD_COUNT_MAX  9007199254740992.0 /* 2^53: counts, bytes */
#define BATCH_SIG_CONTEXT "corewatch-batch-v1\n"
#define BATCH_AUTH_SCHEME "CW1-Ed25519"

/* The envelope of one record, parsed from its line. */
struct record {
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	uint64_t seq;
	char prev[RECORD_HASH_HEX + 1];
	unsigned char prev_hash[RECORD_HASH_LEN]; /* prev, decoded */
	char type[RECORD_TYPE_MAX];
	unsigned char hash[RECORD_HASH_LEN]; /* of the line's bytes */
	const char *line; /* the caller's bytes, no newline */
	size_t len;
	json_t *json; /* the parsed line; owned */
};

/*
 * record_parse: check one line (without its newline) and fill `rec`.
 * The line must be valid UTF-8 JSON, an object, at most RECORD_MAX_LEN
 * bytes, with `probe` and `chain` (32 lower-case hex), `seq` (an integer
 * from 1 to 2^53), `prev` (64 lower-case hex; 64 zeros when seq is 1) and
 * `type` (a short string); and the measurement keys the collector
 * reads or exports (time, name, addr, port, af, ok, rtt_ms and the other
 * durations, rcode, soa_serial, sizes, counts, status, query, lost,
 * identity, ...), when present, must be of the type and, numbers, in the
 * range doc/results.md gives them ("time" a UTC time; durations 0 to
 * RECORD_MS_MAX; counts and bytes 0 to RECORD_COUNT_MAX).  The reason
 * names the key: "\"rtt_ms\" is 1e+308, out of its range 0 to 86400000".
 * rec->line points into `line`, which must
 * outlive the record.  Returns 0, or -1 with a reason in `err`.  Free
 * with record_clear() either way.
 */
int record_parse(const char *line, size_t len, struct record *rec, char *err,
    size_t errlen);

/* record_clear: free what record_parse allocated. */
void record_clear(struct record *rec);

/* record_hash: SHA-256 of `len` bytes at `line` into `hash`. */
void record_hash(const void *line, size_t len,
    unsigned char hash[RECORD_HASH_LEN]);

/* record_is_hex: whether `s` is exactly `len` lower-case hex digits (the
 * form of ids and hashes on the wire and in the spool). */
bool record_is_hex(const char *s, size_t len);

/* record_hex: `len` bytes as lower-case hex into `out` (2*len+1 bytes). */
void record_hex(const unsigned char *bin, size_t len, char *out);

/* record_probe_id: the probe id of an Ed25519 public key: hex of the
 * first 16 bytes of SHA-256 of the key. */
void record_probe_id(const unsigned char pk[RECORD_PUBKEY_LEN],
    char id[RECORD_ID_HEX + 1]);

/* record_pubkey_parse: a public key written as 64 hex digits or as
 * base64 (44 characters) into `pk`.  Returns 0 or -1. */
int record_pubkey_parse(const char *text, unsigned char pk[RECORD_PUBKEY_LEN]);

/* batch_sig_message: the bytes a batch signature covers:
 * "corewatch-batch-v1\n" <probe> "\n" <hex SHA-256 of body> "\n".
 * `out` must hold BATCH_SIG_MSG_LEN bytes; returns the length. */
#define BATCH_SIG_MSG_LEN \
	(sizeof(BATCH_SIG_CONTEXT) - 1 + RECORD_ID_HEX + 1 + RECORD_HASH_HEX + \
	    1)
size_t batch_sig_message(const char *probe, const void *body, size_t len,
    unsigned char out[BATCH_SIG_MSG_LEN]);

/* batch_sign: the base64 signature of an uncompressed batch body with
 * the probe's secret key (libsodium's 64-byte form) into `sig`. */
void batch_sign(const unsigned char sk[64], const char *probe, const void *body,
    size_t len, char sig[RECORD_SIG_B64 + 1]);

/* batch_verify: whether `sig` (base64) signs `body` for `probe` under
 * `pk`.  Returns true only for a good signature. */
bool batch_verify(const unsigned char pk[RECORD_PUBKEY_LEN], const char *probe,
    const void *body, size_t len, const char *sig);

/* batch_sig_decode: a batch signature in base64 (the Authorization
 * header's sig=) into its RECORD_SIG_LEN bytes.  Returns 0, or -1 when
 * it is not exactly that. */
int batch_sig_decode(const char *sig, unsigned char out[RECORD_SIG_LEN]);

/* batch_verify_digest: batch_verify() of a body whose SHA-256 is
 * `digest`, for a body hashed piece by piece as it inflates. */
bool batch_verify_digest(const unsigned char pk[RECORD_PUBKEY_LEN],
    const char *probe, const unsigned char digest[RECORD_HASH_LEN],
    const char *sig);

/*
 * batch_auth_parse: the Authorization header of a batch,
 * "CW1-Ed25519 probe=<id>,sig=<base64>", into `probe` and `sig`.
 * Returns 0, or -1 with a reason in `err`.
 */
int batch_auth_parse(const char *header, char probe[RECORD_ID_HEX + 1],
    char sig[RECORD_SIG_B64 + 1], char *err, size_t errlen);

#endif /* CW_RECORD_H */
