/*
 * episodesload.c -- a day of results for the episodes benchmark
 * (contrib/bench/episodes-bench.sh), stored through store_ingest() as
 * the collector stores batches, so that the episode tables are what
 * ingest makes of them:
 *
 *   episodesload --db URL [--probes 1000] [--targets 20]
 *                [--interval 300] [--days 1] [--start TIME]
 *
 * Each probe measures each target every interval for `days` days of 24
 * hours from `start` (RFC 3339, default 2026-11-26T00:00:00Z) and sends
 * an hour a batch, with a heartbeat with each round (at most one in
 * 300 s, the probe's default).  Every target fails now and then alone
 * (one result in 97: mostly single losses, no episode); each day,
 * target 0 is lost for an hour by the probes of one country in twenty
 * (region episodes) and one probe in fifty is cut off for 30 minutes
 * (probe episodes, and a silence).  The batches of an hour are
 * committed together.  Prints the records stored and the records/s of
 * the ingest, episodes included.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cwtime.h"
#include "record.h"
#include "store.h"

#define EL_DAY0 INT64_C(1795651200000000) /* 2026-11-26T00:00:00Z */

struct el_probe {
	struct store_probe p;
	char chain[RECORD_ID_HEX + 1];
	unsigned char prev[RECORD_HASH_LEN];
	uint64_t seq;
	char country[3];
	long long asn;
};

/* Whether probe n is cut off at second s since the start. */
static bool
el_cut(int n, long s)
{
	return n % 50 == 7 && s % 86400 >= 50000 && s % 86400 < 51800;
}

/* Whether result (probe n, target k, second s since the start) failed. */
static bool
el_failed(int n, int k, long s, long round)
{
	if (k == 0 && n % 20 == 3 && s % 86400 >= 36000 && s % 86400 < 39600)
		return true;
	if (el_cut(n, s))
		return true;
	return (n * 31 + k * 17 + round * 13) % 97 == 0;
}

/* The next line of probe `p` into recs[*n], parsed. */
static int
el_add(struct el_probe *p, struct record *recs, size_t *n, const char *body)
{
	char prevhex[RECORD_HASH_HEX + 1], *line, err[256];

	if (p->seq == 0)
		memset(prevhex, '0', RECORD_HASH_HEX), prevhex[64] = '\0';
	else
		record_hex(p->prev, RECORD_HASH_LEN, prevhex);
	if (asprintf(&line,
	        "{\"probe\":\"%s\",\"chain\":\"%s\",\"seq\":%" PRIu64
	        ",\"prev\":\"%s\",%s}",
	        p->p.id, p->chain, p->seq + 1, prevhex, body) == -1)
		return -1;
	record_hash(line, strlen(line), p->prev);
	p->seq++;
	if (record_parse(line, strlen(line), &recs[*n], err, sizeof(err)) !=
	    0) {
		fprintf(stderr, "episodesload: %s: %s\n", err, line);
		free(line);
		return -1;
	}
	/* The record points into its line: freed after the ingest. */
	(*n)++;
	return 0;
}

