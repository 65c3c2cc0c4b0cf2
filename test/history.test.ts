// The run store (orchestrator/results/history.ts) on real runs: two default-matrix runs made
// one after the other (test/fixtures/results/report/README.md), a bisection and an exploration.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedRun, type Policy } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { trendSection } from "../reports/render-trend.ts";
import { changedCases, matrixKey, readHistory, recordRun, summarizeRun, type RunSummary } from "../orchestrator/results/history.ts";

const FIX = "test/fixtures/results/report";
let policy: Policy;
let A: JudgedRun;
let B: JudgedRun;
const judged = async (name: string, p = policy): Promise<JudgedRun> => applyPolicy(await readResults(`${FIX}/${name}/results.json`), p);
const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), "cowlab-history-"));

beforeAll(async () => {
  policy = await readPolicy();
  [A, B] = await Promise.all([judged("lab-A"), judged("lab-B")]);
});

describe("a run's summary", () => {
  it("counts each job's verdicts, expected failures apart, and keeps each case's verdict by job, testcase and case", () => {
    const s = summarizeRun(A);
    expect(s.jobs.map((j) => j.job).sort()).toEqual(A.kernels.map((k) => k.job).sort());
    for (const j of s.jobs) expect(Object.values(j.counts).reduce((a, n) => a + n, 0)).toBe(A.results.filter((r) => r.job === j.job).length);
    expect(s.jobs.reduce((a, j) => a + (j.counts["expected-fail"] ?? 0), 0)).toBe(154);
    expect(s.cases["5.10/base/x86_64"]?.["gup-after-fork"]?.["vmsplice-child-thp"]).toBe("expected-fail");
    expect(s.cases["6.12/base/x86_64"]?.["gup-after-fork"]?.["vmsplice-child-thp"]).toBe("pass");
    const k = A.kernels.find((x) => x.job === "5.10/base/x86_64")!;
    expect(s.jobs.find((j) => j.job === k.job)).toMatchObject({ status: "ok", build_s: k.build!.seconds, build_cached: true, boot_s: k.boot!.seconds, guest_s: k.boot!.guest_seconds });
  });

  it("is compact: no reasons, attempts or observations", () => {
    const text = JSON.stringify(summarizeRun(A));
    expect(text.length).toBeLessThan(JSON.stringify(A).length / 8);
    expect(text).not.toContain("PMD-mapped THP write fault");
  });

  it("keeps a bisection's answer", async () => {
    expect(summarizeRun(await judged("bisect")).bisect).toMatchObject({ kernel: "6.12", test: "gup-before-fork", culprit: "0003-mm-rmap-share-possibly-pinned-anonymous-folios-with.patch", steps: 4 });
  });
});

describe("findings of earlier runs", () => {
  it("keeps an exploration's minimized findings and the run folder, and a matrix run's report links them", async () => {
    const x = await judged("explore");
    expect(x.explore?.minimized.length).toBeGreaterThan(0);
    const s = summarizeRun(x, "/runs/explore-1");
    expect(s.dir).toBe("/runs/explore-1");
    expect(s.findings).toEqual(x.explore!.minimized.map((m) => ({ minimal: m.minimal, why: m.why, jobs: m.jobs, file: m.file })));
    expect(summarizeRun(A).findings).toBeUndefined();
    const html = trendSection(A, { history: { runs: [s], warnings: [], source: "/store" } } as Parameters<typeof trendSection>[1]);
    expect(html).toContain("Recent explorer findings in the store");
    const withFile = x.explore!.minimized.find((m) => m.file)!;
    expect(html).toContain(`href="file:///runs/explore-1/${withFile.file}"`);
    expect(html).toContain('<a href="file:///runs/explore-1/index.html">');
  });
});

