/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `perc-mdd --config FILE`: everything from one INI file (docs/configuration.md).
 * Sections: [eal] (args = the EAL command line), [dataplane], [control], [kd],
 * [metrics] (the application's long options under their names without the
 * dashes: "addr = 192.0.2.1", a flag takes true or false) and [logging]
 * (log-level and syslog, which are EAL options). The file becomes the
 * vector `perc-mdd EAL-ARGS -- OPTIONS`, so the file and the command line go
 * through the same parser; options after "--" on the command line replace
 * the file's key of the same name.
 */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

#define K_ARGS MDD_CONFIG_ARGS
#define K_VAL MDD_CONFIG_VAL
#define K_LIST MDD_CONFIG_LIST
#define K_FLAG MDD_CONFIG_FLAG
#define K_LOGLEVEL MDD_CONFIG_LOGLEVEL
#define K_SYSLOG MDD_CONFIG_SYSLOG

static const struct mdd_config_key mdd_keys[] = {
	{ "eal", "args", K_ARGS, "(none)" },
	{ "dataplane", "addr", K_LIST, "(none; required)" },
	{ "dataplane", "port", K_VAL, "3478" },
	{ "dataplane", "provision", K_VAL, "(none)" },
	{ "dataplane", "arch", K_VAL, "auto" },
	{ "dataplane", "udp-csum", K_FLAG, "false" },
	{ "dataplane", "mbufs", K_VAL, "16383" },
	{ "dataplane", "max-endpoints", K_VAL, "16384" },
	{ "dataplane", "exit-when-idle", K_VAL, "(off)" },
	{ "dataplane", "preflight", K_FLAG, "false" },
	{ "dataplane", "no-preflight", K_FLAG, "false" },
	{ "dataplane", "capture-dir", K_VAL, "/var/lib/perc-mdd/captures" },
	{ "control", "api", K_VAL, "(none)" },
	{ "control", "consent-timeout", K_VAL, "30000" },
	{ "control", "media-timeout", K_VAL, "5000" },
	{ "control", "limits", K_VAL, "(none)" },
	{ "kd", "kd", K_VAL, "(none)" },
	{ "kd", "kd-cert", K_VAL, "(none)" },
	{ "kd", "kd-key", K_VAL, "(none)" },
	{ "kd", "kd-ca", K_VAL, "(none)" },
	{ "metrics", "metrics", K_VAL, "127.0.0.1:9464" },
	{ "metrics", "stats-interval", K_VAL, "1" },
	{ "metrics", "stats-json", K_VAL, "(none)" },
	{ "logging", "log-level", K_LOGLEVEL, "(EAL default; perc.mdd.*: info)" },
	{ "logging", "syslog", K_SYSLOG, "(EAL default: daemon)" },
};

static const char *const mdd_sections[] = { "eal", "dataplane", "control", "kd", "metrics",
					    "logging", NULL };

const struct mdd_config_schema mdd_config_schema = {
	.prog = "perc-mdd", .keys = mdd_keys, .n_keys = sizeof(mdd_keys) / sizeof(mdd_keys[0]),
	.sections = mdd_sections, .eal = true,
};

#define N_KEYS (c->schema->n_keys)
#define KEYS (c->schema->keys)

/* the EAL's level names; it takes any prefix of them (err, emerg, crit) */
static const char *const levels[] = { "emergency", "alert", "critical", "error", "warning",
				      "notice", "info", "debug" };

/* the facilities EAL's --syslog takes */
static const char *const facilities[] = {
	"auth", "cron", "daemon", "ftp", "kern", "lpr", "mail", "news", "syslog", "user",
	"uucp", "local0", "local1", "local2", "local3", "local4", "local5", "local6", "local7",
};

#define FAIL(...) do { snprintf(err, errlen, __VA_ARGS__); goto out; } while (0)

static char *
trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

