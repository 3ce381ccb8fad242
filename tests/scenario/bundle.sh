#!/bin/bash
# bundle.sh -- evidence bundles end to end (doc/evidence.md): a real
# collector with a log key takes a real uploader's signed batches (its
# spool) and crafted ones of another probe (a loss record and the hole
# it explains); `corewatch-collector bundle`
# writes the bundle, and both verifiers -- `corewatch verify` and
# contrib/verify.py, written from the documentation alone -- say that
# every check holds, and agree.  Then each forgery of the bundle (one
# byte of a record, a record dropped, two swapped, another batch's
# signature, another probe key, a checkpoint signed again by another
# key, a record or a file MANIFEST does not list) makes both exit 1 and
# name the same failing checks, the expected one among them; so do an
# unexplained hole the collector really has (until a loss record
# explains it) and a fork: a second collector on a copy of the database
# with the same log key, given other records, signs a checkpoint of the
# same size with another root.  A probe's equivocation that forks (its
# later records stored) holds for both.  Hostile tars (a symlink, a ../
# name, ...) are refused by both.  SQLite.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

UPLOADRUN="$top_builddir/tests/tools/uploadrun"
MKBATCH="$top_builddir/tests/tools/mkbatch"
VERIFYPY="$CW_SCENARIO_DIR/../../contrib/verify.py"
TAMPER="$CW_SCENARIO_DIR/bundle_tamper.py"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$COREWATCH" ] || cw_die "no $COREWATCH"
[ -x "$UPLOADRUN" ] || cw_die "no $UPLOADRUN (make check builds it)"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
command -v jq >/dev/null || cw_die "no jq"
command -v sqlite3 >/dev/null || cw_die "no sqlite3"
/usr/bin/python3 -c 'import nacl.signing' 2>/dev/null ||
    cw_die "no python3-nacl (contrib/debian-packages)"

cw_tmpdir
DB=$CW_TMP/collector.db
KEY=$CW_TMP/log.key
SEED=0707070707070707070707070707070707070707070707070707070707070707
CHAIN=b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0b0
CHAIN2=c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0c0
CHAIN3=e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0e0

"$COLLECTOR" keygen --key "$KEY" >"$CW_TMP/vkey" || cw_die "keygen failed"
printf '%s\n' "db = \"sqlite:$DB\"" "log_key = \"$KEY\"" \
    >"$CW_TMP/collector.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"
URL1=$COLLECTOR_URL

# bundle OUT [FILTERS...]: the collector's bundle of what it holds now.
bundle()
{
	local out=$1
	shift
	"$COLLECTOR" bundle -c "$CW_TMP/collector.conf" "$@" --out "$out" \
	    >"$CW_TMP/bundle.out" 2>&1 || {
		cat "$CW_TMP/bundle.out" >&2
		cw_die "bundle $out failed"
	}
}

# both NAME BUNDLE [ARGS...]: both verifiers on BUNDLE (a tar or a
# directory), --json; RC_C and RC_PY their exit statuses, FAILS_C and
# FAILS_PY the checks each says fail (sorted, comma-separated).
both()
{
	local name=$1 b=$2
	shift 2
	"$COREWATCH" verify --json "$@" "$b" >"$CW_TMP/$name.c.json" \
	    2>"$CW_TMP/$name.c.err"
	RC_C=$?
	/usr/bin/python3 "$VERIFYPY" --json "$@" "$b" >"$CW_TMP/$name.py.json" \
	    2>"$CW_TMP/$name.py.err"
	RC_PY=$?
	FAILS_C=$(fails_of "$CW_TMP/$name.c.json")
	FAILS_PY=$(fails_of "$CW_TMP/$name.py.json")
	cw_log "$name: corewatch verify $RC_C [$FAILS_C]," \
	    "verify.py $RC_PY [$FAILS_PY]"
}

# fails_of FILE: the failing checks of a verifier's --json output.
fails_of()
{
	jq -r '[.checks[] | select(.ok | not) | .check] | join(",")' "$1" \
	    2>/dev/null
}

# named CHECK: true when both verifiers name CHECK among the failures.
named()
{
	case ",$FAILS_C," in *",$1,"*) ;; *) return 1 ;; esac
	case ",$FAILS_PY," in *",$1,"*) return 0 ;; esac
	return 1
}

