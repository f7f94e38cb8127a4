/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * perc-mdd's pre-flight checks (docs/preflight.md): run before rte_eal_init()
 * on the EAL and application arguments, each failure printed as
 *
 *   preflight: FAIL <check>: <what was found> — fix: <command>
 *
 * Checks: hugetlbfs mounted, hugepages free versus -m / --socket-mem,
 * stale hugepage files of this --file-prefix, IOMMU + vfio-pci + driver
 * binding for PCI ports (-a ADDR), the memlock limit for AF_XDP umems,
 * the CPU features of --arch, and for net_af_xdp vdevs the interface, the
 * xdp_prog object and that the kernel loads and attaches perc's program.
 *
 * Tests point the checks at a fake /proc and /sys with the environment
 * variable PERC_PREFLIGHT_ROOT (a directory holding proc/ and sys/ and the
 * hugetlbfs mount); with it set, the kernel is not asked to load anything.
 */
#ifndef MDD_PREFLIGHT_H
#define MDD_PREFLIGHT_H

#include <stdio.h>

/** Exit status of perc-mdd when a pre-flight check fails (EX_UNAVAILABLE). */
#define MDD_EX_PREFLIGHT 69

/** What the command line asks for. */
enum mdd_preflight_mode {
	MDD_PREFLIGHT_RUN,   /**< check, then start when every check passed */
	MDD_PREFLIGHT_ONLY,  /**< --preflight: check, print every result, exit */
	MDD_PREFLIGHT_SKIP,  /**< --no-preflight */
};

/**
 * Find and remove --preflight / --no-preflight (anywhere in @p argv) so that
 * neither EAL nor the option parser sees them.
 */
enum mdd_preflight_mode mdd_preflight_mode(int *argc, char **argv);

/**
 * Run every check that applies to these arguments.
 *
 * @param verbose  print the checks that pass too
 * @return the number of failed checks (0: go)
 */
int mdd_preflight(int argc, char **argv, int verbose, FILE *out);

#endif /* MDD_PREFLIGHT_H */
