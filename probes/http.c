/*
 * http.c -- the HTTP measurement (http.h).
 *
 * A run is one URL in one address family.  Unless the address is
 * pinned or literal it resolves the host: evdns looks in the hosts
 * file and reads resolv.conf; the nameservers are asked with the
 * probe's own DNS query (probes/dns.c), one after the other
 * (http_lookup.c).  Then it starts one
 * transfer per address (struct http_xfer) on the engine's curlev.
 * Each transfer reports one result (written by http_result.c); the
 * run's last one says so.
 *
 * TLS: libcurl is told not to verify, and http_xfer_prereq(), which
 * libcurl calls once the connection (TLS included) is up and before
 * the request is sent, reads the OpenSSL session: version, cipher,
 * the peer's chain, the chain's verification result and the host name
 * check.  A certificate that does not verify aborts the transfer
 * there, so nothing is ever sent to a server that failed, and the
 * certificates are still in the result as evidence.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/dns.h>
#include <event2/util.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <openssl/x509v3.h>
#include <sodium.h>

#include "curlev.h"
#include "dns.h"
#include "fileio.h"
#include "http.h"
#include "http_int.h"
#include "log.h"
#include "result.h"

#define HTTP_BUFFER_SIZE 8192L              /* libcurl's receive buffer */
#define HTTP_CERTS_MAX   8                  /* certificates kept per chain */
#define HTTP_PATTERN_MAX ((size_t)16 << 20) /* body bytes matched */
#define HTTP_RESOLV_CONF "/etc/resolv.conf"
#define HTTP_HOSTS       "/etc/hosts"

static void http_run_free(struct http_probe *);

/* --- the pure parts --- */

void
http_spec_init(struct http_spec *spec)
{
	memset(spec, 0, sizeof(*spec));
	spec->method = HTTP_GET;
	spec->afs = HTTP_AF_4 | HTTP_AF_6;
	spec->timeout = HTTP_TIMEOUT_DEFAULT;
	spec->max_body = HTTP_MAX_BODY_DEFAULT;
	spec->max_redirects = HTTP_REDIRECTS_DEFAULT;
}

/* http_proxy_ok: a proxy URL of a scheme libcurl is given, with more
 * than the scheme, at most 1024 characters, none a control one. */
static bool
http_proxy_ok(const char *proxy)
{
	static const char *const schemes[] = {
		"http://",
		"https://",
		"socks4://",
		"socks4a://",
		"socks5://",
		"socks5h://",
	};
	size_t n = strlen(proxy);

	if (n > 1024)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)proxy[i] < 0x20 || proxy[i] == 0x7f)
			return false;
	for (size_t i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++)
		if (strncasecmp(proxy, schemes[i], strlen(schemes[i])) == 0 &&
		    n > strlen(schemes[i]))
			return true;
	return false;
}

int
http_spec_check(const struct http_spec *spec, enum http_spec_rule rule,
    char *err, size_t errlen)
{
	switch (rule) {
	case HTTP_SPEC_MAX_BODY:
		if (spec->max_body >= 1 && spec->max_body <= HTTP_MAX_BODY_MAX)
			return 0;
		snprintf(err, errlen, "from 1 byte to 1G");
		return -1;
	case HTTP_SPEC_BODY_PATTERN:
		if (spec->body_pattern == NULL)
			return 0;
		/* An empty pattern matches anything: a mistake, not a
		 * check. */
		if (*spec->body_pattern == '\0')
			snprintf(err, errlen,
			    "empty (leave it out for no "
			    "pattern)");
		else if (spec->method == HTTP_HEAD)
			snprintf(err, errlen,
			    "a HEAD request reads no body "
			    "(use GET)");
		else
			return 0;
		return -1;
	case HTTP_SPEC_PROXY:
		if (spec->proxy == NULL || http_proxy_ok(spec->proxy))
			return 0;
		snprintf(err, errlen,
		    "\"%s\" is not an http://, https://, "
		    "socks4://, socks4a://, socks5:// or socks5h:// URL",
		    spec->proxy);
		return -1;
	case HTTP_SPEC_CAFILE:
		if (spec->cafile == NULL || fileio_readable(spec->cafile) == 0)
			return 0;
		snprintf(err, errlen, "%s: %s", spec->cafile, strerror(errno));
		return -1;
	case HTTP_SPEC_TIMEOUT:
		return probe_timeout_check(spec->timeout, err, errlen);
	case HTTP_SPEC_RULES:
		break;
	}
	snprintf(err, errlen, "no such rule");
	return -1;
}

