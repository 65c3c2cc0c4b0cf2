// SPDX-License-Identifier: GPL-2.0-only
/*
 * gup-before-fork: R/W longterm pin (io_uring fixed buffer, FOLL_PIN |
 * FOLL_WRITE | FOLL_LONGTERM) registered BEFORE fork().
 *
 * The pinned pages must stay the parent's: after fork() the parent and the
 * pin must keep seeing the same page (fork must copy pinned pages eagerly
 * instead of COW-sharing them), and the child must never see what is written
 * through the parent's mapping or through the pin.  Based on cow.c
 * test_iouring_fork() (tools/testing/selftests/mm/cow.c, Copyright 2022
 * Red Hat, Inc., David Hildenbrand; GPL-2.0).
 *
 *  iouring-fork-parent-write  the parent writes through its mapping after
 *                             fork(); write_fixed (pin -> memfd) must show the
 *                             write; the child must still see the old data.
 *  iouring-fork-child-write   the child writes after fork(); neither the
 *                             parent's mapping nor the pin may see it.
 *  iouring-fork-read-fixed    the parent writes half of the buffer through its
 *                             mapping (write fault after fork), then read_fixed
 *                             (memfd -> pin) stores new data through the pin;
 *                             the parent's mapping must show the new data, the
 *                             child the old data.
 *
 * Memory types: base, thp, pte-mapped-thp, single-pte-thp, swap, thp-swap
 * (swapped out before registration: the pin faults them in), hugetlb.
 * Each case is a function over (region, pin mechanism): regions from mm.h's
 * runners, the io_uring pin from pin.h's registry (raw syscalls, no liburing).
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"
#include "pin.h"

/* scenarios (pin_case.arg) */
enum scenario {
	S_PARENT_WRITE,
	S_CHILD_WRITE,
	S_READ_FIXED,
};

#define SEED_A 5	/* initial content */
#define SEED_B 77	/* content stored through the pin (read_fixed) */
#define NEWBYTE 0xff
#define MSG_LEN 4096	/* the MAP_SHARED message page */

#define C_OK 0
#define C_MISMATCH 1
#define C_ERROR 2

/* Child: either check that it still sees pattern A, or write NEWBYTE. */
static int child_fn(int scenario, struct mm_region *r, struct mm_comm *comm, char *msg)
{
	unsigned char *exp = malloc(r->size);

	if (!exp) {
		snprintf(msg, MSG_LEN, "child: malloc failed");
		return C_ERROR;
	}
	mm_signal(comm->child_ready[1]);
	if (mm_wait(comm->parent_ready[0])) {
		snprintf(msg, MSG_LEN, "child: parent handshake failed");
		return C_ERROR;
	}
	if (scenario == S_CHILD_WRITE) {
		memset(r->mem, NEWBYTE, r->size);
		memset(exp, NEWBYTE, r->size);
		if (mm_describe_diff(msg, MSG_LEN, "child lost its own write", r->mem, exp, r->size))
			return C_MISMATCH;
		return C_OK;
	}
	mm_fill(exp, r->size, SEED_A);
	if (mm_describe_diff(msg, MSG_LEN,
			     scenario == S_PARENT_WRITE ?
			     "child observed parent's post-fork write" :
			     "child observed data stored through the parent's pin (read_fixed)",
			     r->mem, exp, r->size))
		return C_MISMATCH;
	return C_OK;
}

/* Whole-buffer snapshot through the pin into snap: 0, or -1 after an ERROR. */
static int pin_snapshot(struct pin_state *p, struct mm_region *r, unsigned char *snap)
{
	ssize_t n = pin_read_or_report(p, r->mem, snap);

	if (n >= 0 && (size_t)n != r->size) {
		ktap_error("%s: read %zd of %zu bytes through the pin", p->mech->name, n, r->size);
		return -1;
	}
	return n < 0 ? -1 : 0;
}

