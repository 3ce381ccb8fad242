/*
 * cmd_enroll.c -- `corewatch enroll URL TOKEN`: redeem a one-time token
 * at the collector with the probe's public key (doc/protocol.md,
 * Enrollment).  A one-shot command: libcurl's easy interface.
 */
#include "config.h"

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>
#include <sodium.h>

#include "cmd.h"
#include "cliutil.h"
#include "conf.h"
#include "key.h"
#include "log.h"
#include "result.h"

#define ENROLL_PATH       "/api/v1/enroll"
#define ENROLL_ANSWER_MAX (64 * 1024)
#define ENROLL_TIMEOUT_MS 60000L
#define ENROLL_TOKEN_MAX  256

/* What the collector answered. */
struct enroll_answer {
	char buf[ENROLL_ANSWER_MAX + 1];
	size_t len;
};

static void
enroll_usage(FILE *fp)
{
	fprintf(fp,
	    "usage: corewatch enroll [-c FILE] [--key FILE] [--proxy URL] URL TOKEN\n"
	    "\n"
	    "Enroll the probe's key at the collector at URL with the one-time TOKEN\n"
	    "its operator made (corewatch-collector token create); TOKEN \"-\" reads\n"
	    "it from standard input.  Prints the probe id and its number.  Options\n"
	    "come before URL.\n"
	    "\n"
	    "  -k, --key FILE      the key (default: the configuration's key, or\n"
	    "                      %s/key)\n"
	    "  -x, --proxy URL     through a proxy: socks5h://127.0.0.1:9050 (Tor),\n"
	    "                      http://HOST:PORT\n"
	    "  -c, --config FILE   configuration (default %s)\n"
	    "  -h, --help          this text\n",
	    CW_STATE_DIR, CW_DEFAULT_CONFIG);
}

/* enroll_token_read: the token from standard input (one line). */
static int
enroll_token_read(char *buf, size_t len)
{
	size_t n;

	if (fgets(buf, (int)len, stdin) == NULL)
		return -1;
	n = strcspn(buf, "\r\n");
	buf[n] = '\0';
	return n > 0 ? 0 : -1;
}

static size_t
enroll_write_cb(char *data, size_t size, size_t nmemb, void *arg)
{
	struct enroll_answer *a = arg;
	size_t len = size * nmemb, room = ENROLL_ANSWER_MAX - a->len;

	memcpy(a->buf + a->len, data, len < room ? len : room);
	a->len += len < room ? len : room;
	a->buf[a->len] = '\0';
	return len;
}

/* enroll_post: POST `body` to `url`; the status into *code (0: no
 * answer, the reason in `err`).  Returns 0 or -1. */
static int
enroll_post(const char *url, const char *proxy, const char *body,
    struct enroll_answer *a, long *code, char err[CURL_ERROR_SIZE])
{
	struct curl_slist *h = NULL;
	CURL *e;
	CURLcode rc = CURLE_OUT_OF_MEMORY;

	*code = 0;
	err[0] = '\0';
	if ((e = curl_easy_init()) == NULL ||
	    (h = curl_slist_append(NULL, "Content-Type: application/json")) ==
	        NULL)
		goto done;
	if ((rc = curl_easy_setopt(e, CURLOPT_URL, url)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https")) !=
	        CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_PROXY,
	         proxy != NULL ? proxy : "")) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_HTTPHEADER, h)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, body)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_USERAGENT,
	         PACKAGE_NAME "/" PACKAGE_VERSION)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, ENROLL_TIMEOUT_MS)) !=
	        CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_WRITEFUNCTION,
	         enroll_write_cb)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_WRITEDATA, a)) != CURLE_OK ||
	    (rc = curl_easy_setopt(e, CURLOPT_ERRORBUFFER, err)) != CURLE_OK)
		goto done;
	if ((rc = curl_easy_perform(e)) == CURLE_OK)
		curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, code);
done:
	if (rc != CURLE_OK && err[0] == '\0')
		snprintf(err, CURL_ERROR_SIZE, "%s", curl_easy_strerror(rc));
	curl_slist_free_all(h);
	curl_easy_cleanup(e);
	return rc == CURLE_OK ? 0 : -1;
}

/* enroll_result: what the answer means; prints it.  Returns the exit
 * status. */
static int
enroll_result(const struct key *k, long code, const struct enroll_answer *a)
{
	json_t *j = json_loadb(a->buf, a->len, 0, NULL);
	const char *probe = json_string_value(json_object_get(j, "probe"));
	const char *detail = json_string_value(json_object_get(j, "detail"));
	json_t *num = json_object_get(j, "num");
	int rc = CW_EXIT_FAILURES;

	if (code == 200 && probe != NULL && json_is_integer(num)) {
		if (strcmp(probe, k->id) != 0)
			fprintf(stderr,
			    "corewatch enroll: the collector "
			    "enrolled probe %s, not this key's %s\n",
			    probe, k->id);
		else {
			printf("probe %s\nnum %" JSON_INTEGER_FORMAT "\n",
			    probe, json_integer_value(num));
			rc = CW_EXIT_OK;
		}
	} else if (code == 401)
		fprintf(stderr,
		    "corewatch enroll: the collector does not "
		    "know the token, or it was used or has expired (401)\n");
	else if (code == 409)
		fprintf(stderr,
		    "corewatch enroll: this key (probe %s) is "
		    "enrolled already (409)\n",
		    k->id);
	else
		fprintf(stderr,
		    "corewatch enroll: the collector answered "
		    "%ld%s%s\n",
		    code, detail != NULL ? ": " : "",
		    detail != NULL ? detail : "");
	json_decref(j);
	return rc;
}

