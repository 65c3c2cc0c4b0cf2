// This run against the earlier runs in the run store: verdict counts of the runs of the same
// matrix (same jobs), the cases whose verdict changed since the last of them, and the
// bisections the store remembers.
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { JudgedRun } from "../orchestrator/results/policy.ts";
import { changedCases, matrixKey, summarizeRun, type CaseChange, type RunSummary } from "../orchestrator/results/history.ts";
import { badge, esc, labelRank, section, seconds, type ReportInputs } from "./render-util.ts";
import { shareBar } from "./render-svg.ts";

/** Earlier runs of the same matrix shown in the table. */
export const TREND_RUNS = 20;

const totals = (r: RunSummary): Map<string, number> => {
  const m = new Map<string, number>();
  for (const j of r.jobs) for (const [l, n] of Object.entries(j.counts)) m.set(l, (m.get(l) ?? 0) + n);
  return m;
};

function trendTable(now: RunSummary, earlier: RunSummary[]): string {
  const runs = [now, ...[...earlier].reverse()];
  const labels = [...new Set(runs.flatMap((r) => [...totals(r).keys()]))].sort((a, b) => labelRank(a) - labelRank(b));
  const rows = runs.map((r) => {
    const t = totals(r);
    const bar = shareBar(labels.map((l) => ({ value: t.get(l) ?? 0, cls: `v-${l}`, title: `${l}: ${t.get(l) ?? 0}` })));
    const cells = labels.map((l) => `<td class="num">${t.get(l) ?? ""}</td>`).join("");
    return `<tr${r === now ? ' class="current"' : ""}><td><code>${esc(r.id)}</code>${r === now ? " <b>(this run)</b>" : ""}</td><td>${seconds(r.seconds)}${r.complete ? "" : " <b>incomplete</b>"}</td><td>${bar}</td>${cells}<td class="cmd"><code>${esc(r.command)}</code></td></tr>`;
  });
  return `<table class="tbl trend"><tr><th>run</th><th>duration</th><th>verdicts</th>${labels.map((l) => `<th>${badge(l)}</th>`).join("")}<th>command</th></tr>${rows.join("\n")}</table>`;
}

const KIND_TITLE: Record<CaseChange["kind"], string> = { "new-failure": "New failures", fixed: "Fixed", changed: "Other changes" };

function changesSince(data: JudgedRun, prev: RunSummary, now: RunSummary): string {
  const changes = changedCases(prev, now);
  const index = new Map(data.results.map((r, i) => [`${r.job}\u0000${r.testcase}\u0000${r.case}`, i]));
  const title = `<h3 id="new-failures">New failures since <code>${esc(prev.id)}</code></h3>`;
  if (!changes.length) return `${title}<p>No verdict changed since that run.</p>`;
  const blocks = (["new-failure", "fixed", "changed"] as const).map((kind) => {
    const mine = changes.filter((c) => c.kind === kind);
    if (!mine.length) return "";
    const rows = mine.map((c) => {
      const i = index.get(`${c.job}\u0000${c.testcase}\u0000${c.case}`);
      return `<tr${i === undefined ? "" : ` data-fi="${i}"`}><td>${esc(c.job)}</td><td>${esc(c.testcase)} / ${esc(c.case)}</td><td>${c.before ? badge(c.before) : '<span class="meta">not run</span>'}</td><td>${badge(c.now)}</td><td>${i === undefined ? "" : `<button class="more" data-open="${i}">details…</button>`}</td></tr>`;
    });
    const table = `<table class="tbl changes ${kind}"><tr><th>job</th><th>case</th><th>then</th><th>now</th><th></th></tr>${rows.join("\n")}</table>`;
    // Other changes (a skip that passed this time...) are folded: new failures and fixes come first.
    return kind === "changed" ? `<details class="changes"><summary><b>${KIND_TITLE[kind]}: ${mine.length}</b> <span class="meta">(neither a new failure nor a fix: e.g. pass ↔ skip)</span></summary>${table}</details>` : `<h4>${KIND_TITLE[kind]}: ${mine.length}</h4>${table}`;
  });
  const none = (["new-failure", "fixed"] as const).filter((k) => !changes.some((c) => c.kind === k)).map((k) => `${KIND_TITLE[k]}: none.`);
  return `${title}${none.length ? `<p>${none.join(" ")}</p>` : ""}${blocks.join("\n")}`;
}

