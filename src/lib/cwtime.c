/*
 * cwtime.c -- clocks, UTC formatting and duration parsing.
 */
#include "config.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

#include "cwtime.h"

static cw_usec_t
cw_clock_usec(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (cw_usec_t)ts.tv_sec * CW_USEC_PER_SEC + ts.tv_nsec / 1000;
}

cw_usec_t
cw_mono_usec(void)
{
	return cw_clock_usec(CLOCK_MONOTONIC);
}

cw_usec_t
cw_real_usec(void)
{
	return cw_clock_usec(CLOCK_REALTIME);
}

cw_usec_t
cw_cpu_usec(void)
{
	return cw_clock_usec(CLOCK_PROCESS_CPUTIME_ID);
}

char *
cw_time_format(cw_usec_t t, char *buf, size_t len)
{
	time_t secs = (time_t)(t / CW_USEC_PER_SEC);
	long usec = (long)(t % CW_USEC_PER_SEC);
	struct tm tm;

	if (usec < 0) {
		usec += CW_USEC_PER_SEC;
		secs--;
	}
	if (gmtime_r(&secs, &tm) == NULL) {
		snprintf(buf, len, "invalid");
		return buf;
	}
	snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ",
	    tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
	    tm.tm_sec, usec);
	return buf;
}

/* Read exactly `n` digits at *p. */
static int
cw_time_digits(const char **p, int n)
{
	int v = 0;

	for (int i = 0; i < n; i++, (*p)++) {
		if (**p < '0' || **p > '9')
			return -1;
		v = v * 10 + (**p - '0');
	}
	return v;
}

int
cw_time_parse(const char *text, cw_usec_t *out)
{
	const char *p = text;
	struct tm tm, check;
	long usec = 0, scale = 100000;
	time_t secs;

	memset(&tm, 0, sizeof(tm));
	if ((tm.tm_year = cw_time_digits(&p, 4)) < 0 || *p++ != '-' ||
	    (tm.tm_mon = cw_time_digits(&p, 2)) < 0 || *p++ != '-' ||
	    (tm.tm_mday = cw_time_digits(&p, 2)) < 0 || *p++ != 'T' ||
	    (tm.tm_hour = cw_time_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (tm.tm_min = cw_time_digits(&p, 2)) < 0 || *p++ != ':' ||
	    (tm.tm_sec = cw_time_digits(&p, 2)) < 0)
		return -1;
	if (*p == '.') {
		p++;
		if (*p < '0' || *p > '9')
			return -1;
		for (; *p >= '0' && *p <= '9'; p++) {
			if (scale == 0)
				return -1; /* finer than microseconds */
			usec += (*p - '0') * scale;
			scale /= 10;
		}
	}
	if (strcmp(p, "Z") != 0 && strcmp(p, "+00:00") != 0)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	check = tm;
	if ((secs = timegm(&tm)) == (time_t)-1 || tm.tm_mday != check.tm_mday ||
	    tm.tm_mon != check.tm_mon || tm.tm_hour != check.tm_hour ||
	    tm.tm_min != check.tm_min || tm.tm_sec != check.tm_sec)
		return -1;
	*out = (cw_usec_t)secs * CW_USEC_PER_SEC + usec;
	return 0;
}

int
cw_duration_parse(const char *text, cw_usec_t *out)
{
	static const struct {
		const char *suffix;
		double usec;
	} units[] = {
		{ "", 1e6 },
		{ "us", 1 },
		{ "ms", 1e3 },
		{ "s", 1e6 },
		{ "m", 60e6 },
		{ "min", 60e6 },
		{ "h", 3600e6 },
		{ "d", 86400e6 },
		{ "w", 604800e6 },
	};
	char *end;
	double value;

	if (text == NULL || *text == '\0' || *text == '-' || *text == '+')
		return -1;
	errno = 0;
	value = strtod(text, &end);
	if (errno != 0 || end == text || !isfinite(value) || value < 0)
		return -1;
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcmp(end, units[i].suffix) != 0)
			continue;
		value *= units[i].usec;
		/* Ten years is far beyond any sensible interval. */
		if (value > 315576000e6)
			return -1;
		*out = (cw_usec_t)llround(value);
		return 0;
	}
	return -1;
}

void
cw_usec_to_timeval(cw_usec_t usec, struct timeval *tv)
{
	if (usec < 0)
		usec = 0;
	tv->tv_sec = (time_t)(usec / CW_USEC_PER_SEC);
	tv->tv_usec = (suseconds_t)(usec % CW_USEC_PER_SEC);
}
