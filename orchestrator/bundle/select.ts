// Which results get a replay bundle: every failure by default (regressions, and the
// failures a known issue predicts: a developer replays those too), or the cases named on
// the command line, by case id or a glob over it.
import { caseId } from "../results/attempts.ts";
import type { JudgedCase } from "../results/policy.ts";
import type { Verdict } from "../results/schema.ts";
import { globRe } from "../util/glob.ts";
import { InputError } from "../util/result.ts";

export const FAILING: readonly Verdict[] = ["fail", "crash", "timeout", "flaky"];

/** A result worth replaying when no case is named: it failed in some attempt. */
export const isFailing = (r: Pick<JudgedCase, "status">): boolean => FAILING.includes(r.status);

/**
 * Does a CASE argument select r? It is matched against the whole id ("JOB TESTCASE/CASE", as
 * the CLI prints it) and against "TESTCASE/CASE" alone (as `cowlab run --case` takes it).
 */
export function caseSelects(pattern: string, r: Pick<JudgedCase, "job" | "testcase" | "case">): boolean {
  const re = globRe(pattern);
  return re.test(caseId(r)) || re.test(`${r.testcase}/${r.case}`);
}

/** The results to bundle; a CASE that selects nothing is an error naming the results file. */
export function selectResults(results: JudgedCase[], patterns: string[], file: string): JudgedCase[] {
  if (!patterns.length) return results.filter(isFailing);
  for (const p of patterns) {
    if (!results.some((r) => caseSelects(p, r))) {
      const example = results.find(isFailing) ?? results[0];
      throw new InputError(file, `'${p}' matches no case${example ? ` (ids look like '${caseId(example)}')` : " (it has no results)"}`);
    }
  }
  return results.filter((r) => patterns.some((p) => caseSelects(p, r)));
}
