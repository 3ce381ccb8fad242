#!/bin/bash
# run.sh -- the crisis lab: a small Internet in network namespaces on one
# machine (a root zone on three NSD instances, the TLDs ua and sd, three
# probes in two countries, a collector), a scripted crisis in timed
# phases, and the episodes the collector derived from it compared with
# the script's ground truth.  contrib/demo/README.md says what each phase
# shows.  Needs root (namespaces, nftables), nsd, nft, kdig, curl, jq,
# python3.
#
#   contrib/demo/run.sh [--out DIR] [--speed N] [--port PORT] [--hold]
#
# Everything it starts is stopped by pid and every namespace deleted on
# exit, also after a failure or ^C.  Exit status: 0 when every scripted
# event has its episodes with the right scope and times and no episode
# is unexplained, 1 otherwise, 2 for a usage error.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u

DEMO_DIR=$(cd "$(dirname "$0")" && pwd)
TOP=$(cd "$DEMO_DIR/../.." && pwd)

usage()
{
	cat <<EOF
usage: $0 [--out DIR] [--speed N] [--port PORT] [--hold]
  --out DIR    keep everything here: ground truth, episodes, logs, the
               collector's database, screenshots, report (default: a new
               directory under \${TMPDIR:-/tmp})
  --speed N    1 to 5: measurement interval 10/N s, every phase scaled
               with it (default 1: about 6 minutes; 2: about 3)
  --port PORT  the collector on 127.0.0.1:PORT of this host while the lab
               runs (default 8053)
  --hold       keep the lab up after the crisis until Enter is pressed
EOF
}

OUT= SPEED=1 PORT=8053 HOLD=0
while [ $# -gt 0 ]; do
	case $1 in
	--out) OUT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--speed) SPEED=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--port) PORT=${2:-}; shift 2 || { usage >&2; exit 2; } ;;
	--hold) HOLD=1; shift ;;
	-h | --help) usage; exit 0 ;;
	*) usage >&2; exit 2 ;;
	esac
done
case $SPEED in
[1-5]) ;;
*) echo "run.sh: --speed: \"$SPEED\" is not 1 to 5" >&2; exit 2 ;;
esac
case $PORT in
'' | *[!0-9]*) echo "run.sh: --port: \"$PORT\" is not a port" >&2; exit 2 ;;
esac
[ "$PORT" -ge 1 ] && [ "$PORT" -le 65535 ] ||
    { echo "run.sh: --port: $PORT is not 1 to 65535" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "run.sh: needs root (ip netns, nft)" >&2; exit 2; }
for tool in ip nft nsd kdig curl jq python3; do
	command -v "$tool" >/dev/null ||
	    { echo "run.sh: needs $tool" >&2; exit 2; }
done

# The programs: $COREWATCH and $COLLECTOR when set, else a build of this
# tree (_build/gcc, or configured in the tree), else the installed ones.
find_bin()
{
	local name=$1 d
	for d in "$TOP/_build/gcc/src" "$TOP/src"; do
		[ -x "$d/$name" ] && { echo "$d/$name"; return 0; }
	done
	command -v "$name"
}
: "${COREWATCH:=$(find_bin corewatch)}"
: "${COLLECTOR:=$(find_bin corewatch-collector)}"
[ -x "$COREWATCH" ] || { echo "run.sh: no corewatch (set COREWATCH)" >&2; exit 2; }
[ -x "$COLLECTOR" ] ||
    { echo "run.sh: no corewatch-collector (set COLLECTOR)" >&2; exit 2; }

if [ -z "$OUT" ]; then
	OUT=$(mktemp -d "${TMPDIR:-/tmp}/cwdemo.XXXXXX") ||
	    { echo "run.sh: mktemp failed" >&2; exit 1; }
fi
mkdir -p "$OUT" || exit 1
OUT=$(cd "$OUT" && pwd)
LAB=$OUT/lab
rm -rf "$LAB"
mkdir -p "$LAB" || exit 1

