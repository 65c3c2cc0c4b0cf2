// `cowlab export FORMAT RESULTS.json`: a results file in another tool's format. Each format is
// one subcommand whose action only reads, applies the policy and calls its module.
import { resolve } from "node:path";
import type { Command } from "commander";
import { readResults } from "../report/index.ts";
import { applyPolicy } from "../results/policy.ts";
import { readPolicy } from "../results/verdict.ts";
import { writeFileAtomic } from "../util/fsx.ts";
import { junitXml } from "./junit.ts";
import { kcidbJson, kcidbReport } from "./kcidb.ts";
import { kcidbOptions } from "./kcidb-options.ts";

/** stdout when no file is given, else the file (written whole, never half). */
async function emit(text: string, out: string | undefined): Promise<void> {
  if (out) await writeFileAtomic(resolve(out), text);
  else process.stdout.write(text);
}

export function registerExport(program: Command): void {
  const exp = program.command("export").description("write a results.json in another tool's format");

  exp
    .command("junit")
    .description("JUnit XML (one testsuite per job, one testcase per case) for CI test reporters")
    .argument("<results>", "results.json")
    .option("-o, --out <file>", "write the XML here (default: stdout)")
    .option("--manifest <file>", "known issues to read the results with (default: testcases/manifest.yaml)")
    .action(async (file: string, opts: { out?: string; manifest?: string }) => {
      const judged = applyPolicy(await readResults(file), await readPolicy(opts.manifest));
      await emit(junitXml(judged), opts.out);
    });

  exp
    .command("kcidb")
    .description("KCIDB report data (schema v5.3) for kcidb-submit: checkouts, builds, boot and case tests, known issues and their incidents")
    .argument("<results>", "results.json")
    .option("-o, --out <file>", "write the JSON here (default: stdout)")
    .option("--origin <name>", "the CI system's name in KCIDB (prefixes every id)", "cowlab")
    .option("--artifacts-url <url>", "where the run folder is published: consoles get a log_url under it")
    .option("--manifest <file>", "known issues to read the results with (default: testcases/manifest.yaml)")
    .action(async (file: string, opts: { out?: string; origin: string; artifactsUrl?: string; manifest?: string }) => {
      const options = kcidbOptions(opts);
      const policy = await readPolicy(opts.manifest);
      await emit(kcidbJson(kcidbReport(applyPolicy(await readResults(file), policy), policy.knownIssues, options)), opts.out);
    });
}
