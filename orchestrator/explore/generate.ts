// The generator: every well-formed scenario up to depth K for every memory type, minus the
// ones a pruning rule proves redundant, plus seeded random scenarios beyond K.
//
// Pruning rules (each one is tested in test/explore-generate.test.ts):
//   noop:<rule>    the grammar's `noop_when` says the op changes nothing in this state
//                  (mprotect to the same protection, split of a split region, ...);
//   read-repeat    a read by X right after a read by X: nothing can have changed;
//   reads-commute  consecutive reads are kept in one order only (parent, child, child2, pin):
//                  we assume reads by different actors commute. Physically they may not
//                  (after pageout, whoever reads first swaps the page in), which is the one
//                  place this rule could hide a bug; GenerateOptions.noCommute switches it off;
//   observe-last   a scenario must end with a read or a write: an op nobody observes after
//                  it is the same scenario as its prefix (which is emitted on its own);
//   needs-later    dontfork/dofork/wipeonfork only act on a later fork: without one they are
//                  invisible.
// Child naming is well-formedness, not pruning: fork2 needs fork, so `child` is always the
// first child and child/child2 swaps are never enumerated twice.
import type { Grammar, MemoryType, OpName, ResolvedOp } from "./grammar.ts";
import { ACTORS } from "./grammar.ts";
import { deriveSeed, mulberry32, pick, type Rng } from "./prng.ts";
import { type Memory, type Op, type Scenario, printMemory, printOp } from "./scenario.ts";
import { type WfState, applyOp, initialState, noopRule, violation } from "./wellformed.ts";

export type PruneRule = `noop:${string}` | "read-repeat" | "reads-commute" | "observe-last" | "needs-later";

export interface Candidate {
  op: Op;
  spec: ResolvedOp;
  token: string;
  /** read order for reads-commute (-1 for non-reads) */
  readRank: number;
}

export interface GenerateOptions {
  /** keep reads by different actors in every order (switches reads-commute off) */
  noCommute?: boolean;
  /**
   * emit every kept scenario, prefixes of longer kept ones included (default: only the
   * maximal ones — a scenario's run observes every step of each of its prefixes, the same
   * steps in the same order, so running the prefix as well observes nothing new)
   */
  prefixes?: boolean;
  /**
   * only these memories, and only paths that begin with one of the op-token prefixes given
   * for that memory: a focused deep enumeration (`--only 'thp | fork | *'`) walks the focus,
   * not the million lines around it
   */
  focus?: { memory: string; ops: string[] }[];
}

/** Every memory the generator explores: each type once per size in its `explore` list. */
export function exploredMemories(g: Grammar): Memory[] {
  const out: Memory[] = [];
  for (const [type, t] of Object.entries(g.memory)) {
    const sizes = t.explore ?? (t.sizes ? [t.sizes[0]!] : [undefined]);
    for (const size of sizes) out.push(size === undefined ? { type } : { type, size });
  }
  return out;
}

/** Every op token the grammar can spell (name × args × processes), in grammar order. */
export function candidates(g: Grammar): Candidate[] {
  const out: Candidate[] = [];
  for (const spec of g.ops.values()) {
    for (const arg of spec.args ?? [undefined]) {
      if (spec.name === "pin" && arg !== undefined && g.mechanisms[arg]?.not_explored) continue;
      for (const [i, at] of (spec.at ?? [undefined]).entries()) {
        const op: Op = { name: spec.name };
        if (arg !== undefined) op.arg = arg;
        if (at !== undefined && i > 0) op.at = at;
        const readRank = spec.name === "read" ? (ACTORS as readonly string[]).indexOf(arg ?? "") : -1;
        out.push({ op, spec, token: printOp(op), readRank });
      }
    }
  }
  return out;
}

/** Why `c` must not follow `prev` in state `s`: a well-formedness phrase or a prune rule; null if it may. */
export function rejectNext(s: WfState, prev: Candidate | undefined, c: Candidate, g: Grammar, t: MemoryType, opts: GenerateOptions = {}): string | null {
  const why = violation(s, c.op, c.spec, g, t);
  if (why) return why;
  const noop = noopRule(s, c.op, c.spec, g, c.token);
  if (noop) return `noop:${noop}`;
  if (prev && prev.readRank >= 0 && c.readRank >= 0) {
    if (prev.readRank === c.readRank) return "read-repeat";
    if (!opts.noCommute && c.readRank < prev.readRank) return "reads-commute";
  }
  return null;
}

/** The completion rule a finished op list breaks (observe-last, needs-later), or null. */
export function rejectEnd(path: readonly Candidate[]): PruneRule | null {
  const last = path[path.length - 1];
  if (!last || !last.spec.observes) return "observe-last";
  for (const [i, c] of path.entries()) {
    if (c.spec.needs_later.length && !path.slice(i + 1).some((d) => c.spec.needs_later.includes(d.op.name))) return "needs-later";
  }
  return null;
}

