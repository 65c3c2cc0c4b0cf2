// How a bisection step was decided is recorded as typed facts in results.json (decided_by,
// same_as, noop_files, attempts, image_sha256; bisect.flake), read by the bisect log and the
// report without parsing `why`; bisections recorded before those facts existed get them
// from what they did record when read (migrate.ts).
import { describe, expect, it } from "vitest";
import { RunResults } from "../orchestrator/results/schema.ts";
import { migrateResults } from "../orchestrator/results/migrate.ts";
import { bisectLog } from "../orchestrator/bisect/cli.ts";
import { stepKind } from "../orchestrator/bisect/steps.ts";

type Bisection = NonNullable<RunResults["bisect"]>;
type Step = Bisection["steps"][number];

const run = {
  schema_version: 2,
  run: { id: "bisect-1", started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:05:00Z", complete: true, seconds: 300, command: "cowlab bisect", shard: null, repeat: 3, retry_failed: 0, host: { hostname: "h", cores: 2, memory_gib: 24, qemu: "7.2", node: "v20" } },
  kernels: [],
  results: [],
};
const bisection = { kind: "series", target: "/s", kernel: "6.12", arch: "x86_64", test: "migration", cases: "move-pinned-base", find: "regression", changes: 8, culprit: { position: 7, label: "0007-x.patch", subject: "x" }, seconds: 5.6 };
const timing = { build_seconds: null, build_cached: null, boot_seconds: null, seconds: 0 };

/** A bisection as 774220c wrote it: the facts only in each step's `why` and in the conclusion. */
const legacy = {
  ...run,
  bisect: {
    ...bisection,
    conclusion: "0007-x.patch: x (the failure showed in 2 of 6 attempts: a step with the bug passes all 3 with probability 30%; --repeat 8 brings that under 5%)",
    steps: [
      { position: 8, label: "0008-c.patch", subject: "c", verdict: "bad", why: "1 of 3 attempts failing: move-pinned-base (fail)", ...timing, build_seconds: 56.7, build_cached: true, boot_seconds: 1.2, seconds: 2 },
      { position: 5, label: "0005-y.patch", subject: "y", verdict: "good", why: "0 of 3 attempts failing: 1 case passing in each", ...timing, build_seconds: 30, build_cached: false, boot_seconds: 1.1, seconds: 40 },
      { position: 6, label: "0006-d.patch", subject: "d", verdict: "good", why: "no-op change: only comments/whitespace in mm/swapfile.c; only files outside the build (Documentation/mm/swap.rst); verdict of position 5 (0005-y.patch): 0 of 3 attempts failing: 1 case passing in each", ...timing },
      { position: 7, label: "0007-x.patch", subject: "x", verdict: "bad", why: "same kernel image as position 8 (sha256 5eb3b089b8b2): 1 of 3 attempts failing: move-pinned-base (fail)", ...timing, build_seconds: 20, build_cached: false },
      { position: 4, label: "0004-z.patch", subject: "z", verdict: "skip", why: "build-error: make failed (exit 2)", ...timing },
    ],
  },
};

describe("bisections recorded before steps carried typed facts", () => {
  it("get them from what they recorded when read, with no new schema version", () => {
    const b = RunResults.parse(migrateResults(legacy)).bisect!;
    const facts = b.steps.map(({ position, decided_by, same_as, noop_files, attempts, image_sha256 }) => ({ position, decided_by, same_as, noop_files, attempts, image_sha256 }));
    expect(facts).toEqual([
      { position: 8, decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: 1, run: 3 }, image_sha256: null },
      { position: 5, decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: 0, run: 3 }, image_sha256: null },
      { position: 6, decided_by: "same-source", same_as: 5, noop_files: ["Documentation/mm/swap.rst", "mm/swapfile.c"], attempts: null, image_sha256: null },
      { position: 7, decided_by: "same-image", same_as: 8, noop_files: [], attempts: null, image_sha256: null },
      { position: 4, decided_by: "untested", same_as: null, noop_files: [], attempts: null, image_sha256: null },
    ]);
    expect(b.flake).toEqual({ failing: 2, run: 6, hint: "the failure showed in 2 of 6 attempts: a step with the bug passes all 3 with probability 30%; --repeat 8 brings that under 5%" });
    expect(b.steps.map((s) => s.why)).toEqual(legacy.bisect.steps.map((s) => s.why));
  });

  it("before --repeat, a step that booted had one guest", () => {
    const old = { ...legacy, bisect: { ...legacy.bisect, conclusion: "0007-x.patch: x", steps: [
      { ...legacy.bisect.steps[0]!, why: "1 failing: move-pinned-base (fail)" },
      { ...legacy.bisect.steps[1]!, why: "1 passing" },
      { ...legacy.bisect.steps[1]!, position: 2, verdict: "skip", why: "untestable: move-pinned-base=error" },
    ] } };
    const b = RunResults.parse(migrateResults(old)).bisect!;
    expect(b.steps.map((s) => [s.decided_by, s.attempts])).toEqual([
      ["guests", { failing: 1, run: 1 }],
      ["guests", { failing: 0, run: 1 }],
      ["guests", { failing: 0, run: 1 }],
    ]);
    expect(b.flake).toBeNull();
  });

  it("a version 1 file's bisection gets them too; a current file is left as it is", () => {
    const { repeat: _v2, retry_failed: _also, ...v1run } = legacy.run;
    const v1 = { ...legacy, schema_version: 1, run: v1run };
    expect(RunResults.parse(migrateResults(v1)).bisect!.steps[2]!.decided_by).toBe("same-source");
    const current = RunResults.parse(migrateResults(legacy));
    expect(migrateResults(current)).toEqual(current);
  });

  it("the schema itself still requires them: a file written now cannot leave one out", () => {
    expect(RunResults.safeParse(legacy).success).toBe(false);
    const current = RunResults.parse(migrateResults(legacy));
    const { decided_by: _gone, ...step } = current.bisect!.steps[0]!;
    expect(RunResults.safeParse({ ...current, bisect: { ...current.bisect!, steps: [step] } }).success).toBe(false);
  });
});

