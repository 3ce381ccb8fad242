/*
 * cmd_log.c -- the log key and the log from the command line
 * (cmd_log.h).
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "cmd_log.h"
#include "key.h"
#include "log.h"
#include "store.h"
#include "store_log.h"
#include "tlog.h"

enum { OPT_DB = 256, OPT_KEY, OPT_INDEX, OPT_SIZE, OPT_OLD, OPT_NEW };

static const struct option cmd_log_options[] = {
	{ "config", required_argument, NULL, 'c' },
	{ "db", required_argument, NULL, OPT_DB },
	{ "key", required_argument, NULL, OPT_KEY },
	{ "index", required_argument, NULL, OPT_INDEX },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "old", required_argument, NULL, OPT_OLD },
	{ "new", required_argument, NULL, OPT_NEW },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What one command was given. */
struct cmd_log_args {
	const char *cmd; /* "keygen", "log checkpoint", ... */
	const char *conf_path, *db, *key;
	const char *numbers[4]; /* --index, --size, --old, --new */
	struct cmd_log_conf conf;
};

static void
cmd_log_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector keygen [-c FILE] [--key FILE]\n"
	    "       corewatch-collector log checkpoint [-c FILE] [--db URL] "
	    "[--key FILE]\n"
	    "       corewatch-collector log key [-c FILE] [--key FILE]\n"
	    "       corewatch-collector log inclusion --index N --size M "
	    "[-c FILE] [--db URL]\n"
	    "       corewatch-collector log consistency --old M --new N "
	    "[-c FILE] [--db URL]\n"
	    "       corewatch-collector log backfill [-c FILE] [--db URL]\n"
	    "  -c, --config FILE  the database, log_key and log_origin of "
	    "this configuration\n"
	    "  --db URL           sqlite:PATH or postgresql://...\n"
	    "  --key FILE         the log key (default: log_key)\n");
}

static void
cmd_log_conf_clear(struct cmd_log_conf *c)
{
	free(c->db);
	free(c->key);
	free(c->origin);
	memset(c, 0, sizeof(*c));
}

/* Parse argv; the numbers `allowed` ("isON": index, size, old, new)
 * may be given.  Returns -1 to go on, or the exit status. */
static int
cmd_log_parse(int argc, char **argv, const char *allowed,
    struct cmd_log_args *a, cmd_log_conf_fn *conf_of)
{
	static const char letters[] = "isON";
	int ch;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", cmd_log_options, NULL)) !=
	    -1) {
		switch (ch) {
		case 'c':
			a->conf_path = optarg;
			break;
		case OPT_DB:
			a->db = optarg;
			break;
		case OPT_KEY:
			a->key = optarg;
			break;
		case OPT_INDEX:
		case OPT_SIZE:
		case OPT_OLD:
		case OPT_NEW:
			if (strchr(allowed, letters[ch - OPT_INDEX]) == NULL) {
				fprintf(stderr,
				    "corewatch-collector %s: --%s: not an "
				    "option of this command\n",
				    a->cmd,
				    cmd_log_options[ch - OPT_INDEX + 3].name);
				return CW_EXIT_USAGE;
			}
			a->numbers[ch - OPT_INDEX] = optarg;
			break;
		case 'h':
			cmd_log_usage(stdout);
			return CW_EXIT_OK;
		default:
			cmd_log_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc) {
		fprintf(stderr, "corewatch-collector %s: unexpected \"%s\"\n",
		    a->cmd, argv[optind]);
		return CW_EXIT_USAGE;
	}
	if (conf_of(a->cmd, a->conf_path, &a->conf) == -1)
		return CW_EXIT_USAGE;
	if ((a->db != NULL &&
	        (free(a->conf.db), a->conf.db = strdup(a->db)) == NULL) ||
	    (a->key != NULL &&
	        (free(a->conf.key), a->conf.key = strdup(a->key)) == NULL)) {
		fprintf(stderr, "corewatch-collector %s: out of memory\n",
		    a->cmd);
		return CW_EXIT_FAILURES;
	}
	return -1;
}

