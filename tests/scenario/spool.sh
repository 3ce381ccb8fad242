#!/bin/bash
# spool.sh -- the probe's identity and its spool, end to end:
#   keygen (mode 0600, never overwrites), pubkey (the id record_probe_id
#   gives), a world-readable key refused, the spool's configuration
#   checked; `corewatch run` killed with SIGKILL again and again while it
#   measures (NSD and closed ports on loopback): every record seen in
#   the spool before a kill is there afterwards, byte for byte, nothing
#   twice, the chain linked across every restart; `spool export` batches
#   that verify (openssl) and that the real collector imports (once:
#   every record stored, the same bytes back; twice: only duplicates);
#   and a full disk (a 2 MB tmpfs): loss records, no crash, appends
#   again once space returns.
# Every server is on 127.0.0.0/8; nothing else is sent anywhere.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
MNT=
RUN_PID=

# The trap: the run in the tmpfs goes first, then the tmpfs, then the
# rest (lib.sh).
spool_cleanup()
{
	local status=$?
	[ -n "$RUN_PID" ] && kill -KILL "$RUN_PID" 2>/dev/null
	[ -n "$RUN_PID" ] && wait "$RUN_PID" 2>/dev/null
	if [ -n "$MNT" ] && mountpoint -q "$MNT"; then
		umount "$MNT" 2>/dev/null || umount -l "$MNT"
	fi
	(exit "$status")
	cw_cleanup
}

cw_tmpdir
trap spool_cleanup EXIT
cw_nsd_start "${CW_TEST_ZONES[@]}"
PORT=$NSD_PORT

# cw: run corewatch with a time bound; status in $rc.
cw()
{
	timeout 60 "$COREWATCH" "$@"
	rc=$?
}

# --- keys ---
KEY="$CW_TMP/keys/probe.key"
cw keygen --key "$KEY" >"$CW_TMP/keygen.out" 2>"$CW_TMP/keygen.err"
cw_check "keygen: exit 0" [ "$rc" = 0 ]
cw_check "keygen: mode 0600" [ "$(stat -c %a "$KEY")" = 600 ]
cw_check "keygen: 64 hex digits and a newline" \
    grep -qxE '[0-9a-f]{64}' "$KEY"
cw_check "keygen: 65 bytes" [ "$(stat -c %s "$KEY")" = 65 ]
cp "$KEY" "$CW_TMP/key.copy"
cw keygen --key "$KEY" >"$CW_TMP/keygen2.out" 2>"$CW_TMP/keygen2.err"
cw_check "keygen again: exit 1" [ "$rc" = 1 ]
cw_check "keygen again: says it never overwrites" \
    grep -q "never overwritten" "$CW_TMP/keygen2.err"
cw_check "keygen again: the key is unchanged" cmp -s "$KEY" "$CW_TMP/key.copy"
cw pubkey --key "$KEY" >"$CW_TMP/pubkey.out" 2>"$CW_TMP/pubkey.err"
cw_check "pubkey: exit 0" [ "$rc" = 0 ]
cw_check "pubkey: what keygen printed" cmp -s "$CW_TMP/pubkey.out" \
    "$CW_TMP/keygen.out"
