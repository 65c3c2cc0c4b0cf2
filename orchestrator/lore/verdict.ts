// What a series did, kernel by kernel: its variant's verdicts against the base variant of
// the same kernel and arch (results/compare.ts), and whether that earns a Tested-by.
import { compareToBase, type VerdictChange } from "../results/compare.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";
import { isLabJobStatus, type Verdict } from "../results/schema.ts";

export interface SeriesGroup {
  /** kernel spec id (as in the job id) */
  kernel: string;
  arch: string;
  /** uname -r of the series' kernel (its version when it never booted) */
  release: string | null;
  /** the series' job: ok, or why it never ran its cases (patch-error, build-error, ...) */
  job: { status: JudgedKernel["status"]; reason: string } | null;
  /** the base variant's job, when the run had one */
  baseJob: { status: JudgedKernel["status"]; reason: string } | null;
  cases: number;
  /** verdict → count, with and without the series */
  withSeries: Partial<Record<Verdict, number>>;
  withoutSeries: Partial<Record<Verdict, number>>;
  regressions: VerdictChange[];
  fixes: VerdictChange[];
  changed: VerdictChange[];
  unchanged: number;
  /** series cases the base variant did not run (nothing to compare them with) */
  unmatched: JudgedCase[];
  /** cases that crashed with the series, with the kernel report's title */
  crashes: { case: string; title: string }[];
  /** kernel reports of the series' guest outside any case that the base guest did not print */
  jobReports: string[];
  /** failures a known issue predicts (manifest), and known-harmless kernel reports */
  known: { what: string; reason: string }[];
}

export interface SeriesVerdict {
  series: string;
  groups: SeriesGroup[];
  /** why the series gets no Tested-by; empty when it earns one */
  withheld: string[];
}

const BAD: Verdict[] = ["fail", "crash", "timeout"];
/** Job endings that mean the series' kernel never ran its cases (a crash or timeout ran some). */
export const notRun = isLabJobStatus;
const spec = (job: string): string => job.split("/")[0]!;
const countBy = (cases: JudgedCase[]): Partial<Record<Verdict, number>> => {
  const c: Partial<Record<Verdict, number>> = {};
  for (const r of cases) c[r.status] = (c[r.status] ?? 0) + 1;
  return c;
};
/** A job's reason can carry a tool's output after its first line (patch's, make's): the reply keeps the line. */
const firstLine = (text: string): string => text.split("\n")[0]!.trim();
const caseName = (r: Pick<JudgedCase, "testcase" | "case">): string => `${r.testcase}/${r.case}`;

/** Variants of the run other than base: the series a reply could be about. */
export const seriesVariants = (run: JudgedRun): string[] => [...new Set([...run.kernels.map((k) => k.variant), ...run.results.map((r) => r.variant)])].filter((v) => v !== "base");

/**
 * A change that keeps the Tested-by back: a regression, a case that now crashes or times
 * out (whatever it did before), or one that passed and now passes only sometimes or ends
 * in a lab error (the series cannot be called tested on it).
 */
const withholds = (c: VerdictChange): boolean => c.kind === "regression" || c.now === "crash" || c.now === "timeout" || (c.base === "pass" && (c.now === "flaky" || c.now === "error"));

