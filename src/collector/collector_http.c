/*
 * collector_http.c -- the collector's HTTP service on evhttp.
 *
 * A batch goes through cheap checks first (content type, the
 * Authorization header, the probe's enrollment), then the expensive
 * ones (inflating, the signature over the body, parsing every line) and
 * waits in `pending` for the group commit: a callback made active for
 * the end of the current turn of the event loop stores every batch that
 * completed in that turn in one transaction, and only then answers
 * each.  A batch waiting there keeps its own copy of the body, since
 * its client may go away meanwhile: when a connection closes, the
 * batches still attached to it lose their request (libevent frees it)
 * and are stored without an answer.
 *
 * Connections, and what is refused before evhttp reads a body:
 * collector_http_conn.c; /healthz and /metrics: collector_http_health.c;
 * what the three share: collector_http_int.h.
 */
#include "config.h"

#include <sys/types.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <event2/util.h>
#include <sodium.h>

#include "collector_http.h"
#include "collector_http_int.h"
#include "gzip.h"
#include "ingest.h"
#include "log.h"
#include "record.h"
#include "result.h"
#include "store.h"
#include "workq.h"

void
collector_http_conf_init(struct collector_http_conf *conf)
{
	memset(conf, 0, sizeof(*conf));
	conf->max_body = COLLECTOR_HTTP_MAX_BODY;
	conf->max_headers_size = COLLECTOR_HTTP_MAX_HEADERS;
	conf->body_budget = COLLECTOR_HTTP_BODY_BUDGET;
	conf->header_timeout = COLLECTOR_HTTP_HEADER_TIMEOUT;
	conf->timeout = COLLECTOR_HTTP_TIMEOUT;
	conf->request_timeout = COLLECTOR_HTTP_REQUEST_TIMEOUT;
	conf->max_connections = COLLECTOR_HTTP_MAX_CONNECTIONS;
	conf->max_per_address = COLLECTOR_HTTP_MAX_PER_ADDRESS;
	conf->drain_timeout = COLLECTOR_HTTP_DRAIN_TIMEOUT;
}

/* --- Answers --- */

void
collector_http_json(struct evhttp_request *req, int code, json_t *body)
{
	struct evbuffer *buf = evbuffer_new();
	char *line = body != NULL ? result_dump(body) : NULL;

	json_decref(body);
	if (buf == NULL || line == NULL ||
	    evbuffer_add_printf(buf, "%s\n", line) == -1) {
		log_warnx("%s: out of memory", __func__);
		free(line);
		if (buf != NULL)
			evbuffer_free(buf);
		evhttp_send_error(req, 500, NULL);
		return;
	}
	free(line);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "application/json");
	evhttp_send_reply(req, code, NULL, buf);
	evbuffer_free(buf);
}

/* chttp_error_name: the "error" member for an HTTP status. */
static const char *
chttp_error_name(int code)
{
	switch (code) {
	case 400:
		return "bad_request";
	case 401:
		return "unauthorized";
	case 403:
		return "forbidden";
	case 404:
		return "not_found";
	case 405:
		return "method_not_allowed";
	case 409:
		return "conflict";
	case 411:
		return "length_required";
	case 413:
		return "payload_too_large";
	case 415:
		return "unsupported_media_type";
	case 431:
		return "request_header_fields_too_large";
	case 503:
		return "unavailable";
	default:
		return code >= 500 ? "internal_error" : "bad_request";
	}
}

/* chttp_error_body: the JSON of an error, {"error": ..., "detail":
 * `detail` (NULL: null), non-ASCII bytes shown as '?'}; NULL when out
 * of memory. */
json_t *
chttp_error_body(int code, char *detail)
{
	/* Details may quote what a client sent: ASCII only. */
	for (char *p = detail; p != NULL && *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
			*p = '?';
	return json_pack("{s:s, s:s?}", "error", chttp_error_name(code),
	    "detail", detail);
}

void
collector_http_store_error(struct evhttp_request *req, struct store *st,
    const char *what)
{
	/* The database's own words (file names, sockets) go to the log,
	 * not to a reader. */
	log_warnx("%s: %s", what, store_error_text(st));
	if (store_unavailable(st))
		collector_http_error(req, 503, "the database is unavailable");
	else
		collector_http_error(req, 500, "the database failed");
}

bool
collector_http_get_only(struct evhttp_request *req)
{
	if (evhttp_request_get_command(req) == EVHTTP_REQ_GET)
		return true;
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    "GET");
	collector_http_error(req, 405, "use GET");
	return false;
}

int
collector_http_query(struct evhttp_request *req, struct evkeyvalq *q)
{
	const char *query;

	TAILQ_INIT(q);
	query = evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (query == NULL || query[0] == '\0')
		return 0;
	if (evhttp_parse_query_str(query, q) == -1) {
		collector_http_error(req, 400, "malformed query string");
		return -1;
	}
	return 0;
}

