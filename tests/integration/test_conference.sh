#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# Whole conferences: perc-kd, perc-mdd (DPDK tap port) and perc-endpoint in a
# network namespace of the test's own, driven by tools/lib/perc_conference.py.
#   main       2 conferences of 3 plus a late joiner; one participant leaves
#              (and keeps receiving); perc-mdd's memory is searched for
#              every key in the endpoints' keylog while media flows
#   misuse     a token for another conference, a token bound to another
#              certificate, an endpoint whose pinned KD fingerprint is not
#              the KD's: each refused, the others unaffected
#   restart    perc-kd restarts mid-call: media never stops, the tunnel comes
#              back, a participant joins afterwards
#   malformed  bad API requests, STUN, DTLS and tunnel messages mid-call
# usage: test_conference.sh BUILD_DIR WORKDIR [SCENARIO...]
set -u
B=$1 W=$2
shift 2
here=$(cd "$(dirname "$0")" && pwd)
conf="$here/../../tools/lib/perc_conference.py"
scenarios=${*:-main misuse restart malformed}
if ! ip netns add "perc-probe-$$" 2>/dev/null; then
	echo "cannot create a network namespace (needs root and iproute2): skipped"
	exit 77
fi
ip netns del "perc-probe-$$"
rm -rf "$W" && mkdir -p "$W"
fail=0

run() { # name checker-args -- perc_conference args
	local name=$1; shift
	local cargs=()
	while [ "$1" != -- ]; do cargs+=("$1"); shift; done
	shift
	echo "--- $name"
	python3 "$conf" --build "$B" --work "$W/$name" --report "$W/$name.json" "$@" \
		2>"$W/$name.err" || { echo "FAIL $name: $(tail -3 "$W/$name.err")"; fail=1; return; }
	python3 "$here/../../tools/lib/conference_check.py" "$name" "$W/$name.json" "${cargs[@]}" || {
		fail=1
		echo "  logs: $W/$name/*.log, report $W/$name.json"
		tail -5 "$W/$name.err"
	}
}

for s in $scenarios; do
	case $s in
	main) run main leave=c1-p3@5 late=c2-p3@3 -- --conferences 2 --size 3 --duration 11 \
		--leave c1-p3@5 --late c2-p3@3 --scan-mdd 8 ;;
	misuse) run misuse -- --conferences 1 --size 5 --duration 5 \
		--token-other-conf c1-p2 --token-other-cert c1-p3 --wrong-pin c1-p4 ;;
	restart) run restart late=c1-p4@8 -- --conferences 1 --size 4 --duration 13 \
		--kd-restart 4 --late c1-p4@8 ;;
	malformed) run malformed -- --conferences 1 --size 3 --duration 7 --malformed 3 ;;
	*) echo "unknown scenario $s"; fail=1 ;;
	esac
done
[ $fail -eq 0 ]
