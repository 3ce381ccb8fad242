/* test_store_bundle.c -- what an evidence bundle reads of the store
 * (store_bundle.h), on SQLite and, when CW_TEST_PG_URL names a database
 * the test may wipe, on PostgreSQL (tests/scenario/store_pg.sh): the
 * stretch of each chain a filter selects, sorted by probe and chain;
 * a stretch's records by seq, paged, with their exact lines and leaves,
 * and counted;
 * the log's nodes of a level in a range, as a tree built here from the
 * stored lines has them. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "merkle.h"
#include "store_bundle.h"
#include "store_fixture.h"

#define H      MERKLE_HASH_LEN
#define CHAIN2 "c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1c1"

/* The fixture's probe with two chains (10 and 6 records) and a second
 * probe with one (5), in batches of 4, so that leaves interleave. */
struct bfix {
	struct schain c2, d;
	struct store_probe *q;
};

static void
bfix_fill(struct sfix_test *t, struct bfix *b)
{
	b->q = sfix_probe(&t->s, "lviv-2", 8, NULL, -1);
	schain_init(&b->c2, t->p, CHAIN2);
	schain_init(&b->d, b->q, SFIX_CHAIN);
	schain_measurements(&t->c, 10);
	schain_measurements(&b->c2, 6);
	schain_measurements(&b->d, 5);
	schain_ingest(&t->s, &b->d, 4);
	schain_ingest(&t->s, &t->c, 4);
	schain_ingest(&t->s, &b->c2, 4);
}

static void
bfix_free(struct bfix *b)
{
	schain_free(&b->c2);
	schain_free(&b->d);
}

static void
test_bundle_spans(void **state)
{
	struct sfix_test *t = *state;
	struct store_filter f;
	struct store_span *v;
	struct bfix b;
	size_t n;

	bfix_fill(t, &b);
	store_filter_init(&f);
	assert_int_equal(store_bundle_spans(t->s.st, &f, &v, &n), STORE_OK);
	assert_int_equal(n, 3);
	for (size_t i = 1; i < n; i++) {
		int c = strcmp(v[i - 1].probe, v[i].probe);
		assert_true(c < 0 ||
		    (c == 0 && strcmp(v[i - 1].chain, v[i].chain) < 0));
	}
	for (size_t i = 0; i < n; i++) {
		long long want = strcmp(v[i].probe, t->p->id) != 0 ? 5 :
		    strcmp(v[i].chain, SFIX_CHAIN) == 0            ? 10 :
		                                                     6;
		assert_int_equal(v[i].first, 1);
		assert_int_equal(v[i].last, want);
	}
	free(v);

	/* One probe, by number. */
	char num[24];
	snprintf(num, sizeof(num), "%lld", b.q->num);
	f.probe = num;
	assert_int_equal(store_bundle_spans(t->s.st, &f, &v, &n), STORE_OK);
	assert_int_equal(n, 1);
	assert_string_equal(v[0].probe, b.q->id);
	assert_int_equal(v[0].last, 5);
	free(v);

	/* No such probe, no such type: no stretch, no error. */
	f.probe = "999";
	assert_int_equal(store_bundle_spans(t->s.st, &f, &v, &n), STORE_OK);
	assert_int_equal(n, 0);
	assert_null(v);
	store_filter_init(&f);
	f.type = "heartbeat";
	assert_int_equal(store_bundle_spans(t->s.st, &f, &v, &n), STORE_OK);
	assert_int_equal(n, 0);
	bfix_free(&b);
}

/* The records read, by seq. */
struct got {
	long long seq[32];
	long long leaf[32];
	char *line[32];
	size_t n;
};

static int
got_cb(void *arg, const struct store_bundle_rec *r)
{
	struct got *g = arg;

	assert_true(g->n < 32);
	g->seq[g->n] = r->seq;
	g->leaf[g->n] = r->log_index;
	/* The line is bytes of the database's buffer, with no NUL after
	 * them (PostgreSQL's bytea): not a string for strndup. */
	assert_non_null(g->line[g->n] = malloc(r->len + 1));
	memcpy(g->line[g->n], r->line, r->len);
	g->line[g->n][r->len] = '\0';
	g->n++;
	return 0;
}

