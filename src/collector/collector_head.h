/*
 * collector_head.h -- a strict reader of one HTTP/1.x request head, for
 * the decisions the collector takes before evhttp reads a body: who
 * asks (the Authorization header), how much (Content-Length) and where
 * to (the target).
 *
 * It reads the head a second time, beside evhttp, so it must never
 * frame a request otherwise than evhttp does (request smuggling).  It
 * takes only what both read alike and refuses the rest:
 *   - the request line is METHOD SP /PATH SP HTTP/1.0|HTTP/1.1; the
 *     method one of GET, HEAD, POST (405 otherwise: evhttp reads no
 *     body for a method it does not know, whatever Content-Length says);
 *   - every line ends in CRLF; a header line is a token, ':', and a
 *     value of visible ASCII, spaces and tabs; no line folding, no
 *     space before ':', no control bytes (400);
 *   - at most one Content-Length, of decimal digits only (400); HEAD
 *     with a body (400); any Transfer-Encoding: 411 (a batch is sent
 *     with a length), or 400 beside a Content-Length;
 *   - at most one Authorization (400).
 * Nothing here allocates; nothing is kept of the client.
 * tests/fuzz/fuzz_head.c holds every head it takes against libevent's
 * own parser.
 */
#ifndef CW_COLLECTOR_HEAD_H
#define CW_COLLECTOR_HEAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CHEAD_AUTH_MAX   256 /* bytes of an Authorization kept */
#define CHEAD_LENGTH_MAX UINT64_C(999999999999999999)

/* What the collector decides on, from one request head. */
struct chead {
	bool post;                     /* else GET or HEAD */
	bool enroll;                   /* target exactly /api/v1/enroll */
	bool write;                    /* target a write endpoint */
	uint64_t length;               /* Content-Length; 0 when absent */
	bool auth_long;                /* Authorization over CHEAD_AUTH_MAX */
	char auth[CHEAD_AUTH_MAX + 1]; /* "" when absent */
};

/*
 * chead_end: the length of the head at the start of `buf` (up to and
 * including its empty line, found where evhttp finds it: lines end at
 * LF, CRLF or not), or 0 while it is not complete.  `from`: the bytes
 * before it were looked at already (with less of the buffer).
 */
size_t chead_end(const char *buf, size_t len, size_t from);

/*
 * chead_parse: read the complete head `buf` (`len` bytes, as
 * chead_end() found it) into `h`.  Returns 0, or the HTTP status of the
 * refusal (400, 405, 411) with the reason in `err` (ASCII, no bytes of
 * the client's beyond a header's name).
 */
int chead_parse(const char *buf, size_t len, struct chead *h, char *err,
    size_t errlen);

#endif /* CW_COLLECTOR_HEAD_H */
