// The run store: a compact summary of every finished run in the cache ($COWLAB_CACHE/runs/
// <run id>.json), so a report can show trends against earlier runs without their folders
// (which CI throws away). A summary holds verdicts as judged when the run was recorded,
// timings and counts; reasons, attempts and observations stay in the run's results.json.
import { readdir, readFile, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { z } from "zod";
import type { JudgedRun } from "./policy.ts";
import { cachePath } from "../util/paths.ts";
import { verdictLabel } from "./verdict.ts";
import { writeFileAtomic } from "../util/fsx.ts";

/** The store keeps at most this many runs, newest by start time... */
export const KEEP_RUNS = 50;
/** ...and at most this many bytes (a default-matrix run with its explorer lines is ~300 KB). */
export const KEEP_BYTES = 48 * 1024 * 1024;


export const JobSummary = z.object({
  job: z.string(),
  status: z.string(),
  counts: z.record(z.string(), z.number()).describe("verdict label → cases"),
  build_s: z.number().nullable(),
  build_cached: z.boolean().nullable(),
  boot_s: z.number().nullable(),
  guest_s: z.number().nullable(),
});
export type JobSummary = z.infer<typeof JobSummary>;

export const RunSummary = z.object({
  format: z.literal(1),
  id: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  seconds: z.number().nullable(),
  command: z.string(),
  complete: z.boolean(),
  shard: z.string().nullable(),
  jobs: z.array(JobSummary),
  /** job → testcase → case → verdict label */
  cases: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string()))),
  bisect: z
    .object({ kernel: z.string(), arch: z.string(), test: z.string(), cases: z.string(), culprit: z.string().nullable(), conclusion: z.string(), steps: z.number() })
    .optional(),
  /** the run folder when it was recorded (absolute): a later report links its findings there while it exists */
  dir: z.string().optional(),
  /** the explorer's minimized findings (`cowlab explore`): line, why, jobs, and the C file relative to `dir` */
  findings: z.array(z.object({ minimal: z.string(), why: z.string(), jobs: z.array(z.string()), file: z.string().nullable() })).optional(),
});
export type RunSummary = z.infer<typeof RunSummary>;

export function summarizeRun(data: JudgedRun, dir?: string): RunSummary {
  const cases: RunSummary["cases"] = {};
  const counts = new Map<string, Record<string, number>>();
  for (const r of data.results) {
    const label = verdictLabel(r);
    ((cases[r.job] ??= {})[r.testcase] ??= {})[r.case] = label;
    const c = counts.get(r.job) ?? {};
    c[label] = (c[label] ?? 0) + 1;
    counts.set(r.job, c);
  }
  const b = data.bisect;
  return {
    format: 1,
    id: data.run.id,
    started_at: data.run.started_at,
    finished_at: data.run.finished_at,
    seconds: data.run.seconds,
    command: data.run.command,
    complete: data.run.complete,
    shard: data.run.shard,
    jobs: data.kernels.map((k) => ({
      job: k.job,
      status: k.status,
      counts: counts.get(k.job) ?? {},
      build_s: k.build?.seconds ?? null,
      build_cached: k.build?.cached ?? null,
      boot_s: k.boot?.seconds ?? null,
      guest_s: k.boot?.guest_seconds ?? null,
    })),
    cases,
    ...(b ? { bisect: { kernel: b.kernel, arch: b.arch, test: b.test, cases: b.cases, culprit: b.culprit?.label ?? null, conclusion: b.conclusion, steps: b.steps.length } } : {}),
    ...(dir ? { dir } : {}),
    ...(data.explore?.minimized.length ? { findings: data.explore.minimized.map((m) => ({ minimal: m.minimal, why: m.why, jobs: m.jobs, file: m.file })) } : {}),
  };
}

/** Where `cowlab run` records and `cowlab report` reads unless told otherwise. */
export const runsDir = (): string => cachePath("runs");

/** A run id as a file name (ids are timestamps, but a merged or hand-made one may hold anything). */
const fileOf = (dir: string, id: string): string => join(dir, `${id.replace(/[^A-Za-z0-9._-]+/g, "_")}.json`);

export interface History {
  /** oldest first */
  runs: RunSummary[];
  /** one line per file that could not be read: the store goes on without it */
  warnings: string[];
}

interface StoreFile {
  file: string;
  bytes: number;
  summary?: RunSummary;
  /** why the file is not a summary (it is skipped) */
  warning?: string;
}

