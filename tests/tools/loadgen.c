/*
 * loadgen.c -- the collector benchmark's load: many probes, each on its
 * own connection, posting signed batches of realistic DNS records one
 * after the other, as fast as the collector acknowledges them.
 *
 *   loadgen --url http://127.0.0.1:PORT --db URL [--probes 50]
 *           [--batches 20] [--size 1000] [--gzip]
 *           [--bombs N [--bomb BYTES]]
 *
 * The probes' keys are made here and enrolled straight into the database
 * (--db) before the clock starts; every batch is built, signed (and
 * gzipped) beforehand too, so that what is timed is the collector's work:
 * HTTP, inflating, the signature check, parsing, and the durable commit.
 * Prints one line: records/s, batches/s and batch latencies.  Exit 1 when
 * any batch was not acknowledged in full.
 *
 * --bombs N adds a flood meanwhile: N more connections that post gzip
 * bombs (bodies that inflate to BYTES, default 16 MiB) in the first
 * probe's name with a made-up signature, one after the other, until the
 * probes are done, as anyone who knows a probe id can; the probes start
 * a second after the flood, once it is under way.  A second line counts
 * the bombs' answers by status; the latencies stay the probes' own.
 */
#include "config.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sodium.h>

#include "cwtime.h"
#include "gzip.h"
#include "record.h"
#include "store.h"

struct body {
	unsigned char *data;
	size_t len;
	char auth[160];
};

struct lg_probe {
	struct loadgen *lg;
	char id[33];
	struct evhttp_connection *conn;
	struct body *bodies;
	int next;
	cw_usec_t sent_at;
};

struct loadgen {
	struct event_base *base;
	const char *host;
	int port;
	int nprobes, nbatches, size;
	bool gzip;
	struct lg_probe *probes;
	int nbombs;
	size_t bomb_size;
	struct body bomb;
	struct lg_probe *bombers;
	long long bombed, bomb_401, bomb_other;
	int running;
	long long acked, failed;
	double *lat; /* ms per batch */
	size_t nlat;
};

/* One realistic result line, as the probe writes it (about 900 bytes). */
static char *
lg_line(const char *probe, const char *chain, uint64_t seq, const char *prev,
    int i)
{
	char *line;

	if (asprintf(&line,
	        "{\"probe\":\"%s\",\"chain\":\"%s\",\"seq\":%" PRIu64
	        ",\"prev\":\"%s\",\"type\":\"dns\",\"time\":"
	        "\"2026-11-26T10:%02d:%02d.%06dZ\",\"name\":\"root-soa\","
	        "\"server\":\"%c.root-servers.net\",\"addr\":\"192.0.2.%d\","
	        "\"port\":53,\"af\":4,\"proto\":\"udp\",\"query\":{\"qname\":\".\","
	        "\"qtype\":\"SOA\",\"qclass\":\"IN\",\"id\":%d,\"rd\":false,"
	        "\"do\":false,\"nsid\":true,\"edns_size\":1232},\"ok\":true,"
	        "\"failure\":null,\"rtt_ms\":%d.%03d,\"attempts\":1,\"ip_ttl\":57,"
	        "\"truncated\":false,\"late_replies\":{\"count\":0,\"differ\":"
	        "false},\"rcode\":\"NOERROR\",\"flags\":{\"qr\":true,\"aa\":true,"
	        "\"tc\":false,\"rd\":false,\"ra\":false,\"ad\":false,\"cd\":false},"
	        "\"counts\":{\"qd\":1,\"an\":1,\"ns\":0,\"ar\":1},\"size\":105,"
	        "\"soa_serial\":2026112600,\"nsid\":\"%c1.ams\",\"abuf\":\"EJKEAAA"
	        "BAAEAAAABAAAGAAHADAAGAAEAAVGAAEABYQxyb290LXNlcnZlcnMDbmV0AAVuc3Rs"
	        "ZAx2ZXJpc2lnbi1ncnMDY29tAHiWZ/AAAAcIAAADhAAJOoAAAVGAAAApBNAAAAAAA"
	        "AoAAwAGazEuYW1z\"}\n",
	        probe, chain, seq, prev, (i / 60) % 60, i % 60, i % 1000000,
	        'a' + i % 13, 1 + i % 13, i % 65536, 5 + i % 80, i % 1000,
	        'a' + i % 13) == -1)
		return NULL;
	return line;
}

