/*
 * spool_frame.c -- the spool's frames on disk: their format, the reader
 * and the frame scanner, and recovery when the spool opens (spool.h is
 * the contract, doc/spool.md the files).
 *
 * Frames are found by a scanner that checks each one whole (magic,
 * length, CRC-32, a seq above the one before) and, after damage, looks
 * for the next good frame from the next "CWR1".  Recovery, reads and
 * acknowledgements all go through it.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>
#include <zlib.h>

#include "fileio.h"
#include "log.h"
#include "spool.h"
#include "spool_int.h"

/* --- The frame format --- */

void
spool_be32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static uint32_t
spool_get32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | p[3];
}

void
spool_be64(unsigned char *p, uint64_t v)
{
	spool_be32(p, (uint32_t)(v >> 32));
	spool_be32(p + 4, (uint32_t)v);
}

static uint64_t
spool_get64(const unsigned char *p)
{
	return (uint64_t)spool_get32(p) << 32 | spool_get32(p + 4);
}

/* spool_crc: CRC-32 of the seq bytes and the line of a frame at p. */
uint32_t
spool_crc(const unsigned char *p, uint32_t len)
{
	uLong crc = crc32(0L, Z_NULL, 0);

	crc = crc32(crc, p + 8, 8);
	crc = crc32(crc, p + SPOOL_HDR, len);
	return (uint32_t)crc;
}

/* --- The reader and the frame scanner --- */

void
spool_reader_close(struct spool_reader *rd)
{
	if (rd->fd != -1)
		close(rd->fd);
	rd->fd = -1;
	rd->len = 0;
	rd->base = 0;
}

/* spool_reader_open: read segment `seg` (its known size).  Returns 0,
 * 1 when the file is gone (another process deleted it), -1. */
