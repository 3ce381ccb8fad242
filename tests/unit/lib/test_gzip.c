/* test_gzip.c -- gzip bodies in memory: round trips, the hard limit on
 * the inflated size (gzip bombs), and what does not inflate; the same
 * read a few bytes at a time through a gzip stream. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gzip.h"

static const char text[] = "{\"probe\":\"0123\",\"seq\":1}\n"
                           "{\"probe\":\"0123\",\"seq\":2}\n";

/* deflate: `len` bytes of `in` as gzip; the caller frees *out. */
static size_t
deflate_it(const void *in, size_t len, unsigned char **out)
{
	size_t n = 0;

	assert_int_equal(gzip_deflate(in, len, 6, out, &n), GZIP_OK);
	assert_non_null(*out);
	return n;
}

static void
test_round_trip(void **state)
{
	unsigned char *z, *back;
	size_t zlen, blen;

	(void)state;
	zlen = deflate_it(text, sizeof(text) - 1, &z);
	assert_true(z[0] == 0x1f && z[1] == 0x8b); /* a gzip member */
	assert_int_equal(gzip_inflate(z, zlen, 1 << 20, &back, &blen), GZIP_OK);
	assert_int_equal(blen, sizeof(text) - 1);
	assert_memory_equal(back, text, blen);
	assert_int_equal(back[blen], '\0');
	free(back);
	free(z);
}

static void
test_empty_payload(void **state)
{
	unsigned char *z, *back;
	size_t zlen, blen = 99;

	(void)state;
	zlen = deflate_it("", 0, &z);
	assert_int_equal(gzip_inflate(z, zlen, 10, &back, &blen), GZIP_OK);
	assert_int_equal(blen, 0);
	assert_non_null(back);
	assert_int_equal(back[0], '\0');
	free(back);
	free(z);
}

static void
test_limit(void **state)
{
	size_t len = sizeof(text) - 1, zlen, blen;
	unsigned char *z, *back;

	(void)state;
	zlen = deflate_it(text, len, &z);
	/* Exactly the limit is fine, one byte less is not. */
	assert_int_equal(gzip_inflate(z, zlen, len, &back, &blen), GZIP_OK);
	free(back);
	assert_int_equal(gzip_inflate(z, zlen, len - 1, &back, &blen),
	    GZIP_E_TOO_LARGE);
	assert_null(back);
	assert_int_equal(blen, 0);
	free(z);
}

static void
test_bomb(void **state)
{
	size_t big = 64 << 20, zlen, blen;
	unsigned char *zeros, *z, *back;

	(void)state;
	/* 64 MiB of zeros compress to some 64 KiB: refused at 1 MiB. */
	assert_non_null(zeros = calloc(1, big));
	zlen = deflate_it(zeros, big, &z);
	free(zeros);
	assert_true(zlen < big / 512);
	assert_int_equal(gzip_inflate(z, zlen, 1 << 20, &back, &blen),
	    GZIP_E_TOO_LARGE);
	assert_null(back);
	free(z);
}

static void
test_concatenated(void **state)
{
	unsigned char *a, *b, *both, *back;
	size_t alen, blen, n;

	(void)state;
	alen = deflate_it("one\n", 4, &a);
	blen = deflate_it("two\n", 4, &b);
	assert_non_null(both = malloc(alen + blen));
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	assert_int_equal(gzip_inflate(both, alen + blen, 100, &back, &n),
	    GZIP_OK);
	assert_int_equal(n, 8);
	assert_memory_equal(back, "one\ntwo\n", 8);
	free(back);
	free(both);
	free(a);
	free(b);
}

