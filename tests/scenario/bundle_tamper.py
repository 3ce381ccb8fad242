#!/usr/bin/python3
"""bundle_tamper.py -- change an unpacked evidence bundle as someone who
wants it to pass would, for tests/scenario/bundle.sh.

    bundle_tamper.py DIR OP [ARG...]

DIR is the unpacked corewatch-bundle/ directory.  Unless OP says
otherwise, MANIFEST is written again afterwards (the forger's easy
part), so that what catches the change is the check it is about.

    byte PROBE         one digit of the middle record of PROBE changed
    byte-stale PROBE   the same, MANIFEST left as it was
    drop PROBE         the middle record of PROBE taken out (its line,
                       its leaf in inclusion.json, bundle.json's counts)
    swap PROBE         the middle record of PROBE and the next swapped
    sig PROBE          the first batch of PROBE takes the second's sig
    key PROBE          PROBE's key replaced by another valid key (in
                       probes.jsonl and on every batch)
    resign VKEYOUT     the checkpoint signed again with a new key,
                       collector.vkey replaced by it (written to VKEYOUT)
    resign-only        the same, collector.vkey left alone
    extra              a file that MANIFEST does not list (MANIFEST left)
    unlist NAME        NAME's line taken out of MANIFEST
    tar-KIND OUT       OUT: a tar of DIR with a hostile member added:
                       symlink, dotdot (corewatch-bundle/../evil),
                       absolute (/tmp/evil), outside (evil, not under
                       corewatch-bundle/), subdir (corewatch-bundle/d/x),
                       hardlink, fifo, twice (records.jsonl again)
"""

import base64
import hashlib
import io
import json
import os
import sys
import tarfile

import nacl.signing


def read(d, name):
    with open(os.path.join(d, name), "rb") as f:
        return f.read()


def write(d, name, data):
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def lines(d, name):
    return read(d, name).split(b"\n")[:-1]


def write_lines(d, name, ls):
    write(d, name, b"".join(x + b"\n" for x in ls))


def manifest(d):
    out = []
    for name in sorted(os.listdir(d)):
        if name != "MANIFEST":
            out.append("%s  %s\n" % (hashlib.sha256(read(d, name))
                                     .hexdigest(), name))
    write(d, "MANIFEST", "".join(out).encode())


