// bench/loop: a kernel developer's loop. Edit one patch of a series on 6.12, then ask for the
// verdict of one arch: `cowlab run --series DIR` with the hand-written suite. Against the
// same command from scratch (a fresh cache sharing only the sources: a full build of the
// edited variant, then the same guest), measured in the same bench run. Prints each run's
// wall time and stages (results.json kernels[].stages) and the ratio (target <= 0.25).
//
//   npm run bench:loop -- [--arch x86_64] [--series kernels/series/anon-exclusive-off]
//                         [--patch 2] [--rounds 2] [--tests ID,...]
//
// The loop runs in the lab's cache (COWLAB_CACHE or ~/.cache/cowlab): its base and the series
// as it was before the edit are built first, untimed (a warm base, the series tried once).
// Each round then edits patch N: one of its added lines gets a comment naming the round, so
// the series is a new one (a new key, a new build) that changes one file the same way a
// developer's edit would.
import { cp, mkdtemp, readdir, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, join, resolve } from "node:path";
import { RunResults, type KernelEntry } from "../orchestrator/results/schema.ts";
import { median } from "../orchestrator/results/attempts.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { cowlabAt, headCheckout, requireRan } from "./baseline.ts";
import { freshCache } from "./fresh-cache.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const arch = opt("--arch", "x86_64");
const seriesDir = resolve(opt("--series", repoPath("kernels", "series", "anon-exclusive-off")));
const patchNo = Number(opt("--patch", "2"));
const rounds = Number(opt("--rounds", "2"));
const tests = opt("--tests", "");

const head = await headCheckout();
const root = await mkdtemp(join(tmpdir(), "cowlab-bench-loop-"));
const series = join(root, basename(seriesDir));
await cp(seriesDir, series, { recursive: true });
const patches = (await readdir(series)).filter((f) => /\.(patch|diff)$/.test(f)).sort();
const target = patches[patchNo - 1];
if (!target) throw new Error(`--patch ${patchNo}: ${seriesDir} has ${patches.length} patches`);
const original = await readFile(join(series, target), "utf8");

/** Patch N with round K's edit: its first added line of code gets a comment (same line count, so the hunks stay valid). */
function edited(k: number): string {
  const lines = original.split("\n");
  const at = lines.findIndex((l) => /^\+[^+].*;\s*$/.test(l));
  if (at < 0) throw new Error(`${target}: no added line ending in ';' to edit`);
  lines[at] = `${lines[at]!.trimEnd()} /* bench:loop round ${k} */`;
  return lines.join("\n");
}

const common = ["--kernel", "6.12", "--arch", arch, "--no-explore", ...(tests ? ["--tests", ...tests.split(",")] : [])];
const variant = basename(series);

async function run(what: string, extra: string[], env: NodeJS.ProcessEnv = {}): Promise<{ seconds: number; job: KernelEntry }> {
  const out = join(root, what.replace(/\W+/g, "-"));
  const r = await cowlabAt(head.dir, ["run", ...common, ...extra, "--out", out], env);
  requireRan(head, what, r);
  const data = RunResults.parse(JSON.parse(await readFile(join(out, "results.json"), "utf8")));
  const job = data.kernels.find((k) => k.variant !== "base") ?? data.kernels[0]!;
  return { seconds: r.seconds, job };
}

const f1 = (n: number): string => n.toFixed(1);
function describe(what: string, r: { seconds: number; job: KernelEntry }): void {
  const st = r.job.stages;
  const stages = st ? Object.entries(st).map(([k, v]) => `${k} ${v ?? "–"}`).join(", ") : "no stages recorded";
  const inc = r.job.build?.incremental;
  const reach = r.job.build?.cached ? "cached" : inc ? (inc.fresh ? `full build, ${inc.compiled} C files` : `${inc.compiled} C files from ${inc.rewritten} rewritten`) : "full build";
  console.log(`${what}: ${f1(r.seconds)} s wall (${reach}; ${r.job.status}); stages: ${stages}`);
}

console.log(`bench:loop: ${variant} on 6.12 ${arch}, editing ${target}, ${rounds} round(s); scratch ${root}`);
// Untimed: the base and the series before the edit, in the lab's cache (the developer's state before the loop).
await run("warm base", ["--variant", "base"]);
await writeFile(join(series, target), original);
await run("warm series", ["--series", series, "--variant", variant]);

const loop: number[] = [];
for (let k = 1; k <= rounds; k++) {
  await writeFile(join(series, target), edited(k));
  const r = await run(`edit round ${k}`, ["--series", series, "--variant", variant]);
  describe(`edit round ${k} -> verdict`, r);
  loop.push(r.seconds);
}

// From scratch: the last round's series in a cache of its own (sources shared): a full build, then the same guest.
const scratch = await run("from scratch", ["--series", series, "--variant", variant], { COWLAB_CACHE: await freshCache(join(root, "cache")) });
describe("from scratch (fresh cache, sources shared)", scratch);
const m = median(loop)!;
console.log(`edit one patch -> verdict: median ${f1(m)} s over ${loop.length} round(s); from scratch ${f1(scratch.seconds)} s; ratio ${(m / scratch.seconds).toFixed(3)} (target <= 0.25)`);