/* http_url_split: scheme, host (brackets removed) and port of `url`;
 * the caller frees *host.  -1 with a reason in err. */
static int
http_url_split(const char *url, char **host, long *port, bool *https, char *err,
    size_t errlen)
{
	CURLU *u;
	CURLUcode rc;
	char *scheme = NULL, *h = NULL, *p = NULL, *user = NULL;
	int ret = -1;

	*host = NULL;
	if ((u = curl_url()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	if ((rc = curl_url_set(u, CURLUPART_URL, url, 0)) != CURLUE_OK) {
		snprintf(err, errlen, "%s", curl_url_strerror(rc));
		goto out;
	}
	if (curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    (strcasecmp(scheme, "http") != 0 &&
	        strcasecmp(scheme, "https") != 0)) {
		snprintf(err, errlen, "only http:// and https:// URLs");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_USER, &user, 0) == CURLUE_OK) {
		snprintf(err, errlen,
		    "no user name or password in the URL: "
		    "it would be written into every result");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_HOST, &h, 0) != CURLUE_OK ||
	    h[0] == '\0') {
		snprintf(err, errlen, "no host");
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PORT, &p, CURLU_DEFAULT_PORT) !=
	    CURLUE_OK) {
		snprintf(err, errlen, "no port");
		goto out;
	}
	if (h[0] == '[') {
		size_t n = strlen(h);
		memmove(h, h + 1, n - 2);
		h[n - 2] = '\0';
	}
	if ((*host = strdup(h)) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	*port = strtol(p, NULL, 10);
	*https = strcasecmp(scheme, "https") == 0;
	ret = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_free(p);
	curl_free(user);
	curl_url_cleanup(u);
	return ret;
}

bool
http_url_check(const char *url, char *err, size_t errlen)
{
	char *host;
	long port;
	bool https;

	if (strlen(url) > HTTP_URL_MAX) {
		snprintf(err, errlen, "longer than %d bytes", HTTP_URL_MAX);
		return false;
	}
	if (http_url_split(url, &host, &port, &https, err, errlen) == -1)
		return false;
	free(host);
	return true;
}

/* http_host_af: 4 or 6 for an address literal, 0 for a name. */
static int
http_host_af(const char *host)
{
	unsigned char bin[sizeof(struct in6_addr)];

	if (inet_pton(AF_INET, host, bin) == 1)
		return 4;
	if (inet_pton(AF_INET6, host, bin) == 1)
		return 6;
	return 0;
}

int
http_url_host_af(const char *url)
{
	char *host, err[128];
	long port;
	bool https;
	int af;

	if (http_url_split(url, &host, &port, &https, err, sizeof(err)) == -1)
		return 0;
	af = http_host_af(host);
	free(host);
	return af;
}

int
http_status_parse(const char *text, struct http_status_range *range)
{
	unsigned lo, hi;
	char x1, x2, tail;

	if (sscanf(text, "%1u%c%c%c", &lo, &x1, &x2, &tail) == 3 &&
	    (x1 == 'x' || x1 == 'X') && (x2 == 'x' || x2 == 'X')) {
		if (lo < 1 || lo > 5)
			return -1;
		range->lo = (uint16_t)(lo * 100);
		range->hi = (uint16_t)(lo * 100 + 99);
		return 0;
	}
	if (strspn(text, "0123456789-") != strlen(text))
		return -1;
	if (sscanf(text, "%3u-%3u%c", &lo, &hi, &tail) == 2 &&
	    strlen(text) == 7) {
		;
	} else if (sscanf(text, "%3u%c", &lo, &tail) == 1 && strlen(text) == 3)
		hi = lo;
	else
		return -1;
	if (lo < 100 || hi > 599 || lo > hi)
		return -1;
	range->lo = (uint16_t)lo;
	range->hi = (uint16_t)hi;
	return 0;
}

int
http_pattern_check(const char *pattern, char *err, size_t errlen)
{
	regex_t re;
	int rc;

	if ((rc = regcomp(&re, pattern, REG_EXTENDED | REG_NOSUB)) != 0) {
		regerror(rc, &re, err, errlen);
		return -1;
	}
	regfree(&re);
	return 0;
}

