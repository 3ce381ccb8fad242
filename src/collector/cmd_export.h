/*
 * cmd_export.h -- `corewatch-collector export`, `summary` and `batches`:
 * the stored results and batch signatures read back on the command line
 * (doc/export.md, doc/evidence.md).
 *
 * Each takes argc/argv starting at the subcommand's name and returns
 * the exit status: 0 when the whole output was written, 1 when the
 * database or the output failed (a message on stderr; with --out the
 * file is not left half-written), 2 for a usage error.
 */
#ifndef CW_CMD_EXPORT_H
#define CW_CMD_EXPORT_H

#include <getopt.h>

struct export_params;

/* cmd_export_db_fn: the database URL command `cmd` reads: `db` (--db)
 * when given, else the `db` of configuration file `conf_path` (-c) when
 * given, else the default, as every database command of the collector
 * finds it.  A string the caller frees, or NULL (the problem printed). */
typedef char *cmd_export_db_fn(const char *cmd, const char *conf_path,
    const char *db);

/* collector_cmd_error: "corewatch-collector CMD: <message>" on stderr,
 * the error line of every collector command; returns `status`, so that
 * `return collector_cmd_error(...)` ends a command. */
int collector_cmd_error(const char *cmd, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/*
 * COLLECTOR_CMD_FILTER_OPTIONS: the getopt_long() entries of the
 * filters that every command reading results takes (--from, --to,
 * --probe, --name, --addr, --country, --asn), each returning `val`.  A
 * command lists them in its table beside its own options and hands each
 * one met to collector_cmd_filter(), so that a filter has one name, one
 * parser and one error message everywhere (its help text stays the
 * command's: each says what the filter selects there).
 */
/* clang-format off */
#define COLLECTOR_CMD_FILTER_OPTIONS(val) \
	{ "from", required_argument, NULL, (val) }, \
	{ "to", required_argument, NULL, (val) }, \
	{ "probe", required_argument, NULL, (val) }, \
	{ "name", required_argument, NULL, (val) }, \
	{ "addr", required_argument, NULL, (val) }, \
	{ "country", required_argument, NULL, (val) }, \
	{ "asn", required_argument, NULL, (val) }
/* clang-format on */

/* collector_cmd_filter: filter option `name` (without its dashes) of
 * command `cmd` with value `arg` into `xp` (export_params_set).
 * Returns -1 to go on, or CW_EXIT_USAGE after "corewatch-collector CMD:
 * --NAME: <why>" on stderr. */
int collector_cmd_filter(const char *cmd, struct export_params *xp,
    const char *name, const char *arg);

/* collector_cmd_filter_check: what no single filter shows
 * (export_params_check: from before to).  Returns -1 to go on, or
 * CW_EXIT_USAGE after the error line on stderr. */
int collector_cmd_filter_check(const char *cmd, const struct export_params *xp);

/* export [--db URL | -c FILE] --format jsonl|csv|atlas [filters]
 * [--out FILE] */
int collector_cmd_export(int argc, char **argv, cmd_export_db_fn *db_of);

/* summary [--db URL | -c FILE] [--bucket Nm|Nh|Nd] [--format json|csv]
 * [filters] [--out FILE] */
int collector_cmd_summary(int argc, char **argv, cmd_export_db_fn *db_of);

/* batches [--db URL | -c FILE] [filters] [--out FILE]: the kept batch
 * signatures (batches.h) */
int collector_cmd_batches(int argc, char **argv, cmd_export_db_fn *db_of);

#endif /* CW_CMD_EXPORT_H */
