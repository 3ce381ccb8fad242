#!/bin/bash
# receipts.sh -- the signed receipt (doc/evidence.md, "The signed
# receipt") between a real collector with a log key and a real probe:
#   a batch's receipt carries `signed`, a note of the nine lines whose
#   record hash is the SHA-256 of the stored line at acked_seq (for a
#   replay and for an equivocation too: the record stored first);
#   `corewatch run` keeps every receipt in receipts.jsonl in its spool
#   directory, and `corewatch spool receipts --vkey` says each is ok;
#   one changed byte, a receipt of another collector's key, another
#   key given, hostile lines: BAD, named by line, exit 1; usage errors
#   exit 2;
#   receipts_max_size bounds the file (tests/tools/uploadrun, many small
#   batches): rewritten to the newer half, the newest receipt of another
#   chain kept, a damaged line dropped;
#   a collector without a log key gives no `signed`, and nothing is kept.
# SQLite; everything on 127.0.0.1.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$COREWATCH" ] || cw_die "no $COREWATCH"
MKBATCH="$top_builddir/tests/tools/mkbatch"
UPLOADRUN="$top_builddir/tests/tools/uploadrun"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
[ -x "$UPLOADRUN" ] || cw_die "no $UPLOADRUN (make check builds it)"

cw_tmpdir
SEED=0707070707070707070707070707070707070707070707070707070707070707
CHAIN=c0ffeec0ffeec0ffeec0ffeec0ffee00

"$COLLECTOR" keygen --key "$CW_TMP/log.key" >"$CW_TMP/vkey" ||
    cw_die "keygen failed"
"$COLLECTOR" keygen --key "$CW_TMP/other.key" >"$CW_TMP/other.vkey" ||
    cw_die "keygen failed"

# start NAME [KEY]: a collector on NAME.db, with the log key KEY.
start()
{
	printf '%s\n' "db = \"sqlite:$CW_TMP/$1.db\"" \
	    "log_key = \"${2:-$CW_TMP/none.key}\"" >"$CW_TMP/$1.conf"
	cw_collector_start "$CW_TMP/$1.log" -c "$CW_TMP/$1.conf"
	"$COLLECTOR" probe add --db "sqlite:$CW_TMP/$1.db" --name mk \
	    --pubkey "$("$MKBATCH" pubkey --seed "$SEED")" >/dev/null ||
	    cw_die "probe add failed"
}

