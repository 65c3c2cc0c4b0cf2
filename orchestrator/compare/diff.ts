// Before/after comparison of two judged runs (`cowlab compare A.json B.json`): which cases
// regressed, were fixed, went missing or appeared, per job. Pure: judged runs in, typed diff out.
// Modelled on SQUAD's TestComparison (regressions pass→fail, fixes fail/xfail→pass) and
// kci-dev's `results compare`; orchestrator/results/compare.ts (variants against base within
// one run, for the report) keeps its own simpler rules and callers.
import { isLabJobStatus, type Verdict } from "../results/schema.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";

/** One side of a compared case: its verdict, why, and the known issue that predicts it (if any). */
export interface CaseSide {
  status: Verdict;
  reason: string;
  /** reason of the manifest known issue that predicts this failure */
  expected?: string;
  /** the side had no row for this case: its testcase-level row (`TESTCASE/*`) stood in for it */
  stand_in?: true;
}

export interface CaseChange {
  /** the after run's job id (the before run's when the case is missing) */
  job: string;
  /** the before run's job id, when it differs (jobs paired across variant names) */
  before_job?: string;
  testcase: string;
  case: string;
  before: CaseSide | null;
  after: CaseSide | null;
}

export type PairRule = "same-id" | "one-per-kernel-arch";

export interface JobPair {
  before: string | null;
  after: string | null;
  /** same-id: the job ids match; one-per-kernel-arch: each run had exactly one otherwise unpaired job of this kernel spec and arch */
  rule: PairRule | null;
}

/** A job the lab could not run (its build failed, QEMU died...): its cases are not compared one by one. */
export interface InfraJob {
  side: "before" | "after";
  job: string;
  status: JudgedKernel["status"];
  reason: string;
  /** cases of this job (or of its paired job) whose comparison this failure prevented */
  cases: number;
}

export interface RunDiff {
  before: { id: string; complete: boolean };
  after: { id: string; complete: boolean };
  pairs: JobPair[];
  /** the after run fails (unpredicted fail, crash, timeout) a case the before run did not fail */
  regressions: CaseChange[];
  /** failed (fail, predicted or not; crash; timeout) before, passes after */
  fixes: CaseChange[];
  /** did not fail before, fails after as a manifest known issue predicts */
  expected: CaseChange[];
  /** in the before run, absent from the after run (and no testcase-level row there stands in) */
  missing: CaseChange[];
  /** absent from the before run */
  new: CaseChange[];
  /** skipped in both runs, for a different reason */
  skip_reasons: CaseChange[];
  /** any other verdict change: pass→flaky, pass→skip, fail→crash, ... */
  changed: CaseChange[];
  /** what the lab, not the kernel, got wrong: jobs that did not run, and `error` cases */
  infra: { jobs: InfraJob[]; cases: CaseChange[] };
  summary: {
    compared: number;
    unchanged: number;
    regressions: number;
    fixes: number;
    expected: number;
    missing: number;
    new: number;
    skip_reasons: number;
    changed: number;
    infra: number;
    /** 0 nothing regressed; 1 a regression or a missing case; 2 the lab kept part of the comparison from being made */
    exit: 0 | 1 | 2;
  };
}


const BAD: readonly Verdict[] = ["fail", "crash", "timeout"];
/** A failure nobody predicted (as policy.ts isRegression). */
const unpredictedBad = (s: CaseSide): boolean => BAD.includes(s.status) && !(s.status === "fail" && s.expected);
/** The before side showed no failure of the kernel: it passed (at least once) or could not set the case up. */
const didNotFail = (s: CaseSide): boolean => s.status === "pass" || s.status === "flaky" || s.status === "skip";

export type Transition = "regression" | "fix" | "expected" | "changed" | "skip_reason" | "infra" | "same";

/**
 * How a case's verdict moved from the before run to the after run. The rules:
 * - `error` on either side → infra: the lab could not run the case, the kernel is not judged;
 * - after is an unpredicted failure (fail without a known issue, crash, timeout):
 *   a regression when before passed, was flaky (passed sometimes: flaky→fail regresses) or
 *   skipped (the case stopped being skipped and fails: a failure before did not show);
 *   also when before failed as a known issue predicts and after crashes or times out (worse
 *   than the documented failure). Already failing before (unpredicted): only `changed`
 *   (fail→crash) or `same`.
 * - after fails as a known issue predicts (JudgedCase.expected) where before did not fail:
 *   `expected`, not a regression: the manifest is where a failure is accepted, and `cowlab
 *   run`/`report` exit 0 on it too. A failure predicted on both sides is simply `same`.
 * - a fix: before failed (predicted or not, crash, timeout), after passes; a pass only some of
 *   the time (flaky) is not a fix but `changed`;
 * - skip on both sides with different reasons → skip_reason (coverage may have moved);
 * - any other change of verdict → changed; equal verdicts → same.
 */
