/*
 * tld.c -- learning, caching and refreshing the name servers of TLDs.
 *
 * The pure parts (name checks, sets, referral parsing) come first; the
 * discovery that runs on the event loop follows.  The cache file:
 * tld_cache.c; what the two share: tld_int.h.
 */
#include "config.h"

#include <sys/queue.h>

#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "dns.h"
#include "log.h"
#include "result.h"
#include "tld.h"
#include "tld_int.h"

#define TLD_RESOLV_CONF_MAX (64 * 1024)
#define TLD_ROOT_TRIES      4 /* roots asked per attempt */
#define TLD_LOOKUP_TRIES    3 /* servers asked per fallback lookup */
#define TLD_QUERY_TIMEOUT   (4 * CW_USEC_PER_SEC)
#define TLD_START_JITTER    (500 * CW_USEC_PER_MSEC) /* no set yet */
#define TLD_STALE_JITTER    (60 * CW_USEC_PER_SEC)   /* stale cached set */

/* --- Names and addresses --- */

static int
tld_is_ldh(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

/* tld_printable: `name` for a message, non-printable bytes as '?'. */
static const char *
tld_printable(const char *name, size_t len, char *buf, size_t buflen)
{
	size_t i;

	for (i = 0; i < len && i + 1 < buflen; i++)
		buf[i] = name[i] > 0x20 && name[i] < 0x7f ? name[i] : '?';
	buf[i] = '\0';
	return buf;
}

int
tld_name_normalize(const char *name, char *out, char *err, size_t errlen)
{
	char label[TLD_NAME_MAX], shown[TLD_NAME_MAX];
	size_t len, digits = 0;

	if (name == NULL || (len = strlen(name)) == 0) {
		snprintf(err, errlen, "empty TLD name");
		return -1;
	}
	if (name[len - 1] == '.')
		len--;
	if (len == 0) {
		snprintf(err, errlen, "\".\" is the root zone, not a TLD");
		return -1;
	}
	if (len >= TLD_NAME_MAX) {
		snprintf(err, errlen,
		    "TLD \"%s...\" is longer than 63 "
		    "characters",
		    tld_printable(name, 20, shown, sizeof(shown)));
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c >= 'A' && c <= 'Z')
			c = (unsigned char)(c - 'A' + 'a');
		if (!tld_is_ldh(c)) {
			snprintf(err, errlen,
			    "TLD \"%s\": character 0x%02x "
			    "at %zu is not allowed (letters, digits, hyphen)",
			    tld_printable(name, len, shown, sizeof(shown)),
			    (unsigned)c, i + 1);
			return -1;
		}
		digits += (c >= '0' && c <= '9');
		label[i] = (char)c;
	}
	label[len] = '\0';
	if (label[0] == '-' || label[len - 1] == '-') {
		snprintf(err, errlen, "TLD \"%s\" starts or ends with a hyphen",
		    label);
		return -1;
	}
	if (len >= 4 && label[2] == '-' && label[3] == '-' &&
	    strncmp(label, "xn", 2) != 0) {
		snprintf(err, errlen,
		    "TLD \"%s\": \"--\" in the third and "
		    "fourth places is reserved for \"xn--\" labels",
		    label);
		return -1;
	}
	if (digits == len) {
		snprintf(err, errlen, "TLD \"%s\" is all digits", label);
		return -1;
	}
	memcpy(out, label, len + 1);
	return 0;
}

/* A host name as we keep it: lower-case labels of letters, digits, '-'
 * and '_', 1..63 each, no final dot, shorter than TARGET_NAME_MAX. */
int
tld_host_valid(const char *name)
{
	size_t len = strlen(name), label = 0;

	if (len == 0 || len >= TARGET_NAME_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)name[i];

		if (c == '.') {
			if (label == 0)
				return 0;
			label = 0;
			continue;
		}
		if (!tld_is_ldh(c) && c != '_')
			return 0;
		if (++label > 63)
			return 0;
	}
	return label > 0;
}

/* tld_dname_host: a domain name from the wire as a host name in `out`;
 * -1 when it is not one (escapes, odd bytes, the root). */
static int
tld_dname_host(const ldns_rdf *dname, char *out, size_t outlen)
{
	char *text;
	size_t len;
	int ok;

	if (dname == NULL || ldns_rdf_get_type(dname) != LDNS_RDF_TYPE_DNAME)
		return -1;
	if ((text = ldns_rdf2str(dname)) == NULL)
		return -1;
	len = strlen(text);
	if (len > 0 && text[len - 1] == '.')
		text[--len] = '\0';
	for (size_t i = 0; i < len; i++)
		if (text[i] >= 'A' && text[i] <= 'Z')
			text[i] = (char)(text[i] - 'A' + 'a');
	ok = len < outlen && tld_host_valid(text);
	if (ok)
		memcpy(out, text, len + 1);
	free(text);
	return ok ? 0 : -1;
}

/* tld_rr_address: the address of an A or AAAA record as text; -1 when
 * the record is anything else or malformed. */
static int
tld_rr_address(const ldns_rr *rr, char *buf, size_t len)
{
	const ldns_rdf *rdf;
	ldns_rr_type type = ldns_rr_get_type(rr);

	if (ldns_rr_rd_count(rr) != 1 || (rdf = ldns_rr_rdf(rr, 0)) == NULL)
		return -1;
	if (type == LDNS_RR_TYPE_A && ldns_rdf_size(rdf) == 4 &&
	    inet_ntop(AF_INET, ldns_rdf_data(rdf), buf, (socklen_t)len))
		return 0;
	if (type == LDNS_RR_TYPE_AAAA && ldns_rdf_size(rdf) == 16 &&
	    inet_ntop(AF_INET6, ldns_rdf_data(rdf), buf, (socklen_t)len))
		return 0;
	return -1;
}

