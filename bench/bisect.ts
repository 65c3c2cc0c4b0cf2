// bench/bisect: wall time of a series bisection of kernels/series/cow-breakers and each
// step's incremental build against a cold build of the same kernel, and the steps decided
// without a build (no-op: comments only) or without a boot (same image as a decided step).
//
//   npm run bench:bisect -- [--test gup-before-fork] [--case GLOB] [--repeat N]
//
// Runs in a fresh cache that shares only the sources (debs and unpacked trees), so the first
// step is a cold build — the figure the incremental steps are compared with.
import { mkdir, mkdtemp, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../orchestrator/results/schema.ts";
import { cachePath, repoPath } from "../orchestrator/util/paths.ts";
import { stepKind } from "../orchestrator/bisect/steps.ts";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const test = arg("--test", "gup-before-fork");
const CASES: Record<string, string> = { "gup-before-fork": "iouring-fork-parent-write-base", "gup-after-fork": "ro-pin-shared-base", migration: "move-pinned-base" };
const cases = arg("--case", CASES[test] ?? "*");
const repeat = arg("--repeat", "1");

const out = await mkdtemp(join(tmpdir(), "cowlab-bench-bisect-"));
const fresh = join(out, "cache");
await mkdir(fresh);
for (const shared of ["debs", "src"]) await symlink(cachePath(shared), join(fresh, shared));
const t = performance.now();
const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", "--kernel", "6.12", "--series", repoPath("kernels/series/cow-breakers"), "--test", test, "--case", cases, "--repeat", repeat, "--arch", "x86_64", "--out", out, "--json"], { reject: false, env: { ...process.env, CI: "1", COWLAB_CACHE: fresh } });
const wall = (performance.now() - t) / 1000;
if (!r.stdout) throw new Error(`cowlab bisect printed nothing (exit ${r.exitCode}):\n${r.stderr}`);
const b = RunResults.parse(JSON.parse(r.stdout)).bisect!;

const KIND = { tested: "", untested: "", "no-op": "  [no-op: not built]", "same-image": "  [same image: not booted]" } as const;
console.log(`bisect ${test}/${cases} over ${b.changes} patches, ${repeat} guest(s) per step: ${wall.toFixed(1)} s wall (target < 300 s), ${b.steps.length} steps, culprit ${b.culprit?.label ?? "none"}`);
for (const s of b.steps) console.log(`  position ${s.position} ${s.verdict.padEnd(4)} build ${String(s.build_seconds ?? "-").padStart(6)} s${s.build_cached ? " (cached)" : ""}  boot ${String(s.boot_seconds ?? "-").padStart(5)} s  step ${s.seconds} s  ${s.label}${KIND[stepKind(s)]}`);
const builds = b.steps.flatMap((s) => (s.build_seconds === null ? [] : [s.build_seconds]));
const cold = builds[0]!;
const incremental = builds.slice(1);
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;
console.log(`first step build ${cold} s (cold: fresh cache, sources shared)`);
if (incremental.length) {
  console.log(`incremental builds: max ${Math.max(...incremental)} s, mean ${mean(incremental).toFixed(1)} s (target < 45 s each); ratio max incremental / first ${(Math.max(...incremental) / cold).toFixed(2)}`);
}
const noop = b.steps.filter((s) => stepKind(s) === "no-op");
const same = b.steps.filter((s) => stepKind(s) === "same-image");
const tested = b.steps.filter((s) => stepKind(s) === "tested");
console.log(`skipped as no-ops: ${noop.length} not built (${noop.map((s) => s.label).join(", ") || "none"}), ${same.length} built but not booted (${same.map((s) => s.label).join(", ") || "none"})`);
if (noop.length || same.length) {
  const saved = noop.length * (incremental.length ? mean(incremental) : cold) + (noop.length + same.length) * (tested.length ? mean(tested.map((s) => s.seconds - (s.build_seconds ?? 0))) : 0);
  console.log(`  saved about ${saved.toFixed(0)} s: a mean incremental build per no-op step and a mean step-minus-build (checkout, guests) per step not booted`);
}
