/*
 * workq.h -- CPU-bound work on a thread of its own, finished on the
 * event loop.
 *
 * The collector's loop does the database; checking a batch (inflating
 * it, parsing every record with jansson, hashing, verifying the
 * signature) takes as long again and needs nothing the loop owns, so it
 * runs on one worker thread.
 *
 * A job may be cut into slices: its `work` does a bounded piece and
 * says whether the job is finished.  The thread always runs next the
 * job that has had the least of its time so far (least attained
 * service; the earliest pushed among equals), so a job of one slice
 * waits for at most the slice that runs and the first slice of each job
 * pushed before it, however large those are: a flood of expensive
 * requests cannot hold back a cheap one.  Jobs of one slice run in the
 * order they were pushed.  Their `done` callbacks are called on the
 * loop thread in the order the jobs finish.  A job's `work` must touch
 * only what its `arg` gives it; the loop must leave that alone until
 * `done`.
 */
#ifndef CW_WORKQ_H
#define CW_WORKQ_H

#include <stdbool.h>
#include <stddef.h>

#include "cwtime.h"

struct event_base;
struct workq;

/* Runs on the worker thread: one slice of the job.  Returns true when
 * the job is finished, false to be called again later. */
typedef bool workq_work_fn(void *arg);

/* Runs on the loop thread once `work` returned true (ran true), or when
 * the queue is freed before the job could finish (ran false: its `work`
 * may have run some slices). */
typedef void workq_done_fn(void *arg, bool ran);

/* workq_new: start the worker thread; its results come back through an
 * event on `base`.  NULL (logged) when it cannot be started. */
struct workq *workq_new(struct event_base *base);

/* workq_push: queue a job.  Returns 0, or -1 (logged) when out of
 * memory; then neither callback is called. */
int workq_push(struct workq *q, workq_work_fn *work, workq_done_fn *done,
    void *arg);

/* workq_pending: jobs pushed whose `done` has not been called yet. */
size_t workq_pending(const struct workq *q);

/*
 * workq_drain: on the loop thread, wait for every job pushed to finish,
 * but not past `until` (monotonic, as cw_mono_usec()); then let the
 * slice that runs end and take back the jobs that have not finished.
 * Every `done` is called before it returns: ran true for the jobs that
 * finished, in the order they did, then ran false for the others.  The
 * loop does nothing meanwhile.  The queue stays usable.  Returns the
 * number of jobs taken back unfinished.
 */
size_t workq_drain(struct workq *q, cw_usec_t until);

/* workq_free: let the slice that runs end, stop the thread, and call
 * every remaining `done` (ran false for jobs that did not finish).
 * NULL is fine. */
void workq_free(struct workq *q);

#endif
