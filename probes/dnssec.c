/*
 * dnssec.c -- DNSSEC validation: trust anchors, DNSKEY sets, RRsets
 * (dnssec.h).  ldns verifies every signature and computes every DS
 * digest; this file picks the records, orders the steps and names the
 * outcome.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dnssec.h"
#include "log.h"

static const char *const status_names[DNSSEC_STATUS_MAX] = {
	[DNSSEC_SECURE] = "secure",
	[DNSSEC_INSECURE] = "insecure",
	[DNSSEC_BOGUS] = "bogus",
	[DNSSEC_INDETERMINATE] = "indeterminate",
};

static const char *const reason_names[DNSSEC_REASON_MAX] = {
	[DNSSEC_REASON_NO_TRUST_ANCHOR] = "no_trust_anchor",
	[DNSSEC_REASON_NO_DNSKEY] = "no_dnskey",
	[DNSSEC_REASON_NO_DATA] = "no_data",
	[DNSSEC_REASON_UNSUPPORTED] = "unsupported_algorithm",
	[DNSSEC_REASON_NO_DS] = "no_ds",
	[DNSSEC_REASON_NO_RRSIG] = "no_rrsig",
	[DNSSEC_REASON_UNKNOWN_KEY] = "unknown_key",
	[DNSSEC_REASON_DS_MISMATCH] = "ds_mismatch",
	[DNSSEC_REASON_BAD_SIGNATURE] = "bad_signature",
	[DNSSEC_REASON_EXPIRED] = "expired",
	[DNSSEC_REASON_NOT_YET_VALID] = "not_yet_valid",
	[DNSSEC_REASON_BAD_PERIOD] = "bad_validity_period",
};

const char *
dnssec_status_name(enum dnssec_status status)
{
	if ((int)status < 0 || status >= DNSSEC_STATUS_MAX)
		return NULL;
	return status_names[status];
}

const char *
dnssec_reason_name(enum dnssec_reason reason)
{
	if ((int)reason < 0 || reason >= DNSSEC_REASON_MAX)
		return NULL;
	return reason_names[reason];
}

/* --- Outcomes --- */

static void
outcome_set(struct dnssec_outcome *out, enum dnssec_status status,
    enum dnssec_reason reason)
{
	out->status = status;
	out->reason = reason;
}

static void
outcome_init(struct dnssec_outcome *out, int64_t now)
{
	memset(out, 0, sizeof(*out));
	out->now = now;
	outcome_set(out, DNSSEC_INDETERMINATE, DNSSEC_REASON_NO_DATA);
}

int64_t
dnssec_expires_in(const struct dnssec_outcome *outcome)
{
	if (!outcome->has_signature)
		return 0;
	return outcome->expiration - outcome->now;
}

bool
dnssec_near_expiry(const struct dnssec_outcome *outcome, int64_t threshold_s)
{
	return outcome->status == DNSSEC_SECURE && outcome->has_signature &&
	    dnssec_expires_in(outcome) < threshold_s;
}

static json_t *
time_json(bool present, int64_t seconds)
{
	char buf[CW_TIME_STRLEN];

	if (!present)
		return json_null();
	return json_string(
	    cw_time_format(seconds * CW_USEC_PER_SEC, buf, sizeof(buf)));
}

json_t *
dnssec_outcome_json(const struct dnssec_outcome *outcome)
{
	const char *reason = dnssec_reason_name(outcome->reason);
	bool sig = outcome->has_signature;

	return json_pack("{s:s, s:o, s:o, s:o, s:o}", "status",
	    dnssec_status_name(outcome->status), "reason",
	    reason ? json_string(reason) : json_null(), "inception",
	    time_json(sig, outcome->inception), "expiration",
	    time_json(sig, outcome->expiration), "expires_in_s",
	    sig ? json_integer(dnssec_expires_in(outcome)) : json_null());
}

/* --- Records --- */

