// The real programs, built for the host, list their cases and honour a filter; the manifest's
// known-issue globs all match real cases. Needs the host compiler and liburing (setup.sh).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { execa } from "execa";
import { caseTable } from "../../orchestrator/guest/caselist.ts";
import { checkKnownIssueGlobs, loadManifest } from "../../orchestrator/config/testcases.ts";

describe("every case known before a guest boots", () => {
  it("lists the cases of every reproducer, test × memory type, in run order", async () => {
    const m = await loadManifest();
    const t = await caseTable(m.testcases);
    expect(t.ok, t.ok ? "" : `${t.error.message}\n${t.error.detail}`).toBe(true);
    if (!t.ok) return;
    expect(Object.keys(t.value.table)).toEqual(m.testcases.map((x) => x.id));
    for (const [id, cases] of Object.entries(t.value.table)) {
      expect(new Set(cases).size, `${id} has duplicate case names`).toBe(cases.length);
      for (const c of cases) expect(c).toMatch(/^[a-z0-9-]+$/);
    }
    expect(t.value.table["gup-after-fork"]!.slice(0, 2)).toEqual(["fork-cow-base", "fork-cow-thp"]);
    expect(t.value.table.migration).toContain("fork-while-migrating-thp");
    await expect(checkKnownIssueGlobs(m, t.value.table)).resolves.toBeUndefined();
  }, 120_000);

  it("reproducers: two jobs asking for the same uncached build compile it once", async () => {
    const saved = { cache: process.env.COWLAB_CACHE, trace: process.env.COWLAB_TRACE_FILLS };
    const root = await mkdtemp(join(tmpdir(), "cowlab-repro-race-"));
    process.env.COWLAB_CACHE = join(root, "cache");
    process.env.COWLAB_TRACE_FILLS = join(root, "fills");
    try {
      const m = await loadManifest();
      const [a, b] = await Promise.all([caseTable(m.testcases), caseTable(m.testcases)]);
      expect(a.ok && b.ok).toBe(true);
      if (!a.ok || !b.ok) return;
      expect(a.value.dir).toBe(b.value.dir);
      expect(a.value.table).toEqual(b.value.table);
      const fills = (await readFile(join(root, "fills"), "utf8")).trim().split("\n");
      expect(fills.filter((l) => l.includes("/testcases/"))).toHaveLength(1);
    } finally {
      for (const [k, v] of [["COWLAB_CACHE", saved.cache], ["COWLAB_TRACE_FILLS", saved.trace]] as const) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
    }
  }, 120_000);

  it("a program's --filter selects by comma-separated globs; bad arguments exit 2", async () => {
    const m = await loadManifest();
    const t = await caseTable(m.testcases);
    if (!t.ok) throw new Error(t.error.message);
    const swap = join(t.value.dir, "swap");
    const listed = await execa(swap, ["--list", "--filter", "ro-pin-*-thp,rw-pin-pageout-base"]);
    expect(listed.stdout.split("\n")).toEqual(t.value.table.swap!.filter((c) => /^ro-pin-.*-thp$/.test(c) || c === "rw-pin-pageout-base"));
    const viaEnv = await execa(swap, [], { env: { KTAP_ACTION: "list", KTAP_FILTER_GLOB: "rw-pin-pageout-base" } });
    expect(viaEnv.stdout).toBe("rw-pin-pageout-base");
    const bad = await execa(swap, ["--frobnicate"], { reject: false });
    expect(bad.exitCode).toBe(2);
  }, 120_000);
});
