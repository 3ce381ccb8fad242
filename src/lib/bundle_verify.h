/*
 * bundle_verify.h -- the offline check of an evidence bundle: what
 * `corewatch verify` does (doc/evidence.md, "What `corewatch verify`
 * checks").
 *
 * A bundle is a tar file of regular files under corewatch-bundle/, or a
 * directory holding them (or holding corewatch-bundle/, as `tar x`
 * leaves it).  Everything in it is hostile: a tar member that is not a
 * regular file directly under corewatch-bundle/ (a link, a device, a
 * name with "..", a sub-folder) or over 4 GiB refuses the whole bundle
 * before anything is believed, and each file has a size limit; lines of
 * records.jsonl are read one at a time, none longer than a record can
 * be kept.
 *
 * Eight checks each give a verdict, and the chains one a line per probe
 * and chain; every problem is named by file, line, probe, chain and seq.
 */
#ifndef CW_BUNDLE_VERIFY_H
#define CW_BUNDLE_VERIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "note.h"

#define BUNDLE_DIR          "corewatch-bundle"
#define BUNDLE_MEMBER_MAX   (4ULL << 30) /* a file over 4 GiB is refused */
#define BUNDLE_SMALL_MAX    (64u << 20)  /* every file but the three below */
#define BUNDLE_LARGE_MAX    (1ULL << 30) /* batches.jsonl, inclusion.json */
#define BUNDLE_BATCH_LINE   (16u << 20)  /* a line of batches.jsonl */
#define BUNDLE_MAX_FILES    64
#define BUNDLE_MAX_PROBLEMS 20 /* named per check; the rest counted */

/* What the command line asked for. */
struct bundle_verify_opts {
	const struct note_key *vkey; /* --vkey, the key as published; or NULL */
	char *const *checkpoints;    /* --checkpoint FILE, each */
	size_t ncheckpoints;
	bool json;   /* one JSON object instead of lines */
	bool timing; /* each phase's time on `err` */
	FILE *out;   /* the verdicts */
	FILE *err;   /* why the bundle cannot be read */
};

/*
 * bundle_verify: check the bundle at `path`.  Returns 0 when every check
 * holds, 1 when one fails (the verdicts say which and why), 2 when the
 * bundle cannot be read at all (not a tar file nor a directory, a member
 * refused, an I/O error: said on opts->err, no verdict printed).
 */
int bundle_verify(const char *path, const struct bundle_verify_opts *opts);

#endif /* CW_BUNDLE_VERIFY_H */
