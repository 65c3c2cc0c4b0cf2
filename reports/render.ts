// The static HTML report: one self-contained page per run, openable from disk.
import type { JudgedCase as CaseResult, JudgedKernel as KernelEntry, JudgedRun as RunResults } from "../orchestrator/results/policy.ts";
import { durationSpread, passRate } from "../orchestrator/results/attempts.ts";
import { compareToBase } from "../orchestrator/results/compare.ts";
import { compareVersions } from "../orchestrator/results/versions.ts";
import { explorationSection } from "./render-explore.ts";

/** Explorer rows have their own section; the verdict matrix and problem list are the testcases'. */
const testcaseRows = (data: RunResults): CaseResult[] => data.results.filter((r) => r.family !== "explore");

const esc = (s: string): string => s.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

const STYLE = `
body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}
h1{font-size:1.4em;margin:0 0 .2em} h2{font-size:1.15em;margin-top:1.6em}
table{border-collapse:collapse;margin:.5em 0} th,td{border:1px solid #ccc;padding:3px 7px;text-align:left;vertical-align:top}
th{background:#f3f3f3} td.num{text-align:right;font-variant-numeric:tabular-nums}
.pass{background:#c8f0c8}.fail{background:#f7a8a8;font-weight:bold}.skip{background:#eee;color:#666}
.error{background:#f6d27a}.timeout{background:#f0b070}.crash{background:#d070d0;color:#fff;font-weight:bold}
.expected{background:#f7dede;font-weight:normal;font-style:italic}
.flaky{background:repeating-linear-gradient(45deg,#c8f0c8,#c8f0c8 6px,#f7a8a8 6px,#f7a8a8 12px);font-weight:bold}
.ok{background:#c8f0c8}.bad{background:#f7a8a8}
td.cell{text-align:center;white-space:nowrap;font-size:12px}
pre{background:#f7f7f7;padding:.5em;overflow:auto;max-height:20em;font-size:12px}
h3{font-size:1.05em;margin-top:1.2em} .meta{color:#555} .legend span{padding:1px 6px;margin-right:4px;border-radius:3px}
details{margin:.3em 0}`;

const statusLabel = (r: CaseResult): string => `${r.expected ? "expected " : ""}${r.status === "flaky" ? `flaky ${Math.round(passRate(r) * 100)}%` : r.status}`;
const statusClass = (r: CaseResult): string => (r.expected ? `${r.status} expected` : r.status);

/** Duration of a case: the median, and the spread when it ran more than once. */
function durationText(r: CaseResult): string {
  if (r.duration_ms === null) return "";
  const spread = r.attempts.length > 1 ? durationSpread(r) : null;
  return `${r.duration_ms} ms${spread ? ` (${spread[0]}–${spread[1]})` : ""}`;
}

/** Guests that did not run as the lab's own initramfs guest say how they ran, and link their SSH session. */
function runtimeNote(b: NonNullable<KernelEntry["boot"]>): string {
  if (b.runtime === "qemu-initramfs") return "";
  const session = b.console.replace(/[^/]*$/, "ssh.log");
  return `${session === b.console ? "" : ` · <a href="${esc(session)}">ssh session</a>`} · <span class="meta">${esc(b.runtime)}${b.target ? ` on ${esc(b.target)}` : ""}</span>`;
}

function kernelsTable(kernels: KernelEntry[]): string {
  const rows = kernels.map((k) => {
    const good = k.status === "ok";
    return `<tr id="job-${esc(k.job)}"><td>${esc(k.job)}</td><td>${esc(k.release ?? k.version)}</td><td class="${good ? "ok" : "bad"}">${esc(k.status)}</td>
<td class="num">${k.build ? `${k.build.seconds}${k.build.cached ? " (cached)" : ""}` : "–"}</td>
<td class="num">${k.boot?.seconds ?? "–"}</td><td class="num">${k.boot ? k.boot.guest_seconds : "–"}</td><td class="num">${k.seconds}</td>
<td>${k.boot ? `<a href="${esc(k.boot.console)}">console</a>${runtimeNote(k.boot)} · <code>${esc(k.boot.rerun)}</code>` : "–"}</td>
<td>${k.boot ? esc(Object.entries(k.boot.setup).filter(([n]) => n !== "uname").map(([n, v]) => `${n}=${v}`).join(" ")) : ""}</td>
<td>${k.reason ? `<details><summary>${esc(k.reason.split("\n")[0]!)}</summary><pre>${esc(k.reason)}</pre></details>` : ""}${k.known_reports
      .map((r) => `<div class="meta" title="${esc(r.reason)}">known: ${esc(r.title)}</div>`)
      .join("")}${k.reruns.length ? `<div class="meta">${k.reruns.length} more guest(s): ${k.reruns.map((g) => `<a href="${esc(g.console)}">${g.purpose}</a>`).join(" ")}</div>` : ""}</td></tr>`;
  });
  return `<table><tr><th>job</th><th>release</th><th>status</th><th>build s</th><th>boot s</th><th>guest s</th><th>job s</th><th>logs</th><th>guest setup</th><th>reason</th></tr>${rows.join("\n")}</table>`;
}

