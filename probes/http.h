/*
 * http.h -- the HTTP measurement: one cold request for a URL to one
 * address, with libcurl's multi socket API on the probe's libevent loop.
 *
 * A run measures one URL in one address family.  When the spec pins
 * addresses, or the URL's host is an address, the run measures that one
 * address; otherwise it first resolves the host (in the hosts file,
 * else with the probe's own DNS queries, probes/dns.c, to the
 * nameservers of resolv.conf in turn: no cache, no threads of ours)
 * and then measures every address the answer holds, each on its own
 * fresh connection, pinned with
 * CURLOPT_CONNECT_TO so Host and SNI stay the URL's.  Each address
 * gives one result (doc/results.md, "HTTP results"); a host that does
 * not resolve gives one result without an address.
 *
 * Every request is cold: a fresh connection, no DNS cache, no TLS
 * session resumption, no proxy from the environment.  TLS is verified
 * by the probe (OpenSSL, after the handshake and before the request is
 * sent), so the certificates are recorded whether or not they verify,
 * and no request goes to a server whose certificate did not verify.
 */
#ifndef CW_HTTP_H
#define CW_HTTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/event.h>
#include <jansson.h>

#include "cwtime.h"
#include "failure.h"
#include "probe.h"
#include "target.h"

#define HTTP_AF_4 1
#define HTTP_AF_6 2

#define HTTP_MAX_BODY_DEFAULT  (UINT64_C(1) << 20) /* 1 MiB */
#define HTTP_TIMEOUT_DEFAULT   (10 * CW_USEC_PER_SEC)
#define HTTP_MAX_BODY_MAX      (UINT64_C(1) << 30) /* 1 GiB */
#define HTTP_REDIRECTS_DEFAULT 5
#define HTTP_REDIRECTS_MAX     50
#define HTTP_URL_MAX           2048

enum http_method {
	HTTP_GET = 0,
	HTTP_HEAD,
};

/* An accepted status, lo..hi inclusive ("200", "200-299", "3xx"). */
struct http_status_range {
	uint16_t lo, hi;
};

/*
 * http_spec: what to measure.  The strings and arrays belong to whoever
 * fills the spec (the config, the command line); a run copies what it
 * needs at start, so the spec may go away while runs are in flight.
 */
struct http_spec {
	const char *name; /* measurement name; may be NULL */
	const char *url;  /* http:// or https:// */
	enum http_method method;
	int afs;           /* HTTP_AF_4 | HTTP_AF_6 */
	cw_usec_t timeout; /* the whole run, resolution included */
	const struct http_status_range *expect; /* none: 200-399 */
	size_t nexpect;
	uint64_t max_body;          /* body bytes read at most */
	const char *body_pattern;   /* POSIX extended regex; NULL: none */
	const char *const *headers; /* "Name: value" lines */
	size_t nheaders;
	const char *proxy;     /* NULL: none (never the environment's) */
	const char *cafile;    /* NULL: the system's CA bundle */
	bool follow_redirects; /* false: report the Location only */
	long max_redirects;
};

/* http_spec_init: GET, both families, 10 s, 200-399, 1 MiB, no
 * redirects followed (5 at most when they are). */
void http_spec_init(struct http_spec *spec);

/*
 * The rules over a filled spec that http_spec_check() decides, one per
 * value or combination, in the order it checks them.  They are decided
 * here only: the configuration and `corewatch http` both ask, so the two
 * cannot disagree.  What is left to the callers is reading their text
 * (a size, a regular expression) and what only they have (the interval
 * of a configured measurement).
 */
enum http_spec_rule {
	HTTP_SPEC_MAX_BODY,     /* 1 byte to HTTP_MAX_BODY_MAX */
	HTTP_SPEC_BODY_PATTERN, /* not empty; not with HEAD */
	HTTP_SPEC_PROXY,        /* http(s)://, socks4(a)://, socks5(h)://
				 * (the uploads' proxy too: conf.c) */
	HTTP_SPEC_CAFILE,       /* a file this process may read */
	HTTP_SPEC_TIMEOUT,      /* probe_timeout_check() */
	HTTP_SPEC_RULES
};

/* http_spec_check: 0 when `spec` keeps `rule`; else -1 with the problem
 * in err, without the option's name, which each caller writes its own
 * way ("max_body: ", "--max-body: ").  HTTP_SPEC_CAFILE looks at the
 * file system as it is now. */
int http_spec_check(const struct http_spec *spec, enum http_spec_rule rule,
    char *err, size_t errlen);

/* http_url_check: true when `url` is an http:// or https:// URL with a
 * host that libcurl accepts, at most HTTP_URL_MAX bytes, without
 * credentials (a user:password in a result would leak it); otherwise
 * false with the reason in err. */
