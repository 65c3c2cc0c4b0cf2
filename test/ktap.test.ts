import { consoleStream } from "../orchestrator/guest/protocol.ts";
import { foldAttempts } from "../orchestrator/results/attempts.ts";
import { applyPolicy } from "../orchestrator/results/policy.ts";
import { describe, expect, it } from "vitest";
import { readGuest } from "../orchestrator/results/ktap.ts";
import { untangleConsole } from "../orchestrator/qemu/console.ts";

const parseGuestOutput = (text: string) => readGuest(consoleStream(text).events);
import { classifyGuest } from "../orchestrator/results/classify.ts";
import type { Testcase } from "../orchestrator/config/testcases.ts";

const tc = (id: string, family: Testcase["family"] = "gup-after-fork"): Testcase => ({
  id,
  family,
  source: `${id}.c`,
  timeout_s: 30,
  checks: "",
  mechanism: "",
  requires: { config: [], guest: [] },
  references: [],
});
const id = { job: "6.12/base/x86_64", kernel: "6.12.117", arch: "x86_64", variant: "base" };

const GOOD = `[    0.000000] Linux version 6.12.117 (root@vm)
# cowlab-setup uname=6.12.117
# cowlab-setup numa_nodes=2
# cowlab-begin alpha
KTAP version 1
1..4
# duration_ms: 12
ok 1 base
# child observed parent's write: byte[0]=0xff expected 0x00
# duration_ms: 40
not ok 2 thp
# duration_ms: 0
ok 3 hugetlb # SKIP no free hugetlb pages
[    1.234567] zram: some kernel chatter
# duration_ms: 3
not ok 4 swap # ERROR MADV_PAGEOUT failed: Invalid argument
# cowlab-end alpha rc=1 ms=80
# cowlab-done
`;

describe("KTAP parsing", () => {
  it("reads plan, results, directives, durations and guest setup", () => {
    const out = parseGuestOutput(GOOD);
    expect(out.setup).toEqual({ uname: "6.12.117", numa_nodes: "2" });
    expect(out.done).toBe(true);
    const b = out.blocks[0]!;
    expect(b).toMatchObject({ id: "alpha", plan: 4, rc: 1, ms: 80, version: true });
    expect(b.results.map((r) => [r.number, r.name, r.ok, r.directive, r.durationMs])).toEqual([
      [1, "base", true, undefined, 12],
      [2, "thp", false, undefined, 40],
      [3, "hugetlb", true, "SKIP", 0],
      [4, "swap", false, "ERROR", 3],
    ]);
  });

  it("accepts indented (nested) KTAP lines", () => {
    const out = parseGuestOutput("# cowlab-begin a\n    KTAP version 1\n    1..1\n    ok 1 x\n# cowlab-end a rc=0 ms=1\n");
    expect(out.blocks[0]!.results[0]!.name).toBe("x");
  });
});

