/*
 * cli.h -- the corewatch subcommands.  Each takes argc/argv starting at
 * the subcommand's name and returns the process exit status.
 */
#ifndef CW_CLI_H
#define CW_CLI_H

/* Exit statuses shared by every command. */
#define CW_EXIT_OK 0		/* every measurement succeeded */
#define CW_EXIT_FAILURES 1	/* ran, some measurements failed */
#define CW_EXIT_USAGE 2		/* usage or configuration error */

int cmd_run(int argc, char **argv);		/* src/agent.c */
int cmd_once(int argc, char **argv);		/* src/agent.c */
int cmd_check_config(int argc, char **argv);	/* src/agent.c */
int cmd_dns(int argc, char **argv);		/* src/cmd_dns.c */
int cmd_tld_servers(int argc, char **argv);	/* src/cmd_tld.c */
int cmd_enroll(int argc, char **argv);		/* src/cmd_enroll.c */
int cmd_keygen(int argc, char **argv);		/* src/cmd_key.c */
int cmd_pubkey(int argc, char **argv);		/* src/cmd_key.c */
int cmd_spool(int argc, char **argv);		/* src/cmd_spool.c */

#endif
