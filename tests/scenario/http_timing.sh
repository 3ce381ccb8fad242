#!/bin/bash
# http_timing.sh -- the HTTP phase times against a path of known delay:
# `corewatch http` in one network namespace, Debian's nginx (plain HTTP,
# HTTPS with TLS 1.3 only, HTTPS with TLS 1.2 only) and NSD in another,
# and between them tests/fault/slowlink.py, a relay of our own that
# holds every IP packet, both ways, D ms (this kernel has no netem).
# Every packet waits, the SYN and the SYN-ACK too: each round trip on
# the path takes at least 2*D.  For each result:
#   - connect_ms holds one round trip (SYN, SYN-ACK), tls_ms one more
#     for TLS 1.3 and two for TLS 1.2, ttfb_ms one (request, response),
#     dns_ms one (query, reply): each is at least its round trips;
#   - the phases add up to no more than total_ms (they are durations
#     between libcurl's cumulative marks, doc/results.md);
#   - each agrees with a packet capture in the probe's namespace within
#     TOL ms (the mapping is below, at wire_times).
# A probe that reports connect_ms 0, counts the lookup into connect_ms,
# or measures a phase from the wrong mark fails here: each is off by at
# least one round trip (2*D = 200 ms), far beyond TOL.
#
# Network safety: the addresses (192.0.2.1 and .2, RFC 5737) exist only
# on the two TUN devices inside the test's own namespaces, which have
# nothing else but loopback.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

SLOWLINK="$CW_SCENARIO_DIR/../fault/slowlink.py"
# D: the one-way delay; RTT: what every round trip takes at least.  100
# ms dominates what a loaded 2-core machine adds (a few ms of
# scheduling, tens at worst): a phase measured from a wrong mark is off
# by a round trip, 200 ms, and noise is not.
D=100
RTT=$((2 * D))
# Lower bounds allow 0.001 ms: the probe reports whole microseconds,
# printed as milliseconds (a double), and nothing else: the relay never
# sends a packet before its delay has passed, and the marks of
# connect_ms, tls_ms and dns_ms lie outside the packets that bound them
# on the wire (the lookup's and the connect's start before the SYN or
# the query is sent, the TLS phase starts before the ClientHello, and
# each ends after the packet that ends it arrived).  ttfb_ms's bound
# allows TOL (below): libcurl (7.88) takes the mark that starts it only
# after it has written the request, and that write wakes the relay,
# which may take the CPU from the probe before the mark is taken (seen:
# 3 ms, ASan build, load average 6): the phase then misses a scheduling
# delay, which no bound can know.
EPS=0.001
# TOL: how far a phase may be from the capture.  The capture's stamps
# are the kernel's, taken as each packet crosses the TUN device; the
# probe's marks are libcurl's (the lookup's are the probe's own), taken
# when the probe runs after that packet woke it, and dns_ms also holds
# the probe's work before its query and after the answer (the hosts
# file, resolv.conf, the DNS result).  What lies between is scheduling
# delay and that work: 1.3 ms at most on a quiet machine (gcc and ASan
# builds alike), up to 24 ms (ASan: tls_ms of TLS 1.2, dns_ms) with two
# busy loops beside the other work of a loaded 2-core machine.  TOL is
# a quarter of a round trip, 50 ms: room for worse, and a phase
# measured from a wrong mark, a whole round trip off, still fails.
TOL=$((RTT / 4))
WEB=192.0.2.2 PROBE=192.0.2.1

cw_tmpdir
cw_netns_create cwtprobe
NSA=$CW_NS
cw_netns_create cwtweb
NSB=$CW_NS

# The link: a TUN device in each namespace, the relay between them.
for ns in "$NSA" "$NSB"; do
	ip -n "$ns" tuntap add dev cwslow mode tun ||
	    cw_die "no TUN device in $ns"
	# No IPv6 on the link: nothing but the test's packets on it.
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.cwslow.disable_ipv6=1
done
ip -n "$NSA" addr add "$PROBE" peer "$WEB" dev cwslow &&
ip -n "$NSB" addr add "$WEB" peer "$PROBE" dev cwslow ||
    cw_die "cannot address the link"
cw_spawn "$CW_TMP/slowlink.out" /usr/bin/python3 "$SLOWLINK" \
    --ns-a "$NSA" --ns-b "$NSB" --dev cwslow --delay "$D" \
    --ready "$CW_TMP/slowlink.ready" --lifetime 240
RELAY_PID=$CW_SPAWNED
for ((i = 0; i < 100; i++)); do
	[ -s "$CW_TMP/slowlink.ready" ] && break
	kill -0 "$RELAY_PID" 2>/dev/null || break
	sleep 0.1
