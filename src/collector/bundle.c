/*
 * bundle.c -- an evidence bundle written as a tar archive (bundle.h).
 *
 * The order of the work matters for what the bundle proves:
 *  1. the filters mark, per probe and chain, the first and last seq;
 *  2. each stretch grows to the batches that meet it, until none reaches
 *     further (a batch's signature covers all its records);
 *  3. the records of each stretch are read (their lines to a temporary
 *     file, their leaves kept);
 *  4. only then is the checkpoint made, so that its size is past every
 *     leaf read; the proof's nodes are read for that size.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <archive.h>
#include <archive_entry.h>
#include <event2/buffer.h>
#include <sodium.h>

#include "batches.h"
#include "bundle.h"
#include "cwtime.h"
#include "log.h"
#include "multiproof.h"
#include "store_bundle.h"

#define BUNDLE_DIR    "corewatch-bundle/"
#define BUNDLE_FORMAT "corewatch-bundle-v1"
#define BUNDLE_PAGE   2000          /* records read a query */
#define BUNDLE_IO     (1024 * 1024) /* bytes copied a step */
/* Nodes of one level closer than this share one range query: reading a
 * few unwanted rows is cheaper than one more query. */
#define BUNDLE_NODE_GAP 64

/* One file of the bundle, in memory (all but records.jsonl). */
struct bundle_file {
	const char *name;
	struct evbuffer *buf; /* NULL: records.jsonl, from the temp file */
	unsigned char sha[crypto_hash_sha256_BYTES];
	size_t len;
};

/* A chain of the bundle: its stretch and what was read of it. */
struct bundle_chain {
	struct store_span sp;
	long long first, last; /* seqs of the records read */
	unsigned long long count;
};

/* A batch line, to sort. */
struct bundle_batch {
	long long first, last, id;
	char *line;
};

struct bundle {
	struct store *st;
	const struct bundle_req *req;
	struct bundle_stats *stats;
	char *err;
	size_t errlen;
	struct bundle_chain *chains;
	size_t nchains;
	/* records.jsonl */
	int rec;                 /* the temporary file, or -1 */
	struct evbuffer *recbuf; /* what is not written to it yet */
	crypto_hash_sha256_state rsha;
	unsigned long long rlen;
	/* the leaf of each line (-1: none), in the file's order */
	long long *leaves;
	size_t nleaves, capleaves;
	struct bundle_chain *cur; /* the chain being read */
	bool nomem;
	int ioerr; /* errno of a failed write of records.jsonl, or 0 */
};

/* --- 1, 2: the stretches --- */

/* Grow `sp` to every batch that meets it, until none reaches further. */
static int
bundle_extend(struct bundle *b, struct store_span *sp)
{
	struct store_batch_filter f = { .probe = sp->probe,
		.chain = sp->chain };
	struct store_batch_page pg;
	long long lo, hi, after;

	for (;;) {
		f.seq_from = sp->first;
		f.seq_to = sp->last;
		lo = sp->first;
		hi = sp->last;
		after = 0;
		do {
			if (store_batches(b->st, &f, after, BATCHES_PAGE_ROWS,
			        &pg) != STORE_OK)
				return -1;
			for (size_t i = 0; i < pg.n; i++) {
				lo = pg.v[i].first_seq < lo ?
				    pg.v[i].first_seq :
				    lo;
				hi = pg.v[i].last_seq > hi ? pg.v[i].last_seq :
				                             hi;
				after = pg.v[i].id;
			}
			store_batch_page_clear(&pg);
		} while (pg.n == BATCHES_PAGE_ROWS);
		if (lo == sp->first && hi == sp->last)
			return 0;
		sp->first = lo;
		sp->last = hi;
	}
}

/* --- 3: the records --- */

/* Write what b->recbuf holds to the temporary file.  Returns 0, or -1
 * with b->ioerr set. */
