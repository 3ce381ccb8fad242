/*
 * test_spool.c -- the spool: append, read, acknowledge; every record
 * valid for the collector's record_parse with its chain linked; reopen,
 * a torn tail, a corrupt frame, the size cap, the free-space floor, a
 * record too large, read-only opens, the lock, memory that stays flat.
 */
#include "config.h"

#include <dirent.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "record.h"
#include "result.h"
#include "spool.h"

#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif

static const char probe_id[] = "0123456789abcdef0123456789abcdef";
static const char other_id[] = "fedcba9876543210fedcba9876543210";

struct fixture {
	char dir[64];
	struct spool_config cfg;
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cw-test-spool.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	f->cfg.dir = f->dir;
	f->cfg.probe = probe_id;
	f->cfg.segment_bytes = 4096;
	f->cfg.min_free_bytes = 1;
	*state = f;
	return 0;
}

static void
rm_tree(const char *dir)
{
	char path[512];
	struct dirent *de;
	struct stat st;
	DIR *d;

	if ((d = opendir(dir)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISDIR(st.st_mode))
			rm_tree(path);
		else
			unlink(path);
	}
	closedir(d);
	rmdir(dir);
}

static int
teardown(void **state)
{
	struct fixture *f = *state;

	rm_tree(f->dir);
	free(f);
	return 0;
}

/* A result like the DNS module's, `pad` bytes of padding. */
static json_t *
make_result(long long i, size_t pad)
{
	json_t *r = result_new("dns", "root-soa", cw_real_usec());
	char *text = malloc(pad + 1);

	assert_non_null(r);
	assert_non_null(text);
	memset(text, 'x', pad);
	text[pad] = '\0';
	result_set_ok(r);
	result_set_str(r, "addr", "127.0.0.1");
	result_set_int(r, "port", 53);
	result_set_int(r, "i", i);
	result_set_ms(r, "rtt_ms", 12345);
	result_set_str(r, "pad", text);
	free(text);
	return r;
}

static uint64_t
append_n(struct spool *sp, long long from, int n, size_t pad)
{
	uint64_t seq = 0;

	for (int i = 0; i < n; i++) {
		json_t *r = make_result(from + i, pad);
		seq = spool_append(sp, r);
		json_decref(r);
	}
	return seq;
}

static int
count_segments(const char *dir)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		n += strncmp(de->d_name, "seg-", 4) == 0;
	closedir(d);
	return n;
}

/* What check_all found. */
struct check {
	uint64_t records;      /* present */
	uint64_t losses;       /* loss records */
	uint64_t lost;         /* sum of their counts */
	uint64_t first, last;  /* seqs present */
	uint64_t measurements; /* dns records */
	uint64_t linked;       /* consecutive pairs checked */
	char reason[32];       /* of the last loss record */
};

/*
 * check_all: read every record in the spool (after `after`): each one
 * must pass record_parse, be of our probe and the spool's chain, come
 * in ascending seq with the envelope keys first, and be linked to the
 * one before when consecutive.  Every seq from after+1 to the last must
 * be present or named by a loss record.
 */
