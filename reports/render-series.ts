// What each patch series changed: every variant's verdicts against the base variant of the
// same kernel and arch (compare.ts), grouped per kernel / arch / variant.
import type { JudgedKernel, JudgedRun } from "../orchestrator/results/policy.ts";
import { compareToBase, type VerdictChange } from "../orchestrator/results/compare.ts";
import { badge, esc, section } from "./render-util.ts";

const KIND_CLASS: Record<VerdictChange["kind"], string> = { regression: "fail", fix: "pass", changed: "skip" };

export function seriesSection(data: JudgedRun, kernels: JudgedKernel[]): string {
  const variants = kernels.filter((k) => k.variant !== "base");
  if (!variants.length) return "";
  const changes = compareToBase(data.results);
  const spec = (job: string): string => job.split("/")[0]!;
  const key = (kernel: string, variant: string, arch: string, testcase: string, name: string): string => [kernel, variant, arch, testcase, name].join("\u0000");
  const index = new Map(data.results.map((r, i) => [key(spec(r.job), r.variant, r.arch, r.testcase, r.case), i]));
  const hasBase = (k: JudgedKernel): boolean => kernels.some((b) => b.variant === "base" && b.kernel_spec === k.kernel_spec && b.arch === k.arch);
  const blocks = variants.map((k) => {
    const mine = changes.filter((c) => c.kernel === k.kernel_spec && c.arch === k.arch && c.variant === k.variant);
    const count = (kind: VerdictChange["kind"]): number => mine.filter((c) => c.kind === kind).length;
    const head = `<h3>${esc(k.kernel_spec)} ${esc(k.arch)}: <code>${esc(k.variant)}</code> against base</h3><p class="meta">${hasBase(k) ? `${badge("fail", `${count("regression")} regressions`)}${mine.some((c) => c.expected) ? ` ${badge("expected-fail", `${mine.filter((c) => c.expected).length} predicted by known issues`)}` : ""} ${badge("pass", `${count("fix")} fixes`)} ${badge("skip", `${count("changed")} other changes`)}` : "no base variant of this kernel and arch in the run: nothing to compare with"}</p>`;
    if (!mine.length) return `<div class="variant">${head}${hasBase(k) ? "<p>No verdict changed.</p>" : ""}</div>`;
    const rows = mine.map((c) => {
      const i = index.get(key(c.kernel, c.variant, c.arch, c.testcase, c.case));
      return `<tr${i === undefined ? "" : ` data-fi="${i}"`}><td>${esc(c.testcase)} / ${esc(c.case)}</td><td>${badge(c.base)}</td><td>${badge(c.now)}</td><td>${badge(KIND_CLASS[c.kind], c.kind)}${c.expected ? ` ${badge("expected-fail", "known issue")}` : ""}</td><td class="reason">${esc(c.reason.split("\n")[0]!)}${i === undefined ? "" : ` <button class="more" data-open="${i}">details…</button>`}</td></tr>`;
    });
    return `<div class="variant">${head}<table class="tbl"><tr><th>case</th><th>base</th><th>${esc(k.variant)}</th><th>change</th><th>reason</th></tr>${rows.join("\n")}</table></div>`;
  });
  return section("series", "What the series changed", blocks.join("\n"), "Each variant (a patch series applied on a kernel) against the base variant of the same kernel and arch.");
}
