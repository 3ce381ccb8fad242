#!/bin/bash
# dns_faults.sh -- `corewatch dns` against our own misbehaving responder
# (tests/fault/dnsfault.py) on loopback: every fault mode must end in the
# documented failure name, with the reply fields, raw bytes, attempts,
# truncation and late-reply evidence the results document promises, and
# the exit status 0/1/2.  The impostors (a transparent proxy, NODATA for
# the apex, HTTP or TLS on TCP) must raise their anomalies, with the
# evidence, and honest answers and plain DNS failures none.  Usage errors must exit 2 with a message.
# Every packet goes to 127.0.0.1 or ::1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir

ADDRS=127.0.0.1
V6=()
NADDR=1
if [ "$CW_HAVE_V6" = 1 ]; then
	ADDRS=127.0.0.1,::1
	V6=(v6=::1)
	NADDR=2
fi

# fault_start MODE [ARGS...]: start the responder (cw_fault_start) on
# the test's addresses; sets FPORT, FPID and FLOG (its query log).
fault_start()
{
	local mode=$1
	shift
	FLOG="$CW_TMP/fault-$mode.log"
	: >"$FLOG"
	cw_fault_start "$mode" "$FLOG" --addrs "$ADDRS" "$@"
	FPORT=$FAULT_PORT FPID=$FAULT_PID
}

fault_stop()
{
	kill -TERM "$FPID" 2>/dev/null
	wait "$FPID" 2>/dev/null
}

# q NAME ARGS...: run `corewatch dns --port $FPORT ARGS...` with a time
# bound; output in $CW_TMP/NAME.json and NAME.err, status in $rc, and
# OUT set to the JSON file.
q()
{
	local name=$1
	shift
	OUT="$CW_TMP/$name.json"
	timeout 60 "$COREWATCH" dns --port "$FPORT" "$@" >"$OUT" \
	    2>"$CW_TMP/$name.err"
	rc=$?
}

# expect_rc NAME WANT
expect_rc()
{
	cw_check "$1: exit $2 (got $rc)" [ "$rc" = "$2" ]
}

# queries PROTO: how many queries of PROTO the responder logged.
queries()
{
	grep -c "^$1 " "$FLOG"
}

# once_table NAME LINES...: `corewatch once --table` of one measurement
# "NAME" of the responder on 127.0.0.1 with LINES in its section; the
# table in $CW_TMP/NAME.table, status in $rc.
once_table()
{
	local name=$1
	shift
	printf '%s\n' 'probe { name = "faults" }' "dns \"$name\" {" \
	    '	servers = {"127.0.0.1"}' "	port = $FPORT" \
	    '	transport = "udp"' "$@" '}' >"$CW_TMP/$name.conf"
	timeout 60 "$COREWATCH" once -c "$CW_TMP/$name.conf" --table \
	    -o "$CW_TMP/$name.jsonl" >"$CW_TMP/$name.table" \
	    2>"$CW_TMP/$name.table.err"
	rc=$?
}

# --- normal: every field of a good answer ---
fault_start normal
q normal --udp --tcp --nsid 127.0.0.1 "${V6[@]}"
expect_rc normal 0
cw_expect "normal: one line per address and transport" "$OUT" \
    "length == $((2 * NADDR))"
cw_expect "normal: ok, NOERROR, SOA serial, NSID" "$OUT" \
    'all(.[]; .type == "dns" and .ok == true and .failure == null and
     .rcode == "NOERROR" and .soa_serial == 2024010101 and
     .nsid == "dnsfault" and .nsid_hex == "646e736661756c74" and
     .attempts == 1 and (.abuf | type) == "string" and .size > 12 and
     .flags.qr and .flags.aa and .counts.an == 1 and .truncated == false
     and .query.qname == "." and .query.qtype == "SOA" and
     .query.qclass == "IN" and .query.nsid == true and
     .query.edns_size == 1232 and .port == '"$FPORT"' and
     (.rtt_ms | type) == "number" and
     (.time | test("^[0-9-]{10}T[0-9:]{8}\\.[0-9]{6}Z$")))'
