#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Drives a running perc-mdd (in the test's network namespace) through its
conference API (mddctl), ICE-lite (STUN from UDP sockets on 192.0.2.2) and
the KD tunnel (fake_kd.py, started and restarted here). Prints one
"ok ..." or "FAIL ..." line per check and exits 1 when any failed.

  mdctl_driver.py WORKDIR MDDCTL SOCKET PERC_SRTP KD_PORT CONSENT_MS MEDIA_MS
"""
import hashlib
import hmac
import json
import os
import queue
import random
import socket
import struct
import subprocess
import sys
import threading
import time
import zlib

W, MDDCTL, SOCK, SRTP, KD_PORT = sys.argv[1:6]
CONSENT_MS, MEDIA_MS = int(sys.argv[6]), int(sys.argv[7])
HERE = os.path.dirname(os.path.abspath(__file__))
MDD = ("192.0.2.1", 3478)
COOKIE = 0x2112A442
passed = failed = 0


def check(cond, what, detail=""):
    global passed, failed
    if cond:
        passed += 1
        print("ok   " + what, flush=True)
    else:
        failed += 1
        print("FAIL " + what + (": " + str(detail) if detail != "" else ""), flush=True)
    return cond


def ctl(*args):
    p = subprocess.run([MDDCTL, "--socket", SOCK] + list(args), capture_output=True, text=True)
    try:
        out = json.loads(p.stdout) if p.stdout.strip() else None
    except ValueError:
        out = None
    return p.returncode, out, p.stderr


def raw_request(line):
    """One request line straight on the socket; the parsed response."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(SOCK)
    s.sendall(line)
    s.shutdown(socket.SHUT_WR)
    data = b""
    s.settimeout(5)
    while b"\n" not in data:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    return json.loads(data.split(b"\n")[0])


def listing():
    rc, out, _ = ctl("list")
    eps = {}
    for c in (out or {}).get("conferences", []):
        for e in c["endpoints"]:
            eps[(c["id"], e["id"])] = e
    return eps


def stats():
    return ctl("stats")[1] or {}


# ---- STUN (RFC 5389) ----

def attr(t, v):
    return struct.pack("!HH", t, len(v)) + v + b"\0" * (-len(v) % 4)


def stun_request(user, pwd, tid, use_candidate=False):
    attrs = attr(0x0006, user.encode()) + attr(0x0024, struct.pack("!I", 0x6e7f1eff)) + \
        attr(0x802A, os.urandom(8))
    if use_candidate:
        attrs += attr(0x0025, b"")
    hdr = struct.pack("!HHI", 0x0001, len(attrs) + 24, COOKIE) + tid
    mi = hmac.new(pwd.encode(), hdr + attrs, hashlib.sha1).digest()
    body = attrs + attr(0x0008, mi)
    hdr = struct.pack("!HHI", 0x0001, len(body) + 8, COOKIE) + tid
    crc = (zlib.crc32(hdr + body) ^ 0x5354554E) & 0xffffffff
    return hdr + body + attr(0x8028, struct.pack("!I", crc))


def stun_verify(msg, tid, pwd, want_addr):
    """Problems with a Binding success response (empty list: good)."""
    errs = []
    t, ln, ck = struct.unpack("!HHI", msg[:8])
    if t != 0x0101:
        errs.append("type 0x%04x" % t)
    if msg[8:20] != tid:
        errs.append("transaction id")
    off, mi_off, mapped, fp_ok = 20, None, None, False
    while off + 4 <= len(msg):
        at, al = struct.unpack("!HH", msg[off:off + 4])
        v = msg[off + 4:off + 4 + al]
        if at == 0x0020:
            port = struct.unpack("!H", v[2:4])[0] ^ (COOKIE >> 16)
            ip = bytes(a ^ b for a, b in zip(v[4:8], struct.pack("!I", COOKIE)))
            mapped = (socket.inet_ntoa(ip), port)
        elif at == 0x0008:
            mi_off = off
            h = bytearray(msg[:off])
            struct.pack_into("!H", h, 2, off + 24 - 20)
            if not hmac.compare_digest(hmac.new(pwd.encode(), bytes(h), hashlib.sha1).digest(), v):
                errs.append("MESSAGE-INTEGRITY does not verify with the MDD pwd")
        elif at == 0x8028:
            want = (zlib.crc32(msg[:off]) ^ 0x5354554E) & 0xffffffff
            fp_ok = struct.unpack("!I", v)[0] == want
        off += 4 + al + (-al % 4)
    if mi_off is None:
        errs.append("no MESSAGE-INTEGRITY")
    if not fp_ok:
        errs.append("FINGERPRINT missing or wrong")
    if mapped != want_addr:
        errs.append("XOR-MAPPED-ADDRESS %s, want %s" % (mapped, want_addr))
    return errs