# --- Timing: everything in milliseconds, from the interval ---
INTERVAL_MS=$((10000 / SPEED))
SPREAD_MS=$((INTERVAL_MS / 5))
TIMEOUT_MS=$((INTERVAL_MS * 2 / 5))
PHASE_MS=$((INTERVAL_MS * 4)) # 3 or 4 failures of each target
GAP_MS=$((INTERVAL_MS * 2))   # every target answers again between phases
# How far an episode's bounds may be from the script's: a measurement
# comes once an interval (plus its spread), a query sent just before a
# phase began may fail with it, and a heartbeat comes once an interval.
TOL_MS=$((INTERVAL_MS + SPREAD_MS + TIMEOUT_MS + 1000))

ms()
{
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

now()
{
	date -u +%Y-%m-%dT%H:%M:%S.%6NZ
}

say()
{
	printf '[%s] %s\n' "$(date -u +%H:%M:%S)" "$*"
}

# --- Processes and namespaces, undone on exit: the scenario tests'
# harness records them (cw_spawn, cw_stop, cw_netns_create) and its EXIT
# trap stops and deletes them; the lab keeps its directory (no CW_TMP) ---
. "$TOP/tests/scenario/lib.sh"

lab_exit()
{
	local status=$?
	[ "$status" = 0 ] || say "the lab stopped (status $status); see $OUT"
	(exit "$status")
	cw_cleanup
}
trap lab_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

die()
{
	say "FATAL: $*" >&2
	exit 1
}

# spawn LOG NETNS COMMAND...: start COMMAND in NETNS, output in LOG; pid in
# SPAWNED, stopped on exit.
spawn()
{
	local log=$1 ns=$2
	shift 2
	cw_spawn "$log" ip netns exec "$ns" "$@"
	SPAWNED=$CW_SPAWNED
}

# --- The network: one namespace for the servers and the collector (its
# bridge is the Internet), one per probe, each on a veth to the bridge ---
TAG=cwdemo
CORE=
COLLECTOR_ADDR=10.53.200.1
COLLECTOR_PORT=8080
COLLECTOR_URL=http://$COLLECTOR_ADDR:$COLLECTOR_PORT
READ_TOKEN=crisis-lab-read-token
DB=sqlite:$OUT/collector.db

ROOTS=(a.root.lab=10.53.0.1 b.root.lab=10.53.0.2 c.root.lab=10.53.0.3)
UA_SERVERS=(ns1.ua=10.53.1.1)
SD_SERVERS=(ns1.sd=10.53.2.1 ns2.sd=10.53.2.2)
# Probes: name, country, ASN, address.  kyiv and kharkiv share a country
# (a region of two probes), khartoum is a region of its own.
PROBES=(kyiv kharkiv khartoum)
declare -A P_COUNTRY=([kyiv]=UA [kharkiv]=UA [khartoum]=SD)
declare -A P_ASN=([kyiv]=15895 [kharkiv]=13188 [khartoum]=15706)
declare -A P_ADDR=([kyiv]=10.53.100.1 [kharkiv]=10.53.100.2 [khartoum]=10.53.100.3)
declare -A P_NS P_PID P_ID

net_up()
{
	local p i=0 a
	cw_netns_create "$TAG-core"
	CORE=$CW_NS
	ip -n "$CORE" link add br0 type bridge || die "bridge"
	ip -n "$CORE" link set br0 up
	for a in "${ROOTS[@]}" "${UA_SERVERS[@]}" "${SD_SERVERS[@]}" \
	    "x=$COLLECTOR_ADDR"; do
		ip -n "$CORE" addr add "${a#*=}/16" dev br0 ||
		    die "address ${a#*=}"
	done
	for p in "${PROBES[@]}"; do
		i=$((i + 1))
		cw_netns_create "$TAG-$p"
		P_NS[$p]=$CW_NS
		ip -n "${P_NS[$p]}" link add eth0 type veth peer name "vp$i" \
		    netns "$CORE" || die "veth of $p"
		ip -n "$CORE" link set "vp$i" master br0 up
		ip -n "${P_NS[$p]}" addr add "${P_ADDR[$p]}/16" dev eth0
		ip -n "${P_NS[$p]}" link set eth0 up
	done
	ip netns exec "$CORE" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	printf '%s\n' "${CW_NETNS[@]}" >"$LAB/netns"
}

# --- DNS: the zones and the NSD instances ---
zones_write()
{
	local serial=2026120701 a
	{
		printf '$ORIGIN .\n$TTL 3600\n'
		printf '.\tIN SOA a.root.lab. nstld.lab. %s 1800 900 604800 86400\n' \
		    "$serial"
		for a in "${ROOTS[@]}"; do
			printf '.\tIN NS %s.\n' "${a%%=*}"
		done
		for a in "${ROOTS[@]}"; do
			printf '%s.\tIN A %s\n' "${a%%=*}" "${a#*=}"
		done
		for a in "${UA_SERVERS[@]}"; do
			printf 'ua.\tIN NS %s.\n%s.\tIN A %s\n' "${a%%=*}" \
			    "${a%%=*}" "${a#*=}"
		done
		for a in "${SD_SERVERS[@]}"; do
			printf 'sd.\tIN NS %s.\n%s.\tIN A %s\n' "${a%%=*}" \
			    "${a%%=*}" "${a#*=}"
		done
	} >"$LAB/root.zone"
	tld_zone ua "${UA_SERVERS[@]}" >"$LAB/ua.zone"
	tld_zone sd "${SD_SERVERS[@]}" >"$LAB/sd.zone"
}

tld_zone()
{
	local tld=$1 a
	shift
	printf '$ORIGIN %s.\n$TTL 3600\n' "$tld"
	printf '@\tIN SOA %s. hostmaster.nic.%s. 2026120701 1800 900 604800 3600\n' \
	    "${1%%=*}" "$tld"
	for a in "$@"; do
		printf '@\tIN NS %s.\n' "${a%%=*}"
	done
	for a in "$@"; do
		printf '%s.\tIN A %s\n' "${a%%=*}" "${a#*=}"
	done
	printf 'www\tIN A 10.53.250.1\n'
}

declare -A NSD_PID

# nsd_start NAME=ADDR ZONE: an NSD for ZONE on ADDR port 53 in the core
# namespace, configured as the tests' (cw_nsd_conf); waits until it
# answers.
nsd_start()
{
	local name=${1%%=*} addr=${1#*=} zone=$2 dir file i
	dir=$LAB/nsd-$name
	mkdir -p "$dir"
	file=$LAB/$([ "$zone" = . ] && echo root || echo "${zone%.}").zone
	NSD_ADDRS=$addr NSD_IDENTITY=$name NSD_NSID=$name \
	    cw_nsd_conf "$dir" 53 0 "$zone" "$file" >"$dir/nsd.conf"
	rm -f "$dir/nsd.pid"
	spawn "$dir/nsd.out" "$CORE" nsd -d -c "$dir/nsd.conf"
	NSD_PID[$name]=$SPAWNED
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$CORE" kdig @"$addr" +timeout=1 +retry=0 \
		    "$zone" SOA 2>/dev/null | grep -q 'status: NOERROR' &&
		    return 0
		kill -0 "$SPAWNED" 2>/dev/null || break
		sleep 0.1
	done
	cat "$dir/nsd.out" "$dir/nsd.log" >&2 2>/dev/null
	die "nsd $name did not come up on $addr"
}

dns_up()
{
	local a
	zones_write
	for a in "${ROOTS[@]}"; do
		nsd_start "$a" .
	done
	for a in "${UA_SERVERS[@]}"; do
		nsd_start "$a" ua.
	done
	for a in "${SD_SERVERS[@]}"; do
		nsd_start "$a" sd.
	done
}

# --- The collector ---
COLLECTOR_PID=
collector_up()
{
	local i
	cat >"$LAB/collector.conf" <<EOF
listen = "$COLLECTOR_ADDR:$COLLECTOR_PORT"
db = "$DB"
read_token = "$READ_TOKEN"
EOF
	# From a source tree, the dashboard's files are beside us; installed,
	# the collector's default web_dir has them.
	[ -f "$TOP/web/index.html" ] &&
	    echo "web_dir = \"$TOP/web\"" >>"$LAB/collector.conf"
	spawn "$OUT/collector.log" "$CORE" "$COLLECTOR" serve -c "$LAB/collector.conf"
	COLLECTOR_PID=$SPAWNED
	for ((i = 0; i < 100; i++)); do
		ip netns exec "$CORE" curl -sf --noproxy '*' --max-time 1 \
		    -o /dev/null "$COLLECTOR_URL/healthz" && return 0
		kill -0 "$COLLECTOR_PID" 2>/dev/null || break
		sleep 0.1
	done
	tail -n 20 "$OUT/collector.log" >&2
	die "the collector did not come up"
}

# api PATH: GET PATH of the collector with the read token, on stdout.
api()
{
	ip netns exec "$CORE" curl -sS --fail --noproxy '*' --max-time 30 \
	    -H "Authorization: Bearer $READ_TOKEN" "$COLLECTOR_URL$1"
}

# --- The probes ---
probe_conf()
{
	local p=$1 dir=$2 a roots=() servers=()
	for a in "${ROOTS[@]}"; do
		servers+=("\"$a\"")
		roots+=("\"${a#*=}\"")
	done
	cat <<EOF
probe {
	name = "$p"
	country = "${P_COUNTRY[$p]}"
	asn = ${P_ASN[$p]}
	location = "crisis lab"
}
state_dir = "$dir/state"
key = "$dir/key"
output {
	path = "$dir/results.jsonl"
}
heartbeat = $(ms "$INTERVAL_MS")s
spool {
	dir = "$dir/spool"
	max_size = 16M
	min_free = 0
}
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 1s
	backoff_max = 2s
	stop_timeout = 2s
}
tld_discovery {
	roots = {$(IFS=,; echo "${roots[*]}")}
	resolver = "none"
}
dns "root-soa" {
	servers = {$(IFS=,; echo "${servers[*]}")}
	transport = "udp"
	af = 4
	interval = $(ms "$INTERVAL_MS")s
	spread = $(ms "$SPREAD_MS")s
	timeout = $(ms "$TIMEOUT_MS")s
}
dns "tld-soa" {
	tlds = {"ua", "sd"}
	transport = "udp"
	af = 4
	interval = $(ms "$INTERVAL_MS")s
	spread = $(ms "$SPREAD_MS")s
	timeout = $(ms "$TIMEOUT_MS")s
}
EOF
}

# probe_start NAME: `corewatch run` in the probe's namespace.
probe_start()
{
	local p=$1
	spawn "$LAB/$p/probe.log.$(date +%s)" "${P_NS[$p]}" "$COREWATCH" run \
	    -c "$LAB/$p/corewatch.conf"
	P_PID[$p]=$SPAWNED
}

probes_up()
{
	local p dir token
	for p in "${PROBES[@]}"; do
		dir=$LAB/$p
		mkdir -p "$dir/state"
		chmod 700 "$dir" "$dir/state"
		probe_conf "$p" "$dir" >"$dir/corewatch.conf"
		"$COREWATCH" keygen --key "$dir/key" >"$dir/key.pub" 2>&1 ||
		    die "keygen $p: $(cat "$dir/key.pub")"
		"$COREWATCH" check-config -q -c "$dir/corewatch.conf" \
		    >"$dir/check.out" 2>&1 ||
		    die "check-config $p: $(cat "$dir/check.out")"
		token=$("$COLLECTOR" token create --db "$DB" --name "$p" \
		    --ttl 1h) || die "token create $p"
		ip netns exec "${P_NS[$p]}" "$COREWATCH" enroll \
		    -c "$dir/corewatch.conf" "$COLLECTOR_URL" - \
		    <<<"$token" >"$dir/enroll.out" 2>&1 ||
		    die "enroll $p: $(cat "$dir/enroll.out")"
		P_ID[$p]=$(awk '$1 == "probe" { print $2 }' "$dir/enroll.out")
		[ -n "${P_ID[$p]}" ] || die "enroll $p: no id"
		say "probe $p (${P_COUNTRY[$p]}, AS${P_ASN[$p]}) enrolled: ${P_ID[$p]}"
		probe_start "$p"
	done
}

# records_since PROBE TIME: how many records of PROBE timed from TIME on
# the collector has.
records_since()
{
	"$COLLECTOR" export --db "$DB" --format jsonl --probe "${P_ID[$1]}" \
	    --from "$2" 2>/dev/null | wc -l
}

# wait_records TIME SECONDS: until every probe has uploaded records timed
# from TIME on (at most SECONDS).
wait_records()
{
	local t=$1 limit=$2 p i ok
	for ((i = 0; i < limit * 2; i++)); do
		ok=1
		for p in "${PROBES[@]}"; do
			[ "$(records_since "$p" "$t")" -gt 0 ] || ok=0
		done
		[ "$ok" = 1 ] && return 0
		sleep 0.5
	done
	return 1
}

# --- Faults: nftables in a probe's namespace (what it receives is lost,
# as when a path or an uplink is cut beyond the first hop) ---
nft_drop()
{
	local ns=$1 rule=$2
	ip netns exec "$ns" nft -f - <<EOF || die "nft in $ns"
table inet cwdemo {
	chain in {
		type filter hook input priority 0; policy accept;
		iifname "lo" accept
		$rule
	}
}
EOF
}

nft_clear()
{
	ip netns exec "$1" nft delete table inet cwdemo 2>/dev/null
}

# --- Ground truth, written as the phases happen ---
TRUTH=$OUT/truth.json
truth_init()
{
	local p probes='{}'
	for p in "${PROBES[@]}"; do
		probes=$(jq -c --arg p "$p" --arg id "${P_ID[$p]}" \
		    --arg c "${P_COUNTRY[$p]}" --argjson asn "${P_ASN[$p]}" \
		    '.[$p] = {id: $id, country: $c, asn: $asn}' <<<"$probes")
	done
	jq -n --argjson probes "$probes" --argjson i "$INTERVAL_MS" \
	    --argjson s "$SPREAD_MS" --argjson t "$TIMEOUT_MS" \
	    --argjson tol "$TOL_MS" --argjson speed "$SPEED" \
	    --argjson targets 6 '{
	    lab: {speed: $speed, interval_s: ($i / 1000), spread_s: ($s / 1000),
	      timeout_s: ($t / 1000), heartbeat_s: ($i / 1000),
	      tolerance_s: ($tol / 1000), targets_per_probe: $targets,
	      probes: $probes},
	    phases: []}' >"$TRUTH.new" && mv "$TRUTH.new" "$TRUTH"
}

