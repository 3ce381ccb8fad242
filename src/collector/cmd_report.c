/*
 * cmd_report.c -- `corewatch-collector report`: options, the report
 * built (report.h) and written to --out, through Chromium (PDF) or
 * rsvg-convert (PNG) when asked, each run in a private temporary
 * directory, bounded in time.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>

#include "cli.h"
#include "cmd_report.h"
#include "cwtime.h"
#include "export.h"
#include "fileio.h"
#include "report.h"
#include "store.h"

#define CMD_REPORT_OUT_MAX (64 * 1024 * 1024) /* a PDF or PNG read back */

enum {
	OPT_DB = 256,
	OPT_FILTER, /* from, to, probe, name, addr, country, asn */
	OPT_OUT,
	OPT_FORMAT,
	OPT_FIGURE,
	OPT_LIST,
	OPT_CHROMIUM,
	OPT_RSVG,
	OPT_TIMEOUT,
};

static const struct option cmd_report_options[] = {
	{ "db", required_argument, NULL, 'd' },
	{ "config", required_argument, NULL, 'c' },
	COLLECTOR_CMD_FILTER_OPTIONS(OPT_FILTER),
	{ "out", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "figure", required_argument, NULL, OPT_FIGURE },
	{ "list-figures", no_argument, NULL, OPT_LIST },
	{ "chromium", required_argument, NULL, OPT_CHROMIUM },
	{ "rsvg-convert", required_argument, NULL, OPT_RSVG },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* What the command line asks for. */
struct cmd_report {
	const char *db, *conf_path, *out, *figure, *tool;
	bool pdf, png, list;
	long timeout_s;
	struct export_params xp;
};

static void
cmd_report_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch-collector report [--db URL | -c FILE] "
	    "--from T --to T [filters]\n"
	    "           --out FILE [--format html|pdf] [--figure NAME] "
	    "[--list-figures]\n"
	    "  -d, --db URL         sqlite:PATH or postgresql://...\n"
	    "  -c, --config FILE    the database of this configuration\n"
	    "  --from T, --to T     the window (UTC, ISO 8601), required\n"
	    "  --probe ID, --name N, --addr A, --country CC, --asn N\n"
	    "                       the records of this probe, measurement, "
	    "address,\n"
	    "                       declared country or AS number\n"
	    "  -o, --out FILE       write to FILE (complete or not at all)\n"
	    "  --format F           html (the default) or pdf (headless "
	    "Chromium)\n"
	    "  --figure NAME        one figure alone: SVG, or PNG when FILE "
	    "ends in .png\n"
	    "  --list-figures       the figures' names\n"
	    "  --chromium PATH      Chromium for pdf (default: chromium on "
	    "PATH)\n"
	    "  --rsvg-convert PATH  rsvg-convert for PNG (default: on PATH)\n"
	    "  --timeout S          stop Chromium or rsvg-convert after S "
	    "seconds (%d)\n"
	    "exit status: 0 written, 1 database, output or converter error, "
	    "2 usage error.\n",
	    CMD_REPORT_TIMEOUT_S);
}

static bool
cmd_report_ends(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n > k && strcasecmp(s + n - k, suffix) == 0;
}

/* The option of one letter or number `ch`.  -1 to go on, or an exit
 * status. */
