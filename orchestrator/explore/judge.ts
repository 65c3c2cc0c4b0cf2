// Two judgements of a scenario's observations: against the model (which promise broke, per
// step) and across runs (kernels, arches, variants) where the model may have no opinion,
// e.g. an op that returns EBUSY on one kernel and succeeds on another.
import type { InvariantId } from "./invariants.ts";
import type { Caveat } from "./invariants.ts";
import type { Model, Outcome, Prediction, Version } from "./model.ts";
import type { Observations } from "./observations.ts";

export interface Finding {
  step: number;
  token: string;
  invariant: InvariantId;
  expected: Outcome[];
  observed: string;
  caveats: Caveat[];
  message: string;
}

export interface Judgement {
  verdict: "pass" | "fail" | "skip" | "error";
  /** broken promises */
  failures: Finding[];
  /** deviations Linux documents as not promised (each carries its caveat and reference) */
  tolerated: Finding[];
  /** why the verdict is error (the interpreter ran something else or stopped early) */
  error?: string;
}

/**
 * The invariant a wrong observation breaks. The prediction names the promise it rests on; a
 * process that sees another process's write is a fork-isolation leak whatever else was in play.
 */
function blame(p: Prediction, observed: Outcome, model: Model): InvariantId {
  if (p.kind !== "read" || p.token === "read:pin") return p.invariant;
  const reader = p.token.slice("read:".length);
  const writer = model.writers.get(observed as Version);
  if (writer !== undefined && writer.owner !== reader) return "fork-isolation";
  return p.invariant;
}

export function judge(model: Model, obs: Observations): Judgement {
  if (obs.skipped !== undefined) return { verdict: "skip", failures: [], tolerated: [] };
  const failures: Finding[] = [];
  const tolerated: Finding[] = [];
  const byStep = new Map(obs.steps.map((s) => [s.step, s]));
  let stopped = false;
  for (const p of model.predictions) {
    const o = byStep.get(p.step);
    if (!o) {
      if (stopped) break;
      return { verdict: "error", failures, tolerated, error: `step ${p.step} '${p.token}': no observation (interpreter stopped early)` };
    }
    if (o.token !== p.token) return { verdict: "error", failures, tolerated, error: `step ${p.step}: interpreter ran '${o.token}', the scenario says '${p.token}'` };
    if (o.outcome === "timeout") {
      failures.push({ step: p.step, token: p.token, invariant: "bounded", expected: p.accept, observed: o.raw, caveats: [], message: `step ${p.step} '${p.token}' did not return within its bound (bounded)` });
      stopped = true;
      continue;
    }
    // Ops print `ok` or a return value; both mean the op returned.
    const outcome: Outcome = p.kind === "op" && o.outcome === "ok" ? "done" : o.outcome;
    if (p.accept.includes(outcome)) continue;
    const invariant = blame(p, outcome, model);
    const f: Finding = {
      step: p.step, token: p.token, invariant, expected: p.accept, observed: o.raw, caveats: p.caveats,
      message: `step ${p.step} '${p.token}': expected ${p.accept.join(" or ")}, saw ${o.raw} (${invariant})`,
    };
    if (p.tolerated === "any" || p.tolerated?.includes(outcome)) tolerated.push(f);
    else failures.push(f);
  }
  for (const line of obs.kernel) {
    failures.push({ step: 0, token: "", invariant: "kernel-quiet", expected: [], observed: line, caveats: [], message: `kernel reported: ${line}` });
  }
  return { verdict: failures.length ? "fail" : "pass", failures, tolerated };
}

export interface Run {
  /** e.g. "6.12/base/arm64" */
  label: string;
  observations: Observations;
}

export interface Divergence {
  step: number;
  token: string;
  /** printed outcome → labels of the runs that saw it */
  outcomes: Record<string, string[]>;
}

/**
 * Steps where runs of one scenario saw different things, compared by the printed outcome (so
 * err:EBUSY differs from ok). Skipped runs have nothing to compare; a missing step is
 * "missing". Step 0 lists runs whose kernel said something against runs where it was quiet.
 */
export function diverge(runs: Run[]): Divergence[] {
  const live = runs.filter((r) => r.observations.skipped === undefined);
  if (live.length < 2) return [];
  const steps = new Map<number, string>();
  for (const r of live) for (const s of r.observations.steps) if (!steps.has(s.step)) steps.set(s.step, s.token);
  const out: Divergence[] = [];
  const kernel: Record<string, string[]> = {};
  for (const r of live) (kernel[r.observations.kernel.length ? "kernel-report" : "quiet"] ??= []).push(r.label);
  if (Object.keys(kernel).length > 1) out.push({ step: 0, token: "", outcomes: kernel });
  for (const [step, token] of [...steps].sort((a, b) => a[0] - b[0])) {
    const outcomes: Record<string, string[]> = {};
    for (const r of live) {
      const s = r.observations.steps.find((x) => x.step === step);
      (outcomes[s?.raw ?? "missing"] ??= []).push(r.label);
    }
    if (Object.keys(outcomes).length > 1) out.push({ step, token, outcomes });
  }
  return out;
}
