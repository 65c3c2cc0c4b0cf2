// cowlab bisect names the patch of kernels/series/cow-breakers that breaks each family,
// and a git bisection over the same patches committed on a Debian 6.12 tree names the same
// commit. The git tree is built once per machine under the cache. Steps whose kernel is
// the same as a decided neighbour's are neither built (the comment-only patches 0001, 0004,
// 0006, 0008) nor booted (0002's refactor builds 0001's image byte for byte).
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { debianGitTree } from "./debian-git-tree.ts";
import { maxProbes } from "../../orchestrator/bisect/search.ts";
import { gitTarget, seriesTarget } from "../../orchestrator/bisect/targets.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";

const SERIES = repoPath("kernels", "series", "cow-breakers");
// The search's path is fixed (8 first, then the middles), so is which steps it can decide
// without a build (no-op) or a boot (same image). R/O pins runs with two guests per step.
const CASES = [
  { family: "gup-before-fork", test: "gup-before-fork", case: "iouring-fork-parent-write-base", culprit: "0003-", noop: [], sameImage: [2], repeat: 1 },
  { family: "R/O pins (gup-after-fork)", test: "gup-after-fork", case: "ro-pin-shared-base", culprit: "0005-", noop: [4], sameImage: [], repeat: 2 },
  // 7 is decided from 8: 0008 only adds a comment
  { family: "migration", test: "migration", case: "move-pinned-base", culprit: "0007-", noop: [6, 7], sameImage: [], repeat: 1 },
];

type Bisection = NonNullable<RunResults["bisect"]>;
const data = new Map<string, RunResults>();

/** Which steps were decided without a build, without a boot; and that they really were. */
function decidedWithout(d: RunResults): { noop: number[]; sameImage: number[] } {
  const b = d.bisect!;
  const booted = new Set(d.kernels.filter((k) => k.boot).map((k) => Number(/^step-(\d+)/.exec(k.variant)![1])));
  const at = new Map(b.steps.map((s) => [s.position, s]));
  const noop = b.steps.filter((s) => s.decided_by === "same-source");
  const sameImage = b.steps.filter((s) => s.decided_by === "same-image");
  for (const s of noop) expect([s.build_seconds, s.image_sha256, s.boot_seconds, s.attempts, booted.has(s.position)], s.why).toEqual([null, null, null, null, false]);
  for (const s of sameImage) expect([s.build_seconds === null, s.boot_seconds, s.attempts, booted.has(s.position)], s.why).toEqual([false, null, null, false]);
  // the image really is the one the step took the verdict from: the builds are reproducible
  for (const s of sameImage) expect(s.image_sha256, s.why).toBe(at.get(s.same_as!)!.image_sha256);
  for (const s of [...noop, ...sameImage]) expect(at.get(s.same_as!)?.verdict, s.why).toBe(s.verdict);
  for (const s of b.steps.filter((x) => x.decided_by === "guests")) expect([booted.has(s.position), s.attempts?.run, s.image_sha256?.length], s.why).toEqual([true, d.run.repeat, 64]);
  return { noop: noop.map((s) => s.position), sameImage: sameImage.map((s) => s.position) };
}

const ranCases = new Map<string, string[]>();

async function bisect(args: string[]): Promise<Bisection> {
  const out = await mkdtemp(join(tmpdir(), "cowlab-bisect-"));
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", ...args, "--arch", "x86_64", "--out", out, "--json"], { reject: false, timeout: 60 * 60_000 });
  if (!r.stdout) throw new Error(`cowlab bisect ${args.join(" ")} printed nothing (exit ${r.exitCode}):\n${r.stderr}`);
  const parsed = RunResults.parse(JSON.parse(r.stdout));
  ranCases.set(args.join(" "), [...new Set(parsed.results.map((x) => x.case))]);
  data.set(args.join(" "), parsed);
  return parsed.bisect!;
}

