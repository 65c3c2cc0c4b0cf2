// SPDX-License-Identifier: GPL-2.0-only
// Evidence for the explorer's finding (testcases/explore/FINDINGS.md): a R/O long-term pin (gup_test PIN_LONGTERM_TEST) of a
// PMD-mapped shmem THP in a MAP_PRIVATE mapping never returns. Measures, while the pinning
// child is stuck, how fast /proc/vmstat thp_split_pmd grows and how much system time the
// child burns, and how many faults it takes per second: a fault loop, not a sleep.
// Build: gcc -static -O2 shmem-thp-ro-pin-livelock.c; run as root in a guest with gup_test
// (6.2+) and debugfs mounted. Without CONFIG_VM_EVENT_COUNTERS (tinyconfig) the vmstat
// deltas print as +0; minflt and stime still tell.
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
#include <unistd.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <sys/syscall.h>
struct plt { uint64_t addr, size; uint32_t flags; };
#define START _IOW('g', 7, struct plt)
static long vm(const char *key) {
	FILE *f = fopen("/proc/vmstat", "r"); char k[128]; long v, r = -1;
	while (f && fscanf(f, "%127s %ld", k, &v) == 2) if (!strcmp(k, key)) r = v;
	if (f)
		fclose(f);
	return r;
}
static long stime(pid_t p) {
	char path[64], buf[1024]; snprintf(path, sizeof path, "/proc/%d/stat", p);
	FILE *f = fopen(path, "r"); if (!f) return -1; size_t n = fread(buf, 1, sizeof buf - 1, f); fclose(f); buf[n] = 0;
	char *s = strrchr(buf, ')'); long ut, st; int i; char *t = strtok(s + 2, " ");
	for (i = 3; t && i < 14; i++)
		t = strtok(NULL, " ");
	ut = atol(t);
	t = strtok(NULL, " ");
	st = atol(t);
	(void)ut;
	return st;
}
static long minflt(pid_t p) {
	char path[64], buf[1024]; snprintf(path, sizeof path, "/proc/%d/stat", p);
	FILE *f = fopen(path, "r"); if (!f) return -1; size_t n = fread(buf, 1, sizeof buf - 1, f); fclose(f); buf[n] = 0;
	char *s = strrchr(buf, ')'); char *t = strtok(s + 2, " ");
	for (int i = 3; t && i < 10; i++) t = strtok(NULL, " ");
	return atol(t);
}
static long smaps_kb(pid_t p, const char *key) {
	char path[64], line[256]; long v = 0, tot = 0; snprintf(path, sizeof path, "/proc/%d/smaps", p);
	FILE *f = fopen(path, "r"); if (!f) return -1;
	while (fgets(line, sizeof line, f)) if (!strncmp(line, key, strlen(key)) && sscanf(line + strlen(key), " %ld", &v) == 1) tot += v;
	fclose(f); return tot;
}
static void run(const char *shmem, int fast) {
	int fd0 = open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_WRONLY); if (fd0 >= 0) { if (write(fd0, shmem, strlen(shmem)) < 0) perror("shmem_enabled"); close(fd0); }
	size_t sz = 2 << 20; int fd = syscall(SYS_memfd_create, "ll", 0);
	if (ftruncate(fd, sz)) { perror("ftruncate"); return; }
	char *w = mmap(NULL, sz, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0); memset(w, 0x17, sz); munmap(w, sz);
	char *raw = mmap(NULL, 2 * sz, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	char *mem = (char *)(((uintptr_t)raw + sz - 1) & ~(sz - 1));
	mem = mmap(mem, sz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_FIXED, fd, 0);
	volatile char c = mem[0]; (void)c;
	long ps0 = vm("thp_split_pmd"), fh0 = vm("thp_file_mapped");
	pid_t p = fork();
	if (!p) {
		int g = open("/sys/kernel/debug/gup_test", O_RDWR); struct plt a = { (uintptr_t)mem, sz, fast ? 2 : 0 };
		int r = ioctl(g, START, &a); printf("  child: PIN_LONGTERM_TEST_START returned %d\n", r); fflush(stdout); _exit(0);
	}
	sleep(2);
	long f0 = minflt(p); sleep(1); long f1 = minflt(p);
	printf("  child minflt grew by %ld in 1 s; FilePmdMapped %ld kB, parent FilePmdMapped %ld kB\n", f1 - f0, smaps_kb(p, "FilePmdMapped:"), smaps_kb(getpid(), "FilePmdMapped:"));
	int st; pid_t done = waitpid(p, &st, WNOHANG);
	printf("shmem_enabled=%s fast=%d: after 3 s the pin %s; thp_split_pmd +%ld, thp_file_mapped +%ld, child stime %ld ticks\n", shmem, fast,
	       done ? "returned" : "is STILL in the ioctl", vm("thp_split_pmd") - ps0, vm("thp_file_mapped") - fh0, done ? 0 : stime(p));
	fflush(stdout);
	if (!done) { kill(p, SIGKILL); waitpid(p, &st, 0); printf("  SIGKILL ended it (the loop is killable)\n"); }
	munmap(mem, sz); close(fd);
}
int main(void) { run("always", 0); run("always", 1); run("never", 0); return 0; }
