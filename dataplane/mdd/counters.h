/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Every counter of the dataplane, defined once (STYLE.md §8): per-worker
 * counters, the per-second summary, the JSON on exit and (later) metrics
 * all come from this list. Every drop site names one of the DROP entries.
 */
#ifndef MDD_COUNTERS_H
#define MDD_COUNTERS_H

#include <stdint.h>

#include <rte_common.h>

/* _(name, "description") */
#define MDD_FOREACH_TRAFFIC(_) \
	_(rx_frames,      "frames received from the ports") \
	_(rx_bytes,       "bytes received from the ports") \
	_(rx_rtp,         "RTP packets accepted after the hop-by-hop layer opened") \
	_(rx_rtcp,        "SRTCP packets accepted after the hop-by-hop layer opened") \
	_(tx_frames,      "frames handed to the ports") \
	_(tx_bytes,       "bytes handed to the ports") \
	_(tx_rtp,         "RTP copies sent to receivers") \
	_(tx_rtcp,        "SRTCP copies sent to receivers") \
	_(handoff_out,    "frames passed to the worker that owns their sender") \
	_(handoff_in,     "frames taken from other workers") \
	_(punted,         "frames passed to the control thread (ARP, ND, STUN, DTLS, other)") \
	_(ctl_tx,         "frames the control thread sent through this worker") \
	_(streams_created, "streams created for a new SSRC of a known endpoint") \
	_(ekt_full,       "packets that carried a Full EKT field") \
	_(rekey_next,     "packets that opened with the alternative (next or previous) key") \
	_(captured,       "packet copies queued for a capture (mddctl capture)")

#define MDD_FOREACH_DROP(_) \
	_(eth_truncated,  "frame shorter than its Ethernet header") \
	_(ip_truncated,   "frame shorter than its IP or UDP header") \
	_(ip_bad_version, "IP version does not match the ethertype") \
	_(ip_bad_hdr,     "IPv4 header length or checksum wrong") \
	_(ip_bad_len,     "IP length beyond the frame or too short") \
	_(ip_fragment,    "IP fragment (media is never fragmented)") \
	_(udp_bad_len,    "UDP length disagrees with the IP payload") \
	_(udp_bad_csum,   "UDP checksum wrong") \
	_(not_ours,       "UDP not to a media address and port of this MDD") \
	_(not_media,      "UDP to the media port that is neither RTP, RTCP, STUN nor DTLS") \
	_(unknown_endpoint, "media from an address no endpoint is provisioned at") \
	_(rtp_bad_version, "RTP/RTCP version is not 2") \
	_(rtp_malformed,  "RTP/RTCP shorter than its header and tag") \
	_(oversized,      "packet larger than the MDD forwards") \
	_(ekt_invalid,    "EKT field missing, of unknown type or with a bad length") \
	_(stream_limit,   "new SSRC beyond the endpoint's stream bound") \
	_(srtp_auth,      "SRTP outer tag did not verify") \
	_(srtp_replay,    "SRTP index already received") \
	_(srtp_too_old,   "SRTP index behind the replay window") \
	_(srtcp_auth,     "SRTCP tag did not verify") \
	_(srtcp_replay,   "SRTCP index already received or too old") \
	_(ohb_invalid,    "RFC 8723 OHB invalid") \
	_(no_key,         "endpoint has no hop-by-hop key installed (yet: the KD sends it)") \
	_(receiver_no_key, "receiver skipped in the fan-out: no hop-by-hop key for it yet") \
	_(seal_failed,    "re-sealing for a receiver failed") \
	_(no_receivers,   "valid packet, but nobody else in the conference") \
	_(no_nexthop,     "receiver's MAC not known yet (no frame from it, no ARP / ND answer)") \
	_(no_mbuf,        "mbuf pool empty") \
	_(handoff_full,   "ring to the owning worker full") \
	_(punt_full,      "ring to the control thread full") \
	_(tx_full,        "port did not take the frame (unsent tail freed)") \
	_(capture_ring_full, "capture copy lost: ring to the control thread full") \
	_(capture_no_buf, "capture copy lost: capture record pool empty")

enum mdd_ctr {
#define MDD_CTR_ENUM_(n, d) MDD_C_##n,
	MDD_FOREACH_TRAFFIC(MDD_CTR_ENUM_)
	MDD_FOREACH_DROP(MDD_CTR_ENUM_)
#undef MDD_CTR_ENUM_
	MDD_C__COUNT
};

/** Index of the first drop counter (the traffic counters come first). */
#define MDD_CTR_ONE_(n, d) +1
enum { MDD_DROP_FIRST = 0 MDD_FOREACH_TRAFFIC(MDD_CTR_ONE_) };
#undef MDD_CTR_ONE_

/** Counters of one worker, written only by that worker. */
struct mdd_counters {
	uint64_t c[MDD_C__COUNT];
} __rte_cache_aligned;

/** Name and description of counter i. */
const char *mdd_ctr_name(unsigned i);
const char *mdd_ctr_desc(unsigned i);
/** True for drop counters. */
static inline int
mdd_ctr_is_drop(unsigned i)
{
	return i >= MDD_DROP_FIRST && i < MDD_C__COUNT;
}

#endif
