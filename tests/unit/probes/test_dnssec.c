/* test_dnssec.c -- DNSSEC validation (probes/dnssec.h) over a signed
 * test root "." and TLD "test." built in memory with ldns's own signer:
 * the secure chain, each way it breaks, trust anchor files, and this
 * machine's dns-root-data.  CW_DNSSEC_BENCH=N times N validations. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cwtime.h"
#include "dnssec.h"

/* 2026-12-08T00:00:00Z, the time every check is made at unless a test
 * says otherwise; signatures run from a day before to 30 days after. */
#define NOW_S      INT64_C(1796688000)
#define NOW        (NOW_S * CW_USEC_PER_SEC)
#define DAY        INT64_C(86400)
#define INCEPTION  (NOW_S - DAY)
#define EXPIRATION (NOW_S + 30 * DAY)

#define ROOT_SOA \
	". 86400 IN SOA a.root-servers.net. nstld.verisign-grs.com. " \
	"2026120800 1800 900 604800 86400"
#define TLD_SOA "test. 3600 IN SOA ns.test. admin.test. 7 3600 900 86400 300"

/* --- The signed world --- */

struct tkey {
	ldns_key *key;
	ldns_rr *rr; /* its DNSKEY */
};

struct world {
	struct tkey root_ksk, root_zsk, tld_ksk, tld_zsk, rogue;
	ldns_rdf *root, *tld;
	ldns_rr_list *root_dnskey; /* DNSKEY RRset + RRSIG by the KSK */
	ldns_rr_list *root_soa;    /* SOA + RRSIG by the ZSK */
	ldns_rr_list *tld_ds;      /* test. DS + RRSIG by the root ZSK */
	ldns_rr_list *tld_dnskey;
	ldns_rr_list *tld_soa;
	ldns_rr_list *root_ta; /* the root KSK as a DNSKEY anchor */
	char dir[64];          /* for anchor files */
};

static void
tkey_new(struct tkey *k, const char *zone, ldns_signing_algorithm alg,
    uint16_t size, uint16_t flags)
{
	k->key = ldns_key_new_frm_algorithm(alg, size);
	assert_non_null(k->key);
	ldns_key_set_pubkey_owner(k->key, ldns_dname_new_frm_str(zone));
	ldns_key_set_flags(k->key, flags);
	k->rr = ldns_key2rr(k->key);
	assert_non_null(k->rr);
	ldns_key_set_keytag(k->key, ldns_calc_keytag(k->rr));
}

static void
tkey_free(struct tkey *k)
{
	ldns_key_deep_free(k->key);
	ldns_rr_free(k->rr);
}

static ldns_rr *
rr_new(const char *text)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
	    LDNS_STATUS_OK);
	return rr;
}

/* Append to `out` the RRSIG `k` makes over `rrset` for the period. */
static void
sign(ldns_rr_list *out, const ldns_rr_list *rrset, struct tkey *k,
    int64_t inception, int64_t expiration)
{
	ldns_key_list *keys = ldns_key_list_new();
	ldns_rr_list *sigs;

	ldns_key_set_inception(k->key, (uint32_t)inception);
	ldns_key_set_expiration(k->key, (uint32_t)expiration);
	assert_true(ldns_key_list_push_key(keys, k->key));
	sigs = ldns_sign_public((ldns_rr_list *)rrset, keys);
	assert_non_null(sigs);
	assert_int_equal(ldns_rr_list_rr_count(sigs), 1);
	assert_true(ldns_rr_list_cat(out, sigs));
	ldns_rr_list_free(sigs);
	/* ldns_key_list_free() frees the keys in the list too (and 1.8.3's
	 * ldns_key_list_pop_key() returns NULL): empty it first. */
	ldns_key_list_set_key_count(keys, 0);
	ldns_key_list_free(keys);
}

/* An RRset of clones of `rrs` (NULL-terminated), signed by `k` unless
 * it is NULL. */
static ldns_rr_list *
signed_set(struct tkey *k, int64_t inception, int64_t expiration,
    ldns_rr *first, ...)
{
	ldns_rr_list *set = ldns_rr_list_new(), *out = ldns_rr_list_new();
	va_list ap;
	ldns_rr *rr;

	va_start(ap, first);
	for (rr = first; rr != NULL; rr = va_arg(ap, ldns_rr *))
		assert_true(ldns_rr_list_push_rr(set, ldns_rr_clone(rr)));
	va_end(ap);
	if (k != NULL)
		sign(out, set, k, inception, expiration);
	assert_true(ldns_rr_list_cat(set, out));
	ldns_rr_list_free(out);
	return set;
}

static ldns_rr_list *
signed_text(struct tkey *k, int64_t inception, int64_t expiration,
    const char *text)
{
	ldns_rr *rr = rr_new(text);
	ldns_rr_list *set = signed_set(k, inception, expiration, rr, NULL);

	ldns_rr_free(rr);
	return set;
}

static ldns_rr_list *
list_of(ldns_rr *first, ...)
{
	ldns_rr_list *list = ldns_rr_list_new();
	va_list ap;
	ldns_rr *rr;

	va_start(ap, first);
	for (rr = first; rr != NULL; rr = va_arg(ap, ldns_rr *))
		assert_true(ldns_rr_list_push_rr(list, ldns_rr_clone(rr)));
	va_end(ap);
	return list;
}

