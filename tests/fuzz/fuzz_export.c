/*
 * fuzz_export.c -- libFuzzer target: the exporter over arbitrary stored
 * records.
 *
 * The input is made into rows of an in-memory SQLite store
 * (fuzz_store.h: any number in a column, any bytes as a record's line),
 * then exported whole in every format (CSV, RIPE Atlas, JSON lines),
 * without and with a time range, a page of a few rows at a time.  Every
 * export must end complete (export_step 0): any crash, leak, undefined
 * behaviour or failed export is a bug.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>

#include <event2/buffer.h>

#include "export.h"
#include "fuzz_store.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
fuzz_export(struct store *st, const struct store_filter *f,
    enum export_format fmt, struct evbuffer *out)
{
	struct exporter *e;
	char err[256];
	int rc, steps = 0;

	if ((e = export_new(st, f, fmt, err, sizeof(err))) == NULL)
		abort();
	export_set_page_rows(e, 3);
	while ((rc = export_step(e, out)) == 1 && ++steps <= FUZZ_ROWS)
		;
	if (rc != 0)
		abort();
	export_free(e);
	evbuffer_drain(out, evbuffer_get_length(out));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const enum export_format fmts[] = { EXPORT_CSV, EXPORT_ATLAS,
		EXPORT_JSONL };
	struct store *st = fuzz_store_rows(data, size);
	struct evbuffer *out = evbuffer_new();
	struct store_filter f;

	if (out == NULL)
		return 0;
	store_filter_init(&f);
	for (size_t i = 0; i < sizeof(fmts) / sizeof(fmts[0]); i++)
		fuzz_export(st, &f, fmts[i], out);
	/* Along the time index (a time range), as a date-bound export. */
	f.from = 1;
	f.to = INT64_MAX;
	fuzz_export(st, &f, EXPORT_CSV, out);
	evbuffer_free(out);
	return 0;
}
