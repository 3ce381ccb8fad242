#!/usr/bin/python3
"""httpproxy.py -- an HTTP proxy for the HTTP probe's tests.

Listens on 127.0.0.1 (a free port, written to --portfile) and serves,
one request per connection, without authentication:
  CONNECT host:port    a tunnel: "200 Connection established", then the
                       bytes both ways until either side closes; 502
                       when the site cannot be connected to (refused,
                       unreachable, no answer within 5 s);
  GET http://host:port/path (absolute form, any method)
                       the request is sent on to the site in origin form
                       ("GET /path"), with "Connection: close" and
                       without the Proxy-* headers; the site's answer is
                       relayed as it comes and the connection closed.
Host names are looked up only in the --map NAME=ADDRESS pairs, never in
the DNS, and only addresses in 127.0.0.0/8 are connected to: any other
target (an unmapped name, another address) gets 403.  A request that is
not one of these gets 400 (a malformed one) or 501 (a body that is not
sized by Content-Length).  Each request is logged to --log as
"METHOD HOST PORT STATUS": the status the proxy answered, or for a
forwarded request the site's (the line is written before the answer is
relayed).  The proxy exits by itself after --lifetime seconds without a
new connection.
"""
import ipaddress
import proxylib
import socket
import sys
import urllib.parse

HEAD_MAX = 65536
REASONS = {200: "Connection established", 400: "Bad Request",
           403: "Forbidden", 501: "Not Implemented", 502: "Bad Gateway"}


class Refused(Exception):
    """The proxy answers `status` itself."""

    def __init__(self, status, why):
        super().__init__(why)
        self.status = status


def read_head(s):
    """The request head up to the empty line, and what followed it."""
    data = b""
    while b"\r\n\r\n" not in data:
        if len(data) > HEAD_MAX:
            raise Refused(400, "request head too long")
        chunk = s.recv(4096)
        if not chunk:
            raise ConnectionError("closed before the request head ended")
        data += chunk
    head, rest = data.split(b"\r\n\r\n", 1)
    return head.decode("latin-1").split("\r\n"), rest


def recv_exact(s, n, have=b""):
    data = have
    while len(data) < n:
        chunk = s.recv(min(65536, n - len(data)))
        if not chunk:
            raise ConnectionError("closed in the request body")
        data += chunk
    return data[:n]




def answer(c, status, why):
    body = (why + "\n").encode()
    c.sendall(b"HTTP/1.1 %d %s\r\nContent-Type: text/plain\r\n"
              b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (
                  status, REASONS[status].encode(), len(body), body))


def log(args, method, host, port, status):
    with args.lock:
        with open(args.log, "a") as f:
            f.write("%s %s %s %d\n" % (method, host or "-", port or 0,
                                       status))


def target_address(args, host):
    """The loopback address to connect to for `host`, or Refused(403)."""
    addr = args.names.get(host, host)
    try:
        if ipaddress.ip_address(addr) in args.loopback:
            return addr
    except ValueError:
        pass
    raise Refused(403, "%s is not a permitted target" % host)


def connect(args, host, port):
    """A connection to the site, or Refused(403 or 502)."""
    addr = target_address(args, host)
    try:
        up = socket.create_connection((addr, port), timeout=5)
    except OSError as e:
        raise Refused(502, "cannot connect to %s:%d: %s" % (
            host, port, e.strerror or e))
    up.settimeout(None)
    return up


def split_authority(authority, default_port):
    """(host, port) of "host:port" or "[v6]:port"; Refused(400) if bad."""
    u = urllib.parse.urlsplit("//" + authority)
    try:
        port = u.port or default_port
    except ValueError:
        port = None
    if not u.hostname or port is None or u.username is not None or \
            u.path or u.query or u.fragment:
        raise Refused(400, "bad authority %r" % authority)
    return u.hostname, port


def tunnel(c, args, req):
    req["host"], req["port"] = split_authority(req["target"], None)
    up = connect(args, req["host"], req["port"])
    req["status"] = 200
    log(args, "CONNECT", req["host"], req["port"], 200)
    c.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
    if req["rest"]:
        up.sendall(req["rest"])
    proxylib.splice(c, up)


def forward(c, args, req, headers):
    u = urllib.parse.urlsplit(req["target"])
    if u.scheme.lower() != "http" or not u.netloc:
        raise Refused(400, "not an absolute http URL: %s" % req["target"])
    req["host"], req["port"] = split_authority(u.netloc, 80)
    length = 0
    kept = []
    for h in headers:
        name, _, value = h.partition(":")
        name = name.strip().lower()
        if name == "transfer-encoding":
            raise Refused(501, "only bodies sized by Content-Length")
        if name == "content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise Refused(400, "bad Content-Length")
        if name in ("connection", "proxy-connection", "keep-alive",
                    "proxy-authorization"):
            continue
        kept.append(h)
    body = recv_exact(c, length, req["rest"]) if length > 0 else b""
    up = connect(args, req["host"], req["port"])
    path = urllib.parse.urlunsplit(("", "", u.path or "/", u.query, ""))
    head = ["%s %s %s" % (req["method"], path, req["version"])] + kept + \
        ["Connection: close"]
    up.sendall(("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + body)
    first = b""
    while b"\r\n" not in first and len(first) < HEAD_MAX:
        chunk = up.recv(65536)
        if not chunk:
            break
        first += chunk
    try:
        req["status"] = int(first.split(b"\r\n", 1)[0].split(b" ")[1])
    except (IndexError, ValueError):
        up.close()
        raise Refused(502, "no HTTP answer from %s:%d" % (
            req["host"], req["port"]))
    log(args, req["method"], req["host"], req["port"], req["status"])
    c.sendall(first)
    proxylib.relay(up, c)
    up.close()


def serve(c, args):
    req = {"method": "-", "host": None, "port": None, "status": None,
           "rest": b""}
    try:
        c.settimeout(10)
        lines, req["rest"] = read_head(c)
        parts = lines[0].split(" ")
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            raise Refused(400, "bad request line")
        req["method"], req["target"], req["version"] = parts
        c.settimeout(None)
        if req["method"] == "CONNECT":
            tunnel(c, args, req)
        else:
            forward(c, args, req, lines[1:])
    except Refused as e:
        log(args, req["method"], req["host"], req["port"], e.status)
        try:
            answer(c, e.status, str(e))
        except OSError:
            pass
    except (OSError, ConnectionError):
        pass
    finally:
        c.close()



if __name__ == "__main__":
    sys.exit(proxylib.run(serve))
