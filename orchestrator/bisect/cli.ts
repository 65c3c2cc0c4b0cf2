import { resolve } from "node:path";
import { Option, type Command } from "commander";
import { loadKernelSpec } from "../config/kernels.ts";
import { ARCHES, type Arch } from "../config/machines.ts";
import { loadManifest } from "../config/testcases.ts";
import { resolveSource } from "../sources/index.ts";
import { InputError } from "../util/result.ts";
import { globRe } from "../util/glob.ts";
import { requireCaseTable } from "../guest/caselist.ts";
import { setQuiet } from "../util/log.ts";
import { withLock } from "../util/lock.ts";
import { markUsed } from "../util/fsx.ts";
import { cachePath } from "../util/paths.ts";
import { runBisection } from "./driver.ts";
import { gitTarget, seriesTarget } from "./targets.ts";
import type { RunResults } from "../results/schema.ts";
import { loadGrammar } from "../explore/grammar.ts";
import { parseScenario, printScenario } from "../explore/scenario.ts";
import { checkWellFormed } from "../explore/wellformed.ts";
import { EXPLORE } from "../explore/verdicts.ts";
import type { BisectStep } from "./steps.ts";

interface BisectCliOptions {
  kernel: string;
  series?: string;
  repo?: string;
  good?: string;
  bad?: string;
  test?: string;
  scenario?: string;
  case: string;
  arch: Arch;
  find: "regression" | "fix";
  out: string;
  json?: boolean;
  repeat: number;
}

const MARK: Record<BisectStep["decided_by"], string> = { "same-source": "  [no-op: not built]", "same-image": "  [same image: not booted]", guests: "", untested: "" };

/** The bisect log: one entry per step in the order they ran, no-op steps marked. */
export function bisectLog(d: NonNullable<RunResults["bisect"]>, repeat = 1): string {
  const lines = d.steps.map((s) => {
    const build = s.build_seconds === null ? "no build" : `build ${s.build_seconds} s${s.build_cached ? " (cached)" : ""}`;
    return `${String(s.position).padStart(3)} ${s.verdict.padEnd(4)} ${s.label}  ${s.subject}${MARK[s.decided_by]}\n      ${s.why}; ${build}, step ${s.seconds} s`;
  });
  const count = (k: BisectStep["decided_by"]) => d.steps.filter((s) => s.decided_by === k).length;
  const summary = [`${d.steps.length} steps`, `${d.steps.filter((s) => s.build_seconds !== null).length} built`, `${count("guests")} booted`, ...(count("same-source") ? [`${count("same-source")} no-op`] : []), ...(count("same-image") ? [`${count("same-image")} same image`] : []), `${d.seconds} s`].join(", ");
  return [
    `# bisect ${d.kind} ${d.target} (${d.changes} changes) for ${d.test}/${d.cases} on ${d.kernel} ${d.arch}, looking for the first ${d.find === "regression" ? "failure" : "fix"}${repeat > 1 ? `, ${repeat} guests per step` : ""}`,
    ...lines,
    `# ${d.culprit ? `first ${d.find === "regression" ? "bad" : "fixed"}` : "no answer"}: ${d.conclusion} (${summary})`,
  ].join("\n");
}

const positiveInt = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InputError("--repeat", `'${v}' is not a whole number of guests (1 or more)`);
  return n;
};