/* tld_addr_scope: whether a learned address may be measured.  A referral
 * from a public root must not point the probe at the volunteer's own
 * network, so local addresses are only taken when a root itself is
 * local (the tests). */
enum tld_addr_scope
tld_addr_scope(const struct target *t)
{
	if (t->af == 4) {
		const struct sockaddr_in *sin = (const void *)&t->sa;
		uint32_t a = ntohl(sin->sin_addr.s_addr);

		if ((a >> 24) == 0 || (a >> 28) >= 14)
			return TLD_ADDR_BOGUS; /* 0/8, 224/4, 240/4 */
		if ((a >> 24) == 10 || (a >> 24) == 127 ||
		    (a >> 16) == 0xa9fe || (a >> 20) == 0xac1 ||
		    (a >> 16) == 0xc0a8 || (a >> 22) == (100 << 2 | 1))
			return TLD_ADDR_LOCAL;
		return TLD_ADDR_GLOBAL;
	}
	const struct sockaddr_in6 *sin6 = (const void *)&t->sa;
	const struct in6_addr *a6 = &sin6->sin6_addr;

	if (IN6_IS_ADDR_UNSPECIFIED(a6) || IN6_IS_ADDR_MULTICAST(a6) ||
	    IN6_IS_ADDR_V4MAPPED(a6) || IN6_IS_ADDR_V4COMPAT(a6))
		return TLD_ADDR_BOGUS;
	if (IN6_IS_ADDR_LOOPBACK(a6) || IN6_IS_ADDR_LINKLOCAL(a6) ||
	    (a6->s6_addr[0] & 0xfe) == 0xfc)
		return TLD_ADDR_LOCAL;
	return TLD_ADDR_GLOBAL;
}

int
tld_addr_allowed(const struct target *t, bool allow_local)
{
	switch (tld_addr_scope(t)) {
	case TLD_ADDR_GLOBAL:
		return 1;
	case TLD_ADDR_LOCAL:
		return allow_local;
	default:
		return 0;
	}
}

/* --- Sets --- */

void
tld_set_init(struct tld_set *set, const char *tld)
{
	memset(set, 0, sizeof(*set));
	snprintf(set->tld, sizeof(set->tld), "%s", tld);
}

struct tld_ns *
tld_set_find_ns(struct tld_set *set, const char *name)
{
	for (size_t i = 0; i < set->nns; i++)
		if (strcmp(set->ns[i].name, name) == 0)
			return &set->ns[i];
	return NULL;
}

/* tld_set_add_ns: 1 added, 0 already there, -1 cap reached. */
int
tld_set_add_ns(struct tld_set *set, const char *name)
{
	if (tld_set_find_ns(set, name) != NULL)
		return 0;
	if (set->nns == TLD_NS_MAX)
		return -1;
	snprintf(set->ns[set->nns].name, sizeof(set->ns[0].name), "%s", name);
	set->ns[set->nns++].naddr = 0;
	return 1;
}

int
tld_set_add_server(struct tld_set *set, const char *ns, const char *addr,
    uint16_t port, bool glue)
{
	char spec[TARGET_NAME_MAX + INET6_ADDRSTRLEN + 2], err[128];
	struct target t;
	struct tld_ns *n;

	if ((n = tld_set_find_ns(set, ns)) == NULL)
		return -1;
	snprintf(spec, sizeof(spec), "%s=%s", ns, addr);
	if (target_parse(spec, port, &t, err, sizeof(err)) == -1)
		return -1;
	for (size_t i = 0; i < set->n; i++) {
		if (strcmp(set->servers[i].addr, t.addr) != 0)
			continue;
		/* One address shared by two NS names is measured once. */
		if (strcmp(set->servers[i].name, ns) != 0 &&
		    n->naddr < TLD_NS_ADDR_MAX)
			n->naddr++;
		return 0;
	}
	if (n->naddr >= TLD_NS_ADDR_MAX || set->n >= TLD_SERVERS_MAX)
		return 0;
	set->servers[set->n] = t;
	set->glue[set->n++] = glue;
	n->naddr++;
	return 1;
}

static int
tld_server_cmp(const struct target *a, const struct target *b)
{
	int c;

	if ((c = strcmp(a->name, b->name)) != 0)
		return c;
	if (a->af != b->af)
		return a->af - b->af;
	return strcmp(a->addr, b->addr);
}

static int
tld_ns_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tld_ns *)a)->name,
	    ((const struct tld_ns *)b)->name);
}

void
tld_set_sort(struct tld_set *set)
{
	qsort(set->ns, set->nns, sizeof(set->ns[0]), tld_ns_cmp);
	/* Insertion sort: at most TLD_SERVERS_MAX entries in two arrays. */
	for (size_t i = 1; i < set->n; i++) {
		struct target t = set->servers[i];
		bool g = set->glue[i];
		size_t j = i;

		for (; j > 0 && tld_server_cmp(&set->servers[j - 1], &t) > 0;
		     j--) {
			set->servers[j] = set->servers[j - 1];
			set->glue[j] = set->glue[j - 1];
		}
		set->servers[j] = t;
		set->glue[j] = g;
	}
}

