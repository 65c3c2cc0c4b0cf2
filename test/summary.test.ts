// The markdown step summary `cowlab merge` writes for GitHub Actions (orchestrator/export/summary.ts),
// on real runs (test/fixtures/results/), and the merge command writing it.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { repoPath } from "../orchestrator/util/paths.ts";
import { exists } from "../orchestrator/util/fsx.ts";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedCase, type JudgedRun, type Policy } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { githubRunUrl, mdText, stepSummary } from "../orchestrator/export/summary.ts";
import type { RunResults } from "../orchestrator/results/schema.ts";

const BASE = repoPath("test", "fixtures", "results", "6.12-x86_64-base.json");
const AEO = repoPath("test", "fixtures", "results", "6.12-x86_64-anon-exclusive-off.json");
const NO_ISSUES: Policy = { knownIssues: [], knownReports: [] };
const OPTS = { title: "cowlab merge", reportPath: "report/index.html" };

let manifest: Policy;
let base: RunResults;
let aeo: RunResults;
beforeAll(async () => {
  [manifest, base, aeo] = await Promise.all([readPolicy(), readResults(BASE), readResults(AEO)]);
});

/** Both real runs as one, as `cowlab merge` would join them. */
function both(p: Policy): JudgedRun {
  const a = applyPolicy(base, p);
  const b = applyPolicy(aeo, p);
  return { ...a, kernels: [...a.kernels, ...b.kernels], results: [...a.results, ...b.results] };
}

/** The cells of a markdown table row, split on the pipes markdown sees (not escaped ones). */
const cells = (row: string): string[] => row.replace(/^\|/, "").replace(/\|$/, "").split(/(?<!\\)\|/).map((c) => c.trim());

function table(md: string): string[][] {
  const rows = md.split("\n").filter((l) => l.startsWith("|"));
  const widths = new Set(rows.map((r) => cells(r).length));
  expect(widths.size).toBe(1); // every row has as many cells as the header
  return rows.map(cells);
}

describe("step summary of real runs", () => {
  it("under the manifest: no regressions, counts per verdict, one table row per job with its verdict counts", () => {
    const md = stepSummary(both(manifest), OPTS);
    expect(md.split("\n")[0]).toBe("### cowlab merge: ✅ no regressions");
    expect(md).toContain(`Run \`${base.run.id}\`: 2 jobs, 146 cases — 35 expected-fail, 111 pass.`);
    const t = table(md);
    expect(t[0]).toEqual(["job", "kernel", "job status", "expected-fail", "pass"]);
    expect(t.slice(2)).toEqual([
      ["6.12/base/x86\\_64", "6.12.117", "ok", "4", "69"],
      ["6.12/anon-exclusive-off/x86\\_64", "6.12.117", "ok", "31", "42"],
    ]);
    expect(md).not.toContain("#### Regressions");
    expect(md).toContain("Full report: `report/index.html` (the consoles");
  });

  it("without known issues: every failure is a regression, listed with its reason, the list capped", () => {
    const run = both(NO_ISSUES);
    const md = stepSummary(run, { ...OPTS, maxLines: 10, runUrl: "https://github.com/o/r/actions/runs/7" });
    expect(md.split("\n")[0]).toBe("### cowlab merge: ❌ 35 regressions");
    expect(md).toContain("#### Regressions (35)");
    const listed = md.split("\n").filter((l) => /^- `6\.12\/.*`: \*\*fail\*\* — /.test(l));
    expect(listed).toHaveLength(10);
    expect(md).toContain("- … and 25 more (see the report)");
    const first = run.results.find((r) => r.status === "fail")!;
    expect(md).toContain(`- \`${first.job} ${first.testcase}/${first.case}\`: **fail** — ${mdText(first.reason)}`);
    expect(md).toContain("in the [run's artifacts](https://github.com/o/r/actions/runs/7#artifacts)");
  });
});

