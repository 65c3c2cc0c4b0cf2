/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * explore.h - the explorer's guest interpreter (issue 9 part 2), header-only
 * so that a generated reproducer (orchestrator/explore/reproducer.ts) can
 * inline it and call the same step functions from a straight-line main().
 *
 * The scenario line, the ops and the observation format are specified in
 * orchestrator/explore/README.md; the memory types, mechanisms and ops are
 * listed in testcases/explore/grammar.yaml.  In short:
 *
 *   LINE := MEMORY ( " | " OP )*        e.g. thp | pin:iouring | fork | write:parent | read:pin
 *
 * Process model.  The scenario's parent process sets the region up and runs
 * every step.  fork / fork2 create child / child2; a child then runs a loop:
 * read a command from its pipe, perform it on its own mapping, reply with the
 * outcome on a second pipe (pipes, not sockets: the guests' tinyconfig kernels
 * have no CONFIG_NET).  The pin lives in the process that took it (parent or
 * child); read:pin, write:pin and unpin go there.  Reads and writes catch
 * SIGSEGV/SIGBUS with sigsetjmp() in the process doing the access; a child
 * that died answers fault:<its signal>.
 *
 * The interpreter (ex_interp_line) forks one scenario process per line, in
 * its own process group.  That process tells it where it is through a shared
 * mapping (struct ex_report: the step it began and when, its step lines), so
 * nothing wakes the interpreter per step: it sleeps in sigtimedwait() until
 * the process exits or the bound of the step it began passes, then prints the
 * block.  The guests run under TCG, where every instruction and page fault is
 * slow: the interpreter reads what cannot change once and the scenario
 * processes inherit it (THP size, NUMA nodes, swap size, probe results, a
 * faulted-in scratch area for pin reads); a region is checked with pagemap,
 * kpageflags and PAGEMAP_SCAN reads, not smaps; data is filled and classified
 * two words at a time.
 *
 * Outcomes (README "Observation format"): a read is init, zero, w<k> or
 * mixed@<decimal byte offset> (offset 0 when the first word is no version at
 * all), or fault:SIGSEGV / fault:SIGBUS (an access that faulted) /
 * fault:E<NAME> (a pin read or write whose syscall failed); a write is ok or
 * fault:...; any other op is ok or err:E<NAME> (move_pages: ret:<pages not
 * moved> when no status says why; ksm:merge: err:ETIMEDOUT when ksmd did not
 * merge within min(step bound / 2, 3 s)).  A process that died answers
 * fault:<its signal> (fault:EXITED if it exited).  When the set-up is
 * impossible the scenario prints `skip <reason>` instead of (further) step
 * lines: a mechanism this kernel lacks, no THP / mTHP / huge shmem folio
 * obtained, too few free hugetlb pages, no swap, one NUMA node for migrate,
 * KSM not merging in 5 s, a pin or fork that failed.
 *
 * Set-up (grammar.yaml `memory`): base is one page (MADV_NOHUGEPAGE); thp a
 * PMD-mapped THP (kpageflags + AnonHugePages); pte-mapped-thp / single-pte-thp
 * as cow.c (mprotect of one subpage and back; MADV_DONTNEED of the rest);
 * mthp:SIZE sets hugepages-SIZEkB/enabled=always and maps exactly SIZE
 * (checked: one large folio); swap / thp-swap MADV_PAGEOUT until pagemap says
 * swapped; hugetlb:SIZE needs 2 + forks free pages of that size; ksm makes a
 * twin with the same content, MADV_MERGEABLE both, ksm/run=1, waits for equal
 * PFNs (ksm/sleep_millisecs=0 while it waits); zeropage read-faults (PFN
 * compared with another read-faulted page); memfd-private / shmem-thp-private
 * map a memfd holding init MAP_PRIVATE and read-fault it (shmem:
 * shmem_enabled=always, checked: one large folio).  The thp check is
 * PMD-mapped (PAGEMAP_SCAN, smaps' AnonHugePages before Linux 6.7) plus the
 * kpageflags THP bit.  A reproducer puts the sysfs knobs its scenario changes
 * back after it (ex_knobs_*); the interpreter sets them once for a run of
 * scenarios that need them and puts them back at its end (ex__interp_knobs).
 * After munmap the address is kept reserved PROT_NONE, so a later access
 * faults rather than hitting an unrelated new mapping.
 *
 * Entry points:
 *   ex_parse()                    scenario line -> struct ex_scenario
 *   ex_setup() / ex_step() / ex_teardown()   the library (one process tree)
 *   ex_interp_line()              the interpreter: one scenario in a fresh,
 *                                 bounded process tree, its whole block printed
 *   ex_repro_begin() / ex_repro_step() / ex_repro_end()   generated reproducers
 */
#ifndef COWLAB_EXPLORE_H
#define COWLAB_EXPLORE_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "mm.h"
#include "pin.h"

#include <ctype.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <sys/time.h>

#ifndef MADV_DONTNEED
#define MADV_DONTNEED 4
#endif
#ifndef MADV_DONTFORK
#define MADV_DONTFORK 10
#endif
#ifndef MADV_DOFORK
#define MADV_DOFORK 11
#endif
#ifndef MADV_MERGEABLE
#define MADV_MERGEABLE 12
#endif
#ifndef MADV_UNMERGEABLE
#define MADV_UNMERGEABLE 13
#endif
#ifndef MADV_WIPEONFORK
#define MADV_WIPEONFORK 18
#endif
#ifndef MADV_COLLAPSE
#define MADV_COLLAPSE 25
#endif
#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif
#ifndef MREMAP_MAYMOVE
#define MREMAP_MAYMOVE 1
#endif
#ifndef MREMAP_FIXED
#define MREMAP_FIXED 2
#endif

#define EX_MAX_STEPS	64
#define EX_TOKEN_MAX	48
#define EX_TEXT_MAX	256	/* an outcome, a skip reason, a kernel line */
#define EX_LINE_MAX	4096

/* ------------------------------------------------------------ grammar */

enum ex_mem {
	EM_BASE, EM_THP, EM_PTE_THP, EM_SINGLE_PTE_THP, EM_MTHP, EM_SWAP, EM_THP_SWAP,
	EM_HUGETLB, EM_KSM, EM_ZEROPAGE, EM_MEMFD, EM_SHMEM_THP, EM_NR
};

static const struct {
	const char *name;
	int sized;		/* TYPE:SIZE */
} ex_mems[EM_NR] = {
	[EM_BASE] = { "base", 0 },
	[EM_THP] = { "thp", 0 },
	[EM_PTE_THP] = { "pte-mapped-thp", 0 },
	[EM_SINGLE_PTE_THP] = { "single-pte-thp", 0 },
	[EM_MTHP] = { "mthp", 1 },
	[EM_SWAP] = { "swap", 0 },
	[EM_THP_SWAP] = { "thp-swap", 0 },
	[EM_HUGETLB] = { "hugetlb", 1 },
	[EM_KSM] = { "ksm", 0 },
	[EM_ZEROPAGE] = { "zeropage", 0 },
	[EM_MEMFD] = { "memfd-private", 0 },
	[EM_SHMEM_THP] = { "shmem-thp-private", 0 },
};

enum ex_opname {
	OP_READ, OP_WRITE, OP_FORK, OP_FORK2, OP_PIN, OP_UNPIN, OP_MPROTECT, OP_PAGEOUT,
	OP_MIGRATE, OP_SPLIT, OP_COLLAPSE, OP_DONTFORK, OP_DOFORK, OP_WIPEONFORK, OP_MREMAP,
	OP_KSM, OP_MUNMAP, OP_EXIT, OP_SOFTDIRTY, OP_NR
};

/* Actors; an op's arg for read/write/exit is one of them. */
enum ex_actor { EX_PARENT, EX_CHILD, EX_CHILD2, EX_PIN, EX_NR_ACTORS };

static const char *const ex_actor_names[] = { "parent", "child", "child2", "pin", NULL };
static const char *const ex__children[] = { "child", "child2", NULL };
static const char *const ex__prots[] = { "ro", "rw", NULL };
static const char *const ex__ksm_args[] = { "merge", "unmerge", NULL };
static const char *const ex__mech_names[] = { "iouring", "gup-ro", "gup-ro-fast", "vmsplice",
					      "odirect", NULL };

static const struct {
	const char *name;
	const char *const *args;	/* NULL: takes no argument */
	int at_child;			/* may say @child */
} ex_ops[OP_NR] = {
	[OP_READ] = { "read", ex_actor_names, 0 },
	[OP_WRITE] = { "write", ex_actor_names, 0 },
	[OP_FORK] = { "fork", NULL, 0 },
	[OP_FORK2] = { "fork2", NULL, 0 },
	[OP_PIN] = { "pin", ex__mech_names, 1 },
	[OP_UNPIN] = { "unpin", NULL, 0 },
	[OP_MPROTECT] = { "mprotect", ex__prots, 1 },
	[OP_PAGEOUT] = { "pageout", NULL, 0 },
	[OP_MIGRATE] = { "migrate", NULL, 0 },
	[OP_SPLIT] = { "split", NULL, 0 },
	[OP_COLLAPSE] = { "collapse", NULL, 0 },
	[OP_DONTFORK] = { "dontfork", NULL, 0 },
	[OP_DOFORK] = { "dofork", NULL, 0 },
	[OP_WIPEONFORK] = { "wipeonfork", NULL, 0 },
	[OP_MREMAP] = { "mremap", NULL, 0 },
	[OP_KSM] = { "ksm", ex__ksm_args, 0 },
	[OP_MUNMAP] = { "munmap", NULL, 1 },
	[OP_EXIT] = { "exit", ex__children, 0 },
	[OP_SOFTDIRTY] = { "softdirty", NULL, 1 },
};

struct ex_op {
	int name;		/* enum ex_opname */
	int arg;		/* index into the op's args (read/write/exit: enum ex_actor) */
	int at;			/* EX_PARENT, or EX_CHILD for @child */
	char token[EX_TOKEN_MAX];
};

struct ex_scenario {
	int mem;		/* enum ex_mem */
	size_t msize;		/* bytes of TYPE:SIZE, else 0 */
	char memtok[32];
	int nops;
	struct ex_op ops[EX_MAX_STEPS];
};

static inline int ex__index(const char *const *list, const char *s)
{
	for (int i = 0; list[i]; i++)
		if (!strcmp(list[i], s))
			return i;
	return -1;
}

static inline void ex__join(const char *const *list, char *out, size_t len)
{
	size_t off = 0;

	out[0] = 0;
	for (int i = 0; list[i] && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, "%s%s", i ? ", " : "", list[i]);
}

/* "64k" -> 65536; 0 if SIZE is not [1-9][0-9]*[kMG] */
static inline size_t ex_parse_size(const char *s)
{
	size_t n = 0;

	if (*s < '1' || *s > '9')
		return 0;
	for (; isdigit((unsigned char)*s); s++)
		n = n * 10 + (size_t)(*s - '0');
	if (s[0] && s[1])
		return 0;
	switch (*s) {
	case 'k':
		return n << 10;
	case 'M':
		return n << 20;
	case 'G':
		return n << 30;
	}
	return 0;
}

/* One op token: NAME[:ARG][@PROCESS].  0, or -1 with a one-line error. */
static inline int ex_parse_op(const char *tok, int step, struct ex_op *op, char *err, size_t len)
{
	char buf[EX_TOKEN_MAX], list[128], *arg, *at;
	int name;

	memset(op, 0, sizeof(*op));
	if (strlen(tok) >= sizeof(buf)) {
		snprintf(err, len, "step %d '%.40s...': token too long", step, tok);
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", tok);
	at = strchr(buf, '@');
	if (at)
		*at++ = 0;
	arg = strchr(buf, ':');
	if (arg)
		*arg++ = 0;
	for (name = 0; name < OP_NR; name++)
		if (!strcmp(ex_ops[name].name, buf))
			break;
	if (name == OP_NR) {
		snprintf(err, len, "step %d '%s': unknown op '%s'", step, tok, buf);
		return -1;
	}
	op->name = name;
	if (arg) {
		if (!ex_ops[name].args) {
			snprintf(err, len, "step %d '%s': %s takes no argument", step, tok, buf);
			return -1;
		}
		op->arg = ex__index(ex_ops[name].args, arg);
		if (op->arg < 0) {
			ex__join(ex_ops[name].args, list, sizeof(list));
			snprintf(err, len, "step %d '%s': '%s' is not one of %s", step, tok, arg, list);
			return -1;
		}
		if (name == OP_EXIT)
			op->arg += EX_CHILD;
	} else if (ex_ops[name].args) {
		ex__join(ex_ops[name].args, list, sizeof(list));
		snprintf(err, len, "step %d '%s': %s needs an argument (one of %s)", step, tok, buf, list);
		return -1;
	}
	op->at = EX_PARENT;
	if (at) {
		if (!ex_ops[name].at_child || strcmp(at, "child")) {
			snprintf(err, len, "step %d '%s': '@%s' is not allowed (%s)", step, tok, at,
				 ex_ops[name].at_child ? "only @child" : "the op runs in the parent");
			return -1;
		}
		op->at = EX_CHILD;
	}
	snprintf(op->token, sizeof(op->token), "%s", tok);
	return 0;
}

static inline char *ex__trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = 0;
	return s;
}

/* A whole line.  0, or -1 with a one-line error naming the token. */
static inline int ex_parse(const char *line, struct ex_scenario *sc, char *err, size_t len)
{
	char buf[EX_LINE_MAX], *rest = buf, *tok, *size;
	int step = 0;

	memset(sc, 0, sizeof(*sc));
	if (strlen(line) >= sizeof(buf)) {
		snprintf(err, len, "line too long");
		return -1;
	}
	snprintf(buf, sizeof(buf), "%s", line);
	for (; (tok = strsep(&rest, "|")); step++) {
		tok = ex__trim(tok);
		if (!*tok) {
			if (step)
				snprintf(err, len, "step %d: empty token", step);
			else
				snprintf(err, len, "memory: empty token");
			return -1;
		}
		if (step == 0) {
			snprintf(sc->memtok, sizeof(sc->memtok), "%s", tok);
			size = strchr(tok, ':');
			if (size)
				*size++ = 0;
			for (sc->mem = 0; sc->mem < EM_NR; sc->mem++)
				if (!strcmp(ex_mems[sc->mem].name, tok))
					break;
			if (sc->mem == EM_NR) {
				snprintf(err, len, "memory '%s': unknown memory type '%s'", sc->memtok, tok);
				return -1;
			}
			if (ex_mems[sc->mem].sized != (size != NULL)) {
				snprintf(err, len, "memory '%s': %s", sc->memtok,
					 size ? "takes no size" : "needs a size (TYPE:SIZE, e.g. 64k, 2M)");
				return -1;
			}
			if (size && !(sc->msize = ex_parse_size(size))) {
				snprintf(err, len, "memory '%s': size '%s' is not [1-9][0-9]*[kMG]",
					 sc->memtok, size);
				return -1;
			}
			continue;
		}
		if (step > EX_MAX_STEPS) {
			snprintf(err, len, "more than %d steps", EX_MAX_STEPS);
			return -1;
		}
		if (ex_parse_op(tok, step, &sc->ops[step - 1], err, len))
			return -1;
		sc->nops = step;
	}
	if (step == 0) {
		snprintf(err, len, "empty line");
		return -1;
	}
	return 0;
}

/* The line's one spelling: tokens joined by " | ". */
static inline void ex_print_line(const struct ex_scenario *sc, char *out, size_t len)
{
	size_t off = (size_t)snprintf(out, len, "%s", sc->memtok);

	for (int i = 0; i < sc->nops && off < len; i++)
		off += (size_t)snprintf(out + off, len - off, " | %s", sc->ops[i].token);
}

/* ------------------------------------------------------- data versions */

#define EX_INIT 0		/* 0x1717000000000000 | offset */
#define EX_ZERO (-1)		/* 0 */
				/* k > 0: w<k> = 0x5757000000000000 | k << 40 | offset */

static inline uint64_t ex_word(int v, size_t off)
{
	if (v == EX_ZERO)
		return 0;
	if (v == EX_INIT)
		return 0x1717000000000000ULL | off;
	return 0x5757000000000000ULL | ((uint64_t)v << 40) | off;
}

/*
 * Two words at a time (a GCC vector: SSE2 / NEON, no -m flags), unrolled: the
 * guests run under TCG, where every guest instruction counts, and a word-wise
 * loop was a large part of a THP scenario's time.  w<k> and init are the base
 * word plus the offset (the offset never reaches the base's bits).
 */
typedef uint64_t ex__v2 __attribute__((vector_size(16), may_alias));

static inline void ex_fill(void *mem, size_t size, int v)
{
	uint64_t *w = mem, base = ex_word(v, 0), step = v == EX_ZERO ? 0 : 8;
	size_t n = size / 8, i = 0;

	if (!((uintptr_t)mem & 15)) {
		ex__v2 a = { base, base + step }, inc = { 2 * step, 2 * step };

		for (; i + 8 <= n; i += 8) {
			ex__v2 *p = (ex__v2 *)(w + i);

			p[0] = a;
			p[1] = a + inc;
			p[2] = a + 2 * inc;
			p[3] = a + 3 * inc;
			a += 4 * inc;
		}
	}
	for (; i < n; i++)
		w[i] = ex_word(v, i * 8);
}

/* The version word w at offset off belongs to; -2 if none. */
static inline int ex__version_of(uint64_t w, size_t off)
{
	if (w == 0)
		return EX_ZERO;
	if (w == ex_word(EX_INIT, off))
		return EX_INIT;
	if ((w >> 48) == 0x5757 && (w & ((1ULL << 40) - 1)) == off && ((w >> 40) & 0xff))
		return (int)((w >> 40) & 0xff);
	return -2;
}

static inline void ex_version_name(int v, char *out, size_t len)
{
	if (v == EX_ZERO)
		snprintf(out, len, "zero");
	else if (v == EX_INIT)
		snprintf(out, len, "init");
	else
		snprintf(out, len, "w%d", v);
}

/* All words one version: its name; else mixed@<first offset that differs from word 0's version>. */
static inline void ex_classify(const void *mem, size_t size, char *out, size_t len)
{
	const uint64_t *w = mem;
	int v = ex__version_of(w[0], 0);
	uint64_t base = ex_word(v, 0), step = v == EX_ZERO ? 0 : 8;
	size_t n = size / 8, i = 0;

	if (v == -2) {
		snprintf(out, len, "mixed@0");
		return;
	}
	/* eight words per test; the exact offset is looked for only in a block that differs */
	for (; i + 8 <= n; i += 8) {
		uint64_t e = base + i * step, d;

		d = (w[i] ^ e) | (w[i + 1] ^ (e + step)) | (w[i + 2] ^ (e + 2 * step)) |
		    (w[i + 3] ^ (e + 3 * step)) | (w[i + 4] ^ (e + 4 * step)) |
		    (w[i + 5] ^ (e + 5 * step)) | (w[i + 6] ^ (e + 6 * step)) |
		    (w[i + 7] ^ (e + 7 * step));
		if (d)
			break;
	}
	for (; i < n; i++) {
		if (w[i] != ex_word(v, i * 8)) {
			snprintf(out, len, "mixed@%zu", i * 8);
			return;
		}
	}
	ex_version_name(v, out, len);
}

/* ------------------------------------------------------------- names */

static inline const char *ex_errname(int e)
{
	static char other[16];

	switch (e) {
	case EPERM: return "EPERM";
	case ENOENT: return "ENOENT";
	case ESRCH: return "ESRCH";
	case EINTR: return "EINTR";
	case EIO: return "EIO";
	case ENXIO: return "ENXIO";
	case E2BIG: return "E2BIG";
	case EBADF: return "EBADF";
	case ECHILD: return "ECHILD";
	case EAGAIN: return "EAGAIN";
	case ENOMEM: return "ENOMEM";
	case EACCES: return "EACCES";
	case EFAULT: return "EFAULT";
	case EBUSY: return "EBUSY";
	case EEXIST: return "EEXIST";
	case EXDEV: return "EXDEV";
	case ENODEV: return "ENODEV";
	case EINVAL: return "EINVAL";
	case ENFILE: return "ENFILE";
	case EMFILE: return "EMFILE";
	case ENOTTY: return "ENOTTY";
	case EFBIG: return "EFBIG";
	case ENOSPC: return "ENOSPC";
	case ESPIPE: return "ESPIPE";
	case EROFS: return "EROFS";
	case EPIPE: return "EPIPE";
	case ERANGE: return "ERANGE";
	case EDEADLK: return "EDEADLK";
	case ENOSYS: return "ENOSYS";
	case ENODATA: return "ENODATA";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	case ETIMEDOUT: return "ETIMEDOUT";
	case EHWPOISON: return "EHWPOISON";
	}
	snprintf(other, sizeof(other), "E%d", e);
	return other;
}

static inline const char *ex_signame(int sig)
{
	static char other[16];

	switch (sig) {
	case SIGSEGV: return "SIGSEGV";
	case SIGBUS: return "SIGBUS";
	case SIGKILL: return "SIGKILL";
	case SIGABRT: return "SIGABRT";
	case SIGILL: return "SIGILL";
	case SIGFPE: return "SIGFPE";
	case SIGTERM: return "SIGTERM";
	case SIGTRAP: return "SIGTRAP";
	case SIGALRM: return "SIGALRM";
	case SIGPIPE: return "SIGPIPE";
	}
	snprintf(other, sizeof(other), "SIG%d", sig);
	return other;
}

/* "ok" for rc 0, else "err:<errno>" */
static inline void ex__rc(int rc, char *out, size_t len)
{
	if (rc == 0)
		snprintf(out, len, "ok");
	else
		snprintf(out, len, "err:%s", ex_errname(errno));
}

/* -------------------------------------------------- faulting accesses */

static sigjmp_buf ex__jmp;
static volatile sig_atomic_t ex__guarded;

/* A compiler barrier: no access to memory moves across it. */
#define ex__barrier() __asm__ __volatile__("" ::: "memory")

static void ex__fault(int sig)
{
	if (ex__guarded) {
		ex__guarded = 0;
		siglongjmp(ex__jmp, sig);
	}
	signal(sig, SIG_DFL);	/* not ours: re-fault and die */
}

static inline void ex__catch_faults(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = ex__fault;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGSEGV, &sa, NULL);
	sigaction(SIGBUS, &sa, NULL);
}

