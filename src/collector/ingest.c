/*
 * ingest.c -- one batch's checks and storing (ingest.h), the same for
 * the HTTP service and `corewatch-collector import`.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ingest.h"
#include "record.h"
#include "store.h"

/* ingest_refuse: note why and return `code`. */
static int ingest_refuse(struct ingest_batch *b, enum ingest_reason why,
    int code, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int
ingest_refuse(struct ingest_batch *b, enum ingest_reason why, int code,
    const char *fmt, ...)
{
	va_list ap;

	b->reason = why;
	va_start(ap, fmt);
	vsnprintf(b->err, sizeof(b->err), fmt, ap);
	va_end(ap);
	return code;
}

void
ingest_batch_clear(struct ingest_batch *b)
{
	for (size_t i = 0; i < b->n; i++)
		record_clear(&b->recs[i]);
	free(b->recs);
	free(b->body);
	store_probe_clear(&b->probe);
	memset(b, 0, sizeof(*b));
}

int
ingest_probe(struct store *st, const char *id, struct ingest_batch *b)
{
	int rc = store_probe_get(st, id, &b->probe);

	if (rc == STORE_E_NOTFOUND)
		return ingest_refuse(b, INGEST_R_UNKNOWN_PROBE, 401,
		    "probe %s is not enrolled", id);
	if (rc == STORE_E_REVOKED || (rc == STORE_OK && b->probe.revoked))
		return ingest_refuse(b, INGEST_R_REVOKED, 403,
		    "probe %s is revoked", id);
	if (rc != STORE_OK)
		return ingest_refuse(b, INGEST_R_UNAVAILABLE, 503,
		    "the probe cannot be looked up; try again later");
	return 0;
}

/* ingest_lines: split the body into records and parse each. */
static int
ingest_lines(struct ingest_batch *b)
{
	const char *p = (const char *)b->body, *end = p + b->len, *nl;
	char err[INGEST_ERR_LEN];
	size_t lines = 0;

	if (b->len == 0)
		return ingest_refuse(b, INGEST_R_MALFORMED, 400,
		    "the body is empty");
	for (const char *q = p; q < end; q = nl + 1) {
		lines++;
		if ((nl = memchr(q, '\n', (size_t)(end - q))) == NULL)
			return ingest_refuse(b, INGEST_R_MALFORMED, 400,
			    "line %zu does not end in a newline", lines);
	}
	if ((b->recs = calloc(lines, sizeof(*b->recs))) == NULL)
		return ingest_refuse(b, INGEST_R_UNAVAILABLE, 503,
		    "out of memory; try again later");
	for (const char *q = p; q < end; q = nl + 1) {
		size_t n;
		nl = memchr(q, '\n', (size_t)(end - q));
		n = (size_t)(nl - q);
		if (n > RECORD_MAX_LEN)
			return ingest_refuse(b, INGEST_R_RECORD_TOO_LARGE, 413,
			    "line %zu: a record of %zu bytes, over the limit "
			    "of %d",
			    b->n + 1, n, RECORD_MAX_LEN);
		if (record_parse(q, n, &b->recs[b->n++], err, sizeof(err)) ==
		    -1)
			return ingest_refuse(b, INGEST_R_MALFORMED, 400,
			    "line %zu: %s", b->n, err);
	}
	return 0;
}

/* ingest_store_batch: the store's view of `b`. */
static void
ingest_store_batch(struct ingest_batch *b, struct store_batch *sb)
{
	sb->probe = &b->probe;
	sb->recs = b->recs;
	sb->n = b->n;
	sb->received_at = b->received_at;
	sb->body_hash = b->signed_ok ? b->digest : NULL;
	sb->sig = b->signed_ok ? b->sig : NULL;
}

int
ingest_verify(struct ingest_batch *b,
    const unsigned char digest[RECORD_HASH_LEN], const char *sig)
{
	if (!batch_verify_digest(b->probe.pubkey, b->probe.id, digest, sig))
		return ingest_refuse(b, INGEST_R_SIGNATURE, 401,
		    "the signature does not match the body and the key of "
		    "probe %s",
		    b->probe.id);
	memcpy(b->digest, digest, RECORD_HASH_LEN);
	b->signed_ok = batch_sig_decode(sig, b->sig) == 0;
	return 0;
}

int
ingest_records(struct ingest_batch *b)
{
	struct store_batch sb;
	char err[INGEST_ERR_LEN];
	int code;

	if ((code = ingest_lines(b)) != 0)
		return code;
	ingest_store_batch(b, &sb);
	if (store_batch_check(&sb, err, sizeof(err)) != 0)
		return ingest_refuse(b, INGEST_R_INVALID, 400, "%s", err);
	return 0;
}

int
ingest_check(struct ingest_batch *b, const char *sig)
{
	unsigned char digest[RECORD_HASH_LEN];
	int code;

	record_hash(b->body, b->len, digest);
	if ((code = ingest_verify(b, digest, sig)) != 0)
		return code;
	return ingest_records(b);
}

int
ingest_status(int rc, struct ingest_batch *b)
{
	static const struct {
		int rc, code;
		enum ingest_reason why;
	} map[] = {
		{ STORE_OK, 200, INGEST_R_NONE },
		{ STORE_E_CHAIN, 409, INGEST_R_CHAIN },
		{ STORE_E_INVALID, 400, INGEST_R_INVALID },
		{ STORE_E_REVOKED, 403, INGEST_R_REVOKED },
		{ STORE_E_NOTFOUND, 401, INGEST_R_UNKNOWN_PROBE },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (map[i].rc == rc) {
			b->reason = map[i].why;
			return map[i].code;
		}
	return ingest_refuse(b, INGEST_R_UNAVAILABLE, 503,
	    "the batch was not stored; try again later");
}

int
ingest_store(struct store *st, struct ingest_batch *b, struct store_receipt *rc)
{
	struct store_batch sb;

	ingest_store_batch(b, &sb);
	return store_ingest(st, &sb, rc, b->err, sizeof(b->err));
}

int
ingest_batch(struct store *st, const char *id, const char *sig,
    struct ingest_batch *b, struct store_receipt *rc)
{
	int code;

	if ((code = ingest_probe(st, id, b)) != 0 ||
	    (code = ingest_check(b, sig)) != 0)
		return code;
	return ingest_status(ingest_store(st, b, rc), b);
}
