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
 * Each case is a function over (region, pin mechanism): regions from mm.h's
 * runners, both pins from pin.h's registry ("iouring", "gup-ro").
 *
 * Logic after tools/testing/selftests/mm/cow.c (Copyright 2022 Red Hat, Inc.,
 * David Hildenbrand; GPL-2.0).
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"
#include "pin.h"

#define SEED 9
#define NEWBYTE 0xff

static volatile unsigned long sink;

static void read_all(const char *mem, size_t size)
{
	unsigned long s = 0;

	for (size_t i = 0; i < size; i += 64)
		s += (unsigned char)mem[i];
	sink = s;
}

/*
 * The verdict of every scenario: the region was written with NEWBYTE through
 * the mapping; the pin p must see that write.  Releases the pin.
 */
static void pin_sees_write(struct mm_region *r, struct pin_state *p)
{
	unsigned char *exp = malloc(r->size), *snap = malloc(r->size);
	char why[KTAP_REASON_MAX] = "", what[160], desc[256];
	ssize_t n;

	if (!exp || !snap) {
		ktap_error("malloc failed");
		goto out;
	}
	memset(exp, NEWBYTE, r->size);
	n = pin_read_or_report(p, r->mem, snap);
	if (n < 0)
		goto out;
	snprintf(what, sizeof(what), "%s misses the write made through the mapping",
		 pin_describe(p->mech));
	if (mm_describe_diff(why, sizeof(why), what, snap, exp, (size_t)n)) {
		ktap_fail("%s", why);
		goto out;
	}
	mm_region_describe(r, desc, sizeof(desc));
	ktap_diag("%s", desc);
	ktap_pass();
out:
	pin_release(p);
	free(exp);
	free(snap);
}

/* {rw,ro}-pin-pageout: pin, MADV_PAGEOUT, read fault, write. */
static void test_pageout(struct mm_region *r, const struct pin_mech *m, int arg)
{
	struct pin_state p = { 0 };
	uint64_t pfn_before, pfn_after;
	char why[KTAP_REASON_MAX];
	long f0, f1, f2;
	size_t sw;

	(void)arg;
	if (pin_take_or_report(&p, m, r->mem, r->size))
		return;
	pfn_before = mm_pfn(r->mem);
	for (int i = 0; i < 3; i++)
		if (madvise(r->mem, r->size, MADV_PAGEOUT)) {
			ktap_error("MADV_PAGEOUT failed: %s", strerror(errno));
			goto out;
		}
	sw = mm_count_swapped(r->mem, r->size);
	ktap_diag("after MADV_PAGEOUT of the pinned range: %zu/%zu pages unmapped to swap entries (SwapTotal=%ld kB)",
		  sw, r->size / mm_pagesize(), mm_swap_total_kb());
	f0 = mm_faults();
	read_all(r->mem, r->size);	/* read fault (swap-in if unmapped) */
	f1 = mm_faults();
	if (mm_check_fill(r->mem, r->size, SEED) >= 0) {
		unsigned char *exp = malloc(r->size);

		if (!exp) {
			ktap_error("malloc failed");
			goto out;
		}
		mm_fill(exp, r->size, SEED);
		mm_describe_diff(why, sizeof(why), "data changed by pageout + swap-in",
				 r->mem, exp, r->size);
		free(exp);
		ktap_fail("%s", why);
		goto out;
	}
	memset(r->mem, NEWBYTE, r->size);
	f2 = mm_faults();
	pfn_after = mm_pfn(r->mem);
	ktap_diag("read took %ld faults, write took %ld faults; pfn 0x%" PRIx64 " -> 0x%" PRIx64 " (%s)",
		  f1 - f0, f2 - f1, pfn_before, pfn_after,
		  pfn_before == pfn_after ? "same page" : "page replaced");
	pin_sees_write(r, &p);
	return;
out:
	pin_release(&p);
}

