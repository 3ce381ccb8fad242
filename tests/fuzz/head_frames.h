/*
 * head_frames.h -- whether libevent's own request parser (the
 * evhttp_parse_*_ functions libevent 2.1 exports for its tests) frames a
 * head as the collector's head reader did, for tests/fuzz/fuzz_head.c
 * and tests/unit/test_collector_head.c.  Include after <stdint.h>,
 * <stdlib.h> and "collector_head.h".
 */
#ifndef CW_HEAD_FRAMES_H
#define CW_HEAD_FRAMES_H

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/http_struct.h>

/* libevent's http-internal.h: enum message_read_status. */
#define EVHTTP_ALL_DATA_READ      1
#define EVHTTP_MORE_DATA_EXPECTED 0
int evhttp_parse_firstline_(struct evhttp_request *, struct evbuffer *);
int evhttp_parse_headers_(struct evhttp_request *, struct evbuffer *);

/* evhttp_frames_alike: whether evhttp, given `size` bytes, reads the
 * head the reader took (`end` bytes, `h`) as it does: the same end, the
 * same Content-Length, no Transfer-Encoding, no body for HEAD; refusing
 * it is alike enough (evhttp answers 400 and closes). */
static int
evhttp_frames_alike(const uint8_t *data, size_t size, size_t end,
    const struct chead *h)
{
	struct evhttp_request *req = evhttp_request_new(NULL, NULL);
	struct evbuffer *buf = evbuffer_new();
	const char *cl;
	int ok = 1, rc;

	if (req == NULL || buf == NULL)
		abort();
	req->kind = EVHTTP_REQUEST;
	evbuffer_add(buf, data, size);
	if (evhttp_parse_firstline_(req, buf) != EVHTTP_ALL_DATA_READ)
		goto done;
	rc = evhttp_parse_headers_(req, buf);
	if (rc == EVHTTP_MORE_DATA_EXPECTED)
		ok = 0; /* it reads on past the reader's end */
	if (rc != EVHTTP_ALL_DATA_READ)
		goto done;
	cl = evhttp_find_header(req->input_headers, "Content-Length");
	if (evbuffer_get_length(buf) != size - end ||
	    evhttp_find_header(req->input_headers, "Transfer-Encoding") !=
	        NULL ||
	    (cl == NULL ? h->length != 0 :
	                  (uint64_t)strtoll(cl, NULL, 10) != h->length) ||
	    (req->type == EVHTTP_REQ_HEAD && h->length != 0) ||
	    (req->type != EVHTTP_REQ_GET && req->type != EVHTTP_REQ_HEAD &&
	        req->type != EVHTTP_REQ_POST) ||
	    ((req->type == EVHTTP_REQ_POST) != h->post))
		ok = 0;
done:
	evbuffer_free(buf);
	evhttp_request_free(req);
	return ok;
}

#endif /* CW_HEAD_FRAMES_H */
