/*
 * test_bundle_verify.c -- `corewatch verify`'s checks on bundles built
 * here, file by file, as doc/evidence.md describes them: a good bundle
 * (a directory, and a tar file) holds; each tamper case fails the check
 * it should, naming what is wrong: one byte of one record, a record
 * dropped, two records swapped, a batch signature from another body, a
 * probe key replaced, a checkpoint re-signed with another key (with and
 * without --vkey), a fork, MANIFEST lacking a file or listing one that
 * is not there, a hole with and without its loss record; hostile tar
 * members (a symbolic link, "..", a file over 4 GiB) refuse the bundle.
 *
 * CW_VERIFY_BENCH=N also times a bundle of N records (about 700 bytes
 * each) and prints records/s.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "bundle_verify.h"
#include "merkle.h"
#include "multiproof.h"
#include "note.h"
#include "record.h"

enum {
	README,
	MANIFEST,
	BUNDLE,
	RECORDS,
	BATCHES,
	PROBES,
	VKEY,
	CKPT,
	INCL,
	NF
};
static const char *const fname[NF] = { "README.txt", "MANIFEST", "bundle.json",
	"records.jsonl", "batches.jsonl", "probes.jsonl", "collector.vkey",
	"checkpoint", "inclusion.json" };

struct buf {
	char *p;
	size_t len, cap;
};

static void __attribute__((format(printf, 2, 3)))
bprintf(struct buf *b, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (b->p == NULL) {
		b->cap = 256;
		b->p = malloc(b->cap);
		assert_non_null(b->p);
	}
	for (;;) {
		va_start(ap, fmt);
		n = vsnprintf(b->p + b->len, b->cap - b->len, fmt, ap);
		va_end(ap);
		assert_true(n >= 0);
		if ((size_t)n < b->cap - b->len)
			break;
		b->cap = (b->cap + (size_t)n + 1) * 2;
		b->p = realloc(b->p, b->cap);
		assert_non_null(b->p);
	}
	b->len += (size_t)n;
}

/* What a bundle is made of: `probes` probes of `chains` chains each, of
 * `seqs` records each, in batches of `per_batch`.  In chain 0, the seqs
 * lost_a..lost_b are lost (in no batch, not in the bundle); with
 * `explain`, the record after them is a loss record naming them. */
struct spec {
	int probes, chains, seqs, per_batch;
	int lost_a, lost_b;
	bool explain;
	int pad; /* bytes of padding a record */
};

struct chainrec {
	char probe[RECORD_ID_HEX + 1], chain[RECORD_ID_HEX + 1];
	int p;
	char **lines; /* by seq - 1; NULL when lost */
};

/* A bundle in memory. */
struct tb {
	struct buf f[NF];
	unsigned char csk[64];
	struct note_key ck;
	uint64_t size;
	unsigned char root[32];
	char dir[256];
	char bundle[300]; /* dir/corewatch-bundle */
	char *out;        /* the verdicts */
	size_t nrec;
};

static const struct spec SMALL = { 2, 2, 30, 7, 0, 0, false, 0 };

static void
hex(const unsigned char *b, size_t n, char *out)
{
	record_hex(b, n, out);
}

static void
b64(const unsigned char *b, size_t n, char *out, size_t size)
{
	sodium_bin2base64(out, size, b, n, sodium_base64_VARIANT_ORIGINAL);
}

static int
chain_cmp(const void *x, const void *y)
{
	const struct chainrec *a = x, *b = y;
	int c = strcmp(a->probe, b->probe);

	return c ? c : strcmp(a->chain, b->chain);
}

/* Perfect subtree hashes of the whole log, level by level. */
struct tree {
	unsigned char *lv[64];
	uint64_t n[64];
};

static int
tree_node(void *arg, unsigned level, uint64_t index, unsigned char out[32])
{
	struct tree *t = arg;

	if (level >= 64 || index >= t->n[level])
		return -1;
	memcpy(out, t->lv[level] + index * 32, 32);
	return 0;
}

static void
checkpoint_sign(struct tb *tb, const unsigned char *sk,
    const struct note_key *key, uint64_t size, const unsigned char *root,
    struct buf *out)
{
	struct checkpoint cp;
	char text[512];
	size_t len;
	int n, err;
	char *note;

	memset(&cp, 0, sizeof(cp));
	snprintf(cp.origin, sizeof(cp.origin), "%s", tb->ck.name);
	cp.size = size;
	memcpy(cp.root, root, 32);
	n = checkpoint_text(&cp, text, sizeof(text));
	assert_true(n > 0);
	note = note_sign(text, (size_t)n, key, sk, &len, &err);
	assert_non_null(note);
	out->len = 0;
	bprintf(out, "%s", note);
	free(note);
}

static int
u64_cmp(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return a < b ? -1 : a > b;
}

