/* agent.c -- placeholder until the agent lands. */
#include "config.h"
#include "cli.h"
#include "log.h"

int
cmd_run(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("run: not built yet");
	return CW_EXIT_USAGE;
}

int
cmd_once(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("once: not built yet");
	return CW_EXIT_USAGE;
}

int
cmd_check_config(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	log_warnx("check-config: not built yet");
	return CW_EXIT_USAGE;
}