done
[ -s "$CW_TMP/slowlink.ready" ] || {
	cat "$CW_TMP/slowlink.out" >&2
	cw_die "the relay did not start"
}
ip -n "$NSA" link set cwslow up && ip -n "$NSB" link set cwslow up ||
    cw_die "cannot bring the link up"
cw_log "slowlink: pid $RELAY_PID, $D ms each way"

# nginx in the web namespace: plain HTTP on 8080 and 8081, HTTPS with
# TLS 1.3 only on 8443 and TLS 1.2 only on 8444.  No session tickets:
# in TLS 1.3 they would come as application data records after the
# handshake, beside the response, and the capture could not tell them
# from its first byte.
NGINX_DIR="$CW_TMP/nginx" TLS_DIR="$CW_TMP/tls"
mkdir -p "$NGINX_DIR/tmp" || cw_die "cannot create $NGINX_DIR"
cw_tls_ca "$TLS_DIR"
cw_tls_cert "$TLS_DIR" good good.test "DNS:good.test,IP:$WEB"
{
	cw_nginx_main "$NGINX_DIR"
	cat <<EOF
	access_log $NGINX_DIR/access.log;
	server_tokens off;
	ssl_certificate $TLS_DIR/good.crt;
	ssl_certificate_key $TLS_DIR/good.key;
	ssl_session_tickets off;
	ssl_session_cache off;
	ssl_conf_command NumTickets 0;
	server {
		listen $WEB:8080;
		listen $WEB:8081;
		listen $WEB:8443 ssl;
		ssl_protocols TLSv1.3;
		location = / {
			default_type text/plain;
			return 200 "corewatch timing page\n";
		}
		location = /cw-ready {
			access_log off;
			return 204;
		}
	}
	server {
		listen $WEB:8444 ssl;
		ssl_protocols TLSv1.2;
		location = / {
			default_type text/plain;
			return 200 "corewatch timing page\n";
		}
		location = /cw-ready {
			access_log off;
			return 204;
		}
	}
}
EOF
} >"$NGINX_DIR/nginx.conf"
ip netns exec "$NSB" /usr/sbin/nginx -t -q -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" \
    -c "$NGINX_DIR/nginx.conf" >&2 || cw_die "nginx -t rejects the configuration"
cw_spawn "$NGINX_DIR/nginx.out" ip netns exec "$NSB" /usr/sbin/nginx \
    -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" -c "$NGINX_DIR/nginx.conf"
NGINX_PID=$CW_SPAWNED

# NSD in the web namespace, on the link's address: slow.test.
cat >"$CW_TMP/slow.zone" <<EOF
\$ORIGIN slow.test.
\$TTL 300
@	SOA	ns hostmaster 1 3600 600 86400 300
@	NS	ns
ns	A	$WEB
www	A	$WEB
EOF
NSD_DIR="$CW_TMP/nsd" NSD_IDENTITY=cw-nsd-slow.test NSD_NSID=cw-nsid-slow
mkdir -p "$NSD_DIR" || cw_die "cannot create $NSD_DIR"
CW_HAVE_V6=0 cw_nsd_conf "$NSD_DIR" 53 1 slow.test. "$CW_TMP/slow.zone" |
    sed "s/ip-address: 127\.0\.0\.1@/ip-address: $WEB@/" >"$NSD_DIR/nsd.conf"
grep -q "ip-address: $WEB@53" "$NSD_DIR/nsd.conf" ||
    cw_die "nsd.conf does not listen on $WEB"
cw_spawn "$NSD_DIR/nsd.out" ip netns exec "$NSB" nsd -d -c "$NSD_DIR/nsd.conf"
NSD_PID=$CW_SPAWNED

# Both answer in their own namespace (over its loopback: these checks
# do not cross the link, and are not in the capture).
up=0
for ((i = 0; i < 100; i++)); do
	kill -0 "$NGINX_PID" 2>/dev/null && kill -0 "$NSD_PID" 2>/dev/null ||
	    break
	if ip netns exec "$NSB" curl -s --noproxy '*' -o /dev/null -f \
	    --max-time 1 "http://$WEB:8080/cw-ready" &&
	    ip netns exec "$NSB" curl -s -k --noproxy '*' -o /dev/null -f \
	    --max-time 1 "https://$WEB:8443/cw-ready" &&
	    ip netns exec "$NSB" curl -s -k --noproxy '*' -o /dev/null -f \
	    --max-time 1 "https://$WEB:8444/cw-ready" &&
	    ip netns exec "$NSB" kdig @"$WEB" +timeout=1 +retry=0 \
	    www.slow.test A 2>/dev/null | grep -q 'status: NOERROR'; then
		up=1
		break
	fi
	sleep 0.1
