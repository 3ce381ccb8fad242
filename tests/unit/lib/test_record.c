/* test_record.c -- record envelopes, hashes, probe ids, batch signatures
 * and the Authorization header. */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "record.h"

#define P "0123456789abcdef0123456789abcdef"
#define C "fedcba9876543210fedcba9876543210"
#define Z "0000000000000000000000000000000000000000000000000000000000000000"
#define H "1111111111111111111111111111111111111111111111111111111111111111"

static int
parse(const char *line, struct record *r, char *err, size_t errlen)
{
	int rc = record_parse(line, strlen(line), r, err, errlen);

	record_clear(r);
	return rc;
}

static void
test_parse_good(void **state)
{
	static const char line[] = "{\"probe\":\"" P "\",\"chain\":\"" C
	                           "\",\"seq\":1,\"prev\":\"" Z
	                           "\",\"type\":\"dns\",\"ok\":true}";
	unsigned char h[32];
	struct record r;
	char err[128];

	(void)state;
	assert_int_equal(record_parse(line, strlen(line), &r, err, sizeof(err)),
	    0);
	assert_string_equal(r.probe, P);
	assert_string_equal(r.chain, C);
	assert_int_equal(r.seq, 1);
	assert_string_equal(r.type, "dns");
	assert_ptr_equal(r.line, line);
	crypto_hash_sha256(h, (const unsigned char *)line, strlen(line));
	assert_memory_equal(r.hash, h, 32);
	assert_true(json_is_true(json_object_get(r.json, "ok")));
	record_clear(&r);
}

static void
test_parse_bad(void **state)
{
	static const struct {
		const char *line;
		const char *reason;
	} bad[] = {
		{ "", "not JSON" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"probe\":\"" P "\"", "not JSON" },
		{ "{\"chain\":\"" C "\",\"seq\":1,\"prev\":\"" Z "\",\"type\":"
		  "\"dns\"}",
		    "\"probe\" missing" },
		{ "{\"probe\":\""
		  "0123456789ABCDEF0123456789abcdef"
		  "\",\"chain"
		  "\":\"" C "\",\"seq\":1,\"prev\":\"" Z "\",\"type\":\"d\"}",
		    "lower-case hex" },
		{ "{\"probe\":\"" P
		  "\",\"chain\":\"abc\",\"seq\":1,\"prev\":\"" Z
		  "\",\"type\":\"d\"}",
		    "\"chain\" is not" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C "\",\"seq\":\"1\","
		  "\"prev\":\"" Z "\",\"type\":\"d\"}",
		    "\"seq\"" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":0,\"prev\":\"" Z "\",\"type\":\"d\"}",
		    "\"seq\"" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C "\",\"seq\":1.5,"
		  "\"prev\":\"" Z "\",\"type\":\"d\"}",
		    "\"seq\"" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":1,\"prev\":\"" H "\",\"type\":\"d\"}",
		    "seq 1 with a \"prev\"" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" Z "\",\"type\":\"d\"}",
		    "all zeros after seq 1" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H "\",\"type\":7}",
		    "\"type\"" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H "\",\"type\":\"\"}",
		    "\"type\"" },
		{ "{\"probe\":\"" P "\",\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H "\",\"type\":\"d\"}",
		    "duplicate" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H
		  "\",\"type\":\"d\",\"x\":\"\xff\xfe\"}",
		    "not JSON" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H "\",\"type\":\"d\"}\n",
		    "newline" },
		/* Measurement keys the collector reads must have their
		 * documented types. */
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H
		  "\",\"type\":\"dns\",\"rtt_ms\":\"12\"}",
		    "\"rtt_ms\" must be a number or null" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H "\",\"type\":\"dns\",\"ok\":1}",
		    "\"ok\" must be true or false" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H
		  "\",\"type\":\"dns\",\"time\":\"yesterday\"}",
		    "\"time\" is not a UTC time" },
		{ "{\"probe\":\"" P "\",\"chain\":\"" C
		  "\",\"seq\":2,\"prev\":\"" H
		  "\",\"type\":\"loss\",\"lost\":[1,2]}",
		    "\"lost\" must be" },
	};
	struct record r;
	char err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		if (parse(bad[i].line, &r, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", bad[i].line);
		if (strstr(err, bad[i].reason) == NULL)
			fail_msg("%s: reason \"%s\", want \"%s\"", bad[i].line,
			    err, bad[i].reason);
	}
}

