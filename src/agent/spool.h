/*
 * spool.h -- the probe's durable, hash-chained queue of records
 * (doc/protocol.md: records and chain; doc/spool.md: the files).
 *
 * Every result goes into the spool before anything else happens to it:
 * spool_append() wraps it in the record envelope (probe, chain, seq,
 * prev), writes the line into the current segment file as a framed,
 * checksummed record, and returns.  The uploader reads records from the
 * spool's persistent cursor, in order, and acknowledges them once the
 * collector's receipt says they are stored; only then may they go.
 *
 * On disk, in one directory (the spool belongs to one probe key):
 *   chain           the current chain id (32 hex) and the seq it began at
 *   seg-<seq>.log   segments: framed records, first seq in the name
 *   cursor          the last acknowledged seq and its hash, the counts
 *                   of drops, and the collector's time of the last
 *                   receipt (written atomically: temporary file,
 *                   fsync, rename)
 *
 * A frame is: "CWR1" (4 bytes), the line's length (u32, big endian),
 * the seq (u64, big endian), the line (no newline), CRC-32 (zlib) of the
 * seq and line bytes (u32, big endian).
 *
 * Durability: appends are written to the kernel at once and fdatasync'd
 * at least every `sync_interval` (default 1 s) and before every upload
 * (spool_sync); the loss window on power failure is therefore at most
 * one sync interval of results.  kill -9 loses nothing that was written.
 *
 * Bounds: when the spool's files pass `max_bytes`, or the file system's
 * free space falls under `min_free_bytes`, whole segments of the oldest
 * unacknowledged records are deleted and a `loss` record appended that
 * names their seqs and the reason; nothing is dropped silently.
 *
 * Recovery (spool_open): segments are scanned; a torn last frame is cut
 * off; a frame whose checksum or framing is bad is skipped and counted
 * (a `loss` record names it); the chain continues from the last good
 * record.  Memory does not grow with the queue: only an index of the
 * segments (first seq, size) is held.
 *
 * Errors: functions return 0 (or a count) on success and -1 on failure,
 * logged with the path and errno.
 */
#ifndef CW_SPOOL_H
#define CW_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "cwtime.h"
#include "record.h"

struct spool;

struct spool_config {
	const char *dir;         /* created 0700 when missing */
	const char *probe;       /* probe id, 32 hex */
	uint64_t max_bytes;      /* of all segments; 0: 64 MiB */
	uint64_t min_free_bytes; /* of the file system; 0: 16 MiB */
	uint64_t segment_bytes;  /* a new segment past this; 0: 1 MiB */
	cw_usec_t sync_interval; /* 0: 1 s */
	bool read_only;          /* look, change nothing: for `spool
				  * status` and `spool export` while
				  * `run` holds the spool (no lock, no
				  * recovery written, no append/ack) */
};

/* What spool_status reports (and heartbeat records carry). */
struct spool_status {
	char chain[RECORD_ID_HEX + 1];
	uint64_t last_seq;       /* last appended */
	uint64_t acked_seq;      /* last acknowledged */
	cw_usec_t last_receipt;  /* the collector's received_at of the
				  * last receipt; 0: none, or a cursor
				  * older than this field */
	uint64_t depth;          /* records appended, not acknowledged */
	uint64_t bytes;          /* on disk */
	cw_usec_t oldest_unsent; /* append time of the oldest, or 0 */
	uint64_t dropped;        /* records dropped (full, corrupt) */
	uint64_t corrupt;        /* frames skipped at recovery */
	cw_usec_t last_sync;
};

/*
 * spool_open: open (or create) the spool in cfg->dir and recover it.
 * With `base`, a timer syncs every sync_interval.  A new spool (or one
 * whose chain file is gone) starts a new random chain at seq 1.
 * Returns NULL (logged) when the directory cannot be used.
 */
struct spool *spool_open(const struct spool_config *cfg,
    struct event_base *base);

/* spool_close: sync and free; NULL is fine. */
void spool_close(struct spool *sp);

/*
 * spool_append: give `result` (an object without envelope keys) its
 * envelope (probe, chain, seq, prev, and "type" kept first among the
 * result's keys), serialise it once (result.h), frame and write it.
 * The result object is not changed.  Returns the record's seq, or 0 on
 * failure (logged; the result is lost only if even the loss accounting
 * cannot be written).
 */
uint64_t spool_append(struct spool *sp, const json_t *result);

/* spool_sync: fdatasync what was appended.  Returns 0 or -1. */
int spool_sync(struct spool *sp);

/*
 * spool_read: up to `max_records` records (and at most `max_bytes` of
 * line bytes) after `after_seq`, in seq order, each line followed by
 * "\n", appended to `body`; *first and *last get their seqs.  Returns
 * the number of records, 0 when there are none, -1 on error.  Records
 * dropped in between are simply not there (the loss record says so).
 */
struct evbuffer;
int spool_read(struct spool *sp, uint64_t after_seq, size_t max_records,
    size_t max_bytes, struct evbuffer *body, uint64_t *first, uint64_t *last);

/*
 * spool_ack: the collector has stored everything up to `seq` (of this
 * spool's chain): move the cursor there (durably, with `receipt_time`,
 * the real time the receipt gives; 0 for a batch set aside without a
 * receipt keeps the last one's) and delete segments that hold only
 * acknowledged records.  Returns 0 or -1.
 */
int spool_ack(struct spool *sp, uint64_t seq, cw_usec_t receipt_time);

/* spool_status: the current figures into `st`. */
void spool_get_status(const struct spool *sp, struct spool_status *st);

#endif /* CW_SPOOL_H */