int
http_header_check(const char *line, char *err, size_t errlen)
{
	/* RFC 9110 5.6.2: token characters. */
	static const char tchar[] =
	    "!#$%&'*+-.^_`|~0123456789"
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
	size_t name = strspn(line, tchar);

	if (strpbrk(line, "\r\n") != NULL) {
		snprintf(err, errlen, "a header may not hold CR or LF");
		return -1;
	}
	if (name == 0 || line[name] != ':') {
		snprintf(err, errlen, "a header is \"Name: value\"");
		return -1;
	}
	return 0;
}

bool
http_status_expected(const struct http_spec *spec, long status)
{
	if (spec->nexpect == 0)
		return status >= 200 && status <= 399;
	for (size_t i = 0; i < spec->nexpect; i++)
		if (status >= spec->expect[i].lo &&
		    status <= spec->expect[i].hi)
			return true;
	return false;
}

/* --- TLS, read from the OpenSSL session --- */

/* http_host_matches: the leaf certificate is valid for `host`. */
static int http_host_af(const char *);

static bool
http_host_matches(X509 *leaf, const char *host)
{
	if (http_host_af(host) != 0)
		return X509_check_ip_asc(leaf, host, 0) == 1;
	return X509_check_host(leaf, host, 0, 0, NULL) == 1;
}

/* http_xfer_tls: record the session of x's connection to `host` and
 * decide whether it may carry the request. */
static void
http_xfer_tls(struct http_xfer *x, SSL *ssl, const char *host)
{
	STACK_OF(X509) *chain = SSL_get_peer_cert_chain(ssl);
	X509 *leaf = SSL_get0_peer_certificate(ssl);
	const SSL_CIPHER *cipher = SSL_get_current_cipher(ssl);
	long verify = SSL_get_verify_result(ssl);
	json_t *certs = json_array();
	int n = chain != NULL ? sk_X509_num(chain) : 0;

	json_decref(x->tls);
	if ((x->tls = json_object()) == NULL) {
		json_decref(certs);
		return;
	}
	json_object_set_new(x->tls, "version",
	    json_string(SSL_get_version(ssl)));
	json_object_set_new(x->tls, "cipher",
	    cipher != NULL ? json_string(SSL_CIPHER_get_name(cipher)) :
	                     json_null());
	x->tls_failure = CW_OK;
	if (leaf == NULL) {
		x->tls_failure = CW_FAIL_SSL_INVALID_CERTIFICATE;
		snprintf(x->tls_detail, sizeof(x->tls_detail),
		    "the server sent no certificate");
	} else if (verify != X509_V_OK) {
		x->tls_failure = http_failure_from_verify(verify);
		snprintf(x->tls_detail, sizeof(x->tls_detail), "%s",
		    X509_verify_cert_error_string(verify));
	} else if (!http_host_matches(leaf, host)) {
		x->tls_failure = CW_FAIL_SSL_INVALID_HOSTNAME;
		snprintf(x->tls_detail, sizeof(x->tls_detail),
		    "the certificate is not valid for %s", host);
	}
	json_object_set_new(x->tls, "verified",
	    json_boolean(x->tls_failure == CW_OK));
	json_object_set_new(x->tls, "verify_error",
	    x->tls_failure == CW_OK ? json_null() : json_string(x->tls_detail));
	for (int i = 0; i < n && i < HTTP_CERTS_MAX && certs != NULL; i++)
		json_array_append_new(certs,
		    http_cert_json(sk_X509_value(chain, i)));
	if (certs != NULL)
		json_object_set_new(x->tls, "certs", certs);
}

/* http_castore_load: a store of the CAs in `path` (NULL: the
 * system's); NULL when they cannot be read. */
