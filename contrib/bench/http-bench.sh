#!/bin/bash
# http-bench.sh -- figures for the HTTP probe on this machine.  Not a
# test: it prints numbers, next to named peers measured in the same run,
# so that ratios mean something on a noisy shared machine.
#
#   1. measurements/s on one core, HTTP and HTTPS, against one nginx
#      (Debian's, a small page, a certificate from a CA made here with
#      openssl), every measurement on a fresh connection:
#        - `corewatch http --count N --in-flight P` (JSON lines to a
#          file; wall-clock rate and rate per CPU-second);
#        - curl run in a loop, a fresh process per measurement,
#          sequentially and CW_BENCH_CURL_P at a time (xargs -P): the
#          better of the two is the one the ratio uses;
#        - Debian's prometheus-blackbox-exporter probing the same URL,
#          driven by concurrent GET /probe from curl --parallel: probes/s
#          that answered probe_success 1;
#        - for HTTPS, the floor of any OpenSSL client on this machine:
#          tests/tools/tlscycle, cold requests one after the other through
#          OpenSSL alone (one shared SSL_CTX, chain and name verified, no
#          libcurl, no event loop, no output), per CPU-second;
#      three rounds, each tool right after the other, and the ratios
#      corewatch / blackbox and corewatch / curl of each round;
#   2. RSS: blackbox_exporter idle and at its peak under that load, and
#      with CW_BENCH_SLOW_N probes in flight; corewatch with
#      CW_BENCH_SLOW_N measurements in flight (--count N --in-flight N)
#      against a responder whose answer comes after 3 s
#      (tests/fault/httpslow.py), so that all of them are in flight at
#      once.
#   Target (issue 5): corewatch at least 5x blackbox's rate at less than
#   half its memory.
#
# Cores: nginx (and the load sent to blackbox_exporter) on core 0, the
# measured client (corewatch, curl, blackbox_exporter) on core 1.
#
# Usage, from a built tree, as root or not (nginx needs no root here):
#   contrib/bench/http-bench.sh [BUILD_DIR]
# Knobs: CW_BENCH_N (measurements per corewatch HTTP rate run, default
#          20000), CW_BENCH_TLS_N (the same for HTTPS, default 5000),
#        CW_BENCH_INFLIGHT (corewatch --in-flight, default 100),
#        CW_BENCH_SECS (seconds per curl and blackbox run, default 5),
#        CW_BENCH_CURL_P (curl processes at once, default 4),
#        CW_BENCH_BB_P (concurrent GET /probe, default 32),
#        CW_BENCH_ROUNDS (default 3),
#        CW_BENCH_SLOW_N (measurements in flight for RSS, default 1000),
#        CW_BENCH_PEERS_ONLY=1 (skip corewatch: the peers' figures only).
# Packages: nginx-light, prometheus-blackbox-exporter, curl, openssl,
# time (/usr/bin/time), util-linux (taskset), python3.
#
# Every packet goes to 127.0.0.1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
set -u
export LC_ALL=C
src=$(cd "$(dirname "$0")/../.." && pwd)
build=$(cd "${1:-$src}" && pwd)
COREWATCH=$build/src/corewatch
PEERS_ONLY=${CW_BENCH_PEERS_ONLY:-0}
if [ "$PEERS_ONLY" != 1 ]; then
	[ -x "$COREWATCH" ] || { echo "no $COREWATCH: build first" >&2; exit 2; }
	"$COREWATCH" http --help >/dev/null 2>&1 ||
	    "$COREWATCH" http 2>&1 | grep -qi usage ||
	    { echo "$COREWATCH has no http command" >&2; exit 2; }
fi
NGINX=/usr/sbin/nginx
BLACKBOX=/usr/bin/prometheus-blackbox-exporter
SLOW=$src/tests/fault/httpslow.py
for f in "$NGINX" "$BLACKBOX" /usr/bin/time /usr/bin/python3 "$SLOW"; do
	[ -x "$f" ] || [ -r "$f" ] || { echo "no $f" >&2; exit 2; }