/* Make the probe's key, enroll it, and build all its batches. */
static int
lg_probe_prepare(struct loadgen *lg, struct store *st, int n,
    struct lg_probe *p)
{
	unsigned char pk[32], sk[64], h[32], chainbin[16];
	char id[33], chain[33], prev[65], name[32], err[256];
	uint64_t seq = 0;

	crypto_sign_keypair(pk, sk);
	record_probe_id(pk, id);
	memcpy(p->id, id, sizeof(p->id));
	snprintf(name, sizeof(name), "load-%d", n);
	if (store_probe_add(st, name, pk, NULL, err, sizeof(err)) != STORE_OK) {
		fprintf(stderr, "loadgen: enroll %s: %s\n", name, err);
		return -1;
	}
	randombytes_buf(chainbin, sizeof(chainbin));
	record_hex(chainbin, sizeof(chainbin), chain);
	memset(prev, '0', 64);
	prev[64] = '\0';
	p->lg = lg;
	if ((p->bodies = calloc((size_t)lg->nbatches, sizeof(*p->bodies))) ==
	    NULL)
		return -1;
	for (int b = 0; b < lg->nbatches; b++) {
		struct evbuffer *buf = evbuffer_new();
		char sig[RECORD_SIG_B64 + 1];
		unsigned char *flat;
		size_t len;

		for (int i = 0; i < lg->size; i++) {
			char *line = lg_line(id, chain, ++seq, prev,
			    b * lg->size + i);
			if (line == NULL)
				return -1;
			/* The hash covers the line without its newline. */
			record_hash(line, strlen(line) - 1, h);
			record_hex(h, sizeof(h), prev);
			evbuffer_add(buf, line, strlen(line));
			free(line);
		}
		len = evbuffer_get_length(buf);
		flat = malloc(len);
		evbuffer_remove(buf, flat, len);
		evbuffer_free(buf);
		batch_sign(sk, id, flat, len, sig);
		snprintf(p->bodies[b].auth, sizeof(p->bodies[b].auth),
		    BATCH_AUTH_SCHEME " probe=%s,sig=%s", id, sig);
		if (lg->gzip) {
			int gz = gzip_deflate(flat, len, -1, &p->bodies[b].data,
			    &p->bodies[b].len);
			free(flat);
			if (gz != GZIP_OK)
				return -1;
		} else {
			p->bodies[b].data = flat;
			p->bodies[b].len = len;
		}
	}
	sodium_memzero(sk, sizeof(sk));
	return 0;
}

static void lg_send(struct lg_probe *p);

static void
lg_done(struct evhttp_request *req, void *arg)
{
	struct lg_probe *p = arg;
	struct loadgen *lg = p->lg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	lg->lat[lg->nlat++] = (double)(cw_mono_usec() - p->sent_at) / 1000.0;
	if (code == 200)
		lg->acked += lg->size;
	else {
		lg->failed++;
		if (lg->failed <= 3) {
			char msg[256] = "";
			if (req != NULL) {
				struct evbuffer *in =
				    evhttp_request_get_input_buffer(req);
				ev_ssize_t n = evbuffer_copyout(in, msg,
				    sizeof(msg) - 1);
				msg[n > 0 ? n : 0] = '\0';
			}
			fprintf(stderr, "loadgen: batch answered %d %s\n", code,
			    msg);
		}
	}
	if (++p->next < lg->nbatches)
		lg_send(p);
	else if (--lg->running == 0)
		event_base_loopexit(lg->base, NULL);
}

/* lg_post: POST the batch `b` on p's connection, answered to `cb`.
 * Returns 0 or -1. */
static int
lg_post(struct lg_probe *p, const struct body *b, bool gzip,
    void (*cb)(struct evhttp_request *, void *))
{
	struct evhttp_request *req = evhttp_request_new(cb, p);
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);

	evhttp_add_header(h, "Host", p->lg->host);
	evhttp_add_header(h, "Content-Type", "application/x-ndjson");
	if (gzip)
		evhttp_add_header(h, "Content-Encoding", "gzip");
	evhttp_add_header(h, "Authorization", b->auth);
	evbuffer_add_reference(evhttp_request_get_output_buffer(req), b->data,
	    b->len, NULL, NULL);
	return evhttp_make_request(p->conn, req, EVHTTP_REQ_POST,
	    "/api/v1/batches");
}

