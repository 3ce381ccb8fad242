/*
 * tld.h -- learning the name servers of top-level domains.
 *
 * A measurement may name TLDs ("ua", "sd") instead of servers.  For each
 * TLD the discovery asks a root server for "T. NS" (RD=0), takes the NS
 * names of the referral and their glue addresses, looks up the addresses
 * of NS names that came without glue, keeps the set on disk under
 * STATE_DIR/tld/T.json and refreshes it on a long interval.  The agent
 * then measures every address of the set like a root server.
 *
 * Addresses of NS names without glue ("fallback") are asked of:
 *  - the TLD's own servers that do have glue (RD=0), when the NS name is
 *    inside the TLD (in bailiwick) and at least one glued address exists;
 *  - otherwise the configured resolver (RD=1).
 * One query per name and type, a few tries over different servers; no
 * iteration beyond that.  The set records which addresses came from
 * glue and which from the fallback.
 *
 * Everything from the network and from the cache file is hostile input:
 * owners other than T are ignored, sizes are capped, addresses must
 * parse, names must be host names.
 */
#ifndef CW_TLD_H
#define CW_TLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <ldns/ldns.h>

#include "cwtime.h"
#include "failure.h"
#include "target.h"

#define TLD_NAME_MAX    64 /* a label: 1..63 characters and NUL */
#define TLD_NS_MAX      32 /* NS names kept per TLD */
#define TLD_NS_ADDR_MAX 8  /* addresses kept per NS name */
#define TLD_SERVERS_MAX 64 /* addresses kept per TLD */

#define TLD_REFRESH_DEFAULT (86400 * CW_USEC_PER_SEC) /* one day */
#define TLD_RETRY_MIN       (300 * CW_USEC_PER_SEC)   /* first retry: 5 min */

/* One NS name of a TLD and how many addresses the set holds for it. */
struct tld_ns {
	char name[TARGET_NAME_MAX]; /* lower case, no final dot */
	unsigned naddr;             /* 0: no glue and no fallback answer */
};

/*
 * tld_set: what is known about one TLD's servers.  Plain data, copied by
 * assignment; NS names and servers are kept sorted so two sets compare
 * with tld_set_equal().
 */
struct tld_set {
	char tld[TLD_NAME_MAX]; /* "ua" */
	size_t nns;
	struct tld_ns ns[TLD_NS_MAX];
	size_t n;                               /* servers in use */
	struct target servers[TLD_SERVERS_MAX]; /* name = NS name */
	bool glue[TLD_SERVERS_MAX];             /* servers[i] came from glue */
	cw_usec_t learned;           /* UTC time of the root's referral */
	char root[INET6_ADDRSTRLEN]; /* root server address asked */
};

/* tld_name_normalize: validate a TLD name given by a user or a file
 * ("UA", "ua.", "xn--p1ai") and store it in lower case without the final
 * dot in out (TLD_NAME_MAX bytes).  A TLD is one label of letters, digits
 * and hyphens, 1..63 characters, not starting or ending with a hyphen;
 * "--" in the third and fourth places only in "xn--" A-labels.  Returns
 * 0, or -1 with the reason in err. */
int tld_name_normalize(const char *name, char *out, char *err, size_t errlen);

/* tld_set_init: an empty set for `tld` (already normalised). */
void tld_set_init(struct tld_set *set, const char *tld);

/* tld_set_add_server: add address `addr` of NS name `ns` (which must be
 * one of set->ns) with `port`, from glue or not.  Duplicates of an
 * address already in the set count for the NS name but are not added
 * twice.  Returns 1 added, 0 duplicate or cap reached, -1 bad address. */
int tld_set_add_server(struct tld_set *set, const char *ns, const char *addr,
    uint16_t port, bool glue);

/* tld_set_sort: order NS names and servers canonically (by name, then
 * address); done by every function below that builds a set. */
void tld_set_sort(struct tld_set *set);

