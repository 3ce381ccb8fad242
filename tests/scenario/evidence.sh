#!/bin/bash
# evidence.sh -- the collector keeps every accepted batch's signature
# and what it covers (doc/evidence.md), on SQLite (evidence_pg.sh: on
# PostgreSQL):
#   a real uploader (tests/tools/uploadrun: the probe's spool, its
#   batches, gzip) sends 1,000 records; another probe's spool is carried
#   by hand (`corewatch spool export`) and imported twice, the second
#   time keeping no batch more; every batch is listed, the same
#   bytes from `corewatch-collector batches` and GET /api/v1/batches,
#   and evidence_verify.py (Python, python3-nacl, written from
#   doc/evidence.md alone) rebuilds every signed body from the exported
#   records and verifies it with the key of GET /api/v1/probes; with one
#   byte of one record changed, it fails and names the batch;
#   crafted batches of another probe: an overlapping batch (duplicates)
#   kept beside the first, a replay that keeps nothing more, a batch
#   with a hole that a later batch fills, a loss record, an
#   equivocation that forks; each verifies; as an evidence bundle
#   (corewatch-collector bundle, checked by corewatch verify) every
#   signature holds and the fork is named, and a bundle of one record
#   grows to the batches around it;
#   a batch whose signature does not verify stores no batch and no
#   record; the filters and their errors.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

UPLOADRUN="$top_builddir/tests/tools/uploadrun"
MKBATCH="$top_builddir/tests/tools/mkbatch"
VERIFY="$CW_SCENARIO_DIR/evidence_verify.py"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$UPLOADRUN" ] || cw_die "no $UPLOADRUN (make check builds it)"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
/usr/bin/python3 -c 'import nacl.signing' 2>/dev/null ||
    cw_die "no python3-nacl (contrib/debian-packages)"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB
READ_TOKEN=0123456789abcdef-evidence
READ_AUTH="Authorization: Bearer $READ_TOKEN"
printf '%s\n' "db = \"$DB\"" "read_token = \"$READ_TOKEN\"" \
    >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# get PATH OUT: GET with the read token into OUT; STATUS its status.
get()
{
	STATUS=$(curl -sS -o "$2" -w '%{http_code}' --max-time 30 \
	    -H "$READ_AUTH" "$COLLECTOR_URL$1" 2>"$CW_TMP/curl.err")
	[ -n "$STATUS" ] || STATUS=000
}

# verify NAME: list the batches, export the records and the probes, and
# run the verifier; its output in $CW_TMP/NAME.verify, status in $rc.
verify()
{
	"$COLLECTOR" batches --db "$DB" >"$CW_TMP/$1.batches" ||
	    cw_die "batches failed"
	"$COLLECTOR" export --db "$DB" --format jsonl >"$CW_TMP/$1.jsonl" ||
	    cw_die "export failed"
	get /api/v1/probes "$CW_TMP/$1.probes"
	[ "$STATUS" = 200 ] || cw_die "/api/v1/probes: $STATUS"
	/usr/bin/python3 "$VERIFY" "$CW_TMP/$1.batches" "$CW_TMP/$1.jsonl" \
	    "$CW_TMP/$1.probes" >"$CW_TMP/$1.verify" 2>&1
	rc=$?
	cw_log "$1: $(tail -n 1 "$CW_TMP/$1.verify")"
}

# --- a real uploader -----------------------------------------------------------

cw_probe_key "$CW_TMP/a.key"
PROBE_A=$PROBE_ID
cw_probe_enroll "$DB" probe-a "$PROBE_PUBKEY"
timeout 150 "$UPLOADRUN" --spool "$CW_TMP/a.spool" --key "$CW_TMP/a.key" \
    --append 1000 --rate 2000 --url "$COLLECTOR_URL" --batch-records 90 \
    --batch-age 200ms --timeout 120s >"$CW_TMP/a.status" 2>"$CW_TMP/a.err"
cw_check "uploader: drained" [ $? = 0 ] || tail -n 20 "$CW_TMP/a.err" >&2
cw_expect "uploader: 1,000 records acknowledged" "$CW_TMP/a.status" \
    '.[0] | .drained and .acked_seq == 1000'

verify up
cw_check "every batch verifies, every record is covered" [ "$rc" = 0 ] ||
    cat "$CW_TMP/up.verify" >&2