export function seriesVerdict(run: JudgedRun, series: string): SeriesVerdict {
  const changes = compareToBase(run.results).filter((c) => c.variant === series);
  const keys = new Map<string, { kernel: string; arch: string }>();
  for (const k of run.kernels) if (k.variant === series) keys.set(`${spec(k.job)}\u0000${k.arch}`, { kernel: spec(k.job), arch: k.arch });
  for (const r of run.results) if (r.variant === series) keys.set(`${spec(r.job)}\u0000${r.arch}`, { kernel: spec(r.job), arch: r.arch });

  const groups: SeriesGroup[] = [...keys.values()].map(({ kernel, arch }) => {
    const mine = (r: { job: string; arch: string }): boolean => spec(r.job) === kernel && r.arch === arch;
    const withCases = run.results.filter((r) => mine(r) && r.variant === series);
    const baseCases = run.results.filter((r) => mine(r) && r.variant === "base");
    const baseKeys = new Set(baseCases.map(caseName));
    const job = run.kernels.find((k) => mine(k) && k.variant === series);
    const baseJob = run.kernels.find((k) => mine(k) && k.variant === "base");
    const here = changes.filter((c) => c.kernel === kernel && c.arch === arch);
    // Reports outside any case count against the series only when the kernel without it had none such.
    const baseReports = new Set((baseJob?.boot?.reports ?? []).map((x) => x.title));
    const reports = (job?.boot?.reports ?? []).map((x) => x.title);
    // A crash's title: the attempt's report; results written before attempts named it carry
    // the whole report in the reason, which starts with the job's report title.
    const crashTitle = (r: JudgedCase): string =>
      r.attempts.find((a) => a.report)?.report ?? reports.find((t) => r.reason.startsWith(t)) ?? firstLine(r.reason).slice(0, 120);
    const crashes = withCases.filter((r) => r.status === "crash").map((r) => ({ case: caseName(r), title: crashTitle(r) }));
    const inCases = new Set([...withCases.flatMap((r) => r.attempts.flatMap((a) => (a.report ? [a.report] : []))), ...crashes.map((c) => c.title)]);
    return {
      kernel,
      arch,
      release: job ? (job.release ?? job.version) : (withCases[0]?.kernel ?? null),
      job: job ? { status: job.status, reason: firstLine(job.reason) } : null,
      baseJob: baseJob ? { status: baseJob.status, reason: firstLine(baseJob.reason) } : null,
      cases: withCases.length,
      withSeries: countBy(withCases),
      withoutSeries: countBy(baseCases),
      regressions: here.filter((c) => c.kind === "regression"),
      fixes: here.filter((c) => c.kind === "fix"),
      changed: here.filter((c) => c.kind === "changed"),
      unchanged: withCases.filter((r) => baseKeys.has(caseName(r))).length - here.length,
      unmatched: withCases.filter((r) => !baseKeys.has(caseName(r))),
      crashes,
      jobReports: reports.filter((t) => !inCases.has(t) && !job!.known_reports.some((k) => k.title === t) && !baseReports.has(t)),
      known: [
        ...withCases.filter((r) => r.expected).map((r) => ({ what: caseName(r), reason: r.expected!.reason })),
        ...(job?.known_reports ?? []).map((k) => ({ what: k.title, reason: k.reason })),
      ],
    };
  });

  const withheld: string[] = [];
  if (!run.run.complete) withheld.push("the run did not complete");
  if (!groups.length) withheld.push(`no job ran the series ${series}`);
  for (const g of groups) {
    const where = `${g.kernel} ${g.arch}`;
    if (g.job && notRun(g.job.status)) withheld.push(`${where}: the series' job ended in ${g.job.status}${g.job.reason ? `: ${g.job.reason}` : ""}`);
    else if (g.job && g.job.status !== "ok") withheld.push(`${where}: the series' kernel ended in a ${g.job.status}${g.job.reason ? ` (${g.job.reason})` : ""}`);
    else if (!g.cases) withheld.push(`${where}: no case ran with the series`);
    const held = [...g.regressions, ...g.changed].filter(withholds);
    if (held.length) {
      const r = g.regressions.length;
      const other = held.length - r;
      const parts = [r ? `${r} regression${r > 1 ? "s" : ""}` : "", other ? `${other} case${other > 1 ? "s" : ""} newly crashing, timing out, flaky or in error` : ""].filter(Boolean);
      withheld.push(`${where}: ${parts.join(" and ")}`);
    }
    const lone = g.unmatched.filter((r) => BAD.includes(r.status) && !r.expected);
    if (lone.length) withheld.push(`${where}: ${lone.length} failing case${lone.length > 1 ? "s" : ""} with no run without the series to compare with`);
    if (g.jobReports.length) withheld.push(`${where}: the kernel reported ${g.jobReports[0]}`);
  }
  return { series, groups, withheld };
}
