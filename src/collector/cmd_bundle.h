/*
 * cmd_bundle.h -- `corewatch-collector bundle`: an evidence bundle of
 * the stored records a filter selects, as a tar file (bundle.h,
 * doc/evidence.md, corewatch-collector(8)).
 */
#ifndef CW_CMD_BUNDLE_H
#define CW_CMD_BUNDLE_H

#include "cmd_log.h"

/* bundle [--db URL | -c FILE] [--key FILE] [filters] --out FILE.tar:
 * 0 written, 1 the database, the key or the output failed, or no record
 * matched (nothing written), 2 a usage error. */
int collector_cmd_bundle(int argc, char **argv, cmd_log_conf_fn *conf_of);

#endif /* CW_CMD_BUNDLE_H */
