// The two things cowlab bisects: the prefixes of a patch series on a base kernel, and the
// commits between two revisions of a local git tree. Each keeps one working tree that moves
// from state to state by touching only the files that differ, so builds stay incremental,
// and each can compare the sources of two states without moving it (no-op detection).
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import type { SourceTree } from "../sources/types.ts";
import { applyPatches, readSeries, seriesKey, touchedFiles, type Patch } from "../sources/series.ts";
import { kernelVersion } from "../sources/debian.ts";
import { resolveSource } from "../sources/index.ts";
import { cachePath } from "../util/paths.ts";
import { sha256 } from "../util/hash.ts";
import { exists } from "../util/fsx.ts";
import { InputError, ok, err, type Result } from "../util/result.ts";
import type { BisectTarget } from "./driver.ts";
import { compareFile, isCSource, outsideBuild, summarize, type FileChange, type SourceComparison } from "./noop.ts";

const STATE = ".cowlab-applied";

type Snapshot = Map<string, string | null>;

/**
 * The contents of every file the series touches, at every position: the touched files of the
 * base copied into a scratch folder, the patches applied there one by one. Positions from a
 * patch that does not apply on are left out (unknown).
 */
async function seriesSnapshots(baseDir: string, patches: Patch[]): Promise<{ snapshots: Snapshot[]; touched: string[][] }> {
  const touched = patches.map((p) => touchedFiles(p.text));
  const all = [...new Set(touched.flat())];
  const scratch = await mkdtemp(join(tmpdir(), "cowlab-noop-"));
  try {
    const read = async (f: string) => readFile(join(scratch, f), "utf8").catch(() => null);
    for (const f of all) {
      await mkdir(dirname(join(scratch, f)), { recursive: true });
      await copyFile(join(baseDir, f), join(scratch, f)).catch(() => undefined);
    }
    const snapshots: Snapshot[] = [new Map(await Promise.all(all.map(async (f) => [f, await read(f)] as const)))];
    for (let k = 0; k < patches.length; k++) {
      if (await applyPatches(scratch, [patches[k]!])) break;
      const next = new Map(snapshots[k]!);
      for (const f of touched[k]!) next.set(f, await read(f));
      snapshots.push(next);
    }
    return { snapshots, touched };
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

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
  const { snapshots, touched } = await seriesSnapshots(base.dir, patches);
  const everyTouched = [...new Set(touched.flat())];
  return {
    kind: "series",
    target: resolve(seriesPath),
    n: patches.length,
    workKey,
    sameSource: async (a, b): Promise<SourceComparison> => {
      const [lo, hi] = a < b ? [a, b] : [b, a];
      const [x, y] = [snapshots[lo], snapshots[hi]];
      if (!x || !y) return { same: false, why: "a patch in between does not apply" };
      const files = [...new Set(touched.slice(lo, hi).flat())].sort();
      return summarize(files.map((f): [string, FileChange] => [f, compareFile(f, x.get(f) ?? null, y.get(f) ?? null)]));
    },
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
      // Derived from the base: every file some patch touches may differ (the build compares them).
      return ok({ dir: tree, key: `${base.key}+${k ? seriesKey(patches.slice(0, k)) : "0"}`, version: base.version, label, derived: { base, changed: everyTouched } });
    },
  };
}

const git = async (cwd: string, args: string[]) => (await execa("git", ["-C", cwd, ...args])).stdout.trim();

/** Beyond this many changed files two commits are not compared for a no-op (they are far apart). */
const NOOP_MAX_FILES = 200;

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
  // The good commit as a source of its own: every position builds in its workspace, as a
  // tree derived from it by the files the commits in between changed (build/workspace.ts).
  const base = await resolveSource({ kind: "git", repo: abs, rev: g });
  if (!base.ok) throw new InputError(repo, `${good}: ${base.error.message}`);
  const workKey = `git-${sha256(abs).slice(0, 12)}`;
  const tree = cachePath("bisect", `${workKey}-${arch}`, "tree");
  if (!(await exists(join(tree, ".git")))) {
    await execa("git", ["-C", abs, "worktree", "prune"]);
    await execa("git", ["-C", abs, "worktree", "add", "--detach", "--force", tree, g]);
  }
  const at = (k: number): string => (k === 0 ? g : commits[k - 1]!);
  const show = async (rev: string, path: string): Promise<string | null> => {
    const r = await execa("git", ["-C", abs, "show", `${rev}:${path}`], { reject: false, stripFinalNewline: false });
    return r.exitCode === 0 ? r.stdout : null;
  };
  return {
    kind: "git",
    target: abs,
    n: commits.length,
    workKey,
    sameSource: async (a, b): Promise<SourceComparison> => {
      const names = (await git(abs, ["diff", "--name-only", "--no-renames", at(a), at(b)])).split("\n").filter(Boolean);
      if (names.length > NOOP_MAX_FILES) return { same: false, why: `${names.length} files changed` };
      const changes: [string, FileChange][] = [];
      // Cheap verdicts first (a Makefile, a .rs file), then the C files one by one until one changed.
      for (const f of names.sort((x, y) => Number(isCSource(x)) - Number(isCSource(y)))) {
        const c = isCSource(f) ? compareFile(f, await show(at(a), f), await show(at(b), f)) : outsideBuild(f) ? "outside" : "changed";
        changes.push([f, c]);
        if (c === "changed") break;
      }
      return summarize(changes);
    },
    describe: (k) => ({ label: at(k).slice(0, 12), subject: subjects.get(at(k)) ?? "" }),
    checkout: async (k): Promise<Result<SourceTree, string>> => {
      const r = await execa("git", ["-C", tree, "checkout", "--detach", "--force", "--quiet", at(k)], { reject: false, all: true });
      if (r.exitCode !== 0) return err(`git checkout ${at(k)} failed: ${r.all}`);
      const version = await kernelVersion(tree);
      const changed = k === 0 ? [] : (await git(abs, ["diff", "--name-only", "--no-renames", g, at(k)])).split("\n").filter(Boolean);
      return ok({ dir: tree, key: `git-${at(k).slice(0, 12)}`, version, label: `${abs}@${at(k).slice(0, 12)}`, derived: { base: base.value, changed } });
    },
  };
}
