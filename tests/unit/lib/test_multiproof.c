/*
 * test_multiproof.c -- the multi-leaf inclusion proof of an evidence
 * bundle: for many sizes and random sets of leaves, the nodes asked for
 * and the root they give against merkle.h's root of the whole tree; for
 * one leaf, against the RFC 9162 audit path; every refusal (a node
 * missing, one too many, one out of order, a leaf twice or beyond the
 * size); and, on trees too large to build, against the recursion of
 * doc/evidence.md written out again here, leaf by leaf.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "merkle.h"
#include "multiproof.h"

#define H          MERKLE_HASH_LEN
#define MAX_LEAVES 300

static unsigned char leafh[MAX_LEAVES][H];

static void
leaves_init(void)
{
	char buf[32];

	for (int i = 0; i < MAX_LEAVES; i++) {
		int n = snprintf(buf, sizeof(buf), "leaf %d", i);

		merkle_leaf_hash(buf, (size_t)n, leafh[i]);
	}
}

/* The hash of the perfect subtree (level, index), from the leaves. */
static void
perfect_hash(unsigned level, uint64_t index, unsigned char out[H])
{
	unsigned char l[H], r[H];

	if (level == 0) {
		memcpy(out, leafh[index], H);
		return;
	}
	perfect_hash(level - 1, index * 2, l);
	perfect_hash(level - 1, index * 2 + 1, r);
	merkle_node_hash(l, r, out);
}

