#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-pcaptest: gen -> forward (the reference MDD) -> check must pass for
# several configurations; a forwarded pcap spoiled in known ways must fail
# check with the right complaint.
# usage: test_pcaptest.sh PERC_PCAPTEST TMPDIR
set -u
B=$1 T=$2
pass=0 fail=0
rm -rf "$T" && mkdir -p "$T" || exit 1

ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*"; }
# expect RC WANT_OUTPUT_SUBSTRING -- cmd... (stdout and stderr together)
expect() {
	local rc=$1 want=$2 o r; shift 3
	o=$("$@" 2>&1); r=$?
	if [ "$r" != "$rc" ]; then bad "rc $r (want $rc): $*"; printf '%s\n' "$o" | head -25; return 1; fi
	if [ -n "$want" ] && [[ "$o" != *"$want"* ]]; then
		bad "output lacks '$want': $*"; printf '%s\n' "$o" | head -25; return 1
	fi
	ok
}

# gen -> forward -> check, all clean
cfg() { # cfg NAME gen-options...
	local d=$T/$1; shift
	expect 0 "gen: " -- "$B" gen --dir "$d" "$@" || return
	# forward also checks that every bad frame was dropped with its counter
	expect 0 "frames out" -- "$B" forward --dir "$d" --out "$d/out.pcap" || return
	expect 0 " 0 missing, 0 duplicate, 0 wrong" -- "$B" check --dir "$d" --out "$d/out.pcap"
}

cfg default
cfg ipv6 --ipv6
cfg rtcp --rtcp
cfg bad --bad
cfg all6 --ipv6 --rtcp --bad --seed 7
cfg single --profile SRTP_AES128_CM_HMAC_SHA1_80 --rtcp --bad
cfg single32 --profile SRTP_AES128_CM_HMAC_SHA1_32 --rtcp --bad --ipv6
cfg gcm256 --profile SRTP_AEAD_AES_256_GCM --rtcp --bad
cfg double256 --profile DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM --rtcp --bad
cfg small --size 2 --conferences 1 --packets 4 --bad --rtcp --seq-start 65535 --payload 0
# a hop-by-hop rekey halfway through (rx_key_next)
cfg rekey --rekey
cfg rekey_bad --rtcp --bad --rekey
cfg rekey_single --profile SRTP_AES128_CM_HMAC_SHA1_80 --rtcp --bad --rekey --ipv6
cfg rekey_small --size 2 --conferences 1 --packets 4 --bad --rtcp --seq-start 65535 --payload 0 --rekey
# per-receiver rewrite (pt_map, seq_offset, marker): RFC 8723 §5.2 OHB
cfg rewrite --rtcp --rewrite
cfg rewrite_single --rewrite --profile SRTP_AEAD_AES_128_GCM --rtcp --bad
cfg rewrite_seqwrap --rewrite --size 3 --seq-start 64900 --packets 200
cfg rewrite_all --rewrite --rtcp --bad --rekey --ipv6 --size 5 --profile DOUBLE_AEAD_AES_256_GCM_AEAD_AES_256_GCM
cfg rewrite_small --rewrite --size 2 --conferences 1 --packets 4 --bad --seq-start 65535 --payload 0

# every bad kind is there, each with a counter name from the forwarder's list
for c in eth_truncated ip_truncated ip_bad_len ip_fragment udp_bad_len not_ours \
	rtp_bad_version rtp_malformed srtp_auth srtp_replay unknown_endpoint stream_limit \
	ekt_invalid oversized; do
	if grep -q "\"counter\": \"$c\"" "$T/bad/secrets.json"; then ok; else bad "no bad frame for $c"; fi
done
if grep -q '"counter": "ekt_invalid"' "$T/single/secrets.json"; then
	bad "single profile with an EKT bad frame"
else ok; fi
[ "$(grep -c '"counter": "ip_fragment"' "$T/all6/secrets.json")" = 1 ] && ok || bad "IPv6 fragment frame"

# --rekey: every endpoint has a next key in both files, and both halves are used
for d in rekey rekey_bad; do
	[ "$(grep -c '"rx_key_next"' "$T/$d/provision.json")" = 6 ] && ok || bad "$d: rx_key_next in provision.json"
	[ "$(grep -c '"rx_salt_next"' "$T/$d/provision.json")" = 6 ] && ok || bad "$d: rx_salt_next in provision.json"
	[ "$(grep -c '"rekey_at_round": 25,' "$T/$d/secrets.json")" = 6 ] && ok || bad "$d: rekey_at_round in secrets.json"
	expect 0 "6 endpoints switched to their next key" -- "$B" forward --dir "$T/$d" --out "$T/$d/ref.pcap"
	expect 0 "sent with rx_key_next" -- "$B" check --dir "$T/$d" --out "$T/$d/out.pcap"
