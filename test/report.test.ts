// The HTML report on real runs (test/fixtures/results/report/README.md): every section and
// its counts, links into consoles at the right line, escaping of kernel text, and a few
// cases real runs do not have (flaky attempts, every way a bisection step is decided).
import { describe, expect, it, beforeAll } from "vitest";
import { cp, mkdtemp, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { execa } from "execa";
import { renderHtml } from "../reports/render.ts";
import { renderConsoleHtml } from "../reports/render-console.ts";
import type { ConsoleView, ReportInputs } from "../reports/render-util.ts";
import { consoleAnchors } from "../orchestrator/report/console-lines.ts";
import { readResults, writeReport } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedCase, type JudgedRun, type Policy } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { recordRun, summarizeRun } from "../orchestrator/results/history.ts";

const FIX = "test/fixtures/results/report";
let policy: Policy;
const judged = async (name: string): Promise<JudgedRun> => applyPolicy(await readResults(`${FIX}/${name}/results.json`), policy);
const tmp = (): Promise<string> => mkdtemp(join(tmpdir(), "cowlab-report-"));
/** The part of the page from one section's opening tag to the next section's. */
const sectionOf = (html: string, id: string): string => {
  const at = html.indexOf(`<section id="${id}"`);
  if (at < 0) return "";
  const end = html.indexOf("<section id=", at + 1);
  return html.slice(at, end < 0 ? html.indexOf("</main>") : end);
};
const count = (text: string, re: RegExp): number => (text.match(new RegExp(re.source, "g")) ?? []).length;

/** The 1-based line of the first console line matching `re` after the line matching `after`. */
function lineOf(text: string, after: RegExp, re: RegExp): number {
  const lines = text.split("\n");
  const from = lines.findIndex((l) => after.test(l));
  return lines.findIndex((l, i) => i > from && re.test(l)) + 1;
}

beforeAll(async () => {
  policy = await readPolicy();
});

