import { appendFile, copyFile, mkdir, readFile, rm, writeFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cpus } from "node:os";
import { execa } from "execa";
import type { MachineProfile } from "../config/machines.ts";
import type { SourceTree } from "../sources/types.ts";
import { cachePath, repoPath } from "../util/paths.ts";
import { contentKey, sha256, sha256File } from "../util/hash.ts";
import { exists, markUsed, readJson, summarizeDir, tail, writeFileAtomic, type DirSummary } from "../util/fsx.ts";
import { diskFullReason, isDiskFull, nearlyFull, NEEDS } from "../util/disk.ts";
import { ok, err, type Result } from "../util/result.ts";
import { withLock } from "../util/lock.ts";
import { parseConfig, mergeFragments, droppedOptions, formatDropped } from "./kconfig.ts";
import { compilerVersion, kernelCompiler, makeArgs } from "./toolchain.ts";
import { configStands, makeRunning, moveTo, recordConfig, startOver, workspaceAt, type Moved, type Workspace } from "./workspace.ts";

/** Bumped when the build recipe below changes in a way that should invalidate old builds. */
const RECIPE = "1";

/**
 * The build identity of a reproducible build (BuildRequest.reproducible): with it a kernel
 * built twice from the same sources is the same image byte for byte, so its sha256 can stand
 * for the kernel (bisection's image-level no-op check). Without it UTS_VERSION carries a build
 * counter, the time, the user and the host, and the built-in initramfs the build time.
 */
export const REPRODUCIBLE_BUILD_ENV: Readonly<Record<string, string>> = {
  KBUILD_BUILD_TIMESTAMP: "Thu Jan  1 00:00:00 UTC 1970",
  KBUILD_BUILD_VERSION: "1",
  KBUILD_BUILD_USER: "cowlab",
  KBUILD_BUILD_HOST: "bisect",
};

/** contentKey(REPRODUCIBLE_BUILD_ENV) of the values above: the identity bisection keys have called "kbuild-fixed" since bisect builds first had it. */
const KBUILD_FIXED = "9535edc5804a3165";

/**
 * What a reproducible build adds to its key: the build identity's own content key, except that
 * today's identity keeps the name "kbuild-fixed", which bisection step keys carried on their
 * source key before this option existed; so their cached kernels stay valid, and changing
 * REPRODUCIBLE_BUILD_ENV still changes every reproducible key.
 */
export function reproducibleMark(): string {
  const k = contentKey({ ...REPRODUCIBLE_BUILD_ENV });
  return k === KBUILD_FIXED ? "kbuild-fixed" : `kbuild-${k}`;
}

export interface BuildRequest {
  source: SourceTree;
  machine: MachineProfile;
  /** fragment names in kernels/fragments/ (without .config), merged in order */
  fragments: string[];
  /** content key of the patches applied to the source tree ("" for none) */
  patchesKey?: string;
  /**
   * build with the fixed identity REPRODUCIBLE_BUILD_ENV (in the build's own environment and
   * its key); ordinary builds leave it out and their keys are as they were
   */
  reproducible?: boolean;
  jobs?: number;
  onLine?: (line: string) => void;
}

export interface KernelBuild {
  key: string;
  dir: string;
  image: string;
  headers: string;
  release: string;
  seconds: number;
  cached: boolean;
  toolchain: string;
  config_sha256: string;
  log: string;
  image_sha256: string;
  /** what was built from, so the build can be replayed by hand (and by bench/matrix) */
  source_dir: string;
  fragment_files: string[];
  /** the UAPI headers as installed: a header deleted or cut short later makes the entry invalid */
  headers_summary?: DirSummary;
  /** where the build's time went, in seconds (builds recorded before: absent) */
  stages?: BuildStages;
  /** how much of the tree was built again: what a workspace build started from and compiled */
  incremental?: Incremental;
}

export interface BuildStages {
  /** moving the workspace's tree to the build's sources */
  move: number;
  /** tinyconfig, the fragments, olddefconfig */
  config: number;
  /** make up to the first link step (vmlinux.a / vmlinux.o) */
  compile: number;
  /** the link steps and the boot image */
  link: number;
  headers: number;
}

