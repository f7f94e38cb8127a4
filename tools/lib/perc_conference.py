#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A whole PERC system on one machine, for tools/demo and the integration tests.

Builds everything a conference needs in a network namespace of its own (no
NIC, nothing outside the namespace touched): certificates for the Key
Distributor, the MDD and every endpoint, a token issuer, perc-kd, perc-mdd on
a DPDK tap port, and perc-endpoint processes. It plays call processing: it
creates conferences and endpoints through the MDD's conference API (mddctl)
and authorizes participants through the KD's roster API, then lets media
run, and writes a JSON report.

  perc_conference.py --build DIR --work DIR [options]     (see --help)

Python standard library only.
"""
import argparse
import hashlib
import json
import os
import secrets
import signal
import socket
import ssl
import subprocess
import sys
import time

MDD_IP = "192.0.2.1"
HOST_IP = "192.0.2.2"
MDD_PORT = 3478
KD_ADDR = "127.0.0.1:4443"
ISS = "https://auth.perc.example"
AUD = "perc-kd"


def log(msg):
    print("==> " + msg, file=sys.stderr, flush=True)


class Failure(Exception):
    pass


def run(cmd, **kw):
    """Run a command; its stdout as text. Raises Failure with its stderr."""
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **kw)
    if p.returncode != 0:
        raise Failure("%s exited %d: %s" % (" ".join(cmd[:3]), p.returncode,
                                            (p.stderr or p.stdout).strip()[-600:]))
    return p.stdout


def fingerprint(pem_path):
    der = ssl.PEM_cert_to_DER_cert(open(pem_path).read())
    d = hashlib.sha256(der).hexdigest().upper()
    return "sha-256 " + ":".join(d[i:i + 2] for i in range(0, len(d), 2))


def mkcert(w, name):
    key, pem = "%s/%s.key" % (w, name), "%s/%s.pem" % (w, name)
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
         "-nodes", "-keyout", key, "-out", pem, "-days", "2", "-subj", "/CN=" + name])
    os.chmod(key, 0o600)
    return pem, key


def unix_request(path, req, timeout=5.0):
    """One JSON line to a Unix socket API, one JSON line back."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall((json.dumps(req) + "\n").encode())
        buf = b""
        while not buf.endswith(b"\n"):
            c = s.recv(65536)
            if not c:
                break
            buf += c
    finally:
        s.close()
    return json.loads(buf.decode())


