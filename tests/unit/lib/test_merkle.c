/*
 * test_merkle.c -- RFC 9162 tree hashes and proofs: against the RFC's
 * recursive definitions (written out again here, leaf by leaf), against
 * published roots, and each check refusing what was changed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "merkle.h"

#define H          MERKLE_HASH_LEN
#define MAX_LEAVES 130

/* The leaves of every tree below: leaf i is "leaf i". */
static unsigned char leaves[MAX_LEAVES][H];

/* The nodes merkle_frontier_append() said to keep, by level and index;
 * `have` says which were given, so that a read of any other fails. */
struct store {
	unsigned char hash[8][MAX_LEAVES][H];
	bool have[8][MAX_LEAVES];
	int fail_after;   /* reads left before one fails; -1: never */
	int refuse_level; /* keep refuses nodes of this level; -1: none */
};

static int
store_keep(void *arg, unsigned level, uint64_t index, const unsigned char *h)
{
	struct store *s = arg;

	if ((int)level == s->refuse_level)
		return 7;
	assert_true(level < 8 && index < MAX_LEAVES);
	assert_false(s->have[level][index]);
	memcpy(s->hash[level][index], h, H);
	s->have[level][index] = true;
	return 0;
}

static int
store_node(void *arg, unsigned level, uint64_t index, unsigned char *out)
{
	struct store *s = arg;

	if (s->fail_after == 0)
		return -1;
	if (s->fail_after > 0)
		s->fail_after--;
	if (level >= 8 || index >= MAX_LEAVES || !s->have[level][index])
		return -1;
	memcpy(out, s->hash[level][index], H);
	return 0;
}

/* --- The RFC's definitions, over leaf hashes --- */

static uint64_t
split(uint64_t n)
{
	uint64_t k = 1;

	while (k * 2 < n)
		k *= 2;
	return k;
}

static void
ref_mth(size_t lo, size_t hi, unsigned char out[H])
{
	unsigned char l[H], r[H], buf[1 + 2 * H];
	size_t k;

	if (hi == lo) {
		crypto_hash_sha256(out, (const unsigned char *)"", 0);
		return;
	}
	if (hi - lo == 1) {
		memcpy(out, leaves[lo], H);
		return;
	}
	k = split(hi - lo);
	ref_mth(lo, lo + k, l);
	ref_mth(lo + k, hi, r);
	buf[0] = 1;
	memcpy(buf + 1, l, H);
	memcpy(buf + 1 + H, r, H);
	crypto_hash_sha256(out, buf, sizeof(buf));
}

/* PATH(m, D[lo:hi]) appended to p. */
static void
ref_path(size_t m, size_t lo, size_t hi, unsigned char p[][H], size_t *n)
{
	size_t k;

	if (hi - lo <= 1)
		return;
	k = split(hi - lo);
	if (m < k) {
		ref_path(m, lo, lo + k, p, n);
		ref_mth(lo + k, hi, p[(*n)++]);
	} else {
		ref_path(m - k, lo + k, hi, p, n);
		ref_mth(lo, lo + k, p[(*n)++]);
	}
}

/* SUBPROOF(m, D[lo:hi], b) appended to p. */
static void
ref_subproof(size_t m, size_t lo, size_t hi, bool b, unsigned char p[][H],
    size_t *n)
{
	size_t k;

	if (m == hi - lo) {
		if (!b)
			ref_mth(lo, hi, p[(*n)++]);
		return;
	}
	k = split(hi - lo);
	if (m <= k) {
		ref_subproof(m, lo, lo + k, b, p, n);
		ref_mth(lo + k, hi, p[(*n)++]);
	} else {
		ref_subproof(m - k, lo + k, hi, false, p, n);
		ref_mth(lo, lo + k, p[(*n)++]);
	}
}

/* A store holding the nodes of the first `n` leaves, as appends made
 * them, and the frontier they left. */
static void
store_fill(struct store *s, struct merkle_frontier *fr, size_t n)
{
	memset(s, 0, sizeof(*s));
	s->fail_after = -1;
	s->refuse_level = -1;
	merkle_frontier_init(fr);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(merkle_frontier_append(fr, leaves[i],
		                     store_keep, s),
		    0);
	assert_int_equal(fr->size, n);
}

