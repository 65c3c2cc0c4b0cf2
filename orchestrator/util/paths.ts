import { homedir } from "node:os";
import { join, resolve, dirname } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root: data files (specs, fragments, testcases, guests) are read from here. */
export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * One cache directory for everything downloaded or built, outside the clone so that a fresh
 * clone (as CI makes) still finds the kernels built by the previous run.
 */
export function cacheRoot(): string {
  if (process.env.COWLAB_CACHE) return resolve(process.env.COWLAB_CACHE);
  const xdg = process.env.XDG_CACHE_HOME || join(homedir(), ".cache");
  return join(xdg, "cowlab");
}

export const cachePath = (...parts: string[]): string => join(cacheRoot(), ...parts);
export const repoPath = (...parts: string[]): string => join(repoRoot, ...parts);
