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
 * heartbeat_config: the measurement configuration the heartbeat
 * declares (doc/results.md, "config"), so that a study can state its
 * methodology from the collector's data alone.  `measurements` holds
 * one description per measurement of the effective configuration,
 * sorted by name: what every kind has (name, kind, interval, spread,
 * targets, TLDs) and what the kind adds (probe_kind.describe, the
 * timeout among it).  `hash` is the SHA-256 of that array written as
 * canonical JSON (compact, keys sorted, ASCII only), so a comment, the
 * order of options or of sections does not change it, and anyone can
 * recompute it from a full declaration.
 *
 * The rule that keeps heartbeats small: the full declaration goes into
 * the first heartbeat after the start, the first after each reload, and
 * again once the last one is HEARTBEAT_DECLARE_EVERY old (a collector
 * that missed it learns it); every other heartbeat carries the hash.
 * A declaration holds at most HEARTBEAT_CONFIG_MAX bytes of
 * descriptions: those that do not fit are counted as "omitted".
 */
#define HEARTBEAT_CONFIG_MAX    (32 * 1024)
#define HEARTBEAT_DECLARE_EVERY (86400 * CW_USEC_PER_SEC)
#define HEARTBEAT_HASH_HEX      64

struct heartbeat_config {
	json_t *measurements;              /* NULL: none set */
	char hash[HEARTBEAT_HASH_HEX + 1]; /* lower-case hex */
	cw_usec_t declared;                /* real time of the last
					     * declaration; 0: due */
};

/* heartbeat_config_set: describe `conf`'s measurements into hc and
 * hash them; the next heartbeat declares them.  0, or -1 when out of
 * memory (logged; hc as it was). */
int heartbeat_config_set(struct heartbeat_config *hc,
    const struct config *conf);

/* heartbeat_config_due: whether a heartbeat at real time `now`
 * declares the configuration in full (the rule above). */
bool heartbeat_config_due(const struct heartbeat_config *hc, cw_usec_t now);

/* heartbeat_config_clear: free what hc holds; it is then unset. */
void heartbeat_config_clear(struct heartbeat_config *hc);

/* heartbeat_config_json: the heartbeat's "config" member: {"hash",
 * "count": measurements} and, when `declare`, "measurements" (the
 * descriptions that fit) and "omitted" (how many did not).  Caller
 * owns it; NULL when out of memory. */
json_t *heartbeat_config_json(const struct heartbeat_config *hc, bool declare);

/*
 * heartbeat_build: the heartbeat result (no envelope: spool_append adds
 * it) for real time `now`: `interval` (the heartbeat's), the spool's
 * status (NULL: no spool), the uploader's state (NULL or not enabled:
 * "upload": null), the clock, the declared identity (keys left out
 * when unset) and the configuration (heartbeat_config_json; NULL: no
 * "config"; the caller keeps its reference).  Caller owns the
 * reference; NULL when out of memory.
 */
json_t *heartbeat_build(cw_usec_t now, cw_usec_t interval,
    const struct spool_status *spool, const struct heartbeat_upload *up,
    const struct heartbeat_clock *clock, const struct config_identity *id,
    json_t *config);

#endif
