/*
 * main.c -- corewatch: dispatch to a subcommand.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "cmd.h"
#include "log.h"

static const struct {
	const char *name;
	int (*fn)(int, char **);
	const char *summary;
} commands[] = {
	{ "run", cmd_run, "measure on schedule in the foreground (daemon)" },
	{ "once", cmd_once,
	    "run every configured measurement once, then exit" },
	{ "check-config", cmd_check_config, "validate a configuration file" },
	{ "dns", cmd_dns, "an ad-hoc DNS measurement of given servers" },
	{ "http", cmd_http, "an ad-hoc HTTP measurement of a URL" },
	{ "tld-servers", cmd_tld_servers, "learn the name servers of TLDs" },
	{ "enroll", cmd_enroll, "enroll the probe's key at a collector" },
	{ "keygen", cmd_keygen, "make the probe's key (its identity)" },
	{ "pubkey", cmd_pubkey, "print the probe's public key and id" },
	{ "spool", cmd_spool, "status of the spool; export it to a file" },
	{ "witness", cmd_witness,
	    "check a collector's log against what it signed before" },
	{ "verify", cmd_verify,
	    "check an evidence bundle offline (signatures, chains, log)" },
};

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: corewatch COMMAND [options]\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(fp, "  %-13s %s\n", commands[i].name,
		    commands[i].summary);
	fprintf(fp,
	    "\n'corewatch COMMAND --help' describes a command; "
	    "see corewatch(8).\n");
}

int
main(int argc, char **argv)
{
	int status;

	log_init("corewatch", LOG_LEVEL_INFO);
	/* Query IDs, schedule offsets and the like are drawn per
	 * measurement: libsodium's ChaCha20 generator, seeded once from the
	 * kernel, avoids a getrandom() system call for each of them. */
	randombytes_set_implementation(&randombytes_internal_implementation);
	if (sodium_init() < 0)
		fatalx("libsodium cannot be initialised");
	if ((status = cli_main_flags("corewatch", argc, argv, usage)) != -1)
		return status;
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(argv[1], commands[i].name) == 0)
			return commands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "corewatch: unknown command \"%s\"\n", argv[1]);
	usage(stderr);
	return CW_EXIT_USAGE;
}
