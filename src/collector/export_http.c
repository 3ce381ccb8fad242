/*
 * export_http.c -- GET /api/v1/results, /api/v1/summary,
 * /api/v1/batches and /api/v1/probes on the collector's HTTP service.
 *
 * A result or summary is a stream: the first page is read in the
 * request's callback, the rest one page at a time, each when evhttp
 * reports the previous chunk written.  The status goes out with the
 * first bytes of the answer, so that whatever fails before (a bad
 * database, a summary over its cap of groups: its first bucket is whole
 * before any of it is written) still gets a proper status.  Steps run
 * from a timer of their own, never inside evhttp's callbacks.  While a
 * chunk is out the same timer watches the request once a second:
 * evhttp detaches a request whose client went away or timed out (EOF,
 * write error, timeout) from its connection and leaves it to us, and we
 * free it then.
 */
#include "config.h"

#include <sys/queue.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <sodium.h>

#include "batches.h"
#include "collector_http.h"
#include "episodes.h"
#include "export.h"
#include "export_http.h"
#include "log.h"
#include "store.h"
#include "summary.h"

#define XHTTP_WATCH_USEC CW_USEC_PER_SEC /* while a chunk is out */

struct xstream {
	struct export_http *x;
	struct evhttp_request *req;
	struct exporter *e; /* one of e, s and b */
	struct summary *s;
	struct batch_export *b;
	const char *content_type; /* of a 200 */
	struct evbuffer *buf;
	struct event *ev; /* next step, or the watch */
	bool started;     /* the status is out */
	bool waiting;     /* a chunk is being written */
	struct xstream *next, *prev;
};

struct export_http {
	struct collector_http *h; /* who may read what */
	struct event_base *base;
	struct store *st;
	size_t summary_max_groups;
	struct xstream *streams;
	size_t nstreams;
};

/* --- Streams --- */

static void
xstream_free(struct xstream *xs)
{
	struct export_http *x = xs->x;

	if (xs->prev != NULL)
		xs->prev->next = xs->next;
	else if (x->streams == xs)
		x->streams = xs->next;
	if (xs->next != NULL)
		xs->next->prev = xs->prev;
	if (xs->ev != NULL)
		event_free(xs->ev);
	if (xs->buf != NULL)
		evbuffer_free(xs->buf);
	export_free(xs->e);
	summary_free(xs->s);
	batch_export_free(xs->b);
	free(xs);
}

/* Forget a stream whose request is answered (or freed). */
static void
xstream_close(struct xstream *xs)
{
	xs->x->nstreams--;
	xstream_free(xs);
}

/* End the answer without its last chunk: the client must not take it
 * for complete.  Frees the request and the stream. */
static void
xstream_abort(struct xstream *xs)
{
	struct evhttp_connection *evcon;

	evcon = evhttp_request_get_connection(xs->req);
	if (evcon != NULL)
		evhttp_connection_free(evcon); /* frees req */
	else
		evhttp_send_reply_end(xs->req); /* frees req */
	xstream_close(xs);
}

static void
xstream_end(struct xstream *xs)
{
	evhttp_send_reply_end(xs->req);
	xstream_close(xs);
}

/* A step failed (`rc`, of xstream_next) before the status went out:
 * answer with the status that says why. */
static void
xstream_refuse(struct xstream *xs, int rc)
{
	struct export_http *x = xs->x;

	if (rc == SUMMARY_E_GROUPS) {
		log_info("export: a summary over %zu groups in one bucket "
		         "refused",
		    x->summary_max_groups);
		collector_http_error(xs->req, 400,
		    "the summary has more than "
		    "%zu targets and probes in one bucket: narrow it (probe, "
		    "type, name, addr, country, asn, a shorter from/to) or "
		    "use a smaller bucket",
		    x->summary_max_groups);
		xstream_close(xs);
		return;
	}
	collector_http_store_error(xs->req, x->st, "export");
	xstream_close(xs);
}

/* evhttp detached the request: its client went away or timed out. */
static void
xstream_gone(struct xstream *xs)
{
	log_debug("export: a client left before the end of its answer");
	xstream_end(xs); /* frees the detached request */
}

static int
xstream_next(struct xstream *xs)
{
	if (xs->b != NULL)
		return batch_export_step(xs->b, xs->buf);
	return xs->e != NULL ? export_step(xs->e, xs->buf) :
	                       summary_step(xs->s, xs->buf);
}

