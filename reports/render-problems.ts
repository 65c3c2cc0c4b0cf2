// The cases worth a look, listed (failures, crashes, timeouts, errors, flaky and expected
// failures), each with its reason, its console line and its replay bundle; and the skips,
// counted by reason.
import type { JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import { EXPLORE } from "../orchestrator/explore/verdicts.ts";
import { passRate } from "../orchestrator/results/attempts.ts";
import { badge, bundleOf, consoleHref, esc, guestConsole, labelRank, section, verdictLabel, type ReportInputs } from "./render-util.ts";

export function problemsSection(data: JudgedRun, byJob: Map<string, JudgedKernel>, inputs: ReportInputs): string {
  const rows = data.results
    .map((r, i) => ({ r, i, l: verdictLabel(r) }))
    .filter(({ r, l }) => r.family !== EXPLORE.family && l !== "pass" && l !== "skip")
    .sort((a, b) => labelRank(a.l) - labelRank(b.l));
  const items = rows.map(({ r, i, l }) => {
    const href = consoleHref(inputs, guestConsole(byJob.get(r.job), r.attempts[0]?.guest ?? 1), r.testcase, r.case);
    const b = bundleOf(inputs, r);
    const rate = r.status === "flaky" ? ` ${Math.round(passRate(r) * 100)}% passed` : "";
    const links = [
      href ? `<a class="cl" href="${esc(href)}">console line</a>` : "",
      "href" in b ? `<a class="bl" href="${esc(b.href)}">replay bundle</a>` : `bundle: <code class="cmd">${esc(b.command)}</code>`,
      `<button class="more" data-open="${i}">attempts…</button>`,
    ].filter(Boolean);
    return `<details class="item" data-fi="${i}"><summary>${badge(l, l + rate)} <b>${esc(r.job)}</b> · ${esc(r.testcase)} / ${esc(r.case)}${r.expected?.fixed_in ? ` <span class="meta">fixed in ${esc(r.expected.fixed_in)}</span>` : ""}</summary>
<pre>${esc(r.reason)}${r.expected ? `\n\nknown issue: ${esc(r.expected.reason)}` : ""}</pre><p class="links">${links.join(" · ")}</p></details>`;
  });
  return section("problems", "Failures, crashes, timeouts and errors", rows.length ? items.join("\n") : "<p>No failures.</p>", `${rows.length} case(s) of the testcases (the explorer's are in its section), worst first.`);
}

export function skipsSection(data: JudgedRun): string {
  const reasons = new Map<string, string[]>();
  for (const r of data.results.filter((x) => x.status === "skip")) {
    const list = reasons.get(r.reason) ?? [];
    list.push(`${r.job} ${r.testcase}/${r.case}`);
    reasons.set(r.reason, list);
  }
  // Explorer skips come by the thousand with one reason: list a few of each.
  const body = [...reasons]
    .sort((a, b) => b[1].length - a[1].length)
    .map(([why, where]) => `<details><summary>${where.length} × ${esc(why || "(no reason)")}</summary><pre>${esc(where.slice(0, 50).join("\n"))}${where.length > 50 ? `\n… ${where.length - 50} more` : ""}</pre></details>`);
  return section("skips", "Skips and why", body.length ? body.join("\n") : "<p>No skips.</p>");
}
