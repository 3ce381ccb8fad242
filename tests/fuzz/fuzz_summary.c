/*
 * fuzz_summary.c -- libFuzzer target: the summary over arbitrary stored
 * records.
 *
 * The input's first byte picks the bucket (5 minutes, an hour, a day)
 * and the format (JSON lines, CSV); the rest is made into rows of an
 * in-memory SQLite store (fuzz_store.h: any number in a column, any
 * bytes in a text), which are summarised whole, a page of a few rows at
 * a time.  Every summary must end complete (summary_step 0): any crash,
 * leak, undefined behaviour or failed summary is a bug.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "fuzz_store.h"
#include "summary.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const buckets[] = { "5m", "1h", "1d" };
	struct evbuffer *out;
	struct store *st;
	struct store_filter f;
	struct summary *s;
	cw_usec_t bucket;
	char err[256];
	int rc, steps = 0;

	if (size < 1 ||
	    summary_bucket_parse(buckets[data[0] % 3], &bucket) == -1)
		return 0;
	st = fuzz_store_rows(data + 1, size - 1);
	if ((out = evbuffer_new()) == NULL)
		return 0;
	store_filter_init(&f);
	if ((s = summary_new(st, &f, bucket,
	         data[0] & 0x80 ? SUMMARY_CSV : SUMMARY_JSON, err,
	         sizeof(err))) == NULL)
		abort();
	summary_set_page_rows(s, 3);
	while ((rc = summary_step(s, out)) == 1 && ++steps <= FUZZ_ROWS)
		;
	if (rc != 0)
		abort();
	summary_free(s);
	evbuffer_free(out);
	return 0;
}