cw_expect "normal: UDP has ip_ttl, no connect_ms, late_replies 0" "$OUT" \
    'map(select(.proto == "udp")) | length > 0 and
     all(.[]; (.ip_ttl | type) == "number" and (has("connect_ms") | not)
     and .proto_requested == "udp" and .late_replies.count == 0 and
     .late_replies.differ == false)'
cw_expect "normal: TCP has connect_ms, ip_ttl null" "$OUT" \
    'map(select(.proto == "tcp")) | length > 0 and
     all(.[]; .ip_ttl == null and (.connect_ms | type) == "number" and
     .late_replies.count == 0)'
if [ "$CW_HAVE_V6" = 1 ]; then
	cw_expect "normal: ::1 carries its server name and af 6" "$OUT" \
	    'map(select(.af == 6)) | length == 2 and
	     all(.[]; .server == "v6" and .addr == "::1")'
fi
cw_check "normal: one query per measurement" \
    [ "$(($(queries udp) + $(queries tcp)))" = $((2 * NADDR)) ]
q chaos --chaos hostname.bind 127.0.0.1
expect_rc chaos 0
cw_expect "chaos: CH TXT answer as txt" "$OUT" \
    '.[0].txt == ["dnsfault"] and .[0].query.qclass == "CH" and
     .[0].query.qtype == "TXT" and .[0].query.qname == "hostname.bind."'
q noedns --edns-size 0 --tcp 127.0.0.1
expect_rc noedns 0
cw_expect "no EDNS: no OPT asked, none returned" "$OUT" \
    '.[0].query.edns_size == 0 and .[0].counts.ar == 0 and
     (.[0] | has("nsid") | not)'
fault_stop

# --- silent: timeouts and retries ---
fault_start silent
q silent --timeout 0.3 --retries 2 127.0.0.1
expect_rc silent 1
cw_expect "silent: timeout after 3 attempts, no reply fields" "$OUT" \
    '.[0].failure == "generic_timeout_error" and .[0].ok == false and
     .[0].attempts == 3 and .[0].rtt_ms == null and
     (.[0] | has("abuf") or has("rcode") | not) and
     (.[0].failure_detail | test("no reply"))'
cw_check "silent: three queries on the wire" [ "$(queries udp)" = 3 ]
cw_check "silent: each query with its own ID" \
    [ "$(cut -d' ' -f2 "$FLOG" | sort -u | wc -l)" = 3 ]
q silent-tcp --tcp --timeout 0.3 127.0.0.1
expect_rc silent-tcp 1
cw_expect "silent TCP: timeout once connected" "$OUT" \
    '.[0].failure == "generic_timeout_error" and .[0].proto == "tcp" and
     (.[0].connect_ms | type) == "number" and .[0].attempts == 1'
fault_stop

# --- slow: the RTT is at least the delay ---
fault_start slow --delay-ms 300
q slow --udp --tcp --timeout 3 127.0.0.1
expect_rc slow 0
cw_expect "slow: ok with rtt_ms >= 300" "$OUT" \
    'length == 2 and all(.[]; .ok and .rtt_ms >= 300 and .rtt_ms < 3000)'
q slow-timeout --timeout 0.1 127.0.0.1
expect_rc slow-timeout 1
cw_expect "slow: a 100 ms timeout times out" "$OUT" \
    '.[0].failure == "generic_timeout_error"'
fault_stop

# --- answers that must not be accepted ---
fault_start wrong-id
q wrong-id --udp --tcp --timeout 0.5 127.0.0.1
expect_rc wrong-id 1
cw_expect "wrong-id: dns_bad_id with the bytes" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_bad_id" and
     (.abuf | type) == "string" and .rtt_ms == null and
     (.failure_detail | test("reply ID [0-9]+, query ID [0-9]+")))'
cw_expect "wrong-id: UDP counts the rejected datagram" "$OUT" \
    'map(select(.proto == "udp"))[0].rejected == 1'
