/*
 * log_http.c -- the log's checkpoint, key and proofs on the HTTP service
 * (log_http.h).
 */
#include "config.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "log.h"
#include "log_http.h"
#include "store_log.h"

struct log_http {
	struct collector_http *h;
	struct store *st;
	const struct tlog_signer *signer; /* NULL: none */
	struct event *timer;
	cw_usec_t interval;
	char *note; /* the last checkpoint made */
	uint64_t note_size;
};

/* A checkpoint of the log now: the last one when the log has not grown
 * since (nothing is written), else a new one, kept.  STORE_OK with
 * l->note set, or the store's error. */
static int
log_http_checkpoint(struct log_http *l)
{
	uint64_t size;
	char *note;
	int rc;

	if ((rc = tlog_checkpoint_unless(l->st, l->signer,
	         l->note != NULL ? l->note_size : UINT64_MAX, &note, &size)) !=
	    STORE_OK)
		return rc;
	if (note == NULL)
		return STORE_OK;
	free(l->note);
	l->note = note;
	l->note_size = size;
	return STORE_OK;
}

static void
log_http_timer(evutil_socket_t fd, short what, void *arg)
{
	struct log_http *l = arg;
	struct timeval tv;

	(void)fd;
	(void)what;
	if (log_http_checkpoint(l) != STORE_OK)
		log_warnx("log: no checkpoint made: %s",
		    store_error_text(l->st));
	cw_usec_to_timeval(l->interval, &tv);
	evtimer_add(l->timer, &tv);
}

static void
log_http_text(struct evhttp_request *req, const char *text)
{
	struct evbuffer *buf = evbuffer_new();
	struct evkeyvalq *hdr = evhttp_request_get_output_headers(req);

	if (buf == NULL || evbuffer_add(buf, text, strlen(text)) == -1) {
		if (buf != NULL)
			evbuffer_free(buf);
		collector_http_error(req, 500, "out of memory");
		return;
	}
	evhttp_add_header(hdr, "Content-Type", "text/plain; charset=utf-8");
	evhttp_add_header(hdr, "Cache-Control", "no-store");
	evhttp_send_reply(req, 200, "OK", buf);
	evbuffer_free(buf);
}

/* A GET with no parameter, from a collector with a key; else answered. */
static bool
log_http_plain(struct log_http *l, struct evhttp_request *req)
{
	struct evkeyvalq q;
	bool empty;

	if (!collector_http_get_only(req) ||
	    collector_http_query(req, &q) == -1)
		return false;
	empty = TAILQ_FIRST(&q) == NULL;
	if (!empty)
		collector_http_error(req, 400, "unknown parameter \"%s\"",
		    TAILQ_FIRST(&q)->key);
	evhttp_clear_headers(&q);
	if (!empty)
		return false;
	if (l->signer == NULL) {
		collector_http_error(req, 503,
		    "this collector has no log key: its checkpoints are not "
		    "signed (corewatch-collector keygen makes one)");
		return false;
	}
	return true;
}

/* GET /api/v1/log/checkpoint */
static void
log_http_get_checkpoint(struct evhttp_request *req, void *arg)
{
	struct log_http *l = arg;

	if (!log_http_plain(l, req))
		return;
	if (log_http_checkpoint(l) != STORE_OK)
		collector_http_store_error(req, l->st, "log: checkpoint");
	else
		log_http_text(req, l->note);
}

/* GET /api/v1/log/key */
static void
log_http_get_key(struct evhttp_request *req, void *arg)
{
	struct log_http *l = arg;
	char vkey[NOTE_NAME_MAX + 128];

	if (!log_http_plain(l, req))
		return;
	if (note_vkey_format(&l->signer->nk, vkey, sizeof(vkey) - 1) == -1) {
		collector_http_error(req, 500, "the key does not fit");
		return;
	}
	strcat(vkey, "\n");
	log_http_text(req, vkey);
}

/*
 * The two numbers a proof is asked for with, `a` and `b` by name, and
 * nothing else.  Returns 0, or -1 after answering 400.
 */
