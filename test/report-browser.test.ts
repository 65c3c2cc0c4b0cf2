// The report as people read it: a real default-matrix run folder (test/fixtures/results/
// report/lab-B) with a run store of three earlier real runs, written by writeReport, opened
// from disk in Debian's Chromium (installed by setup.sh), driven by playwright-core.
// Screenshots of every section go to test-artifacts/report/ (CI keeps them).
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { cp, mkdir, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { readResults, writeReport } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedRun } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { readHistory, recordRun, summarizeRun } from "../orchestrator/results/history.ts";

const FIX = "test/fixtures/results/report";
const SHOTS = resolve("test-artifacts/report");
const SECTIONS = ["run", "matrix", "problems", "series", "explore", "trend", "timing", "kernels", "skips"];

let browser: Browser;
let page: Page;
let url: string;
let B: JudgedRun;
const problems: string[] = [];

async function open(at: string): Promise<Page> {
  const p = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  p.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  p.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  p.on("requestfailed", (r) => problems.push(`request failed: ${r.url()}`));
  await p.goto(at);
  await p.waitForSelector("body[data-ready]");
  return p;
}

/** Rows of the heatmap a reader sees (not filtered out, in an unfolded group). */
const visibleRows = (p: Page): Promise<string[]> => p.locator("#heatmap tr.row:visible th.cn").evaluateAll((ths) => ths.map((t) => t.getAttribute("title") ?? ""));

