/*
 * summary.h -- availability, RTT, NSIDs and SOA serial lag per target
 * and per probe in time buckets, each type of measurement (dns, http)
 * in groups of its own (an HTTP target also per host; NSIDs and serials
 * are DNS's only), computed from the stored measurement results in one
 * pass in time order (doc/export.md has the exact definitions).
 *
 * Like an exporter, a summary is streamed: each step reads one page of
 * records and appends the buckets that are complete to an evbuffer.
 * Memory grows with the groups (targets, probes, zones) of one bucket
 * and the RTTs of that bucket, never with the whole selection; a cap
 * on the groups of one bucket (summary_set_max_groups) bounds it for a
 * selection that anyone could make huge (one probe can report as many
 * targets as it likes).
 */
#ifndef CW_SUMMARY_H
#define CW_SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "cwtime.h"
#include "store.h"

enum summary_format {
	SUMMARY_JSON, /* JSON lines: one object per bucket */
	SUMMARY_CSV,  /* RFC 4180, CRLF: one row per group */
};

#define SUMMARY_PAGE_ROWS      1000  /* records read per step */
#define SUMMARY_MAX_GROUPS     10000 /* of one bucket, by default */
#define SUMMARY_E_GROUPS       (-2)  /* summary_step: over the cap */
#define SUMMARY_NSID_MAX       64    /* distinct NSIDs listed per group */
#define SUMMARY_SERIAL_HISTORY 1024  /* serials remembered per zone */
#define SUMMARY_BUCKET_MIN_S   60    /* buckets are multiples of it */
#define SUMMARY_BUCKET_MAX_S   (366ULL * 86400) /* the longest bucket */
/* What a bucket must be, for the messages that refuse one. */
#define SUMMARY_BUCKET_RULE \
	"a whole number of minutes up to 366 days (1m, 7m, 1h, 1d, 120s)"

struct evbuffer;
struct summary;

/*
 * struct summary_rtts: the RTTs of successful results, in microseconds,
 * as the summary keeps them per group and the report per target: one
 * definition of the median and the percentiles for both (the report's
 * figures and the summary's columns agree on the same data).  Zeroed
 * is empty; summary_rtts_clear frees it.
 */
struct summary_rtts {
	uint32_t *v; /* owned; sorted after summary_rtts_sort */
	size_t n, cap;
};

/* summary_rtts_add: an RTT of `ms` milliseconds, to the microsecond
 * (negative or not a number: 0; above UINT32_MAX microseconds: that).
 * Returns 0, or -1 out of memory (nothing added). */
int summary_rtts_add(struct summary_rtts *r, double ms);

/* summary_rtts_sort: in ascending order, as summary_rtts_percentile
 * needs them. */
void summary_rtts_sort(struct summary_rtts *r);

/*
 * summary_rtts_percentile: of the sorted RTTs (r->n > 0), in
 * microseconds, percentile `q` (1 to 100): q 50 is the median, the mean
 * of the two middle values for an even count (to the microsecond, half
 * up); any other q the nearest rank (the value at rank ceil(q n / 100)).
 */
uint32_t summary_rtts_percentile(const struct summary_rtts *r, unsigned q);

/* summary_rtts_clear: free the RTTs; `r` is empty again. */
void summary_rtts_clear(struct summary_rtts *r);

/* summary_availability_pct: the share of `ok` in `n` results in per
 * cent, rounded to three decimals as the summary writes it (the
 * report's overall availability too); 0 when `n` is 0. */
double summary_availability_pct(unsigned long long ok, unsigned long long n);

/* summary_bucket_parse: a bucket length, a number and its unit (s, m,
 * h or d: "1m", "7m", "300s", "1h", "1d"), into microseconds in *out.
 * The length must be a positive multiple of SUMMARY_BUCKET_MIN_S up to
 * SUMMARY_BUCKET_MAX_S.  Returns 0, or -1 for anything else ("90s",
 * "0m", "1w"). */
int summary_bucket_parse(const char *text, cw_usec_t *out);

/* summary_format_parse: "json" or "csv".  Returns 0 or -1. */
int summary_format_parse(const char *text, enum summary_format *out);

/* summary_content_type: the HTTP Content-Type of a format's output. */
const char *summary_content_type(enum summary_format fmt);

/*
 * summary_serial_cmp: RFC 1982 comparison of 32-bit SOA serials:
 * -1 when `a` is before `b`, 0 when equal, 1 when `a` is after `b`, and
 * 2 when the order is undefined (they differ by exactly 2^31).
 */
int summary_serial_cmp(uint32_t a, uint32_t b);

/*
 * summary_new: a summary of the measurement results of `st` (borrowed)
 * that `f` selects (copied), in buckets of `bucket` microseconds
 * (aligned to multiples of it since the epoch, UTC), in `fmt`.  Reads
 * nothing yet.  NULL with a reason in `err` (a bucket that is not
 * positive, out of memory).
 */
struct summary *summary_new(struct store *st, const struct store_filter *f,
    cw_usec_t bucket, enum summary_format fmt, char *err, size_t errlen);

/* summary_set_page_rows: records read per step (at least 1). */
void summary_set_page_rows(struct summary *s, size_t rows);

/* summary_set_max_groups: at most `groups` groups (targets and probes
 * together) in one bucket; 0: no cap (the default). */
void summary_set_max_groups(struct summary *s, size_t groups);

/*
 * summary_step: read the next page of records and append every bucket
 * that is complete to `out` (the CSV header comes with the first
 * bucket, or alone with the last step of an empty summary; the last
 * bucket with the last step), so that nothing is appended before a
 * bucket is whole.  Returns 1 when more may remain, 0 when the summary
 * is complete, -1 when the database failed (store_unavailable() tells
 * 503) or memory ran out, SUMMARY_E_GROUPS when a bucket would have
 * more groups than the cap (what it held is freed then: the caller
 * tells its reader to narrow the selection).  After 0 or a negative
 * value, further calls return the same and append nothing.
 */
int summary_step(struct summary *s, struct evbuffer *out);

/* summary_free: free the summary.  NULL is fine. */
void summary_free(struct summary *s);

#endif /* CW_SUMMARY_H */
