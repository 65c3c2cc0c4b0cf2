// "What to run": the matrix as plain data, narrowed by filters and sliced into shards.
// Nothing here knows how a kernel is built or booted.
import { basename, join, resolve } from "node:path";
import { loadKernelSpec, specsDir, type KernelSpec } from "../config/kernels.ts";
import { yamlLocation } from "../config/yaml.ts";
import type { Arch } from "../config/machines.ts";
import type { Matrix } from "../config/matrix.ts";
import type { Manifest, Testcase } from "../config/testcases.ts";
import { readSeries } from "../sources/series.ts";
import { sourceMissing } from "../sources/index.ts";
import { exists } from "../util/fsx.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";
import { globRe } from "../util/glob.ts";
import type { CaseTable } from "../guest/caselist.ts";
import type { ExploreSpec } from "../explore/selection.ts";

export interface Variant {
  /** "base" for the unpatched source */
  name: string;
  /** patch series: directory, quilt series file or mbox */
  series?: string;
  /** extra fragments merged after the kernel's own */
  fragments: string[];
}

export const BASE_VARIANT: Variant = { name: "base", fragments: [] };

export interface JobSpec {
  kernel: KernelSpec;
  variant: Variant;
  arch: Arch;
  testcases: Testcase[];
  /** the cases each testcase runs, when the host knows them (see narrowCases); else all */
  cases?: CaseTable;
  /** scenario lines the guest's explorer runs after the testcases (issue 9) */
  explore?: ExploreSpec;
}