void
collector_http_error(struct evhttp_request *req, int code, const char *fmt, ...)
{
	char detail[CHTTP_ERR_LEN], retry[16];
	va_list ap;
	json_t *body;

	if (fmt != NULL) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	body = chttp_error_body(code, fmt != NULL ? detail : NULL);
	if (code == 503) {
		snprintf(retry, sizeof(retry), "%d",
		    COLLECTOR_HTTP_RETRY_AFTER);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Retry-After", retry);
	}
	collector_http_json(req, code, body);
}

/* chttp_reject: refuse a batch: count why and answer. */
static void chttp_reject(struct collector_http *h, struct evhttp_request *req,
    enum chttp_reason why, int code, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void
chttp_reject(struct collector_http *h, struct evhttp_request *req,
    enum chttp_reason why, int code, const char *fmt, ...)
{
	char detail[CHTTP_ERR_LEN];
	va_list ap;

	h->m.rejected[why]++;
	if (req == NULL)
		return;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	collector_http_error(req, code, "%s", detail);
}

/* chttp_method_not_allowed: 405 with the Allow header. */
void
chttp_method_not_allowed(struct evhttp_request *req, const char *allow)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	    allow);
	collector_http_error(req, 405, "use %s", allow);
}

/* --- Batches --- */

static void
chttp_batch_free(struct chttp_batch *b)
{
	if (b == NULL)
		return;
	ingest_batch_clear(&b->ib);
	gzip_stream_free(b->inflating);
	free(b->raw);
	free(b);
}

/* chttp_reason_of: the metric label of an ingest refusal. */
enum chttp_reason
chttp_reason_of(enum ingest_reason why)
{
	switch (why) {
	case INGEST_R_UNKNOWN_PROBE:
		return CHTTP_R_UNKNOWN_PROBE;
	case INGEST_R_REVOKED:
		return CHTTP_R_REVOKED;
	case INGEST_R_SIGNATURE:
		return CHTTP_R_SIGNATURE;
	case INGEST_R_RECORD_TOO_LARGE:
		return CHTTP_R_RECORD_TOO_LARGE;
	case INGEST_R_MALFORMED:
		return CHTTP_R_MALFORMED;
	case INGEST_R_INVALID:
		return CHTTP_R_INVALID;
	case INGEST_R_CHAIN:
		return CHTTP_R_CHAIN;
	default:
		return CHTTP_R_UNAVAILABLE;
	}
}

/* chttp_media_is: whether the header value `v` names media type `type`
 * (case aside, parameters after ';' ignored). */
static bool
chttp_media_is(const char *v, const char *type)
{
	size_t n = strlen(type);

	if (v == NULL)
		return false;
	while (*v == ' ' || *v == '\t')
		v++;
	if (strncasecmp(v, type, n) != 0)
		return false;
	v += n;
	while (*v == ' ' || *v == '\t')
		v++;
	return *v == '\0' || *v == ';';
}

/* chttp_db_failed: a store call failed with STORE_E_DB: when the
 * database cannot be reached, say so once and ping it before its next
 * use. */
void
chttp_db_failed(struct collector_http *h, const char *what)
{
	if (!store_unavailable(h->st)) {
		log_warnx("collector: %s: %s", what, store_error_text(h->st));
		return;
	}
	if (!h->db_down)
		log_warnx("collector: the database is unavailable (%s: %s); "
		          "answering 503 until it is back",
		    what, store_error_text(h->st));
	h->db_down = true;
}

/* chttp_db_usable: false while the database is known to be down and a
 * ping (which reconnects) does not bring it back. */
bool
chttp_db_usable(struct collector_http *h)
{
	if (!h->db_down)
		return true;
	if (store_ping(h->st, NULL) != 0)
		return false;
	log_info("collector: the database is back");
	h->db_down = false;
	return true;
}

/* chttp_write_outcome: whether a write of the database worked.  A full
 * disk fails every write while the database still answers a ping, so a
 * failure is kept for /healthz until a write works again. */
static void
chttp_write_outcome(struct collector_http *h, bool ok)
{
	if (ok) {
		if (h->write_failed_at != 0)
			log_info("collector: writing the database works again");
		h->write_failed_at = 0;
		return;
	}
	h->write_failed_at = cw_real_usec();
	snprintf(h->write_error, sizeof(h->write_error), "%s",
	    store_error_text(h->st));
}

/* chttp_batch_auth: the Authorization header and the probe it names. */
static int
chttp_batch_auth(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b, char sig[RECORD_SIG_B64 + 1])
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	char probe[RECORD_ID_HEX + 1], err[CHTTP_ERR_LEN];
	int code;

	if (batch_auth_parse(evhttp_find_header(in, "Authorization"), probe,
	        sig, err, sizeof(err)) == -1) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", BATCH_AUTH_SCHEME);
		chttp_reject(h, req, CHTTP_R_AUTH, 401, "%s", err);
		return -1;
	}
	if ((code = ingest_probe(h->st, probe, &b->ib)) == 0)
		return 0;
	if (code == 503)
		chttp_db_failed(h, "looking up a probe");
	chttp_reject(h, req, chttp_reason_of(b->ib.reason), code, "%s",
	    b->ib.err);
	return -1;
}

