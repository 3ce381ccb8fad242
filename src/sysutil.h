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

#endif
