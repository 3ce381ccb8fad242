/*
 * log.h -- leveled logging to stderr.
 *
 * Every message goes to stderr, one line each, in the form its reader
 * wants: a level word on a terminal; "<3>" ... "<7>" in front when
 * stderr is systemd's journal stream (JOURNAL_STREAM names it), so
 * journald keeps the level and adds the time itself; otherwise (a file,
 * a pipe) the UTC time and a level word.  Messages should start with
 * __func__ or the name of the object they are about.
 */
#ifndef CW_LOG_H
#define CW_LOG_H

#include <stdarg.h>
#include <stddef.h>

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* log_init: set the name printed before each message and the most verbose
 * level that is printed, and take libevent's own messages in (its
 * warnings as warnings, "[msg]" as info, debug as debug).  May be
 * called again (e.g. after a reload). */
void log_init(const char *progname, enum log_level max_level);

/* log_level_parse: "error", "warning", "info" or "debug" to a level;
 * returns -1 for anything else. */
int log_level_parse(const char *name);

/* log_warn: a warning followed by ": " and strerror(errno). */
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_warnx: a warning without errno. */
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* log_errx: an error without errno, for what stops a command (the
 * caller exits); fatalx() when it should exit right here. */
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* log_say: a reason, printf-style, into the caller's buffer `err` of
 * `errlen` bytes rather than the log, for a function that hands its
 * error to its caller; nothing when `err` is NULL or `errlen` 0. */
void log_say(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* fatal/fatalx: log an error (with/without errno) and exit(2).  Only for
 * start-up problems the operator must fix, never for network input. */
void fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
