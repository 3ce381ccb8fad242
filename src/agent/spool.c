/*
 * spool.c -- the probe's durable, hash-chained queue of records
 * (src/agent/spool.h is the contract, doc/spool.md the files).
 *
 * The queue lives on disk.  In memory there is one entry per segment
 * file (its first and last seq, how many records it holds and how many
 * of them are acknowledged, its size), one read buffer, one frame
 * buffer and a cached read position, whatever the queue holds.
 *
 * The frame format, the reader and scanner, and recovery at open:
 * spool_frame.c; what the two share: spool_int.h.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "fileio.h"
#include "log.h"
#include "record.h"
#include "result.h"
#include "spool.h"
#include "spool_int.h"
#include "sysutil.h"

#define SPOOL_MAX_DEFAULT      (UINT64_C(64) << 20)
#define SPOOL_MIN_FREE_DEFAULT (UINT64_C(16) << 20)
#define SPOOL_SEGMENT_DEFAULT  (UINT64_C(1) << 20)
#define SPOOL_SEGMENT_MIN      (UINT64_C(4) << 10)
#define SPOOL_SYNC_DEFAULT     CW_USEC_PER_SEC
#define SPOOL_STATVFS_EVERY    (UINT64_C(64) << 10) /* bytes appended */
#define SPOOL_SEG_PREFIX       "seg-"
#define SPOOL_SEG_SUFFIX       ".log"
#define SPOOL_ZERO_HASH \
	"0000000000000000000000000000000000000000000000000000000000000000"

static int spool_loss_flush(struct spool *);

/* --- Small helpers --- */

void
spool_seg_filename(uint64_t name, char *buf, size_t len)
{
	snprintf(buf, len, SPOOL_SEG_PREFIX "%020" PRIu64 SPOOL_SEG_SUFFIX,
	    name);
}

