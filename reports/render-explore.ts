// The report's exploration section: per-job counts, failures per invariant, the failing
// scenarios, divergences across runs (model-silent ones first) and the minimized reproducers.
// Thousands of passing rows are counted, never listed.
import type { JudgedCase, JudgedRun } from "../orchestrator/results/policy.ts";
import { analyse, exploreRows } from "../orchestrator/explore/analysis.ts";

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** How many scenarios of a long list the page shows (the rest are in results.json). */
const SHOWN = 200;

const more = (n: number): string => (n > SHOWN ? `<p class="meta">… and ${n - SHOWN} more in results.json</p>` : "");

function failing(rows: JudgedCase[]): string {
  const bad = rows.filter((r) => r.status === "fail" || r.status === "error");
  if (!bad.length) return "<p>No scenario failed.</p>";
  return (
    bad
      .slice(0, SHOWN)
      .map((r) => {
        const label = r.status === "fail" && r.expected ? "expected fail" : r.status;
        return `<details><summary><span class="${r.expected ? "fail expected" : r.status}">${esc(label)}</span> ${esc(r.job)} · <code>${esc(r.case)}</code></summary><pre>${esc(r.reason)}${r.expected ? `\n\nknown issue: ${esc(r.expected.reason)}` : ""}\n\nobserved:\n${esc((r.observations ?? []).join("\n"))}</pre></details>`;
      })
      .join("\n") + more(bad.length)
  );
}

export function explorationSection(data: JudgedRun): string {
  const rows = exploreRows(data.results);
  if (!rows.length && !data.explore) return "";
  const a = analyse(data.results);
  const jobs = a.jobs
    .map((j) => `<tr><td>${esc(j.job)}</td><td class="num">${j.run}</td><td class="num">${j.pass}</td><td class="num ${j.fail ? "fail" : ""}">${j.fail}</td><td class="num">${j.expected}</td><td class="num">${j.skip}</td><td class="num ${j.error ? "error" : ""}">${j.error}</td></tr>`)
    .join("\n");
  const budget = data.results.filter((r) => r.family === "explore" && r.case === "*").map((r) => `<li>${esc(r.job)}: ${esc(r.reason)}</li>`);
  const invs = Object.entries(a.invariants).map(([inv, by]) => `<li><b>${esc(inv)}</b>: ${Object.entries(by).map(([j, n]) => `${esc(j)} ${n}`).join(", ")}</li>`);
  const divs = [...a.divergent].sort((x, y) => Number(y.modelSilent) - Number(x.modelSilent));
  const divHtml = divs
    .slice(0, SHOWN)
    .map((d) => `<details><summary>${d.modelSilent ? "<b>model-silent</b> " : ""}<code>${esc(d.scenario)}</code></summary><pre>${esc(d.divergences.map((v) => `step ${v.step} ${v.token || "(kernel log)"}: ${Object.entries(v.outcomes).map(([o, js]) => `${o} on ${js.join(", ")}`).join("; ")}`).join("\n"))}</pre></details>`)
    .join("\n");
  const mins = (data.explore?.minimized ?? [])
    .map((m) => `<details><summary><code>${esc(m.minimal)}</code> — ${esc(m.why)}</summary><p class="meta">from <code>${esc(m.original)}</code> in ${m.rounds} round(s), ${m.tried} candidates · ${m.file ? `<a href="${esc(m.file)}">${esc(m.file)}</a> (gcc -static FILE)` : "no file"}</p><pre>${esc(Object.entries(m.observations).map(([j, l]) => `${j}:\n  ${l.join("\n  ")}`).join("\n"))}</pre></details>`)
    .join("\n");
  return `<h2 id="explore">Exploration</h2>
<p class="meta">Generated scenarios (testcases/explore/grammar.yaml) judged by the model of what Linux promises (orchestrator/explore/model.ts) and compared across every job of the run.</p>
<table><tr><th>job</th><th>scenarios</th><th>pass</th><th>fail</th><th>known</th><th>skip</th><th>error</th></tr>${jobs}</table>
${budget.length ? `<ul class="meta">${budget.join("")}</ul>` : ""}
<h3>Failures per invariant</h3>${invs.length ? `<ul>${invs.join("")}</ul>` : "<p>None.</p>"}
<h3>Failing scenarios</h3>${failing(rows)}
<h3>Divergences across runs</h3><p class="meta">${a.divergent.length} scenario(s) whose observations differ between jobs; <b>model-silent</b>: every job passes the model, only the comparison sees it.</p>${divHtml}${more(divs.length)}
<h3>Minimized reproducers</h3>${mins || "<p>None (nothing to shrink, or --no-shrink).</p>"}`;
}