/* Print the verifier key of the log key `c` names. */
static int
cmd_log_print_vkey(const struct cmd_log_conf *c)
{
	struct tlog_signer s;
	char vkey[NOTE_NAME_MAX + 128];
	int rc = CW_EXIT_FAILURES;

	if (tlog_signer_load(&s, c->key, c->origin) == -1)
		return CW_EXIT_FAILURES;
	if (note_vkey_format(&s.nk, vkey, sizeof(vkey)) == 0 &&
	    printf("%s\n", vkey) > 0 && fflush(stdout) == 0)
		rc = CW_EXIT_OK;
	tlog_signer_clear(&s);
	return rc;
}

int
collector_cmd_keygen(int argc, char **argv, cmd_log_conf_fn *conf_of)
{
	struct cmd_log_args a = { .cmd = "keygen" };
	int rc;

	if ((rc = cmd_log_parse(argc, argv, "", &a, conf_of)) != -1)
		goto out;
	rc = key_generate(a.conf.key, &key_collector, NULL) == -1 ?
	    CW_EXIT_FAILURES :
	    cmd_log_print_vkey(&a.conf);
out:
	cmd_log_conf_clear(&a.conf);
	return rc;
}

/* The numbers of a proof command, checked. */
static int
cmd_log_numbers(struct cmd_log_args *a, int first, uint64_t *x, uint64_t *y)
{
	for (int i = first; i < first + 2; i++) {
		if (a->numbers[i] == NULL) {
			fprintf(stderr,
			    "corewatch-collector %s: --%s is needed\n", a->cmd,
			    cmd_log_options[i + 3].name);
			return -1;
		}
		if (tlog_parse_count(a->numbers[i], i == first ? x : y) == -1) {
			fprintf(stderr,
			    "corewatch-collector %s: --%s \"%s\": a number "
			    "from 0 to 2^63-1\n",
			    a->cmd, cmd_log_options[i + 3].name, a->numbers[i]);
			return -1;
		}
	}
	return 0;
}

/* Print `j` (or say why there is none: `rc`). */
static int
cmd_log_print_json(const char *cmd, struct store *st, json_t *j, int rc)
{
	if (j == NULL) {
		if (rc == STORE_E_INVALID)
			fprintf(stderr,
			    "corewatch-collector %s: out of the log's range\n",
			    cmd);
		else
			fprintf(stderr, "corewatch-collector %s: %s\n", cmd,
			    rc == STORE_E_DB ? store_error_text(st) :
			                       "out of memory");
		return rc == STORE_E_INVALID ? CW_EXIT_USAGE : CW_EXIT_FAILURES;
	}
	rc = json_dumpf(j, stdout, JSON_COMPACT) == 0 && putchar('\n') != EOF &&
	        fflush(stdout) == 0 ?
	    CW_EXIT_OK :
	    CW_EXIT_FAILURES;
	json_decref(j);
	return rc;
}

/* log backfill: every record in no leaf appended to the log, 10,000 to
 * a transaction, so that a long backfill can be stopped and taken up
 * again, and a collector serving meanwhile waits at most one of them. */
static int
cmd_log_backfill(const char *cmd, struct store *st)
{
	struct store_log_head head;
	long long after = 0;
	size_t done, total = 0;
	uint64_t first = 0;
	int rc;

	if ((rc = store_log_head(st, &head)) == STORE_OK)
		first = head.size;
	while (rc == STORE_OK &&
	    (rc = store_log_backfill(st, after, 10000, &done, &after)) ==
	        STORE_OK &&
	    done > 0)
		total += done;
	if (rc != STORE_OK) {
		fprintf(stderr,
		    "corewatch-collector %s: %s (%zu records "
		    "appended before)\n",
		    cmd, store_error_text(st), total);
		return CW_EXIT_FAILURES;
	}
	if (total == 0)
		printf("every record is in the log already\n");
	else
		printf("%zu records appended to the log, leaves %" PRIu64
		       " to %" PRIu64 "; make a checkpoint now (log "
		       "checkpoint)\n",
		    total, first, first + total - 1);
	return fflush(stdout) == 0 ? CW_EXIT_OK : CW_EXIT_FAILURES;
}

