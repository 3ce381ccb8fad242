#!/usr/bin/python3
# forward.py -- make the lab's collector reachable from the host: listen
# on 127.0.0.1:PORT in the namespace we are started in, then enter the
# lab's namespace (a socket stays in the namespace it was made in) and
# relay each connection to the collector there.  Used by run.sh for the
# dashboard screenshots and for a class watching the dashboard.
#
#   forward.py --port PORT --netns NAME --to ADDR:PORT
import argparse
import ctypes
import os
import socket
import sys
import threading

CLONE_NEWNET = 0x40000000


def setns(name):
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            sys.exit("forward.py: setns %s: %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def pump(src, dst):
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


def serve(client, target):
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    a = threading.Thread(target=pump, args=(client, upstream), daemon=True)
    b = threading.Thread(target=pump, args=(upstream, client), daemon=True)
    a.start()
    b.start()
    a.join()
    b.join()
    client.close()
    upstream.close()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--netns", required=True)
    ap.add_argument("--to", required=True)
    args = ap.parse_args()
    host, port = args.to.rsplit(":", 1)
    lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    lsock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    lsock.bind(("127.0.0.1", args.port))
    lsock.listen(64)
    # The listening socket stays here; the ones made from now on (to
    # the collector) are made in the lab.
    setns(args.netns)
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=serve, args=(client, (host, int(port))),
                         daemon=True).start()


if __name__ == "__main__":
    main()
