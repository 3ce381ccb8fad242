/* test_tld.c -- TLD names, referral parsing, the cache file (including
 * hostile ones), resolv.conf and the discovery's set-up and tear-down. */
#include "config.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <event2/event.h>
#include <sodium.h>

#include "log.h"
#include "tld.h"

/* --- helpers --- */

/* A reply to "qname NS" with `rcode`; records are added with push(). */
static ldns_pkt *
reply_new(const char *qname, ldns_pkt_rcode rcode, bool aa)
{
	ldns_pkt *pkt = NULL;

	assert_int_equal(ldns_pkt_query_new_frm_str(&pkt, qname,
	                     LDNS_RR_TYPE_NS, LDNS_RR_CLASS_IN, 0),
	    LDNS_STATUS_OK);
	ldns_pkt_set_id(pkt, 4242);
	ldns_pkt_set_qr(pkt, true);
	ldns_pkt_set_aa(pkt, aa);
	ldns_pkt_set_rcode(pkt, (uint8_t)rcode);
	return pkt;
}

static void
push(ldns_pkt *pkt, ldns_pkt_section section, const char *text)
{
	ldns_rr *rr = NULL;

	assert_int_equal(ldns_rr_new_frm_str(&rr, text, 0, NULL, NULL),
	    LDNS_STATUS_OK);
	assert_true(ldns_pkt_push_rr(pkt, section, rr));
}

/* Through the wire and back, as the engine would hand it over; frees
 * the packet given. */
static ldns_pkt *
rewire(ldns_pkt *pkt)
{
	uint8_t *wire = NULL;
	ldns_pkt *out = NULL;
	size_t len;

	assert_int_equal(ldns_pkt2wire(&wire, pkt, &len), LDNS_STATUS_OK);
	assert_int_equal(ldns_wire2pkt(&out, wire, len), LDNS_STATUS_OK);
	free(wire);
	ldns_pkt_free(pkt);
	return out;
}

static enum cw_failure
parse(ldns_pkt *pkt, const char *tld, bool allow_local, struct tld_set *set)
{
	char detail[256];
	enum cw_failure f;

	pkt = rewire(pkt);
	f = tld_referral_parse(pkt, tld, 53, allow_local, set, detail,
	    sizeof(detail));
	ldns_pkt_free(pkt);
	return f;
}

static const struct target *
find_server(const struct tld_set *set, const char *addr)
{
	for (size_t i = 0; i < set->n; i++)
		if (strcmp(set->servers[i].addr, addr) == 0)
			return &set->servers[i];
	return NULL;
}

static const struct tld_ns *
find_ns(const struct tld_set *set, const char *name)
{
	for (size_t i = 0; i < set->nns; i++)
		if (strcmp(set->ns[i].name, name) == 0)
			return &set->ns[i];
	return NULL;
}

/* --- names --- */

static void
test_name_valid(void **state)
{
	static const struct {
		const char *in, *out;
	} good[] = {
		{ "ua", "ua" },
		{ "UA", "ua" },
		{ "ua.", "ua" },
		{ "xn--p1ai", "xn--p1ai" },
		{ "XN--P1AI.", "xn--p1ai" },
		{ "com", "com" },
		{ "a1", "a1" },
		{ "co-op", "co-op" },
	};
	char out[TLD_NAME_MAX], err[160], longest[64];

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(tld_name_normalize(good[i].in, out, err,
		                     sizeof(err)),
		    0);
		assert_string_equal(out, good[i].out);
	}
	memset(longest, 'q', 63);
	longest[63] = '\0';
	assert_int_equal(tld_name_normalize(longest, out, err, sizeof(err)), 0);
	assert_string_equal(out, longest);
}

