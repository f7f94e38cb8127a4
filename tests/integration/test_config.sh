#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd --config FILE: a good file runs like the command line; bad files
# exit 78 and name the line.
# usage: test_config.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 W=$3
. "$(dirname "$0")/lib.sh"
t_begin config
rm -rf "$W"
mkdir -p "$W"
"$PT" gen --dir "$W" --rtcp >/dev/null || { echo "gen failed"; exit 1; }

cat >"$W/good.conf" <<CONF
# a comment
[eal]
args = --no-huge -m 256 --no-pci -l 0-1 --file-prefix perc-cfg-$$ "--vdev" net_pcap0,rx_pcap=$W/in.pcap,tx_pcap=$W/out.pcap

[dataplane]
addr = 192.0.2.1
port = 3478
provision = $W/provision.json
exit-when-idle = 300
udp-csum = true
no-preflight = true

[control]
consent-timeout = 30000
limits = endpoints=100

[metrics]
metrics = off
stats-interval = 0
stats-json = $W/stats.json

[logging]
log-level = lib.eal:error, perc.mdd.*:info
syslog = daemon
CONF
if timeout 60 "$MDD" --config "$W/good.conf" >"$W/good.log" 2>&1 &&
	"$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check.log"; then
	ok "good config: $(head -1 "$W/check.log")"
else
	bad "good config: $(tail -3 "$W/good.log" "$W/check.log" | tr '\n' ' ')"
fi

# the same file with a wrong port, corrected on the command line (it wins)
sed 's/^port = 3478/port = 4000/; s/perc-cfg-/perc-cfg2-/' "$W/good.conf" >"$W/override.conf"
rm -f "$W/out.pcap"
if timeout 60 "$MDD" --config "$W/override.conf" -- --port 3478 >"$W/override.log" 2>&1 &&
	"$PT" check --dir "$W" --out "$W/out.pcap" >"$W/check2.log"; then
	ok "command line overrides the file: $(head -1 "$W/check2.log")"
else
	bad "override: $(tail -3 "$W/override.log" "$W/check2.log" | tr '\n' ' ')"
fi

# --check-config: the good file is valid, its settings are printed, nothing starts
if "$MDD" --config "$W/good.conf" --check-config >"$W/cc.log" 2>&1 &&
	grep -q "^metrics  *stats-interval *= 0 *(.*good.conf:19)" "$W/cc.log" &&
	grep -q "^control  *media-timeout *= 5000$" "$W/cc.log" &&
	! grep -q "EAL:" "$W/cc.log"; then
	ok "check-config: good file valid, settings with their lines"
else
	bad "check-config good: $(cat "$W/cc.log")"
fi
"$MDD" --config "$W/good.conf" --check-config -- --port 5000 >"$W/cc2.log" 2>&1
grep -q "^dataplane  *port *= 5000  (command line)" "$W/cc2.log" &&
	ok "check-config: a command-line option is shown as such" ||
	bad "check-config override: $(cat "$W/cc2.log")"

# expect_bad NAME LINE "MESSAGE PART" CONTENT: as a run and with --check-config
expect_bad() {
	local name=$1 line=$2 part=$3 rc
	printf '%s\n' "$4" >"$W/$name.conf"
	"$MDD" --config "$W/$name.conf" --check-config >"$W/$name.cc.log" 2>&1
	rc=$?
	if [ $rc -ne 78 ] || ! grep -q "$name.conf:$line: .*$part" "$W/$name.cc.log"; then
		bad "$name (--check-config): rc $rc: $(cat "$W/$name.cc.log")"
		return
	fi
	"$MDD" --config "$W/$name.conf" >"$W/$name.log" 2>&1
	rc=$?
	if [ $rc -eq 78 ] && grep -q "$name.conf:$line: .*$part" "$W/$name.log"; then
		ok "$name: exit 78 at line $line"
	else
		bad "$name: rc $rc: $(cat "$W/$name.log")"
	fi
}
G=$'[dataplane]\naddr = 192.0.2.1\n[control]\napi = /tmp/perc-cfg.sock'
expect_bad unknown_section 2 "unknown section \[metric\]" $'[eal]\n[metric]'
expect_bad unknown_key 3 "unknown \[dataplane\] key 'adr'" $'[dataplane]\n# x\nadr = 1.2.3.4'
expect_bad wrong_section 5 "'api' belongs in \[control\], not \[dataplane\]: move it" \
	$'[eal]\nargs = -l 0-1\n[dataplane]\naddr = 192.0.2.1\napi = /tmp/x.sock'
