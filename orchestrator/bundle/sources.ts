// The reproducer's source in the bundle: a testcase's C file and the testcases/lib headers it
// includes (recursively, as the compiler finds them: beside the file, then -I testcases/lib);
// for an explorer result, the standalone C file of its scenario (the minimized one `cowlab
// explore` wrote, else generated from the result's own line, as the explorer's driver does).
import { readFile } from "node:fs/promises";
import { basename, dirname, join, resolve } from "node:path";
import type { Testcase } from "../config/testcases.ts";
import { loadGrammar } from "../explore/grammar.ts";
import { predict } from "../explore/model.ts";
import { reproducerC } from "../explore/reproducer.ts";
import { parseScenario } from "../explore/scenario.ts";
import { rowObservations } from "../explore/verdicts.ts";
import type { JudgedCase, JudgedRun } from "../results/policy.ts";
import type { MinimizedScenario } from "../results/schema.ts";
import { exists } from "../util/fsx.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";

/** A file for the bundle: its name there and its bytes. */
export interface BundleFile {
  name: string;
  data: Buffer;
  mode?: number;
}

const LOCAL_INCLUDE = /^\s*#\s*include\s+"([^"]+)"/gm;
const LIB = repoPath("testcases", "lib");

/** A testcase's C file (first) and every local header it pulls in, named as under testcases/. */
export async function testcaseSources(t: Pick<Testcase, "id" | "source">): Promise<BundleFile[]> {
  const main = resolve(repoPath("testcases"), t.source);
  const text = await readFile(main).catch(() => undefined);
  if (!text) throw new InputError(main, `missing: the source of testcase ${t.id}`);
  const out: BundleFile[] = [{ name: `testcases/${basename(main)}`, data: text }];
  const seen = new Set<string>();
  const visit = async (from: string, src: string): Promise<void> => {
    for (const m of src.matchAll(LOCAL_INCLUDE)) {
      const inc = m[1]!;
      const found = [join(dirname(from), inc), join(LIB, inc)];
      let path: string | undefined;
      for (const p of found) if (await exists(p)) { path = p; break; }
      if (!path) throw new InputError(from, `includes "${inc}", found neither beside it nor in testcases/lib`);
      if (seen.has(path)) continue;
      seen.add(path);
      const data = await readFile(path);
      out.push({ name: path.startsWith(`${LIB}/`) ? `testcases/lib/${path.slice(LIB.length + 1)}` : `testcases/${basename(path)}`, data });
      await visit(path, data.toString("utf8"));
    }
  };
  await visit(main, text.toString("utf8"));
  const [first, ...headers] = out;
  return [first!, ...headers.sort((a, b) => (a.name < b.name ? -1 : 1))];
}

export interface ExploreSource {
  /** the scenario line the C file runs */
  line: string;
  file: BundleFile;
  /** the explorer's shrinking of this result, when `cowlab explore` did it */
  minimized?: MinimizedScenario;
}

/** The minimized scenario that started from (or ended at) r's line, for r's job. */
export const minimizedFor = (data: Pick<JudgedRun, "explore">, r: Pick<JudgedCase, "job" | "case">): MinimizedScenario | undefined =>
  data.explore?.minimized.find((m) => (m.original === r.case || m.minimal === r.case) && m.jobs.includes(r.job));

/** The standalone C reproducer of an explorer result. */
export async function exploreSource(runDir: string, data: Pick<JudgedRun, "explore" | "run">, r: JudgedCase): Promise<ExploreSource> {
  const m = minimizedFor(data, r);
  if (m?.file) {
    const path = resolve(runDir, m.file);
    const c = await readFile(path).catch(() => undefined);
    if (!c) throw new InputError(path, `missing: the minimized reproducer of '${m.original}'; re-run the job (${data.run.command})`);
    return { line: m.minimal, file: { name: `explore/${basename(path)}`, data: c }, minimized: m };
  }
  const g = await loadGrammar();
  let model;
  try {
    model = predict(parseScenario(r.case, g), g);
  } catch (e) {
    throw new InputError(`${r.job} ${r.testcase}/${r.case}`, `not a scenario line the grammar reads: ${(e as Error).message}`);
  }
  const o = rowObservations(r);
  const observed = { [r.job]: model.predictions.map((p) => o.steps.find((s) => s.step === p.step)?.raw ?? "missing") };
  const c = reproducerC({ scenario: r.case, expected: model.predictions.map((p) => ({ step: p.step, token: p.token, accepted: p.accept })), observed, why: r.reason.split("\n")[0] ?? "" });
  return { line: r.case, file: { name: "explore/repro.c", data: Buffer.from(c) } };
}