static bool
owned_by(const ldns_rr *rr, const ldns_rdf *zone)
{
	return ldns_dname_compare(ldns_rr_owner(rr), zone) == 0;
}

/* A DNSKEY that may sign: a zone key of protocol 3, not revoked. */
static bool
key_usable(const ldns_rr *rr)
{
	uint16_t flags;

	if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_DNSKEY ||
	    ldns_rr_rd_count(rr) != 4)
		return false;
	flags = ldns_rdf2native_int16(ldns_rr_dnskey_flags(rr));
	return (flags & LDNS_KEY_ZONE_KEY) && !(flags & LDNS_KEY_REVOKE_KEY) &&
	    ldns_rdf2native_int8(ldns_rr_dnskey_protocol(rr)) == 3;
}

static bool
sig_covers(const ldns_rr *rr, ldns_rr_type type)
{
	return ldns_rr_get_type(rr) == LDNS_RR_TYPE_RRSIG &&
	    ldns_rr_rd_count(rr) == 9 &&
	    ldns_rdf2rr_type(ldns_rr_rrsig_typecovered(rr)) == type;
}

/* The records of `type` at `owner` in `rrs` (shared, free the list only)
 * and clones of the RRSIGs covering them (deep: ldns canonicalises a
 * signature's owner in place while it verifies).  -1 when out of
 * memory. */