static int
setup(void **state)
{
	char text[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < MAX_LEAVES; i++) {
		int len = snprintf(text, sizeof(text), "leaf %d", i);
		merkle_leaf_hash(text, (size_t)len, leaves[i]);
	}
	return 0;
}

static void
hex_hash(const char *hex, unsigned char out[H])
{
	assert_int_equal(sodium_hex2bin(out, H, hex, strlen(hex), NULL, NULL,
	                     NULL),
	    0);
}

/* The leaves and roots of the certificate-transparency test trees. */
static void
test_known_roots(void **state)
{
	static const char *data[] = { "", "00", "10", "2021", "3031",
		"40414243", "5051525354555657",
		"606162636465666768696a6b6c6d6e6f" };
	static const char *roots[] = {
		"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
		"6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
		"fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
		"aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
		"d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
		"4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
		"76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
		"ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
		"5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
	};
	struct merkle_frontier fr;
	unsigned char want[H], got[H], leaf[H], bytes[16];
	size_t len;

	(void)state;
	merkle_frontier_init(&fr);
	merkle_frontier_root(&fr, got);
	hex_hash(roots[0], want);
	assert_memory_equal(got, want, H);
	for (size_t i = 0; i < 8; i++) {
		assert_int_equal(sodium_hex2bin(bytes, sizeof(bytes), data[i],
		                     strlen(data[i]), NULL, &len, NULL),
		    0);
		merkle_leaf_hash(bytes, len, leaf);
		assert_int_equal(merkle_frontier_append(&fr, leaf, NULL, NULL),
		    0);
		merkle_frontier_root(&fr, got);
		hex_hash(roots[i + 1], want);
		assert_memory_equal(got, want, H);
	}
}

/* Every size: the frontier's root, the root read from the kept nodes,
 * a frontier loaded from them and the RFC's MTH agree. */
static void
test_roots(void **state)
{
	static struct store s;
	struct merkle_frontier fr, loaded;
	unsigned char want[H], got[H];

	(void)state;
	for (size_t n = 0; n <= MAX_LEAVES; n++) {
		store_fill(&s, &fr, n);
		ref_mth(0, n, want);
		merkle_frontier_root(&fr, got);
		assert_memory_equal(got, want, H);
		memset(got, 0, H);
		assert_int_equal(merkle_root(store_node, &s, n, got), 0);
		assert_memory_equal(got, want, H);
		assert_int_equal(merkle_frontier_load(&loaded, store_node, &s,
		                     n),
		    0);
		assert_int_equal(loaded.size, n);
		merkle_frontier_root(&loaded, got);
		assert_memory_equal(got, want, H);
	}
}

/* Every leaf of every tree up to 70: the RFC's PATH, accepted; refused
 * with another leaf, a changed hash, one hash less or more.  (Not with
 * another size: the path of leaf 0 of 3 leaves also proves it in a tree
 * of 4 whose root is that of the 3, as the RFC's check allows.) */
static void
test_inclusion(void **state)
{
	static struct store s;
	struct merkle_frontier fr;
	unsigned char root[H], proof[MERKLE_MAX_PROOF + 1][H], want[64][H];
	size_t len, want_len;

	(void)state;
	store_fill(&s, &fr, 70);
	for (size_t n = 1; n <= 70; n++) {
		ref_mth(0, n, root);
		for (size_t i = 0; i < n; i++) {
			want_len = 0;
			ref_path(i, 0, n, want, &want_len);
			assert_int_equal(merkle_inclusion_proof(store_node, &s,
			                     i, n, proof, &len),
			    0);
			assert_int_equal(len, want_len);
			if (len > 0)
				assert_memory_equal(proof, want, len * H);
			assert_true(merkle_verify_inclusion(leaves[i], i, n,
			    proof, len, root));
			assert_false(merkle_verify_inclusion(leaves[i + 1], i,
			    n, proof, len, root));
			if (len == 0)
				continue;
			assert_false(merkle_verify_inclusion(leaves[i], i, n,
			    proof, len - 1, root));
			memcpy(proof[len], root, H);
			assert_false(merkle_verify_inclusion(leaves[i], i, n,
			    proof, len + 1, root));
			proof[len / 2][7] ^= 0x20;
			assert_false(merkle_verify_inclusion(leaves[i], i, n,
			    proof, len, root));
		}
	}
}

