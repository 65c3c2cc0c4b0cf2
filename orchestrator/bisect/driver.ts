// Bisection over any ordered list of kernel states (a patch prefix, a git commit): each
// probe builds the state into one reused object directory (so steps are incremental
// builds) with a fixed build identity (build/kernel.ts `reproducible`: equal sources, equal
// images), boots it with only the test under study (--repeat N: N guests, job.ts), and
// judges the selected cases over the guests (verdict.ts). Steps whose kernel is the same as
// a decided step's are neither built (same sources but comments) nor booted (same image):
// steps.ts.
import { join } from "node:path";
import { loadMachine, type Arch } from "../config/machines.ts";
import type { KernelSpec } from "../config/kernels.ts";
import type { Manifest } from "../config/testcases.ts";
import { bootJob, prepareJob, type JobContext, type Prepared } from "../run/job.ts";
import type { JobSpec } from "../run/plan.ts";
import { ResultsStore, hostFacts } from "../results/store.ts";
import type { RunResults } from "../results/schema.ts";
import { applyPolicy, type Policy } from "../results/policy.ts";
import type { SourceTree } from "../sources/types.ts";
import { progress } from "../util/log.ts";
import { err, ok, type Result } from "../util/result.ts";
import { writeReport } from "../report/index.ts";
import { recordAndReadHistory } from "../report/history.ts";
import { bisectPositions } from "./search.ts";
import type { SourceComparison } from "./noop.ts";
import { StepRunner } from "./steps.ts";
import { attemptOf } from "./verdict.ts";

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
  /** do two positions build the same kernel, judged from their sources (the tree stays put)? */
  sameSource: (a: number, b: number) => Promise<SourceComparison>;
  /** names the target's working tree and its lock (builds go to the base's workspace, build/workspace.ts) */
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
  /** guests per step (--repeat; default 1): bad if any fails, good only if all pass (verdict.ts) */
  repeat?: number;
}

/** Guest seconds a bisection step gives its one scenario: ample, the interpreter bounds each step itself. */
const SCENARIO_BUDGET_S = 120;

export async function runBisection(t: BisectTarget, o: BisectOptions): Promise<RunResults> {
  const testcase = o.manifest.testcases.find((c) => c.id === o.test);
  if (!testcase && !o.scenario) throw new Error(`unknown testcase ${o.test}`);
  // What each step's guest runs: the testcase's selected cases, or the one scenario.
  const probeWork: Pick<JobSpec, "testcases" | "cases" | "explore"> = o.scenario
    ? { testcases: [], explore: { scenarios: [o.scenario], budgetS: SCENARIO_BUDGET_S } }
    : { testcases: [testcase!], ...(o.selected ? { cases: { [testcase!.id]: o.selected } } : {}) };
  const machine = await loadMachine(o.arch);
  const policy: Policy = { knownIssues: [], knownReports: o.manifest.known_reports };
  const repeat = o.repeat ?? 1;
  const started = new Date();
  const store = new ResultsStore(join(o.outDir, "results.json"), {
    id: `bisect-${started.toISOString().replace(/[:.]/g, "-")}`,
    started_at: started.toISOString(),
    finished_at: null,
    complete: false,
    seconds: null,
    command: o.command,
    shard: null,
    repeat,
    retry_failed: 0,
    host: await hostFacts(),
  });
  // The kernel the last step built, ready to boot.
  let current: { position: number; tree: SourceTree; prepared: Prepared } | undefined;
  const ctxFor = (position: number, tree: SourceTree): JobContext => ({
    runDir: o.outDir,
    accel: "auto",
    repeat,
    source: async () => ok(tree),
    progress: (stage, detail = "") => progress(`bisect ${position}/${t.n}`, stage, detail),
    // so that a kernel built twice from the same sources is the same image (steps.ts)
    reproducible: true,
  });
  const specFor = (position: number): JobSpec => ({ kernel: o.kernel, variant: { name: `step-${String(position).padStart(2, "0")}`, fragments: [] }, arch: o.arch, ...probeWork });

  const runner = new StepRunner(
    {
      n: t.n,
      describe: t.describe,
      sameSource: t.sameSource,
      build: async (position) => {
        const t0 = performance.now();
        const { label, subject } = t.describe(position);
        progress(`bisect ${position}/${t.n}`, "checkout", `${label} ${subject}`);
        const tree = await t.checkout(position);
        if (!tree.ok) return err(tree.error);
        const prepared = await prepareJob(specFor(position), machine, ctxFor(position, tree.value), t0);
        if (!prepared.ok) {
          await store.addJob(prepared.error.entry, prepared.error.results);
          return err(`${prepared.error.entry.status}: ${prepared.error.entry.reason.split("\n")[0]}`);
        }
        current = { position, tree: tree.value, prepared: prepared.value };
        const b = prepared.value.build;
        if (!b) throw new Error("bisect: a step is always built (its runtime boots the built kernel)");
        return ok({ image_sha256: b.image_sha256, seconds: b.seconds, cached: b.cached });
      },
      boot: async (position) => {
        if (current?.position !== position) throw new Error(`bisect: position ${position} was not built before its boot`);
        const t0 = performance.now();
        // One job, `repeat` guests of the same kernel and initramfs; each case keeps its attempts.
        const outcome = await bootJob(current.prepared, ctxFor(position, current.tree), t0);
        await store.addJob({ ...outcome.entry, source: current.tree.label }, outcome.results);
        // Known-harmless kernel reports are excused when results are read, here as in reports.
        const judged = applyPolicy({ ...store.data, results: outcome.results }, policy).results;
        return {
          attempts: Array.from({ length: repeat }, (_, i) => attemptOf(judged, i + 1, o.cases)),
          bootSeconds: outcome.entry.boot?.seconds ?? null,
        };
      },
      progress: (position, stage, detail) => progress(`bisect ${position}/${t.n}`, stage, detail),
    },
    { find: o.find, repeat },
  );

  const t0 = performance.now();
  const outcome = await bisectPositions(t.n, runner.probe);
  const culprit = outcome.culprit === undefined ? null : { position: outcome.culprit, ...t.describe(outcome.culprit) };
  const flake = runner.flake();
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
    conclusion: (culprit ? `${culprit.label}: ${culprit.subject}` : outcome.conclusion) + (flake ? ` (${flake.hint})` : ""),
    flake: flake ?? null,
    steps: runner.steps,
    seconds: Math.round((performance.now() - t0) / 100) / 10,
  };
  await store.finish();
  const judged = applyPolicy(store.data, policy);
  await writeReport(judged, o.outDir, { history: await recordAndReadHistory(judged, o.outDir) });
  return store.data;
}