static int
rrset_collect(const ldns_rr_list *rrs, const ldns_rdf *owner, ldns_rr_type type,
    ldns_rr_list **rrset, ldns_rr_list **sigs)
{
	size_t i;

	*rrset = ldns_rr_list_new();
	*sigs = ldns_rr_list_new();
	if (*rrset == NULL || *sigs == NULL)
		return -1;
	for (i = 0; rrs != NULL && i < ldns_rr_list_rr_count(rrs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(rrs, i);
		ldns_rr *copy;

		if (!owned_by(rr, owner))
			continue;
		if (ldns_rr_get_type(rr) == type) {
			if (!ldns_rr_list_push_rr(*rrset, rr))
				return -1;
		} else if (sig_covers(rr, type)) {
			copy = ldns_rr_clone(rr);
			if (copy == NULL ||
			    !ldns_rr_list_push_rr(*sigs, copy)) {
				ldns_rr_free(copy);
				return -1;
			}
		}
	}
	return 0;
}

static void
rrset_release(ldns_rr_list *rrset, ldns_rr_list *sigs)
{
	ldns_rr_list_free(rrset);
	ldns_rr_list_deep_free(sigs);
}

/* --- Signatures --- */

/* An RRSIG time field, a serial number (RFC 4034 3.1.5), as the
 * instant nearest to `now`. */
static int64_t
sig_time(const ldns_rdf *field, int64_t now)
{
	uint32_t t = ldns_rdf2native_int32(field);

	return now + (int32_t)(t - (uint32_t)now);
}

/* How close a failing signature came: the higher, the closer. */
static int
reason_rank(enum dnssec_reason reason)
{
	switch (reason) {
	case DNSSEC_REASON_EXPIRED:
	case DNSSEC_REASON_NOT_YET_VALID:
	case DNSSEC_REASON_BAD_PERIOD:
		return 4;
	case DNSSEC_REASON_BAD_SIGNATURE:
		return 3;
	case DNSSEC_REASON_UNSUPPORTED:
		return 2;
	default:
		return 1;
	}
}

static enum dnssec_reason
reason_of_ldns(ldns_status status)
{
	switch (status) {
	case LDNS_STATUS_OK:
		return DNSSEC_REASON_NONE;
	case LDNS_STATUS_CRYPTO_NO_MATCHING_KEYTAG_DNSKEY:
		return DNSSEC_REASON_UNKNOWN_KEY;
	case LDNS_STATUS_CRYPTO_SIG_EXPIRED:
		return DNSSEC_REASON_EXPIRED;
	case LDNS_STATUS_CRYPTO_SIG_NOT_INCEPTED:
		return DNSSEC_REASON_NOT_YET_VALID;
	case LDNS_STATUS_CRYPTO_EXPIRATION_BEFORE_INCEPTION:
		return DNSSEC_REASON_BAD_PERIOD;
	case LDNS_STATUS_CRYPTO_UNKNOWN_ALGO:
	case LDNS_STATUS_CRYPTO_ALGO_NOT_IMPL:
		return DNSSEC_REASON_UNSUPPORTED;
	default:
		return DNSSEC_REASON_BAD_SIGNATURE;
	}
}

/* One signature over `rrset` with `keys` of `zone`.  A signature by
 * another zone's key is of a key we do not know; one whose labels field
 * is not the owner's would be a wildcard's, which we do not expand. */
static enum dnssec_reason
sig_check(const ldns_rr_list *rrset, const ldns_rr *sig,
    const ldns_rr_list *keys, const ldns_rdf *zone, int64_t now)
{
	if (ldns_dname_compare(ldns_rr_rrsig_signame(sig), zone) != 0)
		return DNSSEC_REASON_UNKNOWN_KEY;
	if (ldns_rdf2native_int8(ldns_rr_rrsig_labels(sig)) !=
	    ldns_dname_label_count(ldns_rr_owner(sig)))
		return DNSSEC_REASON_BAD_SIGNATURE;
	return reason_of_ldns(ldns_verify_rrsig_keylist_time(rrset, sig, keys,
	    (time_t)now, NULL));
}

/* Judge `rrset` by its `sigs` under `keys` into *out: secure at the
 * first signature that holds, else bogus with the closest failure. */
static void
sigs_judge(const ldns_rr_list *rrset, const ldns_rr_list *sigs,
    const ldns_rr_list *keys, const ldns_rdf *zone, struct dnssec_outcome *out)
{
	enum dnssec_reason best = DNSSEC_REASON_NO_RRSIG;
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(sigs); i++) {
		const ldns_rr *sig = ldns_rr_list_rr(sigs, i);
		enum dnssec_reason r = sig_check(rrset, sig, keys, zone,
		    out->now);

		if (r != DNSSEC_REASON_NONE && best != DNSSEC_REASON_NO_RRSIG &&
		    reason_rank(r) <= reason_rank(best))
			continue;
		best = r;
		out->has_signature = true;
		out->inception = sig_time(ldns_rr_rrsig_inception(sig),
		    out->now);
		out->expiration = sig_time(ldns_rr_rrsig_expiration(sig),
		    out->now);
		if (r == DNSSEC_REASON_NONE)
			break;
	}
	if (best == DNSSEC_REASON_NONE)
		outcome_set(out, DNSSEC_SECURE, best);
	else if (best == DNSSEC_REASON_UNSUPPORTED)
		outcome_set(out, DNSSEC_INDETERMINATE, best);
	else
		outcome_set(out, DNSSEC_BOGUS, best);
}

/* --- The DNSKEY step --- */

/* The usable keys of `dnskeys` that a record of `trust` at the zone
 * vouches for: a DS of the key's digest, or the key itself. */
static ldns_rr_list *
keys_entry(const ldns_rr_list *dnskeys, const ldns_rr_list *trust,
    const ldns_rdf *zone)
{
	ldns_rr_list *entry = ldns_rr_list_new();
	size_t i, j;

	for (i = 0; entry != NULL && i < ldns_rr_list_rr_count(dnskeys); i++) {
		ldns_rr *key = ldns_rr_list_rr(dnskeys, i);

		if (!key_usable(key))
			continue;
		for (j = 0; j < ldns_rr_list_rr_count(trust); j++) {
			const ldns_rr *t = ldns_rr_list_rr(trust, j);

			if (!owned_by(t, zone) || !ldns_rr_compare_ds(t, key))
				continue;
			if (!ldns_rr_list_push_rr(entry, key)) {
				ldns_rr_list_free(entry);
				return NULL;
			}
			break;
		}
	}
	return entry;
}

