// From a guest's console to verdicts. The rule that matters most: `fail` only when a
// reproducer reported the kernel misbehaving; `crash` when the kernel itself reported a
// fault; `timeout` when a bound ran out; `error` when the lab or a harness step broke.
import type { Testcase } from "../config/testcases.ts";
import { readGuest, type KtapResult, type TestcaseBlock } from "./ktap.ts";
import type { Status } from "./schema.ts";
import type { AttemptRow } from "./attempts.ts";
import type { GuestEvent, GuestStream, ReportEvent } from "../guest/protocol.ts";
import type { GuestEnding } from "../runtime/types.ts";

export interface JobIdentity {
  job: string;
  kernel: string;
  arch: string;
  variant: string;
}

/** What classification needs from any runtime: the guest's events, and how it ended. */
export interface GuestRecord extends GuestStream {
  ending: GuestEnding;
  exitCode: number | undefined;
  /** why the runtime could not run or finish the guest (connection lost, refused...), in its words */
  failure?: string;
  /** the target came back with another boot (SSH): it rebooted during the run */
  rebooted?: boolean;
}

export interface GuestReport {
  title: string;
  /** printk time (s) of the report's first line, when the kernel log has timestamps */
  at?: number;
}

/** A report event with its place among the events. */
interface PlacedReport extends ReportEvent {
  index: number;
}

export interface Classified {
  /** wall time and exit code of each testcase program, from the init's markers */
  testcases: { id: string; ms: number | null; rc: number | null }[];
  /** every kernel report on the console (known-harmless ones are told apart when results are read) */
  reports: GuestReport[];
  results: AttemptRow[];
  release: string | undefined;
  setup: Record<string, string>;
  /** the guest as a whole: did it crash or time out (job status) */
  guestStatus: "ok" | "crash" | "timeout" | "qemu-error" | "guest-error";
  guestReason: string;
  /** the lines one program printed (the explorer reads its own format there) */
  blockLines: (id: string) => { lines: string[]; ended: boolean; rc: number | undefined; ms: number | undefined } | undefined;
}

/** The guest as a whole: a bound ran out, the runtime failed, the kernel reported a fault, or fine. */
function judgeGuest(run: GuestRecord, reports: PlacedReport[], done: boolean): Pick<Classified, "guestStatus" | "guestReason"> {
  const tail = run.tail.join("\n");
  if (run.ending === "timeout") return { guestStatus: "timeout", guestReason: `guest timed out; output tail:\n${tail}` };
  if (run.ending === "no-output") return { guestStatus: "timeout", guestReason: `guest hung: no output for too long (silence watchdog); output tail:\n${tail}` };
  if (reports.length) return { guestStatus: "crash", guestReason: reports[0]!.title };
  if (run.rebooted) return { guestStatus: "crash", guestReason: `the target rebooted during the run${run.failure ? ` (${run.failure})` : ""}` };
  if (run.ending === "connect-failed" || run.ending === "lost") return { guestStatus: "guest-error", guestReason: run.failure ?? run.ending };
  const qemuError = { guestStatus: "qemu-error" as const, guestReason: `QEMU ended (exit ${run.exitCode ?? "?"}) before the guest finished; output tail:\n${tail}` };
  if (run.ending === "spawn-failed") return qemuError;
  if (done) return { guestStatus: "ok", guestReason: "" };
  return run.ending === "exited" && run.failure === undefined ? qemuError : { guestStatus: "guest-error", guestReason: run.failure ?? `the guest runner ended (exit ${run.exitCode ?? "?"}) before it finished` };
}

/** A result line → status, before kernel reports are taken into account. */
function caseStatus(r: KtapResult): { status: Status; reason: string } {
  if (r.directive === "SKIP") return { status: "skip", reason: r.directiveText || "skipped (no reason given)" };
  if (r.directive === "ERROR") return { status: "error", reason: r.directiveText || "harness error" };
  if (r.ok) return { status: "pass", reason: "" };
  if (r.directive === "XFAIL" || r.directive === "TODO") return { status: "fail", reason: `${r.directive} ${r.directiveText}`.trim() };
  const last = r.diagnostics[r.diagnostics.length - 1];
  return { status: "fail", reason: last ?? "not ok (no diagnostic)" };
}

export function classifyGuest(
  id: JobIdentity,
  testcases: Testcase[],
  run: GuestRecord,
  /** the cases the host planned per testcase; a finished program that ran others is an error */
  planned?: Record<string, string[]>,
): Classified {
  const out = readGuest(run.events);
  const release = out.setup.uname;
  // Facts only: every report counts here; a known-harmless one is excused when results are read.
  const reports: PlacedReport[] = run.events.flatMap((e, index) => (e.kind === "report" ? [{ ...e, index }] : []));
  const base = { ...id, kernel: release ?? id.kernel };
  const results: AttemptRow[] = [];
  const mk = (t: Testcase, name: string, status: Status, reason: string, duration: number | null): AttemptRow => ({
    ...base,
    testcase: t.id,
    case: name,
    family: t.family,
    status,
    duration_ms: duration,
    reason,
  });
  const reportIn = (from: number, to: number): PlacedReport | undefined => reports.find((r) => r.index > from && r.index < to);
  const crashReason = (r: PlacedReport): string => `${r.title}\n${r.excerpt}`;

  const { guestStatus, guestReason } = judgeGuest(run, reports, out.done);

  // A kernel report before any testcase began: the kernel died booting.
  const bootReport = reportIn(-1, out.blocks[0]?.begin ?? run.events.length);

  for (const t of testcases) {
    const block = out.blocks.find((b) => b.id === t.id);
    if (!block) {
      const why = bootReport
        ? { s: "crash" as Status, r: `not run: kernel crashed before testcases: ${crashReason(bootReport)}` }
        : guestStatus === "timeout"
          ? { s: "timeout" as Status, r: "not run: guest timed out before this testcase" }
          : guestStatus === "crash"
            ? { s: "crash" as Status, r: `not run: ${reports[0] ? `kernel crashed earlier (${reports[0].title})` : guestReason}` }
            : { s: "error" as Status, r: `not run: ${guestReason.split("\n")[0] || "testcase missing from guest output"}` };
      results.push(mk(t, "*", why.s, why.r, null));
      continue;
    }
    results.push(...classifyBlock(t, block, run.events.length, reports, guestStatus, guestReason, mk, crashReason));
    const drift = planned?.[t.id] && caseDrift(planned[t.id]!, block);
    if (drift) results.push(mk(t, "*", "error", drift, null));
  }
  const timings = out.blocks.map((b) => ({ id: b.id, ms: b.ms ?? null, rc: b.rc ?? null }));
  const blockLines: Classified["blockLines"] = (bid) => {
    const b = out.blocks.find((x) => x.id === bid);
    return b && { lines: b.lines, ended: b.end !== undefined, rc: b.rc, ms: b.ms };
  };
  return { results, release, setup: out.setup, guestStatus, guestReason, reports: reports.map((r) => ({ title: r.title, ...(r.at === undefined ? {} : { at: r.at }) })), testcases: timings, blockLines };
}

