#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Live traffic through a DPDK tap port, for tests that run in a network
namespace of their own (never touches other interfaces).

  tapio.py send IFACE IN.pcap SECRETS.json CONF[,CONF]   frames of those conferences' endpoints
  tapio.py capture IFACE OUT.pcap                        until SIGTERM: frames the port sent
  tapio.py subset PROVISION.json OUT.json CONF[,CONF]    provisioning file with those conferences
  tapio.py mdd-frames IN.pcap OUT.pcap [PORT]            only UDP from PORT (3478): perc-mdd's
                                                         frames, not the kernel's ARP / ND / MLD
"""
import json
import signal
import socket
import struct
import sys
import time

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4


def read_pcap(path):
    data = open(path, "rb").read()
    off, out = 24, []
    while off + 16 <= len(data):
        incl = struct.unpack("<I", data[off + 8:off + 12])[0]
        out.append(data[off + 16:off + 16 + incl])
        off += 16 + incl
    return out


def write_pcap(path, frames):
    """A classic pcap (Ethernet) of frames."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 65535, 1))
        for i, fr in enumerate(frames):
            f.write(struct.pack("<IIII", 1, i, len(fr), len(fr)) + fr)


def read_pcapng(path):
    """(block types, [(epb flags or None, data)]) of a pcapng file, every
    block length checked (perc-mdd's captures, docs/operations.md)."""
    d, off, types, pkts = open(path, "rb").read(), 0, [], []
    while off < len(d):
        t, ln = struct.unpack("<II", d[off:off + 8])
        assert ln % 4 == 0 and ln >= 12 and off + ln <= len(d), "bad block length"
        assert struct.unpack("<I", d[off + ln - 4:off + ln])[0] == ln, "trailing length"
        types.append(t)
        if t == 0x0A0D0D0A:
            assert struct.unpack("<I", d[off + 8:off + 12])[0] == 0x1A2B3C4D
        if t == 6:
            cap = struct.unpack("<I", d[off + 20:off + 24])[0]
            data = d[off + 28:off + 28 + cap]
            o = off + 28 + ((cap + 3) & ~3)
            flags = None
            while o < off + ln - 4:
                code, olen = struct.unpack("<HH", d[o:o + 4])
                if code == 0:
                    break
                if code == 2:
                    flags = struct.unpack("<I", d[o + 4:o + 8])[0]
                o += 4 + ((olen + 3) & ~3)
            pkts.append((flags, data))
        off += ln
    return types, pkts


def read_metrics(path):
    """{series: value} of a Prometheus text exposition (comments skipped)."""
    m = {}
    for line in open(path):
        if line.startswith("#") or not line.strip():
            continue
        name, val = line.rsplit(" ", 1)
        m[name] = float(val)
    return m


def src_key(fr):
    """(ip bytes, port) of an IPv4 / IPv6 UDP frame's source, or None."""
    et = struct.unpack("!H", fr[12:14])[0] if len(fr) >= 14 else 0
    if et == 0x0800 and len(fr) >= 42:
        ihl = (fr[14] & 15) * 4
        return fr[26:30], struct.unpack("!H", fr[14 + ihl:16 + ihl])[0]
    if et == 0x86dd and len(fr) >= 62:
        return fr[22:38], struct.unpack("!H", fr[54:56])[0]
    return None


def endpoints(secrets, confs):
    keys = set()
    for ep in secrets["endpoints"]:
        if ep["conference"] in confs:
            host, port = ep["addr"].rsplit(":", 1)
            host = host.strip("[]")
            fam = socket.AF_INET6 if ":" in host else socket.AF_INET
            keys.add((socket.inet_pton(fam, host), int(port)))
    return keys


def send(iface, pcap, secrets_path, confs):
    want = endpoints(json.load(open(secrets_path)), set(confs.split(",")))
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    s.bind((iface, 0))
    n = 0
    for fr in read_pcap(pcap):
        if src_key(fr) in want:
            s.send(fr)
            n += 1
            if n % 16 == 0:
                time.sleep(0.002)  # let the poll-mode port drain the tap queue
    print("sent %d frames" % n)


def capture(iface, out):
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
    s.bind((iface, 0))
    s.settimeout(0.2)
    frames, stop = [], []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    print("ready", flush=True)
    while not stop:
        try:
            data, addr = s.recvfrom(65535)
        except socket.timeout:
            continue
        if addr[2] != PACKET_OUTGOING:
            frames.append(data)
    write_pcap(out, frames)
    print("captured %d frames" % len(frames))


def mdd_frames(src, dst, port="3478"):
    keep = []
    for fr in read_pcap(src):
        et = struct.unpack("!H", fr[12:14])[0] if len(fr) >= 14 else 0
        if et == 0x0800 and len(fr) >= 34 and fr[23] == 17:
            l4 = 14 + (fr[14] & 15) * 4
        elif et == 0x86dd and len(fr) >= 54 and fr[20] == 17:
            l4 = 54
        else:
            continue
        if fr[l4:l4 + 2] == struct.pack("!H", int(port)):
            keep.append(fr)
    write_pcap(dst, keep)
    print(len(keep))


def subset(src, dst, confs):
    p = json.load(open(src))
    keep = set(confs.split(","))
    p["conferences"] = [c for c in p["conferences"] if c["id"] in keep]
    json.dump(p, open(dst + ".tmp", "w"), indent=1)
    import os
    os.replace(dst + ".tmp", dst)  # the MDD never reads half a file


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "send" and len(sys.argv) == 6:
        send(*sys.argv[2:])
    elif cmd == "capture" and len(sys.argv) == 4:
        capture(*sys.argv[2:])
    elif cmd == "subset" and len(sys.argv) == 5:
        subset(*sys.argv[2:])
    elif cmd == "mdd-frames" and len(sys.argv) in (4, 5):
        mdd_frames(*sys.argv[2:])
    else:
        print(__doc__)
        sys.exit(2)