static int
cmd_report_option(struct cmd_report *c, int ch, const char *name)
{
	char *end;

	switch (ch) {
	case 'c':
		c->conf_path = optarg;
		return -1;
	case 'd':
		c->db = optarg;
		return -1;
	case 'o':
		c->out = optarg;
		return -1;
	case OPT_FILTER:
		return collector_cmd_filter("report", &c->xp, name, optarg);
	case OPT_FORMAT:
		if (strcmp(optarg, "pdf") != 0 && strcmp(optarg, "html") != 0)
			return collector_cmd_error("report", CW_EXIT_USAGE,
			    "--format: \"%s\" is not html or pdf", optarg);
		c->pdf = strcmp(optarg, "pdf") == 0;
		return -1;
	case OPT_FIGURE:
		c->figure = optarg;
		return -1;
	case OPT_LIST:
		c->list = true;
		return -1;
	case OPT_CHROMIUM:
	case OPT_RSVG:
		c->tool = optarg;
		return -1;
	case OPT_TIMEOUT:
		errno = 0;
		c->timeout_s = strtol(optarg, &end, 10);
		if (errno != 0 || end == optarg || *end != '\0' ||
		    c->timeout_s < 1 || c->timeout_s > 3600)
			return collector_cmd_error("report", CW_EXIT_USAGE,
			    "--timeout: \"%s\" is not a number of seconds "
			    "from 1 to 3600",
			    optarg);
		return -1;
	default:
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "unknown option or missing value (try --help)");
	}
}

/* What no single option shows.  -1 to go on, or an exit status. */
static int
cmd_report_check(struct cmd_report *c)
{
	int rc;
	size_t i;

	if (c->xp.filter.from == 0 || c->xp.filter.to == 0)
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--from and --to are required (try --help)");
	if ((rc = collector_cmd_filter_check("report", &c->xp)) != -1)
		return rc;
	if (c->out == NULL || c->out[0] == '\0')
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--out FILE is required");
	if (c->figure == NULL)
		return -1;
	for (i = 0; i < report_figure_count(); i++)
		if (strcmp(c->figure, report_figure_name(i)) == 0)
			break;
	if (i == report_figure_count())
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--figure: no figure \"%s\" (try --list-figures)",
		    c->figure);
	if (c->pdf)
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--figure writes SVG or PNG, not pdf");
	c->png = cmd_report_ends(c->out, ".png");
	if (!c->png && !cmd_report_ends(c->out, ".svg"))
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--out: a figure's file ends in .svg or .png");
	return -1;
}

/* The options into `c`.  Returns -1 to go on, or an exit status. */
static int
cmd_report_parse(int argc, char **argv, struct cmd_report *c)
{
	int ch, idx, rc;

	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "c:d:o:h", cmd_report_options,
	            &idx)) != -1) {
		if (ch == 'h') {
			cmd_report_usage(stdout);
			return CW_EXIT_OK;
		}
		if (ch == '?' || ch == ':')
			return collector_cmd_error("report", CW_EXIT_USAGE,
			    "unknown option or missing value %s (try --help)",
			    argv[optind - 1]);
		if ((rc = cmd_report_option(c, ch,
		         cmd_report_options[idx].name)) != -1)
			return rc;
	}
	if (optind < argc)
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "unexpected argument \"%s\" (try --help)", argv[optind]);
	if (c->list) {
		for (size_t i = 0; i < report_figure_count(); i++)
			printf("%s\n", report_figure_name(i));
		return CW_EXIT_OK;
	}
	return cmd_report_check(c);
}

/* --- the helper programs --- */

/* `name` as an executable: itself when it holds a '/', else the first
 * of PATH.  Returns 0 with the path in `buf`, or -1. */
static int
cmd_report_which(const char *name, char *buf, size_t len)
{
	const char *path = getenv("PATH"), *p, *end;

	if (strchr(name, '/') != NULL) {
		snprintf(buf, len, "%s", name);
		return access(buf, X_OK);
	}
	for (p = path != NULL ? path : "/usr/bin:/bin"; *p != '\0'; p = end) {
		end = strchr(p, ':');
		if (end == NULL)
			end = p + strlen(p);
		if ((size_t)snprintf(buf, len, "%.*s/%s", (int)(end - p), p,
		        name) < len &&
		    end > p && access(buf, X_OK) == 0)
			return 0;
		if (*end == ':')
			end++;
	}
	return -1;
}

static int
cmd_report_rm_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	return flag == FTW_DP ? rmdir(path) : unlink(path);
}

