/*
 * record.c -- record envelopes, hashes, probe ids and batch signatures.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cwtime.h"
#include "record.h"
#include "sha256.h"

bool
record_is_hex(const char *s, size_t len)
{
	if (strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Copy the string member `key` of `obj` when it is hex of `hexlen`. */
static int
record_get_hex(json_t *obj, const char *key, char *out, size_t hexlen,
    char *err, size_t errlen)
{
	const char *s = json_string_value(json_object_get(obj, key));

	if (s == NULL) {
		snprintf(err, errlen, "\"%s\" missing or not a string", key);
		return -1;
	}
	if (!record_is_hex(s, hexlen)) {
		snprintf(err, errlen, "\"%s\" is not %zu lower-case hex digits",
		    key, hexlen);
		return -1;
	}
	memcpy(out, s, hexlen + 1);
	return 0;
}

/* The measurement keys the collector reads (into columns, exports,
 * summaries, gaps) or that doc/results.md gives a range: when present
 * they must have that type and, numbers, lie in that range.  "a.b" is
 * member b of object a. */
static const struct record_key {
	const char *key;
	json_type type; /* JSON_REAL: any number */
	bool null_ok;
	double min, max; /* numbers only */
} record_keys[] = {
	{ "time", JSON_STRING, false, 0, 0 },
	{ "name", JSON_STRING, false, 0, 0 },
	{ "server", JSON_STRING, false, 0, 0 },
	{ "addr", JSON_STRING, true, 0, 0 }, /* http: null when unresolved */
	{ "port", JSON_INTEGER, false, 1, 65535 },
	{ "af", JSON_INTEGER, false, 4, 6 }, /* and not 5 */
	{ "proto", JSON_STRING, false, 0, 0 },
	{ "ok", JSON_TRUE, false, 0, 0 }, /* a boolean */
	{ "failure", JSON_STRING, true, 0, 0 },
	{ "rtt_ms", JSON_REAL, true, 0, RECORD_MS_MAX },
	{ "connect_ms", JSON_REAL, true, 0, RECORD_MS_MAX },
	{ "dns_ms", JSON_REAL, true, 0, RECORD_MS_MAX },      /* http */
	{ "tls_ms", JSON_REAL, true, 0, RECORD_MS_MAX },      /* http */
	{ "ttfb_ms", JSON_REAL, true, 0, RECORD_MS_MAX },     /* http */
	{ "total_ms", JSON_REAL, true, 0, RECORD_MS_MAX },    /* http */
	{ "duration_ms", JSON_REAL, true, 0, RECORD_MS_MAX }, /* tld */
	{ "host", JSON_STRING, false, 0, 0 },                 /* http */
	{ "url", JSON_STRING, false, 0, 0 },                  /* http */
	{ "status", JSON_INTEGER, true, 0, 999 },             /* http */
	{ "proxy_status", JSON_INTEGER, false, 0, 999 },      /* http */
	{ "header_bytes", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "body_bytes", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "redirects", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "attempts", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "rejected", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "ip_ttl", JSON_INTEGER, true, 0, 255 },
	{ "size", JSON_INTEGER, false, 0, 65535 },
	{ "counts.qd", JSON_INTEGER, false, 0, 65535 },
	{ "counts.an", JSON_INTEGER, false, 0, 65535 },
	{ "counts.ns", JSON_INTEGER, false, 0, 65535 },
	{ "counts.ar", JSON_INTEGER, false, 0, 65535 },
	{ "truncated_reply.id", JSON_INTEGER, false, 0, 65535 },
	{ "truncated_reply.rtt_ms", JSON_REAL, true, 0, RECORD_MS_MAX },
	{ "truncated_reply.size", JSON_INTEGER, false, 0, 65535 },
	{ "late_replies.count", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "rcode", JSON_STRING, false, 0, 0 },
	{ "soa_serial", JSON_INTEGER, false, 0, 4294967295.0 },
	{ "nsid", JSON_STRING, false, 0, 0 },
	{ "abuf", JSON_STRING, false, 0, 0 },
	{ "query", JSON_OBJECT, false, 0, 0 },
	{ "query.id", JSON_INTEGER, false, 0, 65535 },
	{ "query.edns_size", JSON_INTEGER, false, 0, 65535 },
	{ "root_tries", JSON_INTEGER, false, 0, RECORD_COUNT_MAX }, /* tld */
	{ "addresses", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "glue", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "fallback", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "fallback_queries", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "fallback_failed", JSON_INTEGER, false, 0, RECORD_COUNT_MAX },
	{ "lost", JSON_OBJECT, false, 0, 0 },
	{ "lost.first_seq", JSON_INTEGER, false, 1, RECORD_COUNT_MAX },
	{ "lost.last_seq", JSON_INTEGER, false, 1, RECORD_COUNT_MAX },
	{ "lost.count", JSON_INTEGER, false, 1, RECORD_COUNT_MAX },
	{ "identity", JSON_OBJECT, false, 0, 0 },
	{ "identity.asn", JSON_INTEGER, false, 0, 4294967295.0 },
};