# truth_phase N NAME WHAT EXPECT-JSON: a phase begins now.
truth_phase()
{
	jq --argjson n "$1" --arg name "$2" --arg what "$3" \
	    --argjson expect "$4" --arg t "$(now)" \
	    '.phases += [{n: $n, name: $name, what: $what, start: $t,
	      end: null, expect: $expect}]' "$TRUTH" >"$TRUTH.new" &&
	    mv "$TRUTH.new" "$TRUTH"
	PHASE_START=$(jq -r '.phases[-1].start' "$TRUTH")
	say "phase $1: $2 -- $3"
}

# truth_end: the phase begun last ends now.
truth_end()
{
	jq --arg t "$(now)" '.phases[-1].end = $t' "$TRUTH" >"$TRUTH.new" &&
	    mv "$TRUTH.new" "$TRUTH"
	PHASE_END=$(jq -r '.phases[-1].end' "$TRUTH")
}

# expect PROBE SCOPE [KEY=VALUE]...: one expected episode as JSON.
expect()
{
	local p=$1 scope=$2 kv o
	shift 2
	o=$(jq -nc --arg p "$p" --arg id "${P_ID[$p]}" --arg s "$scope" \
	    '{probe: $p, probe_id: $id, scope: $s}')
	for kv in "$@"; do
		o=$(jq -c --arg k "${kv%%=*}" --argjson v "${kv#*=}" \
		    '.[$k] = $v' <<<"$o")
	done
	echo "$o"
}

