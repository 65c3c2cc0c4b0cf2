// SPDX-License-Identifier: GPL-2.0-only
/*
 * gup-after-fork: R/O GUP references (vmsplice) vs. COW after fork().
 *
 * Scenarios (logic from the kernel selftest tools/testing/selftests/mm/cow.c,
 * Copyright 2022 Red Hat, Inc., David Hildenbrand; GPL-2.0):
 *
 *  fork-cow                    control without GUP: the parent writes after
 *                              fork(), the child must keep seeing old data.
 *  vmsplice-child              the child vmsplice()s the COW-shared memory into
 *                              a pipe (R/O GUP reference), munmap()s it; the
 *                              parent writes; the child reads the pipe and must
 *                              NOT see the parent's write (CVE-2020-29374).
 *  vmsplice-child-mprotect     same, the parent does mprotect(R) +
 *                              mprotect(RW) before writing (mprotect() may map
 *                              the page writable without a write fault).
 *  vmsplice-parent-before-fork the parent vmsplice()s before fork(), munmap()s
 *                              after fork(); the child writes; the parent's
 *                              pipe must still hold the old data.
 *  vmsplice-parent-after-fork  same, but vmsplice() after fork() on the
 *                              COW-shared page.
 *  ro-pin-shared               R/O longterm pin (gup_test PIN_LONGTERM_TEST,
 *                              Linux 6.2+, else SKIP) taken by the parent on a
 *                              page still COW-shared with a live child; the
 *                              parent then writes: the pin must see the write
 *                              (the pin must trigger unsharing), the child not.
 *  ro-pin-previously-shared    same, but the child has exited before the pin
 *                              (page mapped R/O, no longer shared).
 *
 * Memory types: base, thp, pte-mapped-thp, single-pte-thp, swap (swapped-out
 * base page), thp-swap (swapped-out THP), hugetlb.
 * Case name: <scenario>-<memtype>.  Each case is a function over (region,
 * pin mechanism): regions come from mm.h's runners, pins from pin.h's registry
 * (vmsplice: the whole region is referenced, the pipe is sized for it).
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"
#include "pin.h"

#define SEED 3
#define NEWBYTE 0xff
#define MSG_LEN 4096	/* the MAP_SHARED message page */

/* child exit codes */
#define C_OK 0
#define C_MISMATCH 1
#define C_ERROR 2

/* scenario variants (pin_case.arg) */
#define MPROTECT 1		/* test_cow_in_parent */
#define BEFORE_FORK 1		/* test_pin_in_parent */
#define PREVIOUSLY_SHARED 1	/* test_ro_pin */

/*
 * Child side of the "COW in parent" family: once the parent has written, what
 * the child sees (through its pin p, else through its mapping) must still be
 * the pattern of fork time.  leak: what a NEWBYTE (the parent's write) in it
 * means.
 */
static int child_check(struct mm_region *r, struct pin_state *p, struct mm_comm *comm, char *msg,
		       const char *leak)
{
	unsigned char *old = malloc(r->size), *now = p ? malloc(r->size) : NULL;
	const unsigned char *seen = (const unsigned char *)r->mem;
	size_t n = r->size;

	if (!old || (p && !now)) {
		snprintf(msg, MSG_LEN, "child: malloc failed");
		return C_ERROR;
	}
	mm_fill(old, r->size, SEED);	/* the pattern written before fork (and swap-out) */
	if (mm_wait(comm->parent_ready[0])) {
		snprintf(msg, MSG_LEN, "child: parent handshake failed");
		return C_ERROR;
	}
	if (p) {
		ssize_t got = p->mech->read(p, r->mem, now);

		if (got <= 0) {
			snprintf(msg, MSG_LEN, "child: reading through its %s: %s", p->mech->name,
				 got < 0 ? strerror((int)-got) : "0 bytes");
			return C_ERROR;
		}
		seen = now;
		n = (size_t)got;
	}
	if (memcmp(old, seen, n)) {
		mm_describe_diff(msg, MSG_LEN,
				 seen[mm_first_diff(seen, old, n, NULL)] == NEWBYTE ? leak :
				 "child memory corrupted (not the pattern, not the parent's write)",
				 seen, old, n);
		return C_MISMATCH;
	}
	if (p)
		snprintf(msg, MSG_LEN, "%s referenced %zu of %zu bytes", p->mech->name, n, r->size);
	return C_OK;
}