fault_stop

fault_start wrong-question
q wrong-question --udp --tcp --timeout 0.5 127.0.0.1
expect_rc wrong-question 1
cw_expect "wrong-question: dns_bad_question naming both" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_bad_question" and
     (.abuf | type) == "string" and
     (.failure_detail | test("wrong\\.example\\.")))'
fault_stop

GARBAGE_B64=$(printf '\336\255\276\357%.0s' 1 2 3 4 5 6 7 8 9 10 |
    base64 -w0)
fault_start garbage
q garbage --udp --tcp --timeout 0.5 127.0.0.1
expect_rc garbage 1
cw_expect "garbage: dns_malformed_response with the exact bytes" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_malformed_response" and
     .abuf == "'"$GARBAGE_B64"'")'
fault_stop

fault_start short
q short --udp --tcp --timeout 0.5 127.0.0.1
expect_rc short 1
cw_expect "short: malformed, 6 bytes kept" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_malformed_response") and
     (map(select(.proto == "udp"))[0] | .abuf | length) == 8 and
     map(select(.proto == "udp"))[0].failure_detail ==
     "6 bytes, shorter than a DNS header" and
     (map(select(.proto == "tcp"))[0].failure_detail |
     test("announced length 6"))'
fault_stop

fault_start lying-header
q lying --udp --tcp --timeout 0.5 127.0.0.1
expect_rc lying 1
cw_expect "lying-header: malformed with the bytes" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_malformed_response" and
     (.abuf | type) == "string" and
     (.failure_detail | test("cannot parse")))'
fault_stop

# --- truncation ---
fault_start truncated
q truncated --nsid 127.0.0.1 "${V6[@]}"
expect_rc truncated 0
cw_expect "truncated: one result per address, answered over TCP" "$OUT" \
    "length == $NADDR"' and all(.[]; .ok and .proto == "tcp" and
     .proto_requested == "udp" and .truncated == true and
     .attempts == 2 and .soa_serial == 2024010101 and
     .flags.tc == false and .ip_ttl == null and
     (.connect_ms | type) == "number" and
     (.truncated_reply.rtt_ms | type) == "number" and
     .truncated_reply.size > 12 and
     (.truncated_reply.abuf | type) == "string" and
     .truncated_reply.abuf != .abuf)'
cw_check "truncated: one UDP query per address" \
    [ "$(queries udp)" = "$NADDR" ]
cw_check "truncated: one TCP query per address" \
    [ "$(queries tcp)" = "$NADDR" ]
once_table trunc-table
cw_check "truncated, once table: exit 0" [ "$rc" = 0 ]
cw_check "truncated, once table: the answer came over TCP, after TC" \
    grep -Eq '^trunc-table .* tcp/v4 after TC +ok ' "$CW_TMP/trunc-table.table" ||
    cat "$CW_TMP/trunc-table.table" >&2
q truncated-nofb --no-tcp-fallback 127.0.0.1
expect_rc truncated-nofb 1
cw_expect "truncated without fallback: dns_truncated, reply kept" "$OUT" \
    '.[0].failure == "dns_truncated" and .[0].proto == "udp" and
     .[0].truncated == true and .[0].flags.tc == true and
     .[0].rcode == "NOERROR" and (.[0].abuf | type) == "string" and
     (.[0] | has("truncated_reply") | not) and .[0].attempts == 1'
fault_stop

# --- late replies: a different second answer is a sign of injection ---
fault_start double
q double --late-window 300ms 127.0.0.1
expect_rc double 0
cw_expect "double: one late reply that differs, kept" "$OUT" \
    '.[0].ok and .[0].late_replies.count == 1 and
     .[0].late_replies.differ == true and
     (.[0].late_replies.abuf | type) == "string" and
     .[0].late_replies.abuf != .[0].abuf'
