// Joining shard results (Playwright's merge-reports, for kernels): one result set whose
// verdicts equal those of an unsharded run.
import { InputError } from "../util/result.ts";
import type { RunResults } from "./schema.ts";

export function mergeResults(parts: { file: string; data: RunResults }[], command: string): RunResults {
  if (!parts.length) throw new InputError("merge", "no results files given");
  const seen = new Map<string, string>();
  for (const { file, data } of parts) {
    for (const k of data.kernels) {
      const other = seen.get(k.job);
      if (other) throw new InputError(file, `job ${k.job} is also in ${other}: shards overlap`);
      seen.set(k.job, file);
    }
  }
  const runs = parts.map((p) => p.data.run);
  const started = runs.map((r) => r.started_at).sort()[0]!;
  const finished = runs.every((r) => r.finished_at) ? runs.map((r) => r.finished_at!).sort().at(-1)! : null;
  const order = (job: string): string => job;
  const minimized = parts.flatMap((p) => p.data.explore?.minimized ?? []);
  return {
    schema_version: 2,
    run: {
      id: `merged-${runs.map((r) => r.id).sort()[0]}`,
      started_at: started,
      finished_at: finished,
      complete: runs.every((r) => r.complete),
      seconds: finished ? Math.round((Date.parse(finished) - Date.parse(started)) / 100) / 10 : null,
      command,
      shard: `merged from ${runs.map((r) => r.shard ?? "unsharded").join(", ")}`,
      repeat: Math.max(...runs.map((r) => r.repeat)),
      retry_failed: Math.max(...runs.map((r) => r.retry_failed)),
      host: runs[0]!.host,
    },
    kernels: parts.flatMap((p) => p.data.kernels).sort((a, b) => order(a.job).localeCompare(order(b.job))),
    results: parts.flatMap((p) => p.data.results),
    ...(minimized.length ? { explore: { minimized } } : {}),
  };
}
