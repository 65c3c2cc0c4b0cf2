import { describe, expect, it } from "vitest";
import { compareToBase } from "../orchestrator/results/compare.ts";
import type { CaseResult, Status } from "../orchestrator/results/schema.ts";
import { single } from "../orchestrator/results/attempts.ts";

const r = (variant: string, arch: string, name: string, status: Status): CaseResult =>
  single({
  job: `6.12/${variant}/${arch}`,
  kernel: "6.12.117",
  arch,
  variant,
  testcase: "swap",
  case: name,
  family: "swap",
  status,
  duration_ms: 1,
  reason: status === "fail" ? "pin misses the write" : "",
  });

describe("variant against base", () => {
  it("sorts verdict changes into regressions, fixes and other changes, per arch", () => {
    const changes = compareToBase([
      r("base", "x86_64", "a", "pass"),
      r("off", "x86_64", "a", "fail"),
      r("base", "x86_64", "b", "fail"),
      r("off", "x86_64", "b", "pass"),
      r("base", "x86_64", "c", "pass"),
      r("off", "x86_64", "c", "skip"),
      r("base", "x86_64", "d", "pass"),
      r("off", "x86_64", "d", "pass"),
      r("base", "arm64", "a", "pass"),
      r("off", "arm64", "a", "pass"),
    ]);
    expect(changes.map((c) => [c.arch, c.case, c.base, c.now, c.kind])).toEqual([
      ["x86_64", "a", "pass", "fail", "regression"],
      ["x86_64", "b", "fail", "pass", "fix"],
      ["x86_64", "c", "pass", "skip", "changed"],
    ]);
    expect(changes[0]!.reason).toBe("pin misses the write");
  });
});
