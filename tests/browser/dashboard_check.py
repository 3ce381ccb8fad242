#!/usr/bin/python3
"""dashboard_check.py -- the checks of tests/scenario/dashboard.sh, made
through corewatch-collector's dashboard in headless chromium (the Browser
of dashboard_shots.py): what the page shows, read from its tables, from
its Chart.js charts' data and from its heatmap's cells
(window.cwDashboard.heatmap), against the fixture dashboard.sh loads
(its header says what the fixture holds).  The heatmap's hover, click
and keyboard are real pointer and key events at a cell's place on the
page.

    dashboard_check.py --url URL --token T --base EPOCH --probe-a ID
        --probe-b ID --shots DIR --results FILE
    dashboard_check.py --url URL --closed --collector-pid PID
        --shots DIR --results FILE
    dashboard_check.py --url URL --token T --many N --many-addr ADDR
        --shots DIR --results FILE

Writes one line per check to FILE, "ok NAME" or "FAIL NAME: why", and
"ok finished" last when it got to the end.  --closed: a collector whose
API is closed to anonymous readers (no public_read): the page shows the
401, then, once PID (the test's collector) is stopped, that the API
cannot be reached; with no console error but those network errors.
--many: a collector of N probes (more than 20) measuring target ADDR
(and another) every 10 minutes for the last day (tests/tools/
episodesload): the first-probe rule of the availability and RTT views,
and the heatmap's 8,000-cell rule.
"""
import argparse
import os
import signal
import sys
import time
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_shots import Browser, exit_on_term, severe  # noqa: E402
from selenium.webdriver.common.actions.action_builder import \
    ActionBuilder  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402

K_ROOT = "193.0.14.129"
A_ROOT = "198.41.0.4"


class Checks:
    def __init__(self, path):
        self.out = open(path, "w")

    def check(self, name, ok, why=""):
        line = ("ok %s" % name) if ok else ("FAIL %s: %s" % (name, why))
        print(line, file=self.out, flush=True)
        print(line, file=sys.stderr)
        return ok

    def equal(self, name, got, want):
        return self.check(name, got == want, "got %r, want %r" % (got, want))


# JS run in the page: the charts' data, through window.cwDashboard.
HEAT_CELL = """
const h = window.cwDashboard.heatmap;
if (!h) return null;
const want = arguments[0], start = arguments[1];
for (const d of h.cells)
    if (d.y.includes(want) && d.x[0] === start) return d.availability;
return null;
"""
HEAT_OUTLINES = """
const h = window.cwDashboard.heatmap;
if (!h) return [];
return h.outlines.filter((d) => d.y.includes(arguments[0]))
    .map((d) => d.start);
"""
# The heatmap's cell of row `want` (and start, if given) scrolled into
# view: its index and its centre in the viewport (CSS pixels).
HEAT_REVEAL = """
const h = window.cwDashboard.heatmap;
const want = arguments[0], start = arguments[1];
const i = h.cells.findIndex((d) => d.y.includes(want) &&
    (start === null || d.x[0] === start));
if (i < 0) return null;
const p = h.reveal(i);
return [i, p.x, p.y];
"""
HEAT_TIP = """
const t = document.getElementById('heatmap-tip');
return t.hidden ? '' : t.textContent;
"""
# What a view asked for: the queries of its requests to the endpoint
# arguments[0] ("/api/v1/summary?").
ASKED = """
return performance.getEntriesByType('resource')
    .filter((e) => e.name.includes(arguments[0]))
    .map((e) => e.name.slice(e.name.indexOf('?') + 1));
"""
# The heatmap's shape: rows, bucket, cells, the largest measurement
# count of a cell, the narrowest and widest cell (ms), and the window's
# columns at that bucket.
HEAT_SHAPE = """
const h = window.cwDashboard.heatmap;
const widths = h.cells.map((d) => d.x[1] - d.x[0]);
return {rows: h.rows.length, bucket: h.bucket, cells: h.cells.length,
    most: Math.max(0, ...h.cells.map((d) => d.measurements)),
    narrowest: Math.min(...widths), widest: Math.max(...widths)};
"""
RTT_POINT = """
for (const [id, c] of Object.entries(window.cwDashboard.charts)) {
    if (!id.startsWith('rtt-') || !c.canvas.dataset.target.includes(arguments[0]))
        continue;
    const med = c.data.datasets[1].data.find((p) => p.x === arguments[1]);
    const p95 = c.data.datasets[0].data.find((p) => p.x === arguments[1]);
    return [med ? med.y : null, p95 ? p95.y : null];
}
return null;
"""
ANNOTATED = """
const out = {};
for (const [id, c] of Object.entries(window.cwDashboard.charts))
    out[id] = c.$cwAnnotations || 0;
if (window.cwDashboard.heatmap)
    out['heatmap-chart'] = window.cwDashboard.heatmap.annotations;
return out;
"""
NSID_RUNS = """
const c = window.cwDashboard.charts['nsid-chart'];
if (!c) return null;
return c.data.datasets[0].data.filter((d) => d.y.includes(arguments[0]))
    .map((d) => d.set);
"""
SOA_MAX = """
const c = window.cwDashboard.charts['soa-chart'];
if (!c) return null;
let m = 0;
for (const ds of c.data.datasets) for (const p of ds.data) m = Math.max(m, p.y);
return m;
"""
TABLE = """
return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))
    .map((tr) => Array.from(tr.cells).map((td) => td.textContent));
"""