once_table double-table '	late_window = 300ms'
cw_check "double, once table: exit 0" [ "$rc" = 0 ]
cw_check "double, once table: the differing late reply is a finding" \
    grep -Eq '^double-table .* udp/v4 +ok, late reply differs ' \
    "$CW_TMP/double-table.table" || cat "$CW_TMP/double-table.table" >&2
cw_check "double, once table: the summary counts it" \
    grep -q '^1 of 1 ok (1 with a late reply that differs' \
    "$CW_TMP/double-table.table"
q double-nowindow --late-window 0 127.0.0.1
expect_rc double-nowindow 0
cw_expect "double: no late window, nothing counted" "$OUT" \
    '.[0].ok and .[0].late_replies.count == 0'
fault_stop

fault_start dup
q dup --late-window 300ms 127.0.0.1
expect_rc dup 0
cw_expect "dup: one late reply, identical" "$OUT" \
    '.[0].late_replies.count == 1 and .[0].late_replies.differ == false
     and (.[0].late_replies | has("abuf") | not)'
once_table dup-table '	late_window = 300ms'
cw_check "dup, once table: exit 0" [ "$rc" = 0 ]
cw_check "dup, once table: an identical late reply is plain ok" \
    grep -Eq '^dup-table .* udp/v4 +ok +[0-9.]+ ' "$CW_TMP/dup-table.table" ||
    cat "$CW_TMP/dup-table.table" >&2
fault_stop

# --- rcodes: failures with the reply fields present ---
for pair in servfail:SERVFAIL:dns_servfail_error \
    nxdomain:NXDOMAIN:dns_nxdomain_error \
    rcode-refused:REFUSED:dns_refused_error; do
	IFS=: read -r mode rcode failure <<<"$pair"
	fault_start "$mode"
	q "$mode" --udp --tcp 127.0.0.1
	expect_rc "$mode" 1
	cw_expect "$mode: $failure with rcode $rcode" "$OUT" \
	    'length == 2 and all(.[]; .failure == "'"$failure"'" and
	     .rcode == "'"$rcode"'" and (.abuf | type) == "string" and
	     (.rtt_ms | type) == "number" and .flags.qr)'
	fault_stop
done

# --- TCP framing faults ---
fault_start tcp-oversize
q tcp-oversize --udp --tcp 127.0.0.1
expect_rc tcp-oversize 1
cw_expect "tcp-oversize: dns_oversized_response, reply kept; UDP ok" \
    "$OUT" 'map(select(.proto == "tcp"))[0] |
     .failure == "dns_oversized_response" and .rcode == "NOERROR" and
     .soa_serial == 2024010101'
cw_expect "tcp-oversize: UDP unaffected" "$OUT" \
    'map(select(.proto == "udp"))[0].ok'
fault_stop

fault_start tcp-short
q tcp-short --tcp 127.0.0.1
expect_rc tcp-short 1
cw_expect "tcp-short: eof_error with the partial bytes" "$OUT" \
    '.[0].failure == "eof_error" and (.[0].abuf | type) == "string" and
     (.[0].failure_detail | test("closed after [0-9]+ of [0-9]+ bytes"))'
fault_stop

fault_start tcp-close
q tcp-close --tcp 127.0.0.1
expect_rc tcp-close 1
cw_expect "tcp-close: eof_error before any byte" "$OUT" \
    '.[0].failure == "eof_error" and (.[0] | has("abuf") | not) and
     (.[0].failure_detail | test("0 of 2 length bytes"))'
fault_stop

fault_start tcp-reset
q tcp-reset --tcp 127.0.0.1
expect_rc tcp-reset 1
cw_expect "tcp-reset: connection_reset" "$OUT" \
    '.[0].failure == "connection_reset"'
fault_stop

fault_start tcp-tiny
q tcp-tiny --tcp 127.0.0.1
expect_rc tcp-tiny 1
cw_expect "tcp-tiny: a 5-byte length is malformed" "$OUT" \
    '.[0].failure == "dns_malformed_response" and
     (.[0].failure_detail | test("announced length 5"))'
fault_stop