static int
world_setup(void **state)
{
	struct world *w = calloc(1, sizeof(*w));
	ldns_rr *ds;

	assert_non_null(w);
	tkey_new(&w->root_ksk, ".", LDNS_SIGN_RSASHA256, 1024, 257);
	tkey_new(&w->root_zsk, ".", LDNS_SIGN_ECDSAP256SHA256, 256, 256);
	tkey_new(&w->tld_ksk, "test.", LDNS_SIGN_ECDSAP256SHA256, 256, 257);
	tkey_new(&w->tld_zsk, "test.", LDNS_SIGN_ED25519, 256, 256);
	tkey_new(&w->rogue, ".", LDNS_SIGN_ED25519, 256, 256);
	w->root = ldns_dname_new_frm_str(".");
	w->tld = ldns_dname_new_frm_str("test.");
	w->root_dnskey = signed_set(&w->root_ksk, INCEPTION, EXPIRATION,
	    w->root_ksk.rr, w->root_zsk.rr, NULL);
	w->root_soa = signed_text(&w->root_zsk, INCEPTION, EXPIRATION,
	    ROOT_SOA);
	ds = ldns_key_rr2ds(w->tld_ksk.rr, LDNS_SHA256);
	assert_non_null(ds);
	w->tld_ds = signed_set(&w->root_zsk, INCEPTION, EXPIRATION, ds, NULL);
	ldns_rr_free(ds);
	w->tld_dnskey = signed_set(&w->tld_ksk, INCEPTION, EXPIRATION,
	    w->tld_ksk.rr, w->tld_zsk.rr, NULL);
	w->tld_soa = signed_text(&w->tld_zsk, INCEPTION, EXPIRATION, TLD_SOA);
	w->root_ta = list_of(w->root_ksk.rr, NULL);
	snprintf(w->dir, sizeof(w->dir), "%s/dnssec.XXXXXX",
	    getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(w->dir));
	*state = w;
	return 0;
}

static int
world_teardown(void **state)
{
	struct world *w = *state;

	tkey_free(&w->root_ksk);
	tkey_free(&w->root_zsk);
	tkey_free(&w->tld_ksk);
	tkey_free(&w->tld_zsk);
	tkey_free(&w->rogue);
	ldns_rdf_deep_free(w->root);
	ldns_rdf_deep_free(w->tld);
	ldns_rr_list_deep_free(w->root_dnskey);
	ldns_rr_list_deep_free(w->root_soa);
	ldns_rr_list_deep_free(w->tld_ds);
	ldns_rr_list_deep_free(w->tld_dnskey);
	ldns_rr_list_deep_free(w->tld_soa);
	ldns_rr_list_deep_free(w->root_ta);
	rmdir(w->dir);
	free(w);
	return 0;
}

/* --- Helpers over the world --- */

static void
assert_outcome(const struct dnssec_outcome *o, enum dnssec_status status,
    enum dnssec_reason reason)
{
	if (o->status != status || o->reason != reason)
		fail_msg("outcome %s/%s, wanted %s/%s",
		    dnssec_status_name(o->status),
		    dnssec_reason_name(o->reason) ?
		        dnssec_reason_name(o->reason) :
		        "none",
		    dnssec_status_name(status),
		    dnssec_reason_name(reason) ? dnssec_reason_name(reason) :
		                                 "none");
}

static struct dnssec_keys *
root_keys(struct world *w, const ldns_rr_list *dnskey,
    const ldns_rr_list *trust, cw_usec_t now)
{
	struct dnssec_keys *keys = dnssec_keys_validate(w->root, dnskey, trust,
	    now);

	assert_non_null(keys);
	return keys;
}

/* The outcome of `soa` at the root under `keys`. */
static struct dnssec_outcome
soa_outcome(const ldns_rr_list *soa, const struct dnssec_keys *keys,
    cw_usec_t now)
{
	struct dnssec_outcome out;

	assert_int_equal(dnssec_validate_rrset(soa, keys->zone,
	                     LDNS_RR_TYPE_SOA, keys, now, &out),
	    0);
	return out;
}

static const char *
write_file(struct world *w, const char *name, const void *data, size_t len)
{
	static char path[128];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	fp = fopen(path, "w");
	assert_non_null(fp);
	assert_int_equal(fwrite(data, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
	return path;
}

static const char *
write_text(struct world *w, const char *name, const char *text)
{
	return write_file(w, name, text, strlen(text));
}

static char *
rr_text(const ldns_rr *rr)
{
	char *text = ldns_rr2str(rr);

	assert_non_null(text);
	return text;
}

/* --- Names, outcomes and JSON --- */

static void
test_names(void **state)
{
	int i, j;

	(void)state;
	assert_string_equal(dnssec_status_name(DNSSEC_SECURE), "secure");
	assert_string_equal(dnssec_status_name(DNSSEC_INDETERMINATE),
	    "indeterminate");
	assert_null(dnssec_status_name(DNSSEC_STATUS_MAX));
	assert_null(dnssec_reason_name(DNSSEC_REASON_NONE));
	assert_null(dnssec_reason_name(DNSSEC_REASON_MAX));
	assert_string_equal(dnssec_reason_name(DNSSEC_REASON_NO_RRSIG),
	    "no_rrsig");
	for (i = 1; i < DNSSEC_REASON_MAX; i++) {
		assert_non_null(dnssec_reason_name(i));
		for (j = 1; j < i; j++)
			assert_string_not_equal(dnssec_reason_name(i),
			    dnssec_reason_name(j));
	}
}

/* The root's chain: anchor (DNSKEY form) -> DNSKEY set -> SOA, and the
 * outcome as the result's JSON. */
static void
test_root_secure(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	struct dnssec_outcome out = soa_outcome(w->root_soa, keys, NOW);
	char buf[CW_TIME_STRLEN];
	json_t *j;

	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(ldns_rr_list_rr_count(keys->keys), 2);
	assert_true(keys->outcome.has_signature);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(out.inception, INCEPTION);
	assert_int_equal(out.expiration, EXPIRATION);
	assert_int_equal(dnssec_expires_in(&out), 30 * DAY);
	j = dnssec_outcome_json(&out);
	assert_non_null(j);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "secure");
	assert_true(json_is_null(json_object_get(j, "reason")));
	assert_string_equal(json_string_value(json_object_get(j, "inception")),
	    "2026-12-07T00:00:00.000000Z");
	cw_time_format(EXPIRATION * CW_USEC_PER_SEC, buf, sizeof(buf));
	assert_string_equal(json_string_value(json_object_get(j, "expiration")),
	    buf);
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in_s")),
	    30 * DAY);
	assert_int_equal(json_object_size(j), 5);
	json_decref(j);
	dnssec_keys_free(keys);
}

/* A reply with clones of `answer` in its answer section. */
static ldns_pkt *
reply_of(const ldns_rr_list *answer)
{
	ldns_pkt *reply = ldns_pkt_new();
	size_t i;

	assert_non_null(reply);
	for (i = 0; i < ldns_rr_list_rr_count(answer); i++)
		assert_true(ldns_pkt_push_rr(reply, LDNS_SECTION_ANSWER,
		    ldns_rr_clone(ldns_rr_list_rr(answer, i))));
	return reply;
}