done
[ "$up" = 1 ] || {
	cat "$NGINX_DIR/nginx.out" "$NGINX_DIR/error.log" \
	    "$NSD_DIR/nsd.out" "$NSD_DIR/nsd.log" >&2 2>/dev/null
	cw_die "nginx or nsd did not come up in $NSB"
}
cw_log "nginx: pid $NGINX_PID, nsd: pid $NSD_PID, on $WEB"

# The capture, in the probe's namespace: every packet the probe sends
# or receives, stamped by the kernel as it crosses the device.
PCAP="$CW_TMP/probe.pcap"
cw_spawn "$CW_TMP/tcpdump.out" ip netns exec "$NSA" tcpdump -i cwslow \
    -n -U --immediate-mode -Z root -w "$PCAP"
TCPDUMP_PID=$CW_SPAWNED
for ((i = 0; i < 100; i++)); do
	grep -q 'listening on' "$CW_TMP/tcpdump.out" && break
	kill -0 "$TCPDUMP_PID" 2>/dev/null || break
	sleep 0.1
done
grep -q 'listening on' "$CW_TMP/tcpdump.out" || {
	cat "$CW_TMP/tcpdump.out" >&2
	cw_die "tcpdump did not start"
}

# probe NAME ARGS...: `corewatch http ARGS...` in the probe's namespace;
# results in $CW_TMP/NAME.json, exit status in rc_of[NAME].
declare -A rc_of
probe()
{
	local name=$1
	shift
	timeout 60 ip netns exec "$NSA" "$COREWATCH" http "$@" \
	    >"$CW_TMP/$name.json" 2>"$CW_TMP/$name.err"
	rc_of[$name]=$?
	[ "${rc_of[$name]}" = 0 ] || cat "$CW_TMP/$name.err" >&2
}

# One measurement per port, one after the other: in the capture each
# port has one connection, each measurement's.
printf 'nameserver %s\n' "$WEB" >"$CW_TMP/resolv.conf"
CA=(--cacert "$TLS_DIR/ca.crt")
probe plain "http://$WEB:8080/"
probe tls13 "https://good.test:8443/" --addr "$WEB" "${CA[@]}"
probe tls12 "https://good.test:8444/" --addr "$WEB" "${CA[@]}"
probe named "http://www.slow.test:8081/" -4 \
    --resolv-conf "$CW_TMP/resolv.conf"
# The last response reached the probe before it exited; half a second
# more lets tcpdump (--immediate-mode) write it before it is stopped.
sleep 0.5
cw_stop "$TCPDUMP_PID"
cw_log "tcpdump: $(grep -E 'captured|dropped by kernel' \
    "$CW_TMP/tcpdump.out" | tr '\n' ' ')"

