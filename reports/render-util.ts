// What every section of the report shares: escaping, the verdict labels and their order,
// the matrix order of jobs, and where a case's console line and bundle are.
import type { JudgedCase, JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import type { RunSummary } from "../orchestrator/results/history.ts";
import type { ConsoleAnchors } from "../orchestrator/report/console-lines.ts";
import { NEEDS_LOOK } from "../orchestrator/results/history.ts";
import { verdictLabel } from "../orchestrator/results/verdict.ts";
import { compareVersions } from "../orchestrator/results/versions.ts";
import { bundleFile } from "../orchestrator/bundle/paths.ts";
import { caseId, guestBoot } from "../orchestrator/results/attempts.ts";
import { shellQuote } from "../orchestrator/qemu/command.ts";

export { verdictLabel };

export const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

/** Every label a case can be counted under, worst first: the legend's and the filters' order. */
export const LABELS = ["crash", "timeout", "fail", "flaky", "error", "expected-fail", "expected-flaky", "skip", "pass"] as const;
/** Labels that make a case worth a look (and a "new failure" when they appear). */
export const BAD_LABELS: readonly string[] = [...NEEDS_LOOK];
/** One glyph per label for the heatmap's cells; colour says the rest (the legend names them). */
export const GLYPH: Record<string, string> = { pass: "✓", fail: "✗", "expected-fail": "✗", flaky: "~", "expected-flaky": "~", skip: "–", error: "!", timeout: "T", crash: "☠" };

export const labelRank = (l: string): number => {
  const i = (LABELS as readonly string[]).indexOf(l);
  return i < 0 ? LABELS.length : i;
};
export const worstLabel = (labels: Iterable<string>): string | undefined => [...labels].sort((a, b) => labelRank(a) - labelRank(b))[0];

export function countLabels(rows: readonly JudgedCase[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const r of rows) counts.set(verdictLabel(r), (counts.get(verdictLabel(r)) ?? 0) + 1);
  return new Map([...counts].sort((a, b) => labelRank(a[0]) - labelRank(b[0])));
}

/** A verdict as a small coloured badge. */
export const badge = (label: string, text = label): string => `<span class="badge v-${esc(label)}">${esc(text)}</span>`;

/** Matrix order: kernel version, base before variants, x86_64 before arm64. */
export function byMatrixOrder(a: JudgedKernel, b: JudgedKernel): number {
  return compareVersions(a.kernel_spec, b.kernel_spec) || Number(a.variant !== "base") - Number(b.variant !== "base") || a.variant.localeCompare(b.variant) || b.arch.localeCompare(a.arch);
}

export const seconds = (s: number | null | undefined): string => (s === null || s === undefined ? "–" : s >= 120 ? `${Math.floor(s / 60)} min ${Math.round(s % 60)} s` : `${Math.round(s * 10) / 10} s`);

/** A console as the report links it: its HTML view beside it, with its lines located. */
export interface ConsoleView {
  /** the view's path, relative to the run folder */
  html: string;
  anchors: ConsoleAnchors;
}

/** What the page is rendered from besides results.json. */
export interface ReportInputs {
  /** earlier runs from the run store, oldest first (the current run may be among them) */
  history?: { runs: RunSummary[]; source: string; warnings: string[] };
  /** files that exist in the run folder, relative to it (bundles, reproducers) */
  files?: ReadonlySet<string>;
  /** console path (as results.json says it) → its HTML view */
  consoles?: ReadonlyMap<string, ConsoleView>;
  /** the run folder as seen from the page's folder ("" when the page is in it) */
  base?: string;
}

/** A path relative to the run folder, as the page links it. */
export const runPath = (inputs: ReportInputs, p: string): string => (inputs.base && !p.startsWith("/") ? `${inputs.base.replace(/\/$/, "")}/${p}` : p);

/** The console of a job's guest n (1 = boot, n > 1 = reruns[n-2]). */
export const guestConsole = (k: JudgedKernel | undefined, guest: number): string | undefined => (k ? guestBoot(k, guest)?.console : undefined);

/** Link into a console: the case's line of its HTML view when known, else the view's top, else the raw file. */
export function consoleHref(inputs: ReportInputs, console: string | undefined, testcase?: string, name?: string): string | undefined {
  if (!console) return undefined;
  const view = inputs.consoles?.get(console);
  if (!view) return runPath(inputs, console);
  const line = testcase === undefined ? undefined : name === undefined ? view.anchors.blocks[testcase]?.begin : view.anchors.results[testcase]?.[name]?.line;
  return runPath(inputs, line === undefined ? view.html : `${view.html}#L${line}`);
}

/** A kernel report's line in its console's view. */
export function reportHref(inputs: ReportInputs, console: string | undefined, title: string): string | undefined {
  const view = console ? inputs.consoles?.get(console) : undefined;
  const r = view?.anchors.reports.find((x) => x.title === title) ?? view?.anchors.reports.find((x) => title.includes(x.title) || x.title.includes(title));
  if (view && r) return runPath(inputs, `${view.html}#L${r.line}`);
  return console && runPath(inputs, console);
}

/** A result's replay bundle: the file when it was made, else the command that makes it. */
export function bundleOf(inputs: ReportInputs, r: JudgedCase): { href: string } | { command: string } {
  const file = bundleFile(r);
  return inputs.files?.has(file) ? { href: runPath(inputs, file) } : { command: `cowlab bundle results.json ${shellQuote([caseId(r)])}` };
}

/** The kernels of a run in matrix order, and a lookup by job. */
export function jobsOf(data: JudgedRun): { kernels: JudgedKernel[]; byJob: Map<string, JudgedKernel> } {
  const kernels = [...data.kernels].sort(byMatrixOrder);
  return { kernels, byJob: new Map(kernels.map((k) => [k.job, k])) };
}

export const section = (id: string, title: string, body: string, note = ""): string => `<section id="${id}" class="sec"><h2>${esc(title)}</h2>${note ? `<p class="meta">${note}</p>` : ""}\n${body}\n</section>`;
