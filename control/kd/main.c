/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-kd: the PERC Key Distributor. Options, the token and fingerprint
 * helpers, the roster API socket and the event loop (one thread, epoll).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "net.h"
#include "perc/sdnotify.h"
/* the configuration file reader perc-mdd uses (docs/configuration.md) */
#include "../../dataplane/mdd/config.h"

#define API_LINE_MAX 65536u
#define MAX_ISSUER_KEYS 16

static volatile sig_atomic_t stop_flag;

static void
on_signal(int sig)
{
	(void)sig;
	stop_flag = 1;
}

static void
usage(FILE *f)
{
	fputs(
"usage: perc-kd [options]            run the Key Distributor (foreground)\n"
"       perc-kd --config FILE [--check-config] [options]\n"
"       perc-kd token --issuer-key PRIVATE.pem --iss ISS --aud AUD --sub PARTICIPANT\n"
"                     --conf CONFERENCE --cert ENDPOINT_CERT.pem [--ttl S] [--client-id ID]\n"
"       perc-kd fingerprint --cert FILE\n"
"\n"
"daemon options:\n"
"  --listen ADDR:PORT       TLS 1.3 listener for MDD tunnels (default 127.0.0.1:4443)\n"
"  --cert FILE --key FILE   KD certificate and key (PEM), for TLS and DTLS\n"
"  --mdd-ca FILE            PEM bundle trusted for MDD client certificates (required)\n"
"  --api PATH               roster API Unix socket (default /run/perc-kd.sock)\n"
"  --issuer-key FILE        PEM P-256 public key of the token issuer (repeatable)\n"
"  --issuer ISS             expected token iss\n"
"  --audience AUD           expected token aud\n"
"  --keepalive-timeout MS   a member silent this long is removed (default 3000)\n"
"  --ekt-ttl S              TTL sent in EKT_KEY (default 86400)\n"
"  --events FILE            append one JSON line per event\n"
"  --help                   this text\n"
"  --config FILE            the options from an INI file (first on the line):\n"
"                           [kd] cert key keepalive-timeout ekt-ttl events,\n"
"                           [tunnel] listen mdd-ca, [api] api, [tokens]\n"
"                           issuer-key (a list) issuer audience; options on\n"
"                           the command line replace the file's. A bad file\n"
"                           exits 78 with FILE:LINE (docs/configuration.md)\n"
"  --check-config           with --config: check it, print the settings, exit\n"
"SIGTERM / SIGINT: clean exit, keys zeroized. docs/kd.md has the roster API.\n", f);
}

/* ---- token / fingerprint ---- */

static int
load_cert_der(const char *path, uint8_t **der)
{
	FILE *f = fopen(path, "r");
	X509 *x;
	int len;

	if (f == NULL) {
		fprintf(stderr, "perc-kd: cannot open certificate %s: %s\n", path, strerror(errno));
		return -1;
	}
	x = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	if (x == NULL) {
		fprintf(stderr, "perc-kd: %s holds no PEM certificate\n", path);
		return -1;
	}
	*der = NULL;
	len = i2d_X509(x, der);
	X509_free(x);
	return len;
}

