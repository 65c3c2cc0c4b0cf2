// Golden expectations for the captured consoles of test/fixtures/consoles/ (how each was
// captured: its README.md): the kernel reports the console reader finds, with their
// normalized titles, and the verdicts the classifier gives. The consoles are real; where a
// test needs a second console of the same crash it derives it from a real one in the open.
import { consoleStream } from "../orchestrator/guest/protocol.ts";
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { findKernelReports, isFatalLine, normalizeTitle, untangleConsole } from "../orchestrator/qemu/console.ts";
import { classifyGuest } from "../orchestrator/results/classify.ts";
import { loadManifest, type Testcase } from "../orchestrator/config/testcases.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

const read = (file: string): string => readFileSync(repoPath("test", "fixtures", "consoles", file), "utf8");
const reportsOf = (text: string): { title: string; line: number }[] => findKernelReports(untangleConsole(text.split("\n"))).map(({ title, line }) => ({ title, line }));
const fatalLines = (text: string): string[] => text.split("\n").filter(isFatalLine);

const VM_BUG = "page dumped because: VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page))";
const NO_ROOT = 'Kernel panic: VFS: Unable to mount root fs on "" or unknown-block(0,0)';

// Every corpus file, with the reports it holds (title, 0-based line) and its fatal lines.
const CORPUS: { file: string; reports: { title: string; line: number }[]; fatal: string[] }[] = [
  { file: "6.12-x86_64-printk-inside-a-result-line.log", reports: [], fatal: [] },
  { file: "5.10-x86_64-cow-failures.log", reports: [], fatal: [] },
  { file: "6.12-x86_64-debug-vm-vm-bug-on-page.log", reports: [{ title: VM_BUG, line: 283 }], fatal: ["[    2.400743] Oops: invalid opcode: 0000 [#1] SMP"] },
  { file: "6.12-arm64-debug-vm-internal-error.log", reports: [{ title: VM_BUG, line: 255 }], fatal: ["[    3.298942] Internal error: Oops - BUG: 00000000f2000800 [#1] SMP"] },
  {
    file: "6.12-x86_64-panic-no-root-fs.log",
    reports: [{ title: NO_ROOT, line: 135 }],
    fatal: ['[    1.432051] Kernel panic - not syncing: VFS: Unable to mount root fs on "" or unknown-block(0,0)'],
  },
  { file: "6.12-x86_64-sigkilled-mid-run.log", reports: [], fatal: [] },
  { file: "6.12-x86_64-hang-no-output.log", reports: [], fatal: [] },
  { file: "6.12-x86_64-nested-ktap.log", reports: [], fatal: [] },
];

let testcases: Testcase[] = [];
const only = (...ids: string[]): Testcase[] => testcases.filter((t) => ids.includes(t.id));
beforeAll(async () => {
  testcases = (await loadManifest()).testcases;
});

type Row = { testcase: string; case: string; status: string; reason: string };
const rows = (rs: Row[]): string[] => rs.map((r) => `${r.testcase}/${r.case}=${r.status}`);
const named = (rs: Row[], status: string): string[] => rs.filter((r) => r.status === status).map((r) => `${r.testcase}/${r.case}`);
const id = (kernel: string, arch: string, variant: string) => ({ job: `${kernel}/${variant}/${arch}`, kernel, arch, variant });

describe("console corpus: kernel reports", () => {
  it("the corpus is exactly the files listed here (a new capture needs its expectations)", async () => {
    const { readdirSync } = await import("node:fs");
    const files = readdirSync(repoPath("test", "fixtures", "consoles")).filter((f) => f.endsWith(".log"));
    expect(files.sort()).toEqual(CORPUS.map((c) => c.file).sort());
  });

  for (const c of CORPUS) {
    it(`${c.file}: ${c.reports.length ? c.reports.map((r) => r.title).join("; ") : "no kernel report"}`, () => {
      const text = read(c.file);
      expect(reportsOf(text)).toEqual(c.reports);
      expect(fatalLines(text)).toEqual(c.fatal);
    });
  }

  it("the oops lines inside the DEBUG_VM reports have stable titles of their own", () => {
    // The first header names the report; the x86 oops and the arm64 die() line that follow
    // belong to it. Read on their own they lose the error code, the ESR and the counter.
    expect(normalizeTitle(fatalLines(read("6.12-x86_64-debug-vm-vm-bug-on-page.log"))[0]!)).toBe("Oops: invalid opcode");
    expect(normalizeTitle(fatalLines(read("6.12-arm64-debug-vm-internal-error.log"))[0]!)).toBe("Internal error: Oops - BUG");
  });
});