/* spool_seg_parse_name: seq of "seg-<20 digits>.log"; 0 if not one. */
uint64_t
spool_seg_parse_name(const char *file)
{
	size_t plen = strlen(SPOOL_SEG_PREFIX);
	uint64_t v = 0;

	if (strlen(file) != plen + 20 + strlen(SPOOL_SEG_SUFFIX) ||
	    strncmp(file, SPOOL_SEG_PREFIX, plen) != 0 ||
	    strcmp(file + plen + 20, SPOOL_SEG_SUFFIX) != 0)
		return 0;
	for (size_t i = plen; i < plen + 20; i++) {
		if (file[i] < '0' || file[i] > '9' || v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(file[i] - '0');
	}
	return v;
}

/* spool_file_write: replace file `name` of the spool atomically with
 * `text`: a temporary file, fsync, rename, fsync of the directory. */
static int
spool_file_write(struct spool *sp, const char *name, const char *text)
{
	char tmp[64];

	snprintf(tmp, sizeof(tmp), "%s.tmp", name);
	switch (
	    fileio_write_atomic(sp->dirfd, name, 0600, text, strlen(text))) {
	case FILEIO_OK:
		return 0;
	case FILEIO_DIRSYNC:
		log_warn("spool %s: fsync of the directory", sp->dir);
		return 0;
	case FILEIO_NAME:
	case FILEIO_CREATE:
		log_warn("spool %s: %s", sp->dir, tmp);
		return -1;
	case FILEIO_WRITE:
		log_warn("spool %s: writing %s", sp->dir, tmp);
		return -1;
	case FILEIO_RENAME:
		break;
	}
	log_warn("spool %s: replacing %s", sp->dir, name);
	return -1;
}

/* spool_file_read: the first line of file `name` into buf (without
 * the newline).  Returns 0, 1 when there is no such file, -1. */
static int
spool_file_read(struct spool *sp, const char *name, char *buf, size_t len)
{
	ssize_t n;
	int fd;
	char *nl;

	if ((fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		log_warn("spool %s: %s", sp->dir, name);
		return -1;
	}
	do
		n = read(fd, buf, len - 1);
	while (n == -1 && errno == EINTR);
	close(fd);
	if (n == -1) {
		log_warn("spool %s: reading %s", sp->dir, name);
		return -1;
	}
	buf[n] = '\0';
	if ((nl = strchr(buf, '\n')) == NULL) {
		log_warnx("spool %s: %s is not one line", sp->dir, name);
		return -1;
	}
	*nl = '\0';
	return 0;
}

static int
spool_hex2bin(const char *hex, unsigned char *out, size_t len)
{
	size_t got = 0;

	if (!record_is_hex(hex, len * 2) ||
	    sodium_hex2bin(out, len, hex, len * 2, NULL, &got, NULL) != 0 ||
	    got != len)
		return -1;
	return 0;
}

/* --- Segments --- */

static struct spool_seg *
spool_seg_last(struct spool *sp)
{
	return sp->nsegs > 0 ? &sp->segs[sp->nsegs - 1] : NULL;
}

int
spool_seg_push(struct spool *sp, const struct spool_seg *seg)
{
	if (sp->nsegs == sp->segs_cap) {
		size_t cap = sp->segs_cap ? sp->segs_cap * 2 : 16;
		struct spool_seg *grown = reallocarray(sp->segs, cap,
		    sizeof(*grown));
		if (grown == NULL) {
			log_warn("spool %s: reallocarray", sp->dir);
			return -1;
		}
		sp->segs = grown;
		sp->segs_cap = cap;
	}
	sp->segs[sp->nsegs++] = *seg;
	return 0;
}

/* spool_seg_remove: delete segment i, its file and its entry. */
void
spool_seg_remove(struct spool *sp, size_t i)
{
	char file[SPOOL_SEG_NAME_MAX];
	struct spool_seg *seg = &sp->segs[i];

	if (sp->rd.fd != -1 && sp->rd.name == seg->name)
		spool_reader_close(&sp->rd);
	if (sp->pos.valid && sp->pos.name == seg->name)
		sp->pos.valid = false;
	if (i == sp->nsegs - 1 && sp->fd != -1) {
		close(sp->fd);
		sp->fd = -1;
	}
	spool_seg_filename(seg->name, file, sizeof(file));
	if (!sp->read_only && unlinkat(sp->dirfd, file, 0) == -1 &&
	    errno != ENOENT)
		log_warn("spool %s: deleting %s", sp->dir, file);
	sp->bytes -= seg->bytes;
	memmove(&sp->segs[i], &sp->segs[i + 1],
	    (sp->nsegs - i - 1) * sizeof(*sp->segs));
	sp->nsegs--;
	sp->dir_dirty = true;
}

/* spool_seg_new: start segment seg-<seq>.log for records from `seq`. */
static int
spool_seg_new(struct spool *sp, uint64_t seq)
{
	struct spool_seg seg;
	char file[SPOOL_SEG_NAME_MAX];
	struct spool_seg *last = spool_seg_last(sp);

	if (sp->fd != -1) {
		/* What it holds is synced before it is left behind. */
		if (sp->dirty && fdatasync(sp->fd) == -1)
			log_warn("spool %s: fdatasync", sp->dir);
		close(sp->fd);
		sp->fd = -1;
	}
	if (last != NULL && last->count == 0 && last->name < seq)
		spool_seg_remove(sp, sp->nsegs - 1);
	spool_seg_filename(seq, file, sizeof(file));
	sp->fd = openat(sp->dirfd, file,
	    O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600);
	if (sp->fd == -1) {
		log_warn("spool %s: creating %s", sp->dir, file);
		return -1;
	}
	memset(&seg, 0, sizeof(seg));
	seg.name = seq;
	if (spool_seg_push(sp, &seg) == -1) {
		close(sp->fd);
		sp->fd = -1;
		unlinkat(sp->dirfd, file, 0);
		return -1;
	}
	sp->dir_dirty = true;
	return 0;
}

/* spool_seg_open_last: open the last segment for appending. */
static int
spool_seg_open_last(struct spool *sp)
{
	struct spool_seg *last = spool_seg_last(sp);
	char file[SPOOL_SEG_NAME_MAX];

	if (last == NULL || sp->fd != -1)
		return 0;
	spool_seg_filename(last->name, file, sizeof(file));
	sp->fd = openat(sp->dirfd, file, O_WRONLY | O_APPEND | O_CLOEXEC);
	if (sp->fd == -1) {
		log_warn("spool %s: %s", sp->dir, file);
		return -1;
	}
	return 0;
}

static uint64_t
spool_depth(const struct spool *sp)
{
	uint64_t depth = 0;

	for (size_t i = 0; i < sp->nsegs; i++)
		depth += sp->segs[i].count - sp->segs[i].acked;
	return depth;
}

/* spool_drop_acked: segments whose records are all acknowledged go,
 * all but the last (it holds the chain's end).  Acknowledgements go in
 * seq order, so such segments come first. */
void
spool_drop_acked(struct spool *sp)
{
	if (sp->read_only)
		return;
	while (sp->nsegs > 1 && sp->segs[0].count == sp->segs[0].acked)
		spool_seg_remove(sp, 0);
}

/* --- The cursor and the chain file --- */

/* spool_cursor_write: acked seq, its hash, the counters and the time
 * of the last receipt. */
static int
spool_cursor_write(struct spool *sp)
{
	char hash[RECORD_HASH_HEX + 1], text[256];

	if (sp->read_only)
		return 0;
	record_hex(sp->acked_hash, RECORD_HASH_LEN, hash);
	snprintf(text, sizeof(text),
	    "%s %" PRIu64 " %s %" PRIu64 " %" PRIu64 " %lld\n", sp->chain,
	    sp->acked_seq, hash, sp->dropped, sp->corrupt,
	    (long long)sp->receipt_time);
	return spool_file_write(sp, "cursor", text);
}

/* spool_cursor_read: the cursor of this chain, if there is one. */
static int
spool_cursor_read(struct spool *sp)
{
	char text[256], chain[64], hash[128];
	uint64_t seq, dropped, corrupt;
	long long receipt = 0;
	int rc, n;

	if ((rc = spool_file_read(sp, "cursor", text, sizeof(text))) != 0)
		return rc == 1 ? 0 : -1;
	/* A cursor written before the receipt's time was kept has five
	 * fields: the time is unknown. */
	n = sscanf(text, "%63s %" SCNu64 " %127s %" SCNu64 " %" SCNu64 " %lld",
	    chain, &seq, hash, &dropped, &corrupt, &receipt);
	if ((n != 5 && n != 6) || receipt < 0 ||
	    !record_is_hex(chain, RECORD_ID_HEX) ||
	    spool_hex2bin(hash, sp->acked_hash, RECORD_HASH_LEN) == -1) {
		log_warnx("spool %s: cursor is damaged; reading from the "
		          "start of the chain",
		    sp->dir);
		memset(sp->acked_hash, 0, sizeof(sp->acked_hash));
		return 0;
	}
	if (strcmp(chain, sp->chain) != 0) {
		log_warnx("spool %s: cursor of another chain ignored", sp->dir);
		memset(sp->acked_hash, 0, sizeof(sp->acked_hash));
		return 0;
	}
	sp->acked_seq = seq;
	sp->dropped = dropped;
	sp->corrupt = corrupt;
	sp->receipt_time = (cw_usec_t)receipt;
	return 0;
}

/* spool_chain_new: a new random chain from seq 1. */
int
spool_chain_new(struct spool *sp)
{
	unsigned char id[RECORD_ID_HEX / 2];
	char text[128];

	randombytes_buf(id, sizeof(id));
	record_hex(id, sizeof(id), sp->chain);
	sp->last_seq = 0;
	memset(sp->last_hash, 0, sizeof(sp->last_hash));
	sp->acked_seq = 0;
	memset(sp->acked_hash, 0, sizeof(sp->acked_hash));
	sp->receipt_time = 0;
	snprintf(text, sizeof(text), "%s 1 %s\n", sp->chain, sp->probe);
	if (spool_file_write(sp, "chain", text) == -1)
		return -1;
	log_info("spool %s: new chain %s", sp->dir, sp->chain);
	return spool_cursor_write(sp);
}

DIR *
spool_opendir(struct spool *sp)
{
	DIR *d;
	int fd;

	if ((fd = openat(sp->dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	        -1 ||
	    (d = fdopendir(fd)) == NULL) {
		if (fd != -1)
			close(fd);
		log_warn("spool %s: opendir", sp->dir);
		return NULL;
	}
	return d;
}

/* spool_set_aside: segments and cursor of an unknown chain (its chain
 * file is gone) move to orphaned-<time>/, kept for the operator. */
static int
spool_set_aside(struct spool *sp)
{
	char sub[64], to[64 + 256 + 2];
	struct dirent *de;
	DIR *d;
	int moved = 0;

	if ((d = spool_opendir(sp)) == NULL)
		return -1;
	snprintf(sub, sizeof(sub), "orphaned-%lld",
	    (long long)(cw_real_usec() / CW_USEC_PER_SEC));
	while ((de = readdir(d)) != NULL) {
		if (spool_seg_parse_name(de->d_name) == 0 &&
		    strcmp(de->d_name, "cursor") != 0)
			continue;
		if (moved++ == 0 && mkdirat(sp->dirfd, sub, 0700) == -1 &&
		    errno != EEXIST) {
			log_warn("spool %s: mkdir %s", sp->dir, sub);
			closedir(d);
			return -1;
		}
		snprintf(to, sizeof(to), "%s/%s", sub, de->d_name);
		if (renameat(sp->dirfd, de->d_name, sp->dirfd, to) == -1)
			log_warn("spool %s: moving %s", sp->dir, de->d_name);
	}
	closedir(d);
	if (moved > 0)
		log_warnx(
		    "spool %s: the chain file is gone: %d file%s of the "
		    "old chain moved to %s/%s (not uploaded); a new chain "
		    "starts",
		    sp->dir, moved, moved == 1 ? "" : "s", sp->dir, sub);
	return 0;
}

/* spool_chain_load: the chain file, or a new chain.  Returns 0 when an
 * existing chain was loaded, 1 when a new one began, -1 on error. */
static int
spool_chain_load(struct spool *sp)
{
	char text[256], chain[64], probe[64];
	unsigned long long start;
	int rc, n;

	if ((rc = spool_file_read(sp, "chain", text, sizeof(text))) == -1)
		return -1;
	if (rc == 1) {
		if (sp->read_only) {
			log_warnx("spool %s: no spool here (no chain file)",
			    sp->dir);
			return -1;
		}
		if (spool_set_aside(sp) == -1 || spool_chain_new(sp) == -1)
			return -1;
		return 1;
	}
	probe[0] = '\0';
	n = sscanf(text, "%63s %llu %63s", chain, &start, probe);
	if (n < 2 || !record_is_hex(chain, RECORD_ID_HEX) || start != 1) {
		log_warnx("spool %s: the chain file is damaged; move the "
		          "spool away to start afresh",
		    sp->dir);
		return -1;
	}
	memcpy(sp->chain, chain, RECORD_ID_HEX + 1);
	if (sp->probe[0] == '\0' && n == 3 &&
	    record_is_hex(probe, RECORD_ID_HEX))
		memcpy(sp->probe, probe, RECORD_ID_HEX + 1);
	else if (sp->probe[0] != '\0' &&
	    (n != 3 || strcmp(probe, sp->probe) != 0)) {
		log_warnx("spool %s: it belongs to probe %s, not to this key's "
		          "probe %s; move it away (or use the old key)",
		    sp->dir, n == 3 ? probe : "(unknown)", sp->probe);
		return -1;
	}
	return 0;
}

/* --- Positions --- */

/*
 * spool_seek: the first record with a seq above `after`: its segment
 * (*segi), offset and the records of that segment before it.  Returns
 * 1 when there is one, 0 when there is none, -1 on error.  Uses the
 * cached position when it is on the way.
 */
static int
spool_seek(struct spool *sp, uint64_t after, size_t *segi, uint64_t *off,
    uint64_t *nbefore, struct spool_frame *fr)
{
	uint64_t damage, min_seq;
	bool torn;
	size_t i;
	int rc;

	for (i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].count > 0 && sp->segs[i].last_seq > after)
			break;
	for (; i < sp->nsegs; i++) {
		struct spool_seg *seg = &sp->segs[i];
		*off = 0;
		*nbefore = 0;
		min_seq = 0;
		if (sp->pos.valid && sp->pos.name == seg->name &&
		    sp->pos.seq <= after) {
			*off = sp->pos.off;
			*nbefore = sp->pos.nbefore;
			min_seq = sp->pos.seq;
		}
		if ((rc = spool_reader_open(sp, seg)) == -1)
			return -1;
		if (rc == 1)
			continue; /* deleted under a reader */
		while (spool_scan_next(&sp->rd, *off, min_seq, fr, &damage,
		           &torn) == SPOOL_SCAN_FRAME) {
			if (fr->seq > after) {
				*segi = i;
				*off = fr->off;
				return 1;
			}
			min_seq = fr->seq;
			*off = fr->off + SPOOL_FRAME_SIZE(fr);
			(*nbefore)++;
		}
	}
	return 0;
}

/* spool_line_time: the "time" of a record line, or 0. */
static cw_usec_t
spool_line_time(const char *line, size_t len)
{
	static const char key[] = "\"time\":\"";
	const char *p = memmem(line, len, key, sizeof(key) - 1);
	char text[CW_TIME_STRLEN];
	const char *end;
	cw_usec_t t;

	if (p == NULL)
		return 0;
	p += sizeof(key) - 1;
	end = memchr(p, '"', len - (size_t)(p - line));
	if (end == NULL || (size_t)(end - p) >= sizeof(text))
		return 0;
	memcpy(text, p, (size_t)(end - p));
	text[end - p] = '\0';
	return cw_time_parse(text, &t) == 0 ? t : 0;
}

/* spool_head_time: the time of the oldest unacknowledged record; 0
 * when there is none. */
cw_usec_t
spool_head_time(struct spool *sp)
{
	struct spool_frame fr;
	uint64_t off, nbefore;
	const char *line;
	cw_usec_t t;
	size_t i;

	if (spool_seek(sp, sp->acked_seq, &i, &off, &nbefore, &fr) != 1 ||
	    (line = spool_frame_line(&sp->rd, &fr)) == NULL)
		return 0;
	t = spool_line_time(line, fr.len);
	return t != 0 ? t : cw_real_usec();
}

/* --- Opening and closing --- */

/* spool_lock: one writer per spool. */
static int
spool_lock(struct spool *sp)
{
	sp->lockfd = openat(sp->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC,
	    0600);
	if (sp->lockfd == -1) {
		log_warn("spool %s: lock", sp->dir);
		return -1;
	}
	if (flock(sp->lockfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			log_warnx("spool %s: in use by another corewatch "
			          "process",
			    sp->dir);
		else
			log_warn("spool %s: flock", sp->dir);
		return -1;
	}
	return 0;
}

static void
spool_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct spool *sp = arg;

	(void)fd;
	(void)what;
	if (sp->dirty || sp->dir_dirty)
		spool_sync(sp);
	if (sp->pending.reason != NULL)
		spool_loss_flush(sp);
}

/* spool_config_apply: copy the configuration, defaults filled in. */
static int
spool_config_apply(struct spool *sp, const struct spool_config *cfg)
{
	if (cfg->dir == NULL || (cfg->probe == NULL && !cfg->read_only) ||
	    (cfg->probe != NULL && !record_is_hex(cfg->probe, RECORD_ID_HEX))) {
		log_warnx("spool: a directory and a probe id are needed");
		return -1;
	}
	if ((sp->dir = strdup(cfg->dir)) == NULL) {
		log_warn("spool: strdup");
		return -1;
	}
	if (cfg->probe != NULL)
		memcpy(sp->probe, cfg->probe, RECORD_ID_HEX + 1);
	sp->read_only = cfg->read_only;
	sp->max_bytes = cfg->max_bytes ? cfg->max_bytes : SPOOL_MAX_DEFAULT;
	sp->min_free = cfg->min_free_bytes ? cfg->min_free_bytes :
	                                     SPOOL_MIN_FREE_DEFAULT;
	sp->segment_bytes = cfg->segment_bytes ? cfg->segment_bytes :
	                                         SPOOL_SEGMENT_DEFAULT;
	/* Dropping goes by whole segments: keep several under the cap. */
	if (sp->segment_bytes > sp->max_bytes / 4)
		sp->segment_bytes = sp->max_bytes / 4;
	if (sp->segment_bytes < SPOOL_SEGMENT_MIN)
		sp->segment_bytes = SPOOL_SEGMENT_MIN;
	sp->sync_interval = cfg->sync_interval > 0 ? cfg->sync_interval :
	                                             SPOOL_SYNC_DEFAULT;
	return 0;
}

struct spool *
spool_open(const struct spool_config *cfg, struct event_base *base)
{
	struct spool *sp;
	struct timeval tv;
	uint64_t dropped = 0, corrupt = 0;

	if ((sp = calloc(1, sizeof(*sp))) == NULL) {
		log_warn("spool: calloc");
		return NULL;
	}
	sp->dirfd = sp->lockfd = sp->fd = sp->rd.fd = -1;
	if (spool_config_apply(sp, cfg) == -1)
		goto fail;
	if ((sp->rd.buf = malloc(SPOOL_BUF)) == NULL ||
	    (sp->frame = malloc(SPOOL_FRAME_MAX + 1)) == NULL) {
		log_warn("spool %s: malloc", sp->dir);
		goto fail;
	}
	if (!sp->read_only && sysutil_mkdirs(sp->dir) == -1) {
		log_warn("spool %s: cannot create it", sp->dir);
		goto fail;
	}
	if ((sp->dirfd = open(sp->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) ==
	    -1) {
		log_warn("spool %s", sp->dir);
		goto fail;
	}
	if (!sp->read_only && spool_lock(sp) == -1)
		goto fail;
	switch (spool_chain_load(sp)) {
	case -1:
		goto fail;
	case 0:
		if (spool_cursor_read(sp) == -1)
			goto fail;
		dropped = sp->dropped;
		corrupt = sp->corrupt;
		if (spool_recover(sp) == -1)
			goto fail;
		break;
	default:
		break;
	}
	if (!sp->read_only && spool_seg_open_last(sp) == -1)
		goto fail;
	/* What recovery found is written down now if it can be; if not
	 * (a full disk), it stays pending and the timer tries again. */
	if (!sp->read_only &&
	    (sp->dropped != dropped || sp->corrupt != corrupt)) {
		spool_cursor_write(sp);
		spool_loss_flush(sp);
	}
	if (base != NULL && !sp->read_only) {
		if ((sp->timer = event_new(base, -1, EV_PERSIST, spool_timer_cb,
		         sp)) == NULL)
			goto fail;
		cw_usec_to_timeval(sp->sync_interval, &tv);
		if (event_add(sp->timer, &tv) == -1)
			goto fail;
	}
	log_debug("spool %s: chain %s, seq %" PRIu64 ", acknowledged %" PRIu64
	          ", %zu segment%s",
	    sp->dir, sp->chain, sp->last_seq, sp->acked_seq, sp->nsegs,
	    sp->nsegs == 1 ? "" : "s");
	return sp;
fail:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	if (sp == NULL)
		return;
	if (sp->timer != NULL)
		event_free(sp->timer);
	if (!sp->read_only && sp->dirfd != -1 && sp->lockfd != -1) {
		if (sp->pending.reason != NULL)
			spool_loss_flush(sp);
		spool_sync(sp);
	}
	if (sp->fd != -1)
		close(sp->fd);
	spool_reader_close(&sp->rd);
	if (sp->lockfd != -1)
		close(sp->lockfd);
	if (sp->dirfd != -1)
		close(sp->dirfd);
	free(sp->rd.buf);
	free(sp->frame);
	free(sp->segs);
	free(sp->dir);
	free(sp);
}

int
spool_sync(struct spool *sp)
{
	int rc = 0;

	if (sp->read_only)
		return 0;
	if (sp->dirty && sp->fd != -1 && fdatasync(sp->fd) == -1) {
		log_warn("spool %s: fdatasync", sp->dir);
		rc = -1;
	}
	if (sp->dir_dirty && fsync(sp->dirfd) == -1) {
		log_warn("spool %s: fsync of the directory", sp->dir);
		rc = -1;
	}
	if (rc == 0) {
		sp->dirty = sp->dir_dirty = false;
		sp->synced_seq = sp->last_seq;
		sp->last_sync = cw_real_usec();
	}
	return rc;
}

/* --- Appending --- */

/*
 * spool_envelope: the record of `result`: probe, chain, seq, prev,
 * type, then the result's other keys in their order (values shared,
 * not copied).  NULL when out of memory.
 */
static json_t *
spool_envelope(struct spool *sp, const json_t *result, uint64_t seq)
{
	char prev[RECORD_HASH_HEX + 1];
	const char *key;
	json_t *rec, *v;

	if ((rec = json_object()) == NULL)
		return NULL;
	if (seq == 1)
		memcpy(prev, SPOOL_ZERO_HASH, sizeof(prev));
	else
		record_hex(sp->last_hash, RECORD_HASH_LEN, prev);
	if (json_object_set_new(rec, "probe", json_string(sp->probe)) ||
	    json_object_set_new(rec, "chain", json_string(sp->chain)) ||
	    json_object_set_new(rec, "seq", json_integer((json_int_t)seq)) ||
	    json_object_set_new(rec, "prev", json_string(prev)))
		goto fail;
	if ((v = json_object_get(result, "type")) != NULL &&
	    json_object_set(rec, "type", v) == -1)
		goto fail;
	/* Iterating does not change the object. */
	json_object_foreach((json_t *)result, key, v) {
		if (strcmp(key, "probe") == 0 || strcmp(key, "chain") == 0 ||
		    strcmp(key, "seq") == 0 || strcmp(key, "prev") == 0 ||
		    strcmp(key, "type") == 0)
			continue;
		if (json_object_set(rec, key, v) == -1)
			goto fail;
	}
	return rec;
fail:
	json_decref(rec);
	return NULL;
}

/* spool_loss_note: `count` records of seqs first..last are lost for
 * `reason`.  A pending loss of another reason is written first; when it
 * cannot be (a full disk), one pending loss covers both, under the
 * first reason. */
static void
spool_loss_note(struct spool *sp, uint64_t first, uint64_t last, uint64_t count,
    const char *reason)
{
	struct spool_loss *p = &sp->pending;

	sp->dropped += count;
	/* Writing it may note another loss (a drop for room): bounded. */
	for (int i = 0;
	     i < 4 && p->reason != NULL && strcmp(p->reason, reason) != 0; i++)
		if (spool_loss_flush(sp) == -1)
			break;
	if (p->reason == NULL) {
		p->first = first;
		p->last = last;
		p->count = count;
		p->reason = reason;
		return;
	}
	if (first < p->first)
		p->first = first;
	if (last > p->last)
		p->last = last;
	p->count += count;
}

/*
 * spool_frame_build: the framed record of `result` with seq `seq` in
 * sp->frame; *flen is the frame's size and `hash` the line's hash.
 * Returns 0, 1 when the line is over RECORD_MAX_LEN (hash still set),
 * -1 when out of memory.
 */
static int
spool_frame_build(struct spool *sp, const json_t *result, uint64_t seq,
    size_t *flen, unsigned char hash[RECORD_HASH_LEN])
{
	json_t *rec;
	size_t len;
	char *big;

	if ((rec = spool_envelope(sp, result, seq)) == NULL)
		return -1;
	len = result_dumpb(rec, (char *)sp->frame + SPOOL_HDR,
	    RECORD_MAX_LEN + 1);
	if (len == 0) {
		json_decref(rec);
		return -1;
	}
	if (len > RECORD_MAX_LEN) {
		/* Its seq is used up: hash what it would have been. */
		big = result_dump(rec);
		json_decref(rec);
		if (big == NULL)
			return -1;
		record_hash(big, strlen(big), hash);
		free(big);
		return 1;
	}
	json_decref(rec);
	memcpy(sp->frame, SPOOL_MAGIC, 4);
	spool_be32(sp->frame + 4, (uint32_t)len);
	spool_be64(sp->frame + 8, seq);
	spool_be32(sp->frame + SPOOL_HDR + len,
	    spool_crc(sp->frame, (uint32_t)len));
	record_hash(sp->frame + SPOOL_HDR, len, hash);
	*flen = SPOOL_HDR + len + SPOOL_CRC;
	return 0;
}

/* spool_can_drop: whether a segment of unacknowledged records can go. */
static bool
spool_can_drop(const struct spool *sp)
{
	for (size_t i = 0; i < sp->nsegs; i++)
		if (sp->segs[i].count > sp->segs[i].acked)
			return true;
	return false;
}

/* spool_drop_oldest: delete the oldest segment that holds records not
 * acknowledged and note them as lost for `reason`.  Returns the bytes
 * freed, 0 when nothing could go. */
static uint64_t
spool_drop_oldest(struct spool *sp, const char *reason)
{
	for (size_t i = 0; i < sp->nsegs; i++) {
		struct spool_seg *seg = &sp->segs[i];
		uint64_t first, n, bytes;
		if (seg->count == seg->acked) {
			if (i + 1 < sp->nsegs) {
				spool_seg_remove(sp, i--);
				continue;
			}
			return 0;
		}
		/* From the first unacknowledged seq: whatever is missing
		 * before this segment (an earlier loss, whose own record
		 * may be in it) is named again, so the loss records left
		 * always cover every hole. */
		first = sp->acked_seq + 1;
		n = seg->count - seg->acked;
		bytes = seg->bytes;
		log_warnx("spool %s: %s: dropping %" PRIu64 " unsent record%s "
		          "(seq %" PRIu64 " to %" PRIu64 ")",
		    sp->dir, reason, n, n == 1 ? "" : "s", first,
		    seg->last_seq);
		spool_loss_note(sp, first, seg->last_seq, n, reason);
		spool_seg_remove(sp, i);
		sp->oldest = spool_head_time(sp);
		return bytes > 0 ? bytes : 1;
	}
	return 0;
}

/* spool_free_space: bytes available to us on the spool's file system,
 * or UINT64_MAX when unknown. */
static uint64_t
spool_free_space(struct spool *sp)
{
	struct statvfs vfs;

	if (fstatvfs(sp->dirfd, &vfs) == -1) {
		log_warn("spool %s: statvfs", sp->dir);
		return UINT64_MAX;
	}
	return (uint64_t)vfs.f_bavail * vfs.f_frsize;
}

/* spool_make_room: drop the oldest unsent segments while the spool
 * with `need` more bytes passes its cap, or the file system's free
 * space is under the floor (checked every SPOOL_STATVFS_EVERY bytes,
 * or now when `force`). */
static void
spool_make_room(struct spool *sp, uint64_t need, bool force)
{
	uint64_t avail;

	while (sp->bytes + need > sp->max_bytes && spool_can_drop(sp))
		if (spool_drop_oldest(sp, "spool_full") == 0)
			break;
	if (!force && sp->since_statvfs < SPOOL_STATVFS_EVERY)
		return;
	sp->since_statvfs = 0;
	while ((avail = spool_free_space(sp)) < sp->min_free + need &&
	    spool_can_drop(sp))
		if (spool_drop_oldest(sp, "disk_full") == 0)
			break;
}

/*
 * spool_write_frame: append sp->frame (`flen` bytes, seq `seq`) to the
 * last segment, starting a new one when it is full.  On ENOSPC the
 * oldest unsent segments are dropped and the write tried again.  A
 * failed write leaves no partial frame behind.  Returns 0 or -1.
 */
static int
spool_write_frame(struct spool *sp, size_t flen, uint64_t seq)
{
	struct spool_seg *last = spool_seg_last(sp);
	size_t done;
	int tries = 0;

	for (;;) {
		last = spool_seg_last(sp);
		if ((sp->fd == -1 || last == NULL ||
		        (last->bytes > 0 &&
		            last->bytes + flen > sp->segment_bytes)) &&
		    spool_seg_new(sp, seq) == -1) {
			if ((errno != ENOSPC && errno != EDQUOT) ||
			    tries++ > 64 ||
			    spool_drop_oldest(sp, "disk_full") == 0)
				return -1;
			continue;
		}
		last = spool_seg_last(sp);
		if (fileio_write_all_count(sp->fd, sp->frame, flen, &done) == 0)
			break;
		int saved = errno;
		if (done > 0 && ftruncate(sp->fd, (off_t)last->bytes) == -1)
			log_warn("spool %s: ftruncate", sp->dir);
		errno = saved;
		log_warn("spool %s: write of seq %" PRIu64, sp->dir, seq);
		if ((saved != ENOSPC && saved != EDQUOT) || tries++ > 64 ||
		    spool_drop_oldest(sp, "disk_full") == 0) {
			errno = saved;
			return -1;
		}
	}
	last->bytes += flen;
	last->last_seq = seq;
	if (last->count++ == 0)
		last->first_seq = seq;
	sp->bytes += flen;
	sp->since_statvfs += flen;
	sp->dirty = true;
	return 0;
}

/*
 * spool_put: give `result` seq last_seq + 1 and write it.  The seq is
 * used up whether the write succeeds or not (a failure is noted as a
 * loss, `reason_fail`), so that `prev` links stay true.  `make_room`
 * runs the bounds first.  Returns the seq, 0 when the record is lost.
 */
static uint64_t
spool_put(struct spool *sp, const json_t *result, bool make_room)
{
	unsigned char hash[RECORD_HASH_LEN];
	uint64_t seq = sp->last_seq + 1;
	size_t flen = 0;
	int rc;

	if ((rc = spool_frame_build(sp, result, seq, &flen, hash)) == -1) {
		log_warnx("spool %s: out of memory for a record", sp->dir);
		return 0;
	}
	if (rc == 1) {
		log_warnx("spool %s: a record of seq %" PRIu64 " is over %d "
		          "bytes: dropped",
		    sp->dir, seq, RECORD_MAX_LEN);
		sp->last_seq = seq;
		memcpy(sp->last_hash, hash, RECORD_HASH_LEN);
		spool_loss_note(sp, seq, seq, 1, "too_large");
		return 0;
	}
	if (make_room)
		spool_make_room(sp, flen, false);
	rc = spool_write_frame(sp, flen, seq);
	sp->last_seq = seq;
	memcpy(sp->last_hash, hash, RECORD_HASH_LEN);
	if (rc == -1) {
		spool_loss_note(sp, seq, seq, 1,
		    errno == ENOSPC || errno == EDQUOT ? "disk_full" :
		                                         "write_error");
		return 0;
	}
	if (sp->oldest == 0 || spool_depth(sp) == 1) {
		json_t *t = json_object_get(result, "time");
		cw_usec_t when = 0;
		if (json_is_string(t))
			cw_time_parse(json_string_value(t), &when);
		sp->oldest = when != 0 ? when : cw_real_usec();
	}
	return seq;
}

/* spool_loss_flush: write the pending loss as a `loss` record.  Its
 * own seq, when it cannot be written, joins the loss.  Returns 0 or
 * -1 (still pending). */
static int
spool_loss_flush(struct spool *sp)
{
	struct spool_loss p = sp->pending;
	json_t *r, *lost;
	uint64_t seq;

	if (p.reason == NULL || sp->read_only)
		return 0;
	if ((r = result_new("loss", NULL, cw_real_usec())) == NULL ||
	    (lost = json_object()) == NULL) {
		json_decref(r);
		return -1;
	}
	json_object_del(r, "ok");
	json_object_del(r, "failure");
	json_object_set_new(lost, "first_seq",
	    json_integer((json_int_t)p.first));
	json_object_set_new(lost, "last_seq", json_integer((json_int_t)p.last));
	json_object_set_new(lost, "count", json_integer((json_int_t)p.count));
	json_object_set_new(r, "lost", lost);
	json_object_set_new(r, "reason", json_string(p.reason));
	memset(&sp->pending, 0, sizeof(sp->pending));
	seq = spool_put(sp, r, false);
	json_decref(r);
	if (seq == 0) {
		/* spool_put noted its own seq (and what it had to drop) as
		 * lost: one pending loss covers it all, under the first
		 * reason. */
		struct spool_loss q = sp->pending;
		sp->pending = p;
		if (q.reason != NULL) {
			if (q.first < p.first)
				sp->pending.first = q.first;
			if (q.last > p.last)
				sp->pending.last = q.last;
			sp->pending.count += q.count;
		}
		return -1;
	}
	log_info("spool %s: loss record seq %" PRIu64 ": %" PRIu64 " record%s "
	         "(seq %" PRIu64 " to %" PRIu64 ") lost, %s",
	    sp->dir, seq, p.count, p.count == 1 ? "" : "s", p.first, p.last,
	    p.reason);
	spool_cursor_write(sp); /* the counters */
	return 0;
}

uint64_t
spool_append(struct spool *sp, const json_t *result)
{
	uint64_t seq;

	if (sp->read_only || !json_is_object(result)) {
		log_warnx("spool %s: append refused (%s)", sp->dir,
		    sp->read_only ? "opened read-only" : "not an object");
		return 0;
	}
	if (sp->pending.reason != NULL)
		spool_loss_flush(sp);
	seq = spool_put(sp, result, true);
	/* Room made for this record is accounted for right after it. */
	if (sp->pending.reason != NULL)
		spool_loss_flush(sp);
	return seq;
}

/* --- Reading and acknowledging --- */

int
spool_read(struct spool *sp, uint64_t after_seq, size_t max_records,
    size_t max_bytes, struct evbuffer *body, uint64_t *first, uint64_t *last)
{
	struct spool_frame fr;
	uint64_t off, nbefore, damage, min_seq;
	size_t i, n = 0, bytes = 0;
	const char *line;
	bool torn;
	int rc;

	*first = *last = 0;
	if (max_records == 0)
		return 0;
	if ((rc = spool_seek(sp, after_seq, &i, &off, &nbefore, &fr)) != 1)
		return rc;
	for (bool first_seg = true; i < sp->nsegs; i++, first_seg = false) {
		struct spool_seg *seg = &sp->segs[i];
		if (!first_seg) {
			off = 0;
			nbefore = 0;
		}
		if ((rc = spool_reader_open(sp, seg)) == -1)
			return -1;
		if (rc == 1)
			continue;
		min_seq = n > 0 ? *last : after_seq;
		while (spool_scan_next(&sp->rd, off, min_seq, &fr, &damage,
		           &torn) == SPOOL_SCAN_FRAME) {
			if (n > 0 &&
			    (n >= max_records || bytes + fr.len > max_bytes))
				goto done;
			if ((line = spool_frame_line(&sp->rd, &fr)) == NULL ||
			    evbuffer_add(body, line, fr.len) == -1 ||
			    evbuffer_add(body, "\n", 1) == -1) {
				log_warnx("spool %s: cannot read seq %" PRIu64,
				    sp->dir, fr.seq);
				return -1;
			}
			if (n++ == 0)
				*first = fr.seq;
			*last = min_seq = fr.seq;
			bytes += fr.len;
			off = fr.off + SPOOL_FRAME_SIZE(&fr);
			nbefore++;
			sp->pos.valid = true;
			sp->pos.name = seg->name;
			sp->pos.off = off;
			sp->pos.seq = fr.seq;
			sp->pos.nbefore = nbefore;
		}
	}
done:
	/* What goes out has been synced: a power cut cannot take back a
	 * record the collector has. */
	if (n > 0 && !sp->read_only && *last > sp->synced_seq &&
	    spool_sync(sp) == -1)
		return -1;
	return (int)n;
}

/* spool_record_hash: the hash of the record `seq` into `hash`; zeros
 * when it is not in the spool (dropped). */
static void
spool_record_hash(struct spool *sp, uint64_t seq,
    unsigned char hash[RECORD_HASH_LEN])
{
	struct spool_frame fr;
	uint64_t off, nbefore;
	const char *line;
	size_t at;

	memset(hash, 0, RECORD_HASH_LEN);
	if (seq == sp->last_seq)
		memcpy(hash, sp->last_hash, RECORD_HASH_LEN);
	else if (spool_seek(sp, seq - 1, &at, &off, &nbefore, &fr) == 1 &&
	    fr.seq == seq && (line = spool_frame_line(&sp->rd, &fr)) != NULL)
		record_hash(line, fr.len, hash);
}

int
spool_ack(struct spool *sp, uint64_t seq, cw_usec_t receipt_time)
{
	struct spool_frame fr;
	uint64_t off, nbefore;
	size_t at;

	if (sp->read_only)
		return -1;
	if (seq <= sp->acked_seq)
		return 0;
	if (seq > sp->last_seq) {
		log_warnx("spool %s: acknowledgement of seq %" PRIu64 " past "
		          "the last appended, %" PRIu64 ": ignored",
		    sp->dir, seq, sp->last_seq);
		return -1;
	}
	spool_record_hash(sp, seq, sp->acked_hash);
	for (size_t i = 0; i < sp->nsegs; i++) {
		struct spool_seg *seg = &sp->segs[i];
		if (seg->count == 0)
			continue;
		if (seg->first_seq > seq)
			break;
		if (seg->last_seq <= seq) {
			seg->acked = seg->count;
			continue;
		}
		if (spool_seek(sp, seq, &at, &off, &nbefore, &fr) == 1 &&
		    at == i)
			seg->acked = nbefore;
		break;
	}
	sp->acked_seq = seq;
	if (receipt_time != 0)
		sp->receipt_time = receipt_time;
	/* Deleting before the cursor is written is safe: after a crash
	 * the old cursor points before records that are gone, and the
	 * collector has them. */
	spool_drop_acked(sp);
	sp->oldest = spool_head_time(sp);
	return spool_cursor_write(sp);
}

void
spool_get_status(const struct spool *sp, struct spool_status *st)
{
	memset(st, 0, sizeof(*st));
	memcpy(st->chain, sp->chain, sizeof(st->chain));
	st->last_seq = sp->last_seq;
	st->acked_seq = sp->acked_seq;
	st->last_receipt = sp->receipt_time;
	st->depth = spool_depth(sp);
	st->bytes = sp->bytes;
	st->oldest_unsent = st->depth > 0 ? sp->oldest : 0;
	st->dropped = sp->dropped;
	st->corrupt = sp->corrupt;
	st->last_sync = sp->last_sync;
}