export function transition(before: CaseSide, after: CaseSide): Transition {
  if (before.status === "error" || after.status === "error") return "infra";
  if (unpredictedBad(after)) {
    if (didNotFail(before)) return "regression";
    if (before.status === "fail" && before.expected && after.status !== "fail") return "regression";
    return before.status === after.status ? "same" : "changed";
  }
  if (after.status === "fail" && after.expected && didNotFail(before)) return "expected";
  if (after.status === "pass" && BAD.includes(before.status)) return "fix";
  if (before.status === "skip" && after.status === "skip") return before.reason === after.reason ? "same" : "skip_reason";
  return before.status === after.status ? "same" : "changed";
}

const side = (r: JudgedCase, standIn = false): CaseSide => ({
  status: r.status,
  reason: r.reason,
  ...(r.expected ? { expected: r.expected.reason } : {}),
  ...(standIn ? { stand_in: true as const } : {}),
});

interface JobView {
  id: string;
  spec: string;
  arch: string;
  kernel: JudgedKernel | undefined;
  cases: JudgedCase[];
}

function jobsOf(run: JudgedRun): JobView[] {
  const ids = [...new Set([...run.kernels.map((k) => k.job), ...run.results.map((r) => r.job)])];
  return ids.map((id) => {
    const kernel = run.kernels.find((k) => k.job === id);
    const first = run.results.find((r) => r.job === id);
    return { id, spec: kernel?.kernel_spec ?? id.split("/")[0]!, arch: kernel?.arch ?? first?.arch ?? id.split("/").at(-1)!, kernel, cases: run.results.filter((r) => r.job === id) };
  });
}

/**
 * Jobs pair by id; then, so that a base run compares with a series run (`6.12/base/x86_64`
 * against `6.12/anon-exclusive-off/x86_64`), the jobs left over pair when each run has exactly
 * one of them for the same kernel spec and arch. Two or more leftovers of one spec/arch on a
 * side would be a guess: they stay unpaired (their cases are missing or new).
 */
function pairJobs(before: JobView[], after: JobView[]): { b: JobView | undefined; a: JobView | undefined; rule: PairRule | null }[] {
  const afterIds = new Map(after.map((j) => [j.id, j]));
  const pairs: { b: JobView | undefined; a: JobView | undefined; rule: PairRule | null }[] = [];
  const used = new Set<string>();
  for (const j of before) {
    const match = afterIds.get(j.id);
    if (match) {
      pairs.push({ b: j, a: match, rule: "same-id" });
      used.add(match.id);
    }
  }
  const leftBefore = before.filter((j) => !afterIds.has(j.id));
  const leftAfter = after.filter((j) => !used.has(j.id));
  const group = (js: JobView[]): Map<string, JobView[]> => {
    const m = new Map<string, JobView[]>();
    for (const j of js) m.set(`${j.spec}\u0000${j.arch}`, [...(m.get(`${j.spec}\u0000${j.arch}`) ?? []), j]);
    return m;
  };
  const gb = group(leftBefore);
  const ga = group(leftAfter);
  for (const [key, bs] of gb) {
    const as = ga.get(key) ?? [];
    if (bs.length === 1 && as.length === 1) {
      pairs.push({ b: bs[0], a: as[0], rule: "one-per-kernel-arch" });
      used.add(as[0]!.id);
    } else for (const j of bs) pairs.push({ b: j, a: undefined, rule: null });
  }
  for (const j of leftAfter) if (!used.has(j.id)) pairs.push({ b: undefined, a: j, rule: null });
  return pairs;
}

const key = (r: Pick<JudgedCase, "testcase" | "case">): string => `${r.testcase}/${r.case}`;
const labFailed = (j: JobView | undefined): boolean => !!j?.kernel && isLabJobStatus(j.kernel.status);