static X509_STORE *
http_castore_load(const char *path)
{
	X509_STORE *store = X509_STORE_new();

	if (store == NULL)
		return NULL;
	if ((path == NULL ? X509_STORE_set_default_paths(store) :
	                    X509_STORE_load_file(store, path)) != 1) {
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/* http_castore_get: the engine's store for `path`, loaded again when
 * the file changed.  NULL when it cannot be read (logged). */
static X509_STORE *
http_castore_get(struct http_engine *eng, const char *path)
{
	struct http_castore *cs = NULL;
	struct stat st;
	X509_STORE *store;

	memset(&st, 0, sizeof(st));
	if (path != NULL && stat(path, &st) == -1) {
		log_warn("http: CA file %s", path);
		return NULL;
	}
	for (size_t i = 0; i < eng->nstores && cs == NULL; i++)
		if ((path == NULL && eng->stores[i].path == NULL) ||
		    (path != NULL && eng->stores[i].path != NULL &&
		        strcmp(path, eng->stores[i].path) == 0))
			cs = &eng->stores[i];
	if (cs != NULL && cs->mtime.tv_sec == st.st_mtim.tv_sec &&
	    cs->mtime.tv_nsec == st.st_mtim.tv_nsec)
		return cs->store;
	if ((store = http_castore_load(path)) == NULL) {
		log_warnx("http: cannot load the CAs of %s",
		    path != NULL ? path : "the system");
		return NULL;
	}
	if (cs == NULL) {
		/* Full: the oldest entry goes. */
		if (eng->nstores == HTTP_CASTORES) {
			X509_STORE_free(eng->stores[0].store);
			free(eng->stores[0].path);
			memmove(&eng->stores[0], &eng->stores[1],
			    (HTTP_CASTORES - 1) * sizeof(eng->stores[0]));
			eng->nstores--;
		}
		cs = &eng->stores[eng->nstores];
		memset(cs, 0, sizeof(*cs));
		if (path != NULL && (cs->path = strdup(path)) == NULL) {
			X509_STORE_free(store);
			return NULL;
		}
		eng->nstores++;
	}
	X509_STORE_free(cs->store);
	cs->store = store;
	cs->mtime = st.st_mtim;
	return store;
}

/* http_xfer_sslctx: CURLOPT_SSL_CTX_FUNCTION: libcurl does not verify
 * (so that the probe can record what it sees) and then loads no CAs;
 * the probe's own verification needs them in the context. */
static CURLcode
http_xfer_sslctx(CURL *easy, void *sslctx, void *arg)
{
	struct http_xfer *x = arg;
	X509_STORE *store;

	(void)easy;
	if ((store = http_castore_get(x->run->engine, x->run->cafile)) == NULL)
		return CURLE_SSL_CACERT_BADFILE;
	SSL_CTX_set1_cert_store(sslctx, store);
	return CURLE_OK;
}

/* http_xfer_prereq: CURLOPT_PREREQFUNCTION: the connection is up (TLS
 * done), no request sent yet. */
static int
http_xfer_prereq(void *arg, char *primary_ip, char *local_ip, int primary_port,
    int local_port)
{
	struct http_xfer *x = arg;
	struct http_probe *run = x->run;
	struct curl_tlssessioninfo *info = NULL;
	const char *host = run->host;
	char *url = NULL, *hop = NULL, err[128];
	long port;
	bool https = run->https;

	(void)local_ip;
	(void)primary_port;
	(void)local_port;
	if (x->addr[0] == '\0' && primary_ip != NULL && run->proxy == NULL)
		snprintf(x->addr, sizeof(x->addr), "%s", primary_ip);
	/* A redirect followed may lead to another host or scheme. */
	if (run->follow) {
		if (curl_easy_getinfo(x->easy, CURLINFO_EFFECTIVE_URL, &url) !=
		        CURLE_OK ||
		    url == NULL ||
		    http_url_split(url, &hop, &port, &https, err,
		        sizeof(err)) == -1) {
			free(hop);
			return CURL_PREREQFUNC_OK;
		}
		host = hop;
	}
	if (!https) {
		free(hop);
		return CURL_PREREQFUNC_OK;
	}
	if (curl_easy_getinfo(x->easy, CURLINFO_TLS_SSL_PTR, &info) !=
	        CURLE_OK ||
	    info == NULL || info->internals == NULL ||
	    info->backend != CURLSSLBACKEND_OPENSSL) {
		x->tls_failure = CW_FAIL_INTERNAL;
		snprintf(x->tls_detail, sizeof(x->tls_detail),
		    "libcurl does "
		    "not use OpenSSL: the certificate cannot be checked");
		free(hop);
		return CURL_PREREQFUNC_ABORT;
	}
	http_xfer_tls(x, info->internals, host);
	free(hop);
	return x->tls_failure == CW_OK ? CURL_PREREQFUNC_OK :
	                                 CURL_PREREQFUNC_ABORT;
}

/* --- transfers --- */

/* http_xfer_write: CURLOPT_WRITEFUNCTION: hash (and keep, for the
 * pattern) at most max_body bytes, then stop reading. */
static size_t
http_xfer_write(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	struct http_probe *run = x->run;
	size_t n = size * nmemb, take = n;

	if (run->max_body - x->body_bytes < take)
		take = (size_t)(run->max_body - x->body_bytes);
	crypto_hash_sha256_update(&x->sha, (const unsigned char *)data, take);
	if (run->have_pattern && take > 0 && x->kept < HTTP_PATTERN_MAX) {
		size_t keep = take < HTTP_PATTERN_MAX - x->kept ?
		    take :
		    HTTP_PATTERN_MAX - x->kept;
		char *grown = realloc(x->body, x->kept + keep + 1);
		if (grown == NULL)
			return 0;
		x->body = grown;
		memcpy(x->body + x->kept, data, keep);
		x->kept += keep;
		x->body[x->kept] = '\0';
	}
	x->body_bytes += take;
	if (take < n) {
		x->truncated = true;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	return n;
}

/* http_xfer_header: CURLOPT_HEADERFUNCTION: note where a response's
 * header section begins (its status line) and ends (the empty line). */
static size_t
http_xfer_header(char *data, size_t size, size_t nmemb, void *arg)
{
	struct http_xfer *x = arg;
	size_t n = size * nmemb;

	if (n >= 5 && strncmp(data, "HTTP/", 5) == 0)
		x->head_done = false;
	else if ((n == 2 && data[0] == '\r' && data[1] == '\n') ||
	    (n == 1 && data[0] == '\n'))
		x->head_done = true;
	return n;
}

/* http_easy_get: a handle with no options set: a reset one kept from
 * an earlier transfer (no connection, no session, no cookie is kept
 * in it: see http_easy_put), or a new one. */
static CURL *
http_easy_get(struct http_engine *eng)
{
	if (eng->nidle > 0)
		return eng->idle[--eng->nidle];
	return curl_easy_init();
}

/* http_easy_put: done with `e`.  Handles are kept for reuse because
 * making one is a large part of a plain HTTP measurement's cost; reuse
 * carries nothing over, as every transfer forbids connection reuse and
 * TLS session caching, and curl_easy_reset() clears the options. */
static void
http_easy_put(struct http_engine *eng, CURL *e)
{
	if (e == NULL)
		return;
	if (eng->nidle == HTTP_IDLE_HANDLES) {
		curl_easy_cleanup(e);
		return;
	}
	curl_easy_reset(e);
	eng->idle[eng->nidle++] = e;
}

static void
http_xfer_free(struct http_xfer *x)
{
	if (x == NULL)
		return;
	if (x->easy != NULL) {
		curlev_remove(x->run->engine->cv, x->easy);
		http_easy_put(x->run->engine, x->easy);
	}
	curl_slist_free_all(x->connect_to);
	json_decref(x->tls);
	free(x->body);
	free(x);
}

/* http_run_report: hand one result over; frees the run after its
 * last. */
static void
http_run_report(struct http_probe *run, json_t *result, bool last)
{
	run->done(result, last, run->arg);
	if (last)
		http_run_free(run);
}

/* http_curl_done: curlev's callback: transfer x ended. */
static void
http_curl_done(CURL *easy, CURLcode code, void *arg)
{
	struct http_xfer *x = arg;
	struct http_probe *run = x->run;
	long status = 0;
	json_t *r;

	(void)easy;
	run->engine->in_flight--;
	curl_easy_getinfo(x->easy, CURLINFO_RESPONSE_CODE, &status);
	if ((r = http_result_new(run, x->addr, x->started)) != NULL) {
		http_result_http(run, x, r, status);
		http_xfer_verdict(run, x, r, code, status);
	}
	for (size_t i = 0; i < run->nxfers; i++)
		if (run->xfers[i] == x)
			run->xfers[i] = NULL;
	http_easy_put(run->engine, x->easy);
	x->easy = NULL;
	http_xfer_free(x);
	if (r == NULL) {
		log_warnx("http: out of memory: a result is lost");
		if (--run->left == 0)
			http_run_free(run);
		return;
	}
	run->left--;
	http_run_report(run, r, run->left == 0);
}

/* http_xfer_easy: the easy handle of x. */
static CURL *
http_xfer_easy(struct http_probe *run, struct http_xfer *x, cw_usec_t remaining)
{
	long ms = (long)(remaining / CW_USEC_PER_MSEC);
	CURL *e;
	bool ok;

	if (ms < 1)
		ms = 1;
	if ((e = http_easy_get(run->engine)) == NULL)
		return NULL;
	x->easy = e;
	ok = curl_easy_setopt(e, CURLOPT_URL, run->url) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https") ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https") ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_DNS_CACHE_TIMEOUT, 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_SSL_SESSIONID_CACHE, 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, HTTP_BUFFER_SIZE) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_IPRESOLVE,
	        run->af == 6 ? CURL_IPRESOLVE_V6 : CURL_IPRESOLVE_V4) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PROXY,
	        run->proxy != NULL ? run->proxy : "") == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ms) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_NOBODY,
	        run->method == HTTP_HEAD ? 1L : 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_USERAGENT,
	        PACKAGE_NAME "/" PACKAGE_VERSION) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HTTPHEADER, run->headers) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION,
	        run->follow ? 1L : 0L) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_MAXREDIRS, run->max_redirects) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, http_xfer_write) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_WRITEDATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, http_xfer_header) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_HEADERDATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PREREQFUNCTION, http_xfer_prereq) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_PREREQDATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_SSL_CTX_FUNCTION, http_xfer_sslctx) ==
	        CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_SSL_CTX_DATA, x) == CURLE_OK &&
	    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, x->errbuf) == CURLE_OK &&
	    (x->connect_to == NULL ||
	        curl_easy_setopt(e, CURLOPT_CONNECT_TO, x->connect_to) ==
	            CURLE_OK);
	return ok ? e : NULL;
}