static void
test_bundle_records(void **state)
{
	struct sfix_test *t = *state;
	struct got g = { .n = 0 };
	struct bfix b;

	bfix_fill(t, &b);
	/* Seqs 3 to 7, three at a time. */
	assert_int_equal(store_bundle_records(t->s.st, t->p->id, SFIX_CHAIN, 2,
	                     7, 3, got_cb, &g),
	    3);
	assert_int_equal(store_bundle_records(t->s.st, t->p->id, SFIX_CHAIN,
	                     g.seq[2], 7, 3, got_cb, &g),
	    2);
	assert_int_equal(g.n, 5);
	for (size_t i = 0; i < g.n; i++) {
		assert_int_equal(g.seq[i], (long long)i + 3);
		assert_string_equal(g.line[i], t->c.lines[i + 2]);
		assert_true(g.leaf[i] >= 0);
		if (i > 0)
			assert_true(g.leaf[i] > g.leaf[i - 1]);
		free(g.line[i]);
	}
	/* Counted alike. */
	long long count;
	assert_int_equal(store_bundle_count(t->s.st, t->p->id, SFIX_CHAIN, 3, 7,
	                     &count),
	    STORE_OK);
	assert_int_equal(count, 5);
	assert_int_equal(store_bundle_count(t->s.st, t->p->id, CHAIN2, 1, 99,
	                     &count),
	    STORE_OK);
	assert_int_equal(count, 6);
	/* Another chain's, past its end: none. */
	assert_int_equal(store_bundle_records(t->s.st, t->p->id, CHAIN2, 6, 99,
	                     10, got_cb, &g),
	    0);
	/* A record stored before the log has no leaf. */
	assert_int_equal(
	    db_exec(store_db(t->s.st),
	        "UPDATE records SET log_index = NULL WHERE seq = 1", NULL, 0),
	    0);
	g.n = 0;
	assert_int_equal(store_bundle_records(t->s.st, b.q->id, SFIX_CHAIN, 0,
	                     1, 10, got_cb, &g),
	    1);
	assert_int_equal(g.leaf[0], -1);
	free(g.line[0]);
	bfix_free(&b);
}

/* The leaf hashes by log index, from the stored lines. */
struct leaves {
	unsigned char h[64][H];
	size_t n;
};

static int
leaves_cb(void *arg, const struct db_row *row)
{
	struct leaves *l = arg;

	assert_true(l->n < 64);
	assert_int_equal(row->col[0].i, (long long)l->n);
	merkle_leaf_hash(row->col[1].p, row->col[1].len, l->h[l->n++]);
	return 0;
}

struct nodes {
	uint64_t idx[64];
	unsigned char h[64][H];
	size_t n;
};

static int
nodes_cb(void *arg, uint64_t index, const unsigned char hash[H])
{
	struct nodes *ns = arg;

	assert_true(ns->n < 64);
	ns->idx[ns->n] = index;
	memcpy(ns->h[ns->n++], hash, H);
	return 0;
}

static void
test_bundle_nodes(void **state)
{
	struct sfix_test *t = *state;
	struct leaves l = { .n = 0 };
	struct nodes ns = { .n = 0 };
	unsigned char want[H], a[H], c[H];
	struct bfix b;

	bfix_fill(t, &b);
	assert_int_equal(db_query(store_db(t->s.st),
	                     "SELECT log_index, line FROM records "
	                     "ORDER BY log_index",
	                     NULL, 0, leaves_cb, &l),
	    0);
	assert_int_equal(l.n, 21);
	/* Level 0, leaves 2 to 5. */
	assert_int_equal(store_log_nodes_range(t->s.st, 0, 2, 5, nodes_cb, &ns),
	    STORE_OK);
	assert_int_equal(ns.n, 4);
	for (size_t i = 0; i < 4; i++) {
		assert_int_equal(ns.idx[i], i + 2);
		assert_memory_equal(ns.h[i], l.h[i + 2], H);
	}
	/* Level 2, index 1: leaves 4 to 7. */
	ns.n = 0;
	assert_int_equal(store_log_nodes_range(t->s.st, 2, 1, 1, nodes_cb, &ns),
	    STORE_OK);
	assert_int_equal(ns.n, 1);
	merkle_node_hash(l.h[4], l.h[5], a);
	merkle_node_hash(l.h[6], l.h[7], c);
	merkle_node_hash(a, c, want);
	assert_memory_equal(ns.h[0], want, H);
	/* Past the perfect subtrees there is none (21 leaves: level 4 has
	 * index 0 only). */
	ns.n = 0;
	assert_int_equal(store_log_nodes_range(t->s.st, 4, 0, 5, nodes_cb, &ns),
	    STORE_OK);
	assert_int_equal(ns.n, 1);
	assert_int_equal(ns.idx[0], 0);
	bfix_free(&b);
}

#define BUNDLE_TESTS(setup) \
	SFIX_TEST(test_bundle_spans, setup), \
	    SFIX_TEST(test_bundle_records, setup), \
	    SFIX_TEST(test_bundle_nodes, setup)

int
main(void)
{
	const struct CMUnitTest sqlite_tests[] = { BUNDLE_TESTS(
	    sfix_setup_bare_sqlite) };
	const struct CMUnitTest pg_tests[] = { BUNDLE_TESTS(
	    sfix_setup_bare_pg) };

	if (sodium_init() < 0)
		return 1;
	return SFIX_RUN("bundle", sqlite_tests, pg_tests,
	           "tests/scenario/store_pg.sh") != 0;
}
