/*
 * cmd_annotate.h -- `corewatch-collector annotate add`, `list` and
 * `delete`: annotations kept from the command line, in the database the
 * other commands use (corewatch-collector(8), doc/export.md).
 *
 * Each takes argc/argv starting at the subcommand's name and `db_of`,
 * which finds the database (cmd_export.h), and returns the exit status:
 * 0 done, 1 the database or the output failed or (delete) there is no
 * such annotation, 2 a usage error or a value refused (a message on
 * stderr).
 */
#ifndef CW_CMD_ANNOTATE_H
#define CW_CMD_ANNOTATE_H

#include "cmd_export.h"

/* annotate add --from T --to T --text TEXT [--country CC] [--asn N]
 * [--probe ID] [--url URL] [--db URL | -c FILE]: prints the new id. */
int collector_cmd_annotate_add(int argc, char **argv, cmd_export_db_fn *db_of);

/* annotate list [--from T] [--to T] [--format jsonl|csv] [--db URL |
 * -c FILE]: the annotations meeting [from, to) on stdout. */
int collector_cmd_annotate_list(int argc, char **argv, cmd_export_db_fn *db_of);

/* annotate delete [--db URL | -c FILE] ID */
int collector_cmd_annotate_delete(int argc, char **argv,
    cmd_export_db_fn *db_of);

#endif /* CW_CMD_ANNOTATE_H */
