import type { KnownIssue } from "../config/testcases.ts";
import type { CaseResult } from "./schema.ts";
import { inRange } from "./versions.ts";

import { globRe } from "../util/glob.ts";

/** The known issue that predicts this result's failure, if any. */
export function knownIssueFor(r: Pick<CaseResult, "testcase" | "case" | "kernel" | "arch" | "variant">, issues: KnownIssue[]): KnownIssue | undefined {
  return issues.find(
    (k) =>
      k.testcase === r.testcase &&
      k.cases.some((c) => globRe(c).test(r.case)) &&
      inRange(r.kernel, k.kernels) &&
      (!k.arches || k.arches.includes(r.arch)) &&
      (!k.variants || k.variants.includes(r.variant)),
  );
}