/* Read (classify) or write version v over [mem, mem+size); a fault is fault:<signal>. */
static inline void ex_access(int write, char *mem, size_t size, int v, char *out, size_t len)
{
	int sig;

	sig = sigsetjmp(ex__jmp, 1);
	if (sig) {
		snprintf(out, len, "fault:%s", ex_signame(sig));
		return;
	}
	ex__guarded = 1;
	ex__barrier();
	if (write)
		ex_fill(mem, size, v);
	else
		ex_classify(mem, size, out, len);
	ex__barrier();	/* every access happens while guarded (the loops are not volatile) */
	ex__guarded = 0;
	if (write)
		snprintf(out, len, "ok");
}

/* ----------------------------------------------------------- sysfs knobs */

/* Copy src into dst (len bytes), truncating. */
static inline void ex__copy(char *dst, size_t len, const char *src)
{
	size_t n = strlen(src);

	if (!len)
		return;
	if (n >= len)
		n = len - 1;
	memcpy(dst, src, n);
	dst[n] = 0;
}

/*
 * The interpreter remembers the knobs it has read or written (ex__kc), so a
 * scenario process inherits their values instead of reading sysfs again; the
 * interpreter is the only writer while it runs.  Off (the default, as in a
 * generated reproducer): every read goes to sysfs.
 */
