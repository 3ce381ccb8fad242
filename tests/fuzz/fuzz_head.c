/*
 * fuzz_head.c -- libFuzzer target: request heads, read by the
 * collector's head reader (collector_head.c) and by libevent's own
 * parser (the evhttp_parse_*_ functions libevent 2.1 exports for its
 * tests), which must frame every head the reader takes the same way:
 * the head ends at the same byte, Content-Length is the same, there is
 * no Transfer-Encoding, and HEAD has no body.  A head the reader takes
 * and evhttp frames otherwise is request smuggling: abort().  evhttp
 * refusing a head the reader took is safe (it answers 400 and closes).
 * The reader must also find the end of a head fed byte by byte where it
 * finds it in one piece.  The comparison is head_frames.h's, which
 * tests/unit/test_collector_head.c runs on its own heads.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "collector_head.h"
#include "head_frames.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	size_t end = chead_end(buf, size, 0), piecewise = 0;
	struct chead h;
	char err[256];

	for (size_t n = 1; n <= size && piecewise == 0; n++)
		piecewise = chead_end(buf, n, n - 1);
	if (piecewise != end)
		abort();
	if (end == 0 || chead_parse(buf, end, &h, err, sizeof(err)) != 0)
		return 0;
	if (!evhttp_frames_alike(data, size, end, &h))
		abort();
	return 0;
}
