#!/usr/bin/python3
"""httpslow.py -- an HTTP responder that is slow or rude, for the HTTP
probe's tests (tests/scenario/http_nginx.sh, behind nginx or directly).

Listens on 127.0.0.1 (--port, or a free port written to --portfile),
reads one request and answers by its path:

    /slow     sleep --delay seconds (default 3), then 200 with the body
              "corewatch slow page\\n" and Connection: close
    /reset    reset the connection (SO_LINGER {1, 0}, close: an RST
              instead of a FIN) before any reply
    /garbage  answer bytes that are not HTTP, then close
    /hugeheader  a status line, then one header line of --huge-mb MiB
              (default 100) that never ends, then close
    /hugestatus  a status line of --huge-mb MiB that never ends, then
              close
    anything  404

Each request is logged to --log (when given) as one line: "MONOTONIC-
SECONDS PATH".  The responder exits by itself after --lifetime seconds.
"""
import argparse
import os
import socket
import socketserver
import struct
import sys
import threading
import time

SLOW_BODY = b"corewatch slow page\n"


def read_head(sock, limit=65536):
    """The request's head (up to the blank line), or what came before
    the peer closed or `limit` bytes were read."""
    data = b""
    while b"\r\n\r\n" not in data and len(data) < limit:
        chunk = sock.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def huge_line(sock, start, mib):
    """`start`, then `mib` MiB of "a" without a line end: one line the
    client must give up on (a client that does stops the sending)."""
    sock.sendall(start)
    chunk = b"a" * (1 << 20)
    for _ in range(mib):
        sock.sendall(chunk)


def answer(sock, status, reason, body):
    head = ("HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
            "Content-Length: %d\r\nConnection: close\r\n\r\n"
            % (status, reason, len(body))).encode()
    sock.sendall(head + body)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        srv = self.server
        sock = self.request
        try:
            head = read_head(sock)
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            parts = line.split()
            path = parts[1] if len(parts) >= 2 else ""
            path = path.split("?", 1)[0]
            if srv.log:
                with srv.lock, open(srv.log, "a") as f:
                    f.write("%.3f %s\n" % (time.monotonic(), path or "-"))
            if path == "/reset":
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                sock.close()
                return
            if path == "/garbage":
                sock.sendall(b"\x16\x03\x01 this is not HTTP\r\n\r\n")
                return
            if path == "/hugeheader":
                huge_line(sock, b"HTTP/1.1 200 OK\r\nX-Huge: ", srv.huge)
                return
            if path == "/hugestatus":
                huge_line(sock, b"HTTP/1.1 200 ", srv.huge)
                return
            if path == "/slow":
                time.sleep(srv.delay)
                answer(sock, 200, "OK", SLOW_BODY)
            else:
                answer(sock, 404, "Not Found", b"not found\n")
        except OSError:
            pass  # the client went away: nothing to tell anyone


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    # socketserver's default backlog of 5 drops most SYNs of a thousand
    # connections at once (the benchmark's memory figure).
    request_queue_size = 4096


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--portfile")
    ap.add_argument("--delay", type=float, default=3.0)
    ap.add_argument("--log")
    ap.add_argument("--lifetime", type=float, default=120)
    ap.add_argument("--huge-mb", type=int, default=100)
    a = ap.parse_args()
    srv = Server(("127.0.0.1", a.port), Handler)
    srv.delay = a.delay
    srv.huge = a.huge_mb
    srv.log = a.log
    srv.lock = threading.Lock()
    if a.log:
        open(a.log, "w").close()
    if a.portfile:
        with open(a.portfile + ".tmp", "w") as f:
            f.write("%d\n" % srv.server_address[1])
        os.rename(a.portfile + ".tmp", a.portfile)
    timer = threading.Timer(a.lifetime, srv.shutdown)
    timer.daemon = True
    timer.start()
    srv.serve_forever()
    srv.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