class System:
    """The namespace and the daemons in it."""

    def __init__(self, a):
        self.a = a
        self.b = os.path.abspath(a.build)
        self.w = os.path.abspath(a.work)
        self.ns = "perc-conf-%d" % os.getpid()
        self.procs = {}
        self.kd_sock = self.w + "/kd.sock"
        self.mdd_sock = self.w + "/mdd.sock"
        self.kd_restarts = 0

    # -- binaries
    def bin(self, name):
        for d in ("control/kd", "control", "dataplane/mdd", "tools", "endpoint"):
            p = "%s/%s/%s" % (self.b, d, name)
            if os.path.exists(p):
                return p
        raise Failure("%s not built under %s (run ninja -C %s)" % (name, self.b, self.b))

    def ns_cmd(self, cmd):
        return ["ip", "netns", "exec", self.ns] + cmd

    def start(self, name, cmd, tty=False):
        """Start cmd in the namespace; output to WORK/name.log, or to the
        terminal (stdout) with its errors in the log when tty."""
        f = open("%s/%s.log" % (self.w, name), "a")
        self.procs[name] = subprocess.Popen(self.ns_cmd(cmd), stdout=None if tty else f,
                                            stderr=f if tty else subprocess.STDOUT)
        return self.procs[name]

    def stop(self, name, sig=signal.SIGTERM, timeout=10.0):
        p = self.procs.pop(name, None)
        if p is None:
            return None
        if p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode

    # -- namespace
    def up(self):
        os.makedirs(self.w, exist_ok=True)
        if subprocess.run(["ip", "netns", "add", self.ns], stderr=subprocess.DEVNULL).returncode:
            raise Failure("cannot create network namespace %s: needs root and iproute2" % self.ns)
        run(self.ns_cmd(["ip", "link", "set", "lo", "up"]))
        run(self.ns_cmd(["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1",
                         "net.ipv6.conf.default.disable_ipv6=1"]))

    def down(self):
        for n in list(self.procs):
            self.stop(n, timeout=5.0)
        out = subprocess.run(["ip", "netns", "pids", self.ns], stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, text=True).stdout
        for pid in out.split():
            try:
                os.kill(int(pid), signal.SIGKILL)
            except OSError:
                pass
        subprocess.run(["ip", "netns", "del", self.ns], stderr=subprocess.DEVNULL)

    # -- credentials
    def credentials(self):
        w = self.w
        self.kd_pem, self.kd_key = mkcert(w, "kd")
        self.mdd_pem, self.mdd_key = mkcert(w, "mdd")
        self.issuer_key = w + "/issuer.key"
        self.issuer_pub = w + "/issuer.pub"
        run(["openssl", "genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
             "-out", self.issuer_key])
        run(["openssl", "pkey", "-in", self.issuer_key, "-pubout", "-out", self.issuer_pub])
        self.kd_fp = fingerprint(self.kd_pem)

    def token(self, sub, conf, cert):
        return run([self.bin("perc-kd"), "token", "--issuer-key", self.issuer_key, "--iss", ISS,
                    "--aud", AUD, "--sub", sub, "--conf", conf, "--cert", cert]).strip()

    # -- daemons
    def start_kd(self, cert=None, key=None):
        cmd = [self.bin("perc-kd"), "--listen", KD_ADDR, "--cert", cert or self.kd_pem,
               "--key", key or self.kd_key, "--mdd-ca", self.mdd_pem, "--api", self.kd_sock,
               "--issuer-key", self.issuer_pub, "--issuer", ISS, "--audience", AUD,
               "--events", self.w + "/kd-events.jsonl"]
        if os.path.exists(self.kd_sock):
            os.unlink(self.kd_sock)
        self.start("kd", cmd)
        self.wait_for(lambda: os.path.exists(self.kd_sock), "perc-kd's API socket", "kd")

    def start_mdd(self):
        mem = ["--no-huge", "-m", "512"]
        cmd = [self.bin("perc-mdd")] + mem + [
            "--no-pci", "-l", "0-1", "--file-prefix", self.ns, "--log-level=lib.eal:error",
            "--vdev", "net_tap0,iface=mddtap0", "--",
            "--addr", MDD_IP, "--port", str(MDD_PORT), "--api", self.mdd_sock,
            "--kd", KD_ADDR, "--kd-cert", self.mdd_pem, "--kd-key", self.mdd_key,
            "--kd-ca", self.kd_pem, "--stats-interval", "0",
            "--stats-json", self.w + "/mdd-stats.json"]
        if self.a.consent_timeout:
            cmd += ["--consent-timeout", str(self.a.consent_timeout)]
        self.start("mdd", cmd)
        self.wait_for(lambda: subprocess.run(self.ns_cmd(["ip", "link", "show", "mddtap0"]),
                                             stdout=subprocess.DEVNULL,
                                             stderr=subprocess.DEVNULL).returncode == 0,
                      "perc-mdd's tap port", "mdd")
        run(self.ns_cmd(["ip", "addr", "add", HOST_IP + "/24", "dev", "mddtap0"]))
        run(self.ns_cmd(["ip", "link", "set", "mddtap0", "up"]))
        self.wait_for(lambda: os.path.exists(self.mdd_sock), "perc-mdd's API socket", "mdd")
        self.wait_for(self.tunnel_up, "perc-mdd's tunnel to perc-kd", "mdd")

    def wait_for(self, cond, what, proc, timeout=30.0):
        end = time.time() + timeout
        while time.time() < end:
            if cond():
                return
            p = self.procs.get(proc)
            if p is not None and p.poll() is not None:
                raise Failure("%s exited %d before %s was ready; its log: %s/%s.log" %
                              (proc, p.returncode, what, self.w, proc))
            time.sleep(0.1)
        raise Failure("%s not ready after %.0f s (see %s/%s.log)" % (what, timeout, self.w, proc))

    def mddctl(self, *args, check=True):
        p = subprocess.run([self.bin("mddctl"), "--socket", self.mdd_sock] + list(args),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if check and p.returncode != 0:
            raise Failure("mddctl %s: %s" % (" ".join(args), p.stderr.strip()))
        try:
            return json.loads(p.stdout) if p.stdout.strip() else {}
        except ValueError:
            raise Failure("mddctl %s printed no JSON: %r" % (" ".join(args), p.stdout[:200]))

    def kd(self, req):
        r = unix_request(self.kd_sock, req)
        if not r.get("ok"):
            raise Failure("perc-kd refused %s: %s" % (req.get("op"), r.get("error")))
        return r

    def tunnel_up(self):
        try:
            st = self.mddctl("stats", check=False)
        except Failure:
            return False
        t = st.get("tunnel", {})
        return bool(t.get("connected"))

    def mdd_pid(self):
        """The perc-mdd process itself (ip netns exec execs it)."""
        return self.procs["mdd"].pid


HUGE_REGION = 64 << 30


def scan_memory(pid, keys):
    """Look for every key (bytes) in the readable memory of pid, through
    /proc/PID/mem. Returns (hits, bytes scanned, regions)."""
    hits = {}
    scanned = regions = 0
    skipped = []
    zero = bytes(1 << 20)
    with open("/proc/%d/maps" % pid) as f:
        maps = f.read().splitlines()
    fd = os.open("/proc/%d/mem" % pid, os.O_RDONLY)
    try:
        for line in maps:
            parts = line.split()
            lo, hi = (int(x, 16) for x in parts[0].split("-"))
            if "r" not in parts[1] or (len(parts) > 5 and parts[5] in ("[vvar]", "[vsyscall]")):
                continue
            if hi - lo > HUGE_REGION:
                # address space reserved, not memory in use: a sanitizer's
                # shadow (terabytes) would take hours to read and holds none
                skipped.append(parts[0])
                continue
            regions += 1
            off, tail = lo, b""
            while off < hi:
                n = min(1 << 20, hi - off)
                try:
                    chunk = os.pread(fd, n, off)
                except OSError:
                    break
                if not chunk:
                    break
                scanned += len(chunk)
                if chunk != zero[:len(chunk)]:
                    data = tail + chunk
                    for k in keys:
                        if k in data:
                            hits[k.hex()] = hits.get(k.hex(), 0) + 1
                    tail = chunk[-63:]
                else:
                    tail = b""
                off += n
    finally:
        os.close(fd)
    return hits, scanned, regions, skipped


def read_keylog(path):
    """Keys from an endpoint keylog: '<time_ms> <id> <LABEL> <attrs...> <hex>'."""
    keys = set()
    if not os.path.exists(path):
        return keys
    for line in open(path):
        f = line.split()
        if len(f) >= 4:
            try:
                k = bytes.fromhex(f[-1])
            except ValueError:
                continue
            if len(k) >= 16:
                keys.add(k)
    return keys


def plan(a):
    """Endpoints of the scenario: [(conference, id, start_s, leave_s)]."""
    eps = []
    for c in range(1, a.conferences + 1):
        for p in range(1, a.size + 1):
            eps.append({"conference": "c%d" % c, "id": "c%d-p%d" % (c, p),
                        "start_s": 0, "leave_s": None})
    byid = {e["id"]: e for e in eps}
    for spec in a.leave or []:
        i, t = spec.split("@")
        byid[i]["leave_s"] = float(t)
    for spec in a.late or []:
        i, t = spec.split("@")
        byid[i]["start_s"] = float(t)
    return eps


def provision(s, a, eps):
    """Call processing: conferences and endpoints at the MDD, participants at the KD."""
    spec = []
    for conf in sorted({e["conference"] for e in eps}):
        s.mddctl("conference", "create", conf)
    for e in eps:
        pem, key = mkcert(s.w, e["id"])
        own_ufrag = secrets.token_hex(4)
        ice = s.mddctl("endpoint", "add", e["conference"], e["id"], "--remote-ufrag", own_ufrag)
        tls_id = secrets.token_hex(20)
        conf_in_token = e["conference"]
        cert_in_token = pem
        if e["id"] in (a.token_other_conf or []):
            conf_in_token = "c-other"
        if e["id"] in (a.token_other_cert or []):
            cert_in_token, _ = mkcert(s.w, e["id"] + "-thief")
        s.kd({"op": "authorize", "conference": e["conference"], "participant": e["id"],
              "fingerprint": fingerprint(pem), "tls_id": tls_id})
        ep = {"id": e["id"], "conference": e["conference"], "cert": pem, "key": key,
              "token": s.token(e["id"], conf_in_token, cert_in_token), "tls_id": tls_id,
              "ice": {"ufrag": own_ufrag, "mdd_ufrag": ice["ufrag"], "mdd_pwd": ice["pwd"]},
              "media": "both" if e["id"].endswith("-p1") else "audio",
              "start_s": e["start_s"], "leave_s": e["leave_s"]}
        if e["id"] in (a.wrong_pin or []):
            ep["kd_fingerprint"] = fingerprint(mkcert(s.w, e["id"] + "-notkd")[0])
        spec.append(ep)
    doc = {"mdd": "%s:%d" % (MDD_IP, MDD_PORT), "bind": HOST_IP, "kd_fingerprint": s.kd_fp,
           "require_e2e": True, "endpoints": spec}
    path = s.w + "/endpoints.json"
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)
    os.chmod(path, 0o600)
    return path


