#!/bin/bash
# export_atlas.sh -- reading results back: real DNS results (corewatch dns
# against NSD and the fault responder on loopback: good answers with NSID
# over UDP and TCP, a SERVFAIL, a timeout, a refused port) are signed into
# a chain, posted to `corewatch-collector serve`, and read back with
# `export` and `summary` on the command line and over HTTP
# (/api/v1/results, /api/v1/summary, /api/v1/probes), which must agree
# byte for byte.  The Atlas form is checked two ways: every result with
# /usr/bin/python3 and dnspython (the keys ripe.atlas.sagan's Result and
# DnsResult read; each abuf decoded, its ID and section counts against
# the record's), and end to end with blaeu-resolve (Debian's RIPE Atlas
# tool), pointed at a loopback stand-in for the Atlas API that serves the
# collector's own export.  Also: paging across pages over HTTP, a client
# that leaves mid-stream, bad parameters, and the CLI's exit statuses.
#
# The database is SQLite in the work directory, or the test's own
# PostgreSQL cluster with CW_COLLECTOR_DB=postgresql (export_atlas_pg.sh).
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
BLAEU_RESOLVE=/usr/bin/blaeu-resolve
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"
[ -x "$BLAEU_RESOLVE" ] || cw_die "no $BLAEU_RESOLVE (Debian package blaeu)"
"$COLLECTOR" export --help >/dev/null 2>&1 ||
    cw_die "$COLLECTOR has no export command"

cw_tmpdir
cw_collector_db
DB=$COLLECTOR_DB
SEED=0707070707070707070707070707070707070707070707070707070707070707
CHAIN=0123456789abcdef0123456789abcdef
PROBE=$("$MKBATCH" id --seed "$SEED") || cw_die "mkbatch id failed"
PUBKEY=$("$MKBATCH" pubkey --seed "$SEED") || cw_die "mkbatch pubkey failed"
# The reader here is the operator's researcher, with the read token.
READ_TOKEN=0123456789abcdef-read

# --- results to store --------------------------------------------------------

cw_nsd_start "${CW_TEST_ZONES[@]}"
servers=("127.0.0.1")
[ "$CW_HAVE_V6" = 1 ] && servers+=("::1")
: >"$CW_TMP/results"
# measure NAME ARGS...: corewatch dns, its results tagged with NAME.
measure()
{
	local name=$1
	shift
	"$COREWATCH" dns --timeout 300ms --late-window 0 "$@" \
	    >"$CW_TMP/dns.out" 2>"$CW_TMP/dns.err"
	[ -s "$CW_TMP/dns.out" ] || {
		cat "$CW_TMP/dns.err" >&2
		cw_die "corewatch dns $* printed nothing"
	}
	sed "s/^{/{\"name\":\"$name\",/" "$CW_TMP/dns.out" >>"$CW_TMP/results"
}
measure root-soa --udp --tcp --nsid --port "$NSD_PORT" "${servers[@]}"
measure ua-soa --qname ua. --nsid --port "$NSD_PORT" \
    "ns.ua.test=127.0.0.1"
cw_fault_start servfail "$CW_TMP/fault-servfail"
measure fault-servfail --port "$FAULT_PORT" 127.0.0.1
cw_fault_start silent "$CW_TMP/fault-silent"
measure fault-silent --port "$FAULT_PORT" 127.0.0.1
measure refused --port "$(cw_free_port)" 127.0.0.1
NRESULTS=$(wc -l <"$CW_TMP/results")
cw_log "$NRESULTS results measured"

# The chain: a heartbeat that declares the probe's country and ASN (in
# a batch of its own: the records of later batches carry them), the
# results, then 1100 more copies of the first (the HTTP export then
# takes three pages).
/usr/bin/python3 - "$PROBE" "$CHAIN" "$CW_TMP/results" \
    >"$CW_TMP/body" <<'EOF' || cw_die "cannot build the chain"
import hashlib, sys
probe, chain, path = sys.argv[1:4]
results = [l.rstrip("\n") for l in open(path)]
bodies = ['"type":"heartbeat","time":"%s","identity":{"country":"UA",'
          '"asn":64500}' % "2026-11-26T10:00:00Z"]
bodies += [r[1:-1] for r in results]
bodies += ['"name":"bulk",' + results[0][1:-1].split(",", 1)[1]] * 1100
prev = "0" * 64
out = []
for seq, b in enumerate(bodies, 1):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, chain, seq, prev, b)
    prev = hashlib.sha256(line.encode()).hexdigest()
    out.append(line)
sys.stdout.write("\n".join(out) + "\n")
EOF
head -n 1 "$CW_TMP/body" >"$CW_TMP/body1"
tail -n +2 "$CW_TMP/body" >"$CW_TMP/body2"
for b in body1 body2; do
	"$MKBATCH" sign --seed "$SEED" --out "$CW_TMP/$b" \
	    --auth "$CW_TMP/$b.auth" || cw_die "mkbatch sign failed"
done
NRECORDS=$(wc -l <"$CW_TMP/body")

