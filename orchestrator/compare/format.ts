// The human text of a run comparison: counts first, then one group per kind of change, one
// line per case: `JOB TESTCASE/CASE: pass → fail (reason)`. Pure: diff in, text out.
import type { CaseChange, CaseSide, RunDiff } from "./diff.ts";
import { verdictLabel } from "../results/verdict.ts";

const firstLine = (s: string): string => s.split("\n")[0]!.trim();

const verdict = (s: CaseSide | null): string => (s ? verdictLabel(s) : "absent");

/** The reason worth printing: the after side's for a change into trouble, the before side's for a fix or a vanished case. */
function why(c: CaseChange, kind: Group): string {
  const b = c.before;
  const a = c.after;
  if (kind === "skip_reasons") return `${firstLine(b!.reason)} ⇒ ${firstLine(a!.reason)}`;
  const parts: string[] = [];
  const main = kind === "fixes" || kind === "missing" ? b : (a ?? b);
  if (main?.reason) parts.push(firstLine(main.reason));
  if (main?.stand_in) parts.push(`the whole testcase was ${main.status}`);
  if (kind === "expected" && a?.expected) parts.push(`known issue: ${firstLine(a.expected)}`);
  if (kind === "fixes" && b?.expected) parts.push(`was a known issue: ${firstLine(b.expected)}`);
  return parts.join("; ");
}

export function changeLine(c: CaseChange, kind: Group): string {
  // a job paired across variant names is named once, in the `paired ... with ...` line above
  const reason = why(c, kind);
  return `${c.job} ${c.testcase}/${c.case}: ${verdict(c.before)} → ${verdict(c.after)}${reason ? ` (${reason})` : ""}`;
}

type Group = "regressions" | "missing" | "expected" | "fixes" | "new" | "changed" | "skip_reasons" | "infra";

const TITLES: Record<Exclude<Group, "infra">, string> = {
  regressions: "regressions (failed after, did not fail before)",
  missing: "missing (in the before run, not in the after run)",
  expected: "expected failures (began failing as a manifest known issue predicts; not regressions)",
  fixes: "fixes",
  new: "new cases",
  changed: "other changes",
  skip_reasons: "changed skip reasons",
};

/** Counts first, then the groups in order of urgency; empty groups are left out. */
export function formatDiff(d: RunDiff, files: { before: string; after: string }): string {
  const s = d.summary;
  const out: string[] = [];
  out.push(
    `${s.regressions} regressions, ${s.missing} missing, ${s.expected} expected failures, ${s.fixes} fixes, ${s.new} new, ${s.changed} other changes, ${s.skip_reasons} changed skip reasons, ${s.infra} infrastructure; ${s.unchanged} of ${s.compared} compared cases unchanged`,
  );
  out.push(`before: ${files.before} (run ${d.before.id}${d.before.complete ? "" : ", incomplete"})`);
  out.push(`after:  ${files.after} (run ${d.after.id}${d.after.complete ? "" : ", incomplete"})`);
  for (const p of d.pairs) {
    if (p.rule === "one-per-kernel-arch") out.push(`paired ${p.before} with ${p.after} (the one job of that kernel and arch on each side)`);
    else if (!p.rule) out.push(p.before ? `job ${p.before} has no counterpart after: its cases are missing` : `job ${p.after} has no counterpart before: its cases are new`);
  }
  // The cases of a job with no counterpart are one line per job (all of them are missing or
  // new); --json still lists each.
  const alone = new Set(d.pairs.filter((p) => !p.rule).map((p) => (p.before ?? p.after)!));
  for (const g of Object.keys(TITLES) as (keyof typeof TITLES)[]) {
    const list = d[g];
    if (!list.length) continue;
    out.push("", `${TITLES[g]}: ${list.length}`);
    const perJob = new Map<string, number>();
    for (const c of list) {
      if (alone.has(c.job)) perJob.set(c.job, (perJob.get(c.job) ?? 0) + 1);
      else out.push(`  ${changeLine(c, g)}`);
    }
    for (const [job, n] of perJob) out.push(`  ${job}: all its ${n} cases (no counterpart job)`);
  }
  if (s.infra) {
    out.push("", `infrastructure (the lab's errors, not the kernel's): ${s.infra}`);
    for (const j of d.infra.jobs) out.push(`  ${j.job} (${j.side}): ${j.status}: ${j.reason}${j.cases ? `; ${j.cases} cases not compared` : ""}`);
    for (const c of d.infra.cases) out.push(`  ${changeLine(c, "infra")}`);
  }
  return out.join("\n") + "\n";
}
