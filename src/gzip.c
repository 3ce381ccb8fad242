/*
 * gzip.c -- gzip bodies in memory with zlib.
 */
#include "config.h"

#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gzip.h"

#define GZIP_WINDOW	(16 + MAX_WBITS)	/* gzip wrapper only */
#define GZIP_FIRST_CAP	(64 * 1024)

/* gzip_grow: make room in *buf (capacity *cap, `len` used) for more
 * output, never beyond `max` bytes.  Returns 0 or -1. */
static int
gzip_grow(unsigned char **buf, size_t *cap, size_t len, size_t max)
{
	size_t want = *cap == 0 ? GZIP_FIRST_CAP : *cap * 2;
	unsigned char *grown;

	if (want > max)
		want = max;
	if (want <= len)
		return -1;
	if ((grown = realloc(*buf, want)) == NULL)
		return -1;
	*buf = grown;
	*cap = want;
	return 0;
}

/* gzip_run: inflate all of `in` into *buf, growing it up to `max`
 * bytes; a member that ends with input left starts the next one. */
static int
gzip_run(z_stream *zs, const unsigned char *in, size_t inlen,
    unsigned char **buf, size_t *cap, size_t *len, size_t max)
{
	size_t used = 0;
	int zrc;

	for (;;) {
		if (zs->avail_in == 0 && used < inlen) {
			size_t n = inlen - used;
			if (n > UINT_MAX)
				n = UINT_MAX;
			zs->next_in = (unsigned char *)(uintptr_t)(in + used);
			zs->avail_in = (uInt)n;
			used += n;
		}
		if (*len == *cap) {
			if (*cap >= max)
				return GZIP_E_TOO_LARGE;
			if (gzip_grow(buf, cap, *len, max) == -1)
				return GZIP_E_NOMEM;
		}
		zs->next_out = *buf + *len;
		zs->avail_out = (uInt)(*cap - *len > UINT_MAX ? UINT_MAX :
		    *cap - *len);
		zrc = inflate(zs, Z_NO_FLUSH);
		*len = (size_t)(zs->next_out - *buf);
		if (zrc == Z_STREAM_END) {
			if (zs->avail_in == 0 && used == inlen)
				return GZIP_OK;
			if (inflateReset(zs) != Z_OK)
				return GZIP_E_CORRUPT;
			continue;
		}
		if (zrc == Z_MEM_ERROR)
			return GZIP_E_NOMEM;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return GZIP_E_CORRUPT;
		/* No progress possible: the input ended inside a member. */
		if (zrc == Z_BUF_ERROR && zs->avail_out > 0 && used == inlen)
			return GZIP_E_CORRUPT;
	}
}

int
gzip_inflate(const void *in, size_t inlen, size_t limit, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0;
	z_stream zs;
	int rc;

	*out = NULL;
	*outlen = 0;
	if (inlen == 0)
		return GZIP_E_CORRUPT;
	memset(&zs, 0, sizeof(zs));
	if (inflateInit2(&zs, GZIP_WINDOW) != Z_OK)
		return GZIP_E_NOMEM;
	/* One byte more than the limit tells "exactly the limit" from
	 * "past it"; one more again holds the terminating NUL. */
	rc = gzip_run(&zs, in, inlen, &buf, &cap, &len,
	    limit < SIZE_MAX - 1 ? limit + 1 : limit);
	inflateEnd(&zs);
	if (rc == GZIP_OK && len > limit)
		rc = GZIP_E_TOO_LARGE;
	if (rc == GZIP_OK && len == cap) {
		unsigned char *grown = realloc(buf, len + 1);
		if (grown == NULL)
			rc = GZIP_E_NOMEM;
		else
			buf = grown;
	}
	if (rc != GZIP_OK) {
		free(buf);
		return rc;
	}
	if (buf == NULL && (buf = malloc(1)) == NULL)
		return GZIP_E_NOMEM;
	buf[len] = '\0';
	*out = buf;
	*outlen = len;
	return GZIP_OK;
}

int
gzip_deflate(const void *in, size_t len, int level, unsigned char **out,
    size_t *outlen)
{
	unsigned char *buf;
	size_t cap;
	z_stream zs;
	int zrc;

	*out = NULL;
	*outlen = 0;
	if (len > UINT_MAX / 2)
		return GZIP_E_NOMEM;
	memset(&zs, 0, sizeof(zs));
	if (deflateInit2(&zs, level, Z_DEFLATED, GZIP_WINDOW, 8,
	    Z_DEFAULT_STRATEGY) != Z_OK)
		return GZIP_E_NOMEM;
	/* deflateBound does not count the gzip header and trailer. */
	cap = deflateBound(&zs, (uLong)len) + 64;
	if ((buf = malloc(cap)) == NULL) {
		deflateEnd(&zs);
		return GZIP_E_NOMEM;
	}
	zs.next_in = (unsigned char *)(uintptr_t)in;
	zs.avail_in = (uInt)len;
	zs.next_out = buf;
	zs.avail_out = (uInt)cap;
	zrc = deflate(&zs, Z_FINISH);
	deflateEnd(&zs);
	if (zrc != Z_STREAM_END) {
		free(buf);
		return GZIP_E_NOMEM;
	}
	*outlen = (size_t)(zs.next_out - buf);
	*out = buf;
	return GZIP_OK;
}

const char *
gzip_strerror(int error)
{
	switch (error) {
	case GZIP_OK:
		return "no error";
	case GZIP_E_CORRUPT:
		return "not valid gzip data";
	case GZIP_E_TOO_LARGE:
		return "inflates past the size limit";
	case GZIP_E_NOMEM:
		return "out of memory";
	default:
		return "unknown error";
	}
}