expect_bad duplicate 4 "'port' is already set on line 3" $'[dataplane]\naddr = 192.0.2.1\nport = 1\nport = 2'
expect_bad dup_args 3 "'args' is already set on line 2" $'[eal]\nargs = -l 0-1\nargs = --no-pci'
expect_bad no_section 1 "before any section" 'addr = 192.0.2.1'
expect_bad no_equals 2 "expected 'key = value'" $'[dataplane]\naddr 192.0.2.1'
expect_bad eal_key 2 "unknown \[eal\] key 'cores'.*takes args" $'[eal]\ncores = 0-1'
expect_bad bad_flag 2 "udp-csum takes true or false" $'[dataplane]\nudp-csum = yes'
expect_bad empty_value 3 "port needs a value" $'[dataplane]\naddr = 192.0.2.1\nport ='
expect_bad quote 2 "unterminated quote" $'[eal]\nargs = "-l 0-1'
expect_bad bad_header 1 "a section is written" '[eal'
expect_bad unterminated 4 "a section is written" $'[eal]\nargs = -l 0-1\n\n[dataplane'
expect_bad bad_port 3 "--port takes 1..65535, not '99999'" $'[dataplane]\naddr = 192.0.2.1\nport = 99999'
expect_bad bad_addr 2 "--addr '192.0.2.x' is not an IPv4" $'[dataplane]\naddr = 192.0.2.1, 192.0.2.x'
expect_bad bad_arch 3 "--arch 'sse9'" $'[dataplane]\naddr = 192.0.2.1\narch = sse9'
expect_bad bad_consent 5 "--consent-timeout takes 100..3600000" "$G"$'\nconsent-timeout = 5'
expect_bad bad_limits 5 "--limits 'pps=x' refused" "$G"$'\nlimits = pps=x'
expect_bad bad_kd 2 "--kd 'kd.example' is not HOST:PORT" $'[kd]\nkd = kd.example'
expect_bad missing_cert 3 "--kd-cert $W/nonexistent.pem: No such file" \
	$'[kd]\nkd = 127.0.0.1:4443\nkd-cert = '"$W/nonexistent.pem"
expect_bad bad_metrics 2 "--metrics '127.0.0.1' is not ADDR:PORT" $'[metrics]\nmetrics = 127.0.0.1'
expect_bad metrics_name 2 "--metrics 'localhost:9464' is not ADDR:PORT" $'[metrics]\nmetrics = localhost:9464'
expect_bad bad_interval 2 "--stats-interval takes seconds" $'[metrics]\nstats-interval = -1'
expect_bad bad_level 2 "log-level 'perc.mdd.\*:loud'" $'[logging]\nlog-level = perc.mdd.*:loud'
expect_bad bad_syslog 2 "syslog 'local9'" $'[logging]\nsyslog = local9'
# the whole: no media address
printf '[control]\napi = /tmp/perc-cfg.sock\n' >"$W/noaddr.conf"
"$MDD" --config "$W/noaddr.conf" --check-config >"$W/noaddr.log" 2>&1
[ $? -eq 78 ] && grep -q "no media address" "$W/noaddr.log" && ok "check-config: no addr: exit 78" ||
	bad "check-config no addr: $(cat "$W/noaddr.log")"
"$MDD" --check-config >"$W/nocfg.log" 2>&1
[ $? -eq 2 ] && grep -q "give --config FILE" "$W/nocfg.log" && ok "--check-config without --config" ||
	bad "--check-config alone: $(cat "$W/nocfg.log")"
"$MDD" --config "$W/missing.conf" >"$W/missing.log" 2>&1
[ $? -eq 78 ] && grep -q "cannot open" "$W/missing.log" && ok "missing file: exit 78" ||
	bad "missing file: $(cat "$W/missing.log")"

t_end
