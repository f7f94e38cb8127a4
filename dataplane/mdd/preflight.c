/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Pre-flight checks before EAL init: what DPDK would otherwise report late,
 * vaguely or not at all (a half-initialised EAL, a port that never receives),
 * found first and named with the command that fixes it.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sys/ioctl.h>
#include <sys/socket.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/ethtool.h>
#include <linux/if_link.h>
#include <linux/sockios.h>

#include "preflight.h"
#include "perc_xdp.h"
#include "perc_xdp.skel.h"

#define MAX_LIST 16
#define AF_XDP_UMEM_BYTES (4096ull * 4096ull)  /* PMD: 4096 frames of 4 KiB per queue */
#define CAP_IPC_LOCK_BIT 14

/* what the checks need from the command line */
struct pf_args {
	bool no_huge, no_pci, in_memory, huge_unlink;
	unsigned long long mem_mb;   /* -m or the sum of --socket-mem; 0 = not given */
	const char *prefix;
	const char *huge_dir;
	const char *arch;
	const char *pci[MAX_LIST];
	unsigned n_pci;
	const char *xdp[MAX_LIST];   /* net_af_xdp vdev strings */
	unsigned n_xdp;
};

struct pf_ctx {
	const char *root;            /* "" or PERC_PREFLIGHT_ROOT */
	int verbose;
	int fails;
	FILE *out;
};

static void __attribute__((format(printf, 4, 5)))
fail(struct pf_ctx *c, const char *check, const char *fix, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->out, "preflight: FAIL %s: ", check);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fprintf(c->out, " — fix: %s\n", fix);
	c->fails++;
}

static void __attribute__((format(printf, 3, 4)))
pass(struct pf_ctx *c, const char *check, const char *fmt, ...)
{
	va_list ap;

	if (!c->verbose)
		return;
	fprintf(c->out, "preflight: ok   %s: ", check);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static void __attribute__((format(printf, 3, 4)))
warn(struct pf_ctx *c, const char *check, const char *fmt, ...)
{
	va_list ap;

	fprintf(c->out, "preflight: WARN %s: ", check);
	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
	fputc('\n', c->out);
}

static const char *
path(const struct pf_ctx *c, char *buf, size_t len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* a /proc or /sys path under the test root */
static const char *
path(const struct pf_ctx *c, char *buf, size_t len, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(buf, len, "%s%s", c->root, rel);
	return buf;
}

static bool
read_ull(const char *file, unsigned long long *v)
{
	FILE *f = fopen(file, "r");
	bool ok;

	if (f == NULL)
		return false;
	ok = fscanf(f, "%llu", v) == 1;
	fclose(f);
	return ok;
}

/* ---- command line ---- */

static bool
is_pci_addr(const char *s)
{
	unsigned d, b, dev, fn;
	char tail;

	/* DDDD:BB:DD.F or BB:DD.F, devargs after a comma */
	if (sscanf(s, "%x:%x:%x.%x%c", &d, &b, &dev, &fn, &tail) >= 4)
		return true;
	return sscanf(s, "%x:%x.%x%c", &b, &dev, &fn, &tail) >= 3 && strchr(s, '.') != NULL &&
	       isxdigit((unsigned char)s[0]);
}

static unsigned long long
sum_list(const char *s)
{
	unsigned long long t = 0;

	while (*s) {
		t += strtoull(s, (char **)&s, 10);
		if (*s == ',')
			s++;
		else
			break;
	}
	return t;
}

/* "--name=value", "--name value", "-xvalue", "-x value" */
static const char *
opt_value(int argc, char **argv, int *i, const char *lng, const char *shrt)
{
	const char *a = argv[*i];
	size_t n;

	if (lng != NULL) {
		n = strlen(lng);
		if (strncmp(a, lng, n) == 0 && a[n] == '=')
			return a + n + 1;
		if (strcmp(a, lng) == 0)
			return *i + 1 < argc ? argv[++*i] : NULL;
	}
	if (shrt != NULL && strncmp(a, shrt, 2) == 0) {
		if (a[2] != '\0')
			return a + 2;
		return *i + 1 < argc ? argv[++*i] : NULL;
	}
	return NULL;
}

static void
parse_args(int argc, char **argv, struct pf_args *a)
{
	bool app = false;
	const char *v;

	memset(a, 0, sizeof(*a));
	a->prefix = "rte";
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			app = true;
			continue;
		}
		if (app) {
			if ((v = opt_value(argc, argv, &i, "--arch", NULL)) != NULL)
				a->arch = v;
			continue;
		}
		if (strcmp(argv[i], "--no-huge") == 0)
			a->no_huge = true;
		else if (strcmp(argv[i], "--no-pci") == 0)
			a->no_pci = true;
		else if (strcmp(argv[i], "--in-memory") == 0)
			a->in_memory = true;
		else if (strcmp(argv[i], "--huge-unlink") == 0 ||
			 strncmp(argv[i], "--huge-unlink=", 14) == 0)
			a->huge_unlink = true;
		else if ((v = opt_value(argc, argv, &i, NULL, "-m")) != NULL)
			a->mem_mb = strtoull(v, NULL, 10);
		else if ((v = opt_value(argc, argv, &i, "--socket-mem", NULL)) != NULL)
			a->mem_mb = sum_list(v);
		else if ((v = opt_value(argc, argv, &i, "--file-prefix", NULL)) != NULL)
			a->prefix = v;
		else if ((v = opt_value(argc, argv, &i, "--huge-dir", NULL)) != NULL)
			a->huge_dir = v;
		else if ((v = opt_value(argc, argv, &i, "--allow", "-a")) != NULL ||
			 (v = opt_value(argc, argv, &i, "--pci-whitelist", "-w")) != NULL) {
			if (is_pci_addr(v) && a->n_pci < MAX_LIST)
				a->pci[a->n_pci++] = v;
		} else if ((v = opt_value(argc, argv, &i, "--vdev", NULL)) != NULL) {
			if (strncmp(v, "net_af_xdp", 10) == 0 && a->n_xdp < MAX_LIST)
				a->xdp[a->n_xdp++] = v;
		}
	}
}

