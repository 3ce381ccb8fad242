#!/usr/bin/python3
"""dashboard_check.py -- the checks of tests/scenario/dashboard.sh, made
through corewatch-collector's dashboard in headless chromium (the Browser
of dashboard_shots.py): what the page shows, read from its tables and
from its Chart.js charts' data, against the fixture dashboard.sh loads
(its header says what the fixture holds).

    dashboard_check.py --url URL --token T --base EPOCH --probe-a ID
        --probe-b ID --shots DIR --results FILE
    dashboard_check.py --url URL --closed --collector-pid PID
        --shots DIR --results FILE

Writes one line per check to FILE, "ok NAME" or "FAIL NAME: why", and
"ok finished" last when it got to the end.  --closed: a collector whose
API is closed to anonymous readers (no public_read): the page shows the
401, then, once PID (the test's collector) is stopped, that the API
cannot be reached; with no console error but those network errors.
"""
import argparse
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from dashboard_shots import Browser, exit_on_term, severe  # noqa: E402

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
const c = window.cwDashboard.charts['heatmap-chart'];
if (!c) return null;
const want = arguments[0], start = arguments[1];
for (const d of c.data.datasets[0].data)
    if (d.y.includes(want) && d.x[0] === start) return d.availability;
return null;
"""
HEAT_OUTLINES = """
const c = window.cwDashboard.charts['heatmap-chart'];
if (!c) return [];
return c.data.datasets[1].data.filter((d) => d.y.includes(arguments[0]))
    .map((d) => d.start);
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
    b.js("""
const c = window.cwDashboard.charts['heatmap-chart'];
const i = c.data.datasets[0].data.findIndex((d) => d.y.includes(arguments[0]));
const el = c.getDatasetMeta(0).data[i], r = c.canvas.getBoundingClientRect();
c.canvas.dispatchEvent(new MouseEvent('click', {clientX: r.left + el.x,
    clientY: r.top + el.y, bubbles: true}));""", K_ROOT)
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
    args = ap.parse_args()
    exit_on_term()
    c = Checks(args.results)
    b = None
    try:
        b = Browser(args.url)
        if args.closed:
            run_closed(c, b, args)
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