static void
tb_build(struct tb *tb, const struct spec *s)
{
	int nch = s->probes * s->chains;
	struct chainrec *ch = calloc((size_t)nch, sizeof(*ch));
	unsigned char(*pk)[32] = calloc((size_t)s->probes, 32);
	unsigned char(*sk)[64] = calloc((size_t)s->probes, 64);
	char *pad = malloc((size_t)s->pad + 1);
	size_t total = 0, k = 0, ni = 0, nn;
	uint64_t *leafof, *sorted;
	unsigned char cpub[32];
	struct tree t;
	struct multiproof_node *nodes;
	char vkey[512];

	memset(tb, 0, sizeof(*tb));
	memset(pad, 'x', (size_t)s->pad);
	pad[s->pad] = '\0';
	crypto_sign_keypair(cpub, tb->csk);
	assert_int_equal(note_key_make(&tb->ck, "test.example/log", cpub), 0);
	for (int p = 0; p < s->probes; p++) {
		crypto_sign_keypair(pk[p], sk[p]);
		for (int c = 0; c < s->chains; c++) {
			unsigned char cid[16];
			struct chainrec *cr = &ch[p * s->chains + c];

			randombytes_buf(cid, sizeof(cid));
			record_probe_id(pk[p], cr->probe);
			hex(cid, 16, cr->chain);
			cr->p = p;
		}
	}
	qsort(ch, (size_t)nch, sizeof(*ch), chain_cmp);
	/* The lines, chained. */
	for (int c = 0; c < nch; c++) {
		unsigned char prev[32] = { 0 };
		struct chainrec *cr = &ch[c];

		cr->lines = calloc((size_t)s->seqs, sizeof(char *));
		for (int q = 1; q <= s->seqs; q++) {
			struct buf l = { 0 };
			char ph[65];

			hex(prev, 32, ph);
			if (c == 0 && s->explain && q == s->lost_b + 1)
				bprintf(&l,
				    "{\"probe\":\"%s\",\"chain\":\"%s\",\"seq\":%d,"
				    "\"prev\":\"%s\",\"type\":\"loss\",\"time\":"
				    "\"2026-12-07T10:00:00.000000Z\",\"lost\":{"
				    "\"first_seq\":%d,\"last_seq\":%d,\"count\":%d},"
				    "\"reason\":\"spool_full\"}",
				    cr->probe, cr->chain, q, ph, s->lost_a,
				    s->lost_b, s->lost_b - s->lost_a + 1);
			else
				bprintf(&l,
				    "{\"probe\":\"%s\",\"chain\":\"%s\",\"seq\":%d,"
				    "\"prev\":\"%s\",\"type\":\"dns\",\"time\":"
				    "\"2026-12-07T10:%02d:%02d.000000Z\",\"name\":"
				    "\"example.org\",\"addr\":\"192.0.2.1\",\"ok\":true,"
				    "\"rtt_ms\":%d.5,\"pad\":\"%s\"}",
				    cr->probe, cr->chain, q, ph, q / 60 % 60,
				    q % 60, 10 + q % 80, pad);
			record_hash(l.p, l.len, prev);
			if (c == 0 && q >= s->lost_a && q <= s->lost_b) {
				free(l.p); /* lost: nobody has it */
				continue;
			}
			cr->lines[q - 1] = l.p;
			total++;
		}
	}
	tb->nrec = total;
	/* The log: the bundle's records interleaved chain by chain, with
	 * other records (not in the bundle) between them and after. */
	tb->size = total + total / 3 + 5;
	leafof = calloc(total + 1, sizeof(*leafof));
	sorted = calloc(total + 1, sizeof(*sorted));
	memset(&t, 0, sizeof(t));
	t.lv[0] = calloc(tb->size, 32);
	t.n[0] = tb->size;
	{
		uint64_t at = 0;
		size_t *next = calloc((size_t)nch, sizeof(size_t));
		size_t *base = calloc((size_t)nch + 1, sizeof(size_t));
		size_t *seen = calloc((size_t)nch, sizeof(size_t));
		size_t done = 0;

		for (int c = 0; c < nch; c++) {
			base[c + 1] = base[c];
			for (int q = 0; q < s->seqs; q++)
				base[c + 1] += ch[c].lines[q] != NULL;
		}
		while (done < total) {
			for (int c = 0; c < nch; c++) {
				while (next[c] < (size_t)s->seqs &&
				    ch[c].lines[next[c]] == NULL)
					next[c]++;
				if (next[c] == (size_t)s->seqs)
					continue;
				const char *l = ch[c].lines[next[c]];
				size_t line_no = base[c] + seen[c]++;

				merkle_leaf_hash(l, strlen(l),
				    t.lv[0] + at * 32);
				leafof[line_no] = at++;
				next[c]++;
				done++;
				if (done % 3 == 0) { /* another's record */
					merkle_leaf_hash(&at, sizeof(at),
					    t.lv[0] + at * 32);
					at++;
				}
			}
		}
		while (at < tb->size) {
			merkle_leaf_hash(&at, sizeof(at), t.lv[0] + at * 32);
			at++;
		}
		free(next);
		free(base);
		free(seen);
	}
	for (unsigned l = 1; l < 64 && t.n[l - 1] >= 2; l++) {
		t.n[l] = t.n[l - 1] / 2;
		t.lv[l] = malloc(t.n[l] * 32 + 1);
		for (uint64_t i = 0; i < t.n[l]; i++)
			merkle_node_hash(t.lv[l - 1] + 2 * i * 32,
			    t.lv[l - 1] + (2 * i + 1) * 32, t.lv[l] + i * 32);
	}
	assert_int_equal(merkle_root(tree_node, &t, tb->size, tb->root), 0);
	/* records.jsonl, batches.jsonl, bundle.json's chains. */
	bprintf(&tb->f[BUNDLE],
	    "{\"format\":\"corewatch-bundle-v1\",\"created\":"
	    "\"2026-12-07T12:00:00Z\",\"origin\":\"%s\",\"filters\":{},"
	    "\"records\":%zu,\"chains\":[",
	    tb->ck.name, total);
	for (int c = 0; c < nch; c++) {
		struct chainrec *cr = &ch[c];
		int first = 0, last = 0, count = 0;
		struct buf body = { 0 }, seqs = { 0 };
		int inb = 0, run_a = 0, run_b = 0, bfirst = 0;

		for (int q = 1; q <= s->seqs; q++) {
			const char *l = cr->lines[q - 1];

			if (l != NULL) {
				bprintf(&tb->f[RECORDS], "%s\n", l);
				bprintf(&body, "%s\n", l);
				if (!first)
					first = q;
				last = q;
				count++;
				if (inb == 0)
					bfirst = q;
				if (run_a && q == run_b + 1) {
					run_b = q;
				} else {
					if (run_a)
						bprintf(&seqs,
						    run_a == run_b ? "%d," :
						                     "%d-%d,",
						    run_a, run_b);
					run_a = run_b = q;
				}
				inb++;
			}
			if (inb > 0 && (inb == s->per_batch || q == s->seqs)) {
				unsigned char d[32];
				char dh[65], sig[RECORD_SIG_B64 + 1], pkb[64];
				bool holes;

				bprintf(&seqs, run_a == run_b ? "%d" : "%d-%d",
				    run_a, run_b);
				holes = strchr(seqs.p, ',') != NULL;
				crypto_hash_sha256(d, (unsigned char *)body.p,
				    body.len);
				hex(d, 32, dh);
				batch_sign(sk[cr->p], cr->probe, body.p,
				    body.len, sig);
				b64(pk[cr->p], 32, pkb, sizeof(pkb));
				bprintf(&tb->f[BATCHES],
				    "{\"probe\":\"%s\",\"probe_num\":%d,\"pubkey\":"
				    "\"%s\",\"chain\":\"%s\",\"first_seq\":%d,"
				    "\"last_seq\":%d,\"count\":%d,\"seqs\":%s%s%s,"
				    "\"forks\":[],\"body_sha256\":\"%s\",\"sig\":"
				    "\"%s\",\"received_at\":"
				    "\"2026-12-07T12:00:00.000000Z\"}\n",
				    cr->probe, cr->p + 1, pkb, cr->chain,
				    bfirst, run_b, inb, holes ? "\"" : "",
				    holes ? seqs.p : "null", holes ? "\"" : "",
				    dh, sig);
				body.len = seqs.len = 0;
				inb = run_a = run_b = 0;
			}
		}
		free(body.p);
		free(seqs.p);
		bprintf(&tb->f[BUNDLE],
		    "%s{\"probe\":\"%s\",\"chain\":\"%s\",\"first_seq\":%d,"
		    "\"last_seq\":%d,\"count\":%d}",
		    c ? "," : "", cr->probe, cr->chain, first, last, count);
	}
	bprintf(&tb->f[BUNDLE], "]}\n");
	for (int p = 0, c = 0; c < nch; c++) { /* probes, sorted by id */
		char pkb[64];

		if (c > 0 && strcmp(ch[c].probe, ch[c - 1].probe) == 0)
			continue;
		b64(pk[ch[c].p], 32, pkb, sizeof(pkb));
		bprintf(&tb->f[PROBES],
		    "{\"probe\":\"%s\",\"pubkey\":\"%s\"}\n", ch[c].probe, pkb);
		p++;
	}
	/* inclusion.json */
	bprintf(&tb->f[INCL], "{\"size\":%llu,\"leaves\":[",
	    (unsigned long long)tb->size);
	for (k = 0; k < total; k++) {
		bprintf(&tb->f[INCL], "%s%llu", k ? "," : "",
		    (unsigned long long)leafof[k]);
		sorted[ni++] = leafof[k];
	}
	qsort(sorted, ni, sizeof(*sorted), u64_cmp);
	assert_int_equal(multiproof_nodes(tb->size, sorted, ni, &nodes, &nn),
	    0);
	bprintf(&tb->f[INCL], "],\"nodes\":[");
	for (size_t i = 0; i < nn; i++) {
		unsigned char h[32];
		char hb[64];

		assert_int_equal(tree_node(&t, nodes[i].level, nodes[i].index,
		                     h),
		    0);
		b64(h, 32, hb, sizeof(hb));
		bprintf(&tb->f[INCL], "%s[%u,%llu,\"%s\"]", i ? "," : "",
		    nodes[i].level, (unsigned long long)nodes[i].index, hb);
	}
	bprintf(&tb->f[INCL], "]}\n");
	free(nodes);
	checkpoint_sign(tb, tb->csk, &tb->ck, tb->size, tb->root, &tb->f[CKPT]);
	assert_int_equal(note_vkey_format(&tb->ck, vkey, sizeof(vkey)), 0);
	bprintf(&tb->f[VKEY], "%s\n", vkey);
	bprintf(&tb->f[README], "Check it with corewatch verify.\n");
	for (unsigned l = 0; l < 64; l++)
		free(t.lv[l]);
	for (int c = 0; c < nch; c++) {
		for (int q = 0; q < s->seqs; q++)
			free(ch[c].lines[q]);
		free(ch[c].lines);
	}
	free(ch);
	free(pk);
	free(sk);
	free(pad);
	free(leafof);
	free(sorted);
}

