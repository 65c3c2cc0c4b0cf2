// `cowlab compare`: the before/after diff of two runs (orchestrator/compare/), on real runs of
// 6.12 x86_64 (test/fixtures/results/README.md says which commands produced them), and its
// transition rules case by case.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { repoPath } from "../orchestrator/util/paths.ts";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedCase, type JudgedRun, type Policy } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { compareRuns, transition, type CaseSide, type RunDiff } from "../orchestrator/compare/diff.ts";
import { formatDiff } from "../orchestrator/compare/format.ts";
import type { RunResults } from "../orchestrator/results/schema.ts";

const FIX = (name: string): string => repoPath("test", "fixtures", "results", name);
const BASE = FIX("6.12-x86_64-base.json");
const AEO = FIX("6.12-x86_64-anon-exclusive-off.json");
const SWAP_ONLY = FIX("6.12-x86_64-base-swap-only.json");
const NO_ISSUES: Policy = { knownIssues: [], knownReports: [] };

let manifest: Policy;
let base: RunResults;
let aeo: RunResults;
let swapOnly: RunResults;
beforeAll(async () => {
  [manifest, base, aeo, swapOnly] = await Promise.all([readPolicy(), readResults(BASE), readResults(AEO), readResults(SWAP_ONLY)]);
});

const diffOf = (a: RunResults, b: RunResults, p: Policy = manifest): RunDiff => compareRuns(applyPolicy(a, p), applyPolicy(b, p));

/** Every compared pair lands in exactly one bucket: nothing is dropped silently. */
function accountedFor(d: RunDiff): void {
  const s = d.summary;
  const comparedInfra = d.infra.cases.filter((c) => c.before && c.after).length;
  expect(s.unchanged + s.regressions + s.fixes + s.expected + s.changed + s.skip_reasons + comparedInfra).toBe(s.compared);
}

