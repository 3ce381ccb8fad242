/*
 * cmd_verify.c -- `corewatch verify`: an evidence bundle checked offline
 * (doc/evidence.md, "What `corewatch verify` checks").
 *
 *   corewatch verify [--vkey KEY|FILE] [--checkpoint FILE]... [--json]
 *       FILE.tar|DIR
 *
 * The checks are src/lib/bundle_verify.c's; this is the command line.
 * Exit status: 0 every check holds, 1 one fails, 2 the bundle cannot be
 * read or the command line is wrong.  CW_VERIFY_TIMING=1 in the
 * environment prints each phase's time on stderr.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bundle_verify.h"
#include "cli.h"
#include "cliutil.h"
#include "cmd.h"
#include "note.h"

#define VERIFY_MAX_CHECKPOINTS 64

static void
verify_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch verify [--vkey KEY] [--checkpoint FILE]... "
	    "[--json] FILE.tar|DIR\n"
	    "  --vkey KEY          the collector's verifier key as published, "
	    "or a file\n"
	    "                      holding it (without it, the bundle's own "
	    "is used)\n"
	    "  --checkpoint FILE   a checkpoint saved earlier (a witness's "
	    "latest), to\n"
	    "                      compare with the bundle's; may be repeated\n"
	    "  --json              one JSON object instead of lines\n");
}

int
cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "vkey", required_argument, NULL, 'k' },
		{ "checkpoint", required_argument, NULL, 'c' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char *cps[VERIFY_MAX_CHECKPOINTS];
	struct bundle_verify_opts o;
	struct note_key key;
	const char *vkey = NULL;
	const char *timing = getenv("CW_VERIFY_TIMING");
	int ch;

	memset(&o, 0, sizeof(o));
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'k':
			vkey = optarg;
			break;
		case 'c':
			if (o.ncheckpoints == VERIFY_MAX_CHECKPOINTS) {
				fprintf(stderr,
				    "corewatch verify: at most %d --checkpoint\n",
				    VERIFY_MAX_CHECKPOINTS);
				return CW_EXIT_USAGE;
			}
			cps[o.ncheckpoints++] = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'h':
			verify_usage(stdout);
			return CW_EXIT_OK;
		default:
			verify_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc - 1) {
		verify_usage(stderr);
		return CW_EXIT_USAGE;
	}
	if (vkey != NULL) {
		if (cli_vkey("verify", vkey, &key) == -1)
			return CW_EXIT_USAGE;
		o.vkey = &key;
	}
	for (size_t i = 0; i < o.ncheckpoints; i++) {
		/* A file that cannot be read is a wrong command line. */
		if (access(cps[i], R_OK) != 0) {
			fprintf(stderr,
			    "corewatch verify: --checkpoint %s: %s\n", cps[i],
			    strerror(errno));
			return CW_EXIT_USAGE;
		}
	}
	o.checkpoints = cps;
	o.timing = timing != NULL && strcmp(timing, "1") == 0;
	o.out = stdout;
	o.err = stderr;
	return bundle_verify(argv[optind], &o);
}
