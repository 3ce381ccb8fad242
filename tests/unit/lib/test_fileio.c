/*
 * test_fileio.c -- writing every byte through short writes and EINTR;
 * the atomic replacement of a file: the new content and mode, the old
 * content kept when the write fails half-way (a file-size limit), no
 * temporary file left, a stale temporary file or symbolic link in its
 * place, the directory fsync (seen failing on a dirfd that cannot be
 * fsynced).
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "fileio.h"

#define BIG (1024 * 1024)

struct fixture {
	char dir[64];
};

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/cw-test-fileio.XXXXXX");
	if (mkdtemp(f->dir) == NULL)
		return -1;
	/* The modes asserted below are what is asked less this umask. */
	umask(022);
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->dir);
	if (system(cmd) != 0)
		return -1;
	free(f);
	return 0;
}

/* The content of `path` (at most len - 1 bytes, NUL-terminated); its
 * length, -1 when it cannot be read. */
static ssize_t
slurp(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd == -1)
		return -1;
	n = read(fd, buf, len - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

static void
put(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	assert_true(fd != -1);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
}

/* The names in `dir` other than "." and "..", sorted, joined by " ". */
static void
listing(const char *dir, char *out, size_t len)
{
	struct dirent **names;
	int n = scandir(dir, &names, NULL, alphasort);

	assert_true(n >= 0);
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		if (strcmp(names[i]->d_name, ".") != 0 &&
		    strcmp(names[i]->d_name, "..") != 0) {
			size_t used = strlen(out);
			snprintf(out + used, len - used, "%s%s",
			    used > 0 ? " " : "", names[i]->d_name);
		}
		free(names[i]);
	}
	free(names);
}

static mode_t
mode_of(const char *path)
{
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	return st.st_mode & 07777;
}

/* A file-size limit of `bytes`, SIGXFSZ ignored: a write past it is
 * short, the next one fails with EFBIG (as a full disk would, for
 * root too).  Returns the limit to put back. */
static struct rlimit
limit_fsize(rlim_t bytes)
{
	struct rlimit old, rl;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	rl = old;
	rl.rlim_cur = bytes;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &rl), 0);
	return old;
}

static void
unlimit_fsize(struct rlimit old)
{
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
}

/*
 * Short writes and EINTR: 1 MiB into a socket with a small send buffer,
 * read slowly by a thread, while an interval timer interrupts the
 * writer every 100 µs (its handler without SA_RESTART).  Each write
 * then either moves part of the buffer or fails with EINTR; all of it
 * must arrive, in order.
 */
static volatile sig_atomic_t alarms;

static void
on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

struct reader {
	int fd;
	unsigned char *got;
	size_t len;
};

static void *
reader_run(void *arg)
{
	struct reader *r = arg;
	struct timespec pause = { 0, 50 * 1000 };
	ssize_t n;

	while (r->len < BIG && (n = read(r->fd, r->got + r->len, 4096)) != 0) {
		if (n == -1) {
			if (errno == EINTR)
				continue;
			break;
		}
		r->len += (size_t)n;
		nanosleep(&pause, NULL);
	}
	return NULL;
}

static void
test_write_all_interrupted(void **state)
{
	struct itimerval tick = { { 0, 100 }, { 0, 100 } },
	                 off = { { 0, 0 }, { 0, 0 } };
	struct sigaction sa = { .sa_handler = on_alarm }; /* no SA_RESTART */
	struct reader r = { 0 };
	unsigned char *data = malloc(BIG);
	sigset_t block, old;
	int sv[2], small = 4096;
	size_t done = 0;
	pthread_t th;

	(void)state;
	assert_non_null(data);
	r.got = malloc(BIG);
	assert_non_null(r.got);
	for (size_t i = 0; i < BIG; i++)
		data[i] = (unsigned char)(i * 7 + i / 251);
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	assert_int_equal(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small,
	                     sizeof(small)),
	    0);
	assert_int_equal(setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &small,
	                     sizeof(small)),
	    0);
	r.fd = sv[1];
	/* Only the writer is to be interrupted: the thread starts with
	 * SIGALRM blocked. */
	sigemptyset(&block);
	sigaddset(&block, SIGALRM);
	assert_int_equal(pthread_sigmask(SIG_BLOCK, &block, &old), 0);
	assert_int_equal(pthread_create(&th, NULL, reader_run, &r), 0);
	assert_int_equal(pthread_sigmask(SIG_SETMASK, &old, NULL), 0);
	assert_int_equal(sigaction(SIGALRM, &sa, NULL), 0);
	alarms = 0;
	assert_int_equal(setitimer(ITIMER_REAL, &tick, NULL), 0);

	assert_int_equal(fileio_write_all_count(sv[0], data, BIG, &done), 0);

	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	assert_int_equal(done, BIG);
	close(sv[0]);
	assert_int_equal(pthread_join(th, NULL), 0);
	close(sv[1]);
	/* The writer was interrupted, and nothing was lost or doubled. */
	assert_true(alarms > 0);
	assert_int_equal(r.len, BIG);
	assert_memory_equal(r.got, data, BIG);
	free(r.got);
	free(data);
}

