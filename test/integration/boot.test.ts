// The real thing: build the minimal 6.12 kernel for both arches, boot each in QEMU and read
// the reproducer's verdicts from its console, for the cases --case selected. Uses the shared cache, so only the first run
// on a machine pays for the builds.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

let data: RunResults;
let out: string;
let exitCode: number | undefined;

describe("6.12 built, booted and tested on both arches", () => {
  beforeAll(async () => {
    out = await mkdtemp(join(tmpdir(), "cowlab-it-"));
    const r = await execa("node", [repoPath("bin", "cowlab.js"), "run", "--kernel", "6.12", "--variant", "base", "--tests", "gup-after-fork", "--case", "vmsplice-child-*", "fork-cow-base", "--out", out, "--json"], { reject: false, timeout: 40 * 60_000 });
    exitCode = r.exitCode;
    if (!r.stdout) throw new Error(`cowlab run printed no results (exit ${r.exitCode}):\n${r.stderr}`);
    data = RunResults.parse(JSON.parse(r.stdout));
  }, 40 * 60_000);

  it("exits 0 or 1 (verdicts), never 2 (lab error)", () => {
    expect([0, 1]).toContain(exitCode);
    expect(data.run.complete).toBe(true);
  });

  for (const arch of ["x86_64", "arm64"]) {
    it(`${arch}: the guest booted the kernel that was built and reported its uname -r`, async () => {
      const k = data.kernels.find((e) => e.arch === arch)!;
      expect(k, `no ${arch} job`).toBeDefined();
      expect(k.status, k.reason).toBe("ok");
      expect(k.release).toMatch(/^6\.12\.\d+/);
      const console = await readFile(join(out, k.boot!.console), "utf8");
      expect(console).toMatch(/Linux version 6\.12\.\d+/);
      expect(console).toContain(`# cowlab-setup uname=${k.release}`);
      expect(k.boot!.seconds).toBeGreaterThan(0);
      expect(k.build!.seconds).toBeGreaterThan(0);
      const rerun = await readFile(join(out, k.boot!.rerun), "utf8");
      expect(rerun).toContain(k.boot!.qemu_cmdline);
    });

    it(`${arch}: GUP-after-fork on base pages and THP passes, with the guest's release on every row`, () => {
      const rows = data.results.filter((r) => r.arch === arch && r.testcase === "gup-after-fork");
      expect(rows.length).toBeGreaterThan(4);
      const release = data.kernels.find((e) => e.arch === arch)!.release;
      for (const r of rows) expect(r.kernel).toBe(release);
      const byCase = new Map(rows.map((r) => [r.case, r]));
      expect(byCase.get("vmsplice-child-base")?.status, byCase.get("vmsplice-child-base")?.reason).toBe("pass");
      expect(byCase.get("vmsplice-child-thp")?.status, byCase.get("vmsplice-child-thp")?.reason).toBe("pass");
    });
  }

  it("each guest ran exactly the cases --case selected from the host's list, no more", async () => {
    const listed = await execa("node", [repoPath("bin", "cowlab.js"), "run", "--list", "--kernel", "6.12", "--variant", "base", "--tests", "gup-after-fork", "--case", "vmsplice-child-*", "fork-cow-base"]);
    const planned = listed.stdout.split("\n").map((l) => l.split("\t")[1]!.replace("gup-after-fork/", ""));
    expect(planned).toContain("vmsplice-child-mprotect-hugetlb");
    expect(planned).not.toContain("fork-cow-thp");
    for (const arch of ["x86_64", "arm64"]) {
      const ran = data.results.filter((r) => r.arch === arch).map((r) => r.case);
      expect(ran.sort()).toEqual([...new Set(planned)].sort());
    }
  });

  it("wrote the HTML report beside results.json", async () => {
    const html = await readFile(join(out, "index.html"), "utf8");
    expect(html).toContain("vmsplice-child-thp");
    expect(html).toContain("6.12/base/arm64");
  });
});