static int
push(struct mdd_config *c, const char *arg)
{
	char **v;

	if (c->argc + 2 > c->cap) {
		int cap = c->cap ? 2 * c->cap : 32;

		v = realloc(c->argv, (size_t)cap * sizeof(*v));
		if (v == NULL)
			return -1;
		c->argv = v;
		c->cap = cap;
	}
	c->argv[c->argc] = strdup(arg);
	if (c->argv[c->argc] == NULL)
		return -1;
	c->argc++;
	c->argv[c->argc] = NULL;
	return 0;
}

/*
 * Next word of s into word: blanks (and commas when comma) separate, single
 * or double quotes group. Returns 1 (a word), 0 (none left) or -1 (err).
 */
static int
next_word(const char **sp, bool comma, char *word, size_t wlen, char *err, size_t errlen)
{
	const char *s = *sp;
	size_t n = 0;
	char q = 0;

	while (isspace((unsigned char)*s) || (comma && *s == ','))
		s++;
	if (*s == 0)
		return 0;
	while (*s && (q || !(isspace((unsigned char)*s) || (comma && *s == ',')))) {
		if (!q && (*s == '"' || *s == '\'')) {
			q = *s++;
			continue;
		}
		if (q && *s == q) {
			q = 0;
			s++;
			continue;
		}
		if (n + 1 >= wlen) {
			snprintf(err, errlen, "a word longer than %zu bytes", wlen - 1);
			return -1;
		}
		word[n++] = *s++;
	}
	if (q) {
		snprintf(err, errlen, "unterminated quote: close it with %c", q);
		return -1;
	}
	word[n] = 0;
	*sp = s;
	return 1;
}

static int
find_key(const struct mdd_config *c, const char *name)
{
	for (int i = 0; i < N_KEYS; i++)
		if (strcmp(KEYS[i].name, name) == 0)
			return i;
	return -1;
}

static bool
known_section(const struct mdd_config *c, const char *s)
{
	for (int i = 0; c->schema->sections[i] != NULL; i++)
		if (strcmp(c->schema->sections[i], s) == 0)
			return true;
	return false;
}

/* "[a], [b] and [c]" or "x, y, z": sections or the keys of one, for the messages */
static void
names(const struct mdd_config *c, const char *sect, char *buf, size_t len)
{
	size_t n = 0;

	buf[0] = 0;
	if (sect == NULL) {
		for (int i = 0; c->schema->sections[i] != NULL && n < len; i++)
			n += (size_t)snprintf(buf + n, len - n, "%s[%s]",
					      i == 0 ? "" : c->schema->sections[i + 1] ? ", " :
					      " and ", c->schema->sections[i]);
		return;
	}
	for (int i = 0; i < N_KEYS && n < len; i++)
		if (strcmp(KEYS[i].sect, sect) == 0)
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", KEYS[i].name);
}

static int
check_loglevel(const char *item, char *err, size_t errlen)
{
	const char *colon = strrchr(item, ':'), *lv = colon ? colon + 1 : item;
	char *end;
	long v;

	if (colon == item) {
		snprintf(err, errlen, "log-level '%.80s': the type before ':' is empty", item);
		return -1;
	}
	for (size_t i = 0; *lv && i < sizeof(levels) / sizeof(levels[0]); i++)
		if (strncmp(lv, levels[i], strlen(lv)) == 0)
			return 0;
	v = strtol(lv, &end, 10);
	if (*lv && *end == 0 && v >= 1 && v <= 8)
		return 0;
	snprintf(err, errlen, "log-level '%.80s': give [TYPE:]LEVEL, LEVEL one of emerg(ency), "
		 "alert, crit(ical), err(or), warning, notice, info, debug (or 1..8), e.g. "
		 "perc.mdd.*:debug", item);
	return -1;
}

static int
check_syslog(const char *v, char *err, size_t errlen)
{
	for (size_t i = 0; i < sizeof(facilities) / sizeof(facilities[0]); i++)
		if (strcmp(v, facilities[i]) == 0)
			return 0;
	snprintf(err, errlen, "syslog '%.80s': give a facility: auth, cron, daemon, ftp, kern, lpr, "
		 "mail, news, syslog, user, uucp, local0..local7", v);
	return -1;
}