static int
log_http_two(struct evhttp_request *req, const char *a, const char *b,
    uint64_t *va, uint64_t *vb)
{
	struct evkeyvalq q;
	struct evkeyval *kv;
	bool got_a = false, got_b = false;
	int ret = -1;

	if (collector_http_query(req, &q) == -1)
		return -1;
	TAILQ_FOREACH(kv, &q, next) {
		bool is_a = strcmp(kv->key, a) == 0;
		if (!is_a && strcmp(kv->key, b) != 0) {
			collector_http_error(req, 400,
			    "unknown parameter \"%s\"", kv->key);
			goto out;
		}
		if ((is_a ? got_a : got_b) ||
		    tlog_parse_count(kv->value, is_a ? va : vb) == -1) {
			collector_http_error(req, 400,
			    "%s: one number from 0 to 2^63-1, please", kv->key);
			goto out;
		}
		*(is_a ? &got_a : &got_b) = true;
	}
	if (!got_a || !got_b) {
		collector_http_error(req, 400, "%s and %s are both needed", a,
		    b);
		goto out;
	}
	ret = 0;
out:
	evhttp_clear_headers(&q);
	return ret;
}

/* Answer a proof (`j`, or NULL with the store's `rc`). */
static void
log_http_proof(struct log_http *l, struct evhttp_request *req, json_t *j,
    int rc)
{
	struct store_log_head head;

	if (j != NULL) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Cache-Control", "no-store");
		collector_http_json(req, 200, j);
	} else if (rc == STORE_E_INVALID) {
		if (store_log_head(l->st, &head) != STORE_OK)
			collector_http_store_error(req, l->st, "log: proof");
		else
			collector_http_error(req, 400,
			    "out of the log's range: it holds %llu records, "
			    "and a proof needs index < size (inclusion) or 0 < "
			    "old <= new <= that (consistency)",
			    (unsigned long long)head.size);
	} else if (rc == STORE_E_DB)
		collector_http_store_error(req, l->st, "log: proof");
	else
		collector_http_error(req, 500, "out of memory");
}

/* GET /api/v1/log/proof/inclusion?index=N&size=M (`inclusion`) or
 * /api/v1/log/proof/consistency?old=M&new=N. */
static void
log_http_proof_get(struct evhttp_request *req, struct log_http *l,
    bool inclusion)
{
	uint64_t a, b;
	json_t *j;
	int rc;

	if (!collector_http_get_only(req) ||
	    log_http_two(req, inclusion ? "index" : "old",
	        inclusion ? "size" : "new", &a, &b) == -1)
		return;
	j = inclusion ? tlog_inclusion_json(l->st, a, b, &rc) :
	                tlog_consistency_json(l->st, a, b, &rc);
	log_http_proof(l, req, j, rc);
}

static void
log_http_inclusion(struct evhttp_request *req, void *arg)
{
	log_http_proof_get(req, arg, true);
}

static void
log_http_consistency(struct evhttp_request *req, void *arg)
{
	log_http_proof_get(req, arg, false);
}

struct log_http *
log_http_new(struct collector_http *h, struct event_base *base,
    struct store *st, const struct tlog_signer *signer, cw_usec_t interval)
{
	struct log_http *l;
	struct timeval tv;

	if ((l = calloc(1, sizeof(*l))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	l->h = h;
	l->st = st;
	l->signer = signer;
	l->interval = interval;
	if (collector_http_route(h, "/api/v1/log/checkpoint", false,
	        log_http_get_checkpoint, l) == -1 ||
	    collector_http_route(h, "/api/v1/log/key", false, log_http_get_key,
	        l) == -1 ||
	    collector_http_route(h, "/api/v1/log/proof/inclusion", false,
	        log_http_inclusion, l) == -1 ||
	    collector_http_route(h, "/api/v1/log/proof/consistency", false,
	        log_http_consistency, l) == -1) {
		free(l);
		return NULL;
	}
	if (signer != NULL && interval > 0) {
		if ((l->timer = evtimer_new(base, log_http_timer, l)) == NULL) {
			log_warnx("%s: out of memory", __func__);
			free(l);
			return NULL;
		}
		cw_usec_to_timeval(interval, &tv);
		evtimer_add(l->timer, &tv);
	}
	return l;
}

void
log_http_free(struct log_http *l)
{
	if (l == NULL)
		return;
	if (l->timer != NULL)
		event_free(l->timer);
	free(l->note);
	free(l);
}