/* Every number the collector reads lies in its documented range: the
 * ends are accepted, a step past either is refused naming the key. */
static void
test_parse_ranges(void **state)
{
	static const struct {
		const char *good, *bad, *reason;
	} cases[] = {
		{ "\"rtt_ms\":0", "\"rtt_ms\":1e308",
		    "\"rtt_ms\" is 1e+308, out of its range 0 to 86400000" },
		{ "\"rtt_ms\":86400000", "\"rtt_ms\":1e200", "\"rtt_ms\" is" },
		{ "\"rtt_ms\":null", "\"rtt_ms\":-0.001",
		    "\"rtt_ms\" is -0.001" },
		{ "\"connect_ms\":11.25", "\"connect_ms\":-1",
		    "\"connect_ms\" is -1," },
		{ "\"dns_ms\":1", "\"dns_ms\":86400000.5", "\"dns_ms\" is" },
		{ "\"tls_ms\":1", "\"tls_ms\":-1e-300", "\"tls_ms\" is" },
		{ "\"ttfb_ms\":20.5", "\"ttfb_ms\":1e100", "\"ttfb_ms\" is" },
		{ "\"total_ms\":45.5", "\"total_ms\":-45.5",
		    "\"total_ms\" is" },
		{ "\"duration_ms\":3", "\"duration_ms\":-3",
		    "\"duration_ms\" is" },
		{ "\"port\":65535", "\"port\":65536",
		    "\"port\" is 65536, out of its range 1 to 65535" },
		{ "\"port\":1", "\"port\":0", "\"port\" is 0" },
		{ "\"af\":4", "\"af\":5", "\"af\" is 5, not 4 or 6" },
		{ "\"af\":6", "\"af\":-6", "\"af\" is -6" },
		{ "\"soa_serial\":4294967295", "\"soa_serial\":4294967296",
		    "\"soa_serial\" is 4294967296, out of its range 0 to "
		    "4294967295" },
		{ "\"soa_serial\":0", "\"soa_serial\":-1",
		    "\"soa_serial\" is -1" },
		{ "\"size\":65535", "\"size\":65536", "\"size\" is 65536" },
		{ "\"size\":118", "\"size\":1.5",
		    "\"size\" must be an integer" },
		{ "\"counts\":{\"qd\":1,\"an\":65535}",
		    "\"counts\":{\"qd\":1,\"an\":-1}", "\"counts.an\" is -1" },
		{ "\"query\":{\"id\":65535}",
		    "\"query\":{\"id\":9223372036854775807}",
		    "\"query.id\" is 9223372036854775807" },
		{ "\"query\":{\"edns_size\":1232}",
		    "\"query\":{\"edns_size\":-1}", "\"query.edns_size\" is" },
		{ "\"status\":200", "\"status\":1000", "\"status\" is 1000" },
		{ "\"status\":null", "\"status\":-200", "\"status\" is -200" },
		{ "\"proxy_status\":200", "\"proxy_status\":-1",
		    "\"proxy_status\" is" },
		{ "\"header_bytes\":0", "\"header_bytes\":-1",
		    "\"header_bytes\" is -1" },
		{ "\"body_bytes\":9007199254740992",
		    "\"body_bytes\":9007199254740993",
		    "\"body_bytes\" is 9007199254740993, out of its range 0 "
		    "to 9007199254740992" },
		{ "\"redirects\":2", "\"redirects\":-2", "\"redirects\" is" },
		{ "\"attempts\":1", "\"attempts\":-1", "\"attempts\" is" },
		{ "\"rejected\":3", "\"rejected\":-3", "\"rejected\" is" },
		{ "\"ip_ttl\":255", "\"ip_ttl\":256", "\"ip_ttl\" is 256" },
		{ "\"truncated_reply\":{\"id\":1,\"rtt_ms\":1,\"size\":512}",
		    "\"truncated_reply\":{\"rtt_ms\":1e300}",
		    "\"truncated_reply.rtt_ms\" is 1e+300" },
		{ "\"late_replies\":{\"count\":0}",
		    "\"late_replies\":{\"count\":-1}",
		    "\"late_replies.count\" is" },
		{ "\"root_tries\":4", "\"root_tries\":-4",
		    "\"root_tries\" is" },
		{ "\"lost\":{\"first_seq\":1,\"last_seq\":1,\"count\":1}",
		    "\"lost\":{\"first_seq\":0}", "\"lost.first_seq\" is 0" },
		{ "\"identity\":{\"asn\":4294967295}",
		    "\"identity\":{\"asn\":4294967296}",
		    "\"identity.asn\" is 4294967296" },
	};
	struct record r;
	char line[512], err[256];

	(void)state;
#define RANGE_LINE(frag) \
	snprintf(line, sizeof(line), \
	    "{\"probe\":\"" P "\",\"chain\":\"" C "\",\"seq\":2,\"prev\":\"" H \
	    "\",\"type\":" \
	    "\"dns\",%s}", \
	    (frag))
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		RANGE_LINE(cases[i].good);
		if (parse(line, &r, err, sizeof(err)) != 0)
			fail_msg("refused: %s: %s", line, err);
		RANGE_LINE(cases[i].bad);
		err[0] = '\0';
		if (parse(line, &r, err, sizeof(err)) != -1)
			fail_msg("accepted: %s", line);
		if (strstr(err, cases[i].reason) == NULL)
			fail_msg("%s: reason \"%s\", want \"%s\"", line, err,
			    cases[i].reason);
	}
