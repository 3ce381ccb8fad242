/* test_output.c -- result lines to a file, flushed per line or batched. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "output.h"
#include "result.h"

/* Lines in the file now, as another process would see them. */
static int
count_lines(const char *path)
{
	FILE *fp;
	int n = 0, c;

	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	while ((c = fgetc(fp)) != EOF)
		if (c == '\n')
			n++;
	fclose(fp);
	return n;
}

static void
write_results(struct output *out, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *r = result_new("dns", "t", 0);
		result_set_int(r, "i", i);
		assert_int_equal(output_write(out, r), 0);
		json_decref(r);
	}
}

static void
test_line_by_line(void **state)
{
	char path[] = "/tmp/cw-test-output.XXXXXX";
	struct output *out;
	struct stat st;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_non_null(out = output_open(path));
	assert_string_equal(output_name(out), path);
	write_results(out, 3);
	/* Without a loop every line is out as soon as it is written. */
	assert_int_equal(count_lines(path), 3);
	assert_int_equal(output_flush(out), 0);
	output_close(out);
	/* Appends, never truncates. */
	assert_non_null(out = output_open(path));
	write_results(out, 2);
	output_close(out);
	assert_int_equal(count_lines(path), 5);
	assert_int_equal(stat(path, &st), 0);
	unlink(path);
}

static void
test_batched_on_the_loop(void **state)
{
	char path[] = "/tmp/cw-test-output.XXXXXX";
	struct event_base *base;
	struct output *out;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_non_null(base = event_base_new());
	assert_non_null(out = output_open(path));
	assert_int_equal(output_set_base(out, base), 0);
	write_results(out, 4);
	/* Held until the loop has finished this iteration's events ... */
	assert_int_equal(count_lines(path), 0);
	event_base_loop(base, EVLOOP_ONCE);
	/* ... then all of it at once. */
	assert_int_equal(count_lines(path), 4);
	write_results(out, 1);
	output_close(out); /* close flushes what is still buffered */
	assert_int_equal(count_lines(path), 5);
	event_base_free(base);
	unlink(path);
}

static void
test_long_lines(void **state)
{
	char path[] = "/tmp/cw-test-output.XXXXXX";
	struct output *out;
	char *big;
	json_t *r;
	FILE *fp;
	int fd;

	(void)state;
	assert_true((fd = mkstemp(path)) != -1);
	close(fd);
	assert_non_null(out = output_open(path));
	/* Longer than any buffer so far, each time: the buffer grows. */
	for (size_t len = 10; len <= 100000; len *= 10) {
		assert_non_null(big = malloc(len + 1));
		memset(big, 'x', len);
		big[len] = '\0';
		r = result_new("dns", "long", 0);
		result_set_str(r, "abuf", big);
		assert_int_equal(output_write(out, r), 0);
		json_decref(r);
		free(big);
	}
	output_close(out);
	assert_int_equal(count_lines(path), 5);
	/* Each line is a whole record: parse them back. */
	assert_non_null(fp = fopen(path, "r"));
	for (size_t len = 10; len <= 100000; len *= 10) {
		json_error_t error;
		r = json_loadf(fp, JSON_DISABLE_EOF_CHECK, &error);
		assert_non_null(r);
		assert_int_equal(strlen(json_string_value(
		                     json_object_get(r, "abuf"))),
		    len);
		json_decref(r);
		assert_int_equal(fgetc(fp), '\n');
	}
	assert_int_equal(fgetc(fp), EOF);
	fclose(fp);
	unlink(path);
}

static void
test_device(void **state)
{
	struct output *out;

	(void)state;
	/* A device takes lines and cannot be synced: that is no error. */
	assert_non_null(out = output_open("/dev/null"));
	write_results(out, 2);
	assert_int_equal(output_flush(out), 0);
	output_close(out);
}

static void
test_unwritable(void **state)
{
	(void)state;
	assert_null(output_open("/nonexistent-dir/results.jsonl"));
	output_close(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_line_by_line),
		cmocka_unit_test(test_batched_on_the_loop),
		cmocka_unit_test(test_long_lines),
		cmocka_unit_test(test_device),
		cmocka_unit_test(test_unwritable),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
