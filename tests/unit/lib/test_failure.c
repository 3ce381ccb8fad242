/* test_failure.c -- the failure vocabulary. */
#include "config.h"

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "failure.h"
#include "result.h"

static void
test_names_round_trip(void **state)
{
	(void)state;
	assert_null(cw_failure_name(CW_OK));
	for (int i = 1; i < CW_FAIL_MAX; i++) {
		const char *name = cw_failure_name((enum cw_failure)i);
		assert_non_null(name);
		assert_int_equal(cw_failure_from_name(name), i);
		/* Names are snake_case ASCII, as documented. */
		for (const char *p = name; *p; p++)
			assert_true((*p >= 'a' && *p <= 'z') ||
			    (*p >= '0' && *p <= '9') || *p == '_');
	}
	assert_int_equal(cw_failure_from_name("no_such_failure"), -1);
	assert_int_equal(cw_failure_from_name(NULL), -1);
	assert_string_equal(cw_failure_name((enum cw_failure)9999),
	    "internal_error");
}

static void
test_names_are_unique(void **state)
{
	(void)state;
	for (int i = 1; i < CW_FAIL_MAX; i++)
		for (int j = i + 1; j < CW_FAIL_MAX; j++)
			assert_string_not_equal(cw_failure_name(
			                            (enum cw_failure)i),
			    cw_failure_name((enum cw_failure)j));
}

static void
test_the_documented_names(void **state)
{
	(void)state;
	assert_string_equal(cw_failure_name(CW_FAIL_TIMEOUT),
	    "generic_timeout_error");
	assert_string_equal(cw_failure_name(CW_FAIL_DNS_MALFORMED),
	    "dns_malformed_response");
	assert_string_equal(cw_failure_name(CW_FAIL_DNS_SERVFAIL),
	    "dns_servfail_error");
	assert_string_equal(cw_failure_name(CW_FAIL_DNS_BAD_ID), "dns_bad_id");
	assert_string_equal(cw_failure_name(CW_FAIL_HTTP_OVERSIZED_HEADER),
	    "http_oversized_header");
}

static void
test_errno_classification(void **state)
{
	(void)state;
	assert_int_equal(cw_failure_from_errno(ECONNREFUSED,
	                     CW_FAIL_SEND_ERROR),
	    CW_FAIL_CONNECTION_REFUSED);
	assert_int_equal(cw_failure_from_errno(ENETUNREACH, CW_FAIL_SEND_ERROR),
	    CW_FAIL_NETWORK_UNREACHABLE);
	assert_int_equal(cw_failure_from_errno(EHOSTUNREACH,
	                     CW_FAIL_SEND_ERROR),
	    CW_FAIL_HOST_UNREACHABLE);
	assert_int_equal(cw_failure_from_errno(ECONNRESET, CW_FAIL_RECV_ERROR),
	    CW_FAIL_CONNECTION_RESET);
	assert_int_equal(cw_failure_from_errno(EAFNOSUPPORT,
	                     CW_FAIL_SEND_ERROR),
	    CW_FAIL_ADDRESS_FAMILY);
	assert_int_equal(cw_failure_from_errno(EMSGSIZE, CW_FAIL_SEND_ERROR),
	    CW_FAIL_SEND_ERROR);
	assert_int_equal(cw_failure_from_errno(EIO, CW_FAIL_RECV_ERROR),
	    CW_FAIL_RECV_ERROR);
}

static void
test_result_failure_fields(void **state)
{
	json_t *r;
	char *line;

	(void)state;
	r = result_new("dns", "root-soa", 1764194739123456LL);
	assert_non_null(r);
	assert_int_equal(result_failure(r), CW_OK);
	result_set_failure(r, CW_FAIL_CONNECTION_REFUSED, "errno %d: %s", 111,
	    "Connection refused");
	assert_int_equal(result_failure(r), CW_FAIL_CONNECTION_REFUSED);
	assert_true(json_is_false(json_object_get(r, "ok")));
	assert_string_equal(json_string_value(
	                        json_object_get(r, "failure_detail")),
	    "errno 111: Connection refused");
	result_set_ms(r, "rtt_ms", 12345);
	line = result_dump(r);
	assert_non_null(line);
	assert_non_null(
	    strstr(line, "\"time\":\"2025-11-26T22:05:39.123456Z\""));
	assert_non_null(strstr(line, "\"rtt_ms\":12.345"));
	assert_null(strchr(line, '\n'));
	free(line);
	result_set_ok(r);
	assert_true(json_is_true(json_object_get(r, "ok")));
	assert_true(json_is_null(json_object_get(r, "failure")));
	assert_null(json_object_get(r, "failure_detail"));
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names_round_trip),
		cmocka_unit_test(test_names_are_unique),
		cmocka_unit_test(test_the_documented_names),
		cmocka_unit_test(test_errno_classification),
		cmocka_unit_test(test_result_failure_fields),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
