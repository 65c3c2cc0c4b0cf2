/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * mm.h - memory helpers for cowlab test programs (header-only).
 *
 * pagemap / kpageflags, THP allocation + verification, pageout to swap,
 * hugetlb, NUMA node discovery, gup_test ioctl definitions + detection,
 * data patterns.  Logic follows the kernel selftests
 * (tools/testing/selftests/mm/cow.c and vm_util.c, GPL-2.0, David
 * Hildenbrand / Red Hat and others).
 *
 * Memory-type setup helpers report SKIP/ERROR themselves through ktap.h
 * and return -1; on success they return 0.
 */
#ifndef COWLAB_MM_H
#define COWLAB_MM_H

#include "ktap.h"

#include <fcntl.h>
#include <inttypes.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#ifndef MADV_PAGEOUT
#define MADV_PAGEOUT 21
#endif
#ifndef MADV_HUGEPAGE
#define MADV_HUGEPAGE 14
#endif
#ifndef MADV_NOHUGEPAGE
#define MADV_NOHUGEPAGE 15
#endif
#ifndef MAP_HUGETLB
#define MAP_HUGETLB 0x40000
#endif
#ifndef MAP_HUGE_SHIFT
#define MAP_HUGE_SHIFT 26
#endif

/* /proc/PID/pagemap bits (Documentation/admin-guide/mm/pagemap.rst) */
#define PM_PFN_MASK ((1ULL << 55) - 1)
#define PM_SOFT_DIRTY (1ULL << 55)
#define PM_MMAP_EXCLUSIVE (1ULL << 56)
#define PM_FILE (1ULL << 61)
#define PM_SWAP (1ULL << 62)
#define PM_PRESENT (1ULL << 63)

/* /proc/kpageflags bits (include/uapi/linux/kernel-page-flags.h) */
#define KPF_LRU 5
#define KPF_ANON 12
#define KPF_SWAPCACHE 13
#define KPF_COMPOUND_HEAD 15
#define KPF_COMPOUND_TAIL 16
#define KPF_HUGE 17
#define KPF_THP 22

/* ---------------------------------------------------------------- basics */

static inline size_t mm_pagesize(void)
{
	static size_t ps;

	if (!ps)
		ps = (size_t)sysconf(_SC_PAGESIZE);
	return ps;
}

