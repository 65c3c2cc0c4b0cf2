import { mkdir, rename, rm, readFile, writeFile, access, utimes } from "node:fs/promises";
import { dirname } from "node:path";

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
  const tmp = `${path}.tmp-${process.pid}`;
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
 * entry either exists whole or not at all.
 */
export async function buildDirAtomic(final: string, fill: (tmp: string) => Promise<void>): Promise<void> {
  const tmp = `${final}.partial-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
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

export const tail = (text: string, lines: number): string => text.split("\n").slice(-lines).join("\n");

/** Stamp a cache entry as used now: `cowlab cache prune` removes the least recently used. */
export async function markUsed(path: string): Promise<void> {
  const now = new Date();
  await utimes(path, now, now).catch(() => undefined);
}