static int
cmd_fingerprint(int argc, char **argv)
{
	static const struct option o[] = {
		{ "cert", required_argument, NULL, 'c' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 } };
	const char *cert = NULL;
	uint8_t *der, fp[32];
	char out[120];
	int c, len;

	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		if (c == 'c')
			cert = optarg;
		else {
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (cert == NULL) {
		fprintf(stderr, "perc-kd fingerprint: --cert FILE is required\n");
		return 2;
	}
	len = load_cert_der(cert, &der);
	if (len <= 0 || perc_jwt_cert_thumbprint(der, (size_t)len, fp) != 0)
		return 1;
	OPENSSL_free(der);
	kd_fp_format(fp, out, sizeof(out));
	printf("%s\n", out);
	return 0;
}

static int
cmd_token(int argc, char **argv)
{
	static const struct option o[] = {
		{ "issuer-key", required_argument, NULL, 'k' }, { "iss", required_argument, NULL, 'i' },
		{ "aud", required_argument, NULL, 'a' }, { "sub", required_argument, NULL, 's' },
		{ "conf", required_argument, NULL, 'C' }, { "cert", required_argument, NULL, 'c' },
		{ "ttl", required_argument, NULL, 't' }, { "client-id", required_argument, NULL, 'I' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	struct perc_jwt_claims cl;
	const char *keyf = NULL, *certf = NULL;
	char tok[PERC_JWT_MAX_TOKEN + 1], jti[33];
	uint8_t *der, rnd[16];
	long ttl = 3600, n;
	EVP_PKEY *key;
	FILE *f;
	int c, len, i;

	memset(&cl, 0, sizeof(cl));
	while ((c = getopt_long(argc, argv, "", o, NULL)) != -1) {
		switch (c) {
		case 'k': keyf = optarg; break;
		case 'i': cl.iss = optarg; break;
		case 'a': cl.aud = optarg; break;
		case 's': cl.sub = optarg; break;
		case 'C': cl.conf = optarg; break;
		case 'c': certf = optarg; break;
		case 't': ttl = strtol(optarg, NULL, 10); break;
		case 'I': cl.client_id = optarg; break;
		default:
			usage(c == 'h' ? stdout : stderr);
			return c == 'h' ? 0 : 2;
		}
	}
	if (keyf == NULL || certf == NULL || cl.iss == NULL || cl.aud == NULL || cl.sub == NULL ||
	    cl.conf == NULL || ttl <= 0) {
		fprintf(stderr, "perc-kd token: --issuer-key, --iss, --aud, --sub, --conf and --cert "
			"are required (--ttl > 0)\n");
		return 2;
	}
	if (cl.client_id == NULL)
		cl.client_id = cl.sub;
	f = fopen(keyf, "r");
	key = f != NULL ? PEM_read_PrivateKey(f, NULL, NULL, NULL) : NULL;
	if (f != NULL)
		fclose(f);
	if (key == NULL) {
		fprintf(stderr, "perc-kd token: cannot read a PEM private key from %s\n", keyf);
		return 1;
	}
	len = load_cert_der(certf, &der);
	if (len <= 0 || perc_jwt_cert_thumbprint(der, (size_t)len, cl.x5t_s256) != 0) {
		EVP_PKEY_free(key);
		return 1;
	}
	OPENSSL_free(der);
	if (RAND_bytes(rnd, sizeof(rnd)) != 1)
		return 1;
	for (i = 0; i < 16; i++)
		snprintf(jti + 2 * i, 3, "%02x", rnd[i]);
	cl.jti = jti;
	cl.iat = (int64_t)time(NULL);
	cl.exp = cl.iat + ttl;
	n = perc_jwt_sign(key, &cl, tok, sizeof(tok));
	EVP_PKEY_free(key);
	if (n < 0) {
		fprintf(stderr, "perc-kd token: signing failed: the issuer key must be a P-256 "
			"private key\n");
		return 1;
	}
	printf("%s\n", tok);
	return 0;
}

/* ---- roster API socket ---- */

struct api_client {
	struct kd_fd f;
	char *buf;
	size_t len;
	bool discard;                 /* inside an overlong line */
	struct api_client *next;
};

static struct api_client *api_clients;
static struct kd_fd api_listen;

static int
api_open(int epfd, const char *path)
{
	struct sockaddr_un sa;
	struct epoll_event ev;
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path)) {
		kd_log("--api %s: path longer than %zu bytes; use a shorter one", path,
		       sizeof(sa.sun_path) - 1);
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	strcpy(sa.sun_path, path);
	unlink(path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 16) != 0) {
		kd_log("cannot open the roster API socket %s: %s; check the directory exists "
		       "and is writable, or pick another with --api", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	/* only the owner (call processing runs as the same user) */
	chmod(path, 0600);
	api_listen.kind = KD_FD_API_LISTEN;
	api_listen.fd = fd;
	ev.events = EPOLLIN;
	ev.data.ptr = &api_listen;
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
	kd_log("roster API on %s", path);
	return 0;
}

static void
api_accept(int epfd)
{
	struct epoll_event ev;
	struct api_client *c;
	int fd;

	while ((fd = accept4(api_listen.fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		c = calloc(1, sizeof(*c));
		if (c == NULL || (c->buf = malloc(API_LINE_MAX)) == NULL) {
			free(c);
			close(fd);
			continue;
		}
		c->f.kind = KD_FD_API_CLIENT;
		c->f.fd = fd;
		ev.events = EPOLLIN;
		ev.data.ptr = &c->f;
		epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
		c->next = api_clients;
		api_clients = c;
	}
}

static void
api_close(int epfd, struct api_client *c)
{
	struct api_client **pp;

	for (pp = &api_clients; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	epoll_ctl(epfd, EPOLL_CTL_DEL, c->f.fd, NULL);
	close(c->f.fd);
	free(c->buf);
	free(c);
}

/* Responses are short; a client that does not read them is cut off. */
static int
api_reply(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;
	ssize_t w;
	int tries = 0;

	while (off < len) {
		w = send(fd, s + off, len - off, MSG_NOSIGNAL);
		if (w > 0) {
			off += (size_t)w;
			continue;
		}
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK) && ++tries < 100) {
			usleep(1000);
			continue;
		}
		return -1;
	}
	return send(fd, "\n", 1, MSG_NOSIGNAL) == 1 ? 0 : -1;
}

static void
api_event(int epfd, struct kd *kd, struct kd_net *net, struct api_client *c)
{
	ssize_t r;
	char *nl, *resp;
	size_t line;

	for (;;) {
		r = recv(c->f.fd, c->buf + c->len, API_LINE_MAX - c->len, 0);
		if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)) {
			api_close(epfd, c);
			return;
		}
		if (r < 0)
			return;
		c->len += (size_t)r;
		if (c->discard) {
			/* the rest of an overlong line */
			nl = memchr(c->buf, '\n', c->len);
			if (nl == NULL) {
				c->len = 0;
				continue;
			}
			c->discard = false;
			line = (size_t)(nl - c->buf);
			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
		}
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			line = (size_t)(nl - c->buf);
			resp = kd_api_handle(kd, c->buf, line);
			kd_net_reap(net);   /* a revoke may have closed an association */
			if (api_reply(c->f.fd, resp) != 0) {
				free(resp);
				api_close(epfd, c);
				return;
			}
			free(resp);
			memmove(c->buf, nl + 1, c->len - line - 1);
			c->len -= line + 1;
		}
		if (c->len == API_LINE_MAX) {
			kd->stats.drops[KD_D_API_MALFORMED]++;
			kd_log("api: request line longer than %u bytes: refused", API_LINE_MAX);
			if (api_reply(c->f.fd, "{\"ok\":false,\"error\":\"request line longer than 65536 "
				      "bytes: refused; send one JSON object per line\"}") != 0) {
				api_close(epfd, c);
				return;
			}
			/* skip to the end of that line, keep the connection */
			c->discard = true;
			c->len = 0;
		}
	}
}

/* ---- daemon ---- */

struct opts {
	const char *listen, *cert, *key, *mdd_ca, *api, *iss, *aud, *events;
	const char *issuer_keys[MAX_ISSUER_KEYS];
	size_t n_issuer_keys;
	long keepalive_ms, ekt_ttl;
};

/* partial: one option of a configuration file, without the checks of the whole */
static int
parse_opts(int argc, char **argv, struct opts *o, bool partial)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' }, { "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' }, { "mdd-ca", required_argument, NULL, 'm' },
		{ "api", required_argument, NULL, 'a' }, { "issuer-key", required_argument, NULL, 'K' },
		{ "issuer", required_argument, NULL, 'i' }, { "audience", required_argument, NULL, 'A' },
		{ "keepalive-timeout", required_argument, NULL, 'T' },
		{ "ekt-ttl", required_argument, NULL, 't' }, { "events", required_argument, NULL, 'e' },
		{ "help", no_argument, NULL, 'h' }, { NULL, 0, NULL, 0 } };
	char *end;
	int c;

	memset(o, 0, sizeof(*o));
	o->listen = "127.0.0.1:4443";
	o->api = "/run/perc-kd.sock";
	o->keepalive_ms = 3000;
	o->ekt_ttl = 86400;
	optind = 1;  /* parsed again for every key of a configuration file */
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'l': o->listen = optarg; break;
		case 'c': o->cert = optarg; break;
		case 'k': o->key = optarg; break;
		case 'm': o->mdd_ca = optarg; break;
		case 'a': o->api = optarg; break;
		case 'i': o->iss = optarg; break;
		case 'A': o->aud = optarg; break;
		case 'e': o->events = optarg; break;
		case 'K':
			if (o->n_issuer_keys == MAX_ISSUER_KEYS) {
				fprintf(stderr, "perc-kd: at most %d --issuer-key\n", MAX_ISSUER_KEYS);
				return 2;
			}
			o->issuer_keys[o->n_issuer_keys++] = optarg;
			break;
		case 'T':
			o->keepalive_ms = strtol(optarg, &end, 10);
			if (*end != '\0' || o->keepalive_ms < 100 || o->keepalive_ms > 3600000) {
				fprintf(stderr, "perc-kd: --keepalive-timeout %s: give 100..3600000 ms\n", optarg);
				return 2;
			}
			break;
		case 't':
			o->ekt_ttl = strtol(optarg, &end, 10);
			if (*end != '\0' || o->ekt_ttl < 1 || o->ekt_ttl > 0xffffff) {
				fprintf(stderr, "perc-kd: --ekt-ttl %s: give 1..16777215 s (24 bits)\n", optarg);
				return 2;
			}
			break;
		case 'h':
			usage(stdout);
			return 1;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "perc-kd: unexpected argument %s; see --help\n", argv[optind]);
		return 2;
	}
	if (partial)
		return 0;
	if (o->cert == NULL || o->key == NULL || o->mdd_ca == NULL || o->n_issuer_keys == 0 ||
	    o->iss == NULL || o->aud == NULL) {
		fprintf(stderr, "perc-kd: --cert, --key, --mdd-ca, --issuer-key, --issuer and "
			"--audience are required; see --help\n");
		return 2;
	}
	return 0;
}