describe("what real runs rarely show", () => {
  it("flakes with their pass rate, a job that did not build said once, a lab error, and kernel text that would break markdown", () => {
    const j = both(manifest);
    const flakyCase = (r: JudgedCase): JudgedCase => ({ ...r, status: "flaky", reason: "passed 2 of 3", attempts: [r.attempts[0]!, r.attempts[0]!, { ...r.attempts[0]!, status: "fail", reason: "pin lost" }] });
    const broken = j.kernels[1]!.job;
    const run: JudgedRun = {
      ...j,
      kernels: j.kernels.map((k) => (k.job === broken ? { ...k, status: "build-error", reason: "make failed: <stdin>:1: error | bad\nlog tail" } : k)),
      results: [
        ...j.results.filter((r) => r.job !== broken).map((r) => (r.case === "fork-cow-base" ? flakyCase(r) : r.case === "fork-cow-thp" ? { ...r, status: "error" as const, reason: "harness: no KTAP plan from `swap`" } : r)),
        { ...j.results.find((r) => r.job === broken)!, case: "*", status: "error", reason: "build-error: make failed" },
      ],
    };
    const md = stepSummary(run, OPTS);
    expect(md.split("\n")[0]).toBe("### cowlab merge: ⚠️ the lab failed part of the run");
    expect(md).toContain("#### Flaky (1) — passed only sometimes; not regressions");
    expect(md).toContain("- `6.12/base/x86_64 gup-after-fork/fork-cow-base`: passed 67% of 3 attempts");
    expect(md).toContain(`- job \`${broken}\`: **build-error** — make failed: \\<stdin\\>:1: error \\| bad`);
    expect(md).not.toContain("build-error: make failed"); // its error rows are said on the job
    expect(md).toContain("- `6.12/base/x86_64 gup-after-fork/fork-cow-thp`: error — harness: no KTAP plan from \\`swap\\`");
    const t = table(md);
    expect(t.find((r) => r[0] === mdText(broken))![2]).toBe("**build-error**");
  });

  it("the run's page comes from the variables GitHub gives every step", () => {
    expect(githubRunUrl({ GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "9" })).toBe("https://github.com/o/r/actions/runs/9");
    expect(githubRunUrl({ GITHUB_SERVER_URL: "https://github.com" })).toBeUndefined();
  });
});

describe("cowlab merge writes the summary", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cowlab-summary-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const merge = (out: string, args: string[], env: Record<string, string> = {}) =>
    execa(process.execPath, [repoPath("bin", "cowlab.js"), "merge", BASE, AEO, "--out", out, ...args], { cwd: dir, env: { GITHUB_STEP_SUMMARY: "", ...env }, reject: false, timeout: 60_000 });

  it("appends to $GITHUB_STEP_SUMMARY (what earlier steps wrote stays), or writes --summary FILE, or nothing when neither is given", async () => {
    const step = join(dir, "step.md");
    await writeFile(step, "# an earlier step\n");
    const r = await merge(join(dir, "m1"), [], { GITHUB_STEP_SUMMARY: step, GITHUB_SERVER_URL: "https://github.com", GITHUB_REPOSITORY: "o/r", GITHUB_RUN_ID: "5" });
    expect(r.exitCode).toBe(0);
    const text = await readFile(step, "utf8");
    expect(text.startsWith("# an earlier step\n### cowlab merge: ✅ no regressions\n")).toBe(true);
    expect(text).toContain("Full report: `m1/index.html` in the [run's artifacts](https://github.com/o/r/actions/runs/5#artifacts)");

    const file = join(dir, "summary.md");
    expect((await merge(join(dir, "m2"), ["--summary", file])).exitCode).toBe(0);
    expect(await readFile(file, "utf8")).toMatch(/^### cowlab merge: ✅ no regressions\n/);

    expect((await merge(join(dir, "m3"), [])).exitCode).toBe(0);
    expect(await exists(join(dir, "m3", "results.json"))).toBe(true);
    expect((await readFile(step, "utf8")).match(/### cowlab merge/g)).toHaveLength(1);
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host

  it("a summary file it cannot write is one line naming it, exit 2, and the merged results are still written", async () => {
    const aFile = join(dir, "a-file");
    await writeFile(aFile, "");
    const r = await merge(join(dir, "m4"), ["--summary", join(aFile, "s.md")]); // a folder that is a file
    expect(r.exitCode).toBe(2);
    const errors = r.stderr.trim().split("\n").filter((l) => l.startsWith("cowlab: "));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^cowlab: --summary: cannot write .*a-file\/s\.md: /);
    expect(await exists(join(dir, "m4", "results.json"))).toBe(true);
    expect(await exists(join(dir, "m4", "index.html"))).toBe(true);
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host
});
