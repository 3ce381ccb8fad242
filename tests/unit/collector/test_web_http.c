/*
 * test_web_http.c -- the dashboard's static files (web_http.c) on the
 * collector's HTTP service (collector_fixture.h), from a web_dir and a
 * Chart.js file the test writes: each whitelisted name served with its
 * bytes, Content-Type and Cache-Control, and no token; HEAD with the
 * length and no body; 405 for other methods; 404 for unknown names,
 * traversal in every spelling, directories, a name that is a directory
 * in web_dir, a file over the size bound and a file not installed.
 */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "store_fixture.h"
#include "collector_fixture.h"
#include "web_http.h"

#define INDEX_TEXT "<!doctype html><title>corewatch</title>\n"
#define JS_TEXT    "\"use strict\";\n"
#define CSS_TEXT   "body { margin: 0 }\n"
#define CHART_TEXT "/* Chart.js stand-in */\n"

/* The service with the dashboard on a web_dir of the test's own. */
struct wfix {
	struct cfix c;
	struct web_http *web;
	char dir[256];   /* web_dir */
	char chart[300]; /* the Chart.js file */
};

/* wfix_write: `text` as file `name` of the fixture's directory. */
static void
wfix_write(const char *path, const char *text)
{
	FILE *fp;

	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fputs(text, fp) >= 0, 1);
	assert_int_equal(fclose(fp), 0);
}

static void
wfix_file(struct wfix *w, const char *name, const char *text)
{
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", w->dir, name);
	wfix_write(path, text);
}

static int
setup(void **state)
{
	struct collector_http_conf conf;
	const char *tmp = getenv("TMPDIR");
	struct wfix *w;

	assert_non_null(w = calloc(1, sizeof(*w)));
	snprintf(w->dir, sizeof(w->dir), "%s/cwweb.XXXXXX",
	    tmp != NULL ? tmp : "/tmp");
	assert_non_null(mkdtemp(w->dir));
	wfix_file(w, "index.html", INDEX_TEXT);
	wfix_file(w, "dashboard.js", JS_TEXT);
	wfix_file(w, "dashboard.css", CSS_TEXT);
	/* Not a served name, though in the directory. */
	wfix_file(w, "secret.txt", "not for you\n");
	snprintf(w->chart, sizeof(w->chart), "%s/chart.min.js", w->dir);
	wfix_write(w->chart, CHART_TEXT);
	cfix_conf(&conf);
	cfix_open(&w->c, &conf, true, 0);
	assert_non_null(w->web = web_http_new(w->c.h, w->dir, w->chart));
	*state = w;
	return 0;
}

static int
teardown(void **state)
{
	struct wfix *w = *state;
	char cmd[600];

	cfix_close(&w->c);
	web_http_free(w->web);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", w->dir);
	assert_int_equal(system(cmd), 0);
	free(w);
	return 0;
}

/* assert_served: GET `path` without a token answers 200 with `body`,
 * `type` and `cache`. */
static void
assert_served(struct wfix *w, const char *path, const char *body,
    const char *type, const char *cache)
{
	char hdr[256];
	struct cresp r;

	assert_int_equal(cfix_get(&w->c, path, NULL, &r), 200);
	assert_int_equal(r.len, strlen(body));
	assert_memory_equal(r.body, body, r.len);
	assert_string_equal(cresp_header(&r, "Content-Type", hdr, sizeof(hdr)),
	    type);
	assert_string_equal(cresp_header(&r, "Cache-Control", hdr, sizeof(hdr)),
	    cache);
	assert_string_equal(cresp_header(&r, "X-Content-Type-Options", hdr,
	                        sizeof(hdr)),
	    "nosniff");
	cresp_clear(&r);
}

