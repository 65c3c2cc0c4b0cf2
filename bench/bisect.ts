// bench/bisect: wall time of bisecting the 8-patch series kernels/series/cow-breakers from a
// warm base (the 6.12 kernel the series applies to already built, as it is when someone
// bisects a series they have just run), each step's build, and the steps decided without a
// build (no-op: comments only) or without a boot (same image as a decided step).
//
//   npm run bench:bisect -- [--test gup-before-fork] [--case GLOB] [--repeat N] [--baseline REV]
//
// Runs in a fresh cache that shares only the sources (debs and unpacked trees); the base is
// built there first by `cowlab run` (untimed), then the bisection is timed.
// --baseline REV  does the same for REV (a worktree, bench/baseline.ts) in a second fresh
//         cache, so that neither side reuses the other's step kernels, and prints both walls
//         and their ratio.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RunResults } from "../orchestrator/results/schema.ts";
import { migrateResults } from "../orchestrator/results/migrate.ts";
import { stepKind } from "../orchestrator/bisect/steps.ts";
import { baselineCheckout, cowlabAt, headCheckout, requireRan, takesOption, type Checkout } from "./baseline.ts";
import { freshCache } from "./fresh-cache.ts";

const arg = (name: string, dflt: string): string => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1]! : dflt;
};
const test = arg("--test", "gup-before-fork");
const CASES: Record<string, string> = { "gup-before-fork": "iouring-fork-parent-write-base", "gup-after-fork": "ro-pin-shared-base", migration: "move-pinned-base" };
const cases = arg("--case", CASES[test] ?? "*");
const repeat = arg("--repeat", "1");
const baselineRev = arg("--baseline", "");

type Bisection = NonNullable<RunResults["bisect"]>;

/** The base build (untimed) and the timed bisection, in a fresh cache of their own under DIR. */
async function benchBisect(lab: Checkout, dir: string): Promise<{ wall: number; bisect: Bisection }> {
  const env = { COWLAB_CACHE: await freshCache(join(dir, "cache")) };
  const name = `${lab.label} (${lab.sha.slice(0, 12)})`;
  // Only the options the revision has: e9f0309 predates the explorer and bisect --repeat.
  const noExplore = (await takesOption(lab.dir, "run", "--no-explore")) ? ["--no-explore"] : [];
  const repeats = (await takesOption(lab.dir, "bisect", "--repeat")) ? ["--repeat", repeat] : [];
  if (!repeats.length && repeat !== "1") console.log(`${name}: cowlab bisect has no --repeat there: one guest per step`);

  const base = await cowlabAt(lab.dir, ["run", "--kernel", "6.12", "--variant", "base", "--arch", "x86_64", "--tests", test, ...noExplore, "--out", join(dir, "base")], env);
  requireRan(lab, "cowlab run (the base)", base);
  console.log(`${name}: base 6.12/base/x86_64 built and run first, untimed: ${base.seconds.toFixed(1)} s`);

  const series = join(lab.dir, "kernels", "series", "cow-breakers");
  const r = await cowlabAt(lab.dir, ["bisect", "--kernel", "6.12", "--series", series, "--test", test, "--case", cases, ...repeats, "--arch", "x86_64", "--out", join(dir, "bisect"), "--json"], env);
  if (!r.stdout) throw new Error(`${name}: cowlab bisect printed nothing (exit ${r.exitCode}):\n${r.stderr.split("\n").slice(-20).join("\n")}`);
  // Through today's schema: an older revision's results file is migrated as cowlab report would.
  const bisect = RunResults.parse(migrateResults(JSON.parse(r.stdout))).bisect;
  if (!bisect) throw new Error(`${name}: cowlab bisect --json printed no bisect section`);
  return { wall: r.seconds, bisect };
}

const KIND = { tested: "", untested: "", "no-op": "  [no-op: not built]", "same-image": "  [same image: not booted]" } as const;
const mean = (xs: number[]) => xs.reduce((a, x) => a + x, 0) / xs.length;

function printBisection(lab: Checkout, wall: number, b: Bisection): void {
  console.log(`${lab.label} (${lab.sha.slice(0, 12)}): bisect ${test}/${cases} over ${b.changes} patches from a warm base, ${repeat} guest(s) per step: ${wall.toFixed(1)} s wall (target < 300 s), ${b.steps.length} steps, culprit ${b.culprit?.label ?? "none"}`);
  for (const s of b.steps) console.log(`  position ${s.position} ${s.verdict.padEnd(4)} build ${String(s.build_seconds ?? "-").padStart(6)} s${s.build_cached ? " (cached)" : ""}  boot ${String(s.boot_seconds ?? "-").padStart(5)} s  step ${s.seconds} s  ${s.label}${KIND[stepKind(s)]}`);
  const builds = b.steps.flatMap((s) => (s.build_seconds === null ? [] : [s.build_seconds]));
  if (!builds.length) return;
  const first = builds[0]!;
  const incremental = builds.slice(1);
  console.log(`  first step build ${first} s (the base kernel was built before, in the same fresh cache)`);
  if (incremental.length) {
    console.log(`  incremental builds: max ${Math.max(...incremental)} s, mean ${mean(incremental).toFixed(1)} s (target < 45 s each); ratio max incremental / first ${(Math.max(...incremental) / first).toFixed(2)}`);
  }
  const noop = b.steps.filter((s) => stepKind(s) === "no-op");
  const same = b.steps.filter((s) => stepKind(s) === "same-image");
  const tested = b.steps.filter((s) => stepKind(s) === "tested");
  console.log(`  skipped as no-ops: ${noop.length} not built (${noop.map((s) => s.label).join(", ") || "none"}), ${same.length} built but not booted (${same.map((s) => s.label).join(", ") || "none"})`);
  if (noop.length || same.length) {
    const saved = noop.length * (incremental.length ? mean(incremental) : first) + (noop.length + same.length) * (tested.length ? mean(tested.map((s) => s.seconds - (s.build_seconds ?? 0))) : 0);
    console.log(`    saved about ${saved.toFixed(0)} s: a mean incremental build per no-op step and a mean step-minus-build (checkout, guests) per step not booted`);
  }
}

const root = await mkdtemp(join(tmpdir(), "cowlab-bench-bisect-"));
const head = await headCheckout();
const sides = baselineRev ? [head, await baselineCheckout(baselineRev)] : [head];
// One after the other, never at once: each side's builds want both cores.
const measured: { lab: Checkout; wall: number; bisect: Bisection }[] = [];
for (const lab of sides) measured.push({ lab, ...(await benchBisect(lab, join(root, lab === head ? "head" : lab.sha.slice(0, 12)))) });
for (const m of measured) printBisection(m.lab, m.wall, m.bisect);
const [now, then] = measured;
if (now && then) console.log(`bisection wall: HEAD ${now.wall.toFixed(1)} s, ${then.lab.label} ${then.wall.toFixed(1)} s; ratio HEAD/${then.lab.label} ${(now.wall / then.wall).toFixed(3)} (target <= 0.8)`);
console.log(`run folders and caches kept in ${root}`);
