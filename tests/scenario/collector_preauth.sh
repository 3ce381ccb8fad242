#!/bin/bash
# collector_preauth.sh -- what a client that is not an enrolled probe can
# make the collector hold before anything is authenticated, on loopback:
# every body that is not an enrollment's nor signed by an enrolled,
# unrevoked probe refused from its head alone (401, 403), a
# Content-Length over max_body (413) and past the memory all bodies may
# take (503 with Retry-After) refused at once, requests evhttp could
# frame otherwise refused (400, 405, 411: request smuggling), pipelined
# requests still served in order; then the figures: the collector's RSS
# under 200 held-open 16 MiB bodies of a made-up probe, and the batches
# a legitimate probe gets through (with their median latency) during an
# idle flood of 5,000 connections and a slowloris flood of 1,600 (one
# head byte every 10 s) from another loopback address, and the limit of
# connections per address.  SQLite (the _pg tests cover PostgreSQL's
# ingest).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
FLOOD="$CW_SCENARIO_DIR/../tools/connflood.py"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"
# The floods hold thousands of descriptors, the collector a thousand.
ulimit -n 20000 2>/dev/null || ulimit -n "$(ulimit -Hn)"

SEED_A=0101010101010101010101010101010101010101010101010101010101010101
SEED_B=0202020202020202020202020202020202020202020202020202020202020202
CHAIN=00112233445566778899aabbccddeeff
ID_A=$("$MKBATCH" id --seed "$SEED_A") || cw_die "mkbatch id failed"
NOBODY="CW1-Ed25519 probe=0123456789abcdef0123456789abcdef,sig=$(head -c 64 \
    /dev/zero | base64 -w0)"

"$COLLECTOR" probe add --db "$DB" --name probe-a \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED_A")" >/dev/null ||
    cw_die "probe add failed"
"$COLLECTOR" probe add --db "$DB" --name probe-b \
    --pubkey "$("$MKBATCH" pubkey --seed "$SEED_B")" >/dev/null ||
    cw_die "probe add failed"
"$COLLECTOR" probe revoke --db "$DB" 2 >/dev/null || cw_die "revoke failed"

# collector_start [CONF LINES...]: serve with the lines given (defaults
# otherwise: max_body 4M, body_budget 256M, header_timeout 10s), and a
# read token for /metrics.
READ_TOKEN=0123456789abcdef-preauth
collector_start()
{
	printf 'db = "%s"\nlog_level = debug\nread_token = "%s"\n' "$DB" \
	    "$READ_TOKEN" >"$CW_TMP/collector.conf"
	printf '%s\n' "$@" >>"$CW_TMP/collector.conf"
	cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
}

# raw NAME [HOLD]: send stdin as it is on one connection, without
# closing our side, and read what comes back until the collector closes
# (at most 5 s, HOLD s when given); the answer in $CW_TMP/NAME.resp, how
# long its first byte took in $CW_TMP/NAME.time.
cat >"$CW_TMP/raw.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
t0 = time.monotonic()
s.sendall(sys.stdin.buffer.read())
s.settimeout(float(sys.argv[2]))
first, out = None, b""
try:
    while True:
        data = s.recv(65536)
        if not data:
            break
        if first is None:
            first = time.monotonic() - t0
        out += data
except (socket.timeout, ConnectionResetError):
    pass
sys.stdout.buffer.write(out)
print("%.3f" % (first if first is not None else 99), file=sys.stderr)
EOF
raw()
{
	/usr/bin/python3 "$CW_TMP/raw.py" "$COLLECTOR_PORT" "${2:-5}" \
	    >"$CW_TMP/$1.resp" 2>"$CW_TMP/$1.time"
}