static void
test_name_invalid(void **state)
{
	static const char *bad[] = {
		"",
		".",
		"..",
		"u a",
		"ua.com",
		"-ua",
		"ua-",
		"ab--cd",
		"123",
		"\xc3\xbc",
		"ua\n",
		"u_a",
		"ua..",
		"*",
		"u/a",
		"../x",
	};
	char out[TLD_NAME_MAX], err[160], toolong[80];

	(void)state;
	memset(toolong, 'q', 64);
	toolong[64] = '\0';
	assert_int_equal(tld_name_normalize(toolong, out, err, sizeof(err)),
	    -1);
	memset(toolong, '\x80', 79);
	toolong[79] = '\0';
	assert_int_equal(tld_name_normalize(toolong, out, err, sizeof(err)),
	    -1);
	assert_non_null(strstr(err, "?????"));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(tld_name_normalize(bad[i], out, err,
		                     sizeof(err)),
		    -1);
		assert_true(strlen(err) > 0);
	}
	assert_int_equal(tld_name_normalize(NULL, out, err, sizeof(err)), -1);
}

/* --- referrals --- */

static void
test_referral_glue(void **state)
{
	struct tld_set set;
	ldns_pkt *p = reply_new("ua.", LDNS_RCODE_NOERROR, false);

	(void)state;
	push(p, LDNS_SECTION_AUTHORITY, "ua. 172800 IN NS NS2.ua.");
	push(p, LDNS_SECTION_AUTHORITY, "ua. 172800 IN NS ns1.ua.");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 172800 IN A 192.0.2.1");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 172800 IN AAAA 2001:DB8::1");
	push(p, LDNS_SECTION_ADDITIONAL, "ns2.ua. 172800 IN A 192.0.2.2");
	/* The same address twice, and one shared with ns1: measured once. */
	push(p, LDNS_SECTION_ADDITIONAL, "ns2.ua. 172800 IN A 192.0.2.2");
	push(p, LDNS_SECTION_ADDITIONAL, "ns2.ua. 172800 IN AAAA 2001:db8::1");
	assert_int_equal(parse(p, "ua", false, &set), CW_OK);
	assert_string_equal(set.tld, "ua");
	assert_int_equal(set.nns, 2);
	assert_string_equal(set.ns[0].name, "ns1.ua"); /* sorted */
	assert_string_equal(set.ns[1].name, "ns2.ua"); /* lower case */
	assert_int_equal(set.ns[0].naddr, 2);
	assert_int_equal(set.ns[1].naddr, 2);
	assert_int_equal(set.n, 3);
	assert_int_equal(tld_set_count_glue(&set), 3);
	assert_non_null(find_server(&set, "2001:db8::1"));
	assert_string_equal(find_server(&set, "2001:db8::1")->name, "ns1.ua");
	assert_string_equal(find_server(&set, "192.0.2.2")->name, "ns2.ua");
	assert_int_equal(find_server(&set, "192.0.2.1")->af, 4);
	assert_int_equal(target_port(find_server(&set, "192.0.2.1")), 53);
}

static void
test_referral_missing_glue(void **state)
{
	struct tld_set set;
	json_t *obj;
	ldns_pkt *p = reply_new("sd.", LDNS_RCODE_NOERROR, false);

	(void)state;
	push(p, LDNS_SECTION_AUTHORITY, "sd. 172800 IN NS ns1.nic-sd.xx.");
	push(p, LDNS_SECTION_AUTHORITY, "sd. 172800 IN NS ns2.nic-sd.xx.");
	assert_int_equal(parse(p, "sd", false, &set), CW_OK);
	assert_int_equal(set.nns, 2);
	assert_int_equal(set.n, 0);
	assert_int_equal(set.ns[0].naddr, 0);
	assert_int_equal(set.ns[1].naddr, 0);
	/* The fallback adds addresses of a listed name only. */
	assert_int_equal(tld_set_add_server(&set, "ns1.nic-sd.xx", "192.0.2.7",
	                     53, false),
	    1);
	assert_int_equal(tld_set_add_server(&set, "other.xx", "192.0.2.8", 53,
	                     false),
	    -1);
	assert_int_equal(tld_set_add_server(&set, "ns2.nic-sd.xx", "bogus", 53,
	                     false),
	    -1);
	assert_int_equal(tld_set_count_glue(&set), 0);
	obj = json_object();
	tld_set_to_json(&set, obj);
	assert_int_equal(json_array_size(json_object_get(obj, "ns")), 2);
	assert_int_equal(json_array_size(json_object_get(obj, "servers")), 1);
	assert_string_equal(json_string_value(json_array_get(
	                        json_object_get(obj, "unresolved"), 0)),
	    "ns2.nic-sd.xx");
	json_decref(obj);
}