/* chttp_batch_body: our own copy of the body: as it is, or as sent for
 * the checking thread to inflate (b->raw). */
static int
chttp_batch_body(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	const char *enc = evhttp_find_header(in, "Content-Encoding");
	size_t len = evbuffer_get_length(buf);

	if (len > h->conf.max_body) {
		chttp_reject(h, req, CHTTP_R_TOO_LARGE, 413,
		    "%zu bytes, over the limit of %zu", len, h->conf.max_body);
		return -1;
	}
	b->max_body = h->conf.max_body;
	if (enc == NULL || strcasecmp(enc, "identity") == 0) {
		if ((b->ib.body = malloc(len + 1)) == NULL)
			goto nomem;
		evbuffer_copyout(buf, b->ib.body, len);
		b->ib.body[len] = '\0';
		b->ib.len = len;
		crypto_hash_sha256_init(&b->sha);
		return 0;
	}
	if (strcasecmp(enc, "gzip") != 0 && strcasecmp(enc, "x-gzip") != 0) {
		chttp_reject(h, req, CHTTP_R_ENCODING, 415,
		    "Content-Encoding \"%.64s\": only gzip is supported", enc);
		return -1;
	}
	if ((b->raw = malloc(len > 0 ? len : 1)) == NULL)
		goto nomem;
	evbuffer_copyout(buf, b->raw, len);
	b->rawlen = len;
	crypto_hash_sha256_init(&b->sha);
	return 0;
nomem:
	log_warnx("collector: out of memory for a batch of %zu bytes", len);
	collector_http_error(req, 503, "try again later");
	return -1;
}

/* chttp_check_hash: hash the next CHTTP_SLICE bytes of the body: of
 * b->ib.body, or inflated from b->raw into a window that is dropped:
 * nothing a client sends is kept inflated before its signature holds.
 * Returns 1 while more remain, 0 once all is hashed, -1 when the body
 * does not inflate (b->gz). */
static int
chttp_check_hash(struct chttp_batch *b)
{
	unsigned char window[CHTTP_SLICE];
	size_t got;

	if (b->raw == NULL) {
		got = b->ib.len - b->hashed;
		if (got > CHTTP_SLICE)
			got = CHTTP_SLICE;
		crypto_hash_sha256_update(&b->sha, b->ib.body + b->hashed, got);
		b->hashed += got;
		return b->hashed < b->ib.len ? 1 : 0;
	}
	if (b->inflating == NULL &&
	    (b->inflating = gzip_stream_new(b->raw, b->rawlen, b->max_body)) ==
	        NULL) {
		b->gz = GZIP_E_NOMEM;
		return -1;
	}
	if ((b->gz = gzip_stream_read(b->inflating, window, sizeof(window),
	         &got)) != GZIP_OK)
		return -1;
	crypto_hash_sha256_update(&b->sha, window, got);
	b->hashed += got;
	return got > 0 ? 1 : 0;
}

/*
 * chttp_check_work: on the checking thread (workq_work_fn), with
 * nothing but `b`: one slice of hashing the body at a time, so that
 * bodies that are large once inflated (gzip bombs signed with a made-up
 * signature: anyone can send one in a probe's name) take turns with
 * every other batch instead of holding them back.  Once the signature
 * holds, a gzip body is inflated again, whole, to be kept, and every
 * record is checked.  Returns true when the batch is checked.
 */
static bool
chttp_check_work(void *arg)
{
	struct chttp_batch *b = arg;
	unsigned char digest[RECORD_HASH_LEN];
	int rc;

	if ((rc = chttp_check_hash(b)) != 0)
		return rc == -1;
	gzip_stream_free(b->inflating);
	b->inflating = NULL;
	crypto_hash_sha256_final(&b->sha, digest);
	if ((b->code = ingest_verify(&b->ib, digest, b->sig)) != 0)
		return true;
	if (b->raw != NULL) {
		b->gz = gzip_inflate(b->raw, b->rawlen, b->max_body,
		    &b->ib.body, &b->ib.len);
		free(b->raw);
		b->raw = NULL;
		if (b->gz != GZIP_OK)
			return true;
	}
	b->code = ingest_records(&b->ib);
	return true;
}

/* chttp_check_answer: refuse a batch the checking thread found bad;
 * returns -1 then, 0 when it is good. */