/* devarg "key=value" of a vdev string, copied into buf; NULL if absent */
static const char *
devarg(const char *vdev, const char *key, char *buf, size_t len)
{
	size_t n = strlen(key);

	for (const char *p = strchr(vdev, ','); p != NULL; p = strchr(p + 1, ',')) {
		if (strncmp(p + 1, key, n) == 0 && p[1 + n] == '=') {
			const char *v = p + 2 + n;
			size_t vl = strcspn(v, ",");

			if (vl >= len)
				vl = len - 1;
			memcpy(buf, v, vl);
			buf[vl] = '\0';
			return buf;
		}
	}
	return NULL;
}

/* ---- hugepages ---- */

/* the hugetlbfs mount point (under the root) and its page size in kB */
static bool
find_hugetlbfs(const struct pf_ctx *c, const char *want_dir, char *mnt, size_t len,
	       unsigned long *page_kb)
{
	char p[PATH_MAX], line[1024], dev[256], dir[PATH_MAX], type[64], opts[512];
	FILE *f = fopen(path(c, p, sizeof(p), "/proc/mounts"), "r");
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *ps;

		if (sscanf(line, "%255s %4095s %63s %511s", dev, dir, type, opts) != 4 ||
		    strcmp(type, "hugetlbfs") != 0)
			continue;
		if (want_dir != NULL && strcmp(dir, want_dir) != 0)
			continue;
		ps = strstr(opts, "pagesize=");
		*page_kb = 2048;
		if (ps != NULL) {
			char unit = 'K';
			unsigned long v = 0;

			if (sscanf(ps + 9, "%lu%c", &v, &unit) >= 1)
				*page_kb = unit == 'G' ? v << 20 : unit == 'M' ? v << 10 : v;
		}
		snprintf(mnt, len, "%s%s", c->root, dir);
		found = true;
	}
	fclose(f);
	return found;
}

