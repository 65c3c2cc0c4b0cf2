// `cowlab explore`, how it runs: the planned jobs boot with the scenario lines, their rows
// are judged (model and differential), and every failure and model-silent divergence is
// shrunk in further guest rounds and written out as a standalone C reproducer.
import { mkdir, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { AccelChoice } from "../qemu/accel.ts";
import { runJobs } from "../run/runner.ts";
import { jobId, type JobSpec } from "../run/plan.ts";
import type { MinimizedScenario, RunResults } from "../results/schema.ts";
import { applyPolicy, type JudgedCase, type JudgedRun, type Policy } from "../results/policy.ts";
import type { Grammar } from "./grammar.ts";
import { parseScenario } from "./scenario.ts";
import { predict } from "./model.ts";
import { diverge } from "./judge.ts";
import type { Observations } from "./observations.ts";
import { analyse, exploreRows, invariantsOf, type ExploreAnalysis } from "./analysis.ts";
import { judgeScenario, rowObservations } from "./verdicts.ts";
import { shrinkAll, type Execute, type ShrinkTarget } from "./shrink.ts";
import { reproducerC } from "./reproducer.ts";
import { writeFileAtomic } from "../util/fsx.ts";

export interface ExploreRunOptions {
  outDir: string;
  jobs: JobSpec[];
  grammar: Grammar;
  accel: AccelChoice;
  /** the manifest's known issues and reports: which failures are news (and so shrunk) */
  policy: Policy;
  command: string;
  guestConcurrency?: number;
  shrink: boolean;
  /** shrink failures a known issue predicts too (by default only news is shrunk) */
  shrinkKnown?: boolean;
  /** most targets shrunk per run: failures are grouped by (job set, invariant, memory, failing step) first */
  maxTargets?: number;
  onJobDone?: (data: RunResults) => Promise<void>;
}

export type Minimized = MinimizedScenario;

export interface ExploreOutcome {
  /** the facts, as written to results.json */
  data: RunResults;
  /** the same, read under the policy */
  judged: JudgedRun;
  analysis: ExploreAnalysis;
  minimized: Minimized[];
}

/** Guest seconds a shrink round may take: the lines at a generous pace under TCG, plus slack. */
const roundBudget = (lines: number): number => Math.min(600, 30 + lines * 2);

/** Rerun lines on some jobs: one guest per job, its rows read back as observations. */
function executor(o: ExploreRunOptions, specs: Map<string, JobSpec>): Execute {
  let round = 0;
  return async (work) => {
    round++;
    const jobs = [...work].map(([id, lines]) => ({ ...specs.get(id)!, testcases: [], explore: { scenarios: lines, budgetS: roundBudget(lines.length) } }));
    const data = await runJobs({ outDir: join(o.outDir, "shrink", `round-${round}`), jobs, accel: o.accel, command: `${o.command} (shrink round ${round})`, ...(o.guestConcurrency ? { guestConcurrency: o.guestConcurrency } : {}) });
    const seen = new Map<string, Map<string, Observations>>();
    for (const r of exploreRows(data.results)) {
      const m = seen.get(r.job) ?? new Map<string, Observations>();
      seen.set(r.job, m);
      m.set(r.case, rowObservations(r));
    }
    return seen;
  };
}

/**
 * Which failures to shrink: one per (job, invariants, memory type, the ops other than reads
 * and writes), first come — lines that break the same promise with the same ingredients are
 * one bug more often than not; fork versus migrate are two.
 */
function failureTargets(rows: JudgedCase[], g: Grammar, known: boolean): ShrinkTarget[] {
  const groups = new Map<string, ShrinkTarget>();
  for (const r of rows.filter((x) => x.status === "fail" && (known || !x.expected))) {
    const invs = invariantsOf(r);
    const [memory = "", ...ops] = r.case.split(" | ");
    const ingredients = [...new Set(ops.filter((t) => !/^(read|write):/.test(t)))].sort();
    const key = [r.job, invs.join(","), memory, ...ingredients].join("\t");
    if (groups.has(key)) continue;
    groups.set(key, {
      scenario: r.case,
      jobs: [r.job],
      interesting: (obs) => {
        const o = obs.get(r.job);
        if (!o) return false;
        const j = judgeScenario(g, o);
        return j.verdict === "fail" && j.failures.some((f) => invs.includes(f.invariant));
      },
    });
  }
  return [...groups.values()];
}

/** Divergences where the model passes every run: only the comparison across kernels sees them. */
function divergenceTargets(a: ExploreAnalysis, rows: JudgedCase[]): ShrinkTarget[] {
  const out: ShrinkTarget[] = [];
  for (const d of a.divergent) {
    if (!d.modelSilent) continue;
    const rs = rows.filter((r) => r.case === d.scenario);
    const steps = new Set(d.divergences.map((x) => x.token.split(":")[0]));
    out.push({
      scenario: d.scenario,
      jobs: rs.map((r) => r.job),
      interesting: (obs) => diverge([...obs].map(([label, observations]) => ({ label, observations }))).some((x) => steps.has(x.token.split(":")[0])),
    });
  }
  return out;
}

const slug = (line: string): string => line.replace(/ \| /g, "__").replace(/[^a-z0-9_.-]+/gi, "-").slice(0, 120);

async function writeReproducer(dir: string, g: Grammar, line: string, why: string, observations: Map<string, Observations>): Promise<string> {
  const model = predict(parseScenario(line, g), g);
  const observed: Record<string, string[]> = {};
  for (const [job, o] of observations) observed[job] = model.predictions.map((p) => o.steps.find((s) => s.step === p.step)?.raw ?? "missing");
  const c = reproducerC({ scenario: line, expected: model.predictions.map((p) => ({ step: p.step, token: p.token, accepted: p.accept })), observed, why });
  const file = join(dir, `${slug(line)}.c`);
  await writeFile(file, c);
  return file;
}

export async function explore(o: ExploreRunOptions): Promise<ExploreOutcome> {
  const data = await runJobs({
    outDir: o.outDir,
    jobs: o.jobs,
    accel: o.accel,
    command: o.command,
    ...(o.guestConcurrency ? { guestConcurrency: o.guestConcurrency } : {}),
    ...(o.onJobDone ? { onJobDone: o.onJobDone } : {}),
  });
  const judged = applyPolicy(data, o.policy);
  const rows = exploreRows(judged.results);
  const analysis = analyse(judged.results);
  const minimized: Minimized[] = [];
  if (o.shrink) {
    const targets = [...failureTargets(rows, o.grammar, !!o.shrinkKnown), ...divergenceTargets(analysis, rows)].slice(0, o.maxTargets ?? 24);
    const specs = new Map(o.jobs.map((j) => [jobId(j), j]));
    const shrunk = targets.length ? await shrinkAll(targets, o.grammar, executor(o, specs)) : [];
    const dir = join(o.outDir, "explore");
    await mkdir(dir, { recursive: true });
    const seen = new Set<string>();
    for (const [i, s] of shrunk.entries()) {
      const t = targets[i]!;
      const key = `${t.jobs.join(",")}\t${s.minimal}`;
      if (seen.has(key)) continue;
      seen.add(key);
      const obs = s.observations.size ? s.observations : new Map(rows.filter((r) => r.case === s.original && t.jobs.includes(r.job)).map((r) => [r.job, rowObservations(r)]));
      const orig = rows.find((r) => r.case === s.original && r.job === t.jobs[0]);
      const why = t.jobs.length > 1 ? `divergence across ${t.jobs.join(", ")}` : `fails on ${t.jobs[0]}: ${invariantsOf(orig!).join(", ")}`;
      const file = await writeReproducer(dir, o.grammar, s.minimal, why, obs);
      minimized.push({ original: s.original, minimal: s.minimal, why, jobs: t.jobs, file: relative(o.outDir, file), rounds: s.rounds, tried: s.tried, observations: Object.fromEntries([...obs].map(([j, ob]) => [j, ob.steps.map((x) => `${x.step} ${x.token} ${x.raw}`)])) });
    }
  }
  // The shrunk scenarios join the run's results (the report shows them); the analysis is
  // recomputed from the rows whenever they are read, so it is not stored.
  if (o.shrink) {
    data.explore = { minimized };
    judged.explore = { minimized };
    await writeFileAtomic(join(o.outDir, "results.json"), JSON.stringify(data, null, 2));
  }
  return { data, judged, analysis, minimized };
}

/** The summary `cowlab explore` prints: scenarios run, failures per invariant, divergences, reproducers. */
export function exploreSummary(x: ExploreOutcome): string {
  const a = x.analysis;
  const total = a.jobs.reduce((s, j) => s + j.run, 0);
  const lines = [`explore: ${total} scenario runs on ${a.jobs.length} job(s)`];
  lines.push(`  ${"job".padEnd(34)} ${"run".padStart(6)} ${"pass".padStart(6)} ${"fail".padStart(5)} ${"known".padStart(5)} ${"skip".padStart(5)} ${"error".padStart(5)}`);
  for (const j of a.jobs) lines.push(`  ${j.job.padEnd(34)} ${String(j.run).padStart(6)} ${String(j.pass).padStart(6)} ${String(j.fail).padStart(5)} ${String(j.expected).padStart(5)} ${String(j.skip).padStart(5)} ${String(j.error).padStart(5)}`);
  const invs = Object.entries(a.invariants);
  lines.push(`failures per invariant: ${invs.length ? "" : "none"}`);
  for (const [inv, jobs] of invs) lines.push(`  ${inv}: ${Object.entries(jobs).map(([j, n]) => `${j} ${n}`).join(", ")}`);
  const silent = a.divergent.filter((d) => d.modelSilent).length;
  lines.push(`divergences: ${a.divergent.length} scenario(s) differ across runs (${silent} where the model passes every run)`);
  lines.push(`minimized reproducers: ${x.minimized.length}`);
  for (const m of x.minimized) lines.push(`  ${m.minimal}\n    ${m.why}; from '${m.original}' in ${m.rounds} round(s), ${m.tried} candidates\n    ${m.file ?? "(no file)"}`);
  return lines.join("\n");
}
