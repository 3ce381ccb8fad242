/*
 * http_result.c -- what a result of the HTTP measurement says: the
 * failure libcurl's and OpenSSL's codes mean, the certificates of a
 * chain as JSON, and the fields and the verdict of a transfer's result
 * (doc/results.md).  http.c runs the transfers and calls in here when
 * one ends.
 */
#include "config.h"

#include <regex.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/asn1.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <openssl/x509_vfy.h>
#include <sodium.h>

#include "http.h"
#include "http_int.h"
#include "result.h"

#define HTTP_NAME_MAX 1024 /* a subject or issuer, as text */

/* --- failures --- */

enum cw_failure
http_failure_from_curl(int code, long os_errno)
{
	switch ((CURLcode)code) {
	case CURLE_OK:
		return CW_OK;
	case CURLE_OPERATION_TIMEDOUT:
		return CW_FAIL_TIMEOUT;
	case CURLE_COULDNT_CONNECT:
		return cw_failure_from_errno((int)os_errno, CW_FAIL_CONNECT);
	case CURLE_COULDNT_RESOLVE_HOST:
		return CW_FAIL_DNS_LOOKUP;
	case CURLE_COULDNT_RESOLVE_PROXY:
	case CURLE_PROXY:
		return CW_FAIL_PROXY;
	case CURLE_SEND_ERROR:
		return cw_failure_from_errno((int)os_errno, CW_FAIL_SEND_ERROR);
	case CURLE_RECV_ERROR:
		return cw_failure_from_errno((int)os_errno, CW_FAIL_RECV_ERROR);
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return CW_FAIL_EOF;
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_UNSUPPORTED_PROTOCOL: /* HTTP/0.9, a redirect to ftp */
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_HTTP3:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_RANGE_ERROR:
		return CW_FAIL_HTTP_PROTOCOL;
	case CURLE_TOO_MANY_REDIRECTS:
		return CW_FAIL_HTTP_REDIRECTS;
	case CURLE_SSL_CONNECT_ERROR:
		return cw_failure_from_errno((int)os_errno,
		    CW_FAIL_SSL_HANDSHAKE);
	case CURLE_PEER_FAILED_VERIFICATION:
		return CW_FAIL_SSL_INVALID_CERTIFICATE;
	default:
		return CW_FAIL_INTERNAL;
	}
}

enum cw_failure
http_failure_from_verify(long verify_result)
{
	switch (verify_result) {
	case X509_V_OK:
		return CW_OK;
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_CERT_UNTRUSTED:
		return CW_FAIL_SSL_UNKNOWN_AUTHORITY;
	default:
		return CW_FAIL_SSL_INVALID_CERTIFICATE;
	}
}

/* http_failure_via_proxy: what libcurl's `code` means for a request
 * through the proxy: the only connection libcurl makes is to the proxy,
 * so failing to make it is the proxy's failure, not the site's; a SOCKS
 * proxy that reports why it could not reach the site reports a finding
 * about the site. */
static enum cw_failure
http_failure_via_proxy(CURL *easy, CURLcode code, long os_errno)
{
	long px = CURLPX_OK, connect_code = 0;

	/* An HTTP proxy that answered CONNECT with other than 2xx. */
	curl_easy_getinfo(easy, CURLINFO_HTTP_CONNECTCODE, &connect_code);
	if (code == CURLE_COULDNT_CONNECT ||
	    (connect_code != 0 && (connect_code < 200 || connect_code > 299)))
		return CW_FAIL_PROXY;
	if (code != CURLE_PROXY)
		return http_failure_from_curl(code, os_errno);
	curl_easy_getinfo(easy, CURLINFO_PROXY_ERROR, &px);
	switch (px) {
	case CURLPX_REPLY_CONNECTION_REFUSED:
		return CW_FAIL_CONNECTION_REFUSED;
	case CURLPX_REPLY_HOST_UNREACHABLE:
		return CW_FAIL_HOST_UNREACHABLE;
	case CURLPX_REPLY_NETWORK_UNREACHABLE:
		return CW_FAIL_NETWORK_UNREACHABLE;
	case CURLPX_REPLY_TTL_EXPIRED:
		return CW_FAIL_HOST_UNREACHABLE;
	case CURLPX_RESOLVE_HOST:
		return CW_FAIL_DNS_LOOKUP;
	default:
		return CW_FAIL_PROXY;
	}
}

/* --- certificates --- */