/**
 * A program that finished but ran other cases than the host planned: the host's case table
 * (built from the same sources) and the guest disagree, so a selection or a known-issue
 * glob may be silently wrong.
 */
function caseDrift(planned: string[], block: TestcaseBlock): string | undefined {
  if (block.end === undefined || block.plan === undefined || block.plan !== block.results.length) return undefined;
  const ran = new Set(block.results.map((r) => r.name));
  const want = new Set(planned);
  const missing = planned.filter((c) => !ran.has(c));
  const extra = [...ran].filter((c) => !want.has(c));
  if (!missing.length && !extra.length) return undefined;
  const list = (xs: string[]): string => xs.slice(0, 5).join(", ") + (xs.length > 5 ? `, ... (${xs.length})` : "");
  return `the guest ran other cases than the host planned${missing.length ? `; not run: ${list(missing)}` : ""}${extra.length ? `; not planned: ${list(extra)}` : ""}`;
}

function classifyBlock(
  t: Testcase,
  block: TestcaseBlock,
  eventCount: number,
  reports: PlacedReport[],
  guestStatus: Classified["guestStatus"],
  guestReason: string,
  mk: (t: Testcase, name: string, status: Status, reason: string, duration: number | null) => AttemptRow,
  crashReason: (r: PlacedReport) => string,
): AttemptRow[] {
  const end = block.end ?? eventCount;
  const inBlock = reports.filter((r) => r.index > block.begin && r.index < end);
  const results: AttemptRow[] = [];
  let prev = block.begin;
  for (const r of block.results) {
    const own = caseStatus(r);
    // A kernel report printed while this case ran makes it a crash, whatever it printed; what
    // it printed is kept (`own`) so that a report known to be harmless can give it back.
    const rep = inBlock.find((k) => k.index > prev && k.index < r.at);
    const row = mk(t, r.name, own.status, own.reason, r.durationMs ?? null);
    results.push(rep ? { ...row, status: "crash", reason: `${crashReason(rep)}${own.reason ? `\n(case reported: ${own.reason})` : ""}`, report: rep.title, own: own.status } : row);
    prev = r.at;
  }
  const missing = block.plan === undefined ? undefined : block.plan - block.results.length;
  const unfinished = block.end === undefined || block.plan === undefined || (missing ?? 0) > 0;
  if (!unfinished) return results;

  const late = inBlock.find((k) => k.index > prev);
  const got = `${block.results.length}${block.plan === undefined ? "" : ` of ${block.plan}`} results`;
  let status: Status;
  let reason: string;
  if (late) {
    status = "crash";
    reason = crashReason(late);
  } else if (block.end === undefined) {
    status = guestStatus === "timeout" ? "timeout" : guestStatus === "crash" ? "crash" : "error";
    reason =
      guestStatus === "timeout"
        ? `${guestReason.startsWith("guest hung") ? "guest hung with no output" : "guest timed out"} in ${t.id} after ${got}`
        : guestStatus === "crash" || guestStatus === "guest-error"
          ? `${guestReason.split("\n")[0]} in ${t.id} after ${got}`
          : `guest output ended in ${t.id} after ${got}`;
  } else if (block.rc === 137) {
    status = "timeout";
    reason = `${t.id} exceeded its ${t.timeout_s} s bound after ${got}`;
  } else if (block.plan === undefined) {
    status = "error";
    reason = `no KTAP plan from ${t.id} (exit ${block.rc})`;
  } else {
    status = "error";
    reason = `${t.id} ${exitText(block.rc)} after ${got}`;
  }
  results.push(mk(t, "*", status, reason, null));
  return results;
}

const SIGNALS: Record<number, string> = { 4: "SIGILL", 6: "SIGABRT", 7: "SIGBUS", 8: "SIGFPE", 9: "SIGKILL", 11: "SIGSEGV", 13: "SIGPIPE", 15: "SIGTERM" };

/** The shell's exit status, in words: 139 is a program killed by SIGSEGV, not "exit 139". */
export function exitText(rc: number | undefined): string {
  if (rc !== undefined && rc > 128 && rc < 160) return `was killed by ${SIGNALS[rc - 128] ?? `signal ${rc - 128}`} (exit ${rc})`;
  return `exited ${rc ?? "?"}`;
}
