/*
 * export.h -- the stored records read back out, streamed: JSON lines of
 * the exact bytes, flat CSV, or the RIPE Atlas result format
 * (doc/export.md documents each, field by field).
 *
 * An exporter reads the store page by page (store_results, in ingest
 * order) and appends the formatted output of each page to an evbuffer
 * that the caller drains (to a socket, to a file) before it asks for
 * the next page; so neither the HTTP service nor the command line ever
 * holds a whole result in memory.  A page ends after EXPORT_PAGE_ROWS
 * records or once its output reaches EXPORT_PAGE_BYTES, whichever comes
 * first, so that what a slow reader holds is bounded in bytes whatever
 * the size of the records (up to 64 KiB each).  The first page asks the
 * store for EXPORT_FIRST_ROWS records and each next one for twice the
 * records of the last (up to EXPORT_PAGE_ROWS), so that a database
 * that reads a page whole (PostgreSQL) never reads hundreds of large
 * records to use a few.
 */
#ifndef CW_EXPORT_H
#define CW_EXPORT_H

#include <stdbool.h>
#include <stddef.h>

#include "store.h"

enum export_format {
	EXPORT_JSONL, /* the records' exact bytes, one a line */
	EXPORT_CSV,   /* RFC 4180 with a header row, CRLF */
	EXPORT_ATLAS, /* RIPE Atlas results, one JSON a line */
};

#define EXPORT_PAGE_ROWS  500          /* records read per step, at most */
#define EXPORT_PAGE_BYTES (256 * 1024) /* output of a step, about */
#define EXPORT_FIRST_ROWS 64           /* records read by the first step */
#define EXPORT_ATLAS_FW   5020         /* the "fw" every Atlas result has */

struct evbuffer;
struct exporter;

/* export_format_parse: "jsonl", "csv" or "atlas" into *out.  Returns 0,
 * or -1 for anything else. */
int export_format_parse(const char *text, enum export_format *out);

/* export_format_name: the name export_format_parse takes. */
const char *export_format_name(enum export_format fmt);

/* export_content_type: the HTTP Content-Type of a format's output. */
const char *export_content_type(enum export_format fmt);

/*
 * Filter parameters given as text (command-line options, an HTTP query
 * string), checked and normalised.  `filter` points into the struct
 * (addr, country) and to the caller's value strings, which must outlive
 * it; do not copy the struct.
 */
struct export_params {
	struct store_filter filter;
	char addr[48];   /* canonical text */
	char country[3]; /* upper case */
};

/* export_params_init: parameters that select everything. */
void export_params_init(struct export_params *p);

/*
 * export_params_set: the filter parameter `key` ("from", "to", "probe",
 * "type", "name", "addr", "country", "asn") from the text `value`,
 * checked: times are UTC ISO 8601 (cw_time_parse), a probe is 32
 * lower-case hex digits or a number from 1, a type a short word, an
 * address an IPv4 or IPv6 address (kept in canonical form), a country
 * two letters (either case), an ASN a number from 0 to 4294967295.
 * Returns 1 when set, 0 when `key` is not a filter parameter, -1 for a
 * bad value (the reason, naming the parameter, in `err`).
 */
int export_params_set(struct export_params *p, const char *key,
    const char *value, char *err, size_t errlen);

/* export_params_check: what no single parameter shows: `from` must be
 * before `to`.  Returns 0, or -1 with the reason in `err`. */
int export_params_check(const struct export_params *p, char *err,
    size_t errlen);

/*
 * export_filter_copy: a deep copy of `src` into `dst` (strings
 * duplicated); free it with export_filter_clear().  Returns 0, or -1
 * when out of memory (`dst` then holds nothing to free).
 */
int export_filter_copy(struct store_filter *dst,
    const struct store_filter *src);
void export_filter_clear(struct store_filter *f);

/*
 * export_new: an exporter of the records of `st` (borrowed: it must
 * outlive the exporter) that `f` selects (copied), in `fmt`.  Reads
 * nothing yet.  NULL with a reason in `err` when out of memory.
 */
struct exporter *export_new(struct store *st, const struct store_filter *f,
    enum export_format fmt, char *err, size_t errlen);

/* export_set_page_rows: read `rows` records per step instead of
 * EXPORT_PAGE_ROWS (at least 1). */
void export_set_page_rows(struct exporter *e, size_t rows);

/* export_set_page_bytes: end a step once its output reaches `bytes`
 * instead of EXPORT_PAGE_BYTES (a step has one record at least, so it
 * may pass the bound by one record's output). */
void export_set_page_bytes(struct exporter *e, size_t bytes);

/*
 * export_step: read the next page of records and append their output
 * to `out` (the CSV header comes with the first step, even for an
 * empty result).  Returns 1 when more may remain, 0 when the export is
 * complete, -1 when the database failed (store_unavailable() tells a
 * database that is gone, 503, from another error; the reason is in
 * store_error_text()) or memory ran out.  After 0 or -1, further calls
 * return the same and append nothing.
 */
int export_step(struct exporter *e, struct evbuffer *out);

/* export_records: how many records were written so far (the Atlas
 * format leaves some out). */
unsigned long long export_records(const struct exporter *e);

/* export_free: free the exporter.  NULL is fine. */
void export_free(struct exporter *e);

/* --- pieces shared with summary.c and tested on their own --- */

/*
 * export_csv_field: append `text` (`len` bytes) to `out` as one CSV
 * field: a text that starts with '=', '+', '-', '@', TAB or CR gets a
 * single quote in front (so that no spreadsheet takes it for a
 * formula), and a field holding a comma, a double quote, CR or LF is
 * quoted with its double quotes doubled.  NULL appends an empty field.
 * Returns 0, or -1 when out of memory.
 */
int export_csv_field(struct evbuffer *out, const char *text, size_t len);

/*
 * export_time_format: UTC time `t` as cw_time_format() writes it
 * ("YYYY-MM-DDTHH:MM:SS.uuuuuuZ"), without gmtime and printf, into
 * `buf`; returns its length.
 */
size_t export_time_format(cw_usec_t t, char buf[CW_TIME_STRLEN]);

#endif /* CW_EXPORT_H */
