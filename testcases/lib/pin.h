/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * pin.h - one registry of the ways a cowlab program pins (or references) a
 * region, so the explorer (explore.h) and its generated reproducers name a
 * mechanism once and get pin/read/write/unpin for it.  Header-only.
 *
 *   iouring      io_uring fixed buffer: R/W long-term pin (FOLL_WRITE |
 *                FOLL_LONGTERM).  read = IORING_OP_WRITE_FIXED of the buffer
 *                to a memfd, then pread(); write = pwrite() to the memfd, then
 *                IORING_OP_READ_FIXED into the buffer.  Raw syscalls (no
 *                liburing), so programs need no -luring.
 *   gup-ro       gup_test PIN_LONGTERM_TEST_START without the write flag: R/O
 *                long-term pin; read = PIN_LONGTERM_TEST_READ (Linux 6.2+).
 *   gup-ro-fast  the same with PIN_LONGTERM_TEST_FLAG_USE_FAST (GUP-fast).
 *   vmsplice     vmsplice() into a pipe: R/O GUP reference, not long-term.
 *                read = tee() the pipe into a scratch pipe and read that, so
 *                the reference can be read again and again.
 *   odirect      O_DIRECT I/O on a file: GUP at the time of each access.
 *                read = O_DIRECT write of the region to the file, write =
 *                O_DIRECT read of the file into the region.  Needs a
 *                filesystem that supports O_DIRECT (/tmp or /var/tmp);
 *                tmpfs refuses it, so the guest skips.
 *
 * A mechanism this kernel lacks (no gup_test, PIN_LONGTERM_TEST before 6.2,
 * io_uring ENOSYS/EPERM, no O_DIRECT file) is a skip with a reason: probe()
 * says so without pinning, pin() returns PIN_SKIP.
 *
 * The gup_test pin is global in the kernel (one at a time) and dies with the
 * last reference to the gup_test file; a forked process that is not the pin
 * owner calls pin_forget() (close its copies of the fds), never unpin().
 */
#ifndef COWLAB_PIN_H
#define COWLAB_PIN_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mm.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/uio.h>

/* struct pin_mech.flags */
#define PIN_LONGTERM	0x1	/* FOLL_LONGTERM pin held until unpin */
#define PIN_CAN_WRITE	0x2	/* the pin can write into the region */
#define PIN_AT_ACCESS	0x4	/* GUP happens at each access, nothing is held */

/* pin() results; a negative value is -errno of the failed pin (why says how) */
#define PIN_OK		0
#define PIN_SKIP	1	/* the mechanism is not available here (why says why) */

#ifndef F_SETPIPE_SZ
#define F_SETPIPE_SZ 1031
#endif
#ifndef MFD_CLOEXEC
#define MFD_CLOEXEC 0x0001U
#endif

/* ------------------------------------------------------- io_uring, raw */

#ifndef __NR_io_uring_setup
#define __NR_io_uring_setup 425
#endif
#ifndef __NR_io_uring_enter
#define __NR_io_uring_enter 426
#endif
#ifndef __NR_io_uring_register
#define __NR_io_uring_register 427
#endif

/* The io_uring ABI (include/uapi/linux/io_uring.h), stable since 5.1. */
#define PIN__IORING_OP_READ_FIXED	4
#define PIN__IORING_OP_WRITE_FIXED	5
#define PIN__IORING_ENTER_GETEVENTS	1U
#define PIN__IORING_REGISTER_BUFFERS	0
#define PIN__IORING_UNREGISTER_BUFFERS	1
#define PIN__IORING_OFF_SQ_RING		0ULL
#define PIN__IORING_OFF_CQ_RING		0x8000000ULL
#define PIN__IORING_OFF_SQES		0x10000000ULL

struct pin__sqe {
	uint8_t opcode;
	uint8_t flags;
	uint16_t ioprio;
	int32_t fd;
	uint64_t off;
	uint64_t addr;
	uint32_t len;
	uint32_t rw_flags;
	uint64_t user_data;
	uint16_t buf_index;
	uint16_t personality;
	int32_t splice_fd_in;
	uint64_t addr3;
	uint64_t pad;
};

