/*
 * uploadrun.c -- the uploader alone, for tests and the benchmark: open
 * a spool with a probe's key, append records (all at once, or paced as
 * a probe measuring would), and run the uploader on one event loop
 * until everything appended is acknowledged.
 *
 *   uploadrun --spool DIR --key FILE [--append N] [--pad BYTES]
 *       [--rate N] [--url URL]... [--proxy URL] [--batch-records N]
 *       [--batch-bytes N] [--batch-age D] [--backoff-max D]
 *       [--failback D] [--timeout D] [--dead-letter FILE]
 *       [--receipts FILE [--receipts-max BYTES]]
 *
 * --receipts keeps the collector's signed receipts in FILE, bounded by
 * --receipts-max (default 4 MiB), as `corewatch run` keeps them in its
 * spool directory.  Without --url it only appends (the probe offline).  --rate N appends
 * N records per second while uploading instead of all at the start.
 * The uploader's status (upload_status_json) is printed on stdout at
 * the end, with "drained": whether the spool's queue is empty and
 * "seconds": the time from the start to the end.  Exit status 0 when
 * drained (or, without --url, when every record was appended), 1 when
 * --timeout (default 600s) passed first, 2 for a usage error.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>
#include <sodium.h>

#include "cwtime.h"
#include "key.h"
#include "log.h"
#include "receipts.h"
#include "result.h"
#include "spool.h"
#include "sysutil.h"
#include "upload.h"

#define RUN_TICK (20 * CW_USEC_PER_MSEC)

struct run {
	struct event_base *base;
	struct spool *sp;
	struct upload *up;
	struct event *tick;
	unsigned long total, appended;
	unsigned long rate; /* per second; 0: all at once */
	size_t pad;
	char *padding;
	cw_usec_t started, deadline;
	bool drained, failed;
};

static void
usage(void)
{
	fprintf(stderr,
	    "usage: uploadrun --spool DIR --key FILE [--append N] "
	    "[--pad BYTES] [--rate N]\n    [--url URL]... [--proxy URL] "
	    "[--batch-records N] [--batch-bytes N]\n    [--batch-age D] "
	    "[--backoff-max D] [--failback D] [--timeout D]\n"
	    "    [--dead-letter FILE] [--receipts FILE [--receipts-max BYTES]]\n");
	exit(2);
}

/* run_append: records up to `upto` of the total. */
static void
run_append(struct run *r, unsigned long upto)
{
	json_t *res;

	for (; r->appended < upto && r->appended < r->total; r->appended++) {
		res = result_new("test", "uploadrun", cw_real_usec());
		if (res == NULL)
			exit(1);
		result_set_ok(res);
		result_set_int(res, "n", (long long)r->appended + 1);
		if (r->pad > 0)
			result_set_str(res, "pad", r->padding);
		if (spool_append(r->sp, res) == 0)
			r->failed = true;
		json_decref(res);
	}
	upload_kick(r->up);
}

static void
run_tick(evutil_socket_t fd, short what, void *arg)
{
	struct run *r = arg;
	cw_usec_t now = cw_mono_usec();
	unsigned long due;

	(void)fd;
	(void)what;
	if (r->rate > 0) {
		due = (unsigned long)((now - r->started) * (cw_usec_t)r->rate /
		    CW_USEC_PER_SEC);
		run_append(r, due);
	}
	if (r->appended == r->total && (r->up == NULL || upload_idle(r->up))) {
		r->drained = true;
		event_base_loopbreak(r->base);
	} else if (now > r->deadline)
		event_base_loopbreak(r->base);
}

static long
number(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || v < 0)
		usage();
	return v;
}

static cw_usec_t
duration(const char *s)
{
	cw_usec_t v;

	if (cw_duration_parse(s, &v) == -1)
		usage();
	return v;
}

static const struct option options[] = {
	{ "spool", required_argument, NULL, 's' },
	{ "key", required_argument, NULL, 'k' },
	{ "append", required_argument, NULL, 'n' },
	{ "pad", required_argument, NULL, 'p' },
	{ "rate", required_argument, NULL, 'r' },
	{ "url", required_argument, NULL, 'u' },
	{ "proxy", required_argument, NULL, 'x' },
	{ "batch-records", required_argument, NULL, 'R' },
	{ "batch-bytes", required_argument, NULL, 'B' },
	{ "batch-age", required_argument, NULL, 'A' },
	{ "backoff-max", required_argument, NULL, 'M' },
	{ "failback", required_argument, NULL, 'F' },
	{ "timeout", required_argument, NULL, 'T' },
	{ "dead-letter", required_argument, NULL, 'D' },
	{ "receipts", required_argument, NULL, 'E' },
	{ "receipts-max", required_argument, NULL, 'X' },
	{ NULL, 0, NULL, 0 },
};