# --- the collector -----------------------------------------------------------

cw_probe_enroll "$DB" kyiv-1 "$PUBKEY"
cat >"$CW_TMP/collector.conf" <<EOF
db = "$DB"
timeout = 3s
log_level = debug
read_token = "$READ_TOKEN"
EOF
cw_collector_start "$CW_TMP/collector.log" -c "$CW_TMP/collector.conf"

# The wall clock before and after each post: the CSV's received_at of
# each batch lies between them.
: >"$CW_TMP/posted"
for b in body1 body2; do
	before=$(date -u +%s%6N)
	status=$(curl -sS -o "$CW_TMP/receipt" -w '%{http_code}' \
	    --max-time 30 -H "Content-Type: application/x-ndjson" \
	    -H "Authorization: $(cat "$CW_TMP/$b.auth")" \
	    --data-binary "@$CW_TMP/$b" "$COLLECTOR_URL/api/v1/batches")
	cw_check "batch $b is stored" [ "$status" = 200 ] ||
	    cw_die "batch: $status $(cat "$CW_TMP/receipt")"
	echo "$b $before $(date -u +%s%6N)" >>"$CW_TMP/posted"
done

# get PATH OUT: GET $COLLECTOR_URL$PATH into OUT; STATUS: the HTTP status.
get()
{
	STATUS=$(curl -sS -o "$2" -D "$2.headers" -w '%{http_code}' \
	    --max-time 30 -H "Authorization: Bearer $READ_TOKEN" \
	    "$COLLECTOR_URL$1" 2>"$CW_TMP/curl.err")
}

# --- exports: command line and HTTP agree ------------------------------------

for fmt in jsonl csv atlas; do
	"$COLLECTOR" export --db "$DB" --format "$fmt" \
	    --out "$CW_TMP/cli.$fmt"
	cw_check "export --format $fmt exits 0" [ $? = 0 ]
	get "/api/v1/results?format=$fmt" "$CW_TMP/http.$fmt"
	cw_check "GET results format=$fmt: 200" [ "$STATUS" = 200 ]
	cw_check "format=$fmt: HTTP and CLI byte for byte" \
	    cmp "$CW_TMP/cli.$fmt" "$CW_TMP/http.$fmt"
done
cw_check "jsonl is the records as posted" cmp "$CW_TMP/body" "$CW_TMP/cli.jsonl"
cw_check "the HTTP export was chunked (three pages)" \
    grep -qi '^transfer-encoding: chunked' "$CW_TMP/http.jsonl.headers"
cw_check "csv: Content-Type" \
    grep -qi '^content-type: text/csv; charset=utf-8; header=present' \
    "$CW_TMP/http.csv.headers"
"$COLLECTOR" export --db "$DB" --format csv >"$CW_TMP/stdout.csv"
cw_check "export to stdout: the same bytes" \
    cmp "$CW_TMP/stdout.csv" "$CW_TMP/cli.csv"
cw_check "csv: a header and one row per record" \
    [ "$(wc -l <"$CW_TMP/cli.csv")" = $((NRECORDS + 1)) ]

# Every column of every row against the record it comes from: the
# header is the table of doc/export.md, in its order; each field is
# what that table says it holds, from the record (jsonl: the bytes as
# posted), the probe list (probe_num), the Atlas export (msm, its
# msm_id) and the clock around each post (received_at).  Two columns
# swapped, dropped or shifted fail here.
"$COLLECTOR" probe list --db "$DB" --json >"$CW_TMP/probelist" ||
    cw_die "probe list failed"
/usr/bin/python3 - "$CW_TMP/cli.csv" "$CW_TMP/cli.jsonl" "$CW_TMP/cli.atlas" \
    "$CW_TMP/probelist" "$CW_TMP/posted" \
    "$CW_SCENARIO_DIR/../../doc/export.md" "$CW_TMP" <<'EOF'
import csv, datetime, io, json, math, re, sys
csv_path, jsonl, atlas_path, probes, posted, doc, tmp = sys.argv[1:8]

# The documented header: the rows of the csv table of doc/export.md
# ("`qname`, `qtype`" is two columns).
text = open(doc).read()
table = text[text.index("### `csv`"):text.index("### `atlas`")]
doc_cols = []
for line in table.splitlines():
    m = re.match(r"\| ((?:`\w+`(?:, )?)+) \|", line)
    if m:
        doc_cols += re.findall(r"`(\w+)`", m.group(1))
assert len(doc_cols) == 32, doc_cols

raw = open(csv_path, "rb").read()
assert raw.endswith(b"\r\n"), "the last line does not end in CRLF"
assert b"\n" not in raw.replace(b"\r\n", b""), "a line not ended by CRLF"
rows = list(csv.reader(io.StringIO(raw.decode(), newline="")))
assert rows[0] == doc_cols, ("header", rows[0], doc_cols)
rows = rows[1:]
records = [json.loads(l) for l in open(jsonl)]
assert len(rows) == len(records) > 1, (len(rows), len(records))

nums = {}
for l in open(probes):
    p = json.loads(l)
    nums[p["id"]] = p["num"]
