/*
 * merkle.c -- RFC 9162 tree hashes, proofs and their checks, over the
 * perfect subtrees a log keeps (merkle.h).
 */
#include "config.h"

#include <string.h>

#include <sodium.h>

#include "merkle.h"
#include "sha256.h"

void
merkle_leaf_hash(const void *data, size_t len,
    unsigned char out[MERKLE_HASH_LEN])
{
	cw_sha256_prefixed(0x00, data, len, out);
}

void
merkle_node_hash(const unsigned char left[MERKLE_HASH_LEN],
    const unsigned char right[MERKLE_HASH_LEN],
    unsigned char out[MERKLE_HASH_LEN])
{
	unsigned char buf[1 + 2 * MERKLE_HASH_LEN];

	buf[0] = 0x01;
	memcpy(buf + 1, left, MERKLE_HASH_LEN);
	memcpy(buf + 1 + MERKLE_HASH_LEN, right, MERKLE_HASH_LEN);
	cw_sha256(buf, sizeof(buf), out);
}

void
merkle_empty_hash(unsigned char out[MERKLE_HASH_LEN])
{
	cw_sha256("", 0, out);
}

/* The largest power of two below n (n >= 2): the split of RFC 9162. */
static uint64_t
merkle_split(uint64_t n)
{
	return UINT64_C(1) << (63 - __builtin_clzll(n - 1));
}

/*
 * MTH(D[begin:end]) for a range a proof names: not empty, and `begin` a
 * multiple of the largest power of two not above its length, so that it
 * divides into perfect subtrees, largest first, whose hashes fold from
 * the right.
 */
static int
merkle_range_hash(merkle_node_fn node, void *arg, uint64_t begin, uint64_t end,
    unsigned char out[MERKLE_HASH_LEN])
{
	unsigned char parts[64][MERKLE_HASH_LEN];
	uint64_t n = end - begin, at = begin;
	int top, count = 0;

	if (end <= begin)
		return -1;
	top = 63 - __builtin_clzll(n);
	if ((begin & ((UINT64_C(1) << top) - 1)) != 0)
		return -1;
	for (int level = top; level >= 0; level--) {
		if (!(n & (UINT64_C(1) << level)))
			continue;
		if (node(arg, (unsigned)level, at >> level, parts[count]) != 0)
			return -1;
		count++;
		at += UINT64_C(1) << level;
	}
	memcpy(out, parts[count - 1], MERKLE_HASH_LEN);
	for (int i = count - 2; i >= 0; i--)
		merkle_node_hash(parts[i], out, out);
	return 0;
}

int
merkle_root(merkle_node_fn node, void *arg, uint64_t size,
    unsigned char out[MERKLE_HASH_LEN])
{
	if (size == 0) {
		merkle_empty_hash(out);
		return 0;
	}
	return merkle_range_hash(node, arg, 0, size, out);
}

/*
 * The ranges whose hashes make a proof are found from the root down, and
 * the proof lists them from the leaves up: fill `proof` from the end of
 * the `found` ranges.
 */
struct merkle_range {
	uint64_t begin, end;
};

static int
merkle_proof_fill(merkle_node_fn node, void *arg,
    const struct merkle_range *found, size_t nfound,
    unsigned char proof[][MERKLE_HASH_LEN], size_t *len)
{
	for (size_t i = 0; i < nfound; i++) {
		const struct merkle_range *r = &found[nfound - 1 - i];
		if (merkle_range_hash(node, arg, r->begin, r->end,
		        proof[*len + i]) != 0)
			return -1;
	}
	*len += nfound;
	return 0;
}

int
merkle_inclusion_proof(merkle_node_fn node, void *arg, uint64_t index,
    uint64_t size, unsigned char proof[][MERKLE_HASH_LEN], size_t *len)
{
	struct merkle_range found[MERKLE_MAX_PROOF];
	uint64_t lo = 0, hi = size;
	size_t n = 0;

	*len = 0;
	if (index >= size)
		return -1;
	while (hi - lo > 1) {
		uint64_t k = merkle_split(hi - lo);
		if (index < lo + k) {
			found[n++] = (struct merkle_range){ lo + k, hi };
			hi = lo + k;
		} else {
			found[n++] = (struct merkle_range){ lo, lo + k };
			lo += k;
		}
	}
	return merkle_proof_fill(node, arg, found, n, proof, len);
}

int
merkle_consistency_proof(merkle_node_fn node, void *arg, uint64_t old,
    uint64_t size, unsigned char proof[][MERKLE_HASH_LEN], size_t *len)
{
	struct merkle_range found[MERKLE_MAX_PROOF];
	uint64_t lo = 0, hi = size, m = old;
	bool whole = true; /* SUBPROOF's b: the old tree is the left edge */
	size_t n = 0;

	*len = 0;
	if (old == 0 || old > size)
		return -1;
	while (m != hi - lo) {
		uint64_t k = merkle_split(hi - lo);
		if (m <= k) {
			found[n++] = (struct merkle_range){ lo + k, hi };
			hi = lo + k;
		} else {
			found[n++] = (struct merkle_range){ lo, lo + k };
			lo += k;
			m -= k;
			whole = false;
		}
	}
	if (!whole) {
		if (merkle_range_hash(node, arg, lo, hi, proof[0]) != 0)
			return -1;
		*len = 1;
	}
	if (merkle_proof_fill(node, arg, found, n, proof, len) != 0) {
		*len = 0;
		return -1;
	}
	return 0;
}

