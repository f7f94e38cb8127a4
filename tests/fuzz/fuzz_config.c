/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd's configuration file reader (dataplane/mdd/config.c) on arbitrary
 * text. Beyond "no crash": an accepted file gives prog, EAL words, exactly
 * one "--" and options that all start with "--"; a refused one says which
 * file (and line) and why, in a terminated string.
 */
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fuzz.h"
#include "../../dataplane/mdd/config.h"

const char *const perc_fuzz_seeds[] = {
	/* [eal]\nargs = -l 0-1 "--vdev" x\n[dataplane]\naddr = 192.0.2.1, ::1\nudp-csum = true\n */
	"5b65616c5d0a61726773203d202d6c20302d3120222d2d766465762220780a5b64617461706c616e655d"
	"0a61646472203d203139322e302e322e312c203a3a310a7564702d6373756d203d20747275650a",
	/* [logging]\nlog-level = a:debug, 3\nsyslog = daemon\n[kd]\nkd = x:1\n */
	"5b6c6f6767696e675d0a6c6f672d6c6576656c203d20613a64656275672c20330a7379736c6f67203d20"
	"6461656d6f6e0a5b6b645d0a6b64203d20783a310a",
	NULL,
};

/* a value starting with '!' is refused, as a bad value on the command line */
static int
check(const char *opt, const char *val, char *err, size_t errlen)
{
	if (val != NULL && val[0] == '!') {
		snprintf(err, errlen, "%s refused", opt);
		return -1;
	}
	return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	char *xargv[] = { (char *)(uintptr_t)"--", (char *)(uintptr_t)"--port", (char *)(uintptr_t)"1",
			  NULL };
	struct mdd_config c;
	char err[512];
	int dashes = 0;

	if (fd < 0) {
		fd = memfd_create("fuzz_config", 0);
		FUZZ_CHECK(fd >= 0);
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	FUZZ_CHECK(ftruncate(fd, 0) == 0 && pwrite(fd, data, size, 0) == (ssize_t)size);
	memset(err, 0, sizeof(err));
	if (mdd_config_load(path, "perc-mdd", size % 2 ? 3 : 0, xargv, check, &c, err,
			    sizeof(err)) == 0) {
		FUZZ_CHECK(c.argc >= 2 && strcmp(c.argv[0], "perc-mdd") == 0);
		FUZZ_CHECK(c.argv[c.argc] == NULL);
		for (int i = 1; i < c.argc; i++) {
			if (strcmp(c.argv[i], "--") == 0) {
				dashes++;
				continue;
			}
			FUZZ_CHECK(dashes == 0 || strncmp(c.argv[i], "--", 2) == 0 ||
				   (i > 1 && strncmp(c.argv[i - 1], "--", 2) == 0));
		}
		FUZZ_CHECK(dashes == 1);
		mdd_config_free(&c);
	} else {
		FUZZ_CHECK(strncmp(err, path, strlen(path)) == 0 ||
			   strcmp(err, "out of memory") == 0);
		FUZZ_CHECK(memchr(err, 0, sizeof(err)) != NULL);
	}
	return 0;
}
