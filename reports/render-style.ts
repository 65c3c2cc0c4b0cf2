// The page's stylesheet, inlined: the verdict colours (one class per label, used by cells,
// badges and chart bars alike), the sticky bar with the filters, the heatmap and the panel.
import { LABELS } from "./render-util.ts";

/** Fill and text colour of each verdict label. */
export const VERDICT_COLOURS: Record<(typeof LABELS)[number], [string, string]> = {
  pass: ["#3fb950", "#fff"],
  fail: ["#d1242f", "#fff"],
  flaky: ["#e8891d", "#fff"],
  error: ["#bf8700", "#fff"],
  timeout: ["#fb8f44", "#fff"],
  crash: ["#8250df", "#fff"],
  "expected-fail": ["#f2c0c0", "#6e1b1b"],
  "expected-flaky": ["#f6d7b0", "#6b3d0b"],
  skip: ["#d0d7de", "#424a53"],
};

const verdictCss = Object.entries(VERDICT_COLOURS)
  .map(([l, [bg, fg]]) => `.v-${l}{background:${bg};color:${fg}} svg .v-${l}{fill:${bg}}`)
  .join("\n");

const TC_PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#9d755d", "#bab0ac"];

export const STYLE = `
:root{--fg:#1f2328;--muted:#59636e;--line:#d1d9e0;--bg:#fff;--soft:#f6f8fa;--accent:#0969da}
*{box-sizing:border-box}
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--fg);background:var(--bg)}
main{padding:0 1.5em 4em}
header.top{position:sticky;top:0;z-index:10;background:#fffffff2;border-bottom:1px solid var(--line);padding:.5em 1.5em;backdrop-filter:blur(4px)}
header.top h1{font-size:1.15em;margin:0 1em 0 0;display:inline-block}
nav.sections{display:inline-flex;flex-wrap:wrap;gap:.2em .8em;font-size:.92em}
nav.sections a{color:var(--accent);text-decoration:none}
.filters{display:flex;flex-wrap:wrap;gap:.4em .9em;align-items:center;margin-top:.4em;font-size:.9em}
.filters input[type=search]{width:18em;padding:3px 6px;border:1px solid var(--line);border-radius:6px}
.filters select{padding:2px 4px;border:1px solid var(--line);border-radius:6px;background:var(--bg)}
.filters label.vf{cursor:pointer;white-space:nowrap}
.filters label.vf input{vertical-align:middle;margin:0 2px 0 0}
.filters button{padding:2px 8px;border:1px solid var(--line);border-radius:6px;background:var(--soft);cursor:pointer}
h2{font-size:1.2em;margin:1.6em 0 .3em;padding-bottom:.2em;border-bottom:1px solid var(--line)}
h3{font-size:1.02em;margin:1.2em 0 .3em} h4{margin:.8em 0 .2em;font-size:.95em}
section.sec{scroll-margin-top:7em}
.meta{color:var(--muted)} .warn{color:#9a6700}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace;background:var(--soft);padding:0 3px;border-radius:4px}
pre{background:var(--soft);padding:.5em;overflow:auto;max-height:22em;font-size:12px;border-radius:6px;white-space:pre-wrap}
dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.15em 1em;margin:.5em 0}
dl.facts dt{color:var(--muted)} dl.facts dd{margin:0}
.exit{display:inline-block;min-width:1.6em;text-align:center;border-radius:4px;color:#fff}
.exit-0{background:#1a7f37}.exit-1{background:#d1242f}.exit-2{background:#9a6700}
.badge{display:inline-block;padding:0 6px;border-radius:10px;font-size:12px;white-space:nowrap}
button.vchip{border:0;background:none;padding:0;cursor:pointer}
.tbl{border-collapse:collapse;margin:.4em 0;font-size:13px}
.tbl th,.tbl td{border:1px solid var(--line);padding:3px 7px;text-align:left;vertical-align:top}
.tbl th{background:var(--soft);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
td.reason{max-width:40em} td.setup{font-size:12px;max-width:22em} td.cmd code{font-size:11px}
tr.current{background:#fff8c5}
code.cmd{display:inline-block;max-width:60em;overflow-wrap:anywhere}
.legend{margin:.3em 0} .legend .badge{margin-right:2px}
.key{white-space:nowrap;margin-right:.8em;font-size:12px}
/* heatmap */
.hm-wrap{overflow:auto;max-height:80vh;border:1px solid var(--line);border-radius:6px}
table.hm{border-collapse:separate;border-spacing:0;font-size:12px}
table.hm thead th{position:sticky;top:0;background:var(--soft);z-index:2;border-bottom:1px solid var(--line)}
table.hm th.jh{padding:3px 2px;font-weight:600;font-size:11px;line-height:1.2;text-align:center;min-width:46px}
table.hm th.jh a{color:var(--fg);text-decoration:none}
table.hm th.corner{text-align:left;padding:3px 8px;min-width:22em;left:0;z-index:3}
table.hm th.cn{position:sticky;left:0;background:var(--bg);font-weight:normal;text-align:left;padding:1px 8px;max-width:34em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap;border-right:1px solid var(--line)}
table.hm td.c{width:46px;height:19px;text-align:center;cursor:pointer;border-right:1px solid #fff;border-bottom:1px solid #fff;font-size:11px}
table.hm td.c:hover{outline:2px solid var(--fg);outline-offset:-2px}
table.hm td.c.sel{outline:3px solid var(--accent);outline-offset:-3px}
table.hm td.none{background:repeating-linear-gradient(45deg,#fff,#fff 3px,#eef1f4 3px,#eef1f4 6px)}
table.hm td.dim{opacity:.15}
table.hm tr.gh th{position:sticky;left:0;background:#eaeef2;text-align:left;padding:3px 6px;border-top:1px solid var(--line)}
table.hm tr.gh td{text-align:center;font-size:11px;font-weight:600;border-top:1px solid var(--line);border-right:1px solid #fff}
table.hm tbody.closed tr.row{display:none}
button.tog{border:0;background:none;font-weight:700;cursor:pointer;padding:0;font-size:12.5px}
button.tog::before{content:"▾ ";display:inline-block;width:1em}
tbody.closed button.tog::before{content:"▸ "}
/* lists */
details.item{margin:.2em 0;padding:.15em .4em;border:1px solid var(--line);border-radius:6px}
details.item summary{cursor:pointer}
p.links{margin:.3em 0;font-size:13px}
button.more{border:1px solid var(--line);background:var(--soft);border-radius:6px;cursor:pointer;font-size:12px}
.variant{margin-bottom:1em} .min{border-left:3px solid #8250df;padding-left:.6em;margin:.6em 0}
.kreport{font-size:12px;color:#82071e} .kreport.known{color:var(--muted)}
/* charts */
svg.chart text{font:11px system-ui,sans-serif;fill:var(--fg)} svg.chart text.val{fill:var(--muted)}
svg .t-build{fill:#6e7781} svg .t-build-cached{fill:#c7cdd3} svg .t-boot{fill:#0969da} svg .t-guest{fill:#54aeff}
svg .sp{fill:#9ecbff} svg .sp-cur{fill:#0969da} svg .sp-none{fill:#d0d7de}
${TC_PALETTE.map((c, i) => `svg .tc${i}{fill:${c}}`).join(" ")}
svg.share{outline:1px solid var(--line);vertical-align:middle}
/* bisection */
.timeline{display:flex;flex-wrap:wrap;gap:3px;margin:.6em 0}
.timeline .tl{display:inline-flex;flex-direction:column;align-items:center;justify-content:center;min-width:3.2em;height:3em;border-radius:6px;border:1px solid var(--line);text-decoration:none;font-size:12px}
.timeline .tl.untested{background:var(--soft);color:var(--muted)}
.timeline .tl.culprit{outline:3px solid #1f2328;outline-offset:1px;font-weight:700}
.timeline .ord{font-size:10px;opacity:.85}
tr.culprit td{font-weight:600} tr:target{outline:2px solid var(--accent)}
/* the cell's detail panel */
aside.detail{position:fixed;right:1em;bottom:1em;width:min(46em,calc(100vw - 2em));max-height:70vh;overflow:auto;background:var(--bg);border:1px solid var(--line);border-radius:8px;box-shadow:0 8px 24px #1f232833;padding:.6em 1em;z-index:20}
aside.detail h3{margin:.2em 0}
aside.detail .close{float:right;border:1px solid var(--line);background:var(--soft);border-radius:6px;cursor:pointer}
[hidden]{display:none!important}
${verdictCss}
`;