class Endpoint:
    """A UDP socket on 192.0.2.2 and what arrives on it, sorted by RFC 7983."""

    def __init__(self, port, remote_ufrag):
        self.s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.s.bind(("192.0.2.2", port))
        self.addr = ("192.0.2.2", port)
        self.remote_ufrag = remote_ufrag
        self.q = {"stun": queue.Queue(), "dtls": queue.Queue(), "rtp": queue.Queue()}
        self.ufrag = self.pwd = None
        self.keepalive = False
        self.lock = threading.Lock()
        threading.Thread(target=self._rx, daemon=True).start()

    def _rx(self):
        while True:
            try:
                d = self.s.recv(65536)
            except OSError:
                return
            if not d:
                continue
            k = "stun" if d[0] < 4 else "dtls" if 20 <= d[0] <= 63 else "rtp" if d[0] >= 128 else None
            if k:
                self.q[k].put(d)

    def send(self, d):
        with self.lock:
            self.s.sendto(d, MDD)

    def drain(self, k):
        out = []
        while True:
            try:
                out.append(self.q[k].get_nowait())
            except queue.Empty:
                return out

    def wait(self, k, timeout):
        try:
            return self.q[k].get(timeout=timeout)
        except queue.Empty:
            return None

    def binding(self, pwd=None, use_candidate=True, user=None, timeout=1.0, tries=3):
        """Send a Binding request; the response, or None."""
        for _ in range(tries):
            tid = os.urandom(12)
            self.send(stun_request(user or "%s:%s" % (self.ufrag, self.remote_ufrag),
                                   pwd or self.pwd, tid, use_candidate))
            end = time.time() + timeout
            while time.time() < end:
                r = self.wait("stun", end - time.time())
                if r is not None and r[8:20] == tid:
                    return tid, r
        return None, None


def keepalive_loop(eps):
    while True:
        for e in eps:
            if e.keepalive:
                e.send(stun_request("%s:%s" % (e.ufrag, e.remote_ufrag), e.pwd, os.urandom(12)))
        time.sleep(0.4)


# ---- double SRTP through perc-srtp ----

def hx(n):
    return os.urandom(n).hex()


KEYS = {n: {"client_key": hx(16), "client_salt": hx(12), "server_key": hx(16),
            "server_salt": hx(12)} for n in ("A", "B", "D", "E", "A2")}
INNER = {n: (hx(16), hx(12)) for n in ("A", "B")}
SSRC = {"A": 0x0A0A0A0A, "B": 0x0B0B0B0B}
seqs = {"A": 0, "B": 0}


def rtp_plain(name):
    seqs[name] += 1
    return struct.pack("!BBHII", 0x80, 96, seqs[name], seqs[name] * 160, SSRC[name]) + \
        b"perc-media-" + name.encode() + struct.pack("!H", seqs[name]) + b"\x55" * 8


def protect(name, plain, kname=None):
    k, s = INNER[name]
    kn = kname or name
    out = subprocess.run([SRTP, "protect", "--profile", "0x0009", "--key", k + KEYS[kn]["client_key"],
                          "--salt", s + KEYS[kn]["client_salt"], "--ekt", "00", plain.hex()],
                         capture_output=True, text=True)
    return bytes.fromhex(out.stdout.strip())