# verdict_lines FILE: true when FILE is the verdicts of doc/evidence.md:
# a line "ok    CHECK: ..." or "FAIL  CHECK: ..." for each of the eight
# checks, in order, the lines under them indented, and the last line
# saying whether the bundle is verified.
verdict_lines()
{
	local re='^(ok   |FAIL ) (manifest|probe keys|records|signatures|chains'
	local want='manifest,probe keys,records,signatures,chains,'
	re+='|checkpoint|inclusion|other checkpoints): '
	want+='checkpoint,inclusion,other checkpoints,'
	[ "$(grep -E "$re" "$1" | sed -E 's/^[A-Za-z]+ +//; s/:.*//' |
	    tr '\n' ,)" = "$want" ] || return 1
	[ "$(grep -cvE "$re|^      |^(NOT )?verified: " "$1")" = 0 ] ||
	    return 1
	tail -n 1 "$1" | grep -qE '^(NOT )?verified: '
}

# holds NAME BUNDLE [ARGS...]: both verifiers say every check holds.
holds()
{
	both "$@"
	cw_check "$1: corewatch verify holds (exit 0)" [ "$RC_C" = 0 ] ||
	    cat "$CW_TMP/$1.c.json" "$CW_TMP/$1.c.err" >&2
	cw_check "$1: verify.py holds (exit 0)" [ "$RC_PY" = 0 ] ||
	    cat "$CW_TMP/$1.py.json" "$CW_TMP/$1.py.err" >&2
}

# caught NAME CHECK BUNDLE [ARGS...]: both exit 1, fail the same checks,
# CHECK among them.
caught()
{
	local name=$1 check=$2
	shift 2
	both "$name" "$@"
	cw_check "$name: corewatch verify exits 1" [ "$RC_C" = 1 ] ||
	    cat "$CW_TMP/$name.c.err" >&2
	cw_check "$name: verify.py exits 1" [ "$RC_PY" = 1 ] ||
	    cat "$CW_TMP/$name.py.err" >&2
	cw_check "$name: both name $check" named "$check"
	cw_check "$name: the same checks fail" [ "$FAILS_C" = "$FAILS_PY" ]
}

# unpack NAME: the first bundle unpacked into $CW_TMP/NAME/; U is its
# corewatch-bundle/ directory.
unpack()
{
	rm -rf "${CW_TMP:?}/$1"
	mkdir "$CW_TMP/$1" || cw_die "mkdir $1"
	tar -xf "$CW_TMP/b1.tar" -C "$CW_TMP/$1" || cw_die "tar -x $1"
	U=$CW_TMP/$1/corewatch-bundle
}

# tamper NAME OP [ARGS...]: unpack the first bundle into NAME and change
# it (bundle_tamper.py OP).
tamper()
{
	local name=$1
	shift
	unpack "$name"
	/usr/bin/python3 "$TAMPER" "$U" "$@" || cw_die "tamper $name $*"
}

# post NAME [MKBATCH ARGS...]: a batch of probe B (mkbatch batch),
# posted to $COLLECTOR_URL, which must store it; H its last hash.
post()
{
	local name=$1
	shift
	H=$("$MKBATCH" batch --seed "$SEED" "$@" --out "$CW_TMP/$name.body" \
	    --auth "$CW_TMP/$name.auth") || cw_die "mkbatch $name failed"
	cw_batch_post "$CW_TMP/$name.body" "$CW_TMP/$name.auth"
	[ "$CW_HTTP_STATUS" = 200 ] ||
	    cw_die "batch $name: $CW_HTTP_STATUS $(cat "$CW_TMP/resp")"
}

# --- what the collector holds ------------------------------------------------

# Probe A: a real probe's spool and uploader, signed batches of 40.
cw_probe_key "$CW_TMP/a.key"
PROBE_A=$PROBE_ID
cw_probe_enroll "sqlite:$DB" probe-a "$PROBE_PUBKEY"
timeout 150 "$UPLOADRUN" --spool "$CW_TMP/a.spool" --key "$CW_TMP/a.key" \
    --append 300 --rate 2000 --url "$COLLECTOR_URL" --batch-records 40 \
    --batch-age 200ms --timeout 120s >"$CW_TMP/a.status" 2>"$CW_TMP/a.err"
