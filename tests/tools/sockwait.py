"""sockwait.py -- waiting for the collector to close a connection, for
the scenario tests' Python snippets (sys.path gets tests/tools)."""
import socket
import time


def closed_within(s, limit, trickle=None):
    """Seconds until the server closes s (None: still open at limit),
    sending `trickle` (bytes) every half second meanwhile when given."""
    start = time.monotonic()
    s.settimeout(0.5)
    while time.monotonic() - start < limit:
        try:
            if trickle:
                s.send(trickle)
            if s.recv(4096) == b"":
                return time.monotonic() - start
        except socket.timeout:
            pass
        except OSError:
            return time.monotonic() - start
    return None
