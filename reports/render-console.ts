// A guest console as a page: every line numbered with an anchor (console.html#L42), so the
// report can link a case to its result line, which a browser cannot do with a .log file.
// Result lines, testcase markers and kernel reports are marked from the located lines
// (console-lines.ts); the target line is highlighted by :target.
import type { ConsoleAnchors } from "../orchestrator/report/console-lines.ts";
import { esc } from "./render-util.ts";

/** Lines after a report's header that belong to it (its Call Trace, registers...): printk lines, this many at most. */
const REPORT_SPAN = 60;
const PRINTK = /^\[\s*\d+\.\d+\]/;

const STYLE = `
body{margin:0;font:12px/1.5 ui-monospace,SFMono-Regular,Menlo,monospace;color:#1f2328;background:#fff}
header{position:sticky;top:0;background:#f6f8fa;border-bottom:1px solid #d1d9e0;padding:.4em 1em;font:13px system-ui,sans-serif}
pre{margin:0;padding:.3em 0}
.l{display:block;white-space:pre-wrap;padding-right:1em;scroll-margin-top:5em}
.l a.n{display:inline-block;width:5em;text-align:right;padding-right:1em;color:#8c959f;text-decoration:none;user-select:none}
.l.k{color:#59636e} .l.mk{font-weight:700;background:#f6f8fa} .l.nok{color:#d1242f;font-weight:700} .l.ok{color:#1a7f37}
.l.rep{background:#ffebe9;color:#82071e;font-weight:700} .l.repb{background:#fff5f5}
.l:target{background:#fff8c5;outline:2px solid #d4a72c}
`;

export function renderConsoleHtml(title: string, text: string, anchors: ConsoleAnchors, backHref = "../../index.html"): string {
  const cls = new Map<number, string>();
  for (const b of Object.values(anchors.blocks)) {
    cls.set(b.begin, "mk");
    if (b.end !== null) cls.set(b.end, "mk");
  }
  for (const cases of Object.values(anchors.results)) for (const r of Object.values(cases)) cls.set(r.line, r.ok ? "ok" : "nok");
  const lines = text.split("\n");
  for (const r of anchors.reports) {
    cls.set(r.line, "rep");
    for (let n = r.line + 1; n <= Math.min(lines.length, r.line + REPORT_SPAN) && PRINTK.test(lines[n - 1]!) && !cls.has(n); n++) cls.set(n, "repb");
  }
  const body = lines.map((l, i) => {
    const n = i + 1;
    const c = cls.get(n) ?? (PRINTK.test(l) ? "k" : "");
    return `<span class="l${c ? ` ${c}` : ""}" id="L${n}"><a class="n" href="#L${n}">${n}</a>${esc(l)}</span>`;
  });
  const reports = anchors.reports.map((r) => ` · <a href="#L${r.line}">${esc(r.title)}</a>`).join("");
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${esc(title)}</title><style>${STYLE}</style></head><body>
<header><a href="${esc(backHref)}">report</a> · <b>${esc(title)}</b> · ${lines.length} lines${reports ? ` · kernel reports:${reports}` : ""}</header>
<pre>${body.join("")}</pre></body></html>
`;
}
