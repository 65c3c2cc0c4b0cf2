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
 */
#define _GNU_SOURCE
#include "ktap.h"
#include "mm.h"
#include "uring.h"

enum scenario {
	S_PARENT_WRITE,
	S_CHILD_WRITE,
	S_READ_FIXED,
	S_NR
};

static const char *const scenario_names[S_NR] = {
	[S_PARENT_WRITE] = "iouring-fork-parent-write",
	[S_CHILD_WRITE] = "iouring-fork-child-write",
	[S_READ_FIXED] = "iouring-fork-read-fixed",
};

#define SEED_A 5	/* initial content */
#define SEED_B 77	/* content stored through the pin (read_fixed) */
#define NEWBYTE 0xff

#define C_OK 0
#define C_MISMATCH 1
#define C_ERROR 2

/* Child: either check that it still sees pattern A, or write NEWBYTE. */
static int child_fn(int scenario, struct mm_region *r, struct mm_comm *comm, char *msg)
{
	unsigned char *exp = malloc(r->size);

	if (!exp) {
		snprintf(msg, 4096, "child: malloc failed");
		return C_ERROR;
	}
	mm_signal(comm->child_ready[1]);
	if (mm_wait(comm->parent_ready[0])) {
		snprintf(msg, 4096, "child: parent handshake failed");
		return C_ERROR;
	}
	if (scenario == S_CHILD_WRITE) {
		memset(r->mem, NEWBYTE, r->size);
		memset(exp, NEWBYTE, r->size);
		if (mm_describe_diff(msg, 4096, "child lost its own write", r->mem, exp, r->size))
			return C_MISMATCH;
		return C_OK;
	}
	mm_fill(exp, r->size, SEED_A);
	if (mm_describe_diff(msg, 4096,
			     scenario == S_PARENT_WRITE ?
			     "child observed parent's post-fork write" :
			     "child observed data stored through the parent's pin (read_fixed)",
			     r->mem, exp, r->size))
		return C_MISMATCH;
	return C_OK;
}

static void run_case(const struct ktap_case *c)
{
	struct mm_region r;
	struct ur_ctx u;
	struct mm_comm comm;
	unsigned char *exp, *snap;
	char desc[256], why[KTAP_REASON_MAX] = "", *msg;
	int scenario = c->a, st;
	pid_t pid;

	u.fd = -1;
	if (mm_region_setup(&r, (enum mm_type)c->b, SEED_A))
		return;
	if (ur_setup_or_report(&u, r.mem, r.size))
		goto out;
	mm_region_describe(&r, desc, sizeof(desc));
	ktap_diag("%s: after registration: %s", c->name, desc);

	exp = malloc(r.size);
	snap = malloc(r.size);
	msg = mm_shared_msg();
	if (!exp || !snap || !msg || mm_comm_setup(&comm)) {
		ktap_error("setup failed: %s", strerror(errno));
		goto out;
	}
	/* Sanity: the pin sees the initial content before fork. */
	mm_fill(exp, r.size, SEED_A);
	if (ur_pin_snapshot(&u, r.mem, r.size, snap))
		goto out;
	if (mm_describe_diff(why, sizeof(why), "pinned buffer differs from memory before fork",
			     snap, exp, r.size)) {
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
		_exit(child_fn(scenario, &r, &comm, msg));
	}
	if (mm_wait(comm.child_ready[0])) {
		ktap_error("child died before handshake (status %d)", mm_wait_child(pid));
		goto out;
	}

	switch (scenario) {
	case S_PARENT_WRITE:
		memset(r.mem, NEWBYTE, r.size);
		memset(exp, NEWBYTE, r.size);
		if (ur_pin_snapshot(&u, r.mem, r.size, snap))
			goto out;
		mm_describe_diff(why, sizeof(why),
				 "pinned buffer (io_uring write_fixed) misses the parent's post-fork write (pin lost its page to COW)",
				 snap, exp, r.size);
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
				     r.mem, exp, r.size))
			break;
		if (ur_pin_snapshot(&u, r.mem, r.size, snap))
			goto out;
		mm_describe_diff(why, sizeof(why), "pinned buffer shows child's post-fork write",
				 snap, exp, r.size);
		break;
	case S_READ_FIXED: {
		unsigned char *src = malloc(r.size);

		if (!src) {
			ktap_error("malloc failed");
			goto out;
		}
		/* Write fault after fork on the first half (may COW if broken). */
		memset(r.mem, NEWBYTE, r.size / 2);
		mm_fill(src, r.size, SEED_B);
		if (ur_pin_store(&u, r.mem, r.size, src))
			goto out;
		mm_describe_diff(why, sizeof(why),
				 "parent's mapping misses data stored through its pin by read_fixed (pin and mapping diverged)",
				 r.mem, src, r.size);
		mm_signal(comm.parent_ready[1]);
		break;
	}
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
	ur_teardown(&u);
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
