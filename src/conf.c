/*
 * conf.c -- loading corewatch.conf with libconfuse.
 *
 * The file is first read by a small preprocessor of ours, which strips
 * comments, expands include("FILE") lines and checks that braces
 * balance, and records where every line came from.  libconfuse 3.3 then
 * parses the result from memory.  The preprocessor exists because of two
 * libconfuse 3.3 bugs: each "#" or "//" comment adds two to its line
 * count, so errors after a comment name the wrong line, and a comment
 * inside a list is a syntax error.  It also makes include paths relative
 * to the including file, and an unclosed section an error.
 *
 * Checks run in libconfuse's validation callbacks: one records the line
 * of every option as it is set, and the callback of each section builds
 * the section's struct, reporting every problem with its line.  The
 * callbacks return 0 even after a problem, so one run reports them all.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <confuse.h>

#include "catalog.h"
#include "conf.h"
#include "size.h"
#include "tld.h"
#include "upload.h"

#define CONF_FILE_MAX (1024 * 1024)	/* bytes per file */
#define CONF_INCLUDE_DEPTH 8
#define CONF_ERRORS_MAX 50	/* shown; more are counted */
#define CONF_ERRORS_KEPT 500
#define CONF_INTERVAL_MIN CW_USEC_PER_SEC
#define CONF_SPREAD_DEFAULT (30 * CW_USEC_PER_SEC)
#define CONF_INTERVAL_DEFAULT (300 * CW_USEC_PER_SEC)
#define CONF_LOCATION_MAX 256

/* Where line n of the preprocessed text came from. */
struct conf_origin {
	int file;		/* index into files */
	int line;
};

/* One problem found, kept until all are sorted by line. */
struct conf_problem {
	int key;		/* preprocessed line; INT_MAX: none */
	size_t seq;		/* order of discovery, for ties */
	char *text;		/* "FILE:LINE: message" */
};

/* Where an option (value `idx` of a list) was set. */
struct conf_optline {
	const cfg_t *sec;
	const char *opt;
	unsigned idx;
	int line;		/* in the preprocessed text */
	unsigned count;		/* idx 0 of a list: values so far */
	bool ended;		/* idx 0 of a list: its closing call seen */
};

/* A measurement's title and the line of its section, for names unique
 * across dns and http sections. */
struct conf_name {
	const char *name;	/* the title, owned by libconfuse's tree */
	int line;		/* in the preprocessed text */
};

struct conf_loader {
	/* The preprocessed text and the origin of each of its lines. */
	char *text;
	size_t len, cap;
	struct conf_origin *origin;
	size_t nlines, origin_cap;
	char **files;		/* display names; [0] is the main file */
	size_t nfiles;
	char *chain[CONF_INCLUDE_DEPTH + 1];	/* real paths being read */
	int depth;

	/* Lines of the top-level '{', in order: section i opens there. */
	int *openings;
	size_t nopenings, next_opening;

	struct conf_optline *optlines;
	size_t noptlines, optlines_cap;

	struct conf_name *names;	/* of every measurement section */
	size_t nnames;

	struct config *conf;
	int probe_line;		/* of the probe section; 0: none */
	int output_line;
	int tld_line;		/* line of the tld_discovery section */
	int spool_line;
	int upload_line;

	struct conf_problem *problems;
	size_t nproblems;
	size_t nerrors;		/* found, including those not kept */
	bool oom;
};

/*
 * The load in progress.  libconfuse's callbacks carry no user pointer,
 * so this is the one way to reach the loader from them; libconfuse's own
 * lexer keeps global state too, so loads never overlap.  Set and cleared
 * by config_load() alone.
 */
static struct conf_loader *conf_loading;

/* --- Errors --- */

/* conf_problem_add: keep `text` as found at preprocessed line `line`. */
static void
conf_problem_add(struct conf_loader *l, int line, const char *text)
{
	struct conf_problem *grown;
	char *copy;

	l->nerrors++;
	if (l->nproblems >= CONF_ERRORS_KEPT)
		return;
	if ((grown = reallocarray(l->problems, l->nproblems + 1,
	    sizeof(*grown))) == NULL || (copy = strdup(text)) == NULL) {
		if (grown != NULL)
			l->problems = grown;
		l->oom = true;
		return;
	}
	l->problems = grown;
	l->problems[l->nproblems].key = line > 0 ? line : INT_MAX;
	l->problems[l->nproblems].seq = l->nproblems;
	l->problems[l->nproblems].text = copy;
	l->nproblems++;
}

/* conf_verror: record "FILE:LINE: message" for line `line` of the
 * preprocessed text (0: the main file, without a line). */
static void conf_verror(struct conf_loader *l, int line, const char *fmt,
    va_list ap) __attribute__((format(printf, 3, 0)));

static void
conf_verror(struct conf_loader *l, int line, const char *fmt, va_list ap)
{
	char msg[768], full[1024];
	const struct conf_origin *o;

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if ((size_t)line > l->nlines)
		line = (int)l->nlines;
	if (l->nfiles == 0) {
		snprintf(full, sizeof(full), "%s", msg);
	} else if (line <= 0) {
		snprintf(full, sizeof(full), "%s: %s", l->files[0], msg);
	} else {
		o = &l->origin[line - 1];
		snprintf(full, sizeof(full), "%s:%d: %s", l->files[o->file],
		    o->line, msg);
	}
	conf_problem_add(l, line, full);
}

static void conf_error(struct conf_loader *l, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conf_error(struct conf_loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verror(l, line, fmt, ap);
	va_end(ap);
}

/* conf_error_file: an error in file `file` at its own line `line`, for
 * the preprocessor, which knows real lines. */
static void conf_error_file(struct conf_loader *l, const char *file,
    int line, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
conf_error_file(struct conf_loader *l, const char *file, int line,
    const char *fmt, ...)
{
	char msg[768], full[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (line > 0)
		snprintf(full, sizeof(full), "%s:%d: %s", file, line, msg);
	else
		snprintf(full, sizeof(full), "%s: %s", file, msg);
	conf_problem_add(l, 0, full);
}

static int
conf_problem_cmp(const void *a, const void *b)
{
	const struct conf_problem *pa = a, *pb = b;

	if (pa->key != pb->key)
		return pa->key < pb->key ? -1 : 1;
	return pa->seq < pb->seq ? -1 : pa->seq > pb->seq;
}

/* conf_problems_text: every problem kept, in the order of the file, one
 * per line; NULL when out of memory. */
static char *
conf_problems_text(struct conf_loader *l)
{
	size_t len = 64, shown = 0, o = 0;
	char *text;

	qsort(l->problems, l->nproblems, sizeof(*l->problems),
	    conf_problem_cmp);
	for (size_t i = 0; i < l->nproblems; i++)
		len += strlen(l->problems[i].text) + 1;
	if ((text = malloc(len)) == NULL)
		return NULL;
	for (size_t i = 0; i < l->nproblems && shown < CONF_ERRORS_MAX;
	    i++, shown++) {
		size_t n = strlen(l->problems[i].text);
		if (o > 0)
			text[o++] = '\n';
		memcpy(text + o, l->problems[i].text, n);
		o += n;
	}
	if (l->nerrors > shown) {
		/* The 64 bytes kept in len hold this line; were it longer,
		 * snprintf's count would run past text: cut it instead. */
		int n = snprintf(text + o, len - o, "%s(%zu more)",
		    o > 0 ? "\n" : "", l->nerrors - shown);
		if (n > 0)
			o += (size_t)n < len - o ? (size_t)n : len - o - 1;
	}
	text[o] = '\0';
	return text;
}

/* conf_cfg_reword: libconfuse's messages in our words where they are
 * unclear to someone who never heard of libconfuse. */
static void
conf_cfg_reword(char *msg, size_t len)
{
	static const struct {
		const char *from, *to;
	} words[] = {
		{"no such option ", "unknown key "},
		{"found duplicate title ", "another measurement is named "},
	};
	char rest[512];

	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].from);
		if (strncmp(msg, words[i].from, n) != 0)
			continue;
		snprintf(rest, sizeof(rest), "%s", msg + n);
		snprintf(msg, len, "%s%s", words[i].to, rest);
		return;
	}
}

/* conf_cfg_error: libconfuse's error function. */
static void conf_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void
conf_cfg_error(cfg_t *cfg, const char *fmt, va_list ap)
{
	struct conf_loader *l = conf_loading;
	char msg[512];

	if (l == NULL)
		return;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	conf_cfg_reword(msg, sizeof(msg));
	if (cfg != NULL && cfg->title != NULL)
		conf_error(l, cfg->line, "%s \"%s\": %s", cfg->name, cfg->title,
		    msg);
	else if (cfg != NULL && cfg->name != NULL &&
	    strcmp(cfg->name, "root") != 0)
		conf_error(l, cfg->line, "%s: %s", cfg->name, msg);
	else
		conf_error(l, cfg != NULL ? cfg->line : 0, "%s", msg);
}

/* --- The preprocessor --- */

enum conf_pp_state {
	CONF_PP_NORMAL,
	CONF_PP_DQUOTE,
	CONF_PP_SQUOTE,
	CONF_PP_COMMENT,	/* inside slash-star */
};

static int
conf_pp_grow(struct conf_loader *l, size_t more)
{
	if (l->len + more + 1 > l->cap) {
		size_t cap = l->cap ? l->cap : 4096;
		char *grown;
		while (cap < l->len + more + 1)
			cap *= 2;
		if ((grown = realloc(l->text, cap)) == NULL)
			return -1;
		l->text = grown;
		l->cap = cap;
	}
	return 0;
}

/* conf_pp_emit: append one line of text (without newline) and its
 * origin. */
static int
conf_pp_emit(struct conf_loader *l, const char *line, size_t n, int file,
    int lineno)
{
	if (l->nlines == l->origin_cap) {
		size_t cap = l->origin_cap ? l->origin_cap * 2 : 256;
		struct conf_origin *grown = reallocarray(l->origin, cap,
		    sizeof(*grown));
		if (grown == NULL)
			return -1;
		l->origin = grown;
		l->origin_cap = cap;
	}
	if (conf_pp_grow(l, n + 1) == -1)
		return -1;
	memcpy(l->text + l->len, line, n);
	l->len += n;
	l->text[l->len++] = '\n';
	l->text[l->len] = '\0';
	l->origin[l->nlines].file = file;
	l->origin[l->nlines].line = lineno;
	l->nlines++;
	return 0;
}

/* conf_pp_include_name: if `line` (comments already removed) is exactly
 * include("NAME"), copy NAME to name and return 1; 0 if the line is not
 * an include; -1 if it starts like one but is malformed. */
static int
conf_pp_include_name(const char *line, size_t n, char *name, size_t len)
{
	const char *p = line, *end = line + n, *q;

	while (p < end && isspace((unsigned char)*p))
		p++;
	if ((size_t)(end - p) < 7 || strncmp(p, "include", 7) != 0)
		return 0;
	p += 7;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end || *p != '(')
		return 0;
	p++;
	while (p < end && isspace((unsigned char)*p))
		p++;
	if (p == end || *p != '"')
		return -1;
	q = ++p;
	while (q < end && *q != '"')
		q++;
	if (q == end || q == p || (size_t)(q - p) >= len)
		return -1;
	memcpy(name, p, (size_t)(q - p));
	name[q - p] = '\0';
	for (p = q + 1; p < end && isspace((unsigned char)*p); p++)
		;
	if (p == end || *p != ')')
		return -1;
	for (p++; p < end && isspace((unsigned char)*p); p++)
		;
	return p == end ? 1 : -1;
}