static int
chttp_check_answer(struct collector_http *h, struct chttp_batch *b)
{
	struct evhttp_request *req = b->req;

	switch (b->gz) {
	case GZIP_OK:
		break;
	case GZIP_E_CORRUPT:
		chttp_reject(h, req, CHTTP_R_GZIP, 400,
		    "the body does not inflate: %s", gzip_strerror(b->gz));
		return -1;
	case GZIP_E_TOO_LARGE:
		chttp_reject(h, req, CHTTP_R_TOO_LARGE, 413,
		    "the body inflates past the limit of %zu bytes",
		    b->max_body);
		return -1;
	default:
		log_warnx("collector: out of memory for a batch of %zu bytes",
		    b->rawlen);
		if (req != NULL)
			collector_http_error(req, 503, "try again later");
		return -1;
	}
	if (b->code == 0)
		return 0;
	if (b->ib.reason == INGEST_R_SIGNATURE && req != NULL)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", BATCH_AUTH_SCHEME);
	chttp_reject(h, req, chttp_reason_of(b->ib.reason), b->code, "%s",
	    b->ib.err);
	return -1;
}

/* chttp_batch_read: the checks that need the loop (the probe's key is
 * in the database); answers the request itself when one fails.  The
 * rest is the checking thread's (chttp_check_work).  Returns 0 or -1. */
static int
chttp_batch_read(struct collector_http *h, struct evhttp_request *req,
    struct chttp_batch *b)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);

	if (!chttp_media_is(evhttp_find_header(in, "Content-Type"),
	        "application/x-ndjson")) {
		chttp_reject(h, req, CHTTP_R_CONTENT_TYPE, 415,
		    "a batch is sent as Content-Type: application/x-ndjson");
		return -1;
	}
	if (!chttp_db_usable(h)) {
		chttp_reject(h, req, CHTTP_R_UNAVAILABLE, 503,
		    "the database is unavailable; try again later");
		return -1;
	}
	if (chttp_batch_auth(h, req, b, b->sig) == -1 ||
	    chttp_batch_body(h, req, b) == -1)
		return -1;
	return 0;
}

/* chttp_receipt_members: what every receipt says. */
static json_t *
chttp_receipt_members(const struct store_receipt *rc)
{
	char when[CW_TIME_STRLEN];

	return json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:s, s:o, s:I}",
	    "probe", rc->probe, "chain", rc->chain, "acked_seq",
	    (json_int_t)rc->acked_seq, "stored", (json_int_t)rc->stored,
	    "duplicates", (json_int_t)rc->duplicates, "equivocations",
	    (json_int_t)rc->equivocations, "gaps", (json_int_t)rc->gaps,
	    "received_at", cw_time_format(rc->received_at, when, sizeof(when)),
	    "log_index",
	    rc->log_index >= 0 ? json_integer(rc->log_index) : json_null(),
	    "log_size", (json_int_t)rc->log_size);
}

void
collector_http_set_signer(struct collector_http *h,
    const struct tlog_signer *signer)
{
	h->signer = signer;
}

/* chttp_receipt: the JSON receipt of a committed batch, signed when
 * there is a log key.  One that cannot be signed (out of memory) is not
 * given unsigned: the answer is a 500, and the probe sends the batch
 * again (a duplicate then, with its receipt). */
static json_t *
chttp_receipt(const struct collector_http *h, const struct store_receipt *rc)
{
	json_t *o = chttp_receipt_members(rc);
	char *note;

	if (o == NULL || h->signer == NULL)
		return o;
	if ((note = tlog_receipt_note(h->signer, rc)) == NULL ||
	    json_object_set_new(o, "signed", json_string(note)) == -1) {
		log_warnx("collector: out of memory signing a receipt");
		json_decref(o);
		o = NULL;
	}
	free(note);
	return o;
}

/* chttp_latency: one observation of the ingest latency histogram. */
static void
chttp_latency(struct chttp_metrics *m, cw_usec_t usec)
{
	double s = (double)usec / 1e6;
	size_t i;

	for (i = 0; i < CHTTP_BUCKETS && s > chttp_buckets[i]; i++)
		;
	m->latency[i]++;
	m->latency_count++;
	m->latency_sum += s;
}

/* chttp_batch_answer: count and answer a batch after the commit. */
static void
chttp_batch_answer(struct collector_http *h, struct chttp_batch *b,
    cw_usec_t now)
{
	struct evhttp_request *req = b->req;
	int code = ingest_status(b->rc, &b->ib);

	if (code != 200) {
		chttp_reject(h, req, chttp_reason_of(b->ib.reason), code, "%s",
		    b->ib.err);
		return;
	}
	h->m.batches_accepted++;
	h->m.records_stored += b->receipt.stored;
	h->m.records_duplicate += b->receipt.duplicates;
	h->m.records_equivocation += b->receipt.equivocations;
	h->m.gaps += b->receipt.gaps_opened;
	chttp_latency(&h->m, now - b->started);
	if (req != NULL)
		collector_http_json(req, 200, chttp_receipt(h, &b->receipt));
}

/* chttp_commit_run: store every pending batch in one transaction, then
 * answer each. */
