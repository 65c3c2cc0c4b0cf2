// "How it runs", for one job: source → kernel build → guest (reproducers + initramfs) → QEMU
// → verdicts. Each stage returns a typed result; a failed stage ends the job as data.
import { copyFile, mkdir, writeFile, chmod, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { MachineProfile } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";
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
import { classifyGuest, type Classified } from "../results/classify.ts";
import { foldAttempts, needsRetry, single, type AttemptRow } from "../results/attempts.ts";
import type { Boot, CaseResult, KernelEntry } from "../results/schema.ts";
import { jobId, jobSlug, type JobSpec } from "./plan.ts";
import type { CaseTable } from "../guest/caselist.ts";
import type { Result } from "../util/result.ts";

export interface JobContext {
  runDir: string;
  accel: AccelChoice;
  /** guests per job (--repeat; default 1) */
  repeat?: number;
  /** fresh guests per job for the cases that did not pass (--retry-failed; default 0) */
  retryFailed?: number;
  /** appended to every guest's kernel command line (--kernel-args) */
  kernelArgs?: string[];
  /** shared so that two arches of one kernel unpack its source once */
  source: (spec: JobSpec) => Promise<Result<SourceTree, SourceFailure>>;
  progress: (stage: string, detail?: string) => void;
  /** one object directory reused across builds (bisection: each step is incremental) */
  objDir?: string;
  /** build with a fixed KBUILD_BUILD_* identity, so equal sources give equal images (bisection; build/kernel.ts) */
  reproducible?: boolean;
}

export interface Prepared {
  spec: JobSpec;
  machine: MachineProfile;
  source: SourceTree;
  build: KernelBuild;
  initramfs: string;
  /** what the initramfs was made of, so a retry can pack one with only the failed cases */
  parts: { busybox: string; reproducers: string; explore?: GuestExplore };
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
    reruns: [],
    seconds: since(started),
  };
}

