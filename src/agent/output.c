/*
 * output.c -- writing result lines to stdout or a file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "output.h"
#include "result.h"

/* Bytes buffered between flushes when writes are batched. */
#define OUTPUT_BUFFER_SIZE (256 * 1024)

struct output {
	FILE *fp;
	char *path;             /* NULL for stdout */
	struct event *ev_flush; /* batched flush, see output_set_base */
	int flush_failed;       /* a batched flush failed: log once */
	char *line;             /* serialisation buffer, reused */
	size_t line_size;
};

struct output *
output_open(const char *path)
{
	struct output *out;
	int fd;

	if ((out = calloc(1, sizeof(*out))) == NULL) {
		log_warn("%s: calloc", __func__);
		return NULL;
	}
	if (path == NULL || strcmp(path, "-") == 0) {
		out->fp = stdout;
		return out;
	}
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1 || (out->fp = fdopen(fd, "a")) == NULL ||
	    (out->path = strdup(path)) == NULL) {
		log_warn("output: %s", path);
		if (out->fp != NULL)
			fclose(out->fp);
		else if (fd != -1)
			close(fd);
		free(out);
		return NULL;
	}
	return out;
}

static void
output_flush_cb(evutil_socket_t fd, short events, void *arg)
{
	struct output *out = arg;

	(void)fd;
	(void)events;
	if (fflush(out->fp) == EOF) {
		if (!out->flush_failed)
			log_warn("output: %s", output_name(out));
		out->flush_failed = 1;
		clearerr(out->fp);
	} else
		out->flush_failed = 0;
}

int
output_set_base(struct output *out, struct event_base *base)
{
	if ((out->ev_flush = evtimer_new(base, output_flush_cb, out)) == NULL) {
		log_warnx("output: cannot create the flush timer");
		return -1;
	}
	/* A buffer for a whole burst of lines; a terminal stays line by
	 * line. */
	if (!isatty(fileno(out->fp)))
		setvbuf(out->fp, NULL, _IOFBF, OUTPUT_BUFFER_SIZE);
	return 0;
}

/* output_serialise: the result's line (and a newline) in out->line,
 * which grows as needed.  Returns its length with the newline, 0 on
 * failure (logged). */
static size_t
output_serialise(struct output *out, const json_t *result)
{
	size_t len;
	char *grown;

	for (;;) {
		len = result_dumpb(result, out->line, out->line_size);
		if (len == 0) {
			log_warnx("output: cannot serialise a result");
			return 0;
		}
		if (len < out->line_size)
			break;
		/* Too small (it needs room for the newline too): grow. */
		if ((grown = realloc(out->line, len + 4096)) == NULL) {
			log_warn("output: realloc");
			return 0;
		}
		out->line = grown;
		out->line_size = len + 4096;
	}
	out->line[len++] = '\n';
	return len;
}

int
output_write(struct output *out, const json_t *result)
{
	size_t len;
	int rc = 0;

	if ((len = output_serialise(out, result)) == 0)
		return -1;
	if (fwrite(out->line, 1, len, out->fp) != len) {
		log_warn("output: %s", output_name(out));
		rc = -1;
	}
	if (out->ev_flush != NULL) {
		/* Flushed when this loop iteration's events are done. */
		if (!evtimer_pending(out->ev_flush, NULL)) {
			struct timeval now = { 0, 0 };
			evtimer_add(out->ev_flush, &now);
		}
		return rc;
	}
	/* Line by line: a reader (or a crash) never sees half a record. */
	if (fflush(out->fp) == EOF)
		rc = -1;
	return rc;
}

int
output_flush(struct output *out)
{
	if (fflush(out->fp) == EOF)
		return -1;
	/* A device or pipe (/dev/null, a FIFO) cannot be synced: EINVAL
	 * there means nothing is lost. */
	if (out->path != NULL && fdatasync(fileno(out->fp)) == -1 &&
	    errno != EINVAL) {
		log_warn("output: fdatasync %s", out->path);
		return -1;
	}
	return 0;
}

const char *
output_name(const struct output *out)
{
	return out->path != NULL ? out->path : "stdout";
}

void
output_close(struct output *out)
{
	if (out == NULL)
		return;
	if (out->ev_flush != NULL)
		event_free(out->ev_flush);
	if (out->fp != stdout)
		fclose(out->fp);
	else
		fflush(stdout);
	free(out->path);
	free(out->line);
	free(out);
}