static void
chttp_commit_run(struct collector_http *h)
{
	struct chttp_batch *list = h->pending, *b, *next;
	bool group, stored = false;
	cw_usec_t now;

	if (list == NULL)
		return;
	h->pending = NULL;
	h->pending_tail = &h->pending;
	if (!(group = store_group_begin(h->st) == STORE_OK)) {
		chttp_db_failed(h, "beginning a transaction");
		chttp_write_outcome(h, false);
	}
	for (b = list; b != NULL; b = b->next) {
		if (!group) {
			b->rc = STORE_E_DB;
			continue;
		}
		b->rc = ingest_store(h->st, &b->ib, &b->receipt);
		if (b->rc == STORE_E_DB) {
			chttp_db_failed(h, "storing a batch");
			chttp_write_outcome(h, false);
		}
		stored |= b->rc == STORE_OK;
	}
	if (group && store_group_commit(h->st) != STORE_OK) {
		chttp_db_failed(h, "committing");
		chttp_write_outcome(h, false);
		store_group_rollback(h->st);
		for (b = list; b != NULL; b = b->next)
			if (b->rc == STORE_OK)
				b->rc = STORE_E_DB;
	} else if (stored)
		chttp_write_outcome(h, true);
	now = cw_mono_usec();
	for (b = list; b != NULL; b = next) {
		next = b->next;
		chttp_batch_answer(h, b, now);
		chttp_batch_free(b);
	}
}

static void
chttp_commit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	chttp_commit_run(arg);
}

/* chttp_check_done: the checking thread is done with a batch of
 * h->checking (workq_done_fn, on the loop): refuse it, or queue it for
 * the commit.  Not `ran`: its check was cut short by a stop, or the
 * service is being freed. */
static void
chttp_check_done(void *arg, bool ran)
{
	struct chttp_batch *b = arg, **pp;
	struct collector_http *h = b->h;

	/* Jobs finish in any order (a small one before a large one). */
	for (pp = &h->checking; *pp != b; pp = &(*pp)->next)
		;
	if ((*pp = b->next) == NULL)
		h->checking_tail = pp;
	b->next = NULL;
	if (h->freeing) {
		chttp_batch_free(b);
		return;
	}
	if (!ran) {
		chttp_reject(h, b->req, CHTTP_R_UNAVAILABLE, 503,
		    "the collector is stopping; try again later");
		chttp_batch_free(b);
		return;
	}
	if (chttp_check_answer(h, b) == -1) {
		chttp_batch_free(b);
		return;
	}
	*h->pending_tail = b;
	h->pending_tail = &b->next;
	/* At the end of this turn of the loop, after every other batch
	 * whose check ended in it. */
	event_active(h->commit_ev, EV_TIMEOUT, 1);
}

/* chttp_batches: POST /api/v1/batches. */
static void
chttp_batches(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	struct chttp_batch *b;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		h->m.rejected[CHTTP_R_METHOD]++;
		chttp_method_not_allowed(req, "POST");
		return;
	}
	if (h->stopping) {
		chttp_reject(h, req, CHTTP_R_UNAVAILABLE, 503,
		    "the collector is stopping; try again later");
		return;
	}
	if ((b = calloc(1, sizeof(*b))) == NULL) {
		collector_http_error(req, 503, "try again later");
		return;
	}
	b->h = h;
	b->req = req;
	b->started = cw_mono_usec();
	b->ib.received_at = cw_real_usec();
	if (chttp_batch_read(h, req, b) == -1) {
		chttp_batch_free(b);
		return;
	}
	if (workq_push(h->checker, chttp_check_work, chttp_check_done, b) ==
	    -1) {
		collector_http_error(req, 503, "try again later");
		chttp_batch_free(b);
		return;
	}
	*h->checking_tail = b;
	h->checking_tail = &b->next;
}

/* --- Enrollment --- */

/* chttp_enroll_parse: the request's token and public key. */
static int
chttp_enroll_parse(struct evhttp_request *req, json_t **root,
    const char **token, unsigned char pk[RECORD_PUBKEY_LEN])
{
	struct evbuffer *buf = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(buf);
	const char *key;
	json_error_t jerr;

	if (!chttp_media_is(evhttp_find_header(evhttp_request_get_input_headers(
	                                           req),
	                        "Content-Type"),
	        "application/json")) {
		collector_http_error(req, 415,
		    "send Content-Type: application/json");
		return -1;
	}
	if (len > CHTTP_ENROLL_MAX) {
		collector_http_error(req, 413,
		    "%zu bytes, over the limit of %d", len, CHTTP_ENROLL_MAX);
		return -1;
	}
	*root = json_loadb(len > 0 ? (const char *)evbuffer_pullup(buf, -1) :
	                             "",
	    len, JSON_REJECT_DUPLICATES, &jerr);
	if (*root == NULL || !json_is_object(*root)) {
		collector_http_error(req, 400, "not a JSON object: %s",
		    *root == NULL ? jerr.text : "");
		return -1;
	}
	*token = json_string_value(json_object_get(*root, "token"));
	key = json_string_value(json_object_get(*root, "pubkey"));
	if (*token == NULL || key == NULL) {
		collector_http_error(req, 400,
		    "\"token\" and \"pubkey\" must be strings");
		return -1;
	}
	if (json_object_get(*root, "name") != NULL &&
	    !json_is_string(json_object_get(*root, "name"))) {
		collector_http_error(req, 400, "\"name\" must be a string");
		return -1;
	}
	if (record_pubkey_parse(key, pk) == -1) {
		collector_http_error(req, 400,
		    "\"pubkey\" is not an Ed25519 key in 64 hex digits or "
		    "44 base64 characters");
		return -1;
	}
	return 0;
}

