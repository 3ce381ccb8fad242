#!/usr/bin/python3
"""Wire RTTs of DNS exchanges over UDP from a pcap file.

Reads a classic pcap (tcpdump -w, linktype Ethernet as on Linux lo, or
Linux cooked capture), pairs each query to SERVER_PORT with the reply that
carries the same DNS ID and client port, and prints one line per exchange:
"<id> <client_port> <wire_rtt_us>".  Used by dns-bench.sh to compare the
RTT a tool reports with what actually crossed the wire.
"""
import struct
import sys


def packets(path):
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = struct.unpack("<I", head[:4])[0]
        if magic == 0xA1B2C3D4:
            endian, scale = "<", 1e-6
        elif magic == 0xA1B23C4D:
            endian, scale = "<", 1e-9
        elif magic == 0xD4C3B2A1:
            endian, scale = ">", 1e-6
        else:
            raise SystemExit("%s: not a pcap file" % path)
        linktype = struct.unpack(endian + "I", head[20:24])[0]
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            sec, frac, incl, _ = struct.unpack(endian + "IIII", rec)
            data = f.read(incl)
            if len(data) < incl:
                return
            yield sec + frac * scale, linktype, data


def udp_payload(linktype, data):
    if linktype == 1:          # Ethernet
        off, ethertype = 14, struct.unpack("!H", data[12:14])[0]
    elif linktype == 113:      # Linux cooked (any)
        off, ethertype = 16, struct.unpack("!H", data[14:16])[0]
    else:
        return None
    if ethertype == 0x0800 and len(data) >= off + 20:
        ihl = (data[off] & 0x0F) * 4
        if data[off + 9] != 17:
            return None
        u = off + ihl
    elif ethertype == 0x86DD and len(data) >= off + 40:
        if data[off + 6] != 17:
            return None
        u = off + 40
    else:
        return None
    if len(data) < u + 8 + 12:
        return None
    sport, dport = struct.unpack("!HH", data[u:u + 4])
    return sport, dport, data[u + 8:]


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: pcap_rtt.py FILE SERVER_PORT")
    server_port = int(sys.argv[2])
    pending = {}
    for ts, linktype, data in packets(sys.argv[1]):
        p = udp_payload(linktype, data)
        if p is None:
            continue
        sport, dport, dns = p
        dns_id = struct.unpack("!H", dns[:2])[0]
        is_reply = dns[2] & 0x80
        if dport == server_port and not is_reply:
            pending[(dns_id, sport)] = ts
        elif sport == server_port and is_reply:
            sent = pending.pop((dns_id, dport), None)
            if sent is not None:
                print("%d %d %d" % (dns_id, dport, round((ts - sent) * 1e6)))


if __name__ == "__main__":
    main()