static void
xstream_arm(struct xstream *xs, cw_usec_t after)
{
	struct timeval tv;

	cw_usec_to_timeval(after, &tv);
	evtimer_add(xs->ev, &tv);
}

static void xstream_written(struct evhttp_connection *evcon, void *arg);

/* Before the status is out, after a step that returned `rc`: refuse,
 * answer whole, or start the answer once it has bytes to send.  Returns
 * true when the request is answered (and `xs` freed). */
static bool
xstream_open(struct xstream *xs, int rc)
{
	if (rc < 0) {
		xstream_refuse(xs, rc);
		return true;
	}
	if (rc == 1 && evbuffer_get_length(xs->buf) == 0)
		return false; /* nothing to show yet */
	evhttp_add_header(evhttp_request_get_output_headers(xs->req),
	    "Content-Type", xs->content_type);
	if (rc == 0) {
		evhttp_send_reply(xs->req, 200, "OK", xs->buf);
		xstream_close(xs);
		return true;
	}
	evhttp_send_reply_start(xs->req, 200, "OK");
	xs->started = true;
	return false;
}

/* Read the next page and send it. */
static void
xstream_step(struct xstream *xs)
{
	struct store *st = xs->x->st;
	int rc;

	if (evhttp_request_get_connection(xs->req) == NULL) {
		xstream_gone(xs);
		return;
	}
	rc = xstream_next(xs);
	if (!xs->started && xstream_open(xs, rc))
		return;
	if (rc < 0) {
		log_warnx("export: a stream failed: %s",
		    rc == SUMMARY_E_GROUPS ? "a summary bucket over its cap of "
		                             "groups" :
		                             store_error_text(st));
		xstream_abort(xs);
		return;
	}
	if (rc == 0) {
		if (evbuffer_get_length(xs->buf) > 0)
			evhttp_send_reply_chunk(xs->req, xs->buf);
		xstream_end(xs);
		return;
	}
	if (evbuffer_get_length(xs->buf) == 0) {
		xstream_arm(xs, 0); /* a page with nothing to show */
		return;
	}
	xs->waiting = true;
	evhttp_send_reply_chunk_with_cb(xs->req, xs->buf, xstream_written, xs);
	xstream_arm(xs, XHTTP_WATCH_USEC);
}

/* evhttp: the chunk is written.  Step from our own timer. */
static void
xstream_written(struct evhttp_connection *evcon, void *arg)
{
	struct xstream *xs = arg;

	(void)evcon;
	xs->waiting = false;
	xstream_arm(xs, 0);
}

static void
xstream_event(evutil_socket_t fd, short what, void *arg)
{
	struct xstream *xs = arg;

	(void)fd;
	(void)what;
	if (!xs->waiting) {
		xstream_step(xs);
		return;
	}
	if (evhttp_request_get_connection(xs->req) == NULL)
		xstream_gone(xs);
	else
		xstream_arm(xs, XHTTP_WATCH_USEC);
}

/* Answer a request with the stream `xs` (made with its export or
 * summary): the first page now, the rest streamed.  Takes `xs`. */
static void
xstream_start(struct export_http *x, struct evhttp_request *req,
    struct xstream *xs, const char *content_type)
{
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	xs->x = x;
	xs->req = req;
	if ((xs->buf = evbuffer_new()) == NULL ||
	    (xs->ev = evtimer_new(x->base, xstream_event, xs)) == NULL) {
		collector_http_error(req, 500, "out of memory");
		xstream_free(xs);
		return;
	}
	/* The Content-Type comes with a 200 (an error has its own). */
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	if ((xs->next = x->streams) != NULL)
		xs->next->prev = xs;
	x->streams = xs;
	x->nstreams++;
	xs->content_type = content_type;
	xstream_step(xs);
}

/* --- Requests --- */

/* The filters of `q` into `p`; the other keys are left to `other`
 * (returns 1 when it took the key, 0 when unknown, -1 for a bad value
 * with a reason in err).  Returns 0, or -1 after answering 400. */
