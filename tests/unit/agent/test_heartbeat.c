/* test_heartbeat.c -- the configuration a heartbeat declares: what each
 * measurement's description says (and keeps secret), the hash (stable,
 * over the canonical form, blind to comments and the order of options
 * and sections, changed by any measured value), the rule of when it is
 * declared in full, and the bound on its size. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "conf.h"
#include "heartbeat.h"
#include "record.h"
#include "result.h"

#define HEAD "probe { name = \"hb-test\" }\nstate_dir = \"/tmp\"\n"

/* The reference configuration: a DNS and an HTTP measurement. */
static const char conf_base[] = HEAD
    "dns \"soa\" {\n"
    "\tservers = {\"a.example=192.0.2.1\", \"2001:db8::1\"}\n"
    "\tinterval = 60s\n"
    "\ttimeout = 2s\n"
    "\ttransport = \"udp\"\n"
    "}\n"
    "http \"web\" {\n"
    "\turl = \"http://192.0.2.9/x\"\n"
    "\theaders = {\"Authorization: Bearer s3cret-token\"}\n"
    "\tproxy = \"socks5h://user:pa55word@192.0.2.5:1080\"\n"
    "\tinterval = 5m\n"
    "}\n";

/* The same measurements: comments, the options in another order, the
 * sections swapped. */
static const char conf_reordered[] = HEAD
    "# a comment that changes nothing measured\n"
    "http \"web\" {\n"
    "\tinterval = 5m # so does this one\n"
    "\tproxy = \"socks5h://user:pa55word@192.0.2.5:1080\"\n"
    "\theaders = {\"Authorization: Bearer s3cret-token\"}\n"
    "\turl = \"http://192.0.2.9/x\"\n"
    "}\n"
    "dns \"soa\" {\n"
    "\ttransport = \"udp\"\n"
    "\ttimeout = 2s\n"
    "\tinterval = 60s\n"
    "\tservers = {\"a.example=192.0.2.1\", \"2001:db8::1\"}\n"
    "}\n";

