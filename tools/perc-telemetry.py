#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""Ask a DPDK process's telemetry socket (v2) one or more commands, print the
answers as JSON (one object: command -> answer). Debian 12's dpdk package
does not ship DPDK's usertools/dpdk-telemetry.py; this does the same for
scripts and tests (docs/operations.md).

  perc-telemetry.py [--file-prefix P | --socket PATH] CMD [CMD ...]
  e.g. perc-telemetry.py --file-prefix perc-mdd /perc/stats /perc/drops

The socket is $XDG_RUNTIME_DIR/dpdk/P/dpdk_telemetry.v2 when
XDG_RUNTIME_DIR is set (the systemd unit), else /var/run/dpdk/P/... (root).
"""
import argparse
import json
import os
import socket
import sys


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--file-prefix", default="rte", help="the EAL --file-prefix (default rte)")
    ap.add_argument("--socket", help="the telemetry socket path (overrides --file-prefix)")
    ap.add_argument("cmds", nargs="+", help="commands, e.g. /perc/stats (/ lists them)")
    a = ap.parse_args()
    path = a.socket
    if path is None:
        base = os.environ.get("XDG_RUNTIME_DIR") if os.getuid() != 0 else None
        base = os.path.join(base, "dpdk") if base else "/var/run/dpdk"
        path = os.path.join(base, a.file_prefix, "dpdk_telemetry.v2")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    try:
        s.connect(path)
    except OSError as e:
        sys.exit("perc-telemetry: cannot connect to %s: %s (is the process running with "
                 "that --file-prefix?)" % (path, e))
    info = json.loads(s.recv(16384).decode())
    bufsz = int(info.get("max_output_len", 16384)) + 1
    out = {}
    for c in a.cmds:
        s.send(c.encode())
        ans = json.loads(s.recv(bufsz).decode())
        out[c] = ans.get(c, ans)
    print(json.dumps(out, indent=2, sort_keys=True))


if __name__ == "__main__":
    main()
