/* test_catalog.c -- the root server catalog.  Parsing only: nothing is
 * ever sent to these addresses from a test. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "catalog.h"

static void
test_roots_table(void **state)
{
	const struct catalog_root *roots;
	char name[32];
	size_t n;

	(void)state;
	roots = catalog_roots(&n);
	assert_int_equal(n, 13);
	for (size_t i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%c.root-servers.net",
		    (char)('a' + i));
		assert_string_equal(roots[i].name, name);
	}
}

static void
test_expand_root(void **state)
{
	struct target *t = NULL;
	size_t n = 0, v4 = 0, v6 = 0;
	char err[128];

	(void)state;
	assert_true(catalog_is_set("@root"));
	assert_false(catalog_is_set("198.41.0.4"));
	assert_int_equal(catalog_expand("@root", 53, &t, &n, err, sizeof(err)),
	    0);
	assert_int_equal(n, 26);
	for (size_t i = 0; i < n; i++) {
		char name[32];
		snprintf(name, sizeof(name), "%c.root-servers.net",
		    (char)('a' + i / 2));
		assert_string_equal(t[i].name, name);
		assert_int_equal(t[i].af, i % 2 == 0 ? 4 : 6);
		assert_int_equal(target_port(&t[i]), 53);
		if (t[i].af == 4)
			v4++;
		else
			v6++;
	}
	assert_int_equal(v4, 13);
	assert_int_equal(v6, 13);
	assert_string_equal(t[0].addr, "198.41.0.4");
	assert_string_equal(t[1].addr, "2001:503:ba3e::2:30");
	assert_string_equal(t[2].addr, "170.247.170.2");
	assert_string_equal(t[3].addr, "2801:1b8:10::b");
	assert_string_equal(t[25].addr, "2001:dc3::35");
	free(t);
}

/* Expanding appends to what is there, with the port asked for. */
static void
test_expand_appends(void **state)
{
	struct target *t = calloc(1, sizeof(*t));
	size_t n = 1;
	char err[128];

	(void)state;
	assert_non_null(t);
	assert_int_equal(target_parse("127.0.0.1", 5353, &t[0], err,
	                     sizeof(err)),
	    0);
	assert_int_equal(catalog_expand("@root", 5353, &t, &n, err,
	                     sizeof(err)),
	    0);
	assert_int_equal(n, 27);
	assert_string_equal(t[0].addr, "127.0.0.1");
	assert_string_equal(t[1].name, "a.root-servers.net");
	assert_int_equal(target_port(&t[26]), 5353);
	free(t);
}

static void
test_unknown_set(void **state)
{
	struct target *t = NULL;
	size_t n = 0;
	char err[128] = "";

	(void)state;
	assert_int_equal(catalog_expand("@roots", 53, &t, &n, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "@roots"));
	assert_int_equal(n, 0);
	assert_null(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roots_table),
		cmocka_unit_test(test_expand_root),
		cmocka_unit_test(test_expand_appends),
		cmocka_unit_test(test_unknown_set),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
