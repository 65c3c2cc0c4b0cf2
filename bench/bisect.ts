// bench/bisect: wall time of a series bisection of kernels/series/cow-breakers and each
// step's incremental build against a cold build of the same kernel.
//
//   npm run bench:bisect -- [--test gup-before-fork] [--case GLOB]
//
// Runs in a fresh cache that shares only the sources (debs and unpacked trees), so the first
// step is a cold build — the figure the incremental steps are compared with.
import { mkdir, mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../orchestrator/results/schema.ts";
import { cachePath, repoPath } from "../orchestrator/util/paths.ts";


const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const test = arg("--test", "gup-before-fork");
const cases = arg("--case", test === "gup-before-fork" ? "iouring-fork-parent-write-base" : "*");

const out = await mkdtemp(join(tmpdir(), "cowlab-bench-bisect-"));
const fresh = join(out, "cache");
await mkdir(fresh);
for (const shared of ["debs", "src"]) await symlink(cachePath(shared), join(fresh, shared));
const t = performance.now();
const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", "--kernel", "6.12", "--series", repoPath("kernels/series/cow-breakers"), "--test", test, "--case", cases, "--arch", "x86_64", "--out", out, "--json"], { reject: false, env: { ...process.env, CI: "1", COWLAB_CACHE: fresh } });
const wall = (performance.now() - t) / 1000;
const b = RunResults.parse(JSON.parse(r.stdout)).bisect!;

console.log(`bisect ${test}/${cases} over ${b.changes} patches: ${wall.toFixed(1)} s wall (target < 300 s), ${b.steps.length} steps, culprit ${b.culprit?.label ?? "none"}`);
for (const s of b.steps) console.log(`  position ${s.position} ${s.verdict.padEnd(4)} build ${String(s.build_seconds ?? "-").padStart(6)} s${s.build_cached ? " (cached)" : ""}  step ${s.seconds} s  ${s.label}`);
const builds = b.steps.map((s) => s.build_seconds ?? 0);
const cold = builds[0]!;
const incremental = builds.slice(1);
console.log(`first step build ${cold} s (cold: fresh cache, sources shared)`);
if (incremental.length) {
  console.log(`incremental steps: max ${Math.max(...incremental)} s, mean ${(incremental.reduce((a, x) => a + x, 0) / incremental.length).toFixed(1)} s (target < 45 s each); ratio max incremental / first ${(Math.max(...incremental) / cold).toFixed(2)}`);
}
