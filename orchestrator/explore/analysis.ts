// Reading explore rows back (interpretation at read time): counts per job, failures per
// invariant, and the differential judgement across every kernel, arch and variant of a run.
import type { JudgedCase } from "../results/policy.ts";
import { diverge, type Divergence } from "./judge.ts";
import { EXPLORE, rowObservations } from "./verdicts.ts";

export interface JobCounts {
  job: string;
  run: number;
  pass: number;
  fail: number;
  skip: number;
  error: number;
  /** failures that a known issue predicts */
  expected: number;
}

export interface ScenarioDivergence {
  scenario: string;
  divergences: Divergence[];
  /** every job passes the model: only the comparison across jobs sees it */
  modelSilent: boolean;
}

export interface ExploreAnalysis {
  jobs: JobCounts[];
  /** invariant → job → failing scenarios */
  invariants: Record<string, Record<string, number>>;
  divergent: ScenarioDivergence[];
}

export const exploreRows = (rows: JudgedCase[]): JudgedCase[] => rows.filter((r) => r.family === EXPLORE.family && r.case !== "*");

/** The invariants a failing row names (its reason lines end in `(invariant)`). */
export function invariantsOf(r: JudgedCase): string[] {
  if (r.status !== "fail") return [];
  const found = r.reason.split("\n").filter((l) => !l.startsWith("tolerated")).map((l) => (l.startsWith("kernel reported:") ? "kernel-quiet" : /\(([a-z-]+)\)$/.exec(l)?.[1])).filter((x): x is string => !!x);
  return [...new Set(found)];
}

export function analyse(results: JudgedCase[]): ExploreAnalysis {
  const rows = exploreRows(results);
  const byJob = new Map<string, JobCounts>();
  const invariants: ExploreAnalysis["invariants"] = {};
  for (const r of rows) {
    const c = byJob.get(r.job) ?? { job: r.job, run: 0, pass: 0, fail: 0, skip: 0, error: 0, expected: 0 };
    byJob.set(r.job, c);
    c.run++;
    if (r.status === "pass" || r.status === "skip" || r.status === "error") c[r.status]++;
    else if (r.expected) c.expected++;
    else c.fail++;
    if (r.expected) continue;
    for (const inv of invariantsOf(r)) {
      const m = (invariants[inv] ??= {});
      m[r.job] = (m[r.job] ?? 0) + 1;
    }
  }
  const byScenario = new Map<string, JudgedCase[]>();
  for (const r of rows) byScenario.set(r.case, [...(byScenario.get(r.case) ?? []), r]);
  const divergent: ScenarioDivergence[] = [];
  for (const [scenario, rs] of byScenario) {
    const d = diverge(rs.map((r) => ({ label: r.job, observations: rowObservations(r) })));
    if (d.length) divergent.push({ scenario, divergences: d, modelSilent: rs.every((r) => r.status === "pass") });
  }
  return { jobs: [...byJob.values()].sort((a, b) => a.job.localeCompare(b.job)), invariants, divergent };
}