cw_check "uploader: drained" [ $? = 0 ] || tail -n 20 "$CW_TMP/a.err" >&2
cw_expect "uploader: 300 records acknowledged" "$CW_TMP/a.status" \
    '.[0] | .drained and .acked_seq == 300'

# Probe B: seqs 1-12; 13 dropped, and the loss record 14 says so; 15-16.
PROBE_B=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id"
cw_probe_enroll "sqlite:$DB" probe-b "$("$MKBATCH" pubkey --seed "$SEED")"
post b1 --chain "$CHAIN" --from 1 --count 5
post b2 --chain "$CHAIN" --from 6 --count 7 --prev "$H"
post b3 --chain "$CHAIN" --from 14 --count 1 --loss 13:13 --prev "$H"
post b4 --chain "$CHAIN" --from 15 --count 2 --prev "$H"
H16=$H

# --- the bundle, as it is -----------------------------------------------------

bundle "$CW_TMP/b1.tar"
cw_check "the bundle is a tar" tar -tf "$CW_TMP/b1.tar" >/dev/null
holds b1 "$CW_TMP/b1.tar"
holds b1-vkey "$CW_TMP/b1.tar" --vkey "$CW_TMP/vkey"
holds b1-vkey-text "$CW_TMP/b1.tar" --vkey "$(cat "$CW_TMP/vkey")"
for v in c py; do
	cw_expect "b1 ($v): the eight checks, in order" "$CW_TMP/b1.$v.json" \
	    '[.[0].checks[].check] == ["manifest", "probe keys", "records",
	    "signatures", "chains", "checkpoint", "inclusion",
	    "other checkpoints"]'
	cw_expect "b1 ($v): without --vkey, the key is the bundle's own" \
	    "$CW_TMP/b1.$v.json" '.[0].key_from_bundle and (.[0].checks[] |
	    select(.check == "checkpoint") | .summary | test("bundle itself"))'
	cw_expect "b1 ($v): a verdict per probe and chain, the hole explained" \
	    "$CW_TMP/b1.$v.json" '.[0].chains | length == 2 and
	    (map(.holes) | add) == 1 and (map(.explained) | add) == 1'
done
cw_expect "b1-vkey: the key is not the bundle's own" "$CW_TMP/b1-vkey.c.json" \
    '.[0].key_from_bundle == false'
unpack dir
holds b1-dir "$U" --vkey "$CW_TMP/vkey"
holds b1-parent "$CW_TMP/dir" --vkey "$CW_TMP/vkey"
cw_check "sha256sum -c MANIFEST in the directory" \
    sh -c "cd '$U' && sha256sum --quiet -c MANIFEST"
bundle "$CW_TMP/a.tar" --probe "$PROBE_A"
holds a-only "$CW_TMP/a.tar" --vkey "$CW_TMP/vkey"
bundle "$CW_TMP/b.tar" --probe "$PROBE_B"
holds b-only "$CW_TMP/b.tar" --vkey "$CW_TMP/vkey"
cw_expect "b-only: the other probe's leaves are given as nodes" \
    <(tar -xOf "$CW_TMP/b.tar" corewatch-bundle/inclusion.json) \
    '.[0].nodes | length > 0'

# --- forgeries ------------------------------------------------------------------

tamper byte byte "$PROBE_A"
caught byte signatures "$U" --vkey "$CW_TMP/vkey"
cw_check "byte: inclusion fails too" named inclusion
tar -cf "$CW_TMP/byte.tar" -C "$CW_TMP/byte" corewatch-bundle ||
    cw_die "tar -c"
caught byte-tar signatures "$CW_TMP/byte.tar" --vkey "$CW_TMP/vkey"
# The verdict lines without --json: the same form from both.
"$COREWATCH" verify "$U" >"$CW_TMP/byte.c.txt" 2>&1
cw_check "byte, text: corewatch verify exits 1" [ $? = 1 ]
/usr/bin/python3 "$VERIFYPY" "$U" >"$CW_TMP/byte.py.txt" 2>&1
cw_check "byte, text: verify.py exits 1" [ $? = 1 ]
for f in c py; do
	cw_check "byte, text ($f): a FAIL signatures: line" \
	    grep -q '^FAIL  signatures: ' "$CW_TMP/byte.$f.txt"
	cw_check "byte, text ($f): every line a verdict" verdict_lines \
	    "$CW_TMP/byte.$f.txt"