static void
test_referral_other_owner(void **state)
{
	struct tld_set set;
	ldns_pkt *p = reply_new("ua.", LDNS_RCODE_NOERROR, false);

	(void)state;
	push(p, LDNS_SECTION_AUTHORITY, "ua. 172800 IN NS ns1.ua.");
	push(p, LDNS_SECTION_AUTHORITY, "com. 172800 IN NS evil.example.");
	push(p, LDNS_SECTION_AUTHORITY, "x.ua. 172800 IN NS evil2.example.");
	push(p, LDNS_SECTION_AUTHORITY,
	    "ua. 172800 IN DS 1 8 2 "
	    "49fd46e6c4b45c55d4ac49fd46e6c4b45c55d4ac49fd46e6c4b45c55d4ac4a4b");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 172800 IN A 192.0.2.1");
	push(p, LDNS_SECTION_ADDITIONAL,
	    "evil.example. 172800 IN A "
	    "203.0.113.66");
	push(p, LDNS_SECTION_ADDITIONAL,
	    "evil2.example. 172800 IN AAAA "
	    "2001:db8::66");
	push(p, LDNS_SECTION_ADDITIONAL, "ns9.ua. 172800 IN A 203.0.113.9");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 172800 IN TXT \"x\"");
	assert_int_equal(parse(p, "ua", false, &set), CW_OK);
	assert_int_equal(set.nns, 1);
	assert_string_equal(set.ns[0].name, "ns1.ua");
	assert_int_equal(set.n, 1);
	assert_string_equal(set.servers[0].addr, "192.0.2.1");

	/* Only records for other owners: nothing at all. */
	p = reply_new("ua.", LDNS_RCODE_NOERROR, false);
	push(p, LDNS_SECTION_AUTHORITY, "com. 172800 IN NS evil.example.");
	push(p, LDNS_SECTION_ADDITIONAL,
	    "evil.example. 172800 IN A "
	    "203.0.113.66");
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_NO_ANSWER);
	assert_int_equal(set.nns, 0);
	assert_int_equal(set.n, 0);
}

static void
test_referral_caps(void **state)
{
	struct tld_set set;
	char text[160];
	ldns_pkt *p = reply_new("ua.", LDNS_RCODE_NOERROR, false);

	(void)state;
	for (int i = 0; i < TLD_NS_MAX + 8; i++) {
		snprintf(text, sizeof(text), "ua. 172800 IN NS ns%02d.ua.", i);
		push(p, LDNS_SECTION_AUTHORITY, text);
	}
	/* Twelve addresses of one name: eight kept. */
	for (int i = 0; i < 12; i++) {
		snprintf(text, sizeof(text),
		    "ns00.ua. 172800 IN A "
		    "198.51.100.%d",
		    i + 1);
		push(p, LDNS_SECTION_ADDITIONAL, text);
	}
	/* Two of every other name: the set stops at TLD_SERVERS_MAX. */
	for (int i = 1; i < TLD_NS_MAX + 8; i++) {
		snprintf(text, sizeof(text),
		    "ns%02d.ua. 172800 IN A "
		    "203.0.113.%d",
		    i, i);
		push(p, LDNS_SECTION_ADDITIONAL, text);
		snprintf(text, sizeof(text),
		    "ns%02d.ua. 172800 IN AAAA "
		    "2001:db8::%d",
		    i, i);
		push(p, LDNS_SECTION_ADDITIONAL, text);
	}
	assert_int_equal(parse(p, "ua", false, &set), CW_OK);
	assert_int_equal(set.nns, TLD_NS_MAX);
	assert_non_null(find_ns(&set, "ns31.ua"));
	assert_null(find_ns(&set, "ns32.ua"));
	assert_int_equal(find_ns(&set, "ns00.ua")->naddr, TLD_NS_ADDR_MAX);
	assert_int_equal(set.n, TLD_SERVERS_MAX);
	assert_null(find_server(&set, "203.0.113.33"));
}

