/*
 * collector_http_health.c -- how the collector does, over HTTP: GET
 * /healthz (the database answers and the last write worked) and GET
 * /metrics (the service's counters, Prometheus text format).
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <jansson.h>

#include "collector_http.h"
#include "collector_http_int.h"
#include "cwtime.h"
#include "store.h"

/* --- Health and metrics --- */

/* chttp_unhealthy: answer /healthz with 503 and `body` (taken). */
static void
chttp_unhealthy(struct evhttp_request *req, json_t *body)
{
	char retry[16];

	snprintf(retry, sizeof(retry), "%d", COLLECTOR_HTTP_RETRY_AFTER);
	evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
	    retry);
	collector_http_json(req, 503, body);
}

/*
 * GET /healthz: ok, or not with a generic reason.  What the database
 * library said (a socket path, a file name) goes only to a holder of
 * the read token, as "db_error".
 */
void
chttp_healthz(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	const char *backend = store_backend(h->st), *why = NULL;
	bool trusted = collector_http_read_trusted(h, req);
	char when[CW_TIME_STRLEN];
	json_t *body;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET &&
	    evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		chttp_method_not_allowed(req, "GET");
		return;
	}
	if (store_ping(h->st, &why) != 0) {
		h->db_down = true;
		body = json_pack("{s:s, s:s, s:s, s:s}", "status",
		    "unavailable", "db", backend, "error", "unavailable",
		    "detail", "the database does not answer");
		if (body != NULL && trusted)
			json_object_set_new(body, "db_error", json_string(why));
		chttp_unhealthy(req, body);
		return;
	}
	h->db_down = false;
	if (h->write_failed_at != 0) {
		body = json_pack("{s:s, s:s, s:s, s:s, s:s}", "status",
		    "failing", "db", backend, "error", "write_failed", "detail",
		    "writing to the database fails", "last_write_failure",
		    cw_time_format(h->write_failed_at, when, sizeof(when)));
		if (body != NULL && trusted)
			json_object_set_new(body, "db_error",
			    json_string(h->write_error));
		chttp_unhealthy(req, body);
		return;
	}
	collector_http_json(req, 200,
	    json_pack("{s:s, s:s}", "status", h->stopping ? "stopping" : "ok",
	        "db", backend));
}

/* chttp_metric: one counter or gauge with its help and type lines. */
static void
chttp_metric(struct evbuffer *out, const char *name, const char *type,
    const char *help, unsigned long long value)
{
	evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n%s %llu\n", name,
	    help, name, type, name, value);
}

static void
chttp_metrics_histogram(struct evbuffer *out, const struct chttp_metrics *m)
{
	const char *name = "corewatch_ingest_latency_seconds";
	unsigned long long sum = 0;

	evbuffer_add_printf(out,
	    "# HELP %s From a batch received whole to "
	    "its commit.\n# TYPE %s histogram\n",
	    name, name);
	for (size_t i = 0; i < CHTTP_BUCKETS; i++) {
		sum += m->latency[i];
		evbuffer_add_printf(out, "%s_bucket{le=\"%g\"} %llu\n", name,
		    chttp_buckets[i], sum);
	}
	evbuffer_add_printf(out,
	    "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
	    "%s_count %llu\n",
	    name, m->latency_count, name, m->latency_sum, name,
	    m->latency_count);
}

void
chttp_metrics(struct evhttp_request *req, void *arg)
{
	struct collector_http *h = arg;
	const struct chttp_metrics *m = &h->m;
	struct evbuffer *out;
	long long size;

	if (evhttp_request_get_command(req) != EVHTTP_REQ_GET) {
		chttp_method_not_allowed(req, "GET");
		return;
	}
	if ((out = evbuffer_new()) == NULL) {
		collector_http_error(req, 503, NULL);
		return;
	}
	chttp_metric(out, "corewatch_batches_accepted_total", "counter",
	    "Batches stored (replays included) and acknowledged.",
	    m->batches_accepted);
	chttp_metric(out, "corewatch_records_stored_total", "counter",
	    "Records stored for the first time.", m->records_stored);
	chttp_metric(out, "corewatch_records_duplicate_total", "counter",
	    "Records received again with the same hash.", m->records_duplicate);
	chttp_metric(out, "corewatch_records_equivocation_total", "counter",
	    "Records received again with another hash (kept apart).",
	    m->records_equivocation);
	chttp_metric(out, "corewatch_gaps_total", "counter",
	    "Gaps opened in chains by accepted batches (seqs skipped).",
	    m->gaps);
	chttp_metric(out, "corewatch_enrollments_total", "counter",
	    "Probes enrolled with a token.", m->enrollments);
	evbuffer_add_printf(out,
	    "# HELP corewatch_batches_rejected_total "
	    "Batches refused, by reason.\n# TYPE "
	    "corewatch_batches_rejected_total counter\n");
	for (size_t i = 0; i < CHTTP_REASONS; i++)
		evbuffer_add_printf(out,
		    "corewatch_batches_rejected_total"
		    "{reason=\"%s\"} %llu\n",
		    chttp_reason_names[i], m->rejected[i]);
	chttp_metrics_histogram(out, m);
	if ((size = store_size(h->st)) >= 0)
		chttp_metric(out, "corewatch_db_size_bytes", "gauge",
		    "Bytes the database takes.", (unsigned long long)size);
	chttp_metric(out, "corewatch_connections", "gauge",
	    "Client connections open.", h->nconns);
	chttp_metric(out, "corewatch_connections_max", "gauge",
	    "The cap on client connections.", h->conf.max_connections);
	chttp_metric(out, "corewatch_connection_cap_reached_total", "counter",
	    "Times the cap stopped new connections from being accepted.",
	    m->cap_reached);
	evhttp_add_header(evhttp_request_get_output_headers(req),
	    "Content-Type", "text/plain; version=0.0.4; charset=utf-8");
	evhttp_send_reply(req, 200, NULL, out);
	evbuffer_free(out);
}