/* conf_pp_read: the whole file, NUL-terminated, or NULL with errno. */
static char *
conf_pp_read(const char *path, size_t *len)
{
	FILE *fp;
	char *data;
	size_t n;

	if ((fp = fopen(path, "re")) == NULL)
		return NULL;
	if ((data = malloc(CONF_FILE_MAX + 1)) == NULL) {
		fclose(fp);
		errno = ENOMEM;
		return NULL;
	}
	n = fread(data, 1, CONF_FILE_MAX + 1, fp);
	if (ferror(fp) || n > CONF_FILE_MAX) {
		int err = ferror(fp) ? errno : EFBIG;
		fclose(fp);
		free(data);
		errno = err;
		return NULL;
	}
	fclose(fp);
	data[n] = '\0';
	*len = n;
	return data;
}

static int conf_pp_file(struct conf_loader *l, const char *path,
    const char *from, int from_line);

/* conf_pp_include: expand include("name") found in file `from`. */
static int
conf_pp_include(struct conf_loader *l, const char *name, int from,
    int from_line)
{
	const char *dir_end;
	char path[PATH_MAX];

	/* A relative name is relative to the including file. */
	dir_end = strrchr(l->files[from], '/');
	if (name[0] == '/' || dir_end == NULL) {
		if (snprintf(path, sizeof(path), "%s", name) >=
		    (int)sizeof(path))
			goto toolong;
	} else if (snprintf(path, sizeof(path), "%.*s/%s",
	    (int)(dir_end - l->files[from]), l->files[from], name) >=
	    (int)sizeof(path))
		goto toolong;
	if (l->depth >= CONF_INCLUDE_DEPTH) {
		conf_error_file(l, l->files[from], from_line,
		    "include(\"%s\"): includes nested more than %d deep",
		    name, CONF_INCLUDE_DEPTH);
		return -1;
	}
	return conf_pp_file(l, path, l->files[from], from_line);
toolong:
	conf_error_file(l, l->files[from], from_line,
	    "include(\"%s\"): path too long", name);
	return -1;
}

/* conf_pp_line: strip comments from one physical line into out,
 * carrying the quote/comment state across lines. */
static size_t
conf_pp_line(const char *p, size_t n, enum conf_pp_state *state, char *out)
{
	size_t o = 0;

	for (size_t i = 0; i < n; i++) {
		char c = p[i], next = i + 1 < n ? p[i + 1] : '\0';

		switch (*state) {
		case CONF_PP_COMMENT:
			if (c == '*' && next == '/') {
				*state = CONF_PP_NORMAL;
				out[o++] = ' ';	/* keep tokens apart */
				i++;
			}
			continue;
		case CONF_PP_DQUOTE:
		case CONF_PP_SQUOTE:
			out[o++] = c;
			if (c == '\\' && i + 1 < n)
				out[o++] = p[++i];
			else if (c == (*state == CONF_PP_DQUOTE ? '"' : '\''))
				*state = CONF_PP_NORMAL;
			continue;
		case CONF_PP_NORMAL:
			break;
		}
		if (c == '#' || (c == '/' && next == '/'))
			break;
		if (c == '/' && next == '*') {
			*state = CONF_PP_COMMENT;
			i++;
			continue;
		}
		if (c == '"')
			*state = CONF_PP_DQUOTE;
		else if (c == '\'')
			*state = CONF_PP_SQUOTE;
		out[o++] = c;
	}
	return o;
}

/* conf_pp_in_chain: true when `real` is already being read (a loop). */
static bool
conf_pp_in_chain(const struct conf_loader *l, const char *real)
{
	for (int i = 0; i < l->depth; i++)
		if (strcmp(l->chain[i], real) == 0)
			return true;
	return false;
}

/* conf_pp_file: preprocess `path`, included from `from` (NULL for the
 * main file) at from_line. */
static int
conf_pp_file(struct conf_loader *l, const char *path, const char *from,
    int from_line)
{
	enum conf_pp_state state = CONF_PP_NORMAL, start;
	char *data, *out = NULL, *real, name[PATH_MAX], **grown;
	size_t len, pos = 0;
	int fidx, lineno = 0, state_line = 0, rc = -1;

	if ((data = conf_pp_read(path, &len)) == NULL) {
		if (from == NULL)
			conf_error_file(l, path, 0, "%s", strerror(errno));
		else
			conf_error_file(l, from, from_line,
			    "include(\"%s\"): %s", path, strerror(errno));
		return -1;
	}
	if (memchr(data, '\0', len) != NULL) {
		conf_error_file(l, path, 0, "contains a NUL byte");
		free(data);
		return -1;
	}
	if ((real = realpath(path, NULL)) == NULL ||
	    conf_pp_in_chain(l, real)) {
		if (real != NULL)
			conf_error_file(l, from, from_line,
			    "include(\"%s\"): includes itself", path);
		else
			conf_error_file(l, path, 0, "%s", strerror(errno));
		free(real);
		free(data);
		return -1;
	}
	if ((grown = reallocarray(l->files, l->nfiles + 1,
	    sizeof(*grown))) == NULL || (out = malloc(len + 1)) == NULL ||
	    (grown[l->nfiles] = strdup(path)) == NULL) {
		if (grown != NULL)
			l->files = grown;
		l->oom = true;
		free(out);
		free(real);
		free(data);
		return -1;
	}
	l->files = grown;
	fidx = (int)l->nfiles++;
	l->chain[l->depth++] = real;

	while (pos < len || (pos == len && lineno == 0 && len == 0)) {
		const char *eol = memchr(data + pos, '\n', len - pos);
		size_t n = eol != NULL ? (size_t)(eol - (data + pos)) :
		    len - pos;
		size_t o;
		int inc;

		lineno++;
		start = state;
		if (state == CONF_PP_NORMAL)
			state_line = lineno;
		o = conf_pp_line(data + pos, n, &state, out);
		pos += n + (eol != NULL ? 1 : 0);
		if (start == CONF_PP_NORMAL && state == CONF_PP_NORMAL &&
		    (inc = conf_pp_include_name(out, o, name,
		    sizeof(name))) != 0) {
			if (inc == -1) {
				conf_error_file(l, path, lineno, "malformed "
				    "include: write include(\"FILE\") alone "
				    "on its line");
				goto done;
			}
			if (conf_pp_include(l, name, fidx, lineno) == -1)
				goto done;
			continue;
		}
		if (conf_pp_emit(l, out, o, fidx, lineno) == -1) {
			l->oom = true;
			goto done;
		}
		if (len == 0)
			break;
	}
	if (state == CONF_PP_COMMENT)
		conf_error_file(l, path, state_line, "comment never closed");
	else if (state != CONF_PP_NORMAL)
		conf_error_file(l, path, state_line, "string never closed");
	else
		rc = 0;
done:
	l->depth--;
	free(l->chain[l->depth]);
	l->chain[l->depth] = NULL;
	free(out);
	free(data);
	return rc;
}

/* conf_pp_braces: check the braces of the preprocessed text balance and
 * record the line of every top-level '{' (where a section opens). */
static int
conf_pp_braces(struct conf_loader *l)
{
	char quote = '\0';
	int line = 1, depth = 0, open_line = 0;

	for (const char *p = l->text; p != NULL && *p != '\0'; p++) {
		if (*p == '\n')
			line++;
		if (quote != '\0') {
			if (*p == '\\' && p[1] != '\0')
				p++;
			else if (*p == quote)
				quote = '\0';
			continue;
		}
		if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == '$' && p[1] == '{') {
			/* ${VAR}: libconfuse's environment substitution */
			const char *close = strchr(p, '}');
			if (close != NULL && memchr(p, '\n', (size_t)(close -
			    p)) == NULL)
				p = close;
		} else if (*p == '{') {
			if (depth++ == 0) {
				int *grown = reallocarray(l->openings,
				    l->nopenings + 1, sizeof(*grown));
				if (grown == NULL) {
					l->oom = true;
					return -1;
				}
				l->openings = grown;
				l->openings[l->nopenings++] = line;
				open_line = line;
			}
		} else if (*p == '}') {
			if (depth == 0) {
				conf_error(l, line, "'}' without a matching "
				    "'{'");
				return -1;
			}
			depth--;
		}
	}
	if (depth > 0) {
		conf_error(l, open_line, "'{' never closed");
		return -1;
	}
	return 0;
}

/* --- Where options were set --- */

static struct conf_optline *
conf_optline_find(struct conf_loader *l, const cfg_t *sec, const char *opt,
    unsigned idx)
{
	for (size_t i = 0; i < l->noptlines; i++) {
		struct conf_optline *o = &l->optlines[i];
		if (o->sec == sec && o->idx == idx && strcmp(o->opt, opt) == 0)
			return o;
	}
	return NULL;
}

/* conf_line_of: the line where value idx of option `opt` of `sec` was
 * set; `fallback` when it was not set in the file. */
static int
conf_line_of(struct conf_loader *l, const cfg_t *sec, const char *opt,
    unsigned idx, int fallback)
{
	struct conf_optline *o = conf_optline_find(l, sec, opt, idx);

	return o != NULL ? o->line : fallback;
}

/* conf_given: whether `opt` of `sec` appears in the file. */
static bool
conf_given(struct conf_loader *l, const cfg_t *sec, const char *opt)
{
	return conf_optline_find(l, sec, opt, 0) != NULL;
}

/* conf_record_twice: report an option given a second time. */
static void
conf_record_twice(struct conf_loader *l, cfg_t *cfg, const char *opt,
    int first)
{
	int line = l->origin[first - 1].line;

	if (cfg->title != NULL)
		conf_error(l, cfg->line, "%s \"%s\": %s is set twice (first "
		    "on line %d)", cfg->name, cfg->title, opt, line);
	else if (strcmp(cfg->name, "root") != 0)
		conf_error(l, cfg->line, "%s: %s is set twice (first on line "
		    "%d)", cfg->name, opt, line);
	else
		conf_error(l, cfg->line, "%s is set twice (first on line %d)",
		    opt, line);
}

static struct conf_optline *
conf_optline_add(struct conf_loader *l, const cfg_t *sec, const char *opt,
    unsigned idx, int line)
{
	struct conf_optline *o, *grown;

	if (l->noptlines == l->optlines_cap) {
		size_t cap = l->optlines_cap ? l->optlines_cap * 2 : 64;
		if ((grown = reallocarray(l->optlines, cap,
		    sizeof(*grown))) == NULL) {
			l->oom = true;
			return NULL;
		}
		l->optlines = grown;
		l->optlines_cap = cap;
	}
	o = &l->optlines[l->noptlines++];
	memset(o, 0, sizeof(*o));
	o->sec = sec;
	o->opt = opt;
	o->idx = idx;
	o->line = line;
	return o;
}

/*
 * conf_record: validation callback of every option: note its line, and
 * reject an option set twice.  libconfuse calls it once per value of a
 * single-valued option, and for a list once per value added and once
 * more at the closing brace; "+=" appends, "=" starts the list afresh.
 */
static int
conf_record(cfg_t *cfg, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	unsigned n = cfg_opt_size(opt);
	struct conf_optline *first;

	if (l == NULL)
		return 0;
	first = conf_optline_find(l, cfg, opt->name, 0);
	if (!(opt->flags & CFGF_LIST)) {
		if (first != NULL)
			conf_record_twice(l, cfg, opt->name, first->line);
		else
			conf_optline_add(l, cfg, opt->name, 0, cfg->line);
		return 0;
	}
	if (first == NULL) {
		if ((first = conf_optline_add(l, cfg, opt->name, 0,
		    cfg->line)) == NULL)
			return 0;
	} else if (n == first->count && !first->ended) {
		first->ended = true;		/* the closing brace */
		return 0;
	} else if (n <= first->count) {
		conf_record_twice(l, cfg, opt->name, first->line);
		first->count = n;
		return 0;
	}
	first->ended = false;
	first->count = n;
	if (n > 1 && conf_optline_find(l, cfg, opt->name, n - 1) == NULL)
		conf_optline_add(l, cfg, opt->name, n - 1, cfg->line);
	return 0;
}

