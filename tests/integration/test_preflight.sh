#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd's pre-flight checks (docs/preflight.md): every failure produced on
# purpose and its message (what, and the fix command) checked. /proc and /sys
# are faked under PERC_PREFLIGHT_ROOT, so the host is never changed; the XDP
# attach check runs against the real kernel on a veth of a namespace of the
# test's own (skipped without netns).
# usage: test_preflight.sh PERC_MDD XDP_OBJ WORKDIR XDP_OBJ_INSTALLED
set -u
MDD=$1 OBJ=$2 W=$3 OBJ_INST=$4
. "$(dirname "$0")/lib.sh"
t_begin preflight
ns=perc-pf-$$
lock_pid=
t_kill_on_exit lock_pid
# the namespace is optional here (made below for the kernel XDP checks)
t_on_exit 'ip netns del "$ns"'
rm -rf "$W" && mkdir -p "$W"
R=$W/root

# a healthy fake host: hugetlbfs on /dev/hugepages, 256 free 2 MB pages,
# IOMMU, vfio-pci with 0000:00:03.0 bound to it, every CPU feature
healthy() {
	rm -rf "$R"
	mkdir -p "$R/proc/self" "$R/dev/hugepages" "$R/sys/kernel/mm/hugepages/hugepages-2048kB" \
		"$R/sys/class/iommu/dmar0" "$R/sys/bus/pci/drivers/vfio-pci" \
		"$R/sys/bus/pci/devices/0000:00:03.0" "$R/sys/class/net/eth9"
	echo "nodev /dev/hugepages hugetlbfs rw,relatime,pagesize=2M 0 0" >"$R/proc/mounts"
	echo 256 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
	echo 256 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
	ln -s ../../../bus/pci/drivers/vfio-pci "$R/sys/bus/pci/devices/0000:00:03.0/driver"
	printf 'Name:\tperc-mdd\nCapEff:\t000001ffffffffff\n' >"$R/proc/self/status"
	printf 'processor\t: 0\nflags\t\t: fpu sse4_2 aes pclmulqdq avx avx2 avx512f vaes vpclmulqdq\n' \
		>"$R/proc/cpuinfo"
}
# run perc-mdd's pre-flight alone on the fake root; output in $W/out
pf() { PERC_PREFLIGHT_ROOT=$R "$MDD" "$@" -- --preflight >"$W/out" 2>&1; }
# expect exit 1 and this exact FAIL line (check, what, fix)
expect_fail() {
	local name=$1 line=$2
	shift 2
	pf "$@"
	local rc=$?
	if [ $rc -eq 1 ] && grep -qxF "$line" "$W/out"; then
		ok "$name"
	else
		bad "$name: exit $rc, wanted the line: $line"
		sed 's/^/     | /' "$W/out"
	fi
}
XDP_OK="--vdev net_af_xdp0,iface=eth9,xdp_prog=$OBJ"

healthy
if pf -m 512 --file-prefix pf -a 0000:00:03.0 $XDP_OK; then
	grep -q "^preflight: ok (0 failed)$" "$W/out" && ok "a healthy host passes every check (exit 0)" ||
		bad "healthy: $(cat "$W/out")"
else
	bad "healthy host refused: $(cat "$W/out")"
fi

healthy
echo "proc /proc proc rw 0 0" >"$R/proc/mounts"
expect_fail "hugetlbfs not mounted" \
	"preflight: FAIL hugetlbfs: no hugetlbfs mounted (in $R/proc/mounts) — fix: mkdir -p /dev/hugepages && mount -t hugetlbfs nodev /dev/hugepages" \
	-m 512
expect_fail "hugetlbfs not mounted on --huge-dir" \
	"preflight: FAIL hugetlbfs: no hugetlbfs mounted on /mnt/huge (in $R/proc/mounts) — fix: mkdir -p /mnt/huge && mount -t hugetlbfs nodev /mnt/huge" \
	-m 512 --huge-dir /mnt/huge

healthy
echo 10 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages"
echo 10 >"$R/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages"
expect_fail "hugepages: fewer free than -m" \
	"preflight: FAIL hugepages: 20 MB of hugepages free, 512 MB needed — fix: echo 256 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages (or run with --no-huge -m 512)" \
	-m 512
expect_fail "hugepages: fewer free than --socket-mem" \
	"preflight: FAIL hugepages: 20 MB of hugepages free, 1024 MB needed — fix: echo 512 > /sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages (or run with --no-huge -m 1024)" \
	--socket-mem=512,512
