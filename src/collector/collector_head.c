/*
 * collector_head.c -- a strict reader of one request head
 * (collector_head.h).
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "collector_head.h"

#define CHEAD_ENROLL_PATH "/api/v1/enroll"
/* The write endpoints (annotate_http.h): their bodies need the write
 * token. */
#define CHEAD_ANNOT_PATH   "/api/v1/annotations"
#define CHEAD_ANNOT_DELETE "/api/v1/annotations/delete"

/* chead_refuse: note why in `err`; returns `code`. */
static int chead_refuse(char *err, size_t errlen, int code, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

static int
chead_refuse(char *err, size_t errlen, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return code;
}

size_t
chead_end(const char *buf, size_t len, size_t from)
{
	const char *p;
	size_t i;

	/* Where evhttp ends it: a line ends at LF (a CR before it is
	 * dropped) and the head at the first empty line, the request line
	 * included; chead_parse() then refuses a bare LF. */
	if (len > 0 && buf[0] == '\n')
		return 1;
	if (len > 1 && buf[0] == '\r' && buf[1] == '\n')
		return 2;
	i = from > 2 ? from - 2 : 0;
	while (i < len && (p = memchr(buf + i, '\n', len - i)) != NULL) {
		i = (size_t)(p - buf) + 1;
		if (i < len && buf[i] == '\n')
			return i + 1;
		if (i + 1 < len && buf[i] == '\r' && buf[i + 1] == '\n')
			return i + 2;
	}
	return 0;
}

/* chead_tchar: whether `ch` may be in a token (RFC 9110, 5.6.2). */
static bool
chead_tchar(unsigned char ch)
{
	return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
	    (ch >= 'A' && ch <= 'Z') || strchr("!#$%&'*+-.^_`|~", ch) != NULL;
}

/* chead_line_ok: a line of `len` bytes (CRLF excluded) holds nothing but
 * visible ASCII, spaces and tabs (a lone CR, NUL, DEL, bytes over 0x7e
 * and other controls are refused). */
static bool
chead_line_ok(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)line[i];
		if ((ch < 0x20 && ch != '\t') || ch > 0x7e)
			return false;
	}
	return true;
}

/* chead_request_line: METHOD SP TARGET SP HTTP/1.x. */
static int
chead_request_line(const char *line, size_t len, struct chead *h, char *err,
    size_t errlen)
{
	const char *sp1 = memchr(line, ' ', len), *target, *sp2, *q;
	size_t mlen, tlen;

	if (sp1 == NULL)
		return chead_refuse(err, errlen, 400,
		    "not an HTTP request "
		    "line");
	mlen = (size_t)(sp1 - line);
	target = sp1 + 1;
	sp2 = memchr(target, ' ', len - mlen - 1);
	if (sp2 == NULL || sp2 == target ||
	    len - (size_t)(sp2 - line) != sizeof("HTTP/1.1") ||
	    (memcmp(sp2 + 1, "HTTP/1.1", 8) != 0 &&
	        memcmp(sp2 + 1, "HTTP/1.0", 8) != 0))
		return chead_refuse(err, errlen, 400,
		    "the request line must "
		    "be METHOD TARGET HTTP/1.1 (or HTTP/1.0)");
	tlen = (size_t)(sp2 - target);
	for (q = target; q < sp2; q++)
		if (*q == '\t')
			return chead_refuse(err, errlen, 400,
			    "a tab in the "
			    "request target");
	if (mlen == 4 && memcmp(line, "POST", 4) == 0)
		h->post = true;
	else if (!(mlen == 3 && memcmp(line, "GET", 3) == 0) &&
	    !(mlen == 4 && memcmp(line, "HEAD", 4) == 0))
		return chead_refuse(err, errlen, 405, "use GET, HEAD or POST");
	/* Origin form only: an absolute URI is a proxy's business, and
	 * evhttp reads it against its virtual hosts. */
	if (target[0] != '/')
		return chead_refuse(err, errlen, 400,
		    "the request target "
		    "must be a path");
	/* The raw target: an escaped form of the enrollment path is not
	 * the enrollment path here (so its body needs a probe's
	 * signature). */
	q = memchr(target, '?', tlen);
	if (q != NULL)
		tlen = (size_t)(q - target);
	h->enroll = tlen == sizeof(CHEAD_ENROLL_PATH) - 1 &&
	    memcmp(target, CHEAD_ENROLL_PATH, tlen) == 0;
	h->write = (tlen == sizeof(CHEAD_ANNOT_PATH) - 1 &&
	               memcmp(target, CHEAD_ANNOT_PATH, tlen) == 0) ||
	    (tlen == sizeof(CHEAD_ANNOT_DELETE) - 1 &&
	        memcmp(target, CHEAD_ANNOT_DELETE, tlen) == 0);
	return 0;
}

