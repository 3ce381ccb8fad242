/*
 * fuzz_batch.c -- libFuzzer target: whatever a client posts to the
 * collector's batch endpoint.
 *
 * The first input byte picks the path: an Authorization header
 * (batch_auth_parse) from the rest, gzip (gzip_inflate, 64 KiB limit)
 * of the rest, or the rest as a batch body: split into lines, each
 * through record_parse (envelope, types, hash), then the batch checks
 * that need no database (store_batch_check).  Any crash, leak or
 * undefined behaviour is a bug.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "gzip.h"
#include "record.h"
#include "store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_RECORDS 64

static void
fuzz_body(const char *body, size_t len)
{
	static struct record recs[FUZZ_MAX_RECORDS];
	struct store_probe probe;
	struct store_batch b;
	char err[256];
	size_t n = 0, at = 0;

	memset(&probe, 0, sizeof(probe));
	memcpy(probe.id, "0123456789abcdef0123456789abcdef", RECORD_ID_HEX + 1);
	while (at < len && n < FUZZ_MAX_RECORDS) {
		const char *nl = memchr(body + at, '\n', len - at);
		size_t l = nl != NULL ? (size_t)(nl - (body + at)) : len - at;
		if (record_parse(body + at, l, &recs[n], err, sizeof(err)) == 0)
			n++;
		else
			record_clear(&recs[n]);
		at += l + 1;
	}
	b.probe = &probe;
	b.recs = recs;
	b.n = n;
	b.received_at = 0;
	(void)store_batch_check(&b, err, sizeof(err));
	for (size_t i = 0; i < n; i++)
		record_clear(&recs[i]);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char probe[RECORD_ID_HEX + 1], sig[RECORD_SIG_B64 + 1], err[256];
	unsigned char *out = NULL;
	size_t outlen = 0;
	char *text;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		if ((text = malloc(size)) == NULL)
			return 0;
		memcpy(text, data + 1, size - 1);
		text[size - 1] = '\0';
		(void)batch_auth_parse(text, probe, sig, err, sizeof(err));
		free(text);
		break;
	case 1:
		if (gzip_inflate(data + 1, size - 1, 65536, &out, &outlen) ==
		    GZIP_OK) {
			fuzz_body((const char *)out, outlen);
			free(out);
		}
		break;
	default:
		fuzz_body((const char *)data + 1, size - 1);
	}
	return 0;
}
