// KTAP as the reproducers print it, framed by the guest init's markers. Pure parsing: what
// the lines say, nothing about what it means for a verdict (that is classify.ts).
import { isKernelLine, untangleConsole } from "../qemu/console.ts";

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
  /** console line index of the result line */
  line: number;
}

export interface TestcaseBlock {
  id: string;
  beginLine: number;
  endLine: number | undefined;
  rc: number | undefined;
  ms: number | undefined;
  version: boolean;
  plan: number | undefined;
  results: KtapResult[];
}

export interface GuestOutput {
  setup: Record<string, string>;
  blocks: TestcaseBlock[];
  done: boolean;
  lines: string[];
}

const RESULT = /^(not )?ok (\d+)(?: -)? ([^#]*?)\s*(?:#\s*(SKIP|ERROR|TODO|XFAIL)\b:?\s*(.*))?$/i;
const PLAN = /^1\.\.(\d+)\s*$/;
const BEGIN = /^# cowlab-begin (\S+)/;
const END = /^# cowlab-end (\S+) rc=(-?\d+) ms=(-?\d+)/;
const SETUP = /^# cowlab-setup (\w+)=(.*)$/;
const DURATION = /^# duration_ms:\s*(\d+)/;

export function parseGuestOutput(consoleText: string): GuestOutput {
  const lines = untangleConsole(consoleText.split("\n"));
  const out: GuestOutput = { setup: {}, blocks: [], done: false, lines };
  let block: TestcaseBlock | undefined;
  let diags: string[] = [];
  let duration: number | undefined;

  lines.forEach((raw, i) => {
    if (isKernelLine(raw)) return;
    const line = raw.trim();
    let m: RegExpExecArray | null;
    if ((m = SETUP.exec(line))) {
      out.setup[m[1]!] = m[2]!.trim();
    } else if ((m = BEGIN.exec(line))) {
      block = { id: m[1]!, beginLine: i, endLine: undefined, rc: undefined, ms: undefined, version: false, plan: undefined, results: [] };
      out.blocks.push(block);
      diags = [];
      duration = undefined;
    } else if ((m = END.exec(line))) {
      if (block && block.id === m[1]) {
        block.endLine = i;
        block.rc = Number(m[2]);
        block.ms = Number(m[3]);
      }
      block = undefined;
    } else if (line === "# cowlab-done") {
      out.done = true;
    } else if (block) {
      if (/^KTAP version \d+/.test(line) || /^TAP version \d+/.test(line)) block.version = true;
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
          line: i,
        });
        diags = [];
        duration = undefined;
      } else if (line.startsWith("#")) diags.push(line.replace(/^#\s?/, ""));
    }
  });
  return out;
}