def no_console_errors(c, b, name, allow=()):
    errors = severe(b.logs(), allow)
    c.check("no console error: " + name, not errors,
            "; ".join(e.get("message", "") for e in errors))


def check_anonymous(c, b, args):
    b.open("view=probes")
    rows = b.js(TABLE, "probes-table")
    c.equal("anonymous: the probes table lists both probes", len(rows), 2)
    text = b.js("return document.body.innerText")
    c.check("anonymous: no probe name or location on the page",
            "kyiv-1" not in text and "khartoum-1" not in text
            and "UA" not in [r[3] for r in rows], text[:300])
    b.shot(os.path.join(args.shots, "anonymous-probes.png"))
    b.go("view=episodes")
    rows = b.js(TABLE, "episodes-table")
    c.equal("anonymous: the two episodes, no silence", len(rows), 2)
    c.check("anonymous: no silence row",
            all("silence" not in r[1] for r in rows), repr(rows))
    no_console_errors(c, b, "anonymous views")


def check_probes(c, b, args):
    b.go("view=probes")
    rows = b.js(TABLE, "probes-table")
    byname = {r[1]: r for r in rows}
    c.check("probes: kyiv-1 and khartoum-1 listed",
            set(byname) == {"kyiv-1", "khartoum-1"}, repr(rows))
    if "kyiv-1" in byname and "khartoum-1" in byname:
        c.equal("probes: kyiv-1 declared UA, AS15895",
                byname["kyiv-1"][3:5], ["UA", "15895"])
        c.equal("probes: khartoum-1 declared SD, AS15706",
                byname["khartoum-1"][3:5], ["SD", "15706"])
        c.equal("probes: kyiv-1's upload backlog", byname["kyiv-1"][6], "7")
        c.equal("probes: khartoum-1's upload backlog",
                byname["khartoum-1"][6], "3")
        c.check("probes: last heartbeat at BASE+55m30s",
                byname["kyiv-1"][5] == time.strftime(
                    "%Y-%m-%d %H:%M:%SZ", time.gmtime(args.base + 3330)),
                byname["kyiv-1"][5])
        c.check("probes: silent for over an hour: status silent",
                byname["kyiv-1"][7].startswith("silent"), byname["kyiv-1"][7])
    b.shot(os.path.join(args.shots, "probes.png"))


def requests_at_most(c, b, view, most):
    n = b.api_requests()
    c.check("%s: at most %d API requests (%d)" % (view, most, n), n <= most,
            "%d requests" % n)


