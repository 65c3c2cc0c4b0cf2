// "How it runs", for one job, in separate steps: artifacts (source → kernel build →
// reproducers), the runtime (one guest per attempt, orchestrator/runtime/), classification
// (events → verdicts, results/classify.ts) and the attempts' fold; policy is applied when
// results are read. Each step returns a typed result; a failed step ends the job as data.
import { mkdir, readFile } from "node:fs/promises";
import { join, relative } from "node:path";
import type { MachineProfile } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";
import type { SourceTree } from "../sources/index.ts";
import type { JobSource, SourceFailure } from "./variant.ts";
import { buildKernel, type KernelBuild } from "../build/kernel.ts";
import { uapiHeaders } from "../build/headers.ts";
import { busyboxFor } from "../guest/busybox.ts";
import { buildReproducers, INTERP } from "../guest/reproducers.ts";
import type { GuestExplore } from "../guest/initramfs.ts";
import { loadGrammar } from "../explore/grammar.ts";
import { EXPLORE, exploreResults } from "../explore/verdicts.ts";
import type { AccelChoice } from "../qemu/accel.ts";
import { classifyGuest, type Classified } from "../results/classify.ts";
import { qemuInitramfs } from "../runtime/qemu-initramfs.ts";
import type { GuestRun, GuestRuntime, GuestWork } from "../runtime/types.ts";
import { foldAttempts, needsRetry, single, type AttemptRow } from "../results/attempts.ts";
import type { Boot, CaseResult, JobStages, KernelEntry } from "../results/schema.ts";
import { jobId, jobSlug, type JobSpec } from "./plan.ts";
import type { CaseTable } from "../guest/caselist.ts";
import type { Result } from "../util/result.ts";

export interface JobContext {
  runDir: string;
  accel: AccelChoice;
  /** how each guest runs (default: the lab's own QEMU initramfs guest) */
  runtime?: GuestRuntime;
  /** guests per job (--repeat; default 1) */
  repeat?: number;
  /** fresh guests per job for the cases that did not pass (--retry-failed; default 0) */
  retryFailed?: number;
  /** appended to every guest's kernel command line (--kernel-args) */
  kernelArgs?: string[];
  /** shared so that two arches of one kernel unpack its source once */
  source: (spec: JobSpec) => Promise<Result<JobSource, SourceFailure>>;
  progress: (stage: string, detail?: string) => void;
  /** build with a fixed KBUILD_BUILD_* identity, so equal sources give equal images (bisection; build/kernel.ts) */
  reproducible?: boolean;
}

export interface Prepared {
  spec: JobSpec;
  machine: MachineProfile;
  source: SourceTree;
  /** the built kernel; absent when the runtime runs the target's own kernel */
  build: KernelBuild | undefined;
  /** what every guest of the job is made of; a retry runs only the failed cases from the same parts */
  parts: { busybox: string; reproducers: string; explore?: GuestExplore };
  /** the stages before the guests (bootJob adds the guests') */
  stages: Omit<JobStages, "initramfs" | "boot" | "suite">;
}

export interface JobOutcome {
  entry: KernelEntry;
  results: CaseResult[];
}

