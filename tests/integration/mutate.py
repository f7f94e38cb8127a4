#!/usr/bin/env python3
# SPDX-License-Identifier: BSD-3-Clause
"""mutate.py IN.pcap OUT.pcap SEED: every frame damaged 1 to 4 times (bit
flips, truncation, a header byte replaced, junk appended), deterministically."""
import random, struct, sys
src, dst, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
r = random.Random(seed)
data = open(src, 'rb').read()
out = [data[:24]]
off = 24
n = 0
while off + 16 <= len(data):
    ts1, ts2, incl, orig = struct.unpack('<IIII', data[off:off+16])
    fr = bytearray(data[off+16:off+16+incl]); off += 16 + incl
    for _ in range(r.randint(1, 4)):
        k = r.random()
        if k < 0.5 and len(fr) > 0:
            i = r.randrange(len(fr)); fr[i] ^= 1 << r.randrange(8)
        elif k < 0.7:
            fr = fr[:r.randrange(len(fr) + 1)]
        elif k < 0.85 and len(fr) > 42:
            i = r.randrange(14, 42); fr[i] = r.randrange(256)
        else:
            fr += bytes(r.randrange(256) for _ in range(r.randrange(64)))
    out.append(struct.pack('<IIII', ts1, ts2, len(fr), len(fr)) + bytes(fr)); n += 1
open(dst, 'wb').write(b''.join(out))