int
mdd_config_hostport(const char *what, const char *s, bool literal, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char *end, host[64];
	unsigned char a[16];
	long port;

	if (colon == NULL || colon == s)
		goto bad;
	port = strtol(colon + 1, &end, 10);
	if (colon[1] == 0 || *end != 0 || port < 1 || port > 65535)
		goto bad;
	/* an IPv6 address is written in brackets, so its colons are not the port's */
	if (s[0] == '[' ? colon[-1] != ']' || colon - s < 3 : memchr(s, ':', (size_t)(colon - s))
	    != NULL)
		goto bad;
	if (!literal)
		return 0;
	/* an address, not a name: what the listener's parser takes */
	if ((size_t)(colon - s) >= sizeof(host))
		goto bad;
	snprintf(host, sizeof(host), "%.*s", (int)(colon - s), s);
	if (s[0] == '[') {
		host[strlen(host) - 1] = 0;
		if (inet_pton(AF_INET6, host + 1, a) == 1)
			return 0;
	} else if (inet_pton(AF_INET, host, a) == 1) {
		return 0;
	}
bad:
	snprintf(err, errlen, "%s '%s' is not %s:PORT (port 1..65535; IPv6 as [ADDR]:PORT)",
		 what, s, literal ? "ADDR" : "HOST");
	return -1;
}

static int
add_entry(struct mdd_config *c, int key, int line, const char *val)
{
	struct mdd_config_entry *e = realloc(c->ent, (size_t)(c->n_ent + 1) * sizeof(*e));

	if (e == NULL)
		return -1;
	c->ent = e;
	e = &c->ent[c->n_ent];
	e->key = key;
	e->line = line;
	e->overridden = false;
	e->val = strdup(val);
	if (e->val == NULL)
		return -1;
	c->n_ent++;
	return 0;
}

/* Read the file into c->ent: syntax, sections, keys, duplicates. */
static int
read_file(FILE *f, struct mdd_config *c, char *err, size_t errlen)
{
	const char *path = c->path;
	char buf[4096], sect[32] = "", list[256];
	int line = 0;

	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *l, *eq, *key, *val;
		int k;

		line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %zu bytes: shorten it", path,
				 line, sizeof(buf) - 2);
			return -1;
		}
		l = trim(buf);
		if (*l == 0 || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');

			if (e == NULL || e[1] != 0) {
				snprintf(err, errlen, "%s:%d: a section is written [name] on a line of "
					 "its own", path, line);
				return -1;
			}
			*e = 0;
			snprintf(sect, sizeof(sect), "%s", trim(l + 1));
			if (!known_section(c, sect)) {
				names(c, NULL, list, sizeof(list));
				snprintf(err, errlen, "%s:%d: unknown section [%s]: %s reads %s", path,
					 line, sect, c->schema->prog, list);
				return -1;
			}
			continue;
		}
		eq = strchr(l, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value', got '%.60s'", path, line, l);
			return -1;
		}
		*eq = 0;
		key = trim(l);
		val = trim(eq + 1);
		if (sect[0] == 0) {
			snprintf(err, errlen, "%s:%d: '%s' before any section: put it under its "
				 "section, e.g. [%s]", path, line, key, c->schema->sections[0]);
			return -1;
		}
		k = find_key(c, key);
		if (k < 0) {
			names(c, sect, list, sizeof(list));
			snprintf(err, errlen, "%s:%d: unknown [%s] key '%s' (the keys are the long "
				 "options of %s --help; [%s] takes %s)", path, line, sect, key,
				 c->schema->prog, sect, list);
			return -1;
		}
		if (strcmp(KEYS[k].sect, sect) != 0) {
			snprintf(err, errlen, "%s:%d: '%s' belongs in [%s], not [%s]: move it", path,
				 line, key, KEYS[k].sect, sect);
			return -1;
		}
		for (int i = 0; i < c->n_ent; i++)
			if (c->ent[i].key == k) {
				snprintf(err, errlen, "%s:%d: '%s' is already set on line %d: keep one "
					 "(a list goes on one line)", path, line, key, c->ent[i].line);
				return -1;
			}
		if (*val == 0) {
			snprintf(err, errlen, "%s:%d: %s needs a value (leave the key out for the "
				 "default)", path, line, key);
			return -1;
		}
		if (add_entry(c, k, line, val) != 0) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	return 0;
}