/* The same SOA in a reply's answer section. */
static void
test_reply_secure(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_pkt *reply = reply_of(w->root_soa);
	struct dnssec_outcome out;

	assert_int_equal(dnssec_validate_reply(reply, LDNS_RR_TYPE_SOA, keys,
	                     NOW, &out),
	    0);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	/* No SOA in the answer: nothing to judge. */
	assert_int_equal(dnssec_validate_reply(reply, LDNS_RR_TYPE_NS, keys,
	                     NOW, &out),
	    0);
	assert_outcome(&out, DNSSEC_INDETERMINATE, DNSSEC_REASON_NO_DATA);
	assert_false(out.has_signature);
	ldns_pkt_free(reply);
	dnssec_keys_free(keys);
}

/* A DS-form anchor serves as well as the DNSKEY itself. */
static void
test_root_ds_anchor(void **state)
{
	struct world *w = *state;
	ldns_rr *ds = ldns_key_rr2ds(w->root_ksk.rr, LDNS_SHA256);
	ldns_rr_list *ta = list_of(ds, NULL);
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, ta, NOW);

	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	dnssec_keys_free(keys);
	ldns_rr_list_deep_free(ta);
	ldns_rr_free(ds);
}

/* test.: its DS RRset from the root validates under the root's keys and
 * then vouches for test.'s DNSKEY set, which signs its SOA. */
static void
test_tld_secure(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *root = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	struct dnssec_keys *tld;
	struct dnssec_outcome ds, soa;

	assert_int_equal(dnssec_validate_rrset(w->tld_ds, w->tld,
	                     LDNS_RR_TYPE_DS, root, NOW, &ds),
	    0);
	assert_outcome(&ds, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	tld = dnssec_keys_validate(w->tld, w->tld_dnskey, w->tld_ds, NOW);
	assert_non_null(tld);
	assert_outcome(&tld->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	soa = soa_outcome(w->tld_soa, tld, NOW);
	assert_outcome(&soa, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	/* The root's keys cannot sign test.'s SOA, nor the root's SOA be
	 * taken for test.'s. */
	assert_int_equal(dnssec_validate_rrset(w->tld_soa, w->tld,
	                     LDNS_RR_TYPE_SOA, root, NOW, &soa),
	    0);
	assert_outcome(&soa, DNSSEC_BOGUS, DNSSEC_REASON_UNKNOWN_KEY);
	/* The root's SOA is outside test.: nothing test.'s keys sign. */
	assert_int_equal(dnssec_validate_rrset(w->root_soa, w->root,
	                     LDNS_RR_TYPE_SOA, tld, NOW, &soa),
	    0);
	assert_outcome(&soa, DNSSEC_INDETERMINATE, DNSSEC_REASON_NO_DATA);
	soa = soa_outcome(w->root_soa, tld, NOW);
	assert_outcome(&soa, DNSSEC_INDETERMINATE, DNSSEC_REASON_NO_DATA);
	dnssec_keys_free(tld);
	dnssec_keys_free(root);
}

/* --- Time --- */

static void
test_expired(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->root_zsk, NOW_S - 10 * DAY,
	    NOW_S - 1, ROOT_SOA);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);
	json_t *j;

	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_EXPIRED);
	assert_true(out.has_signature);
	assert_int_equal(out.expiration, NOW_S - 1);
	assert_int_equal(dnssec_expires_in(&out), -1);
	assert_false(dnssec_near_expiry(&out, DNSSEC_NEAR_EXPIRY_DEFAULT_S));
	j = dnssec_outcome_json(&out);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "bogus");
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "expired");
	assert_int_equal(json_integer_value(json_object_get(j, "expires_in_s")),
	    -1);
	json_decref(j);
	/* Its last second still counts (RFC 4034: expiration inclusive). */
	out = soa_outcome(soa, keys, (NOW_S - 1) * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(dnssec_expires_in(&out), 0);
	ldns_rr_list_deep_free(soa);
	/* The root's DNSKEY set checked a year on is expired as well. */
	dnssec_keys_free(keys);
	keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW + 365 * DAY * CW_USEC_PER_SEC);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_EXPIRED);
	assert_int_equal(ldns_rr_list_rr_count(keys->keys), 0);
	out = soa_outcome(w->root_soa, keys, NOW + 365 * DAY * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_EXPIRED);
	dnssec_keys_free(keys);
}

/* Keys validated once and cached: used after their DNSKEY set's
 * signature expired (or before it began), the SOA's outcome is the
 * keys' step's, bogus, even though the SOA's own signature holds. */
static void
test_cached_keys_period(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->root_zsk, INCEPTION - DAY,
	    EXPIRATION + DAY, ROOT_SOA);
	struct dnssec_outcome out;

	out = soa_outcome(soa, keys, EXPIRATION * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(out.expiration, EXPIRATION + DAY);
	out = soa_outcome(soa, keys, (EXPIRATION + 1) * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_EXPIRED);
	assert_int_equal(out.expiration, EXPIRATION);
	assert_int_equal(dnssec_expires_in(&out), -1);
	out = soa_outcome(soa, keys, (INCEPTION - 1) * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_NOT_YET_VALID);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

static void
test_not_yet_valid(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->root_zsk, NOW_S + 1,
	    NOW_S + 10 * DAY, ROOT_SOA);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);

	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_NOT_YET_VALID);
	assert_int_equal(out.inception, NOW_S + 1);
	out = soa_outcome(soa, keys, (NOW_S + 1) * CW_USEC_PER_SEC);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

/* Expiration before inception: no instant is inside the period. */
static void
test_bad_period(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->root_zsk, NOW_S + DAY, NOW_S - DAY,
	    ROOT_SOA);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);

	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_BAD_PERIOD);
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_int_not_equal(out.reason, DNSSEC_REASON_BAD_PERIOD);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

/* Serial-number time: a signature made across 2106's wrap of the 32-bit
 * field still reads as the nearest instant. */
