/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc's XDP program on net_af_xdp ports: find it by the interface's
 * attached program id, configure it, read its per-CPU counters.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/if_link.h>

#include <rte_ethdev.h>

#include "mdd.h"
#include "ops.h"
#include "xdp_port.h"

struct xdp_port {
	uint16_t port;
	unsigned ifindex;
	int cfg_fd;
	int cnt_fd;
};

static struct xdp_port xports[MDD_MAX_PORTS];
static unsigned n_xports;

static const char *const ctr_names[PERC_XDP__COUNT] = {
	[PERC_XDP_REDIRECTED] = "redirected",
	[PERC_XDP_PASS_NOT_IP] = "passed_not_ip",
	[PERC_XDP_PASS_NOT_UDP] = "passed_not_udp",
	[PERC_XDP_PASS_OTHER_ADDR] = "passed_other_addr",
	[PERC_XDP_PASS_OTHER_PORT] = "passed_other_port",
	[PERC_XDP_PASS_NO_XSK] = "passed_no_xsk",
	[PERC_XDP_PASS_FRAGMENT] = "passed_fragment",
	[PERC_XDP_MALFORMED] = "malformed",
};

const char *
mdd_xdp_ctr_name(unsigned i)
{
	return i < PERC_XDP__COUNT ? ctr_names[i] : "?";
}

/* the maps of the program attached to ifindex, by name; -1 each if absent */
static int
find_maps(unsigned ifindex, int *cfg_fd, int *cnt_fd)
{
	struct bpf_prog_info pi;
	uint32_t ids[16], pi_len = sizeof(pi), prog_id = 0;
	int prog_fd;

	*cfg_fd = *cnt_fd = -1;
	if (bpf_xdp_query_id((int)ifindex, 0, &prog_id) != 0 || prog_id == 0)
		return -ENOENT;
	prog_fd = bpf_prog_get_fd_by_id(prog_id);
	if (prog_fd < 0)
		return -errno;
	memset(&pi, 0, sizeof(pi));
	pi.nr_map_ids = RTE_DIM(ids);
	pi.map_ids = (uint64_t)(uintptr_t)ids;
	if (bpf_obj_get_info_by_fd(prog_fd, &pi, &pi_len) != 0) {
		close(prog_fd);
		return -errno;
	}
	close(prog_fd);
	for (uint32_t i = 0; i < pi.nr_map_ids && i < RTE_DIM(ids); i++) {
		struct bpf_map_info mi;
		uint32_t mi_len = sizeof(mi);
		int fd = bpf_map_get_fd_by_id(ids[i]);

		if (fd < 0)
			continue;
		memset(&mi, 0, sizeof(mi));
		if (bpf_obj_get_info_by_fd(fd, &mi, &mi_len) == 0) {
			if (strcmp(mi.name, PERC_XDP_CFG_MAP) == 0 && *cfg_fd < 0) {
				*cfg_fd = fd;
				continue;
			}
			if (strcmp(mi.name, PERC_XDP_CNT_MAP) == 0 && *cnt_fd < 0) {
				*cnt_fd = fd;
				continue;
			}
		}
		close(fd);
	}
	return 0;
}

static void
fill_cfg(const struct mdd *m, struct perc_xdp_cfg *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->port = htons(m->media_port);
	for (unsigned i = 0; i < m->n_addrs; i++) {
		const struct prov_addr *a = &m->addrs[i];

		if (a->family == AF_INET && cfg->n4 < PERC_XDP_MAX_ADDRS)
			memcpy(&cfg->v4[cfg->n4++], a->ip, 4);
		else if (a->family == AF_INET6 && cfg->n6 < PERC_XDP_MAX_ADDRS)
			memcpy(cfg->v6[cfg->n6++], a->ip, 16);
	}
}