struct pin__cqe {
	uint64_t user_data;
	int32_t res;
	uint32_t flags;
};

struct pin__uring_params {
	uint32_t sq_entries, cq_entries, flags, sq_thread_cpu, sq_thread_idle;
	uint32_t features, wq_fd, resv[3];
	struct {
		uint32_t head, tail, ring_mask, ring_entries, flags, dropped, array, resv1;
		uint64_t user_addr;
	} sq_off;
	struct {
		uint32_t head, tail, ring_mask, ring_entries, overflow, cqes, flags, resv1;
		uint64_t user_addr;
	} cq_off;
};

_Static_assert(sizeof(struct pin__sqe) == 64, "io_uring sqe ABI");
_Static_assert(sizeof(struct pin__cqe) == 16, "io_uring cqe ABI");
_Static_assert(sizeof(struct pin__uring_params) == 120, "io_uring params ABI");

struct pin_uring {
	int fd;
	void *sq_ptr, *cq_ptr;
	size_t sq_len, cq_len, sqes_len;
	struct pin__sqe *sqes;
	struct pin__cqe *cqes;
	unsigned *sq_tail, *sq_mask, *sq_array;
	unsigned *cq_head, *cq_tail, *cq_mask;
};

static inline void pin__uring_close(struct pin_uring *r)
{
	if (r->sqes)
		munmap(r->sqes, r->sqes_len);
	if (r->cq_ptr)
		munmap(r->cq_ptr, r->cq_len);
	if (r->sq_ptr)
		munmap(r->sq_ptr, r->sq_len);
	if (r->fd >= 0)
		close(r->fd);
	memset(r, 0, sizeof(*r));
	r->fd = -1;
}

/* io_uring_setup + the three ring mappings; 0 or -errno. */
static inline int pin__uring_open(struct pin_uring *r, unsigned entries)
{
	struct pin__uring_params p;
	char *sq, *cq;

	memset(r, 0, sizeof(*r));
	memset(&p, 0, sizeof(p));
	r->fd = (int)syscall(__NR_io_uring_setup, entries, &p);
	if (r->fd < 0) {
		r->fd = -1;
		return -errno;
	}
	r->sq_len = p.sq_off.array + p.sq_entries * sizeof(unsigned);
	r->cq_len = p.cq_off.cqes + p.cq_entries * sizeof(struct pin__cqe);
	r->sqes_len = p.sq_entries * sizeof(struct pin__sqe);
	r->sq_ptr = mmap(NULL, r->sq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, PIN__IORING_OFF_SQ_RING);
	r->cq_ptr = mmap(NULL, r->cq_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
			 r->fd, PIN__IORING_OFF_CQ_RING);
	r->sqes = mmap(NULL, r->sqes_len, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE,
		       r->fd, PIN__IORING_OFF_SQES);
	if (r->sq_ptr == MAP_FAILED || r->cq_ptr == MAP_FAILED || r->sqes == MAP_FAILED) {
		int e = errno;

		if (r->sq_ptr == MAP_FAILED)
			r->sq_ptr = NULL;
		if (r->cq_ptr == MAP_FAILED)
			r->cq_ptr = NULL;
		if (r->sqes == MAP_FAILED)
			r->sqes = NULL;
		pin__uring_close(r);
		return -e;
	}
	sq = r->sq_ptr;
	cq = r->cq_ptr;
	r->sq_tail = (unsigned *)(sq + p.sq_off.tail);
	r->sq_mask = (unsigned *)(sq + p.sq_off.ring_mask);
	r->sq_array = (unsigned *)(sq + p.sq_off.array);
	r->cq_head = (unsigned *)(cq + p.cq_off.head);
	r->cq_tail = (unsigned *)(cq + p.cq_off.tail);
	r->cq_mask = (unsigned *)(cq + p.cq_off.ring_mask);
	r->cqes = (struct pin__cqe *)(cq + p.cq_off.cqes);
	return 0;
}