static void
tb_free(struct tb *tb)
{
	char cmd[600];

	for (int i = 0; i < NF; i++)
		free(tb->f[i].p);
	free(tb->out);
	if (tb->dir[0] != '\0') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tb->dir);
		assert_int_equal(system(cmd), 0);
	}
}

static int
name_cmp(const void *x, const void *y)
{
	return strcmp(fname[*(const int *)x], fname[*(const int *)y]);
}

/* The MANIFEST of the files as they are now (but MANIFEST). */
static void
tb_manifest(struct tb *tb)
{
	int order[NF], n = 0;

	tb->f[MANIFEST].len = 0;
	for (int i = 0; i < NF; i++)
		if (i != MANIFEST)
			order[n++] = i;
	qsort(order, (size_t)n, sizeof(order[0]), name_cmp);
	for (int i = 0; i < n; i++) {
		unsigned char d[32];
		char dh[65];

		crypto_hash_sha256(d, (unsigned char *)tb->f[order[i]].p,
		    tb->f[order[i]].len);
		hex(d, 32, dh);
		bprintf(&tb->f[MANIFEST], "%s  %s\n", dh, fname[order[i]]);
	}
}

static void
write_file(const char *dir, const char *name, const void *p, size_t len)
{
	char path[400];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* tb_write: the files into a new directory; MANIFEST made anew unless
 * `keep_manifest`. */
static void
tb_write(struct tb *tb, bool keep_manifest)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(tb->dir, sizeof(tb->dir), "%s/cw-test-bundle.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(tb->dir));
	snprintf(tb->bundle, sizeof(tb->bundle), "%s/corewatch-bundle",
	    tb->dir);
	assert_int_equal(mkdir(tb->bundle, 0755), 0);
	if (!keep_manifest)
		tb_manifest(tb);
	for (int i = 0; i < NF; i++)
		if (tb->f[i].p != NULL)
			write_file(tb->bundle, fname[i], tb->f[i].p,
			    tb->f[i].len);
}

/* verify: bundle_verify on `path` with `vkey` and the checkpoints. */
static int
verify(struct tb *tb, const char *path, const struct note_key *vkey,
    char *const *cps, size_t ncps)
{
	struct bundle_verify_opts o;
	size_t len;
	FILE *f;
	int rc;

	free(tb->out);
	f = open_memstream(&tb->out, &len);
	assert_non_null(f);
	memset(&o, 0, sizeof(o));
	o.vkey = vkey;
	o.checkpoints = cps;
	o.ncheckpoints = ncps;
	o.out = f;
	o.err = f;
	rc = bundle_verify(path, &o);
	fclose(f);
	if (getenv("CW_TEST_VERBOSE") != NULL)
		fprintf(stderr, "--- rc %d\n%s", rc, tb->out);
	return rc;
}

static void
want(const struct tb *tb, const char *what)
{
	if (strstr(tb->out, what) == NULL)
		fail_msg("\"%s\" not in:\n%s", what, tb->out);
}

static void
nowant(const struct tb *tb, const char *what)
{
	if (strstr(tb->out, what) != NULL)
		fail_msg("\"%s\" in:\n%s", what, tb->out);
}

/* line_of: the start of line `n` (from 1) of a file's buffer. */
static char *
line_of(struct buf *b, int n)
{
	char *p = b->p;

	while (--n > 0)
		p = strchr(p, '\n') + 1;
	return p;
}

/* The checks each pass for a good bundle. */
static void
want_all_ok(const struct tb *tb)
{
	for (int i = 0; i < 8; i++) {
		static const char *const names[] = { "ok    manifest:",
			"ok    probe keys:", "ok    records:",
			"ok    signatures:", "ok    chains:",
			"ok    checkpoint:", "ok    inclusion:",
			"ok    other checkpoints:" };

		want(tb, names[i]);
	}
	want(tb, "verified: every check holds");
}

/* --- Tar files, written by hand (hostile ones cannot be made by tar) --- */

static void
tar_member(FILE *f, const char *name, char type, const void *data, size_t len,
    uint64_t claimed, const char *link)
{
	unsigned char h[512];
	static const unsigned char zero[512];
	unsigned sum = 0;

	memset(h, 0, sizeof(h));
	snprintf((char *)h, 100, "%s", name);
	snprintf((char *)h + 100, 8, "%07o", 0644);
	snprintf((char *)h + 108, 8, "%07o", 0);
	snprintf((char *)h + 116, 8, "%07o", 0);
	snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)claimed);
	snprintf((char *)h + 136, 12, "%011o", 0);
	memset(h + 148, ' ', 8);
	h[156] = (unsigned char)type;
	if (link != NULL)
		snprintf((char *)h + 157, 100, "%s", link);
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	snprintf((char *)h + 148, 8, "%06o", sum);
	h[155] = ' ';
	assert_int_equal(fwrite(h, 1, 512, f), 512);
	if (len > 0) {
		assert_int_equal(fwrite(data, 1, len, f), len);
		if (len % 512)
			assert_int_equal(fwrite(zero, 1, 512 - len % 512, f),
			    512 - len % 512);
	}
}

