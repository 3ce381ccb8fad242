/*
 * cmd_export.h -- `corewatch-collector export` and `summary`: the stored
 * results read back on the command line (doc/export.md).
 *
 * Each takes argc/argv starting at the subcommand's name and returns
 * the exit status: 0 when the whole output was written, 1 when the
 * database or the output failed (a message on stderr; with --out the
 * file is not left half-written), 2 for a usage error.
 */
#ifndef CW_CMD_EXPORT_H
#define CW_CMD_EXPORT_H

/* export --db URL --format jsonl|csv|atlas [filters] [--out FILE] */
int collector_cmd_export(int argc, char **argv);

/* summary --db URL [--bucket 5m|1h|1d] [--format json|csv] [filters]
 * [--out FILE] */
int collector_cmd_summary(int argc, char **argv);

#endif /* CW_CMD_EXPORT_H */
