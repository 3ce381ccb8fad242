# lib.sh -- the harness of the corewatch scenario tests (bash).
#
# A scenario test sources this file, calls cw_tmpdir once, starts its
# servers with cw_nsd_start (cw_spawn_port for a responder of
# tests/fault, cw_spawn for anything else) and checks what corewatch
# reports with cw_expect.  Everything it starts is
# recorded by pid and stopped in the EXIT trap; the work directory and
# any network namespace it created are removed there as well.
#
# Network safety: the servers started here listen on loopback only, and
# the test zones point at loopback addresses only.  Tests send packets to
# 127.0.0.0/8, ::1 or to addresses inside a namespace they created.
#
# Variables a test may read:
#   COREWATCH	the binary under test
#   CW_TMP	the work directory (after cw_tmpdir)
#   CW_DATA	tests/scenario/data in the source tree
#   CW_HAVE_V6	1 when ::1 is usable here, 0 otherwise
#   CW_TEST_ZONES	"zone file" pairs of every test zone, for cw_nsd_start
#   NSD_PORT NSD_PID NSD_DIR NSD_IDENTITY NSD_NSID	of the last NSD started
#   CW_PG_URL PG_PID PG_DIR	of the PostgreSQL cluster (cw_pg_start)
#   NGINX_*, SLOW_*, CW_NGINX_BODY	of the nginx fixture (cw_nginx_start,
#	which documents each)
#   COLLECTOR	corewatch-collector, the collector under test
#   COLLECTOR_DB	the collector's database URL (cw_collector_db)
#   COLLECTOR_PORT COLLECTOR_PID COLLECTOR_URL	of the collector started
#	last (cw_collector_start)
#   PROBE_ID PROBE_PUBKEY	of the probe key made last (cw_probe_key)
#   CW_HTTP_STATUS	the status of the last cw_batch_post

CW_SCENARIO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CW_DATA="$CW_SCENARIO_DIR/data"
: "${top_builddir:=$(cd "$CW_SCENARIO_DIR/../.." && pwd)}"
: "${COREWATCH:=$top_builddir/src/corewatch}"
: "${COLLECTOR:=$top_builddir/src/corewatch-collector}"
export COREWATCH COLLECTOR

# The zones in data/, as "name file" pairs: cw_nsd_start "${CW_TEST_ZONES[@]}"
CW_TEST_ZONES=(. root.zone ua. ua.zone sd. sd.zone xx. xx.zone big. big.zone)
# Their SOA serials, as written in the zone files.
CW_SERIAL_ROOT=2024061501
CW_SERIAL_UA=2024060301
CW_SERIAL_SD=2024052001
CW_SERIAL_XX=2024061107
CW_SERIAL_BIG=2024010101

CW_PIDS=()
CW_NETNS=()
CW_TMP=
CW_FAILURES=0
CW_NSD_COUNT=0
PG_DIR=
PG_PID=
COLLECTOR_DB=
COLLECTOR_PORT=
COLLECTOR_PID=
COLLECTOR_URL=
CW_COLLECTOR_NS=
CW_COLLECTOR_ADDR=
CW_COLLECTOR_ARGS=()

# cw_log: a line on stderr, which ends up in the test's .log file.
cw_log()
{
	printf '%s: %s\n' "${0##*/}" "$*" >&2
}

# cw_die: log and exit 1 (the EXIT trap cleans up).
cw_die()
{
	cw_log "FATAL: $*"
	exit 1
}

# cw_cleanup: the EXIT trap.  Stop every recorded process (TERM, up to
# 5 s for all of them to go, then KILL), delete recorded namespaces and
# the work directory.  Keeps the test's exit status.
cw_cleanup()
{
	local status=$? pid i alive
	trap - EXIT
	cw_pg_kill
	for pid in "${CW_PIDS[@]}"; do
		kill -TERM "$pid" 2>/dev/null
	done
	for ((i = 0; i < 50; i++)); do
		alive=0
		for pid in "${CW_PIDS[@]}"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[ "$alive" = 0 ] && break
		sleep 0.1
	done
	for pid in "${CW_PIDS[@]}"; do
		if kill -0 "$pid" 2>/dev/null; then
			cw_log "pid $pid ignored SIGTERM; killing it"
			kill -KILL "$pid" 2>/dev/null
		fi
		wait "$pid" 2>/dev/null
	done
	for i in "${CW_NETNS[@]}"; do
		ip netns delete "$i" 2>/dev/null
	done
	if [ -n "$CW_TMP" ] && [ -d "$CW_TMP" ]; then
		if [ "$status" != 0 ] && [ -n "${CW_KEEP_TMP:-}" ]; then
			cw_log "keeping $CW_TMP"
		else
			rm -rf "$CW_TMP"
		fi
	fi
	exit "$status"
}

# cw_tmpdir: create the work directory $CW_TMP and install the trap.
cw_tmpdir()
{
	CW_TMP=$(mktemp -d "${TMPDIR:-/tmp}/cw-test.XXXXXX") ||
	    cw_die "mktemp failed"
	trap cw_cleanup EXIT
	trap 'exit 130' INT
	trap 'exit 143' TERM
	CW_HAVE_V6=0
	cw_v6_usable && CW_HAVE_V6=1
	export CW_TMP CW_HAVE_V6
}

# cw_track PID: stop PID in the EXIT trap.
cw_track()
{
	CW_PIDS+=("$1")
}

