// A guest's explore block → one result row per scenario (family `explore`, the scenario line
// as the case id), judged by the model. The raw observations go into the row as well, so the
// differential judgement and the shrinker read facts, not verdicts.
import type { AttemptRow } from "../results/attempts.ts";
import type { Grammar } from "./grammar.ts";
import { parseScenario } from "./scenario.ts";
import { predict } from "./model.ts";
import { judge, type Judgement } from "./judge.ts";
import { parseObservations, ObservationError, type Observations } from "./observations.ts";
import { isKernelLine } from "../qemu/console.ts";
import type { CaseResult, Status } from "../results/schema.ts";
import type { ExploreSpec } from "./selection.ts";
import { EXPLORER_ID } from "../config/testcases.ts";

export const EXPLORE = { testcase: EXPLORER_ID, family: EXPLORER_ID } as const;

/** The interpreter's lines inside the block, without kernel console lines (the interpreter reports those itself). */
export function blockObservations(lines: string[]): Observations[] {
  return parseObservations(lines.filter((l) => !isKernelLine(l)).join("\n"));
}

/** The printed lines of one scenario, as stored in results.json (and re-parsed from there). */
export function observationLines(o: Observations): string[] {
  return [
    ...(o.skipped !== undefined ? [`skip ${o.skipped}`] : []),
    ...o.steps.map((s) => `${s.step} ${s.token} ${s.raw}`),
    ...o.kernel.map((k) => `kernel ${k}`),
    ...(o.complete ? ["end"] : []),
  ];
}

/** Back from a stored row to observations (for the differential judgement and shrinking). */
export function rowObservations(r: CaseResult): Observations {
  const [o] = parseObservations([`scenario ${r.case}`, ...(r.observations ?? [])].join("\n"));
  return o ?? { scenario: r.case, steps: [], kernel: [], complete: false };
}

/** The model's judgement of one scenario's observations; a line the model cannot read is an error. */
export function judgeScenario(g: Grammar, o: Observations): Judgement {
  try {
    const j = judge(predict(parseScenario(o.scenario, g), g), o);
    if (!o.complete && j.verdict === "pass") return { ...j, verdict: "error", error: "the scenario did not finish (no `end`)" };
    return j;
  } catch (e) {
    return { verdict: "error", failures: [], tolerated: [], error: (e as Error).message };
  }
}

const STATUS: Record<Judgement["verdict"], Status> = { pass: "pass", fail: "fail", skip: "skip", error: "error" };

function reasonOf(o: Observations, j: Judgement): string {
  if (j.verdict === "skip") return o.skipped || "skipped";
  if (j.verdict === "error") return j.error ?? "error";
  const tol = j.tolerated.map((f) => `tolerated (${f.caveats.map((c) => c.id).join(", ")}): ${f.message}`);
  return [...j.failures.map((f) => f.message), ...tol].join("\n");
}

export interface ExploreBlock {
  /** console lines between the explore markers */
  lines: string[];
  /** the block ended (the interpreter finished or was killed at the budget) */
  ended: boolean;
  rc: number | undefined;
  ms: number | undefined;
}

/**
 * Rows for every scenario the guest finished; scenarios the budget did not reach get one
 * `skip` row saying how far it got, and a scenario cut off mid-way is dropped (not judged).
 */
export function exploreResults(
  base: Pick<CaseResult, "job" | "kernel" | "arch" | "variant">,
  spec: ExploreSpec,
  block: ExploreBlock | undefined,
  g: Grammar,
): AttemptRow[] {
  const row = (kase: string, status: Status, reason: string, observations?: string[]): AttemptRow => ({
    ...base, testcase: EXPLORE.testcase, case: kase, family: EXPLORE.family, status, duration_ms: null, reason, ...(observations ? { observations } : {}),
  });
  if (!block) return [row("*", "error", "the explorer did not run (no explore block on the console)")];
  let obs: Observations[];
  try {
    obs = blockObservations(block.lines);
  } catch (e) {
    if (e instanceof ObservationError) return [row("*", "error", `the interpreter printed something unreadable: ${e.message}`)];
    throw e;
  }
  const planned = new Set(spec.scenarios);
  const rows: AttemptRow[] = [];
  for (const o of obs.filter((x) => x.complete)) {
    if (!planned.has(o.scenario)) {
      rows.push(row(o.scenario, "error", "the interpreter ran a scenario the host did not plan", observationLines(o)));
      continue;
    }
    const j = judgeScenario(g, o);
    rows.push(row(o.scenario, STATUS[j.verdict], reasonOf(o, j), observationLines(o)));
  }
  const done = rows.length;
  if (done < spec.scenarios.length) {
    const why = block.rc === 137 ? `the ${spec.budgetS} s budget ran out` : !block.ended ? "the guest stopped" : `the interpreter exited ${block.rc}`;
    rows.push(row("*", block.rc === 137 ? "skip" : "error", `${why} after ${done} of ${spec.scenarios.length} scenarios`));
  }
  return rows;
}
