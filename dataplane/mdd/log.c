/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * perc-mdd's rte_log types (one per subsystem, ops.h) and where their lines
 * go (docs/operations.md "Logging"). DPDK 22.11's EAL writes every rte_log
 * line to stderr and, through syslog(3), to /dev/log as well. Under systemd
 * both reach the journal: each line twice, the stderr copy at the unit's
 * default priority. When stderr is the journal's stream ($JOURNAL_STREAM
 * names it, systemd.exec(5)) perc-mdd writes each line there once, with
 * the sd-daemon(3) "<N>" priority prefix that journald turns into the
 * entry's priority, and leaves syslog alone. Elsewhere (a terminal, a file,
 * or an explicit EAL --syslog) the EAL's own stream stays. The stream is
 * set before rte_eal_init(), so the EAL's and the drivers' lines during
 * start-up go the same way.
 *
 * Linked into perc-mdd and into the benchmarks that compile setup.c: the
 * types start as RTE_LOGTYPE_USER1 so a message before mdd_log_register()
 * still goes out through rte_log under a valid type.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <rte_common.h>
#include <rte_log.h>

#include "ops.h"

int mdd_logtypes[MDD_LOG__COUNT] = {
	RTE_LOGTYPE_USER1, RTE_LOGTYPE_USER1, RTE_LOGTYPE_USER1, RTE_LOGTYPE_USER1,
	RTE_LOGTYPE_USER1,
};

const char *const mdd_logtype_names[MDD_LOG__COUNT] = {
	"perc.mdd.dataplane", "perc.mdd.control", "perc.mdd.ice", "perc.mdd.tunnel",
	"perc.mdd.api",
};

void
mdd_log_register(void)
{
	static bool done;

	if (done)
		return;
	for (int i = 0; i < MDD_LOG__COUNT; i++) {
		/* an EAL --log-level=perc.mdd.*:debug given at start applies */
		int t = rte_log_register_type_and_pick_level(mdd_logtype_names[i], RTE_LOG_INFO);

		mdd_logtypes[i] = t >= 0 ? t : RTE_LOGTYPE_USER1;
	}
	done = true;
}

/* Whether fd is the stream $JOURNAL_STREAM ("DEV:INODE") names: systemd
 * sets it for a service whose stdout or stderr goes to the journal. */
static bool
fd_is_journal(int fd)
{
	const char *js = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (js == NULL || sscanf(js, "%llu:%llu", &dev, &ino) != 2 || fstat(fd, &st) != 0)
		return false;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

/* at the start of a line (the next byte written gets a prefix); the
 * stream's own lock serialises the writes */
static bool journal_bol = true;

/* fopencookie write: "<N>" before each line, N the syslog priority of
 * the message being written (rte_log levels are syslog's plus one) */
static ssize_t
journal_write(void *c, const char *buf, size_t size)
{
	size_t done = 0;

	RTE_SET_USED(c);
	while (done < size) {
		const char *nl = memchr(buf + done, '\n', size - done);
		size_t n = nl != NULL ? (size_t)(nl - (buf + done)) + 1 : size - done;
		char pri[8];
		struct iovec iov[2];
		int lv = rte_log_cur_msg_loglevel(), np = 0, k = 0;

		if (journal_bol) {
			np = snprintf(pri, sizeof(pri), "<%d>",
				      lv >= 1 && lv <= 8 ? lv - 1 : 6);
			iov[k].iov_base = pri;
			iov[k++].iov_len = (size_t)np;
		}
		iov[k].iov_base = (void *)(uintptr_t)(buf + done);
		iov[k++].iov_len = n;
		/* a journal that went away loses the line, never the process */
		if (writev(STDERR_FILENO, iov, k) < 0)
			break;
		journal_bol = nl != NULL;
		done += n;
	}
	return (ssize_t)size;
}

static bool
eal_syslog_asked(int argc, char **argv)
{
	for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++)
		if (strncmp(argv[i], "--syslog", 8) == 0)
			return true;
	return false;
}

const char *
mdd_log_open(int argc, char **argv)
{
	static const cookie_io_functions_t fns = { .write = journal_write };
	FILE *f;

	if (!fd_is_journal(STDERR_FILENO))
		return "stderr and syslog (the EAL's default)";
	if (eal_syslog_asked(argc, argv))
		return "stderr and syslog (--syslog given: the journal gets both)";
	f = fopencookie(NULL, "w", fns);
	if (f == NULL)
		return "stderr and syslog (no memory for the journal stream)";
	/* unbuffered: glibc formats each message whole and hands it to
	 * journal_write in one call, under the calling thread's level */
	setvbuf(f, NULL, _IONBF, 0);
	if (rte_openlog_stream(f) != 0) {
		fclose(f);
		return "stderr and syslog (rte_openlog_stream refused)";
	}
	return "the journal (stderr with <priority> prefixes; no syslog copy)";
}
