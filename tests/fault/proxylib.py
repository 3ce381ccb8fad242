"""proxylib.py -- what the tests' proxies (socks5.py, httpproxy.py) share:
their command line, the listening loop and the byte relay (splice).

A proxy calls run(serve) from its main: run parses --map NAME=ADDRESS
(repeatable), --portfile (required), --log (required, emptied at start)
and --lifetime (seconds without a new connection before it exits,
default 120); listens on 127.0.0.1, a free port written to --portfile
once it listens; and calls serve(conn, args) in a thread per
connection.  args carries names (the --map pairs), loopback (the only
network proxies may connect to) and lock (for the log).
"""
import argparse
import ipaddress
import os
import socket
import threading


def relay(src, dst):
    """Copy src to dst until src closes, then shut both down."""
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def splice(c, up):
    """Relay both ways between the client c and up until both sides
    are done, then close up (c is the caller's to close)."""
    t = threading.Thread(target=relay, args=(up, c), daemon=True)
    t.start()
    relay(c, up)
    t.join()
    up.close()


def run(serve):
    ap = argparse.ArgumentParser()
    ap.add_argument("--map", action="append", default=[])
    ap.add_argument("--portfile", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--lifetime", type=float, default=120)
    args = ap.parse_args()
    args.names = dict(m.split("=", 1) for m in args.map)
    args.loopback = ipaddress.ip_network("127.0.0.0/8")
    args.lock = threading.Lock()
    open(args.log, "w").close()
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", 0))
    ls.listen(16)
    with open(args.portfile + ".tmp", "w") as f:
        f.write("%d\n" % ls.getsockname()[1])
    os.rename(args.portfile + ".tmp", args.portfile)
    ls.settimeout(args.lifetime)
    while True:
        try:
            c, _ = ls.accept()
        except socket.timeout:
            return 0
        threading.Thread(target=serve, args=(c, args), daemon=True).start()