done
for f in curl openssl taskset xargs; do
	command -v "$f" >/dev/null || { echo "no $f" >&2; exit 2; }
done
export top_builddir=$build COREWATCH
. "$src/tests/scenario/lib.sh"
cw_tmpdir
N_HTTP=${CW_BENCH_N:-20000}
N_HTTPS=${CW_BENCH_TLS_N:-5000}
INFLIGHT=${CW_BENCH_INFLIGHT:-100}
SECS=${CW_BENCH_SECS:-5}
CURL_P=${CW_BENCH_CURL_P:-4}
BB_P=${CW_BENCH_BB_P:-32}
ROUNDS=${CW_BENCH_ROUNDS:-3}
SLOW_N=${CW_BENCH_SLOW_N:-1000}
HZ=$(getconf CLK_TCK)
say() { printf '%s\n' "$*"; }
# The file descriptors 1,000 connections at once need.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

# ticks PID: CPU time used so far by PID (all its threads), in clock ticks.
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
# rss PID: "VmRSS VmHWM" in kB.
rss() { awk '/^VmRSS/ {r=$2} /^VmHWM/ {h=$2} END {print r, h}' "/proc/$1/status"; }
# now: seconds since the epoch, microseconds.
now() { printf '%s\n' "$EPOCHREALTIME"; }
# wait_http URL [CURL-ARGS...]: up to 10 s for URL to answer.
wait_http()
{
	local i
	for ((i = 0; i < 100; i++)); do
		curl -s -o /dev/null --max-time 1 "$@" && return 0
		sleep 0.1
	done
	return 1
}

# --- the CA, the server's certificate (ECDSA P-256: the server's
# handshakes should not be what limits the rate) and the page.
mkdir -p "$CW_TMP/pki" "$CW_TMP/www"
PKI=$CW_TMP/pki
CA=$PKI/ca.crt
{
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/ca.key" -out "$CA" -days 2 \
	    -subj "/CN=corewatch bench CA" \
	    -addext "basicConstraints=critical,CA:TRUE" \
	    -addext "keyUsage=critical,keyCertSign,cRLSign" &&
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
	    -keyout "$PKI/server.key" -out "$PKI/server.csr" \
	    -subj "/CN=localhost" &&
	printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" \
	    "basicConstraints=CA:FALSE" "keyUsage=critical,digitalSignature" \
	    "extendedKeyUsage=serverAuth" >"$PKI/server.ext" &&
	openssl x509 -req -in "$PKI/server.csr" -CA "$CA" -CAkey "$PKI/ca.key" \
	    -CAcreateserial -days 2 -extfile "$PKI/server.ext" \
	    -out "$PKI/server.crt"
} >"$PKI/openssl.log" 2>&1 || { cat "$PKI/openssl.log" >&2; cw_die "openssl"; }
{
	printf '<!doctype html>\n<html><head><title>corewatch bench</title></head>\n<body>\n'
	for ((i = 0; i < 8; i++)); do
		printf '<p>A small page for the HTTP probe benchmark, line %d.</p>\n' "$i"
	done
	printf '</body></html>\n'
} >"$CW_TMP/www/index.html"
PAGE_BYTES=$(wc -c <"$CW_TMP/www/index.html")