/* --- Values --- */

/* A section being checked, for messages. */
struct conf_sec {
	struct conf_loader *l;
	cfg_t *sec;
	const char *what;	/* "probe", "dns \"root-soa\""; NULL for the
				 * file's top level */
	int line;		/* where it opens */
};

static void conf_sec_error(struct conf_sec *s, const char *opt,
    unsigned idx, const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* conf_sec_error: an error about option `opt` (value idx) of a section,
 * at the option's line, or the section's when opt is NULL or unset. */
static void
conf_sec_error(struct conf_sec *s, const char *opt, unsigned idx,
    const char *fmt, ...)
{
	char msg[640];
	va_list ap;
	int line = s->line;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (opt != NULL)
		line = conf_line_of(s->l, s->sec, opt, idx, s->line);
	if (s->what == NULL)
		conf_error(s->l, line, "%s", msg);
	else
		conf_error(s->l, line, "%s: %s", s->what, msg);
}

/* conf_text_ok: printable, no control characters, at most max bytes. */
static bool
conf_text_ok(const char *text, size_t max)
{
	size_t n = strlen(text);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			return false;
	return true;
}

/* conf_token_ok: a name: letters, digits, '.', '_' and '-'. */
static bool
conf_token_ok(const char *text, size_t max)
{
	size_t n = strlen(text);

	if (n == 0 || n > max)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)text[i];
		if (!isalnum(c) && c != '.' && c != '_' && c != '-')
			return false;
	}
	return true;
}

/* --- Paths --- */

/* conf_path_dir: the directory of the file that preprocessed line `line`
 * comes from, absolute (the working directory joined to a file named
 * relative to it), without a final '/' ("" for the root).  Returns 0, or
 * -1 with errno. */
static int
conf_path_dir(struct conf_loader *l, int line, char *dir, size_t len)
{
	const char *file, *slash;
	char cwd[PATH_MAX];
	int n, flen;

	file = l->files[line > 0 && (size_t)line <= l->nlines ?
	    l->origin[line - 1].file : 0];
	while (file[0] == '.' && file[1] == '/')
		for (file += 2; *file == '/'; file++)
			;
	slash = strrchr(file, '/');
	flen = slash == NULL ? 0 : (int)(slash - file);
	if (file[0] == '/')
		n = snprintf(dir, len, "%.*s", flen, file);
	else if (getcwd(cwd, sizeof(cwd)) == NULL)
		return -1;
	else
		n = snprintf(dir, len, "%s%s%.*s", strcmp(cwd, "/") == 0 ? "" :
		    cwd, flen > 0 ? "/" : "", flen, file);
	if (n < 0 || (size_t)n >= len) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/*
 * conf_join: `name`, written at preprocessed line `line`, as the program
 * opens it (doc/corewatch.conf.5): an absolute name as written, a
 * relative one joined to the directory of the file it is written in.
 * Returns a new string, or NULL with a reason in `why` (the directory
 * cannot be known, the result is too long, or out of memory: l->oom set).
 */
static char *
conf_join(struct conf_loader *l, int line, const char *name, char *why,
    size_t whylen)
{
	char dir[PATH_MAX], full[PATH_MAX];
	char *out;
	int n;

	if (name[0] == '/')
		n = snprintf(full, sizeof(full), "%s", name);
	else if (conf_path_dir(l, line, dir, sizeof(dir)) == -1) {
		snprintf(why, whylen, "\"%s\": the directory of the file: %s",
		    name, strerror(errno));
		return NULL;
	} else
		n = snprintf(full, sizeof(full), "%s/%s", dir, name);
	if (n < 0 || (size_t)n >= sizeof(full)) {
		snprintf(why, whylen, "\"%.64s...\" in %s is longer than %d "
		    "bytes", name, name[0] == '/' ? "/" : dir[0] != '\0' ?
		    dir : "/", PATH_MAX - 1);
		return NULL;
	}
	if ((out = strdup(full)) == NULL) {
		l->oom = true;
		snprintf(why, whylen, "out of memory");
	}
	return out;
}

/*
 * conf_sec_path: option `opt` of s->sec, which names a `kind` ("file",
 * "directory"), into *out (freed first; a new string), joined by
 * conf_join().  Returns 0, or -1 (reported).
 */
static int
conf_sec_path(struct conf_sec *s, const char *opt, const char *kind,
    char **out)
{
	const char *v = cfg_getstr(s->sec, opt);
	char why[PATH_MAX + 256], *full;

	if (v == NULL || !conf_text_ok(v, PATH_MAX - 1)) {
		conf_sec_error(s, opt, 0, "%s: a %s name", opt, kind);
		return -1;
	}
	if ((full = conf_join(s->l, conf_line_of(s->l, s->sec, opt, 0,
	    s->line), v, why, sizeof(why))) == NULL) {
		if (!s->l->oom)
			conf_sec_error(s, opt, 0, "%s: %s", opt, why);
		return -1;
	}
	free(*out);
	*out = full;
	return 0;
}

/* conf_duration: option `opt` as a duration; `dflt` when not set.
 * Returns 0, or -1 (reported). */
static int
conf_duration(struct conf_sec *s, const char *opt, cw_usec_t dflt,
    cw_usec_t *out)
{
	const char *text = cfg_getstr(s->sec, opt);

	if (text == NULL) {
		*out = dflt;
		return 0;
	}
	if (cw_duration_parse(text, out) == -1) {
		conf_sec_error(s, opt, 0, "%s: \"%s\" is not a duration "
		    "(write e.g. 300, 30s, 250ms, 5m, 1h)", opt, text);
		return -1;
	}
	return 0;
}

/* conf_int: integer option `opt` within [min, max]. */
static int
conf_int(struct conf_sec *s, const char *opt, long min, long max, long *out)
{
	*out = cfg_getint(s->sec, opt);
	if (*out < min || *out > max) {
		conf_sec_error(s, opt, 0, "%s: %ld is out of range (%ld to "
		    "%ld)", opt, *out, min, max);
		return -1;
	}
	return 0;
}

char *
config_duration_format(cw_usec_t usec, char *buf, size_t len)
{
	static const struct {
		cw_usec_t unit;
		const char *suffix;
	} units[] = {
		{86400 * CW_USEC_PER_SEC, "d"}, {3600 * CW_USEC_PER_SEC, "h"},
		{60 * CW_USEC_PER_SEC, "m"}, {CW_USEC_PER_SEC, "s"},
		{CW_USEC_PER_MSEC, "ms"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		if (usec != 0 && usec % units[i].unit == 0) {
			snprintf(buf, len, "%lld%s",
			    (long long)(usec / units[i].unit), units[i].suffix);
			return buf;
		}
	snprintf(buf, len, usec == 0 ? "0s" : "%lldus", (long long)usec);
	return buf;
}

bool
config_country_valid(const char *code)
{
	/* ISO 3166-1 alpha-2, as assigned (the tz database's iso3166.tab). */
	static const char codes[] =
	    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE "
	    "BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD "
	    "CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
	    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF "
	    "GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU "
	    "ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
	    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME "
	    "MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA "
	    "NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
	    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI "
	    "SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK "
	    "TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
	    "VN VU WF WS YE YT ZA ZM ZW XK";
	char up[3];

	if (code == NULL || strlen(code) != 2 ||
	    !isalpha((unsigned char)code[0]) ||
	    !isalpha((unsigned char)code[1]))
		return false;
	up[0] = (char)toupper((unsigned char)code[0]);
	up[1] = (char)toupper((unsigned char)code[1]);
	up[2] = '\0';
	for (const char *p = codes; *p != '\0'; p += 3) {
		if (p[0] == up[0] && p[1] == up[1])
			return true;
		if (p[2] == '\0')
			break;
	}
	return false;
}

/* conf_asn_parse: "15895" or "AS15895" to 1..4294967295; -1 if bad. */
static int
conf_asn_parse(const char *text, uint32_t *asn)
{
	unsigned long long v;
	char *end;

	if (strncasecmp(text, "AS", 2) == 0)
		text += 2;
	if (!isdigit((unsigned char)*text))
		return -1;
	errno = 0;
	v = strtoull(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > UINT32_MAX)
		return -1;
	*asn = (uint32_t)v;
	return 0;
}

/* --- Sections --- */

/* conf_section: the section just closed under option `opt` of the root,
 * and the line where it opened. */
static void
conf_section(struct conf_loader *l, cfg_t *root, cfg_opt_t *opt,
    struct conf_sec *s)
{
	unsigned n = cfg_opt_size(opt);

	s->l = l;
	s->sec = cfg_opt_getnsec(opt, n > 0 ? n - 1 : 0);
	s->line = l->next_opening < l->nopenings ?
	    l->openings[l->next_opening++] : root->line;
}

static int
conf_probe_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	struct config_identity *id;
	struct conf_sec s;
	const char *v;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "probe";
	if (l->probe_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second probe section (the "
		    "first is on line %d)", l->origin[l->probe_line - 1].line);
		return 0;
	}
	l->probe_line = s.line;
	id = &l->conf->probe;
	if ((v = cfg_getstr(s.sec, "name")) == NULL)
		conf_sec_error(&s, NULL, 0, "name is required "
		    "(e.g. name = \"kyiv-1\")");
	else if (!conf_token_ok(v, CONFIG_NAME_MAX))
		conf_sec_error(&s, "name", 0, "name: \"%s\" must be 1 to %d "
		    "letters, digits, '.', '_' or '-'", v, CONFIG_NAME_MAX);
	else if ((id->name = strdup(v)) == NULL)
		l->oom = true;
	if ((v = cfg_getstr(s.sec, "country")) != NULL) {
		if (!config_country_valid(v))
			conf_sec_error(&s, "country", 0, "country: \"%s\" is "
			    "not an ISO 3166-1 alpha-2 code (e.g. \"UA\")", v);
		else {
			id->country[0] = (char)toupper((unsigned char)v[0]);
			id->country[1] = (char)toupper((unsigned char)v[1]);
			id->country[2] = '\0';
		}
	}
	if ((v = cfg_getstr(s.sec, "asn")) != NULL &&
	    conf_asn_parse(v, &id->asn) == -1)
		conf_sec_error(&s, "asn", 0, "asn: \"%s\" is not an AS number "
		    "(1 to 4294967295)", v);
	if ((v = cfg_getstr(s.sec, "location")) != NULL) {
		if (!conf_text_ok(v, CONF_LOCATION_MAX))
			conf_sec_error(&s, "location", 0, "location: 1 to %d "
			    "characters without control characters",
			    CONF_LOCATION_MAX);
		else if ((id->location = strdup(v)) == NULL)
			l->oom = true;
	}
	return 0;
}

static int
conf_output_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	struct conf_sec s;
	const char *path;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "output";
	if (l->output_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second output section (the "
		    "first is on line %d)", l->origin[l->output_line - 1].line);
		return 0;
	}
	l->output_line = s.line;
	path = cfg_getstr(s.sec, "path");
	if (path == NULL || !conf_text_ok(path, PATH_MAX - 1)) {
		conf_sec_error(&s, "path", 0, "path: \"-\" (stdout) or a file "
		    "name");
		return 0;
	}
	if (strcmp(path, "-") != 0) {
		conf_sec_path(&s, "path", "file", &l->conf->output_path);
		return 0;
	}
	free(l->conf->output_path);
	if ((l->conf->output_path = strdup(path)) == NULL)
		l->oom = true;
	return 0;
}

/* conf_size: option `opt` of a section as a size from `min`; `dflt`
 * when not set.  Returns 0, or -1 (reported). */
static int
conf_size(struct conf_sec *s, const char *opt, uint64_t min, uint64_t dflt,
    uint64_t *out)
{
	const char *text = cfg_getstr(s->sec, opt);
	char m[CW_SIZE_STRLEN];

	*out = dflt;
	if (text == NULL)
		return 0;
	if (cw_size_parse(text, out) == -1 || (*out < min && *out != 0)) {
		conf_sec_error(s, opt, 0, "%s: \"%s\" is not a size of at "
		    "least %s (write e.g. 64M, 512k)", opt, text,
		    cw_size_format(min, m, sizeof(m)));
		*out = dflt;
		return -1;
	}
	return 0;
}

static int
conf_spool_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	struct config_spool *sp;
	struct conf_sec s;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "spool";
	if (l->spool_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second spool section (the "
		    "first is on line %d)", l->origin[l->spool_line - 1].line);
		return 0;
	}
	l->spool_line = s.line;
	sp = &l->conf->spool;
	sp->enabled = true;
	if (cfg_getstr(s.sec, "dir") != NULL)
		conf_sec_path(&s, "dir", "directory", &sp->dir);
	if (conf_size(&s, "max_size", UINT64_C(64) << 10, CONFIG_SPOOL_MAX,
	    &sp->max_bytes) == 0 && sp->max_bytes == 0) {
		conf_sec_error(&s, "max_size", 0, "max_size: must be above 0");
		sp->max_bytes = CONFIG_SPOOL_MAX;
	}
	if (conf_size(&s, "min_free", 0, CONFIG_SPOOL_MIN_FREE,
	    &sp->min_free_bytes) == 0 && sp->min_free_bytes == 0)
		sp->min_free_bytes = 1;
	if (conf_duration(&s, "sync", CW_USEC_PER_SEC,
	    &sp->sync_interval) == 0 && (sp->sync_interval <
	    10 * CW_USEC_PER_MSEC || sp->sync_interval >
	    3600 * CW_USEC_PER_SEC)) {
		conf_sec_error(&s, "sync", 0, "sync: from 10ms to 1h");
		sp->sync_interval = CW_USEC_PER_SEC;
	}
	return 0;
}

