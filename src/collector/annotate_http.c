/*
 * annotate_http.c -- the annotation endpoints (annotate_http.h): a read
 * as the other read endpoints, writes behind the write token.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "annotate.h"
#include "annotate_http.h"
#include "collector_http.h"
#include "log.h"
#include "store_annot.h"

struct annotate_http {
	struct collector_http *h;
	struct store *st;
};

/* ahttp_unauthorized: 401 for a request without the token it needs. */
static void
ahttp_unauthorized(struct evhttp_request *req, const char *which)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "WWW-Authenticate", "Bearer");
	collector_http_error(req, 401,
	    "this endpoint needs Authorization: Bearer <%s token>", which);
}

/* ahttp_store_failed: 503 after a database error. */
static void
ahttp_store_failed(struct annotate_http *a, struct evhttp_request *req)
{
	log_warnx("collector: annotations: %s", store_error_text(a->st));
	collector_http_error(req, 503,
	    "the database is unavailable; try "
	    "again later");
}

/* ahttp_body: the request's body as a JSON object; NULL after answering
 * 400 or 413.  The caller owns it. */
static json_t *
ahttp_body(struct evhttp_request *req)
{
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(buf);
	json_error_t jerr;
	json_t *root;

	if (len > COLLECTOR_HTTP_WRITE_MAX) {
		collector_http_error(req, 413,
		    "%zu bytes, over the limit of %d", len,
		    COLLECTOR_HTTP_WRITE_MAX);
		return NULL;
	}
	root = json_loadb(len > 0 ? (const char *)evbuffer_pullup(buf, -1) : "",
	    len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		collector_http_error(req, 400, "not a JSON object%s%s",
		    root == NULL ? ": " : "", root == NULL ? jerr.text : "");
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ahttp_add: POST /api/v1/annotations. */
static void
ahttp_add(struct annotate_http *a, struct evhttp_request *req)
{
	struct store_annotation an;
	char err[512];
	json_t *root;
	int rc;

	if ((root = ahttp_body(req)) == NULL)
		return;
	store_annotation_init(&an);
	rc = annotate_from_json(&an, root, err, sizeof(err));
	json_decref(root);
	if (rc == -1) {
		collector_http_error(req, 400, "%s", err);
		return;
	}
	rc = store_annotation_add(a->st, &an, err, sizeof(err));
	if (rc == STORE_E_INVALID)
		collector_http_error(req, 400, "%s", err);
	else if (rc != STORE_OK)
		ahttp_store_failed(a, req);
	else {
		log_info("collector: annotation %lld added", an.id);
		collector_http_json(req, 201, annotate_json(&an));
	}
}

/* What the list of one request gathers. */
struct ahttp_list {
	struct evbuffer *buf;
	enum annotate_format fmt;
	bool failed;
};

static int
ahttp_list_one(void *arg, const struct store_annotation *an)
{
	struct ahttp_list *l = arg;

	if (annotate_write(l->buf, l->fmt, an) == -1) {
		l->failed = true;
		return 1;
	}
	return 0;
}

/* ahttp_query: from, to and format of the query string.  Returns 0, or
 * -1 after answering 400. */
static int
ahttp_query(struct evhttp_request *req, cw_usec_t *from, cw_usec_t *to,
    enum annotate_format *fmt)
{
	const char *query = evhttp_uri_get_query(
	    evhttp_request_get_evhttp_uri(req));
	struct store_annotation scratch;
	struct evkeyvalq q;
	struct evkeyval *kv;
	char err[256];
	int rc = 0;

	TAILQ_INIT(&q);
	store_annotation_init(&scratch);
	if (query != NULL && evhttp_parse_query_str(query, &q) == -1) {
		collector_http_error(req, 400, "malformed query string");
		return -1;
	}
	TAILQ_FOREACH(kv, &q, next) {
		if (strcmp(kv->key, "format") == 0) {
			if (annotate_format_parse(kv->value, fmt) == -1) {
				collector_http_error(req, 400,
				    "format: \"%.32s\" is not jsonl or csv",
				    kv->value);
				rc = -1;
				break;
			}
			continue;
		}
		if (strcmp(kv->key, "from") != 0 &&
		    strcmp(kv->key, "to") != 0) {
			collector_http_error(req, 400,
			    "unknown parameter \"%.32s\"", kv->key);
			rc = -1;
			break;
		}
		if (annotate_set(&scratch, kv->key, kv->value, err,
		        sizeof(err)) == -1) {
			collector_http_error(req, 400, "%s", err);
			rc = -1;
			break;
		}
		if (strcmp(kv->key, "from") == 0)
			*from = scratch.from;
		else
			*to = scratch.to;
	}
	evhttp_clear_headers(&q);
	if (rc == 0 && *from != 0 && *to != 0 && *from >= *to) {
		collector_http_error(req, 400, "from must be before to");
		rc = -1;
	}
	return rc;
}

/* ahttp_list: GET /api/v1/annotations. */
static void
ahttp_list(struct annotate_http *a, struct evhttp_request *req)
{
	struct ahttp_list l = { .fmt = ANNOTATE_JSONL };
	cw_usec_t from = 0, to = 0;
	int n;

	if (ahttp_query(req, &from, &to, &l.fmt) == -1)
		return;
	if ((l.buf = evbuffer_new()) == NULL ||
	    annotate_write_header(l.buf, l.fmt) == -1) {
		collector_http_error(req, 503, "out of memory");
		goto out;
	}
	n = store_annotation_list(a->st, from, to, ANNOTATE_HTTP_LIST_MAX + 1,
	    ahttp_list_one, &l);
	if (n < 0)
		ahttp_store_failed(a, req);
	else if (l.failed)
		collector_http_error(req, 503, "out of memory");
	else if (n > ANNOTATE_HTTP_LIST_MAX)
		collector_http_error(req, 400,
		    "more than %d annotations: ask for a narrower window "
		    "(from, to)",
		    ANNOTATE_HTTP_LIST_MAX);
	else {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Content-Type",
		    l.fmt == ANNOTATE_CSV ?
		        "text/csv; charset=utf-8; header=present" :
		        "application/x-ndjson");
		evhttp_send_reply(req, 200, NULL, l.buf);
	}
out:
	if (l.buf != NULL)
		evbuffer_free(l.buf);
}

/* ahttp_annotations: /api/v1/annotations: GET (HEAD) reads, POST adds. */
static void
ahttp_annotations(struct evhttp_request *req, void *arg)
{
	struct annotate_http *a = arg;

	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
	case EVHTTP_REQ_HEAD:
		if (!collector_http_read_allowed(a->h, req))
			ahttp_unauthorized(req, "read");
		else
			ahttp_list(a, req);
		return;
	case EVHTTP_REQ_POST:
		if (!collector_http_write_trusted(a->h, req))
			ahttp_unauthorized(req, "write");
		else
			ahttp_add(a, req);
		return;
	default:
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD, POST");
		collector_http_error(req, 405, "use GET or POST");
	}
}

