/*
 * note.c -- C2SP signed notes with Ed25519 signatures, and checkpoints
 * (note.h).
 */
#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "note.h"

#define NOTE_SIG_TYPE_ED25519 0x01
#define NOTE_SIG_LEN          (4 + crypto_sign_BYTES)
/* "— ": the em dash U+2014 in UTF-8, and a space. */
#define NOTE_SIG_PREFIX     "\xe2\x80\x94 "
#define NOTE_SIG_PREFIX_LEN 4

const char *
note_error_name(int err)
{
	switch (err) {
	case NOTE_OK:
		return "ok";
	case NOTE_MALFORMED:
		return "malformed";
	case NOTE_UNKNOWN_KEY:
		return "unknown_key";
	case NOTE_BAD_SIGNATURE:
		return "bad_signature";
	case NOTE_NOMEM:
		return "out_of_memory";
	default:
		return "unknown_error";
	}
}

/*
 * The code point of the UTF-8 sequence at s (at most `left` bytes) into
 * `*cp`, and its length; 0 for a sequence that is not UTF-8 (cut short,
 * overlong, a surrogate, beyond U+10FFFF).
 */
static size_t
note_utf8_next(const unsigned char *s, size_t left, uint32_t *cp)
{
	static const uint32_t least[] = { 0, 0, 0x80, 0x800, 0x10000 };
	size_t n;
	uint32_t c;

	if (s[0] < 0x80) {
		*cp = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		c = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		c = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		c = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n > left)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3f);
	}
	if (c < least[n] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
		return 0;
	*cp = c;
	return n;
}

/* Whether the code point is a Unicode space (White_Space, as key names
 * must not hold), the ASCII ones included. */
static bool
note_is_space(uint32_t c)
{
	return c == 0x20 || (c >= 0x09 && c <= 0x0d) || c == 0x85 ||
	    c == 0xa0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200a) ||
	    c == 0x2028 || c == 0x2029 || c == 0x202f || c == 0x205f ||
	    c == 0x3000;
}

/* Whether `len` bytes at `s` are UTF-8 with no control character
 * (below U+0020, or DEL) but newlines; and, for a key name, no newline,
 * space or plus either. */
static bool
note_text_valid(const char *s, size_t len, bool name)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;
	uint32_t c;

	while (i < len) {
		if ((n = note_utf8_next(p + i, len - i, &c)) == 0)
			return false;
		if ((c < 0x20 && c != '\n') || c == 0x7f)
			return false;
		if (name && (c == '\n' || c == '+' || note_is_space(c)))
			return false;
		i += n;
	}
	return true;
}

static bool
note_name_valid(const char *name, size_t len)
{
	return len > 0 && len <= NOTE_NAME_MAX &&
	    note_text_valid(name, len, true);
}

int
note_key_make(struct note_key *key, const char *name,
    const unsigned char pub[NOTE_PUBKEY_LEN])
{
	crypto_hash_sha256_state st;
	unsigned char type = NOTE_SIG_TYPE_ED25519, h[crypto_hash_sha256_BYTES];
	size_t len = strlen(name);

	if (!note_name_valid(name, len))
		return NOTE_MALFORMED;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, (const unsigned char *)name, len);
	crypto_hash_sha256_update(&st, (const unsigned char *)"\n", 1);
	crypto_hash_sha256_update(&st, &type, 1);
	crypto_hash_sha256_update(&st, pub, NOTE_PUBKEY_LEN);
	crypto_hash_sha256_final(&st, h);
	memcpy(key->name, name, len + 1);
	key->id = (uint32_t)h[0] << 24 | (uint32_t)h[1] << 16 |
	    (uint32_t)h[2] << 8 | h[3];
	memcpy(key->pub, pub, NOTE_PUBKEY_LEN);
	return 0;
}

