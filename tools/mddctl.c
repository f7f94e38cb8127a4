/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * mddctl: perc-mdd's conference API from the command line. Sends one JSON
 * request line to the daemon's --api socket, prints the response (pretty)
 * and exits 0 on "ok":true, 1 on "ok":false (the error on stderr), 2 on
 * bad usage, 69 (EX_UNAVAILABLE) when the socket cannot be reached.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "mddctl_ops.h"

#define DEFAULT_SOCKET "/run/perc-mdd.sock"
#define EX_USAGE_ 2
#define EX_UNAVAILABLE_ 69
#define MAX_RESPONSE (64u << 20)

static const char usage_text[] =
	"usage: mddctl [--socket PATH] COMMAND\n"
	"\n"
	"Talks to perc-mdd's conference API (perc-mdd ... -- --api PATH).\n"
	"\n"
	"commands:\n"
	"  conference create ID [--max-endpoints N]   (default 32, at most 1024)\n"
	"  conference delete ID          (its endpoints go, the KD hears EndpointDisconnect)\n"
	"  endpoint add CONF ID --remote-ufrag U [--ufrag X --pwd Y]\n"
	"                                prints the MDD's ICE ufrag / pwd, address and port\n"
	"  endpoint remove CONF ID\n"
	"  list                          conferences, endpoints, state, 5-tuple, counts\n"
	"  stats                         counters, ICE and tunnel state\n"
	"  raw JSON                      send JSON as it is (one line)\n"
	"operator verbs (docs/operations.md):\n"
	"%s"
	"\n"
	"options:\n"
	"  -s, --socket PATH   the API socket (default " DEFAULT_SOCKET ")\n"
	"  -h, --help          this text\n"
	"\n"
	"exit status: 0 ok, 1 the daemon refused (its reason on stderr), 2 bad usage,\n"
	"69 the socket cannot be reached.\n";

static int
usage_error(const char *msg)
{
	fprintf(stderr, "mddctl: %s (see mddctl --help)\n", msg);
	return EX_USAGE_;
}

/* Build the request for argv (after the options); NULL on bad usage. */
static json_t *
build(int argc, char **argv, const char **why)
{
	const char *remote = NULL, *ufrag = NULL, *pwd = NULL;
	json_t *o;
	int mine;

	*why = "no command";
	if (argc < 1)
		return NULL;
	/* operator verbs (mddctl_ops.c) */
	o = mddctl_ops_build(argc, argv, why, &mine);
	if (mine)
		return o;
	if (strcmp(argv[0], "list") == 0 && argc == 1)
		return json_pack("{s:s}", "op", "list");
	if (strcmp(argv[0], "stats") == 0 && argc == 1)
		return json_pack("{s:s}", "op", "stats");
	if (strcmp(argv[0], "raw") == 0) {
		*why = "raw takes one JSON argument";
		return NULL; /* handled by the caller */
	}
	if (strcmp(argv[0], "conference") == 0) {
		*why = "conference create ID [--max-endpoints N] | conference delete ID";
		if (argc == 5 && strcmp(argv[1], "create") == 0 &&
		    strcmp(argv[3], "--max-endpoints") == 0) {
			char *end;
			long n = strtol(argv[4], &end, 10);

			if (*end != '\0' || end == argv[4] || n < 0 || n > 1 << 20)
				return NULL;
			return json_pack("{s:s,s:s,s:i}", "op", "conference_create", "id", argv[2],
					 "max_endpoints", (int)n);
		}
		if (argc != 3)
			return NULL;
		if (strcmp(argv[1], "create") == 0)
			return json_pack("{s:s,s:s}", "op", "conference_create", "id", argv[2]);
		if (strcmp(argv[1], "delete") == 0)
			return json_pack("{s:s,s:s}", "op", "conference_delete", "id", argv[2]);
		return NULL;
	}
	if (strcmp(argv[0], "endpoint") == 0) {
		*why = "endpoint add CONF ID --remote-ufrag U [--ufrag X --pwd Y] | "
		       "endpoint remove CONF ID";
		if (argc == 4 && strcmp(argv[1], "remove") == 0)
			return json_pack("{s:s,s:s,s:s}", "op", "endpoint_remove", "conference",
					 argv[2], "id", argv[3]);
		if (argc < 4 || strcmp(argv[1], "add") != 0)
			return NULL;
		for (int i = 4; i < argc; i += 2) {
			if (i + 1 >= argc)
				return NULL;
			if (strcmp(argv[i], "--remote-ufrag") == 0)
				remote = argv[i + 1];
			else if (strcmp(argv[i], "--ufrag") == 0)
				ufrag = argv[i + 1];
			else if (strcmp(argv[i], "--pwd") == 0)
				pwd = argv[i + 1];
			else
				return NULL;
		}
		if (remote == NULL) {
			*why = "endpoint add needs --remote-ufrag U (the endpoint's a=ice-ufrag)";
			return NULL;
		}
		if ((ufrag == NULL) != (pwd == NULL)) {
			*why = "give --ufrag and --pwd together, or neither";
			return NULL;
		}
		o = json_pack("{s:s,s:s,s:s,s:s}", "op", "endpoint_add", "conference", argv[2], "id",
			      argv[3], "remote_ufrag", remote);
		if (ufrag != NULL) {
			json_object_set_new(o, "ufrag", json_string(ufrag));
			json_object_set_new(o, "pwd", json_string(pwd));
		}
		return o;
	}
	*why = "unknown command";
	return NULL;
}

