/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * systemd's readiness protocol (sd_notify(3)) without libsystemd: one
 * datagram of "KEY=VALUE" lines to the Unix socket named by $NOTIFY_SOCKET
 * (a path, or an abstract name when it starts with '@'). The protocol is
 * stable and documented; implementing it here keeps libsystemd (and its
 * dependencies) out of perc-mdd and perc-kd. Outside systemd ($NOTIFY_SOCKET
 * unset) every call does nothing.
 */
#ifndef PERC_SDNOTIFY_H
#define PERC_SDNOTIFY_H

#include <stdint.h>

/**
 * Send state (e.g. "READY=1\nSTATUS=running") to the service manager.
 * Returns 1 when sent, 0 when not under systemd, -1 on a send error.
 */
int perc_sd_notify(const char *state);

/** printf-style perc_sd_notify(). */
int perc_sd_notifyf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * The watchdog period the service manager asked for ($WATCHDOG_USEC, when
 * $WATCHDOG_PID is unset or ours), in microseconds; 0 when none. Send
 * "WATCHDOG=1" at least twice per period.
 */
uint64_t perc_sd_watchdog_usec(void);

#endif
