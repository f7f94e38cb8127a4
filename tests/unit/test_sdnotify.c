/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sd_notify(3) without libsystemd (control/common/sdnotify.c): nothing sent
 * outside systemd, datagrams to a path and to an abstract socket, a bad
 * $NOTIFY_SOCKET refused, $WATCHDOG_USEC honoured only for this process.
 */
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "testutil.h"

#include "perc/sdnotify.h"

/* a datagram socket at name (a path, or "@abstract"); -1 on failure */
static int
listener(const char *name)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(name);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	memcpy(sa.sun_path, name, n);
	if (name[0] == '@')
		sa.sun_path[0] = '\0';
	else
		unlink(name);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa,
			   (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n)) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static void
expect(int fd, const char *want)
{
	char buf[512];
	ssize_t n = recv(fd, buf, sizeof(buf) - 1, MSG_DONTWAIT);

	CU_ASSERT_FATAL(n >= 0);
	buf[n] = '\0';
	CU_ASSERT_STRING_EQUAL(buf, want);
}

static void
test_outside_systemd(void)
{
	unsetenv("NOTIFY_SOCKET");
	CU_ASSERT_EQUAL(perc_sd_notify("READY=1"), 0);
	setenv("NOTIFY_SOCKET", "", 1);
	CU_ASSERT_EQUAL(perc_sd_notify("READY=1"), 0);
	/* neither a path nor an abstract name */
	setenv("NOTIFY_SOCKET", "relative/sock", 1);
	CU_ASSERT_EQUAL(perc_sd_notify("READY=1"), -1);
	/* nobody listening */
	setenv("NOTIFY_SOCKET", "/nonexistent-dir/notify", 1);
	CU_ASSERT_EQUAL(perc_sd_notify("READY=1"), -1);
}

static void
test_path_and_abstract(void)
{
	char path[64], abs[64];
	int fd;

	snprintf(path, sizeof(path), "/tmp/perc-sdnotify-%d.sock", (int)getpid());
	fd = listener(path);
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", path, 1);
	CU_ASSERT_EQUAL(perc_sd_notify("READY=1\nSTATUS=up"), 1);
	expect(fd, "READY=1\nSTATUS=up");
	CU_ASSERT_EQUAL(perc_sd_notifyf("STATUS=%u endpoint(s)", 7u), 1);
	expect(fd, "STATUS=7 endpoint(s)");
	close(fd);
	unlink(path);

	snprintf(abs, sizeof(abs), "@perc-sdnotify-%d", (int)getpid());
	fd = listener(abs);
	CU_ASSERT_FATAL(fd >= 0);
	setenv("NOTIFY_SOCKET", abs, 1);
	CU_ASSERT_EQUAL(perc_sd_notify("WATCHDOG=1"), 1);
	expect(fd, "WATCHDOG=1");
	close(fd);
	unsetenv("NOTIFY_SOCKET");
}

static void
test_watchdog(void)
{
	char pid[32];

	unsetenv("WATCHDOG_PID");
	unsetenv("WATCHDOG_USEC");
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "10000000", 1);
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 10000000u);
	snprintf(pid, sizeof(pid), "%d", (int)getpid());
	setenv("WATCHDOG_PID", pid, 1);
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 10000000u);
	/* meant for another process (a parent that forked us) */
	snprintf(pid, sizeof(pid), "%d", (int)getpid() + 1);
	setenv("WATCHDOG_PID", pid, 1);
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 0);
	unsetenv("WATCHDOG_PID");
	setenv("WATCHDOG_USEC", "soon", 1);
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 0);
	setenv("WATCHDOG_USEC", "0", 1);
	CU_ASSERT_EQUAL(perc_sd_watchdog_usec(), 0);
	unsetenv("WATCHDOG_USEC");
}

int
main(void)
{
	if (CU_initialize_registry() != CUE_SUCCESS)
		return 2;
	T_SUITE("sdnotify");
	T_ADD(test_outside_systemd);
	T_ADD(test_path_and_abstract);
	T_ADD(test_watchdog);
	return t_run();
}
