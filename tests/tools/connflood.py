#!/usr/bin/python3
"""connflood.py -- hostile clients of the collector for its scenario tests
(tests/scenario/collector_preauth.sh), on loopback only.

  connflood.py idle PORT --source ADDR --count N --duration S
      N connections that send nothing; one the collector closes is opened
      again (the flood keeps its size).
  connflood.py slow PORT --source ADDR --count N --duration S --interval S
      N connections that each send one byte of a request head every
      INTERVAL seconds and never finish it; reopened like `idle`.
  connflood.py body PORT --source ADDR --count N --duration S
      --length BYTES --auth VALUE
      N connections that each send a POST head with Content-Length BYTES
      and Authorization VALUE, then the body but for its last byte, as
      fast as the collector takes it, and hold on until DURATION is over.

Prints one line of counts at the end ("opened N closed N answered N
statuses CODE:N,...").  Every loop ends by DURATION; only 127.0.0.0/8 or
::1 is ever connected to.
"""
import argparse
import selectors
import socket
import sys
import time

SLOW_HEAD = b"POST /api/v1/batches HTTP/1.1\r\nHost: collector\r\nX-Slow: "


class Conn:
    def __init__(self, sock):
        self.sock = sock
        self.sent = 0           # bytes of the request sent
        self.answer = b""
        self.next_byte = 0.0    # monotonic time of the next slow byte


class Flood:
    def __init__(self, args):
        self.args = args
        self.sel = selectors.DefaultSelector()
        self.conns = {}
        self.opened = 0
        self.closed = 0
        self.statuses = {}
        if args.mode == "body":
            self.head = ("POST /api/v1/batches HTTP/1.1\r\nHost: collector\r\n"
                         "Content-Type: application/x-ndjson\r\n"
                         "Authorization: %s\r\nContent-Length: %d\r\n\r\n"
                         % (args.auth, args.length)).encode()
            self.chunk = b"x" * 65536

    def open_one(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        try:
            s.bind((self.args.source, 0))
            s.connect_ex(("127.0.0.1", self.args.port))
        except OSError:
            s.close()
            return False
        c = Conn(s)
        c.next_byte = time.monotonic() + self.args.interval
        self.conns[s.fileno()] = c
        events = selectors.EVENT_READ
        if self.args.mode == "body":
            events |= selectors.EVENT_WRITE
        self.sel.register(s, events, c)
        self.opened += 1
        return True

    def drop(self, c):
        if c.answer.startswith(b"HTTP/1."):
            code = c.answer.split(b" ", 2)[1].decode("ascii", "replace")
            self.statuses[code] = self.statuses.get(code, 0) + 1
        self.sel.unregister(c.sock)
        del self.conns[c.sock.fileno()]
        c.sock.close()
        self.closed += 1

    def write_body(self, c):
        total = len(self.head) + self.args.length - 1
        try:
            while c.sent < total:
                if c.sent < len(self.head):
                    data = self.head[c.sent:]
                else:
                    data = self.chunk[:total - c.sent]
                n = c.sock.send(data)
                if n <= 0:
                    break
                c.sent += n
        except BlockingIOError:
            return True
        except OSError:
            return False
        if c.sent >= total:
            self.sel.modify(c.sock, selectors.EVENT_READ, c)
        return True

    def read(self, c):
        try:
            data = c.sock.recv(65536)
        except BlockingIOError:
            return True
        except OSError:
            return False
        if not data:
            return False
        if len(c.answer) < 4096:
            c.answer += data[:4096]
        return True

    def trickle(self, now):
        for c in list(self.conns.values()):
            if now < c.next_byte:
                continue
            c.next_byte = now + self.args.interval
            byte = (SLOW_HEAD[c.sent:c.sent + 1] if c.sent < len(SLOW_HEAD)
                    else b"a")
            try:
                c.sock.send(byte)
                c.sent += 1
            except OSError:
                pass

    def run(self):
        end = time.monotonic() + self.args.duration
        while len(self.conns) < self.args.count and time.monotonic() < end:
            if not self.open_one():
                break
        while True:
            now = time.monotonic()
            if now >= end:
                break
            for key, ev in self.sel.select(timeout=min(0.2, end - now)):
                c = key.data
                if c.sock.fileno() not in self.conns:
                    continue
                ok = True
                if ev & selectors.EVENT_READ:
                    ok = self.read(c)
                if ok and ev & selectors.EVENT_WRITE:
                    ok = self.write_body(c)
                if not ok:
                    self.drop(c)
            if self.args.mode == "slow":
                self.trickle(time.monotonic())
            if self.args.mode != "body":
                # Keep the flood's size: open again what was closed.
                while (len(self.conns) < self.args.count and
                       time.monotonic() < end):
                    if not self.open_one():
                        break
        for c in list(self.conns.values()):
            self.read(c)
            if c.answer.startswith(b"HTTP/1."):
                code = c.answer.split(b" ", 2)[1].decode("ascii", "replace")
                self.statuses[code] = self.statuses.get(code, 0) + 1
            c.sock.close()
        print("opened %d closed %d answered %d statuses %s" % (
            self.opened, self.closed, sum(self.statuses.values()),
            ",".join("%s:%d" % kv for kv in sorted(self.statuses.items()))
            or "-"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("mode", choices=["idle", "slow", "body"])
    p.add_argument("port", type=int)
    p.add_argument("--source", default="127.0.0.1")
    p.add_argument("--count", type=int, required=True)
    p.add_argument("--duration", type=float, required=True)
    p.add_argument("--interval", type=float, default=10.0)
    p.add_argument("--length", type=int, default=16 << 20)
    p.add_argument("--auth", default="")
    args = p.parse_args()
    if not args.source.startswith("127."):
        sys.exit("connflood.py: only from 127.0.0.0/8")
    Flood(args).run()


if __name__ == "__main__":
    main()
