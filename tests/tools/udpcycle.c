/*
 * udpcycle.c -- the DNS benchmark's ceiling: what the kernel alone
 * allows per second when every query gets its own socket, as corewatch
 * does for evidence (a fresh source port per query, ICMP errors tied to
 * one query, no stale reply mixed into the next result).
 *
 *   udpcycle --port PORT [--count N] [--in-flight M] [--reuse] ADDR
 *
 * M queries are kept in flight on an epoll set; each is a non-blocking
 * UDP socket: socket, connect, epoll add, send, (reply) recv, epoll del,
 * close; the query is a fixed ". SOA" message with a new ID, and the
 * reply is only checked for that ID.  No parsing, no result, no output:
 * only the system calls corewatch cannot avoid.  With --reuse the M
 * sockets are kept and reused (dnsperf's way), for comparison.
 * Prints the queries answered per second.  Sends only to ADDR (use a
 * loopback address).
 */
#include "config.h"

#include <sys/epoll.h>
#include <sys/socket.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <errno.h>
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define UC_MAX_FLIGHT 4096

struct uc_slot {
	int fd;
	unsigned short id;
};

static double
uc_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ". SOA IN" with EDNS (1232, NSID), as corewatch's default query. */
static size_t
uc_query(unsigned char *q, unsigned short id)
{
	static const unsigned char tmpl[] = {
		0,
		0,
		0x00,
		0x00,
		0,
		1,
		0,
		0,
		0,
		0,
		0,
		1,
		0x00,
		0x00,
		0x06,
		0x00,
		0x01,
		0x00,
		0x00,
		0x29,
		0x04,
		0xd0,
		0,
		0,
		0,
		0,
		0x00,
		0x04,
		0x00,
		0x03,
		0x00,
		0x00,
	};

	memcpy(q, tmpl, sizeof(tmpl));
	q[0] = (unsigned char)(id >> 8);
	q[1] = (unsigned char)id;
	return sizeof(tmpl);
}

/* Open (unless reused), send a query.  Returns 0 or -1. */
static int
uc_start(int ep, const struct sockaddr_in *sa, struct uc_slot *s, int slot,
    bool reuse, unsigned short id)
{
	unsigned char q[64];
	struct epoll_event ev;
	size_t len;

	if (!reuse || s->fd == -1) {
		if ((s->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0)) ==
		        -1 ||
		    connect(s->fd, (const struct sockaddr *)sa, sizeof(*sa)) ==
		        -1)
			return -1;
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		ev.data.u32 = (uint32_t)slot;
		if (epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev) == -1)
			return -1;
	}
	s->id = id;
	len = uc_query(q, id);
	return send(s->fd, q, len, 0) == (ssize_t)len ? 0 : -1;
}

static void
uc_finish(int ep, struct uc_slot *s, bool reuse)
{
	if (reuse)
		return;
	epoll_ctl(ep, EPOLL_CTL_DEL, s->fd, NULL);
	close(s->fd);
	s->fd = -1;
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "port", required_argument, NULL, 'p' },
		{ "count", required_argument, NULL, 'n' },
		{ "in-flight", required_argument, NULL, 'f' },
		{ "reuse", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	static struct uc_slot slots[UC_MAX_FLIGHT];
	struct epoll_event evs[256];
	struct sockaddr_in sa;
	long count = 100000, sent = 0, done = 0, timeouts = 0;
	int flight = 500, port = 0, ep, c;
	unsigned short id = 1;
	bool reuse = false;
	double t0, last_progress;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			port = atoi(optarg);
			break;
		case 'n':
			count = atol(optarg);
			break;
		case 'f':
			flight = atoi(optarg);
			break;
		case 'r':
			reuse = true;
			break;
		default:
			return 2;
		}
	}
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)port);
	if (optind != argc - 1 || port < 1 || port > 65535 || count < 1 ||
	    flight < 1 || flight > UC_MAX_FLIGHT ||
	    inet_pton(AF_INET, argv[optind], &sa.sin_addr) != 1) {
		fprintf(stderr,
		    "usage: udpcycle --port PORT [--count N] "
		    "[--in-flight M] [--reuse] IPV4\n");
		return 2;
	}
	if ((ep = epoll_create1(0)) == -1) {
		perror("epoll_create1");
		return 1;
	}
	for (int i = 0; i < flight; i++)
		slots[i].fd = -1;
	t0 = last_progress = uc_now();
	for (int i = 0; i < flight && sent < count; i++, sent++)
		if (uc_start(ep, &sa, &slots[i], i, reuse, id++) == -1) {
			perror("udpcycle: start");
			return 1;
		}
	while (done + timeouts < sent) {
		int n = epoll_wait(ep, evs, 256, 100);
		if (n == 0 && uc_now() - last_progress > 2.0) {
			/* Lost replies: count them and go on. */
			for (int i = 0; i < flight; i++)
				if (slots[i].fd != -1 && !reuse) {
					uc_finish(ep, &slots[i], reuse);
					timeouts++;
				}
			break;
		}
		for (int i = 0; i < n; i++) {
			int slot = (int)evs[i].data.u32;
			struct uc_slot *s = &slots[slot];
			unsigned char buf[4096];
			ssize_t got = recv(s->fd, buf, sizeof(buf), 0);
			if (got < 12 || (buf[0] << 8 | buf[1]) != s->id)
				continue;
			last_progress = uc_now();
			done++;
			uc_finish(ep, s, reuse);
			if (sent < count) {
				if (uc_start(ep, &sa, s, slot, reuse, id++) ==
				    -1) {
					perror("udpcycle: start");
					return 1;
				}
				sent++;
			}
		}
	}
	printf("%.0f\n", (double)done / (uc_now() - t0));
	if (timeouts > 0)
		fprintf(stderr, "udpcycle: %ld queries unanswered\n", timeouts);
	return 0;
}
