// `cowlab compare` end to end: two real runs of 6.12 x86_64, before (base) and after the
// anon-exclusive-off series, three swap cases each; the series breaks rw-pin-ro-remap-base
// (a pinned page is copied on the write fault) and leaves the other two passing.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { parse, stringify } from "yaml";
import { repoPath } from "../../orchestrator/util/paths.ts";
import type { RunDiff } from "../../orchestrator/compare/diff.ts";

const cli = (args: string[]) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 15 * 60_000 });
const CASES = ["swap/rw-pin-ro-remap-base", "swap/rw-pin-ro-remap-hugetlb", "swap/rw-pin-pageout-base"];

let root: string;
let before: string;
let after: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-compare-it-"));
  before = join(root, "base", "results.json");
  after = join(root, "series", "results.json");
  // one kernel-booting command at a time
  for (const [variant, out] of [["base", "base"], ["anon-exclusive-off", "series"]] as const) {
    const r = await cli(["run", "--kernel", "6.12", "--arch", "x86_64", "--variant", variant, "--no-explore", "--case", ...CASES, "--out", join(root, out)]);
    if (r.exitCode !== 0) throw new Error(`cowlab run --variant ${variant} exited ${r.exitCode}: ${r.stderr.slice(-2000)}`);
  }
}, 20 * 60_000);
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("cowlab compare of a base run and a series run", () => {
  it("pairs the two jobs and calls the broken case an expected failure under the manifest (exit 0)", async () => {
    const r = await cli(["compare", before, after, "--json"]);
    expect(r.exitCode, r.stderr).toBe(0);
    const d = JSON.parse(r.stdout) as RunDiff;
    expect(d.pairs).toEqual([{ before: "6.12/base/x86_64", after: "6.12/anon-exclusive-off/x86_64", rule: "one-per-kernel-arch" }]);
    expect(d.summary).toMatchObject({ compared: 3, unchanged: 2, expected: 1, regressions: 0, missing: 0, exit: 0 });
    expect(d.expected[0]).toMatchObject({ testcase: "swap", case: "rw-pin-ro-remap-base", before: { status: "pass" }, after: { status: "fail" } });
  });

  it("without the ablation's known issues it is a regression (exit 1), and the other way round a fix (exit 0)", async () => {
    const m = parse(await readFile(repoPath("testcases", "manifest.yaml"), "utf8")) as Record<string, unknown>;
    const bare = join(root, "manifest.yaml");
    await writeFile(bare, stringify({ ...m, known_issues: [] }));
    const r = await cli(["compare", before, after, "--manifest", bare]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toMatch(/^1 regressions, 0 missing, /m);
    expect(r.stdout).toMatch(/^ {2}6\.12\/anon-exclusive-off\/x86_64 swap\/rw-pin-ro-remap-base: pass → fail \(R\/W pin \(io_uring fixed buffer\) misses the write made through the mapping/m);
    const back = await cli(["compare", after, before, "--manifest", bare]);
    expect(back.exitCode).toBe(0);
    expect(back.stdout).toMatch(/^ {2}6\.12\/base\/x86_64 swap\/rw-pin-ro-remap-base: fail → pass \(R\/W pin/m);
  });
});
