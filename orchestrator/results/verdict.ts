// What a judged result set means for the command line: its exit code and its one-paragraph
// summary. Shared by every command that reads results (run, report, merge, explore, compare).
import { loadManifest } from "../config/testcases.ts";
import { resolve } from "node:path";
import { caseId, passRate } from "./attempts.ts";
import { isRegression, policyOf, type JudgedRun, type Policy } from "./policy.ts";
import type { Verdict } from "./schema.ts";

/** Exit codes: 0 all cases passed (or skipped, or failed as a known issue predicts), 1 a kernel failed a case, 2 usage or lab errors. */
export const EXIT = { ok: 0, kernelFailed: 1, usage: 2 } as const;

/**
 * The exit code a result set deserves, read under the manifest's policy. A flaky case (passed
 * in some attempts) is reported but is not called a regression.
 */
export function exitCodeFor(data: JudgedRun): number {
  if (data.results.some(isRegression)) return EXIT.kernelFailed;
  const labFault = data.results.some((r) => r.status === "error") || !data.run.complete;
  return labFault ? EXIT.usage : EXIT.ok;
}

/**
 * The label a case is read and counted under: its verdict, with the failures and flakes a
 * known issue predicts apart (`expected` is the judged case's known issue, or its reason).
 */
export const verdictLabel = (r: { status: Verdict; expected?: unknown }): string => ((r.status === "fail" || r.status === "flaky") && r.expected ? `expected-${r.status}` : r.status);

/** Counts by verdict (expected failures apart), then the flaky cases named with their pass rate. */
export function verdictSummary(data: JudgedRun): string {
  const counts: Record<string, number> = {};
  for (const r of data.results) {
    const s = verdictLabel(r);
    counts[s] = (counts[s] ?? 0) + 1;
  }
  // Flaky cases are named with their pass rate: they are not regressions, but nobody should miss them.
  const flaky = data.results.filter((r) => r.status === "flaky");
  const named = flaky.slice(0, 10).map((r) => `\n  flaky ${Math.round(passRate(r) * 100)}%: ${caseId(r)}`);
  return (
    Object.entries(counts)
      .map(([k, v]) => `${v} ${k}`)
      .join(", ") +
    named.join("") +
    (flaky.length > 10 ? `\n  ... ${flaky.length - 10} more flaky` : "")
  );
}

/** The policy a reading command applies: the manifest's known issues and known reports. */
export async function readPolicy(manifest?: string): Promise<Policy> {
  // (not through run/options.ts: a command that only reads results must not load the run's option handling)
  return policyOf(await loadManifest(manifest ? resolve(manifest) : undefined));
}