describe("classification", () => {
  it("maps KTAP to pass, fail (with the last diagnostic), skip and error", () => {
    const c = classifyGuest(id, [tc("alpha")], { ...consoleStream(GOOD), ending: "exited", exitCode: 0 });
    expect(c.guestStatus).toBe("ok");
    expect(c.release).toBe("6.12.117");
    expect(c.results.map((r) => [r.case, r.status, r.reason])).toEqual([
      ["base", "pass", ""],
      ["thp", "fail", "child observed parent's write: byte[0]=0xff expected 0x00"],
      ["hugetlb", "skip", "no free hugetlb pages"],
      ["swap", "error", "MADV_PAGEOUT failed: Invalid argument"],
    ]);
  });

  it("turns a kernel oops during a case into crash, and the unfinished rest too", () => {
    const console = `# cowlab-setup uname=5.10.0
# cowlab-begin alpha
KTAP version 1
1..3
ok 1 base
[    2.000000] BUG: unable to handle page fault for address: 0000000000001000
[    2.000001] Oops: 0000 [#1] SMP
[    2.000002] Call Trace:
`;
    const c = classifyGuest(id, [tc("alpha"), tc("beta")], { ...consoleStream(console), ending: "timeout", exitCode: undefined });
    expect(c.guestStatus).toBe("timeout");
    expect(c.results.map((r) => [r.testcase, r.case, r.status])).toEqual([
      ["alpha", "base", "pass"],
      ["alpha", "*", "crash"],
      ["beta", "*", "timeout"],
    ]);
    expect(c.results[1]!.reason).toMatch(/^BUG: unable to handle page fault/);
  });

  it("does not count a plain pr_warn starting with WARNING: as a kernel fault", () => {
    const console = "[ 0.4] WARNING: workqueue cpumask: online intersect > possible intersect\n# cowlab-begin alpha\n1..1\nok 1 base\n# cowlab-end alpha rc=0 ms=5\n# cowlab-done\n";
    expect(classifyGuest(id, [tc("alpha")], { ...consoleStream(console), ending: "exited", exitCode: 0 }).reports).toEqual([]);
  });

  it("does not mistake a reproducer printing BUG: for a kernel report", () => {
    const console = "# cowlab-begin alpha\nKTAP version 1\n1..1\n# BUG: this is the test talking\nnot ok 1 base\n# cowlab-end alpha rc=1 ms=5\n# cowlab-done\n";
    const c = classifyGuest(id, [tc("alpha")], { ...consoleStream(console), ending: "exited", exitCode: 0 });
    expect(c.results.map((r) => r.status)).toEqual(["fail"]);
    expect(c.guestStatus).toBe("ok");
  });

  it("marks a case during which the kernel WARNed as crash even if it printed ok", () => {
    const console = "# cowlab-begin alpha\n1..1\n[ 3.1] WARNING: CPU: 0 PID: 42 at mm/memory.c:123 do_wp_page+0x1/0x2\nok 1 base\n# cowlab-end alpha rc=0 ms=5\n# cowlab-done\n";
    const c = classifyGuest(id, [tc("alpha")], { ...consoleStream(console), ending: "exited", exitCode: 0 });
    expect(c.results[0]!.status).toBe("crash");
    expect(c.results[0]!.reason).toContain("WARNING: CPU: 0 PID: 42 at mm/memory.c:123");
    expect(c.guestStatus).toBe("crash");
  });

  it("records every kernel report as a fact; a known-harmless one is excused when results are read", () => {
    const console = "# cowlab-setup uname=6.1.192\n# cowlab-begin alpha\n1..1\n[ 0.5] WARNING: CPU: 1 PID: 9 at kernel/workqueue.c:10 wq_init+0x1/0x2\nok 1 base\n# cowlab-end alpha rc=0 ms=5\n# cowlab-done\n";
    const known = [{ title: "kernel/workqueue.c", kernels: "6.1", reason: "boot-time quirk" }];
    const read = (kernel: string) => {
      const c = classifyGuest({ ...id, kernel }, [tc("alpha")], { ...consoleStream(console.replace("6.1.192", kernel)), ending: "exited", exitCode: 0 });
      expect(c.guestStatus).toBe("crash");
      expect(c.results[0]).toMatchObject({ status: "crash", own: "pass" });
      const entry = { job: id.job, kernel_spec: "6.1", variant: "base", arch: id.arch, source: "", version: kernel, release: c.release ?? null, status: c.guestStatus, reason: c.guestReason, build: null, boot: { runtime: "qemu-initramfs" as const, accel: "tcg" as const, seconds: 1, guest_seconds: 1, ending: "exited" as const, exit_code: 0, console: "c", qemu_cmdline: "q", rerun: "r", setup: {}, testcases: [], reports: c.reports }, reruns: [], seconds: 1 };
      const run = { schema_version: 2 as const, run: { id: "r", started_at: "", finished_at: null, complete: true, seconds: 1, command: "", shard: null, repeat: 1, retry_failed: 0, host: { hostname: "h", cores: 2, memory_gib: 1, qemu: "q", node: "n" } }, kernels: [entry], results: foldAttempts([{ guest: 1, rows: c.results }]) };
      return applyPolicy(run, { knownIssues: [], knownReports: known });
    };
    const harmless = read("6.1.192");
    expect(harmless.kernels[0]!.status).toBe("ok");
    expect(harmless.kernels[0]!.known_reports.map((r) => r.reason)).toEqual(["boot-time quirk"]);
    expect(harmless.results[0]!.status).toBe("pass");
    const unknown = read("6.12.1");
    expect(unknown.kernels[0]!.status).toBe("crash");
    expect(unknown.results[0]!.status).toBe("crash");
  });

  it("tells a per-testcase timeout (killed) from a missing plan and from a short run", () => {
    const console = `# cowlab-begin a
KTAP version 1
1..2
ok 1 x
# cowlab-end a rc=137 ms=30000
# cowlab-begin b
# cowlab-end b rc=127 ms=1
# cowlab-begin c
1..3
ok 1 y
# cowlab-end c rc=2 ms=3
# cowlab-done
`;
    const c = classifyGuest(id, [tc("a"), tc("b"), tc("c")], { ...consoleStream(console), ending: "exited", exitCode: 0 });
    expect(c.results.map((r) => `${r.testcase}/${r.case}=${r.status}`)).toEqual(["a/x=pass", "a/*=timeout", "b/*=error", "c/y=pass", "c/*=error"]);
    expect(c.results[2]!.reason).toMatch(/no KTAP plan/);
  });

  it("reports QEMU ending early without a kernel report as a lab error, not a kernel failure", () => {
    const c = classifyGuest(id, [tc("a")], { ...consoleStream("some firmware noise\n"), ending: "exited", exitCode: 1 });
    expect(c.guestStatus).toBe("qemu-error");
    expect(c.results.map((r) => r.status)).toEqual(["error"]);
  });

  it("reports a panic while booting as crash for every testcase", () => {
    const console = "[ 0.5] Kernel panic - not syncing: VFS: Unable to mount root fs\n";
    const c = classifyGuest(id, [tc("a"), tc("b")], { ...consoleStream(console), ending: "exited", exitCode: 0 });
    expect(c.results.map((r) => r.status)).toEqual(["crash", "crash"]);
    expect(c.results[0]!.reason).toContain("Kernel panic: VFS: Unable to mount root fs");
  });
});

