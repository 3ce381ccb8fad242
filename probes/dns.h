/*
 * dns.h -- the DNS measurement: one query to one server address over
 * UDP or TCP, on the probe's own non-blocking sockets under libevent.
 *
 * Queries are built with ldns and replies parsed with ldns_wire2pkt; a
 * reply counts only when its ID and question match the query.  Every
 * outcome, including garbage from the network, becomes a result (see
 * doc/results.md); nothing from the network can crash the probe.
 *
 * Query IDs come from libsodium: call sodium_init() once before the first
 * dns_probe_start().  One probe holds one socket at a time; the caller
 * raises RLIMIT_NOFILE (sysutil_raise_nofile) before running thousands.
 */
#ifndef CW_DNS_H
#define CW_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>
#include <ldns/ldns.h>

#include "cwtime.h"
#include "failure.h"
#include "probe.h"
#include "target.h"

/* Transports and address families are bit masks so a spec can say
 * "both"; one run always uses exactly one transport. */
enum dns_proto {
	DNS_PROTO_UDP = 1,
	DNS_PROTO_TCP = 2,
};
#define DNS_AF_4 1
#define DNS_AF_6 2

#define DNS_QNAME_MAX       256
#define DNS_EDNS_SIZE_MIN   512 /* RFC 6891: smaller sizes count as 512 */
#define DNS_RETRIES_MAX     10
#define DNS_LATE_WINDOW_MAX (60 * CW_USEC_PER_SEC)

struct dns_spec {
	const char *name; /* measurement name for results; may be NULL */
	char qname[DNS_QNAME_MAX]; /* presentation form, e.g. "." */
	ldns_rr_type qtype;
	ldns_rr_class qclass;
	int transports;         /* DNS_PROTO_UDP | DNS_PROTO_TCP */
	int afs;                /* DNS_AF_4 | DNS_AF_6 */
	uint16_t port;          /* 53 */
	uint16_t edns_size;     /* 0: no OPT record at all */
	bool do_bit;            /* DNSSEC OK (needs EDNS) */
	bool nsid;              /* ask for NSID (needs EDNS) */
	bool rd;                /* recursion desired */
	bool tcp_on_truncation; /* retry a TC=1 UDP answer over TCP */
	cw_usec_t timeout;      /* per attempt */
	int retries;            /* further attempts after a timeout (UDP) */
	cw_usec_t late_window;  /* keep UDP open this long for late replies */
	/* The target serves the zone whose apex is qname (root servers and
	 * ".", a TLD's servers and the TLD): only then are the signs that
	 * need to know the server checked (not_authoritative,
	 * recursion_offered, impossible_answer; doc/results.md). */
	bool authoritative;
};

/* dns_spec_init: the RSSAC047 defaults: SOA of "." IN, UDP and TCP, IPv4
 * and IPv6, port 53, EDNS 1232 with NSID, no DO, no RD, 4 s timeout, no
 * retries, TCP on truncation, 200 ms late-reply window; not
 * authoritative (the caller says so when it knows the server). */
void dns_spec_init(struct dns_spec *spec);

/*
 * The rules over a filled spec that dns_spec_check() decides, one per
 * value or combination, in the order it checks them.  They are decided
 * here only: the configuration and `corewatch dns` both ask, so the two
 * cannot disagree.  What is left to the callers is reading their text
 * (a number, a name) and what only they have (the interval of a
 * configured measurement, the servers).
 */
enum dns_spec_rule {
	DNS_SPEC_EDNS_SIZE,   /* 0, or DNS_EDNS_SIZE_MIN to 65535 */
	DNS_SPEC_DO,          /* DNSSEC OK needs EDNS */
	DNS_SPEC_NSID,        /* NSID needs EDNS */
	DNS_SPEC_TIMEOUT,     /* per attempt: probe_timeout_check() */
	DNS_SPEC_LATE_WINDOW, /* 0 to DNS_LATE_WINDOW_MAX */
	DNS_SPEC_RULES
};

/* dns_spec_check: 0 when `spec` keeps `rule`; else -1 with the problem
 * in err, without the option's name, which each caller writes its own
 * way ("edns_size: ", "--edns-size: ").  A caller may put a problem in
 * words of its own where the fix is another option of its own
 * ("set edns_size"), as long as the decision is this function's. */
int dns_spec_check(const struct dns_spec *spec, enum dns_spec_rule rule,
    char *err, size_t errlen);

/* dns_spec_set_qname: validate and store a query name; -1 if it is not a
 * valid domain name. */
int dns_spec_set_qname(struct dns_spec *spec, const char *qname);