#define EX_KC_MAX 8

static struct {
	char path[128];
	char val[32];		/* its value now, as far as this process knows */
	char orig[32];		/* its value when first read */
} ex__kc[EX_KC_MAX];
static int ex__kc_n, ex__kc_on;

static inline int ex__kc_find(const char *path)
{
	for (int i = 0; i < ex__kc_n; i++)
		if (!strcmp(ex__kc[i].path, path))
			return i;
	return -1;
}

/* The selected word of a sysfs knob ("always [madvise] never" -> madvise), from sysfs. */
static inline int ex__knob_read(const char *path, char *val, size_t len)
{
	char buf[256], *l, *r;

	if (mm_read_file(path, buf, sizeof(buf)))
		return -1;
	l = strchr(buf, '[');
	r = l ? strchr(l, ']') : NULL;
	if (l && r) {
		*r = 0;
		ex__copy(val, len, l + 1);
	} else {
		ex__copy(val, len, buf);
	}
	return 0;
}

/* The selected word of a knob (remembered when the interpreter caches knobs). */
static inline int ex_knob_value(const char *path, char *val, size_t len)
{
	int i = ex__kc_on ? ex__kc_find(path) : -1;

	if (i >= 0 && ex__kc[i].val[0]) {
		ex__copy(val, len, ex__kc[i].val);
		return 0;
	}
	if (ex__knob_read(path, val, len))
		return -1;
	if (i < 0 && ex__kc_on && ex__kc_n < EX_KC_MAX && strlen(path) < sizeof(ex__kc[0].path)) {
		i = ex__kc_n++;
		ex__copy(ex__kc[i].path, sizeof(ex__kc[i].path), path);
		ex__copy(ex__kc[i].orig, sizeof(ex__kc[i].orig), val);
	}
	if (i >= 0)
		ex__copy(ex__kc[i].val, sizeof(ex__kc[i].val), val);
	return 0;
}

/*
 * The knob's value before the interpreter set it for a run of scenarios, as a
 * scenario set-up saw it before it set the knob itself (val is left as it is
 * when no value is remembered).
 */
static inline void ex__knob_before(const char *path, char *val, size_t len)
{
	int i = ex__kc_on ? ex__kc_find(path) : -1;

	if (i >= 0)
		ex__copy(val, len, ex__kc[i].orig);
}

/* Write a knob; after a failed write its value is read from sysfs again. */
static inline int ex__knob_write(const char *path, const char *value)
{
	int r = mm_write_file(path, value), e = errno, i = ex__kc_find(path);

	if (i >= 0)
		ex__copy(ex__kc[i].val, sizeof(ex__kc[i].val), r ? "" : value);
	errno = e;
	return r;
}

#define EX_KNOBS_MAX 4

/* The knobs a scenario's set-up may change, with their values before it. */
struct ex_knobs {
	int n;
	char path[EX_KNOBS_MAX][128];
	char val[EX_KNOBS_MAX][32];
};

#define EX_KSM_RUN "/sys/kernel/mm/ksm/run"
#define EX_KSM_SLEEP "/sys/kernel/mm/ksm/sleep_millisecs"
#define EX_SHMEM_ENABLED "/sys/kernel/mm/transparent_hugepage/shmem_enabled"

static inline void ex__mthp_knob(size_t size, char *path, size_t len)
{
	snprintf(path, len, "/sys/kernel/mm/transparent_hugepage/hugepages-%zukB/enabled",
		 size / 1024);
}

static inline void ex__knobs_add(struct ex_knobs *k, const char *path)
{
	if (k->n >= EX_KNOBS_MAX || ex_knob_value(path, k->val[k->n], sizeof(k->val[0])))
		return;
	snprintf(k->path[k->n], sizeof(k->path[0]), "%s", path);
	k->n++;
}

/* Does the scenario use KSM (the memory type, or a ksm op)? */
static inline int ex__uses_ksm(const struct ex_scenario *sc)
{
	int ksm = sc->mem == EM_KSM;

	for (int i = 0; i < sc->nops; i++)
		ksm |= sc->ops[i].name == OP_KSM;
	return ksm;
}

static inline void ex_knobs_save(struct ex_knobs *k, const struct ex_scenario *sc)
{
	char path[128];

	memset(k, 0, sizeof(*k));
	if (ex__uses_ksm(sc)) {
		ex__knobs_add(k, EX_KSM_RUN);
		ex__knobs_add(k, EX_KSM_SLEEP);	/* 0 while waiting for a merge */
	}
	if (sc->mem == EM_SHMEM_THP)
		ex__knobs_add(k, EX_SHMEM_ENABLED);
	if (sc->mem == EM_MTHP) {
		ex__mthp_knob(sc->msize, path, sizeof(path));
		ex__knobs_add(k, path);
	}
}

/* Put every saved knob back (async-signal-safe enough for an alarm handler). */
static inline void ex_knobs_restore(const struct ex_knobs *k)
{
	for (int i = 0; i < k->n; i++) {
		char cur[32];

		if (!ex__knob_read(k->path[i], cur, sizeof(cur)) && strcmp(cur, k->val[i]))
			ex__knob_write(k->path[i], k->val[i]);
	}
}

/* Set a knob unless it already has the value; 0, or 1 with a skip reason. */
static inline int ex__knob_set(const char *path, const char *value, char *why, size_t len)
{
	char cur[32];

	if (ex_knob_value(path, cur, sizeof(cur))) {
		snprintf(why, len, "no %s", path);
		return 1;
	}
	if (!strcmp(cur, value))
		return 0;
	if (ex__knob_write(path, value)) {
		snprintf(why, len, "cannot set %s to %s: %s", path, value, strerror(errno));
		return 1;
	}
	return 0;
}

/* ------------------------------------------------------------ context */

/* What the parent asks a process to do to its own mapping or its pin. */
enum ex_local {
	L_READ, L_WRITE, L_PIN_READ, L_PIN_WRITE, L_PIN, L_UNPIN, L_MPROTECT, L_MUNMAP, L_EXIT,
	L_SOFTDIRTY
};

struct ex_cmd {
	int kind;
	int arg;
	int step;
};

struct ex_reply {
	int skip;
	char text[EX_TEXT_MAX];
};

struct ex_kid {
	pid_t pid;		/* 0: not forked */
	int cmd;		/* the parent writes commands here */
	int reply;		/* and reads the child's replies here (EOF: it died) */
	int alive;
	int status;		/* wait status once dead */
};

struct ex_ctx {
	const struct ex_scenario *sc;
	int role;		/* the actor this copy of the context runs in */
	char *mem;		/* the region in this process */
	size_t size;
	size_t align;		/* natural alignment of the region (for mremap) */
	int prot;		/* this process's protection of the region */
	char *scratch;		/* size bytes: reads through the pin land here */
	char *twin;		/* KSM: an identical region to merge with */
	int memfd;
	int pin_owner;		/* parent's view: who holds the pin, -1 none */
	struct pin_state pin;	/* the pin, in its owner's process */
	struct ex_kid kids[EX_NR_ACTORS];
	unsigned step_ms;
	int hang_at;		/* testing the bound: this step never returns */
	int nodes[8], nr_nodes;
};

/* ------------------------------------------------- cheap kernel probes */

/*
 * What a set-up asks the kernel, at the least cost (the guests run under
 * TCG): /proc/self/pagemap is opened once per process (it describes the
 * opener's memory, so every forked process opens its own: ex__pagemap_reset),
 * /proc/kpageflags once (it is global), and a range's entries come in one
 * read.  The facts that cannot change while the interpreter runs (THP size
 * and mode, NUMA nodes, swap size, whether a pin mechanism works here) are
 * read once per process; the interpreter reads them before it forks, so every
 * scenario process inherits them.
 */
static int ex__pm_fd = -1, ex__kpf_fd = -2;

static inline void ex__pagemap_reset(void)
{
	if (ex__pm_fd >= 0)
		close(ex__pm_fd);
	ex__pm_fd = -1;
}

/* n pagemap entries from addr on, in one read; 0, or -1. */
static inline int ex__pagemap_range(const void *addr, uint64_t *ent, size_t n)
{
	off_t off = (off_t)((uintptr_t)addr / mm_pagesize()) * 8;

	if (ex__pm_fd < 0)
		ex__pm_fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	return ex__pm_fd >= 0 && pread(ex__pm_fd, ent, n * 8, off) == (ssize_t)(n * 8) ? 0 : -1;
}

/* PFN of a present page, 0 if not present or hidden (as mm_pfn). */
static inline uint64_t ex__pfn(const void *addr)
{
	uint64_t e = 0;

	if (ex__pagemap_range(addr, &e, 1) || !(e & PM_PRESENT))
		return 0;
	return e & PM_PFN_MASK;
}

static inline int ex__present(const void *addr)
{
	uint64_t e = 0;

	return !ex__pagemap_range(addr, &e, 1) && (e & PM_PRESENT);
}

/* 1 = the page belongs to a THP (kpageflags), 0 = not, -1 = unknown (as mm_page_is_thp). */
static inline int ex__is_thp(const void *addr)
{
	uint64_t pfn = ex__pfn(addr), flags;

	if (ex__kpf_fd == -2)
		ex__kpf_fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (!pfn || ex__kpf_fd < 0 || pread(ex__kpf_fd, &flags, 8, (off_t)(pfn * 8)) != 8)
		return -1;
	return !!(flags & (1ULL << KPF_THP));
}

/* PAGEMAP_SCAN (Linux 6.7+), declared here so any UAPI headers do. */
struct ex__pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct ex__page_region {
	uint64_t start, end, categories;
};
#define EX__PAGEMAP_SCAN _IOWR('f', 16, struct ex__pm_scan_arg)
#define EX__PAGE_IS_PRESENT (1 << 3)
#define EX__PAGE_IS_HUGE (1 << 6)

/*
 * Bytes of [mem, mem+size) mapped by PMD (present THP or hugetlb entries),
 * from one PAGEMAP_SCAN ioctl; -1 where the kernel lacks it (before 6.7).
 */
static inline long ex__pmd_mapped(const void *mem, size_t size)
{
	struct ex__page_region r[8];
	struct ex__pm_scan_arg a;
	uint64_t dummy;
	long n, bytes = 0;

	if (ex__pagemap_range(mem, &dummy, 1))
		return -1;	/* opens the fd */
	memset(&a, 0, sizeof(a));
	a.size = sizeof(a);
	a.start = (uintptr_t)mem;
	a.end = (uintptr_t)mem + size;
	a.vec = (uintptr_t)r;
	a.vec_len = sizeof(r) / sizeof(r[0]);
	a.category_mask = a.return_mask = EX__PAGE_IS_HUGE | EX__PAGE_IS_PRESENT;
	n = ioctl(ex__pm_fd, EX__PAGEMAP_SCAN, &a);
	if (n < 0)
		return -1;
	for (long i = 0; i < n; i++)
		bytes += (long)(r[i].end - r[i].start);
	return bytes;
}

/*
 * Is the region mapped by PMD, as smaps' AnonHugePages / FilePmdMapped of its
 * VMA would say (field): PAGEMAP_SCAN where there is one, else smaps.
 * 1 the whole region, 0 none of it, 2 part of it.
 */
static inline int ex__pmd_state(const void *mem, size_t size, const char *field)
{
	long b = ex__pmd_mapped(mem, size);

	if (b < 0) {
		b = mm_smaps_field(mem, field);
		b = b > 0 ? b * 1024 : 0;
	}
	return b <= 0 ? 0 : (size_t)b >= size ? 1 : 2;
}

static inline size_t ex__thp_size(void)
{
	static size_t thp = 1;

	if (thp == 1)
		thp = mm_thp_size();
	return thp;
}

