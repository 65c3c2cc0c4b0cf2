// Attempts and the verdicts they add up to; results.json v1 → v2; policy applied at read time.
import { describe, expect, it } from "vitest";
import { mkdtemp, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { aggregate, durationSpread, foldAttempts, passRate, type AttemptRow } from "../orchestrator/results/attempts.ts";
import { applyPolicy } from "../orchestrator/results/policy.ts";
import { readResults } from "../orchestrator/report/index.ts";
import type { Attempt, RunResults, Status } from "../orchestrator/results/schema.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

const a = (status: Status, ms: number | null = 10, reason = status === "pass" ? "" : `${status} here`): Attempt => ({ status, duration_ms: ms, reason, guest: 1 });
const row = (kase: string, status: Status, ms: number | null = 10): AttemptRow => ({ job: "5.10/base/x86_64", kernel: "5.10.262", arch: "x86_64", variant: "base", testcase: "swap", case: kase, family: "swap", status, duration_ms: ms, reason: status === "pass" ? "" : "pin saw the old data" });

describe("a case's attempts", () => {
  it("agree: the verdict is their status, the duration their median", () => {
    expect(aggregate([a("pass", 10), a("pass", 30), a("pass", 12)])).toEqual({ status: "pass", duration_ms: 12, reason: "" });
    expect(aggregate([a("fail", 10), a("fail", 20)])).toMatchObject({ status: "fail", duration_ms: 15, reason: "fail here" });
  });
  it("some passed, some did not: flaky, saying how often and how the first bad one failed", () => {
    const v = aggregate([a("pass"), a("fail"), a("pass"), a("crash")]);
    expect(v.status).toBe("flaky");
    expect(v.reason).toBe("passed 2 of 4 attempts; attempt 2 (fail): fail here");
    expect(passRate({ attempts: [a("pass"), a("fail"), a("pass"), a("crash")] })).toBe(0.5);
  });
  it("never passed but disagree: the worst status; a skip among passes is not a flake", () => {
    expect(aggregate([a("fail"), a("crash"), a("timeout")]).status).toBe("crash");
    expect(aggregate([a("pass"), a("skip")]).status).toBe("pass");
  });
  it("spread is the min and max duration over attempts that have one", () => {
    expect(durationSpread({ attempts: [a("pass", 40), a("pass", null), a("pass", 12)] })).toEqual([12, 40]);
    expect(durationSpread({ attempts: [a("error", null)] })).toBeNull();
  });
  it("fold joins each guest's rows by the case's identity, attempts in guest order", () => {
    const r = foldAttempts([
      { guest: 1, rows: [row("x", "fail", 5), row("y", "pass")] },
      { guest: 2, rows: [row("x", "pass", 7)] },
    ]);
    expect(r.map((c) => [c.case, c.status, c.attempts.map((t) => `${t.guest}:${t.status}`).join(" ")])).toEqual([
      ["x", "flaky", "1:fail 2:pass"],
      ["y", "pass", "1:pass"],
    ]);
  });
});

const v1 = {
  schema_version: 1,
  run: { id: "old", started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:01:00Z", complete: true, seconds: 60, command: "cowlab run", shard: null, host: { hostname: "h", cores: 2, memory_gib: 24, qemu: "7.2", node: "v20" } },
  kernels: [{ job: "5.10/base/x86_64", kernel_spec: "5.10", variant: "base", arch: "x86_64", source: "s", version: "5.10.262", release: "5.10.262", status: "ok", reason: "", build: null, boot: { accel: "tcg", seconds: 1, guest_seconds: 9, ending: "exited", exit_code: 0, console: "c", qemu_cmdline: "q", rerun: "r", setup: {}, testcases: [], reports: [{ title: "WARNING: at x", line: 3, known: "old policy" }] }, seconds: 1 }],
  results: [
    { ...row("ro-pin-ro-remap-base", "fail"), expected: { reason: "frozen in by an old manifest" } },
    { ...row("rw-pin-base", "pass") },
  ],
};

async function tmpFile(name: string, text: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "cowlab-attempts-"));
  const f = join(dir, name);
  await writeFile(f, text);
  return f;
}

