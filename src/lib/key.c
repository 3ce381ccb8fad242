/*
 * key.c -- generating and loading an Ed25519 key: the probe's identity,
 * the collector's log key.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "fileio.h"
#include "key.h"
#include "log.h"

const struct key_kind key_probe = { "corewatch", "probe" };
const struct key_kind key_collector = { "corewatch-collector", "collector" };

/* key_derive: everything in `k` from the seed. */
static void
key_derive(const unsigned char seed[KEY_SEED_LEN], struct key *k)
{
	crypto_sign_seed_keypair(k->pk, k->sk, seed);
	record_hex(k->pk, RECORD_PUBKEY_LEN, k->pk_hex);
	record_probe_id(k->pk, k->id);
}

/* key_mkdir: create the parent directories of `path` that are missing
 * (0700: the directory holds a secret). */
static int
key_mkdir(const char *path)
{
	char dir[PATH_MAX];
	char *slash;

	if (snprintf(dir, sizeof(dir), "%s", path) >= (int)sizeof(dir))
		return -1;
	if ((slash = strrchr(dir, '/')) == NULL || slash == dir)
		return 0;
	*slash = '\0';
	for (char *p = dir + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(dir, 0700) == -1 && errno != EEXIST)
			return -1;
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}

int
key_generate(const char *path, const struct key_kind *kind, struct key *k)
{
	unsigned char seed[KEY_SEED_LEN];
	char text[KEY_FILE_LEN + 1];
	struct key tmp;
	int fd, saved;

	if (key_mkdir(path) == -1) {
		log_warn("key %s: cannot create its directory", path);
		return -1;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1) {
		if (errno == EEXIST)
			log_warnx(
			    "key %s: the file exists; it is never "
			    "overwritten (remove it first if you really mean "
			    "to give this %s a new identity)",
			    path, kind->owner);
		else
			log_warn("key %s", path);
		return -1;
	}
	randombytes_buf(seed, sizeof(seed));
	sodium_bin2hex(text, sizeof(text), seed, sizeof(seed));
	text[KEY_FILE_LEN - 1] = '\n';
	text[KEY_FILE_LEN] = '\0';
	/* The umask may have taken bits away; never added any. */
	if (fchmod(fd, 0600) == -1 ||
	    fileio_write_all(fd, text, KEY_FILE_LEN) == -1 || fsync(fd) == -1) {
		saved = errno;
		close(fd);
		unlink(path);
		errno = saved;
		log_warn("key %s: cannot write it", path);
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(text, sizeof(text));
		return -1;
	}
	/* The new file's name must survive a power cut too: a probe that
	 * comes back with another identity breaks its chain. */
	if (close(fd) == -1 || fileio_sync_dir(AT_FDCWD, path) == -1) {
		log_warn("key %s: cannot write it (close, or fsync of its "
		         "directory)",
		    path);
		unlink(path);
		sodium_memzero(seed, sizeof(seed));
		sodium_memzero(text, sizeof(text));
		return -1;
	}
	key_derive(seed, k != NULL ? k : &tmp);
	if (k == NULL)
		key_clear(&tmp);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return 0;
}

/* key_check_file: the key file must be the user's own, private. */
static int
key_check_file(const char *path, const struct key_kind *kind,
    const struct stat *st)
{
	if (!S_ISREG(st->st_mode)) {
		log_warnx("key %s: not a regular file", path);
		return -1;
	}
	if (st->st_uid != geteuid()) {
		log_warnx("key %s: owned by uid %lu, not by the user running "
		          "%s (uid %lu): chown it",
		    path, (unsigned long)st->st_uid, kind->program,
		    (unsigned long)geteuid());
		return -1;
	}
	if ((st->st_mode & 077) != 0) {
		log_warnx("key %s: mode %04o lets %s read or change the "
		          "%s's secret key; refused: run chmod 600 %s (and "
		          "consider the key exposed: make a new one with %s "
		          "keygen)",
		    path, (unsigned)(st->st_mode & 07777),
		    (st->st_mode & 007) != 0 ? "everybody" : "the group",
		    kind->owner, path, kind->program);
		return -1;
	}
	return 0;
}

/* key_parse: the file's bytes into the seed. */
static int
key_parse(const char *path, const char *text, size_t len,
    unsigned char seed[KEY_SEED_LEN])
{
	size_t got = 0;
	const char *end = NULL;
	bool hex = true;

	if (len == KEY_FILE_LEN && text[len - 1] == '\n')
		len--;
	for (size_t i = 0; i < len; i++)
		hex &= (text[i] >= '0' && text[i] <= '9') ||
		    (text[i] >= 'a' && text[i] <= 'f') ||
		    (text[i] >= 'A' && text[i] <= 'F');
	if (len != KEY_SEED_LEN * 2 || !hex ||
	    sodium_hex2bin(seed, KEY_SEED_LEN, text, len, NULL, &got, &end) !=
	        0 ||
	    got != KEY_SEED_LEN) {
		log_warnx("key %s: not a corewatch key (64 hex digits and a "
		          "newline)",
		    path);
		return -1;
	}
	return 0;
}

int
key_load(const char *path, const struct key_kind *kind, struct key *k)
{
	unsigned char seed[KEY_SEED_LEN];
	char text[KEY_FILE_LEN + 2];
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	memset(k, 0, sizeof(*k));
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
		if (errno == ENOENT)
			log_warnx("key %s: no such file (make one with "
			          "%s keygen)",
			    path, kind->program);
		else
			log_warn("key %s", path);
		return -1;
	}
	if (fstat(fd, &st) == -1) {
		log_warn("key %s: fstat", path);
		goto done;
	}
	if (key_check_file(path, kind, &st) == -1)
		goto done;
	do
		n = read(fd, text, sizeof(text));
	while (n == -1 && errno == EINTR);
	if (n == -1) {
		log_warn("key %s: read", path);
		goto done;
	}
	if (key_parse(path, text, (size_t)n, seed) == -1)
		goto done;
	key_derive(seed, k);
	rc = 0;
done:
	close(fd);
	sodium_memzero(seed, sizeof(seed));
	sodium_memzero(text, sizeof(text));
	return rc;
}

void
key_clear(struct key *k)
{
	sodium_memzero(k, sizeof(*k));
}
