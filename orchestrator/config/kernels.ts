import { readdir } from "node:fs/promises";
import { z } from "zod";
import { loadYaml } from "./yaml.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";

export const SourceSpec = z.discriminatedUnion("kind", [
  z.strictObject({ kind: z.literal("debian"), package: z.string().regex(/^linux-source-[\d.]+$/) }),
  z.strictObject({ kind: z.literal("tarball"), path: z.string() }),
  z.strictObject({ kind: z.literal("git"), repo: z.string(), rev: z.string() }),
]);
export type SourceSpec = z.infer<typeof SourceSpec>;

/** A kernel the lab can build: where its source comes from and which fragments it needs. */
export const KernelSpec = z.strictObject({
  id: z.string().regex(/^[\w.+-]+$/),
  description: z.string().optional(),
  source: SourceSpec,
  /** fragments from kernels/fragments/, merged in order after the base */
  fragments: z.array(z.string()).default([]),
  /** why this kernel cannot run here, if so (listed but skipped) */
  unavailable: z.string().optional(),
});
export type KernelSpec = z.infer<typeof KernelSpec>;

export async function loadKernelSpecs(): Promise<KernelSpec[]> {
  const dir = repoPath("kernels", "specs");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort();
  const specs: KernelSpec[] = [];
  for (const f of files) {
    const spec = await loadYaml(`${dir}/${f}`, KernelSpec);
    if (`${spec.id}.yaml` !== f) throw new InputError(`kernels/specs/${f}`, `id '${spec.id}' must match the file name`);
    specs.push(spec);
  }
  return specs;
}

export async function loadKernelSpec(id: string): Promise<KernelSpec> {
  const specs = await loadKernelSpecs();
  const spec = specs.find((s) => s.id === id);
  if (!spec) throw new InputError("kernels/specs", `no kernel '${id}' (known: ${specs.map((s) => s.id).join(", ")})`);
  return spec;
}