# wire_times PCAP SERVER TLSPORTS: what the capture says, as one JSON
# object: for each TCP port of SERVER ("8080": {...}) the number of
# connections made to it and, from the first one, the phases as the
# wire shows them, in ms; "dns": the exchanges with SERVER port 53.
# TLSPORTS: "PORT:VERSION" pairs (1.2, 1.3) of the HTTPS ports.
#   connect_ms	the SYN sent to the SYN-ACK received: libcurl's connect
#		mark follows the SYN-ACK, its lookup mark precedes the SYN
#   tls_ms	the SYN-ACK received to the last packet of the handshake,
#		whichever side sent it: TLS 1.3, the client's Finished,
#		sent at once when the server's flight has been read (and
#		libcurl takes its APPCONNECT mark right after); TLS 1.2, the
#		last server segment before the request (its ChangeCipherSpec
#		and Finished, after which libcurl takes the mark).  The
#		request is the first application data record of the client
#		(TLS 1.2), or the second (TLS 1.3: the first is its
#		Finished); the client's Finished the record before it
#   ttfb_ms	the request sent to the first segment of the response
#		(plain: the first data from the server; TLS: the first
#		application data record from the server that began after
#		the request was sent)
#   dns_ms	a query (UDP) sent to its reply received, matched by ID
# Exits non-zero, saying why, when the capture is not what it should be.
wire_times()
{
	/usr/bin/python3 - "$@" <<'EOF'
import json, socket, struct, sys

path, server, tlsports = sys.argv[1], sys.argv[2], sys.argv[3].split()
tlsver = dict(p.split(":") for p in tlsports)

def packets(path):
    data = open(path, "rb").read()
    magic = struct.unpack("<I", data[:4])[0]
    if magic == 0xA1B2C3D4:
        e, scale = "<", 1e-6
    elif magic == 0xA1B23C4D:
        e, scale = "<", 1e-9
    else:
        sys.exit("%s: not a little-endian pcap file" % path)
    link = struct.unpack(e + "I", data[20:24])[0]
    if link not in (12, 101):   # raw IP: what tcpdump says of a TUN
        sys.exit("%s: link type %d, not raw IP" % (path, link))
    at = 24
    while at + 16 <= len(data):
        sec, frac, incl, _ = struct.unpack(e + "IIII", data[at:at + 16])
        yield sec + frac * scale, data[at + 16:at + 16 + incl]
        at += 16 + incl

tcp, dns = {}, []
for t, p in packets(path):
    if len(p) < 20 or p[0] >> 4 != 4:
        continue
    ihl = (p[0] & 15) * 4
    total = struct.unpack("!H", p[2:4])[0]
    src, dst = socket.inet_ntoa(p[12:16]), socket.inet_ntoa(p[16:20])
    l4 = p[ihl:total]
    if p[9] == 6:
        sport, dport, seq, ack = struct.unpack("!HHII", l4[:12])
        off, flags = (l4[12] >> 4) * 4, l4[13]
        out = dst == server
        key = (sport, dport) if out else (dport, sport)
        tcp.setdefault(key, []).append((t, out, flags, seq, l4[off:]))
    elif p[9] == 17:
        sport, dport = struct.unpack("!HH", l4[:4])
        if len(l4) >= 10:
            dns.append((t, dst == server and dport == 53,
                        l4[8:10], src, dst))

def stream(segs, isn):
    """One direction's bytes in order, with the time each byte was
    first seen on the wire (a retransmission does not move it)."""
    first = {}
    for t, seq, payload in segs:
        for i in range(len(payload)):
            first.setdefault((seq - isn - 1 + i) & 0xffffffff,
                             (t, payload[i]))
    n = 0
    while n in first:
        n += 1
    return bytes(first[i][1] for i in range(n)), [first[i][0]
                                                 for i in range(n)]

def records(data, times):
    """TLS records: (type, time of the segment carrying the first byte)."""
    out, at = [], 0
    while at + 5 <= len(data):
        kind, length = data[at], struct.unpack("!H", data[at + 3:at + 5])[0]
        out.append((kind, times[at]))
        at += 5 + length
    return out

ms = lambda a, b: round((b - a) * 1000, 3)
result = {}
for (cport, sport), pkts in sorted(tcp.items(), key=lambda kv: kv[1][0][0]):
    port = str(sport)
    ent = result.setdefault(port, {"connections": 0})
    ent["connections"] += 1
    if ent["connections"] > 1:
        continue
    syn = [x for x in pkts if x[1] and x[2] & 0x12 == 0x02]
    synack = [x for x in pkts if not x[1] and x[2] & 0x12 == 0x12]
    if not syn or not synack:
        sys.exit("port %s: no SYN or no SYN-ACK" % port)
    t_syn, t_synack = syn[0][0], synack[0][0]
    ent["connect_ms"] = ms(t_syn, t_synack)
    c_data, c_times = stream([(t, s, d) for t, o, f, s, d in pkts if o],
                             syn[0][3])
    s_data, s_times = stream([(t, s, d) for t, o, f, s, d in pkts
                              if not o], synack[0][3])
    if not c_data or not s_data:
        sys.exit("port %s: no data both ways" % port)
    if port not in tlsver:
        ent["ttfb_ms"] = ms(c_times[0], s_times[0])
        continue
    crec = records(c_data, c_times)
    app = [i for i, (k, t) in enumerate(crec) if k == 23]
    nth = 0 if tlsver[port] == "1.2" else 1
    if len(app) <= nth or app[nth] == 0:
        sys.exit("port %s: no request record" % port)
    t_req = crec[app[nth]][1]
    t_client_fin = crec[app[nth] - 1][1]
    before = [t for t in s_times if t < t_req]
    after = [t for k, t in records(s_data, s_times) if k == 23 and t > t_req]
    if not before or not after:
        sys.exit("port %s: no handshake or no response" % port)
    ent["tls_ms"] = ms(t_synack, max(max(before), t_client_fin))
    ent["ttfb_ms"] = ms(t_req, after[0])
    ent["server_records"] = [k for k, _ in records(s_data, s_times)]
    ent["client_records"] = [k for k, _ in records(c_data, c_times)]
queries, replies = {}, {}
for t, out, qid, src, dst in dns:
    if out:
        queries.setdefault(qid, t)
    elif qid in queries:
        replies.setdefault(qid, t)
result["dns"] = {"exchanges": len(queries), "answered": len(replies)}
if replies:
    qid = min(replies, key=lambda q: queries[q])
    result["dns"]["dns_ms"] = ms(queries[qid], replies[qid])
print(json.dumps(result))
EOF
}