bool http_url_check(const char *url, char *err, size_t errlen);

/* http_url_host_af: 4 or 6 when the host of `url` is an IPv4 or IPv6
 * address, 0 for a name (or a URL http_url_check refuses). */
int http_url_host_af(const char *url);

/* http_status_parse: "200", "200-299" or "2xx" into *range; -1 for
 * anything else (codes are 100..599). */
int http_status_parse(const char *text, struct http_status_range *range);

/* http_pattern_check: -1 with the reason in err when `pattern` is not a
 * valid POSIX extended regular expression. */
int http_pattern_check(const char *pattern, char *err, size_t errlen);

/* http_header_check: -1 with the reason in err unless `line` is
 * "Name: value" with a token name and no CR or LF anywhere. */
int http_header_check(const char *line, char *err, size_t errlen);

/*
 * http_engine: what the runs of one event loop share: libcurl's multi
 * handle and the resolver.  Free it only when no run is left.
 */
struct http_engine;

/* http_engine_new: the engine of `base`; host names are looked up in
 * `hosts` (NULL: /etc/hosts; localhost only when it cannot be read),
 * then at the nameservers of `resolv_conf` (NULL: /etc/resolv.conf,
 * and 127.0.0.1 when that file is missing); each is read again before
 * a lookup whenever it changed.  NULL when libcurl or the resolver
 * cannot be set up, or an explicit resolv_conf or hosts cannot be read
 * (logged). */
struct http_engine *http_engine_new(struct event_base *base,
    const char *resolv_conf, const char *hosts);

/* http_engine_free: NULL is fine. */
void http_engine_free(struct http_engine *engine);

/* http_engine_in_flight: transfers not finished yet (for figures). */
size_t http_engine_in_flight(const struct http_engine *engine);

/* http_done_fn: one result (owned by the callee); `last` is true for
 * the run's last one, after which the run is freed. */
typedef void (*http_done_fn)(json_t *result, bool last, void *arg);

struct http_probe;

/*
 * http_probe_start: measure spec's URL in family `af` (4 or 6), at
 * `pinned` when it is not NULL (its port is ignored: the URL's is
 * used), else at every address the host resolves to.  Results come
 * through done(), always from the event loop, never from inside this
 * call.  Returns NULL only when nothing could be started (out of
 * memory, a URL libcurl refuses; logged).  Do not cancel the run from
 * inside done().
 */
struct http_probe *http_probe_start(struct http_engine *engine,
    const struct http_spec *spec, const struct target *pinned, int af,
    http_done_fn done, void *arg);

/* http_probe_cancel: stop without calling done() again; frees the run. */
void http_probe_cancel(struct http_probe *probe);

/* http_probe_redirect: report to done(result, last, arg) instead. */
void http_probe_redirect(struct http_probe *probe, http_done_fn done,
    void *arg);

/*
 * http_measurement: the spec of a configured http measurement
 * (probes/conf_http.c), struct measurement's `spec`.  The strings and
 * arrays `spec` points at belong to it.
 */
struct http_measurement {
	struct http_spec spec; /* spec.name: the measurement's */
	char *url;
	char *body_pattern; /* NULL: none */
	char *proxy;        /* NULL: none */
	char *cafile;       /* NULL: the system's CAs */
	char **headers;
	struct http_status_range *expect;
};

/* http_probe_kind: the HTTP kind (probes/conf_http.c). */
extern const struct probe_kind http_probe_kind;

/* --- the pure parts, for unit tests --- */

/* http_failure_from_curl: the failure a libcurl result code means;
 * `os_errno` (CURLINFO_OS_ERRNO) refines connection failures. */
enum cw_failure http_failure_from_curl(int code, long os_errno);

/* http_failure_from_verify: the failure an OpenSSL verification result
 * (X509_V_ERR_*) means: ssl_unknown_authority for an issuer not
 * trusted or a self-signed certificate, ssl_invalid_certificate for
 * the rest (expired, not yet valid, revoked ...). */
enum cw_failure http_failure_from_verify(long verify_result);

/* http_failure_of_lookup: the failure of a result whose host's lookup
 * failed with the DNS failure `dns` at the last nameserver asked: the
 * same, but for a nameserver whose port is closed (ICMP port
 * unreachable, connection_refused), which refuses the lookup as an
 * rcode REFUSED does: dns_refused_error. */
enum cw_failure http_failure_of_lookup(enum cw_failure dns);

/* http_status_expected: is `status` in the ranges (none: 200-399)? */
bool http_status_expected(const struct http_spec *spec, long status);

#endif