static int
bundle_rec_flush(struct bundle *b)
{
	while (evbuffer_get_length(b->recbuf) > 0)
		if (evbuffer_write(b->recbuf, b->rec) <= 0 && errno != EINTR) {
			b->ioerr = errno != 0 ? errno : EIO;
			return -1;
		}
	return 0;
}

static int
bundle_rec_cb(void *arg, const struct store_bundle_rec *r)
{
	struct bundle *b = arg;
	struct bundle_chain *c = b->cur;

	if (b->nleaves == b->capleaves) {
		size_t cap = b->capleaves != 0 ? 2 * b->capleaves : 4096;
		long long *v = realloc(b->leaves, cap * sizeof(*v));
		if (v == NULL) {
			b->nomem = true;
			return 1;
		}
		b->leaves = v;
		b->capleaves = cap;
	}
	b->leaves[b->nleaves++] = r->log_index;
	if (evbuffer_add(b->recbuf, r->line, r->len) == -1 ||
	    evbuffer_add(b->recbuf, "\n", 1) == -1) {
		b->nomem = true;
		return 1;
	}
	if (evbuffer_get_length(b->recbuf) >= BUNDLE_IO &&
	    bundle_rec_flush(b) == -1)
		return 1;
	crypto_hash_sha256_update(&b->rsha, (const unsigned char *)r->line,
	    r->len);
	crypto_hash_sha256_update(&b->rsha, (const unsigned char *)"\n", 1);
	b->rlen += r->len + 1;
	if (c->count == 0)
		c->first = r->seq;
	c->last = r->seq;
	c->count++;
	return 0;
}

/* Read the records of every chain into the temporary file. */
static enum bundle_status
bundle_records(struct bundle *b)
{
	for (size_t i = 0; i < b->nchains; i++) {
		struct bundle_chain *c = &b->chains[i];
		long long got, after = c->sp.first - 1;
		b->cur = c;
		do {
			unsigned long long before = c->count;
			got = store_bundle_records(b->st, c->sp.probe,
			    c->sp.chain, after, c->sp.last, BUNDLE_PAGE,
			    bundle_rec_cb, b);
			if (got < 0)
				return BUNDLE_DB;
			if (b->nomem) {
				log_say(b->err, b->errlen, "records.jsonl: %s",
				    errno != 0 ? strerror(errno) :
				                 "out of memory");
				return BUNDLE_OUTPUT;
			}
			if (c->count > before)
				after = c->last;
		} while (got == BUNDLE_PAGE);
		b->stats->records += c->count;
	}
	if (bundle_rec_flush(b) == -1) {
		log_say(b->err, b->errlen,
		    "records.jsonl (a temporary file in $TMPDIR): %s",
		    strerror(b->ioerr));
		return BUNDLE_OUTPUT;
	}
	return BUNDLE_OK;
}

/* --- the other files --- */

static int
bundle_batch_cmp(const void *x, const void *y)
{
	const struct bundle_batch *a = x, *b = y;

	if (a->first != b->first)
		return a->first < b->first ? -1 : 1;
	if (a->last != b->last)
		return a->last < b->last ? -1 : 1;
	return a->id < b->id ? -1 : a->id > b->id;
}

/*
 * bundle_still: whether chain `c` is as it was read, now that its `n`
 * batches `v` are: the collector goes on storing while a bundle is made,
 * and a batch that arrived since the stretch was grown may reach past
 * it, or bring records into it after they were read.  Records are
 * never removed, so the same count is the same records.  BUNDLE_OK,
 * BUNDLE_AGAIN or BUNDLE_DB.
 */
