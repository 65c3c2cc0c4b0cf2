// The static HTML report: one self-contained page per run (styles, script, data and charts
// inline), openable from disk or a CI artifact. Pure: results as read + the run store's
// history + what exists in the run folder → one HTML string. Each section has its module.
import type { JudgedRun } from "../orchestrator/results/policy.ts";
import { EXPLORE } from "../orchestrator/explore/verdicts.ts";
import { badge, countLabels, esc, jobsOf, type ReportInputs } from "./render-util.ts";
import { runSection } from "./render-run.ts";
import { matrixSection } from "./render-matrix.ts";
import { problemsSection, skipsSection } from "./render-problems.ts";
import { seriesSection } from "./render-series.ts";
import { exploreSection } from "./render-explore.ts";
import { timingSection } from "./render-timing.ts";
import { trendSection } from "./render-trend.ts";
import { bisectSection } from "./render-bisect.ts";
import { kernelsSection } from "./render-kernels.ts";
import { clientData, scriptJson } from "./render-data.ts";
import { STYLE } from "./render-style.ts";
import { CLIENT_JS } from "./render-client.ts";

export type { ReportInputs } from "./render-util.ts";

const option = (v: string, text = v): string => `<option value="${esc(v)}">${esc(text)}</option>`;
const select = (id: string, label: string, values: string[]): string =>
  values.length > 1 ? `<label>${esc(label)} <select id="f-${id}">${option("", "all")}${values.map((v) => option(v)).join("")}</select></label>` : "";

function filterBar(data: JudgedRun): string {
  const uniq = (xs: string[]): string[] => [...new Set(xs)];
  const verdicts = [...countLabels(data.results).keys()];
  const families = uniq(data.results.filter((r) => r.case !== "*").map((r) => r.family)).sort((a, b) => Number(a === EXPLORE.family) - Number(b === EXPLORE.family) || a.localeCompare(b));
  return `<div class="filters" role="search">
<input type="search" id="f-q" placeholder="search cases, jobs and reasons" aria-label="search">
<span id="f-v">${verdicts.map((v) => `<label class="vf"><input type="checkbox" value="${esc(v)}" checked>${badge(v)}</label>`).join(" ")}</span>
${select("k", "kernel", uniq(data.kernels.map((k) => k.kernel_spec)))}${select("a", "arch", uniq(data.kernels.map((k) => k.arch)))}${select("var", "variant", uniq(data.kernels.map((k) => k.variant)))}${select("f", "family", families)}
<button id="f-reset" type="button">reset</button></div>`;
}

export function renderHtml(data: JudgedRun, inputs: ReportInputs = {}): string {
  const { kernels, byJob } = jobsOf(data);
  const sections: [string, string, string][] = [
    ["run", "Run", runSection(data)],
    ["bisect", "Bisection", bisectSection(data)],
    ["matrix", "Matrix", matrixSection(data, kernels)],
    ["problems", "Failures", problemsSection(data, byJob, inputs)],
    ["series", "Series", seriesSection(data, kernels)],
    ["explore", "Exploration", exploreSection(data, byJob, inputs)],
    ["trend", "Trend", trendSection(data, inputs)],
    ["timing", "Timing", timingSection(data, kernels, inputs.history?.runs)],
    ["kernels", "Jobs", kernelsSection(kernels, inputs)],
    ["skips", "Skips", skipsSection(data)],
  ];
  const present = sections.filter(([, , html]) => html);
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>cowlab ${esc(data.run.id)}</title><style>${STYLE}</style></head><body>
<header class="top"><h1>cowlab: COW/GUP correctness of anonymous memory</h1><nav class="sections">${present.map(([id, name]) => `<a href="#${id}">${esc(name)}</a>`).join("")}</nav>
${filterBar(data)}</header>
<main>
${present.map(([, , html]) => html).join("\n")}
</main>
<aside id="detail" class="detail" hidden aria-live="polite"><button class="close" type="button" aria-label="close">✕</button><div id="detail-body"></div></aside>
<script type="application/json" id="cowlab-data">${scriptJson(clientData(data, kernels, inputs))}</script>
<script>${CLIENT_JS}</script>
</body></html>
`;
}