/* http_xfer_start: one transfer of run to `addr` (NULL: let libcurl
 * connect, through the proxy or to the literal host).  Returns 0 or -1
 * (logged; nothing started). */
int
http_xfer_start(struct http_probe *run, const char *addr)
{
	struct http_xfer *x, **grown;
	cw_usec_t used = cw_mono_usec() - run->t0;
	char pin[2 * TARGET_NAME_MAX + 2 * INET6_ADDRSTRLEN + 32];
	bool v6host = strchr(run->host, ':') != NULL;

	if ((x = calloc(1, sizeof(*x))) == NULL)
		goto fail;
	x->run = run;
	crypto_hash_sha256_init(&x->sha);
	if (addr != NULL) {
		snprintf(x->addr, sizeof(x->addr), "%s", addr);
		snprintf(pin, sizeof(pin), "%s%s%s:%ld:%s%s%s:%ld",
		    v6host ? "[" : "", run->host, v6host ? "]" : "", run->port,
		    strchr(addr, ':') ? "[" : "", addr,
		    strchr(addr, ':') ? "]" : "", run->port);
		if ((x->connect_to = curl_slist_append(NULL, pin)) == NULL)
			goto fail;
	}
	if ((grown = reallocarray(run->xfers, run->nxfers + 1,
	         sizeof(*grown))) == NULL)
		goto fail;
	run->xfers = grown;
	if (http_xfer_easy(run, x, run->timeout - used) == NULL)
		goto fail;
	x->started = cw_real_usec();
	if (curlev_add(run->engine->cv, x->easy, x) == -1)
		goto fail;
	run->xfers[run->nxfers++] = x;
	run->left++;
	run->engine->in_flight++;
	return 0;
fail:
	log_warnx("http: %s: cannot start a request%s%s", run->url,
	    addr != NULL ? " to " : "", addr != NULL ? addr : "");
	if (x != NULL && x->easy != NULL) {
		http_easy_put(run->engine, x->easy);
		x->easy = NULL;
	}
	http_xfer_free(x);
	return -1;
}

