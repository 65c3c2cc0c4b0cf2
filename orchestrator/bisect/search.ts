// The search itself, apart from builds and guests: positions 0..N (0 = the good base, k = the
// k-th change applied); find the first position whose probe says "bad". Position N is probed
// first (it must be bad), then a binary search over the rest: at most ceil(log2(N+1)) + 1
// probes. A probe may answer "skip" (e.g. the build failed), as with `git bisect skip`.

export type Verdict = "good" | "bad" | "skip";

export interface SearchStep {
  position: number;
  verdict: Verdict;
}

export interface SearchOutcome {
  /** first bad position, or undefined when it cannot be told */
  culprit: number | undefined;
  /** candidates left when skips made the answer ambiguous, or why there is none */
  conclusion: string;
  steps: SearchStep[];
}

export const maxProbes = (n: number): number => Math.ceil(Math.log2(n + 1)) + 1;

export async function bisectPositions(n: number, probe: (position: number) => Promise<Verdict>): Promise<SearchOutcome> {
  const steps: SearchStep[] = [];
  const ask = async (position: number): Promise<Verdict> => {
    const verdict = await probe(position);
    steps.push({ position, verdict });
    return verdict;
  };
  const last = await ask(n);
  if (last !== "bad") {
    return { culprit: undefined, conclusion: last === "good" ? `position ${n} (everything applied) is good: nothing to bisect` : `position ${n} could not be tested`, steps };
  }
  // Invariant: lo is good (or the virtual good before the base), hi is bad.
  let lo = -1;
  let hi = n;
  const skipped = new Set<number>();
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    // Nearest untested, unskipped position to the middle.
    const candidates = Array.from({ length: hi - lo - 1 }, (_, i) => lo + 1 + i)
      .filter((p) => !skipped.has(p))
      .sort((a, b) => Math.abs(a - mid) - Math.abs(b - mid) || a - b);
    const pos = candidates[0];
    if (pos === undefined) {
      const range = Array.from({ length: hi - lo }, (_, i) => lo + 1 + i).filter((p) => p >= 0);
      return { culprit: undefined, conclusion: `the first bad position is one of ${range.join(", ")} (others could not be tested)`, steps };
    }
    const v = await ask(pos);
    if (v === "good") lo = pos;
    else if (v === "bad") hi = pos;
    else skipped.add(pos);
  }
  if (hi === 0) return { culprit: undefined, conclusion: "the base itself is bad: the change is not in this range", steps };
  return { culprit: hi, conclusion: `position ${hi} is the first bad one`, steps };
}