bool
tld_set_equal(const struct tld_set *a, const struct tld_set *b)
{
	if (strcmp(a->tld, b->tld) != 0 || a->nns != b->nns || a->n != b->n)
		return false;
	for (size_t i = 0; i < a->nns; i++)
		if (strcmp(a->ns[i].name, b->ns[i].name) != 0)
			return false;
	for (size_t i = 0; i < a->n; i++)
		if (tld_server_cmp(&a->servers[i], &b->servers[i]) != 0 ||
		    a->glue[i] != b->glue[i])
			return false;
	return true;
}

size_t
tld_set_count_glue(const struct tld_set *set)
{
	size_t n = 0;

	for (size_t i = 0; i < set->n; i++)
		n += set->glue[i];
	return n;
}

json_t *
tld_servers_json(const struct tld_set *set)
{
	json_t *servers = json_array(), *s;

	for (size_t i = 0; servers != NULL && i < set->n; i++) {
		s = json_pack("{s:s, s:s, s:b}", "name", set->servers[i].name,
		    "addr", set->servers[i].addr, "glue", set->glue[i]);
		json_array_append_new(servers, s);
	}
	return servers;
}

void
tld_set_to_json(const struct tld_set *set, json_t *obj)
{
	json_t *ns = json_array(), *unresolved = json_array();

	for (size_t i = 0; i < set->nns; i++) {
		json_array_append_new(ns, json_string(set->ns[i].name));
		if (set->ns[i].naddr == 0)
			json_array_append_new(unresolved,
			    json_string(set->ns[i].name));
	}
	json_object_set_new(obj, "ns", ns);
	json_object_set_new(obj, "servers", tld_servers_json(set));
	json_object_set_new(obj, "unresolved", unresolved);
}

json_t *
tld_servers_record(const struct tld_set *set, bool cached,
    const char *root_name, cw_usec_t now)
{
	char learned[CW_TIME_STRLEN];
	json_t *r;

	if ((r = result_new("tld_servers", NULL, now)) == NULL)
		return NULL;
	result_set_ok(r);
	result_set_str(r, "tld", set->tld);
	result_set_str(r, "source", cached ? "cache" : "discovery");
	result_set_str(r, "learned",
	    cw_time_format(set->learned, learned, sizeof(learned)));
	result_set_str(r, "root", set->root);
	tld_set_to_json(set, r);
	if (root_name != NULL && root_name[0] != '\0')
		result_set_str(r, "root_name", root_name);
	result_set_int(r, "age_s",
	    now > set->learned ? (now - set->learned) / CW_USEC_PER_SEC : 0);
	result_set_int(r, "addresses", (long long)set->n);
	return r;
}

/* --- Referrals --- */

/* tld_section_has_ns: does `list` hold an NS record owned by `owner`? */
static bool
tld_section_has_ns(const ldns_rr_list *list, const ldns_rdf *owner)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) == LDNS_RR_TYPE_NS &&
		    ldns_dname_compare(ldns_rr_owner(rr), owner) == 0)
			return true;
	}
	return false;
}

static enum cw_failure
tld_rcode_failure(const ldns_pkt *reply, const char *tld, char *detail,
    size_t len)
{
	ldns_pkt_rcode rcode = ldns_pkt_get_rcode(reply);

	switch (rcode) {
	case LDNS_RCODE_NOERROR:
		return CW_OK;
	case LDNS_RCODE_NXDOMAIN:
		snprintf(detail, len, "the server says %s. does not exist",
		    tld);
		return CW_FAIL_DNS_NXDOMAIN;
	case LDNS_RCODE_SERVFAIL:
		snprintf(detail, len, "SERVFAIL for %s. NS", tld);
		return CW_FAIL_DNS_SERVFAIL;
	case LDNS_RCODE_REFUSED:
		snprintf(detail, len, "REFUSED for %s. NS", tld);
		return CW_FAIL_DNS_REFUSED;
	default:
		snprintf(detail, len, "rcode %d for %s. NS", (int)rcode, tld);
		return CW_FAIL_DNS_RCODE;
	}
}

/* tld_referral_ns: NS names owned by T from `list` into `out`; counts
 * the records ignored. */
static void
tld_referral_ns(const ldns_rr_list *list, const ldns_rdf *owner,
    struct tld_set *out, size_t *ignored)
{
	char host[TARGET_NAME_MAX];

	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != LDNS_RR_TYPE_NS)
			continue;
		if (ldns_dname_compare(ldns_rr_owner(rr), owner) != 0 ||
		    ldns_rr_rd_count(rr) != 1 ||
		    tld_dname_host(ldns_rr_rdf(rr, 0), host, sizeof(host)) ==
		        -1 ||
		    tld_set_add_ns(out, host) == -1)
			(*ignored)++;
	}
}

/* tld_referral_glue: A and AAAA records of the NS names in `list`. */
static void
tld_referral_glue(const ldns_rr_list *list, uint16_t port, bool allow_local,
    struct tld_set *out, size_t *ignored)
{
	char host[TARGET_NAME_MAX], addr[INET6_ADDRSTRLEN];

	for (size_t i = 0; i < ldns_rr_list_rr_count(list); i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);
		ldns_rr_type type = ldns_rr_get_type(rr);

		if (type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA)
			continue;
		if (tld_dname_host(ldns_rr_owner(rr), host, sizeof(host)) ==
		        -1 ||
		    tld_set_find_ns(out, host) == NULL ||
		    tld_rr_address(rr, addr, sizeof(addr)) == -1) {
			(*ignored)++;
			continue;
		}
		struct target t;
		char err[64];
		if (target_parse(addr, port, &t, err, sizeof(err)) == -1 ||
		    !tld_addr_allowed(&t, allow_local)) {
			(*ignored)++;
			continue;
		}
		tld_set_add_server(out, host, addr, port, true);
	}
}