static void
test_serial_time(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys;
	int64_t wrap = INT64_C(4294967296), now_s = wrap + 100;
	cw_usec_t now = now_s * CW_USEC_PER_SEC;
	ldns_rr_list *dnskey = signed_set(&w->root_ksk, now_s - DAY,
	    now_s + DAY, w->root_ksk.rr, w->root_zsk.rr, NULL);
	ldns_rr_list *soa = signed_text(&w->root_zsk, now_s - DAY, now_s + DAY,
	    ROOT_SOA);
	struct dnssec_outcome out;

	keys = root_keys(w, dnskey, w->root_ta, now);
	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	out = soa_outcome(soa, keys, now);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(out.inception, now_s - DAY);
	assert_int_equal(out.expiration, now_s + DAY);
	ldns_rr_list_deep_free(dnskey);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

static void
test_near_expiry(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->root_zsk, INCEPTION, NOW_S + 3600,
	    ROOT_SOA);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);

	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_true(dnssec_near_expiry(&out, DNSSEC_NEAR_EXPIRY_DEFAULT_S));
	assert_false(dnssec_near_expiry(&out, 3600));
	assert_true(dnssec_near_expiry(&out, 3601));
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_false(dnssec_near_expiry(&out, DNSSEC_NEAR_EXPIRY_DEFAULT_S));
	/* The well-signed SOA, a day and a second before it expires. */
	out = soa_outcome(w->root_soa, keys,
	    (EXPIRATION - DAY + 1) * CW_USEC_PER_SEC);
	assert_true(dnssec_near_expiry(&out, DNSSEC_NEAR_EXPIRY_DEFAULT_S));
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

/* --- Keys --- */

/* The SOA signed by a key outside the DNSKEY set; the DNSKEY set signed
 * only by a key the anchor does not vouch for. */
static void
test_unknown_key(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(&w->rogue, INCEPTION, EXPIRATION,
	    ROOT_SOA);
	ldns_rr_list *dnskey = signed_set(&w->root_zsk, INCEPTION, EXPIRATION,
	    w->root_ksk.rr, w->root_zsk.rr, NULL);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);

	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_UNKNOWN_KEY);
	assert_true(out.has_signature);
	/* The rogue's signature beside the ZSK's does no harm. */
	assert_true(ldns_rr_list_push_rr(soa,
	    ldns_rr_clone(ldns_rr_list_rr(w->root_soa, 1))));
	out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	dnssec_keys_free(keys);
	keys = root_keys(w, dnskey, w->root_ta, NOW);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_UNKNOWN_KEY);
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_UNKNOWN_KEY);
	ldns_rr_list_deep_free(dnskey);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

/* A signature by the right key over the right data whose signer field
 * names another zone does not count. */
static void
test_signer_other_zone(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *tld = dnssec_keys_validate(w->tld, w->tld_dnskey,
	    w->tld_ds, NOW);
	ldns_rr_list *soa = signed_text(&w->tld_zsk, INCEPTION, EXPIRATION,
	    TLD_SOA);
	struct dnssec_outcome out;

	assert_non_null(tld);
	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(soa, 1),
	    ldns_dname_new_frm_str("."), 7));
	out = soa_outcome(soa, tld, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_UNKNOWN_KEY);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(tld);
}

/* test.'s DNSKEY set against a DS of another key, and the root's
 * against an anchor of another key. */
static void
test_ds_mismatch(void **state)
{
	struct world *w = *state;
	ldns_rr *ds = ldns_key_rr2ds(w->rogue.rr, LDNS_SHA256);
	ldns_rr_list *trust;
	struct dnssec_keys *keys;
	struct dnssec_outcome out;

	ldns_rdf_deep_free(ldns_rr_owner(ds));
	ldns_rr_set_owner(ds, ldns_dname_new_frm_str("test."));
	trust = list_of(ds, NULL);
	keys = dnssec_keys_validate(w->tld, w->tld_dnskey, trust, NOW);
	assert_non_null(keys);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_DS_MISMATCH);
	assert_false(keys->outcome.has_signature);
	out = soa_outcome(w->tld_soa, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_DS_MISMATCH);
	dnssec_keys_free(keys);
	ldns_rr_list_deep_free(trust);
	ldns_rr_free(ds);
	/* The root's DNSKEY set against an anchor of the rogue key. */
	trust = list_of(w->rogue.rr, NULL);
	keys = root_keys(w, w->root_dnskey, trust, NOW);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_DS_MISMATCH);
	dnssec_keys_free(keys);
	ldns_rr_list_deep_free(trust);
	/* The right DS: no mismatch. */
	keys = dnssec_keys_validate(w->tld, w->tld_dnskey, w->tld_ds, NOW);
	assert_int_not_equal(keys->outcome.reason, DNSSEC_REASON_DS_MISMATCH);
	dnssec_keys_free(keys);
}

/* A revoked KSK (RFC 5011) is never an entry point. */
static void
test_revoked_key(void **state)
{
	struct world *w = *state;
	struct tkey revoked;
	ldns_rr_list *dnskey, *trust;
	struct dnssec_keys *keys;

	tkey_new(&revoked, ".", LDNS_SIGN_ED25519, 256,
	    257 | LDNS_KEY_REVOKE_KEY);
	dnskey = signed_set(&revoked, INCEPTION, EXPIRATION, revoked.rr,
	    w->root_zsk.rr, NULL);
	trust = list_of(revoked.rr, NULL);
	keys = root_keys(w, dnskey, trust, NOW);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_DS_MISMATCH);
	dnssec_keys_free(keys);
	ldns_rr_list_deep_free(trust);
	ldns_rr_list_deep_free(dnskey);
	tkey_free(&revoked);
}

/* --- Missing and broken material --- */

static void
test_no_rrsig(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = signed_text(NULL, 0, 0, ROOT_SOA);
	ldns_rr_list *dnskey = signed_set(NULL, 0, 0, w->root_ksk.rr,
	    w->root_zsk.rr, NULL);
	struct dnssec_outcome out = soa_outcome(soa, keys, NOW);

	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_NO_RRSIG);
	assert_false(out.has_signature);
	/* A signature over another type does not cover the SOA. */
	sign(soa, w->root_dnskey, &w->root_ksk, INCEPTION, EXPIRATION);
	ldns_rr_free(ldns_rr_list_pop_rr(soa));
	out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_NO_RRSIG);
	dnssec_keys_free(keys);
	keys = root_keys(w, dnskey, w->root_ta, NOW);
	assert_outcome(&keys->outcome, DNSSEC_BOGUS, DNSSEC_REASON_NO_RRSIG);
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_NO_RRSIG);
	dnssec_keys_free(keys);
	/* Signed, the same SOA has its RRSIG. */
	keys = root_keys(w, w->root_dnskey, w->root_ta, NOW);
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_int_not_equal(out.reason, DNSSEC_REASON_NO_RRSIG);
	ldns_rr_list_deep_free(dnskey);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