describe("fatal kernel lines", () => {
  it("stop the guest only for oopses and panics, never for user output or WARN splats", async () => {
    const { isFatalLine } = await import("../orchestrator/qemu/console.ts");
    expect(isFatalLine("[    2.026089] Oops: invalid opcode: 0000 [#1] SMP")).toBe(true);
    expect(isFatalLine("[    2.0] Kernel panic - not syncing: Fatal exception")).toBe(true);
    expect(isFatalLine("[    2.0] kernel BUG at mm/gup.c:63!")).toBe(true);
    expect(isFatalLine("Oops: printed by a reproducer")).toBe(false);
    expect(isFatalLine("[    2.0] WARNING: CPU: 0 PID: 1 at mm/memory.c:1 f+0x1/0x2")).toBe(false);
  });
});

describe("a printk inside a program's line", () => {
  it("gets its own line and the program's line is rejoined (captured 6.12 console)", async () => {
    const { readFile } = await import("node:fs/promises");
    const { repoPath } = await import("../orchestrator/util/paths.ts");
    const text = await readFile(repoPath("test", "fixtures", "consoles", "6.12-x86_64-printk-inside-a-result-line.log"), "utf8");
    expect(text).toContain("not ok 1 iouring[    1.182593] input: ImExPS/2 Generic Explorer Mouse");
    const out = parseGuestOutput(text);
    const b = out.blocks[0]!;
    expect(b.plan).toBe(21);
    expect(b.results).toHaveLength(21);
    expect(b.results[0]).toMatchObject({ ok: false, number: 1, name: "iouring-fork-parent-write-base" });
    const lines = untangleConsole(text.split("\n"));
    expect(lines).toContain("[    1.182593] input: ImExPS/2 Generic Explorer Mouse as /devices/platform/i8042/serio1/input/input2");
    expect(lines).toHaveLength(text.split("\n").length);
    const c = classifyGuest({ ...id, job: "6.12/step-03/x86_64" }, [tc("gup-before-fork", "gup-before-fork")], { ...consoleStream(text), ending: "exited", exitCode: 0 });
    expect(c.results.find((r) => r.case === "iouring-fork-parent-write-base")?.status).toBe("fail");
    expect(c.reports).toEqual([]);
  });

  it("two records inside one line, and a line a program only began", () => {
    const lines = untangleConsole("# cowlab-begin a\n1..1\nnot ok 1 x[    2.000001] one\n[    2.000002] two\n-y\n# cowlab-end a rc=1 ms=3\n".split("\n"));
    expect(lines.slice(2, 5)).toEqual(["[    2.000001] one", "[    2.000002] two", "not ok 1 x-y"]);
  });
});
