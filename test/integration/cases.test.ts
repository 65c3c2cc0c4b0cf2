// The real programs, built for the host, list their cases and honour a filter; the manifest's
// known-issue globs all match real cases. Needs the host compiler and liburing (setup.sh).
import { describe, expect, it } from "vitest";
import { join } from "node:path";
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