static void
test_corrupt(void **state)
{
	unsigned char *z, *back, *padded;
	size_t zlen, n;

	(void)state;
	zlen = deflate_it(text, sizeof(text) - 1, &z);
	/* Nothing, not gzip, truncated, a wrong checksum, trailing bytes. */
	assert_int_equal(gzip_inflate(z, 0, 100, &back, &n), GZIP_E_CORRUPT);
	assert_int_equal(gzip_inflate(text, sizeof(text) - 1, 100, &back, &n),
	    GZIP_E_CORRUPT);
	assert_int_equal(gzip_inflate(z, zlen - 4, 100, &back, &n),
	    GZIP_E_CORRUPT);
	assert_int_equal(gzip_inflate(z, zlen / 2, 100, &back, &n),
	    GZIP_E_CORRUPT);
	assert_non_null(padded = malloc(zlen + 3));
	memcpy(padded, z, zlen);
	memcpy(padded + zlen, "xyz", 3);
	assert_int_equal(gzip_inflate(padded, zlen + 3, 100, &back, &n),
	    GZIP_E_CORRUPT);
	z[zlen - 8] ^= 0xff; /* the CRC-32 */
	assert_int_equal(gzip_inflate(z, zlen, 100, &back, &n), GZIP_E_CORRUPT);
	assert_null(back);
	assert_string_equal(gzip_strerror(GZIP_E_CORRUPT),
	    "not valid gzip data");
	free(padded);
	free(z);
}

/* A stream read in pieces of `piece` bytes gives what gzip_inflate
 * gives, members joined, and *got is 0 only at the end. */
static void
test_stream_pieces(void **state)
{
	unsigned char *a, *b, *both, out[64], buf[7];
	size_t alen, blen, got, n = 0;
	struct gzip_stream *g;

	(void)state;
	alen = deflate_it(text, sizeof(text) - 1, &a);
	blen = deflate_it("three\n", 6, &b);
	assert_non_null(both = malloc(alen + blen));
	memcpy(both, a, alen);
	memcpy(both + alen, b, blen);
	assert_non_null(g = gzip_stream_new(both, alen + blen, 100));
	do {
		assert_int_equal(gzip_stream_read(g, buf, sizeof(buf), &got),
		    GZIP_OK);
		assert_true(n + got <= sizeof(out));
		memcpy(out + n, buf, got);
		n += got;
		assert_true(got == sizeof(buf) || n == sizeof(text) - 1 + 6);
	} while (got > 0);
	assert_int_equal(n, sizeof(text) - 1 + 6);
	assert_memory_equal(out, text, sizeof(text) - 1);
	assert_memory_equal(out + sizeof(text) - 1, "three\n", 6);
	gzip_stream_free(g);
	gzip_stream_free(NULL);
	free(both);
	free(a);
	free(b);
}

/* A bomb read through a stream stops one byte past the limit, and the
 * error stays; corrupt data fails as gzip_inflate fails. */
static void
test_stream_limit(void **state)
{
	size_t big = 8 << 20, zlen, got, n = 0;
	unsigned char *zeros, *z, buf[4096];
	struct gzip_stream *g;
	int rc;

	(void)state;
	assert_non_null(zeros = calloc(1, big));
	zlen = deflate_it(zeros, big, &z);
	free(zeros);
	assert_non_null(g = gzip_stream_new(z, zlen, 10000));
	while ((rc = gzip_stream_read(g, buf, sizeof(buf), &got)) == GZIP_OK)
		n += got;
	assert_int_equal(rc, GZIP_E_TOO_LARGE);
	assert_int_equal(n + got, 10001);
	assert_int_equal(gzip_stream_read(g, buf, sizeof(buf), &got),
	    GZIP_E_TOO_LARGE);
	assert_int_equal(got, 0);
	gzip_stream_free(g);
	assert_non_null(g = gzip_stream_new(z, zlen / 2, big));
	while ((rc = gzip_stream_read(g, buf, sizeof(buf), &got)) == GZIP_OK)
		assert_true(got > 0);
	assert_int_equal(rc, GZIP_E_CORRUPT);
	gzip_stream_free(g);
	assert_non_null(g = gzip_stream_new(z, 0, big));
	assert_int_equal(gzip_stream_read(g, buf, sizeof(buf), &got),
	    GZIP_E_CORRUPT);
	gzip_stream_free(g);
	free(z);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_empty_payload),
		cmocka_unit_test(test_limit),
		cmocka_unit_test(test_bomb),
		cmocka_unit_test(test_concatenated),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_stream_pieces),
		cmocka_unit_test(test_stream_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