int
main(int argc, char **argv)
{
	const char *urls[UPLOAD_URLS_MAX], *dir = NULL, *keyfile = NULL;
	struct upload_config uc;
	struct spool_config sc;
	struct key k;
	struct run r;
	struct timeval tv;
	cw_usec_t timeout = 600 * CW_USEC_PER_SEC;
	json_t *st;
	char *line, dead[4096];
	int ch;

	log_init("uploadrun",
	    getenv("UPLOADRUN_DEBUG") != NULL ? LOG_LEVEL_DEBUG :
	                                        LOG_LEVEL_INFO);
	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	memset(&r, 0, sizeof(r));
	memset(&uc, 0, sizeof(uc));
	uc.urls = urls;
	dead[0] = '\0';
	while ((ch = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (ch) {
		case 's':
			dir = optarg;
			break;
		case 'k':
			keyfile = optarg;
			break;
		case 'n':
			r.total = (unsigned long)number(optarg);
			break;
		case 'p':
			r.pad = (size_t)number(optarg);
			break;
		case 'r':
			r.rate = (unsigned long)number(optarg);
			break;
		case 'u':
			if (uc.nurls == UPLOAD_URLS_MAX)
				usage();
			urls[uc.nurls++] = optarg;
			break;
		case 'x':
			uc.proxy = optarg;
			break;
		case 'R':
			uc.batch_records = (size_t)number(optarg);
			break;
		case 'B':
			uc.batch_bytes = (size_t)number(optarg);
			break;
		case 'A':
			uc.batch_age = duration(optarg);
			break;
		case 'M':
			uc.backoff_max = duration(optarg);
			break;
		case 'F':
			uc.failback = duration(optarg);
			break;
		case 'T':
			timeout = duration(optarg);
			break;
		case 'D':
			snprintf(dead, sizeof(dead), "%s", optarg);
			break;
		case 'E':
			uc.receipts = optarg;
			break;
		case 'X':
			uc.receipts_max = (uint64_t)number(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc || dir == NULL || keyfile == NULL)
		usage();
	if (key_load(keyfile, &key_probe, &k) == -1)
		return 1;
	if (uc.receipts != NULL && uc.receipts_max == 0)
		uc.receipts_max = RECEIPTS_MAX_DEFAULT;
	if (dead[0] == '\0')
		snprintf(dead, sizeof(dead), "%s/dead-letter.jsonl", dir);
	if ((r.padding = malloc(r.pad + 1)) == NULL)
		return 1;
	memset(r.padding, 'x', r.pad);
	r.padding[r.pad] = '\0';
	if ((r.base = sysutil_event_base()) == NULL)
		return 1;
	memset(&sc, 0, sizeof(sc));
	sc.dir = dir;
	sc.probe = k.id;
	sc.max_bytes = UINT64_C(4) << 30; /* room for a large backlog */
	sc.min_free_bytes = 1;
	if ((r.sp = spool_open(&sc, r.base)) == NULL)
		return 1;
	uc.probe = k.id;
	uc.sk = k.sk;
	uc.dead_letter = dead;
	if (uc.nurls > 0 && (r.up = upload_new(r.base, r.sp, &uc)) == NULL)
		return 1;
	r.started = cw_mono_usec();
	r.deadline = r.started + timeout;
	if (r.rate == 0)
		run_append(&r, r.total);
	r.tick = event_new(r.base, -1, EV_PERSIST, run_tick, &r);
	cw_usec_to_timeval(RUN_TICK, &tv);
	if (r.tick == NULL || event_add(r.tick, &tv) == -1)
		return 1;
	event_base_dispatch(r.base);
	st = r.up != NULL ? upload_status_json(r.up) : json_object();
	json_object_set_new(st, "drained", json_boolean(r.drained));
	json_object_set_new(st, "appended",
	    json_integer((json_int_t)r.appended));
	json_object_set_new(st, "seconds",
	    json_real((double)(cw_mono_usec() - r.started) / 1e6));
	if ((line = result_dump(st)) != NULL)
		printf("%s\n", line);
	free(line);
	json_decref(st);
	event_free(r.tick);
	upload_free(r.up);
	spool_close(r.sp);
	event_base_free(r.base);
	key_clear(&k);
	free(r.padding);
	return r.drained && !r.failed ? 0 : 1;
}