static void
check_all(struct spool *sp, uint64_t after, struct check *c)
{
	unsigned char prev_hash[RECORD_HASH_LEN];
	uint64_t prev_seq = after, first, last, top = 0;
	struct spool_status st;
	struct evbuffer *body;
	unsigned char *seen;
	char err[256], hex[RECORD_HASH_HEX + 1], prefix[128];
	int n;

	memset(c, 0, sizeof(*c));
	spool_get_status(sp, &st);
	assert_non_null(seen = calloc(st.last_seq + 2, 1));
	assert_non_null(body = evbuffer_new());
	while ((n = spool_read(sp, prev_seq, 1000, 1 << 20, body, &first,
	            &last)) > 0) {
		size_t len = evbuffer_get_length(body);
		char *p = (char *)evbuffer_pullup(body, -1), *end = p + len;
		while (p < end) {
			char *nl = memchr(p, '\n', (size_t)(end - p));
			struct record rec;
			assert_non_null(nl);
			if (record_parse(p, (size_t)(nl - p), &rec, err,
			        sizeof(err)) != 0)
				fail_msg("record_parse: %s: %.*s", err,
				    (int)(nl - p), p);
			assert_string_equal(rec.probe, probe_id);
			assert_string_equal(rec.chain, st.chain);
			assert_true(rec.seq > prev_seq);
			snprintf(prefix, sizeof(prefix),
			    "{\"probe\":\"%s\","
			    "\"chain\":\"%s\",\"seq\":%llu,\"prev\":\"",
			    probe_id, st.chain, (unsigned long long)rec.seq);
			assert_memory_equal(p, prefix, strlen(prefix));
			assert_memory_equal(p + strlen(prefix) + 64,
			    "\",\"type\":", 9);
			if (rec.seq == prev_seq + 1 && c->records > 0) {
				record_hex(prev_hash, RECORD_HASH_LEN, hex);
				assert_string_equal(rec.prev, hex);
				c->linked++;
			}
			if (c->records++ == 0)
				c->first = rec.seq;
			c->last = rec.seq;
			seen[rec.seq] = 1;
			if (strcmp(rec.type, "loss") == 0) {
				json_t *lost = json_object_get(rec.json,
				    "lost");
				json_int_t a = json_integer_value(
				    json_object_get(lost, "first_seq"));
				json_int_t b = json_integer_value(
				    json_object_get(lost, "last_seq"));
				assert_true(
				    a >= 1 && a <= b && (uint64_t)b < rec.seq);
				c->losses++;
				c->lost += (uint64_t)json_integer_value(
				    json_object_get(lost, "count"));
				snprintf(c->reason, sizeof(c->reason), "%s",
				    json_string_value(
				        json_object_get(rec.json, "reason")));
				for (json_int_t s = a; s <= b; s++)
					if (!seen[s])
						seen[s] = 2;
			} else if (strcmp(rec.type, "dns") == 0)
				c->measurements++;
			memcpy(prev_hash, rec.hash, RECORD_HASH_LEN);
			prev_seq = rec.seq;
			if (rec.seq > top)
				top = rec.seq;
			record_clear(&rec);
			p = nl + 1;
		}
		evbuffer_drain(body, len);
	}
	assert_int_equal(n, 0);
	for (uint64_t s = after + 1; s <= top; s++)
		if (!seen[s] && s > st.acked_seq)
			fail_msg("seq %llu neither present nor lost",
			    (unsigned long long)s);
	evbuffer_free(body);
	free(seen);
}

static struct spool *
open_spool(struct fixture *f)
{
	struct spool *sp = spool_open(&f->cfg, NULL);

	assert_non_null(sp);
	return sp;
}

/* path of the segment file with the largest (last = true) or smallest
 * name. */
static void
segment_path(const char *dir, bool last, char *out, size_t len)
{
	struct dirent *de;
	DIR *d = opendir(dir);
	char best[256] = "";

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (strncmp(de->d_name, "seg-", 4) != 0 ||
		    strstr(de->d_name, ".tmp") != NULL)
			continue;
		if (best[0] == '\0' ||
		    (last ? strcmp(de->d_name, best) > 0 :
		            strcmp(de->d_name, best) < 0))
			snprintf(best, sizeof(best), "%s", de->d_name);
	}
	closedir(d);
	assert_true(best[0] != '\0');
	snprintf(out, len, "%s/%s", dir, best);
}