enum cw_failure
tld_referral_parse(const ldns_pkt *reply, const char *tld, uint16_t port,
    bool allow_local, struct tld_set *out, char *detail, size_t detail_len)
{
	const ldns_rr_list *section;
	enum cw_failure failure;
	ldns_rdf *owner;
	size_t ignored = 0;

	tld_set_init(out, tld);
	detail[0] = '\0';
	if ((failure = tld_rcode_failure(reply, tld, detail, detail_len)) !=
	    CW_OK)
		return failure;
	if ((owner = ldns_dname_new_frm_str(tld)) == NULL) {
		snprintf(detail, detail_len, "cannot make a name of %s", tld);
		return CW_FAIL_INTERNAL;
	}
	/* A server authoritative for T (the root for arpa, or a test
	 * server serving both) answers instead of referring. */
	section = ldns_pkt_authority(reply);
	if (ldns_pkt_aa(reply) &&
	    tld_section_has_ns(ldns_pkt_answer(reply), owner))
		section = ldns_pkt_answer(reply);
	tld_referral_ns(section, owner, out, &ignored);
	ldns_rdf_deep_free(owner);
	if (out->nns == 0) {
		snprintf(detail, detail_len,
		    "no NS records for %s. in the "
		    "reply (%zu records ignored)",
		    tld, ignored);
		return CW_FAIL_DNS_NO_ANSWER;
	}
	tld_referral_glue(ldns_pkt_additional(reply), port, allow_local, out,
	    &ignored);
	if (ignored > 0)
		log_debug("%s: %s: ignored %zu records of the referral",
		    __func__, tld, ignored);
	tld_set_sort(out);
	return CW_OK;
}

static size_t
tld_section_addresses(const ldns_rr_list *list, const ldns_rdf *owner,
    ldns_rr_type type, char addrs[][INET6_ADDRSTRLEN], size_t n, size_t max)
{
	for (size_t i = 0; i < ldns_rr_list_rr_count(list) && n < max; i++) {
		const ldns_rr *rr = ldns_rr_list_rr(list, i);

		if (ldns_rr_get_type(rr) != type ||
		    ldns_dname_compare(ldns_rr_owner(rr), owner) != 0)
			continue;
		if (tld_rr_address(rr, addrs[n], INET6_ADDRSTRLEN) == 0)
			n++;
	}
	return n;
}

size_t
tld_reply_addresses(const ldns_pkt *reply, const char *name, ldns_rr_type type,
    bool additional, char addrs[][INET6_ADDRSTRLEN], size_t max)
{
	ldns_rdf *owner;
	size_t n;

	if ((type != LDNS_RR_TYPE_A && type != LDNS_RR_TYPE_AAAA) ||
	    ldns_pkt_get_rcode(reply) != LDNS_RCODE_NOERROR ||
	    (owner = ldns_dname_new_frm_str(name)) == NULL)
		return 0;
	n = tld_section_addresses(ldns_pkt_answer(reply), owner, type, addrs, 0,
	    max);
	if (additional)
		n = tld_section_addresses(ldns_pkt_additional(reply), owner,
		    type, addrs, n, max);
	ldns_rdf_deep_free(owner);
	return n;
}

/* --- resolv.conf --- */

/* tld_resolv_line: the address of a "nameserver ADDRESS" line, or NULL;
 * modifies `line`. */
static char *
tld_resolv_line(char *line)
{
	char *word, *save = NULL;

	line[strcspn(line, "#;")] = '\0';
	if ((word = strtok_r(line, " \t\r\n", &save)) == NULL ||
	    strcmp(word, "nameserver") != 0)
		return NULL;
	return strtok_r(NULL, " \t\r\n", &save);
}

int
tld_resolver_from_file(const char *path, uint16_t port, struct target *out)
{
	char line[512], err[128], *addr;
	size_t total = 0;
	FILE *fp;

	if ((fp = fopen(path, "re")) == NULL) {
		log_debug("%s: %s: %s", __func__, path, strerror(errno));
		return -1;
	}
	while (total < TLD_RESOLV_CONF_MAX && fgets(line, sizeof(line), fp)) {
		total += strlen(line);
		if ((addr = tld_resolv_line(line)) == NULL)
			continue;
		if (target_parse(addr, port, out, err, sizeof(err)) == 0) {
			fclose(fp);
			return 0;
		}
		log_debug("%s: %s: skipped: %s", __func__, path, err);
	}
	fclose(fp);
	log_debug("%s: %s: no usable nameserver", __func__, path);
	return -1;
}

/* --- Discovery on the event loop --- */

#define TLD_RESOLVER_TRIES 2 /* tries of one lookup at the resolver */

struct tld_attempt;

/* One fallback lookup: the A or the AAAA records of one NS name. */
struct tld_lookup {
	struct tld_attempt *attempt;
	struct dns_probe *probe; /* in flight, or NULL */
	char name[TARGET_NAME_MAX];
	ldns_rr_type type;
	bool via_resolver; /* else: the TLD's glued servers, RD=0 */
	unsigned tries;
	size_t first; /* first glued server asked */
};