static void
lg_send(struct lg_probe *p)
{
	struct loadgen *lg = p->lg;

	p->sent_at = cw_mono_usec();
	if (lg_post(p, &p->bodies[p->next], lg->gzip, lg_done) == -1) {
		fprintf(stderr, "loadgen: cannot send\n");
		lg->failed++;
		if (--lg->running == 0)
			event_base_loopexit(lg->base, NULL);
	}
}

static void lg_bomb_send(struct lg_probe *p);

static void
lg_bomb_done(struct evhttp_request *req, void *arg)
{
	struct lg_probe *p = arg;
	struct loadgen *lg = p->lg;
	int code = req != NULL ? evhttp_request_get_response_code(req) : 0;

	lg->bombed++;
	if (code == 401)
		lg->bomb_401++;
	else
		lg->bomb_other++;
	if (lg->running > 0)
		lg_bomb_send(p);
}

static void
lg_bomb_send(struct lg_probe *p)
{
	if (lg_post(p, &p->lg->bomb, true, lg_bomb_done) == -1)
		fprintf(stderr, "loadgen: cannot send a bomb\n");
}

/* The bomb: one realistic line again and again to bomb_size bytes,
 * gzipped, in the first probe's name with a signature of random
 * bytes. */
static int
lg_bomb_prepare(struct loadgen *lg)
{
	unsigned char sig[64];
	char b64[RECORD_SIG_B64 + 1], *line, *flat;
	size_t n;
	int gz;

	if ((line = lg_line(lg->probes[0].id, lg->probes[0].id, 1, "0", 0)) ==
	        NULL ||
	    (flat = malloc(lg->bomb_size)) == NULL)
		return -1;
	n = strlen(line);
	for (size_t off = 0; off < lg->bomb_size; off += n)
		memcpy(flat + off, line,
		    lg->bomb_size - off < n ? lg->bomb_size - off : n);
	free(line);
	gz = gzip_deflate(flat, lg->bomb_size, 9, &lg->bomb.data,
	    &lg->bomb.len);
	free(flat);
	if (gz != GZIP_OK)
		return -1;
	randombytes_buf(sig, sizeof(sig));
	sodium_bin2base64(b64, sizeof(b64), sig, sizeof(sig),
	    sodium_base64_VARIANT_ORIGINAL);
	snprintf(lg->bomb.auth, sizeof(lg->bomb.auth),
	    BATCH_AUTH_SCHEME " probe=%s,sig=%s", lg->probes[0].id, b64);
	return 0;
}