/* A failure after a short write: *done says what went out, errno why
 * the rest did not. */
static void
test_write_all_count_failure(void **state)
{
	struct fixture *f = *state;
	char path[128], buf[4096];
	struct rlimit old;
	size_t done = 12345;
	struct stat st;
	int fd, p[2];

	snprintf(path, sizeof(path), "%s/limited", f->dir);
	memset(buf, 'x', sizeof(buf));
	assert_true(
	    (fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0600)) != -1);
	old = limit_fsize(1000);
	errno = 0;
	assert_int_equal(fileio_write_all_count(fd, buf, sizeof(buf), &done),
	    -1);
	assert_int_equal(errno, EFBIG);
	unlimit_fsize(old);
	assert_int_equal(done, 1000);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_size, 1000);
	close(fd);

	/* Nothing written at all: 0, and the plain form says -1 too. */
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	signal(SIGPIPE, SIG_IGN);
	assert_int_equal(fileio_write_all_count(p[1], "abc", 3, &done), -1);
	assert_int_equal(errno, EPIPE);
	assert_int_equal(done, 0);
	assert_int_equal(fileio_write_all(p[1], "abc", 3), -1);
	assert_int_equal(errno, EPIPE);
	signal(SIGPIPE, SIG_DFL);
	close(p[1]);

	/* Zero bytes: nothing to do, no write at all (a closed fd would
	 * fail one). */
	assert_int_equal(fileio_write_all(-1, "", 0), 0);
}

/* A new file, then a replacement: content, mode (what is asked less the
 * umask), nothing else left in the directory. */
static void
test_atomic_replace(void **state)
{
	struct fixture *f = *state;
	char path[128], buf[64], names[256];

	snprintf(path, sizeof(path), "%s/state", f->dir);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "one\n", 4),
	    FILEIO_OK);
	assert_int_equal(slurp(path, buf, sizeof(buf)), 4);
	assert_string_equal(buf, "one\n");
	assert_int_equal(mode_of(path), 0600);

	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0666, "two", 3),
	    FILEIO_OK);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "two");
	assert_int_equal(mode_of(path), 0644);
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "state");

	/* An empty file is a file. */
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "", 0),
	    FILEIO_OK);
	assert_int_equal(slurp(path, buf, sizeof(buf)), 0);
}

/* The write fails half-way (past a file-size limit): the old content
 * stays, the temporary file goes, errno says why. */
static void
test_atomic_fails_midway(void **state)
{
	struct fixture *f = *state;
	char path[128], buf[64], names[256], *big;
	struct fileio_atomic fa;
	struct rlimit old;

	snprintf(path, sizeof(path), "%s/cursor", f->dir);
	put(path, "old content\n");
	assert_non_null(big = malloc(BIG));
	memset(big, 'n', BIG);

	old = limit_fsize(4096);
	errno = 0;
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, big, BIG),
	    FILEIO_WRITE);
	assert_int_equal(errno, EFBIG);
	unlimit_fsize(old);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf),
	    "old content\n");
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "cursor");

	/* Streaming, given up by the caller: the same. */
	assert_int_equal(fileio_atomic_begin(&fa, AT_FDCWD, path, 0600),
	    FILEIO_OK);
	assert_int_equal(fileio_write_all(fa.fd, big, 100000), 0);
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "cursor cursor.tmp");
	errno = ESTALE;
	fileio_atomic_abort(&fa);
	assert_int_equal(errno, ESTALE); /* kept for the caller's message */
	assert_int_equal(fa.fd, -1);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf),
	    "old content\n");
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "cursor");
	free(big);
}

/* The temporary file cannot be made, or cannot be renamed: PATH as it
 * was, nothing left behind, the step and errno reported. */
