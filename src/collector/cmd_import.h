/*
 * cmd_import.h -- `corewatch-collector import`: a file of signed
 * batches carried by hand (written by `corewatch spool export`, or set
 * aside by the uploader as a dead letter; doc/spool.md, "The export
 * file") ingested with exactly the checks and the idempotence of
 * POST /api/v1/batches (ingest.h).
 *
 * The file is a sequence of batches, each a header line
 *	CW1-BATCH <probe id> <base64 signature> <body length>\n
 * followed by exactly that many bytes of body (record lines).
 */
#ifndef CW_CMD_IMPORT_H
#define CW_CMD_IMPORT_H

#include <stddef.h>
#include <stdint.h>

#include "store.h"

#define IMPORT_MAGIC "CW1-BATCH"

/* What an import did. */
struct import_totals {
	uint64_t batches;  /* read from the file */
	uint64_t accepted; /* stored (replays included) */
	uint64_t refused;  /* refused by a check (reported) */
	uint64_t stored;   /* records stored for the first time */
	uint64_t duplicates;
	uint64_t equivocations;
};

/*
 * import_file: ingest every batch in the file at `path` ("-": standard
 * input) into `st`, each stored whole or not at all, by itself, as the
 * HTTP path would (a body over `max_body` bytes: 413).  A refused batch
 * is reported on stderr (its number, status and the collector's
 * reason) and the import goes on with the next.  Returns 0 when the
 * whole file was read, -1 when it cannot be read, is not an export file
 * from some point on, or the database fails (reported; what was stored
 * before stays).  *t is filled either way.
 */
int import_file(struct store *st, const char *path, size_t max_body,
    struct import_totals *t);

#endif /* CW_CMD_IMPORT_H */