export const jobId = (j: Pick<JobSpec, "kernel" | "variant" | "arch">): string => `${j.kernel.id}/${j.variant.name}/${j.arch}`;
export const jobSlug = (j: Pick<JobSpec, "kernel" | "variant" | "arch">): string => jobId(j).replace(/\//g, "-");

export interface Filters {
  kernels?: string[];
  arches?: Arch[];
  variants?: string[];
  tests?: string;
  /** ad-hoc series: each becomes a variant of every selected kernel */
  series?: string[];
  /** extra fragments for every variant */
  fragments?: string[];
  /** the git tree for kernels whose source is a git revision (default: the spec's repo) */
  gitTree?: string;
}

/**
 * A git source's tree: --git-tree (relative to the working directory) if given, else the
 * spec's repo, which is relative to the project ("../linux" is a clone beside it).
 */
function withGitTree(kernel: KernelSpec, gitTree: string | undefined): KernelSpec {
  if (kernel.source.kind !== "git") return kernel;
  const repo = gitTree ? resolve(gitTree) : resolve(repoPath(), kernel.source.repo);
  return { ...kernel, source: { ...kernel.source, repo } };
}

/** FILE:LINE of a field of a kernel's spec file (in COWLAB_SPECS_DIR if set); a Debian default has no file. */
async function specLocation(id: string, path: string[]): Promise<string> {
  const file = join(specsDir(), `${id}.yaml`);
  return (await exists(file)) ? yamlLocation(file, path) : `kernel ${id}`;
}

export async function planMatrix(matrix: Matrix, manifest: Manifest, f: Filters): Promise<JobSpec[]> {
  const globs = f.tests ? f.tests.split(",") : matrix.testcases;
  const testcases = manifest.testcases.filter((t) => globs.some((g) => globRe(g).test(t.id)));
  if (!testcases.length) throw new InputError("--tests", `'${globs.join(" ")}' matches no testcase in the manifest`);
  const fragments = f.fragments ?? [];
  for (const fr of fragments) {
    if (!(await exists(repoPath("kernels", "fragments", `${fr}.config`)))) throw new InputError("--fragment", `no kernels/fragments/${fr}.config`);
  }

  const adhoc: Variant[] = [];
  for (const s of f.series ?? []) {
    await readSeries(s); // a missing or empty series is a usage error now, not a failed job later
    const name = basename(resolve(s));
    const twin = adhoc.find((a) => a.name === name);
    if (twin) throw new InputError(s, `--series: two series are named '${name}' (also ${twin.series}): a variant is named after its folder, rename one`);
    adhoc.push({ name, series: resolve(s), fragments });
  }
  // A series named as a matrix variant is that variant, edited (a copy of kernels/series/X being
  // worked on): it takes the variant's place, with its fragments and known issues, instead of
  // adding a second job of the same id.
  const own = new Map(adhoc.map((a) => [a.name, a]));
  const variantNamed = (name: string): Variant => {
    if (name === "base") return { ...BASE_VARIANT, fragments };
    const def = matrix.variants[name]!;
    const edited = own.get(name);
    return { name, ...(edited ? { series: edited.series } : def.series ? { series: repoPath(def.series) } : {}), fragments: [...def.fragments, ...fragments] };
  };

  const entries = f.kernels
    ? f.kernels.map((id) => matrix.kernels.find((k) => k.id === id) ?? { id, variants: ["base"], arches: undefined })
    : matrix.kernels;
  const known = new Set(["base", ...Object.keys(matrix.variants), ...adhoc.map((a) => a.name)]);
  const unknown = (f.variants ?? []).filter((v) => !known.has(v));
  if (unknown.length) throw new InputError("--variant", `unknown variant ${unknown.join(", ")} (have: ${[...known].join(", ")})`);

  const jobs: JobSpec[] = [];
  for (const entry of entries) {
    const kernel = withGitTree(await loadKernelSpec(entry.id), f.gitTree);
    if (kernel.unavailable) throw new InputError(await specLocation(kernel.id, ["unavailable"]), `unavailable: cannot run here: ${kernel.unavailable.trim()}`);
    const missing = await sourceMissing(kernel.source);
    if (missing) throw new InputError(await specLocation(kernel.id, ["source", missing.split(":")[0]!]), `source.${missing}`);
    const variants = [...entry.variants.map(variantNamed), ...adhoc.filter((a) => !entry.variants.includes(a.name))].filter((v) => !f.variants || f.variants.includes(v.name));
    const arches = (f.arches ?? entry.arches ?? matrix.arches) as Arch[];
    for (const variant of variants) for (const arch of arches) jobs.push({ kernel, variant, arch, testcases });
  }
  return jobs;
}

/** Relative cost of a job, for balancing shards: arm64 cross builds and guests run slower. */
const weight = (j: JobSpec): number => (j.arch === "arm64" ? 1.3 : 1);

/**
 * Shard I of N: jobs dealt out longest-first to the least-loaded shard, ties to the lowest
 * index. Deterministic, so N machines that each run one shard cover the matrix exactly once.
 */
export function shardJobs(jobs: JobSpec[], index: number, count: number): JobSpec[] {
  const sorted = [...jobs].sort((a, b) => weight(b) - weight(a) || jobId(a).localeCompare(jobId(b)));
  const load = new Array<number>(count).fill(0);
  const mine = new Set<string>();
  for (const j of sorted) {
    let best = 0;
    for (let s = 1; s < count; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += weight(j);
    if (best === index - 1) mine.add(jobId(j));
  }
  return jobs.filter((j) => mine.has(jobId(j)));
}

export function parseShard(text: string): { index: number; count: number } {
  const m = /^(\d+)\/(\d+)$/.exec(text);
  const index = Number(m?.[1]);
  const count = Number(m?.[2]);
  if (!m || count < 1 || index < 1 || index > count) throw new InputError("--shard", `'${text}' is not I/N with 1 <= I <= N`);
  return { index, count };
}

/** Does a --case glob select case `name` of testcase `testcase`? "T/C" globs name both. */
const caseMatches = (glob: string, testcase: string, name: string): boolean =>
  glob.includes("/") ? globRe(glob).test(`${testcase}/${name}`) : globRe(glob).test(name);

/**
 * Give every job the cases it runs: all of the host's case table, or those matching a --case
 * glob. Testcases left with no case, and jobs left with no testcase, are dropped; a glob that
 * selects nothing anywhere is a usage error.
 */
export function narrowCases(jobs: JobSpec[], table: CaseTable, globs: string[] = []): JobSpec[] {
  const selects = (t: string, c: string): boolean => !globs.length || globs.some((g) => caseMatches(g, t, c));
  const unused = globs.filter((g) => !Object.entries(table).some(([t, cs]) => cs.some((c) => caseMatches(g, t, c))));
  if (unused.length) throw new InputError("--case", `'${unused.join("', '")}' matches no case (cowlab run --list shows them)`);
  return jobs.flatMap((j) => {
    const cases: CaseTable = {};
    for (const t of j.testcases) {
      const chosen = (table[t.id] ?? []).filter((c) => selects(t.id, c));
      if (chosen.length) cases[t.id] = chosen;
    }
    const testcases = j.testcases.filter((t) => cases[t.id]);
    return testcases.length ? [{ ...j, testcases, cases }] : [];
  });
}
