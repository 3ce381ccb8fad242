#!/bin/bash
# upload.sh -- the probe's uploader against the real collector
# (corewatch-collector serve, SQLite in the work directory), driven by
# tests/tools/uploadrun (a spool, records appended, the uploader run
# until the queue is empty):
#   enroll with a one-time token (corewatch enroll);
#   the collector down while records queue, then up: every record
#   arrives exactly once, in order, the chain intact;
#   a collector that answers 500, 429 with Retry-After (seconds and an
#   HTTP date), 400 (tests/fault/httpfault.py in front of the real one):
#   the waits honoured, the refused batch in the dead-letter file and
#   carried in by hand with `corewatch-collector import`;
#   failover to a second URL and back to the first; an HTTP proxy; a
#   SOCKS5 proxy given the collector's name (socks5h, as for Tor);
#   packet loss (nftables numgen drop rules) on a veth pair between two
#   network namespaces of the test's own, the probe in one and the
#   collector in the other;
#   no upload at all: the spool exported with `corewatch spool export`
#   and imported twice (the second time: duplicates only);
#   `corewatch run` measuring, spooling and uploading on one loop,
#   stopped and started again (the chain goes on), its heartbeats saying
#   how uploads go; what check-config says of bad upload sections.
# Everything listens on 127.0.0.1 or inside the test's namespaces.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

UPLOADRUN="$top_builddir/tests/tools/uploadrun"
HTTPFAULT="$CW_SCENARIO_DIR/../fault/httpfault.py"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$UPLOADRUN" ] || cw_die "no $UPLOADRUN (make check builds it)"

cw_tmpdir
DB="sqlite:$CW_TMP/collector.db"

# fault_start NAME SCRIPT: httpfault.py forwarding to $COLLECTOR_URL; sets
# FAULT_URL, FAULT_LOG.
fault_start()
{
	FAULT_LOG="$CW_TMP/$1.log"
	cw_spawn_port "httpfault $1" "$CW_TMP/$1.out" /usr/bin/python3 \
	    "$HTTPFAULT" --script "$2" --forward "$COLLECTOR_URL" \
	    --log "$FAULT_LOG" --lifetime 200
	FAULT_URL="http://127.0.0.1:$CW_PORT"
}

# enroll NAME: a key in $CW_TMP/NAME.key, enrolled with `probe add`;
# sets PROBE_ID (cw_probe_key).
enroll()
{
	cw_probe_key "$CW_TMP/$1.key"
	cw_probe_enroll "$DB" "$1" "$PROBE_PUBKEY"
}

# upload NAME ARGS...: uploadrun on spool $CW_TMP/NAME.spool with key
# NAME; status JSON in $CW_TMP/NAME.status, exit status in $rc.
upload()
{
	local name=$1
	shift
	timeout 150 "$UPLOADRUN" --spool "$CW_TMP/$name.spool" \
	    --key "$CW_TMP/$name.key" "$@" >"$CW_TMP/$name.status" \
	    2>"$CW_TMP/$name.err"
	rc=$?
	[ "$rc" = 0 ] || { cw_log "uploadrun $name: exit $rc"; \
	    tail -n 20 "$CW_TMP/$name.err" >&2; }
}

# chain_ok PROBE N ORDERED: the collector holds records 1..N of one
# chain of PROBE, each exactly once, each `prev` the SHA-256 of the
# record before (ORDERED=1: stored in seq order as well).
chain_ok()
{
	local sum="$CW_TMP/chain.$1.json"
	"$COLLECTOR" export --db "$DB" --format jsonl --probe "$1" \
	    >"$CW_TMP/export.$1.jsonl" &&
	    cw_chain_check "$CW_TMP/export.$1.jsonl" >"$sum" || return 1
	jq -e --argjson n "$2" --argjson ordered "$3" '.records == $n and
	    .first == 1 and .last == $n and .twice == 0 and .broken == 0 and
	    ($ordered == 0 or .unordered == 0)' "$sum" >/dev/null || {
		cat "$sum" >&2
		return 1
	}
}

