/*
 * cmd_episodes.h -- `corewatch-collector episodes`: the outage episodes
 * of the stored results (episodes.h, doc/episodes.md) on the command
 * line, as JSON lines or CSV.
 */
#ifndef CW_CMD_EPISODES_H
#define CW_CMD_EPISODES_H

#include "cmd_export.h"

/* episodes [--db URL | -c FILE] [--format jsonl|csv] [filters]
 * [--scope S] [--min-severity X] [--min-failures N] [--silence S]
 * [--out FILE]: argc/argv from the subcommand's name.  Returns 0 when
 * the whole output was written, 1 when the database or the output
 * failed, 2 for a usage error.  The command line reads with the
 * operator's rights: silences (heartbeat gaps) are included. */
int collector_cmd_episodes(int argc, char **argv, cmd_export_db_fn *db_of);

#endif /* CW_CMD_EPISODES_H */
