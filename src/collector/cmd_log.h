/*
 * cmd_log.h -- `corewatch-collector keygen` (the log key) and
 * `corewatch-collector log checkpoint|key|inclusion|consistency`: the
 * collector's log from the command line, as the HTTP service gives it
 * (log_http.h, corewatch-collector(8), doc/evidence.md).
 *
 * Each takes argc/argv starting at its own name and `conf_of`, which
 * reads what it needs of the configuration, and returns the exit
 * status: 0 done, 1 the database, the key or the output failed, 2 a
 * usage error or a value refused (a message on stderr).
 */
#ifndef CW_CMD_LOG_H
#define CW_CMD_LOG_H

/* What the log commands take from the configuration: each a string the
 * callee fills (malloc'd; origin may stay NULL). */
struct cmd_log_conf {
	char *db;     /* the database URL */
	char *key;    /* the log key file */
	char *origin; /* log_origin, or NULL for the default */
};

/*
 * cmd_log_conf_fn: fill `out` from the configuration file `conf_path`
 * (NULL: none, the defaults), for command `cmd`.  Returns 0, or -1 with
 * the problem printed.  The caller frees the strings.
 */
typedef int cmd_log_conf_fn(const char *cmd, const char *conf_path,
    struct cmd_log_conf *out);

/* keygen [-c FILE] [--key FILE]: a new log key (never over an existing
 * file); prints its verifier key. */
int collector_cmd_keygen(int argc, char **argv, cmd_log_conf_fn *conf_of);

/* log checkpoint | key | inclusion --index N --size M | consistency
 * --old M --new N, each [-c FILE] [--db URL] [--key FILE]. */
int collector_cmd_log(int argc, char **argv, cmd_log_conf_fn *conf_of);

#endif /* CW_CMD_LOG_H */
