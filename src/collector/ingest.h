/*
 * ingest.h -- the collector's checks of one signed batch and its
 * storing, shared by the HTTP service (POST /api/v1/batches) and
 * `corewatch-collector import` (a file of batches carried by hand), so
 * that both accept and refuse exactly the same batches and answer
 * replays alike (doc/protocol.md, "What the collector does with a
 * batch").
 *
 * Each step returns 0 when the batch passes, else the HTTP status of
 * the refusal (401, 403, 400, 409, 413, 503) with the reason in
 * b->reason and a message in b->err; ingest_store() returns 200 for a
 * stored batch.  The transport's own checks (content type, encoding,
 * the Authorization header, gzip, the size on the wire) stay with the
 * transport.
 */
#ifndef CW_INGEST_H
#define CW_INGEST_H

#include <stdbool.h>
#include <stddef.h>

#include "cwtime.h"
#include "record.h"
#include "store.h"

#define INGEST_ERR_LEN 512

/* Why a batch was refused. */
enum ingest_reason {
	INGEST_R_NONE = 0,
	INGEST_R_UNKNOWN_PROBE,    /* 401 */
	INGEST_R_REVOKED,          /* 403 */
	INGEST_R_SIGNATURE,        /* 401 */
	INGEST_R_RECORD_TOO_LARGE, /* 413 */
	INGEST_R_MALFORMED,        /* 400: empty, no newline, a bad line */
	INGEST_R_INVALID,          /* 400: not one batch */
	INGEST_R_CHAIN,            /* 409 */
	INGEST_R_UNAVAILABLE,      /* 503: the database */
};

/* One batch from its checks to its receipt. */
struct ingest_batch {
	struct store_probe probe;
	unsigned char *body; /* uncompressed, malloc'd, owned */
	size_t len;
	struct record *recs; /* point into body */
	size_t n;
	cw_usec_t received_at; /* real time */
	/* Set by ingest_verify() once the signature holds: what the
	 * store keeps of it (store_batch). */
	unsigned char digest[RECORD_HASH_LEN]; /* SHA-256 of body */
	unsigned char sig[RECORD_SIG_LEN];
	bool signed_ok;
	enum ingest_reason reason;
	char err[INGEST_ERR_LEN];
};

/* ingest_batch_clear: free what `b` owns (the body included) and zero
 * it. */
void ingest_batch_clear(struct ingest_batch *b);

/* ingest_probe: the enrolled probe named `id` into b->probe: 0, 401
 * (not enrolled), 403 (revoked) or 503 (the database failed). */
int ingest_probe(struct store *st, const char *id, struct ingest_batch *b);

/*
 * ingest_check: every check that needs no transaction, on b->body
 * (b->probe set): the base64 signature `sig` over it (401), its lines
 * (empty or a line without newline: 400; a record over
 * RECORD_MAX_LEN: 413), each record (record_parse: 400, naming the
 * line) and the batch as a whole (store_batch_check: 400).  Fills
 * b->recs.  Returns 0 or the status.
 */
int ingest_check(struct ingest_batch *b, const char *sig);

/* ingest_verify: the first of ingest_check()'s steps alone, for a body
 * whose SHA-256 `digest` was taken piece by piece (b->body need not be
 * there yet): 0 with the digest and the signature kept in `b` (the
 * store keeps them with the batch), or 401 when `sig` does not sign
 * it. */
int ingest_verify(struct ingest_batch *b,
    const unsigned char digest[RECORD_HASH_LEN], const char *sig);

/* ingest_records: the rest of ingest_check() (the lines, each record,
 * the batch) on b->body once ingest_verify() passed.  Returns 0 or the
 * status. */
int ingest_records(struct ingest_batch *b);

/* ingest_store: store_ingest() of the checked batch `b` (in the
 * current store group, if any): its STORE_OK or STORE_E_* result, the
 * store's reason in b->err, the receipt in `rc`. */
int ingest_store(struct store *st, struct ingest_batch *b,
    struct store_receipt *rc);

/* ingest_status: the status for store_ingest()'s result `rc` (200 for
 * STORE_OK), setting b->reason (and b->err when the store left none). */
int ingest_status(int rc, struct ingest_batch *b);

/*
 * ingest_batch: the whole path for a batch of probe `id` signed `sig`
 * whose body is in b->body (owned by `b` from now on): probe, checks,
 * store_ingest (committed by itself unless inside a store group), the
 * receipt into `rc`.  Returns 200 or the status of the refusal.
 */
int ingest_batch(struct store *st, const char *id, const char *sig,
    struct ingest_batch *b, struct store_receipt *rc);

#endif /* CW_INGEST_H */
