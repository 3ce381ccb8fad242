# lib.sh -- the harness of the corewatch scenario tests (bash).
#
# A scenario test sources this file, calls cw_tmpdir once, starts its
# servers with cw_nsd_start (or cw_spawn for anything else) and checks
# what corewatch reports with cw_expect.  Everything it starts is
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

CW_SCENARIO_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
CW_DATA="$CW_SCENARIO_DIR/data"
: "${top_builddir:=$(cd "$CW_SCENARIO_DIR/../.." && pwd)}"
: "${COREWATCH:=$top_builddir/src/corewatch}"
export COREWATCH

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
# NSD_EXTRA_CONF, when set, is added to the server: clause verbatim.
cw_nsd_conf()
{
	local dir=$1 port=$2 index=$3 zone file
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
	ip-address: 127.0.0.1@$port
EOF
	if [ "$CW_HAVE_V6" = 1 ]; then
		printf '\tip-address: ::1@%s\n\tdo-ip6: yes\n' "$port"
	else
		printf '\tdo-ip6: no\n'
	fi
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

# cw_fault_start MODE LOG [ARGS...]: start our fault responder
# (tests/fault/dnsfault.py) in MODE on a free loopback port, its query
# log in LOG and further options ARGS; wait (at most 10 s) until it
# listens and set FAULT_PORT and FAULT_PID.  Dies when it cannot start.
cw_fault_start()
{
	local mode=$1 log=$2 pf i
	shift 2
	pf=$(mktemp "$CW_TMP/fault-port.XXXXXX") || cw_die "mktemp failed"
	: >"$pf"
	cw_spawn "$log.out" /usr/bin/python3 \
	    "$CW_SCENARIO_DIR/../fault/dnsfault.py" --mode "$mode" \
	    --portfile "$pf" --log "$log" --lifetime 120 "$@"
	FAULT_PID=$CW_SPAWNED
	for ((i = 0; i < 100; i++)); do
		[ -s "$pf" ] && break
		kill -0 "$FAULT_PID" 2>/dev/null || break
		sleep 0.1
	done
	[ -s "$pf" ] || {
		cat "$log.out" >&2
		cw_die "dnsfault $mode did not start"
	}
	read -r FAULT_PORT _ <"$pf"
	cw_log "dnsfault $mode: pid $FAULT_PID port $FAULT_PORT"
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
# first call in $CW_TMP/pg (initdb, database `corewatch`); after
# cw_pg_stop a second call starts the same cluster again, with the same
# data and URL.  The server listens on a unix socket in $PG_DIR only (no
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
	if [ -z "$PG_DIR" ]; then
		PG_DIR="$CW_TMP/pg"
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