/* http_x509_name: a subject or issuer in RFC 2253 form. */
static json_t *
http_x509_name(const X509_NAME *name)
{
	char buf[HTTP_NAME_MAX];
	BIO *bio;
	int n;
	json_t *s;

	if ((bio = BIO_new(BIO_s_mem())) == NULL)
		return json_null();
	X509_NAME_print_ex(bio, name, 0,
	    XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB);
	n = BIO_read(bio, buf, sizeof(buf) - 1);
	BIO_free(bio);
	buf[n > 0 ? n : 0] = '\0';
	/* Certificates are from the network: keep the text valid UTF-8. */
	if ((s = json_string(buf)) == NULL)
		s = json_string("(not UTF-8)");
	return s;
}

/* http_asn1_time: "2026-01-01T00:00:00Z", or null. */
static json_t *
http_asn1_time(const ASN1_TIME *t)
{
	struct tm tm;
	char buf[32];

	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		return json_null();
	return json_string(buf);
}

json_t *
http_cert_json(X509 *cert)
{
	json_t *c = json_object();

	if (c == NULL)
		return NULL;
	json_object_set_new(c, "subject",
	    http_x509_name(X509_get_subject_name(cert)));
	json_object_set_new(c, "issuer",
	    http_x509_name(X509_get_issuer_name(cert)));
	json_object_set_new(c, "not_before",
	    http_asn1_time(X509_get0_notBefore(cert)));
	json_object_set_new(c, "not_after",
	    http_asn1_time(X509_get0_notAfter(cert)));
	return c;
}

/* --- result fields --- */

/* http_result_new: a result of run with its common keys, for `addr`
 * ("" or NULL: none). */
json_t *
http_result_new(struct http_probe *run, const char *addr, cw_usec_t when)
{
	json_t *r = result_new("http", run->name, when);

	if (r == NULL)
		return NULL;
	result_set_str(r, "url", run->url);
	result_set_str(r, "method", run->method == HTTP_HEAD ? "HEAD" : "GET");
	result_set_str(r, "host", run->host);
	result_set_int(r, "port", run->port);
	json_object_set_new(r, "addr",
	    addr != NULL && addr[0] != '\0' ? json_string(addr) : json_null());
	result_set_int(r, "af", run->af);
	if (run->proxy != NULL)
		result_set_bool(r, "proxied", 1);
	if (run->dns_usec >= 0)
		result_set_ms(r, "dns_ms", run->dns_usec);
	else
		json_object_set_new(r, "dns_ms", json_null());
	if (run->resolved != NULL)
		json_object_set(r, "resolved", run->resolved);
	return r;
}

/* http_ms: curl's microseconds between two cumulative marks. */
static void
http_set_phase(json_t *r, const char *key, curl_off_t from, curl_off_t to)
{
	if (to > 0 && to >= from)
		result_set_ms(r, key, (cw_usec_t)(to - from));
	else
		json_object_set_new(r, key, json_null());
}

static void
http_result_times(struct http_probe *run, struct http_xfer *x, json_t *r)
{
	curl_off_t dns = 0, conn = 0, app = 0, pre = 0, start = 0, total = 0;
	CURL *e = x->easy;

	curl_easy_getinfo(e, CURLINFO_NAMELOOKUP_TIME_T, &dns);
	curl_easy_getinfo(e, CURLINFO_CONNECT_TIME_T, &conn);
	curl_easy_getinfo(e, CURLINFO_APPCONNECT_TIME_T, &app);
	curl_easy_getinfo(e, CURLINFO_PRETRANSFER_TIME_T, &pre);
	curl_easy_getinfo(e, CURLINFO_STARTTRANSFER_TIME_T, &start);
	curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &total);
	http_set_phase(r, "connect_ms", dns, conn);
	if (app > 0)
		http_set_phase(r, "tls_ms", conn, app);
	else
		json_object_set_new(r, "tls_ms", json_null());
	http_set_phase(r, "ttfb_ms", pre, start);
	result_set_ms(r, "total_ms",
	    (cw_usec_t)total + (run->dns_usec > 0 ? run->dns_usec : 0));
}