describe("the HTML report in a browser", () => {
  beforeAll(async () => {
    const policy = await readPolicy();
    const judged = async (name: string): Promise<JudgedRun> => applyPolicy(await readResults(`${FIX}/${name}/results.json`), policy);
    const dir = await mkdtemp(join(tmpdir(), "cowlab-report-browser-"));
    const store = join(dir, "store");
    await cp(`${FIX}/lab-B`, join(dir, "run"), { recursive: true });
    B = await judged("lab-B");
    for (const name of ["bisect", "explore", "lab-A"]) await recordRun(summarizeRun(await judged(name)), store);
    const history = { ...(await readHistory(store)), source: store };
    expect(history.runs).toHaveLength(3);
    const index = await writeReport(B, join(dir, "run"), { history });
    url = `file://${index}`;
    await mkdir(SHOTS, { recursive: true });
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
    page = await open(url);
  }, 60_000);
  afterAll(async () => browser?.close());

  it("shows every section with real content, and saves a screenshot of each", async () => {
    await page.addStyleTag({ content: "header.top{position:static}" }); // keep the bar out of section shots
    const want: Record<string, string> = {
      run: "cowlab run --out /tmp/real/lab-B",
      matrix: "vmsplice-child-thp",
      problems: "5.10/base/x86_64",
      series: "anon-exclusive-off",
      explore: "shmem-thp-private | pin:gup-ro | read:parent",
      trend: "2026-11-26T04-31-24-680Z",
      timing: "Guest time across runs",
      kernels: "6.12.117",
      skips: "×",
    };
    const saved: string[] = [];
    for (const id of SECTIONS) {
      const s = page.locator(`#${id}`);
      expect(await s.isVisible(), id).toBe(true);
      expect(await s.textContent(), id).toContain(want[id]);
      const file = join(SHOTS, `${id}.png`);
      await s.screenshot({ path: file });
      saved.push(file);
    }
    const full = join(SHOTS, "full-page.png");
    await page.screenshot({ path: full, fullPage: true });
    console.log(`report screenshots:\n  ${[...saved, full].join("\n  ")}`);
    await page.reload();
    await page.waitForSelector("body[data-ready]");
  }, 60_000);

  it("draws the jobs as heatmap columns in matrix order, coloured by verdict, the explorer folded", async () => {
    expect(await page.locator("#heatmap th.jh").evaluateAll((ths) => ths.map((t) => t.textContent))).toEqual([
      "5.10basex86_64", "5.10basearm64", "6.1basex86_64", "6.1basearm64", "6.12basex86_64", "6.12basearm64", "6.12anon-exclusive-offx86_64", "6.12anon-exclusive-offarm64", "7.3basex86_64", "7.3basearm64",
    ]);
    const bg = (sel: string): Promise<string> => page.locator(sel).first().evaluate((e) => getComputedStyle(e).backgroundColor);
    expect(await bg("#heatmap td.c.v-expected-fail")).toBe("rgb(242, 192, 192)");
    expect(await bg("#heatmap td.c.v-pass")).toBe("rgb(63, 185, 80)");
    expect(await page.locator('#heatmap tbody[data-tc="explore"] tr.row:visible').count()).toBe(0);
    await page.locator('#heatmap tbody[data-tc="explore"] button.tog').click();
    expect(await page.locator('#heatmap tbody[data-tc="explore"] tr.row:visible').count()).toBe(52);
    await page.locator('#heatmap tbody[data-tc="explore"] button.tog').click();
  });

  it("narrows the rows to a search, hides passes by the verdict filter, and keeps the state in the URL", async () => {
    const all = (await visibleRows(page)).length;
    await page.fill("#f-q", "fork-cow-thp");
    await expect.poll(async () => (await visibleRows(page)).length).toBeLessThan(all);
    const found = await visibleRows(page);
    const expected = new Set(B.results.filter((r) => r.testcase !== "explore" && `${r.testcase}/${r.case}`.includes("fork-cow-thp")).map((r) => `${r.testcase}/${r.case}`));
    expect(new Set(found)).toEqual(expected);
    await page.fill("#f-q", "");
    // The search applies after a short pause: wait for every row back, or the pass filter below
    // is judged while the old search still hides everything (it did, on a loaded host).
    await expect.poll(async () => (await visibleRows(page)).length).toBe(all);
    await page.locator('#f-v input[value="pass"]').uncheck();
    await expect.poll(() => page.locator("#heatmap td.c.v-pass:visible:not(.dim)").count()).toBe(0);
    const failing = new Set(B.results.filter((r) => r.testcase !== "explore" && r.status !== "pass").map((r) => `${r.testcase}/${r.case}`));
    await expect.poll(async () => new Set(await visibleRows(page))).toEqual(failing);
    await page.selectOption("#f-k", "5.10");
    await expect.poll(() => page.locator("#heatmap th.jh:visible").count()).toBe(2);
    const hash = new URL(page.url()).hash;
    expect(hash).toBe("#?v=expected-fail%2Cskip&k=5.10");
    const rows = await visibleRows(page);

    const again = await open(url + hash);
    expect(await again.locator('#f-v input[value="pass"]').isChecked()).toBe(false);
    expect(await again.locator("#f-k").inputValue()).toBe("5.10");
    expect(await visibleRows(again)).toEqual(rows);
    expect(await again.locator("#heatmap th.jh:visible").count()).toBe(2);
    await again.screenshot({ path: join(SHOTS, "filtered-5.10-no-pass.png") });
    await again.close();
    await page.click("#f-reset");
    await expect.poll(async () => (await visibleRows(page)).length).toBe(all);
    expect(new URL(page.url()).hash).toBe("");
  });

  it("filters the lists too: a verdict chip of the run section shows only that verdict", async () => {
    await page.locator('#run button.vchip[data-only="expected-fail"]').click();
    expect(await page.locator('#f-v input[value="pass"]').isChecked()).toBe(false);
    expect(await page.locator('#f-v input[value="expected-fail"]').isChecked()).toBe(true);
    expect(await page.locator("#problems details.item:visible").count()).toBe(B.results.filter((r) => r.family !== "explore" && r.expected).length);
    await page.fill("#f-q", "vmsplice-child-thp-swap");
    await expect.poll(() => page.locator("#problems details.item:visible").count()).toBe(B.results.filter((r) => r.case === "vmsplice-child-thp-swap" && r.expected).length);
    await page.click("#f-reset");
  });

  it("opens a clicked cell's detail: reason, attempts, console line and how to make its bundle", async () => {
    const i = B.results.findIndex((r) => r.job === "5.10/base/x86_64" && r.testcase === "gup-after-fork" && r.case === "vmsplice-child-thp");
    await page.locator(`#heatmap td.c[data-i="${i}"]`).click();
    const detail = page.locator("#detail");
    await expect.poll(() => detail.isVisible()).toBe(true);
    const text = (await detail.textContent()) ?? "";
    expect(text).toContain("5.10/base/x86_64 · gup-after-fork / vmsplice-child-thp");
    expect(text).toContain(B.results[i]!.reason.split("\n")[0]!);
    expect(text).toContain("known issue: PMD-mapped THP write fault");
    expect(text).toContain("cowlab bundle results.json '5.10/base/x86_64 gup-after-fork/vmsplice-child-thp'");
    expect(await detail.locator("table.attempts tr").count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, "cell-detail.png") });
  });

  it("follows the detail's console link to the case's result line in the console's view", async () => {
    await page.locator("#detail a", { hasText: "console line" }).click();
    await page.waitForURL(/guests\/5\.10-base-x86_64\/console\.html#L\d+$/);
    const target = page.locator(":target");
    expect(await target.textContent()).toMatch(/^\d+\s*not ok \d+ vmsplice-child-thp$/);
    expect(await target.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(255, 248, 197)");
    expect(await target.evaluate((e) => { const r = e.getBoundingClientRect(); return r.top >= 0 && r.bottom <= innerHeight; })).toBe(true);
    await page.screenshot({ path: join(SHOTS, "console-line.png") });
    await page.goBack();
    await page.waitForSelector("body[data-ready]");
  });

  it("loaded nothing from outside and logged no error", () => {
    expect(problems).toEqual([]);
  });
});