/* transparent_hugepage/enabled as read once ("" if unreadable). */
static inline const char *ex__thp_enabled(void)
{
	static char buf[128];
	static int done;

	if (!done && mm_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)))
		buf[0] = 0;
	done = 1;
	return buf;
}

static inline int ex__numa_nodes(int *nodes, int max)
{
	static int cache[8], nr = -1;

	if (nr < 0)
		nr = mm_numa_nodes(cache, 8);
	for (int i = 0; i < nr && i < max; i++)
		nodes[i] = cache[i];
	return nr < max ? nr : max;
}

static inline long ex__swap_kb(void)
{
	static long kb = -2;

	if (kb == -2)
		kb = mm_swap_total_kb();
	return kb;
}

/* pin_mech.probe, once per mechanism and process: 0 usable, else PIN_SKIP with why. */
static inline int ex__probe(const struct pin_mech *m, char *why, size_t len)
{
	static int state[PIN_NR_MECHS];	/* 0 not probed, 1 usable, 2 not */
	static char reason[PIN_NR_MECHS][EX_TEXT_MAX];
	int i = (int)(m - pin_mechs);

	if (!state[i]) {
		reason[i][0] = 0;
		state[i] = m->probe(reason[i], sizeof(reason[i])) ? 2 : 1;
	}
	if (state[i] == 1)
		return 0;
	snprintf(why, len, "%s", reason[i]);
	return PIN_SKIP;
}

/*
 * A region for what a pin reads and writes, shared with the scenario
 * processes and already faulted in (the interpreter maps it once: a new one
 * per scenario cost a page fault and a cleared page for every 4 kB a pin
 * read).  NULL: ex_setup maps a private one.
 */
static char *ex__shared_scratch;
static size_t ex__shared_scratch_size;

/* -------------------------------------------------------- memory set-up */

/* mmap size bytes at an align-aligned address (trimmed reservation). */
static inline char *ex__map_aligned(size_t size, size_t align, int prot, int flags, int fd)
{
	char *res, *mem;
	size_t ps = mm_pagesize();

	if (align < ps)
		align = ps;
	res = mmap(NULL, size + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED)
		return MAP_FAILED;
	mem = (char *)(((uintptr_t)res + align - 1) & ~(uintptr_t)(align - 1));
	if (mmap(mem, size, prot, flags | MAP_FIXED, fd, 0) == MAP_FAILED) {
		int e = errno;

		munmap(res, size + align);
		errno = e;
		return MAP_FAILED;
	}
	if (mem > res)
		munmap(res, (size_t)(mem - res));
	if (res + size + align > mem + size)
		munmap(mem + size, (size_t)(res + size + align - (mem + size)));
	return mem;
}

/* Touch (read) every page so it is mapped. */
static inline void ex__read_fault(const char *mem, size_t size)
{
	for (size_t off = 0; off < size; off += mm_pagesize())
		(void)*(const volatile char *)(mem + off);
}

/* [mem, mem+size) is one large folio: THP bit and contiguous PFNs to the end. 1/0/-1 unknown. */
static inline int ex__one_folio(const char *mem, size_t size)
{
	size_t ps = mm_pagesize();
	uint64_t first = ex__pfn(mem), last = ex__pfn(mem + size - ps);

	if (!first || !last)
		return -1;
	return ex__is_thp(mem) == 1 && ex__is_thp(mem + size - ps) == 1 &&
	       last - first == size / ps - 1;
}

static inline int ex__pageout(struct ex_ctx *x, char *why, size_t len)
{
	size_t n = x->size / mm_pagesize(), sw;
	long got;

	if (ex__swap_kb() <= 0) {
		snprintf(why, len, "no swap configured (SwapTotal=%ld kB)", ex__swap_kb());
		return 1;
	}
	got = mm_pageout(x->mem, x->size);	/* retried on every CPU: see mm.h */
	if (got < 0) {
		snprintf(why, len, "MADV_PAGEOUT: %s", strerror((int)-got));
		return 1;
	}
	sw = (size_t)got;
	if (sw == n)
		return 0;
	snprintf(why, len, "not swapped out by MADV_PAGEOUT (%zu/%zu pages swapped, SwapFree=%ld kB)",
		 sw, n, mm_meminfo("SwapFree"));
	return 1;
}

static inline int ex__base(struct ex_ctx *x, int fill, char *why, size_t len)
{
	size_t ps = mm_pagesize();

	x->mem = mmap(NULL, ps, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->mem == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return 1;
	}
	x->size = x->align = ps;
	madvise(x->mem, ps, MADV_NOHUGEPAGE);
	if (fill)
		ex_fill(x->mem, ps, EX_INIT);
	return 0;
}

