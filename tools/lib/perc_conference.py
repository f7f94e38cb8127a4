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


def scan_memory(pid, keys):
    """Look for every key (bytes) in the readable memory of pid, through
    /proc/PID/mem. Returns (hits, bytes scanned, regions)."""
    hits = {}
    scanned = regions = 0
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
    return hits, scanned, regions


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


def rekey_latencies(rekeys, endpoints):
    """Per rekey: from its cause to every remaining sender using the new SPI."""
    out = []
    for r in rekeys:
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
            if spi[0].get("first_send_ms"):
                firsts.append(spi[0]["first_send_ms"])
            elif e.get("rtp_sent", 0):
                missing.append(e["id"])
        lat = max(firsts) - r["time_ms"] if firsts and not missing else None
        out.append({"conference": r["conference"], "cause": r["cause"],
                    "participant": r.get("participant"), "spi": r["spi"],
                    "roster_version": r.get("roster_version"), "time_ms": r["time_ms"],
                    "senders": len(firsts), "latency_ms": lat,
                    "not_switched": missing})
    return out


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
        kd = " ".join("%s:spi=%s,n=%d" % (c.get("id", c.get("conference")), c.get("spi"),
                                          sum(1 for m in c.get("members", []) if m.get("joined")))
                      for c in kl)
        print("%5.0fs  mdd rtp in %6.0f/s out %6.0f/s  tunnel %-4s | kd %s" %
              (now - t0, (rx - prev[1]) / dt, (tx - prev[2]) / dt,
               "up" if st.get("tunnel", {}).get("connected") else "DOWN", kd), flush=True)
    return (now, rx, tx)


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
    ap.add_argument("--scan-mdd", type=float, default=0.0,
                    help="at this second, search perc-mdd's memory for every keylog key")
    ap.add_argument("--kd-restart", type=float, default=0.0,
                    help="at this second, restart perc-kd (state lost: call processing re-authorizes)")
    ap.add_argument("--consent-timeout", type=int, default=0)
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
        t0, prev, scan, restarted = time.time(), None, None, False
        while p.poll() is None:
            time.sleep(1.0 if a.live else 0.2)
            el = time.time() - t0
            if a.live:
                prev = live_line(s, t0, prev)
            if a.scan_mdd and scan is None and el >= a.scan_mdd:
                keys = read_keylog(keylog)
                hits, n, regions = scan_memory(s.mdd_pid(), keys)
                scan = {"keys": len(keys), "found": hits, "bytes": n, "regions": regions,
                        "at_s": round(el, 1)}
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
                                               report["endpoints"])
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
    return rc


if __name__ == "__main__":
    sys.exit(main())
