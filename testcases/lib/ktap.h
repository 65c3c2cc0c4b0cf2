/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ktap.h - minimal KTAP v1 producer for cowlab test programs (header-only).
 *
 * Every planned case runs in its own "case process" (fork of the runner,
 * own process group).  The case reports exactly one result through a pipe
 * to the runner; the runner prints diagnostics, "# duration_ms: N" and the
 * result line.  A case that hangs is killed (process group SIGKILL) after a
 * timeout; a case that dies or returns without a result is reported as
 * ERROR.  Thus every planned case prints exactly one result line.
 *
 * Output contract:
 *   KTAP version 1
 *   1..N
 *   # <diagnostic>
 *   # duration_ms: <ms>
 *   ok N name | not ok N name | ok N name # SKIP why | not ok N name # ERROR why
 *   # cowlab-waits: <ms> ms in <n> waits     once, after the last result
 * Exit code: 0 no fail/error, 1 any fail, 2 any error (and no fail).
 *
 * Case selection (kunit's kunit.action=list and kunit.filter_glob):
 *   prog --list | KTAP_ACTION=list       print every case name, one per line, run nothing
 *   prog --filter GLOB | KTAP_FILTER_GLOB=GLOB
 *                        run only the cases whose name matches one of the
 *                        comma-separated fnmatch(3) globs; the plan counts them
 *   Both may be combined: --list --filter GLOB lists what a filter selects.
 *   The host builds each program for its own arch and lists it, so it knows
 *   every case id before a guest boots.
 *
 * Environment knobs (optional):
 *   KTAP_INDENT          prefix for every printed line, to nest the document
 *                        as a subtest (four spaces, or kselftest's "# ")
 *   KTAP_CASE_TIMEOUT_S  per-case timeout (default 20)
 *   KTAP_TOTAL_BUDGET_S  whole-program budget; cases not started within it
 *                        report ERROR (default 100; keep it below the
 *                        manifest timeout_s so the document stays complete)
 */
#ifndef COWLAB_KTAP_H
#define COWLAB_KTAP_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fnmatch.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <sys/wait.h>

#ifndef __NR_pidfd_open
#define __NR_pidfd_open 434	/* the same number on every arch (Linux 5.3) */
#endif

enum ktap_status { KTAP_PASS = 0, KTAP_FAIL = 1, KTAP_SKIP = 2, KTAP_ERROR = 3 };

#define KTAP_NAME_MAX 64
#define KTAP_REASON_MAX 400

struct ktap_case;
typedef void (*ktap_fn)(const struct ktap_case *c);

struct ktap_case {
	char name[KTAP_NAME_MAX];
	ktap_fn fn;
	int a, b, c;		/* free parameters for the program (scenario, memtype, ...) */
	unsigned timeout_s;	/* 0 = default */
};

/* What the case process sends to the runner (< PIPE_BUF: atomic). */
struct ktap__msg {
	int status;
	char reason[KTAP_REASON_MAX];
};

static int ktap__result_fd = -1;
static pid_t ktap__case_pid;
static int ktap__reported;

static inline long long ktap_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static inline long long ktap__now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/*
 * Idle waits, measured.  Every place a program waits for a condition it cannot make
 * happen itself (pages reaching swap, a reported case exiting, a migration to fork
 * into) brackets the wait with ktap_wait_begin() / ktap_wait_end(); the runner prints
 * the sum once, after the last result, as the diagnostic
 * "# cowlab-waits: <ms> ms in <n> waits" (KTAP readers ignore diagnostics; the lab sums
 * the line over a console, orchestrator/results/waits.ts).  Cases and their helpers are
 * forked processes, so the sums live in a MAP_SHARED page the runner maps before its
 * first fork, and are added atomically.
 */
struct ktap__wait_sum {
	long long us;
	long long n;
};

static struct ktap__wait_sum *ktap__waits;

static inline long long ktap_wait_begin(void)
{
	return ktap__now_us();
}

static inline void ktap_wait_end(long long begun_us)
{
	if (!ktap__waits)
		return;
	__atomic_fetch_add(&ktap__waits->us, ktap__now_us() - begun_us, __ATOMIC_RELAXED);
	__atomic_fetch_add(&ktap__waits->n, 1, __ATOMIC_RELAXED);
}

/* write(2) a whole buffer (stdout is shared by runner, case and children). */
static inline void ktap__write_all(int fd, const char *buf, size_t len)
{
	while (len) {
		ssize_t r = write(fd, buf, len);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		buf += r;
		len -= (size_t)r;
	}
}

/*
 * Every line this program prints to stdout.  A runner that makes the program a subtest of
 * its own KTAP document (the lab's guests/run-testcases.sh; Documentation/dev-tools/ktap.rst
 * nests subtests by indenting them) sets KTAP_INDENT to the prefix each line gets: four
 * spaces, or kselftest's "# ".  The program indents its own lines rather than a pipe doing
 * it, so they still reach the console in the order the kernel's own messages do.  Still one
 * write() per line.
 */
static inline void ktap__out(const char *buf, size_t len)
{
	static const char *indent;

	if (!indent)
		indent = getenv("KTAP_INDENT") ? getenv("KTAP_INDENT") : "";
	while (len) {
		const char *nl = memchr(buf, '\n', len);
		size_t n = nl ? (size_t)(nl - buf) + 1 : len;
		char line[2048];
		int k = snprintf(line, sizeof(line), "%s%.*s", indent, (int)n, buf);

		if (k < 0)
			return;
		if (k >= (int)sizeof(line)) {
			k = (int)sizeof(line) - 1;
			line[k - 1] = '\n';
		}
		ktap__write_all(1, line, (size_t)k);
		buf += n;
		len -= n;
	}
}

static inline void ktap__sanitize(char *s)
{
	for (; *s; s++)
		if (*s == '\n' || *s == '\r' || *s == '#')
			*s = (*s == '#') ? '_' : ' ';
}

/* "# ..." diagnostic line.  Usable from any process; one write() per line. */
static inline void __attribute__((format(printf, 1, 2))) ktap_diag(const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	buf[0] = '#';
	buf[1] = ' ';
	va_start(ap, fmt);
	n = vsnprintf(buf + 2, sizeof(buf) - 3, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n += 2;
	if (n > (int)sizeof(buf) - 2)
		n = (int)sizeof(buf) - 2;
	buf[n] = 0;
	/* keep it a single line */
	for (int i = 2; i < n; i++)
		if (buf[i] == '\n' || buf[i] == '\r')
			buf[i] = ' ';
	buf[n++] = '\n';
	ktap__out(buf, (size_t)n);
}

static inline void ktap__report_str(int status, const char *reason)
{
	struct ktap__msg m;

	memset(&m, 0, sizeof(m));
	m.status = status;
	if (reason)
		snprintf(m.reason, sizeof(m.reason), "%s", reason);
	ktap__sanitize(m.reason);
	if (ktap__result_fd < 0 || getpid() != ktap__case_pid) {
		/* Called from a forked helper of the case: not allowed. */
		ktap_diag("internal: result reported outside the case process (%d: %s)",
			  status, m.reason);
		return;
	}
	if (ktap__reported) {
		ktap_diag("internal: extra result ignored (%d: %s)", status, m.reason);
		return;
	}
	ktap__reported = 1;
	ktap__write_all(ktap__result_fd, (const char *)&m, sizeof(m));
}

static inline void ktap__vreport(int status, const char *fmt, va_list ap)
{
	char reason[KTAP_REASON_MAX];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	ktap__report_str(status, reason);
}

/* Result helpers: call exactly once per case, from the case process. */
static inline void ktap_pass(void)
{
	ktap__report_str(KTAP_PASS, NULL);
}

/* Kernel misbehaved: reason = observed vs expected (printed as last "# " line). */
static inline void __attribute__((format(printf, 1, 2))) ktap_fail(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap__vreport(KTAP_FAIL, fmt, ap);
	va_end(ap);
}

static inline void __attribute__((format(printf, 1, 2))) ktap_skip(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap__vreport(KTAP_SKIP, fmt, ap);
	va_end(ap);
}

/* Harness / setup failure (unexpected syscall failure etc). */
static inline void __attribute__((format(printf, 1, 2))) ktap_error(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ktap__vreport(KTAP_ERROR, fmt, ap);
	va_end(ap);
}

static inline int ktap_reported(void)
{
	return ktap__reported;
}

/*
 * For helper processes forked by a case: die with the case process (so
 * they never outlive it, even if it is killed) and never report results.
 */
static inline void ktap_child_init(void)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	ktap__result_fd = -1;
}

static inline unsigned ktap__env_u(const char *name, unsigned def)
{
	const char *v = getenv(name);
	char *end;
	unsigned long x;

	if (!v || !*v)
		return def;
	x = strtoul(v, &end, 10);
	if (*end || x == 0 || x > 100000)
		return def;
	return (unsigned)x;
}

static inline void ktap__print_result(int num, const char *name, int status,
				      const char *reason, long long ms)
{
	char line[KTAP_NAME_MAX + KTAP_REASON_MAX + 64];

	if (status == KTAP_FAIL && reason && *reason)
		ktap_diag("%s", reason);
	ktap_diag("duration_ms: %lld", ms);
	switch (status) {
	case KTAP_PASS:
		snprintf(line, sizeof(line), "ok %d %.63s\n", num, name);
		break;
	case KTAP_FAIL:
		snprintf(line, sizeof(line), "not ok %d %.63s\n", num, name);
		break;
	case KTAP_SKIP:
		snprintf(line, sizeof(line), "ok %d %.63s # SKIP %.399s\n", num, name,
			 (reason && *reason) ? reason : "no reason given");
		break;
	default:
		snprintf(line, sizeof(line), "not ok %d %.63s # ERROR %.399s\n", num, name,
			 (reason && *reason) ? reason : "no reason given");
		break;
	}
	ktap__out(line, strlen(line));
}

/* Reap every child we (as subreaper) may have inherited. */
static inline void ktap__reap_all(void)
{
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
}

/* Does `name` match one of the comma-separated globs in `filter` (NULL/"" = all)? */
static inline int ktap__selected(const char *name, const char *filter)
{
	char *buf, *save = NULL, *g;
	int hit = 0;

	if (!filter || !*filter)
		return 1;
	buf = strdup(filter); /* the host may pass every selected name: no fixed bound */
	if (!buf)
		return 1;
	for (g = strtok_r(buf, ",", &save); g && !hit; g = strtok_r(NULL, ",", &save))
		hit = fnmatch(g, name, 0) == 0;
	free(buf);
	return hit;
}

static inline int ktap__run_all(const struct ktap_case *cases, int n);

/*
 * Select the cases (KTAP_FILTER_GLOB), then list them (KTAP_ACTION=list) or
 * run them, printing the whole KTAP document; returns the exit code (0/1/2).
 */
static inline int ktap_run(const struct ktap_case *cases, int n)
{
	const char *filter = getenv("KTAP_FILTER_GLOB");
	const char *action = getenv("KTAP_ACTION");
	struct ktap_case *chosen = calloc((size_t)(n ? n : 1), sizeof(*chosen));
	int m = 0, rc;

	if (!chosen) {
		perror("calloc");
		return 2;
	}
	for (int i = 0; i < n; i++)
		if (ktap__selected(cases[i].name, filter))
			chosen[m++] = cases[i];
	if (action && !strcmp(action, "list")) {
		for (int i = 0; i < m; i++)
			printf("%s\n", chosen[i].name);
		free(chosen);
		return 0;
	}
	if (action && *action && strcmp(action, "run")) {
		fprintf(stderr, "KTAP_ACTION must be list or run, not '%s'\n", action);
		free(chosen);
		return 2;
	}
	rc = ktap__run_all(chosen, m);
	free(chosen);
	return rc;
}

/* main() of every program: --list and --filter GLOB, then ktap_run(). */
static inline int ktap_main(int argc, char **argv, const struct ktap_case *cases, int n)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--list")) {
			setenv("KTAP_ACTION", "list", 1);
		} else if (!strcmp(argv[i], "--filter") && i + 1 < argc) {
			setenv("KTAP_FILTER_GLOB", argv[++i], 1);
		} else if (!strncmp(argv[i], "--filter=", 9)) {
			setenv("KTAP_FILTER_GLOB", argv[i] + 9, 1);
		} else {
			fprintf(stderr, "usage: %s [--list] [--filter GLOB[,GLOB...]]\n", argv[0]);
			return !strcmp(argv[i], "--help") || !strcmp(argv[i], "-h") ? 0 : 2;
		}
	}
	return ktap_run(cases, n);
}