/* One fixed-buffer op (buffer index 0), waited for; cqe->res (bytes or -errno). */
static inline int pin__uring_rw(struct pin_uring *r, int opcode, int fd, void *buf,
				size_t len, uint64_t off)
{
	unsigned tail = *r->sq_tail, idx = tail & *r->sq_mask, head;
	struct pin__sqe *sqe = &r->sqes[idx];
	int res, submit = 1;

	memset(sqe, 0, sizeof(*sqe));
	sqe->opcode = (uint8_t)opcode;
	sqe->fd = fd;
	sqe->off = off;
	sqe->addr = (uint64_t)(uintptr_t)buf;
	sqe->len = (uint32_t)len;
	sqe->buf_index = 0;
	r->sq_array[idx] = idx;
	__atomic_store_n(r->sq_tail, tail + 1, __ATOMIC_RELEASE);
	for (;;) {
		head = *r->cq_head;
		if (head != __atomic_load_n(r->cq_tail, __ATOMIC_ACQUIRE)) {
			res = r->cqes[head & *r->cq_mask].res;
			__atomic_store_n(r->cq_head, head + 1, __ATOMIC_RELEASE);
			return res;
		}
		if (syscall(__NR_io_uring_enter, r->fd, submit, 1, PIN__IORING_ENTER_GETEVENTS,
			    NULL, 0) < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		submit = 0;
	}
}

/* ------------------------------------------------------------ the state */

struct pin_mech;

struct pin_state {
	const struct pin_mech *mech;	/* NULL: no pin */
	void *mem;			/* the address pinned (io_uring's buffer address) */
	size_t size;
	int fd;				/* gup_test, or the O_DIRECT file */
	int fd2;			/* io_uring's memfd, or the buffered file (odirect) */
	int pipe[2];			/* vmsplice: the referencing pipe */
	int tee[2];			/* vmsplice: the scratch pipe tee() copies into */
	size_t held;			/* vmsplice: bytes in the pipe */
	struct pin_uring ring;
};

struct pin_mech {
	const char *name;
	unsigned flags;			/* PIN_LONGTERM, PIN_CAN_WRITE, PIN_AT_ACCESS */
	/* usable here? 0, or PIN_SKIP with the reason in why; takes no pin */
	int (*probe)(char *why, size_t len);
	/* PIN_OK, PIN_SKIP, or -errno; why says what went wrong */
	int (*pin)(struct pin_state *p, void *mem, size_t size, char *why, size_t len);
	/*
	 * Copy what the pin sees into out (p->size bytes); mem is the owner's
	 * current address of the region (odirect accesses it, the others the
	 * pinned pages).  Bytes copied (> 0), or -errno.
	 */
	ssize_t (*read)(struct pin_state *p, void *mem, void *out);
	/* Store src (p->size bytes) through the pin; 0 or -errno.  NULL: R/O. */
	int (*write)(struct pin_state *p, void *mem, const void *src);
	void (*unpin)(struct pin_state *p);
};

static inline void pin__init(struct pin_state *p, void *mem, size_t size)
{
	memset(p, 0, sizeof(*p));
	p->mem = mem;
	p->size = size;
	p->fd = p->fd2 = -1;
	p->pipe[0] = p->pipe[1] = p->tee[0] = p->tee[1] = -1;
	p->ring.fd = -1;
}

static inline void pin__close(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* Close this process's fds of a pin it does not own (after fork): no unpin. */
static inline void pin_forget(struct pin_state *p)
{
	pin__close(&p->fd);
	pin__close(&p->fd2);
	pin__close(&p->pipe[0]);
	pin__close(&p->pipe[1]);
	pin__close(&p->tee[0]);
	pin__close(&p->tee[1]);
	if (p->ring.fd >= 0)
		pin__uring_close(&p->ring);
	p->mech = NULL;
}

/* All n bytes at off, or -errno (-EIO for a short file): pread, or pwrite when `write`. */
static inline int pin__full_io(int fd, void *buf, size_t n, off_t off, bool write)
{
	size_t done = 0;

	while (done < n) {
		ssize_t r = write ? pwrite(fd, (char *)buf + done, n - done, off + (off_t)done)
				  : pread(fd, (char *)buf + done, n - done, off + (off_t)done);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}

static inline int pin__full_pread(int fd, void *buf, size_t n, off_t off)
{
	return pin__full_io(fd, buf, n, off, false);
}

static inline int pin__full_pwrite(int fd, const void *buf, size_t n, off_t off)
{
	return pin__full_io(fd, (void *)buf, n, off, true);
}

static inline int pin__memfd(const char *name)
{
	int fd = (int)syscall(SYS_memfd_create, name, MFD_CLOEXEC);

	if (fd < 0) {
		char path[] = "/tmp/cowlab-pin-XXXXXX";

		fd = mkstemp(path);
		if (fd >= 0)
			unlink(path);
	}
	return fd;
}

/* ------------------------------------------------------------- iouring */

static inline int pin__iouring_probe(char *why, size_t len)
{
	struct pin_uring r;
	int e = pin__uring_open(&r, 1);

	if (e < 0) {
		snprintf(why, len, "io_uring unavailable: io_uring_setup: %s%s", strerror(-e),
			 e == -EPERM ? " (kernel.io_uring_disabled?)" : "");
		return PIN_SKIP;
	}
	pin__uring_close(&r);
	return 0;
}

static inline int pin__iouring_pin(struct pin_state *p, void *mem, size_t size, char *why,
				   size_t len)
{
	struct iovec iov = { .iov_base = mem, .iov_len = size };
	int e;

	pin__init(p, mem, size);
	e = pin__uring_open(&p->ring, 4);
	if (e < 0) {
		snprintf(why, len, "io_uring_setup: %s", strerror(-e));
		return (e == -ENOSYS || e == -EPERM) ? PIN_SKIP : e;
	}
	p->fd2 = pin__memfd("cowlab-pin");
	if (p->fd2 < 0 || ftruncate(p->fd2, (off_t)size)) {
		e = -errno;
		snprintf(why, len, "memfd for io_uring: %s", strerror(-e));
		pin_forget(p);
		return e;
	}
	if (syscall(__NR_io_uring_register, p->ring.fd, PIN__IORING_REGISTER_BUFFERS, &iov, 1)) {
		e = -errno;
		snprintf(why, len, "io_uring_register(BUFFERS, %zu kB): %s", size / 1024,
			 strerror(-e));
		pin_forget(p);
		return e;
	}
	return PIN_OK;
}

/* Loop a fixed op over the whole buffer (short transfers continue). */
static inline int pin__iouring_xfer(struct pin_state *p, int opcode)
{
	size_t done = 0;

	while (done < p->size) {
		int r = pin__uring_rw(&p->ring, opcode, p->fd2, (char *)p->mem + done,
				      p->size - done, done);

		if (r < 0)
			return r;
		if (r == 0)
			return -EIO;
		done += (size_t)r;
	}
	return 0;
}

static inline ssize_t pin__iouring_read(struct pin_state *p, void *mem, void *out)
{
	int e;

	(void)mem;	/* the pinned buffer, wherever the owner maps it now */
	e = pin__iouring_xfer(p, PIN__IORING_OP_WRITE_FIXED);
	if (!e)
		e = pin__full_pread(p->fd2, out, p->size, 0);
	return e < 0 ? e : (ssize_t)p->size;
}

static inline int pin__iouring_write(struct pin_state *p, void *mem, const void *src)
{
	int e;

	(void)mem;
	e = pin__full_pwrite(p->fd2, src, p->size, 0);
	return e ? e : pin__iouring_xfer(p, PIN__IORING_OP_READ_FIXED);
}

static inline void pin__iouring_unpin(struct pin_state *p)
{
	if (p->ring.fd >= 0)
		syscall(__NR_io_uring_register, p->ring.fd, PIN__IORING_UNREGISTER_BUFFERS, NULL, 0);
	pin_forget(p);
}

/* --------------------------------------------------- gup_test R/O pins */

static inline int pin__gup_probe(char *why, size_t len)
{
	int fd = mm_gup_test_open(why, len);

	if (fd < 0)
		return PIN_SKIP;
	close(fd);
	return 0;
}

static inline int pin__gup_pin_flags(struct pin_state *p, void *mem, size_t size, char *why,
				     size_t len, uint32_t flags)
{
	struct cowlab_pin_longterm_test args;
	int e;

	pin__init(p, mem, size);
	p->fd = mm_gup_test_open(why, len);
	if (p->fd < 0)
		return PIN_SKIP;
	memset(&args, 0, sizeof(args));
	args.addr = (uint64_t)(uintptr_t)mem;
	args.size = size;
	args.flags = flags;
	if (ioctl(p->fd, COWLAB_PIN_LONGTERM_TEST_START, &args)) {
		e = -errno;
		snprintf(why, len, "PIN_LONGTERM_TEST_START: %s", strerror(-e));
		pin_forget(p);
		return e;
	}
	return PIN_OK;
}

static inline int pin__gup_ro_pin(struct pin_state *p, void *mem, size_t size, char *why,
				  size_t len)
{
	return pin__gup_pin_flags(p, mem, size, why, len, 0);
}

static inline int pin__gup_ro_fast_pin(struct pin_state *p, void *mem, size_t size, char *why,
				       size_t len)
{
	return pin__gup_pin_flags(p, mem, size, why, len, COWLAB_PIN_LONGTERM_TEST_FLAG_USE_FAST);
}

static inline ssize_t pin__gup_read(struct pin_state *p, void *mem, void *out)
{
	uint64_t addr = (uint64_t)(uintptr_t)out;

	(void)mem;
	if (ioctl(p->fd, COWLAB_PIN_LONGTERM_TEST_READ, &addr))
		return -errno;
	return (ssize_t)p->size;
}

static inline void pin__gup_unpin(struct pin_state *p)
{
	if (p->fd >= 0)
		ioctl(p->fd, COWLAB_PIN_LONGTERM_TEST_STOP);
	pin_forget(p);
}

/* ------------------------------------------------------------ vmsplice */

static inline int pin__vmsplice_probe(char *why, size_t len)
{
	(void)why;
	(void)len;
	return 0;
}

/* A pipe that holds size bytes of page buffers (root may exceed pipe-max-size). */
static inline int pin__big_pipe(int fds[2], size_t size)
{
	size_t want = mm_pagesize();

	if (pipe2(fds, O_CLOEXEC))
		return -errno;
	while (want < size && want < (size_t)INT_MAX / 2)
		want <<= 1;
	fcntl(fds[1], F_SETPIPE_SZ, (int)want);	/* else: a partial reference */
	return 0;
}

static inline int pin__vmsplice_pin(struct pin_state *p, void *mem, size_t size, char *why,
				    size_t len)
{
	struct iovec iov = { .iov_base = mem, .iov_len = size };
	ssize_t n;
	int e;

	pin__init(p, mem, size);
	if ((e = pin__big_pipe(p->pipe, size)) || (e = pin__big_pipe(p->tee, size))) {
		snprintf(why, len, "pipe: %s", strerror(-e));
		pin_forget(p);
		return e;
	}
	n = vmsplice(p->pipe[1], &iov, 1, SPLICE_F_NONBLOCK);
	if (n <= 0) {
		e = n < 0 ? -errno : -EIO;
		snprintf(why, len, "vmsplice(%zu kB): %s", size / 1024,
			 n < 0 ? strerror(-e) : "0 bytes");
		pin_forget(p);
		return e;
	}
	p->held = (size_t)n;
	return PIN_OK;
}

/* tee() the referencing pipe (it keeps its buffers) and read the copy. */
static inline ssize_t pin__vmsplice_read(struct pin_state *p, void *mem, void *out)
{
	ssize_t n = tee(p->pipe[0], p->tee[1], p->held, SPLICE_F_NONBLOCK);
	size_t got = 0;

	(void)mem;
	if (n <= 0)
		return n < 0 ? -errno : -EIO;
	while (got < (size_t)n) {
		ssize_t r = read(p->tee[0], (char *)out + got, (size_t)n - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -EIO;
		got += (size_t)r;
	}
	return n;
}

static inline void pin__vmsplice_unpin(struct pin_state *p)
{
	pin_forget(p);
}

/* ------------------------------------------------------------- odirect */

static const char *const pin__odirect_dirs[] = { "/tmp", "/var/tmp" };

/* Create and unlink a file in an O_DIRECT-capable directory: fd (O_DIRECT), fd2. */
static inline int pin__odirect_file(int *fd, int *fd2, char *why, size_t len)
{
	size_t off = 0;

	for (size_t i = 0; i < sizeof(pin__odirect_dirs) / sizeof(pin__odirect_dirs[0]); i++) {
		char path[64];
		int e;

		snprintf(path, sizeof(path), "%s/cowlab-odirect-%d", pin__odirect_dirs[i],
			 (int)getpid());
		*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
		if (*fd < 0 && errno == EEXIST) {
			unlink(path);
			*fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_DIRECT | O_CLOEXEC, 0600);
		}
		if (*fd >= 0) {
			*fd2 = open(path, O_RDWR | O_CLOEXEC);
			e = errno;
			unlink(path);
			if (*fd2 >= 0)
				return 0;
			close(*fd);
			*fd = -1;
		} else {
			e = errno;
			unlink(path);	/* a filesystem may create it, then refuse O_DIRECT */
		}
		if (off < len)
			off += (size_t)snprintf(why + off, len - off, "%s%s: %s%s", off ? ", " : "",
						pin__odirect_dirs[i], strerror(e),
						e == EINVAL ? " (tmpfs?)" : "");
	}
	return PIN_SKIP;
}

static inline int pin__odirect_probe(char *why, size_t len)
{
	char reasons[200] = "";
	int fd, fd2;

	if (pin__odirect_file(&fd, &fd2, reasons, sizeof(reasons))) {
		snprintf(why, len, "no O_DIRECT-capable file (%s)", reasons);
		return PIN_SKIP;
	}
	close(fd);
	close(fd2);
	return 0;
}

static inline int pin__odirect_pin(struct pin_state *p, void *mem, size_t size, char *why,
				   size_t len)
{
	char reasons[200] = "";
	int e;

	pin__init(p, mem, size);
	if (pin__odirect_file(&p->fd, &p->fd2, reasons, sizeof(reasons))) {
		snprintf(why, len, "no O_DIRECT-capable file (%s)", reasons);
		return PIN_SKIP;
	}
	if (ftruncate(p->fd2, (off_t)size)) {
		e = -errno;
		snprintf(why, len, "ftruncate: %s", strerror(-e));
		pin_forget(p);
		return e;
	}
	return PIN_OK;
}

/* O_DIRECT write of the owner's mapping (GUP now), then read the file back. */
static inline ssize_t pin__odirect_read(struct pin_state *p, void *mem, void *out)
{
	int e = pin__full_pwrite(p->fd, mem, p->size, 0);

	if (!e)
		e = pin__full_pread(p->fd2, out, p->size, 0);
	return e < 0 ? e : (ssize_t)p->size;
}

/* Put src in the file, then O_DIRECT read it into the owner's mapping (GUP with FOLL_WRITE). */
static inline int pin__odirect_write(struct pin_state *p, void *mem, const void *src)
{
	int e = pin__full_pwrite(p->fd2, src, p->size, 0);

	return e ? e : pin__full_pread(p->fd, mem, p->size, 0);
}

static inline void pin__odirect_unpin(struct pin_state *p)
{
	pin_forget(p);
}

/* ------------------------------------------------------------ registry */

static const struct pin_mech pin_mechs[] = {
	{ "iouring", PIN_LONGTERM | PIN_CAN_WRITE, pin__iouring_probe, pin__iouring_pin,
	  pin__iouring_read, pin__iouring_write, pin__iouring_unpin },
	{ "gup-ro", PIN_LONGTERM, pin__gup_probe, pin__gup_ro_pin,
	  pin__gup_read, NULL, pin__gup_unpin },
	{ "gup-ro-fast", PIN_LONGTERM, pin__gup_probe, pin__gup_ro_fast_pin,
	  pin__gup_read, NULL, pin__gup_unpin },
	{ "vmsplice", 0, pin__vmsplice_probe, pin__vmsplice_pin,
	  pin__vmsplice_read, NULL, pin__vmsplice_unpin },
	{ "odirect", PIN_CAN_WRITE | PIN_AT_ACCESS, pin__odirect_probe, pin__odirect_pin,
	  pin__odirect_read, pin__odirect_write, pin__odirect_unpin },
};

#define PIN_NR_MECHS ((int)(sizeof(pin_mechs) / sizeof(pin_mechs[0])))

/* The mechanism called name, or NULL. */
static inline const struct pin_mech *pin_find(const char *name)
{
	for (int i = 0; i < PIN_NR_MECHS; i++)
		if (!strcmp(pin_mechs[i].name, name))
			return &pin_mechs[i];
	return NULL;
}

/* ------------------------------------------------ cases over (region, pin) */
/*
 * The hand-written programs (gup-after-fork, gup-before-fork, swap, migration)
 * stand on two axes, like the kernel's tools/testing/selftests/mm/cow.c: a
 * memory runner (mm.h mm_region_setup_size()) sets up a region of a type, a
 * mechanism of the registry above pins it, and a case is a function over
 * (region, pin).  A program lists its scenarios, each with its mechanism and
 * the memory types it runs on; pin_cases_main() names the cases
 * <scenario>-<memtype> (scenario major, types in enum mm_type order) and runs
 * each in its own case process (ktap.h).
 *
 * Before the region is set up the runner checks the program's precondition and
 * probes the mechanism (absent here: SKIP), then prints "<case>: <region>".
 * The case function takes the pin when its scenario says so, with the helpers
 * below, which report through ktap.h: a mechanism this guest lacks is a SKIP,
 * a pin, read or store that fails is an ERROR, except that a refused io_uring
 * registration stays the SKIP it always was in these programs (a guest limit:
 * RLIMIT_MEMLOCK, io_uring quotas, not a wrong result).  A zeroed pin_state
 * holds no pin; pin_release() is then a no-op.
 */
struct pin_case {
	const char *name;	/* the scenario: cases are <name>-<memtype> */
	const char *mech;	/* pin mechanism (pin_find()); NULL: the scenario takes none */
	unsigned types;		/* memory types it runs on: MM_TYPE(t) bits */
	unsigned pages;		/* base and swap: pages in the region (0: one); others: one huge page */
	void (*fn)(struct mm_region *r, const struct pin_mech *m, int arg);
	int arg;		/* passed to fn: the variant of the scenario */
};

struct pin_suite {
	const struct pin_case *cases;
	int n;
	unsigned seed;		/* regions are filled with mm_pat(seed) */
	int (*ready)(void);	/* the program's precondition: 0, or -1 after a SKIP; NULL: none */
};

static const struct pin_suite *pin__suite;

/* How a mechanism reaches the region, for failure reasons. */
static inline const char *pin_describe(const struct pin_mech *m)
{
	if (!strcmp(m->name, "iouring"))
		return "R/W pin (io_uring fixed buffer)";
	if (!strcmp(m->name, "gup-ro"))
		return "R/O pin (gup_test PIN_LONGTERM_TEST)";
	if (!strcmp(m->name, "gup-ro-fast"))
		return "R/O pin (gup_test PIN_LONGTERM_TEST, GUP-fast)";
	if (!strcmp(m->name, "vmsplice"))
		return "vmsplice() pipe";
	if (!strcmp(m->name, "odirect"))
		return "O_DIRECT I/O";
	return m->name;
}

/* Pin [mem, mem+size) with m into p: 0, or -1 after reporting SKIP or ERROR. */
static inline int pin_take_or_report(struct pin_state *p, const struct pin_mech *m, void *mem,
				     size_t size)
{
	char why[KTAP_REASON_MAX - 32] = "";
	int rc = m->pin(p, mem, size, why, sizeof(why));

	if (rc == PIN_OK) {
		p->mech = m;
		return 0;
	}
	if (rc == PIN_SKIP || !strcmp(m->name, "iouring"))
		ktap_skip("%s: %s", m->name, why);
	else
		ktap_error("%s: %s", m->name, why);
	return -1;
}

/* What the pin sees, into out: the bytes it covers (> 0), or -1 after an ERROR. */
static inline ssize_t pin_read_or_report(struct pin_state *p, void *mem, void *out)
{
	ssize_t n = p->mech->read(p, mem, out);

	if (n <= 0) {
		ktap_error("%s: reading through the pin: %s", p->mech->name,
			   n < 0 ? strerror((int)-n) : "0 bytes");
		return -1;
	}
	return n;
}

/* Store src (the pin's size) through the pin: 0, or -1 after an ERROR. */
static inline int pin_write_or_report(struct pin_state *p, void *mem, const void *src)
{
	int e;

	if (!p->mech->write) {
		ktap_error("internal: %s cannot store through its pin", p->mech->name);
		return -1;
	}
	e = p->mech->write(p, mem, src);
	if (e) {
		ktap_error("%s: storing through the pin: %s", p->mech->name, strerror(-e));
		return -1;
	}
	return 0;
}

/* Unpin (and close) what p holds, if anything. */
static inline void pin_release(struct pin_state *p)
{
	if (p->mech)
		p->mech->unpin(p);
}

static inline void pin__run_case(const struct ktap_case *c)
{
	const struct pin_case *pc = &pin__suite->cases[c->a];
	enum mm_type type = (enum mm_type)c->b;
	const struct pin_mech *m = NULL;
	char why[KTAP_REASON_MAX] = "", desc[256];
	size_t size = 0;
	struct mm_region r;

	if (pin__suite->ready && pin__suite->ready())
		return;
	if (pc->mech) {
		m = pin_find(pc->mech);
		if (!m) {
			ktap_error("internal: no pin mechanism %s", pc->mech);
			return;
		}
		if (m->probe(why, sizeof(why))) {
			ktap_skip("%s", why);
			return;
		}
	}
	if ((type == MT_BASE || type == MT_SWAP) && pc->pages)
		size = pc->pages * mm_pagesize();
	if (mm_region_setup_size(&r, type, size, pin__suite->seed))
		return;
	mm_region_describe(&r, desc, sizeof(desc));
	ktap_diag("%s: %s", c->name, desc);
	pc->fn(&r, m, pc->arg);
	mm_region_free(&r);
}

/* List or run the suite's scenarios x memory types (ktap_main()); the exit code. */
static inline int pin_cases_main(int argc, char **argv, const struct pin_suite *s)
{
	struct ktap_case *cases = calloc((size_t)s->n * MT_NR + 1, sizeof(*cases));
	int n = 0;

	if (!cases)
		return 2;
	pin__suite = s;
	for (int i = 0; i < s->n; i++) {
		for (int t = 0; t < MT_NR; t++) {
			if (!(s->cases[i].types & MM_TYPE(t)))
				continue;
			snprintf(cases[n].name, sizeof(cases[n].name), "%s-%s", s->cases[i].name,
				 mm_type_names[t]);
			cases[n].fn = pin__run_case;
			cases[n].a = i;
			cases[n].b = t;
			n++;
		}
	}
	return ktap_main(argc, argv, cases, n);
}

#endif /* COWLAB_PIN_H */
