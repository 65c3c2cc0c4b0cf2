import { describe, expect, it } from "vitest";
import { inRange, compareVersions } from "../orchestrator/results/versions.ts";
import { knownIssueFor } from "../orchestrator/results/known.ts";

describe("kernel version ranges", () => {
  it("compares releases numerically", () => {
    expect(compareVersions("5.10.262", "5.19")).toBe(-1);
    expect(compareVersions("6.12.117", "6.2")).toBe(1);
    expect(compareVersions("6.1.0-cowlab", "6.1")).toBe(0);
  });
  it("evaluates ranges, conjunctions and alternatives", () => {
    expect(inRange("5.10.262", "<5.19")).toBe(true);
    expect(inRange("6.1.192", "<5.19")).toBe(false);
    expect(inRange("6.1.192", ">=6.0 <6.2")).toBe(true);
    expect(inRange("6.12.117", ">=6.0 <6.2")).toBe(false);
    expect(inRange("5.10.262", "5.10")).toBe(true);
    expect(inRange("5.100.1", "5.10")).toBe(false);
    expect(inRange("7.1", "<5.19 || >=7.0")).toBe(true);
    expect(() => inRange("6.1", "~6")).toThrow(/bad version range/);
  });
  it("matches known issues by testcase, case glob, kernel range and arch", () => {
    const issues = [{ testcase: "t", cases: ["*-thp"], kernels: "<5.19", arches: ["x86_64"], reason: "r" }];
    const r = { testcase: "t", case: "vmsplice-child-thp", kernel: "5.10.262", arch: "x86_64", variant: "base" };
    expect(knownIssueFor(r, issues)).toBeDefined();
    expect(knownIssueFor({ ...r, arch: "arm64" }, issues)).toBeUndefined();
    expect(knownIssueFor({ ...r, case: "vmsplice-child-base" }, issues)).toBeUndefined();
    expect(knownIssueFor({ ...r, kernel: "6.1.0" }, issues)).toBeUndefined();
    const ablation = [{ testcase: "t", cases: ["*"], kernels: ">=6.12", variants: ["anon-exclusive-off"], reason: "ablation" }];
    expect(knownIssueFor({ ...r, kernel: "6.12.117", variant: "anon-exclusive-off" }, ablation)).toBeDefined();
    expect(knownIssueFor({ ...r, kernel: "6.12.117" }, ablation)).toBeUndefined();
  });
});
