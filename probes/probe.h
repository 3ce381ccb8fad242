/*
 * probe.h -- the interface every measurement kind implements.
 *
 * A measurement kind (dns, http) is one struct probe_kind: its section
 * of corewatch.conf (the option table and the function that builds and
 * checks a section), the rules of its spec, and what the agent asks of
 * it: how a measurement is laid out as tasks, how a task is named,
 * started, cancelled and shown.  The agent, the configuration and the
 * ad-hoc commands go through these operations only, so that a new kind
 * is a probes/ pair (KIND.[ch] + conf_KIND.c) and one line in
 * probes/probes.c, the only place that names the kinds.
 *
 * The kind's own spec (struct dns_measurement, struct http_measurement)
 * hangs off struct measurement (src/agent/conf.h) as `spec`; only the
 * kind reads it.
 */
#ifndef CW_PROBE_H
#define CW_PROBE_H

#include <stdbool.h>
#include <stddef.h>

#include <event2/event.h>
#include <jansson.h>

#include "cwtime.h"
#include "target.h"

struct cfg_opt_t;   /* libconfuse's cfg_opt_t */
struct conf_sec;    /* src/lib/confload.h */
struct measurement; /* src/agent/conf.h */
struct probe_run;   /* a run of some kind, the kind's own type */

/*
 * probe_task: one unit the agent schedules, as the kind lays it out:
 * DNS, one (measurement, address, transport) or one TLD without servers;
 * HTTP, one (measurement, address family), pinned to an address or
 * resolved each cycle.
 */
struct probe_task {
	const char *tld; /* the TLD whose server this is, or NULL */
	bool has_target; /* false: no address yet (a TLD without
			  * servers, a host resolved each run) */
	struct target target;
	int proto; /* the kind's transport, or 0 */
	int af;    /* 4 or 6 */
};

/* probe_env: what the runs of every kind on one event loop share. */
struct probe_env {
	struct event_base *base;
	const char *resolv_conf; /* NULL: /etc/resolv.conf */
	const char *hosts_file;  /* NULL: /etc/hosts */
};

/* probe_done_fn: called from the event loop (never from inside start)
 * with a new result the callee owns; `last` for the run's last one,
 * after which the kind frees the run.  Do not cancel a run from inside
 * its done(). */
typedef void (*probe_done_fn)(json_t *result, bool last, void *arg);

/* probe_task_add_fn: the agent takes task `t` (copied); 0, or -1 when
 * it cannot (logged): laying out stops there. */
typedef int (*probe_task_add_fn)(void *arg, const struct probe_task *t);

/* probe_tld_servers_fn: the server addresses of `tld` known now (NULL
 * and 0 while none are); they belong to the agent. */
typedef void (*probe_tld_servers_fn)(void *arg, const char *tld,
    const struct target **targets, size_t *n);

/* probe_cells: the cells of a row of `corewatch once`'s table that the
 * kind fills; NULL prints empty. */
struct probe_cells {
	const char *server, *address, *via;
	char answer[256];      /* "": none */
	const char *ms_field;  /* the result's time, in ms */
	const char *server_id; /* what the server says it is (the
				* NSID column) */
	const char *note;      /* an ok result's finding: RESULT says
				* "ok, NOTE", and the table's last
				* line counts it (once_note_total) */
	char buf[2][64];       /* for the kind's own text */
};

struct probe_kind {
	const char *name;     /* "dns": section, result "kind" */
	const char *run_name; /* "query": in messages */

	/* --- The configuration (src/agent/conf.c) --- */