/* tb_tar: the bundle as dir/bundle.tar, with `extra` members first
 * (a hostile one), records.jsonl first of the files. */
static void
tb_tar(struct tb *tb, char *path, size_t size, void (*extra)(FILE *f))
{
	static const unsigned char zero[1024];
	static const int order[NF] = { RECORDS, README, MANIFEST, BUNDLE,
		BATCHES, PROBES, VKEY, CKPT, INCL };
	char name[200];
	FILE *f;

	snprintf(path, size, "%s/bundle.tar", tb->dir);
	f = fopen(path, "w");
	assert_non_null(f);
	tar_member(f, "corewatch-bundle/", '5', NULL, 0, 0, NULL);
	if (extra != NULL)
		extra(f);
	for (int i = 0; i < NF; i++) {
		snprintf(name, sizeof(name), "corewatch-bundle/%s",
		    fname[order[i]]);
		tar_member(f, name, '0', tb->f[order[i]].p, tb->f[order[i]].len,
		    tb->f[order[i]].len, NULL);
	}
	assert_int_equal(fwrite(zero, 1, sizeof(zero), f), sizeof(zero));
	assert_int_equal(fclose(f), 0);
}

/* --- The cases --- */

static void
test_good(void **state)
{
	struct tb tb;
	char tar[400];

	(void)state;
	tb_build(&tb, &SMALL);
	tb_write(&tb, false);
	/* The directory itself, and the one holding corewatch-bundle/. */
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 0);
	want_all_ok(&tb);
	want(&tb, "the key given with --vkey");
	assert_int_equal(verify(&tb, tb.dir, NULL, NULL, 0), 0);
	want_all_ok(&tb);
	want(&tb, "taken from the bundle itself");
	/* The tar file, records.jsonl before batches.jsonl. */
	tb_tar(&tb, tar, sizeof(tar), NULL);
	assert_int_equal(verify(&tb, tar, &tb.ck, NULL, 0), 0);
	want_all_ok(&tb);
	want(&tb, "ok    probe ");
	tb_free(&tb);
}