/* conf_upload_url: a collector's base URL (or a proxy's, `proxy`).
 * Returns a copy, or NULL (reported). */
static char *
conf_upload_url(struct conf_sec *s, const char *opt, unsigned idx,
    const char *v, bool proxy)
{
	static const char *const schemes[] = {
		"http://", "https://", "socks4://", "socks4a://", "socks5://",
		"socks5h://",
	};
	size_t n = proxy ? sizeof(schemes) / sizeof(schemes[0]) : 2;
	char *copy;

	for (size_t i = 0; i < n && v != NULL; i++) {
		if (strncasecmp(v, schemes[i], strlen(schemes[i])) != 0 ||
		    strlen(v) == strlen(schemes[i]) || !conf_text_ok(v, 1024))
			continue;
		if ((copy = strdup(v)) == NULL)
			s->l->oom = true;
		return copy;
	}
	conf_sec_error(s, opt, idx, "%s: \"%s\" is not an %s URL", opt,
	    v != NULL ? v : "", proxy ? "http://, https://, socks4://, "
	    "socks4a://, socks5:// or socks5h://" : "http:// or https://");
	return NULL;
}

/* conf_upload_limits: the batches and the backoff of `upload`. */
static void
conf_upload_limits(struct conf_sec *s, struct config_upload *up)
{
	uint64_t bytes;
	cw_usec_t t;
	long n;

	if (conf_int(s, "batch_records", 1, 100000, &n) == 0)
		up->batch_records = (size_t)n;
	if (conf_size(s, "batch_bytes", UPLOAD_BATCH_BYTES_MIN,
	    UPLOAD_BATCH_BYTES, &bytes) == 0) {
		if (bytes == 0 || bytes > (UINT64_C(16) << 20)) {
			conf_sec_error(s, "batch_bytes", 0, "batch_bytes: from "
			    "%d bytes to 16M", UPLOAD_BATCH_BYTES_MIN);
			bytes = UPLOAD_BATCH_BYTES;
		}
		up->batch_bytes = (size_t)bytes;
	}
	if (conf_duration(s, "batch_age", UPLOAD_BATCH_AGE, &t) == 0) {
		if (t < 100 * CW_USEC_PER_MSEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "batch_age", 0, "batch_age: from "
			    "100ms to 1d");
		else
			up->batch_age = t;
	}
	if (conf_duration(s, "backoff_max", UPLOAD_BACKOFF_MAX, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "backoff_max", 0, "backoff_max: from "
			    "1s to 1d");
		else
			up->backoff_max = t;
	}
	if (conf_duration(s, "failback", UPLOAD_FAILBACK, &t) == 0) {
		if (t < CW_USEC_PER_SEC || t > 86400 * CW_USEC_PER_SEC)
			conf_sec_error(s, "failback", 0, "failback: from 1s to "
			    "1d");
		else
			up->failback = t;
	}
	up->stop_timeout = UPLOAD_STOP_TIMEOUT;
	if (conf_duration(s, "stop_timeout", UPLOAD_STOP_TIMEOUT, &t) == 0) {
		if (t < 0 || t > 600 * CW_USEC_PER_SEC)
			conf_sec_error(s, "stop_timeout", 0, "stop_timeout: "
			    "from 0 to 10m");
		else
			up->stop_timeout = t;
	}
}

static int
conf_upload_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	struct config_upload *up;
	struct conf_sec s;
	const char *v;
	unsigned n;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "upload";
	if (l->upload_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second upload section (the "
		    "first is on line %d)", l->origin[l->upload_line - 1].line);
		return 0;
	}
	l->upload_line = s.line;
	up = &l->conf->upload;
	if ((n = cfg_size(s.sec, "url")) > UPLOAD_URLS_MAX) {
		conf_sec_error(&s, "url", 0, "url: at most %d URLs",
		    UPLOAD_URLS_MAX);
		n = UPLOAD_URLS_MAX;
	}
	if (n > 0 && (up->urls = calloc(n, sizeof(*up->urls))) == NULL)
		l->oom = true;
	for (unsigned i = 0; i < n && up->urls != NULL; i++)
		if ((up->urls[up->nurls] = conf_upload_url(&s, "url", i,
		    cfg_getnstr(s.sec, "url", i), false)) != NULL)
			up->nurls++;
	if ((v = cfg_getstr(s.sec, "proxy")) != NULL)
		up->proxy = conf_upload_url(&s, "proxy", 0, v, true);
	if (cfg_getstr(s.sec, "dead_letter") != NULL)
		conf_sec_path(&s, "dead_letter", "file", &up->dead_letter);
	conf_upload_limits(&s, up);
	return 0;
}

/* conf_tld_roots: `roots` of tld_discovery into l->conf->tld. */
static void
conf_tld_roots(struct conf_sec *s, struct config_tld *tld)
{
	unsigned n = cfg_size(s->sec, "roots");
	struct target *grown;
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		const char *spec = cfg_getnstr(s->sec, "roots", i);

		if (catalog_is_set(spec)) {
			if (catalog_expand(spec, tld->port, &tld->roots,
			    &tld->nroots, err, sizeof(err)) == -1)
				conf_sec_error(s, "roots", i, "roots: %s", err);
			continue;
		}
		grown = reallocarray(tld->roots, tld->nroots + 1,
		    sizeof(*grown));
		if (grown == NULL) {
			s->l->oom = true;
			return;
		}
		tld->roots = grown;
		if (target_parse(spec, tld->port, &tld->roots[tld->nroots],
		    err, sizeof(err)) == -1)
			conf_sec_error(s, "roots", i, "roots: %s (write "
			    "\"ADDRESS\", \"NAME=ADDRESS\" or \"@root\")", err);
		else
			tld->nroots++;
	}
}

static int
conf_tld_section(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	struct config_tld *tld;
	struct conf_sec s;
	const char *v;
	char err[256];
	long port;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	s.what = "tld_discovery";
	if (l->tld_line != 0) {
		conf_sec_error(&s, NULL, 0, "a second tld_discovery section "
		    "(the first is on line %d)",
		    l->origin[l->tld_line - 1].line);
		return 0;
	}
	l->tld_line = s.line;
	tld = &l->conf->tld;
	if (conf_int(&s, "port", 1, 65535, &port) == 0)
		tld->port = (uint16_t)port;
	conf_tld_roots(&s, tld);
	v = cfg_getstr(s.sec, "resolver");
	tld->resolver_auto = v == NULL || strcmp(v, "auto") == 0;
	if (v != NULL && !tld->resolver_auto && strcmp(v, "none") != 0) {
		if (target_parse(v, tld->port, &tld->resolver, err,
		    sizeof(err)) == -1)
			conf_sec_error(&s, "resolver", 0, "resolver: %s (write "
			    "an address, \"auto\" or \"none\")", err);
		else
			tld->have_resolver = true;
	}
	if (conf_duration(&s, "refresh", TLD_REFRESH_DEFAULT,
	    &tld->refresh) == 0 && tld->refresh < CW_USEC_PER_SEC)
		conf_sec_error(&s, "refresh", 0, "refresh: at least 1s");
	return 0;
}

/* conf_tld_defaults: tld_discovery without the section, or without
 * roots: the root server catalog. */
static void
conf_tld_defaults(struct conf_loader *l)
{
	struct config_tld *tld = &l->conf->tld;
	char err[256];

	if (l->tld_line == 0) {
		tld->port = 53;
		tld->resolver_auto = true;
		tld->refresh = TLD_REFRESH_DEFAULT;
	}
	if (tld->nroots == 0 && catalog_expand("@root", tld->port,
	    &tld->roots, &tld->nroots, err, sizeof(err)) == -1)
		l->oom = true;
}

static void
conf_measurement_clear(struct measurement *m)
{
	free(m->name);
	free(m->targets);
	for (size_t i = 0; i < m->ntlds; i++)
		free(m->tlds[i]);
	free(m->tlds);
	free(m->http_url);
	free(m->http_body_pattern);
	free(m->http_proxy);
	free(m->http_cafile);
	for (size_t i = 0; i < m->http.nheaders; i++)
		free(m->http_headers[i]);
	free(m->http_headers);
	free(m->http_expect);
	free(m->file);
	memset(m, 0, sizeof(*m));
}

/* conf_target_dup: whether t's address is already in the first n
 * targets. */
static bool
conf_target_dup(const struct target *targets, size_t n,
    const struct target *t)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(targets[i].addr, t->addr) == 0)
			return true;
	return false;
}

/* conf_dns_servers: expand `servers` into m->targets. */
static void
conf_dns_servers(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "servers");
	char err[256];

	for (unsigned i = 0; i < n; i++) {
		const char *spec = cfg_getnstr(s->sec, "servers", i);
		size_t before = m->ntargets;

		if (catalog_is_set(spec)) {
			if (catalog_expand(spec, m->dns.port, &m->targets,
			    &m->ntargets, err, sizeof(err)) == -1)
				conf_sec_error(s, "servers", i, "servers: %s",
				    err);
		} else {
			struct target t, *grown;
			if (target_parse(spec, m->dns.port, &t, err,
			    sizeof(err)) == -1) {
				conf_sec_error(s, "servers", i, "servers: %s "
				    "(write \"ADDRESS\", \"NAME=ADDRESS\" or "
				    "\"@root\")", err);
				continue;
			}
			grown = reallocarray(m->targets, m->ntargets + 1,
			    sizeof(*grown));
			if (grown == NULL) {
				s->l->oom = true;
				return;
			}
			m->targets = grown;
			m->targets[m->ntargets++] = t;
		}
		for (size_t j = before; j < m->ntargets; j++)
			if (conf_target_dup(m->targets, before,
			    &m->targets[j])) {
				conf_sec_error(s, "servers", i, "servers: %s "
				    "is listed twice", m->targets[j].addr);
				break;
			}
	}
}