export interface Incremental {
  /** the workspace folder (its tree and obj are shared by the builds of one base, arch and config) */
  workspace: string;
  /** the workspace was made anew (first build of this base, arch and config): a full build */
  fresh: boolean;
  /** source files the move rewrote (what the sources differ in from the previous build there) */
  rewritten: string[];
  /** C files make compiled (its "CC" lines) */
  compiled: number;
}

export interface BuildFailure {
  message: string;
  /** the tree make compiled (compiler errors name files under it); absent when no build ran */
  srcDir?: string;
  log: string;
  logTail: string;
  seconds: number;
}

const defaultJobs = (): number => cpus().length + 1;

async function fragmentTexts(names: string[]): Promise<string[]> {
  return Promise.all(names.map((n) => readFile(repoPath("kernels", "fragments", `${n}.config`), "utf8")));
}

/** What decides a build's configuration and code generation, beside its sources: part of both keys below. */
async function configParts(req: BuildRequest): Promise<{ recipe: string; fragments: string[]; arch: string; toolchain: string }> {
  return {
    recipe: RECIPE,
    fragments: (await fragmentTexts([...req.fragments, req.machine.fragment])).map(sha256),
    arch: req.machine.arch,
    toolchain: await compilerVersion(kernelCompiler(req.machine)),
  };
}

export async function buildKey(req: BuildRequest): Promise<string> {
  return contentKey({
    ...(await configParts(req)),
    // The mark goes on the source part, not a part of its own: a part of its own would change
    // the key of every bisection step built before (see reproducibleMark).
    source: req.reproducible ? `${req.source.key}+${reproducibleMark()}` : req.source.key,
    patches: req.patchesKey ?? "",
  });
}

/**
 * The workspace of a build: one per base tree, arch, config inputs and compiler; every
 * build of that base (variants, bisection positions, reproducible or not) shares it. The
 * build identity is left out: a reproducible build after an ordinary one regenerates the
 * version header and relinks, nothing more.
 */
export async function workspaceFor(req: BuildRequest): Promise<Workspace> {
  const base = req.source.derived?.base ?? req.source;
  const key = contentKey({ ...(await configParts(req)), base: base.key });
  return workspaceAt(cachePath("work", `${req.machine.arch}-${base.version}-${key}`));
}

/**
 * Build a minimal kernel: tinyconfig + fragments, verified, then the image and the UAPI
 * headers the reproducers compile against. A cached build is reused only if its recorded
 * image hash still matches the file on disk.
 */
export async function buildKernel(req: BuildRequest): Promise<Result<KernelBuild, BuildFailure>> {
  const key = await buildKey(req);
  const dir = cachePath("build", `${req.machine.arch}-${req.source.version}-${key}`);
  await mkdir(dirname(dir), { recursive: true });
  return withLock(dir, () => buildLocked(req, key, dir));
}

/**
 * A recorded build with its paths where the entry is now: build.json records absolute
 * paths, and the cache may have moved since (another COWLAB_CACHE, a copied entry). The
 * entry is judged by its own files, never by the ones at the recorded place.
 */
function relocated(b: KernelBuild, dir: string): KernelBuild {
  return { ...b, dir, image: join(dir, basename(b.image)), headers: join(dir, "headers"), log: join(dir, "build.log") };
}

async function buildLocked(req: BuildRequest, key: string, dir: string): Promise<Result<KernelBuild, BuildFailure>> {
  const meta = join(dir, "build.json");
  const recorded = await readJson<KernelBuild>(meta);
  const prior = recorded && relocated(recorded, dir);
  if (prior && (await verifyBuild(prior))) {
    await markUsed(dir);
    return ok({ ...prior, cached: true });
  }
  const started = Date.now();
  const ws = await workspaceFor(req);
  await mkdir(ws.dir, { recursive: true });
  // The workspace's lock is taken inside the entry's: always in this order, so two builds never wait on each other crosswise.
  return withLock(ws.dir, async () => {
    try {
      const moved = await moveTo(ws, req.source.derived?.base ?? req.source, req.source);
      return await buildFresh(req, key, dir, ws, moved, started);
    } catch (e) {
      // Our own writes (the moved tree, the log, the image copy, build.json) on a full disk:
      // a build-error saying so, not an internal error that takes the run down.
      if (!isDiskFull(e)) throw e;
      return err(await diskFullFailure(dir, ws, "the build", (e as Error).message, started));
    }
  });
}

