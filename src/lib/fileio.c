/*
 * fileio.c -- writing every byte, and the one atomic replacement of a
 * file (see fileio.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"

int
fileio_write_all_count(int fd, const void *buf, size_t len, size_t *done)
{
	const unsigned char *p = buf;

	*done = 0;
	while (*done < len) {
		ssize_t n = write(fd, p + *done, len - *done);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return -1;
		if (n == 0) {
			/* Not an error by write(2), but no progress either:
			 * looping on it would never end. */
			errno = EIO;
			return -1;
		}
		*done += (size_t)n;
	}
	return 0;
}

int
fileio_write_all(int fd, const void *buf, size_t len)
{
	size_t done;

	return fileio_write_all_count(fd, buf, len, &done);
}

int
fileio_sync_dir(int dirfd, const char *path)
{
	const char *slash = strrchr(path, '/');
	char dir[PATH_MAX];
	int fd, rv, saved;

	if (slash == NULL && dirfd != AT_FDCWD)
		return fsync(dirfd);
	if (slash == NULL)
		snprintf(dir, sizeof(dir), ".");
	else if (slash == path)
		snprintf(dir, sizeof(dir), "/");
	else
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	if ((fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rv = fsync(fd);
	saved = errno;
	close(fd);
	errno = saved;
	return rv;
}

enum fileio_status
fileio_atomic_begin(struct fileio_atomic *fa, int dirfd, const char *path,
    mode_t mode)
{
	fa->fd = -1;
	fa->dirfd = dirfd;
	fa->tmp[0] = '\0';
	if ((size_t)snprintf(fa->path, sizeof(fa->path), "%s", path) >=
	        sizeof(fa->path) ||
	    (size_t)snprintf(fa->tmp, sizeof(fa->tmp), "%s.tmp", path) >=
	        sizeof(fa->tmp)) {
		fa->tmp[0] = '\0';
		errno = ENAMETOOLONG;
		return FILEIO_NAME;
	}
	/*
	 * Created afresh, never opened as it is: a file left by a crash
	 * would keep its own mode, and a symbolic link put in its place
	 * would send the content elsewhere.
	 */
	if (unlinkat(dirfd, fa->tmp, 0) == -1 && errno != ENOENT)
		return FILEIO_CREATE;
	fa->fd = openat(dirfd, fa->tmp,
	    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	return fa->fd == -1 ? FILEIO_CREATE : FILEIO_OK;
}

void
fileio_atomic_abort(struct fileio_atomic *fa)
{
	int saved = errno;

	if (fa->fd != -1)
		close(fa->fd);
	fa->fd = -1;
	if (fa->tmp[0] != '\0')
		unlinkat(fa->dirfd, fa->tmp, 0);
	errno = saved;
}

enum fileio_status
fileio_atomic_commit(struct fileio_atomic *fa)
{
	int fd = fa->fd;

	if (fsync(fd) == -1) {
		fileio_atomic_abort(fa);
		return FILEIO_WRITE;
	}
	/* close() can report a deferred write error (NFS): the file is
	 * then not what was written, and must not replace PATH. */
	fa->fd = -1;
	if (close(fd) == -1) {
		fileio_atomic_abort(fa);
		return FILEIO_WRITE;
	}
	if (renameat(fa->dirfd, fa->tmp, fa->dirfd, fa->path) == -1) {
		fileio_atomic_abort(fa);
		return FILEIO_RENAME;
	}
	if (fileio_sync_dir(fa->dirfd, fa->path) == -1)
		return FILEIO_DIRSYNC;
	return FILEIO_OK;
}

enum fileio_status
fileio_write_atomic(int dirfd, const char *path, mode_t mode, const void *buf,
    size_t len)
{
	struct fileio_atomic fa;
	enum fileio_status st;

	if ((st = fileio_atomic_begin(&fa, dirfd, path, mode)) != FILEIO_OK)
		return st;
	if (fileio_write_all(fa.fd, buf, len) == -1) {
		fileio_atomic_abort(&fa);
		return FILEIO_WRITE;
	}
	return fileio_atomic_commit(&fa);
}

int
fileio_readable(const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1)
		return -1;
	if (S_ISDIR(st.st_mode)) {
		errno = EISDIR;
		return -1;
	}
	return 0;
}
