/*
 * agent.h -- the measuring agent's insides, shared by its scheduler and
 * result path (agent.c) and its commands: `corewatch run` (cmd_run.c),
 * `once` (cmd_once.c) and `check-config` (cmd_check.c).  Private to
 * src/agent (and its unit test).
 *
 * A configuration becomes a set of tasks, as each measurement's kind
 * lays them out (probes/probe.h).  `run` gives each task a schedule
 * timer and measures for ever; `once` starts every task at the same
 * moment and waits for all of them.  The tasks of one measurement of a
 * serial kind to one server address form a group that has one run in
 * flight at a time (the others queue); a cycle that fires while the
 * task's previous run still runs or waits is skipped and counted.
 *
 * Everything lives in one struct agent handed to every callback.
 */
#ifndef CW_AGENT_H
#define CW_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <event2/event.h>
#include <jansson.h>

#include "conf.h"
#include "cwtime.h"
#include "failure.h"
#include "heartbeat.h"
#include "key.h"
#include "probe.h"
#include "schedule.h"

#define AGENT_LABEL_MAX \
	(CONFIG_NAME_MAX + TARGET_NAME_MAX + INET6_ADDRSTRLEN + 16)

enum agent_mode {
	AGENT_RUN,
	AGENT_ONCE,
	AGENT_CHECK, /* check-config: what run needs, nothing started */
};

struct agent;
struct agent_orphan;
struct task_group;

/*
 * run: whether a task's target fails, so that a change is logged once
 * (it starts failing, fails in another way, recovers), not each result.
 * An HTTP run reports a result per address: the run fails with the
 * first failure among them.
 */
struct task_health {
	enum cw_failure state;          /* how its last run ended */
	cw_usec_t since;                /* real time it began failing */
	unsigned long long failed_runs; /* since then */
	enum cw_failure run;            /* the run in progress, so far */
	char run_detail[160];           /* its failure_detail */
};

/*
 * One task of a measurement, as its kind laid it out (struct
 * probe_task: DNS, one address and transport, or one TLD without
 * servers; HTTP, one address family, or one pinned address).
 */
struct task {
	struct agent *agent;
	const struct measurement *m; /* in the task's config */
	struct probe_task pt;        /* pt.tld: m->tlds[i], or NULL */
	char label[AGENT_LABEL_MAX]; /* for log messages */
	struct probe_run *run;       /* the run in flight */
	struct task_group *group;    /* NULL unless the kind is serial
				      * and the task has an address */
	bool queued;                 /* waiting for its group */
	struct task *next_queued;
	struct schedule_timer *timer; /* run only */
	uint64_t skipped;             /* cycles skipped: still in flight */
	json_t *results;              /* once: kept for the table */
	bool settled;                 /* once: its last result is in */
	struct task_health health;    /* run: logged as it changes */
};

/*
 * The tasks of one measurement that query one server address (UDP and
 * TCP, one per TLD the server serves): one query of them at a time, so
 * a measurement never has two queries in flight to the same address.
 * A task whose turn comes while another runs waits in the queue.
 */
struct task_group {
	struct task *running;
	struct task *head, *tail; /* queued, in order */
	size_t size;              /* tasks in the group */
};

/* The context of a kind's runs (probe_kind.context_new), made when a
 * configuration first has a measurement of the kind. */
struct agent_kind {
	const struct probe_kind *kind;
	void *ctx;
};
#define AGENT_KINDS_MAX 16

/* The tasks of one configuration. */
struct agent_tasks {
	struct task *v;
	size_t n;
	struct task_group *groups;
	size_t ngroups;
	size_t max_group;                 /* the largest group's size */
	struct agent *agent;              /* while being built: */
	const struct measurement *adding; /* whose tasks come */
};

/*
 * agent_clock: where the agent takes its time and its cycle timers
 * from; agent_clock_system (the real clocks, schedule.h's timers)
 * unless a test sets another before the tasks are scheduled.
 */
struct agent_clock {
	cw_usec_t (*real)(void);     /* UTC: results, health */
	cw_usec_t (*schedule)(void); /* the schedule clock: cycle 0 */
	struct schedule_timer *(*timer_new)(struct event_base *base,
	    cw_usec_t t0, cw_usec_t interval, cw_usec_t spread,
	    const char *name, schedule_fire_fn fn, void *arg);
	void (*timer_free)(struct schedule_timer *t);
};

