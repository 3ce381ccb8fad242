/*
 * report.h -- the case-study report (doc/report.md): what the store
 * holds for a window and a selection, gathered in one pass over its
 * records (in time order, as an export of the window writes them), the
 * episodes
 * (episodes.h) and the annotations of the window (store_annot.h), then
 * written as one self-contained HTML page: an overview, the figures
 * (report_svg.h) with their data as a JSON block, the episodes table,
 * the methodology the probes' heartbeats declared, the annotations and
 * the evidence appendix (per probe its key, chains and record counts;
 * the SHA-256 of the records behind the report and the command that
 * exports them again).
 *
 * Every string that comes from the database (probe names, failure
 * names, annotation texts, measurement names ...) is escaped where it
 * is written; the page runs no script.  Memory grows with the probes,
 * chains, targets and configurations of the selection, with the RTTs of
 * its successful results (four bytes each, for the percentiles), and
 * with its episodes and annotations; the targets and groups drawn are
 * capped (REPORT_MAX_GROUPS, the rest counted and said).
 */
#ifndef CW_REPORT_H
#define CW_REPORT_H

#include <stddef.h>

#include "store.h"

#define REPORT_MAX_GROUPS   256 /* target groups and targets, each */
#define REPORT_MAX_COLUMNS  288 /* time columns of a timeline */
#define REPORT_MAX_EPISODES 100 /* bars of the episode figure */
#define REPORT_PAGE_ROWS    1000
#define REPORT_E_FIGURE     (-2) /* report_figure: no such figure */

struct evbuffer;
struct report;

/*
 * report_build: gather the report of the records of `st` (borrowed
 * during the call) that `f` selects (copied); f->from and f->to must be
 * set, from before to.  Returns the report (free with report_free), or
 * NULL with the reason in `err`: a bad window, the database's error,
 * out of memory.
 */
struct report *report_build(struct store *st, const struct store_filter *f,
    char *err, size_t errlen);

void report_free(struct report *r);

/* report_write_html: the whole page appended to `out`.  Returns 0, or
 * -1 out of memory. */
int report_write_html(const struct report *r, struct evbuffer *out);

/* report_figure_count, report_figure_name: the figures by name
 * ("availability", "rtt", "episodes"), i from 0 to count - 1. */
size_t report_figure_count(void);
const char *report_figure_name(size_t i);

/* report_figure: figure `name` alone as an SVG document (with its XML
 * declaration) appended to `out`.  Returns 0, REPORT_E_FIGURE for an
 * unknown name, -1 out of memory. */
int report_figure(const struct report *r, const char *name,
    struct evbuffer *out);

/* report_sha256: the lower-case hex SHA-256 of the records behind the
 * report: their exact lines ordered by measurement time, then by the
 * store's id (ingest order), each followed by "\n": the bytes that
 * `corewatch-collector export --format jsonl` writes for the same
 * window and filters.  report_records: how many. */
const char *report_sha256(const struct report *r);
unsigned long long report_records(const struct report *r);

#endif /* CW_REPORT_H */
