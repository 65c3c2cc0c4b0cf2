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
 * Case name: <scenario>-<memtype>.
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"

#include <fcntl.h>
#include <sys/uio.h>

enum scenario {
	S_FORK_COW,
	S_VMSPLICE_CHILD,
	S_VMSPLICE_CHILD_MPROTECT,
	S_VMSPLICE_PARENT_BEFORE_FORK,
	S_VMSPLICE_PARENT_AFTER_FORK,
	S_RO_PIN_SHARED,
	S_RO_PIN_PREV_SHARED,
	S_NR
};

static const char *const scenario_names[S_NR] = {
	[S_FORK_COW] = "fork-cow",
	[S_VMSPLICE_CHILD] = "vmsplice-child",
	[S_VMSPLICE_CHILD_MPROTECT] = "vmsplice-child-mprotect",
	[S_VMSPLICE_PARENT_BEFORE_FORK] = "vmsplice-parent-before-fork",
	[S_VMSPLICE_PARENT_AFTER_FORK] = "vmsplice-parent-after-fork",
	[S_RO_PIN_SHARED] = "ro-pin-shared",
	[S_RO_PIN_PREV_SHARED] = "ro-pin-previously-shared",
};

#define SEED 3
#define NEWBYTE 0xff

/* child exit codes */
#define C_OK 0
#define C_MISMATCH 1
#define C_ERROR 2

#define describe_diff(out, len, what, got, exp, n) \
	((void)mm_describe_diff(out, len, what, got, exp, n))

/* Read exactly n bytes from fd into buf. */
static int read_full(int fd, unsigned char *buf, size_t n)
{
	size_t total = 0;

	while (total < n) {
		ssize_t r = read(fd, buf + total, n - total);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		total += (size_t)r;
	}
	return 0;
}

/* ---- child bodies for the "COW in parent" family (cow.c do_test_cow_in_parent) */

/*
 * The child must keep seeing the pattern written before fork. signal_ready: the child tells
 * the parent it is ready itself (ro-pin-shared signals before calling this). leak: what a
 * 0xff (the parent's write) in the child's view means.
 */
static int child_expect_pattern(char *mem, size_t size, struct mm_comm *comm, char *msg,
				bool signal_ready, const char *leak)
{
	unsigned char *old = malloc(size);

	if (!old) {
		snprintf(msg, 4096, "child: malloc failed");
		return C_ERROR;
	}
	/* Expected content: the pattern written before fork (and swap-out). */
	mm_fill(old, size, SEED);
	if (signal_ready)
		mm_signal(comm->child_ready[1]);
	if (mm_wait(comm->parent_ready[0])) {
		snprintf(msg, 4096, "child: parent handshake failed");
		return C_ERROR;
	}
	if (memcmp(old, mem, size)) {
		describe_diff(msg, 4096,
			      ((unsigned char *)mem)[mm_first_diff(mem, old, size, NULL)] == NEWBYTE ?
			      leak : "child memory corrupted (not the pattern, not the parent's write)",
			      (unsigned char *)mem, old, size);
		return C_MISMATCH;
	}
	return C_OK;
}

