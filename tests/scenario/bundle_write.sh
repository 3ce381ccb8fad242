#!/bin/bash
# bundle_write.sh -- `corewatch-collector bundle` against a real
# collector with a log key (doc/evidence.md, "Evidence bundles"), on
# SQLite (bundle_write_pg.sh: on PostgreSQL):
#   two real uploaders (tests/tools/uploadrun) at once, so that their
#   leaves interleave in the log, and a third after them;
#   bundles of everything, of one probe, and of a short time window
#   (its stretch grows to whole batches); each is checked here with
#   tar, sha256sum, jq and Python (hashlib), not with corewatch: the
#   layout (regular files under corewatch-bundle/ only), the MANIFEST
#   (sha256sum -c), records.jsonl against the export's lines of those
#   chains, the batches covering every record with the bytes of
#   `corewatch-collector batches`, the probes' keys, and the root of
#   inclusion.json recomputed by the rule of the document against the
#   checkpoint's; and `corewatch verify` when the build has it;
#   errors: no log key, bad filters, no --out, no record matched, an
#   --out that cannot be written: exit 2 or 1, and nothing left behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

UPLOADRUN="$top_builddir/tests/tools/uploadrun"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$UPLOADRUN" ] || cw_die "no $UPLOADRUN (make check builds it)"
command -v jq >/dev/null || cw_die "no jq"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB
KEY=$CW_TMP/log.key
"$COLLECTOR" keygen --key "$KEY" >"$CW_TMP/vkey" 2>&1 ||
    cw_die "keygen failed"
printf '%s\n' "db = \"$DB\"" "log_key = \"$KEY\"" \
    >"$CW_TMP/collector.conf"
printf '%s\n' "db = \"$DB\"" "log_key = \"$CW_TMP/none.key\"" \
    >"$CW_TMP/nokey.conf"
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# enroll NAME: a probe NAME, its key in $CW_TMP/NAME.key.
enroll()
{
	cw_probe_key "$CW_TMP/$1.key"
	cw_probe_enroll "$DB" "probe-$1" "$PROBE_PUBKEY"
}

# upload NAME N: N records sent by NAME's uploader in batches of 40.
upload()
{
	timeout 150 "$UPLOADRUN" --spool "$CW_TMP/$1.spool" \
	    --key "$CW_TMP/$1.key" --append "$2" --rate 400 \
	    --url "$COLLECTOR_URL" --batch-records 40 --batch-age 100ms \
	    --timeout 120s >"$CW_TMP/$1.status" 2>"$CW_TMP/$1.err"
}

enroll a
enroll b
enroll c
upload a 600 &
PA=$!
upload b 500 &
PB=$!
wait $PA || cw_die "uploader a failed: $(tail -n 5 "$CW_TMP/a.err")"
wait $PB || cw_die "uploader b failed: $(tail -n 5 "$CW_TMP/b.err")"
upload c 200 || cw_die "uploader c failed"
PROBE_A=$(awk '$1 == "probe" { print $2 }' "$CW_TMP/a.key.pub")

"$COLLECTOR" export --db "$DB" --format jsonl >"$CW_TMP/all.jsonl" ||
    cw_die "export failed"
"$COLLECTOR" batches --db "$DB" >"$CW_TMP/all.batches" ||
    cw_die "batches failed"
cw_check "1,300 records stored" [ "$(wc -l <"$CW_TMP/all.jsonl")" = 1300 ]

# check.py DIR EXPORT BATCHES: the checks of a bundle extracted in DIR
# against the export's lines and the batch listing; prints "ok" or the
# first thing wrong.
cat >"$CW_TMP/check.py" <<'EOF'
import base64, bisect, hashlib, json, sys
d, export, listing = sys.argv[1:4]
def lines(p):
    return open(p, "rb").read().split(b"\n")[:-1]
recs = lines(d + "/records.jsonl")
parsed = [json.loads(l) for l in recs]
keys = [(r["probe"], r["chain"], r["seq"]) for r in parsed]
assert keys == sorted(keys) and len(set(keys)) == len(keys), "order"
# The export's lines of the bundle's chains from first to last seq.
meta = json.load(open(d + "/bundle.json"))
span = {(c["probe"], c["chain"]): (c["first_seq"], c["last_seq"])
        for c in meta["chains"]}
want = []
for l in lines(export):
    r = json.loads(l)
    s = span.get((r["probe"], r["chain"]))
    if s and s[0] <= r["seq"] <= s[1]:
        want.append(((r["probe"], r["chain"], r["seq"]), l))