# region_scope PROBE: the scope doc/episodes.md gives a probe's episode of a
# target that every probe lost at once: region when another probe
# declares the same country or ASN, else target.
region_scope()
{
	local p=$1 q
	for q in "${PROBES[@]}"; do
		[ "$q" = "$p" ] && continue
		if [ "${P_COUNTRY[$q]}" = "${P_COUNTRY[$p]}" ] ||
		    [ "${P_ASN[$q]}" = "${P_ASN[$p]}" ]; then
			echo region
			return
		fi
	done
	echo target
}

pause()
{
	sleep "$(ms "$1")"
}

# --- The crisis ---
crisis()
{
	local p a ex=()

	truth_phase 1 baseline "every probe reaches every server" '[]'
	pause $((INTERVAL_MS * 3))
	truth_end

	# 2: b.root unreachable from Sudan only.
	ex=("$(expect khartoum target 'addr="10.53.0.2"')")
	truth_phase 2 root-unreachable \
	    "b.root (10.53.0.2) unreachable from khartoum (SD) only" \
	    "$(jq -sc . <<<"${ex[*]}")"
	nft_drop "${P_NS[khartoum]}" "ip saddr 10.53.0.2 drop"
	pause "$PHASE_MS"
	nft_clear "${P_NS[khartoum]}"
	truth_end
	pause "$GAP_MS"

	# 3: the TLD sd down for everyone: both its servers stop.
	ex=()
	for p in "${PROBES[@]}"; do
		for a in "${SD_SERVERS[@]}"; do
			ex+=("$(expect "$p" "$(region_scope "$p")" \
			    "addr=\"${a#*=}\"")")
		done
	done
	truth_phase 3 tld-down "the TLD sd down for everyone (both NSDs stopped)" \
	    "$(jq -sc . <<<"${ex[*]}")"
	for a in "${SD_SERVERS[@]}"; do
		cw_stop "${NSD_PID[${a%%=*}]}"
	done
	pause "$PHASE_MS"
	for a in "${SD_SERVERS[@]}"; do
		nsd_start "$a" sd.
	done
	truth_end
	pause "$GAP_MS"

	# 4: kharkiv's uplink cut: it measures on, spools, uploads later.
	truth_phase 4 uplink-cut \
	    "kharkiv's uplink cut (nothing comes back to it)" \
	    "[$(expect kharkiv probe 'targets=6')]"
	nft_drop "${P_NS[kharkiv]}" "drop"
	pause "$PHASE_MS"
	nft_clear "${P_NS[kharkiv]}"
	truth_end
	pause "$GAP_MS"

	# 5: khartoum loses power: the probe is killed, heartbeats stop.
	truth_phase 5 power-cut "khartoum's power cut (the probe killed)" \
	    "[$(expect khartoum probe 'silence=true')]"
	{
		kill -KILL "${P_PID[khartoum]}"
		cw_stop "${P_PID[khartoum]}"
	} 2>/dev/null # not bash's "Killed"
	pause "$PHASE_MS"
	probe_start khartoum
	truth_end

	truth_phase 6 recovery "everything back" '[]'
	pause $((INTERVAL_MS * 3))
	truth_end
}