/* conf_dns_tlds: check and store `tlds`. */
static void
conf_dns_tlds(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "tlds");
	char tld[TLD_NAME_MAX], err[128];

	if (n == 0)
		return;
	if ((m->tlds = calloc(n, sizeof(*m->tlds))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "tlds", i);
		bool dup = false;

		if (tld_name_normalize(v, tld, err, sizeof(err)) == -1) {
			conf_sec_error(s, "tlds", i, "tlds: %s", err);
			continue;
		}
		for (size_t j = 0; j < m->ntlds; j++)
			dup |= strcmp(m->tlds[j], tld) == 0;
		if (dup) {
			conf_sec_error(s, "tlds", i, "tlds: \"%s\" is listed "
			    "twice", tld);
			continue;
		}
		if ((m->tlds[m->ntlds] = strdup(tld)) == NULL) {
			s->l->oom = true;
			return;
		}
		m->ntlds++;
	}
}

/* conf_dns_question: qname, qtype, qclass or chaos. */
static void
conf_dns_question(struct conf_sec *s, struct measurement *m)
{
	const char *qname = cfg_getstr(s->sec, "qname");
	const char *qtype = cfg_getstr(s->sec, "qtype");
	const char *qclass = cfg_getstr(s->sec, "qclass");
	const char *chaos = cfg_getstr(s->sec, "chaos");
	int v;

	m->dns.qtype = LDNS_RR_TYPE_SOA;
	m->dns.qclass = LDNS_RR_CLASS_IN;
	if (chaos != NULL) {
		if (qname != NULL || qtype != NULL || qclass != NULL)
			conf_sec_error(s, "chaos", 0, "chaos replaces qname, "
			    "qtype and qclass: set chaos alone");
		else if (dns_spec_set_chaos(&m->dns, chaos) == -1)
			conf_sec_error(s, "chaos", 0, "chaos: \"%s\" is not a "
			    "domain name (e.g. \"hostname.bind\")", chaos);
		return;
	}
	if (qname != NULL) {
		if (dns_spec_set_qname(&m->dns, qname) == -1)
			conf_sec_error(s, "qname", 0, "qname: \"%s\" is not a "
			    "domain name", qname);
	} else if (m->ntlds > 0) {
		m->qname_from_tld = true;
	} else if (dns_spec_set_qname(&m->dns, ".") == -1) {
		conf_sec_error(s, NULL, 0, "cannot set qname \".\"");
	}
	if (qtype != NULL) {
		if ((v = dns_qtype_parse(qtype)) == -1)
			conf_sec_error(s, "qtype", 0, "qtype: unknown type "
			    "\"%s\" (e.g. SOA, NS, A, AAAA, TXT, TYPE65)",
			    qtype);
		else
			m->dns.qtype = (ldns_rr_type)v;
	}
	if (qclass != NULL) {
		if ((v = dns_qclass_parse(qclass)) == -1)
			conf_sec_error(s, "qclass", 0, "qclass: unknown class "
			    "\"%s\" (IN, CH, HS)", qclass);
		else
			m->dns.qclass = (ldns_rr_class)v;
	}
}

/* conf_dns_choice: transport or af: `both` or one of two names. */
static int
conf_dns_choice(struct conf_sec *s, const char *opt, const char *a, int va,
    const char *b, int vb)
{
	const char *v = cfg_getstr(s->sec, opt);

	if (v == NULL || strcasecmp(v, "both") == 0)
		return va | vb;
	if (strcasecmp(v, a) == 0)
		return va;
	if (strcasecmp(v, b) == 0)
		return vb;
	conf_sec_error(s, opt, 0, "%s: \"%s\" is not %s, %s or both", opt, v,
	    a, b);
	return va | vb;
}

/* conf_dns_wire: transport, address family, port, EDNS and flags. */
static void
conf_dns_wire(struct conf_sec *s, struct measurement *m)
{
	long v;

	m->dns.transports = conf_dns_choice(s, "transport", "udp",
	    DNS_PROTO_UDP, "tcp", DNS_PROTO_TCP);
	m->dns.afs = conf_dns_choice(s, "af", "4", DNS_AF_4, "6", DNS_AF_6);
	m->dns.port = conf_int(s, "port", 1, 65535, &v) == 0 ?
	    (uint16_t)v : 53;
	if (conf_int(s, "edns_size", 0, 65535, &v) == 0)
		m->dns.edns_size = (uint16_t)v;
	m->dns.do_bit = cfg_getbool(s->sec, "do");
	m->dns.nsid = cfg_getbool(s->sec, "nsid");
	m->dns.rd = cfg_getbool(s->sec, "rd");
	m->dns.tcp_on_truncation = cfg_getbool(s->sec, "tcp_on_truncation");
	/* NSID is asked for by default: without EDNS it is dropped, and
	 * refused only when asked for in so many words. */
	if (m->dns.edns_size == 0 && !conf_given(s->l, s->sec, "nsid"))
		m->dns.nsid = false;
	if (conf_int(s, "retries", 0, DNS_RETRIES_MAX, &v) == 0)
		m->dns.retries = (int)v;
}

/* conf_dns_rules: what dns_spec_check() decides, each problem at the
 * line of the option it is about.  Where the fix is another option,
 * the words name it (`says`); else they are the check's. */
static void
conf_dns_rules(struct conf_sec *s, const struct measurement *m)
{
	static const struct {
		const char *opt, *says;
	} rules[DNS_SPEC_RULES] = {
		[DNS_SPEC_EDNS_SIZE] = {"edns_size", NULL},
		[DNS_SPEC_DO] = {"do", "do needs EDNS: set edns_size"},
		[DNS_SPEC_NSID] = {"nsid", "nsid needs EDNS: set edns_size"},
	};
	char err[256];

	for (int r = 0; r < DNS_SPEC_RULES; r++) {
		if (dns_spec_check(&m->dns, (enum dns_spec_rule)r, err,
		    sizeof(err)) == 0)
			continue;
		if (rules[r].says != NULL)
			conf_sec_error(s, rules[r].opt, 0, "%s", rules[r].says);
		else
			conf_sec_error(s, rules[r].opt, 0, "%s: %s",
			    rules[r].opt, err);
	}
}

/* conf_cycle: interval and spread, the same for every kind of
 * measurement.  Returns whether interval is valid (cross-checks are
 * made only between values that are valid themselves). */
static bool
conf_cycle(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_duration(s, "interval", CONF_INTERVAL_DEFAULT,
	    &m->interval) == 0;
	if (ok && m->interval < CONF_INTERVAL_MIN) {
		conf_sec_error(s, "interval", 0, "interval: %s is shorter "
		    "than the minimum, 1s", config_duration_format(m->interval,
		    a, sizeof(a)));
		ok = false;
	}
	m->spread = m->interval < CONF_SPREAD_DEFAULT ? m->interval :
	    CONF_SPREAD_DEFAULT;
	if (conf_duration(s, "spread", m->spread, &m->spread) == 0 && ok &&
	    m->spread > m->interval)
		conf_sec_error(s, "spread", 0, "spread %s is longer than "
		    "interval %s", config_duration_format(m->spread, a,
		    sizeof(a)), config_duration_format(m->interval, b,
		    sizeof(b)));
	return ok;
}

/* conf_dns_timing: interval, spread, timeout and late_window. */
static void
conf_dns_timing(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	char c[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_cycle(s, m);
	if (conf_duration(s, "timeout", 4 * CW_USEC_PER_SEC,
	    &m->dns.timeout) == -1)
		ok = false;
	else if (m->dns.timeout == 0) {
		conf_sec_error(s, "timeout", 0, "timeout must be above 0");
		ok = false;
	}
	if (conf_duration(s, "late_window", 200 * CW_USEC_PER_MSEC,
	    &m->dns.late_window) == -1)
		ok = false;
	/* A query must be over before its next cycle starts. */
	if (ok && m->dns.timeout * (m->dns.retries + 1) + m->dns.late_window >=
	    m->interval)
		conf_sec_error(s, conf_given(s->l, s->sec, "timeout") ?
		    "timeout" : "interval", 0, "timeout %s x (1 + retries %d) "
		    "+ late_window %s must be shorter than interval %s",
		    config_duration_format(m->dns.timeout, a, sizeof(a)),
		    m->dns.retries, config_duration_format(m->dns.late_window,
		    c, sizeof(c)), config_duration_format(m->interval, b,
		    sizeof(b)));
}

/* conf_dns_af_check: some fixed target must match the families. */
static void
conf_dns_af_check(struct conf_sec *s, struct measurement *m)
{
	for (size_t i = 0; i < m->ntargets; i++) {
		int af = m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6;
		if (m->dns.afs & af)
			return;
	}
	if (m->ntargets > 0)
		conf_sec_error(s, "af", 0, "no server has an IPv%d address",
		    m->dns.afs == DNS_AF_4 ? 4 : 6);
}

/* conf_measurement_start: what every measurement has: its kind, name
 * and where it is.  -1 when out of memory (noted). */
static int
conf_measurement_start(struct conf_sec *s, struct measurement *m,
    enum measurement_kind kind)
{
	const struct conf_origin *o = &s->l->origin[s->line - 1];
	const char *title = cfg_title(s->sec);

	m->kind = kind;
	m->line = o->line;
	if ((m->name = strdup(title != NULL ? title : "")) == NULL ||
	    (m->file = strdup(s->l->files[o->file])) == NULL) {
		s->l->oom = true;
		return -1;
	}
	if (!conf_token_ok(m->name, CONFIG_NAME_MAX))
		conf_sec_error(s, NULL, 0, "the name must be 1 to %d letters, "
		    "digits, '.', '_' or '-'", CONFIG_NAME_MAX);
	return 0;
}

/* conf_dns_build: the measurement of a dns section; every problem is
 * reported.  Returns 0 when `m` is complete. */
static int
conf_dns_build(struct conf_sec *s, struct measurement *m)
{
	size_t before = s->l->nerrors;

	dns_spec_init(&m->dns);
	if (conf_measurement_start(s, m, MEASUREMENT_DNS) == -1)
		return -1;
	m->dns.name = m->name;
	conf_dns_wire(s, m);
	conf_dns_rules(s, m);
	conf_dns_timing(s, m);
	conf_dns_tlds(s, m);
	conf_dns_servers(s, m);
	conf_dns_question(s, m);
	if (m->ntargets == 0 && m->ntlds == 0 &&
	    cfg_size(s->sec, "servers") == 0 && cfg_size(s->sec, "tlds") == 0)
		conf_sec_error(s, NULL, 0, "nothing to measure: set servers "
		    "(e.g. {\"@root\"}) or tlds (e.g. {\"ua\"})");
	if (cfg_size(s->sec, "servers") > 0 && cfg_size(s->sec, "tlds") > 0)
		conf_sec_error(s, "tlds", 0, "set servers or tlds, not both "
		    "(make two measurements)");
	conf_dns_af_check(s, m);
	return s->l->nerrors == before ? 0 : -1;
}

/* conf_readable: 0 when `path` is a file this process can read; else -1
 * with the reason in err. */
static int
conf_readable(const char *path, char *err, size_t errlen)
{
	struct stat st;

	if (stat(path, &st) == -1 || access(path, R_OK) == -1) {
		snprintf(err, errlen, "%s", strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s", strerror(EISDIR));
		return -1;
	}
	return 0;
}

/* conf_http_url: the required url into m->http.url.  Returns the family
 * of an address written as the URL's host (4 or 6), else 0. */
static int
conf_http_url(struct conf_sec *s, struct measurement *m)
{
	const char *v = cfg_getstr(s->sec, "url");
	char err[256];

	if (v == NULL) {
		conf_sec_error(s, NULL, 0, "url is required (e.g. url = "
		    "\"https://www.iana.org/\")");
		return 0;
	}
	if (!conf_text_ok(v, HTTP_URL_MAX)) {
		conf_sec_error(s, "url", 0, "url: 1 to %d characters without "
		    "control characters", HTTP_URL_MAX);
		return 0;
	}
	if (!http_url_check(v, err, sizeof(err))) {
		conf_sec_error(s, "url", 0, "url: \"%s\": %s", v, err);
		return 0;
	}
	if ((m->http_url = strdup(v)) == NULL) {
		s->l->oom = true;
		return 0;
	}
	m->http.url = m->http_url;
	return http_url_host_af(v);
}

/* conf_http_addresses: the pinned addresses into m->targets (port 0):
 * numeric, each once, each of a family of af. */
static void
conf_http_addresses(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "addresses");
	char err[256];

	if (n > 0 && (m->targets = calloc(n, sizeof(*m->targets))) == NULL) {
		s->l->oom = true;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "addresses", i);
		struct target *t = &m->targets[m->ntargets];

		if (strchr(v, '=') != NULL || target_parse(v, 0, t, err,
		    sizeof(err)) == -1) {
			conf_sec_error(s, "addresses", i, "addresses: \"%s\" is "
			    "not a numeric IPv4 or IPv6 address", v);
			continue;
		}
		if (!(m->http.afs & (t->af == 4 ? HTTP_AF_4 : HTTP_AF_6))) {
			conf_sec_error(s, "addresses", i, "addresses: %s is an "
			    "IPv%d address, and af is \"%d\"", t->addr, t->af,
			    t->af == 4 ? 6 : 4);
			continue;
		}
		if (conf_target_dup(m->targets, m->ntargets, t)) {
			conf_sec_error(s, "addresses", i, "addresses: %s is "
			    "listed twice", t->addr);
			continue;
		}
		m->ntargets++;
	}
}

