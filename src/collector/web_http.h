/*
 * web_http.h -- the dashboard's static files on the collector's HTTP
 * service (collector_http.h; doc/dashboard.md):
 *
 *   GET /                    web_dir/index.html
 *   GET /web/index.html      web_dir/index.html
 *   GET /web/dashboard.js    web_dir/dashboard.js
 *   GET /web/dashboard.css   web_dir/dashboard.css
 *   GET /web/chart.js        the Chart.js file (Debian's libjs-chart.js)
 *
 * Only these names are served: each is a route of its own, so that any
 * other path (an unknown name, "..", a directory) is the service's 404
 * and no directory is ever listed.  GET and HEAD only (405 otherwise).
 * The files hold no data, so they need no token: the page reads the
 * API with the read token its user types in.  A file is read when it
 * is asked for (an edited page shows at once); one that is missing,
 * not a regular file or over WEB_HTTP_FILE_MAX is a 404 (logged).
 * Requests go through the service like every other (its limits on
 * heads, connections and bodies apply before anything here runs).
 */
#ifndef CW_WEB_HTTP_H
#define CW_WEB_HTTP_H

#include <stddef.h>

struct collector_http;
struct web_http;

/* The largest file served, in bytes (Chart.js's minified file is about
 * 200 KB, the unminified one 550 KB). */
#define WEB_HTTP_FILE_MAX (4 * 1024 * 1024)

/* A path longer than this (web_dir and a name, or chartjs) is refused
 * by web_http_new(). */
#define WEB_HTTP_PATH_MAX 1024

/*
 * web_http_new: serve the dashboard on `h` (borrowed: it must outlive
 * the result) from the directory `web_dir` and the Chart.js file
 * `chartjs` (both copied).  A file missing now is only logged (it may
 * be installed later).  NULL when out of memory, a path is too long or
 * a route cannot be added (logged).
 */
struct web_http *web_http_new(struct collector_http *h, const char *web_dir,
    const char *chartjs);

/* web_http_free: free what web_http_new() made.  NULL is fine. */
void web_http_free(struct web_http *w);

/*
 * web_http_content_type: the Content-Type of a served name by its
 * extension ("x.html", "x.js", "x.css"); NULL for any other, which is
 * never served.
 */
const char *web_http_content_type(const char *name);

#endif /* CW_WEB_HTTP_H */
