// The run store as the commands use it: `cowlab run` records its summary and reports with the
// runs before it; `cowlab report` reads a store. A store that cannot be written or read is
// a warning on stderr, never the end of a run whose results are already written.
import { resolve } from "node:path";
import type { JudgedRun } from "../results/policy.ts";
import { readHistory, recordRun, runsDir, summarizeRun, type History, type RunSummary } from "../results/history.ts";

export interface ReportHistory {
  runs: RunSummary[];
  warnings: string[];
  /** the store's folder, as the page names it */
  source: string;
}

const warn = (line: string): void => {
  process.stderr.write(`cowlab: warning: ${line}\n`);
};

/** Read a store, each unreadable file a warning (it is skipped). */
export async function readHistoryWarning(dir: string = runsDir()): Promise<ReportHistory> {
  const h = await readHistory(dir);
  for (const w of h.warnings) warn(w);
  return { ...h, source: dir };
}

/** Record a finished run into the store, then read the store back for its report. */
export async function recordAndReadHistory(data: JudgedRun, runDir?: string, dir: string = runsDir()): Promise<ReportHistory> {
  let h: History;
  try {
    h = await recordRun(summarizeRun(data, runDir === undefined ? undefined : resolve(runDir)), dir);
  } catch (e) {
    warn(`${dir}: run not recorded in the run store: ${(e as Error).message.split("\n")[0]}`);
    return readHistoryWarning(dir);
  }
  for (const w of h.warnings) warn(w);
  return { ...h, source: dir };
}
