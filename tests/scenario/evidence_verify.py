#!/usr/bin/python3
"""evidence_verify.py -- check batch signatures from what a collector
publishes, following doc/evidence.md ("Rebuilding the signed body") and
nothing else: Python 3 and Debian's python3-nacl.

    evidence_verify.py BATCHES RECORDS PROBES

BATCHES: the JSON lines of `corewatch-collector batches` (or GET
/api/v1/batches); RECORDS: the JSON lines of `export --format jsonl` (or
GET /api/v1/results), read as bytes; PROBES: the JSON of GET
/api/v1/probes.  Prints one line per batch ("ok" or "FAIL" and why),
then a summary line, then the records no batch covers.  Exits 0 only
when every batch verifies and every record is covered by one.
"""
import base64
import hashlib
import json
import sys

import nacl.exceptions
import nacl.signing

CONTEXT = b"corewatch-batch-v1\n"


def batch_seqs(b):
    """Step 1: the seqs the batch held, ascending."""
    if b["seqs"] is None:
        return list(range(b["first_seq"], b["last_seq"] + 1))
    seqs = []
    for piece in b["seqs"].split(","):
        lo, _, hi = piece.partition("-")
        seqs.extend(range(int(lo), int(hi or lo) + 1))
    return seqs


def check(b, records, keys):
    """The batch's verdict: None when it verifies, else why not."""
    seqs = batch_seqs(b)
    if len(seqs) != b["count"]:
        return "%d seqs, count says %d" % (len(seqs), b["count"])
    forks = {f["seq"]: f for f in b["forks"]}
    body = []
    for s in seqs:
        if s in forks:
            line = forks[s]["line"].encode("utf-8")
            if hashlib.sha256(line).hexdigest() != forks[s]["hash"]:
                return "seq %d: the fork's line does not hash to %s" % (
                    s, forks[s]["hash"])
        else:
            line = records.get((b["probe"], b["chain"], s))
            if line is None:
                return "seq %d: no such record" % s
        body.append(line + b"\n")
    digest = hashlib.sha256(b"".join(body)).hexdigest()
    if digest != b["body_sha256"]:
        return "the rebuilt body's SHA-256 is %s, not %s" % (
            digest, b["body_sha256"])
    key = keys.get(b["probe"])
    if key is None:
        return "no public key for probe %s" % b["probe"]
    if hashlib.sha256(key).hexdigest()[:32] != b["probe"]:
        return "the public key is not probe %s's" % b["probe"]
    msg = CONTEXT + b["probe"].encode() + b"\n" + digest.encode() + b"\n"
    try:
        nacl.signing.VerifyKey(key).verify(msg, base64.b64decode(b["sig"]))
    except nacl.exceptions.BadSignatureError:
        return "the signature does not verify"
    return None


def main():
    batches_path, records_path, probes_path = sys.argv[1:4]
    records = {}
    with open(records_path, "rb") as f:
        for raw in f.read().split(b"\n"):
            if raw == b"":
                continue
            r = json.loads(raw)
            records[(r["probe"], r["chain"], r["seq"])] = raw
    with open(probes_path) as f:
        keys = {p["id"]: base64.b64decode(p["pubkey"])
                for p in json.load(f)["probes"]}
    covered, bad, n = set(), 0, 0
    with open(batches_path) as f:
        for text in f:
            b = json.loads(text)
            n += 1
            why = check(b, records, keys)
            name = "batch %s %s %d-%d" % (b["probe"], b["chain"],
                                          b["first_seq"], b["last_seq"])
            if why is None:
                print("ok %s" % name)
                forks = {x["seq"] for x in b["forks"]}
                covered.update((b["probe"], b["chain"], s)
                               for s in batch_seqs(b) if s not in forks)
            else:
                bad += 1
                print("FAIL %s: %s" % (name, why))
    uncovered = sorted(k for k in records if k not in covered)
    print("batches %d verified %d failed %d records %d uncovered %d" % (
        n, n - bad, bad, len(records), len(uncovered)))
    for k in uncovered:
        print("uncovered %s %s %d" % k)
    return 0 if bad == 0 and not uncovered else 1


if __name__ == "__main__":
    sys.exit(main())
