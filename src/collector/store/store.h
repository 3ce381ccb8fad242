/*
 * store.h -- what the collector keeps: probes, enrollment tokens, the
 * records with their chain, gaps and equivocations; written once over
 * db.h for both SQLite and PostgreSQL.
 *
 * Every function returns 0 (or a documented non-negative value) on
 * success and a negative STORE_E_* on failure, with a reason in `err`
 * when one is given.  STORE_E_DB means the database failed or is gone
 * (store_unavailable() says which): the caller answers 503 and stores
 * nothing; the other errors are the client's.
 */
#ifndef CW_STORE_H
#define CW_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwtime.h"
#include "record.h"

enum store_error {
	STORE_OK = 0,
	STORE_E_DB = -1,       /* database error or unreachable: 503 */
	STORE_E_INVALID = -2,  /* the request is wrong: 400 */
	STORE_E_NOTFOUND = -3, /* no such probe or token: 404/401 */
	STORE_E_REVOKED = -4,  /* the probe is revoked: 403 */
	STORE_E_CHAIN = -5,    /* a prev does not match what is stored: 409 */
	STORE_E_EXISTS = -6,   /* a probe with this key exists: 409 */
};

#define STORE_NAME_MAX  64
#define STORE_TOKEN_LEN 43 /* base64url of 32 random bytes */

struct store;

/* A probe as enrolled, with what it last declared of itself. */
struct store_probe {
	char id[RECORD_ID_HEX + 1];
	long long num; /* stable small integer (Atlas) */
	char name[STORE_NAME_MAX + 1];
	unsigned char pubkey[RECORD_PUBKEY_LEN];
	bool revoked;
	cw_usec_t created_at;
	cw_usec_t revoked_at; /* 0 when not revoked */
	cw_usec_t first_seen; /* 0 before its first batch */
	cw_usec_t last_seen;
	char country[3];      /* "" when undeclared */
	long long asn;        /* -1 when undeclared */
	char *last_heartbeat; /* its line, or NULL; owned */
};

/* store_probe_clear: free what a filled struct store_probe owns. */
void store_probe_clear(struct store_probe *p);

/*
 * store_open: open the database at `url` (db_open) and bring its schema
 * to the current version, applying each migration in its own
 * transaction.  Returns NULL with a reason in `err`.
 */
struct store *store_open(const char *url, char *err, size_t errlen);
void store_close(struct store *st);

/* The schema version this build writes and the one in the database. */
int store_schema_version(void);
int store_db_version(struct store *st);

const char *store_error_text(struct store *st);
bool store_unavailable(struct store *st);

/*
 * store_ping: whether the database answers, making a lost connection
 * again (db.h, db_ping).  Returns 0, or -1 with the database's own
 * reason in *why (may be NULL; valid until the next call on `st`),
 * which may name a file or a socket: not for just anyone to read.
 */
int store_ping(struct store *st, const char **why);

/* store_size: the bytes the database takes, or -1 when it cannot say. */
long long store_size(struct store *st);

/* store_backend: "sqlite" or "postgresql"; a static string. */
const char *store_backend(const struct store *st);

/* --- probes and tokens --- */

/* store_probe_add: enroll a key under `name`.  STORE_E_EXISTS when the
 * key is enrolled already.  Fills `out` (may be NULL). */
int store_probe_add(struct store *st, const char *name,
    const unsigned char pk[RECORD_PUBKEY_LEN], struct store_probe *out,
    char *err, size_t errlen);

/* store_probe_get: the probe with id `id` (32 hex) or number `id`
 * (decimal).  STORE_E_NOTFOUND when there is none. */
int store_probe_get(struct store *st, const char *id, struct store_probe *out);

/* store_probe_revoke: revoke a probe (id or number).  Its stored
 * records stay; its batches are refused with 403 from now on. */
int store_probe_revoke(struct store *st, const char *id, char *err,
    size_t errlen);

/* store_probe_list: call `cb` for each probe, by number.  `cb` returns
 * non-zero to stop. */
int store_probe_list(struct store *st,
    int (*cb)(void *arg, const struct store_probe *p), void *arg);

/* store_token_create: a one-time enrollment token for a probe to be
 * called `name`, valid for `ttl`.  Only its hash is stored; the token
 * itself goes to `token` and is shown once. */
int store_token_create(struct store *st, const char *name, cw_usec_t ttl,
    char token[STORE_TOKEN_LEN + 1], char *err, size_t errlen);

/* store_token_redeem: enroll `pk` with a token; the token is used up.
 * STORE_E_NOTFOUND for an unknown, used or expired token,
 * STORE_E_EXISTS when the key is enrolled already. */
int store_token_redeem(struct store *st, const char *token,
    const unsigned char pk[RECORD_PUBKEY_LEN], struct store_probe *out,
    char *err, size_t errlen);

/* --- ingest --- */