describe("compare on real runs of 6.12 x86_64", () => {
  it("pairs base with the anon-exclusive-off job (one job per kernel and arch on each side) and lists the 27 pin cases the ablation breaks as expected failures under the manifest", () => {
    const d = diffOf(base, aeo);
    expect(d.pairs).toEqual([{ before: "6.12/base/x86_64", after: "6.12/anon-exclusive-off/x86_64", rule: "one-per-kernel-arch" }]);
    expect(d.summary).toMatchObject({ compared: 73, regressions: 0, missing: 0, new: 0, expected: 27, infra: 0, exit: 0 });
    expect(d.expected.every((c) => c.before!.status === "pass" && c.after!.status === "fail" && c.after!.expected)).toBe(true);
    expect(d.expected.every((c) => c.before_job === "6.12/base/x86_64" && c.job === "6.12/anon-exclusive-off/x86_64")).toBe(true);
    // the manifest's ablation issues name exactly these families of cases
    expect(new Set(d.expected.map((c) => c.case.replace(/-(base|thp|pte-mapped-thp|single-pte-thp|swap|thp-swap|hugetlb)$/, "")))).toEqual(
      new Set(["ro-pin-shared", "ro-pin-previously-shared", "rw-pin-ro-remap", "ro-pin-ro-remap", "swapin-ro-pin"]),
    );
    accountedFor(d);
  });

  it("without known issues the same transitions are regressions (pass → fail), and the hugetlb vmsplice cases failing on both sides are not", () => {
    const d = diffOf(base, aeo, NO_ISSUES);
    expect(d.summary).toMatchObject({ regressions: 27, expected: 0, exit: 1 });
    expect(d.regressions.every((c) => c.before!.status === "pass" && c.after!.status === "fail" && c.after!.reason.length > 0)).toBe(true);
    const bothFail = applyPolicy(base, NO_ISSUES).results.filter((r) => r.status === "fail").map((r) => `${r.testcase}/${r.case}`);
    expect(bothFail).toHaveLength(4);
    for (const id of bothFail) expect(d.regressions.some((c) => `${c.testcase}/${c.case}` === id)).toBe(false);
    accountedFor(d);
  });

  it("the other way round, the same cases are fixes (a failure a known issue predicted, then a pass, is a fix too)", () => {
    for (const p of [manifest, NO_ISSUES]) {
      const d = diffOf(aeo, base, p);
      expect(d.summary).toMatchObject({ fixes: 27, regressions: 0, exit: 0 });
    }
  });

  it("cases of a testcase the after run did not run are missing (exit 1); the other way round they are new (exit 0)", () => {
    const d = diffOf(base, swapOnly);
    expect(d.pairs[0]!.rule).toBe("same-id");
    expect(d.summary).toMatchObject({ compared: 24, unchanged: 24, missing: 49, new: 0, exit: 1 });
    expect(new Set(d.missing.map((c) => c.testcase))).toEqual(new Set(["gup-after-fork"]));
    expect(d.missing.every((c) => c.after === null && c.before !== null)).toBe(true);
    const back = diffOf(swapOnly, base);
    expect(back.summary).toMatchObject({ new: 49, missing: 0, exit: 0 });
  });

  it("a run compared with itself has nothing to say", () => {
    const d = diffOf(base, base);
    expect(d.summary).toMatchObject({ compared: 73, unchanged: 73, exit: 0 });
    expect(formatDiff(d, { before: "A", after: "B" })).toContain("0 regressions, 0 missing");
  });

  it("the text starts with the counts and writes one line per case: JOB TESTCASE/CASE: before → after (reason)", () => {
    const text = formatDiff(diffOf(base, aeo, NO_ISSUES), { before: BASE, after: AEO });
    const lines = text.split("\n");
    expect(lines[0]).toMatch(/^27 regressions, 0 missing, .*46 of 73 compared cases unchanged$/);
    expect(lines[3]).toBe("paired 6.12/base/x86_64 with 6.12/anon-exclusive-off/x86_64 (the one job of that kernel and arch on each side)");
    expect(text).toMatch(/\n {2}6\.12\/anon-exclusive-off\/x86_64 swap\/rw-pin-ro-remap-base: pass → fail \(R\/W pin \(io_uring fixed buffer\) misses the write/);
  });
});

// Rule tests: a real job's cases, with the verdicts each rule needs set in memory.
describe("transition rules", () => {
  const s = (status: CaseSide["status"], extra: Partial<CaseSide> = {}): CaseSide => ({ status, reason: status === "pass" ? "" : `${status} reason`, ...extra });
  const known = { expected: "a known issue" };
  it.each([
    [s("pass"), s("fail"), "regression"],
    [s("pass"), s("crash"), "regression"],
    [s("pass"), s("timeout"), "regression"],
    [s("flaky"), s("fail"), "regression"],
    [s("skip"), s("fail"), "regression"],
    [s("fail", known), s("crash"), "regression"],
    [s("pass"), s("fail", known), "expected"],
    [s("flaky"), s("fail", known), "expected"],
    [s("fail", known), s("fail", known), "same"],
    [s("fail"), s("fail", known), "same"],
    [s("fail", known), s("fail"), "same"],
    [s("fail"), s("crash"), "changed"],
    [s("fail"), s("pass"), "fix"],
    [s("crash"), s("pass"), "fix"],
    [s("timeout"), s("pass"), "fix"],
    [s("fail", known), s("pass"), "fix"],
    [s("fail"), s("flaky"), "changed"],
    [s("pass"), s("flaky"), "changed"],
    [s("flaky"), s("pass"), "changed"],
    [s("pass"), s("skip"), "changed"],
    [s("skip", { reason: "no THP" }), s("skip", { reason: "no swap" }), "skip_reason"],
    [s("skip", { reason: "no THP" }), s("skip", { reason: "no THP" }), "same"],
    [s("pass"), s("error"), "infra"],
    [s("error"), s("fail"), "infra"],
    [s("pass"), s("pass"), "same"],
  ] as const)("%j → %j is %s", (before, after, kind) => {
    expect(transition(before, after)).toBe(kind);
  });
});

describe("pairing and the lab's failures", () => {
  const judged = (r: RunResults): JudgedRun => applyPolicy(r, manifest);
  const withResults = (r: RunResults, f: (c: JudgedCase[]) => JudgedCase[]): JudgedRun => {
    const j = judged(r);
    return { ...j, results: f(j.results) };
  };
  const swapCases = (r: RunResults): number => r.results.filter((c) => c.testcase === "swap").length;

  it("a testcase that crashed as a whole stands in for its cases: passes before become regressions, and the T/* row is not a new case", () => {
    const after = withResults(base, (rs) => [
      ...rs.filter((c) => c.testcase !== "swap"),
      { ...rs.find((c) => c.testcase === "swap")!, case: "*", status: "crash", reason: "not run: kernel crashed earlier (BUG: Bad page state)", attempts: [{ status: "crash", duration_ms: null, reason: "not run", guest: 1 }] },
    ]);
    const d = compareRuns(judged(base), after);
    expect(d.summary).toMatchObject({ regressions: swapCases(base), new: 0, missing: 0, exit: 1 });
    expect(d.regressions.every((c) => c.testcase === "swap" && c.after!.stand_in && c.after!.status === "crash")).toBe(true);
    expect(formatDiff(d, { before: "A", after: "B" })).toContain("swap/rw-pin-ro-remap-base: pass → crash (not run: kernel crashed earlier (BUG: Bad page state); the whole testcase was crash)");
  });

  it("a job the lab could not build is one infrastructure entry (its cases not compared one by one), exit 2, no missing cases", () => {
    const j = judged(base);
    const after: JudgedRun = {
      ...j,
      kernels: j.kernels.map((k) => ({ ...k, status: "build-error", reason: "make failed: mm/memory.c:42: error: expected ';'\nlog tail" })),
      results: ["gup-after-fork", "swap"].map((t) => ({ ...j.results.find((c) => c.testcase === t)!, case: "*", status: "error", reason: "build-error: make failed", attempts: [{ status: "error", duration_ms: null, reason: "build-error", guest: 1 }] })),
    };
    const d = compareRuns(j, after);
    expect(d.summary).toMatchObject({ regressions: 0, missing: 0, new: 0, infra: 1, exit: 2 });
    expect(d.infra.jobs).toEqual([{ side: "after", job: "6.12/base/x86_64", status: "build-error", reason: "make failed: mm/memory.c:42: error: expected ';'", cases: 73 }]);
    expect(formatDiff(d, { before: "A", after: "B" })).toContain("6.12/base/x86_64 (after): build-error: make failed: mm/memory.c:42: error: expected ';'; 73 cases not compared");
  });

  it("a case the harness could not run is infrastructure, not a regression", () => {
    const after = withResults(base, (rs) => rs.map((c) => (c.case === "fork-cow-base" ? { ...c, status: "error", reason: "harness error" } : c)));
    const d = compareRuns(judged(base), after);
    expect(d.summary).toMatchObject({ regressions: 0, infra: 1, exit: 2 });
    expect(d.infra.cases[0]).toMatchObject({ case: "fork-cow-base", before: { status: "pass" }, after: { status: "error" } });
  });

  it("changed skip reasons are listed on their own", () => {
    const before = withResults(base, (rs) => rs.map((c) => (c.case === "fork-cow-hugetlb" ? { ...c, status: "skip", reason: "needs hugetlb: no huge pages" } : c)));
    const after = withResults(base, (rs) => rs.map((c) => (c.case === "fork-cow-hugetlb" ? { ...c, status: "skip", reason: "needs hugetlb: nr_hugepages=0" } : c)));
    const d = compareRuns(before, after);
    expect(d.summary).toMatchObject({ skip_reasons: 1, exit: 0 });
    expect(formatDiff(d, { before: "A", after: "B" })).toContain("gup-after-fork/fork-cow-hugetlb: skip → skip (needs hugetlb: no huge pages ⇒ needs hugetlb: nr_hugepages=0)");
  });

  it("two leftover jobs of one kernel and arch on a side are not guessed at: their cases are missing and new", () => {
    const j = judged(aeo);
    const other = (r: JudgedCase): JudgedCase => ({ ...r, job: "6.12/cow-breakers/x86_64", variant: "cow-breakers" });
    const after: JudgedRun = { ...j, kernels: [...j.kernels, { ...j.kernels[0]!, job: "6.12/cow-breakers/x86_64", variant: "cow-breakers" }], results: [...j.results, ...j.results.map(other)] };
    const d = compareRuns(judged(base), after);
    expect(d.pairs.every((p) => p.rule === null)).toBe(true);
    expect(d.summary).toMatchObject({ compared: 0, missing: 73, new: 146, exit: 1 });
    // the text says such a job's cases in one line
    const text = formatDiff(d, { before: "A", after: "B" });
    expect(text).toContain("job 6.12/cow-breakers/x86_64 has no counterpart before: its cases are new");
    expect(text).toContain("\n  6.12/base/x86_64: all its 73 cases (no counterpart job)\n");
    expect(text).toContain("\n  6.12/cow-breakers/x86_64: all its 73 cases (no counterpart job)\n");
    expect(text).not.toMatch(/: absent → |→ absent/);
  });
});

describe("cowlab compare (the command)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cowlab-compare-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const cowlab = (...args: string[]) => execa(process.execPath, [repoPath("bin", "cowlab.js"), "compare", ...args], { cwd: repoPath(), reject: false, timeout: 60_000 });

  it("exits 0 when nothing regressed (the ablation's failures are known issues), with the counts first", async () => {
    const r = await cowlab(BASE, AEO);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.split("\n")[0]).toMatch(/^0 regressions, 0 missing, 27 expected failures/);
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host

  it("exits 1 on missing cases, and on regressions when the manifest has no known issue for them; --json is the typed diff", async () => {
    expect((await cowlab(BASE, SWAP_ONLY)).exitCode).toBe(1);
    const m = parse(await readFile(repoPath("testcases", "manifest.yaml"), "utf8")) as Record<string, unknown>;
    const bare = join(dir, "manifest.yaml");
    await writeFile(bare, stringify({ ...m, known_issues: [] }));
    const r = await cowlab(BASE, AEO, "--manifest", bare, "--json");
    expect(r.exitCode).toBe(1);
    const d = JSON.parse(r.stdout) as RunDiff;
    expect(Object.keys(d)).toEqual(expect.arrayContaining(["regressions", "fixes", "missing", "new", "skip_reasons", "infra", "summary"]));
    expect(d.summary.regressions).toBe(27);
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host

  it("exits 2 with one line naming an unreadable file", async () => {
    const missing = join(dir, "nope.json");
    const r = await cowlab(BASE, missing);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([`cowlab: ${missing}: cannot read results: ENOENT: no such file or directory, open '${missing}'`]);
    const notResults = join(dir, "not-results.json");
    await writeFile(notResults, JSON.stringify({ hello: 1 }));
    const r2 = await cowlab(notResults, BASE);
    expect(r2.exitCode).toBe(2);
    expect(r2.stderr).toMatch(new RegExp(`^cowlab: ${notResults}: not a cowlab results file: `));
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host
});
