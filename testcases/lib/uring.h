/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * uring.h - io_uring fixed-buffer helpers (R/W longterm pin) for cowlab
 * programs; link with -luring.  Header-only.
 *
 * Registering a buffer (io_uring_register_buffers) pins the pages with
 * FOLL_WRITE | FOLL_PIN | FOLL_LONGTERM; write_fixed/read_fixed then access
 * the pinned pages, not the page tables (as in tools/testing/selftests/mm/
 * cow.c do_test_iouring()).
 */
#ifndef COWLAB_URING_H
#define COWLAB_URING_H

#include "ktap.h"
#include "mm.h"

#include <liburing.h>
#include <sys/uio.h>

#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

struct ur_ctx {
	struct io_uring ring;
	int ring_ok;
	int registered;
	int fd;			/* memfd used to move data in/out of the pin */
};

/* memfd_create via syscall (glibc has it, but keep it robust). */
static inline int ur_memfd(const char *name)
{
#ifdef SYS_memfd_create
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);

	if (fd >= 0)
		return fd;
#endif
	{
		char path[] = "/tmp/cowlab-XXXXXX";

		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
		return fd;
	}
}

/* Init ring + memfd + register [mem, mem+size). 0 ok, -1 after SKIP/ERROR. */
static inline int ur_setup_or_report(struct ur_ctx *u, void *mem, size_t size)
{
	struct iovec iov = { .iov_base = mem, .iov_len = size };
	int ret;

	memset(u, 0, sizeof(*u));
	u->fd = ur_memfd("cowlab-uring");
	if (u->fd < 0) {
		ktap_error("memfd_create/mkstemp failed: %s", strerror(errno));
		return -1;
	}
	if (ftruncate(u->fd, (off_t)size)) {
		ktap_error("ftruncate(memfd) failed: %s", strerror(errno));
		return -1;
	}
	ret = io_uring_queue_init(4, &u->ring, 0);
	if (ret < 0) {
		ktap_skip("io_uring_queue_init failed: %s (no io_uring support?)",
			  strerror(-ret));
		return -1;
	}
	u->ring_ok = 1;
	ret = io_uring_register_buffers(&u->ring, &iov, 1);
	if (ret) {
		ktap_skip("io_uring_register_buffers(%zu kB) failed: %s (RLIMIT_MEMLOCK?)",
			  size / 1024, strerror(-ret));
		return -1;
	}
	u->registered = 1;
	return 0;
}

static inline void ur_teardown(struct ur_ctx *u)
{
	if (u->registered)
		io_uring_unregister_buffers(&u->ring);
	if (u->ring_ok)
		io_uring_queue_exit(&u->ring);
	if (u->fd >= 0)
		close(u->fd);
	u->registered = u->ring_ok = 0;
	u->fd = -1;
}

/* One fixed-buffer op; returns cqe->res (bytes or -errno), or -errno of setup. */
static inline int ur__rw_fixed(struct ur_ctx *u, int write, void *buf, size_t len,
			       off_t off)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&u->ring);
	struct io_uring_cqe *cqe;
	int ret;

	if (!sqe)
		return -EBUSY;
	if (write)
		io_uring_prep_write_fixed(sqe, u->fd, buf, (unsigned)len, (__u64)off, 0);
	else
		io_uring_prep_read_fixed(sqe, u->fd, buf, (unsigned)len, (__u64)off, 0);
	ret = io_uring_submit(&u->ring);
	if (ret < 0)
		return ret;
	ret = io_uring_wait_cqe(&u->ring, &cqe);
	if (ret < 0)
		return ret;
	ret = cqe->res;
	io_uring_cqe_seen(&u->ring, cqe);
	return ret;
}

/*
 * Snapshot what the pin sees: write_fixed [mem, mem+size) to the memfd, then
 * pread it into out.  0 ok; -1 after ktap_error.
 */
static inline int ur_pin_snapshot(struct ur_ctx *u, void *mem, size_t size,
				  unsigned char *out)
{
	size_t total = 0;
	int ret = ur__rw_fixed(u, 1, mem, size, 0);

	if (ret < 0 || (size_t)ret != size) {
		ktap_error("io_uring write_fixed from pinned buffer: res=%d (%s), expected %zu",
			   ret, ret < 0 ? strerror(-ret) : "short", size);
		return -1;
	}
	while (total < size) {
		ssize_t r = pread(u->fd, out + total, size - total, (off_t)total);

		if (r <= 0) {
			ktap_error("pread(memfd) failed: %s", r < 0 ? strerror(errno) : "EOF");
			return -1;
		}
		total += (size_t)r;
	}
	return 0;
}

/*
 * Store data through the pin: pwrite src to the memfd, then read_fixed it
 * into [mem, mem+size) (the kernel writes the pinned pages).  0 / -1.
 */
static inline int ur_pin_store(struct ur_ctx *u, void *mem, size_t size,
			       const unsigned char *src)
{
	size_t total = 0;
	int ret;

	while (total < size) {
		ssize_t r = pwrite(u->fd, src + total, size - total, (off_t)total);

		if (r <= 0) {
			ktap_error("pwrite(memfd) failed: %s", r < 0 ? strerror(errno) : "0");
			return -1;
		}
		total += (size_t)r;
	}
	ret = ur__rw_fixed(u, 0, mem, size, 0);
	if (ret < 0 || (size_t)ret != size) {
		ktap_error("io_uring read_fixed into pinned buffer: res=%d (%s), expected %zu",
			   ret, ret < 0 ? strerror(-ret) : "short", size);
		return -1;
	}
	return 0;
}

#endif /* COWLAB_URING_H */