# The Atlas export holds the DNS results with an address, in order.
atlas = [json.loads(l) for l in open(atlas_path)]
with_addr = [r for r in records if r["type"] == "dns" and "addr" in r]
assert len(atlas) == len(with_addr)
msm_of = {(r["chain"], r["seq"]): a["msm_id"] for r, a in zip(with_addr, atlas)}

# The seqs of each batch and the clock (µs) before and after its post.
window, batch_of = {}, {}
for l in open(posted):
    name, before, after = l.split()
    window[name] = (int(before), int(after))
    for rec in open("%s/%s" % (tmp, name)):
        batch_of[json.loads(rec)["seq"]] = name

def usec(t):
    m = re.fullmatch(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?Z", t)
    assert m, t
    d = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S")
    d = d.replace(tzinfo=datetime.timezone.utc)
    return int(d.timestamp()) * 10**6 + int((m.group(2) or "").ljust(6, "0"))

def utc(us):
    d = datetime.datetime.fromtimestamp(us // 10**6, datetime.timezone.utc)
    return d.strftime("%Y-%m-%dT%H:%M:%S") + ".%06dZ" % (us % 10**6)

def text(v):
    # Absent (or null) is empty; the formula guard of doc/export.md.
    if v is None:
        return ""
    return "'" + v if v[:1] in ("=", "+", "-", "@", "\t", "\r") else v

def num(v):
    return "" if v is None else str(v)

def ms(v):
    if v is None:
        return ""
    us = math.floor(v * 1000 + 0.5)
    return "%d.%03d" % (us // 1000, us % 1000)

def okv(v):
    return "" if v is None else "true" if v else "false"

def words(v):
    # TXT strings joined by spaces, a space inside one written \032.
    return "" if not v else text(" ".join(w.replace(" ", "\\032")
                                          for w in v))

received, msms = {}, {}
for row, r in zip(rows, records):
    q = r.get("query", {})
    got = dict(zip(doc_cols, row))
    assert len(row) == len(doc_cols), ("fields", r["seq"], row)
    want = {
        "probe": r["probe"], "probe_num": str(nums[r["probe"]]),
        "chain": r["chain"], "seq": str(r["seq"]),
        "time": utc(usec(r["time"])), "type": r["type"],
        "name": text(r.get("name")), "server": text(r.get("server")),
        "addr": text(r.get("addr")), "port": num(r.get("port")),
        "af": num(r.get("af")), "proto": text(r.get("proto")),
        "qname": text(q.get("qname")), "qtype": text(q.get("qtype")),
        "ok": okv(r.get("ok")), "failure": text(r.get("failure")),
        "rtt_ms": ms(r.get("rtt_ms")), "rcode": text(r.get("rcode")),
        "nsid": text(r.get("nsid")), "soa_serial": num(r.get("soa_serial")),
        # Every record of this chain follows (or is) the heartbeat that
        # declared them.
        "country": "UA", "asn": "64500",
        # The evidence columns, appended: DNS and HTTP records only.
        "failure_detail": "", "txt": "", "late_count": "",
        "late_differ": "", "truncated": "", "tcp_fallback": "",
        "attempts": "", "http_status": "",
    }
    if r["type"] in ("dns", "http"):
        dns = r["type"] == "dns"
        late = r.get("late_replies", {})
        want.update({
            "failure_detail": text(r.get("failure_detail")),
            "txt": words(r.get("txt")),
            "late_count": num(late.get("count")),
            "late_differ": okv(late.get("differ")),
            "truncated": okv(r.get("truncated" if dns
                                   else "body_truncated")),
            "tcp_fallback": okv("truncated_reply" in r) if dns else "",
            "attempts": num(r.get("attempts")),
            "http_status": "" if dns else num(r.get("status")),
        })
    # msm: one number per (type, name), the Atlas msm_id where the
    # record has an Atlas form; none for a record without a name.
    if "name" in r:
        assert re.fullmatch(r"[1-9][0-9]*", got["msm"]), got["msm"]
        assert msms.setdefault((r["type"], r["name"]), got["msm"]) == \
            got["msm"], (r["seq"], got["msm"])
        if (r["chain"], r["seq"]) in msm_of:
            assert got["msm"] == str(msm_of[r["chain"], r["seq"]]), r["seq"]
        want["msm"] = got["msm"]
    else:
        want["msm"] = ""
    # received_at: one time per batch, within the clock around its post.
    b = batch_of[r["seq"]]
    t = usec(got["received_at"])
    assert got["received_at"] == utc(t), got["received_at"]
    assert window[b][0] <= t <= window[b][1], (b, got["received_at"], window[b])
    assert received.setdefault(b, t) == t, (r["seq"], got["received_at"])
    want["received_at"] = got["received_at"]
    assert set(want) == set(doc_cols), set(doc_cols) ^ set(want)
    bad = [(c, got[c], want[c]) for c in doc_cols if got[c] != want[c]]
    assert not bad, ("seq", r["seq"], bad)
assert len(set(msms.values())) == len(msms), msms
assert received["body1"] <= received["body2"]

# And what the data must hold, so that the columns above are not empty.
named = {}
for row in rows:
    named.setdefault(row[doc_cols.index("name")], []).append(
        dict(zip(doc_cols, row)))
root, sf = named["root-soa"], named["fault-servfail"]
assert all(x["nsid"] and x["rcode"] == "NOERROR" and x["ok"] == "true" and
           x["soa_serial"] and x["rtt_ms"] for x in root), root
assert {x["proto"] for x in root} == {"udp", "tcp"}
assert sf[0]["rcode"] == "SERVFAIL" and sf[0]["ok"] == "false"
assert named["ua-soa"][0]["server"] == "ns.ua.test"
assert all(x["attempts"] and x["tcp_fallback"] == "false" for x in root)
assert all(x["late_count"] == "0" and x["late_differ"] == "false"
           for x in root)
assert named["fault-silent"][0]["failure_detail"].startswith(
    "no reply within"), named["fault-silent"]
assert named["refused"][0]["failure_detail"], named["refused"]
print("csv: %d rows x %d columns checked" % (len(rows), len(doc_cols)))
EOF
cw_check "csv: the documented header, every column of every row as its record" \
    [ $? = 0 ]
/usr/bin/python3 - "$CW_TMP/cli.csv" "$NSD_NSID" <<'EOF'
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1], newline="")))
hb = [r for r in rows if r["type"] == "heartbeat"]
assert len(hb) == 1, hb
root = [r for r in rows if r["name"] == "root-soa"]
assert root and all(r["nsid"] == sys.argv[2] for r in root), root
EOF
cw_check "csv: one heartbeat, the root SOAs with NSD's NSID" [ $? = 0 ]

