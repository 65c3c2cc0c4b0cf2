import { z } from "zod";
import { loadYaml, yamlLocation } from "./yaml.ts";
import { readSeries } from "../sources/series.ts";
import { exists } from "../util/fsx.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";
import { ARCHES } from "./machines.ts";

const VariantDef = z.strictObject({
  series: z.string().optional(),
  fragments: z.array(z.string()).default([]),
  description: z.string().optional(),
});

export const Matrix = z.strictObject({
  arches: z.array(z.enum(ARCHES as [string, ...string[]])).min(1),
  testcases: z.array(z.string()).min(1).default(["*"]),
  variants: z.record(z.string().regex(/^[\w.+-]+$/), VariantDef).default({}),
  /** the exploration every job of `cowlab run` does after its testcases (issue 9); depth 0: none */
  explore: z
    .strictObject({
      depth: z.number().int().min(0).max(8),
      random: z.number().int().min(0).default(0),
      seed: z.number().int().default(1),
      budget_s: z.number().int().positive(),
    })
    .optional(),
  kernels: z
    .array(
      z.strictObject({
        id: z.string(),
        variants: z.array(z.string()).min(1).default(["base"]),
        arches: z.array(z.enum(ARCHES as [string, ...string[]])).optional(),
      }),
    )
    .min(1),
});
export type Matrix = z.infer<typeof Matrix>;

export const MATRIX_FILE = "kernels/matrix.yaml";

/**
 * The matrix (default kernels/matrix.yaml; `--matrix FILE` names another). Besides the
 * schema, every error names the file, line and field: a variant a kernel uses but nobody
 * defines, a kernel listed twice, a variant's series that is missing or damaged (checked now,
 * so nothing is fetched or built for a matrix that cannot run).
 */
export async function loadMatrix(file = repoPath(MATRIX_FILE)): Promise<Matrix> {
  const m = await loadYaml(file, Matrix);
  const at = (path: (string | number)[]): Promise<string> => yamlLocation(file, path);
  const ids = new Set<string>();
  for (const [i, k] of m.kernels.entries()) {
    if (ids.has(k.id)) throw new InputError(await at(["kernels", i, "id"]), `kernels.${i}.id: kernel '${k.id}' is listed twice (give it one entry with several variants)`);
    ids.add(k.id);
    for (const [j, v] of k.variants.entries()) {
      if (v !== "base" && !(v in m.variants)) throw new InputError(await at(["kernels", i, "variants", j]), `kernels.${i}.variants.${j}: unknown variant '${v}' (define it under variants:)`);
    }
  }
  for (const [name, v] of Object.entries(m.variants)) {
    if (!v.series) continue;
    // Series paths are relative to the repository, as the planner resolves them.
    if (!(await exists(repoPath(v.series)))) throw new InputError(await at(["variants", name, "series"]), `variants.${name}.series: no patch series at ${v.series}`);
    await readSeries(repoPath(v.series));
  }
  return m;
}
