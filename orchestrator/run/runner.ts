// Scheduling: builds and guests in two queues, so guests of kernels already built boot
// while the next kernel compiles. Results are stored as each job finishes.
import { cpus, totalmem } from "node:os";
import PQueue from "p-queue";
import { loadMachine } from "../config/machines.ts";
import { variantSource, type JobSource, type SourceFailure } from "./variant.ts";
import { ResultsStore, hostFacts } from "../results/store.ts";
import type { KernelEntry, RunResults } from "../results/schema.ts";
import { cachePath } from "../util/paths.ts";
import { readJson, writeFileAtomic } from "../util/fsx.ts";
import type { AccelChoice } from "../qemu/accel.ts";
import { progress, startProgress, stopProgress } from "../util/log.ts";
import { killDescendants } from "../util/descendants.ts";
import type { Result } from "../util/result.ts";
import { bootJob, prepareJob, failedJob, type JobContext, type JobOutcome } from "./job.ts";
import { jobId, type JobSpec } from "./plan.ts";
import type { GuestRuntime } from "../runtime/types.ts";

export interface RunOptions {
  outDir: string;
  jobs: JobSpec[];
  accel: AccelChoice;
  command: string;
  /** guests per job (--repeat) */
  repeat?: number;
  /** fresh guests for the cases that did not pass (--retry-failed) */
  retryFailed?: number;
  /** appended to every guest's kernel command line (--kernel-args) */
  kernelArgs?: string[];
  /** how each guest runs (default: the lab's own QEMU initramfs guest) */
  runtime?: GuestRuntime;
  shard?: string;
  guestConcurrency?: number;
  onJobDone?: (data: RunResults) => Promise<void>;
}

const WORK_FILE = (): string => cachePath("work.json");

async function readWork(): Promise<Record<string, number>> {
  return (await readJson<Record<string, number>>(WORK_FILE())) ?? {};
}

/** A job's own work: its build when it really built, plus its guest; not time spent queued. */
async function writeWork(work: Record<string, number>, kernels: KernelEntry[]): Promise<void> {
  for (const k of kernels) work[k.job] = (k.build && !k.build.cached ? k.build.seconds : 0) + (k.boot?.guest_seconds ?? 0);
  await writeFileAtomic(WORK_FILE(), JSON.stringify(work, null, 2)).catch(() => undefined);
}

/** The job's stages that took time, in order ("compile 181.2 link 12.0 ... suite 8.4"): where its seconds went, also in results.json. */
function stagesNote(k: KernelEntry): string {
  const parts = Object.entries(k.stages ?? {}).flatMap(([st, v]) => (typeof v === "number" && v >= 0.1 ? [`${st} ${v}`] : []));
  return parts.length ? `: ${parts.join(" ")}` : "";
}

/** Guests: one per core (a TCG guest keeps about one core busy), bounded by memory (1 GiB each, with room to spare). */
export const defaultGuestConcurrency = (): number => Math.max(1, Math.min(cpus().length, Math.floor(totalmem() / 2 ** 30 / 4)));