static void
test_referral_empty_and_rcodes(void **state)
{
	struct tld_set set;
	ldns_pkt *p;

	(void)state;
	p = reply_new("ua.", LDNS_RCODE_NOERROR, false);
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_NO_ANSWER);

	p = reply_new("nope.", LDNS_RCODE_NXDOMAIN, true);
	push(p, LDNS_SECTION_AUTHORITY,
	    ". 86400 IN SOA a.root-servers.net. "
	    "nstld.verisign-grs.com. 1 1800 900 604800 86400");
	assert_int_equal(parse(p, "nope", false, &set), CW_FAIL_DNS_NXDOMAIN);
	assert_int_equal(set.nns, 0);

	p = reply_new("ua.", LDNS_RCODE_SERVFAIL, false);
	push(p, LDNS_SECTION_AUTHORITY, "ua. 172800 IN NS ns1.ua.");
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_SERVFAIL);
	p = reply_new("ua.", LDNS_RCODE_REFUSED, false);
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_REFUSED);
	p = reply_new("ua.", LDNS_RCODE_NOTIMPL, false);
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_RCODE);

	/* NS of the root (an upward referral) is not a referral for T. */
	p = reply_new("ua.", LDNS_RCODE_NOERROR, false);
	push(p, LDNS_SECTION_AUTHORITY, ". 518400 IN NS a.root-servers.net.");
	assert_int_equal(parse(p, "ua", false, &set), CW_FAIL_DNS_NO_ANSWER);
}

static void
test_referral_authoritative(void **state)
{
	struct tld_set set;
	ldns_pkt *p;

	(void)state;
	/* A server authoritative for T answers instead of referring. */
	p = reply_new("arpa.", LDNS_RCODE_NOERROR, true);
	push(p, LDNS_SECTION_ANSWER, "arpa. 518400 IN NS a.ns.arpa.");
	push(p, LDNS_SECTION_ANSWER, "arpa. 518400 IN NS b.ns.arpa.");
	push(p, LDNS_SECTION_AUTHORITY, "com. 518400 IN NS evil.example.");
	push(p, LDNS_SECTION_ADDITIONAL, "a.ns.arpa. 518400 IN A 192.0.2.41");
	assert_int_equal(parse(p, "arpa", false, &set), CW_OK);
	assert_int_equal(set.nns, 2);
	assert_int_equal(set.n, 1);
	assert_string_equal(set.servers[0].name, "a.ns.arpa");

	/* Without AA the answer section is not trusted for NS. */
	p = reply_new("arpa.", LDNS_RCODE_NOERROR, false);
	push(p, LDNS_SECTION_ANSWER, "arpa. 518400 IN NS a.ns.arpa.");
	assert_int_equal(parse(p, "arpa", false, &set), CW_FAIL_DNS_NO_ANSWER);
}