/* enroll_url: URL without final slashes, with the API path. */
static char *
enroll_url(const char *url)
{
	size_t n = strlen(url);
	char *out;

	if (strncasecmp(url, "http://", 7) != 0 &&
	    strncasecmp(url, "https://", 8) != 0)
		return NULL;
	while (n > 8 && url[n - 1] == '/')
		n--;
	if (asprintf(&out, "%.*s%s", (int)n, url, ENROLL_PATH) == -1)
		return NULL;
	return out;
}

/* enroll_run: enroll key `k` with `token` at `url`. */
static int
enroll_run(const struct key *k, const char *url, const char *token,
    const char *proxy)
{
	struct enroll_answer *a;
	char err[CURL_ERROR_SIZE], *body;
	json_t *req;
	long code;
	int rc = CW_EXIT_FAILURES;

	req = json_pack("{s:s, s:s}", "token", token, "pubkey", k->pk_hex);
	body = req != NULL ? result_dump(req) : NULL;
	json_decref(req);
	if (body == NULL || (a = calloc(1, sizeof(*a))) == NULL) {
		free(body);
		fprintf(stderr, "corewatch enroll: out of memory\n");
		return CW_EXIT_FAILURES;
	}
	if (enroll_post(url, proxy, body, a, &code, err) == -1)
		fprintf(stderr, "corewatch enroll: %s: %s\n", url, err);
	else
		rc = enroll_result(k, code, a);
	sodium_memzero(body, strlen(body));
	free(body);
	free(a);
	return rc;
}

static const struct option enroll_options[] = {
	{ "key", required_argument, NULL, 'k' },
	{ "proxy", required_argument, NULL, 'x' },
	{ "config", required_argument, NULL, 'c' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

int
cmd_enroll(int argc, char **argv)
{
	const char *key = NULL, *proxy = NULL, *conf_path = CW_DEFAULT_CONFIG;
	char token[ENROLL_TOKEN_MAX + 2], *path, *url;
	bool conf_given = false;
	struct key k;
	int ch, rc;

	/* "+": options end at URL, so a token that begins with '-' (its
	 * base64url alphabet has it) is not taken for one. */
	while ((ch = getopt_long(argc, argv, "+k:x:c:h", enroll_options,
	            NULL)) != -1) {
		switch (ch) {
		case 'k':
			key = optarg;
			break;
		case 'x':
			proxy = optarg;
			break;
		case 'c':
			conf_path = optarg;
			conf_given = true;
			break;
		case 'h':
			enroll_usage(stdout);
			return CW_EXIT_OK;
		default:
			enroll_usage(stderr);
			return CW_EXIT_USAGE;
		}
	}
	if (optind == argc)
		return cli_error("enroll",
		    "no URL and TOKEN given (try "
		    "--help)");
	if (optind + 1 == argc)
		return cli_error("enroll",
		    "no TOKEN given after the URL (the "
		    "one-time token the collector's operator made; \"-\" "
		    "reads it from standard input)");
	if (optind + 2 != argc)
		return cli_unexpected("enroll", argv[optind + 2]);
	if ((url = enroll_url(argv[optind])) == NULL)
		return cli_error("enroll",
		    "\"%s\" is not an http:// or "
		    "https:// URL",
		    argv[optind]);
	if (strcmp(argv[optind + 1], "-") == 0) {
		if (enroll_token_read(token, sizeof(token)) == -1) {
			free(url);
			return cli_error("enroll",
			    "no token on standard input");
		}
	} else
		snprintf(token, sizeof(token), "%s", argv[optind + 1]);
	if (strlen(token) > ENROLL_TOKEN_MAX) {
		free(url);
		return cli_error("enroll", "the token is too long");
	}
	if ((path = key_cmd_path(key, conf_path, conf_given)) == NULL) {
		free(url);
		return CW_EXIT_USAGE;
	}
	rc = CW_EXIT_FAILURES;
	if (key_load(path, &key_probe, &k) == 0) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
			fprintf(stderr,
			    "corewatch enroll: libcurl cannot be "
			    "initialised\n");
		else {
			rc = enroll_run(&k, url, token, proxy);
			curl_global_cleanup();
		}
		key_clear(&k);
	}
	sodium_memzero(token, sizeof(token));
	free(path);
	free(url);
	return rc;
}