/* chttp_enroll: POST /api/v1/enroll. */
static void
chttp_enroll(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	unsigned char pk[RECORD_PUBKEY_LEN];
	struct store_probe p;
	char err[CHTTP_ERR_LEN];
	const char *token;
	json_t *root = NULL;
	int rc;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_POST) {
		chttp_method_not_allowed(req, "POST");
		return;
	}
	if (chttp_enroll_parse(req, &root, &token, pk) == -1) {
		json_decref(root);
		return;
	}
	memset(&p, 0, sizeof(p));
	err[0] = '\0';
	rc = chttp_db_usable(h) ?
	    store_token_redeem(h->st, token, pk, &p, err, sizeof(err)) :
	    STORE_E_DB;
	if (rc == STORE_E_DB && !h->db_down) {
		chttp_db_failed(h, "redeeming a token");
		chttp_write_outcome(h, false);
	} else if (rc == STORE_OK)
		chttp_write_outcome(h, true);
	json_decref(root);
	if (rc == STORE_OK) {
		h->m.enrollments++;
		log_info("collector: probe %s (%lld, \"%s\") enrolled with a "
		         "token",
		    p.id, p.num, p.name);
		collector_http_json(req, 200,
		    json_pack("{s:s, s:I, s:s}", "probe", p.id, "num",
		        (json_int_t)p.num, "name", p.name));
	} else if (rc == STORE_E_NOTFOUND)
		collector_http_error(req, 401,
		    "the token is "
		    "unknown, used or expired");
	else if (rc == STORE_E_EXISTS)
		collector_http_error(req, 409,
		    "this key "
		    "is enrolled already");
	else if (rc == STORE_E_INVALID)
		collector_http_error(req, 400, "%s", err);
	else
		collector_http_error(req, 503, "try again later");
	store_probe_clear(&p);
}

/* --- Routing --- */

bool
chttp_bearer_ok(const char *token, const char *auth)
{
	size_t n;

	if (token == NULL || auth == NULL ||
	    strncasecmp(auth, "Bearer ", 7) != 0)
		return false;
	auth += 7;
	n = strlen(token);
	return strlen(auth) == n && sodium_memcmp(auth, token, n) == 0;
}

bool
collector_http_read_trusted(const struct collector_http *h,
    struct evhttp_request *req)
{
	return chttp_bearer_ok(h->read_token,
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Authorization"));
}

bool
collector_http_write_trusted(const struct collector_http *h,
    struct evhttp_request *req)
{
	return chttp_bearer_ok(h->write_token,
	    evhttp_find_header(evhttp_request_get_input_headers(req),
	        "Authorization"));
}

bool
collector_http_read_allowed(const struct collector_http *h,
    struct evhttp_request *req)
{
	return h->conf.public_read || collector_http_read_trusted(h, req);
}

static bool
chttp_headers_ok(struct evhttp_request *req)
{
	struct evkeyval *kv;
	size_t n = 0;

	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
		n++;
	return n <= CHTTP_HEADERS_MAX;
}

static void
chttp_route(struct evhttp_request *req, void *arg)
{
	struct chttp_route *r = arg;

	/* A GET reads, any other method writes. */
	if (r->twin != NULL &&
	    (evhttp_request_get_command(req) == EVHTTP_REQ_GET) != r->read)
		r = r->twin;
	chttp_request_watch(r->h, req);
	if (!chttp_headers_ok(req)) {
		collector_http_error(req, 431, "at most %d header lines",
		    CHTTP_HEADERS_MAX);
		return;
	}
	if (r->read && !collector_http_read_allowed(r->h, req)) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "WWW-Authenticate", "Bearer");
		collector_http_error(req, 401,
		    "this endpoint needs Authorization: Bearer <read token>");
		return;
	}
	r->cb(req, r->arg);
}

static void
chttp_not_found(struct evhttp_request *req, void *arg)
{
	chttp_request_watch(arg, req);
	collector_http_error(req, 404, "no such endpoint");
}

