/*
 * cwtime.h -- the one time type: microseconds, monotonic or UTC.
 */
#ifndef CW_TIME_H
#define CW_TIME_H

#include <stddef.h>
#include <stdint.h>

/* Microseconds.  Monotonic values measure intervals (RTTs, timeouts);
 * real values are UTC wall-clock time since the epoch. */
typedef int64_t cw_usec_t;

#define CW_USEC_PER_SEC  INT64_C(1000000)
#define CW_USEC_PER_MSEC INT64_C(1000)

/* cw_mono_usec: CLOCK_MONOTONIC now, never the event loop's cached time. */
cw_usec_t cw_mono_usec(void);

/* cw_real_usec: CLOCK_REALTIME now (UTC). */
cw_usec_t cw_real_usec(void);

/* cw_cpu_usec: CPU time used so far by the process, all its threads
 * (user and system). */
cw_usec_t cw_cpu_usec(void);

/* cw_time_format: write real time `t` as "YYYY-MM-DDTHH:MM:SS.uuuuuuZ"
 * into buf (at least CW_TIME_STRLEN bytes).  Returns buf. */
#define CW_TIME_STRLEN 32
char *cw_time_format(cw_usec_t t, char *buf, size_t len);

/* cw_time_parse: the inverse of cw_time_format.  Also takes fewer
 * fraction digits (or none) and "+00:00" for "Z"; nothing else.
 * Returns 0, or -1 for anything else or an impossible date. */
int cw_time_parse(const char *text, cw_usec_t *out);

/* cw_duration_parse: parse a duration such as "300", "4s", "250ms", "5m",
 * "1h", "2d" or "1.5s" (a bare number is seconds) into microseconds.
 * Returns 0, or -1 for anything malformed, negative or out of range. */
int cw_duration_parse(const char *text, cw_usec_t *out);

/* cw_usec_to_timeval: split microseconds for libevent. */
struct timeval;
void cw_usec_to_timeval(cw_usec_t usec, struct timeval *tv);

#endif
