// The build workspace's moves (build/workspace.ts): only files whose content differs are
// rewritten, with a new inode and mtime (make rebuilds from mtimes); the base is never
// written through a hard link; a move cut short starts over from a fresh copy.
import { describe, expect, it, beforeEach } from "vitest";
import { mkdir, mkdtemp, readFile, rm, stat, utimes, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { execa } from "execa";
import { configStands, makeRunning, moveTo, recordConfig, workspaceAt, type Workspace } from "../orchestrator/build/workspace.ts";
import type { SourceTree } from "../orchestrator/sources/types.ts";

let root: string;
let base: SourceTree;
let ws: Workspace;

async function tree(name: string, files: Record<string, string>): Promise<string> {
  const dir = join(root, name);
  for (const [f, text] of Object.entries(files)) {
    await mkdir(dirname(join(dir, f)), { recursive: true });
    await writeFile(join(dir, f), text);
  }
  return dir;
}

/** A tree derived from the base as applySeries makes one: a hard-linked copy with some files replaced or removed. */
async function derived(name: string, changes: Record<string, string | null>): Promise<SourceTree> {
  const dir = join(root, name);
  await execa("cp", ["-al", base.dir, dir]);
  for (const [f, text] of Object.entries(changes)) {
    await rm(join(dir, f), { force: true });
    if (text !== null) {
      await mkdir(dirname(join(dir, f)), { recursive: true });
      await writeFile(join(dir, f), text);
    }
  }
  return { dir, key: `base+${name}`, version: "6.12.0", label: name, derived: { base, changed: Object.keys(changes) } };
}

const read = (t: string, f: string): Promise<string | null> => readFile(join(t, f), "utf8").catch(() => null);
const ino = async (p: string): Promise<number> => (await stat(p)).ino;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-ws-"));
  const dir = await tree("base", { Makefile: "all:\n", "mm/memory.c": "memory\n", "mm/gup.c": "gup\n", "include/linux/mm.h": "mm.h\n" });
  // Old mtimes, as an unpacked source has: a fresh copy must keep them (objects built later are newer).
  for (const f of ["Makefile", "mm/memory.c", "mm/gup.c", "include/linux/mm.h"]) await utimes(join(dir, f), 1_000_000, 1_000_000);
  base = { dir, key: "base", version: "6.12.0", label: "base" };
  ws = workspaceAt(join(root, "ws"));
});