static void
test_names_served(void **state)
{
	struct wfix *w = *state;
	char hdr[512];
	struct cresp r;

	assert_served(w, "/", INDEX_TEXT, "text/html; charset=utf-8",
	    "no-cache");
	assert_served(w, "/web/index.html", INDEX_TEXT,
	    "text/html; charset=utf-8", "no-cache");
	assert_served(w, "/web/dashboard.js", JS_TEXT,
	    "text/javascript; charset=utf-8", "no-cache");
	assert_served(w, "/web/dashboard.css", CSS_TEXT,
	    "text/css; charset=utf-8", "no-cache");
	assert_served(w, "/web/chart.js", CHART_TEXT,
	    "text/javascript; charset=utf-8", "public, max-age=86400");
	/* A query string changes nothing. */
	assert_served(w, "/web/dashboard.js?v=1", JS_TEXT,
	    "text/javascript; charset=utf-8", "no-cache");
	/* The page may load nothing from another origin. */
	assert_int_equal(cfix_get(&w->c, "/", NULL, &r), 200);
	assert_non_null(
	    cresp_header(&r, "Content-Security-Policy", hdr, sizeof(hdr)));
	assert_non_null(strstr(hdr, "default-src 'none'"));
	assert_non_null(strstr(hdr, "script-src 'self'"));
	cresp_clear(&r);
	/* An edited file shows at once. */
	wfix_file(w, "dashboard.css", "p { color: red }\n");
	assert_served(w, "/web/dashboard.css", "p { color: red }\n",
	    "text/css; charset=utf-8", "no-cache");
}

static void
test_other_names_not_found(void **state)
{
	static const char *const paths[] = {
		"/web/",
		"/web",
		"/web/secret.txt",
		"/web/chart.min.js",
		"/web/../web/index.html",
		"/web/%2e%2e/web/index.html",
		"/web/..%2fsecret.txt",
		"/web/dashboard.js/",
		"/web//dashboard.js",
		"/web/./dashboard.js",
		"/web/Dashboard.js",
		"/web/dashboard.js%00.css",
		"/index.html",
		"/../etc/passwd",
		"/web/..%2f..%2f..%2fetc%2fpasswd",
	};
	struct wfix *w = *state;
	struct cresp r;

	for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		int status = cfix_get(&w->c, paths[i], NULL, &r);
		if (status != 404 && status != 400)
			fail_msg("%s: %d", paths[i], status);
		assert_null(strstr(r.body, "not for you"));
		assert_null(strstr(r.body, "<a href"));
		cresp_clear(&r);
	}
	/* The API stays behind its token. */
	assert_int_equal(cfix_get(&w->c, "/api/v1/probes", NULL, &r), 401);
	cresp_clear(&r);
}

static void
test_missing_or_odd_files_not_found(void **state)
{
	struct wfix *w = *state;
	char path[600], *big;
	struct cresp r;

	/* Not installed. */
	snprintf(path, sizeof(path), "%s/dashboard.js", w->dir);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(cfix_get(&w->c, "/web/dashboard.js", NULL, &r), 404);
	assert_string_equal(cresp_error(&r, "not_found"),
	    "/web/dashboard.js is not installed on this collector");
	/* The detail does not tell where files are. */
	assert_null(strstr(r.body, w->dir));
	cresp_clear(&r);
	/* A directory of a served name. */
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(cfix_get(&w->c, "/web/dashboard.js", NULL, &r), 404);
	cresp_clear(&r);
	assert_int_equal(rmdir(path), 0);
	/* Over the size bound. */
	assert_non_null(big = malloc(WEB_HTTP_FILE_MAX + 2));
	memset(big, 'x', WEB_HTTP_FILE_MAX + 1);
	big[WEB_HTTP_FILE_MAX + 1] = '\0';
	wfix_file(w, "dashboard.css", big);
	free(big);
	assert_int_equal(cfix_get(&w->c, "/web/dashboard.css", NULL, &r), 404);
	cresp_clear(&r);
	/* Exactly at the bound: served. */
	assert_non_null(big = malloc(WEB_HTTP_FILE_MAX + 1));
	memset(big, 'y', WEB_HTTP_FILE_MAX);
	big[WEB_HTTP_FILE_MAX] = '\0';
	wfix_file(w, "dashboard.css", big);
	free(big);
	assert_int_equal(cfix_get(&w->c, "/web/dashboard.css", NULL, &r), 200);
	assert_int_equal(r.len, WEB_HTTP_FILE_MAX);
	cresp_clear(&r);
}

