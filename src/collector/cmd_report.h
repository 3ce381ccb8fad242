/*
 * cmd_report.h -- `corewatch-collector report`: the case-study report
 * of a window (report.h, doc/report.md) as one self-contained HTML
 * file, printed to PDF through headless Chromium, or one of its figures
 * alone as SVG or, through rsvg-convert, PNG.
 */
#ifndef CW_CMD_REPORT_H
#define CW_CMD_REPORT_H

#include "cmd_export.h"

#define CMD_REPORT_TIMEOUT_S 120 /* for Chromium or rsvg-convert */

/* report [--db URL | -c FILE] --from T --to T [filters] --out FILE
 * [--format html|pdf] [--figure NAME] [--chromium PATH]
 * [--rsvg-convert PATH] [--timeout S] | --list-figures: argc/argv from
 * the subcommand's name.  Returns 0 when the file was written whole
 * (never half: it replaces --out at the end), 1 when the database, the
 * output or the converter failed (or is not installed), 2 for a usage
 * error.  The helper runs in a process group of its own, with a
 * private profile and temporary directory, and is killed (its group)
 * after --timeout seconds; the temporary directory is removed. */
int collector_cmd_report(int argc, char **argv, cmd_export_db_fn *db_of);

#endif /* CW_CMD_REPORT_H */
