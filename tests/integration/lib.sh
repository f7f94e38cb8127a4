# SPDX-License-Identifier: BSD-3-Clause
# Helpers of the integration tests that run perc-mdd in network namespaces
# of their own (sourced, not run):
#
#   t_begin NAME           counters, ok / bad / skip, cleanup on exit
#   t_netns NS...          create namespaces (skip 77 when not allowed)
#   t_on_exit CMD          run CMD (eval) when the test exits
#   t_kill_on_exit VAR...  kill the pid held in each VAR (when set) on exit
#   t_veth NM VM NP VP [Q] a veth pair VM (in NM, MAC 02:00:00:00:00:01,
#                          the address perc-pcaptest's frames go to) and VP
#                          (in NP), with Q RX and TX queues each when given;
#                          lo up, no IPv6 RA / RS; both links up
#   t_wait_file F [TENTHS] wait until F exists (default 10 s)
#   t_wait_grep RE F [TENTHS]  wait until F holds a line matching RE
#   t_mdd_tap NS SOCK CMD...  perc-mdd on net_tap in NS, tap up, API socket
#   t_end [NOTE]           prints "NAME: P passed, F failed[ (NOTE)]"; exit
#                          status
#
# Everything started in the namespaces is killed and the namespaces are
# deleted when the test exits, whatever the reason.

t_name=test
pass=0
fail=0
t_nss=()
t_exit_cmds=()

ok() { pass=$((pass + 1)); echo "ok   $*"; }
bad() { fail=$((fail + 1)); echo "FAIL $*"; }
skip() {
	echo "$1: skipped"
	echo "$t_name: 0 passed, 0 failed"
	exit 77
}

t_cleanup() {
	local c n p
	for c in "${t_exit_cmds[@]}"; do eval "$c" 2>/dev/null; done
	for n in "${t_nss[@]}"; do
		for p in $(ip netns pids "$n" 2>/dev/null); do kill -9 "$p" 2>/dev/null; done
	done
	wait 2>/dev/null
	for n in "${t_nss[@]}"; do ip netns del "$n" 2>/dev/null; done
}

t_begin() {
	t_name=$1
	trap t_cleanup EXIT
}

t_on_exit() { t_exit_cmds+=("$1"); }

t_kill_on_exit() {
	local v
	for v in "$@"; do
		t_on_exit "[ -n \"\${$v:-}\" ] && kill \"\$$v\""
	done
}

t_netns() {
	local n
	for n in "$@"; do
		ip netns add "$n" 2>/dev/null ||
			skip "cannot create network namespace $n (needs root and iproute2)"
		t_nss+=("$n")
	done
}

t_veth() {
	local nm=$1 vm=$2 np=$3 vp=$4 q=() n
	[ $# -ge 5 ] && q=(numtxqueues "$5" numrxqueues "$5")
	ip link add name "$vm" "${q[@]}" netns "$nm" type veth \
		peer name "$vp" "${q[@]}" netns "$np" 2>/dev/null ||
		skip "cannot create a veth pair${5:+ with $5 queues}"
	for n in "$nm" "$np"; do
		ip netns exec "$n" sysctl -qw net.ipv6.conf.all.accept_ra=0 \
			net.ipv6.conf.default.accept_ra=0 net.ipv6.conf.default.router_solicitations=0
		ip netns exec "$n" ip link set lo up
	done
	ip netns exec "$nm" ip link set "$vm" address 02:00:00:00:00:01
	ip netns exec "$nm" ip link set "$vm" up
	ip netns exec "$np" ip link set "$vp" up
}

t_wait_file() {
	local i
	for ((i = 0; i < ${2:-100}; i++)); do
		[ -e "$1" ] && return 0
		sleep 0.1
	done
	return 1
}

t_wait_grep() {
	local i
	for ((i = 0; i < ${3:-100}; i++)); do
		grep -q -- "$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	return 1
}

# t_mdd_tap NS SOCK CMD...: start CMD (perc-mdd with the EAL option
# --vdev net_tap0,iface=mddtap0) in namespace NS in the background, its pid in
# mdd_pid (for wait, kill and t_kill_on_exit mdd_pid); wait (10 s) for the
# tap mddtap0 to appear and set it up, then, unless SOCK is empty, wait
# (10 s) for the API socket SOCK. Redirect the call to redirect CMD's output
# (the helper itself prints nothing unless the tap never comes). Returns 1
# when the tap or the socket did not come.
t_mdd_tap() {
	local ns=$1 sock=$2 i
	shift 2
	# $! is CMD itself (ip netns exec execs it), a child of the test's
	# shell (not of a subshell): the caller can wait for it
	ip netns exec "$ns" "$@" &
	# shellcheck disable=SC2034 # for the caller
	mdd_pid=$!
	for ((i = 0; i < 100; i++)); do
		ip -n "$ns" link show mddtap0 >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$ns" link set mddtap0 up || return 1
	[ -z "$sock" ] || t_wait_file "$sock"
}

t_mkcert() {
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
		-subj "/CN=$1" -keyout "$2" -out "$3" 2>/dev/null
}

t_mkeckey() {
	openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null &&
		openssl pkey -in "$1" -pubout -out "$2" 2>/dev/null
}

t_end() {
	echo "$t_name: $pass passed, $fail failed${1:+ ($1)}"
	[ "$fail" -eq 0 ]
}