/* A hole explained by a loss record holds; without it, it fails. */
static void
test_holes(void **state)
{
	struct spec s = SMALL;
	struct tb tb;

	(void)state;
	s.lost_a = 5;
	s.lost_b = 8;
	s.explain = true;
	tb_build(&tb, &s);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 0);
	want_all_ok(&tb);
	want(&tb, "1 hole (1 explained)");
	tb_free(&tb);

	s.explain = false;
	tb_build(&tb, &s);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "FAIL  chains: 1 problem");
	want(&tb, "seq 5-8 missing, and no loss record of the chain covers it");
	want(&tb, "ok    signatures:");
	want(&tb, "ok    inclusion:");
	tb_free(&tb);
}

/* One byte of one record: its chain link, its batch, its leaf. */
static void
test_byte_changed(void **state)
{
	struct tb tb;
	char *l, *r;

	(void)state;
	tb_build(&tb, &SMALL);
	l = line_of(&tb.f[RECORDS], 12);
	r = strstr(l, "\"rtt_ms\":");
	r[9] = r[9] == '9' ? '8' : (char)(r[9] + 1);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "ok    manifest:"); /* MANIFEST made anew: it agrees */
	want(&tb, "FAIL  signatures: 2 problems");
	want(&tb, "batches.jsonl line 2 (probe ");
	want(&tb, "seq 8-14 (records.jsonl lines 8-14): no batch whose");
	want(&tb, "seq 8-14): the body rebuilt from the records does not hash");
	want(&tb, "FAIL  chains: 1 problem");
	want(&tb,
	    "seq 13 (records.jsonl line 13): its prev is not the hash "
	    "of seq 12");
	want(&tb, "FAIL  inclusion: 1 problem");
	want(&tb, "is not the checkpoint's");
	/* With the MANIFEST of before, the manifest says which file. */
	tb_free(&tb);
	tb_build(&tb, &SMALL);
	tb_manifest(&tb);
	l = line_of(&tb.f[RECORDS], 12);
	r = strstr(l, "\"rtt_ms\":");
	r[9] = r[9] == '9' ? '8' : (char)(r[9] + 1);
	tb_write(&tb, true);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "records.jsonl: its SHA-256 is not the one MANIFEST line");
	tb_free(&tb);
}

/* remove_line: line n (from 1) of a buffer. */
static void
remove_line(struct buf *b, int n)
{
	char *l = line_of(b, n), *e = strchr(l, '\n') + 1;

	memmove(l, e, (size_t)(b->p + b->len - e));
	b->len -= (size_t)(e - l);
	b->p[b->len] = '\0';
}