export function registerBisect(program: Command): void {
  program
    .command("bisect")
    .description("find the patch of a series (--series) or the commit of a git tree (--repo --good --bad) that changed a test's verdict")
    .option("-k, --kernel <id>", "kernel spec: the base for --series; the fragments for --repo", "6.12")
    .option("-s, --series <dir>", "patch series on top of the kernel (directory, quilt series file or mbox)")
    .option("--repo <dir>", "local git tree to bisect")
    .option("--good <rev>", "revision where the test behaves as before (with --repo)")
    .option("--bad <rev>", "revision where it does not (with --repo)")
    .option("-t, --test <id>", "testcase id from testcases/manifest.yaml")
    .option("--scenario <line>", "bisect on one explorer scenario line instead of a testcase (cowlab explore prints them)")
    .option("-c, --case <glob>", "cases of the testcase that decide (glob)", "*")
    .addOption(new Option("-a, --arch <arch>", "guest architecture").choices([...ARCHES]).default("x86_64"))
    .addOption(new Option("--find <what>", "regression: first change after which the cases fail; fix: first after which they pass").choices(["regression", "fix"]).default("regression"))
    .option("--repeat <n>", "guests per step: a step is bad if any shows the failure, good only if all pass (--find fix: the mirror)", positiveInt, 1)
    .option("-o, --out <dir>", "run folder", "reports/bisect")
    .option("--json", "print results.json (with its bisect section) to stdout")
    .action(async (o: BisectCliOptions) => {
      if (!!o.series === !!o.repo) throw new InputError("cowlab bisect", "give either --series DIR or --repo DIR --good REV --bad REV");
      if (o.repo && (!o.good || !o.bad)) throw new InputError("cowlab bisect", "--repo needs --good REV and --bad REV");
      if (!!o.test === !!o.scenario) throw new InputError("cowlab bisect", "give either --test ID (with --case GLOB) or --scenario LINE");
      const manifest = await loadManifest();
      let selected: string[] | undefined;
      let scenario: string | undefined;
      if (o.scenario) {
        // The line is checked (syntax, well-formedness) before any build starts.
        const g = await loadGrammar();
        try {
          scenario = printScenario(parseScenario(o.scenario, g));
          checkWellFormed(parseScenario(scenario, g), g);
        } catch (e) {
          throw new InputError("--scenario", (e as Error).message);
        }
      } else {
        if (!manifest.testcases.some((t) => t.id === o.test)) throw new InputError("--test", `no testcase '${o.test}' in testcases/manifest.yaml`);
        // Each step's guest runs only the cases that decide it: the host knows them before boot.
        const testcase = manifest.testcases.find((t) => t.id === o.test)!;
        const { table } = await requireCaseTable([testcase]);
        selected = table[testcase.id]!.filter((c) => globRe(o.case).test(c));
        if (!selected.length) throw new InputError("--case", `'${o.case}' matches no case of ${o.test} (cowlab run --list --tests ${o.test} shows them)`);
      }
      const spec = await loadKernelSpec(o.kernel);
      let target;
      let kernel = spec;
      if (o.series) {
        const base = await resolveSource(spec.source);
        if (!base.ok) throw new InputError(o.kernel, base.error.message);
        target = await seriesTarget(base.value, o.series, o.arch);
      } else {
        target = await gitTarget(o.repo!, o.good!, o.bad!, o.arch);
        kernel = { ...spec, id: `git`, source: { kind: "git", repo: resolve(o.repo!), rev: o.bad! } };
      }
      if (o.json) setQuiet(true);
      const data = await withLock(cachePath("bisect", `${target.workKey}-${o.arch}`), () =>
        runBisection(target, {
          kernel, arch: o.arch, manifest, find: o.find, repeat: o.repeat, outDir: resolve(o.out), command: `cowlab ${process.argv.slice(2).join(" ")}`,
          ...(scenario ? { test: EXPLORE.testcase, cases: scenario, scenario } : { test: o.test!, cases: o.case, ...(selected ? { selected } : {}) }),
        }),
      );
      await markUsed(cachePath("bisect", `${target.workKey}-${o.arch}`));
      if (o.json) process.stdout.write(JSON.stringify(data, null, 2) + "\n");
      else process.stderr.write(`${bisectLog(data.bisect!, o.repeat)}\nreport: ${resolve(o.out)}/index.html\n`);
      process.exitCode = data.bisect!.culprit ? 0 : 1;
    });
}
