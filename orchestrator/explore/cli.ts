// `cowlab explore`: the matrix's guests run generated scenarios instead of (or, in `cowlab
// run`, after) the testcases; failures and divergences are shrunk to C reproducers.
import { resolve } from "node:path";
import type { Command } from "commander";
import { addMatrixOptions, intOption, loadInputs, matrixFilters, type MatrixCliOptions } from "../run/options.ts";
import { planMatrix } from "../run/plan.ts";
import { writeReport } from "../report/index.ts";
import { readHistoryWarning, recordAndReadHistory } from "../report/history.ts";
import { InputError } from "../util/result.ts";
import { setQuiet } from "../util/log.ts";
import { checkHostTools } from "../util/tools.ts";
import { applyPolicy, policyOf, type JudgedRun } from "../results/policy.ts";
import { loadGrammar } from "./grammar.ts";
import { DEFAULT_EXPLORATION, selectScenarios } from "./selection.ts";
import { explore, exploreSummary } from "./driver.ts";

interface ExploreCliOptions extends MatrixCliOptions {
  depth?: string;
  random?: string;
  seed?: string;
  budget?: string;
  only?: string[];
  shrink: boolean;
  shrinkKnown?: boolean;
  out: string;
  list?: boolean;
  json?: boolean;
}

export function registerExplore(program: Command, exitCodeFor: (d: JudgedRun) => number): void {
  addMatrixOptions(program.command("explore"))
    .description("run generated COW/GUP scenarios (testcases/explore/grammar.yaml) in the matrix's guests, judge them by the model and across kernels, shrink failures to C reproducers")
    .option("--depth <K>", `every scenario of 1..K ops (default ${DEFAULT_EXPLORATION.depth}; 4 is the issue's exhaustive depth)`)
    .option("--random <N>", "N seeded random scenarios beyond the depth (5..12 ops)")
    .option("--seed <S>", "seed of the random scenarios (each also carries its own, which replays it)")
    .option("--budget <seconds>", `guest seconds per job for the scenarios (default ${DEFAULT_EXPLORATION.budgetS})`)
    .option("--only <globs...>", "keep scenario lines matching a glob (e.g. 'thp | *')")
    .option("--no-shrink", "do not minimize failures and divergences")
    .option("--shrink-known", "minimize failures a known issue predicts too (default: only unexpected ones)")
    .option("-o, --out <dir>", "run folder", "reports/explore")
    .option("--list", "print the scenario lines and exit")
    .option("--json", "print results.json to stdout when done")
    .action(async (opts: ExploreCliOptions) => {
      const [{ manifest, matrix }, grammar] = await Promise.all([loadInputs(opts), loadGrammar()]);
      const depth = intOption("--depth", opts.depth, DEFAULT_EXPLORATION.depth);
      const random = intOption("--random", opts.random, DEFAULT_EXPLORATION.random);
      const seed = intOption("--seed", opts.seed, DEFAULT_EXPLORATION.seed);
      const budgetS = intOption("--budget", opts.budget, DEFAULT_EXPLORATION.budgetS, 1);
      if (!depth && !random) throw new InputError("--depth", "nothing to explore: give --depth K >= 1 or --random N");
      const scenarios = selectScenarios(grammar, { depth, random, seed, ...(opts.only ? { only: opts.only } : {}) });
      if (opts.list) {
        process.stdout.write(opts.json ? JSON.stringify(scenarios, null, 2) + "\n" : scenarios.join("\n") + "\n");
        return;
      }
      const planned = await planMatrix(matrix, manifest, matrixFilters(opts));
      await checkHostTools(planned); // as `cowlab run`: every missing tool named with its package, before any work
      const jobs = planned.map((j) => ({ ...j, testcases: [], explore: { scenarios, budgetS } }));
      const guests = opts.guests === undefined ? undefined : intOption("--guests", opts.guests, 1, 1);
      const outDir = resolve(opts.out);
      const policy = policyOf(manifest);
      if (opts.json) setQuiet(true);
      process.stderr.write(`explore: ${scenarios.length} scenarios per job (depth ${depth}${random ? `, ${random} random from seed ${seed}` : ""}), ${budgetS} s budget, ${jobs.length} job(s)\n`);
      const before = await readHistoryWarning(); // for the reports written while the exploration goes on
      const x = await explore({
        outDir,
        jobs,
        grammar,
        accel: opts.accel,
        policy,
        command: `cowlab ${process.argv.slice(2).join(" ")}`,
        shrink: opts.shrink,
        shrinkKnown: !!opts.shrinkKnown,
        ...(guests ? { guestConcurrency: guests } : {}),
        onJobDone: async (d) => {
          await writeReport(applyPolicy(d, policy), outDir, { history: before });
        },
      });
      const report = await writeReport(x.judged, outDir, { history: await recordAndReadHistory(x.judged, outDir) });
      if (opts.json) process.stdout.write(JSON.stringify(x.data, null, 2) + "\n");
      else process.stderr.write(`${exploreSummary(x)}\nresults: ${outDir}/results.json\nreport:  ${report}\n`);
      process.exitCode = exitCodeFor(x.judged);
    });
}
