// SPDX-License-Identifier: GPL-2.0-only
/*
 * swap: longterm pins vs. swap-out / swap-in and R/O remapping.
 *
 * Pins: R/W = io_uring fixed buffer (FOLL_PIN|FOLL_WRITE|FOLL_LONGTERM);
 *       R/O = gup_test PIN_LONGTERM_TEST_START without WRITE (Linux 6.2+,
 *       CONFIG_GUP_TEST; SKIP elsewhere).
 * A pin must keep referring to the page mapped in the page table: whatever the
 * kernel does (pageout attempt, swap-in, write fault, mprotect), a later write
 * through the mapping must be visible through the pin.
 *
 *  {rw,ro}-pin-pageout-<mt>   pin, MADV_PAGEOUT (a pinned page should not be
 *                             swapped out; if it is unmapped anyway the page
 *                             stays in the swap cache), read fault, then write:
 *                             the pin must see the write.
 *  {rw,ro}-pin-ro-remap-<mt>  pin, mprotect(PROT_READ), clear soft-dirty,
 *                             mprotect(PROT_READ|PROT_WRITE), write: the pin
 *                             must see the write (cow.c test_iouring_ro /
 *                             RO_PIN_TEST_RO_EXCLUSIVE).  Clearing soft-dirty
 *                             keeps 6.0+ mprotect() from mapping the page
 *                             writable at once, where the kernel has
 *                             CONFIG_MEM_SOFT_DIRTY (x86_64 guests; not arm64).
 *                             "# path: write-fault" or "# path:
 *                             mapped-writable-by-mprotect" says which path the
 *                             write took (minor faults counted by getrusage);
 *                             the latter is reported, never failed.
 *  swapin-{rw,ro}-pin-<mt>    unpinned memory swapped out, read fault (swap-in,
 *                             page mapped R/O), then pin, then write: the pin
 *                             must see the write.
 * Diagnostics report the number of page faults taken by the write (0: the
 * page was already mapped writable, e.g. by an mprotect() optimization) and
 * whether the PFN changed (a new page = COW copy / unshare).
 *
 * Logic after tools/testing/selftests/mm/cow.c (Copyright 2022 Red Hat, Inc.,
 * David Hildenbrand; GPL-2.0).
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"
#include "uring.h"

enum pin_kind { PIN_RW, PIN_RO };

enum scenario {
	S_RW_PAGEOUT,
	S_RO_PAGEOUT,
	S_RW_RO_REMAP,
	S_RO_RO_REMAP,
	S_SWAPIN_RW,
	S_SWAPIN_RO,
	S_NR
};

static const struct {
	const char *name;
	enum pin_kind pin;
	unsigned types;		/* bitmask of enum mm_type */
} scenarios[S_NR] = {
	[S_RW_PAGEOUT] = { "rw-pin-pageout", PIN_RW,
		1u << MT_BASE | 1u << MT_THP | 1u << MT_PTE_THP },
	[S_RO_PAGEOUT] = { "ro-pin-pageout", PIN_RO,
		1u << MT_BASE | 1u << MT_THP | 1u << MT_PTE_THP },
	[S_RW_RO_REMAP] = { "rw-pin-ro-remap", PIN_RW, (1u << MT_NR) - 1 },
	[S_RO_RO_REMAP] = { "ro-pin-ro-remap", PIN_RO, (1u << MT_NR) - 1 },
	[S_SWAPIN_RW] = { "swapin-rw-pin", PIN_RW, 1u << MT_SWAP | 1u << MT_THP_SWAP },
	[S_SWAPIN_RO] = { "swapin-ro-pin", PIN_RO, 1u << MT_SWAP | 1u << MT_THP_SWAP },
};

#define SEED 9
#define NEWBYTE 0xff

struct pin {
	enum pin_kind kind;
	struct ur_ctx u;
	int gup_fd;
	int active;
};

/* Take the pin; 0 ok, -1 after SKIP/ERROR. */
static int pin_start(struct pin *p, enum pin_kind kind, char *mem, size_t size)
{
	char why[KTAP_REASON_MAX];
	struct cowlab_pin_longterm_test args;

	memset(p, 0, sizeof(*p));
	p->kind = kind;
	p->u.fd = -1;
	p->gup_fd = -1;
	if (kind == PIN_RW) {
		if (ur_setup_or_report(&p->u, mem, size))
			return -1;
		p->active = 1;
		return 0;
	}
	p->gup_fd = mm_gup_test_open(why, sizeof(why));
	if (p->gup_fd < 0) {
		ktap_skip("%s", why);
		return -1;
	}
	memset(&args, 0, sizeof(args));
	args.addr = (uint64_t)(uintptr_t)mem;
	args.size = size;
	args.flags = 0;		/* R/O, not GUP-fast */
	if (ioctl(p->gup_fd, COWLAB_PIN_LONGTERM_TEST_START, &args)) {
		ktap_error("PIN_LONGTERM_TEST_START failed: %s", strerror(errno));
		return -1;
	}
	p->active = 1;
	return 0;
}

