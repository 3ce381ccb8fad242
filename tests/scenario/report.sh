#!/bin/bash
# report.sh -- `corewatch-collector report` end to end.  Two probes of
# Ukraine, one enrolled under a hostile name, bring signed batches by
# hand (import): a root SOA result of k.root and of a.root each minute
# from 10:00 to 10:09, heartbeats declaring the configuration; k.root
# fails for probe A from 10:02 to 10:04.  A hostile annotation covers
# it.  The report of 10:00-10:20 must parse as HTML, hold the four
# figures, the numbers (40 results, 37 ok), the episode with its
# brackets, the annotation and the probe name escaped (no element of
# theirs), the methodology and the SHA-256 that `export --format jsonl
# | sha256sum` gives; render in headless Chromium without a console
# error (Selenium); print to PDF; write a figure as SVG (well-formed
# XML) and as PNG.  Bad input: a bad --from, from after to, an unknown
# figure, an unwritable --out, a missing Chromium: clear errors and the
# documented exit statuses, no file left behind.
[ -n "${BASH_VERSION:-}" ] || exec bash "$0" "$@"
. "$(dirname "$0")/lib.sh"

MKBATCH="$top_builddir/tests/tools/mkbatch"
[ -x "$COLLECTOR" ] || cw_die "no $COLLECTOR"
[ -x "$MKBATCH" ] || cw_die "no $MKBATCH (make check builds it)"

cw_tmpdir
SEED_A=1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a
SEED_B=2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b
PROBE_A=$("$MKBATCH" id --seed "$SEED_A") || cw_die "mkbatch id failed"
PROBE_B=$("$MKBATCH" id --seed "$SEED_B") || cw_die "mkbatch id failed"
DB=sqlite:$CW_TMP/collector.db
HOSTILE='<img src=x onerror=alert(1)></script>&"'"'"
WINDOW=(--from 2026-11-26T10:00:00Z --to 2026-11-26T10:20:00Z)

# chain PROBE FAILING-MINUTES: the chain's lines.
chain()
{
	/usr/bin/python3 - "$@" <<'EOF'
import hashlib, sys
probe, failing = sys.argv[1], sys.argv[2].split()
dns = ('"type":"dns","time":"2026-11-26T10:%02d:%02dZ","name":"root-soa",'
       '"server":"%s","addr":"%s","port":53,"af":4,"proto":"udp",'
       '"query":{"qname":".","qtype":"SOA"},%s')
ok = '"ok":true,"failure":null,"rtt_ms":%d.5,"rcode":"NOERROR"'
bad = '"ok":false,"failure":"generic_timeout_error","rtt_ms":null'
conf = ('"config":{"hash":"%s","count":1,"omitted":0,"measurements":[{'
        '"name":"root-soa","kind":"dns","interval_ms":60000,'
        '"spread_ms":0,"targets":[{"name":"k.root-servers.net",'
        '"address":"193.0.14.129","port":53},{"name":"a.root-servers.net",'
        '"address":"198.41.0.4","port":53}],"tlds":[],"timeout_ms":4000}]}'
        % ("5e" * 32))
hb = ('"type":"heartbeat","time":"2026-11-26T10:%02d:30Z","identity":'
      '{"name":"n","country":"UA","asn":15895},"queue":0,' + conf)
bodies = []
for m in range(10):
    bodies.append(hb % m)
    bodies.append(dns % (m, 0, "k.root-servers.net", "193.0.14.129",
                         bad if str(m) in failing else ok % (10 + m)))
    bodies.append(dns % (m, 1, "a.root-servers.net", "198.41.0.4",
                         ok % 20))
prev = "0" * 64
for seq, b in enumerate(bodies, 1):
    line = '{"probe":"%s","chain":"%s","seq":%d,"prev":"%s",%s}' % (
        probe, "ab" * 16, seq, prev, b)
    prev = hashlib.sha256(line.encode()).hexdigest()
    print(line)
EOF
}

chain "$PROBE_A" "2 3 4" >"$CW_TMP/a" || cw_die "cannot build chain A"
chain "$PROBE_B" "" >"$CW_TMP/b" || cw_die "cannot build chain B"
: >"$CW_TMP/import"
for p in a b; do
	seed=$SEED_A name=probe-a
	[ "$p" = b ] && seed=$SEED_B name="$HOSTILE"
	"$MKBATCH" sign --seed "$seed" --out "$CW_TMP/$p" \
	    --auth "$CW_TMP/$p.auth" || cw_die "mkbatch sign failed"
	cw_probe_enroll "$DB" "$name" "$("$MKBATCH" pubkey --seed "$seed")"
	sig=$(sed -n 's/.*,sig=//p' "$CW_TMP/$p.auth")
	id=$("$MKBATCH" id --seed "$seed")
	printf 'CW1-BATCH %s %s %s\n' "$id" "$sig" \
	    "$(wc -c <"$CW_TMP/$p")" >>"$CW_TMP/import"
	cat "$CW_TMP/$p" >>"$CW_TMP/import"
done
"$COLLECTOR" import --db "$DB" "$CW_TMP/import" >"$CW_TMP/import.out" 2>&1 ||
    cw_die "import failed: $(cat "$CW_TMP/import.out")"
