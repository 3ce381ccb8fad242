/*
 * batches.c -- the kept batch signatures as JSON lines (batches.h), a
 * page at a time.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <jansson.h>
#include <sodium.h>

#include "batches.h"
#include "export.h"
#include "log.h"
#include "record.h"

#define BATCHES_SEQ_MAX (1LL << 53)

struct batch_export {
	struct store *st;
	struct store_batch_filter f;
	char *probe, *chain; /* f's strings, owned */
	long long after;
	bool done, failed;
};

void
batch_params_init(struct batch_params *p)
{
	memset(p, 0, sizeof(*p));
}

/* A seq as the protocol has it: 1 to 2^53. */
static int
batch_seq_parse(const char *s, long long *out)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < 1 || v > BATCHES_SEQ_MAX)
		return -1;
	*out = v;
	return 0;
}

static bool
batch_chain_ok(const char *s)
{
	size_t n = strspn(s, "0123456789abcdef");

	return n == RECORD_ID_HEX && s[n] == '\0';
}

int
batch_params_set(struct batch_params *p, const char *key, const char *value,
    char *err, size_t errlen)
{
	struct store_batch_filter *f = &p->filter;
	struct export_params ep;
	int rc;

	if (strcmp(key, "from") == 0 || strcmp(key, "to") == 0 ||
	    strcmp(key, "probe") == 0) {
		/* Checked as an export checks them. */
		export_params_init(&ep);
		if ((rc = export_params_set(&ep, key, value, err, errlen)) != 1)
			return rc;
		f->from = ep.filter.from != 0 ? ep.filter.from : f->from;
		f->to = ep.filter.to != 0 ? ep.filter.to : f->to;
		f->probe = ep.filter.probe != NULL ? ep.filter.probe : f->probe;
		return 1;
	}
	if (strcmp(key, "chain") == 0) {
		if (!batch_chain_ok(value)) {
			log_say(err, errlen,
			    "chain: \"%s\" is not a chain id "
			    "(32 lower-case hex digits)",
			    value);
			return -1;
		}
		f->chain = value;
		return 1;
	}
	if (strcmp(key, "seq_from") == 0 || strcmp(key, "seq_to") == 0) {
		if (batch_seq_parse(value,
		        key[4] == 'f' ? &f->seq_from : &f->seq_to) == -1) {
			log_say(err, errlen,
			    "%s: \"%s\" is not a seq (1 to 2^53)", key, value);
			return -1;
		}
		return 1;
	}
	return 0;
}

int
batch_params_check(const struct batch_params *p, char *err, size_t errlen)
{
	const struct store_batch_filter *f = &p->filter;

	if (f->from != 0 && f->to != 0 && f->from >= f->to) {
		log_say(err, errlen, "from must be before to");
		return -1;
	}
	if (f->seq_from != 0 && f->seq_to != 0 && f->seq_from > f->seq_to) {
		log_say(err, errlen, "seq_from must not be above seq_to");
		return -1;
	}
	return 0;
}

struct batch_export *
batch_export_new(struct store *st, const struct store_batch_filter *f)
{
	struct batch_export *bx;

	if ((bx = calloc(1, sizeof(*bx))) == NULL)
		return NULL;
	bx->st = st;
	bx->f = *f;
	if ((f->probe != NULL && (bx->probe = strdup(f->probe)) == NULL) ||
	    (f->chain != NULL && (bx->chain = strdup(f->chain)) == NULL)) {
		batch_export_free(bx);
		return NULL;
	}
	bx->f.probe = bx->probe;
	bx->f.chain = bx->chain;
	return bx;
}

void
batch_export_free(struct batch_export *bx)
{
	if (bx == NULL)
		return;
	free(bx->probe);
	free(bx->chain);
	free(bx);
}

/* The lines of batch `r` kept as equivocations, each with its bytes, as
 * a JSON array; NULL when the database failed or memory ran out. */
static json_t *
batch_forks_json(struct store *st, const struct store_batch_row *r)
{
	json_t *forks = json_array();
	char hex[RECORD_HASH_HEX + 1], *line;
	long long seq;
	size_t len;
	int rc;

	for (size_t k = 0; forks != NULL; k++) {
		rc = store_batch_fork(st, r, k, &seq, hex, &line, &len);
		if (rc == STORE_E_NOTFOUND)
			return forks;
		if (rc != STORE_OK ||
		    json_array_append_new(forks,
		        json_pack("{s:I, s:s, s:s#}", "seq", (json_int_t)seq,
		            "hash", hex, "line", line, (int)len)) == -1) {
			free(line);
			json_decref(forks);
			return NULL;
		}
		free(line);
	}
	return NULL;
}

/* One batch as a JSON object, or NULL. */
static json_t *
batch_json(struct store *st, const struct store_batch_row *r)
{
	char key[sodium_base64_ENCODED_LEN(RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	char sig[RECORD_SIG_B64 + 1], hex[RECORD_HASH_HEX + 1];
	char at[CW_TIME_STRLEN];
	json_t *forks;

	if ((forks = batch_forks_json(st, r)) == NULL)
		return NULL;
	sodium_bin2base64(key, sizeof(key), r->pubkey, RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(sig, sizeof(sig), r->sig, RECORD_SIG_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	record_hex(r->body_hash, RECORD_HASH_LEN, hex);
	return json_pack("{s:s, s:I, s:s, s:s, s:I, s:I, s:I, s:s?, s:o, "
	                 "s:s, s:s, s:s}",
	    "probe", r->probe, "probe_num", (json_int_t)r->probe_num, "pubkey",
	    key, "chain", r->chain, "first_seq", (json_int_t)r->first_seq,
	    "last_seq", (json_int_t)r->last_seq, "count", (json_int_t)r->count,
	    "seqs", r->seqs, "forks", forks, "body_sha256", hex, "sig", sig,
	    "received_at", cw_time_format(r->received_at, at, sizeof(at)));
}

char *
batch_line(struct store *st, const struct store_batch_row *r)
{
	json_t *o = batch_json(st, r);
	char *s = o != NULL ?
	    json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;

	json_decref(o);
	return s;
}

int
batch_export_step(struct batch_export *bx, struct evbuffer *out)
{
	struct store_batch_page pg;

	if (bx->failed)
		return -1;
	if (bx->done)
		return 0;
	if (store_batches(bx->st, &bx->f, bx->after, BATCHES_PAGE_ROWS, &pg) !=
	    STORE_OK) {
		bx->failed = true;
		return -1;
	}
	for (size_t i = 0; i < pg.n && !bx->failed; i++) {
		char *s = batch_line(bx->st, &pg.v[i]);
		if (s == NULL || evbuffer_add_printf(out, "%s\n", s) < 0)
			bx->failed = true;
		free(s);
		bx->after = pg.v[i].id;
	}
	bx->done = pg.n < BATCHES_PAGE_ROWS;
	store_batch_page_clear(&pg);
	return bx->failed ? -1 : bx->done ? 0 : 1;
}