static struct config *
load(const char *text)
{
	char path[] = "/tmp/cw-test-heartbeat.XXXXXX";
	struct config *c;
	char *errors = NULL;
	int fd;

	assert_true((fd = mkstemp(path)) >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	close(fd);
	c = config_load(path, &errors);
	if (c == NULL)
		fail_msg("%s", errors != NULL ? errors : "rejected");
	unlink(path);
	return c;
}

/* hash_of: the hash heartbeat_config_set gives `text`, into hex. */
static void
hash_of(const char *text, char hex[HEARTBEAT_HASH_HEX + 1])
{
	struct heartbeat_config hc = { 0 };
	struct config *c = load(text);

	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	memcpy(hex, hc.hash, HEARTBEAT_HASH_HEX + 1);
	heartbeat_config_clear(&hc);
	config_free(c);
}

/* replace: text with the first `from` replaced by `to` (static). */
static const char *
replace(const char *text, const char *from, const char *to)
{
	static char buf[4096];
	const char *p = strstr(text, from);

	assert_non_null(p);
	snprintf(buf, sizeof(buf), "%.*s%s%s", (int)(p - text), text, to,
	    p + strlen(from));
	return buf;
}

static const json_t *
find(const json_t *a, const char *name)
{
	size_t i;
	json_t *d;

	json_array_foreach(a, i, d) {
		if (strcmp(json_string_value(json_object_get(d, "name")),
		        name) == 0)
			return d;
	}
	fail_msg("no measurement %s", name);
	return NULL;
}

static void
test_describe(void **state)
{
	struct heartbeat_config hc = { 0 };
	struct config *c = load(conf_base);
	const json_t *soa, *web, *t;
	json_t *decl;
	char *text;

	(void)state;
	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	assert_int_equal(json_array_size(hc.measurements), 2);
	/* Sorted by name: "soa" before "web". */
	soa = json_array_get(hc.measurements, 0);
	assert_string_equal(json_string_value(json_object_get(soa, "name")),
	    "soa");
	assert_string_equal(json_string_value(json_object_get(soa, "kind")),
	    "dns");
	assert_int_equal(json_integer_value(
	                     json_object_get(soa, "interval_ms")),
	    60000);
	assert_int_equal(json_integer_value(json_object_get(soa, "timeout_ms")),
	    2000);
	assert_string_equal(json_string_value(json_object_get(soa, "qtype")),
	    "SOA");
	t = json_object_get(soa, "targets");
	assert_int_equal(json_array_size(t), 2);
	assert_string_equal(json_string_value(
	                        json_object_get(json_array_get(t, 0), "name")),
	    "a.example");
	assert_string_equal(
	    json_string_value(json_object_get(json_array_get(t, 0), "address")),
	    "192.0.2.1");
	assert_int_equal(json_integer_value(
	                     json_object_get(json_array_get(t, 1), "port")),
	    53);
	assert_int_equal(json_array_size(json_object_get(soa, "transports")),
	    1);
	web = find(hc.measurements, "web");
	assert_string_equal(json_string_value(json_object_get(web, "kind")),
	    "http");
	assert_string_equal(json_string_value(json_object_get(web, "url")),
	    "http://192.0.2.9/x");
	assert_int_equal(json_integer_value(
	                     json_object_get(web, "interval_ms")),
	    300000);
	assert_non_null(json_object_get(web, "timeout_ms"));
	assert_string_equal(json_string_value(json_object_get(web, "proxy")),
	    "socks5h");
	assert_string_equal(json_string_value(
	                        json_array_get(json_object_get(web, "headers"),
	                            0)),
	    "Authorization");
	/* Neither the token nor the proxy's password or address. */
	decl = heartbeat_config_json(&hc, true);
	assert_non_null(text = json_dumps(decl, JSON_COMPACT));
	assert_null(strstr(text, "s3cret"));
	assert_null(strstr(text, "pa55word"));
	assert_null(strstr(text, "192.0.2.5"));
	assert_non_null(strstr(text, hc.hash));
	free(text);
	assert_int_equal(json_integer_value(json_object_get(decl, "count")), 2);
	assert_int_equal(json_integer_value(json_object_get(decl, "omitted")),
	    0);
	assert_true(
	    json_equal(json_object_get(decl, "measurements"), hc.measurements));
	json_decref(decl);
	/* Without the declaration: the hash and the count only. */
	decl = heartbeat_config_json(&hc, false);
	assert_int_equal(json_object_size(decl), 2);
	assert_string_equal(json_string_value(json_object_get(decl, "hash")),
	    hc.hash);
	json_decref(decl);
	heartbeat_config_clear(&hc);
	config_free(c);
}

/* The hash is SHA-256 of the canonical form, which anyone can redo
 * from a full declaration. */
static void
test_hash_canonical(void **state)
{
	struct heartbeat_config hc = { 0 };
	struct config *c = load(conf_base);
	unsigned char h[crypto_hash_sha256_BYTES];
	char hex[HEARTBEAT_HASH_HEX + 1], *canon;

	(void)state;
	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	canon = json_dumps(hc.measurements,
	    JSON_COMPACT | JSON_SORT_KEYS | JSON_ENSURE_ASCII);
	assert_non_null(canon);
	crypto_hash_sha256(h, (unsigned char *)canon, strlen(canon));
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	assert_string_equal(hc.hash, hex);
	free(canon);
	heartbeat_config_clear(&hc);
	config_free(c);
}

static void
test_hash_stable(void **state)
{
	char a[HEARTBEAT_HASH_HEX + 1], b[HEARTBEAT_HASH_HEX + 1];

	(void)state;
	hash_of(conf_base, a);
	assert_int_equal(strlen(a), HEARTBEAT_HASH_HEX);
	hash_of(conf_base, b);
	assert_string_equal(a, b);
	hash_of(conf_reordered, b);
	assert_string_equal(a, b);
	/* The probe's name, the heartbeat's interval: not measurements. */
	hash_of(replace(conf_base, "hb-test", "other"), b);
	assert_string_equal(a, b);
	hash_of(replace(conf_base, "state_dir", "heartbeat = 1m\nstate_dir"),
	    b);
	assert_string_equal(a, b);
}

static void
test_hash_changes(void **state)
{
	static const char *const changes[][2] = {
		{ "timeout = 2s", "timeout = 3s" },
		{ "interval = 60s", "interval = 61s" },
		{ "192.0.2.1", "192.0.2.3" },
		{ "a.example=", "" },
		{ "transport = \"udp\"", "transport = \"both\"" },
		{ "interval = 5m", "interval = 5m\n\tmethod = \"HEAD\"" },
		{ "dns \"soa\"", "dns \"soa2\"" },
		{ "http://192.0.2.9/x", "http://192.0.2.9/y" },
		{ "socks5h://", "http://" },
	};
	char a[HEARTBEAT_HASH_HEX + 1], b[HEARTBEAT_HASH_HEX + 1];

	(void)state;
	hash_of(conf_base, a);
	for (size_t i = 0; i < sizeof(changes) / sizeof(changes[0]); i++) {
		hash_of(replace(conf_base, changes[i][0], changes[i][1]), b);
		if (strcmp(a, b) == 0)
			fail_msg("%s -> %s: the same hash", changes[i][0],
			    changes[i][1]);
	}
}

static void
test_due(void **state)
{
	struct heartbeat_config hc = { 0 };
	struct config *c = load(conf_base);
	cw_usec_t now = 1800000000 * CW_USEC_PER_SEC;

	(void)state;
	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	assert_true(heartbeat_config_due(&hc, now));
	hc.declared = now;
	assert_false(heartbeat_config_due(&hc, now + 300 * CW_USEC_PER_SEC));
	assert_false(
	    heartbeat_config_due(&hc, now + HEARTBEAT_DECLARE_EVERY - 1));
	assert_true(heartbeat_config_due(&hc, now + HEARTBEAT_DECLARE_EVERY));
	assert_true(heartbeat_config_due(&hc, now - CW_USEC_PER_SEC));
	/* A new configuration (a reload) is due at once. */
	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	assert_true(heartbeat_config_due(&hc, now + CW_USEC_PER_SEC));
	heartbeat_config_clear(&hc);
	config_free(c);
}

/* Many measurements with many servers: the heartbeat still fits in a
 * record, the declaration says how many it left out, the hash covers
 * them all. */
static void
test_bound(void **state)
{
	size_t len = 0, cap = 1 << 20;
	char *text = malloc(cap), *line;
	struct heartbeat_config hc = { 0 };
	struct config_identity id = { .name = "hb-test" };
	struct config *c;
	json_t *decl, *hb;

	(void)state;
	assert_non_null(text);
	len += (size_t)snprintf(text + len, cap - len, "%s", HEAD);
	for (int m = 0; m < 200; m++) {
		len += (size_t)snprintf(text + len, cap - len,
		    "dns \"m%03d\" {\n\tservers = {", m);
		for (int s = 0; s < 20; s++)
			len += (size_t)snprintf(text + len, cap - len,
			    "%s\"server-%02d.some-long-name.example=198.51.%d.%d\"",
			    s == 0 ? "" : ", ", s, m % 256, s + 1);
		len += (size_t)snprintf(text + len, cap - len, "}\n}\n");
	}
	c = load(text);
	free(text);
	assert_int_equal(c->nmeasurements, 200);
	assert_int_equal(heartbeat_config_set(&hc, c), 0);
	assert_non_null(decl = heartbeat_config_json(&hc, true));
	assert_int_equal(json_integer_value(json_object_get(decl, "count")),
	    200);
	assert_true(json_integer_value(json_object_get(decl, "omitted")) > 0);
	assert_int_equal(json_array_size(
	                     json_object_get(decl, "measurements")) +
	        (size_t)json_integer_value(json_object_get(decl, "omitted")),
	    200);
	hb = heartbeat_build(1800000000 * CW_USEC_PER_SEC,
	    300 * CW_USEC_PER_SEC, NULL, NULL, NULL, &id, decl);
	assert_non_null(hb);
	assert_non_null(line = result_dump(hb));
	/* The spool's envelope (probe, chain, seq, prev) adds a few
	 * hundred bytes: a wide margin is left for it. */
	assert_true(strlen(line) > HEARTBEAT_CONFIG_MAX / 2);
	assert_true(strlen(line) + 4096 < RECORD_MAX_LEN);
	free(line);
	json_decref(hb);
	json_decref(decl);
	heartbeat_config_clear(&hc);
	config_free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_describe),
		cmocka_unit_test(test_hash_canonical),
		cmocka_unit_test(test_hash_stable),
		cmocka_unit_test(test_hash_changes),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_bound),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