/* bytes of free hugepages of every size */
static unsigned long long
free_huge_bytes(const struct pf_ctx *c)
{
	char p[PATH_MAX], f[PATH_MAX + 300];
	unsigned long long total = 0, n;
	struct dirent *e;
	DIR *d = opendir(path(c, p, sizeof(p), "/sys/kernel/mm/hugepages"));

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		unsigned long kb;

		if (sscanf(e->d_name, "hugepages-%lukB", &kb) != 1)
			continue;
		snprintf(f, sizeof(f), "%s/%s/free_hugepages", p, e->d_name);
		if (read_ull(f, &n))
			total += n * kb * 1024ull;
	}
	closedir(d);
	return total;
}

/* files of this prefix in the mount that no process holds (EAL keeps a
 * shared flock on every hugepage file it maps, so a free lock = stale) */
static unsigned
stale_files(const char *mnt, const char *prefix, unsigned long long *bytes)
{
	char pat[PATH_MAX], f[PATH_MAX * 2];
	struct dirent *e;
	unsigned n = 0;
	DIR *d = opendir(mnt);

	*bytes = 0;
	if (d == NULL)
		return 0;
	snprintf(pat, sizeof(pat), "%smap_*", prefix);
	while ((e = readdir(d)) != NULL) {
		struct stat st;
		int fd;

		if (fnmatch(pat, e->d_name, 0) != 0)
			continue;
		snprintf(f, sizeof(f), "%s/%s", mnt, e->d_name);
		fd = open(f, O_RDONLY);
		if (fd < 0)
			continue;
		if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
			n++;
			if (fstat(fd, &st) == 0)
				*bytes += (unsigned long long)st.st_size;
			flock(fd, LOCK_UN);
		}
		close(fd);
	}
	closedir(d);
	return n;
}

static void
check_hugepages(struct pf_ctx *c, const struct pf_args *a)
{
	char mnt[PATH_MAX], fix[PATH_MAX + 256];
	unsigned long page_kb = 2048;
	unsigned long long need, have, stale_b = 0;
	unsigned stale;

	if (a->no_huge) {
		pass(c, "hugepages", "--no-huge: not used");
		return;
	}
	if (!find_hugetlbfs(c, a->huge_dir, mnt, sizeof(mnt), &page_kb)) {
		if (a->huge_dir != NULL)
			snprintf(fix, sizeof(fix), "mkdir -p %s && mount -t hugetlbfs nodev %s",
				 a->huge_dir, a->huge_dir);
		else
			snprintf(fix, sizeof(fix), "mkdir -p /dev/hugepages && "
				 "mount -t hugetlbfs nodev /dev/hugepages");
		fail(c, "hugetlbfs", fix, "no hugetlbfs mounted%s%s (in %s/proc/mounts)",
		     a->huge_dir ? " on " : "", a->huge_dir ? a->huge_dir : "", c->root);
		return;
	}
	pass(c, "hugetlbfs", "mounted on %s (%lu kB pages)", mnt, page_kb);
	stale = (a->in_memory || a->huge_unlink) ? 0 : stale_files(mnt, a->prefix, &stale_b);
	if (stale > 0) {
		snprintf(fix, sizeof(fix), "rm -f %s/%smap_*", mnt, a->prefix);
		fail(c, "stale-hugepages", fix,
		     "%u hugepage file(s) of --file-prefix %s (%llu MB) left by a process that is "
		     "gone", stale, a->prefix, stale_b >> 20);
	} else {
		pass(c, "stale-hugepages", "none of --file-prefix %s", a->prefix);
	}
	/* without -m / --socket-mem the EAL takes what it finds: one page at least */
	need = a->mem_mb ? a->mem_mb << 20 : page_kb * 1024ull;
	have = free_huge_bytes(c);
	if (have < need) {
		unsigned long long pages = (need + page_kb * 1024ull - 1) / (page_kb * 1024ull);
		unsigned long long nr = 0;
		char p[PATH_MAX];

		path(c, p, sizeof(p), "/sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages",
		     page_kb);
		read_ull(p, &nr);
		snprintf(fix, sizeof(fix),
			 "echo %llu > /sys/kernel/mm/hugepages/hugepages-%lukB/nr_hugepages "
			 "(or run with --no-huge -m %llu)",
			 nr + pages - (have / (page_kb * 1024ull)), page_kb, need >> 20);
		fail(c, "hugepages", fix, "%llu MB of hugepages free, %llu MB needed%s",
		     have >> 20, need >> 20, a->mem_mb ? "" : " (no -m given: one page)");
	} else {
		pass(c, "hugepages", "%llu MB free, %llu MB needed", have >> 20, need >> 20);
	}
}

