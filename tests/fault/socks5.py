#!/usr/bin/python3
"""socks5.py -- a SOCKS5 proxy for the uploader's tests.

Listens on 127.0.0.1 (a free port, written to --portfile) and takes
CONNECT requests without authentication, as Tor's SOCKS port does for
`socks5h://` clients: the client sends the host name and the proxy
resolves it.  Names are looked up only in the --map NAME=ADDRESS pairs,
never in the DNS, and only addresses in 127.0.0.0/8 are connected to;
anything else is refused (reply 2, not allowed); a site that refuses the
connection gets reply 5 (connection refused).  Each CONNECT is logged
to --log as "KIND HOST PORT" (KIND: "name" or "ipv4").  The proxy exits
by itself after --lifetime seconds without a new connection.
"""
import ipaddress
import proxylib
import socket
import struct
import sys


def recv_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data




def reply(c, code):
    c.sendall(struct.pack("!BBBB4sH", 5, code, 0, 1, b"\0" * 4, 0))


def serve(c, args):
    try:
        ver, n = recv_exact(c, 2)
        methods = recv_exact(c, n)
        if ver != 5 or 0 not in methods:
            c.sendall(b"\x05\xff")
            return
        c.sendall(b"\x05\x00")
        ver, cmd, _, atyp = recv_exact(c, 4)
        if atyp == 3:
            host = recv_exact(c, recv_exact(c, 1)[0]).decode()
            kind = "name"
        elif atyp == 1:
            host = socket.inet_ntoa(recv_exact(c, 4))
            kind = "ipv4"
        else:
            reply(c, 8)
            return
        port = struct.unpack("!H", recv_exact(c, 2))[0]
        with args.lock:
            with open(args.log, "a") as f:
                f.write("%s %s %d\n" % (kind, host, port))
        addr = args.names.get(host, host if kind == "ipv4" else None)
        if cmd != 1 or addr is None or \
                ipaddress.ip_address(addr) not in args.loopback:
            reply(c, 2)
            return
        try:
            up = socket.create_connection((addr, port), timeout=10)
        except ConnectionRefusedError:
            reply(c, 5)     # RFC 1928: connection refused
            return
        up.settimeout(None)
        reply(c, 0)
        proxylib.splice(c, up)
    except (OSError, ValueError, ConnectionError):
        pass
    finally:
        c.close()



if __name__ == "__main__":
    sys.exit(proxylib.run(serve))