int
spool_reader_open(struct spool *sp, const struct spool_seg *seg)
{
	struct spool_reader *rd = &sp->rd;
	char file[SPOOL_SEG_NAME_MAX];

	if (rd->fd != -1 && rd->name == seg->name) {
		rd->size = seg->bytes;
		return 0;
	}
	spool_reader_close(rd);
	spool_seg_filename(seg->name, file, sizeof(file));
	if ((rd->fd = openat(sp->dirfd, file, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		log_warn("spool %s: %s", sp->dir, file);
		return -1;
	}
	rd->name = seg->name;
	rd->size = seg->bytes;
	return 0;
}

/* spool_reader_get: `n` bytes at `off` of the open segment, or NULL
 * when they are not all there (past its end, or a read error). */
static const unsigned char *
spool_reader_get(struct spool_reader *rd, uint64_t off, size_t n)
{
	ssize_t got;

	if (n > SPOOL_BUF || off + n > rd->size)
		return NULL;
	if (off >= rd->base && off + n <= rd->base + rd->len)
		return rd->buf + (off - rd->base);
	do
		got = pread(rd->fd, rd->buf, SPOOL_BUF, (off_t)off);
	while (got == -1 && errno == EINTR);
	if (got == -1) {
		rd->len = 0;
		return NULL;
	}
	rd->base = off;
	rd->len = (size_t)got;
	return (size_t)got >= n ? rd->buf : NULL;
}

enum spool_check {
	SPOOL_FRAME_OK,
	SPOOL_FRAME_BAD,   /* not a frame, or a damaged one */
	SPOOL_FRAME_SHORT, /* a frame's header whose frame runs past
			    * the end: a torn write */
};

/* spool_frame_check: whether a good frame with a seq above `min_seq`
 * starts at `off` of the reader's segment; fills *fr. */
static enum spool_check
spool_frame_check(struct spool_reader *rd, uint64_t off, uint64_t min_seq,
    struct spool_frame *fr)
{
	const unsigned char *p;
	uint32_t len;

	if ((p = spool_reader_get(rd, off, SPOOL_HDR)) == NULL)
		return off < rd->size ? SPOOL_FRAME_SHORT : SPOOL_FRAME_BAD;
	if (memcmp(p, SPOOL_MAGIC, 4) != 0)
		return SPOOL_FRAME_BAD;
	len = spool_get32(p + 4);
	if (len == 0 || len > RECORD_MAX_LEN)
		return SPOOL_FRAME_BAD;
	if (off + SPOOL_HDR + len + SPOOL_CRC > rd->size)
		return SPOOL_FRAME_SHORT;
	if ((p = spool_reader_get(rd, off, SPOOL_HDR + len + SPOOL_CRC)) ==
	    NULL)
		return SPOOL_FRAME_BAD;
	if (spool_crc(p, len) != spool_get32(p + SPOOL_HDR + len))
		return SPOOL_FRAME_BAD;
	fr->off = off;
	fr->seq = spool_get64(p + 8);
	fr->len = len;
	if (fr->seq <= min_seq || fr->seq > (UINT64_C(1) << 53))
		return SPOOL_FRAME_BAD;
	return SPOOL_FRAME_OK;
}

/* spool_frame_line: the line of frame `fr` (valid until the next read
 * of the reader). */
const char *
spool_frame_line(struct spool_reader *rd, const struct spool_frame *fr)
{
	const unsigned char *p = spool_reader_get(rd, fr->off + SPOOL_HDR,
	    fr->len);

	return (const char *)p;
}

/*
 * spool_scan_next: the first good frame at or after `off` with a seq
 * above `min_seq`.  *damage is set to where unusable bytes begin when
 * some were skipped to reach it (or the end), else to UINT64_MAX;
 * *torn tells whether those bytes began with a frame cut short by the
 * end of the file.
 */
enum spool_scan
spool_scan_next(struct spool_reader *rd, uint64_t off, uint64_t min_seq,
    struct spool_frame *fr, uint64_t *damage, bool *torn)
{
	enum spool_check c;
	const unsigned char *p, *hit;
	uint64_t at;

	*damage = UINT64_MAX;
	*torn = false;
	if (off >= rd->size)
		return SPOOL_SCAN_END;
	if ((c = spool_frame_check(rd, off, min_seq, fr)) == SPOOL_FRAME_OK)
		return SPOOL_SCAN_FRAME;
	*damage = off;
	*torn = c == SPOOL_FRAME_SHORT;
	/* Look for the next "CWR1" that starts a good frame. */
	for (at = off + 1; at + SPOOL_HDR <= rd->size;) {
		size_t want = rd->size - at < SPOOL_BUF ?
		    (size_t)(rd->size - at) :
		    SPOOL_BUF;
		if ((p = spool_reader_get(rd, at, want)) == NULL)
			return SPOOL_SCAN_END;
		hit = memmem(p, want, SPOOL_MAGIC, 4);
		if (hit == NULL) {
			at += want > 3 ? want - 3 : 1;
			continue;
		}
		at += (uint64_t)(hit - p);
		if (spool_frame_check(rd, at, min_seq, fr) == SPOOL_FRAME_OK) {
			*torn = false;
			return SPOOL_SCAN_FRAME;
		}
		at++;
	}
	return SPOOL_SCAN_END;
}

/* --- Recovery --- */

/* What recovery learns while it scans the segments in order. */
struct spool_scan_state {
	uint64_t last_seq;  /* of the last good frame so far */
	uint64_t last_off;  /* where that frame is, */
	uint64_t last_name; /* in which segment */
	uint32_t last_len;
	bool damage_open;     /* damage seen, no good frame since */
	uint64_t damage_from; /* the first seq it may have hidden */
	uint64_t loss_first, loss_last, loss_count; /* to report */
};

/* spool_note_damage_end: the good frame `seq` ends a damaged stretch:
 * the seqs it hid (and not yet acknowledged) are lost. */
static void
spool_note_damage_end(struct spool *sp, struct spool_scan_state *ss,
    uint64_t seq)
{
	uint64_t from = ss->damage_from;

	ss->damage_open = false;
	sp->corrupt++;
	if (from <= sp->acked_seq)
		from = sp->acked_seq + 1;
	if (seq <= from)
		return;
	if (ss->loss_count == 0)
		ss->loss_first = from;
	ss->loss_last = seq - 1;
	ss->loss_count += seq - from;
}

/*
 * spool_seg_rewrite: replace a damaged segment with its good frames
 * only (those above `min_seq`): a temporary file, fsync, rename.  The
 * segment's bytes are updated.
 */
static int
spool_seg_rewrite(struct spool *sp, struct spool_seg *seg, uint64_t min_seq)
{
	char file[SPOOL_SEG_NAME_MAX];
	struct fileio_atomic fa;
	struct spool_frame fr;
	uint64_t off = 0, damage, written = 0;
	bool torn;

	spool_seg_filename(seg->name, file, sizeof(file));
	if (spool_reader_open(sp, seg) != 0)
		return -1;
	if (fileio_atomic_begin(&fa, sp->dirfd, file, 0600) != FILEIO_OK) {
		log_warn("spool %s: %s", sp->dir, fa.tmp);
		return -1;
	}
	while (spool_scan_next(&sp->rd, off, min_seq, &fr, &damage, &torn) ==
	    SPOOL_SCAN_FRAME) {
		const unsigned char *p = spool_reader_get(&sp->rd, fr.off,
		    SPOOL_FRAME_SIZE(&fr));
		if (p == NULL ||
		    fileio_write_all(fa.fd, p, SPOOL_FRAME_SIZE(&fr)) == -1) {
			fileio_atomic_abort(&fa);
			goto fail;
		}
		written += SPOOL_FRAME_SIZE(&fr);
		min_seq = fr.seq;
		off = fr.off + SPOOL_FRAME_SIZE(&fr);
	}
	switch (fileio_atomic_commit(&fa)) {
	case FILEIO_OK:
		break;
	case FILEIO_DIRSYNC:
		log_warn("spool %s: fsync of the directory", sp->dir);
		break;
	default:
		goto fail;
	}
	spool_reader_close(&sp->rd);
	sp->bytes -= seg->bytes - written;
	seg->bytes = written;
	return 0;
fail:
	log_warn("spool %s: rewriting %s", sp->dir, file);
	return -1;
}

/*
 * spool_seg_scan: index one segment (appended to sp->segs with its
 * counts) and carry the chain state on.  A damaged segment is
 * rewritten with its good frames (unless read-only); `last` says it
 * is the last one, whose damaged tail is a torn write to cut off.
 */
static int
spool_seg_scan(struct spool *sp, uint64_t name, bool last,
    struct spool_scan_state *ss)
{
	struct spool_seg seg;
	struct spool_frame fr;
	char file[SPOOL_SEG_NAME_MAX];
	uint64_t off = 0, damage, min_seq = ss->last_seq;
	bool torn, damaged = false;
	struct stat st;
	int rc;

	memset(&seg, 0, sizeof(seg));
	seg.name = name;
	spool_seg_filename(name, file, sizeof(file));
	if (fstatat(sp->dirfd, file, &st, 0) == -1) {
		if (errno == ENOENT)
			return 0;
		log_warn("spool %s: %s", sp->dir, file);
		return -1;
	}
	seg.bytes = (uint64_t)st.st_size;
	if ((rc = spool_reader_open(sp, &seg)) != 0)
		return rc == 1 ? 0 : -1;
	for (;;) {
		enum spool_scan s = spool_scan_next(&sp->rd, off, ss->last_seq,
		    &fr, &damage, &torn);
		if (damage != UINT64_MAX) {
			damaged = true;
			if (s == SPOOL_SCAN_END && last && torn) {
				if (!sp->read_only)
					log_warnx("spool %s: %s: a torn write "
					          "at byte %" PRIu64 " cut off",
					    sp->dir, file, damage);
			} else {
				log_warnx("spool %s: %s: damaged bytes from "
				          "%" PRIu64 " skipped",
				    sp->dir, file, damage);
				if (!ss->damage_open) {
					ss->damage_open = true;
					ss->damage_from = ss->last_seq + 1;
				}
			}
		}
		if (s == SPOOL_SCAN_END)
			break;
		if (ss->damage_open)
			spool_note_damage_end(sp, ss, fr.seq);
		if (seg.count++ == 0)
			seg.first_seq = fr.seq;
		seg.last_seq = fr.seq;
		if (fr.seq <= sp->acked_seq)
			seg.acked++;
		ss->last_seq = fr.seq;
		ss->last_off = fr.off;
		ss->last_len = fr.len;
		ss->last_name = name;
		off = fr.off + SPOOL_FRAME_SIZE(&fr);
	}
	/* Damage at the very end of the spool hides no seq we could
	 * name: it is counted, and the chain goes on from the last good
	 * record. */
	if (last && ss->damage_open) {
		ss->damage_open = false;
		sp->corrupt++;
	}
	sp->bytes += seg.bytes;
	if (spool_seg_push(sp, &seg) == -1)
		return -1;
	if (!damaged || sp->read_only)
		return 0;
	/* A failed rewrite (a full disk) leaves the damage to be found
	 * again next time; the records are indexed all the same. */
	if (spool_seg_rewrite(sp, &sp->segs[sp->nsegs - 1], min_seq) == 0 &&
	    ss->last_name == name && seg.count > 0)
		ss->last_off = sp->segs[sp->nsegs - 1].bytes -
		    (SPOOL_HDR + ss->last_len + SPOOL_CRC);
	return 0;
}

static int
spool_name_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* spool_list: the names of the segment files, sorted; leftover
 * temporary files are removed (unless read-only). */
static int
spool_list(struct spool *sp, uint64_t **names, size_t *n)
{
	struct dirent *de;
	uint64_t *v = NULL, *grown;
	size_t cap = 0;
	DIR *d;

	*n = 0;
	if ((d = spool_opendir(sp)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL) {
		size_t len = strlen(de->d_name);
		uint64_t name = spool_seg_parse_name(de->d_name);
		if (name == 0) {
			if (!sp->read_only && len > 4 &&
			    strcmp(de->d_name + len - 4, ".tmp") == 0)
				unlinkat(sp->dirfd, de->d_name, 0);
			continue;
		}
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((grown = reallocarray(v, cap, sizeof(*v))) ==
			    NULL) {
				log_warn("spool %s: reallocarray", sp->dir);
				free(v);
				closedir(d);
				return -1;
			}
			v = grown;
		}
		v[(*n)++] = name;
	}
	closedir(d);
	if (*n > 1)
		qsort(v, *n, sizeof(*v), spool_name_cmp);
	*names = v;
	return 0;
}

/* spool_tail_hash: the hash of the last good record, for `prev`. */
static int
spool_tail_hash(struct spool *sp, const struct spool_scan_state *ss)
{
	struct spool_seg seg;
	struct spool_frame fr;
	const char *line;

	memset(&seg, 0, sizeof(seg));
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].name == ss->last_name)
			seg = sp->segs[i];
	fr.off = ss->last_off;
	fr.len = ss->last_len;
	fr.seq = ss->last_seq;
	if (spool_reader_open(sp, &seg) != 0 ||
	    spool_frame_check(&sp->rd, fr.off, fr.seq - 1, &fr) !=
	        SPOOL_FRAME_OK ||
	    (line = spool_frame_line(&sp->rd, &fr)) == NULL) {
		log_warnx("spool %s: cannot read the last record back",
		    sp->dir);
		return -1;
	}
	record_hash(line, fr.len, sp->last_hash);
	return 0;
}

