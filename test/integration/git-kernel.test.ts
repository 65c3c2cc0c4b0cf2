// The README's recipe for the real series, offline: a kernel spec whose source is a git
// revision (5.18-anon-exclusive: ../linux at v5.18) runs once a tree is given with
// --git-tree, with and without a series given as an mbox, as `b4 am` or `git format-patch
// --stdout` write it. The tree here is a Debian 6.12 source committed to git and tagged
// v5.18, the mbox the cow-breakers series, whose 0003 breaks GUP-before-fork; on a machine
// with network the same commands run mainline v5.18 and "mm: COW fixes part 2".
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { debianGitTree } from "./debian-git-tree.ts";

let data: RunResults;
let exitCode: number | undefined;

describe("a kernel from a git revision, with and without an mbox series", () => {
  beforeAll(async () => {
    const repo = await debianGitTree(repoPath("kernels", "series", "cow-breakers"));
    await execa("git", ["-C", repo, "tag", "-f", "v5.18", "base"]);
    const dir = await mkdtemp(join(tmpdir(), "cowlab-git-kernel-"));
    const mbox = join(dir, "cow-fixes.mbox");
    await writeFile(mbox, (await execa("git", ["-C", repo, "format-patch", "--stdout", "base..HEAD"])).stdout + "\n");
    const args = ["run", "--kernel", "5.18-anon-exclusive", "--git-tree", repo, "--series", mbox, "--arch", "x86_64", "--tests", "gup-before-fork", "--case", "iouring-fork-parent-write-base", "--out", join(dir, "out"), "--json"];
    const r = await execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 40 * 60_000 });
    exitCode = r.exitCode;
    if (!r.stdout) throw new Error(`cowlab run printed no results (exit ${r.exitCode}):\n${r.stderr}`);
    data = RunResults.parse(JSON.parse(r.stdout));
  }, 40 * 60_000);

  it("builds and boots both variants from the git tree", () => {
    expect(data.kernels.map((k) => [k.job, k.status])).toEqual(
      expect.arrayContaining([
        ["5.18-anon-exclusive/base/x86_64", "ok"],
        ["5.18-anon-exclusive/cow-fixes.mbox/x86_64", "ok"],
      ]),
    );
    expect(data.kernels.find((k) => k.variant === "base")!.source).toMatch(/@[0-9a-f]{12} \(6\.12\.\d+\)$/);
  });

  it("the series changes the verdict, and the exit code says a kernel failed", () => {
    const verdict = (variant: string) => data.results.find((r) => r.variant === variant && r.case === "iouring-fork-parent-write-base");
    expect(verdict("base")?.status, verdict("base")?.reason).toBe("pass");
    expect(verdict("cow-fixes.mbox")?.status).toBe("fail");
    expect(exitCode).toBe(1);
  });
});