/* A PMD-mapped THP holding init. */
static inline int ex__thp(struct ex_ctx *x, char *why, size_t len)
{
	size_t thp = ex__thp_size(), ps = mm_pagesize();
	const char *enabled = ex__thp_enabled();
	int is_thp;

	if (!thp) {
		snprintf(why, len, "THP not available (no hpage_pmd_size)");
		return 1;
	}
	if (strstr(enabled, "[never]")) {
		snprintf(why, len, "THP disabled (enabled: %s)", enabled);
		return 1;
	}
	x->mem = ex__map_aligned(thp, thp, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (x->mem == MAP_FAILED) {
		snprintf(why, len, "mmap(%zu kB): %s", 2 * thp / 1024, strerror(errno));
		return 1;
	}
	x->size = x->align = thp;
	if (madvise(x->mem, thp, MADV_HUGEPAGE)) {
		snprintf(why, len, "MADV_HUGEPAGE: %s", strerror(errno));
		return 1;
	}
	*(volatile char *)x->mem = 1;
	/* PMD-mapped: one PAGEMAP_SCAN (smaps' AnonHugePages before 6.7), and the THP bit */
	is_thp = ex__is_thp(x->mem);
	if (!ex__present(x->mem + thp - ps) || is_thp == 0 ||
	    ex__pmd_state(x->mem, thp, "AnonHugePages") != 1) {
		snprintf(why, len, "no THP obtained (THP bit %d, AnonHugePages %ld kB, MemFree %ld kB)",
			 is_thp, mm_smaps_field(x->mem, "AnonHugePages"), mm_meminfo("MemFree"));
		return 1;
	}
	ex_fill(x->mem, thp, EX_INIT);
	return 0;
}

static inline int ex__mthp(struct ex_ctx *x, char *why, size_t len)
{
	size_t size = x->sc->msize, ps = mm_pagesize();
	char knob[128];

	ex__mthp_knob(size, knob, sizeof(knob));
	if (access(knob, F_OK)) {
		snprintf(why, len, "no mTHP size %s (no %s)", x->sc->memtok + 5, knob);
		return 1;
	}
	if (size <= ps || ex__knob_set(knob, "always", why, len))
		return 1;
	x->mem = ex__map_aligned(size, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1);
	if (x->mem == MAP_FAILED) {
		snprintf(why, len, "mmap: %s", strerror(errno));
		return 1;
	}
	x->size = x->align = size;
	madvise(x->mem, size, MADV_HUGEPAGE);
	*(volatile char *)x->mem = 1;
	if (ex__one_folio(x->mem, size) != 1) {
		snprintf(why, len, "no %s mTHP obtained (first fault: THP bit %d, %zu of %zu pages present)",
			 x->sc->memtok + 5, ex__is_thp(x->mem), mm_count_present(x->mem, size),
			 size / ps);
		return 1;
	}
	ex_fill(x->mem, size, EX_INIT);
	return 0;
}

static inline int ex__nforks(const struct ex_scenario *sc)
{
	int n = 0;

	for (int i = 0; i < sc->nops; i++)
		n += sc->ops[i].name == OP_FORK || sc->ops[i].name == OP_FORK2;
	return n;
}

static inline int ex__hugetlb(struct ex_ctx *x, char *why, size_t len)
{
	size_t hs = x->sc->msize;
	long nfree, need = 2 + ex__nforks(x->sc);
	char path[128], buf[32], out[32];
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_HUGETLB;

	snprintf(path, sizeof(path), "/sys/kernel/mm/hugepages/hugepages-%zukB/free_hugepages",
		 hs / 1024);
	if (mm_read_file(path, buf, sizeof(buf))) {
		snprintf(why, len, "no hugetlb size %s (no %s)", x->sc->memtok + 8, path);
		return 1;
	}
	nfree = strtol(buf, NULL, 10);
	if (nfree < need) {
		snprintf(why, len, "need %ld free hugetlb pages of %s (one per process + one), free %ld",
			 need, x->sc->memtok + 8, nfree);
		return 1;
	}
	flags |= __builtin_ctzll(hs) << MAP_HUGE_SHIFT;
	x->mem = mmap(NULL, hs, PROT_READ | PROT_WRITE, flags, -1, 0);
	if (x->mem == MAP_FAILED) {
		snprintf(why, len, "mmap(MAP_HUGETLB %s): %s (free %ld)", x->sc->memtok + 8,
			 strerror(errno), nfree);
		return 1;
	}
	x->size = x->align = hs;
	ex_access(1, x->mem, hs, EX_INIT, out, sizeof(out));
	if (strcmp(out, "ok")) {
		snprintf(why, len, "filling the hugetlb page: %s", out);
		return 1;
	}
	return 0;
}

/* Do the region's pages share PFNs with the twin's (KSM merged them)? */
static inline int ex__ksm_merged(const struct ex_ctx *x)
{
	for (size_t off = 0; off < x->size; off += mm_pagesize()) {
		uint64_t a = ex__pfn(x->mem + off), b = ex__pfn(x->twin + off);

		if (!a || a != b)
			return 0;
	}
	return 1;
}

/* ksmd's completed passes over all mergeable memory, -1 if unreadable. */
static inline long long ex__ksm_full_scans(void)
{
	char buf[32];

	if (mm_read_file("/sys/kernel/mm/ksm/full_scans", buf, sizeof(buf)) < 0)
		return -1;
	return atoll(buf);
}

/* Make a twin holding the region's current content, MADV_MERGEABLE both, wait for ksmd. */
static inline int ex__ksm_merge(struct ex_ctx *x, unsigned wait_ms, char *why, size_t len)
{
	long long start, end, scans0;
	char pace[32];
	int fast, merged;

	if (!x->twin) {
		x->twin = mmap(NULL, x->size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (x->twin == MAP_FAILED) {
			x->twin = NULL;
			snprintf(why, len, "mmap: %s", strerror(errno));
			return -ENOMEM;
		}
		madvise(x->twin, x->size, MADV_NOHUGEPAGE);
	}
	/* the twin gets what the region holds now (a guarded read of the region) */
	if (sigsetjmp(ex__jmp, 1)) {
		snprintf(why, len, "reading the region for its twin faulted");
		return -EFAULT;
	}
	ex__guarded = 1;
	ex__barrier();
	memcpy(x->twin, x->mem, x->size);
	ex__barrier();
	ex__guarded = 0;
	if (madvise(x->twin, x->size, MADV_MERGEABLE) || madvise(x->mem, x->size, MADV_MERGEABLE)) {
		int e = errno;

		snprintf(why, len, "MADV_MERGEABLE: %s", strerror(e));
		return -e;
	}
	if (ex__knob_set(EX_KSM_RUN, "1", why, len))
		return -EPERM;
	/*
	 * ksmd merges on its second scan of the pages, and sleeps sleep_millisecs
	 * (20) between scans: while we wait it does not sleep (as the kernel's ksm
	 * selftests run it), and its pace is put back as soon as the region merged.
	 */
	fast = !ex_knob_value(EX_KSM_SLEEP, pace, sizeof(pace)) && strcmp(pace, "0") &&
	       !ex__knob_write(EX_KSM_SLEEP, "0");
	start = ktap_now_ms();
	end = start + wait_ms;
	/*
	 * A page ksmd will merge is merged on its second scan: after three full scans
	 * that began once the region was mergeable, an unmerged region stays unmerged
	 * (e.g. a pinned page, which KSM refuses), so stop waiting then.
	 */
	scans0 = ex__ksm_full_scans();
	while (!(merged = ex__ksm_merged(x)) && ktap_now_ms() < end) {
		if (scans0 >= 0 && ex__ksm_full_scans() >= scans0 + 3)
			break;
		if (ktap_now_ms() - start < 100)
			sched_yield();
		else
			usleep(1000);
	}
	if (fast)
		ex__knob_write(EX_KSM_SLEEP, pace);
	if (!merged && ktap_now_ms() >= end) {
		snprintf(why, len, "ksmd did not merge the region within %u ms", wait_ms);
		return -ETIMEDOUT;
	}
	if (!merged) {
		snprintf(why, len, "ksmd scanned the region three times without merging it");
		return -EAGAIN;
	}
	return 0;
}

static inline int ex__memfd_private(struct ex_ctx *x, int huge, char *why, size_t len)
{
	size_t size = huge ? ex__thp_size() : mm_pagesize();
	char *shared;
	char cur[32] = "";
	int one;

	if (huge) {
		if (!size) {
			snprintf(why, len, "THP not available (no hpage_pmd_size)");
			return 1;
		}
		if (ex_knob_value(EX_SHMEM_ENABLED, cur, sizeof(cur))) {
			snprintf(why, len, "no shmem THP (no %s)", EX_SHMEM_ENABLED);
			return 1;
		}
		if (strcmp(cur, "force") && ex__knob_set(EX_SHMEM_ENABLED, "always", why, len))
			return 1;
		ex__knob_before(EX_SHMEM_ENABLED, cur, sizeof(cur));	/* "was" in the skip reason */
	}
	x->memfd = pin__memfd("cowlab-explore");
	if (x->memfd < 0 || ftruncate(x->memfd, (off_t)size)) {
		snprintf(why, len, "memfd: %s", strerror(errno));
		return 1;
	}
	/* the page cache holds init: written through a shared mapping */
	shared = ex__map_aligned(size, size, PROT_READ | PROT_WRITE, MAP_SHARED, x->memfd);
	if (shared == MAP_FAILED) {
		snprintf(why, len, "mmap(MAP_SHARED memfd): %s", strerror(errno));
		return 1;
	}
	ex_fill(shared, size, EX_INIT);
	munmap(shared, size);
	x->mem = ex__map_aligned(size, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, x->memfd);
	if (x->mem == MAP_FAILED) {
		snprintf(why, len, "mmap(MAP_PRIVATE memfd): %s", strerror(errno));
		return 1;
	}
	x->size = x->align = size;
	ex__read_fault(x->mem, size);
	if (huge && (one = ex__one_folio(x->mem, size)) != 1) {
		snprintf(why, len, "no huge shmem folio (%s; shmem_enabled was %s, FilePmdMapped %ld kB)",
			 one < 0 ? "PFNs unreadable" : "not one large folio", cur,
			 mm_smaps_field(x->mem, "FilePmdMapped"));
		return 1;
	}
	return 0;
}

static inline int ex__setup_memory(struct ex_ctx *x, char *why, size_t len)
{
	size_t ps = mm_pagesize();
	int r;

	switch (x->sc->mem) {
	case EM_BASE:
		return ex__base(x, 1, why, len);
	case EM_SWAP:
		return ex__base(x, 1, why, len) || ex__pageout(x, why, len);
	case EM_THP:
		return ex__thp(x, why, len);
	case EM_THP_SWAP:
		return ex__thp(x, why, len) || ex__pageout(x, why, len);
	case EM_PTE_THP:
	case EM_SINGLE_PTE_THP:
		if (ex__thp(x, why, len))
			return 1;
		/* PTE-map the THP: one subpage R/O and back */
		if (mprotect(x->mem + ps, ps, PROT_READ) ||
		    mprotect(x->mem + ps, ps, PROT_READ | PROT_WRITE)) {
			snprintf(why, len, "mprotect: %s", strerror(errno));
			return 1;
		}
		if (ex__pmd_state(x->mem, x->size, "AnonHugePages") != 0) {
			snprintf(why, len, "THP still PMD-mapped after mprotect");
			return 1;
		}
		if (x->sc->mem == EM_SINGLE_PTE_THP) {
			if (madvise(x->mem + ps, x->size - ps, MADV_DONTNEED)) {
				snprintf(why, len, "MADV_DONTNEED: %s", strerror(errno));
				return 1;
			}
			x->size = x->align = ps;
		}
		if (ex__is_thp(x->mem) == 0) {
			snprintf(why, len, "the page left the THP when PTE-mapped (split)");
			return 1;
		}
		return 0;
	case EM_MTHP:
		return ex__mthp(x, why, len);
	case EM_HUGETLB:
		return ex__hugetlb(x, why, len);
	case EM_KSM:
		if (ex__base(x, 1, why, len))
			return 1;
		r = ex__ksm_merge(x, 5000, why, len);
		return r != 0;
	case EM_ZEROPAGE: {
		char *other;
		uint64_t a, b;

		if (ex__base(x, 0, why, len))
			return 1;
		ex__read_fault(x->mem, ps);
		other = mmap(NULL, ps, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (other == MAP_FAILED)
			return 0;	/* cannot compare: trust the read fault */
		ex__read_fault(other, ps);
		a = ex__pfn(x->mem);
		b = ex__pfn(other);
		munmap(other, ps);
		if (a && b && a != b) {
			snprintf(why, len, "the read fault did not map the shared zeropage (pfn 0x%" PRIx64
				 ", another read-faulted page 0x%" PRIx64 ")", a, b);
			return 1;
		}
		return 0;
	}
	case EM_MEMFD:
		return ex__memfd_private(x, 0, why, len);
	case EM_SHMEM_THP:
		return ex__memfd_private(x, 1, why, len);
	}
	snprintf(why, len, "internal: memory type %d", x->sc->mem);
	return 1;
}

/* What the scenario needs from this machine beyond its memory type. */
static inline int ex__precheck(struct ex_ctx *x, char *why, size_t len)
{
	const struct ex_scenario *sc = x->sc;
	char r[EX_TEXT_MAX];

	for (int i = 0; i < sc->nops; i++) {
		const struct ex_op *op = &sc->ops[i];

		if (op->name == OP_PIN) {
			const struct pin_mech *m = pin_find(ex__mech_names[op->arg]);

			if (!m) {
				snprintf(why, len, "internal: no mechanism %s", ex__mech_names[op->arg]);
				return 1;
			}
			if (ex__probe(m, r, sizeof(r))) {
				snprintf(why, len, "pin:%s: %.200s", m->name, r);
				return 1;
			}
		}
		if (op->name == OP_MIGRATE && x->nr_nodes < 2) {
			snprintf(why, len, "migrate needs a second NUMA node with memory (found %d)",
				 x->nr_nodes);
			return 1;
		}
		if (op->name == OP_KSM && op->arg == 0 && access(EX_KSM_RUN, W_OK)) {
			snprintf(why, len, "no KSM (%s: %s)", EX_KSM_RUN, strerror(errno));
			return 1;
		}
	}
	if (sc->mem == EM_KSM && access(EX_KSM_RUN, W_OK)) {
		snprintf(why, len, "no KSM (%s: %s)", EX_KSM_RUN, strerror(errno));
		return 1;
	}
	return 0;
}

/*
 * Set the scenario's region up in this process (the parent actor).  0, or 1
 * with the skip reason in why.
 */
static inline int ex_setup(struct ex_ctx *x, const struct ex_scenario *sc, unsigned step_ms,
			   char *why, size_t len)
{
	size_t scratch;

	memset(x, 0, sizeof(*x));
	x->sc = sc;
	x->role = EX_PARENT;
	x->prot = PROT_READ | PROT_WRITE;
	x->memfd = -1;
	x->pin_owner = -1;
	x->step_ms = step_ms ? step_ms : 5000;
	for (int i = 0; i < EX_NR_ACTORS; i++)
		x->kids[i].cmd = x->kids[i].reply = -1;
	pin__init(&x->pin, NULL, 0);
	x->nr_nodes = ex__numa_nodes(x->nodes, 8);
	ex__catch_faults();
	signal(SIGPIPE, SIG_IGN);
	if (ex__precheck(x, why, len))
		return 1;
	/* the scratch buffer is as large as any region: the THP, mTHP or hugetlb size */
	scratch = mm_pagesize();
	if (sc->msize > scratch)
		scratch = sc->msize;
	if (ex__thp_size() > scratch)
		scratch = ex__thp_size();
	if (ex__shared_scratch && scratch <= ex__shared_scratch_size) {
		x->scratch = ex__shared_scratch;
		return ex__setup_memory(x, why, len);
	}
	x->scratch = mmap(NULL, scratch, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (x->scratch == MAP_FAILED) {
		snprintf(why, len, "mmap(scratch %zu kB): %s", scratch / 1024, strerror(errno));
		return 1;
	}
	madvise(x->scratch, scratch, MADV_NOHUGEPAGE);
	return ex__setup_memory(x, why, len);
}

/* ---------------------------------------------------------- local ops */

/* Run a command on this process's own mapping or pin; 0 outcome, 1 skip (both in out). */
static inline int ex__local(struct ex_ctx *x, const struct ex_cmd *c, char *out, size_t len)
{
	char why[EX_TEXT_MAX];
	const struct pin_mech *m = x->pin.mech;
	ssize_t n;
	int r;

	switch (c->kind) {
	case L_READ:
	case L_WRITE:
		ex_access(c->kind == L_WRITE, x->mem, x->size, c->step, out, len);
		return 0;
	case L_PIN_READ:
		if (!m) {
			snprintf(out, len, "not well-formed: no pin held");
			return 1;
		}
		n = m->read(&x->pin, x->mem, x->scratch);
		if (n < 0)
			snprintf(out, len, "fault:%s", ex_errname((int)-n));
		else
			ex_classify(x->scratch, (size_t)n, out, len);
		return 0;
	case L_PIN_WRITE:
		if (!m || !m->write) {
			snprintf(out, len, "not well-formed: %s", m ? "the pin is read-only" : "no pin held");
			return 1;
		}
		ex_fill(x->scratch, x->size, c->step);
		r = m->write(&x->pin, x->mem, x->scratch);
		if (r < 0)
			snprintf(out, len, "fault:%s", ex_errname(-r));
		else
			snprintf(out, len, "ok");
		return 0;
	case L_PIN:
		if (m) {
			snprintf(out, len, "not well-formed: a pin is held already");
			return 1;
		}
		m = &pin_mechs[c->arg];
		r = m->pin(&x->pin, x->mem, x->size, why, sizeof(why));
		if (r == PIN_OK) {
			x->pin.mech = m;
			snprintf(out, len, "ok");
			return 0;
		}
		snprintf(out, len, "pin:%s %s: %.200s", m->name,
			 r == PIN_SKIP ? "unavailable" : "failed", why);
		return 1;
	case L_UNPIN:
		if (m)
			m->unpin(&x->pin);
		x->pin.mech = NULL;
		snprintf(out, len, "ok");
		return 0;
	case L_MPROTECT:
		r = mprotect(x->mem, x->size, c->arg ? PROT_READ | PROT_WRITE : PROT_READ);
		if (!r)
			x->prot = c->arg ? PROT_READ | PROT_WRITE : PROT_READ;
		ex__rc(r, out, len);
		return 0;
	case L_MUNMAP:
		r = munmap(x->mem, x->size);
		ex__rc(r, out, len);
		/* keep the address unused, so a later access faults instead of hitting a new mapping */
		if (!r)
			mmap(x->mem, x->size, PROT_NONE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED_NOREPLACE, -1, 0);
		return 0;
	case L_EXIT:
		snprintf(out, len, "ok");
		return 0;
	case L_SOFTDIRTY:
		/* clear_refs 4: clear soft-dirty bits, write-protecting every PTE of this process */
		ex__rc(mm_write_file("/proc/self/clear_refs", "4") ? -1 : 0, out, len);
		return 0;
	}
	snprintf(out, len, "internal: command %d", c->kind);
	return 1;
}

/* Messages are < PIPE_BUF: each write is atomic and one read gets it whole. */
static inline void ex__child_loop(struct ex_ctx *x, int cmd, int reply)
{
	for (;;) {
		struct ex_cmd c;
		struct ex_reply r;
		ssize_t n = read(cmd, &c, sizeof(c));

		if (n < 0 && errno == EINTR)
			continue;
		if (n != (ssize_t)sizeof(c))
			_exit(0);	/* the parent is gone */
		memset(&r, 0, sizeof(r));
		r.skip = ex__local(x, &c, r.text, sizeof(r.text));
		if (write(reply, &r, sizeof(r)) != (ssize_t)sizeof(r) || c.kind == L_EXIT)
			_exit(0);
	}
}

/* ------------------------------------------------------------- the parent */

static inline void ex__reap(struct ex_kid *k)
{
	if (!k->alive)
		return;
	while (waitpid(k->pid, &k->status, 0) < 0 && errno == EINTR)
		;
	k->alive = 0;
	if (k->cmd >= 0)
		close(k->cmd);
	if (k->reply >= 0)
		close(k->reply);
	k->cmd = k->reply = -1;
}

static inline void ex__death(const struct ex_kid *k, char *out, size_t len)
{
	if (WIFSIGNALED(k->status))
		snprintf(out, len, "fault:%s", ex_signame(WTERMSIG(k->status)));
	else
		snprintf(out, len, "fault:EXITED");
}

/* Run a command in actor who's process; 0 outcome, 1 skip. */
static inline int ex__on(struct ex_ctx *x, int who, const struct ex_cmd *c, char *out, size_t len)
{
	struct ex_kid *k;
	struct ex_reply r;
	ssize_t n;

	if (who == x->role)
		return ex__local(x, c, out, len);
	if (who != EX_CHILD && who != EX_CHILD2) {
		snprintf(out, len, "not well-formed: %s", who < 0 ? "no pin held" : "bad actor");
		return 1;
	}
	k = &x->kids[who];
	if (!k->pid) {
		snprintf(out, len, "not well-formed: %s has not been forked", ex_actor_names[who]);
		return 1;
	}
	if (k->alive && write(k->cmd, c, sizeof(*c)) == (ssize_t)sizeof(*c)) {
		do {
			n = read(k->reply, &r, sizeof(r));
		} while (n < 0 && errno == EINTR);
		if (n == (ssize_t)sizeof(r)) {
			r.text[sizeof(r.text) - 1] = 0;
			snprintf(out, len, "%s", r.text);
			if (c->kind == L_EXIT)
				ex__reap(k);
			return r.skip;
		}
	}
	ex__reap(k);	/* its end of the pipe closed: it died */
	ex__death(k, out, len);
	return 0;
}

static inline int ex__fork(struct ex_ctx *x, int who, char *out, size_t len)
{
	pid_t ppid = getpid(), pid;
	int cmd[2], reply[2];

	if (x->kids[who].pid) {
		snprintf(out, len, "not well-formed: %s forked twice", ex_actor_names[who]);
		return 1;
	}
	if (pipe2(cmd, O_CLOEXEC)) {
		snprintf(out, len, "pipe: %s", strerror(errno));
		return 1;
	}
	if (pipe2(reply, O_CLOEXEC)) {
		snprintf(out, len, "pipe: %s", strerror(errno));
		close(cmd[0]);
		close(cmd[1]);
		return 1;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		snprintf(out, len, "fork: %s", strerror(errno));
		close(cmd[0]);
		close(cmd[1]);
		close(reply[0]);
		close(reply[1]);
		return 1;
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != ppid)
			_exit(0);
		close(cmd[1]);
		close(reply[0]);
		for (int i = 0; i < EX_NR_ACTORS; i++) {
			if (x->kids[i].cmd >= 0)
				close(x->kids[i].cmd);
			if (x->kids[i].reply >= 0)
				close(x->kids[i].reply);
			memset(&x->kids[i], 0, sizeof(x->kids[i]));
			x->kids[i].cmd = x->kids[i].reply = -1;
		}
		ex__pagemap_reset();	/* the parent's */
		if (x->pin.mech)
			pin_forget(&x->pin);	/* the parent's pin: not ours to drop */
		x->role = who;
		x->pin_owner = -1;
		ex__child_loop(x, cmd[0], reply[1]);
		_exit(0);
	}
	close(cmd[0]);
	close(reply[1]);
	x->kids[who].pid = pid;
	x->kids[who].cmd = cmd[1];
	x->kids[who].reply = reply[0];
	x->kids[who].alive = 1;
	snprintf(out, len, "ok");
	return 0;
}

static inline void ex__mremap(struct ex_ctx *x, char *out, size_t len)
{
	size_t al = x->align > mm_pagesize() ? x->align : mm_pagesize(), rl = x->size + al;
	char *res, *dst, *p;

	res = mmap(NULL, rl, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (res == MAP_FAILED) {
		ex__rc(-1, out, len);
		return;
	}
	dst = (char *)(((uintptr_t)res + al - 1) & ~(uintptr_t)(al - 1));
	p = mremap(x->mem, x->size, x->size, MREMAP_MAYMOVE | MREMAP_FIXED, dst);
	if (p == MAP_FAILED) {
		int e = errno;

		munmap(res, rl);
		errno = e;
		ex__rc(-1, out, len);
		return;
	}
	if (dst > res)
		munmap(res, (size_t)(dst - res));
	if (res + rl > dst + x->size)
		munmap(dst + x->size, (size_t)(res + rl - (dst + x->size)));
	x->mem = dst;
	snprintf(out, len, "ok");
}

static inline void ex__migrate(struct ex_ctx *x, char *out, size_t len)
{
	size_t step = x->sc->mem == EM_HUGETLB ? x->size : mm_pagesize(), n = x->size / step;
	void **pages = calloc(n, sizeof(*pages));
	int *nodes = calloc(n, sizeof(int)), *status = calloc(n, sizeof(int));
	int cur = mm_page_node(x->mem), target = x->nodes[0], neg = 0;
	size_t left = 0;
	long r;

	if (!pages || !nodes || !status) {
		snprintf(out, len, "err:ENOMEM");
		goto out;
	}
	for (int i = 0; i < x->nr_nodes; i++)
		if (x->nodes[i] != cur) {
			target = x->nodes[i];
			break;
		}
	for (size_t i = 0; i < n; i++) {
		pages[i] = x->mem + i * step;
		nodes[i] = target;
		status[i] = -1;
	}
	r = mm_move_pages(n, pages, nodes, status);
	if (r < 0) {
		ex__rc(-1, out, len);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (status[i] == target)
			continue;
		left++;
		if (status[i] < 0 && !neg)
			neg = -status[i];
	}
	if (!left)
		snprintf(out, len, "ok");
	else if (neg)
		snprintf(out, len, "err:%s", ex_errname(neg));
	else
		snprintf(out, len, "ret:%zu", left);
out:
	free(pages);
	free(nodes);
	free(status);
}

/*
 * Run step `step` (op) of the scenario from the parent.  0: the outcome is in
 * out; 1: the scenario cannot go on (out holds the skip reason).
 */
static inline int ex_step(struct ex_ctx *x, int step, const struct ex_op *op, char *out, size_t len)
{
	struct ex_cmd c = { .step = step, .arg = op->arg };
	char why[EX_TEXT_MAX];
	int other, r;

	if (step == x->hang_at)
		for (;;)
			pause();
	switch (op->name) {
	case OP_READ:
	case OP_WRITE:
		if (op->arg == EX_PIN) {
			c.kind = op->name == OP_READ ? L_PIN_READ : L_PIN_WRITE;
			return ex__on(x, x->pin_owner, &c, out, len);
		}
		c.kind = op->name == OP_READ ? L_READ : L_WRITE;
		return ex__on(x, op->arg, &c, out, len);
	case OP_FORK:
	case OP_FORK2:
		return ex__fork(x, op->name == OP_FORK ? EX_CHILD : EX_CHILD2, out, len);
	case OP_PIN:
		c.kind = L_PIN;
		c.arg = (int)(pin_find(ex__mech_names[op->arg]) - pin_mechs);
		r = ex__on(x, op->at, &c, out, len);
		if (!r && !strcmp(out, "ok"))
			x->pin_owner = op->at;
		return r;
	case OP_UNPIN:
		c.kind = L_UNPIN;
		r = ex__on(x, x->pin_owner, &c, out, len);
		x->pin_owner = -1;
		return r;
	case OP_MPROTECT:
		c.kind = L_MPROTECT;
		return ex__on(x, op->at, &c, out, len);
	case OP_MUNMAP:
		c.kind = L_MUNMAP;
		return ex__on(x, op->at, &c, out, len);
	case OP_SOFTDIRTY:
		c.kind = L_SOFTDIRTY;
		return ex__on(x, op->at, &c, out, len);
	case OP_EXIT:
		c.kind = L_EXIT;
		return ex__on(x, op->arg, &c, out, len);
	case OP_PAGEOUT:
		ex__rc(madvise(x->mem, x->size, MADV_PAGEOUT), out, len);
		return 0;
	case OP_COLLAPSE:
		ex__rc(madvise(x->mem, x->size, MADV_COLLAPSE), out, len);
		return 0;
	case OP_DONTFORK:
		ex__rc(madvise(x->mem, x->size, MADV_DONTFORK), out, len);
		return 0;
	case OP_DOFORK:
		ex__rc(madvise(x->mem, x->size, MADV_DOFORK), out, len);
		return 0;
	case OP_WIPEONFORK:
		ex__rc(madvise(x->mem, x->size, MADV_WIPEONFORK), out, len);
		return 0;
	case OP_SPLIT:
		/* the first subpage to the other protection and back */
		other = (x->prot & PROT_WRITE) ? PROT_READ : PROT_READ | PROT_WRITE;
		ex__rc(mprotect(x->mem, mm_pagesize(), other) ||
		       mprotect(x->mem, mm_pagesize(), x->prot) ? -1 : 0, out, len);
		return 0;
	case OP_MREMAP:
		ex__mremap(x, out, len);
		return 0;
	case OP_MIGRATE:
		ex__migrate(x, out, len);
		return 0;
	case OP_KSM:
		if (op->arg == 1) {
			ex__rc(madvise(x->mem, x->size, MADV_UNMERGEABLE), out, len);
			return 0;
		}
		r = ex__ksm_merge(x, x->step_ms / 2 < 3000 ? x->step_ms / 2 : 3000, why, sizeof(why));
		if (r)
			snprintf(out, len, "err:%s", ex_errname(-r));
		else
			snprintf(out, len, "ok");
		return 0;
	}
	snprintf(out, len, "internal: op %d", op->name);
	return 1;
}

/* Kill the children, drop a pin the parent holds. */
static inline void ex_teardown(struct ex_ctx *x)
{
	for (int i = 0; i < EX_NR_ACTORS; i++) {
		if (x->kids[i].alive)
			kill(x->kids[i].pid, SIGKILL);
		ex__reap(&x->kids[i]);
	}
	if (x->pin.mech)
		x->pin.mech->unpin(&x->pin);
	x->pin.mech = NULL;
}

/* ----------------------------------------------------------- kernel log */

/* /dev/kmsg positioned at its end (only later records are read); -1 if unreadable. */
static inline int ex_kmsg_open(void)
{
	int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);

	if (fd >= 0)
		lseek(fd, 0, SEEK_END);
	return fd;
}

/*
 * The next kernel log line worth reporting (priority <= 4, warning, or BUG /
 * WARNING / Oops in the text) into out: 1, or 0 when there is none (yet).
 */
static inline int ex_kmsg_next(int fd, char *out, size_t len)
{
	char rec[8192];

	if (fd < 0)
		return 0;
	for (;;) {
		ssize_t n = read(fd, rec, sizeof(rec) - 1);
		char *msg, *nl;
		int level;

		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue;	/* records overwritten before we read them: go on */
		if (n <= 0)
			return 0;
		rec[n] = 0;
		msg = strchr(rec, ';');
		if (!msg)
			continue;
		*msg++ = 0;
		level = atoi(rec) & 7;
		nl = strchr(msg, '\n');
		if (nl)
			*nl = 0;
		if (level > 4 && !strstr(msg, "BUG") && !strstr(msg, "WARNING") && !strstr(msg, "Oops"))
			continue;
		snprintf(out, len, "%s", msg);
		for (char *p = out; *p; p++)
			if ((unsigned char)*p < 0x20)
				*p = ' ';
		return 1;
	}
}

static inline void ex_kmsg_drain(int fd)
{
	char line[EX_TEXT_MAX];

	while (ex_kmsg_next(fd, line, sizeof(line)))
		;
}

/* --------------------------------------------------------- interpreter */

struct ex_opts {
	unsigned step_ms;	/* bound of one step (default 5000) */
	int hang_at;		/* testing: this step never returns (0: none) */
	int kmsg;		/* ex_kmsg_open() */
};

/*
 * Output: whole lines, collected and written with write(2) (no stdio buffer
 * that a fork could copy).  A scenario's block is two writes: its `scenario`
 * line before it runs (a guest that hangs shows which one), the rest after.
 */
static char ex__obuf[8192];
static size_t ex__olen;

static inline void ex__oflush(void)
{
	ktap__write_all(1, ex__obuf, ex__olen);
	ex__olen = 0;
}

/* Append text (n bytes, no newline added). */
static inline void ex__oraw(const char *text, size_t n)
{
	while (n) {
		size_t k = sizeof(ex__obuf) - ex__olen;

		if (!k) {
			ex__oflush();
			continue;
		}
		if (k > n)
			k = n;
		memcpy(ex__obuf + ex__olen, text, k);
		ex__olen += k;
		text += k;
		n -= k;
	}
}

/* Append one line (printf format, the newline added). */
static inline void __attribute__((format(printf, 1, 2))) ex__oline(const char *fmt, ...)
{
	char line[EX_LINE_MAX + 64];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	ex__oraw(line, (size_t)n);
}

/* One line, written now. */
#define ex_out(...) do { ex__oline(__VA_ARGS__); ex__oflush(); } while (0)

/*
 * What a scenario process tells the interpreter, in memory they share: no
 * message and no wake-up per step.  begun: (start in ms << 8) | the step it
 * began (0: the set-up); shown: (bytes of text << 8) | the last step whose
 * line is in text (a `skip` line counts as finishing the step it stopped).
 */
#define EX_REPORT_TEXT ((EX_MAX_STEPS + 2) * (EX_TEXT_MAX + EX_TOKEN_MAX + 16))

struct ex_report {
	uint64_t begun;
	uint64_t shown;
	char text[EX_REPORT_TEXT];
};

static inline void ex__begin(struct ex_report *rep, int step)
{
	__atomic_store_n(&rep->begun, (uint64_t)ktap_now_ms() << 8 | (unsigned)step, __ATOMIC_RELEASE);
}

/* Add a line to the report (newlines in it become blanks); step: the step it finishes. */
static inline void __attribute__((format(printf, 3, 4)))
ex__shown(struct ex_report *rep, int step, const char *fmt, ...)
{
	size_t off = (size_t)(__atomic_load_n(&rep->shown, __ATOMIC_RELAXED) >> 8);
	size_t room = sizeof(rep->text) - off;
	va_list ap;
	int n;

	if (room < EX_TEXT_MAX + EX_TOKEN_MAX + 16)
		return;	/* cannot happen: room for every step and a skip */
	va_start(ap, fmt);
	n = vsnprintf(rep->text + off, room - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > room - 2)
		n = (int)(room - 2);
	for (int i = 0; i < n; i++)
		if (rep->text[off + i] == '\n' || rep->text[off + i] == '\r')
			rep->text[off + i] = ' ';
	rep->text[off + n] = '\n';
	__atomic_store_n(&rep->shown, (uint64_t)(off + n + 1) << 8 | (unsigned)step, __ATOMIC_RELEASE);
}

/* The scenario process: set up, then every step, each begun and shown in the report. */
static inline void ex__scenario_proc(const struct ex_scenario *sc, const struct ex_opts *o,
				     struct ex_report *rep)
{
	static struct ex_ctx x;
	char out[EX_TEXT_MAX];

	if (ex_setup(&x, sc, o->step_ms, out, sizeof(out))) {
		ex__shown(rep, 0, "skip %s", out);
		return;
	}
	x.hang_at = o->hang_at;
	for (int i = 0; i < sc->nops; i++) {
		ex__begin(rep, i + 1);
		if (ex_step(&x, i + 1, &sc->ops[i], out, sizeof(out))) {
			ex__shown(rep, i + 1, "skip %s", out);
			break;
		}
		ex__shown(rep, i + 1, "%d %s %s", i + 1, sc->ops[i].token, out);
	}
	ex_teardown(&x);
}

/*
 * Reap pid, waiting until the ms clock reads until at most; 1 if reaped.
 * SIGCHLD is blocked in the interpreter, so it stays pending until
 * sigtimedwait() takes it: the wait blocks, and no child death is missed.
 */
static inline int ex__reap_until(pid_t pid, int *status, long long until)
{
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		pid_t r = waitpid(pid, status, WNOHANG);
		long long now = ktap_now_ms();
		struct timespec ts;

		if (r == pid)
			return 1;
		if ((r < 0 && errno != EINTR) || now >= until)
			return 0;
		ts.tv_sec = (until - now) / 1000;
		ts.tv_nsec = (until - now) % 1000 * 1000000;
		sigtimedwait(&chld, NULL, &ts);
	}
}

/*
 * Once per interpreter run: SIGCHLD blocked (ex__reap_until), the knob
 * cache on, the report and scratch areas mapped, the machine's facts read
 * (inherited by every scenario process).  NULL if the report area cannot
 * be mapped.
 */
static inline struct ex_report *ex__interp_init(void)
{
	static struct ex_report *rep;
	size_t ps = mm_pagesize(), size, thp;
	sigset_t chld;

	if (rep)
		return rep;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	sigprocmask(SIG_BLOCK, &chld, NULL);
	ex__kc_on = 1;
	size = (sizeof(*rep) + ps - 1) / ps * ps;
	rep = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (rep == MAP_FAILED) {
		rep = NULL;
		return NULL;
	}
	memset(rep, 0, size);
	/* the scratch: as large as a THP, the largest region but hugetlb's (a larger one maps its own) */
	thp = ex__thp_size();
	size = thp > 2 * ps && thp <= (32u << 20) ? thp : 2u << 20;
	ex__shared_scratch = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (ex__shared_scratch == MAP_FAILED) {
		ex__shared_scratch = NULL;
	} else {
		for (size_t off = 0; off < size; off += ps)
			ex__shared_scratch[off] = 0;
		ex__shared_scratch_size = size;
	}
	(void)ex__thp_enabled();
	(void)ex__numa_nodes(&(int){ 0 }, 1);
	(void)ex__swap_kb();
	return rep;
}

/*
 * The sysfs knobs, set once for a run of scenarios rather than around each:
 * before a scenario, a knob an earlier set-up changed goes back to its value
 * before the run unless this scenario's set-up sets it too, and what its
 * set-up sets (shmem_enabled, an mTHP size's enabled, ksm/run) is set here,
 * so the scenario process finds it set.  ksm/run stays 1 once set (with no
 * mergeable memory ksmd does nothing); ksm/sleep_millisecs is changed only
 * while a scenario waits for a merge, and checked after each KSM scenario.
 * Everything is put back at the end of the run (ex_interp_end).
 */
static inline void ex__interp_knobs(const struct ex_scenario *sc)
{
	char mthp[128] = "", cur[32], why[EX_TEXT_MAX];

	if (sc->mem == EM_MTHP)
		ex__mthp_knob(sc->msize, mthp, sizeof(mthp));
	for (int i = 0; i < ex__kc_n; i++) {
		const char *p = ex__kc[i].path;

		if (!strcmp(p, EX_KSM_RUN) || !strcmp(p, EX_KSM_SLEEP) || !strcmp(p, mthp) ||
		    (sc->mem == EM_SHMEM_THP && !strcmp(p, EX_SHMEM_ENABLED)))
			continue;
		if (ex_knob_value(p, cur, sizeof(cur)) || strcmp(cur, ex__kc[i].orig))
			ex__knob_write(p, ex__kc[i].orig);
	}
	if (sc->mem == EM_SHMEM_THP && !ex_knob_value(EX_SHMEM_ENABLED, cur, sizeof(cur)) &&
	    strcmp(cur, "force"))
		ex__knob_set(EX_SHMEM_ENABLED, "always", why, sizeof(why));
	if (mthp[0] && sc->msize > mm_pagesize() && !access(mthp, F_OK))
		ex__knob_set(mthp, "always", why, sizeof(why));
	if (ex__uses_ksm(sc) && !access(EX_KSM_RUN, W_OK)) {
		ex_knob_value(EX_KSM_SLEEP, cur, sizeof(cur));	/* its value before the run */
		ex__knob_set(EX_KSM_RUN, "1", why, sizeof(why));
	}
	/* the mechanisms it pins with, probed once in this process (the scenario inherits the answer) */
	for (int i = 0; i < sc->nops; i++)
		if (sc->ops[i].name == OP_PIN && pin_find(ex__mech_names[sc->ops[i].arg]))
			ex__probe(pin_find(ex__mech_names[sc->ops[i].arg]), why, sizeof(why));
}

/* After a KSM scenario: its process puts sleep_millisecs back, unless it was killed waiting. */
static inline void ex__interp_knobs_after(const struct ex_scenario *sc)
{
	int i = ex__kc_find(EX_KSM_SLEEP);
	char cur[32];

	if (i < 0 || !ex__uses_ksm(sc))
		return;
	ex__kc[i].val[0] = 0;	/* ask sysfs */
	if (!ex_knob_value(EX_KSM_SLEEP, cur, sizeof(cur)) && strcmp(cur, ex__kc[i].orig))
		ex__knob_write(EX_KSM_SLEEP, ex__kc[i].orig);
}

/* The end of an interpreter run: every knob it changed back to its value before the run. */
static inline void ex_interp_end(void)
{
	for (int i = 0; i < ex__kc_n; i++) {
		char cur[32];

		if (!ex__knob_read(ex__kc[i].path, cur, sizeof(cur)) && strcmp(cur, ex__kc[i].orig))
			ex__knob_write(ex__kc[i].path, ex__kc[i].orig);
	}
}

/*
 * Interpret one scenario line and print its whole block (README "Observation
 * format").  The scenario runs in a fresh process (its own process group),
 * bounded per step (o->step_ms, the set-up 2 x step_ms) and in total
 * ((steps + 2) x step_ms): the interpreter sleeps in sigtimedwait() until the
 * process exits or the bound of the step it began passes; a hang prints
 * `N TOKEN timeout`, the group is killed and the next line starts clean.
 */
static inline void ex_interp_line(const char *raw, const struct ex_opts *o)
{
	static struct ex_scenario sc;
	char err[EX_TEXT_MAX], norm[EX_LINE_MAX], kline[EX_TEXT_MAX];
	struct ex_report *rep;
	long long start, total, setup_until, until = 0;
	uint64_t begun, shown;
	int status = 0, reaped = 0, timed_out = 0, cur, done;
	pid_t pid;

	ex_kmsg_drain(o->kmsg);
	if (ex_parse(raw, &sc, err, sizeof(err))) {
		ex__oline("scenario %s", raw);
		ex__oline("skip parse error: %s", err);
		ex_out("end");
		return;
	}
	ex_print_line(&sc, norm, sizeof(norm));
	ex_out("scenario %s", norm);
	rep = ex__interp_init();
	if (!rep) {
		ex__oline("skip interpreter: mmap: %s", strerror(errno));
		ex_out("end");
		return;
	}
	ex__interp_knobs(&sc);
	rep->shown = 0;
	start = ktap_now_ms();
	rep->begun = (uint64_t)start << 8;
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		ex__oline("skip interpreter: fork: %s", strerror(errno));
		ex_out("end");
		return;
	}
	if (pid == 0) {
		sigset_t none;

		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		ex__pagemap_reset();
		ex__scenario_proc(&sc, o, rep);
		_exit(0);
	}
	setpgid(pid, pid);

	total = start + (long long)(sc.nops + 2) * o->step_ms;
	setup_until = start + 2LL * o->step_ms < total ? start + 2LL * o->step_ms : total;
	for (;;) {
		long long now = ktap_now_ms(), wake;

		begun = __atomic_load_n(&rep->begun, __ATOMIC_ACQUIRE);
		cur = (int)(begun & 0xff);
		until = cur ? (long long)(begun >> 8) + o->step_ms : setup_until;
		if (until > total)
			until = total;
		/*
		 * A step that begins while we sleep ends its bound step_ms after
		 * it began, so no later than now + step_ms: look again then.
		 */
		wake = now + o->step_ms < until ? now + o->step_ms : until;
		if (ex__reap_until(pid, &status, wake)) {
			reaped = 1;
			break;
		}
		if (wake < until)
			continue;
		/* the step it is in may have begun since: its own bound then */
		if (__atomic_load_n(&rep->begun, __ATOMIC_ACQUIRE) == begun) {
			timed_out = 1;
			kill(-pid, SIGKILL);
			kill(pid, SIGKILL);
			reaped = ex__reap_until(pid, &status, ktap_now_ms() + 2000);
			break;
		}
	}
	kill(-pid, SIGKILL);	/* whatever is left of the group */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;	/* orphans we inherited as subreaper */
	ex__interp_knobs_after(&sc);

	/* the process is gone (or unkillable): what it reported is final */
	shown = __atomic_load_n(&rep->shown, __ATOMIC_ACQUIRE);
	begun = __atomic_load_n(&rep->begun, __ATOMIC_ACQUIRE);
	cur = (int)(begun & 0xff);
	done = (int)(shown & 0xff);
	if (cur > sc.nops)
		cur = sc.nops;	/* cannot happen: the report is the scenario process's */
	ex__oraw(rep->text, (size_t)(shown >> 8) < sizeof(rep->text) ? (size_t)(shown >> 8) : 0);
	if (timed_out) {
		if (cur > 0 && cur > done)
			ex__oline("%d %s timeout", cur, sc.ops[cur - 1].token);
		else if (cur == 0)
			ex__oline("skip set-up did not finish within %lld ms", setup_until - start);
	} else if (cur > done) {
		/* it died in a step it began and never finished */
		if (reaped && WIFSIGNALED(status))
			ex__oline("%d %s fault:%s", cur, sc.ops[cur - 1].token,
				  ex_signame(WTERMSIG(status)));
		else
			ex__oline("%d %s fault:EXITED", cur, sc.ops[cur - 1].token);
	}
	while (ex_kmsg_next(o->kmsg, kline, sizeof(kline)))
		ex__oline("kernel %s", kline);
	ex_out("end");
}

/* What this machine offers the explorer, one `cap NAME VALUE` line each. */
static inline void ex_list_caps(void)
{
	char buf[256], why[EX_TEXT_MAX];
	int nodes[8], nr = mm_numa_nodes(nodes, 8);
	static const char *const sizes[] = { "16", "32", "64", "128", "256", "512", "1024", "2048", NULL };

	mm_read_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf));
	ex_out("cap thp %zu kB (%s)", mm_thp_size() / 1024, buf);
	buf[0] = 0;
	for (int i = 0; sizes[i]; i++) {
		char path[128];

		snprintf(path, sizeof(path), "/sys/kernel/mm/transparent_hugepage/hugepages-%skB", sizes[i]);
		if (!access(path, F_OK))
			snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%skB", buf[0] ? "," : "",
				 sizes[i]);
	}
	ex_out("cap mthp %s", buf[0] ? buf : "none");
	ex_out("cap hugetlb %zu kB, %ld free", mm_hugetlb_size() / 1024, mm_meminfo("HugePages_Free"));
	ex_out("cap swap %ld kB", mm_swap_total_kb());
	ex_out("cap numa %d node(s)", nr);
	ex_out("cap ksm %s", access(EX_KSM_RUN, W_OK) ? "no" : "yes");
	ex_out("cap shmem-thp %s", access(EX_SHMEM_ENABLED, W_OK) ? "no" : "yes");
	for (int i = 0; i < PIN_NR_MECHS; i++) {
		why[0] = 0;
		if (pin_mechs[i].probe(why, sizeof(why)))
			ex_out("cap pin:%s no: %s", pin_mechs[i].name, why);
		else
			ex_out("cap pin:%s yes", pin_mechs[i].name);
	}
}

