#!/usr/bin/python3
"""dnsfault.py -- a DNS responder that misbehaves on purpose, for tests.

It answers real DNS over UDP and TCP on one port of 127.0.0.1 and ::1 and
breaks the answer in the way --mode says.  It writes "PORT PID" to
--portfile once every socket listens, appends one line per query received
to --log ("udp|tcp ID QNAME"), and exits by itself after --lifetime
seconds.  Only loopback addresses are ever used.

Modes (the transport not named behaves normally):
  normal          SOA of the asked name (TXT "dnsfault" for TXT), NSID
                  when asked for
  silent          never answers
  slow            answers after --delay-ms
  wrong-id        the answer carries another message ID
  wrong-question  the answer is for another name
  garbage         40 bytes that are not DNS
  short           the first 6 bytes of the answer
  lying-header    the answer with ANCOUNT raised by 5
  truncated       UDP: TC=1 and no records; TCP: the full answer
  slow-truncated  truncated, each answer after --delay-ms
  double          UDP: the answer, then 20 ms later a different one
  dup             UDP: the answer twice, byte for byte
  servfail, nxdomain, rcode-refused   that rcode
  proxy           NXDOMAIN with RA set and AA clear for every query, as a
                  transparent proxy's resolver answers a root address
  nodata          NOERROR with an empty answer section (the SOA in the
                  authority section, AA set): NODATA, even for the apex
  tcp-http        TCP: reads the query, answers an HTTP 400 and closes
  tcp-tls         TCP: reads the query, answers a TLS alert and closes
  tcp-oversize    TCP: the announced message followed by 5 more bytes
  tcp-short       TCP: announces the length, sends half, closes
  tcp-close       TCP: reads the query and closes (FIN)
  tcp-reset       TCP: reads the query and resets (RST)
  tcp-tiny        TCP: announces a 5-byte message and sends it
  tcp-silent      TCP: reads the query and never answers
  tcp-dribble     TCP: the answer one byte per segment, 2 ms apart
  refused         listens on nothing: the port is free (ICMP / RST)
"""

import argparse
import os
import signal
import socket
import struct
import sys
import threading
import time

import dns.edns
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

MODES = (
    "normal", "silent", "slow", "wrong-id", "wrong-question", "garbage",
    "short", "lying-header", "truncated", "slow-truncated", "double",
    "dup", "servfail", "nxdomain", "rcode-refused", "tcp-oversize",
    "tcp-short", "tcp-close", "tcp-reset", "tcp-tiny", "tcp-silent",
    "tcp-dribble", "refused", "proxy", "nodata", "tcp-http", "tcp-tls",
)
SERIAL = 2024010101
NSID = b"dnsfault"
GARBAGE = b"\xde\xad\xbe\xef" * 10
HTTP_400 = (b"HTTP/1.1 400 Bad Request\r\nServer: nginx\r\n"
            b"Content-Type: text/html\r\nContent-Length: 0\r\n"
            b"Connection: close\r\n\r\n")
# A TLS 1.2 record: alert, fatal, decode_error.
TLS_ALERT = b"\x15\x03\x03\x00\x02\x02\x32"