/* log checkpoint, log inclusion, log consistency, log backfill: they
 * read the database. */
static int
cmd_log_db(struct cmd_log_args *a, const char *what)
{
	struct tlog_signer s;
	struct store *st;
	char err[512], *note = NULL;
	uint64_t x = 0, y = 0, size;
	int rc = CW_EXIT_FAILURES;
	bool signer = false;

	if (strcmp(what, "inclusion") == 0 &&
	    cmd_log_numbers(a, 0, &x, &y) == -1)
		return CW_EXIT_USAGE;
	if (strcmp(what, "consistency") == 0 &&
	    cmd_log_numbers(a, 2, &x, &y) == -1)
		return CW_EXIT_USAGE;
	if (strcmp(what, "checkpoint") == 0) {
		if (tlog_signer_load(&s, a->conf.key, a->conf.origin) == -1)
			return CW_EXIT_FAILURES;
		signer = true;
	}
	if ((st = store_open(a->conf.db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "corewatch-collector %s: %s: %s\n", a->cmd,
		    a->conf.db, err);
		goto out;
	}
	if (strcmp(what, "backfill") == 0)
		rc = cmd_log_backfill(a->cmd, st);
	else if (signer) {
		if ((rc = tlog_checkpoint(st, &s, &note, &size)) != STORE_OK) {
			fprintf(stderr, "corewatch-collector %s: %s\n", a->cmd,
			    rc == STORE_E_DB ? store_error_text(st) :
			                       "cannot sign");
			rc = CW_EXIT_FAILURES;
		} else
			rc = fputs(note, stdout) != EOF && fflush(stdout) == 0 ?
			    CW_EXIT_OK :
			    CW_EXIT_FAILURES;
		free(note);
	} else if (strcmp(what, "inclusion") == 0) {
		json_t *j = tlog_inclusion_json(st, x, y, &rc);
		rc = cmd_log_print_json(a->cmd, st, j, rc);
	} else {
		json_t *j = tlog_consistency_json(st, x, y, &rc);
		rc = cmd_log_print_json(a->cmd, st, j, rc);
	}
	store_close(st);
out:
	if (signer)
		tlog_signer_clear(&s);
	return rc;
}

int
collector_cmd_log(int argc, char **argv, cmd_log_conf_fn *conf_of)
{
	static const struct {
		const char *name, *cmd, *numbers;
	} subs[] = {
		{ "checkpoint", "log checkpoint", "" },
		{ "key", "log key", "" },
		{ "inclusion", "log inclusion", "is" },
		{ "consistency", "log consistency", "ON" },
		{ "backfill", "log backfill", "" },
	};
	struct cmd_log_args a = { .cmd = "log" };
	int rc = CW_EXIT_USAGE;
	size_t i;

	if (argc < 2) {
		cmd_log_usage(stderr);
		return CW_EXIT_USAGE;
	}
	for (i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (strcmp(argv[1], subs[i].name) == 0)
			break;
	if (i == sizeof(subs) / sizeof(subs[0])) {
		if (strcmp(argv[1], "--help") == 0 ||
		    strcmp(argv[1], "-h") == 0) {
			cmd_log_usage(stdout);
			return CW_EXIT_OK;
		}
		fprintf(stderr, "corewatch-collector log: unknown \"%s\"\n",
		    argv[1]);
		cmd_log_usage(stderr);
		return CW_EXIT_USAGE;
	}
	a.cmd = subs[i].cmd;
	if ((rc = cmd_log_parse(argc - 1, argv + 1, subs[i].numbers, &a,
	         conf_of)) != -1)
		goto out;
	if (strcmp(subs[i].name, "key") != 0) {
		rc = cmd_log_db(&a, subs[i].name);
		goto out;
	}
	rc = cmd_log_print_vkey(&a.conf);
out:
	cmd_log_conf_clear(&a.conf);
	return rc;
}
