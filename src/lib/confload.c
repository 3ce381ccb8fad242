/*
 * confload.c -- the configuration loader both programs share
 * (confload.h): the preprocessor, the problems with their lines, where
 * every option was set, and the checks of values a schema uses.
 *
 * Checks run in libconfuse's validation callbacks, which carry no user
 * pointer: conf_loading is the one way to reach the load from them.
 * libconfuse's own lexer keeps global state too, so loads never overlap.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <confuse.h>

#include "confload.h"

#define CONF_FILE_MAX    (1024 * 1024) /* bytes per file */
#define CONF_ERRORS_MAX  50            /* shown; more are counted */
#define CONF_ERRORS_KEPT 500

/* The load being parsed; set and cleared by conf_loader_parse() alone. */
static struct conf_loader *conf_current;

struct conf_loader *
conf_loading(void)
{
	return conf_current;
}

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
	         sizeof(*grown))) == NULL ||
	    (copy = strdup(text)) == NULL) {
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

void
conf_error(struct conf_loader *l, int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	conf_verror(l, line, fmt, ap);
	va_end(ap);
}

/* conf_error_file: an error in file `file` at its own line `line`, for
 * the preprocessor, which knows real lines. */
void
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
char *
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
		{ "no such option ", "unknown key " },
		{ "found duplicate title ", "another measurement is named " },
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
	struct conf_loader *l = conf_current;
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
	CONF_PP_COMMENT, /* inside slash-star */
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
	               (int)(dir_end - l->files[from]), l->files[from],
	               name) >= (int)sizeof(path))
		goto toolong;
	if (l->depth >= CONF_INCLUDE_DEPTH) {
		conf_error_file(l, l->files[from], from_line,
		    "include(\"%s\"): includes nested more than %d deep", name,
		    CONF_INCLUDE_DEPTH);
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
				out[o++] = ' '; /* keep tokens apart */
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
	if ((grown = reallocarray(l->files, l->nfiles + 1, sizeof(*grown))) ==
	        NULL ||
	    (out = malloc(len + 1)) == NULL ||
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
		    (inc = conf_pp_include_name(out, o, name, sizeof(name))) !=
		        0) {
			if (inc == -1) {
				conf_error_file(l, path, lineno,
				    "malformed "
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
			if (close != NULL &&
			    memchr(p, '\n', (size_t)(close - p)) == NULL)
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
				conf_error(l, line,
				    "'}' without a matching "
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
int
conf_line_of(struct conf_loader *l, const cfg_t *sec, const char *opt,
    unsigned idx, int fallback)
{
	struct conf_optline *o = conf_optline_find(l, sec, opt, idx);

	return o != NULL ? o->line : fallback;
}

/* conf_given: whether `opt` of `sec` appears in the file. */
bool
conf_given(struct conf_loader *l, const cfg_t *sec, const char *opt)
{
	return conf_optline_find(l, sec, opt, 0) != NULL;
}

/* conf_record_twice: report an option given a second time. */
static void
conf_record_twice(struct conf_loader *l, cfg_t *cfg, const char *opt, int first)
{
	int line = l->origin[first - 1].line;

	if (cfg->title != NULL)
		conf_error(l, cfg->line,
		    "%s \"%s\": %s is set twice (first "
		    "on line %d)",
		    cfg->name, cfg->title, opt, line);
	else if (strcmp(cfg->name, "root") != 0)
		conf_error(l, cfg->line,
		    "%s: %s is set twice (first on line "
		    "%d)",
		    cfg->name, opt, line);
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
		if ((grown = reallocarray(l->optlines, cap, sizeof(*grown))) ==
		    NULL) {
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
int
conf_record(cfg_t *cfg, cfg_opt_t *opt)
{
	struct conf_loader *l = conf_current;
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
		first->ended = true; /* the closing brace */
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

/* conf_sec_error: an error about option `opt` (value idx) of a section,
 * at the option's line, or the section's when opt is NULL or unset. */
void
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
bool
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
bool
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
	        l->origin[line - 1].file :
	        0];
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
		n = snprintf(dir, len, "%s%s%.*s",
		    strcmp(cwd, "/") == 0 ? "" : cwd, flen > 0 ? "/" : "", flen,
		    file);
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
char *
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
		snprintf(why, whylen,
		    "\"%.64s...\" in %s is longer than %d "
		    "bytes",
		    name,
		    name[0] == '/'     ? "/" :
		        dir[0] != '\0' ? dir :
		                         "/",
		    PATH_MAX - 1);
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
int
conf_sec_path(struct conf_sec *s, const char *opt, const char *kind, char **out)
{
	const char *v = cfg_getstr(s->sec, opt);
	char why[PATH_MAX + 256], *full;

	if (v == NULL || !conf_text_ok(v, PATH_MAX - 1)) {
		conf_sec_error(s, opt, 0, "%s: a %s name", opt, kind);
		return -1;
	}
	if ((full = conf_join(s->l, conf_line_of(s->l, s->sec, opt, 0, s->line),
	         v, why, sizeof(why))) == NULL) {
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
int
conf_duration(struct conf_sec *s, const char *opt, cw_usec_t dflt,
    cw_usec_t *out)
{
	const char *text = cfg_getstr(s->sec, opt);

	if (text == NULL) {
		*out = dflt;
		return 0;
	}
	if (cw_duration_parse(text, out) == -1) {
		conf_sec_error(s, opt, 0,
		    "%s: \"%s\" is not a duration "
		    "(write e.g. 300, 30s, 250ms, 5m, 1h)",
		    opt, text);
		return -1;
	}
	return 0;
}

/* conf_int: integer option `opt` within [min, max]. */
int
conf_int(struct conf_sec *s, const char *opt, long min, long max, long *out)
{
	*out = cfg_getint(s->sec, opt);
	if (*out < min || *out > max) {
		conf_sec_error(s, opt, 0,
		    "%s: %ld is out of range (%ld to "
		    "%ld)",
		    opt, *out, min, max);
		return -1;
	}
	return 0;
}

/* conf_section: the section just closed under option `opt` of the root,
 * and the line where it opened. */
void
conf_section(struct conf_loader *l, cfg_t *root, cfg_opt_t *opt,
    struct conf_sec *s)
{
	unsigned n = cfg_opt_size(opt);

	s->l = l;
	s->sec = cfg_opt_getnsec(opt, n > 0 ? n - 1 : 0);
	s->line = l->next_opening < l->nopenings ?
	    l->openings[l->next_opening++] :
	    root->line;
}

/* --- Loading --- */

int
conf_loader_parse(struct conf_loader *l, const char *path, cfg_t *cfg)
{
	int rc;

	if (conf_pp_file(l, path, NULL, 0) == -1 || l->oom ||
	    conf_pp_braces(l) == -1)
		return -1;
	cfg_set_error_function(cfg, conf_cfg_error);
	conf_current = l;
	rc = cfg_parse_buf(cfg, l->text != NULL ? l->text : "");
	conf_current = NULL;
	if (rc != CFG_SUCCESS && l->nerrors == 0)
		conf_error(l, 0, "cannot parse");
	return rc == CFG_SUCCESS ? 0 : -1;
}

void
conf_loader_release(struct conf_loader *l)
{
	free(l->text);
	free(l->origin);
	for (size_t i = 0; i < l->nfiles; i++)
		free(l->files[i]);
	free(l->files);
	free(l->openings);
	free(l->optlines);
	for (size_t i = 0; i < l->nproblems; i++)
		free(l->problems[i].text);
	free(l->problems);
}

/* --- Whole files (corewatch-collector) --- */

struct conf_file {
	struct conf_loader l;
	cfg_t *cfg;
};

/* conf_file_parse: preprocess and parse f->l's file against `opts`. */
static int
conf_file_parse(struct conf_file *f, const char *path, cfg_opt_t *opts)
{
	if ((f->cfg = cfg_init(opts, CFGF_NONE)) == NULL) {
		f->l.oom = true;
		return -1;
	}
	for (cfg_opt_t *o = opts; o->name != NULL; o++)
		if (o->type != CFGT_SEC && o->type != CFGT_FUNC)
			cfg_set_validate_func(f->cfg, o->name, conf_record);
	return conf_loader_parse(&f->l, path, f->cfg) == 0 &&
	        f->l.nerrors == 0 && !f->l.oom ?
	    0 :
	    -1;
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
	rc = conf_file_parse(f, path, opts);
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
	conf_error(&f->l, conf_line_of(&f->l, f->cfg, opt, 0, 0), "%s: %s", opt,
	    msg);
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
	conf_loader_release(&f->l);
	free(f);
}