/*
 * spool_recover: index the segments, cut a torn tail, skip damage (a
 * loss record names what it hid) and find where the chain goes on.
 */
int
spool_recover(struct spool *sp)
{
	struct spool_scan_state ss;
	uint64_t *names = NULL;
	size_t n;
	int rc = -1;

	memset(&ss, 0, sizeof(ss));
	if (spool_list(sp, &names, &n) == -1)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (spool_seg_scan(sp, names[i], i + 1 == n, &ss) == -1)
			goto done;
	/* Empty segments (all damage, or a segment just begun) go. */
	for (size_t i = 0; i < sp->nsegs;)
		if (sp->segs[i].count == 0 && !sp->read_only)
			spool_seg_remove(sp, i);
		else
			i++;
	if (ss.last_seq > sp->acked_seq) {
		sp->last_seq = ss.last_seq;
		if (spool_tail_hash(sp, &ss) == -1)
			goto done;
	} else if (sp->acked_seq > 0 && ss.last_seq == sp->acked_seq &&
	    spool_tail_hash(sp, &ss) == 0) {
		sp->last_seq = ss.last_seq;
	} else if (sp->acked_seq > 0) {
		/* Everything was acknowledged and its files are gone: the
		 * cursor's hash links the chain on. */
		sp->last_seq = sp->acked_seq;
		memcpy(sp->last_hash, sp->acked_hash, RECORD_HASH_LEN);
		if (sodium_is_zero(sp->last_hash, RECORD_HASH_LEN) &&
		    !sp->read_only) {
			/* Nothing to link to: what is left is acknowledged;
			 * a new chain begins. */
			log_warnx("spool %s: the hash of the last record, seq "
			          "%" PRIu64 ", is unknown: a new chain begins",
			    sp->dir, sp->acked_seq);
			while (sp->nsegs > 0)
				spool_seg_remove(sp, 0);
			sp->dropped = sp->corrupt = 0;
			ss.loss_count = 0;
			if (spool_chain_new(sp) == -1)
				goto done;
		}
	}
	spool_drop_acked(sp);
	sp->synced_seq = sp->last_seq;
	if (ss.loss_count > 0) {
		sp->dropped += ss.loss_count;
		log_warnx("spool %s: %" PRIu64 " record%s lost to damage (seq "
		          "%" PRIu64 " to %" PRIu64 ")",
		    sp->dir, ss.loss_count, ss.loss_count == 1 ? "" : "s",
		    ss.loss_first, ss.loss_last);
		if (!sp->read_only) {
			sp->pending.first = ss.loss_first;
			sp->pending.last = ss.loss_last;
			sp->pending.count = ss.loss_count;
			sp->pending.reason = "corrupt";
		}
	}
	sp->oldest = spool_head_time(sp);
	rc = 0;
done:
	free(names);
	return rc;
}
