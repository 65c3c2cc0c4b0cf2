import { describe, expect, it } from "vitest";
import { renderHtml } from "../reports/render.ts";
import type { JudgedCase as CaseResult, JudgedKernel as KernelEntry, JudgedRun as RunResults } from "../orchestrator/results/policy.ts";

const entry = (job: string): KernelEntry => {
  const [spec, variant, arch] = job.split("/") as [string, string, string];
  return { job, kernel_spec: spec, variant, arch, source: "s", version: "6.12.117", release: "6.12.117", status: "ok", reason: "", build: null, boot: null, reruns: [], known_reports: [], seconds: 1 };
};
const res = (job: string, name: string, status: CaseResult["status"], extra: Partial<CaseResult> = {}): CaseResult => {
  const [, variant, arch] = job.split("/") as [string, string, string];
  return { job, kernel: "6.12.117", arch, variant, testcase: "swap", case: name, family: "swap", status, duration_ms: 3, reason: status === "pass" ? "" : "pin <misses> the write", attempts: [{ status: status === "flaky" ? "fail" : status, duration_ms: 3, reason: "", guest: 1 }], ...extra };
};

const data: RunResults = {
  schema_version: 2,
  run: { id: "r1", started_at: "2026-01-01T00:00:00Z", finished_at: null, complete: false, seconds: null, command: "cowlab run", shard: null, repeat: 1, retry_failed: 0, host: { hostname: "h", cores: 2, memory_gib: 24, qemu: "7.2", node: "v20" } },
  kernels: [entry("6.12/base/x86_64"), entry("6.12/off/x86_64")],
  results: [
    res("6.12/base/x86_64", "rw-pin-ro-remap-base", "pass"),
    res("6.12/off/x86_64", "rw-pin-ro-remap-base", "fail"),
    res("6.12/base/x86_64", "vmsplice-child-hugetlb", "fail", { expected: { reason: "hugetlb", fixed_in: "never" } }),
    res("6.12/off/x86_64", "vmsplice-child-hugetlb", "fail", { expected: { reason: "hugetlb" } }),
  ],
};

describe("HTML report", () => {
  const html = renderHtml(data);
  it("shows one column per job and one row per case, statuses as classes", () => {
    expect(html).toContain("<th>6.12/base/x86_64</th><th>6.12/off/x86_64</th>");
    expect(html).toMatch(/<td class="cell fail" title="pin &lt;misses&gt; the write">fail/);
  });
  it("tells expected failures apart from new ones and escapes reasons", () => {
    expect(html).toContain("expected fail");
    expect(html).not.toContain("<misses>");
  });
  it("flags an incomplete run", () => {
    expect(html).toContain("incomplete (interrupted or still running)");
  });
  it("lists what the series changed against base", () => {
    expect(html).toContain("What the series changed");
    expect(html).toMatch(/6\.12 \+ off<\/td><td>x86_64<\/td><td>swap \/ rw-pin-ro-remap-base<\/td><td class="pass">pass<\/td><td class="fail">fail<\/td><td class="fail">regression/);
  });
});

describe("HTML report: exploration", () => {
  const line = "base | mprotect:ro | read:parent";
  const ex = (job: string, status: CaseResult["status"], outcome: string, reason = ""): CaseResult => ({
    ...res(job, line, status), testcase: "explore", family: "explore", duration_ms: null, reason, observations: [`1 mprotect:ro ${outcome}`, "2 read:parent init", "end"],
  });
  const passing = Array.from({ length: 300 }, (_, i) => ({ ...ex("6.12/base/x86_64", "pass", "ok"), case: `base | write:parent #${i}` }));
  const html = renderHtml({
    ...data,
    results: [...data.results, ex("6.12/base/x86_64", "pass", "ok"), ex("6.12/off/x86_64", "pass", "err:EINVAL"), { ...ex("6.12/off/x86_64", "fail", "ok", "step 2 'read:parent': expected init, saw w9 (fork-isolation)"), case: "thp | fork | read:child" }, ...passing],
    explore: { minimized: [{ original: "thp | write:parent | fork | read:child", minimal: "thp | fork | read:child", why: "fails on 6.12/off/x86_64: fork-isolation", jobs: ["6.12/off/x86_64"], file: "explore/thp__fork__read-child.c", rounds: 2, tried: 9, observations: { "6.12/off/x86_64": ["1 fork ok", "2 read:child w9"] } }] },
  });
  it("counts scenarios per job and lists failures per invariant, keeping explorer rows out of the verdict matrix", () => {
    expect(html).toContain('<h2 id="explore">Exploration</h2>');
    expect(html).toMatch(/<td>6\.12\/base\/x86_64<\/td><td class="num">301<\/td><td class="num">301<\/td>/);
    expect(html).toContain("<b>fork-isolation</b>: 6.12/off/x86_64 1");
    const matrix = html.slice(html.indexOf('id="verdicts"'), html.indexOf('id="problems"'));
    expect(matrix).not.toContain("read:parent");
  });
  it("shows model-silent divergences and the minimized reproducer with its file", () => {
    expect(html).toContain("<b>model-silent</b> <code>base | mprotect:ro | read:parent</code>");
    expect(html).toContain("ok on 6.12/base/x86_64; err:EINVAL on 6.12/off/x86_64");
    expect(html).toContain('<a href="explore/thp__fork__read-child.c">');
  });
});