function matrixTable(data: RunResults): string {
  const jobs = data.kernels.map((k) => k.job);
  const byKey = new Map<string, CaseResult>();
  const caseKeys: string[] = [];
  for (const r of testcaseRows(data)) {
    const key = `${r.testcase}\u0000${r.case}`;
    if (!caseKeys.includes(key)) caseKeys.push(key);
    byKey.set(`${key}\u0000${r.job}`, r);
  }
  const head = `<tr><th>testcase</th><th>case</th>${jobs.map((j) => `<th>${esc(j)}</th>`).join("")}</tr>`;
  const rows = caseKeys.map((key) => {
    const [testcase, name] = key.split("\u0000") as [string, string];
    const cells = jobs.map((j) => {
      const r = byKey.get(`${key}\u0000${j}`);
      if (!r) return `<td class="cell">·</td>`;
      const title = [r.reason, r.expected ? `known issue: ${r.expected.reason}${r.expected.fixed_in ? ` (fixed in ${r.expected.fixed_in})` : ""}` : ""].filter(Boolean).join("\n");
      return `<td class="cell ${statusClass(r)}" title="${esc(title)}">${esc(statusLabel(r))}${r.duration_ms !== null ? `<br><small>${esc(durationText(r))}</small>` : ""}</td>`;
    });
    return `<tr><td>${esc(testcase)}</td><td>${esc(name)}</td>${cells.join("")}</tr>`;
  });
  return `<table>${head}\n${rows.join("\n")}</table>`;
}

function problems(data: RunResults): string {
  const bad = testcaseRows(data).filter((r) => r.status !== "pass" && r.status !== "skip");
  if (!bad.length) return "<p>No failures.</p>";
  return bad
    .map(
      (r) =>
        `<details><summary><span class="${statusClass(r)}">${esc(statusLabel(r))}</span> ${esc(r.job)} · ${esc(r.testcase)} / ${esc(r.case)}${r.expected?.fixed_in ? ` — fixed in ${esc(r.expected.fixed_in)}` : ""}</summary><pre>${esc(r.reason)}${r.expected ? `\n\nknown issue: ${esc(r.expected.reason)}` : ""}</pre></details>`,
    )
    .join("\n");
}

function skips(data: RunResults): string {
  const reasons = new Map<string, string[]>();
  for (const r of data.results.filter((x) => x.status === "skip")) {
    const list = reasons.get(r.reason) ?? [];
    list.push(`${r.job} ${r.testcase}/${r.case}`);
    reasons.set(r.reason, list);
  }
  if (!reasons.size) return "<p>No skips.</p>";
  // Explorer skips come by the thousand with one reason: list a few of each.
  return [...reasons].map(([why, where]) => `<details><summary>${where.length} × ${esc(why)}</summary><pre>${esc(where.slice(0, 50).join("\n"))}${where.length > 50 ? `\n… ${where.length - 50} more` : ""}</pre></details>`).join("\n");
}

function seriesEffect(data: RunResults): string {
  const changes = compareToBase(data.results);
  const variants = [...new Set(data.kernels.filter((k) => k.variant !== "base").map((k) => `${k.kernel_spec} + ${k.variant}`))];
  if (!variants.length) return "";
  const rows = changes.map(
    (c) => `<tr><td>${esc(c.kernel)} + ${esc(c.variant)}</td><td>${esc(c.arch)}</td><td>${esc(c.testcase)} / ${esc(c.case)}</td><td class="${c.base}">${c.base}</td><td class="${c.now}">${c.now}</td><td class="${c.kind === "regression" ? "fail" : c.kind === "fix" ? "pass" : "skip"}">${c.kind}</td><td>${esc(c.reason.split("\n")[0]!)}</td></tr>`,
  );
  const count = (k: string) => changes.filter((c) => c.kind === k).length;
  return `<h2 id="series">What the series changed</h2><p class="meta">${variants.map(esc).join(", ")} against the base variant of the same kernel and arch: ${count("regression")} regressions, ${count("fix")} fixes, ${count("changed")} other changes.</p>
${rows.length ? `<table><tr><th>variant</th><th>arch</th><th>case</th><th>base</th><th>variant</th><th>change</th><th>reason</th></tr>${rows.join("\n")}</table>` : "<p>No verdict changed.</p>"}`;
}

type BisectStep = NonNullable<RunResults["bisect"]>["steps"][number];