/* Remove the temporary directory `dir` and all in it. */
static void
cmd_report_rm(const char *dir)
{
	if (dir[0] != '\0')
		nftw(dir, cmd_report_rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* Run `argv` in a process group of its own, HOME and TMPDIR in `dir`, its output
 * to `dir`/log, for at most `timeout_s` seconds; then stop what is left
 * of its group.  Returns 0 when it exited 0, else -1 (said). */
static int
cmd_report_spawn(char *const argv[], const char *dir, long timeout_s)
{
	char log[PATH_MAX];
	cw_usec_t deadline = cw_mono_usec() + timeout_s * CW_USEC_PER_SEC;
	struct timespec nap = { 0, 50 * 1000 * 1000 };
	int status = 0, fd;
	pid_t pid, w = 0;

	snprintf(log, sizeof(log), "%s/log", dir);
	if ((pid = fork()) == -1)
		return collector_cmd_error("report", -1, "fork: %s",
		    strerror(errno));
	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600)) !=
		    -1) {
			dup2(fd, STDOUT_FILENO);
			dup2(fd, STDERR_FILENO);
			close(fd);
		}
		setenv("HOME", dir, 1);
		setenv("TMPDIR", dir, 1);
		execv(argv[0], argv);
		_exit(127);
	}
	setpgid(pid, pid); /* the child's own, whichever runs first */
	while ((w = waitpid(pid, &status, WNOHANG)) == 0 &&
	    cw_mono_usec() < deadline)
		nanosleep(&nap, NULL);
	kill(-pid, SIGKILL); /* what it started and left behind */
	if (w == 0) {
		waitpid(pid, &status, 0);
		return collector_cmd_error("report", -1,
		    "%s: stopped after %ld s (--timeout)", argv[0], timeout_s);
	}
	if (w == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return collector_cmd_error("report", -1,
		    "%s failed (status %d); its output was in %s", argv[0],
		    status, log);
	return 0;
}

/* All of `buf` to `fd`.  0 or -1 (errno set). */
static int
cmd_report_write(int fd, struct evbuffer *buf)
{
	size_t n = evbuffer_get_length(buf);
	unsigned char *p = evbuffer_pullup(buf, -1);

	if (n > 0 && p == NULL) {
		errno = ENOMEM;
		return -1;
	}
	return n > 0 ? fileio_write_all(fd, p, n) : 0;
}

/* Write `buf` to `dir`/`name` (made here).  0 or -1 (said). */
static int
cmd_report_put(const char *dir, const char *name, struct evbuffer *buf,
    char *path, size_t len)
{
	int fd, rc;

	snprintf(path, len, "%s/%s", dir, name);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600)) == -1)
		return collector_cmd_error("report", -1, "%s: %s", path,
		    strerror(errno));
	rc = cmd_report_write(fd, buf);
	if (close(fd) == -1 || rc == -1)
		return collector_cmd_error("report", -1, "%s: %s", path,
		    strerror(errno));
	return 0;
}

/* All of `fd` (to its end) into `out`.  0 or -1. */
static int
cmd_report_read(int fd, struct evbuffer *out)
{
	int n;

	while ((n = evbuffer_read(out, fd, 65536)) != 0)
		if (n == -1 && errno != EINTR)
			return -1;
	return 0;
}

/* Read `path` (at most CMD_REPORT_OUT_MAX bytes) into `out`, which must
 * start with `magic`.  0 or -1 (said). */