# raw_result NAME: STATUSES, the status codes of what raw NAME got, and
# SECS, how long its first byte took (raw runs at the end of a pipe).
raw_result()
{
	STATUSES=$(grep -a -o '^HTTP/1\.1 [0-9]*' "$CW_TMP/$1.resp" |
	    awk '{ printf "%s%s", sep, $2; sep = " " }')
	SECS=$(cat "$CW_TMP/$1.time")
	SECS=${SECS:-99}
}

# expect_raw DESCRIPTION STATUSES [DETAIL-REGEX]: the answers of the last
# raw() were STATUSES, the last one a JSON error (its detail matching),
# within 3 s of sending.
expect_raw()
{
	local desc=$1 want=$2 re=${3:-.}
	raw_result "$RAW"
	cw_check "$desc: $want ($STATUSES)" [ "$STATUSES" = "$want" ]
	cw_check "$desc: answered at once (${SECS}s)" \
	    awk -v s="$SECS" 'BEGIN { exit !(s < 3) }'
	sed -n '$p' "$CW_TMP/$RAW.resp" >"$CW_TMP/$RAW.json"
	cw_expect "$desc: a JSON error saying /$re/" "$CW_TMP/$RAW.json" \
	    ".[0] | (.error | type == \"string\") and (.detail | test(\"$re\"))"
}

# not_in_log REGEX: the collector's log does not match.
not_in_log()
{
	! grep -qE "$1" "$CW_TMP/collector.log"
}

# head_post AUTH LENGTH [EXTRA HEADER LINES]: a batch's head, CRLF.
head_post()
{
	printf 'POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n'
	printf 'Content-Type: application/x-ndjson\r\n'
	[ -n "$1" ] && printf 'Authorization: %s\r\n' "$1"
	printf 'Content-Length: %s\r\n' "$2"
	shift 2
	for h; do printf '%s\r\n' "$h"; done
	printf '\r\n'
}

"$MKBATCH" batch --seed "$SEED_A" --chain "$CHAIN" --from 1 --count 3 \
    --out "$CW_TMP/good.body" --auth "$CW_TMP/good.auth" >/dev/null ||
    cw_die "mkbatch failed"
AUTH_A=$(cat "$CW_TMP/good.auth")
AUTH_B="CW1-Ed25519 probe=$("$MKBATCH" id --seed "$SEED_B"),sig=$(head -c \
    64 /dev/zero | base64 -w0)"

# The new options are checked with the others.
printf 'db = "%s"\nmax_body = 2M\nbody_budget = 1M\nheader_timeout = 0s\n%s\n' \
    "$DB" 'max_connections_per_address = 0' >"$CW_TMP/bad.conf"
"$COLLECTOR" serve -c "$CW_TMP/bad.conf" 2>"$CW_TMP/bad.err"
cw_check "a bad configuration: exit 2" [ $? = 2 ]
cw_check "body_budget below max_body is an error at its line" \
    grep -q 'bad.conf:3: body_budget: .*less than max_body' "$CW_TMP/bad.err"
cw_check "header_timeout of 0 is an error" \
    grep -q 'bad.conf:4: header_timeout' "$CW_TMP/bad.err"
cw_check "max_connections_per_address of 0 is an error" \
    grep -q 'bad.conf:5: max_connections_per_address' "$CW_TMP/bad.err"

collector_start "body_budget = 2M" "max_body = 1M"

# --- refused from the head, before the body ---------------------------------

RAW=unknown
head_post "$NOBODY" 1000000 | raw $RAW
expect_raw "a made-up probe, body held back" 401 "not enrolled"
cw_check "with WWW-Authenticate" grep -qai '^WWW-Authenticate: CW1-Ed25519' \
    "$CW_TMP/$RAW.resp"

RAW=noauth
head_post "" 1000000 | raw $RAW
expect_raw "no Authorization, body held back" 401

RAW=badauth
head_post "Bearer abc" 1000000 | raw $RAW
expect_raw "a malformed Authorization" 401

RAW=revoked
head_post "$AUTH_B" 1000000 | raw $RAW
expect_raw "a revoked probe" 403 "revoked"

