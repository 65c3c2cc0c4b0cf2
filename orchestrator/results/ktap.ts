// KTAP as the reproducers print it, read from the guest protocol's events. Pure parsing:
// what the lines say, nothing about what it means for a verdict (that is classify.ts).
import type { GuestEvent } from "../guest/protocol.ts";

export type KtapDirective = "SKIP" | "ERROR" | "TODO" | "XFAIL" | undefined;

export interface KtapResult {
  ok: boolean;
  number: number;
  name: string;
  directive: KtapDirective;
  directiveText: string;
  /** diagnostic lines since the previous result */
  diagnostics: string[];
  durationMs: number | undefined;
  /** index of the result's event */
  at: number;
}

export interface TestcaseBlock {
  id: string;
  /** event indices of the program's begin and end markers (end undefined: it never ended) */
  begin: number;
  end: number | undefined;
  rc: number | undefined;
  ms: number | undefined;
  version: boolean;
  plan: number | undefined;
  results: KtapResult[];
  /** every line the program printed, without nesting */
  lines: string[];
}

export interface GuestOutput {
  setup: Record<string, string>;
  blocks: TestcaseBlock[];
  done: boolean;
}

const RESULT = /^(not )?ok (\d+)(?: -)? ([^#]*?)\s*(?:#\s*(SKIP|ERROR|TODO|XFAIL)\b:?\s*(.*))?$/i;
const PLAN = /^1\.\.(\d+)\s*$/;
const DURATION = /^# duration_ms:\s*(\d+)/;

export function readGuest(events: GuestEvent[]): GuestOutput {
  const out: GuestOutput = { setup: {}, blocks: [], done: false };
  let block: TestcaseBlock | undefined;
  let diags: string[] = [];
  let duration: number | undefined;

  events.forEach((e, i) => {
    let m: RegExpExecArray | null;
    if (e.kind === "setup") out.setup[e.key] = e.value;
    else if (e.kind === "begin") {
      block = { id: e.testcase, begin: i, end: undefined, rc: undefined, ms: undefined, version: false, plan: undefined, results: [], lines: [] };
      out.blocks.push(block);
      diags = [];
      duration = undefined;
    } else if (e.kind === "end") {
      if (block && block.id === e.testcase) Object.assign(block, { end: i, rc: e.rc, ms: e.ms });
      block = undefined;
    } else if (e.kind === "done") out.done = true;
    else if (e.kind === "line" && block && e.testcase === block.id) {
      const line = e.text;
      block.lines.push(line);
      if (/^K?TAP version \d+/.test(line)) block.version = true;
      else if ((m = PLAN.exec(line)) && block.plan === undefined) block.plan = Number(m[1]);
      else if ((m = DURATION.exec(line))) duration = Number(m[1]);
      else if ((m = RESULT.exec(line))) {
        block.results.push({
          ok: !m[1],
          number: Number(m[2]),
          name: m[3]!.trim(),
          directive: m[4]?.toUpperCase() as KtapDirective,
          directiveText: (m[5] ?? "").trim(),
          diagnostics: diags,
          durationMs: duration,
          at: i,
        });
        diags = [];
        duration = undefined;
      } else if (line.startsWith("#")) diags.push(line.replace(/^#\s?/, ""));
    }
  });
  return out;
}