static int
write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *path = DEFAULT_SOCKET, *why = "";
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *req, *resp = NULL;
	size_t len = 0, cap = 0;
	json_t *o, *r, *ok;
	json_error_t je;
	int c, fd, rc;

	/* --socket may follow the command too: take it out of the way of the
	 * command's own words (endpoint add has options of its own) */
	for (int i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "--socket") == 0 && i > 1 && argv[i - 1][0] != '-') {
			path = argv[i + 1];
			memmove(argv + i, argv + i + 2, (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			argv[argc] = NULL;
			i--;
		}
	while ((c = getopt_long(argc, argv, "+s:h", lo, NULL)) != -1) {
		switch (c) {
		case 's':
			path = optarg;
			break;
		case 'h':
			printf(usage_text, mddctl_ops_usage);
			return 0;
		default:
			return usage_error("unknown option");
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && strcmp(argv[0], "raw") == 0) {
		if (argc != 2)
			return usage_error("raw takes one JSON argument");
		req = strdup(argv[1]);
		if (req == NULL || strchr(req, '\n') != NULL)
			return usage_error("raw JSON must be one line");
	} else {
		o = build(argc, argv, &why);
		if (o == NULL)
			return usage_error(why);
		req = json_dumps(o, JSON_COMPACT);
		json_decref(o);
		if (req == NULL)
			return usage_error("cannot encode the request");
	}
	if (strlen(path) >= sizeof(sa.sun_path))
		return usage_error("--socket path too long");
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		fprintf(stderr, "mddctl: cannot reach %s: %s (is perc-mdd running with --api %s?)\n",
			path, strerror(errno), path);
		free(req);
		return EX_UNAVAILABLE_;
	}
	/* a refused huge request is answered before the rest is read: go on
	 * to read the answer even when the write fails */
	if (write_all(fd, req, strlen(req)) == 0)
		(void)write_all(fd, "\n", 1);
	shutdown(fd, SHUT_WR);
	free(req);
	for (;;) {
		ssize_t n;

		if (len + 4096 + 1 > cap) {
			char *p;

			cap = cap ? cap * 2 : 65536;
			if (cap > MAX_RESPONSE || (p = realloc(resp, cap)) == NULL) {
				fprintf(stderr, "mddctl: response larger than %u bytes\n", MAX_RESPONSE);
				return 1;
			}
			resp = p;
		}
		n = read(fd, resp + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (memchr(resp + len - n, '\n', (size_t)n) != NULL)
			break;
	}
	close(fd);
	if (len == 0) {
		fprintf(stderr, "mddctl: %s closed without an answer (perc-mdd stopping?)\n", path);
		free(resp);
		return EX_UNAVAILABLE_;
	}
	r = json_loadb(resp, len, JSON_DISABLE_EOF_CHECK, &je);
	free(resp);
	if (r == NULL) {
		fprintf(stderr, "mddctl: the answer is not JSON: %s\n", je.text);
		return 1;
	}
	json_dumpf(r, stdout, JSON_INDENT(2) | JSON_SORT_KEYS);
	fputc('\n', stdout);
	ok = json_object_get(r, "ok");
	rc = json_is_true(ok) ? 0 : 1;
	if (rc != 0)
		fprintf(stderr, "mddctl: %s\n",
			json_string_value(json_object_get(r, "error")) ?
				json_string_value(json_object_get(r, "error")) : "refused");
	json_decref(r);
	return rc;
}
