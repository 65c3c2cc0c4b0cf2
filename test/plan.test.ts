import { single } from "../orchestrator/results/attempts.ts";
import { describe, expect, it } from "vitest";
import { planMatrix, shardJobs, parseShard, jobId } from "../orchestrator/run/plan.ts";
import { loadMatrix, Matrix } from "../orchestrator/config/matrix.ts";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { mergeResults } from "../orchestrator/results/merge.ts";
import type { RunResults } from "../orchestrator/results/schema.ts";
import { parseYaml } from "../orchestrator/config/yaml.ts";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";

describe("the matrix", () => {
  it("expands the default matrix: 4 kernels x 2 arches x the full suite", async () => {
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), {});
    const ids = jobs.map(jobId);
    expect(ids).toHaveLength(10);
    // 7.3 has no spec file: an X.Y id is Debian's linux-source-X.Y
    expect(jobs.find((j) => j.kernel.id === "7.3")!.kernel.source).toEqual({ kind: "debian", package: "linux-source-7.3" });
    for (const k of ["5.10", "6.1", "6.12", "7.3"]) for (const a of ["x86_64", "arm64"]) expect(ids).toContain(`${k}/base/${a}`);
    for (const a of ["x86_64", "arm64"]) expect(ids).toContain(`6.12/anon-exclusive-off/${a}`);
    expect(jobs.find((j) => j.variant.name === "anon-exclusive-off")!.variant.series).toMatch(/kernels\/series\/anon-exclusive-off$/);
    expect(jobs[0]!.testcases.map((t) => t.id)).toEqual(["gup-after-fork", "gup-before-fork", "swap", "migration"]);
  });

  it("a --series named as a matrix variant replaces it (an edited copy), and is added where the kernel lacks it; two series of one name are an error", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cowlab-plan-"));
    const copy = join(dir, "anon-exclusive-off");
    await execa("cp", ["-r", "kernels/series/anon-exclusive-off", copy]);
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), { kernels: ["6.12", "6.1"], arches: ["x86_64"], series: [copy] });
    expect(jobs.map(jobId)).toEqual(["6.12/base/x86_64", "6.12/anon-exclusive-off/x86_64", "6.1/base/x86_64", "6.1/anon-exclusive-off/x86_64"]);
    for (const j of jobs.filter((j) => j.variant.name !== "base")) expect(j.variant.series).toBe(copy);
    await execa("mkdir", ["-p", join(dir, "other")]);
    await execa("cp", ["-r", "kernels/series/anon-exclusive-off", join(dir, "other", "anon-exclusive-off")]);
    await expect(planMatrix(await loadMatrix(), await loadManifest(), { kernels: ["6.12"], series: [copy, join(dir, "other", "anon-exclusive-off")] })).rejects.toThrow(/--series: two series are named 'anon-exclusive-off'/);
  });

  it("narrows by kernel, arch and tests", async () => {
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), { kernels: ["6.1"], arches: ["arm64"], tests: "gup-*" });
    expect(jobs.map(jobId)).toEqual(["6.1/base/arm64"]);
    expect(jobs[0]!.testcases.map((t) => t.id)).toEqual(["gup-after-fork", "gup-before-fork"]);
  });

  it("rejects filters that match nothing, naming the flag", async () => {
    await expect(planMatrix(await loadMatrix(), await loadManifest(), { tests: "nope*" })).rejects.toThrow(/--tests: 'nope\*' matches no testcase in the manifest/);
    await expect(planMatrix(await loadMatrix(), await loadManifest(), { variants: ["nope"] })).rejects.toThrow(/--variant: unknown variant nope/);
  });

  it("names file, line and field for a bad matrix", () => {
    const text = "arches: [x86_64]\nkernels:\n  - id: '6.12'\n    arches: [riscv]\n";
    expect(() => parseYaml(text, "kernels/matrix.yaml", Matrix)).toThrow(/matrix\.yaml:4: kernels\.0\.arches\.0: /);
  });
});

