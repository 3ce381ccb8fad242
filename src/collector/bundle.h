/*
 * bundle.h -- an evidence bundle (doc/evidence.md, "Evidence bundles"):
 * the whole stretches of the chains a filter selects, their batch
 * signatures, the probes' keys, a fresh signed checkpoint and one
 * inclusion proof for every record, as a tar archive of regular files
 * under corewatch-bundle/.
 *
 * records.jsonl goes through a temporary file (in $TMPDIR), so that a
 * bundle of millions of records holds in memory only their leaf
 * indexes, the batch lines and the proof's nodes.
 */
#ifndef CW_BUNDLE_H
#define CW_BUNDLE_H

#include <stddef.h>

#include <jansson.h>

#include "store.h"
#include "tlog.h"

/* What a bundle was asked for. */
struct bundle_req {
	const struct store_filter *filter; /* which records mark the
	                                      stretches */
	json_t *filters; /* the options as given, {"from": "..."}: borrowed */
	const struct tlog_signer *signer; /* the log key */
};

/* What was written, for the caller to say. */
struct bundle_stats {
	size_t chains;
	unsigned long long records, batches, nodes;
	unsigned long long size; /* the checkpoint's */
};

/* The outcome of bundle_write. */
enum bundle_status {
	BUNDLE_OK,
	BUNDLE_EMPTY,  /* no record matches the filters */
	BUNDLE_DB,     /* the database failed (store_error_text) */
	BUNDLE_OUTPUT, /* writing failed (err says why) */
	BUNDLE_AGAIN,  /* records or batches of a stretch arrived while it
	                  was read: nothing was written; try again */
};

/*
 * bundle_write: the bundle `req` asks for, as a tar archive written to
 * `fd` (the caller makes it complete or removes it).  Returns a
 * bundle_status, with the reason in `err` when not BUNDLE_OK.
 */
enum bundle_status bundle_write(struct store *st, const struct bundle_req *req,
    int fd, struct bundle_stats *stats, char *err, size_t errlen);

#endif /* CW_BUNDLE_H */