describe("HTML report: attempts", () => {
  const attempts = [
    { status: "pass" as const, duration_ms: 40, reason: "", guest: 1 },
    { status: "fail" as const, duration_ms: 90, reason: "pin saw the old data", guest: 2 },
    { status: "pass" as const, duration_ms: 50, reason: "", guest: 3 },
  ];
  const html = renderHtml({ ...data, results: [res("6.12/base/x86_64", "rw-pin-ro-remap-base", "flaky", { attempts, duration_ms: 50, reason: "passed 2 of 3 attempts; attempt 2 (fail): pin saw the old data" })] });
  it("shows a flaky case with its pass rate, its median duration and the spread, and counts it as flaky", () => {
    expect(html).toMatch(/<td class="cell flaky" title="passed 2 of 3 attempts[^"]*">flaky 67%<br><small>50 ms \(40–90\)<\/small><\/td>/);
    expect(html).toContain('<span class="flaky">flaky: 1</span>');
  });
});

describe("HTML report: bisection", () => {
  type Step = NonNullable<RunResults["bisect"]>["steps"][number];
  const step = (position: number, verdict: Step["verdict"], decided_by: Step["decided_by"], extra: Partial<Step> = {}): Step => ({
    position, label: `000${position}-p.patch`, subject: `patch ${position}`, verdict, why: "see the facts", decided_by, same_as: null, noop_files: [], attempts: null, image_sha256: null,
    build_seconds: null, build_cached: null, boot_seconds: null, seconds: 0, ...extra,
  });
  const built = { build_seconds: 30, build_cached: false, boot_seconds: 1 };
  const html = renderHtml({
    ...data,
    bisect: {
      kind: "series", target: "/series", kernel: "6.12", arch: "x86_64", test: "migration", cases: "move-pinned-base", find: "regression", changes: 8,
      culprit: { position: 7, label: "0007-p.patch", subject: "patch 7" },
      conclusion: "0007-p.patch: patch 7",
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
  const row = (position: number) => html.slice(html.indexOf(`<tr id="bisect-step-${position}">`)).split("</tr>")[0]!;

  it("shows each step's attempts, and how an unbooted step was decided with the step it took the verdict from", () => {
    expect(row(8)).toContain("<td>guests</td><td>2 of 3 failing</td>");
    expect(row(5)).toContain("<td>guests</td><td>0 of 3 failing</td>");
    expect(row(6)).toContain('<td><i title="only comments/whitespace or outside the build: mm/swapfile.c">no-op: not built</i>, verdict of <a href="#bisect-step-5">5</a></td><td>–</td>');
    expect(row(7)).toContain(`<td><i title="sha256 ${"a".repeat(64)}">same image: not booted</i>, verdict of <a href="#bisect-step-8">8</a></td><td>–</td>`);
    expect(row(4)).toContain("<td>not tested</td><td>–</td>");
  });

  it("counts the steps decided without a build or a boot, and says how flaky the failure was", () => {
    expect(html).toContain("5 steps in 90 s · 1 no-op (not built), 1 same image (not booted)</p>");
    expect(html).toContain('<p class="meta">Flaky: the failure showed in 3 of 6 attempts: a step with the bug passes all 3 with probability 13%; --repeat 5 brings that under 5%</p>');
    expect(html).toContain("First bad change: <code>0007-p.patch</code> patch 7");
  });
});