done
grep -q rx_key_next "$T/rtcp/provision.json" "$T/rtcp/secrets.json" && bad "rx_key_next without --rekey" || ok
# without the next key the second half does not open: it really uses it
cp -r "$T/rekey_bad" "$T/rekey_nonext"
python3 - "$T/rekey_nonext/provision.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
for c in p["conferences"]:
    for e in c["endpoints"]:
        del e["rx_key_next"], e["rx_salt_next"]
json.dump(p, open(sys.argv[1], "w"))
PY
expect 1 "dropped as srtp_auth, secrets.json says valid" -- "$B" forward --dir "$T/rekey_nonext" --out "$T/rekey_nonext/out.pcap"
# half a next key is refused, as perc-mdd refuses it
python3 - "$T/rekey_nonext/provision.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["conferences"][0]["endpoints"][0]["rx_key_next"] = "00" * 16
json.dump(p, open(sys.argv[1], "w"))
PY
expect 2 '"rx_key_next" without "rx_salt_next"' -- "$B" forward --dir "$T/rekey_nonext" --out "$T/rekey_nonext/out.pcap"
# check holds the input against the switching point secrets.json names
cp -r "$T/rekey_bad" "$T/rekey_lie"
python3 - "$T/rekey_lie/secrets.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["endpoints"][0]["rekey_at_index"] += 1
json.dump(s, open(sys.argv[1], "w"))
PY
expect 2 "opens with rx_key_next, but secrets.json says the sender still used rx_key" -- \
	"$B" check --dir "$T/rekey_lie" --out "$T/rekey_bad/out.pcap"

# --rewrite: the policies in both files; every OHB entry and the "original
# value: no entry" rule exercised; the input is the one without --rewrite
for f in provision.json secrets.json; do
	P=$T/rewrite/$f
	[ "$(grep -c '"pt_map"' "$P")" = 4 ] && ok || bad "rewrite: pt_map in $f"
	grep -q '"96": 96' "$P" && grep -q '"111": 111' "$P" && ok || bad "rewrite: no identity pt_map entry in $f"
	[ "$(grep -c '"seq_offset": 1000' "$P")" = 2 ] && ok || bad "rewrite: seq_offset 1000 in $f"
	[ "$(grep -c '"seq_offset": 11,' "$P")" = 2 ] && ok || bad "rewrite: ep3's wrapping seq_offset in $f"
	[ "$(grep -c '"marker": "set"' "$P")" = 2 ] && ok || bad "rewrite: marker set in $f"
	[ "$(grep -c '"marker": "clear"' "$P")" = 2 ] && ok || bad "rewrite: marker clear in $f"
done
grep -q -e pt_map -e seq_offset -e '"marker"' "$T/rtcp/provision.json" "$T/rtcp/secrets.json" &&
	bad "a rewrite policy without --rewrite" || ok
cmp -s "$T/rtcp/in.pcap" "$T/rewrite/in.pcap" && ok || bad "--rewrite changes in.pcap"
for d in rewrite rewrite_seqwrap rewrite_all; do
	if "$B" check --dir "$T/$d" --out "$T/$d/out.pcap" |
		grep -Eq 'changed \(OHB entries\): PT [1-9][0-9]*, SEQ [1-9][0-9]*, marker 0 -> 1 \(M, B = 0\) [1-9][0-9]*, marker 1 -> 0 \(M, B = 1\) [1-9][0-9]*; [1-9][0-9]* fields'; then
		ok
	else bad "$d: not every OHB entry exercised"; fi
done
# check holds every receiver to the policy in secrets.json: without it,
# the same output is a rewrite nobody asked for
cp -r "$T/rewrite" "$T/rewrite_none"
python3 - "$T/rewrite_none/secrets.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
for e in s["endpoints"]:
    for k in ("pt_map", "seq_offset", "marker"):
        e.pop(k, None)
json.dump(s, open(sys.argv[1], "w"))
PY
expect 1 "header rewritten (PT, SEQ or marker), but no rewrite was asked" -- \
	"$B" check --dir "$T/rewrite_none" --out "$T/rewrite/out.pcap"
# a policy perc-mdd would refuse is refused
python3 - "$T/rewrite_none/provision.json" <<'PY'
import json, sys
p = json.load(open(sys.argv[1]))
p["conferences"][0]["endpoints"][0]["pt_map"] = {"96": 128}
json.dump(p, open(sys.argv[1], "w"))
PY
expect 2 'pt_map["96"] is not a payload type 0..127' -- \
	"$B" forward --dir "$T/rewrite_none" --out "$T/rewrite_none/out.pcap"

