/*
 * receipt.h -- the signed receipt (doc/evidence.md, "The signed
 * receipt"): the note a collector with a log key puts in every receipt
 * as its `signed` member, and what the probe checks of it.
 *
 * The note's text is nine lines: "corewatch-receipt-v1", the log's
 * origin, the probe id, the chain, acked_seq, the hex SHA-256 of the
 * record the log holds at acked_seq, log_index ("-": in no leaf),
 * log_size and received_at; it is signed with the log key as a
 * checkpoint is (note.h).  Its first line can never be a checkpoint's
 * size, so one key signs both without either being taken for the other.
 *
 * Everything here parses hostile input (a receipt comes from the
 * network, a receipts file from a disk anyone may have edited):
 * nothing is believed before it is checked in full.
 */
#ifndef CW_RECEIPT_H
#define CW_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cwtime.h"
#include "note.h"
#include "record.h"

#define RECEIPT_NOTE_FIRST "corewatch-receipt-v1"
/* The text's longest: nine lines of their longest. */
#define RECEIPT_TEXT_MAX \
	(sizeof(RECEIPT_NOTE_FIRST) + NOTE_NAME_MAX + 2 * RECORD_ID_HEX + \
	    RECORD_HASH_HEX + 3 * 20 + CW_TIME_STRLEN + 16)

/* What a receipt says: the note's text, or the receipt's members. */
struct receipt_note {
	char origin[NOTE_NAME_MAX + 1]; /* "" for the members */
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	uint64_t acked_seq;
	unsigned char record_hash[RECORD_HASH_LEN]; /* zeros for the
						     * members */
	long long log_index;                        /* -1: in no leaf */
	uint64_t log_size;
	char received_at[CW_TIME_STRLEN]; /* as cw_time_format writes it */
};

/*
 * receipt_note_text: the note's text of `r` into `out` of `size` bytes,
 * NUL-terminated.  Returns its length, or -1 when it does not fit or a
 * field cannot be written as the text needs it (an origin that is not a
 * key name, an id that is not 32 lower-case hex digits, a time that is
 * not cw_time_format's).
 */
int receipt_note_text(const struct receipt_note *r, char *out, size_t size);

/*
 * receipt_note_parse: the text of a receipt note (note_open's
 * `text_len` bytes) into `r`: exactly the nine lines, each in its one
 * form (decimals without leading zeros, ids and the hash in lower-case
 * hex, the time as cw_time_format writes it).  Returns 0 or
 * NOTE_MALFORMED.
 */
int receipt_note_parse(const char *text, size_t len, struct receipt_note *r);

/*
 * receipt_members: the members of the receipt object `obj` (probe,
 * chain, acked_seq, log_index or null, log_size, received_at) into `r`,
 * for a reader who does not check signatures.  Returns 0, or -1 with
 * the reason in `why` ("\"log_size\" is not a count").
 */
int receipt_members(const json_t *obj, struct receipt_note *r, char *why,
    size_t len);

/*
 * receipt_check: the receipt object `obj` as a signed receipt of `key`:
 * its members (receipt_members), a `signed` note with a signature of
 * `key` that verifies, a text of the nine lines whose origin is the
 * key's name, and every member the same as the text says.  `r` gets
 * the text's fields.  Returns 0, or -1 with the reason in `why`.
 */
int receipt_check(const json_t *obj, const struct note_key *key,
    struct receipt_note *r, char *why, size_t len);

#endif /* CW_RECEIPT_H */
