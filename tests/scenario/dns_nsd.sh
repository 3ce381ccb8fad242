#!/bin/bash
# dns_nsd.sh -- `corewatch dns` against a real NSD on loopback: the
# values in the results must be the ones in the test zones and NSD's
# configuration (serials, NSID, identity, rcodes, truncation).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT NSID=$NSD_NSID IDENTITY=$NSD_IDENTITY
TIMEOUT_MS=4000

SERVERS=(127.0.0.1)
[ "$CW_HAVE_V6" = 1 ] && SERVERS+=(::1)
NADDR=${#SERVERS[@]}

# dns NAME ARGS...: run `corewatch dns --port PORT ARGS...`; the results
# go to $CW_TMP/NAME.json, stderr to NAME.err, the exit status to
# $rc.  Bounded by timeout(1).
dns()
{
	local name=$1
	shift
	timeout 120 "$COREWATCH" dns --port "$PORT" "$@" \
	    >"$CW_TMP/$name.json" 2>"$CW_TMP/$name.err"
	rc=$?
	if [ "$rc" -gt 1 ]; then
		cw_log "corewatch dns $* exited $rc; stderr:"
		cat "$CW_TMP/$name.err" >&2
	fi
}

# lines_are_objects FILE: each line of FILE, read by itself, is one JSON
# object: a result printed across lines, two on one line or an empty
# line make jq fail.
lines_are_objects()
{
	jq -e -R -s 'rtrimstr("\n") | split("\n") |
	    all(.[]; fromjson | type == "object")' "$1" >/dev/null
}

# abuf_ok FILE: every abuf decodes to exactly `size` bytes, and parses as
# a DNS message with the query's ID (checked with dnspython).
abuf_ok()
{
	/usr/bin/python3 - "$1" <<'EOF'
import base64, json, sys
import dns.message
bad = 0
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        wire = base64.b64decode(r["abuf"], validate=True)
        if len(wire) != r["size"]:
            print("abuf has", len(wire), "bytes, size says", r["size"])
            bad += 1
            continue
        m = dns.message.from_wire(wire, ignore_trailing=False)
        if m.id != r["query"]["id"]:
            print("abuf id", m.id, "query id", r["query"]["id"])
            bad += 1
sys.exit(1 if bad else 0)
EOF
}

# --- SOA of "." over UDP and TCP, IPv4 and IPv6 (the RSSAC047 query) ---
# (--authoritative: NSD serves the test root zone, as a root server does.)
dns soa --qname . --qtype SOA --udp --tcp --nsid --timeout 4s \
    --authoritative "${SERVERS[@]}"
cw_check "soa: exit status 0" [ "$rc" = 0 ]
cw_expect "soa: one result per address and transport" "$CW_TMP/soa.json" \
    "length == $NADDR * 2 and
     ([.[] | [.addr, .proto]] | unique | length) == $NADDR * 2"
cw_expect "soa: all ok, NOERROR, aa" "$CW_TMP/soa.json" '
    all(.[]; .type == "dns" and .ok == true and .failure == null and
        .rcode == "NOERROR" and .flags.qr and .flags.aa and
        (.flags.tc | not))'
cw_expect "soa: serial of the test root zone" "$CW_TMP/soa.json" \
    "all(.[]; .soa_serial == $CW_SERIAL_ROOT)"
NSID_HEX=$(printf %s "$NSID" | od -An -tx1 | tr -d ' \n')
cw_expect "soa: NSID as configured" "$CW_TMP/soa.json" \
    "all(.[]; .nsid == \"$NSID\" and .nsid_hex == \"$NSID_HEX\")"
cw_expect "soa: counts (1 SOA, 3 NS, 5 glue + OPT)" "$CW_TMP/soa.json" '
    all(.[]; .counts == {"qd": 1, "an": 1, "ns": 3, "ar": 6})'
cw_expect "soa: size, rtt within the timeout" "$CW_TMP/soa.json" "
    all(.[]; .size > 0 and .rtt_ms > 0 and .rtt_ms < $TIMEOUT_MS)"
cw_expect "soa: addr, af, port, proto" "$CW_TMP/soa.json" "
    all(.[]; .port == $PORT and .proto == .proto_requested and
        (.proto == \"udp\" or .proto == \"tcp\") and
        ((.addr == \"127.0.0.1\" and .af == 4) or
         (.addr == \"::1\" and .af == 6)))"
cw_expect "soa: ip_ttl 64 over UDP on loopback" "$CW_TMP/soa.json" '
    all(.[] | select(.proto == "udp"); .ip_ttl == 64)'
cw_expect "soa: TCP has connect_ms, UDP none" "$CW_TMP/soa.json" "
    all(.[] | select(.proto == \"tcp\"); (.connect_ms | type) == \"number\"
        and .connect_ms >= 0 and .connect_ms < $TIMEOUT_MS) and
    all(.[] | select(.proto == \"udp\"); has(\"connect_ms\") | not)"
cw_expect "soa: the query as sent" "$CW_TMP/soa.json" '
    all(.[]; .query.qname == "." and .query.qtype == "SOA" and
        .query.qclass == "IN" and .query.nsid == true and
        .query.rd == false and .query.edns_size > 0 and .attempts == 1 and
        (.truncated | not))'
cw_expect "soa: a real server of the zone raises no anomaly" \
    "$CW_TMP/soa.json" 'all(.[]; .anomalies == [])'
cw_check "soa: abuf decodes to size bytes with the query id" \
    abuf_ok "$CW_TMP/soa.json"
cw_check "soa: every line is one JSON object, no newline inside" \
    lines_are_objects "$CW_TMP/soa.json"
cw_check "soa: one line per result, each ended by a newline" \
    [ "$(wc -l <"$CW_TMP/soa.json")" = "$((NADDR * 2))" ]

# --- one transport, one family ---
dns udp4 --udp -4 "${SERVERS[@]}"
cw_check "--udp -4: exit status 0" [ "$rc" = 0 ]
cw_expect "--udp -4: only UDP over IPv4" "$CW_TMP/udp4.json" '
    length >= 1 and all(.[]; .proto == "udp" and .af == 4 and .ok)'
if [ "$CW_HAVE_V6" = 1 ]; then
	dns tcp6 --tcp -6 "${SERVERS[@]}"
	cw_check "--tcp -6: exit status 0" [ "$rc" = 0 ]
	cw_expect "--tcp -6: only TCP over IPv6" "$CW_TMP/tcp6.json" '
	    length >= 1 and all(.[]; .proto == "tcp" and .af == 6 and .ok and
	        .soa_serial == '"$CW_SERIAL_ROOT"')'
fi

# --- the TLD zones' own serials ---
dns ua --qname ua. --qtype SOA --udp --authoritative 127.0.0.1
cw_check "ua. SOA: exit status 0" [ "$rc" = 0 ]
cw_expect "ua. SOA serial, no anomaly" "$CW_TMP/ua.json" \
    "length == 1 and .[0].ok and .[0].soa_serial == $CW_SERIAL_UA and
     .[0].anomalies == []"
dns sd --qname sd --qtype SOA --tcp --authoritative 127.0.0.1
cw_check "sd SOA: exit status 0" [ "$rc" = 0 ]
cw_expect "sd SOA serial over TCP, no anomaly" "$CW_TMP/sd.json" \
    "length == 1 and .[0].ok and .[0].soa_serial == $CW_SERIAL_SD and
     .[0].anomalies == []"

# --- CHAOS: the answering instance's identity ---
dns chaos --chaos hostname.bind --udp --tcp "${SERVERS[@]}"
cw_check "chaos: exit status 0" [ "$rc" = 0 ]
cw_expect "chaos hostname.bind: txt is the identity" "$CW_TMP/chaos.json" "
    length == $NADDR * 2 and
    all(.[]; .ok and .rcode == \"NOERROR\" and
        .query.qclass == \"CH\" and .query.qtype == \"TXT\" and
        (.query.qname | test(\"^hostname[.]bind[.]?$\"))) and
    all(.[]; .txt == [\"$IDENTITY\"])"
dns idserver --chaos id.server --udp 127.0.0.1
cw_check "chaos id.server: exit status 0" [ "$rc" = 0 ]
cw_expect "chaos id.server: txt is the identity" "$CW_TMP/idserver.json" "
    length == 1 and .[0].txt == [\"$IDENTITY\"]"

# --- NXDOMAIN ---
dns nx --qname no-such-tld-cw-test. --qtype SOA --udp --tcp "${SERVERS[@]}"
cw_check "nxdomain: exit status 1" [ "$rc" = 1 ]
cw_expect "nxdomain: failure and rcode" "$CW_TMP/nx.json" "
    length == $NADDR * 2 and
    all(.[]; .ok == false and .failure == \"dns_nxdomain_error\" and
        .rcode == \"NXDOMAIN\" and .flags.aa and .counts.an == 0 and
        .counts.ns == 1 and .size > 0 and .abuf != null and
        .anomalies == [])"
cw_check "nxdomain: abuf decodes" abuf_ok "$CW_TMP/nx.json"

# --- REFUSED: a second NSD that serves ua. only ---
cw_nsd_start ua. ua.zone
PORT2=$NSD_PORT
cw_check "second nsd on its own port" [ "$PORT2" != "$PORT" ]
PORT_SAVED=$PORT PORT=$PORT2
dns refused --qname example.org. --qtype SOA --udp --tcp "${SERVERS[@]}"
PORT=$PORT_SAVED
cw_check "refused: exit status 1" [ "$rc" = 1 ]
cw_expect "refused: failure and rcode" "$CW_TMP/refused.json" "
    length == $NADDR * 2 and
    all(.[]; .ok == false and .failure == \"dns_refused_error\" and
        .rcode == \"REFUSED\" and .port == $PORT2)"

# --- truncation: txt.big. (~950 bytes) with a 512-byte buffer ---
dns tc --qname txt.big. --qtype TXT --udp --edns-size 512 "${SERVERS[@]}"
cw_check "truncated: exit status 0" [ "$rc" = 0 ]
cw_expect "truncated over UDP, answered over TCP" "$CW_TMP/tc.json" "
    length == $NADDR and
    all(.[]; .ok and .truncated == true and .proto == \"tcp\" and
        .proto_requested == \"udp\" and .flags.tc == false and
        (.txt | length) == 12 and .size > 512 and
        .truncated_reply.size <= 512 and .truncated_reply.abuf != null)"
dns fits --qname txt.big. --qtype TXT --udp --edns-size 1232 "${SERVERS[@]}"
cw_check "fits: exit status 0" [ "$rc" = 0 ]
cw_expect "fits in 1232 bytes: no truncation" "$CW_TMP/fits.json" "
    length == $NADDR and
    all(.[]; .ok and .truncated == false and .proto == \"udp\" and
        (.txt | length) == 12 and .size > 512 and .size <= 1232)"
dns notcp --qname txt.big. --qtype TXT --udp --edns-size 512 \
    --no-tcp-fallback "${SERVERS[@]}"
cw_check "truncated without TCP fallback: exit status 1" [ "$rc" = 1 ]
cw_expect "truncated without TCP fallback: dns_truncated" \
    "$CW_TMP/notcp.json" "
    length == $NADDR and
    all(.[]; .ok == false and .failure == \"dns_truncated\" and
        .proto == \"udp\" and .flags.tc == true)"
dns huge --qname huge.big. --qtype TXT --tcp "${SERVERS[@]}"
cw_check "huge: exit status 0" [ "$rc" = 0 ]
cw_expect "huge answer over TCP" "$CW_TMP/huge.json" "
    length == $NADDR and
    all(.[]; .ok and .proto == \"tcp\" and (.txt | length) == 100 and
        .size > 7000 and .anomalies == [])"
cw_check "huge: abuf decodes" abuf_ok "$CW_TMP/huge.json"

# --- many queries in one invocation: none may time out (RRL is off) ---
# Each address is given once (as in corewatch.conf, a server listed twice
# is refused) and measured 250 / NADDR times, all at once.
start=$(date +%s)
dns many --qname . --qtype SOA --nsid --udp --tcp --count $((250 / NADDR)) \
    --authoritative "${SERVERS[@]}"
cw_log "500 queries took $(($(date +%s) - start)) s"
cw_check "many: exit status 0" [ "$rc" = 0 ]
cw_expect "many: 500 results, all ok, none timed out" "$CW_TMP/many.json" "
    length == 500 and all(.[]; .ok and .soa_serial == $CW_SERIAL_ROOT) and
    ([.[] | select(.failure == \"generic_timeout_error\")] | length) == 0"
cw_expect "many: no false alarm in 500 authoritative answers" \
    "$CW_TMP/many.json" 'all(.[]; .anomalies == [])'
cw_expect "many: query IDs are not all the same" "$CW_TMP/many.json" '
    ([.[].query.id] | unique | length) > 100'

# --- --count and --in-flight: repeated measurements, bounded concurrency ---
dns count --count 300 --in-flight 7 --late-window 0 --udp --tcp 127.0.0.1
cw_check "count: exit status 0" [ "$rc" = 0 ]
cw_expect "count: 300 rounds x 2 transports, all ok" "$CW_TMP/count.json" "
    length == 600 and all(.[]; .ok and .soa_serial == $CW_SERIAL_ROOT) and
    ([.[] | select(.proto == \"tcp\")] | length) == 300"
# Without --in-flight the open-file limit bounds how many are in flight:
# far more measurements than descriptors still all come back ok, none an
# internal_error for want of a socket.
prlimit --nofile=128:128 timeout 120 "$COREWATCH" dns --port "$PORT" \
    --count 1500 --late-window 0 127.0.0.1 >"$CW_TMP/nofile.json" \
    2>"$CW_TMP/nofile.err"
rc=$?
cw_check "nofile 128, --count 1500: exit status 0" [ "$rc" = 0 ]
cw_expect "nofile 128, --count 1500: 1500 results, all ok" \
    "$CW_TMP/nofile.json" 'length == 1500 and all(.[]; .ok)'
# An --in-flight beyond the limit is the user's to ask for, with a warning
# that names the limit and what fits in it: (128 - 64 kept back) / 2
# descriptors each = 32.  The 20 asked for fit, so all succeed.
prlimit --nofile=128:128 timeout 120 "$COREWATCH" dns --port "$PORT" \
    --count 20 --in-flight 1000 --late-window 0 127.0.0.1 \
    >"$CW_TMP/nofile2.json" 2>"$CW_TMP/nofile2.err"
rc=$?
cw_check "nofile 128, --in-flight 1000: exit status 0" [ "$rc" = 0 ]
cw_check "nofile 128, --in-flight 1000: warned, and nothing else" \
    [ "$(cat "$CW_TMP/nofile2.err")" = "corewatch dns: --in-flight 1000 \
needs more descriptors than the limit of 128 open files gives (about 32 at \
once); measurements that cannot open a socket fail with internal_error" ]
cw_expect "nofile 128, --in-flight 1000: all 20 reported, all ok" \
    "$CW_TMP/nofile2.json" 'length == 20 and all(.[]; .ok)'
# Bad --count and --in-flight: exit 2 with the option, the value and the
# range accepted, and nothing measured.
for bad in "count 0" "count -3" "count x" "in-flight 0" \
    "in-flight 99999999999"; do
	read -r opt val <<<"$bad"
	case $opt in
	count)		range="1 to 100000000" ;;
	in-flight)	range="1 to 1000000" ;;
	esac
	dns badcount "--$opt" "$val" 127.0.0.1
	cw_check "dns --$bad: exit status 2" [ "$rc" = 2 ]
	cw_check "dns --$bad: says which option, value and range" \
	    [ "$(cat "$CW_TMP/badcount.err")" = \
	    "corewatch dns: --$opt: \"$val\" is not a number from $range" ]
	cw_check "dns --$bad: nothing measured" [ ! -s "$CW_TMP/badcount.json" ]
done

cw_done
