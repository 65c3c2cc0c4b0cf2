// cowlab's command line. Exit codes: 0 all cases passed (or skipped, or failed as a known
// issue predicts), 1 a kernel failed a case (fail/crash/timeout), 2 usage or lab errors.
import { relative, resolve } from "node:path";
import { Command, CommanderError } from "commander";
import { checkKnownIssueGlobs } from "./config/testcases.ts";
import { planMatrix, shardJobs, parseShard, jobId, narrowCases } from "./run/plan.ts";
import { requireCaseTable } from "./guest/caselist.ts";
import { runJobs } from "./run/runner.ts";
import { readResults, writeReport } from "./report/index.ts";
import { readHistoryWarning, recordAndReadHistory } from "./report/history.ts";
import { runsDir } from "./results/history.ts";
import { mergeResults } from "./results/merge.ts";
import { applyPolicy, isRegression, policyOf, type JudgedRun } from "./results/policy.ts";
import { writeBundles } from "./bundle/write.ts";
import type { Manifest } from "./config/testcases.ts";
import { exitCodeFor, readPolicy, verdictSummary as summary, EXIT } from "./results/verdict.ts";
import { loadManifest } from "./config/testcases.ts";
import { listCache, pruneCache, parseSize, humanBytes } from "./cache/index.ts";
import { exists, writeFileAtomic } from "./util/fsx.ts";
import { appendFile, cp, stat } from "node:fs/promises";
import { InputError, LabFailure } from "./util/result.ts";
import { setQuiet } from "./util/log.ts";
import { registerBisect } from "./bisect/cli.ts";
import { registerExplore } from "./explore/cli.ts";
import { registerCompare } from "./compare/cli.ts";
import { registerExport } from "./export/cli.ts";
import { githubRunUrl, stepSummary } from "./export/summary.ts";
import { registerBundle } from "./bundle/cli.ts";
import { registerLore } from "./lore/cli.ts";
import { addMatrixOptions, intOption, loadInputs, manifestFile, matrixFilters, type MatrixCliOptions } from "./run/options.ts";
import { loadGrammar } from "./explore/grammar.ts";
import { checkHostTools } from "./util/tools.ts";
import { selectScenarios } from "./explore/selection.ts";
import { loadTarget, type Target } from "./config/targets.ts";
import { runtimeFor } from "./runtime/index.ts";
import type { JobSpec } from "./run/plan.ts";

interface RunCliOptions extends MatrixCliOptions {
  repeat?: string;
  retryFailed?: string;
  kernelArgs?: string;
  tests?: string;
  case?: string[];
  out: string;
  shard?: string;
  list?: boolean;
  json?: boolean;
  explore: boolean;
  target?: string;
  install?: boolean;
}

/**
 * The jobs a target runs: its own arch only. An `ssh` target runs the kernel it booted, so
 * it is one job (the newest kernel spec's base variant, whose UAPI headers the reproducers
 * are built against); a `qemu-rootfs` target boots every selected kernel.
 */
function targetJobs(jobs: JobSpec[], target: Target | undefined, opts: Pick<RunCliOptions, "arch">): JobSpec[] {
  if (!target) return jobs;
  if (opts.arch && !opts.arch.includes(target.arch)) throw new InputError("--arch", `target ${target.name} is ${target.arch} (${target.file})`);
  const mine = jobs.filter((j) => j.arch === target.arch);
  if (!mine.length) throw new InputError("--target", `no selected job is for ${target.name}'s arch ${target.arch}`);
  if (target.kind === "qemu-rootfs") return mine;
  const base = mine.filter((j) => j.variant.name === "base");
  return [(base.length ? base : mine).at(-1)!];
}

/** Bundles written by `cowlab run` itself: each holds a kernel image, so a kernel that fails everything must not fill the disk. */
const RUN_BUNDLE_CAP = 10;

/**
 * A replay bundle for each regression of a finished run (not for failures a known issue
 * predicts), so the report links a one-command reproducer; the rest are one `cowlab bundle`
 * away. A bundle that cannot be written is a warning: the run's results are already written.
 */
async function bundleRegressions(outDir: string, judged: JudgedRun, manifest: Manifest): Promise<void> {
  const regressions = judged.results.filter(isRegression);
  const chosen = new Set(regressions.slice(0, RUN_BUNDLE_CAP));
  const { written, failed } = await writeBundles(outDir, judged, (r) => chosen.has(r), { manifest });
  for (const b of written) process.stderr.write(`bundle:  ${b.file}\n`);
  for (const f of failed) process.stderr.write(`cowlab: warning: no bundle for ${f.id}: ${f.error}\n`);
  if (regressions.length > chosen.size) process.stderr.write(`bundle:  ${regressions.length - chosen.size} more regressions not bundled: cowlab bundle ${outDir}/results.json CASE\n`);
}

