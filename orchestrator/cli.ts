// cowlab's command line. Exit codes: 0 all cases passed (or skipped, or failed as a known
// issue predicts), 1 a kernel failed a case (fail/crash/timeout), 2 usage or lab errors.
import { basename, resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { loadKernelSpec } from "./config/kernels.ts";
import { ARCHES, type Arch } from "./config/machines.ts";
import { loadManifest } from "./config/testcases.ts";
import { expandMatrix, BASE_VARIANT, type Variant } from "./run/plan.ts";
import { readSeries } from "./sources/series.ts";
import { exists } from "./util/fsx.ts";
import { repoPath } from "./util/paths.ts";
import { runJobs } from "./run/runner.ts";
import { readResults, writeReport } from "./report/index.ts";
import type { RunResults } from "./results/schema.ts";
import { InputError } from "./util/result.ts";
import { setQuiet } from "./util/log.ts";

export const EXIT = { ok: 0, kernelFailed: 1, usage: 2 } as const;

/** The exit code a result set deserves. */
export function exitCodeFor(data: RunResults): number {
  const kernelFault = data.results.some((r) => (r.status === "fail" && !r.expected) || r.status === "crash" || r.status === "timeout");
  if (kernelFault) return EXIT.kernelFailed;
  const labFault = data.results.some((r) => r.status === "error") || !data.run.complete;
  return labFault ? EXIT.usage : EXIT.ok;
}

const glob = (g: string): RegExp => new RegExp(`^${g.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*")}$`);

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

interface RunCliOptions {
  kernel: string[];
  arch: Arch[];
  tests: string;
  series?: string[];
  variant?: string[];
  fragment: string[];
  out: string;
  accel: "auto" | "kvm" | "tcg";
  json?: boolean;
}

async function variantsFrom(opts: Pick<RunCliOptions, "series" | "variant" | "fragment">): Promise<Variant[]> {
  for (const f of opts.fragment) {
    if (!(await exists(repoPath("kernels", "fragments", `${f}.config`)))) throw new InputError("--fragment", `no kernels/fragments/${f}.config`);
  }
  const all: Variant[] = [{ ...BASE_VARIANT, fragments: opts.fragment }];
  for (const s of opts.series ?? []) {
    await readSeries(s); // a missing or empty series is a usage error now, not a failed job later
    all.push({ name: basename(resolve(s)), series: resolve(s), fragments: opts.fragment });
  }
  if (!opts.variant) return all;
  const unknown = opts.variant.filter((v) => !all.some((a) => a.name === v));
  if (unknown.length) throw new InputError("--variant", `unknown variant ${unknown.join(", ")} (have: ${all.map((a) => a.name).join(", ")})`);
  return all.filter((a) => opts.variant!.includes(a.name));
}

const program = new Command("cowlab")
  .description("Build kernels, boot them in QEMU and check that anonymous memory stays correct under COW and GUP.")
  .exitOverride()
  .configureOutput({ writeErr: (s) => process.stderr.write(s) });

program
  .command("run")
  .description("build, boot and test kernels; writes results.json and index.html into --out")
  .option("-k, --kernel <ids...>", "kernel specs from kernels/specs/", ["6.12"])
  .addOption(new Option("-a, --arch <arches...>", "guest architectures").choices([...ARCHES]).default([...ARCHES]))
  .option("-t, --tests <glob>", "testcase ids to run (glob)", "*")
  .option("-s, --series <dirs...>", "patch series (directory, quilt series file or mbox): each adds a variant named after it")
  .option("--variant <names...>", "variants to run (base and/or series names); default: all")
  .option("-f, --fragment <names...>", "extra fragments from kernels/fragments/ for every variant (e.g. debug-vm)", [])
  .option("-o, --out <dir>", "run folder", "reports/latest")
  .addOption(new Option("--accel <accel>", "QEMU accelerator; auto picks KVM only where it works").choices(["auto", "kvm", "tcg"]).default("auto"))
  .option("--json", "print results.json to stdout when done")
  .action(async (opts: RunCliOptions) => {
    const manifest = await loadManifest();
    const tests = manifest.testcases.filter((t) => glob(opts.tests).test(t.id));
    if (!tests.length) throw new InputError("--tests", `'${opts.tests}' matches no testcase in testcases/manifest.yaml`);
    const kernels = await Promise.all(opts.kernel.map(loadKernelSpec));
    const outDir = resolve(opts.out);
    const variants = await variantsFrom(opts);
    const jobs = expandMatrix(kernels, variants, opts.arch, tests);
    if (opts.json) setQuiet(true);
    const data = await runJobs({
      outDir,
      jobs,
      accel: opts.accel,
      knownIssues: manifest.known_issues,
      knownReports: manifest.known_reports,
      command: `cowlab ${process.argv.slice(2).join(" ")}`,
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

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exitCode = e.exitCode === 0 ? 0 : EXIT.usage;
  } else if (e instanceof InputError) {
    process.stderr.write(`cowlab: ${e.message}\n`);
    process.exitCode = EXIT.usage;
  } else {
    process.stderr.write(`cowlab: internal error: ${(e as Error).stack ?? e}\n`);
    process.exitCode = EXIT.usage;
  }
}