/*
 * One step up of the checks of RFC 9162 2.1.3.2 and 2.1.4.2: `*fn` is
 * the node being hashed up, `*sn` the last node of its level.  Whether
 * the proof's next hash goes on the left (the node is a right child or
 * the last of its level), moving both up a level (and, when the node
 * was the last one and a left child, up past the levels where it has no
 * sibling).
 */
static bool
merkle_from_left(uint64_t *fn, uint64_t *sn)
{
	bool left = (*fn & 1) || *fn == *sn;

	if (left) {
		while (!(*fn & 1) && *fn != 0) {
			*fn >>= 1;
			*sn >>= 1;
		}
	}
	*fn >>= 1;
	*sn >>= 1;
	return left;
}

bool
merkle_verify_inclusion(const unsigned char leaf[MERKLE_HASH_LEN],
    uint64_t index, uint64_t size, const unsigned char proof[][MERKLE_HASH_LEN],
    size_t len, const unsigned char root[MERKLE_HASH_LEN])
{
	unsigned char r[MERKLE_HASH_LEN];
	uint64_t fn = index, sn;

	if (index >= size)
		return false;
	sn = size - 1;
	memcpy(r, leaf, MERKLE_HASH_LEN);
	for (size_t i = 0; i < len; i++) {
		if (sn == 0)
			return false;
		if (merkle_from_left(&fn, &sn))
			merkle_node_hash(proof[i], r, r);
		else
			merkle_node_hash(r, proof[i], r);
	}
	return sn == 0 && sodium_memcmp(r, root, MERKLE_HASH_LEN) == 0;
}

bool
merkle_verify_consistency(uint64_t old, uint64_t size,
    const unsigned char old_root[MERKLE_HASH_LEN],
    const unsigned char root[MERKLE_HASH_LEN],
    const unsigned char proof[][MERKLE_HASH_LEN], size_t len)
{
	unsigned char fr[MERKLE_HASH_LEN], sr[MERKLE_HASH_LEN];
	uint64_t fn, sn;
	size_t i = 0;

	if (old == 0 || old > size)
		return false;
	if (old == size)
		return len == 0 &&
		    sodium_memcmp(old_root, root, MERKLE_HASH_LEN) == 0;
	/* An old tree of a power of two leaves is a node of the new one:
	 * the proof leaves out its hash, which the checker has. */
	if ((old & (old - 1)) == 0) {
		memcpy(fr, old_root, MERKLE_HASH_LEN);
	} else {
		if (len == 0)
			return false;
		memcpy(fr, proof[i++], MERKLE_HASH_LEN);
	}
	memcpy(sr, fr, MERKLE_HASH_LEN);
	fn = old - 1;
	sn = size - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if (sn == 0)
			return false;
		if (merkle_from_left(&fn, &sn)) {
			merkle_node_hash(proof[i], fr, fr);
			merkle_node_hash(proof[i], sr, sr);
		} else {
			merkle_node_hash(sr, proof[i], sr);
		}
	}
	return sn == 0 && sodium_memcmp(fr, old_root, MERKLE_HASH_LEN) == 0 &&
	    sodium_memcmp(sr, root, MERKLE_HASH_LEN) == 0;
}

void
merkle_frontier_init(struct merkle_frontier *fr)
{
	memset(fr, 0, sizeof(*fr));
}

int
merkle_frontier_load(struct merkle_frontier *fr, merkle_node_fn node, void *arg,
    uint64_t size)
{
	struct merkle_frontier next;
	uint64_t at = 0;

	merkle_frontier_init(&next);
	next.size = size;
	for (int level = 63; level >= 0; level--) {
		if (!(size & (UINT64_C(1) << level)))
			continue;
		if (node(arg, (unsigned)level, at >> level, next.hash[level]) !=
		    0)
			return -1;
		at += UINT64_C(1) << level;
	}
	*fr = next;
	return 0;
}

int
merkle_frontier_append(struct merkle_frontier *fr,
    const unsigned char leaf[MERKLE_HASH_LEN],
    int (*keep)(void *arg, unsigned level, uint64_t index,
        const unsigned char hash[MERKLE_HASH_LEN]),
    void *arg)
{
	unsigned char h[MERKLE_HASH_LEN];
	uint64_t index = fr->size;
	unsigned level = 0;
	int rc;

	if (fr->size == UINT64_MAX)
		return -1;
	memcpy(h, leaf, MERKLE_HASH_LEN);
	if (keep != NULL && (rc = keep(arg, 0, index, h)) != 0)
		return rc;
	/* Each set low bit of the old size is a subtree the new leaf
	 * completes into one twice its size. */
	while (fr->size & (UINT64_C(1) << level)) {
		merkle_node_hash(fr->hash[level], h, h);
		level++;
		if (keep != NULL &&
		    (rc = keep(arg, level, index >> level, h)) != 0)
			return rc;
	}
	memcpy(fr->hash[level], h, MERKLE_HASH_LEN);
	fr->size++;
	return 0;
}

void
merkle_frontier_root(const struct merkle_frontier *fr,
    unsigned char out[MERKLE_HASH_LEN])
{
	bool any = false;

	for (unsigned level = 0; level < 64; level++) {
		if (!(fr->size & (UINT64_C(1) << level)))
			continue;
		if (any) {
			merkle_node_hash(fr->hash[level], out, out);
		} else {
			memcpy(out, fr->hash[level], MERKLE_HASH_LEN);
			any = true;
		}
	}
	if (!any)
		merkle_empty_hash(out);
}