# the same seed gives the same files; another seed other keys
"$B" gen --dir "$T/again" >/dev/null
for f in in.pcap provision.json secrets.json; do
	cmp -s "$T/default/$f" "$T/again/$f" && ok || bad "gen is not deterministic ($f)"
done
"$B" gen --dir "$T/seed2" --seed 2 >/dev/null
cmp -s "$T/default/provision.json" "$T/seed2/provision.json" && bad "--seed changes nothing" || ok
"$B" gen --dir "$T/rekey_again" --rekey >/dev/null
for f in in.pcap provision.json secrets.json; do
	cmp -s "$T/rekey/$f" "$T/rekey_again/$f" && ok || bad "gen --rekey is not deterministic ($f)"
done

# spoil a forwarded pcap: MODE IN OUT SECRETS
mutate() {
	python3 - "$@" <<'EOF'
import json, struct, sys

mode, src, dst, secrets = sys.argv[1:5]
raw = open(src, 'rb').read()
endian = '<' if raw[:4] in (b'\xd4\xc3\xb2\xa1', b'\x4d\x3c\xb2\xa1') else '>'
head, recs, off = raw[:24], [], 24
while off < len(raw):
    ts1, ts2, incl, orig = struct.unpack(endian + 'IIII', raw[off:off + 16])
    recs.append([raw[off:off + 16], bytearray(raw[off + 16:off + 16 + incl])])
    off += 16 + incl
sec = json.load(open(secrets))

def csum(b):
    if len(b) % 2:
        b += b'\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), bytes(b)))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff

def layout(f):
    v6 = f[12:14] == b'\x86\xdd'
    return v6, 14, 14 + (40 if v6 else 20)

def fix(f):
    v6, l3, l4 = layout(f)
    if v6:
        src, dst = f[l3 + 8:l3 + 24], f[l3 + 24:l3 + 40]
    else:
        f[l3 + 10:l3 + 12] = b'\0\0'
        f[l3 + 10:l3 + 12] = struct.pack('!H', csum(f[l3:l4]))
        src, dst = f[l3 + 12:l3 + 16], f[l3 + 16:l3 + 20]
    n = len(f) - l4
    f[l4 + 6:l4 + 8] = b'\0\0'
    pseudo = src + dst + (struct.pack('!IxxxB', n, 17) if v6 else struct.pack('!xBH', 17, n))
    c = csum(pseudo + f[l4:]) or 0xffff
    f[l4 + 6:l4 + 8] = struct.pack('!H', c)

def is_rtp(f):
    _, _, l4 = layout(f)
    return not 192 <= f[l4 + 9] <= 223

# a frame from the middle that carries RTP
k = len(recs) // 2
while not is_rtp(recs[k][1]):
    k += 1
f = recs[k][1]
_, l3, l4 = layout(f)
if mode == 'drop':
    del recs[k]
elif mode == 'dup':
    recs.insert(k + 1, [recs[k][0], bytearray(f)])
elif mode == 'swap':
    recs[k], recs[k + 1] = recs[k + 1], recs[k]
elif mode in ('flip', 'csum'):
    f[l4 + 8 + 24] ^= 0x10
    if mode == 'flip':
        fix(f)
elif mode == 'mac':
    f[0:6] = bytes.fromhex('02deadbeef00')
elif mode == 'back':
    ssrc = struct.unpack('!I', f[l4 + 16:l4 + 20])[0]
    ep = next(e for e in sec['endpoints'] if ssrc in e['ssrcs'])
    f[0:6] = bytes.fromhex(ep['mac'].replace(':', ''))
    host, port = ep['addr'].rsplit(':', 1)
    import ipaddress
    ip = ipaddress.ip_address(host.strip('[]')).packed
    if len(ip) == 16:
        f[l3 + 24:l3 + 40] = ip
    else:
        f[l3 + 16:l3 + 20] = ip
    f[l4 + 2:l4 + 4] = struct.pack('!H', int(port))
    fix(f)
else:
    sys.exit('unknown mode ' + mode)
with open(dst, 'wb') as o:
    o.write(head)
    for h, d in recs:
        ts1, ts2, _, _ = struct.unpack(endian + 'IIII', h)
        o.write(struct.pack(endian + 'IIII', ts1, ts2, len(d), len(d)))
        o.write(d)
EOF
}