static int
cmd_report_take(const char *path, const char *magic, struct evbuffer *out)
{
	struct stat sb;
	int fd, rc = -1;
	unsigned char *head;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW)) == -1)
		return collector_cmd_error("report", -1,
		    "%s: %s (the converter wrote nothing)", path,
		    strerror(errno));
	if (fstat(fd, &sb) == -1 || !S_ISREG(sb.st_mode) ||
	    sb.st_size > CMD_REPORT_OUT_MAX)
		collector_cmd_error("report", -1,
		    "%s: not a file of at most "
		    "%d bytes",
		    path, CMD_REPORT_OUT_MAX);
	else if (cmd_report_read(fd, out) == -1 ||
	    evbuffer_get_length(out) != (size_t)sb.st_size)
		collector_cmd_error("report", -1, "%s: cannot read it whole",
		    path);
	else if (evbuffer_get_length(out) < strlen(magic) ||
	    (head = evbuffer_pullup(out, (ssize_t)strlen(magic))) == NULL ||
	    memcmp(head, magic, strlen(magic)) != 0)
		collector_cmd_error("report", -1,
		    "%s: the converter's output is not what was asked", path);
	else
		rc = 0;
	close(fd);
	return rc;
}

/* Convert `buf` in place: the HTML page to PDF through Chromium, or an
 * SVG figure to PNG through rsvg-convert (`tool`, found already), in a
 * private temporary directory.  0 or -1 (said). */
static int
cmd_report_convert(const struct cmd_report *c, const char *tool,
    struct evbuffer *buf)
{
	char tmpl[PATH_MAX], dir[PATH_MAX], in[PATH_MAX + 16];
	char out[PATH_MAX + 16], arg_out[PATH_MAX + 32];
	char arg_prof[PATH_MAX + 32], url[PATH_MAX + 32];
	const char *tmp = getenv("TMPDIR");
	struct evbuffer *res;
	int rc = -1;

	snprintf(tmpl, sizeof(tmpl), "%s/cw-report.XXXXXX",
	    tmp != NULL && tmp[0] != '\0' ? tmp : "/tmp");
	if (mkdtemp(tmpl) == NULL || realpath(tmpl, dir) == NULL) {
		collector_cmd_error("report", -1, "%s: %s", tmpl,
		    strerror(errno));
		return -1;
	}
	if ((res = evbuffer_new()) == NULL)
		goto out;
	if (c->pdf) {
		char *argv[] = { (char *)tool, "--headless=new", "--no-sandbox",
			"--disable-gpu", "--disable-extensions",
			"--no-first-run", "--no-default-browser-check",
			"--disable-dev-shm-usage", "--no-pdf-header-footer",
			arg_prof, arg_out, url, NULL };
		snprintf(out, sizeof(out), "%s/report.pdf", dir);
		snprintf(arg_prof, sizeof(arg_prof), "--user-data-dir=%s/p",
		    dir);
		snprintf(arg_out, sizeof(arg_out), "--print-to-pdf=%s", out);
		if (cmd_report_put(dir, "report.html", buf, in, sizeof(in)) ==
		        -1 ||
		    (size_t)snprintf(url, sizeof(url), "file://%s", in) >=
		        sizeof(url) ||
		    cmd_report_spawn(argv, dir, c->timeout_s) == -1 ||
		    cmd_report_take(out, "%PDF", res) == -1)
			goto out;
	} else {
		char *argv[] = { (char *)tool, "-f", "png", "-o", out, in,
			NULL };
		snprintf(out, sizeof(out), "%s/figure.png", dir);
		if (cmd_report_put(dir, "figure.svg", buf, in, sizeof(in)) ==
		        -1 ||
		    cmd_report_spawn(argv, dir, c->timeout_s) == -1 ||
		    cmd_report_take(out, "\x89PNG\r\n\x1a\n", res) == -1)
			goto out;
	}
	evbuffer_drain(buf, evbuffer_get_length(buf));
	rc = evbuffer_add_buffer(buf, res);
out:
	if (res != NULL)
		evbuffer_free(res);
	cmd_report_rm(dir);
	return rc;
}

/* The report into `buf`: the page or the figure.  0 or -1 (said). */
static int
cmd_report_make(const struct cmd_report *c, struct store *st,
    struct evbuffer *buf)
{
	struct report *r;
	char err[512];
	int rc;