const program = new Command("cowlab")
  .description("Build kernels, boot them in QEMU and check that anonymous memory stays correct under COW and GUP.")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

addMatrixOptions(program.command("run"))
  .description("build, boot and test the matrix (kernels/matrix.yaml, narrowed by filters); writes results.json and index.html into --out")
  .option("-t, --tests <glob>", "testcase ids to run (comma-separated globs); default: the matrix's")
  .option("-c, --case <globs...>", "cases to run: globs over case names, or testcase/case (cowlab run --list shows them)")
  .option("--shard <I/N>", "run only shard I of N (deterministic, balanced); join shards with `cowlab merge`")
  .option("-o, --out <dir>", "run folder", "reports/latest")
  .option("--list", "print the cases each job would run (job, tab, testcase/case), and exit")
  .option("--no-explore", "skip the matrix's exploration (it is also skipped when --tests or --case narrow the run)")
  .option("--repeat <n>", "boot each job's guest N times and run every case in each: a case that passes only sometimes is `flaky`, with its pass rate")
  .option("--retry-failed <n>", "rerun the cases that did not pass in up to N fresh guests before calling them regressions (both attempts are kept)")
  .option("--kernel-args <args>", "extra kernel command line for every guest (e.g. 'oops=panic')")
  .option("--target <name>", "run the guests on a target from guests/targets/ (qemu-rootfs: the built kernel with a Debian rootfs over SSH; ssh: a machine running its own kernel)")
  .option("--install", "with an ssh --target: put the built kernel on it and boot it (kexec or reboot, the target's install: section) before the cases run")
  .option("--json", "print results.json to stdout when done (progress stays on stderr)")
  .action(async (opts: RunCliOptions) => {
    const [{ manifest, matrix, manifestFile }, grammar] = await Promise.all([loadInputs(opts), loadGrammar()]);
    const target = opts.target ? await loadTarget(opts.target) : undefined;
    if (opts.install && target?.kind !== "ssh") throw new InputError("--install", target ? `target ${target.name} is ${target.kind}: it boots the built kernel already` : "needs an ssh --target");
    if (opts.install && target?.kind === "ssh" && !target.install) throw new InputError("--install", `target ${target.name} has no install: section (${target.file}), so the lab may not put a kernel on it`);
    let jobs = targetJobs(await planMatrix(matrix, manifest, { ...matrixFilters(opts), ...(opts.tests ? { tests: opts.tests } : {}) }), target, opts);
    if (opts.shard) {
      const { index, count } = parseShard(opts.shard);
      jobs = shardJobs(jobs, index, count);
    }
    await checkHostTools(jobs, { list: !!opts.list, ...(target ? { runtime: target.kind } : {}) }); // every tool the jobs will run, before any work
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
    const guests = opts.guests === undefined ? undefined : intOption("--guests", opts.guests, 1, 1);
    const repeat = intOption("--repeat", opts.repeat, 1, 1);
    const retryFailed = intOption("--retry-failed", opts.retryFailed, 0, 0);
    const policy = policyOf(manifest);
    const outDir = resolve(opts.out);
    if ((await stat(outDir).catch(() => undefined))?.isDirectory() === false) throw new InputError("--out", `${opts.out} exists and is not a folder`);
    if (opts.json) setQuiet(true);
    const before = await readHistoryWarning(); // for the reports written while the run goes on
    const data = await runJobs({
      outDir,
      jobs,
      accel: opts.accel,
      command: `cowlab ${process.argv.slice(2).join(" ")}`,
      repeat,
      retryFailed,
      ...(opts.kernelArgs ? { kernelArgs: opts.kernelArgs.split(/\s+/).filter(Boolean) } : {}),
      ...(target ? { runtime: await runtimeFor(target, manifest.capabilities, { install: !!opts.install }) } : {}),
      ...(opts.shard ? { shard: opts.shard } : {}),
      ...(guests ? { guestConcurrency: guests } : {}),
      onJobDone: async (d) => {
        await writeReport(applyPolicy(d, policy), outDir, { history: before });
      },
    });
    const judged = applyPolicy(data, policy);
    if (!target) await bundleRegressions(outDir, judged, manifest);
    // The run store: this run's summary, then the report with the runs before it.
    const history = await recordAndReadHistory(judged, outDir);
    const report = await writeReport(judged, outDir, { history });
    if (opts.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
    else process.stderr.write(`${summary(judged)}\nresults: ${outDir}/results.json\nreport:  ${report}\n`);
    process.exitCode = exitCodeFor(judged);
  });

program
  .command("report")
  .description("render the HTML report of a results.json (written beside it unless --out)")
  .argument("<results>", "results.json")
  .option("-o, --out <dir>", "folder for index.html")
  .option("--manifest <file>", "known issues and known reports to read the results with (default: testcases/manifest.yaml, as it is now)")
  .option("--json", "print the results as read (known issues applied: `expected` on the cases they predict) to stdout")
  .option("--history <dir>", "run store to compare with (default: $COWLAB_CACHE/runs, where `cowlab run` records each run)")
  .option("--no-history", "leave the run store out (no trend, no timing across runs)")
  .action(async (file: string, opts: { out?: string; json?: boolean; manifest?: string; history?: string | false }) => {
    const judged = applyPolicy(await readResults(file), await readPolicy(opts.manifest));
    const history = opts.history === false ? undefined : await readHistoryWarning(opts.history ? resolve(opts.history) : runsDir());
    const path = await writeReport(judged, opts.out ?? resolve(file, ".."), { runDir: resolve(file, ".."), ...(history ? { history } : {}) });
    if (opts.json) process.stdout.write(JSON.stringify(judged, null, 2) + "\n");
    else process.stderr.write(`${summary(judged)}\nreport: ${path}\n`);
    process.exitCode = exitCodeFor(judged);
  });

program
  .command("merge")
  .description("join the results.json of shards into one result set and report")
  .argument("<results...>", "results.json of each shard")
  .option("-o, --out <dir>", "folder for the merged results.json and index.html", "reports/merged")
  .option("--manifest <file>", "known issues and known reports to read the results with (default: testcases/manifest.yaml)")
  .option("--json", "print the merged results to stdout")
  .option("--summary <file>", "write a markdown summary here (default: appended to $GITHUB_STEP_SUMMARY when GitHub Actions sets it)")
  .action(async (files: string[], opts: { out: string; json?: boolean; manifest?: string; summary?: string }) => {
    const parts = await Promise.all(files.map(async (file) => ({ file, data: await readResults(file) })));
    const merged = mergeResults(parts, `cowlab merge ${files.join(" ")}`);
    const out = resolve(opts.out);
    // Bring each shard's guest folders and replay bundles along, so console links, rerun.sh and
    // the bundle links keep working (the merge runner has no build cache to make bundles again).
    for (const f of files) {
      for (const sub of ["guests", "bundles"]) {
        const from = resolve(f, "..", sub);
        if ((await exists(from)) && resolve(out, sub) !== from) await cp(from, resolve(out, sub), { recursive: true });
      }
    }
    await writeFileAtomic(`${out}/results.json`, JSON.stringify(merged, null, 2));
    const judged = applyPolicy(merged, await readPolicy(opts.manifest));
    const path = await writeReport(judged, out, { history: await recordAndReadHistory(judged, out) });
    // The CI page's summary: GitHub expects steps to append to $GITHUB_STEP_SUMMARY; --summary FILE is written whole.
    const summaryFile = opts.summary ?? process.env.GITHUB_STEP_SUMMARY;
    let summaryError: string | undefined;
    if (summaryFile) {
      const runUrl = githubRunUrl(process.env);
      const md = stepSummary(judged, { title: "cowlab merge", reportPath: relative(process.cwd(), path) || path, ...(runUrl ? { runUrl } : {}) });
      const write = opts.summary ? writeFileAtomic(resolve(opts.summary), md) : appendFile(summaryFile, `${md}\n`);
      // A summary that cannot be written is the lab's error (exit 2 instead of 0), but it must
      // not hide a kernel's regression (exit 1) nor the merged results already written.
      summaryError = await write.then(
        () => undefined,
        (e: Error) => `${opts.summary ? "--summary" : "$GITHUB_STEP_SUMMARY"}: cannot write ${summaryFile}: ${e.message.split("\n")[0]}`,
      );
    }
    if (opts.json) process.stdout.write(JSON.stringify(merged, null, 2) + "\n");
    else process.stderr.write(`${summary(judged)}\nresults: ${out}/results.json\nreport:  ${path}\n`);
    if (summaryError) process.stderr.write(`cowlab: ${summaryError}\n`);
    const code = exitCodeFor(judged);
    process.exitCode = summaryError && code === EXIT.ok ? EXIT.usage : code;
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
registerCompare(program);
registerExport(program);
registerBundle(program);
registerLore(program);

// `cowlab ... | head` closes the pipe early: that is the reader being done, not a lab error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code !== "EPIPE") throw e;
  process.exit(typeof process.exitCode === "number" ? process.exitCode : 0);
});

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
