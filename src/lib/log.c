/*
 * log.c -- leveled logging to stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/event.h>

#include "cwtime.h"
#include "log.h"

/* Process-wide logging settings: the one exception to "no globals", as
 * in every daemon, because any module may need to log. */
static const char *log_progname = "corewatch";
static enum log_level log_max = LOG_LEVEL_INFO;
static int log_dest = -1; /* enum log_dest; -1: not looked at yet */

/* Where stderr goes decides the form of a line. */
enum log_dest {
	LOG_DEST_TTY,     /* a person reads it: a level word */
	LOG_DEST_JOURNAL, /* journald: "<N>", it keeps the time */
	LOG_DEST_FILE,    /* a file or a pipe: the time, a level word */
};

/* log_journal: whether stderr is the stream systemd connected to the
 * journal: JOURNAL_STREAM holds its "device:inode" (systemd.exec(5));
 * a child whose stderr was redirected inherits the variable but not
 * the stream. */
static bool
log_journal(void)
{
	const char *v = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (v == NULL || sscanf(v, "%llu:%llu%c", &dev, &ino, &end) != 2 ||
	    fstat(STDERR_FILENO, &st) == -1)
		return false;
	return (unsigned long long)st.st_dev == dev &&
	    (unsigned long long)st.st_ino == ino;
}

static enum log_dest
log_dest_of_stderr(void)
{
	if (isatty(STDERR_FILENO))
		return LOG_DEST_TTY;
	return log_journal() ? LOG_DEST_JOURNAL : LOG_DEST_FILE;
}

static void log_libevent(int, const char *);

void
log_init(const char *progname, enum log_level max_level)
{
	if (progname != NULL)
		log_progname = progname;
	log_max = max_level;
	log_dest = (int)log_dest_of_stderr();
	event_set_log_callback(log_libevent);
}

int
log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{ "error", LOG_LEVEL_ERR },
		{ "warning", LOG_LEVEL_WARNING },
		{ "info", LOG_LEVEL_INFO },
		{ "debug", LOG_LEVEL_DEBUG },
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(name, names[i].name) == 0)
			return (int)names[i].level;
	return -1;
}

static void __attribute__((format(printf, 3, 0)))
log_vwrite(enum log_level level, int errnum, const char *fmt, va_list ap)
{
	static const char *tags[] = {
		[LOG_LEVEL_ERR] = "error",
		[LOG_LEVEL_WARNING] = "warning",
		[LOG_LEVEL_INFO] = "info",
		[LOG_LEVEL_DEBUG] = "debug",
	};
	char msg[1024], now[CW_TIME_STRLEN];

	if (level > log_max)
		return;
	if (log_dest == -1)
		log_dest = (int)log_dest_of_stderr();
	vsnprintf(msg, sizeof(msg), fmt, ap);
	switch (log_dest) {
	case LOG_DEST_JOURNAL:
		fprintf(stderr, "<%d>%s: %s%s%s\n", (int)level, log_progname,
		    msg, errnum ? ": " : "", errnum ? strerror(errnum) : "");
		break;
	case LOG_DEST_FILE:
		fprintf(stderr, "%s %s: %s: %s%s%s\n",
		    cw_time_format(cw_real_usec(), now, sizeof(now)),
		    log_progname, tags[level], msg, errnum ? ": " : "",
		    errnum ? strerror(errnum) : "");
		break;
	default:
		fprintf(stderr, "%s: %s: %s%s%s\n", log_progname, tags[level],
		    msg, errnum ? ": " : "", errnum ? strerror(errnum) : "");
		break;
	}
}

/* log_libevent: event_log_cb: libevent's own messages (evdns's "[msg]
 * Nameserver ... has failed" among them) at their level, instead of
 * its raw lines on stderr. */
static void
log_libevent(int severity, const char *msg)
{
	if (severity == EVENT_LOG_DEBUG)
		log_debug("libevent: %s", msg);
	else if (severity == EVENT_LOG_MSG)
		log_info("libevent: %s", msg);
	else
		log_warnx("libevent: %s", msg);
}

void
log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARNING, saved, fmt, ap);
	va_end(ap);
	errno = saved;
}

void
log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_WARNING, 0, fmt, ap);
	va_end(ap);
}

void
log_errx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
}

void
log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_INFO, 0, fmt, ap);
	va_end(ap);
}

void
log_debug(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_DEBUG, 0, fmt, ap);
	va_end(ap);
}

void
log_say(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

void
fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, saved, fmt, ap);
	va_end(ap);
	exit(2);
}

void
fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_LEVEL_ERR, 0, fmt, ap);
	va_end(ap);
	exit(2);
}
