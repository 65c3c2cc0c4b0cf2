import { readFile, stat } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { renderHtml, type ReportInputs } from "../../reports/render.ts";
import { renderConsoleHtml } from "../../reports/render-console.ts";
import type { ConsoleView } from "../../reports/render-util.ts";
import { RunResults } from "../results/schema.ts";
import { exists, writeFileAtomic } from "../util/fsx.ts";
import { InputError } from "../util/result.ts";
import { migrateResults } from "../results/migrate.ts";
import type { JudgedRun } from "../results/policy.ts";
import { bundleFile } from "../bundle/paths.ts";
import { consoleAnchors } from "./console-lines.ts";

export async function readResults(file: string): Promise<RunResults> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (e) {
    throw new InputError(file, `cannot read results: ${(e as Error).message.split("\n")[0]}`);
  }
  if (typeof raw === "object" && raw !== null && "schema_version" in raw && typeof raw.schema_version === "number" && raw.schema_version > 2) {
    throw new InputError(file, `results schema version ${raw.schema_version} is newer than this cowlab reads (2): update cowlab`);
  }
  const parsed = RunResults.safeParse(migrateResults(raw));
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    throw new InputError(file, `not a cowlab results file: ${i.path.join(".") || "(top level)"}: ${i.message}`);
  }
  return parsed.data;
}

/** The HTML view of a console: beside it, same name, .html. */
export const consoleViewPath = (console: string): string => console.replace(/(\.(log|txt))?$/, ".html");

/**
 * Write each guest console's HTML view beside it (line anchors for the report's links).
 * A console that is not in the run folder (a merged shard's, a deleted one) gets no view;
 * the report then links the path as results.json says it.
 */
export async function writeConsoleViews(data: JudgedRun, runDir: string, reportDir = runDir): Promise<Map<string, ConsoleView>> {
  const consoles = new Set(data.kernels.flatMap((k) => [k.boot?.console, ...k.reruns.map((g) => g.console)]).filter((c): c is string => !!c && !c.startsWith("/") && !c.includes("..")));
  const views = new Map<string, ConsoleView>();
  for (const c of consoles) {
    const html = consoleViewPath(c);
    if (html === c) continue;
    const log = join(runDir, c);
    const st = await stat(log).catch(() => undefined);
    if (!st) continue;
    // `cowlab run` rewrites its report after every job: a console already viewed and not
    // changed since is neither parsed nor written again.
    const stamp = `${st.mtimeMs}:${st.size}:${reportDir}`;
    const seen = viewMemo.get(log);
    if (seen?.stamp === stamp && (await exists(join(runDir, html)))) {
      views.set(c, seen.view);
      continue;
    }
    const text = await readFile(log, "utf8");
    const view = { html, anchors: consoleAnchors(text) };
    // A report written elsewhere (`cowlab report --out`) leaves the run folder's own views as
    // they are: their back links lead to the run's index.html.
    if (reportDir !== runDir && (await exists(join(runDir, html)))) {
      views.set(c, view);
      continue;
    }
    const back = relative(dirname(log), join(reportDir, "index.html"));
    const wrote = await writeFileAtomic(join(runDir, html), renderConsoleHtml(c, text, view.anchors, back)).then(
      () => true,
      (e: Error) => {
        // a read-only run folder (a downloaded artifact): the report links the plain console
        process.stderr.write(`cowlab: warning: ${join(runDir, html)}: console view not written: ${e.message.split("\n")[0]}\n`);
        return false;
      },
    );
    if (!wrote) continue;
    viewMemo.set(log, { stamp, view });
    views.set(c, view);
  }
  return views;
}

const viewMemo = new Map<string, { stamp: string; view: ConsoleView }>();

/** Which of the files the report may link exist in the run folder (bundles, reproducers). */
async function existingFiles(data: JudgedRun, runDir: string): Promise<Set<string>> {
  const wanted = [...data.results.filter((r) => r.status !== "pass" && r.status !== "skip").map(bundleFile), ...(data.explore?.minimized ?? []).flatMap((m) => (m.file ? [m.file] : []))];
  const found = await Promise.all([...new Set(wanted)].map(async (f) => ((await exists(join(runDir, f))) ? [f] : [])));
  return new Set(found.flat());
}

export interface ReportOptions {
  /** the run store's runs, shown as trends; without it the page says the store was not read */
  history?: NonNullable<ReportInputs["history"]>;
  /** the run folder (where results.json, guests/ and bundles/ are), if not outDir */
  runDir?: string;
}

/**
 * Write index.html into outDir, and each console's HTML view beside the console in the run
 * folder. Links in the page are relative to the run folder: a report written elsewhere
 * (`cowlab report --out`) links through the relative path from outDir to the run folder.
 */
export async function writeReport(data: JudgedRun, outDir: string, opts: ReportOptions = {}): Promise<string> {
  const runDir = opts.runDir ?? outDir;
  const inputs: ReportInputs = {
    files: await existingFiles(data, runDir),
    consoles: await writeConsoleViews(data, runDir, outDir),
    base: relative(outDir, runDir).replaceAll("\\", "/"),
    ...(opts.history ? { history: opts.history } : {}),
  };
  const path = join(outDir, "index.html");
  await writeFileAtomic(path, renderHtml(data, inputs));
  return path;
}