RAW=toolarge
head_post "$AUTH_A" 1048577 | raw $RAW
expect_raw "an enrolled probe, Content-Length over max_body" 413 "1048576"

RAW=enroll
printf 'POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n' |
    raw $RAW
expect_raw "an enrollment over 4 KiB" 413 "4096"

RAW=metricsbody
printf 'GET /metrics HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\n' |
    raw $RAW
expect_raw "a body on another endpoint, unsigned" 401

# --- framing: refused when evhttp could read it otherwise ---------------------

RAW=twolen
{ printf 'POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nAuthorization: %s\r\n' \
    "$AUTH_A"
  printf 'Content-Length: 0\r\nContent-Length: 40\r\n\r\n'
  printf 'GET /nothing HTTP/1.1\r\nHost: t\r\n\r\n'; } | raw $RAW
expect_raw "two Content-Lengths, a request hidden in the second" 400 \
    "more than one Content-Length"

RAW=samelen
{ head_post "$AUTH_A" 5 "Content-Length: 5"; printf 'xxxxx'; } | raw $RAW
expect_raw "two equal Content-Lengths" 400 "more than one"

RAW=chunked
{ printf 'POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nAuthorization: %s\r\n' \
    "$AUTH_A"
  printf 'Transfer-Encoding: chunked\r\n\r\n5\r\nxxxxx\r\n0\r\n\r\n'; } |
    raw $RAW
expect_raw "a chunked body" 411 "Content-Length"

RAW=techunked
{ head_post "$AUTH_A" 5 "Transfer-Encoding: gzip, chunked"; printf 'xxxxx'; } |
    raw $RAW
expect_raw "Transfer-Encoding beside Content-Length" 400 "both"

RAW=fold
{ printf 'POST /api/v1/batches HTTP/1.1\r\nHost: t\r\nX-A: a\r\n'
  printf ' Content-Length: 40\r\n\r\n'; } | raw $RAW
expect_raw "a folded header line" 400 "folded"

RAW=spacecolon
{ printf 'POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\n'
  printf 'Content-Length : 40\r\n\r\n'; } | raw $RAW
expect_raw "a space before the colon" 400 "token"

RAW=barelf
printf 'POST /api/v1/enroll HTTP/1.1\nHost: t\nContent-Length: 40\n\n' |
    raw $RAW
expect_raw "lines ending in LF alone" 400 "CRLF"

RAW=signlen
{ printf 'POST /api/v1/enroll HTTP/1.1\r\nHost: t\r\n'
  printf 'Content-Length: +40\r\n\r\n'; } | raw $RAW
expect_raw "a signed Content-Length" 400 "digits"

RAW=method
{ printf 'PURGE /api/v1/batches HTTP/1.1\r\nHost: t\r\n'
  printf 'Content-Length: 40\r\n\r\n'; } | raw $RAW
expect_raw "a method evhttp reads no body for" 405
cw_check "with Allow" grep -qa '^Allow: GET, HEAD, POST' "$CW_TMP/$RAW.resp"

RAW=headbody
printf 'HEAD /healthz HTTP/1.1\r\nHost: t\r\nContent-Length: 40\r\n\r\n' |
    raw $RAW
expect_raw "HEAD with a body" 400 "HEAD"

RAW=bighead
{ printf 'GET /healthz HTTP/1.1\r\nHost: t\r\nX-Big: '
  head -c 9000 /dev/zero | tr '\0' a; printf '\r\n\r\n'; } | raw $RAW
expect_raw "a head over max_headers_size" 431

# --- what is vouched for is served, in order ----------------------------------

RAW=good
{ head_post "$AUTH_A" "$(stat -c %s "$CW_TMP/good.body")"
  cat "$CW_TMP/good.body"; } | raw $RAW 2
