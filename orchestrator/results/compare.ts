// What a series changed: each variant's verdicts against the base variant of the same
// kernel and arch, sorted into regressions, fixes and other changes (SQUAD-style).
import type { CaseResult, Verdict } from "./schema.ts";

export type ChangeKind = "regression" | "fix" | "changed";

export interface VerdictChange {
  kernel: string;
  arch: string;
  variant: string;
  testcase: string;
  case: string;
  base: Verdict;
  now: Verdict;
  kind: ChangeKind;
  reason: string;
  /** the variant's verdict is one a known issue predicts (judged results only): still a change the series made, but a documented one */
  expected: boolean;
}

const BAD: Verdict[] = ["fail", "crash", "timeout"];

/**
 * A series' changes are its own even when the manifest predicts them (a known issue on a
 * variant documents that the series breaks a case; it does not make the breakage the base's),
 * so `kind` ignores known issues and `expected` says which changes are documented.
 */
export function compareToBase(results: (CaseResult & { expected?: unknown })[]): VerdictChange[] {
  const spec = (r: CaseResult): string => r.job.split("/")[0]!;
  // The case's stable identity with the variant left out: the same case of the base variant.
  const key = (r: CaseResult): string => [spec(r), r.arch, r.testcase, r.case].join("\u0000");
  const base = new Map(results.filter((r) => r.variant === "base").map((r) => [key(r), r]));
  const changes: VerdictChange[] = [];
  for (const r of results) {
    if (r.variant === "base") continue;
    const b = base.get(key(r));
    if (!b || b.status === r.status) continue;
    const kind: ChangeKind = b.status === "pass" && BAD.includes(r.status) ? "regression" : BAD.includes(b.status) && r.status === "pass" ? "fix" : "changed";
    changes.push({ kernel: spec(r), arch: r.arch, variant: r.variant, testcase: r.testcase, case: r.case, base: b.status, now: r.status, kind, reason: r.reason, expected: r.expected !== undefined });
  }
  return changes;
}