/** A job that ended before any guest ran: every testcase gets one `error` row saying why. */
function notRun(spec: JobSpec, entry: KernelEntry, reason: string): CaseResult[] {
  return spec.testcases.map((t) => single({
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

/**
 * The first compiler error of a failed build: make -j keeps compiling other files after it,
 * so the log's tail alone often does not show what broke.
 */
async function firstCompilerError(log: string | undefined): Promise<string | undefined> {
  if (!log) return undefined;
  const text = await readFile(log, "utf8").catch(() => "");
  return text.split("\n").find((l) => /: (fatal )?error: /.test(l))?.trim();
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
    ...(ctx.reproducible ? { reproducible: true } : {}),
  });
  if (!build.ok) {
    const first = (await firstCompilerError(build.error.log))?.replaceAll(`${source.value.dir}/`, "");
    return { ok: false, error: failedJob(spec, started, "build-error", [`${build.error.message}${first ? `: ${first}` : ""}`, build.error.logTail].filter(Boolean).join("\n"), { ...base, build: null }) };
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
  return { ok: true, value: { spec, machine, source: source.value, build: b, initramfs: initramfs.value, parts: { busybox: busybox.value, reproducers: repro.value, ...(explore ? { explore } : {}) } } };
}

/** What one guest is asked to run: the whole job, or (a retry) only the cases that failed. */
interface GuestPlan {
  n: number;
  purpose?: "repeat" | "retry";
  initramfs: string;
  testcases: Testcase[];
  cases?: CaseTable;
  explore?: JobSpec["explore"];
}

interface GuestAttempt {
  purpose: GuestPlan["purpose"];
  boot: Boot;
  c: Classified;
  rows: AttemptRow[];
}

/**
 * The silence watchdog's bound: the init prints at least a marker per testcase, and kills a
 * testcase at its own bound, so a guest quiet for longer than the longest bound plus a margin
 * has hung (the kernel, or a program that starved the init) and is stopped early.
 */
export const silenceBound = (testcases: Pick<Testcase, "timeout_s">[], explore: boolean): number =>
  // an explorer line prints its block when it ends: set-up and a few 5 s step bounds
  Math.max(5, explore ? 60 : 0, ...testcases.map((t) => t.timeout_s)) + 30;

async function runAttempt(p: Prepared, ctx: JobContext, plan: GuestPlan): Promise<GuestAttempt> {
  const { spec, machine, build } = p;
  const jobDir = join(ctx.runDir, "guests", jobSlug(spec));
  const dir = plan.n === 1 ? jobDir : join(jobDir, `guest-${plan.n}`);
  await mkdir(dir, { recursive: true });
  // The run folder carries its own copy of kernel and initramfs, so any result can be
  // replayed from it even after the cache was pruned.
  const kernel = join(jobDir, machine.image.split("/").pop()!);
  if (plan.n === 1) await copyFile(build.image, kernel);
  const initrd = plan.initramfs === p.initramfs && plan.n > 1 ? join(jobDir, "initramfs.cpio") : join(dir, "initramfs.cpio");
  if (plan.n === 1 || plan.initramfs !== p.initramfs) await copyFile(plan.initramfs, initrd);
  const { accel, why } = await chooseAccel(ctx.accel, machine);
  const argv = qemuArgv(machine, { kernel: relative(dir, kernel), initrd: relative(dir, initrd) }, accel, ctx.kernelArgs ?? []);
  // The explorer's budget is guest time on top of the testcases' (a bound the init enforces).
  const timeout = (accel === "kvm" ? Math.ceil(machine.qemu.timeout_s / 10) : machine.qemu.timeout_s) + (plan.explore?.budgetS ?? 0);
  const silence = silenceBound(plan.testcases, !!plan.explore);
  const cmdline = shellQuote(argv);
  await writeFile(join(dir, "qemu.cmdline"), `${cmdline}\n`);
  const rerun = join(dir, "rerun.sh");
  await writeFile(rerun, `#!/bin/sh\n# Replays guest ${plan.n} of ${jobId(spec)} (accel ${accel}: ${why}).\ncd "$(dirname "$0")" && exec timeout ${timeout} ${cmdline}\n`);
  await chmod(rerun, 0o755);

  ctx.progress("boot", `${accel} ${machine.qemu.binary}${plan.purpose ? ` (${plan.purpose}, guest ${plan.n})` : ""}`);
  const guest = await runGuest({
    argv,
    cwd: dir,
    consolePath: join(dir, "console.log"),
    timeoutS: timeout,
    silenceS: silence,
    onLine: (line) => {
      const begin = /^# cowlab-begin (\S+)/.exec(line);
      if (begin) ctx.progress("test", begin[1]);
    },
  });
  const id = { job: jobId(spec), kernel: build.release, arch: spec.arch, variant: spec.variant.name };
  const c = classifyGuest(id, plan.testcases, guest, plan.cases);
  let rows = c.results;
  if (plan.explore) {
    rows = [...rows, ...exploreResults({ ...id, kernel: c.release ?? build.release }, plan.explore, c.blockLines(EXPLORE.testcase), await loadGrammar())];
  }
  const boot: Boot = {
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
  };
  return { purpose: plan.purpose, boot, c, rows };
}

/** The cases whose latest attempt did not pass, as a guest plan: a program-level row reruns the whole program. */
function retryPlan(spec: JobSpec, results: CaseResult[]): Omit<GuestPlan, "n" | "initramfs"> | undefined {
  const failed = results.filter((r) => needsRetry({ status: r.attempts.at(-1)!.status }));
  if (!failed.length) return undefined;
  const testcases = spec.testcases.filter((t) => failed.some((r) => r.testcase === t.id));
  const cases: CaseTable = {};
  for (const t of testcases) {
    const mine = failed.filter((r) => r.testcase === t.id);
    const all = mine.some((r) => r.case === "*");
    const names = all ? spec.cases?.[t.id] : mine.map((r) => r.case);
    if (names) cases[t.id] = names;
  }
  const lines = failed.filter((r) => r.testcase === EXPLORE.testcase);
  const explore = spec.explore && lines.length ? { ...spec.explore, scenarios: lines.some((r) => r.case === "*") ? spec.explore.scenarios : lines.map((r) => r.case) } : undefined;
  if (!testcases.length && !explore) return undefined;
  return { purpose: "retry", testcases, cases, ...(explore ? { explore } : {}) };
}

export async function bootJob(p: Prepared, ctx: JobContext, started: number): Promise<JobOutcome> {
  const { spec, build } = p;
  const whole: Omit<GuestPlan, "n"> = { initramfs: p.initramfs, testcases: spec.testcases, ...(spec.cases ? { cases: spec.cases } : {}), ...(spec.explore ? { explore: spec.explore } : {}) };
  const guests: GuestAttempt[] = [];
  for (let i = 0; i < (ctx.repeat ?? 1); i++) guests.push(await runAttempt(p, ctx, { ...whole, n: guests.length + 1, ...(i ? { purpose: "repeat" as const } : {}) }));
  const fold = (): CaseResult[] => foldAttempts(guests.map((g, i) => ({ guest: i + 1, rows: g.rows })));
  let results = fold();
  // A failure is rerun in a fresh guest before it is called a regression; both attempts stay.
  for (let i = 0; i < (ctx.retryFailed ?? 0); i++) {
    const plan = retryPlan(spec, results);
    if (!plan) break;
    const explore = plan.explore && p.parts.explore ? { ...p.parts.explore, scenarios: plan.explore.scenarios } : undefined;
    const initramfs = await buildInitramfs(p.parts.busybox, p.parts.reproducers, plan.testcases, { ...(plan.cases ? { cases: plan.cases } : {}), ...(explore ? { explore } : {}) });
    if (!initramfs.ok) break; // the first guest's results stand; the retry could not be packed
    guests.push(await runAttempt(p, ctx, { ...plan, n: guests.length + 1, initramfs: initramfs.value }));
    results = fold();
  }
  const [first, ...more] = guests;
  const troubled = guests.find((g) => g.c.guestStatus !== "ok") ?? first!;
  const entry: KernelEntry = {
    ...emptyEntry(spec, started),
    source: p.source.label,
    version: p.source.version,
    release: first!.c.release ?? null,
    status: troubled.c.guestStatus,
    reason: troubled.c.guestReason,
    build: { seconds: build.seconds, cached: build.cached, toolchain: build.toolchain, config_sha256: build.config_sha256, key: build.key, log: build.log, image: build.image },
    boot: first!.boot,
    reruns: more.map((g) => ({ ...g.boot, purpose: g.purpose ?? "repeat" })),
    seconds: since(started),
  };
  return { entry, results };
}
