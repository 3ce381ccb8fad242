#!/usr/bin/python3
"""dashboard_shots.py -- a screenshot of each view of corewatch-collector's
dashboard (doc/dashboard.md), taken with Debian's chromium driven headless
through chromium-driver and python3-selenium.

    dashboard_shots.py --url URL [--token T] [--out DIR] [--hash H]

URL is the collector's (http://127.0.0.1:8080/); T the read token, typed
into the page's token field as a user would; H extra hash parameters
(from=...&to=...) for every view.  Writes DIR/probes.png, heatmap.png,
rtt.png, episodes.png and, when the episodes table has a row,
evidence.png, and prints each path; on stderr, how long each view took
from its link to its last chart drawn, with its answers asked afresh (no
answer kept from another view), how many API requests it made and how
long the slowest of them took (the rest is mostly the page's own work).  Exits 1 on any console error of the
page (or a view that does not finish drawing, or shows an error), 2 on a
usage error.

Chromium runs with --headless=new --no-sandbox (CI runs as root), a
private --user-data-dir under TMPDIR, and in a session of its own with
chromedriver: every process of it is stopped at the end, also on an
error.  Every wait is bounded.  dashboard_check.py uses the same
functions (Browser) for the scenario test's checks.
"""
import argparse
import os
import shutil
import signal
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

VIEWS = ["probes", "heatmap", "rtt", "episodes"]
WAIT_S = 20


def note_pgid(pgid):
    """Append the browser's process group to the file CW_BROWSER_PGIDS
    names (when set), for a test's exit trap to stop it should this
    process be killed before it can."""
    path = os.environ.get("CW_BROWSER_PGIDS")
    if path:
        with open(path, "a") as f:
            f.write("%d\n" % pgid)


def exit_on_term():
    """SIGTERM (timeout(1)) ends the program through its finally
    clauses, which stop the browser."""
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(143))


class Browser:
    """One headless chromium and its chromedriver, in a session of their
    own (stopped whole by close()); the dashboard at `url`."""

    def __init__(self, url):
        self.url = url.rstrip("/") + "/"
        self.profile = tempfile.mkdtemp(prefix="cw-chromium.")
        opts = webdriver.ChromeOptions()
        opts.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
        for arg in ("--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-dev-shm-usage", "--no-first-run",
                    "--disable-extensions", "--disable-background-networking",
                    "--disable-sync", "--disable-breakpad",
                    "--disable-crash-reporter", "--window-size=1400,1000",
                    "--user-data-dir=" + self.profile):
            opts.add_argument(arg)
        opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        driver_bin = shutil.which("chromedriver") or "/usr/bin/chromedriver"
        # Whatever chromium keeps beside its profile (~/.config,
        # ~/.cache) goes under the profile too, not in the user's home.
        env = dict(os.environ, XDG_CONFIG_HOME=self.profile,
                   XDG_CACHE_HOME=self.profile)
        self.service = Service(driver_bin, env=env,
                               popen_kw={"start_new_session": True})
        self.driver = None
        self.pgid = None
        try:
            self.driver = webdriver.Chrome(service=self.service,
                                           options=opts)
        finally:
            proc = getattr(self.service, "process", None)
            if proc is not None:
                self.pgid = proc.pid
                note_pgid(self.pgid)
        self.driver.set_page_load_timeout(WAIT_S)
        self.driver.set_script_timeout(WAIT_S)
        self.seen_logs = []

    def close(self):
        """Quit the browser; then stop whatever is left of the session
        chromedriver leads (its chromium processes)."""
        if self.driver is not None:
            try:
                self.driver.quit()
            except Exception:  # the browser may be gone already
                pass
            self.driver = None
        if self.pgid is not None:
            for _ in range(50):
                try:
                    os.killpg(self.pgid, signal.SIGKILL)
                except ProcessLookupError:
                    break
                time.sleep(0.1)
            self.pgid = None
        shutil.rmtree(self.profile, ignore_errors=True)

    def js(self, script, *args):
        return self.driver.execute_script(script, *args)

    def logs(self):
        """The console messages since the last call (each a dict with
        level, source, message)."""
        got = self.driver.get_log("browser")
        self.seen_logs.extend(got)
        return got

    def open(self, hash_text=""):
        self.driver.get(self.url + ("#" + hash_text if hash_text else ""))
        self.wait_rendered(0)

    def rendered(self):
        return int(self.js("return Number(document.body.dataset.rendered"
                           " || 0)"))

    def wait_rendered(self, before):
        """Wait (bounded) until the page has drawn a view after `before`
        views."""
        WebDriverWait(self.driver, WAIT_S, poll_frequency=0.1).until(
            lambda d: self.rendered() > before)

    def go(self, hash_text):
        """Show the view of `hash_text` (as a shared link would) and wait
        for it to be drawn."""
        before = self.rendered()
        self.js("if (location.hash === '#' + arguments[0])"
                "  window.cwDashboard.render();"
                "else location.hash = arguments[0];", hash_text)
        self.wait_rendered(before)

    def click(self, css):
        before = self.rendered()
        self.driver.find_element(By.CSS_SELECTOR, css).click()
        self.wait_rendered(before)

    def set_token(self, token):
        before = self.rendered()
        field = self.driver.find_element(By.ID, "token")
        field.clear()
        field.send_keys(token)
        self.driver.find_element(By.ID, "token-use").click()
        self.wait_rendered(before)

    def api_slowest(self):
        """The longest of the API requests the page made since the last
        api_requests(), in ms (request sent to answer read)."""
        return round(self.js("""
return Math.max(0, ...performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/')).map((e) => e.duration));"""))

    def api_requests(self):
        """The API requests the page made since the last call."""
        return self.js("""
const n = performance.getEntriesByType('resource')
    .filter((e) => e.name.includes('/api/')).length;
performance.clearResourceTimings();
return n;""")

    def error_text(self):
        return self.js("const s = document.getElementById('status');"
                       "return s.hidden ? '' : s.textContent")

    def shot(self, path):
        self.driver.save_screenshot(path)
        return path