describe("console corpus: verdicts", () => {
  it("6.12, the guest as one nested KTAP document: the programs are its subtests, 100 pass and the 4 hugetlb vmsplice cases fail", () => {
    const text = read("6.12-x86_64-nested-ktap.log");
    // the guest's own document: its version and plan, one result line per program
    const top = text.split("\n").filter((l) => /^(KTAP version|1\.\.|(not )?ok \d)/.test(l));
    expect(top).toEqual(["KTAP version 1", "1..5", "not ok 1 gup-after-fork", "ok 2 gup-before-fork", "ok 3 swap", "ok 4 migration", "ok 5 explore"]);
    expect(text).toContain("\n    KTAP version 1\n    1..49\n");
    const c = classifyGuest(id("6.12", "x86_64", "base"), testcases, { ...consoleStream(text), ending: "exited", exitCode: 0 });
    expect(c.guestStatus).toBe("ok");
    expect(c.release).toBe("6.12.117");
    expect(c.setup).toMatchObject({ gup_test: "yes", numa_nodes: "2", hugepages: "16" });
    const rs = c.results as Row[];
    expect(named(rs, "fail")).toEqual(["gup-after-fork/vmsplice-child-hugetlb", "gup-after-fork/vmsplice-child-mprotect-hugetlb", "gup-after-fork/vmsplice-parent-before-fork-hugetlb", "gup-after-fork/vmsplice-parent-after-fork-hugetlb"]);
    expect(named(rs, "pass")).toHaveLength(100);
    expect(c.blockLines("explore")!.lines[0]).toMatch(/^scenario /);
  });

  it("5.10: the kernel's old COW bugs fail 21 cases, nothing crashes, the R/O-pin cases skip", () => {
    const c = classifyGuest(id("5.10", "x86_64", "base"), testcases, { ...consoleStream(read("5.10-x86_64-cow-failures.log")), ending: "exited", exitCode: 0 });
    expect(c.guestStatus).toBe("ok");
    expect(c.release).toBe("5.10.262");
    expect(c.reports).toEqual([]);
    const rs = c.results as Row[];
    expect(named(rs, "fail")).toEqual([
      "gup-after-fork/vmsplice-child-thp",
      "gup-after-fork/vmsplice-child-swap",
      "gup-after-fork/vmsplice-child-thp-swap",
      "gup-after-fork/vmsplice-child-hugetlb",
      "gup-after-fork/vmsplice-child-mprotect-thp",
      "gup-after-fork/vmsplice-child-mprotect-swap",
      "gup-after-fork/vmsplice-child-mprotect-thp-swap",
      "gup-after-fork/vmsplice-child-mprotect-hugetlb",
      "gup-after-fork/vmsplice-parent-before-fork-thp",
      "gup-after-fork/vmsplice-parent-before-fork-hugetlb",
      "gup-after-fork/vmsplice-parent-after-fork-thp",
      "gup-after-fork/vmsplice-parent-after-fork-swap",
      "gup-after-fork/vmsplice-parent-after-fork-thp-swap",
      "gup-after-fork/vmsplice-parent-after-fork-hugetlb",
      "gup-before-fork/iouring-fork-parent-write-hugetlb",
      "gup-before-fork/iouring-fork-read-fixed-hugetlb",
      "swap/rw-pin-ro-remap-base",
      "swap/rw-pin-ro-remap-pte-mapped-thp",
      "swap/rw-pin-ro-remap-single-pte-thp",
      "swap/rw-pin-ro-remap-swap",
      "swap/rw-pin-ro-remap-thp-swap",
    ]);
    // 5.10 base pages decide COW by page_count (5.9), so the child vmsplice leak is THP/swap/hugetlb only.
    expect(rs.find((r) => r.case === "vmsplice-child-base")?.status).toBe("pass");
    expect(rs.find((r) => r.case === "vmsplice-child-thp")?.reason).toBe("child read parent's post-fork write through its vmsplice() pipe: byte[0]=0xff expected 0x03 (2097152 of 2097152 bytes differ)");
    const skips = rs.filter((r) => r.status === "skip");
    expect(skips).toHaveLength(26);
    expect(new Set(skips.map((r) => r.reason))).toEqual(new Set(["no /sys/kernel/debug/gup_test (only gup_benchmark: Linux <5.11, no PIN_LONGTERM_TEST)"]));
    expect(rs.filter((r) => r.status === "pass")).toHaveLength(57);
    expect(rs.filter((r) => !["pass", "fail", "skip"].includes(r.status))).toEqual([]);
  });

  for (const [file, arch] of [
    ["6.12-x86_64-debug-vm-vm-bug-on-page.log", "x86_64"],
    ["6.12-arm64-debug-vm-internal-error.log", "arm64"],
  ] as const) {
    it(`DEBUG_VM ${arch}: the case that took the R/O pin is a crash with the normalized title, the cases before it keep their verdicts`, () => {
      const c = classifyGuest(id("6.12", arch, "cow-breakers"), only("gup-after-fork"), { ...consoleStream(read(file)), ending: "stopped-after-oops", exitCode: undefined });
      expect(c.guestStatus).toBe("crash");
      expect(c.guestReason).toBe(VM_BUG);
      expect(c.reports.map((r) => r.title)).toEqual([VM_BUG]);
      const rs = c.results as Row[];
      // ro-pin-shared-base printed its set-up line and never its result: the crash is the rest of the program.
      expect(rs.at(-1)).toMatchObject({ testcase: "gup-after-fork", case: "*", status: "crash" });
      expect(rs.at(-1)!.reason.split("\n")[0]).toBe(VM_BUG);
      expect(rs.at(-1)!.reason).toContain(arch === "arm64" ? "Internal error: Oops - BUG: 00000000f2000800 [#1] SMP" : "Oops: invalid opcode: 0000 [#1] SMP");
      expect(rs).toHaveLength(36);
      expect(rs.some((r) => r.case.startsWith("ro-pin-"))).toBe(false);
      expect(named(rs, "crash")).toEqual(["gup-after-fork/*"]);
      // 6.12's vmsplice-on-hugetlb known issue, reported by the program before the crash.
      expect(named(rs, "fail")).toEqual([
        "gup-after-fork/vmsplice-child-hugetlb",
        "gup-after-fork/vmsplice-child-mprotect-hugetlb",
        "gup-after-fork/vmsplice-parent-before-fork-hugetlb",
        "gup-after-fork/vmsplice-parent-after-fork-hugetlb",
      ]);
      expect(named(rs, "pass")).toHaveLength(31);
    });
  }

  it("a panic at boot: every testcase is a crash, not run, with the panic's title", () => {
    const c = classifyGuest(id("6.12", "x86_64", "base"), testcases, { ...consoleStream(read("6.12-x86_64-panic-no-root-fs.log")), ending: "exited", exitCode: 0 });
    expect(c.guestStatus).toBe("crash");
    expect(c.guestReason).toBe(NO_ROOT);
    expect(rows(c.results as Row[])).toEqual(["gup-after-fork/*=crash", "gup-before-fork/*=crash", "swap/*=crash", "migration/*=crash"]);
    for (const r of c.results) expect(r.reason.split("\n")[0]).toBe(`not run: kernel crashed before testcases: ${NO_ROOT}`);
  });

  it("a guest killed mid-run: the finished cases keep what they printed, the rest is error, nothing the kill cut short is fail", () => {
    const text = read("6.12-x86_64-sigkilled-mid-run.log");
    const c = classifyGuest(id("6.12", "x86_64", "base"), testcases, { ...consoleStream(text), ending: "exited", exitCode: undefined });
    expect(c.guestStatus).toBe("qemu-error");
    expect(c.reports).toEqual([]);
    const rs = c.results as Row[];
    expect(rs).toHaveLength(33 + 4);
    expect(rs.slice(0, 33).map((r) => r.testcase)).toEqual(Array(33).fill("gup-after-fork"));
    // Every fail is a result line the program printed before the kill ("not ok"), never one the kill made.
    const notOk = text.split("\n").filter((l) => l.startsWith("not ok ")).map((l) => `gup-after-fork/${l.split(" ")[3]}`);
    expect(named(rs, "fail")).toEqual(notOk);
    expect(notOk).toEqual(["gup-after-fork/vmsplice-child-hugetlb", "gup-after-fork/vmsplice-child-mprotect-hugetlb", "gup-after-fork/vmsplice-parent-before-fork-hugetlb"]);
    expect(named(rs, "pass")).toHaveLength(30);
    expect(rows(rs.slice(33))).toEqual(["gup-after-fork/*=error", "gup-before-fork/*=error", "swap/*=error", "migration/*=error"]);
    expect(rs[33]!.reason).toBe("guest output ended in gup-after-fork after 33 of 49 results");
    for (const r of rs.slice(34)) expect(r.reason).toMatch(/^not run: QEMU ended \(exit \?\) before the guest finished/);
  });

  it("a guest that went silent (stopped by the silence watchdog): the case it was in is a timeout, the guest a hang, nothing a fail", () => {
    const text = read("6.12-x86_64-hang-no-output.log");
    const hang = { id: "hang", family: "swap" as const, source: "hang.c", timeout_s: 5, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] };
    const c = classifyGuest(id("6.12", "x86_64", "base"), [hang], { ...consoleStream(text), ending: "no-output", exitCode: undefined });
    expect(c.guestStatus).toBe("timeout");
    expect(c.guestReason.split("\n")[0]).toBe("guest hung: no output for too long (silence watchdog); output tail:");
    expect(rows(c.results as Row[])).toEqual(["hang/*=timeout"]);
    expect(c.results[0]!.reason).toBe("guest hung with no output in hang after 0 of 1 results");
  });
});