"$COLLECTOR" annotate add --db "$DB" --from 2026-11-26T10:02:00Z \
    --to 2026-11-26T10:05:00Z --text "uplink cut $HOSTILE" >/dev/null ||
    cw_die "annotate add failed"

report() { "$COLLECTOR" report --db "$DB" "$@" 2>"$CW_TMP/err"; }

cw_check "report writes the page" report "${WINDOW[@]}" \
    --out "$CW_TMP/r.html"
SUM=$("$COLLECTOR" export --db "$DB" --format jsonl "${WINDOW[@]}" |
    sha256sum | cut -d' ' -f1)

# check_page FILE: the page parses and holds what the fixture makes.
check_page()
{
	/usr/bin/python3 - "$1" "$SUM" "$PROBE_A" <<'EOF'
import html.parser, json, re, sys
page, want_sum, probe_a = open(sys.argv[1], encoding="utf-8").read(), \
    sys.argv[2], sys.argv[3]

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.ids, self.text, self.json = [], {}, [], None
        self.cur, self.in_json = None, False
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        self.tags.append(tag)
        if "id" in a:
            self.cur = a["id"]
            self.ids[a["id"]] = ""
        if tag == "script":
            assert a.get("type") == "application/json", a
            self.in_json = True
    def handle_endtag(self, tag):
        if tag == "script":
            self.in_json = False
        self.cur = None
    def handle_data(self, d):
        self.text.append(d)
        if self.in_json:
            self.json = (self.json or "") + d
        elif self.cur is not None:
            self.ids[self.cur] += d

p = P()
p.feed(page)
p.close()
fail = []
def want(cond, what):
    if not cond:
        fail.append(what)
want(p.tags.count("svg") == 4, "four figures: %d" % p.tags.count("svg"))
want(p.tags.count("script") == 1, "one script element (the JSON)")
want("img" not in p.tags, "no img element from hostile text")
want(p.ids.get("results") == "40", "40 results: %r" % p.ids.get("results"))
want(p.ids.get("ok") == "37", "37 ok")
want(p.ids.get("availability") == "92.500\u202f%", "availability 92.5 %")
want(p.ids.get("probes") == "2", "two probes")
want(p.ids.get("sha256") == want_sum, "the export's SHA-256")
text = "".join(p.text)
want("uplink cut <img src=x onerror=alert(1)></script>&\"'" in text,
     "the annotation's text, as text")
want(text.count("<img src=x onerror=alert(1)></script>&\"'") >= 2,
     "the probe's name as text in the evidence too")
want("2026-11-26T10:01:00.000000Z" in text and
     "2026-11-26T10:02:00.000000Z" in text and
     "2026-11-26T10:04:00.000000Z" in text and
     "2026-11-26T10:05:00.000000Z" in text, "the episode's brackets")
want("generic_timeout_error \u00d73" in text, "failures by name")
want("60.000 s" in text and "4.000 s" in text and "5e" * 32 in text,
     "the methodology")
d = json.loads(p.json)
want(d["results"] == 40 and d["ok"] == 37, "JSON: counts")
g = d["availability"][0]
want(g["group"] == "root-soa IPv4/udp", "JSON: the group")
want(sum(g["total"]) == 40 and sum(g["ok"]) == 37, "JSON: the columns")
eps = [e for e in d["episodes"] if not e.get("silence")]
want(len(eps) == 1 and eps[0]["probe"] == probe_a and eps[0]["failures"] == 3,
     "JSON: the episode of probe A: %r" % eps)
want(len(d["annotations"]) == 1 and d["annotations"][0]["number"] == 1,
     "JSON: the annotation")
want(d["sha256"] == want_sum, "JSON: the SHA-256")
for f in fail:
    print("FAIL:", f, file=sys.stderr)
sys.exit(1 if fail else 0)
EOF
}
cw_check "the page parses and holds the fixture's values" \
    check_page "$CW_TMP/r.html"

# browser FILE: headless Chromium loads the page without a console error
# and shows the four figures.
browser()
{
	TMPDIR=$CW_TMP /usr/bin/python3 - "$1" <<'EOF'
import sys
from selenium import webdriver
from selenium.webdriver.common.by import By
o = webdriver.ChromeOptions()
for a in ("--headless=new", "--no-sandbox", "--disable-gpu",
          "--disable-dev-shm-usage"):
    o.add_argument(a)
o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
d = webdriver.Chrome(options=o)
try:
    d.set_page_load_timeout(30)
    d.get("file://" + sys.argv[1])
    n = len(d.find_elements(By.CSS_SELECTOR, "figure svg"))
    logs = [l for l in d.get_log("browser") if l["level"] == "SEVERE"]
    ok = n == 4 and not logs and "case study" in d.title
    if not ok:
        print("figures %d, title %r, errors %r" % (n, d.title, logs),
              file=sys.stderr)
finally:
    d.quit()
sys.exit(0 if ok else 1)
EOF
}
if /usr/bin/python3 -c 'import selenium' 2>/dev/null &&
    command -v chromedriver >/dev/null; then
	cw_check "Chromium renders it, no console error" \
	    browser "$CW_TMP/r.html"
