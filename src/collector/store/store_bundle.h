/*
 * store_bundle.h -- what an evidence bundle reads of the store
 * (doc/evidence.md, "Evidence bundles"): the stretch of each chain the
 * filters touch, the records of a stretch with their leaves, and the
 * log's nodes a level at a time.  The error rule of store.h holds.
 */
#ifndef CW_STORE_BUNDLE_H
#define CW_STORE_BUNDLE_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"
#include "record.h"
#include "store.h"

/* A stretch of one chain: seqs first to last, both included. */
struct store_span {
	char probe[RECORD_ID_HEX + 1];
	char chain[RECORD_ID_HEX + 1];
	long long first, last;
};

/*
 * store_bundle_spans: for each probe and chain that has a record `f`
 * selects, the first and last seq selected, into a malloc'd array
 * `*out` of `*n` (sorted by probe, then chain, byte order; NULL and 0
 * when none).  STORE_OK, or STORE_E_DB (also when out of memory).
 */
int store_bundle_spans(struct store *st, const struct store_filter *f,
    struct store_span **out, size_t *n);

/* One record of a stretch: its seq, exact line and leaf (-1: none). */
struct store_bundle_rec {
	long long seq;
	const char *line;
	size_t len;
	long long log_index;
};

/*
 * store_bundle_records: the stored records of `probe` and `chain` with
 * after < seq <= last, by seq, at most `limit`, each to `cb` (non-zero
 * stops).  Returns how many were given, or STORE_E_DB.
 */
long long store_bundle_records(struct store *st, const char *probe,
    const char *chain, long long after, long long last, size_t limit,
    int (*cb)(void *arg, const struct store_bundle_rec *r), void *arg);

/*
 * store_bundle_count: how many records of `probe` and `chain` are stored
 * with first <= seq <= last, into *n.  STORE_OK or STORE_E_DB.
 */
int store_bundle_count(struct store *st, const char *probe, const char *chain,
    long long first, long long last, long long *n);

/*
 * store_log_nodes_range: the kept nodes of `level` with index from `lo`
 * to `hi` (both included), by index, each to `cb` (non-zero stops).
 * STORE_OK or STORE_E_DB.
 */
int store_log_nodes_range(struct store *st, unsigned level, uint64_t lo,
    uint64_t hi,
    int (*cb)(void *arg, uint64_t index,
        const unsigned char hash[MERKLE_HASH_LEN]),
    void *arg);

#endif /* CW_STORE_BUNDLE_H */
