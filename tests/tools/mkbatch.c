/*
 * mkbatch.c -- signed batches of records for the collector's tests.
 *
 *   mkbatch                  check itself (what `make check` runs)
 *   mkbatch seed             print a fresh key seed (64 hex digits)
 *   mkbatch pubkey --seed HEX    print the seed's public key (hex)
 *   mkbatch id --seed HEX        print the seed's probe id
 *   mkbatch sign --seed HEX --out BODY --auth AUTH
 *                            sign the file BODY as it is (for bodies
 *                            that `batch` does not make)
 *   mkbatch batch --seed HEX --chain HEX32 --from SEQ --count N
 *       [--prev HEX64] [--gzip] [--variant N] [--loss FIRST:LAST]
 *       [--pad BYTES] [--tamper MODE] [--set JSON] [--line N] --out BODY
 *       --auth AUTH
 *
 * `batch` writes the body (gzip with --gzip) to BODY and the value of
 * the Authorization header to AUTH, and prints the last record's hash,
 * the --prev of the batch that continues the chain.  Records are DNS
 * results with realistic fields, the same for the same arguments;
 * --variant N changes their content (the same seqs with other hashes:
 * an equivocation).  --loss makes the first record a `loss` record.
 * --pad gives every record a "pad" of BYTES x's (large records).
 * --tamper breaks the batch for a test:
 *   sig        a signature that does not match
 *   prev       the first record's prev is wrong (from > 1)
 *   json       line N (default 1) is not JSON
 *   types      line N has "seq" as a string
 *   rtt        line N has "rtt_ms" as a string
 *   probe      the records name another probe than the signer
 *   nonewline  the last line has no newline
 *   big        line N is padded past 64 KiB
 * --set merges the members of a JSON object into line N's record (a
 * number out of its range: --set '{"rtt_ms":1e308}').
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "cwtime.h"
#include "gzip.h"
#include "record.h"
#include "result.h"

#define MKBATCH_SEED_LEN crypto_sign_SEEDBYTES
#define MKBATCH_T0       "2026-11-26T10:00:00Z"
#define MKBATCH_INTERVAL (300 * CW_USEC_PER_SEC)
#define MKBATCH_PAD      (RECORD_MAX_LEN + 4096)

enum mkbatch_tamper {
	TAMPER_NONE,
	TAMPER_SIG,
	TAMPER_PREV,
	TAMPER_JSON,
	TAMPER_TYPES,
	TAMPER_RTT,
	TAMPER_PROBE,
	TAMPER_NONEWLINE,
	TAMPER_BIG,
};

static const char *const mkbatch_tampers[] = {
	"none",
	"sig",
	"prev",
	"json",
	"types",
	"rtt",
	"probe",
	"nonewline",
	"big",
};

struct mkbatch_key {
	unsigned char pk[crypto_sign_PUBLICKEYBYTES];
	unsigned char sk[crypto_sign_SECRETKEYBYTES];
	char id[RECORD_ID_HEX + 1];
};

struct mkbatch_opts {
	const char *seed;
	const char *chain;
	const char *prev;
	const char *out;
	const char *auth;
	unsigned long long from, count;
	long variant;
	unsigned long long loss_first, loss_last;
	unsigned long long pad;
	bool loss;
	bool gzip;
	enum mkbatch_tamper tamper;
	json_t *set; /* an object, or NULL */
	unsigned long long line;
};

/* The growing body of a batch. */
struct mkbatch_buf {
	char *p;
	size_t len, cap;
};

static int mkbatch_die(const char *fmt, ...)
    __attribute__((format(printf, 1, 2)));

static int
mkbatch_die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "mkbatch: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return 2;
}

