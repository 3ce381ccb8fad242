/*
 * spool_int.h -- what the two halves of the spool share, and nothing
 * outside them includes: the on-disk frame's layout, the spool's state
 * and the functions one half calls in the other.  spool.c opens the
 * spool and appends, reads and acknowledges records; spool_frame.c
 * holds the frame format, the reader and frame scanner, and recovery
 * at open.  doc/spool.md describes the files.  As in spool.h, a
 * function that fails logs why (with the spool's directory) and
 * returns -1.
 */
#ifndef CW_SPOOL_INT_H
#define CW_SPOOL_INT_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cwtime.h"
#include "record.h"
#include "spool.h"

#define SPOOL_MAGIC        "CWR1"
#define SPOOL_HDR          16 /* magic, length, seq */
#define SPOOL_CRC          4
#define SPOOL_FRAME_MAX    (SPOOL_HDR + RECORD_MAX_LEN + SPOOL_CRC)
#define SPOOL_BUF          (256 * 1024) /* the read buffer */
#define SPOOL_SEG_NAME_MAX 40

/* One segment file, seg-<name>.log. */
struct spool_seg {
	uint64_t name;      /* the seq in the file's name */
	uint64_t first_seq; /* of its first record; 0: none */
	uint64_t last_seq;  /* of its last record; 0: none */
	uint64_t count;     /* records in it */
	uint64_t acked;     /* of them, with seq <= acked_seq */
	uint64_t bytes;     /* its size */
};

/* A read window on one segment. */
struct spool_reader {
	int fd;        /* -1: none open */
	uint64_t name; /* of the segment open */
	uint64_t size; /* bytes that may be read */
	unsigned char *buf;
	uint64_t base; /* file offset of buf[0] */
	size_t len;    /* bytes valid in buf */
};

/* One frame found by the scanner. */
struct spool_frame {
	uint64_t off; /* where it starts */
	uint64_t seq;
	uint32_t len; /* of the line */
};

/* Where reading stopped last: the next record after `seq` starts at
 * `off` of segment `name`, with `nbefore` records of it before. */
struct spool_pos {
	bool valid;
	uint64_t name;
	uint64_t off;
	uint64_t seq;
	uint64_t nbefore;
};

/* A loss noted but not yet written as a `loss` record. */
struct spool_loss {
	uint64_t first, last, count;
	const char *reason; /* NULL: none pending */
};

struct spool {
	char *dir;
	char probe[RECORD_ID_HEX + 1];
	bool read_only;
	uint64_t max_bytes, min_free, segment_bytes;
	cw_usec_t sync_interval;
	int dirfd, lockfd;

	char chain[RECORD_ID_HEX + 1];
	uint64_t last_seq;
	unsigned char last_hash[RECORD_HASH_LEN];
	uint64_t acked_seq;
	unsigned char acked_hash[RECORD_HASH_LEN];
	cw_usec_t receipt_time; /* of the last receipt; 0: unknown */
	uint64_t dropped, corrupt;

	struct spool_seg *segs;
	size_t nsegs, segs_cap;
	uint64_t bytes; /* of all segments */
	int fd;         /* the last segment, for appends */
	bool dirty, dir_dirty;
	uint64_t synced_seq;
	cw_usec_t last_sync;
	cw_usec_t oldest;
	uint64_t since_statvfs; /* bytes appended since */

	struct spool_reader rd;
	struct spool_pos pos;
	unsigned char *frame; /* SPOOL_FRAME_MAX + 1 */
	struct spool_loss pending;
	struct event *timer;
};

#define SPOOL_FRAME_SIZE(fr) ((uint64_t)SPOOL_HDR + (fr)->len + SPOOL_CRC)

/* What the scanner found after a place in a segment. */
enum spool_scan {
	SPOOL_SCAN_FRAME, /* a good frame (maybe after damage) */
	SPOOL_SCAN_END,   /* nothing more (maybe after damage) */
};

/* --- spool_frame.c --- */

/* spool_be32, spool_be64: `v` big-endian into the 4 or 8 bytes at
 * `p`. */
void spool_be32(unsigned char *p, uint32_t v);
void spool_be64(unsigned char *p, uint64_t v);

/* spool_crc: CRC-32 of the seq bytes and the line (`len` bytes) of the
 * frame at `p`: what its trailer holds. */
uint32_t spool_crc(const unsigned char *p, uint32_t len);

/* spool_reader_open: point `sp`'s reader at segment `seg` (reading up
 * to its known size).  Returns 0, 1 when the file is gone (another
 * process deleted it), -1.  spool_reader_close closes the reader's file
 * (none open: nothing). */
int spool_reader_open(struct spool *sp, const struct spool_seg *seg);
void spool_reader_close(struct spool_reader *rd);

/* spool_frame_line: the line of frame `fr` of the reader's segment, in
 * the reader's buffer (valid until the next read of the reader); NULL
 * when it cannot be read. */
const char *spool_frame_line(struct spool_reader *rd,
    const struct spool_frame *fr);

/*
 * spool_scan_next: the first good frame at or after `off` with a seq
 * above `min_seq`, into `fr`.  *damage is set to where unusable bytes
 * begin when some were skipped to reach it (or the end), else to
 * UINT64_MAX; *torn tells whether those bytes began with a frame cut
 * short by the end of the file.
 */
enum spool_scan spool_scan_next(struct spool_reader *rd, uint64_t off,
    uint64_t min_seq, struct spool_frame *fr, uint64_t *damage, bool *torn);

/* spool_recover: at open, index the segments, cut a torn tail, skip
 * damage (a loss record names what it hid) and find where the chain
 * goes on.  Returns 0 or -1. */
int spool_recover(struct spool *sp);

/* --- spool.c --- */

/* spool_seg_filename: the file name of segment `name` into `buf` of
 * `len` bytes (SPOOL_SEG_NAME_MAX is enough). */
void spool_seg_filename(uint64_t name, char *buf, size_t len);

/* spool_seg_parse_name: the seq in a file name "seg-<20 digits>.log";
 * 0 if it is not one. */
uint64_t spool_seg_parse_name(const char *file);

/* spool_seg_push: append a copy of `seg` to the spool's segments (the
 * caller keeps them in seq order).  Returns 0 or -1 (out of memory). */
int spool_seg_push(struct spool *sp, const struct spool_seg *seg);

/* spool_seg_remove: delete segment `i`, its file and its entry. */
void spool_seg_remove(struct spool *sp, size_t i);

/* spool_drop_acked: delete the leading segments whose records are all
 * acknowledged, all but the last (it holds the chain's end); nothing
 * when read-only. */
void spool_drop_acked(struct spool *sp);

/* spool_opendir: the spool's directory, to list (closedir() it); NULL
 * when it cannot be opened (logged). */
DIR *spool_opendir(struct spool *sp);

/* spool_chain_new: start a new random chain from seq 1 and write its
 * chain file and cursor.  Returns 0 or -1. */
int spool_chain_new(struct spool *sp);

/* spool_head_time: the time of the oldest unacknowledged record (now,
 * when its line has none); 0 when there is none or it cannot be read. */
cw_usec_t spool_head_time(struct spool *sp);

#endif /* CW_SPOOL_INT_H */
