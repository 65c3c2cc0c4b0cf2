// The report's exploration section: per-job counts, failures per invariant, the minimized
// reproducers (with their C files), the failing scenarios and divergences across jobs
// (model-silent ones first). Thousands of passing rows are counted, never listed: the
// matrix's explore group holds them, folded.
import type { JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import { analyse, exploreRows } from "../orchestrator/explore/analysis.ts";
import { EXPLORE } from "../orchestrator/explore/verdicts.ts";
import { badge, consoleHref, esc, guestConsole, runPath, section, verdictLabel, type ReportInputs } from "./render-util.ts";

/** How many scenarios of a long list the page shows (the rest are in results.json). */
const SHOWN = 200;

const more = (n: number): string => (n > SHOWN ? `<p class="meta">… and ${n - SHOWN} more in results.json</p>` : "");

function failing(data: JudgedRun, byJob: Map<string, JudgedKernel>, inputs: ReportInputs): string {
  const bad = data.results.map((r, i) => ({ r, i })).filter(({ r }) => r.family === EXPLORE.family && r.case !== "*" && (r.status === "fail" || r.status === "error" || r.status === "flaky"));
  if (!bad.length) return "<p>No scenario failed.</p>";
  return (
    bad
      .slice(0, SHOWN)
      .map(({ r, i }) => {
        const href = consoleHref(inputs, guestConsole(byJob.get(r.job), r.attempts[0]?.guest ?? 1), r.testcase, r.case);
        return `<details class="item" data-fi="${i}"><summary>${badge(verdictLabel(r))} ${esc(r.job)} · <code>${esc(r.case)}</code></summary><pre>${esc(r.reason)}${r.expected ? `\n\nknown issue: ${esc(r.expected.reason)}` : ""}\n\nobserved:\n${esc((r.observations ?? []).join("\n"))}</pre><p class="links">${href ? `<a class="cl" href="${esc(href)}">console line</a> · ` : ""}<button class="more" data-open="${i}">details…</button></p></details>`;
      })
      .join("\n") + more(bad.length)
  );
}

function minimized(data: JudgedRun, inputs: ReportInputs): string {
  const mins = data.explore?.minimized ?? [];
  if (!mins.length) return "<p>None (nothing to shrink, or --no-shrink).</p>";
  const rows = mins.map((m) => {
    const file = m.file ? (inputs.files === undefined || inputs.files.has(m.file) ? `<a class="repro" href="${esc(runPath(inputs, m.file))}">${esc(m.file)}</a>` : `<code>${esc(m.file)}</code> <span class="meta">(not in this folder)</span>`) : "no file";
    const shrunk = m.minimal !== m.original;
    return `<div class="min"><p><code class="scn">${esc(m.minimal)}</code> — ${esc(m.why)}</p>
<p class="meta">${shrunk ? `from <code>${esc(m.original)}</code>` : "already minimal"} · ${m.rounds} round(s), ${m.tried} candidates run · jobs: ${m.jobs.map(esc).join(", ")} · reproducer: ${file} <span class="meta">(gcc -static FILE)</span></p>
<details><summary>observations</summary><pre>${esc(Object.entries(m.observations).map(([j, l]) => `${j}:\n  ${l.join("\n  ")}`).join("\n"))}</pre></details></div>`;
  });
  return rows.join("\n");
}

export function exploreSection(data: JudgedRun, byJob: Map<string, JudgedKernel>, inputs: ReportInputs): string {
  const rows = exploreRows(data.results);
  if (!rows.length && !data.explore) return "";
  const a = analyse(data.results);
  const jobs = a.jobs
    .map((j) => `<tr><td>${esc(j.job)}</td><td class="num">${j.run}</td><td class="num">${j.pass}</td><td class="num${j.fail ? " v-fail" : ""}">${j.fail}</td><td class="num">${j.expected}</td><td class="num">${j.skip}</td><td class="num${j.error ? " v-error" : ""}">${j.error}</td></tr>`)
    .join("\n");
  const budget = data.results.filter((r) => r.family === EXPLORE.family && r.case === "*").map((r) => `<li>${esc(r.job)}: ${esc(r.reason)}</li>`);
  const invs = Object.entries(a.invariants).map(([inv, by]) => `<li><b>${esc(inv)}</b>: ${Object.entries(by).map(([j, n]) => `${esc(j)} ${n}`).join(", ")}</li>`);
  const divs = [...a.divergent].sort((x, y) => Number(y.modelSilent) - Number(x.modelSilent));
  const divHtml = divs
    .slice(0, SHOWN)
    .map((d) => `<details class="div"><summary>${d.modelSilent ? "<b>model-silent</b> " : ""}<code>${esc(d.scenario)}</code></summary><pre>${esc(d.divergences.map((v) => `step ${v.step} ${v.token || "(kernel log)"}: ${Object.entries(v.outcomes).map(([o, js]) => `${o} on ${js.join(", ")}`).join("; ")}`).join("\n"))}</pre></details>`)
    .join("\n");
  return section(
    "explore",
    "Exploration",
    `<table class="tbl"><tr><th>job</th><th>scenarios</th><th>pass</th><th>fail</th><th>known</th><th>skip</th><th>error</th></tr>${jobs}</table>
${budget.length ? `<ul class="meta">${budget.join("")}</ul>` : ""}
<h3>Minimized reproducers</h3>${minimized(data, inputs)}
<h3>Failures per invariant</h3>${invs.length ? `<ul>${invs.join("")}</ul>` : "<p>None.</p>"}
<h3>Failing scenarios</h3>${failing(data, byJob, inputs)}
<h3>Divergences across jobs</h3><p class="meta">${a.divergent.length} scenario(s) whose observations differ between jobs; <b>model-silent</b>: every job passes the model, only the comparison sees it.</p>${divHtml}${more(divs.length)}`,
    "Generated scenarios (testcases/explore/grammar.yaml) judged by the model of what Linux promises (orchestrator/explore/model.ts) and compared across every job of the run. Every scenario is also in the matrix's <i>explore</i> group (folded).",
  );
}
