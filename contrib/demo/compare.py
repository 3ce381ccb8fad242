#!/usr/bin/python3
# compare.py -- the crisis lab's episodes against its ground truth.
#
#   compare.py TRUTH.json EPISODES.jsonl [--json OUT.json]
#
# TRUTH is what run.sh wrote as the phases happened: each phase's start
# and end and the episodes it must give (probe, scope, and the target's
# address, a silence, or a probe episode of N targets).  EPISODES is what
# GET /api/v1/episodes answered (doc/episodes.md).  For each expected
# episode it finds the episode of that probe and target whose start is
# nearest the phase's start, and prints the expected and the found scope
# and the errors of its bounds in seconds:
#   start error  first failure (a silence: its last heartbeat) - phase start
#   end error    first success (a silence: its next heartbeat) - phase end
# An event passes when the scope is the one expected, both errors are
# within the tolerance the truth names (an interval, its spread, a
# timeout and a second), the episode has ended, and a probe episode
# covers every target of the probe.  Every episode must be explained by
# one expectation.  Exit status 0 when all pass, 1 otherwise, 2 for a
# usage error or a file that is not what run.sh and the API write.
import json
import sys
from datetime import datetime, timezone


def when(s):
    return datetime.strptime(s, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=timezone.utc).timestamp()


def ep_start(e):
    return when(e["last_ok"]["time"] if e["silence"] else
                e["first_failure"]["time"])


def ep_end(e):
    return when(e["first_ok"]["time"]) if e["first_ok"] else None


def ep_target(e):
    if e["silence"]:
        return "(heartbeats)"
    if e.get("addr"):
        return e["addr"]
    return "%d targets" % len(e.get("targets") or [])


def fits(x, e):
    if e["probe"] != x["probe_id"]:
        return False
    if x.get("silence"):
        return e["silence"]
    if e["silence"]:
        return False
    if "addr" in x:
        return e.get("addr") == x["addr"]
    return True


def main(argv):
    if len(argv) not in (3, 5) or (len(argv) == 5 and argv[3] != "--json"):
        print("usage: compare.py TRUTH.json EPISODES.jsonl "
              "[--json OUT.json]", file=sys.stderr)
        return 2
    try:
        truth = json.load(open(argv[1]))
        episodes = [json.loads(line) for line in open(argv[2])
                    if line.strip()]
        tol = truth["lab"]["tolerance_s"]
        names = {v["id"]: k for k, v in truth["lab"]["probes"].items()}
        for ph in truth["phases"]:
            when(ph["start"]), when(ph["end"])
        for e in episodes:
            ep_start(e), ep_end(e), e["probe"], e["scope"]
    except (OSError, ValueError, KeyError, TypeError) as err:
        print("compare.py: %s" % err, file=sys.stderr)
        return 2
    used = set()
    rows = []
    ok_all = True
    for ph in truth["phases"]:
        t0, t1 = when(ph["start"]), when(ph["end"])
        for x in ph["expect"]:
            row = {"phase": ph["n"], "event": ph["name"],
                   "probe": x["probe"], "expected": x["scope"],
                   "target": x.get("addr") or
                   ("(heartbeats)" if x.get("silence") else
                    "%d targets" % x.get("targets", 0)),
                   "found": None, "start_err_s": None, "end_err_s": None}
            cands = [(abs(ep_start(e) - t0), i)
                     for i, e in enumerate(episodes)
                     if i not in used and fits(x, e) and
                     t0 - tol <= ep_start(e) <= t1 + tol]
            if cands:
                i = min(cands)[1]
                used.add(i)
                e = episodes[i]
                row["found"] = e["scope"]
                row["target"] = ep_target(e) if "addr" not in x else \
                    row["target"]
                row["start_err_s"] = round(ep_start(e) - t0, 3)
                end = ep_end(e)
                row["end_err_s"] = round(end - t1, 3) if end else None
            good = (row["found"] == x["scope"] and
                    row["start_err_s"] is not None and
                    abs(row["start_err_s"]) <= tol and
                    row["end_err_s"] is not None and
                    abs(row["end_err_s"]) <= tol)
            if good and "targets" in x:
                good = len(episodes[i].get("targets") or []) == x["targets"]
            row["ok"] = good
            ok_all = ok_all and good
            rows.append(row)
    extra = [e for i, e in enumerate(episodes) if i not in used]

    def num(v):
        return "-" if v is None else "%+.1f" % v

    print("%-5s %-16s %-9s %-13s %-8s %-8s %9s %9s  %s" % (
        "phase", "event", "probe", "target", "expected", "found",
        "start_s", "end_s", "verdict"))
    for r in rows:
        print("%-5s %-16s %-9s %-13s %-8s %-8s %9s %9s  %s" % (
            r["phase"], r["event"], r["probe"], r["target"], r["expected"],
            r["found"] or "none", num(r["start_err_s"]),
            num(r["end_err_s"]), "ok" if r["ok"] else "WRONG"))
    print("tolerance: %.1f s; %d episodes, %d expected, %d unexplained" % (
        tol, len(episodes), len(rows), len(extra)))
    for e in extra:
        print("unexplained: %s %s %s from %s to %s" % (
            names.get(e["probe"], e["probe"]), e["scope"], ep_target(e),
            e["last_ok"]["time"] if e["silence"] else
            e["first_failure"]["time"],
            e["first_ok"]["time"] if e["first_ok"] else "(ongoing)"))
    ok_all = ok_all and not extra
    print("PASS" if ok_all else "FAIL")
    if len(argv) == 5:
        with open(argv[4], "w") as f:
            json.dump({"pass": ok_all, "events": rows,
                       "unexplained": len(extra)}, f, indent=1)
    return 0 if ok_all else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
