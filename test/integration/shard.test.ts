// Shards 1/3, 2/3 and 3/3 merged give the same verdicts as one unsharded run.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

// Three jobs of kernels the suite builds anyway (6.1 would be a full build for this test alone).
const FILTER = ["--kernel", "5.10", "6.12", "--variant", "base", "anon-exclusive-off", "--arch", "x86_64", "--tests", "gup-after-fork"];
const cli = (args: string[]) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 40 * 60_000 });
const verdicts = (d: RunResults): string[] => d.results.map((r) => `${r.job} ${r.testcase}/${r.case} ${r.status}`).sort();

let whole: RunResults;
let merged: RunResults;
let shards: RunResults[];

describe("sharding and merging", () => {
  beforeAll(async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-shard-"));
    const one = await cli(["run", ...FILTER, "--out", join(root, "whole")]);
    if (![0, 1].includes(one.exitCode ?? -1)) throw new Error(`unsharded run exited ${one.exitCode}: ${one.stderr}`);
    whole = RunResults.parse(JSON.parse(await readFile(join(root, "whole", "results.json"), "utf8")));
    shards = [];
    for (const i of [1, 2, 3]) {
      const r = await cli(["run", ...FILTER, "--shard", `${i}/3`, "--out", join(root, `s${i}`)]);
      if (![0, 1].includes(r.exitCode ?? -1)) throw new Error(`shard ${i}/3 exited ${r.exitCode}: ${r.stderr}`);
      shards.push(RunResults.parse(JSON.parse(await readFile(join(root, `s${i}`, "results.json"), "utf8"))));
    }
    const m = await cli(["merge", ...[1, 2, 3].map((i) => join(root, `s${i}`, "results.json")), "--out", join(root, "merged"), "--json"]);
    merged = RunResults.parse(JSON.parse(m.stdout));
    expect(await readFile(join(root, "merged", "index.html"), "utf8")).toContain("5.10/base/x86_64");
  }, 60 * 60_000);

  it("each shard ran a different, non-empty slice", () => {
    const jobs = shards.map((s) => s.kernels.map((k) => k.job));
    for (const j of jobs) expect(j.length).toBe(1);
    expect(new Set(jobs.flat()).size).toBe(3);
  });

  it("the merged verdicts equal the unsharded run's", () => {
    expect(verdicts(merged)).toEqual(verdicts(whole));
    expect(merged.kernels.map((k) => k.job).sort()).toEqual(whole.kernels.map((k) => k.job).sort());
    expect(verdicts(whole).length).toBeGreaterThan(40);
  });
});