def middle(d, probe):
    """The index in records.jsonl of PROBE's middle record."""
    idx = [i for i, x in enumerate(lines(d, "records.jsonl"))
           if json.loads(x)["probe"] == probe]
    if len(idx) < 3:
        sys.exit("probe %s: fewer than 3 records" % probe)
    return idx[len(idx) // 2]


def change_byte(d, probe):
    recs = lines(d, "records.jsonl")
    i = middle(d, probe)
    line = recs[i]
    # a digit of the record's time: still JSON, still a record
    j = line.index(b'"time":"') + len(b'"time":"') + 18
    d9 = bytes([ord("0") + (line[j] - ord("0") + 1) % 10])
    recs[i] = line[:j] + d9 + line[j + 1:]
    write_lines(d, "records.jsonl", recs)


def drop(d, probe):
    recs = lines(d, "records.jsonl")
    i = middle(d, probe)
    gone = json.loads(recs[i])
    del recs[i]
    write_lines(d, "records.jsonl", recs)
    inc = json.loads(read(d, "inclusion.json"))
    del inc["leaves"][i]
    write(d, "inclusion.json", json.dumps(inc).encode() + b"\n")
    bj = json.loads(read(d, "bundle.json"))
    bj["records"] -= 1
    for c in bj["chains"]:
        if c["probe"] == gone["probe"] and c["chain"] == gone["chain"]:
            c["count"] -= 1
    write(d, "bundle.json", json.dumps(bj).encode() + b"\n")


def swap(d, probe):
    recs = lines(d, "records.jsonl")
    i = middle(d, probe)
    recs[i], recs[i + 1] = recs[i + 1], recs[i]
    write_lines(d, "records.jsonl", recs)


def batches_of(d, probe):
    bs = [json.loads(x) for x in lines(d, "batches.jsonl")]
    return bs, [i for i, b in enumerate(bs) if b["probe"] == probe]


def write_batches(d, bs):
    write_lines(d, "batches.jsonl", [json.dumps(b, separators=(",", ":"))
                                     .encode() for b in bs])


def other_sig(d, probe):
    bs, idx = batches_of(d, probe)
    if len(idx) < 2:
        sys.exit("probe %s: fewer than 2 batches" % probe)
    bs[idx[0]]["sig"] = bs[idx[1]]["sig"]
    write_batches(d, bs)


def other_key(d, probe):
    pub = nacl.signing.SigningKey.generate().verify_key.encode()
    k = base64.b64encode(pub).decode()
    ps = [json.loads(x) for x in lines(d, "probes.jsonl")]
    for p in ps:
        if p["probe"] == probe:
            p["pubkey"] = k
    write_lines(d, "probes.jsonl", [json.dumps(p, separators=(",", ":"))
                                    .encode() for p in ps])
    bs, idx = batches_of(d, probe)
    for i in idx:
        bs[i]["pubkey"] = k
    write_batches(d, bs)


def resign(d, vkey_out):
    """The same text under a new key of the same name."""
    text = read(d, "checkpoint").decode()
    body = text.split("\n\n")[0] + "\n"
    name = body.split("\n")[0]
    sk = nacl.signing.SigningKey.generate()
    pub = sk.verify_key.encode()
    kid = hashlib.sha256(name.encode() + b"\n\x01" + pub).digest()[:4]
    sig = sk.sign(body.encode()).signature
    write(d, "checkpoint", ("%s\n\u2014 %s %s\n" % (
        body, name, base64.b64encode(kid + sig).decode())).encode())
    vkey = "%s+%s+%s" % (name, kid.hex(),
                         base64.b64encode(b"\x01" + pub).decode())
    if vkey_out:
        write(d, "collector.vkey", (vkey + "\n").encode())
        with open(vkey_out, "w") as f:
            f.write(vkey + "\n")


def unlist(d, name):
    ls = [x for x in lines(d, "MANIFEST")
          if not x.endswith(b"  " + name.encode())]
    write_lines(d, "MANIFEST", ls)


def hostile(d, out, kind):
    def member(name, kind=tarfile.REGTYPE, data=b"", link=""):
        m = tarfile.TarInfo(name)
        m.type, m.linkname, m.size = kind, link, len(data)
        tf.addfile(m, io.BytesIO(data) if data else None)

    top = "corewatch-bundle/"
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for name in sorted(os.listdir(d)):
            tf.add(os.path.join(d, name), top + name)
        evil = b"outside\n"
        if kind == "symlink":
            member(top + "evil", tarfile.SYMTYPE, link="/etc/passwd")
        elif kind == "dotdot":
            member(top + "../evil", data=evil)
        elif kind == "absolute":
            member("/tmp/evil", data=evil)
        elif kind == "outside":
            member("evil", data=evil)
        elif kind == "subdir":
            member(top + "d/evil", data=evil)
        elif kind == "hardlink":
            member(top + "evil", tarfile.LNKTYPE, link="/etc/passwd")
        elif kind == "fifo":
            member(top + "evil", tarfile.FIFOTYPE)
        elif kind == "twice":
            member(top + "records.jsonl", data=evil)
        else:
            sys.exit("unknown hostile kind %s" % kind)


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    d, op, args = sys.argv[1], sys.argv[2], sys.argv[3:]
    keep_manifest = False
    if op in ("byte", "byte-stale"):
        change_byte(d, args[0])
        keep_manifest = op == "byte-stale"
    elif op == "drop":
        drop(d, args[0])
    elif op == "swap":
        swap(d, args[0])
    elif op == "sig":
        other_sig(d, args[0])
    elif op == "key":
        other_key(d, args[0])
    elif op == "resign":
        resign(d, args[0])
    elif op == "resign-only":
        resign(d, None)
    elif op == "extra":
        write(d, "notes.txt", b"not in MANIFEST\n")
        keep_manifest = True
    elif op == "unlist":
        unlist(d, args[0])
        keep_manifest = True
    elif op.startswith("tar-"):
        hostile(d, args[0], op[4:])
        keep_manifest = True
    else:
        sys.exit("unknown OP %s" % op)
    if not keep_manifest:
        manifest(d)


if __name__ == "__main__":
    main()
