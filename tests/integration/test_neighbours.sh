#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# The control thread: ARP and neighbour solicitations for the MDD's
# addresses answered, next hops learned from ARP / ND, STUN, DTLS and ICMP
# counted and dropped.
# usage: test_neighbours.sh PERC_MDD WORKDIR
set -u
MDD=$1 W=$2
here=$(dirname "$0")
rm -rf "$W" && mkdir -p "$W"
python3 "$here/neighbours.py" gen "$W" || exit 1
timeout 60 "$MDD" --no-huge -m 256 --no-pci -l 0-1 --file-prefix "perc-nb-$$" \
	--log-level=lib.eal:error --vdev "net_pcap0,rx_pcap=$W/in.pcap,tx_pcap=$W/out.pcap" -- \
	--addr 192.0.2.1 --addr 2001:db8::1 --provision "$W/provision.json" \
	--exit-when-idle 400 --stats-interval 0 --stats-json "$W/stats.json" >"$W/mdd.log" 2>&1 ||
	{ cat "$W/mdd.log"; exit 1; }
python3 "$here/neighbours.py" check "$W"