describe("bisecting cow-breakers", () => {
  const found = new Map<string, Bisection>();
  const args = (c: (typeof CASES)[number]) => ["--kernel", "6.12", "--series", SERIES, "--test", c.test, "--case", c.case, "--repeat", String(c.repeat)];
  beforeAll(async () => {
    for (const c of CASES) found.set(c.test, await bisect(args(c)));
  }, 90 * 60_000);

  it("tells the comment-only patches from the rest by their sources alone", async () => {
    const base = await resolveSource((await loadKernelSpec("6.12")).source);
    if (!base.ok) throw new Error(base.error.message);
    const t = await seriesTarget(base.value, SERIES, "x86_64");
    const noops: string[] = [];
    for (let k = 1; k <= t.n; k++) if ((await t.sameSource(k - 1, k)).same) noops.push(t.describe(k).label.slice(0, 4));
    // 0002 is a refactor: other tokens, the same code (the image check catches it)
    expect(noops).toEqual(["0001", "0004", "0006", "0008"]);
    expect(await t.sameSource(3, 4)).toEqual({ same: true, why: "only comments/whitespace in mm/internal.h", files: ["mm/internal.h"] });
  });

  for (const c of CASES) {
    it(`names ${c.culprit}… for ${c.family}, within ceil(log2(N+1)) + 1 builds`, () => {
      const b = found.get(c.test)!;
      expect(b.culprit?.label, b.conclusion).toMatch(new RegExp(`^${c.culprit}`));
      expect(b.steps.length).toBeLessThanOrEqual(maxProbes(b.changes));
      expect(b.steps[0]!.verdict).toBe("bad");
      // each step's guest ran only the case that decides it
      expect([...ranCases.entries()].find(([k]) => k.includes(`--test ${c.test} `))?.[1]).toEqual([c.case]);
    });

    it(`${c.family}: decides ${JSON.stringify(c.noop)} without a build and ${JSON.stringify(c.sameImage)} without a boot`, () => {
      const d = data.get(args(c).join(" "))!;
      expect(decidedWithout(d)).toEqual({ noop: c.noop, sameImage: c.sameImage });
      for (const s of d.bisect!.steps.filter((x) => x.decided_by === "same-source")) {
        expect(s.noop_files.length, s.why).toBe(1);
        expect(s.noop_files[0]).toMatch(/^mm\/(internal\.h|swapfile\.c|rmap\.c)$/);
        // and the sentence says the same
        expect(s.why.startsWith(`no-op change: only comments/whitespace in ${s.noop_files[0]}; verdict of position ${s.same_as} (`), s.why).toBe(true);
      }
    });
  }

  it("with --repeat 2 every booted step is one job of two guests, bad if either fails, good as both pass", () => {
    const d = data.get(args(CASES[1]!).join(" "))!;
    const steps = new Map(d.bisect!.steps.map((s) => [s.position, s]));
    expect(steps.get(8)!.why).toBe("2 of 2 attempts failing: ro-pin-shared-base (fail)");
    expect(steps.get(3)!.why).toBe("0 of 2 attempts failing: 1 case passing in each");
    expect(steps.get(5)!.why).toBe("2 of 2 attempts failing: ro-pin-shared-base (fail)");
    expect([8, 3, 5].map((p) => steps.get(p)!.attempts)).toEqual([{ failing: 2, run: 2 }, { failing: 0, run: 2 }, { failing: 2, run: 2 }]);
    expect(d.bisect!.flake).toBeNull();
    expect(d.run.repeat).toBe(2);
    expect(d.kernels.map((k) => [k.variant, k.reruns.map((r) => r.purpose)])).toEqual([
      ["step-08", ["repeat"]],
      ["step-03", ["repeat"]],
      ["step-05", ["repeat"]],
    ]);
    for (const r of d.results) expect(r.attempts.map((a) => a.guest)).toEqual([1, 2]);
  });

  it("git bisect over the same patches as commits names the same commit", async () => {
    const repo = await debianGitTree(SERIES);
    const c = CASES[0]!;
    const git = ["--kernel", "6.12", "--repo", repo, "--good", "base", "--bad", "HEAD", "--test", c.test, "--case", c.case];
    const b = await bisect(git);
    const series = found.get(c.test)!;
    expect(b.culprit, b.conclusion).not.toBeNull();
    expect(b.culprit!.subject).toBe(series.culprit!.subject);
    expect(b.culprit!.position).toBe(series.culprit!.position);
    expect(decidedWithout(data.get(git.join(" "))!)).toEqual({ noop: c.noop, sameImage: c.sameImage });
    // the git tree compares commits' sources the same way
    const t = await gitTarget(repo, "base", "HEAD", "x86_64");
    expect(await t.sameSource(3, 4)).toEqual({ same: true, why: "only comments/whitespace in mm/internal.h", files: ["mm/internal.h"] });
    expect((await t.sameSource(4, 5)).same).toBe(false);
  }, 90 * 60_000);
});
