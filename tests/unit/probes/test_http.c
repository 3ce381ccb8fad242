/* test_http.c -- the pure parts of the HTTP probe: URL, status, header
 * and pattern checks, and which failure a libcurl or OpenSSL result
 * means. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>
#include <errno.h>
#include <openssl/x509_vfy.h>

#include "http.h"

static void
test_url(void **state)
{
	static const char *good[] = {
		"http://www.iana.org/",
		"https://root-servers.org",
		"https://[2001:db8::1]:8443/x?y=z",
		"http://127.0.0.1:8080/a",
		"HTTPS://EXAMPLE.ORG/",
	};
	static const char *bad[] = {
		"",
		"www.iana.org",
		"ftp://x/",
		"file:///etc/passwd",
		"https://user:secret@example.org/",
		"https://user@example.org/",
		"http://",
		"http://exa mple.org/",
		"gopher://x/",
	};
	char err[256], longurl[HTTP_URL_MAX + 64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(http_url_check(good[i], err, sizeof(err)));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_false(http_url_check(bad[i], err, sizeof(err)));
		assert_true(err[0] != '\0');
	}
	memset(longurl, 'a', sizeof(longurl));
	memcpy(longurl, "http://x/", 9);
	longurl[sizeof(longurl) - 1] = '\0';
	assert_false(http_url_check(longurl, err, sizeof(err)));
	assert_int_equal(http_url_host_af("http://127.0.0.1/"), 4);
	assert_int_equal(http_url_host_af("http://[::1]:80/"), 6);
	assert_int_equal(http_url_host_af("http://localhost/"), 0);
	assert_int_equal(http_url_host_af("nonsense"), 0);
}

static void
test_status(void **state)
{
	struct http_status_range r;
	static const char *bad[] = {
		"",
		"99",
		"600",
		"2xxx",
		"6xx",
		"0xx",
		"200-",
		"-200",
		"300-200",
		"20x",
		"abc",
		"200,",
		"2000",
		"200-2999",
		"x00",
	};
	struct http_spec spec;

	(void)state;
	assert_int_equal(http_status_parse("200", &r), 0);
	assert_int_equal(r.lo, 200);
	assert_int_equal(r.hi, 200);
	assert_int_equal(http_status_parse("301-308", &r), 0);
	assert_int_equal(r.lo, 301);
	assert_int_equal(r.hi, 308);
	assert_int_equal(http_status_parse("2xx", &r), 0);
	assert_int_equal(r.lo, 200);
	assert_int_equal(r.hi, 299);
	assert_int_equal(http_status_parse("5XX", &r), 0);
	assert_int_equal(r.hi, 599);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(http_status_parse(bad[i], &r), -1);

	http_spec_init(&spec);
	assert_true(http_status_expected(&spec, 200));
	assert_true(http_status_expected(&spec, 301));
	assert_true(http_status_expected(&spec, 399));
	assert_false(http_status_expected(&spec, 404));
	assert_false(http_status_expected(&spec, 199));
	assert_false(http_status_expected(&spec, 0));
	struct http_status_range two[] = { { 204, 204 }, { 500, 503 } };
	spec.expect = two;
	spec.nexpect = 2;
	assert_true(http_status_expected(&spec, 204));
	assert_true(http_status_expected(&spec, 502));
	assert_false(http_status_expected(&spec, 200));
	assert_false(http_status_expected(&spec, 504));
}

static void
test_header_pattern(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(http_header_check("X-Probe: 1", err, sizeof(err)), 0);
	assert_int_equal(http_header_check("Accept:", err, sizeof(err)), 0);
	assert_int_equal(http_header_check("No colon", err, sizeof(err)), -1);
	assert_int_equal(http_header_check(": x", err, sizeof(err)), -1);
	assert_int_equal(http_header_check("Bad Name: x", err, sizeof(err)),
	    -1);
	assert_int_equal(http_header_check("X: a\r\nEvil: 1", err, sizeof(err)),
	    -1);
	assert_int_equal(http_header_check("X: a\nb", err, sizeof(err)), -1);
	assert_int_equal(http_pattern_check("Internet Assigned", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(http_pattern_check("^<!doctype html>(.|\n)*$", err,
	                     sizeof(err)),
	    0);
	assert_int_equal(http_pattern_check("(", err, sizeof(err)), -1);
	assert_int_equal(http_pattern_check("a{2,1}", err, sizeof(err)), -1);
}

static void
test_failures(void **state)
{
	(void)state;
	assert_int_equal(http_failure_from_curl(CURLE_OK, 0), CW_OK);
	assert_int_equal(http_failure_from_curl(CURLE_OPERATION_TIMEDOUT, 0),
	    CW_FAIL_TIMEOUT);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_CONNECT,
	                     ECONNREFUSED),
	    CW_FAIL_CONNECTION_REFUSED);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_CONNECT,
	                     ENETUNREACH),
	    CW_FAIL_NETWORK_UNREACHABLE);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_CONNECT,
	                     EHOSTUNREACH),
	    CW_FAIL_HOST_UNREACHABLE);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_CONNECT, 0),
	    CW_FAIL_CONNECT);
	assert_int_equal(http_failure_from_curl(CURLE_RECV_ERROR, ECONNRESET),
	    CW_FAIL_CONNECTION_RESET);
	assert_int_equal(http_failure_from_curl(CURLE_RECV_ERROR, 0),
	    CW_FAIL_RECV_ERROR);
	assert_int_equal(http_failure_from_curl(CURLE_SEND_ERROR, EPIPE),
	    CW_FAIL_CONNECTION_RESET);
	assert_int_equal(http_failure_from_curl(CURLE_GOT_NOTHING, 0),
	    CW_FAIL_EOF);
	assert_int_equal(http_failure_from_curl(CURLE_WEIRD_SERVER_REPLY, 0),
	    CW_FAIL_HTTP_PROTOCOL);
	assert_int_equal(http_failure_from_curl(CURLE_UNSUPPORTED_PROTOCOL, 0),
	    CW_FAIL_HTTP_PROTOCOL);
	assert_int_equal(http_failure_from_curl(CURLE_TOO_MANY_REDIRECTS, 0),
	    CW_FAIL_HTTP_REDIRECTS);
	assert_int_equal(http_failure_from_curl(CURLE_SSL_CONNECT_ERROR, 0),
	    CW_FAIL_SSL_HANDSHAKE);
	assert_int_equal(http_failure_from_curl(CURLE_SSL_CONNECT_ERROR,
	                     ECONNRESET),
	    CW_FAIL_CONNECTION_RESET);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_RESOLVE_PROXY, 0),
	    CW_FAIL_PROXY);
	assert_int_equal(http_failure_from_curl(CURLE_COULDNT_RESOLVE_HOST, 0),
	    CW_FAIL_DNS_LOOKUP);
	assert_int_equal(http_failure_from_curl(CURLE_OUT_OF_MEMORY, 0),
	    CW_FAIL_INTERNAL);

	/* A lookup: a nameserver's closed port refuses it, as REFUSED
	 * does; the rest is the DNS failure itself. */
	assert_int_equal(http_failure_of_lookup(CW_FAIL_CONNECTION_REFUSED),
	    CW_FAIL_DNS_REFUSED);
	assert_int_equal(http_failure_of_lookup(CW_FAIL_DNS_REFUSED),
	    CW_FAIL_DNS_REFUSED);
	assert_int_equal(http_failure_of_lookup(CW_FAIL_TIMEOUT),
	    CW_FAIL_TIMEOUT);
	assert_int_equal(http_failure_of_lookup(CW_FAIL_DNS_SERVFAIL),
	    CW_FAIL_DNS_SERVFAIL);
	assert_int_equal(http_failure_of_lookup(CW_FAIL_NETWORK_UNREACHABLE),
	    CW_FAIL_NETWORK_UNREACHABLE);

	assert_int_equal(http_failure_from_verify(X509_V_OK), CW_OK);
	assert_int_equal(http_failure_from_verify(
	                     X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
	    CW_FAIL_SSL_UNKNOWN_AUTHORITY);
	assert_int_equal(http_failure_from_verify(
	                     X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
	    CW_FAIL_SSL_UNKNOWN_AUTHORITY);
	assert_int_equal(http_failure_from_verify(X509_V_ERR_CERT_HAS_EXPIRED),
	    CW_FAIL_SSL_INVALID_CERTIFICATE);
	assert_int_equal(http_failure_from_verify(
	                     X509_V_ERR_CERT_NOT_YET_VALID),
	    CW_FAIL_SSL_INVALID_CERTIFICATE);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_status),
		cmocka_unit_test(test_header_pattern),
		cmocka_unit_test(test_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
