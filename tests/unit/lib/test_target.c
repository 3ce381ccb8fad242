/* test_target.c -- parsing server specifications. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "target.h"

static void
test_plain_addresses(void **state)
{
	struct target t;
	char err[128];

	(void)state;
	assert_int_equal(target_parse("198.41.0.4", 53, &t, err, sizeof(err)),
	    0);
	assert_int_equal(t.af, 4);
	assert_string_equal(t.addr, "198.41.0.4");
	assert_string_equal(t.name, "");
	assert_int_equal(target_port(&t), 53);
	assert_int_equal(target_parse("[2001:503:BA3E::2:30]", 5353, &t, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(t.af, 6);
	assert_string_equal(t.addr, "2001:503:ba3e::2:30");
	assert_int_equal(target_port(&t), 5353);
}

static void
test_named(void **state)
{
	struct target t;
	char err[128];

	(void)state;
	assert_int_equal(target_parse("a.root-servers.net=2001:503:ba3e::2:30",
	                     53, &t, err, sizeof(err)),
	    0);
	assert_string_equal(t.name, "a.root-servers.net");
	assert_string_equal(t.addr, "2001:503:ba3e::2:30");
	target_set_port(&t, 1053);
	assert_int_equal(target_port(&t), 1053);
}

static void
test_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"=",
		"a.root=",
		"=1.2.3.4",
		"example.com",
		"1.2.3.4.5",
		"999.1.1.1",
		"bad name=1.2.3.4",
		"x=[1.2.3.4",
		"[]",
		"1.2.3.4:53",
		"a\"b=1.2.3.4",
	};
	struct target t;
	char err[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(target_parse(bad[i], 53, &t, err, sizeof(err)),
		    -1);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(target_parse(NULL, 53, &t, err, sizeof(err)), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_addresses),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
