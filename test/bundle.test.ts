// cowlab bundle, short of booting: which results are bundled, where the inputs are found (a
// fake run folder and cache around real results), the guest's selection laid over its
// initramfs, rerun.sh's verdict reader on consoles in the guest protocol's format, and a whole
// bundle written twice to the same bytes. test/integration/bundle.test.ts boots one.
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, isRegression, policyOf, type JudgedRun } from "../orchestrator/results/policy.ts";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { guestEnv, DEFAULT_SETUP } from "../orchestrator/guest/initramfs.ts";
import { qemuArgv, shellQuote } from "../orchestrator/qemu/command.ts";
import { caseId } from "../orchestrator/results/attempts.ts";
import { sha256 } from "../orchestrator/util/hash.ts";
import { InputError } from "../orchestrator/util/result.ts";
import { bundleFile } from "../orchestrator/bundle/paths.ts";
import { isFailing, selectResults } from "../orchestrator/bundle/select.ts";
import { readNewc, writeNewc } from "../orchestrator/bundle/cpio.ts";
import { narrowEnv, selectionOverlay } from "../orchestrator/bundle/selection.ts";
import { bundleArgv, KERNEL_ARG, INITRD_ARG, shellWords } from "../orchestrator/bundle/qemu-argv.ts";
import { rerunScript, VERDICT_AWK } from "../orchestrator/bundle/rerun.ts";
import { bundleMetadata, seriesName } from "../orchestrator/bundle/metadata.ts";
import { locateInputs, replayedAttempt } from "../orchestrator/bundle/inputs.ts";
import { exploreSource, minimizedFor, testcaseSources } from "../orchestrator/bundle/sources.ts";
import { writeBundle, writeBundles } from "../orchestrator/bundle/write.ts";

const FIXTURE = "test/fixtures/results/bundle-5.10-x86_64-swap.json";
const EXPLORE_FIXTURE = "test/fixtures/results/bundle-explore-5.10-x86_64.json";
const ID = "5.10/base/x86_64 swap/rw-pin-ro-remap-base";

let judged: JudgedRun;
beforeAll(async () => {
  judged = applyPolicy(await readResults(FIXTURE), policyOf(await loadManifest()));
});

describe("which results are bundled", () => {
  it("by default every failure, the known issues' expected failures too; no pass or skip", () => {
    const chosen = selectResults(judged.results, [], FIXTURE);
    expect(chosen.map((r) => r.case)).toEqual(["rw-pin-ro-remap-base", "rw-pin-ro-remap-pte-mapped-thp", "rw-pin-ro-remap-single-pte-thp", "rw-pin-ro-remap-swap", "rw-pin-ro-remap-thp-swap"]);
    expect(chosen.every((r) => r.expected)).toBe(true);
    expect(chosen.some(isRegression)).toBe(false); // what `cowlab run` would bundle: nothing here
    for (const s of ["fail", "crash", "timeout", "flaky"] as const) expect(isFailing({ status: s })).toBe(true);
    for (const s of ["pass", "skip", "error"] as const) expect(isFailing({ status: s })).toBe(false);
  });

  it("CASE: the id as the CLI prints it, TESTCASE/CASE, or a glob over either; a pass can be named", () => {
    expect(selectResults(judged.results, [ID], FIXTURE).map(caseId)).toEqual([ID]);
    expect(selectResults(judged.results, ["swap/rw-pin-ro-remap-base"], FIXTURE).map(caseId)).toEqual([ID]);
    expect(selectResults(judged.results, ["*rw-pin-ro-remap-*swap"], FIXTURE).map((r) => r.case)).toEqual(["rw-pin-ro-remap-swap", "rw-pin-ro-remap-thp-swap"]);
    expect(selectResults(judged.results, ["swap/rw-pin-pageout-base"], FIXTURE).map((r) => r.status)).toEqual(["pass"]);
  });

  it("a CASE that matches nothing is an error naming the results file and what ids look like", () => {
    expect(() => selectResults(judged.results, ["swap/nope"], FIXTURE)).toThrow(InputError);
    expect(() => selectResults(judged.results, ["swap/nope"], FIXTURE)).toThrow(`${FIXTURE}: 'swap/nope' matches no case (ids look like '${ID}')`);
  });

  it("the bundle's name is the report's link (bundleFile)", () => {
    expect(bundleFile(judged.results.find((r) => caseId(r) === ID)!)).toBe("bundles/5.10-base-x86_64--swap--rw-pin-ro-remap-base.tar.gz");
  });

  it("replays the attempt that had the verdict (a flaky case: its first failing one)", () => {
    const a = (status: "pass" | "fail" | "skip", guest: number) => ({ status, guest, duration_ms: 1, reason: "" });
    expect(replayedAttempt({ status: "flaky", attempts: [a("pass", 1), a("skip", 2), a("fail", 3)] }).guest).toBe(3);
    expect(replayedAttempt({ status: "fail", attempts: [a("fail", 1), a("fail", 2)] }).guest).toBe(1);
  });
});

