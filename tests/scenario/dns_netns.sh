#!/bin/bash
# dns_netns.sh -- failures that need a network of the test's own: in a
# fresh network namespace with loopback only there is no route to any
# other address, so a query fails locally with network_unreachable (no
# packet leaves the namespace).  With a veth pair giving IPv4 an on-link
# route (and IPv6 still none), IPv6 stays network_unreachable while IPv4
# is sent and never answered.  NSD inside the namespace still answers on
# its loopback.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

cw_tmpdir
cw_netns_create cwunreach
NS=$CW_NS

# nsdns NAME ARGS...: `corewatch dns ARGS` inside the namespace; results
# in $CW_TMP/NAME.json, exit status in $rc, wall time in $secs.
nsdns()
{
	local name=$1 start
	shift
	start=$(date +%s%N)
	timeout 60 ip netns exec "$NS" "$COREWATCH" dns "$@" \
	    >"$CW_TMP/$name.json" 2>"$CW_TMP/$name.err"
	rc=$?
	secs=$((($(date +%s%N) - start) / 1000000))
	if [ "$rc" -gt 1 ]; then
		cw_log "corewatch dns $* exited $rc; stderr:"
		cat "$CW_TMP/$name.err" >&2
	fi
}

# Documentation addresses (RFC 5737, RFC 3849): unroutable in the
# namespace, and nowhere else would they be used.
nsdns unreach --udp --tcp --timeout 2s 192.0.2.53 2001:db8::53
cw_check "unreachable: exit status 1" [ "$rc" = 1 ]
cw_expect "unreachable: network_unreachable over UDP and TCP, v4 and v6" \
    "$CW_TMP/unreach.json" '
    length == 4 and
    ([.[] | [.addr, .proto]] | unique | length) == 4 and
    all(.[]; .ok == false and .failure == "network_unreachable" and
        .rtt_ms == null and (.failure_detail | type) == "string" and
        .port == 53)'
cw_check "unreachable: reported at once, not after the timeout" \
    [ "$secs" -lt 1500 ]

# IPv4 gets an on-link route, IPv6 none.  198.51.100.2 is inside the
# namespace's own subnet and nobody answers for it there.
cw_netns_veth "$NS" 198.51.100.1/24
nsdns half --udp --timeout 500ms 198.51.100.2 2001:db8::53
cw_expect "half: IPv6 still network_unreachable" "$CW_TMP/half.json" '
    length == 2 and
    ([.[] | select(.af == 6)][0].failure == "network_unreachable")'
cw_expect "half: IPv4 sent, no answer" "$CW_TMP/half.json" '
    [.[] | select(.af == 4)][0] as $r |
    $r.ok == false and
    ($r.failure == "generic_timeout_error" or
     $r.failure == "host_unreachable")'

# NSD inside the namespace, on its loopback: the namespace has ::1 too.
CW_HAVE_V6=0
ip netns exec "$NS" bash -c '. "$1"; cw_v6_usable' _ \
    "$CW_SCENARIO_DIR/lib.sh" && CW_HAVE_V6=1
cw_log "::1 usable in $NS: $CW_HAVE_V6"
NSD_DIR="$CW_TMP/nsd.ns"
mkdir -p "$NSD_DIR"
NSD_IDENTITY=cw-nsd-ns.test NSD_NSID=cw-nsid-ns
PORT=$(ip netns exec "$NS" bash -c '. "$1"; cw_free_port' _ \
    "$CW_SCENARIO_DIR/lib.sh")
cw_nsd_conf "$NSD_DIR" "$PORT" ns . root.zone >"$NSD_DIR/nsd.conf"
cw_spawn "$NSD_DIR/nsd.out" ip netns exec "$NS" nsd -d -c "$NSD_DIR/nsd.conf"
up=0
for ((i = 0; i < 100; i++)); do
	if ip netns exec "$NS" bash -c '. "$1"; cw_dns_answers 127.0.0.1 "$2"' \
	    _ "$CW_SCENARIO_DIR/lib.sh" "$PORT"; then
		up=1
		break
	fi
	sleep 0.1
done
cw_check "nsd answers inside the namespace" [ "$up" = 1 ] ||
    cat "$NSD_DIR/nsd.out" "$NSD_DIR/nsd.log" >&2
SERVERS=(127.0.0.1)
[ "$CW_HAVE_V6" = 1 ] && SERVERS+=(::1)
nsdns inside --udp --tcp --nsid --port "$PORT" "${SERVERS[@]}"
cw_check "inside: exit status 0" [ "$rc" = 0 ]
cw_expect "inside: SOA of the test root from NSD in the namespace" \
    "$CW_TMP/inside.json" "
    length == ${#SERVERS[@]} * 2 and
    all(.[]; .ok and .soa_serial == $CW_SERIAL_ROOT and
        .nsid == \"cw-nsid-ns\")"

cw_done