static void
test_referral_addresses_scope(void **state)
{
	static const char *glue[] = {
		"ns1.ua. 1 IN A 127.0.0.1",
		"ns1.ua. 1 IN A 10.1.2.3",
		"ns1.ua. 1 IN A 192.168.1.1",
		"ns1.ua. 1 IN AAAA ::1",
		"ns1.ua. 1 IN AAAA fe80::1",
		"ns1.ua. 1 IN AAAA fd00::1",
		"ns2.ua. 1 IN A 0.0.0.0",
		"ns2.ua. 1 IN A 224.0.0.1",
		"ns2.ua. 1 IN A 255.255.255.255",
		"ns2.ua. 1 IN AAAA ::",
		"ns2.ua. 1 IN AAAA ff02::1",
		"ns2.ua. 1 IN AAAA ::ffff:1.2.3.4",
	};
	struct tld_set set;
	ldns_pkt *p;

	(void)state;
	for (int local = 0; local < 2; local++) {
		p = reply_new("ua.", LDNS_RCODE_NOERROR, false);
		push(p, LDNS_SECTION_AUTHORITY, "ua. 1 IN NS ns1.ua.");
		push(p, LDNS_SECTION_AUTHORITY, "ua. 1 IN NS ns2.ua.");
		for (size_t i = 0; i < sizeof(glue) / sizeof(glue[0]); i++)
			push(p, LDNS_SECTION_ADDITIONAL, glue[i]);
		assert_int_equal(parse(p, "ua", local, &set), CW_OK);
		/* Bogus addresses never; local ones only when allowed. */
		assert_int_equal(set.n, local ? 6 : 0);
		assert_int_equal(find_ns(&set, "ns2.ua")->naddr, 0);
	}
}

static void
test_reply_addresses(void **state)
{
	char addrs[4][INET6_ADDRSTRLEN];
	ldns_pkt *p;

	(void)state;
	p = reply_new("ns1.nic-sd.xx.", LDNS_RCODE_NOERROR, true);
	push(p, LDNS_SECTION_ANSWER, "ns1.nic-sd.xx. 1 IN A 192.0.2.7");
	push(p, LDNS_SECTION_ANSWER, "NS1.nic-sd.xx. 1 IN A 192.0.2.8");
	push(p, LDNS_SECTION_ANSWER, "other.xx. 1 IN A 192.0.2.9");
	push(p, LDNS_SECTION_ANSWER, "ns1.nic-sd.xx. 1 IN AAAA 2001:db8::7");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.nic-sd.xx. 1 IN A 192.0.2.10");
	p = rewire(p);
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx", LDNS_RR_TYPE_A,
	                     false, addrs, 4),
	    2);
	assert_string_equal(addrs[0], "192.0.2.7");
	assert_string_equal(addrs[1], "192.0.2.8");
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx", LDNS_RR_TYPE_A,
	                     true, addrs, 4),
	    3);
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx", LDNS_RR_TYPE_A,
	                     true, addrs, 1),
	    1);
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx",
	                     LDNS_RR_TYPE_AAAA, false, addrs, 4),
	    1);
	assert_string_equal(addrs[0], "2001:db8::7");
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx",
	                     LDNS_RR_TYPE_NS, false, addrs, 4),
	    0);
	ldns_pkt_free(p);

	p = reply_new("ns1.nic-sd.xx.", LDNS_RCODE_NXDOMAIN, true);
	push(p, LDNS_SECTION_ANSWER, "ns1.nic-sd.xx. 1 IN A 192.0.2.7");
	p = rewire(p);
	assert_int_equal(tld_reply_addresses(p, "ns1.nic-sd.xx", LDNS_RR_TYPE_A,
	                     false, addrs, 4),
	    0);
	ldns_pkt_free(p);
}

/* --- sets --- */

