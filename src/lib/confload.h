/*
 * confload.h -- the one configuration loader of both programs.
 *
 * Files are read by a small preprocessor of ours and then parsed by
 * libconfuse from memory.  The preprocessor strips comments, expands
 * include("FILE") lines relative to the including file, checks that
 * braces balance and records where every line came from, so that every
 * problem is reported as "FILE:LINE: message" and all of them are
 * reported in one run, sorted by line.  It exists because of two
 * libconfuse 3.3 bugs: each comment adds two to its line count, and a
 * comment inside a list is a syntax error.
 *
 * Two ways in:
 * - conf_file_load(): a whole file against an option table, with every
 *   option set twice refused; the program reads the tree afterwards
 *   (corewatch-collector).
 * - struct conf_loader with conf_loader_parse(): for a schema whose
 *   sections check themselves in libconfuse's validation callbacks as
 *   they close (the probe's corewatch.conf, src/agent/conf.c); the
 *   conf_sec helpers below report a section's problems at their lines.
 */
#ifndef CW_CONFLOAD_H
#define CW_CONFLOAD_H

#include <stdbool.h>
#include <stddef.h>

#include <confuse.h>

#include "cwtime.h"

#define CONF_INCLUDE_DEPTH 8

/* Where line n of the preprocessed text came from. */
struct conf_origin {
	int file; /* index into files */
	int line;
};

/* One problem found, kept until all are sorted by line. */
struct conf_problem {
	int key;    /* preprocessed line; INT_MAX: none */
	size_t seq; /* order of discovery, for ties */
	char *text; /* "FILE:LINE: message" */
};

/* Where an option (value `idx` of a list) was set. */
struct conf_optline {
	const cfg_t *sec;
	const char *opt;
	unsigned idx;
	int line;       /* in the preprocessed text */
	unsigned count; /* idx 0 of a list: values so far */
	bool ended;     /* idx 0 of a list: its closing call seen */
};

/*
 * One load in progress.  Zero it before use; conf_loader_release()
 * frees what it holds.  A schema embeds it in a struct of its own to
 * keep what its sections build.  `origin[line - 1].line` is the line in
 * its own file of preprocessed line `line`; files[0] is the main file.
 */
struct conf_loader {
	/* The preprocessed text and the origin of each of its lines. */
	char *text;
	size_t len, cap;
	struct conf_origin *origin;
	size_t nlines, origin_cap;
	char **files; /* display names; [0] is the main file */
	size_t nfiles;
	char *chain[CONF_INCLUDE_DEPTH + 1]; /* real paths being read */
	int depth;

	/* Lines of the top-level '{', in order: section i opens there. */
	int *openings;
	size_t nopenings, next_opening;

	struct conf_optline *optlines;
	size_t noptlines, optlines_cap;

	struct conf_problem *problems;
	size_t nproblems;
	size_t nerrors; /* found, including those not kept */
	bool oom;
};

/* A section being checked, for messages. */
struct conf_sec {
	struct conf_loader *l;
	cfg_t *sec;
	const char *what; /* "probe", "dns \"root-soa\""; NULL for the
			   * file's top level */
	int line;         /* where it opens */
};

/*
 * conf_loader_parse: preprocess `path` into l and parse it into `cfg`
 * (made by cfg_init(), validation callbacks already set; the caller
 * frees it).  While libconfuse parses, conf_loading() returns l.
 * Returns 0, or -1 with the problems noted in l (l->oom on out of
 * memory).  Problems noted by the callbacks do not make it fail: the
 * caller looks at l->nerrors.
 */
int conf_loader_parse(struct conf_loader *l, const char *path, cfg_t *cfg);

/* conf_loading: the load being parsed, for libconfuse's callbacks
 * (which carry no user pointer); NULL outside conf_loader_parse(). */
struct conf_loader *conf_loading(void);

/* conf_loader_release: free what l holds (not l itself). */
void conf_loader_release(struct conf_loader *l);

/* conf_problems_text: every problem noted, sorted by line, one per line
 * (at most 50, then "(N more)"), in a new string the caller frees;
 * NULL when out of memory. */
char *conf_problems_text(struct conf_loader *l);

/* conf_error: note "FILE:LINE: message" for preprocessed line `line`
 * (0: the main file, without a line). */