/* conf_http_family: af and the pinned addresses.  An address as the
 * URL's host (`literal`: its family) is the one address measured. */
static void
conf_http_family(struct conf_sec *s, struct measurement *m, int literal)
{
	int af = literal == 4 ? HTTP_AF_4 : HTTP_AF_6;

	m->http.afs = conf_dns_choice(s, "af", "4", HTTP_AF_4, "6",
	    HTTP_AF_6);
	if (literal == 0) {
		conf_http_addresses(s, m);
		return;
	}
	if (conf_given(s->l, s->sec, "af") && m->http.afs != af)
		conf_sec_error(s, "af", 0, "af: the URL's host is an IPv%d "
		    "address: leave af out or write \"%d\"", literal, literal);
	m->http.afs = af;
	if (cfg_size(s->sec, "addresses") > 0)
		conf_sec_error(s, "addresses", 0, "addresses: the URL's host "
		    "is an address already: leave addresses out");
}

/* conf_http_expect: expect_status into m->http.expect. */
static void
conf_http_expect(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "expect_status");

	if (n == 0)
		return;
	if ((m->http_expect = calloc(n, sizeof(*m->http_expect))) == NULL) {
		s->l->oom = true;
		return;
	}
	m->http.expect = m->http_expect;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "expect_status", i);

		if (http_status_parse(v, &m->http_expect[m->http.nexpect]) ==
		    -1)
			conf_sec_error(s, "expect_status", i, "expect_status: "
			    "\"%s\" is not a status from 100 to 599, a range "
			    "or a class (e.g. \"200\", \"200-299\", \"3xx\")", v);
		else
			m->http.nexpect++;
	}
}

/* conf_http_headers: headers into m->http.headers. */
static void
conf_http_headers(struct conf_sec *s, struct measurement *m)
{
	unsigned n = cfg_size(s->sec, "headers");
	char err[256];

	if (n == 0)
		return;
	if ((m->http_headers = calloc(n, sizeof(*m->http_headers))) ==
	    NULL) {
		s->l->oom = true;
		return;
	}
	m->http.headers = (const char *const *)m->http_headers;
	for (unsigned i = 0; i < n; i++) {
		const char *v = cfg_getnstr(s->sec, "headers", i);

		/* The line itself is shown only when it holds no CR or LF,
		 * which would break the one-problem-a-line report. */
		if (http_header_check(v, err, sizeof(err)) == -1) {
			conf_sec_error(s, "headers", i, "headers: \"%s\": %s",
			    conf_text_ok(v, 200) ? v : "...", err);
			continue;
		}
		if ((m->http_headers[m->http.nheaders] = strdup(v)) == NULL) {
			s->l->oom = true;
			return;
		}
		m->http.nheaders++;
	}
}

/* conf_http_request: method, max_body, body_pattern, expect_status and
 * headers. */
static void
conf_http_request(struct conf_sec *s, struct measurement *m)
{
	const char *v = cfg_getstr(s->sec, "method");
	char err[256];

	if (v != NULL && strcasecmp(v, "HEAD") == 0)
		m->http.method = HTTP_HEAD;
	else if (v != NULL && strcasecmp(v, "GET") != 0)
		conf_sec_error(s, "method", 0, "method: \"%s\" is not GET or "
		    "HEAD", v);
	/* Its range is http_spec_check()'s (conf_http_rules). */
	conf_size(s, "max_body", 1, HTTP_MAX_BODY_DEFAULT, &m->http.max_body);
	if ((v = cfg_getstr(s->sec, "body_pattern")) != NULL) {
		/* Empty: http_spec_check()'s to refuse (conf_http_rules). */
		if (*v != '\0' && http_pattern_check(v, err, sizeof(err)) == -1)
			conf_sec_error(s, "body_pattern", 0, "body_pattern: "
			    "\"%s\" is not a POSIX extended regular expression: "
			    "%s", v, err);
		else if ((m->http_body_pattern = strdup(v)) == NULL)
			s->l->oom = true;
		m->http.body_pattern = m->http_body_pattern;
	}
	conf_http_expect(s, m);
	conf_http_headers(s, m);
}

/* conf_http_transport: proxy, cafile and redirects. */
static void
conf_http_transport(struct conf_sec *s, struct measurement *m)
{
	const char *v;
	char err[256];
	long n;

	if ((v = cfg_getstr(s->sec, "proxy")) != NULL)
		m->http.proxy = m->http_proxy = conf_upload_url(s, "proxy", 0,
		    v, true);
	if (cfg_getstr(s->sec, "cafile") != NULL &&
	    conf_sec_path(s, "cafile", "file", &m->http_cafile) == 0 &&
	    conf_readable(m->http_cafile, err, sizeof(err)) == -1)
		conf_sec_error(s, "cafile", 0, "cafile: %s: %s",
		    m->http_cafile, err);
	m->http.cafile = m->http_cafile;
	m->http.follow_redirects = cfg_getbool(s->sec, "follow_redirects");
	if (conf_int(s, "max_redirects", 0, HTTP_REDIRECTS_MAX,
	    &n) == 0) {
		m->http.max_redirects = n;
		if (!m->http.follow_redirects &&
		    conf_given(s->l, s->sec, "max_redirects"))
			conf_sec_error(s, "max_redirects", 0, "max_redirects "
			    "needs follow_redirects = true");
	}
}

/* conf_http_timing: interval, spread and timeout. */
static void
conf_http_timing(struct conf_sec *s, struct measurement *m)
{
	char a[CONFIG_DURATION_STRLEN], b[CONFIG_DURATION_STRLEN];
	bool ok;

	ok = conf_cycle(s, m);
	if (conf_duration(s, "timeout", HTTP_TIMEOUT_DEFAULT,
	    &m->http.timeout) == -1)
		return;
	if (m->http.timeout == 0) {
		conf_sec_error(s, "timeout", 0, "timeout must be above 0");
		return;
	}
	/* A request must be over before its next cycle starts. */
	if (ok && m->http.timeout >= m->interval)
		conf_sec_error(s, conf_given(s->l, s->sec, "timeout") ?
		    "timeout" : "interval", 0, "timeout %s must be shorter "
		    "than interval %s", config_duration_format(m->http.timeout,
		    a, sizeof(a)), config_duration_format(m->interval, b,
		    sizeof(b)));
}

/* conf_http_rules: what http_spec_check() decides, each problem at the
 * line of the option it is about. */
static void
conf_http_rules(struct conf_sec *s, const struct measurement *m)
{
	static const char *const opts[HTTP_SPEC_RULES] = {
		[HTTP_SPEC_MAX_BODY] = "max_body",
		[HTTP_SPEC_BODY_PATTERN] = "body_pattern",
	};
	char err[256];

	for (int r = 0; r < HTTP_SPEC_RULES; r++)
		if (http_spec_check(&m->http, (enum http_spec_rule)r, err,
		    sizeof(err)) == -1)
			conf_sec_error(s, opts[r], 0, "%s: %s", opts[r], err);
}

/* conf_http_build: the measurement of an http section; every problem
 * is reported.  Returns 0 when `m` is complete. */
static int
conf_http_build(struct conf_sec *s, struct measurement *m)
{
	size_t before = s->l->nerrors;
	int literal;

	http_spec_init(&m->http);
	if (conf_measurement_start(s, m, MEASUREMENT_HTTP) == -1)
		return -1;
	m->http.name = m->name;
	literal = conf_http_url(s, m);
	conf_http_family(s, m, literal);
	conf_http_request(s, m);
	conf_http_transport(s, m);
	conf_http_rules(s, m);
	conf_http_timing(s, m);
	return s->l->nerrors == before ? 0 : -1;
}

/* conf_name_unique: note the title of measurement section `s`, and
 * report it when a section of the other kind has it already (libconfuse
 * refuses a title twice within one kind itself). */
static void
conf_name_unique(struct conf_sec *s, const char *title)
{
	struct conf_loader *l = s->l;
	struct conf_name *grown;

	for (size_t i = 0; i < l->nnames; i++) {
		const struct conf_origin *o;

		if (strcmp(l->names[i].name, title) != 0)
			continue;
		o = &l->origin[l->names[i].line - 1];
		conf_sec_error(s, NULL, 0, "another measurement is named '%s' "
		    "(%s:%d)", title, l->files[o->file], o->line);
		return;
	}
	if ((grown = reallocarray(l->names, l->nnames + 1,
	    sizeof(*grown))) == NULL) {
		l->oom = true;
		return;
	}
	l->names = grown;
	l->names[l->nnames].name = title;
	l->names[l->nnames].line = s->line;
	l->nnames++;
}

/* conf_measurement_add: append `m`, which the config takes over (or
 * which is cleared when out of memory). */
static void
conf_measurement_add(struct conf_loader *l, struct measurement *m)
{
	struct config *conf = l->conf;
	struct measurement *grown;

	grown = reallocarray(conf->measurements, conf->nmeasurements + 1,
	    sizeof(*grown));
	if (grown == NULL) {
		l->oom = true;
		conf_measurement_clear(m);
		return;
	}
	conf->measurements = grown;
	conf->measurements[conf->nmeasurements++] = *m;
	/* The array moved: point every spec at its own name again. */
	for (size_t i = 0; i < conf->nmeasurements; i++) {
		struct measurement *mi = &conf->measurements[i];
		if (mi->kind == MEASUREMENT_HTTP)
			mi->http.name = mi->name;
		else
			mi->dns.name = mi->name;
	}
}

/* conf_measurement_section: the dns or http section just closed. */
static int
conf_measurement_section(cfg_t *root, cfg_opt_t *opt,
    enum measurement_kind kind)
{
	struct conf_loader *l = conf_loading;
	struct measurement m;
	struct conf_sec s;
	const char *title;
	char what[CONFIG_NAME_MAX + 16];
	int rc;

	if (l == NULL)
		return 0;
	conf_section(l, root, opt, &s);
	title = cfg_title(s.sec) != NULL ? cfg_title(s.sec) : "";
	snprintf(what, sizeof(what), "%s \"%.*s\"", kind == MEASUREMENT_HTTP ?
	    "http" : "dns", CONFIG_NAME_MAX, title);
	s.what = what;
	conf_name_unique(&s, title);
	memset(&m, 0, sizeof(m));
	rc = kind == MEASUREMENT_HTTP ? conf_http_build(&s, &m) :
	    conf_dns_build(&s, &m);
	if (rc == -1)
		conf_measurement_clear(&m);
	else
		conf_measurement_add(l, &m);
	return 0;
}