# Filters over HTTP, and what a bad request gets.
get "/api/v1/results?type=heartbeat" "$CW_TMP/hb"
cw_check "type=heartbeat: one record" [ "$(wc -l <"$CW_TMP/hb")" = 1 ]
get "/api/v1/results?format=csv&name=root-soa&country=ua&asn=64500" \
    "$CW_TMP/root.csv"
cw_check "name, country, asn filters" \
    [ "$(grep -c root-soa "$CW_TMP/root.csv")" = \
    "$(grep -c '"name":"root-soa"' "$CW_TMP/body")" ]
get "/api/v1/results?format=xml" "$CW_TMP/bad"
cw_check "format=xml: 400" [ "$STATUS" = 400 ]
cw_check "format=xml: a JSON error" \
    jq -e '.error == "bad_request" and (.detail | test("format"))' \
    "$CW_TMP/bad" >/dev/null
get "/api/v1/results?from=yesterday" "$CW_TMP/bad"
cw_check "from=yesterday: 400" [ "$STATUS" = 400 ]
get "/api/v1/results?colour=blue" "$CW_TMP/bad"
cw_check "an unknown parameter: 400" [ "$STATUS" = 400 ]
STATUS=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -X POST \
    -H "Authorization: Bearer $READ_TOKEN" "$COLLECTOR_URL/api/v1/results")
cw_check "POST results: 405" [ "$STATUS" = 405 ]

# --- the Atlas form, checked against what sagan reads ------------------------