done
tamper byte-stale byte-stale "$PROBE_A"
caught byte-stale manifest "$U" --vkey "$CW_TMP/vkey"
tamper drop drop "$PROBE_A"
caught drop chains "$U" --vkey "$CW_TMP/vkey"
cw_check "drop: signatures fail too" named signatures
tamper swap swap "$PROBE_A"
caught swap records "$U" --vkey "$CW_TMP/vkey"
tamper sig sig "$PROBE_A"
caught sig signatures "$U" --vkey "$CW_TMP/vkey"
tamper key key "$PROBE_A"
caught key "probe keys" "$U" --vkey "$CW_TMP/vkey"
cw_check "key: signatures fail too" named signatures
tamper resign resign "$CW_TMP/other.vkey"
caught resign checkpoint "$U" --vkey "$CW_TMP/vkey"
# Without --vkey, a bundle whose key was replaced with its checkpoint
# agrees with itself: that is all it proves, and the verdict says so.
holds resign-self "$U"
tamper resign-only resign-only
caught resign-only checkpoint "$U"
tamper extra extra
caught extra manifest "$U" --vkey "$CW_TMP/vkey"
tamper unlist unlist records.jsonl
caught unlist manifest "$U" --vkey "$CW_TMP/vkey"

# --- holes: one the collector really has, then the loss record ------------------

post b6 --chain "$CHAIN" --from 19 --count 2 --prev "$H16"
bundle "$CW_TMP/hole.tar"
caught hole chains "$CW_TMP/hole.tar" --vkey "$CW_TMP/vkey"
cw_check "hole: only the chains fail (both)" [ "$FAILS_C,$FAILS_PY" = \
    "chains,chains" ]
cw_check "hole: seqs 17-18 named (verify.py)" \
    grep -q '17-18' "$CW_TMP/hole.py.json"
cw_check "hole: seqs 17-18 named (corewatch verify)" \
    grep -q '17-18' "$CW_TMP/hole.c.json"
post b7 --chain "$CHAIN" --from 21 --count 1 --loss 17:18 --prev "$H"
bundle "$CW_TMP/explained.tar"
holds explained "$CW_TMP/explained.tar" --vkey "$CW_TMP/vkey"

# --- a fork: a copy of the database, the same key, other records ------------------

sqlite3 "$DB" ".backup '$CW_TMP/fork.db'" || cw_die "sqlite3 .backup"
sed "s|$DB|$CW_TMP/fork.db|" "$CW_TMP/collector.conf" >"$CW_TMP/fork.conf"
cw_collector_start "$CW_TMP/fork.log" -c "$CW_TMP/fork.conf"
URL2=$COLLECTOR_URL
post f2 --chain "$CHAIN2" --from 1 --count 3 --variant 2
COLLECTOR_URL=$URL1
post f1 --chain "$CHAIN2" --from 1 --count 3
bundle "$CW_TMP/fork.tar"
cw_get /api/v1/log/checkpoint "$CW_TMP/cp.same"
cw_check "the collector's own checkpoint: 200" [ "$STATUS" = 200 ]
COLLECTOR_URL=$URL2
cw_get /api/v1/log/checkpoint "$CW_TMP/cp.fork"
cw_check "the fork's checkpoint: 200" [ "$STATUS" = 200 ]
cw_check "the fork's checkpoint: the same size" [ "$(sed -n 2p \
    "$CW_TMP/cp.fork")" = "$(sed -n 2p "$CW_TMP/cp.same")" ]
tar -xOf "$CW_TMP/b1.tar" corewatch-bundle/checkpoint >"$CW_TMP/cp.older" ||
    cw_die "tar -xO"
holds same "$CW_TMP/fork.tar" --vkey "$CW_TMP/vkey" \
    --checkpoint "$CW_TMP/cp.same" --checkpoint "$CW_TMP/cp.older"
cw_expect "same: one agrees, one of another size not compared" \
    "$CW_TMP/same.py.json" '.[0].checks[] | select(.check ==
    "other checkpoints") | .summary | test("2 given: 1 .* 1 of another")'