static int
xhttp_params(struct evhttp_request *req, const struct evkeyvalq *q,
    struct export_params *p,
    int (*other)(void *, const char *, const char *, char *, size_t), void *arg)
{
	struct evkeyval *kv;
	char err[256];
	int rc;

	export_params_init(p);
	TAILQ_FOREACH(kv, q, next) {
		if ((rc = export_params_set(p, kv->key, kv->value, err,
		         sizeof(err))) == 0)
			rc = other(arg, kv->key, kv->value, err, sizeof(err));
		if (rc == 0) {
			collector_http_error(req, 400,
			    "unknown parameter "
			    "\"%s\"",
			    kv->key);
			return -1;
		}
		if (rc == -1) {
			collector_http_error(req, 400, "%s", err);
			return -1;
		}
	}
	if (export_params_check(p, err, sizeof(err)) == -1) {
		collector_http_error(req, 400, "%s", err);
		return -1;
	}
	return 0;
}

static int
xhttp_results_param(void *arg, const char *key, const char *value, char *err,
    size_t errlen)
{
	enum export_format *fmt = arg;

	if (strcmp(key, "format") != 0)
		return 0;
	if (export_format_parse(value, fmt) == -1) {
		snprintf(err, errlen,
		    "format: \"%s\" is not jsonl, csv or "
		    "atlas",
		    value);
		return -1;
	}
	return 1;
}

/* GET /api/v1/results */
static void
xhttp_results(struct evhttp_request *req, void *arg)
{
	struct export_http *x = arg;
	enum export_format fmt = EXPORT_JSONL;
	struct export_params p;
	struct xstream *xs;
	struct evkeyvalq q;
	char err[128];

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &q) == -1)
		return;
	if (xhttp_params(req, &q, &p, xhttp_results_param, &fmt) == 0) {
		/* A heartbeat's bytes carry what the volunteer declared of
		 * themselves (location): for the read token only. */
		p.filter.no_heartbeats = !collector_http_read_trusted(x->h,
		    req);
		if ((xs = calloc(1, sizeof(*xs))) == NULL ||
		    (xs->e = export_new(x->st, &p.filter, fmt, err,
		         sizeof(err))) == NULL) {
			free(xs);
			collector_http_error(req, 500, "out of memory");
		} else
			xstream_start(x, req, xs, export_content_type(fmt));
	}
	evhttp_clear_headers(&q);
}

/* GET /api/v1/batches: the kept batch signatures (batches.h).  A batch
 * that carried a heartbeat needs the heartbeat's bytes to be checked,
 * and they are the read token's: an anonymous reader (public_read) gets
 * the other batches. */
static void
xhttp_batches(struct evhttp_request *req, void *arg)
{
	struct export_http *x = arg;
	struct batch_params bp;
	struct xstream *xs;
	struct evkeyvalq q;
	struct evkeyval *kv;
	char err[256];
	int rc = 1;

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &q) == -1)
		return;
	batch_params_init(&bp);
	TAILQ_FOREACH(kv, &q, next) {
		if ((rc = batch_params_set(&bp, kv->key, kv->value, err,
		         sizeof(err))) == 0)
			snprintf(err, sizeof(err), "unknown parameter \"%s\"",
			    kv->key);
		if (rc != 1)
			break;
	}
	if (rc == 1 && batch_params_check(&bp, err, sizeof(err)) == -1)
		rc = -1;
	if (rc != 1)
		collector_http_error(req, 400, "%s", err);
	else {
		bp.filter.no_heartbeats = !collector_http_read_trusted(x->h,
		    req);
		if ((xs = calloc(1, sizeof(*xs))) == NULL ||
		    (xs->b = batch_export_new(x->st, &bp.filter)) == NULL) {
			free(xs);
			collector_http_error(req, 500, "out of memory");
		} else
			xstream_start(x, req, xs,
			    export_content_type(EXPORT_JSONL));
	}
	evhttp_clear_headers(&q);
}

struct xhttp_summary_opts {
	enum summary_format fmt;
	cw_usec_t bucket;
};

static int
xhttp_summary_param(void *arg, const char *key, const char *value, char *err,
    size_t errlen)
{
	struct xhttp_summary_opts *o = arg;

	if (strcmp(key, "format") == 0) {
		if (summary_format_parse(value, &o->fmt) == -1) {
			snprintf(err, errlen,
			    "format: \"%s\" is not json or "
			    "csv",
			    value);
			return -1;
		}
		return 1;
	}
	if (strcmp(key, "bucket") == 0) {
		if (summary_bucket_parse(value, &o->bucket) == -1) {
			snprintf(err, errlen,
			    "bucket: \"%s\" is not " SUMMARY_BUCKET_RULE,
			    value);
			return -1;
		}
		return 1;
	}
	return 0;
}

