#!/usr/bin/python3
"""log_verify.py -- the collector's log checked as doc/evidence.md says,
written from the specifications (RFC 9162 2.1.3.2 and 2.1.4.2,
c2sp.org/signed-note and tlog-checkpoint), with nothing of the
collector's C code: Python 3, hashlib and Debian's python3-nacl.

  log_verify.py checkpoint VKEY NOTE [SIZE]
  log_verify.py inclusion VKEY NOTE RECORDS.jsonl PROOFS-DIR
  log_verify.py consistency VKEY OLD-NOTE NEW-NOTE PROOF.json

VKEY, NOTE ... are files.  Prints "ok", or fails naming what is wrong
(collector_log.sh, collector_log_shared_pg.sh).
"""
import base64, hashlib, json, sys
from nacl.signing import VerifyKey

def h(b):
    return hashlib.sha256(b).digest()

def note_open(note, vkey):
    name, kid, key = vkey.strip().split("+", 2)
    raw = base64.b64decode(key)
    assert raw[0] == 1 and len(raw) == 33, "not an Ed25519 vkey"
    assert h(name.encode() + b"\n" + raw).hex()[:8] == kid, "key id"
    split = note.rindex("\n\n")
    text, sigs = note[:split + 1], note[split + 2:]
    for line in sigs.splitlines():
        assert line.startswith("\u2014 "), "signature line"
        n, b = line[2:].split(" ")
        sig = base64.b64decode(b)
        if n == name and sig[:4].hex() == kid:
            VerifyKey(raw[1:]).verify(text.encode(), sig[4:])
            origin, size, root = text.splitlines()[:3]
            assert origin == name, "origin"
            return int(size), base64.b64decode(root)
    raise AssertionError("no signature by the key")

def inclusion(leaf, index, size, proof, root):
    if index >= size:
        return False
    fn, sn, r = index, size - 1, leaf
    for p in proof:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            r = h(b"\x01" + p + r)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            r = h(b"\x01" + r + p)
        fn >>= 1; sn >>= 1
    return sn == 0 and r == root

def consistency(old, new, old_root, new_root, proof):
    if old == new:
        return not proof and old_root == new_root
    if old & (old - 1) == 0:
        proof = [old_root] + proof
    fn, sn = old - 1, new - 1
    while fn & 1:
        fn >>= 1; sn >>= 1
    fr = sr = proof[0]
    for c in proof[1:]:
        if sn == 0:
            return False
        if fn & 1 or fn == sn:
            fr = h(b"\x01" + c + fr); sr = h(b"\x01" + c + sr)
            while not fn & 1 and fn != 0:
                fn >>= 1; sn >>= 1
        else:
            sr = h(b"\x01" + sr + c)
        fn >>= 1; sn >>= 1
    return sn == 0 and fr == old_root and sr == new_root

what = sys.argv[1]
vkey = open(sys.argv[2]).read()
if what == "checkpoint":          # vkey note [size]
    size, root = note_open(open(sys.argv[3]).read(), vkey)
    assert len(sys.argv) < 5 or size == int(sys.argv[4]), f"size {size}"
elif what == "inclusion":         # vkey note records.jsonl proofs-dir
    size, root = note_open(open(sys.argv[3]).read(), vkey)
    lines = open(sys.argv[4], "rb").read().split(b"\n")[:-1]
    assert len(lines) == size, f"{len(lines)} records, log of {size}"
    for i, line in enumerate(lines):
        p = json.load(open(f"{sys.argv[5]}/{i}.json"))
        leaf = h(b"\x00" + line)
        assert base64.b64decode(p["leaf_hash"]) == leaf, f"leaf {i}"
        proof = [base64.b64decode(x) for x in p["proof"]]
        assert inclusion(leaf, i, size, proof, root), f"proof of {i}"
elif what == "consistency":       # vkey old-note new-note proof.json
    old, old_root = note_open(open(sys.argv[3]).read(), vkey)
    new, new_root = note_open(open(sys.argv[4]).read(), vkey)
    p = json.load(open(sys.argv[5]))
    assert (p["old"], p["new"]) == (old, new), "sizes"
    proof = [base64.b64decode(x) for x in p["proof"]]
    assert consistency(old, new, old_root, new_root, proof), "proof"
print("ok")
