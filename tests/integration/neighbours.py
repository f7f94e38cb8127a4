#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Frames for the control thread's test: write a capture, or check the MDD's output.

  neighbours.py gen DIR     -> DIR/in.pcap, DIR/provision.json
  neighbours.py check DIR   -> reads DIR/out.pcap and DIR/stats.json
"""
import json
import os
import struct
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tapio import read_pcap, write_pcap  # noqa: E402

MDD4, MDD6 = bytes([192, 0, 2, 1]), bytes.fromhex("20010db8000000000000000000000001")
A4, A_MAC = bytes([192, 0, 2, 100]), bytes.fromhex("02aa00000001")
B4, B_MAC = bytes([192, 0, 2, 101]), bytes.fromhex("02bb00000002")
C6, C_MAC = bytes.fromhex("20010db8000000000000000000000064"), bytes.fromhex("02cc00000003")
MDD_MAC = bytes.fromhex("020000000001")
BCAST = b"\xff" * 6


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return (~s) & 0xffff


def eth(dst, src, etype, body):
    return dst + src + struct.pack("!H", etype) + body


def ipv4(src, dst, proto, payload):
    h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 0, 0x4000, 64, proto, 0, src, dst)
    h = h[:10] + struct.pack("!H", csum(h)) + h[12:]
    return h + payload


def udp4(src, sport, dst, dport, payload):
    return ipv4(src, dst, 17, struct.pack("!HHHH", sport, dport, 8 + len(payload), 0) + payload)


def arp(op, sha, spa, tha, tpa):
    return struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + spa + tha + tpa


def icmp6_ns(src, target, mac):
    # to the solicited-node multicast address of the target
    dst = bytes.fromhex("ff0200000000000000000001ff") + target[13:]
    body = struct.pack("!BBHI", 135, 0, 0, 0) + target + bytes([1, 1]) + mac
    pseudo = src + dst + struct.pack("!IxxxB", len(body), 58)
    body = body[:2] + struct.pack("!H", csum(pseudo + body)) + body[4:]
    ip6 = struct.pack("!IHBB", 6 << 28, len(body), 58, 255) + src + dst
    return bytes.fromhex("3333ff") + target[13:], ip6 + body


def gen(d):
    frames = []
    # who has 192.0.2.1? tell 192.0.2.100
    frames.append(eth(BCAST, A_MAC, 0x0806, arp(1, A_MAC, A4, b"\0" * 6, MDD4)))
    # B announces itself (gratuitous ARP reply): its next hop is learned
    frames.append(eth(BCAST, B_MAC, 0x0806, arp(2, B_MAC, B4, BCAST, B4)))
    # neighbour solicitation for 2001:db8::1 from 2001:db8::64
    dmac, ip6 = icmp6_ns(C6, MDD6, C_MAC)
    frames.append(eth(dmac, C_MAC, 0x86dd, ip6))
    # STUN binding request and a DTLS record from A to the media port
    stun = struct.pack("!HHI", 0x0001, 0, 0x2112a442) + bytes(12)
    frames.append(eth(MDD_MAC, A_MAC, 0x0800, udp4(A4, 40000, MDD4, 3478, stun)))
    dtls = bytes([22, 0xfe, 0xfd]) + bytes(10) + b"\0\x01" + b"\x01"
    frames.append(eth(MDD_MAC, A_MAC, 0x0800, udp4(A4, 40000, MDD4, 3478, dtls)))
    # an ICMP echo request to the MDD
    echo = struct.pack("!BBHHH", 8, 0, 0, 1, 1) + b"ping"
    echo = echo[:2] + struct.pack("!H", csum(echo)) + echo[4:]
    frames.append(eth(MDD_MAC, A_MAC, 0x0800, ipv4(A4, MDD4, 1, echo)))
    write_pcap(d + "/in.pcap", frames)
    key, salt = "00" * 16, "00" * 12
    eps = [{"id": n, "addr": a, "profile": "SRTP_AEAD_AES_128_GCM", "rx_key": key,
            "rx_salt": salt, "tx_key": key, "tx_salt": salt, "ssrcs": []}
           for n, a in (("a", "192.0.2.100:40000"), ("b", "192.0.2.101:40000"),
                        ("c", "[2001:db8::64]:40000"))]
    json.dump({"conferences": [{"id": "c1", "endpoints": eps}]}, open(d + "/provision.json", "w"))


def check(d):
    frames = read_pcap(d + "/out.pcap")
    ctl = json.load(open(d + "/stats.json"))["control"]
    fails = []
    arp_reply = [f for f in frames if f[12:14] == b"\x08\x06" and f[20:22] == b"\x00\x02"
                 and f[28:32] == MDD4 and f[38:42] == A4]
    if len(arp_reply) != 1:
        fails.append("ARP reply to 192.0.2.100 for 192.0.2.1: %d found" % len(arp_reply))
    elif arp_reply[0][0:6] != A_MAC or arp_reply[0][32:38] != A_MAC:
        fails.append("ARP reply not addressed to the requester's MAC")
    na = [f for f in frames if f[12:14] == b"\x86\xdd" and f[20] == 58 and f[54] == 136]
    if len(na) != 1:
        fails.append("neighbour advertisement for 2001:db8::1: %d found" % len(na))
    else:
        f = na[0]
        if f[62:78] != MDD6 or f[38:54] != C6 or f[0:6] != C_MAC:
            fails.append("NA target / destination wrong")
        plen = struct.unpack("!H", f[18:20])[0]
        pseudo = f[22:38] + f[38:54] + struct.pack("!IxxxB", plen, 58)
        if csum(pseudo + f[54:54 + plen]) != 0:
            fails.append("NA checksum wrong")
    want = {"arp_replied": 1, "nd_replied": 1, "stun_dropped": 1, "dtls_dropped": 1,
            "icmp_dropped": 1}
    for k, v in want.items():
        if ctl.get(k) != v:
            fails.append("control %s = %s, want %s" % (k, ctl.get(k), v))
    # B (only a gratuitous ARP) and C (only its NS) are learned by the control
    # thread; A sent media-port frames too, so the worker may latch it first
    if ctl.get("nexthop_learned", 0) < 2:
        fails.append("nexthop_learned = %s, want >= 2" % ctl.get("nexthop_learned"))
    for f in fails:
        print("FAIL", f)
    print("neighbours: %d checks failed" % len(fails))
    return 1 if fails else 0


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] not in ("gen", "check"):
        print(__doc__)
        sys.exit(2)
    if sys.argv[1] == "gen":
        gen(sys.argv[2])
    else:
        sys.exit(check(sys.argv[2]))
