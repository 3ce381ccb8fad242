/*
 * store_fixture.h -- a store for the tests of what reads it back
 * (test_export, test_summary): a SQLite file in /tmp, or the PostgreSQL
 * database CW_TEST_PG_URL names (wiped), with probes enrolled from
 * fixed seeds and chains of records ingested as a probe would send
 * them.  Include after cmocka.h; everything here is static inline.
 */
#ifndef CW_TEST_STORE_FIXTURE_H
#define CW_TEST_STORE_FIXTURE_H

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store.h"

#define SFIX_PROBES	4
#define SFIX_RECEIVED	INT64_C(1764000000000000) /* 2025-11-24T16:00Z */

struct sfix {
	char			 url[512];
	char			 path[256];	/* SQLite: removed at the end */
	struct store		*st;
	struct store_probe	 probe[SFIX_PROBES];
	size_t			 nprobes;
};

/* A chain of one probe: lines made but not yet ingested. */
struct schain {
	struct store_probe	*probe;
	char			 chain[RECORD_ID_HEX + 1];
	unsigned char		 last[RECORD_HASH_LEN];
	uint64_t		 seq;
	char			**lines;	/* every line made */
	size_t			 n, cap;
	size_t			 done;		/* lines ingested */
};

static inline void
sfix_open(struct sfix *f, const char *pg_url)
{
	char err[512];
	int fd;

	memset(f, 0, sizeof(*f));
	if (pg_url != NULL) {
		struct db *db;
		snprintf(f->url, sizeof(f->url), "%s", pg_url);
		if ((db = db_open(f->url, err, sizeof(err))) == NULL)
			fail_msg("db_open: %s", err);
		assert_int_equal(db_exec_script(db, "DROP SCHEMA public "
		    "CASCADE; CREATE SCHEMA public"), 0);
		db_close(db);
	} else {
		snprintf(f->path, sizeof(f->path), "/tmp/cw-test-read.XXXXXX");
		assert_true((fd = mkstemp(f->path)) != -1);
		close(fd);
		snprintf(f->url, sizeof(f->url), "sqlite:%s", f->path);
	}
	if ((f->st = store_open(f->url, err, sizeof(err))) == NULL)
		fail_msg("store_open %s: %s", f->url, err);
}

static inline void
sfix_close(struct sfix *f)
{
	char name[300];

	for (size_t i = 0; i < f->nprobes; i++)
		store_probe_clear(&f->probe[i]);
	store_close(f->st);
	if (f->path[0] != '\0') {
		unlink(f->path);
		snprintf(name, sizeof(name), "%s-wal", f->path);
		unlink(name);
		snprintf(name, sizeof(name), "%s-shm", f->path);
		unlink(name);
	}
}

/* Enroll a probe whose key comes from the seed byte `seed` (so its id
 * is the same in every run), declaring `country` (NULL: none) and
 * `asn` (-1: none) from now on. */
static inline struct store_probe *
sfix_probe(struct sfix *f, const char *name, unsigned char seed,
    const char *country, long long asn)
{
	unsigned char sd[32], pk[32], sk[64];
	struct store_probe *p;
	char err[256];

	assert_true(f->nprobes < SFIX_PROBES);
	p = &f->probe[f->nprobes++];
	memset(sd, seed, sizeof(sd));
	crypto_sign_seed_keypair(pk, sk, sd);
	assert_int_equal(store_probe_add(f->st, name, pk, p, err,
	    sizeof(err)), STORE_OK);
	if (country != NULL)
		snprintf(p->country, sizeof(p->country), "%s", country);
	p->asn = asn;
	return p;
}

static inline void
schain_init(struct schain *c, struct store_probe *p, const char *chain)
{
	memset(c, 0, sizeof(*c));
	c->probe = p;
	snprintf(c->chain, sizeof(c->chain), "%s", chain);
}

static inline void
schain_free(struct schain *c)
{
	for (size_t i = 0; i < c->n; i++)
		free(c->lines[i]);
	free(c->lines);
	c->lines = NULL;
	c->n = c->cap = c->done = 0;
}

/* The next record of the chain: the envelope, "type", then `body` (a
 * fragment of JSON keys, may be ""). */
static inline void
schain_add(struct schain *c, const char *type, const char *body)
{
	char prev[RECORD_HASH_HEX + 1], *line;

	if (c->seq == 0) {
		memset(prev, '0', RECORD_HASH_HEX);
		prev[RECORD_HASH_HEX] = '\0';
	} else
		record_hex(c->last, RECORD_HASH_LEN, prev);
	c->seq++;
	assert_true(asprintf(&line, "{\"probe\":\"%s\",\"chain\":\"%s\","
	    "\"seq\":%" PRIu64 ",\"prev\":\"%s\",\"type\":\"%s\"%s%s}",
	    c->probe->id, c->chain, c->seq, prev, type,
	    body[0] != '\0' ? "," : "", body) > 0);
	record_hash(line, strlen(line), c->last);
	if (c->n == c->cap) {
		c->cap = c->cap == 0 ? 64 : c->cap * 2;
		assert_non_null(c->lines = reallocarray(c->lines, c->cap,
		    sizeof(*c->lines)));
	}
	c->lines[c->n++] = line;
}

/* Ingest the chain's lines not ingested yet, in batches of at most
 * `per_batch`. */
static inline void
schain_ingest(struct sfix *f, struct schain *c, size_t per_batch)
{
	struct store_receipt rc;
	struct store_batch b;
	struct record *recs;
	char err[256];

	assert_non_null(recs = calloc(per_batch, sizeof(*recs)));
	for (size_t from = c->done; from < c->n; from += per_batch) {
		size_t n = c->n - from < per_batch ? c->n - from : per_batch;
		for (size_t i = 0; i < n; i++)
			if (record_parse(c->lines[from + i],
			    strlen(c->lines[from + i]), &recs[i], err,
			    sizeof(err)) != 0)
				fail_msg("record_parse: %s: %s", err,
				    c->lines[from + i]);
		b.probe = c->probe;
		b.recs = recs;
		b.n = n;
		b.received_at = SFIX_RECEIVED;
		if (store_ingest(f->st, &b, &rc, err, sizeof(err)) != STORE_OK)
			fail_msg("store_ingest: %s", err);
		for (size_t i = 0; i < n; i++)
			record_clear(&recs[i]);
	}
	free(recs);
	c->done = c->n;
}

#endif /* CW_TEST_STORE_FIXTURE_H */
