// The markdown summary of a judged run for a CI page (GitHub's $GITHUB_STEP_SUMMARY, written
// by `cowlab merge`): the verdict first, counts per verdict, jobs × verdicts, then what needs a
// human — regressions with their reasons, flakes, the lab's own errors — and where the full
// report is. Pure: judged run in, markdown out.
import { caseId, passRate } from "../results/attempts.ts";
import { isRegression, type JudgedCase, type JudgedKernel, type JudgedRun } from "../results/policy.ts";
import { isLabJobStatus } from "../results/schema.ts";
import { EXIT, exitCodeFor, verdictLabel } from "../results/verdict.ts";

export interface SummaryOptions {
  /** what produced the run, for the heading (e.g. "cowlab merge") */
  title: string;
  /** the report's path as the reader will find it (e.g. "report/index.html" in the `report` artifact) */
  reportPath: string;
  /** the CI run's page, whose artifacts hold the report */
  runUrl?: string;
  /** most lines per list: GitHub caps a step summary at 1 MiB, and nobody reads line 500 */
  maxLines?: number;
}

/** Verdict columns in the order a reader scans them: trouble first. */
const COLUMNS = ["crash", "timeout", "fail", "error", "flaky", "expected-fail", "expected-flaky", "skip", "pass"] as const;
type Column = (typeof COLUMNS)[number];

const column = (r: JudgedCase): Column => verdictLabel(r) as Column;


/**
 * Text from kernels and harnesses in markdown: its first line, control characters dropped, and
 * the characters markdown (and GitHub's HTML sanitizer) would act on escaped, so a `|` keeps a
 * table intact and `<pid>` is not swallowed as a tag.
 */
export const mdText = (s: string): string =>
  s
    .split("\n")[0]!
    .replace(/[\u0000-\u001f\u007f]/g, "")
    .replace(/[\\`*_[\]|<>#~]/g, "\\$&");

/** A code span that survives backticks inside it. */
const code = (s: string): string => (s.includes("`") ? `\`\` ${s} \`\`` : `\`${s}\``);

function capped<T>(items: T[], max: number, line: (t: T) => string): string[] {
  const lines = items.slice(0, max).map(line);
  if (items.length > max) lines.push(`- … and ${items.length - max} more (see the report)`);
  return lines;
}

function counts(rs: JudgedCase[]): Map<Column, number> {
  const m = new Map<Column, number>();
  for (const r of rs) m.set(column(r), (m.get(column(r)) ?? 0) + 1);
  return m;
}

export function stepSummary(run: JudgedRun, o: SummaryOptions): string {
  const max = o.maxLines ?? 50;
  const regressions = run.results.filter(isRegression);
  const flaky = run.results.filter((r) => r.status === "flaky");
  const labJobs = run.kernels.filter((k) => isLabJobStatus(k.status));
  const labJobIds = new Set(labJobs.map((k) => k.job));
  // error rows of a job that never ran are said once, on the job
  const errors = run.results.filter((r) => r.status === "error" && !labJobIds.has(r.job));
  const exit = exitCodeFor(run);
  const verdict =
    exit === EXIT.kernelFailed
      ? `❌ ${regressions.length} regression${regressions.length === 1 ? "" : "s"}`
      : exit === EXIT.usage
        ? `⚠️ the lab failed part of the run${run.run.complete ? "" : " (run incomplete)"}`
        : "✅ no regressions";

  const total = counts(run.results);
  const present = COLUMNS.filter((c) => total.has(c));
  const out: string[] = [];
  out.push(`### ${o.title}: ${verdict}`, "");
  out.push(`Run \`${run.run.id}\`: ${run.kernels.length} jobs, ${run.results.length} cases — ${present.map((c) => `${total.get(c)} ${c}`).join(", ") || "no cases"}.`, "");

  if (run.kernels.length || run.results.length) {
    const jobs = [...new Set([...run.kernels.map((k) => k.job), ...run.results.map((r) => r.job)])];
    out.push(`| job | kernel | job status | ${present.join(" | ")} |`, `|---|---|---|${present.map(() => "---:").join("|")}|`);
    for (const job of jobs) {
      const k: JudgedKernel | undefined = run.kernels.find((x) => x.job === job);
      const c = counts(run.results.filter((r) => r.job === job));
      out.push(`| ${mdText(job)} | ${mdText(k?.release ?? k?.version ?? "")} | ${k ? (k.status === "ok" ? "ok" : `**${k.status}**`) : ""} | ${present.map((p) => (c.get(p) ? String(c.get(p)) : "")).join(" | ")} |`);
    }
    out.push("");
  }

  if (regressions.length) {
    out.push(`#### Regressions (${regressions.length})`, "");
    out.push(...capped(regressions, max, (r) => `- ${code(caseId(r))}: **${r.status}** — ${mdText(r.reason) || "(no reason given)"}`), "");
  }
  if (flaky.length) {
    out.push(`#### Flaky (${flaky.length}) — passed only sometimes; not regressions`, "");
    out.push(...capped(flaky, max, (r) => `- ${code(caseId(r))}: passed ${Math.round(passRate(r) * 100)}% of ${r.attempts.length} attempts${r.expected ? " (a known issue predicts it)" : ""}`), "");
  }
  if (labJobs.length || errors.length) {
    out.push(`#### Infrastructure errors — the lab's, not the kernel's`, "");
    out.push(...capped(labJobs, max, (k) => `- job ${code(k.job)}: **${k.status}** — ${mdText(k.reason)}`));
    out.push(...capped(errors, max, (r) => `- ${code(caseId(r))}: error — ${mdText(r.reason)}`), "");
  }
  out.push(`Full report: ${code(o.reportPath)}${o.runUrl ? ` in the [run's artifacts](${o.runUrl}#artifacts)` : ""} (the consoles and \`rerun.sh\` of every guest are beside it).`, "");
  return out.join("\n");
}

/** The page of the GitHub Actions run that is running us (its artifacts hold the report), from the variables every step gets. */
export function githubRunUrl(env: Record<string, string | undefined>): string | undefined {
  const { GITHUB_SERVER_URL: server, GITHUB_REPOSITORY: repo, GITHUB_RUN_ID: id } = env;
  return server && repo && id ? `${server}/${repo}/actions/runs/${id}` : undefined;
}
