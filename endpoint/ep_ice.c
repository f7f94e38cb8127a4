/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ICE client side towards an ICE-lite MDD: one host candidate pair, this
 * agent controlling with aggressive nomination (USE-CANDIDATE on every
 * check: the lite peer nominates nothing itself), RFC 5389 retransmission,
 * then RFC 7675 consent freshness.
 */
#include <string.h>

#include "ep_internal.h"

/* RFC 8445 5.1.2.1: type preference 126 (host), local preference 65535,
 * component 1 */
#define EP_ICE_PRIORITY ((126u << 24) | (65535u << 8) | (256u - 1u))
/* RFC 5389 7.2.1: RTO doubles up to this */
#define EP_ICE_RTO_MAX 1600u

static void
ice_send(struct perc_ep *ep, const uint8_t tid[PERC_STUN_TID_LEN], bool nominate)
{
	struct perc_stun_request req = {
		.remote_ufrag = ep->s_mdd_ufrag,
		.local_ufrag = ep->s_ufrag,
		.priority = EP_ICE_PRIORITY,
		.controlling = true,
		.tie_breaker = ep->tie_breaker,
		.use_candidate = nominate,
	};
	uint8_t buf[PERC_STUN_MAX_USERNAME + 256];
	int n = perc_stun_build_request(buf, sizeof(buf), tid, &req, ep->s_mdd_pwd,
					strlen(ep->s_mdd_pwd));

	if (n < 0) {
		ep_fail(ep, "cannot build a STUN Binding request: %s (check the ICE ufrags)",
			perc_reason_desc((unsigned)-n));
		return;
	}
	ep_send(ep, buf, (size_t)n);
}

void
ep_ice_start(struct perc_ep *ep)
{
	ep_random(&ep->tie_breaker, sizeof(ep->tie_breaker));
	ep_random(ep->ice_tid, sizeof(ep->ice_tid));
	ep->ice_rto = ep->cfg.ice_rto_ms;
	ep->ice_tries = 1;
	ep->ice_next = ep_mono_ms() + ep->ice_rto;
	ice_send(ep, ep->ice_tid, true);
}

static void
consent_send(struct perc_ep *ep, uint64_t now)
{
	ep_random(ep->consent_tid, sizeof(ep->consent_tid));
	ice_send(ep, ep->consent_tid, false);
	ep->consent_next = now + ep->cfg.consent_interval_ms;
}

void
ep_ice_timer(struct perc_ep *ep, uint64_t now)
{
	if (!ep->ice_done) {
		if (now < ep->ice_next)
			return;
		if (ep->ice_tries >= ep->cfg.ice_max_tries) {
			ep_fail(ep, "ICE: no valid Binding response from the MDD %s:%u after %u "
				"requests (is perc-mdd running, the conference created and "
				"mdd_ufrag/mdd_pwd right?)",
				ep->cfg.mdd_addr, ep->cfg.mdd_port, ep->ice_tries);
			return;
		}
		ep->ice_rto = ep->ice_rto * 2 > EP_ICE_RTO_MAX ? EP_ICE_RTO_MAX : ep->ice_rto * 2;
		ep->ice_tries++;
		ep->ice_next = now + ep->ice_rto;
		ice_send(ep, ep->ice_tid, true);
		return;
	}
	if (!ep->consent_lost && now - ep->consent_last_ok >= ep->cfg.consent_timeout_ms) {
		ep->consent_lost = true;
		ep_log(ep, PERC_EP_LOG_WARN,
		       "ICE consent lost: no Binding response for %u ms; media stopped (RFC 7675)",
		       ep->cfg.consent_timeout_ms);
		if (ep->state != PERC_EP_LEFT)
			ep_fail(ep, "ICE consent lost (no STUN response from the MDD for %u ms)",
				ep->cfg.consent_timeout_ms);
	}
	if (now >= ep->consent_next)
		consent_send(ep, now);
}

void
ep_ice_input(struct perc_ep *ep, const uint8_t *p, size_t n)
{
	struct perc_stun_msg m;
	uint64_t now = ep_mono_ms();
	bool initial;

	if (perc_stun_parse(p, n, &m) != PERC_R_OK || m.type != PERC_STUN_BINDING_SUCCESS) {
		ep->st.stun_fail++;
		if (perc_stun_parse(p, n, &m) == PERC_R_OK && m.type == PERC_STUN_BINDING_ERROR)
			ep_log(ep, PERC_EP_LOG_WARN, "MDD answered a Binding request with error %u",
			       m.error_code);
		return;
	}
	initial = !ep->ice_done && memcmp(m.tid, ep->ice_tid, PERC_STUN_TID_LEN) == 0;
	if (!initial && !(ep->ice_done && memcmp(m.tid, ep->consent_tid, PERC_STUN_TID_LEN) == 0)) {
		ep->st.stun_fail++; /* stale or foreign transaction */
		return;
	}
	if (perc_stun_check_integrity(&m, ep->s_mdd_pwd, strlen(ep->s_mdd_pwd)) != PERC_R_OK ||
	    !m.has_fingerprint) {
		ep->st.stun_fail++;
		ep_log(ep, PERC_EP_LOG_WARN, "STUN response without valid MESSAGE-INTEGRITY/"
		       "FINGERPRINT (wrong mdd_pwd?)");
		return;
	}
	ep->consent_last_ok = now;
	/* a response for an old consent tid must not count twice */
	ep_random(ep->consent_tid, sizeof(ep->consent_tid));
	if (!initial)
		return;
	ep->ice_done = true;
	ep->consent_next = now + ep->cfg.consent_interval_ms;
	ep_log(ep, PERC_EP_LOG_INFO, "ICE connected after %u request(s)", ep->ice_tries);
	ep_set_state(ep, PERC_EP_DTLS);
	ep_dtls_start(ep);
}

bool
ep_may_send_media(const struct perc_ep *ep)
{
	return ep->state == PERC_EP_JOINED && ep->ice_done && !ep->consent_lost;
}
