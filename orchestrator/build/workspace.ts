// The build workspace of a base tree: one working copy of the base (hard-linked) and one
// object directory, shared by every build of that base for one arch and config: the base
// itself, each patch-series variant, each bisection step. A build moves the working copy to
// its own sources by rewriting only the files that differ, then runs make there: Kbuild
// rebuilds exactly what those files reach, and the paths it records (.cmd files, -I flags,
// dependency lists) stay the same from build to build, because the tree never moves.
//
// Why not build each variant in its own tree from a copy of the base's objects: the objects
// of an O= build name the absolute path of the tree they were built from, so a copy at another
// path rebuilds everything (the compiler command changed), and a patched file whose mtime is
// older than the copied objects would not be rebuilt at all.
import { copyFile, mkdir, readFile, rm, unlink, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import type { SourceTree } from "../sources/types.ts";
import { exists, readJson, writeFileAtomic } from "../util/fsx.ts";
import { sha256 } from "../util/hash.ts";

export interface Workspace {
  /** the folder holding tree/, obj/ and state.json; also the lock's path */
  dir: string;
  tree: string;
  obj: string;
}

export const workspaceAt = (dir: string): Workspace => ({ dir, tree: join(dir, "tree"), obj: join(dir, "obj") });

/**
 * What the working copy holds beyond the base: the files that may differ from it. Written
 * after a move completes and removed before one starts, so a move cut short (a killed run)
 * leaves no state, and the next build starts over from a fresh copy.
 */
interface State {
  base: string;
  dirty: string[];
}

const STATE = "state.json";
/** the sha256 of obj/.config as the last configuration left it (see configStands) */
const CONFIG = "config.json";

/** Files a configuration reads besides the fragments: the Kconfig tree, the configs folders, kconfig itself. */
const CONFIG_INPUT = /(^|\/)Kconfig[^/]*$|(^|\/)configs\/|^scripts\/kconfig\//;

/**
 * Whether the object directory's .config is still what configuring would write: the last
 * configuration there ran from the same fragments (they are in the workspace's key) and left
 * this very .config, and the move rewrote no file the configuration reads. Then tinyconfig,
 * the fragments and olddefconfig are not run again (about 10 s of an incremental build).
 */
export async function configStands(ws: Workspace, moved: Moved, configText: string | undefined): Promise<boolean> {
  if (moved.fresh || configText === undefined || moved.rewritten.some((f) => CONFIG_INPUT.test(f))) return false;
  const recorded = await readJson<{ sha256: string }>(join(ws.dir, CONFIG));
  return recorded?.sha256 === sha256(configText);
}

/** Record the .config a configuration just wrote (configStands compares with it). */
export const recordConfig = (ws: Workspace, configText: string): Promise<void> => writeFileAtomic(join(ws.dir, CONFIG), JSON.stringify({ sha256: sha256(configText) }));

/** How a move went: the files rewritten (each one recompiles what includes it). */
export interface Moved {
  /** the working copy was (re)made from the base: nothing in obj/ can be trusted */
  fresh: boolean;
  rewritten: string[];
  seconds: number;
}

async function same(a: string, b: string): Promise<boolean> {
  const [x, y] = await Promise.all([readFile(a).catch(() => null), readFile(b).catch(() => null)]);
  if (x === null || y === null) return x === y;
  return x.equals(y);
}

/**
 * A fresh working copy of the base. The object directory goes with the old copy: objects
 * built from patched files are newer than the base's files the fresh copy restores (a hard
 * link keeps the base's old mtime), so make would keep them.
 */
async function reset(ws: Workspace, base: SourceTree): Promise<void> {
  await execa("rm", ["-rf", ws.tree, ws.obj, join(ws.dir, CONFIG), join(ws.dir, BUILDING)]);
  await mkdir(ws.tree, { recursive: true });
  await execa("cp", ["-al", `${base.dir}/.`, ws.tree]);
  // A git worktree's .git file would point Kbuild's setlocalversion at the worktree's HEAD,
  // which is not what the copy holds once it moves: the release would say "+" or "-dirty"
  // depending on where the workspace has been. Without it every build says its plain version.
  await rm(join(ws.tree, ".git"), { recursive: true, force: true });
}

/** Marks a make running in the workspace; left behind, make was killed (see makeRunning). */
const BUILDING = "building";

/**
 * Run make in the workspace under a marker. A make killed outright (SIGKILL, a lost machine)
 * can leave an object cut short with a fresh mtime, which the next make would take as up to
 * date; so the next build there first deletes everything in obj/ newer than the marker (what
 * that make wrote), and make writes it again. A make that ends, even failing, leaves obj/
 * consistent (Kbuild's .DELETE_ON_ERROR) and removes the marker.
 */
export async function makeRunning<T>(ws: Workspace, make: () => Promise<T>): Promise<T> {
  await writeFile(join(ws.dir, BUILDING), `${process.pid}\n`);
  const r = await make();
  await rm(join(ws.dir, BUILDING), { force: true });
  return r;
}

/** After a make that never ended: what it wrote goes (the files in obj/ newer than its marker). */
async function dropInterrupted(ws: Workspace): Promise<void> {
  const marker = join(ws.dir, BUILDING);
  if (!(await exists(marker))) return;
  if (await exists(ws.obj)) await execa("find", [ws.obj, "-newer", marker, "-type", "f", "-delete"]);
  await rm(marker, { force: true });
}

/** Forget what the workspace holds beyond its working copy (state, recorded .config, objects): the next build there starts over. */
export async function startOver(ws: Workspace): Promise<void> {
  await execa("rm", ["-rf", join(ws.dir, STATE), join(ws.dir, CONFIG), join(ws.dir, BUILDING), ws.obj]);
}

/**
 * Move the working copy to `source` (the base itself, or a tree derived from it: a series
 * applied, a bisection position). Every file that may differ (what the copy held beyond the
 * base, and what `source` changed) is compared with `source`'s, and only the ones that differ
 * are rewritten: unlinked first (the copy's files are hard links into the base) and written
 * anew, so their mtime is now and make rebuilds what depends on them.
 */
export async function moveTo(ws: Workspace, base: SourceTree, source: SourceTree): Promise<Moved> {
  const t0 = performance.now();
  const state = await readJson<State>(join(ws.dir, STATE));
  const fresh = !state || state.base !== base.key || !(await exists(join(ws.tree, "Makefile")));
  if (fresh) await reset(ws, base);
  else await dropInterrupted(ws);
  await rm(join(ws.dir, STATE), { force: true });
  const candidates = [...new Set([...(fresh ? [] : state.dirty), ...(source.derived?.changed ?? [])])].sort();
  const rewritten: string[] = [];
  for (const f of candidates) {
    const want = join(source.dir, f);
    const have = join(ws.tree, f);
    if (await same(want, have)) continue;
    await unlink(have).catch(() => undefined);
    if (await exists(want)) {
      await mkdir(dirname(have), { recursive: true });
      await copyFile(want, have);
    }
    rewritten.push(f);
  }
  // The files that still differ from the base: the next move must look at them again.
  const dirty: string[] = [];
  for (const f of candidates) if (!(await same(join(ws.tree, f), join(base.dir, f)))) dirty.push(f);
  await writeFileAtomic(join(ws.dir, STATE), JSON.stringify({ base: base.key, dirty } satisfies State));
  return { fresh, rewritten, seconds: (performance.now() - t0) / 1000 };
}