fault_start tcp-silent
q tcp-silent --udp --tcp --timeout 0.3 127.0.0.1
expect_rc tcp-silent 1
cw_expect "tcp-silent: TCP times out, UDP ok" "$OUT" \
    '(map(select(.proto == "tcp"))[0].failure == "generic_timeout_error")
     and map(select(.proto == "udp"))[0].ok'
fault_stop

fault_start tcp-dribble
q tcp-dribble --tcp --nsid 127.0.0.1
expect_rc tcp-dribble 0
cw_expect "tcp-dribble: a reply in one-byte segments is read whole" \
    "$OUT" '.[0].ok and .[0].soa_serial == 2024010101 and
     .[0].nsid == "dnsfault" and .[0].rtt_ms >= 2 * .[0].size'
fault_stop

# --- anomalies: the signs of an impostor, and no false alarm ---
# names NAMES: every result's anomaly names are exactly NAMES (a jq
# array).
names()
{
	printf 'all(.[]; [.anomalies[].name] == %s)' "$1"
}
fault_start proxy
q proxy --authoritative --udp --tcp 127.0.0.1
expect_rc proxy 1
cw_expect "proxy: the failure is still the rcode's" "$OUT" \
    'length == 2 and all(.[]; .failure == "dns_nxdomain_error" and
     .flags.ra and (.flags.aa | not))'
cw_expect "proxy: not_authoritative, recursion_offered, impossible_answer" \
    "$OUT" "$(names '["not_authoritative", "recursion_offered",
     "impossible_answer"]')"
cw_expect "proxy: the evidence of each" "$OUT" \
    'all(.[]; .anomalies[0].evidence == {"aa": false, "rcode": "NXDOMAIN"}
     and .anomalies[1].evidence == {"ra": true} and
     .anomalies[2].evidence == {"rcode": "NXDOMAIN", "answer_count": 0})'
q proxy-resolver --udp --tcp 127.0.0.1
expect_rc proxy-resolver 1
cw_expect "proxy: no sign unless the server is the zone's" "$OUT" \
    'length == 2 and all(.[]; .anomalies == [])'
once_table proxy-table '	authoritative = true'
cw_check "proxy, once: exit 1" [ "$rc" = 1 ]
cw_expect "proxy, once: authoritative = true checks the signs" \
    "$CW_TMP/proxy-table.jsonl" "map(select(.type == \"dns\")) |
    length == 1 and $(names \
    '["not_authoritative", "recursion_offered", "impossible_answer"]')"
fault_stop

fault_start nodata
q nodata --authoritative --udp --tcp 127.0.0.1
expect_rc nodata 0
cw_expect "nodata: NODATA for the apex SOA is impossible_answer alone" \
    "$OUT" 'length == 2 and all(.[]; .ok and .counts.an == 0 and
     .anomalies == [{"name": "impossible_answer", "evidence":
     {"rcode": "NOERROR", "answer_count": 0}}])'
q nodata-ns --authoritative --qtype NS --udp 127.0.0.1
expect_rc nodata-ns 0
cw_expect "nodata: an empty answer to another type is no sign" "$OUT" \
    'length == 1 and .[0].counts.an == 0 and .[0].anomalies == []'
fault_stop

fault_start normal
q honest --authoritative --udp --tcp --nsid 127.0.0.1 "${V6[@]}"
expect_rc honest 0
cw_expect "honest: an authoritative answer raises nothing" "$OUT" \
    "length == $((2 * NADDR))"' and all(.[]; .ok and .anomalies == [])'
fault_stop

fault_start tcp-http
q tcp-http --udp --tcp 127.0.0.1
expect_rc tcp-http 1
cw_expect "tcp-http: the failure as before, non_dns_on_tcp added" "$OUT" \
    'map(select(.proto == "tcp"))[0] | .failure == "eof_error" and
     .anomalies == [{"name": "non_dns_on_tcp", "evidence":
     {"looks_like": "http",
      "first_bytes": "485454502f312e312034303020426164"}}]'
cw_expect "tcp-http: UDP answered, no sign" "$OUT" \
    'map(select(.proto == "udp"))[0] | .ok and .anomalies == []'
