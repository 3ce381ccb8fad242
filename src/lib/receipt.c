/*
 * receipt.c -- the signed receipt's note (receipt.h).
 */
#include "config.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "receipt.h"

#define RECEIPT_LINES   9
#define RECEIPT_SEQ_MAX (UINT64_C(1) << 53) /* a record's seq */

/* `len` bytes of `s` as a decimal in its one form (no sign, no leading
 * zero) of at most `max`.  0, or -1. */
static int
receipt_decimal(const char *s, size_t len, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (len == 0 || len > 19 || (s[0] == '0' && len > 1))
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

/* A time as cw_time_format writes it, and nothing else: a reader
 * compares the text's with the receipt's byte for byte. */
static bool
receipt_time(const char *s)
{
	char again[CW_TIME_STRLEN];
	cw_usec_t t;

	return cw_time_parse(s, &t) == 0 && t > 0 &&
	    strcmp(cw_time_format(t, again, sizeof(again)), s) == 0;
}

int
receipt_note_text(const struct receipt_note *r, char *out, size_t size)
{
	char hex[RECORD_HASH_HEX + 1], idx[24];
	struct note_key probe_name;
	static const unsigned char zero[NOTE_PUBKEY_LEN];
	int n;

	/* The origin must be a key's name: note_key_make checks it. */
	if (note_key_make(&probe_name, r->origin, zero) != 0 ||
	    !record_is_hex(r->probe, RECORD_ID_HEX) ||
	    !record_is_hex(r->chain, RECORD_ID_HEX) || r->log_index < -1 ||
	    !receipt_time(r->received_at))
		return -1;
	sodium_bin2hex(hex, sizeof(hex), r->record_hash, RECORD_HASH_LEN);
	if (r->log_index < 0)
		snprintf(idx, sizeof(idx), "-");
	else
		snprintf(idx, sizeof(idx), "%lld", r->log_index);
	n = snprintf(out, size,
	    RECEIPT_NOTE_FIRST "\n%s\n%s\n%s\n%" PRIu64 "\n%s\n%s\n%" PRIu64
	                       "\n%s\n",
	    r->origin, r->probe, r->chain, r->acked_seq, hex, idx, r->log_size,
	    r->received_at);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

/* One line of the text (`len` bytes at `s`, NUL-terminated), checked
 * into `r`. */
static int
receipt_line(int i, const char *s, size_t len, struct receipt_note *r)
{
	uint64_t v;

	switch (i) {
	case 0:
		return len == strlen(RECEIPT_NOTE_FIRST) &&
		        memcmp(s, RECEIPT_NOTE_FIRST, len) == 0 ?
		    0 :
		    -1;
	case 1:
		if (len == 0 || len > NOTE_NAME_MAX)
			return -1;
		memcpy(r->origin, s, len);
		r->origin[len] = '\0';
		return 0;
	case 2:
	case 3:
		if (!record_is_hex(s, RECORD_ID_HEX))
			return -1;
		memcpy(i == 2 ? r->probe : r->chain, s, len);
		(i == 2 ? r->probe : r->chain)[len] = '\0';
		return 0;
	case 4:
		return receipt_decimal(s, len, RECEIPT_SEQ_MAX,
		           &r->acked_seq) == 0 &&
		        r->acked_seq > 0 ?
		    0 :
		    -1;
	case 5:
		return record_is_hex(s, RECORD_HASH_HEX) &&
		        sodium_hex2bin(r->record_hash, RECORD_HASH_LEN, s, len,
		            NULL, NULL, NULL) == 0 ?
		    0 :
		    -1;
	case 6:
		if (len == 1 && s[0] == '-') {
			r->log_index = -1;
			return 0;
		}
		if (receipt_decimal(s, len, INT64_MAX, &v) == -1)
			return -1;
		r->log_index = (long long)v;
		return 0;
	case 7:
		return receipt_decimal(s, len, INT64_MAX, &r->log_size);
	default:
		if (len >= sizeof(r->received_at))
			return -1;
		memcpy(r->received_at, s, len);
		r->received_at[len] = '\0';
		return receipt_time(r->received_at) ? 0 : -1;
	}
}

int
receipt_note_parse(const char *text, size_t len, struct receipt_note *r)
{
	struct note_key name;
	static const unsigned char zero[NOTE_PUBKEY_LEN];
	const char *p = text, *end = text + len, *nl;
	char line[NOTE_NAME_MAX + 1]; /* the longest line is an origin */
	size_t n;
	int i;

	memset(r, 0, sizeof(*r));
	for (i = 0; p < end; i++) {
		if (i == RECEIPT_LINES ||
		    (nl = memchr(p, '\n', (size_t)(end - p))) == NULL ||
		    (n = (size_t)(nl - p)) >= sizeof(line))
			goto bad;
		memcpy(line, p, n);
		line[n] = '\0';
		if (strlen(line) != n || receipt_line(i, line, n, r) == -1)
			goto bad;
		p = nl + 1;
	}
	/* The origin is the signing key's name: the same rules. */
	if (i != RECEIPT_LINES || note_key_make(&name, r->origin, zero) != 0 ||
	    (r->log_index >= 0 && (uint64_t)r->log_index >= r->log_size))
		goto bad;
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	return NOTE_MALFORMED;
}

/* A member of `obj` that is an integer from `min` to `max`. */
static int
receipt_int(const json_t *obj, const char *name, long long min, long long max,
    long long *out, char *why, size_t len)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		snprintf(why, len, "\"%s\" is not a count from %lld to %lld",
		    name, min, max);
		return -1;
	}
	*out = json_integer_value(v);
	return 0;
}

