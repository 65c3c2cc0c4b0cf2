// The fault table of the README, row by row, against real guests of the cached 6.12 kernel:
// what the user sees when a reproducer segfaults or flakes, a guest hangs silently, the kernel
// panics, QEMU is killed, Ctrl-C arrives mid-run or mid-build, a build fails, a patch does not
// apply. The programs that misbehave on purpose are test/fixtures/faults/ (`--manifest`).
import { describe, expect, it } from "vitest";
import { mkdtemp, readFile, writeFile, mkdir, copyFile } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execa, type ResultPromise } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { descendants } from "../../orchestrator/util/descendants.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

const FAULTS = repoPath("test", "fixtures", "faults");
const ONE_JOB = ["--kernel", "6.12", "--arch", "x86_64", "--variant", "base", "--no-explore"];
const cowlab = (args: string[]) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 30 * 60_000 });
const outDir = () => mkdtemp(join(tmpdir(), "cowlab-fault-"));
const results = async (dir: string): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(join(dir, "results.json"), "utf8")));
const row = (d: RunResults, testcase: string, kase: string) => d.results.find((r) => r.testcase === testcase && r.case === kase);

async function until(what: string, cond: () => Promise<boolean> | boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`waited ${seconds} s for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
/** Still running: a zombie (killed, waiting for whoever inherited it to reap it) is not. */
const alive = async (pid: number): Promise<boolean> => {
  const stat = await readFile(`/proc/${pid}/stat`, "utf8").catch(() => "");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
};
const comm = async (pid: number): Promise<string> => (await readFile(`/proc/${pid}/comm`, "utf8").catch(() => "")).trim();
const consoleHas = (dir: string, slug: string, text: string) => async () => (await readFile(join(dir, "guests", slug, "console.log"), "utf8").catch(() => "")).includes(text);

/** Ctrl-C a running cowlab: what it ran below it is listed first, and must all be gone after. */
async function interrupt(child: ResultPromise): Promise<{ exitCode: number | undefined; tree: string[]; left: number[] }> {
  const pids = await descendants(child.pid!);
  const tree = await Promise.all(pids.map(comm));
  // As a terminal's Ctrl-C does (and so execa reports the exit code the process chose).
  process.kill(child.pid!, "SIGINT");
  const r = await child;
  await new Promise((res) => setTimeout(res, 500));
  const still = await Promise.all(pids.map(alive));
  return { exitCode: r.exitCode, tree, left: pids.filter((_, i) => still[i]) };
}

describe("faults, and what the user sees", () => {
  it("a reproducer that segfaults is an error naming the signal; a case that fails once and passes on --retry-failed is flaky, with both attempts", async () => {
    const out = await outDir();
    const r = await cowlab(["run", ...ONE_JOB, "--manifest", join(FAULTS, "manifest.yaml"), "--tests", "segv,flaky", "--retry-failed", "1", "--out", out]);
    const d = await results(out);
    expect(row(d, "segv", "before-the-fault")!.status).toBe("pass");
    expect(row(d, "segv", "*")).toMatchObject({ status: "error", reason: "segv was killed by SIGSEGV (exit 139) after 1 of 3 results" });
    const flaky = row(d, "flaky", "first-time")!;
    expect(flaky.status).toBe("flaky");
    expect(flaky.attempts.map((a) => `${a.guest}:${a.status}`)).toEqual(["1:fail", "2:pass"]);
    expect(d.kernels[0]!.reruns.map((g) => g.purpose)).toEqual(["retry"]);
    expect(r.stderr).toMatch(/1 flaky\n  flaky 50%: 6\.12\/base\/x86_64 flaky\/first-time/);
    expect(r.exitCode).toBe(2); // the segfault is the lab's kind of error; the flake alone is not a regression
  }, 5 * 60_000);

  it("a guest that hangs with no output is stopped by the silence watchdog long before its timeout: timeout, not error", async () => {
    const out = await outDir();
    const r = await cowlab(["run", ...ONE_JOB, "--manifest", join(FAULTS, "manifest.yaml"), "--tests", "hang", "--out", out]);
    const d = await results(out);
    const k = d.kernels[0]!;
    expect(k.boot!.ending).toBe("no-output");
    expect(k.status).toBe("timeout");
    expect(k.boot!.guest_seconds).toBeLessThan(120); // the profile's timeout is 240 s
    expect(row(d, "hang", "*")).toMatchObject({ status: "timeout", reason: "guest hung with no output in hang after 0 of 1 results" });
    expect(r.exitCode).toBe(1);
  }, 5 * 60_000);

  it("a kernel panic is crash with the panic as the title, and the guest ends at once", async () => {
    const out = await outDir();
    const r = await cowlab(["run", ...ONE_JOB, "--manifest", join(FAULTS, "manifest.yaml"), "--tests", "segv", "--kernel-args", "rdinit=/nonexistent", "--out", out]);
    const d = await results(out);
    const k = d.kernels[0]!;
    expect(k.status).toBe("crash");
    expect(k.reason).toMatch(/^Kernel panic: /);
    expect(k.boot!.guest_seconds).toBeLessThan(60);
    expect(row(d, "segv", "*")).toMatchObject({ status: "crash", reason: expect.stringMatching(/^not run: kernel crashed before testcases: Kernel panic: /) });
    expect(r.exitCode).toBe(1);
  }, 5 * 60_000);

  it("QEMU killed mid-run is a lab error (qemu-error, cases error), never a kernel failure", async () => {
    const out = await outDir();
    const child = cowlab(["run", ...ONE_JOB, "--manifest", join(FAULTS, "manifest.yaml"), "--tests", "hang", "--out", out]);
    await until("the guest to begin its testcase", consoleHas(out, "6.12-base-x86_64", "# cowlab-begin hang"), 120);
    const qemu = (await descendants(child.pid!)).filter((p) => existsSync(`/proc/${p}`));
    const names = await Promise.all(qemu.map(comm));
    const pid = qemu[names.findIndex((n) => n.startsWith("qemu-system"))]!;
    expect(pid).toBeDefined();
    process.kill(pid, "SIGKILL");
    const r = await child;
    const d = await results(out);
    expect(d.kernels[0]!.status).toBe("qemu-error");
    expect(d.results.map((x) => x.status)).toEqual(["error"]);
    expect(r.exitCode).toBe(2);
  }, 5 * 60_000);

  it("Ctrl-C mid-run leaves no QEMU behind and keeps the finished job's results and the report", async () => {
    const out = await outDir();
    // Two jobs one after another: the first ends (silence watchdog), the second is interrupted
    // in its guest. Two kernels the suite builds anyway (the series is one file's rebuild in
    // the base's workspace): another kernel here would be a full build for this test alone.
    const child = cowlab(["run", "--kernel", "6.12", "--arch", "x86_64", "--variant", "base", "anon-exclusive-off", "--no-explore", "--guests", "1", "--manifest", join(FAULTS, "manifest.yaml"), "--tests", "hang", "--out", out]);
    await until("one job to finish", async () => existsSync(join(out, "results.json")) && (await results(out)).kernels.length === 1, 240);
    const second = (await results(out)).kernels[0]!.job === "6.12/base/x86_64" ? "6.12-anon-exclusive-off-x86_64" : "6.12-base-x86_64";
    await until("the second guest to begin", consoleHas(out, second, "# cowlab-begin hang"), 120);
    const { exitCode, tree, left } = await interrupt(child);
    expect(tree.some((n) => n.startsWith("qemu-system"))).toBe(true);
    expect(left).toEqual([]);
    expect(exitCode).toBe(130);
    const d = await results(out);
    expect(d.run.complete).toBe(false);
    expect(d.kernels).toHaveLength(1);
    expect(await readFile(join(out, "index.html"), "utf8")).toContain("incomplete (interrupted or still running)");
  }, 10 * 60_000);

  it("Ctrl-C mid-build leaves no make or compiler behind", async () => {
    const out = await outDir();
    // A comment-only patch with a fresh token: a build key never seen, so a real build starts.
    const series = join(out, "series");
    await mkdir(series);
    const token = randomBytes(6).toString("hex");
    await writeFile(
      join(series, "0001-comment.patch"),
      `From: cowlab <cowlab@example.org>\nSubject: [PATCH] mm/gup: a comment (${token})\n\n---\n--- a/mm/gup.c\n+++ b/mm/gup.c\n@@ -1,4 +1,5 @@\n // SPDX-License-Identifier: GPL-2.0-only\n+/* cowlab fault test ${token} */\n #include <linux/kernel.h>\n #include <linux/errno.h>\n #include <linux/err.h>\n`,
    );
    const child = cowlab(["run", "--kernel", "6.12", "--arch", "x86_64", "--series", series, "--variant", "series", "--no-explore", "--tests", "swap", "--out", join(out, "run")]);
    let compilers = false;
    await until("the build's compilers to run", async () => {
      const names = await Promise.all((await descendants(child.pid!)).map(comm));
      compilers = names.some((n) => n === "cc1" || n === "gcc");
      return compilers && names.includes("make");
    }, 300);
    const { exitCode, tree, left } = await interrupt(child);
    expect(tree).toContain("make");
    expect(left).toEqual([]);
    expect(exitCode).toBe(130);
    expect(existsSync(join(out, "run", "results.json"))).toBe(true);
  }, 10 * 60_000);

  it("a build failure ends the variant as build-error with the compiler's message", async () => {
    const out = await outDir();
    const r = await cowlab(["run", "--kernel", "6.12", "--arch", "x86_64", "--series", join(FAULTS, "series-build-error"), "--variant", "series-build-error", "--no-explore", "--tests", "swap", "--out", out]);
    const d = await results(out);
    expect(d.kernels[0]!.status).toBe("build-error");
    // The first line names the compiler's error, however much make printed after it.
    expect(d.kernels[0]!.reason.split("\n")[0]).toMatch(/^make failed \(exit 2\): init\/main\.c:\d+:\d+: error: #error "cowlab fault test: this patch does not compile"/);
    expect(d.results.map((x) => x.status)).toEqual(["error"]);
    expect(r.exitCode).toBe(2);
  }, 20 * 60_000);

  it("a patch that does not apply ends the variant as patch-error naming the patch and the hunk", async () => {
    const out = await outDir();
    const series = join(out, "series-no-apply");
    await mkdir(series);
    await copyFile(join(FAULTS, "series-no-apply", "0001-mm-gup-a-hunk-that-does-not-apply.patch"), join(series, "0001-mm-gup-a-hunk-that-does-not-apply.patch"));
    const r = await cowlab(["run", "--kernel", "6.12", "--arch", "x86_64", "--series", series, "--variant", "series-no-apply", "--no-explore", "--tests", "swap", "--out", join(out, "run")]);
    const d = await results(join(out, "run"));
    expect(d.kernels[0]!.status).toBe("patch-error");
    expect(d.kernels[0]!.reason).toMatch(/0001-mm-gup-a-hunk-that-does-not-apply\.patch/);
    expect(d.kernels[0]!.reason).toMatch(/a hunk written against a tree that never existed/);
    expect(r.exitCode).toBe(2);
  }, 5 * 60_000);
});
