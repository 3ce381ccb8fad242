#!/usr/bin/python3
# forward.py -- make the lab's collector reachable from the host: listen
# on 127.0.0.1:PORT in the namespace we are started in, then enter the
# lab's namespace (a socket stays in the namespace it was made in) and
# relay each connection to the collector there.  Used by run.sh for the
# dashboard screenshots and for a class watching the dashboard.  The
# relay and the namespace switch are the test proxies' (tests/fault).
#
#   forward.py --port PORT --netns NAME --to ADDR:PORT
import argparse
import os
import socket
import sys
import threading

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "tests", "fault"))
from proxylib import splice  # noqa: E402
from slowlink import enter_netns  # noqa: E402


def serve(client, target):
    try:
        upstream = socket.create_connection(target, timeout=10)
        upstream.settimeout(None)
    except OSError:
        client.close()
        return
    splice(client, upstream)
    client.close()


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
    # the collector) are made in the lab.  No thread runs yet.
    enter_netns(args.netns)
    while True:
        client, _ = lsock.accept()
        threading.Thread(target=serve, args=(client, (host, int(port))),
                         daemon=True).start()


if __name__ == "__main__":
    main()