/* tld_set_equal: same NS names and same (name, address, glue) servers;
 * the time and root asked do not count. */
bool tld_set_equal(const struct tld_set *a, const struct tld_set *b);

/* tld_set_count_glue: how many servers came from glue. */
size_t tld_set_count_glue(const struct tld_set *set);

/* tld_set_to_json: the set's NS names and servers as
 * {"ns":[...],"servers":[{"name","addr","glue"}...]} members added to
 * `obj`, plus "unresolved": NS names without any address. */
void tld_set_to_json(const struct tld_set *set, json_t *obj);

/*
 * tld_servers_record: the "tld_servers" record of `set` at real time
 * `now` (doc/results.md): the TLD, its NS names and server addresses
 * (tld_set_to_json), where the set came from ("discovery", or "cache"
 * when `cached`: loaded from the cache file), the root server asked
 * (its address; `root_name` when not NULL or empty), when the root was
 * asked and how long ago.  Caller owns it; NULL when out of memory.
 */
json_t *tld_servers_record(const struct tld_set *set, bool cached,
    const char *root_name, cw_usec_t now);

/*
 * tld_referral_parse: read a root server's answer to "T. NS" into `out`
 * (initialised here for `tld`).  NS records come from the answer section
 * when the server is authoritative for T and has them there, else from
 * the authority section; only records whose owner is T count.  Glue A and
 * AAAA records from the additional section are matched to the NS names;
 * everything else is ignored.  At most TLD_NS_MAX names and
 * TLD_SERVERS_MAX addresses are kept.  NS names without glue are left
 * with naddr 0 for the fallback.  Glue addresses that are unspecified,
 * multicast or reserved are dropped, and so are loopback, private and
 * link-local ones unless `allow_local` (a referral from a public root
 * must not point the probe at the volunteer's own network).
 * Returns CW_OK when at least one NS name was found; otherwise the
 * failure (dns_nxdomain_error, dns_servfail_error, dns_refused_error,
 * dns_rcode_error, dns_no_answer) with a reason in detail.
 */
enum cw_failure tld_referral_parse(const ldns_pkt *reply, const char *tld,
    uint16_t port, bool allow_local, struct tld_set *out, char *detail,
    size_t detail_len);

/* tld_reply_addresses: the addresses (canonical text) of `type` (A or
 * AAAA) for host `name` in `reply`: from the answer section, and also
 * from the additional section when `additional` is true (a TLD server's
 * referral carrying glue for the name).  At most `max` go to addrs.
 * Returns how many were stored. */
size_t tld_reply_addresses(const ldns_pkt *reply, const char *name,
    ldns_rr_type type, bool additional, char addrs[][INET6_ADDRSTRLEN],
    size_t max);

/* tld_cache_path: STATE_DIR/tld/T.json into buf; -1 if it does not fit. */
int tld_cache_path(const char *state_dir, const char *tld, char *buf,
    size_t len);

/* tld_cache_save: write `set` to STATE_DIR/tld/T.json atomically (temp
 * file, fsync, rename, fsync of the directory), creating the directory
 * with mode 0700 if needed.  Returns 0, or -1 (logged). */
int tld_cache_save(const char *state_dir, const struct tld_set *set);

/* tld_cache_load: read STATE_DIR/tld/T.json into `set` with `port` on
 * every server.  The file is hostile input: anything malformed (bad
 * JSON, wrong types, another TLD, bad names or addresses, more than
 * 128 KiB) makes the whole file ignored.  Addresses follow the rule of
 * tld_referral_parse, with local ones allowed only in a set whose
 * recorded root is itself local.  Returns 0 when loaded, 1 when there is
 * no file, -1 when it was rejected (with a warning; `set` is then
 * empty). */
int tld_cache_load(const char *state_dir, const char *tld, uint16_t port,
    struct tld_set *set);

