// Shrinking (issue 9, part 5): a failing or divergent scenario is cut down to one that still
// shows the same problem, by rerunning smaller candidates in the guests. Candidates are pure
// (this file); running them is the caller's `execute`, so the loop is unit-tested with a fake
// guest and driven by real ones in `cowlab explore`.
import type { Grammar } from "./grammar.ts";
import { checkWellFormed } from "./wellformed.ts";
import { parseMemory, parseScenario, printScenario, type Scenario } from "./scenario.ts";
import type { Observations } from "./observations.ts";

const wellFormed = (sc: Scenario, g: Grammar): boolean => {
  try {
    checkWellFormed(sc, g);
    return true;
  } catch {
    return false;
  }
};

/** The scenario still ends in an observation (a read or a write): otherwise nothing is judged. */
const observes = (sc: Scenario, g: Grammar): boolean => sc.ops.length > 0 && !!g.ops.get(sc.ops[sc.ops.length - 1]!.name)?.observes;

/**
 * Smaller candidates, most aggressive first: drop each pair of adjacent steps, then each single
 * step, then the same ops on each simpler memory type (grammar `simpler`). Only well-formed
 * candidates that still end in an observation are offered.
 */
export function shrinkCandidates(sc: Scenario, g: Grammar): Scenario[] {
  const out: Scenario[] = [];
  const seen = new Set<string>([printScenario(sc)]);
  const offer = (c: Scenario): void => {
    const line = printScenario(c);
    if (seen.has(line) || !observes(c, g) || !wellFormed(c, g)) return;
    seen.add(line);
    out.push(c);
  };
  const n = sc.ops.length;
  for (let i = 0; i + 1 < n; i++) offer({ memory: sc.memory, ops: [...sc.ops.slice(0, i), ...sc.ops.slice(i + 2)] });
  for (let i = 0; i < n; i++) offer({ memory: sc.memory, ops: [...sc.ops.slice(0, i), ...sc.ops.slice(i + 1)] });
  for (const m of g.memory[sc.memory.type]?.simpler ?? []) offer({ memory: parseMemory(m, g), ops: sc.ops });
  return out;
}

/** One thing to shrink: a scenario and the question its smaller versions must still answer yes to. */
export interface ShrinkTarget {
  scenario: string;
  /** the jobs (kernel/variant/arch) whose guests decide */
  jobs: string[];
  /** does a candidate, observed on those jobs, still show the problem? */
  interesting: (obs: Map<string, Observations>) => boolean;
}

export interface Shrunk {
  original: string;
  minimal: string;
  /** the minimal scenario's observations per job */
  observations: Map<string, Observations>;
  rounds: number;
  tried: number;
}

/** Run lines on jobs: job → line → what the guest printed (a line missing: not reached). */
export type Execute = (work: Map<string, string[]>) => Promise<Map<string, Map<string, Observations>>>;

/**
 * Greedy delta debugging over all targets at once: each round runs every target's untried
 * candidates in one guest per job, and moves each target to its first candidate that is still
 * interesting. A target whose candidates are all boring is minimal.
 */
export async function shrinkAll(targets: ShrinkTarget[], g: Grammar, execute: Execute, maxRounds = 12): Promise<Shrunk[]> {
  const state = targets.map((t) => ({ t, current: t.scenario, obs: new Map<string, Observations>(), done: false, rounds: 0, tried: 0, seen: new Set<string>([t.scenario]) }));
  for (let round = 1; round <= maxRounds && state.some((s) => !s.done); round++) {
    const work = new Map<string, string[]>();
    const offered = new Map<(typeof state)[number], string[]>();
    for (const s of state.filter((x) => !x.done)) {
      const lines = shrinkCandidates(parseScenario(s.current, g), g).map(printScenario).filter((l) => !s.seen.has(l));
      if (!lines.length) {
        s.done = true;
        continue;
      }
      offered.set(s, lines);
      for (const l of lines) s.seen.add(l);
      for (const j of s.t.jobs) work.set(j, [...new Set([...(work.get(j) ?? []), ...lines])]);
    }
    if (!offered.size) break;
    const seen = await execute(work);
    for (const [s, lines] of offered) {
      s.rounds = round;
      s.tried += lines.length;
      const hit = lines.find((l) => {
        const obs = new Map(s.t.jobs.flatMap((j) => { const o = seen.get(j)?.get(l); return o ? [[j, o] as const] : []; }));
        if (obs.size !== s.t.jobs.length || !s.t.interesting(obs)) return false;
        s.obs = obs;
        return true;
      });
      if (hit) s.current = hit;
      else s.done = true;
    }
  }
  return state.map((s) => ({ original: s.t.scenario, minimal: s.current, observations: s.obs, rounds: s.rounds, tried: s.tried }));
}
