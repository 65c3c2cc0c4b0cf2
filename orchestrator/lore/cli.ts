// `cowlab reply RESULTS.json`: the answer to post under a series' cover letter, from a run
// that tested the series against its base (`cowlab run --series-msgid ...`).
import { existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import type { Command } from "commander";
import { readResults } from "../report/index.ts";
import { applyPolicy } from "../results/policy.ts";
import { readPolicy } from "../results/verdict.ts";
import { InputError } from "../util/result.ts";
import { checkIdentity, gitIdentity } from "./identity.ts";
import { locateThread } from "./locate.ts";
import { renderReply } from "./reply.ts";
import { seriesVariants, seriesVerdict } from "./verdict.ts";

interface ReplyOptions {
  series?: string;
  testedBy?: string;
  msgid?: string;
  reportUrl?: string;
  manifest?: string;
  json?: boolean;
}

export function registerLore(program: Command): void {
  program
    .command("reply")
    .description("print a plain-text reply to a series' cover letter: what it did with vs without it per kernel, and a Tested-by only if it regressed nothing")
    .argument("<results>", "results.json of a run with the series as a variant and its base")
    .option("--series <name>", "the series' variant (default: the run's only variant other than base)")
    .option("--tested-by <identity>", "\"Name <email>\" for the Tested-by (default: git config user.name and user.email)")
    .option("--msgid <id>", "the cover letter's Message-ID or lore URL (default: the one --series-msgid fetched under that variant name)")
    .option("--report-url <url>", "where the full report is published (default: the local path of index.html)")
    .option("--manifest <file>", "known issues to read the results with (default: testcases/manifest.yaml)")
    .option("--json", "print the reply's pieces (headers, verdict per kernel, withheld reasons, body) as JSON")
    .action(async (file: string, opts: ReplyOptions) => {
      const run = applyPolicy(await readResults(file), await readPolicy(opts.manifest));
      const variants = seriesVariants(run);
      const series = opts.series ?? (variants.length === 1 ? variants[0]! : undefined);
      if (!series) {
        throw new InputError(variants.length ? "--series" : file, variants.length ? `the run has several series (${variants.join(", ")}): name one` : "the run has no variant other than base: nothing to reply about");
      }
      if (!variants.includes(series)) throw new InputError("--series", `no variant ${series} in ${file} (have: ${variants.join(", ") || "none"})`);
      const verdict = seriesVerdict(run, series);
      // The identity is needed only for a Tested-by; a reply that withholds it needs none.
      let testedBy = opts.testedBy !== undefined ? checkIdentity(opts.testedBy) : null;
      if (!testedBy && !verdict.withheld.length) {
        testedBy = (await gitIdentity()) ?? null;
        if (!testedBy) throw new InputError("--tested-by", "git config has no user.name/user.email: give --tested-by \"Name <email>\"");
      }
      const thread = await locateThread(series, run.run.command, opts.msgid);
      const html = join(dirname(resolve(file)), "index.html");
      const reply = renderReply({
        verdict,
        msgid: thread.msgid,
        cover: thread.cover,
        testedBy,
        report: opts.reportUrl ?? (existsSync(html) ? html : resolve(file)),
        testcases: [...new Set(run.results.filter((r) => r.variant === series).map((r) => r.testcase))],
      });
      process.stdout.write(opts.json ? JSON.stringify(reply, null, 2) + "\n" : reply.text);
    });
}
