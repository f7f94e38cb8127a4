/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane's L2-L4 parser and the ARP / neighbour discovery parsers on
 * arbitrary frames. Beyond "no crash": every offset the parser returns lies
 * inside the frame, and what the reply builders make of an accepted
 * request parses back as the matching reply.
 */
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "pkt.h"

const char *const perc_fuzz_seeds[] = {
	/* IPv4 UDP to 192.0.2.1:3478 with a 4-byte payload */
	"020000000001" "02e000000001" "0800" "4500002000004000" "4011" "0000" "c0000264" "c0000201"
	"9c400d96000c0000" "80000001",
	/* the same with an 802.1Q tag */
	"020000000001" "02e000000001" "8100" "0064" "0800" "4500002000004000" "4011" "0000"
	"c0000264" "c0000201" "9c400d96000c0000" "80000001",
	/* IPv6 UDP */
	"020000000001" "02e000000001" "86dd" "60000000000c1140" "20010db8000000000000000000000064"
	"20010db8000000000000000000000001" "9c400d96000c0000" "80000001",
	/* ARP request for 192.0.2.1 */
	"ffffffffffff" "02e000000001" "0806" "0001080006040001" "02e000000001" "c0000264"
	"000000000000" "c0000201" "000000000000000000000000000000000000",
	/* neighbour solicitation for 2001:db8::1 with a source link-layer option */
	"3333ff000001" "02e000000001" "86dd" "6000000000203aff" "20010db8000000000000000000000064"
	"ff0200000000000000000001ff000001" "87000000" "00000000" "20010db8000000000000000000000001"
	"010102e000000001",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pkt_info pi;
	uint8_t out[256];
	int r;

	for (int verify = 0; verify < 2; verify++) {
		r = pkt_parse(data, size, verify, &pi);
		FUZZ_CHECK(pkt_err_name(r) != NULL);
		if (r != PKT_OK)
			continue;
		FUZZ_CHECK(pi.l3_off <= size);
		if (pi.kind == PKT_K_UDP) {
			FUZZ_CHECK(pi.l3_off < pi.l4_off && pi.l4_off < pi.payload_off);
			FUZZ_CHECK((size_t)pi.payload_off + pi.payload_len <= size);
			FUZZ_CHECK(pi.family == AF_INET || pi.family == AF_INET6);
		}
	}
	if (pkt_parse(data, size, false, &pi) != PKT_OK)
		return 0;
	if (pi.kind == PKT_K_ARP) {
		struct pkt_arp a, back;
		struct pkt_info bi;
		static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
		size_t n;

		if (pkt_arp_parse(data, size, &pi, &a) == 0 && a.op == 1) {
			n = pkt_arp_reply(&a, mac, pi.vlan, out, sizeof(out));
			FUZZ_CHECK(n > 0 && n <= sizeof(out));
			FUZZ_CHECK(pkt_parse(out, n, false, &bi) == PKT_OK && bi.kind == PKT_K_ARP);
			FUZZ_CHECK(pkt_arp_parse(out, n, &bi, &back) == 0 && back.op == 2);
			FUZZ_CHECK(memcmp(back.spa, a.tpa, 4) == 0 && memcmp(back.tpa, a.spa, 4) == 0);
		}
	} else if (pi.kind == PKT_K_ICMP6) {
		struct pkt_nd nd, back;
		struct pkt_info bi;
		static const uint8_t mac[6] = { 2, 0, 0, 0, 0, 1 };
		size_t n;

		if (pkt_nd_parse(data, size, &pi, &nd) == 0 && nd.type == 135) {
			n = pkt_nd_advert(&pi, &nd, mac, out, sizeof(out));
			if (n > 0) {
				FUZZ_CHECK(n <= sizeof(out));
				FUZZ_CHECK(pkt_parse(out, n, true, &bi) == PKT_OK && bi.kind == PKT_K_ICMP6);
				FUZZ_CHECK(pkt_nd_parse(out, n, &bi, &back) == 0 && back.type == 136);
				FUZZ_CHECK(memcmp(back.target, nd.target, 16) == 0);
			}
		}
	}
	return 0;
}