def check_heatmap(c, b, args):
    cell = (args.base + 1200) * 1000
    b.api_requests()
    b.go("view=heatmap&probe=" + args.probe_a)
    requests_at_most(c, b, "heatmap", 4)
    c.equal("heatmap, kyiv-1: k.root at BASE+20m is 50 %",
            b.js(HEAT_CELL, K_ROOT, cell), 50)
    c.equal("heatmap, kyiv-1: a.root at BASE+20m is 100 %",
            b.js(HEAT_CELL, A_ROOT, cell), 100)
    c.equal("heatmap, kyiv-1: k.root's episode outlined from BASE+21m",
            b.js(HEAT_OUTLINES, K_ROOT),
            [time.strftime("%Y-%m-%dT%H:%M:%SZ",
                           time.gmtime(args.base + 1260))])
    c.check("heatmap: the annotation drawn",
            b.js(ANNOTATED).get("heatmap-chart", 0) >= 1, repr(b.js(ANNOTATED)))
    b.shot(os.path.join(args.shots, "heatmap.png"))
    check_heatmap_events(c, b, args, cell)
    b.go("view=heatmap&probe=" + args.probe_b)
    c.equal("heatmap filter probe=khartoum-1: k.root at BASE+20m is 70 %",
            b.js(HEAT_CELL, K_ROOT, cell), 70)
    b.go("view=heatmap")
    c.equal("heatmap, all probes: k.root at BASE+20m is 60 %",
            b.js(HEAT_CELL, K_ROOT, cell), 60)
    b.go("view=heatmap&rows=probes&addr=" + K_ROOT)
    c.equal("heatmap, rows probes for k.root: kyiv-1 at BASE+20m is 50 %",
            b.js(HEAT_CELL, "kyiv-1", cell), 50)
    c.equal("heatmap, rows probes for k.root: khartoum-1 is 70 %",
            b.js(HEAT_CELL, "khartoum-1", cell), 70)
    # A click on k.root's cell: k.root from every probe.
    b.go("view=heatmap")
    before = b.rendered()
    heat_pointer(b, K_ROOT, None, click=True)
    b.wait_rendered(before)
    h = b.js("return location.hash")
    c.check("heatmap: a click on k.root's cell shows it from every probe",
            "rows=probes" in h and "addr=" + K_ROOT in h, h)
    c.equal("heatmap, after the click: kyiv-1's k.root at BASE+20m is 50 %",
            b.js(HEAT_CELL, "kyiv-1", cell), 50)
    # A shared link with its own window: 1-minute buckets.
    frm = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.base))
    to = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(args.base + 3600))
    b.go("view=heatmap&win=custom&from=%s&to=%s&probe=%s"
         % (frm, to, args.probe_a))
    c.equal("heatmap, a link with from/to: 1-minute cell BASE+21m is 0 %",
            b.js(HEAT_CELL, K_ROOT, (args.base + 1260) * 1000), 0)
    c.equal("heatmap, a link with from/to: BASE+20m is 100 %",
            b.js(HEAT_CELL, K_ROOT, cell), 100)


def heat_pointer(b, row, start, click=False):
    """Move the pointer (a real pointer event) to the centre of the
    heatmap's first cell of `row` (starting at `start` ms, if given),
    scrolled into view, and click there if `click`; the cell's index, or
    None without such a cell."""
    got = b.js(HEAT_REVEAL, row, start)
    if got is None:
        return None
    i, x, y = got
    actions = ActionBuilder(b.driver)
    actions.pointer_action.move_to_location(int(round(x)), int(round(y)))
    if click:
        actions.pointer_action.click()
    actions.perform()
    return i


def heat_keys(b, *keys):
    """Keys typed into the heatmap (focused); what it says to a screen
    reader after them (its live region)."""
    canvas = b.driver.find_element("id", "heatmap-chart")
    canvas.send_keys(*keys)
    return b.js("return document.getElementById('heatmap-live')"
                ".textContent")