cw_expect "same: corewatch verify says so too" "$CW_TMP/same.c.json" \
    '.[0].checks[] | select(.check == "other checkpoints") | .ok' 
caught fork "other checkpoints" "$CW_TMP/fork.tar" --vkey "$CW_TMP/vkey" \
    --checkpoint "$CW_TMP/cp.same" --checkpoint "$CW_TMP/cp.fork"
cw_check "fork: only the other checkpoints fail (both)" \
    [ "$FAILS_C,$FAILS_PY" = "other checkpoints,other checkpoints" ]

# --- an equivocation that forks ---------------------------------------------------

# Another chain of probe B: seqs 1-3, then another 2 and 3
# (equivocations, kept apart) and a 4 that goes on from them, stored (seq
# 4 was free): its prev is the hash of the other 3, which only the
# batch's forks hold.  What the probe did, not a forgery: it holds.
COLLECTOR_URL=$URL1
post e1 --chain "$CHAIN3" --from 1 --count 3
H1=$("$MKBATCH" batch --seed "$SEED" --chain "$CHAIN3" --from 1 --count 1 \
    --out "$CW_TMP/e0.body" --auth "$CW_TMP/e0.auth") || cw_die "mkbatch e0"
post e2 --chain "$CHAIN3" --from 2 --count 3 --variant 1 --prev "$H1"
cw_expect "e2: two equivocations, seq 4 stored" "$CW_TMP/resp" \
    '.[0] | .equivocations == 2 and .stored == 1'
bundle "$CW_TMP/eq.tar" --probe "$PROBE_B"
cw_expect "eq: the batch names its 2 and 3 as forks" \
    <(tar -xOf "$CW_TMP/eq.tar" corewatch-bundle/batches.jsonl) \
    "map(select(.chain == \"$CHAIN3\" and .forks != [])) |
    map(.forks | map(.seq)) == [[2, 3]]"
holds eq "$CW_TMP/eq.tar" --vkey "$CW_TMP/vkey"
for v in c py; do
	cw_expect "eq ($v): the chain went on from the equivocation at seq 4" \
	    "$CW_TMP/eq.$v.json" ".[0].chains[] | select(.chain == \"$CHAIN3\")
	    | .ok and .went_on == 4"
done

# --- hostile tars -------------------------------------------------------------------

# refusal STATUS: true for 1 or 2 (and not 0: it held).
refusal()
{
	[ "$1" = 1 ] || [ "$1" = 2 ]
}

# absent FILE: true when FILE does not exist.
absent()
{
	[ ! -e "$1" ]
}

# refused NAME: both verifiers refuse the tar (exit 2, or 1), write
# nothing outside, say why.
refused()
{
	both "$1" "$CW_TMP/$1.tar" --vkey "$CW_TMP/vkey"
	cw_check "$1: corewatch verify refuses it ($RC_C)" refusal "$RC_C"
	cw_check "$1: verify.py refuses it ($RC_PY)" refusal "$RC_PY"
	cw_check "$1: nothing written outside" absent "$CW_TMP/evil"
}
unpack host
for kind in symlink dotdot absolute outside subdir hardlink fifo twice; do
	/usr/bin/python3 "$TAMPER" "$U" "tar-$kind" "$CW_TMP/$kind.tar" ||
	    cw_die "tar-$kind"
	refused "$kind"
done
# A directory with a symbolic link in it.
ln -s /etc/passwd "$U/evil" || cw_die "ln -s"
both dir-symlink "$U" --vkey "$CW_TMP/vkey"
cw_check "dir-symlink: corewatch verify refuses it ($RC_C)" refusal "$RC_C"
cw_check "dir-symlink: verify.py refuses it ($RC_PY)" refusal "$RC_PY"
printf 'not a tar at all\n' >"$CW_TMP/junk.tar"
both junk "$CW_TMP/junk.tar"
cw_check "junk: both exit 2 ($RC_C, $RC_PY)" [ "$RC_C,$RC_PY" = 2,2 ]
both usage "$CW_TMP/b1.tar" --no-such-option
cw_check "a bad option: both exit 2 ($RC_C, $RC_PY)" [ "$RC_C,$RC_PY" = 2,2 ]

cw_done