/* A verified batch: records of one probe and chain, ascending seq. */
struct store_batch {
	const struct store_probe *probe;
	struct record *recs;
	size_t n;
	cw_usec_t received_at;
	/* The SHA-256 of the signed body and the signature (RECORD_SIG_LEN
	 * bytes), kept in the batches table (doc/evidence.md); NULL for
	 * records stored without a signature (test and benchmark tools),
	 * which then leave no batch row. */
	const unsigned char *body_hash, *sig;
};

/* What the collector answers once a batch is committed. */
struct store_receipt {
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	uint64_t acked_seq;
	size_t stored;
	size_t duplicates;
	size_t equivocations;
	size_t gaps;        /* the chain's unexplained gaps */
	size_t gaps_opened; /* gaps this batch opened */
	cw_usec_t received_at;
	/* The log (store_log.h): the leaf of the batch's last record (the
	 * acked one, stored now or before; its chain commits to every
	 * record before it), -1 when that record is not in the log (stored
	 * before the log existed); and the log's size after the batch. */
	long long log_index;
	uint64_t log_size;
	/* The hash of the record the store holds at acked_seq: the batch's
	 * last line, or, when that line was an equivocation, the record
	 * stored first (what a signed receipt names; doc/evidence.md). */
	unsigned char acked_hash[RECORD_HASH_LEN];
};

/*
 * store_batch_check: the checks that need no database: every record is
 * of the batch's probe and one chain, seqs ascend strictly, and each
 * record's prev is the hash of the record before it in the batch when
 * that one is seq - 1.  STORE_E_INVALID with a reason naming the line.
 */
int store_batch_check(const struct store_batch *b, char *err, size_t errlen);

/*
 * Group commit: store_group_begin() opens one transaction for several
 * batches; each store_ingest() inside it runs in a savepoint, so that a
 * refused batch leaves the others alone; store_group_commit() makes
 * them all durable at once (and returns STORE_E_DB if it could not:
 * then none is stored).  store_ingest() outside a group commits by
 * itself.
 */
int store_group_begin(struct store *st);
int store_group_commit(struct store *st);
void store_group_rollback(struct store *st);

/*
 * store_ingest: store a checked batch whole or not at all.  A record
 * already stored with the same hash is a duplicate and changes nothing;
 * with another hash it is kept apart as an equivocation (once: the same
 * equivocation sent again is a duplicate); a new record's prev must
 * match the stored record before it (STORE_E_CHAIN if not); a seq past
 * the last stored one opens a gap, explained (no longer open) when a
 * `loss` record covers it.  The batch's records are tagged with the
 * country and ASN of its newest heartbeat's identity, or else with those
 * the probe declared before.  Fills `rc`.
 */
int store_ingest(struct store *st, const struct store_batch *b,
    struct store_receipt *rc, char *err, size_t errlen);

/* --- batch signatures (store_batches.c; doc/evidence.md) --- */

/* Which batches to read.  Unset members select everything. */
struct store_batch_filter {
	const char *probe;  /* probe id (32 hex) or number */
	const char *chain;  /* chain id */
	cw_usec_t from, to; /* received at or after from, before to; 0 */
	long long seq_from; /* holding seqs at or above it; 0: open */
	long long seq_to;   /* holding seqs at or below it; 0: open */
	bool no_heartbeats; /* leave out batches that carried one */
};

/* One kept batch signature and what it covers.  `seqs` is NULL when
 * the batch held every seq from first_seq to last_seq, else its seqs as
 * ascending ranges ("1-3,7"); `forks` is NULL when every line of the
 * batch is the stored record of its seq, else "seq:hash,..." (hex) of
 * the lines that are kept as equivocations.  Both owned by the page. */
struct store_batch_row {
	long long id; /* the order kept: the paging cursor */
	char probe[RECORD_ID_HEX + 1];
	long long probe_num;
	unsigned char pubkey[RECORD_PUBKEY_LEN];
	char chain[RECORD_ID_HEX + 1];
	long long first_seq, last_seq, count;
	char *seqs, *forks;
	unsigned char body_hash[RECORD_HASH_LEN];
	unsigned char sig[RECORD_SIG_LEN];
	cw_usec_t received_at;
	bool heartbeat; /* it carried a heartbeat record */
};

/* A page of batch rows. */
struct store_batch_page {
	struct store_batch_row *v;
	size_t n;
};

/* store_batch_page_clear: free what a page owns and zero it. */
void store_batch_page_clear(struct store_batch_page *pg);

/*
 * store_batches: the kept batches matching `f` with id > `after`, in the
 * order they were kept, at most `limit`, into `pg` (cleared first; the
 * caller clears it after).  Returns STORE_OK (an empty page at the end)
 * or STORE_E_DB.
 */
int store_batches(struct store *st, const struct store_batch_filter *f,
    long long after, size_t limit, struct store_batch_page *pg);

/* store_batch_fork: fork `k` (0, 1 ...) of batch row `r`: its seq, its
 * hash in hex and the line kept apart as an equivocation into *line
 * (malloc'd, NUL-terminated, the caller frees it) and *len.  STORE_OK,
 * STORE_E_NOTFOUND past the last fork, or STORE_E_DB. */
