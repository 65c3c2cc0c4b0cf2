// A bisection: its range as a timeline (base, then each change; the steps it tested coloured
// by verdict, numbered in the order they ran, the culprit outlined), then the steps in test
// order with how each was decided, and the conclusion with the flake hint.
import type { JudgedRun } from "../orchestrator/results/policy.ts";
import { esc, section } from "./render-util.ts";

type Bisection = NonNullable<JudgedRun["bisect"]>;
type Step = Bisection["steps"][number];

const VERDICT_CLASS: Record<Step["verdict"], string> = { bad: "v-fail", good: "v-pass", skip: "v-skip" };

/** How a step got its verdict: its own guests, or another step's verdict (linked) without a build or a boot. */
function stepDecided(s: Step): string {
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

function timeline(b: Bisection): string {
  const order = new Map(b.steps.map((s, i) => [s.position, { s, n: i + 1 }]));
  const cells = Array.from({ length: b.changes + 1 }, (_, pos) => {
    const t = order.get(pos);
    const culprit = b.culprit?.position === pos;
    const cls = `tl${t ? ` ${VERDICT_CLASS[t.s.verdict]}` : " untested"}${culprit ? " culprit" : ""}`;
    const title = t ? `${pos}: ${t.s.label} — ${t.s.verdict} (step ${t.n}, ${t.s.decided_by})\n${t.s.subject}` : `${pos}: not tested`;
    const inner = `<span class="pos">${pos === 0 ? "base" : pos}</span>${t ? `<span class="ord">#${t.n}</span>` : ""}`;
    return t ? `<a class="${cls}" href="#bisect-step-${pos}" title="${esc(title)}">${inner}</a>` : `<span class="${cls}" title="${esc(title)}">${inner}</span>`;
  });
  return `<div class="timeline" role="list">${cells.join("")}</div>`;
}

export function bisectSection(data: JudgedRun): string {
  const b = data.bisect;
  if (!b) return "";
  const rows = b.steps.map(
    (s, i) =>
      `<tr id="bisect-step-${s.position}"${b.culprit?.position === s.position ? ' class="culprit"' : ""}><td class="num">${i + 1}</td><td class="num">${s.position}</td><td class="${VERDICT_CLASS[s.verdict]}">${s.verdict}</td><td><code>${esc(s.label)}</code></td><td>${esc(s.subject)}</td><td>${stepDecided(s)}</td><td>${s.attempts ? `${s.attempts.failing} of ${s.attempts.run} failing` : "–"}</td><td>${esc(s.why)}</td><td class="num">${s.build_seconds ?? "–"}${s.build_cached ? " (cached)" : ""}</td><td class="num">${s.boot_seconds ?? "–"}</td><td class="num">${s.seconds}</td></tr>`,
  );
  const count = (k: Step["decided_by"]): number => b.steps.filter((s) => s.decided_by === k).length;
  const unbuilt = [...(count("same-source") ? [`${count("same-source")} no-op (not built)`] : []), ...(count("same-image") ? [`${count("same-image")} same image (not booted)`] : [])];
  const answer = b.culprit ? `First ${b.find === "regression" ? "bad" : "fixing"} change: <code>${esc(b.culprit.label)}</code> ${esc(b.culprit.subject)}` : `No answer: ${esc(b.conclusion)}`;
  return section(
    "bisect",
    "Bisection",
    `<p class="answer"><b>${answer}</b></p>
<p class="meta">${esc(b.kind)} ${esc(b.target)} (${b.changes} changes) · ${esc(b.test)} / ${esc(b.cases)} · ${esc(b.kernel)} ${esc(b.arch)} · looking for the ${esc(b.find)} · ${b.steps.length} steps in ${b.seconds} s${unbuilt.length ? ` · ${unbuilt.join(", ")}` : ""}</p>
<p class="meta">Conclusion: ${esc(b.conclusion)}</p>${b.flake ? `\n<p class="meta flake">Flaky: ${esc(b.flake.hint)}</p>` : ""}
${timeline(b)}
<table class="tbl steps"><tr><th>step</th><th>position</th><th>verdict</th><th>change</th><th>subject</th><th>decided by</th><th>attempts</th><th>why</th><th>build s</th><th>boot s</th><th>step s</th></tr>${rows.join("\n")}</table>`,
  );
}