describe("the guest's selection", () => {
  const t = async (id: string) => (await loadManifest()).testcases.find((x) => x.id === id)!;

  it("narrows the runner's env to one program and one case, set-up lines as the job had them", async () => {
    const env = guestEnv([await t("gup-after-fork"), await t("swap")], DEFAULT_SETUP, { "gup-after-fork": ["fork-cow-base"], swap: ["rw-pin-pageout-base", "rw-pin-ro-remap-base"] }, { interp: "x", scenarios: [], budgetS: 60 });
    expect(narrowEnv(env, { program: "swap", case: "rw-pin-ro-remap-base", timeoutS: 1 }).split("\n")).toEqual([
      "COWLAB_THP=always",
      "COWLAB_ZRAM_SIZE=256M",
      "COWLAB_HUGEPAGES=16",
      "COWLAB_QUIET_CONSOLE=1",
      'COWLAB_TESTCASES="swap"',
      "COWLAB_TIMEOUT_swap=120",
      'COWLAB_FILTER_swap="rw-pin-ro-remap-base"',
      "",
    ]);
    // a program-level result keeps the job's filter; a program the job did not have gets the given bound
    expect(narrowEnv(env, { program: "gup-after-fork", case: "*", timeoutS: 1 })).toContain('COWLAB_TESTCASES="gup-after-fork"\nCOWLAB_TIMEOUT_gup_after_fork=120\nCOWLAB_FILTER_gup_after_fork="fork-cow-base"\n');
    expect(narrowEnv(env, { program: "repro", case: "*", timeoutS: 90 })).toMatch(/COWLAB_TESTCASES="repro"\nCOWLAB_TIMEOUT_repro=90\n$/);
  });

  it("newc archives: what it writes, GNU cpio lists and it reads back; the overlay replaces the env and disables the explorer", async () => {
    const env = guestEnv([await t("swap")], DEFAULT_SETUP, { swap: ["rw-pin-ro-remap-base", "rw-pin-pageout-base"] });
    const job = writeNewc([
      { name: "init", mode: 0o755, data: Buffer.from("#!/bin/busybox sh\n") },
      { name: "etc/cowlab.env", mode: 0o644, data: Buffer.from(env) },
      { name: "testcases/swap", mode: 0o755, data: Buffer.alloc(5000, 1) },
      { name: "explore/interp", mode: 0o755, data: Buffer.alloc(3, 2) },
    ]);
    expect(job.length % 512).toBe(0);
    expect(readNewc(job).map((f) => [f.name, f.mode.toString(8), f.data.length])).toEqual([
      ["etc/cowlab.env", "644", env.length],
      ["explore/interp", "755", 3],
      ["init", "755", 18],
      ["testcases/swap", "755", 5000],
    ]);
    const dir = await mkdtemp(join(tmpdir(), "cowlab-bundle-cpio-"));
    try {
      await writeFile(join(dir, "job.cpio"), job);
      const listed = await execa("sh", ["-c", "cpio -itv --quiet < job.cpio"], { cwd: dir });
      expect(listed.stdout).toMatch(/-rwxr-xr-x +1 root +root +5000 .* testcases\/swap/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const overlay = readNewc(selectionOverlay(job, { program: "swap", case: "rw-pin-ro-remap-base", timeoutS: 1 }));
    expect(overlay.map((f) => [f.name, f.mode.toString(8)])).toEqual([
      ["etc/cowlab.env", "644"],
      ["explore/interp", "644"], // empty and not executable: the runner skips the explorer
    ]);
    expect(overlay[0]!.data.toString()).toContain('COWLAB_FILTER_swap="rw-pin-ro-remap-base"\n');
    expect(() => selectionOverlay(writeNewc([{ name: "init", mode: 0o755, data: Buffer.alloc(1) }]), { program: "swap", case: "*", timeoutS: 1 })).toThrow("no etc/cowlab.env in it");
  });
});

describe("the bundle's QEMU command", () => {
  it("reads the recorded command line back to the argv the run built, kernel and initramfs swapped for the bundle's", async () => {
    const machine = await loadMachine("x86_64");
    const recorded = qemuArgv(machine, { kernel: "bzImage", initrd: "initramfs.cpio" }, "tcg", ["oops=panic", "it's"]);
    expect(shellWords(shellQuote(recorded))).toEqual(recorded);
    const entry = judged.kernels[0]!;
    expect(shellQuote(shellWords(entry.boot!.qemu_cmdline))).toBe(entry.boot!.qemu_cmdline);
    const b = bundleArgv(shellWords(entry.boot!.qemu_cmdline), machine);
    expect(b.accel).toBe("tcg");
    expect(b.kvm).toBeUndefined();
    expect(b.tcg.slice(b.tcg.indexOf("-kernel"), b.tcg.indexOf("-kernel") + 4)).toEqual(["-kernel", KERNEL_ARG, "-initrd", INITRD_ARG]);
  });

  it("a run under KVM keeps its argv and gets the machine's TCG argv with the same kernel command line", async () => {
    const machine = await loadMachine("x86_64");
    const kvm = qemuArgv(machine, { kernel: "../bzImage", initrd: "initramfs.cpio" }, "kvm", ["oops=panic"]);
    const b = bundleArgv(kvm, machine);
    expect(b.kvm).toContain("host");
    expect(b.tcg).toEqual(qemuArgv(machine, { kernel: KERNEL_ARG, initrd: INITRD_ARG }, "tcg", ["oops=panic"]));
  });
});

describe("rerun.sh's verdict reader", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cowlab-bundle-awk-"));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  const head = ["[    0.000000] Linux version 5.10.262", "KTAP version 1", "1..1", "# cowlab-setup uname=5.10.262", "# cowlab-begin swap at=3.06", "    KTAP version 1", "    1..2"];
  const verdict = async (lines: string[], c: string, extra: Record<string, string> = {}): Promise<{ code: number; line: string }> => {
    const file = join(dir, `console-${Math.random().toString(36).slice(2)}.log`);
    await writeFile(file, lines.map((l) => `${l}\r`).join("\n") + "\n"); // a serial console ends lines in CR LF
    const v = { t: "swap", c, who: `swap/${c}`, skiprc: "", qemu: "0", ...extra };
    const r = await execa("awk", [...Object.entries(v).flatMap(([k, x]) => ["-v", `${k}=${x}`]), VERDICT_AWK, file], { reject: false });
    return { code: r.exitCode ?? -1, line: r.stdout };
  };

  it("fail: the case's not ok line, with its last diagnostic", async () => {
    const v = await verdict([...head, "    ok 1 rw-pin-pageout-base", "    # R/W pin misses the write: byte[0]=0x09 expected 0xff", "    # duration_ms: 280", "    not ok 2 rw-pin-ro-remap-base", "# cowlab-end swap rc=1 ms=430 at=3.56", "not ok 1 swap", "# cowlab-done"], "rw-pin-ro-remap-base");
    expect(v).toEqual({ code: 1, line: "rerun: swap/rw-pin-ro-remap-base: fail: R/W pin misses the write: byte[0]=0x09 expected 0xff" });
  });

  it("pass, and a SKIP is not a verdict (exit 2); kselftest's '# ' nesting is read too", async () => {
    const lines = [...head, "    ok 1 rw-pin-pageout-base", "    # ok 2 rw-pin-ro-remap-base # SKIP no /sys/kernel/debug/gup_test", "# cowlab-end swap rc=0 ms=1 at=3.56"];
    expect(await verdict(lines, "rw-pin-pageout-base")).toEqual({ code: 0, line: "rerun: swap/rw-pin-pageout-base: pass" });
    expect(await verdict(lines, "rw-pin-ro-remap-base")).toEqual({ code: 2, line: "rerun: swap/rw-pin-ro-remap-base: skipped: SKIP no /sys/kernel/debug/gup_test" });
  });

  it("crash: a kernel report while the case ran, not one during the case before it", async () => {
    const lines = [...head, "[    3.100000] BUG: Bad page state in process swap  pfn:0x1234", "    ok 1 rw-pin-pageout-base", "[    3.200000] WARNING: CPU: 1 PID: 87 at mm/gup.c:123 follow_page_pte+0x1a/0x30", "    ok 2 rw-pin-ro-remap-base", "# cowlab-end swap rc=0 ms=1 at=3.56"];
    expect(await verdict(lines, "rw-pin-ro-remap-base")).toEqual({ code: 1, line: "rerun: swap/rw-pin-ro-remap-base: crash: WARNING: CPU: 1 PID: 87 at mm/gup.c:123 follow_page_pte+0x1a/0x30" });
    expect((await verdict(lines.filter((l) => !l.includes("WARNING")), "rw-pin-ro-remap-base")).code).toBe(0);
    // a program that prints "BUG:" itself is not a kernel report
    expect((await verdict([...head, "    # BUG: step 5", "    ok 1 rw-pin-pageout-base"], "rw-pin-pageout-base")).code).toBe(0);
  });

  it("timeout: the program never ended (QEMU stopped) or was killed at its bound; not run: it never began", async () => {
    expect(await verdict([...head, "    ok 1 rw-pin-pageout-base"], "rw-pin-ro-remap-base", { qemu: "124" })).toEqual({ code: 1, line: "rerun: swap/rw-pin-ro-remap-base: timeout: the guest stopped while swap ran (QEMU exit 124)" });
    expect((await verdict([...head, "# cowlab-end swap rc=137 ms=120000 at=123"], "rw-pin-ro-remap-base")).line).toContain("timeout: swap ran out of its bound");
    expect(await verdict(head.slice(0, 4), "rw-pin-ro-remap-base", { qemu: "1" })).toEqual({ code: 2, line: "rerun: swap/rw-pin-ro-remap-base: not run: the guest never started swap (QEMU exit 1)" });
    expect((await verdict([...head, "    ok 1 rw-pin-pageout-base", "# cowlab-end swap rc=0 ms=1 at=3"], "rw-pin-ro-remap-base")).code).toBe(2);
  });

  it("a program judged by its exit status (the explorer's reproducer): 0 pass, 1 fail with its last line, 2 skip", async () => {
    const prog = (rc: number, last: string) => ["# cowlab-begin repro at=2.16", last, `# cowlab-end repro rc=${rc} ms=100 at=2.27`];
    const args = { t: "repro", who: "explore/thp | fork", skiprc: "2" };
    expect(await verdict(prog(1, "BUG: step 5 'read:pin': expected init|w3, saw w4"), "*", args)).toEqual({ code: 1, line: "rerun: explore/thp | fork: fail: repro exited 1: BUG: step 5 'read:pin': expected init|w3, saw w4" });
    expect((await verdict(prog(0, "OK"), "*", args)).code).toBe(0);
    expect((await verdict(prog(2, "SKIP: no swap"), "*", args)).code).toBe(2);
  });

  it("rerun.sh is valid sh, with the kernel and initramfs as its variables", async () => {
    const machine = await loadMachine("x86_64");
    const script = rerunScript({
      id: ID,
      recorded: { verdict: "fail", reason: "it's wrong" },
      kernel: "bzImage",
      label: "swap/rw-pin-ro-remap-base",
      program: "swap",
      case: "rw-pin-ro-remap-base",
      whole: true,
      argv: bundleArgv(qemuArgv(machine, { kernel: "bzImage", initrd: "initramfs.cpio" }, "kvm"), machine),
      timeoutS: 240,
    });
    await writeFile(join(dir, "rerun.sh"), script);
    expect((await execa("sh", ["-n", join(dir, "rerun.sh")], { reject: false })).exitCode).toBe(0);
    expect(script).toContain(`-kernel "$KERNEL" -initrd "$INITRD"`);
    expect(script).toContain(`if [ "$ACCEL" = kvm ] && [ ! -w /dev/kvm ]`);
    const help = await execa("sh", [join(dir, "rerun.sh"), "--help"]);
    expect(help.stdout.split("\n")[0]).toBe(`# cowlab replay bundle: ${ID} (fail in the run)`);
    expect((await execa("sh", [join(dir, "rerun.sh"), "--frob"], { reject: false })).exitCode).toBe(2);
  });
});

describe("metadata and sources", () => {
  it("names the series a variant applied, from the source label", () => {
    expect(seriesName("linux-source-6.12 (6.12.117) + 8 of cow-breakers")).toBe("cow-breakers");
    expect(seriesName("linux-source-6.12 (6.12.117) + anon-exclusive-off (3 patches)")).toBe("anon-exclusive-off");
    expect(seriesName("linux-source-5.10 (5.10.262)")).toBeNull();
  });

  it("a testcase's C file first, then the testcases/lib headers it includes, transitively", async () => {
    const m = await loadManifest();
    const files = await testcaseSources(m.testcases.find((t) => t.id === "swap")!);
    expect(files.map((f) => f.name)).toEqual(["testcases/swap.c", "testcases/lib/ktap.h", "testcases/lib/mm.h", "testcases/lib/pin.h"]);
    expect(files[0]!.data.toString()).toContain('#include "pin.h"');
  });

  it("an explorer result: its minimized C file when `cowlab explore` wrote one, else one generated from its line", async () => {
    const data = applyPolicy(await readResults(EXPLORE_FIXTURE), policyOf(await loadManifest()));
    const shrunk = data.results.find((r) => r.case === "hugetlb:2M | pin:iouring | fork | read:parent | write:parent | read:pin")!;
    expect(minimizedFor(data, shrunk)?.minimal).toBe("hugetlb:2M | pin:iouring | fork | write:parent | read:pin");
    await expect(exploreSource("/nonexistent-run", data, shrunk)).rejects.toThrow(/\/nonexistent-run\/explore\/hugetlb-2M__pin-iouring__fork__write-parent__read-pin\.c: missing: the minimized reproducer/);
    const other = data.results.find((r) => !minimizedFor(data, r))!;
    const src = await exploreSource("/nonexistent-run", data, other);
    expect(src.line).toBe(other.case);
    expect(src.file.name).toBe("explore/repro.c");
    expect(src.file.data.toString()).toContain(`Scenario: ${other.case.split("|").map((s) => s.trim()).join(" | ")}`);
  });
});

describe("a bundle written from a run folder and a cache (fake files, real results)", () => {
  let root: string;
  let runDir: string;
  let data: JudgedRun;
  let buildDir: string;
  const config = "CONFIG_SWAP=y\n# the fake .config of this test\n";
  const saved = process.env.COWLAB_CACHE;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "cowlab-bundle-fs-"));
    process.env.COWLAB_CACHE = join(root, "cache");
    runDir = join(root, "run");
    const guestDir = join(runDir, "guests", "5.10-base-x86_64");
    await mkdir(guestDir, { recursive: true });
    await writeFile(join(runDir, "results.json"), await readFile(FIXTURE));
    const m = await loadManifest();
    const env = guestEnv([m.testcases.find((t) => t.id === "swap")!], DEFAULT_SETUP, { swap: ["rw-pin-pageout-base", "rw-pin-ro-remap-base"] });
    await writeFile(join(guestDir, "initramfs.cpio"), writeNewc([{ name: "init", mode: 0o755, data: Buffer.from("#!/bin/busybox sh\n") }, { name: "etc/cowlab.env", mode: 0o644, data: Buffer.from(env) }]));
    await writeFile(join(guestDir, "bzImage"), "kernel of the run folder");
    // The run recorded its build under another cache: the entry is found by its name in today's.
    buildDir = join(root, "cache", "build", "x86_64-5.10.262-9c1b2a1149e7c2c9");
    await mkdir(join(buildDir, "obj"), { recursive: true });
    await writeFile(join(buildDir, "obj", ".config"), config);
    await writeFile(join(buildDir, "bzImage"), "kernel of the cache");
    const real = await readResults(join(runDir, "results.json"));
    const b = real.kernels[0]!.build!;
    real.kernels[0]!.build = { ...b, image: join(root, "old-cache", "build", "x86_64-5.10.262-9c1b2a1149e7c2c9", "bzImage"), config_sha256: sha256(config) };
    data = applyPolicy(real, policyOf(m));
  });
  afterAll(async () => {
    if (saved === undefined) delete process.env.COWLAB_CACHE;
    else process.env.COWLAB_CACHE = saved;
    await rm(root, { recursive: true, force: true });
  });

  const theCase = () => data.results.find((r) => caseId(r) === ID)!;

  it("holds rerun.sh, README, the kernel, .config, both archives and the sources, each with its sha256 in metadata.json", async () => {
    const out = await writeBundle(join(runDir, "results.json"), data, theCase(), { outDir: join(root, "out") });
    expect(out.file).toBe(join(root, "out", bundleFile(theCase())));
    const x = join(root, "x");
    await mkdir(x);
    await execa("tar", ["xzf", out.file, "-C", x]);
    const listed = (await execa("tar", ["tzvf", out.file])).stdout.split("\n");
    expect(listed.map((l) => l.split(/\s+/).pop())).toEqual([".config", "README", "bzImage", "case.cpio", "initramfs.cpio", "metadata.json", "rerun.sh", "testcases/", "testcases/lib/", "testcases/lib/ktap.h", "testcases/lib/mm.h", "testcases/lib/pin.h", "testcases/swap.c"]);
    expect(listed.every((l) => l.includes(" 0/0 ") && l.includes("1970-01-01 00:00"))).toBe(true);
    expect(listed.find((l) => l.endsWith(" rerun.sh"))).toMatch(/^-rwxr-xr-x/);
    const meta = JSON.parse(await readFile(join(x, "metadata.json"), "utf8"));
    expect(meta.reproducer).toBe("./rerun.sh");
    expect(meta.case).toMatchObject({ id: ID, verdict: "fail", expected: { fixed_in: expect.stringContaining("5.19") } });
    expect(meta.kernel).toMatchObject({ version: "5.10.262", release: "5.10.262", arch: "x86_64", variant: "base", series: null });
    expect(meta.build.config_sha256).toBe(sha256(config));
    expect(meta.run.command).toBe("cowlab run --kernel 5.10 --arch x86_64 --variant base --tests swap --no-explore --out /tmp/bundle-510");
    expect(meta.guest.qemu_cmdline).toContain("-kernel bzImage -initrd .case-initramfs.cpio");
    expect(Object.keys(meta.sha256)).toEqual([".config", "README", "bzImage", "case.cpio", "initramfs.cpio", "rerun.sh", "testcases/lib/ktap.h", "testcases/lib/mm.h", "testcases/lib/pin.h", "testcases/swap.c"]);
    for (const [f, h] of Object.entries(meta.sha256)) expect(sha256(await readFile(join(x, f))), f).toBe(h);
    expect(await readFile(join(x, "bzImage"), "utf8")).toBe("kernel of the run folder");
    expect(await readFile(join(x, ".config"), "utf8")).toBe(config);
    expect(readNewc(await readFile(join(x, "case.cpio")))[0]!.data.toString()).toContain('COWLAB_TESTCASES="swap"\nCOWLAB_TIMEOUT_swap=120\nCOWLAB_FILTER_swap="rw-pin-ro-remap-base"\n');
    // the same result bundled again is the same bytes
    const again = await writeBundle(join(runDir, "results.json"), data, theCase(), { outDir: join(root, "out2") });
    expect(again.sha256).toBe(out.sha256);
  });

  it("the kernel from the cache when the run folder's copy is gone; a missing initramfs or a rebuilt .config is an error naming the file", async () => {
    await rm(join(runDir, "guests", "5.10-base-x86_64", "bzImage"));
    const inputs = await locateInputs(join(runDir, "results.json"), data, theCase());
    expect(inputs.kernel).toBe(join(buildDir, "bzImage"));
    await writeFile(join(buildDir, "obj", ".config"), "CONFIG_OTHER=y\n");
    await expect(locateInputs(join(runDir, "results.json"), data, theCase())).rejects.toThrow(`${join(buildDir, "obj", ".config")}: not the .config 5.10/base/x86_64 was built with`);
    await writeFile(join(buildDir, "obj", ".config"), config);
    await rm(join(runDir, "guests", "5.10-base-x86_64", "initramfs.cpio"));
    const e = await locateInputs(join(runDir, "results.json"), data, theCase()).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as Error).message).toBe(`${join(runDir, "guests", "5.10-base-x86_64", "initramfs.cpio")}: missing: the initramfs ${ID}'s guest booted; re-run the job (cowlab run --kernel 5.10 --arch x86_64 --variant base --tests swap --no-explore --out /tmp/bundle-510)`);
    // writeBundles reports it per result and goes on
    const { written, failed } = await writeBundles(runDir, data, (r) => r.status === "fail");
    expect(written).toEqual([]);
    expect(failed.map((f) => f.id)).toEqual(data.results.filter((r) => r.status === "fail").map(caseId));
  });

  it("a guest that ran over SSH or never booted cannot be bundled", async () => {
    const ssh: JudgedRun = { ...data, kernels: data.kernels.map((k) => ({ ...k, boot: { ...k.boot!, runtime: "ssh" as const, target: "box" } })) };
    await expect(locateInputs(join(runDir, "results.json"), ssh, theCase())).rejects.toThrow("its guest ran on ssh (box); a bundle replays the lab's own QEMU initramfs guest");
    const none: JudgedRun = { ...data, kernels: data.kernels.map((k) => ({ ...k, boot: null, status: "build-error" as const, reason: "make failed\nmore" })) };
    await expect(locateInputs(join(runDir, "results.json"), none, theCase())).rejects.toThrow("the job never booted a guest (build-error: make failed)");
  });
});

