import { mkdir, rename, rm, readFile, writeFile, access, utimes, appendFile } from "node:fs/promises";
import { dirname } from "node:path";
import { withLock } from "./lock.ts";
import { uniqueSuffix } from "./unique.ts";
import { labError, type Err, type LabError, type LabErrorKind } from "./result.ts";

export async function exists(path: string): Promise<boolean> {
  try {
    await access(path);
    return true;
  } catch {
    return false;
  }
}

/** Write via a temp file and rename, so a crash never leaves a half-written file behind. */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${uniqueSuffix()}`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

export async function readJson<T>(path: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

/**
 * Build a directory under a temporary name and move it into place when complete: a cache
 * entry either exists whole or not at all. The temporary name is unique per call, so two
 * fills never share a folder; callers that may race use `ensureEntry`, which also makes
 * sure only one of them fills.
 */
export async function buildDirAtomic(final: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${final}.partial-${uniqueSuffix()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await fill(tmp);
    await rm(final, { recursive: true, force: true });
    await rename(tmp, final);
  } catch (e) {
    await rm(tmp, { recursive: true, force: true });
    throw e;
  }
}

/**
 * A fill that failed, with the text to show (a command's output). Fills throw it rather than
 * report through a variable: every caller sharing the fill must see the same failure.
 */
export class FillError extends Error {
  constructor(
    message: string,
    readonly detail?: string,
  ) {
    super(message);
  }
}

/** A failed fill as a typed lab error: its message (after `prefix`) and, for a FillError, its detail. */
export const fillFailure = (kind: LabErrorKind, e: unknown, prefix = ""): Err<LabError> =>
  labError(kind, `${prefix}${(e as Error).message}`, e instanceof FillError ? e.detail : undefined);

/** Fills in flight in this process, by entry path. */
const inflight = new Map<string, Promise<void>>();

/**
 * Make sure the cache entry `path` is valid, filling it with `fill` if not. This is the one
 * way cache stages create entries: callers of this process share one promise per entry,
 * other processes wait on a lock, and each re-checks `valid` once it holds the lock, so an
 * entry is filled once however many jobs and processes ask for it at the same moment.
 */
export function ensureEntry(path: string, valid: () => Promise<boolean>, fill: () => Promise<void>): Promise<void> {
  const running = inflight.get(path);
  if (running) return running;
  const p = (async () => {
    if (await valid()) return;
    await mkdir(dirname(path), { recursive: true });
    await withLock(path, async () => {
      if (await valid()) return;
      await traceFill(path);
      await fill();
    });
  })().finally(() => inflight.delete(path));
  inflight.set(path, p);
  return p;
}

/** `ensureEntry` for a directory built whole under a temporary name. */
export const ensureDir = (path: string, valid: () => Promise<boolean>, fill: (tmp: string) => Promise<void>): Promise<void> =>
  ensureEntry(path, valid, () => buildDirAtomic(path, fill));

/**
 * With COWLAB_TRACE_FILLS=FILE, every cache fill appends "<pid> <entry>" to FILE (one short
 * O_APPEND write, so lines of several processes never interleave): the race tests count
 * fills with it, and a user can see what a run really rebuilt.
 */
async function traceFill(path: string): Promise<void> {
  const file = process.env.COWLAB_TRACE_FILLS;
  if (file) await appendFile(file, `${process.pid} ${path}\n`);
}

export const tail = (text: string, lines: number): string => text.split("\n").slice(-lines).join("\n");

/** Stamp a cache entry as used now: `cowlab cache prune` removes the least recently used. */
export async function markUsed(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}