/* Mark the file's keys that an option after "--" on the command line gives too. */
static void
mark_overrides(struct mdd_config *c, int app)
{
	for (int i = app; i < c->xargc; i++) {
		const char *a = c->xargv[i];
		size_t n;
		int k;

		if (strncmp(a, "--", 2) != 0 || a[2] == 0)
			continue;
		a += 2;
		n = strcspn(a, "=");
		for (k = 0; k < N_KEYS; k++)
			if (strlen(KEYS[k].name) == n && strncmp(KEYS[k].name, a, n) == 0)
				break;
		for (int e = 0; k < N_KEYS && e < c->n_ent; e++)
			if (c->ent[e].key == k)
				c->ent[e].overridden = true;
	}
}

/* One entry into the vector: EAL words (eal true) or application options. */
static int
emit(struct mdd_config *c, const struct mdd_config_entry *e, bool eal, mdd_config_check_fn check,
     char *err, size_t errlen)
{
	const struct mdd_config_key *k = &KEYS[e->key];
	const char *s = e->val;
	char word[1024], opt[80], why[400];
	int r;

	if (e->overridden || eal != (k->kind == K_ARGS || k->kind == K_LOGLEVEL ||
				     k->kind == K_SYSLOG))
		return 0;
	snprintf(opt, sizeof(opt), "--%s", k->name);
	why[0] = 0;
	switch (k->kind) {
	case K_FLAG:
		if (strcmp(s, "false") == 0)
			return 0;
		if (strcmp(s, "true") != 0) {
			snprintf(why, sizeof(why), "%s takes true or false, not '%.80s'", k->name, s);
			break;
		}
		if (check != NULL && check(opt, NULL, why, sizeof(why)) != 0)
			break;
		return push(c, opt);
	case K_VAL:
		if (strcmp(s, "--") == 0) {
			/* it would read as the end of the options */
			snprintf(why, sizeof(why), "'--' is not a value of %s", k->name);
			break;
		}
		if (check != NULL && check(opt, s, why, sizeof(why)) != 0)
			break;
		return push(c, opt) || push(c, s);
	case K_SYSLOG:
		if (check_syslog(s, why, sizeof(why)) != 0)
			break;
		snprintf(word, sizeof(word), "--syslog=%s", s);
		return push(c, word);
	case K_ARGS:
	case K_LIST:
	case K_LOGLEVEL:
		while ((r = next_word(&s, k->kind != K_ARGS, word, sizeof(word), why,
				      sizeof(why))) == 1) {
			if (k->kind == K_LIST) {
				if (strcmp(word, "--") == 0) {
					snprintf(why, sizeof(why), "'--' is not a value of %s", k->name);
					break;
				}
				if (check != NULL && check(opt, word, why, sizeof(why)) != 0)
					break;
				if (push(c, opt) || push(c, word))
					return -1;
			} else if (k->kind == K_LOGLEVEL) {
				char item[1100];

				if (check_loglevel(word, why, sizeof(why)) != 0)
					break;
				snprintf(item, sizeof(item), "--log-level=%s", word);
				if (push(c, item))
					return -1;
			} else if (strcmp(word, "--") == 0) {
				/* it would end the EAL's arguments early */
				snprintf(why, sizeof(why), "'--' in [eal] args: the application's "
					 "options go in their sections");
				break;
			} else if (push(c, word)) {
				return -1;
			}
		}
		if (why[0] == 0)
			return 0;
		break;
	}
	snprintf(err, errlen, "%s:%d: %s", c->path, e->line, why);
	return -2;
}

int
mdd_config_load(const char *path, const char *prog, int xargc, char **xargv,
		mdd_config_check_fn check, struct mdd_config *c, char *err, size_t errlen)
{
	return mdd_config_load_schema(&mdd_config_schema, path, prog, xargc, xargv, check, c, err,
				      errlen);
}