/* The batch of hour `h` (since `day0`) of probe number `n`. */
static int
el_hour(struct store *st, struct el_probe *p, int n, long h, int targets,
    int interval, cw_usec_t day0, struct record *recs)
{
	struct store_batch b = { .probe = &p->p, .recs = recs };
	struct store_receipt rc;
	char body[768], when[CW_TIME_STRLEN], err[256];
	size_t nrec = 0;
	int ret = 0;

	for (long s = h * 3600L; s < (h + 1) * 3600L && ret == 0;
	     s += interval) {
		bool cut = el_cut(n, s);
		cw_time_format(day0 + s * CW_USEC_PER_SEC, when, sizeof(when));
		if (!cut) {
			snprintf(body, sizeof(body),
			    "\"type\":\"heartbeat\",\"time\":\"%s\",\"identity\":"
			    "{\"country\":\"%s\",\"asn\":%lld},\"queue\":0",
			    when, p->country, p->asn);
			ret = el_add(p, recs, &nrec, body);
		}
		for (int k = 0; k < targets && ret == 0; k++) {
			bool bad = el_failed(n, k, s, s / interval);
			cw_time_format(day0 + (s + k) * CW_USEC_PER_SEC, when,
			    sizeof(when));
			snprintf(body, sizeof(body),
			    "\"type\":\"dns\",\"time\":\"%s\",\"name\":"
			    "\"root-soa\",\"server\":\"r%d.example\",\"addr\":"
			    "\"192.0.2.%d\",\"port\":53,\"af\":4,\"proto\":"
			    "\"udp\",\"query\":{\"qname\":\".\",\"qtype\":"
			    "\"SOA\"},%s",
			    when, k, k + 1,
			    bad ?
			        "\"ok\":false,\"failure\":"
			        "\"generic_timeout_error\",\"rtt_ms\":null" :
			        "\"ok\":true,\"failure\":null,\"rtt_ms\":12.5,"
			        "\"rcode\":\"NOERROR\"");
			ret = el_add(p, recs, &nrec, body);
		}
	}
	b.n = nrec;
	b.received_at = day0 + (h + 1) * 3600 * CW_USEC_PER_SEC;
	if (ret == 0 && nrec > 0 &&
	    store_ingest(st, &b, &rc, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "episodesload: ingest: %s\n", err);
		ret = -1;
	}
	for (size_t i = 0; i < nrec; i++) {
		free((char *)recs[i].line);
		record_clear(&recs[i]);
	}
	return ret;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "probes", required_argument, NULL, 'p' },
		{ "targets", required_argument, NULL, 't' },
		{ "interval", required_argument, NULL, 'i' },
		{ "days", required_argument, NULL, 'n' },
		{ "start", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	int nprobes = 1000, targets = 20, interval = 300, days = 1, ch;
	const char *db = NULL;
	cw_usec_t day0 = EL_DAY0;
	bool bad_start = false;
	struct el_probe *pr;
	struct record *recs;
	struct store *st;
	char err[512];
	cw_usec_t t0;
	long long total = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1)
		switch (ch) {
		case 'd':
			db = optarg;
			break;
		case 'p':
			nprobes = atoi(optarg);
			break;
		case 't':
			targets = atoi(optarg);
			break;
		case 'i':
			interval = atoi(optarg);
			break;
		case 'n':
			days = atoi(optarg);
			break;
		case 's':
			bad_start = cw_time_parse(optarg, &day0) == -1;
			break;
		default:
			return 2;
		}
	if (db == NULL || nprobes < 1 || targets < 1 || targets > 250 ||
	    interval < 1 || days < 1 || days > 366 || bad_start ||
	    sodium_init() < 0) {
		fprintf(stderr,
		    "usage: episodesload --db URL [--probes N] "
		    "[--targets N] [--interval S] [--days N] "
		    "[--start TIME]\n");
		return 2;
	}
	if ((st = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "episodesload: %s\n", err);
		return 1;
	}
	pr = calloc((size_t)nprobes, sizeof(*pr));
	recs = calloc((size_t)(3600 / interval + 1) * (size_t)(targets + 1),
	    sizeof(*recs));
	if (pr == NULL || recs == NULL)
		return 1;
	for (int n = 0; n < nprobes; n++) {
		unsigned char pk[RECORD_PUBKEY_LEN], sk[64], cb[16];
		char name[32];
		crypto_sign_keypair(pk, sk);
		snprintf(name, sizeof(name), "load-%d", n);
		if (store_probe_add(st, name, pk, &pr[n].p, err, sizeof(err)) !=
		    STORE_OK) {
			fprintf(stderr, "episodesload: %s\n", err);
			return 1;
		}
		randombytes_buf(cb, sizeof(cb));
		record_hex(cb, sizeof(cb), pr[n].chain);
		pr[n].country[0] = (char)('A' + n % 20);
		pr[n].country[1] = (char)('A' + (n % 20) % 7);
		pr[n].asn = 64500 + n % 50;
	}
	t0 = cw_mono_usec();
	for (long h = 0; h < 24L * days; h++) {
		if (store_group_begin(st) != STORE_OK)
			return 1;
		for (int n = 0; n < nprobes; n++)
			if (el_hour(st, &pr[n], n, h, targets, interval, day0,
			        recs) == -1)
				return 1;
		if (store_group_commit(st) != STORE_OK) {
			fprintf(stderr, "episodesload: commit: %s\n",
			    store_error_text(st));
			return 1;
		}
	}
	for (int n = 0; n < nprobes; n++) {
		total += (long long)pr[n].seq;
		store_probe_clear(&pr[n].p);
	}
	printf("%lld records stored in %.1f s (%.0f records/s, episodes "
	       "included)\n",
	    total, (double)(cw_mono_usec() - t0) / 1e6,
	    (double)total / ((double)(cw_mono_usec() - t0) / 1e6));
	free(pr);
	free(recs);
	store_close(st);
	return 0;
}