# jfield FILE FILTER: jq -r on a one-line JSON file.
jfield()
{
	jq -r "$2" "$1"
}

cw_collector_start "$CW_TMP/collector.log" --db "$DB"

# --- enroll ------------------------------------------------------------------

cw_probe_key "$CW_TMP/a.key"
PROBE_A=$PROBE_ID
TOKEN=$("$COLLECTOR" token create --db "$DB" --name probe-a --ttl 1h) ||
    cw_die "token create"
"$COREWATCH" enroll --key "$CW_TMP/a.key" "$COLLECTOR_URL/" "$TOKEN" \
    >"$CW_TMP/enroll.out" 2>"$CW_TMP/enroll.err"
cw_check "enroll: exit 0" [ $? = 0 ] || cat "$CW_TMP/enroll.err" >&2
cw_check "enroll: prints the probe id and its number" \
    [ "$(cat "$CW_TMP/enroll.out")" = "$(printf 'probe %s\nnum 1' \
    "$PROBE_A")" ]
echo "$TOKEN" | "$COREWATCH" enroll --key "$CW_TMP/a.key" "$COLLECTOR_URL" - \
    >/dev/null 2>"$CW_TMP/enroll2.err"
cw_check "enroll with a used token: exit 1" [ $? = 1 ]
cw_check "enroll with a used token: says so" \
    grep -q "token" "$CW_TMP/enroll2.err"

# --- the collector down while records queue, then up ---------------------------

cw_collector_stop
"$UPLOADRUN" --spool "$CW_TMP/a.spool" --key "$CW_TMP/a.key" \
    --append 3000 --rate 1000 --url "$COLLECTOR_URL" \
    --batch-records 250 --batch-age 500ms --backoff-max 1s --timeout 60s \
    >"$CW_TMP/a.status" 2>"$CW_TMP/a.err" &
UP_PID=$!
cw_track "$UP_PID"
sleep 2
cw_collector_restart "$CW_TMP/collector.again.log"
cw_wait "$UP_PID" 70
cw_check "down then up: the queue drained" [ "$CW_STATUS" = 0 ] ||
    tail -n 20 "$CW_TMP/a.err" >&2
cw_expect "down then up: failures while down, then none" "$CW_TMP/a.status" \
    '.[0] | .drained and .appended == 3000 and .acked_seq == 3000 and
     .paths[0].failed >= 1 and .paths[0].records == 3000 and
     .consecutive_failures == 0 and .failing_since == null and
     .last_receipt != null and .dead_letters == 0'
cw_check "down then up: records 1..3000 once, in order, chain intact" \
    chain_ok "$PROBE_A" 3000 1
# spool status: the last receipt's time is the collector's received_at
# of the batch that ended at seq 3000 (its records carry it), not when
# the cursor file was written.
printf '%s\n' 'probe { name = "a" }' "key = \"$CW_TMP/a.key\"" \
    "spool { dir = \"$CW_TMP/a.spool\" }" \
    'dns "x" { servers = {"127.0.0.1"} }' >"$CW_TMP/a-status.conf"
touch -d '2001-01-01' "$CW_TMP/a.spool/cursor"
"$COREWATCH" spool status -c "$CW_TMP/a-status.conf" --json \
    >"$CW_TMP/a-status.json" 2>"$CW_TMP/a-status.err"
"$COLLECTOR" export --db "$DB" --format csv --probe "$PROBE_A" \
    >"$CW_TMP/a-export.csv"
RECEIVED=$(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) c[$i] = i; next }
    $c["seq"] == 3000 { print $c["received_at"] }' "$CW_TMP/a-export.csv")
LAST_RECEIPT=$(jq -r '.last_receipt' "$CW_TMP/a-status.json")
cw_log "last receipt $LAST_RECEIPT, seq 3000 received at $RECEIVED"
cw_check "spool status: the last receipt is the collector's received_at" \
    [ -n "$RECEIVED" -a "$(date -d "$LAST_RECEIPT" +%s%6N 2>&1)" = \
    "$(date -d "$RECEIVED" +%s%6N 2>&1)" ]

# --- 500, 429 + Retry-After, 503 + an HTTP date, 400 -------------------------