else
	cw_log "skip: no selenium or chromedriver"
fi

if command -v chromium >/dev/null; then
	cw_check "--format pdf" report "${WINDOW[@]}" --format pdf \
	    --out "$CW_TMP/r.pdf"
	cw_check "the PDF starts with %PDF" \
	    [ "$(head -c 4 "$CW_TMP/r.pdf")" = "%PDF" ]
else
	cw_log "skip: no chromium"
fi

cw_check "--list-figures" \
    [ "$("$COLLECTOR" report --list-figures | tr '\n' ' ')" = \
    "availability targets rtt episodes " ]
cw_check "--figure as SVG" report "${WINDOW[@]}" --figure availability \
    --out "$CW_TMP/a.svg"
cw_check "the SVG is well-formed XML with the annotation's mark" \
    /usr/bin/python3 -c '
import sys, xml.etree.ElementTree as E
r = E.parse(sys.argv[1]).getroot()
assert r.tag == "{http://www.w3.org/2000/svg}svg", r.tag
assert any(e.get("data-annotation") == "1" for e in r.iter())' \
    "$CW_TMP/a.svg"
if command -v rsvg-convert >/dev/null; then
	cw_check "--figure as PNG" report "${WINDOW[@]}" --figure rtt \
	    --out "$CW_TMP/r.png"
	cw_check "the PNG has the signature" \
	    [ "$(head -c 8 "$CW_TMP/r.png" | od -An -tx1 | tr -d ' \n')" = \
	    89504e470d0a1a0a ]
else
	cw_log "skip: no rsvg-convert"
fi

# status WANT ARGS...: report ARGS exits WANT, with an error line.
status()
{
	local want=$1
	shift
	report "$@"
	[ $? = "$want" ] && grep -q '^corewatch-collector report: ' "$CW_TMP/err"
}
cw_check "bad --from: 2" status 2 --from yesterday --to \
    2026-11-26T10:20:00Z --out "$CW_TMP/x.html"
cw_check "from after to: 2" status 2 --from 2026-11-26T11:00:00Z \
    --to 2026-11-26T10:00:00Z --out "$CW_TMP/x.html"
cw_check "no --to: 2" status 2 --from 2026-11-26T11:00:00Z \
    --out "$CW_TMP/x.html"
cw_check "unknown figure: 2" status 2 "${WINDOW[@]}" --figure pie \
    --out "$CW_TMP/x.svg"
cw_check "a figure to .html: 2" status 2 "${WINDOW[@]}" --figure rtt \
    --out "$CW_TMP/x.html"
cw_check "bad --format: 2" status 2 "${WINDOW[@]}" --format docx \
    --out "$CW_TMP/x.html"
cw_check "unwritable --out: 1" status 1 "${WINDOW[@]}" \
    --out "$CW_TMP/no/such/dir/r.html"
cw_check "no database: 1" status 1 --db "sqlite:$CW_TMP/none.db" \
    "${WINDOW[@]}" --out "$CW_TMP/x.html"
cw_check "Chromium missing: 1" status 1 "${WINDOW[@]}" --format pdf \
    --chromium /nonexistent/chromium --out "$CW_TMP/x.pdf"
cw_check "... says what to do" grep -q 'install chromium' "$CW_TMP/err"
# A converter that hangs is stopped after --timeout, with what it
# started; one that writes nothing is an error.
cat >"$CW_TMP/hang" <<EOF
#!/bin/sh
sleep 300 &
echo \$! >"$CW_TMP/hang.pid"
wait
EOF
printf '#!/bin/sh\nexit 0\n' >"$CW_TMP/lazy"
chmod +x "$CW_TMP/hang" "$CW_TMP/lazy"
t0=$(date +%s)
cw_check "a hanging Chromium: 1" status 1 "${WINDOW[@]}" --format pdf \
    --chromium "$CW_TMP/hang" --timeout 2 --out "$CW_TMP/x.pdf"
cw_check "... after --timeout" [ $(($(date +%s) - t0)) -lt 30 ]
cw_check "... says so" grep -q 'stopped after 2 s' "$CW_TMP/err"
# gone PID: PID has ended (a zombie counts: PID 1 of a container may
# not reap what it inherits).
gone()
{
	local st
	st=$(ps -o stat= -p "$1")
	[ -z "$st" ] || [ "${st#Z}" != "$st" ]
}
cw_check "... and what it started is gone" gone "$(cat "$CW_TMP/hang.pid")"
cw_check "a converter that writes nothing: 1" status 1 "${WINDOW[@]}" \
    --figure rtt --rsvg-convert "$CW_TMP/lazy" --out "$CW_TMP/x.png"
cw_check "... says so" grep -q 'wrote nothing' "$CW_TMP/err"
cw_check "no private directory left" \
    eval '[ -z "$(ls "${TMPDIR:-/tmp}" | grep "^cw-report\.")" ]'
cw_check "nothing left behind" \
    eval '[ -z "$(ls "$CW_TMP" | grep "^x\.")" ]'
cw_done