/* A member of `obj` that is an id: 32 lower-case hex digits. */
static int
receipt_id(const json_t *obj, const char *name, char out[RECORD_ID_HEX + 1],
    char *why, size_t len)
{
	const json_t *v = json_object_get(obj, name);

	if (!json_is_string(v) ||
	    !record_is_hex(json_string_value(v), RECORD_ID_HEX)) {
		snprintf(why, len, "\"%s\" is not 32 lower-case hex digits",
		    name);
		return -1;
	}
	memcpy(out, json_string_value(v), RECORD_ID_HEX + 1);
	return 0;
}

int
receipt_members(const json_t *obj, struct receipt_note *r, char *why,
    size_t len)
{
	const json_t *at, *idx;
	long long seq, size;

	memset(r, 0, sizeof(*r));
	r->log_index = -1;
	if (!json_is_object(obj)) {
		snprintf(why, len, "not a JSON object");
		return -1;
	}
	if (receipt_id(obj, "probe", r->probe, why, len) == -1 ||
	    receipt_id(obj, "chain", r->chain, why, len) == -1 ||
	    receipt_int(obj, "acked_seq", 1, (long long)RECEIPT_SEQ_MAX, &seq,
	        why, len) == -1 ||
	    receipt_int(obj, "log_size", 0, INT64_MAX, &size, why, len) == -1)
		return -1;
	r->acked_seq = (uint64_t)seq;
	r->log_size = (uint64_t)size;
	idx = json_object_get(obj, "log_index");
	if (!json_is_null(idx) &&
	    receipt_int(obj, "log_index", 0, INT64_MAX, &r->log_index, why,
	        len) == -1)
		return -1;
	at = json_object_get(obj, "received_at");
	if (!json_is_string(at) ||
	    json_string_length(at) >= sizeof(r->received_at) ||
	    !receipt_time(json_string_value(at))) {
		snprintf(why, len, "\"received_at\" is not a UTC time");
		return -1;
	}
	snprintf(r->received_at, sizeof(r->received_at), "%s",
	    json_string_value(at));
	return 0;
}

/* The first member where the text and the members differ, or NULL. */
static const char *
receipt_differs(const struct receipt_note *text, const struct receipt_note *m)
{
	if (strcmp(text->probe, m->probe) != 0)
		return "probe";
	if (strcmp(text->chain, m->chain) != 0)
		return "chain";
	if (text->acked_seq != m->acked_seq)
		return "acked_seq";
	if (text->log_index != m->log_index)
		return "log_index";
	if (text->log_size != m->log_size)
		return "log_size";
	if (strcmp(text->received_at, m->received_at) != 0)
		return "received_at";
	return NULL;
}

int
receipt_check(const json_t *obj, const struct note_key *key,
    struct receipt_note *r, char *why, size_t len)
{
	struct receipt_note m;
	const json_t *note;
	const char *differs;
	size_t text_len;
	int err;

	if (receipt_members(obj, &m, why, len) == -1)
		return -1;
	note = json_object_get(obj, "signed");
	if (!json_is_string(note)) {
		snprintf(why, len, "no \"signed\" note");
		return -1;
	}
	if ((err = note_open(json_string_value(note), json_string_length(note),
	         key, &text_len)) != NOTE_OK) {
		snprintf(why, len, "the note: %s", note_error_name(err));
		return -1;
	}
	if (receipt_note_parse(json_string_value(note), text_len, r) != 0) {
		snprintf(why, len,
		    "the note is not a receipt's (" RECEIPT_NOTE_FIRST ")");
		return -1;
	}
	if (strcmp(r->origin, key->name) != 0) {
		snprintf(why, len, "the note's origin is not the key's name");
		return -1;
	}
	if ((differs = receipt_differs(r, &m)) != NULL) {
		snprintf(why, len, "\"%s\" is not what the note says", differs);
		return -1;
	}
	return 0;
}
