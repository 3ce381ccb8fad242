/*
 * upload.h -- the probe's uploader: records from the spool to the
 * collector as signed batches (doc/protocol.md), on the probe's one
 * libevent loop, with libcurl's multi socket API.
 *
 * The uploader reads records after the spool's cursor into a batch
 * until the batch holds `batch_records` records or `batch_bytes` bytes,
 * or its oldest record is `batch_age` old; then it syncs the spool,
 * signs the uncompressed body with the probe's key, gzips it and POSTs
 * it to <url>/api/v1/batches.  One batch is in flight at a time.  Only
 * a 200 whose receipt names the batch's probe, chain and last seq moves
 * the cursor (spool_ack).
 *
 * What the collector answers decides what happens to a batch:
 *   200 with a matching receipt	acknowledged; the next batch
 *   429, 5xx, no answer, a 200	kept and sent again after a backoff
 *   without a matching receipt,	(exponential, full jitter, capped;
 *   any other 3xx/4xx		Retry-After honoured up to the cap)
 *   400 401 403 409, 413 of one	set aside in the dead-letter file and
 *   record			acknowledged: it never blocks the queue
 *   413 of several records	sent again in halves
 * Several URLs are tried in order: an error fails over to the next at
 * once; when all failed, the uploader backs off and starts again from
 * the first; after failing over it comes back to the first after
 * `failback`.  Every attempt is counted against its URL (the "path" a
 * batch took; with a proxy, every path goes through it).
 *
 * Nothing here blocks the loop for long: network I/O is libcurl's,
 * driven by libevent events (libcurl may resolve names in a thread of
 * its own); the spool is read and synced from the loop.  Measuring
 * never waits for uploading.
 */
#ifndef CW_UPLOAD_H
#define CW_UPLOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "cwtime.h"
#include "record.h"

#define UPLOAD_URLS_MAX        8
#define UPLOAD_BATCH_RECORDS   1000
#define UPLOAD_BATCH_BYTES     (1024 * 1024)
#define UPLOAD_BATCH_BYTES_MIN (RECORD_MAX_LEN + 1) /* one record fits */
#define UPLOAD_BATCH_AGE       (10 * CW_USEC_PER_SEC)
#define UPLOAD_BACKOFF_MIN     CW_USEC_PER_SEC
#define UPLOAD_BACKOFF_MAX     (600 * CW_USEC_PER_SEC)
#define UPLOAD_FAILBACK        (600 * CW_USEC_PER_SEC)
#define UPLOAD_TIMEOUT         (300 * CW_USEC_PER_SEC)
#define UPLOAD_STOP_TIMEOUT    (5 * CW_USEC_PER_SEC)
#define UPLOAD_API_PATH        "/api/v1/batches"

struct event_base;
struct spool;
struct upload;

/* What upload_new() needs.  Zero members take the defaults above. */
struct upload_config {
	const char *const *urls; /* collectors' base URLs, in order */
	size_t nurls;            /* 1 .. UPLOAD_URLS_MAX */
	const char *proxy;       /* "socks5h://127.0.0.1:9050" or
				  * "http://..."; NULL: none (the
				  * environment's *_proxy ignored) */
	const char *probe;       /* the probe id, 32 hex */
	const unsigned char *sk; /* libsodium's 64-byte secret key;
				  * copied */
	size_t batch_records;
	size_t batch_bytes; /* of record lines, uncompressed */
	cw_usec_t batch_age;
	cw_usec_t backoff_min;   /* the first backoff's ceiling */
	cw_usec_t backoff_max;   /* the cap, Retry-After included */
	cw_usec_t failback;      /* back to the first URL after this */
	cw_usec_t timeout;       /* of one request */
	cw_usec_t stop_timeout;  /* upload_drain's bound; 0: none
				  * (not a default) */
	const char *dead_letter; /* the dead-letter file (JSON lines);
				  * set-aside batches in files next
				  * to it */
	const char *receipts;    /* where signed receipts are kept
				* (receipts.h); NULL: nowhere */
	uint64_t receipts_max;   /* its bound in bytes; 0: keep none */
};

/* The batches that went one way: a URL (through the proxy, if any). */
struct upload_path {
	const char *url;  /* owned by the uploader */
	uint64_t sent;    /* batches acknowledged */
	uint64_t records; /* records in them */
	uint64_t failed;  /* attempts that failed */
	uint64_t refused; /* batches set aside (dead letter) */
};

