/*
 * test_receipts.c -- the probe's receipts file (receipts.h): appends, the
 * bound (the newer half, the newest of each chain), a receipt without
 * `signed` not kept, and a damaged or hostile file survived.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "receipts.h"

static char dir[256], path[300];

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_receipts.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/" RECEIPTS_FILE, dir);
	return 0;
}

static int
teardown(void **state)
{
	char tmp[320];

	(void)state;
	unlink(path);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	unlink(tmp);
	rmdir(dir);
	return 0;
}

/* A receipt of `chain` ("a", "b": made 32 hex) and seq, signed or not;
 * padded to about 100 bytes. */
static json_t *
receipt(char chain, int seq, int is_signed)
{
	char c[33];
	json_t *o;

	memset(c, chain, 32);
	c[32] = '\0';
	o = json_pack("{s:s, s:i, s:s}", "chain", c, "acked_seq", seq, "pad",
	    "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
	if (is_signed)
		json_object_set_new(o, "signed", json_string("note\n"));
	return o;
}

static void
keep(char chain, int seq, int is_signed, uint64_t max)
{
	json_t *o = receipt(chain, seq, is_signed);

	assert_int_equal(receipts_keep(path, o, max), 0);
	json_decref(o);
}

static char *
slurp(size_t *len)
{
	FILE *f = fopen(path, "r");
	char *buf = calloc(1, 1 << 16);

	assert_non_null(buf);
	*len = 0;
	if (f != NULL) {
		*len = fread(buf, 1, (1 << 16) - 1, f);
		fclose(f);
	}
	return buf;
}

/* The acked_seq of every line, "chain:seq,..." */
static void
seqs(char *out, size_t size)
{
	size_t len;
	char *buf = slurp(&len), *line, *save = NULL;

	out[0] = '\0';
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *o = json_loads(line, 0, NULL);
		const char *c = json_string_value(json_object_get(o, "chain"));
		snprintf(out + strlen(out), size - strlen(out), "%s%c:%lld",
		    out[0] != '\0' ? "," : "", c != NULL ? c[0] : '?',
		    (long long)json_integer_value(
		        json_object_get(o, "acked_seq")));
		json_decref(o);
	}
	free(buf);
}

static void
test_append_and_bound(void **state)
{
	char s[512];
	size_t len;
	char *buf;

	(void)state;
	unlink(path);
	keep('a', 1, 0, 1 << 20);
	assert_int_equal(access(path, F_OK), -1); /* unsigned: not kept */
	keep('a', 1, 1, 0);
	assert_int_equal(access(path, F_OK), -1); /* max 0: none kept */
	keep('b', 1, 1, 1024);
	for (int i = 1; i <= 8; i++)
		keep('a', i, 1, 1024);
	seqs(s, sizeof(s));
	/* Ten lines of ~110 bytes went past 1k: rewritten to the newer
	 * half, b's only receipt kept as the newest of its chain. */
	buf = slurp(&len);
	assert_true(len <= 1024);
	free(buf);
	assert_non_null(strstr(s, "b:1"));
	assert_non_null(strstr(s, "a:8"));
	assert_null(strstr(s, "a:1,"));
	for (int i = 9; i <= 40; i++)
		keep('a', i, 1, 1024);
	seqs(s, sizeof(s));
	buf = slurp(&len);
	assert_true(len <= 1024);
	free(buf);
	assert_string_equal(s + strlen(s) - 4, "a:40");
	assert_int_equal(strncmp(s, "b:1,", 4), 0);
}

static void
test_damaged_file(void **state)
{
	static const char junk[] = "not json\n\001\377binary\n{\"chain\":[]}\n"
	                           "{\"chain\":\"cut short";
	char s[512];
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fwrite(junk, 1, sizeof(junk) - 1, f);
	fclose(f);
	/* An append after a line cut short starts a line of its own. */
	keep('a', 1, 1, 1 << 20);
	seqs(s, sizeof(s));
	assert_string_equal(s + strlen(s) - 3, "a:1");
	/* A rewrite drops every line that is not a receipt. */
	for (int i = 2; i <= 12; i++)
		keep('a', i, 1, 1024);
	seqs(s, sizeof(s));
	assert_null(strstr(s, "?"));
	assert_string_equal(s + strlen(s) - 4, "a:12");
	/* A directory in the file's place: an error, not a crash. */
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	{
		json_t *o = receipt('a', 1, 1);
		assert_int_equal(receipts_keep(path, o, 1024), -1);
		json_decref(o);
	}
	rmdir(path);
}

static void
test_compact(void **state)
{
	static const char in[] = "{\"chain\":\"x\",\"n\":1}\n"
	                         "{\"chain\":\"y\",\"n\":2}\n"
	                         "garbage\n"
	                         "{\"chain\":\"y\",\"n\":4}\n"
	                         "{\"chain\":\"y\",\"n\":5}\n"
	                         "{\"chain\":\"y\",\"n\":6}\n"
	                         "{\"chain\":\"z\",\"n\":7";
	size_t len;
	char *out;

	(void)state;
	out = receipts_compact(in, sizeof(in) - 1, &len);
	assert_non_null(out);
	/* Six complete lines: the newer three (the garbage one dropped)
	 * and x's only one; the cut line is no line. */
	assert_int_equal(len,
	    strlen("{\"chain\":\"x\",\"n\":1}\n"
	           "{\"chain\":\"y\",\"n\":4}\n"
	           "{\"chain\":\"y\",\"n\":5}\n"
	           "{\"chain\":\"y\",\"n\":6}\n"));
	assert_memory_equal(out,
	    "{\"chain\":\"x\",\"n\":1}\n{\"chain\":\"y\",\"n\":4}\n"
	    "{\"chain\":\"y\",\"n\":5}\n{\"chain\":\"y\",\"n\":6}\n",
	    len);
	free(out);
	out = receipts_compact("", 0, &len);
	assert_non_null(out);
	assert_int_equal(len, 0);
	free(out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_compact),
		cmocka_unit_test(test_append_and_bound),
		cmocka_unit_test(test_damaged_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