int
mdd_config_load_schema(const struct mdd_config_schema *schema, const char *path,
		       const char *prog, int xargc, char **xargv, mdd_config_check_fn check,
		       struct mdd_config *c, char *err, size_t errlen)
{
	FILE *f = fopen(path, "r");
	int rc = -1, app = xargc, eal_end = xargc, r;

	memset(c, 0, sizeof(*c));
	c->schema = schema;
	c->path = path;
	c->xargc = xargc;
	c->xargv = xargv;
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s (check the --config path)", path,
			 strerror(errno));
		return -1;
	}
	if (read_file(f, c, err, errlen) != 0)
		goto out;
	for (int i = 0; schema->eal && i < xargc; i++)
		if (strcmp(xargv[i], "--") == 0) {
			eal_end = i;
			app = i + 1;
			break;
		}
	if (!schema->eal)
		app = eal_end = 0;
	mark_overrides(c, app);
	/* prog, the file's EAL words, the command line's, "--", the options */
	if (push(c, prog) != 0)
		goto nomem;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < c->n_ent; i++) {
			r = emit(c, &c->ent[i], pass == 0, check, err, errlen);
			if (r == -2)
				goto out;
			if (r != 0)
				goto nomem;
		}
		for (int i = pass == 0 ? 0 : app; i < (pass == 0 ? eal_end : xargc); i++)
			if (push(c, xargv[i]) != 0)
				goto nomem;
		if (pass == 0 && schema->eal && push(c, "--") != 0)
			goto nomem;
	}
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	fclose(f);
	if (rc != 0)
		mdd_config_free(c);
	return rc;
}

void
mdd_config_summary(const struct mdd_config *c, FILE *out)
{
	int app = c->schema->eal ? c->xargc : 0;

	for (int i = 0; c->schema->eal && i < c->xargc; i++)
		if (strcmp(c->xargv[i], "--") == 0) {
			app = i + 1;
			break;
		}
	for (int k = 0; k < N_KEYS; k++) {
		const struct mdd_config_entry *e = NULL;
		int shown = 0;

		for (int i = 0; i < c->n_ent; i++)
			if (c->ent[i].key == k)
				e = &c->ent[i];
		/* an option after "--" wins over the file */
		if (KEYS[k].kind == K_VAL || KEYS[k].kind == K_LIST || KEYS[k].kind == K_FLAG) {
			size_t n = strlen(KEYS[k].name);

			for (int i = app; i < c->xargc; i++) {
				const char *a = c->xargv[i];

				if (strncmp(a, "--", 2) != 0 || strncmp(a + 2, KEYS[k].name, n) != 0 ||
				    (a[2 + n] != 0 && a[2 + n] != '='))
					continue;
				fprintf(out, "%-10s %-16s = %s  (command line)\n", KEYS[k].sect,
					KEYS[k].name, a[2 + n] == '=' ? a + 3 + n :
					KEYS[k].kind == K_FLAG ? "true" :
					i + 1 < c->xargc ? c->xargv[i + 1] : "");
				shown++;
			}
		}
		if (shown)
			continue;
		if (e != NULL)
			fprintf(out, "%-10s %-16s = %s  (%s:%d)\n", KEYS[k].sect, KEYS[k].name, e->val,
				c->path, e->line);
		else
			fprintf(out, "%-10s %-16s = %s\n", KEYS[k].sect, KEYS[k].name, KEYS[k].def);
	}
	if (app > 0 && strcmp(c->xargv[0], "--") != 0) {
		fprintf(out, "%-10s %-16s +", "eal", "args");
		for (int i = 0; i < app && i < c->xargc && strcmp(c->xargv[i], "--") != 0; i++)
			fprintf(out, " %s", c->xargv[i]);
		fprintf(out, "  (command line)\n");
	}
}

void
mdd_config_free(struct mdd_config *c)
{
	for (int i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	for (int i = 0; i < c->n_ent; i++)
		free(c->ent[i].val);
	free(c->ent);
	memset(c, 0, sizeof(*c));
}