/* The SOA changed after signing: the signature no longer verifies; a
 * good signature beside the broken one still does. */
static void
test_bad_signature(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_rr_list *soa = ldns_rr_list_clone(w->root_soa);
	ldns_rr_list *good = ldns_rr_list_clone(w->root_soa);
	struct dnssec_outcome out;

	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(soa, 0),
	    ldns_native2rdf_int32(LDNS_RDF_TYPE_INT32, 2026120801), 2));
	out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_BAD_SIGNATURE);
	assert_true(out.has_signature);
	/* A wildcard's labels field on an apex SOA. */
	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(good, 1),
	    ldns_native2rdf_int8(LDNS_RDF_TYPE_INT8, 1), 2));
	out = soa_outcome(good, keys, NOW);
	assert_outcome(&out, DNSSEC_BOGUS, DNSSEC_REASON_BAD_SIGNATURE);
	/* The untouched SOA, and it with a forged signature next to its
	 * good one. */
	out = soa_outcome(w->root_soa, keys, NOW);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	ldns_rr_list_deep_free(good);
	good = ldns_rr_list_clone(w->root_soa);
	assert_true(
	    ldns_rr_list_push_rr(good, ldns_rr_clone(ldns_rr_list_rr(soa, 1))));
	ldns_rdf_deep_free(ldns_rr_set_rdf(ldns_rr_list_rr(good, 2),
	    ldns_native2rdf_int32(LDNS_RDF_TYPE_TIME, (uint32_t)NOW_S), 5));
	out = soa_outcome(good, keys, NOW);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	ldns_rr_list_deep_free(good);
	ldns_rr_list_deep_free(soa);
	dnssec_keys_free(keys);
}

static void
test_no_trust_anchor(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, NULL, NOW);
	struct dnssec_outcome out = soa_outcome(w->root_soa, keys, NOW);

	assert_outcome(&keys->outcome, DNSSEC_INDETERMINATE,
	    DNSSEC_REASON_NO_TRUST_ANCHOR);
	assert_int_equal(ldns_rr_list_rr_count(keys->keys), 0);
	assert_outcome(&out, DNSSEC_INDETERMINATE,
	    DNSSEC_REASON_NO_TRUST_ANCHOR);
	dnssec_keys_free(keys);
	keys = root_keys(w, w->root_dnskey, w->root_ta, NOW);
	assert_int_not_equal(keys->outcome.reason,
	    DNSSEC_REASON_NO_TRUST_ANCHOR);
	dnssec_keys_free(keys);
}

static void
test_no_dnskey(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, NULL, w->root_ta, NOW);
	struct dnssec_outcome out = soa_outcome(w->root_soa, keys, NOW);
	json_t *j;

	assert_outcome(&keys->outcome, DNSSEC_INDETERMINATE,
	    DNSSEC_REASON_NO_DNSKEY);
	assert_outcome(&out, DNSSEC_INDETERMINATE, DNSSEC_REASON_NO_DNSKEY);
	j = dnssec_outcome_json(&out);
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "no_dnskey");
	assert_true(json_is_null(json_object_get(j, "inception")));
	assert_true(json_is_null(json_object_get(j, "expiration")));
	assert_true(json_is_null(json_object_get(j, "expires_in_s")));
	json_decref(j);
	dnssec_keys_free(keys);
	/* The SOA's answer is no DNSKEY set either. */
	keys = root_keys(w, w->root_soa, w->root_ta, NOW);
	assert_outcome(&keys->outcome, DNSSEC_INDETERMINATE,
	    DNSSEC_REASON_NO_DNSKEY);
	dnssec_keys_free(keys);
	keys = root_keys(w, w->root_dnskey, w->root_ta, NOW);
	assert_int_not_equal(keys->outcome.reason, DNSSEC_REASON_NO_DNSKEY);
	dnssec_keys_free(keys);
}

/* A zone whose parent proved there is no DS; an empty trust list alone
 * proves nothing. */
static void
test_insecure(void **state)
{
	struct world *w = *state;
	ldns_rr_list *none = ldns_rr_list_new();
	struct dnssec_keys *keys = dnssec_keys_unsigned(w->tld, NOW);
	struct dnssec_outcome out = soa_outcome(w->tld_soa, keys, NOW);
	json_t *j;

	assert_outcome(&keys->outcome, DNSSEC_INSECURE, DNSSEC_REASON_NO_DS);
	assert_int_equal(ldns_rr_list_rr_count(keys->keys), 0);
	assert_outcome(&out, DNSSEC_INSECURE, DNSSEC_REASON_NO_DS);
	assert_false(dnssec_near_expiry(&out, DNSSEC_NEAR_EXPIRY_DEFAULT_S));
	j = dnssec_outcome_json(&out);
	assert_string_equal(json_string_value(json_object_get(j, "status")),
	    "insecure");
	assert_string_equal(json_string_value(json_object_get(j, "reason")),
	    "no_ds");
	json_decref(j);
	dnssec_keys_free(keys);
	keys = dnssec_keys_validate(w->tld, w->tld_dnskey, none, NOW);
	assert_outcome(&keys->outcome, DNSSEC_INDETERMINATE,
	    DNSSEC_REASON_NO_TRUST_ANCHOR);
	dnssec_keys_free(keys);
	keys = dnssec_keys_validate(w->tld, w->tld_dnskey, w->tld_ds, NOW);
	assert_int_not_equal(keys->outcome.status, DNSSEC_INSECURE);
	assert_int_not_equal(keys->outcome.reason, DNSSEC_REASON_NO_DS);
	dnssec_keys_free(keys);
	ldns_rr_list_free(none);
}

/* A key and signature of an algorithm ldns does not implement (253,
 * private) cannot be judged; beside a good signature it does no harm. */