for d in default all6 rewrite; do
	D=$T/$d
	spoil() { # spoil MODE RC WANT
		if mutate "$1" "$D/out.pcap" "$D/$1.pcap" "$D/secrets.json"; then
			expect "$2" "$3" -- "$B" check --dir "$D" --out "$D/$1.pcap"
		else bad "mutate $1 ($d)"; fi
	}
	spoil drop 1 "1 missing, 0 duplicate, 0 wrong"
	spoil drop 1 "missing: sender c"
	spoil dup 1 "0 missing, 1 duplicate, 0 wrong"
	spoil dup 1 "delivered 2 times"
	spoil swap 0 " 0 missing, 0 duplicate, 0 wrong"
	spoil flip 1 "outer layer does not open with"
	spoil csum 1 "UDP checksum wrong"
	spoil mac 1 "is not the receiver's MAC"
	spoil back 1 "sent back to its sender"
	spoil back 1 "1 missing, 0 duplicate, 1 wrong"
done

# a forwarder that breaks one rule with valid crypto: check names the rule
fault() { # fault DIR NAME WANT
	expect 0 "on purpose" -- "$B" forward --quiet --fault "$2" --dir "$T/$1" --out "$T/$1/f-$2.pcap" &&
		expect 1 "$3" -- "$B" check --dir "$T/$1" --out "$T/$1/f-$2.pcap"
}
fault all6 fb-to-all "belongs only to"
fault all6 to-sender "sent back to its sender"
fault all6 no-reseal "still sealed with the sender's rx key"
fault all6 roc "sealed with ROC 1, but the receiver's ROC for this SSRC is 0"
fault all6 ekt "EKT field differs from the one the sender attached"
fault all6 pt "header rewritten (PT, SEQ or marker)"
fault single to-sender "sent back to its sender"
fault single roc "sealed with ROC 1"
fault double256 fb-to-all "belongs only to"
fault rekey_bad no-reseal "still sealed with the sender's rx key"
fault rekey_bad roc "sealed with ROC 1"
# a rewrite with a wrong OHB, or none at all
fault rewrite ohb "OHB (0x00) wrong (RFC 8723 §5.2): no original PT (P) although the PT was rewritten 111 -> 110"
fault rewrite ohb "no original SEQ (Q) although the SEQ was rewritten"
fault rewrite_all ohb "OHB (0x0"
fault rewrite ohb-extra "OHB (0x02) wrong (RFC 8723 §5.2): an original PT (P = 96) although the PT was not changed (96)"
fault rewrite no-rewrite "header not rewritten as the receiver's policy says: PT 111, but pt_map wants 110"
fault rewrite_single no-rewrite "SEQ 65500, but seq_offset 1000 wants 964 for the sent 65500"
fault rewrite_seqwrap roc "sealed with ROC 1, but the receiver's ROC for this SSRC is 0"

# nothing forwarded: everything is missing; the input alone is no output
expect 1 " 0 delivered, " -- "$B" check --dir "$T/bad" --out "$T/bad/in.pcap"

# usage
expect 0 "usage: perc-pcaptest gen" -- "$B" gen --help
expect 0 "usage: perc-pcaptest check" -- "$B" check --help
expect 0 "usage: perc-pcaptest forward" -- "$B" forward --help
expect 0 "commands:" -- "$B" --help
expect 2 "no command" -- "$B"
expect 2 "unknown command" -- "$B" frobnicate
expect 2 "--dir DIR is required" -- "$B" gen
expect 2 "unrecognized option '--bogus'" -- "$B" gen --bogus
expect 2 "requires an argument" -- "$B" check --dir
expect 2 "unknown --fault" -- "$B" forward --dir "$T/default" --out "$T/x.pcap" --fault nope
expect 2 "unknown profile" -- "$B" gen --dir "$T/x" --profile NOPE
expect 2 "--size wants a number from 2 to 64" -- "$B" gen --dir "$T/x" --size 1
expect 2 "--mdd-addr is IPv4 but --ipv6 was given" -- "$B" gen --dir "$T/x" --ipv6 --mdd-addr 192.0.2.9
expect 2 "--bad needs --packets 4" -- "$B" gen --dir "$T/x" --bad --packets 3
expect 2 "--rekey needs --packets 2" -- "$B" gen --dir "$T/x" --rekey --packets 1
expect 2 "--out OUT.pcap are required" -- "$B" check --dir "$T/default"
expect 2 "secrets.json" -- "$B" check --dir "$T/nonexistent" --out "$T/default/out.pcap"
expect 2 "nope.pcap" -- "$B" check --dir "$T/default" --out "$T/nope.pcap"

echo "test_pcaptest: $pass passed, $fail failed"
[ "$fail" = 0 ]