fault_stop

fault_start tcp-tls
q tcp-tls --tcp 127.0.0.1
expect_rc tcp-tls 1
cw_expect "tcp-tls: a TLS alert is non_dns_on_tcp, looks like tls" "$OUT" \
    '.[0].failure == "eof_error" and .[0].anomalies == [{"name":
     "non_dns_on_tcp", "evidence": {"looks_like": "tls",
     "first_bytes": "15030300020232"}}]'
fault_stop

fault_start tcp-tiny
q tcp-tiny-sign --tcp 127.0.0.1
# (The probe stops at the length: only those two bytes were read.)
cw_expect "tcp-tiny: a length shorter than a header looks like other" \
    "$OUT" '.[0].failure == "dns_malformed_response" and
     ([.[0].anomalies[].name] == ["non_dns_on_tcp"]) and
     .[0].anomalies[0].evidence.looks_like == "other" and
     .[0].anomalies[0].evidence.first_bytes == "0005"'
fault_stop

# DNS that fails is not a sign of something else on the port.
for mode in tcp-short tcp-close wrong-id; do
	fault_start "$mode"
	q "$mode-sign" --tcp --timeout 0.5 127.0.0.1
	cw_expect "$mode: a failure, and no anomaly" "$OUT" \
	    '.[0].ok == false and .[0].anomalies == []'
	fault_stop
done

fault_start double
q double-sign --late-window 300ms 127.0.0.1
cw_expect "double: late_reply_differs under the same roof" "$OUT" \
    '.[0].late_replies.differ and .[0].anomalies == [{"name":
     "late_reply_differs", "evidence": {"count": 1}}]'
fault_stop
fault_start dup
q dup-sign --late-window 300ms 127.0.0.1
cw_expect "dup: an identical late reply is no sign" "$OUT" \
    '.[0].late_replies.count == 1 and .[0].anomalies == []'
fault_stop

# --- nobody listening: ICMP port unreachable / RST ---
fault_start refused
q refused --udp --tcp --timeout 2 127.0.0.1 "${V6[@]}"
expect_rc refused 1
cw_expect "refused: connection_refused over UDP and TCP" "$OUT" \
    "length == $((2 * NADDR))"' and all(.[]; .failure ==
     "connection_refused" and .attempts == 1 and .rtt_ms == null and
     (.failure_detail | test("refused")))'
fault_stop

# --- usage errors: exit 2, the one line that says what is wrong, nothing
# measured ---
# usage_case DESC MESSAGE ARGS...: `corewatch dns ARGS...` exits 2, its
# stderr is exactly "corewatch dns: MESSAGE" and its stdout is empty.
usage_case()
{
	local desc=$1 want="corewatch dns: $2" got
	shift 2
	OUT="$CW_TMP/usage.json"
	timeout 20 "$COREWATCH" dns "$@" >"$OUT" 2>"$CW_TMP/usage.err"
	rc=$?
	got=$(cat "$CW_TMP/usage.err")
	cw_check "usage: $desc: exit 2 (got $rc)" [ "$rc" = 2 ]
	cw_check "usage: $desc: says why" [ "$got" = "$want" ] ||
	    { cw_log "  want: $want"; cw_log "  got:  $got"; }
	cw_check "usage: $desc: nothing on stdout" [ ! -s "$OUT" ]
}
QTYPES='(e.g. SOA, NS, A, AAAA, TXT, TYPE65)'
usage_case "bad qtype" \
    "--qtype: unknown or unsupported type \"BOGUS\" $QTYPES" \
    --qtype BOGUS 127.0.0.1
usage_case "AXFR" "--qtype: unknown or unsupported type \"AXFR\" $QTYPES" \
    --qtype AXFR 127.0.0.1
usage_case "bad qclass" \
    '--qclass: unknown class "XX" (IN, CH, HS, CLASS3 ...)' \
    --qclass XX 127.0.0.1
