/* SPDX-License-Identifier: BSD-3-Clause */
#include "perc/reason.h"

static const char *const reason_names[] = {
#define PERC_R_NAME_(e, n, d) n,
	PERC_FOREACH_REASON(PERC_R_NAME_)
#undef PERC_R_NAME_
};

static const char *const reason_descs[] = {
#define PERC_R_DESC_(e, n, d) d,
	PERC_FOREACH_REASON(PERC_R_DESC_)
#undef PERC_R_DESC_
};

const char *
perc_reason_name(unsigned int reason)
{
	return reason < PERC_R__COUNT ? reason_names[reason] : "?";
}

const char *
perc_reason_desc(unsigned int reason)
{
	return reason < PERC_R__COUNT ? reason_descs[reason] : "unknown reason";
}
