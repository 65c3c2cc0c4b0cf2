// "How it runs", for one job: source → kernel build → guest (reproducers + initramfs) → QEMU
// → verdicts. Each stage returns a typed result; a failed stage ends the job as data.
import { copyFile, mkdir, writeFile, chmod } from "node:fs/promises";
import { join, relative } from "node:path";
import type { MachineProfile } from "../config/machines.ts";
import type { KnownIssue, KnownReport } from "../config/testcases.ts";
import type { SourceTree } from "../sources/index.ts";
import type { SourceFailure } from "./variant.ts";
import { buildKernel, type KernelBuild } from "../build/kernel.ts";
import { busyboxFor } from "../guest/busybox.ts";
import { buildReproducers, INTERP } from "../guest/reproducers.ts";
import { buildInitramfs, type GuestExplore } from "../guest/initramfs.ts";
import { loadGrammar } from "../explore/grammar.ts";
import { EXPLORE, exploreResults } from "../explore/verdicts.ts";
import { chooseAccel, type AccelChoice } from "../qemu/accel.ts";
import { qemuArgv, shellQuote } from "../qemu/command.ts";
import { runGuest } from "../qemu/guest.ts";
import { classifyGuest } from "../results/classify.ts";
import { annotateKnown } from "../results/known.ts";
import type { CaseResult, KernelEntry } from "../results/schema.ts";
import { jobId, jobSlug, type JobSpec } from "./plan.ts";
import type { Result } from "../util/result.ts";

export interface JobContext {
  runDir: string;
  accel: AccelChoice;
  knownIssues: KnownIssue[];
  knownReports: KnownReport[];
  /** shared so that two arches of one kernel unpack its source once */
  source: (spec: JobSpec) => Promise<Result<SourceTree, SourceFailure>>;
  progress: (stage: string, detail?: string) => void;
  /** one object directory reused across builds (bisection: each step is incremental) */
  objDir?: string;
}

export interface Prepared {
  spec: JobSpec;
  machine: MachineProfile;
  source: SourceTree;
  build: KernelBuild;
  initramfs: string;
}

export interface JobOutcome {
  entry: KernelEntry;
  results: CaseResult[];
}

const since = (t: number): number => Math.round((performance.now() - t) / 100) / 10;

function emptyEntry(spec: JobSpec, started: number): KernelEntry {
  return {
    job: jobId(spec),
    kernel_spec: spec.kernel.id,
    variant: spec.variant.name,
    arch: spec.arch,
    source: "",
    version: "",
    release: null,
    status: "ok",
    reason: "",
    build: null,
    boot: null,
    seconds: since(started),
  };
}

/** A job that ended before any guest ran: every testcase gets one `error` row saying why. */
function notRun(spec: JobSpec, entry: KernelEntry, reason: string): CaseResult[] {
  return spec.testcases.map((t) => ({
    job: entry.job,
    kernel: entry.version || spec.kernel.id,
    arch: spec.arch,
    variant: spec.variant.name,
    testcase: t.id,
    case: "*",
    family: t.family,
    status: "error" as const,
    duration_ms: null,
    reason,
  }));
}

export function failedJob(spec: JobSpec, started: number, status: KernelEntry["status"], reason: string, extra: Partial<KernelEntry> = {}): JobOutcome {
  const entry = { ...emptyEntry(spec, started), ...extra, status, reason };
  return { entry, results: notRun(spec, entry, `${status}: ${reason.split("\n")[0]}`) };
}

