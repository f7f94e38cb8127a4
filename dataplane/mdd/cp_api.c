/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The conference API: JSON over a Unix stream socket, one request per line,
 * one response line each, served by the control thread between its polls
 * (non-blocking sockets, never a wait). docs/mdd-control.md lists the ops.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <openssl/crypto.h>

#include "cp.h"
#include "mdapi.h"
#include "xdp_port.h"
#include "capture.h"
#include "ops.h"

#define API_CLIENTS 16
#define API_OUT_MAX (4u << 20)
/* a connection that sends nothing this long gives its slot back */
#define API_IDLE_MS 300000u

struct mdd_cp g_cp;

struct client {
	int fd;
	char *in;
	size_t in_len;
	char *out;
	size_t out_len, out_cap;
	bool closing;            /* close once out is written */
	uint64_t active_ms;      /* last request or accept */
};

static int listen_fd = -1;
static char listen_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
static struct client clients[API_CLIENTS];

const char *const mdd_cp_names[MDD_CP__COUNT] = {
#define MDD_CP_NAME_(n, d) #n,
	MDD_FOREACH_CP(MDD_CP_NAME_)
#undef MDD_CP_NAME_
};

const char *const mdd_cp_descs[MDD_CP__COUNT] = {
#define MDD_CP_DESC_(n, d) d,
	MDD_FOREACH_CP(MDD_CP_DESC_)
#undef MDD_CP_DESC_
};