static void
test_dropped(void **state)
{
	struct tb tb;
	char *p;

	(void)state;
	tb_build(&tb, &SMALL);
	remove_line(&tb.f[RECORDS], 10);
	/* The forger mends the counts and the leaves, not the rest. */
	p = strstr(tb.f[BUNDLE].p, "\"records\":120");
	assert_non_null(p);
	memcpy(p, "\"records\":119", 13);
	p = strstr(tb.f[INCL].p, "\"leaves\":[");
	for (int i = 0; i < 9; i++)
		p = strchr(p + 1, ',');
	memmove(p, strchr(p + 1, ','), strlen(strchr(p + 1, ',')) + 1);
	tb.f[INCL].len = strlen(tb.f[INCL].p);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "needs the record of seq 10, which the bundle lacks");
	want(&tb, "seq 10-10 missing, and no loss record");
	want(&tb, "FAIL  records: 1 problem"); /* bundle.json's chains */
	want(&tb, "FAIL  inclusion:");
	tb_free(&tb);
}

static void
test_swapped(void **state)
{
	struct tb tb;
	char *a, *b, *e, *tmp;
	size_t la, lb;

	(void)state;
	tb_build(&tb, &SMALL);
	a = line_of(&tb.f[RECORDS], 4);
	b = strchr(a, '\n') + 1;
	e = strchr(b, '\n') + 1;
	la = (size_t)(b - a);
	lb = (size_t)(e - b);
	tmp = malloc(la + lb);
	memcpy(tmp, b, lb);
	memcpy(tmp + lb, a, la);
	memcpy(a, tmp, la + lb);
	free(tmp);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "records.jsonl line 5 (probe ");
	want(&tb, "seq 4): out of order or twice (after probe ");
	want(&tb, "needs the record of seq 4, which the bundle lacks");
	want(&tb, "FAIL  inclusion:");
	tb_free(&tb);
}

/* replace_field: the value (a string) of `key` in line n of a buffer
 * with the value from line m of `from`. */
static void
swap_field(struct buf *b, int n, const char *key, const struct buf *from, int m)
{
	char k[64], *dst, *src, *dend, *send;
	struct buf copy = { 0 };
	size_t dl, sl;

	snprintf(k, sizeof(k), "\"%s\":\"", key);
	bprintf(&copy, "%s", from->p);
	src = strstr(line_of(&copy, m), k) + strlen(k);
	send = strchr(src, '"');
	dst = strstr(line_of(b, n), k) + strlen(k);
	dend = strchr(dst, '"');
	dl = (size_t)(dend - dst);
	sl = (size_t)(send - src);
	assert_int_equal(dl, sl); /* same length: base64 of the same size */
	memcpy(dst, src, sl);
	free(copy.p);
}

static void
test_other_signature(void **state)
{
	struct tb tb;

	(void)state;
	tb_build(&tb, &SMALL);
	swap_field(&tb.f[BATCHES], 3, "sig", &tb.f[BATCHES], 2);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "FAIL  signatures: 2 problems");
	want(&tb, "batches.jsonl line 3 (probe ");
	want(&tb, "sig does not verify with the probe's key over this body");
	want(&tb,
	    "seq 15-21 (records.jsonl lines 15-21): no batch whose "
	    "signature holds covers them");
	want(&tb, "ok    chains:");
	tb_free(&tb);
}

static void
test_key_replaced(void **state)
{
	unsigned char pk[32], sk[64];
	char pkb[64], *p;
	struct tb tb;

	(void)state;
	tb_build(&tb, &SMALL);
	crypto_sign_keypair(pk, sk);
	b64(pk, 32, pkb, sizeof(pkb));
	p = strstr(tb.f[PROBES].p, "\"pubkey\":\"") + 10;
	memcpy(p, pkb, 44);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "FAIL  probe keys:");
	want(&tb, "probes.jsonl line 1: probe ");
	want(&tb, "not the probe's id (another probe's key)");
	want(&tb, "its pubkey is not the one of probes.jsonl");
	want(&tb, "FAIL  signatures:");
	tb_free(&tb);
}

static void
test_resigned(void **state)
{
	unsigned char pk[32], sk[64];
	struct note_key k2;
	char vkey[512];
	struct tb tb;

	(void)state;
	tb_build(&tb, &SMALL);
	crypto_sign_keypair(pk, sk);
	assert_int_equal(note_key_make(&k2, tb.ck.name, pk), 0);
	checkpoint_sign(&tb, sk, &k2, tb.size, tb.root, &tb.f[CKPT]);
	/* The checkpoint alone re-signed: fails with or without --vkey. */
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, NULL, NULL, 0), 1);
	want(&tb, "FAIL  checkpoint:");
	want(&tb, "checkpoint: no signature by the key");
	tb_free(&tb);
	/* With collector.vkey replaced too: it agrees with itself... */
	tb_build(&tb, &SMALL);
	checkpoint_sign(&tb, sk, &k2, tb.size, tb.root, &tb.f[CKPT]);
	assert_int_equal(note_vkey_format(&k2, vkey, sizeof(vkey)), 0);
	tb.f[VKEY].len = 0;
	bprintf(&tb.f[VKEY], "%s\n", vkey);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, NULL, NULL, 0), 0);
	want(&tb, "the key was taken from the bundle itself (no --vkey)");
	/* ...which the key as published exposes. */
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "collector.vkey is not the key given with --vkey");
	want(&tb, "checkpoint: no signature by the key");
	want(&tb, "FAIL  inclusion:"); /* no checkpoint to compare with */
	tb_free(&tb);
}