/* ---- PCI: IOMMU, vfio-pci, binding ---- */

static void
check_pci(struct pf_ctx *c, const struct pf_args *a)
{
	char p[PATH_MAX], fix[512];
	bool iommu = false;
	struct dirent *e;
	struct stat st;
	DIR *d;

	if (a->n_pci == 0 || a->no_pci)
		return;
	d = opendir(path(c, p, sizeof(p), "/sys/class/iommu"));
	while (d != NULL && (e = readdir(d)) != NULL)
		iommu |= e->d_name[0] != '.';
	if (d != NULL)
		closedir(d);
	if (!iommu)
		fail(c, "iommu", "add 'intel_iommu=on iommu=pt' (AMD: 'amd_iommu=on iommu=pt') to "
		     "GRUB_CMDLINE_LINUX in /etc/default/grub, then update-grub && reboot "
		     "(docs/pci.md)", "no IOMMU enabled (%s is empty)", p);
	else
		pass(c, "iommu", "enabled");
	if (stat(path(c, p, sizeof(p), "/sys/bus/pci/drivers/vfio-pci"), &st) != 0) {
		fail(c, "vfio-pci", "modprobe vfio-pci", "the vfio-pci driver is not loaded (no %s)", p);
		return;
	}
	pass(c, "vfio-pci", "loaded");
	for (unsigned i = 0; i < a->n_pci; i++) {
		char addr[32], link[PATH_MAX], *drv;
		ssize_t n;

		/* the sysfs name is always DDDD:BB:DD.F */
		snprintf(addr, sizeof(addr), "%s%.*s", strlen(a->pci[i]) > 7 &&
			 a->pci[i][4] == ':' ? "" : "0000:", (int)strcspn(a->pci[i], ","),
			 a->pci[i]);
		if (stat(path(c, p, sizeof(p), "/sys/bus/pci/devices/%s", addr), &st) != 0) {
			fail(c, "pci-device", "dpdk-devbind.py --status (and -a the address it lists)",
			     "no PCI device %s", addr);
			continue;
		}
		n = readlink(path(c, p, sizeof(p), "/sys/bus/pci/devices/%s/driver", addr), link,
			     sizeof(link) - 1);
		link[n > 0 ? n : 0] = '\0';
		drv = strrchr(link, '/') ? strrchr(link, '/') + 1 : link;
		if (strcmp(drv, "vfio-pci") != 0) {
			snprintf(fix, sizeof(fix), "dpdk-devbind.py -b vfio-pci %s", addr);
			fail(c, "pci-driver", fix, "%s is bound to %s, not vfio-pci", addr,
			     *drv ? drv : "no driver");
		} else {
			pass(c, "pci-driver", "%s on vfio-pci", addr);
		}
	}
}

/* ---- memlock (AF_XDP umem) ---- */

static bool
has_cap_ipc_lock(const struct pf_ctx *c)
{
	char p[PATH_MAX], line[256];
	unsigned long long caps = 0;
	FILE *f = fopen(path(c, p, sizeof(p), "/proc/self/status"), "r");

	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
		if (sscanf(line, "CapEff: %llx", &caps) == 1)
			break;
	fclose(f);
	return (caps >> CAP_IPC_LOCK_BIT) & 1;
}

