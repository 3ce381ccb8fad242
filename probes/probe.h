/*
 * probe.h -- the interface every measurement kind implements.
 *
 * A measurement kind (probes/dns.c, later probes/http.c) starts one
 * measurement of one target on the agent's event loop and reports one
 * result.  The agent's scheduler knows nothing else about the kind.
 */
#ifndef CW_PROBE_H
#define CW_PROBE_H

#include <event2/event.h>
#include <jansson.h>

#include "target.h"

struct probe_run;

/* probe_done_fn: called exactly once per started run, from the event
 * loop (never from inside start), with a new result the callee owns.
 * The run is freed by the kind right after the callback returns. */
typedef void (*probe_done_fn)(json_t *result, void *arg);

struct probe_kind {
	const char *name;	/* "dns" */

	/* start: measure `target` once as `spec` (the kind's own spec
	 * struct) says, over transport `proto` (kind-specific).  Returns the
	 * run, or NULL when it could not be started at all (out of memory;
	 * logged).  Network failures are reported through done(), never by
	 * a NULL return. */
	struct probe_run *(*start)(struct event_base *base, const void *spec,
	    const struct target *target, int proto, probe_done_fn done,
	    void *arg);

	/* cancel: stop a run that has not reported yet, without calling
	 * done(); frees it. */
	void (*cancel)(struct probe_run *run);
};

extern const struct probe_kind dns_probe_kind;

#endif