/* One discovery attempt of one TLD: the root query, then the lookups. */
struct tld_attempt {
	struct tld_entry *entry;
	cw_usec_t started; /* UTC, for the result */
	cw_usec_t mono_start;
	struct dns_probe *probe; /* the root query in flight */
	size_t *order;           /* root indices, shuffled */
	size_t tries, max_tries;
	struct target root; /* the root asked last */
	json_t *query;      /* its result, as evidence */
	enum cw_failure failure;
	char detail[512];
	struct tld_set set;
	size_t glued[TLD_SERVERS_MAX]; /* set.servers that came as glue */
	size_t nglued;
	struct tld_lookup lookups[2 * TLD_NS_MAX];
	size_t nlookups, pending;
	unsigned fallback_queries, fallback_failed;
	enum cw_failure lookup_failure; /* of the last failed lookup */
	char lookup_detail[384];
};

struct tld_entry {
	TAILQ_ENTRY(tld_entry) next;
	struct tld_discovery *d;
	char tld[TLD_NAME_MAX];
	struct tld_set *set;         /* NULL while none is known */
	bool cached;                 /* set is the cache file's */
	struct event *timer;         /* the next attempt */
	cw_usec_t backoff;           /* 0 after a success */
	unsigned attempts;           /* finished attempts */
	struct tld_attempt *attempt; /* in flight, or NULL */
};

struct tld_discovery {
	struct event_base *base;
	char *state_dir; /* NULL: no cache */
	struct target *roots;
	size_t nroots;
	struct target resolver;
	bool have_resolver;
	bool allow_local; /* a root is local: tests */
	uint16_t port;
	cw_usec_t refresh, timeout;
	tld_changed_fn changed;
	tld_result_fn result;
	void *arg;
	TAILQ_HEAD(, tld_entry) entries;
};

static void tld_attempt_finish(struct tld_attempt *);

/* tld_jitter: a random delay in [0, max), in whole milliseconds. */
static cw_usec_t
tld_jitter(cw_usec_t max)
{
	cw_usec_t ms = max / CW_USEC_PER_MSEC;

	if (ms <= 0)
		return 0;
	if (ms > UINT32_MAX)
		ms = UINT32_MAX;
	return (cw_usec_t)randombytes_uniform((uint32_t)ms) * CW_USEC_PER_MSEC;
}

static bool
tld_in_bailiwick(const char *name, const char *tld)
{
	size_t n = strlen(name), t = strlen(tld);

	return n > t + 1 && name[n - t - 1] == '.' &&
	    strcmp(name + n - t, tld) == 0;
}

static void
tld_entry_schedule(struct tld_entry *e, cw_usec_t delay)
{
	struct timeval tv;

	cw_usec_to_timeval(delay, &tv);
	evtimer_add(e->timer, &tv);
	log_debug("tld %s: next discovery in %lld s", e->tld,
	    (long long)(delay / CW_USEC_PER_SEC));
}

static void
tld_spec(const struct tld_discovery *d, struct dns_spec *spec,
    const char *qname, ldns_rr_type type, bool rd)
{
	char name[DNS_QNAME_MAX];

	dns_spec_init(spec);
	snprintf(name, sizeof(name), "%s.", qname);
	if (dns_spec_set_qname(spec, name) == -1)
		log_warnx("tld: bad query name %s", name);
	spec->qtype = type;
	spec->qclass = LDNS_RR_CLASS_IN;
	spec->transports = DNS_PROTO_UDP;
	spec->port = d->port;
	spec->rd = rd;
	spec->nsid = !rd && type == LDNS_RR_TYPE_NS;
	spec->tcp_on_truncation = true;
	spec->timeout = d->timeout;
	spec->retries = 0;
}

static void
tld_attempt_free(struct tld_attempt *a)
{
	if (a->probe != NULL)
		dns_probe_cancel(a->probe);
	for (size_t i = 0; i < a->nlookups; i++)
		if (a->lookups[i].probe != NULL)
			dns_probe_cancel(a->lookups[i].probe);
	json_decref(a->query);
	free(a->order);
	free(a);
}

/* tld_lookup_take: the addresses a fallback reply gave for the name. */
static void
tld_lookup_take(struct tld_lookup *lk, const ldns_pkt *reply)
{
	struct tld_attempt *a = lk->attempt;
	const struct tld_discovery *d = a->entry->d;
	char addrs[TLD_NS_ADDR_MAX][INET6_ADDRSTRLEN], err[64];
	struct target t;
	size_t n;

	n = tld_reply_addresses(reply, lk->name, lk->type, !lk->via_resolver,
	    addrs, TLD_NS_ADDR_MAX);
	for (size_t i = 0; i < n; i++) {
		if (target_parse(addrs[i], d->port, &t, err, sizeof(err)) ==
		        -1 ||
		    !tld_addr_allowed(&t, d->allow_local)) {
			log_debug("tld %s: %s: address %s ignored", a->set.tld,
			    lk->name, addrs[i]);
			continue;
		}
		tld_set_add_server(&a->set, lk->name, addrs[i], d->port, false);
	}
}

static void tld_lookup_done(json_t *, const ldns_pkt *, void *);

/* tld_lookup_send: the lookup's next try; -1 when it has none left. */
static int
tld_lookup_send(struct tld_lookup *lk)
{
	struct tld_attempt *a = lk->attempt;
	const struct tld_discovery *d = a->entry->d;
	const struct target *server;
	struct dns_spec spec;
	size_t max;

	if (lk->via_resolver) {
		max = TLD_RESOLVER_TRIES;
		server = &d->resolver;
	} else {
		max = a->nglued < TLD_LOOKUP_TRIES ? a->nglued :
		                                     TLD_LOOKUP_TRIES;
		server = &a->set.servers[a->glued[(lk->first + lk->tries) %
		    a->nglued]];
	}
	if (lk->tries >= max)
		return -1;
	lk->tries++;
	tld_spec(d, &spec, lk->name, lk->type, lk->via_resolver);
	spec.nsid = false;
	lk->probe = dns_probe_start(d->base, &spec, server, DNS_PROTO_UDP,
	    tld_lookup_done, lk);
	if (lk->probe == NULL)
		return -1;
	a->fallback_queries++;
	return 0;
}

