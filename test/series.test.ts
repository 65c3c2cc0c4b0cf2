import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, mkdir, writeFile, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSeries, splitMbox, applySeries, seriesKey } from "../orchestrator/sources/series.ts";
import type { SourceTree } from "../orchestrator/sources/types.ts";
import { InputError } from "../orchestrator/util/result.ts";

const patch = (n: number, subject: string, file: string, from: string, to: string): string => `From ${String(n).repeat(40).slice(0, 40)} Mon Sep 17 00:00:00 2001
From: Dev <dev@example.org>
Subject: [PATCH ${n}/2] ${subject}

body
---
diff --git a/${file} b/${file}
--- a/${file}
+++ b/${file}
@@ -1 +1 @@
-${from}
+${to}
-- 
2.39.5

`;

let dir: string;
let base: SourceTree;

describe("patch series", () => {
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cowlab-series-"));
    process.env.COWLAB_CACHE = join(dir, "cache");
    await mkdir(join(dir, "tree", "mm"), { recursive: true });
    await writeFile(join(dir, "tree", "mm", "memory.c"), "reuse\n");
    base = { dir: join(dir, "tree"), key: "t1", version: "6.12.0", label: "tree" };
  });

  it("splits an mbox into named patches with their subjects", () => {
    const ps = splitMbox(patch(1, "mm: first change", "mm/memory.c", "a", "b") + patch(2, "mm: second\n change", "mm/memory.c", "b", "c"));
    expect(ps.map((p) => [p.name, p.subject])).toEqual([
      ["0001-mm-first-change.patch", "mm: first change"],
      ["0002-mm-second-change.patch", "mm: second change"],
    ]);
  });

  it("reads a directory in name order, a quilt series file, and rejects an empty series", async () => {
    const d = join(dir, "d");
    await mkdir(d);
    await writeFile(join(d, "0002-b.patch"), patch(2, "second", "f", "b", "c"));
    await writeFile(join(d, "0001-a.patch"), patch(1, "first", "f", "a", "b"));
    expect((await readSeries(d)).map((p) => p.subject)).toEqual(["first", "second"]);
    await writeFile(join(d, "series"), "# quilt\n0002-b.patch -p1\n0001-a.patch\n");
    expect((await readSeries(d)).map((p) => p.name)).toEqual(["0002-b.patch", "0001-a.patch"]);
    await writeFile(join(d, "series"), "missing.patch\n");
    await expect(readSeries(d)).rejects.toThrow(/lists 'missing.patch'/);
    await mkdir(join(dir, "empty"));
    await expect(readSeries(join(dir, "empty"))).rejects.toBeInstanceOf(InputError);
  });

  it("reads the folder `b4 am -o DIR` writes: one .mbx beside a .cover", async () => {
    const b4 = join(dir, "b4");
    await mkdir(b4);
    await writeFile(join(b4, "v2_20220329_david_mm_cow_fixes_part_2.cover"), "cover letter\n");
    await writeFile(join(b4, "v2_20220329_david_mm_cow_fixes_part_2.mbx"), patch(1, "mm: first", "f", "a", "b") + patch(2, "mm: second", "f", "b", "c"));
    expect((await readSeries(b4)).map((p) => p.subject)).toEqual(["mm: first", "mm: second"]);
  });

  it("applies a series into a copy, leaving the base tree untouched", async () => {
    const mbox = join(dir, "good.mbox");
    await writeFile(mbox, patch(1, "mm: first", "mm/memory.c", "reuse", "copy"));
    const r = await applySeries(base, await readSeries(mbox), "good");
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(await readFile(join(r.value.dir, "mm", "memory.c"), "utf8")).toBe("copy\n");
    expect(await readFile(join(base.dir, "mm", "memory.c"), "utf8")).toBe("reuse\n");
    expect(r.value.key).not.toBe(base.key);
  });

  it("names the patch, its subject and the rejected hunk when a patch does not apply", async () => {
    const mbox = join(dir, "bad.mbox");
    await writeFile(mbox, patch(1, "mm: fine", "mm/memory.c", "reuse", "copy") + patch(2, "mm: stale context", "mm/memory.c", "nothing-like-this", "x"));
    const r = await applySeries(base, await readSeries(mbox), "bad");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.patch).toBe("0002-mm-stale-context.patch");
    expect(r.error.subject).toBe("mm: stale context");
    expect(r.error.message).toContain('"mm: stale context"');
    expect(r.error.detail).toContain("-nothing-like-this");
  });

  it("keys a series by its diffs: the same patches from a lore thread (b4 trailers, git format-patch) share the key, a changed line does not", async () => {
    const dir = await readSeries("kernels/series/anon-exclusive-off");
    // test/fixtures/lore/make-mbox.sh: these patches through git am and git format-patch (index lines, hunk
    // function names, a signature), threaded under a cover letter, with a Reviewed-by reply to 2/3
    const thread = splitMbox(await readFile("test/fixtures/lore/mm-threads.mbox", "utf8")).filter((p) => dir.some((d) => d.subject === p.subject));
    expect(thread).toHaveLength(3);
    expect(thread[0]!.text).not.toBe(dir[0]!.text);
    expect(seriesKey(thread)).toBe(seriesKey(dir));
    const trailer = thread.map((p, i) => (i === 1 ? { ...p, text: p.text.replace("\n---\n", "\nReviewed-by: A Reviewer <r@example.org>\nLink: https://lore.kernel.org/r/x\n---\n") } : p));
    expect(trailer[1]!.text).toContain("Reviewed-by:");
    expect(seriesKey(trailer)).toBe(seriesKey(dir));
    const changed = dir.map((p, i) => (i === 2 ? { ...p, text: p.text.replace(/^-(\t.*)$/m, "-$1 ") } : p));
    expect(changed[2]!.text).not.toBe(dir[2]!.text);
    expect(seriesKey(changed)).not.toBe(seriesKey(dir));
    expect(seriesKey(dir.slice(0, 2))).not.toBe(seriesKey(dir));
  });
});
