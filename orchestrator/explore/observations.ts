// The observation format the guest interpreter prints (README.md, "Observation format"),
// parsed into typed steps. Kept apart from the judge so the C side and the TS side share one
// small, testable contract.
import type { Outcome } from "./model.ts";

export interface StepObservation {
  step: number;
  token: string;
  outcome: Outcome;
  /** the outcome as printed (fault:SIGBUS, err:EBUSY, mixed@4096): the differential judge compares this */
  raw: string;
}

export interface Observations {
  scenario: string;
  steps: StepObservation[];
  /** the interpreter could not set the scenario up (no gup_test, pin failed, ...): no verdict */
  skipped?: string;
  /** kernel log lines that appeared while the scenario ran */
  kernel: string[];
  /** an `end` line was printed: the interpreter finished this scenario */
  complete: boolean;
}

export class ObservationError extends Error {}

/** Read one outcome word. Unknown words are errors: a typo in C must not pass as a verdict. */
export function parseOutcome(raw: string): Outcome {
  if (raw === "init" || raw === "zero" || raw === "ok" || raw === "timeout") return raw;
  if (/^w[1-9][0-9]*$/.test(raw)) return raw as `w${number}`;
  if (/^mixed@[0-9]+$/.test(raw)) return "mixed";
  if (/^fault:[A-Z0-9]+$/.test(raw)) return "fault";
  if (raw === "ret" || /^ret:-?[0-9]+$/.test(raw) || /^err:[A-Z0-9]+$/.test(raw)) return "done";
  throw new ObservationError(`unknown outcome '${raw}'`);
}

/** Parse the block of one scenario (from `scenario LINE` to `end`); lines outside it are ignored. */
export function parseObservations(text: string): Observations[] {
  const out: Observations[] = [];
  let cur: Observations | null = null;
  for (const [n, line] of text.split("\n").entries()) {
    const where = `line ${n + 1}`;
    const [head = "", ...rest] = line.trim().split(" ");
    if (head === "scenario") {
      cur = { scenario: rest.join(" "), steps: [], kernel: [], complete: false };
      out.push(cur);
      continue;
    }
    if (!cur || cur.complete) continue;
    if (head === "end") cur.complete = true;
    else if (head === "skip") cur.skipped = rest.join(" ");
    else if (head === "kernel") cur.kernel.push(rest.join(" "));
    else if (/^[1-9][0-9]*$/.test(head)) {
      const [token, raw] = rest;
      if (token === undefined || raw === undefined || rest.length !== 2) throw new ObservationError(`${where}: expected 'STEP TOKEN OUTCOME', got '${line.trim()}'`);
      try {
        cur.steps.push({ step: Number(head), token, outcome: parseOutcome(raw), raw });
      } catch (e) {
        throw new ObservationError(`${where}: ${(e as Error).message}`);
      }
    } else if (line.trim() !== "") throw new ObservationError(`${where}: unexpected '${line.trim()}'`);
  }
  return out;
}
