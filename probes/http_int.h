/*
 * http_int.h -- what the parts of the HTTP measurement share, and
 * nothing outside them includes: the engine, the run and its transfers
 * as structs, and the functions one part calls in another.  http.c
 * runs the transfers, http_lookup.c resolves the host (the hosts file,
 * then the nameservers of resolv.conf), http_result.c writes a
 * transfer's result and decides its failure.
 */
#ifndef CW_HTTP_INT_H
#define CW_HTTP_INT_H

#include <sys/types.h>
#include <netinet/in.h>

#include <regex.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/x509.h>
#include <sodium.h>

#include "cwtime.h"
#include "dns.h"
#include "failure.h"
#include "http.h"

#define HTTP_CASTORES     8  /* CA files kept loaded */
#define HTTP_IDLE_HANDLES 64 /* easy handles kept for reuse */

/* What a file the resolver reads was like when it was read: any field
 * that differs later means it was written, replaced or removed since. */
struct http_file_stamp {
	bool present;
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The certificates trusted for a `cafile` (NULL: the system's), loaded
 * once and shared by the connections that use them. */
struct http_castore {
	char *path;
	struct timespec mtime;
	X509_STORE *store;
};

struct http_engine {
	struct event_base *base;
	struct curlev *cv;
	struct evdns_base *dns;       /* the nameservers: a list */
	struct evdns_base *hosts_dns; /* the hosts file's alone */
	size_t in_flight;             /* transfers */
	struct http_castore stores[HTTP_CASTORES];
	size_t nstores;
	CURL *idle[HTTP_IDLE_HANDLES]; /* reset */
	size_t nidle;
	char *resolv_conf;                   /* the nameservers' file */
	struct http_file_stamp resolv_stamp; /* as it was read */
	char *hosts;                         /* looked in first */
	struct http_file_stamp hosts_stamp;
};

/* One request to one address. */
struct http_xfer {
	struct http_probe *run;
	CURL *easy;
	struct curl_slist *connect_to;
	char addr[INET6_ADDRSTRLEN]; /* "" unknown */
	cw_usec_t started;           /* real time */
	char errbuf[CURL_ERROR_SIZE];
	crypto_hash_sha256_state sha;
	uint64_t body_bytes;
	bool truncated;
	bool head_done; /* a header section ended */
	char *body;     /* kept for the pattern */
	size_t kept;    /* its length */
	json_t *tls;
	enum cw_failure tls_failure;
	char tls_detail[256];
};

struct http_probe {
	struct http_engine *engine;
	http_done_fn done;
	void *arg;
	int af;

	/* Copied from the spec. */
	char *name;
	char *url;
	char *host; /* no brackets */
	bool host_literal;
	bool https;
	long port;
	enum http_method method;
	cw_usec_t timeout;
	struct http_status_range *expect;
	size_t nexpect;
	uint64_t max_body;
	bool have_pattern;
	regex_t pattern;
	struct curl_slist *headers;
	char *proxy;
	char *cafile;
	bool follow;
	long max_redirects;

	cw_usec_t t0; /* monotonic: the run began */
	cw_usec_t t0_real;
	cw_usec_t dns_usec;      /* -1: no lookup */
	json_t *resolved;        /* the lookup's addresses */
	struct dns_probe *query; /* the lookup's, in flight */
	int nameserver;          /* the one it asks: its index */
	struct event *deadline;  /* of the lookup */
	struct event *later;     /* reports `failed` */
	json_t *failed;          /* a result without transfer */
	struct http_xfer **xfers;
	size_t nxfers, left;
};

/* --- http.c: transfers and runs --- */

/* http_xfer_start: start one transfer of run to `addr` (NULL: let
 * libcurl connect, through the proxy or to the literal host); its
 * result comes through run->done.  Returns 0, or -1 (logged; nothing
 * started, run unchanged but for its grown array). */
int http_xfer_start(struct http_probe *run, const char *addr);

/* http_run_fail: end the run with one result without an address:
 * `failure` and `detail` (copied), the keys of a request that got no
 * response.  Reported from the loop, never from inside this call;
 * the run is freed after it is reported. */
void http_run_fail(struct http_probe *run, enum cw_failure failure,
    const char *detail);

/* --- http_lookup.c: the host's addresses --- */

/* http_lookup_start: resolve the run's host in its family: in the
 * hosts file, else at the nameservers of resolv_conf, one after the
 * other, re-read first when either file changed.  The addresses go to
 * run->resolved and a transfer starts to each; a lookup that fails
 * ends the run through http_run_fail().  Arms run->deadline.  Returns
 * 0 (-1 is kept for a lookup that cannot start at all). */
int http_lookup_start(struct http_probe *run);

/* http_deadline_cb: the event callback of run->deadline (arg: the
 * run): the lookup took the run's whole time; cancels it and ends the
 * run with a timeout. */
void http_deadline_cb(evutil_socket_t fd, short what, void *arg);

/* http_file_changed: whether `path` is not as *stamp says (written,
 * replaced, appeared or gone); *stamp becomes what it is now. */
bool http_file_changed(const char *path, struct http_file_stamp *stamp);

/* http_hosts_load: (re)load eng->hosts into eng->hosts_dns, replacing
 * what was loaded before.  Returns evdns_base_load_hosts()'s result:
 * 0, or non-zero when the file cannot be read (evdns then knows only
 * localhost). */
int http_hosts_load(struct http_engine *eng);

/* --- http_result.c: what a result says --- */

/* http_result_new: a new result of run with its common keys (url,
 * method, host, port, addr, af, dns_ms, resolved ...) for `addr` (""
 * or NULL: none), taken at `when` (real time).  The caller owns it;
 * NULL when out of memory. */
json_t *http_result_new(struct http_probe *run, const char *addr,
    cw_usec_t when);

/* http_result_http: add what the server said on transfer x (status,
 * version, times, sizes, the body's hash, redirects, TLS) to r.
 * Finishes x's hash: once per transfer.  r keeps its own reference to
 * x's TLS object. */
void http_result_http(struct http_probe *run, struct http_xfer *x, json_t *r,
    long status);

/* http_xfer_verdict: set r's ok or failure for transfer x, which
 * ended with libcurl's `code` and HTTP `status`: the TLS check, then
 * libcurl's code, the status expected, the body pattern. */
void http_xfer_verdict(struct http_probe *run, struct http_xfer *x, json_t *r,
    CURLcode code, long status);

/* http_cert_json: a certificate's subject, issuer and validity as a
 * new JSON object the caller owns; NULL when out of memory. */
json_t *http_cert_json(X509 *cert);

#endif /* CW_HTTP_INT_H */