static void test_pin_before_fork(struct mm_region *r, const struct pin_mech *m, int scenario)
{
	struct pin_state p = { 0 };
	struct mm_comm comm;
	unsigned char *exp = NULL, *snap = NULL, *src = NULL;
	char desc[256], why[KTAP_REASON_MAX] = "", what[200], *msg;
	int st;
	pid_t pid;

	if (pin_take_or_report(&p, m, r->mem, r->size))
		return;
	mm_region_describe(r, desc, sizeof(desc));
	ktap_diag("after registration: %s", desc);

	exp = malloc(r->size);
	snap = malloc(r->size);
	src = malloc(r->size);
	msg = mm_shared_msg();
	if (!exp || !snap || !src || !msg || mm_comm_setup(&comm)) {
		ktap_error("setup failed: %s", strerror(errno));
		goto out;
	}
	/* Sanity: the pin sees the initial content before fork. */
	mm_fill(exp, r->size, SEED_A);
	if (pin_snapshot(&p, r, snap))
		goto out;
	if (mm_describe_diff(why, sizeof(why), "pinned buffer differs from memory before fork",
			     snap, exp, r->size)) {
		ktap_fail("%s", why);
		goto out;
	}

	pid = fork();
	if (pid < 0) {
		ktap_error("fork() failed: %s", strerror(errno));
		goto out;
	}
	if (pid == 0) {
		ktap_child_init();
		_exit(child_fn(scenario, r, &comm, msg));
	}
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		goto out;
	}

	switch (scenario) {
	case S_PARENT_WRITE:
		memset(r->mem, NEWBYTE, r->size);
		memset(exp, NEWBYTE, r->size);
		if (pin_snapshot(&p, r, snap))
			goto out;
		snprintf(what, sizeof(what),
			 "%s misses the parent's post-fork write (pin lost its page to COW)",
			 pin_describe(m));
		mm_describe_diff(why, sizeof(why), what, snap, exp, r->size);
		mm_signal(comm.parent_ready[1]);
		break;
	case S_CHILD_WRITE:
		mm_signal(comm.parent_ready[1]);
		st = mm_wait_child(pid);
		pid = 0;
		if (st != C_OK) {
			if (st == C_MISMATCH)
				ktap_fail("%s", msg);
			else
				ktap_error("child failed (status %d)%s%s", st, msg[0] ? ": " : "", msg);
			goto out;
		}
		/* exp == pattern A */
		if (mm_describe_diff(why, sizeof(why), "parent observed child's post-fork write",
				     r->mem, exp, r->size))
			break;
		if (pin_snapshot(&p, r, snap))
			goto out;
		snprintf(what, sizeof(what), "%s shows child's post-fork write", pin_describe(m));
		mm_describe_diff(why, sizeof(why), what, snap, exp, r->size);
		break;
	case S_READ_FIXED:
		/* Write fault after fork on the first half (may COW if broken). */
		memset(r->mem, NEWBYTE, r->size / 2);
		mm_fill(src, r->size, SEED_B);
		if (pin_write_or_report(&p, r->mem, src))
			goto out;
		snprintf(what, sizeof(what),
			 "parent's mapping misses data stored through its %s (pin and mapping diverged)",
			 pin_describe(m));
		mm_describe_diff(why, sizeof(why), what, r->mem, src, r->size);
		mm_signal(comm.parent_ready[1]);
		break;
	}

	if (pid > 0) {
		st = mm_wait_child(pid);
		if (st == C_MISMATCH) {
			if (why[0])
				ktap_diag("%s", why);
			ktap_fail("%s", msg);
			goto out;
		}
		if (st != C_OK) {
			ktap_error("child failed (status %d)%s%s", st, msg[0] ? ": " : "", msg);
			goto out;
		}
	}
	if (why[0]) {
		ktap_fail("%s", why);
		goto out;
	}
	ktap_pass();
out:
	pin_release(&p);
	free(exp);
	free(snap);
	free(src);
}

static const struct pin_case cases[] = {
	{ "iouring-fork-parent-write", "iouring", MM_ALL_TYPES, 0, test_pin_before_fork,
	  S_PARENT_WRITE },
	{ "iouring-fork-child-write", "iouring", MM_ALL_TYPES, 0, test_pin_before_fork,
	  S_CHILD_WRITE },
	{ "iouring-fork-read-fixed", "iouring", MM_ALL_TYPES, 0, test_pin_before_fork,
	  S_READ_FIXED },
};

int main(int argc, char **argv)
{
	static const struct pin_suite suite = {
		cases, (int)(sizeof(cases) / sizeof(cases[0])), SEED_A, NULL
	};

	return pin_cases_main(argc, argv, &suite);
}
