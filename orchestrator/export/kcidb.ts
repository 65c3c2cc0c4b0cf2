// A judged run as KCIDB report data (schema v5.3): what `kcidb-submit` takes. Pure: the run and
// the known issues it was judged with in, the report object out; the same input always gives
// the same ids, so exporting a run twice submits the same objects twice (KCIDB merges them)
// instead of doubling them.
//
// One checkout per kernel source as a job built it (kernel spec + variant: the variant's series
// is part of the source), one build per job, and per build a `boot` test plus one test per case
// (`cowlab.<testcase>.<case>`). Each manifest known issue that predicted a case is an issue,
// and each case it predicted an incident. The status tables and the path rule are in
// kcidb-vocab.ts, the reading of source labels in kcidb-source.ts.
import type { KnownIssue } from "../config/testcases.ts";
import { guestBoot, passRate } from "../results/attempts.ts";
import { knownIssueFor } from "../results/known.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";
import type { Attempt } from "../results/schema.ts";
import { contentKey } from "../util/hash.ts";
import { sourceFacts } from "./kcidb-source.ts";
import { KCIDB_VERSION, type KcidbBuild, type KcidbCheckout, type KcidbIncident, type KcidbIssue, type KcidbReport, type KcidbStatus, type KcidbTest, type Misc } from "./kcidb-types.ts";
import { BOOT_STATUS, CASE_STATUS, CHECKOUT_FAILED, excerpt, pathComponent, text, worstStatus } from "./kcidb-vocab.ts";

export interface KcidbOptions {
  /** the CI system's name in KCIDB (the schema's origin pattern, checked by the caller) */
  origin: string;
  /** where the run folder is published: consoles get a log_url under it (without it, their path is in misc) */
  artifactsUrl?: string;
}

/** Drop undefined and null values: the schema allows neither (a missing property means "unknown"). */
function defined<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined && v !== null)) as T;
}

const seconds = (ms: number | null): number | undefined => (ms === null ? undefined : ms / 1000);

const issueKey = (k: KnownIssue): string => contentKey({ testcase: k.testcase, cases: k.cases, kernels: k.kernels, arches: k.arches ?? [], variants: k.variants ?? [] }).slice(0, 12);

/** The ids: the origin, the run, then the job (and the test) — stable for one results file. */
function idsFor(run: JudgedRun, origin: string) {
  const prefix = `${origin}:${run.run.id}`;
  return {
    checkout: (k: Pick<JudgedKernel, "kernel_spec" | "variant">) => `${prefix}/${k.kernel_spec}/${k.variant}`,
    build: (job: string) => `${prefix}/${job}`,
    boot: (job: string) => `${prefix}/${job}/boot`,
    test: (r: Pick<JudgedCase, "job" | "testcase" | "case">) => `${prefix}/${r.job}/${r.testcase}/${r.case}`,
    /** A known issue is named by what it matches (edit its reason or fixed_in: same issue, same id). */
    issue: (k: KnownIssue) => `${origin}:known-issue/${k.testcase}/${issueKey(k)}`,
    incident: (testId: string, k: KnownIssue) => `${testId}/known-issue/${issueKey(k)}`,
  };
}

/** A URL under the published run folder, or undefined when none was given. */
function artifactUrl(base: string | undefined, relative: string | undefined): string | undefined {
  if (!base || !relative) return undefined;
  return new URL(relative, base.endsWith("/") ? base : `${base}/`).href;
}