/** Each file of the store, read and checked once. */
async function readStore(dir: string): Promise<StoreFile[]> {
  const names = (await readdir(dir).catch(() => [] as string[])).filter((n) => n.endsWith(".json")).sort();
  return Promise.all(
    names.map(async (name): Promise<StoreFile> => {
      const file = join(dir, name);
      let text: string;
      let raw: unknown;
      try {
        text = await readFile(file, "utf8");
        raw = JSON.parse(text);
      } catch (e) {
        const bytes = (await stat(file).catch(() => undefined))?.size ?? 0;
        return { file, bytes, warning: `${file}: skipped, not JSON (${(e as Error).message.split("\n")[0]})` };
      }
      const bytes = Buffer.byteLength(text);
      const parsed = RunSummary.safeParse(raw);
      if (!parsed.success) {
        const i = parsed.error.issues[0]!;
        return { file, bytes, warning: `${file}: skipped, not a run summary (${i.path.join(".") || "(top level)"}: ${i.message})` };
      }
      return { file, bytes, summary: parsed.data };
    }),
  );
}

const historyOf = (files: StoreFile[]): History => ({
  runs: files.flatMap((f) => (f.summary ? [f.summary] : [])).sort(byStart),
  warnings: files.flatMap((f) => (f.warning ? [f.warning] : [])),
});

/** Every readable summary in the store, oldest first. A missing store is an empty history. */
export async function readHistory(dir: string = runsDir()): Promise<History> {
  return historyOf(await readStore(dir));
}

const byStart = (a: RunSummary, b: RunSummary): number => a.started_at.localeCompare(b.started_at) || a.id.localeCompare(b.id);

/**
 * Record one run (atomically: a reader never sees half a file; a rerun of the same id
 * replaces it), then drop the oldest summaries beyond the store's bounds. Returns the store
 * as it is left, from the one read the pruning needed.
 */
export async function recordRun(summary: RunSummary, dir: string = runsDir(), bounds = { runs: KEEP_RUNS, bytes: KEEP_BYTES }): Promise<History> {
  await writeFileAtomic(fileOf(dir, summary.id), JSON.stringify(summary) + "\n");
  return historyOf(await pruneHistory(await readStore(dir), bounds));
}

/** Remove the oldest summaries (by start time, unreadable files first) until within the bounds; the files kept. */
async function pruneHistory(files: StoreFile[], bounds: { runs: number; bytes: number }): Promise<StoreFile[]> {
  const started = (f: StoreFile): string => f.summary?.started_at ?? "";
  const newest = [...files].sort((a, b) => started(b).localeCompare(started(a)) || b.file.localeCompare(a.file));
  const kept: StoreFile[] = [];
  let total = 0;
  for (const [i, f] of newest.entries()) {
    total += f.bytes;
    if (i >= bounds.runs || (i > 0 && total > bounds.bytes)) await rm(f.file, { force: true });
    else kept.push(f);
  }
  return kept;
}

/** The jobs of a run as one key: runs with the same key ran the same matrix. */
export const matrixKey = (jobs: readonly string[]): string => [...jobs].sort().join("\n");

export interface CaseChange {
  job: string;
  testcase: string;
  case: string;
  /** undefined: the case did not run then */
  before: string | undefined;
  now: string;
  kind: "new-failure" | "fixed" | "changed";
}

/** Labels that need a look; one of them appearing where there was none is a new failure. */
export const NEEDS_LOOK: ReadonlySet<string> = new Set(["fail", "flaky", "crash", "timeout", "error"]);

/** Cases whose verdict differs from an earlier run's (cases new to this run count when they fail). */
export function changedCases(before: RunSummary, now: RunSummary): CaseChange[] {
  const out: CaseChange[] = [];
  for (const [job, testcases] of Object.entries(now.cases)) {
    for (const [testcase, cases] of Object.entries(testcases)) {
      for (const [name, label] of Object.entries(cases)) {
        const was = before.cases[job]?.[testcase]?.[name];
        if (was === label || (was === undefined && !NEEDS_LOOK.has(label))) continue;
        const kind = NEEDS_LOOK.has(label) && (was === undefined || !NEEDS_LOOK.has(was)) ? "new-failure" : was !== undefined && NEEDS_LOOK.has(was) && label === "pass" ? "fixed" : "changed";
        out.push({ job, testcase, case: name, before: was, now: label, kind });
      }
    }
  }
  return out;
}