export function compareRuns(before: JudgedRun, after: JudgedRun): RunDiff {
  const diff: Omit<RunDiff, "summary"> = {
    before: { id: before.run.id, complete: before.run.complete },
    after: { id: after.run.id, complete: after.run.complete },
    pairs: [],
    regressions: [],
    fixes: [],
    expected: [],
    missing: [],
    new: [],
    skip_reasons: [],
    changed: [],
    infra: { jobs: [], cases: [] },
  };
  let compared = 0;
  let unchanged = 0;
  for (const { b, a, rule } of pairJobs(jobsOf(before), jobsOf(after))) {
    diff.pairs.push({ before: b?.id ?? null, after: a?.id ?? null, rule });
    const label = { job: (a ?? b)!.id, ...(a && b && a.id !== b.id ? { before_job: b.id } : {}) };
    const infraJob = (sideName: "before" | "after", j: JobView | undefined): InfraJob | undefined =>
      labFailed(j) ? { side: sideName, job: j!.id, status: j!.kernel!.status, reason: j!.kernel!.reason.split("\n")[0]!, cases: 0 } : undefined;
    const infraB = infraJob("before", b);
    const infraA = infraJob("after", a);
    const bCases = new Map((b?.cases ?? []).map((r) => [key(r), r]));
    const aCases = new Map((a?.cases ?? []).map((r) => [key(r), r]));
    // A testcase-level row (`T/*`: the program crashed, timed out or never ran) stands in for
    // the other side's cases of that testcase; it is not reported itself when it stood in.
    const standInUsed = new Set<string>();
    const standIn = (cases: Map<string, JudgedCase>, r: JudgedCase): JudgedCase | undefined => {
      if (r.case === "*") return undefined;
      const s = cases.get(`${r.testcase}/*`);
      if (s) standInUsed.add(`${s.job}\u0000${key(s)}`);
      return s;
    };
    const rows: { bRow: JudgedCase | undefined; aRow: JudgedCase | undefined; bStand: boolean; aStand: boolean }[] = [];
    for (const [k, r] of bCases) {
      const other = aCases.get(k);
      if (other) rows.push({ bRow: r, aRow: other, bStand: false, aStand: false });
      else {
        const s = standIn(aCases, r);
        rows.push({ bRow: r, aRow: s, bStand: false, aStand: !!s });
      }
    }
    for (const [k, r] of aCases) {
      if (bCases.has(k)) continue;
      const s = standIn(bCases, r);
      rows.push({ bRow: s, aRow: r, bStand: !!s, aStand: false });
    }
    for (const { bRow, aRow, bStand, aStand } of rows) {
      // a `T/*` row that stood in for another case is not a case of its own
      if (!bStand && bRow?.case === "*" && !aRow && standInUsed.has(`${bRow.job}\u0000${key(bRow)}`)) continue;
      if (!aStand && aRow?.case === "*" && !bRow && standInUsed.has(`${aRow.job}\u0000${key(aRow)}`)) continue;
      const id = (aStand ? bRow : (aRow ?? bRow))!; // the case itself, not the `T/*` row standing in for it
      const change: CaseChange = { ...label, testcase: id.testcase, case: id.case, before: bRow ? side(bRow, bStand) : null, after: aRow ? side(aRow, aStand) : null };
      // Error rows of a job the lab could not run are counted on that job, not listed one by one.
      if (infraB && bRow?.status === "error") {
        infraB.cases++;
        continue;
      }
      if (infraA && aRow?.status === "error") {
        infraA.cases++;
        continue;
      }
      if (!bRow || !aRow) {
        const present = (bRow ?? aRow)!;
        // an unpaired error row is the lab's, not a case that appeared or vanished
        if (present.status === "error") diff.infra.cases.push(change);
        else if (!aRow) diff.missing.push(change);
        else diff.new.push(change);
        continue;
      }
      compared++;
      const t = transition(change.before!, change.after!);
      if (t === "same") unchanged++;
      else if (t === "regression") diff.regressions.push(change);
      else if (t === "fix") diff.fixes.push(change);
      else if (t === "expected") diff.expected.push(change);
      else if (t === "skip_reason") diff.skip_reasons.push(change);
      else if (t === "infra") diff.infra.cases.push(change);
      else diff.changed.push(change);
    }
    for (const j of [infraB, infraA]) if (j) diff.infra.jobs.push(j);
  }
  const infra = diff.infra.jobs.length + diff.infra.cases.length;
  // A regression or a missing case is the kernel's (or the selection's) news and wins; else a
  // comparison the lab left incomplete (errors, a job that did not run, an unfinished run) is
  // not a clean 0.
  const exit: 0 | 1 | 2 = diff.regressions.length || diff.missing.length ? 1 : infra || !before.run.complete || !after.run.complete ? 2 : 0;
  return {
    ...diff,
    summary: {
      compared,
      unchanged,
      regressions: diff.regressions.length,
      fixes: diff.fixes.length,
      expected: diff.expected.length,
      missing: diff.missing.length,
      new: diff.new.length,
      skip_reasons: diff.skip_reasons.length,
      changed: diff.changed.length,
      infra,
      exit,
    },
  };
}
