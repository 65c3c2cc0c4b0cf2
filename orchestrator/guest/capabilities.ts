// What a target can serve, from the "# cowlab-setup key=value" facts its guest runner prints,
// and which cases it therefore cannot: the manifest's `capabilities:` rules name the cases that
// need THP, swap, hugetlb pages, gup_test or two NUMA nodes. A case the target cannot serve is
// planned as a SKIP with the reason, not run into an ERROR (or, worse, a pass that tested nothing).
import { globRe } from "../util/glob.ts";
import { InputError } from "../util/result.ts";
import { yamlLocation } from "../config/yaml.ts";
import { MANIFEST_FILE, type CapabilityNeed, type CapabilityRule } from "../config/testcases.ts";
import type { CaseTable } from "./caselist.ts";

export interface Capabilities {
  numa_nodes: number;
  swap_kb: number;
  /** default-size hugetlb pages reserved (nr_hugepages) */
  hugepages: number;
  /** the THP mode in effect: always, madvise, never, or unavailable (no THP in the kernel) */
  thp: string;
  /** /sys/kernel/debug/gup_test is there (CONFIG_GUP_TEST, debugfs mounted) */
  gup_test: boolean;
  uname: string;
}

/** A count from a fact; absent or not a number counts as none. */
const count = (v: string | undefined): number => {
  const n = v === undefined ? NaN : Number(v.trim());
  return Number.isInteger(n) && n > 0 ? n : 0;
};

/** "[always] madvise never" (the sysfs file as printed) or "always" → "always"; absent → unavailable. */
const thpMode = (v: string | undefined): string => {
  const t = v?.trim();
  if (!t) return "unavailable";
  const chosen = /\[(\w+)\]/.exec(t);
  return chosen ? chosen[1]! : t;
};

/**
 * The capabilities the setup facts show (keys thp, swap_kb, hugepages, numa_nodes, gup_test,
 * uname). A missing or unreadable fact counts as the capability being absent, so a case is
 * skipped rather than run on a target that may not serve it.
 */
export function capabilitiesFromSetup(setup: Record<string, string>): Capabilities {
  return {
    numa_nodes: count(setup.numa_nodes),
    swap_kb: count(setup.swap_kb),
    hugepages: count(setup.hugepages),
    thp: thpMode(setup.thp),
    gup_test: setup.gup_test?.trim() === "yes",
    uname: setup.uname?.trim() || "unknown",
  };
}

/** Why the target lacks a capability, or undefined when it has it. */
export function lacks(need: CapabilityNeed, caps: Capabilities): string | undefined {
  switch (need) {
    case "thp":
      return caps.thp === "always" || caps.thp === "madvise" ? undefined : `THP off (thp=${caps.thp})`;
    case "swap":
      return caps.swap_kb > 0 ? undefined : `no swap (swap_kb=${caps.swap_kb})`;
    case "hugetlb":
      return caps.hugepages > 0 ? undefined : `no hugetlb pages (hugepages=${caps.hugepages})`;
    case "gup_test":
      return caps.gup_test ? undefined : "no gup_test (gup_test=no: CONFIG_GUP_TEST and debugfs)";
    case "numa2":
      return caps.numa_nodes >= 2 ? undefined : `fewer than 2 NUMA nodes (numa_nodes=${caps.numa_nodes})`;
  }
}

/** Whether a rule is about this case of this testcase. */
export const ruleApplies = (r: CapabilityRule, testcaseId: string, caseName: string): boolean =>
  (r.testcase === undefined || r.testcase === testcaseId) && (r.cases === undefined || r.cases.some((g) => globRe(g).test(caseName)));

/**
 * Why the target cannot serve the case, e.g. "target cannot serve it: no hugetlb pages
 * (hugepages=0)" (every missing capability, in rule order), or undefined when it can.
 */
export function unservable(testcaseId: string, caseName: string, caps: Capabilities, rules: readonly CapabilityRule[]): string | undefined {
  const missing: string[] = [];
  for (const r of rules) {
    if (!ruleApplies(r, testcaseId, caseName)) continue;
    const why = lacks(r.needs, caps);
    if (why && !missing.includes(why)) missing.push(why);
  }
  return missing.length ? `target cannot serve it: ${missing.join("; ")}` : undefined;
}

export interface CapabilityPlan {
  /** the cases to run, per testcase (a testcase left with none is left out) */
  run: CaseTable;
  skipped: { testcase: string; case: string; reason: string }[];
}

/** Split a job's cases into those the target can serve and those it skips, with the reason. */
export function planForCapabilities(cases: CaseTable, caps: Capabilities, rules: readonly CapabilityRule[]): CapabilityPlan {
  const plan: CapabilityPlan = { run: {}, skipped: [] };
  for (const [testcase, names] of Object.entries(cases)) {
    const run: string[] = [];
    for (const c of names) {
      const reason = unservable(testcase, c, caps, rules);
      if (reason) plan.skipped.push({ testcase, case: c, reason });
      else run.push(c);
    }
    if (run.length) plan.run[testcase] = run;
  }
  return plan;
}

/**
 * Every capability rule must match a real case (from the case table): a glob that matches
 * nothing after a rename would silently stop skipping. The error names the manifest's line.
 */
export async function checkCapabilityRules(rules: readonly CapabilityRule[], table: CaseTable, file = MANIFEST_FILE()): Promise<void> {
  for (const [i, r] of rules.entries()) {
    const testcases = r.testcase === undefined ? Object.keys(table) : [r.testcase];
    if (r.testcase !== undefined && !table[r.testcase]) continue; // a testcase this table does not list
    const names = testcases.flatMap((t) => table[t] ?? []);
    for (const [j, glob] of (r.cases ?? []).entries()) {
      if (names.some((c) => globRe(glob).test(c))) continue;
      const where = r.testcase === undefined ? "any testcase" : r.testcase;
      throw new InputError(await yamlLocation(file, ["capabilities", i, "cases", j]), `capabilities.${i}.cases.${j}: '${glob}' matches no case of ${where} (cowlab run --list shows them)`);
    }
  }
}
