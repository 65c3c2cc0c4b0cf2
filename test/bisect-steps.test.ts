// The step verdict with repeats, and steps decided without a build or a boot, on fakes:
// a series whose kernels are described by a table (which patches are comment-only, which
// images come out the same, which positions fail and how often).
import { describe, expect, it } from "vitest";
import { attemptOf, flakeHint, judgeAttempt, stepVerdict, type AttemptJudgement } from "../orchestrator/bisect/verdict.ts";
import { StepRunner, stepKind, type StepDeps } from "../orchestrator/bisect/steps.ts";
import { bisectPositions } from "../orchestrator/bisect/search.ts";
import { ok } from "../orchestrator/util/result.ts";

const fail: AttemptJudgement = { outcome: "failing", why: "x (fail)" };
const pass: AttemptJudgement = { outcome: "passing", why: "1 case passing" };
const error: AttemptJudgement = { outcome: "untestable", why: "untestable: x=error" };

describe("an attempt's outcome", () => {
  it("fail, crash and timeout show the bug; error and no passing case make it untestable", () => {
    for (const status of ["fail", "crash", "timeout", "flaky"]) expect(judgeAttempt([{ case: "x", status }, { case: "y", status: "pass" }], "*").outcome).toBe("failing");
    expect(judgeAttempt([{ case: "x", status: "error" }, { case: "y", status: "pass" }], "*").outcome).toBe("untestable");
    expect(judgeAttempt([{ case: "x", status: "skip" }], "*").outcome).toBe("untestable");
    expect(judgeAttempt([{ case: "x", status: "pass" }, { case: "y", status: "fail" }], "x").outcome).toBe("passing");
  });

  it("reads each guest of a --repeat job from the cases' attempts", () => {
    const attempts = (...s: string[]) => s.map((status, i) => ({ status, guest: i + 1 }));
    const results = [
      { case: "x", attempts: attempts("pass", "fail", "pass") },
      { case: "y", attempts: attempts("pass", "pass") },
    ] as Parameters<typeof attemptOf>[0];
    expect([1, 2, 3].map((g) => attemptOf(results, g, "*").outcome)).toEqual(["passing", "failing", "untestable"]);
    expect(attemptOf(results, 3, "x").outcome).toBe("passing");
  });
});

describe("a step's verdict over its attempts", () => {
  it("--find regression: bad if any attempt fails, good only if all N pass", () => {
    expect(stepVerdict([pass, pass, fail], 3, "regression")).toMatchObject({ verdict: "bad", failing: 1, run: 3 });
    expect(stepVerdict([pass, fail, fail], 3, "regression").why).toBe("2 of 3 attempts failing: x (fail)");
    expect(stepVerdict([pass, pass, pass], 3, "regression")).toMatchObject({ verdict: "good", failing: 0 });
    expect(stepVerdict([pass, pass], 3, "regression").verdict).toBe("skip");
    expect(stepVerdict([pass, error, pass], 3, "regression").verdict).toBe("skip");
    expect(stepVerdict([error, fail], 3, "regression").verdict).toBe("bad");
  });

  it("--find fix mirrors it: fixed (bad) only if all N pass, not fixed yet (good) if any fails", () => {
    expect(stepVerdict([pass, fail, pass], 3, "fix").verdict).toBe("good");
    expect(stepVerdict([pass, pass, pass], 3, "fix").verdict).toBe("bad");
    expect(stepVerdict([pass, error, pass], 3, "fix").verdict).toBe("skip");
  });

  it("says how likely a flaky failure slips through and what --repeat would catch it", () => {
    expect(flakeHint(3, 3, 3)).toBeUndefined();
    expect(flakeHint(1, 3, 3)).toBe("the failure showed in 1 of 3 attempts: a step with the bug passes all 3 with probability 30%; --repeat 8 brings that under 5%");
    expect(flakeHint(4, 5, 5)).toBe("the failure showed in 4 of 5 attempts: a step with the bug passes all 5 with probability 0%");
  });
});

interface FakeSeries {
  n: number;
  /** patches (1-based) that change only comments */
  commentOnly: number[];
  /** patches after which the image is the same as before (a refactor, or comment-only) */
  sameImage: number[];
  /** the first bad position */
  culprit: number;
  /** attempt k (1-based) of a bad position fails when fails(k) */
  fails?: (attempt: number, position: number) => boolean;
  repeat?: number;
}