describe("results.json versions", () => {
  it("a version 1 file is read as version 2: one attempt per case, and the frozen policy dropped", async () => {
    const d = await readResults(await tmpFile("results.json", JSON.stringify(v1)));
    expect(d.schema_version).toBe(2);
    expect(d.results[0]).toMatchObject({ status: "fail", attempts: [{ status: "fail", guest: 1 }] });
    expect(d.results[0]).not.toHaveProperty("expected");
    expect(d.kernels[0]!.boot!.reports[0]).toEqual({ title: "WARNING: at x", line: 3 });
    expect(d.run).toMatchObject({ repeat: 1, retry_failed: 0 });
  });
  it("a newer version is a one-line error naming the file", async () => {
    const f = await tmpFile("results.json", JSON.stringify({ ...v1, schema_version: 3 }));
    await expect(readResults(f)).rejects.toThrow(/results.json: results schema version 3 is newer than this cowlab reads \(2\)/);
  });
});

describe("policy at read time", () => {
  it("a known issue marks the failure it predicts, and only on the kernels it names", () => {
    const d = foldAttempts([{ guest: 1, rows: [row("ro-pin-ro-remap-base", "fail")] }]);
    const run = { ...(v1 as unknown as RunResults), schema_version: 2 as const, kernels: [], results: d };
    const issue = { testcase: "swap", cases: ["ro-pin-*"], kernels: "<5.19", reason: "before PageAnonExclusive", fixed_in: "5.19" };
    expect(applyPolicy(run, { knownIssues: [issue], knownReports: [] }).results[0]!.expected).toEqual({ reason: "before PageAnonExclusive", fixed_in: "5.19" });
    expect(applyPolicy(run, { knownIssues: [{ ...issue, kernels: ">=6.0" }], knownReports: [] }).results[0]!.expected).toBeUndefined();
  });

  it("editing the manifest and running `cowlab report` changes verdicts and the exit code without a rerun", async () => {
    const results = await tmpFile("results.json", JSON.stringify(v1));
    const manifest = await readFile(repoPath("testcases", "manifest.yaml"), "utf8");
    const report = (m: string) => execa("node", [repoPath("bin", "cowlab.js"), "report", results, "--manifest", m, "--json"], { reject: false });
    // No known issue for swap/ro-pin-ro-remap-base on 5.10: a regression, exit 1.
    const bare = await tmpFile("manifest.yaml", manifest.replace(/known_issues:[\s\S]*?\nknown_reports:/, "known_issues: []\nknown_reports:"));
    const before = await report(bare);
    expect(before.exitCode).toBe(1);
    expect(JSON.parse(before.stdout).results[0].expected).toBeUndefined();
    // The same results read with a manifest that knows the issue: expected fail, exit 0.
    const known = await tmpFile("manifest.yaml", manifest.replace(/known_issues:[\s\S]*?\nknown_reports:/, `known_issues:\n  - testcase: swap\n    cases: ["ro-pin-*"]\n    kernels: "<5.19"\n    reason: "R/O pins before PageAnonExclusive"\n    fixed_in: "5.19"\nknown_reports:`));
    const after = await report(known);
    expect(after.exitCode).toBe(0);
    expect(JSON.parse(after.stdout).results[0].expected).toEqual({ reason: "R/O pins before PageAnonExclusive", fixed_in: "5.19" });
    const text = await execa("node", [repoPath("bin", "cowlab.js"), "report", results, "--manifest", known], { reject: false });
    expect(text.stderr).toMatch(/1 expected-fail, 1 pass/);
    // results.json itself still holds only facts.
    expect(JSON.parse(await readFile(results, "utf8")).results[0].expected).toEqual({ reason: "frozen in by an old manifest" });
  }, 60_000);
});