/** How a bisection step got its verdict: its own guests, or another step's verdict (linked) without a build or a boot. */
function stepDecided(s: BisectStep): string {
  const from = s.same_as === null ? "" : `, verdict of <a href="#bisect-step-${s.same_as}">${s.same_as}</a>`;
  switch (s.decided_by) {
    case "guests":
      return "guests";
    case "same-source":
      return `<i title="${esc(s.noop_files.length ? `only comments/whitespace or outside the build: ${s.noop_files.join(", ")}` : "identical sources")}">no-op: not built</i>${from}`;
    case "same-image":
      return `<i title="${esc(s.image_sha256 ? `sha256 ${s.image_sha256}` : "")}">same image: not booted</i>${from}`;
    case "untested":
      return "not tested";
  }
}

function bisection(data: RunResults): string {
  const b = data.bisect;
  if (!b) return "";
  const rows = b.steps.map(
    (s) =>
      `<tr id="bisect-step-${s.position}"><td class="num">${s.position}</td><td class="${s.verdict === "bad" ? "fail" : s.verdict === "good" ? "pass" : "skip"}">${s.verdict}</td><td><code>${esc(s.label)}</code></td><td>${esc(s.subject)}</td><td>${stepDecided(s)}</td><td>${s.attempts ? `${s.attempts.failing} of ${s.attempts.run} failing` : "–"}</td><td>${esc(s.why)}</td><td class="num">${s.build_seconds ?? "–"}${s.build_cached ? " (cached)" : ""}</td><td class="num">${s.seconds}</td></tr>`,
  );
  const count = (k: BisectStep["decided_by"]) => b.steps.filter((s) => s.decided_by === k).length;
  const unbuilt = [...(count("same-source") ? [`${count("same-source")} no-op (not built)`] : []), ...(count("same-image") ? [`${count("same-image")} same image (not booted)`] : [])];
  return `<h2 id="bisect">Bisection</h2><p><b>${b.culprit ? `First ${b.find === "regression" ? "bad" : "fixing"} change: <code>${esc(b.culprit.label)}</code> ${esc(b.culprit.subject)}` : `No answer: ${esc(b.conclusion)}`}</b></p>
<p class="meta">${esc(b.kind)} ${esc(b.target)} (${b.changes} changes) · ${esc(b.test)} / ${esc(b.cases)} · ${esc(b.kernel)} ${esc(b.arch)} · ${b.steps.length} steps in ${b.seconds} s${unbuilt.length ? ` · ${unbuilt.join(", ")}` : ""}</p>${b.flake ? `\n<p class="meta">Flaky: ${esc(b.flake.hint)}</p>` : ""}
<table><tr><th>position</th><th>verdict</th><th>change</th><th>subject</th><th>decided by</th><th>attempts</th><th>why</th><th>build s</th><th>step s</th></tr>${rows.join("\n")}</table>`;
}

/** Matrix order: kernel version, base before variants, x86_64 before arm64. */
function byMatrixOrder(a: KernelEntry, b: KernelEntry): number {
  return (
    compareVersions(a.kernel_spec, b.kernel_spec) ||
    Number(a.variant !== "base") - Number(b.variant !== "base") ||
    a.variant.localeCompare(b.variant) ||
    b.arch.localeCompare(a.arch)
  );
}

export function renderHtml(unsorted: RunResults): string {
  const data = { ...unsorted, kernels: [...unsorted.kernels].sort(byMatrixOrder) };
  const legendLabel = (r: CaseResult): string => `${r.expected ? "expected " : ""}${r.status}`;
  const counts = data.results.reduce<Record<string, number>>((a, r) => ((a[legendLabel(r)] = (a[legendLabel(r)] ?? 0) + 1), a), {});
  const run = data.run;
  const h = run.host;
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>cowlab run ${esc(run.id)}</title><style>${STYLE}</style></head><body>
<h1>cowlab: COW/GUP correctness of anonymous memory</h1>
<p class="meta">run ${esc(run.id)} · ${run.complete ? `complete in ${run.seconds}s` : "<b>incomplete (interrupted or still running)</b>"}${run.shard ? ` · shard ${esc(run.shard)}` : ""} ·
host ${esc(h.hostname)} (${h.cores} cores, ${h.memory_gib} GiB, QEMU ${esc(h.qemu)}, Node ${esc(h.node)})<br><code>${esc(run.command)}</code></p>
<p class="legend">${Object.entries(counts).map(([s, n]) => `<span class="${s.startsWith("expected ") ? `${s.slice(9)} expected` : s}">${esc(s)}: ${n}</span>`).join(" ")}</p>
${bisection(data)}
<h2 id="kernels">Kernels</h2>${kernelsTable(data.kernels)}
${seriesEffect(data)}
<h2 id="verdicts">Verdicts</h2><p class="meta">Hover a cell for the reason. <i>expected fail</i>: a known issue in testcases/manifest.yaml predicts it.</p>${matrixTable(data)}
<h2 id="problems">Failures, crashes, timeouts and errors</h2>${problems(data)}
${explorationSection(data)}
<h2 id="skips">Skips and why</h2>${skips(data)}
</body></html>
`;
}
