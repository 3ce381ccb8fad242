#!/usr/bin/python3
"""slowlink.py -- a slow point-to-point link between two network
namespaces, for the HTTP timing test (tests/scenario/http_timing.sh):
this kernel has no netem, so the delay is ours.

The link is a pair of TUN devices, one in each namespace (made and
addressed by the test: `ip -n NS tuntap add dev DEV mode tun`).  The
relay attaches to both (it enters each namespace in turn, by its name
under /run/netns), then copies every IP packet that one side's kernel
sends into the other side's device, each held --delay milliseconds
from the moment the relay read it.  Every packet, both ways, whatever
it carries (a SYN, a SYN-ACK, a TLS record, a DNS query) waits the
same: no handshake is hidden, as a TCP-terminating proxy would hide it.
A packet is never sent early: it leaves when the monotonic clock has
passed its read time plus the delay, so each one-way trip takes at
least the delay (later when the relay is not scheduled at once).

At most --max-queue packets wait at once (a packet beyond that is
dropped and counted).  The relay writes the word "ready" to --ready
when it holds both devices, and exits by itself after --lifetime
seconds, or on SIGTERM; it then prints what it forwarded on stdout:
"forwarded A>B N B>A N dropped N".
"""
import argparse
import collections
import ctypes
import fcntl
import os
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000
CLONE_NEWNET = 0x40000000


def enter_netns(name):
    """Move this (single-threaded) process into the namespace NAME."""
    libc = ctypes.CDLL(None, use_errno=True)
    fd = os.open("/run/netns/" + name, os.O_RDONLY)
    try:
        if libc.setns(fd, CLONE_NEWNET) != 0:
            err = ctypes.get_errno()
            raise OSError(err, "setns %s: %s" % (name, os.strerror(err)))
    finally:
        os.close(fd)


def tun_attach(netns, dev):
    """An fd of the TUN device DEV in NETNS (raw IP packets, no header).
    The device must exist: the fd is opened inside NETNS, where the
    kernel looks the name up."""
    enter_netns(netns)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    ifr = struct.pack("16sH22x", dev.encode(), IFF_TUN | IFF_NO_PI)
    fcntl.ioctl(fd, TUNSETIFF, ifr)
    os.set_blocking(fd, False)
    return fd


def relay(a, b, delay, lifetime, max_queue, stop):
    """Copy packets between the fds a and b, each `delay` seconds late,
    until `lifetime` seconds have passed or stop[0] is set.  Returns the
    counts (a>b, b>a, dropped)."""
    other = {a: b, b: a}
    sent = {a: 0, b: 0}
    dropped = 0
    # The delay is the same both ways and reads happen in time order,
    # so one FIFO is also in order of the time each packet is due.
    waiting = collections.deque()
    end = time.monotonic() + lifetime
    while not stop[0]:
        now = time.monotonic()
        if now >= end:
            break
        timeout = min(end - now, 1.0)
        if waiting:
            timeout = max(0.0, min(timeout, waiting[0][0] - now))
        try:
            ready, _, _ = select.select([a, b], [], [], timeout)
        except InterruptedError:
            continue
        for fd in ready:
            # At most 64 packets from one side per turn: bounded, and
            # the other side and the due packets are served meanwhile.
            for _ in range(64):
                try:
                    pkt = os.read(fd, 65536)
                except BlockingIOError:
                    break
                read_at = time.monotonic()
                if len(waiting) >= max_queue:
                    dropped += 1
                    continue
                waiting.append((read_at + delay, fd, pkt))
        now = time.monotonic()
        while waiting and waiting[0][0] <= now:
            _, fd, pkt = waiting.popleft()
            try:
                os.write(other[fd], pkt)
                sent[fd] += 1
            except OSError:
                dropped += 1    # the device went down: a lost packet
    return sent[a], sent[b], dropped


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ns-a", required=True)
    ap.add_argument("--ns-b", required=True)
    ap.add_argument("--dev", required=True)
    ap.add_argument("--delay", type=float, required=True,
                    help="one-way delay, milliseconds")
    ap.add_argument("--ready", required=True)
    ap.add_argument("--lifetime", type=float, default=300)
    ap.add_argument("--max-queue", type=int, default=10000)
    args = ap.parse_args()
    stop = [False]

    def on_term(signum, frame):
        stop[0] = True
    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_term)
    a = tun_attach(args.ns_a, args.dev)
    b = tun_attach(args.ns_b, args.dev)
    with open(args.ready + ".tmp", "w") as f:
        f.write("ready\n")
    os.rename(args.ready + ".tmp", args.ready)
    ab, ba, dropped = relay(a, b, args.delay / 1000.0, args.lifetime,
                            args.max_queue, stop)
    print("forwarded A>B %d B>A %d dropped %d" % (ab, ba, dropped),
          flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