NB=$(wc -l <"$CW_TMP/up.batches")
cw_expect "the batches: more than one, 1,000 records, seqs 1 to 1000" \
    "$CW_TMP/up.batches" "length == $NB and length > 1 and
    (map(.count) | add) == 1000 and .[0].first_seq == 1 and
    .[-1].last_seq == 1000 and all(.seqs == null and .forks == [])"
cw_check "the verifier says so of each ($NB batches)" \
    [ "$(grep -c '^ok batch' "$CW_TMP/up.verify")" = "$NB" ]
get /api/v1/batches "$CW_TMP/up.http"
cw_check "GET /api/v1/batches: 200" [ "$STATUS" = 200 ]
cw_check "GET /api/v1/batches: the bytes of corewatch-collector batches" \
    cmp "$CW_TMP/up.http" "$CW_TMP/up.batches"
cw_expect "the key of /api/v1/probes is the one on each batch" \
    "$CW_TMP/up.probes" ".[0].probes[0].pubkey == \"$(jq -r -s \
    '.[0].pubkey' "$CW_TMP/up.batches")\""

# One byte of one record changed (a digit of its time): the batch that
# holds it fails.
SEQ=$(jq -r -s '.[1].first_seq + 2' "$CW_TMP/up.batches")
/usr/bin/python3 - "$CW_TMP/up.jsonl" "$SEQ" >"$CW_TMP/tampered.jsonl" <<'EOF' ||
import json, sys
path, seq = sys.argv[1], int(sys.argv[2])
out = sys.stdout.buffer
for line in open(path, "rb").read().split(b"\n")[:-1]:
    if json.loads(line)["seq"] == seq:
        i = line.index(b'"time":"') + len(b'"time":"') + 18
        d = bytes([ord("0") + (line[i] - ord("0") + 1) % 10])
        line = line[:i] + d + line[i + 1:]
    out.write(line + b"\n")
EOF
    cw_die "cannot change a byte"
cw_check "tampered: one byte differs" \
    [ "$(cmp -l "$CW_TMP/up.jsonl" "$CW_TMP/tampered.jsonl" | wc -l)" = 1 ]
/usr/bin/python3 "$VERIFY" "$CW_TMP/up.batches" "$CW_TMP/tampered.jsonl" \
    "$CW_TMP/up.probes" >"$CW_TMP/tampered.verify" 2>&1
cw_check "tampered: the verifier fails" [ $? = 1 ]
cat "$CW_TMP/tampered.verify" | grep FAIL >&2
cw_check "tampered: one batch fails, the one holding seq $SEQ" \
    [ "$(grep -c '^FAIL' "$CW_TMP/tampered.verify")" = 1 -a \
    "$(grep '^FAIL' "$CW_TMP/tampered.verify" | awk '{print $5}' |
    cut -d: -f1)" = "$(jq -r -s '.[1] | "\(.first_seq)-\(.last_seq)"' \
    "$CW_TMP/up.batches")" ]

# Another batch's signature on a batch: the verifier fails on both.
jq -c -s '(.[0].sig) as $a | .[0].sig = .[1].sig | .[1].sig = $a | .[]' \
    "$CW_TMP/up.batches" >"$CW_TMP/swapped.batches"
/usr/bin/python3 "$VERIFY" "$CW_TMP/swapped.batches" "$CW_TMP/up.jsonl" \
    "$CW_TMP/up.probes" >"$CW_TMP/swapped.verify" 2>&1
cw_check "signatures swapped: the verifier fails" [ $? = 1 ]
cw_check "signatures swapped: two batches, the signature named" \
    [ "$(grep -c '^FAIL.*the signature does not verify' \
    "$CW_TMP/swapped.verify")" = 2 ]

# --- carried by hand: corewatch spool export, imported twice ----------------

cw_probe_key "$CW_TMP/c.key"
PROBE_C=$PROBE_ID
cw_probe_enroll "$DB" probe-c "$PROBE_PUBKEY"
timeout 150 "$UPLOADRUN" --spool "$CW_TMP/c.spool" --key "$CW_TMP/c.key" \
    --append 400 >/dev/null 2>"$CW_TMP/c.err"