/* {rw,ro}-pin-ro-remap: pin, mprotect(R), clear soft-dirty, mprotect(RW), write. */
static void test_ro_remap(struct mm_region *r, const struct pin_mech *m, int arg)
{
	long npages = (long)(r->size / mm_pagesize());
	long sd_ro, sd_clr, sd_rw, sd_wr, f1, f2;
	struct pin_state p = { 0 };
	uint64_t pfn_before, pfn_after;
	unsigned char *warm = malloc(r->size);
	const char *sd;
	int armed = 0, clr;

	(void)arg;
	if (!warm) {
		ktap_error("malloc failed");
		return;
	}
	if (pin_take_or_report(&p, m, r->mem, r->size))
		goto out;
	pfn_before = mm_pfn(r->mem);
	if (mprotect(r->mem, r->size, PROT_READ)) {
		ktap_error("mprotect(PROT_READ) failed: %s", strerror(errno));
		goto out;
	}
	/*
	 * As cow.c: clear soft-dirty while the range is mapped R/O, so that
	 * mprotect(PROT_READ|PROT_WRITE) leaves the PTEs R/O and the write
	 * below takes the write-fault path (6.0+ maps exclusive anon pages
	 * writable at once otherwise).  R/O is needed: clear_refs skips
	 * writable PTEs of pinned pages.
	 */
	sd_ro = mm_count_softdirty(r->mem, r->size);
	clr = mm_clear_softdirty();
	sd_clr = mm_count_softdirty(r->mem, r->size);
	if (mprotect(r->mem, r->size, PROT_READ | PROT_WRITE)) {
		ktap_error("mprotect(PROT_READ|PROT_WRITE) failed: %s", strerror(errno));
		goto out;
	}
	sd_rw = mm_count_softdirty(r->mem, r->size);
	/*
	 * Warm up memset() for this size first (its own faults come before
	 * the count): a first call in this process can fault in libc text
	 * (an IFUNC variant), which would count as a fault below.
	 */
	memset(warm, NEWBYTE, r->size);
	__asm__ volatile("" : : "r"(warm) : "memory");
	f1 = mm_faults();
	memset(r->mem, NEWBYTE, r->size);
	f2 = mm_faults();
	sd_wr = mm_count_softdirty(r->mem, r->size);
	pfn_after = mm_pfn(r->mem);

	if (r->type == MT_HUGETLB)
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
	free(warm);
	pin_sees_write(r, &p);
	return;
out:
	pin_release(&p);
	free(warm);
}

/* swapin-{rw,ro}-pin: swapped-out memory, read fault (swap-in), pin, write. */
static void test_swapin(struct mm_region *r, const struct pin_mech *m, int arg)
{
	struct pin_state p = { 0 };
	uint64_t pfn_before, pfn_after;
	char why[KTAP_REASON_MAX];
	long f0, f1, f2;

	(void)arg;
	/* Memory is swapped out (the runner verified it); swap in by reading. */
	f0 = mm_faults();
	read_all(r->mem, r->size);
	f1 = mm_faults();
	if (mm_check_fill(r->mem, r->size, SEED) >= 0) {
		unsigned char *exp = malloc(r->size);

		if (!exp) {
			ktap_error("malloc failed");
			return;
		}
		mm_fill(exp, r->size, SEED);
		mm_describe_diff(why, sizeof(why), "data changed by swap-out + swap-in",
				 r->mem, exp, r->size);
		free(exp);
		ktap_fail("%s", why);
		return;
	}
	pfn_before = mm_pfn(r->mem);
	if (pin_take_or_report(&p, m, r->mem, r->size))
		return;
	f2 = mm_faults();
	memset(r->mem, NEWBYTE, r->size);
	pfn_after = mm_pfn(r->mem);
	ktap_diag("swap-in read took %ld faults, write after pin took %ld faults; pfn 0x%" PRIx64 " -> 0x%" PRIx64 " (%s)",
		  f1 - f0, mm_faults() - f2, pfn_before, pfn_after,
		  pfn_before == pfn_after ? "same page" : "page replaced (by pin unshare or write)");
	pin_sees_write(r, &p);
}

#define PAGEOUT_TYPES (MM_TYPE(MT_BASE) | MM_TYPE(MT_THP) | MM_TYPE(MT_PTE_THP))
#define SWAP_TYPES (MM_TYPE(MT_SWAP) | MM_TYPE(MT_THP_SWAP))

static const struct pin_case cases[] = {
	{ "rw-pin-pageout", "iouring", PAGEOUT_TYPES, 0, test_pageout, 0 },
	{ "ro-pin-pageout", "gup-ro", PAGEOUT_TYPES, 0, test_pageout, 0 },
	{ "rw-pin-ro-remap", "iouring", MM_ALL_TYPES, 0, test_ro_remap, 0 },
	{ "ro-pin-ro-remap", "gup-ro", MM_ALL_TYPES, 0, test_ro_remap, 0 },
	{ "swapin-rw-pin", "iouring", SWAP_TYPES, 0, test_swapin, 0 },
	{ "swapin-ro-pin", "gup-ro", SWAP_TYPES, 0, test_swapin, 0 },
};

int main(int argc, char **argv)
{
	static const struct pin_suite suite = {
		cases, (int)(sizeof(cases) / sizeof(cases[0])), SEED, NULL
	};

	return pin_cases_main(argc, argv, &suite);
}