describe("the bisect log", () => {
  const step = (position: number, decided_by: Step["decided_by"], extra: Partial<Step> = {}): Step => ({
    position, label: `000${position}-p.patch`, subject: `s${position}`, verdict: "good", why: "what happened", decided_by, same_as: null, noop_files: [], attempts: null, image_sha256: null, ...timing, ...extra,
  });
  const built = { build_seconds: 30, build_cached: false, image_sha256: "ab".repeat(32) };
  const b: Bisection = {
    ...(bisection as Omit<Bisection, "conclusion" | "flake" | "steps">),
    conclusion: "0007-x.patch: x",
    flake: null,
    steps: [
      step(8, "guests", { ...built, verdict: "bad", attempts: { failing: 1, run: 1 } }),
      step(6, "same-source", { same_as: 5, noop_files: ["mm/swapfile.c"] }),
      step(7, "same-image", { ...built, same_as: 8 }),
      step(3, "untested", { verdict: "skip" }),
    ],
  };

  it("marks and counts steps by decided_by, whatever `why` says", () => {
    const log = bisectLog(b);
    expect(log).toContain("  6 good 0006-p.patch  s6  [no-op: not built]\n      what happened; no build, step 0 s");
    expect(log).toContain("  7 good 0007-p.patch  s7  [same image: not booted]\n      what happened; build 30 s, step 0 s");
    expect(log).toMatch(/ {2}8 bad {2}0008-p\.patch {2}s8\n/);
    expect(log).toContain("(4 steps, 2 built, 1 booted, 1 no-op, 1 same image, 5.6 s)");
    expect(b.steps.map(stepKind)).toEqual(["tested", "no-op", "same-image", "untested"]);
  });
});