	/* conf_opts: the section's option table (libconfuse). */
	struct cfg_opt_t *conf_opts;
	/* conf_build: the kind's spec of section `s` into m->spec (the
	 * measurement's name, place, kind already set), reporting every
	 * problem with conf_sec_error().  -1 only when out of memory
	 * (noted in the loader); a problem reported is what fails it. */
	int (*conf_build)(struct conf_sec *s, struct measurement *m);
	/* spec_free: free a spec conf_build made; NULL is fine. */
	void (*spec_free)(void *spec);
	/* spec_check: the kind's spec rules, 0..spec_rules-1: 0 when
	 * `spec` (the probe's struct dns_spec, struct http_spec) keeps
	 * `rule`, else -1 with why in err.  The configuration and the
	 * ad-hoc command both ask, so the two cannot disagree. */
	int (*spec_check)(const void *spec, int rule, char *err, size_t errlen);
	int spec_rules;
	/* queries: the runs of one cycle (config_measurement_queries). */
	size_t (*queries)(const struct measurement *m);
	/* summary: check-config's line for m, into buf. */
	void (*summary)(const struct measurement *m, char *buf, size_t len);
	/* describe: add to `o` how m measures, as the heartbeat declares
	 * it (doc/results.md, "config"): at least "timeout_ms", and the
	 * spec's other values as plain JSON (integers, strings, booleans,
	 * arrays; no reals, so that the declaration's hash is stable).
	 * Never a secret: a header's value, a proxy's address or
	 * password, a local file's path.  0, or -1 when out of memory. */
	int (*describe)(const struct measurement *m, json_t *o);

	/* --- The agent (src/agent/agent.c) --- */

	/* context_new: what the kind's runs on env->base share, made when a
	 * configuration first has a measurement of the kind; NULL on
	 * failure (logged).  A kind without one (NULL op) gets the event
	 * base as its context.  context_free: NULL is fine. */
	void *(*context_new)(const struct probe_env *env);
	void (*context_free)(void *ctx);
	/* tasks: lay out measurement m as tasks, calling add for each;
	 * servers says what a TLD's servers are.  0, or -1 (logged). */
	int (*tasks)(const struct measurement *m, probe_task_add_fn add,
	    probe_tld_servers_fn servers, void *arg);
	/* serial: the tasks of one measurement to one address take turns
	 * (one run in flight to an address at a time). */
	bool serial;
	/* run_max: the longest a run of m may take. */
	cw_usec_t (*run_max)(const struct measurement *m);
	/* label: how task t of m is named in messages, into buf. */
	void (*label)(const struct measurement *m, const struct probe_task *t,
	    char *buf, size_t len);
	/* same: whether tasks o and n of measurements of one name measure
	 * the same thing the same way (a run of o may stand for n). */
	bool (*same)(const struct probe_task *o, const struct probe_task *n);
	/* failure_fields: what a result of task t that never ran says
	 * about it (server, address, transport ...). */
	void (*failure_fields)(json_t *r, const struct measurement *m,
	    const struct probe_task *t);
	/* start: run task t of m once with `ctx` (see context_new);
	 * results through done().  NULL when nothing could be started (out
	 * of memory; logged); network failures are results. */
	struct probe_run *(*start)(void *ctx, const struct measurement *m,
	    const struct probe_task *t, probe_done_fn done, void *arg);
	/* cancel: stop a run without calling done() again; frees it. */
	void (*cancel)(struct probe_run *run);
	/* redirect: report to done(..., arg) instead from now on. */
	void (*redirect)(struct probe_run *run, probe_done_fn done, void *arg);
	/* once_cells: the table cells of result r (NULL: none came) of
	 * task t. */
	void (*once_cells)(const struct measurement *m,
	    const struct probe_task *t, const json_t *r, struct probe_cells *c);
	/* once_note_total: what the table's last line says of the ok
	 * results with a note, after their number ("(N WORDS)"); NULL
	 * for a kind that notes nothing. */
	const char *once_note_total;
};

/* probe_kinds: every kind, NULL-terminated (probes/probes.c). */
extern const struct probe_kind *const probe_kinds[];

/* The timeout of a run, whatever the kind: a spec rule of each. */
#define PROBE_TIMEOUT_MIN CW_USEC_PER_MSEC
#define PROBE_TIMEOUT_MAX (3600 * CW_USEC_PER_SEC)

/* probe_timeout_check: the rule of a kind's timeout, for its spec check:
 * 0 when `timeout` is from PROBE_TIMEOUT_MIN to PROBE_TIMEOUT_MAX, else
 * -1 with why in err ("must be above 0", "must be from 1ms to 1h"). */
int probe_timeout_check(cw_usec_t timeout, char *err, size_t errlen);

#endif