cw_check "offline: 400 records spooled" [ $? = 0 ]
printf '%s\n' 'probe { name = "hand-carried" }' \
    "state_dir = \"$CW_TMP/c.state\"" "key = \"$CW_TMP/c.key\"" \
    "spool { dir = \"$CW_TMP/c.spool\" }" \
    'dns "never-run" { servers = {"127.0.0.1"} port = 9 interval = 1h }' \
    >"$CW_TMP/c.conf"
"$COREWATCH" spool export -c "$CW_TMP/c.conf" --out "$CW_TMP/c.export" \
    >/dev/null 2>"$CW_TMP/c.export.err"
cw_check "spool export: exit 0" [ $? = 0 ] || cat "$CW_TMP/c.export.err" >&2
for i in 1 2; do
	"$COLLECTOR" import --db "$DB" "$CW_TMP/c.export" \
	    >"$CW_TMP/import$i.out" 2>&1
	cw_check "import $i: exit 0" [ $? = 0 ] || cat "$CW_TMP/import$i.out" >&2
	"$COLLECTOR" batches --db "$DB" --probe "$PROBE_C" \
	    >"$CW_TMP/c$i.batches"
done
cw_check "import again: duplicates only" \
    grep -q "accepted (0 records stored, 400 duplicates" "$CW_TMP/import2.out"
cw_expect "imported: its batches kept, 400 records" "$CW_TMP/c1.batches" \
    'length >= 1 and (map(.count) | add) == 400'
cw_check "imported again (the same signed bodies): no batch more" \
    cmp "$CW_TMP/c1.batches" "$CW_TMP/c2.batches"
verify imported
cw_check "imported: every batch verifies, every record is covered" \
    [ "$rc" = 0 ] || cat "$CW_TMP/imported.verify" >&2
cw_check "imported: probe C's batches among them" \
    [ "$(grep -c "^ok batch $PROBE_C" "$CW_TMP/imported.verify")" = \
    "$(wc -l <"$CW_TMP/c1.batches")" ]

# --- crafted batches: duplicates, a replay, a hole, a loss, a fork ------------

SEED=5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e
PROBE_B=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id"
cw_probe_enroll "$DB" probe-b "$("$MKBATCH" pubkey --seed "$SEED")"
CHAIN=0f0e0d0c0b0a09080706050403020100
# Seqs 1..16 of one chain; 13 was dropped, 14 is the loss record that
# says so; 15x and 16x: another 15 (an equivocation) and what follows
# from it.
/usr/bin/python3 - "$PROBE_B" "$CHAIN" "$CW_TMP/chain" <<'EOF' ||
import hashlib, sys
probe, chain, out = sys.argv[1:4]
def dns(seq, rtt):
    return ('"type":"dns","time":"2026-11-26T10:%02d:00Z","name":"root-soa",'
            '"server":"k.root-servers.net","addr":"193.0.14.129","port":53,'
            '"af":4,"proto":"udp","query":{"qname":".","qtype":"SOA"},'
            '"ok":true,"failure":null,"rtt_ms":%s,"rcode":"NOERROR"'
            % (seq, rtt))
lines, prev = {}, "0" * 64
for seq in range(1, 17):
    body = dns(seq, "12.5")
    if seq == 14:
        body = ('"type":"loss","time":"2026-11-26T10:14:00Z","lost":'
                '{"first_seq":13,"last_seq":13,"count":1},'
                '"reason":"spool_full"')
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, chain, seq, prev, body)
    lines[str(seq)] = line
    prev = hashlib.sha256(line.encode()).hexdigest()
prev = hashlib.sha256(lines["14"].encode()).hexdigest()
for seq in (15, 16):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, chain, seq, prev, dns(seq, "99.5"))
    lines["%dx" % seq] = line
    prev = hashlib.sha256(line.encode()).hexdigest()
for k, line in lines.items():
    open("%s.%s" % (out, k), "w").write(line + "\n")
EOF
    cw_die "cannot build the chain"

# post NAME SEQ...: the batch of those records (chain.SEQ), signed and
# sent; its answer in $CW_TMP/resp, status in CW_HTTP_STATUS.
post()
{
	local name=$1 s
	shift
	: >"$CW_TMP/$name.body"
	for s; do cat "$CW_TMP/chain.$s" >>"$CW_TMP/$name.body"; done
	"$MKBATCH" sign --seed "$SEED" --out "$CW_TMP/$name.body" \
	    --auth "$CW_TMP/$name.auth" || cw_die "mkbatch sign $name"
	cw_batch_post "$CW_TMP/$name.body" "$CW_TMP/$name.auth"
}
# batches_of FILTER: the batches of probe B as a JSON array on stdout.
batches_of()
{
	"$COLLECTOR" batches --db "$DB" --probe "$PROBE_B" "$@" | jq -s -c .
}

