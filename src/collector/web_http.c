/*
 * web_http.c -- the dashboard's static files (web_http.h): a fixed
 * table of names, each a route of its own, read whole from its file
 * when asked for.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>

#include "collector_http.h"
#include "log.h"
#include "web_http.h"

/* What the page may load: itself, its script and style, the API; no
 * other origin (nothing from a CDN), no inline script. */
#define WEB_HTTP_CSP \
	"default-src 'none'; script-src 'self'; style-src 'self'; " \
	"img-src 'self' data:; connect-src 'self'; base-uri 'none'; " \
	"form-action 'none'; frame-ancestors 'none'"

/* One served name. */
struct web_file {
	const char *route; /* the path asked for */
	const char *name;  /* in web_dir; NULL: the Chart.js file */
	const char *cache; /* Cache-Control */
};

/* The page changes with the collector: revalidated each time.  Chart.js
 * changes only with its Debian package. */
static const struct web_file web_files[] = {
	{ "/", "index.html", "no-cache" },
	{ "/web/index.html", "index.html", "no-cache" },
	{ "/web/dashboard.js", "dashboard.js", "no-cache" },
	{ "/web/dashboard.css", "dashboard.css", "no-cache" },
	{ "/web/chart.js", NULL, "public, max-age=86400" },
};
#define WEB_FILES (sizeof(web_files) / sizeof(web_files[0]))

/* A route and the file it serves. */
struct web_route {
	const struct web_file *f;
	char path[WEB_HTTP_PATH_MAX];
	const char *type;
};

struct web_http {
	struct collector_http *h;
	struct web_route routes[WEB_FILES];
};

const char *
web_http_content_type(const char *name)
{
	const char *dot = strrchr(name, '.');

	if (dot == NULL)
		return NULL;
	if (strcmp(dot, ".html") == 0)
		return "text/html; charset=utf-8";
	if (strcmp(dot, ".js") == 0)
		return "text/javascript; charset=utf-8";
	if (strcmp(dot, ".css") == 0)
		return "text/css; charset=utf-8";
	return NULL;
}

/* whttp_read: the whole regular file `path` of at most
 * WEB_HTTP_FILE_MAX bytes into `buf`.  Returns 0, or -1 with errno
 * (EFBIG: too large, EISDIR: not a regular file). */
static int
whttp_read(const char *path, struct evbuffer *buf)
{
	char chunk[16384];
	struct stat sb;
	size_t total = 0;
	ssize_t n;
	int fd, saved;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) == -1)
		return -1;
	if (fstat(fd, &sb) == -1)
		goto fail;
	if (!S_ISREG(sb.st_mode)) {
		errno = EISDIR;
		goto fail;
	}
	while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			goto fail;
		/* The size is checked as read: the file may grow. */
		if ((total += (size_t)n) > WEB_HTTP_FILE_MAX) {
			errno = EFBIG;
			goto fail;
		}
		if (evbuffer_add(buf, chunk, (size_t)n) == -1) {
			errno = ENOMEM;
			goto fail;
		}
	}
	close(fd);
	return 0;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* whttp_exact: whether the path of `req` as sent is the route's own:
 * evhttp matches routes on the decoded path, so "/web/dashboard.js%00"
 * would be taken for "/web/dashboard.js". */
static bool
whttp_exact(struct evhttp_request *req, const struct web_route *r)
{
	const char *uri = evhttp_request_get_uri(req);
	size_t n = strlen(r->f->route);

	return strncmp(uri, r->f->route, n) == 0 &&
	    (uri[n] == '\0' || uri[n] == '?');
}

/* whttp_headers: the headers of a served file of `len` bytes (given
 * also to HEAD, which evhttp answers without a length). */
static void
whttp_headers(struct evhttp_request *req, const struct web_route *r, size_t len)
{
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	char size[32];

	snprintf(size, sizeof(size), "%zu", len);
	evhttp_add_header(out, "Content-Length", size);
	evhttp_add_header(out, "Content-Type", r->type);
	evhttp_add_header(out, "Cache-Control", r->f->cache);
	evhttp_add_header(out, "X-Content-Type-Options", "nosniff");
	evhttp_add_header(out, "Referrer-Policy", "no-referrer");
	if (strcmp(r->type, "text/html; charset=utf-8") == 0) {
		evhttp_add_header(out, "Content-Security-Policy", WEB_HTTP_CSP);
		evhttp_add_header(out, "X-Frame-Options", "DENY");
	}
}

/* whttp_serve: GET or HEAD of one name (`arg` its route). */
static void
whttp_serve(struct evhttp_request *req, void *arg)
{
	const struct web_route *r = arg;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evbuffer *buf;

	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		    "Allow", "GET, HEAD");
		collector_http_error(req, 405, "use GET or HEAD");
		return;
	}
	if (!whttp_exact(req, r)) {
		collector_http_error(req, 404, "no such endpoint");
		return;
	}
	if ((buf = evbuffer_new()) == NULL) {
		collector_http_error(req, 503, "out of memory");
		return;
	}
	if (whttp_read(r->path, buf) == -1) {
		if (errno == ENOMEM)
			collector_http_error(req, 503, "out of memory");
		else {
			log_warn("collector: web: %s", r->path);
			collector_http_error(req, 404,
			    "%s is not installed on this collector",
			    r->f->route);
		}
		evbuffer_free(buf);
		return;
	}
	whttp_headers(req, r, evbuffer_get_length(buf));
	/* evhttp writes whatever body it is given, even to a HEAD. */
	evhttp_send_reply(req, 200, NULL, cmd == EVHTTP_REQ_HEAD ? NULL : buf);
	evbuffer_free(buf);
}

/* whttp_route_init: the file of route `r` of `f`; -1 when too long. */
static int
whttp_route_init(struct web_route *r, const struct web_file *f,
    const char *web_dir, const char *chartjs)
{
	int n;

	r->f = f;
	r->type = web_http_content_type(f->route);
	if (f->name == NULL)
		n = snprintf(r->path, sizeof(r->path), "%s", chartjs);
	else {
		r->type = web_http_content_type(f->name);
		n = snprintf(r->path, sizeof(r->path), "%s/%s", web_dir,
		    f->name);
	}
	if (n < 0 || (size_t)n >= sizeof(r->path)) {
		log_warnx("collector: web: the path of %s is over %d bytes",
		    f->route, WEB_HTTP_PATH_MAX);
		return -1;
	}
	if (access(r->path, R_OK) == -1)
		log_warn("collector: web: %s (for %s)", r->path, f->route);
	return 0;
}

struct web_http *
web_http_new(struct collector_http *h, const char *web_dir, const char *chartjs)
{
	struct web_http *w;
	size_t i;

	if ((w = calloc(1, sizeof(*w))) == NULL) {
		log_warnx("%s: out of memory", __func__);
		return NULL;
	}
	w->h = h;
	for (i = 0; i < WEB_FILES; i++) {
		if (whttp_route_init(&w->routes[i], &web_files[i], web_dir,
		        chartjs) == -1 ||
		    collector_http_route(h, web_files[i].route, false,
		        whttp_serve, &w->routes[i]) == -1) {
			free(w);
			return NULL;
		}
	}
	return w;
}

void
web_http_free(struct web_http *w)
{
	free(w);
}