/* tld_set_to_cache_json / tld_set_from_json: the cache format, exposed
 * for tests.  to_cache_json returns a new object (NULL: out of memory);
 * from_json returns 0, or -1 with the reason in err. */
json_t *tld_set_to_cache_json(const struct tld_set *set);
int tld_set_from_json(const json_t *obj, const char *tld, uint16_t port,
    struct tld_set *set, char *err, size_t errlen);

/* tld_resolver_from_file: the first valid "nameserver" address of a
 * resolv.conf-style file (at most 64 KiB read) with `port`.  Returns 0,
 * or -1 when there is none (logged at debug level). */
int tld_resolver_from_file(const char *path, uint16_t port, struct target *out);

/* --- The discovery on the agent's event loop --- */

struct tld_discovery;

/* tld_changed_fn: the set of `tld` was learned or changed (not called
 * for a set loaded from the cache).  `set` is valid during the call. */
typedef void (
    *tld_changed_fn)(const char *tld, const struct tld_set *set, void *arg);

/* tld_result_fn: one "tld_discovery" result per discovery attempt; the
 * callee owns it. */
typedef void (*tld_result_fn)(json_t *result, void *arg);

/*
 * tld_discovery_new: a discovery asking `roots` (copied; tried in random
 * order, a different one after a failure) and, for NS names without glue
 * outside their TLD, `resolver` (copied; NULL means none: such names stay
 * without address).  `state_dir` (copied; NULL: no cache) holds the
 * cache.  `refresh` is the refresh interval (0: TLD_REFRESH_DEFAULT).
 * Callbacks may be NULL.  Nothing is sent until a TLD is added.  Returns
 * NULL when out of memory or without roots (logged).
 */
struct tld_discovery *tld_discovery_new(struct event_base *base,
    const char *state_dir, const struct target *roots, size_t nroots,
    const struct target *resolver, cw_usec_t refresh, tld_changed_fn changed,
    tld_result_fn result, void *arg);

/* tld_discovery_set_port: send every query to `port` and give every
 * learned server that port (tests run NSD on a random port); call
 * before adding TLDs.  The default is 53. */
void tld_discovery_set_port(struct tld_discovery *d, uint16_t port);

/* tld_discovery_set_timeout: per-query timeout (default 4 s). */
void tld_discovery_set_timeout(struct tld_discovery *d, cw_usec_t timeout);

/* tld_discovery_add: watch `tld` (validated and normalised; adding it
 * twice is fine).  Its cached set, if any, is loaded at once; the first
 * refresh is scheduled right away when there is none (or it is older
 * than the interval), else when the cached one falls due.  Returns 0, or
 * -1 for a bad name or out of memory (logged). */
int tld_discovery_add(struct tld_discovery *d, const char *tld);

/* tld_discovery_get: the current set of `tld`, or NULL while none is
 * known.  Valid until the next return to the event loop. */
const struct tld_set *tld_discovery_get(const struct tld_discovery *d,
    const char *tld);

/* tld_each_fn: a TLD's current set, `cached` while it is the one
 * loaded from the cache file (no discovery has replaced it yet). */
typedef void (*tld_each_fn)(const char *tld, const struct tld_set *set,
    bool cached, void *arg);

/* tld_discovery_each: call fn for every watched TLD that has a set, in
 * the order they were added. */
void tld_discovery_each(const struct tld_discovery *d, tld_each_fn fn,
    void *arg);

/* tld_discovery_refresh_now: start a discovery attempt of every TLD as
 * soon as the event loop runs (an attempt already in flight is left to
 * finish).  Returns how many TLDs will report a result. */
size_t tld_discovery_refresh_now(struct tld_discovery *d);

/* tld_discovery_settled: true when every added TLD has a set or has
 * finished at least one discovery attempt (`once` waits for this). */
bool tld_discovery_settled(const struct tld_discovery *d);

/* tld_discovery_free: cancel queries in flight and free; NULL is fine. */
void tld_discovery_free(struct tld_discovery *d);

#endif
