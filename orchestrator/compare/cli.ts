// `cowlab compare A.json B.json`: what changed from a before run to an after run. The action
// reads both files under one manifest policy, diffs them (diff.ts) and only formats.
import type { Command } from "commander";
import { readResults } from "../report/index.ts";
import { applyPolicy } from "../results/policy.ts";
import { readPolicy } from "../results/verdict.ts";
import { compareRuns } from "./diff.ts";
import { formatDiff } from "./format.ts";

export function registerCompare(program: Command): void {
  program
    .command("compare")
    .description("list regressions, fixes, missing and new cases from a before run to an after run (exit 1 on a regression or a missing case)")
    .argument("<before>", "results.json of the before run (e.g. the base kernel)")
    .argument("<after>", "results.json of the after run (e.g. the kernel with the series)")
    .option("--manifest <file>", "known issues and known reports to read both runs with (default: testcases/manifest.yaml)")
    .option("--json", "print the comparison as JSON ({regressions, fixes, expected, missing, new, skip_reasons, changed, infra, summary})")
    .action(async (before: string, after: string, opts: { manifest?: string; json?: boolean }) => {
      const [a, b, policy] = await Promise.all([readResults(before), readResults(after), readPolicy(opts.manifest)]);
      const diff = compareRuns(applyPolicy(a, policy), applyPolicy(b, policy));
      process.stdout.write(opts.json ? JSON.stringify(diff, null, 2) + "\n" : formatDiff(diff, { before, after }));
      process.exitCode = diff.summary.exit;
    });
}
