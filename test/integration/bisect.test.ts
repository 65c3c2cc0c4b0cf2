// cowlab bisect names the patch of kernels/series/cow-breakers that breaks each family,
// and a git bisection over the same patches committed on a Debian 6.12 tree names the same
// commit. The git tree is built once per machine under the cache.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { cachePath, repoPath } from "../../orchestrator/util/paths.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";
import { exists } from "../../orchestrator/util/fsx.ts";
import { maxProbes } from "../../orchestrator/bisect/search.ts";

const SERIES = repoPath("kernels", "series", "cow-breakers");
const CASES = [
  { family: "gup-before-fork", test: "gup-before-fork", case: "iouring-fork-parent-write-base", culprit: "0003-" },
  { family: "R/O pins (gup-after-fork)", test: "gup-after-fork", case: "ro-pin-shared-base", culprit: "0005-" },
  { family: "migration", test: "migration", case: "move-pinned-base", culprit: "0007-" },
];

async function bisect(args: string[]): Promise<NonNullable<RunResults["bisect"]>> {
  const out = await mkdtemp(join(tmpdir(), "cowlab-bisect-"));
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", ...args, "--arch", "x86_64", "--out", out, "--json"], { reject: false, timeout: 60 * 60_000 });
  if (!r.stdout) throw new Error(`cowlab bisect ${args.join(" ")} printed nothing (exit ${r.exitCode}):\n${r.stderr}`);
  return RunResults.parse(JSON.parse(r.stdout)).bisect!;
}

/** A git tree: the Debian 6.12 source as one commit, the cow-breakers patches on top (git am). */
async function gitTree(): Promise<string> {
  const src = await resolveSource((await loadKernelSpec("6.12")).source);
  if (!src.ok) throw new Error(src.error.message);
  const repo = cachePath("test-git", `linux-${src.value.key}`);
  if (await exists(join(repo, ".cowlab-ready"))) return repo;
  await execa("rm", ["-rf", repo]);
  await execa("mkdir", ["-p", repo]);
  await execa("cp", ["-al", `${src.value.dir}/.`, repo]);
  const git = (args: string[]) => execa("git", ["-C", repo, "-c", "user.name=cowlab", "-c", "user.email=cowlab@localhost", ...args]);
  await git(["init", "-q"]);
  // -f: the Debian source tree ships a .gitignore that ignores everything at the top level.
  await git(["add", "-A", "-f"]);
  await git(["commit", "-q", "-m", `Debian ${src.value.label}`]);
  await git(["tag", "base"]);
  const patches = (await readdir(SERIES)).filter((f) => f.endsWith(".patch")).sort().map((f) => join(SERIES, f));
  await git(["am", "-q", "--committer-date-is-author-date", ...patches]);
  await execa("touch", [join(repo, ".cowlab-ready")]);
  return repo;
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
    });
  }

  it("git bisect over the same patches as commits names the same commit", async () => {
    const repo = await gitTree();
    const c = CASES[0]!;
    const b = await bisect(["--kernel", "6.12", "--repo", repo, "--good", "base", "--bad", "HEAD", "--test", c.test, "--case", c.case]);
    const series = found.get(c.test)!;
    expect(b.culprit, b.conclusion).not.toBeNull();
    expect(b.culprit!.subject).toBe(series.culprit!.subject);
    expect(b.culprit!.position).toBe(series.culprit!.position);
  }, 90 * 60_000);
});