static void
sample_set(struct tld_set *set)
{
	ldns_pkt *p = reply_new("ua.", LDNS_RCODE_NOERROR, false);

	push(p, LDNS_SECTION_AUTHORITY, "ua. 1 IN NS ns1.ua.");
	push(p, LDNS_SECTION_AUTHORITY, "ua. 1 IN NS ns2.ua.");
	push(p, LDNS_SECTION_AUTHORITY, "ua. 1 IN NS ns.example.net.");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 1 IN A 192.0.2.1");
	push(p, LDNS_SECTION_ADDITIONAL, "ns1.ua. 1 IN AAAA 2001:db8::1");
	push(p, LDNS_SECTION_ADDITIONAL, "ns2.ua. 1 IN A 192.0.2.2");
	assert_int_equal(parse(p, "ua", false, set), CW_OK);
	assert_int_equal(tld_set_add_server(set, "ns.example.net",
	                     "2001:db8::53", 53, false),
	    1);
	tld_set_sort(set);
	set->learned = INT64_C(1718000000123456);
	snprintf(set->root, sizeof(set->root), "198.41.0.4");
}

static void
test_set_equal(void **state)
{
	struct tld_set *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));

	(void)state;
	sample_set(a);
	sample_set(b);
	b->learned = 1;
	assert_true(tld_set_equal(a, b));
	b->glue[0] = !b->glue[0];
	assert_false(tld_set_equal(a, b));
	sample_set(b);
	assert_int_equal(tld_set_add_server(b, "ns2.ua", "192.0.2.3", 53, true),
	    1);
	tld_set_sort(b);
	assert_false(tld_set_equal(a, b));
	free(a);
	free(b);
}

/* --- the cache --- */

static char *
make_tmpdir(void)
{
	char tmpl[] = "/tmp/test_tld.XXXXXX", *dir;

	assert_non_null(mkdtemp(tmpl));
	dir = strdup(tmpl);
	assert_non_null(dir);
	return dir;
}

static void
remove_tree(const char *dir)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

static void
write_file(const char *dir, const char *name, const char *text, size_t len)
{
	char path[512];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/tld", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/tld/%s", dir, name);
	assert_non_null(fp = fopen(path, "w"));
	assert_int_equal(fwrite(text, 1, len, fp), len);
	assert_int_equal(fclose(fp), 0);
}

static void
test_cache_round_trip(void **state)
{
	struct tld_set *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *dir = make_tmpdir(), path[512];
	struct stat st;

	(void)state;
	sample_set(a);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), 1);
	assert_int_equal(tld_cache_save(dir, a), 0);
	snprintf(path, sizeof(path), "%s/tld", dir);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0700);
	assert_int_equal(tld_cache_save(dir, a), 0); /* replaces */
	assert_int_equal(tld_cache_load(dir, "ua", 5353, b), 0);
	assert_true(tld_set_equal(a, b));
	assert_true(b->learned == a->learned);
	assert_string_equal(b->root, "198.41.0.4");
	assert_int_equal(target_port(&b->servers[0]), 5353);
	assert_int_equal(b->nns, 3);
	for (size_t i = 0; i < b->nns; i++)
		assert_int_equal(b->ns[i].naddr, a->ns[i].naddr);
	/* No temporary file is left behind. */
	snprintf(path, sizeof(path), "ls -A '%s/tld' | grep -vqx ua.json", dir);
	assert_int_not_equal(system(path), 0);
	/* Another TLD's name does not read this one's file. */
	assert_int_equal(tld_cache_load(dir, "sd", 53, b), 1);
	/* Loopback servers load only from a set a loopback root gave. */
	assert_int_equal(tld_set_add_server(a, "ns1.ua", "127.0.0.9", 53, true),
	    1);
	snprintf(a->root, sizeof(a->root), "127.0.0.1");
	assert_int_equal(tld_cache_save(dir, a), 0);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), 0);
	assert_non_null(find_server(b, "127.0.0.9"));
	snprintf(a->root, sizeof(a->root), "192.0.2.1");
	assert_int_equal(tld_cache_save(dir, a), 0);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);
	remove_tree(dir);
	free(dir);
	free(a);
	free(b);
}