/* Keep clones of the usable keys of a secure DNSKEY set. */
static int
keys_keep(struct dnssec_keys *k, const ldns_rr_list *dnskeys)
{
	size_t i;

	for (i = 0; i < ldns_rr_list_rr_count(dnskeys); i++) {
		ldns_rr *key = ldns_rr_list_rr(dnskeys, i);
		ldns_rr *copy;

		if (!key_usable(key))
			continue;
		copy = ldns_rr_clone(key);
		if (copy == NULL || !ldns_rr_list_push_rr(k->keys, copy)) {
			ldns_rr_free(copy);
			return -1;
		}
	}
	return 0;
}

static int
keys_check(struct dnssec_keys *k, const ldns_rr_list *rrs,
    const ldns_rr_list *trust)
{
	ldns_rr_list *dnskeys, *sigs, *entry = NULL;
	int rc = -1;

	if (rrset_collect(rrs, k->zone, LDNS_RR_TYPE_DNSKEY, &dnskeys, &sigs) <
	    0)
		goto out;
	if (ldns_rr_list_rr_count(dnskeys) == 0) {
		outcome_set(&k->outcome, DNSSEC_INDETERMINATE,
		    DNSSEC_REASON_NO_DNSKEY);
		rc = 0;
		goto out;
	}
	if ((entry = keys_entry(dnskeys, trust, k->zone)) == NULL)
		goto out;
	if (ldns_rr_list_rr_count(entry) == 0) {
		outcome_set(&k->outcome, DNSSEC_BOGUS,
		    DNSSEC_REASON_DS_MISMATCH);
		rc = 0;
		goto out;
	}
	sigs_judge(dnskeys, sigs, entry, k->zone, &k->outcome);
	rc = k->outcome.status == DNSSEC_SECURE ? keys_keep(k, dnskeys) : 0;
out:
	ldns_rr_list_free(entry);
	rrset_release(dnskeys, sigs);
	return rc;
}

static struct dnssec_keys *
keys_new(const ldns_rdf *zone, cw_usec_t now)
{
	struct dnssec_keys *k = calloc(1, sizeof(*k));

	if (k == NULL || (k->zone = ldns_rdf_clone(zone)) == NULL ||
	    (k->keys = ldns_rr_list_new()) == NULL) {
		log_warnx("dnssec: out of memory");
		dnssec_keys_free(k);
		return NULL;
	}
	outcome_init(&k->outcome, now / CW_USEC_PER_SEC);
	return k;
}

struct dnssec_keys *
dnssec_keys_validate(const ldns_rdf *zone, const ldns_rr_list *rrs,
    const ldns_rr_list *trust, cw_usec_t now)
{
	struct dnssec_keys *k = keys_new(zone, now);

	if (k == NULL)
		return NULL;
	if (trust == NULL || ldns_rr_list_rr_count(trust) == 0)
		outcome_set(&k->outcome, DNSSEC_INDETERMINATE,
		    DNSSEC_REASON_NO_TRUST_ANCHOR);
	else if (keys_check(k, rrs, trust) < 0) {
		log_warnx("%s: out of memory", __func__);
		dnssec_keys_free(k);
		return NULL;
	}
	return k;
}

struct dnssec_keys *
dnssec_keys_unsigned(const ldns_rdf *zone, cw_usec_t now)
{
	struct dnssec_keys *k = keys_new(zone, now);

	if (k != NULL)
		outcome_set(&k->outcome, DNSSEC_INSECURE, DNSSEC_REASON_NO_DS);
	return k;
}

void
dnssec_keys_free(struct dnssec_keys *keys)
{
	if (keys == NULL)
		return;
	ldns_rdf_deep_free(keys->zone);
	ldns_rr_list_deep_free(keys->keys);
	free(keys);
}

/* --- The RRset step --- */

/* Whether cached keys still hold at `now`: the signature that made
 * them trusted is in its period. */