/**
 * The same console as another run of the same crash would print it: other timestamps, other
 * CPU and PID, other addresses (every 16-digit hex value: pointers, registers, the arm64 ESR),
 * another oops counter.
 */
function anotherRun(text: string): string {
  return text
    .replace(/^\[\s*(\d+)\.(\d{6})\]/gm, (_m, s: string, us: string) => `[${String(Number(s) + 37).padStart(5)}.${us}]`)
    .replace(/\b(0x)?([0-9a-f]{10})([0-9a-f]{6})\b/g, (_m, x: string | undefined, hi: string, lo: string) => `${x ?? ""}${hi}${((parseInt(lo, 16) + 0x5a5a5) & 0xffffff).toString(16).padStart(6, "0")}`)
    .replace(/CPU: (\d) /g, (_m, n: string) => `CPU: ${1 - Number(n)} `)
    .replace(/PID: \d+/g, "PID: 4711")
    .replace(/gup-after-fork\[\d+\]/g, "gup-after-fork[4711]")
    .replace(/\[#1\]/g, "[#3]");
}

/** Without the dump_page lines, so that the oops line itself heads the report. */
const withoutPageDump = (text: string): string =>
  text
    .split("\n")
    .filter((l) => !/\] (?:page: refcount|anon flags|raw: |page dumped because)/.test(l))
    .join("\n");

/** As a kernel with CONFIG_KALLSYMS prints it: the RIP/pc line names the function, with an offset. */
const symbolized = (text: string, offset: string): string => text.replace(/^(\[[^\]]+\] (?:RIP: 0010:|pc : ))0x[0-9a-f]+$/m, `$1follow_page_pte${offset}`);