# --- nginx: one worker, pinned to core 0, its files in $CW_TMP/nginx.
# keepalive_timeout 0: every client here makes one request per
# connection, and nginx should not hold thousands of idle ones.
ngx_start()
{
	local dir=$CW_TMP/nginx attempt
	mkdir -p "$dir"
	for ((attempt = 1; attempt <= 5; attempt++)); do
		HTTP_PORT=$(cw_free_port) && HTTPS_PORT=$(cw_free_port) ||
		    cw_die "no free port"
		cat >"$dir/nginx.conf" <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
$([ "$(id -u)" = 0 ] && echo "user root;")
events { worker_connections 8192; }
http {
	access_log off;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	keepalive_timeout 0;
	ssl_session_cache off;
	ssl_session_tickets off;
	ssl_protocols TLSv1.2 TLSv1.3;
	server {
		listen 127.0.0.1:$HTTP_PORT backlog=4096;
		listen 127.0.0.1:$HTTPS_PORT ssl backlog=4096;
		ssl_certificate $PKI/server.crt;
		ssl_certificate_key $PKI/server.key;
		root $CW_TMP/www;
	}
}
EOF
		cw_spawn "$dir/nginx.out" taskset -c 0 "$NGINX" -p "$dir" \
		    -e "$dir/error.log" -c "$dir/nginx.conf"
		NGX_PID=$CW_SPAWNED
		if wait_http "http://127.0.0.1:$HTTP_PORT/index.html" &&
		    wait_http "https://localhost:$HTTPS_PORT/index.html" \
		    --cacert "$CA" --resolve "localhost:$HTTPS_PORT:127.0.0.1"; then
			NGX_WORKER=$(cat "/proc/$NGX_PID/task/$NGX_PID/children")
			NGX_WORKER=${NGX_WORKER%% *}
			return 0
		fi
		cat "$dir/nginx.out" "$dir/error.log" >&2 2>/dev/null
		cw_stop "$NGX_PID"
	done
	cw_die "cannot start nginx"
}
ngx_start
URL_HTTP="http://127.0.0.1:$HTTP_PORT/index.html"
URL_HTTPS="https://localhost:$HTTPS_PORT/index.html"

# --- blackbox_exporter: a module for each scheme, started on core 1.
cat >"$CW_TMP/blackbox.yml" <<EOF
modules:
  http_2xx:
    prober: http
    timeout: 15s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
  https_ca:
    prober: http
    timeout: 15s
    http:
      preferred_ip_protocol: ip4
      ip_protocol_fallback: false
      tls_config:
        ca_file: $CA
        server_name: localhost
EOF
# bb_start: start one blackbox_exporter on core 1 and a free port; set
# BB_PID and BB_PORT.
bb_start()
{
	local attempt
	for ((attempt = 1; attempt <= 5; attempt++)); do
		BB_PORT=$(cw_free_port) || cw_die "no free port"
		cw_spawn "$CW_TMP/blackbox.$BB_PORT.log" taskset -c 1 "$BLACKBOX" \
		    --config.file="$CW_TMP/blackbox.yml" \
		    --web.listen-address="127.0.0.1:$BB_PORT"
		BB_PID=$CW_SPAWNED
		wait_http "http://127.0.0.1:$BB_PORT/metrics" && return 0
		cat "$CW_TMP/blackbox.$BB_PORT.log" >&2
		cw_stop "$BB_PID"
	done
	cw_die "cannot start blackbox_exporter"
}
bb_start
sleep 1
read -r BB_IDLE_RSS _ < <(rss "$BB_PID")

