#!/usr/bin/python3
"""httpfault.py -- a misbehaving collector for the uploader's tests.

Listens on 127.0.0.1 (a free port, written to --portfile) and answers
POST /api/v1/batches by a script, one item per request, in turn:

    CODE          answer CODE with a JSON error body
    CODE:SECS     the same with Retry-After: SECS
    CODE@SECS     the same with Retry-After as the HTTP date SECS ahead
    fwd           forward the request to --forward (the real collector)
                  and relay its answer
    ...xN         repeat the item N times

When the script is used up, every request is forwarded (or, without
--forward, answered 503).  A request in absolute form ("POST
http://HOST:PORT/api/v1/batches", as clients send to an HTTP proxy)
is taken as well, so the responder doubles as the uploader's proxy.
Each request is logged to --log as one line: "N MONOTONIC-SECONDS
STATUS FIRST-SEQ LAST-SEQ FORM" (seqs read from the gzipped body; FORM
"origin" or "absolute").  The responder exits by itself after --lifetime seconds.
"""
import argparse
import email.utils
import gzip
import http.client
import http.server
import json
import os
import sys
import threading
import time
import urllib.parse


def parse_script(text):
    items = []
    for item in filter(None, (text or "").split(",")):
        count = 1
        if "x" in item and item != "fwd":
            item, n = item.rsplit("x", 1)
            count = int(n)
        items.extend([item] * count)
    return items


def seqs(body, encoding):
    try:
        if encoding == "gzip":
            body = gzip.decompress(body)
        lines = body.split(b"\n")
        first = json.loads(lines[0])["seq"]
        last = json.loads([l for l in lines if l][-1])["seq"]
        return first, last
    except Exception:  # a test tool: anything unreadable is "-"
        return "-", "-"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def answer(self, code, body, headers=()):
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def forward(self, body):
        u = urllib.parse.urlsplit(self.server.forward)
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=30)
        headers = {k: self.headers[k] for k in
                   ("Content-Type", "Content-Encoding", "Authorization")
                   if self.headers[k] is not None}
        path = urllib.parse.urlsplit(self.path).path or "/"
        conn.request("POST", path, body=body, headers=headers)
        r = conn.getresponse()
        data = r.read()
        extra = [("Retry-After", r.getheader("Retry-After"))] \
            if r.getheader("Retry-After") else []
        conn.close()
        return r.status, data, extra

    def do_POST(self):
        srv = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with srv.lock:
            srv.count += 1
            n = srv.count
            item = srv.script[n - 1] if n <= len(srv.script) else "fwd"
        if item == "fwd" and srv.forward:
            try:
                code, data, extra = self.forward(body)
            except OSError as e:
                code, data, extra = 502, json.dumps(
                    {"error": "bad_gateway", "detail": str(e)}).encode(), []
        else:
            code = 503 if item == "fwd" else int(item.split(":")[0]
                                                  .split("@")[0])
            extra = []
            if ":" in item:
                extra = [("Retry-After", item.split(":", 1)[1])]
            elif "@" in item:
                when = time.time() + float(item.split("@", 1)[1])
                extra = [("Retry-After",
                          email.utils.formatdate(when, usegmt=True))]
            data = json.dumps({"error": "scripted",
                               "detail": "request %d: %s" % (n, item)}
                              ).encode() + b"\n"
        first, last = seqs(body, self.headers.get("Content-Encoding"))
        with srv.lock:
            with open(srv.log, "a") as f:
                f.write("%d %.3f %d %s %s %s\n" % (
                    n, time.monotonic(), code, first, last,
                    "absolute" if self.path.startswith("http://")
                    else "origin"))
        self.answer(code, data, extra)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--script", default="")
    ap.add_argument("--forward")
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    a = ap.parse_args()
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    srv.daemon_threads = True
    srv.script = parse_script(a.script)
    srv.forward = a.forward
    srv.log = a.log
    srv.count = 0
    srv.lock = threading.Lock()
    open(a.log, "w").close()
    with open(a.portfile + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(a.portfile + ".tmp", a.portfile)
    threading.Timer(a.lifetime, srv.shutdown).start()
    srv.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