describe("build workspace", () => {
  it("a first move copies the base by hard links; the base itself rewrites nothing", async () => {
    const m = await moveTo(ws, base, base);
    expect(m).toMatchObject({ fresh: true, rewritten: [] });
    expect(await ino(join(ws.tree, "mm/memory.c"))).toBe(await ino(join(base.dir, "mm/memory.c")));
    expect(await moveTo(ws, base, base)).toMatchObject({ fresh: false, rewritten: [] });
  });

  it("a series rewrites only what it changed, with a new mtime, and never writes into the base", async () => {
    await moveTo(ws, base, base);
    const s = await derived("s1", { "mm/memory.c": "patched\n", "mm/new.c": "new\n" });
    const m = await moveTo(ws, base, s);
    expect(m.rewritten).toEqual(["mm/memory.c", "mm/new.c"]);
    expect(await read(ws.tree, "mm/memory.c")).toBe("patched\n");
    expect(await read(base.dir, "mm/memory.c")).toBe("memory\n");
    expect((await stat(join(ws.tree, "mm/memory.c"))).mtimeMs).toBeGreaterThan(Date.now() - 60_000);
    expect(await ino(join(ws.tree, "mm/gup.c"))).toBe(await ino(join(base.dir, "mm/gup.c")));
  });

  it("editing one patch of the series rewrites only the file whose content changed", async () => {
    await moveTo(ws, base, await derived("s1", { "mm/memory.c": "patched\n", "mm/gup.c": "gup patched\n" }));
    const m = await moveTo(ws, base, await derived("s2", { "mm/memory.c": "patched\n", "mm/gup.c": "gup patched again\n" }));
    expect(m.rewritten).toEqual(["mm/gup.c"]);
  });

  it("back to the base: changed files restored, added files removed", async () => {
    await moveTo(ws, base, await derived("s1", { "mm/memory.c": "patched\n", "mm/new.c": "new\n", "mm/gup.c": null }));
    const m = await moveTo(ws, base, base);
    expect(m.rewritten).toEqual(["mm/gup.c", "mm/memory.c", "mm/new.c"]);
    for (const f of ["mm/memory.c", "mm/gup.c"]) expect(await read(ws.tree, f)).toBe(await read(base.dir, f));
    expect(await read(ws.tree, "mm/new.c")).toBeNull();
    // Nothing differs any more: the next move looks at nothing.
    expect(await moveTo(ws, base, base)).toMatchObject({ rewritten: [] });
  });

  it("a move cut short (no state) starts over from a fresh copy, objects and all", async () => {
    await moveTo(ws, base, await derived("s1", { "mm/memory.c": "patched\n" }));
    await mkdir(ws.obj, { recursive: true });
    await writeFile(join(ws.obj, "memory.o"), "built from patched\n");
    await rm(join(ws.dir, "state.json"));
    const m = await moveTo(ws, base, base);
    expect(m.fresh).toBe(true);
    expect(await read(ws.tree, "mm/memory.c")).toBe("memory\n");
    expect(await read(ws.obj, "memory.o")).toBeNull();
  });

  it("another base: a fresh copy", async () => {
    await moveTo(ws, base, base);
    const other: SourceTree = { ...base, dir: await tree("other", { Makefile: "all:\n", "mm/memory.c": "other\n" }), key: "other" };
    expect(await moveTo(ws, other, other)).toMatchObject({ fresh: true });
    expect(await read(ws.tree, "mm/memory.c")).toBe("other\n");
    expect(await read(ws.tree, "mm/gup.c")).toBeNull();
  });

  it("a recorded .config stands until a Kconfig file changes, the .config itself changes, or the workspace is new", async () => {
    const first = await moveTo(ws, base, base);
    expect(await configStands(ws, first, "CONFIG_MMU=y\n")).toBe(false); // fresh: never configured here
    await recordConfig(ws, "CONFIG_MMU=y\n");
    const code = await moveTo(ws, base, await derived("s1", { "mm/memory.c": "patched\n" }));
    expect(await configStands(ws, code, "CONFIG_MMU=y\n")).toBe(true);
    expect(await configStands(ws, code, "CONFIG_MMU=n\n")).toBe(false);
    expect(await configStands(ws, code, undefined)).toBe(false);
    const kconfig = await moveTo(ws, base, await derived("s2", { "mm/Kconfig": "config X\n" }));
    expect(await configStands(ws, kconfig, "CONFIG_MMU=y\n")).toBe(false);
  });

  it("after a make that never ended, what it wrote is deleted before the next build; a make that ended leaves obj/ alone", async () => {
    await moveTo(ws, base, base);
    await mkdir(ws.obj, { recursive: true });
    await writeFile(join(ws.obj, "old.o"), "from an earlier build\n");
    await utimes(join(ws.obj, "old.o"), 1_000_000, 1_000_000);
    await makeRunning(ws, async () => writeFile(join(ws.obj, "done.o"), "whole\n"));
    // killed: the marker stays, and the object it was writing is cut short
    await expect(
      makeRunning(ws, async () => {
        await new Promise((r) => setTimeout(r, 20));
        await writeFile(join(ws.obj, "cut.o"), "half");
        throw new Error("SIGKILL");
      }),
    ).rejects.toThrow("SIGKILL");
    await moveTo(ws, base, base);
    expect(await read(ws.obj, "cut.o")).toBeNull();
    expect(await read(ws.obj, "old.o")).toBe("from an earlier build\n");
    expect(await read(ws.obj, "done.o")).toBe("whole\n");
  });
});
