// `cowlab cache ls` and `cowlab cache prune`: what the one cache directory holds, and
// removing the least recently used entries by age or total size.
import { readdir, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { cacheRoot } from "../util/paths.ts";

/** Kinds of entries, one folder each (runs: the run store, one summary file per run, results/history.ts); ccache manages its own size (ccache -M). */
export const KINDS = ["debs", "src", "build", "headers", "busybox", "testcases", "initramfs", "rootfs", "bisect", "work", "test-git", "runs", "lore"] as const;

export interface CacheEntry {
  kind: string;
  name: string;
  path: string;
  bytes: number;
  lastUsed: Date;
  locked: boolean;
}

async function du(path: string): Promise<number> {
  const r = await execa("du", ["-sb", path], { reject: false });
  return Number(r.stdout.split(/\s/)[0]) || 0;
}

/** Names of things being made right now (see util/fsx.ts, util/lock.ts): never entries. */
const IN_PROGRESS = /\.(partial|stage|tmp|download|new|stale)-|^\.download-|\.lock\./;

export async function listCache(): Promise<CacheEntry[]> {
  const entries: CacheEntry[] = [];
  for (const kind of KINDS) {
    const dir = join(cacheRoot(), kind);
    const names = await readdir(dir).catch(() => [] as string[]);
    const locks = new Set(names.filter((n) => n.endsWith(".lock")).map((n) => n.slice(0, -5)));
    for (const name of names) {
      if (name.endsWith(".lock") || name.endsWith(".sha256") || IN_PROGRESS.test(name)) continue;
      const path = join(dir, name);
      const st = await stat(path).catch(() => undefined);
      if (!st) continue;
      entries.push({ kind, name, path, bytes: st.isDirectory() ? await du(path) : st.size, lastUsed: st.mtime, locked: locks.has(name) });
    }
  }
  return entries;
}

export interface PruneOptions {
  olderThanDays?: number;
  maxBytes?: number;
  dryRun?: boolean;
}

/** Remove entries unused for longer than the age, then the least recently used until under the size. */
export async function pruneCache(opts: PruneOptions): Promise<CacheEntry[]> {
  const entries = (await listCache()).filter((e) => !e.locked).sort((a, b) => a.lastUsed.getTime() - b.lastUsed.getTime());
  const doomed = new Set<CacheEntry>();
  if (opts.olderThanDays !== undefined) {
    const limit = Date.now() - opts.olderThanDays * 86_400_000;
    for (const e of entries) if (e.lastUsed.getTime() < limit) doomed.add(e);
  }
  if (opts.maxBytes !== undefined) {
    let total = entries.filter((e) => !doomed.has(e)).reduce((s, e) => s + e.bytes, 0);
    for (const e of entries) {
      if (total <= opts.maxBytes) break;
      if (doomed.has(e)) continue;
      doomed.add(e);
      total -= e.bytes;
    }
  }
  if (!opts.dryRun) {
    for (const e of doomed) {
      await rm(e.path, { recursive: true, force: true });
      await rm(`${e.path}.sha256`, { force: true });
    }
  }
  return [...doomed];
}

export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?$/i.exec(text.trim());
  if (!m) throw new Error(`'${text}' is not a size like 500M or 20G`);
  return Math.round(Number(m[1]) * 1024 ** " KMGT".indexOf((m[2] || " ").toUpperCase()));
}

export { humanSize as humanBytes } from "../util/disk.ts";
