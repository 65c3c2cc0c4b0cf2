import { dirname, resolve } from "node:path";
import { z } from "zod";
import { loadYaml, yamlLocation } from "./yaml.ts";
import { globRe } from "../util/glob.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";
import { ARCHES } from "./machines.ts";

/** The explorer's rows use this testcase id (and family); known issues may name it, with globs over scenario lines. */
export const EXPLORER_ID = "explore";

export const FAMILIES = ["gup-after-fork", "gup-before-fork", "swap", "migration"] as const;

export const Testcase = z.strictObject({
  id: z.string().regex(/^[a-z0-9-]+$/),
  family: z.enum(FAMILIES),
  source: z.string().regex(/\.c$/),
  timeout_s: z.number().int().positive().default(60),
  checks: z.string(),
  mechanism: z.string(),
  requires: z
    .strictObject({
      config: z.array(z.string()).default([]),
      guest: z.array(z.string()).default([]),
    })
    .default({ config: [], guest: [] }),
  references: z
    .array(z.strictObject({ commit: z.string(), title: z.string(), note: z.string().optional() }))
    .default([]),
});
export type Testcase = z.infer<typeof Testcase>;

/** A case expected to fail on some kernels, so the report can tell it from a regression. */
export const KnownIssue = z.strictObject({
  testcase: z.string(),
  cases: z.array(z.string()).min(1),
  kernels: z.string(),
  arches: z.array(z.string()).optional(),
  /** variants it applies to (default: every variant) — e.g. an ablation series */
  variants: z.array(z.string()).optional(),
  reason: z.string(),
  fixed_in: z.string().optional(),
});
export type KnownIssue = z.infer<typeof KnownIssue>;

/** A kernel report (oops header) known to be harmless on some kernels, e.g. a boot-time WARN. */
export const KnownReport = z.strictObject({
  title: z.string().describe("substring of the report title"),
  kernels: z.string(),
  arches: z.array(z.string()).optional(),
  reason: z.string(),
});
export type KnownReport = z.infer<typeof KnownReport>;

/** What a target must offer for a case to run on it (guest/capabilities.ts decides from the cowlab-setup facts). */
export const CAPABILITY_NEEDS = ["thp", "swap", "hugetlb", "gup_test", "numa2"] as const;
export type CapabilityNeed = (typeof CAPABILITY_NEEDS)[number];

/** Cases (by case-name glob, by testcase, or both) that need a capability: a target without it SKIPs them. */
export const CapabilityRule = z
  .strictObject({
    testcase: z.string().optional(),
    /** case-name globs; one glob or a list */
    cases: z
      .union([z.string(), z.array(z.string()).min(1)], { error: "must be a case-name glob or a list of them" })
      .transform((c) => (typeof c === "string" ? [c] : c))
      .optional(),
    needs: z.enum(CAPABILITY_NEEDS, { error: `must be one of ${CAPABILITY_NEEDS.join(", ")}` }),
  })
  .refine((r) => r.testcase !== undefined || r.cases !== undefined, { error: "give cases (case-name globs), testcase, or both" });
export type CapabilityRule = z.infer<typeof CapabilityRule>;

export const Manifest = z.strictObject({
  testcases: z.array(Testcase).min(1),
  known_issues: z.array(KnownIssue).default([]),
  known_reports: z.array(KnownReport).default([]),
  capabilities: z.array(CapabilityRule).default([]),
});
export type Manifest = z.infer<typeof Manifest>;

/**
 * What is wrong with a kernel version range, if anything. The grammar is the one
 * results/versions.ts inRange() reads: alternatives split by "||", each a space-separated
 * list of terms "[<|<=|>|>=|=]X[.Y[.Z]]" that must all hold ("<5.19", ">=6.2 <6.5", "5.10").
 */
export function rangeProblem(range: string): string | undefined {
  const alternatives = range.split("||").map((a) => a.trim());
  if (alternatives.some((a) => !a)) return `'${range}' has an empty alternative (write e.g. "<5.19 || >=7.0")`;
  for (const alt of alternatives) {
    for (const term of alt.split(/\s+/)) {
      if (!/^(<=|>=|<|>|=)?\d+(?:\.\d+){0,2}$/.test(term)) return `'${term}' in '${range}' is not a version bound (write e.g. "<5.19", ">=6.2 <6.5" or "5.10")`;
    }
  }
  return undefined;
}

export const MANIFEST_FILE = (): string => repoPath("testcases", "manifest.yaml");

/**
 * The manifest (default testcases/manifest.yaml; `--manifest FILE` names another, e.g. a
 * developer's own cases or an edited known-issue list). Sources are resolved beside the file.
 */
export async function loadManifest(file = MANIFEST_FILE()): Promise<Manifest> {
  const m = await loadYaml(file, Manifest);
  const ids = new Set<string>();
  for (const [i, t] of m.testcases.entries()) {
    const at = async (field: string): Promise<string> => yamlLocation(file, ["testcases", i, field]);
    if (ids.has(t.id)) throw new InputError(await at("id"), `testcases.${i}.id: duplicate testcase id '${t.id}'`);
    if (t.source !== `${t.id}.c`) throw new InputError(await at("source"), `testcases.${i}.source: must be ${t.id}.c`);
    ids.add(t.id);
  }
  for (const [i, k] of m.known_issues.entries()) {
    if (!ids.has(k.testcase) && k.testcase !== EXPLORER_ID) throw new InputError(await yamlLocation(file, ["known_issues", i, "testcase"]), `known_issues.${i}.testcase: unknown testcase '${k.testcase}'`);
  }
  for (const [i, r] of m.capabilities.entries()) {
    if (r.testcase !== undefined && !ids.has(r.testcase)) throw new InputError(await yamlLocation(file, ["capabilities", i, "testcase"]), `capabilities.${i}.testcase: unknown testcase '${r.testcase}'`);
  }
  // A version range or arch that can never match would silently predict nothing (a bad range
  // used to surface only after every guest had run, as an internal error).
  for (const list of ["known_issues", "known_reports"] as const) {
    for (const [i, k] of m[list].entries()) {
      const bad = rangeProblem(k.kernels);
      if (bad) throw new InputError(await yamlLocation(file, [list, i, "kernels"]), `${list}.${i}.kernels: ${bad}`);
      for (const [j, a] of (k.arches ?? []).entries()) {
        if (!(ARCHES as readonly string[]).includes(a)) throw new InputError(await yamlLocation(file, [list, i, "arches", j]), `${list}.${i}.arches.${j}: unknown arch '${a}' (known: ${ARCHES.join(", ")})`);
      }
    }
  }
  const dir = dirname(file);
  return { ...m, testcases: m.testcases.map((t) => ({ ...t, source: resolve(dir, t.source) })) };
}

/**
 * Every known-issue case glob must match a real case of its testcase (from the host's case
 * table): a glob that matches nothing, after a rename or a typo, would silently stop
 * predicting anything. The error names the manifest's line.
 */
export async function checkKnownIssueGlobs(m: Manifest, table: Record<string, string[]>, file = MANIFEST_FILE()): Promise<void> {
  for (const [i, k] of m.known_issues.entries()) {
    const cases = table[k.testcase];
    if (!cases) continue; // a testcase this run does not list
    for (const [j, glob] of k.cases.entries()) {
      if (cases.some((c) => globRe(glob).test(c))) continue;
      throw new InputError(await yamlLocation(file, ["known_issues", i, "cases", j]), `known_issues.${i}.cases.${j}: '${glob}' matches no case of ${k.testcase} (its cases: cowlab run --list --tests ${k.testcase})`);
    }
  }
}
