// Every process this one started, children of children included (make's compilers, QEMU),
// read from /proc: on Ctrl-C the lab must leave nothing running behind it, and a build's
// compilers are grandchildren that killing make alone would orphan.
import { readdir, readFile } from "node:fs/promises";

async function parents(): Promise<Map<number, number[]>> {
  const kids = new Map<number, number[]>();
  for (const name of await readdir("/proc").catch(() => [] as string[])) {
    if (!/^\d+$/.test(name)) continue;
    const stat = await readFile(`/proc/${name}/stat`, "utf8").catch(() => "");
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so split after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    if (!ppid) continue;
    kids.set(ppid, [...(kids.get(ppid) ?? []), Number(name)]);
  }
  return kids;
}

export async function descendants(root = process.pid): Promise<number[]> {
  const kids = await parents();
  const out: number[] = [];
  const walk = (pid: number): void => {
    for (const k of kids.get(pid) ?? []) {
      out.push(k);
      walk(k);
    }
  };
  walk(root);
  return out;
}

/** SIGKILL the whole tree below this process (children first found, then any they left). */
export async function killDescendants(root = process.pid): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 3; round++) {
    const pids = await descendants(root);
    if (!pids.length) break;
    for (const pid of pids) {
      try {
        process.kill(pid, "SIGKILL");
        killed++;
      } catch {
        // already gone
      }
    }
  }
  return killed;
}
