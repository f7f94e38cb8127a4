/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Why a packet or message was refused. One list, used by every engine, codec,
 * counter and tool: the names are what perc-srtp prints and what metrics export.
 */
#ifndef PERC_REASON_H
#define PERC_REASON_H

/** X-macro: _(ENUM, "name", "description") */
#define PERC_FOREACH_REASON(_) \
	_(OK,        "ok",        "accepted") \
	_(MALFORMED, "malformed", "shorter than its headers, or not version 2") \
	_(AUTH,      "auth",      "authentication tag did not verify") \
	_(REPLAY,    "replay",    "index already seen in the replay window") \
	_(TOO_OLD,   "too_old",   "index older than the replay window") \
	_(NO_ROOM,   "no_room",   "output buffer too small for the result") \
	_(PROFILE,   "profile",   "operation not defined for this profile") \
	_(OHB,       "ohb",       "invalid original header block (RFC 8723)") \
	_(EKT,       "ekt",       "invalid or unknown EKT field (RFC 8870)") \
	_(KEY,       "key",       "no key installed, or key of the wrong engine") \
	_(INDEX,     "index",     "index exhausted (ROC or SRTCP index would wrap)") \
	_(ENGINE,    "engine",    "crypto library refused the job") \
	_(TRUNCATED, "truncated", "message shorter than its length fields say") \
	_(OVERSIZED, "oversized", "message or field longer than allowed") \
	_(UNKNOWN,   "unknown",   "unknown message type or version")

enum perc_reason {
#define PERC_R_ENUM_(e, n, d) PERC_R_##e,
	PERC_FOREACH_REASON(PERC_R_ENUM_)
#undef PERC_R_ENUM_
	PERC_R__COUNT
};

/** Short name ("auth", "replay", ...) of a reason; "?" when out of range. */
const char *perc_reason_name(unsigned int reason);
/** One-line description of a reason. */
const char *perc_reason_desc(unsigned int reason);

#endif
