// The guest protocol: what every guest runtime (a QEMU serial console, an SSH session)
// produces, as typed events. Classification reads these events and nothing else, so a
// crash is tied to the case it happened in by the events' order, not by console line numbers.
//
// On the wire it is one nested KTAP v1 document per guest (Documentation/dev-tools/ktap.rst),
// written by guests/run-testcases.sh: the programs are its subtests, each framed by the lab's
// marker diagnostics and followed by its own result line, so kunit.py's parser and other KTAP
// readers can read a cowlab console:
//
//   KTAP version 1
//   1..2
//   # cowlab-setup thp=[always] madvise never          setup facts, one per line
//   # cowlab-begin gup-after-fork at=3.21              a program starts (guest uptime, s)
//       KTAP version 1                                its own KTAP, indented 4 spaces
//       1..49
//       ok 1 ro-vmsplice-child-base
//   # cowlab-end gup-after-fork rc=0 ms=2810 at=6.02   exit status and wall time
//   ok 1 gup-after-fork
//   # cowlab-done
//
// A program's lines may also come in kselftest's style, each prefixed with "# " (the
// kselftest runner's way of nesting), and both are read. Kernel reports come either inline
// (a serial console: timestamped printk lines between the program's) or from the kernel log
// read separately (SSH: dmesg), placed among the other events by time.
import { excerpt, findKernelReports, isKernelLine, stripTimestamp, untangleConsole } from "../qemu/console.ts";

export type GuestEvent =
  | { kind: "setup"; key: string; value: string }
  | { kind: "begin"; testcase: string; at?: number }
  /** a line a program printed, without the nesting (indent or "# ") */
  | { kind: "line"; testcase: string; text: string; at?: number }
  | { kind: "end"; testcase: string; rc: number; ms: number; at?: number }
  /** a kernel report (oops, BUG, WARNING, panic...): normalized title, the lines after its header, printk time */
  | { kind: "report"; title: string; excerpt: string; at?: number }
  | { kind: "done" };

export type ReportEvent = Extract<GuestEvent, { kind: "report" }>;

/** A guest's events in the order they happened, and its last lines of output (for reasons). */
export interface GuestStream {
  events: GuestEvent[];
  tail: string[];
}

export const MARK = {
  setup: "# cowlab-setup",
  begin: "# cowlab-begin",
  end: "# cowlab-end",
  done: "# cowlab-done",
} as const;

const BEGIN = /^# cowlab-begin (\S+)(?: at=(\d+(?:\.\d+)?))?/;
const END = /^# cowlab-end (\S+) rc=(-?\d+) ms=(-?\d+)(?: at=(\d+(?:\.\d+)?))?/;
const SETUP = /^# cowlab-setup (\w+)=(.*)$/;
const PRINTK_TIME = /^\[\s*(\d+\.\d+)\]/;
const KSELFTEST_NESTED = /^# (?:KTAP|TAP) version \d+/;

const num = (s: string | undefined): number | undefined => (s === undefined ? undefined : Number(s));
export const printkTime = (line: string): number | undefined => num(PRINTK_TIME.exec(line)?.[1]);

/**
 * Protocol lines → events, one line at a time (a report between two lines of a program
 * must not end its block). `at` is the line's guest time when the runtime knows it (an SSH
 * session stamps lines as they arrive); a serial console's order is its own clock.
 */
export function protocolReader(): (raw: string, at?: number) => GuestEvent | undefined {
  let block: string | undefined;
  let prefixed: boolean | undefined; // the current program's nesting style, from its first line
  return (raw, at) => {
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = SETUP.exec(line))) return { kind: "setup", key: m[1]!, value: m[2]!.trim() };
    if ((m = BEGIN.exec(line))) {
      block = m[1]!;
      prefixed = undefined;
      return { kind: "begin", testcase: block, ...opt("at", num(m[2]) ?? at) };
    }
    if ((m = END.exec(line))) {
      block = undefined;
      return { kind: "end", testcase: m[1]!, rc: Number(m[2]), ms: Number(m[3]), ...opt("at", num(m[4]) ?? at) };
    }
    if (line === MARK.done) return { kind: "done" };
    if (block === undefined || line === "") return undefined;
    prefixed ??= KSELFTEST_NESTED.test(line);
    return { kind: "line", testcase: block, text: prefixed ? line.replace(/^#( |$)/, "").trim() : line, ...opt("at", at) };
  };
}

/** Lines (with their guest times, if known) → events. */
export function readProtocol(lines: string[], at: (i: number) => number | undefined = () => undefined): GuestEvent[] {
  const read = protocolReader();
  return lines.flatMap((l, i) => read(l, at(i)) ?? []);
}

const opt = <K extends string, V>(k: K, v: V | undefined): { [P in K]?: V } => (v === undefined ? {} : ({ [k]: v } as { [P in K]?: V }));

/** Kernel log lines (a console's printk lines, or dmesg) → one report event per oops. */
export function reportEvents(lines: string[]): { index: number; event: ReportEvent }[] {
  return findKernelReports(lines).map((r) => ({
    index: r.line,
    event: { kind: "report", title: r.title, excerpt: excerpt(lines, r.line, 30), ...opt("at", printkTime(lines[r.line]!)) },
  }));
}

/**
 * A serial console → events. Kernel and programs share the line, so the console's order is
 * the events' order: a report lands between the program lines it was printed between.
 */
export function consoleStream(text: string): GuestStream {
  const lines = untangleConsole(text.split("\n"));
  const reports = new Map(reportEvents(lines).map((r) => [r.index, r.event]));
  const read = protocolReader();
  const events: GuestEvent[] = [];
  lines.forEach((l, i) => {
    const report = reports.get(i);
    if (report) events.push(report);
    if (isKernelLine(l)) return;
    const e = read(l);
    if (e) events.push(e);
  });
  return { events, tail: lines.slice(-30).map(stripTimestamp) };
}

/**
 * Reports read apart from the program output (an SSH target's dmesg) placed among the
 * events by guest time: each goes before the first event that happened after it. Events
 * without a time keep their place. A line's time is when it reached the host, mapped to the
 * target's clock (ssh-run.ts), so it is late by the link's latency (milliseconds): a report
 * printed within that much after a result line could be placed before it.
 */
export function mergeByTime(events: GuestEvent[], reports: ReportEvent[]): GuestEvent[] {
  const out: GuestEvent[] = [];
  const pending = [...reports].sort((a, b) => (a.at ?? Infinity) - (b.at ?? Infinity));
  for (const e of events) {
    const t = "at" in e ? e.at : undefined;
    while (t !== undefined && pending.length && (pending[0]!.at ?? Infinity) < t) out.push(pending.shift()!);
    out.push(e);
  }
  return [...out, ...pending];
}