def unprotect(sender, receiver_outer_key, receiver_outer_salt, pkt):
    k, s = INNER[sender]
    out = subprocess.run([SRTP, "unprotect", "--profile", "0x0009", "--key", k + receiver_outer_key,
                          "--salt", s + receiver_outer_salt, pkt.hex()], capture_output=True, text=True)
    return bytes.fromhex(out.stdout.strip()) if out.returncode == 0 else None


class Pump:
    """A -> B and B -> A media every 50 ms, remembering the plaintexts."""

    def __init__(self, eps):
        self.eps, self.stop, self.sent = eps, False, {"A": {}, "B": {}}
        self.kname = {"A": "A", "B": "B"}
        self.t = threading.Thread(target=self.run, daemon=True)
        self.t.start()

    def run(self):
        while not self.stop:
            for n in ("A", "B"):
                p = rtp_plain(n)
                self.sent[n][struct.unpack("!H", p[2:4])[0]] = p
                self.eps[n].send(protect(n, p, self.kname[n]))
            time.sleep(0.05)

    def halt(self):
        self.stop = True
        self.t.join()


def verify_media(pump, sender, receiver, pkts, limit=15, rkeys=None):
    """Received packets of sender at receiver that open with the receiver's
    server_write key and are the sender's plaintext."""
    good = bad = 0
    rk = KEYS[rkeys or receiver]
    for p in pkts[-limit:]:
        out = unprotect(sender, rk["server_key"], rk["server_salt"], p)
        seq = struct.unpack("!H", p[2:4])[0]
        if out is not None and pump.sent[sender].get(seq) == out:
            good += 1
        else:
            bad += 1
    return good, bad


# ---- the fake KD ----

kd_proc = None
kd_log = os.path.join(W, "kd.jsonl")


def kd_start(log, *extra):
    global kd_proc, kd_log
    kd_log = log
    kd_proc = subprocess.Popen([sys.executable, os.path.join(HERE, "fake_kd.py"), "--listen",
                                "127.0.0.1:" + KD_PORT, "--cert", W + "/kd.crt", "--key", W + "/kd.key",
                                "--ca", W + "/ca.crt", "--keys", W + "/keys.json", "--log", log] +
                               list(extra))


def kd_stop():
    kd_proc.terminate()
    kd_proc.wait()


def kd_events(path=None):
    try:
        return [json.loads(line) for line in open(path or kd_log)]
    except OSError:
        return []


def all_kd_events():
    """Events of every fake KD this run started (kd1, kd2, ...)."""
    out = []
    for i in range(1, 10):
        out += kd_events(os.path.join(W, "kd%d.jsonl" % i))
    return out


def collect(ep, n, timeout):
    """At least n media packets at ep (or what came within timeout)."""
    got, end = [], time.time() + timeout
    while len(got) < n and time.time() < end:
        p = ep.wait("rtp", 0.1)
        if p is not None:
            got.append(p)
    return got + ep.drain("rtp")


def wait_for(pred, timeout, step=0.1):
    end = time.time() + timeout
    while time.time() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()


def dtls_record(name):
    body = b"perc-test:" + name.encode()
    return b"\x16\xfe\xfd" + bytes(8) + struct.pack("!H", len(body)) + body


def associate(ep, name):
    """DTLS from ep: the KD's reply back and the association's uuid."""
    ep.send(dtls_record(name))
    r = ep.wait("dtls", 3)
    ev = wait_for(lambda: [e for e in kd_events() if e.get("ev") == "dtls" and e.get("name") == name], 3)
    return r, (ev[-1]["uuid"] if ev else None)