raw_result $RAW
cw_check "a signed batch sent by hand: 200 ($STATUSES)" [ "$STATUSES" = 200 ]
cw_check "its receipt acknowledges seq 3" \
    grep -qa '"acked_seq": *3' "$CW_TMP/$RAW.resp"

RAW=pipelined
{ printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
  head_post "$AUTH_A" "$(stat -c %s "$CW_TMP/good.body")"
  cat "$CW_TMP/good.body"
  printf 'GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n'
  head_post "$NOBODY" 1000; } | raw $RAW 3
raw_result $RAW
cw_check "four pipelined requests, the last unsigned: 200 200 200 401 \
($STATUSES)" [ "$STATUSES" = "200 200 200 401" ]

# --- the memory all bodies may take -------------------------------------------

/usr/bin/python3 - "$COLLECTOR_PORT" "$AUTH_A" >"$CW_TMP/budget.out" \
    2>&1 <<'EOF'
import socket, sys, time
port, auth = int(sys.argv[1]), sys.argv[2]
def post(length):
    s = socket.create_connection(("127.0.0.1", port))
    s.sendall(("POST /api/v1/batches HTTP/1.1\r\nHost: t\r\n"
               "Content-Type: application/x-ndjson\r\nAuthorization: %s\r\n"
               "Content-Length: %d\r\n\r\n" % (auth, length)).encode())
    s.sendall(b"x" * 1000)
    return s
def answer(s, wait):
    s.settimeout(wait)
    try:
        return s.recv(4096).decode("ascii", "replace")
    except socket.timeout:
        return ""
# Two bodies of 1 MiB being received take the budget of 2 MiB ...
held = [post(1 << 20), post(1 << 20)]
time.sleep(0.3)
third = post(1000)
a = answer(third, 3)
print("third", a.split("\r\n")[0])
print("retry-after", "yes" if "\r\nRetry-After: " in a else "no")
print("held", "waiting" if all(answer(h, 0.3) == "" for h in held) else "answered")
# ... and one going away gives its part back.
held.pop().close()
time.sleep(0.3)
fourth = post(1000)
print("fourth", answer(fourth, 3).split("\r\n")[0])
EOF
cat "$CW_TMP/budget.out" >&2
cw_check "past body_budget: 503 at once" \
    grep -q '^third HTTP/1.1 503' "$CW_TMP/budget.out"
cw_check "the 503 says Retry-After" \
    grep -q '^retry-after yes' "$CW_TMP/budget.out"
cw_check "the bodies within the budget are still being read" \
    grep -q '^held waiting' "$CW_TMP/budget.out"
# The fourth is read (its budget is there) and refused for its body,
# which the signature does not cover: not 503.
cw_check "a body closed gives its budget back" \
    grep -q '^fourth HTTP/1.1 401' "$CW_TMP/budget.out"

# --- the address limit --------------------------------------------------------

cw_collector_stop
collector_start "max_connections_per_address = 4"
/usr/bin/python3 - "$COLLECTOR_PORT" >"$CW_TMP/peer.out" 2>&1 <<'EOF'
import socket, sys, time
port = int(sys.argv[1])
def conn(src):
    s = socket.socket()
    s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    return s
def closed(s):
    s.settimeout(1)
    try:
        return s.recv(10) == b""
    except socket.timeout:
        return False
    except ConnectionResetError:
        return True
four = [conn("127.0.0.2") for _ in range(4)]
time.sleep(0.3)
print("fifth", "closed" if closed(conn("127.0.0.2")) else "open")
other = conn("127.0.0.3")
other.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
other.settimeout(3)
print("other", other.recv(100).split(b"\r\n")[0].decode())
print("four", "open" if not any(closed(s) for s in four) else "closed")
EOF
cat "$CW_TMP/peer.out" >&2
cw_check "a fifth connection from one address is closed" \
    grep -q '^fifth closed' "$CW_TMP/peer.out"
cw_check "another address is served meanwhile" \
    grep -q '^other HTTP/1.1 200' "$CW_TMP/peer.out"