const since = (t: number): number => Math.round((performance.now() - t) / 100) / 10;
const round1 = (s: number): number => Math.round(s * 10) / 10;

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
  const waiting = performance.now();
  const source = await ctx.source(spec);
  // What this job waited for its tree, split as it was paid: the series' share is the patch stage.
  const waited = (performance.now() - waiting) / 1000;
  const patched = source.ok ? Math.min(waited, source.value.patchSeconds ?? 0) : 0;
  if (!source.ok) {
    const { status, message, detail } = source.error;
    return { ok: false, error: failedJob(spec, started, status, [message, detail].filter(Boolean).join("\n")) };
  }
  const base = { source: source.value.label, version: source.value.version };

  let b: KernelBuild | undefined;
  let headers: { dir: string; key: string };
  if (ctx.runtime && !ctx.runtime.needsKernel) {
    // A machine running its own kernel: the reproducers need this source's UAPI headers only.
    ctx.progress("headers", `${source.value.version} ${spec.arch}`);
    const h = await uapiHeaders(source.value, machine);
    if (!h.ok) return { ok: false, error: failedJob(spec, started, "build-error", [h.error.message, h.error.detail].filter(Boolean).join("\n"), { ...base, build: null }) };
    headers = h.value;
  } else {
    ctx.progress("build", `${source.value.version} ${spec.arch}`);
    const build = await buildKernel({
      source: source.value,
      machine,
      // Once each: a fragment asked for twice (--fragment rootfs with a rootfs target) is the
      // same config, and must be the same build.
      fragments: [...new Set([...spec.kernel.fragments, ...spec.variant.fragments, ...(ctx.runtime?.fragments ?? [])])],
      ...(ctx.reproducible ? { reproducible: true } : {}),
    });
    if (!build.ok) {
      const first = (await firstCompilerError(build.error.log))?.replaceAll(`${build.error.srcDir ?? source.value.dir}/`, "");
      return { ok: false, error: failedJob(spec, started, "build-error", [`${build.error.message}${first ? `: ${first}` : ""}`, build.error.logTail].filter(Boolean).join("\n"), { ...base, build: null }) };
    }
    b = build.value;
    ctx.progress("built", `${b.cached ? "cached" : `${b.seconds}s`} ${b.release}`);
    headers = { dir: b.headers, key: b.key };
  }

  const reproducing = performance.now();
  const busybox = await busyboxFor(machine.deb_arch);
  if (!busybox.ok) return { ok: false, error: failedJob(spec, started, "guest-error", busybox.error.message, base) };
  const repro = await buildReproducers(machine, headers.dir, headers.key, spec.testcases);
  if (!repro.ok) return { ok: false, error: failedJob(spec, started, "guest-error", `${repro.error.message}\n${repro.error.detail ?? ""}`, base) };
  let explore: GuestExplore | undefined;
  if (spec.explore) {
    const interp = await buildReproducers(machine, headers.dir, headers.key, [INTERP]);
    if (!interp.ok) return { ok: false, error: failedJob(spec, started, "guest-error", `${interp.error.message}\n${interp.error.detail ?? ""}`, base) };
    explore = { interp: join(interp.value, INTERP.id), scenarios: spec.explore.scenarios, budgetS: spec.explore.budgetS };
  }
  const st = b && !b.cached ? b.stages : undefined;
  const stages: Prepared["stages"] = {
    source: round1(waited - patched),
    patch: b?.cached ? round1(patched) : round1(patched + (st?.move ?? 0)),
    config: st ? st.config : null,
    compile: st ? st.compile : null,
    link: st ? round1(st.link + st.headers) : null,
    reproducers: round1((performance.now() - reproducing) / 1000),
  };
  return { ok: true, value: { spec, machine, source: source.value, build: b, parts: { busybox: busybox.value, reproducers: repro.value, ...(explore ? { explore } : {}) }, stages } };
}

/** What one guest is asked to run: the whole job, or (a retry) only the cases that failed. */
type GuestPlan = Omit<GuestWork, "reproducers" | "busybox" | "explore"> & { explore?: JobSpec["explore"] };

interface GuestAttempt {
  purpose: GuestPlan["purpose"];
  boot: Boot;
  initramfsSeconds: number | undefined;
  c: Classified;
  rows: AttemptRow[];
}

/** The runtime's facts and the classification's, as results.json records a guest. */
function bootRecord(run: GuestRun, c: Classified, runDir: string): Boot {
  const f = run.facts;
  return {
    runtime: f.runtime,
    ...(f.target ? { target: f.target } : {}),
    accel: f.accel,
    seconds: f.bootSeconds === undefined ? null : Math.round(f.bootSeconds * 100) / 100,
    guest_seconds: Math.round(f.seconds * 100) / 100,
    ending: run.record.ending,
    exit_code: f.exitCode ?? null,
    console: f.log && relative(runDir, f.log),
    qemu_cmdline: f.cmdline,
    rerun: f.rerun && `./${relative(runDir, f.rerun)}`,
    setup: c.setup,
    testcases: c.testcases,
    reports: c.reports,
  };
}

