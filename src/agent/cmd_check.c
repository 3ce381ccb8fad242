/*
 * cmd_check.c -- `corewatch check-config`, and what run needs beyond a
 * well-formed file (agent_check, which run asks too): an output it can
 * open, a spool with a usable key and a directory it can make.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "agent.h"
#include "cmd.h"
#include "cliutil.h"
#include "conf.h"
#include "key.h"
#include "log.h"

/* agent_check_dir: `dir` (option `what` needs it) is a directory this
 * user may create files in.  Returns 0, or -1 (logged). */
static int
agent_check_dir(const char *what, const char *path, const char *dir)
{
	struct stat st;

	if (stat(dir, &st) == -1) {
		log_errx("%s %s: directory %s: %s", what, path, dir,
		    strerror(errno));
		return -1;
	}
	if (!S_ISDIR(st.st_mode)) {
		log_errx("%s %s: %s is not a directory", what, path, dir);
		return -1;
	}
	if (access(dir, W_OK | X_OK) == -1) {
		log_errx("%s %s: directory %s: %s", what, path, dir,
		    strerror(errno));
		return -1;
	}
	return 0;
}

/* agent_check_output: the output file can be opened for appending as
 * output_open() will: it exists and may be written, or its directory
 * (never created for it) lets it be made.  Returns 0, or -1 (logged). */
static int
agent_check_output(const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if (strcmp(path, "-") == 0)
		return 0;
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			log_errx("output %s: is a directory", path);
			return -1;
		}
		if (access(path, W_OK) == -1) {
			log_errx("output %s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	if (errno != ENOENT ||
	    (size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		log_errx("output %s: %s", path,
		    strerror(errno != ENOENT ? errno : ENAMETOOLONG));
		return -1;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	return agent_check_dir("output", path, dir);
}

/* agent_check_creatable: directory `path` exists, or the nearest of its
 * parents that does lets sysutil_mkdirs() make it.  Returns 0, or -1
 * (logged; `what` names the option). */
static int
agent_check_creatable(const char *what, const char *path)
{
	char dir[PATH_MAX], *slash;
	struct stat st;

	if ((size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		log_errx("%s %s: %s", what, path, strerror(ENAMETOOLONG));
		return -1;
	}
	while (stat(dir, &st) == -1 && (errno == ENOENT || errno == ENOTDIR) &&
	    (slash = strrchr(dir, '/')) != NULL && slash != dir)
		*slash = '\0';
	return agent_check_dir(what, path, dir);
}

/* agent_check_key: the probe's key, which a spool needs, can be loaded
 * (key_load() says what is wrong with it).  Returns 0 or -1 (logged). */
static int
agent_check_key(const struct config *conf)
{
	struct key k;

	if (key_load(conf->key_path, &key_probe, &k) == -1) {
		log_errx(
		    "spool: the probe's key %s cannot be used "
		    "(corewatch keygen makes one; key = \"FILE\" says where "
		    "it is)",
		    conf->key_path);
		return -1;
	}
	key_clear(&k);
	return 0;
}

/* agent_check: creates, locks and sends nothing, so that check-config
 * goes the way run does. */
int
agent_check(const struct config *conf)
{
	int rc = 0;

	if (agent_check_output(conf->output_path) == -1)
		rc = -1;
	if (conf->spool.enabled &&
	    (agent_check_key(conf) == -1 ||
	        agent_check_creatable("spool", conf->spool.dir) == -1))
		rc = -1;
	return rc;
}

static void
agent_check_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch check-config [-q] [-c FILE | FILE]\n"
	    "\n"
	    "Check a configuration as run does before it measures, without measuring\n"
	    "or sending anything: the file itself (every problem as FILE:LINE:\n"
	    "message), then what run would refuse (an output it cannot open, a spool\n"
	    "without a usable key or directory, unreadable resolver files).  Prints\n"
	    "FILE: OK and one line per measurement when all is well.\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -q, --quiet         print nothing when it is valid\n"
	    "  -h, --help          this text\n"
	    "\n"
	    "Exit status: 0 valid, 2 invalid or unreadable.\n",
	    agent_default_config());
}

static const struct option agent_check_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
cmd_check_config(int argc, char **argv)
{
	const char *path = agent_default_config();
	struct agent a;
	char line[512];
	bool quiet = false;
	int ch;

	while ((ch = getopt_long(argc, argv, "c:qh", agent_check_options,
	            NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'q':
			quiet = true;
			break;
		case 'h':
			agent_check_usage(stdout);
			return CW_EXIT_OK;
		default:
			agent_check_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind + 1 == argc)
		path = argv[optind];
	else if (optind != argc)
		return cli_unexpected("check-config", argv[optind + 1]);
	/* The way run goes, up to where it would start measuring. */
	if (agent_init(&a, AGENT_CHECK, path, false) == -1) {
		agent_free(&a);
		return CW_EXIT_USAGE;
	}
	if (!quiet) {
		printf("%s: OK\n", path);
		for (size_t i = 0; i < a.conf->nmeasurements; i++) {
			config_measurement_summary(&a.conf->measurements[i],
			    line, sizeof(line));
			printf("  %s\n", line);
		}
	}
	agent_free(&a);
	return CW_EXIT_OK;
}