int
collector_http_route(struct collector_http *h, const char *path, bool read,
    void (*cb)(struct evhttp_request *, void *), void *arg)
{
	struct chttp_route *r;

	if (h->nroutes == CHTTP_ROUTES_MAX) {
		log_warnx("%s: too many routes", __func__);
		return -1;
	}
	r = &h->routes[h->nroutes];
	r->h = h;
	r->path = path;
	r->read = read;
	r->cb = cb;
	r->arg = arg;
	for (size_t i = 0; i < h->nroutes; i++) {
		struct chttp_route *o = &h->routes[i];
		if (strcmp(o->path, path) != 0 || o->read == read ||
		    o->twin != NULL)
			continue;
		/* The path's reader beside its writer, or the other way:
		 * evhttp calls the first, which hands over by method. */
		o->twin = r;
		h->nroutes++;
		return 0;
	}
	if (evhttp_set_cb(h->http, path, chttp_route, r) != 0) {
		log_warnx("%s: %s: already served", __func__, path);
		return -1;
	}
	h->nroutes++;
	return 0;
}

/* --- The service --- */

static int
chttp_setup(struct collector_http *h)
{
	struct timeval tv;

	if ((h->http = evhttp_new(h->base)) == NULL ||
	    (h->adopt_ev = event_new(h->base, -1, 0, chttp_adopt, h)) == NULL ||
	    (h->commit_ev = event_new(h->base, -1, 0, chttp_commit, h)) ==
	        NULL ||
	    (h->close_ev = event_new(h->base, -1, 0, chttp_close_run, h)) ==
	        NULL)
		return -1;
	crypto_shorthash_keygen(h->peer_key);
	evhttp_set_max_body_size(h->http, (ev_ssize_t)h->conf.max_body);
	evhttp_set_max_headers_size(h->http,
	    (ev_ssize_t)h->conf.max_headers_size);
	cw_usec_to_timeval(h->conf.timeout, &tv);
	evhttp_set_timeout_tv(h->http, &tv);
	/* Read a body past the limit (bounded by the timeouts) so that the
	 * client sees the 413 instead of a reset. */
	evhttp_set_flags(h->http, EVHTTP_SERVER_LINGERING_CLOSE);
	evhttp_set_bevcb(h->http, chttp_bevcb, h);
	evhttp_set_gencb(h->http, chttp_not_found, h);
	if (collector_http_route(h, "/api/v1/batches", false, chttp_batches,
	        h) == -1 ||
	    collector_http_route(h, "/api/v1/enroll", false, chttp_enroll, h) ==
	        -1 ||
	    collector_http_route(h, "/healthz", false, chttp_healthz, h) ==
	        -1 ||
	    collector_http_route(h, "/metrics", true, chttp_metrics, h) == -1)
		return -1;
	return 0;
}

