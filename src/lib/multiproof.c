/*
 * multiproof.c -- the multi-leaf inclusion proof of an evidence bundle:
 * which nodes it holds, and the root they and the leaves give.
 *
 * Both walk RFC 9162's recursion (doc/evidence.md, "root(lo, hi)") over
 * the ranges that hold a leaf; a range without one ends the walk there
 * (a node, or a split into the perfect subtrees it is made of).  Leaves
 * are kept sorted, so the leaves of a range are a slice of the array and
 * a split is a binary search in it.  The recursion depth is at most 64
 * (one level of the tree a call).
 */
#include "config.h"

#include "multiproof.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LEVELS 64

/* split: the largest power of two below n (n >= 2): RFC 9162's k. */
static uint64_t
split(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* perfect: whether [lo, lo + n) is one perfect subtree (n > 0). */
static bool
perfect(uint64_t lo, uint64_t n)
{
	return (n & (n - 1)) == 0 && lo % n == 0;
}

/* --- The nodes a proof needs --- */

struct need {
	const uint64_t *idx;
	struct multiproof_node *out;
	size_t n, cap;
};

static int
need_add(struct need *nd, unsigned level, uint64_t index)
{
	if (nd->n == nd->cap) {
		size_t cap = nd->cap ? nd->cap * 2 : 64;
		struct multiproof_node *p = realloc(nd->out, cap * sizeof(*p));

		if (p == NULL)
			return -1;
		nd->out = p;
		nd->cap = cap;
	}
	memset(&nd->out[nd->n], 0, sizeof(nd->out[nd->n]));
	nd->out[nd->n].level = level;
	nd->out[nd->n].index = index;
	nd->n++;
	return 0;
}

/* first_at: the first of idx[a..b) that is >= v (b when none). */
static size_t
first_at(const uint64_t *idx, size_t a, size_t b, uint64_t v)
{
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (idx[m] < v)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

/* need_walk: the range [lo, lo + n), whose leaves are idx[a..b). */
static int
need_walk(struct need *nd, uint64_t lo, uint64_t n, size_t a, size_t b)
{
	uint64_t k;
	size_t m;

	if (a == b && perfect(lo, n))
		return need_add(nd, (unsigned)__builtin_ctzll(n), lo / n);
	if (n == 1)
		return 0; /* the bundle's own leaf */
	k = split(n);
	m = first_at(nd->idx, a, b, lo + k);
	if (need_walk(nd, lo, k, a, m) < 0)
		return -1;
	return need_walk(nd, lo + k, n - k, m, b);
}

static int
node_cmp(const void *x, const void *y)
{
	const struct multiproof_node *a = x, *b = y;

	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	if (a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return 0;
}

int
multiproof_nodes(uint64_t size, const uint64_t *idx, size_t n,
    struct multiproof_node **out, size_t *nout)
{
	struct need nd = { .idx = idx };

	*out = NULL;
	*nout = 0;
	for (size_t i = 0; i < n; i++) {
		if (idx[i] >= size || (i > 0 && idx[i] <= idx[i - 1])) {
			errno = EINVAL;
			return -1;
		}
	}
	if (size > 0 && need_walk(&nd, 0, size, 0, n) < 0) {
		free(nd.out);
		errno = ENOMEM;
		return -1;
	}
	/* The walk gives each level's nodes in ascending index (it goes
	 * left to right over disjoint ranges); sorting by level is all. */
	if (nd.n > 1)
		qsort(nd.out, nd.n, sizeof(*nd.out), node_cmp);
	*out = nd.out;
	*nout = nd.n;
	return 0;
}

/* --- The root from leaves and nodes --- */

struct calc {
	const struct multiproof_leaf *leaves;
	const struct multiproof_node *nodes;
	size_t cur[LEVELS], end[LEVELS]; /* each level's slice of nodes */
	char *err;
	size_t errlen;
};

/* take: the node (level, index) the recursion needs, the next one of
 * its level (a level's nodes are needed in ascending index). */
static int
take(struct calc *c, unsigned level, uint64_t index,
    unsigned char out[MERKLE_HASH_LEN])
{
	size_t *cur = &c->cur[level];

	if (*cur < c->end[level] && c->nodes[*cur].index < index) {
		snprintf(c->err, c->errlen,
		    "node [%u, %llu] is not needed by the proof", level,
		    (unsigned long long)c->nodes[*cur].index);
		return -1;
	}
	if (*cur == c->end[level] || c->nodes[*cur].index != index) {
		snprintf(c->err, c->errlen, "node [%u, %llu] is missing", level,
		    (unsigned long long)index);
		return -1;
	}
	memcpy(out, c->nodes[*cur].hash, MERKLE_HASH_LEN);
	(*cur)++;
	return 0;
}

static size_t
leaf_at(const struct multiproof_leaf *lv, size_t a, size_t b, uint64_t v)
{
	while (a < b) {
		size_t m = a + (b - a) / 2;

		if (lv[m].index < v)
			a = m + 1;
		else
			b = m;
	}
	return a;
}

static int
calc_walk(struct calc *c, uint64_t lo, uint64_t n, size_t a, size_t b,
    unsigned char out[MERKLE_HASH_LEN])
{
	unsigned char left[MERKLE_HASH_LEN];
	uint64_t k;
	size_t m;

	if (a == b && perfect(lo, n))
		return take(c, (unsigned)__builtin_ctzll(n), lo / n, out);
	if (n == 1) {
		memcpy(out, c->leaves[a].hash, MERKLE_HASH_LEN);
		return 0;
	}
	k = split(n);
	m = leaf_at(c->leaves, a, b, lo + k);
	if (calc_walk(c, lo, k, a, m, left) < 0 ||
	    calc_walk(c, lo + k, n - k, m, b, out) < 0)
		return -1;
	merkle_node_hash(left, out, out);
	return 0;
}

static int
leaf_cmp(const void *x, const void *y)
{
	const struct multiproof_leaf *a = x, *b = y;

	return a->index < b->index ? -1 : a->index > b->index;
}

/* sorted_run: whether leaves are in ascending index already (a bundle's
 * leaves mostly are, chain by chain), to skip the sort. */
static bool
sorted_run(const struct multiproof_leaf *lv, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (lv[i].index < lv[i - 1].index)
			return false;
	return true;
}

int
multiproof_root(uint64_t size, struct multiproof_leaf *leaves, size_t n,
    const struct multiproof_node *nodes, size_t nnodes,
    unsigned char root[MERKLE_HASH_LEN], char *err, size_t errlen)
{
	struct calc c = { .leaves = leaves,
		.nodes = nodes,
		.err = err,
		.errlen = errlen };

	if (errlen > 0)
		err[0] = '\0';
	if (n > 1 && !sorted_run(leaves, n))
		qsort(leaves, n, sizeof(*leaves), leaf_cmp);
	for (size_t i = 0; i < n; i++) {
		if (leaves[i].index >= size) {
			snprintf(err, errlen,
			    "leaf %llu is not below the size %llu",
			    (unsigned long long)leaves[i].index,
			    (unsigned long long)size);
			return -1;
		}
		if (i > 0 && leaves[i].index == leaves[i - 1].index) {
			snprintf(err, errlen, "leaf %llu is claimed twice",
			    (unsigned long long)leaves[i].index);
			return -1;
		}
	}
	for (size_t i = 0; i < nnodes; i++) {
		if (nodes[i].level >= LEVELS ||
		    (i > 0 && node_cmp(&nodes[i - 1], &nodes[i]) >= 0)) {
			snprintf(err, errlen,
			    "node %zu [%u, %llu] is out of order or repeated",
			    i, nodes[i].level,
			    (unsigned long long)nodes[i].index);
			return -1;
		}
	}
	for (size_t i = 0, l = 0; l < LEVELS; l++) {
		c.cur[l] = i;
		while (i < nnodes && nodes[i].level == l)
			i++;
		c.end[l] = i;
	}
	if (size == 0) {
		if (nnodes > 0) {
			snprintf(err, errlen,
			    "node [%u, %llu] is not needed by "
			    "the proof",
			    nodes[0].level, (unsigned long long)nodes[0].index);
			return -1;
		}
		merkle_empty_hash(root);
		return 0;
	}
	if (calc_walk(&c, 0, size, 0, n, root) < 0)
		return -1;
	for (unsigned l = 0; l < LEVELS; l++) {
		if (c.cur[l] < c.end[l]) {
			snprintf(err, errlen,
			    "node [%u, %llu] is not needed by the proof", l,
			    (unsigned long long)nodes[c.cur[l]].index);
			return -1;
		}
	}
	return 0;
}
