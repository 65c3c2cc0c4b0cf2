// The run at a glance: what ran where and when, how many cases got which verdict, and what
// the command's exit code says.
import type { JudgedRun } from "../orchestrator/results/policy.ts";
import { exitCodeFor } from "../orchestrator/results/verdict.ts";
import { badge, countLabels, esc, seconds, section } from "./render-util.ts";

const EXIT_MEANING: Record<number, string> = {
  0: "every case passed, was skipped, or failed as a known issue predicts",
  1: "a kernel failed a case (an unexpected fail, a crash or a timeout)",
  2: "the lab itself failed (an error result, or the run did not complete)",
};

export function runSection(data: JudgedRun): string {
  const run = data.run;
  const h = run.host;
  const code = exitCodeFor(data);
  const counts = countLabels(data.results);
  const facts: [string, string][] = [
    ["run", `<code>${esc(run.id)}</code>`],
    ["command", `<code>${esc(run.command)}</code>`],
    ["started", esc(run.started_at)],
    ["finished", run.finished_at ? esc(run.finished_at) : "–"],
    ["duration", seconds(run.seconds)],
    ["completeness", run.complete ? "complete" : `<b class="warn">incomplete (interrupted or still running)</b>`],
    ["host", `${esc(h.hostname)}: ${h.cores} cores, ${h.memory_gib} GiB, QEMU ${esc(h.qemu)}, Node ${esc(h.node)}`],
    ["shard", run.shard ? esc(run.shard) : "whole matrix"],
    ["attempts", `${run.repeat} guest(s) per job (--repeat)${run.retry_failed ? `, up to ${run.retry_failed} retry guest(s) for cases that did not pass (--retry-failed)` : ", no retries"}`],
    ["jobs", `${data.kernels.length} (${data.kernels.filter((k) => k.status === "ok").length} ok)`],
    ["exit code", `<b class="exit exit-${code}">${code}</b> ${esc(EXIT_MEANING[code] ?? "")}`],
  ];
  // Each count is a button: it filters the matrix to that verdict (client.ts).
  const chips = [...counts].map(([label, n]) => `<button class="vchip" data-only="${esc(label)}" title="show only ${esc(label)}">${badge(label, `${label} ${n}`)}</button>`);
  return section(
    "run",
    "Run",
    `<dl class="facts">${facts.map(([k, v]) => `<dt>${esc(k)}</dt><dd>${v}</dd>`).join("")}</dl>
<p class="counts" id="verdict-counts">${chips.join(" ")} <span class="meta">(${data.results.length} results; expected-*: a known issue in testcases/manifest.yaml predicts it)</span></p>`,
  );
}
