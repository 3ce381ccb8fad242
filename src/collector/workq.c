/*
 * workq.c -- one worker thread and a pipe back to the event loop.
 *
 * The jobs waiting are a list in the order they were pushed; the
 * thread takes the one with the least time served (the first of
 * equals), a walk of the list per slice: the collector queues at most
 * one job per connection.  A drain waits on a second condition the
 * thread signals after every slice, on the monotonic clock, as the
 * deadline it is given.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "cwtime.h"
#include "log.h"
#include "workq.h"

struct workq_job {
	struct workq_job *next;
	workq_work_fn *work;
	workq_done_fn *done;
	void *arg;
	cw_usec_t served; /* time its slices took */
};

/* A list of jobs in order. */
struct workq_list {
	struct workq_job *head, **tail;
};

struct workq {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct workq_list todo;     /* under mu */
	struct workq_list finished; /* under mu */
	bool quit;                  /* under mu */
	bool running;               /* under mu: a slice runs */
	bool hold;                  /* under mu: start no slice */
	pthread_cond_t sliced;      /* a slice ended */
	pthread_t thread;
	int wake[2]; /* worker -> loop */
	struct event *ev;
	size_t pending; /* loop thread only */
};

static void
workq_list_init(struct workq_list *l)
{
	l->head = NULL;
	l->tail = &l->head;
}

static void
workq_list_add(struct workq_list *l, struct workq_job *j)
{
	j->next = NULL;
	*l->tail = j;
	l->tail = &j->next;
}

/* Unlink and return the job with the least time served, the first of
 * equals; the list must not be empty. */
static struct workq_job *
workq_list_take_least(struct workq_list *l)
{
	struct workq_job **least = &l->head, *j;

	for (struct workq_job **pp = &l->head; *pp != NULL; pp = &(*pp)->next)
		if ((*pp)->served < (*least)->served)
			least = pp;
	j = *least;
	if ((*least = j->next) == NULL)
		l->tail = least;
	return j;
}

/* The whole list, which becomes empty. */
static struct workq_job *
workq_list_take(struct workq_list *l)
{
	struct workq_job *all = l->head;

	workq_list_init(l);
	return all;
}

/* Call the `done` of every job of `all`, in order, and free them. */
static void
workq_finish(struct workq *q, struct workq_job *all, bool ran)
{
	struct workq_job *j, *next;

	for (j = all; j != NULL; j = next) {
		next = j->next;
		q->pending--;
		j->done(j->arg, ran);
		free(j);
	}
}

static void *
workq_main(void *arg)
{
	struct workq *q = arg;
	struct workq_job *j;
	cw_usec_t start;
	bool finished;
	ssize_t n;

	pthread_mutex_lock(&q->mu);
	for (;;) {
		while (!q->quit && (q->todo.head == NULL || q->hold))
			pthread_cond_wait(&q->cv, &q->mu);
		if (q->quit)
			break;
		j = workq_list_take_least(&q->todo);
		q->running = true;
		pthread_mutex_unlock(&q->mu);
		start = cw_mono_usec();
		finished = j->work(j->arg);
		/* At least 1: a slice faster than the clock still counts. */
		j->served += cw_mono_usec() - start + 1;
		pthread_mutex_lock(&q->mu);
		q->running = false;
		pthread_cond_broadcast(&q->sliced);
		if (!finished) {
			workq_list_add(&q->todo, j);
			continue;
		}
		workq_list_add(&q->finished, j);
		/* A full pipe already holds a wake-up: nothing is lost. */
		do
			n = write(q->wake[1], "", 1);
		while (n == -1 && errno == EINTR);
	}
	pthread_mutex_unlock(&q->mu);
	return NULL;
}

