/*
 * sysutil.h -- small process-level helpers shared by the commands.
 */
#ifndef CW_SYSUTIL_H
#define CW_SYSUTIL_H

/* sysutil_raise_nofile: raise the soft RLIMIT_NOFILE to the hard limit,
 * so thousands of measurements can hold a socket each.  Returns the soft
 * limit now in force, or -1 when it cannot be read (logged).  Failing to
 * raise it is logged and the old limit returned. */
long sysutil_raise_nofile(void);

struct event_base;

/* sysutil_event_base: the one event loop of a command, with
 * EVENT_BASE_FLAG_PRECISE_TIMER (libevent's default timer clock is
 * coarse, ~4 ms: too coarse for measurement timeouts).  Caller frees it
 * with event_base_free(); NULL when it cannot be created. */
struct event_base *sysutil_event_base(void);

/* sysutil_mkdirs: create `dir` (mode 0700: what it holds may say where
 * the volunteer measures from) and its missing parents (0755).  An
 * existing directory is fine.  Returns 0, or -1 with errno set. */
int sysutil_mkdirs(const char *dir);

#endif
