// The scenario line: the explorer's stable case id, so it has exactly one spelling per
// scenario. `print` writes that spelling; `parse` accepts only tokens the grammar defines
// (surrounding blanks are forgiven, a redundant `@parent` is not: it would be a second id
// for the same case). Well-formedness (order of ops) is checked in wellformed.ts.
//
//   LINE   := MEMORY ( " | " OP )*
//   MEMORY := TYPE [ ":" SIZE ]                e.g. thp, mthp:64k, hugetlb:2M
//   OP     := NAME [ ":" ARG ] [ "@" PROCESS ] e.g. read:child, pin:iouring, mprotect:ro@child
import type { Grammar, OpName, Proc } from "./grammar.ts";
import { OP_NAMES, PROCS } from "./grammar.ts";

export interface Memory {
  type: string;
  size?: string;
}

export interface Op {
  name: OpName;
  arg?: string;
  /** the process the op runs in; absent means the op's default (the parent) */
  at?: Proc;
}

export interface Scenario {
  memory: Memory;
  ops: Op[];
}

/** A scenario line that does not parse or is not well-formed; the message is one line. */
export class ScenarioError extends Error {}

export const printMemory = (m: Memory): string => (m.size === undefined ? m.type : `${m.type}:${m.size}`);

export function printOp(op: Op): string {
  let s: string = op.name;
  if (op.arg !== undefined) s += `:${op.arg}`;
  if (op.at !== undefined) s += `@${op.at}`;
  return s;
}

export const printScenario = (s: Scenario): string => [printMemory(s.memory), ...s.ops.map(printOp)].join(" | ");

const isOpName = (x: string): x is OpName => (OP_NAMES as readonly string[]).includes(x);
const isProc = (x: string): x is Proc => (PROCS as readonly string[]).includes(x);
const list = (xs: readonly string[]): string => xs.join(", ");

export function parseMemory(token: string, g: Grammar): Memory {
  const [type = "", size, extra] = token.split(":");
  const t = g.memory[type];
  const where = `memory '${token}'`;
  if (!t) throw new ScenarioError(`${where}: unknown memory type '${type}' (expected ${list(Object.keys(g.memory))})`);
  if (extra !== undefined) throw new ScenarioError(`${where}: too many ':' (expected TYPE or TYPE:SIZE)`);
  if (size === undefined) {
    if (t.sizes) throw new ScenarioError(`${where}: ${type} needs a size (one of ${list(t.sizes)})`);
    return { type };
  }
  if (!t.sizes) throw new ScenarioError(`${where}: ${type} takes no size`);
  if (!t.sizes.includes(size)) throw new ScenarioError(`${where}: size '${size}' is not one of ${list(t.sizes)}`);
  return { type, size };
}

export function parseOp(token: string, step: number, g: Grammar): Op {
  const where = `step ${step} '${token}'`;
  const m = /^([a-z0-9]+)(?::([a-z0-9-]+))?(?:@([a-z0-9]+))?$/.exec(token);
  if (!m) throw new ScenarioError(`${where}: not NAME[:ARG][@PROCESS]`);
  const [, name = "", arg, at] = m;
  const spec = isOpName(name) ? g.ops.get(name) : undefined;
  if (!isOpName(name) || !spec) throw new ScenarioError(`${where}: unknown op '${name}' (expected ${list([...g.ops.keys()])})`);
  const op: Op = { name };
  if (arg !== undefined) {
    if (!spec.args) throw new ScenarioError(`${where}: ${name} takes no argument`);
    if (!spec.args.includes(arg)) throw new ScenarioError(`${where}: '${arg}' is not one of ${list(spec.args)}`);
    op.arg = arg;
  } else if (spec.args) {
    throw new ScenarioError(`${where}: ${name} needs an argument (one of ${list(spec.args)})`);
  }
  if (at !== undefined) {
    if (!spec.at) throw new ScenarioError(`${where}: ${name} runs in no chosen process (drop '@${at}')`);
    if (!isProc(at) || !spec.at.includes(at)) throw new ScenarioError(`${where}: '@${at}' is not one of ${list(spec.at.slice(1))}`);
    if (at === spec.at[0]) throw new ScenarioError(`${where}: ${at} is the default; write '${printOp(op)}'`);
    op.at = at;
  }
  return op;
}

export function parseScenario(line: string, g: Grammar): Scenario {
  const tokens = line.split("|").map((t) => t.trim());
  const [mem = "", ...ops] = tokens;
  if (mem === "") throw new ScenarioError("empty scenario: expected MEMORY | OP | OP ...");
  const memory = parseMemory(mem, g);
  return { memory, ops: ops.map((t, i) => parseOp(t, i + 1, g)) };
}

/** The process an op runs in or acts on (its subject), or "pin", or null (fork, unpin). */
export function subjectOf(op: Op, g: Grammar): Proc | "pin" | null {
  const spec = g.ops.get(op.name);
  if (!spec) return null;
  if (spec.subject === "arg") return op.arg === "pin" ? "pin" : op.arg !== undefined && isProc(op.arg) ? op.arg : null;
  if (spec.subject === "at") return op.at ?? spec.at?.[0] ?? "parent";
  return null;
}