/* The loop's side: the worker finished one job or more. */
static void
workq_wake_cb(evutil_socket_t fd, short what, void *arg)
{
	struct workq *q = arg;
	struct workq_job *all;
	char buf[64];

	(void)what;
	while (read(fd, buf, sizeof(buf)) > 0)
		;
	pthread_mutex_lock(&q->mu);
	all = workq_list_take(&q->finished);
	pthread_mutex_unlock(&q->mu);
	workq_finish(q, all, true);
}

/* workq_release: free what workq_new made of `q`, and `q` (its thread
 * is not running). */
static void
workq_release(struct workq *q)
{
	if (q->ev != NULL)
		event_free(q->ev);
	if (q->wake[0] != -1) {
		close(q->wake[0]);
		close(q->wake[1]);
	}
	pthread_cond_destroy(&q->sliced);
	pthread_cond_destroy(&q->cv);
	pthread_mutex_destroy(&q->mu);
	free(q);
}

struct workq *
workq_new(struct event_base *base)
{
	struct workq *q;
	pthread_condattr_t attr;
	int rc;

	if ((q = calloc(1, sizeof(*q))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	workq_list_init(&q->todo);
	workq_list_init(&q->finished);
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_cond_init(&q->sliced, &attr);
	pthread_condattr_destroy(&attr);
	q->wake[0] = q->wake[1] = -1;
	if (pipe2(q->wake, O_NONBLOCK | O_CLOEXEC) == -1) {
		log_warn("%s: pipe", __func__);
		goto fail;
	}
	if ((q->ev = event_new(base, q->wake[0], EV_READ | EV_PERSIST,
	         workq_wake_cb, q)) == NULL ||
	    event_add(q->ev, NULL) == -1) {
		log_warnx("%s: cannot watch the pipe", __func__);
		goto fail;
	}
	if ((rc = pthread_create(&q->thread, NULL, workq_main, q)) != 0) {
		log_warnx("%s: pthread_create: %s", __func__, strerror(rc));
		goto fail;
	}
	return q;
fail:
	workq_release(q);
	return NULL;
}

int
workq_push(struct workq *q, workq_work_fn *work, workq_done_fn *done, void *arg)
{
	struct workq_job *j;

	if ((j = calloc(1, sizeof(*j))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return -1;
	}
	j->work = work;
	j->done = done;
	j->arg = arg;
	q->pending++;
	pthread_mutex_lock(&q->mu);
	workq_list_add(&q->todo, j);
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

size_t
workq_pending(const struct workq *q)
{
	return q->pending;
}

size_t
workq_drain(struct workq *q, cw_usec_t until)
{
	struct workq_job *ran, *never;
	struct timespec ts;
	size_t n = 0;

	ts.tv_sec = (time_t)(until / CW_USEC_PER_SEC);
	ts.tv_nsec = (long)(until % CW_USEC_PER_SEC) * 1000;
	pthread_mutex_lock(&q->mu);
	while ((q->todo.head != NULL || q->running) && cw_mono_usec() < until)
		pthread_cond_timedwait(&q->sliced, &q->mu, &ts);
	/* Every job done, or past the deadline: the slice that runs ends
	 * and no other starts. */
	q->hold = true;
	while (q->running)
		pthread_cond_wait(&q->sliced, &q->mu);
	never = workq_list_take(&q->todo);
	ran = workq_list_take(&q->finished);
	q->hold = false;
	pthread_mutex_unlock(&q->mu);
	for (struct workq_job *j = never; j != NULL; j = j->next)
		n++;
	workq_finish(q, ran, true);
	workq_finish(q, never, false);
	return n;
}

void
workq_free(struct workq *q)
{
	struct workq_job *ran, *never;

	if (q == NULL)
		return;
	pthread_mutex_lock(&q->mu);
	q->quit = true;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
	pthread_join(q->thread, NULL);
	/* The thread is gone: the lists are ours alone. */
	ran = workq_list_take(&q->finished);
	never = workq_list_take(&q->todo);
	workq_finish(q, ran, true);
	workq_finish(q, never, false);
	workq_release(q);
}