enroll b
PROBE_B=$PROBE_ID
fault_start fault-b "500,429:2,503@3,400"
upload b --append 500 --batch-records 100 --batch-age 300ms \
    --backoff-max 5s --timeout 60s --url "$FAULT_URL"
cw_check "misbehaving collector: drained" [ "$rc" = 0 ]
cat "$FAULT_LOG" >&2
/usr/bin/python3 - "$FAULT_LOG" >"$CW_TMP/fault-b.check" 2>&1 <<'EOF'
import sys
log = [l.split() for l in open(sys.argv[1])]
t = {int(l[0]): float(l[1]) for l in log}
st = {int(l[0]): int(l[2]) for l in log}
seq = {int(l[0]): (l[3], l[4]) for l in log}
assert [st[i] for i in (1, 2, 3, 4)] == [500, 429, 503, 400], st
assert all(seq[i] == ("1", "100") for i in (1, 2, 3, 4)), seq
assert t[3] - t[2] >= 1.9, "Retry-After: 2 not honoured: %.3f" % (t[3] - t[2])
assert t[4] - t[3] >= 1.9, "Retry-After (date) not honoured: %.3f" % (
    t[4] - t[3])
assert all(st[i] == 200 for i in st if i > 4), st
assert sorted(seq[i] for i in st if i > 4) == sorted(
    (str(a), str(a + 99)) for a in range(101, 501, 100)), seq
print("ok")
EOF
cw_check "misbehaving collector: each answer handled, the waits honoured" \
    grep -qx ok "$CW_TMP/fault-b.check" || cat "$CW_TMP/fault-b.check" >&2
cw_expect "misbehaving collector: 3 failures, 1 dead letter" \
    "$CW_TMP/b.status" '.[0] | .paths[0].failed == 3 and
     .paths[0].refused == 1 and .dead_letters == 1 and
     .paths[0].records == 400 and .acked_seq == 500'