cw_check "the four first stay open" grep -q '^four open' "$CW_TMP/peer.out"
cw_check "no client address in the log" \
    not_in_log '127\.0\.0\.[23]'

# --- the head's own timeout ----------------------------------------------------

cw_collector_stop
collector_start "header_timeout = 2s" "timeout = 30s" "request_timeout = 60s"
/usr/bin/python3 - "$COLLECTOR_PORT" "$CW_SCENARIO_DIR/../tools" \
    >"$CW_TMP/head.out" 2>&1 <<'EOF'
import socket, sys
port = int(sys.argv[1])
sys.path.insert(0, sys.argv[2])
from sockwait import closed_within
# A head trickling a byte every 0.5 s: never idle, never done.
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /api/v1/batches HTTP/1.1\r\nX-Slow: ")
print("trickle", closed_within(s, 10, b"a"))
# A kept-alive connection after its answer waits for its next head as
# long, no longer.
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: t\r\n\r\n")
s.settimeout(3)
print("answer", s.recv(100).split(b"\r\n")[0].decode())
print("keepalive", closed_within(s, 10))
EOF
cat "$CW_TMP/head.out" >&2
cw_check "a trickled head is cut at header_timeout (2 s), not the idle 30 s" \
    awk '$1 == "trickle" && $2 != "None" && $2 >= 1.5 && $2 < 5 { ok = 1 }
    END { exit !ok }' "$CW_TMP/head.out"
cw_check "a kept-alive connection is served" \
    grep -q '^answer HTTP/1.1 200' "$CW_TMP/head.out"
cw_check "and closed header_timeout after its answer" \
    awk '$1 == "keepalive" && $2 != "None" && $2 >= 1.5 && $2 < 5 { ok = 1 }
    END { exit !ok }' "$CW_TMP/head.out"

# --- figures: RSS under 200 held-open bodies of a made-up probe ---------------

# rss_mb: the collector's resident memory, in MB.
rss_mb()
{
	awk '$1 == "VmRSS:" { printf "%d", $2 / 1024 }' \
	    "/proc/$COLLECTOR_PID/status"
}

cw_collector_stop
# As the issue found it: bodies up to 16 MiB, from one address (the
# per-address limit lifted).
collector_start "max_connections_per_address = 100000" "max_body = 16M"
RSS_START=$(rss_mb)
/usr/bin/python3 "$FLOOD" body "$COLLECTOR_PORT" --source 127.0.0.2 \
    --count 200 --duration 12 --length $((16 << 20)) --auth "$NOBODY" \
    >"$CW_TMP/body.out" 2>&1 &
FLOOD_PID=$!
cw_track "$FLOOD_PID"
RSS_MAX=$RSS_START
for ((i = 0; i < 24; i++)); do
	sleep 0.5
	r=$(rss_mb)
	[ "$r" -gt "$RSS_MAX" ] && RSS_MAX=$r
done
cw_wait "$FLOOD_PID" 20
cw_log "figure: RSS under 200 held-open unauthenticated 16 MiB bodies:" \
    "at most $RSS_MAX MB (${RSS_START} MB before); the flood: $(cat \
    "$CW_TMP/body.out")"
cw_check "RSS under 200 held-open 16 MiB bodies stays under 100 MB" \
    [ "$RSS_MAX" -lt 100 ]
cw_check "the held-open bodies were refused (401)" \
    grep -q 'statuses .*401:' "$CW_TMP/body.out"

# --- figures: a legitimate probe during floods --------------------------------

# Chained batches of a second chain, made beforehand.
CHAIN2=ffeeddccbbaa99887766554433221100
# Enough for each phase's own share (PHASE_MAX): a fast machine must not
# use up in the quiet phase what the floods were to be measured with.
PHASE_MAX=250
NBATCH=$((3 * PHASE_MAX))
prev=
for ((i = 1; i <= NBATCH; i++)); do
	prev=$("$MKBATCH" batch --seed "$SEED_A" --chain "$CHAIN2" \
	    --from $((5 * i - 4)) --count 5 ${prev:+--prev "$prev"} \
	    --out "$CW_TMP/b$i.body" --auth "$CW_TMP/b$i.auth") ||
	    cw_die "mkbatch failed"
