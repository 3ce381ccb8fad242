/*
 * cmd_key.c -- `corewatch keygen` and `corewatch pubkey`: the probe's
 * identity (src/agent/key.h).
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cmd.h"
#include "cliutil.h"
#include "conf.h"
#include "key.h"
#include "log.h"

/*
 * key_cmd_path: the key file a command works on: --key when given, else
 * the configuration's `key` (which defaults to state_dir/key).  Without
 * -c, a default configuration file that does not exist is no error: the
 * path is then CW_STATE_DIR/key.  Returns a string to free, or NULL
 * (the configuration's problems printed).
 */
char *
key_cmd_path(const char *key, const char *conf_path, bool conf_given)
{
	struct config *conf;
	char *errors = NULL, *path;

	if (key != NULL)
		return strdup(key);
	if (!conf_given && access(conf_path, F_OK) == -1 && errno == ENOENT)
		return strdup(CW_STATE_DIR "/key");
	if ((conf = config_load(conf_path, &errors)) == NULL) {
		fprintf(stderr, "%s\n",
		    errors != NULL ? errors : "configuration rejected");
		free(errors);
		return NULL;
	}
	path = strdup(conf->key_path);
	config_free(conf);
	return path;
}

static void
key_print(const struct key *k)
{
	printf("pubkey %s\nprobe %s\n", k->pk_hex, k->id);
	fflush(stdout);
}

static void
keygen_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch keygen [-c FILE] [--key FILE]\n"
	    "\n"
	    "Make the probe's Ed25519 key.  The file (mode 0600) is never\n"
	    "overwritten.  Prints the public key and the probe id, for the\n"
	    "collector's operator (corewatch-collector probe add --pubkey).\n"
	    "\n"
	    "  -k, --key FILE      where to write it (default: the configuration's\n"
	    "                      key, or %s/key)\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -h, --help          this text\n",
	    CW_STATE_DIR, CW_DEFAULT_CONFIG);
}

static void
pubkey_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch pubkey [-c FILE] [--key FILE]\n"
	    "\n"
	    "Print the probe's public key and its probe id.\n"
	    "\n"
	    "  -k, --key FILE      the key (default: the configuration's key, or\n"
	    "                      %s/key)\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -h, --help          this text\n",
	    CW_STATE_DIR, CW_DEFAULT_CONFIG);
}

static const struct option key_options[] = {
	{ "key", required_argument, NULL, 'k' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* key_cmd: the common part of both commands; `gen` makes the key. */
static int
key_cmd(int argc, char **argv, bool gen)
{
	const char *key = NULL, *conf_path = CW_DEFAULT_CONFIG;
	void (*usage)(FILE *) = gen ? keygen_usage : pubkey_usage;
	bool conf_given = false;
	struct key k;
	char *path;
	int ch, rc;

	while (
	    (ch = getopt_long(argc, argv, "k:c:h", key_options, NULL)) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'c':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'h':
			usage(stdout);
			return CW_EXIT_OK;
		default:
			usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_unexpected(gen ? "keygen" : "pubkey", argv[optind]);
	if ((path = key_cmd_path(key, conf_path, conf_given)) == NULL)
		return CW_EXIT_USAGE;
	rc = gen ? key_generate(path, &key_probe, &k) :
	           key_load(path, &key_probe, &k);
	if (rc == 0) {
		if (gen)
			log_info("key %s written (mode 0600); keep it, and "
			         "keep it private: it is the probe's identity",
			    path);
		key_print(&k);
		key_clear(&k);
	}
	free(path);
	return rc == 0 ? CW_EXIT_OK : CW_EXIT_FAILURES;
}

int
cmd_keygen(int argc, char **argv)
{
	return key_cmd(argc, argv, true);
}

int
cmd_pubkey(int argc, char **argv)
{
	return key_cmd(argc, argv, false);
}
