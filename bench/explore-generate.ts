// bench/explore-generate: how fast the explorer's generator enumerates, against a bare
// baseline that builds the same number of op arrays of the same lengths with no grammar,
// no state and no pruning (so the ratio is the cost of well-formedness + pruning).
//
//   node --import tsx bench/explore-generate.ts [--depth 4] [--random 10000]
//
// Figures, not a timed test: the machine and its load decide them.
import { loadGrammar } from "../orchestrator/explore/grammar.ts";
import { candidates, enumerate, exploredMemories, randomScenarios, walk } from "../orchestrator/explore/generate.ts";
import { predict } from "../orchestrator/explore/model.ts";
import { printScenario } from "../orchestrator/explore/scenario.ts";

const arg = (name: string, dflt: number): number => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const depth = arg("--depth", 4);
const nRandom = arg("--random", 10_000);
const g = await loadGrammar();
const time = (f: () => void): number => {
  const t = performance.now();
  f();
  return (performance.now() - t) / 1000;
};
const best = (f: () => void, n = 3): number => Math.min(...Array.from({ length: n }, () => time(f)));

// 1. walk only (count), 2. scenario objects, 3. objects + printed lines, 4. + model predictions
let total = 0;
const lengths: number[] = [];
const tWalk = best(() => {
  total = 0;
  lengths.length = 0;
  for (const m of exploredMemories(g)) walk(g, m, depth, (p) => { total++; lengths.push(p.length); });
});
let sink = 0;
const tObjects = best(() => { sink = 0; for (const s of enumerate(g, depth)) sink += s.ops.length; });
const tLines = best(() => { sink = 0; for (const s of enumerate(g, depth)) sink += printScenario(s).length; });
const tModel = time(() => { sink = 0; for (const s of enumerate(g, depth)) sink += predict(s, g).predictions.length; });

// Baseline: the same number of arrays of the same lengths, filled from the candidate list.
const cands = candidates(g).map((c) => c.op);
const tBase = best(() => {
  sink = 0;
  for (let i = 0; i < lengths.length; i++) {
    const len = lengths[i]!;
    const a = new Array(len);
    for (let j = 0; j < len; j++) a[j] = cands[(i + j) % cands.length];
    sink += a.length;
  }
});
const tRandom = time(() => { sink += randomScenarios(g, 1, nRandom).length; });

const rate = (n: number, s: number): string => `${Math.round(n / s).toLocaleString("en")}/s`;
console.log(`exhaustive depth ${depth}: ${total.toLocaleString("en")} scenarios over ${exploredMemories(g).length} memories (best of 3)`);
console.log(`  walk (count only)          ${tWalk.toFixed(3)} s  ${rate(total, tWalk)}`);
console.log(`  + scenario objects         ${tObjects.toFixed(3)} s  ${rate(total, tObjects)}`);
console.log(`  + printed lines            ${tLines.toFixed(3)} s  ${rate(total, tLines)}`);
console.log(`  + model predictions        ${tModel.toFixed(3)} s  ${rate(total, tModel)} (one pass)`);
console.log(`  bare baseline (same arrays) ${tBase.toFixed(3)} s  ${rate(total, tBase)}`);
console.log(`  ratio scenario objects / baseline: ${(tObjects / tBase).toFixed(1)}x`);
console.log(`random beyond K (5..12 ops): ${nRandom.toLocaleString("en")} in ${tRandom.toFixed(3)} s  ${rate(nRandom, tRandom)}`);
if (sink < 0) console.log(sink);