/* Every pair of sizes up to 70: the RFC's PROOF, accepted; refused with
 * another root on either side or a changed hash. */
static void
test_consistency(void **state)
{
	static struct store s;
	struct merkle_frontier fr;
	unsigned char old_root[H], root[H], proof[MERKLE_MAX_PROOF][H],
	    want[64][H];
	size_t len, want_len;

	(void)state;
	store_fill(&s, &fr, 70);
	for (size_t n = 1; n <= 70; n++) {
		ref_mth(0, n, root);
		for (size_t m = 1; m <= n; m++) {
			ref_mth(0, m, old_root);
			want_len = 0;
			ref_subproof(m, 0, n, true, want, &want_len);
			assert_int_equal(merkle_consistency_proof(store_node,
			                     &s, m, n, proof, &len),
			    0);
			assert_int_equal(len, want_len);
			if (len > 0)
				assert_memory_equal(proof, want, len * H);
			assert_true(merkle_verify_consistency(m, n, old_root,
			    root, proof, len));
			old_root[0] ^= 1;
			assert_false(merkle_verify_consistency(m, n, old_root,
			    root, proof, len));
			old_root[0] ^= 1;
			root[31] ^= 1;
			assert_false(merkle_verify_consistency(m, n, old_root,
			    root, proof, len));
			root[31] ^= 1;
			if (len == 0)
				continue;
			proof[len - 1][0] ^= 0x80;
			assert_false(merkle_verify_consistency(m, n, old_root,
			    root, proof, len));
			proof[len - 1][0] ^= 0x80;
			assert_false(merkle_verify_consistency(m, n, old_root,
			    root, proof, len - 1));
		}
	}
}

/* What is out of range, a node that cannot be read and a keep that
 * refuses are errors, and leave nothing half done. */
static void
test_errors(void **state)
{
	static struct store s;
	struct merkle_frontier fr, before;
	unsigned char h[H], proof[MERKLE_MAX_PROOF][H];
	size_t len = 99;

	(void)state;
	store_fill(&s, &fr, 11);
	assert_int_equal(merkle_inclusion_proof(store_node, &s, 11, 11, proof,
	                     &len),
	    -1);
	assert_int_equal(len, 0);
	assert_int_equal(merkle_inclusion_proof(store_node, &s, 0, 0, proof,
	                     &len),
	    -1);
	assert_int_equal(merkle_consistency_proof(store_node, &s, 0, 11, proof,
	                     &len),
	    -1);
	assert_int_equal(merkle_consistency_proof(store_node, &s, 12, 11, proof,
	                     &len),
	    -1);
	assert_false(merkle_verify_inclusion(leaves[0], 1, 1, proof, 0, h));
	assert_false(merkle_verify_consistency(0, 3, h, h, proof, 0));
	assert_false(merkle_verify_consistency(4, 3, h, h, proof, 0));

	/* A node the store lacks (beyond its 11 leaves), one it fails on. */
	assert_int_equal(merkle_root(store_node, &s, 12, h), -1);
	assert_int_equal(merkle_inclusion_proof(store_node, &s, 3, 12, proof,
	                     &len),
	    -1);
	s.fail_after = 2;
	assert_int_equal(merkle_consistency_proof(store_node, &s, 3, 11, proof,
	                     &len),
	    -1);
	assert_int_equal(len, 0);
	s.fail_after = 0;
	before = fr;
	assert_int_equal(merkle_frontier_load(&fr, store_node, &s, 11), -1);
	assert_memory_equal(&fr, &before, sizeof(fr));
	s.fail_after = -1;

	/* Leaf 11 completes a node of level 1 and one of level 2: the
	 * second refused, the frontier stays at 11 leaves. */
	s.refuse_level = 2;
	assert_int_equal(merkle_frontier_append(&fr, leaves[11], store_keep,
	                     &s),
	    7);
	assert_memory_equal(&fr, &before, sizeof(fr));

	fr.size = UINT64_MAX;
	assert_int_equal(merkle_frontier_append(&fr, leaves[0], NULL, NULL),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_known_roots),
		cmocka_unit_test(test_roots),
		cmocka_unit_test(test_inclusion),
		cmocka_unit_test(test_consistency),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