static void
test_unsupported_algorithm(void **state)
{
	struct world *w = *state;
	ldns_rr *key = rr_new(". 86400 IN DNSKEY 256 3 253 "
	                      "AwEAAbBQ0kJrL0iEQ0u6Zv2mPf8MKb4Gp3aJwF0=");
	ldns_rr_list *dnskey = signed_set(&w->root_ksk, INCEPTION, EXPIRATION,
	    w->root_ksk.rr, w->root_zsk.rr, key, NULL);
	struct dnssec_keys *keys = root_keys(w, dnskey, w->root_ta, NOW);
	ldns_rr_list *soa = signed_text(NULL, 0, 0, ROOT_SOA);
	char text[512];
	struct dnssec_outcome out;

	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	assert_int_equal(ldns_rr_list_rr_count(keys->keys), 3);
	snprintf(text, sizeof(text),
	    ". 86400 IN RRSIG SOA 253 0 86400 20270107000000 "
	    "20261207000000 %u . AAECAwQFBgcICQoLDA0ODw==",
	    ldns_calc_keytag(key));
	assert_true(ldns_rr_list_push_rr(soa, rr_new(text)));
	out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_INDETERMINATE, DNSSEC_REASON_UNSUPPORTED);
	assert_true(out.has_signature);
	ldns_rr_list_deep_free(soa);
	soa = ldns_rr_list_clone(w->root_soa);
	assert_true(ldns_rr_list_push_rr(soa, rr_new(text)));
	out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	ldns_rr_list_deep_free(soa);
	ldns_rr_list_deep_free(dnskey);
	ldns_rr_free(key);
	dnssec_keys_free(keys);
}

/* --- Trust anchor files --- */