def check_heatmap_events(c, b, args, cell):
    """The heatmap of kyiv-1 (drawn by check_heatmap): hover, keyboard and
    a narrower window, through real events."""
    heat_pointer(b, K_ROOT, cell)
    tip = b.js(HEAT_TIP)
    c.check("heatmap: hovering k.root's cell at BASE+20m shows its numbers",
            K_ROOT in tip and "availability 50 %" in tip
            and "5 of 10 measurement" in tip and "episode (" in tip, tip)
    c.check("heatmap: hovering says what a click does",
            "click: this target from every probe" in tip, tip)
    # The keyboard: focus, End (the window's last bucket: no data), then
    # left to the last bucket with data, down a row; Enter turns it.
    rows = b.js("return window.cwDashboard.heatmap.rows")
    first, second = ((K_ROOT, A_ROOT) if rows and K_ROOT in rows[0]
                     else (A_ROOT, K_ROOT))
    b.js("document.getElementById('heatmap-chart').focus()")
    said = heat_keys(b, Keys.END)
    c.check("heatmap keyboard: End: the last bucket, no measurements",
            "no measurements" in said, said)
    for _ in range(30):
        said = heat_keys(b, Keys.ARROW_LEFT)
        if "availability" in said:
            break
    c.check("heatmap keyboard: left to the last bucket with data (BASE+50m)",
            "availability 100 %" in said and first in said and time.strftime(
                "%H:%M:%SZ", time.gmtime(args.base + 3000)) in said, said)
    said = heat_keys(b, Keys.ARROW_DOWN)
    c.check("heatmap keyboard: down to the second row", second in said, said)
    ring = b.js("return !document.getElementById('heatmap-ring').hidden")
    c.check("heatmap keyboard: the focused cell is ringed", ring)
    before = b.rendered()
    b.driver.find_element("id", "heatmap-chart").send_keys(Keys.ENTER)
    b.wait_rendered(before)
    h = b.js("return location.hash")
    c.check("heatmap keyboard: Enter turns the map to that target from "
            "every probe", "rows=probes" in h and "addr=" + second in h, h)
    # A narrower window: drawn again at its width, hover still exact.
    b.go("view=heatmap&probe=" + args.probe_a)
    wide = b.js("return document.getElementById('heatmap-chart')"
                ".getBoundingClientRect().width")
    b.driver.set_window_size(900, 1000)
    try:
        narrow = 0
        for _ in range(50):
            narrow = b.js("return document.getElementById('heatmap-chart')"
                          ".getBoundingClientRect().width")
            if narrow < wide:
                break
            time.sleep(0.1)
        c.check("heatmap: a narrower window redraws it narrower",
                0 < narrow < wide - 300, "%r then %r" % (wide, narrow))
        heat_pointer(b, A_ROOT, cell)
        tip = b.js(HEAT_TIP)
        c.check("heatmap, narrower: hovering a.root at BASE+20m: 100 %",
                A_ROOT in tip and "availability 100 %" in tip, tip)
    finally:
        b.driver.set_window_size(1400, 1000)


def check_rtt(c, b, args):
    start = args.base * 1000
    b.go("view=heatmap&probe=" + args.probe_a)
    b.api_requests()
    b.go("view=rtt&probe=" + args.probe_a)
    requests_at_most(c, b, "rtt after heatmap", 2)
    c.equal("rtt, kyiv-1: a.root's median and p95 at BASE",
            b.js(RTT_POINT, A_ROOT, start), [14.5, 19])
    c.equal("rtt, kyiv-1: k.root's median and p95 at BASE",
            b.js(RTT_POINT, K_ROOT, start), [24.5, 29])
    ann = b.js(ANNOTATED)
    c.check("rtt: the annotation drawn on every chart",
            len(ann) >= 4 and all(v >= 1 for k, v in ann.items()
                                  if k != "heatmap-chart"), repr(ann))
    c.equal("nsid, kyiv-1: k.root's instance changes once",
            b.js(NSID_RUNS, K_ROOT), ["k1.ams", "k2.fra"])
    soa = b.js(SOA_MAX)
    c.check("soa: a.root lags behind k.root's newer serial",
            soa is not None and soa > 0, repr(soa))
    b.shot(os.path.join(args.shots, "rtt.png"))
    b.go("view=rtt")
    c.equal("rtt filter off: a.root's median of both probes",
            b.js(RTT_POINT, A_ROOT, start)[0], 24.5)