class Responder:
    def __init__(self, args):
        self.mode = args.mode
        self.delay = args.delay_ms / 1000.0
        self.log_path = args.log
        self.lock = threading.Lock()

    def log(self, proto, wire):
        if not self.log_path:
            return
        qid = struct.unpack("!H", wire[:2])[0] if len(wire) >= 2 else -1
        try:
            qname = dns.message.from_wire(wire).question[0].name
        except Exception:
            qname = "?"
        with self.lock, open(self.log_path, "a") as f:
            f.write("%s %d %s\n" % (proto, qid, qname))

    def answer(self, wire, serial=SERIAL, rcode=dns.rcode.NOERROR):
        """The correct answer to the query `wire` (None if unparsable)."""
        try:
            q = dns.message.from_wire(wire)
        except Exception:
            return None
        r = dns.message.make_response(q)
        r.flags |= dns.flags.AA
        r.set_rcode(rcode)
        if not q.question:
            return r
        qq = q.question[0]
        if rcode == dns.rcode.NOERROR and qq.rdtype == dns.rdatatype.SOA:
            r.answer.append(dns.rrset.from_text(
                qq.name, 3600, qq.rdclass, dns.rdatatype.SOA,
                "ns.fault. hostmaster.fault. %d 1800 900 604800 86400"
                % serial))
        elif rcode == dns.rcode.NOERROR and qq.rdtype == dns.rdatatype.TXT:
            r.answer.append(dns.rrset.from_text(
                qq.name, 0, qq.rdclass, dns.rdatatype.TXT, '"dnsfault"'))
        if q.edns >= 0:
            opts = []
            if any(o.otype == dns.edns.NSID for o in q.options):
                opts.append(dns.edns.GenericOption(dns.edns.NSID, NSID))
            r.use_edns(0, 0, 1232, options=opts)
        return r

    def reply_wire(self, wire, proto):
        """The bytes to send for this mode, or None for no reply."""
        m = self.mode
        if m == "silent" or (m == "tcp-silent" and proto == "tcp"):
            return None
        if m == "garbage":
            return GARBAGE
        rcode = {"servfail": dns.rcode.SERVFAIL,
                 "nxdomain": dns.rcode.NXDOMAIN,
                 "proxy": dns.rcode.NXDOMAIN,
                 "rcode-refused": dns.rcode.REFUSED}.get(
                     m, dns.rcode.NOERROR)
        r = self.answer(wire, rcode=rcode)
        if r is None:
            return None
        if m == "proxy":
            r.flags = (r.flags | dns.flags.RA) & ~dns.flags.AA
        elif m == "nodata":
            r.authority = [rr for rr in r.answer
                           if rr.rdtype == dns.rdatatype.SOA]
            r.answer = []
        elif m == "wrong-id":
            r.id ^= 0x5a5a
        elif m == "wrong-question":
            q = r.question[0]
            r.question = [dns.rrset.RRset(dns.name.from_text(
                "wrong.example."), q.rdclass, q.rdtype)]
            r.answer = []
        elif m in ("truncated", "slow-truncated") and proto == "udp":
            r.flags |= dns.flags.TC
            r.answer = []
        out = bytearray(r.to_wire())
        if m == "short":
            return bytes(out[:6])
        if m == "lying-header":
            an = struct.unpack("!H", out[6:8])[0] + 5
            out[6:8] = struct.pack("!H", an)
        return bytes(out)

    # --- UDP ---------------------------------------------------------
    def serve_udp(self, sock):
        while True:
            try:
                wire, peer = sock.recvfrom(65535)
            except OSError:
                return
            self.log("udp", wire)
            out = self.reply_wire(wire, "udp")
            if out is None:
                continue
            if self.mode in ("slow", "slow-truncated"):
                threading.Timer(self.delay, sock.sendto,
                                (out, peer)).start()
                continue
            sock.sendto(out, peer)
            if self.mode == "dup":
                sock.sendto(out, peer)
            elif self.mode == "double":
                other = self.answer(wire, serial=SERIAL + 1).to_wire()
                threading.Timer(0.02, sock.sendto, (other, peer)).start()

    # --- TCP ---------------------------------------------------------
    @staticmethod
    def read_exact(conn, n):
        buf = b""
        while len(buf) < n:
            chunk = conn.recv(n - len(buf))
            if not chunk:
                return None
            buf += chunk
        return buf

    def serve_conn(self, conn):
        try:
            head = self.read_exact(conn, 2)
            if head is None:
                return
            wire = self.read_exact(conn, struct.unpack("!H", head)[0])
            if wire is None:
                return
            self.log("tcp", wire)
            m = self.mode
            if m == "tcp-close":
                return
            if m == "tcp-reset":
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                struct.pack("ii", 1, 0))
                return
            if m == "tcp-silent":
                time.sleep(3600)
                return
            if m in ("tcp-http", "tcp-tls"):
                conn.sendall(HTTP_400 if m == "tcp-http" else TLS_ALERT)
                time.sleep(0.2)
                return
            if m == "tcp-tiny":
                conn.sendall(struct.pack("!H", 5) + wire[:5])
                time.sleep(0.5)
                return
            out = self.reply_wire(wire, "tcp")
            if out is None:
                time.sleep(3600)
                return
            if m in ("slow", "slow-truncated"):
                time.sleep(self.delay)
            frame = struct.pack("!H", len(out)) + out
            if m == "tcp-oversize":
                frame += b"EXTRA"
            elif m == "tcp-short":
                frame = frame[:2 + len(out) // 2]
            elif m == "tcp-dribble":
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                for i in range(len(frame)):
                    conn.sendall(frame[i:i + 1])
                    time.sleep(0.002)
                frame = b""
            conn.sendall(frame)
            # Let the client read before the close.
            time.sleep(0.2)
        except OSError:
            pass
        finally:
            conn.close()

    def serve_tcp(self, sock):
        while True:
            try:
                conn, _ = sock.accept()
            except OSError:
                return
            threading.Thread(target=self.serve_conn, args=(conn,),
                             daemon=True).start()


def bind_all(addrs):
    """UDP and TCP sockets on one free port of every address."""
    for _ in range(100):
        socks, port = [], 0
        try:
            for addr in addrs:
                fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
                for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
                    s = socket.socket(fam, kind)
                    socks.append(s)
                    if kind == socket.SOCK_STREAM:
                        s.setsockopt(socket.SOL_SOCKET,
                                     socket.SO_REUSEADDR, 1)
                    s.bind((addr, port))
                    port = s.getsockname()[1]
                    if kind == socket.SOCK_STREAM:
                        s.listen(64)
            return port, socks
        except OSError:
            for s in socks:
                s.close()
    sys.exit("dnsfault: no free port on %s" % ",".join(addrs))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--mode", required=True, choices=MODES)
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log")
    ap.add_argument("--delay-ms", type=int, default=500)
    ap.add_argument("--lifetime", type=float, default=30.0)
    ap.add_argument("--addrs", default="127.0.0.1,::1")
    args = ap.parse_args()
    addrs = args.addrs.split(",")
    for a in addrs:
        if a not in ("127.0.0.1", "::1") and not a.startswith("127."):
            sys.exit("dnsfault: loopback addresses only")

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    port, socks = bind_all(addrs)
    if args.mode == "refused":
        for s in socks:
            s.close()
    else:
        resp = Responder(args)
        for s in socks:
            fn = resp.serve_udp if s.type == socket.SOCK_DGRAM \
                else resp.serve_tcp
            threading.Thread(target=fn, args=(s,), daemon=True).start()
    tmp = args.portfile + ".tmp"
    with open(tmp, "w") as f:
        f.write("%d %d\n" % (port, os.getpid()))
    os.rename(tmp, args.portfile)
    time.sleep(args.lifetime)
    os._exit(0)


if __name__ == "__main__":
    main()