# the same from a --config file (its [eal] args are what is checked)
printf '[eal]\nargs = -l 0-1 --file-prefix pfc -m 512\n[dataplane]\naddr = 192.0.2.1\n' >"$W/mdd.conf"
PERC_PREFLIGHT_ROOT=$R "$MDD" --config "$W/mdd.conf" --preflight >"$W/out" 2>&1
rc=$?
[ $rc -eq 1 ] && grep -q "^preflight: FAIL hugepages: 20 MB of hugepages free, 512 MB needed" "$W/out" &&
	ok "--config FILE --preflight checks the file's EAL arguments" || bad "--config: exit $rc: $(cat "$W/out")"
PERC_PREFLIGHT_ROOT=$R "$MDD" --no-huge -m 512 -- --preflight >"$W/out" 2>&1 &&
	grep -q "ok   hugepages: --no-huge" "$W/out" && ok "--no-huge skips the hugepage checks" ||
	bad "--no-huge: $(cat "$W/out")"

healthy
head -c 4096 /dev/zero >"$R/dev/hugepages/pfmap_0"
head -c 4096 /dev/zero >"$R/dev/hugepages/pfmap_1"
head -c 4096 /dev/zero >"$R/dev/hugepages/othermap_0"
expect_fail "stale hugepage files of this --file-prefix" \
	"preflight: FAIL stale-hugepages: 2 hugepage file(s) of --file-prefix pf (0 MB) left by a process that is gone — fix: rm -f $R/dev/hugepages/pfmap_*" \
	-m 512 --file-prefix pf
# a live process holds its files (EAL keeps a shared lock): not stale
rm -f "$R/dev/hugepages/pfmap_1"
# (the locking process is sleep itself, so that kill ends it and its lock)
(exec 9<"$R/dev/hugepages/pfmap_0"; flock -s 9; exec sleep 30) >/dev/null 2>&1 &
lock_pid=$!
sleep 0.3
pf -m 512 --file-prefix pf && grep -q "ok   stale-hugepages" "$W/out" &&
	ok "hugepage files a live process holds are not stale" || bad "live files: $(cat "$W/out")"
kill "$lock_pid"; wait "$lock_pid" 2>/dev/null; lock_pid=

healthy
rm -rf "$R/sys/class/iommu/dmar0"
expect_fail "no IOMMU for a PCI port" \
	"preflight: FAIL iommu: no IOMMU enabled ($R/sys/class/iommu is empty) — fix: add 'intel_iommu=on iommu=pt' (AMD: 'amd_iommu=on iommu=pt') to GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub && reboot (docs/pci.md)" \
	--no-huge -a 0000:00:03.0
pf --no-huge --vdev net_null0 && ok "no PCI port given: IOMMU not required" || bad "IOMMU required without -a: $(cat "$W/out")"
healthy
rm -rf "$R/sys/bus/pci/drivers/vfio-pci"
expect_fail "vfio-pci not loaded" \
	"preflight: FAIL vfio-pci: the vfio-pci driver is not loaded (no $R/sys/bus/pci/drivers/vfio-pci) — fix: modprobe vfio-pci" \
	--no-huge -a 0000:00:03.0
healthy
rm "$R/sys/bus/pci/devices/0000:00:03.0/driver"
ln -s ../../../bus/pci/drivers/virtio-pci "$R/sys/bus/pci/devices/0000:00:03.0/driver"
expect_fail "PCI device bound to another driver" \
	"preflight: FAIL pci-driver: 0000:00:03.0 is bound to virtio-pci, not vfio-pci — fix: dpdk-devbind.py -b vfio-pci 0000:00:03.0" \
	--no-huge -a 00:03.0
expect_fail "no such PCI device" \
	"preflight: FAIL pci-device: no PCI device 0000:00:09.0 — fix: dpdk-devbind.py --status (and -a the address it lists)" \
	--no-huge -a 0000:00:09.0,foo=1

healthy
printf 'Name:\tperc-mdd\nCapEff:\t0000000000000000\n' >"$R/proc/self/status"
(
	ulimit -l 8192
	expect_fail "memlock limit below the AF_XDP umem" \
		"preflight: FAIL memlock: RLIMIT_MEMLOCK is 8192 kB, the AF_XDP umem needs 32768 kB — fix: ulimit -l 33792 (or unlimited; systemd: LimitMEMLOCK=infinity)" \
		--no-huge --vdev "net_af_xdp0,iface=eth9,queue_count=2,xdp_prog=$OBJ"
	echo "$pass $fail" >"$W/sub"
)
read -r pass fail <"$W/sub"