/* ---------------------------------------------------------- reproducers */

/*
 * A generated reproducer runs one scenario in its own process, step by step,
 * and checks each outcome against the set the oracle accepts:
 *
 *	static struct ex_repro r;
 *	if (ex_repro_begin(&r, "base | fork | write:parent | read:child", 5000))
 *		return 2;
 *	if (ex_repro_step(&r, 1, "fork", (const char *const[]){ "done", NULL }) < 0)
 *		return ex_repro_skip(&r);
 *	...
 *	return ex_repro_end(&r);
 *
 * Accepted outcomes are spelled as printed (w3, fault:SIGSEGV, ok) or as the
 * oracle's classes: done (ok, ret:*, err:*), fault (fault:*), mixed (mixed@*).
 * Exit status: 0 every outcome accepted, 1 one was not (or the kernel logged a
 * warning), 2 the set-up was impossible here (skip).
 */
struct ex_repro {
	struct ex_scenario sc;
	struct ex_ctx x;
	struct ex_knobs knobs;
	int kmsg;
	unsigned step_ms;
	int bad;
	char first_bad[2 * EX_TEXT_MAX + EX_TOKEN_MAX + 64];
};

static struct ex_repro *ex__repro;
static char ex__repro_timeout[EX_TEXT_MAX + 2 * EX_TOKEN_MAX + 128];