/usr/bin/python3 - "$CW_TMP/body" "$CW_TMP/cli.atlas" <<'EOF'
import base64, json, struct, sys
import dns.message, dns.edns, dns.rdatatype
records = [json.loads(l) for l in open(sys.argv[1])]
atlas = [json.loads(l) for l in open(sys.argv[2])]
dns_recs = [r for r in records if r["type"] == "dns" and "addr" in r]
assert len(atlas) == len(dns_recs), (len(atlas), len(dns_recs))
msm = {}
for a, r in zip(atlas, dns_recs):
    # The keys ripe.atlas.sagan's Result requires, and their types.
    for k in ("timestamp", "msm_id", "prb_id", "fw", "type"):
        assert k in a, (k, a)
    assert a["type"] == "dns" and a["msm_name"] == "Tdig"
    assert isinstance(a["fw"], int) and a["fw"] >= 4460  # af, not pf
    assert isinstance(a["prb_id"], int) and a["prb_id"] == 1
    assert isinstance(a["msm_id"], int) and a["msm_id"] > 0
    assert a["group_id"] == a["msm_id"]
    assert msm.setdefault(r["name"], a["msm_id"]) == a["msm_id"]
    assert a["from"] == "" and "src_addr" not in a, "a client address"
    secs = a["timestamp"]
    assert isinstance(secs, int)
    import calendar, time
    t = r["time"]
    want = calendar.timegm(time.strptime(t[:19], "%Y-%m-%dT%H:%M:%S"))
    assert secs == want, (secs, t)
    assert a["af"] == r["af"] and a["dst_addr"] == r["addr"]
    assert a["dst_name"] == r.get("server", r["addr"])
    assert a["proto"] == r["proto"].upper() and a["proto"] in ("UDP", "TCP")
    if "rcode" in r:
        res = a["result"]
        assert "error" not in a
        assert isinstance(res["rt"], float) or isinstance(res["rt"], int)
        assert abs(res["rt"] - r["rtt_ms"]) < 1e-9
        wire = base64.b64decode(res["abuf"], validate=True)
        assert res["abuf"] == r["abuf"]
        assert res["size"] == len(wire) == r["size"]
        ident, _, qd, an, ns, ar = struct.unpack("!HHHHHH", wire[:12])
        assert ident == res["ID"] == r["query"]["id"], (ident, res["ID"])
        assert (qd, an, ns, ar) == (res["QDCOUNT"], res["ANCOUNT"],
                                    res["NSCOUNT"], res["ARCOUNT"])
        c = r["counts"]
        assert (qd, an, ns, ar) == (c["qd"], c["an"], c["ns"], c["ar"])
        m = dns.message.from_wire(wire)
        assert m.id == ident
        if r["name"] in ("root-soa", "bulk"):
            soa = [rd for rs in m.answer for rd in rs
                   if rd.rdtype == dns.rdatatype.SOA]
            assert soa and soa[0].serial == r["soa_serial"]
            nsid = [o for o in m.options if o.otype == dns.edns.NSID]
            assert nsid, "no NSID in abuf"
    else:
        assert "result" not in a
        err = a["error"]
        if r["failure"] == "generic_timeout_error":
            assert err == {"timeout": 300}, err
        else:
            assert list(err) == ["socket"], err
            assert err["socket"].startswith(r["failure"] + ": "), err
    # The evidence Atlas has no key for, under "corewatch"; "retry"
    # counts the attempts after the first.
    cw = a["corewatch"]
    assert a["retry"] == r["attempts"] - 1, (a.get("retry"), r["attempts"])
    assert cw["attempts"] == r["attempts"]
    assert cw.get("failure") == r.get("failure")
    assert cw.get("failure_detail") == r.get("failure_detail")
    assert cw["tcp_fallback"] == ("truncated_reply" in r)
    assert cw.get("truncated") == r.get("truncated")
    late = r.get("late_replies")
    assert cw.get("late_replies") == (None if late is None else
        {"count": late["count"], "differ": late["differ"]})
    assert cw.get("txt") == r.get("txt")
print("%d Atlas results checked" % len(atlas))
EOF
cw_check "atlas: sagan's keys, abufs decoded, IDs and counts match" [ $? = 0 ]