/* record_member: the member `key` ("a" or "a.b") of `obj`, or NULL. */
static json_t *
record_member(json_t *obj, const char *key)
{
	const char *dot = strchr(key, '.');
	char outer[32];

	if (dot == NULL)
		return json_object_get(obj, key);
	if ((size_t)(dot - key) >= sizeof(outer))
		return NULL;
	memcpy(outer, key, (size_t)(dot - key));
	outer[dot - key] = '\0';
	return json_object_get(json_object_get(obj, outer), dot + 1);
}

/* record_type_ok: whether `v` is of type `t` (JSON_TRUE: a boolean;
 * JSON_REAL: a number). */
static bool
record_type_ok(const json_t *v, json_type t, bool null_ok)
{
	if (json_is_null(v))
		return null_ok;
	if (t == JSON_TRUE)
		return json_is_boolean(v);
	if (t == JSON_REAL)
		return json_is_number(v);
	return json_typeof(v) == t;
}

/* record_range_ok: whether the number `v` lies within k's range (every
 * double jansson parses is finite; an integer is compared exactly). */
static bool
record_range_ok(const json_t *v, const struct record_key *k)
{
	json_int_t i;

	if (!json_is_number(v))
		return true;
	if (!json_is_integer(v))
		return json_real_value(v) >= k->min &&
		    json_real_value(v) <= k->max;
	i = json_integer_value(v);
	if (strcmp(k->key, "af") == 0 && i == 5)
		return false;
	return i >= (json_int_t)k->min && i <= (json_int_t)k->max;
}

/* record_range_say: why `v` is out of k's range, into err. */
static void
record_range_say(const json_t *v, const struct record_key *k, char *err,
    size_t errlen)
{
	char value[32];

	if (json_is_integer(v))
		snprintf(value, sizeof(value), "%" JSON_INTEGER_FORMAT,
		    json_integer_value(v));
	else
		snprintf(value, sizeof(value), "%g", json_real_value(v));
	if (strcmp(k->key, "af") == 0)
		snprintf(err, errlen, "\"af\" is %s, not 4 or 6", value);
	else
		snprintf(err, errlen,
		    "\"%s\" is %s, out of its range %.0f "
		    "to %.0f",
		    k->key, value, k->min, k->max);
}

/* record_check_keys: the types and ranges of record_keys; 0, or -1
 * with the key and the reason in err. */
static int
record_check_keys(const struct record *r, char *err, size_t errlen)
{
	static const char *const names[] = {
		[JSON_OBJECT] = "an object",
		[JSON_STRING] = "a string",
		[JSON_INTEGER] = "an integer",
		[JSON_REAL] = "a number",
		[JSON_TRUE] = "true or false",
	};
	const struct record_key *k;
	const char *t;
	cw_usec_t when;

	for (k = record_keys;
	     k < record_keys + sizeof(record_keys) / sizeof(record_keys[0]);
	     k++) {
		json_t *v = record_member(r->json, k->key);
		if (v == NULL)
			continue;
		if (!record_type_ok(v, k->type, k->null_ok)) {
			snprintf(err, errlen, "\"%s\" must be %s%s", k->key,
			    names[k->type], k->null_ok ? " or null" : "");
			return -1;
		}
		if (!record_range_ok(v, k)) {
			record_range_say(v, k, err, errlen);
			return -1;
		}
	}
	if ((t = json_string_value(json_object_get(r->json, "time"))) != NULL &&
	    cw_time_parse(t, &when) == -1) {
		snprintf(err, errlen,
		    "\"time\" is not a UTC time "
		    "(2026-11-26T10:00:00.000000Z)");
		return -1;
	}
	return 0;
}