describe("the report of a real default-matrix run", () => {
  let A: JudgedRun;
  let B: JudgedRun;
  let html: string;
  let console510: string;
  let view: ConsoleView;
  beforeAll(async () => {
    [A, B] = await Promise.all([judged("lab-A"), judged("lab-B")]);
    console510 = await readFile(`${FIX}/lab-B/guests/5.10-base-x86_64/console.log`, "utf8");
    view = { html: "guests/5.10-base-x86_64/console.html", anchors: consoleAnchors(console510) };
    const inputs: ReportInputs = {
      consoles: new Map([["guests/5.10-base-x86_64/console.log", view]]),
      files: new Set(),
      history: { runs: [summarizeRun(A)], warnings: [], source: "/cache/runs" },
    };
    html = renderHtml(B, inputs);
  });

  it("says what ran, where, for how long, and what the exit code means", () => {
    const run = sectionOf(html, "run");
    expect(run).toContain("<code>cowlab run --out /tmp/real/lab-B</code>");
    expect(run).toContain("2026-11-26T04:36:46.786Z");
    expect(run).toContain("6 min 13 s");
    expect(run).toContain("vm: 2 cores, 24 GiB, QEMU 7.2.22");
    expect(run).toContain("10 (10 ok)");
    expect(run).toMatch(/<b class="exit exit-0">0<\/b> every case passed, was skipped, or failed as a known issue predicts/);
    expect(run).toContain("expected-fail 154</span>");
    expect(run).toContain("skip 203</span>");
    expect(run).toContain("pass 1203</span>");
  });

  it("draws one heatmap column per job in matrix order and one cell per result, grouped by testcase with the explorer folded", () => {
    const m = sectionOf(html, "matrix");
    const heads = [...m.matchAll(/<th class="jh" data-j="\d+" title="([^:"]+):/g)].map((x) => x[1]);
    expect(heads).toEqual(["5.10/base/x86_64", "5.10/base/arm64", "6.1/base/x86_64", "6.1/base/arm64", "6.12/base/x86_64", "6.12/base/arm64", "6.12/anon-exclusive-off/x86_64", "6.12/anon-exclusive-off/arm64", "7.3/base/x86_64", "7.3/base/arm64"]);
    expect(count(m, /<td class="c v-/)).toBe(B.results.filter((r) => r.case !== "*").length);
    expect(count(m, /<td class="c v-expected-fail"/)).toBe(154);
    expect([...m.matchAll(/<tbody class="grp( closed)?" data-tc="([^"]+)"/g)].map((x) => `${x[2]}${x[1] ?? ""}`)).toEqual(["gup-after-fork", "gup-before-fork", "swap", "migration", "explore closed"]);
    expect(m).toContain('<span class="gm meta">49 cases</span>');
  });

  it("gives each cell its verdict and reason as a tooltip", () => {
    const i = B.results.findIndex((r) => r.job === "5.10/base/x86_64" && r.testcase === "gup-after-fork" && r.case === "vmsplice-child-thp");
    const cell = new RegExp(`<td class="c v-expected-fail" data-i="${i}" data-j="0" title="expected-fail · \\d+ ms\\n[^"]*known issue: PMD-mapped THP write fault`);
    expect(sectionOf(html, "matrix")).toMatch(cell);
  });

  it("lists the testcases' failures worst first, each with its console line and how to make its bundle", () => {
    const p = sectionOf(html, "problems");
    expect(count(p, /<details class="item"/)).toBe(B.results.filter((r) => r.family !== "explore" && r.expected).length);
    const line = lineOf(console510, /^# cowlab-begin gup-after-fork/, /^\s*not ok \d+ vmsplice-child-thp$/);
    expect(line).toBeGreaterThan(0);
    expect(p).toContain(`<a class="cl" href="guests/5.10-base-x86_64/console.html#L${line}">console line</a>`);
    expect(p).toContain("bundle: <code class=\"cmd\">cowlab bundle results.json &#39;5.10/base/x86_64 gup-after-fork/vmsplice-child-thp&#39;</code>");
  });

  it("shows what the anon-exclusive-off series changed on each arch", () => {
    const s = sectionOf(html, "series");
    expect(count(s, /<div class="variant">/)).toBe(2);
    expect(s).toContain("6.12 x86_64: <code>anon-exclusive-off</code> against base");
    expect(s).toContain('6.12 x86_64: <code>anon-exclusive-off</code> against base</h3><p class="meta"><span class="badge v-fail">27 regressions</span> <span class="badge v-expected-fail">27 predicted by known issues</span> <span class="badge v-pass">0 fixes</span> <span class="badge v-skip">4 other changes</span>');
    expect(s).toContain('6.12 arm64: <code>anon-exclusive-off</code> against base</h3><p class="meta"><span class="badge v-fail">17 regressions</span> <span class="badge v-expected-fail">17 predicted by known issues</span> <span class="badge v-pass">0 fixes</span> <span class="badge v-skip">12 other changes</span>');
    expect(count(s, /<tr data-fi=/)).toBe(60);
  });

  it("counts the explorer's scenarios per job and lists the failing ones", () => {
    const e = sectionOf(html, "explore");
    expect(count(e, /<tr><td>[^<]+<\/td><td class="num">52<\/td>/)).toBe(10);
    expect(count(e, /<details class="item"/)).toBe(36);
    expect(e).toContain("None (nothing to shrink, or --no-shrink).");
  });

  it("charts each job's build, guest and programs, and its guest time in the earlier run", () => {
    const t = sectionOf(html, "timing");
    expect(count(t, /<svg class="chart c-build"/)).toBe(1);
    const k = B.kernels.find((x) => x.job === "6.12/base/x86_64")!;
    expect(t).toContain(`<title>6.12/base/x86_64: build ${k.build!.seconds} s (cached`);
    expect(t).toContain(`<title>6.12/base/x86_64: boot ${k.boot!.seconds} s`);
    expect(t).toContain(`<title>6.12/base/x86_64: explore ${k.boot!.testcases.find((x) => x.id === "explore")!.ms} ms, exit 0</title>`);
    const a = A.kernels.find((x) => x.job === "6.12/base/x86_64")!;
    expect(t).toContain(`<title>${A.run.id}: guest ${a.boot!.guest_seconds} s`);
    expect(count(t, /<rect class="sp-cur"/)).toBe(10);
  });

  it("says the fixtures' runs have no stage timings, and charts each job's stages when results have them", () => {
    expect(sectionOf(html, "timing")).toContain("No stage timings in these results");
    const staged: JudgedRun = {
      ...B,
      kernels: B.kernels.map((k, i) =>
        i === 0
          ? { ...k, build: { ...k.build!, cached: false, incremental: { fresh: false, rewritten: 1, compiled: 4 } }, stages: { source: 0.4, patch: 1.2, config: 0, compile: 2.9, link: 3.2, reproducers: 2.7, initramfs: 0.1, boot: 1.7, suite: 24.5 } }
          : k,
      ),
    };
    const t = sectionOf(renderHtml(staged, { consoles: new Map(), files: new Set(), history: undefined }), "timing");
    const job = B.kernels[0]!.job;
    expect(count(t, /<svg class="chart c-stages"/)).toBe(1);
    expect(t).toContain(`<title>${job}: compile 2.9 s</title>`);
    expect(t).not.toContain(`<title>${job}: config 0 s</title>`); // a stage that took no time draws nothing
    expect(t).toContain("4 C files from 1 changed");
  });

  it("compares with the earlier run of the same matrix: counts per run and the cases that changed", () => {
    const t = sectionOf(html, "trend");
    expect(t).toContain("Run store <code>/cache/runs</code>: 1 run(s)");
    expect(count(t, /<tr( class="current")?><td><code>2026-/)).toBe(2);
    expect(t).toContain(`New failures since <code>${A.run.id}</code>`);
    expect(t).toContain("New failures: none. Fixed: none.");
    expect(t).toContain("<b>Other changes: 86</b>");
  });

  it("lists the jobs with their console views and rerun lines", () => {
    const k = sectionOf(html, "kernels");
    expect(count(k, /<tr id="job-/)).toBe(10);
    expect(k).toContain('<a class="console" href="guests/5.10-base-x86_64/console.html">console</a>');
    expect(k).toContain('<a class="console" href="guests/6.12-base-x86_64/console.log">console</a>'); // no view given: the file itself
  });

  it("embeds the facts for the filters and the detail panel, with links resolved", () => {
    const json = /<script type="application\/json" id="cowlab-data">(.*?)<\/script>/s.exec(html)![1]!;
    const data = JSON.parse(json) as { jobs: unknown[]; cases: { v: string; h?: string; bc?: string; a?: unknown[] }[] };
    expect(data.jobs).toHaveLength(10);
    expect(data.cases).toHaveLength(B.results.length);
    const failing = data.cases.filter((c) => c.v === "expected-fail");
    expect(failing).toHaveLength(154);
    expect(failing.every((c) => c.bc?.startsWith("cowlab bundle results.json '") && c.a?.length === 1)).toBe(true);
  });

  it("says when the run store was not read", () => {
    expect(sectionOf(renderHtml(B), "trend")).toContain("The run store was not read (--no-history).");
  });
});

describe("console lines", () => {
  it("locates each testcase block, each case's result line and the explorer's scenarios in a real console", async () => {
    const text = await readFile("test/fixtures/consoles/6.12-x86_64-nested-ktap.log", "utf8");
    const a = consoleAnchors(text);
    expect(a.lines).toBe(text.split("\n").length);
    expect(Object.keys(a.blocks)).toEqual(["gup-after-fork", "gup-before-fork", "swap", "migration", "explore"]);
    expect(a.blocks.swap).toEqual({ begin: lineOf(text, /^KTAP version 1$/, /^# cowlab-begin swap /), end: lineOf(text, /^KTAP version 1$/, /^# cowlab-end swap /) });
    expect(Object.keys(a.results["gup-after-fork"]!)).toHaveLength(49);
    expect(a.results["gup-after-fork"]!["vmsplice-child-hugetlb"]).toEqual({ line: lineOf(text, /^# cowlab-begin gup-after-fork/, /^ {4}not ok \d+ vmsplice-child-hugetlb$/), ok: false });
    expect(a.results.swap!["swapout-pinned-base"]?.ok ?? true).toBe(true);
    expect(Object.keys(a.results.explore!)).toHaveLength(390);
    expect(text.split("\n")[a.results.explore!["base | write:parent | read:parent"]!.line - 1]).toBe("scenario base | write:parent | read:parent");
  });

  it("locates a kernel report and a result line a printk was spliced into", async () => {
    const oops = consoleAnchors(await readFile("test/fixtures/consoles/6.12-x86_64-debug-vm-vm-bug-on-page.log", "utf8"));
    expect(oops.reports).toHaveLength(1);
    expect(oops.reports[0]!.title).toMatch(/^page dumped because: VM_BUG_ON_PAGE/);
    expect(oops.blocks["gup-after-fork"]!.end).toBeNull();
    const spliced = await readFile("test/fixtures/consoles/6.12-x86_64-printk-inside-a-result-line.log", "utf8");
    const r = consoleAnchors(spliced).results["gup-before-fork"]!["iouring-fork-parent-write-base"]!;
    // "not ok 1 iouring[    1.18] input: ..." then "-fork-parent-write-base": the result is read on its second half
    expect(r.ok).toBe(false);
    expect(spliced.split("\n")[r.line - 1]).toBe("-fork-parent-write-base");
  });

  it("renders a console view with an anchor per line, results and reports marked", async () => {
    const text = await readFile("test/fixtures/consoles/6.12-x86_64-debug-vm-vm-bug-on-page.log", "utf8");
    const a = consoleAnchors(text);
    const page = renderConsoleHtml("guests/x/console.log", text, a);
    expect(count(page, /<span class="l[^"]*" id="L\d+">/)).toBe(text.split("\n").length);
    expect(page).toContain(`<span class="l rep" id="L${a.reports[0]!.line}">`);
    const failed = Object.values(a.results["gup-after-fork"]!).find((r) => !r.ok);
    expect(failed).toBeDefined();
    expect(page).toContain(`<span class="l nok" id="L${failed!.line}">`);
    expect(page).toContain(`<a href="#L${a.reports[0]!.line}">page dumped because:`);
  });
});

describe("escaping kernel text", () => {
  it("escapes reasons, titles and console lines everywhere, and cannot close the embedded data's script element", async () => {
    const B = await judged("lab-B");
    const evil = "</script><img src=x onerror=alert(1)> & 'q' \"d\"";
    const i = B.results.findIndex((r) => r.expected);
    const r: JudgedCase = { ...B.results[i]!, reason: evil, attempts: [{ ...B.results[i]!.attempts[0]!, reason: evil, report: evil, status: "crash" }], status: "crash" };
    delete r.expected;
    const k = B.kernels.findIndex((x) => x.job === r.job);
    const kernels = B.kernels.map((x, n) => (n === k ? { ...x, reason: evil, boot: { ...x.boot!, reports: [{ title: evil }] } } : x));
    const html = renderHtml({ ...B, results: B.results.map((x, n) => (n === i ? r : x)), kernels });
    expect(html).not.toContain("<img src=x");
    expect(html).toContain("&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt; &amp; &#39;q&#39; &quot;d&quot;");
    expect(count(html, /<\/script>/g)).toBe(2); // the data's and the script's own
    const json = /<script type="application\/json" id="cowlab-data">(.*?)<\/script>/s.exec(html)![1]!;
    expect(JSON.parse(json).cases[i].r).toBe(evil);
    const view = renderConsoleHtml("c", `[    1.0] ${evil}\nok 1 x`, consoleAnchors(`[    1.0] ${evil}\nok 1 x`));
    expect(view).not.toContain("<img src=x");
  });
});

describe("the report of a real bisection", () => {
  it("draws the range as a timeline with the culprit outlined, and the steps in test order", async () => {
    const html = renderHtml(await judged("bisect"));
    const b = sectionOf(html, "bisect");
    expect(count(b, /class="tl /)).toBe(9); // base and 8 changes
    expect(b).toMatch(/<a class="tl v-fail culprit" href="#bisect-step-3"[^>]*><span class="pos">3<\/span><span class="ord">#2<\/span><\/a>/);
    expect(b).toMatch(/<span class="tl untested" title="5: not tested">/);
    expect(b).toContain("First bad change: <code>0003-mm-rmap-share-possibly-pinned-anonymous-folios-with.patch</code> mm/rmap: share possibly pinned anonymous folios with the child at fork");
    expect(b).toContain("4 steps in 5.8 s · 1 same image (not booted)");
    expect([...b.matchAll(/<tr id="bisect-step-(\d+)"/g)].map((m) => m[1])).toEqual(["8", "3", "1", "2"]);
    expect(b).toContain('<tr id="bisect-step-3" class="culprit">');
  });

  it("recent bisections from the run store show in the trend", async () => {
    const bis = await judged("bisect");
    const A = await judged("lab-A");
    const html = renderHtml(A, { history: { runs: [summarizeRun(bis)], warnings: ["/s/x.json: skipped, not JSON"], source: "/s" } });
    const t = sectionOf(html, "trend");
    expect(t).toContain("Recent bisections in the store");
    expect(t).toContain("<code>0003-mm-rmap-share-possibly-pinned-anonymous-folios-with.patch</code>");
    expect(t).toContain("No earlier run of the same 10 job(s) in the store (1 earlier run(s) of other matrices).");
    expect(t).toContain("1 file(s) of the store skipped");
  });
});

describe("the report of a real exploration", () => {
  it("lists the minimized findings with their reproducer, linked when the file is in the run folder", async () => {
    const html = renderHtml(await judged("explore"), { files: new Set(["explore/thp__fork__pin-vmsplice-child__write-child__write-parent__read-pin.c"]) });
    const e = sectionOf(html, "explore");
    expect(count(e, /<div class="min">/)).toBe(6);
    expect(e).toContain('<a class="repro" href="explore/thp__fork__pin-vmsplice-child__write-child__write-parent__read-pin.c">');
    expect(count(e, /\(not in this folder\)/)).toBe(5);
    expect(e).toContain("<code class=\"scn\">hugetlb:2M | pin:iouring | fork | write:parent | read:pin</code> — fails on 5.10/base/x86_64: pin-coherence");
    expect(e).toContain("from <code>hugetlb:2M | pin:iouring | fork | read:parent | write:parent | read:pin</code> · 2 round(s), 13 candidates run");
  });
});

describe("attempts (a synthetic flaky case: no real run has one yet)", () => {
  it("shows a flaky case's pass rate in its tooltip and counts it as flaky", async () => {
    const B = await judged("lab-B");
    const i = B.results.findIndex((r) => r.job === "6.12/base/x86_64" && r.case === "fork-cow-base");
    const attempts = [
      { status: "pass" as const, duration_ms: 40, reason: "", guest: 1 },
      { status: "fail" as const, duration_ms: 90, reason: "pin saw the old data", guest: 2 },
      { status: "pass" as const, duration_ms: 50, reason: "", guest: 3 },
    ];
    const flaky: JudgedCase = { ...B.results[i]!, status: "flaky", attempts, duration_ms: 50, reason: "passed 2 of 3 attempts; attempt 2 (fail): pin saw the old data" };
    const html = renderHtml({ ...B, results: B.results.map((r, n) => (n === i ? flaky : r)) });
    expect(html).toMatch(new RegExp(`<td class="c v-flaky" data-i="${i}" data-j="4" title="flaky · 50 ms · 2/3 attempts passed\\npassed 2 of 3 attempts`));
    expect(sectionOf(html, "run")).toContain("flaky 1</span>");
    expect(sectionOf(html, "problems")).toContain('<span class="badge v-flaky">flaky 67% passed</span>');
  });
});

describe("bisection steps decided without their own guests (synthetic: every kind at once)", () => {
  type Step = NonNullable<JudgedRun["bisect"]>["steps"][number];
  const step = (position: number, verdict: Step["verdict"], decided_by: Step["decided_by"], extra: Partial<Step> = {}): Step => ({
    position, label: `000${position}-p.patch`, subject: `patch ${position}`, verdict, why: "see the facts", decided_by, same_as: null, noop_files: [], attempts: null, image_sha256: null,
    build_seconds: null, build_cached: null, boot_seconds: null, seconds: 0, ...extra,
  });
  it("says how each step was decided, with the step it took the verdict from, and how flaky the failure was", async () => {
    const bis = await judged("bisect");
    const built = { build_seconds: 30, build_cached: false, boot_seconds: 1 };
    const html = renderHtml({
      ...bis,
      bisect: {
        ...bis.bisect!, changes: 8, culprit: { position: 7, label: "0007-p.patch", subject: "patch 7" }, conclusion: "0007-p.patch: patch 7",
        flake: { failing: 3, run: 6, hint: "the failure showed in 3 of 6 attempts: a step with the bug passes all 3 with probability 13%; --repeat 5 brings that under 5%" },
        steps: [
          step(8, "bad", "guests", { ...built, attempts: { failing: 2, run: 3 }, image_sha256: "a".repeat(64) }),
          step(5, "good", "guests", { ...built, attempts: { failing: 0, run: 3 }, image_sha256: "b".repeat(64) }),
          step(6, "good", "same-source", { same_as: 5, noop_files: ["mm/swapfile.c"] }),
          step(7, "bad", "same-image", { build_seconds: 20, build_cached: false, same_as: 8, image_sha256: "a".repeat(64) }),
          step(4, "skip", "untested"),
        ],
        seconds: 90,
      },
    });
    const row = (position: number): string => html.slice(html.indexOf(`<tr id="bisect-step-${position}"`)).split("</tr>")[0]!;
    expect(row(8)).toContain("<td>guests</td><td>2 of 3 failing</td>");
    expect(row(6)).toContain('<td><i title="only comments/whitespace or outside the build: mm/swapfile.c">no-op: not built</i>, verdict of <a href="#bisect-step-5">5</a></td><td>–</td>');
    expect(row(7)).toContain(`<td><i title="sha256 ${"a".repeat(64)}">same image: not booted</i>, verdict of <a href="#bisect-step-8">8</a></td><td>–</td>`);
    expect(row(4)).toContain("<td>not tested</td><td>–</td>");
    expect(html).toContain("5 steps in 90 s · 1 no-op (not built), 1 same image (not booted)</p>");
    expect(html).toContain('<p class="meta flake">Flaky: the failure showed in 3 of 6 attempts');
  });
});

describe("writing the report of a run folder", () => {
  it("writes each console's view beside it, links cases to their line, and finds the bundles that exist", async () => {
    const dir = await tmp();
    await cp(`${FIX}/lab-B`, dir, { recursive: true });
    const B = await judged("lab-B");
    const r = B.results.find((x) => x.job === "6.12/base/x86_64" && x.case === "vmsplice-child-hugetlb")!;
    const { bundleFile } = await import("../orchestrator/bundle/paths.ts");
    const { writeFileAtomic } = await import("../orchestrator/util/fsx.ts");
    await writeFileAtomic(join(dir, bundleFile(r)), "a bundle");
    const page = await readFile(await writeReport(B, dir), "utf8");
    const view = await readFile(join(dir, "guests/6.12-base-x86_64/console.html"), "utf8");
    const text = await readFile(join(dir, "guests/6.12-base-x86_64/console.log"), "utf8");
    const line = lineOf(text, /^# cowlab-begin gup-after-fork/, /^\s*not ok \d+ vmsplice-child-hugetlb$/);
    expect(page).toContain(`href="guests/6.12-base-x86_64/console.html#L${line}"`);
    expect(view).toMatch(new RegExp(`<span class="l nok" id="L${line}"><a class="n" href="#L${line}">${line}</a>\\s*not ok \\d+ vmsplice-child-hugetlb</span>`));
    expect(view).toContain('<a href="../../index.html">report</a>');
    expect(page).toContain(`<a class="bl" href="${bundleFile(r)}">replay bundle</a>`);
  });

  it("a report written elsewhere leaves the run's own console views (and their back links) as they are", async () => {
    const dir = await tmp();
    await cp(`${FIX}/lab-B`, dir, { recursive: true });
    const B = await judged("lab-B");
    await writeReport(B, dir);
    const viewFile = join(dir, "guests/6.12-base-x86_64/console.html");
    const before = await readFile(viewFile, "utf8");
    const out = await tmp();
    const page = await readFile(await writeReport(B, out, { runDir: dir }), "utf8");
    expect(await readFile(viewFile, "utf8")).toBe(before);
    expect(before).toContain('<a href="../../index.html">report</a>');
    expect(page).toMatch(new RegExp(`href="${relative(out, dir)}/guests/6.12-base-x86_64/console.html#L\\d+"`));
  });
});

describe("a run with --repeat 2 (two guests per job)", () => {
  it("links each attempt to its own guest's console view at the case's line, and each rerun's console from the jobs table", async () => {
    const dir = await tmp();
    await cp(`${FIX}/repeat`, dir, { recursive: true });
    const R = await judged("repeat");
    const page = await readFile(await writeReport(R, dir), "utf8");
    const i = R.results.findIndex((r) => r.expected);
    const r = R.results[i]!;
    expect(r.attempts.map((a) => a.guest)).toEqual([1, 2]);
    const data = JSON.parse(/<script type="application\/json" id="cowlab-data">(.*?)<\/script>/s.exec(page)![1]!) as { cases: { a: { g: number; h: string }[] }[] };
    const [first, second] = data.cases[i]!.a;
    expect(first!.h).toMatch(/^guests\/5\.10-base-x86_64\/console\.html#L\d+$/);
    expect(second!.h).toMatch(/^guests\/5\.10-base-x86_64\/guest-2\/console\.html#L\d+$/);
    for (const [a, log] of [[first!, "console.log"], [second!, "guest-2/console.log"]] as const) {
      const text = await readFile(join(dir, "guests/5.10-base-x86_64", log), "utf8");
      const line = Number(a.h.split("#L")[1]);
      expect(line).toBe(lineOf(text, new RegExp(`^# cowlab-begin ${r.testcase}`), new RegExp(`^\\s*not ok \\d+ ${r.case}$`)));
    }
    expect(sectionOf(page, "kernels")).toContain('<a class="console" href="guests/5.10-base-x86_64/guest-2/console.html">repeat 2</a>');
    expect(await readFile(join(dir, "guests/5.10-base-x86_64/guest-2/console.html"), "utf8")).toContain('<a href="../../../index.html">report</a>');
  });
});

describe("cowlab report", () => {
  it("reads the run store given by --history (a corrupt file is a warning), or none with --no-history", async () => {
    const dir = await tmp();
    const store = await tmp();
    await cp(`${FIX}/lab-B`, dir, { recursive: true });
    await recordRun(summarizeRun(await judged("lab-A")), store);
    await (await import("node:fs/promises")).writeFile(join(store, "bad.json"), "{");
    const out = await tmp();
    const r = await execa("node", ["bin/cowlab.js", "report", join(dir, "results.json"), "--history", store, "--out", out], { reject: false });
    expect(r.stderr).toContain(`cowlab: warning: ${join(store, "bad.json")}: skipped, not JSON`);
    expect(r.exitCode).toBe(0);
    const page = await readFile(join(out, "index.html"), "utf8");
    expect(sectionOf(page, "trend")).toContain("<b>Other changes: 86</b>");
    // the page is elsewhere: its links go to the run folder
    expect(page).toMatch(new RegExp(`href="${relative(out, dir)}/guests/6.12-base-x86_64/console.html#L\\d+"`));
    const none = await execa("node", ["bin/cowlab.js", "report", join(dir, "results.json"), "--no-history"], { reject: false, env: { COWLAB_CACHE: store } });
    expect(none.exitCode).toBe(0);
    expect(none.stderr).not.toContain("warning");
    expect(sectionOf(await readFile(join(dir, "index.html"), "utf8"), "trend")).toContain("The run store was not read (--no-history).");
   }, 60_000); // spawns cowlab twice: slow on a loaded 2-core host
});