extern const struct agent_clock agent_clock_system;

struct agent {
	enum agent_mode mode;
	const struct agent_clock *time; /* agent_clock_system by default */
	const char *conf_path;
	bool verbose;
	struct event_base *base;
	struct config *conf;
	struct output *out;             /* NULL: results are not written */
	struct spool *spool;            /* run: NULL when none configured */
	struct key key;                 /* run with a spool: the probe's */
	struct heartbeat_upload upload; /* kept up to date by the uploader */
	struct upload *uploader;        /* run: NULL without upload */
	struct heartbeat_clock clock;
	struct heartbeat_config declared; /* what heartbeats declare */
	struct event *heartbeat_ev, *clock_ev;
	unsigned long long spool_errors; /* results not spooled */
	struct agent_tasks tasks;
	struct agent_kind kinds[AGENT_KINDS_MAX]; /* kinds seen so far */
	size_t nkinds;
	struct tld_discovery *tld;    /* NULL: no measurement has tlds */
	struct agent_orphan *orphans; /* queries of tasks rebuilt away */
	struct event *sig_term, *sig_int, *sig_hup, *deadline;

	size_t pending;   /* once: runs not reported yet */
	size_t settled;   /* once: tasks that reported */
	bool tld_waiting; /* once: waiting for TLD discovery */
	unsigned long long results, failures, skipped, write_errors;
	bool interrupted;
	bool stopping; /* run: draining after SIGTERM/INT */
	bool flushing; /* run: the uploader's last sending */
};

/* agent_init: load `conf_path` and set up what `mode` needs, logging
 * the problems; -1 on failure.  Either way the caller frees `a` with
 * agent_free(). */
int agent_init(struct agent *a, enum agent_mode mode, const char *conf_path,
    bool verbose);

/* agent_free: stop and free everything `a` holds (not a itself). */
void agent_free(struct agent *a);

/* agent_signals: TERM and INT call stop; HUP calls hup (NULL: none).
 * 0, or -1 (logged). */
int agent_signals(struct agent *a, event_callback_fn stop,
    event_callback_fn hup);

/* agent_tasks_build: the tasks of `conf` into *ts.  0, or -1 (logged;
 * *ts empty). */
int agent_tasks_build(struct agent *a, const struct config *conf,
    struct agent_tasks *ts);

/* agent_tasks_schedule: a cycle timer for every task of ts, cycle 0
 * starting now.  0, or -1 (logged). */
int agent_tasks_schedule(struct agent *a, struct agent_tasks *ts);

/* agent_tasks_free: cancel the runs of ts and free its tasks. */
void agent_tasks_free(struct agent_tasks *ts);

/* agent_task_start: one run of task t, now or, while another run of
 * its group is in flight, as soon as that one is done. */
void agent_task_start(struct task *t);

/* agent_result_failure: a result for task t that never got a run on
 * the wire (no servers known, out of memory, no answer in time). */
void agent_result_failure(struct task *t, enum cw_failure failure,
    const char *detail, ...) __attribute__((format(printf, 3, 4)));

/* agent_spool_start: with a spool configured, the probe's key, the
 * spool, the uploader, the clock check and the heartbeat.  0, or -1
 * (logged). */
int agent_spool_start(struct agent *a);

/* agent_tld_records: run: a "tld_servers" record (tld.h) for every
 * TLD set that a->tld holds and `old` (the discovery before a reload;
 * NULL at the start: every set, those loaded from the cache) did not
 * hold the same; a set learned later is recorded as it comes. */
void agent_tld_records(struct agent *a, const struct tld_discovery *old);

/* agent_run_stop, agent_run_reload: run's SIGTERM/SIGINT and SIGHUP
 * (event callbacks; arg is the agent). */
void agent_run_stop(evutil_socket_t sig, short what, void *arg);
void agent_run_reload(evutil_socket_t sig, short what, void *arg);

/* agent_check: what `run` would refuse in loaded configuration `conf`
 * before measuring (cmd_check.c): an output it cannot open, a spool
 * without a usable key or whose directory cannot be made.  Looks only;
 * every problem is logged at error level; returns 0 or -1. */
int agent_check(const struct config *conf);

/* agent_default_config: -c when not given (--with-default-config). */
const char *agent_default_config(void);

#endif