describe("one crash, one title", () => {
  for (const file of ["6.12-x86_64-debug-vm-vm-bug-on-page.log", "6.12-arm64-debug-vm-internal-error.log"]) {
    it(`${file}: another run's CPU, PID, addresses, ESR and counter change nothing`, () => {
      const first = read(file);
      const second = anotherRun(first);
      // The rewrite really did reach the report's lines.
      expect(fatalLines(second)).toHaveLength(1);
      expect(fatalLines(second)[0]).not.toBe(fatalLines(first)[0]);
      expect(second.split("\n").filter((l) => l.includes("CPU: ")).join("\n")).not.toBe(first.split("\n").filter((l) => l.includes("CPU: ")).join("\n"));
      expect(reportsOf(second)).toEqual(reportsOf(first));

      const oopsFirst = reportsOf(withoutPageDump(first));
      const oopsSecond = reportsOf(withoutPageDump(second));
      expect(oopsFirst.map((r) => r.title)).toEqual([file.includes("arm64") ? "Internal error: Oops - BUG" : "Oops: invalid opcode"]);
      expect(oopsSecond).toEqual(oopsFirst);

      const named1 = reportsOf(symbolized(first, "+0x1a3/0x5c0"));
      const named2 = reportsOf(symbolized(second, "+0x1b7/0x5d0"));
      expect(named1.map((r) => r.title)).toEqual([`${VM_BUG} in follow_page_pte`]);
      expect(named2).toEqual(named1);
      expect(reportsOf(symbolized(withoutPageDump(second), "+0x1b7/0x5d0")).map((r) => r.title)).toEqual([
        `${file.includes("arm64") ? "Internal error: Oops - BUG" : "Oops: invalid opcode"} in follow_page_pte`,
      ]);
    });
  }

  it("different crashes keep different titles", () => {
    const titles = CORPUS.flatMap((c) => reportsOf(read(c.file)).map((r) => r.title));
    expect(new Set(titles)).toEqual(new Set([VM_BUG, NO_ROOT]));
    expect(normalizeTitle("[ 1.0] kernel BUG at mm/gup.c:63!")).not.toBe(normalizeTitle("[ 1.0] kernel BUG at mm/gup.c:64!"));
    expect(normalizeTitle("WARNING: CPU: 0 PID: 1 at mm/gup.c:63 a+0x1/0x2")).not.toBe(normalizeTitle("WARNING: CPU: 0 PID: 1 at mm/gup.c:63 b+0x1/0x2"));
  });
});

