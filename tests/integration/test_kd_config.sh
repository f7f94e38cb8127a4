#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-kd --config FILE: a good file runs the KD (it listens and serves its
# API) and passes --check-config; bad files exit 78 with the line; the
# sample names every daemon option of --help.
# usage: test_kd_config.sh PERC_KD WORKDIR SAMPLE
set -u
KD=$1 W=$2 SAMPLE=$3
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
t_begin kd-config
kd_pid=
t_kill_on_exit kd_pid
command -v openssl >/dev/null || skip "openssl(1) not found"
rm -rf "$W" && mkdir -p "$W"
for n in kd mdd; do t_mkcert $n "$W/$n.key" "$W/$n.pem" || exit 1; done
t_mkeckey "$W/iss.key" "$W/iss.pub"

port=$((20000 + ($$ + 7) % 20000))
cat >"$W/good.conf" <<CONF
[kd]
cert = $W/kd.pem
key = $W/kd.key
keepalive-timeout = 4000
[tunnel]
listen = 127.0.0.1:$port
mdd-ca = $W/mdd.pem
[api]
api = $W/kd.sock
[tokens]
issuer-key = $W/iss.pub, $W/iss.pub
issuer = https://as.example.com
audience = perc-kd
CONF

out=$("$KD" --config "$W/good.conf" --check-config 2>&1)
if [ $? -eq 0 ] && echo "$out" | grep -q "^kd  *keepalive-timeout *= 4000  (.*good.conf:4)" &&
	echo "$out" | grep -q "^kd  *ekt-ttl *= 86400$"; then
	ok "check-config: good file valid, settings with their lines"
else
	bad "check-config good: $out"
fi
out=$("$KD" --config "$W/good.conf" --check-config --ekt-ttl 60 2>&1)
echo "$out" | grep -q "^kd  *ekt-ttl *= 60  (command line)" &&
	ok "check-config: a command-line option replaces the file's" || bad "override: $out"

# the daemon from the file: listens, serves its API, exits on SIGTERM
"$KD" --config "$W/good.conf" --ekt-ttl 600 >"$W/kd.log" 2>&1 &
kd_pid=$!
for _ in $(seq 50); do [ -S "$W/kd.sock" ] && break; sleep 0.1; done
if [ -S "$W/kd.sock" ] && grep -q "2 issuer key(s), keepalive 4000 ms, EKT TTL 600 s" "$W/kd.log" &&
	(exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null; then
	ok "perc-kd --config runs: listener and API up, file and command line applied"
else
	bad "run: $(cat "$W/kd.log")"
fi
kill "$kd_pid" 2>/dev/null
wait "$kd_pid"
rc=$?
kd_pid=
[ $rc -eq 0 ] && ok "SIGTERM: exit 0" || bad "SIGTERM: exit $rc"

# expect_bad NAME LINE "MESSAGE PART" CONTENT
expect_bad() {
	local name=$1 line=$2 part=$3 rc
	printf '%s\n' "$4" >"$W/$name.conf"
	for cc in --check-config ""; do
		"$KD" --config "$W/$name.conf" $cc >"$W/$name.log" 2>&1
		rc=$?
		if [ $rc -ne 78 ] || ! grep -q "$name.conf:$line: .*$part" "$W/$name.log"; then
			bad "$name ${cc:-(run)}: rc $rc: $(cat "$W/$name.log")"
			return
		fi
	done
	ok "$name: exit 78 at line $line"
}
expect_bad unknown_section 2 "unknown section \[eal\]: perc-kd reads \[kd\], \[tunnel\], \[api\] and \[tokens\]" \
	$'[kd]\n[eal]'
expect_bad unknown_key 2 "unknown \[kd\] key 'certificate'" $'[kd]\ncertificate = x'
expect_bad wrong_section 2 "'listen' belongs in \[tunnel\], not \[kd\]" $'[kd]\nlisten = 127.0.0.1:1'
expect_bad duplicate 3 "'issuer' is already set on line 2" $'[tokens]\nissuer = a\nissuer = b'
expect_bad no_equals 2 "expected 'key = value'" $'[api]\napi /tmp/x'
expect_bad unterminated 1 "a section is written" '[tokens'
expect_bad bad_ttl 2 "--ekt-ttl '0' refused" $'[kd]\nekt-ttl = 0'
expect_bad bad_listen 2 "--listen 'localhost:1' is not IPv4:PORT" $'[tunnel]\nlisten = localhost:1'
expect_bad missing_key 3 "--issuer-key $W/none.pub: No such file" \
	$'[tokens]\n# the issuer\nissuer-key = '"$W/iss.pub, $W/none.pub"
# the whole: a required option missing
printf '[tokens]\nissuer = a\n' >"$W/partial.conf"
"$KD" --config "$W/partial.conf" --check-config >"$W/partial.log" 2>&1
[ $? -eq 78 ] && grep -q "are required" "$W/partial.log" && ok "check-config: missing required: 78" ||
	bad "partial: $(cat "$W/partial.log")"

# the sample: valid with its files in place, and every daemon option of
# --help (each --name of the option lines) is a key in it
cp "$W/mdd.pem" "$W/mdd-ca.pem" && cp "$W/iss.pub" "$W/issuer.pub"
sed "s#/etc/perc/#$W/#" "$SAMPLE" >"$W/sample.conf"
out=$("$KD" --config "$W/sample.conf" --check-config 2>&1) && ok "sample (files in $W): valid" ||
	bad "sample: $out"
opts=$("$KD" --help | grep '^  --' | grep -o -- '--[a-z][a-z-]*' | sed 's/^--//' | sort -u |
	grep -vx 'help\|config\|check-config')
missing=""
for o in $opts; do grep -q "^#\{0,1\} *$o = " "$SAMPLE" || missing="$missing $o"; done
n=$(echo "$opts" | wc -w)
[ -z "$missing" ] && [ "$n" -ge 11 ] && ok "perc-kd sample has all $n daemon options" ||
	bad "sample lacks:$missing (of $n)"

t_end