/* Run `cases` in order in their own processes; see the output contract above. */
static inline int ktap__run_all(const struct ktap_case *cases, int n)
{
	unsigned def_timeout = ktap__env_u("KTAP_CASE_TIMEOUT_S", 20);
	unsigned budget_s = ktap__env_u("KTAP_TOTAL_BUDGET_S", 100);
	long long prog_start = ktap_now_ms();
	int fails = 0, errors = 0;
	char hdr[64];

	static struct ktap__wait_sum private_sum;	/* if the shared page cannot be had */
	void *shared = mmap(NULL, sizeof(*ktap__waits), PROT_READ | PROT_WRITE,
			    MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	ktap__waits = shared == MAP_FAILED ? &private_sum : shared;
	setvbuf(stdout, NULL, _IONBF, 0);
	setvbuf(stderr, NULL, _IONBF, 0);
	signal(SIGPIPE, SIG_IGN);
	prctl(PR_SET_CHILD_SUBREAPER, 1);

	snprintf(hdr, sizeof(hdr), "KTAP version 1\n1..%d\n", n);
	ktap__out(hdr, strlen(hdr));

	for (int i = 0; i < n; i++) {
		const struct ktap_case *c = &cases[i];
		unsigned timeout_s = c->timeout_s ? c->timeout_s : def_timeout;
		long long t0 = ktap_now_ms(), deadline, left_budget;
		struct ktap__msg m;
		int have = 0, eof = 0, pfd[2], pidfd, wstatus = 0, exited = 0, timed_out = 0;
		long long waiting = 0;
		size_t got = 0;
		pid_t pid;

		left_budget = (long long)budget_s * 1000 - (t0 - prog_start);
		if (left_budget <= 0) {
			ktap__print_result(i + 1, c->name, KTAP_ERROR,
					   "not run: program time budget exhausted", 0);
			errors++;
			continue;
		}
		deadline = t0 + (long long)timeout_s * 1000;
		if (deadline > t0 + left_budget)
			deadline = t0 + left_budget;

		memset(&m, 0, sizeof(m));
		if (pipe(pfd) < 0) {
			ktap__print_result(i + 1, c->name, KTAP_ERROR,
					   "runner: pipe() failed", 0);
			errors++;
			continue;
		}
		pid = fork();
		if (pid < 0) {
			char why[128];

			snprintf(why, sizeof(why), "runner: fork() failed: %s",
				 strerror(errno));
			close(pfd[0]);
			close(pfd[1]);
			ktap__print_result(i + 1, c->name, KTAP_ERROR, why, 0);
			errors++;
			continue;
		}
		if (pid == 0) {
			setpgid(0, 0);
			close(pfd[0]);
			prctl(PR_SET_CHILD_SUBREAPER, 0);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			ktap__result_fd = pfd[1];
			ktap__case_pid = getpid();
			ktap__reported = 0;
			c->fn(c);
			if (!ktap__reported)
				ktap_error("internal: case returned without a result");
			_exit(0);
		}
		setpgid(pid, pid);
		close(pfd[1]);

		/*
		 * Wait for the result, the case's exit (its pidfd turns readable; a kernel
		 * without pidfd_open() is polled every 5 ms) or the deadline, whichever comes
		 * first.  Once the case has reported, the time until it exits is an idle wait.
		 */
		pidfd = (int)syscall(__NR_pidfd_open, pid, 0);
		for (;;) {
			long long now = ktap_now_ms();
			struct pollfd p[2] = {
				{ .fd = have || eof ? -1 : pfd[0], .events = POLLIN },
				{ .fd = pidfd, .events = POLLIN },
			};
			int to, r;

			if (!exited && waitpid(pid, &wstatus, WNOHANG) == pid)
				exited = 1;
			if (exited && (have || eof))
				break;
			if (exited) {
				/* drain whatever is left, then give up */
				r = poll(p, 1, 0);
				if (r <= 0)
					break;
			} else if (now >= deadline) {
				timed_out = 1;
				break;
			} else {
				to = (int)(deadline - now);
				if (pidfd < 0 && to > 5)
					to = 5;
				if (have && !waiting)
					waiting = ktap_wait_begin();
				r = poll(p, 2, to);
				if (r <= 0 || !(p[0].revents & (POLLIN | POLLHUP)))
					continue;
			}
			ssize_t rd = read(pfd[0], (char *)&m + got, sizeof(m) - got);

			if (rd > 0) {
				got += (size_t)rd;
				have = got == sizeof(m);
			} else if (rd == 0) {
				eof = 1;	/* every writer is gone: only the exit is left to see */
			}
		}
		if (waiting)
			ktap_wait_end(waiting);
		if (pidfd >= 0)
			close(pidfd);
		/* kill anything left in the case's process group, reap it */
		kill(-pid, SIGKILL);
		if (!exited) {
			kill(pid, SIGKILL);
			waitpid(pid, &wstatus, 0);
		}
		close(pfd[0]);
		ktap__reap_all();

		long long ms = ktap_now_ms() - t0;

		if (!have) {
			char why[KTAP_REASON_MAX];

			if (timed_out)
				snprintf(why, sizeof(why),
					 "case timed out after %lld ms (killed)", ms);
			else if (WIFSIGNALED(wstatus))
				snprintf(why, sizeof(why),
					 "case process killed by signal %d (%s) before reporting",
					 WTERMSIG(wstatus), strsignal(WTERMSIG(wstatus)));
			else
				snprintf(why, sizeof(why),
					 "case process exited with code %d without a result",
					 WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1);
			m.status = KTAP_ERROR;
			snprintf(m.reason, sizeof(m.reason), "%s", why);
		} else if (timed_out) {
			ktap_diag("case reported but did not exit in time (killed)");
		}
		m.reason[sizeof(m.reason) - 1] = 0;
		if (m.status < KTAP_PASS || m.status > KTAP_ERROR) {
			m.status = KTAP_ERROR;
			snprintf(m.reason, sizeof(m.reason), "internal: bad status");
		}
		if (m.status == KTAP_FAIL)
			fails++;
		if (m.status == KTAP_ERROR)
			errors++;
		ktap__print_result(i + 1, c->name, m.status, m.reason, ms);
	}
	ktap_diag("cowlab-waits: %lld ms in %lld waits",
		  (__atomic_load_n(&ktap__waits->us, __ATOMIC_RELAXED) + 500) / 1000,
		  __atomic_load_n(&ktap__waits->n, __ATOMIC_RELAXED));
	return fails ? 1 : (errors ? 2 : 0);
}

#endif /* COWLAB_KTAP_H */