static void
test_append_read_ack(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct evbuffer *body;
	struct spool *sp;
	struct check c;
	uint64_t first, last;

	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_seq, 0);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest_unsent, 0);
	assert_int_equal(strlen(st.chain), RECORD_ID_HEX);
	assert_int_equal(append_n(sp, 0, 100, 40), 100);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_seq, 100);
	assert_int_equal(st.depth, 100);
	assert_true(st.oldest_unsent > 0);
	assert_true(st.bytes > 100 * 100);
	assert_true(count_segments(f->dir) > 2);
	check_all(sp, 0, &c);
	assert_int_equal(c.records, 100);
	assert_int_equal(c.linked, 99);
	assert_int_equal(c.first, 1);

	/* Limits: records, bytes, but always one record. */
	assert_non_null(body = evbuffer_new());
	assert_int_equal(spool_read(sp, 10, 5, 1 << 20, body, &first, &last),
	    5);
	assert_int_equal(first, 11);
	assert_int_equal(last, 15);
	evbuffer_drain(body, evbuffer_get_length(body));
	assert_int_equal(spool_read(sp, 10, 100, 1, body, &first, &last), 1);
	assert_int_equal(first, 11);
	evbuffer_drain(body, evbuffer_get_length(body));
	assert_int_equal(spool_read(sp, 100, 100, 1 << 20, body, &first, &last),
	    0);
	spool_get_status(sp, &st);
	assert_true(st.last_sync > 0); /* what was read was synced */

	assert_int_equal(spool_ack(sp, 50, 0), 0);
	spool_get_status(sp, &st);
	assert_int_equal(st.acked_seq, 50);
	assert_int_equal(st.depth, 50);
	check_all(sp, 50, &c);
	assert_int_equal(c.records, 50);
	assert_int_equal(c.first, 51);
	assert_int_equal(spool_ack(sp, 40, 0), 0);   /* behind: nothing */
	assert_int_equal(spool_ack(sp, 101, 0), -1); /* never appended */
	assert_int_equal(spool_ack(sp, 100, 0), 0);
	spool_get_status(sp, &st);
	assert_int_equal(st.depth, 0);
	assert_int_equal(st.oldest_unsent, 0);
	/* Acknowledged segments are gone, but the last one. */
	assert_int_equal(count_segments(f->dir), 1);
	assert_int_equal(spool_read(sp, 100, 100, 1 << 20, body, &first, &last),
	    0);
	evbuffer_free(body);
	spool_close(sp);
}

/* A collector's received_at, far from the clock of the test. */
#define RECEIPT_AT ((cw_usec_t)1577836800123456)

static void
test_reopen_continues(void **state)
{
	struct fixture *f = *state;
	struct spool_status st, st2;
	struct spool *sp;
	struct check c;

	sp = open_spool(f);
	append_n(sp, 0, 30, 100);
	assert_int_equal(spool_ack(sp, 12, RECEIPT_AT), 0);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_receipt, RECEIPT_AT);
	spool_close(sp);

	sp = open_spool(f);
	spool_get_status(sp, &st2);
	assert_string_equal(st.chain, st2.chain);
	assert_int_equal(st2.last_seq, 30);
	assert_int_equal(st2.acked_seq, 12);
	/* The receipt's own time came back from the cursor. */
	assert_int_equal(st2.last_receipt, RECEIPT_AT);
	assert_int_equal(st2.depth, 18);
	assert_true(st2.oldest_unsent > 0);
	assert_int_equal(append_n(sp, 30, 10, 100), 40);
	check_all(sp, 0, &c);
	assert_int_equal(c.last, 40);
	assert_int_equal(c.lost, 0);
	/* The first record after the reopen links to the last before. */
	check_all(sp, 12, &c);
	assert_int_equal(c.records, 28);
	assert_int_equal(c.linked, 27);
	spool_close(sp);

	/* All acknowledged, closed, reopened: the chain goes on.  An ack
	 * without a receipt (a dead letter) keeps the last receipt's time. */
	sp = open_spool(f);
	assert_int_equal(spool_ack(sp, 40, 0), 0);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_receipt, RECEIPT_AT);
	spool_close(sp);
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.acked_seq, 40);
	assert_int_equal(st.last_receipt, RECEIPT_AT);
	assert_int_equal(append_n(sp, 40, 1, 10), 41);
	check_all(sp, 39, &c);
	assert_int_equal(c.first, 40);
	assert_int_equal(c.linked, 1);
	spool_close(sp);
}

/* A cursor of five fields, as corewatch wrote it before it kept the
 * receipt's time: read as it is, the time unknown until the next ack. */
