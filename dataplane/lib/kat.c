/* SPDX-License-Identifier: BSD-3-Clause */
/* Vector file parser and hex helpers (known-answer data, tools). */
#include <ctype.h>
#include <string.h>

#include "perc/kat.h"

static char *
trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
		*--e = 0;
	return s;
}

int
perc_kat_parse(char *text, struct perc_kat_section *secs, unsigned max)
{
	int n = -1;
	char *line = text, *next;

	for (; line != NULL; line = next) {
		char *eq, *l;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = 0;
		l = trim(line);
		if (*l == 0 || *l == '#')
			continue;
		if (*l == '[') {
			char *end = strchr(l, ']');

			if (end == NULL || (unsigned)(n + 1) >= max)
				return -1;
			*end = 0;
			n++;
			secs[n].name = l + 1;
			secs[n].n = 0;
			continue;
		}
		eq = strchr(l, '=');
		if (eq == NULL || n < 0 || secs[n].n >= PERC_KAT_MAX_KV)
			return -1;
		*eq = 0;
		secs[n].kv[secs[n].n].k = trim(l);
		secs[n].kv[secs[n].n].v = trim(eq + 1);
		secs[n].n++;
	}
	return n + 1;
}

const char *
perc_kat_get(const struct perc_kat_section *s, const char *key)
{
	for (unsigned i = 0; i < s->n; i++)
		if (strcmp(s->kv[i].k, key) == 0)
			return s->kv[i].v;
	return NULL;
}

const char *
perc_kat_text(const char *name)
{
	for (unsigned i = 0; perc_kat_files[i].name != NULL; i++)
		if (strcmp(perc_kat_files[i].name, name) == 0)
			return perc_kat_files[i].text;
	return NULL;
}

static int
nibble(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (char)tolower((unsigned char)c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

long
perc_hex_decode(const char *hex, uint8_t *out, size_t cap)
{
	size_t n = strlen(hex);

	if (n >= 2 && hex[0] == '0' && (hex[1] == 'x' || hex[1] == 'X')) {
		hex += 2;
		n -= 2;
	}
	if (n % 2 != 0 || n / 2 > cap)
		return -1;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = nibble(hex[2 * i]), lo = nibble(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -1;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return (long)(n / 2);
}

void
perc_hex_encode(const uint8_t *in, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[in[i] >> 4];
		out[2 * i + 1] = d[in[i] & 15];
	}
	out[2 * n] = 0;
}
