/* test_size.c -- byte sizes with binary suffixes, both ways. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "size.h"

static void
test_parse(void **state)
{
	static const struct {
		const char *text;
		uint64_t bytes;
	} good[] = {
		{ "0", 0 },
		{ "65536", 65536 },
		{ "1k", 1024 },
		{ "8K", 8192 },
		{ "16M", 16 << 20 },
		{ "16MiB", 16 << 20 },
		{ "16 mb", 16 << 20 },
		{ "1G", UINT64_C(1) << 30 },
		{ "2t", UINT64_C(2) << 40 },
		{ "100b", 100 },
	};
	static const char *bad[] = {
		"",
		"M",
		"-1",
		"1.5M",
		"1x",
		"1 M B",
		" 1M",
		"16MiBs",
		"99999999999999999999",
		"17179869184G",
	};
	uint64_t v;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(cw_size_parse(good[i].text, &v), 0);
		assert_int_equal(v, good[i].bytes);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(cw_size_parse(bad[i], &v), -1);
	assert_int_equal(cw_size_parse(NULL, &v), -1);
}

static void
test_format(void **state)
{
	char buf[CW_SIZE_STRLEN];

	(void)state;
	assert_string_equal(cw_size_format(64 << 20, buf, sizeof(buf)), "64M");
	assert_string_equal(cw_size_format(1536 * 1024, buf, sizeof(buf)),
	    "1536k");
	assert_string_equal(cw_size_format(100, buf, sizeof(buf)), "100");
	assert_string_equal(cw_size_format(0, buf, sizeof(buf)), "0");
	assert_string_equal(cw_size_format(UINT64_C(1) << 40, buf, sizeof(buf)),
	    "1T");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse),
		cmocka_unit_test(test_format),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
