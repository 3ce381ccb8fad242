/*
 * heartbeat.h -- the probe's `heartbeat` record (doc/spool.md): what
 * the spool holds, how uploads go, the state of the clock and what the
 * volunteer declares of the probe, so the collector can tell a probe
 * that is offline from one whose uploads are blocked.
 *
 * The agent owns one struct heartbeat_upload and hands it to the
 * uploader (src/agent/upload.c), which keeps it up to date; the agent builds
 * a heartbeat from it every `heartbeat` interval.
 */
#ifndef CW_HEARTBEAT_H
#define CW_HEARTBEAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "conf.h"
#include "cwtime.h"
#include "spool.h"

#define HEARTBEAT_PATHS_MAX     8
#define HEARTBEAT_PATH_NAME_MAX 64
#define HEARTBEAT_STEP          (100 * CW_USEC_PER_MSEC) /* a clock step */
#define HEARTBEAT_CLOCK_CHECK   (10 * CW_USEC_PER_SEC)   /* how often */

/* How uploads go: filled in by the uploader, read by heartbeat_build.
 * All times are real (UTC) times; 0 means never. */
struct heartbeat_upload {
	bool enabled;            /* an uploader runs (false: the
				  * heartbeat says "upload": null) */
	cw_usec_t failing_since; /* the first failed attempt since
				  * the last receipt; 0: not failing */
	cw_usec_t last_receipt;  /* the last receipt from a collector */
	uint64_t batches;        /* acknowledged by a receipt */
	uint64_t failures;       /* attempts that failed (network,
				  * 5xx, 429, a bad receipt) */
	uint64_t dead_letters;   /* batches set aside */
	size_t npaths;           /* paths[] in use */
	struct {
		char name[HEARTBEAT_PATH_NAME_MAX]; /* e.g. "1", "2",
						     * "1+proxy" */
		uint64_t batches;  /* acknowledged batches it carried */
		uint64_t failures; /* failed attempts on it */
	} paths[HEARTBEAT_PATHS_MAX];
};

/*
 * The clock state: the wall clock against CLOCK_BOOTTIME (which runs
 * on through a suspend and is never set).  Their difference only
 * drifts slowly while NTP slews; a jump of more than HEARTBEAT_STEP
 * between two checks is a step of the wall clock.
 */
struct heartbeat_clock {
	cw_usec_t ref;          /* real - boottime at the start */
	cw_usec_t offset;       /* (real - boottime) - ref, last check */
	uint64_t steps;         /* steps seen */
	cw_usec_t last_step;    /* the last one's size, signed */
	cw_usec_t last_step_at; /* real time it was seen; 0: none */
	cw_usec_t started;      /* boottime at the start */
};

/* heartbeat_clock_init: take the reference now. */
void heartbeat_clock_init(struct heartbeat_clock *c);

/* heartbeat_clock_check: compare the clocks now; returns true when a
 * step was seen since the last check (logged). */
bool heartbeat_clock_check(struct heartbeat_clock *c);

/*
 * heartbeat_build: the heartbeat result (no envelope: spool_append adds
 * it) for real time `now`: `interval` (the heartbeat's), the spool's
 * status (NULL: no spool), the uploader's state (NULL or not enabled:
 * "upload": null), the clock and the declared identity (keys left out
 * when unset).  Caller owns the reference; NULL when out of memory.
 */
json_t *heartbeat_build(cw_usec_t now, cw_usec_t interval,
    const struct spool_status *spool, const struct heartbeat_upload *up,
    const struct heartbeat_clock *clock, const struct config_identity *id);

#endif