static int
node_fn(void *arg, unsigned level, uint64_t index, unsigned char out[H])
{
	(void)arg;
	perfect_hash(level, index, out);
	return 0;
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t
next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* A random strictly ascending subset of [0, size), of about `p`/100. */
static size_t
random_subset(uint64_t size, unsigned p, uint64_t *idx)
{
	size_t n = 0;

	for (uint64_t i = 0; i < size; i++)
		if (next_rand() % 100 < p)
			idx[n++] = i;
	return n;
}

/* prove: the nodes for idx with their hashes, and the leaves. */
static struct multiproof_node *
prove(uint64_t size, const uint64_t *idx, size_t n, size_t *nn,
    struct multiproof_leaf *lv)
{
	struct multiproof_node *nodes;

	assert_int_equal(multiproof_nodes(size, idx, n, &nodes, nn), 0);
	for (size_t i = 0; i < *nn; i++) {
		assert_true(i == 0 || nodes[i - 1].level < nodes[i].level ||
		    (nodes[i - 1].level == nodes[i].level &&
		        nodes[i - 1].index < nodes[i].index));
		perfect_hash(nodes[i].level, nodes[i].index, nodes[i].hash);
	}
	for (size_t i = 0; i < n; i++) {
		lv[i].index = idx[i];
		memcpy(lv[i].hash, leafh[idx[i]], H);
	}
	return nodes;
}

static void
test_roots(void **state)
{
	static uint64_t idx[MAX_LEAVES];
	static struct multiproof_leaf lv[MAX_LEAVES];
	unsigned char want[H], got[H];
	char err[128];

	(void)state;
	for (uint64_t size = 1; size <= MAX_LEAVES; size++) {
		assert_int_equal(merkle_root(node_fn, NULL, size, want), 0);
		for (unsigned p = 0; p <= 100; p += 10) {
			size_t n = random_subset(size, p, idx), nn;
			struct multiproof_node *nodes = prove(size, idx, n, &nn,
			    lv);

			/* Shuffle the leaves: the root sorts them. */
			for (size_t i = n; i > 1; i--) {
				size_t j = next_rand() % i;
				struct multiproof_leaf t = lv[i - 1];

				lv[i - 1] = lv[j];
				lv[j] = t;
			}
			assert_int_equal(multiproof_root(size, lv, n, nodes, nn,
			                     got, err, sizeof(err)),
			    0);
			assert_memory_equal(got, want, H);
			/* Every leaf given: no node; none: the right edge. */
			if (n == size)
				assert_int_equal(nn, 0);
			if (n == 0)
				assert_int_equal(nn,
				    (size_t)__builtin_popcountll(size));
			if (n > 0) {
				lv[0].hash[5] ^= 1;
				assert_int_equal(multiproof_root(size, lv, n,
				                     nodes, nn, got, err,
				                     sizeof(err)),
				    0);
				assert_memory_not_equal(got, want, H);
			}
			free(nodes);
		}
	}
}

/* One leaf: the nodes are its audit path where each sibling is a
 * perfect subtree (always so for a size that is a power of two), and
 * the root is the one the audit path checks against. */
static void
test_single_leaf(void **state)
{
	unsigned char path[MERKLE_MAX_PROOF][H], root[H], got[H];
	char err[128];

	(void)state;
	for (uint64_t size = 1; size <= 140; size++) {
		assert_int_equal(merkle_root(node_fn, NULL, size, root), 0);
		for (uint64_t m = 0; m < size; m++) {
			struct multiproof_leaf lv = { .index = m };
			struct multiproof_node *nodes;
			size_t nn, plen;

			nodes = prove(size, &m, 1, &nn, &lv);
			assert_int_equal(merkle_inclusion_proof(node_fn, NULL,
			                     m, size, path, &plen),
			    0);
			assert_true(merkle_verify_inclusion(leafh[m], m, size,
			    (const unsigned char(*)[H])path, plen, root));
			assert_int_equal(multiproof_root(size, &lv, 1, nodes,
			                     nn, got, err, sizeof(err)),
			    0);
			assert_memory_equal(got, root, H);
			assert_true(nn >= plen);
			if ((size & (size - 1)) == 0) {
				/* The same hashes: each path entry is a node. */
				assert_int_equal(nn, plen);
				for (size_t i = 0; i < plen; i++) {
					bool found = false;

					for (size_t j = 0; j < nn; j++)
						found = found ||
						    memcmp(nodes[j].hash,
						        path[i], H) == 0;
					assert_true(found);
				}
			}
			free(nodes);
		}
	}
}

static void
test_refusals(void **state)
{
	static uint64_t idx[MAX_LEAVES];
	static struct multiproof_leaf lv[MAX_LEAVES];
	struct multiproof_node *nodes, *more;
	unsigned char got[H];
	char err[128];
	size_t n, nn;

	(void)state;
	idx[0] = 3;
	idx[1] = 40;
	idx[2] = 41;
	idx[3] = 99;
	n = 4;
	nodes = prove(100, idx, n, &nn, lv);
	assert_true(nn > 3);
	/* A node missing. */
	assert_int_equal(multiproof_root(100, lv, n, nodes + 1, nn - 1, got,
	                     err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "missing"));
	/* A node too many (one the proof does not need: leaf 40 itself). */
	more = calloc(nn + 1, sizeof(*more));
	assert_non_null(more);
	{
		size_t at = 0; /* after the level-0 nodes below 40 */

		while (at < nn && nodes[at].level == 0 && nodes[at].index < 40)
			at++;
		memcpy(more, nodes, at * sizeof(*nodes));
		more[at].level = 0;
		more[at].index = 40;
		memcpy(more + at + 1, nodes + at, (nn - at) * sizeof(*nodes));
	}
	assert_int_equal(multiproof_root(100, lv, n, more, nn + 1, got, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "[0, 40] is not needed"));
	/* A node beyond everything, at the end of its level. */
	memcpy(more, nodes, nn * sizeof(*nodes));
	more[nn] = nodes[nn - 1];
	more[nn].level = 63;
	assert_int_equal(multiproof_root(100, lv, n, more, nn + 1, got, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not needed"));
	/* Out of order, and repeated. */
	memcpy(more, nodes, nn * sizeof(*nodes));
	more[0] = nodes[1];
	more[1] = nodes[0];
	assert_int_equal(multiproof_root(100, lv, n, more, nn, got, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "out of order"));
	memcpy(more + 1, nodes, nn * sizeof(*nodes));
	more[0] = nodes[0];
	assert_int_equal(multiproof_root(100, lv, n, more, nn + 1, got, err,
	                     sizeof(err)),
	    -1);
	free(more);
	/* A leaf twice; a leaf beyond the size. */
	lv[2].index = 40;
	assert_int_equal(multiproof_root(100, lv, n, nodes, nn, got, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "leaf 40 is claimed twice"));
	lv[2].index = 41;
	lv[3].index = 100;
	assert_int_equal(multiproof_root(100, lv, n, nodes, nn, got, err,
	                     sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "not below the size"));
	free(nodes);
	/* multiproof_nodes refuses leaves out of order or beyond. */
	idx[1] = 3;
	assert_int_equal(multiproof_nodes(100, idx, 4, &nodes, &nn), -1);
	idx[1] = 40;
	assert_int_equal(multiproof_nodes(99, idx, 4, &nodes, &nn), -1);
	/* The empty tree. */
	assert_int_equal(multiproof_nodes(0, idx, 0, &nodes, &nn), 0);
	assert_int_equal(nn, 0);
	assert_int_equal(multiproof_root(0, lv, 0, NULL, 0, got, err,
	                     sizeof(err)),
	    0);
}

/* --- Large trees: the recursion of doc/evidence.md, literally --- */

/* The hash given for node (level, index) of a tree too large to build:
 * any value will do, as long as both sides take the same. */
static void
fake_node(unsigned level, uint64_t index, unsigned char out[H])
{
	uint64_t v[2] = { level, index };

	crypto_hash_sha256(out, (const unsigned char *)v, sizeof(v));
}

static void
fake_leaf(uint64_t index, unsigned char out[H])
{
	merkle_leaf_hash(&index, sizeof(index), out);
}

static void
spec_root(const uint64_t *idx, size_t n, uint64_t lo, uint64_t hi,
    unsigned char out[H])
{
	unsigned char l[H], r[H];
	uint64_t k = 1;
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any = any || (idx[i] >= lo && idx[i] < hi);
	if (!any && ((hi - lo) & (hi - lo - 1)) == 0) {
		fake_node((unsigned)__builtin_ctzll(hi - lo), lo / (hi - lo),
		    out);
		return;
	}
	if (hi - lo == 1) {
		fake_leaf(lo, out);
		return;
	}
	while (k <= (hi - lo - 1) / 2) /* 2k < hi - lo, without overflow */
		k *= 2;
	spec_root(idx, n, lo, lo + k, l);
	spec_root(idx, n, lo + k, hi, r);
	merkle_node_hash(l, r, out);
}

static void
test_large(void **state)
{
	static const uint64_t sizes[] = { 1000003, (1ULL << 40) + 12345,
		(1ULL << 63) + 5, UINT64_MAX };
	uint64_t idx[40];
	struct multiproof_leaf lv[40];
	unsigned char want[H], got[H];
	char err[128];

	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		for (int round = 0; round < 20; round++) {
			struct multiproof_node *nodes;
			size_t n = 1 + next_rand() % 40, nn, m = 0;
			uint64_t base = next_rand() % sizes[s];

			/* Runs of consecutive leaves and scattered ones. */
			for (size_t i = 0; i < n; i++) {
				uint64_t v = (i % 3 == 0) ?
				    next_rand() % sizes[s] :
				    base + i;

				idx[i] = v < sizes[s] ? v : sizes[s] - 1;
			}
			for (size_t i = 1; i < n; i++) /* insertion sort */
				for (size_t j = i; j > 0 && idx[j] < idx[j - 1];
				     j--) {
					uint64_t t = idx[j];

					idx[j] = idx[j - 1];
					idx[j - 1] = t;
				}
			for (size_t i = 0; i < n; i++)
				if (m == 0 || idx[i] != idx[m - 1])
					idx[m++] = idx[i];
			n = m;
			assert_int_equal(multiproof_nodes(sizes[s], idx, n,
			                     &nodes, &nn),
			    0);
			/* At most two nodes a level a leaf. */
			assert_true(nn <= 2 * 64 * n);
			for (size_t i = 0; i < nn; i++)
				fake_node(nodes[i].level, nodes[i].index,
				    nodes[i].hash);
			for (size_t i = 0; i < n; i++) {
				lv[i].index = idx[i];
				fake_leaf(idx[i], lv[i].hash);
			}
			spec_root(idx, n, 0, sizes[s], want);
			assert_int_equal(multiproof_root(sizes[s], lv, n, nodes,
			                     nn, got, err, sizeof(err)),
			    0);
			assert_memory_equal(got, want, H);
			free(nodes);
		}
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_single_leaf),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_large),
	};

	if (sodium_init() < 0)
		return 1;
	leaves_init();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
