# SPDX-License-Identifier: BSD-3-Clause
# Shared by tools/demo and tools/test: install what the project needs on a
# Debian 12 machine (idempotent), reserve hugepages where the host allows,
# configure and build. Source it; it defines functions only.

PERC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PERC_BUILD=${PERC_BUILD:-$PERC_ROOT/build}

# Debian packages: toolchain, meson/ninja, and the fixed library choices.
PERC_PACKAGES=(
	gcc libc6-dev pkg-config python3 meson ninja-build git
	libdpdk-dev dpdk libipsec-mb-dev libsrtp2-dev libssl-dev openssl
	libcunit1-dev libbpf-dev libpcap-dev libjansson-dev
	libyaml-dev # perc-capacity's YAML scenarios (libyaml: the usual C YAML parser)
	gnuplot-nox # the NDR/PDR report's PNG and SVG plots (perf/report_perf.py)
	clang bpftool # AF_XDP: perc's XDP program is built for the BPF target, its libbpf skeleton by bpftool
	dpdk-dev # dpdk-dumpcap: tests/integration/test_pdump.sh attaches it to perc-mdd (rte_pdump)
	systemd-container # systemd-nspawn: test_systemd_boot.sh runs the systemd units under a real systemd
	iproute2 procps curl # the integration tests: namespaces / veth, ps, GET /metrics
)

perc_log() { printf '==> %s\n' "$*" >&2; }
perc_die() { printf 'error: %s\n' "$*" >&2; exit 1; }

perc_install_deps() {
	local missing=() p
	for p in "${PERC_PACKAGES[@]}"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	if [ ${#missing[@]} -eq 0 ]; then
		perc_log "Debian packages: all present"
		return 0
	fi
	[ "$(id -u)" -eq 0 ] || perc_die "missing packages (${missing[*]}); run as root or: sudo apt-get install ${missing[*]}"
	perc_log "installing: ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq || perc_die "apt-get update failed: check the network / apt sources"
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		perc_die "apt-get install ${missing[*]} failed"
}

# Reserve 2 MB hugepages (default 256 = 512 MB) and mount hugetlbfs. Tests
# that must run anywhere use --no-huge, so a host that refuses is not fatal.
perc_hugepages() {
	local want=${PERC_HUGEPAGES:-256} have f=/proc/sys/vm/nr_hugepages
	[ -r "$f" ] || { perc_log "hugepages: $f not readable, skipping"; return 0; }
	have=$(cat "$f")
	if [ "$have" -lt "$want" ]; then
		if echo "$want" >"$f" 2>/dev/null; then
			have=$(cat "$f")
		fi
	fi
	if ! grep -q ' /dev/hugepages hugetlbfs ' /proc/mounts; then
		mkdir -p /dev/hugepages 2>/dev/null &&
			mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
	fi
	perc_log "hugepages: $have x 2 MB reserved (wanted $want)"
}

# Configure (once) and build. Extra meson options can come in PERC_MESON_OPTS.
perc_build() {
	local werror=false
	[ "${CI:-}" = "true" ] && werror=true
	if [ ! -f "$PERC_BUILD/build.ninja" ]; then
		perc_log "configuring $PERC_BUILD"
		meson setup "$PERC_BUILD" "$PERC_ROOT" -Dwerror=$werror ${PERC_MESON_OPTS:-} >/dev/null ||
			perc_die "meson setup failed (see $PERC_BUILD/meson-logs/meson-log.txt)"
	else
		meson configure "$PERC_BUILD" -Dwerror=$werror >/dev/null
	fi
	perc_log "building"
	ninja -C "$PERC_BUILD" >/dev/null || { ninja -C "$PERC_BUILD"; perc_die "build failed"; }
}

# promtool (Prometheus' format checker) for the metrics test. It ships only
# in Debian's prometheus package, which would also install and start a
# Prometheus server; so the package is downloaded and promtool alone is
# taken out of it into the build directory (PERC_PROMTOOL). A host without
# apt access runs the test with its own format check only (it says so).
perc_promtool() {
	local dir=$PERC_BUILD/.promtool tmp
	if command -v promtool >/dev/null 2>&1; then
		return 0
	fi
	if [ ! -x "$dir/usr/bin/promtool" ]; then
		tmp=$(mktemp -d)
		if (cd "$tmp" && apt-get download -qq prometheus >/dev/null 2>&1) &&
			dpkg-deb -x "$tmp"/prometheus_*.deb "$dir" 2>/dev/null; then
			perc_log "promtool taken out of Debian's prometheus package into $dir"
		else
			perc_log "promtool: could not download Debian's prometheus package; the metrics test uses its own format check"
		fi
		rm -rf "$tmp"
	fi
	[ -x "$dir/usr/bin/promtool" ] && export PERC_PROMTOOL=$dir/usr/bin/promtool
	return 0
}
