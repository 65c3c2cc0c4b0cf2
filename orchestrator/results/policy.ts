// Interpretation at read time: results.json holds facts; known issues and known reports from
// the manifest are applied whenever results are read (run, report, merge, compare, exit code),
// so editing the manifest and running `cowlab report` updates the verdicts without a rerun.
import type { KnownIssue, KnownReport, Manifest } from "../config/testcases.ts";
import { aggregate } from "./attempts.ts";
import { knownIssueFor } from "./known.ts";
import type { CaseResult, KernelEntry, RunResults } from "./schema.ts";
import { inRange } from "./versions.ts";

export interface Policy {
  knownIssues: KnownIssue[];
  knownReports: KnownReport[];
}

/** The policy a manifest states. */
export const policyOf = (m: Pick<Manifest, "known_issues" | "known_reports">): Policy => ({ knownIssues: m.known_issues, knownReports: m.known_reports });

export interface Expected {
  reason: string;
  fixed_in?: string;
}
/** A case as read under a policy: `expected` when a known issue predicts its failure. */
export type JudgedCase = CaseResult & { expected?: Expected };
/** A job as read: its known-harmless reports named, and no longer a crash if they were all. */
export type JudgedKernel = KernelEntry & { known_reports: { title: string; at?: number; line?: number; reason: string }[] };
export type JudgedRun = Omit<RunResults, "results" | "kernels"> & { results: JudgedCase[]; kernels: JudgedKernel[] };

const knownReportFor = (title: string, release: string, arch: string, reports: KnownReport[]): KnownReport | undefined =>
  reports.find((k) => title.includes(k.title) && inRange(release, k.kernels) && (!k.arches || k.arches.includes(arch)));

function judgeCase(r: CaseResult, p: Policy): JudgedCase {
  // A known-harmless kernel report gives the attempt back what the program itself said.
  let attempts = r.attempts;
  if (p.knownReports.length && attempts.some((a) => a.report !== undefined)) {
    attempts = attempts.map((a) => (a.report !== undefined && a.own !== undefined && knownReportFor(a.report, r.kernel, r.arch, p.knownReports) ? { ...a, status: a.own } : a));
  }
  const base: CaseResult = attempts === r.attempts ? r : { ...r, attempts, ...aggregate(attempts) };
  if (base.status !== "fail" && base.status !== "flaky") return base;
  const k = knownIssueFor(base, p.knownIssues);
  return k ? { ...base, expected: { reason: k.reason, ...(k.fixed_in ? { fixed_in: k.fixed_in } : {}) } } : base;
}

function judgeKernel(k: KernelEntry, p: Policy): JudgedKernel {
  const release = k.release ?? k.version;
  const known_reports = (k.boot?.reports ?? []).flatMap((r) => {
    const kr = knownReportFor(r.title, release, k.arch, p.knownReports);
    return kr ? [{ ...r, reason: kr.reason }] : [];
  });
  const allKnown = k.status === "crash" && known_reports.length > 0 && known_reports.length === k.boot!.reports.length;
  return { ...k, known_reports, ...(allKnown ? { status: "ok" as const, reason: "" } : {}) };
}

export function applyPolicy(data: RunResults, p: Policy): JudgedRun {
  return { ...data, kernels: data.kernels.map((k) => judgeKernel(k, p)), results: data.results.map((r) => judgeCase(r, p)) };
}

/** A failure nobody predicted: what makes the exit code 1. */
export const isRegression = (r: JudgedCase): boolean => (r.status === "fail" && !r.expected) || r.status === "crash" || r.status === "timeout";
