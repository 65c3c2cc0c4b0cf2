// Where the files that replay a result are: the guest's folder in the run folder (its copy of
// the kernel, the initramfs it booted, the QEMU command: runtime/qemu-initramfs.ts writes
// them) and the build's cache entry (the .config, build/kernel.ts: <entry>/obj/.config). A
// file that is gone, or a .config that is not the one the run built, is an error naming it.
import { readdir, readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import { caseId, guestBoot } from "../results/attempts.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";
import type { Attempt, Boot } from "../results/schema.ts";
import { exists } from "../util/fsx.ts";
import { sha256 } from "../util/hash.ts";
import { cachePath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";
import { readRecordedArgv, shellWords, type RecordedGuest } from "./qemu-argv.ts";

export interface GuestInputs {
  entry: JudgedKernel;
  /** the guest replayed (1 = kernels[].boot, n = kernels[].reruns[n-2]) and its record */
  guest: number;
  boot: Boot;
  /** the QEMU argv the run recorded for it, and what it says */
  argv: string[];
  recorded: RecordedGuest;
  /** absolute paths */
  kernel: string;
  initramfs: string;
  /** the build's cache entry (its headers/ for compiling an explorer reproducer) */
  buildDir: string;
  config: string;
  configText: string;
}

/** The attempt a bundle replays: the first that had the verdict's status (flaky: the first that did not pass). */
export function replayedAttempt(r: Pick<JudgedCase, "status" | "attempts">): Attempt {
  const want = (a: Attempt): boolean => (r.status === "flaky" ? a.status !== "pass" && a.status !== "skip" : a.status === r.status);
  return r.attempts.find(want) ?? r.attempts[0]!;
}


const firstLine = (s: string): string => s.split("\n")[0] ?? "";

/**
 * Where the build's cache entry may be: where the run recorded it, and the entry of the same
 * name in today's cache (COWLAB_CACHE may point elsewhere than it did during the run; an
 * entry is named by its key, and the .config's hash says whether it is the same build).
 */
export function buildDirs(build: { image: string }): string[] {
  const recorded = dirname(build.image);
  return [...new Set([recorded, cachePath("build", basename(recorded))])];
}

/**
 * Where the .config may be: each entry's own copy (builds keep one since their objects live
 * in a shared workspace, build/workspace.ts), each entry's obj/ (entries built before), then
 * the object folders bisection shared between its steps, whose .config is the last step's
 * and is the step's own when the hash says so.
 */
async function configCandidates(dirs: string[], arch: string): Promise<string[]> {
  const shared = (await readdir(cachePath("bisect")).catch(() => [] as string[])).filter((n) => n.endsWith(`-${arch}`)).sort();
  return [...dirs.flatMap((d) => [join(d, "config"), join(d, "obj", ".config")]), ...shared.map((n) => cachePath("bisect", n, "obj", ".config"))];
}

/** Everything a bundle of r needs from the run folder and the cache, or an InputError saying what is missing. */
export async function locateInputs(file: string, data: JudgedRun, r: JudgedCase): Promise<GuestInputs> {
  const id = caseId(r);
  const runDir = dirname(resolve(file));
  const rerun = `re-run the job (${data.run.command})`;
  const entry = data.kernels.find((k) => k.job === r.job);
  if (!entry) throw new InputError(file, `${id}: no kernels[] entry for job ${r.job}`);
  const guest = replayedAttempt(r).guest;
  const boot = guestBoot(entry, guest);
  if (!boot) throw new InputError(file, `${id}: the job never booted a guest (${entry.status}${entry.reason ? `: ${firstLine(entry.reason)}` : ""})`);
  if (boot.runtime !== "qemu-initramfs") throw new InputError(file, `${id}: its guest ran on ${boot.runtime}${boot.target ? ` (${boot.target})` : ""}; a bundle replays the lab's own QEMU initramfs guest`);
  if (!entry.build) throw new InputError(file, `${id}: the job built no kernel`);
  let argv: string[];
  let recorded: RecordedGuest;
  try {
    argv = shellWords(boot.qemu_cmdline);
    recorded = readRecordedArgv(argv);
  } catch (e) {
    throw new InputError(file, `${id}: kernels[${r.job}] guest ${guest} qemu_cmdline: ${(e as Error).message}`);
  }
  // Paths in the recorded argv are relative to the guest's folder (where console.log is).
  const guestDir = dirname(resolve(runDir, boot.console));
  const initramfs = resolve(guestDir, recorded.initrd);
  if (!(await exists(initramfs))) throw new InputError(initramfs, `missing: the initramfs ${id}'s guest booted; ${rerun}`);
  // The build's entry (for its image and headers): the first candidate that is there.
  const dirs = buildDirs(entry.build);
  let buildDir = dirs[0]!;
  for (const d of dirs) if (await exists(d)) { buildDir = d; break; }
  // The .config: the first candidate whose text is the one the run built.
  let found: { config: string; configText: string } | undefined;
  let other: string | undefined;
  for (const config of await configCandidates(dirs, entry.arch)) {
    const configText = await readFile(config, "utf8").catch(() => undefined);
    if (configText === undefined) continue;
    if (sha256(configText) === entry.build.config_sha256) {
      found = { config, configText };
      break;
    }
    if (!config.startsWith(cachePath("bisect"))) other ??= config;
  }
  if (!found) {
    if (other) throw new InputError(other, `not the .config ${r.job} was built with (sha256 ${entry.build.config_sha256.slice(0, 12)}...): the cache entry was rebuilt since; ${rerun}`);
    throw new InputError(join(dirs[0]!, "obj", ".config"), `missing: the .config of ${r.job}'s build (cache entry ${entry.build.key}); ${rerun}`);
  }
  let kernel = resolve(guestDir, recorded.kernel);
  if (!(await exists(kernel))) {
    // the run folder's copy is gone: the build's own image in the cache is the same kernel
    const cached = join(buildDir, basename(entry.build.image));
    if (!(await exists(cached))) throw new InputError(kernel, `missing: the kernel ${id} booted (nor is the build's image in the cache); ${rerun}`);
    kernel = cached;
  }
  return { entry, guest, boot, argv, recorded, kernel, initramfs, buildDir, config: found.config, configText: found.configText };
}