# --- blaeu-resolve reads the collector's Atlas results -----------------------
# A stand-in for the Atlas API on loopback: the measurement's metadata,
# and its results, which it takes from the collector's
# /api/v1/results?format=atlas as it is asked.
ROOT_MSM=$(jq -s '[.[] | select(.type == "dns" and .dst_name != null)] |
    .[0].msm_id' "$CW_TMP/cli.atlas")
NROOT=$(grep -c '"name":"root-soa"' "$CW_TMP/body")
cat >"$CW_TMP/atlas_api.py" <<'EOF'
import http.server, json, sys, urllib.request
collector, portfile, token = sys.argv[1], sys.argv[2], sys.argv[3]

class Api(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        parts = self.path.split("?")[0].strip("/").split("/")
        # api/v2/measurements/<id>/ or .../<id>/results/
        if len(parts) < 4 or parts[:3] != ["api", "v2", "measurements"]:
            self.send_error(404)
            return
        msm = int(parts[3])
        req = urllib.request.Request(collector +
                                     "/api/v1/results?format=atlas",
                                     headers={"Authorization":
                                              "Bearer " + token})
        with urllib.request.urlopen(req) as r:
            rows = [json.loads(l) for l in r.read().decode().splitlines()]
        rows = [x for x in rows if x["msm_id"] == msm]
        if not rows:
            self.send_error(404)
            return
        if len(parts) > 4 and parts[4] == "results":
            body = rows
        else:
            body = {"id": msm, "status": {"name": "Stopped"},
                    "probes": [{"id": p} for p in
                               sorted({x["prb_id"] for x in rows})],
                    "start_time": min(x["timestamp"] for x in rows),
                    "description": "corewatch export", "interval": 300}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass

srv = http.server.HTTPServer(("127.0.0.1", 0), Api)
with open(portfile, "w") as f:
    f.write("%d\n" % srv.server_address[1])
srv.timeout = 1
for _ in range(600):	# at most ten minutes
    srv.handle_request()
EOF
: >"$CW_TMP/api.port"
cw_spawn "$CW_TMP/atlas_api.log" /usr/bin/python3 "$CW_TMP/atlas_api.py" \
    "$COLLECTOR_URL" "$CW_TMP/api.port" "$READ_TOKEN"
for ((i = 0; i < 100; i++)); do
	[ -s "$CW_TMP/api.port" ] && break
	sleep 0.1
done
read -r API_PORT <"$CW_TMP/api.port" ||
    cw_die "the Atlas stand-in did not start"
mkdir -p "$CW_TMP/home/.atlas" &&
    echo "no-key-needed" >"$CW_TMP/home/.atlas/auth"
# blaeu's API address is a constant of its module: set it, then run the
# tool itself.
HOME="$CW_TMP/home" timeout 60 /usr/bin/python3 - "$API_PORT" "$ROOT_MSM" \
    >"$CW_TMP/blaeu.out" 2>"$CW_TMP/blaeu.err" <<'EOF'
import runpy, sys
import Blaeu
Blaeu.base_url = "http://127.0.0.1:%s/api/v2/measurements" % sys.argv[1]
sys.argv = ["blaeu-resolve", "--measurement-ID", sys.argv[2], "--type",
            "SOA", "--nsid", "--severalperprobe", "--displayrtt", "."]
runpy.run_path("/usr/bin/blaeu-resolve", run_name="__main__")
EOF
blaeu_status=$?
cat "$CW_TMP/blaeu.out" "$CW_TMP/blaeu.err" >&2
cw_check "blaeu-resolve ran" [ "$blaeu_status" = 0 ]
cw_check "blaeu-resolve decoded every root SOA abuf (serial, NSID)" \
    grep -Eq \
    "^\[NSID: $NSD_NSID; .* $CW_SERIAL_ROOT .*\] : $NROOT occurrences" \
    "$CW_TMP/blaeu.out"
SILENT_MSM=$(jq -s '[.[] | select(.error.timeout != null)] | .[0].msm_id' \
    "$CW_TMP/cli.atlas")
HOME="$CW_TMP/home" timeout 60 /usr/bin/python3 - "$API_PORT" "$SILENT_MSM" \
    >"$CW_TMP/blaeu2.out" 2>&1 <<'EOF'
import runpy, sys
import Blaeu
Blaeu.base_url = "http://127.0.0.1:%s/api/v2/measurements" % sys.argv[1]
sys.argv = ["blaeu-resolve", "--measurement-ID", sys.argv[2],
            "--severalperprobe", "."]
runpy.run_path("/usr/bin/blaeu-resolve", run_name="__main__")
EOF
cat "$CW_TMP/blaeu2.out" >&2
cw_check "blaeu-resolve reads a timeout as a timeout" \
    grep -q '^\[TIMEOUT\] : 1 occurrences' "$CW_TMP/blaeu2.out"

# --- summary and probes ------------------------------------------------------

for fmt in json csv; do
	"$COLLECTOR" summary --db "$DB" --bucket 1d --format "$fmt" \
	    >"$CW_TMP/summary.$fmt"
	cw_check "summary --format $fmt exits 0" [ $? = 0 ]
	get "/api/v1/summary?bucket=1d&format=$fmt" "$CW_TMP/hsummary.$fmt"
	cw_check "GET summary format=$fmt: 200" [ "$STATUS" = 200 ]
	cw_check "summary format=$fmt: HTTP and CLI agree" \
	    cmp "$CW_TMP/summary.$fmt" "$CW_TMP/hsummary.$fmt"
done
# NSD over UDP on 127.0.0.1 is one target: the root and ua. SOAs and
# the bulk copies of the first root result, all answered, with NSD's
# NSID.
NUDP=$(jq -s --argjson port "$NSD_PORT" '[.[] | select(.type == "dns" and
    .addr == "127.0.0.1" and .port == $port and .proto == "udp")] |
    length' "$CW_TMP/body")
cw_check "the body holds $NUDP UDP results of NSD on 127.0.0.1" \
    [ "$NUDP" -gt 1100 ]
# One target per measurement name (bulk, root-soa, ua-soa): their
# measurements add up to every UDP result of NSD there.
cw_check "summary: NSD's targets on 127.0.0.1 over UDP, 100 % with the NSID" \
    jq -e --arg nsid "$NSD_NSID" --argjson port "$NSD_PORT" \
    --argjson n "$NUDP" '[.targets[] | select(.addr == "127.0.0.1" and
    .port == $port and .proto == "udp")] | length == 3 and
    ([.[].name] == ["bulk", "root-soa", "ua-soa"]) and
    ([.[].measurements] | add) == $n and all(.[];
    .type == "dns" and .af == 4 and .host == null and
    .successes == .measurements and
    .availability_pct == 100 and .nsids == [$nsid] and
    .soa_measurements == .measurements and .soa_behind == 0 and
    .rtt_median_ms > 0)' "$CW_TMP/summary.json" >/dev/null
cw_check "summary: the silent server and the closed port, 0 % each" \
    jq -e '[.targets[] | select(.availability_pct == 0)] | length >= 2' \
    "$CW_TMP/summary.json" >/dev/null
for b in 90s 0m 1w; do
	get "/api/v1/summary?bucket=$b" "$CW_TMP/bad"
	cw_check "bucket=$b: 400" [ "$STATUS" = 400 ]
done
get "/api/v1/summary?bucket=1m" "$CW_TMP/minute.json"
cw_check "bucket=1m: 200" [ "$STATUS" = 200 ]
"$COLLECTOR" summary --db "$DB" --bucket 1m >"$CW_TMP/cli-minute.json"
cw_check "summary --bucket 1m: exit 0" [ $? = 0 ]
cw_check "bucket 1m: HTTP and CLI agree" \
    cmp "$CW_TMP/minute.json" "$CW_TMP/cli-minute.json"
