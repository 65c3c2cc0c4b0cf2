import { describe, expect, it } from "vitest";
import { bisectPositions, maxProbes, type Verdict } from "../orchestrator/bisect/search.ts";

const firstBadAt = (culprit: number) => async (p: number): Promise<Verdict> => (p >= culprit ? "bad" : "good");

describe("bisection search", () => {
  it("finds every possible culprit within ceil(log2(N+1)) + 1 probes", async () => {
    for (const n of [1, 2, 3, 6, 8, 13]) {
      for (let c = 1; c <= n; c++) {
        const r = await bisectPositions(n, firstBadAt(c));
        expect(r.culprit, `n=${n} c=${c}`).toBe(c);
        expect(r.steps.length).toBeLessThanOrEqual(maxProbes(n));
        expect(r.steps[0]).toEqual({ position: n, verdict: "bad" });
      }
    }
  });

  it("says so when everything applied is good, or when the base is already bad", async () => {
    expect((await bisectPositions(5, async () => "good")).conclusion).toMatch(/nothing to bisect/);
    const r = await bisectPositions(5, async () => "bad");
    expect(r.culprit).toBeUndefined();
    expect(r.conclusion).toMatch(/base itself is bad/);
  });

  it("steps around skipped positions, like git bisect skip", async () => {
    const r = await bisectPositions(8, async (p) => (p === 3 ? "skip" : p >= 6 ? "bad" : "good"));
    expect(r.culprit).toBe(6);
    expect(r.steps.some((s) => s.verdict === "skip")).toBe(true);
  });

  it("reports the candidates when skips leave the answer ambiguous", async () => {
    const r = await bisectPositions(4, async (p) => (p === 3 ? "skip" : p >= 3 ? "bad" : "good"));
    expect(r.culprit).toBeUndefined();
    expect(r.conclusion).toMatch(/one of 3, 4/);
  });
});
