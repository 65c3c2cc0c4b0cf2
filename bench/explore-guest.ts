// bench/explore-guest: how many scenarios a TCG guest runs per guest-second, per arch and
// kernel, against a bare baseline measured in the same guest run: the trivial scenario
// `base | read:parent` (one fork of the interpreter, one page, one read), repeated as many
// times. The ratio is what the real scenarios cost over the interpreter's fixed overhead.
// Also prints what exhaustive depth K would take at the measured rate.
//
//   node --import tsx bench/explore-guest.ts [--kernel 6.12] [--arch x86_64 arm64] [--depth 3] [--sample 400] [--budget 300]
//
// Figures, not a timed test: the machine and its load decide them. The kernels come from
// the cache (built on first use).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadGrammar } from "../orchestrator/explore/grammar.ts";
import { enumerate } from "../orchestrator/explore/generate.ts";
import { printScenario } from "../orchestrator/explore/scenario.ts";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { loadMatrix } from "../orchestrator/config/matrix.ts";
import { planMatrix } from "../orchestrator/run/plan.ts";
import { runJobs } from "../orchestrator/run/runner.ts";
import { exploreRows } from "../orchestrator/explore/analysis.ts";
import type { Arch } from "../orchestrator/config/machines.ts";

const args = process.argv.slice(2);
const list = (name: string, dflt: string[]): string[] => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const out: string[] = [];
  for (let j = i + 1; j < args.length && !args[j]!.startsWith("--"); j++) out.push(args[j]!);
  return out;
};
const num = (name: string, dflt: number): number => Number(list(name, [String(dflt)])[0]);
const kernels = list("--kernel", ["6.12"]);
const arches = list("--arch", ["x86_64", "arm64"]) as Arch[];
const depth = num("--depth", 3);
const sample = num("--sample", 400);
const budget = num("--budget", 300);

const g = await loadGrammar();
const all = [...enumerate(g, depth)].map(printScenario);
// An even sample across the enumeration (every memory type, every shape), not its head.
const step = Math.max(1, Math.floor(all.length / sample));
const lines = all.filter((_, i) => i % step === 0).slice(0, sample);
const counts = [1, 2, 3, 4].map((d) => (d <= depth ? [...enumerate(g, d)].length : null));
const d4 = counts[3] ?? [...enumerate(g, 4)].length;

const [manifest, matrix] = await Promise.all([loadManifest(), loadMatrix()]);
const planned = await planMatrix(matrix, manifest, { kernels, arches, variants: ["base"] });
const trivial = Array.from({ length: lines.length }, () => "base | read:parent");
const out = await mkdtemp(join(tmpdir(), "cowlab-bench-explore-"));

const guestMs = (data: Awaited<ReturnType<typeof runJobs>>, job: string): number => data.kernels.find((k) => k.job === job)?.boot?.testcases.find((t) => t.id === "explore")?.ms ?? NaN;

console.log(`# explore-guest: ${lines.length} scenarios sampled evenly from ${all.length} of depth <= ${depth}; baseline: as many 'base | read:parent'`);
console.log(`kernel/arch                  scen  done  guest s  scen/s  base/s  ratio  skip  fail  d4 (${d4}) at this rate`);
for (const job of planned) {
  const id = `${job.kernel.id}/base/${job.arch}`;
  const real = await runJobs({ outDir: join(out, "real"), jobs: [{ ...job, testcases: [], explore: { scenarios: lines, budgetS: budget } }], accel: "auto", command: "bench explore-guest" });
  const base = await runJobs({ outDir: join(out, "base"), jobs: [{ ...job, testcases: [], explore: { scenarios: trivial, budgetS: budget } }], accel: "auto", command: "bench explore-guest baseline" });
  const rows = exploreRows(real.results);
  const s = guestMs(real, id) / 1000;
  const b = guestMs(base, id) / 1000;
  const rate = rows.length / s;
  const baseRate = exploreRows(base.results).length / b;
  console.log(
    `${id.padEnd(28)} ${String(lines.length).padStart(5)} ${String(rows.length).padStart(5)} ${s.toFixed(1).padStart(8)} ${rate.toFixed(1).padStart(7)} ${baseRate.toFixed(1).padStart(7)} ${(baseRate / rate).toFixed(2).padStart(6)} ${String(rows.filter((r) => r.status === "skip").length).padStart(5)} ${String(rows.filter((r) => r.status === "fail").length).padStart(5)}  ${(d4 / rate / 60).toFixed(1)} min`,
  );
}
console.log(`# counts by depth (maximal scenarios): ${counts.map((c, i) => `d${i + 1}=${c ?? "-"}`).join(" ")} d4=${d4}`);
