// cowlab's command line. Exit codes: 0 all cases passed (or skipped, or failed as a known
// issue predicts), 1 a kernel failed a case (fail/crash/timeout), 2 usage or lab errors.
import { resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { checkKnownIssueGlobs } from "./config/testcases.ts";
import { planMatrix, shardJobs, parseShard, jobId, narrowCases } from "./run/plan.ts";
import { requireCaseTable } from "./guest/caselist.ts";
import { runJobs } from "./run/runner.ts";
import { readResults, writeReport } from "./report/index.ts";
import { mergeResults } from "./results/merge.ts";
import type { RunResults } from "./results/schema.ts";
import { listCache, pruneCache, parseSize, humanBytes } from "./cache/index.ts";
import { exists, writeFileAtomic } from "./util/fsx.ts";
import { cp } from "node:fs/promises";
import { InputError, LabFailure } from "./util/result.ts";
import { setQuiet } from "./util/log.ts";
import { registerBisect } from "./bisect/cli.ts";
import { registerExplore } from "./explore/cli.ts";
import { addMatrixOptions, loadInputs, matrixFilters, type MatrixCliOptions } from "./run/options.ts";
import { loadGrammar } from "./explore/grammar.ts";
import { selectScenarios } from "./explore/selection.ts";

export const EXIT = { ok: 0, kernelFailed: 1, usage: 2 } as const;

/** The exit code a result set deserves. */
export function exitCodeFor(data: RunResults): number {
  const kernelFault = data.results.some((r) => (r.status === "fail" && !r.expected) || r.status === "crash" || r.status === "timeout");
  if (kernelFault) return EXIT.kernelFailed;
  const labFault = data.results.some((r) => r.status === "error") || !data.run.complete;
  return labFault ? EXIT.usage : EXIT.ok;
}

function summary(data: RunResults): string {
  const counts: Record<string, number> = {};
  for (const r of data.results) {
    const s = r.status === "fail" && r.expected ? "expected-fail" : r.status;
    counts[s] = (counts[s] ?? 0) + 1;
  }
  return Object.entries(counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(", ");
}

interface RunCliOptions extends MatrixCliOptions {
  tests?: string;
  case?: string[];
  out: string;
  shard?: string;
  list?: boolean;
  json?: boolean;
  explore: boolean;
}

const program = new Command("cowlab")
  .description("Build kernels, boot them in QEMU and check that anonymous memory stays correct under COW and GUP.")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

addMatrixOptions(program.command("run"))
  .description("build, boot and test the matrix (kernels/matrix.yaml, narrowed by filters); writes results.json and index.html into --out")
  .option("-t, --tests <glob>", "testcase ids to run (glob); default: the matrix's")
  .option("-c, --case <globs...>", "cases to run: globs over case names, or testcase/case (cowlab run --list shows them)")
  .option("--shard <I/N>", "run only shard I of N (deterministic, balanced); join shards with `cowlab merge`")
  .option("-o, --out <dir>", "run folder", "reports/latest")
  .option("--list", "print the cases each job would run (job, tab, testcase/case), and exit")
  .option("--no-explore", "skip the matrix's exploration (it is also skipped when --tests or --case narrow the run)")
  .option("--json", "print results.json to stdout when done (progress stays on stderr)")
  .action(async (opts: RunCliOptions) => {
    const [{ manifest, matrix, manifestFile }, grammar] = await Promise.all([loadInputs(opts), loadGrammar()]);
    let jobs = await planMatrix(matrix, manifest, { ...matrixFilters(opts), ...(opts.tests ? { tests: opts.tests } : {}) });
    if (opts.shard) {
      const { index, count } = parseShard(opts.shard);
      jobs = shardJobs(jobs, index, count);
    }
    // Every case is known before a guest boots: the manifest's known-issue globs are checked
    // against it, and --case narrows the jobs with it.
    const { table } = await requireCaseTable(manifest.testcases);
    await checkKnownIssueGlobs(manifest, table, manifestFile);
    jobs = narrowCases(jobs, table, opts.case);
    const ex = matrix.explore;
    if (ex && ex.depth + ex.random > 0 && opts.explore && !opts.case && !opts.tests) {
      const scenarios = selectScenarios(grammar, { depth: ex.depth, random: ex.random, seed: ex.seed });
      jobs = jobs.map((j) => ({ ...j, explore: { scenarios, budgetS: ex.budget_s } }));
    }
    if (opts.list) {
      const list = jobs.map((j) => ({ job: jobId(j), cases: j.cases ?? {} }));
      const lines = list.flatMap((j) => Object.entries(j.cases).flatMap(([t, cs]) => cs.map((c) => `${j.job}\t${t}/${c}`)));
      process.stdout.write(opts.json ? JSON.stringify(list, null, 2) + "\n" : lines.join("\n") + "\n");
      return;
    }
    const guests = opts.guests === undefined ? undefined : Number(opts.guests);
    if (guests !== undefined && !(Number.isInteger(guests) && guests > 0)) throw new InputError("--guests", `'${opts.guests}' is not a positive integer`);
    const outDir = resolve(opts.out);
    if (opts.json) setQuiet(true);
    const data = await runJobs({
      outDir,
      jobs,
      accel: opts.accel,
      knownIssues: manifest.known_issues,
      knownReports: manifest.known_reports,
      command: `cowlab ${process.argv.slice(2).join(" ")}`,
      ...(opts.shard ? { shard: opts.shard } : {}),
      ...(guests ? { guestConcurrency: guests } : {}),
      onJobDone: async (d) => {
        await writeReport(d, outDir);
      },
    });
    const report = await writeReport(data, outDir);
    if (opts.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    else process.stderr.write(`${summary(data)}\nresults: ${outDir}/results.json\nreport:  ${report}\n`);
    process.exitCode = exitCodeFor(data);
  });

program
  .command("report")
  .description("render the HTML report of a results.json (written beside it unless --out)")
  .argument("<results>", "results.json")
  .option("-o, --out <dir>", "folder for index.html")
  .option("--json", "print the validated results to stdout")
  .action(async (file: string, opts: { out?: string; json?: boolean }) => {
    const data = await readResults(file);
    const path = await writeReport(data, opts.out ?? resolve(file, ".."));
    if (opts.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    else process.stderr.write(`${summary(data)}\nreport: ${path}\n`);
    process.exitCode = exitCodeFor(data);
  });

program
  .command("merge")
  .description("join the results.json of shards into one result set and report")
  .argument("<results...>", "results.json of each shard")
  .option("-o, --out <dir>", "folder for the merged results.json and index.html", "reports/merged")
  .option("--json", "print the merged results to stdout")
  .action(async (files: string[], opts: { out: string; json?: boolean }) => {
    const parts = await Promise.all(files.map(async (file) => ({ file, data: await readResults(file) })));
    const merged = mergeResults(parts, `cowlab merge ${files.join(" ")}`);
    const out = resolve(opts.out);
    // Bring each shard's guest folders along, so console links and rerun.sh keep working.
    for (const f of files) {
      const guests = resolve(f, "..", "guests");
      if ((await exists(guests)) && resolve(out, "guests") !== guests) await cp(guests, resolve(out, "guests"), { recursive: true });
    }
    await writeFileAtomic(`${out}/results.json`, JSON.stringify(merged, null, 2));
    const path = await writeReport(merged, out);
    if (opts.json) process.stdout.write(JSON.stringify(merged, null, 2) + "\n");
    else process.stderr.write(`${summary(merged)}\nresults: ${out}/results.json\nreport:  ${path}\n`);
    process.exitCode = exitCodeFor(merged);
  });

const cache = program.command("cache").description("inspect and prune the cache (sources, builds, guests)");
cache
  .command("ls")
  .description("list cache entries with size and last use")
  .option("--json", "machine-readable")
  .action(async (opts: { json?: boolean }) => {
    const entries = await listCache();
    if (opts.json) {
      process.stdout.write(JSON.stringify(entries.map((e) => ({ ...e, lastUsed: e.lastUsed.toISOString() })), null, 2) + "\n");
      return;
    }
    for (const e of entries) process.stdout.write(`${e.kind.padEnd(10)} ${humanBytes(e.bytes).padStart(10)}  ${e.lastUsed.toISOString().slice(0, 16)}${e.locked ? " (in use)" : ""}  ${e.name}\n`);
    process.stdout.write(`total ${humanBytes(entries.reduce((s, e) => s + e.bytes, 0))} in ${entries.length} entries\n`);
  });
cache
  .command("prune")
  .description("remove entries unused for a while and/or the least recently used beyond a size")
  .option("--older-than <days>", "remove entries unused for more than this many days")
  .option("--max-size <size>", "then remove least recently used entries until the cache is under this size (e.g. 20G)")
  .option("--dry-run", "only list what would be removed")
  .option("--json", "machine-readable")
  .action(async (opts: { olderThan?: string; maxSize?: string; dryRun?: boolean; json?: boolean }) => {
    if (opts.olderThan === undefined && opts.maxSize === undefined) throw new InputError("cache prune", "give --older-than DAYS and/or --max-size SIZE");
    const days = opts.olderThan === undefined ? undefined : Number(opts.olderThan);
    if (days !== undefined && !(days >= 0)) throw new InputError("--older-than", `'${opts.olderThan}' is not a number of days`);
    let maxBytes: number | undefined;
    try {
      maxBytes = opts.maxSize === undefined ? undefined : parseSize(opts.maxSize);
    } catch (e) {
      throw new InputError("--max-size", (e as Error).message);
    }
    const removed = await pruneCache({ ...(days !== undefined ? { olderThanDays: days } : {}), ...(maxBytes !== undefined ? { maxBytes } : {}), dryRun: !!opts.dryRun });
    if (opts.json) process.stdout.write(JSON.stringify(removed.map((e) => ({ kind: e.kind, name: e.name, bytes: e.bytes })), null, 2) + "\n");
    else for (const e of removed) process.stdout.write(`${opts.dryRun ? "would remove" : "removed"} ${e.kind}/${e.name} (${humanBytes(e.bytes)})\n`);
  });

registerBisect(program);
registerExplore(program, exitCodeFor);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
  } else if (e instanceof InputError || e instanceof LabFailure) {
    process.stderr.write(`cowlab: ${e.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`cowlab: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = EXIT.usage;
  }
}