int
record_parse(const char *line, size_t len, struct record *rec, char *err,
    size_t errlen)
{
	static const char zeros[RECORD_HASH_HEX + 1] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	json_error_t jerr;
	json_t *seq, *type;
	json_int_t n;

	memset(rec, 0, sizeof(*rec));
	rec->line = line;
	rec->len = len;
	if (len > RECORD_MAX_LEN) {
		snprintf(err, errlen,
		    "record of %zu bytes, over the limit of "
		    "%d",
		    len, RECORD_MAX_LEN);
		return -1;
	}
	if (memchr(line, '\n', len) != NULL) {
		snprintf(err, errlen, "newline inside a record");
		return -1;
	}
	/* jansson checks UTF-8 and rejects NUL bytes inside strings. */
	rec->json = json_loadb(line, len, JSON_REJECT_DUPLICATES, &jerr);
	if (rec->json == NULL) {
		snprintf(err, errlen, "not JSON: %s (column %d)", jerr.text,
		    jerr.column);
		return -1;
	}
	if (!json_is_object(rec->json)) {
		snprintf(err, errlen, "not a JSON object");
		return -1;
	}
	if (record_get_hex(rec->json, "probe", rec->probe, RECORD_ID_HEX, err,
	        errlen) == -1 ||
	    record_get_hex(rec->json, "chain", rec->chain, RECORD_ID_HEX, err,
	        errlen) == -1 ||
	    record_get_hex(rec->json, "prev", rec->prev, RECORD_HASH_HEX, err,
	        errlen) == -1)
		return -1;
	seq = json_object_get(rec->json, "seq");
	if (!json_is_integer(seq) || (n = json_integer_value(seq)) < 1 ||
	    n > (json_int_t)1 << 53) {
		snprintf(err, errlen,
		    "\"seq\" missing or not an integer from 1 "
		    "to 2^53");
		return -1;
	}
	rec->seq = (uint64_t)n;
	/* Checked as lower-case hex of the right length above. */
	sodium_hex2bin(rec->prev_hash, sizeof(rec->prev_hash), rec->prev,
	    RECORD_HASH_HEX, NULL, NULL, NULL);
	if ((n == 1) != (strcmp(rec->prev, zeros) == 0)) {
		snprintf(err, errlen,
		    n == 1 ? "seq 1 with a \"prev\" that is "
		             "not all zeros" :
		             "\"prev\" all zeros after seq 1");
		return -1;
	}
	type = json_object_get(rec->json, "type");
	if (!json_is_string(type) || json_string_length(type) == 0 ||
	    json_string_length(type) >= RECORD_TYPE_MAX) {
		snprintf(err, errlen, "\"type\" missing or not a short string");
		return -1;
	}
	memcpy(rec->type, json_string_value(type),
	    json_string_length(type) + 1);
	if (strlen(rec->type) != json_string_length(type)) {
		snprintf(err, errlen, "\"type\" holds a NUL byte");
		return -1;
	}
	if (record_check_keys(rec, err, errlen) == -1)
		return -1;
	record_hash(line, len, rec->hash);
	return 0;
}

void
record_clear(struct record *rec)
{
	json_decref(rec->json);
	rec->json = NULL;
}

void
record_hash(const void *line, size_t len, unsigned char hash[RECORD_HASH_LEN])
{
	cw_sha256(line, len, hash);
}

void
record_hex(const unsigned char *bin, size_t len, char *out)
{
	sodium_bin2hex(out, len * 2 + 1, bin, len);
}

void
record_probe_id(const unsigned char pk[RECORD_PUBKEY_LEN],
    char id[RECORD_ID_HEX + 1])
{
	unsigned char h[RECORD_HASH_LEN];

	crypto_hash_sha256(h, pk, RECORD_PUBKEY_LEN);
	record_hex(h, RECORD_ID_HEX / 2, id);
}