def stun_request(username, pwd, tid=None):
    """An ICE Binding request (RFC 5389 / 8445) with MESSAGE-INTEGRITY and FINGERPRINT."""
    import hmac
    import struct
    import zlib
    tid = tid or secrets.token_bytes(12)
    u = username.encode()
    attrs = struct.pack("!HH", 0x0006, len(u)) + u + b"\0" * (-len(u) % 4)
    attrs += struct.pack("!HHI", 0x0024, 4, 0x6e0001ff)             # PRIORITY
    attrs += struct.pack("!HH", 0x802A, 8) + secrets.token_bytes(8)  # ICE-CONTROLLING
    hdr = struct.pack("!HHI", 0x0001, len(attrs) + 24, 0x2112A442) + tid
    mi = hmac.new(pwd.encode(), hdr + attrs, "sha1").digest()
    attrs += struct.pack("!HH", 0x0008, 20) + mi
    hdr = struct.pack("!HHI", 0x0001, len(attrs) + 8, 0x2112A442) + tid
    crc = (zlib.crc32(hdr + attrs) ^ 0x5354554E) & 0xffffffff
    return hdr + attrs + struct.pack("!HHI", 0x8028, 4, crc)


def raw_unix(path, data, timeout=3.0):
    """Bytes to a Unix socket API; the first line back (b"" when it closed)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(timeout)
    try:
        s.connect(path)
        s.sendall(data)
        buf = b""
        while b"\n" not in buf:
            c = s.recv(65536)
            if not c:
                break
            buf += c
        return buf.split(b"\n")[0]
    except OSError as e:
        return ("error: %s" % e).encode()
    finally:
        s.close()


def malformed_inputs(s):
    """Bad input to every interface while the conference runs. Each entry says
    what was sent and whether the answer was the clear refusal expected; the
    endpoints' own checks show that nobody else was disturbed."""
    out = []

    def refused(line):
        try:
            r = json.loads(line)
        except ValueError:
            return False
        return r.get("ok") is False and len(r.get("error", "")) > 8

    for api, path in (("kd", s.kd_sock), ("mdd", s.mdd_sock)):
        for what, data in (("not JSON", b"{this is not json\n"),
                           ("unknown op", b'{"op":"format_disk"}\n'),
                           ("missing fields", b'{"op":"%s"}\n' %
                            (b"authorize" if api == "kd" else b"endpoint_add")),
                           ("wrong types", b'{"op":"%s","conference":7,"id":[]}\n' %
                            (b"revoke" if api == "kd" else b"endpoint_remove")),
                           ("100 kB line", b'{"op":"list","x":"' + b"a" * 100000 + b'"}\n')):
            line = raw_unix(path, data)
            out.append({"target": api + " API", "what": what, "answer": line[:200].decode("ascii", "replace"),
                        "ok": refused(line)})
    # STUN and DTLS to the MDD from a socket the MDD does not know
    probe = ["python3", "-c", PROBE, MDD_IP, str(MDD_PORT), HOST_IP]
    res = json.loads(run(s.ns_cmd(probe)))
    out.extend(res)
    # an endpoint that passes ICE (so the MDD tunnels what it sends) and then
    # sends garbage DTLS: the KD refuses that association alone
    conf = "c1"
    ufrag = secrets.token_hex(4)
    try:
        ice = s.mddctl("endpoint", "add", conf, "mallory", "--remote-ufrag", ufrag)
        good = stun_request("%s:%s" % (ice["ufrag"], ufrag), ice["pwd"]).hex()
        bad = stun_request("%s:%s" % (ice["ufrag"], ufrag), ice["pwd"] + "x").hex()
        res = json.loads(run(s.ns_cmd(["python3", "-c", PROBE_ICE, MDD_IP, str(MDD_PORT),
                                       HOST_IP, good, bad])))
        out.extend(res)
        s.mddctl("endpoint", "remove", conf, "mallory", check=False)
    except (Failure, KeyError, ValueError) as e:
        out.append({"target": "mdd ICE", "what": "mallory", "answer": str(e), "ok": False})
    # a tunnel from a trusted MDD certificate that sends garbage
    out.append(bad_tunnel(s))
    return out