/* --- the run without transfers: lookup failures --- */

static void
http_later_cb(evutil_socket_t fd, short what, void *arg)
{
	struct http_probe *run = arg;
	json_t *r = run->failed;

	(void)fd;
	(void)what;
	run->failed = NULL;
	http_run_report(run, r, true);
}

/* http_run_fail: the run ends with one result without an address,
 * reported from the loop. */
void
http_run_fail(struct http_probe *run, enum cw_failure failure,
    const char *detail)
{
	json_t *r = http_result_new(run, NULL, run->t0_real);

	if (r != NULL) {
		/* The keys of a request that got no response. */
		json_object_set_new(r, "status", json_null());
		json_object_set_new(r, "http_version", json_null());
		json_object_set_new(r, "connect_ms", json_null());
		json_object_set_new(r, "tls_ms", json_null());
		json_object_set_new(r, "ttfb_ms", json_null());
		result_set_ms(r, "total_ms", cw_mono_usec() - run->t0);
		result_set_int(r, "header_bytes", 0);
		result_set_int(r, "body_bytes", 0);
		result_set_bool(r, "body_truncated", 0);
		result_set_failure(r, failure, "%s", detail);
	}
	json_decref(run->failed);
	run->failed = r;
	event_active(run->later, EV_TIMEOUT, 1);
}

