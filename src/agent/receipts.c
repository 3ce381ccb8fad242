/*
 * receipts.c -- the probe's file of signed receipts (receipts.h).
 *
 * Appends are the common case and cost one write; a rewrite reads the
 * file back, once every few thousand receipts at the default size.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fileio.h"
#include "log.h"
#include "receipts.h"
#include "result.h"

/* One line of the file: where it is and whether a rewrite keeps it. */
struct receipts_line {
	const char *p;
	size_t len; /* with its newline */
	const char *chain;
	bool keep;
};

/* The chain a receipt line names, or NULL (the line is dropped).  The
 * returned string belongs to `*parsed`, which the caller decrefs. */
static const char *
receipts_chain(const char *p, size_t len, json_t **parsed)
{
	*parsed = json_loadb(p, len, 0, NULL);
	if (!json_is_object(*parsed))
		return NULL;
	return json_string_value(json_object_get(*parsed, "chain"));
}

/* Count the complete lines of `buf` (a last one without its newline is
 * a write cut short, and not one). */
static size_t
receipts_count(const char *buf, size_t len)
{
	size_t n = 0;

	for (const char *p = buf, *end = buf + len;
	     p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL; p++)
		n++;
	return n;
}

char *
receipts_compact(const char *buf, size_t len, size_t *out_len)
{
	struct receipts_line *lines = NULL;
	json_t **parsed = NULL, *seen = NULL;
	size_t n = receipts_count(buf, len), i, m = 0;
	const char *p = buf;
	char *out = NULL;

	*out_len = 0;
	if ((lines = calloc(n + 1, sizeof(*lines))) == NULL ||
	    (parsed = calloc(n + 1, sizeof(*parsed))) == NULL ||
	    (seen = json_object()) == NULL || (out = malloc(len + 1)) == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		const char *nl = memchr(p, '\n', len - (size_t)(p - buf));
		lines[i].p = p;
		lines[i].len = (size_t)(nl - p) + 1;
		lines[i].chain = receipts_chain(p, (size_t)(nl - p),
		    &parsed[i]);
		p = nl + 1;
	}
	/* The newer half, and the newest line of every chain: walk from
	 * the end, the first line seen of a chain is its newest. */
	for (i = n; i-- > 0;) {
		if (lines[i].chain == NULL)
			continue;
		lines[i].keep = i >= n / 2;
		if (json_object_get(seen, lines[i].chain) == NULL) {
			if (json_object_set_new(seen, lines[i].chain,
			        json_true()) == -1)
				goto fail;
			lines[i].keep = true;
		}
	}
	for (i = 0; i < n; i++)
		if (lines[i].keep) {
			memcpy(out + m, lines[i].p, lines[i].len);
			m += lines[i].len;
		}
	*out_len = m;
	goto done;
fail:
	free(out);
	out = NULL;
done:
	for (i = 0; parsed != NULL && i < n; i++)
		json_decref(parsed[i]);
	free(parsed);
	free(lines);
	json_decref(seen);
	return out;
}

/* Read at most the last `cap` bytes of `fd` (of `size`) into a new
 * buffer, from the start of a line: a file grown past all reason by
 * someone else is cut, not swallowed.  NULL (errno set) on failure. */
static char *
receipts_read(int fd, off_t size, size_t cap, size_t *len)
{
	off_t from = size > (off_t)cap ? size - (off_t)cap : 0;
	size_t want = (size_t)(size - from), got = 0;
	char *buf, *nl;
	ssize_t r;

	if ((buf = malloc(want + 1)) == NULL)
		return NULL;
	while (got < want) {
		r = pread(fd, buf + got, want - got, from + (off_t)got);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			if (r == 0)
				errno = EIO;
			free(buf);
			return NULL;
		}
		got += (size_t)r;
	}
	*len = got;
	if (from > 0 && (nl = memchr(buf, '\n', got)) != NULL) {
		/* The first line was cut: drop it. */
		*len = got - (size_t)(nl + 1 - buf);
		memmove(buf, nl + 1, *len);
	}
	return buf;
}