def main():
    json.dump(KEYS, open(W + "/keys.json", "w"))
    kd_start(os.path.join(W, "kd1.jsonl"))

    # ---- mddctl and the API ----
    p = subprocess.run([MDDCTL, "--help"], capture_output=True, text=True)
    check(p.returncode == 0 and "endpoint add" in p.stdout, "mddctl --help")
    p = subprocess.run([MDDCTL, "--socket", SOCK, "frobnicate"], capture_output=True, text=True)
    check(p.returncode == 2, "mddctl bad usage exits 2", p.returncode)
    p = subprocess.run([MDDCTL, "--socket", W + "/nothing.sock", "list"], capture_output=True, text=True)
    check(p.returncode == 69 and "--api" in p.stderr, "mddctl exits 69 when the socket is not there",
          (p.returncode, p.stderr))
    rc, out, _ = ctl("conference", "create", "c1")
    check(rc == 0 and out["ok"] is True, "conference create c1", out)
    rc, out, err = ctl("conference", "create", "c1")
    check(rc == 1 and out["ok"] is False and "exists" in err, "conference create c1 again refused", out)
    eps = {"A": Endpoint(40001, "epAufrag"), "B": Endpoint(40002, "epBufrag"),
           "D": Endpoint(40004, "epDufrag"), "E": Endpoint(40005, "epEufrag")}
    rc, out, _ = ctl("endpoint", "add", "c1", "A", "--remote-ufrag", "epAufrag")
    check(rc == 0 and len(out.get("pwd", "")) >= 22 and len(out.get("ufrag", "")) >= 4 and
          out.get("addr") == "192.0.2.1" and out.get("port") == 3478,
          "endpoint add A: generated ufrag/pwd, addr 192.0.2.1 port 3478", out)
    eps["A"].ufrag, eps["A"].pwd = out["ufrag"], out["pwd"]
    bpwd = "Bpassword0123456789abcdef"
    rc, out, _ = ctl("endpoint", "add", "c1", "B", "--remote-ufrag", "epBufrag", "--ufrag", "mddB",
                     "--pwd", bpwd)
    check(rc == 0 and out["ufrag"] == "mddB" and out["pwd"] == bpwd, "endpoint add B with given credentials",
          out)
    eps["B"].ufrag, eps["B"].pwd = "mddB", bpwd
    rc, out, _ = ctl("endpoint", "add", "nosuch", "X", "--remote-ufrag", "abcd")
    check(rc == 1, "endpoint add to a missing conference refused", out)
    rc, out, _ = ctl("endpoint", "add", "c1", "Y", "--remote-ufrag", "epYufrag", "--ufrag", "yyyy", "--pwd", "short")
    check(rc == 1 and "pwd" in out["error"], "endpoint add with a short pwd refused", out)
    rc, out, _ = ctl("conference", "create", "c2", "--max-endpoints", "2")
    check(rc == 0 and out.get("max_endpoints") == 2, "conference create c2 --max-endpoints 2", out)
    r = [ctl("endpoint", "add", "c2", e, "--remote-ufrag", "rem" + e)[0] for e in ("x1", "x2", "x3")]
    check(r == [0, 0, 1], "c2 takes two endpoints, refuses a third", r)
    r = [ctl("endpoint", "remove", "c2", "x1")[0], ctl("endpoint", "add", "c2", "x3", "--remote-ufrag", "remx3")[0]]
    check(r == [0, 0] and ("c2", "x3") in listing() and ("c2", "x1") not in listing(),
          "a freed slot is taken by the next endpoint", r)
    rc, out, _ = ctl("conference", "delete", "c2")
    check(rc == 0 and out.get("endpoints_removed") == 2, "conference delete c2", out)
    for line, what in ((b"this is not json\n", "not JSON"), (b'{"op":"nope"}\n', "unknown op"),
                       (b'{"op":"endpoint_add","conference":"c1"}\n', "missing fields"),
                       (b'{"op":"list","extra":1}\n', "unknown field"),
                       (b'[1,2]\n', "not an object"),
                       (b'{"op":"list"' + b" " * 70000 + b"}\n", "huge line")):
        try:
            r = raw_request(line)
            check(r.get("ok") is False and len(r.get("error", "")) > 10, "malformed request (%s): ok:false" % what, r)
        except (OSError, ValueError) as e:
            check(False, "malformed request (%s): ok:false" % what, e)
    rc, out, _ = ctl("raw", '{"op":"list"}')
    check(rc == 0 and out["ok"], "daemon still serves after malformed requests")
    # 16 clients at once; those beyond are told so; two requests on one
    # connection (20 connections: an earlier client's slot may still be
    # on its way out when they arrive)
    idle, refused = [], []
    for _ in range(20):
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.connect(SOCK)
        idle.append(c)
    pending, end = list(idle), time.time() + 4
    while len(refused) < 4 and time.time() < end:
        for c in list(pending):
            c.setblocking(False)
            try:
                d = c.recv(4096)
            except BlockingIOError:
                continue
            except OSError:
                d = b""
            pending.remove(c)
            if d:
                refused.append(json.loads(d.split(b"\n")[0]))
        time.sleep(0.05)
    check(3 <= len(refused) <= 4 and all(r.get("ok") is False and "too many" in r.get("error", "")
                                         for r in refused),
          "16 API clients at once: %d of 20 told 'too many'" % len(refused), refused)
    data = b""
    for c in idle:   # the first connection that was taken: two requests on it
        try:
            c.settimeout(3)
            c.sendall(b'{"op":"list"}\n{"op":"stats"}\n')
            while data.count(b"\n") < 2:
                chunk = c.recv(1 << 20)
                if not chunk:
                    break
                data += chunk
        except OSError:
            data = b""
        if data.count(b"\n") >= 2:
            break
    lines = [json.loads(x) for x in data.split(b"\n") if x]
    check(len(lines) == 2 and "conferences" in lines[0] and "tunnel" in lines[1],
          "two requests on one connection, answered in order")
    for c in idle:
        c.close()
    time.sleep(0.3)
    rc, out, _ = ctl("list")
    check(rc == 0, "served again once clients left")
    ls = listing()
    check(ls.get(("c1", "A"), {}).get("state") == "waiting_ice" and
          ls.get(("c1", "B"), {}).get("state") == "waiting_ice", "list: A and B waiting_ice", ls)

    # ---- ICE-lite ----
    threading.Thread(target=keepalive_loop, args=(list(eps.values()),), daemon=True).start()
    for n in ("A", "B"):
        tid, r = eps[n].binding()
        eps[n].keepalive = r is not None    # consent from now on, as an ICE agent does
        check(r is not None and not stun_verify(r, tid, eps[n].pwd, eps[n].addr),
              "STUN %s: success verifies with the MDD pwd, XOR-MAPPED-ADDRESS %s:%d" % ((n,) + eps[n].addr),
              stun_verify(r, tid, eps[n].pwd, eps[n].addr) if r else "no response")
    st0 = stats().get("ice", {})
    bad = Endpoint(40009, "epAufrag")
    tid, r = bad.binding(pwd="wrongpassword0123456789", user="%s:epAufrag" % eps["A"].ufrag,
                         timeout=0.7, tries=1)
    st1 = stats().get("ice", {})
    check(r is None and st1.get("stun_bad_integrity", 0) == st0.get("stun_bad_integrity", 0) + 1,
          "bad MESSAGE-INTEGRITY: no success, counted (stun_bad_integrity)", (r, st1))
    tid, r = bad.binding(pwd=eps["A"].pwd, user="nobody:epAufrag", timeout=0.7, tries=1)
    st2 = stats().get("ice", {})
    check(r is None and st2.get("stun_unknown_user", 0) == st1.get("stun_unknown_user", 0) + 1,
          "unknown USERNAME: no answer, counted (stun_unknown_user)", st2)
    ls = listing()
    a = ls.get(("c1", "A"), {})
    check(a.get("state") == "ice_ok" and (a.get("five_tuple") or {}).get("remote_port") == 40001 and
          a["five_tuple"].get("remote_ip") == "192.0.2.2" and a.get("nominated") is True,
          "list: A ice_ok at 192.0.2.2:40001, nominated", a)
    check(ls.get(("c1", "B"), {}).get("five_tuple", {}).get("remote_port") == 40002, "list: B at port 40002")

    # ---- the tunnel ----
    ev = wait_for(lambda: [e for e in kd_events() if e.get("ev") == "first"], 8)
    check(ev and ev[0]["type"] == 1 and ev[0].get("version") == 0 and ev[0].get("profiles") == [9],
          "tunnel: SupportedProfiles {0, [0x0009]} is the first message", ev)
    conn = [e for e in kd_events() if e.get("ev") == "connected"]
    check(conn and conn[0].get("version") == "TLSv1.3" and conn[0].get("client_cn") == "perc-mdd",
          "tunnel: TLS 1.3 with the MDD's client certificate", conn)
    check(wait_for(lambda: stats().get("tunnel", {}).get("connected"), 5), "stats: tunnel connected")
    uuids = {}
    for n in ("A", "B"):
        r, u = associate(eps[n], n)
        uuids[n] = u
        check(r is not None and r.endswith(b"kd-reply:" + n.encode()),
              "DTLS %s -> TunneledDtls -> KD; the KD's TunneledDtls reaches %s" % (n, n), r)
        check(u is not None and u[12] == "4" and u[16] in "89ab", "association of %s is a UUID v4" % n, u)
    ok = wait_for(lambda: all(listing().get(("c1", n), {}).get("state") == "keyed" for n in ("A", "B")), 3)
    ls = listing()
    check(ok and ls[("c1", "A")].get("association", "").replace("-", "") == uuids["A"],
          "MediaKeys installed: A and B keyed, list shows the association", ls)
    log = open(W + "/mdd.log").read()
    check("keys installed for c1/A" in log, "log: keys installed for c1/A")
    leak = [k for v in KEYS.values() for k in v.values() if k in log]
    check(not leak, "no key material in the log")
    # a keyless endpoint E (ICE only): media to it is skipped and counted
    rc, out, _ = ctl("endpoint", "add", "c1", "E", "--remote-ufrag", "epEufrag")
    eps["E"].ufrag, eps["E"].pwd = out["ufrag"], out["pwd"]
    eps["E"].keepalive = eps["E"].binding()[1] is not None
    s0 = stats().get("total", {})

    pump = Pump(eps)
    got = collect(eps["B"], 12, 8)
    good, badn = verify_media(pump, "A", "B", got)
    check(len(got) >= 8 and good >= 6 and badn == 0,
          "media A -> B: %d packets at B, re-sealed: open with B's server_write key" % len(got),
          (len(got), good, badn))
    p = got[-1] if got else b""
    check(got and unprotect("A", KEYS["A"]["client_key"], KEYS["A"]["client_salt"], p) is None,
          "what B gets does not open with A's key (the hop-by-hop layer was re-sealed)")
    got = collect(eps["A"], 8, 5)
    good, badn = verify_media(pump, "B", "A", got)
    check(len(got) >= 8 and good >= 6 and badn == 0, "media B -> A", (len(got), good, badn))
    s1 = stats().get("total", {})
    check(s1.get("receiver_no_key", 0) > s0.get("receiver_no_key", 0) and not eps["E"].drain("rtp"),
          "keyless receiver E skipped and counted (receiver_no_key)", s1.get("receiver_no_key"))
    # (a packet of its own: A's sequence numbers belong to the pump)
    eps["E"].send(protect("A", struct.pack("!BBHII", 0x80, 96, 1, 160, 0x0E0E0E0E) + b"\x55" * 20))
    check(wait_for(lambda: stats().get("total", {}).get("no_key", 0) > s0.get("no_key", 0), 2),
          "media from keyless E dropped and counted (no_key)")

    # rekey of A by a second MediaKeys on its association: nothing dropped
    s0 = stats()
    first_seq = max(pump.sent["A"]) + 1
    eps["A"].drain("dtls")
    eps["A"].send(dtls_record("A2"))
    r = eps["A"].wait("dtls", 3)
    ok = wait_for(lambda: stats().get("ice", {}).get("keys_installed", 0) >
                  s0.get("ice", {}).get("keys_installed", 0), 3)
    check(r is not None and r.endswith(b"kd-reply:A2") and ok, "rekey: MediaKeys A2 on A's association installed")
    # A still sends a few packets with its old key: the grace period opens them
    s_inst = max(pump.sent["A"])
    wait_for(lambda: max(pump.sent["A"]) >= s_inst + 1, 0.3, step=0.01)
    pump.kname["A"] = "A2"
    switch_seq = max(pump.sent["A"]) + 1
    eps["A"].drain("rtp")
    time.sleep(1.0)
    last_seq = max(pump.sent["A"]) - 3
    seen, end = set(), time.time() + 3
    while time.time() < end:        # late is fine (a loaded machine), lost is not
        seen |= {struct.unpack("!H", p[2:4])[0] for p in eps["B"].drain("rtp")}
        missing = [q for q in range(first_seq, last_seq + 1) if q not in seen]
        if not missing:
            break
        time.sleep(0.1)
    s1 = stats()
    if missing:
        print("debug: sent A %s; B saw %s; stats %s" % (sorted(pump.sent["A"])[-20:], sorted(seen)[-25:],
              {k: v for k, v in s1["total"].items() if v}))
    check(not missing and last_seq > switch_seq > first_seq,
          "rekey: B got every packet A sent across the switch (%d..%d, new key from %d)" %
          (first_seq, last_seq, switch_seq), missing)
    check(s1["total"]["srtp_auth"] == s0["total"]["srtp_auth"] and
          s1["total"]["rekey_next"] > s0["total"]["rekey_next"],
          "rekey: no auth failure, late old-key packets opened with the previous key",
          (s0["total"]["srtp_auth"], s1["total"]["srtp_auth"], s1["total"]["rekey_next"]))
    got = eps["A"].drain("rtp")
    good, badn = verify_media(pump, "B", "A", got[len(got) // 2:], limit=8, rkeys="A2")
    check(good >= 4 and badn == 0, "rekey: what A gets now opens with A2's server_write key", (good, badn))

    # KD restart: media keeps flowing, the tunnel comes back
    kd_stop()
    check(wait_for(lambda: stats().get("tunnel", {}).get("connected") is False, 5), "KD gone: tunnel down")
    eps["B"].drain("rtp")
    got = collect(eps["B"], 6, 5)
    good, badn = verify_media(pump, "A", "B", got, limit=5)
    check(len(got) >= 4 and good >= 3 and badn == 0, "media keeps flowing while the KD is down (%d)" % len(got))
    st_a = stats().get("ice", {}).get("dtls_tunnel_down", 0)
    eps["A"].send(dtls_record("A"))
    check(wait_for(lambda: stats().get("ice", {}).get("dtls_tunnel_down", 0) > st_a, 2),
          "DTLS while the tunnel is down: dropped and counted (dtls_tunnel_down)")
    kd_start(os.path.join(W, "kd2.jsonl"))
    t = wait_for(lambda: stats().get("tunnel", {}), 0)
    ok = wait_for(lambda: (lambda t: t.get("connected") and t.get("reconnects", 0) >= 1)(
        stats().get("tunnel", {})), 10)
    check(ok, "tunnel reconnects to the restarted KD (reconnects >= 1)", stats().get("tunnel"))
    ev = wait_for(lambda: [e for e in kd_events() if e.get("ev") == "first"], 3)
    check(ev and ev[0].get("profiles") == [9], "SupportedProfiles first again after the reconnect")
    eps["B"].drain("rtp")
    got = collect(eps["B"], 3, 5)
    check(len(got) >= 3, "media after the reconnect (%d)" % len(got))
    pump.halt()

    # media timeout -> EndpointDisconnect (the legs stay)
    time.sleep(MEDIA_MS / 1000 + 1.5)
    # (on a loaded machine the pump may pause long enough for a timeout
    # before the KD restart: then the first KD got it)
    disc = [e["uuid"] for e in all_kd_events() if e.get("ev") == "disconnect"]
    check(uuids["A"] in disc and uuids["B"] in disc,
          "media silent %d ms: EndpointDisconnect for A and B" % MEDIA_MS, (disc, uuids))
    ls = listing()
    check(("c1", "A") in ls and ls[("c1", "A")].get("association") is None,
          "A stays after its EndpointDisconnect, without an association")

    # endpoint_remove of an associated endpoint -> EndpointDisconnect
    rc, out, _ = ctl("endpoint", "add", "c1", "D", "--remote-ufrag", "epDufrag")
    eps["D"].ufrag, eps["D"].pwd = out["ufrag"], out["pwd"]
    eps["D"].binding()
    eps["D"].keepalive = True
    r, u = associate(eps["D"], "D")
    rc, out, _ = ctl("endpoint", "remove", "c1", "D")
    eps["D"].keepalive = False
    check(rc == 0 and ("c1", "D") not in listing(), "endpoint remove D", out)
    check(wait_for(lambda: u in [e["uuid"] for e in kd_events() if e.get("ev") == "disconnect"], 3),
          "endpoint remove sends EndpointDisconnect for D's association", u)
    rc, out, _ = ctl("endpoint", "remove", "c1", "D")
    check(rc == 1, "endpoint remove D again refused")

    # consent: B stops refreshing and goes; A keeps refreshing and stays
    eps["B"].keepalive = False
    time.sleep(CONSENT_MS / 1000 + 1.2)
    ls = listing()
    check(("c1", "B") not in ls and ("c1", "A") in ls,
          "consent: B removed after %d ms without a request, A (refreshing) stays" % CONSENT_MS, list(ls))
    check("consent expired" in open(W + "/mdd.log").read(), "log: consent expired")
    st = stats()
    check(st.get("ice", {}).get("consent_expired", 0) >= 1, "stats: consent_expired counted")

    rc, out, _ = ctl("conference", "delete", "c1")
    check(rc == 0 and out.get("endpoints_removed") == 2 and not listing(),
          "conference delete c1 (A and E)", out)
    kd_stop()

    # a KD of another tunnel version: logged, and the MDD keeps backing off
    kd_start(os.path.join(W, "kd3.jsonl"), "--unsupported-version")
    t = wait_for(lambda: (lambda t: t if t.get("unsupported_version", 0) >= 3 else None)(
        stats().get("tunnel", {})), 10)
    check(t and t.get("backoff_ms", 0) >= 400 and not t.get("connected"),
          "UnsupportedVersion: counted, reconnects back off (%s ms)" % (t or {}).get("backoff_ms"), t)
    check("does not speak tunnel version" in open(W + "/mdd.log").read(), "log: UnsupportedVersion")
    kd_stop()

    # a "KD" that accepts TCP and never speaks TLS: the handshake times out
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind(("127.0.0.1", int(KD_PORT)))
    ls.listen(8)
    f0 = stats().get("tunnel", {}).get("failures", 0)
    t = wait_for(lambda: (lambda t: t if "TLS handshake" in t.get("last_error", "") else None)(
        stats().get("tunnel", {})), 12, step=0.3)
    check(t and t.get("failures", 0) > f0 and not t.get("connected"),
          "a KD that never answers the TLS handshake: given up after 5 s, retried", t)
    ls.close()
    print("mdctl: %d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


if __name__ == "__main__":
    try:
        rc = main()
    finally:
        if kd_proc is not None and kd_proc.poll() is None:
            kd_proc.kill()
    sys.exit(rc)
