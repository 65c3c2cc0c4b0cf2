// cowlab's command line. Exit codes: 0 all cases passed (or skipped, or failed as a known
// issue predicts), 1 a kernel failed a case (fail/crash/timeout), 2 usage or lab errors.
import { resolve } from "node:path";
import { Command, CommanderError, Option } from "commander";
import { loadKernelSpec } from "./config/kernels.ts";
import { ARCHES, type Arch } from "./config/machines.ts";
import { loadManifest } from "./config/testcases.ts";
import { expandMatrix, BASE_VARIANT } from "./run/plan.ts";
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
  .option("-o, --out <dir>", "run folder", "reports/latest")
  .addOption(new Option("--accel <accel>", "QEMU accelerator; auto picks KVM only where it works").choices(["auto", "kvm", "tcg"]).default("auto"))
  .option("--json", "print results.json to stdout when done")
  .action(async (opts: { kernel: string[]; arch: Arch[]; tests: string; out: string; accel: "auto" | "kvm" | "tcg"; json?: boolean }) => {
    const manifest = await loadManifest();
    const tests = manifest.testcases.filter((t) => glob(opts.tests).test(t.id));
    if (!tests.length) throw new InputError("--tests", `'${opts.tests}' matches no testcase in testcases/manifest.yaml`);
    const kernels = await Promise.all(opts.kernel.map(loadKernelSpec));
    const outDir = resolve(opts.out);
    const jobs = expandMatrix(kernels, [BASE_VARIANT], opts.arch, tests);
    if (opts.json) setQuiet(true);
    const data = await runJobs({
      outDir,
      jobs,
      accel: opts.accel,
      knownIssues: manifest.known_issues,
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