/* Read a small sysfs/procfs file into buf (NUL-terminated, trailing \n cut). */
static inline int mm_read_file(const char *path, char *buf, size_t len)
{
	int fd = open(path, O_RDONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = read(fd, buf, len - 1);
	close(fd);
	if (r < 0)
		return -1;
	buf[r] = 0;
	while (r > 0 && (buf[r - 1] == '\n' || buf[r - 1] == ' '))
		buf[--r] = 0;
	return 0;
}

static inline int mm_write_file(const char *path, const char *s)
{
	int fd = open(path, O_WRONLY);
	ssize_t r;

	if (fd < 0)
		return -1;
	r = write(fd, s, strlen(s));
	close(fd);
	return r == (ssize_t)strlen(s) ? 0 : -1;
}

/* Value of "Key:" in /proc/meminfo (kB or count), -1 if absent. */
static inline long mm_meminfo(const char *key)
{
	char line[256];
	size_t kl = strlen(key);
	long val = -1;
	FILE *f = fopen("/proc/meminfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, key, kl) && line[kl] == ':') {
			val = strtol(line + kl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* ----------------------------------------------------- pagemap/kpageflags */

/* fd cached per process: a forked child must not read its parent's pagemap */
static inline int mm_pagemap_fd(void)
{
	static int fd = -1;
	static pid_t owner;

	if (fd >= 0 && owner != getpid()) {
		close(fd);
		fd = -1;
	}
	if (fd < 0) {
		fd = open("/proc/self/pagemap", O_RDONLY);
		owner = getpid();
	}
	return fd;
}

/* Returns the pagemap entry of addr, 0 on error (errno set). */
static inline uint64_t mm_pagemap(const void *addr)
{
	uint64_t ent = 0;
	int fd = mm_pagemap_fd();
	off_t off = (off_t)((uintptr_t)addr / mm_pagesize()) * 8;

	if (fd < 0)
		return 0;
	if (pread(fd, &ent, sizeof(ent), off) != sizeof(ent))
		return 0;
	return ent;
}

static inline bool mm_is_present(const void *addr)
{
	return mm_pagemap(addr) & PM_PRESENT;
}

static inline bool mm_is_swapped(const void *addr)
{
	return mm_pagemap(addr) & PM_SWAP;
}

/* PFN of a present page, 0 if not present or hidden (no CAP_SYS_ADMIN). */
static inline uint64_t mm_pfn(const void *addr)
{
	uint64_t ent = mm_pagemap(addr);

	if (!(ent & PM_PRESENT))
		return 0;
	return ent & PM_PFN_MASK;
}

/*
 * Number of pages in [addr, addr+size) with the swap bit set: one pread() per 512
 * entries, as a THP's 512 single reads were a visible part of every swap-out check.
 */
static inline size_t mm_count_swapped(const void *addr, size_t size)
{
	size_t n = 0, ps = mm_pagesize(), pages = size / ps;
	int fd = mm_pagemap_fd();
	uint64_t ent[512];

	for (size_t i = 0; i < pages && fd >= 0; i += 512) {
		size_t k = pages - i < 512 ? pages - i : 512;
		off_t off = (off_t)((uintptr_t)addr / ps + i) * 8;

		if (pread(fd, ent, k * 8, off) != (ssize_t)(k * 8))
			break;
		for (size_t j = 0; j < k; j++)
			n += !!(ent[j] & PM_SWAP);
	}
	return n;
}

static inline size_t mm_count_present(const void *addr, size_t size)
{
	size_t n = 0, ps = mm_pagesize();

	for (size_t off = 0; off < size; off += ps)
		if (mm_is_present((const char *)addr + off))
			n++;
	return n;
}

/* kpageflags of pfn; returns 0 and sets *flags, -1 if unreadable. */
static inline int mm_kpageflags(uint64_t pfn, uint64_t *flags)
{
	int fd;
	int ok;

	if (!pfn)
		return -1;
	fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0)
		return -1;
	ok = pread(fd, flags, sizeof(*flags), (off_t)(pfn * 8)) == sizeof(*flags);
	close(fd);
	return ok ? 0 : -1;
}

/* ------------------------------------------------------------------ smaps */

/*
 * Value in kB of an smaps field ("AnonHugePages", "Swap", "Rss", ...) of the
 * VMA containing addr; -1 if not found.
 */
static inline long mm_smaps_field(const void *addr, const char *field)
{
	char line[512];
	unsigned long start, end, a = (unsigned long)(uintptr_t)addr;
	size_t fl = strlen(field);
	int in = 0;
	long val = -1;
	FILE *f = fopen("/proc/self/smaps", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		char perms[8];

		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) == 3 &&
		    strchr(line, '-') && strlen(perms) == 4) {
			if (in)
				break;
			in = (a >= start && a < end);
			continue;
		}
		if (in && !strncmp(line, field, fl) && line[fl] == ':') {
			val = strtol(line + fl + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return val;
}

/* ---------------------------------------------------------------- patterns */

/* Deterministic pattern; bytes are always <= 250 (never 0xff). */
static inline unsigned char mm_pat(size_t off, unsigned seed)
{
	return (unsigned char)((off + (off >> 12) * 7 + seed) % 251);
}

static inline void mm_fill(void *mem, size_t size, unsigned seed)
{
	unsigned char *p = mem;

	for (size_t i = 0; i < size; i++)
		p[i] = mm_pat(i, seed);
}

/* First offset where mem differs from the pattern, or -1. */
static inline long mm_check_fill(const void *mem, size_t size, unsigned seed)
{
	const unsigned char *p = mem;

	for (size_t i = 0; i < size; i++)
		if (p[i] != mm_pat(i, seed))
			return (long)i;
	return -1;
}

/* First differing offset of a and b, or -1. Counts differing bytes. */
static inline long mm_first_diff(const void *a, const void *b, size_t n,
				 size_t *ndiff)
{
	const unsigned char *x = a, *y = b;
	long first = -1;
	size_t cnt = 0;

	for (size_t i = 0; i < n; i++) {
		if (x[i] != y[i]) {
			if (first < 0)
				first = (long)i;
			cnt++;
		}
	}
	if (ndiff)
		*ndiff = cnt;
	return first;
}

/*
 * "what: byte[off]=0xGG expected 0xEE (N of M bytes differ)" for got vs exp.
 * Returns the number of differing bytes (0: equal, out untouched).
 */
static inline size_t mm_describe_diff(char *out, size_t len, const char *what,
				      const void *got, const void *exp, size_t n)
{
	size_t nd = 0;
	long off = mm_first_diff(got, exp, n, &nd);

	if (off >= 0)
		snprintf(out, len, "%s: byte[%ld]=0x%02x expected 0x%02x (%zu of %zu bytes differ)",
			 what, off, ((const unsigned char *)got)[off],
			 ((const unsigned char *)exp)[off], nd, n);
	return nd;
}

/* ---------------------------------------------------------------- THP */

static inline size_t mm_thp_size(void)
{
	char buf[64];

	if (mm_read_file("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size",
			 buf, sizeof(buf)))
		return 0;
	return (size_t)strtoull(buf, NULL, 10);
}

/* 1 = THP (kpageflags THP bit), 0 = not, -1 = unknown (not readable). */
static inline int mm_page_is_thp(const void *addr)
{
	uint64_t flags;

	if (mm_kpageflags(mm_pfn(addr), &flags))
		return -1;
	return !!(flags & (1ULL << KPF_THP));
}

/* ---------------------------------------------------------------- swap */

static inline long mm_swap_total_kb(void)
{
	return mm_meminfo("SwapTotal");
}

/* Swap-out gives up after this many rounds over the CPUs and this long, whichever is later. */
#define MM_PAGEOUT_ROUNDS 5
#define MM_PAGEOUT_BOUND_MS 100

/*
 * MADV_PAGEOUT [addr, addr+size) until every page has the pagemap swap bit; returns how
 * many have it, or -errno of a failing madvise().  A page that misses it after the first
 * call is a freshly faulted one still in another CPU's LRU add batch, off the LRU, where
 * MADV_PAGEOUT cannot isolate it: the call drains only the batch of the CPU it runs on
 * (lru_add_drain()), and nothing drains the others soon.  So rather than sleeping and
 * hoping the task moves (as this did, 10 ms a try), the call is repeated on each CPU in
 * turn (sched_setaffinity(); every CPU the kernel knows, not only those of the caller's
 * mask, which may have been another when the pages were faulted), which drains every
 * batch, and stops as soon as every page is swapped.  A page that still misses the bit
 * after MM_PAGEOUT_ROUNDS rounds and MM_PAGEOUT_BOUND_MS is held by something else: the
 * caller SKIPs.  The rounds are an idle wait (ktap.h).
 */
static inline long mm_pageout(void *addr, size_t size)
{
	size_t npages = size / mm_pagesize(), sw;
	long long begun, t0;
	cpu_set_t mask, one;
	long cpus = sysconf(_SC_NPROCESSORS_CONF);
	int own_mask, rc = 0;

	if (madvise(addr, size, MADV_PAGEOUT))
		return -errno;
	sw = mm_count_swapped(addr, size);
	if (sw == npages)
		return (long)sw;
	begun = ktap_wait_begin();
	t0 = ktap_now_ms();
	own_mask = sched_getaffinity(0, sizeof(mask), &mask) == 0;
	for (int round = 0; sw < npages && !rc &&
	     (round < MM_PAGEOUT_ROUNDS || ktap_now_ms() - t0 < MM_PAGEOUT_BOUND_MS); round++) {
		for (int cpu = 0; cpu < CPU_SETSIZE && (cpu < cpus || !cpu) && sw < npages; cpu++) {
			if (own_mask) {
				CPU_ZERO(&one);
				CPU_SET(cpu, &one);
				if (sched_setaffinity(0, sizeof(one), &one))
					continue;	/* offline, or outside our cpuset */
			} else if (cpu) {
				break;	/* no mask to put back: retry where we are */
			}
			if (madvise(addr, size, MADV_PAGEOUT)) {
				rc = -errno;
				break;
			}
			sw = mm_count_swapped(addr, size);
		}
		sched_yield();
	}
	if (own_mask)
		sched_setaffinity(0, sizeof(mask), &mask);
	ktap_wait_end(begun);
	return rc ? rc : (long)sw;
}

/* mm_pageout(), requiring every page swapped.  Returns 0 ok; -1 after reporting SKIP/ERROR. */
static inline int mm_pageout_or_report(void *addr, size_t size)
{
	size_t npages = size / mm_pagesize();
	long sw;

	if (mm_swap_total_kb() == 0) {
		ktap_skip("no swap configured (SwapTotal=0 kB)");
		return -1;
	}
	sw = mm_pageout(addr, size);
	if (sw == -EINVAL) {
		ktap_skip("MADV_PAGEOUT not supported: %s", strerror(EINVAL));
		return -1;
	}
	if (sw < 0) {
		ktap_error("MADV_PAGEOUT failed: %s", strerror((int)-sw));
		return -1;
	}
	if ((size_t)sw == npages)
		return 0;
	ktap_skip("page not swapped out by MADV_PAGEOUT (%ld/%zu pages have pagemap swap bit; SwapTotal=%ld kB, SwapFree=%ld kB)",
		  sw, npages, mm_swap_total_kb(), mm_meminfo("SwapFree"));
	return -1;
}

/* ---------------------------------------------------------------- NUMA */

/* Parse a cpulist-style node list ("0-1,3"); returns count, fills nodes[]. */
static inline int mm_parse_list(const char *s, int *nodes, int max)
{
	int n = 0;

	while (*s) {
		char *end;
		long a = strtol(s, &end, 10), b;

		if (end == s)
			break;
		b = a;
		s = end;
		if (*s == '-') {
			b = strtol(s + 1, &end, 10);
			s = end;
		}
		for (long i = a; i <= b && n < max; i++)
			nodes[n++] = (int)i;
		if (*s == ',')
			s++;
		else
			break;
	}
	return n;
}

/* Nodes with memory (has_memory, else online). Returns count (>=1 assumed). */
static inline int mm_numa_nodes(int *nodes, int max)
{
	char buf[256];

	if (!mm_read_file("/sys/devices/system/node/has_memory", buf, sizeof(buf)) ||
	    !mm_read_file("/sys/devices/system/node/online", buf, sizeof(buf)))
		return mm_parse_list(buf, nodes, max);
	return 0;
}

#ifndef MPOL_MF_MOVE
#define MPOL_MF_MOVE (1 << 1)
#endif

/*
 * move_pages(2) on our own process (raw syscall, no libnuma).  nodes == NULL
 * queries the node of each page into status.  Returns the syscall result
 * (0, or number of pages not migrated, or -1/errno).
 */
static inline long mm_move_pages(unsigned long count, void **pages,
				 const int *nodes, int *status)
{
	return syscall(SYS_move_pages, 0, count, pages, nodes, status, MPOL_MF_MOVE);
}

/* Node of the page at addr (>= 0), or -errno from the status. */
static inline int mm_page_node(void *addr)
{
	int status = -1;
	void *pages[1] = { addr };

	if (mm_move_pages(1, pages, NULL, &status) < 0)
		return -errno;
	return status;
}

/* ------------------------------------------------------------- hugetlb */

static inline size_t mm_hugetlb_size(void)
{
	long kb = mm_meminfo("Hugepagesize");

	return kb > 0 ? (size_t)kb * 1024 : 0;
}

/* ------------------------------------------------------------- gup_test */
/* Copied from mm/gup_test.h (Linux 6.12), so we compile against any UAPI. */
struct cowlab_gup_test {
	uint64_t get_delta_usec;
	uint64_t put_delta_usec;
	uint64_t addr;
	uint64_t size;
	uint32_t nr_pages_per_call;
	uint32_t gup_flags;
	uint32_t test_flags;
	uint32_t which_pages[8];
};

struct cowlab_pin_longterm_test {
	uint64_t addr;
	uint64_t size;
	uint32_t flags;
};

#define COWLAB_PIN_LONGTERM_TEST_START _IOW('g', 7, struct cowlab_pin_longterm_test)
#define COWLAB_PIN_LONGTERM_TEST_STOP _IO('g', 8)
#define COWLAB_PIN_LONGTERM_TEST_READ _IOW('g', 9, uint64_t)
#define COWLAB_PIN_LONGTERM_TEST_FLAG_USE_WRITE 1
#define COWLAB_PIN_LONGTERM_TEST_FLAG_USE_FAST 2

/*
 * Open gup_test and check PIN_LONGTERM_TEST_* support (6.2+).  Returns fd,
 * or -1 with a SKIP reason in why.
 */
static inline int mm_gup_test_open(char *why, size_t len)
{
	struct stat st;
	int fd;

	fd = open("/sys/kernel/debug/gup_test", O_RDWR);
	if (fd < 0) {
		int e = errno;

		if (!stat("/sys/kernel/debug/gup_benchmark", &st))
			snprintf(why, len, "no /sys/kernel/debug/gup_test (only gup_benchmark: Linux <5.11, no PIN_LONGTERM_TEST)");
		else if (stat("/sys/kernel/debug", &st) || !st.st_nlink)
			snprintf(why, len, "debugfs not available (/sys/kernel/debug)");
		else
			snprintf(why, len, "cannot open /sys/kernel/debug/gup_test: %s (CONFIG_GUP_TEST?)",
				 strerror(e));
		return -1;
	}
	/* STOP without an active pin is a no-op on 6.2+, EINVAL before. */
	if (ioctl(fd, COWLAB_PIN_LONGTERM_TEST_STOP)) {
		snprintf(why, len, "gup_test PIN_LONGTERM_TEST needs Linux 6.2+ (got %s)",
			 errno == EINVAL ? "EINVAL" : (errno == ENOTTY ? "ENOTTY" : strerror(errno)));
		close(fd);
		return -1;
	}
	return fd;
}

/* ------------------------------------------------------ memory types */

enum mm_type {
	MT_BASE,		/* one exclusive base page (MADV_NOHUGEPAGE) */
	MT_THP,			/* PMD-mapped THP */
	MT_PTE_THP,		/* PTE-mapped THP (mprotect split of the PMD) */
	MT_SINGLE_PTE_THP,	/* single PTE left of a PTE-mapped THP */
	MT_SWAP,		/* swapped-out base page */
	MT_THP_SWAP,		/* swapped-out (PMD-mapped before) THP */
	MT_HUGETLB,		/* MAP_HUGETLB default-size page */
	MT_NR
};

static const char *const mm_type_names[MT_NR] = {
	[MT_BASE] = "base",
	[MT_THP] = "thp",
	[MT_PTE_THP] = "pte-mapped-thp",
	[MT_SINGLE_PTE_THP] = "single-pte-thp",
	[MT_SWAP] = "swap",
	[MT_THP_SWAP] = "thp-swap",
	[MT_HUGETLB] = "hugetlb",
};

/* Sets of memory types (what a scenario runs on). */
#define MM_TYPE(t) (1u << (t))
#define MM_ALL_TYPES (MM_TYPE(MT_NR) - 1)

struct mm_region {
	enum mm_type type;
	char *mem;		/* test range */
	size_t size;		/* test range size */
	char *map;		/* whole mapping (for munmap) */
	size_t map_len;
	unsigned seed;		/* pattern seed used to fill mem */
};

/*
 * Allocate a THP-aligned, MADV_HUGEPAGE'd area and populate one THP; verify
 * it really is a THP.  On success mem = THP (thpsize), filled with pattern.
 */
static inline int mm__alloc_thp(struct mm_region *r)
{
	size_t thp = mm_thp_size(), ps = mm_pagesize();
	char enabled[128] = "";
	int is_thp;
	long ahp;

	if (!thp) {
		ktap_skip("THP not available (no /sys/kernel/mm/transparent_hugepage/hpage_pmd_size)");
		return -1;
	}
	mm_read_file("/sys/kernel/mm/transparent_hugepage/enabled", enabled,
		     sizeof(enabled));
	if (strstr(enabled, "[never]")) {
		ktap_skip("THP disabled (transparent_hugepage/enabled: %s)", enabled);
		return -1;
	}
	r->map_len = 2 * thp;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE,
		      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		ktap_error("mmap(%zu) failed: %s", r->map_len, strerror(errno));
		return -1;
	}
	r->mem = (char *)(((uintptr_t)r->map + thp) & ~(uintptr_t)(thp - 1));
	r->size = thp;
	if (madvise(r->mem, thp, MADV_HUGEPAGE)) {
		if (errno == EINVAL)
			ktap_skip("MADV_HUGEPAGE: EINVAL (THP not configured)");
		else
			ktap_error("MADV_HUGEPAGE failed: %s", strerror(errno));
		return -1;
	}
	/* Touch the first subpage; a THP populates the last one as well. */
	r->mem[0] = 1;
	if (!mm_is_present(r->mem + thp - ps)) {
		ktap_skip("did not get a THP (last subpage not populated after first touch; enabled=%s, MemFree=%ld kB)",
			  enabled, mm_meminfo("MemFree"));
		return -1;
	}
	is_thp = mm_page_is_thp(r->mem);
	ahp = mm_smaps_field(r->mem, "AnonHugePages");
	if (is_thp == 0) {
		ktap_skip("did not get a THP (kpageflags THP bit clear)");
		return -1;
	}
	if (is_thp < 0 && ahp < (long)(thp / 1024)) {
		ktap_skip("did not get a THP (kpageflags unreadable, smaps AnonHugePages=%ld kB)", ahp);
		return -1;
	}
	mm_fill(r->mem, thp, r->seed);
	return 0;
}

/*
 * The memory runner: set up a region of the requested type and size, fill it
 * with mm_pat(seed) (before any swap-out) and verify it is what it claims to
 * be.  size: base and swap take any number of pages (one VMA, rounded up to
 * whole pages; 0: one page); the other types are one huge page, and size must
 * be 0 or that page's size.  Returns 0, or -1 after reporting SKIP/ERROR.
 */
static inline int mm_region_setup_size(struct mm_region *r, enum mm_type type,
				       size_t size, unsigned seed)
{
	size_t ps = mm_pagesize(), len = size ? (size + ps - 1) / ps * ps : ps;

	memset(r, 0, sizeof(*r));
	r->type = type;
	r->seed = seed;

	if (size && type != MT_BASE && type != MT_SWAP &&
	    size != (type == MT_HUGETLB ? mm_hugetlb_size() :
		     type == MT_SINGLE_PTE_THP ? ps : mm_thp_size())) {
		ktap_error("internal: %s is one huge page, not %zu bytes",
			   type < MT_NR ? mm_type_names[type] : "?", size);
		return -1;
	}

	switch (type) {
	case MT_BASE:
	case MT_SWAP:
		r->map_len = r->size = len;
		r->map = r->mem = mmap(NULL, len, PROT_READ | PROT_WRITE,
				       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			ktap_error("mmap() failed: %s", strerror(errno));
			return -1;
		}
		if (madvise(r->mem, len, MADV_NOHUGEPAGE) && errno != EINVAL) {
			ktap_error("MADV_NOHUGEPAGE failed: %s", strerror(errno));
			return -1;
		}
		mm_fill(r->mem, len, seed);
		if (type == MT_SWAP && mm_pageout_or_report(r->mem, len))
			return -1;
		return 0;

	case MT_THP:
	case MT_THP_SWAP:
		if (mm__alloc_thp(r))
			return -1;
		if (mm_smaps_field(r->mem, "AnonHugePages") < (long)(r->size / 1024)) {
			ktap_skip("THP not PMD-mapped (smaps AnonHugePages=%ld kB)",
				  mm_smaps_field(r->mem, "AnonHugePages"));
			return -1;
		}
		if (type == MT_THP_SWAP && mm_pageout_or_report(r->mem, r->size))
			return -1;
		return 0;

	case MT_PTE_THP:
	case MT_SINGLE_PTE_THP:
		if (mm__alloc_thp(r))
			return -1;
		/* PTE-map the THP by temporarily mapping one subpage R/O. */
		if (mprotect(r->mem + ps, ps, PROT_READ) ||
		    mprotect(r->mem + ps, ps, PROT_READ | PROT_WRITE)) {
			ktap_error("mprotect() failed: %s", strerror(errno));
			return -1;
		}
		if (mm_smaps_field(r->mem, "AnonHugePages") > 0) {
			ktap_skip("THP still PMD-mapped after mprotect (AnonHugePages=%ld kB)",
				  mm_smaps_field(r->mem, "AnonHugePages"));
			return -1;
		}
		if (type == MT_SINGLE_PTE_THP) {
			if (madvise(r->mem + ps, r->size - ps, MADV_DONTNEED)) {
				ktap_error("MADV_DONTNEED failed: %s", strerror(errno));
				return -1;
			}
			r->size = ps;
		}
		if (mm_page_is_thp(r->mem) == 0) {
			ktap_skip("page is no longer part of a THP after PTE-mapping (split)");
			return -1;
		}
		return 0;

	case MT_HUGETLB: {
		size_t hs = mm_hugetlb_size();
		long nfree = mm_meminfo("HugePages_Free");
		char *dummy;
		int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;

		if (!hs) {
			ktap_skip("hugetlb not available (no Hugepagesize in /proc/meminfo)");
			return -1;
		}
		/* Two pages: one for the test, one for COW/unsharing. */
		if (nfree < 2) {
			ktap_skip("need 2 free hugetlb pages (HugePages_Free=%ld)", nfree);
			return -1;
		}
		flags |= __builtin_ctzll(hs) << MAP_HUGE_SHIFT;
		r->map_len = r->size = hs;
		r->map = r->mem = mmap(NULL, hs, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (r->map == MAP_FAILED) {
			r->map = NULL;
			ktap_skip("mmap(MAP_HUGETLB %zu kB) failed: %s (HugePages_Free=%ld)",
				  hs / 1024, strerror(errno), nfree);
			return -1;
		}
		dummy = mmap(NULL, hs, PROT_READ | PROT_WRITE, flags, -1, 0);
		if (dummy == MAP_FAILED) {
			ktap_skip("need a second free hugetlb page for COW (HugePages_Free=%ld)", nfree);
			return -1;
		}
		munmap(dummy, hs);
		mm_fill(r->mem, hs, seed);
		return 0;
	}
	default:
		ktap_error("internal: unknown memory type %d", type);
		return -1;
	}
}

/* mm_region_setup_size() with the type's own size (base and swap: one page). */
static inline int mm_region_setup(struct mm_region *r, enum mm_type type,
				  unsigned seed)
{
	return mm_region_setup_size(r, type, 0, seed);
}

static inline void mm_region_free(struct mm_region *r)
{
	if (r->map)
		munmap(r->map, r->map_len);
	r->map = NULL;
}

/* Short description of the state of a range for diagnostics. */
static inline void mm_region_describe(const struct mm_region *r, char *buf, size_t len)
{
	uint64_t ent = mm_pagemap(r->mem);

	snprintf(buf, len, "%s: %zu kB at %p, first page %s pfn=0x%" PRIx64 "%s, thp=%d",
		 mm_type_names[r->type], r->size / 1024, (void *)r->mem,
		 (ent & PM_PRESENT) ? "present" : ((ent & PM_SWAP) ? "swapped" : "none"),
		 (uint64_t)((ent & PM_PRESENT) ? (ent & PM_PFN_MASK) : 0),
		 (ent & PM_MMAP_EXCLUSIVE) ? " excl" : "", mm_page_is_thp(r->mem));
}

/* Minor+major page faults of this process so far (to tell fault paths apart). */
static inline long mm_faults(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru))
		return -1;
	return ru.ru_minflt + ru.ru_majflt;
}

/*
 * Clear soft-dirty bits (cow.c clear_softdirty()): with CONFIG_MEM_SOFT_DIRTY
 * the PTEs lose their soft-dirty bit and the VMAs their VM_SOFTDIRTY flag, so
 * mprotect(PROT_READ|PROT_WRITE) cannot map exclusive anonymous pages
 * writable at once (can_change_pte_writable(), 6.0+) and the next write takes
 * a write fault.  Without MEM_SOFT_DIRTY the write still succeeds and does
 * nothing.  Note: the kernel skips *writable* PTEs of pinned pages
 * (pte_is_pinned()), so call it while the range is mapped R/O.
 */
static inline int mm_clear_softdirty(void)
{
	return mm_write_file("/proc/self/clear_refs", "4");
}

/*
 * Pages of [addr, addr+size) whose pagemap entry has the soft-dirty bit (55);
 * -1 if pagemap is unreadable.  Without CONFIG_MEM_SOFT_DIRTY the bit is
 * never set (arm64 has no soft-dirty at all).  hugetlb reports only the VMA's
 * VM_SOFTDIRTY flag, not per-page state.
 */
static inline long mm_count_softdirty(const void *addr, size_t size)
{
	long n = 0;
	size_t ps = mm_pagesize();

	if (mm_pagemap_fd() < 0)
		return -1;
	for (size_t off = 0; off < size; off += ps)
		if (mm_pagemap((const char *)addr + off) & PM_SOFT_DIRTY)
			n++;
	return n;
}

/* ---------------------------------------------------- process helpers */

/* Two pipes for child/parent handshakes, as in cow.c. */
struct mm_comm {
	int child_ready[2];
	int parent_ready[2];
};

static inline int mm_comm_setup(struct mm_comm *c)
{
	if (pipe(c->child_ready))
		return -1;
	if (pipe(c->parent_ready)) {
		close(c->child_ready[0]);
		close(c->child_ready[1]);
		return -1;
	}
	return 0;
}

static inline void mm_comm_close(struct mm_comm *c)
{
	close(c->child_ready[0]);
	close(c->child_ready[1]);
	close(c->parent_ready[0]);
	close(c->parent_ready[1]);
}

/* Write one byte / wait for one byte (EOF or error -> -1). */
static inline int mm_signal(int fd)
{
	return write(fd, "0", 1) == 1 ? 0 : -1;
}

static inline int mm_wait(int fd)
{
	char b;
	ssize_t r;

	do {
		r = read(fd, &b, 1);
	} while (r < 0 && errno == EINTR);
	return r == 1 ? 0 : -1;
}

/* Shared page for child -> parent messages (allocated before fork). */
static inline char *mm_shared_msg(void)
{
	char *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	p[0] = 0;
	return p;
}

/* Wait for pid; returns exit code, or 128+signal, or -1. */
static inline int mm_wait_child(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

#endif /* COWLAB_MM_H */
