/*
 * gzip.h -- gzip bodies in memory (zlib), with a hard limit on what an
 * inflated body may grow to, so that a small "gzip bomb" cannot make
 * the collector allocate more than it accepts uncompressed.
 */
#ifndef CW_GZIP_H
#define CW_GZIP_H

#include <stddef.h>

enum gzip_error {
	GZIP_OK = 0,
	GZIP_E_CORRUPT = -1,	/* not gzip, truncated, bad checksum */
	GZIP_E_TOO_LARGE = -2,	/* inflates past the limit */
	GZIP_E_NOMEM = -3,
};

/*
 * gzip_inflate: inflate the gzip data `in` (`inlen` bytes: one gzip
 * member, or several concatenated, nothing after the last) into a new
 * buffer of at most `limit` bytes.  On success *out (the caller frees
 * it; NUL-terminated for convenience, the NUL not counted) and *outlen
 * are set.  Inflation stops as soon as the output would pass `limit`.
 * Returns GZIP_OK or a negative enum gzip_error (then *out is NULL).
 */
int gzip_inflate(const void *in, size_t inlen, size_t limit,
    unsigned char **out, size_t *outlen);

/*
 * gzip_deflate: compress `len` bytes as one gzip member at `level`
 * (0..9, or -1 for zlib's default) into a new buffer *out (caller
 * frees) of *outlen bytes.  Returns GZIP_OK or GZIP_E_NOMEM.
 */
int gzip_deflate(const void *in, size_t len, int level, unsigned char **out,
    size_t *outlen);

/* gzip_strerror: a short English description of an enum gzip_error. */
const char *gzip_strerror(int error);

#endif /* CW_GZIP_H */