/* tld_lookup_failed: remember why a lookup got no reply, for the result
 * when no address at all is found. */
static void
tld_lookup_failed(struct tld_lookup *lk, const json_t *result)
{
	struct tld_attempt *a = lk->attempt;
	const char *detail;

	if ((a->lookup_failure = result_failure(result)) == CW_OK)
		a->lookup_failure = CW_FAIL_DNS_NO_ANSWER;
	detail = json_string_value(json_object_get(result, "failure_detail"));
	snprintf(a->lookup_detail, sizeof(a->lookup_detail), "%s %s: %s",
	    lk->name, lk->type == LDNS_RR_TYPE_A ? "A" : "AAAA",
	    detail != NULL ? detail : cw_failure_name(a->lookup_failure));
}

static void
tld_lookup_done(json_t *result, const ldns_pkt *reply, void *arg)
{
	struct tld_lookup *lk = arg;
	struct tld_attempt *a = lk->attempt;

	lk->probe = NULL;
	if (reply == NULL) {
		tld_lookup_failed(lk, result);
		json_decref(result);
		if (tld_lookup_send(lk) == 0)
			return;
		a->fallback_failed++;
	} else {
		json_decref(result);
		tld_lookup_take(lk, reply);
	}
	if (--a->pending == 0)
		tld_attempt_finish(a);
}

/* tld_attempt_fallback: look up the addresses of NS names without glue,
 * then finish. */
static void
tld_attempt_fallback(struct tld_attempt *a)
{
	const struct tld_discovery *d = a->entry->d;
	static const ldns_rr_type types[] = { LDNS_RR_TYPE_A,
		LDNS_RR_TYPE_AAAA };

	for (size_t i = 0; i < a->set.n; i++)
		if (a->set.glue[i])
			a->glued[a->nglued++] = i;
	for (size_t i = 0; i < a->set.nns; i++) {
		const struct tld_ns *ns = &a->set.ns[i];
		bool via_resolver;

		if (ns->naddr > 0)
			continue;
		if (tld_in_bailiwick(ns->name, a->set.tld) && a->nglued > 0)
			via_resolver = false;
		else if (d->have_resolver)
			via_resolver = true;
		else {
			log_debug("tld %s: %s has no glue and there is no "
			          "resolver",
			    a->set.tld, ns->name);
			continue;
		}
		for (size_t t = 0; t < 2; t++) {
			struct tld_lookup *lk = &a->lookups[a->nlookups++];

			lk->attempt = a;
			snprintf(lk->name, sizeof(lk->name), "%s", ns->name);
			lk->type = types[t];
			lk->via_resolver = via_resolver;
			if (a->nglued > 0)
				lk->first = randombytes_uniform(
				    (uint32_t)a->nglued);
		}
	}
	/* Count first: no callback runs before we return to the loop. */
	for (size_t i = 0; i < a->nlookups; i++)
		if (tld_lookup_send(&a->lookups[i]) == 0)
			a->pending++;
	if (a->pending == 0)
		tld_attempt_finish(a);
}

static void tld_root_done(json_t *, const ldns_pkt *, void *);

/* tld_attempt_ask_root: query the next root of the shuffled order. */
static void
tld_attempt_ask_root(struct tld_attempt *a)
{
	const struct tld_discovery *d = a->entry->d;
	struct dns_spec spec;

	a->root = d->roots[a->order[a->tries++]];
	tld_spec(d, &spec, a->set.tld, LDNS_RR_TYPE_NS, false);
	a->probe = dns_probe_start(d->base, &spec, &a->root, DNS_PROTO_UDP,
	    tld_root_done, a);
	if (a->probe == NULL) {
		a->failure = CW_FAIL_INTERNAL;
		snprintf(a->detail, sizeof(a->detail), "cannot start a query");
		tld_attempt_finish(a);
	}
}

static void
tld_root_done(json_t *result, const ldns_pkt *reply, void *arg)
{
	struct tld_attempt *a = arg;
	const struct tld_discovery *d = a->entry->d;
	const char *detail;

	a->probe = NULL;
	json_decref(a->query);
	a->query = result;
	if (reply != NULL)
		a->failure = tld_referral_parse(reply, a->entry->tld, d->port,
		    d->allow_local, &a->set, a->detail, sizeof(a->detail));
	else {
		if ((a->failure = result_failure(result)) == CW_OK)
			a->failure = CW_FAIL_DNS_NO_ANSWER;
		detail = json_string_value(
		    json_object_get(result, "failure_detail"));
		snprintf(a->detail, sizeof(a->detail), "%s",
		    detail != NULL ? detail : "");
	}
	if (a->failure == CW_OK) {
		a->set.learned = cw_real_usec();
		snprintf(a->set.root, sizeof(a->set.root), "%s", a->root.addr);
		tld_attempt_fallback(a);
		return;
	}
	log_debug("tld %s: root %s: %s %s", a->set.tld, a->root.addr,
	    cw_failure_name(a->failure), a->detail);
	if (a->tries < a->max_tries)
		tld_attempt_ask_root(a);
	else
		tld_attempt_finish(a);
}

