/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The provisioning file parser on arbitrary text. Beyond "no crash": an
 * accepted file is internally consistent, and a refused one says where and
 * why.
 */
#include <string.h>

#include "fuzz.h"
#include "provision.h"

/* hex of the seed documents (driver.c decodes seeds as hex) */
const char *const perc_fuzz_seeds[] = {
	/* {"conferences": [{"id": "c", "endpoints": [{"id": "a", "addr": "192.0.2.10:4000",
	 *  "profile": "SRTP_AEAD_AES_128_GCM", "rx_key": 16 bytes, "rx_salt": 12,
	 *  "tx_key", "tx_salt", "ssrcs": [1]}]}]} */
	"7b22636f6e666572656e636573223a5b7b226964223a2263222c22656e64706f696e7473223a5b7b22"
	"6964223a2261222c2261646472223a223139322e302e322e31303a34303030222c2270726f66696c65"
	"223a22535254505f414541445f4145535f3132385f47434d222c2272785f6b6579223a22303030303030"
	"3030303030303030303030303030303030303030303030303030303030222c2272785f73616c74223a22"
	"303030303030303030303030303030303030303030303030222c2274785f6b6579223a22303030303030"
	"3030303030303030303030303030303030303030303030303030303030222c2274785f73616c74223a22"
	"303030303030303030303030303030303030303030303030222c227373726373223a5b315d7d5d7d5d7d",
	/* {"conferences": []} */
	"7b22636f6e666572656e636573223a205b5d7d",
	NULL,
};

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	struct prov p;
	struct prov_error err;
	unsigned n = 0;

	FUZZ_CHECK(text != NULL);
	memcpy(text, data, size);
	text[size] = 0;
	memset(&err, 0, sizeof(err));
	if (prov_parse(text, &p, &err) == 0) {
		for (unsigned i = 0; i < p.n_conferences; i++) {
			FUZZ_CHECK(p.conferences[i].id[0] != 0);
			for (unsigned j = 0; j < p.conferences[i].n_endpoints; j++) {
				const struct prov_endpoint *e = &p.conferences[i].endpoints[j];

				FUZZ_CHECK(e->profile != NULL && e->n_ssrcs <= e->max_streams);
				FUZZ_CHECK(e->addr.port != 0);
			}
			n += p.conferences[i].n_endpoints;
		}
		FUZZ_CHECK(n == p.n_endpoints);
		prov_free(&p);
	} else {
		FUZZ_CHECK(err.msg[0] != 0);
		FUZZ_CHECK(memchr(err.msg, 0, sizeof(err.msg)) != NULL);
	}
	free(text);
	return 0;
}
