import { mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { uniqueSuffix } from "./unique.ts";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/** Per-path queues of this process: two jobs of one run wait for each other instead of failing. */
const local = new Map<string, Promise<unknown>>();

/**
 * Hold a lock on `path` while `fn` runs, so two cowlab processes (or two jobs of one) never
 * write the same cache entry. Callers in this process queue on a promise; other processes
 * see a `<path>.lock` directory. That directory appears whole, with its owner's pid already
 * inside (made under a unique name, then renamed), so a waiter never mistakes a lock being
 * taken for a stale one. A lock left by a dead process is taken over.
 */
export function withLock<T>(path: string, fn: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  const before = local.get(path) ?? Promise.resolve();
  const mine = before.catch(() => undefined).then(() => withDirLock(path, fn, onWait));
  const settled = mine.catch(() => undefined);
  local.set(path, settled);
  void settled.then(() => {
    if (local.get(path) === settled) local.delete(path);
  });
  return mine;
}

async function withDirLock<T>(path: string, fn: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  const dir = `${path}.lock`;
  let warned = false;
  let unreadable = 0;
  for (;;) {
    const tmp = `${dir}.new-${uniqueSuffix()}`;
    try {
      await mkdir(tmp, { recursive: true });
      await writeFile(join(tmp, "pid"), String(process.pid));
    } catch (e) {
      await rm(tmp, { recursive: true, force: true }); // a full disk: leave no half-made lock behind
      throw e;
    }
    try {
      await rename(tmp, dir); // fails while another lock directory (never empty) is there
      break;
    } catch (e) {
      await rm(tmp, { recursive: true, force: true });
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== "ENOTEMPTY" && code !== "EEXIST") throw e;
      const holder = Number(await readFile(join(dir, "pid"), "utf8").catch(() => "0"));
      // No pid at all for ~5 s: a lock directory from an older cowlab, or made by hand.
      if ((holder && !alive(holder)) || (!holder && ++unreadable > 100)) {
        // Move the stale lock aside first: of several waiters only one rename succeeds.
        const stale = `${dir}.stale-${uniqueSuffix()}`;
        if (await rename(dir, stale).then(() => true, () => false)) await rm(stale, { recursive: true, force: true });
        continue;
      }
      if (holder && !warned && onWait) onWait(holder);
      warned = true;
      await new Promise((r) => setTimeout(r, holder ? 500 : 50));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
