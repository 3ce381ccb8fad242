/* cmd_dns.c -- placeholder until the DNS command lands. */
#include "config.h"
#include "cli.h"
#include "log.h"

int
cmd_dns(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("dns: not built yet");
	return CW_EXIT_USAGE;
}
