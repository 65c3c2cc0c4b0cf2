// Where the time went: per job its build, its guest (boot, then the programs) and each
// testcase program's wall time; and each job's guest time over the runs in the run store.
import { medianOf } from "../orchestrator/results/attempts.ts";
import type { JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import type { RunSummary } from "../orchestrator/results/history.ts";
import { esc, seconds, section } from "./render-util.ts";
import { hbars, sparkbars, type BarRow } from "./render-svg.ts";

/** How many earlier runs the across-runs chart shows per job. */
export const RUNS_SHOWN = 20;

const TC_CLASSES = 8;

function buildChart(kernels: JudgedKernel[]): string {
  const rows: BarRow[] = kernels.map((k) =>
    k.build
      ? {
          label: k.job,
          segments: [{ value: k.build.seconds, cls: k.build.cached ? "t-build-cached" : "t-build", title: `${k.job}: build ${k.build.seconds} s${k.build.cached ? " (cached: that is how long the cached build took when it was made; this run reused it)" : ""}` }],
          note: `${seconds(k.build.seconds)}${k.build.cached ? " cached" : ""}`,
        }
      : { label: k.job, segments: [], note: "not built" },
  );
  return hbars(rows, "s", { cls: "c-build" });
}

function guestChart(kernels: JudgedKernel[]): string {
  const rows: BarRow[] = kernels.map((k) => {
    const b = k.boot;
    if (!b) return { label: k.job, segments: [], note: "no guest" };
    const boot = b.seconds ?? 0;
    return {
      label: k.job,
      segments: [
        { value: boot, cls: "t-boot", title: `${k.job}: boot ${b.seconds ?? "?"} s (guest start to the first testcase)` },
        { value: Math.max(0, b.guest_seconds - boot), cls: "t-guest", title: `${k.job}: programs and shutdown ${Math.round((b.guest_seconds - boot) * 10) / 10} s (guest total ${b.guest_seconds} s)` },
      ],
      note: `${seconds(b.guest_seconds)} (boot ${seconds(b.seconds)})`,
    };
  });
  return hbars(rows, "s", { cls: "c-guest" });
}

function programsChart(kernels: JudgedKernel[]): string {
  const ids = [...new Set(kernels.flatMap((k) => k.boot?.testcases.map((t) => t.id) ?? []))];
  if (!ids.length) return "<p>No testcase program ran.</p>";
  const cls = (id: string): string => `tc${ids.indexOf(id) % TC_CLASSES}`;
  const rows: BarRow[] = kernels.map((k) => ({
    label: k.job,
    segments: (k.boot?.testcases ?? []).map((t) => ({ value: t.ms ?? 0, cls: cls(t.id), title: `${k.job}: ${t.id} ${t.ms === null ? "did not end" : `${t.ms} ms`}${t.rc === null ? "" : `, exit ${t.rc}`}` })),
  }));
  const legend = ids.map((id) => `<span class="key"><svg width="10" height="10"><rect class="${cls(id)}" width="10" height="10"/></svg> ${esc(id)}</span>`).join(" ");
  return `${hbars(rows, "ms", { cls: "c-programs" })}<p class="legend">${legend}</p>`;
}

/** The stages of a job, in the order they run, with what each stands for (results/schema.ts JobStages). */
const STAGES = ["source", "patch", "config", "compile", "link", "reproducers", "initramfs", "boot", "suite"] as const;
const STAGE_CLASSES: Record<(typeof STAGES)[number], string> = {
  source: "tc0",
  patch: "tc1",
  config: "tc2",
  compile: "t-build",
  link: "tc3",
  reproducers: "tc4",
  initramfs: "tc5",
  boot: "t-boot",
  suite: "t-guest",
};

/** Where each job's time went, stage by stage: a stacked bar and the figures (a stage that did not run is "–"). */
function stagesChart(kernels: JudgedKernel[]): string {
  const staged = kernels.filter((k) => k.stages);
  if (!staged.length) return "<p>No stage timings in these results (written before they were recorded).</p>";
  const rows: BarRow[] = staged.map((k) => ({
    label: k.job,
    segments: STAGES.flatMap((st) => {
      const v = k.stages![st];
      return v ? [{ value: v, cls: STAGE_CLASSES[st], title: `${k.job}: ${st} ${v} s` }] : [];
    }),
    note: seconds(STAGES.reduce((a, st) => a + (k.stages![st] ?? 0), 0)),
  }));
  const legend = STAGES.map((st) => `<span class="key"><svg width="10" height="10"><rect class="${STAGE_CLASSES[st]}" width="10" height="10"/></svg> ${st}</span>`).join(" ");
  const cell = (v: number | null): string => `<td class="num">${v === null ? "–" : seconds(v)}</td>`;
  const table = `<table class="tbl stages"><tr><th>job</th>${STAGES.map((st) => `<th>${st}</th>`).join("")}<th>rebuilt</th></tr>${staged
    .map((k) => {
      const inc = k.build?.incremental;
      const rebuilt = !k.build ? "–" : k.build.cached ? "cached" : inc ? (inc.fresh ? `full (${inc.compiled} C files)` : `${inc.compiled} C files from ${inc.rewritten} changed`) : "full";
      return `<tr><td>${esc(k.job)}</td>${STAGES.map((st) => cell(k.stages![st])).join("")}<td>${esc(rebuilt)}</td></tr>`;
    })
    .join("\n")}</table>`;
  return `${hbars(rows, "s", { cls: "c-stages" })}<p class="legend">${legend}</p>${table}`;
}

/** Each job's guest seconds in the earlier runs that had it (oldest left), this run last. */
function acrossRuns(data: JudgedRun, kernels: JudgedKernel[], history: RunSummary[] | undefined): string {
  if (!history) return `<p class="meta">No run store read (--no-history).</p>`;
  const earlier = history.filter((r) => r.id !== data.run.id && r.started_at < data.run.started_at);
  const rows = kernels.map((k) => {
    const past = earlier.flatMap((r) => r.jobs.filter((j) => j.job === k.job).map((j) => ({ run: r, j }))).slice(-RUNS_SHOWN);
    const points = [
      ...past.map(({ run, j }) => ({ value: j.guest_s, title: `${run.id}: guest ${j.guest_s ?? "–"} s, boot ${j.boot_s ?? "–"} s, build ${j.build_s ?? "–"} s${j.build_cached ? " (cached)" : ""}` })),
      { value: k.boot?.guest_seconds ?? null, title: `this run: guest ${k.boot?.guest_seconds ?? "–"} s`, current: true },
    ];
    const median = medianOf(past.flatMap(({ j }) => (j.guest_s === null ? [] : [j.guest_s])));
    return `<tr><td>${esc(k.job)}</td><td>${sparkbars(points)}</td><td class="num">${seconds(k.boot?.guest_seconds)}</td><td class="num">${median === null ? "–" : seconds(median)}</td><td class="num">${past.length}</td></tr>`;
  });
  return `<table class="tbl across"><tr><th>job</th><th>guest seconds per run (oldest left, this run dark)</th><th>this run</th><th>median before</th><th>earlier runs</th></tr>${rows.join("\n")}</table>`;
}

export function timingSection(data: JudgedRun, kernels: JudgedKernel[], history: RunSummary[] | undefined): string {
  return section(
    "timing",
    "Timing",
    `<h3>Stages: where each job's time went</h3>${stagesChart(kernels)}
<h3>Build</h3>${buildChart(kernels)}
<h3>Guest: boot, then the programs</h3>${guestChart(kernels)}
<h3>Testcase programs (guest clock)</h3>${programsChart(kernels)}
<h3>Guest time across runs</h3>${acrossRuns(data, kernels, history)}`,
    "Hover a bar for its exact value. A cached build shows how long it took when it was made; this run reused it. Stages: source and patch are what the job waited for its tree (the arches of a kernel share one); patch includes moving the build workspace to the job's sources; a cached build has no config, compile or link.",
  );
}
