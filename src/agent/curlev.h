/*
 * curlev.h -- libcurl's multi socket API on a libevent loop.
 *
 * libcurl says which sockets to watch and when to wake it; curlev turns
 * that into persistent libevent events and one timer, calls
 * curl_multi_socket_action() when they fire, and hands every finished
 * transfer to the owner's callback.  The probe's uploader and its HTTP
 * measurements each hold one; no thread of ours is involved.
 */
#ifndef CW_CURLEV_H
#define CW_CURLEV_H

#include <stddef.h>

#include <curl/curl.h>
#include <event2/event.h>

/* curlev_done_fn: transfer `easy` finished with `code`.  It has been
 * removed from the multi handle already: the callee owns it again (and
 * may clean it up, or add new transfers).  `arg` is what curlev_add()
 * was given. */
typedef void (*curlev_done_fn)(CURL *easy, CURLcode code, void *arg);

struct curlev;

/* curlev_new: a multi handle driven by `base`, reporting to done().
 * curl_global_init() must have been called.  NULL when it cannot be set
 * up (logged). */
struct curlev *curlev_new(struct event_base *base, curlev_done_fn done);

/* curlev_multi: the multi handle, for options (CURLMOPT_*). */
CURLM *curlev_multi(struct curlev *cv);

/* curlev_add: start `easy`; done(easy, code, arg) when it finishes.
 * Uses the easy handle's CURLOPT_PRIVATE.  Returns 0, or -1 (logged)
 * when it could not be added: then done() will not be called. */
int curlev_add(struct curlev *cv, CURL *easy, void *arg);

/* curlev_remove: take `easy` out without calling done(); the caller
 * still owns it.  Fine for a handle that is not in (or never was). */
void curlev_remove(struct curlev *cv, CURL *easy);

/* curlev_free: drop every transfer still running (their handles stay
 * their owners') and free the rest; NULL is fine.  Never from inside
 * done(). */
void curlev_free(struct curlev *cv);

#endif