/* Child of test_cow_in_parent: with m, reference the shared region through m and unmap it. */
static int child_cow_in_parent(struct mm_region *r, const struct pin_mech *m, struct mm_comm *comm,
			       char *msg)
{
	struct pin_state p = { 0 };
	char why[256] = "", leak[160];

	if (m) {
		if (m->pin(&p, r->mem, r->size, why, sizeof(why)) != PIN_OK) {
			snprintf(msg, MSG_LEN, "child: %s: %s", m->name, why);
			return C_ERROR;
		}
		p.mech = m;
		if (munmap(r->mem, r->size) < 0) {
			snprintf(msg, MSG_LEN, "child: munmap() failed: %s", strerror(errno));
			return C_ERROR;
		}
		snprintf(leak, sizeof(leak), "child read parent's post-fork write through its %s",
			 pin_describe(m));
	}
	mm_signal(comm->child_ready[1]);
	return child_check(r, m ? &p : NULL, comm, msg,
			   m ? leak : "child observed parent's write after fork");
}

/*
 * Fork the case's helper child once its allocations (setup_ok) and the handshake pipes are
 * ready. Reports ERROR and returns -1 when either step fails.
 */
static pid_t fork_case_child(bool setup_ok, struct mm_comm *comm)
{
	pid_t pid;

	if (!setup_ok || mm_comm_setup(comm)) {
		ktap_error("setup failed: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0)
		ktap_error("fork() failed: %s", strerror(errno));
	return pid;
}

/* cow.c do_test_cow_in_parent: the child (pinning with m, if any) keeps the data of fork time. */
static void test_cow_in_parent(struct mm_region *r, const struct pin_mech *m, int variant)
{
	struct mm_comm comm;
	char *msg = mm_shared_msg();
	pid_t pid;
	int ret;

	pid = fork_case_child(msg != NULL, &comm);
	if (pid < 0)
		return;
	if (pid == 0) {
		ktap_child_init();
		_exit(child_cow_in_parent(r, m, &comm, msg));
	}
	if (mm_wait(comm.child_ready[0])) {
		ret = mm_wait_child(pid);
		ktap_error("child died before handshake (status %d): %s", ret, msg);
		return;
	}
	if (variant == MPROTECT) {
		/* mprotect() optimizations might map the pages writable directly. */
		if (mprotect(r->mem, r->size, PROT_READ) ||
		    mprotect(r->mem, r->size, PROT_READ | PROT_WRITE)) {
			ktap_error("mprotect() failed: %s", strerror(errno));
			mm_signal(comm.parent_ready[1]);
			mm_wait_child(pid);
			return;
		}
	}
	/* Modify the memory in the parent. */
	memset(r->mem, NEWBYTE, r->size);
	mm_signal(comm.parent_ready[1]);
	ret = mm_wait_child(pid);

	/* The parent must see its own write. */
	for (size_t i = 0; i < r->size; i++) {
		if ((unsigned char)r->mem[i] != NEWBYTE) {
			ktap_fail("parent lost its own write: byte[%zu]=0x%02x expected 0x%02x",
				  i, (unsigned char)r->mem[i], NEWBYTE);
			return;
		}
	}
	switch (ret) {
	case C_OK:
		if (msg[0])
			ktap_diag("%s", msg);
		ktap_pass();
		break;
	case C_MISMATCH:
		ktap_fail("%s", msg);
		break;
	case C_ERROR:
		ktap_error("%s", msg);
		break;
	default:
		ktap_error("child terminated abnormally (status %d)%s%s", ret,
			   msg[0] ? ": " : "", msg);
		break;
	}
}

/*
 * cow.c do_test_vmsplice_in_parent: the parent references the region through m before or
 * after fork(), unmaps it, the child writes; the reference must keep the old data.
 */
static void test_pin_in_parent(struct mm_region *r, const struct pin_mech *m, int variant)
{
	unsigned char *old = malloc(r->size), *new = malloc(r->size);
	struct pin_state p = { 0 };
	struct mm_comm comm;
	ssize_t n;
	int ret;
	pid_t pid;

	if (!old || !new || mm_comm_setup(&comm)) {
		ktap_error("setup failed: %s", strerror(errno));
		goto out;
	}
	mm_fill(old, r->size, SEED);	/* expected content (pattern) */

	if (variant == BEFORE_FORK && pin_take_or_report(&p, m, r->mem, r->size))
		goto out;
	pid = fork();
	if (pid < 0) {
		ktap_error("fork() failed: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		ktap_child_init();
		mm_signal(comm.child_ready[1]);
		if (mm_wait(comm.parent_ready[0]))
			_exit(C_ERROR);
		/* Modify the memory in the child. */
		memset(r->mem, NEWBYTE, r->size);
		_exit(C_OK);
	}
	if (variant != BEFORE_FORK && pin_take_or_report(&p, m, r->mem, r->size))
		goto out;	/* the runner kills the child */
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		goto out;
	}
	if (munmap(r->mem, r->size) < 0) {
		ktap_error("munmap() failed: %s", strerror(errno));
		goto out;
	}
	mm_signal(comm.parent_ready[1]);
	ret = mm_wait_child(pid);
	if (ret != C_OK) {
		ktap_error("child failed/terminated abnormally (status %d)", ret);
		goto out;
	}
	n = pin_read_or_report(&p, r->mem, new);
	if (n < 0)
		goto out;
	if (memcmp(old, new, (size_t)n)) {
		char why[KTAP_REASON_MAX], what[160];

		snprintf(what, sizeof(what), "parent read child's post-fork write through its %s",
			 pin_describe(m));
		mm_describe_diff(why, sizeof(why), what, new, old, (size_t)n);
		ktap_fail("%s", why);
		goto out;
	}
	ktap_diag("%s referenced %zd of %zu bytes", m->name, n, r->size);
	ktap_pass();
out:
	pin_release(&p);
	free(old);
	free(new);
}

/*
 * cow.c do_test_ro_pin(RO_PIN_TEST_SHARED / _PREVIOUSLY_SHARED): the parent pins a page
 * that is (or was) COW-shared with a child, then writes; the pin must see the write.
 */
static void test_ro_pin(struct mm_region *r, const struct pin_mech *m, int variant)
{
	unsigned char *exp = malloc(r->size), *snap = malloc(r->size);
	char *msg = mm_shared_msg();
	char why[KTAP_REASON_MAX] = "", what[200];
	struct pin_state p = { 0 };
	struct mm_comm comm;
	uint64_t pfn0, pfn1;
	ssize_t n;
	pid_t pid;
	int st;

	pid = fork_case_child(exp && snap && msg, &comm);
	if (pid < 0)
		goto out_free;
	if (pid == 0) {
		ktap_child_init();
		mm_signal(comm.child_ready[1]);
		if (variant == PREVIOUSLY_SHARED)
			_exit(C_OK);
		_exit(child_check(r, NULL, &comm, msg,
				  "child observed parent's write after the parent's R/O pin"));
	}
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		goto out_free;
	}
	if (variant == PREVIOUSLY_SHARED) {
		st = mm_wait_child(pid);
		pid = 0;
		if (st != C_OK) {
			ktap_error("child failed (status %d)", st);
			goto out_free;
		}
	}
	pfn0 = mm_pfn(r->mem);
	if (pin_take_or_report(&p, m, r->mem, r->size))
		goto out;
	pfn1 = mm_pfn(r->mem);
	memset(r->mem, NEWBYTE, r->size);
	memset(exp, NEWBYTE, r->size);
	n = pin_read_or_report(&p, r->mem, snap);
	if (n < 0)
		goto out;
	ktap_diag("%s on %s page: pfn 0x%" PRIx64 " -> 0x%" PRIx64 " at pin time (%s), 0x%" PRIx64 " after write",
		  pin_describe(m), variant == PREVIOUSLY_SHARED ? "previously-shared" : "shared",
		  pfn0, pfn1, pfn0 == pfn1 ? "no copy" : "unshared by copy", mm_pfn(r->mem));
	snprintf(what, sizeof(what),
		 "%s misses the parent's write made after pinning (pin lost its page to COW)",
		 pin_describe(m));
	mm_describe_diff(why, sizeof(why), what, snap, exp, (size_t)n);
out:
	pin_release(&p);
	if (pid > 0) {
		mm_signal(comm.parent_ready[1]);
		st = mm_wait_child(pid);
		if (st == C_MISMATCH && !ktap_reported()) {
			if (why[0])
				ktap_diag("%s", why);
			ktap_fail("%s", msg);
			goto out_free;
		}
		if (st != C_OK && !ktap_reported()) {
			ktap_error("child failed (status %d)%s%s", st, msg[0] ? ": " : "", msg);
			goto out_free;
		}
	}
	if (ktap_reported())
		goto out_free;
	if (why[0])
		ktap_fail("%s", why);
	else
		ktap_pass();
out_free:
	free(exp);
	free(snap);
}

static const struct pin_case cases[] = {
	{ "fork-cow", NULL, MM_ALL_TYPES, 0, test_cow_in_parent, 0 },
	{ "vmsplice-child", "vmsplice", MM_ALL_TYPES, 0, test_cow_in_parent, 0 },
	{ "vmsplice-child-mprotect", "vmsplice", MM_ALL_TYPES, 0, test_cow_in_parent, MPROTECT },
	{ "vmsplice-parent-before-fork", "vmsplice", MM_ALL_TYPES, 0, test_pin_in_parent,
	  BEFORE_FORK },
	{ "vmsplice-parent-after-fork", "vmsplice", MM_ALL_TYPES, 0, test_pin_in_parent, 0 },
	{ "ro-pin-shared", "gup-ro", MM_ALL_TYPES, 0, test_ro_pin, 0 },
	{ "ro-pin-previously-shared", "gup-ro", MM_ALL_TYPES, 0, test_ro_pin, PREVIOUSLY_SHARED },
};

int main(int argc, char **argv)
{
	static const struct pin_suite suite = {
		cases, (int)(sizeof(cases) / sizeof(cases[0])), SEED, NULL
	};

	return pin_cases_main(argc, argv, &suite);
}