# bb_rate MODULE TARGET COUNT: COUNT probes of TARGET through
# blackbox_exporter, BB_P at a time, from core 0.  Prints "rate ok
# failed seconds busy maxrss load": probes/s with probe_success 1, the
# blackbox process's CPU use (1.0 = one core), its largest VmRSS
# sampled (kB) and the CPU use of the load (curl).
bb_rate()
{
	local module=$1 target=$2 count=$3 t0 t1 c0 c1 sampler
	(
		max=0
		while kill -0 "$BB_PID" 2>/dev/null; do
			r=$(awk '/^VmRSS/ {print $2}' "/proc/$BB_PID/status")
			[ "${r:-0}" -gt "$max" ] && { max=$r; echo "$max" >"$CW_TMP/bb.maxrss"; }
			sleep 0.2
		done
	) &
	sampler=$!
	echo 0 >"$CW_TMP/bb.maxrss"
	c0=$(ticks "$BB_PID")
	t0=$(now)
	/usr/bin/time -f '%U %S' -o "$CW_TMP/bb.load" \
	    taskset -c 0 curl -s --no-progress-meter --parallel --parallel-immediate \
	    --parallel-max "$BB_P" -w '%{stderr}%{http_code}\n' \
	    "http://127.0.0.1:$BB_PORT/probe?module=$module&target=$target&n=[1-$count]" \
	    2>"$CW_TMP/bb.codes" |
	    awk '/^probe_success 1$/ {ok++} /^probe_success 0$/ {bad++}
		END {print ok + 0, bad + 0}' >"$CW_TMP/bb.count"
	t1=$(now)
	c1=$(ticks "$BB_PID")
	kill "$sampler" 2>/dev/null
	wait "$sampler" 2>/dev/null
	read -r ok bad <"$CW_TMP/bb.count"
	awk -v ok="$ok" -v bad="$bad" -v t0="$t0" -v t1="$t1" -v c="$((c1 - c0))" \
	    -v hz="$HZ" -v m="$(cat "$CW_TMP/bb.maxrss")" \
	    -v l="$(awk '{print $1 + $2}' "$CW_TMP/bb.load")" 'BEGIN {
		printf "%.0f %d %d %.2f %.2f %d %.2f\n", ok / (t1 - t0), ok, bad,
		    t1 - t0, c / hz / (t1 - t0), m, l / (t1 - t0) }'
}

# curl_seq URL ARGS...: curl in a loop on core 1, one after the other,
# for SECS seconds.  Prints "rate ok total".
curl_seq()
{
	taskset -c 1 bash -c '
		secs=$1 out=$2; shift 2
		s=$EPOCHREALTIME; s=${s/./}
		while :; do
			curl -s -o /dev/null -w "%{http_code}\n" "$@" >>"$out"
			e=$EPOCHREALTIME; e=${e/./}
			((e - s >= secs * 1000000)) && break
		done
		echo "$s $e" >"$out.t"' curl_seq "$SECS" "$CW_TMP/seq.out" "$@"
	awk -v t="$(cat "$CW_TMP/seq.out.t")" '$1 == 200 {ok++} {n++}
	    END {split(t, a, " "); printf "%.0f %d %d\n",
	    ok / ((a[2] - a[1]) / 1e6), ok, n}' "$CW_TMP/seq.out"
	rm -f "$CW_TMP/seq.out" "$CW_TMP/seq.out.t"
}

# curl_par URL ARGS...: curl processes CURL_P at a time (xargs -P) on
# core 1 for SECS seconds (timeout stops the rest).  Prints "rate ok".
curl_par()
{
	local t0 t1
	t0=$(now)
	seq 10000000 | timeout "$SECS" taskset -c 1 xargs -P "$CURL_P" -I{} \
	    curl -s -o /dev/null -w '%{http_code}\n' "$@" >"$CW_TMP/par.out" \
	    2>/dev/null
	t1=$(now)
	awk -v t0="$t0" -v t1="$t1" '$1 == 200 {ok++}
	    END {printf "%.0f %d\n", ok / (t1 - t0), ok}' "$CW_TMP/par.out"
}

# tls_floor: cold HTTPS requests through OpenSSL alone on core 1 for
# about SECS seconds; prints requests per CPU-second (0 when it failed).
TLSCYCLE=$build/tests/tools/tlscycle
tls_floor()
{
	[ -x "$TLSCYCLE" ] || { echo 0; return; }
	taskset -c 1 "$TLSCYCLE" --port "$HTTPS_PORT" --host localhost \
	    --cafile "$CA" --count $((SECS * 600)) 127.0.0.1 2>/dev/null |
	    awk '/per CPU-second/ {print $(NF - 2); exit} END {if (NR == 0) print 0}'
}