# --- After the crisis ---
annotate()
{
	local n=$1 from=$2 to=$3 text=$4 id
	shift 4
	id=$("$COLLECTOR" annotate add --db "$DB" --from "$from" --to "$to" \
	    --text "crisis lab, phase $n: $text" "$@") ||
	    die "annotate add (phase $n)"
	say "annotation $id: phase $n"
}

annotations_add()
{
	local n name what from to
	while IFS=$'\t' read -r n name what from to; do
		case $name in
		root-unreachable)
			annotate "$n" "$from" "$to" "$what" --country SD \
			    --probe "${P_ID[khartoum]}" ;;
		uplink-cut)
			annotate "$n" "$from" "$to" "$what" \
			    --probe "${P_ID[kharkiv]}" ;;
		power-cut)
			annotate "$n" "$from" "$to" "$what" \
			    --probe "${P_ID[khartoum]}" ;;
		*) annotate "$n" "$from" "$to" "$what" ;;
		esac
	done < <(jq -r '.phases[] | [.n, .name, .what, .start, .end] | @tsv' \
	    "$TRUTH")
}

# shots FROM TO: a screenshot of each view of the dashboard, over the
# crisis (FROM to TO, RFC 3339), into $OUT/shots.
shots()
{
	local from=$1 to=$2
	local script=$TOP/tests/browser/dashboard_shots.py
	if [ ! -f "$script" ]; then
		say "no tests/browser/dashboard_shots.py here: no screenshots"
		return 0
	fi
	if timeout -k 5 180 /usr/bin/python3 "$script" --url "http://127.0.0.1:$PORT" \
	    --token "$READ_TOKEN" --out "$OUT/shots" \
	    --hash "win=custom&from=$from&to=$to" \
	    >"$OUT/shots.log" 2>&1; then
		say "screenshots of the dashboard: $OUT/shots"
	else
		say "dashboard_shots.py failed (see $OUT/shots.log)"
		SHOTS_FAILED=1
	fi
}