function fake(s: FakeSeries) {
  const calls = { builds: [] as number[], boots: [] as number[] };
  // image id: bumps at every patch that changes the image
  const image = (p: number) => String(Array.from({ length: p }, (_, i) => i + 1).filter((k) => !s.sameImage.includes(k)).length);
  const deps: StepDeps = {
    n: s.n,
    describe: (p) => ({ label: p ? `000${p}-patch` : "base", subject: `position ${p}` }),
    sameSource: async (a, b) => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const between = Array.from({ length: hi - lo }, (_, i) => lo + 1 + i);
      return between.every((k) => s.commentOnly.includes(k)) ? { same: true, why: "only comments/whitespace in mm/gup.c", files: ["mm/gup.c"] } : { same: false, why: "changed" };
    },
    build: async (p) => {
      calls.builds.push(p);
      return ok({ image_sha256: `sha-${image(p)}`, seconds: 30, cached: false });
    },
    boot: async (p) => {
      calls.boots.push(p);
      const attempts = Array.from({ length: s.repeat ?? 1 }, (_, i) => (p >= s.culprit && (s.fails ?? (() => true))(i + 1, p) ? fail : pass));
      return { attempts, bootSeconds: 10 };
    },
  };
  return { deps, calls };
}

describe("steps decided without building or booting", () => {
  // cow-breakers' shape: 1, 4, 6, 8 comment-only; 2 a refactor (same image); 3, 5, 7 break something.
  const cowBreakers = { n: 8, commentOnly: [1, 4, 6, 8], sameImage: [1, 2, 4, 6, 8] };

  it("takes a comment-only neighbour's verdict without a build, and a same-image step's without a boot", async () => {
    for (const [culprit, noop, image] of [
      [3, [], [2]],
      [5, [4], []],
      // 7 is decided from 8: the patch between them is comment-only
      [7, [6, 7], []],
    ] as const) {
      const { deps, calls } = fake({ ...cowBreakers, culprit });
      const runner = new StepRunner(deps, { find: "regression", repeat: 1 });
      const r = await bisectPositions(8, runner.probe);
      expect(r.culprit).toBe(culprit);
      const kinds = runner.steps.map((s) => [s.position, stepKind(s)]);
      expect(kinds.filter(([, k]) => k === "no-op").map(([p]) => p), `culprit ${culprit}`).toEqual(noop);
      expect(kinds.filter(([, k]) => k === "same-image").map(([p]) => p), `culprit ${culprit}`).toEqual(image);
      for (const s of runner.steps) {
        if (stepKind(s) === "no-op") expect([s.build_seconds, s.boot_seconds, s.image_sha256, calls.builds.includes(s.position)]).toEqual([null, null, null, false]);
        if (stepKind(s) === "same-image") expect([s.build_seconds, s.boot_seconds, calls.boots.includes(s.position)]).toEqual([30, null, false]);
        // the facts say what the sentence says
        if (stepKind(s) !== "tested") expect(s.attempts).toBeNull();
        if (stepKind(s) === "tested") expect(s.attempts).toEqual({ failing: s.verdict === "bad" ? 1 : 0, run: 1 });
      }
    }
  });

  it("names the step whose verdict it took, and what the guests said there", async () => {
    const { deps } = fake({ ...cowBreakers, culprit: 5 });
    const runner = new StepRunner(deps, { find: "regression", repeat: 1 });
    await bisectPositions(8, runner.probe);
    const four = runner.steps.find((s) => s.position === 4)!;
    expect(four.verdict).toBe("good");
    expect(four.why).toBe("no-op change: only comments/whitespace in mm/gup.c; verdict of position 3 (0003-patch): 0 of 1 attempts failing: 1 case passing");
    expect(four).toMatchObject({ decided_by: "same-source", same_as: 3, noop_files: ["mm/gup.c"], attempts: null, image_sha256: null });
  });

  it("records each step's decision as typed facts: decided_by, same_as, attempts, image_sha256", async () => {
    const { deps } = fake({ ...cowBreakers, culprit: 3 });
    const runner = new StepRunner(deps, { find: "regression", repeat: 1 });
    await bisectPositions(8, runner.probe);
    const facts = runner.steps.map(({ position, decided_by, same_as, noop_files, attempts, image_sha256 }) => ({ position, decided_by, same_as, noop_files, attempts, image_sha256 }));
    expect(facts).toEqual([
      { position: 8, decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: 1, run: 1 }, image_sha256: "sha-3" },
      { position: 3, decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: 1, run: 1 }, image_sha256: "sha-1" },
      { position: 1, decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: 0, run: 1 }, image_sha256: "sha-0" },
      // 0002 is a refactor: built, the same image as 1, not booted
      { position: 2, decided_by: "same-image", same_as: 1, noop_files: [], attempts: null, image_sha256: "sha-0" },
    ]);
  });

  it("a same-image step names the step whose image it has, and a failed build is untested", async () => {
    const { deps } = fake({ n: 3, commentOnly: [], sameImage: [2], culprit: 3 });
    const runner = new StepRunner({ ...deps, build: async (p) => (p === 2 ? { ok: false as const, error: "build-error: make failed" } : deps.build(p)) }, { find: "regression", repeat: 1 });
    await runner.probe(1);
    await runner.probe(2);
    const same = new StepRunner(deps, { find: "regression", repeat: 1 });
    await same.probe(1);
    await same.probe(2);
    expect(runner.steps[1]).toMatchObject({ verdict: "skip", decided_by: "untested", same_as: null, attempts: null, image_sha256: null, build_seconds: null });
    expect(stepKind(runner.steps[1]!)).toBe("untested");
    expect(same.steps[1]).toMatchObject({ verdict: "good", decided_by: "same-image", same_as: 1, attempts: null, image_sha256: "sha-1", build_seconds: 30, boot_seconds: null });
  });

  it("a no-op step after a bad one is bad", async () => {
    const { deps } = fake({ n: 4, commentOnly: [4], sameImage: [4], culprit: 3 });
    const runner = new StepRunner(deps, { find: "regression", repeat: 1 });
    expect(await runner.probe(3)).toBe("bad");
    expect(await runner.probe(4)).toBe("bad");
    expect(stepKind(runner.steps[1]!)).toBe("no-op");
  });
});