/* Read what the pin sees into out; 0 ok, -1 after ERROR. */
static int pin_read(struct pin *p, char *mem, size_t size, unsigned char *out)
{
	uint64_t addr = (uint64_t)(uintptr_t)out;

	if (p->kind == PIN_RW)
		return ur_pin_snapshot(&p->u, mem, size, out);
	if (ioctl(p->gup_fd, COWLAB_PIN_LONGTERM_TEST_READ, &addr)) {
		ktap_error("PIN_LONGTERM_TEST_READ failed: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void pin_stop(struct pin *p)
{
	if (p->kind == PIN_RW) {
		ur_teardown(&p->u);
	} else if (p->gup_fd >= 0) {
		if (p->active)
			ioctl(p->gup_fd, COWLAB_PIN_LONGTERM_TEST_STOP);
		close(p->gup_fd);
		p->gup_fd = -1;
	}
	p->active = 0;
}

/* Skip early (before allocating) if the R/O pin mechanism is missing. */
static int ro_pin_available_or_skip(void)
{
	char why[KTAP_REASON_MAX];
	int fd = mm_gup_test_open(why, sizeof(why));

	if (fd < 0) {
		ktap_skip("%s", why);
		return 0;
	}
	close(fd);
	return 1;
}

static volatile unsigned long sink;

static void read_all(const char *mem, size_t size)
{
	unsigned long s = 0;

	for (size_t i = 0; i < size; i += 64)
		s += (unsigned char)mem[i];
	sink = s;
}

static void run_case(const struct ktap_case *c)
{
	int scenario = c->a;
	enum pin_kind kind = scenarios[scenario].pin;
	struct mm_region r;
	struct pin p;
	unsigned char *exp = NULL, *snap = NULL;
	char why[KTAP_REASON_MAX] = "", desc[256];
	uint64_t pfn_before, pfn_after;
	long f0, f1, f2;
	size_t sw;

	p.kind = kind;
	p.u.fd = -1;
	p.gup_fd = -1;
	p.active = 0;
	if (kind == PIN_RO && !ro_pin_available_or_skip())
		return;
	if (mm_region_setup(&r, (enum mm_type)c->b, SEED))
		return;
	exp = malloc(r.size);
	snap = malloc(r.size);
	if (!exp || !snap) {
		ktap_error("malloc failed");
		goto out;
	}
	mm_fill(exp, r.size, SEED);

	switch (scenario) {
	case S_RW_PAGEOUT:
	case S_RO_PAGEOUT:
		if (pin_start(&p, kind, r.mem, r.size))
			goto out;
		pfn_before = mm_pfn(r.mem);
		for (int i = 0; i < 3; i++)
			if (madvise(r.mem, r.size, MADV_PAGEOUT)) {
				ktap_error("MADV_PAGEOUT failed: %s", strerror(errno));
				goto out;
			}
		sw = mm_count_swapped(r.mem, r.size);
		ktap_diag("after MADV_PAGEOUT of the pinned range: %zu/%zu pages unmapped to swap entries (SwapTotal=%ld kB)",
			  sw, r.size / mm_pagesize(), mm_swap_total_kb());
		f0 = mm_faults();
		read_all(r.mem, r.size);	/* read fault (swap-in if unmapped) */
		f1 = mm_faults();
		if (mm_describe_diff(why, sizeof(why), "data changed by pageout + swap-in",
				     r.mem, exp, r.size)) {
			ktap_fail("%s", why);
			goto out;
		}
		memset(r.mem, NEWBYTE, r.size);
		f2 = mm_faults();
		pfn_after = mm_pfn(r.mem);
		ktap_diag("read took %ld faults, write took %ld faults; pfn 0x%" PRIx64 " -> 0x%" PRIx64 " (%s)",
			  f1 - f0, f2 - f1, pfn_before, pfn_after,
			  pfn_before == pfn_after ? "same page" : "page replaced");
		break;

	case S_RW_RO_REMAP:
	case S_RO_RO_REMAP: {
		long npages = (long)(r.size / mm_pagesize());
		long sd_ro, sd_clr, sd_rw, sd_wr;
		const char *sd;
		int armed = 0, clr;

		if (pin_start(&p, kind, r.mem, r.size))
			goto out;
		pfn_before = mm_pfn(r.mem);
		if (mprotect(r.mem, r.size, PROT_READ)) {
			ktap_error("mprotect(PROT_READ) failed: %s", strerror(errno));
			goto out;
		}
		/*
		 * As cow.c: clear soft-dirty while the range is mapped R/O, so
		 * that mprotect(PROT_READ|PROT_WRITE) leaves the PTEs R/O and
		 * the write below takes the write-fault path (6.0+ maps
		 * exclusive anon pages writable at once otherwise).  R/O is
		 * needed: clear_refs skips writable PTEs of pinned pages.
		 */
		sd_ro = mm_count_softdirty(r.mem, r.size);
		clr = mm_clear_softdirty();
		sd_clr = mm_count_softdirty(r.mem, r.size);
		if (mprotect(r.mem, r.size, PROT_READ | PROT_WRITE)) {
			ktap_error("mprotect(PROT_READ|PROT_WRITE) failed: %s", strerror(errno));
			goto out;
		}
		sd_rw = mm_count_softdirty(r.mem, r.size);
		/*
		 * Warm up memset() on already-populated memory of the same
		 * size: a first call in this process can fault in libc text
		 * (an IFUNC variant), which would count as a fault below.
		 */
		memset(exp, NEWBYTE, r.size);
		__asm__ volatile("" : : "r"(exp) : "memory");
		f1 = mm_faults();
		memset(r.mem, NEWBYTE, r.size);
		f2 = mm_faults();
		sd_wr = mm_count_softdirty(r.mem, r.size);
		pfn_after = mm_pfn(r.mem);

		if (r.type == MT_HUGETLB)
			sd = "hugetlb: mprotect() never maps it writable, pagemap shows only the VMA flag";
		else if (clr)
			sd = "clear_refs write failed";
		else if (sd_ro <= 0)
			sd = "not available (bit 55 never set: no CONFIG_MEM_SOFT_DIRTY)";
		else if (sd_clr)
			sd = "not cleared by clear_refs";
		else if (sd_rw)
			sd = "set again by mprotect(PROT_READ|PROT_WRITE)";
		else {
			sd = "armed: PTEs stay R/O, the write must fault";
			armed = 1;
		}
		ktap_diag("soft-dirty pages of %ld: %ld after mprotect(PROT_READ), %ld after clear_refs, %ld after mprotect(PROT_READ|PROT_WRITE), %ld after the write; tracking %s",
			  npages, sd_ro, sd_clr, sd_rw, sd_wr, sd);
		ktap_diag("write after R/O remap took %ld faults; pfn 0x%" PRIx64 " -> 0x%" PRIx64 " (%s)",
			  f2 - f1, pfn_before, pfn_after,
			  pfn_before == pfn_after ? "same page" : "page replaced");
		if (armed && f2 == f1)
			ktap_diag("note: soft-dirty tracking was armed but the write took no fault");
		/* Informational only: no write fault is never a failure. */
		ktap_diag("path: %s", f2 > f1 ? "write-fault" : "mapped-writable-by-mprotect");
		break;
	}

	case S_SWAPIN_RW:
	case S_SWAPIN_RO:
		/* Memory is swapped out (setup verified); swap in by reading. */
		f0 = mm_faults();
		read_all(r.mem, r.size);
		f1 = mm_faults();
		if (mm_describe_diff(why, sizeof(why), "data changed by swap-out + swap-in",
				     r.mem, exp, r.size)) {
			ktap_fail("%s", why);
			goto out;
		}
		pfn_before = mm_pfn(r.mem);
		if (pin_start(&p, kind, r.mem, r.size))
			goto out;
		f2 = mm_faults();
		memset(r.mem, NEWBYTE, r.size);
		pfn_after = mm_pfn(r.mem);
		ktap_diag("swap-in read took %ld faults, write after pin took %ld faults; pfn 0x%" PRIx64 " -> 0x%" PRIx64 " (%s)",
			  f1 - f0, mm_faults() - f2, pfn_before, pfn_after,
			  pfn_before == pfn_after ? "same page" : "page replaced (by pin unshare or write)");
		break;
	}

	memset(exp, NEWBYTE, r.size);
	if (pin_read(&p, r.mem, r.size, snap))
		goto out;
	if (mm_describe_diff(why, sizeof(why),
			     kind == PIN_RW ?
			     "R/W pin (io_uring write_fixed) misses the write made through the mapping" :
			     "R/O pin (gup_test PIN_LONGTERM_TEST_READ) misses the write made through the mapping",
			     snap, exp, r.size)) {
		ktap_fail("%s", why);
		goto out;
	}
	mm_region_describe(&r, desc, sizeof(desc));
	ktap_diag("%s", desc);
	ktap_pass();
out:
	pin_stop(&p);
	mm_region_free(&r);
	free(exp);
	free(snap);
}

int main(int argc, char **argv)
{
	static struct ktap_case cases[S_NR * MT_NR];
	int n = 0;

	for (int s = 0; s < S_NR; s++) {
		for (int t = 0; t < MT_NR; t++) {
			struct ktap_case *c;

			if (!(scenarios[s].types & (1u << t)))
				continue;
			c = &cases[n++];
			snprintf(c->name, sizeof(c->name), "%s-%s",
				 scenarios[s].name, mm_type_names[t]);
			c->fn = run_case;
			c->a = s;
			c->b = t;
		}
	}
	return ktap_main(argc, argv, cases, n);
}