cw_check "bucket 1m: every bucket one minute long, on a minute" \
    jq -se 'length > 0 and all(.[]; (.start[0:19] + "Z" |
    fromdateiso8601) as $s | $s % 60 == 0 and (.end[0:19] + "Z" |
    fromdateiso8601) - $s == 60)' "$CW_TMP/minute.json" >/dev/null
get "/api/v1/probes" "$CW_TMP/probes"
cw_check "probes: the probe with its declared identity" \
    jq -e --arg id "$PROBE" '.probes | length == 1 and .[0].id == $id and
    .[0].num == 1 and .[0].country == "UA" and .[0].asn == 64500 and
    .[0].last_heartbeat.identity.asn == 64500 and .[0].last_seen != null' \
    "$CW_TMP/probes" >/dev/null

# -c FILE: the database of a configuration, as for every other database
# command; --db, when given too, wins.
printf 'db = "%s"\n' "$DB" >"$CW_TMP/collector-c.conf"
"$COLLECTOR" export -c "$CW_TMP/collector-c.conf" --format csv \
    >"$CW_TMP/c.csv" 2>"$CW_TMP/c.err"
cw_check "export -c FILE: exit 0" [ $? = 0 ] || cat "$CW_TMP/c.err" >&2
cw_check "export -c FILE: the configuration's database" \
    cmp "$CW_TMP/c.csv" "$CW_TMP/cli.csv"
"$COLLECTOR" summary --config "$CW_TMP/collector-c.conf" --bucket 1d \
    --format json >"$CW_TMP/c.summary.json" 2>"$CW_TMP/c.err"
cw_check "summary --config FILE: exit 0" [ $? = 0 ] || cat "$CW_TMP/c.err" >&2
cw_check "summary --config FILE: the configuration's database" \
    cmp "$CW_TMP/c.summary.json" "$CW_TMP/summary.json"

# --- the command line's checks -----------------------------------------------

# usage STATUS MESSAGE ARGS...: `$COLLECTOR ARGS...` exits STATUS,
# prints nothing on stdout and on stderr exactly one line:
# "corewatch-collector COMMAND: MESSAGE".
usage()
{
	local want=$1 text=$2 msg="corewatch-collector $3: $2" got
	shift 2
	"$COLLECTOR" "$@" >"$CW_TMP/usage.out" 2>"$CW_TMP/usage.err"
	got=$?
	cw_check "$* exits $want ($got)" [ "$got" = "$want" ]
	cw_check "$*: nothing on stdout" [ ! -s "$CW_TMP/usage.out" ]
	cw_check "$*: says \"$text\"" \
	    [ "$(cat "$CW_TMP/usage.err")" = "$msg" ] ||
	    cat "$CW_TMP/usage.err" >&2
}
usage 2 "--format jsonl|csv|atlas is required" export --db "$DB"
"$COLLECTOR" export -c "$CW_TMP/missing.conf" --format csv \
    >"$CW_TMP/usage.out" 2>"$CW_TMP/usage.err"
cw_check "export -c with a missing file: exit 2" [ $? = 2 ]
cw_check "export -c with a missing file: says so" \
    grep -q "missing.conf: No such file" "$CW_TMP/usage.err"
usage 2 "-c needs a value (try --help)" summary -c
usage 2 '--format: "xml" is not jsonl, csv or atlas' \
    export --db "$DB" --format xml
notime='is not a UTC time (YYYY-MM-DDTHH:MM:SS[.uuuuuu]Z)'
usage 2 "--from: \"yesterday\" $notime" \
    export --db "$DB" --format csv --from yesterday
usage 2 "--to: \"2026-11-26\" $notime" \
    export --db "$DB" --format csv --to 2026-11-26
usage 2 '--country: "UKR" is not a two-letter country code' \
    export --db "$DB" --format csv --country UKR
usage 2 '--country: "1A" is not a two-letter country code' \
    export --db "$DB" --format csv --country 1A
usage 2 '--asn: "AS64500" is not an AS number (0 to 4294967295)' \
    export --db "$DB" --format csv --asn AS64500
usage 2 '--asn: "4294967296" is not an AS number (0 to 4294967295)' \
    export --db "$DB" --format csv --asn 4294967296
usage 2 '--addr: "example.org" is not an IPv4 or IPv6 address' \
    export --db "$DB" --format csv --addr example.org
noprobe='is neither a probe id (32 hex digits) nor a probe number'
usage 2 "--probe: \"xyz\" $noprobe" \
    export --db "$DB" --format csv --probe xyz
usage 2 "from must be before to" \
    export --db "$DB" --format csv --from 2026-11-26T10:00:00Z \
    --to 2026-11-26T09:00:00Z
usage 2 "unknown option --bogus (try --help)" \
    export --db "$DB" --format csv --bogus
usage 2 'unexpected argument "extra" (try --help)' \
    export --db "$DB" --format csv extra