int store_batch_fork(struct store *st, const struct store_batch_row *r,
    size_t k, long long *seq, char hex[RECORD_HASH_HEX + 1], char **line,
    size_t *len);

/* --- reading back --- */

/* Which records to read.  Unset members select everything. */
struct store_filter {
	cw_usec_t from;      /* measurement time >= from; 0: open */
	cw_usec_t to;        /* measurement time < to; 0: open */
	const char *probe;   /* probe id (32 hex) or number */
	const char *type;    /* "dns", "http", "heartbeat", "loss" */
	const char *name;    /* measurement name */
	const char *addr;    /* target address, canonical text */
	const char *country; /* probe's declared country */
	long long asn;       /* probe's declared ASN; -1: any */
	bool no_heartbeats;  /* leave heartbeat records out */
};

/* store_filter_init: a filter that selects everything. */
void store_filter_init(struct store_filter *f);

/*
 * The evidence of a measurement result that the CSV export has columns
 * for (doc/export.md: failure_detail to http_status), as stored at
 * ingest.  Absent values are NULL (strings) or -1; `txt` holds the TXT
 * strings joined as store_words_join() joins them.
 */
struct store_evidence {
	const char *failure_detail, *txt;
	long long late_count, attempts, http_status;
	int late_differ, truncated, tcp_fallback; /* 1, 0, or -1 */
};

/*
 * store_evidence_parse: the evidence of record `rec` (its parsed JSON)
 * of type `type`: nothing for other kinds than "dns" and "http" or a
 * record that is no object.  Strings point into `rec`, except the
 * joined TXT, which is also put in *owned for the caller to free (NULL
 * when none).  Returns 0, or -1 when out of memory.  Ingest fills the
 * columns with it, and the export reads records stored before those
 * columns with it, so that both give the same values.
 */
int store_evidence_parse(json_t *rec, const char *type,
    struct store_evidence *ev, char **owned);

/* One stored record: its exact bytes and the columns parsed from it.
 * Strings are NUL-terminated and valid only during the callback; absent
 * values are NULL (strings) or -1 (numbers; rtt_ms: has_rtt false). */
struct store_row {
	long long id;     /* ingest order: the paging cursor */
	const char *line; /* exact bytes, not NUL-terminated */
	size_t len;
	const char *probe;   /* id */
	long long probe_num; /* stable small number (Atlas prb_id) */
	const char *chain;
	long long seq;
	long long received_at;
	const char *type;
	long long time; /* -1 when the record has none */
	const char *name;
	long long msm; /* stable measurement number, or -1 */
	const char *server, *addr, *proto, *qname, *qtype;
	long long port, af;
	int ok; /* 1, 0, or -1 when absent */
	const char *failure, *rcode, *nsid;
	bool has_rtt;
	double rtt_ms;
	long long soa_serial;
	const char *country;
	long long asn;
	/* false for a record stored before the evidence columns (schema
	 * version 3): read its line with store_evidence_parse(). */
	bool has_evidence;
	struct store_evidence ev;
};

/*
 * store_results: the records matching `f` with id > `after`, in ingest
 * order, at most `limit` of them, each to `cb` (non-zero stops).  Sets
 * *last to the id of the last record given (unchanged when none), so
 * that a caller streams a large result page by page without holding it.
 * Returns the number of records given, or STORE_E_DB.
 */
long long store_results(struct store *st, const struct store_filter *f,
    long long after, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg,
    long long *last);

/* Where a time-ordered read goes on: after the record with this
 * measurement time and id.  Start with STORE_CURSOR_START. */
struct store_cursor {
	long long time;
	long long id;
};

#define STORE_CURSOR_START ((struct store_cursor){ -1, 0 })

/*
 * store_results_by_time: the records matching `f` that have a
 * measurement time and come after `cur`, ordered by (time, id), at most
 * `limit` of them, each to `cb` (non-zero stops) as in store_results().
 * Moves `cur` to the last record given.  Returns the number of records
 * given, or STORE_E_DB.
 */
long long store_results_by_time(struct store *st, const struct store_filter *f,
    struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg);

/*
 * store_measurements_by_time: as store_results_by_time(), but only the
 * measurement results ("dns" and "http" records with an `ok`), and of
 * each only what a summary reads, all of it in an index: id, probe,
 * probe_num, type, time, name, server, addr, proto, qname, port, af,
 * ok, nsid, rtt_ms and soa_serial.  The other members are absent
 * (line and chain NULL, len 0, numbers -1, has_evidence false).
 */
long long store_measurements_by_time(struct store *st,
    const struct store_filter *f, struct store_cursor *cur, size_t limit,
    int (*cb)(void *arg, const struct store_row *row), void *arg);

/*
 * store_words_join: the `n` strings of `words` joined by single
 * spaces, a space inside one written \032 (as a record escapes other
 * bytes), so that the list can be split again at its spaces: NSIDs in
 * a summary, TXT strings in an export.  Returns a string the caller
 * frees, or NULL when out of memory.
 */
char *store_words_join(const char *const *words, size_t n);

#endif /* CW_STORE_H */