# cw_rate URL ARGS...: one `corewatch http --count N` run on core 1.
# Prints "rate lines ok seconds cpu-seconds maxrss" and keeps stderr in
# $CW_TMP/cw.err.
cw_rate()
{
	local url=$1 t0 t1
	shift
	t0=$(now)
	/usr/bin/time -f '%U %S %M' -o "$CW_TMP/cw.time" taskset -c 1 \
	    "$COREWATCH" http --count "$N" --in-flight "$INFLIGHT" "$@" "$url" \
	    >"$CW_TMP/cw.jsonl" 2>"$CW_TMP/cw.err"
	t1=$(now)
	awk -v t0="$t0" -v t1="$t1" -v n="$N" \
	    -v lines="$(wc -l <"$CW_TMP/cw.jsonl")" \
	    -v ok="$(grep -c '"ok":true' "$CW_TMP/cw.jsonl")" \
	    '{printf "%.0f %d %d %.2f %.2f %d\n", n / (t1 - t0), lines, ok,
	    t1 - t0, $1 + $2, $3}' "$CW_TMP/cw.time"
}

# One scheme: its URL, corewatch's and curl's extra arguments, the
# blackbox module and target.
scheme_args()
{
	case $1 in
	HTTP)
		URL=$URL_HTTP CW_ARGS=() CURL_ARGS=() N=$N_HTTP
		BB_MODULE=http_2xx BB_TARGET=$URL_HTTP ;;
	HTTPS)
		URL=$URL_HTTPS N=$N_HTTPS
		CW_ARGS=(--addr 127.0.0.1 --cacert "$CA")
		CURL_ARGS=(--cacert "$CA" --resolve "localhost:$HTTPS_PORT:127.0.0.1")
		BB_MODULE=https_ca
		BB_TARGET="https://127.0.0.1:$HTTPS_PORT/index.html" ;;
	esac
}

say "== 1. measurements/s on one core (nginx on core 0, client on core 1)"
say "   page $PAGE_BYTES bytes; TLS: ECDSA P-256 certificate from a CA made here"
say "   corewatch: --count $N_HTTP (HTTPS $N_HTTPS) --in-flight $INFLIGHT; curl: ${SECS} s sequential and ${SECS} s with $CURL_P at once;"
say "   blackbox_exporter $("$BLACKBOX" --version 2>&1 | awk 'NR == 1 {print $3}'): ${SECS} s of GET /probe, $BB_P at once, from core 0"
: >"$CW_TMP/details.txt"
declare -A BB_COUNT
for scheme in HTTP HTTPS; do
	# Calibrate how many probes blackbox_exporter does in SECS seconds.
	scheme_args "$scheme"
	read -r r _ <<<"$(bb_rate "$BB_MODULE" "$BB_TARGET" 500)"
	read -r r _ <<<"$(bb_rate "$BB_MODULE" "$BB_TARGET" $((r > 100 ? r : 100)))"
	BB_COUNT[$scheme]=$(((r > 100 ? r : 100) * SECS))