export async function runJobs(opts: RunOptions): Promise<RunResults> {
  const started = new Date();
  const store = new ResultsStore(`${opts.outDir}/results.json`, {
    id: started.toISOString().replace(/[:.]/g, "-"),
    started_at: started.toISOString(),
    finished_at: null,
    complete: false,
    seconds: null,
    command: opts.command,
    shard: opts.shard ?? null,
    repeat: opts.repeat ?? 1,
    retry_failed: opts.retryFailed ?? 0,
    host: await hostFacts(),
  });
  await store.flush();

  // Memoized per (source, series): the arches of one kernel share one unpacked, patched tree.
  const sources = new Map<string, Promise<Result<JobSource, SourceFailure>>>();
  const source = (spec: JobSpec): Promise<Result<JobSource, SourceFailure>> => {
    const key = JSON.stringify([spec.kernel.source, spec.variant.series ?? null]);
    let p = sources.get(key);
    if (!p) sources.set(key, (p = variantSource(spec)));
    return p;
  };

  // One build at a time with -j(cores+1) keeps both cores busy without two builds
  // thrashing each other's caches; guests overlap with it.
  const builds = new PQueue({ concurrency: 1 });
  const guests = new PQueue({ concurrency: opts.guestConcurrency ?? defaultGuestConcurrency() });

  let stopping = false; // set by Ctrl-C (below): nothing finishes after it
  const runOne = async (spec: JobSpec): Promise<void> => {
    const t0 = performance.now();
    const id = jobId(spec);
    const ctx: JobContext = {
      runDir: opts.outDir,
      accel: opts.accel,
      ...(opts.repeat ? { repeat: opts.repeat } : {}),
      ...(opts.retryFailed ? { retryFailed: opts.retryFailed } : {}),
      ...(opts.kernelArgs?.length ? { kernelArgs: opts.kernelArgs } : {}),
      ...(opts.runtime ? { runtime: opts.runtime } : {}),
      source,
      progress: (stage, detail = "") => progress(id, stage, detail),
    };
    let outcome: JobOutcome;
    // Start fetching and unpacking the source now, outside the build queue: the next
    // kernel's tree unpacks while the current one compiles.
    source(spec).catch(() => undefined); // a failure surfaces in prepareJob, which awaits the same promise
    try {
      const machine = await loadMachine(spec.arch);
      const prepared = await builds.add(() => prepareJob(spec, machine, ctx, t0));
      outcome = prepared.ok ? await guests.add(() => bootJob(prepared.value, ctx, t0)) : prepared.error;
    } catch (e) {
      // A bug in the lab must not take the other jobs down with it.
      outcome = failedJob(spec, t0, "qemu-error", `internal error: ${(e as Error).stack ?? e}`);
    }
    // A job cut short by our own Ctrl-C clean-up is no result: it was not the kernel's doing.
    if (stopping) return;
    const counts = outcome.results.reduce<Record<string, number>>((a, r) => ((a[r.status] = (a[r.status] ?? 0) + 1), a), {});
    progress(id, "done", `${outcome.entry.status} ${Object.entries(counts).map(([k, v]) => `${k}=${v}`).join(" ")} (${outcome.entry.seconds}s${stagesNote(outcome.entry)})`);
    await store.addJob(outcome.entry, outcome.results);
    await opts.onJobDone?.(store.data);
  };

  // Interrupted: what finished is already in results.json; write the report of it too
  // (marked incomplete) before leaving, and leave no build or guest running: the whole process
  // tree goes (make's compilers are grandchildren that killing make alone would orphan).
  // Listeners stay installed (process.on, not once) until the process exits: execa's cleanup
  // hook (signal-exit) re-raises a signal that no other listener handles, which would kill us
  // before the partial results are written. A second Ctrl-C during the clean-up is ignored.
  function onSignal(signal: NodeJS.Signals): void {
    if (stopping) return;
    stopping = true;
    void (async () => {
      process.stderr.write(`\ncowlab: ${signal}: stopping builds and guests, writing the partial results of ${store.data.kernels.length} finished job(s)\n`);
      await killDescendants();
      await store.flush();
      await opts.onJobDone?.(store.data);
      process.exit(130);
    })();
  }
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  // The work each job did last time gives the ETAs and the order: longest work first
  // (unknown jobs count as longest), so the two queues end together instead of waiting on
  // one slow guest started last.
  const work = await readWork();
  startProgress(opts.jobs.map(jobId), { ...work });
  const ordered = [...opts.jobs].sort((a, b) => (work[jobId(b)] ?? Infinity) - (work[jobId(a)] ?? Infinity));
  await Promise.all(ordered.map(runOne));
  if (stopping) await new Promise<never>(() => undefined); // the signal handler exits the process
  await writeWork(work, store.data.kernels);
  stopProgress();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  await store.finish();
  return store.data;
}
