#!/bin/bash
# export_slow.sh -- an export pages by bytes as well as by rows, so that
# slow readers cannot make the collector hold what it has not sent:
# 300 records of about 64 KiB each are stored, then 100 clients ask for
# /api/v1/results, read 64 KiB of it and stall.  Each reader must hold
# no more than about one page of EXPORT_PAGE_BYTES (256 KiB); a page of
# 500 such records, the page of rows alone, is 32 MiB.  The test prints
# the collector's RSS then and asserts that it stays under 160 MiB.
# Meanwhile a fast reader still gets every byte: the JSON lines are the
# records as posted, byte for byte, and the CSV and Atlas forms over
# HTTP are those of `corewatch-collector export`.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
SEED=0505050505050505050505050505050505050505050505050505050505050505
CHAIN=55555555555555555555555555555555
READERS=100
RSS_MAX_MB=160
# What AddressSanitizer keeps of freed memory to catch a use after free
# is not the collector's: keep it small so that RSS is the collector's.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}quarantine_size_mb=8"

cw_tmpdir
cw_collector_db
cat >"$CW_TMP/collector.conf" <<EOF
db = "$COLLECTOR_DB"
max_body = 16M
timeout = 60s
# The readers are anonymous (there are no heartbeats to withhold), and
# all 100 come from one address.
public_read = true
max_connections_per_address = 1000
log_level = info
EOF
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
cw_probe_enroll "$COLLECTOR_DB" big "$("$MKBATCH" pubkey --seed "$SEED")"

# 15 batches of 20 records of about 64 KiB.
prev=
: >"$CW_TMP/posted"
for ((b = 0; b < 15; b++)); do
	prev=$("$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" \
	    --from $((b * 20 + 1)) --count 20 --pad 64000 \
	    ${prev:+--prev "$prev"} --out "$CW_TMP/big.body" \
	    --auth "$CW_TMP/big.auth") || cw_die "mkbatch failed"
	status=$(curl -sS -o "$CW_TMP/receipt" -w '%{http_code}' \
	    --max-time 60 -H "Content-Type: application/x-ndjson" \
	    -H "Authorization: $(cat "$CW_TMP/big.auth")" \
	    --data-binary "@$CW_TMP/big.body" "$COLLECTOR_URL/api/v1/batches")
	[ "$status" = 200 ] ||
	    cw_die "batch $b: $status $(cat "$CW_TMP/receipt")"
	cat "$CW_TMP/big.body" >>"$CW_TMP/posted"
done

# The slow readers: each reads 64 KiB of the export, then all stall
# until they are stopped.
cat >"$CW_TMP/slow.py" <<'EOF'
import socket, sys, time
port, n, ready = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
socks = []
for i in range(n):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.settimeout(30)
    s.connect(("127.0.0.1", port))
    s.sendall(b"GET /api/v1/results HTTP/1.1\r\nHost: x\r\n\r\n")
    socks.append(s)
for s in socks:
    got = 0
    while got < 65536:
        data = s.recv(16384)
        if not data:
            sys.exit("a reader was cut off")
        got += len(data)
with open(ready, "w") as f:
    f.write("reading stalled\n")
time.sleep(120)
EOF
cw_spawn "$CW_TMP/slow.log" /usr/bin/python3 "$CW_TMP/slow.py" \
    "$COLLECTOR_PORT" "$READERS" "$CW_TMP/slow.ready"
SLOW_PID=$CW_SPAWNED
for ((i = 0; i < 600; i++)); do
	[ -s "$CW_TMP/slow.ready" ] && break
	kill -0 "$SLOW_PID" 2>/dev/null || break
	sleep 0.1
done
cw_check "$READERS slow readers each read 64 KiB" [ -s "$CW_TMP/slow.ready" ] ||
    cat "$CW_TMP/slow.log" >&2
# Let the collector fill what its readers' sockets take, then look.
sleep 2
rss=$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$COLLECTOR_PID/status")
cw_log "figures: collector RSS with $READERS stalled readers of 300" \
    "records of 64 KiB: $((rss / 1024)) MiB"
cw_check "RSS $((rss / 1024)) MiB < $RSS_MAX_MB MiB" \
    [ "$rss" -lt $((RSS_MAX_MB * 1024)) ]

# A fast reader meanwhile: every byte.
for fmt in jsonl csv atlas; do
	status=$(curl -sS -o "$CW_TMP/http.$fmt" -w '%{http_code}' \
	    --max-time 60 "$COLLECTOR_URL/api/v1/results?format=$fmt")
	cw_check "GET results format=$fmt: 200" [ "$status" = 200 ]
	"$COLLECTOR" export --db "$COLLECTOR_DB" --format "$fmt" \
	    --out "$CW_TMP/cli.$fmt" || cw_die "export --format $fmt failed"
	cw_check "format=$fmt: HTTP and CLI byte for byte" \
	    cmp "$CW_TMP/cli.$fmt" "$CW_TMP/http.$fmt"
done
cw_check "jsonl: the 300 records as posted, byte for byte" \
    cmp "$CW_TMP/posted" "$CW_TMP/http.jsonl"
cw_check "csv: a header and 300 rows" \
    [ "$(wc -l <"$CW_TMP/http.csv")" = 301 ]
cw_check "the slow readers were not cut off" kill -0 "$SLOW_PID"
cw_stop "$SLOW_PID"
cw_collector_stop
cw_check "the collector stops cleanly on SIGTERM" [ "$CW_STATUS" = 0 ]
cw_done