# Runs inside the namespace: a Binding request with a wrong password (no
# success may come back), a good one (success), then DTLS garbage that the
# MDD tunnels to the KD (which must refuse it, no answer that completes).
PROBE_ICE = r"""
import json, socket, sys, os
ip, port, me, good, bad = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((me, 0)); s.settimeout(1.0)
def ask(data):
    s.sendto(data, (ip, port))
    try:
        return s.recv(2048)
    except socket.timeout:
        return b""
out = []
r = ask(bytes.fromhex(bad))
out.append({"target": "mdd ICE", "what": "Binding request with a wrong password",
            "answer": "no answer" if not r else "type %02x%02x" % (r[0], r[1]),
            "ok": r[:2] != b"\x01\x01"})
for _ in range(4):           # the MDD's control thread may be busy: ask again
    r = ask(bytes.fromhex(good))
    if r:
        break
out.append({"target": "mdd ICE", "what": "Binding request with the right password",
            "answer": "no answer" if not r else "type %02x%02x" % (r[0], r[1]),
            "ok": r[:2] == b"\x01\x01"})
got = []
for rec in (bytes([22, 0xfe, 0xfd, 0, 0]) + os.urandom(60),
            bytes([22, 0xfe, 0xfd]) + bytes(8) + bytes([0xff, 0xff]) + os.urandom(20),
            bytes([23, 0xfe, 0xfd]) + os.urandom(40)):
    got.append(len(ask(rec)))
out.append({"target": "kd via tunnel", "what": "garbage DTLS records after ICE",
            "answer": "replies of %s bytes" % got, "ok": None})
print(json.dumps(out))
"""