# post NAME: a batch of seqs 1..3 of the chain, posted; the receipt in
# $CW_TMP/NAME.resp.
post()
{
	"$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from 1 --count 3 \
	    --out "$CW_TMP/$1.body" --auth "$CW_TMP/$1.auth" >/dev/null ||
	    cw_die "mkbatch $1 failed"
	cw_batch_post "$CW_TMP/$1.body" "$CW_TMP/$1.auth"
	[ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $1: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
	cp "$CW_TMP/resp" "$CW_TMP/$1.resp"
}

# note_line RESP N: line N of the receipt's note.
note_line()
{
	jq -r .signed "$1" | sed -n "${2}p"
}

# receipts ARGS...: `corewatch spool receipts ARGS`; output in
# $CW_TMP/r.out and .err, exit status in STATUS.
receipts()
{
	"$COREWATCH" spool receipts "$@" >"$CW_TMP/r.out" 2>"$CW_TMP/r.err"
	STATUS=$?
}

# has_no_member FILE NAME: the JSON object in FILE has no member NAME.
has_no_member()
{
	[ "$(jq --arg n "$2" 'has($n)' "$1")" = false ]
}

# --- the receipt a collector with a log key gives ----------------------------

start a "$CW_TMP/log.key"
post a1
ORIGIN=$(cut -d+ -f1 "$CW_TMP/vkey")
LAST_HASH=$(tail -n 1 "$CW_TMP/a1.body" | tr -d '\n' | sha256sum | cut -c1-64)
cw_expect "the receipt carries a signed note" "$CW_TMP/a1.resp" \
    '.[0] | (.signed | type) == "string" and .acked_seq == 3 and
     .log_index == 2 and .log_size == 3'
cw_check "its text: corewatch-receipt-v1" \
    [ "$(note_line "$CW_TMP/a1.resp" 1)" = corewatch-receipt-v1 ]
cw_check "its text: the origin" \
    [ "$(note_line "$CW_TMP/a1.resp" 2)" = "$ORIGIN" ]
cw_check "its text: probe, chain, acked_seq" \
    [ "$(note_line "$CW_TMP/a1.resp" 3)/$(note_line "$CW_TMP/a1.resp" 4)/$(note_line "$CW_TMP/a1.resp" 5)" = \
    "$(jq -r '"\(.probe)/\(.chain)/\(.acked_seq)"' "$CW_TMP/a1.resp")" ]
cw_check "its text: the SHA-256 of the stored record at acked_seq" \
    [ "$(note_line "$CW_TMP/a1.resp" 6)" = "$LAST_HASH" ]
cw_check "its text: log_index, log_size, received_at" \
    [ "$(note_line "$CW_TMP/a1.resp" 7)/$(note_line "$CW_TMP/a1.resp" 8)/$(note_line "$CW_TMP/a1.resp" 9)" = \
    "$(jq -r '"\(.log_index)/\(.log_size)/\(.received_at)"' "$CW_TMP/a1.resp")" ]
cw_check "then a blank line and the signature of the log key" \
    [ "$(note_line "$CW_TMP/a1.resp" 11 | cut -d' ' -f2)" = "$ORIGIN" ]
# The same batch again: a replay names the same stored record.
post a2
cw_check "a replay's receipt names the same record" \
    [ "$(note_line "$CW_TMP/a2.resp" 6)/$(jq .log_index "$CW_TMP/a2.resp")" = "$LAST_HASH/2" ]

# The same seqs of other content: an equivocation; the receipt names the
# record the log holds at seq 3, the first one, not the batch's line.
"$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from 1 --count 3 \
    --variant 1 --out "$CW_TMP/a3.body" --auth "$CW_TMP/a3.auth" \
    >/dev/null || cw_die "mkbatch a3 failed"
cw_batch_post "$CW_TMP/a3.body" "$CW_TMP/a3.auth"
cw_check "an equivocating batch: accepted" [ "$CW_HTTP_STATUS" = 200 ]
cw_expect "... as an equivocation" "$CW_TMP/resp" '.[0].equivocations >= 1'
cw_check "... its receipt names the record stored first" \
    [ "$(note_line "$CW_TMP/resp" 6)" = "$LAST_HASH" ]
cw_check "... not the batch's own line" \
    [ "$(tail -n 1 "$CW_TMP/a3.body" | tr -d '\n' | sha256sum | cut -c1-64)" != "$LAST_HASH" ]

# --- corewatch run keeps them ------------------------------------------------

cw_probe_key "$CW_TMP/g.key"
cw_probe_enroll "sqlite:$CW_TMP/a.db" g "$PROBE_PUBKEY"
cat >"$CW_TMP/g.conf" <<EOF
probe {
	name = "g"
}
state_dir = "$CW_TMP/g.state"
key = "$CW_TMP/g.key"
heartbeat = 1s
output {
	path = "$CW_TMP/g.out"
}
spool {
	dir = "$CW_TMP/g.spool"
}
upload {
	url = {"$COLLECTOR_URL"}
	batch_age = 200ms
	batch_records = 5
}
dns "loop" {
	servers = {"127.0.0.1", "127.0.0.2"}
	port = 9
	af = 4
	interval = 1s
	timeout = 300ms
}
EOF
cw_spawn "$CW_TMP/g.run.log" "$COREWATCH" run -c "$CW_TMP/g.conf"
RUN_PID=$CW_SPAWNED
sleep 4
cw_stop "$RUN_PID"
G=$CW_TMP/g.spool/receipts.jsonl
cw_check "run: receipts.jsonl in the spool directory" [ -s "$G" ]
cw_log "run: $(wc -l <"$G") receipts kept"
cw_expect "run: several receipts, each signed, acked_seq ascending" "$G" \
    'length >= 3 and all(.[]; (.signed | type) == "string") and
     ([.[].acked_seq] == ([.[].acked_seq] | sort))'
receipts -c "$CW_TMP/g.conf" --vkey "$CW_TMP/vkey"
cw_check "spool receipts --vkey: exit 0" [ "$STATUS" = 0 ] ||
    cat "$CW_TMP/r.out" "$CW_TMP/r.err" >&2
cw_check "spool receipts --vkey: every receipt ok" \
    [ "$(grep -c ' ok$' "$CW_TMP/r.out")" = "$(wc -l <"$G")" ]
receipts --spool "$CW_TMP/g.spool" --vkey "$(cat "$CW_TMP/vkey")" --json
cw_check "spool receipts --spool --json: exit 0" [ "$STATUS" = 0 ]
cw_expect "spool receipts --json: one ok object a receipt, in order" \
    "$CW_TMP/r.out" \
    'all(.[]; .verdict == "ok") and ([.[].line] == [range(1; length + 1)])'
receipts --spool "$CW_TMP/g.spool"
cw_check "spool receipts without a key: exit 0, listed" [ "$STATUS" = 0 ]
cw_check "... one line a receipt and a header" \
    [ "$(wc -l <"$CW_TMP/r.out")" = "$(($(wc -l <"$G") + 1))" ]

# --- what is BAD ----------------------------------------------------------

# One byte of the second receipt's note text changed (its log size).
mkdir "$CW_TMP/t1"
python3 - "$G" "$CW_TMP/t1/receipts.jsonl" <<'EOF'
import sys
lines = open(sys.argv[1], encoding="utf-8").read().split("\n")
i = lines[1].index("corewatch-receipt-v1")
lines[1] = lines[1][:i + 19] + "2" + lines[1][i + 20:]
open(sys.argv[2], "w", encoding="utf-8").write("\n".join(lines))
EOF
receipts --spool "$CW_TMP/t1" --vkey "$CW_TMP/vkey"
cw_check "one changed byte: exit 1" [ "$STATUS" = 1 ]
cw_check "... that receipt BAD, named by its line" \
    grep -q 'BAD (line 2)' "$CW_TMP/r.out"
cw_check "... the others ok" \
    [ "$(grep -c ' ok$' "$CW_TMP/r.out")" = "$(($(wc -l <"$G") - 1))" ]
receipts --spool "$CW_TMP/g.spool" --vkey "$CW_TMP/other.vkey"
cw_check "another key given: exit 1" [ "$STATUS" = 1 ]
cw_check "... every receipt BAD" \
    [ "$(grep -c 'BAD' "$CW_TMP/r.out")" = "$(wc -l <"$G")" ]
# A member that says otherwise than the signed text.
mkdir "$CW_TMP/t2"
{
	head -n 1 "$G"
	sed -n 2p "$G" | jq -c '.log_size += 1'
	tail -n +3 "$G"
} >"$CW_TMP/t2/receipts.jsonl"
receipts --spool "$CW_TMP/t2" --vkey "$CW_TMP/vkey" --json
cw_check "a member changed: exit 1" [ "$STATUS" = 1 ]
cw_expect "... named" "$CW_TMP/r.out" \
    '[.[] | select(.verdict == "BAD")] | length == 1 and .[0].line == 2 and
     (.[0].why | test("log_size"))'
# Hostile lines: not JSON, binary, an empty line, a line far too long, a
# JSON line that is not a receipt, and no newline at the end.
mkdir "$CW_TMP/t3"
{
	head -n 1 "$G"
	echo 'not json {'
	printf '\001\377\376binary\n'
	echo
	head -c 300000 /dev/zero | tr '\0' 'x'
	echo
	echo '{"probe":"x","chain":[],"signed":{}}'
	head -n 1 "$G" | tr -d '\n'
} >"$CW_TMP/t3/receipts.jsonl"
receipts --spool "$CW_TMP/t3" --vkey "$CW_TMP/vkey"
cw_check "hostile lines: exit 1, no crash" [ "$STATUS" = 1 ]
cw_check "... each named by its line" \
    grep -q 'line 2: BAD' "$CW_TMP/r.out"
cw_check "... the binary line" grep -q 'line 3: BAD' "$CW_TMP/r.out"
cw_check "... the long line" grep -q 'line 5: BAD' "$CW_TMP/r.out"
cw_check "... the non-receipt" grep -q 'line 6: BAD' "$CW_TMP/r.out"
cw_check "... the two real receipts ok" \
    [ "$(grep -c ' ok$' "$CW_TMP/r.out")" = 2 ]

# Usage.
receipts -c "$CW_TMP/g.conf" --spool "$CW_TMP/g.spool"
cw_check "-c and --spool: exit 2" [ "$STATUS" = 2 ]
receipts --spool "$CW_TMP/g.spool" --vkey "not-a-key"
cw_check "a --vkey that is no key: exit 2" [ "$STATUS" = 2 ]
receipts --spool "$CW_TMP/g.spool" --out x
cw_check "an option of export: exit 2" [ "$STATUS" = 2 ]
"$COREWATCH" spool status --spool "$CW_TMP/g.spool" >/dev/null 2>&1
cw_check "--spool is an option of receipts: exit 2" [ $? = 2 ]
receipts --spool "$CW_TMP/nowhere"
cw_check "no receipts kept yet: exit 0" [ "$STATUS" = 0 ]

# --- the bound ------------------------------------------------------------

# uploadrun: 400 records in batches of 5, receipts bounded at 4k, the file
# seeded with a receipt of another chain (g's) and a damaged line.
cw_probe_key "$CW_TMP/u.key"
cw_probe_enroll "sqlite:$CW_TMP/a.db" u "$PROBE_PUBKEY"
mkdir "$CW_TMP/u.spool"
U=$CW_TMP/u.spool/receipts.jsonl
{
	head -n 1 "$G"
	echo 'damaged'
} >"$U"
G_FIRST=$(head -n 1 "$G")
timeout 150 "$UPLOADRUN" --spool "$CW_TMP/u.spool" --key "$CW_TMP/u.key" \
    --append 400 --url "$COLLECTOR_URL" --batch-records 5 \
    --batch-age 100ms --receipts "$U" --receipts-max 4096 \
    >"$CW_TMP/u.status" 2>"$CW_TMP/u.err"
cw_check "bound: uploadrun drained" [ $? = 0 ] ||
    tail -n 20 "$CW_TMP/u.err" >&2
cw_log "bound: $(wc -c <"$U") bytes, $(wc -l <"$U") receipts"
cw_check "bound: the file within receipts_max_size" \
    [ "$(wc -c <"$U")" -le 4096 ]
cw_check "bound: the newest receipt kept, last" \
    [ "$(tail -n 1 "$U" | jq .acked_seq)" = 400 ]
cw_check "bound: the newest receipt of the other chain kept" \
    grep -qxF "$G_FIRST" "$U"
cw_check "bound: the damaged line dropped" [ "$(grep -c '^damaged$' "$U")" = 0 ]
receipts --spool "$CW_TMP/u.spool" --vkey "$CW_TMP/vkey"
cw_check "bound: what is kept verifies" [ "$STATUS" = 0 ] ||
    cat "$CW_TMP/r.out" >&2

# What check-config says of receipts_max_size.
check_size()
{
	sed "s/batch_records = 5/batch_records = 5\n\treceipts_max_size = \"$1\"/" \
	    "$CW_TMP/g.conf" >"$CW_TMP/size.conf"
	"$COREWATCH" check-config -c "$CW_TMP/size.conf" >"$CW_TMP/size.out" 2>&1
}
check_size 0
cw_check "receipts_max_size 0 (keep none): valid" [ $? = 0 ]
check_size 64k
cw_check "receipts_max_size 64k: valid" [ $? = 0 ]
check_size 10
cw_check "receipts_max_size 10: refused" [ $? != 0 ]
cw_check "... saying so" grep -q receipts_max_size "$CW_TMP/size.out"
check_size 1G
cw_check "receipts_max_size 1G: refused" [ $? != 0 ]
cw_collector_stop

# --- another collector's key; no key ------------------------------------------

start b "$CW_TMP/other.key"
post b1
cw_collector_stop
mkdir "$CW_TMP/t4"
{
	head -n 1 "$G"
	jq -c . "$CW_TMP/b1.resp"
} >"$CW_TMP/t4/receipts.jsonl"
receipts --spool "$CW_TMP/t4" --vkey "$CW_TMP/vkey"
cw_check "a receipt signed by another key: exit 1" [ "$STATUS" = 1 ]
cw_check "... it is BAD, the other ok" \
    [ "$(grep -c 'BAD (line 2)' "$CW_TMP/r.out")/$(grep -c ' ok$' "$CW_TMP/r.out")" = 1/1 ]

start c
post c1
cw_check "no log key: no signed member" has_no_member "$CW_TMP/c1.resp" signed
cw_probe_key "$CW_TMP/n.key"
cw_probe_enroll "sqlite:$CW_TMP/c.db" n "$PROBE_PUBKEY"
mkdir "$CW_TMP/n.spool"
timeout 60 "$UPLOADRUN" --spool "$CW_TMP/n.spool" --key "$CW_TMP/n.key" \
    --append 10 --url "$COLLECTOR_URL" --batch-records 5 \
    --receipts "$CW_TMP/n.spool/receipts.jsonl" >/dev/null 2>"$CW_TMP/n.err"
cw_check "no log key: uploads go on" [ $? = 0 ]
cw_check "no log key: no receipt kept" [ ! -e "$CW_TMP/n.spool/receipts.jsonl" ]
cw_collector_stop

cw_done