/* What the heartbeat reports of the uploader. */
struct upload_status {
	cw_usec_t failing_since; /* real time of the first failure
				  * since the last success; 0: none */
	cw_usec_t last_receipt;  /* real time; 0: none yet */
	unsigned consecutive_failures;
	uint64_t acked_seq;    /* the cursor, as this run moved it */
	uint64_t dead_letters; /* batches set aside by this run */
	bool in_flight;
	const char *proxy;               /* NULL: direct */
	const struct upload_path *paths; /* one per URL, in order;
					  * valid until upload_free */
	size_t npaths;
};

/*
 * upload_new: an uploader of the records of `sp` on `base`.  It starts
 * at once (the first batch is formed in the next turn of the loop).
 * The spool must outlive it.  Returns NULL (logged) when the
 * configuration is unusable or libcurl cannot be set up.  A probe that
 * uploads nothing simply makes no uploader.
 */
struct upload *upload_new(struct event_base *base, struct spool *sp,
    const struct upload_config *cfg);

/* upload_free: stop (a request in flight is abandoned: its batch is
 * sent again by the next run) and free; NULL is fine. */
void upload_free(struct upload *up);

/* upload_kick: records were appended: look at the spool again at the end
 * of this turn of the loop.  Cheap; call it after every append. */
void upload_kick(struct upload *up);

/*
 * upload_drain: the probe is stopping: send what the spool holds now
 * (a batch goes without waiting for its age; a backoff is cut short),
 * and call done(arg) from the loop once every record is acknowledged,
 * or when cfg.stop_timeout has passed, whichever comes first.  What is
 * not acknowledged by then stays in the spool for the next start, as
 * a request still in flight does (upload_free abandons it).  Call it
 * at most once.
 */
void upload_drain(struct upload *up, void (*done)(void *), void *arg);

/* upload_idle: true when nothing is in flight or waiting for a retry
 * and every record the spool held at the last look was acknowledged. */
bool upload_idle(const struct upload *up);

/* upload_get_status: the current figures into `st` (pointers into the
 * uploader). */
void upload_get_status(const struct upload *up, struct upload_status *st);

/* upload_status_json: the same as a JSON object for a heartbeat record
 * ("failing_since", "last_receipt": times or null, counts, and "paths":
 * [{"url", "proxy", "sent", "records", "failed", "refused"}]).  Caller
 * owns it; NULL when out of memory. */
json_t *upload_status_json(const struct upload *up);

/* --- the arithmetic, exposed for tests --- */

/* upload_backoff_ceiling: min(cap, base * 2^(failures - 1)) for
 * failures >= 1 (0 for none), without overflowing. */
cw_usec_t upload_backoff_ceiling(unsigned failures, cw_usec_t base,
    cw_usec_t cap);

/* upload_backoff: a delay drawn uniformly from [0, ceiling] ("full
 * jitter"), with libsodium's randombytes_uniform(). */
cw_usec_t upload_backoff(unsigned failures, cw_usec_t base, cw_usec_t cap);

/*
 * upload_retry_after_parse: a Retry-After value, delay-seconds ("120")
 * or an HTTP date ("Wed, 21 Oct 2015 07:28:00 GMT"), as a delay from
 * the real time `now` (a date in the past: 0).  Returns 0, or -1 for
 * anything else.
 */
int upload_retry_after_parse(const char *value, cw_usec_t now,
    cw_usec_t *delay);

/* What upload_status_class() makes of a collector's answer. */
enum upload_verdict {
	UPLOAD_ACKED, /* 200: check the receipt */
	UPLOAD_RETRY, /* try again later */
	UPLOAD_SPLIT, /* 413 of several records: halve */
	UPLOAD_DEAD,  /* set aside */
};

/* upload_status_class: the verdict on HTTP status `code` (0: no
 * answer) for a batch of `nrecords` records. */
enum upload_verdict upload_status_class(long code, size_t nrecords);

/*
 * upload_batch_due: whether a batch being formed goes now.  It holds
 * `n` records of `bytes` bytes, the first of them `age` old; `more`
 * says the spool holds further records that did not fit.  Returns 0
 * when it goes now, else how long until its age makes it go; -1 when
 * it is empty.
 */
cw_usec_t upload_batch_due(size_t n, size_t bytes, bool more, cw_usec_t age,
    size_t max_records, size_t max_bytes, cw_usec_t max_age);

#endif /* CW_UPLOAD_H */
