import { copyFile, mkdir, readFile, writeFile, stat } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { cpus } from "node:os";
import { execa } from "execa";
import type { MachineProfile } from "../config/machines.ts";
import type { SourceTree } from "../sources/types.ts";
import { cachePath, repoPath } from "../util/paths.ts";
import { contentKey, sha256, sha256File } from "../util/hash.ts";
import { exists, markUsed, readJson, tail, writeFileAtomic } from "../util/fsx.ts";
import { ok, err, type Result } from "../util/result.ts";
import { withLock } from "../util/lock.ts";
import { parseConfig, mergeFragments, droppedOptions, formatDropped } from "./kconfig.ts";
import { compilerVersion, kernelCompiler, makeArgs } from "./toolchain.ts";

/** Bumped when the build recipe below changes in a way that should invalidate old builds. */
const RECIPE = "1";

export interface BuildRequest {
  source: SourceTree;
  machine: MachineProfile;
  /** fragment names in kernels/fragments/ (without .config), merged in order */
  fragments: string[];
  /** content key of the patches applied to the source tree ("" for none) */
  patchesKey?: string;
  /** an explicit object directory (bisection reuses one); default: keyed cache dir */
  objDir?: string;
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
}

export interface BuildFailure {
  message: string;
  log: string;
  logTail: string;
  seconds: number;
}

const defaultJobs = (): number => cpus().length + 1;

async function fragmentTexts(names: string[]): Promise<string[]> {
  return Promise.all(names.map((n) => readFile(repoPath("kernels", "fragments", `${n}.config`), "utf8")));
}

export async function buildKey(req: BuildRequest): Promise<string> {
  const names = [...req.fragments, req.machine.fragment];
  return contentKey({
    recipe: RECIPE,
    source: req.source.key,
    patches: req.patchesKey ?? "",
    fragments: (await fragmentTexts(names)).map(sha256),
    arch: req.machine.arch,
    toolchain: await compilerVersion(kernelCompiler(req.machine)),
  });
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

async function buildLocked(req: BuildRequest, key: string, dir: string): Promise<Result<KernelBuild, BuildFailure>> {
  const meta = join(dir, "build.json");
  const prior = await readJson<KernelBuild>(meta);
  if (prior && (await verifyBuild(prior))) {
    await markUsed(dir);
    return ok({ ...prior, cached: true });
  }

  const objDir = req.objDir ?? join(dir, "obj");
  const log = join(dir, "build.log");
  await mkdir(dir, { recursive: true });
  await mkdir(objDir, { recursive: true });
  await writeFile(log, "");
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  const toolchain = await compilerVersion(kernelCompiler(req.machine));
  const mk = makeArgs(req.machine, objDir);
  const names = [...req.fragments, req.machine.fragment];
  const fragmentFiles = names.map((n) => repoPath("kernels", "fragments", `${n}.config`));
  // ccache is opt-in: it only pays off when the same config is built from another tree, and
  // on a cold cache its misses made a build ~30% slower than plain make (bench/matrix).
  const ccache = process.env.COWLAB_CCACHE === "1" && (await exists("/usr/bin/ccache")) ? [`CC=ccache ${kernelCompiler(req.machine)}`] : [];
  const env = { CCACHE_DIR: cachePath("ccache") };

  const step = async (what: string, cmd: string, args: string[]): Promise<BuildFailure | undefined> => {
    await writeFile(log, `\n$ ${cmd} ${args.join(" ")}\n`, { flag: "a" });
    const child = execa(cmd, args, { cwd: req.source.dir, reject: false, all: true, env, extendEnv: true, buffer: false });
    let buf = "";
    child.all?.on("data", (d: Buffer) => {
      const s = d.toString();
      buf = (buf + s).slice(-200_000);
      void writeFile(log, s, { flag: "a" });
      if (req.onLine) for (const l of s.split("\n")) if (l.trim()) req.onLine(l);
    });
    const r = await child;
    if (r.exitCode === 0) return undefined;
    return { message: `${what} failed (exit ${r.exitCode})`, log, logTail: tail(buf.trimEnd(), 40), seconds: seconds() };
  };

  const failed =
    (await step("make tinyconfig", "make", [...mk, "tinyconfig"])) ??
    (await step("merge_config.sh", "scripts/kconfig/merge_config.sh", ["-m", "-O", objDir, join(objDir, ".config"), ...fragmentFiles])) ??
    (await step("make olddefconfig", "make", [...mk, "olddefconfig"]));
  if (failed) return err(failed);

  const finalConfig = await readFile(join(objDir, ".config"), "utf8");
  const dropped = droppedOptions(mergeFragments(await fragmentTexts(names)), parseConfig(finalConfig));
  if (dropped.length) {
    const message = `config options dropped by olddefconfig: ${formatDropped(dropped)}`;
    await writeFile(log, `\n${message}\n`, { flag: "a" });
    return err({ message, log, logTail: "", seconds: seconds() });
  }

  const jobs = String(req.jobs ?? defaultJobs());
  const headers = join(dir, "headers");
  const built =
    (await step("make", "make", [...mk, ...ccache, `-j${jobs}`, req.machine.make_target])) ??
    (await step("make headers_install", "make", [...mk, `INSTALL_HDR_PATH=${headers}`, "headers_install"]));
  if (built) return err(built);

  const release = (await execa("make", ["-s", ...mk, "kernelrelease"], { cwd: req.source.dir, reject: false })).stdout.trim();
  // The entry keeps its own copy of the image: a shared object directory (bisection) is
  // rebuilt by the next step, and the entry must stay valid after that.
  const image = join(dir, basename(req.machine.image));
  await copyFile(join(objDir, req.machine.image), image);
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
  };
  await writeFileAtomic(meta, JSON.stringify(result, null, 2));
  return ok(result);
}

/** A cache entry is trusted only if its image still hashes to what the build recorded. */
async function verifyBuild(b: KernelBuild): Promise<boolean> {
  try {
    if (!(await stat(b.image)).isFile()) return false;
    if (!(await exists(join(b.headers, "include", "linux", "mman.h")))) return false;
    return (await sha256File(b.image)) === b.image_sha256;
  } catch {
    return false;
  }
}
