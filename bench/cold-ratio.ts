// bench/cold-ratio: a cold run's wall time against what its kernels cost as bare makes, read
// from that run's results.json, for a matrix too long to rebuild bare beside it (the default
// matrix from an empty cache is ~30 min; `bench:matrix -- --cold --bare` doubles that).
//
//   npm run bench:cold-ratio -- RESULTS.json     (e.g. of `COWLAB_CACHE=$(mktemp -d) npm run lab`)
//
// A full build's make time is its own config + compile + link stages (the lab runs the same
// make commands bench:matrix --bare reruns). A build that started from its base's objects
// (build.incremental, not fresh) would have cost a full build of the same config and arch
// without the workspace: it is counted at the full build of that kernel's base on that arch,
// in the same run. The run's wall includes fetching and unpacking the sources.
import { readResults } from "../orchestrator/report/index.ts";
import type { KernelEntry } from "../orchestrator/results/schema.ts";

const file = process.argv[2];
if (!file) {
  console.error("bench/cold-ratio: name a results.json of a cold run");
  process.exit(2);
}
const data = await readResults(file);
/** make's time in a build: its config, compile and link stages (results without stages: the whole build). */
const make = (k: KernelEntry): number => {
  const s = k.stages;
  return s && s.config !== null && s.compile !== null && s.link !== null ? s.config + s.compile + s.link : k.build!.seconds;
};
const full = (k: KernelEntry): boolean => !!k.build && !k.build.cached && k.build.incremental?.fresh !== false;
let sum = 0;
for (const k of data.kernels) {
  if (!k.build || k.build.cached) {
    console.log(`${k.job}: ${k.build ? "cached" : "not built"}: not a cold build, left out`);
    continue;
  }
  if (full(k)) {
    const m = make(k);
    sum += m;
    console.log(`${k.job}: full build, make ${m.toFixed(1)} s`);
    continue;
  }
  const base = data.kernels.find((b) => b.kernel_spec === k.kernel_spec && b.arch === k.arch && b.variant === "base" && full(b));
  const m = base ? make(base) : undefined;
  if (m === undefined) {
    console.log(`${k.job}: incremental, and no full build of its base on ${k.arch} in this run to stand for its bare make: left out`);
    continue;
  }
  sum += m;
  console.log(`${k.job}: incremental (${make(k).toFixed(1)} s, ${k.build.incremental?.compiled ?? "?"} C files); counted as its base's full make ${m.toFixed(1)} s`);
}
const wall = data.run.seconds ?? 0;
console.log(`cold run wall ${wall.toFixed(1)} s (sources fetched and unpacked included) / sum of bare make ${sum.toFixed(1)} s = ${(wall / sum).toFixed(3)} (target <= 0.85)`);