#undef RANGE_LINE
}

static void
test_parse_limit(void **state)
{
	size_t len = RECORD_MAX_LEN + 1;
	char *line = malloc(len + 1), err[128];
	struct record r;

	(void)state;
	memset(line, ' ', len);
	line[0] = '{';
	line[len - 1] = '}';
	line[len] = '\0';
	assert_int_equal(parse(line, &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "over the limit"));
	free(line);
}

static void
test_probe_id_and_keys(void **state)
{
	unsigned char pk[32], sk[64], h[32], back[32];
	char id[33], hex[65], b64[45], want[33];

	(void)state;
	crypto_sign_keypair(pk, sk);
	record_probe_id(pk, id);
	crypto_hash_sha256(h, pk, 32);
	sodium_bin2hex(want, sizeof(want), h, 16);
	assert_string_equal(id, want);
	sodium_bin2hex(hex, sizeof(hex), pk, 32);
	assert_int_equal(record_pubkey_parse(hex, back), 0);
	assert_memory_equal(back, pk, 32);
	sodium_bin2base64(b64, sizeof(b64), pk, 32,
	    sodium_base64_VARIANT_ORIGINAL);
	memset(back, 0, 32);
	assert_int_equal(record_pubkey_parse(b64, back), 0);
	assert_memory_equal(back, pk, 32);
	hex[10] = 'x';
	assert_int_equal(record_pubkey_parse(hex, back), -1);
	assert_int_equal(record_pubkey_parse("abc", back), -1);
	assert_int_equal(record_pubkey_parse("", back), -1);
}