def check_episodes(c, b, args):
    b.api_requests()
    b.go("view=episodes")
    requests_at_most(c, b, "episodes", 2)
    rows = b.js(TABLE, "episodes-table")
    c.equal("episodes: two outages and two silences", len(rows), 4)
    sev = [float(x) for x in b.js(
        "return Array.from(document.querySelectorAll("
        "'#episodes-table tbody tr')).map((tr) => tr.dataset.severity)")]
    c.check("episodes: sorted by severity, highest first",
            sev == sorted(sev, reverse=True), repr(sev))
    outages = [r for r in rows if K_ROOT in r[4]]
    c.check("episodes: kyiv-1's k.root outage (5 failures)",
            any(r[2] == "kyiv-1" and r[8].startswith("5 ") for r in outages),
            repr(outages))
    c.check("episodes: khartoum-1's k.root outage (3 failures)",
            any(r[2] == "khartoum-1" and r[8].startswith("3 ")
                for r in outages), repr(outages))
    b.click("#episodes-table th[data-sort=severity] button")
    sev2 = [float(x) for x in b.js(
        "return Array.from(document.querySelectorAll("
        "'#episodes-table tbody tr')).map((tr) => tr.dataset.severity)")]
    c.check("episodes: a click sorts by severity, lowest first",
            sev2 == sorted(sev) and sev2 != sev, repr(sev2))
    b.click("#episodes-table th[data-sort=severity] button")
    b.shot(os.path.join(args.shots, "episodes.png"))
    # kyiv-1's k.root episode: its evidence.
    href = b.js("""
for (const tr of document.querySelectorAll('#episodes-table tbody tr'))
    if (tr.cells[2].textContent === 'kyiv-1' && tr.cells[4].textContent.includes(arguments[0]))
        return tr.querySelector('a.evidence').getAttribute('href');
return null;""", K_ROOT)
    if not c.check("episodes: kyiv-1's outage links to its evidence",
                   href is not None):
        return
    b.api_requests()
    b.click("#episodes-table a.evidence[href='%s']" % href)
    requests_at_most(c, b, "evidence", 2)
    rows = b.js(TABLE, "evidence-table")
    failed = [r for r in rows if r[5] == "false"]
    c.equal("evidence: the 5 failed records of the episode", len(failed), 5)
    c.equal("evidence: from its last success to its first success after",
            [rows[0][5], rows[-1][5]] if rows else None, ["true", "true"])
    c.check("evidence: k.root's records only",
            rows and all(K_ROOT in r[4] for r in rows), repr(rows[:3]))
    c.check("evidence: the failure named", all(
        r[6] == "generic_timeout_error" for r in failed), repr(failed[:2]))
    b.shot(os.path.join(args.shots, "evidence.png"))


def check_filters(c, b, args):
    b.go("view=episodes")
    field = b.driver.find_element("id", "f-country")
    field.clear()
    field.send_keys("SD")
    b.click("#f-apply")
    c.check("filters: the country is kept in the URL hash",
            "country=SD" in b.js("return location.hash"),
            b.js("return location.hash"))
    rows = b.js(TABLE, "episodes-table")
    c.check("filters: country SD: khartoum-1's episodes only",
            rows and all(r[2] == "khartoum-1" for r in rows), repr(rows))
    b.go("view=probes&country=SD")
    rows = b.js(TABLE, "probes-table")
    c.equal("filters: country SD: one probe", [r[1] for r in rows],
            ["khartoum-1"])
    b.go("view=episodes&name=nothing-like-it")
    c.equal("filters: an unknown name: no episodes",
            len(b.js(TABLE, "episodes-table")), 0)


def run_token(c, b, args):
    check_anonymous(c, b, args)
    b.go("view=probes")
    b.api_requests()
    b.set_token(args.token)
    requests_at_most(c, b, "probes with the token", 1)
    c.check("the token is kept in sessionStorage",
            b.js("return sessionStorage.getItem('corewatch.readToken')")
            == args.token)
    check_probes(c, b, args)
    check_heatmap(c, b, args)
    check_rtt(c, b, args)
    check_episodes(c, b, args)
    check_filters(c, b, args)
    no_console_errors(c, b, "every view with the token")