static void
test_old_cursor(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	char path[128], text[256], *sixth;
	FILE *fp;

	sp = open_spool(f);
	append_n(sp, 0, 10, 100);
	assert_int_equal(spool_ack(sp, 5, RECEIPT_AT), 0);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/cursor", f->dir);
	assert_non_null(fp = fopen(path, "r"));
	assert_non_null(fgets(text, sizeof(text), fp));
	fclose(fp);
	/* Cut the line after its fifth field. */
	assert_non_null(sixth = strrchr(text, ' '));
	strcpy(sixth, "\n");
	assert_non_null(fp = fopen(path, "w"));
	assert_true(fputs(text, fp) >= 0);
	assert_int_equal(fclose(fp), 0);

	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.acked_seq, 5);
	assert_int_equal(st.depth, 5);
	assert_int_equal(st.last_receipt, 0);
	assert_int_equal(spool_ack(sp, 7, RECEIPT_AT + 1), 0);
	spool_close(sp);
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.acked_seq, 7);
	assert_int_equal(st.last_receipt, RECEIPT_AT + 1);
	spool_close(sp);
}

/* last_frame: the offset of the last "CWR1" in the file. */
static off_t
last_frame(const char *path)
{
	struct stat sb;
	char *data;
	off_t at = -1;
	int fd = open(path, O_RDONLY);

	assert_true(fd != -1);
	assert_int_equal(fstat(fd, &sb), 0);
	assert_non_null(data = malloc((size_t)sb.st_size));
	assert_int_equal(read(fd, data, (size_t)sb.st_size), sb.st_size);
	close(fd);
	for (off_t i = 0; i + 4 <= sb.st_size; i++)
		if (memcmp(data + i, "CWR1", 4) == 0)
			at = i;
	free(data);
	assert_true(at >= 0);
	return at;
}

static void
test_torn_tail(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	struct stat sb;
	struct check c;
	char path[256];

	sp = open_spool(f);
	append_n(sp, 0, 10, 30);
	spool_close(sp);
	segment_path(f->dir, true, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	/* Cut the last frame in the middle. */
	assert_int_equal(truncate(path, sb.st_size - 7), 0);

	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_seq, 9);
	assert_int_equal(st.corrupt, 0);
	assert_int_equal(st.dropped, 0);
	assert_int_equal(append_n(sp, 100, 1, 30), 10);
	check_all(sp, 0, &c);
	assert_int_equal(c.records, 10);
	assert_int_equal(c.linked, 9);
	assert_int_equal(c.losses, 0);
	spool_close(sp);

	/* A header cut short too: 5 bytes of the last frame left. */
	sp = open_spool(f);
	append_n(sp, 200, 1, 30);
	spool_close(sp);
	segment_path(f->dir, true, path, sizeof(path));
	assert_int_equal(truncate(path, last_frame(path) + 5), 0);
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_seq, 10);
	assert_int_equal(append_n(sp, 300, 1, 30), 11);
	check_all(sp, 0, &c);
	assert_int_equal(c.records, 11);
	spool_close(sp);
}

/* flip_byte: change the byte at `off` of `path`. */
static void
flip_byte(const char *path, off_t off)
{
	unsigned char b;
	int fd = open(path, O_RDWR);

	assert_true(fd != -1);
	assert_int_equal(pread(fd, &b, 1, off), 1);
	b ^= 0x5a;
	assert_int_equal(pwrite(fd, &b, 1, off), 1);
	close(fd);
}

