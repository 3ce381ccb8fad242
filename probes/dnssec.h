/*
 * dnssec.h -- DNSSEC validation of a zone's SOA (or any RRset at its
 * apex) along the chain trust anchor -> DNSKEY set -> RRset, with
 * ldns's verification functions; no network and no crypto of our own.
 *
 * The chain is built in steps the caller feeds with what it fetched:
 *   1. dnssec_anchor_read(): the trust material of a zone, DS and/or
 *      DNSKEY records in zone-file form (Debian's dns-root-data ships
 *      /usr/share/dns/root.key), or a parent's DS RRset that
 *      dnssec_validate_rrset() found secure.
 *   2. dnssec_keys_validate(): a zone's DNSKEY RRset with its RRSIGs
 *      against that trust material gives the keys now trusted, with the
 *      outcome of the step (struct dnssec_keys); dnssec_keys_unsigned()
 *      when the parent proved there is no DS.  The keys are worth
 *      caching until the DNSKEY set's TTL runs out; used at a time
 *      outside the period of the signature that made them trusted,
 *      they give bogus (expired or not_yet_valid) outcomes.
 *   3. dnssec_validate_rrset() / dnssec_validate_reply(): an RRset with
 *      its RRSIGs against those keys at a given time.
 * A step after a failed one carries that step's outcome on, so the last
 * outcome tells the whole chain's.
 *
 * Time is always a parameter (real UTC microseconds, cwtime.h), never
 * the clock, so callers and tests decide it.  Signature times are RFC
 * 4034 serial numbers: each is read as the instant nearest to `now`.
 *
 * No wildcard expansion: an RRSIG counts only when its owner is the
 * RRset's, its signer is the zone whose keys are used, its labels field
 * is the owner's label count and it covers the RRset's type.  Keys
 * count only when they are zone keys (flag 256) of protocol 3 that are
 * not revoked (RFC 5011).
 */
#ifndef CW_DNSSEC_H
#define CW_DNSSEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>
#include <ldns/ldns.h>

#include "cwtime.h"

/*
 * The statuses, as the result's `dnssec.status` names them:
 *   secure         an RRSIG made by a trusted key verifies over the
 *                  RRset and `now` lies within its validity period, and
 *                  every step before it was secure.
 *   insecure       the zone is proven unsigned: the parent proved that
 *                  there is no DS for it (reason no_ds), a proof the
 *                  caller checks (dnssec_keys_unsigned()).
 *   bogus          the material needed is all there and fails: no
 *                  signature, a signature that does not verify or is out
 *                  of its period, keys that do not match the trust
 *                  material.
 *   indeterminate  the material needed could not be had (no trust
 *                  anchor, no DNSKEY set, no RRset to check) or cannot be
 *                  judged here (an algorithm ldns does not implement).
 */
enum dnssec_status {
	DNSSEC_SECURE = 0,
	DNSSEC_INSECURE,
	DNSSEC_BOGUS,
	DNSSEC_INDETERMINATE,
	DNSSEC_STATUS_MAX
};

/*
 * The reasons, one fixed list (doc/results.md); a secure outcome has
 * none.  Names are stable: add new ones at the end.
 */
enum dnssec_reason {
	DNSSEC_REASON_NONE = 0,
	DNSSEC_REASON_NO_TRUST_ANCHOR, /* no_trust_anchor: indeterminate */
	DNSSEC_REASON_NO_DNSKEY,       /* no_dnskey: indeterminate */
	DNSSEC_REASON_NO_DATA,         /* no_data: indeterminate */
	DNSSEC_REASON_UNSUPPORTED,     /* unsupported_algorithm: indet. */
	DNSSEC_REASON_NO_DS,           /* no_ds: insecure */
	DNSSEC_REASON_NO_RRSIG,        /* no_rrsig: bogus */
	DNSSEC_REASON_UNKNOWN_KEY,     /* unknown_key: bogus */
	DNSSEC_REASON_DS_MISMATCH,     /* ds_mismatch: bogus */
	DNSSEC_REASON_BAD_SIGNATURE,   /* bad_signature: bogus */
	DNSSEC_REASON_EXPIRED,         /* expired: bogus */
	DNSSEC_REASON_NOT_YET_VALID,   /* not_yet_valid: bogus */
	DNSSEC_REASON_BAD_PERIOD,      /* bad_validity_period: bogus */
	DNSSEC_REASON_MAX
};

/* dnssec_status_name / dnssec_reason_name: the stable names; NULL for
 * DNSSEC_REASON_NONE and for values out of range. */
const char *dnssec_status_name(enum dnssec_status status);
const char *dnssec_reason_name(enum dnssec_reason reason);

/* The outcome of one validation step.  The signature times are those of
 * the RRSIG that validated or, when none did, of the failing one that
 * came closest (a good signature out of its period before a bad one,
 * a bad one before one of an unknown key); has_signature is false when
 * no RRSIG was examined. */
struct dnssec_outcome {
	enum dnssec_status status;
	enum dnssec_reason reason;
	bool has_signature;
	int64_t inception;  /* seconds since the epoch, UTC */
	int64_t expiration; /* seconds since the epoch, UTC */
	int64_t now;        /* the time validated at, seconds */
};

