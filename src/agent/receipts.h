/*
 * receipts.h -- the signed receipts a probe keeps (doc/evidence.md,
 * "The signed receipt"): receipts.jsonl in the spool directory, one
 * receipt a line as the collector sent it (compact JSON, with its
 * `signed` note), oldest first.
 *
 * The file is bounded: when an append would take it past its maximum,
 * it is rewritten (a new file renamed over the old, so that a crash
 * leaves one or the other) with the newer half of its lines and, always,
 * the newest receipt of each chain, the one that proves the most.  It
 * is the probe's own file, but read as hostile all the same: a damaged
 * line is dropped at the next rewrite, never believed.
 */
#ifndef CW_RECEIPTS_H
#define CW_RECEIPTS_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define RECEIPTS_FILE        "receipts.jsonl"
#define RECEIPTS_MAX_DEFAULT (UINT64_C(4) << 20)
#define RECEIPTS_MAX_MIN     UINT64_C(1024)
#define RECEIPTS_MAX_MAX     (UINT64_C(256) << 20)

/*
 * receipts_keep: append the receipt `obj` to the file `path` when it
 * carries a `signed` note (else nothing is kept), keeping the file
 * within `max` bytes as above (0: keep none).  Returns 0, or -1 when the
 * file could not be written (logged; the caller goes on: a receipt not
 * kept never stops an upload).
 */
int receipts_keep(const char *path, const json_t *obj, uint64_t max);

/*
 * receipts_compact: of the `len` bytes of receipt lines at `buf`, the
 * ones a rewrite keeps, in their order, into a new buffer (the caller
 * frees it; its length in *out_len): the newer half of the lines and
 * the last line of each chain.  A line that is not a JSON object with a
 * string `chain`, and a last line without its newline (a write cut
 * short), are dropped.  NULL when out of memory.
 */
char *receipts_compact(const char *buf, size_t len, size_t *out_len);

#endif /* CW_RECEIPTS_H */