static void
test_cache_missing_state_dir(void **state)
{
	struct tld_set *a = malloc(sizeof(*a));
	char *dir = make_tmpdir(), sub[512];

	(void)state;
	sample_set(a);
	snprintf(sub, sizeof(sub), "%s/state", dir);
	assert_int_equal(tld_cache_save(sub, a), 0);
	assert_int_equal(tld_cache_load(sub, "ua", 53, a), 0);
	snprintf(sub, sizeof(sub), "%s/no/such/dir", dir);
	assert_int_equal(tld_cache_save(sub, a), -1);
	remove_tree(dir);
	free(dir);
	free(a);
}

static void
test_cache_hostile(void **state)
{
	static const char *bad[] = {
		"",
		"{",
		"[]",
		"null",
		"\"ua\"",
		"{\"version\":1}",
		/* wrong types */
		"{\"version\":\"1\",\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":\"ns1.ua\","
		"\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns1.ua\","
		"\"addr\":\"192.0.2.1\",\"glue\":\"yes\"}]}",
		/* another version, another TLD, an extra key, a bad time */
		"{\"version\":2,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[]}",
		"{\"version\":1,\"tld\":\"sd\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[],\"extra\":1}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":-5,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[]}",
		/* bad addresses */
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"not-an-address\",\"ns\":[],"
		"\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns1.ua\","
		"\"addr\":\"999.0.2.1\",\"glue\":true}]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns1.ua\","
		"\"addr\":\"224.0.0.1\",\"glue\":true}]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns1.ua\","
		"\"addr\":\"127.0.0.1\",\"glue\":true}]}",
		/* names: invalid, unknown, duplicate */
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns 1.ua\",\"addresses\":0}],\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns2.ua\","
		"\"addr\":\"192.0.2.1\",\"glue\":true}]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":0},{\"name\":\"ns1.ua\","
		"\"addresses\":0}],\"servers\":[]}",
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":99}],\"servers\":[]}",
		/* the same address twice, a duplicate key */
		"{\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[{\"name\":"
		"\"ns1.ua\",\"addresses\":1}],\"servers\":[{\"name\":\"ns1.ua\","
		"\"addr\":\"192.0.2.1\",\"glue\":true},{\"name\":\"ns1.ua\","
		"\"addr\":\"192.0.2.1\",\"glue\":true}]}",
		"{\"version\":1,\"version\":1,\"tld\":\"ua\",\"learned\":\"x\","
		"\"learned_usec\":1,\"root\":\"192.0.2.1\",\"ns\":[],"
		"\"servers\":[]}",
	};
	struct tld_set *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
	char *dir = make_tmpdir(), *text, *huge, path[512];
	json_t *obj;
	size_t len;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(dir, "ua.json", bad[i], strlen(bad[i]));
		assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);
		assert_int_equal(b->n, 0);
		assert_int_equal(b->nns, 0);
	}

	/* A good file, truncated at every length, never loads. */
	sample_set(a);
	obj = tld_set_to_cache_json(a);
	text = json_dumps(obj, JSON_COMPACT);
	json_decref(obj);
	len = strlen(text);
	write_file(dir, "ua.json", text, len);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), 0);
	for (size_t cut = 0; cut < len; cut += 7) {
		write_file(dir, "ua.json", text, cut);
		assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);
	}

	/* Valid JSON padded past the size cap. */
	huge = malloc(300 * 1024);
	memset(huge, ' ', 300 * 1024);
	memcpy(huge, text, len);
	write_file(dir, "ua.json", huge, 300 * 1024);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);
	free(huge);
	free(text);

	/* Not a regular file: a directory, a symbolic link. */
	snprintf(path, sizeof(path), "%s/tld/ua.json", dir);
	unlink(path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);
	rmdir(path);
	assert_int_equal(symlink("/etc/passwd", path), 0);
	assert_int_equal(tld_cache_load(dir, "ua", 53, b), -1);

	remove_tree(dir);
	free(dir);
	free(a);
	free(b);
}

