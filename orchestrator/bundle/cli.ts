// `cowlab bundle RESULTS.json [CASE...]`: a self-contained replay bundle per failing result
// (or per named case), after syzkaller's reproducer bundles and tuxmake's metadata.json.
import { resolve, dirname } from "node:path";
import type { Command } from "commander";
import { readResults } from "../report/index.ts";
import { applyPolicy, policyOf } from "../results/policy.ts";
import { EXIT } from "../results/verdict.ts";
import { loadManifest } from "../config/testcases.ts";
import { manifestFile } from "../run/options.ts";
import { humanBytes } from "../cache/index.ts";
import { selectResults } from "./select.ts";
import { writeBundles } from "./write.ts";

interface BundleCliOptions {
  out?: string;
  manifest?: string;
  json?: boolean;
}

export function registerBundle(program: Command): void {
  program
    .command("bundle")
    .description("write a self-contained replay bundle (.tar.gz: kernel, .config, initramfs, rerun.sh, reproducer source, metadata.json) per failing result, or per CASE")
    .argument("<results>", "results.json of a run")
    .argument("[cases...]", "case ids as the CLI prints them ('JOB TESTCASE/CASE'), TESTCASE/CASE, or globs over them; default: every failure (known issues too)")
    .option("-o, --out <dir>", "write under this folder instead of the run folder (same relative names: bundles/...)")
    .option("--manifest <file>", "known issues to read the results with, and the testcases' sources (default: testcases/manifest.yaml)")
    .option("--json", "list the bundles written as JSON on stdout")
    .action(async (file: string, cases: string[], opts: BundleCliOptions) => {
      const [data, manifest] = await Promise.all([readResults(file), loadManifest(manifestFile(opts))]);
      const judged = applyPolicy(data, policyOf(manifest));
      const chosen = new Set(selectResults(judged.results, cases, file));
      if (!chosen.size) process.stderr.write(`${file}: no failing result: nothing to bundle\n`);
      const { written, failed } = await writeBundles(dirname(resolve(file)), judged, (r) => chosen.has(r), {
        manifest,
        resultsFile: file,
        ...(opts.out ? { outDir: opts.out } : {}),
      });
      if (opts.json) process.stdout.write(JSON.stringify(written, null, 2) + "\n");
      else for (const b of written) process.stdout.write(`${b.file} (${humanBytes(b.bytes)})\n`);
      for (const f of failed) process.stderr.write(`cowlab: ${f.error}\n`);
      process.exitCode = failed.length ? EXIT.usage : EXIT.ok;
    });
}
