import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
};

/**
 * Hold a directory lock while `fn` runs, so two cowlab processes (or two jobs) never write
 * the same build directory. A lock left by a dead process is taken over.
 */
export async function withLock<T>(path: string, fn: () => Promise<T>, onWait?: (holder: number) => void): Promise<T> {
  const dir = `${path}.lock`;
  let warned = false;
  for (;;) {
    try {
      await mkdir(dir);
      await writeFile(join(dir, "pid"), String(process.pid));
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      const holder = Number(await readFile(join(dir, "pid"), "utf8").catch(() => "0"));
      if (holder === process.pid) throw new Error(`lock ${dir} is already held by this process`);
      if (!holder || !alive(holder)) {
        await rm(dir, { recursive: true, force: true });
        continue;
      }
      if (!warned && onWait) onWait(holder);
      warned = true;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  try {
    return await fn();
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
