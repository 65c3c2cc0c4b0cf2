import { stat } from "node:fs/promises";
import { execa } from "execa";
import { resolve } from "node:path";
import type { SourceSpec } from "../config/kernels.ts";
import { cachePath } from "../util/paths.ts";
import { sha256FileCached } from "../util/hash.ts";
import { ensureDir, ensureEntry, exists, FillError, fillFailure } from "../util/fsx.ts";
import { ok, labError, type Result } from "../util/result.ts";
import { onPath } from "../util/tools.ts";
import { debianSource, kernelVersion } from "./debian.ts";
import type { SourceTree } from "./types.ts";

export type { SourceTree } from "./types.ts";

/**
 * What a source needs that this machine lacks, as "field: what is wrong" (undefined: nothing).
 * Checked at plan time, so a kernel whose git tree or tarball is missing is one clear usage
 * error before anything builds. A Debian package is fetched when needed (apt says no then).
 */
export async function sourceMissing(spec: SourceSpec): Promise<string | undefined> {
  if (spec.kind === "tarball") return (await exists(resolve(spec.path))) ? undefined : `path: no tarball at ${resolve(spec.path)}`;
  if (spec.kind !== "git") return undefined;
  if (!(await onPath("git"))) return "repo: git is not installed (apt-get install git, or run scripts/setup.sh)";
  const abs = resolve(spec.repo);
  const hint = "clone mainline Linux there, or name a tree with --git-tree DIR";
  if (!(await exists(abs))) return `repo: no git tree at ${abs} (${hint})`;
  if ((await execa("git", ["-C", abs, "rev-parse", "--git-dir"], { reject: false })).exitCode !== 0) return `repo: ${abs} is not a git tree (${hint})`;
  const rev = await execa("git", ["-C", abs, "rev-parse", "--verify", "--quiet", `${spec.rev}^{commit}`], { reject: false });
  if (rev.exitCode !== 0) return `rev: the git tree at ${abs} has no revision '${spec.rev}' (git -C ${abs} fetch --tags origin, or another --git-tree)`;
  return undefined;
}

/** The provider seam: every kind of source ends as an unpacked tree with a content key. */
export async function resolveSource(spec: SourceSpec): Promise<Result<SourceTree>> {
  switch (spec.kind) {
    case "debian":
      return debianSource(spec.package);
    case "tarball":
      return tarballSource(spec.path);
    case "git":
      return gitSource(spec.repo, spec.rev);
  }
}

async function tarballSource(path: string): Promise<Result<SourceTree>> {
  const abs = resolve(path);
  if (!(await exists(abs))) return labError("source", `${path}: no such tarball`);
  const key = `tarball-${(await sha256FileCached(abs)).slice(0, 12)}`;
  const dir = cachePath("src", key);
  try {
    await ensureDir(dir, () => exists(`${dir}/Makefile`), async (tmp) => {
      await execa("tar", ["-xf", abs, "-C", tmp, "--strip-components=1"]);
    });
  } catch (e) {
    return labError("source", `${path}: cannot unpack: ${(e as Error).message.split("\n")[0]}`);
  }
  const version = await kernelVersion(dir);
  return ok({ dir, key, version, label: `${path} (${version})` });
}

/** A local git tree at a revision, checked out as a detached worktree: no network, no copy of history. */
async function gitSource(repo: string, rev: string): Promise<Result<SourceTree>> {
  const abs = resolve(repo);
  const commit = await execa("git", ["-C", abs, "rev-parse", "--verify", `${rev}^{commit}`], { reject: false });
  if (commit.exitCode !== 0) return labError("source", `${repo}: unknown revision '${rev}'`);
  const sha = commit.stdout.trim();
  const key = `git-${sha.slice(0, 12)}`;
  const dir = cachePath("src", key);
  try {
    await ensureEntry(dir, () => exists(`${dir}/Makefile`), async () => {
      await execa("git", ["-C", abs, "worktree", "prune"], { reject: false });
      const add = await execa("git", ["-C", abs, "worktree", "add", "--detach", "--force", dir, sha], { reject: false, all: true });
      if (add.exitCode !== 0) throw new FillError(`${repo}: git worktree add failed`, add.all);
    });
  } catch (e) {
    return fillFailure("source", e);
  }
  if (!(await stat(dir)).isDirectory()) return labError("source", `${dir}: not a directory`);
  const version = await kernelVersion(dir);
  return ok({ dir, key, version, label: `${repo}@${sha.slice(0, 12)} (${version})` });
}
