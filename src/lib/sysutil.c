/*
 * sysutil.c -- small process-level helpers shared by the commands.
 */
#include "config.h"

#include <sys/resource.h>
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <string.h>

#include <event2/event.h>

#include "log.h"
#include "sysutil.h"

long
sysutil_raise_nofile(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
		log_warn("%s: getrlimit", __func__);
		return -1;
	}
	if (rl.rlim_cur != rl.rlim_max) {
		/* Linux refuses an infinite descriptor limit: ask for 2^20. */
		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY ? 1048576 :
		                                             rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) == -1)
			log_warn("%s: setrlimit %llu", __func__,
			    (unsigned long long)rl.rlim_cur);
		if (getrlimit(RLIMIT_NOFILE, &rl) == -1) {
			log_warn("%s: getrlimit", __func__);
			return -1;
		}
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur > LONG_MAX)
		return LONG_MAX;
	return (long)rl.rlim_cur;
}

struct event_base *
sysutil_event_base(void)
{
	struct event_config *cfg;
	struct event_base *base;

	if ((cfg = event_config_new()) == NULL)
		return NULL;
	event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
	base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	return base;
}

int
sysutil_mkdirs(const char *dir)
{
	char path[PATH_MAX];
	size_t len = strlen(dir);

	if (len == 0 || len >= sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(path, dir, len + 1);
	while (len > 1 && path[len - 1] == '/')
		path[--len] = '\0';
	for (char *p = path + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char saved = *p;
		*p = '\0';
		if (mkdir(path, saved == '\0' ? 0700 : 0755) == -1 &&
		    errno != EEXIST)
			return -1;
		*p = saved;
		if (saved == '\0')
			break;
	}
	return 0;
}