static void
test_sign_verify(void **state)
{
	static const char body[] = "{\"a\":1}\n{\"b\":2}\n";
	unsigned char pk[32], sk[64], other[32], osk[64];
	unsigned char msg[BATCH_SIG_MSG_LEN];
	char sig[RECORD_SIG_B64 + 1], id[33], hex[65];
	unsigned char h[32];
	size_t n;

	(void)state;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other, osk);
	record_probe_id(pk, id);
	/* The signed message is exactly as the contract says. */
	n = batch_sig_message(id, body, strlen(body), msg);
	crypto_hash_sha256(h, (const unsigned char *)body, strlen(body));
	sodium_bin2hex(hex, sizeof(hex), h, 32);
	assert_int_equal(n, strlen("corewatch-batch-v1\n") + 32 + 1 + 64 + 1);
	assert_memory_equal(msg, "corewatch-batch-v1\n", 19);
	assert_memory_equal(msg + 19, id, 32);
	assert_memory_equal(msg + 52, hex, 64);
	assert_int_equal(msg[n - 1], '\n');

	batch_sign(sk, id, body, strlen(body), sig);
	assert_int_equal(strlen(sig), RECORD_SIG_B64);
	assert_true(batch_verify(pk, id, body, strlen(body), sig));
	/* Another key, another body, another probe id, a mangled sig. */
	assert_false(batch_verify(other, id, body, strlen(body), sig));
	assert_false(batch_verify(pk, id, body, strlen(body) - 1, sig));
	assert_false(batch_verify(pk, P, body, strlen(body), sig));
	sig[5] = sig[5] == 'A' ? 'B' : 'A';
	assert_false(batch_verify(pk, id, body, strlen(body), sig));
	assert_false(batch_verify(pk, id, body, strlen(body), "short"));
	assert_false(batch_verify(pk, "", body, strlen(body), sig));
}

static void
test_auth_parse(void **state)
{
	char probe[33], sig[RECORD_SIG_B64 + 1], err[128], hdr[256];
	char good[RECORD_SIG_B64 + 1];

	(void)state;
	memset(good, 'A', RECORD_SIG_B64);
	good[RECORD_SIG_B64 - 2] = '=';
	good[RECORD_SIG_B64 - 1] = '=';
	good[RECORD_SIG_B64] = '\0';
	snprintf(hdr, sizeof(hdr), "CW1-Ed25519 probe=%s,sig=%s", P, good);
	assert_int_equal(batch_auth_parse(hdr, probe, sig, err, sizeof(err)),
	    0);
	assert_string_equal(probe, P);
	assert_string_equal(sig, good);
	assert_int_equal(batch_auth_parse(NULL, probe, sig, err, sizeof(err)),
	    -1);
	assert_int_equal(batch_auth_parse("Bearer x", probe, sig, err,
	                     sizeof(err)),
	    -1);
	assert_int_equal(batch_auth_parse("CW1-Ed25519 sig=x,probe=y", probe,
	                     sig, err, sizeof(err)),
	    -1);
	snprintf(hdr, sizeof(hdr), "CW1-Ed25519 probe=%s,sig=%s", P, "abc");
	assert_int_equal(batch_auth_parse(hdr, probe, sig, err, sizeof(err)),
	    -1);
	snprintf(hdr, sizeof(hdr), "CW1-Ed25519 probe=%.31sX,sig=%s", P, good);
	assert_int_equal(batch_auth_parse(hdr, probe, sig, err, sizeof(err)),
	    -1);
	snprintf(hdr, sizeof(hdr), "CW1-Ed25519 probe=%s,sig=%sA", P, good);
	assert_int_equal(batch_auth_parse(hdr, probe, sig, err, sizeof(err)),
	    -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_good),
		cmocka_unit_test(test_parse_bad),
		cmocka_unit_test(test_parse_ranges),
		cmocka_unit_test(test_parse_limit),
		cmocka_unit_test(test_probe_id_and_keys),
		cmocka_unit_test(test_sign_verify),
		cmocka_unit_test(test_auth_parse),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