describe("repeats", () => {
  it("a flaky failure (1 in 3) found with --repeat 3, and how likely that was to go wrong", async () => {
    // position p fails in attempt k when (p + k) % 3 === 0: once in any 3 attempts
    const { deps, calls } = fake({ n: 8, commentOnly: [], sameImage: [], culprit: 5, fails: (k, p) => (p + k) % 3 === 0, repeat: 3 });
    const runner = new StepRunner(deps, { find: "regression", repeat: 3 });
    const r = await bisectPositions(8, runner.probe);
    expect(r.culprit).toBe(5);
    expect(calls.boots).toEqual([8, 3, 5, 4]);
    expect(runner.steps[0]!.why).toBe("1 of 3 attempts failing: x (fail)");
    expect(runner.steps.find((s) => s.position === 3)!.why).toBe("0 of 3 attempts failing: 1 case passing in each");
    expect(runner.flake()).toEqual({ failing: 2, run: 6, hint: "the failure showed in 2 of 6 attempts: a step with the bug passes all 3 with probability 30%; --repeat 8 brings that under 5%" });
    expect(runner.steps.map((s) => [s.position, s.attempts])).toEqual([
      [8, { failing: 1, run: 3 }],
      [3, { failing: 0, run: 3 }],
      [5, { failing: 1, run: 3 }],
      [4, { failing: 0, run: 3 }],
    ]);
  });

  it("one guest per step is misled by a failure that shows only in some guests; three are not", async () => {
    // the bug (from 5 on) shows in every guest of position 8 but only in the second guest elsewhere
    const fails = (k: number, p: number) => p === 8 || k === 2;
    const once = new StepRunner(fake({ n: 8, commentOnly: [], sameImage: [], culprit: 5, fails }).deps, { find: "regression", repeat: 1 });
    expect((await bisectPositions(8, once.probe)).culprit).toBe(8);
    const thrice = new StepRunner(fake({ n: 8, commentOnly: [], sameImage: [], culprit: 5, fails, repeat: 3 }).deps, { find: "regression", repeat: 3 });
    expect((await bisectPositions(8, thrice.probe)).culprit).toBe(5);
  });

  it("--find fix: a step is fixed only if every attempt passes", async () => {
    // fixed from position 4 on; before that the bug shows in attempt 2 only
    const deps: StepDeps = {
      ...fake({ n: 6, commentOnly: [], sameImage: [], culprit: 0 }).deps,
      boot: async (p) => ({ attempts: [pass, p < 4 ? fail : pass], bootSeconds: 1 }),
    };
    const runner = new StepRunner(deps, { find: "fix", repeat: 2 });
    expect((await bisectPositions(6, runner.probe)).culprit).toBe(4);
  });
});
