// Well-formedness of a scenario: the grammar's `requires` conditions evaluated over a small
// abstract state (who exists, who maps the region, who holds the pin). The same state
// drives the generator's pruning (`noop_when`), so a scenario the generator emits is always
// one `checkWellFormed` accepts. What the data *is* after each op is the model's job, not this.
import type { Condition, Grammar, MemoryType, NoopRule, Proc, ResolvedOp } from "./grammar.ts";
import { type Op, type Scenario, ScenarioError, printOp, subjectOf } from "./scenario.ts";

export interface WfState {
  alive: Record<Proc, boolean>;
  forked: { child: boolean; child2: boolean };
  mapped: Record<Proc, boolean>;
  writable: Record<Proc, boolean>;
  pin: { mech: string; owner: Proc } | null;
  dontfork: boolean;
  wipeonfork: boolean;
  split: boolean;
  merged: boolean;
  /** the previous op's token, for the `repeat` rule */
  last: string | null;
}

export function initialState(t: MemoryType): WfState {
  return {
    alive: { parent: true, child: false, child2: false },
    forked: { child: false, child2: false },
    mapped: { parent: true, child: false, child2: false },
    writable: { parent: true, child: false, child2: false },
    pin: null,
    dontfork: false,
    wipeonfork: false,
    split: t.split,
    merged: t.merged,
    last: null,
  };
}

const clone = (s: WfState): WfState => ({
  ...s,
  alive: { ...s.alive },
  forked: { ...s.forked },
  mapped: { ...s.mapped },
  writable: { ...s.writable },
});

/** Why `op` may not come next (one short phrase), or null if it may. */
export function violation(s: WfState, op: Op, spec: ResolvedOp, g: Grammar, t: MemoryType): string | null {
  const subject = subjectOf(op, g);
  const check = (c: Condition): string | null => {
    switch (c) {
      case "subject-alive":
        if (subject === "pin") return s.pin ? null : "no pin is held";
        if (subject === null || s.alive[subject]) return null;
        return subject !== "parent" && (s.forked as Record<string, boolean>)[subject] ? `${subject} has exited` : `${subject} has not been forked`;
      case "subject-mapped":
        return subject === null || subject === "pin" || s.mapped[subject] ? null : `${subject} has no mapping of the region`;
      case "subject-writable":
        return subject === null || subject === "pin" || s.writable[subject] ? null : `${subject} maps the region read-only`;
      case "not-pin-owner":
        return s.pin && s.pin.owner === subject ? `${subject} holds the pin (unpin first)` : null;
      case "pin-writable":
        return subject !== "pin" || !s.pin || g.mechanisms[s.pin.mech]?.access.includes("write") ? null : `${s.pin.mech} is a read-only mechanism`;
      case "pinned":
        return s.pin ? null : "no pin is held";
      case "unpinned":
        return s.pin ? `a pin (${s.pin.mech}) is already held: one pin at a time` : null;
      case "child-unforked":
        return s.forked.child ? "child was already forked" : null;
      case "child-forked":
        return s.forked.child ? null : "fork child first (the first fork is always named child)";
      case "child2-unforked":
        return s.forked.child2 ? "child2 was already forked" : null;
      case "cap":
        return spec.cap && !t.caps.includes(spec.cap) ? `the memory type cannot ${spec.cap}` : null;
      case "mechanism": {
        const mech = op.arg === undefined ? undefined : g.mechanisms[op.arg];
        for (const c2 of mech?.requires ?? []) {
          const why = c2 === "mechanism" ? null : check(c2);
          if (why) return `${op.arg}: ${why}`;
        }
        return null;
      }
    }
  };
  for (const c of spec.requires) {
    const why = check(c);
    if (why) return why;
  }
  return null;
}

/** The pruning rule that makes `op` a no-op in this state, or null. Never a well-formedness error. */
export function noopRule(s: WfState, op: Op, spec: ResolvedOp, g: Grammar, token: string): NoopRule | null {
  const subject = subjectOf(op, g);
  for (const r of spec.noop_when) {
    const hit = ((): boolean => {
      switch (r) {
        case "prot-same":
          return subject !== null && subject !== "pin" && s.writable[subject] === (op.arg === "rw");
        case "dontfork-set":
          return s.dontfork;
        case "dontfork-clear":
          return !s.dontfork;
        case "wipeonfork-set":
          return s.wipeonfork;
        case "split":
          return s.split;
        case "not-split":
          return !s.split;
        case "merge-same":
          return s.merged === (op.arg === "merge");
        case "repeat":
          return s.last === token;
      }
    })();
    if (hit) return r;
  }
  return null;
}

/** The abstract state after `op` (which must be well-formed here). */
export function applyOp(s0: WfState, op: Op, g: Grammar, token: string): WfState {
  const s = clone(s0);
  s.last = token;
  const subject = subjectOf(op, g);
  const proc = subject === null || subject === "pin" ? "parent" : subject;
  switch (op.name) {
    case "fork":
    case "fork2": {
      const c = op.name === "fork" ? "child" : "child2";
      s.forked[c] = true;
      s.alive[c] = true;
      // A DONTFORK region is not copied; a WIPEONFORK one is, empty, with the same protection.
      s.mapped[c] = s.mapped.parent && !s.dontfork;
      s.writable[c] = s.writable.parent;
      break;
    }
    case "pin":
      s.pin = { mech: op.arg ?? "", owner: proc };
      break;
    case "unpin":
      s.pin = null;
      break;
    case "mprotect":
      s.writable[proc] = op.arg === "rw";
      break;
    case "munmap":
      s.mapped[proc] = false;
      break;
    case "exit":
      s.alive[proc] = false;
      s.mapped[proc] = false;
      break;
    case "dontfork":
      s.dontfork = true;
      break;
    case "dofork":
      s.dontfork = false;
      break;
    case "wipeonfork":
      s.wipeonfork = true;
      break;
    case "split":
      s.split = true;
      break;
    case "collapse":
      s.split = false;
      break;
    case "ksm":
      s.merged = op.arg === "merge";
      break;
    default:
      break;
  }
  return s;
}

/** Throws a one-line ScenarioError naming the first step that is not well-formed. */
export function checkWellFormed(sc: Scenario, g: Grammar): void {
  const t = g.memory[sc.memory.type];
  if (!t) throw new ScenarioError(`memory '${sc.memory.type}': unknown memory type`);
  let s = initialState(t);
  sc.ops.forEach((op, i) => {
    const token = printOp(op);
    const spec = g.ops.get(op.name);
    if (!spec) throw new ScenarioError(`step ${i + 1} '${token}': unknown op`);
    const why = violation(s, op, spec, g, t);
    if (why) throw new ScenarioError(`step ${i + 1} '${token}': ${why}`);
    s = applyOp(s, op, g, token);
  });
}