WIRE="$CW_TMP/wire.json"
wire_times "$PCAP" "$WEB" "8443:1.3 8444:1.2" >"$WIRE" ||
    cw_die "the capture cannot be read"
cw_log "the capture: $(cat "$WIRE")"
cw_stop "$RELAY_PID"
cw_log "slowlink: $(cat "$CW_TMP/slowlink.out")"

# wire PORT KEY: a phase from the capture.
wire()
{
	jq -r --arg p "$1" --arg k "$2" '.[$p][$k]' "$WIRE"
}

# agree NAME PORT PHASE: the result's PHASE within TOL of the capture's.
agree()
{
	local name=$1 port=$2 phase=$3 w p
	w=$(wire "$port" "$phase")
	p=$(jq -s ".[0].$phase" "$CW_TMP/$name.json")
	cw_expect "$name: $phase $p ms agrees with the capture, $w ms, within $TOL ms" \
	    "$CW_TMP/$name.json" "
	    (.[0].$phase - $w) as \$d | \$d <= $TOL and \$d >= -$TOL"
}

# timing NAME PORT TLS-VERSION: the checks of every result: one good
# result (over TLSv1.3 or TLSv1.2, or plain HTTP for "-"); connect_ms and
# ttfb_ms at least a round trip, tls_ms at least one (TLS 1.3) or two
# (TLS 1.2), null for plain HTTP; the phases within total_ms, which
# holds all their round trips (and the lookup's); agreement with the
# capture.
timing()
{
	local name=$1 port=$2 version=$3 f="$CW_TMP/$1.json" rtts
	case $version in
	-) rtts=0 ;;
	TLSv1.3) rtts=1 ;;
	TLSv1.2) rtts=2 ;;
	esac
	cw_check "$name: exit status 0" [ "${rc_of[$name]}" = 0 ]
	cw_expect "$name: one good result, status 200" "$f" '
	    length == 1 and .[0].ok == true and .[0].status == 200'
	[ "$rtts" = 0 ] ||
	    cw_expect "$name: $version, verified" "$f" "
		.[0].tls.version == \"$version\" and .[0].tls.verified"
	cw_check "$name: one connection in the capture" \
	    [ "$(wire "$port" connections)" = 1 ]
	cw_expect "$name: connect_ms >= one round trip ($RTT ms)" "$f" "
	    .[0].connect_ms >= $RTT - $EPS"
	cw_expect "$name: ttfb_ms >= one round trip ($RTT ms) less TOL" "$f" "
	    .[0].ttfb_ms >= $RTT - $TOL"
	if [ "$rtts" = 0 ]; then
		cw_expect "$name: tls_ms null" "$f" '.[0].tls_ms == null'
	else
		cw_expect "$name: tls_ms >= $rtts round trip(s) ($((rtts * RTT)) ms)" \
		    "$f" ".[0].tls_ms >= $((rtts * RTT)) - $EPS"
	fi
	cw_expect "$name: the phases add up to no more than total_ms" "$f" "
	    .[0] | (.dns_ms // 0) + .connect_ms + (.tls_ms // 0) + .ttfb_ms <=
	    .total_ms + $EPS"
	cw_expect "$name: total_ms >= all the round trips above" "$f" "
	    .[0] | .total_ms >= ($rtts + 2 + (if .dns_ms == null then 0
		else 1 end)) * $RTT - $EPS"
	agree "$name" "$port" connect_ms
	[ "$rtts" = 0 ] || agree "$name" "$port" tls_ms
	agree "$name" "$port" ttfb_ms
}

timing plain 8080 -
timing tls13 8443 TLSv1.3
timing tls12 8444 TLSv1.2
timing named 8081 -
# The lookup: the probe's own query over the slow link.  connect_ms
# agreeing with the capture above says that the lookup is not in it.
cw_check "named: one DNS exchange in the capture, answered" \
    [ "$(wire dns exchanges)/$(wire dns answered)" = 1/1 ]
cw_expect "named: dns_ms >= one round trip ($RTT ms)" "$CW_TMP/named.json" "
    .[0].dns_ms >= $RTT - $EPS"
agree named dns dns_ms

cw_done
