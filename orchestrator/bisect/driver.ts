// Bisection over any ordered list of kernel states (a patch prefix, a git commit): each
// probe builds the state into one reused object directory (so steps are incremental
// builds), boots it with only the test under study, and judges the selected cases.
import { join } from "node:path";
import { loadMachine, type Arch } from "../config/machines.ts";
import type { KernelSpec } from "../config/kernels.ts";
import type { Manifest } from "../config/testcases.ts";
import { bootJob, prepareJob, type JobContext } from "../run/job.ts";
import type { JobSpec } from "../run/plan.ts";
import { globRe } from "../util/glob.ts";
import { ResultsStore, hostFacts } from "../results/store.ts";
import type { CaseResult, RunResults } from "../results/schema.ts";
import { applyPolicy, type Policy } from "../results/policy.ts";
import type { SourceTree } from "../sources/types.ts";
import { cachePath } from "../util/paths.ts";
import { progress } from "../util/log.ts";
import { ok, type Result } from "../util/result.ts";
import { writeReport } from "../report/index.ts";
import { bisectPositions, type Verdict } from "./search.ts";

export interface BisectTarget {
  kind: "series" | "git";
  /** the series directory or the repository */
  target: string;
  /** number of changes: positions run 0..n */
  n: number;
  /** a short label and the subject of the change that leads to `position` */
  describe: (position: number) => { label: string; subject: string };
  /** put the working tree into the state of `position` and name it */
  checkout: (position: number) => Promise<Result<SourceTree, string>>;
  /** a key for the reused object directory */
  workKey: string;
}

export interface BisectOptions {
  kernel: KernelSpec;
  arch: Arch;
  manifest: Manifest;
  test: string;
  cases: string;
  /** the test's case names that `cases` selects: all a step's guest runs */
  selected?: string[];
  find: "regression" | "fix";
  outDir: string;
  command: string;
  /** bisect on one explorer scenario line instead of a testcase (test is then "explore") */
  scenario?: string;
}

/** Guest seconds a bisection step gives its one scenario: ample, the interpreter bounds each step itself. */
const SCENARIO_BUDGET_S = 120;

/** A step's verdict from its results: "bad" is what we look for (a failure, or with --find fix a pass). */
export function judge(results: CaseResult[], cases: string, find: "regression" | "fix"): { verdict: Verdict; why: string } {
  const picked = results.filter((r) => globRe(cases).test(r.case) || r.case === "*");
  const failing = picked.filter((r) => r.status === "fail" || r.status === "crash");
  const passing = picked.filter((r) => r.status === "pass");
  if (failing.length) {
    const why = `${failing.length} failing: ${failing.map((r) => `${r.case} (${r.status})`).join(", ")}`;
    return { verdict: find === "regression" ? "bad" : "good", why };
  }
  if (picked.some((r) => r.status === "error" || r.status === "timeout") || !passing.length) {
    return { verdict: "skip", why: `untestable: ${picked.map((r) => `${r.case}=${r.status}`).join(", ") || "no matching case"}` };
  }
  return { verdict: find === "regression" ? "good" : "bad", why: `${passing.length} passing` };
}

export async function runBisection(t: BisectTarget, o: BisectOptions): Promise<RunResults> {
  const testcase = o.manifest.testcases.find((c) => c.id === o.test);
  if (!testcase && !o.scenario) throw new Error(`unknown testcase ${o.test}`);
  // What each step's guest runs: the testcase's selected cases, or the one scenario.
  const probeWork: Pick<JobSpec, "testcases" | "cases" | "explore"> = o.scenario
    ? { testcases: [], explore: { scenarios: [o.scenario], budgetS: SCENARIO_BUDGET_S } }
    : { testcases: [testcase!], ...(o.selected ? { cases: { [testcase!.id]: o.selected } } : {}) };
  const machine = await loadMachine(o.arch);
  const policy: Policy = { knownIssues: [], knownReports: o.manifest.known_reports };
  const started = new Date();
  const store = new ResultsStore(join(o.outDir, "results.json"), {
    id: `bisect-${started.toISOString().replace(/[:.]/g, "-")}`,
    started_at: started.toISOString(),
    finished_at: null,
    complete: false,
    seconds: null,
    command: o.command,
    shard: null,
    repeat: 1,
    retry_failed: 0,
    host: await hostFacts(),
  });
  const steps: NonNullable<RunResults["bisect"]>["steps"] = [];
  const objDir = cachePath("bisect", `${t.workKey}-${o.arch}`, "obj");

  const probe = async (position: number): Promise<Verdict> => {
    const t0 = performance.now();
    const { label, subject } = t.describe(position);
    const job = `bisect ${position}/${t.n}`;
    progress(job, "checkout", `${label} ${subject}`);
    const tree = await t.checkout(position);
    const record = (verdict: Verdict, why: string, build?: { seconds: number; cached: boolean }, boot?: number | null) => {
      steps.push({ position, label, subject, verdict, why, build_seconds: build?.seconds ?? null, build_cached: build?.cached ?? null, boot_seconds: boot ?? null, seconds: Math.round((performance.now() - t0) / 100) / 10 });
      progress(job, "verdict", `${verdict}: ${why}`);
      return verdict;
    };
    if (!tree.ok) return record("skip", tree.error);
    const spec: JobSpec = { kernel: o.kernel, variant: { name: `step-${String(position).padStart(2, "0")}`, fragments: [] }, arch: o.arch, ...probeWork };
    const ctx: JobContext = {
      runDir: o.outDir,
      accel: "auto",
      source: async () => ok(tree.value),
      progress: (stage, detail = "") => progress(job, stage, detail),
      objDir,
    };
    const prepared = await prepareJob(spec, machine, ctx, t0);
    if (!prepared.ok) {
      await store.addJob(prepared.error.entry, prepared.error.results);
      return record("skip", `${prepared.error.entry.status}: ${prepared.error.entry.reason.split("\n")[0]}`);
    }
    const b = prepared.value.build;
    const outcome = await bootJob(prepared.value, ctx, t0);
    await store.addJob({ ...outcome.entry, source: `${tree.value.label}` }, outcome.results);
    // Known-harmless kernel reports are excused when results are read, here as in reports.
    const { verdict, why } = judge(applyPolicy({ ...store.data, results: outcome.results }, policy).results, o.cases, o.find);
    return record(verdict, why, { seconds: b.seconds, cached: b.cached }, outcome.entry.boot?.seconds);
  };

  const t0 = performance.now();
  const outcome = await bisectPositions(t.n, probe);
  const culprit = outcome.culprit === undefined ? null : { position: outcome.culprit, ...t.describe(outcome.culprit) };
  store.data.bisect = {
    kind: t.kind,
    target: t.target,
    kernel: o.kernel.id,
    arch: o.arch,
    test: o.test,
    cases: o.cases,
    find: o.find,
    changes: t.n,
    culprit,
    conclusion: culprit ? `${culprit.label}: ${culprit.subject}` : outcome.conclusion,
    steps,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
  await store.finish();
  await writeReport(applyPolicy(store.data, policy), o.outDir);
  return store.data;
}