static int
load_issuer_keys(const struct opts *o, struct kd_net *n)
{
	size_t i;
	FILE *f;
	EVP_PKEY *k;
	char curve[32];
	size_t cl;

	n->issuer_keys = calloc(o->n_issuer_keys, sizeof(*n->issuer_keys));
	if (n->issuer_keys == NULL)
		return -1;
	for (i = 0; i < o->n_issuer_keys; i++) {
		f = fopen(o->issuer_keys[i], "r");
		k = f != NULL ? PEM_read_PUBKEY(f, NULL, NULL, NULL) : NULL;
		if (f != NULL)
			fclose(f);
		if (k == NULL || EVP_PKEY_get_utf8_string_param(k, "group", curve, sizeof(curve),
								&cl) != 1 ||
		    strcmp(curve, "prime256v1") != 0) {
			kd_log("--issuer-key %s: not a PEM P-256 public key; export it with "
			       "openssl pkey -pubout", o->issuer_keys[i]);
			EVP_PKEY_free(k);
			return -1;
		}
		n->issuer_keys[n->n_issuer_keys++] = k;
	}
	return 0;
}

static void
run_loop(struct kd *kd, struct kd_net *net)
{
	struct epoll_event evs[64];
	struct kd_fd *f;
	int i, nev;
	time_t last_wd = 0;

	while (!stop_flag) {
		nev = epoll_wait(net->epfd, evs, 64, 50);
		for (i = 0; i < nev; i++) {
			f = evs[i].data.ptr;
			switch (f->kind) {
			case KD_FD_LISTEN:
				kd_net_accept(net);
				break;
			case KD_FD_TUNNEL:
				kd_tunnel_event(net, (struct kd_tunnel *)f, evs[i].events);
				break;
			case KD_FD_API_LISTEN:
				api_accept(net->epfd);
				break;
			case KD_FD_API_CLIENT:
				api_event(net->epfd, kd, net, (struct api_client *)f);
				break;
			}
		}
		kd_assoc_timers(net);
		kd_net_reap(net);
		/* systemd (docs/operations.md): the loop is alive */
		if (time(NULL) != last_wd) {
			last_wd = time(NULL);
			perc_sd_notify("WATCHDOG=1");
		}
	}
}

