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
