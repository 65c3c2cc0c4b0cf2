// The report as people read it: rendered by Debian's Chromium (installed by setup.sh),
// driven by playwright-core, opened from disk like a user would.
import { describe, expect, it, beforeAll, afterAll } from "vitest";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { chromium, type Browser, type Page } from "playwright-core";
import { renderHtml } from "../reports/render.ts";
import type { JudgedCase as CaseResult, JudgedKernel as KernelEntry, JudgedRun as RunResults } from "../orchestrator/results/policy.ts";

const entry = (job: string): KernelEntry => {
  const [spec, variant, arch] = job.split("/") as [string, string, string];
  return { job, kernel_spec: spec, variant, arch, source: "s", version: spec, release: `${spec}.0`, status: "ok", reason: "", build: null, boot: null, reruns: [], known_reports: [], seconds: 1 };
};
const res = (job: string, name: string, status: CaseResult["status"], extra: Partial<CaseResult> = {}): CaseResult => {
  const [spec, variant, arch] = job.split("/") as [string, string, string];
  return { job, kernel: `${spec}.0`, arch, variant, testcase: "swap", case: name, family: "swap", status, duration_ms: 3, reason: status === "pass" ? "" : `${name} went wrong`, attempts: [{ status: status === "flaky" ? "fail" : status, duration_ms: 3, reason: "", guest: 1 }], ...extra };
};
const data: RunResults = {
  schema_version: 2,
  run: { id: "r1", started_at: "2026-01-01T00:00:00Z", finished_at: "2026-01-01T00:01:00Z", complete: true, seconds: 60, command: "cowlab run", shard: null, repeat: 1, retry_failed: 0, host: { hostname: "h", cores: 2, memory_gib: 24, qemu: "7.2", node: "v20" } },
  // finishing order, not matrix order: the report sorts them
  kernels: [entry("6.12/base/arm64"), entry("5.10/base/x86_64"), entry("6.12/base/x86_64")],
  results: [
    res("5.10/base/x86_64", "rw-pin-ro-remap-base", "fail", { expected: { reason: "before PageAnonExclusive", fixed_in: "5.19" } }),
    res("6.12/base/x86_64", "rw-pin-ro-remap-base", "pass"),
    res("6.12/base/arm64", "rw-pin-ro-remap-base", "crash", { reason: "kernel BUG at mm/gup.c:63!" }),
    res("5.10/base/x86_64", "ro-pin-ro-remap-base", "skip", { reason: "needs Linux 6.2+" }),
  ],
};

let browser: Browser;
let page: Page;

describe("the HTML report in a browser", () => {
  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "cowlab-report-"));
    await writeFile(join(dir, "index.html"), renderHtml(data));
    browser = await chromium.launch({ executablePath: "/usr/bin/chromium", args: ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"] });
    page = await browser.newPage();
    await page.goto(`file://${join(dir, "index.html")}`);
  }, 60_000);
  afterAll(async () => browser?.close());

  it("lists the kernels in matrix order", async () => {
    const jobs = await page.locator("#kernels + table tr td:first-child").allTextContents();
    expect(jobs).toEqual(["5.10/base/x86_64", "6.12/base/x86_64", "6.12/base/arm64"]);
  });

  it("colours verdict cells by status, expected failures apart from crashes", async () => {
    const cells = page.locator("#verdicts ~ table").first().locator("td.cell");
    expect(await cells.count()).toBe(6);
    const crash = page.locator("td.cell.crash");
    await expect.poll(() => crash.evaluate((e) => getComputedStyle(e).backgroundColor)).toBe("rgb(208, 112, 208)");
    const expected = page.locator("td.cell.expected");
    expect(await expected.textContent()).toContain("expected fail");
    expect(await expected.evaluate((e) => getComputedStyle(e).fontStyle)).toBe("italic");
    expect(await crash.getAttribute("title")).toBe("kernel BUG at mm/gup.c:63!");
  });

  it("opens a failure's details to show its reason", async () => {
    const details = page.locator("#problems ~ details", { hasText: "6.12/base/arm64" });
    await details.locator("summary").click();
    await expect.poll(() => details.locator("pre").isVisible()).toBe(true);
    expect(await details.locator("pre").textContent()).toContain("kernel BUG at mm/gup.c:63!");
  });
});
