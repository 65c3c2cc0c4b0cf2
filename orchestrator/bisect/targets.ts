// The two things cowlab bisects: the prefixes of a patch series on a base kernel, and the
// commits between two revisions of a local git tree. Each keeps one working tree that moves
// from state to state by touching only the files that differ, so builds stay incremental.
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { basename, join, resolve } from "node:path";
import { execa } from "execa";
import type { SourceTree } from "../sources/types.ts";
import { applyPatches, readSeries, seriesKey, type Patch } from "../sources/series.ts";
import { kernelVersion } from "../sources/debian.ts";
import { cachePath } from "../util/paths.ts";
import { sha256 } from "../util/hash.ts";
import { exists } from "../util/fsx.ts";
import { InputError, ok, err, type Result } from "../util/result.ts";
import type { BisectTarget } from "./driver.ts";

const STATE = ".cowlab-applied";

export async function seriesTarget(base: SourceTree, seriesPath: string, arch: string): Promise<BisectTarget> {
  const patches: Patch[] = await readSeries(seriesPath);
  const workKey = `series-${base.key}-${seriesKey(patches)}`;
  const tree = cachePath("bisect", `${workKey}-${arch}`, "tree");
  // A fresh hard-linked copy of the base; also the way out of a tree left half-patched by an
  // interrupted bisection or a patch that did not apply.
  const reset = async (): Promise<void> => {
    await execa("rm", ["-rf", tree]);
    await mkdir(tree, { recursive: true });
    await execa("cp", ["-al", `${base.dir}/.`, tree]);
    await writeFile(join(tree, STATE), "0\n");
  };
  const applied = async (): Promise<number | undefined> => {
    const m = /^(\d+)\n$/.exec(await readFile(join(tree, STATE), "utf8").catch(() => ""));
    return m ? Number(m[1]) : undefined;
  };
  if ((await applied()) === undefined) await reset();
  return {
    kind: "series",
    target: resolve(seriesPath),
    n: patches.length,
    workKey,
    describe: (k) => (k === 0 ? { label: "base", subject: base.label } : { label: patches[k - 1]!.name, subject: patches[k - 1]!.subject }),
    checkout: async (k): Promise<Result<SourceTree, string>> => {
      let now = await applied();
      if (now === undefined) {
        await reset();
        now = 0;
      }
      await writeFile(join(tree, STATE), "moving\n");
      // Forward: apply the patches between; backward: revert them, newest first.
      const failure = k >= now ? await applyPatches(tree, patches.slice(now, k)) : await applyPatches(tree, patches.slice(k, now), true);
      if (failure) return err(`${failure.message}\n${failure.detail}`);
      await writeFile(join(tree, STATE), `${k}\n`);
      const label = k === 0 ? base.label : `${base.label} + ${patches.slice(0, k).length} of ${basename(resolve(seriesPath))}`;
      return ok({ dir: tree, key: `${base.key}+${k ? seriesKey(patches.slice(0, k)) : "0"}`, version: base.version, label });
    },
  };
}

const git = async (cwd: string, args: string[]) => (await execa("git", ["-C", cwd, ...args])).stdout.trim();

export async function gitTarget(repo: string, good: string, bad: string, arch: string): Promise<BisectTarget> {
  const abs = resolve(repo);
  const rev = async (r: string): Promise<string> => {
    const res = await execa("git", ["-C", abs, "rev-parse", "--verify", `${r}^{commit}`], { reject: false });
    if (res.exitCode !== 0) throw new InputError(repo, `unknown revision '${r}'`);
    return res.stdout.trim();
  };
  const [g, b] = [await rev(good), await rev(bad)];
  const list = await git(abs, ["rev-list", "--reverse", "--ancestry-path", "--first-parent", `${g}..${b}`]);
  const commits = list ? list.split("\n") : [];
  if (!commits.length) throw new InputError(repo, `no commits between ${good} and ${bad} (is ${good} an ancestor of ${bad}?)`);
  const subjects = new Map<string, string>();
  for (const line of (await git(abs, ["log", "--format=%H %s", `${g}..${b}`])).split("\n")) subjects.set(line.slice(0, 40), line.slice(41));
  subjects.set(g, (await git(abs, ["log", "-1", "--format=%s", g])) || g);
  const workKey = `git-${sha256(abs).slice(0, 12)}`;
  const tree = cachePath("bisect", `${workKey}-${arch}`, "tree");
  if (!(await exists(join(tree, ".git")))) {
    await execa("git", ["-C", abs, "worktree", "prune"]);
    await execa("git", ["-C", abs, "worktree", "add", "--detach", "--force", tree, g]);
  }
  const at = (k: number): string => (k === 0 ? g : commits[k - 1]!);
  return {
    kind: "git",
    target: abs,
    n: commits.length,
    workKey,
    describe: (k) => ({ label: at(k).slice(0, 12), subject: subjects.get(at(k)) ?? "" }),
    checkout: async (k): Promise<Result<SourceTree, string>> => {
      const r = await execa("git", ["-C", tree, "checkout", "--detach", "--force", "--quiet", at(k)], { reject: false, all: true });
      if (r.exitCode !== 0) return err(`git checkout ${at(k)} failed: ${r.all}`);
      const version = await kernelVersion(tree);
      return ok({ dir: tree, key: `git-${at(k).slice(0, 12)}`, version, label: `${abs}@${at(k).slice(0, 12)}` });
    },
  };
}
