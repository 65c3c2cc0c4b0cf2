// One bisection step, apart from how kernels are built and booted (the driver supplies that):
//   1. no-op source change: if the sources of this position and an already decided one
//      differ only in comments/whitespace or in files outside the build, the step takes that
//      verdict without building;
//   2. build; if the image's sha256 equals that of an already decided step (syzkaller's
//      kernel signature: bisect builds are reproducible), the step takes that verdict
//      without booting;
//   3. boot `repeat` guests and judge them (verdict.ts).
// Each step is recorded as a results.json bisect step: how it was decided as facts
// (decided_by, same_as, noop_files, attempts, image_sha256) and as a sentence (`why`).
import type { RunResults } from "../results/schema.ts";
import type { Result } from "../util/result.ts";
import type { Verdict } from "./search.ts";
import type { SourceComparison } from "./noop.ts";
import { flakeHint, stepVerdict, type AttemptJudgement, type StepJudgement } from "./verdict.ts";

export type BisectStep = NonNullable<RunResults["bisect"]>["steps"][number];

export interface BuiltKernel {
  image_sha256: string;
  seconds: number;
  cached: boolean;
}

export interface StepDeps {
  /** positions run 0..n; n is probed first and must be bad */
  n: number;
  describe: (position: number) => { label: string; subject: string };
  /** compare the sources of two positions without touching the working tree */
  sameSource: (a: number, b: number) => Promise<SourceComparison>;
  /** check out and build a position, or say why it cannot be (a skip) */
  build: (position: number) => Promise<Result<BuiltKernel, string>>;
  /** boot the position's built kernel in `repeat` guests and judge the cases that decide in each */
  boot: (position: number) => Promise<{ attempts: AttemptJudgement[]; bootSeconds: number | null }>;
  progress?: (position: number, stage: string, detail: string) => void;
}

export interface StepOptions {
  find: "regression" | "fix";
  /** guests per step (--repeat) */
  repeat: number;
}

/** How a step got its verdict, in the words of the bisect log and bench/bisect. */
export type StepKind = "tested" | "no-op" | "same-image" | "untested";

const KIND: Record<BisectStep["decided_by"], StepKind> = { guests: "tested", "same-source": "no-op", "same-image": "same-image", untested: "untested" };

/** Read back from a recorded step's decided_by. */
export const stepKind = (s: Pick<BisectStep, "decided_by">): StepKind => KIND[s.decided_by];

/** The facts a step records about how it was decided (the rest of a step is timing and names). */
type HowDecided = Pick<BisectStep, "decided_by" | "same_as" | "noop_files" | "attempts">;

/** How reliably the failure showed on the steps where it showed, when not every time (results.json bisect.flake). */
export type Flake = NonNullable<NonNullable<RunResults["bisect"]>["flake"]>;

interface Decided {
  position: number;
  verdict: Verdict;
  /** what the guests said, for the step that booted them (inherited verdicts keep their source's) */
  basis: string;
  image?: string;
}

export class StepRunner {
  readonly steps: BisectStep[] = [];
  /** positions whose verdict is known, however it was reached */
  private readonly decided = new Map<number, Decided>();
  /** the judgements of the steps that booted guests */
  private readonly judged: StepJudgement[] = [];

  constructor(
    private readonly deps: StepDeps,
    private readonly o: StepOptions,
  ) {}

  /** The nearest positions below and above with a good or bad verdict. */
  private neighbours(position: number): Decided[] {
    const known = [...this.decided.values()].filter((d) => d.verdict !== "skip");
    const below = known.filter((d) => d.position < position).sort((a, b) => b.position - a.position)[0];
    const above = known.filter((d) => d.position > position).sort((a, b) => a.position - b.position)[0];
    return [below, above].filter((d): d is Decided => d !== undefined);
  }

  probe = async (position: number): Promise<Verdict> => {
    const t0 = performance.now();
    const { label, subject } = this.deps.describe(position);
    const say = (stage: string, detail: string) => this.deps.progress?.(position, stage, detail);
    const record = (verdict: Verdict, why: string, how: HowDecided, build?: BuiltKernel, boot?: number | null, basis = why): Verdict => {
      this.steps.push({
        position,
        label,
        subject,
        verdict,
        why,
        ...how,
        image_sha256: build?.image_sha256 ?? null,
        build_seconds: build?.seconds ?? null,
        build_cached: build?.cached ?? null,
        boot_seconds: boot ?? null,
        seconds: Math.round((performance.now() - t0) / 100) / 10,
      });
      this.decided.set(position, { position, verdict, basis, ...(build ? { image: build.image_sha256 } : {}) });
      say("verdict", `${verdict}: ${why}`);
      return verdict;
    };

    // 1. The same sources as a decided neighbour: nothing to build.
    for (const d of this.neighbours(position)) {
      const cmp = await this.deps.sameSource(d.position, position);
      if (cmp.same) {
        const why = `no-op change: ${cmp.why}; verdict of position ${d.position} (${this.deps.describe(d.position).label}): ${d.basis}`;
        return record(d.verdict, why, { decided_by: "same-source", same_as: d.position, noop_files: cmp.files, attempts: null }, undefined, null, d.basis);
      }
    }

    // 2. Build; the same image as a decided step: nothing to boot.
    const built = await this.deps.build(position);
    if (!built.ok) return record("skip", built.error, { decided_by: "untested", same_as: null, noop_files: [], attempts: null });
    const twin = [...this.decided.values()].find((d) => d.image === built.value.image_sha256 && d.verdict !== "skip");
    if (twin) {
      const why = `same kernel image as position ${twin.position} (sha256 ${built.value.image_sha256.slice(0, 12)}): ${twin.basis}`;
      return record(twin.verdict, why, { decided_by: "same-image", same_as: twin.position, noop_files: [], attempts: null }, built.value, null, twin.basis);
    }

    // 3. Boot `repeat` guests.
    const { attempts, bootSeconds } = await this.deps.boot(position);
    const j = stepVerdict(attempts, this.o.repeat, this.o.find);
    this.judged.push(j);
    return record(j.verdict, j.why, { decided_by: "guests", same_as: null, noop_files: [], attempts: { failing: j.failing, run: j.run } }, built.value, bootSeconds);
  };

  /**
   * How reliably the bug showed where it showed (the steps with a failing attempt), when that
   * was not every time: the odds that a step with the bug passed all its guests.
   */
  flake(): Flake | undefined {
    const showed = this.judged.filter((j) => j.failing > 0);
    const failing = showed.reduce((a, j) => a + j.failing, 0);
    const run = showed.reduce((a, j) => a + j.run, 0);
    const hint = flakeHint(failing, run, this.o.repeat);
    return hint === undefined ? undefined : { failing, run, hint };
  }
}