/* --- runs --- */

static void
http_run_free(struct http_probe *run)
{
	if (run == NULL)
		return;
	dns_probe_cancel(run->query);
	for (size_t i = 0; i < run->nxfers; i++)
		if (run->xfers[i] != NULL) {
			run->engine->in_flight--;
			http_xfer_free(run->xfers[i]);
		}
	free(run->xfers);
	if (run->deadline != NULL)
		event_free(run->deadline);
	if (run->later != NULL)
		event_free(run->later);
	json_decref(run->failed);
	json_decref(run->resolved);
	if (run->have_pattern)
		regfree(&run->pattern);
	curl_slist_free_all(run->headers);
	free(run->expect);
	free(run->name);
	free(run->url);
	free(run->host);
	free(run->proxy);
	free(run->cafile);
	free(run);
}

static char *
http_strdup(const char *s, bool *ok)
{
	char *d;

	if (s == NULL)
		return NULL;
	if ((d = strdup(s)) == NULL)
		*ok = false;
	return d;
}

/* http_run_copy: what run needs of spec. */
static int
http_run_copy(struct http_probe *run, const struct http_spec *spec)
{
	bool ok = true;
	char err[256];
	struct curl_slist *h;

	run->name = http_strdup(spec->name, &ok);
	run->url = http_strdup(spec->url, &ok);
	run->proxy = http_strdup(spec->proxy, &ok);
	run->cafile = http_strdup(spec->cafile, &ok);
	if (!ok || run->url == NULL)
		return -1;
	if (http_url_split(run->url, &run->host, &run->port, &run->https, err,
	        sizeof(err)) == -1) {
		log_warnx("http: %s: %s", run->url, err);
		return -1;
	}
	run->method = spec->method;
	run->timeout = spec->timeout > 0 ? spec->timeout : HTTP_TIMEOUT_DEFAULT;
	run->max_body = spec->max_body;
	run->follow = spec->follow_redirects;
	run->max_redirects = spec->max_redirects;
	if (spec->nexpect > 0) {
		if ((run->expect = calloc(spec->nexpect,
		         sizeof(*run->expect))) == NULL)
			return -1;
		memcpy(run->expect, spec->expect,
		    spec->nexpect * sizeof(*run->expect));
		run->nexpect = spec->nexpect;
	}
	if (spec->body_pattern != NULL) {
		if (regcomp(&run->pattern, spec->body_pattern,
		        REG_EXTENDED | REG_NOSUB) != 0) {
			log_warnx("http: %s: bad pattern", run->url);
			return -1;
		}
		run->have_pattern = true;
	}
	for (size_t i = 0; i < spec->nheaders; i++) {
		if ((h = curl_slist_append(run->headers, spec->headers[i])) ==
		    NULL)
			return -1;
		run->headers = h;
	}
	return 0;
}

