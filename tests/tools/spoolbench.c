/*
 * spoolbench.c -- the spool's load for contrib/bench/spool-bench.sh:
 *
 *   spoolbench append DIR PROBE N
 *	append N DNS-like results (about 450 bytes a record) to the spool
 *	in DIR (of probe id PROBE) with the default sync policy: the
 *	spool's own timer fsyncs every second, on a libevent loop that
 *	runs between appends as the agent's does.  Prints one JSON line:
 *	records, seconds, appends per second, syncs, bytes.
 *
 * With N of 1,000,000 it also fills a spool for the RSS figure.  The
 * spool's size cap is set to 4 GiB, its free-space floor to 1 byte.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "result.h"
#include "spool.h"

/* spoolbench_result: a result shaped like a DNS measurement's. */
static json_t *
spoolbench_result(uint64_t i)
{
	json_t *r = result_new("dns", "root-soa", cw_real_usec());

	result_set_ok(r);
	result_set_str(r, "server", "a.root-servers.net");
	result_set_str(r, "addr", "198.41.0.4");
	result_set_int(r, "port", 53);
	result_set_int(r, "af", 4);
	result_set_str(r, "proto", "udp");
	result_set_ms(r, "rtt_ms", 12345 + (cw_usec_t)(i % 1000));
	result_set_str(r, "rcode", "NOERROR");
	result_set_int(r, "soa_serial", 2026112600);
	result_set_str(r, "nsid", "aa.us-mia.root");
	result_set_str(r, "abuf",
	    "q1+EAAABAAEAAAABAAAGAAEAAAYAAQABUYAAQAFh"
	    "DHJvb3Qtc2VydmVycwNuZXQABW5zdGxkDHZlcmlzaWduLWdycwNjb20AeLoBtAAA"
	    "BwgAAAOEAAk6gAABUYAAACkE0AAAgAAAEgADAA5hYS51cy1taWEucm9vdA==");
	return r;
}

static int
spoolbench_append(const char *dir, const char *probe, uint64_t n)
{
	struct spool_config cfg;
	struct spool_status st;
	struct event_base *base;
	struct spool *sp;
	cw_usec_t t0, t1, last_sync = 0;
	uint64_t syncs = 0;

	memset(&cfg, 0, sizeof(cfg));
	cfg.dir = dir;
	cfg.probe = probe;
	cfg.max_bytes = UINT64_C(4) << 30;
	cfg.min_free_bytes = 1;
	if ((base = event_base_new()) == NULL ||
	    (sp = spool_open(&cfg, base)) == NULL)
		return 1;
	t0 = cw_mono_usec();
	for (uint64_t i = 0; i < n; i++) {
		json_t *r = spoolbench_result(i);
		if (spool_append(sp, r) == 0) {
			json_decref(r);
			spool_close(sp);
			return 1;
		}
		json_decref(r);
		/* The loop's turn, as between the agent's results. */
		if (i % 64 == 0) {
			event_base_loop(base, EVLOOP_NONBLOCK);
			spool_get_status(sp, &st);
			if (st.last_sync != last_sync) {
				last_sync = st.last_sync;
				syncs++;
			}
		}
	}
	t1 = cw_mono_usec();
	spool_get_status(sp, &st);
	spool_close(sp);
	event_base_free(base);
	printf("{\"records\":%" PRIu64 ",\"seconds\":%.3f,\"appends_per_s\":"
	       "%.0f,\"syncs\":%" PRIu64 ",\"bytes\":%" PRIu64 "}\n",
	    n, (double)(t1 - t0) / 1e6, (double)n * 1e6 / (double)(t1 - t0),
	    syncs, st.bytes);
	return 0;
}

int
main(int argc, char **argv)
{
	log_init("spoolbench", LOG_LEVEL_WARNING);
	if (sodium_init() < 0)
		return 1;
	if (argc == 5 && strcmp(argv[1], "append") == 0)
		return spoolbench_append(argv[2], argv[3],
		    strtoull(argv[4], NULL, 10));
	fprintf(stderr, "usage: spoolbench append DIR PROBE N\n");
	return 2;
}