/* Expires within a day: the signature_near_expiry default. */
#define DNSSEC_NEAR_EXPIRY_DEFAULT_S INT64_C(86400)

/* dnssec_expires_in: seconds from the outcome's `now` to its
 * signature's expiration (negative once expired); 0 without one. */
int64_t dnssec_expires_in(const struct dnssec_outcome *outcome);

/* dnssec_near_expiry: true when the outcome is secure and its signature
 * expires in less than `threshold_s` seconds (still valid, so not yet
 * bogus): the signature_near_expiry sign of a stale instance. */
bool dnssec_near_expiry(const struct dnssec_outcome *outcome,
    int64_t threshold_s);

/* dnssec_outcome_json: the result's `dnssec` object: {"status",
 * "reason" (null when secure), "inception", "expiration" (RFC 3339 UTC,
 * cw_time_format), "expires_in_s"}; the three times are null without a
 * signature.  Returns a new reference, NULL when out of memory. */
json_t *dnssec_outcome_json(const struct dnssec_outcome *outcome);

/* The trust material of one zone: DS and/or DNSKEY records, all owned
 * by `zone`.  Owns both; free with dnssec_anchor_free(). */
struct dnssec_anchor {
	ldns_rdf *zone;
	ldns_rr_list *rrs;
};

/* Bounds on a trust anchor file: records and bytes. */
#define DNSSEC_ANCHOR_RRS_MAX  64
#define DNSSEC_ANCHOR_SIZE_MAX (64 * 1024)

/* dnssec_anchor_read: read `path`, zone-file form (comments, $ORIGIN and
 * $TTL allowed; $INCLUDE not), holding DS and/or DNSKEY records of one
 * zone, class IN; DNSKEYs must be zone keys.  Returns the anchor, or
 * NULL with "PATH:LINE: problem" (or "PATH: problem") in err for a
 * file that cannot be read, is empty, too large, malformed, or holds
 * anything else. */
struct dnssec_anchor *dnssec_anchor_read(const char *path, char *err,
    size_t errlen);

/* dnssec_anchor_free: free the anchor and its records; NULL is fine. */
void dnssec_anchor_free(struct dnssec_anchor *anchor);

/* The keys of a zone after the DNSKEY step.  `keys` (owned, deep) holds
 * the zone's usable DNSKEYs when outcome.status is secure and is empty
 * otherwise; `outcome` is the step's.  Free with dnssec_keys_free(). */
struct dnssec_keys {
	ldns_rdf *zone;
	ldns_rr_list *keys;
	struct dnssec_outcome outcome;
};

/* dnssec_keys_validate: validate `zone`'s DNSKEY RRset, taken with its
 * RRSIGs from `rrs` (e.g. a reply's answer section; other records are
 * ignored), against `trust`: DS and/or DNSKEY records of the zone (an
 * anchor's rrs, or the parent's DS RRset after it validated secure;
 * other records in it are ignored).  NULL or empty trust:
 * indeterminate, no_trust_anchor.  The RRset must be signed by a key of
 * the set that a DS digest or an anchor DNSKEY matches (ds_mismatch
 * when none does).  Returns the keys with the outcome, NULL only when
 * out of memory (logged).  Caller frees. */
struct dnssec_keys *dnssec_keys_validate(const ldns_rdf *zone,
    const ldns_rr_list *rrs, const ldns_rr_list *trust, cw_usec_t now);

/* dnssec_keys_unsigned: the keys of a zone whose parent proved, with a
 * denial the caller validated, that there is no DS: no keys, insecure,
 * no_ds.  An empty DS answer alone proves nothing (it may be forged or
 * stripped); without the proof use dnssec_keys_validate() with no
 * trust.  NULL only when out of memory (logged).  Caller frees. */
struct dnssec_keys *dnssec_keys_unsigned(const ldns_rdf *zone, cw_usec_t now);

/* dnssec_keys_free: free the keys; NULL is fine. */
void dnssec_keys_free(struct dnssec_keys *keys);

/* dnssec_validate_rrset: validate the RRset of `type` at `owner`,
 * taken with its RRSIGs from `rrs` (other records are ignored), against
 * `keys` at `now`, into *out.  `owner` is keys->zone for an apex RRset
 * (SOA, NS), a child's name for the child's DS RRset in the parent
 * (which then serves as the child's trust for dnssec_keys_validate());
 * an owner outside keys->zone has nothing these keys can sign: no_data.
 * When the keys' own outcome is not secure, *out is that outcome (the
 * chain is as strong as its weakest step); so it is, made bogus
 * (expired, not_yet_valid), when `now` is outside the period of the
 * DNSKEY set's signature.  Returns 0, or -1 when out
 * of memory (logged; *out is then indeterminate). */
int dnssec_validate_rrset(const ldns_rr_list *rrs, const ldns_rdf *owner,
    ldns_rr_type type, const struct dnssec_keys *keys, cw_usec_t now,
    struct dnssec_outcome *out);

/* dnssec_validate_reply: dnssec_validate_rrset() of the `type` RRset
 * (LDNS_RR_TYPE_SOA for the measurements) at the keys' zone in
 * `reply`'s answer section. */
int dnssec_validate_reply(const ldns_pkt *reply, ldns_rr_type type,
    const struct dnssec_keys *keys, cw_usec_t now, struct dnssec_outcome *out);

#endif