static bool
mkbatch_hex_ok(const char *s, size_t len)
{
	if (s == NULL || strlen(s) != len)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		        (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int
mkbatch_key(const char *seed_hex, struct mkbatch_key *k)
{
	unsigned char seed[MKBATCH_SEED_LEN];
	size_t got = 0;

	if (!mkbatch_hex_ok(seed_hex, 2 * MKBATCH_SEED_LEN) ||
	    sodium_hex2bin(seed, sizeof(seed), seed_hex, strlen(seed_hex), NULL,
	        &got, NULL) != 0 ||
	    got != sizeof(seed))
		return -1;
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	record_probe_id(k->pk, k->id);
	return 0;
}

static int
mkbatch_add(struct mkbatch_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 4096;
		char *grown;
		while (cap < b->len + n + 1)
			cap *= 2;
		if ((grown = realloc(b->p, cap)) == NULL)
			return -1;
		b->p = grown;
		b->cap = cap;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return 0;
}

/* mkbatch_abuf: a plausible SOA reply to ". SOA IN" as base64. */
static json_t *
mkbatch_abuf(unsigned id, unsigned long long serial)
{
	unsigned char m[64];
	char b64[sodium_base64_ENCODED_LEN(sizeof(m),
	    sodium_base64_VARIANT_ORIGINAL)];
	size_t n = 0;

	memset(m, 0, sizeof(m));
	m[n++] = (unsigned char)(id >> 8);
	m[n++] = (unsigned char)id;
	m[n++] = 0x84; /* QR AA */
	m[n++] = 0x00;
	m[n++] = 0;
	m[n++] = 1; /* qdcount */
	m[n++] = 0;
	m[n++] = 1; /* ancount */
	n += 4;
	m[n++] = 0; /* . */
	m[n++] = 0;
	m[n++] = 6; /* SOA */
	m[n++] = 0;
	m[n++] = 1; /* IN */
	m[n++] = 0; /* owner . */
	m[n++] = 0;
	m[n++] = 6;
	m[n++] = 0;
	m[n++] = 1;
	m[n++] = 0; /* TTL 86400 */
	m[n++] = 1;
	m[n++] = 0x51;
	m[n++] = 0x80;
	m[n++] = 0; /* rdlength 22 */
	m[n++] = 22;
	m[n++] = 0; /* mname . */
	m[n++] = 0; /* rname . */
	for (int shift = 24; shift >= 0; shift -= 8)
		m[n++] = (unsigned char)(serial >> shift);
	n += 16; /* refresh ... minimum: zeros */
	sodium_bin2base64(b64, sizeof(b64), m, n,
	    sodium_base64_VARIANT_ORIGINAL);
	return json_string(b64);
}

/* mkbatch_dns: the measurement part of record `seq`. */
static void
mkbatch_dns(json_t *r, unsigned long long seq, long variant, cw_usec_t when)
{
	static const char *const addrs[] = { "198.41.0.4",
		"2001:503:ba3e::2:30", "170.247.170.2", "2801:1b8:10::b" };
	unsigned long long serial = 2026112600ULL + seq / 288;
	unsigned id =
	    (unsigned)((seq * 2654435761ULL + (unsigned long)variant) & 0xffff);
	const char *addr = addrs[seq % 4];
	char t[CW_TIME_STRLEN], nsid[32];

	snprintf(nsid, sizeof(nsid), "rootns-%s%llu", variant ? "v" : "",
	    (seq % 7) + (unsigned long long)variant);
	json_object_set_new(r, "time",
	    json_string(cw_time_format(when, t, sizeof(t))));
	json_object_set_new(r, "name", json_string("root-soa"));
	json_object_set_new(r, "server",
	    json_string(
	        seq % 4 < 2 ? "a.root-servers.net" : "b.root-servers.net"));
	json_object_set_new(r, "addr", json_string(addr));
	json_object_set_new(r, "port", json_integer(53));
	json_object_set_new(r, "af", json_integer(strchr(addr, ':') ? 6 : 4));
	json_object_set_new(r, "proto", json_string(seq % 2 ? "udp" : "tcp"));
	json_object_set_new(r, "query",
	    json_pack("{s:s, s:s, s:s, s:i, s:b, "
	              "s:b, s:b, s:i}",
	        "qname", ".", "qtype", "SOA", "qclass", "IN", "id", (int)id,
	        "rd", 0, "do", 0, "nsid", 1, "edns_size", 1232));
	json_object_set_new(r, "ok", json_true());
	json_object_set_new(r, "failure", json_null());
	json_object_set_new(r, "rtt_ms",
	    json_real(10.0 + (double)(seq * 37 % 1000) / 100.0 +
	        (double)variant * 0.5));
	json_object_set_new(r, "attempts", json_integer(1));
	json_object_set_new(r, "rcode", json_string("NOERROR"));
	json_object_set_new(r, "size", json_integer(57));
	json_object_set_new(r, "soa_serial", json_integer((json_int_t)serial));
	json_object_set_new(r, "nsid", json_string(nsid));
	json_object_set_new(r, "abuf", mkbatch_abuf(id, serial));
}

/* mkbatch_record: record `seq` (line `line` of the batch) as one line
 * with its newline, appended to `body`; its hash into `hash`. */
static int
mkbatch_record(const struct mkbatch_opts *o, const char *probe,
    unsigned long long seq, unsigned long long line, const char *prev,
    cw_usec_t t0, struct mkbatch_buf *body, char hash[RECORD_HASH_HEX + 1])
{
	unsigned char h[RECORD_HASH_LEN];
	bool here = line == o->line;
	size_t pad = here && o->tamper == TAMPER_BIG ? MKBATCH_PAD : o->pad;
	cw_usec_t when = t0 + (cw_usec_t)(seq - 1) * MKBATCH_INTERVAL;
	json_t *r;
	char *text, t[CW_TIME_STRLEN];
	int rc = -1;

	r = json_pack("{s:s, s:s, s:o, s:s, s:s}", "probe", probe, "chain",
	    o->chain, "seq",
	    here && o->tamper == TAMPER_TYPES ? json_sprintf("%llu", seq) :
	                                        json_integer((json_int_t)seq),
	    "prev", prev, "type", o->loss && line == 1 ? "loss" : "dns");
	if (r == NULL)
		return -1;
	if (o->loss && line == 1) {
		json_object_set_new(r, "time",
		    json_string(cw_time_format(when, t, sizeof(t))));
		json_object_set_new(r, "lost",
		    json_pack("{s:I, s:I, s:I}", "first_seq",
		        (json_int_t)o->loss_first, "last_seq",
		        (json_int_t)o->loss_last, "count",
		        (json_int_t)(o->loss_last - o->loss_first + 1)));
		json_object_set_new(r, "reason", json_string("spool_full"));
	} else
		mkbatch_dns(r, seq, o->variant, when);
	if (here && o->tamper == TAMPER_RTT)
		json_object_set_new(r, "rtt_ms", json_string("fast"));
	if (here && o->set != NULL)
		json_object_update(r, o->set);
	if (pad > 0) {
		char *x = malloc(pad + 1);
		if (x == NULL)
			goto out;
		memset(x, 'x', pad);
		x[pad] = '\0';
		json_object_set_new(r, "pad", json_string(x));
		free(x);
	}
	if ((text = result_dump(r)) == NULL)
		goto out;
	if (here && o->tamper == TAMPER_JSON)
		text[strlen(text) - 1] = ','; /* an object never closed */
	record_hash(text, strlen(text), h);
	record_hex(h, sizeof(h), hash);
	rc = mkbatch_add(body, text, strlen(text));
	free(text);
	if (rc == 0 &&
	    !(o->tamper == TAMPER_NONEWLINE && seq == o->from + o->count - 1))
		rc = mkbatch_add(body, "\n", 1);
out:
	json_decref(r);
	return rc;
}

/* mkbatch_body: every record of the batch; the last hash into `last`. */
static int
mkbatch_body(const struct mkbatch_opts *o, const struct mkbatch_key *k,
    struct mkbatch_buf *body, char last[RECORD_HASH_HEX + 1])
{
	char prev[RECORD_HASH_HEX + 1], other[RECORD_ID_HEX + 1];
	const char *probe = k->id;
	cw_usec_t t0;

	if (cw_time_parse(MKBATCH_T0, &t0) == -1)
		return -1;
	if (o->prev != NULL)
		snprintf(prev, sizeof(prev), "%s", o->prev);
	else
		memset(prev, '0', RECORD_HASH_HEX);
	prev[RECORD_HASH_HEX] = '\0';
	if (o->tamper == TAMPER_PREV)
		prev[RECORD_HASH_HEX - 1] = prev[RECORD_HASH_HEX - 1] == 'a' ?
		    'b' :
		    'a';
	if (o->tamper == TAMPER_PROBE) {
		snprintf(other, sizeof(other), "%s", k->id);
		other[0] = other[0] == 'a' ? 'b' : 'a';
		probe = other;
	}
	for (unsigned long long i = 0; i < o->count; i++) {
		if (mkbatch_record(o, probe, o->from + i, i + 1, prev, t0, body,
		        last) == -1)
			return -1;
		memcpy(prev, last, sizeof(prev));
	}
	return 0;
}

static int
mkbatch_write(const char *path, const void *data, size_t len)
{
	FILE *fp = fopen(path, "w");

	if (fp == NULL || fwrite(data, 1, len, fp) != len) {
		fprintf(stderr, "mkbatch: %s: %s\n", path, strerror(errno));
		if (fp != NULL)
			fclose(fp);
		return -1;
	}
	if (fclose(fp) != 0) {
		fprintf(stderr, "mkbatch: %s: %s\n", path, strerror(errno));
		return -1;
	}
	return 0;
}

/* mkbatch_make: the signed batch of `o`; the body (gzipped with
 * --gzip) and the Authorization value, for the caller to free. */
static int
mkbatch_make(const struct mkbatch_opts *o, struct mkbatch_buf *body,
    unsigned char **wire, size_t *wirelen, char *auth, size_t authlen,
    char last[RECORD_HASH_HEX + 1])
{
	struct mkbatch_key k;
	char sig[RECORD_SIG_B64 + 1];

	if (mkbatch_key(o->seed, &k) == -1 ||
	    mkbatch_body(o, &k, body, last) == -1)
		return -1;
	batch_sign(k.sk, k.id, body->p, body->len, sig);
	sodium_memzero(&k.sk, sizeof(k.sk));
	if (o->tamper == TAMPER_SIG)
		sig[10] = sig[10] == 'A' ? 'B' : 'A';
	snprintf(auth, authlen, "%s probe=%s,sig=%s", BATCH_AUTH_SCHEME, k.id,
	    sig);
	if (o->gzip)
		return gzip_deflate(body->p, body->len, 6, wire, wirelen) ==
		        GZIP_OK ?
		    0 :
		    -1;
	if ((*wire = malloc(body->len + 1)) == NULL)
		return -1;
	memcpy(*wire, body->p, body->len);
	*wirelen = body->len;
	return 0;
}

static int
mkbatch_u64(const char *text, unsigned long long *out)
{
	char *end;

	errno = 0;
	*out = strtoull(text, &end, 10);
	return *text >= '0' && *text <= '9' && *end == '\0' && errno == 0 ? 0 :
	                                                                    -1;
}

static const struct option mkbatch_options[] = {
	{ "seed", required_argument, NULL, 's' },
	{ "chain", required_argument, NULL, 'c' },
	{ "from", required_argument, NULL, 'f' },
	{ "count", required_argument, NULL, 'n' },
	{ "prev", required_argument, NULL, 'p' },
	{ "gzip", no_argument, NULL, 'z' },
	{ "variant", required_argument, NULL, 'v' },
	{ "loss", required_argument, NULL, 'l' },
	{ "tamper", required_argument, NULL, 't' },
	{ "line", required_argument, NULL, 'L' },
	{ "set", required_argument, NULL, 'S' },
	{ "pad", required_argument, NULL, 'P' },
	{ "out", required_argument, NULL, 'o' },
	{ "auth", required_argument, NULL, 'a' },
	{ NULL, 0, NULL, 0 },
};

static int
mkbatch_opt(int ch, const char *arg, struct mkbatch_opts *o)
{
	unsigned long long v;
	size_t i;

	switch (ch) {
	case 's':
		o->seed = arg;
		return 0;
	case 'c':
		o->chain = arg;
		return 0;
	case 'p':
		o->prev = arg;
		return 0;
	case 'o':
		o->out = arg;
		return 0;
	case 'a':
		o->auth = arg;
		return 0;
	case 'z':
		o->gzip = true;
		return 0;
	case 'f':
		return mkbatch_u64(arg, &o->from);
	case 'n':
		return mkbatch_u64(arg, &o->count);
	case 'L':
		return mkbatch_u64(arg, &o->line);
	case 'S':
		json_decref(o->set);
		o->set = json_loads(arg, 0, NULL);
		return json_is_object(o->set) ? 0 : -1;
	case 'P':
		return mkbatch_u64(arg, &o->pad) == -1 ||
		        o->pad > RECORD_MAX_LEN ?
		    -1 :
		    0;
	case 'v':
		if (mkbatch_u64(arg, &v) == -1 || v > 1000)
			return -1;
		o->variant = (long)v;
		return 0;
	case 'l':
		o->loss = true;
		return sscanf(arg, "%llu:%llu", &o->loss_first,
		           &o->loss_last) == 2 ?
		    0 :
		    -1;
	case 't':
		for (i = 0;
		     i < sizeof(mkbatch_tampers) / sizeof(mkbatch_tampers[0]);
		     i++)
			if (strcmp(arg, mkbatch_tampers[i]) == 0) {
				o->tamper = (enum mkbatch_tamper)i;
				return 0;
			}
		return -1;
	default:
		return -1;
	}
}

static int
mkbatch_parse(int argc, char **argv, struct mkbatch_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	o->line = 1;
	while ((ch = getopt_long(argc, argv, "", mkbatch_options, NULL)) != -1)
		if (mkbatch_opt(ch, optarg, o) == -1)
			return mkbatch_die("bad option %s", argv[optind - 1]);
	if (optind != argc)
		return mkbatch_die("unexpected %s", argv[optind]);
	return 0;
}

static int
cmd_batch(int argc, char **argv)
{
	struct mkbatch_opts o;
	struct mkbatch_buf body = { NULL, 0, 0 };
	unsigned char *wire = NULL;
	size_t wirelen = 0;
	char auth[256], last[RECORD_HASH_HEX + 1];
	int rc = 1;

	if (mkbatch_parse(argc, argv, &o) != 0) {
		json_decref(o.set);
		return 2;
	}
	if (o.seed == NULL || !mkbatch_hex_ok(o.chain, RECORD_ID_HEX) ||
	    o.from < 1 || o.count < 1 || o.out == NULL || o.auth == NULL ||
	    (o.prev != NULL && !mkbatch_hex_ok(o.prev, RECORD_HASH_HEX)) ||
	    (o.from > 1 && o.prev == NULL) || o.line < 1 || o.line > o.count) {
		json_decref(o.set);
		return mkbatch_die(
		    "batch needs --seed, --chain (32 hex), "
		    "--from, --count, --out, --auth, and --prev (64 hex) "
		    "after seq 1");
	}
	if (mkbatch_make(&o, &body, &wire, &wirelen, auth, sizeof(auth),
	        last) == -1)
		fprintf(stderr, "mkbatch: cannot make the batch\n");
	else if (mkbatch_write(o.out, wire, wirelen) == 0 &&
	    mkbatch_write(o.auth, auth, strlen(auth)) == 0) {
		printf("%s\n", last);
		rc = 0;
	}
	free(wire);
	free(body.p);
	json_decref(o.set);
	return rc;
}

static int
cmd_key(int argc, char **argv, bool want_id)
{
	struct mkbatch_opts o;
	struct mkbatch_key k;
	char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];

	if (mkbatch_parse(argc, argv, &o) != 0)
		return 2;
	if (o.seed == NULL || mkbatch_key(o.seed, &k) == -1)
		return mkbatch_die("--seed: 64 lower-case hex digits");
	record_hex(k.pk, sizeof(k.pk), hex);
	printf("%s\n", want_id ? k.id : hex);
	return 0;
}

static int
cmd_sign(int argc, char **argv)
{
	struct mkbatch_opts o;
	struct mkbatch_key k;
	char sig[RECORD_SIG_B64 + 1], auth[256], *body = NULL;
	size_t len = 0, cap = 0, n;
	FILE *fp;
	int rc = 1;

	if (mkbatch_parse(argc, argv, &o) != 0)
		return 2;
	if (o.seed == NULL || mkbatch_key(o.seed, &k) == -1 || o.out == NULL ||
	    o.auth == NULL)
		return mkbatch_die("sign needs --seed, --out, --auth");
	if ((fp = fopen(o.out, "r")) == NULL)
		return mkbatch_die("%s: cannot read", o.out);
	for (;;) {
		if (len == cap) {
			char *grown = realloc(body, cap * 2 + 4096);
			if (grown == NULL)
				goto out;
			body = grown;
			cap = cap * 2 + 4096;
		}
		if ((n = fread(body + len, 1, cap - len, fp)) == 0)
			break;
		len += n;
	}
	if (ferror(fp))
		goto out;
	batch_sign(k.sk, k.id, body, len, sig);
	snprintf(auth, sizeof(auth), "%s probe=%s,sig=%s", BATCH_AUTH_SCHEME,
	    k.id, sig);
	rc = mkbatch_write(o.auth, auth, strlen(auth)) == 0 ? 0 : 1;
out:
	sodium_memzero(&k.sk, sizeof(k.sk));
	fclose(fp);
	free(body);
	return rc;
}

static int
cmd_seed(void)
{
	unsigned char seed[MKBATCH_SEED_LEN];
	char hex[2 * MKBATCH_SEED_LEN + 1];

	randombytes_buf(seed, sizeof(seed));
	record_hex(seed, sizeof(seed), hex);
	printf("%s\n", hex);
	return 0;
}

/* --- Self-check --- */

static int
selfcheck_fail(const char *what)
{
	fprintf(stderr, "mkbatch self-check: %s\n", what);
	return 1;
}

/* selfcheck_lines: every line parses and links to the one before. */
static int
selfcheck_lines(const char *p, size_t len, const char *probe)
{
	const char *end = p + len, *nl;
	unsigned char prev[RECORD_HASH_LEN];
	char hex[RECORD_HASH_HEX + 1], err[256];
	struct record r;
	size_t n = 0;

	for (; p < end; p = nl + 1, n++) {
		if ((nl = memchr(p, '\n', (size_t)(end - p))) == NULL)
			return selfcheck_fail("a line without newline");
		if (record_parse(p, (size_t)(nl - p), &r, err, sizeof(err)) ==
		    -1) {
			record_clear(&r);
			return selfcheck_fail(err);
		}
		record_hex(prev, sizeof(prev), hex);
		if (strcmp(r.probe, probe) != 0 || r.seq != n + 1 ||
		    (n > 0 && strcmp(r.prev, hex) != 0)) {
			record_clear(&r);
			return selfcheck_fail("records do not chain");
		}
		memcpy(prev, r.hash, sizeof(prev));
		record_clear(&r);
	}
	return n == 3 ? 0 : selfcheck_fail("not 3 records");
}

/* selfcheck_gzip: round trip, limit and corruption. */
static int
selfcheck_gzip(const char *body, size_t len)
{
	unsigned char *z = NULL, *back = NULL, *zeros;
	size_t zlen = 0, blen = 0;
	int rc = 1;

	if (gzip_deflate(body, len, 6, &z, &zlen) != GZIP_OK ||
	    gzip_inflate(z, zlen, len, &back, &blen) != GZIP_OK ||
	    blen != len || memcmp(back, body, len) != 0)
		goto out;
	free(back);
	back = NULL;
	if (gzip_inflate(z, zlen, len - 1, &back, &blen) != GZIP_E_TOO_LARGE)
		goto out;
	z[zlen - 5] ^= 0x55; /* the length in the trailer */
	if (gzip_inflate(z, zlen, len, &back, &blen) != GZIP_E_CORRUPT ||
	    gzip_inflate(z, 10, len, &back, &blen) != GZIP_E_CORRUPT)
		goto out;
	free(z);
	z = NULL;
	/* A bomb: 8 MiB of zeros in a few KiB, against a 1 MiB limit. */
	if ((zeros = calloc(1, 8 << 20)) == NULL)
		goto out;
	rc = gzip_deflate(zeros, 8 << 20, 9, &z, &zlen);
	free(zeros);
	if (rc != GZIP_OK || zlen > 64 * 1024 ||
	    gzip_inflate(z, zlen, 1 << 20, &back, &blen) != GZIP_E_TOO_LARGE) {
		rc = 1;
		goto out;
	}
	rc = 0;
out:
	free(z);
	free(back);
	return rc == 0 ? 0 : selfcheck_fail("gzip");
}

static int
cmd_selfcheck(void)
{
	struct mkbatch_opts o;
	struct mkbatch_buf body = { NULL, 0, 0 };
	struct mkbatch_key k;
	unsigned char *wire = NULL;
	size_t wirelen = 0;
	char auth[256], last[RECORD_HASH_HEX + 1], probe[RECORD_ID_HEX + 1];
	char sig[RECORD_SIG_B64 + 1], err[256];
	int rc = 1;

	memset(&o, 0, sizeof(o));
	o.seed = "01010101010101010101010101010101"
	         "01010101010101010101010101010101";
	o.chain = "00112233445566778899aabbccddeeff";
	o.from = 1;
	o.count = 3;
	o.line = 1;
	if (mkbatch_key(o.seed, &k) == -1 ||
	    mkbatch_make(&o, &body, &wire, &wirelen, auth, sizeof(auth),
	        last) == -1)
		rc = selfcheck_fail("cannot make a batch");
	else if (batch_auth_parse(auth, probe, sig, err, sizeof(err)) == -1)
		rc = selfcheck_fail(err);
	else if (!batch_verify(k.pk, probe, body.p, body.len, sig))
		rc = selfcheck_fail("the signature does not verify");
	else if (selfcheck_lines(body.p, body.len, k.id) == 0 &&
	    selfcheck_gzip(body.p, body.len) == 0)
		rc = 0;
	free(wire);
	free(body.p);
	if (rc == 0)
		printf("mkbatch self-check: ok\n");
	return rc;
}

int
main(int argc, char **argv)
{
	if (sodium_init() < 0)
		return 1;
	if (argc < 2)
		return cmd_selfcheck();
	if (strcmp(argv[1], "batch") == 0)
		return cmd_batch(argc - 1, argv + 1);
	if (strcmp(argv[1], "pubkey") == 0)
		return cmd_key(argc - 1, argv + 1, false);
	if (strcmp(argv[1], "id") == 0)
		return cmd_key(argc - 1, argv + 1, true);
	if (strcmp(argv[1], "seed") == 0)
		return cmd_seed();
	if (strcmp(argv[1], "sign") == 0)
		return cmd_sign(argc - 1, argv + 1);
	fprintf(stderr,
	    "usage: mkbatch [seed | pubkey --seed HEX | id --seed "
	    "HEX | sign ... | batch ...]\n");
	return 2;
}