def severe(entries, allow_network=()):
    """The console errors among `entries`, less network errors whose
    message has one of `allow_network` (an expected 401 or refusal)."""
    out = []
    for e in entries:
        if e.get("level") != "SEVERE":
            continue
        if e.get("source") == "network" and any(
                a in e.get("message", "") for a in allow_network):
            continue
        out.append(e)
    return out


def take(url, token, out, extra):
    os.makedirs(out, exist_ok=True)
    b = Browser(url)
    failed = 0
    try:
        b.open("view=probes" + ("&" + extra if extra else ""))
        if token:
            # A collector that keeps reads to the token answers the
            # page's first requests, made before the token is typed, with
            # 401 (the page says so): expected then, and only then.
            for e in severe(b.logs(), allow_network=("status of 401",)):
                print("console error: %s" % e.get("message"),
                      file=sys.stderr)
                failed += 1
            b.set_token(token)
        for view in VIEWS:
            # Each view asks for its own answers, as on a first visit.
            b.js("window.cwDashboard.cache.clear();"
                 "window.cwDashboard.probes = null")
            b.api_requests()
            b.go("view=%s%s" % (view, "&" + extra if extra else ""))
            path = b.shot(os.path.join(out, view + ".png"))
            print(path)
            slowest = b.api_slowest()
            print("%s: drawn in %d ms, %d API requests (the slowest %d ms)"
                  % (view, b.js("return window.cwDashboard.renderMs"),
                     b.api_requests(), slowest), file=sys.stderr)
            err = b.error_text()
            if err:
                print("%s: the page shows an error: %s" % (view, err),
                      file=sys.stderr)
                failed += 1
            if view == "episodes":
                link = b.js("const a = document.querySelector("
                            "'#episodes-table a.evidence');"
                            "return a ? a.getAttribute('href') : null")
                if link:
                    b.api_requests()
                    b.go(link.lstrip("#"))
                    print(b.shot(os.path.join(out, "evidence.png")))
                    slowest = b.api_slowest()
                    print("evidence: drawn in %d ms, %d API requests (the "
                          "slowest %d ms)" % (
                              b.js("return window.cwDashboard.renderMs"),
                              b.api_requests(), slowest), file=sys.stderr)
        for e in severe(b.logs()):
            print("console error: %s" % e.get("message"), file=sys.stderr)
            failed += 1
    finally:
        b.close()
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True)
    ap.add_argument("--token", default="")
    ap.add_argument("--out", default=".")
    ap.add_argument("--hash", default="",
                    help="hash parameters for every view (from=..&to=..)")
    args = ap.parse_args()
    exit_on_term()
    try:
        return take(args.url, args.token, args.out, args.hash)
    except Exception as e:  # a browser that does not start, a timeout
        print("dashboard_shots: %s: %s" % (type(e).__name__, e),
              file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
