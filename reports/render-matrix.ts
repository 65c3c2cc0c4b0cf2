// The verdict matrix as a heatmap: one row per case, one column per job, the cell's colour its
// verdict. Rows are grouped by testcase (collapsible), each group's header row summing up
// its column; the explorer's scenario lines come last in a group of their own that starts
// collapsed, so thousands of generated rows never push the hand-written cases off screen.
import type { JudgedCase, JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import { EXPLORE } from "../orchestrator/explore/verdicts.ts";
import { badge, BAD_LABELS, esc, GLYPH, LABELS, section, verdictLabel, worstLabel } from "./render-util.ts";

interface Group {
  testcase: string;
  /** case name → job → index into data.results */
  rows: Map<string, Map<string, number>>;
}

function groups(data: JudgedRun): Group[] {
  const byTestcase = new Map<string, Group>();
  data.results.forEach((r, i) => {
    if (r.family === EXPLORE.family && r.case === "*") return; // the explorer's budget note, shown in its section
    const g = byTestcase.get(r.testcase) ?? { testcase: r.testcase, rows: new Map() };
    byTestcase.set(r.testcase, g);
    const row = g.rows.get(r.case) ?? new Map<string, number>();
    g.rows.set(r.case, row);
    row.set(r.job, i);
  });
  const isExplore = (g: Group): number => Number(g.testcase === EXPLORE.testcase);
  return [...byTestcase.values()].sort((a, b) => isExplore(a) - isExplore(b));
}

/** The tooltip of a cell: its verdict, duration and the first lines of its reason. */
function cellTitle(r: JudgedCase): string {
  const reason = r.reason.split("\n").slice(0, 4).join("\n");
  const known = r.expected ? `\nknown issue: ${r.expected.reason}${r.expected.fixed_in ? ` (fixed in ${r.expected.fixed_in})` : ""}` : "";
  const ms = r.duration_ms === null ? "" : ` · ${r.duration_ms} ms`;
  const attempts = r.attempts.length > 1 ? ` · ${r.attempts.filter((a) => a.status === "pass").length}/${r.attempts.length} attempts passed` : "";
  return `${verdictLabel(r)}${ms}${attempts}${reason ? `\n${reason}` : ""}${known}`;
}

function groupHeader(g: Group, kernels: JudgedKernel[], data: JudgedRun, open: boolean): string {
  const cells = kernels.map((k, j) => {
    const labels = [...g.rows.values()].flatMap((row) => (row.has(k.job) ? [verdictLabel(data.results[row.get(k.job)!]!)] : []));
    if (!labels.length) return `<td class="gs none" data-j="${j}"></td>`;
    const bad = labels.filter((l) => BAD_LABELS.includes(l)).length;
    const pass = labels.filter((l) => l === "pass").length;
    const worst = worstLabel(labels)!;
    const by = LABELS.flatMap((l) => {
      const n = labels.filter((x) => x === l).length;
      return n ? [`${n} ${l}`] : [];
    });
    return `<td class="gs v-${esc(worst)}" data-j="${j}" title="${esc(`${g.testcase} on ${k.job}: ${by.join(", ")}`)}">${bad ? `${bad}✗` : `${pass}/${labels.length}`}</td>`;
  });
  return `<tr class="gh"><th><button class="tog" aria-expanded="${open}" title="show or hide this testcase's cases">${esc(g.testcase)}</button> <span class="gm meta">${g.rows.size} case${g.rows.size === 1 ? "" : "s"}</span></th>${cells.join("")}</tr>`;
}

function groupBody(g: Group, kernels: JudgedKernel[], data: JudgedRun): string {
  const open = g.testcase !== EXPLORE.testcase;
  const rows = [...g.rows].map(([name, byJob]) => {
    const cells = kernels.map((k, j) => {
      const i = byJob.get(k.job);
      if (i === undefined) return `<td class="c none" data-j="${j}"></td>`;
      const r = data.results[i]!;
      const l = verdictLabel(r);
      return `<td class="c v-${esc(l)}" data-i="${i}" data-j="${j}" title="${esc(cellTitle(r))}">${GLYPH[l] ?? "?"}</td>`;
    });
    return `<tr class="row"><th class="cn" title="${esc(`${g.testcase}/${name}`)}">${esc(name)}</th>${cells.join("")}</tr>`;
  });
  return `<tbody class="grp${open ? "" : " closed"}" data-tc="${esc(g.testcase)}">${groupHeader(g, kernels, data, open)}\n${rows.join("\n")}</tbody>`;
}

export function matrixSection(data: JudgedRun, kernels: JudgedKernel[]): string {
  const head = kernels.map((k, j) => `<th class="jh" data-j="${j}" title="${esc(`${k.job}: ${k.release ?? k.version}, ${k.status}`)}"><a href="#job-${esc(k.job)}">${esc(k.kernel_spec)}<br>${esc(k.variant)}<br>${esc(k.arch)}</a></th>`);
  const body = groups(data).map((g) => groupBody(g, kernels, data));
  const legend = LABELS.map((l) => `${badge(l, `${GLYPH[l]} ${l}`)}`).join(" ");
  return section(
    "matrix",
    "Verdict matrix",
    `<p class="legend">${legend}</p>
<div class="hm-wrap"><table class="hm" id="heatmap"><thead><tr><th class="corner">testcase / case <span class="meta" id="shown"></span></th>${head.join("")}</tr></thead>
${body.join("\n")}</table></div>`,
    "Rows are cases grouped by testcase (click a group to fold it), columns are jobs (kernel / variant / arch). Hover a cell for its reason, click it for the attempts, the console line and the replay bundle.",
  );
}