describe("metadata.json", () => {
  it("is the same for the same inputs (no time, no host in it)", () => {
    const r = judged.results.find((x) => caseId(x) === ID)!;
    const entry = judged.kernels[0]!;
    const input = { run: judged.run, r, entry, guest: 1, boot: entry.boot!, argv: ["qemu", "-kernel", KERNEL_ARG], selection: { program: "swap", case: r.case, env: "" }, kernelFile: "bzImage", reproducer: { files: ["testcases/swap.c"] }, sha256: { b: "2", a: "1" } };
    expect(JSON.stringify(bundleMetadata(input))).toBe(JSON.stringify(bundleMetadata(input)));
    const m = bundleMetadata(input) as { sha256: Record<string, string>; guest: { qemu_cmdline: string } };
    expect(Object.keys(m.sha256)).toEqual(["a", "b"]);
    expect(m.guest.qemu_cmdline).toBe("qemu -kernel bzImage");
  });
});

describe("a retried case (real --retry-failed results)", () => {
  it("replays the guest of its failing attempt: guest-2's own initramfs and the job folder's kernel", async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-bundle-retry-"));
    const saved = process.env.COWLAB_CACHE;
    process.env.COWLAB_CACHE = join(root, "cache");
    try {
      const data = applyPolicy(await readResults("test/fixtures/results/fault-flaky-retry.json"), { knownIssues: [], knownReports: [] });
      const job = join(root, "guests", "6.12-base-x86_64");
      await mkdir(join(job, "guest-2"), { recursive: true });
      for (const f of [join(job, "bzImage"), join(job, "initramfs.cpio"), join(job, "guest-2", "initramfs.cpio")]) await writeFile(f, f);
      const b = data.kernels[0]!.build!;
      const buildDir = join(root, "cache", "build", b.image.split("/").at(-2)!);
      await mkdir(join(buildDir, "obj"), { recursive: true });
      await writeFile(join(buildDir, "obj", ".config"), "CONFIG_X=y\n");
      data.kernels[0]!.build = { ...b, config_sha256: sha256("CONFIG_X=y\n") };
      const flaky = data.results.find((r) => r.status === "flaky")!;
      const file = join(root, "results.json");
      expect((await locateInputs(file, data, flaky)).initramfs).toBe(join(job, "initramfs.cpio")); // attempt 1 failed
      const second = { ...flaky, attempts: [...flaky.attempts].reverse().map((a, i) => ({ ...a, guest: i + 1 })) };
      const inputs = await locateInputs(file, data, second);
      expect(inputs.guest).toBe(2);
      expect(inputs.boot.console).toBe("guests/6.12-base-x86_64/guest-2/console.log");
      expect([inputs.kernel, inputs.initramfs]).toEqual([join(job, "bzImage"), join(job, "guest-2", "initramfs.cpio")]);
    } finally {
      if (saved === undefined) delete process.env.COWLAB_CACHE;
      else process.env.COWLAB_CACHE = saved;
      await rm(root, { recursive: true, force: true });
    }
  });
});