healthy
printf 'processor\t: 0\nflags\t\t: fpu sse4_2 aes\n' >"$R/proc/cpuinfo"
expect_fail "CPU lacks what --arch avx2 needs" \
	"preflight: FAIL cpu: --arch avx2 needs CPU features this CPU lacks: pclmulqdq avx avx2 — fix: run with -- --arch auto (the best this CPU offers)" \
	--no-huge -- --arch avx2
printf 'processor\t: 0\nflags\t\t: fpu sse4_2 aes pclmulqdq avx avx2 avx512f\n' >"$R/proc/cpuinfo"
expect_fail "CPU lacks what --arch avx512 needs" \
	"preflight: FAIL cpu: --arch avx512 needs CPU features this CPU lacks: vaes vpclmulqdq — fix: run with -- --arch auto (the best this CPU offers)" \
	--no-huge -- --arch=avx512
pf --no-huge -- --arch avx2 && ok "--arch avx2 on a CPU with AVX2" || bad "avx2: $(cat "$W/out")"

healthy
expect_fail "net_af_xdp without iface=" \
	"preflight: FAIL xdp-iface: net_af_xdp0,xdp_prog=$OBJ names no iface= — fix: --vdev net_af_xdp0,iface=IFNAME,xdp_prog=perc_xdp.bpf.o" \
	--no-huge --vdev "net_af_xdp0,xdp_prog=$OBJ"
expect_fail "net_af_xdp on a missing interface" \
	"preflight: FAIL xdp-iface: no network interface eth7 — fix: ip -br link (and give iface= one of its names)" \
	--no-huge --vdev "net_af_xdp0,iface=eth7,xdp_prog=$OBJ"
FIX="ninja -C build (then xdp_prog=build/dataplane/xdp/perc_xdp.bpf.o or, installed, $OBJ_INST)"
expect_fail "xdp_prog missing" \
	"preflight: FAIL xdp-prog: cannot read xdp_prog $W/none.o: No such file or directory — fix: $FIX" \
	--no-huge --vdev "net_af_xdp0,iface=eth9,xdp_prog=$W/none.o"
echo "not an ELF file" >"$W/text.o"
expect_fail "xdp_prog not a BPF object" \
	"preflight: FAIL xdp-prog: xdp_prog $W/text.o is not a BPF object file — fix: $FIX" \
	--no-huge --vdev "net_af_xdp0,iface=eth9,xdp_prog=$W/text.o"
if command -v clang >/dev/null; then
	printf '%s\n' '#include <linux/bpf.h>' '#include <bpf/bpf_helpers.h>' \
		'struct { __uint(type, BPF_MAP_TYPE_XSKMAP); __uint(max_entries, 4); __type(key, int); __type(value, int); } xsks_map SEC(".maps");' \
		'SEC("xdp") int other(struct xdp_md *c) { return bpf_redirect_map(&xsks_map, c->rx_queue_index, XDP_PASS); }' \
		'char LICENSE[] SEC("license") = "GPL";' >"$W/other.c"
	clang -target bpf -O2 -g -I"/usr/include/$(gcc -print-multiarch)" -c "$W/other.c" -o "$W/other.o"
	expect_fail "xdp_prog another program (no perc maps)" \
		"preflight: FAIL xdp-prog: xdp_prog $W/other.o is not perc's program (no xsks_map / perc_cfg / perc_cnt map) — fix: $FIX" \
		--no-huge --vdev "net_af_xdp0,iface=eth9,xdp_prog=$W/other.o"
fi
pf --no-huge --vdev "net_af_xdp0,iface=eth9" && grep -q "WARN xdp-prog: eth9: no xdp_prog=" "$W/out" &&
	ok "no xdp_prog=: a warning that the kernel loses the queue" || bad "no xdp_prog: $(cat "$W/out")"

# failure outside --preflight: perc-mdd exits 69 before EAL init
PERC_PREFLIGHT_ROOT=$R "$MDD" --no-huge --vdev "net_af_xdp0,iface=eth7" -- --addr 192.0.2.1 \
	--provision /nonexistent >"$W/out" 2>&1
rc=$?
[ $rc -eq 69 ] && grep -q "FAIL xdp-iface" "$W/out" && ! grep -q "EAL" "$W/out" &&
	ok "a failed check stops perc-mdd with 69 before EAL init" || bad "exit $rc: $(cat "$W/out")"