static json_t *
tld_attempt_result(const struct tld_attempt *a, bool changed)
{
	size_t glue = tld_set_count_glue(&a->set);
	json_t *r;

	if ((r = result_new("tld_discovery", NULL, a->started)) == NULL)
		return NULL;
	result_set_str(r, "tld", a->set.tld);
	result_set_str(r, "root", a->root.addr);
	if (a->root.name[0] != '\0')
		result_set_str(r, "root_name", a->root.name);
	result_set_int(r, "root_tries", (long long)a->tries);
	if (a->failure == CW_OK)
		result_set_ok(r);
	else
		result_set_failure(r, a->failure, a->detail[0] ? "%s" : NULL,
		    a->detail);
	tld_set_to_json(&a->set, r);
	result_set_int(r, "addresses", (long long)a->set.n);
	result_set_int(r, "glue", (long long)glue);
	result_set_int(r, "fallback", (long long)(a->set.n - glue));
	result_set_int(r, "fallback_queries", a->fallback_queries);
	result_set_int(r, "fallback_failed", a->fallback_failed);
	result_set_bool(r, "changed", changed);
	result_set_ms(r, "duration_ms", cw_mono_usec() - a->mono_start);
	if (a->query != NULL)
		json_object_set(r, "query", a->query);
	return r;
}

/* tld_attempt_keep: make a successful attempt's set the entry's set;
 * returns whether it changed. */
static bool
tld_attempt_keep(struct tld_attempt *a)
{
	struct tld_entry *e = a->entry;
	const struct tld_discovery *d = e->d;
	bool had_set = e->set != NULL, changed;

	if (!had_set && (e->set = malloc(sizeof(*e->set))) == NULL) {
		log_warn("tld %s: malloc", e->tld);
		a->failure = CW_FAIL_INTERNAL;
		snprintf(a->detail, sizeof(a->detail), "out of memory");
		return false;
	}
	changed = !had_set || !tld_set_equal(e->set, &a->set);
	*e->set = a->set;
	e->cached = false;
	if (d->state_dir != NULL)
		tld_cache_save(d->state_dir, e->set);
	return changed;
}

static void
tld_attempt_finish(struct tld_attempt *a)
{
	struct tld_entry *e = a->entry;
	struct tld_discovery *d = e->d;
	bool changed = false;
	json_t *result;

	if (a->failure == CW_OK && a->set.n == 0) {
		/* The lookups' own failure says more than "no address". */
		a->failure = a->fallback_failed > 0 ? a->lookup_failure :
		                                      CW_FAIL_DNS_NO_ANSWER;
		snprintf(a->detail, sizeof(a->detail),
		    "no address for any "
		    "of the %zu name servers%s%s",
		    a->set.nns, a->fallback_failed > 0 ? "; last lookup: " : "",
		    a->fallback_failed > 0 ? a->lookup_detail : "");
	}
	tld_set_sort(&a->set);
	if (a->failure == CW_OK)
		changed = tld_attempt_keep(a);
	if (a->failure == CW_OK) {
		e->backoff = 0;
		tld_entry_schedule(e, d->refresh + tld_jitter(d->refresh / 10));
	} else {
		if (e->backoff == 0)
			e->backoff = TLD_RETRY_MIN;
		else
			e->backoff *= 2;
		if (e->backoff > d->refresh)
			e->backoff = d->refresh;
		tld_entry_schedule(e, e->backoff + tld_jitter(e->backoff / 10));
	}
	if (a->failure != CW_OK)
		log_info("tld %s: discovery failed: %s%s%s", e->tld,
		    cw_failure_name(a->failure), a->detail[0] ? ": " : "",
		    a->detail);
	result = tld_attempt_result(a, changed);
	e->attempt = NULL;
	e->attempts++;
	tld_attempt_free(a);
	if (result != NULL && d->result != NULL)
		d->result(result, d->arg);
	else
		json_decref(result);
	if (changed && d->changed != NULL)
		d->changed(e->tld, e->set, d->arg);
}

static void
tld_attempt_start(struct tld_entry *e)
{
	const struct tld_discovery *d = e->d;
	struct tld_attempt *a;

	if ((a = calloc(1, sizeof(*a))) == NULL ||
	    (a->order = calloc(d->nroots, sizeof(*a->order))) == NULL) {
		log_warn("tld %s: calloc", e->tld);
		free(a);
		tld_entry_schedule(e, TLD_RETRY_MIN);
		return;
	}
	a->entry = e;
	a->started = cw_real_usec();
	a->mono_start = cw_mono_usec();
	tld_set_init(&a->set, e->tld);
	for (size_t i = 0; i < d->nroots; i++)
		a->order[i] = i;
	for (size_t i = d->nroots - 1; i > 0; i--) {
		size_t j = randombytes_uniform((uint32_t)i + 1), tmp;

		tmp = a->order[i];
		a->order[i] = a->order[j];
		a->order[j] = tmp;
	}
	a->max_tries = d->nroots < TLD_ROOT_TRIES ? d->nroots : TLD_ROOT_TRIES;
	e->attempt = a;
	log_debug("tld %s: discovery starts", e->tld);
	tld_attempt_ask_root(a);
}

static void
tld_entry_timer(evutil_socket_t fd, short what, void *arg)
{
	struct tld_entry *e = arg;

	(void)fd;
	(void)what;
	if (e->attempt == NULL)
		tld_attempt_start(e);
}

/* tld_entry_first_delay: when to start the first attempt: soon without a
 * set or with a stale one, else when the cached one falls due. */
