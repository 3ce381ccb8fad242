/* test_cwtime.c -- clocks, UTC formatting, duration parsing. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "cwtime.h"

static void
test_format_utc_microseconds(void **state)
{
	char buf[CW_TIME_STRLEN];

	(void)state;
	assert_string_equal(cw_time_format(0, buf, sizeof(buf)),
	    "1970-01-01T00:00:00.000000Z");
	assert_string_equal(cw_time_format(1764194739000001LL, buf,
	    sizeof(buf)), "2025-11-26T22:05:39.000001Z");
	/* Before the epoch the microseconds still count forward. */
	assert_string_equal(cw_time_format(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z");
}

static void
test_time_parse(void **state)
{
	static const char *const bad[] = {"", "2026-11-26", "2026-11-26T10:00:00",
	    "2026-11-26T10:00:00.Z", "2026-11-26T10:00:00.1234567Z",
	    "2026-02-30T10:00:00Z", "2026-11-26T24:00:00Z",
	    "2026-11-26T10:00:60Z", "2026-11-26 10:00:00Z",
	    "2026-11-26T10:00:00+01:00", "2026-11-26T10:00:00Zjunk",
	    "20a6-11-26T10:00:00Z"};
	char buf[CW_TIME_STRLEN];
	cw_usec_t t;

	(void)state;
	assert_int_equal(cw_time_parse("2026-11-26T10:00:00.123456Z", &t), 0);
	assert_int_equal(t, INT64_C(1795687200123456));
	assert_string_equal(cw_time_format(t, buf, sizeof(buf)),
	    "2026-11-26T10:00:00.123456Z");
	assert_int_equal(cw_time_parse("2026-11-26T10:00:00.5+00:00", &t), 0);
	assert_int_equal(t, INT64_C(1795687200500000));
	assert_int_equal(cw_time_parse("1970-01-01T00:00:00Z", &t), 0);
	assert_int_equal(t, 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (cw_time_parse(bad[i], &t) != -1)
			fail_msg("accepted \"%s\"", bad[i]);
}

static void
test_duration_units(void **state)
{
	cw_usec_t v;

	(void)state;
	assert_int_equal(cw_duration_parse("300", &v), 0);
	assert_true(v == 300 * CW_USEC_PER_SEC);
	assert_int_equal(cw_duration_parse("4s", &v), 0);
	assert_true(v == 4 * CW_USEC_PER_SEC);
	assert_int_equal(cw_duration_parse("250ms", &v), 0);
	assert_true(v == 250 * CW_USEC_PER_MSEC);
	assert_int_equal(cw_duration_parse("5m", &v), 0);
	assert_true(v == 300 * CW_USEC_PER_SEC);
	assert_int_equal(cw_duration_parse("1h", &v), 0);
	assert_true(v == 3600 * CW_USEC_PER_SEC);
	assert_int_equal(cw_duration_parse("2d", &v), 0);
	assert_true(v == 2 * 86400 * CW_USEC_PER_SEC);
	assert_int_equal(cw_duration_parse("1.5s", &v), 0);
	assert_true(v == 1500 * CW_USEC_PER_MSEC);
	assert_int_equal(cw_duration_parse("0", &v), 0);
	assert_true(v == 0);
}

static void
test_duration_rejects(void **state)
{
	static const char *bad[] = {
		"", "s", "-1s", "+3", "4x", "5 m", "1e400", "nan", "inf",
		"99999999999d", "4ss", "m5",
	};
	cw_usec_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cw_duration_parse(bad[i], &v), -1);
		assert_true(v == 42);
	}
	assert_int_equal(cw_duration_parse(NULL, &v), -1);
}

static void
test_monotonic_advances(void **state)
{
	cw_usec_t a, b;

	(void)state;
	a = cw_mono_usec();
	b = cw_mono_usec();
	assert_true(b >= a);
	assert_true(cw_real_usec() > 1600000000LL * CW_USEC_PER_SEC);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_utc_microseconds),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_monotonic_advances),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
