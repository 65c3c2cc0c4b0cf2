// A full cache disk, told apart from other failures: a tar, a make or a write of ours that
// ran out of space says so in one line naming the cache and the space the step needs,
// instead of the last line of a tool's output.
import { statfs } from "node:fs/promises";
import { dirname } from "node:path";
import { cacheRoot } from "./paths.ts";

// What tools print when a write fails for lack of space; tar says only "Wrote only N of M bytes".
const ENOSPC_TEXT = /No space left on device|ENOSPC|Disk quota exceeded|EDQUOT|Wrote only \d+ of \d+ bytes/;

/** Marks an error that happened while the disk it wrote to was full (see markIfDiskFull). */
const FULL = Symbol("cowlab.diskFull");

/** Did this error (or a tool's output) come from a full disk? */
export function isDiskFull(e: unknown): boolean {
  if (typeof e === "string") return ENOSPC_TEXT.test(e);
  if (!e || typeof e !== "object") return false;
  const o = e as { code?: unknown; message?: unknown; detail?: unknown; stderr?: unknown; all?: unknown; cause?: unknown; [FULL]?: boolean };
  if (o[FULL] || o.code === "ENOSPC" || o.code === "EDQUOT") return true;
  for (const t of [o.message, o.detail, o.stderr, o.all]) if (typeof t === "string" && ENOSPC_TEXT.test(t)) return true;
  return o.cause !== undefined && o.cause !== e && isDiskFull(o.cause);
}

/** Bytes free to an unprivileged writer on the filesystem holding `path` (its nearest existing ancestor). */
export async function freeBytes(path: string): Promise<number | undefined> {
  for (let p = path; ; p = dirname(p)) {
    const st = await statfs(p).catch(() => undefined);
    if (st) return st.bavail * st.bsize;
    if (dirname(p) === p) return undefined;
  }
}

/** Less than this free: a step that failed writing there failed because the disk is full. */
const NEARLY_FULL = 16 * 2 ** 20;

/** Is the filesystem holding `path` (nearly) out of space right now? */
export async function nearlyFull(path: string): Promise<boolean> {
  const free = await freeBytes(path);
  return free !== undefined && free < NEARLY_FULL;
}

/**
 * Call where a step that wrote under `path` failed, before its temporary files are removed:
 * if the disk is (nearly) full now, the error is marked as a full-disk one, whatever the
 * tool said about it.
 */
export async function markIfDiskFull(e: unknown, path: string): Promise<void> {
  if (e && typeof e === "object" && !isDiskFull(e) && (await nearlyFull(path))) (e as { [FULL]?: boolean })[FULL] = true;
}

export const humanSize = (n: number): string => {
  const units = ["B", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return `${n.toFixed(i ? 1 : 0)} ${units[i]}`;
};

/** Rough space a stage needs, measured on the lab's own entries (README, "Cache"). */
export const NEEDS = {
  /** an unpacked linux-source tree is 9-12x its .deb (1.1-1.8 GiB for 5.10-7.3) */
  sourceTree: (debBytes: number): number => Math.ceil(debBytes * 12),
  /** a minimal kernel's object directory and image: 91-155 MiB */
  kernelBuild: 320 * 2 ** 20,
};

/**
 * The one line a step that ran out of space ends with: which cache, how much is free now
 * (the failed step's temporary files are gone by then) and, where known, how much it needs.
 */
export async function diskFullReason(need?: number): Promise<string> {
  const root = cacheRoot();
  const free = await freeBytes(root);
  const has = free === undefined ? "" : ` (${humanSize(free)} free`;
  const needs = need === undefined ? "" : `${has ? ", " : " ("}about ${humanSize(need)} needed`;
  const close = has || needs ? ")" : "";
  return `the cache disk is full: ${root}${has}${needs}${close}; free space there (cowlab cache prune) or point COWLAB_CACHE at a bigger disk`;
}