PUB=$(awk '$1 == "pubkey" {print $2}' "$CW_TMP/pubkey.out")
PROBE=$(awk '$1 == "probe" {print $2}' "$CW_TMP/pubkey.out")
cw_check "pubkey: the id is SHA-256 of the key, 16 bytes" [ "$PROBE" = \
    "$(/usr/bin/python3 -c 'import hashlib, sys
print(hashlib.sha256(bytes.fromhex(sys.argv[1])).hexdigest()[:32])' "$PUB")" ]
cw_check "pubkey: the id record_probe_id gives (mkbatch)" [ "$PROBE" = \
    "$("$MKBATCH" id --seed "$(cat "$KEY")" 2>/dev/null)" ]
chmod 644 "$KEY"
cw pubkey --key "$KEY" >/dev/null 2>"$CW_TMP/pubkey644.err"
cw_check "pubkey: a world-readable key is refused" [ "$rc" = 1 ]
cw_check "pubkey: ... saying what to do" \
    grep -q "chmod 600" "$CW_TMP/pubkey644.err"
chmod 600 "$KEY"

# make_conf OUT SPOOLDIR EXTRA-SPOOL-SETTINGS: a configuration with a
# spool, measuring every second the test NSD and 19 closed ports (each
# over UDP and TCP: some 40 results a second).
make_conf()
{
	local servers='"127.0.0.1"' i
	for ((i = 2; i <= 20; i++)); do
		servers="$servers, \"127.0.0.$i\""
	done
	cat >"$1" <<EOF
probe {
	name = "spool-1"
	country = "UA"
	asn = 64496
	location = "test bench"
}
state_dir = "$CW_TMP/state"
key = "$KEY"
heartbeat = 1s
output {
	path = "$CW_TMP/out.jsonl"
}
spool {
	dir = "$2"
	$3
}
dns "loop" {
	servers = {$servers}
	port = $PORT
	af = 4
	interval = 1s
	spread = 300ms
	timeout = 300ms
	late_window = 20ms
}
EOF
}

# --- configuration ---
make_conf "$CW_TMP/bad.conf" "$CW_TMP/spool" 'max_size = 12Q
	sync = 5ms'
sed -i 's/^heartbeat = 1s/heartbeat = 10ms/' "$CW_TMP/bad.conf"
cw check-config -c "$CW_TMP/bad.conf" >/dev/null 2>"$CW_TMP/bad.err"
cw_check "check-config: a bad spool is refused" [ "$rc" = 2 ]
for want in "bad.conf:15: spool: max_size" "bad.conf:16: spool: sync" \
    "bad.conf:9: heartbeat: \"10ms\""; do
	cw_check "check-config: reports '$want'" \
	    grep -qF "$want" "$CW_TMP/bad.err"
done

# A spool without its key: run says what to do.
make_conf "$CW_TMP/nokey.conf" "$CW_TMP/spool-nokey" ''
sed -i "s|^key = .*|key = \"$CW_TMP/missing.key\"|" "$CW_TMP/nokey.conf"
cw run -c "$CW_TMP/nokey.conf" >/dev/null 2>"$CW_TMP/nokey.err"
cw_check "run without the key: exit 2" [ "$rc" = 2 ]
cw_check "run without the key: points to keygen" \
    grep -q "keygen" "$CW_TMP/nokey.err"
# keygen -c: the configuration's key.
cw keygen -c "$CW_TMP/nokey.conf" >/dev/null 2>&1
cw_check "keygen -c: writes the configuration's key" \
    test "$rc" = 0 -a -s "$CW_TMP/missing.key"

# --- kill -9 while measuring ---
SPOOL="$CW_TMP/spool"
make_conf "$CW_TMP/run.conf" "$SPOOL" 'sync = 200ms'
MUSTS=()
KILLS=12
KILLED=0
for ((i = 1; i <= KILLS; i++)); do
	cw_spawn "$CW_TMP/run.$i.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
	RUN_PID=$CW_SPAWNED
	sleep "$((RANDOM % 2)).$((RANDOM % 10))"
	sleep 0.3
	cw spool export -c "$CW_TMP/run.conf" --out "$CW_TMP/snap.$i" \
	    2>>"$CW_TMP/export.err"
	[ "$rc" = 0 ] && MUSTS+=("$CW_TMP/snap.$i")
	kill -KILL "$RUN_PID"
	cw_wait "$RUN_PID" 5
	RUN_PID=
	# 137: the SIGKILL ended it; any other status, it had ended by
	# itself (86: a sanitizer's report, under contrib/test-all.sh).
	if [ "$CW_STATUS" = 137 ]; then
		KILLED=$((KILLED + 1))
	else
		cw_log "run $i: exit status $CW_STATUS before the kill"
		cat "$CW_TMP/run.$i.err" >&2
	fi
done
cw_check "kill loop: every snapshot exported" [ "${#MUSTS[@]}" = "$KILLS" ]
cw_check "kill loop: every run was still running when killed" \
    [ "$KILLED" = "$KILLS" ]
cw spool status -c "$CW_TMP/run.conf" --json >"$CW_TMP/status1.json"
cw_check "spool status after the kills: exit 0" [ "$rc" = 0 ]
# A last run, stopped properly.
cw_spawn "$CW_TMP/run.last.err" "$COREWATCH" run -c "$CW_TMP/run.conf"
RUN_PID=$CW_SPAWNED
sleep 1.5
kill -TERM "$RUN_PID"
cw_wait "$RUN_PID" 10
RUN_PID=
cw_check "last run: SIGTERM, exit 0" [ "$CW_STATUS" = 0 ]
cw spool export -c "$CW_TMP/run.conf" --out "$CW_TMP/final.export" \
    2>"$CW_TMP/final.err"
cw_check "spool export: exit 0" [ "$rc" = 0 ]
cw_chain_check --probe "$PROBE" --pubkey "$PUB" "$CW_TMP/final.export" \
    "${MUSTS[@]}" >"$CW_TMP/final.json" || cw_die "cannot check the spool"
cat "$CW_TMP/final.json" >&2
cw_expect "kill loop: records from seq 1, many of them" "$CW_TMP/final.json" \
    '.[0] | .first == 1 and .records > 100'
cw_expect "kill loop: nothing seen before a kill was lost or changed" \
    "$CW_TMP/final.json" '.[0] | .missing == 0 and .changed == 0'
cw_expect "kill loop: no hole, no loss, no measurement twice" \
    "$CW_TMP/final.json" \
    '.[0] | .holes == 0 and .reasons == [] and .dups == 0'
cw_expect "kill loop: every seq once, ascending" "$CW_TMP/final.json" \
    '.[0] | .twice == 0 and .unordered == 0'
cw_expect "kill loop: the chain is linked throughout" "$CW_TMP/final.json" \
    '.[0] | .broken == 0 and .linked == .records - 1'
cw_expect "kill loop: every batch signed by the probe's key" \
    "$CW_TMP/final.json" '.[0] | .bad_sigs == 0 and .batches >= 1'
cw_expect "kill loop: a heartbeat at each start" "$CW_TMP/final.json" \
    ".[0] | .heartbeats >= $((KILLS + 1))"
cw_expect "spool status: depth and seq as exported before the last run" \
    "$CW_TMP/status1.json" '.[0] | .depth == .last_seq and .dropped == 0
    and .acked_seq == 0 and (.oldest_unsent | type) == "string"'
grep -h "heartbeat" "$CW_TMP/out.jsonl" | tail -n 1 >"$CW_TMP/hb.json"
cw_expect "heartbeat: identity, spool and clock" "$CW_TMP/hb.json" '.[0] |
    .identity == {"name": "spool-1", "country": "UA", "asn": 64496,
    "location": "test bench"} and .spool.depth > 0 and
    .clock.steps == 0 and .upload == null'

# --- the export carried to the collector by hand ---
DB="sqlite:$CW_TMP/collector.db"
NREC=$(jq -r .records "$CW_TMP/final.json")
timeout 60 "$COLLECTOR" probe add --db "$DB" --name spool-1 --pubkey "$PUB" \
    >/dev/null 2>"$CW_TMP/probe-add.err"
cw_check "collector: the probe's key enrolled" test $? = 0
for i in 1 2; do
	timeout 120 "$COLLECTOR" import --db "$DB" "$CW_TMP/final.export" \
	    >"$CW_TMP/import.$i.out" 2>"$CW_TMP/import.$i.err"
	cw_check "import $i: exit 0" test $? = 0
done
cat "$CW_TMP/import.1.out" "$CW_TMP/import.2.out" >&2
cw_check "import 1: every record stored, no batch refused" grep -qF \
    "($NREC records stored, 0 duplicates, 0 equivocations), 0 refused" \
    "$CW_TMP/import.1.out"
cw_check "import 2: the same again, only duplicates" grep -qF \
    "(0 records stored, $NREC duplicates, 0 equivocations), 0 refused" \
    "$CW_TMP/import.2.out"
timeout 60 "$COLLECTOR" export --db "$DB" --format jsonl \
    --out "$CW_TMP/collected.jsonl" 2>"$CW_TMP/collected.err"
cw_check "collector: the records back, byte for byte" /usr/bin/python3 -c '
import sys
data = open(sys.argv[1], "rb").read()
mine, at = set(), 0
while at < len(data):
    nl = data.index(b"\n", at)
    n = int(data[at:nl].split(b" ")[3])
    mine.update(data[nl + 1:nl + 1 + n].splitlines())
    at = nl + 1 + n
theirs = open(sys.argv[2], "rb").read().splitlines()
sys.exit(0 if len(theirs) == len(mine) and set(theirs) == mine else 1)
' "$CW_TMP/final.export" "$CW_TMP/collected.jsonl"

# --- a full disk ---
MNT="$CW_TMP/full"
mkdir -p "$MNT"
mount -t tmpfs -o size=2m,mode=0700 tmpfs "$MNT" || cw_die "mount tmpfs"
# Leave some 160 KB: a few 64 KB segments fit, then none.
dd if=/dev/zero of="$MNT/filler" bs=1k count=$((2048 - 160)) 2>/dev/null
make_conf "$CW_TMP/full.conf" "$MNT/spool" 'max_size = 256k
	min_free = 0'
cw_spawn "$CW_TMP/full.err" "$COREWATCH" run -c "$CW_TMP/full.conf"
RUN_PID=$CW_SPAWNED
dropped()
{
	"$COREWATCH" spool status -c "$CW_TMP/full.conf" --json 2>/dev/null |
	    jq -r .dropped
}
for ((i = 0; i < 200; i++)); do
	[ "$(dropped)" -gt 0 ] 2>/dev/null && break
	kill -0 "$RUN_PID" 2>/dev/null || break
	sleep 0.1
done
cw_check "full disk: records dropped" [ "$(dropped)" -gt 0 ]
# Now nothing at all is left.  The spool frees space by deleting its
# unsent segments (disk_full): fill that too, again and again, until the
# file system stays full (no block free for a second).
# avail: the blocks of 1 KiB free in the tmpfs.
avail()
{
	df --output=avail "$MNT" | tail -n 1
}
full=0
for ((i = 0; i < 50 && full < 2; i++)); do
	dd if=/dev/zero of="$MNT/filler.$i" bs=1k 2>/dev/null
	sleep 0.5
	if [ "$(avail)" -eq 0 ]; then
		full=$((full + 1))
	else
		full=0
	fi
done
cw_check "full disk: no space left for a second ($i rounds)" [ "$full" = 2 ]
sleep 3
cw_check "full disk: still running" kill -0 "$RUN_PID"
rm -f "$MNT"/filler*
# Results measured from now on were written after space came back.
BACK=$(date -u +%Y-%m-%dT%H:%M:%S.%6NZ)
sleep 3
cw_check "space back: still running" kill -0 "$RUN_PID"
kill -TERM "$RUN_PID"
cw_wait "$RUN_PID" 10
RUN_PID=
# (86 would be a sanitizer's report, under contrib/test-all.sh.)
cw_check "full disk: SIGTERM, exit 0" [ "$CW_STATUS" = 0 ]
cw spool export -c "$CW_TMP/full.conf" --out "$CW_TMP/full.export" \
    2>"$CW_TMP/full-export.err"
cw_check "full disk: spool export, exit 0" [ "$rc" = 0 ]
cw_chain_check --probe "$PROBE" "$CW_TMP/full.export" >"$CW_TMP/full.json" ||
    cw_die "cannot check the full spool"
cat "$CW_TMP/full.json" >&2
cw_expect "full disk: loss records name disk_full" "$CW_TMP/full.json" \
    '.[0] | (.reasons | length) > 0 and all(.reasons[]; . == "disk_full")'
cw_expect "full disk: every hole explained, the chain linked" \
    "$CW_TMP/full.json" '.[0] | .holes == 0 and .broken == 0 and
    .twice == 0 and .unordered == 0'
# The measurements made after $BACK: every one the agent wrote to its
# output file (on the big disk) must be in the spool.  (A full spool
# keeps a few records too, by deleting its older ones: a count alone
# would not show that space came back.)
# made FILE: the measurements in FILE made after $BACK, one key a line.
made()
{
	jq -c --arg back "$BACK" 'select(.type == "dns" and .time > $back) |
	    [.time, .addr, .proto, .name]' "$1" | sort
}
grep '^{' "$CW_TMP/full.export" >"$CW_TMP/full.records"
made "$CW_TMP/out.jsonl" >"$CW_TMP/after.out"
made "$CW_TMP/full.records" >"$CW_TMP/after.spool"
cw_check "full disk: measurements made after space came back at $BACK ($(wc -l <"$CW_TMP/after.out"))" \
    [ "$(wc -l <"$CW_TMP/after.out")" -gt 20 ]
cw_check "full disk: every one spooled ($(wc -l <"$CW_TMP/after.spool"))" \
    cmp -s "$CW_TMP/after.out" "$CW_TMP/after.spool"
cw_check "full disk: the spool said what it dropped" \
    grep -q "disk_full: dropping" "$CW_TMP/full.err"

cw_done