/* dns_spec_set_chaos: make the spec a CHAOS TXT query for `name`
 * (hostname.bind, id.server, version.bind ...); -1 on a bad name. */
int dns_spec_set_chaos(struct dns_spec *spec, const char *name);

/* dns_qtype_parse / dns_qclass_parse: "SOA", "TYPE65", "CH" ... to the
 * numeric value (case-insensitive); -1 when unknown, 0, or a zone
 * transfer type (AXFR, IXFR: multi-message answers are not measured). */
int dns_qtype_parse(const char *text);
int dns_qclass_parse(const char *text);

/* dns_proto_name: "udp" or "tcp". */
const char *dns_proto_name(enum dns_proto proto);

/* dns_qtype_name / dns_qclass_name: "SOA", "TYPE65", "IN", "CLASS3" ...
 * into buf (at least DNS_TYPE_STRLEN bytes); returns buf. */
#define DNS_TYPE_STRLEN 16
char *dns_qtype_name(ldns_rr_type type, char *buf, size_t len);
char *dns_qclass_name(ldns_rr_class klass, char *buf, size_t len);

/* dns_done_fn: the DNS-specific completion callback.  `reply` is the
 * parsed answer when one was accepted (NULL otherwise) and is valid only
 * during the call; `result` is owned by the callee. */
typedef void (*dns_done_fn)(json_t *result, const ldns_pkt *reply, void *arg);

struct dns_probe;

/* dns_probe_start: send `spec`'s query to `target` over `proto` and
 * report once through done(), always from the event loop, never from
 * inside this call (a socket that cannot be opened or a send that fails
 * is a result too).  The spec (its name included) and target are
 * copied.  Returns NULL only when nothing could be started (out of
 * memory; logged).  Do not cancel the probe from inside done():
 * it is freed right after done() returns. */
struct dns_probe *dns_probe_start(struct event_base *base,
    const struct dns_spec *spec, const struct target *target,
    enum dns_proto proto, dns_done_fn done, void *arg);

/* dns_run_start: dns_probe_start() for the generic interface
 * (probe.h): done() gets (result, true, arg).  The probe is the run. */
struct probe_run *dns_run_start(struct event_base *base,
    const struct dns_spec *spec, const struct target *target,
    enum dns_proto proto, probe_done_fn done, void *arg);

/* dns_run_cancel / dns_run_redirect: dns_probe_cancel and
 * dns_probe_redirect of a run dns_run_start() started. */
void dns_run_cancel(struct probe_run *run);
void dns_run_redirect(struct probe_run *run, probe_done_fn done, void *arg);

/* dns_measurement: the spec of a configured dns measurement
 * (probes/conf_dns.c), struct measurement's `spec`. */
struct dns_measurement {
	struct dns_spec spec; /* spec.name: the measurement's */
	bool qname_from_tld;  /* no qname given: each TLD's own */
};

/* dns_probe_kind: the DNS kind (probes/conf_dns.c). */
extern const struct probe_kind dns_probe_kind;

/* dns_probe_cancel: stop without calling done(); frees the probe. */
void dns_probe_cancel(struct dns_probe *probe);

/* dns_probe_redirect: report to done(result, reply, arg) instead of the
 * callback given at start, e.g. when the agent's tasks are rebuilt while
 * this query is on the wire and its result must still be kept. */
void dns_probe_redirect(struct dns_probe *probe, dns_done_fn done, void *arg);

/* --- The pure parts, exposed for unit tests and the TLD discovery --- */

/* dns_query_build: the query for `spec` with message ID `id` in wire
 * form.  Returns a buffer the caller frees with free() and its length,
 * or NULL (logged). */
uint8_t *dns_query_build(const struct dns_spec *spec, uint16_t id, size_t *len);

/* dns_reply_check: parse `wire` and check it answers the query `id` for
 * spec's question.  On CW_OK *reply holds the parsed packet (caller frees
 * with ldns_pkt_free).  Otherwise *reply is NULL and detail says why
 * (dns_malformed_response, dns_bad_id, dns_bad_question ...). */
enum cw_failure dns_reply_check(const struct dns_spec *spec, uint16_t id,
    const uint8_t *wire, size_t len, ldns_pkt **reply, char *detail,
    size_t detail_len);

/* dns_result_add_reply: add the reply's fields (rcode, flags, counts,
 * size, soa_serial, nsid, nsid_hex, txt, abuf) to `result` and return
 * the failure its rcode means (CW_OK for NOERROR).  `wire`/`len` are the
 * bytes `reply` was parsed from (counts and abuf come from them). */