# Runs inside the namespace: sends bad STUN and DTLS from a fresh socket and
# reports whether anything came back (nothing must: each is dropped, counted).
PROBE = r"""
import json, socket, sys, os
ip, port, me = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind((me, 0)); s.settimeout(0.3)
cases = [("STUN header cut short", bytes([0, 1, 0, 8]) + b"\x21\x12"),
         ("STUN with a bad length", bytes.fromhex("000100ff2112a442") + os.urandom(12) + b"\0" * 8),
         ("STUN request, unknown username, no integrity",
          bytes.fromhex("000100082112a442") + os.urandom(12) + bytes.fromhex("00060004") + b"ab:c"),
         ("DTLS record from an address that did no ICE", bytes([22, 0xfe, 0xfd]) + os.urandom(60)),
         ("random bytes", os.urandom(200))]
out = []
for what, data in cases:
    s.sendto(data, (ip, port))
    try:
        got = s.recv(2048)
        answer = "%d bytes back" % len(got)
        ok = got[:2] in (b"\x01\x11",)      # a STUN error response is a fine answer
    except socket.timeout:
        answer, ok = "dropped", True
    out.append({"target": "mdd media port", "what": what, "answer": answer, "ok": ok})
print(json.dumps(out))
"""


def bad_tunnel(s):
    """Open a second tunnel with the MDD's (trusted) certificate and send a
    message with a length past its body, then an unknown type: perc-kd must
    close that tunnel and keep the MDD's real one."""
    code = r"""
import socket, ssl, sys, json
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.minimum_version = ssl.TLSVersion.TLSv1_3
ctx.load_cert_chain(sys.argv[1], sys.argv[2]); ctx.load_verify_locations(sys.argv[3]); ctx.check_hostname = False
h, p = sys.argv[4].rsplit(":", 1)
t = ctx.wrap_socket(socket.create_connection((h, int(p)), timeout=3))
t.sendall(bytes([1, 0, 5, 0, 0, 2, 0, 9]))          # SupportedProfiles v0 [9]
t.sendall(bytes([4, 0, 3, 1, 2, 3]))                # TunneledDtls with a body shorter than a uuid
t.settimeout(3)
try:
    r = t.recv(100); closed = (r == b"")
except (ssl.SSLError, OSError):
    closed = True
print(json.dumps({"closed": closed}))
"""
    try:
        r = json.loads(run(s.ns_cmd(["python3", "-c", code, s.mdd_pem, s.mdd_key, s.kd_pem,
                                     KD_ADDR])))
        ok = r["closed"]
        ans = "tunnel closed by perc-kd" if ok else "tunnel left open"
    except (Failure, ValueError, KeyError) as e:
        ok, ans = False, str(e)
    return {"target": "kd tunnel", "what": "TunneledDtls shorter than its uuid", "answer": ans,
            "ok": ok}


