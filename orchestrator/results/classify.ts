// From a guest's console to verdicts. The rule that matters most: `fail` only when a
// reproducer reported the kernel misbehaving; `crash` when the kernel itself reported a
// fault; `timeout` when a bound ran out; `error` when the lab or a harness step broke.
import type { Testcase } from "../config/testcases.ts";
import { findKernelReports, consoleTail, excerpt, type KernelReport } from "../qemu/console.ts";
import { parseGuestOutput, type KtapResult, type TestcaseBlock } from "./ktap.ts";
import type { Status } from "./schema.ts";
import type { AttemptRow } from "./attempts.ts";
import type { GuestRun } from "../qemu/guest.ts";

export interface JobIdentity {
  job: string;
  kernel: string;
  arch: string;
  variant: string;
}

export interface ConsoleReport {
  title: string;
  line: number;
}

export interface Classified {
  /** wall time and exit code of each testcase program, from the init's markers */
  testcases: { id: string; ms: number | null; rc: number | null }[];
  /** every kernel report on the console (known-harmless ones are told apart when results are read) */
  reports: ConsoleReport[];
  results: AttemptRow[];
  release: string | undefined;
  setup: Record<string, string>;
  /** the guest as a whole: did it crash or time out (job status) */
  guestStatus: "ok" | "crash" | "timeout" | "qemu-error";
  guestReason: string;
  /** the console lines inside one program's markers (the explorer reads its own format there) */
  blockLines: (id: string) => { lines: string[]; ended: boolean; rc: number | undefined; ms: number | undefined } | undefined;
}

/** The guest as a whole: a bound ran out, QEMU failed, the kernel reported a fault, or fine. */
function judgeGuest(
  run: Pick<GuestRun, "ending" | "exitCode">,
  reports: KernelReport[],
  done: boolean,
  lines: string[],
): Pick<Classified, "guestStatus" | "guestReason"> {
  if (run.ending === "timeout") return { guestStatus: "timeout", guestReason: `guest timed out; console tail:\n${consoleTail(lines)}` };
  if (run.ending === "no-output") return { guestStatus: "timeout", guestReason: `guest hung: no console output for too long (silence watchdog); console tail:\n${consoleTail(lines)}` };
  const qemuError = { guestStatus: "qemu-error" as const, guestReason: `QEMU ended (exit ${run.exitCode ?? "?"}) before the guest finished; console tail:\n${consoleTail(lines)}` };
  if (run.ending === "spawn-failed") return qemuError;
  if (reports.length) return { guestStatus: "crash", guestReason: reports[0]!.title };
  return done ? { guestStatus: "ok", guestReason: "" } : qemuError;
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
  run: Pick<GuestRun, "console" | "ending" | "exitCode">,
  /** the cases the host planned per testcase; a finished program that ran others is an error */
  planned?: Record<string, string[]>,
): Classified {
  const out = parseGuestOutput(run.console);
  const release = out.setup.uname;
  // Facts only: every report counts here; a known-harmless one is excused when results are read.
  const reports = findKernelReports(out.lines);
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
  const reportIn = (from: number, to: number): KernelReport | undefined => reports.find((r) => r.line > from && r.line < to);
  const crashReason = (r: KernelReport): string => `${r.title}\n${excerpt(out.lines, r.line, 30)}`;

  const { guestStatus, guestReason } = judgeGuest(run, reports, out.done, out.lines);

  // A kernel report before any testcase began: the kernel died booting.
  const bootReport = reportIn(-1, out.blocks[0]?.beginLine ?? out.lines.length);

  for (const t of testcases) {
    const block = out.blocks.find((b) => b.id === t.id);
    if (!block) {
      const why = bootReport
        ? { s: "crash" as Status, r: `not run: kernel crashed before testcases: ${crashReason(bootReport)}` }
        : guestStatus === "timeout"
          ? { s: "timeout" as Status, r: "not run: guest timed out before this testcase" }
          : guestStatus === "crash"
            ? { s: "crash" as Status, r: `not run: kernel crashed earlier (${reports[0]!.title})` }
            : { s: "error" as Status, r: `not run: ${guestReason || "testcase missing from guest output"}` };
      results.push(mk(t, "*", why.s, why.r, null));
      continue;
    }
    results.push(...classifyBlock(t, block, out.lines, reports, guestStatus, guestReason, mk, crashReason));
    const drift = planned?.[t.id] && caseDrift(planned[t.id]!, block);
    if (drift) results.push(mk(t, "*", "error", drift, null));
  }
  const timings = out.blocks.map((b) => ({ id: b.id, ms: b.ms ?? null, rc: b.rc ?? null }));
  const blockLines: Classified["blockLines"] = (bid) => {
    const b = out.blocks.find((x) => x.id === bid);
    return b && { lines: out.lines.slice(b.beginLine + 1, b.endLine ?? out.lines.length), ended: b.endLine !== undefined, rc: b.rc, ms: b.ms };
  };
  return { results, release, setup: out.setup, guestStatus, guestReason, reports, testcases: timings, blockLines };
}

/**
 * A program that finished but ran other cases than the host planned: the host's case table
 * (built from the same sources) and the guest disagree, so a selection or a known-issue
 * glob may be silently wrong.
 */
function caseDrift(planned: string[], block: TestcaseBlock): string | undefined {
  if (block.endLine === undefined || block.plan === undefined || block.plan !== block.results.length) return undefined;
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
  lines: string[],
  reports: KernelReport[],
  guestStatus: Classified["guestStatus"],
  guestReason: string,
  mk: (t: Testcase, name: string, status: Status, reason: string, duration: number | null) => AttemptRow,
  crashReason: (r: KernelReport) => string,
): AttemptRow[] {
  const end = block.endLine ?? lines.length;
  const inBlock = reports.filter((r) => r.line > block.beginLine && r.line < end);
  const results: AttemptRow[] = [];
  let prevLine = block.beginLine;
  for (const r of block.results) {
    const own = caseStatus(r);
    // A kernel report printed while this case ran makes it a crash, whatever it printed; what
    // it printed is kept (`own`) so that a report known to be harmless can give it back.
    const rep = inBlock.find((k) => k.line > prevLine && k.line < r.line);
    const row = mk(t, r.name, own.status, own.reason, r.durationMs ?? null);
    results.push(rep ? { ...row, status: "crash", reason: `${crashReason(rep)}${own.reason ? `\n(case reported: ${own.reason})` : ""}`, report: rep.title, own: own.status } : row);
    prevLine = r.line;
  }
  const missing = block.plan === undefined ? undefined : block.plan - block.results.length;
  const unfinished = block.endLine === undefined || block.plan === undefined || (missing ?? 0) > 0;
  if (!unfinished) return results;

  const late = inBlock.find((k) => k.line > prevLine);
  const got = `${block.results.length}${block.plan === undefined ? "" : ` of ${block.plan}`} results`;
  let status: Status;
  let reason: string;
  if (late) {
    status = "crash";
    reason = crashReason(late);
  } else if (block.endLine === undefined) {
    status = guestStatus === "timeout" ? "timeout" : "error";
    reason = guestStatus === "timeout" ? `${guestReason.startsWith("guest hung") ? "guest hung with no output" : "guest timed out"} in ${t.id} after ${got}` : `guest output ended in ${t.id} after ${got}`;
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
