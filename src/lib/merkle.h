/*
 * merkle.h -- the Merkle tree hashing of RFC 9162 (as RFC 6962), for the
 * collector's log and for whoever checks it.
 *
 * A log is a list of leaves D[0], D[1], ... (a leaf is a byte string: a
 * stored record's exact line).  Its tree hash MTH(D[0:n]) is SHA-256 of
 * the empty string for n = 0, the leaf hash SHA-256(0x00 || D[0]) for
 * n = 1, and otherwise SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])) with k
 * the largest power of two below n.  Inclusion and consistency proofs are
 * the lists RFC 9162 section 2.1.3 and 2.1.4 define (PATH and PROOF), in
 * the same order; their checks are the algorithms of sections 2.1.3.2 and
 * 2.1.4.2.
 *
 * The tree itself is not kept here.  What proofs and roots need is the
 * hash of "perfect" subtrees: node (level, index) covers the 2^level
 * leaves from index * 2^level on, all of which exist; level 0 is the leaf
 * hashes.  Whoever keeps the log keeps those (the collector in its
 * database) and hands them over through a merkle_node_fn; appending a leaf
 * with merkle_frontier_append() says which new ones to keep.  Every
 * function below reads at most 2 * 64 of them.
 *
 * Sizes and indexes are uint64_t; a proof has at most MERKLE_MAX_PROOF
 * hashes.  Functions returning int give 0, or -1 when the arguments are
 * out of range (an index not below the size, a size of 0 where a tree is
 * needed) or a node could not be read (the merkle_node_fn's -1).
 */
#ifndef CW_MERKLE_H
#define CW_MERKLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH_LEN  32
#define MERKLE_MAX_PROOF 64

/* merkle_leaf_hash: SHA-256(0x00 || data) into `out`. */
void merkle_leaf_hash(const void *data, size_t len,
    unsigned char out[MERKLE_HASH_LEN]);

/* merkle_node_hash: SHA-256(0x01 || left || right) into `out` (which may
 * be left or right). */
void merkle_node_hash(const unsigned char left[MERKLE_HASH_LEN],
    const unsigned char right[MERKLE_HASH_LEN],
    unsigned char out[MERKLE_HASH_LEN]);

/* merkle_empty_hash: the hash of the tree of no leaf, SHA-256(""). */
void merkle_empty_hash(unsigned char out[MERKLE_HASH_LEN]);

/*
 * merkle_node_fn: put into `out` the hash of the perfect subtree at
 * (`level`, `index`): the leaves index * 2^level to (index + 1) *
 * 2^level - 1.  Only nodes whose leaves all exist are asked for.  Returns
 * 0, or -1 when it cannot (the caller's store failed or lacks it).
 */
typedef int (*merkle_node_fn)(void *arg, unsigned level, uint64_t index,
    unsigned char out[MERKLE_HASH_LEN]);

/*
 * merkle_root: MTH(D[0:size]) into `out`, read through `node`.  A size
 * of 0 gives merkle_empty_hash().
 */
int merkle_root(merkle_node_fn node, void *arg, uint64_t size,
    unsigned char out[MERKLE_HASH_LEN]);

/*
 * merkle_inclusion_proof: PATH(index, D[0:size]) into `proof` (room for
 * MERKLE_MAX_PROOF hashes) and its length into `*len`.  index < size.
 */
int merkle_inclusion_proof(merkle_node_fn node, void *arg, uint64_t index,
    uint64_t size, unsigned char proof[][MERKLE_HASH_LEN], size_t *len);

/*
 * merkle_consistency_proof: PROOF(old, D[0:size]) into `proof` and its
 * length into `*len`: that the tree of `old` leaves is a prefix of the
 * one of `size`.  0 < old <= size (the proof of old = size is empty).
 */
int merkle_consistency_proof(merkle_node_fn node, void *arg, uint64_t old,
    uint64_t size, unsigned char proof[][MERKLE_HASH_LEN], size_t *len);

/*
 * merkle_verify_inclusion: whether `proof` (`len` hashes) shows the leaf
 * whose hash is `leaf` at `index` in the tree of `size` leaves and root
 * `root` (RFC 9162 2.1.3.2).  False for an index not below the size.
 */
bool merkle_verify_inclusion(const unsigned char leaf[MERKLE_HASH_LEN],
    uint64_t index, uint64_t size, const unsigned char proof[][MERKLE_HASH_LEN],
    size_t len, const unsigned char root[MERKLE_HASH_LEN]);

/*
 * merkle_verify_consistency: whether `proof` shows the tree of `old`
 * leaves and root `old_root` to be a prefix of the tree of `size` leaves
 * and root `root` (RFC 9162 2.1.4.2).  0 < old <= size; for old = size,
 * the proof must be empty and the roots equal.
 */
bool merkle_verify_consistency(uint64_t old, uint64_t size,
    const unsigned char old_root[MERKLE_HASH_LEN],
    const unsigned char root[MERKLE_HASH_LEN],
    const unsigned char proof[][MERKLE_HASH_LEN], size_t len);

/*
 * The right edge of a tree: the perfect subtrees its leaves divide into,
 * largest first (one per bit set in `size`: hash[level] holds the one
 * of 2^level leaves).  It is all an append needs, and gives the root
 * without reading anything.
 */
struct merkle_frontier {
	uint64_t size;
	unsigned char hash[64][MERKLE_HASH_LEN];
};

/* merkle_frontier_init: the frontier of the empty tree. */
void merkle_frontier_init(struct merkle_frontier *fr);

/*
 * merkle_frontier_load: the frontier of the tree of `size` leaves, read
 * through `node` (at most 64 nodes).  On -1, `*fr` is unchanged.
 */
int merkle_frontier_load(struct merkle_frontier *fr, merkle_node_fn node,
    void *arg, uint64_t size);

/*
 * merkle_frontier_append: add the leaf whose hash is `leaf`.  Each
 * perfect subtree the leaf completes, the leaf itself first (level 0),
 * then each larger one, goes to `keep` (when not NULL) in that order,
 * so that its owner can answer merkle_node_fn for it later.  A non-zero
 * return from `keep` stops and is returned, with `*fr` unchanged; -1
 * when the tree is full (2^64 - 1 leaves).
 */
int merkle_frontier_append(struct merkle_frontier *fr,
    const unsigned char leaf[MERKLE_HASH_LEN],
    int (*keep)(void *arg, unsigned level, uint64_t index,
        const unsigned char hash[MERKLE_HASH_LEN]),
    void *arg);

/* merkle_frontier_root: MTH of the frontier's tree into `out`. */
void merkle_frontier_root(const struct merkle_frontier *fr,
    unsigned char out[MERKLE_HASH_LEN]);

#endif /* CW_MERKLE_H */