/* raw_exchange: `request` on a connection the service closes after
 * its answer; every byte of the answer in `out` (NUL-terminated). */
static size_t
raw_exchange(struct wfix *w, const char *request, char *out, size_t len)
{
	struct cclient c;
	size_t n;

	cclient_open(&w->c, &c, 0);
	cclient_sends(&c, request);
	assert_true(cfix_run_until(&w->c, cclient_eof, &c, CFIX_WAIT_MS));
	n = evbuffer_get_length(c.in);
	assert_true(n < len);
	evbuffer_remove(c.in, out, n);
	out[n] = '\0';
	cclient_close(&c);
	return n;
}

static void
test_head_and_methods(void **state)
{
	struct wfix *w = *state;
	char out[4096], want[64];
	struct cresp r;
	size_t n;

	n = raw_exchange(w,
	    "HEAD /web/dashboard.css HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n",
	    out, sizeof(out));
	assert_true(n > 4);
	assert_int_equal(strncmp(out, "HTTP/1.1 200 ", 13), 0);
	snprintf(want, sizeof(want), "Content-Length: %zu\r\n",
	    strlen(CSS_TEXT));
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "Content-Type: text/css; charset=utf-8"));
	/* The head and nothing else. */
	assert_non_null(strstr(out, "\r\n\r\n"));
	assert_string_equal(strstr(out, "\r\n\r\n"), "\r\n\r\n");
	/* Other methods. */
	n = raw_exchange(w,
	    "DELETE /web/dashboard.css HTTP/1.1\r\nHost: t\r\n"
	    "Connection: close\r\n\r\n",
	    out, sizeof(out));
	assert_int_equal(strncmp(out, "HTTP/1.1 405 ", 13), 0);
	assert_int_equal(cfix_exchange(&w->c,
	                     "POST /web/index.html HTTP/1.1\r\nHost: t\r\n"
	                     "Content-Length: 0\r\n\r\n",
	                     strlen(
	                         "POST /web/index.html HTTP/1.1\r\nHost: t\r\n"
	                         "Content-Length: 0\r\n\r\n"),
	                     &r),
	    405);
	assert_non_null(cresp_header(&r, "Allow", want, sizeof(want)));
	assert_string_equal(want, "GET, HEAD");
	cresp_clear(&r);
	/* A body for a page is refused before it is read. */
	n = raw_exchange(w,
	    "POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n"
	    "\r\n",
	    out, sizeof(out));
	assert_int_equal(strncmp(out, "HTTP/1.1 4", 10), 0);
}

static void
test_content_types(void **state)
{
	(void)state;
	assert_string_equal(web_http_content_type("a.html"),
	    "text/html; charset=utf-8");
	assert_string_equal(web_http_content_type("a.js"),
	    "text/javascript; charset=utf-8");
	assert_string_equal(web_http_content_type("a.css"),
	    "text/css; charset=utf-8");
	assert_null(web_http_content_type("a.txt"));
	assert_null(web_http_content_type("html"));
	assert_null(web_http_content_type("a.js.map"));
}

static void
test_long_path_refused(void **state)
{
	struct wfix *w = *state;
	char dir[WEB_HTTP_PATH_MAX + 8];

	memset(dir, 'd', sizeof(dir) - 1);
	dir[0] = '/';
	dir[sizeof(dir) - 1] = '\0';
	assert_null(web_http_new(w->c.h, dir, w->chart));
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
		T(test_names_served),
		T(test_other_names_not_found),
		T(test_missing_or_odd_files_not_found),
		T(test_head_and_methods),
		T(test_content_types),
		T(test_long_path_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