struct http_probe *
http_probe_start(struct http_engine *engine, const struct http_spec *spec,
    const struct target *pinned, int af, http_done_fn done, void *arg)
{
	struct http_probe *run;
	int literal_af;
	char detail[256];

	if ((run = calloc(1, sizeof(*run))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	run->engine = engine;
	run->done = done;
	run->arg = arg;
	run->af = af == 6 ? 6 : 4;
	run->dns_usec = -1;
	run->t0 = cw_mono_usec();
	run->t0_real = cw_real_usec();
	if (http_run_copy(run, spec) == -1 ||
	    (run->deadline = evtimer_new(engine->base, http_deadline_cb,
	         run)) == NULL ||
	    (run->later = event_new(engine->base, -1, 0, http_later_cb, run)) ==
	        NULL) {
		log_warnx("%s: cannot set up a measurement of %s", __func__,
		    spec->url);
		http_run_free(run);
		return NULL;
	}
	literal_af = http_host_af(run->host);
	run->host_literal = literal_af != 0;
	if (pinned != NULL && pinned->af != run->af) {
		snprintf(detail, sizeof(detail), "%s is not an IPv%d address",
		    pinned->addr, run->af);
		http_run_fail(run, CW_FAIL_ADDRESS_FAMILY, detail);
	} else if (pinned != NULL) {
		if (http_xfer_start(run, pinned->addr) == -1)
			http_run_fail(run, CW_FAIL_INTERNAL,
			    "could not start the request");
	} else if (literal_af != 0 && literal_af != run->af) {
		snprintf(detail, sizeof(detail), "%s is not an IPv%d address",
		    run->host, run->af);
		http_run_fail(run, CW_FAIL_ADDRESS_FAMILY, detail);
	} else if (literal_af != 0 || run->proxy != NULL) {
		if (http_xfer_start(run, literal_af != 0 ? run->host : NULL) ==
		    -1)
			http_run_fail(run, CW_FAIL_INTERNAL,
			    "could not start the request");
	} else if (http_lookup_start(run) == -1) {
		http_run_fail(run, CW_FAIL_INTERNAL,
		    "could not start the lookup");
	}
	return run;
}

void
http_probe_cancel(struct http_probe *probe)
{
	http_run_free(probe);
}

void
http_probe_redirect(struct http_probe *probe, http_done_fn done, void *arg)
{
	probe->done = done;
	probe->arg = arg;
}

/* --- the engine --- */

struct http_engine *
http_engine_new(struct event_base *base, const char *resolv_conf,
    const char *hosts)
{
	struct http_engine *eng;
	int rc;

	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		log_warnx("%s: libcurl cannot be initialised", __func__);
		return NULL;
	}
	if ((eng = calloc(1, sizeof(*eng))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		curl_global_cleanup();
		return NULL;
	}
	eng->base = base;
	if ((eng->cv = curlev_new(base, http_curl_done)) == NULL ||
	    (eng->dns = evdns_base_new(base,
	         EVDNS_BASE_DISABLE_WHEN_INACTIVE)) == NULL ||
	    (eng->hosts_dns = evdns_base_new(base, 0)) == NULL) {
		log_warnx("%s: cannot set up libcurl or the resolver",
		    __func__);
		http_engine_free(eng);
		return NULL;
	}
	if ((eng->resolv_conf = strdup(
	         resolv_conf != NULL ? resolv_conf : HTTP_RESOLV_CONF)) ==
	        NULL ||
	    (eng->hosts = strdup(hosts != NULL ? hosts : HTTP_HOSTS)) == NULL) {
		http_engine_free(eng);
		return NULL;
	}
	http_file_changed(eng->resolv_conf, &eng->resolv_stamp);
	/* 1: the file cannot be read; evdns then asks 127.0.0.1. */
	rc = evdns_base_resolv_conf_parse(eng->dns,
	    DNS_OPTIONS_ALL & ~DNS_OPTION_HOSTSFILE, eng->resolv_conf);
	if (rc != 0 && (resolv_conf != NULL || rc != 1)) {
		log_warnx("%s: %s: cannot be read or holds no nameserver "
		          "(evdns error %d)",
		    __func__, eng->resolv_conf, rc);
		http_engine_free(eng);
		return NULL;
	}
	http_file_changed(eng->hosts, &eng->hosts_stamp);
	if (http_hosts_load(eng) != 0 && hosts != NULL) {
		log_warnx("%s: %s: cannot be read", __func__, eng->hosts);
		http_engine_free(eng);
		return NULL;
	}
	return eng;
}

void
http_engine_free(struct http_engine *eng)
{
	if (eng == NULL)
		return;
	curlev_free(eng->cv);
	if (eng->dns != NULL)
		evdns_base_free(eng->dns, 0);
	if (eng->hosts_dns != NULL)
		evdns_base_free(eng->hosts_dns, 0);
	for (size_t i = 0; i < eng->nstores; i++) {
		X509_STORE_free(eng->stores[i].store);
		free(eng->stores[i].path);
	}
	while (eng->nidle > 0)
		curl_easy_cleanup(eng->idle[--eng->nidle]);
	free(eng->resolv_conf);
	free(eng->hosts);
	free(eng);
	curl_global_cleanup();
}

size_t
http_engine_in_flight(const struct http_engine *eng)
{
	return eng->in_flight;
}