/* Rewrite `path` (open as `fd`, `size` bytes) with what a rewrite keeps
 * of it and the new `line` (`len` bytes with its newline). */
static int
receipts_rewrite(const char *path, int fd, off_t size, const char *line,
    size_t len, uint64_t max)
{
	struct fileio_atomic fa;
	size_t have, kept;
	char *buf, *all, *keep = NULL;
	int rc = -1;

	if ((buf = receipts_read(fd, size, (size_t)max * 2, &have)) == NULL) {
		log_warn("receipts: reading %s", path);
		return -1;
	}
	/* The new line counts among the lines, as the newest of its chain:
	 * it replaces the one it supersedes.  A last line cut short
	 * gets its newline, then is dropped as not a receipt. */
	if ((all = realloc(buf, have + len + 1)) == NULL)
		goto oom;
	buf = all;
	if (have > 0 && buf[have - 1] != '\n')
		buf[have++] = '\n';
	memcpy(buf + have, line, len);
	if ((keep = receipts_compact(buf, have + len, &kept)) == NULL)
		goto oom;
	switch (fileio_atomic_begin(&fa, AT_FDCWD, path, 0600)) {
	case FILEIO_OK:
		break;
	case FILEIO_NAME:
		log_warnx("receipts: %s: name too long", path);
		goto out;
	default:
		log_warn("receipts: %s", fa.tmp);
		goto out;
	}
	if (fileio_write_all(fa.fd, keep, kept) == -1) {
		log_warn("receipts: writing %s", fa.tmp);
		fileio_atomic_abort(&fa);
		goto out;
	}
	switch (fileio_atomic_commit(&fa)) {
	case FILEIO_OK:
	case FILEIO_DIRSYNC: /* replaced; a power cut may undo it */
		rc = 0;
		break;
	default:
		log_warn("receipts: replacing %s", path);
		break;
	}
	goto out;
oom:
	log_warnx("receipts: out of memory rewriting %s", path);
out:
	free(keep);
	free(buf);
	return rc;
}

/* Append `line` (with its newline) to `path`, or rewrite it when the
 * append would take it past `max`. */
static int
receipts_append(const char *path, const char *line, size_t len, uint64_t max)
{
	struct stat sb;
	char last = '\n';
	int fd, rc = 0;

	fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
	    0600);
	if (fd == -1 || fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode)) {
		if (fd != -1 && !S_ISREG(sb.st_mode))
			errno = EINVAL;
		log_warn("receipts: %s", path);
		if (fd != -1)
			close(fd);
		return -1;
	}
	if ((uint64_t)sb.st_size + len > max)
		rc = receipts_rewrite(path, fd, sb.st_size, line, len, max);
	else if (sb.st_size > 0 && pread(fd, &last, 1, sb.st_size - 1) != 1) {
		log_warn("receipts: reading %s", path);
		rc = -1;
	} else if ((last != '\n' && fileio_write_all(fd, "\n", 1) == -1) ||
	    fileio_write_all(fd, line, len) == -1) {
		/* A line cut short is dropped at the next rewrite, and
		 * the next append starts a line of its own. */
		log_warn("receipts: appending to %s", path);
		rc = -1;
	}
	close(fd);
	return rc;
}

int
receipts_keep(const char *path, const json_t *obj, uint64_t max)
{
	char *text, *line;
	size_t len;
	int rc;

	if (max == 0 || !json_is_string(json_object_get(obj, "signed")))
		return 0;
	if ((text = result_dump(obj)) == NULL) {
		log_warnx("receipts: out of memory");
		return -1;
	}
	len = strlen(text);
	if ((line = realloc(text, len + 2)) == NULL) {
		free(text);
		log_warnx("receipts: out of memory");
		return -1;
	}
	line[len++] = '\n';
	line[len] = '\0';
	rc = receipts_append(path, line, len, max);
	free(line);
	return rc;
}
