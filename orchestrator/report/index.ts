import { readFile } from "node:fs/promises";
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
    const text = await readFile(join(runDir, c), "utf8").catch(() => undefined);
    if (text === undefined) continue;
    const html = consoleViewPath(c);
    if (html === c) continue;
    const anchors = consoleAnchors(text);
    const back = relative(dirname(join(runDir, c)), join(reportDir, "index.html"));
    await writeFileAtomic(join(runDir, html), renderConsoleHtml(c, text, anchors, back));
    views.set(c, { html, anchors });
  }
  return views;
}

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
