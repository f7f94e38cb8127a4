#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""A Key Distributor stand-in for perc-mdd's tunnel tests (RFC 9185 over
TLS 1.3, mutual authentication). It does no DTLS: a TunneledDtls whose
record contains b"perc-test:NAME" is answered with a TunneledDtls
(b"\\x16\\xfe\\xfd" + b"kd-reply:NAME") and MediaKeys for that association
with the outer keys of NAME from KEYS.json
({"NAME": {"client_key": HEX, "client_salt": HEX, "server_key": HEX,
"server_salt": HEX}}). Every event is one JSON line in LOG.

  fake_kd.py --listen HOST:PORT --cert C --key K --ca CA --keys KEYS.json --log LOG
             [--unsupported-version]   answer SupportedProfiles with UnsupportedVersion
"""
import argparse
import json
import socket
import ssl
import struct
import sys


def log(f, **ev):
    f.write(json.dumps(ev) + "\n")
    f.flush()


def msg(t, body):
    return struct.pack("!BH", t, len(body)) + body


def media_keys(uuid, k):
    def v8(h):
        b = bytes.fromhex(h)
        return bytes([len(b)]) + b
    body = uuid + struct.pack("!H", 9) + b"\0" + v8(k["client_key"]) + v8(k["server_key"]) + \
        v8(k["client_salt"]) + v8(k["server_salt"])
    return msg(3, body)


def serve(conn, keys, f, unsupported):
    buf, first = b"", True
    while True:
        data = conn.recv(65536)
        if not data:
            log(f, ev="closed")
            return
        buf += data
        while len(buf) >= 3:
            t, n = struct.unpack("!BH", buf[:3])
            if len(buf) < 3 + n:
                break
            body, buf = buf[3:3 + n], buf[3 + n:]
            if first:
                ev = {"ev": "first", "type": t}
                if t == 1 and len(body) >= 3:
                    pl = struct.unpack("!H", body[1:3])[0]
                    ev["version"] = body[0]
                    ev["profiles"] = [struct.unpack("!H", body[3 + i:5 + i])[0]
                                      for i in range(0, pl, 2)]
                log(f, **ev)
                first = False
                if unsupported:
                    conn.sendall(msg(2, b"\0"))
                    log(f, ev="sent_unsupported")
                continue
            if t == 4:
                uuid, dl = body[:16], struct.unpack("!H", body[16:18])[0]
                rec = body[18:18 + dl]
                i = rec.find(b"perc-test:")
                name = rec[i + 10:].decode(errors="replace") if i >= 0 else None
                log(f, ev="dtls", uuid=uuid.hex(), name=name, first_byte=rec[0] if rec else None)
                if name in keys:
                    reply = b"\x16\xfe\xfd" + b"kd-reply:" + name.encode()
                    conn.sendall(msg(4, uuid + struct.pack("!H", len(reply)) + reply) +
                                 media_keys(uuid, keys[name]))
                    log(f, ev="keys_sent", uuid=uuid.hex(), name=name)
            elif t == 5:
                log(f, ev="disconnect", uuid=body[:16].hex())
            else:
                log(f, ev="other", type=t)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--keys", required=True)
    ap.add_argument("--log", required=True)
    ap.add_argument("--unsupported-version", action="store_true")
    a = ap.parse_args()
    keys = json.load(open(a.keys))
    host, port = a.listen.rsplit(":", 1)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_3
    ctx.load_cert_chain(a.cert, a.key)
    ctx.load_verify_locations(a.ca)
    ctx.verify_mode = ssl.CERT_REQUIRED
    ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((host, int(port)))
    ls.listen(4)
    f = open(a.log, "a")
    log(f, ev="listening")
    while True:
        raw, peer = ls.accept()
        try:
            conn = ctx.wrap_socket(raw, server_side=True)
        except (ssl.SSLError, OSError) as e:
            log(f, ev="tls_error", error=str(e))
            raw.close()
            continue
        cn = dict(x[0] for x in conn.getpeercert()["subject"]).get("commonName")
        log(f, ev="connected", client_cn=cn, version=conn.version())
        try:
            serve(conn, keys, f, a.unsupported_version)
        except (ssl.SSLError, OSError) as e:
            log(f, ev="conn_error", error=str(e))
        conn.close()


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
