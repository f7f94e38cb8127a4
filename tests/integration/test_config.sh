#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd --config FILE: a good file runs like the command line; bad files
# exit 78 and name the line.
# usage: test_config.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 W=$3
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
rm -rf "$W"
mkdir -p "$W"
"$PT" gen --dir "$W" --rtcp >/dev/null || { echo "gen failed"; exit 1; }

cat >"$W/good.conf" <<CONF
# a comment
[eal]
args = --no-huge -m 256 --no-pci -l 0-1 --file-prefix perc-cfg-$$
args = --log-level=lib.eal:error
args = "--vdev" net_pcap0,rx_pcap=$W/in.pcap,tx_pcap=$W/out.pcap

[dataplane]
addr = 192.0.2.1
port = 3478
provision = $W/provision.json
stats-interval = 0
stats-json = $W/stats.json
exit-when-idle = 300
udp-csum = true
CONF
if timeout 60 "$MDD" --config "$W/good.conf" >"$W/good.log" 2>&1 &&
	"$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check.log"; then
	ok "good config: $(head -1 "$W/check.log")"
else
	bad "good config: $(tail -3 "$W/good.log" "$W/check.log" | tr '\n' ' ')"
fi

# expect_bad NAME LINE "MESSAGE PART" CONTENT
expect_bad() {
	local name=$1 line=$2 part=$3 rc
	printf '%s\n' "$4" >"$W/$name.conf"
	"$MDD" --config "$W/$name.conf" >"$W/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 78 ] && grep -q "$name.conf:$line: .*$part" "$W/$name.log"; then
		ok "$name: exit 78 at line $line"
	else
		bad "$name: rc $rc: $(cat "$W/$name.log")"
	fi
}
expect_bad unknown_section 2 "unknown section \[metrics\]" $'[eal]\n[metrics]'
expect_bad unknown_key 3 "unknown \[dataplane\] key 'adr'" $'[dataplane]\n# x\nadr = 1.2.3.4'
expect_bad no_section 1 "before any section" 'addr = 192.0.2.1'
expect_bad no_equals 2 "expected 'key = value'" $'[dataplane]\naddr 192.0.2.1'
expect_bad eal_key 2 "\[eal\] takes 'args" $'[eal]\ncores = 0-1'
expect_bad bad_flag 2 "udp-csum takes true or false" $'[dataplane]\nudp-csum = yes'
expect_bad empty_value 3 "port needs a value" $'[dataplane]\naddr = 192.0.2.1\nport ='
expect_bad quote 2 "unterminated quote" $'[eal]\nargs = "-l 0-1'
expect_bad bad_header 1 "a section is written" '[eal'
"$MDD" --config "$W/missing.conf" >"$W/missing.log" 2>&1
[ $? -eq 78 ] && grep -q "cannot open" "$W/missing.log" && ok "missing file: exit 78" ||
	bad "missing file: $(cat "$W/missing.log")"

echo "config: $pass passed, $fail failed"
[ $fail -eq 0 ]