function checkouts(run: JudgedRun, ids: ReturnType<typeof idsFor>, origin: string): KcidbCheckout[] {
  const groups = new Map<string, JudgedKernel[]>();
  for (const k of run.kernels) {
    const id = ids.checkout(k);
    groups.set(id, [...(groups.get(id) ?? []), k]);
  }
  return [...groups].map(([id, ks]) => {
    const first = ks[0]!;
    const label = ks.find((k) => k.source)?.source ?? "";
    const facts = sourceFacts(label);
    const failed = ks.find((k) => CHECKOUT_FAILED.has(k.status));
    return defined<KcidbCheckout>({
      id,
      origin,
      tree_name: facts.tree_name,
      git_repository_url: facts.git_repository_url,
      // "" is the schema's word for "no patches applied"; with a series we know no hash of it.
      patchset_hash: facts.patched === false ? "" : undefined,
      comment: label ? text(label) : undefined,
      start_time: run.run.started_at,
      valid: !failed,
      log_excerpt: failed ? excerpt(failed.reason) : undefined,
      misc: { kernel_spec: first.kernel_spec, variant: first.variant, ...(first.version ? { version: first.version } : {}), ...facts.misc },
    });
  });
}

function build(k: JudgedKernel, run: JudgedRun, ids: ReturnType<typeof idsFor>, origin: string): KcidbBuild {
  const b = k.build;
  const status: KcidbStatus | undefined = k.status === "build-error" ? "FAIL" : b ? "PASS" : undefined;
  return defined<KcidbBuild>({
    id: ids.build(k.job),
    checkout_id: ids.checkout(k),
    origin,
    comment: k.job,
    start_time: run.run.started_at,
    duration: b?.seconds,
    architecture: /^[a-z0-9_]*$/.test(k.arch) ? k.arch : undefined,
    compiler: b ? text(b.toolchain) : undefined,
    status,
    log_excerpt: k.status === "build-error" && k.reason ? excerpt(k.reason) : undefined,
    misc: defined({ job: k.job, arch: k.arch, version: k.version || undefined, job_status: k.status, config_sha256: b?.config_sha256, build_key: b?.key, cached: b?.cached, log: b?.log }),
  });
}

/** The console a case's attempt ran in: guest 1 is the job's boot, guest n its (n-1)th rerun. */
const consoleOf = (k: JudgedKernel | undefined, guest: number): string | undefined => (k ? guestBoot(k, guest)?.console : undefined);

function environment(k: JudgedKernel | undefined): Misc {
  const boot = k?.boot;
  return boot ? defined({ runtime: boot.runtime, accel: boot.accel, target: boot.target, guests: 1 + k!.reruns.length }) : {};
}

function bootTest(k: JudgedKernel, run: JudgedRun, ids: ReturnType<typeof idsFor>, opts: KcidbOptions): KcidbTest | undefined {
  const boot = k.boot;
  if (!boot) return undefined;
  // Reached its first testcase: the kernel booted, whatever happened later (the cases say that).
  const status = boot.seconds !== null ? "PASS" : BOOT_STATUS[k.status];
  const log_url = artifactUrl(opts.artifactsUrl, boot.console);
  return defined<KcidbTest>({
    id: ids.boot(k.job),
    build_id: ids.build(k.job),
    origin: opts.origin,
    path: "boot",
    comment: `boot ${k.job}`,
    status,
    start_time: run.run.started_at,
    duration: boot.seconds ?? boot.guest_seconds,
    log_url,
    log_excerpt: status !== "PASS" && k.reason ? excerpt(k.reason) : undefined,
    environment: { misc: environment(k) },
    misc: defined({
      job_status: k.status,
      reason: k.reason || undefined,
      release: k.release,
      ending: boot.ending,
      reports: boot.reports.length ? boot.reports.map((r) => r.title) : undefined,
      known_reports: k.known_reports.length ? k.known_reports.map((r) => ({ title: r.title, reason: r.reason })) : undefined,
      console: log_url ? undefined : boot.console,
    }),
  });
}

const attemptMisc = (a: Attempt): Misc => defined({ guest: a.guest, status: a.status, duration_ms: a.duration_ms, reason: a.reason || undefined, report: a.report, own: a.own });

/** flaky: the worst status among the attempts that did not pass (it did fail, some of the time). */
const caseStatus = (r: JudgedCase): KcidbStatus =>
  r.status === "flaky" ? (worstStatus(r.attempts.filter((a) => a.status !== "pass").map((a) => CASE_STATUS[a.status])) ?? "PASS") : CASE_STATUS[r.status];