/* ---- --config FILE ---- */

static const struct mdd_config_key kd_keys[] = {
	{ "kd", "cert", MDD_CONFIG_VAL, "(none; required)" },
	{ "kd", "key", MDD_CONFIG_VAL, "(none; required)" },
	{ "kd", "keepalive-timeout", MDD_CONFIG_VAL, "3000" },
	{ "kd", "ekt-ttl", MDD_CONFIG_VAL, "86400" },
	{ "kd", "events", MDD_CONFIG_VAL, "(none)" },
	{ "tunnel", "listen", MDD_CONFIG_VAL, "127.0.0.1:4443" },
	{ "tunnel", "mdd-ca", MDD_CONFIG_VAL, "(none; required)" },
	{ "api", "api", MDD_CONFIG_VAL, "/run/perc-kd.sock" },
	{ "tokens", "issuer-key", MDD_CONFIG_LIST, "(none; required)" },
	{ "tokens", "issuer", MDD_CONFIG_VAL, "(none; required)" },
	{ "tokens", "audience", MDD_CONFIG_VAL, "(none; required)" },
};
static const char *const kd_sections[] = { "kd", "tunnel", "api", "tokens", NULL };
static const struct mdd_config_schema kd_schema = {
	.prog = "perc-kd", .keys = kd_keys, .n_keys = sizeof(kd_keys) / sizeof(kd_keys[0]),
	.sections = kd_sections, .eal = false,
};