describe("kernels from a git tree", () => {
  it("are available only when the tree and the revision exist, and the error names what is missing", async () => {
    const m = await loadMatrix();
    const mf = await loadManifest();
    const kernels = ["5.18-anon-exclusive"];
    const nowhere = join(tmpdir(), "cowlab-no-such-tree");
    await expect(planMatrix(m, mf, { kernels, gitTree: nowhere })).rejects.toThrow(
      `kernels/specs/5.18-anon-exclusive.yaml:7: source.repo: no git tree at ${nowhere} (clone mainline Linux there, or name a tree with --git-tree DIR)`,
    );
    const repo = await mkdtemp(join(tmpdir(), "cowlab-tree-"));
    await expect(planMatrix(m, mf, { kernels, gitTree: repo })).rejects.toThrow(/source\.repo: .* is not a git tree/);
    const git = (...a: string[]) => execa("git", ["-C", repo, "-c", "user.name=t", "-c", "user.email=t@example.org", ...a]);
    await git("init", "-q");
    await writeFile(join(repo, "Makefile"), "");
    await git("add", "Makefile");
    await git("commit", "-q", "-m", "tree");
    await expect(planMatrix(m, mf, { kernels, gitTree: repo })).rejects.toThrow(/source\.rev: the git tree at .* has no revision 'v5\.18'/);
    // A spec from another folder (COWLAB_SPECS_DIR) is named by its own file and line.
    const specs = await mkdtemp(join(tmpdir(), "cowlab-specs-"));
    await writeFile(join(specs, "mine.yaml"), `id: mine\nfragments: []\nsource: { kind: git, repo: ${nowhere}, rev: v1 }\n`);
    process.env.COWLAB_SPECS_DIR = specs;
    try {
      await expect(planMatrix(m, mf, { kernels: ["mine"] })).rejects.toThrow(`${join(specs, "mine.yaml")}:3: source.repo: no git tree at ${nowhere}`);
    } finally {
      delete process.env.COWLAB_SPECS_DIR;
    }
    await git("tag", "v5.18");
    const jobs = await planMatrix(m, mf, { kernels, gitTree: repo });
    expect(jobs.map(jobId)).toEqual(["5.18-anon-exclusive/base/x86_64", "5.18-anon-exclusive/base/arm64"]);
    expect(jobs[0]!.kernel.source).toMatchObject({ kind: "git", repo, rev: "v5.18" });
  });
});

describe("sharding", () => {
  it("splits deterministically into disjoint, covering, balanced slices", async () => {
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), {});
    for (const n of [1, 2, 3, 4]) {
      const shards = Array.from({ length: n }, (_, i) => shardJobs(jobs, i + 1, n).map(jobId));
      expect(shards.flat().sort()).toEqual(jobs.map(jobId).sort());
      expect(new Set(shards.flat()).size).toBe(jobs.length);
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(Array.from({ length: n }, (_, i) => shardJobs(jobs, i + 1, n).map(jobId))).toEqual(shards);
    }
  });
  it("parses I/N and rejects the rest", () => {
    expect(parseShard("2/3")).toEqual({ index: 2, count: 3 });
    for (const bad of ["0/3", "4/3", "1/0", "a/b", "2"]) expect(() => parseShard(bad)).toThrow(/--shard/);
  });
});

const part = (id: string, jobs: string[]): RunResults => ({
  schema_version: 2,
  run: { id, started_at: `2026-01-01T00:00:0${id}Z`, finished_at: `2026-01-01T00:01:0${id}Z`, complete: true, seconds: 60, command: "c", shard: `${id}/2`, repeat: 1, retry_failed: 0, host: { hostname: "h", cores: 2, memory_gib: 24, qemu: "7.2", node: "v20" } },
  kernels: jobs.map((job) => ({ job, kernel_spec: "6.12", variant: "base", arch: "x86_64", source: "", version: "6.12", release: "6.12", status: "ok" as const, reason: "", build: null, boot: null, reruns: [], seconds: 1 })),
  results: jobs.map((job) => single({ job, kernel: "6.12", arch: "x86_64", variant: "base", testcase: "t", case: "c", family: "swap", status: "pass" as const, duration_ms: 1, reason: "" })),
});

describe("merging shards", () => {
  it("joins jobs and results and spans the runs' times", () => {
    const m = mergeResults([{ file: "a", data: part("1", ["b/x"]) }, { file: "b", data: part("2", ["a/y"]) }], "merge");
    expect(m.kernels.map((k) => k.job)).toEqual(["a/y", "b/x"]);
    expect(m.results).toHaveLength(2);
    expect(m.run.started_at).toBe("2026-01-01T00:00:01Z");
    expect(m.run.finished_at).toBe("2026-01-01T00:01:02Z");
    expect(m.run.complete).toBe(true);
  });
  it("refuses overlapping shards, naming the file and job", () => {
    expect(() => mergeResults([{ file: "a.json", data: part("1", ["j"]) }, { file: "b.json", data: part("2", ["j"]) }], "m")).toThrow(/b\.json: job j is also in a\.json/);
  });
});