/* GET /api/v1/summary */
static void
xhttp_summary(struct evhttp_request *req, void *arg)
{
	struct export_http *x = arg;
	struct xhttp_summary_opts o = { SUMMARY_JSON, 3600 * CW_USEC_PER_SEC };
	struct export_params p;
	struct xstream *xs;
	struct evkeyvalq q;
	char err[128];

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &q) == -1)
		return;
	if (xhttp_params(req, &q, &p, xhttp_summary_param, &o) == 0) {
		if ((xs = calloc(1, sizeof(*xs))) == NULL ||
		    (xs->s = summary_new(x->st, &p.filter, o.bucket, o.fmt, err,
		         sizeof(err))) == NULL) {
			free(xs);
			collector_http_error(req, 500, "out of memory");
		} else {
			summary_set_max_groups(xs->s, x->summary_max_groups);
			xstream_start(x, req, xs, summary_content_type(o.fmt));
		}
	}
	evhttp_clear_headers(&q);
}

static json_t *
xhttp_time(cw_usec_t t)
{
	char buf[CW_TIME_STRLEN];

	return t > 0 ? json_string(cw_time_format(t, buf, sizeof(buf))) :
	               json_null();
}

struct xhttp_probe_list {
	json_t *list;
	bool trusted; /* the reader has the read token */
};

/* One probe; what it declares of itself, its name (often a place) and
 * when it is seen only for the read token. */
static int
xhttp_probe_cb(void *arg, const struct store_probe *p)
{
	struct xhttp_probe_list *pl = arg;
	char key[sodium_base64_ENCODED_LEN(RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL)];
	json_t *o = json_object(), *hb = NULL;

	if (o == NULL)
		return 1;
	json_object_set_new(o, "num", json_integer(p->num));
	json_object_set_new(o, "id", json_string(p->id));
	json_object_set_new(o, "created_at", xhttp_time(p->created_at));
	json_object_set_new(o, "revoked", json_boolean(p->revoked));
	json_object_set_new(o, "revoked_at", xhttp_time(p->revoked_at));
	/* The key that checks its batches (doc/evidence.md): the id is
	 * derived from it, so it tells no more of the volunteer. */
	sodium_bin2base64(key, sizeof(key), p->pubkey, RECORD_PUBKEY_LEN,
	    sodium_base64_VARIANT_ORIGINAL);
	json_object_set_new(o, "pubkey", json_string(key));
	if (!pl->trusted)
		return json_array_append_new(pl->list, o) == -1;
	if (p->last_heartbeat != NULL)
		hb = json_loads(p->last_heartbeat, 0, NULL);
	json_object_set_new(o, "name", json_string(p->name));
	json_object_set_new(o, "country",
	    p->country[0] != '\0' ? json_string(p->country) : json_null());
	json_object_set_new(o, "asn",
	    p->asn >= 0 ? json_integer(p->asn) : json_null());
	json_object_set_new(o, "first_seen", xhttp_time(p->first_seen));
	json_object_set_new(o, "last_seen", xhttp_time(p->last_seen));
	json_object_set_new(o, "last_heartbeat", hb != NULL ? hb : json_null());
	return json_array_append_new(pl->list, o) == -1;
}

/* GET /api/v1/probes: every probe, by number; with the read token also
 * what it last declared of itself and its last heartbeat. */
static void
xhttp_probes(struct evhttp_request *req, void *arg)
{
	struct export_http *x = arg;
	struct xhttp_probe_list pl;
	struct evkeyvalq q;

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &q) == -1)
		return;
	if (TAILQ_FIRST(&q) != NULL) {
		collector_http_error(req, 400, "unknown parameter \"%s\"",
		    TAILQ_FIRST(&q)->key);
		evhttp_clear_headers(&q);
		return;
	}
	pl.trusted = collector_http_read_trusted(x->h, req);
	if ((pl.list = json_array()) == NULL) {
		collector_http_error(req, 500, "out of memory");
		return;
	}
	if (store_probe_list(x->st, xhttp_probe_cb, &pl) != STORE_OK) {
		json_decref(pl.list);
		collector_http_store_error(req, x->st,
		    "export: the probe list");
		return;
	}
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Cache-Control", "no-store");
	collector_http_json(req, 200, json_pack("{s:o}", "probes", pl.list));
}

