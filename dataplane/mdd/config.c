/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * `perc-mdd --config FILE`: everything from one INI file. The [eal] section
 * holds the EAL arguments (one "args = ..." line or several, appended in
 * order); the [dataplane] section holds the options of `perc-mdd -- --help`
 * under their long names ("addr = 192.0.2.1", "stats-interval = 1"; a flag
 * such as udp-csum takes "true"). The file becomes the command line
 * `perc-mdd EAL-ARGS -- OPTIONS`, so both ways mean exactly the same.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

/* options of [dataplane] and whether they take a value */
static const struct {
	const char *name;
	bool value;
} dp_opts[] = {
	{ "addr", true }, { "port", true }, { "provision", true }, { "arch", true },
	{ "stats-interval", true }, { "stats-json", true }, { "exit-when-idle", true },
	{ "udp-csum", false }, { "mbufs", true }, { "max-endpoints", true },
	/* the control plane (docs/mdd-control.md) */
	{ "api", true }, { "kd", true }, { "kd-cert", true }, { "kd-key", true },
	{ "kd-ca", true }, { "consent-timeout", true }, { "media-timeout", true },
	/* operations (docs/operations.md) */
	{ "metrics", true }, { "limits", true },
	/* capture (docs/operations.md "Capture") */
	{ "capture-dir", true },
};

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

/* Split an [eal] value on blanks; single or double quotes group words. */
static int
push_words(struct mdd_config *c, const char *s, char *err, size_t errlen, const char *path,
	   int line)
{
	char word[1024];

	while (*s) {
		size_t n = 0;
		char q = 0;

		while (isspace((unsigned char)*s))
			s++;
		if (*s == 0)
			break;
		while (*s && (q || !isspace((unsigned char)*s))) {
			if (!q && (*s == '"' || *s == '\'')) {
				q = *s++;
				continue;
			}
			if (q && *s == q) {
				q = 0;
				s++;
				continue;
			}
			if (n + 1 >= sizeof(word)) {
				snprintf(err, errlen, "%s:%d: [eal] argument longer than %zu bytes", path,
					 line, sizeof(word) - 1);
				return -1;
			}
			word[n++] = *s++;
		}
		if (q) {
			snprintf(err, errlen, "%s:%d: unterminated quote in [eal] args", path, line);
			return -1;
		}
		word[n] = 0;
		if (push(c, word) != 0)
			goto nomem;
	}
	return 0;
nomem:
	snprintf(err, errlen, "out of memory");
	return -1;
}

int
mdd_config_load(const char *path, const char *prog, struct mdd_config *c, char *err,
		size_t errlen)
{
	FILE *f = fopen(path, "r");
	char buf[2048], sect[32] = "";
	struct mdd_config dp = { 0 };
	int line = 0, rc = -1;

	memset(c, 0, sizeof(*c));
	if (f == NULL) {
		snprintf(err, errlen, "%s: cannot open: %s (check the --config path)", path,
			 strerror(errno));
		return -1;
	}
	if (push(c, prog) != 0)
		goto nomem;
	while (fgets(buf, sizeof(buf), f) != NULL) {
		char *l, *eq, *key, *val;

		line++;
		if (strchr(buf, '\n') == NULL && !feof(f)) {
			snprintf(err, errlen, "%s:%d: line longer than %zu bytes", path, line,
				 sizeof(buf) - 2);
			goto out;
		}
		l = trim(buf);
		if (*l == 0 || *l == '#' || *l == ';')
			continue;
		if (*l == '[') {
			char *e = strchr(l, ']');

			if (e == NULL || e[1] != 0) {
				snprintf(err, errlen, "%s:%d: a section is written [name]", path, line);
				goto out;
			}
			*e = 0;
			snprintf(sect, sizeof(sect), "%s", trim(l + 1));
			if (strcmp(sect, "eal") != 0 && strcmp(sect, "dataplane") != 0) {
				snprintf(err, errlen, "%s:%d: unknown section [%s]: perc-mdd reads [eal] "
					 "and [dataplane]", path, line, sect);
				goto out;
			}
			continue;
		}
		eq = strchr(l, '=');
		if (eq == NULL) {
			snprintf(err, errlen, "%s:%d: expected 'key = value', got '%.60s'", path, line, l);
			goto out;
		}
		*eq = 0;
		key = trim(l);
		val = trim(eq + 1);
		if (sect[0] == 0) {
			snprintf(err, errlen, "%s:%d: '%s' before any section: put it under [eal] or "
				 "[dataplane]", path, line, key);
			goto out;
		}
		if (strcmp(sect, "eal") == 0) {
			if (strcmp(key, "args") != 0) {
				snprintf(err, errlen, "%s:%d: [eal] takes 'args = ...' (the EAL command "
					 "line), not '%s'", path, line, key);
				goto out;
			}
			if (push_words(c, val, err, errlen, path, line) != 0)
				goto out;
			continue;
		}
		{
			unsigned i;
			char opt[64];

			for (i = 0; i < sizeof(dp_opts) / sizeof(dp_opts[0]); i++)
				if (strcmp(key, dp_opts[i].name) == 0)
					break;
			if (i == sizeof(dp_opts) / sizeof(dp_opts[0])) {
				snprintf(err, errlen, "%s:%d: unknown [dataplane] key '%s' (the keys are "
					 "the long options of perc-mdd -- --help)", path, line, key);
				goto out;
			}
			snprintf(opt, sizeof(opt), "--%s", key);
			if (!dp_opts[i].value) {
				if (strcmp(val, "true") == 0) {
					if (push(&dp, opt) != 0)
						goto nomem;
				} else if (strcmp(val, "false") != 0) {
					snprintf(err, errlen, "%s:%d: %s takes true or false, not '%s'", path,
						 line, key, val);
					goto out;
				}
				continue;
			}
			if (*val == 0) {
				snprintf(err, errlen, "%s:%d: %s needs a value", path, line, key);
				goto out;
			}
			if (push(&dp, opt) != 0 || push(&dp, val) != 0)
				goto nomem;
		}
	}
	if (push(c, "--") != 0)
		goto nomem;
	for (int i = 0; i < dp.argc; i++)
		if (push(c, dp.argv[i]) != 0)
			goto nomem;
	rc = 0;
	goto out;
nomem:
	snprintf(err, errlen, "out of memory");
out:
	fclose(f);
	mdd_config_free(&dp);
	if (rc != 0)
		mdd_config_free(c);
	return rc;
}

void
mdd_config_free(struct mdd_config *c)
{
	for (int i = 0; i < c->argc; i++)
		free(c->argv[i]);
	free(c->argv);
	memset(c, 0, sizeof(*c));
}