async function runAttempt(p: Prepared, ctx: JobContext, plan: GuestPlan): Promise<GuestAttempt> {
  const { spec, machine, build } = p;
  const runtime = ctx.runtime ?? qemuInitramfs;
  const jobDir = join(ctx.runDir, "guests", jobSlug(spec));
  const dir = plan.n === 1 ? jobDir : join(jobDir, `guest-${plan.n}`);
  await mkdir(dir, { recursive: true });
  const { explore: lines, ...rest } = plan;
  const explore = lines && p.parts.explore ? { ...p.parts.explore, scenarios: lines.scenarios } : undefined;
  const work: GuestWork = { ...rest, reproducers: p.parts.reproducers, busybox: p.parts.busybox, ...(explore ? { explore } : {}) };
  const run = await runtime.run(
    { machine, build, jobId: jobId(spec), dir: jobDir, runDir: ctx.runDir, accel: ctx.accel, kernelArgs: ctx.kernelArgs ?? [], progress: ctx.progress },
    work,
    dir,
  );
  // Classification reads the runtime's events; it never knows which runtime ran the guest.
  const id = { job: jobId(spec), kernel: build?.release ?? p.source.version, arch: spec.arch, variant: spec.variant.name };
  const ran = run.ran ?? work;
  const c = classifyGuest(id, ran.testcases, run.record, ran.cases);
  const family = (tid: string): Testcase["family"] => spec.testcases.find((t) => t.id === tid)!.family;
  const unserved: AttemptRow[] = (run.unserved ?? []).map((u) => ({ ...id, kernel: c.release ?? id.kernel, testcase: u.testcase, case: u.case, family: family(u.testcase), status: "skip", duration_ms: null, reason: u.reason }));
  let rows = [...c.results, ...unserved];
  if (plan.explore) {
    rows = [...rows, ...exploreResults({ ...id, kernel: c.release ?? id.kernel }, plan.explore, c.blockLines(EXPLORE.testcase), await loadGrammar())];
  }
  return { purpose: plan.purpose, boot: bootRecord(run, c, ctx.runDir), initramfsSeconds: run.facts.initramfsSeconds, c, rows };
}

/** The cases whose latest attempt did not pass, as a guest plan: a program-level row reruns the whole program. */
function retryPlan(spec: JobSpec, results: CaseResult[]): Omit<GuestPlan, "n"> | undefined {
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

/** What results.json says of a build's reach: was it full, how many files it rewrote and compiled (only for a build made in this job). */
function incrementalOf(b: KernelBuild): { incremental?: { fresh: boolean; rewritten: number; compiled: number } } {
  return b.incremental ? { incremental: { fresh: b.incremental.fresh, rewritten: b.incremental.rewritten.length, compiled: b.incremental.compiled } } : {};
}

/** The guests' stages, summed over the job's guests (null: no guest reported the stage). */
function guestStages(guests: GuestAttempt[]): Pick<JobStages, "initramfs" | "boot" | "suite"> {
  const sum = (xs: (number | null | undefined)[]): number | null => {
    const known = xs.filter((x): x is number => typeof x === "number");
    return known.length ? round1(known.reduce((a, x) => a + x, 0)) : null;
  };
  return {
    initramfs: sum(guests.map((g) => g.initramfsSeconds)),
    boot: sum(guests.map((g) => g.boot.seconds)),
    suite: sum(guests.map((g) => (g.boot.seconds === null ? null : g.boot.guest_seconds - g.boot.seconds))),
  };
}

export async function bootJob(p: Prepared, ctx: JobContext, started: number): Promise<JobOutcome> {
  const { spec, build } = p;
  const whole: Omit<GuestPlan, "n"> = { testcases: spec.testcases, ...(spec.cases ? { cases: spec.cases } : {}), ...(spec.explore ? { explore: spec.explore } : {}) };
  const guests: GuestAttempt[] = [];
  for (let i = 0; i < (ctx.repeat ?? 1); i++) guests.push(await runAttempt(p, ctx, { ...whole, n: guests.length + 1, ...(i ? { purpose: "repeat" as const } : {}) }));
  const fold = (): CaseResult[] => foldAttempts(guests.map((g, i) => ({ guest: i + 1, rows: g.rows })));
  let results = fold();
  // A failure is rerun in a fresh guest before it is called a regression; both attempts stay.
  for (let i = 0; i < (ctx.retryFailed ?? 0); i++) {
    const plan = retryPlan(spec, results);
    if (!plan) break;
    guests.push(await runAttempt(p, ctx, { ...plan, n: guests.length + 1 }));
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
    build: build ? { seconds: build.seconds, cached: build.cached, toolchain: build.toolchain, config_sha256: build.config_sha256, key: build.key, log: build.log, image: build.image, ...(build.cached ? {} : incrementalOf(build)) } : null,
    stages: { ...p.stages, ...guestStages(guests) },
    boot: first!.boot,
    reruns: more.map((g) => ({ ...g.boot, purpose: g.purpose ?? "repeat" })),
    seconds: since(started),
  };
  return { entry, results };
}