/* --- resolv.conf --- */

static void
test_resolver_from_file(void **state)
{
	static const char conf[] = "# generated\n"
	                           "search example.net\n"
	                           "nameserver\n"
	                           "nameserver fe80::1%eth0\n"
	                           "nameserver example.net\n"
	                           "  nameserver   127.0.0.53   # the stub\n"
	                           "nameserver 192.0.2.53\n";
	char *dir = make_tmpdir(), path[512];
	struct target t;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/resolv.conf", dir);
	assert_non_null(fp = fopen(path, "w"));
	fputs(conf, fp);
	fclose(fp);
	assert_int_equal(tld_resolver_from_file(path, 5353, &t), 0);
	assert_string_equal(t.addr, "127.0.0.53");
	assert_int_equal(target_port(&t), 5353);

	assert_non_null(fp = fopen(path, "w"));
	fputs("search x\n; nameserver 192.0.2.1\n", fp);
	fclose(fp);
	assert_int_equal(tld_resolver_from_file(path, 53, &t), -1);
	snprintf(path, sizeof(path), "%s/missing", dir);
	assert_int_equal(tld_resolver_from_file(path, 53, &t), -1);
	remove_tree(dir);
	free(dir);
}

/* --- the discovery, without the network --- */

static void
test_discovery_setup(void **state)
{
	struct event_base *base = event_base_new();
	struct tld_set *a = malloc(sizeof(*a));
	const struct tld_set *got;
	struct tld_discovery *d;
	char *dir = make_tmpdir(), err[128];
	struct target root;

	(void)state;
	assert_int_equal(target_parse("192.0.2.1", 53, &root, err, sizeof(err)),
	    0);
	assert_null(
	    tld_discovery_new(base, dir, &root, 0, NULL, 0, NULL, NULL, NULL));
	sample_set(a);
	a->learned = cw_real_usec();
	assert_int_equal(tld_cache_save(dir, a), 0);

	d = tld_discovery_new(base, dir, &root, 1, NULL, 0, NULL, NULL, NULL);
	assert_non_null(d);
	tld_discovery_set_port(d, 5353);
	assert_int_equal(tld_discovery_add(d, "u a"), -1);
	assert_int_equal(tld_discovery_add(d, "UA."), 0);
	assert_int_equal(tld_discovery_add(d, "ua"), 0);
	assert_true(tld_discovery_settled(d));
	got = tld_discovery_get(d, "ua");
	assert_non_null(got);
	assert_true(tld_set_equal(got, a));
	assert_int_equal(target_port(&got->servers[0]), 5353);
	assert_int_equal(tld_discovery_add(d, "sd"), 0);
	assert_null(tld_discovery_get(d, "sd"));
	assert_null(tld_discovery_get(d, "xx"));
	assert_false(tld_discovery_settled(d));
	tld_discovery_free(d);
	tld_discovery_free(NULL);
	event_base_free(base);
	remove_tree(dir);
	free(dir);
	free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_name_valid),
		cmocka_unit_test(test_name_invalid),
		cmocka_unit_test(test_referral_glue),
		cmocka_unit_test(test_referral_missing_glue),
		cmocka_unit_test(test_referral_other_owner),
		cmocka_unit_test(test_referral_caps),
		cmocka_unit_test(test_referral_empty_and_rcodes),
		cmocka_unit_test(test_referral_authoritative),
		cmocka_unit_test(test_referral_addresses_scope),
		cmocka_unit_test(test_reply_addresses),
		cmocka_unit_test(test_set_equal),
		cmocka_unit_test(test_cache_round_trip),
		cmocka_unit_test(test_cache_missing_state_dir),
		cmocka_unit_test(test_cache_hostile),
		cmocka_unit_test(test_resolver_from_file),
		cmocka_unit_test(test_discovery_setup),
	};

	log_init("test_tld", LOG_LEVEL_ERR);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