static enum bundle_status
bundle_still(struct bundle *b, const struct bundle_chain *c,
    const struct bundle_batch *v, size_t n)
{
	long long count;

	for (size_t k = 0; k < n; k++)
		if (v[k].first < c->sp.first || v[k].last > c->sp.last)
			goto again;
	if (store_bundle_count(b->st, c->sp.probe, c->sp.chain, c->sp.first,
	        c->sp.last, &count) != STORE_OK)
		return BUNDLE_DB;
	if (count == (long long)c->count)
		return BUNDLE_OK;
again:
	log_say(b->err, b->errlen,
	    "probe %s, chain %s: batches arrived while it was read",
	    c->sp.probe, c->sp.chain);
	return BUNDLE_AGAIN;
}

/* batches.jsonl: the batches of each chain's stretch, sorted. */
static enum bundle_status
bundle_batches(struct bundle *b, struct evbuffer *out)
{
	struct bundle_batch *v = NULL;
	struct store_batch_page pg = { 0 };
	size_t n = 0, cap = 0;
	enum bundle_status rc = BUNDLE_OK;

	for (size_t i = 0; i < b->nchains && rc == BUNDLE_OK; i++) {
		struct bundle_chain *c = &b->chains[i];
		struct store_batch_filter f = { .probe = c->sp.probe,
			.chain = c->sp.chain,
			.seq_from = c->sp.first,
			.seq_to = c->sp.last };
		long long after = 0;
		n = 0;
		do {
			if (store_batches(b->st, &f, after, BATCHES_PAGE_ROWS,
			        &pg) != STORE_OK)
				goto fail_db;
			for (size_t k = 0; k < pg.n; k++) {
				if (n == cap) {
					size_t ncap = cap != 0 ? 2 * cap : 256;
					struct bundle_batch *nv = realloc(v,
					    ncap * sizeof(*nv));
					if (nv == NULL)
						goto fail_mem_page;
					v = nv;
					cap = ncap;
				}
				v[n].first = pg.v[k].first_seq;
				v[n].last = pg.v[k].last_seq;
				v[n].id = pg.v[k].id;
				if ((v[n].line = batch_line(b->st, &pg.v[k])) ==
				    NULL)
					goto fail_db_page;
				n++;
				after = pg.v[k].id;
			}
			store_batch_page_clear(&pg);
		} while (pg.n == BATCHES_PAGE_ROWS);
		qsort(v, n, sizeof(*v), bundle_batch_cmp);
		if ((rc = bundle_still(b, c, v, n)) != BUNDLE_OK)
			goto out;
		for (size_t k = 0; k < n; k++) {
			if (rc == BUNDLE_OK &&
			    (evbuffer_add(out, v[k].line, strlen(v[k].line)) ==
			            -1 ||
			        evbuffer_add(out, "\n", 1) == -1)) {
				log_say(b->err, b->errlen, "out of memory");
				rc = BUNDLE_OUTPUT;
			}
			free(v[k].line);
		}
		b->stats->batches += n;
		n = 0;
	}
	free(v);
	return rc;
fail_mem_page:
	store_batch_page_clear(&pg);
	log_say(b->err, b->errlen, "out of memory");
	rc = BUNDLE_OUTPUT;
	goto out;
fail_db_page:
	store_batch_page_clear(&pg);
fail_db:
	rc = BUNDLE_DB;
out:
	for (size_t k = 0; k < n; k++)
		free(v[k].line);
	free(v);
	return rc;
}

/* probes.jsonl: the key of each probe of the bundle (the chains are
 * sorted by probe). */