static cw_usec_t
tld_entry_first_delay(const struct tld_entry *e)
{
	cw_usec_t now = cw_real_usec(), refresh = e->d->refresh;

	if (e->set == NULL)
		return tld_jitter(TLD_START_JITTER);
	/* A time in the future means the clock moved: trust nothing. */
	if (e->set->learned > now + 3600 * CW_USEC_PER_SEC ||
	    e->set->learned + refresh <= now)
		return tld_jitter(TLD_STALE_JITTER);
	return e->set->learned + refresh - now + tld_jitter(refresh / 10);
}

static struct tld_entry *
tld_discovery_find(const struct tld_discovery *d, const char *tld)
{
	struct tld_entry *e;

	TAILQ_FOREACH(e, &d->entries, next)
		if (strcmp(e->tld, tld) == 0)
			return e;
	return NULL;
}

struct tld_discovery *
tld_discovery_new(struct event_base *base, const char *state_dir,
    const struct target *roots, size_t nroots, const struct target *resolver,
    cw_usec_t refresh, tld_changed_fn changed, tld_result_fn result, void *arg)
{
	struct tld_discovery *d;

	if (nroots == 0) {
		log_warnx("%s: no root servers to ask", __func__);
		return NULL;
	}
	if ((d = calloc(1, sizeof(*d))) == NULL ||
	    (d->roots = calloc(nroots, sizeof(*roots))) == NULL ||
	    (state_dir != NULL && (d->state_dir = strdup(state_dir)) == NULL)) {
		log_warn("%s: calloc", __func__);
		if (d != NULL)
			free(d->roots);
		free(d);
		return NULL;
	}
	d->base = base;
	memcpy(d->roots, roots, nroots * sizeof(*roots));
	d->nroots = nroots;
	for (size_t i = 0; i < nroots; i++)
		if (tld_addr_scope(&roots[i]) == TLD_ADDR_LOCAL)
			d->allow_local = true;
	if (resolver != NULL) {
		d->resolver = *resolver;
		d->have_resolver = true;
	}
	d->port = 53;
	d->refresh = refresh > 0 ? refresh : TLD_REFRESH_DEFAULT;
	d->timeout = TLD_QUERY_TIMEOUT;
	d->changed = changed;
	d->result = result;
	d->arg = arg;
	TAILQ_INIT(&d->entries);
	return d;
}

void
tld_discovery_set_port(struct tld_discovery *d, uint16_t port)
{
	d->port = port;
	for (size_t i = 0; i < d->nroots; i++)
		target_set_port(&d->roots[i], port);
	if (d->have_resolver)
		target_set_port(&d->resolver, port);
}

void
tld_discovery_set_timeout(struct tld_discovery *d, cw_usec_t timeout)
{
	d->timeout = timeout > 0 ? timeout : TLD_QUERY_TIMEOUT;
}

int
tld_discovery_add(struct tld_discovery *d, const char *name)
{
	char tld[TLD_NAME_MAX], err[160];
	struct tld_entry *e;
	struct tld_set set;

	if (tld_name_normalize(name, tld, err, sizeof(err)) == -1) {
		log_warnx("tld: %s", err);
		return -1;
	}
	if (tld_discovery_find(d, tld) != NULL)
		return 0;
	if ((e = calloc(1, sizeof(*e))) == NULL ||
	    (e->timer = evtimer_new(d->base, tld_entry_timer, e)) == NULL) {
		log_warn("tld %s: calloc", tld);
		free(e);
		return -1;
	}
	e->d = d;
	memcpy(e->tld, tld, sizeof(e->tld));
	if (d->state_dir != NULL &&
	    tld_cache_load(d->state_dir, tld, d->port, &set) == 0) {
		if ((e->set = malloc(sizeof(*e->set))) != NULL)
			*e->set = set;
		e->cached = e->set != NULL;
		log_info("tld %s: %zu server%s from the cache", tld, set.n,
		    set.n == 1 ? "" : "s");
	}
	TAILQ_INSERT_TAIL(&d->entries, e, next);
	tld_entry_schedule(e, tld_entry_first_delay(e));
	return 0;
}

const struct tld_set *
tld_discovery_get(const struct tld_discovery *d, const char *tld)
{
	char name[TLD_NAME_MAX], err[160];
	const struct tld_entry *e;

	if (tld_name_normalize(tld, name, err, sizeof(err)) == -1 ||
	    (e = tld_discovery_find(d, name)) == NULL)
		return NULL;
	return e->set;
}

void
tld_discovery_each(const struct tld_discovery *d, tld_each_fn fn, void *arg)
{
	const struct tld_entry *e;

	TAILQ_FOREACH(e, &d->entries, next)
		if (e->set != NULL)
			fn(e->tld, e->set, e->cached, arg);
}

size_t
tld_discovery_refresh_now(struct tld_discovery *d)
{
	struct tld_entry *e;
	size_t n = 0;

	TAILQ_FOREACH(e, &d->entries, next) {
		if (e->attempt == NULL)
			tld_entry_schedule(e, 0);
		n++;
	}
	return n;
}

bool
tld_discovery_settled(const struct tld_discovery *d)
{
	const struct tld_entry *e;

	TAILQ_FOREACH(e, &d->entries, next)
		if (e->set == NULL && e->attempts == 0)
			return false;
	return true;
}

void
tld_discovery_free(struct tld_discovery *d)
{
	struct tld_entry *e;

	if (d == NULL)
		return;
	while ((e = TAILQ_FIRST(&d->entries)) != NULL) {
		TAILQ_REMOVE(&d->entries, e, next);
		if (e->attempt != NULL)
			tld_attempt_free(e->attempt);
		event_free(e->timer);
		free(e->set);
		free(e);
	}
	free(d->roots);
	free(d->state_dir);
	free(d);
}
