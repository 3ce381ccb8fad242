/*
 * log_http.h -- the collector's log on its HTTP service (doc/evidence.md,
 * doc/protocol.md):
 *
 *   GET /api/v1/log/checkpoint   the log's latest checkpoint, signed
 *                                (text/plain, a c2sp.org signed note)
 *   GET /api/v1/log/key          the key that signs it, as a verifier
 *                                key (vkey) line
 *   GET /api/v1/log/proof/inclusion?index=N&size=M
 *   GET /api/v1/log/proof/consistency?old=M&new=N
 *                                the proofs, as JSON (tlog.h)
 *
 * They are open to anyone, read token or not: they tell how many
 * records the collector holds and hashes of them, nothing a record
 * says, and a witness or a reader of a bundle must be able to ask.  A
 * checkpoint is made when asked for and the log grew since the last
 * one, and on a timer (every `interval`) while it grows, and kept in
 * the database.  Without a log key the checkpoint and the key answer
 * 503 and say so; the proofs need no key.
 */
#ifndef CW_LOG_HTTP_H
#define CW_LOG_HTTP_H

#include <event2/event.h>

#include "collector_http.h"
#include "cwtime.h"
#include "store.h"
#include "tlog.h"

struct log_http;

/*
 * log_http_new: serve the log's endpoints on `h`, from `st`, signing
 * with `signer` (NULL: no key; the caller keeps it alive and clears it
 * after log_http_free) every `interval` (0: only when asked).  Returns
 * NULL (logged) on failure.
 */
struct log_http *log_http_new(struct collector_http *h, struct event_base *base,
    struct store *st, const struct tlog_signer *signer, cw_usec_t interval);

/* log_http_free: stop the timer, forget the checkpoint; NULL is fine. */
void log_http_free(struct log_http *l);

#endif /* CW_LOG_HTTP_H */
