/*
 * logbench.c -- the collector's log alone (store_log.h), for
 * contrib/bench/log-bench.sh:
 *
 *   logbench --db URL --leaves N [--proofs K]
 *
 * Appends leaves to the log of the store at URL until it holds N (each
 * a line of about 900 bytes, 10,000 to a transaction, as ingest appends
 * them, without the records), then asks for K inclusion proofs of random
 * leaves in the whole tree and K consistency proofs from random sizes,
 * each checked, and prints the append rate and the time of one proof
 * (median and 99th percentile, in microseconds): the database's part of
 * what GET /api/v1/log/proof/... costs.  A log that holds N leaves
 * already is only read.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cwtime.h"
#include "merkle.h"
#include "record.h"
#include "store.h"
#include "store_log.h"

#define LB_CHUNK 10000
#define LB_LINE  900

static int
lb_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void
lb_print(const char *what, double *us, int k)
{
	qsort(us, (size_t)k, sizeof(*us), lb_cmp);
	printf("%s: median %.0f us, p99 %.0f us (%d proofs)\n", what, us[k / 2],
	    us[(k * 99) / 100 < k ? (k * 99) / 100 : k - 1], k);
}

/* Append leaves until the log holds `want`. */
static int
lb_append(struct store *st, uint64_t want)
{
	static char line[LB_LINE + 64];
	struct record recs[LB_CHUNK];
	const struct record *ptrs[LB_CHUNK];
	struct store_log log;
	struct store_log_head head;
	cw_usec_t t0 = cw_mono_usec();
	uint64_t have, added = 0;

	if (store_log_head(st, &head) != STORE_OK)
		return -1;
	have = head.size;
	memset(line, 'x', LB_LINE);
	memset(recs, 0, sizeof(recs));
	while (have < want) {
		size_t n = want - have < LB_CHUNK ? (size_t)(want - have) :
		                                    LB_CHUNK;
		if (store_group_begin(st) != STORE_OK ||
		    store_log_lock(st, &log) != STORE_OK)
			return -1;
		for (size_t i = 0; i < n; i++) {
			/* Each line its own: the leaf's number in front. */
			char *p = malloc(LB_LINE + 32);
			if (p == NULL)
				return -1;
			int len = snprintf(p, 32, "%" PRIu64 ":", have + i);
			memcpy(p + len, line, LB_LINE);
			recs[i].line = p;
			recs[i].len = (size_t)len + LB_LINE;
			ptrs[i] = &recs[i];
		}
		int rc = store_log_append(st, &log, ptrs, n);
		for (size_t i = 0; i < n; i++)
			free((void *)recs[i].line);
		if (rc != STORE_OK || store_group_commit(st) != STORE_OK)
			return -1;
		have += n;
		added += n;
	}
	if (added > 0)
		printf("appended %" PRIu64 " leaves in %.1f s: %.0f leaves/s\n",
		    added, (double)(cw_mono_usec() - t0) / 1e6,
		    (double)added * 1e6 / (double)(cw_mono_usec() - t0));
	return 0;
}

/* One proof of a random leaf (`inclusion`) or from a random size
 * (consistency) in the tree of `head`, checked.  Returns 0, or -1. */
static int
lb_proof(struct store *st, const struct store_log_head *head, bool inclusion)
{
	unsigned char leaf[MERKLE_HASH_LEN], root[MERKLE_HASH_LEN],
	    old_root[MERKLE_HASH_LEN], proof[MERKLE_MAX_PROOF][MERKLE_HASH_LEN];
	uint64_t at = randombytes_uniform(UINT32_MAX) % head->size;
	size_t len;

	if (inclusion ? store_log_inclusion(st, at, head->size, leaf, proof,
	                    &len) == STORE_OK &&
	            merkle_verify_inclusion(leaf, at, head->size, proof, len,
	                head->root) :
	                store_log_consistency(st, at + 1, head->size, old_root,
	                    root, proof, &len) == STORE_OK &&
	            merkle_verify_consistency(at + 1, head->size, old_root,
	                root, proof, len))
		return 0;
	fprintf(stderr, "logbench: %s %" PRIu64 " fails\n",
	    inclusion ? "inclusion of" : "consistency from",
	    inclusion ? at : at + 1);
	return -1;
}

/* `k` proofs of one kind, timed and printed.  Returns 0, or -1. */
static int
lb_time(struct store *st, const struct store_log_head *head, double *us, int k,
    bool inclusion)
{
	for (int i = 0; i < k; i++) {
		cw_usec_t t0 = cw_mono_usec();
		if (lb_proof(st, head, inclusion) == -1)
			return -1;
		us[i] = (double)(cw_mono_usec() - t0);
	}
	lb_print(inclusion ? "inclusion proof" : "consistency proof", us, k);
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "leaves", required_argument, NULL, 'n' },
		{ "proofs", required_argument, NULL, 'k' },
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	uint64_t want = 0;
	struct store_log_head head;
	struct store *st;
	char err[512];
	double *us;
	int ch, k = 1000;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'd')
			url = optarg;
		else if (ch == 'n')
			want = strtoull(optarg, NULL, 10);
		else if (ch == 'k')
			k = atoi(optarg);
		else
			return 2;
	}
	if (url == NULL || want == 0 || k < 1 || sodium_init() < 0) {
		fprintf(stderr,
		    "usage: logbench --db URL --leaves N "
		    "[--proofs K]\n");
		return 2;
	}
	if ((st = store_open(url, err, sizeof(err))) == NULL) {
		fprintf(stderr, "logbench: %s\n", err);
		return 1;
	}
	if (lb_append(st, want) == -1 ||
	    store_log_head(st, &head) != STORE_OK ||
	    (us = calloc((size_t)k, sizeof(*us))) == NULL) {
		fprintf(stderr, "logbench: %s\n", store_error_text(st));
		return 1;
	}
	printf("log of %" PRIu64 " leaves\n", head.size);
	if (lb_time(st, &head, us, k, true) == -1 ||
	    lb_time(st, &head, us, k, false) == -1)
		return 1;
	free(us);
	store_close(st);
	return 0;
}
