/*
 * fileio.h -- writing files safely: every byte of a buffer despite
 * short writes and signals, and the one atomic replacement of a file
 * that the probe and the collector both use (the spool's `chain` and
 * `cursor` and its rewritten segments, the TLD cache, `spool export
 * --out`, `export --out`).
 *
 * The atomic replacement: the new content goes to `PATH.tmp` in the
 * same directory (created afresh, O_EXCL, with the mode asked for; a
 * `PATH.tmp` left by a crash is removed first), which is fsynced, closed
 * and renamed over PATH; then the directory is fsynced, so that the
 * rename itself survives a power cut.  A reader sees the old file or the
 * new one, never a part.  Whatever fails before the rename, PATH keeps
 * its old content and the temporary file is removed.  One writer per
 * PATH at a time: two would share the temporary name.
 *
 * Errors: nothing here logs.  Each function returns how far it got and
 * leaves errno set, so that each caller reports in its own words (its
 * messages are part of its interface).
 */
#ifndef CW_FILEIO_H
#define CW_FILEIO_H

#include <limits.h>
#include <stddef.h>
#include <sys/types.h>

/* fileio_write_all: write the `len` bytes of `buf` to fd, again after
 * EINTR and after a short write.  Returns 0, or -1 with errno set (EIO
 * when write() returned 0). */
int fileio_write_all(int fd, const void *buf, size_t len);

/* fileio_write_all_count: fileio_write_all, and *done says how many
 * bytes went out, on failure too (so that the caller can cut a partial
 * write off again). */
int fileio_write_all_count(int fd, const void *buf, size_t len, size_t *done);

/* fileio_sync_dir: fsync the directory that holds `path` (relative to
 * `dirfd`, or AT_FDCWD), so that a file just created or renamed there
 * survives a power cut.  Returns 0, or -1 with errno set. */
int fileio_sync_dir(int dirfd, const char *path);

/* fileio_readable: 0 when `path` is a file (not a directory) this
 * process may read; else -1 with errno set (EISDIR for a directory). */
int fileio_readable(const char *path);

/* What an atomic write reports: how far it got. */
enum fileio_status {
	FILEIO_OK = 0,
	FILEIO_NAME,    /* PATH.tmp is longer than PATH_MAX (ENAMETOOLONG) */
	FILEIO_CREATE,  /* the temporary file could not be created */
	FILEIO_WRITE,   /* writing, fsync or close of it failed */
	FILEIO_RENAME,  /* the rename over PATH failed */
	FILEIO_DIRSYNC, /* PATH is replaced, but the fsync of its directory
			 * failed: the rename may not survive a power cut */
};

/* An atomic write in progress, for callers that stream into the
 * temporary file: fileio_atomic_begin(), writes to `fd`, then
 * fileio_atomic_commit() or fileio_atomic_abort(). */
struct fileio_atomic {
	int fd;              /* the temporary file; -1 when none */
	int dirfd;           /* what PATH is relative to */
	char path[PATH_MAX]; /* PATH */
	char tmp[PATH_MAX];  /* PATH.tmp */
};

/*
 * fileio_atomic_begin: create `path`.tmp (relative to `dirfd`, which may
 * be AT_FDCWD) with permissions `mode` (less the umask), write-only,
 * close-on-exec, not through a symbolic link.  Returns FILEIO_OK (write
 * to fa->fd), FILEIO_NAME or FILEIO_CREATE with errno set; fa->tmp names
 * the temporary file for messages in every case but FILEIO_NAME.
 * Nothing is left to clean up after a failure.
 */
enum fileio_status fileio_atomic_begin(struct fileio_atomic *fa, int dirfd,
    const char *path, mode_t mode);

/*
 * fileio_atomic_commit: fsync and close the temporary file, rename it
 * over PATH, fsync PATH's directory.  Returns FILEIO_OK, FILEIO_WRITE or
 * FILEIO_RENAME (errno set; PATH untouched, the temporary file removed),
 * or FILEIO_DIRSYNC (errno set; PATH replaced).  fa->fd is closed in
 * every case.
 */
enum fileio_status fileio_atomic_commit(struct fileio_atomic *fa);

/* fileio_atomic_abort: give the write up: close and remove the
 * temporary file; PATH is untouched.  errno is kept, so that the caller
 * can still report why it gave up. */
void fileio_atomic_abort(struct fileio_atomic *fa);

/*
 * fileio_write_atomic: replace `path` (relative to `dirfd`, or
 * AT_FDCWD) with the `len` bytes of `buf`, mode `mode` less the umask:
 * begin, write all, commit.  Returns what they return (FILEIO_WRITE also
 * when the write failed), errno set when it is not FILEIO_OK.
 */
enum fileio_status fileio_write_atomic(int dirfd, const char *path, mode_t mode,
    const void *buf, size_t len);

#endif