static void
check_memlock(struct pf_ctx *c, const struct pf_args *a)
{
	unsigned long long need = 0;
	struct rlimit rl;
	char buf[32], fix[256];

	if (a->n_xdp == 0)
		return;
	for (unsigned i = 0; i < a->n_xdp; i++)
		need += AF_XDP_UMEM_BYTES *
			(devarg(a->xdp[i], "queue_count", buf, sizeof(buf)) ? strtoull(buf, NULL, 10) : 1);
	if (has_cap_ipc_lock(c)) {
		pass(c, "memlock", "CAP_IPC_LOCK: umem (%llu MB) not limited", need >> 20);
		return;
	}
	if (getrlimit(RLIMIT_MEMLOCK, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need) {
		pass(c, "memlock", "limit allows %llu MB of umem", need >> 20);
		return;
	}
	snprintf(fix, sizeof(fix), "ulimit -l %llu (or unlimited; systemd: LimitMEMLOCK=infinity)",
		 (need >> 10) + 1024);
	fail(c, "memlock", fix, "RLIMIT_MEMLOCK is %llu kB, the AF_XDP umem needs %llu kB",
	     (unsigned long long)rl.rlim_cur >> 10, need >> 10);
}

/* ---- CPU features of --arch ---- */

static bool
cpu_flags(const struct pf_ctx *c, char *flags, size_t len)
{
	char p[PATH_MAX], line[8192];
	FILE *f = fopen(path(c, p, sizeof(p), "/proc/cpuinfo"), "r");
	bool found = false;

	if (f == NULL)
		return false;
	while (!found && fgets(line, sizeof(line), f) != NULL) {
		char *colon = strchr(line, ':');

		if (strncmp(line, "flags", 5) != 0 || colon == NULL)
			continue;
		snprintf(flags, len, " %s", colon + 1);
		flags[strcspn(flags, "\n")] = ' ';
		found = true;
	}
	fclose(f);
	return found;
}

static void
check_cpu(struct pf_ctx *c, const struct pf_args *a)
{
	static const struct {
		const char *arch;
		const char *need[6];
	} req[] = {
		{ "sse", { "sse4_2", "aes", "pclmulqdq" } },
		{ "avx", { "sse4_2", "aes", "pclmulqdq", "avx" } },
		{ "avx2", { "sse4_2", "aes", "pclmulqdq", "avx", "avx2" } },
		{ "avx512", { "sse4_2", "aes", "pclmulqdq", "avx512f", "vaes", "vpclmulqdq" } },
	};
	char flags[8192], word[40], missing[256] = "";

	if (a->arch == NULL || strcmp(a->arch, "auto") == 0 || strcmp(a->arch, "libsrtp") == 0)
		return;
	for (unsigned i = 0; i < sizeof(req) / sizeof(req[0]); i++) {
		if (strcmp(req[i].arch, a->arch) != 0)
			continue;
		if (!cpu_flags(c, flags, sizeof(flags))) {
			warn(c, "cpu", "cannot read %s/proc/cpuinfo: --arch %s not checked", c->root,
			     a->arch);
			return;
		}
		for (unsigned j = 0; j < 6 && req[i].need[j] != NULL; j++) {
			snprintf(word, sizeof(word), " %s ", req[i].need[j]);
			if (strstr(flags, word) == NULL)
				snprintf(missing + strlen(missing), sizeof(missing) - strlen(missing),
					 "%s%s", *missing ? " " : "", req[i].need[j]);
		}
		if (*missing)
			fail(c, "cpu", "run with -- --arch auto (the best this CPU offers)",
			     "--arch %s needs CPU features this CPU lacks: %s", a->arch, missing);
		else
			pass(c, "cpu", "--arch %s: CPU has what it needs", a->arch);
	}
}

/* ---- net_af_xdp: interface, object file, the kernel loads and attaches ---- */

static bool
check_xdp_object(struct pf_ctx *c, const char *prog)
{
	libbpf_print_fn_t old_print;
	struct bpf_object *obj;
	char fix[PATH_MAX + 128];
	bool ok;

	snprintf(fix, sizeof(fix), "ninja -C build (then xdp_prog=build/dataplane/xdp/perc_xdp.bpf.o"
		 " or, installed, %s)", PERC_XDP_OBJ_INSTALLED);
	if (access(prog, R_OK) != 0) {
		fail(c, "xdp-prog", fix, "cannot read xdp_prog %s: %s", prog, strerror(errno));
		return false;
	}
	/* our message says what is wrong: not libbpf's lines before it */
	old_print = libbpf_set_print(NULL);
	obj = bpf_object__open_file(prog, NULL);
	libbpf_set_print(old_print);
	if (obj == NULL) {
		fail(c, "xdp-prog", fix, "xdp_prog %s is not a BPF object file", prog);
		return false;
	}
	ok = bpf_object__find_map_by_name(obj, "xsks_map") != NULL &&
	     bpf_object__find_map_by_name(obj, PERC_XDP_CFG_MAP) != NULL &&
	     bpf_object__find_map_by_name(obj, PERC_XDP_CNT_MAP) != NULL;
	bpf_object__close(obj);
	if (!ok)
		fail(c, "xdp-prog", fix, "xdp_prog %s is not perc's program (no xsks_map / %s / %s "
		     "map)", prog, PERC_XDP_CFG_MAP, PERC_XDP_CNT_MAP);
	else
		pass(c, "xdp-prog", "%s is perc's program", prog);
	return ok;
}

/*
 * The queues the PMD will open must exist as combined channels: DPDK 22.11
 * reads ETHTOOL_GCHANNELS and takes 1 when the driver reports none (veth).
 */
static void
check_xdp_queues(struct pf_ctx *c, const char *ifname, const char *vdev)
{
	struct ethtool_channels ch = { .cmd = ETHTOOL_GCHANNELS };
	struct ifreq ifr;
	unsigned long start = 0, count = 1, combined = 1, max = 1;
	char buf[32], fix[256], why[160] = "";
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (devarg(vdev, "start_queue", buf, sizeof(buf)) != NULL)
		start = strtoul(buf, NULL, 10);
	if (devarg(vdev, "queue_count", buf, sizeof(buf)) != NULL)
		count = strtoul(buf, NULL, 10);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%.*s", IF_NAMESIZE - 1, ifname);
	ifr.ifr_data = (void *)&ch;
	if (fd >= 0 && ioctl(fd, SIOCETHTOOL, &ifr) == 0) {
		if (ch.max_combined != 0) {
			combined = ch.combined_count;
			max = ch.max_combined;
		} else if (ch.rx_count > 1 || ch.tx_count > 1) {
			/* a veth: real queues, but not where 22.11 looks */
			snprintf(why, sizeof(why), "; its driver reports %u RX / %u TX channel(s) "
				 "but no combined ones, and DPDK 22.11's net_af_xdp counts only "
				 "combined channels", ch.rx_count, ch.tx_count);
		}
	}
	if (fd >= 0)
		close(fd);
	if (count <= combined && start + count <= max) {
		pass(c, "xdp-queues", "%s: queues %lu..%lu of %lu", ifname, start, start + count - 1,
		     combined);
		return;
	}
	if (start + count <= max)
		snprintf(fix, sizeof(fix), "ethtool -L %s combined %lu", ifname, start + count);
	else
		snprintf(fix, sizeof(fix), "start_queue=0,queue_count=%lu (and -l with at most "
			 "that many worker lcores)", max);
	fail(c, "xdp-queues", fix, "%s has %lu combined queue(s) (at most %lu), start_queue=%lu "
	     "queue_count=%lu asks for more%s", ifname, combined, max, start, count, why);
}

/* load the skeleton's copy of the program and attach it for a moment */
static void
check_xdp_attach(struct pf_ctx *c, const char *ifname)
{
	struct perc_xdp *skel;
	char fix[256];
	uint32_t id = 0;
	int ifindex = (int)if_nametoindex(ifname), r;

	if (bpf_xdp_query_id(ifindex, 0, &id) == 0 && id != 0) {
		snprintf(fix, sizeof(fix), "ip link set dev %s xdp off (if nothing else needs "
			 "program %u: bpftool net show dev %s)", ifname, id, ifname);
		fail(c, "xdp-attach", fix, "%s already runs XDP program %u", ifname, id);
		return;
	}
	skel = perc_xdp__open_and_load();
	if (skel == NULL) {
		fail(c, "xdp-attach", "run perc-mdd as root (or with CAP_BPF, CAP_NET_ADMIN, "
		     "CAP_NET_RAW, CAP_IPC_LOCK)", "the kernel refuses to load the XDP program: %s",
		     strerror(errno));
		return;
	}
	r = bpf_xdp_attach(ifindex, bpf_program__fd(skel->progs.perc_xdp),
			   XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	if (r == 0) {
		bpf_xdp_detach(ifindex, 0, NULL);
		pass(c, "xdp-attach", "%s accepts perc's XDP program", ifname);
	} else {
		char p[PATH_MAX];
		unsigned long long mtu = 0;

		/* without multi-buffer support a frame must fit one page */
		if (read_ull(path(c, p, sizeof(p), "/sys/class/net/%s/mtu", ifname), &mtu) &&
		    mtu > 3498)
			snprintf(fix, sizeof(fix), "ip link set dev %s mtu 1500 (XDP takes frames of "
				 "one page: MTU 3498 at most; for a veth its peer too)", ifname);
		else
			snprintf(fix, sizeof(fix), "ip -d link show dev %s (the driver must support "
				 "XDP; docs/afxdp.md)", ifname);
		fail(c, "xdp-attach", fix, "%s refuses the XDP program: %s", ifname, strerror(-r));
	}
	perc_xdp__destroy(skel);
}

static void
check_xdp(struct pf_ctx *c, const struct pf_args *a)
{
	for (unsigned i = 0; i < a->n_xdp; i++) {
		char ifname[IF_NAMESIZE + 8], prog[PATH_MAX], p[PATH_MAX];
		struct stat st;
		bool prog_ok = true;

		if (devarg(a->xdp[i], "iface", ifname, sizeof(ifname)) == NULL) {
			fail(c, "xdp-iface", "--vdev net_af_xdp0,iface=IFNAME,xdp_prog=perc_xdp.bpf.o",
			     "%s names no iface=", a->xdp[i]);
			continue;
		}
		if (stat(path(c, p, sizeof(p), "/sys/class/net/%s", ifname), &st) != 0) {
			fail(c, "xdp-iface", "ip -br link (and give iface= one of its names)",
			     "no network interface %s", ifname);
			continue;
		}
		pass(c, "xdp-iface", "%s exists", ifname);
		if (devarg(a->xdp[i], "xdp_prog", prog, sizeof(prog)) == NULL)
			warn(c, "xdp-prog", "%s: no xdp_prog=: the PMD's default program sends every "
			     "frame of the queue to perc-mdd, none to the kernel (ARP, SSH); give "
			     "xdp_prog=perc_xdp.bpf.o (docs/afxdp.md)", ifname);
		else
			prog_ok = check_xdp_object(c, prog);
		/* the kernel part cannot be faked: only on the real system */
		if (*c->root == '\0')
			check_xdp_queues(c, ifname, a->xdp[i]);
		if (prog_ok && *c->root == '\0')
			check_xdp_attach(c, ifname);
	}
}

enum mdd_preflight_mode
mdd_preflight_mode(int *argc, char **argv)
{
	enum mdd_preflight_mode m = MDD_PREFLIGHT_RUN;
	int j = 0;

	for (int i = 0; i < *argc; i++) {
		if (strcmp(argv[i], "--preflight") == 0) {
			m = MDD_PREFLIGHT_ONLY;
			continue;
		}
		if (strcmp(argv[i], "--no-preflight") == 0) {
			if (m != MDD_PREFLIGHT_ONLY)
				m = MDD_PREFLIGHT_SKIP;
			continue;
		}
		argv[j++] = argv[i];
	}
	/* a trailing "--" left alone is harmless for EAL and getopt */
	*argc = j;
	argv[j] = NULL;
	return m;
}

int
mdd_preflight(int argc, char **argv, int verbose, FILE *out)
{
	struct pf_ctx c = { .root = getenv("PERC_PREFLIGHT_ROOT"), .verbose = verbose, .out = out };
	struct pf_args a;

	if (c.root == NULL)
		c.root = "";
	parse_args(argc, argv, &a);
	check_hugepages(&c, &a);
	check_pci(&c, &a);
	check_memlock(&c, &a);
	check_cpu(&c, &a);
	check_xdp(&c, &a);
	if (verbose)
		fprintf(out, "preflight: %s (%d failed)\n", c.fails ? "FAIL" : "ok", c.fails);
	return c.fails;
}