def rekey_latencies(rekeys, endpoints, end_ms):
    """Per rekey: from its cause to every remaining sender using the new SPI.
    Rekeys at or after end_ms come from the endpoints saying goodbye when
    the run ends: listed with at_end, nobody is left to switch."""
    out = []
    for r in rekeys:
        if r["time_ms"] >= end_ms:
            out.append({"conference": r["conference"], "cause": r["cause"],
                        "participant": r.get("participant"), "spi": r["spi"],
                        "roster_version": r.get("roster_version"), "time_ms": r["time_ms"],
                        "at_end": True, "latency_ms": None})
            continue
        firsts, missing = [], []
        for e in endpoints:
            if e.get("conference") != r["conference"] or e.get("id") == r.get("participant") \
                    and r.get("cause") == "leave":
                continue
            spi = [s for s in e.get("spis", []) if s.get("spi") == r["spi"]]
            if not spi:
                continue           # not a member when this key was current
            if e.get("left_ms") and e["left_ms"] <= r["time_ms"]:
                continue
            first = spi[0].get("first_send_ms")
            if not first:
                # superseded: a later key came before this one was used (two
                # joins a few ms apart); the sender moved on at its first
                # packet under the later key, which is also "the new key"
                later = [x.get("first_send_ms") for x in e.get("spis", [])
                         if x.get("received_ms", 0) >= spi[0].get("received_ms", 0)
                         and x.get("spi") != r["spi"] and x.get("first_send_ms")]
                first = min(later) if later else None
            if first:
                firsts.append(first)
            elif e.get("rtp_sent", 0):
                missing.append(e["id"])
        lat = max(firsts) - r["time_ms"] if firsts and not missing else None
        out.append({"conference": r["conference"], "cause": r["cause"],
                    "participant": r.get("participant"), "spi": r["spi"],
                    "roster_version": r.get("roster_version"), "time_ms": r["time_ms"],
                    "senders": len(firsts), "latency_ms": lat,
                    "not_switched": missing})
    return out


def mdd_sample(s, t0):
    """The MDD's media counters and tunnel state now."""
    try:
        st = s.mddctl("stats", check=False)
    except Failure:
        return None
    tot = st.get("total", st.get("counters", {}))
    t = st.get("tunnel", {})
    return {"t": round(time.time() - t0, 2), "rx_rtp": tot.get("rx_rtp", 0),
            "tx_rtp": tot.get("tx_rtp", 0), "tunnel": bool(t.get("connected")),
            "reconnects": t.get("reconnects", 0)}