post A 1 2 3 4 5
cw_check "A (1-5): stored" [ "$CW_HTTP_STATUS" = 200 ]
post B 4 5 6 7 8
cw_expect "B (4-8): stored, 4 and 5 duplicates" "$CW_TMP/resp" \
    '.[0] | .stored == 3 and .duplicates == 2'
post A 1 2 3 4 5
cw_expect "A again (a replay): duplicates only" "$CW_TMP/resp" \
    '.[0] | .stored == 0 and .duplicates == 5 and .acked_seq == 5'
batches_of >"$CW_TMP/ab.json"
cw_expect "the replay keeps no second row; B is kept beside A" \
    "$CW_TMP/ab.json" '.[0] | length == 2 and
    map([.first_seq, .last_seq, .count]) == [[1, 5, 5], [4, 8, 5]]'
post C 9 11 12
cw_check "C (9, 11, 12: a hole at 10): stored" [ "$CW_HTTP_STATUS" = 200 ]
post D 10
cw_check "D (10, filling the hole): stored" [ "$CW_HTTP_STATUS" = 200 ]
post G 14 15
cw_expect "G (14, the loss of 13, and 15): stored, no unexplained gap" \
    "$CW_TMP/resp" '.[0] | .stored == 2 and .gaps == 0'
post E 15x 16x
cw_expect "E (another 15, and 16 after it): an equivocation" \
    "$CW_TMP/resp" '.[0] | .equivocations == 1 and .stored == 1'
post E2 15x
cw_expect "the equivocating 15 alone: a duplicate of what was kept apart" \
    "$CW_TMP/resp" '.[0] | .duplicates == 1 and .equivocations == 0'
batches_of >"$CW_TMP/all.json"
cw_expect "C's seqs are 9,11-12; D's 10; G's 14-15" "$CW_TMP/all.json" \
    '.[0] | map(select(.first_seq >= 9 and .first_seq < 15)) |
    map([.first_seq, .last_seq, .count, .seqs]) ==
    [[9, 12, 3, "9,11-12"], [10, 10, 1, null], [14, 15, 2, null]]'
