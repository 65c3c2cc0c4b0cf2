// "What to explore": which scenario lines a guest runs, and within what bound. The lines are
// data handed to the guest interpreter; nothing here knows how a guest boots.
import type { Grammar } from "./grammar.ts";
import { enumerate, randomScenarios } from "./generate.ts";
import { parseScenario, printScenario } from "./scenario.ts";
import { checkWellFormed } from "./wellformed.ts";
import { globRe } from "../util/glob.ts";
import { InputError } from "../util/result.ts";

export interface ExploreSpec {
  /** scenario lines, run in this order until the budget runs out */
  scenarios: string[];
  /** guest seconds the interpreter may spend on them (the init kills it after that) */
  budgetS: number;
}

export interface SelectOptions {
  /** exhaustive enumeration of 1..depth ops (0: none) */
  depth: number;
  /** random scenarios beyond the depth, from `seed` */
  random?: number;
  seed?: number;
  /** keep only lines matching one of these globs (over the whole line) */
  only?: string[];
}

/**
 * The literal head of each glob (memory, then op tokens up to the first wildcard), so a deep
 * enumeration walks only what the globs can match; undefined when a glob's memory is a wildcard.
 */
export function focusOf(globs: string[]): { memory: string; ops: string[] }[] | undefined {
  if (!globs.length) return undefined;
  const out: { memory: string; ops: string[] }[] = [];
  for (const glob of globs) {
    const [memory = "", ...rest] = glob.split(" | ").map((t) => t.trim());
    if (/[*?]/.test(memory)) return undefined;
    const ops: string[] = [];
    for (const t of rest) {
      if (/[*?]/.test(t)) break;
      ops.push(t);
    }
    out.push({ memory, ops });
  }
  return out;
}

/** The exploration `cowlab run` does by default, and `cowlab explore` without --depth. */
export const DEFAULT_EXPLORATION = { depth: 2, random: 0, seed: 1, budgetS: 60 } as const;

/**
 * The lines for one guest: the exhaustive part first (short scenarios, cheapest first, so a
 * budget that runs out cuts the long tail), then the seeded random ones.
 */
export function selectScenarios(g: Grammar, o: SelectOptions): string[] {
  // An --only without a wildcard is one scenario line, run as it is (checked here, so a
  // typo is a usage error); the others are globs over the enumeration.
  const literal = (o.only ?? []).filter((x) => !/[*?]/.test(x));
  const globs = (o.only ?? []).filter((x) => /[*?]/.test(x));
  const exact = literal.map((l) => {
    try {
      const sc = parseScenario(l, g);
      checkWellFormed(sc, g);
      return printScenario(sc);
    } catch (e) {
      throw new InputError("--only", `'${l}': ${(e as Error).message}`);
    }
  });
  if (literal.length && !globs.length) return [...new Set(exact)];
  o = { ...o, only: globs };
  const lines: string[] = [];
  const focus = focusOf(o.only ?? []);
  for (const s of enumerate(g, o.depth, focus ? { focus } : {})) lines.push(printScenario(s));
  lines.sort((a, b) => a.split(" | ").length - b.split(" | ").length);
  if (o.random) for (const r of randomScenarios(g, o.seed ?? 1, o.random)) lines.push(printScenario(r.scenario));
  const res = (o.only ?? []).map(globRe);
  const kept = res.length ? lines.filter((l) => res.some((re) => re.test(l))) : lines;
  if (res.length && !kept.length) throw new InputError("--only", `'${o.only!.join("', '")}' matches none of the ${lines.length} scenarios`);
  return [...new Set([...exact, ...kept])];
}