static void
test_corrupt_frame(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	struct stat sb;
	struct check c;
	char path[256];

	sp = open_spool(f);
	append_n(sp, 0, 60, 100);
	spool_close(sp);
	/* In the oldest segment, a byte inside its third record's line
	 * (each frame is the same size). */
	segment_path(f->dir, false, path, sizeof(path));
	assert_int_equal(stat(path, &sb), 0);
	{
		int fd = open(path, O_RDONLY);
		unsigned char hdr[8];
		assert_int_equal(pread(fd, hdr, 8, 0), 8);
		close(fd);
		uint32_t len = (uint32_t)hdr[4] << 24 | (uint32_t)hdr[5] << 16 |
		    (uint32_t)hdr[6] << 8 | hdr[7];
		flip_byte(path, (off_t)(2 * (len + 20) + 16 + 40));
	}
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.dropped, 1);
	/* The loss record was written at open. */
	assert_int_equal(st.last_seq, 61);
	check_all(sp, 0, &c);
	assert_int_equal(c.records, 60);
	assert_int_equal(c.losses, 1);
	assert_int_equal(c.lost, 1);
	assert_string_equal(c.reason, "corrupt");
	assert_int_equal(append_n(sp, 100, 1, 10), 62);
	spool_close(sp);

	/* The damaged segment was rewritten: nothing new at reopen, and
	 * the counters were kept. */
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.corrupt, 1);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(st.last_seq, 62);
	check_all(sp, 0, &c);
	assert_int_equal(c.losses, 1);
	spool_close(sp);

	/* A damaged frame header in a middle segment. */
	segment_path(f->dir, false, path, sizeof(path));
	flip_byte(path, 1); /* the first frame's magic */
	sp = open_spool(f);
	spool_get_status(sp, &st);
	assert_int_equal(st.corrupt, 2);
	assert_int_equal(st.dropped, 2);
	check_all(sp, 0, &c);
	assert_int_equal(c.losses, 2);
	assert_int_equal(c.lost, 2);
	assert_int_equal(c.first, 2);
	spool_close(sp);
}

static void
test_size_cap(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	struct check c;

	f->cfg.max_bytes = 64 * 1024;
	sp = open_spool(f);
	append_n(sp, 0, 2000, 200);
	spool_get_status(sp, &st);
	assert_true(st.bytes <= f->cfg.max_bytes);
	assert_true(st.dropped > 1000);
	assert_int_equal(st.depth + st.dropped, st.last_seq);
	check_all(sp, 0, &c);
	assert_true(c.losses > 10);
	assert_string_equal(c.reason, "spool_full");
	/* Loss records may themselves be dropped later (a later one
	 * covers them): what is named is at most what was dropped. */
	assert_true(c.lost <= st.dropped);
	assert_int_equal(c.records, st.depth);
	assert_int_equal(c.last, st.last_seq);

	/* Acknowledged records are never dropped: ack all, fill again. */
	assert_int_equal(spool_ack(sp, st.last_seq, 0), 0);
	append_n(sp, 0, 100, 200);
	spool_get_status(sp, &st);
	assert_int_equal(st.depth, 100);
	spool_close(sp);
}

static void
test_free_floor(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	struct check c;

	/* A floor no file system can meet: unsent records go, a segment
	 * at a time, each time the free space is checked. */
	f->cfg.min_free_bytes = UINT64_C(1) << 62;
	sp = open_spool(f);
	append_n(sp, 0, 3000, 200);
	spool_get_status(sp, &st);
	assert_true(st.dropped > 0);
	assert_true(st.depth < 3000);
	check_all(sp, 0, &c);
	assert_true(c.losses > 0);
	assert_string_equal(c.reason, "disk_full");
	assert_int_equal(c.records, st.depth);
	spool_close(sp);
}

static void
test_too_large(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct spool *sp;
	struct check c;

	sp = open_spool(f);
	append_n(sp, 0, 3, 10);
	assert_int_equal(append_n(sp, 3, 1, RECORD_MAX_LEN), 0);
	spool_get_status(sp, &st);
	assert_int_equal(st.last_seq, 5); /* 4 lost, 5 says so */
	assert_int_equal(st.dropped, 1);
	assert_int_equal(append_n(sp, 4, 1, 10), 6);
	check_all(sp, 0, &c);
	assert_int_equal(c.records, 5);
	assert_int_equal(c.losses, 1);
	assert_string_equal(c.reason, "too_large");
	spool_close(sp);
}