static int
conf_dns_section(cfg_t *root, cfg_opt_t *opt)
{
	return conf_measurement_section(root, opt, MEASUREMENT_DNS);
}

static int
conf_http_section(cfg_t *root, cfg_opt_t *opt)
{
	return conf_measurement_section(root, opt, MEASUREMENT_HTTP);
}

/* --- Top-level options --- */

static int
conf_log_level(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	const char *v = cfg_opt_getnstr(opt, 0);
	int level;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	if (v == NULL || (level = log_level_parse(v)) == -1)
		conf_error(l, root->line, "log_level: \"%s\" is not error, "
		    "warning, info or debug", v != NULL ? v : "");
	else
		l->conf->log_level = (enum log_level)level;
	return 0;
}

/* conf_path_option: a top-level option that names a `kind` of file,
 * into *out (conf_sec_path()).  Returns 0, or -1 (reported). */
static int
conf_path_option(cfg_t *root, cfg_opt_t *opt, const char *kind, char **out)
{
	struct conf_sec s;

	s.l = conf_loading;
	s.sec = root;
	s.what = NULL;
	s.line = root->line;
	return conf_sec_path(&s, opt->name, kind, out);
}

static int
conf_state_dir(cfg_t *root, cfg_opt_t *opt)
{
	conf_record(root, opt);
	if (conf_loading != NULL)
		conf_path_option(root, opt, "directory",
		    &conf_loading->conf->state_dir);
	return 0;
}

static int
conf_key(cfg_t *root, cfg_opt_t *opt)
{
	conf_record(root, opt);
	if (conf_loading != NULL)
		conf_path_option(root, opt, "file",
		    &conf_loading->conf->key_path);
	return 0;
}

/* conf_lookup_file: resolv_conf or hosts_file, a file that HTTP
 * measurements' lookups read, which must be readable now. */
static int
conf_lookup_file(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	char err[128], **out;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	out = strcmp(opt->name, "hosts_file") == 0 ? &l->conf->hosts_file :
	    &l->conf->resolv_conf;
	if (conf_path_option(root, opt, "file", out) == 0 &&
	    conf_readable(*out, err, sizeof(err)) == -1)
		conf_error(l, root->line, "%s: %s: %s", opt->name, *out, err);
	return 0;
}

static int
conf_heartbeat(cfg_t *root, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_loading;
	const char *v = cfg_opt_getnstr(opt, 0);
	cw_usec_t t;

	conf_record(root, opt);
	if (l == NULL)
		return 0;
	if (v == NULL || cw_duration_parse(v, &t) == -1 || (t != 0 &&
	    t < CW_USEC_PER_SEC))
		conf_error(l, root->line, "heartbeat: \"%s\" is not 0 (none) "
		    "or a duration of at least 1s (e.g. 5m)", v != NULL ? v :
		    "");
	else
		l->conf->heartbeat = t;
	return 0;
}

/* conf_include_misplaced: include() that the preprocessor did not see
 * because it shares its line with something else. */
static int
conf_include_misplaced(cfg_t *cfg, cfg_opt_t *opt, int argc,
    const char **argv)
{
	(void)opt;
	(void)argc;
	(void)argv;
	cfg_error(cfg, "write include(\"FILE\") alone on its line");
	return -1;
}

/* --- Loading --- */