int
note_vkey_format(const struct note_key *key, char *out, size_t size)
{
	unsigned char typed[1 + NOTE_PUBKEY_LEN];
	char b64[sodium_base64_ENCODED_LEN(sizeof(typed),
	    sodium_base64_VARIANT_ORIGINAL)];
	int n;

	typed[0] = NOTE_SIG_TYPE_ED25519;
	memcpy(typed + 1, key->pub, NOTE_PUBKEY_LEN);
	sodium_bin2base64(b64, sizeof(b64), typed, sizeof(typed),
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, size, "%s+%08x+%s", key->name, (unsigned)key->id,
	    b64);
	return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* Decode standard base64 (with its padding) of exactly `len` chars into
 * `out` of `size` bytes; the decoded length, or -1. */
static long
note_base64_decode(const char *b64, size_t len, unsigned char *out, size_t size)
{
	const char *end;
	size_t n;

	if (sodium_base642bin(out, size, b64, len, NULL, &n, &end,
	        sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + len)
		return -1;
	return (long)n;
}

int
note_vkey_parse(const char *text, struct note_key *key)
{
	unsigned char typed[1 + NOTE_PUBKEY_LEN + 1];
	char name[NOTE_NAME_MAX + 1], *end;
	const char *plus1, *plus2;
	struct note_key made;
	unsigned long id;

	/* The name holds no '+' and the key ID is hex: the first two split
	 * the three parts (base64 has '+' of its own). */
	if ((plus1 = strchr(text, '+')) == NULL ||
	    (plus2 = strchr(plus1 + 1, '+')) == NULL)
		return NOTE_MALFORMED;
	if (plus1 == text || (size_t)(plus1 - text) > NOTE_NAME_MAX ||
	    plus2 - plus1 != 9)
		return NOTE_MALFORMED;
	memcpy(name, text, (size_t)(plus1 - text));
	name[plus1 - text] = '\0';
	for (const char *p = plus1 + 1; p < plus2; p++)
		if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f')))
			return NOTE_MALFORMED;
	errno = 0;
	id = strtoul(plus1 + 1, &end, 16);
	if (errno != 0 || end != plus2)
		return NOTE_MALFORMED;
	if (note_base64_decode(plus2 + 1, strlen(plus2 + 1), typed,
	        sizeof(typed)) != 1 + NOTE_PUBKEY_LEN ||
	    typed[0] != NOTE_SIG_TYPE_ED25519)
		return NOTE_MALFORMED;
	if (note_key_make(&made, name, typed + 1) != 0 || made.id != id)
		return NOTE_MALFORMED;
	*key = made;
	return 0;
}

/* Whether `len` bytes of `text` can be a note's text: not empty, valid,
 * ending in a newline and not in an empty line (which would move the
 * split between text and signatures). */
static bool
note_body_valid(const char *text, size_t len)
{
	if (len == 0 || text[len - 1] != '\n' || len > NOTE_MAX_BYTES / 2)
		return false;
	if (len == 1 || text[len - 2] == '\n')
		return false;
	return note_text_valid(text, len, false);
}

char *
note_sign(const char *text, size_t len, const struct note_key *key,
    const unsigned char sk[NOTE_SECKEY_LEN], size_t *out_len, int *err)
{
	unsigned char sig[NOTE_SIG_LEN];
	char b64[sodium_base64_ENCODED_LEN(NOTE_SIG_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t name_len = strlen(key->name), total;
	char *out, *p;

	if (!note_body_valid(text, len) ||
	    !note_name_valid(key->name, name_len) ||
	    memcmp(sk + NOTE_SECKEY_LEN - NOTE_PUBKEY_LEN, key->pub,
	        NOTE_PUBKEY_LEN) != 0) {
		*err = NOTE_MALFORMED;
		return NULL;
	}
	sig[0] = (unsigned char)(key->id >> 24);
	sig[1] = (unsigned char)(key->id >> 16);
	sig[2] = (unsigned char)(key->id >> 8);
	sig[3] = (unsigned char)key->id;
	crypto_sign_detached(sig + 4, NULL, (const unsigned char *)text, len,
	    sk);
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	total = len + 1 + NOTE_SIG_PREFIX_LEN + name_len + 1 + strlen(b64) + 1;
	if ((out = malloc(total + 1)) == NULL) {
		*err = NOTE_NOMEM;
		return NULL;
	}
	p = out;
	memcpy(p, text, len);
	p += len;
	*p++ = '\n';
	memcpy(p, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN);
	p += NOTE_SIG_PREFIX_LEN;
	memcpy(p, key->name, name_len);
	p += name_len;
	*p++ = ' ';
	memcpy(p, b64, strlen(b64));
	p += strlen(b64);
	*p++ = '\n';
	*p = '\0';
	*out_len = total;
	*err = NOTE_OK;
	return out;
}

/* The last "\n\n" in `len` bytes of `s`: the offset of its first
 * newline, or -1. */
static long
note_split(const char *s, size_t len)
{
	for (size_t i = len - 1; i > 0; i--)
		if (s[i] == '\n' && s[i - 1] == '\n')
			return (long)(i - 1);
	return -1;
}

/*
 * One signature line, from `line` to its newline at `eol`: whether it is
 * well formed (0, or NOTE_MALFORMED, NOTE_NOMEM) and, when it is, whether
 * it is by `key` (name and key ID), with its signature into `sig` when it
 * has the length of ours (`*sig_ok`).
 */
static int
note_sig_line(const char *line, const char *eol, const struct note_key *key,
    bool *by_key, bool *sig_ok, unsigned char sig[NOTE_SIG_LEN])
{
	const char *name, *space;
	unsigned char *raw;
	size_t cap, name_len;
	uint32_t id;
	long n;

	if (eol - line < NOTE_SIG_PREFIX_LEN ||
	    memcmp(line, NOTE_SIG_PREFIX, NOTE_SIG_PREFIX_LEN) != 0)
		return NOTE_MALFORMED;
	name = line + NOTE_SIG_PREFIX_LEN;
	if ((space = memchr(name, ' ', (size_t)(eol - name))) == NULL)
		return NOTE_MALFORMED;
	name_len = (size_t)(space - name);
	if (!note_name_valid(name, name_len))
		return NOTE_MALFORMED;
	/* Another algorithm's signature may be of any length. */
	cap = (size_t)(eol - space);
	if ((raw = malloc(cap)) == NULL)
		return NOTE_NOMEM;
	n = note_base64_decode(space + 1, cap - 1, raw, cap);
	if (n < 5) {
		free(raw);
		return NOTE_MALFORMED;
	}
	id = (uint32_t)raw[0] << 24 | (uint32_t)raw[1] << 16 |
	    (uint32_t)raw[2] << 8 | raw[3];
	*by_key = id == key->id && name_len == strlen(key->name) &&
	    memcmp(name, key->name, name_len) == 0;
	*sig_ok = n == NOTE_SIG_LEN;
	if (*by_key && *sig_ok)
		memcpy(sig, raw, NOTE_SIG_LEN);
	free(raw);
	return 0;
}

int
note_open(const char *note, size_t len, const struct note_key *key,
    size_t *text_len)
{
	unsigned char sig[NOTE_SIG_LEN], ignored[NOTE_SIG_LEN];
	bool found = false, found_ok = false, by_key, sig_ok;
	const char *line, *eol, *end = note + len;
	long split;
	int nsigs = 0, rc;

	if (len < 3 || len > NOTE_MAX_BYTES || note[len - 1] != '\n' ||
	    !note_text_valid(note, len, false))
		return NOTE_MALFORMED;
	if ((split = note_split(note, len)) < 0)
		return NOTE_MALFORMED;
	/* Every line is checked; the first by `key` decides, the later
	 * ones by it are ignored (as repeated signatures). */
	for (line = note + split + 2; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (++nsigs > NOTE_MAX_SIGS)
			return NOTE_MALFORMED;
		rc = note_sig_line(line, eol, key, &by_key, &sig_ok,
		    found ? ignored : sig);
		if (rc != 0)
			return rc;
		if (by_key && !found) {
			found = true;
			found_ok = sig_ok;
		}
	}
	if (nsigs == 0)
		return NOTE_MALFORMED;
	if (!found)
		return NOTE_UNKNOWN_KEY;
	if (!found_ok ||
	    crypto_sign_verify_detached(sig + 4, (const unsigned char *)note,
	        (unsigned long long)split + 1, key->pub) != 0)
		return NOTE_BAD_SIGNATURE;
	*text_len = (size_t)split + 1;
	return 0;
}

int
checkpoint_text(const struct checkpoint *cp, char *out, size_t size)
{
	char b64[sodium_base64_ENCODED_LEN(NOTE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	int n;

	if (!note_name_valid(cp->origin, strlen(cp->origin)))
		return -1;
	sodium_bin2base64(b64, sizeof(b64), cp->root, NOTE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(out, size, "%s\n%" PRIu64 "\n%s\n", cp->origin, cp->size,
	    b64);
	return n < 0 || (size_t)n >= size ? -1 : n;
}

int
checkpoint_parse(const char *text, size_t len, struct checkpoint *cp)
{
	const char *lines[3], *ends[3], *p = text, *end = text + len, *eol;
	uint64_t size = 0;
	struct checkpoint got;

	if (len == 0 || text[len - 1] != '\n' ||
	    !note_text_valid(text, len, false))
		return NOTE_MALFORMED;
	for (int i = 0; i < 3; i++) {
		if (p >= end)
			return NOTE_MALFORMED;
		eol = memchr(p, '\n', (size_t)(end - p));
		if (eol == p)
			return NOTE_MALFORMED;
		lines[i] = p;
		ends[i] = eol;
		p = eol + 1;
	}
	for (; p < end; p = eol + 1) /* extension lines: not empty */
		if ((eol = memchr(p, '\n', (size_t)(end - p))) == p)
			return NOTE_MALFORMED;
	if ((size_t)(ends[0] - lines[0]) > NOTE_NAME_MAX)
		return NOTE_MALFORMED;
	memcpy(got.origin, lines[0], (size_t)(ends[0] - lines[0]));
	got.origin[ends[0] - lines[0]] = '\0';
	if (lines[1][0] == '0' && ends[1] - lines[1] > 1)
		return NOTE_MALFORMED;
	for (const char *d = lines[1]; d < ends[1]; d++) {
		unsigned digit = (unsigned)(*d - '0');
		if (*d < '0' || *d > '9' || size > (UINT64_MAX - digit) / 10)
			return NOTE_MALFORMED;
		size = size * 10 + digit;
	}
	got.size = size;
	if (note_base64_decode(lines[2], (size_t)(ends[2] - lines[2]), got.root,
	        sizeof(got.root)) != NOTE_HASH_LEN)
		return NOTE_MALFORMED;
	*cp = got;
	return 0;
}