PERC_PREFLIGHT_ROOT=$R "$MDD" --no-huge --vdev "net_af_xdp0,iface=eth7" -- --no-preflight \
	--addr 192.0.2.1 >"$W/out" 2>&1
grep -q "FAIL" "$W/out" && bad "--no-preflight still checked" || ok "--no-preflight skips the checks"

# the real kernel: an interface that already runs an XDP program
if ip netns add "$ns" 2>/dev/null && ip -n "$ns" link add pfa type veth peer name pfb 2>/dev/null &&
	ip netns exec "$ns" "$MDD" --no-huge --vdev "net_af_xdp0,iface=pfa,xdp_prog=$OBJ" -- \
		--preflight >"$W/out" 2>&1; then
	grep -q "ok   xdp-attach: pfa accepts perc's XDP program" "$W/out" &&
		ok "the kernel loads and attaches perc's program (skeleton)" || bad "attach: $(cat "$W/out")"
	ip netns exec "$ns" "$MDD" --no-huge --vdev \
		"net_af_xdp0,iface=pfa,start_queue=0,queue_count=2,xdp_prog=$OBJ" -- --preflight \
		>"$W/out" 2>&1
	rc=$?
	line="preflight: FAIL xdp-queues: pfa has 1 combined queue(s) (at most 1), start_queue=0 queue_count=2 asks for more — fix: start_queue=0,queue_count=1 (and -l with at most that many worker lcores)"
	[ $rc -eq 1 ] && grep -qxF "$line" "$W/out" && ok "more AF_XDP queues than the interface has" ||
		{ bad "queues: exit $rc"; sed 's/^/     | /' "$W/out"; }
	# a jumbo MTU: a veth refuses XDP without multi-buffer
	ip -n "$ns" link set pfb mtu 9000 && ip -n "$ns" link set pfa mtu 9000
	ip netns exec "$ns" "$MDD" --no-huge --vdev "net_af_xdp0,iface=pfa,xdp_prog=$OBJ" -- \
		--preflight >"$W/out" 2>&1
	rc=$?
	line="preflight: FAIL xdp-attach: pfa refuses the XDP program: Numerical result out of range — fix: ip link set dev pfa mtu 1500 (XDP takes frames of one page: MTU 3498 at most; for a veth its peer too)"
	[ $rc -eq 1 ] && grep -qxF "$line" "$W/out" && ok "an interface that refuses XDP (MTU 9000)" ||
		{ bad "MTU 9000: exit $rc"; sed 's/^/     | /' "$W/out"; }
	ip -n "$ns" link set pfa mtu 1500 && ip -n "$ns" link set pfb mtu 1500
	# no capabilities: the kernel refuses to load the program
	if command -v setpriv >/dev/null; then
		ip netns exec "$ns" setpriv --inh-caps=-all --ambient-caps=-all --bounding-set=-all -- \
			"$MDD" --no-huge --vdev "net_af_xdp0,iface=pfa,xdp_prog=$OBJ" -- --preflight \
			>"$W/out" 2>&1
		rc=$?
		line="preflight: FAIL xdp-attach: the kernel refuses to load the XDP program: Operation not permitted — fix: run perc-mdd as root (or with CAP_BPF, CAP_NET_ADMIN, CAP_NET_RAW, CAP_IPC_LOCK)"
		[ $rc -eq 1 ] && grep -qxF "$line" "$W/out" && ok "no capabilities: the kernel refuses the program" ||
			{ bad "no caps: exit $rc"; sed 's/^/     | /' "$W/out"; }
	fi
	ip -n "$ns" link set pfa xdp obj "$OBJ" sec xdp
	id=$(ip -n "$ns" -d link show pfa | sed -n 's/.*prog\/xdp id \([0-9]*\).*/\1/p')
	ip netns exec "$ns" "$MDD" --no-huge --vdev "net_af_xdp0,iface=pfa,xdp_prog=$OBJ" -- \
		--preflight >"$W/out" 2>&1
	rc=$?
	line="preflight: FAIL xdp-attach: pfa already runs XDP program $id — fix: ip link set dev pfa xdp off (if nothing else needs program $id: bpftool net show dev pfa)"
	[ $rc -eq 1 ] && grep -qxF "$line" "$W/out" && ok "interface already running an XDP program" ||
		{ bad "already attached: exit $rc"; sed 's/^/     | /' "$W/out"; }
else
	echo "skip the kernel XDP checks: no netns / veth / XDP here: $(cat "$W/out" 2>/dev/null | tail -2)"
fi

t_end
