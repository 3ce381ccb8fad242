/* test_collector_head.c -- the collector's strict reader of request
 * heads: where a head ends (as evhttp ends it), what it takes, and every
 * head it must refuse because evhttp could frame it otherwise. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "collector_head.h"
#include "../../fuzz/head_frames.h"

/* parse: chead_parse() of the whole string `head`; a head it takes
 * libevent must frame alike. */
static int
parse(const char *head, struct chead *h)
{
	char err[256];
	size_t len = strlen(head);
	int code = chead_parse(head, len, h, err, sizeof(err));

	if (code == 0)
		assert_true(evhttp_frames_alike((const uint8_t *)head, len,
		    chead_end(head, len, 0), h));
	return code;
}

static void
test_end(void **state)
{
	const char *crlf = "GET / HTTP/1.1\r\nHost: t\r\n\r\nbody";
	const char *lf = "GET / HTTP/1.1\nHost: t\n\nbody";

	(void)state;
	assert_int_equal(chead_end(crlf, strlen(crlf), 0), strlen(crlf) - 4);
	/* Byte by byte, as it may arrive. */
	for (size_t n = 1; n < strlen(crlf) - 4; n++)
		assert_int_equal(chead_end(crlf, n, n - 1), 0);
	assert_int_equal(chead_end(crlf, strlen(crlf) - 4, strlen(crlf) - 5),
	    strlen(crlf) - 4);
	/* evhttp ends lines at LF alone too: so must the reader (and then
	 * refuse the head). */
	assert_int_equal(chead_end(lf, strlen(lf), 0), strlen(lf) - 4);
	assert_int_equal(chead_end("\r\n", 2, 0), 2);
	assert_int_equal(chead_end("GET / HTTP/1.1\r\n\r", 17, 0), 0);
}

static void
test_good(void **state)
{
	struct chead h;

	(void)state;
	assert_int_equal(
	    parse("POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n"
	          "Authorization:  CW1-Ed25519 probe=ab,sig=cd \r\n"
	          "content-length: 0012\r\n\r\n",
	        &h),
	    0);
	assert_true(h.post);
	assert_false(h.enroll);
	assert_int_equal(h.length, 12);
	assert_string_equal(h.auth, "CW1-Ed25519 probe=ab,sig=cd");
	assert_int_equal(parse("POST /api/v1/enroll?x=1 HTTP/1.0\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_true(h.enroll);
	assert_int_equal(parse("GET /healthz HTTP/1.1\r\n\r\n", &h), 0);
	assert_false(h.post);
	assert_int_equal(h.length, 0);
	assert_string_equal(h.auth, "");
	/* An escaped path is not the enrollment's (its body needs a
	 * signature). */
	assert_int_equal(parse("POST /api/v1/%65nroll HTTP/1.1\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_false(h.enroll);
	assert_false(h.write);
	/* The write endpoints, exactly (their bodies need the write
	 * token): a query string aside, not a longer path. */
	assert_int_equal(parse("POST /api/v1/annotations?x=1 HTTP/1.1\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_true(h.write);
	assert_false(h.enroll);
	assert_int_equal(parse("POST /api/v1/annotations/delete HTTP/1.1\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_true(h.write);
	assert_int_equal(parse("POST /api/v1/annotationsx HTTP/1.1\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_false(h.write);
	assert_int_equal(parse("POST /api/v1/annotations/ HTTP/1.1\r\n"
	                       "Content-Length: 10\r\n\r\n",
	                     &h),
	    0);
	assert_false(h.write);
	/* Tabs and spaces around a value, a value with a colon. */
	assert_int_equal(parse("POST /x HTTP/1.1\r\nContent-Length:\t7 \r\n"
	                       "X-A: b:c\r\n\r\n",
	                     &h),
	    0);
	assert_int_equal(h.length, 7);
}

static void
test_refused(void **state)
{
	static const struct {
		const char *head;
		int code;
	} bad[] = {
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\n"
		  "Content-Length: 2\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\r\n"
		  "Content-Length: 1\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1, 1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: +1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: \r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: "
		  "1234567890123456789\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nContent-Length : 1\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nX: a\r\n Content-Length: 1\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\nContent-Length: 1\n\n", 400 },
		{ "POST / HTTP/1.1\r\nContent-Length: 1\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nX: a\rb\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nX: \x7f\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nNo colon\r\n\r\n", 400 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n",
		    411 },
		{ "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n"
		  "Content-Length: 5\r\n\r\n",
		    400 },
		{ "POST / HTTP/1.1\r\nAuthorization: a\r\n"
		  "Authorization: b\r\n\r\n",
		    400 },
		{ "HEAD / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 400 },
		{ "PURGE / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", 405 },
		{ "TRACE / HTTP/1.1\r\n\r\n", 405 },
		{ "post / HTTP/1.1\r\n\r\n", 405 },
		{ "POST / HTTP/2.0\r\n\r\n", 400 },
		{ "POST /a b HTTP/1.1\r\n\r\n", 400 },
		{ "POST  / HTTP/1.1\r\n\r\n", 400 },
		{ "POST\r\n\r\n", 400 },
		{ "POST http://t/api/v1/enroll HTTP/1.1\r\n\r\n", 400 },
		{ "OPTIONS * HTTP/1.1\r\n\r\n", 405 },
		{ "\r\n", 400 },
	};
	struct chead h;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%zu: %s\n", i, bad[i].head);
		assert_int_equal(parse(bad[i].head, &h), bad[i].code);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_end),
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