export async function prepareJob(spec: JobSpec, machine: MachineProfile, ctx: JobContext, started: number): Promise<Result<Prepared, JobOutcome>> {
  ctx.progress("source", spec.kernel.source.kind === "debian" ? spec.kernel.source.package : spec.kernel.source.kind);
  const source = await ctx.source(spec);
  if (!source.ok) {
    const { status, message, detail } = source.error;
    return { ok: false, error: failedJob(spec, started, status, [message, detail].filter(Boolean).join("\n")) };
  }
  const base = { source: source.value.label, version: source.value.version };

  ctx.progress("build", `${source.value.version} ${spec.arch}`);
  const build = await buildKernel({
    source: source.value,
    machine,
    fragments: [...spec.kernel.fragments, ...spec.variant.fragments],
    ...(ctx.objDir ? { objDir: ctx.objDir } : {}),
  });
  if (!build.ok) {
    return { ok: false, error: failedJob(spec, started, "build-error", [build.error.message, build.error.logTail].filter(Boolean).join("\n"), { ...base, build: null }) };
  }
  const b = build.value;
  ctx.progress("built", `${b.cached ? "cached" : `${b.seconds}s`} ${b.release}`);

  const busybox = await busyboxFor(machine.deb_arch);
  if (!busybox.ok) return { ok: false, error: failedJob(spec, started, "guest-error", busybox.error.message, base) };
  const repro = await buildReproducers(machine, b.headers, b.key, spec.testcases);
  if (!repro.ok) return { ok: false, error: failedJob(spec, started, "guest-error", `${repro.error.message}\n${repro.error.detail ?? ""}`, base) };
  let explore: GuestExplore | undefined;
  if (spec.explore) {
    const interp = await buildReproducers(machine, b.headers, b.key, [INTERP]);
    if (!interp.ok) return { ok: false, error: failedJob(spec, started, "guest-error", `${interp.error.message}\n${interp.error.detail ?? ""}`, base) };
    explore = { interp: join(interp.value, INTERP.id), scenarios: spec.explore.scenarios, budgetS: spec.explore.budgetS };
  }
  const initramfs = await buildInitramfs(busybox.value, repro.value, spec.testcases, { ...(spec.cases ? { cases: spec.cases } : {}), ...(explore ? { explore } : {}) });
  if (!initramfs.ok) return { ok: false, error: failedJob(spec, started, "guest-error", initramfs.error.message, base) };
  return { ok: true, value: { spec, machine, source: source.value, build: b, initramfs: initramfs.value } };
}

export async function bootJob(p: Prepared, ctx: JobContext, started: number): Promise<JobOutcome> {
  const { spec, machine, build } = p;
  const dir = join(ctx.runDir, "guests", jobSlug(spec));
  await mkdir(dir, { recursive: true });
  // The run folder carries its own copy of kernel and initramfs, so any result can be
  // replayed from it even after the cache was pruned.
  const kernel = join(dir, machine.image.split("/").pop()!);
  await copyFile(build.image, kernel);
  await copyFile(p.initramfs, join(dir, "initramfs.cpio"));
  const { accel, why } = await chooseAccel(ctx.accel, machine);
  const argv = qemuArgv(machine, { kernel: relative(dir, kernel), initrd: "initramfs.cpio" }, accel);
  // The explorer's budget is guest time on top of the testcases' (a bound the init enforces).
  const timeout = (accel === "kvm" ? Math.ceil(machine.qemu.timeout_s / 10) : machine.qemu.timeout_s) + (spec.explore?.budgetS ?? 0);
  const cmdline = shellQuote(argv);
  await writeFile(join(dir, "qemu.cmdline"), `${cmdline}\n`);
  const rerun = join(dir, "rerun.sh");
  await writeFile(rerun, `#!/bin/sh\n# Replays guest ${jobId(spec)} (accel ${accel}: ${why}).\ncd "$(dirname "$0")" && exec timeout ${timeout} ${cmdline}\n`);
  await chmod(rerun, 0o755);

  ctx.progress("boot", `${accel} ${machine.qemu.binary}`);
  const guest = await runGuest({
    argv,
    cwd: dir,
    consolePath: join(dir, "console.log"),
    timeoutS: timeout,
    onLine: (line) => {
      const begin = /^# cowlab-begin (\S+)/.exec(line);
      if (begin) ctx.progress("test", begin[1]);
    },
  });
  const c = classifyGuest({ job: jobId(spec), kernel: build.release, arch: spec.arch, variant: spec.variant.name }, spec.testcases, guest, ctx.knownReports, spec.cases);
  let rows = c.results;
  if (spec.explore) {
    const block = c.blockLines(EXPLORE.testcase);
    rows = [...rows, ...exploreResults({ job: jobId(spec), kernel: c.release ?? build.release, arch: spec.arch, variant: spec.variant.name }, spec.explore, block, await loadGrammar())];
  }
  const results = annotateKnown(rows, ctx.knownIssues);
  const entry: KernelEntry = {
    ...emptyEntry(spec, started),
    source: p.source.label,
    version: p.source.version,
    release: c.release ?? null,
    status: c.guestStatus,
    reason: c.guestReason,
    build: { seconds: build.seconds, cached: build.cached, toolchain: build.toolchain, config_sha256: build.config_sha256, key: build.key, log: build.log, image: build.image },
    boot: {
      accel,
      seconds: guest.bootSeconds === undefined ? null : Math.round(guest.bootSeconds * 100) / 100,
      guest_seconds: Math.round(guest.seconds * 100) / 100,
      ending: guest.ending,
      exit_code: guest.exitCode ?? null,
      console: relative(ctx.runDir, join(dir, "console.log")),
      qemu_cmdline: cmdline,
      rerun: `./${relative(ctx.runDir, rerun)}`,
      setup: c.setup,
      testcases: c.testcases,
      reports: c.reports,
    },
    seconds: since(started),
  };
  return { entry, results };
}
