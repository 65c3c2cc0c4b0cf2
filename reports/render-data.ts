// The facts the page's script needs (filters, the cell detail panel), embedded as JSON in the
// page: one entry per result, by its index in results.json, with its links already resolved.
// Passing single-attempt rows carry no attempts (the panel says "1 attempt, pass").
import type { JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import { bundleOf, consoleHref, guestConsole, reportHref, verdictLabel, type ReportInputs } from "./render-util.ts";

export interface ClientAttempt {
  v: string;
  ms: number | null;
  r: string;
  g: number;
  /** kernel report title that made it a crash */
  k?: string;
  /** its console line */
  h?: string;
}
export interface ClientCase {
  /** column (matrix order) */
  j: number;
  t: string;
  c: string;
  f: string;
  v: string;
  ms: number | null;
  r: string;
  /** known issue that predicts it */
  x?: string;
  a?: ClientAttempt[];
  /** console line of the first attempt */
  h?: string;
  /** bundle file, or the command that makes it */
  b?: string;
  bc?: string;
  o?: string[];
}
export interface ClientData {
  jobs: { job: string; kernel: string; arch: string; variant: string }[];
  cases: ClientCase[];
}

export function clientData(data: JudgedRun, kernels: JudgedKernel[], inputs: ReportInputs): ClientData {
  const column = new Map(kernels.map((k, j) => [k.job, j]));
  const byJob = new Map(kernels.map((k) => [k.job, k]));
  const cases = data.results.map((r): ClientCase => {
    const k = byJob.get(r.job);
    const v = verdictLabel(r);
    const plain = v === "pass" && r.attempts.length === 1;
    const link = (guest: number): string | undefined => consoleHref(inputs, guestConsole(k, guest), r.testcase, r.case);
    const out: ClientCase = { j: column.get(r.job) ?? -1, t: r.testcase, c: r.case, f: r.family, v, ms: r.duration_ms, r: r.reason };
    if (r.expected) out.x = `${r.expected.reason}${r.expected.fixed_in ? ` (fixed in ${r.expected.fixed_in})` : ""}`;
    const h = link(r.attempts[0]?.guest ?? 1);
    if (h) out.h = h;
    if (!plain) {
      out.a = r.attempts.map((a) => {
        const ah = a.report ? reportHref(inputs, guestConsole(k, a.guest), a.report) : link(a.guest);
        return { v: a.status, ms: a.duration_ms, r: a.reason, g: a.guest, ...(a.report ? { k: a.report } : {}), ...(ah ? { h: ah } : {}) };
      });
    }
    if (v !== "pass" && v !== "skip") {
      const b = bundleOf(inputs, r);
      if ("href" in b) out.b = b.href;
      else out.bc = b.command;
      if (r.observations?.length) out.o = r.observations;
    }
    return out;
  });
  return { jobs: kernels.map((k) => ({ job: k.job, kernel: k.kernel_spec, arch: k.arch, variant: k.variant })), cases };
}

/** JSON that is safe inside a <script> element: no `</script>`, no `<!--`. */
export const scriptJson = (x: unknown): string => JSON.stringify(x).replace(/</g, "\\u003c").replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029");