def live_line(s, t0, prev):
    try:
        st = s.mddctl("stats", check=False)
    except Failure:
        return prev
    tot = st.get("total", st.get("counters", {}))
    rx, tx = tot.get("rx_rtp", 0), tot.get("tx_rtp", 0)
    now = time.time()
    if prev:
        dt = max(now - prev[0], 1e-3)
        try:
            kl = s.kd({"op": "list"}).get("conferences", [])
        except (Failure, OSError, ValueError):
            kl = []
        kd = ", ".join("%s spi %s %d members" % (c.get("id", c.get("conference")), c.get("spi"),
                                          sum(1 for m in c.get("members", []) if m.get("joined")))
                      for c in kl)
        print("%6.1fs %-10s %8s rtp in %6.0f/s, out %6.0f/s; tunnel to the KD %s; KD: %s" %
              (now - t0, "perc-mdd", "", (rx - prev[1]) / dt, (tx - prev[2]) / dt,
               "up" if st.get("tunnel", {}).get("connected") else "DOWN", kd), flush=True)
    return (now, rx, tx)


def print_summary(rep):
    """The report as two tables, for people."""
    print("\n%-10s %-4s %-6s %8s %8s %8s %6s %s" % ("endpoint", "conf", "joined", "sent",
                                                   "received", "e2e_ok", "fail", "notes"))
    for e in rep.get("endpoints", []):
        notes = []
        if e.get("left_ms"):
            notes.append("left; after_leave_ok %s" % e.get("after_leave_ok"))
        if e.get("failure"):
            notes.append(e["failure"])
        lat = e.get("latency_ms") or {}
        if lat.get("p50") is not None:
            notes.append("latency p50 %s ms p99 %s ms" % (lat.get("p50"), lat.get("p99")))
        print("%-10s %-4s %-6s %8d %8d %8d %6d %s" % (
            e.get("id"), e.get("conference"), "yes" if e.get("joined") else "no",
            e.get("rtp_sent", 0), e.get("rtp_received", 0), e.get("e2e_ok", 0),
            e.get("e2e_fail", 0), "; ".join(notes)))
    print("\n%-5s %-6s %-10s %6s %10s" % ("conf", "cause", "who", "spi", "latency"))
    for r in rep.get("rekeys", []):
        if r.get("at_end"):
            continue
        print("%-5s %-6s %-10s %6s %10s" % (r["conference"], r["cause"], r.get("participant") or "-",
                                            r["spi"], "%s ms" % r["latency_ms"]
                                            if r.get("latency_ms") is not None else "n/a"))
    scan = rep.get("mdd_memory_scan")
    if scan:
        print("\nperc-mdd memory: %d MB read while media flowed; %d of %d endpoint keys found"
              % (scan["bytes"] >> 20, len(scan["found"]), scan["keys"]))
    print()


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--build", required=True, help="meson build directory")
    ap.add_argument("--work", required=True, help="work directory (certificates, logs, report)")
    ap.add_argument("--conferences", type=int, default=3)
    ap.add_argument("--size", type=int, default=4, help="participants per conference")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of media")
    ap.add_argument("--leave", action="append", help="ID@SECONDS: that participant leaves then")
    ap.add_argument("--late", action="append", help="ID@SECONDS: that participant joins then")
    ap.add_argument("--report", help="write the JSON report here")
    ap.add_argument("--keylog", help="endpoints append every E2E and EKT key they hold here")
    ap.add_argument("--live", action="store_true", help="print a table line per second")
    ap.add_argument("--summary", action="store_true", help="print the report as tables at the end")
    ap.add_argument("--scan-mdd", type=float, default=0.0,
                    help="at this second, search perc-mdd's memory for every keylog key")
    ap.add_argument("--kd-restart", type=float, default=0.0,
                    help="at this second, restart perc-kd (state lost: call processing re-authorizes)")
    ap.add_argument("--consent-timeout", type=int, default=0)
    ap.add_argument("--malformed", type=float, default=0.0,
                    help="at this second, send malformed API requests, STUN, DTLS and tunnel messages")
    ap.add_argument("--token-other-conf", action="append", help="ID: its token names another conference")
    ap.add_argument("--token-other-cert", action="append", help="ID: its token is bound to another certificate")
    ap.add_argument("--wrong-pin", action="append", help="ID: pins a KD fingerprint that is not the KD's")
    a = ap.parse_args()

    s = System(a)
    keylog = os.path.abspath(a.keylog) if a.keylog else s.w + "/keylog.txt"
    report = {"endpoints": [], "rekeys": []}
    rc = 0
    try:
        if os.path.exists(keylog):
            os.unlink(keylog)
        s.up()
        s.credentials()
        log("perc-kd (Key Distributor) on %s, perc-mdd on a DPDK tap port %s:%d in namespace %s"
            % (KD_ADDR, MDD_IP, MDD_PORT, s.ns))
        s.start_kd()
        s.start_mdd()
        eps = plan(a)
        log("call processing: %d conferences, %d endpoints (MDD conference API + KD roster API)"
            % (a.conferences, len(eps)))
        spec = provision(s, a, eps)
        ep_report = s.w + "/endpoints-report.json"
        cmd = [s.bin("perc-endpoint"), "--spec", spec, "--duration", str(a.duration),
               "--report", ep_report, "--keylog", keylog]
        if a.live:
            cmd.append("--live")
        log("media for %.0f s%s" % (a.duration, "".join(
            "; %s leaves at %s s" % tuple(x.split("@")) for x in a.leave or []) + "".join(
            "; %s joins at %s s" % tuple(x.split("@")) for x in a.late or [])))
        p = s.start("endpoints", cmd, tty=a.live)
        t0, prev, scan, restarted, bad_done = time.time(), None, None, False, False
        next_sample = t0
        report["mdd_samples"] = []
        while p.poll() is None:
            time.sleep(1.0 if a.live else 0.2)
            el = time.time() - t0
            if a.live:
                prev = live_line(s, t0, prev)
            if time.time() >= next_sample:
                next_sample += 1.0
                smp = mdd_sample(s, t0)
                if smp:
                    report["mdd_samples"].append(smp)
            if a.malformed and not bad_done and el >= a.malformed:
                bad_done = True
                report["malformed"] = malformed_inputs(s)
            if a.scan_mdd and scan is None and el >= a.scan_mdd:
                keys = read_keylog(keylog)
                hits, n, regions, skipped = scan_memory(s.mdd_pid(), keys)
                scan = {"keys": len(keys), "found": hits, "bytes": n, "regions": regions,
                        "skipped_over_64g": skipped, "at_s": round(el, 1)}
                log("perc-mdd memory: %d of %d endpoint keys found in %d MB (%d regions)"
                    % (len(hits), len(keys), n >> 20, regions))
            if a.kd_restart and not restarted and el >= a.kd_restart:
                restarted = True
                log("restarting perc-kd")
                s.stop("kd")
                time.sleep(0.5)
                s.start_kd()
                for e in json.load(open(spec))["endpoints"]:
                    s.kd({"op": "authorize", "conference": e["conference"], "participant": e["id"],
                          "fingerprint": fingerprint(e["cert"]), "tls_id": e["tls_id"]})
                report["kd_restart_ms"] = int(time.time() * 1000)
        ep_rc = p.returncode
        rep = json.load(open(ep_report)) if os.path.exists(ep_report) else {"endpoints": []}
        report["endpoints"] = rep["endpoints"]
        report["endpoint_exit"] = ep_rc
        try:
            report["rekeys"] = rekey_latencies(s.kd({"op": "rekeys"}).get("rekeys", []),
                                               report["endpoints"],
                                               int((t0 + a.duration) * 1000))
            report["kd_stats"] = s.kd({"op": "stats"})
        except (Failure, OSError, ValueError) as e:
            report["kd_error"] = str(e)
        report["mdd_stats"] = s.mddctl("stats", check=False)
        report["mdd_list"] = s.mddctl("list", check=False)
        if scan is not None:
            report["mdd_memory_scan"] = scan
        report["mdd_exit"] = s.stop("mdd")
        report["kd_exit"] = s.stop("kd")
    except Failure as e:
        print("error: %s" % e, file=sys.stderr)
        report["error"] = str(e)
        rc = 2
    finally:
        s.down()
    if a.report:
        with open(a.report, "w") as f:
            json.dump(report, f, indent=1)
    if a.summary:
        print_summary(report)
    return rc


if __name__ == "__main__":
    sys.exit(main())