/** A case row names a whole testcase program when its case is `*` (it never ran, or broke between cases). */
const casePath = (r: JudgedCase): string => (r.case === "*" ? `cowlab.${pathComponent(r.testcase)}` : `cowlab.${pathComponent(r.testcase)}.${pathComponent(r.case)}`);

function caseTest(r: JudgedCase, k: JudgedKernel | undefined, id: string, run: JudgedRun, ids: ReturnType<typeof idsFor>, opts: KcidbOptions): KcidbTest {
  const status = caseStatus(r);
  const consolePath = consoleOf(k, r.attempts[0]!.guest);
  const log_url = artifactUrl(opts.artifactsUrl, consolePath);
  return defined<KcidbTest>({
    id,
    build_id: ids.build(r.job),
    origin: opts.origin,
    path: casePath(r),
    comment: text(`${r.testcase}/${r.case}`),
    status,
    start_time: run.run.started_at,
    duration: seconds(r.duration_ms),
    log_url,
    log_excerpt: status !== "PASS" && r.reason ? excerpt(r.reason) : undefined,
    environment: { misc: { ...environment(k), attempts: r.attempts.map(attemptMisc) } },
    misc: defined({
      verdict: r.status,
      reason: r.reason || undefined,
      testcase: r.testcase,
      case: r.case,
      family: r.family,
      release: r.kernel,
      pass_rate: r.status === "flaky" ? passRate(r) : undefined,
      expected: r.expected,
      console: log_url ? undefined : consolePath,
    }),
  });
}

export function kcidbReport(run: JudgedRun, knownIssues: KnownIssue[], opts: KcidbOptions): KcidbReport {
  const ids = idsFor(run, opts.origin);
  const kernels = new Map(run.kernels.map((k) => [k.job, k]));
  const built = run.kernels.filter((k) => !CHECKOUT_FAILED.has(k.status));

  const tests: KcidbTest[] = built.flatMap((k) => bootTest(k, run, ids, opts) ?? []);
  const issues = new Map<string, KcidbIssue>();
  const incidents: KcidbIncident[] = [];
  const taken = new Set(tests.map((t) => t.id));
  for (const r of run.results) {
    const k = kernels.get(r.job);
    if (k && !k.boot) continue; // the job ended before a guest: its rows only repeat why (the build or checkout says it)
    // Ids are unique even if a hand-merged file repeats a case: later copies get #2, #3...
    let id = ids.test(r);
    for (let n = 2; taken.has(id); n++) id = `${ids.test(r)}#${n}`;
    taken.add(id);
    tests.push(caseTest(r, k, id, run, ids, opts));

    const known = r.expected ? knownIssueFor(r, knownIssues) : undefined;
    if (!known) continue;
    const issueId = ids.issue(known);
    if (!issues.has(issueId)) {
      issues.set(issueId, defined<KcidbIssue>({
        id: issueId,
        version: 1,
        origin: opts.origin,
        report_subject: text(known.reason),
        comment: text(known.fixed_in ? `${known.reason} (fixed in: ${known.fixed_in})` : known.reason),
        // A manifest known issue is a kernel bug the cases catch: the tested code is at fault.
        culprit: { code: true, tool: false, harness: false },
        misc: defined({ testcase: known.testcase, cases: known.cases, kernels: known.kernels, arches: known.arches, variants: known.variants, fixed_in: known.fixed_in }),
      }));
    }
    incidents.push(defined<KcidbIncident>({ id: ids.incident(id, known), origin: opts.origin, issue_id: issueId, issue_version: 1, test_id: id, present: true, comment: r.reason ? text(r.reason) : undefined }));
  }

  return {
    version: { ...KCIDB_VERSION },
    checkouts: checkouts(run, ids, opts.origin),
    builds: built.map((k) => build(k, run, ids, opts.origin)),
    tests,
    issues: [...issues.values()],
    incidents,
  };
}

/** The report as submitted: indented JSON, one newline at the end. */
export const kcidbJson = (report: KcidbReport): string => JSON.stringify(report, null, 2) + "\n";
