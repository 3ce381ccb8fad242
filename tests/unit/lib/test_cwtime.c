/* test_cwtime.c -- clocks, UTC formatting, duration parsing. */
#include "config.h"

#include <sys/time.h>

#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

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
	                        sizeof(buf)),
	    "2025-11-26T22:05:39.000001Z");
	/* Before the epoch the microseconds still count forward. */
	assert_string_equal(cw_time_format(-1, buf, sizeof(buf)),
	    "1969-12-31T23:59:59.999999Z");
}

static void
test_time_parse(void **state)
{
	static const char *const bad[] = { "", "2026-11-26",
		"2026-11-26T10:00:00", "2026-11-26T10:00:00.Z",
		"2026-11-26T10:00:00.1234567Z", "2026-02-30T10:00:00Z",
		"2026-11-26T24:00:00Z", "2026-11-26T10:00:60Z",
		"2026-11-26 10:00:00Z", "2026-11-26T10:00:00+01:00",
		"2026-11-26T10:00:00Zjunk", "20a6-11-26T10:00:00Z" };
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
		"",
		"s",
		"-1s",
		"+3",
		"4x",
		"5 m",
		"1e400",
		"nan",
		"inf",
		"99999999999d",
		"4ss",
		"m5",
	};
	cw_usec_t v = 42;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(cw_duration_parse(bad[i], &v), -1);
		assert_true(v == 42);
	}
	assert_int_equal(cw_duration_parse(NULL, &v), -1);
}

/* The clock read straight from the kernel, in microseconds, the way
 * cw_clock_usec must convert it. */
static cw_usec_t
kernel_usec(clockid_t id)
{
	struct timespec ts;

	assert_int_equal(clock_gettime(id, &ts), 0);
	return (cw_usec_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

/* Sleep `usec`, all of it even across signals. */
static void
sleep_usec(cw_usec_t usec)
{
	struct timespec ts = { (time_t)(usec / CW_USEC_PER_SEC),
		(long)(usec % CW_USEC_PER_SEC) * 1000 };

	while (nanosleep(&ts, &ts) == -1)
		assert_int_equal(errno, EINTR);
}

/* How long a 20 ms sleep may take on a loaded machine before the test
 * calls the clock broken rather than the scheduler slow. */
#define SLEEP_USEC  (20 * CW_USEC_PER_MSEC)
#define SLEEP_SLACK (5 * CW_USEC_PER_SEC)

/* Each clock reads what the kernel's clock of that kind says, in
 * microseconds: a value between two readings of the kernel's clock taken
 * around it.  A clock that is constant, of the wrong kind (monotonic for
 * real) or wrongly scaled falls outside. */
static void
test_clocks_read_the_kernel(void **state)
{
	static const struct {
		const char *name;
		clockid_t id;
		cw_usec_t (*fn)(void);
	} clocks[] = {
		{ "mono", CLOCK_MONOTONIC, cw_mono_usec },
		{ "real", CLOCK_REALTIME, cw_real_usec },
	};
	cw_usec_t before, v, after;

	(void)state;
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		before = kernel_usec(clocks[i].id);
		v = clocks[i].fn();
		after = kernel_usec(clocks[i].id);
		if (v < before || v > after)
			fail_msg("cw_%s_usec() %lld, the kernel %lld..%lld",
			    clocks[i].name, (long long)v, (long long)before,
			    (long long)after);
	}
	/* The real clock is UTC since the epoch: after this code was
	 * written (2025), in microseconds, not seconds or nanoseconds. */
	v = cw_real_usec();
	assert_true(v > INT64_C(1735689600) * CW_USEC_PER_SEC);
	assert_true(v < INT64_C(4102444800) * CW_USEC_PER_SEC);
}

/* Across a 20 ms sleep both clocks advance by at least the sleep and by
 * no more than the sleep plus generous slack; the CPU clock does not
 * count the sleep but does count a busy loop. */
static void
test_clocks_advance(void **state)
{
	cw_usec_t m0, m1, r0, r1, c0, c1, deadline;

	(void)state;
	m0 = cw_mono_usec();
	r0 = cw_real_usec();
	c0 = cw_cpu_usec();
	sleep_usec(SLEEP_USEC);
	m1 = cw_mono_usec();
	r1 = cw_real_usec();
	c1 = cw_cpu_usec();
	if (m1 - m0 < SLEEP_USEC || m1 - m0 > SLEEP_USEC + SLEEP_SLACK)
		fail_msg("monotonic clock moved %lld us over a %lld us sleep",
		    (long long)(m1 - m0), (long long)SLEEP_USEC);
	if (r1 - r0 < SLEEP_USEC || r1 - r0 > SLEEP_USEC + SLEEP_SLACK)
		fail_msg("real clock moved %lld us over a %lld us sleep",
		    (long long)(r1 - r0), (long long)SLEEP_USEC);
	/* Sleeping costs next to no CPU: far less than the sleep. */
	assert_true(c1 >= c0);
	assert_true(c1 - c0 < SLEEP_USEC / 2);
	/* Spinning costs CPU: it reaches 5 ms within 5 s of wall time. */
	deadline = cw_mono_usec() + SLEEP_SLACK;
	while (cw_cpu_usec() - c1 < 5 * CW_USEC_PER_MSEC &&
	    cw_mono_usec() < deadline)
		;
	assert_true(cw_cpu_usec() - c1 >= 5 * CW_USEC_PER_MSEC);
}

/* libevent's timeval: whole seconds and the rest, nothing negative. */
static void
test_usec_to_timeval(void **state)
{
	struct timeval tv;

	(void)state;
	cw_usec_to_timeval(1500 * CW_USEC_PER_MSEC, &tv);
	assert_int_equal(tv.tv_sec, 1);
	assert_int_equal(tv.tv_usec, 500000);
	cw_usec_to_timeval(999999, &tv);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 999999);
	cw_usec_to_timeval(7 * CW_USEC_PER_SEC, &tv);
	assert_int_equal(tv.tv_sec, 7);
	assert_int_equal(tv.tv_usec, 0);
	cw_usec_to_timeval(-5, &tv);
	assert_int_equal(tv.tv_sec, 0);
	assert_int_equal(tv.tv_usec, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_format_utc_microseconds),
		cmocka_unit_test(test_time_parse),
		cmocka_unit_test(test_duration_units),
		cmocka_unit_test(test_duration_rejects),
		cmocka_unit_test(test_clocks_read_the_kernel),
		cmocka_unit_test(test_clocks_advance),
		cmocka_unit_test(test_usec_to_timeval),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
