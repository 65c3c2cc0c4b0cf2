// The source a job builds: the kernel's tree, with its variant's patch series applied.
import { resolveSource, type SourceTree } from "../sources/index.ts";
import { applySeries, readSeries } from "../sources/series.ts";
import { basename } from "node:path";
import { InputError, ok, err, type Result } from "../util/result.ts";
import type { JobSpec } from "./plan.ts";

export interface SourceFailure {
  status: "source-error" | "patch-error";
  message: string;
  detail?: string;
}

/** A job's tree, with the seconds its series took to apply (absent without a series; near 0 for an applied tree from the cache). */
export type JobSource = SourceTree & { patchSeconds?: number };

export async function variantSource(spec: JobSpec): Promise<Result<JobSource, SourceFailure>> {
  const base = await resolveSource(spec.kernel.source);
  if (!base.ok) return err({ status: "source-error", message: base.error.message, ...(base.error.detail ? { detail: base.error.detail } : {}) });
  const series = spec.variant.series;
  if (!series) return ok(base.value);
  let patches;
  try {
    patches = await readSeries(series);
  } catch (e) {
    if (e instanceof InputError) return err({ status: "patch-error", message: e.message });
    throw e;
  }
  const t0 = performance.now();
  const applied = await applySeries(base.value, patches, basename(series));
  if (!applied.ok) return err({ status: "patch-error", message: applied.error.message, detail: applied.error.detail });
  return ok({ ...applied.value, patchSeconds: (performance.now() - t0) / 1000 });
}