enum cw_failure dns_result_add_reply(json_t *result,
    const struct dns_spec *spec, const ldns_pkt *reply, const uint8_t *wire,
    size_t len);

/* dns_result_add_abuf: store `wire` as base64 under `key` ("abuf");
 * nothing when len is 0. */
void dns_result_add_abuf(json_t *result, const char *key, const uint8_t *wire,
    size_t len);

/* dns_reply_rcode: the reply's rcode, its EDNS extended bits included. */
unsigned dns_reply_rcode(const ldns_pkt *reply);

/* dns_rcode_name: the name of an rcode ("NOERROR", "BADVERS",
 * "RCODE12") into buf, at least DNS_RCODE_STRLEN bytes. */
#define DNS_RCODE_STRLEN 16
void dns_rcode_name(unsigned rcode, char *buf, size_t len);

/*
 * Anomalies (probes/dns_anomaly.c): signs that an answer is not the real
 * server's, each a documented name with the facts that raised it
 * (doc/results.md).  A result's "anomalies" is a list of
 * {"name": NAME, "evidence": {...}}, empty when no sign was seen.  The
 * signs here are read from one exchange; signs that need history or
 * other servers add their names to the enum and their elements with
 * dns_anomaly_add().
 */
enum dns_anomaly {
	DNS_ANOMALY_NOT_AUTHORITATIVE,  /* AA clear from its own zone */
	DNS_ANOMALY_RECURSION_OFFERED,  /* RA set by an authoritative server */
	DNS_ANOMALY_IMPOSSIBLE_ANSWER,  /* NXDOMAIN or NODATA at the apex */
	DNS_ANOMALY_NON_DNS_ON_TCP,     /* the TCP reply is not DNS */
	DNS_ANOMALY_LATE_REPLY_DIFFERS, /* a late UDP reply differs */
	DNS_ANOMALIES
};

/* dns_anomaly_name: the stable name ("not_authoritative" ...). */
const char *dns_anomaly_name(enum dns_anomaly anomaly);

/* dns_anomaly_add: append {"name", "evidence"} to the array `list`.
 * Takes the reference to `evidence` (an object), also on failure;
 * -1 when out of memory. */
int dns_anomaly_add(json_t *list, enum dns_anomaly anomaly, json_t *evidence);

/* dns_reply_impossible: true when `reply` says the apex qname of a zone
 * the server serves does not exist (NXDOMAIN), or that it has no SOA
 * (an SOA query answered NOERROR without an SOA record owned by qname
 * in the answer section).  Meaningful only for spec->authoritative. */
bool dns_reply_impossible(const struct dns_spec *spec, const ldns_pkt *reply);

/* dns_anomalies_reply: append the signs an accepted reply carries to
 * `list`; none unless spec->authoritative.  -1 when out of memory. */
int dns_anomalies_reply(json_t *list, const struct dns_spec *spec,
    const ldns_pkt *reply);

/* dns_bytes_looks_like: what the first bytes of a stream are when they
 * are a known protocol other than DNS: "http" ("HTTP/"), "tls" (a TLS
 * alert or handshake record header), "ssh" ("SSH-"); NULL otherwise. */
const char *dns_bytes_looks_like(const uint8_t *head, size_t len);

/* dns_tcp_non_dns: what the first `len` bytes of a TCP stream look like
 * when no reply was accepted from it and they are not DNS: a known
 * protocol (dns_bytes_looks_like), or "other".  Bytes are DNS when a
 * whole message of them parsed as DNS (`parsed`), or when they begin a
 * reply to query `id` (a length prefix of a whole header, then `id`,
 * then flags with QR set when there are more than four bytes).
 * NULL when they are DNS, or too few to tell (under four bytes that
 * match nothing and announce a whole header). */
const char *dns_tcp_non_dns(const uint8_t *head, size_t len, uint16_t id,
    bool parsed);

/* dns_anomaly_non_dns_on_tcp: append non_dns_on_tcp, saying it looks
 * like `looks_like`, with up to DNS_TCP_HEAD_MAX of `head` in hex, to
 * `list`.  -1 when out of memory. */
#define DNS_TCP_HEAD_MAX 16
int dns_anomaly_non_dns_on_tcp(json_t *list, const char *looks_like,
    const uint8_t *head, size_t len);

/* dns_text_escape: bytes from the network as printable text: ASCII
 * 0x20-0x7e as is, except that a backslash is doubled; every other byte
 * as \DDD (three decimal digits, as in zone files).  Returns a string
 * the caller frees, NULL when out of memory. */
char *dns_text_escape(const uint8_t *data, size_t len);

#endif