assert [l for _, l in sorted(want)] == recs, "records != export"
assert meta["records"] == len(recs), "bundle.json records"
assert meta["format"] == "corewatch-bundle-v1", "format"
# Batches: the listing's bytes, sorted, each seq of a record covered,
# and each batch's seqs within the bundle.
bl = lines(d + "/batches.jsonl")
assert set(bl) <= set(lines(listing)), "a batch not as listed"
bs = [json.loads(l) for l in bl]
assert [(b["probe"], b["chain"], b["first_seq"], b["last_seq"])
        for b in bs] == sorted((b["probe"], b["chain"], b["first_seq"],
                                b["last_seq"]) for b in bs), "batch order"
have = set(keys)
covered = set()
for b in bs:
    for s in range(b["first_seq"], b["last_seq"] + 1):
        assert (b["probe"], b["chain"], s) in have, "batch past the bundle"
        covered.add((b["probe"], b["chain"], s))
assert covered == have, "a record no batch covers"
full = [json.loads(l) for l in lines(listing)]
for b in full:
    if any((b["probe"], b["chain"], s) in have
           for s in range(b["first_seq"], b["last_seq"] + 1)):
        assert json.dumps(b, separators=(",", ":")).encode() in bl or \
            (b["probe"], b["first_seq"], b["last_seq"]) in \
            [(x["probe"], x["first_seq"], x["last_seq"]) for x in bs], \
            "a batch meeting the bundle left out"
probes = [json.loads(l) for l in lines(d + "/probes.jsonl")]
assert [p["probe"] for p in probes] == sorted({k[0] for k in keys}), "probes"
for p in probes:
    k = base64.b64decode(p["pubkey"])
    assert hashlib.sha256(k).hexdigest()[:32] == p["probe"], "probe key"
# The inclusion proof, by the recursion of doc/evidence.md.
cp = open(d + "/checkpoint").read().split("\n")
size, root = int(cp[1]), base64.b64decode(cp[2])
inc = json.load(open(d + "/inclusion.json"))
assert inc["size"] == size and len(inc["leaves"]) == len(recs), "size"
leaf = {}
for l, i in zip(recs, inc["leaves"]):
    assert i is not None and i not in leaf and i < size, "leaf %s" % i
    leaf[i] = hashlib.sha256(b"\0" + l).digest()
