// A case's attempts (--repeat, --retry-failed) and the verdict they add up to. Aggregation
// is mechanical (no manifest involved); known issues and known reports are applied later,
// when results are read (policy.ts).
import type { Attempt, Boot, CaseResult, KernelEntry, Status, Verdict } from "./schema.ts";

/** One case as one guest saw it: what classification produces, before attempts are folded. */
export type AttemptRow = Omit<CaseResult, "status" | "attempts" | "duration_ms" | "reason"> & Omit<Attempt, "guest">;

/** The stable identity of a case across runs: kernel spec / variant / arch, testcase, case. */
export const caseId = (r: Pick<CaseResult, "job" | "testcase" | "case">): string => `${r.job} ${r.testcase}/${r.case}`;

/** Worst first: the verdict of attempts that never passed but disagree. */
const SEVERITY: Status[] = ["crash", "timeout", "fail", "error", "skip", "pass"];

/** The median, exact (an even count averages the middle two). */
export function medianOf(xs: number[]): number | null {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The median of whole milliseconds, rounded to one. */
export function median(xs: number[]): number | null {
  const m = medianOf(xs);
  return m === null ? null : Math.round(m);
}

export function aggregate(attempts: Attempt[]): Pick<CaseResult, "status" | "duration_ms" | "reason"> {
  const statuses = new Set(attempts.map((a) => a.status));
  const passed = statuses.has("pass");
  const bad = attempts.filter((a) => a.status !== "pass" && a.status !== "skip");
  let status: Verdict;
  let reason: string;
  if (passed && bad.length) {
    status = "flaky";
    reason = `passed ${attempts.length - bad.length} of ${attempts.length} attempts; attempt ${attempts.indexOf(bad[0]!) + 1} (${bad[0]!.status}): ${bad[0]!.reason}`;
  } else if (passed) {
    // passed, and otherwise only skipped (the guest could not set the case up once): a pass
    status = "pass";
    reason = "";
  } else {
    status = SEVERITY.find((s) => statuses.has(s)) ?? attempts[0]!.status;
    reason = attempts.find((a) => a.status === status)?.reason ?? "";
  }
  return { status, duration_ms: median(attempts.flatMap((a) => (a.duration_ms === null ? [] : [a.duration_ms]))), reason };
}

/** Fraction of attempts that passed. */
export const passRate = (r: Pick<CaseResult, "attempts">): number => r.attempts.filter((a) => a.status === "pass").length / r.attempts.length;

/** Duration spread over the attempts: [min, max] in ms, or null when none has a duration. */
export function durationSpread(r: Pick<CaseResult, "attempts">): [number, number] | null {
  const d = r.attempts.flatMap((a) => (a.duration_ms === null ? [] : [a.duration_ms]));
  return d.length ? [Math.min(...d), Math.max(...d)] : null;
}

/** Join each guest's rows into one result per case, attempts in guest order. */
export function foldAttempts(guests: { guest: number; rows: AttemptRow[] }[]): CaseResult[] {
  const byId = new Map<string, { first: AttemptRow; attempts: Attempt[] }>();
  for (const { guest, rows } of guests) {
    for (const row of rows) {
      const { status, duration_ms, reason, report, own } = row;
      const attempt: Attempt = { status, duration_ms, reason, guest, ...(report !== undefined ? { report } : {}), ...(own !== undefined ? { own } : {}) };
      const id = caseId(row);
      const entry = byId.get(id);
      if (entry) entry.attempts.push(attempt);
      else byId.set(id, { first: row, attempts: [attempt] });
    }
  }
  return [...byId.values()].map(({ first, attempts }) => {
    const { job, kernel, arch, variant, testcase, family, observations } = first;
    return { job, kernel, arch, variant, testcase, case: first.case, family, ...aggregate(attempts), attempts, ...(observations ? { observations } : {}) };
  });
}

/** A result of exactly one attempt (jobs that never reached a guest, tests). */
export const single = (row: AttemptRow, guest = 1): CaseResult => foldAttempts([{ guest, rows: [row] }])[0]!;

/** Did this case not pass (so --retry-failed reruns it)? */
export const needsRetry = (r: Pick<CaseResult, "status">): boolean => !["pass", "skip"].includes(r.status);

/** The guest an attempt ran in: guest 1 is the job's boot, guest n its (n-1)th rerun. */
export const guestBoot = (k: Pick<KernelEntry, "boot" | "reruns">, n: number): Boot | null => (n === 1 ? k.boot : (k.reruns[n - 2] ?? null));