static bool
keys_in_period(const struct dnssec_keys *keys, cw_usec_t now)
{
	int64_t s = now / CW_USEC_PER_SEC;

	return keys->outcome.inception <= s && s <= keys->outcome.expiration;
}

/* A secure keys outcome taken to a time outside its signature's period
 * is bogus for that step. */
static void
keys_judge_period(struct dnssec_outcome *out)
{
	if (out->status != DNSSEC_SECURE)
		return;
	outcome_set(out, DNSSEC_BOGUS,
	    out->now > out->expiration ? DNSSEC_REASON_EXPIRED :
	                                 DNSSEC_REASON_NOT_YET_VALID);
}

/* Whether keys of `zone` can sign an RRset at `owner`. */
static bool
owner_in_zone(const ldns_rdf *owner, const ldns_rdf *zone)
{
	return ldns_dname_compare(owner, zone) == 0 ||
	    ldns_dname_is_subdomain(owner, zone);
}

int
dnssec_validate_rrset(const ldns_rr_list *rrs, const ldns_rdf *owner,
    ldns_rr_type type, const struct dnssec_keys *keys, cw_usec_t now,
    struct dnssec_outcome *out)
{
	ldns_rr_list *rrset, *sigs;
	int rc = 0;

	outcome_init(out, now / CW_USEC_PER_SEC);
	if (keys->outcome.status != DNSSEC_SECURE ||
	    !keys_in_period(keys, now)) {
		*out = keys->outcome;
		out->now = now / CW_USEC_PER_SEC;
		keys_judge_period(out);
		return 0;
	}
	if (!owner_in_zone(owner, keys->zone))
		return 0;
	if (rrset_collect(rrs, owner, type, &rrset, &sigs) < 0) {
		log_warnx("%s: out of memory", __func__);
		rc = -1;
	} else if (ldns_rr_list_rr_count(rrset) > 0)
		sigs_judge(rrset, sigs, keys->keys, keys->zone, out);
	rrset_release(rrset, sigs);
	return rc;
}

int
dnssec_validate_reply(const ldns_pkt *reply, ldns_rr_type type,
    const struct dnssec_keys *keys, cw_usec_t now, struct dnssec_outcome *out)
{
	return dnssec_validate_rrset(ldns_pkt_answer(reply), keys->zone, type,
	    keys, now, out);
}

/* --- Trust anchors --- */

static struct dnssec_anchor *
anchor_new(void)
{
	struct dnssec_anchor *anchor = calloc(1, sizeof(*anchor));

	if (anchor == NULL || (anchor->rrs = ldns_rr_list_new()) == NULL) {
		free(anchor);
		return NULL;
	}
	return anchor;
}

void
dnssec_anchor_free(struct dnssec_anchor *anchor)
{
	if (anchor == NULL)
		return;
	ldns_rdf_deep_free(anchor->zone);
	ldns_rr_list_deep_free(anchor->rrs);
	free(anchor);
}

/* The digest length of a DS digest type (RFC 4509, 6605), 0 when the
 * type is not one we know. */
static size_t
ds_digest_len(uint8_t type)
{
	switch (type) {
	case LDNS_SHA1:
		return 20;
	case LDNS_SHA256:
		return 32;
	case LDNS_SHA384:
		return 48;
	default:
		return 0;
	}
}

static bool
ds_digest_fits(const ldns_rr *rr)
{
	size_t want = ds_digest_len(ldns_rdf2native_int8(ldns_rr_rdf(rr, 2)));

	return want == 0 || ldns_rdf_size(ldns_rr_rdf(rr, 3)) == want;
}