int
mdd_xdp_ports_init(const struct mdd *m, char *err, size_t len)
{
	struct perc_xdp_cfg cfg;

	fill_cfg(m, &cfg);
	for (unsigned i = 0; i < m->n_ports; i++) {
		struct rte_eth_dev_info di;
		struct xdp_port *x = &xports[n_xports];
		char ifname[IF_NAMESIZE] = "?";
		uint32_t key = 0;

		if (rte_eth_dev_info_get(m->ports[i], &di) != 0 || di.driver_name == NULL ||
		    strcmp(di.driver_name, "net_af_xdp") != 0 || di.if_index == 0)
			continue;
		if_indextoname(di.if_index, ifname);
		x->port = m->ports[i];
		x->ifindex = di.if_index;
		if (find_maps(di.if_index, &x->cfg_fd, &x->cnt_fd) != 0 || x->cfg_fd < 0 ||
		    x->cnt_fd < 0) {
			if (x->cfg_fd >= 0)
				close(x->cfg_fd);
			if (x->cnt_fd >= 0)
				close(x->cnt_fd);
			MDD_LOG(WARNING, DATAPLANE, "port %u (%s): not perc's XDP program (give the "
				"vdev xdp_prog=perc_xdp.bpf.o to keep ARP, ICMP and TCP with the "
				"kernel; docs/afxdp.md)", x->port, ifname);
			continue;
		}
		if (bpf_map_update_elem(x->cfg_fd, &key, &cfg, BPF_ANY) != 0) {
			snprintf(err, len, "port %u (%s): cannot configure the XDP program: %s",
				 x->port, ifname, strerror(errno));
			close(x->cfg_fd);
			close(x->cnt_fd);
			return -1;
		}
		MDD_LOG(INFO, DATAPLANE, "port %u (%s): XDP program redirects UDP port %u of %u "
			"address(es), passes the rest to the kernel",
			x->port, ifname, m->media_port, (unsigned)(cfg.n4 + cfg.n6));
		/* a queue no worker polls has no socket: its media goes to the kernel */
		if (di.max_rx_queues > m->port_nrxq[i])
			MDD_LOG(WARNING, DATAPLANE, "port %u (%s): warning: queue_count=%u but %u "
				"worker(s): media arriving on the last %u queue(s) goes to the "
				"kernel (passed_no_xsk); use %u worker lcores (-l 0-%u) or a "
				"smaller queue_count (docs/afxdp.md)",
				x->port, ifname, di.max_rx_queues, m->port_nrxq[i],
				di.max_rx_queues - m->port_nrxq[i], di.max_rx_queues,
				di.max_rx_queues);
		n_xports++;
	}
	return 0;
}

int
mdd_xdp_counters(struct mdd_xdp_counters *out)
{
	int ncpu = libbpf_num_possible_cpus();
	uint64_t *v;

	memset(out, 0, sizeof(*out));
	if (n_xports == 0)
		return 0;
	if (ncpu <= 0)
		return -1;
	v = calloc((size_t)ncpu, sizeof(*v));
	if (v == NULL)
		return -1;
	for (unsigned p = 0; p < n_xports; p++) {
		for (uint32_t k = 0; k < PERC_XDP__COUNT; k++) {
			if (bpf_map_lookup_elem(xports[p].cnt_fd, &k, v) != 0) {
				free(v);
				return -1;
			}
			for (int c = 0; c < ncpu; c++)
				out->c[k] += v[c];
		}
		out->ports++;
	}
	free(v);
	return 0;
}

void
mdd_xdp_stats(json_t *root)
{
	struct mdd_xdp_counters xc;
	json_t *o;

	if (n_xports == 0 || mdd_xdp_counters(&xc) != 0)
		return;
	o = json_object();
	json_object_set_new(o, "ports", json_integer(xc.ports));
	for (unsigned i = 0; i < PERC_XDP__COUNT; i++)
		json_object_set_new(o, ctr_names[i], json_integer((json_int_t)xc.c[i]));
	json_object_set_new(root, "xdp", o);
}

void
mdd_xdp_fini(void)
{
	for (unsigned p = 0; p < n_xports; p++) {
		close(xports[p].cfg_fd);
		close(xports[p].cnt_fd);
	}
	n_xports = 0;
}
