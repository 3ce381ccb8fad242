/*
 * cmd_import.c -- a file of signed batches into the store
 * (cmd_import.h), batch by batch through ingest.c.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_import.h"
#include "cwtime.h"
#include "ingest.h"
#include "log.h"
#include "record.h"
#include "store.h"

#define IMPORT_HEAD_MAX 256 /* bytes of a header line */

/* One batch header. */
struct import_head {
	char probe[RECORD_ID_HEX + 1];
	char sig[RECORD_SIG_B64 + 1];
	size_t len;
};

/* import_hex_id: 32 lower-case hex digits. */
static bool
import_hex_id(const char *s, size_t n)
{
	if (n != RECORD_ID_HEX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* import_head_parse: "CW1-BATCH <id> <sig> <len>" (no newline).
 * Returns 0 or -1. */
static int
import_head_parse(const char *line, struct import_head *h)
{
	const char *p = line, *sp;
	unsigned long long len = 0;
	size_t n;

	n = strlen(IMPORT_MAGIC);
	if (strncmp(p, IMPORT_MAGIC " ", n + 1) != 0)
		return -1;
	p += n + 1;
	if ((sp = strchr(p, ' ')) == NULL ||
	    !import_hex_id(p, (size_t)(sp - p)))
		return -1;
	memcpy(h->probe, p, RECORD_ID_HEX);
	h->probe[RECORD_ID_HEX] = '\0';
	p = sp + 1;
	if ((sp = strchr(p, ' ')) == NULL || sp - p != RECORD_SIG_B64)
		return -1;
	memcpy(h->sig, p, RECORD_SIG_B64);
	h->sig[RECORD_SIG_B64] = '\0';
	p = sp + 1;
	if (*p < '0' || *p > '9' || strlen(p) > 15)
		return -1;
	for (; *p >= '0' && *p <= '9'; p++)
		len = len * 10 + (unsigned long long)(*p - '0');
	if (*p != '\0')
		return -1;
	h->len = (size_t)len;
	return 0;
}

/* import_head_read: the next header line.  Returns 1, 0 at the end of
 * the file, -1 for a line that is too long or cut off. */
static int
import_head_read(FILE *fp, char *buf, size_t size)
{
	size_t n = 0;
	int c;

	while ((c = getc(fp)) != EOF) {
		if (c == '\n') {
			buf[n] = '\0';
			return 1;
		}
		if (n + 1 >= size)
			return -1;
		buf[n++] = (char)c;
	}
	buf[n] = '\0';
	return n == 0 && !ferror(fp) ? 0 : -1;
}

/* import_skip: read past `len` bytes.  0 or -1 (cut off). */
static int
import_skip(FILE *fp, size_t len)
{
	char buf[8192];
	size_t n;

	while (len > 0) {
		n = fread(buf, 1, len < sizeof(buf) ? len : sizeof(buf), fp);
		if (n == 0)
			return -1;
		len -= n;
	}
	return 0;
}

/* import_refused: report a refused batch. */
static void
import_refused(const char *path, uint64_t nr, long long offset, int code,
    const char *why)
{
	fprintf(stderr,
	    "corewatch-collector import: %s: batch %llu (at byte "
	    "%lld): refused with %d: %s\n",
	    path, (unsigned long long)nr, offset, code, why);
}

/* import_one: ingest the batch whose header is `h`, its body next in
 * fp.  Returns 0 (stored or refused: counted), -1 to stop. */
static int
import_one(struct store *st, FILE *fp, const char *path, long long offset,
    const struct import_head *h, size_t max_body, struct import_totals *t)
{
	struct ingest_batch b;
	struct store_receipt rc;
	int code;

	memset(&b, 0, sizeof(b));
	if (h->len > max_body) {
		t->refused++;
		import_refused(path, t->batches, offset, 413,
		    "the body is over "
		    "the limit");
		return import_skip(fp, h->len) == 0 ? 0 : -1;
	}
	if ((b.body = malloc(h->len + 1)) == NULL) {
		fprintf(stderr,
		    "corewatch-collector import: out of memory for "
		    "a batch of %zu bytes\n",
		    h->len);
		return -1;
	}
	if (fread(b.body, 1, h->len, fp) != h->len) {
		free(b.body);
		return -1;
	}
	b.body[h->len] = '\0';
	b.len = h->len;
	b.received_at = cw_real_usec();
	memset(&rc, 0, sizeof(rc));
	code = ingest_batch(st, h->probe, h->sig, &b, &rc);
	if (code == 200) {
		t->accepted++;
		t->stored += rc.stored;
		t->duplicates += rc.duplicates;
		t->equivocations += rc.equivocations;
	} else {
		import_refused(path, t->batches, offset, code, b.err);
		if (code != 503)
			t->refused++;
	}
	ingest_batch_clear(&b);
	return code == 503 ? -1 : 0;
}

int
import_file(struct store *st, const char *path, size_t max_body,
    struct import_totals *t)
{
	struct import_head h;
	char line[IMPORT_HEAD_MAX];
	FILE *fp;
	long long offset = 0;
	int rc = 0, got;

	memset(t, 0, sizeof(*t));
	if (strcmp(path, "-") == 0)
		fp = stdin;
	else if ((fp = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "corewatch-collector import: %s: %s\n", path,
		    strerror(errno));
		return -1;
	}
	while ((got = import_head_read(fp, line, sizeof(line))) == 1) {
		if (import_head_parse(line, &h) == -1) {
			fprintf(stderr,
			    "corewatch-collector import: %s: byte "
			    "%lld: not a batch header (\"%s <probe> <sig> "
			    "<length>\")\n",
			    path, offset, IMPORT_MAGIC);
			rc = -1;
			break;
		}
		t->batches++;
		if (import_one(st, fp, path, offset, &h, max_body, t) == -1) {
			if (ferror(fp) || feof(fp))
				fprintf(stderr,
				    "corewatch-collector import: "
				    "%s: batch %llu: %s\n",
				    path, (unsigned long long)t->batches,
				    ferror(fp) ? strerror(errno) :
				                 "the file ends inside "
				                 "the batch");
			fprintf(stderr,
			    "corewatch-collector import: %s: "
			    "stopped at batch %llu\n",
			    path, (unsigned long long)t->batches);
			rc = -1;
			break;
		}
		offset += (long long)strlen(line) + 1 + (long long)h.len;
	}
	if (got == -1 && rc == 0) {
		fprintf(stderr,
		    "corewatch-collector import: %s: byte %lld: "
		    "%s\n",
		    path, offset,
		    ferror(fp) ? strerror(errno) :
		                 "a header line that is too long or cut off");
		rc = -1;
	}
	if (fp != stdin)
		fclose(fp);
	return rc;
}
