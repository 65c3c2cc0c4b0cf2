// A real kernel fault is reported as `crash`, with the kernel's own report as the reason:
// cow-breakers 0005 (no unshare before R/O pins) on a CONFIG_DEBUG_VM kernel trips
// VM_BUG_ON_PAGE in GUP when the R/O pin is taken on a shared anonymous page.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

let data: RunResults;
let exitCode: number | undefined;

describe("a kernel BUG under CONFIG_DEBUG_VM", () => {
  beforeAll(async () => {
    const out = await mkdtemp(join(tmpdir(), "cowlab-crash-"));
    const args = ["run", "--kernel", "6.12", "--series", repoPath("kernels/series/cow-breakers"), "--variant", "cow-breakers", "--fragment", "debug-vm", "--arch", "x86_64", "--tests", "gup-after-fork", "--out", out, "--json"];
    const r = await execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 40 * 60_000 });
    exitCode = r.exitCode;
    data = RunResults.parse(JSON.parse(r.stdout));
  }, 40 * 60_000);

  it("marks the job crashed and stops the guest soon after the oops instead of waiting for the timeout", () => {
    const k = data.kernels[0]!;
    expect(k.status).toBe("crash");
    expect(k.boot!.ending).toBe("stopped-after-oops");
    expect(k.boot!.guest_seconds).toBeLessThan(120);
    expect(exitCode).toBe(1);
  });

  it("gives the case that was running the kernel's report as its reason, and no fail", () => {
    const crashed = data.results.filter((r) => r.status === "crash");
    expect(crashed.length).toBeGreaterThan(0);
    expect(crashed[0]!.reason).toMatch(/VM_BUG_ON_PAGE|kernel BUG|invalid opcode/);
    expect(data.results.filter((r) => r.status === "error")).toEqual([]);
  });
});
