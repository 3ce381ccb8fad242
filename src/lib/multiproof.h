/*
 * multiproof.h -- one inclusion proof for many leaves of an RFC 9162
 * tree at once: the `inclusion.json` of an evidence bundle
 * (doc/evidence.md, "What a bundle holds").
 *
 * The root of the tree of `size` leaves is computed by the recursion
 * root(lo, hi) of RFC 9162's split: a range holding a leaf of the bundle
 * is split (or, for one leaf, is that leaf's hash); a range holding none
 * is a perfect subtree whose hash the proof provides, or, when it is not
 * perfect, is split again until its pieces are.  The provided hashes
 * are those "nodes", [level, index]: the subtree of the leaves
 * index * 2^level to (index + 1) * 2^level - 1.  For one leaf they are
 * exactly its RFC 9162 audit path.
 *
 * Both functions walk only the ranges that hold a bundle leaf and their
 * siblings: O(k log size) for k leaves, whatever the size.
 */
#ifndef CW_MULTIPROOF_H
#define CW_MULTIPROOF_H

#include <stddef.h>
#include <stdint.h>

#include "merkle.h"

/* A node of the proof: its place, and (for multiproof_root) its hash. */
struct multiproof_node {
	unsigned level;
	uint64_t index;
	unsigned char hash[MERKLE_HASH_LEN];
};

/* A leaf of the bundle: its index in the log and its leaf hash. */
struct multiproof_leaf {
	uint64_t index;
	unsigned char hash[MERKLE_HASH_LEN];
};

/*
 * multiproof_nodes: the nodes the proof for the leaves `idx` (`n` of
 * them, strictly ascending, each below `size`) must provide, sorted by
 * level then index, into a malloc'd array `*out` of `*nout` entries
 * (their hashes zeroed; NULL and 0 when none is needed).  Returns 0, or
 * -1 when the leaves are not strictly ascending or not below the size
 * (`errno` EINVAL) or memory ran out (ENOMEM).
 */
int multiproof_nodes(uint64_t size, const uint64_t *idx, size_t n,
    struct multiproof_node **out, size_t *nout);

/*
 * multiproof_root: the root of the tree of `size` leaves computed from
 * the `n` leaves `leaves` (in any order: they are sorted here, in place)
 * and the `nnodes` nodes `nodes` (sorted by level then index, each
 * once).  Returns 0 with the root in `root`, or -1 with what is wrong
 * in `err` (`errlen` bytes, NUL-terminated): a leaf not below the size,
 * two leaves with one index, nodes out of order, a node the recursion
 * needs that is missing, a node it does not use.  The caller compares
 * the root with the checkpoint's.  A size of 0 and no leaf gives the
 * empty tree's hash.
 */
int multiproof_root(uint64_t size, struct multiproof_leaf *leaves, size_t n,
    const struct multiproof_node *nodes, size_t nnodes,
    unsigned char root[MERKLE_HASH_LEN], char *err, size_t errlen);

#endif /* CW_MULTIPROOF_H */