struct collector_http *
collector_http_new(struct event_base *base, struct store *st,
    const struct collector_http_conf *conf)
{
	struct collector_http *h;

	if ((h = calloc(1, sizeof(*h))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	h->base = base;
	h->st = st;
	h->conf = *conf;
	h->conf.read_token = NULL;
	h->conf.write_token = NULL;
	h->pending_tail = &h->pending;
	h->checking_tail = &h->checking;
	h->adopting_tail = &h->adopting;
	TAILQ_INIT(&h->heads);
	TAILQ_INIT(&h->closing);
	if (h->conf.max_connections == 0)
		h->conf.max_connections = 1;
	if ((conf->read_token != NULL &&
	        (h->read_token = strdup(conf->read_token)) == NULL) ||
	    (conf->write_token != NULL &&
	        (h->write_token = strdup(conf->write_token)) == NULL) ||
	    (h->checker = workq_new(base)) == NULL || chttp_setup(h) == -1) {
		log_warnx("%s: cannot set up the HTTP service", __func__);
		collector_http_free(h);
		return NULL;
	}
	return h;
}

/* chttp_addr_parse: "ADDRESS:PORT" with a numeric address (IPv6 in
 * brackets) and an explicit port (0: any free one) into `ss`.  Returns
 * 0 or -1. */
static int
chttp_addr_parse(const char *addr, struct sockaddr_storage *ss, int *len)
{
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	const char *colon = strrchr(addr, ':'), *host = addr;
	char buf[INET6_ADDRSTRLEN];
	size_t hlen;
	long port = 0;

	if (colon == NULL || colon[1] == '\0' || strlen(colon + 1) > 5)
		return -1;
	for (const char *p = colon + 1; *p != '\0'; p++) {
		if (!isdigit((unsigned char)*p))
			return -1;
		port = port * 10 + (*p - '0');
	}
	hlen = (size_t)(colon - addr);
	if (addr[0] == '[') {
		if (hlen < 2 || colon[-1] != ']')
			return -1;
		host++;
		hlen -= 2;
	}
	if (port > 65535 || hlen == 0 || hlen >= sizeof(buf))
		return -1;
	memcpy(buf, host, hlen);
	buf[hlen] = '\0';
	memset(ss, 0, sizeof(*ss));
	if (addr[0] != '[' &&
	    evutil_inet_pton(AF_INET, buf, &s4->sin_addr) == 1) {
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (addr[0] == '[' &&
	    evutil_inet_pton(AF_INET6, buf, &s6->sin6_addr) == 1) {
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* chttp_addr_format: "127.0.0.1:8080" or "[::1]:8080" into buf. */
static void
chttp_addr_format(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char host[INET6_ADDRSTRLEN];

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const void *)ss;
		evutil_inet_ntop(AF_INET6, &s6->sin6_addr, host, sizeof(host));
		snprintf(buf, len, "[%s]:%u", host, ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const void *)ss;
		evutil_inet_ntop(AF_INET, &s4->sin_addr, host, sizeof(host));
		snprintf(buf, len, "%s:%u", host, ntohs(s4->sin_port));
	}
}

int
collector_http_listen(struct collector_http *h, const char *addr)
{
	struct sockaddr_storage ss;
	struct evconnlistener *lev;
	socklen_t slen;
	int len;
	char shown[128];
	unsigned flags = LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE;

	if (h->nlisteners == CHTTP_LISTEN_MAX) {
		log_warnx("%s: at most %d addresses", __func__,
		    CHTTP_LISTEN_MAX);
		return -1;
	}
	if (chttp_addr_parse(addr, &ss, &len) == -1) {
		log_warnx("collector: listen \"%s\": not a numeric "
		          "ADDRESS:PORT (127.0.0.1:8080, [::1]:8080)",
		    addr);
		return -2;
	}
	if (ss.ss_family == AF_INET6)
		flags |= LEV_OPT_BIND_IPV6ONLY;
	if (h->paused)
		flags |= LEV_OPT_DISABLED;
	if ((lev = evconnlistener_new_bind(h->base, NULL, NULL, flags,
	         CHTTP_BACKLOG, (struct sockaddr *)&ss, len)) == NULL) {
		log_warn("collector: cannot listen on %s", addr);
		return -1;
	}
	if (evhttp_bind_listener(h->http, lev) == NULL) {
		evconnlistener_free(lev);
		log_warnx("collector: cannot serve HTTP on %s", addr);
		return -1;
	}
	h->listeners[h->nlisteners++] = lev;
	slen = sizeof(ss);
	if (getsockname(evconnlistener_get_fd(lev), (struct sockaddr *)&ss,
	        &slen) == 0) {
		chttp_addr_format(&ss, shown, sizeof(shown));
		log_info("collector: listening on %s", shown);
	}
	return 0;
}

bool
collector_http_addr_valid(const char *addr)
{
	struct sockaddr_storage ss;
	int len;

	return chttp_addr_parse(addr, &ss, &len) == 0;
}

bool
collector_http_busy(const struct collector_http *h)
{
	return h->checking != NULL || h->pending != NULL || h->nwriting > 0;
}

void
collector_http_shutdown(struct collector_http *h)
{
	if (h->stopping)
		return;
	h->stopping = true;
	chttp_listeners_update(h);
	/* The checks end here, on this turn: each batch checked joins
	 * those waiting for the commit, each cut short is answered 503. */
	if (h->checker != NULL)
		workq_drain(h->checker, cw_mono_usec() + h->conf.drain_timeout);
	chttp_commit_run(h);
}

void
collector_http_free(struct collector_http *h)
{
	struct chttp_conn *c, *next;
	struct chttp_batch *b;

	if (h == NULL)
		return;
	/* After collector_http_shutdown() nothing is checked or waits for
	 * the commit; without it, such batches are dropped here. */
	h->freeing = true;
	workq_free(h->checker);
	h->checker = NULL;
	while ((b = h->pending) != NULL) {
		h->pending = b->next;
		chttp_batch_free(b);
	}
	h->pending_tail = &h->pending;
	/* Connections accepted in this very turn: let go of our hold. */
	c = h->adopting;
	h->adopting = NULL;
	h->adopting_tail = &h->adopting;
	for (; c != NULL; c = next) {
		next = c->next_adopt;
		bufferevent_decref(c->bev);
		chttp_conn_free(c);
	}
	/* Frees the listeners and every connection (their close callbacks
	 * free ours). */
	h->nlisteners = 0;
	if (h->http != NULL)
		evhttp_free(h->http);
	for (c = h->conns; c != NULL; c = next) {
		next = c->next;
		chttp_conn_free(c);
	}
	while (h->lingering != NULL)
		chttp_linger_end(h->lingering);
	free(h->byfd);
	if (h->adopt_ev != NULL)
		event_free(h->adopt_ev);
	if (h->commit_ev != NULL)
		event_free(h->commit_ev);
	if (h->close_ev != NULL)
		event_free(h->close_ev);
	free(h->read_token);
	if (h->write_token != NULL)
		sodium_memzero(h->write_token, strlen(h->write_token));
	free(h->write_token);
	free(h);
}
