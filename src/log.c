/*
 * log.c -- leveled logging to stderr.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/event.h>

#include "log.h"

/* Process-wide logging settings: the one exception to "no globals", as
 * in every daemon, because any module may need to log. */
static const char *log_progname = "corewatch";
static enum log_level log_max = LOG_LEVEL_INFO;
static int log_tty = -1;

static void log_libevent(int, const char *);

void
log_init(const char *progname, enum log_level max_level)
{
	if (progname != NULL)
		log_progname = progname;
	log_max = max_level;
	log_tty = isatty(STDERR_FILENO);
	event_set_log_callback(log_libevent);
}

int
log_level_parse(const char *name)
{
	static const struct {
		const char *name;
		enum log_level level;
	} names[] = {
		{"error", LOG_LEVEL_ERR},
		{"warning", LOG_LEVEL_WARNING},
		{"info", LOG_LEVEL_INFO},
		{"debug", LOG_LEVEL_DEBUG},
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
	char msg[1024];

	if (level > log_max)
		return;
	if (log_tty == -1)
		log_tty = isatty(STDERR_FILENO);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_tty)
		fprintf(stderr, "%s: %s: %s%s%s\n", log_progname, tags[level],
		    msg, errnum ? ": " : "", errnum ? strerror(errnum) : "");
	else
		fprintf(stderr, "<%d>%s: %s%s%s\n", (int)level, log_progname,
		    msg, errnum ? ": " : "", errnum ? strerror(errnum) : "");
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
