/*
 * curlev.c -- libcurl's multi socket API on a libevent loop (curlev.h).
 */
#include "config.h"

#include <stdbool.h>
#include <stdlib.h>

#include "curlev.h"
#include "log.h"

/* A socket libcurl asked us to watch. */
struct curlev_sock {
	struct curlev *cv;
	curl_socket_t fd;
	short kind; /* EV_READ | EV_WRITE of ev */
	struct event *ev;
	struct curlev_sock *next, *prev;
};

struct curlev {
	struct event_base *base;
	CURLM *multi;
	curlev_done_fn done;
	struct event *timer;
	struct curlev_sock *socks;
};

static void
curlev_sock_free(struct curlev_sock *s)
{
	struct curlev *cv = s->cv;

	if (s->ev != NULL)
		event_free(s->ev);
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		cv->socks = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	free(s);
}

/* curlev_collect: hand every finished transfer to its owner. */
static void
curlev_collect(struct curlev *cv)
{
	CURLMsg *msg;
	CURL *easy;
	CURLcode code;
	char *arg;
	int left;

	while ((msg = curl_multi_info_read(cv->multi, &left)) != NULL) {
		if (msg->msg != CURLMSG_DONE)
			continue;
		easy = msg->easy_handle;
		code = msg->data.result;
		arg = NULL;
		curl_easy_getinfo(easy, CURLINFO_PRIVATE, &arg);
		curl_multi_remove_handle(cv->multi, easy);
		cv->done(easy, code, arg);
	}
}

/* curlev_sock_event: a watched socket is ready. */
static void
curlev_sock_event(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int flags = 0, running;

	if (what & EV_READ)
		flags |= CURL_CSELECT_IN;
	if (what & EV_WRITE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cv->multi, fd, flags, &running);
	curlev_collect(cv);
}

/* curlev_socket_cb: CURLMOPT_SOCKETFUNCTION: watch `fd` for `what`. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp,
    void *socketp)
{
	struct curlev *cv = userp;
	struct curlev_sock *s = socketp;
	short kind = 0;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			curl_multi_assign(cv->multi, fd, NULL);
			curlev_sock_free(s);
		}
		return 0;
	}
	if (s == NULL) {
		if ((s = calloc(1, sizeof(*s))) == NULL) {
			log_warnx("curlev: out of memory");
			return -1;
		}
		s->cv = cv;
		s->fd = fd;
		if ((s->next = cv->socks) != NULL)
			cv->socks->prev = s;
		cv->socks = s;
		curl_multi_assign(cv->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		kind |= EV_READ;
	if (what & CURL_POLL_OUT)
		kind |= EV_WRITE;
	if (s->ev != NULL && s->kind == kind)
		return 0;
	if (s->ev != NULL)
		event_free(s->ev);
	s->kind = kind;
	if ((s->ev = event_new(cv->base, fd, kind | EV_PERSIST,
	         curlev_sock_event, cv)) == NULL ||
	    event_add(s->ev, NULL) == -1) {
		log_warnx("curlev: cannot watch a socket");
		return -1;
	}
	return 0;
}

/* curlev_timeout: libcurl's timer expired. */
static void
curlev_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct curlev *cv = arg;
	int running;

	(void)fd;
	(void)what;
	curl_multi_socket_action(cv->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	curlev_collect(cv);
}

/* curlev_timer_cb: CURLMOPT_TIMERFUNCTION: wake libcurl in `ms` (-1:
 * never).  libcurl must not be called back from here: a 0 goes through
 * the loop like any other timeout. */
static int
curlev_timer_cb(CURLM *multi, long ms, void *userp)
{
	struct curlev *cv = userp;
	struct timeval tv;

	(void)multi;
	if (ms < 0) {
		evtimer_del(cv->timer);
		return 0;
	}
	tv.tv_sec = ms / 1000;
	tv.tv_usec = (ms % 1000) * 1000;
	return evtimer_add(cv->timer, &tv) == 0 ? 0 : -1;
}

struct curlev *
curlev_new(struct event_base *base, curlev_done_fn done)
{
	struct curlev *cv;

	if ((cv = calloc(1, sizeof(*cv))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	cv->base = base;
	cv->done = done;
	if ((cv->timer = evtimer_new(base, curlev_timeout, cv)) == NULL ||
	    (cv->multi = curl_multi_init()) == NULL ||
	    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETFUNCTION,
	        curlev_socket_cb) != CURLM_OK ||
	    curl_multi_setopt(cv->multi, CURLMOPT_SOCKETDATA, cv) != CURLM_OK ||
	    curl_multi_setopt(cv->multi, CURLMOPT_TIMERFUNCTION,
	        curlev_timer_cb) != CURLM_OK ||
	    curl_multi_setopt(cv->multi, CURLMOPT_TIMERDATA, cv) != CURLM_OK) {
		log_warnx("%s: cannot set up libcurl on the event loop",
		    __func__);
		curlev_free(cv);
		return NULL;
	}
	return cv;
}

CURLM *
curlev_multi(struct curlev *cv)
{
	return cv->multi;
}

int
curlev_add(struct curlev *cv, CURL *easy, void *arg)
{
	if (curl_easy_setopt(easy, CURLOPT_PRIVATE, arg) != CURLE_OK ||
	    curl_multi_add_handle(cv->multi, easy) != CURLM_OK) {
		log_warnx("%s: libcurl refuses the transfer", __func__);
		return -1;
	}
	return 0;
}

void
curlev_remove(struct curlev *cv, CURL *easy)
{
	/* libcurl takes a handle that is not in the multi as removed. */
	if (easy != NULL)
		curl_multi_remove_handle(cv->multi, easy);
}

void
curlev_free(struct curlev *cv)
{
	if (cv == NULL)
		return;
	if (cv->multi != NULL)
		curl_multi_cleanup(cv->multi);
	while (cv->socks != NULL)
		curlev_sock_free(cv->socks);
	if (cv->timer != NULL)
		event_free(cv->timer);
	free(cv);
}