/**
 * Every kept scenario of 1..depth ops for `memory`, depth-first. Calls `emit` with the live
 * path (copy it to keep it): building Scenario objects is left to the caller so counting
 * stays cheap.
 */
export function walk(g: Grammar, memory: Memory, depth: number, emit: (path: readonly Candidate[]) => void, opts: GenerateOptions = {}): void {
  const t = g.memory[memory.type];
  if (!t) throw new Error(`unknown memory type ${memory.type}`);
  const all = candidates(g);
  const path: Candidate[] = [];
  const prefixes = opts.focus?.filter((f) => f.memory === printMemory(memory)).map((f) => f.ops);
  const inFocus = (c: Candidate): boolean => !prefixes || prefixes.some((p) => path.length >= p.length || (p[path.length] === c.token && path.every((q, i) => p[i] === q.token)));
  // pending: the needs_later lists of earlier ops no later op has met yet (needs-later)
  // Returns whether anything was emitted in the subtree: a kept prefix is emitted only when
  // no longer kept scenario contains it (unless opts.prefixes), and then after its subtree.
  const rec = (s: WfState, pending: readonly (readonly OpName[])[]): boolean => {
    const kept = path.length > 0 && path[path.length - 1]!.spec.observes && pending.length === 0;
    if (kept && opts.prefixes) emit(path);
    let below = false;
    if (path.length < depth) {
      for (const c of all) {
        if (!inFocus(c) || rejectNext(s, path[path.length - 1], c, g, t, opts)) continue;
        let next = pending.length ? pending.filter((p) => !p.includes(c.op.name)) : pending;
        if (c.spec.needs_later.length) next = [...next, c.spec.needs_later];
        path.push(c);
        below = rec(applyOp(s, c.op, g, c.token), next) || below;
        path.pop();
      }
    }
    if (kept && !opts.prefixes && !below) emit(path);
    return kept || below;
  };
  rec(initialState(t), []);
}

/** Every kept scenario up to `depth` ops over every explored memory. */
export function* enumerate(g: Grammar, depth: number, opts: GenerateOptions = {}): Generator<Scenario> {
  const memories = opts.focus ? exploredMemories(g).filter((m) => opts.focus!.some((f) => f.memory === printMemory(m))) : exploredMemories(g);
  for (const memory of memories) {
    const batch: Scenario[] = [];
    walk(g, memory, depth, (p) => batch.push({ memory, ops: p.map((c) => c.op) }), opts);
    yield* batch;
  }
}

/** counts[memory][d] = kept scenarios of exactly d ops (index 0 unused). */
export function countByDepth(g: Grammar, depth: number, opts: GenerateOptions = {}): Map<string, number[]> {
  const out = new Map<string, number[]>();
  for (const memory of exploredMemories(g)) {
    const counts = new Array<number>(depth + 1).fill(0);
    walk(g, memory, depth, (p) => counts[p.length]!++, opts);
    out.set(printMemory(memory), counts);
  }
  return out;
}

export interface RandomOptions {
  /** ops per scenario, inclusive; default: beyond the exhaustive depth 4, 5..12 */
  minOps?: number;
  maxOps?: number;
}

/**
 * One random kept scenario, fully determined by `seed`: the memory and each op are drawn
 * from the ops allowed at that point (so it is well-formed and survives the pruning rules).
 */
export function randomScenario(g: Grammar, seed: number, o: RandomOptions = {}): Scenario {
  const min = o.minOps ?? 5;
  const max = Math.max(min, o.maxOps ?? 12);
  const rng: Rng = mulberry32(seed);
  const memories = exploredMemories(g);
  const memory = memories[pick(rng, memories.length)]!;
  const t = g.memory[memory.type]!;
  const all = candidates(g);
  // Draw until the completion rules hold; each attempt continues the same stream, so the
  // result is still a function of the seed alone.
  for (let attempt = 0; attempt < 1000; attempt++) {
    const len = min + pick(rng, max - min + 1);
    const path: Candidate[] = [];
    let s = initialState(t);
    // Past `len`, keep drawing (up to `max`) while the completion rules fail: cheaper than
    // starting over, and still a function of the seed.
    while (path.length < len || (path.length < max && rejectEnd(path))) {
      const ok = all.filter((c) => !rejectNext(s, path[path.length - 1], c, g, t));
      if (!ok.length) break;
      const c = ok[pick(rng, ok.length)]!;
      path.push(c);
      s = applyOp(s, c.op, g, c.token);
    }
    if (path.length >= min && !rejectEnd(path)) return { memory, ops: path.map((c) => c.op) };
  }
  throw new Error(`seed ${seed}: no scenario of ${min}..${max} ops found in 1000 draws`);
}

/** n random scenarios from a run seed; each carries its own seed, which replays it alone. */
export function randomScenarios(g: Grammar, seed: number, n: number, o: RandomOptions = {}): { seed: number; scenario: Scenario }[] {
  return Array.from({ length: n }, (_, i) => {
    const s = deriveSeed(seed, i);
    return { seed: s, scenario: randomScenario(g, s, o) };
  });
}