static enum bundle_status
bundle_probes(struct bundle *b, struct evbuffer *out)
{
	char key[sodium_base64_ENCODED_LEN(RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct store_probe p;

	for (size_t i = 0; i < b->nchains; i++) {
		const char *id = b->chains[i].sp.probe;
		if (i > 0 && strcmp(id, b->chains[i - 1].sp.probe) == 0)
			continue;
		memset(&p, 0, sizeof(p));
		if (store_probe_get(b->st, id, &p) != STORE_OK) {
			store_probe_clear(&p);
			return BUNDLE_DB;
		}
		sodium_bin2base64(key, sizeof(key), p.pubkey, RECORD_PUBKEY_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
		store_probe_clear(&p);
		if (evbuffer_add_printf(out,
		        "{\"probe\":\"%s\",\"pubkey\":\"%s\"}\n", id,
		        key) < 0) {
			log_say(b->err, b->errlen, "out of memory");
			return BUNDLE_OUTPUT;
		}
	}
	return BUNDLE_OK;
}

/* bundle.json */
static enum bundle_status
bundle_meta(struct bundle *b, const char *origin, cw_usec_t now,
    struct evbuffer *out)
{
	char at[CW_TIME_STRLEN], *s = NULL;
	json_t *chains = json_array(), *o = NULL;

	for (size_t i = 0; chains != NULL && i < b->nchains; i++) {
		const struct bundle_chain *c = &b->chains[i];
		if (json_array_append_new(chains,
		        json_pack("{s:s, s:s, s:I, s:I, s:I}", "probe",
		            c->sp.probe, "chain", c->sp.chain, "first_seq",
		            (json_int_t)c->first, "last_seq",
		            (json_int_t)c->last, "count",
		            (json_int_t)c->count)) == -1) {
			json_decref(chains);
			chains = NULL;
		}
	}
	if (chains != NULL)
		o = json_pack("{s:s, s:s, s:s, s:O, s:I, s:o}", "format",
		    BUNDLE_FORMAT, "created",
		    cw_time_format(now, at, sizeof(at)), "origin", origin,
		    "filters", b->req->filters, "records",
		    (json_int_t)b->stats->records, "chains", chains);
	if (o != NULL)
		s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL || evbuffer_add_printf(out, "%s\n", s) < 0) {
		free(s);
		log_say(b->err, b->errlen, "out of memory");
		return BUNDLE_OUTPUT;
	}
	free(s);
	return BUNDLE_OK;
}

/* README.txt */
static int
bundle_readme(struct evbuffer *out, const char *origin, cw_usec_t now,
    unsigned long long records)
{
	char at[CW_TIME_STRLEN];

	return evbuffer_add_printf(out,
	           "corewatch evidence bundle (" BUNDLE_FORMAT ")\n"
	           "\n"
	           "Made %s\n"
	           "by the collector whose log is %s;\n"
	           "%llu records (records.jsonl), whole stretches of the "
	           "probes' chains,\n"
	           "with the probes' batch signatures (batches.jsonl, "
	           "probes.jsonl), a\n"
	           "checkpoint of the collector's log signed when the "
	           "bundle was made\n"
	           "(checkpoint, collector.vkey) and the proof that every "
	           "record is in\n"
	           "that log (inclusion.json).  corewatch's doc/evidence.md, "
	           "\"Evidence\n"
	           "bundles\", says what each file holds.\n"
	           "\n"
	           "To check it, against the collector's verifier key AS IT "
	           "WAS PUBLISHED\n"
	           "(a paper, a web page: not the copy in this bundle, which "
	           "proves only\n"
	           "that the bundle agrees with itself):\n"
	           "\n"
	           "    corewatch verify --vkey KEY FILE.tar\n"
	           "\n"
	           "(KEY is the verifier key, name+keyid+base64, or a file "
	           "holding it.)\n"
	           "It checks the manifest, the probes' keys, each batch's "
	           "signature over\n"
	           "its records, the chains' links and holes, the "
	           "checkpoint's signature\n"
	           "and the inclusion of every record, and exits 0 only when "
	           "all hold.\n"
	           "\n"
	           "That no file changed since the bundle was made (this "
	           "alone proves\n"
	           "nothing of who made it):\n"
	           "\n"
	           "    tar -xf FILE.tar && cd corewatch-bundle && "
	           "sha256sum -c MANIFEST\n"
	           "\n"
	           "Without corewatch: contrib/verify.py in corewatch's "
	           "sources checks the\n"
	           "same, with Python 3 and python3-nacl (python3 "
	           "contrib/verify.py --help).\n",
	           cw_time_format(now, at, sizeof(at)), origin, records) < 0 ?
	    -1 :
	    0;
}

/* --- 4: the checkpoint and the proof --- */

static int
bundle_u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

/* Reading one run of nodes of a level. */
struct bundle_nodes_read {
	struct multiproof_node *v;
	size_t k, end; /* the run: v[k .. end) */
	size_t found;
};

static int
bundle_node_cb(void *arg, uint64_t index,
    const unsigned char hash[MERKLE_HASH_LEN])
{
	struct bundle_nodes_read *r = arg;

	while (r->k < r->end && r->v[r->k].index < index)
		r->k++;
	if (r->k < r->end && r->v[r->k].index == index) {
		memcpy(r->v[r->k].hash, hash, MERKLE_HASH_LEN);
		r->found++;
		r->k++;
	}
	return r->k == r->end;
}

/* The hashes of `v` (sorted by level then index): one range query per
 * run of nearby nodes of a level. */
static enum bundle_status
bundle_fetch_nodes(struct bundle *b, struct multiproof_node *v, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		struct bundle_nodes_read r = { v, i, 0, 0 };
		for (j = i + 1; j < n && v[j].level == v[i].level &&
		     v[j].index - v[j - 1].index <= BUNDLE_NODE_GAP;
		     j++)
			;
		r.end = j;
		if (store_log_nodes_range(b->st, v[i].level, v[i].index,
		        v[j - 1].index, bundle_node_cb, &r) != STORE_OK)
			return BUNDLE_DB;
		if (r.found != j - i) {
			log_say(b->err, b->errlen,
			    "the log lacks a node it should hold (level %u, "
			    "from index %llu; table log_nodes)",
			    v[i].level, (unsigned long long)v[i].index);
			return BUNDLE_DB;
		}
		i = j;
	}
	return BUNDLE_OK;
}

/* inclusion.json, for the checkpoint of `size` leaves. */
static enum bundle_status
bundle_inclusion(struct bundle *b, uint64_t size, struct evbuffer *out)
{
	char h[sodium_base64_ENCODED_LEN(MERKLE_HASH_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	struct multiproof_node *nodes = NULL;
	uint64_t *idx;
	size_t n = 0, nn = 0;
	enum bundle_status rc = BUNDLE_OUTPUT;
	int fail = 0;

	if ((idx = malloc((b->nleaves + 1) * sizeof(*idx))) == NULL) {
		log_say(b->err, b->errlen, "out of memory");
		return BUNDLE_OUTPUT;
	}
	for (size_t i = 0; i < b->nleaves; i++)
		if (b->leaves[i] >= 0)
			idx[n++] = (uint64_t)b->leaves[i];
	qsort(idx, n, sizeof(*idx), bundle_u64_cmp);
	for (size_t i = 0; i < n; i++)
		if (idx[i] >= size || (i > 0 && idx[i] == idx[i - 1])) {
			/* Cannot be: the log gives a record one leaf, and
			 * the checkpoint was made after they were read. */
			log_say(b->err, b->errlen,
			    "leaf %llu of the log is claimed twice or past "
			    "the checkpoint (size %llu)",
			    (unsigned long long)idx[i],
			    (unsigned long long)size);
			free(idx);
			return BUNDLE_DB;
		}
	if (multiproof_nodes(size, idx, n, &nodes, &nn) == -1) {
		log_say(b->err, b->errlen, "the proof's nodes: %s",
		    strerror(errno));
		free(idx);
		return BUNDLE_OUTPUT;
	}
	free(idx);
	if ((rc = bundle_fetch_nodes(b, nodes, nn)) != BUNDLE_OK)
		goto out;
	b->stats->nodes = nn;
	fail |= evbuffer_add_printf(out, "{\"size\":%llu,\"leaves\":[",
	            (unsigned long long)size) < 0;
	for (size_t i = 0; i < b->nleaves && !fail; i++) {
		if (b->leaves[i] >= 0)
			fail |= evbuffer_add_printf(out,
			            i > 0 ? ",%lld" : "%lld", b->leaves[i]) < 0;
		else
			fail |= evbuffer_add_printf(out,
			            i > 0 ? ",null" : "null") < 0;
	}
	fail |= evbuffer_add_printf(out, "],\"nodes\":[") < 0;
	for (size_t i = 0; i < nn && !fail; i++) {
		sodium_bin2base64(h, sizeof(h), nodes[i].hash, MERKLE_HASH_LEN,
		    sodium_base64_VARIANT_ORIGINAL);
		fail |= evbuffer_add_printf(out, "%s[%u,%llu,\"%s\"]",
		            i > 0 ? "," : "", nodes[i].level,
		            (unsigned long long)nodes[i].index, h) < 0;
	}
	fail |= evbuffer_add_printf(out, "]}\n") < 0;
	if (fail) {
		log_say(b->err, b->errlen, "out of memory");
		rc = BUNDLE_OUTPUT;
	}
out:
	free(nodes);
	return rc;
}

/* --- the archive --- */

static void
bundle_sha(struct bundle_file *f)
{
	size_t len = evbuffer_get_length(f->buf);

	f->len = len;
	crypto_hash_sha256(f->sha, evbuffer_pullup(f->buf, -1), len);
}

/* Copy records.jsonl, `len` bytes, from the temporary file into the
 * archive.  Returns 0, or -1 with b->ioerr set when the file failed
 * (the archive's errors are the archive's). */
static int
bundle_tar_records(struct bundle *b, struct archive *a, unsigned long long len)
{
	static char chunk[BUNDLE_IO];

	off_t at = 0;
	ssize_t got;

	while (len > 0) {
		size_t want = len < sizeof(chunk) ? (size_t)len : sizeof(chunk);
		if ((got = pread(b->rec, chunk, want, at)) != (ssize_t)want) {
			if (got == -1 && errno == EINTR)
				continue;
			b->ioerr = got == -1 ? errno : EIO;
			return -1;
		}
		at += (off_t)want;
		if (archive_write_data(a, chunk, want) != (la_ssize_t)want)
			return -1;
		len -= want;
	}
	return 0;
}

/* Add one file to the archive. */
static int
bundle_tar_file(struct bundle *b, struct archive *a,
    const struct bundle_file *f, unsigned long long len, time_t mtime)
{
	struct archive_entry *e;
	char path[64];
	int ok;

	if ((e = archive_entry_new()) == NULL)
		return -1;
	snprintf(path, sizeof(path), BUNDLE_DIR "%s", f->name);
	archive_entry_set_pathname(e, path);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_mtime(e, mtime, 0);
	ok = archive_write_header(a, e) == ARCHIVE_OK;
	archive_entry_free(e);
	if (!ok)
		return -1;
	if (f->buf == NULL)
		return bundle_tar_records(b, a, len);
	return len == 0 ||
	        archive_write_data(a, evbuffer_pullup(f->buf, -1), len) ==
	            (la_ssize_t)len ?
	    0 :
	    -1;
}

/* Write the files (manifest first after README, as the table in the
 * documentation lists them) to `fd`. */
static enum bundle_status
bundle_tar(struct bundle *b, struct bundle_file *files, size_t nfiles,
    struct bundle_file *manifest, int fd, time_t mtime)
{
	struct archive *a;
	int fail = 0;

	if ((a = archive_write_new()) == NULL) {
		log_say(b->err, b->errlen, "out of memory");
		return BUNDLE_OUTPUT;
	}
	if (archive_write_set_format_pax_restricted(a) != ARCHIVE_OK ||
	    archive_write_open_fd(a, fd) != ARCHIVE_OK)
		fail = 1;
	for (size_t i = 0; i < nfiles && !fail; i++) {
		struct bundle_file *f = &files[i];
		fail = bundle_tar_file(b, a, f,
		    f->buf != NULL ? f->len : b->rlen, mtime);
		if (!fail && i == 0)
			fail = bundle_tar_file(b, a, manifest, manifest->len,
			    mtime);
	}
	if (!fail && archive_write_close(a) != ARCHIVE_OK)
		fail = 1;
	if (fail && b->ioerr != 0)
		log_say(b->err, b->errlen,
		    "records.jsonl (a temporary file in "
		    "$TMPDIR): %s",
		    strerror(b->ioerr));
	else if (fail)
		log_say(b->err, b->errlen, "%s%s%s",
		    archive_error_string(a) != NULL ?
		        archive_error_string(a) :
		        "cannot write the archive",
		    archive_errno(a) != 0 ? ": " : "",
		    archive_errno(a) != 0 ? strerror(archive_errno(a)) : "");
	archive_write_free(a);
	return fail ? BUNDLE_OUTPUT : BUNDLE_OK;
}

static int
bundle_file_cmp(const void *x, const void *y)
{
	const struct bundle_file *const *a = x, *const *b = y;

	return strcmp((*a)->name, (*b)->name);
}

/* MANIFEST: sha256sum's lines, by name. */
static int
bundle_manifest(struct bundle_file *files, size_t n, struct evbuffer *out)
{
	struct bundle_file *sorted[16];
	char hex[2 * crypto_hash_sha256_BYTES + 1];

	for (size_t i = 0; i < n; i++)
		sorted[i] = &files[i];
	qsort(sorted, n, sizeof(sorted[0]), bundle_file_cmp);
	for (size_t i = 0; i < n; i++) {
		sodium_bin2hex(hex, sizeof(hex), sorted[i]->sha,
		    sizeof(sorted[i]->sha));
		if (evbuffer_add_printf(out, "%s  %s\n", hex, sorted[i]->name) <
		    0)
			return -1;
	}
	return 0;
}

/* A temporary file for records.jsonl, in $TMPDIR, gone once closed:
 * its descriptor, or -1 with the reason in `err`. */
static int
bundle_tmpfile(char *err, size_t errlen)
{
	const char *dir = getenv("TMPDIR");
	char path[4096];
	int fd;

	if (dir == NULL || dir[0] == '\0')
		dir = "/tmp";
	if ((size_t)snprintf(path, sizeof(path), "%s/cw-bundle.XXXXXX", dir) >=
	    sizeof(path)) {
		log_say(err, errlen, "TMPDIR: name too long");
		return -1;
	}
	if ((fd = mkstemp(path)) == -1) {
		log_say(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	unlink(path);
	return fd;
}

enum bundle_status
bundle_write(struct store *st, const struct bundle_req *req, int fd,
    struct bundle_stats *stats, char *err, size_t errlen)
{
	enum {
		F_README,
		F_META,
		F_RECORDS,
		F_BATCHES,
		F_PROBES,
		F_VKEY,
		F_CHECKPOINT,
		F_INCLUSION,
		F_N
	};
	static const char *const names[F_N] = { "README.txt", "bundle.json",
		"records.jsonl", "batches.jsonl", "probes.jsonl",
		"collector.vkey", "checkpoint", "inclusion.json" };
	struct bundle b = { .st = st,
		.req = req,
		.stats = stats,
		.err = err,
		.errlen = errlen };
	struct bundle_file files[F_N], manifest = { .name = "MANIFEST" };
	const char *origin = req->signer->nk.name;
	struct store_span *spans = NULL;
	char vkey[NOTE_NAME_MAX + 128], *note = NULL;
	uint64_t size = 0;
	cw_usec_t now = cw_real_usec();
	enum bundle_status rc = BUNDLE_OUTPUT;
	size_t nspans = 0;

	memset(stats, 0, sizeof(*stats));
	memset(files, 0, sizeof(files));
	for (int i = 0; i < F_N; i++) {
		files[i].name = names[i];
		if (i != F_RECORDS && (files[i].buf = evbuffer_new()) == NULL)
			goto nomem;
	}
	if ((manifest.buf = evbuffer_new()) == NULL)
		goto nomem;
	/* 1, 2 */
	if (store_bundle_spans(st, req->filter, &spans, &nspans) != STORE_OK) {
		rc = BUNDLE_DB;
		goto out;
	}
	if (nspans == 0) {
		log_say(err, errlen, "no record matches the filters");
		rc = BUNDLE_EMPTY;
		goto out;
	}
	if ((b.chains = calloc(nspans, sizeof(*b.chains))) == NULL)
		goto nomem;
	for (size_t i = 0; i < nspans; i++) {
		if (bundle_extend(&b, &spans[i]) == -1) {
			rc = BUNDLE_DB;
			goto out;
		}
		b.chains[i].sp = spans[i];
	}
	b.nchains = stats->chains = nspans;
	/* 3 */
	if ((b.recbuf = evbuffer_new()) == NULL)
		goto nomem;
	if ((b.rec = bundle_tmpfile(err, errlen)) == -1)
		goto out;
	crypto_hash_sha256_init(&b.rsha);
	if ((rc = bundle_records(&b)) != BUNDLE_OK ||
	    (rc = bundle_batches(&b, files[F_BATCHES].buf)) != BUNDLE_OK ||
	    (rc = bundle_probes(&b, files[F_PROBES].buf)) != BUNDLE_OK)
		goto out;
	crypto_hash_sha256_final(&b.rsha, files[F_RECORDS].sha);
	files[F_RECORDS].len = (size_t)b.rlen;
	/* 4 */
	switch (tlog_checkpoint(st, req->signer, &note, &size)) {
	case STORE_OK:
		break;
	case STORE_E_DB:
		rc = BUNDLE_DB;
		goto out;
	default:
		log_say(err, errlen, "the checkpoint: cannot sign");
		rc = BUNDLE_OUTPUT;
		goto out;
	}
	stats->size = size;
	if ((rc = bundle_inclusion(&b, size, files[F_INCLUSION].buf)) !=
	    BUNDLE_OK)
		goto out;
	rc = BUNDLE_OUTPUT;
	if (note_vkey_format(&req->signer->nk, vkey, sizeof(vkey)) == -1 ||
	    evbuffer_add_printf(files[F_VKEY].buf, "%s\n", vkey) < 0 ||
	    evbuffer_add(files[F_CHECKPOINT].buf, note, strlen(note)) == -1 ||
	    bundle_readme(files[F_README].buf, origin, now, stats->records) ==
	        -1)
		goto nomem;
	if ((rc = bundle_meta(&b, origin, now, files[F_META].buf)) != BUNDLE_OK)
		goto out;
	for (int i = 0; i < F_N; i++)
		if (i != F_RECORDS)
			bundle_sha(&files[i]);
	if (bundle_manifest(files, F_N, manifest.buf) == -1)
		goto nomem;
	bundle_sha(&manifest);
	rc = bundle_tar(&b, files, F_N, &manifest, fd,
	    (time_t)(now / CW_USEC_PER_SEC));
	goto out;
nomem:
	log_say(err, errlen, "out of memory");
	rc = BUNDLE_OUTPUT;
out:
	for (int i = 0; i < F_N; i++)
		if (files[i].buf != NULL)
			evbuffer_free(files[i].buf);
	if (manifest.buf != NULL)
		evbuffer_free(manifest.buf);
	if (b.rec != -1)
		close(b.rec);
	if (b.recbuf != NULL)
		evbuffer_free(b.recbuf);
	free(b.leaves);
	free(b.chains);
	free(spans);
	free(note);
	return rc;
}
