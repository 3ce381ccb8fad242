/*
 * cli.c -- what both programs' main() does before it picks a command
 * (cli.h).
 */
#include "config.h"

#include <string.h>

#include "cli.h"

int
cli_main_flags(const char *program, int argc, char **argv,
    void (*usage)(FILE *fp))
{
	if (argc < 2) {
		usage(stderr);
		return CW_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		usage(stdout);
		return CW_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0 || strcmp(argv[1], "-V") == 0) {
		printf("%s %s\n", program, PACKAGE_VERSION);
		return CW_EXIT_OK;
	}
	return -1;
}