static void
test_read_only_and_lock(void **state)
{
	struct fixture *f = *state;
	struct spool_config ro;
	struct spool_status st;
	struct spool *sp, *r;
	struct check c;

	/* No spool yet: a read-only open does not make one. */
	ro = f->cfg;
	ro.read_only = true;
	ro.probe = NULL;
	assert_null(spool_open(&ro, NULL));

	sp = open_spool(f);
	append_n(sp, 0, 20, 50);
	assert_int_equal(spool_ack(sp, 5, 0), 0);
	assert_null(spool_open(&f->cfg, NULL)); /* one writer */
	assert_non_null(r = spool_open(&ro, NULL));
	spool_get_status(r, &st);
	assert_int_equal(st.last_seq, 20);
	assert_int_equal(st.acked_seq, 5);
	assert_int_equal(st.depth, 15);
	{
		json_t *x = make_result(0, 1);
		assert_int_equal(spool_append(r, x), 0);
		json_decref(x);
	}
	check_all(r, 5, &c);
	assert_int_equal(c.records, 15);
	assert_int_equal(spool_ack(r, 10, 0), -1);
	spool_close(r);
	spool_close(sp);

	/* Another key's probe may not take the spool over. */
	f->cfg.probe = other_id;
	assert_null(spool_open(&f->cfg, NULL));
	f->cfg.probe = probe_id;
}

static void
test_chain_file_gone(void **state)
{
	struct fixture *f = *state;
	struct spool_status st, st2;
	struct spool *sp;
	char path[256];

	sp = open_spool(f);
	append_n(sp, 0, 10, 50);
	spool_get_status(sp, &st);
	spool_close(sp);
	snprintf(path, sizeof(path), "%s/chain", f->dir);
	assert_int_equal(unlink(path), 0);
	sp = open_spool(f);
	spool_get_status(sp, &st2);
	assert_string_not_equal(st.chain, st2.chain);
	assert_int_equal(st2.last_seq, 0);
	assert_int_equal(count_segments(f->dir), 0);
	assert_int_equal(append_n(sp, 0, 1, 10), 1);
	spool_close(sp);
}

static long
rss_kib(void)
{
	FILE *fp = fopen("/proc/self/statm", "r");
	long pages = 0, resident = 0;

	if (fp == NULL)
		return 0;
	if (fscanf(fp, "%ld %ld", &pages, &resident) != 2)
		resident = 0;
	fclose(fp);
	return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static void
test_memory_flat(void **state)
{
	struct fixture *f = *state;
	struct spool_status st;
	struct evbuffer *body;
	struct spool *sp;
	uint64_t first, last, after = 0;
	long before, peak = 0;
#ifdef TEST_ASAN
	const int total = 40000;
#else
	const int total = 200000;
#endif
	int n;

	f->cfg.max_bytes = UINT64_C(1) << 30;
	f->cfg.segment_bytes = 0; /* the default, 1 MiB */
	sp = open_spool(f);
	append_n(sp, 0, 1000, 150);
	before = rss_kib();
	append_n(sp, 1000, total - 1000, 150);
	spool_get_status(sp, &st);
	assert_int_equal(st.depth, total);
	assert_true(st.bytes > (uint64_t)total * 150);
	if (rss_kib() > peak)
		peak = rss_kib();
	spool_close(sp);
	/* Reopened (recovery scans it all), read in batches and
	 * acknowledged. */
	sp = open_spool(f);
	assert_non_null(body = evbuffer_new());
	while ((n = spool_read(sp, after, 1000, 1 << 20, body, &first, &last)) >
	    0) {
		assert_int_equal(first, after + 1);
		after = last;
		evbuffer_drain(body, evbuffer_get_length(body));
		assert_int_equal(spool_ack(sp, last, 0), 0);
	}
	assert_int_equal(after, (uint64_t)total);
	if (rss_kib() > peak)
		peak = rss_kib();
	evbuffer_free(body);
	spool_get_status(sp, &st);
	assert_int_equal(st.depth, 0);
	spool_close(sp);
	print_message("spool: %d records, %ld KiB RSS before, %ld KiB peak\n",
	    total, before, peak);
#ifndef TEST_ASAN
	/* Tens of MB went through; what is held is a few buffers. */
	assert_true(peak - before < 8 * 1024);
#endif
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_append_read_ack, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_reopen_continues, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_old_cursor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_torn_tail, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_corrupt_frame, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_size_cap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_free_floor, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_too_large, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_read_only_and_lock, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_chain_file_gone, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_memory_flat, setup,
		    teardown),
	};

	log_init("test_spool", LOG_LEVEL_WARNING);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
