import { mkdir, rename, rm, readFile, writeFile, access, utimes, appendFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { withLock } from "./lock.ts";
import { diskFullReason, isDiskFull, markIfDiskFull } from "./disk.ts";
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

/**
 * Write via a temp file and rename, so a crash never leaves a half-written file behind; a
 * write that fails (a full disk) removes its temp file.
 */
export async function writeFileAtomic(path: string, data: string | Buffer): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${uniqueSuffix()}`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, path);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
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
    await markIfDiskFull(e, tmp); // before the partial files go and free the space again
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

export interface EntryOptions {
  /** about how many bytes the fill writes: named when the cache disk fills up */
  need?: number;
}

/**
 * Make sure the cache entry `path` is valid, filling it with `fill` if not. This is the one
 * way cache stages create entries: callers of this process share one promise per entry,
 * other processes wait on a lock, and each re-checks `valid` once it holds the lock, so an
 * entry is filled once however many jobs and processes ask for it at the same moment.
 * A fill (or the lock) that runs out of disk fails with a FillError saying the cache disk
 * is full, whatever tool hit it.
 */
export function ensureEntry(path: string, valid: () => Promise<boolean>, fill: () => Promise<void>, opts: EntryOptions = {}): Promise<void> {
  const running = inflight.get(path);
  if (running) return running;
  const p = (async () => {
    if (await valid()) return;
    try {
      await mkdir(dirname(path), { recursive: true });
      await withLock(path, async () => {
        if (await valid()) return;
        await traceFill(path);
        await fill();
      });
    } catch (e) {
      if (!isDiskFull(e)) throw e;
      const was = e instanceof FillError ? e.detail : undefined;
      throw new FillError(await diskFullReason(opts.need), [(e as Error).message, was].filter(Boolean).join("\n"));
    }
  })().finally(() => inflight.delete(path));
  inflight.set(path, p);
  return p;
}

/**
 * What a directory entry held when it was complete: its files (but the `.sha256` sidecars
 * sha256FileCached adds later), symlinks and bytes. Kept in the entry as ENTRY_MARKER.
 */
export interface DirSummary {
  files: number;
  links: number;
  bytes: number;
}

export const ENTRY_MARKER = ".cowlab-entry";

/** The summary of a directory as it is now (find(1): ~0.2 s for a 90,000-file kernel tree), or undefined if unreadable. */
export async function summarizeDir(dir: string): Promise<DirSummary | undefined> {
  const r = await execa("find", [dir, "-path", join(dir, ENTRY_MARKER), "-prune", "-o", "(", "-type", "f", "-o", "-type", "l", ")", "!", "-name", "*.sha256", "-printf", "%y %s\n"], { reject: false, lines: false });
  if (r.exitCode !== 0) return undefined;
  const s: DirSummary = { files: 0, links: 0, bytes: 0 };
  for (const line of r.stdout.split("\n")) {
    if (line.startsWith("f ")) {
      s.files++;
      s.bytes += Number(line.slice(2));
    } else if (line.startsWith("l ")) s.links++;
  }
  return s;
}

const sameSummary = (a: DirSummary, b: DirSummary): boolean => a.files === b.files && a.links === b.links && a.bytes === b.bytes;

/**
 * Is the directory entry as it was made? Its marker must match what is there now: a file
 * deleted or truncated inside (a full disk, an interrupted copy, a hand edit) makes the
 * entry invalid, and it is made again. An entry from before markers existed, that its
 * kind's own check accepted, is adopted: its marker is written now.
 */
export async function dirIntact(dir: string): Promise<boolean> {
  const now = await summarizeDir(dir);
  if (!now) return false;
  const text = await readFile(join(dir, ENTRY_MARKER), "utf8").catch(() => undefined);
  if (text === undefined) {
    await writeFileAtomic(join(dir, ENTRY_MARKER), JSON.stringify(now) + "\n").catch(() => undefined);
    return true;
  }
  try {
    return sameSummary(JSON.parse(text) as DirSummary, now);
  } catch {
    return false;
  }
}

/**
 * `ensureEntry` for a directory built whole under a temporary name: valid when its kind's
 * check (`valid`) passes and its contents match the marker written when it was made.
 */
export const ensureDir = (path: string, valid: () => Promise<boolean>, fill: (tmp: string) => Promise<void>, opts: EntryOptions = {}): Promise<void> =>
  ensureEntry(
    path,
    async () => (await valid()) && (await dirIntact(path)),
    () =>
      buildDirAtomic(path, async (tmp) => {
        await fill(tmp);
        const summary = await summarizeDir(tmp);
        if (!summary) throw new Error(`cannot list ${tmp}`);
        // A tree hard-linked from another (cp -al) holds that tree's marker: unlink it first,
        // or writing would change the other tree's marker through the shared inode.
        await rm(join(tmp, ENTRY_MARKER), { force: true });
        await writeFile(join(tmp, ENTRY_MARKER), JSON.stringify(summary) + "\n");
      }),
    opts,
  );

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