done
for ((round = 1; round <= ROUNDS; round++)); do
	for scheme in HTTP HTTPS; do
		scheme_args "$scheme"
		c0=$(ticks "$NGX_WORKER")
		t0=$(now)
		read -r bb bb_ok bb_bad bb_s bb_busy _ bb_load <<<"$(bb_rate "$BB_MODULE" \
		    "$BB_TARGET" "${BB_COUNT[$scheme]}")"
		ngx_bb=$(awk -v c="$(($(ticks "$NGX_WORKER") - c0))" -v hz="$HZ" \
		    -v t0="$t0" -v t1="$(now)" 'BEGIN {printf "%.0f", 100 * c / hz / (t1 - t0)}')
		BB_COUNT[$scheme]=$(((bb > 100 ? bb : 100) * SECS))
		read -r seq seq_ok seq_n <<<"$(curl_seq "$URL" "${CURL_ARGS[@]}")"
		read -r par par_ok <<<"$(curl_par "$URL" "${CURL_ARGS[@]}")"
		best=$seq
		[ "$par" -gt "$seq" ] && best=$par
		floor=""
		if [ "$scheme" = HTTPS ]; then
			f=$(tls_floor)
			floor=$(awk -v f="$f" -v bb="$bb_ok" -v b="$bb_busy" \
			    -v t="$bb_s" 'BEGIN {bbc = (b > 0 ? bb / (b * t) : 0)
				printf "; OpenSSL alone (tlscycle) %.0f per CPU-second, %.1fx blackbox_exporter per CPU-second", f, (bbc > 0 ? f / bbc : 0) }')
		fi
		printf 'round %d %s: blackbox_exporter %d ok, %d failed in %.2f s, its core %.0f%% busy, nginx %s%% busy, the load (curl) %.0f%%; curl sequential %d ok of %d, %d at once %d ok\n' \
		    "$round" "$scheme" "$bb_ok" "$bb_bad" "$bb_s" \
		    "$(awk -v b="$bb_busy" 'BEGIN {print b * 100}')" "$ngx_bb" \
		    "$(awk -v b="$bb_load" 'BEGIN {print b * 100}')" \
		    "$seq_ok" "$seq_n" "$CURL_P" "$par_ok" >>"$CW_TMP/details.txt"
		if [ "$PEERS_ONLY" = 1 ]; then
			printf 'round %d %s: blackbox_exporter %d probes/s; curl %d/s (sequential %d/s, %d at once %d/s)\n' \
			    "$round" "$scheme" "$bb" "$best" "$seq" "$CURL_P" "$par"
			continue
		fi
		c0=$(ticks "$NGX_WORKER")
		t0=$(now)
		read -r cw cw_lines cw_ok cw_s cw_cpu cw_rss <<<"$(cw_rate "$URL" "${CW_ARGS[@]}")"
		ngx_cw=$(awk -v c="$(($(ticks "$NGX_WORKER") - c0))" -v hz="$HZ" \
		    -v t0="$t0" -v t1="$(now)" 'BEGIN {printf "%.0f", 100 * c / hz / (t1 - t0)}')
		printf 'round %d %s: corewatch %d results (%d ok) in %.2f s, %.2f CPU-s (%.0f per CPU-second), peak RSS %d kB, nginx %s%% busy\n' \
		    "$round" "$scheme" "$cw_lines" "$cw_ok" "$cw_s" "$cw_cpu" \
		    "$(awk -v n="$N" -v c="$cw_cpu" 'BEGIN {print (c > 0 ? n / c : 0)}')" \
		    "$cw_rss" "$ngx_cw" >>"$CW_TMP/details.txt"
		if [ "$cw_ok" != "$N" ]; then
			printf 'round %d %s: corewatch: %s\n' "$round" "$scheme" \
			    "$(head -c 300 "$CW_TMP/cw.err"; grep -m 1 '"ok":false' "$CW_TMP/cw.jsonl" | head -c 600)" \
			    >>"$CW_TMP/details.txt"
		fi
		# Per CPU-second as well: less at the mercy of the neighbours.
		awk -v r="$round" -v s="$scheme" -v cw="$cw" -v bb="$bb" \
		    -v best="$best" -v seq="$seq" -v par="$par" -v p="$CURL_P" \
		    -v floor="$floor" \
		    -v cwc="$(awk -v n="$N" -v c="$cw_cpu" 'BEGIN {print (c > 0 ? n / c : 0)}')" \
		    -v bbc="$(awk -v n="$bb_ok" -v b="$bb_busy" -v t="$bb_s" 'BEGIN {print (b > 0 ? n / (b * t) : 0)}')" 'BEGIN {
			printf "round %d %s: corewatch %.0f/s; blackbox_exporter %.0f probes/s (corewatch %.1fx); curl %.0f/s (sequential %.0f/s, %d at once %.0f/s; corewatch %.1fx); per CPU-second corewatch %.0f, blackbox_exporter %.0f (%.1fx)%s\n",
			    r, s, cw, bb, (bb > 0 ? cw / bb : 0), best, seq, p, par,
			    (best > 0 ? cw / best : 0), cwc, bbc, (bbc > 0 ? cwc / bbc : 0), floor }'
	done