static int
lg_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int
lg_url(struct loadgen *lg, const char *url)
{
	static char host[256];
	const char *p;
	char *colon;

	if (strncmp(url, "http://", 7) != 0)
		return -1;
	snprintf(host, sizeof(host), "%s", url + 7);
	if ((p = strchr(host, '/')) != NULL)
		host[p - host] = '\0';
	if ((colon = strrchr(host, ':')) == NULL)
		return -1;
	*colon = '\0';
	lg->port = atoi(colon + 1);
	lg->host = host;
	return lg->port > 0 && lg->port < 65536 ? 0 : -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "url", required_argument, NULL, 'u' },
		{ "db", required_argument, NULL, 'd' },
		{ "probes", required_argument, NULL, 'p' },
		{ "batches", required_argument, NULL, 'b' },
		{ "size", required_argument, NULL, 's' },
		{ "gzip", no_argument, NULL, 'z' },
		{ "bombs", required_argument, NULL, 'B' },
		{ "bomb", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct loadgen lg = { .nprobes = 50,
		.nbatches = 20,
		.size = 1000,
		.bomb_size = 16 * 1024 * 1024 };
	const char *url = NULL, *db = NULL;
	struct store *st;
	cw_usec_t t0, t;
	char err[512];
	int c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			url = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'p':
			lg.nprobes = atoi(optarg);
			break;
		case 'b':
			lg.nbatches = atoi(optarg);
			break;
		case 's':
			lg.size = atoi(optarg);
			break;
		case 'z':
			lg.gzip = true;
			break;
		case 'B':
			lg.nbombs = atoi(optarg);
			break;
		case 'S':
			lg.bomb_size = strtoul(optarg, NULL, 10);
			break;
		default:
			return 2;
		}
	}
	if (url == NULL || db == NULL || lg_url(&lg, url) == -1 ||
	    lg.nprobes < 1 || lg.nprobes > 10000 || lg.nbatches < 1 ||
	    lg.size < 1 || lg.size > 100000 || lg.nbombs < 0 ||
	    lg.nbombs > 10000 || lg.bomb_size < 1) {
		fprintf(stderr,
		    "usage: loadgen --url http://HOST:PORT --db URL "
		    "[--probes N] [--batches N] [--size N] [--gzip] "
		    "[--bombs N [--bomb BYTES]]\n");
		return 2;
	}
	if (sodium_init() < 0 ||
	    (st = store_open(db, err, sizeof(err))) == NULL) {
		fprintf(stderr, "loadgen: %s\n", err);
		return 1;
	}
	lg.probes = calloc((size_t)lg.nprobes, sizeof(*lg.probes));
	lg.lat = calloc((size_t)lg.nprobes * (size_t)lg.nbatches,
	    sizeof(*lg.lat));
	for (int i = 0; i < lg.nprobes; i++)
		if (lg_probe_prepare(&lg, st, i, &lg.probes[i]) == -1)
			return 1;
	store_close(st);
	if (lg.nbombs > 0 && lg_bomb_prepare(&lg) == -1)
		return 1;
	lg.base = event_base_new();
	lg.bombers = calloc((size_t)lg.nbombs + 1, sizeof(*lg.bombers));
	for (int i = 0; i < lg.nbombs; i++) {
		lg.bombers[i].lg = &lg;
		lg.bombers[i].conn = evhttp_connection_base_new(lg.base, NULL,
		    lg.host, (unsigned short)lg.port);
		evhttp_connection_set_timeout(lg.bombers[i].conn, 120);
	}
	for (int i = 0; i < lg.nprobes; i++) {
		lg.probes[i].conn = evhttp_connection_base_new(lg.base, NULL,
		    lg.host, (unsigned short)lg.port);
		evhttp_connection_set_timeout(lg.probes[i].conn, 120);
	}
	lg.running = lg.nprobes;
	if (lg.nbombs > 0) {
		struct timeval lead = { 1, 0 };
		for (int i = 0; i < lg.nbombs; i++)
			lg_bomb_send(&lg.bombers[i]);
		event_base_loopexit(lg.base, &lead);
		event_base_dispatch(lg.base);
	}
	t0 = cw_mono_usec();
	for (int i = 0; i < lg.nprobes; i++)
		lg_send(&lg.probes[i]);
	event_base_dispatch(lg.base);
	t = cw_mono_usec() - t0;
	qsort(lg.lat, lg.nlat, sizeof(*lg.lat), lg_cmp);
	printf("%d probes x %d batches x %d records%s: %lld records in %.2f s:"
	       " %.0f records/s, %.0f batches/s; batch latency median %.1f ms, "
	       "p99 %.1f ms; %lld batches failed\n",
	    lg.nprobes, lg.nbatches, lg.size, lg.gzip ? " (gzip)" : "",
	    lg.acked, (double)t / 1e6, (double)lg.acked / ((double)t / 1e6),
	    (double)lg.nlat / ((double)t / 1e6),
	    lg.nlat ? lg.lat[lg.nlat / 2] : 0.0,
	    lg.nlat ? lg.lat[lg.nlat * 99 / 100] : 0.0, lg.failed);
	if (lg.nbombs > 0)
		printf("flood: %d connections of gzip bombs (%zu bytes "
		       "inflating to %zu): %lld answered, %lld with 401, %lld "
		       "otherwise\n",
		    lg.nbombs, lg.bomb.len, lg.bomb_size, lg.bombed,
		    lg.bomb_401, lg.bomb_other);
	for (int i = 0; i < lg.nbombs; i++)
		evhttp_connection_free(lg.bombers[i].conn);
	free(lg.bombers);
	free(lg.bomb.data);
	for (int i = 0; i < lg.nprobes; i++) {
		evhttp_connection_free(lg.probes[i].conn);
		for (int b = 0; b < lg.nbatches; b++)
			free(lg.probes[i].bodies[b].data);
		free(lg.probes[i].bodies);
	}
	free(lg.probes);
	free(lg.lat);
	event_base_free(lg.base);
	return lg.failed == 0 ? 0 : 1;
}
