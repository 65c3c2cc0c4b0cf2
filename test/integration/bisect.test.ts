// cowlab bisect names the patch of kernels/series/cow-breakers that breaks each family,
// and a git bisection over the same patches committed on a Debian 6.12 tree names the same
// commit. The git tree is built once per machine under the cache.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { debianGitTree } from "./debian-git-tree.ts";
import { maxProbes } from "../../orchestrator/bisect/search.ts";

const SERIES = repoPath("kernels", "series", "cow-breakers");
const CASES = [
  { family: "gup-before-fork", test: "gup-before-fork", case: "iouring-fork-parent-write-base", culprit: "0003-" },
  { family: "R/O pins (gup-after-fork)", test: "gup-after-fork", case: "ro-pin-shared-base", culprit: "0005-" },
  { family: "migration", test: "migration", case: "move-pinned-base", culprit: "0007-" },
];

const ranCases = new Map<string, string[]>();

async function bisect(args: string[]): Promise<NonNullable<RunResults["bisect"]>> {
  const out = await mkdtemp(join(tmpdir(), "cowlab-bisect-"));
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", ...args, "--arch", "x86_64", "--out", out, "--json"], { reject: false, timeout: 60 * 60_000 });
  if (!r.stdout) throw new Error(`cowlab bisect ${args.join(" ")} printed nothing (exit ${r.exitCode}):\n${r.stderr}`);
  const data = RunResults.parse(JSON.parse(r.stdout));
  ranCases.set(args.join(" "), [...new Set(data.results.map((x) => x.case))]);
  return data.bisect!;
}

describe("bisecting cow-breakers", () => {
  const found = new Map<string, NonNullable<RunResults["bisect"]>>();
  beforeAll(async () => {
    for (const c of CASES) found.set(c.test, await bisect(["--kernel", "6.12", "--series", SERIES, "--test", c.test, "--case", c.case]));
  }, 90 * 60_000);

  for (const c of CASES) {
    it(`names ${c.culprit}… for ${c.family}, within ceil(log2(N+1)) + 1 builds`, () => {
      const b = found.get(c.test)!;
      expect(b.culprit?.label, b.conclusion).toMatch(new RegExp(`^${c.culprit}`));
      expect(b.steps.length).toBeLessThanOrEqual(maxProbes(b.changes));
      expect(b.steps[0]!.verdict).toBe("bad");
      // each step's guest ran only the case that decides it
      expect([...ranCases.entries()].find(([k]) => k.includes(`--test ${c.test} `))?.[1]).toEqual([c.case]);
    });
  }

  it("git bisect over the same patches as commits names the same commit", async () => {
    const repo = await debianGitTree(SERIES);
    const c = CASES[0]!;
    const b = await bisect(["--kernel", "6.12", "--repo", repo, "--good", "base", "--bad", "HEAD", "--test", c.test, "--case", c.case]);
    const series = found.get(c.test)!;
    expect(b.culprit, b.conclusion).not.toBeNull();
    expect(b.culprit!.subject).toBe(series.culprit!.subject);
    expect(b.culprit!.position).toBe(series.culprit!.position);
  }, 90 * 60_000);
});