DEAD="$CW_TMP/b.spool/dead-letter.jsonl"
cw_expect "the dead letter: status, the collector's error, seqs, file" \
    "$DEAD" "length == 1 and (.[0] | .status == 400 and
     .error.error == \"scripted\" and .first_seq == 1 and
     .last_seq == 100 and .records == 100 and .probe == \"$PROBE_B\" and
     (.time | test(\"Z$\")) and (.file | type == \"string\"))"
cw_check "the dead letter is logged loudly" \
    grep -q "DEAD LETTER" "$CW_TMP/b.err"
DEADFILE=$(jq -r .file "$DEAD")
cw_check "without the refused batch: seqs 101..500 only" \
    [ "$("$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE_B" |
    wc -l)" = 400 ]
"$COLLECTOR" import --db "$DB" "$DEADFILE" >"$CW_TMP/import-dead.out" \
    2>&1
cw_check "the dead letter imported by hand: exit 0" [ $? = 0 ] ||
    cat "$CW_TMP/import-dead.out" >&2
cw_check "the dead letter imported: 100 records stored" \
    grep -q "1 accepted (100 records stored" "$CW_TMP/import-dead.out"
cw_check "misbehaving collector: in the end 1..500 once, chain intact" \
    chain_ok "$PROBE_B" 500 0

# --- failover to the second URL and back to the first -------------------------

enroll c
PROBE_C=$PROBE_ID
fault_start fault-c "503"
upload c --append 1000 --rate 250 --batch-records 100 --batch-age 200ms \
    --backoff-max 1s --failback 1s --timeout 60s --url "$FAULT_URL" \
    --url "$COLLECTOR_URL"
cw_check "failover: drained" [ "$rc" = 0 ]
cw_expect "failover: to the second URL and back to the first" \
    "$CW_TMP/c.status" \
    '.[0] | .paths[0].failed == 1 and .paths[1].failed == 0 and
     .paths[1].sent >= 1 and .paths[0].sent >= 1 and
     .paths[0].records + .paths[1].records == 1000'
cw_check "failover: 1..1000 once, in order, chain intact" \
    chain_ok "$PROBE_C" 1000 1

# --- through a proxy ---------------------------------------------------------------

enroll f
PROBE_F=$PROBE_ID
fault_start fault-f ""
upload f --append 300 --batch-records 100 --batch-age 200ms --timeout 60s \
    --proxy "$FAULT_URL" --url "$COLLECTOR_URL"
cw_check "proxy: drained" [ "$rc" = 0 ]
cw_check "proxy: every batch went through it" \
    [ "$(awk '$3 == 200 && $6 == "absolute"' "$FAULT_LOG" | wc -l)" = 3 ]
cw_expect "proxy: the path counted with its proxy" "$CW_TMP/f.status" \
    ".[0].paths[0] | .proxy == \"$FAULT_URL\" and .sent == 3"
cw_check "proxy: 1..300 once, in order, chain intact" \
    chain_ok "$PROBE_F" 300 1

# --- no upload: the spool carried by hand -------------------------------------

enroll e
PROBE_E=$PROBE_ID
upload e --append 1500
cw_check "no upload: 1500 records spooled" [ "$rc" = 0 ]
cat >"$CW_TMP/e.conf" <<EOF
probe {
	name = "hand-carried"
}
state_dir = "$CW_TMP/e.state"
key = "$CW_TMP/e.key"
spool {
	dir = "$CW_TMP/e.spool"
}
dns "never-run" {
	servers = {"127.0.0.1"}
	port = 9
	interval = 1h
}
EOF
"$COREWATCH" spool export -c "$CW_TMP/e.conf" --out "$CW_TMP/e.export" \
    >/dev/null 2>"$CW_TMP/e.export.err"
cw_check "spool export: exit 0" [ $? = 0 ] || cat "$CW_TMP/e.export.err" >&2
"$COLLECTOR" import --db "$DB" "$CW_TMP/e.export" >"$CW_TMP/import1.out"
cw_check "import: exit 0" [ $? = 0 ]
cw_check "import: 1500 records stored" \
    grep -q "accepted (1500 records stored, 0 duplicates" "$CW_TMP/import1.out"
"$COLLECTOR" import --db "$DB" "$CW_TMP/e.export" >"$CW_TMP/import2.out"
cw_check "import again: exit 0" [ $? = 0 ]
cw_check "import again: nothing new, 1500 duplicates" \
    grep -q "accepted (0 records stored, 1500 duplicates" "$CW_TMP/import2.out"
cw_check "import: 1..1500 once, in order, chain intact" \
    chain_ok "$PROBE_E" 1500 1
# A file that is not an export, and one cut off in a batch.
printf 'GET / HTTP/1.1\r\n\r\n' >"$CW_TMP/junk"
"$COLLECTOR" import --db "$DB" "$CW_TMP/junk" >/dev/null 2>"$CW_TMP/junk.err"
cw_check "import of junk: exit 1" [ $? = 1 ]
cw_check "import of junk: says it is not a batch header" \
    grep -q "not a batch header" "$CW_TMP/junk.err"
head -c 5000 "$CW_TMP/e.export" >"$CW_TMP/cut"
"$COLLECTOR" import --db "$DB" "$CW_TMP/cut" >/dev/null 2>"$CW_TMP/cut.err"
cw_check "import of a cut-off file: exit 1" [ $? = 1 ]
cw_check "still 1..1500 once" chain_ok "$PROBE_E" 1500 1

# --- corewatch run: measuring, spooling and uploading on one loop -------------

# run_conf FILE NAME [UPLOAD-LINES]: a probe measuring closed ports on
# loopback every second (ICMP and RST answer at once), with a spool, a
# heartbeat every second, and an upload section.
run_conf()
{
	local up=${3:-}
	[ -n "$up" ] || up="url = {\"$COLLECTOR_URL\"}
	batch_age = 300ms
	batch_records = 20"
	cat >"$1" <<EOF2
probe {
	name = "$2"
}
state_dir = "$CW_TMP/$2.state"
key = "$CW_TMP/$2.key"
heartbeat = 1s
output {
	path = "$CW_TMP/$2.out"
}
spool {
	dir = "$CW_TMP/$2.spool"
}
upload {
	$up
}
dns "loop" {
	servers = {"127.0.0.1", "127.0.0.2"}
	port = 9
	af = 4
	interval = 1s
	timeout = 300ms
}
EOF2
}

enroll g
PROBE_G=$PROBE_ID
run_conf "$CW_TMP/g.conf" g
"$COREWATCH" check-config -c "$CW_TMP/g.conf" >/dev/null 2>&1
cw_check "run: the configuration with an upload is valid" [ $? = 0 ]
for round in 1 2; do
	cw_spawn "$CW_TMP/g.run$round.log" "$COREWATCH" run -c "$CW_TMP/g.conf"
	RUN_PID=$CW_SPAWNED
	sleep 4
	cw_stop "$RUN_PID"
	"$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE_G" \
	    >"$CW_TMP/g.export$round"
	n=$(wc -l <"$CW_TMP/g.export$round")
	cw_log "run, round $round: $n records at the collector"
	cw_check "run, round $round: records uploaded while measuring" \
	    [ "$n" -ge 10 ]
	cw_check "run, round $round: 1..$n once, in order, chain intact" \
	    chain_ok "$PROBE_G" "$n" 1
done
cw_check "run: the second run went on with the same chain" \
    [ "$(wc -l <"$CW_TMP/g.export2")" -gt "$(wc -l <"$CW_TMP/g.export1")" ]
cw_expect "run: heartbeats report the uploads" "$CW_TMP/g.export2" \
    '[.[] | select(.type == "heartbeat")] | length >= 4 and
     (.[-1].upload | .failing_since == null and .batches >= 1 and
      .paths["1"].batches >= 1 and .last_receipt != null)'
cw_check "run: the uploader says where it sends" \
    grep -q "upload: to $COLLECTOR_URL" "$CW_TMP/g.run1.log"

# What check-config says of upload sections it cannot use.
run_conf "$CW_TMP/bad1.conf" g 'url = {"ftp://x.example"}
	proxy = "gopher://x"
	batch_bytes = 1k
	batch_records = 0
	backoff_max = 10ms'
"$COREWATCH" check-config -c "$CW_TMP/bad1.conf" >/dev/null \
    2>"$CW_TMP/bad1.err"
cw_check "check-config: a bad upload section: exit 2" [ $? = 2 ]
for want in 'upload: url: "ftp://x.example" is not an http:// or https://' \
    'upload: proxy: "gopher://x"' 'upload: batch_bytes' \
    'upload: batch_records: 0 is out of range' 'upload: backoff_max'; do
	cw_check "check-config: says '$want'" grep -qF "$want" "$CW_TMP/bad1.err" ||
	    cat "$CW_TMP/bad1.err" >&2
done
run_conf "$CW_TMP/bad2.conf" g 'batch_age = 1s'
sed -i '/^spool {/,/^}/d' "$CW_TMP/bad2.conf"
"$COREWATCH" check-config -c "$CW_TMP/bad2.conf" >/dev/null \
    2>"$CW_TMP/bad2.err"
cw_check "check-config: an upload without url nor spool: exit 2" [ $? = 2 ]
cw_check "check-config: says an url is missing" \
    grep -q "upload: no url" "$CW_TMP/bad2.err"
run_conf "$CW_TMP/bad3.conf" g
sed -i '/^spool {/,/^}/d' "$CW_TMP/bad3.conf"
"$COREWATCH" check-config -c "$CW_TMP/bad3.conf" >/dev/null \
    2>"$CW_TMP/bad3.err"
cw_check "check-config: an upload needs the spool" \
    grep -q "upload: uploads are made from the spool" "$CW_TMP/bad3.err"

# --- packet loss between two namespaces ------------------------------------------

cw_collector_stop
cw_netns_create cwupc
NS_C=$CW_NS
cw_netns_create cwupp
NS_P=$CW_NS
ip -n "$NS_C" link add cwu0 type veth peer name cwu1 netns "$NS_P" ||
    cw_die "veth between $NS_C and $NS_P"
ip -n "$NS_C" addr add 10.201.0.1/24 dev cwu0 &&
    ip -n "$NS_P" addr add 10.201.0.2/24 dev cwu1 &&
    ip -n "$NS_C" link set cwu0 up && ip -n "$NS_P" link set cwu1 up ||
    cw_die "veth addresses"
cat >"$CW_TMP/loss.nft" <<EOF
table inet cwloss {
	chain out {
		type filter hook output priority 0; policy accept;
		ip daddr 10.201.0.1 numgen random mod 10 < 3 counter drop
	}
	chain in {
		type filter hook input priority 0; policy accept;
		ip saddr 10.201.0.1 numgen random mod 10 < 3 counter drop
	}
}
EOF
ip netns exec "$NS_P" nft -f "$CW_TMP/loss.nft" || cw_die "nft in $NS_P"
cw_collector_start -n "$NS_C" -a 10.201.0.1 "$CW_TMP/collector.ns.log" \
    --db "$DB"
enroll d
PROBE_D=$PROBE_ID
start=$(date +%s)
timeout 150 ip netns exec "$NS_P" "$UPLOADRUN" --spool "$CW_TMP/d.spool" \
    --key "$CW_TMP/d.key" --append 2000 --batch-records 200 \
    --batch-age 200ms --backoff-max 2s --timeout 120s \
    --url "$COLLECTOR_URL" >"$CW_TMP/d.status" 2>"$CW_TMP/d.err"
rc=$?
cw_log "packet loss: $(($(date +%s) - start)) s: $(cat "$CW_TMP/d.status")"
cw_check "packet loss: drained" [ "$rc" = 0 ] || tail "$CW_TMP/d.err" >&2
ip netns exec "$NS_P" nft list table inet cwloss >"$CW_TMP/loss.list"
cw_check "packet loss: packets were dropped both ways" /usr/bin/python3 -c '
import re, sys
drops = [int(n) for n in re.findall(r"counter packets (\d+)", open(sys.argv[1]).read())]
sys.exit(not (len(drops) == 2 and all(d > 0 for d in drops)))' \
    "$CW_TMP/loss.list" || cat "$CW_TMP/loss.list" >&2
cw_check "packet loss: 1..2000 once, in order, chain intact" \
    chain_ok "$PROBE_D" 2000 1
cw_collector_stop

# --- socks5h, as through Tor: the proxy resolves the collector's name ---------

# In a namespace of its own with loopback only: the probe could not
# resolve "collector.test" (nor send anything anywhere) if it tried.
cw_netns_create cwups
NS_S=$CW_NS
cw_collector_start -n "$NS_S" "$CW_TMP/collector.socks.log" --db "$DB"
cw_spawn_port socks5.py "$CW_TMP/socks.out" ip netns exec "$NS_S" \
    /usr/bin/python3 "$CW_SCENARIO_DIR/../fault/socks5.py" \
    --map collector.test=127.0.0.1 --log "$CW_TMP/socks.log" --lifetime 60
SOCKS_PORT=$CW_PORT
enroll h
PROBE_H=$PROBE_ID
timeout 60 ip netns exec "$NS_S" "$UPLOADRUN" --spool "$CW_TMP/h.spool" \
    --key "$CW_TMP/h.key" --append 300 --batch-records 100 \
    --batch-age 200ms --timeout 30s \
    --proxy "socks5h://127.0.0.1:$SOCKS_PORT" \
    --url "http://collector.test:$COLLECTOR_PORT" >"$CW_TMP/h.status" \
    2>"$CW_TMP/h.err"
cw_check "socks5h: drained" [ $? = 0 ] || tail "$CW_TMP/h.err" >&2
cw_check "socks5h: the proxy was given the name, nothing else" \
    awk -v want="name collector.test $COLLECTOR_PORT" \
    'END { exit !(NR >= 1 && ok == NR) } $0 == want { ok++ }' \
    "$CW_TMP/socks.log" ||
    cat "$CW_TMP/socks.log" >&2
cw_check "socks5h: 1..300 once, in order, chain intact" \
    chain_ok "$PROBE_H" 300 1
cw_collector_stop

cw_done
