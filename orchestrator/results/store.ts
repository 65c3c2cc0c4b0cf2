import { hostname, cpus, totalmem } from "node:os";
import { execa } from "execa";
import { writeFileAtomic } from "../util/fsx.ts";
import type { CaseResult, KernelEntry, RunResults, RunInfo } from "./schema.ts";

export async function hostFacts(): Promise<RunInfo["host"]> {
  const q = await execa("qemu-system-x86_64", ["--version"], { reject: false });
  return {
    hostname: hostname(),
    cores: cpus().length,
    memory_gib: Math.round(totalmem() / 2 ** 30),
    qemu: q.exitCode === 0 ? q.stdout.split("\n")[0]!.replace(/^QEMU emulator version /, "") : "missing",
    node: process.version,
  };
}

/**
 * results.json of a run in progress. Every finished job is written at once (atomically),
 * so an interrupted or crashed run still leaves the results of everything that finished.
 */
export class ResultsStore {
  readonly data: RunResults;
  private writing: Promise<void> = Promise.resolve();

  constructor(
    readonly path: string,
    run: RunInfo,
  ) {
    this.data = { schema_version: 2, run, kernels: [], results: [] };
  }

  addJob(entry: KernelEntry, results: CaseResult[]): Promise<void> {
    this.data.kernels.push(entry);
    this.data.results.push(...results);
    return this.flush();
  }

  finish(): Promise<void> {
    const end = new Date();
    this.data.run.finished_at = end.toISOString();
    this.data.run.seconds = Math.round((end.getTime() - Date.parse(this.data.run.started_at)) / 100) / 10;
    this.data.run.complete = true;
    return this.flush();
  }

  flush(): Promise<void> {
    const snapshot = JSON.stringify(this.data, null, 2);
    this.writing = this.writing.then(() => writeFileAtomic(this.path, snapshot));
    return this.writing;
  }
}