report()
{
	local from=$1 to=$2
	if ! "$COLLECTOR" report --help >/dev/null 2>&1; then
		say "no 'corewatch-collector report' here: no report"
		return 0
	fi
	if "$COLLECTOR" report --db "$DB" --from "$from" --to "$to" \
	    --out "$OUT/report.html" >"$OUT/report.log" 2>&1; then
		say "the report of the crisis: $OUT/report.html"
	else
		say "corewatch-collector report failed (see $OUT/report.log)"
		REPORT_FAILED=1
	fi
}

# --- Main ---
T0=$(date +%s)
SHOTS_FAILED=0 REPORT_FAILED=0
say "the crisis lab in $OUT (speed $SPEED: interval $(ms "$INTERVAL_MS") s)"
net_up
dns_up
collector_up
cw_spawn "$LAB/forward.log" python3 "$DEMO_DIR/forward.py" --port "$PORT" \
    --netns "$CORE" --to "$COLLECTOR_ADDR:$COLLECTOR_PORT"
for ((i = 0; i < 50; i++)); do
	curl -sf --noproxy '*' --max-time 1 -o /dev/null \
	    "http://127.0.0.1:$PORT/healthz" && break
	sleep 0.1
done
[ "$i" -lt 50 ] || say "WARNING: nothing answers on 127.0.0.1:$PORT" \
    "(taken? see $LAB/forward.log): no dashboard from this host"
