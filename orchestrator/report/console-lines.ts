// Where things are in a guest's console, by line: each testcase's block, each case's result
// line and each kernel report. The report links a case to its line of the console's HTML
// view. Read with the guest protocol's own readers (protocol.ts, ktap.ts), the same way
// classification reads a console, so a marker is spelled in one place only.
import { protocolReader, reportEvents, type GuestEvent } from "../guest/protocol.ts";
import { readGuest } from "../results/ktap.ts";
import { isKernelLine, untangleConsole } from "../qemu/console.ts";
import { EXPLORER_ID } from "../config/testcases.ts";
import { parseObservations } from "../explore/observations.ts";

export interface ResultLine {
  /** 1-based console line */
  line: number;
  ok: boolean;
}

export interface ConsoleAnchors {
  /** testcase → case → its result line (the explorer's: the scenario's first line) */
  results: Record<string, Record<string, ResultLine>>;
  /** testcase → its begin and end marker lines (end null: the program never ended) */
  blocks: Record<string, { begin: number; end: number | null }>;
  /** kernel reports: normalized title and the line of the report's header */
  reports: { title: string; line: number }[];
  /** the console's line count (the HTML view numbers every line) */
  lines: number;
}

/** The scenario a line of the explorer's block starts, if it starts one. */
function scenarioOf(text: string): string | undefined {
  try {
    return parseObservations(text)[0]?.scenario;
  } catch {
    return undefined;
  }
}

export function consoleAnchors(text: string): ConsoleAnchors {
  // The same line split as consoleStream: a printk spliced into a program's line is moved out
  // without changing the line count, so indices stay the console file's own.
  const lines = untangleConsole(text.split("\n"));
  const read = protocolReader();
  const events: GuestEvent[] = [];
  const lineOf: number[] = [];
  lines.forEach((l, i) => {
    if (isKernelLine(l)) return;
    const e = read(l);
    if (!e) return;
    events.push(e);
    lineOf.push(i + 1);
  });
  const out: ConsoleAnchors = { results: {}, blocks: {}, reports: reportEvents(lines).map((r) => ({ title: r.event.title, line: r.index + 1 })), lines: lines.length };
  for (const b of readGuest(events).blocks) {
    out.blocks[b.id] = { begin: lineOf[b.begin]!, end: b.end === undefined ? null : lineOf[b.end]! };
    const cases = (out.results[b.id] ??= {});
    for (const r of b.results) cases[r.name] ??= { line: lineOf[r.at]!, ok: r.ok };
    if (b.id !== EXPLORER_ID) continue;
    const last = b.end ?? events.length;
    for (let i = b.begin + 1; i < last; i++) {
      const e = events[i]!;
      const scenario = e.kind === "line" ? scenarioOf(e.text) : undefined;
      if (scenario !== undefined) cases[scenario] ??= { line: lineOf[i]!, ok: true };
    }
  }
  return out;
}
