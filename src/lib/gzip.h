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
	GZIP_E_CORRUPT = -1,   /* not gzip, truncated, bad checksum */
	GZIP_E_TOO_LARGE = -2, /* inflates past the limit */
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
 * A gzip stream: the same data inflated a piece at a time into the
 * caller's buffer, so that a body can be hashed as it inflates and the
 * work cut into bounded slices; nothing is kept but zlib's state (its
 * 32 KiB window and a few KiB more).
 */
struct gzip_stream;

/* gzip_stream_new: a stream over `in` (`inlen` bytes, borrowed: it
 * must outlive the stream) that fails once more than `limit` bytes have
 * come out.  NULL when out of memory. */
struct gzip_stream *gzip_stream_new(const void *in, size_t inlen, size_t limit);

/*
 * gzip_stream_read: inflate up to `len` more bytes into `out`; *got is
 * how many came.  Returns GZIP_OK (*got is 0 only at the end of the
 * data) or a negative enum gzip_error, which every later call returns
 * again.
 */
int gzip_stream_read(struct gzip_stream *g, void *out, size_t len, size_t *got);

/* gzip_stream_free: NULL is fine. */
void gzip_stream_free(struct gzip_stream *g);

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
