// The initramfs is content-addressed: the same inputs must give the same bytes, whenever and
// wherever they are assembled (a cache entry rebuilt later, another machine).
import { describe, expect, it } from "vitest";
import { mkdtemp, mkdir, writeFile, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildInitramfs } from "../orchestrator/guest/initramfs.ts";

describe("initramfs", () => {
  it("two assemblies of the same inputs, seconds apart, are byte-identical", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cowlab-initramfs-"));
    const saved = process.env.COWLAB_CACHE;
    process.env.COWLAB_CACHE = join(dir, "cache");
    try {
      await mkdir(join(dir, "repro"));
      await writeFile(join(dir, "busybox"), "not really busybox");
      await writeFile(join(dir, "repro", "swap"), "not really a program");
      const tc = [{ id: "swap", family: "swap" as const, source: "swap.c", timeout_s: 60, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] }];
      const first = await buildInitramfs(join(dir, "busybox"), join(dir, "repro"), tc);
      if (!first.ok) throw new Error(first.error.message);
      const a = await readFile(first.value);
      await rm(join(dir, "cache"), { recursive: true });
      await new Promise((r) => setTimeout(r, 1100)); // a different second for every mtime
      const second = await buildInitramfs(join(dir, "busybox"), join(dir, "repro"), tc);
      if (!second.ok) throw new Error(second.error.message);
      expect((await readFile(second.value)).equals(a)).toBe(true);
    } finally {
      if (saved === undefined) delete process.env.COWLAB_CACHE;
      else process.env.COWLAB_CACHE = saved;
      await rm(dir, { recursive: true, force: true });
    }
  });
});