static cfg_opt_t conf_probe_opts[] = {
	CFG_STR("name", NULL, CFGF_NODEFAULT),
	CFG_STR("country", NULL, CFGF_NODEFAULT),
	CFG_STR("asn", NULL, CFGF_NODEFAULT),	/* string: 32-bit long */
	CFG_STR("location", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_output_opts[] = {
	CFG_STR("path", "-", CFGF_NONE),
	CFG_END()
};

/* Durations are strings for cw_duration_parse: "5m", "250ms". */
static cfg_opt_t conf_dns_opts[] = {
	CFG_STR_LIST("servers", NULL, CFGF_NONE),
	CFG_STR_LIST("tlds", NULL, CFGF_NONE),
	CFG_STR("qname", NULL, CFGF_NODEFAULT),
	CFG_STR("qtype", NULL, CFGF_NODEFAULT),
	CFG_STR("qclass", NULL, CFGF_NODEFAULT),
	CFG_STR("chaos", NULL, CFGF_NODEFAULT),
	CFG_STR("transport", "both", CFGF_NONE),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_INT("edns_size", 1232, CFGF_NONE),
	CFG_BOOL("do", cfg_false, CFGF_NONE),
	CFG_BOOL("nsid", cfg_true, CFGF_NONE),
	CFG_BOOL("rd", cfg_false, CFGF_NONE),
	CFG_BOOL("tcp_on_truncation", cfg_true, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_INT("retries", 0, CFGF_NONE),
	CFG_STR("late_window", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_http_opts[] = {
	CFG_STR("url", NULL, CFGF_NODEFAULT),
	CFG_STR("method", NULL, CFGF_NODEFAULT),
	CFG_STR("af", "both", CFGF_NONE),
	CFG_STR_LIST("addresses", NULL, CFGF_NONE),
	CFG_STR("timeout", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("expect_status", NULL, CFGF_NONE),
	CFG_STR("max_body", NULL, CFGF_NODEFAULT),
	CFG_STR("body_pattern", NULL, CFGF_NODEFAULT),
	CFG_STR_LIST("headers", NULL, CFGF_NONE),
	CFG_STR("proxy", NULL, CFGF_NODEFAULT),
	CFG_STR("cafile", NULL, CFGF_NODEFAULT),
	CFG_BOOL("follow_redirects", cfg_false, CFGF_NONE),
	CFG_INT("max_redirects", HTTP_REDIRECTS_DEFAULT, CFGF_NONE),
	CFG_STR("interval", NULL, CFGF_NODEFAULT),
	CFG_STR("spread", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_spool_opts[] = {
	CFG_STR("dir", NULL, CFGF_NODEFAULT),
	CFG_STR("max_size", NULL, CFGF_NODEFAULT),
	CFG_STR("min_free", NULL, CFGF_NODEFAULT),
	CFG_STR("sync", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_upload_opts[] = {
	CFG_STR_LIST("url", NULL, CFGF_NONE),
	CFG_STR("proxy", NULL, CFGF_NODEFAULT),
	CFG_INT("batch_records", UPLOAD_BATCH_RECORDS, CFGF_NONE),
	CFG_STR("batch_bytes", NULL, CFGF_NODEFAULT),
	CFG_STR("batch_age", NULL, CFGF_NODEFAULT),
	CFG_STR("backoff_max", NULL, CFGF_NODEFAULT),
	CFG_STR("failback", NULL, CFGF_NODEFAULT),
	CFG_STR("stop_timeout", NULL, CFGF_NODEFAULT),
	CFG_STR("dead_letter", NULL, CFGF_NODEFAULT),
	CFG_END()
};

static cfg_opt_t conf_tld_opts[] = {
	CFG_STR_LIST("roots", NULL, CFGF_NONE),
	CFG_STR("resolver", "auto", CFGF_NONE),
	CFG_STR("refresh", NULL, CFGF_NODEFAULT),
	CFG_INT("port", 53, CFGF_NONE),
	CFG_END()
};

static cfg_opt_t conf_root_opts[] = {
	CFG_SEC("probe", conf_probe_opts, CFGF_NONE),
	CFG_STR("log_level", "info", CFGF_NONE),
	CFG_STR("state_dir", CW_STATE_DIR, CFGF_NONE),
	CFG_SEC("output", conf_output_opts, CFGF_NONE),
	CFG_STR("key", NULL, CFGF_NODEFAULT),
	CFG_STR("heartbeat", NULL, CFGF_NODEFAULT),
	CFG_SEC("spool", conf_spool_opts, CFGF_NONE),
	CFG_SEC("upload", conf_upload_opts, CFGF_NONE),
	CFG_SEC("tld_discovery", conf_tld_opts, CFGF_NONE),
	CFG_SEC("dns", conf_dns_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_SEC("http", conf_http_opts,
	    CFGF_MULTI | CFGF_TITLE | CFGF_NO_TITLE_DUPES),
	CFG_STR("resolv_conf", NULL, CFGF_NODEFAULT),
	CFG_STR("hosts_file", NULL, CFGF_NODEFAULT),
	CFG_FUNC("include", conf_include_misplaced),
	CFG_END()
};

/* conf_validators: record the line of every section option. */
static void
conf_validators(cfg_t *cfg)
{
	static const struct {
		const char *sec;
		cfg_opt_t *opts;
	} secs[] = {
		{"probe", conf_probe_opts},
		{"output", conf_output_opts},
		{"spool", conf_spool_opts},
		{"upload", conf_upload_opts},
		{"tld_discovery", conf_tld_opts},
		{"dns", conf_dns_opts},
		{"http", conf_http_opts},
	};
	char path[64];

	for (size_t i = 0; i < sizeof(secs) / sizeof(secs[0]); i++)
		for (cfg_opt_t *o = secs[i].opts; o->name != NULL; o++) {
			snprintf(path, sizeof(path), "%s|%s", secs[i].sec,
			    o->name);
			cfg_set_validate_func(cfg, path, conf_record);
		}
	cfg_set_validate_func(cfg, "probe", conf_probe_section);
	cfg_set_validate_func(cfg, "output", conf_output_section);
	cfg_set_validate_func(cfg, "spool", conf_spool_section);
	cfg_set_validate_func(cfg, "upload", conf_upload_section);
	cfg_set_validate_func(cfg, "key", conf_key);
	cfg_set_validate_func(cfg, "heartbeat", conf_heartbeat);
	cfg_set_validate_func(cfg, "tld_discovery", conf_tld_section);
	cfg_set_validate_func(cfg, "dns", conf_dns_section);
	cfg_set_validate_func(cfg, "http", conf_http_section);
	cfg_set_validate_func(cfg, "resolv_conf", conf_lookup_file);
	cfg_set_validate_func(cfg, "hosts_file", conf_lookup_file);
	cfg_set_validate_func(cfg, "log_level", conf_log_level);
	cfg_set_validate_func(cfg, "state_dir", conf_state_dir);
}

/* conf_state_path: "<state_dir>/<name>" in a new string (NULL: out of
 * memory, noted). */
static char *
conf_state_path(struct conf_loader *l, const char *dir, const char *name)
{
	char *p;

	if (asprintf(&p, "%s/%s", dir, name) == -1) {
		l->oom = true;
		return NULL;
	}
	return p;
}

/* conf_spool_defaults: the key's path, and the spool's settings when
 * its section is not there or leaves them out. */
static void
conf_spool_defaults(struct conf_loader *l, const char *state)
{
	struct config *conf = l->conf;

	if (conf->key_path == NULL &&
	    (conf->key_path = conf_state_path(l, state, "key")) == NULL)
		l->oom = true;
	if (conf->spool.dir == NULL &&
	    (conf->spool.dir = conf_state_path(l, state, "spool")) == NULL)
		l->oom = true;
	if (l->spool_line == 0) {
		conf->spool.max_bytes = CONFIG_SPOOL_MAX;
		conf->spool.min_free_bytes = CONFIG_SPOOL_MIN_FREE;
		conf->spool.sync_interval = CW_USEC_PER_SEC;
	}
}

/* conf_upload_defaults: the dead-letter file; an upload needs the
 * spool it uploads from. */
static void
conf_upload_defaults(struct conf_loader *l, const char *state)
{
	struct config_upload *up = &l->conf->upload;

	if (l->upload_line == 0)
		return;
	/* urls is allocated for every url written: one that was refused
	 * has been reported already. */
	if (up->urls == NULL)
		conf_error(l, l->upload_line, "upload: no url (write e.g. "
		    "url = {\"https://collector.example.org\"}; leave the "
		    "section out for no upload)");
	else if (!l->conf->spool.enabled)
		conf_error(l, l->upload_line, "upload: uploads are made from "
		    "the spool: add a spool section (spool { })");
	if (up->dead_letter == NULL &&
	    (up->dead_letter = conf_state_path(l, state,
	    "dead-letter/dead-letter.jsonl")) == NULL)
		l->oom = true;
}

/* conf_finish: what only the whole file can say. */
static int
conf_finish(struct conf_loader *l)
{
	struct config *conf = l->conf;

	if (l->probe_line == 0)
		conf_error(l, 0, "a probe section with a name is required "
		    "(probe { name = \"kyiv-1\" })");
	if (conf->nmeasurements == 0 && l->nerrors == 0)
		conf_error(l, 0, "no measurement configured (add e.g. "
		    "dns \"root-soa\" { servers = {\"@root\"} })");
	conf_tld_defaults(l);
	if ((conf->state_dir == NULL &&
	    (conf->state_dir = strdup(CW_STATE_DIR)) == NULL) ||
	    (conf->path = strdup(l->files[0])) == NULL ||
	    (conf->output_path == NULL &&
	    (conf->output_path = strdup("-")) == NULL)) {
		l->oom = true;
		return -1;
	}
	conf_spool_defaults(l, conf->state_dir);
	conf_upload_defaults(l, conf->state_dir);
	return l->nerrors == 0 && !l->oom ? 0 : -1;
}

static void
conf_loader_free(struct conf_loader *l)
{
	free(l->text);
	free(l->origin);
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->openings);
	free(l->optlines);
	free(l->names);
	for (size_t i = 0; i < l->nproblems; i++)
		free(l->problems[i].text);
	free(l->problems);
	config_free(l->conf);
}

/* conf_parse: preprocess and parse into l->conf. */
static int
conf_parse(struct conf_loader *l, const char *path)
{
	cfg_t *cfg;
	int rc;

	if (conf_pp_file(l, path, NULL, 0) == -1 || l->oom ||
	    conf_pp_braces(l) == -1)
		return -1;
	if ((cfg = cfg_init(conf_root_opts, CFGF_NONE)) == NULL) {
		l->oom = true;
		return -1;
	}
	cfg_set_error_function(cfg, conf_cfg_error);
	conf_validators(cfg);
	rc = cfg_parse_buf(cfg, l->text != NULL ? l->text : "");
	if (rc == CFG_SUCCESS)
		rc = conf_finish(l);
	else if (l->nerrors == 0)
		conf_error(l, 0, "cannot parse");
	cfg_free(cfg);
	return rc == 0 ? 0 : -1;
}

struct config *
config_load(const char *path, char **errors)
{
	struct conf_loader l;
	struct config *conf = NULL;

	if (errors != NULL)
		*errors = NULL;
	memset(&l, 0, sizeof(l));
	if ((l.conf = calloc(1, sizeof(*l.conf))) == NULL)
		l.oom = true;
	else {
		l.conf->log_level = LOG_LEVEL_INFO;
		l.conf->heartbeat = CONFIG_HEARTBEAT;
	}
	if (!l.oom) {
		conf_loading = &l;
		if (conf_parse(&l, path) == 0) {
			conf = l.conf;
			l.conf = NULL;
		}
		conf_loading = NULL;
	}
	if (conf == NULL && errors != NULL) {
		if (l.oom)
			conf_error_file(&l, path, 0, "out of memory");
		*errors = conf_problems_text(&l);
	}
	conf_loader_free(&l);
	return conf;
}

/* --- Other programs' files (corewatch-collector) --- */

struct conf_file {
	struct conf_loader l;
	cfg_t *cfg;
};

/* conf_file_parse: preprocess and parse f->l's file against `opts`. */
static int
conf_file_parse(struct conf_file *f, const char *path, cfg_opt_t *opts)
{
	int rc;

	if (conf_pp_file(&f->l, path, NULL, 0) == -1 || f->l.oom ||
	    conf_pp_braces(&f->l) == -1)
		return -1;
	if ((f->cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		f->l.oom = true;
		return -1;
	}
	cfg_set_error_function(f->cfg, conf_cfg_error);
	for (cfg_opt_t *o = opts; o->name != NULL; o++)
		if (o->type != CFGT_SEC && o->type != CFGT_FUNC)
			cfg_set_validate_func(f->cfg, o->name, conf_record);
	rc = cfg_parse_buf(f->cfg, f->l.text != NULL ? f->l.text : "");
	if (rc != CFG_SUCCESS && f->l.nerrors == 0)
		conf_error(&f->l, 0, "cannot parse");
	return rc == CFG_SUCCESS && f->l.nerrors == 0 && !f->l.oom ? 0 : -1;
}

struct conf_file *
conf_file_load(const char *path, cfg_opt_t *opts, char **errors)
{
	struct conf_file *f;
	int rc;

	if (errors != NULL)
		*errors = NULL;
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		if (errors != NULL)
			*errors = strdup("out of memory");
		return NULL;
	}
	conf_loading = &f->l;
	rc = conf_file_parse(f, path, opts);
	conf_loading = NULL;
	if (rc == 0)
		return f;
	if (errors != NULL) {
		if (f->l.oom)
			conf_error_file(&f->l, path, 0, "out of memory");
		*errors = conf_problems_text(&f->l);
	}
	conf_file_free(f);
	return NULL;
}

cfg_t *
conf_file_cfg(const struct conf_file *f)
{
	return f->cfg;
}

void
conf_file_error(struct conf_file *f, const char *opt, const char *fmt, ...)
{
	char msg[768];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	conf_error(&f->l, conf_line_of(&f->l, f->cfg, opt, 0, 0), "%s: %s",
	    opt, msg);
}

char *
conf_file_join(struct conf_file *f, const char *opt, const char *name)
{
	char why[PATH_MAX + 256], *full;

	if ((full = conf_join(&f->l, conf_line_of(&f->l, f->cfg, opt, 0, 0),
	    name, why, sizeof(why))) == NULL)
		conf_file_error(f, opt, "%s", why);
	return full;
}

char *
conf_file_errors(struct conf_file *f)
{
	if (f->l.nerrors == 0)
		return NULL;
	return conf_problems_text(&f->l);
}

void
conf_file_free(struct conf_file *f)
{
	if (f == NULL)
		return;
	if (f->cfg != NULL)
		cfg_free(f->cfg);
	conf_loader_free(&f->l);
	free(f);
}

void
config_free(struct config *conf)
{
	if (conf == NULL)
		return;
	for (size_t i = 0; i < conf->nmeasurements; i++)
		conf_measurement_clear(&conf->measurements[i]);
	free(conf->measurements);
	free(conf->tld.roots);
	free(conf->path);
	free(conf->probe.name);
	free(conf->probe.location);
	free(conf->state_dir);
	free(conf->output_path);
	free(conf->key_path);
	free(conf->spool.dir);
	for (size_t i = 0; i < conf->upload.nurls; i++)
		free(conf->upload.urls[i]);
	free(conf->upload.urls);
	free(conf->upload.proxy);
	free(conf->upload.dead_letter);
	free(conf->resolv_conf);
	free(conf->hosts_file);
	free(conf);
}

/* conf_http_requests: config_measurement_queries() of an http
 * measurement. */
static size_t
conf_http_requests(const struct measurement *m)
{
	size_t n = 0;

	if (m->ntargets == 0)
		return ((m->http.afs & HTTP_AF_4) ? 1 : 0) +
		    ((m->http.afs & HTTP_AF_6) ? 1 : 0);
	for (size_t i = 0; i < m->ntargets; i++)
		if (m->http.afs & (m->targets[i].af == 4 ? HTTP_AF_4 :
		    HTTP_AF_6))
			n++;
	return n;
}

size_t
config_measurement_queries(const struct measurement *m)
{
	size_t n = 0, protos = 0;

	if (m->kind == MEASUREMENT_HTTP)
		return conf_http_requests(m);
	if (m->dns.transports & DNS_PROTO_UDP)
		protos++;
	if (m->dns.transports & DNS_PROTO_TCP)
		protos++;
	for (size_t i = 0; i < m->ntargets; i++)
		if (m->dns.afs & (m->targets[i].af == 4 ? DNS_AF_4 : DNS_AF_6))
			n++;
	return n * protos;
}

/* conf_http_summary: config_measurement_summary() of an http
 * measurement. */
static void
conf_http_summary(const struct measurement *m, char *buf, size_t len)
{
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[96];
	size_t n = config_measurement_queries(m);
	const char *af, *s = n == 1 ? "" : "s";

	af = m->http.afs == (HTTP_AF_4 | HTTP_AF_6) ? "IPv4+IPv6" :
	    m->http.afs == HTTP_AF_4 ? "IPv4" : "IPv6";
	if (m->ntargets > 0)
		snprintf(what, sizeof(what), "%zu pinned address%s (%zu "
		    "request%s a cycle)", m->ntargets, m->ntargets == 1 ? "" :
		    "es", n, s);
	else if (http_url_host_af(m->http.url) != 0)
		snprintf(what, sizeof(what), "the URL's address (1 request a "
		    "cycle)");
	else if (m->http.proxy != NULL)
		snprintf(what, sizeof(what), "through the proxy (%zu request%s "
		    "a cycle)", n, s);
	else
		snprintf(what, sizeof(what), "resolved each cycle (at least "
		    "%zu request%s a cycle)", n, s);
	snprintf(buf, len, "http %s: %s %s, %s, %s; every %s, spread %s, "
	    "timeout %s", m->name, m->http.method == HTTP_HEAD ? "HEAD" :
	    "GET", m->http.url, af, what,
	    config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(m->http.timeout, timeout, sizeof(timeout)));
}

void
config_measurement_summary(const struct measurement *m, char *buf,
    size_t len)
{
	char qtype[DNS_TYPE_STRLEN], qclass[DNS_TYPE_STRLEN];
	char every[CONFIG_DURATION_STRLEN], spread[CONFIG_DURATION_STRLEN];
	char timeout[CONFIG_DURATION_STRLEN], what[160];
	const char *tp, *af;

	if (m->kind == MEASUREMENT_HTTP) {
		conf_http_summary(m, buf, len);
		return;
	}
	tp = m->dns.transports == (DNS_PROTO_UDP | DNS_PROTO_TCP) ?
	    "udp+tcp" : m->dns.transports == DNS_PROTO_UDP ? "udp" : "tcp";
	af = m->dns.afs == (DNS_AF_4 | DNS_AF_6) ? "IPv4+IPv6" :
	    m->dns.afs == DNS_AF_4 ? "IPv4" : "IPv6";
	if (m->ntlds > 0)
		snprintf(what, sizeof(what), "the servers of %zu TLD%s",
		    m->ntlds, m->ntlds == 1 ? "" : "s");
	else
		snprintf(what, sizeof(what), "%zu server address%s (%zu "
		    "queries a cycle)", m->ntargets, m->ntargets == 1 ? "" :
		    "es", config_measurement_queries(m));
	snprintf(buf, len, "dns %s: %s %s %s to %s, %s, %s, port %u; every "
	    "%s, spread %s, timeout %s", m->name,
	    m->qname_from_tld ? "<tld>" : m->dns.qname,
	    dns_qclass_name(m->dns.qclass, qclass, sizeof(qclass)),
	    dns_qtype_name(m->dns.qtype, qtype, sizeof(qtype)), what, tp, af,
	    m->dns.port,
	    config_duration_format(m->interval, every, sizeof(every)),
	    config_duration_format(m->spread, spread, sizeof(spread)),
	    config_duration_format(m->dns.timeout, timeout, sizeof(timeout)));
}
