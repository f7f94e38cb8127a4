/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Test helper (LD_PRELOAD) for tests/integration/test_afxdp_mq.sh: report a
 * veth's RX/TX channels as combined channels to ETHTOOL_GCHANNELS.
 *
 * Why: DPDK 22.11's net_af_xdp takes the number of queues of an interface
 * from max_combined / combined_count only and uses 1 when the driver reports
 * no combined channels. A veth reports its queues as separate RX and TX
 * channels (ethtool -l: "RX: 2 TX: 2 Combined: n/a"), so the PMD refuses
 * queue_count=2 ("Specified queue count 2 is larger than combined queue
 * count 1") although the kernel binds an AF_XDP socket to any of the veth's
 * real RX queues. This shim changes only that answer, and only for the
 * interface named in PERC_TEST_COMBINED_IFACE whose RX and TX channel counts
 * are equal; the sockets, the queues and the traffic are the kernel's own.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>

typedef int (*ioctl_fn)(int, unsigned long, ...);

int
ioctl(int fd, unsigned long req, ...)
{
	static ioctl_fn real;
	const char *want = getenv("PERC_TEST_COMBINED_IFACE");
	struct ethtool_channels *ch;
	struct ifreq *ifr;
	va_list ap;
	void *arg;
	int r;

	va_start(ap, req);
	arg = va_arg(ap, void *);
	va_end(ap);
	if (real == NULL)
		real = (ioctl_fn)dlsym(RTLD_NEXT, "ioctl");
	if (real == NULL)
		abort();
	r = real(fd, req, arg);
	if (r != 0 || req != SIOCETHTOOL || want == NULL || arg == NULL)
		return r;
	ifr = arg;
	ch = (struct ethtool_channels *)(void *)ifr->ifr_data;
	if (strncmp(ifr->ifr_name, want, IFNAMSIZ) != 0 || ch == NULL ||
	    ch->cmd != ETHTOOL_GCHANNELS || ch->max_combined != 0 ||
	    ch->max_rx != ch->max_tx || ch->rx_count != ch->tx_count)
		return r;
	ch->max_combined = ch->max_rx;
	ch->combined_count = ch->rx_count;
	ch->max_rx = ch->max_tx = ch->rx_count = ch->tx_count = 0;
	return r;
}
