/*
 * fuzz_bundle.c -- libFuzzer target: an evidence bundle as `corewatch
 * verify` reads it from someone it does not trust (bundle_verify.h).
 *
 * The first byte chooses what the rest is: a directory's files, the
 * bundle's nine in their order, separated by NUL bytes (0: their
 * contents, each line and JSON member, reach every check), or a tar
 * file (1: the member checks, libarchive's reading).  Nothing may
 * crash, leak, read out of bounds or hang, whatever the verdict; the
 * verdict must be one of 0, 1 and 2.  The seeds are a real collector's
 * bundle (tests/scenario/evidence.sh's crafted chain: duplicates, a
 * hole, a loss record, a fork) in both forms.
 *
 * Build and run (clang):  tests/fuzz/run.sh [SECONDS]
 */
#include "config.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bundle_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const files[] = { "README.txt", "MANIFEST", "bundle.json",
	"records.jsonl", "batches.jsonl", "probes.jsonl", "collector.vkey",
	"checkpoint", "inclusion.json" };
#define NFILES (sizeof(files) / sizeof(files[0]))

/* The work directory, made once in the current one (run.sh's, removed
 * with it): DIR/corewatch-bundle and DIR/b.tar. */
static char dir[256], bundle[300], tarpath[300];

static void
setup(void)
{
	snprintf(dir, sizeof(dir), "fuzz-bundle.XXXXXX");
	if (mkdtemp(dir) == NULL)
		abort();
	snprintf(bundle, sizeof(bundle), "%s/corewatch-bundle", dir);
	snprintf(tarpath, sizeof(tarpath), "%s/b.tar", dir);
	if (mkdir(bundle, 0700) == -1)
		abort();
}

static void
put(const char *path, const void *p, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	if (fd == -1 || (len > 0 && write(fd, p, len) != (ssize_t)len))
		abort();
	close(fd);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bundle_verify_opts o;
	const uint8_t *p, *end;
	char path[400];
	FILE *null;
	int rc;

	if (dir[0] == '\0')
		setup();
	if (size == 0 || (null = fopen("/dev/null", "w")) == NULL)
		return 0;
	memset(&o, 0, sizeof(o));
	o.out = null;
	o.err = null;
	if (data[0] % 2 == 1) {
		put(tarpath, data + 1, size - 1);
		rc = bundle_verify(tarpath, &o);
	} else {
		p = data + 1;
		end = data + size;
		for (size_t i = 0; i < NFILES; i++) {
			const uint8_t *nul = memchr(p, 0, (size_t)(end - p));
			const uint8_t *stop = nul != NULL ? nul : end;
			snprintf(path, sizeof(path), "%s/%s", bundle, files[i]);
			/* A file the input runs out before is missing. */
			if (p == end && nul == NULL)
				unlink(path);
			else
				put(path, p, (size_t)(stop - p));
			p = nul != NULL ? nul + 1 : end;
		}
		rc = bundle_verify(bundle, &o);
	}
	fclose(null);
	if (rc < 0 || rc > 2)
		abort();
	return 0;
}