static int child_vmsplice(char *mem, size_t size, struct mm_comm *comm, char *msg)
{
	struct iovec iov = { .iov_base = mem, .iov_len = size };
	unsigned char *old = malloc(size), *new = malloc(size);
	ssize_t transferred;
	int fds[2];

	if (!old || !new) {
		snprintf(msg, 4096, "child: malloc failed");
		return C_ERROR;
	}
	mm_fill(old, size, SEED);
	if (pipe(fds) < 0) {
		snprintf(msg, 4096, "child: pipe() failed: %s", strerror(errno));
		return C_ERROR;
	}
	/* R/O GUP reference on the COW-shared pages. */
	transferred = vmsplice(fds[1], &iov, 1, 0);
	if (transferred <= 0) {
		snprintf(msg, 4096, "child: vmsplice() failed: %s",
			 transferred < 0 ? strerror(errno) : "transferred 0 bytes");
		return C_ERROR;
	}
	if (munmap(mem, size) < 0) {
		snprintf(msg, 4096, "child: munmap() failed: %s", strerror(errno));
		return C_ERROR;
	}
	mm_signal(comm->child_ready[1]);
	if (mm_wait(comm->parent_ready[0])) {
		snprintf(msg, 4096, "child: parent handshake failed");
		return C_ERROR;
	}
	if (read_full(fds[0], new, (size_t)transferred)) {
		snprintf(msg, 4096, "child: read from vmsplice pipe failed");
		return C_ERROR;
	}
	if (memcmp(old, new, (size_t)transferred)) {
		describe_diff(msg, 4096,
			      "child read parent's post-fork write through its vmsplice() pipe",
			      new, old, (size_t)transferred);
		return C_MISMATCH;
	}
	snprintf(msg, 4096, "vmsplice transferred %zd of %zu bytes", transferred, size);
	return C_OK;
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

static void test_cow_in_parent(struct mm_region *r, bool do_mprotect, bool vmsplice_child)
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
		_exit(vmsplice_child ? child_vmsplice(r->mem, r->size, &comm, msg)
				     : child_expect_pattern(r->mem, r->size, &comm, msg, true,
							    "child observed parent's write after fork"));
	}
	if (mm_wait(comm.child_ready[0])) {
		ret = mm_wait_child(pid);
		ktap_error("child died before handshake (status %d): %s", ret, msg);
		return;
	}
	if (do_mprotect) {
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

/* ---- cow.c do_test_vmsplice_in_parent */
static void test_vmsplice_in_parent(struct mm_region *r, bool before_fork)
{
	struct iovec iov = { .iov_base = r->mem, .iov_len = r->size };
	unsigned char *old = malloc(r->size), *new = malloc(r->size);
	ssize_t transferred = 0;
	struct mm_comm comm;
	int fds[2], ret;
	pid_t pid;

	if (!old || !new || mm_comm_setup(&comm) || pipe(fds) < 0) {
		ktap_error("setup failed: %s", strerror(errno));
		return;
	}
	mm_fill(old, r->size, SEED);	/* expected content (pattern) */

	if (before_fork) {
		transferred = vmsplice(fds[1], &iov, 1, 0);
		if (transferred <= 0) {
			ktap_error("vmsplice() failed: %s",
				   transferred < 0 ? strerror(errno) : "0 bytes");
			return;
		}
	}
	pid = fork();
	if (pid < 0) {
		ktap_error("fork() failed: %s", strerror(errno));
		return;
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
	if (!before_fork) {
		transferred = vmsplice(fds[1], &iov, 1, 0);
		if (transferred <= 0) {
			ktap_error("vmsplice() failed: %s",
				   transferred < 0 ? strerror(errno) : "0 bytes");
			return;		/* runner kills the child */
		}
	}
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		return;
	}
	if (munmap(r->mem, r->size) < 0) {
		ktap_error("munmap() failed: %s", strerror(errno));
		return;
	}
	mm_signal(comm.parent_ready[1]);
	ret = mm_wait_child(pid);
	if (ret != C_OK) {
		ktap_error("child failed/terminated abnormally (status %d)", ret);
		return;
	}
	if (read_full(fds[0], new, (size_t)transferred)) {
		ktap_error("read from vmsplice pipe failed");
		return;
	}
	if (memcmp(old, new, (size_t)transferred)) {
		char why[KTAP_REASON_MAX];

		describe_diff(why, sizeof(why),
			      "parent read child's post-fork write through its vmsplice() pipe",
			      new, old, (size_t)transferred);
		ktap_fail("%s", why);
		return;
	}
	ktap_diag("vmsplice transferred %zd of %zu bytes", transferred, r->size);
	ktap_pass();
}

static void run_case_mem(const struct ktap_case *c, int gup_fd);

/* ---- cow.c do_test_ro_pin(RO_PIN_TEST_SHARED / _PREVIOUSLY_SHARED) */
static void test_ro_pin(struct mm_region *r, bool previously_shared, int gup_fd)
{
	struct cowlab_pin_longterm_test args;
	unsigned char *exp = malloc(r->size), *snap = malloc(r->size);
	char *msg = mm_shared_msg();
	char why[KTAP_REASON_MAX] = "";
	struct mm_comm comm;
	uint64_t pfn0, pfn1, addr;
	pid_t pid;
	int st, pinned = 0;

	pid = fork_case_child(exp && snap && msg, &comm);
	if (pid < 0)
		return;
	if (pid == 0) {
		ktap_child_init();
		mm_signal(comm.child_ready[1]);
		if (previously_shared)
			_exit(C_OK);
		_exit(child_expect_pattern(r->mem, r->size, &comm, msg, false,
					   "child observed parent's write after the parent's R/O pin"));
	}
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		return;
	}
	if (previously_shared) {
		st = mm_wait_child(pid);
		pid = 0;
		if (st != C_OK) {
			ktap_error("child failed (status %d)", st);
			return;
		}
	}
	pfn0 = mm_pfn(r->mem);
	memset(&args, 0, sizeof(args));
	args.addr = (uint64_t)(uintptr_t)r->mem;
	args.size = r->size;
	args.flags = 0;		/* R/O, not GUP-fast */
	if (ioctl(gup_fd, COWLAB_PIN_LONGTERM_TEST_START, &args)) {
		ktap_error("PIN_LONGTERM_TEST_START failed: %s", strerror(errno));
		goto out;
	}
	pinned = 1;
	pfn1 = mm_pfn(r->mem);
	memset(r->mem, NEWBYTE, r->size);
	memset(exp, NEWBYTE, r->size);
	addr = (uint64_t)(uintptr_t)snap;
	if (ioctl(gup_fd, COWLAB_PIN_LONGTERM_TEST_READ, &addr)) {
		ktap_error("PIN_LONGTERM_TEST_READ failed: %s", strerror(errno));
		goto out;
	}
	ktap_diag("R/O pin on %s page: pfn 0x%" PRIx64 " -> 0x%" PRIx64 " at pin time (%s), 0x%" PRIx64 " after write",
		  previously_shared ? "previously-shared" : "shared", pfn0, pfn1,
		  pfn0 == pfn1 ? "no copy" : "unshared by copy", mm_pfn(r->mem));
	mm_describe_diff(why, sizeof(why),
			 "R/O longterm pin misses the parent's write made after pinning (pin lost its page to COW)",
			 snap, exp, r->size);
out:
	if (pinned)
		ioctl(gup_fd, COWLAB_PIN_LONGTERM_TEST_STOP);
	if (pid > 0) {
		mm_signal(comm.parent_ready[1]);
		st = mm_wait_child(pid);
		if (st == C_MISMATCH && !ktap_reported()) {
			if (why[0])
				ktap_diag("%s", why);
			ktap_fail("%s", msg);
			return;
		}
		if (st != C_OK && !ktap_reported()) {
			ktap_error("child failed (status %d)%s%s", st, msg[0] ? ": " : "", msg);
			return;
		}
	}
	if (ktap_reported())
		return;
	if (why[0])
		ktap_fail("%s", why);
	else
		ktap_pass();
}

