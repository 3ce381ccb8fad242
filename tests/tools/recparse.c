/*
 * recparse.c -- the ingest benchmark's floor: the collector's own
 * per-record checks with nothing else, on one core.
 *
 *   recparse FILE [ROUNDS]
 *
 * FILE holds records, one per line (a jsonl export).  In batches of
 * 1,000 lines, as the collector does for each batch it is sent: SHA-256
 * of the whole body (what the batch signature covers), then
 * record_parse() of every line (jansson, the envelope and column checks,
 * the record's own SHA-256), then record_clear().  No HTTP, no
 * signature check, no database.  ROUNDS passes over the file (default
 * 1).  Prints "N records in C CPU-s: R records per CPU-second".
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cwtime.h"
#include "record.h"

#define RP_BATCH 1000

/* The whole file into memory; NULL when it cannot be read. */
static char *
rp_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	long size;

	if (f == NULL || fseek(f, 0, SEEK_END) == -1 || (size = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) == -1 ||
	    (buf = malloc((size_t)size + 1)) == NULL ||
	    fread(buf, 1, (size_t)size, f) != (size_t)size) {
		free(buf);
		buf = NULL;
	} else
		*len = (size_t)size;
	if (f != NULL)
		fclose(f);
	return buf;
}

/* One pass; returns the records parsed, -1 on a record that failed. */
static long
rp_pass(const char *buf, size_t len)
{
	unsigned char body_hash[crypto_hash_sha256_BYTES];
	const char *p = buf, *end = buf + len, *q, *nl;
	struct record rec;
	char err[256];
	long n = 0;

	while (p < end) {
		/* The next batch: up to RP_BATCH whole lines. */
		q = p;
		for (int i = 0; i < RP_BATCH && q < end; i++) {
			if ((nl = memchr(q, '\n', (size_t)(end - q))) == NULL)
				return -1;
			q = nl + 1;
		}
		crypto_hash_sha256(body_hash, (const unsigned char *)p,
		    (size_t)(q - p));
		for (; p < q; p = nl + 1, n++) {
			nl = memchr(p, '\n', (size_t)(q - p));
			memset(&rec, 0, sizeof(rec));
			if (record_parse(p, (size_t)(nl - p), &rec, err,
			        sizeof(err)) == -1) {
				fprintf(stderr, "recparse: record %ld: %s\n",
				    n + 1, err);
				record_clear(&rec);
				return -1;
			}
			record_clear(&rec);
		}
	}
	return n;
}

int
main(int argc, char **argv)
{
	long rounds = argc == 3 ? strtol(argv[2], NULL, 10) : 1, n, total = 0;
	size_t len = 0;
	cw_usec_t c0;
	double c;
	char *buf;

	if (argc < 2 || argc > 3 || rounds < 1) {
		fprintf(stderr, "usage: recparse FILE [ROUNDS]\n");
		return 2;
	}
	if (sodium_init() < 0 || (buf = rp_slurp(argv[1], &len)) == NULL) {
		fprintf(stderr, "recparse: cannot read %s\n", argv[1]);
		return 1;
	}
	c0 = cw_cpu_usec();
	for (long r = 0; r < rounds; r++) {
		if ((n = rp_pass(buf, len)) == -1) {
			free(buf);
			return 1;
		}
		total += n;
	}
	c = (double)(cw_cpu_usec() - c0) / 1e6;
	free(buf);
	printf("%ld records in %.2f CPU-s: %.0f records per CPU-second\n",
	    total, c, c > 0 ? (double)total / c : 0.0);
	return 0;
}