int
record_pubkey_parse(const char *text, unsigned char pk[RECORD_PUBKEY_LEN])
{
	size_t len = strlen(text), got = 0;
	const char *end = NULL;

	if (len == RECORD_PUBKEY_LEN * 2)
		return sodium_hex2bin(pk, RECORD_PUBKEY_LEN, text, len, NULL,
		           &got, &end) == 0 &&
		        got == RECORD_PUBKEY_LEN && *end == '\0' ?
		    0 :
		    -1;
	if (len == 44)
		return sodium_base642bin(pk, RECORD_PUBKEY_LEN, text, len, NULL,
		           &got, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
		        got == RECORD_PUBKEY_LEN && *end == '\0' ?
		    0 :
		    -1;
	return -1;
}

/* batch_sig_digest_message: batch_sig_message() from the body's
 * SHA-256. */
static size_t
batch_sig_digest_message(const char *probe,
    const unsigned char digest[RECORD_HASH_LEN],
    unsigned char out[BATCH_SIG_MSG_LEN])
{
	char hex[RECORD_HASH_HEX + 1];
	size_t n = sizeof(BATCH_SIG_CONTEXT) - 1;

	record_hex(digest, RECORD_HASH_LEN, hex);
	memcpy(out, BATCH_SIG_CONTEXT, n);
	memcpy(out + n, probe, RECORD_ID_HEX);
	n += RECORD_ID_HEX;
	out[n++] = '\n';
	memcpy(out + n, hex, RECORD_HASH_HEX);
	n += RECORD_HASH_HEX;
	out[n++] = '\n';
	return n;
}

size_t
batch_sig_message(const char *probe, const void *body, size_t len,
    unsigned char out[BATCH_SIG_MSG_LEN])
{
	unsigned char h[RECORD_HASH_LEN];

	cw_sha256(body, len, h);
	return batch_sig_digest_message(probe, h, out);
}

void
batch_sign(const unsigned char sk[64], const char *probe, const void *body,
    size_t len, char sig[RECORD_SIG_B64 + 1])
{
	unsigned char msg[BATCH_SIG_MSG_LEN], s[RECORD_SIG_LEN];
	size_t n = batch_sig_message(probe, body, len, msg);

	crypto_sign_detached(s, NULL, msg, n, sk);
	sodium_bin2base64(sig, RECORD_SIG_B64 + 1, s, sizeof(s),
	    sodium_base64_VARIANT_ORIGINAL);
}

int
batch_sig_decode(const char *sig, unsigned char out[RECORD_SIG_LEN])
{
	size_t got = 0;
	const char *end = NULL;

	return sodium_base642bin(out, RECORD_SIG_LEN, sig, strlen(sig), NULL,
	           &got, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
	        got == RECORD_SIG_LEN && *end == '\0' ?
	    0 :
	    -1;
}

bool
batch_verify_digest(const unsigned char pk[RECORD_PUBKEY_LEN],
    const char *probe, const unsigned char digest[RECORD_HASH_LEN],
    const char *sig)
{
	unsigned char msg[BATCH_SIG_MSG_LEN], s[RECORD_SIG_LEN];
	size_t n;

	if (strlen(probe) != RECORD_ID_HEX || batch_sig_decode(sig, s) == -1)
		return false;
	n = batch_sig_digest_message(probe, digest, msg);
	return crypto_sign_verify_detached(s, msg, n, pk) == 0;
}

bool
batch_verify(const unsigned char pk[RECORD_PUBKEY_LEN], const char *probe,
    const void *body, size_t len, const char *sig)
{
	unsigned char h[RECORD_HASH_LEN];

	cw_sha256(body, len, h);
	return batch_verify_digest(pk, probe, h, sig);
}

int
batch_auth_parse(const char *header, char probe[RECORD_ID_HEX + 1],
    char sig[RECORD_SIG_B64 + 1], char *err, size_t errlen)
{
	const char *p = header, *comma;
	size_t len;

	if (header == NULL) {
		snprintf(err, errlen, "no Authorization header");
		return -1;
	}
	len = strlen(BATCH_AUTH_SCHEME);
	if (strncmp(p, BATCH_AUTH_SCHEME, len) != 0 || p[len] != ' ') {
		snprintf(err, errlen,
		    "Authorization is not \"%s probe=...,"
		    "sig=...\"",
		    BATCH_AUTH_SCHEME);
		return -1;
	}
	p += len + 1;
	if (strncmp(p, "probe=", 6) != 0 || (comma = strchr(p, ',')) == NULL ||
	    (size_t)(comma - p - 6) != RECORD_ID_HEX) {
		snprintf(err, errlen, "Authorization: no probe=<32 hex> first");
		return -1;
	}
	memcpy(probe, p + 6, RECORD_ID_HEX);
	probe[RECORD_ID_HEX] = '\0';
	if (!record_is_hex(probe, RECORD_ID_HEX)) {
		snprintf(err, errlen,
		    "Authorization: probe is not 32 "
		    "lower-case hex digits");
		return -1;
	}
	p = comma + 1;
	if (strncmp(p, "sig=", 4) != 0 || strlen(p + 4) != RECORD_SIG_B64) {
		snprintf(err, errlen,
		    "Authorization: no sig=<base64 of 64 "
		    "bytes> after the probe");
		return -1;
	}
	memcpy(sig, p + 4, RECORD_SIG_B64 + 1);
	return 0;
}
