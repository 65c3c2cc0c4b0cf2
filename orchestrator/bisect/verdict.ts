// A bisection step's verdict from its attempts (--repeat N: N guests of the step's kernel).
//
// A failing attempt proves the bug present; its absence is proven only by N passing attempts.
// So for --find regression a step is bad if any attempt fails and good only if all N pass;
// for --find fix (bad = fixed) a step is bad only if all N pass and good (not fixed yet) if
// any attempt fails. The same asymmetry both ways, the one syzkaller's bisection uses: a
// flaky bug makes a buggy kernel pass now and then, never a fixed one fail. Anything else
// (an attempt that could not run the cases, and no failure) is a skip.
import { globRe } from "../util/glob.ts";
import type { Verdict } from "./search.ts";
import type { CaseResult } from "../results/schema.ts";

/** What one guest said about the selected cases. */
export type AttemptOutcome = "failing" | "passing" | "untestable";

export interface AttemptJudgement {
  outcome: AttemptOutcome;
  why: string;
}

/** Statuses that show the bug: a wrong result, a kernel report, a hang ("flaky": folded attempts of which some failed). */
const FAILING = new Set(["fail", "crash", "timeout", "flaky"]);

/** One guest's results for the cases that decide: failing if any fails, passing if some pass and none errs. */
export function judgeAttempt(results: { case: string; status: string }[], cases: string): AttemptJudgement {
  const picked = results.filter((r) => globRe(cases).test(r.case) || r.case === "*");
  const failing = picked.filter((r) => FAILING.has(r.status));
  const passing = picked.filter((r) => r.status === "pass");
  if (failing.length) return { outcome: "failing", why: failing.map((r) => `${r.case} (${r.status})`).join(", ") };
  if (picked.some((r) => r.status === "error") || !passing.length) {
    return { outcome: "untestable", why: `untestable: ${picked.map((r) => `${r.case}=${r.status}`).join(", ") || "no matching case"}` };
  }
  return { outcome: "passing", why: `${passing.length} case${passing.length === 1 ? "" : "s"} passing` };
}

/** The selected cases as guest `guest` of a job saw them (results with attempts, job.ts --repeat); a case that guest did not report is an error. */
export function attemptOf(results: Pick<CaseResult, "case" | "attempts">[], guest: number, cases: string): AttemptJudgement {
  return judgeAttempt(
    results.map((r) => ({ case: r.case, status: r.attempts.find((a) => a.guest === guest)?.status ?? "error" })),
    cases,
  );
}

export interface StepJudgement {
  verdict: Verdict;
  why: string;
  /** attempts that failed, and attempts run */
  failing: number;
  run: number;
}

/** The step's verdict over its attempts (see the top of this file). */
export function stepVerdict(attempts: AttemptJudgement[], repeat: number, find: "regression" | "fix"): StepJudgement {
  const run = attempts.length;
  const failing = attempts.filter((a) => a.outcome === "failing");
  const passing = attempts.filter((a) => a.outcome === "passing");
  const count = `${failing.length} of ${run} attempts failing`;
  if (failing.length) return { verdict: find === "regression" ? "bad" : "good", why: `${count}: ${failing[0]!.why}`, failing: failing.length, run };
  if (passing.length === repeat && run === repeat) return { verdict: find === "regression" ? "good" : "bad", why: `${count}: ${passing[0]!.why}${run > 1 ? " in each" : ""}`, failing: 0, run };
  const untestable = attempts.find((a) => a.outcome === "untestable");
  return { verdict: "skip", why: `${count}, ${passing.length} passing: ${untestable?.why ?? "too few attempts"}`, failing: 0, run };
}

/**
 * How often the bug showed on the steps where it showed (`failing` of `run` guests), and what
 * that means: the chance that a step with the bug passes all `repeat` guests and is judged
 * not to have it, and the --repeat that brings that chance under 5%.
 */
export function flakeHint(failing: number, run: number, repeat: number): string | undefined {
  if (!failing || failing === run) return undefined;
  const rate = failing / run;
  const miss = (1 - rate) ** repeat;
  const enough = Math.ceil(Math.log(0.05) / Math.log(1 - rate));
  return `the failure showed in ${failing} of ${run} attempts: a step with the bug passes all ${repeat} with probability ${Math.round(miss * 100)}%${enough > repeat ? `; --repeat ${enough} brings that under 5%` : ""}`;
}