static void
test_atomic_create_rename_fail(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX + 16], names[256];
	struct fileio_atomic fa;

	/* No such directory: the message names PATH.tmp. */
	snprintf(path, sizeof(path), "%s/no/such/x.csv", f->dir);
	assert_int_equal(fileio_atomic_begin(&fa, AT_FDCWD, path, 0644),
	    FILEIO_CREATE);
	assert_int_equal(errno, ENOENT);
	assert_true(strlen(fa.tmp) == strlen(path) + 4 &&
	    strcmp(fa.tmp + strlen(path), ".tmp") == 0);
	assert_int_equal(fa.fd, -1);

	/* A path component that is a file. */
	snprintf(path, sizeof(path), "%s/plain", f->dir);
	put(path, "x");
	snprintf(path, sizeof(path), "%s/plain/x", f->dir);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "y", 1),
	    FILEIO_CREATE);
	assert_int_equal(errno, ENOTDIR);

	/* The target is a directory that is not empty: the rename fails
	 * after the write. */
	snprintf(path, sizeof(path), "%s/d", f->dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/d/inside", f->dir);
	put(path, "x");
	snprintf(path, sizeof(path), "%s/d", f->dir);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "y", 1),
	    FILEIO_RENAME);
	assert_int_equal(errno, EISDIR);
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "d plain");

	/* PATH.tmp too long for PATH_MAX. */
	memset(path, 'a', PATH_MAX - 2);
	path[PATH_MAX - 2] = '\0';
	assert_int_equal(fileio_atomic_begin(&fa, AT_FDCWD, path, 0600),
	    FILEIO_NAME);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_int_equal(fa.fd, -1);
}

/* A PATH.tmp left by a crash is not written through: a stale file with
 * another mode, or a symbolic link to a file that must stay as it is. */
static void
test_atomic_stale_tmp(void **state)
{
	struct fixture *f = *state;
	char path[128], tmp[140], victim[128], buf[64], names[256];

	snprintf(path, sizeof(path), "%s/chain", f->dir);
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	put(tmp, "half a line from before the cras");
	assert_int_equal(chmod(tmp, 0666), 0);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "new\n", 4),
	    FILEIO_OK);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "new\n");
	assert_int_equal(mode_of(path), 0600);

	snprintf(victim, sizeof(victim), "%s/victim", f->dir);
	put(victim, "keep me");
	assert_int_equal(symlink(victim, tmp), 0);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, path, 0600, "newer\n",
	                     6),
	    FILEIO_OK);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "newer\n");
	assert_int_equal(mode_of(path), 0600);
	assert_string_equal((slurp(victim, buf, sizeof(buf)), buf), "keep me");
	listing(f->dir, names, sizeof(names));
	assert_string_equal(names, "chain victim");
}

/*
 * Relative to a directory fd, to the working directory, and through a
 * sub-directory: the three ways the directory is found for its fsync
 * all succeed on a normal directory.  On a dirfd opened O_PATH the
 * *at() calls work but fsync() cannot: the file is replaced and
 * FILEIO_DIRSYNC says the directory was not synced -- so it is tried.
 */
static void
test_atomic_dirfd_and_dirsync(void **state)
{
	struct fixture *f = *state;
	char path[128], buf[64], cwd[PATH_MAX];
	int dirfd, pathfd;

	assert_true(
	    (dirfd = open(f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1);
	assert_int_equal(fileio_write_atomic(dirfd, "a", 0600, "A", 1),
	    FILEIO_OK);
	assert_int_equal(mkdirat(dirfd, "sub", 0700), 0);
	assert_int_equal(fileio_write_atomic(dirfd, "sub/b", 0600, "B", 1),
	    FILEIO_OK);
	snprintf(path, sizeof(path), "%s/sub/b", f->dir);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "B");

	assert_non_null(getcwd(cwd, sizeof(cwd)));
	assert_int_equal(chdir(f->dir), 0);
	assert_int_equal(fileio_write_atomic(AT_FDCWD, "c", 0600, "C", 1),
	    FILEIO_OK);
	assert_int_equal(chdir(cwd), 0);
	snprintf(path, sizeof(path), "%s/c", f->dir);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "C");

	assert_true(
	    (pathfd = open(f->dir, O_PATH | O_DIRECTORY | O_CLOEXEC)) != -1);
	errno = 0;
	assert_int_equal(fileio_write_atomic(pathfd, "a", 0600, "A2", 2),
	    FILEIO_DIRSYNC);
	assert_int_equal(errno, EBADF);
	snprintf(path, sizeof(path), "%s/a", f->dir);
	assert_string_equal((slurp(path, buf, sizeof(buf)), buf), "A2");
	close(pathfd);
	close(dirfd);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_write_all_interrupted),
		cmocka_unit_test_setup_teardown(test_write_all_count_failure,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_replace, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_atomic_fails_midway, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_atomic_create_rename_fail,
		    setup, teardown),
		cmocka_unit_test_setup_teardown(test_atomic_stale_tmp, setup,
		    teardown),
		cmocka_unit_test_setup_teardown(test_atomic_dirfd_and_dirsync,
		    setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