H15X=$(head -c -1 "$CW_TMP/chain.15x" | sha256sum | cut -d' ' -f1)
cw_expect "E and E2 name their 15 as a fork, with its bytes" \
    "$CW_TMP/all.json" ".[0] | map(select(.forks != [])) | length == 2 and
    all(.forks == [{\"seq\": 15, \"hash\": \"$H15X\",
    \"line\": $(head -c -1 "$CW_TMP/chain.15x" | jq -R .)}])"
verify crafted
cw_check "crafted: every batch verifies, every record is covered" \
    [ "$rc" = 0 ] || cat "$CW_TMP/crafted.verify" >&2
cw_check "crafted: 7 batches of probe B verified" \
    [ "$(grep -c "^ok batch $PROBE_B" "$CW_TMP/crafted.verify")" = 7 ]

# The same chain as an evidence bundle (doc/evidence.md): duplicates, a
# hole filled later, a loss record and a fork in it.  `corewatch verify`
# (when this build has it) finds every signature good and the fork: the
# stored 16 follows the 15 kept apart, not the stored 15.  The record of
# 10:10 alone: its stretch grows to the batches C and D around it, and
# verifies.
# bundled NAME ARGS...: a bundle of probe B with ARGS into NAME.tar,
# verified: the verifier's status.
bundled()
{
	local name=$1
	shift
	"$COLLECTOR" bundle --db "$DB" --key "$CW_TMP/log.key" \
	    --probe "$PROBE_B" "$@" --out "$CW_TMP/$name.tar" \
	    2>"$CW_TMP/$name.err" || return 2
	"$COREWATCH" verify --vkey "$CW_TMP/log.vkey" "$CW_TMP/$name.tar" \
	    >"$CW_TMP/$name.verify" 2>&1
}
# forked: the bundle of probe B holds: seq 16 goes on from the line
# probe B equivocated with at seq 15, which a batch names in its forks
# (doc/evidence.md, check 5), and the chain's verdict names it.
forked()
{
	bundled crafted
	[ $? = 0 ] &&
	    [ "$(grep -c '^FAIL' "$CW_TMP/crafted.verify")" = 0 ] &&
	    grep -q 'seq 16 goes on from an equivocation at seq 15' \
	        "$CW_TMP/crafted.verify" &&
	    grep -q '^ok    signatures: 7 batches hold' "$CW_TMP/crafted.verify"
}
"$COLLECTOR" keygen --key "$CW_TMP/log.key" >"$CW_TMP/log.vkey" ||
    cw_die "keygen failed"
if "$COREWATCH" verify --help >/dev/null 2>&1; then
	cw_check "crafted: a bundle of probe B holds, seq 16 named as going on from the fork" \
	    forked || cat "$CW_TMP/crafted.verify" >&2
	cw_check "crafted: a bundle of the record of 10:10 verifies" \
	    bundled crafted10 --from 2026-11-26T10:10:00Z \
	    --to 2026-11-26T10:10:01Z
	cw_check "... its stretch grown to seqs 9 to 12 (batches C and D)" \
	    [ "$(tar -xOf "$CW_TMP/crafted10.tar" corewatch-bundle/bundle.json |
	    jq -c '[.chains[0].first_seq, .chains[0].last_seq, .records]')" = \
	    "[9,12,4]" ]
fi

# --- a bad signature stores nothing -----------------------------------------------

"$MKBATCH" batch --seed "$SEED" --chain "$CHAIN" --from 17 --count 2 \
    --prev "$(head -c -1 "$CW_TMP/chain.16x" | sha256sum | cut -d' ' -f1)" \
    --tamper sig --out "$CW_TMP/bad.body" --auth "$CW_TMP/bad.auth" \
    >/dev/null || cw_die "mkbatch bad"
BEFORE=$(batches_of | jq length)
RECORDS=$("$COLLECTOR" export --db "$DB" --format jsonl --probe "$PROBE_B" |
    wc -l)
cw_batch_post "$CW_TMP/bad.body" "$CW_TMP/bad.auth"
cw_check "a bad signature: 401" [ "$CW_HTTP_STATUS" = 401 ]
cw_check "a bad signature: no batch kept" [ "$(batches_of | jq length)" = \
    "$BEFORE" ]
cw_check "a bad signature: no record stored" [ "$("$COLLECTOR" export \
    --db "$DB" --format jsonl --probe "$PROBE_B" | wc -l)" = "$RECORDS" ]

# --- filters ------------------------------------------------------------------------

cw_expect "--chain: the crafted chain's 7 batches" <(batches_of \
    --chain "$CHAIN") '.[0] | length == 7'
cw_expect "--seq-from 9 --seq-to 10: C and D" <(batches_of --seq-from 9 \
    --seq-to 10) '.[0] | map(.first_seq) == [9, 10]'
T=$(jq -r '.received_at' <(batches_of | jq -c '.[2]'))
cw_expect "--from: received at or after C" <(batches_of --from "$T") \
    '.[0] | .[0].first_seq == 9 and length == 5'
cw_expect "--to: received before C" <(batches_of --to "$T") \
    '.[0] | length == 2'
get "/api/v1/batches?probe=$PROBE_B&seq_from=9&seq_to=10" "$CW_TMP/f.http"
cw_expect "GET with seq_from, seq_to: C and D" "$CW_TMP/f.http" \
    'map(.first_seq) == [9, 10]'
get "/api/v1/batches?seq_from=0" "$CW_TMP/e.http"
cw_check "seq_from=0: 400" [ "$STATUS" = 400 ]
cw_check "seq_from=0: says which" grep -q seq_from "$CW_TMP/e.http"
get "/api/v1/batches?type=dns" "$CW_TMP/e.http"
cw_check "an unknown parameter: 400" [ "$STATUS" = 400 ]
"$COLLECTOR" batches --db "$DB" --chain XYZ >/dev/null 2>"$CW_TMP/e.err"
cw_check "batches --chain XYZ: exit 2" [ $? = 2 ]
"$COLLECTOR" batches --db "$DB" --type dns >/dev/null 2>"$CW_TMP/e.err"
cw_check "batches --type: exit 2" [ $? = 2 ]

cw_collector_stop
cw_check "the collector stops cleanly ($CW_STATUS)" [ "$CW_STATUS" = 0 ]
cw_done