/* one value of the file: the command line's parser, files that must be there,
 * the listener's address as kd_net_listen takes it */
static int
check_opt(const char *opt, const char *val, char *err, size_t errlen)
{
	char *av[4] = { (char *)(uintptr_t)"perc-kd", (char *)(uintptr_t)opt,
			(char *)(uintptr_t)val, NULL };
	struct opts o;
	struct in_addr a;
	char host[64];
	const char *colon;
	FILE *f;

	if (strcmp(opt, "--cert") == 0 || strcmp(opt, "--key") == 0 ||
	    strcmp(opt, "--mdd-ca") == 0 || strcmp(opt, "--issuer-key") == 0) {
		f = fopen(val, "r");
		if (f == NULL) {
			snprintf(err, errlen, "%s %s: %s (give a readable file)", opt, val,
				 strerror(errno));
			return -1;
		}
		fclose(f);
		return 0;
	}
	if (strcmp(opt, "--listen") == 0) {
		colon = strrchr(val, ':');
		if (colon == NULL || (size_t)(colon - val) >= sizeof(host) || colon[1] == 0 ||
		    strspn(colon + 1, "0123456789") != strlen(colon + 1) || atol(colon + 1) > 65535)
			goto bad_listen;
		snprintf(host, sizeof(host), "%.*s", (int)(colon - val), val);
		if (inet_pton(AF_INET, host, &a) != 1)
			goto bad_listen;
		return 0;
	}
	if (strcmp(opt, "--api") == 0 &&
	    strlen(val) >= sizeof(((struct sockaddr_un *)NULL)->sun_path)) {
		snprintf(err, errlen, "--api %s: a Unix socket path is at most %zu bytes", val,
			 sizeof(((struct sockaddr_un *)NULL)->sun_path) - 1);
		return -1;
	}
	/* parse_opts says what is wrong on stderr */
	if (parse_opts(3, av, &o, true) != 0) {
		snprintf(err, errlen, "%s '%s' refused (the reason is above)", opt, val);
		return -1;
	}
	return 0;
bad_listen:
	snprintf(err, errlen, "--listen '%s' is not IPv4:PORT (e.g. 127.0.0.1:4443)", val);
	return -1;
}

/*
 * "perc-kd --config FILE [--check-config] [options]": the file and the rest
 * of the command line into cfg. Returns -1 to go on with cfg's vector, or
 * the exit status.
 */
static int
config_argv(int argc, char **argv, struct mdd_config *cfg)
{
	char err[512];
	bool check = false;
	struct opts o;
	int n = 3, rc;

	if (argc < 3) {
		fprintf(stderr, "perc-kd: --config needs a FILE (docs/configuration.md)\n");
		return 2;
	}
	for (int i = 3; i < argc; i++)
		if (strcmp(argv[i], "--check-config") == 0)
			check = true;
		else
			argv[n++] = argv[i];
	argv[n] = NULL;
	if (mdd_config_load_schema(&kd_schema, argv[2], argv[0], n - 3, argv + 3, check_opt, cfg,
				   err, sizeof(err)) != 0) {
		fprintf(stderr, "perc-kd: %s\n", err);
		return MDD_EX_CONFIG;
	}
	if (!check)
		return -1;
	rc = parse_opts(cfg->argc, cfg->argv, &o, false);
	if (rc != 0) {
		fprintf(stderr, "perc-kd: %s: not valid (exit %d)\n", argv[2], MDD_EX_CONFIG);
		return MDD_EX_CONFIG;
	}
	printf("perc-kd: %s is valid; the effective settings:\n", argv[2]);
	mdd_config_summary(cfg, stdout);
	return 0;
}