static void ex__repro_alarm(int sig)
{
	(void)sig;
	ktap__write_all(1, ex__repro_timeout, strlen(ex__repro_timeout));
	if (ex__repro) {
		for (int i = 0; i < EX_NR_ACTORS; i++)
			if (ex__repro->x.kids[i].alive)
				kill(ex__repro->x.kids[i].pid, SIGKILL);
		ex_knobs_restore(&ex__repro->knobs);
	}
	_exit(1);
}

static inline void ex__repro_arm(unsigned ms)
{
	struct itimerval it;

	memset(&it, 0, sizeof(it));
	it.it_value.tv_sec = ms / 1000;
	it.it_value.tv_usec = (ms % 1000) * 1000;
	setitimer(ITIMER_REAL, &it, NULL);
}

/* Does a printed outcome belong to an accepted one (exact, or its class)? */
static inline int ex_outcome_matches(const char *seen, const char *acc)
{
	if (!strcmp(seen, acc))
		return 1;
	if (!strcmp(acc, "done"))
		return !strcmp(seen, "ok") || !strncmp(seen, "ret:", 4) || !strncmp(seen, "err:", 4);
	if (!strcmp(acc, "fault"))
		return !strncmp(seen, "fault:", 6);
	if (!strcmp(acc, "mixed"))
		return !strncmp(seen, "mixed@", 6);
	return 0;
}