usage_case "port 0" '--port: "0" is not a number from 1 to 65535' \
    --port 0 127.0.0.1
usage_case "port 70000" '--port: "70000" is not a number from 1 to 65535' \
    --port 70000 127.0.0.1
usage_case "port not a number" \
    '--port: "5x" is not a number from 1 to 65535' --port 5x 127.0.0.1
TIMEOUTS='from 0.001 s to 3600 s (e.g. 4, 1.5s, 800ms)'
usage_case "negative timeout" \
    "--timeout: \"-1\" is not a duration $TIMEOUTS" --timeout -1 127.0.0.1
usage_case "zero timeout" \
    "--timeout: \"0\" is not a duration $TIMEOUTS" --timeout 0 127.0.0.1
usage_case "timeout not a duration" \
    "--timeout: \"soon\" is not a duration $TIMEOUTS" --timeout soon 127.0.0.1
usage_case "huge edns size" \
    '--edns-size: "70000" is not a number from 0 to 65535' \
    --edns-size 70000 127.0.0.1
usage_case "negative edns size" \
    '--edns-size: "-1" is not a number from 0 to 65535' \
    --edns-size -1 127.0.0.1
# The configuration's range (dns_spec_check decides it for both).
usage_case "edns size below 512" \
    '--edns-size: 511 is below 512 (0 turns EDNS off)' \
    --edns-size 511 127.0.0.1
usage_case "negative retries" '--retries: "-1" is not a number from 0 to 10' \
    --retries -1 127.0.0.1
usage_case "too many retries" \
    '--retries: "1000" is not a number from 0 to 10' --retries 1000 127.0.0.1
usage_case "huge late window" "--late-window: \"2h\" is not a duration \
from 0 s to 60 s (e.g. 4, 1.5s, 800ms)" --late-window 2h 127.0.0.1
usage_case "bad qname" '--qname: "a..b" is not a valid domain name' \
    --qname 'a..b' 127.0.0.1
usage_case "chaos with qname" "--chaos sets the whole question; do not \
combine it with --qname, --qtype or --qclass" \
    --chaos hostname.bind --qname x 127.0.0.1
usage_case "nsid without EDNS" \
    '--nsid and --do need EDNS: do not give --edns-size 0 with them' \
    --edns-size 0 --nsid 127.0.0.1
usage_case "bad server" \
    'bad server: "not-an-address" is not a numeric IPv4 or IPv6 address' \
    not-an-address
usage_case "bad server name" \
    'bad server: bad server name in "bad name=127.0.0.1"' \
    'bad name=127.0.0.1'
usage_case "no servers" 'no servers given (try --help)'
# As in corewatch.conf's servers: each address once.
usage_case "a server twice" 'bad server: 127.0.0.1 is listed twice' \
    127.0.0.1 x=127.0.0.1
usage_case "a root server twice" 'bad server: 198.41.0.4 is listed twice' \
    @root 198.41.0.4
usage_case "unknown option" 'unknown option --bogus (try --help)' \
    --bogus 127.0.0.1
usage_case "unknown short option" 'unknown option -x (try --help)' \
    -x 127.0.0.1
usage_case "missing option value" '--port needs a value (try --help)' \
    127.0.0.1 --port
usage_case "-6 with IPv4 servers only" \
    'no server of the address family asked for (-4/-6)' -6 127.0.0.1
timeout 20 "$COREWATCH" dns --help >"$CW_TMP/help.out" 2>"$CW_TMP/help.err"
rc=$?
cw_check "--help: exit 0" [ "$rc" = 0 ]
cw_check "--help: the usage line first, on stdout" \
    [ "$(head -n 1 "$CW_TMP/help.out")" = \
    "usage: corewatch dns [options] SERVER..." ]
cw_check "--help: the exit statuses, as documented" \
    grep -qx 'Exit status: 0 every result ok, 1 some failed, 2 usage error.' \
    "$CW_TMP/help.out"
cw_check "--help: nothing on stderr" [ ! -s "$CW_TMP/help.err" ]

cw_done