/* http_result_http: what the server said. */
void
http_result_http(struct http_probe *run, struct http_xfer *x, json_t *r,
    long status)
{
	unsigned char digest[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1];
	long version = 0, hsize = 0, nredirects = 0, connect_code = 0;
	char *location = NULL, *effective = NULL;
	CURL *e = x->easy;

	curl_easy_getinfo(e, CURLINFO_HTTP_VERSION, &version);
	curl_easy_getinfo(e, CURLINFO_HEADER_SIZE, &hsize);
	json_object_set_new(r, "status",
	    status > 0 ? json_integer(status) : json_null());
	json_object_set_new(r, "http_version",
	    version == CURL_HTTP_VERSION_1_0     ? json_string("1.0") :
	        version == CURL_HTTP_VERSION_1_1 ? json_string("1.1") :
	        version == CURL_HTTP_VERSION_2_0 ? json_string("2") :
	        version == CURL_HTTP_VERSION_3   ? json_string("3") :
	                                           json_null());
	http_result_times(run, x, r);
	result_set_int(r, "header_bytes", hsize);
	result_set_int(r, "body_bytes", (long long)x->body_bytes);
	result_set_bool(r, "body_truncated", x->truncated);
	crypto_hash_sha256_final(&x->sha, digest);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	result_set_str(r, "body_sha256", status > 0 ? hex : NULL);
	if (run->follow) {
		curl_easy_getinfo(e, CURLINFO_REDIRECT_COUNT, &nredirects);
		curl_easy_getinfo(e, CURLINFO_EFFECTIVE_URL, &effective);
		result_set_int(r, "redirects", nredirects);
		result_set_str(r, "effective_url", effective);
	} else if (curl_easy_getinfo(e, CURLINFO_REDIRECT_URL, &location) ==
	        CURLE_OK &&
	    location != NULL) {
		json_t *s = json_string(location);
		json_object_set_new(r, "location",
		    s != NULL ? s : json_string("(not UTF-8)"));
	}
	if (run->proxy != NULL &&
	    curl_easy_getinfo(e, CURLINFO_HTTP_CONNECTCODE, &connect_code) ==
	        CURLE_OK &&
	    connect_code != 0)
		result_set_int(r, "proxy_status", connect_code);
	if (x->tls != NULL)
		json_object_set(r, "tls", x->tls);
}

/* http_xfer_head_overflow: whether libcurl's "out of memory" is the
 * server's doing: a response header line beyond libcurl's limit
 * (CURL_MAX_HTTP_HEADER), which it reports as CURLE_OUT_OF_MEMORY.
 * True when it came after the request was sent, before the header
 * section ended. */
static bool
http_xfer_head_overflow(struct http_xfer *x)
{
	curl_off_t pre = 0;

	return !x->head_done &&
	    curl_easy_getinfo(x->easy, CURLINFO_PRETRANSFER_TIME_T, &pre) ==
	    CURLE_OK &&
	    pre > 0;
}

/* http_xfer_verdict: the result's ok/failure. */
void
http_xfer_verdict(struct http_probe *run, struct http_xfer *x, json_t *r,
    CURLcode code, long status)
{
	long os_errno = 0;
	const struct http_spec probe_expect = {
		.expect = run->expect,
		.nexpect = run->nexpect,
	};

	if (x->tls_failure != CW_OK) {
		result_set_failure(r, x->tls_failure, "%s", x->tls_detail);
		return;
	}
	if (code == CURLE_OUT_OF_MEMORY && http_xfer_head_overflow(x)) {
		result_set_failure(r, CW_FAIL_HTTP_OVERSIZED_HEADER,
		    "a line of "
		    "the response header longer than %d bytes",
		    CURL_MAX_HTTP_HEADER);
		return;
	}
	if (code != CURLE_OK && !(code == CURLE_WRITE_ERROR && x->truncated)) {
		curl_easy_getinfo(x->easy, CURLINFO_OS_ERRNO, &os_errno);
		result_set_failure(r,
		    run->proxy != NULL ?
		        http_failure_via_proxy(x->easy, code, os_errno) :
		        http_failure_from_curl(code, os_errno),
		    "%s",
		    x->errbuf[0] != '\0' ? x->errbuf :
		                           curl_easy_strerror(code));
		return;
	}
	if (!http_status_expected(&probe_expect, status)) {
		result_set_failure(r, CW_FAIL_HTTP_STATUS,
		    "status %ld is not one of those expected", status);
		return;
	}
	if (run->have_pattern) {
		regmatch_t m = { .rm_so = 0, .rm_eo = (regoff_t)x->kept };
		bool found = x->body != NULL &&
		    regexec(&run->pattern, x->body, 1, &m, REG_STARTEND) == 0;
		result_set_bool(r, "pattern_matched", found);
		if (!found) {
			result_set_failure(r, CW_FAIL_HTTP_BODY,
			    "the body read "
			    "(%llu bytes) does not match the pattern",
			    (unsigned long long)x->body_bytes);
			return;
		}
	}
	result_set_ok(r);
}
