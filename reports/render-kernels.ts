// One row per job: its kernel, how it ended, its times, its consoles (the first guest and each
// rerun's, each linked to its HTML view), the kernel reports with a link to their line, and
// the line that reruns its guest by hand.
import type { JudgedKernel } from "../orchestrator/results/policy.ts";
import { consoleHref, esc, reportHref, runPath, section, type ReportInputs } from "./render-util.ts";

type Boot = NonNullable<JudgedKernel["boot"]>;

/** Guests that did not run as the lab's own initramfs guest say how they ran, and link their SSH session. */
function runtimeNote(b: Boot, inputs: ReportInputs): string {
  if (b.runtime === "qemu-initramfs") return "";
  const session = b.console.replace(/[^/]*$/, "ssh.log");
  return `${session === b.console ? "" : ` · <a href="${esc(runPath(inputs, session))}">ssh session</a>`} · <span class="meta">${esc(b.runtime)}${b.target ? ` on ${esc(b.target)}` : ""}</span>`;
}

function reports(k: JudgedKernel, inputs: ReportInputs): string {
  const guests = [{ boot: k.boot, name: "guest 1" }, ...k.reruns.map((g, i) => ({ boot: g, name: `guest ${i + 2} (${g.purpose})` }))];
  const known = new Set(k.known_reports.map((r) => r.title));
  return guests
    .flatMap(({ boot, name }) =>
      (boot?.reports ?? []).map((r) => {
        const href = reportHref(inputs, boot?.console, r.title);
        const kr = k.known_reports.find((x) => x.title === r.title);
        return `<div class="kreport${known.has(r.title) ? " known" : ""}">${known.has(r.title) ? "known: " : ""}${href ? `<a href="${esc(href)}">${esc(r.title)}</a>` : esc(r.title)} <span class="meta">${esc(name)}${r.at === undefined ? "" : ` at ${r.at} s`}${kr ? ` — ${esc(kr.reason)}` : ""}</span></div>`;
      }),
    )
    .join("");
}

export function kernelsSection(kernels: JudgedKernel[], inputs: ReportInputs): string {
  const rows = kernels.map((k) => {
    const logs = k.boot
      ? [
          `<a class="console" href="${esc(consoleHref(inputs, k.boot.console)!)}">console</a>${runtimeNote(k.boot, inputs)}`,
          ...k.reruns.map((g, i) => `<a class="console" href="${esc(consoleHref(inputs, g.console)!)}">${esc(g.purpose)} ${i + 2}</a>`),
          k.build ? `<a href="${esc(k.build.log)}" title="the build's log in the cache of the machine that ran it">build log</a>` : "",
        ].filter(Boolean)
      : [];
    const setup = k.boot ? Object.entries(k.boot.setup).filter(([n]) => n !== "uname").map(([n, v]) => `${n}=${v}`).join(" ") : "";
    return `<tr id="job-${esc(k.job)}"><td><b>${esc(k.job)}</b></td><td>${esc(k.release ?? k.version)}</td><td class="${k.status === "ok" ? "v-pass" : "v-fail"}">${esc(k.status)}</td>
<td class="num">${k.build ? `${k.build.seconds}${k.build.cached ? " (cached)" : ""}` : "–"}</td><td class="num">${k.boot?.seconds ?? "–"}</td><td class="num">${k.boot ? k.boot.guest_seconds : "–"}</td><td class="num">${k.seconds}</td>
<td>${logs.join(" · ")}${k.boot ? `<div><code class="cmd" title="rerun this guest by hand, from the run folder">${esc(k.boot.rerun)}</code></div>` : ""}</td><td class="setup">${esc(setup)}</td>
<td>${k.reason ? `<details><summary>${esc(k.reason.split("\n")[0]!)}</summary><pre>${esc(k.reason)}</pre></details>` : ""}${reports(k, inputs)}</td></tr>`;
  });
  return section(
    "kernels",
    "Jobs",
    `<table class="tbl jobs"><tr><th>job</th><th>release</th><th>status</th><th>build s</th><th>boot s</th><th>guest s</th><th>job s</th><th>logs</th><th>guest setup</th><th>reason, kernel reports</th></tr>${rows.join("\n")}</table>`,
  );
}