describe("normalizeTitle: report headers as 5.10, 6.12 and 7.3 print them", () => {
  const cases: [string, string][] = [
    // printk formats from the kernels' sources (kernel/panic.c, arch/x86/kernel/dumpstack.c,
    // arch/x86/mm/fault.c, arch/arm64/kernel/traps.c, arch/arm64/mm/fault.c, lib/bug.c,
    // kernel/watchdog.c, kernel/hung_task.c), numbers as two different runs would print them.
    ["WARNING: CPU: 1 PID: 139 at mm/gup.c:2650 follow_page_pte+0x1a3/0x5c0", "WARNING at mm/gup.c:2650 in follow_page_pte"],
    ["WARNING: CPU: 0 PID: 7 at mm/gup.c:2650 follow_page_pte.isra.0+0x1b7/0x5d0", "WARNING at mm/gup.c:2650 in follow_page_pte"],
    ["WARNING: mm/gup.c:2650 at follow_page_pte+0x1a3/0x5c0, CPU#1: gup-after-fork/139", "WARNING at mm/gup.c:2650 in follow_page_pte"],
    ["WARNING: at follow_page_pte+0x1a3/0x5c0, CPU#0: swapper/0/1", "WARNING in follow_page_pte"],
    ["WARNING: CPU: 1 PID: 139 at mm/gup.c:2650 0xffffffff810bd193", "WARNING at mm/gup.c:2650"],
    ["BUG: unable to handle page fault for address: ffffc90000a1f000", "BUG: unable to handle page fault"],
    ["BUG: kernel NULL pointer dereference, address: 0000000000000008", "BUG: kernel NULL pointer dereference"],
    ["watchdog: BUG: soft lockup - CPU#1 stuck for 22s! [gup-after-fork:139]", "BUG: soft lockup"],
    ["BUG: soft lockup - CPU#0 stuck for 48s! [kworker/0:1:12]", "BUG: soft lockup"],
    ["BUG: scheduling while atomic: gup-after-fork/139/0x00000002", "BUG: scheduling while atomic"],
    ["BUG: Bad page state in process gup-after-fork  pfn:3f54f", "BUG: Bad page state"],
    ["BUG: Bad rss-counter state mm:00000000d4a5b2c1 type:MM_ANONPAGES val:1", "BUG: Bad rss-counter state"],
    ["BUG: KASAN: use-after-free in do_wp_page+0x1a/0x30", "BUG: KASAN: use-after-free in do_wp_page"],
    ["BUG: sleeping function called from invalid context at mm/gup.c:1234", "BUG: sleeping function called from invalid context at mm/gup.c:1234"],
    ["Oops: invalid opcode: 0000 [#1] SMP", "Oops: invalid opcode"],
    ["invalid opcode: 0000 [#2] SMP PTI", "Oops: invalid opcode"],
    ["Oops: 0002 [#1] PREEMPT SMP", "Oops"],
    ["Oops: general protection fault, probably for non-canonical address 0xdffffc0000000001: 0000 [#1] SMP", "general protection fault"],
    ["general protection fault: 0000 [#1] SMP", "general protection fault"],
    ["Internal error: Oops - BUG: 00000000f2000800 [#1] SMP", "Internal error: Oops - BUG"],
    ["Internal error: Oops: 0000000096000005 [#2] PREEMPT SMP", "Internal error: Oops"],
    ["Unable to handle kernel paging request at virtual address ffff00082200ccf8", "Unable to handle kernel paging request"],
    ["Unable to handle kernel NULL pointer dereference at virtual address 0000000000000000", "Unable to handle kernel NULL pointer dereference"],
    ["kernel BUG at mm/gup.c:63!", "kernel BUG at mm/gup.c:63!"],
    ["Kernel BUG at 0xffffffff810bd193 [verbose debug info unavailable]", "Kernel BUG"],
    ["Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b", "Kernel panic: Attempted to kill init! exitcode=0x0000000b"],
    ["Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: do_wp_page+0x1a/0x30", "Kernel panic: stack-protector: Kernel stack is corrupted in: do_wp_page"],
    ["Kernel panic - not syncing: Fatal exception", "Kernel panic: Fatal exception"],
    ["Kernel panic - not syncing: stack-protector: Kernel stack is corrupted in: ffffffff810bd193", "Kernel panic: stack-protector: Kernel stack is corrupted in"],
    ["INFO: task gup-after-fork:139 blocked for more than 120 seconds.", "INFO: task blocked for more than 120 seconds"],
    ["rcu: INFO: rcu_sched self-detected stall on CPU", "rcu: INFO: rcu_sched self-detected stall on CPU"],
    ["UBSAN: array-index-out-of-bounds in mm/gup.c:123:4", "UBSAN: array-index-out-of-bounds in mm/gup.c:123:4"],
    ["WARNING: possible circular locking dependency detected", "WARNING: possible circular locking dependency detected"],
  ];
  for (const [line, title] of cases) {
    it(`${line} → ${title}`, () => {
      expect(normalizeTitle(`[   12.345678] ${line}`)).toBe(title);
      expect(normalizeTitle(line)).toBe(title);
    });
  }

  it("a line that is no known header is only scrubbed of what varies", () => {
    expect(normalizeTitle("[ 3.0] odd report CPU: 1 PID: 139 [#2] [gup-after-fork:139] at 0xffffffff810bd193 in do_wp_page+0x1a/0x30 stuck for 22s")).toBe("odd report at in do_wp_page");
  });

  it("the function comes from RIP/pc, else from the first Call Trace frame that is not the reporting itself", () => {
    const trace = (rip: string): string[] => [
      "[    5.000000] BUG: unable to handle page fault for address: 0000000000001000",
      "[    5.000001] Oops: 0002 [#1] SMP",
      `[    5.000002] ${rip}`,
      "[    5.000003] Call Trace:",
      "[    5.000004]  <TASK>",
      "[    5.000005]  ? page_fault_oops+0x10/0x20",
      "[    5.000006]  dump_stack_lvl+0x10/0x20",
      "[    5.000007]  do_wp_page+0x1a/0x30",
      "[    5.000008]  handle_mm_fault+0x1a/0x30",
    ];
    expect(findKernelReports(trace("RIP: 0010:wp_page_copy+0x3c/0x400"))).toEqual([{ title: "BUG: unable to handle page fault in wp_page_copy", line: 0 }]);
    expect(findKernelReports(trace("RIP: 0010:0xffffffff810bd193"))).toEqual([{ title: "BUG: unable to handle page fault in do_wp_page", line: 0 }]);
    // A panic names its message, not a function.
    expect(findKernelReports(["[ 1.0] Kernel panic - not syncing: Fatal exception", "[ 1.1] Call Trace:", "[ 1.2]  do_exit+0x1/0x2"])).toEqual([{ title: "Kernel panic: Fatal exception", line: 0 }]);
  });

  it("only kernel lines are reports, and a plain pr_warn WARNING is none", () => {
    expect(findKernelReports(["BUG: unable to handle page fault for address: 0000000000001000", "Oops: 0002 [#1] SMP"])).toEqual([]);
    expect(findKernelReports(["[    0.4] WARNING: workqueue cpumask: online intersect > possible intersect"])).toEqual([]);
    expect(isFatalLine("[    2.0] invalid opcode: 0000 [#1] SMP")).toBe(true);
    expect(isFatalLine("[    2.0] BUG: unable to handle page fault for address: 0000000000001000")).toBe(true);
    expect(isFatalLine("[    2.0] BUG: kernel NULL pointer dereference, address: 0000000000000008")).toBe(true);
    expect(isFatalLine("[    2.0] Kernel BUG at 0xffffffff810bd193 [verbose debug info unavailable]")).toBe(true);
    expect(isFatalLine("[    2.0] BUG: soft lockup - CPU#1 stuck for 22s! [gup:139]")).toBe(false);
    expect(isFatalLine("[    2.0] traps: gup[139] trap invalid opcode ip:401000 sp:7ffc0 error:0 in gup[401000+1000]")).toBe(false);
  });
});