/* --- Episodes (episodes.h) --- */

struct xhttp_episodes_opts {
	struct episodes_query q;
	bool csv;
};

static int
xhttp_episodes_param(void *arg, const char *key, const char *value, char *err,
    size_t errlen)
{
	struct xhttp_episodes_opts *o = arg;

	if (strcmp(key, "format") == 0) {
		if (strcmp(value, "jsonl") == 0 || strcmp(value, "csv") == 0) {
			o->csv = value[0] == 'c';
			return 1;
		}
		snprintf(err, errlen, "format: \"%s\" is not jsonl or csv",
		    value);
		return -1;
	}
	return episodes_param_set(&o->q, key, value, err, errlen);
}

/* GET /api/v1/episodes: computed whole (one read of the window), then
 * sent whole.  Silences come from heartbeats, which are the read
 * token's: an anonymous reader (public_read) gets none of them. */
static void
xhttp_episodes(struct evhttp_request *req, void *arg)
{
	struct export_http *x = arg;
	struct episode_list l = { 0 };
	struct xhttp_episodes_opts o = { .csv = false };
	struct episodes_query *q = &o.q;
	struct export_params p;
	struct evbuffer *buf;
	struct evkeyvalq qs;
	bool csv;
	int rc;

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &qs) == -1)
		return;
	episodes_query_init(q);
	if (xhttp_params(req, &qs, &p, xhttp_episodes_param, &o) == -1) {
		evhttp_clear_headers(&qs);
		return;
	}
	if (p.filter.type != NULL) {
		/* An episode is of results, never of another type. */
		collector_http_error(req, 400, "unknown parameter \"type\"");
		evhttp_clear_headers(&qs);
		return;
	}
	csv = o.csv;
	q->heartbeats = collector_http_read_trusted(x->h, req);
	q->filter = p.filter;
	if ((buf = evbuffer_new()) == NULL)
		collector_http_error(req, 500, "out of memory");
	else if ((rc = episodes_find(x->st, q, &l)) == STORE_E_DB)
		collector_http_store_error(req, x->st, "export: episodes");
	else if (rc != 0 ||
	    (csv ? episodes_write_csv(&l, buf) :
	           episodes_write_jsonl(&l, buf)) == -1)
		collector_http_error(req, 500, "out of memory");
	else {
		struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);
		evhttp_add_header(hdr, "Cache-Control", "no-store");
		evhttp_add_header(hdr, "Content-Type",
		    export_content_type(csv ? EXPORT_CSV : EXPORT_JSONL));
		evhttp_send_reply(req, 200, "OK", buf);
	}
	episode_list_clear(&l);
	if (buf != NULL)
		evbuffer_free(buf);
	evhttp_clear_headers(&qs);
}

/* --- Setup --- */

struct export_http *
export_http_new(struct collector_http *h, struct event_base *base,
    struct store *st, size_t summary_max_groups)
{
	struct export_http *x;

	if ((x = calloc(1, sizeof(*x))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	x->h = h;
	x->base = base;
	x->st = st;
	x->summary_max_groups = summary_max_groups;
	if (collector_http_route(h, "/api/v1/results", true, xhttp_results,
	        x) == -1 ||
	    collector_http_route(h, "/api/v1/summary", true, xhttp_summary,
	        x) == -1 ||
	    collector_http_route(h, "/api/v1/probes", true, xhttp_probes, x) ==
	        -1 ||
	    collector_http_route(h, "/api/v1/batches", true, xhttp_batches,
	        x) == -1 ||
	    collector_http_route(h, "/api/v1/episodes", true, xhttp_episodes,
	        x) == -1) {
		free(x);
		return NULL;
	}
	return x;
}

size_t
export_http_streams(const struct export_http *x)
{
	return x->nstreams;
}

void
export_http_free(struct export_http *x)
{
	if (x == NULL)
		return;
	while (x->streams != NULL)
		xstream_abort(x->streams);
	free(x);
}
