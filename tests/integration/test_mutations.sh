#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-3-Clause
# perc-mdd on damaged input: every frame of a generated capture is mutated;
# perc-mdd must not crash, and every received frame must be accounted for
# exactly once: forwarded as RTP / RTCP, punted, or dropped under a reason.
# usage: test_mutations.sh PERC_MDD PERC_PCAPTEST WORKDIR
set -u
MDD=$1 PT=$2 W=$3
here=$(dirname "$0")
. "$here/lib.sh"
t_begin mutations
rm -rf "$W" && mkdir -p "$W"
"$PT" gen --dir "$W" --rtcp --conferences 3 --ipv6 --bad >/dev/null || exit 1
for seed in 1 2 3 4 5 6; do
	python3 "$here/mutate.py" "$W/in.pcap" "$W/m$seed.pcap" $seed
	timeout 60 "$MDD" --no-huge -m 256 --no-pci -l 0-1 --file-prefix "perc-mut-$$" \
		--log-level=lib.eal:error --vdev "net_pcap0,rx_pcap=$W/m$seed.pcap,tx_pcap=$W/o$seed.pcap" -- \
		--addr 2001:db8::1 --provision "$W/provision.json" --exit-when-idle 300 \
		--stats-interval 0 --stats-json "$W/s$seed.json" >"$W/mdd$seed.log" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		bad "seed $seed: perc-mdd exited $rc: $(tail -2 "$W/mdd$seed.log")"
		continue
	fi
	if python3 - "$W/s$seed.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))["total"]
# per-frame outcomes; the per-copy counters (seal_failed, no_mbuf,
# no_nexthop, tx_full), no_receivers and ohb_invalid come after rx_rtp
per_copy = {"seal_failed", "no_mbuf", "no_nexthop", "tx_full", "no_receivers", "ohb_invalid"}
drops = ("eth_truncated ip_truncated ip_bad_version ip_bad_hdr ip_bad_len ip_fragment "
         "udp_bad_len udp_bad_csum not_ours not_media unknown_endpoint rtp_bad_version "
         "rtp_malformed oversized ekt_invalid stream_limit srtp_auth srtp_replay srtp_too_old "
         "srtcp_auth srtcp_replay no_key handoff_full punt_full").split()
got = t["punted"] + t["rx_rtp"] + t["rx_rtcp"] + sum(t[k] for k in drops)
print(f"rx_frames {t['rx_frames']}, accounted {got}")
sys.exit(0 if got == t["rx_frames"] and t["rx_frames"] > 0 else 1)
PY
	then ok "seed $seed"
	else bad "seed $seed: frames not accounted for"
	fi
done
t_end
