#!/usr/bin/python3
"""verify.py -- an independent verifier of corewatch evidence bundles.

    verify.py [--vkey KEY|FILE] [--checkpoint FILE]... [--json] FILE.tar|DIR

Written from doc/evidence.md ("Evidence bundles", "Rebuilding the signed
body", "Checkpoints") and doc/protocol.md ("Records") alone, not from
corewatch's C sources, so that a reader need not trust corewatch's own
verifier either.  Python 3's standard library and python3-nacl (Debian:
python3-nacl) only.

It makes the checks of `corewatch verify`, prints their verdicts the same
way, and exits the same: 0 when every check holds, 1 when one fails, 2
when the bundle cannot be read at all or the command line is wrong.

A tar is read in memory, member by member: nothing is written to disk,
and a member that is not a regular file directly under
corewatch-bundle/ (a link, a device, a name with "..", an absolute
name, a name twice, a file over 4 GiB) refuses the whole bundle.
"""

import base64
import binascii
import bisect
import hashlib
import json
import os
import re
import stat
import sys
import tarfile

try:
    import nacl.exceptions
    import nacl.signing
except ImportError:  # pragma: no cover
    sys.stderr.write("verify.py: needs python3-nacl (Debian: python3-nacl)\n")
    sys.exit(2)

TOP = "corewatch-bundle"
FILES = ("README.txt", "bundle.json", "records.jsonl", "batches.jsonl",
         "probes.jsonl", "collector.vkey", "checkpoint", "inclusion.json")
MAX_FILE = 4 << 30
MAX_LINE = 65536
MAX_SEQ = 1 << 53
SHOWN = 10  # failures named per check; the rest counted
HEX32 = re.compile(r"^[0-9a-f]{32}$")
HEX64 = re.compile(r"^[0-9a-f]{64}$")
B64 = re.compile(r"^[A-Za-z0-9+/]*={0,2}$")
CHECKS = ("manifest", "probe keys", "records", "signatures", "chains",
          "checkpoint", "inclusion", "other checkpoints")


class Unreadable(Exception):
    """The bundle (or a file the command line names) cannot be read."""


def sha256(b):
    return hashlib.sha256(b).digest()


def b64(s, size=None):
    """Standard base64 with padding; None when it is not (or not SIZE)."""
    if not isinstance(s, str) or not B64.match(s) or len(s) % 4:
        return None
    try:
        raw = base64.b64decode(s, validate=True)
    except (binascii.Error, ValueError):
        return None
    if size is not None and len(raw) != size:
        return None
    return raw


def strict_json(text):
    """JSON as the collector takes it: no key twice, no NaN/Infinity."""
    def pairs(items):
        d = {}
        for k, v in items:
            if k in d:
                raise ValueError("key %s twice" % json.dumps(k))
            d[k] = v
        return d

    def const(name):
        raise ValueError("%s is not JSON" % name)
    try:
        return json.loads(text, object_pairs_hook=pairs,
                          parse_constant=const)
    except RecursionError:
        raise ValueError("nested too deep")


def is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def split_lines(data):
    """The lines of a file whose every line ends in a newline, or None."""
    if data == b"":
        return []
    if not data.endswith(b"\n"):
        return None
    return data[:-1].split(b"\n")


# --- reading the bundle ------------------------------------------------------

def member_name(name):
    """The file name of a tar member under corewatch-bundle/, "" for the
    directory itself; raises Unreadable for anything else."""
    if name in (TOP, TOP + "/"):
        return ""
    parts = name.split("/")
    if (len(parts) != 2 or parts[0] != TOP or parts[1] in ("", ".", "..")
            or "\0" in name):
        raise Unreadable("member %r: not a file directly under %s/"
                         % (name, TOP))
    return parts[1]


def read_tar(path):
    files = {}
    try:
        tf = tarfile.open(path, "r:*")
    except (tarfile.TarError, OSError, EOFError) as e:
        raise Unreadable("%s: not a tar archive (%s)" % (path, e))
    with tf:
        try:
            for m in tf:
                if ".." in m.name.split("/") or m.name.startswith("/"):
                    raise Unreadable("member %r: a name outside %s/"
                                     % (m.name, TOP))
                name = member_name(m.name)
                if name == "":
                    if not m.isdir():
                        raise Unreadable("member %r: not a directory"
                                         % m.name)
                    continue
                if not m.isreg():
                    raise Unreadable("member %r: not a regular file"
                                     % m.name)
                if m.size > MAX_FILE:
                    raise Unreadable("member %r: over 4 GiB" % m.name)
                if name in files:
                    raise Unreadable("member %r: in the archive twice"
                                     % m.name)
                f = tf.extractfile(m)
                data = f.read() if f is not None else b""
                if len(data) != m.size:
                    raise Unreadable("member %r: truncated" % m.name)
                files[name] = data
        except (tarfile.TarError, OSError, EOFError) as e:
            raise Unreadable("%s: a damaged tar archive (%s)" % (path, e))
    return files