/* chead_length: the value of a Content-Length: decimal digits only. */
static int
chead_length(const char *v, size_t len, struct chead *h, bool *seen, char *err,
    size_t errlen)
{
	uint64_t n = 0;

	if (*seen)
		return chead_refuse(err, errlen, 400,
		    "more than one "
		    "Content-Length");
	*seen = true;
	if (len == 0 || len > 18)
		return chead_refuse(err, errlen, 400,
		    "Content-Length must "
		    "be 1 to 18 decimal digits");
	for (size_t i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return chead_refuse(err, errlen, 400,
			    "Content-Length "
			    "must be decimal digits only");
		n = n * 10 + (uint64_t)(v[i] - '0');
	}
	h->length = n;
	return 0;
}

/* chead_header: one header line (CRLF excluded). */
static int
chead_header(const char *line, size_t len, struct chead *h, bool *length_seen,
    bool *te_seen, char *err, size_t errlen)
{
	const char *colon = memchr(line, ':', len), *v, *end = line + len;
	size_t nlen;

	if (line[0] == ' ' || line[0] == '\t')
		return chead_refuse(err, errlen, 400, "a folded header line");
	if (colon == NULL || colon == line)
		return chead_refuse(err, errlen, 400,
		    "a header line without "
		    "a name and ':'");
	nlen = (size_t)(colon - line);
	for (size_t i = 0; i < nlen; i++)
		if (!chead_tchar((unsigned char)line[i]))
			return chead_refuse(err, errlen, 400,
			    "a header name "
			    "with a byte not allowed in a token");
	for (v = colon + 1; v < end && (*v == ' ' || *v == '\t'); v++)
		;
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	if (nlen == 14 && strncasecmp(line, "Content-Length", 14) == 0)
		return chead_length(v, (size_t)(end - v), h, length_seen, err,
		    errlen);
	if (nlen == 17 && strncasecmp(line, "Transfer-Encoding", 17) == 0)
		*te_seen = true;
	else if (nlen == 13 && strncasecmp(line, "Authorization", 13) == 0) {
		if (h->auth[0] != '\0' || h->auth_long)
			return chead_refuse(err, errlen, 400,
			    "more than one "
			    "Authorization");
		if ((size_t)(end - v) > CHEAD_AUTH_MAX)
			h->auth_long = true;
		else {
			memcpy(h->auth, v, (size_t)(end - v));
			h->auth[end - v] = '\0';
		}
	}
	return 0;
}

int
chead_parse(const char *buf, size_t len, struct chead *h, char *err,
    size_t errlen)
{
	const char *line = buf, *end = buf + len, *eol;
	bool length_seen = false, te_seen = false, first = true;
	int code;

	memset(h, 0, sizeof(*h));
	for (;;) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL || eol == line || eol[-1] != '\r')
			return chead_refuse(err, errlen, 400,
			    "every line of "
			    "the head must end in CRLF");
		if (eol - 1 == line)
			break; /* the blank line */
		if (!chead_line_ok(line, (size_t)(eol - 1 - line)))
			return chead_refuse(err, errlen, 400,
			    "a control or "
			    "non-ASCII byte in the head");
		code = first ? chead_request_line(line,
		                   (size_t)(eol - 1 - line), h, err, errlen) :
		               chead_header(line, (size_t)(eol - 1 - line), h,
		                   &length_seen, &te_seen, err, errlen);
		if (code != 0)
			return code;
		first = false;
		line = eol + 1;
	}
	if (first)
		return chead_refuse(err, errlen, 400, "no request line");
	if (te_seen && length_seen)
		return chead_refuse(err, errlen, 400,
		    "both Transfer-Encoding "
		    "and Content-Length");
	if (te_seen)
		return chead_refuse(err, errlen, 411,
		    "send the body with a "
		    "Content-Length, not a Transfer-Encoding");
	if (!h->post && h->length > 0 && memcmp(buf, "HEAD", 4) == 0)
		return chead_refuse(err, errlen, 400, "HEAD with a body");
	return 0;
}