done
sed 's/^/  /' "$CW_TMP/details.txt"
read -r _ BB_LOAD_HWM < <(rss "$BB_PID")
cw_stop "$BB_PID"

say ""
say "== 2. RSS"
say "blackbox_exporter: idle $BB_IDLE_RSS kB; peak under the rate runs above $BB_LOAD_HWM kB (VmHWM)"
# The slow responder: its answer comes 3 s after the request.
cw_spawn_port httpslow.py "$CW_TMP/slow.log" taskset -c 0 /usr/bin/python3 \
    "$SLOW" --delay 3 --lifetime 600
SLOW_PORT=$CW_PORT
SLOW_URL="http://127.0.0.1:$SLOW_PORT/slow"

# blackbox_exporter with SLOW_N probes in flight: a fresh one, SLOW_N
# GET /probe at once (curl allows 300 per process: several processes).
bb_start
sleep 1
read -r r0 _ < <(rss "$BB_PID")
per=250 procs=()
t0=$(now)
for ((i = 0; i < SLOW_N; i += per)); do
	k=$((SLOW_N - i < per ? SLOW_N - i : per))
	taskset -c 0 curl -s --no-progress-meter --parallel --parallel-immediate --parallel-max "$k" \
	    "http://127.0.0.1:$BB_PORT/probe?module=http_2xx&target=$SLOW_URL&n=[1-$k]" \
	    >"$CW_TMP/bbslow.$i" 2>&1 &
	procs+=($!)
	cw_track "$!"
done
for p in "${procs[@]}"; do
	cw_wait "$p" 60
done
t1=$(now)
read -r _ bb_slow_hwm < <(rss "$BB_PID")
bb_slow_ok=$(cat "$CW_TMP"/bbslow.* | grep -c '^probe_success 1$')
cw_stop "$BB_PID"
awk -v n="$SLOW_N" -v ok="$bb_slow_ok" -v h="$bb_slow_hwm" -v r0="$r0" \
    -v s="$(awk -v a="$t0" -v b="$t1" 'BEGIN {print b - a}')" 'BEGIN {
	printf "blackbox_exporter, %d probes of the 3 s responder at once: %d ok in %.1f s; peak RSS %d kB (fresh process, %d kB before)\n",
	    n, ok, s, h, r0 }'

if [ "$PEERS_ONLY" != 1 ]; then
	N=$SLOW_N INFLIGHT=$SLOW_N
	read -r _ cw_lines cw_ok cw_s cw_cpu cw_rss <<<"$(cw_rate "$SLOW_URL" --timeout 30)"
	printf 'corewatch, --count %d --in-flight %d against the 3 s responder: %d results (%d ok) in %.1f s, %.2f CPU-s; peak RSS %d kB\n' \
	    "$SLOW_N" "$SLOW_N" "$cw_lines" "$cw_ok" "$cw_s" "$cw_cpu" "$cw_rss"
	[ "$cw_ok" = "$SLOW_N" ] || head -c 600 "$CW_TMP/cw.err"
	awk -v c="$cw_rss" -v l="$BB_LOAD_HWM" -v s="$bb_slow_hwm" 'BEGIN {
		printf "corewatch RSS / blackbox_exporter RSS: %.2f of its peak under the rate load, %.2f of its peak with the same number in flight\n",
		    c / l, c / s }'
fi
