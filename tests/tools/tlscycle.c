/*
 * tlscycle.c -- the HTTPS benchmark's floor: what one core does when
 * every measurement is a cold HTTPS request through OpenSSL with nothing
 * else around it.
 *
 *   tlscycle --port PORT --host NAME --cafile FILE [--count N] [--path P]
 *       ADDR
 *
 * One after the other: a TCP connection to ADDR:PORT, a TLS handshake
 * with SNI NAME, the chain verified against FILE and the name checked
 * (as corewatch does), no session resumption, "GET P" (default
 * /index.html), the answer read to its end, the connection closed.
 * One SSL_CTX made once and shared by every connection: libcurl makes a
 * new one per connection, so this is below what any libcurl client can
 * do.  No libcurl, no event loop, no result, no output.
 * Prints: "N ok, F failed, S s, C CPU-s, R per CPU-second".  Sends only
 * to ADDR (use a loopback address).
 */
#include "config.h"

#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "cwtime.h"

struct tc_args {
	struct sockaddr_in sin;
	const char *host, *cafile, *path;
	long count;
};

static int
tc_parse(int argc, char **argv, struct tc_args *a)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "host", required_argument, NULL, 'H' },
		{ "cafile", required_argument, NULL, 'C' },
		{ "count", required_argument, NULL, 'n' },
		{ "path", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 },
	};
	long port = 0;
	int c;

	memset(a, 0, sizeof(*a));
	a->count = 1000;
	a->path = "/index.html";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = strtol(optarg, NULL, 10);
			break;
		case 'H':
			a->host = optarg;
			break;
		case 'C':
			a->cafile = optarg;
			break;
		case 'n':
			a->count = strtol(optarg, NULL, 10);
			break;
		case 'P':
			a->path = optarg;
			break;
		default:
			return -1;
		}
	}
	a->sin.sin_family = AF_INET;
	a->sin.sin_port = htons((unsigned short)port);
	if (optind != argc - 1 || port < 1 || port > 65535 || a->count < 1 ||
	    a->host == NULL || a->cafile == NULL || strlen(a->path) > 1024 ||
	    inet_pton(AF_INET, argv[optind], &a->sin.sin_addr) != 1)
		return -1;
	return 0;
}

static SSL_CTX *
tc_ctx(const char *cafile)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());

	if (ctx == NULL)
		return NULL;
	SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
	SSL_CTX_set_options(ctx,
	    SSL_OP_NO_TICKET | SSL_OP_IGNORE_UNEXPECTED_EOF);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	if (SSL_CTX_load_verify_locations(ctx, cafile, NULL) != 1) {
		SSL_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/* One cold request; 0 when the answer was read to its end. */
static int
tc_once(SSL_CTX *ctx, const struct tc_args *a)
{
	char req[1200], buf[16384];
	SSL *ssl = NULL;
	int fd, n, len, got = 0, rc = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	if (connect(fd, (const struct sockaddr *)&a->sin, sizeof(a->sin)) == -1)
		goto out;
	if ((ssl = SSL_new(ctx)) == NULL || SSL_set_fd(ssl, fd) != 1 ||
	    SSL_set_tlsext_host_name(ssl, a->host) != 1 ||
	    SSL_set1_host(ssl, a->host) != 1 || SSL_connect(ssl) != 1)
		goto out;
	len = snprintf(req, sizeof(req),
	    "GET %s HTTP/1.1\r\nHost: %s\r\n"
	    "Connection: close\r\n\r\n",
	    a->path, a->host);
	/* A host too long for req: snprintf counts what it could not write. */
	if (len < 0 || (size_t)len >= sizeof(req) ||
	    SSL_write(ssl, req, len) != len)
		goto out;
	/* The status line must say 200; the rest is read and dropped. */
	while ((n = SSL_read(ssl, buf + got, sizeof(buf) - 1 - got)) > 0)
		if (got < 12)
			got += n;
		else
			got = 12;
	buf[got] = '\0';
	if (SSL_get_error(ssl, n) == SSL_ERROR_ZERO_RETURN &&
	    strncmp(buf, "HTTP/1.1 200", 12) == 0)
		rc = 0;
out:
	SSL_free(ssl);
	close(fd);
	ERR_clear_error();
	return rc;
}

int
main(int argc, char **argv)
{
	struct tc_args a;
	SSL_CTX *ctx;
	cw_usec_t t0, c0;
	double t, c;
	long ok = 0, failed = 0;

	if (tc_parse(argc, argv, &a) == -1) {
		fprintf(stderr,
		    "usage: tlscycle --port PORT --host NAME "
		    "--cafile FILE [--count N] [--path P] IPV4-ADDR\n");
		return 2;
	}
	if ((ctx = tc_ctx(a.cafile)) == NULL) {
		fprintf(stderr, "tlscycle: cannot make a TLS context with %s\n",
		    a.cafile);
		return 1;
	}
	t0 = cw_mono_usec();
	c0 = cw_cpu_usec();
	for (long i = 0; i < a.count; i++) {
		if (tc_once(ctx, &a) == 0)
			ok++;
		else
			failed++;
	}
	t = (double)(cw_mono_usec() - t0) / 1e6;
	c = (double)(cw_cpu_usec() - c0) / 1e6;
	SSL_CTX_free(ctx);
	printf("%ld ok, %ld failed, %.2f s, %.2f CPU-s, %.0f per CPU-second\n",
	    ok, failed, t, c, c > 0 ? (double)ok / c : 0.0);
	return failed > 0 ? 1 : 0;
}