static void
test_fork(void **state)
{
	struct buf other = { 0 }, same = { 0 }, smaller = { 0 };
	unsigned char root[32];
	char p1[400], p2[400], p3[400];
	char *cps[3] = { p1, p2, p3 };
	struct tb tb;

	(void)state;
	tb_build(&tb, &SMALL);
	tb_write(&tb, false);
	memcpy(root, tb.root, 32);
	root[0] ^= 1;
	checkpoint_sign(&tb, tb.csk, &tb.ck, tb.size, root, &other);
	checkpoint_sign(&tb, tb.csk, &tb.ck, tb.size, tb.root, &same);
	checkpoint_sign(&tb, tb.csk, &tb.ck, tb.size - 3, root, &smaller);
	write_file(tb.dir, "same", same.p, same.len);
	write_file(tb.dir, "smaller", smaller.p, smaller.len);
	write_file(tb.dir, "fork", other.p, other.len);
	snprintf(p1, sizeof(p1), "%s/same", tb.dir);
	snprintf(p2, sizeof(p2), "%s/smaller", tb.dir);
	snprintf(p3, sizeof(p3), "%s/fork", tb.dir);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, cps, 2), 0);
	want(&tb,
	    "ok    other checkpoints: 2 given: 1 of the bundle's size "
	    "agree with it, 1 of another size not compared");
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, cps, 3), 1);
	want(&tb, "FAIL  other checkpoints: 1 problem");
	want(&tb,
	    "/fork: size 165 with another root than the bundle's "
	    "checkpoint: the log forked");
	free(other.p);
	free(same.p);
	free(smaller.p);
	tb_free(&tb);
}

static void
test_manifest(void **state)
{
	struct tb tb;

	(void)state;
	/* A file not listed; a file listed that is not there. */
	tb_build(&tb, &SMALL);
	tb_manifest(&tb);
	remove_line(&tb.f[MANIFEST], 1);
	tb_write(&tb, true);
	write_file(tb.bundle, "notes.txt", "x\n", 2);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "FAIL  manifest: 2 problems");
	want(&tb, "README.txt is in the bundle but not in MANIFEST");
	want(&tb, "notes.txt is in the bundle but not in MANIFEST");
	tb_free(&tb);
	/* A file missing from the bundle. */
	tb_build(&tb, &SMALL);
	tb_write(&tb, false);
	{
		char path[400];

		snprintf(path, sizeof(path), "%s/probes.jsonl", tb.bundle);
		assert_int_equal(unlink(path), 0);
	}
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb,
	    "MANIFEST line 7: probes.jsonl is listed but not in the "
	    "bundle");
	want(&tb, "probes.jsonl is missing from the bundle");
	want(&tb, "FAIL  probe keys:");
	tb_free(&tb);
}

static void
extra_symlink(FILE *f)
{
	tar_member(f, "corewatch-bundle/notes.txt", '2', NULL, 0, 0,
	    "/etc/passwd");
}

static void
extra_dotdot(FILE *f)
{
	tar_member(f, "corewatch-bundle/../evil", '0', "x\n", 2, 2, NULL);
}

static void
extra_outside(FILE *f)
{
	tar_member(f, "elsewhere/notes.txt", '0', "x\n", 2, 2, NULL);
}

static void
extra_huge(FILE *f)
{
	tar_member(f, "corewatch-bundle/huge.bin", '0', NULL, 0, (5ULL << 30),
	    NULL);
}

static void
extra_hardlink(FILE *f)
{
	tar_member(f, "corewatch-bundle/notes.txt", '1', NULL, 0, 0,
	    "corewatch-bundle/MANIFEST");
}

static void
test_hostile_tar(void **state)
{
	static const struct {
		void (*extra)(FILE *);
		const char *why;
	} cases[] = {
		{ extra_symlink, "is not a regular file; refused" },
		{ extra_hardlink, "is not a regular file; refused" },
		{ extra_dotdot,
		    "\"corewatch-bundle/../evil\" is not a file "
		    "directly under" },
		{ extra_outside,
		    "\"elsewhere/notes.txt\" is not a file directly" },
		{ extra_huge, "is over 4 GiB; refused" },
	};
	char tar[400];
	struct tb tb;

	(void)state;
	tb_build(&tb, &SMALL);
	tb_write(&tb, false);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		tb_tar(&tb, tar, sizeof(tar), cases[i].extra);
		assert_int_equal(verify(&tb, tar, &tb.ck, NULL, 0), 2);
		want(&tb, cases[i].why);
		nowant(&tb, "ok    ");
	}
	/* Not a tar file at all; a symbolic link in a directory. */
	write_file(tb.dir, "junk.tar", "not a tar\n", 10);
	snprintf(tar, sizeof(tar), "%s/junk.tar", tb.dir);
	assert_int_equal(verify(&tb, tar, &tb.ck, NULL, 0), 2);
	snprintf(tar, sizeof(tar), "%s/link", tb.bundle);
	assert_int_equal(symlink("/etc/passwd", tar), 0);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 2);
	want(&tb, "link: ");
	want(&tb, "refused");
	tb_free(&tb);
}