rule="a whole number of minutes up to 366 days (1m, 7m, 1h, 1d, 120s)"
usage 2 "--bucket: \"90s\" is not $rule" summary --db "$DB" --bucket 90s
usage 2 "--bucket: \"0m\" is not $rule" summary --db "$DB" --bucket 0m
usage 2 '--format: "atlas" is not json or csv' \
    summary --db "$DB" --format atlas
usage 1 "$CW_TMP/missing.db: No such file or directory" \
    export --db "sqlite:$CW_TMP/missing.db" --format csv
usage 1 "$CW_TMP/missing.db: No such file or directory" \
    export -c "$CW_TMP/collector-c.conf" \
    --db "sqlite:$CW_TMP/missing.db" --format csv
cw_check "a missing database file is not created" \
    [ ! -e "$CW_TMP/missing.db" ]
usage 1 "$CW_TMP/no/such/dir/x.csv.tmp: No such file or directory" \
    export --db "$DB" --format csv --out "$CW_TMP/no/such/dir/x.csv"
# --addr in another spelling of ::1 finds the IPv6 results: there are
# some when ::1 is usable here (root-soa measured it over UDP and TCP).
"$COLLECTOR" export --db "$DB" --format jsonl --type dns \
    --addr 0:0:0:0:0:0:0:1 >"$CW_TMP/v6.jsonl"
cw_check "export --addr 0:0:0:0:0:0:0:1: exit 0" [ $? = 0 ]
if [ "$CW_HAVE_V6" = 1 ]; then
	NV6=$(grep -c '"addr":"::1"' "$CW_TMP/body")
	cw_check "the body holds $NV6 results of ::1" [ "$NV6" -ge 2 ]
	cw_check "--addr takes any spelling of an address" \
	    [ "$(wc -l <"$CW_TMP/v6.jsonl")" = "$NV6" ]
	cw_check "--addr 0:0:0:0:0:0:0:1: only the records of ::1" \
	    jq -e -s 'length > 0 and all(.addr == "::1")' "$CW_TMP/v6.jsonl" \
	    >/dev/null
else
	cw_log "SKIP: --addr in another spelling of ::1: ::1 is not usable" \
	    "here, so nothing was measured over IPv6"
fi

# --- a client that leaves mid-stream (last: it adds records) ----------------

# A client that leaves in the middle of a stream (a small receive
# window; closed with data unread: a reset), then a whole export.  The
# stream is of another probe's 12,000 records (about 10 MB), more than
# the kernel's socket buffers hold, so that the collector is still
# sending when the client goes.
BIG_SEED=0909090909090909090909090909090909090909090909090909090909090909
cw_probe_enroll "$DB" big "$("$MKBATCH" pubkey --seed "$BIG_SEED")"
BIG=$("$MKBATCH" id --seed "$BIG_SEED")
prev=
for ((b = 0; b < 12; b++)); do
	prev=$("$MKBATCH" batch --seed "$BIG_SEED" --chain "$CHAIN" \
	    --from $((b * 1000 + 1)) --count 1000 ${prev:+--prev "$prev"} \
	    --out "$CW_TMP/big.body" --auth "$CW_TMP/big.auth") ||
	    cw_die "mkbatch big failed"
	status=$(curl -sS -o "$CW_TMP/receipt" -w '%{http_code}' \
	    --max-time 30 -H "Content-Type: application/x-ndjson" \
	    -H "Authorization: $(cat "$CW_TMP/big.auth")" \
	    --data-binary "@$CW_TMP/big.body" "$COLLECTOR_URL/api/v1/batches")
	[ "$status" = 200 ] || cw_die "big batch $b: $status"
done
cw_check "a client that leaves mid-stream got the start of a 200 stream" \
    /usr/bin/python3 - "$COLLECTOR_PORT" "$BIG" "$READ_TOKEN" <<'EOF'
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(10)
s.connect(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /api/v1/results?probe=" + sys.argv[2].encode() +
          b" HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " +
          sys.argv[3].encode() + b"\r\n\r\n")
got = b""
while len(got) < 2000:
    data = s.recv(1000)
    if not data:
        break
    got += data
s.close()
# It left with most of the stream unread; what it read must be the
# start of a real answer, or it proved nothing.
sys.exit(0 if got.startswith(b"HTTP/1.1 200 ") and len(got) >= 2000
         else 1)
EOF
get "/api/v1/results?probe=$PROBE" "$CW_TMP/again.jsonl"
cw_check "after a client left mid-stream: the whole export again" \
    cmp "$CW_TMP/again.jsonl" "$CW_TMP/body"
for ((i = 0; i < 50; i++)); do
	grep -q "a client left before the end" "$CW_TMP/collector.log" && break
	sleep 0.1
done
cw_check "the collector saw the client go and let its stream go" \
    grep -q "a client left before the end" "$CW_TMP/collector.log"

# --- a clean stop ------------------------------------------------------------

cw_collector_stop
cw_check "the collector stops cleanly on SIGTERM" [ "$CW_STATUS" = 0 ]
cw_done