int
mdd_api_init(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(err, errlen, "--api %s: longer than %zu bytes (a Unix socket path)", path,
			 sizeof(sa.sun_path) - 1);
		return -1;
	}
	memcpy(sa.sun_path, path, strlen(path) + 1);
	if (stat(path, &st) == 0) {
		int probe;

		if (!S_ISSOCK(st.st_mode)) {
			snprintf(err, errlen, "--api %s exists and is not a socket: give another path",
				 path);
			return -1;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe >= 0 && connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			close(probe);
			snprintf(err, errlen, "--api %s: another process serves it (a perc-mdd "
				 "running already?): stop it or give another path", path);
			return -1;
		}
		if (probe >= 0)
			close(probe);
		unlink(path); /* stale, from a run that did not clean up */
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		snprintf(err, errlen, "--api %s: cannot listen: %s (is the directory there and "
			 "writable?)", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* the API creates and removes conferences: owner and group only */
	chmod(path, 0660);
	listen_fd = fd;
	snprintf(listen_path, sizeof(listen_path), "%s", path);
	for (int i = 0; i < API_CLIENTS; i++)
		clients[i].fd = -1;
	return 0;
}

static void
client_close(struct client *c)
{
	close(c->fd);
	free(c->in);
	if (c->out != NULL)
		OPENSSL_cleanse(c->out, c->out_len);
	free(c->out);
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

static void
reply(struct client *c, json_t *resp)
{
	char *s = json_dumps(resp, JSON_COMPACT | JSON_SORT_KEYS);
	size_t n;

	json_decref(resp);
	if (s == NULL)
		return;
	n = strlen(s);
	if (c->out_len + n + 1 > API_OUT_MAX) {
		/* a client that never reads: drop it rather than hold memory */
		c->closing = true;
		free(s);
		return;
	}
	if (c->out_len + n + 1 > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 4096;
		char *p;

		while (cap < c->out_len + n + 1)
			cap *= 2;
		p = realloc(c->out, cap);
		if (p == NULL) {
			free(s);
			c->closing = true;
			return;
		}
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, s, n);
	c->out[c->out_len + n] = '\n';
	c->out_len += n + 1;
	OPENSSL_cleanse(s, n);
	free(s);
}

json_t *
mdd_api_refuse(const char *fmt, ...)
{
	char msg[PATH_MAX + 256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	g_cp.c[MDD_CP_api_errors]++;
	/* the client has the reason; the log only at debug (api_errors
	 * summary at notice) */
	MDD_LOG(DEBUG, API, "refused: %s", msg);
	return json_pack("{s:b,s:s}", "ok", 0, "error", msg);
}

static json_t *
error_resp(const char *msg)
{
	return mdd_api_refuse("%s", msg);
}

static json_t *
op_conf_create(struct mdd *m, const struct mdd_api_req *r)
{
	char err[256];

	/* every stream of every leg gets an outbound context per slot when
	 * the leg is made: the bound is memory, not speed */
	if (mdd_ops_admit(m, false, err, sizeof(err)) != 0) /* drain, limits (ops.h) */
		return error_resp(err);
	if (mdd_conf_create(m, r->conf, r->max_endpoints, err, sizeof(err)) == NULL)
		return error_resp(err);
	MDD_LOG(NOTICE, API, "conference %s created (API, up to %u endpoints)", r->conf,
		r->max_endpoints);
	return json_pack("{s:b,s:s,s:i}", "ok", 1, "id", r->conf, "max_endpoints",
			 (int)r->max_endpoints);
}

static json_t *
op_conf_delete(struct mdd *m, const struct mdd_api_req *r)
{
	struct mdd_conf *c = mdd_conf_find(m, r->conf);
	unsigned n = 0;
	char err[256];

	if (c == NULL) {
		snprintf(err, sizeof(err), "no conference %s: see {\"op\":\"list\"}", r->conf);
		return error_resp(err);
	}
	if (!c->api) {
		snprintf(err, sizeof(err), "conference %s comes from the provisioning file: remove "
			 "it there and send SIGHUP", r->conf);
		return error_resp(err);
	}
	/* the KD hears of every association before the legs go */
	for (uint32_t j = 0; j < c->n_legs; j++)
		if (c->legs[j] != NULL) {
			n++;
			mdd_ice_leg_forget(c->legs[j]);
		}
	mdd_conf_delete(m, c);
	MDD_LOG(NOTICE, API, "conference %s deleted (API, %u endpoints)", r->conf, n);
	return json_pack("{s:b,s:s,s:i}", "ok", 1, "id", r->conf, "endpoints_removed", n);
}

static json_t *
op_ep_add(struct mdd *m, const struct mdd_api_req *r)
{
	struct mdd_conf *c = mdd_conf_find(m, r->conf);
	struct mdd_leg *l;
	char err[320], ufrag[MDD_ICE_CRED_MAX + 1], pwd[MDD_ICE_CRED_MAX + 1], ip[64] = "";
	json_t *resp;

	if (c == NULL) {
		snprintf(err, sizeof(err), "no conference %s: create it first "
			 "({\"op\":\"conference_create\",\"id\":\"%s\"})", r->conf, r->conf);
		return error_resp(err);
	}
	if (mdd_ops_admit(m, true, err, sizeof(err)) != 0) /* drain, limits (ops.h) */
		return error_resp(err);
	if (r->ufrag[0] != '\0') {
		snprintf(ufrag, sizeof(ufrag), "%s", r->ufrag);
		snprintf(pwd, sizeof(pwd), "%s", r->pwd);
	} else {
		do {
			if (mdd_ice_cred_gen(ufrag, MDD_ICE_UFRAG_GEN) != 0 ||
			    mdd_ice_cred_gen(pwd, MDD_ICE_PWD_GEN) != 0)
				return error_resp("the random generator failed: try again");
		} while (mdd_ice_ufrag_used(m, ufrag));
	}
	if (mdd_ice_ufrag_used(m, ufrag)) {
		snprintf(err, sizeof(err), "ufrag %s is another endpoint's: give another or none",
			 ufrag);
		return error_resp(err);
	}
	l = mdd_leg_add(m, c, r->id, err, sizeof(err));
	if (l == NULL) {
		OPENSSL_cleanse(pwd, sizeof(pwd));
		return error_resp(err);
	}
	snprintf(l->ufrag, sizeof(l->ufrag), "%s", ufrag);
	snprintf(l->pwd, sizeof(l->pwd), "%s", pwd);
	snprintf(l->remote_ufrag, sizeof(l->remote_ufrag), "%s", r->remote_ufrag);
	if (mdd_ice_leg_index(l) != 0) {
		mdd_leg_remove(m, l);
		OPENSSL_cleanse(pwd, sizeof(pwd));
		return error_resp("the ICE table is full: remove endpoints or restart with a "
				  "larger --max-endpoints");
	}
	for (unsigned i = 0; i < m->n_addrs; i++)
		if (m->addrs[i].family == AF_INET) {
			inet_ntop(AF_INET, m->addrs[i].ip, ip, sizeof(ip));
			break;
		}
	if (ip[0] == '\0')
		inet_ntop(AF_INET6, m->addrs[0].ip, ip, sizeof(ip));
	MDD_LOG(INFO, API, "endpoint %s/%s added (API), waiting for ICE", c->id, l->id);
	resp = json_pack("{s:b,s:s,s:s,s:s,s:s,s:s,s:i}", "ok", 1, "conference", c->id, "id",
			 l->id, "ufrag", ufrag, "pwd", pwd, "addr", ip, "port", m->media_port);
	OPENSSL_cleanse(pwd, sizeof(pwd));
	return resp;
}

static json_t *
op_ep_remove(struct mdd *m, const struct mdd_api_req *r)
{
	struct mdd_conf *c = mdd_conf_find(m, r->conf);
	struct mdd_leg *l = c != NULL ? mdd_leg_find(c, r->id) : NULL;
	char err[256];

	if (l == NULL) {
		snprintf(err, sizeof(err), "no endpoint %s in conference %s: see "
			 "{\"op\":\"list\"}", r->id, r->conf);
		return error_resp(err);
	}
	if (!l->ice) {
		snprintf(err, sizeof(err), "endpoint %s/%s comes from the provisioning file: "
			 "remove it there and send SIGHUP", r->conf, r->id);
		return error_resp(err);
	}
	mdd_ice_leg_remove(m, l, "API");
	return json_pack("{s:b,s:s,s:s}", "ok", 1, "conference", r->conf, "id", r->id);
}

static json_t *
leg_obj(const struct mdd *m, const struct mdd_leg *l)
{
	json_t *o = json_object();
	char ip[64], u[37];

	json_object_set_new(o, "id", json_string(l->id));
	json_object_set_new(o, "state", json_string(l->ice ? mdd_ice_state(l) : "provisioned"));
	json_object_set_new(o, "source", json_string(l->ice ? "api" : "file"));
	if (l->ice) {
		json_object_set_new(o, "ufrag", json_string(l->ufrag));
		json_object_set_new(o, "remote_ufrag", json_string(l->remote_ufrag));
		json_object_set_new(o, "nominated", json_boolean(l->nominated));
	}
	if (l->addr.family != 0 && (!l->ice || l->in_hash)) {
		json_t *t = json_object();

		inet_ntop(l->addr.family, l->addr.ip, ip, sizeof(ip));
		json_object_set_new(t, "protocol", json_string("udp"));
		json_object_set_new(t, "remote_ip", json_string(ip));
		json_object_set_new(t, "remote_port", json_integer(l->addr.port));
		inet_ntop(l->addr.family, l->base.src_ip, ip, sizeof(ip));
		json_object_set_new(t, "local_ip", json_string(ip));
		json_object_set_new(t, "local_port", json_integer(m->media_port));
		json_object_set_new(o, "five_tuple", t);
	} else {
		json_object_set_new(o, "five_tuple", json_null());
	}
	json_object_set_new(o, "association", l->has_uuid ? json_string(mdd_uuid_fmt(l->uuid, u))
							  : json_null());
	json_object_set_new(o, "keyed", json_boolean(l->rx != NULL));
	json_object_set_new(o, "packets_in",
			    json_integer((json_int_t)__atomic_load_n(&l->pkts_in, __ATOMIC_RELAXED)));
	json_object_set_new(o, "packets_out",
			    json_integer((json_int_t)__atomic_load_n(&l->pkts_out, __ATOMIC_RELAXED)));
	return o;
}

static json_t *
op_list(struct mdd *m)
{
	json_t *confs = json_array();

	for (unsigned i = 0; i < m->n_confs; i++) {
		const struct mdd_conf *c = m->confs[i];
		json_t *eps = json_array();

		for (uint32_t j = 0; j < c->n_legs; j++)
			if (c->legs[j] != NULL)
				json_array_append_new(eps, leg_obj(m, c->legs[j]));
		json_array_append_new(confs, json_pack("{s:s,s:s,s:o}", "id", c->id, "source",
						       c->api ? "api" : "file", "endpoints", eps));
	}
	return json_pack("{s:b,s:o}", "ok", 1, "conferences", confs);
}

void
mdd_cp_stats(json_t *root)
{
	json_t *ice = json_object();

	for (unsigned i = 0; i < MDD_CP__COUNT; i++)
		json_object_set_new(ice, mdd_cp_names[i], json_integer((json_int_t)g_cp.c[i]));
	json_object_set_new(root, "ice", ice);
	json_object_set_new(root, "tunnel", mdd_tun_stats());
}

static json_t *
op_stats(struct mdd *m)
{
	json_t *root = mdd_stats_obj(m);

	json_object_set_new(root, "ok", json_true());
	mdd_cp_stats(root);
	mdd_xdp_stats(root);  /* net_af_xdp ports: the XDP program's counters */
	return root;
}

static json_t *
handle(struct mdd *m, const char *line, size_t len)
{
	struct mdd_api_req r;
	char err[512];
	json_t *resp;

	g_cp.c[MDD_CP_api_requests]++;
	/* operations ops (lifecycle.c): drain, limits, log_level, metrics... */
	resp = mdd_ops_api(m, line, len);
	if (resp != NULL)
		return resp;
	/* capture ops (capture.c): capture_start, capture_stop, capture_list */
	resp = mdd_capture_api(m, line, len);
	if (resp != NULL)
		return resp;
	if (mdd_api_parse(line, len, &r, err, sizeof(err)) != 0)
		return error_resp(err);
	switch (r.op) {
	case MDD_API_CONF_CREATE:
		resp = op_conf_create(m, &r);
		break;
	case MDD_API_CONF_DELETE:
		resp = op_conf_delete(m, &r);
		break;
	case MDD_API_EP_ADD:
		resp = op_ep_add(m, &r);
		break;
	case MDD_API_EP_REMOVE:
		resp = op_ep_remove(m, &r);
		break;
	case MDD_API_LIST:
		resp = op_list(m);
		break;
	default:
		resp = op_stats(m);
		break;
	}
	OPENSSL_cleanse(&r, sizeof(r));
	return resp;
}

/* Read what the client sent; answer every whole line. */
static void
client_read(struct mdd *m, struct client *c)
{
	for (;;) {
		ssize_t n;
		char *nl;

		if (c->in == NULL && (c->in = malloc(MDD_API_MAX_LINE + 2)) == NULL) {
			c->closing = true;
			return;
		}
		n = read(c->fd, c->in + c->in_len, MDD_API_MAX_LINE + 1 - c->in_len);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			/* flush what is left, then close */
			c->closing = true;
			if (c->out_len == 0)
				client_close(c);
			return;
		}
		if (n < 0)
			return;
		c->in_len += (size_t)n;
		while ((nl = memchr(c->in, '\n', c->in_len)) != NULL) {
			size_t ll = (size_t)(nl - c->in), rest = c->in_len - ll - 1;
			size_t l2 = ll > 0 && c->in[ll - 1] == '\r' ? ll - 1 : ll;

			c->active_ms = mdd_now_ms();
			if (l2 > 0)
				reply(c, handle(m, c->in, l2));
			memmove(c->in, nl + 1, rest);
			c->in_len = rest;
		}
		if (c->in_len > MDD_API_MAX_LINE) {
			char err[160];

			snprintf(err, sizeof(err), "request longer than %u bytes without a newline: "
				 "send one JSON object per line; closing this connection",
				 MDD_API_MAX_LINE);
			g_cp.c[MDD_CP_api_requests]++;
			reply(c, error_resp(err));
			c->in_len = 0;
			c->closing = true;
			return;
		}
	}
}

static void
client_write(struct client *c)
{
	while (c->out_len > 0) {
		ssize_t n = send(c->fd, c->out, c->out_len, MSG_NOSIGNAL);

		if (n < 0) {
			if (errno == EAGAIN || errno == EINTR)
				return;
			client_close(c);
			return;
		}
		memmove(c->out, c->out + n, c->out_len - (size_t)n);
		c->out_len -= (size_t)n;
	}
	if (c->closing)
		client_close(c);
}

void
mdd_api_poll(struct mdd *m)
{
	struct pollfd pf[API_CLIENTS + 1];
	int n = 0, map[API_CLIENTS + 1];

	if (listen_fd < 0)
		return;
	pf[n].fd = listen_fd;
	pf[n].events = POLLIN;
	map[n++] = -1;
	for (int i = 0; i < API_CLIENTS; i++) {
		if (clients[i].fd >= 0 && ((clients[i].closing && clients[i].out_len == 0) ||
					   mdd_now_ms() - clients[i].active_ms > API_IDLE_MS))
			client_close(&clients[i]); /* nothing left to say, or idle */
		if (clients[i].fd >= 0) {
			pf[n].fd = clients[i].fd;
			pf[n].events = (short)((clients[i].closing ? 0 : POLLIN) |
					       (clients[i].out_len ? POLLOUT : 0));
			map[n++] = i;
		}
	}
	if (poll(pf, (nfds_t)n, 0) <= 0)
		return;
	for (int k = 1; k < n; k++) {
		struct client *c = &clients[map[k]];

		if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
			if (!c->closing)
				client_read(m, c);
		if (c->fd >= 0)
			client_write(c);
	}
	if (pf[0].revents & POLLIN) {
		int fd;

		while ((fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
			int i;

			for (i = 0; i < API_CLIENTS && clients[i].fd >= 0; i++)
				;
			if (i == API_CLIENTS) {
				static const char busy[] = "{\"ok\":false,\"error\":\"too many API "
							   "clients (16): close one and retry\"}\n";

				if (send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
					(void)0;
				close(fd);
				continue;
			}
			clients[i].fd = fd;
			clients[i].active_ms = mdd_now_ms();
		}
	}
}

void
mdd_api_fini(void)
{
	for (int i = 0; i < API_CLIENTS; i++)
		if (clients[i].fd >= 0)
			client_close(&clients[i]);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(listen_path);
	}
	listen_fd = -1;
}

static bool
udp_hook(struct mdd *m, struct rte_mbuf *mb, const struct pkt_info *pi, int demux)
{
	return mdd_ice_udp(m, mb, pi, demux);
}

int
mdd_cp_init(struct mdd *m, const struct mdd_cp_opts *o, char *err, size_t errlen)
{
	g_cp.o = *o;
	/* a peer that goes away must not kill the MDD */
	signal(SIGPIPE, SIG_IGN);
	if (mdd_ice_init(o->max_endpoints, err, errlen) != 0)
		return -1;
	if (o->api_path != NULL && mdd_api_init(o->api_path, err, errlen) != 0) {
		mdd_ice_fini();
		return -1;
	}
	if (mdd_tun_init(o, err, errlen) != 0) {
		mdd_api_fini();
		mdd_ice_fini();
		return -1;
	}
	m->udp_hook = udp_hook;
	return 0;
}

void
mdd_cp_poll(struct mdd *m)
{
	mdd_api_poll(m);
	mdd_tun_poll(m);
	mdd_ice_tick(m);
}

void
mdd_cp_fini(struct mdd *m)
{
	m->udp_hook = NULL;
	mdd_api_fini();
	mdd_tun_fini();
	mdd_ice_fini();
}