# cw_stop PID: stop one tracked process now (TERM, up to 5 s, then
# KILL) and forget it; e.g. to take a server away in the middle of a test.
cw_stop()
{
	local pid=$1 i keep=()
	kill -TERM "$pid" 2>/dev/null
	for ((i = 0; i < 50; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	for i in "${CW_PIDS[@]}"; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	CW_PIDS=("${keep[@]}")
}

# cw_wait PID SECONDS: wait at most SECONDS for a tracked process to exit
# by itself (then KILL it), forget it and set CW_STATUS to its exit
# status.
cw_wait()
{
	local pid=$1 i keep=()
	for ((i = 0; i < $2 * 10; i++)); do
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$pid" 2>/dev/null; then
		cw_log "pid $pid still running after $2 s; killing it"
		kill -KILL "$pid" 2>/dev/null
	fi
	wait "$pid" 2>/dev/null
	CW_STATUS=$?
	for i in "${CW_PIDS[@]}"; do
		[ "$i" = "$pid" ] || keep+=("$i")
	done
	CW_PIDS=("${keep[@]}")
}

# cw_spawn LOGFILE COMMAND...: start COMMAND in the background with its
# output in LOGFILE, track it and set CW_SPAWNED to its pid.
cw_spawn()
{
	local logfile=$1
	shift
	"$@" >"$logfile" 2>&1 </dev/null &
	CW_SPAWNED=$!
	cw_track "$CW_SPAWNED"
}

# cw_spawn_port LABEL LOGFILE COMMAND...: start one of our responders
# (tests/fault: they listen on a free port and write it to --portfile)
# as cw_spawn does, with "--portfile FILE" added at the end of COMMAND;
# wait (at most 10 s) until it listens and set CW_PORT (and CW_SPAWNED).
# Dies, with the responder's output, when it does not start.
cw_spawn_port()
{
	local label=$1 logfile=$2 pf i
	shift 2
	pf=$(mktemp "$CW_TMP/port.XXXXXX") || cw_die "mktemp failed"
	: >"$pf"
	cw_spawn "$logfile" "$@" --portfile "$pf"
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$CW_SPAWNED" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$pf" ] || {
		cat "$logfile" >&2
		cw_die "$label did not start"
	}
	read -r CW_PORT _ <"$pf"
}

# cw_v6_usable: true when a socket can be bound to ::1 here (a fresh
# namespace or a host with IPv6 disabled may have no ::1).
cw_v6_usable()
{
	/usr/bin/python3 - <<'EOF' 2>/dev/null
import socket
s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
s.bind(("::1", 0))
EOF
}

# cw_free_port: print a port free for UDP and TCP on 127.0.0.1 and (when
# usable) ::1.  Ports come from 20000-32767, below Linux's ephemeral
# range, so they cannot collide with the source ports of the queries a
# test sends.  Another process may still take the port before the server
# binds it: cw_nsd_start retries with a new port.
cw_free_port()
{
	/usr/bin/python3 - "${CW_HAVE_V6:-1}" <<'EOF'
import random, socket, sys
want_v6 = sys.argv[1] == "1"
addrs = [(socket.AF_INET, "127.0.0.1")]
if want_v6:
    addrs.append((socket.AF_INET6, "::1"))
for _ in range(200):
    port = random.randint(20000, 32767)
    socks = []
    try:
        for fam, addr in addrs:
            for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                s = socket.socket(fam, kind)
                socks.append(s)
                s.bind((addr, port))
    except OSError:
        continue
    finally:
        for s in socks:
            s.close()
    print(port)
    sys.exit(0)
sys.exit("no free port found")
EOF
}

# cw_nsd_conf DIR PORT INDEX ZONE FILE [ZONE FILE]...: print an NSD
# configuration that runs as the current user without chroot, keeps all
# its files in DIR, listens on 127.0.0.1@PORT (and ::1@PORT when usable)
# and serves the zones.  A FILE without a slash is taken from data/.
# NSD_IDENTITY and NSD_NSID name the server (id.server, NSID).
# NSD_ADDRS, when set, lists the addresses to listen on instead (at
# PORT; IPv6 on when one of them is IPv6): the crisis lab's servers in
# its namespace.  NSD_EXTRA_CONF, when set, is added to the server:
# clause verbatim.
cw_nsd_conf()
{
	local dir=$1 port=$2 index=$3 zone file addr v6=no
	shift 3
	cat <<EOF
server:
	username: ""
	chroot: ""
	zonesdir: "$dir"
	pidfile: "$dir/nsd.pid"
	database: ""
	zonelistfile: "$dir/zone.list"
	xfrdfile: "$dir/xfrd.state"
	xfrdir: "$dir"
	logfile: "$dir/nsd.log"
	port: $port
EOF
	if [ -n "${NSD_ADDRS:-}" ]; then
		for addr in $NSD_ADDRS; do
			printf '\tip-address: %s@%s\n' "$addr" "$port"
			case $addr in *:*) v6=yes ;; esac
		done
	else
		printf '\tip-address: 127.0.0.1@%s\n' "$port"
		if [ "$CW_HAVE_V6" = 1 ]; then
			printf '\tip-address: ::1@%s\n' "$port"
			v6=yes
		fi
	fi
	printf '\tdo-ip6: %s\n' "$v6"
	cat <<EOF
	do-ip4: yes
	server-count: 1
	reuseport: no
	verbosity: 1
	hide-version: no
	hide-identity: no
	version: "corewatch-test-nsd"
	identity: "$NSD_IDENTITY"
	nsid: "ascii_$NSD_NSID"
	rrl-ratelimit: 0
	rrl-whitelist-ratelimit: 0
	round-robin: no
	minimal-responses: no
	refuse-any: no
	tcp-count: 256
	zonefiles-write: 0
	${NSD_EXTRA_CONF:-}

remote-control:
	control-enable: no
EOF
	while [ $# -ge 2 ]; do
		zone=$1 file=$2
		shift 2
		case $file in
		*/*) ;;
		*) file="$CW_DATA/$file" ;;
		esac
		printf '\nzone:\n\tname: "%s"\n\tzonefile: "%s"\n' \
		    "$zone" "$file"
	done
}

# cw_dns_answers ADDR PORT: true when a server at ADDR@PORT answers a
# CHAOS id.server query (with any rcode) within one second.
cw_dns_answers()
{
	kdig @"$1" -p "$2" +timeout=1 +retry=0 id.server CH TXT 2>/dev/null |
	    grep -q 'status: '
}

# cw_nsd_start ZONE FILE [ZONE FILE]...: start an NSD serving the zones
# on loopback, wait (at most 10 s) until it answers on every address and
# export NSD_PORT, NSD_PID, NSD_DIR, NSD_IDENTITY, NSD_NSID (the NSID
# text, without NSD's "ascii_" prefix).  May be called several times;
# each instance has its own port, directory, identity and NSID
# (cw-nsd-N.test / cw-nsid-N).  Dies when NSD cannot be started.
cw_nsd_start()
{
	local attempt port dir pid i up
	[ -n "$CW_TMP" ] || cw_die "cw_nsd_start: call cw_tmpdir first"
	[ $# -ge 2 ] && [ $(($# % 2)) = 0 ] ||
	    cw_die "cw_nsd_start: need ZONE FILE pairs"
	CW_NSD_COUNT=$((CW_NSD_COUNT + 1))
	dir="$CW_TMP/nsd.$CW_NSD_COUNT"
	mkdir -p "$dir" || cw_die "cannot create $dir"
	NSD_IDENTITY="cw-nsd-$CW_NSD_COUNT.test"
	NSD_NSID="cw-nsid-$CW_NSD_COUNT"
	for ((attempt = 1; attempt <= 5; attempt++)); do
		port=$(cw_free_port) || cw_die "no free port"
		cw_nsd_conf "$dir" "$port" "$CW_NSD_COUNT" "$@" \
		    >"$dir/nsd.conf"
		rm -f "$dir/nsd.log" "$dir/nsd.pid"
		nsd-checkconf "$dir/nsd.conf" >&2 ||
		    cw_die "nsd-checkconf rejects $dir/nsd.conf"
		cw_spawn "$dir/nsd.out" nsd -d -c "$dir/nsd.conf"
		pid=$CW_SPAWNED
		up=0
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if cw_dns_answers 127.0.0.1 "$port" &&
			    { [ "$CW_HAVE_V6" = 0 ] ||
			    cw_dns_answers ::1 "$port"; }; then
				up=1
				break
			fi
			sleep 0.1
		done
		if [ "$up" = 1 ]; then
			NSD_PORT=$port NSD_PID=$pid NSD_DIR=$dir
			export NSD_PORT NSD_PID NSD_DIR NSD_IDENTITY NSD_NSID
			cw_log "nsd $CW_NSD_COUNT: pid $pid port $port"
			return 0
		fi
		cw_log "nsd did not come up on port $port (attempt $attempt):"
		cat "$dir/nsd.out" "$dir/nsd.log" >&2 2>/dev/null
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	done
	cw_die "cannot start nsd"
}

# cw_web_zone FILE: write the zone web.test to FILE for cw_nsd_start:
# ns and www at 127.0.0.1, and www at ::1 too when CW_HAVE_V6 is 1 (the
# names HTTP tests resolve through DNS).
cw_web_zone()
{
	cat >"$1" <<'EOF'
$ORIGIN web.test.
$TTL 300
@	IN SOA	ns.web.test. hostmaster.web.test. 1 3600 600 86400 300
@	IN NS	ns.web.test.
ns	IN A	127.0.0.1
www	IN A	127.0.0.1
EOF
	if [ "$CW_HAVE_V6" = 1 ]; then
		printf 'www\tIN AAAA\t::1\n' >>"$1"
	fi
}

# cw_fault_start MODE LOG [ARGS...]: start our fault responder
# (tests/fault/dnsfault.py) in MODE on a free loopback port, its query
# log in LOG and further options ARGS; wait (at most 10 s) until it
# listens and set FAULT_PORT and FAULT_PID.  Dies when it cannot start.
cw_fault_start()
{
	local mode=$1 log=$2
	shift 2
	cw_spawn_port "dnsfault $mode" "$log.out" /usr/bin/python3 \
	    "$CW_SCENARIO_DIR/../fault/dnsfault.py" --mode "$mode" \
	    --log "$log" --lifetime 120 "$@"
	FAULT_PID=$CW_SPAWNED FAULT_PORT=$CW_PORT
	cw_log "dnsfault $mode: pid $FAULT_PID port $FAULT_PORT"
}

# The body nginx answers for / (the fixture's known page).
CW_NGINX_BODY=$'corewatch test page\n'

# cw_tls_conf DIR: print the OpenSSL configuration of the test CA in DIR
# (for `openssl req` and `openssl ca`).  The subjectAltName of the
# certificate being made comes from the environment (CW_TLS_SAN).
cw_tls_conf()
{
	local dir=$1
	cat <<EOF2
[ req ]
distinguished_name = cw_dn
x509_extensions = cw_ca_ext
[ cw_dn ]
[ cw_ca_ext ]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
[ cw_selfsigned_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
subjectAltName = \$ENV::CW_TLS_SAN
[ ca ]
default_ca = cw_ca
[ cw_ca ]
database = $dir/index.txt
new_certs_dir = $dir/issued
serial = $dir/serial
certificate = $dir/ca.crt
private_key = $dir/ca.key
default_md = sha256
default_days = 30
policy = cw_policy
unique_subject = no
copy_extensions = none
email_in_dn = no
x509_extensions = cw_server_ext
[ cw_policy ]
organizationName = optional
commonName = supplied
[ cw_server_ext ]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid:always
subjectAltName = \$ENV::CW_TLS_SAN
EOF2
}

# cw_tls_ca DIR: make a throwaway test CA in DIR (EC P-256, 30 days):
# DIR/ca.crt (subject "O=corewatch test, CN=corewatch test CA"),
# DIR/ca.key and what `openssl ca` keeps.  Dies when openssl fails.
cw_tls_ca()
{
	local dir=$1
	mkdir -p "$dir/issued" || cw_die "cannot create $dir"
	cw_tls_conf "$dir" >"$dir/ca.cnf"
	: >"$dir/index.txt"
	echo 1000 >"$dir/serial"
	CW_TLS_SAN=DNS:unused openssl req -x509 -config "$dir/ca.cnf" \
	    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/ca.key" -out "$dir/ca.crt" -days 30 \
	    -subj "/O=corewatch test/CN=corewatch test CA" \
	    >"$dir/openssl.log" 2>&1 || {
		cat "$dir/openssl.log" >&2
		cw_die "cannot make the test CA"
	}
}

# cw_tls_cert DIR NAME CN SAN [STARTDATE ENDDATE]: make DIR/NAME.key and
# DIR/NAME.crt for subject "O=corewatch test, CN=CN" with the
# subjectAltName SAN (e.g. "DNS:good.test,IP:127.0.0.1"), signed by the
# CA of cw_tls_ca DIR; valid 30 days from now, or from STARTDATE to
# ENDDATE (YYYYMMDDHHMMSSZ, e.g. both in the past).  Dies on failure.
cw_tls_cert()
{
	local dir=$1 name=$2 cn=$3 san=$4 dates
	dates=(-days 30)
	[ $# -ge 6 ] && dates=(-startdate "$5" -enddate "$6")
	CW_TLS_SAN=$san openssl req -new -config "$dir/ca.cnf" \
	    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/$name.key" -out "$dir/$name.csr" \
	    -subj "/O=corewatch test/CN=$cn" >>"$dir/openssl.log" 2>&1 &&
	CW_TLS_SAN=$san openssl ca -batch -notext -config "$dir/ca.cnf" \
	    "${dates[@]}" -in "$dir/$name.csr" -out "$dir/$name.crt" \
	    >>"$dir/openssl.log" 2>&1 || {
		cat "$dir/openssl.log" >&2
		cw_die "cannot make the certificate $name"
	}
}

# cw_tls_selfsigned DIR NAME CN SAN: make DIR/NAME.key and DIR/NAME.crt,
# self-signed (not from the test CA), 30 days, with the SAN given.
cw_tls_selfsigned()
{
	local dir=$1 name=$2 cn=$3 san=$4
	CW_TLS_SAN=$san openssl req -x509 -config "$dir/ca.cnf" \
	    -extensions cw_selfsigned_ext \
	    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$dir/$name.key" -out "$dir/$name.crt" -days 30 \
	    -subj "/O=corewatch self-signed/CN=$cn" \
	    >>"$dir/openssl.log" 2>&1 || {
		cat "$dir/openssl.log" >&2
		cw_die "cannot make the self-signed certificate $name"
	}
}

# cw_httpslow_start: start our slow/rude HTTP responder
# (tests/fault/httpslow.py) on 127.0.0.1, a free port; wait (at most
# 10 s) until it listens and export SLOW_PORT, SLOW_PID and SLOW_LOG
# (one line per request: "MONOTONIC-SECONDS PATH").  Dies when it
# cannot start.
cw_httpslow_start()
{
	SLOW_LOG="$CW_TMP/httpslow.log"
	cw_spawn_port httpslow "$SLOW_LOG.out" /usr/bin/python3 \
	    "$CW_SCENARIO_DIR/../fault/httpslow.py" \
	    --log "$SLOW_LOG" --delay 3 --lifetime 300
	SLOW_PID=$CW_SPAWNED SLOW_PORT=$CW_PORT
	export SLOW_PORT SLOW_PID SLOW_LOG
	cw_log "httpslow: pid $SLOW_PID port $SLOW_PORT"
}

# cw_nginx_locations: print the locations every test server has.
cw_nginx_locations()
{
	cat <<EOF2
		location = / {
			default_type text/plain;
			return 200 "corewatch test page\n";
		}
		location = /redirect { return 301 /; }
		location = /503 { return 503; }
		location = /huge {
			default_type application/octet-stream;
			alias $NGINX_DIR/huge;
		}
		location = /slow {
			proxy_pass http://127.0.0.1:$SLOW_PORT;
			proxy_read_timeout 60s;
		}
		location = /reset {
			proxy_pass http://127.0.0.1:$SLOW_PORT;
			proxy_read_timeout 60s;
		}
		location = /empty { return 444; }
		location = /cw-ready {
			access_log off;
			return 204;
		}
EOF2
}

# cw_nginx_listen PORT [ssl]: print the listen lines of one server.
cw_nginx_listen()
{
	printf '\t\tlisten 127.0.0.1:%s %s;\n' "$1" "${2:-}"
	[ "$CW_HAVE_V6" = 1 ] && printf '\t\tlisten [::1]:%s %s;\n' "$1" "${2:-}"
	return 0
}

# cw_nginx_main DIR: print the start of a test's nginx.conf, up to and
# into its http block: in the foreground, one worker, its pid, error log
# and temporary files in DIR (DIR/tmp must exist).
cw_nginx_main()
{
	local dir=$1
	[ "$(id -u)" = 0 ] && echo "user root;"
	cat <<EOF2
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log info;
events {
	worker_connections 4096;
}
http {
	client_body_temp_path $dir/tmp/body;
	proxy_temp_path $dir/tmp/proxy;
	fastcgi_temp_path $dir/tmp/fastcgi;
	uwsgi_temp_path $dir/tmp/uwsgi;
	scgi_temp_path $dir/tmp/scgi;
EOF2
}

# cw_nginx_conf: print the fixture's nginx.conf (ports and paths from
# the NGINX_* variables).
cw_nginx_conf()
{
	local dir=$NGINX_DIR tls=$NGINX_TLS_DIR name cert port listen
	cw_nginx_main "$dir"
	cat <<EOF2
	log_format cw '\$server_port \$remote_addr "\$request" \$status '
	    '\$body_bytes_sent "\$ssl_protocol" "\$ssl_server_name" "\$http_host" '
	    '\$connection "\$http_x_cw_test"';
	access_log $dir/access.log cw;
	sendfile on;
	server_tokens off;
	keepalive_timeout 10s;
	server {
$(cw_nginx_listen "$NGINX_HTTP_PORT")
		server_name _;
$(cw_nginx_locations)
	}
EOF2
	for name in good expired wronghost selfsigned h2; do
		cert=$name listen=ssl
		case $name in
		good) port=$NGINX_HTTPS_PORT ;;
		expired) port=$NGINX_EXPIRED_PORT ;;
		wronghost) port=$NGINX_WRONGHOST_PORT ;;
		selfsigned) port=$NGINX_SELFSIGNED_PORT ;;
		h2) port=$NGINX_H2_PORT cert=good listen="ssl http2" ;;
		esac
		cat <<EOF2
	server {
$(cw_nginx_listen "$port" "$listen")
		server_name _;
		ssl_certificate $tls/$cert.crt;
		ssl_certificate_key $tls/$cert.key;
		ssl_protocols TLSv1.2 TLSv1.3;
$(cw_nginx_locations)
	}
EOF2
	done
	echo "}"
}

# cw_nginx_ready: true when nginx answers /cw-ready on every port and
# address (curl, no proxy, one second each; TLS not verified here).
cw_nginx_ready()
{
	local port addr addrs=(127.0.0.1)
	[ "$CW_HAVE_V6" = 1 ] && addrs+=("[::1]")
	for addr in "${addrs[@]}"; do
		curl -s --noproxy '*' -o /dev/null --max-time 1 -f \
		    "http://$addr:$NGINX_HTTP_PORT/cw-ready" || return 1
		for port in "$NGINX_HTTPS_PORT" "$NGINX_EXPIRED_PORT" \
		    "$NGINX_WRONGHOST_PORT" "$NGINX_SELFSIGNED_PORT" \
		    "$NGINX_H2_PORT"; do
			curl -s -k --noproxy '*' -o /dev/null --max-time 1 -f \
			    "https://$addr:$port/cw-ready" || return 1
		done
	done
}

# cw_nginx_start: start Debian's nginx on loopback as the test's web
# server.  Makes a throwaway CA and certificates in NGINX_TLS_DIR, a
# 50 MiB file, starts the slow responder (cw_httpslow_start), then nginx
# (daemon off, master process on, tracked by pid; everything it writes
# in NGINX_DIR), and waits (at most 10 s) until it answers on every
# port and address (127.0.0.1, and [::1] when CW_HAVE_V6=1); retries
# with new ports when one was taken.  Dies when nginx cannot start.
# Exports:
#   NGINX_HTTP_PORT	plain HTTP
#   NGINX_HTTPS_PORT	HTTPS, certificate `good`: CN good.test, SAN
#			DNS:good.test DNS:localhost IP:127.0.0.1 IP:::1
#   NGINX_EXPIRED_PORT	HTTPS, `expired`: SAN as good, valid only in 2020
#   NGINX_WRONGHOST_PORT	HTTPS, `wronghost`: CN and SAN other.test only
#   NGINX_SELFSIGNED_PORT	HTTPS, `selfsigned`: SAN as good, not from the CA
#   NGINX_H2_PORT	HTTPS with HTTP/2 (ALPN h2, and http/1.1 for a client
#			that does not offer h2), certificate `good`
#   NGINX_CA		the test CA's certificate (PEM), for --cacert
#   NGINX_PID NGINX_DIR	the master's pid; nginx.conf, logs
#   NGINX_ACCESS_LOG	one line per request: PORT CLIENT "REQUEST-LINE"
#			STATUS BODY-BYTES "TLS-VERSION" "SNI" "HOST" CONNECTION
#			"X-CW-TEST" (CONNECTION: nginx's connection serial
#			number; X-CW-TEST: that request header, or -)
#   NGINX_HUGE_FILE	what /huge serves: 50 MiB (52428800 bytes) of the
#			line "corewatch huge body 0123456789abcdef"
#   NGINX_TLS_DIR	NAME.crt / NAME.key of every certificate, ca.crt
#   SLOW_PORT SLOW_PID SLOW_LOG	the slow responder, reachable directly
# Every server (plain and HTTPS) has the same locations:
#   /		200, text/plain, the body $CW_NGINX_BODY
#   /redirect	301 to / (absolute: Location http(s)://HOST:PORT/)
#   /503		503
#   /huge	200, NGINX_HUGE_FILE
#   /slow	200 "corewatch slow page\n", first byte after 3 s
#		(nginx proxies to the slow responder)
#   /reset	502 from nginx (the responder resets nginx's upstream
#		connection; nginx does not pass an RST on).  A real RST
#		before any reply: http://127.0.0.1:$SLOW_PORT/reset, the
#		responder itself (and /slow there: 3 s, then 200).
#   /empty	nothing: nginx closes the connection (return 444)
#   /cw-ready	204, not logged (the readiness check)
cw_nginx_start()
{
	local attempt pid i up
	[ -n "$CW_TMP" ] || cw_die "cw_nginx_start: call cw_tmpdir first"
	NGINX_DIR="$CW_TMP/nginx" NGINX_TLS_DIR="$CW_TMP/tls"
	NGINX_ACCESS_LOG="$NGINX_DIR/access.log"
	NGINX_HUGE_FILE="$NGINX_DIR/huge"
	mkdir -p "$NGINX_DIR/tmp" "$NGINX_TLS_DIR" ||
	    cw_die "cannot create $NGINX_DIR"
	cw_tls_ca "$NGINX_TLS_DIR"
	NGINX_CA="$NGINX_TLS_DIR/ca.crt"
	cw_tls_cert "$NGINX_TLS_DIR" good good.test \
	    "DNS:good.test,DNS:localhost,IP:127.0.0.1,IP:::1"
	cw_tls_cert "$NGINX_TLS_DIR" expired good.test \
	    "DNS:good.test,DNS:localhost,IP:127.0.0.1,IP:::1" \
	    20200101000000Z 20200201000000Z
	cw_tls_cert "$NGINX_TLS_DIR" wronghost other.test "DNS:other.test"
	cw_tls_selfsigned "$NGINX_TLS_DIR" selfsigned good.test \
	    "DNS:good.test,DNS:localhost,IP:127.0.0.1,IP:::1"
	yes 'corewatch huge body 0123456789abcdef' | head -c 52428800 \
	    >"$NGINX_HUGE_FILE" || cw_die "cannot write $NGINX_HUGE_FILE"
	[ -n "${SLOW_PID:-}" ] || cw_httpslow_start
	for ((attempt = 1; attempt <= 5; attempt++)); do
		NGINX_HTTP_PORT=$(cw_free_port) &&
		NGINX_HTTPS_PORT=$(cw_free_port) &&
		NGINX_EXPIRED_PORT=$(cw_free_port) &&
		NGINX_WRONGHOST_PORT=$(cw_free_port) &&
		NGINX_SELFSIGNED_PORT=$(cw_free_port) &&
		NGINX_H2_PORT=$(cw_free_port) || cw_die "no free port"
		cw_nginx_conf >"$NGINX_DIR/nginx.conf"
		rm -f "$NGINX_DIR/nginx.pid" "$NGINX_DIR/error.log"
		/usr/sbin/nginx -t -q -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" \
		    -c "$NGINX_DIR/nginx.conf" >&2 ||
		    cw_die "nginx -t rejects $NGINX_DIR/nginx.conf"
		cw_spawn "$NGINX_DIR/nginx.out" /usr/sbin/nginx \
		    -p "$NGINX_DIR" -e "$NGINX_DIR/error.log" \
		    -c "$NGINX_DIR/nginx.conf"
		pid=$CW_SPAWNED
		up=0
		for ((i = 0; i < 100; i++)); do
			kill -0 "$pid" 2>/dev/null || break
			if cw_nginx_ready; then
				up=1
				break
			fi
			sleep 0.1
		done
		if [ "$up" = 1 ]; then
			NGINX_PID=$pid
			export NGINX_HTTP_PORT NGINX_HTTPS_PORT NGINX_EXPIRED_PORT \
			    NGINX_WRONGHOST_PORT NGINX_SELFSIGNED_PORT \
			    NGINX_H2_PORT NGINX_CA \
			    NGINX_PID NGINX_DIR NGINX_ACCESS_LOG NGINX_HUGE_FILE \
			    NGINX_TLS_DIR
			cw_log "nginx: pid $pid ports http $NGINX_HTTP_PORT" \
			    "https $NGINX_HTTPS_PORT expired $NGINX_EXPIRED_PORT" \
			    "wronghost $NGINX_WRONGHOST_PORT" \
			    "selfsigned $NGINX_SELFSIGNED_PORT h2 $NGINX_H2_PORT"
			return 0
		fi
		cw_log "nginx did not come up (attempt $attempt):"
		cat "$NGINX_DIR/nginx.out" "$NGINX_DIR/error.log" >&2 2>/dev/null
		cw_stop "$pid"
	done
	cw_die "cannot start nginx"
}

# cw_pg_bin: print the directory of Debian's PostgreSQL server programs
# (the newest version installed), or $CW_PG_BIN when set.
cw_pg_bin()
{
	if [ -n "${CW_PG_BIN:-}" ]; then
		printf '%s\n' "$CW_PG_BIN"
	else
		ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
	fi
}

# cw_pg_run COMMAND...: run COMMAND as the owner of the PostgreSQL
# cluster: the `postgres` system user when we are root (initdb and the
# server refuse to run as root), ourselves otherwise.
cw_pg_run()
{
	if [ "$(id -u)" = 0 ]; then
		runuser -u postgres -- "$@"
	else
		"$@"
	fi
}

# cw_pg_start: start the test's PostgreSQL cluster, creating it on the
# first call in $CW_TMP/pg, or in $PG_DIR when the caller set it (a
# cluster kept after the test: its parent directories must let the
# `postgres` user through), unless it holds one (initdb, database
# `corewatch`); after cw_pg_stop a second call starts the same cluster
# again, with the same data and URL.  The server listens on a unix socket in $PG_DIR only (no
# TCP), with fsync and synchronous_commit on, trusting local users.
# Waits (at most 30 s) until it accepts connections; exports CW_PG_URL
# (a libpq URI), PG_PID (the postmaster) and PG_DIR.  The EXIT trap
# stops it.  Dies when it cannot be started.
cw_pg_start()
{
	local bin i
	[ -n "$CW_TMP" ] || cw_die "cw_pg_start: call cw_tmpdir first"
	bin=$(cw_pg_bin)
	[ -x "$bin/pg_ctl" ] || cw_die "no PostgreSQL server programs in '$bin'"
	[ -n "$PG_DIR" ] || PG_DIR="$CW_TMP/pg"
	if [ ! -d "$PG_DIR/data" ]; then
		mkdir -p "$PG_DIR" || cw_die "cannot create $PG_DIR"
		if [ "$(id -u)" = 0 ]; then
			# mktemp -d made $CW_TMP 0700: let postgres through.
			chmod 0711 "$CW_TMP" && chown postgres: "$PG_DIR" ||
			    cw_die "cannot hand $PG_DIR to postgres"
		fi
		cw_pg_run test -w "$PG_DIR" ||
		    cw_die "$PG_DIR is not reachable for the cluster's owner"
		# -N: initdb's own flush is not what a test measures.
		cw_pg_run timeout 120 "$bin/initdb" -D "$PG_DIR/data" \
		    -U postgres -A trust -E UTF8 --locale=C -N \
		    >"$PG_DIR/initdb.log" 2>&1 || {
			cat "$PG_DIR/initdb.log" >&2
			cw_die "initdb failed"
		}
		cat >>"$PG_DIR/data/postgresql.conf" <<EOF
listen_addresses = ''
unix_socket_directories = '$PG_DIR'
port = 5432
fsync = on
synchronous_commit = on
max_connections = 20
shared_buffers = 16MB
EOF
	fi
	cw_pg_run "$bin/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" \
	    -w -t 30 start >"$PG_DIR/pg_ctl.out" 2>&1 || {
		cat "$PG_DIR/pg_ctl.out" "$PG_DIR/postgres.log" >&2
		[ -r "$PG_DIR/data/postmaster.pid" ] &&
		    read -r PG_PID <"$PG_DIR/data/postmaster.pid"
		cw_die "PostgreSQL did not start"
	}
	read -r PG_PID <"$PG_DIR/data/postmaster.pid" ||
	    cw_die "no postmaster.pid in $PG_DIR/data"
	for ((i = 0; i < 100; i++)); do
		[ -S "$PG_DIR/.s.PGSQL.5432" ] && break
		sleep 0.1
	done
	[ -S "$PG_DIR/.s.PGSQL.5432" ] || cw_die "no socket in $PG_DIR"
	if [ ! -e "$PG_DIR/created" ]; then
		cw_pg_run "$bin/createdb" -h "$PG_DIR" -p 5432 -U postgres \
		    corewatch || cw_die "createdb corewatch failed"
		: >"$PG_DIR/created"
	fi
	CW_PG_URL="postgresql:///corewatch?host=$PG_DIR&port=5432&user=postgres"
	export CW_PG_URL PG_PID PG_DIR
	cw_log "postgresql: pid $PG_PID, socket in $PG_DIR"
}

# cw_pg_stop: stop the cluster now (fast shutdown: clients are cut off),
# waiting at most 30 s; its data stays for cw_pg_start.
cw_pg_stop()
{
	local i
	[ -n "$PG_PID" ] || return 0
	cw_pg_run "$(cw_pg_bin)/pg_ctl" -D "$PG_DIR/data" -m fast -w -t 30 \
	    stop >&2 || cw_log "pg_ctl stop failed"
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	kill -0 "$PG_PID" 2>/dev/null && cw_die "postgres $PG_PID did not stop"
	PG_PID=
}

# cw_pg_kill: the EXIT trap's part: an immediate shutdown (SIGQUIT to
# the postmaster, by pid), SIGKILL when it is still there after 10 s.
cw_pg_kill()
{
	local i
	[ -n "$PG_PID" ] || return 0
	kill -QUIT "$PG_PID" 2>/dev/null
	for ((i = 0; i < 100; i++)); do
		kill -0 "$PG_PID" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$PG_PID" 2>/dev/null; then
		cw_log "postgres $PG_PID ignored SIGQUIT; killing it"
		kill -KILL "$PG_PID" 2>/dev/null
	fi
	PG_PID=
}

# cw_collector_db: the database of a collector test: the test's own
# PostgreSQL cluster (cw_pg_start) when CW_COLLECTOR_DB=postgresql, else
# SQLite in $CW_TMP/collector.db.  Sets COLLECTOR_DB to its URL.
cw_collector_db()
{
	if [ "${CW_COLLECTOR_DB:-sqlite}" = postgresql ]; then
		cw_pg_start
		COLLECTOR_DB=$CW_PG_URL
	else
		COLLECTOR_DB="sqlite:$CW_TMP/collector.db"
	fi
}

# cw_collector_up LOGFILE: one start of `$COLLECTOR serve` as
# cw_collector_start describes it, on COLLECTOR_PORT; true when /healthz
# answers within 10 s.  Otherwise shows the log's tail, stops it and
# clears COLLECTOR_PID.
cw_collector_up()
{
	local log=$1 i in_ns=()
	[ -n "$CW_COLLECTOR_NS" ] && in_ns=(ip netns exec "$CW_COLLECTOR_NS")
	COLLECTOR_URL="http://$CW_COLLECTOR_ADDR:$COLLECTOR_PORT"
	cw_spawn "$log" "${in_ns[@]}" "$COLLECTOR" serve \
	    --listen "$CW_COLLECTOR_ADDR:$COLLECTOR_PORT" \
	    "${CW_COLLECTOR_ARGS[@]}"
	COLLECTOR_PID=$CW_SPAWNED
	for ((i = 0; i < 100; i++)); do
		kill -0 "$COLLECTOR_PID" 2>/dev/null || break
		"${in_ns[@]}" curl -sf --noproxy '*' --max-time 1 -o /dev/null \
		    "$COLLECTOR_URL/healthz" 2>/dev/null && return 0
		sleep 0.1
	done
	cw_log "the collector did not come up on $COLLECTOR_URL; $log ends:"
	tail -n 40 "$log" >&2
	cw_stop "$COLLECTOR_PID"
	COLLECTOR_PID=
	return 1
}

# cw_collector_start [-n NETNS] [-a ADDR] LOGFILE ARGS...: start
# `$COLLECTOR serve --listen ADDR:PORT ARGS...` (ADDR 127.0.0.1 unless
# given; ARGS such as --db URL or -c FILE: --listen wins over a listen
# in FILE) on a free port, in the background with its output in LOGFILE,
# tracked by pid, inside the network namespace NETNS when given; wait
# (at most 10 s) until GET /healthz answers 2xx, and try again on
# another port (5 starts at most) when it did not come up, e.g. because
# the port was taken meanwhile.  Sets COLLECTOR_PORT, COLLECTOR_PID and
# COLLECTOR_URL (http://ADDR:PORT).  Dies, after the log's tail, when it
# cannot be started.
cw_collector_start()
{
	local opt attempt OPTIND=1
	CW_COLLECTOR_NS= CW_COLLECTOR_ADDR=127.0.0.1
	while getopts n:a: opt; do
		case $opt in
		n) CW_COLLECTOR_NS=$OPTARG ;;
		a) CW_COLLECTOR_ADDR=$OPTARG ;;
		*) cw_die "cw_collector_start: bad option" ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -ge 1 ] || cw_die "cw_collector_start: no LOGFILE"
	[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR (make builds it)"
	CW_COLLECTOR_ARGS=("${@:2}")
	for ((attempt = 1; attempt <= 5; attempt++)); do
		COLLECTOR_PORT=$(cw_free_port) || cw_die "no free port"
		if cw_collector_up "$1"; then
			cw_log "collector: pid $COLLECTOR_PID on $COLLECTOR_URL"
			return 0
		fi
	done
	cw_die "the collector did not start"
}

# cw_collector_restart LOGFILE: start the collector again as the last
# cw_collector_start did (same port, address, namespace and ARGS: the
# same database), e.g. after cw_collector_stop; its output in LOGFILE.
# Sets COLLECTOR_PID.  Dies, after the log's tail, when it does not
# answer /healthz within 10 s (the port is not changed).
cw_collector_restart()
{
	[ -n "$COLLECTOR_PORT" ] || cw_die "cw_collector_restart: no collector"
	cw_collector_up "$1" || cw_die "the collector did not start again"
	cw_log "collector: pid $COLLECTOR_PID on $COLLECTOR_URL again"
}

# cw_collector_stop [SIGNAL]: send SIGNAL (default TERM; KILL for a
# crash) to the collector of cw_collector_start, wait at most 10 s for
# it to exit (then KILL it), forget it and set CW_STATUS to its exit
# status.  Its database stays, for cw_collector_restart.
cw_collector_stop()
{
	[ -n "$COLLECTOR_PID" ] || cw_die "cw_collector_stop: no collector"
	kill -"${1:-TERM}" "$COLLECTOR_PID" 2>/dev/null
	cw_wait "$COLLECTOR_PID" 10
	COLLECTOR_PID=
}

# cw_get PATH OUT [curl args...]: GET PATH of the collector of
# cw_collector_start into the file OUT; sets STATUS (000: no answer).
cw_get()
{
	local path=$1 out=$2
	shift 2
	STATUS=$(curl -sS -o "$out" -w '%{http_code}' --max-time 10 "$@" \
	    "$COLLECTOR_URL$path" 2>"$CW_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
}

# cw_probe_key KEYFILE: a new probe key from `corewatch keygen`, which
# prints "probe ID" and "pubkey HEX" into KEYFILE.pub; sets PROBE_ID and
# PROBE_PUBKEY.  Dies when keygen fails.
cw_probe_key()
{
	"$COREWATCH" keygen --key "$1" >"$1.pub" 2>"$1.err" || {
		cat "$1.err" >&2
		cw_die "keygen $1 failed"
	}
	PROBE_ID=$(awk '$1 == "probe" { print $2 }' "$1.pub")
	PROBE_PUBKEY=$(awk '$1 == "pubkey" { print $2 }' "$1.pub")
}

# cw_probe_enroll DB NAME PUBKEY: enroll the probe key PUBKEY (hex) as
# NAME in the collector's database DB (`corewatch-collector probe add`).
# Dies when it is refused.
cw_probe_enroll()
{
	"$COLLECTOR" probe add --db "$1" --name "$2" --pubkey "$3" \
	    >/dev/null || cw_die "probe add $2 failed"
}

# cw_batch_post BODY AUTH [curl args...]: POST the signed batch in the
# file BODY (ndjson), with the Authorization value in the file AUTH, to
# the collector of cw_collector_start; its answer in $CW_TMP/resp.  Sets
# CW_HTTP_STATUS (000: no answer).
cw_batch_post()
{
	local body=$1 auth=$2
	shift 2
	CW_HTTP_STATUS=$(curl -sS -o "$CW_TMP/resp" -w '%{http_code}' \
	    --max-time 30 -H "Content-Type: application/x-ndjson" \
	    -H "Authorization: $(cat "$auth")" --data-binary "@$body" "$@" \
	    "$COLLECTOR_URL/api/v1/batches" 2>"$CW_TMP/curl.err")
	[ -n "$CW_HTTP_STATUS" ] || CW_HTTP_STATUS=000
}

# cw_chain_check [--probe ID] [--chain ID] [--pubkey HEX] FILE [MUST...]:
# check the records of one chain and print a JSON summary on stdout.
# FILE holds JSON lines (the collector's `export --format jsonl`) or is
# a spool export (`corewatch spool export`: CW1-BATCH framed batches);
# each MUST is an earlier spool export, whose record lines must all be
# in FILE byte for byte.  --chain: only that chain's records count;
# --probe: every batch and record must be that probe's; --pubkey: each
# batch's signature is checked (openssl).  Exits 1, saying why on
# stderr, when FILE is not well formed: a bad batch frame, a record
# whose first keys are not probe, chain, seq, prev, type, another
# probe's, or a second chain.  The summary's keys:
#   records	record lines;	batches	batches (spool export)
#   first last	lowest and highest seq (0 without records)
#   twice	record lines whose seq came already
#   unordered	record lines whose seq is not above the line before's
#   linked	records whose prev is the hash of the record before
#   broken	records whose prev is not that hash (when that record is
#		there), or seq 1 with a prev other than zeros
#   holes	seqs from first to last neither there nor named by a loss
#   losses reasons	loss records, and their reasons in seq order
#   dups	DNS measurements there twice (same time, addr, proto, name)
#   heartbeats	heartbeat records;	bad_sigs	batches failing --pubkey
#   missing changed checked	MUST record lines not in FILE, in FILE
#		with other bytes, and looked at
cw_chain_check()
{
	local probe= chain= pubkey=
	while [ $# -gt 0 ]; do
		case $1 in
		--probe) probe=$2 ;;
		--chain) chain=$2 ;;
		--pubkey) pubkey=$2 ;;
		*) break ;;
		esac
		shift 2
	done
	/usr/bin/python3 - "$CW_TMP" "$probe" "$chain" "$pubkey" "$@" <<'EOF'
import base64, hashlib, json, os, subprocess, sys

tmp, probe, chain, pub, path = sys.argv[1:6]
musts = sys.argv[6:]
ZERO = "0" * 64
ENVELOPE = ["probe", "chain", "seq", "prev", "type"]

def batches(data):
    at = 0
    while at < len(data):
        nl = data.index(b"\n", at)
        magic, pid, sig, n = data[at:nl].decode().split(" ")
        if magic != "CW1-BATCH":
            sys.exit("not a batch header: %r" % magic)
        n = int(n)
        body = data[nl + 1:nl + 1 + n]
        if len(body) != n or not body.endswith(b"\n"):
            sys.exit("a short batch")
        yield pid, sig, body
        at = nl + 1 + n

def verify(pid, sig, body):
    der = bytes.fromhex("302a300506032b6570032100") + bytes.fromhex(pub)
    files = [os.path.join(tmp, "chaincheck." + n)
             for n in ("pem", "msg", "sig")]
    with open(files[0], "w") as f:
        f.write("-----BEGIN PUBLIC KEY-----\n%s\n-----END PUBLIC KEY-----\n"
                % base64.b64encode(der).decode())
    with open(files[1], "wb") as f:
        f.write(b"corewatch-batch-v1\n" + pid.encode() + b"\n" +
                hashlib.sha256(body).hexdigest().encode() + b"\n")
    with open(files[2], "wb") as f:
        f.write(base64.b64decode(sig))
    r = subprocess.run(["openssl", "pkeyutl", "-verify", "-pubin", "-inkey",
                        files[0], "-rawin", "-in", files[1], "-sigfile",
                        files[2]], capture_output=True)
    return r.returncode == 0

data = open(path, "rb").read()
nbatches = bad_sigs = 0
if data.startswith(b"CW1-BATCH "):
    lines = []
    for pid, sig, body in batches(data):
        nbatches += 1
        if probe and pid != probe:
            sys.exit("a batch of probe %s" % pid)
        if pub and not verify(pid, sig, body):
            bad_sigs += 1
        lines += body[:-1].split(b"\n")
else:
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
by, chains = {}, set()
records = twice = unordered = 0
before = None
for line in lines:
    r = json.loads(line)
    if list(r)[:5] != ENVELOPE:
        sys.exit("a record's first keys: %s" % list(r)[:5])
    if chain and r["chain"] != chain:
        continue
    if probe and r["probe"] != probe:
        sys.exit("a record of probe %s" % r["probe"])
    chains.add(r["chain"])
    if len(chains) > 1:
        sys.exit("two chains")
    s = r["seq"]
    records += 1
    twice += s in by
    unordered += before is not None and s <= before
    before = s
    by.setdefault(s, (line, r))
seqs = sorted(by)
linked = broken = dups = heartbeats = 0
covered, seen, reasons = set(), set(), []
for s in seqs:
    line, r = by[s]
    if s == 1:
        broken += r["prev"] != ZERO
    elif s - 1 in by:
        if r["prev"] == hashlib.sha256(by[s - 1][0]).hexdigest():
            linked += 1
        else:
            broken += 1
    if r["type"] == "loss":
        covered.update(range(r["lost"]["first_seq"],
                             r["lost"]["last_seq"] + 1))
        reasons.append(r["reason"])
    elif r["type"] == "dns":
        k = (r["time"], r["addr"], r["proto"], r.get("name"))
        dups += k in seen
        seen.add(k)
    elif r["type"] == "heartbeat":
        heartbeats += 1
first, last = (seqs[0], seqs[-1]) if seqs else (0, 0)
holes = sum(1 for s in range(first, last + 1)
            if s not in by and s not in covered) if seqs else 0
missing = changed = checked = 0
for m in musts:
    for _, _, body in batches(open(m, "rb").read()):
        for line in body[:-1].split(b"\n"):
            s = json.loads(line)["seq"]
            checked += 1
            if s not in by:
                missing += 1
            elif by[s][0] != line:
                changed += 1
print(json.dumps({"records": records, "batches": nbatches, "first": first,
                  "last": last, "twice": twice, "unordered": unordered,
                  "linked": linked, "broken": broken, "holes": holes,
                  "losses": len(reasons), "reasons": reasons, "dups": dups,
                  "heartbeats": heartbeats, "bad_sigs": bad_sigs,
                  "missing": missing, "changed": changed,
                  "checked": checked}))
EOF
}

# cw_netns_create NAME: create the network namespace NAME-<pid> with lo
# up and nothing else (no route beyond loopback: every other destination
# is network_unreachable), record it for the trap and set CW_NS to its
# name.  Run commands in it with: ip netns exec "$CW_NS" CMD.
cw_netns_create()
{
	CW_NS="$1-$$"
	ip netns add "$CW_NS" || cw_die "ip netns add $CW_NS failed"
	CW_NETNS+=("$CW_NS")
	ip -n "$CW_NS" link set lo up || cw_die "lo up in $CW_NS failed"
}

# cw_netns_isolate NAME HOSTS: run the calling test script again, from
# the start, inside a fresh network namespace (loopback only: a packet
# to any other address fails locally) and a mount namespace of its own
# where /etc/hosts holds the lines HOSTS (less those of IPv6 addresses
# when ::1 is not usable in the namespace) and /etc/resolv.conf names
# only 127.0.0.1 (where no server listens), then exit with its status.  In
# the copy inside (CW_ISOLATED set to the namespace's name) it returns
# at once.  For tests of code that resolves names: nothing they look up
# can leave the machine.  Call it before cw_tmpdir; the copy outside
# makes a work directory and the namespace, which its trap removes.
cw_netns_isolate()
{
	local name=$1 hosts=$2
	[ -n "${CW_ISOLATED:-}" ] && return 0
	cw_tmpdir
	cw_netns_create "$name"
	if ip netns exec "$CW_NS" bash -c '. "$1"; cw_v6_usable' _ \
	    "$CW_SCENARIO_DIR/lib.sh"; then
		printf '%s\n' "$hosts" >"$CW_TMP/hosts"
	else
		printf '%s\n' "$hosts" | grep -v '^[^ 	]*:' >"$CW_TMP/hosts"
	fi
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' \
	    >"$CW_TMP/resolv.conf"
	CW_ISOLATED=$CW_NS ip netns exec "$CW_NS" \
	    unshare -m --propagation private bash -c '
		mount --bind "$1" /etc/hosts &&
		mount --bind "$2" /etc/resolv.conf &&
		exec bash "$3"' _ "$CW_TMP/hosts" "$CW_TMP/resolv.conf" "$0"
	exit $?
}

# cw_netns_veth NS ADDR4/PREFIX: give namespace NS a veth pair whose two
# ends both live inside NS, the first with the IPv4 address given and
# no IPv6 address: IPv4 then has an on-link route, IPv6 still has none.
cw_netns_veth()
{
	local ns=$1 addr=$2
	ip -n "$ns" link add cwv0 type veth peer name cwv1 ||
	    cw_die "veth in $ns failed"
	ip netns exec "$ns" sysctl -qw net.ipv6.conf.cwv0.disable_ipv6=1 \
	    net.ipv6.conf.cwv1.disable_ipv6=1
	ip -n "$ns" addr add "$addr" dev cwv0 || cw_die "address $addr failed"
	ip -n "$ns" link set cwv0 up && ip -n "$ns" link set cwv1 up ||
	    cw_die "veth up in $ns failed"
}

# cw_netns_destroy NS: delete a namespace before the trap would.
cw_netns_destroy()
{
	local ns=$1 i keep=()
	ip netns delete "$ns" 2>/dev/null
	for i in "${CW_NETNS[@]}"; do
		[ "$i" = "$ns" ] || keep+=("$i")
	done
	CW_NETNS=("${keep[@]}")
}

# cw_expect DESCRIPTION FILE JQ-FILTER: check a JSON-lines file: the
# filter gets every line as one array (jq -s) and must yield true.
# Records a failure (and shows the lines) instead of exiting, so one run
# reports every broken expectation.
cw_expect()
{
	local desc=$1 file=$2 filter=$3
	if jq -e -s "$filter" "$file" >/dev/null 2>"$CW_TMP/jq.err"; then
		cw_log "ok: $desc"
		return 0
	fi
	CW_FAILURES=$((CW_FAILURES + 1))
	cw_log "FAIL: $desc"
	cw_log "  filter: $filter"
	cat "$CW_TMP/jq.err" >&2
	head -c 4000 "$file" >&2
	return 1
}

# cw_check DESCRIPTION COMMAND...: record a failure unless COMMAND
# succeeds.
cw_check()
{
	local desc=$1
	shift
	if "$@"; then
		cw_log "ok: $desc"
		return 0
	fi
	CW_FAILURES=$((CW_FAILURES + 1))
	cw_log "FAIL: $desc"
	return 1
}

# cw_done: exit 0 when no expectation failed, 1 otherwise.
cw_done()
{
	if [ "$CW_FAILURES" != 0 ]; then
		cw_log "$CW_FAILURES expectation(s) failed"
		exit 1
	fi
	exit 0
}