/* ahttp_delete: POST /api/v1/annotations/delete {"id": N}. */
static void
ahttp_delete(struct evhttp_request *req, void *arg)
{
	struct annotate_http *a = arg;
	json_t *root, *id;
	long long n;
	int rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "POST");
		collector_http_error(req, 405, "use POST");
		return;
	}
	if (!collector_http_write_trusted(a->h, req)) {
		ahttp_unauthorized(req, "write");
		return;
	}
	if ((root = ahttp_body(req)) == NULL)
		return;
	id = json_object_get(root, "id");
	n = json_is_integer(id) ? (long long)json_integer_value(id) : 0;
	if (n < 1 || json_object_size(root) != 1) {
		json_decref(root);
		collector_http_error(req, 400,
		    "the body must be {\"id\": N}, N an annotation's id");
		return;
	}
	json_decref(root);
	if ((rc = store_annotation_delete(a->st, n)) == STORE_E_NOTFOUND)
		collector_http_error(req, 404, "no annotation %lld", n);
	else if (rc != STORE_OK)
		ahttp_store_failed(a, req);
	else {
		log_info("collector: annotation %lld deleted", n);
		collector_http_json(req, 200,
		    json_pack("{s:I}", "deleted", (json_int_t)n));
	}
}

struct annotate_http *
annotate_http_new(struct collector_http *h, struct store *st)
{
	struct annotate_http *a;

	if ((a = calloc(1, sizeof(*a))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	a->h = h;
	a->st = st;
	if (collector_http_route(h, "/api/v1/annotations", false,
	        ahttp_annotations, a) == -1 ||
	    collector_http_route(h, "/api/v1/annotations/delete", false,
	        ahttp_delete, a) == -1) {
		free(a);
		return NULL;
	}
	return a;
}

void
annotate_http_free(struct annotate_http *a)
{
	free(a);
}
