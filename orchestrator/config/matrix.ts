import { z } from "zod";
import { loadYaml } from "./yaml.ts";
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

export async function loadMatrix(file = repoPath(MATRIX_FILE)): Promise<Matrix> {
  const m = await loadYaml(file, Matrix);
  for (const [i, k] of m.kernels.entries()) {
    for (const v of k.variants) {
      if (v !== "base" && !(v in m.variants)) throw new InputError(file, `kernels.${i}.variants: unknown variant '${v}' (define it under variants:)`);
    }
  }
  return m;
}