idx = sorted(leaf)
nodes = {(n[0], n[1]): base64.b64decode(n[2]) for n in inc["nodes"]}
assert [tuple(n[:2]) for n in inc["nodes"]] == sorted(nodes), "order"
used = set()
def r(lo, hi):
    j = bisect.bisect_left(idx, lo)
    n = hi - lo
    if not (j < len(idx) and idx[j] < hi) and n & (n - 1) == 0:
        k = (n.bit_length() - 1, lo // n)
        used.add(k)
        return nodes[k]
    if n == 1:
        return leaf[lo]
    k = 1 << ((n - 1).bit_length() - 1)
    return hashlib.sha256(b"\1" + r(lo, lo + k) + r(lo + k, hi)).digest()
assert r(0, size) == root, "root"
assert used == set(nodes), "unused nodes"
print("ok")
EOF

# bundle NAME ARGS...: write $CW_TMP/NAME.tar with ARGS; rc in $rc.
bundle()
{
	local name=$1
	shift
	"$COLLECTOR" bundle "$@" --out "$CW_TMP/$name.tar" \
	    >"$CW_TMP/$name.out" 2>"$CW_TMP/$name.err"
	rc=$?
}

# extract NAME: the bundle's files into $CW_TMP/NAME/.
extract()
{
	mkdir -p "$CW_TMP/$1" && tar -xf "$CW_TMP/$1.tar" -C "$CW_TMP/$1"
}

# manifest_ok NAME: sha256sum -c of the bundle's MANIFEST.
manifest_ok()
{
	(cd "$CW_TMP/$1/corewatch-bundle" &&
	    sha256sum --quiet -c MANIFEST) >"$CW_TMP/$1.sha" 2>&1
}

# checked NAME: check.py says ok.
checked()
{
	/usr/bin/python3 "$CW_TMP/check.py" "$CW_TMP/$1/corewatch-bundle" \
	    "$CW_TMP/all.jsonl" "$CW_TMP/all.batches" >"$CW_TMP/$1.check" 2>&1
	grep -qx ok "$CW_TMP/$1.check" || {
		cat "$CW_TMP/$1.check" >&2
		return 1
	}
}

# verified NAME: `corewatch verify` with the log's key holds, when this
# build has it.
verified()
{
	"$COREWATCH" verify --vkey "$CW_TMP/vkey" "$CW_TMP/$1.tar" \
	    >"$CW_TMP/$1.verify" 2>&1 || {
		cat "$CW_TMP/$1.verify" >&2
		return 1
	}
}
VERIFY=
"$COREWATCH" verify --help >/dev/null 2>&1 && VERIFY=1

# nothing_left NAME: neither NAME.tar nor a temporary file of it.
nothing_left()
{
	[ -z "$(find "$CW_TMP" -maxdepth 1 -name "$1.tar*")" ]
}

# --- Everything ---
bundle all -c "$CW_TMP/collector.conf"
cw_check "bundle of everything: exit 0" [ "$rc" = 0 ] || cat "$CW_TMP/all.err" >&2
tar -tvf "$CW_TMP/all.tar" >"$CW_TMP/all.list" || cw_die "tar -t failed"
cw_check "tar lists the nine files under corewatch-bundle/" [ "$(awk \
    '{ print $NF }' "$CW_TMP/all.list" | sort | tr '\n' ' ')" = \
    "corewatch-bundle/MANIFEST corewatch-bundle/README.txt corewatch-bundle/batches.jsonl corewatch-bundle/bundle.json corewatch-bundle/checkpoint corewatch-bundle/collector.vkey corewatch-bundle/inclusion.json corewatch-bundle/probes.jsonl corewatch-bundle/records.jsonl " ]
cw_check "... every one a regular file" \
    [ "$(grep -c '^-' "$CW_TMP/all.list")" = 9 ]
extract all || cw_die "tar -x failed"
cw_check "sha256sum -c MANIFEST holds" manifest_ok all
cw_check "MANIFEST: the eight other files, sorted by name" [ "$(awk \
    '{ print $2 }' "$CW_TMP/all/corewatch-bundle/MANIFEST" | tr '\n' ' ')" \
    = "README.txt batches.jsonl bundle.json checkpoint collector.vkey inclusion.json probes.jsonl records.jsonl " ]
cw_check "records, batches, probes, proof and root check" checked all
[ -n "$VERIFY" ] && cw_check "corewatch verify holds" verified all
cw_check "every record is in it" \
    [ "$(wc -l <"$CW_TMP/all/corewatch-bundle/records.jsonl")" = 1300 ]
cw_check "every batch is in it" cmp -s <(sort "$CW_TMP/all.batches") \
    <(sort "$CW_TMP/all/corewatch-bundle/batches.jsonl")
cw_check "collector.vkey is the log key's" \
    cmp -s "$CW_TMP/vkey" "$CW_TMP/all/corewatch-bundle/collector.vkey"
cw_expect "bundle.json: three chains, 1,300 records, no filter" \
    "$CW_TMP/all/corewatch-bundle/bundle.json" \
    '.[0] | .records == 1300 and (.chains | length) == 3 and
    .filters == {} and (.origin | startswith("corewatch-collector/"))'
cw_check "README.txt says how to verify" \
    grep -q 'corewatch verify --vkey KEY FILE.tar' \
    "$CW_TMP/all/corewatch-bundle/README.txt"

# --- One probe of three: its leaves interleave with another's ---
bundle one --db "$DB" --key "$KEY" --probe "$PROBE_A"
cw_check "bundle of one probe: exit 0" [ "$rc" = 0 ] || cat "$CW_TMP/one.err" >&2
extract one || cw_die "tar -x failed"
cw_check "one probe: sha256sum -c MANIFEST holds" manifest_ok one
cw_check "one probe: records, batches, proof and root check" checked one
[ -n "$VERIFY" ] && cw_check "one probe: corewatch verify holds" verified one
cw_expect "one probe: its 600 records, its chain, the filter kept" \
    "$CW_TMP/one/corewatch-bundle/bundle.json" \
    ".[0] | .records == 600 and (.chains | length) == 1 and
    .chains[0].probe == \"$PROBE_A\" and .filters.probe == \"$PROBE_A\""
cw_expect "one probe: the proof needs nodes (other probes' leaves)" \
    "$CW_TMP/one/corewatch-bundle/inclusion.json" '.[0].nodes | length > 1'

# --- A short time window: its stretch grows to whole batches ---
T1=$(sed -n 250p "$CW_TMP/all.jsonl" | jq -r .time)
T2=$(sed -n 252p "$CW_TMP/all.jsonl" | jq -r .time)
[ "$T1" \< "$T2" ] || T2=$(sed -n 260p "$CW_TMP/all.jsonl" | jq -r .time)
bundle time -c "$CW_TMP/collector.conf" --from "$T1" --to "$T2"
cw_check "bundle of a window: exit 0" [ "$rc" = 0 ] || cat "$CW_TMP/time.err" >&2
extract time || cw_die "tar -x failed"
cw_check "window: sha256sum -c MANIFEST holds" manifest_ok time
cw_check "window: records, batches, proof and root check" checked time
[ -n "$VERIFY" ] && cw_check "window: corewatch verify holds" verified time
cw_expect "window: each chain's stretch starts and ends with a batch" \
    "$CW_TMP/time/corewatch-bundle/bundle.json" '.[0].chains | length >= 1'
/usr/bin/python3 - "$CW_TMP/time/corewatch-bundle" "$T1" "$T2" \
    >"$CW_TMP/time.whole" <<'EOF'
import json, sys
d, t1, t2 = sys.argv[1:4]
meta = json.load(open(d + "/bundle.json"))
bs = [json.loads(l) for l in open(d + "/batches.jsonl")]
recs = [json.loads(l) for l in open(d + "/records.jsonl")]
sel = [r for r in recs if t1 <= r["time"] < t2]
ok = len(sel) < len(recs)
for c in meta["chains"]:
    mine = [b for b in bs if (b["probe"], b["chain"]) == (c["probe"], c["chain"])]
    ok = ok and min(b["first_seq"] for b in mine) == c["first_seq"]
    ok = ok and max(b["last_seq"] for b in mine) == c["last_seq"]
print("ok" if ok and sel else "no")
EOF
cw_check "window: more records than selected, stretches of whole batches" \
    grep -qx ok "$CW_TMP/time.whole"

# --- Errors: nothing is left behind ---
bundle nokey -c "$CW_TMP/nokey.conf"
cw_check "no log key: exit 1" [ "$rc" = 1 ]
cw_check "... says so" grep -q "no log key" "$CW_TMP/nokey.err"
cw_check "... and writes nothing" nothing_left nokey
bundle badfrom -c "$CW_TMP/collector.conf" --from yesterday
cw_check "a bad --from: exit 2" [ "$rc" = 2 ]
cw_check "... naming it" grep -q -- "--from" "$CW_TMP/badfrom.err"
cw_check "... and writes nothing" nothing_left badfrom
bundle badorder -c "$CW_TMP/collector.conf" --from "$T2" --to "$T1"
cw_check "--from after --to: exit 2" [ "$rc" = 2 ]
bundle badasn -c "$CW_TMP/collector.conf" --asn x
cw_check "a bad --asn: exit 2" [ "$rc" = 2 ]
"$COLLECTOR" bundle -c "$CW_TMP/collector.conf" >/dev/null 2>"$CW_TMP/noout.err"
cw_check "no --out: exit 2" [ $? = 2 ]
bundle none -c "$CW_TMP/collector.conf" --name no-such-measurement
cw_check "no record matched: exit 1" [ "$rc" = 1 ]
cw_check "... says so" grep -q "no record matches" "$CW_TMP/none.err"
cw_check "... and writes nothing" nothing_left none
"$COLLECTOR" bundle -c "$CW_TMP/collector.conf" \
    --out "$CW_TMP/no/such/dir/x.tar" >/dev/null 2>"$CW_TMP/nodir.err"
cw_check "an --out in no directory: exit 1" [ $? = 1 ]
cw_check "... and writes nothing" nothing_left "no/such/dir/x"
# Writing fails half-way (a file size limit, its signal ignored: the
# write says EFBIG): exit 1, and neither the file nor its temporary.
(
	trap '' XFSZ
	ulimit -f 16
	exec "$COLLECTOR" bundle -c "$CW_TMP/collector.conf" \
	    --out "$CW_TMP/big.tar"
) >/dev/null 2>"$CW_TMP/big.err"
cw_check "a write that fails half-way: exit 1" [ $? = 1 ] ||
    cat "$CW_TMP/big.err" >&2
cw_check "... says why" grep -q "too large" "$CW_TMP/big.err" ||
    cat "$CW_TMP/big.err" >&2
cw_check "... and leaves nothing" nothing_left big

cw_collector_stop
cw_done