def read_dir(path):
    files = {}
    try:
        entries = list(os.scandir(path))
    except OSError as e:
        raise Unreadable("%s: %s" % (path, e.strerror))
    for e in entries:
        st = e.stat(follow_symlinks=False)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("%s: not a regular file" % e.path)
        if st.st_size > MAX_FILE:
            raise Unreadable("%s: over 4 GiB" % e.path)
        try:
            fd = os.open(e.path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
            with os.fdopen(fd, "rb") as f:
                files[e.name] = f.read()
        except OSError as err:
            raise Unreadable("%s: %s" % (e.path, err.strerror))
    return files


def read_bundle(path):
    try:
        st = os.stat(path)
    except OSError as e:
        raise Unreadable("%s: %s" % (path, e.strerror))
    if stat.S_ISDIR(st.st_mode):
        inner = os.path.join(path, TOP)
        if not os.path.lexists(os.path.join(path, "MANIFEST")) and \
                os.path.isdir(inner) and not os.path.islink(inner):
            return read_dir(inner)  # the parent of what tar -x made
        return read_dir(path)
    return read_tar(path)


# --- keys and checkpoints ---------------------------------------------------

class VKey:
    def __init__(self, text):
        """Parse name+keyid+base64(0x01 || key); ValueError if not one."""
        text = text.strip("\n")
        parts = text.split("+", 2)
        if len(parts) != 3 or not parts[0] or "\n" in text:
            raise ValueError("not name+keyid+key")
        name, kid, key = parts
        if any(c.isspace() for c in name) or "+" in name:
            raise ValueError("a name with a space or a +")
        if not re.match(r"^[0-9a-f]{8}$", kid):
            raise ValueError("key id not 8 hex digits")
        raw = b64(key, 33)
        if raw is None or raw[0] != 1:
            raise ValueError("key not base64 of 0x01 and 32 bytes")
        self.name, self.text = name, text
        self.pub = raw[1:]
        self.keyid = sha256(name.encode() + b"\n\x01" + self.pub)[:4]
        if self.keyid.hex() != kid:
            raise ValueError("key id %s is not the key's (%s)"
                             % (kid, self.keyid.hex()))


def parse_checkpoint(data):
    """(origin, size, root, body, signature lines) of a checkpoint's
    text; ValueError saying why it is not one."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8")
    body, sep, sigs = text.partition("\n\n")
    if not sep:
        raise ValueError("no blank line before the signatures")
    lines = body.split("\n")
    if len(lines) != 3:
        raise ValueError("the text is %d lines, not 3" % len(lines))
    origin, size_s, root_s = lines
    if not origin or any(c.isspace() for c in origin):
        raise ValueError("origin empty or with a space")
    if not re.match(r"^(0|[1-9][0-9]{0,19})$", size_s):
        raise ValueError("size %r is not a decimal number" % size_s)
    size = int(size_s)
    if size >= 1 << 64:
        raise ValueError("size out of range")
    root = b64(root_s, 32)
    if root is None:
        raise ValueError("root hash not base64 of 32 bytes")
    if not sigs.endswith("\n"):
        raise ValueError("the signature lines do not end in a newline")
    parsed = []
    for line in sigs[:-1].split("\n"):
        m = re.match(r"^\u2014 (\S+) ([A-Za-z0-9+/=]+)$", line)
        raw = b64(m.group(2)) if m else None
        if raw is None or len(raw) < 5:
            raise ValueError("a malformed signature line")
        parsed.append((m.group(1), raw))
    return origin, size, root, (body + "\n").encode(), parsed


def checkpoint_signed(data, vkey):
    """(size, root) of a checkpoint that vkey signed; ValueError saying
    why not."""
    origin, size, root, msg, sigs = parse_checkpoint(data)
    if origin != vkey.name:
        raise ValueError("origin %r is not the key's name %r"
                         % (origin, vkey.name))
    mine = [raw for name, raw in sigs
            if name == vkey.name and raw[:4] == vkey.keyid]
    if not mine:
        raise ValueError("no signature by %s+%s" % (vkey.name,
                                                    vkey.keyid.hex()))
    for raw in mine:
        if len(raw) != 68:
            raise ValueError("the key's signature is not 64 bytes")
        try:
            nacl.signing.VerifyKey(vkey.pub).verify(msg, raw[4:])
        except nacl.exceptions.BadSignatureError:
            raise ValueError("the signature by %s does not verify"
                             % vkey.text)
    return size, root


def read_vkey_arg(arg):
    """--vkey: the key itself, or a file holding it on its first line."""
    try:
        return VKey(arg)
    except ValueError:
        pass
    try:
        with open(arg, "rb") as f:
            first = f.read(4096).decode("utf-8").split("\n")[0]
    except (OSError, UnicodeDecodeError) as e:
        raise Unreadable("--vkey %s: neither a verifier key nor a "
                         "readable file (%s)" % (arg, e))
    try:
        return VKey(first)
    except ValueError as e:
        raise Unreadable("--vkey %s: not a verifier key: %s" % (arg, e))


# --- the verdicts -------------------------------------------------------------

def plural(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


class Report:
    """One verdict per check (in CHECKS order) and one per chain."""

    def __init__(self):
        self.checks = {}
        self.chains = []

    def verdict(self, check, problems, summary):
        """Problems found by check (added to any it had), or its summary
        when it holds."""
        v = self.checks.setdefault(check, {"check": check, "problems": []})
        v["problems"] += problems
        v["summary"] = summary

    def chain(self, entry):
        self.chains.append(entry)

    def all_ok(self):
        return all(not v["problems"] for v in self.checks.values())

    def json(self, path, key_from_bundle):
        checks = []
        for c in CHECKS:
            v = self.checks[c]
            n = len(v["problems"])
            checks.append({"check": c, "ok": n == 0,
                           "summary": plural(n, "problem") if n else
                           v["summary"], "problems": n,
                           "named": v["problems"][:SHOWN]})
        return {"bundle": path, "ok": self.all_ok(),
                "key_from_bundle": key_from_bundle, "checks": checks,
                "chains": self.chains}

    def text(self, path, key_from_bundle):
        out = []
        j = self.json(path, key_from_bundle)
        for v in j["checks"]:
            out.append("%-5s %s: %s" % ("ok" if v["ok"] else "FAIL",
                                        v["check"], v["summary"]))
            out += ["      " + d for d in v["named"]]
            if v["problems"] > SHOWN:
                out.append("      and %d more" % (v["problems"] - SHOWN))
            if v["check"] != "chains":
                continue
            for c in j["chains"]:
                out.append("      %-5s probe %s chain %s: %s" % (
                    "ok" if c["ok"] else "FAIL", c["probe"], c["chain"],
                    c["summary"]))
                out += ["            " + d for d in c["problems"][:SHOWN]]
        failed = sum(1 for v in j["checks"] if not v["ok"])
        if failed:
            out.append("NOT verified: %d of %d checks fail"
                       % (failed, len(CHECKS)))
        else:
            out.append("verified: every check holds")
        return "\n".join(out) + "\n"


def where(r):
    return "probe %s chain %s seq %d" % (r["probe"], r["chain"], r["seq"])


# 1. manifest
def check_manifest(rep, files):
    problems = []
    man = files.get("MANIFEST")
    listed = {}
    if man is not None:
        lines = file_lines(files, "MANIFEST", problems)
        prev = None
        for n, line in enumerate(lines, 1):
            m = re.match(rb"^([0-9a-f]{64})  ([^/\n]+)$", line)
            if not m:
                problems.append("MANIFEST line %d: not <sha256>  <name>" % n)
                continue
            name = m.group(2).decode("utf-8", "replace")
            if name == "MANIFEST" or name in listed:
                problems.append("MANIFEST line %d: %s listed %s" % (
                    n, name, "twice" if name in listed else "itself"))
                continue
            if prev is not None and m.group(2) < prev:
                problems.append("MANIFEST line %d: %s out of order"
                                % (n, name))
            prev = m.group(2)
            listed[name] = m.group(1).decode()
    for name, digest in sorted(listed.items()):
        data = files.get(name)
        if data is None:
            problems.append("%s: listed in MANIFEST, missing" % name)
        elif hashlib.sha256(data).hexdigest() != digest:
            problems.append("%s: its SHA-256 is not the one MANIFEST lists"
                            % name)
    for name in sorted(files):
        if name != "MANIFEST" and name not in listed and man is not None:
            problems.append("%s: not listed in MANIFEST" % name)
    if man is None:
        problems.append("no MANIFEST")
    for name in FILES:
        if name not in files and name not in listed:
            problems.append("%s: missing" % name)
    rep.verdict("manifest", problems, "%d files, each as MANIFEST lists it"
                % len(listed))


def json_file(files, name, problems):
    """The JSON value a file holds, or None with the problem named."""
    if name not in files:
        problems.append("no %s" % name)
        return None
    try:
        return strict_json(files[name].decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:
        problems.append("%s: not JSON (%s)" % (name, e))
        return None


def file_lines(files, name, problems):
    """The lines of a file whose every line ends in a newline."""
    data = files.get(name)
    if data is None:
        problems.append("no %s" % name)
        return []
    lines = split_lines(data)
    if lines is None:
        problems.append("%s: the last line has no newline" % name)
        lines = data.split(b"\n")
    return lines


def jsonl(files, name, problems):
    """The JSON objects of a JSON-lines file; problems named by line."""
    lines = file_lines(files, name, problems)
    out = []
    for n, line in enumerate(lines, 1):
        try:
            obj = strict_json(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("%s line %d: not JSON (%s)" % (name, n, e))
            continue
        if not isinstance(obj, dict):
            problems.append("%s line %d: not an object" % (name, n))
            continue
        out.append((n, obj))
    return out


# 2. probe keys
def check_probe_keys(rep, files, records, batches):
    problems = []
    keys = {}
    prev = None
    for n, p in jsonl(files, "probes.jsonl", problems):
        pid, pk = p.get("probe"), p.get("pubkey")
        if not isinstance(pid, str) or not HEX32.match(pid):
            problems.append("probes.jsonl line %d: probe not 32 hex digits"
                            % n)
            continue
        raw = b64(pk, 32)
        if raw is None:
            problems.append("probes.jsonl line %d: probe %s: pubkey not "
                            "base64 of 32 bytes" % (n, pid))
            continue
        if pid in keys:
            problems.append("probes.jsonl line %d: probe %s twice" % (n, pid))
            continue
        if prev is not None and pid < prev:
            problems.append("probes.jsonl line %d: probe %s out of order"
                            % (n, pid))
        prev = pid
        if sha256(raw)[:16].hex() != pid:
            problems.append("probes.jsonl line %d: probe %s: the key's "
                            "SHA-256 does not start with the id" % (n, pid))
            continue
        keys[pid] = pk
    named = set()
    for r in records:
        if r["probe"] not in keys and r["probe"] not in named:
            named.add(r["probe"])
            problems.append("probe %s (records.jsonl line %d): no valid key "
                            "in probes.jsonl" % (r["probe"], r["n"]))
    for n, b in batches:
        pid = b.get("probe")
        if not isinstance(pid, str):
            continue
        if pid not in keys:
            if pid not in named:
                named.add(pid)
                problems.append("probe %s (batches.jsonl line %d): no valid "
                                "key in probes.jsonl" % (pid, n))
        elif b.get("pubkey") != keys[pid]:
            problems.append("batches.jsonl line %d: probe %s: pubkey is not "
                            "the key of probes.jsonl" % (n, pid))
    rep.verdict("probe keys", problems, "%d probes, each key its id's"
                % len(keys))
    return {pid: base64.b64decode(pk) for pid, pk in keys.items()}


def record_problem(obj, size):
    """What is wrong with one record's envelope (protocol.md), or None."""
    if size > MAX_LINE:
        return "longer than 65,536 bytes"
    for k, rx in (("probe", HEX32), ("chain", HEX32), ("prev", HEX64)):
        v = obj.get(k)
        if not isinstance(v, str) or not rx.match(v):
            return '"%s" missing or not lower-case hex' % k
    seq = obj.get("seq")
    if not is_int(seq) or not 1 <= seq <= MAX_SEQ:
        return '"seq" missing or not an integer from 1 to 2^53'
    if (seq == 1) != (obj["prev"] == "0" * 64):
        return '"prev" %s' % ("not zeros at seq 1" if seq == 1
                              else "of zeros after seq 1")
    if not isinstance(obj.get("type"), str) or not obj["type"]:
        return '"type" missing or not a string'
    if obj["type"] == "loss":
        lost = obj.get("lost")
        if not isinstance(lost, dict):
            return 'a loss record without "lost"'
        f, l = lost.get("first_seq"), lost.get("last_seq")
        if not (is_int(f) and is_int(l) and 1 <= f <= l < seq):
            return ('"lost" not first_seq <= last_seq < the record\'s '
                    'own seq')
    return None


# 3. records
def check_records(rep, files):
    problems = []
    records = []
    lines = file_lines(files, "records.jsonl", problems)
    prev = None
    for n, line in enumerate(lines, 1):
        try:
            obj = strict_json(line.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("records.jsonl line %d: not a record: %s"
                            % (n, e))
            continue
        if not isinstance(obj, dict):
            problems.append("records.jsonl line %d: not an object" % n)
            continue
        why = record_problem(obj, len(line))
        if why:
            problems.append("records.jsonl line %d: %s" % (n, why))
            continue
        r = {"n": n, "line": line, "probe": obj["probe"],
             "chain": obj["chain"], "seq": obj["seq"], "prev": obj["prev"],
             "type": obj["type"], "lost": obj.get("lost")}
        key = (r["probe"], r["chain"], r["seq"])
        if prev is not None and key <= prev:
            # not taken: which of two lines of one seq would be the record?
            problems.append("records.jsonl line %d: %s %s" % (
                n, where(r), "twice" if key == prev else "out of order"))
            continue
        prev = key
        records.append(r)
    # bundle.json: its format, and its counts against the records.
    bj = json_file(files, "bundle.json", problems)
    if bj is not None:
        if not isinstance(bj, dict) or bj.get("format") != \
                "corewatch-bundle-v1":
            problems.append('bundle.json: format is not "corewatch-bundle-v1"')
        else:
            if bj.get("records") != len(lines):
                problems.append("bundle.json: records is %s, records.jsonl "
                                "holds %d" % (json.dumps(bj.get("records")),
                                              len(lines)))
            want = []
            for r in records:
                if want and want[-1]["probe"] == r["probe"] and \
                        want[-1]["chain"] == r["chain"]:
                    want[-1]["last_seq"] = r["seq"]
                    want[-1]["count"] += 1
                else:
                    want.append({"probe": r["probe"], "chain": r["chain"],
                                 "first_seq": r["seq"], "last_seq": r["seq"],
                                 "count": 1})
            chains = bj.get("chains")
            if not isinstance(chains, list) or len(chains) != len(want) or \
                    any(not isinstance(c, dict) or
                        any(c.get(k) != w[k] for k in w)
                        for c, w in zip(chains, want)):
                problems.append("bundle.json: chains is not what "
                                "records.jsonl holds")
    rep.verdict("records", problems, "%d records" % len(records))
    return records


def parse_seqs(b):
    """The seqs of a batch (evidence.md, step 1), or a ValueError."""
    first, last, count, seqs = (b.get("first_seq"), b.get("last_seq"),
                                b.get("count"), b.get("seqs"))
    if not (is_int(first) and is_int(last) and is_int(count)
            and 1 <= first <= last <= MAX_SEQ):
        raise ValueError("first_seq, last_seq or count malformed")
    if seqs is None:
        out = list(range(first, last + 1))
    elif isinstance(seqs, str):
        out = []
        for piece in seqs.split(","):
            m = re.match(r"^([1-9][0-9]*)(?:-([1-9][0-9]*))?$", piece)
            if not m:
                raise ValueError("seqs %r malformed" % seqs)
            a = int(m.group(1))
            z = int(m.group(2)) if m.group(2) else a
            if z < a or (out and a <= out[-1]) or z > last:
                raise ValueError("seqs %r not ascending within the batch"
                                 % seqs)
            out.extend(range(a, z + 1))
    else:
        raise ValueError("seqs neither null nor a string")
    if len(out) != count or out[0] != first or out[-1] != last:
        raise ValueError("seqs, first_seq, last_seq and count disagree")
    return out


def parse_forks(b):
    forks = {}
    if not isinstance(b.get("forks"), list):
        raise ValueError("forks is not an array")
    for f in b["forks"]:
        if not isinstance(f, dict) or not is_int(f.get("seq")) or \
                not isinstance(f.get("line"), str) or \
                not isinstance(f.get("hash"), str):
            raise ValueError("a forks entry malformed")
        line = f["line"].encode("utf-8")
        if hashlib.sha256(line).hexdigest() != f["hash"]:
            raise ValueError("forks: the line of seq %d is not its hash"
                             % f["seq"])
        if f["seq"] in forks:
            raise ValueError("forks: seq %d twice" % f["seq"])
        forks[f["seq"]] = line
    return forks


# 4. signatures
def check_signatures(rep, files, records, batches, keys):
    problems = []
    by_key = {(r["probe"], r["chain"], r["seq"]): r for r in records}
    covered = set()
    good = 0
    forks_seen = {}
    for n, b in batches:
        what = "batches.jsonl line %d" % n
        pid, chain = b.get("probe"), b.get("chain")
        if not (isinstance(pid, str) and HEX32.match(pid) and
                isinstance(chain, str) and HEX32.match(chain)):
            problems.append("%s: probe or chain malformed" % what)
            continue
        what += " (probe %s chain %s seqs %s-%s)" % (
            pid, chain, b.get("first_seq"), b.get("last_seq"))
        try:
            seqs = parse_seqs(b)
            forks = parse_forks(b)
        except ValueError as e:
            problems.append("%s: %s" % (what, e))
            continue
        body, used, lacking = [], [], None
        for s in seqs:
            if s in forks:
                body.append(forks[s])
                forks_seen[(pid, chain, s)] = forks[s]
                continue
            r = by_key.get((pid, chain, s))
            if r is None:
                lacking = s
                break
            body.append(r["line"])
            used.append((pid, chain, s))
        if lacking is not None:
            problems.append("%s: needs seq %d, not in the bundle"
                            % (what, lacking))
            continue
        if len(forks) != len(set(forks) & set(seqs)):
            problems.append("%s: forks names a seq the batch does not hold"
                            % what)
            continue
        digest = hashlib.sha256(b"".join(x + b"\n" for x in body)).hexdigest()
        if digest != b.get("body_sha256"):
            problems.append("%s: the rebuilt body's SHA-256 is not "
                            "body_sha256" % what)
            continue
        sig = b64(b.get("sig"), 64)
        if sig is None:
            problems.append("%s: sig not base64 of 64 bytes" % what)
            continue
        if pid not in keys:
            problems.append("%s: no valid key for the probe" % what)
            continue
        msg = ("corewatch-batch-v1\n%s\n%s\n" % (pid, digest)).encode()
        try:
            nacl.signing.VerifyKey(keys[pid]).verify(msg, sig)
        except nacl.exceptions.BadSignatureError:
            problems.append("%s: the signature does not verify" % what)
            continue
        good += 1
        covered.update(used)
    bare = {}
    for r in records:
        if (r["probe"], r["chain"], r["seq"]) not in covered:
            bare.setdefault((r["probe"], r["chain"]), []).append(r["seq"])
    for (pid, chain), seqs in sorted(bare.items()):
        problems.append("probe %s chain %s seqs %s: covered by no batch "
                        "whose signature holds" % (pid, chain, ranges(seqs)))
    rep.verdict("signatures", problems, "%d batches verify, every record "
                "covered" % good)
    return forks_seen


def ranges(seqs):
    out = []
    for s in seqs:
        if out and out[-1][1] == s - 1:
            out[-1][1] = s
        else:
            out.append([s, s])
    return ",".join("%d" % a if a == z else "%d-%d" % (a, z)
                    for a, z in out)


# 5. chains
def check_chains(rep, records, forks):
    chains = {}
    for r in records:
        chains.setdefault((r["probe"], r["chain"]), []).append(r)
    named, holes_all, explained_all = [], 0, 0
    for (pid, chain), rs in sorted(chains.items()):
        rs = sorted(rs, key=lambda r: r["seq"])
        losses = [r["lost"] for r in rs if r["type"] == "loss"]
        problems, notes = [], []
        holes = explained = went_on = 0
        for a, z in zip(rs, rs[1:]):
            if z["seq"] == a["seq"]:
                continue  # the records check names it
            if z["seq"] > a["seq"] + 1:
                lo, hi = a["seq"] + 1, z["seq"] - 1
                holes += 1
                if any(l["first_seq"] <= lo and l["last_seq"] >= hi
                       for l in losses):
                    explained += 1
                else:
                    problems.append("seq %d-%d missing, and no loss record "
                                    "of the chain explains them" % (lo, hi))
                continue
            if z["prev"] == hashlib.sha256(a["line"]).hexdigest():
                continue
            fork = forks.get((pid, chain, a["seq"]))
            if fork is not None and \
                    z["prev"] == hashlib.sha256(fork).hexdigest():
                notes.append("seq %d follows the probe's equivocation of "
                             "seq %d" % (z["seq"], a["seq"]))
                went_on = went_on or z["seq"]
                continue
            problems.append("seq %d (records.jsonl line %d): its prev is not "
                            "the hash of seq %d" % (z["seq"], z["n"],
                                                    a["seq"]))
        if rs[0]["seq"] == 1 and rs[0]["prev"] != "0" * 64:
            problems.append("seq 1: its prev is not 64 zeros")
        summary = "seq %d-%d, %s" % (rs[0]["seq"], rs[-1]["seq"],
                                     plural(len(rs), "record"))
        if holes:
            summary += ", %s (%d explained)" % (plural(holes, "hole"),
                                                explained)
        if notes:
            summary += "; " + "; ".join(notes)
        holes_all += holes
        explained_all += explained
        if problems:
            named.append("probe %s, chain %s: %s" % (
                pid, chain, plural(len(problems), "problem")))
        rep.chain({"probe": pid, "chain": chain, "ok": not problems,
                   "first_seq": rs[0]["seq"], "last_seq": rs[-1]["seq"],
                   "count": len(rs), "holes": holes, "explained": explained,
                   "went_on": went_on, "summary": summary,
                   "problems": problems})
    rep.verdict("chains", named, "%s linked; %s, %d explained by a loss "
                "record" % (plural(len(chains), "chain"),
                            plural(holes_all, "hole"), explained_all))


# 6. checkpoint
def check_checkpoint(rep, files, given):
    """The trusted key, and the bundle checkpoint's (size, root) when the
    trusted key signed it (None otherwise: nothing can be included in a
    tree the collector did not sign)."""
    problems = []
    bundled = None
    if "collector.vkey" not in files:
        problems.append("no collector.vkey")
    else:
        try:
            text = files["collector.vkey"].decode("utf-8")
            if text.endswith("\n"):
                text = text[:-1]
            bundled = VKey(text)
        except (UnicodeDecodeError, ValueError) as e:
            problems.append("collector.vkey: not a verifier key (%s)" % e)
    key = given or bundled
    if given is not None and bundled is not None and \
            bundled.text != given.text:
        problems.append("collector.vkey is not the key given with --vkey "
                        "(%s)" % given.text)
    cp = None
    if "checkpoint" not in files:
        problems.append("no checkpoint")
    else:
        try:
            origin = parse_checkpoint(files["checkpoint"])[0]
            if key is not None:
                cp = checkpoint_signed(files["checkpoint"], key)
        except ValueError as e:
            problems.append("checkpoint: %s" % e)
    if cp is not None:
        try:
            bj = strict_json(files.get("bundle.json", b"").decode("utf-8"))
            bo = bj.get("origin") if isinstance(bj, dict) else None
        except (UnicodeDecodeError, ValueError):
            bo = None
        if bo != origin:
            problems.append("bundle.json: origin is not the checkpoint's")
    if given is not None:
        src = "the key given with --vkey"
    else:
        src = ("the key taken from the bundle itself (collector.vkey): this "
               "proves only that the bundle agrees with itself; give --vkey "
               "the key as the collector published it")
    rep.verdict("checkpoint", problems, "size %d, signed by %s"
                % (cp[0] if cp else 0, src))
    return key, cp


def subtree_root(lo, hi, leaves, nodes, used):
    """root(lo, hi) of evidence.md: leaves["line"] maps the bundle's leaf
    indexes to their lines, leaves["any"](lo, hi) says whether one is in
    [lo, hi); nodes maps (level, index) to a hash, and what is taken of
    it goes into used.  Raises ValueError for a missing node.  The
    recursion is as deep as the tree: 64 levels at most."""
    n = hi - lo
    has = leaves["any"](lo, hi)
    if not has and n & (n - 1) == 0:
        level = n.bit_length() - 1
        k = (level, lo >> level)
        if k not in nodes:
            raise ValueError("no node for leaves %d-%d" % (lo, hi - 1))
        used.add(k)
        return nodes[k]
    if n == 1:
        return sha256(b"\x00" + leaves["line"][lo])
    k = 1 << ((n - 1).bit_length() - 1)
    return sha256(b"\x01" + subtree_root(lo, lo + k, leaves, nodes, used) +
                  subtree_root(lo + k, hi, leaves, nodes, used))


# 7. inclusion
def check_inclusion(rep, files, records, cp):
    problems = []
    inc = json_file(files, "inclusion.json", problems)
    if inc is not None and not (isinstance(inc, dict) and
                                is_int(inc.get("size")) and
                                isinstance(inc.get("leaves"), list) and
                                isinstance(inc.get("nodes"), list)):
        problems.append("inclusion.json: not {size, leaves, nodes}")
        inc = None
    if inc is not None and cp is None:
        problems.append("no checkpoint signed by the trusted key to "
                        "compute the root against")
    if inc is not None and cp is not None:
        size, root = cp
        if inc["size"] != size:
            problems.append("inclusion.json: size %d, the checkpoint's is %d"
                            % (inc["size"], size))
        raw = file_lines(files, "records.jsonl", [])
        named = {r["n"]: where(r) for r in records}
        if len(inc["leaves"]) != len(raw):
            problems.append("inclusion.json: %d leaves for %d lines of "
                            "records.jsonl" % (len(inc["leaves"]), len(raw)))
        lines = {}
        for n, (line, leaf) in enumerate(zip(raw, inc["leaves"]), 1):
            what = "records.jsonl line %d" % n
            if n in named:
                what += ": " + named[n]
            if leaf is None:
                problems.append("%s: in no leaf (stored before the "
                                "collector kept a log)" % what)
            elif not is_int(leaf) or not 0 <= leaf < size:
                problems.append("%s: leaf %s not below the checkpoint's "
                                "size %d" % (what, json.dumps(leaf), size))
            elif leaf in lines:
                problems.append("%s: leaf %d claimed twice" % (what, leaf))
            else:
                lines[leaf] = line
        nodes, prev = {}, None
        for e in inc["nodes"]:
            if not (isinstance(e, list) and len(e) == 3 and is_int(e[0])
                    and is_int(e[1]) and 0 <= e[0] < 64 and e[1] >= 0
                    and b64(e[2], 32) is not None):
                problems.append("inclusion.json: node %s malformed"
                                % json.dumps(e)[:80])
                continue
            k = (e[0], e[1])
            if prev is not None and k <= prev:
                problems.append("inclusion.json: node [%d,%d] out of order"
                                % k)
                continue
            prev = k
            nodes[k] = b64(e[2], 32)
        if not problems:
            order = sorted(lines)
            leaves = {"line": lines,
                      "any": lambda lo, hi: bisect.bisect_left(order, lo) <
                      bisect.bisect_left(order, hi)}
            used = set()
            try:
                if size == 0:
                    got = sha256(b"")
                else:
                    got = subtree_root(0, size, leaves, nodes, used)
                if got != root:
                    problems.append("the root computed from the records and "
                                    "inclusion.json is not the "
                                    "checkpoint's")
                unused = sorted(set(nodes) - used)
                if unused:
                    problems.append("inclusion.json: node [%d,%d] not used"
                                    % unused[0])
            except ValueError as e:
                problems.append("inclusion.json: %s" % e)
    rep.verdict("inclusion", problems, "%d records in the log of %d leaves"
                % (len(records), cp[0] if cp else 0))


# 8. other checkpoints
def check_others(rep, others, key, cp):
    problems, same, other = [], 0, 0
    for path, data in others:
        if key is None:
            problems.append("%s: no key to check it with" % path)
            continue
        try:
            size, root = checkpoint_signed(data, key)
        except ValueError as e:
            problems.append("%s: %s" % (path, e))
            continue
        if cp is None:
            problems.append("%s: size %d, and no bundle checkpoint to "
                            "compare it with" % (path, size))
        elif size != cp[0]:
            other += 1
        elif root != cp[1]:
            problems.append("%s: size %d with another root than the "
                            "bundle's: the log forked" % (path, size))
        else:
            same += 1
    rep.verdict("other checkpoints", problems, "%d given: %d of the bundle's "
                "size agree with it, %d of another size not compared"
                % (len(others), same, other))


def verify(files, given, others):
    rep = Report()
    check_manifest(rep, files)
    records = check_records(rep, files)
    batch_problems = []
    batches = jsonl(files, "batches.jsonl", batch_problems)
    keys = check_probe_keys(rep, files, records, batches)
    forks = check_signatures(rep, files, records, batches, keys)
    rep.verdict("signatures", batch_problems,
                rep.checks["signatures"]["summary"])
    check_chains(rep, records, forks)
    key, cp = check_checkpoint(rep, files, given)
    check_inclusion(rep, files, records, cp)
    check_others(rep, others, key, cp)
    return rep


def usage():
    sys.stderr.write("usage: verify.py [--vkey KEY|FILE] [--checkpoint "
                     "FILE]... [--json] FILE.tar|DIR\n")
    sys.exit(2)


def main(argv):
    given, cps, as_json, path = None, [], False, None
    i = 0
    try:
        while i < len(argv):
            a = argv[i]
            if a in ("--vkey", "--checkpoint") and i + 1 < len(argv):
                if a == "--vkey":
                    if given is not None:
                        usage()
                    given = read_vkey_arg(argv[i + 1])
                else:
                    try:
                        with open(argv[i + 1], "rb") as f:
                            cps.append((argv[i + 1], f.read(1 << 20)))
                    except OSError as e:
                        raise Unreadable("--checkpoint %s: %s"
                                         % (argv[i + 1], e.strerror))
                i += 2
            elif a == "--json":
                as_json = True
                i += 1
            elif a.startswith("-") or path is not None:
                usage()
            else:
                path = a
                i += 1
        if path is None:
            usage()
        files = read_bundle(path)
    except Unreadable as e:
        sys.stderr.write("verify.py: %s\n" % e)
        return 2
    rep = verify(files, given, cps)
    if as_json:
        print(json.dumps(rep.json(path, given is None)))
    else:
        sys.stdout.write(rep.text(path, given is None))
    return 0 if rep.all_ok() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
