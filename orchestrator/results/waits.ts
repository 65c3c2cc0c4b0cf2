// Idle waits inside the reproducers, from a guest's console. Every testcase program ends
// its KTAP document with one diagnostic, "# cowlab-waits: <ms> ms in <n> waits" (the sum of
// the waits testcases/lib/ktap.h accounts: pages reaching swap, a reported case exiting,
// migration's bounded fork race). The console is read through the guest protocol, so the
// line counts only inside a program's block, whatever its nesting (indent or "# ").
import { consoleStream } from "../guest/protocol.ts";

export interface Waits {
  /** milliseconds spent waiting, summed over the programs */
  ms: number;
  /** waits, summed over the programs */
  waits: number;
  /** programs that printed the line */
  programs: number;
}

const WAITS = /^# cowlab-waits: (\d+) ms in (\d+) waits$/;

/** The cowlab-waits lines of a console log, summed. */
export function waitsFromConsole(text: string): Waits {
  const sum: Waits = { ms: 0, waits: 0, programs: 0 };
  for (const e of consoleStream(text).events) {
    const m = e.kind === "line" ? WAITS.exec(e.text) : null;
    if (!m) continue;
    sum.ms += Number(m[1]);
    sum.waits += Number(m[2]);
    sum.programs++;
  }
  return sum;
}