def run_closed(c, b, args):
    b.open("view=probes")
    err = b.error_text()
    c.check("closed API: the page says 401 and asks for the token",
            "401" in err and "token" in err, err)
    b.go("view=heatmap")
    c.check("closed API: the heatmap view says 401 too", "401" in
            b.error_text(), b.error_text())
    b.shot(os.path.join(args.shots, "closed-401.png"))
    no_console_errors(c, b, "closed API", ("401",))
    os.kill(args.collector_pid, signal.SIGTERM)
    for _ in range(100):
        try:
            os.kill(args.collector_pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    b.click("#f-reload")
    err = b.error_text()
    c.check("collector gone: the page says the API cannot be reached",
            "cannot be reached" in err, err)
    b.shot(os.path.join(args.shots, "api-down.png"))
    no_console_errors(c, b, "collector gone",
                      ("401", "ERR_CONNECTION_REFUSED", "Failed to fetch"))


def asked(b, view_hash, endpoint="summary"):
    """Show `view_hash` with no answer kept; the queries of the requests
    to /api/v1/`endpoint` it made (each a dict)."""
    b.js("window.cwDashboard.cache.clear();"
         "performance.clearResourceTimings()")
    b.go(view_hash)
    return [dict(urllib.parse.parse_qsl(q))
            for q in b.js(ASKED, "/api/v1/%s?" % endpoint)]


def check_many_default(c, b, args, first):
    """More than 20 probes: the availability and RTT views show the first
    probe unless a probe, target or country is chosen; probe=all shows
    every probe."""
    qs = asked(b, "view=heatmap")
    c.check("%d probes, availability: asks for the first probe's summary"
            % args.many, len(qs) == 1 and qs[0].get("probe") == first,
            repr(qs))
    shape = b.js(HEAT_SHAPE)
    c.equal("%d probes, availability: its 2 targets, one measurement a "
            "10-minute cell (one probe)" % args.many,
            [shape["rows"], shape["bucket"], shape["most"]], [2, "10m", 1])
    note_text = b.js("return document.getElementById('heatmap-note')"
                     ".textContent")
    c.check("%d probes, availability: the note says it shows load-0 of %d"
            % (args.many, args.many),
            "Showing load-0 of %d probes" % args.many in note_text, note_text)
    c.equal("%d probes: the probe list shows the first probe" % args.many,
            b.js("return document.getElementById('f-probe').value"), first)
    qs = asked(b, "view=heatmap&probe=all")
    c.check("probe=all, availability: asks for every probe (no probe)",
            len(qs) == 1 and "probe" not in qs[0], repr(qs))
    c.equal("probe=all, availability: %d measurements a cell" % args.many,
            b.js(HEAT_SHAPE)["most"], args.many)
    c.equal("probe=all: the probe list says all probes",
            b.js("const s = document.getElementById('f-probe');"
                 "return [s.value, s.options[s.selectedIndex].text]"),
            ["all", "all probes"])
    qs = asked(b, "view=heatmap&country=AA")
    c.check("country AA, availability: no probe chosen for it",
            len(qs) == 1 and "probe" not in qs[0] and
            qs[0].get("country") == "AA", repr(qs))
    c.equal("country AA, availability: its 3 probes a cell",
            b.js(HEAT_SHAPE)["most"], 3)
    qs = asked(b, "view=heatmap&addr=" + args.many_addr)
    c.check("a target chosen, availability: every probe",
            len(qs) == 1 and "probe" not in qs[0], repr(qs))
    c.equal("a target chosen, availability: one row, %d measurements a "
            "cell" % args.many,
            [b.js(HEAT_SHAPE)[k] for k in ("rows", "most")], [1, args.many])
    qs = asked(b, "view=rtt")
    c.check("%d probes, RTT: asks for the first probe's summary" % args.many,
            len(qs) == 1 and qs[0].get("probe") == first, repr(qs))
    note_text = b.js("return document.getElementById('rtt-note')"
                     ".textContent")
    c.check("%d probes, RTT: the note says it shows load-0" % args.many,
            "Showing load-0 of" in note_text, note_text)
    qs = asked(b, "view=rtt&probe=all")
    c.check("probe=all, RTT: asks for every probe (no probe)",
            len(qs) == 1 and "probe" not in qs[0], repr(qs))
    c.check("probe=all, RTT: no first-probe note",
            "Showing" not in b.js("return document.getElementById("
                                  "'rtt-note').textContent"))
    qs = asked(b, "view=episodes", "episodes")
    c.check("%d probes, episodes: every probe's (no probe asked for)"
            % args.many, len(qs) == 1 and "probe" not in qs[0], repr(qs))


def check_many_cells(c, b, args):
    """The heatmap's rows × buckets stay under 8,000: a target from more
    probes gets coarser buckets."""
    b.go("view=heatmap&rows=probes&name=root-soa&addr=" + args.many_addr)
    shape = b.js(HEAT_SHAPE)
    c.equal("one target from %d probes: a row a probe" % args.many,
            shape["rows"], args.many)
    # 24 h: 10-minute buckets are 144 columns, over 8,000 cells for
    # more than 55 rows; 15-minute ones 96.
    want = "15m" if args.many * 144 > 8000 else "10m"
    c.equal("one target from %d probes: %s buckets (the finest under "
            "8,000 cells)" % (args.many, want),
            [shape["bucket"], shape["narrowest"], shape["widest"]],
            [want, 900e3 if want == "15m" else 600e3,
             900e3 if want == "15m" else 600e3])
    c.check("one target from %d probes: under 8,000 cells (%d)"
            % (args.many, shape["cells"]),
            0 < shape["cells"] <= 8000, repr(shape))
    b.go("view=heatmap&rows=probes&name=root-soa&country=AA&addr="
         + args.many_addr)
    shape = b.js(HEAT_SHAPE)
    c.equal("the same target from country AA's 3 probes: 10-minute buckets",
            [shape["rows"], shape["bucket"]], [3, "10m"])
    b.go("view=heatmap&rows=probes&name=root-soa&addr=" + args.many_addr)
    b.shot(os.path.join(args.shots, "heatmap-many.png"))
    # A click on a probe's row far down the page: that probe's targets.
    target = b.js("return window.cwDashboard.heatmap.rows[%d]"
                  % (args.many - 2))
    probe = b.js("const h = window.cwDashboard.heatmap;"
                 "return h.cells.find((d) => d.y === arguments[0]).probe",
                 target)
    before = b.rendered()
    heat_pointer(b, target, None, click=True)
    b.wait_rendered(before)
    h = b.js("return location.hash")
    c.check("a click on the next-to-last probe's row: that probe's targets",
            "rows=probes" not in h and "probe=" + probe in h, h)
    c.equal("after the click: that probe's 2 targets, one measurement a "
            "cell", [b.js(HEAT_SHAPE)[k] for k in ("rows", "most")], [2, 1])


def run_many(c, b, args):
    # The collector keeps reads to the token: the page's first request,
    # before the token is typed, is answered 401 (and only that one).
    b.open("view=probes")
    no_console_errors(c, b, "before the token", ("status of 401",))
    b.set_token(args.token)
    rows = b.js("return Array.from(document.querySelectorAll("
                "'#probes-table tbody tr')).map((tr) => "
                "[Number(tr.cells[0].textContent), tr.dataset.probe])")
    c.equal("%d probes listed" % args.many, len(rows), args.many)
    first = min(rows)[1] if rows else None
    check_many_default(c, b, args, first)
    check_many_cells(c, b, args)
    no_console_errors(c, b, "%d probes" % args.many)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--base", type=int, default=0)
    ap.add_argument("--probe-a", default="")
    ap.add_argument("--probe-b", default="")
    ap.add_argument("--shots", required=True)
    ap.add_argument("--results", required=True)
    ap.add_argument("--closed", action="store_true")
    ap.add_argument("--collector-pid", type=int, default=0)
    ap.add_argument("--many", type=int, default=0)
    ap.add_argument("--many-addr", default="")
    args = ap.parse_args()
    exit_on_term()
    c = Checks(args.results)
    b = None
    try:
        b = Browser(args.url)
        if args.closed:
            run_closed(c, b, args)
        elif args.many:
            run_many(c, b, args)
        else:
            run_token(c, b, args)
        c.check("finished", True)
    except Exception as e:  # a timeout, a browser gone: no "finished"
        c.check("browser", False, "%s: %s" % (type(e).__name__, e))
        return 1
    finally:
        if b is not None:
            b.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
