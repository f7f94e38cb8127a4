#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# docs/perc-mdd.conf.example cannot drift from perc-mdd: it passes
# --check-config, and every long option of `perc-mdd --help` is a key in it
# (set or commented out with its default).
# usage: test_config_sample.sh PERC_MDD SAMPLE
set -u
MDD=$1 SAMPLE=$2
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }

out=$("$MDD" --config "$SAMPLE" --check-config 2>&1)
rc=$?
[ $rc -eq 0 ] && ok "sample: --check-config exit 0" || bad "sample: rc $rc: $out"

# option lines of --help: "  --name ..." and "  -h, --help"
opts=$("$MDD" --help | sed -n 's/^  \(-h, \)\{0,1\}--\([a-z][a-z-]*\).*/\2/p' |
	grep -vx 'help\|config\|check-config' | sort -u)
n=$(echo "$opts" | wc -w)
missing=""
for o in $opts; do
	grep -q "^#\{0,1\} *$o = " "$SAMPLE" || missing="$missing $o"
	echo "$out" | grep -q "^[a-z]*  *$o  *= " || missing="$missing $o(summary)"
done
# a parser that found nothing would pass the loop: perc-mdd has 21 today
if [ -z "$missing" ] && [ "$n" -ge 21 ]; then
	ok "sample and --check-config summary have all $n long options of --help"
else
	bad "missing:$missing (of $n options)"
fi

echo "config-sample: $pass passed, $fail failed"
[ $fail -eq 0 ]