say "the collector: $COLLECTOR_URL in the lab, http://127.0.0.1:$PORT here" \
    "(read token $READ_TOKEN)"
probes_up
truth_init
START=$(now)
wait_records "$START" 60 ||
    die "the probes uploaded nothing within 60 s (see $LAB/*/probe.log.*)"
crisis
END=$(now)
say "waiting for the uploads to catch up"
wait_records "$END" 60 || say "some probe has not uploaded its last records"
sleep 2

annotations_add
api "/api/v1/episodes?from=$START&to=$(now)" >"$OUT/episodes.jsonl" ||
    die "GET /api/v1/episodes failed"
python3 "$DEMO_DIR/compare.py" "$TRUTH" "$OUT/episodes.jsonl" \
    --json "$OUT/comparison.json" \
    | tee "$OUT/comparison.txt"
VERDICT=${PIPESTATUS[0]}
STOP=$(now)
shots "$START" "$STOP"
report "$START" "$STOP"
say "the lab ran $(($(date +%s) - T0)) s"
if [ "$HOLD" = 1 ]; then
	say "the lab stays up: dashboard at http://127.0.0.1:$PORT/" \
	    "(read token $READ_TOKEN); press Enter to stop it"
	read -r _ || true
fi
[ "$VERDICT" = 0 ] && [ "$SHOTS_FAILED$REPORT_FAILED" != 00 ] && VERDICT=1
exit "$VERDICT"