static void
assert_anchor_error(struct world *w, const char *name, const void *data,
    size_t len, const char *want)
{
	const char *path = write_file(w, name, data, len);
	char err[512], prefix[256];

	err[0] = '\0';
	assert_null(dnssec_anchor_read(path, err, sizeof(err)));
	snprintf(prefix, sizeof(prefix), "%s%s", path, want);
	if (strncmp(err, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\", wanted it to start \"%s\"", err,
		    prefix);
	unlink(path);
}

static void
assert_anchor_text_error(struct world *w, const char *name, const char *text,
    const char *want)
{
	assert_anchor_error(w, name, text, strlen(text), want);
}

/* root.key's form: DNSKEY lines with comments, and the chain from it. */
static void
test_anchor_dnskey_file(void **state)
{
	struct world *w = *state;
	char *key = rr_text(w->root_ksk.rr), text[4096];
	struct dnssec_anchor *anchor;
	struct dnssec_keys *keys;
	const char *path;
	char err[256];

	key[strcspn(key, "\n")] = '\0';
	snprintf(text, sizeof(text),
	    "; the test root's anchor\n\n$TTL 172800\n%s ; keytag %u\n", key,
	    ldns_calc_keytag(w->root_ksk.rr));
	path = write_text(w, "root.key", text);
	anchor = dnssec_anchor_read(path, err, sizeof(err));
	assert_non_null(anchor);
	assert_int_equal(ldns_dname_compare(anchor->zone, w->root), 0);
	assert_int_equal(ldns_rr_list_rr_count(anchor->rrs), 1);
	keys = root_keys(w, w->root_dnskey, anchor->rrs, NOW);
	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	dnssec_keys_free(keys);
	dnssec_anchor_free(anchor);
	unlink(path);
	free(key);
}

/* A DS-only file for test., relative names under $ORIGIN, a record
 * over two lines. */
static void
test_anchor_ds_file(void **state)
{
	struct world *w = *state;
	ldns_rr *ds = ldns_key_rr2ds(w->tld_ksk.rr, LDNS_SHA256);
	ldns_rr *ds1 = ldns_key_rr2ds(w->tld_ksk.rr, LDNS_SHA1);
	char *one = rr_text(ds), *two = rr_text(ds1), text[4096], err[256];
	struct dnssec_anchor *anchor;
	struct dnssec_keys *keys;
	const char *path;
	char *rdata = strstr(two, "DS");

	assert_non_null(rdata);
	rdata[strcspn(rdata, "\n")] = '\0';
	snprintf(text, sizeof(text), "%s$ORIGIN test.\n@ 3600 IN ( %s )\n", one,
	    rdata);
	path = write_text(w, "test.ds", text);
	anchor = dnssec_anchor_read(path, err, sizeof(err));
	if (anchor == NULL)
		fail_msg("%s", err);
	assert_int_equal(ldns_rr_list_rr_count(anchor->rrs), 2);
	assert_int_equal(ldns_dname_compare(anchor->zone, w->tld), 0);
	keys = dnssec_keys_validate(anchor->zone, w->tld_dnskey, anchor->rrs,
	    NOW);
	assert_outcome(&keys->outcome, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	dnssec_keys_free(keys);
	dnssec_anchor_free(anchor);
	unlink(path);
	free(one);
	free(two);
	ldns_rr_free(ds);
	ldns_rr_free(ds1);
}

static void
test_anchor_bad_files(void **state)
{
	struct world *w = *state;
	static const unsigned char garbage[] = { 0x00, 0xff, 0x1b, '(', 0x80,
		'\n', 0xfe, ';', 0x00, '"', 0x7f, 0x01, '\n', '.', 0x00, ' ',
		'I', 'N', ' ', 0xc3, 0x28 };
	char *key = rr_text(w->root_ksk.rr), *zsk = rr_text(w->tld_zsk.rr);
	char text[4096], err[256], *big;
	size_t i;

	key[strcspn(key, "\n")] = '\0';
	zsk[strcspn(zsk, "\n")] = '\0';
	assert_anchor_error(w, "empty", "", 0, ": no DS or DNSKEY record");
	assert_anchor_text_error(w, "comments", "; nothing\n\n",
	    ": no DS or DNSKEY record");
	assert_anchor_error(w, "garbage", garbage, sizeof(garbage),
	    ":1: Syntax error");
	snprintf(text, sizeof(text), "%s\n\n. IN DS 20326 8 2 XYZ\n", key);
	assert_anchor_text_error(w, "bad-ds", text, ":3: ");
	snprintf(text, sizeof(text), "%s\n. IN A 192.0.2.1\n", key);
	assert_anchor_text_error(w, "type", text,
	    ":2: only DS and DNSKEY records belong in a trust anchor");
	snprintf(text, sizeof(text), "%s\n%s\n", key, zsk);
	assert_anchor_text_error(w, "owners", text,
	    ":2: owner differs from the first record's");
	assert_anchor_text_error(w, "nozone", ". IN DNSKEY 0 3 8 AwEAAQ==\n",
	    ":1: DNSKEY is not a usable zone key");
	assert_anchor_text_error(w, "class",
	    ". CH DS 20326 8 2 "
	    "E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n",
	    ":1: not of class IN");
	snprintf(text, sizeof(text), "$INCLUDE /etc/passwd\n%s\n", key);
	assert_anchor_text_error(w, "include", text, ":1: $INCLUDE");
	assert_anchor_text_error(w, "unterminated", ". IN DNSKEY ( 257 3 8\n",
	    ":1: ");
	/* A line of 10 kB (ldns reads it whole: a DS digest too long for
	 * SHA-256), and a file over the bound. */
	big = malloc(DNSSEC_ANCHOR_SIZE_MAX + 1);
	assert_non_null(big);
	memset(big, 'A', LDNS_MAX_LINELEN + 100);
	memcpy(big, ". IN DS 1 8 2 ", 14);
	big[LDNS_MAX_LINELEN + 99] = '\n';
	assert_anchor_error(w, "long", big, LDNS_MAX_LINELEN + 100,
	    ":1: DS digest length does not fit its digest type");
	memset(big, '\n', DNSSEC_ANCHOR_SIZE_MAX + 1);
	assert_anchor_error(w, "big", big, DNSSEC_ANCHOR_SIZE_MAX + 1,
	    ": not a regular file of at most");
	free(big);
	/* Too many records: the bound holds. */
	text[0] = '\0';
	for (i = 0; i <= DNSSEC_ANCHOR_RRS_MAX; i++)
		strcat(text, ". IN DS 1 8 99 00\n");
	assert_anchor_text_error(w, "many", text, ":65: too many");
	/* No such file, and a directory. */
	err[0] = '\0';
	assert_null(
	    dnssec_anchor_read("/nonexistent/root.key", err, sizeof(err)));
	assert_string_equal(err,
	    "/nonexistent/root.key: No such file or directory");
	assert_null(dnssec_anchor_read(w->dir, err, sizeof(err)));
	assert_non_null(strstr(err, "not a regular file"));
	free(key);
	free(zsk);
}

/* 500 mutations of a good file (bytes replaced, cut short): each reads
 * as an anchor or fails with the path first, never crashes or leaks
 * (the ASan build runs this too). */
static void
test_anchor_mutations(void **state)
{
	struct world *w = *state;
	char *key = rr_text(w->root_ksk.rr), *ds = NULL, text[4096], err[512];
	ldns_rr *dsrr = ldns_key_rr2ds(w->root_ksk.rr, LDNS_SHA256);
	unsigned int seed = 15, round, k;
	size_t len, pos, good = 0;
	const char *path;

	ds = rr_text(dsrr);
	len = (size_t)snprintf(text, sizeof(text), "; anchor\n%s%s", key, ds);
	assert_true(len < sizeof(text));
	for (round = 0; round < 500; round++) {
		char copy[sizeof(text)];
		struct dnssec_anchor *anchor;

		memcpy(copy, text, len);
		for (k = 0; k < 1 + round % 4; k++) {
			pos = (size_t)rand_r(&seed) % len;
			copy[pos] = (char)(rand_r(&seed) & 0xff);
		}
		path = write_file(w, "mutant", copy,
		    round % 5 == 0 ? (size_t)rand_r(&seed) % len : len);
		err[0] = '\0';
		anchor = dnssec_anchor_read(path, err, sizeof(err));
		if (anchor != NULL) {
			good++;
			assert_true(ldns_rr_list_rr_count(anchor->rrs) >= 1);
		} else
			assert_int_equal(strncmp(err, path, strlen(path)), 0);
		dnssec_anchor_free(anchor);
		unlink(path);
	}
	/* Some mutations land in comments or keep the records valid. */
	assert_true(good > 0 && good < 500);
	ldns_rr_free(dsrr);
	free(key);
	free(ds);
}

/* This machine's dns-root-data: the root's KSKs, each matching the DS
 * that root.ds lists for it. */
static void
test_anchor_system_root(void **state)
{
	struct dnssec_anchor *anchor, *ds;
	char err[256];
	size_t i, j, matched = 0;

	(void)state;
	if (access("/usr/share/dns/root.key", R_OK) != 0)
		skip();
	anchor = dnssec_anchor_read("/usr/share/dns/root.key", err,
	    sizeof(err));
	if (anchor == NULL)
		fail_msg("%s", err);
	assert_int_equal(ldns_dname_label_count(anchor->zone), 0);
	assert_true(ldns_rr_list_rr_count(anchor->rrs) >= 1);
	for (i = 0; i < ldns_rr_list_rr_count(anchor->rrs); i++)
		assert_int_equal(ldns_rr_get_type(
		                     ldns_rr_list_rr(anchor->rrs, i)),
		    LDNS_RR_TYPE_DNSKEY);
	ds = dnssec_anchor_read("/usr/share/dns/root.ds", err, sizeof(err));
	if (ds != NULL) {
		for (i = 0; i < ldns_rr_list_rr_count(anchor->rrs); i++)
			for (j = 0; j < ldns_rr_list_rr_count(ds->rrs); j++)
				matched += ldns_rr_compare_ds(
				    ldns_rr_list_rr(anchor->rrs, i),
				    ldns_rr_list_rr(ds->rrs, j));
		assert_int_equal(matched, ldns_rr_list_rr_count(anchor->rrs));
	}
	dnssec_anchor_free(ds);
	dnssec_anchor_free(anchor);
}

/* --- Hostile replies --- */

/* 400 mutations of a signed SOA reply's bytes: what still parses is
 * validated without harm, and a reply whose signed data changed is
 * never secure. */
static void
test_reply_mutations(void **state)
{
	struct world *w = *state;
	struct dnssec_keys *keys = root_keys(w, w->root_dnskey, w->root_ta,
	    NOW);
	ldns_pkt *reply = reply_of(w->root_soa);
	uint8_t *wire = NULL;
	size_t len, parsed = 0;
	unsigned int seed = 15, round;

	assert_int_equal(ldns_pkt2wire(&wire, reply, &len), LDNS_STATUS_OK);
	for (round = 0; round < 400; round++) {
		uint8_t copy[LDNS_MAX_PACKETLEN];
		struct dnssec_outcome out;
		ldns_pkt *pkt = NULL;
		size_t pos;

		assert_true(len <= sizeof(copy));
		memcpy(copy, wire, len);
		/* Past the header, inside the records. */
		pos = 12 + (size_t)rand_r(&seed) % (len - 12);
		copy[pos] ^= (uint8_t)(1 + rand_r(&seed) % 255);
		if (ldns_wire2pkt(&pkt, copy, len) != LDNS_STATUS_OK)
			continue;
		parsed++;
		assert_int_equal(dnssec_validate_reply(pkt, LDNS_RR_TYPE_SOA,
		                     keys, NOW, &out),
		    0);
		assert_non_null(dnssec_status_name(out.status));
		if (out.status == DNSSEC_SECURE)
			assert_int_equal(
			    ldns_rr_compare(
			        ldns_rr_list_rr(ldns_pkt_answer(pkt), 0),
			        ldns_rr_list_rr(w->root_soa, 0)),
			    0);
		ldns_pkt_free(pkt);
	}
	assert_true(parsed > 0);
	free(wire);
	ldns_pkt_free(reply);
	dnssec_keys_free(keys);
}

/* --- Cost --- */

/* CW_DNSSEC_BENCH=N: N validations of each step, in µs each: the root's
 * DNSKEY set (RSASHA256 KSK, 1024 bits in the test world), the root's
 * SOA signed as today's root is (RSASHA256 ZSK, 2048 bits), an ECDSA
 * P-256 SOA and an Ed25519 SOA (test.'s).  On the 2-core machine of
 * 2026-12-08 (gcc -O2, OpenSSL 3.0, one core), 3 runs of 3000: DNSKEY
 * set 44-47 us; SOA RSASHA256-2048 56-62 us, ECDSA P-256 145-173 us,
 * Ed25519 267-388 us (`openssl speed` there: P-256 verify 81 us, Ed25519
 * 190 us: ldns adds 50-80 us of key and buffer set-up per signature). */
static double
bench_soa(const ldns_rr_list *soa, const struct dnssec_keys *keys, long n)
{
	struct dnssec_outcome out;
	cw_usec_t t0 = cw_mono_usec();
	long i;

	for (i = 0; i < n; i++)
		out = soa_outcome(soa, keys, NOW);
	assert_outcome(&out, DNSSEC_SECURE, DNSSEC_REASON_NONE);
	return (double)(cw_mono_usec() - t0) / (double)n;
}

static void
test_bench(void **state)
{
	struct world *w = *state;
	const char *env = getenv("CW_DNSSEC_BENCH");
	long n = env ? strtol(env, NULL, 10) : 0, i;
	struct dnssec_keys *keys = NULL, *rsa, *tld;
	ldns_rr_list *dnskey, *soa;
	struct tkey zsk;
	cw_usec_t t0;
	double dnskey_us;

	if (n <= 0)
		skip();
	if (n > 1000000)
		n = 1000000;
	t0 = cw_mono_usec();
	for (i = 0; i < n; i++) {
		dnssec_keys_free(keys);
		keys = root_keys(w, w->root_dnskey, w->root_ta, NOW);
	}
	dnskey_us = (double)(cw_mono_usec() - t0) / (double)n;
	tkey_new(&zsk, ".", LDNS_SIGN_RSASHA256, 2048, 256);
	dnskey = signed_set(&w->root_ksk, INCEPTION, EXPIRATION, w->root_ksk.rr,
	    zsk.rr, NULL);
	soa = signed_text(&zsk, INCEPTION, EXPIRATION, ROOT_SOA);
	rsa = root_keys(w, dnskey, w->root_ta, NOW);
	tld = dnssec_keys_validate(w->tld, w->tld_dnskey, w->tld_ds, NOW);
	printf("dnssec bench: %ld rounds, us per validation: DNSKEY set "
	       "(RSASHA256 1024) %.1f; SOA: RSASHA256 2048 %.1f, "
	       "ECDSAP256SHA256 %.1f, ED25519 %.1f\n",
	    n, dnskey_us, bench_soa(soa, rsa, n),
	    bench_soa(w->root_soa, keys, n), bench_soa(w->tld_soa, tld, n));
	dnssec_keys_free(tld);
	dnssec_keys_free(rsa);
	ldns_rr_list_deep_free(soa);
	ldns_rr_list_deep_free(dnskey);
	tkey_free(&zsk);
	dnssec_keys_free(keys);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_root_secure),
		cmocka_unit_test(test_reply_secure),
		cmocka_unit_test(test_root_ds_anchor),
		cmocka_unit_test(test_tld_secure),
		cmocka_unit_test(test_expired),
		cmocka_unit_test(test_cached_keys_period),
		cmocka_unit_test(test_not_yet_valid),
		cmocka_unit_test(test_bad_period),
		cmocka_unit_test(test_serial_time),
		cmocka_unit_test(test_near_expiry),
		cmocka_unit_test(test_unknown_key),
		cmocka_unit_test(test_signer_other_zone),
		cmocka_unit_test(test_ds_mismatch),
		cmocka_unit_test(test_revoked_key),
		cmocka_unit_test(test_no_rrsig),
		cmocka_unit_test(test_bad_signature),
		cmocka_unit_test(test_no_trust_anchor),
		cmocka_unit_test(test_no_dnskey),
		cmocka_unit_test(test_insecure),
		cmocka_unit_test(test_unsupported_algorithm),
		cmocka_unit_test(test_anchor_dnskey_file),
		cmocka_unit_test(test_anchor_ds_file),
		cmocka_unit_test(test_anchor_bad_files),
		cmocka_unit_test(test_anchor_mutations),
		cmocka_unit_test(test_anchor_system_root),
		cmocka_unit_test(test_reply_mutations),
		cmocka_unit_test(test_bench),
	};

	return cmocka_run_group_tests(tests, world_setup, world_teardown);
}