/* Records too long or not records, and the JSON output. */
static void
test_bad_lines_json(void **state)
{
	struct bundle_verify_opts o;
	struct tb tb;
	struct buf r = { 0 };
	size_t len;
	json_t *j;
	FILE *f;

	(void)state;
	tb_build(&tb, &SMALL);
	bprintf(&r, "%s", tb.f[RECORDS].p);
	tb.f[RECORDS].len = 0;
	bprintf(&tb.f[RECORDS], "not json\n");
	for (int i = 0; i < RECORD_MAX_LEN + 10; i++)
		bprintf(&tb.f[RECORDS], "y");
	bprintf(&tb.f[RECORDS], "\n%s", r.p);
	free(r.p);
	tb_write(&tb, false);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "records.jsonl line 1: not a record:");
	want(&tb, "records.jsonl line 2: longer than a record may be");
	want(&tb, "inclusion.json: 120 leaves for the 122 lines");
	memset(&o, 0, sizeof(o));
	o.vkey = &tb.ck;
	o.json = true;
	free(tb.out);
	f = open_memstream(&tb.out, &len);
	o.out = o.err = f;
	assert_int_equal(bundle_verify(tb.bundle, &o), 1);
	fclose(f);
	j = json_loads(tb.out, 0, NULL);
	assert_non_null(j);
	assert_true(json_is_false(json_object_get(j, "ok")));
	assert_int_equal(json_array_size(json_object_get(j, "checks")), 8);
	assert_int_equal(json_array_size(json_object_get(j, "chains")), 4);
	assert_string_equal(json_string_value(json_object_get(
	                        json_array_get(json_object_get(j, "checks"), 2),
	                        "check")),
	    "records");
	json_decref(j);
	tb_free(&tb);
}

/* A batch claiming trillions of seqs fails at once; what a problem
 * quotes of the bundle reaches the terminal without control bytes. */
static void
test_hostile_lines(void **state)
{
	struct tb tb;
	char *l, *nl;
	struct buf extra = { 0 };

	(void)state;
	tb_build(&tb, &SMALL);
	l = line_of(&tb.f[BATCHES], 1);
	nl = strchr(l, '\n');
	bprintf(&extra, "%.*s\n", (int)(nl - l), l);
	l = strstr(extra.p, "\"last_seq\":7,\"count\":7,\"seqs\":null");
	assert_non_null(l);
	bprintf(&tb.f[BATCHES],
	    "%.*s\"last_seq\":4000000000000,\"count\":"
	    "4000000000000,\"seqs\":null%s",
	    (int)(l - extra.p), extra.p,
	    l + strlen("\"last_seq\":7,\"count\":7,\"seqs\":null"));
	free(extra.p);
	tb_manifest(&tb);
	bprintf(&tb.f[MANIFEST], "%064d  evil\x1b[2Jname\n", 0);
	tb_write(&tb, true);
	assert_int_equal(verify(&tb, tb.bundle, &tb.ck, NULL, 0), 1);
	want(&tb, "batches.jsonl line 21 (probe ");
	want(&tb,
	    "seq 1-4000000000000): needs the record of seq 31, which the "
	    "bundle lacks");
	want(&tb, "evil?[2Jname is listed but not in the bundle");
	nowant(&tb, "\x1b");
	tb_free(&tb);
}

/* CW_VERIFY_BENCH=N: the time to verify N records. */
static void
test_bench(void **state)
{
	const char *n = getenv("CW_VERIFY_BENCH");
	struct spec s = { 10, 10, 0, 100, 0, 0, false, 450 };
	struct bundle_verify_opts o;
	struct timespec a, b;
	char tar[400];
	struct tb tb;
	double dt;

	(void)state;
	if (n == NULL)
		skip();
	s.seqs = atoi(n) / (s.probes * s.chains);
	tb_build(&tb, &s);
	tb_write(&tb, false);
	tb_tar(&tb, tar, sizeof(tar), NULL);
	fprintf(stderr, "bench: %zu records, records.jsonl %zu bytes\n",
	    tb.nrec, tb.f[RECORDS].len);
	for (int pass = 0; pass < 2; pass++) {
		memset(&o, 0, sizeof(o));
		o.vkey = &tb.ck;
		o.timing = true;
		o.out = stdout;
		o.err = stderr;
		clock_gettime(CLOCK_MONOTONIC, &a);
		assert_int_equal(bundle_verify(pass ? tar : tb.bundle, &o), 0);
		clock_gettime(CLOCK_MONOTONIC, &b);
		dt = (double)(b.tv_sec - a.tv_sec) +
		    (double)(b.tv_nsec - a.tv_nsec) / 1e9;
		fprintf(stderr, "bench: %s: %.3f s, %.0f records/s\n",
		    pass ? "tar" : "directory", dt, (double)tb.nrec / dt);
	}
	tb_free(&tb);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_holes),
		cmocka_unit_test(test_byte_changed),
		cmocka_unit_test(test_dropped),
		cmocka_unit_test(test_swapped),
		cmocka_unit_test(test_other_signature),
		cmocka_unit_test(test_key_replaced),
		cmocka_unit_test(test_resigned),
		cmocka_unit_test(test_fork),
		cmocka_unit_test(test_manifest),
		cmocka_unit_test(test_hostile_tar),
		cmocka_unit_test(test_bad_lines_json),
		cmocka_unit_test(test_hostile_lines),
		cmocka_unit_test(test_bench),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
