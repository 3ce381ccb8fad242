/*
 * cmd.h -- the probe's commands (`corewatch COMMAND`), one file each
 * under src/agent/, dispatched by main.c.  Each takes argc/argv starting
 * at the command's name and returns the process exit status (cli.h).
 */
#ifndef CW_CMD_H
#define CW_CMD_H

#include <stdbool.h>

#include "cli.h"

int cmd_run(int argc, char **argv);          /* src/agent/cmd_run.c */
int cmd_once(int argc, char **argv);         /* src/agent/cmd_once.c */
int cmd_check_config(int argc, char **argv); /* src/agent/cmd_check.c */
int cmd_dns(int argc, char **argv);          /* src/agent/cmd_dns.c */
int cmd_http(int argc, char **argv);         /* src/agent/cmd_http.c */
int cmd_tld_servers(int argc, char **argv);  /* src/agent/cmd_tld.c */
int cmd_enroll(int argc, char **argv);       /* src/agent/cmd_enroll.c */
int cmd_keygen(int argc, char **argv);       /* src/agent/cmd_key.c */
int cmd_pubkey(int argc, char **argv);       /* src/agent/cmd_key.c */
int cmd_spool(int argc, char **argv);        /* src/agent/cmd_spool.c */
int cmd_witness(int argc, char **argv);      /* src/agent/cmd_witness.c */
int cmd_verify(int argc, char **argv);       /* src/agent/cmd_verify.c */

/* key_cmd_path (src/agent/cmd_key.c): the key file a command works on: `key`
 * (--key) when given, else the configuration's `key`; without -c
 * (`conf_given` false), a default configuration file that does not
 * exist means CW_STATE_DIR/key.  A string to free, or NULL (the
 * configuration's problems printed). */
char *key_cmd_path(const char *key, const char *conf_path, bool conf_given);

#endif
