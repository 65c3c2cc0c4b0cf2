// Incremental variant builds (build/workspace.ts) against a clean build. A series on 6.12
// builds in its base's workspace; editing one patch of it rebuilds only the file that patch
// touches; and the kernel so built is the clean build's kernel: the same .config and the same
// verdict on every case of the hand-written suite. The edit carries a nonce, so each test
// run builds a new series (a cached kernel would prove nothing).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cp, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults, type CaseResult, type KernelEntry } from "../../orchestrator/results/schema.ts";
import { cachePath, repoPath } from "../../orchestrator/util/paths.ts";

const SERIES = repoPath("kernels", "series", "anon-exclusive-off");
/** the patch edited: it touches mm/memory.c alone */
const PATCH = "0002-mm-memory-forget-the-exclusive-marker-on-swap-in.patch";

let root: string;
let series: string;
const runs: Record<"first" | "edited" | "clean", { job: KernelEntry; results: CaseResult[] }> = {} as never;

/** Patch 0002 with a comment on its added line: the series is new, and only mm/memory.c differs from the last one. */
async function editPatch(nonce: string): Promise<void> {
  const text = await readFile(join(SERIES, PATCH), "utf8");
  const edited = text.replace(/^(\+\texclusive = false;)$/m, `$1 /* ${nonce} */`);
  if (edited === text) throw new Error(`${PATCH}: the line this test edits is gone; update the test`);
  await writeFile(join(series, PATCH), edited);
}

async function run(name: keyof typeof runs, env: NodeJS.ProcessEnv = {}): Promise<void> {
  const out = join(root, name);
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "run", "--kernel", "6.12", "--arch", "x86_64", "--series", series, "--variant", "anon-exclusive-off", "--no-explore", "--out", out, "--json"], {
    reject: false,
    timeout: 30 * 60_000,
    env: { ...process.env, ...env },
  });
  if (!r.stdout) throw new Error(`cowlab run (${name}) printed no results (exit ${r.exitCode}):\n${r.stderr.slice(-3000)}`);
  const data = RunResults.parse(JSON.parse(r.stdout));
  runs[name] = { job: data.kernels[0]!, results: data.results };
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-incremental-"));
  series = join(root, "anon-exclusive-off");
  await cp(SERIES, series, { recursive: true });
  const nonce = `cowlab incremental test ${Date.now()}`;
  // The series as first tried, then one patch edited: both build in the shared cache's workspace.
  await editPatch(`${nonce} a`);
  await run("first");
  await editPatch(`${nonce} b`);
  await run("edited");
  // The edited series again, from scratch: a cache of its own sharing only the sources.
  const clean = join(root, "cache");
  await execa("mkdir", ["-p", clean]);
  for (const shared of ["debs", "src"]) await execa("ln", ["-s", cachePath(shared), join(clean, shared)]);
  await run("clean", { COWLAB_CACHE: clean });
}, 45 * 60_000);

afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe("an incremental variant build", () => {
  it("editing one patch rewrites only the file it touches and compiles only what that file reaches", () => {
    const b = runs.edited.job.build!;
    expect(b.cached).toBe(false);
    expect(b.incremental).toMatchObject({ fresh: false, rewritten: 1 });
    // mm/memory.c, plus what a relink regenerates (init/version.o and the like), nothing more
    expect(b.incremental!.compiled).toBeGreaterThan(0);
    expect(b.incremental!.compiled).toBeLessThan(10);
    expect(runs.edited.job.stages).toMatchObject({ compile: expect.any(Number), link: expect.any(Number), suite: expect.any(Number) });
  });

  it("a clean build of the same series is a full build", () => {
    const inc = runs.clean.job.build!.incremental!;
    expect(inc.fresh).toBe(true);
    expect(inc.compiled).toBeGreaterThan(300);
    expect(runs.clean.job.build!.seconds).toBeGreaterThan(runs.edited.job.build!.seconds);
  });

  it("gives the clean build's kernel: the same .config and release", () => {
    expect(runs.edited.job.build!.config_sha256).toBe(runs.clean.job.build!.config_sha256);
    expect(runs.edited.job.release).toBe(runs.clean.job.release);
    expect(runs.edited.job.status).toBe("ok");
  });

  it("and the clean build's verdicts, case by case", () => {
    const verdicts = (rs: CaseResult[]): Record<string, string> => Object.fromEntries(rs.map((r) => [`${r.testcase}/${r.case}`, r.status]));
    const edited = verdicts(runs.edited.results);
    expect(Object.keys(edited).length).toBeGreaterThan(50);
    expect(edited).toEqual(verdicts(runs.clean.results));
    // the series' own effect is there in both: the swap case it breaks fails
    expect(edited["swap/rw-pin-ro-remap-base"]).toBe("fail");
  });
});