done
NEXT=1

# legit NAME SECONDS: the probe posts its next batches, one after the
# other on new connections, for SECONDS (at most PHASE_MAX of them);
# LEGIT_OK: how many got 200, LEGIT_P50: their median latency in ms.
legit()
{
	local out="$CW_TMP/$1.legit" end=$((SECONDS + $2)) last
	last=$((NEXT + PHASE_MAX - 1))
	: >"$out"
	while [ "$SECONDS" -lt "$end" ] && [ "$NEXT" -le "$last" ]; do
		curl -s -o /dev/null -w '%{http_code} %{time_total}\n' \
		    --max-time 10 -H "Content-Type: application/x-ndjson" \
		    -H "Authorization: $(cat "$CW_TMP/b$NEXT.auth")" \
		    --data-binary "@$CW_TMP/b$NEXT.body" \
		    "$COLLECTOR_URL/api/v1/batches" >>"$out"
		NEXT=$((NEXT + 1))
	done
	LEGIT_OK=$(awk '$1 == 200' "$out" | wc -l)
	# What the others got (000: no answer in 10 s, or closed unanswered).
	LEGIT_CODES=$(awk '{ n[$1]++ } END { for (c in n) printf "%s%s:%d",
	    s++ ? "," : "", c, n[c] }' "$out")
	LEGIT_P50=$(awk '$1 == 200 { print $2 * 1000 }' "$out" | sort -n |
	    awk '{ v[NR] = $1 } END { printf "%.1f", NR ? v[int((NR + 1) / 2)] : -1 }')
}

# flood_run NAME MODE COUNT [ARGS]: COUNT hostile connections of MODE
# from 127.0.0.2 for 26 s; the probe posts from the 4th second for 20 s.
flood_run()
{
	local name=$1 mode=$2 count=$3
	shift 3
	/usr/bin/python3 "$FLOOD" "$mode" "$COLLECTOR_PORT" \
	    --source 127.0.0.2 --count "$count" --duration 26 "$@" \
	    >"$CW_TMP/$name.out" 2>&1 &
	FLOOD_PID=$!
	cw_track "$FLOOD_PID"
	sleep 4
	CONNS=$(curl -sS --max-time 5 -H "Authorization: Bearer $READ_TOKEN" \
	    "$COLLECTOR_URL/metrics" |
	    awk '$1 == "corewatch_connections" { print $2 }')
	legit "$name" 20
	cw_wait "$FLOOD_PID" 30
	cw_log "figure: $name flood: $LEGIT_OK batches served in 20 s," \
	    "p50 ${LEGIT_P50} ms (statuses ${LEGIT_CODES:--});" \
	    "${CONNS:-?} connections open at its 4th second; the flood:" \
	    "$(cat "$CW_TMP/$name.out")"
	cw_check "$name flood: it filled the cap (${CONNS:-?} of 1024)" \
	    [ "${CONNS:-0}" -ge 900 ]
	cw_check "$name flood: the probe got 10 or more batches through" \
	    [ "$LEGIT_OK" -ge 10 ]
	cw_check "$name flood: their median latency is under 1 s" \
	    awk -v p="$LEGIT_P50" 'BEGIN { exit !(p >= 0 && p < 1000) }'
}

legit quiet 5
cw_log "figure: no flood: $LEGIT_OK batches served in 5 s, p50 ${LEGIT_P50} ms"
cw_check "no flood: the probe's batches go through" [ "$LEGIT_OK" -ge 3 ]
flood_run idle idle 5000
flood_run slowloris slow 1600 --interval 10

cw_done