/* Why `rr` does not belong in `anchor`, or NULL when it does. */
static const char *
anchor_refuse(const struct dnssec_anchor *anchor, const ldns_rr *rr)
{
	ldns_rr_type type = ldns_rr_get_type(rr);

	if (type != LDNS_RR_TYPE_DS && type != LDNS_RR_TYPE_DNSKEY)
		return "only DS and DNSKEY records belong in a trust anchor";
	if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN)
		return "not of class IN";
	if (ldns_rr_rd_count(rr) != 4)
		return "incomplete record";
	if (type == LDNS_RR_TYPE_DNSKEY && !key_usable(rr))
		return "DNSKEY is not a usable zone key (flags, protocol)";
	if (type == LDNS_RR_TYPE_DS && !ds_digest_fits(rr))
		return "DS digest length does not fit its digest type";
	if (anchor->zone != NULL && !owned_by(rr, anchor->zone))
		return "owner differs from the first record's";
	if (ldns_rr_list_rr_count(anchor->rrs) >= DNSSEC_ANCHOR_RRS_MAX)
		return "too many records";
	return NULL;
}

/* Take `rr` into the anchor; -1 with the reason in err. */
static int
anchor_add(struct dnssec_anchor *anchor, ldns_rr *rr, const char *path,
    int line, char *err, size_t errlen)
{
	const char *why = anchor_refuse(anchor, rr);

	if (why == NULL && anchor->zone == NULL &&
	    (anchor->zone = ldns_rdf_clone(ldns_rr_owner(rr))) == NULL)
		why = "out of memory";
	if (why == NULL && !ldns_rr_list_push_rr(anchor->rrs, rr))
		why = "out of memory";
	if (why == NULL)
		return 0;
	log_say(err, errlen, "%s:%d: %s", path, line, why);
	ldns_rr_free(rr);
	return -1;
}

static int
anchor_parse(struct dnssec_anchor *anchor, FILE *fp, const char *path,
    char *err, size_t errlen)
{
	uint32_t ttl = 3600;
	ldns_rdf *origin = ldns_dname_new_frm_str("."), *prev = NULL;
	int line = 1, rounds, rc = -1;

	/* Each round reads at least a byte, so the file's size bounds it.
	 * ldns counts a line once it has read past its end: a record's
	 * problems are reported at the line where it starts. */
	for (rounds = 0; rounds <= DNSSEC_ANCHOR_SIZE_MAX && !feof(fp);
	     rounds++) {
		ldns_rr *rr = NULL;
		int start = line;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &origin,
		    &prev, &line);

		if (st == LDNS_STATUS_SYNTAX_EMPTY ||
		    st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN)
			continue;
		if (st != LDNS_STATUS_OK) {
			ldns_rr_free(rr);
			log_say(err, errlen, "%s:%d: %s", path, start,
			    ldns_get_errorstr_by_id(st));
			goto out;
		}
		if (anchor_add(anchor, rr, path, start, err, errlen) < 0)
			goto out;
	}
	if (ldns_rr_list_rr_count(anchor->rrs) == 0)
		log_say(err, errlen, "%s: no DS or DNSKEY record", path);
	else
		rc = 0;
out:
	ldns_rdf_deep_free(origin);
	ldns_rdf_deep_free(prev);
	return rc;
}

struct dnssec_anchor *
dnssec_anchor_read(const char *path, char *err, size_t errlen)
{
	struct dnssec_anchor *anchor = NULL;
	struct stat st;
	FILE *fp = fopen(path, "r");

	if (fp == NULL || fstat(fileno(fp), &st) < 0) {
		log_say(err, errlen, "%s: %s", path, strerror(errno));
		goto fail;
	}
	if (!S_ISREG(st.st_mode) || st.st_size > DNSSEC_ANCHOR_SIZE_MAX) {
		log_say(err, errlen,
		    "%s: not a regular file of at most %d bytes", path,
		    DNSSEC_ANCHOR_SIZE_MAX);
		goto fail;
	}
	if ((anchor = anchor_new()) == NULL) {
		log_say(err, errlen, "%s: out of memory", path);
		goto fail;
	}
	if (anchor_parse(anchor, fp, path, err, errlen) < 0)
		goto fail;
	fclose(fp);
	return anchor;
fail:
	if (fp != NULL)
		fclose(fp);
	dnssec_anchor_free(anchor);
	return NULL;
}