	if ((r = report_build(st, &c->xp.filter, err, sizeof(err))) == NULL)
		return collector_cmd_error("report", -1, "%s", err);
	rc = c->figure != NULL ? report_figure(r, c->figure, buf) :
	                         report_write_html(r, buf);
	report_free(r);
	if (rc != 0)
		return collector_cmd_error("report", -1, "out of memory");
	return 0;
}

/* Build, convert when asked, and write into the atomic file `fa`.
 * Returns the exit status; `fa` is committed or aborted. */
static int
cmd_report_run(const struct cmd_report *c, const char *url, const char *tool,
    struct fileio_atomic *fa)
{
	struct evbuffer *buf = evbuffer_new();
	struct store *st = NULL;
	char err[512];
	int rc = CW_EXIT_FAILURES;

	if (buf == NULL)
		collector_cmd_error("report", 0, "out of memory");
	else if (strncmp(url, "sqlite:", 7) == 0 && access(url + 7, F_OK) == -1)
		collector_cmd_error("report", 0, "%s: %s", url + 7,
		    strerror(errno));
	else if ((st = store_open(url, err, sizeof(err))) == NULL)
		collector_cmd_error("report", 0, "%s: %s", url, err);
	else if (cmd_report_make(c, st, buf) == 0 &&
	    (tool == NULL || cmd_report_convert(c, tool, buf) == 0)) {
		if (cmd_report_write(fa->fd, buf) == -1)
			collector_cmd_error("report", 0, "%s: %s", fa->tmp,
			    strerror(errno));
		else
			rc = CW_EXIT_OK;
	}
	store_close(st);
	if (buf != NULL)
		evbuffer_free(buf);
	if (rc != CW_EXIT_OK) {
		fileio_atomic_abort(fa);
		return rc;
	}
	switch (fileio_atomic_commit(fa)) {
	case FILEIO_OK:
		return CW_EXIT_OK;
	case FILEIO_DIRSYNC:
		collector_cmd_error("report", 0,
		    "%s: fsync of the directory: "
		    "%s",
		    c->out, strerror(errno));
		return CW_EXIT_OK;
	default:
		return collector_cmd_error("report", CW_EXIT_FAILURES, "%s: %s",
		    c->out, strerror(errno));
	}
}

int
collector_cmd_report(int argc, char **argv, cmd_export_db_fn *db_of)
{
	struct cmd_report c = { .timeout_s = CMD_REPORT_TIMEOUT_S };
	struct fileio_atomic fa;
	char tool[PATH_MAX];
	const char *name;
	char *url;
	int rc;

	export_params_init(&c.xp);
	if ((rc = cmd_report_parse(argc, argv, &c)) != -1)
		return rc;
	name = c.tool != NULL ? c.tool : c.pdf ? "chromium" : "rsvg-convert";
	if ((c.pdf || c.png) &&
	    cmd_report_which(name, tool, sizeof(tool)) == -1)
		return collector_cmd_error("report", CW_EXIT_FAILURES,
		    "%s: not found or not executable (%s)", name,
		    c.pdf ? "install chromium or give --chromium PATH" :
		            "install librsvg2-bin or give --rsvg-convert PATH");
	switch (fileio_atomic_begin(&fa, AT_FDCWD, c.out, 0644)) {
	case FILEIO_OK:
		break;
	case FILEIO_NAME:
		return collector_cmd_error("report", CW_EXIT_USAGE,
		    "--out: name too long");
	default:
		return collector_cmd_error("report", CW_EXIT_FAILURES, "%s: %s",
		    fa.tmp, strerror(errno));
	}
	if ((url = db_of("report", c.conf_path, c.db)) == NULL) {
		fileio_atomic_abort(&fa);
		return CW_EXIT_USAGE;
	}
	rc = cmd_report_run(&c, url, c.pdf || c.png ? tool : NULL, &fa);
	free(url);
	return rc;
}
