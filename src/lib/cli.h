/*
 * cli.h -- what both programs' commands share: the exit statuses, and
 * what main() does before it picks a command.  Each command takes
 * argc/argv starting at its own name and returns the exit status.
 */
#ifndef CW_CLI_H
#define CW_CLI_H

#include <stdio.h>

/* Exit statuses shared by every command. */
#define CW_EXIT_OK       0 /* every measurement succeeded */
#define CW_EXIT_FAILURES 1 /* ran, some measurements failed */
#define CW_EXIT_USAGE    2 /* usage or configuration error */

/*
 * cli_main_flags: what `program` does with argv[1] before looking it up
 * as a command: none at all prints usage on stderr (CW_EXIT_USAGE);
 * --help or -h prints it on stdout (CW_EXIT_OK); --version or -V prints
 * "PROGRAM VERSION" (CW_EXIT_OK).  Returns that status, or -1 when
 * argv[1] is to be looked up as a command.
 */
int cli_main_flags(const char *program, int argc, char **argv,
    void (*usage)(FILE *fp));

#endif