/**
 * A build that ran out of space: the reason names the cache and what a build needs, and the
 * workspace's object directory is removed with its state (it would only keep the disk full;
 * the next build there starts over, and without build.json the entry is never trusted
 * anyway).
 */
async function diskFullFailure(dir: string, ws: Workspace, what: string, detail: string, started: number): Promise<BuildFailure> {
  await startOver(ws);
  const log = join(dir, "build.log");
  return { message: `${what} failed: ${await diskFullReason(NEEDS.kernelBuild)}`, log, logTail: tail(detail.trimEnd(), 40), seconds: (Date.now() - started) / 1000 };
}

/** The first line of make's link: everything compiled is archived or linked into vmlinux from here on. */
const LINK_START = /^\s*(AR\s+vmlinux\.a|LD\s+vmlinux\.o)\s*$/;
const COMPILED = /^\s*CC\s+\S+\.o\s*$/;

/** make in the workspace, moved to the build's sources: its tree is what make reads, its obj/ what it writes. */
async function buildFresh(req: BuildRequest, key: string, dir: string, ws: Workspace, moved: Moved, started: number): Promise<Result<KernelBuild, BuildFailure>> {
  const { tree: srcDir, obj: objDir } = ws;
  const meta = join(dir, "build.json");
  const log = join(dir, "build.log");
  const headers = join(dir, "headers");
  // An entry that failed verification: its record and headers go (the object directory is the workspace's; make reuses it).
  await rm(meta, { force: true });
  await rm(headers, { recursive: true, force: true });
  await mkdir(dir, { recursive: true });
  await mkdir(objDir, { recursive: true });
  await writeFile(log, "");
  const seconds = () => (Date.now() - started) / 1000;
  const toolchain = await compilerVersion(kernelCompiler(req.machine));
  const mk = makeArgs(req.machine, objDir);
  const names = [...req.fragments, req.machine.fragment];
  const fragmentFiles = names.map((n) => repoPath("kernels", "fragments", `${n}.config`));
  // ccache is opt-in: it only pays off when the same config is built from another tree, and
  // on a cold cache its misses made a build ~30% slower than plain make (bench/matrix).
  const ccache = process.env.COWLAB_CCACHE === "1" && (await exists("/usr/bin/ccache")) ? [`CC=ccache ${kernelCompiler(req.machine)}`] : [];
  const env = { CCACHE_DIR: cachePath("ccache"), ...(req.reproducible ? REPRODUCIBLE_BUILD_ENV : {}) };
  let linkAt: number | undefined;
  let compiled = 0;

  const step = async (what: string, cmd: string, args: string[]): Promise<BuildFailure | undefined> => {
    await appendFile(log, `\n$ ${cmd} ${args.join(" ")}\n`);
    const child = execa(cmd, args, { cwd: srcDir, reject: false, all: true, env, extendEnv: true, buffer: false });
    let buf = "";
    // The log is appended in order; a write that fails (a full disk) loses log lines, never the build's verdict.
    let logged = Promise.resolve();
    child.all?.on("data", (d: Buffer) => {
      const s = d.toString();
      buf = (buf + s).slice(-200_000);
      logged = logged.then(() => appendFile(log, s)).catch(() => undefined);
      for (const l of s.split("\n")) {
        if (COMPILED.test(l)) compiled++;
        else if (linkAt === undefined && LINK_START.test(l)) linkAt = performance.now();
        if (req.onLine && l.trim()) req.onLine(l);
      }
    });
    const r = await child;
    await logged;
    if (r.exitCode === 0) return undefined;
    if (isDiskFull(buf) || (await nearlyFull(objDir))) return diskFullFailure(dir, ws, what, buf, started);
    return { message: `${what} failed (exit ${r.exitCode})`, srcDir, log, logTail: tail(buf.trimEnd(), 40), seconds: seconds() };
  };
  const t0 = performance.now();

  const readConfig = (): Promise<string | undefined> => readFile(join(objDir, ".config"), "utf8").catch(() => undefined);
  const stands = await configStands(ws, moved, await readConfig());
  if (stands) await appendFile(log, "\n(the workspace's .config stands: same fragments, no Kconfig file changed; not configured again)\n");
  else {
    const failed =
      (await step("make tinyconfig", "make", [...mk, "tinyconfig"])) ??
      (await step("merge_config.sh", "scripts/kconfig/merge_config.sh", ["-m", "-O", objDir, join(objDir, ".config"), ...fragmentFiles])) ??
      (await step("make olddefconfig", "make", [...mk, "olddefconfig"]));
    if (failed) return err(failed);
  }

  const finalConfig = (await readConfig()) ?? "";
  const dropped = droppedOptions(mergeFragments(await fragmentTexts(names)), parseConfig(finalConfig));
  if (dropped.length) {
    const message = `config options dropped by olddefconfig: ${formatDropped(dropped)}`;
    await writeFile(log, `\n${message}\n`, { flag: "a" });
    return err({ message, log, logTail: "", seconds: seconds() });
  }
  if (!stands) await recordConfig(ws, finalConfig);

  const jobs = String(req.jobs ?? defaultJobs());
  const t1 = performance.now();
  const made = await makeRunning(ws, () => step("make", "make", [...mk, ...ccache, `-j${jobs}`, req.machine.make_target]));
  if (made) return err(made);
  const t2 = performance.now();
  const installed = await step("make headers_install", "make", [...mk, `INSTALL_HDR_PATH=${headers}`, "headers_install"]);
  if (installed) return err(installed);
  const t3 = performance.now();
  // Nothing to link (the image was up to date): all of make's time was the compile stage's check.
  const linked = linkAt ?? t2;
  const s1 = (a: number, b: number): number => Math.round((b - a) / 100) / 10;
  const stages: BuildStages = { move: Math.round(moved.seconds * 10) / 10, config: s1(t0, t1), compile: s1(t1, linked), link: s1(linked, t2), headers: s1(t2, t3) };

  const release = (await execa("make", ["-s", ...mk, "kernelrelease"], { cwd: srcDir, reject: false })).stdout.trim();
  // The entry keeps its own copy of the image and .config: the shared object directory is
  // rebuilt by the next build there, and the entry must stay valid (and bundles replayable) after that.
  const image = join(dir, basename(req.machine.image));
  await copyFile(join(objDir, req.machine.image), image);
  await writeFile(join(dir, "config"), finalConfig);
  const headersSummary = await summarizeDir(headers);
  const result: KernelBuild = {
    key,
    dir,
    image,
    headers,
    release,
    seconds: Math.round(seconds() * 10) / 10,
    cached: false,
    toolchain,
    config_sha256: sha256(finalConfig),
    log,
    image_sha256: await sha256File(image),
    source_dir: req.source.dir,
    fragment_files: fragmentFiles,
    ...(headersSummary ? { headers_summary: headersSummary } : {}),
    stages,
    incremental: { workspace: ws.dir, fresh: moved.fresh, rewritten: moved.rewritten, compiled },
  };
  await writeFileAtomic(meta, JSON.stringify(result, null, 2));
  return ok(result);
}

/**
 * A cache entry is trusted only if its image still hashes to what the build recorded and its
 * UAPI headers are all there (builds recorded before headers_summary: mman.h at least).
 */
export async function verifyBuild(b: KernelBuild): Promise<boolean> {
  try {
    if (!(await stat(b.image)).isFile()) return false;
    if (!(await exists(join(b.headers, "include", "linux", "mman.h")))) return false;
    if (b.headers_summary) {
      const now = await summarizeDir(b.headers);
      if (!now || now.files !== b.headers_summary.files || now.bytes !== b.headers_summary.bytes) return false;
    }
    return (await sha256File(b.image)) === b.image_sha256;
  } catch {
    return false;
  }
}