void conf_error(struct conf_loader *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conf_error_file: note "FILE:LINE: message" for line `line` of `file`
 * itself (0: without a line), for problems found outside the text. */
void conf_error_file(struct conf_loader *l, const char *file, int line,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* conf_line_of: the preprocessed line where value idx of option `opt`
 * of `sec` was set; `fallback` when it was not set in the file. */
int conf_line_of(struct conf_loader *l, const cfg_t *sec, const char *opt,
    unsigned idx, int fallback);

/* conf_given: whether `opt` of `sec` appears in the file. */
bool conf_given(struct conf_loader *l, const cfg_t *sec, const char *opt);

/* conf_record: the validation callback to set on every option: notes
 * where it was set (for conf_line_of) and refuses an option set twice.
 * Always returns 0, so that one run reports every problem. */
int conf_record(cfg_t *cfg, cfg_opt_t *opt);

/*
 * conf_join: `name`, written at preprocessed line `line`, as the program
 * opens it (doc/corewatch.conf.5): an absolute name as written, a
 * relative one joined to the directory of the file it is written in.
 * Returns a new string, or NULL with a reason in `why` (the directory
 * cannot be known, the result is too long, or out of memory: l->oom set).
 */
char *conf_join(struct conf_loader *l, int line, const char *name, char *why,
    size_t whylen);

/* conf_section: fill s for the section just closed under option `opt`
 * of `root` (its tree and the line where it opened); s->what is left to
 * the caller. */
void conf_section(struct conf_loader *l, cfg_t *root, cfg_opt_t *opt,
    struct conf_sec *s);

/* conf_sec_error: note a problem with option `opt` (value idx) of a
 * section, at the option's line, or the section's when opt is NULL or
 * unset; prefixed with s->what. */
void conf_sec_error(struct conf_sec *s, const char *opt, unsigned idx,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* conf_text_ok: printable, no control characters, 1 to max bytes. */
bool conf_text_ok(const char *text, size_t max);

/* conf_token_ok: a name of 1 to max letters, digits, '.', '_', '-'. */
bool conf_token_ok(const char *text, size_t max);

/* conf_sec_path: option `opt` of s->sec, which names a `kind` ("file",
 * "directory"), into *out (freed first; a new string), joined by
 * conf_join().  Returns 0, or -1 (noted). */
int conf_sec_path(struct conf_sec *s, const char *opt, const char *kind,
    char **out);

/* conf_duration: option `opt` as a duration ("30s", "250ms"); `dflt`
 * when not set.  Returns 0, or -1 (noted). */
int conf_duration(struct conf_sec *s, const char *opt, cw_usec_t dflt,
    cw_usec_t *out);

/* conf_int: integer option `opt` within [min, max].  Returns 0, or -1
 * (noted). */
int conf_int(struct conf_sec *s, const char *opt, long min, long max,
    long *out);

/*
 * conf_file: a whole file of a program that reads its tree itself
 * (corewatch-collector), read through the same preprocessor: comments,
 * include("FILE") relative to the including file, balanced braces, an
 * option set twice refused, and every message as "FILE:LINE: ...".
 */
struct conf_file;

/* conf_file_load: read `path` and parse it against `opts` (CFG_END()
 * terminated; must outlive the result).  Returns the parsed file, or
 * NULL: then *errors (when errors is not NULL) is a string the caller
 * frees, one "FILE:LINE: message" per line.  Logs nothing. */
struct conf_file *conf_file_load(const char *path, cfg_opt_t *opts,
    char **errors);

/* conf_file_cfg: the parsed tree, for cfg_getstr() and the like; owned
 * by `f`. */
cfg_t *conf_file_cfg(const struct conf_file *f);

/* conf_file_error: note a problem with top-level option `opt`, reported
 * as "FILE:LINE: opt: message" (the line where `opt` is set). */
void conf_file_error(struct conf_file *f, const char *opt, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* conf_file_join: `name`, a file named by top-level option `opt`, as
 * the program should open it: an absolute name as it is, a relative one
 * joined to the directory of the file `opt` is written in (as
 * corewatch.conf(5) says of the probe's options).  Returns a string the
 * caller frees, or NULL after noting the problem (conf_file_error). */
char *conf_file_join(struct conf_file *f, const char *opt, const char *name);

/* conf_file_errors: the problems noted so far, one per line, for the
 * caller to free; NULL when there are none. */
char *conf_file_errors(struct conf_file *f);

/* conf_file_free: free `f` and its tree; NULL is fine. */
void conf_file_free(struct conf_file *f);

#endif