describe("the store", () => {
  it("records runs and reads them back oldest first", async () => {
    const dir = await tmp();
    await recordRun(summarizeRun(B), dir);
    await recordRun(summarizeRun(await judged("bisect")), dir);
    await recordRun(summarizeRun(A), dir);
    const h = await readHistory(dir);
    expect(h.warnings).toEqual([]);
    expect(h.runs.map((r) => r.id)).toEqual(["bisect-2026-11-26T01-21-51-301Z", A.run.id, B.run.id]);
    expect(h.runs[1]).toEqual(summarizeRun(A));
  });

  it("replaces a run recorded twice, and leaves no temporary file", async () => {
    const dir = await tmp();
    await recordRun(summarizeRun(A), dir);
    await recordRun(summarizeRun(A), dir);
    expect(await readdir(dir)).toEqual([`${A.run.id}.json`]);
  });

  it("keeps only the newest runs beyond its count, and beyond its size", async () => {
    const dir = await tmp();
    const at = (i: number): RunSummary => ({ ...summarizeRun(A), id: `run-${i}`, started_at: `2026-11-2${i}T00:00:00.000Z` });
    // recorded out of order: the bound is by start time, not by recording time
    for (const i of [3, 1, 5, 2, 4]) await recordRun(at(i), dir, { runs: 3, bytes: 1e9 });
    expect((await readHistory(dir)).runs.map((r) => r.id)).toEqual(["run-3", "run-4", "run-5"]);
    const one = Buffer.byteLength(JSON.stringify(at(1)) + "\n");
    await recordRun(at(6), dir, { runs: 50, bytes: one * 2.5 });
    expect((await readHistory(dir)).runs.map((r) => r.id)).toEqual(["run-5", "run-6"]);
  });

  it("skips a corrupt or foreign file with a warning naming it, and reads the rest", async () => {
    const dir = await tmp();
    await recordRun(summarizeRun(A), dir);
    await writeFile(join(dir, "torn.json"), '{"format":1,"id":"x","star');
    await writeFile(join(dir, "other.json"), JSON.stringify({ format: 1, id: "y" }));
    const h = await readHistory(dir);
    expect(h.runs.map((r) => r.id)).toEqual([A.run.id]);
    expect(h.warnings).toHaveLength(2);
    expect(h.warnings.find((w) => w.includes("torn.json"))).toMatch(/torn\.json: skipped, not JSON/);
    expect(h.warnings.find((w) => w.includes("other.json"))).toMatch(/other\.json: skipped, not a run summary \(started_at: /);
  });

  it("reads a missing store as empty", async () => {
    expect(await readHistory(join(await tmp(), "nothing-here"))).toEqual({ runs: [], warnings: [] });
  });

  it("is a kind of the cache that `cowlab cache ls` lists", async () => {
    const cache = await tmp();
    await recordRun(summarizeRun(A), join(cache, "runs"));
    const r = await execa("node", ["bin/cowlab.js", "cache", "ls", "--json"], { env: { COWLAB_CACHE: cache }, reject: false });
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([expect.objectContaining({ kind: "runs", name: `${A.run.id}.json` })]);
   }, 60_000); // spawns cowlab: slow on a loaded 2-core host
});

describe("what changed between two runs", () => {
  it("finds the explorer's ksm scenarios that skipped in one run and passed in the other, and no new failure", () => {
    const changes = changedCases(summarizeRun(A), summarizeRun(B));
    expect(changes).toHaveLength(86);
    expect(changes.every((c) => c.kind === "changed" && c.testcase === "explore" && c.case.startsWith("ksm") && [c.before, c.now].sort().join() === "pass,skip")).toBe(true);
  });

  it("calls a failure that a known issue no longer predicts a new failure", async () => {
    const unknown = await judged("lab-B", { knownIssues: [], knownReports: policy.knownReports });
    const changes = changedCases(summarizeRun(A), summarizeRun(unknown));
    const news = changes.filter((c) => c.kind === "new-failure");
    expect(news).toHaveLength(154);
    expect(news.every((c) => c.before === "expected-fail" && c.now === "fail")).toBe(true);
    expect(news).toContainEqual({ job: "5.10/base/x86_64", testcase: "gup-after-fork", case: "vmsplice-child-thp", before: "expected-fail", now: "fail", kind: "new-failure" });
  });

  it("keys runs of the same jobs alike, whatever their order", () => {
    expect(matrixKey(A.kernels.map((k) => k.job))).toBe(matrixKey(B.kernels.map((k) => k.job).reverse()));
    expect(matrixKey(["6.12/base/x86_64"])).not.toBe(matrixKey(A.kernels.map((k) => k.job)));
  });
});
