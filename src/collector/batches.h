/*
 * batches.h -- the kept batch signatures read back (doc/evidence.md,
 * "Reading the batches"), one JSON object a line, streamed a page at a
 * time like an export (export.h): the same bytes for
 * `corewatch-collector batches` and GET /api/v1/batches.
 *
 * Each line: probe, probe_num, pubkey (base64, as `probe list --json`
 * writes it), chain, first_seq, last_seq, count, seqs (null, or the
 * seqs held as ranges "1-3,7"), forks (the lines of the batch kept as
 * equivocations: seq, hash and the line itself), body_sha256 (hex), sig
 * (base64, as the probe sent it), received_at.
 */
#ifndef CW_BATCHES_H
#define CW_BATCHES_H

#include <stddef.h>

#include "store.h"

#define BATCHES_PAGE_ROWS 500 /* batches read per step, at most */

struct evbuffer;
struct batch_export;

/* Filter parameters given as text: probe, chain, from, to (time
 * received), seq_from, seq_to; checked.  `filter` points to the
 * caller's value strings, which must outlive it. */
struct batch_params {
	struct store_batch_filter filter;
};

/* batch_params_init: parameters that select every batch. */
void batch_params_init(struct batch_params *p);

/* batch_params_set: the parameter `key` from the text `value`: a probe
 * id or number, a chain (32 lower-case hex digits), a UTC time, a seq
 * from 1 to 2^53.  Returns 1 when set, 0 when `key` is none of them,
 * -1 for a bad value (the reason, naming the parameter, in `err`). */
int batch_params_set(struct batch_params *p, const char *key, const char *value,
    char *err, size_t errlen);

/* batch_params_check: `from` before `to`, `seq_from` not above
 * `seq_to`.  Returns 0, or -1 with the reason in `err`. */
int batch_params_check(const struct batch_params *p, char *err, size_t errlen);

/* batch_export_new: a reader of the batches of `st` (borrowed) that `f`
 * selects (copied: its strings must outlive the reader).  NULL when out
 * of memory. */
struct batch_export *batch_export_new(struct store *st,
    const struct store_batch_filter *f);

/* batch_export_step: read the next page and append its lines to `out`.
 * Returns 1 when more may remain, 0 when complete, -1 when the database
 * failed (store_error_text) or memory ran out; after 0 or -1 the same
 * again, appending nothing. */
int batch_export_step(struct batch_export *bx, struct evbuffer *out);

/* batch_line: batch row `r` as its line (without the newline), as
 * batch_export_step writes it; malloc'd, NULL when the database failed
 * (store_error_text) or memory ran out.  The evidence bundle's
 * batches.jsonl is made of these. */
char *batch_line(struct store *st, const struct store_batch_row *r);

/* batch_export_free: NULL is fine. */
void batch_export_free(struct batch_export *bx);

#endif /* CW_BATCHES_H */
