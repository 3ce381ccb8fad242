/*
 * gzip.c -- gzip bodies in memory with zlib.
 */
#include "config.h"

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "gzip.h"

#define GZIP_WINDOW    (16 + MAX_WBITS) /* gzip wrapper only */
#define GZIP_FIRST_CAP (64 * 1024)

/* A gzip stream (gzip.h). */
struct gzip_stream {
	z_stream zs;
	const unsigned char *in;
	size_t inlen, used;  /* used: handed to zlib */
	size_t limit, total; /* total: bytes out so far */
	int state;           /* GZIP_OK or the error */
	bool end;
};

struct gzip_stream *
gzip_stream_new(const void *in, size_t inlen, size_t limit)
{
	struct gzip_stream *g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	if (inflateInit2(&g->zs, GZIP_WINDOW) != Z_OK) {
		free(g);
		return NULL;
	}
	g->in = in;
	g->inlen = inlen;
	g->limit = limit;
	if (inlen == 0)
		g->state = GZIP_E_CORRUPT;
	return g;
}

void
gzip_stream_free(struct gzip_stream *g)
{
	if (g == NULL)
		return;
	inflateEnd(&g->zs);
	free(g);
}

/* gzip_stream_run: inflate into `out` until `len` bytes are there (*got
 * counts them) or the data ends; a member that ends with input left
 * starts the next one. */
static int
gzip_stream_run(struct gzip_stream *g, unsigned char *out, size_t len,
    size_t *got)
{
	z_stream *zs = &g->zs;
	int zrc;

	while (*got < len && !g->end) {
		if (zs->avail_in == 0 && g->used < g->inlen) {
			size_t n = g->inlen - g->used;
			if (n > UINT_MAX)
				n = UINT_MAX;
			zs->next_in = (unsigned char *)(uintptr_t)(g->in +
			    g->used);
			zs->avail_in = (uInt)n;
			g->used += n;
		}
		zs->next_out = out + *got;
		zs->avail_out = (uInt)(len - *got > UINT_MAX ? UINT_MAX :
		                                               len - *got);
		zrc = inflate(zs, Z_NO_FLUSH);
		*got = (size_t)(zs->next_out - out);
		if (zrc == Z_STREAM_END) {
			if (zs->avail_in == 0 && g->used == g->inlen)
				g->end = true;
			else if (inflateReset(zs) != Z_OK)
				return GZIP_E_CORRUPT;
			continue;
		}
		if (zrc == Z_MEM_ERROR)
			return GZIP_E_NOMEM;
		if (zrc != Z_OK && zrc != Z_BUF_ERROR)
			return GZIP_E_CORRUPT;
		/* No progress possible: the input ended inside a member. */
		if (zrc == Z_BUF_ERROR && zs->avail_out > 0 &&
		    g->used == g->inlen)
			return GZIP_E_CORRUPT;
	}
	return GZIP_OK;
}

int
gzip_stream_read(struct gzip_stream *g, void *out, size_t len, size_t *got)
{
	size_t room = g->limit - g->total;

	*got = 0;
	if (g->state != GZIP_OK)
		return g->state;
	/* One byte more than the limit tells "exactly the limit" from
	 * "past it"; no more is inflated. */
	if (room < SIZE_MAX)
		room++;
	g->state = gzip_stream_run(g, out, len < room ? len : room, got);
	g->total += *got;
	if (g->state == GZIP_OK && g->total > g->limit)
		g->state = GZIP_E_TOO_LARGE;
	return g->state;
}

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

int
gzip_inflate(const void *in, size_t inlen, size_t limit, unsigned char **out,
    size_t *outlen)
{
	struct gzip_stream *g;
	unsigned char *buf = NULL;
	size_t cap = 0, len = 0, got;
	/* The limit, one byte past it, and the terminating NUL. */
	size_t max = limit < SIZE_MAX - 2 ? limit + 2 : SIZE_MAX;
	int rc;

	*out = NULL;
	*outlen = 0;
	if ((g = gzip_stream_new(in, inlen, limit)) == NULL)
		return GZIP_E_NOMEM;
	do {
		if (len + 1 >= cap && gzip_grow(&buf, &cap, len, max) == -1) {
			rc = GZIP_E_NOMEM;
			break;
		}
		rc = gzip_stream_read(g, buf + len, cap - len - 1, &got);
		len += got;
	} while (rc == GZIP_OK && got > 0);
	gzip_stream_free(g);
	if (rc != GZIP_OK) {
		free(buf);
		return rc;
	}
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