/** A run of the store, linked to its report while its folder is where it was recorded (a local store; CI folders are gone). */
const runLink = (r: RunSummary): string => (r.dir ? `<a href="${esc(pathToFileURL(join(r.dir, "index.html")).href)}"><code>${esc(r.id)}</code></a>` : `<code>${esc(r.id)}</code>`);

/** What `cowlab explore` runs found and shrank: a matrix run's report names them, as it names recent bisections. */
function findings(runs: RunSummary[]): string {
  const f = runs
    .filter((r) => r.findings?.length)
    .slice(-5)
    .reverse()
    .flatMap((r) => r.findings!.map((x) => ({ r, x })));
  if (!f.length) return "";
  const rows = f.map(
    ({ r, x }) =>
      `<tr><td>${runLink(r)}</td><td><code>${esc(x.minimal)}</code></td><td>${esc(x.jobs.join(", "))}</td><td class="reason">${esc(x.why.split("\n")[0]!)}</td><td>${x.file && r.dir ? `<a href="${esc(pathToFileURL(join(r.dir, x.file)).href)}">${esc(x.file.split("/").at(-1)!)}</a>` : x.file ? esc(x.file) : ""}</td></tr>`,
  );
  return `<h3>Recent explorer findings in the store</h3><p class="meta">Minimized scenarios of earlier <code>cowlab explore</code> runs, with their standalone C reproducers.</p><table class="tbl"><tr><th>run</th><th>minimal line</th><th>jobs</th><th>why</th><th>C file</th></tr>${rows.join("\n")}</table>`;
}

function bisections(runs: RunSummary[]): string {
  const b = runs.filter((r) => r.bisect).slice(-10).reverse();
  if (!b.length) return "";
  const rows = b.map((r) => `<tr><td>${runLink(r)}</td><td>${esc(r.bisect!.kernel)} ${esc(r.bisect!.arch)}</td><td>${esc(r.bisect!.test)} / ${esc(r.bisect!.cases)}</td><td>${r.bisect!.steps}</td><td>${r.bisect!.culprit ? `<code>${esc(r.bisect!.culprit)}</code>` : esc(r.bisect!.conclusion)}</td></tr>`);
  return `<h3>Recent bisections in the store</h3><table class="tbl"><tr><th>run</th><th>kernel</th><th>cases</th><th>steps</th><th>culprit</th></tr>${rows.join("\n")}</table>`;
}

export function trendSection(data: JudgedRun, inputs: ReportInputs): string {
  const h = inputs.history;
  if (!h) return section("trend", "Trend against earlier runs", "<p>The run store was not read (--no-history).</p>");
  const now = summarizeRun(data);
  const key = matrixKey(now.jobs.map((j) => j.job));
  const earlier = h.runs.filter((r) => r.id !== now.id && r.started_at < now.started_at);
  const same = earlier.filter((r) => matrixKey(r.jobs.map((j) => j.job)) === key).slice(-TREND_RUNS);
  const warn = h.warnings.length ? `<details class="warn"><summary>${h.warnings.length} file(s) of the store skipped</summary><pre>${esc(h.warnings.join("\n"))}</pre></details>` : "";
  const body = same.length
    ? `${trendTable(now, same)}\n${changesSince(data, same.at(-1)!, now)}`
    : `<p>No earlier run of the same ${now.jobs.length} job(s) in the store (${earlier.length} earlier run(s) of other matrices).</p>`;
  return section("trend", "Trend against earlier runs", `${body}\n${bisections(h.runs)}\n${findings(h.runs)}\n${warn}`, `Run store <code>${esc(h.source)}</code>: ${h.runs.length} run(s). Runs of the same matrix (the same jobs), newest first.`);
}