/* Parse, save knobs, set up.  0, or 2 after printing the skip (exit status). */
static inline int ex_repro_begin(struct ex_repro *r, const char *line, unsigned step_ms)
{
	char why[EX_TEXT_MAX];
	int skip;

	setvbuf(stdout, NULL, _IOLBF, 0);
	memset(r, 0, sizeof(*r));
	r->step_ms = step_ms ? step_ms : 5000;
	if (ex_parse(line, &r->sc, why, sizeof(why))) {
		printf("SKIP: parse error: %s\n", why);
		return 2;
	}
	printf("scenario %s\n", line);
	r->kmsg = ex_kmsg_open();
	ex_knobs_save(&r->knobs, &r->sc);
	ex__repro = r;
	signal(SIGALRM, ex__repro_alarm);
	snprintf(ex__repro_timeout, sizeof(ex__repro_timeout),
		 "BUG: the set-up did not finish within %u ms\n", 2 * r->step_ms);
	ex__repro_arm(2 * r->step_ms);
	skip = ex_setup(&r->x, &r->sc, r->step_ms, why, sizeof(why));
	ex__repro_arm(0);
	if (skip) {
		printf("SKIP: %s\n", why);
		ex_knobs_restore(&r->knobs);
		return 2;
	}
	return 0;
}

/* Run step `step` (its token must be `token`); 0 accepted, 1 not, -1 skip. */
static inline int ex_repro_step(struct ex_repro *r, int step, const char *token,
				const char *const *accepted)
{
	const struct ex_op *op = &r->sc.ops[step - 1];
	char exp[EX_TEXT_MAX] = "", out[EX_TEXT_MAX];
	int match = !accepted || !accepted[0];

	if (step < 1 || step > r->sc.nops || strcmp(op->token, token)) {
		printf("SKIP: step %d is not '%s' in this scenario\n", step, token);
		return -1;
	}
	for (int i = 0; accepted && accepted[i]; i++)
		snprintf(exp + strlen(exp), sizeof(exp) - strlen(exp), "%s%s", i ? "|" : "", accepted[i]);
	snprintf(ex__repro_timeout, sizeof(ex__repro_timeout),
		 "step %d %s: expected %s, saw timeout\nBUG: step %d '%s' did not return within %u ms\n",
		 step, token, exp[0] ? exp : "anything", step, token, r->step_ms);
	ex__repro_arm(r->step_ms);
	if (ex_step(&r->x, step, op, out, sizeof(out))) {
		ex__repro_arm(0);
		printf("SKIP: step %d %s: %s\n", step, token, out);
		return -1;
	}
	ex__repro_arm(0);
	for (int i = 0; accepted && accepted[i] && !match; i++)
		match = ex_outcome_matches(out, accepted[i]);
	printf("step %d %s: expected %s, saw %s\n", step, token, exp[0] ? exp : "anything", out);
	if (!match && !r->bad++)
		snprintf(r->first_bad, sizeof(r->first_bad), "step %d '%.47s': expected %.255s, saw %.255s",
			 step, token, exp, out);
	return !match;
}

/* Tear down, report kernel warnings; the exit status (0 OK, 1 BUG). */
static inline int ex_repro_end(struct ex_repro *r)
{
	char line[EX_TEXT_MAX];
	int kernel = 0;

	ex_teardown(&r->x);
	ex_knobs_restore(&r->knobs);
	while (ex_kmsg_next(r->kmsg, line, sizeof(line))) {
		printf("kernel %s\n", line);
		if (!kernel++ && !r->bad)
			snprintf(r->first_bad, sizeof(r->first_bad), "the kernel logged: %.255s", line);
	}
	if (r->bad || kernel) {
		printf("BUG: %s%s\n", r->first_bad,
		       r->bad + kernel > 1 ? " (and more above)" : "");
		return 1;
	}
	printf("OK\n");
	return 0;
}

/* After a step could not run: tear down; the exit status for a skip (2). */
static inline int ex_repro_skip(struct ex_repro *r)
{
	ex_teardown(&r->x);
	ex_knobs_restore(&r->knobs);
	return 2;
}

#endif /* COWLAB_EXPLORE_H */
