#!/bin/bash
# http_nginx.sh -- `corewatch http` against a real nginx on loopback
# (cw_nginx_start): plain HTTP and HTTPS with a CA made at test time,
# expired, self-signed and wrong-host certificates, a redirect, a 503, a
# huge body, a slow first byte, a reset, a close without a reply, a
# header line of 100 MiB, a closed port, patterns, HEAD, pinning,
# resolution, usage errors; and
# HTTP/2 (ALPN h2): body, status, a truncated body, a redirect, and
# repetitions on connections of their own.
#
# The whole test runs in a network namespace of its own (loopback only)
# with its own /etc/hosts (localhost and good.test on loopback) and a
# resolv.conf naming 127.0.0.1: whatever the probe resolves or sends,
# nothing leaves the machine.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_netns_isolate cwhttp $'127.0.0.1 localhost good.test\n::1 localhost good.test'

cw_tmpdir
cw_nginx_start
HP=$NGINX_HTTP_PORT SP=$NGINX_HTTPS_PORT
PLAIN="http://127.0.0.1:$HP"
GOOD="https://good.test:$SP"
TLS=(--addr 127.0.0.1 --cacert "$NGINX_CA")
BODY_SHA=$(printf '%s' "$CW_NGINX_BODY" | sha256sum | cut -d' ' -f1)
BODY_LEN=${#CW_NGINX_BODY}
NOW=$(date -u +%Y-%m-%dT%H:%M:%SZ)
ADDRS='["127.0.0.1"]'
[ "$CW_HAVE_V6" = 1 ] && ADDRS='["127.0.0.1","::1"]'

# http NAME ARGS...: run `corewatch http ARGS...`; the results go to
# $CW_TMP/NAME.json, stderr to NAME.err, the exit status to $rc and the
# wall time in ms to $ms.  Bounded by timeout(1).
http()
{
	local name=$1 start
	shift
	start=$(date +%s%N)
	timeout 60 "$COREWATCH" http "$@" \
	    >"$CW_TMP/$name.json" 2>"$CW_TMP/$name.err"
	rc=$?
	ms=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" -gt 1 ]; then
		cw_log "corewatch http $* exited $rc; stderr:"
		cat "$CW_TMP/$name.err" >&2
	fi
}

# logged TEXT: the number of nginx access log lines holding TEXT.
logged()
{
	grep -cF -- "$1" "$NGINX_ACCESS_LOG"
}

# not_logged TEXT PORT: true when no access log line holds TEXT or is
# for PORT (while other lines are there: the log works).
not_logged()
{
	[ "$(logged "$1")" = 0 ] && [ "$(logged '"GET ')" -gt 0 ] &&
	    ! grep -q "^$2 " "$NGINX_ACCESS_LOG"
}

# Every result, whatever happened: the keys of the contract, typed.
SHAPE='
    all(.[];
	.type == "http" and (.time | type) == "string" and
	(.url | type) == "string" and (.method | type) == "string" and
	(.host | type) == "string" and (.port | type) == "number" and
	has("addr") and has("failure") and (.ok | type) == "boolean" and
	(.ok == (.failure == null)) and
	(if .addr != null then .af == 4 or .af == 6 else true end) and
	(if .ok then .failure_detail == null
	 else (.failure_detail | type) == "string" end) and
	has("dns_ms") and has("status") and
	(.total_ms | type) == "number")'

# --- plain HTTP, a literal address ---
http plain "$PLAIN/?plain"
cw_check "plain: exit status 0" [ "$rc" = 0 ]
cw_expect "plain: the contract's keys" "$CW_TMP/plain.json" "$SHAPE"
cw_expect "plain: one good result, the known body" "$CW_TMP/plain.json" "
    length == 1 and (.[0] |
	.ok == true and .failure == null and .status == 200 and
	.url == \"$PLAIN/?plain\" and .method == \"GET\" and
	.host == \"127.0.0.1\" and .port == $HP and
	.addr == \"127.0.0.1\" and .af == 4 and
	.http_version == \"1.1\" and
	.body_sha256 == \"$BODY_SHA\" and .body_bytes == $BODY_LEN and
	.body_truncated == false and (.header_bytes | . > 0) and
	(.redirects // 0) == 0 and
	.dns_ms == null and .tls_ms == null and .tls == null and
	(.connect_ms | type) == \"number\" and
	(.ttfb_ms | type) == \"number\" and
	(.total_ms | type) == \"number\" and
	.connect_ms >= 0 and .ttfb_ms >= 0 and
	.connect_ms <= .total_ms and .ttfb_ms <= .total_ms)"
cw_check "plain: nginx saw one GET" [ "$(logged '"GET /?plain HTTP/1.1" 200')" = 1 ]

# --- HTTPS, pinned: Host and SNI stay the URL's ---
http good "$GOOD/?good" "${TLS[@]}"
cw_check "good: exit status 0" [ "$rc" = 0 ]
cw_expect "good: the contract's keys" "$CW_TMP/good.json" "$SHAPE"
cw_expect "good: verified, the test CA's certificate" "$CW_TMP/good.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .host == \"good.test\" and
	.port == $SP and .addr == \"127.0.0.1\" and .af == 4 and
	.dns_ms == null and (.tls_ms | type) == \"number\" and
	.body_sha256 == \"$BODY_SHA\" and
	.tls.verified == true and .tls.verify_error == null and
	(.tls.version | startswith(\"TLS\")) and
	(.tls.cipher | type) == \"string\" and
	(.tls.certs | length) >= 1 and
	(.tls.certs[0].subject | contains(\"good.test\")) and
	(.tls.certs[0].issuer | contains(\"corewatch test CA\")) and
	(.tls.certs[0].not_before | test(\"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:]{8}Z$\")) and
	.tls.certs[0].not_after > \"$NOW\")"
cw_check "good: nginx saw SNI good.test and Host good.test:$SP" \
    [ "$(logged "\"GET /?good HTTP/1.1\" 200 $BODY_LEN \"TLSv1.3\" \"good.test\" \"good.test:$SP\"")" = 1 ]

if [ "$CW_HAVE_V6" = 1 ]; then
	http good6 "$GOOD/?good6" --addr ::1 --cacert "$NGINX_CA"
	cw_expect "good6: pinned to ::1" "$CW_TMP/good6.json" '
	    length == 1 and .[0].ok == true and .[0].addr == "::1" and
	    .[0].af == 6 and .[0].tls.verified == true'
fi

# --- resolved names: one result per address, from /etc/hosts ---
http local "https://localhost:$SP/?local" --cacert "$NGINX_CA"
cw_check "localhost: exit status 0" [ "$rc" = 0 ]
cw_expect "localhost: one verified result per address" "$CW_TMP/local.json" "
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; . as \$r | .ok == true and .host == \"localhost\" and
	.tls.verified == true and (.dns_ms | type) == \"number\" and
	(.resolved | type) == \"array\" and
	any(.resolved[]; . == \$r.addr)) and
    any(.[].resolved[]; . == \"127.0.0.1\")"
http local4 "http://localhost:$HP/?local4" -4
cw_expect "localhost -4: IPv4 only" "$CW_TMP/local4.json" '
    length == 1 and .[0].ok == true and .[0].addr == "127.0.0.1" and
    .[0].af == 4 and .[0].resolved == ["127.0.0.1"]'
if [ "$CW_HAVE_V6" = 1 ]; then
	http local6 "http://localhost:$HP/?local6" -6
	cw_expect "localhost -6: IPv6 only" "$CW_TMP/local6.json" '
	    length == 1 and .[0].ok == true and .[0].addr == "::1" and
	    .[0].af == 6'
fi
http named "$GOOD/?named" --cacert "$NGINX_CA" --name cw-good
cw_expect "good.test resolved, named" "$CW_TMP/named.json" "
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok == true and .name == \"cw-good\" and
	.tls.verified == true)"
# /etc/resolv.conf names 127.0.0.1, where nothing listens: the port is
# closed (ICMP port unreachable), the nameserver refuses.
http nx "http://nx.test:$HP/" --timeout 1
cw_check "nx.test, no nameserver: exit status 1" [ "$rc" = 1 ]
cw_expect "nx.test, no nameserver: refused, without an address" \
    "$CW_TMP/nx.json" '
    length >= 1 and
    all(.[]; .ok == false and .addr == null and .status == null and
	.failure == "dns_refused_error" and
	(.failure_detail | test("nameserver 127.0.0.1 port 53: ")))'

# --- resolved through DNS: NSD serving web.test on loopback ---
cw_web_zone "$CW_TMP/web.zone"
cw_nsd_start web.test. "$CW_TMP/web.zone"
printf 'nameserver 127.0.0.1:%s\n' "$NSD_PORT" >"$CW_TMP/resolv.conf"
RESOLV=(--resolv-conf "$CW_TMP/resolv.conf")
http www "http://www.web.test:$HP/?www" "${RESOLV[@]}"
cw_check "www.web.test: exit status 0" [ "$rc" = 0 ]
cw_expect "www.web.test: one result per address from DNS" "$CW_TMP/www.json" "
    ([.[].addr] | sort) == $ADDRS and
    all(.[]; .ok == true and .host == \"www.web.test\" and
	(.dns_ms | type) == \"number\" and .body_sha256 == \"$BODY_SHA\")"
cw_check "www.web.test: nginx saw Host www.web.test" \
    [ "$(logged "\"www.web.test:$HP\"")" = "$(jq -s length "$CW_TMP/www.json")" ]
http nxd "http://nx.web.test:$HP/" "${RESOLV[@]}" -4
cw_check "nx.web.test: exit status 1" [ "$rc" = 1 ]
cw_expect "nx.web.test: dns_nxdomain_error, no address" "$CW_TMP/nxd.json" '
    length == 1 and .[0].ok == false and .[0].addr == null and
    .[0].failure == "dns_nxdomain_error" and .[0].status == null'

# --- certificates that do not verify: recorded, and no request sent ---
tls_bad()
{
	local name=$1 port=$2 failure=$3 extra=$4
	http "$name" "https://good.test:$port/?$name" "${TLS[@]}"
	cw_check "$name: exit status 1" [ "$rc" = 1 ]
	cw_expect "$name: $failure, certificates recorded" "$CW_TMP/$name.json" "
	    length == 1 and (.[0] |
		.ok == false and .failure == \"$failure\" and
		.status == null and .tls.verified == false and
		(.tls.verify_error | type) == \"string\" and
		(.tls.certs | length) >= 1 and $extra)"
	cw_check "$name: no request reached nginx" \
	    not_logged "?$name" "$port"
}
tls_bad expired "$NGINX_EXPIRED_PORT" ssl_invalid_certificate '
    (.tls.verify_error | test("expired"; "i")) and
    (.tls.certs[0].not_after | startswith("2020-02-01")) and
    (.tls.certs[0].issuer | contains("corewatch test CA"))'
tls_bad selfsigned "$NGINX_SELFSIGNED_PORT" ssl_unknown_authority '
    (.tls.certs[0].issuer | contains("corewatch self-signed"))'
tls_bad wronghost "$NGINX_WRONGHOST_PORT" ssl_invalid_hostname '
    (.tls.certs[0].subject | contains("other.test"))'
http noca "$GOOD/?noca" --addr 127.0.0.1
cw_expect "good without --cacert: ssl_unknown_authority" "$CW_TMP/noca.json" '
    length == 1 and .[0].failure == "ssl_unknown_authority"'

# --- redirects ---
http redir "$PLAIN/redirect"
cw_check "redirect: exit status 0" [ "$rc" = 0 ]
cw_expect "redirect: 301 reported, not followed" "$CW_TMP/redir.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 301 and (.redirects // 0) == 0 and
	.location == \"$PLAIN/\" and (.location | endswith(\"/\")))"
http redir200 "$PLAIN/redirect" --expect-status 200
cw_check "redirect, 200 expected: exit status 1" [ "$rc" = 1 ]
cw_expect "redirect, 200 expected: http_unexpected_status" \
    "$CW_TMP/redir200.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "http_unexpected_status" and .[0].status == 301'
http follow "$PLAIN/redirect" --follow --expect-status 200
cw_expect "redirect followed: 200 after one redirect" "$CW_TMP/follow.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .redirects == 1 and
	.effective_url == \"$PLAIN/\" and .body_sha256 == \"$BODY_SHA\")"
http follows "$GOOD/redirect" "${TLS[@]}" --follow
cw_expect "https redirect followed, still pinned" "$CW_TMP/follows.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .redirects == 1 and
	.addr == \"127.0.0.1\" and .effective_url == \"$GOOD/\" and
	.tls.verified == true)"
http maxred "$PLAIN/redirect" --follow --max-redirects 0
cw_expect "redirect, none allowed: http_too_many_redirects" \
    "$CW_TMP/maxred.json" '
    length == 1 and .[0].failure == "http_too_many_redirects"'

# --- status codes ---
http s503 "$PLAIN/503"
cw_check "503: exit status 1" [ "$rc" = 1 ]
cw_expect "503: http_unexpected_status" "$CW_TMP/s503.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "http_unexpected_status" and .[0].status == 503 and
    (.[0].body_bytes | . > 0)'
http s503ok "$PLAIN/503" --expect-status 200,5xx
cw_check "503 expected (5xx): exit status 0" [ "$rc" = 0 ]
cw_expect "503 expected (5xx): ok" "$CW_TMP/s503ok.json" '
    length == 1 and .[0].ok == true and .[0].status == 503'

# --- a huge body: read up to --max-body, not a failure ---
HUGE64_SHA=$(head -c 65536 "$NGINX_HUGE_FILE" | sha256sum | cut -d' ' -f1)
HUGE1M_SHA=$(head -c 1048576 "$NGINX_HUGE_FILE" | sha256sum | cut -d' ' -f1)
http huge "$PLAIN/huge" --max-body 64k
cw_check "huge: exit status 0" [ "$rc" = 0 ]
cw_expect "huge, 64k: truncated at 65536 bytes" "$CW_TMP/huge.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .body_truncated == true and
	.body_bytes == 65536 and .body_sha256 == \"$HUGE64_SHA\")"
http huged "$GOOD/huge" "${TLS[@]}"
cw_expect "huge over TLS, default cap: 1 MiB read" "$CW_TMP/huged.json" "
    length == 1 and (.[0] |
	.ok == true and .body_truncated == true and
	.body_bytes == 1048576 and .body_sha256 == \"$HUGE1M_SHA\")"

# --- a slow first byte ---
http slow1 "$PLAIN/slow" --timeout 1
cw_check "slow, 1 s timeout: exit status 1" [ "$rc" = 1 ]
cw_expect "slow, 1 s timeout: generic_timeout_error" "$CW_TMP/slow1.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "generic_timeout_error" and .[0].status == null'
cw_check "slow, 1 s timeout: over within 2 s ($ms ms)" [ "$ms" -lt 2000 ]
http slow5 "$PLAIN/slow" --timeout 5.5
cw_expect "slow, 5.5 s timeout: ok, first byte after ~3 s" \
    "$CW_TMP/slow5.json" '
    length == 1 and .[0].ok == true and .[0].status == 200 and
    .[0].ttfb_ms >= 2900 and .[0].ttfb_ms < 5500'

# --- connections that end badly ---
http reset "http://127.0.0.1:$SLOW_PORT/reset"
cw_expect "reset (the responder's RST): connection_reset" \
    "$CW_TMP/reset.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "connection_reset" and .[0].status == null'
http reset502 "$PLAIN/reset"
cw_expect "reset behind nginx: a 502" "$CW_TMP/reset502.json" '
    length == 1 and .[0].failure == "http_unexpected_status" and
    .[0].status == 502'
http garbage "http://127.0.0.1:$SLOW_PORT/garbage"
cw_expect "garbage instead of HTTP: http_protocol_error" \
    "$CW_TMP/garbage.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "http_protocol_error" and .[0].status == null'
# One header line of 100 MiB (the responder's): the server's fault, not
# the probe's internal_error (libcurl says "out of memory" past its
# limit); given up on after the limit, not after 100 MiB.
for huge in hugeheader hugestatus; do
	http "$huge" "http://127.0.0.1:$SLOW_PORT/$huge"
	cw_expect "$huge (100 MiB line): http_oversized_header" \
	    "$CW_TMP/$huge.json" '
	    length == 1 and .[0].ok == false and
	    .[0].failure == "http_oversized_header" and
	    (.[0].failure_detail | test("longer than 102400 bytes")) and
	    .[0].body_bytes == 0'
done
# TLS spoken to a plain HTTP port: nginx answers the ClientHello with an
# HTTP 400, which is no TLS.  (The URL's host is the address: no --addr,
# which is refused with one, as addresses is in corewatch.conf.)
http notls "https://127.0.0.1:$HP/" --cacert "$NGINX_CA"
cw_expect "https to a plain HTTP port: ssl_failed_handshake" \
    "$CW_TMP/notls.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "ssl_failed_handshake" and .[0].status == null'
http empty "$PLAIN/empty"
cw_expect "empty (nginx 444): eof_error" "$CW_TMP/empty.json" '
    length == 1 and .[0].ok == false and .[0].failure == "eof_error" and
    .[0].status == null'
http emptys "$GOOD/empty" "${TLS[@]}"
cw_expect "empty over TLS: eof_error" "$CW_TMP/emptys.json" '
    length == 1 and .[0].failure == "eof_error" and
    .[0].tls.verified == true'
CLOSED=$(cw_free_port) || cw_die "no free port"
http refused "http://127.0.0.1:$CLOSED/"
cw_check "closed port: exit status 1" [ "$rc" = 1 ]
cw_expect "closed port: connection_refused" "$CW_TMP/refused.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "connection_refused" and .[0].connect_ms == null'

# --- body patterns ---
http pat "$PLAIN/" --pattern 'test pa[g]e'
cw_expect "pattern found: pattern_matched" "$CW_TMP/pat.json" '
    length == 1 and .[0].ok == true and .[0].pattern_matched == true'
http nopat "$PLAIN/" --pattern 'nowhere[0-9]+'
cw_check "pattern not found: exit status 1" [ "$rc" = 1 ]
cw_expect "pattern not found: http_body_mismatch" "$CW_TMP/nopat.json" '
    length == 1 and .[0].ok == false and
    .[0].failure == "http_body_mismatch" and
    .[0].pattern_matched == false and .[0].status == 200'

# --- HEAD, headers ---
http head "$PLAIN/?head" --method HEAD
cw_expect "HEAD: no body" "$CW_TMP/head.json" '
    length == 1 and .[0].ok == true and .[0].method == "HEAD" and
    .[0].status == 200 and .[0].body_bytes == 0'
cw_check "HEAD: nginx saw a HEAD" [ "$(logged '"HEAD /?head HTTP/1.1" 200')" = 1 ]
http hdr "$PLAIN/?hdr" --header "X-CW-Test: corewatch-42"
cw_expect "header: ok" "$CW_TMP/hdr.json" 'length == 1 and .[0].ok == true'
cw_check "header: nginx saw it" [ "$(logged '"corewatch-42"')" = 1 ]

# --- repetitions: cold, a fresh connection each time ---
http count "$PLAIN/?count" --count 6 --in-flight 2
cw_check "count 6: exit status 0" [ "$rc" = 0 ]
cw_expect "count 6: six good results" "$CW_TMP/count.json" '
    length == 6 and all(.[]; .ok == true and .status == 200)'
cw_check "count 6: six requests on six connections" [ "$(grep -F '"GET /?count ' \
    "$NGINX_ACCESS_LOG" | awk '{print $(NF - 1)}' | sort -u | wc -l)" = 6 ]

# --- HTTP/2: the same server with http2 on (ALPN h2) ---
H2P=$NGINX_H2_PORT
H2="https://good.test:$H2P"
# h2log TEXT: the access log lines of the HTTP/2 server holding TEXT.
h2log()
{
	grep -F -- "$1" "$NGINX_ACCESS_LOG" | grep "^$H2P "
}
http h2 "$H2/?h2" "${TLS[@]}"
cw_check "h2: exit status 0" [ "$rc" = 0 ]
cw_expect "h2: the contract's keys" "$CW_TMP/h2.json" "$SHAPE"
cw_expect "h2: HTTP/2, verified, the body as over HTTP/1.1" "$CW_TMP/h2.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .http_version == \"2\" and
	.host == \"good.test\" and .port == $H2P and
	.addr == \"127.0.0.1\" and .af == 4 and
	.tls.verified == true and .tls.verify_error == null and
	(.tls.certs[0].subject | contains(\"good.test\")) and
	(.tls_ms | type) == \"number\" and (.ttfb_ms | type) == \"number\" and
	.body_sha256 == \"$BODY_SHA\" and .body_bytes == $BODY_LEN and
	.body_truncated == false and (.header_bytes | . > 0))"
cw_expect "h2 and HTTP/1.1: the same body_sha256" "$CW_TMP/h2.json" "
    .[0].body_sha256 == $(jq -s '.[0].body_sha256' "$CW_TMP/good.json")"
cw_check "h2: nginx saw one HTTP/2 GET with SNI and :authority good.test" \
    [ "$(h2log "\"GET /?h2 HTTP/2.0\" 200 $BODY_LEN \"TLSv1.3\" \"good.test\" \"good.test:$H2P\"" |
    wc -l)" = 1 ]

http h2s503 "$H2/503" "${TLS[@]}"
cw_check "h2 503: exit status 1" [ "$rc" = 1 ]
cw_expect "h2 503: http_unexpected_status" "$CW_TMP/h2s503.json" '
    length == 1 and (.[0] |
	.ok == false and .failure == "http_unexpected_status" and
	.status == 503 and .http_version == "2" and .body_bytes > 0)'
cw_check "h2 503: nginx saw it over HTTP/2" \
    [ "$(h2log '"GET /503 HTTP/2.0" 503' | wc -l)" = 1 ]

http h2huge "$H2/huge" "${TLS[@]}" --max-body 64k
cw_check "h2 huge: exit status 0" [ "$rc" = 0 ]
cw_expect "h2 huge, 64k: truncated at 65536 bytes, the stream left cleanly" \
    "$CW_TMP/h2huge.json" "
    length == 1 and (.[0] |
	.ok == true and .failure == null and .status == 200 and
	.http_version == \"2\" and .body_truncated == true and
	.body_bytes == 65536 and .body_sha256 == \"$HUGE64_SHA\")"
cw_check "h2 huge: nginx stopped well before the 50 MiB" \
    [ "$(h2log '"GET /huge HTTP/2.0" 200' | awk '{ print $7 }')" -lt 52428800 ]

http h2redir "$H2/redirect" "${TLS[@]}"
cw_check "h2 redirect: exit status 0" [ "$rc" = 0 ]
cw_expect "h2 redirect: 301 and its location, not followed" \
    "$CW_TMP/h2redir.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 301 and .http_version == \"2\" and
	(.redirects // 0) == 0 and .location == \"$H2/\")"
http h2follow "$H2/redirect" "${TLS[@]}" --follow --expect-status 200
cw_expect "h2 redirect followed: 200 over HTTP/2" "$CW_TMP/h2follow.json" "
    length == 1 and (.[0] |
	.ok == true and .status == 200 and .redirects == 1 and
	.http_version == \"2\" and .effective_url == \"$H2/\" and
	.body_sha256 == \"$BODY_SHA\")"

# Cold over HTTP/2 too: five at once must not share a connection as
# five streams.
http h2count "$H2/?h2count" "${TLS[@]}" --count 5 --in-flight 5
cw_check "h2 count 5: exit status 0" [ "$rc" = 0 ]
cw_expect "h2 count 5: five good HTTP/2 results" "$CW_TMP/h2count.json" '
    length == 5 and
    all(.[]; .ok == true and .status == 200 and .http_version == "2" and
	.tls.verified == true and (.tls_ms | type) == "number")'
cw_check "h2 count 5: five HTTP/2 requests" \
    [ "$(h2log '"GET /?h2count HTTP/2.0" 200' | wc -l)" = 5 ]
cw_check "h2 count 5: on five connections" [ "$(h2log '"GET /?h2count ' |
    awk '{ print $(NF - 1) }' | sort -u | wc -l)" = 5 ]

# --- exit status 1 when some, not all, failed ---
if [ "$CW_HAVE_V6" = 1 ]; then
	# The responder listens on 127.0.0.1 only: ::1 refuses.
	http some "http://localhost:$SLOW_PORT/nothing" --expect-status 404
	cw_check "some failed: exit status 1" [ "$rc" = 1 ]
	cw_expect "some failed: 127.0.0.1 ok, ::1 refused" "$CW_TMP/some.json" '
	    length == 2 and
	    ([.[] | select(.addr == "127.0.0.1")][0] | .ok == true and .status == 404) and
	    ([.[] | select(.addr == "::1")][0].failure == "connection_refused")'
fi

# --- usage errors: exit status 2, a message, nothing measured ---
before=$(wc -l <"$NGINX_ACCESS_LOG")
usage()
{
	local desc=$1
	shift
	http usage "$@"
	cw_check "usage: $desc: exit status 2" [ "$rc" = 2 ]
	cw_check "usage: $desc: a message on stderr" [ -s "$CW_TMP/usage.err" ]
	cw_check "usage: $desc: no results" [ ! -s "$CW_TMP/usage.json" ]
}
usage "no URL"
usage "ftp URL" "ftp://127.0.0.1:$HP/"
usage "credentials in the URL" "http://user:secret@127.0.0.1:$HP/"
usage "bad --expect-status" --expect-status 99x "$PLAIN/"
usage "--expect-status out of range" --expect-status 700 "$PLAIN/"
usage "bad --pattern" --pattern "(" "$PLAIN/"
usage "header with CR LF" --header $'X-A: b\r\nX-B: c' "$PLAIN/"
usage "header without a colon" --header "X-A" "$PLAIN/"
usage "--addr not an address" --addr not-an-address "$PLAIN/"
usage "bad --method" --method POST "$PLAIN/"
usage "bad --timeout" --timeout soon "$PLAIN/"
usage "bad --max-body" --max-body lots "$PLAIN/"
usage "two URLs" "$PLAIN/" "$PLAIN/"
usage "--pattern with HEAD" --method HEAD --pattern x "$PLAIN/"
usage "--max-redirects without --follow" --max-redirects 2 "$PLAIN/"
usage "--cacert missing" --cacert "$CW_TMP/no-such-ca.pem" "$PLAIN/"
usage "a literal IPv4 URL with -6" -6 "$PLAIN/"
# The rules of corewatch.conf's addresses.
usage "--addr with a literal URL" --addr 127.0.0.1 "$PLAIN/"
usage "--addr twice" --addr 127.0.0.1 --addr 127.0.0.1 "$GOOD/"
usage "--addr of a family not asked for" -6 --addr 127.0.0.1 "$GOOD/"
usage "--timeout above 1h" --timeout 2h "$PLAIN/"
usage "--name not a measurement's name" --name "my site" "$PLAIN/"
cw_check "usage: nothing reached nginx" \
    [ "$(wc -l <"$NGINX_ACCESS_LOG")" = "$before" ]

cw_done