static void run_case(const struct ktap_case *c)
{
	int gup_fd = -1;

	if (c->a == S_RO_PIN_SHARED || c->a == S_RO_PIN_PREV_SHARED) {
		char why[KTAP_REASON_MAX];

		gup_fd = mm_gup_test_open(why, sizeof(why));
		if (gup_fd < 0) {
			ktap_skip("%s", why);
			return;
		}
	}
	run_case_mem(c, gup_fd);
	if (gup_fd >= 0)
		close(gup_fd);
}

static void run_case_mem(const struct ktap_case *c, int gup_fd)
{
	struct mm_region r;
	char desc[256];

	if (mm_region_setup(&r, (enum mm_type)c->b, SEED))
		return;
	mm_region_describe(&r, desc, sizeof(desc));
	ktap_diag("%s: %s", c->name, desc);

	switch (c->a) {
	case S_FORK_COW:
		test_cow_in_parent(&r, false, false);
		break;
	case S_VMSPLICE_CHILD:
		test_cow_in_parent(&r, false, true);
		break;
	case S_VMSPLICE_CHILD_MPROTECT:
		test_cow_in_parent(&r, true, true);
		break;
	case S_VMSPLICE_PARENT_BEFORE_FORK:
		test_vmsplice_in_parent(&r, true);
		break;
	case S_VMSPLICE_PARENT_AFTER_FORK:
		test_vmsplice_in_parent(&r, false);
		break;
	case S_RO_PIN_SHARED:
	case S_RO_PIN_PREV_SHARED:
		test_ro_pin(&r, c->a == S_RO_PIN_PREV_SHARED, gup_fd);
		break;
	}
	mm_region_free(&r);
}

int main(int argc, char **argv)
{
	static struct ktap_case cases[S_NR * MT_NR];
	int n = 0;

	for (int s = 0; s < S_NR; s++) {
		for (int t = 0; t < MT_NR; t++) {
			struct ktap_case *c = &cases[n++];

			snprintf(c->name, sizeof(c->name), "%s-%s",
				 scenario_names[s], mm_type_names[t]);
			c->fn = run_case;
			c->a = s;
			c->b = t;
		}
	}
	return ktap_main(argc, argv, cases, n);
}