static int
daemon_main(int argc, char **argv)
{
	struct kd_net net;
	struct kd kd;
	struct opts o;
	struct sigaction sa;
	struct rlimit rl = { 0, 0 };
	struct mdd_config cfg = { 0 };
	int rc;
	size_t i;

	if (argc >= 2 && strcmp(argv[1], "--config") == 0) {
		rc = config_argv(argc, argv, &cfg);
		if (rc >= 0) {
			mdd_config_free(&cfg);
			return rc;
		}
		argc = cfg.argc;
		argv = cfg.argv;
	}
	rc = parse_opts(argc, argv, &o, false);
	if (rc != 0) {
		mdd_config_free(&cfg);
		return rc == 1 ? 0 : rc;
	}
	/* no core files: keys are in memory (the arena is also MADV_DONTDUMP) */
	setrlimit(RLIMIT_CORE, &rl);
	/* OpenSSL's own secrets (private keys) in its locked, undumped heap */
	if (CRYPTO_secure_malloc_init(1 << 17, 32) != 1)
		kd_log("warning: OpenSSL secure heap unavailable; its private keys use the normal heap");
	memset(&net, 0, sizeof(net));
	if (kd_init(&kd, (uint32_t)o.ekt_ttl) != 0)
		return 1;
	net.kd = &kd;
	net.iss = o.iss;
	net.aud = o.aud;
	net.keepalive_ms = (uint32_t)o.keepalive_ms;
	kd_assoc_ops(&net, &kd.ops);
	if (o.events != NULL && (kd.events = fopen(o.events, "a")) == NULL) {
		kd_log("cannot open --events %s: %s", o.events, strerror(errno));
		return 1;
	}
	net.epfd = epoll_create1(EPOLL_CLOEXEC);
	rc = 1;
	if (net.epfd < 0 || load_issuer_keys(&o, &net) != 0 ||
	    kd_net_ctx_init(&net, o.cert, o.key, o.mdd_ca) != 0 ||
	    kd_net_listen(&net, o.listen) != 0 || api_open(net.epfd, o.api) != 0)
		goto out;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	kd_log("ready: issuer %s, audience %s, %zu issuer key(s), keepalive %ld ms, EKT TTL %ld s",
	       o.iss, o.aud, net.n_issuer_keys, o.keepalive_ms, o.ekt_ttl);
	kd_event(&kd, "start", NULL, NULL, -1, NULL, -1, NULL);
	perc_sd_notifyf("READY=1\nSTATUS=listening on %s", o.listen); /* systemd */
	run_loop(&kd, &net);
	perc_sd_notify("STOPPING=1"); /* systemd */
	kd_log("signal received: closing tunnels and erasing keys");
	rc = 0;
out:
	kd.stopping = true;   /* no leave rekeys while everything closes */
	kd_net_fini(&net);
	while (api_clients != NULL)
		api_close(net.epfd, api_clients);
	if (api_listen.fd > 0) {
		close(api_listen.fd);
		unlink(o.api);
	}
	for (i = 0; i < net.n_issuer_keys; i++)
		EVP_PKEY_free(net.issuer_keys[i]);
	free(net.issuer_keys);
	kd_event(&kd, "stop", NULL, NULL, -1, NULL, -1, NULL);
	kd_fini(&kd);        /* conferences erased, arena zeroized and unmapped */
	if (kd.events != NULL)
		fclose(kd.events);
	if (net.epfd >= 0)
		close(net.epfd);
	CRYPTO_secure_malloc_done();
	kd_log(rc == 0 ? "stopped" : "not started: see the line above");
	mdd_config_free(&cfg);
	return rc;
}

int
main(int argc, char **argv)
{
	if (argc > 1 && strcmp(argv[1], "token") == 0)
		return cmd_token(argc - 1, argv + 1);
	if (argc > 1 && strcmp(argv[1], "fingerprint") == 0)
		return cmd_fingerprint(argc - 1, argv + 1);
	return daemon_main(argc, argv);
}
