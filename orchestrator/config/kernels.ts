import { readdir } from "node:fs/promises";
import { join, resolve } from "node:path";
import { z } from "zod";
import { loadYaml, shown, yamlLocation } from "./yaml.ts";
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

/** The kernel specs' folder: kernels/specs/, or $COWLAB_SPECS_DIR (a developer's own specs, the fault tests' broken ones). */
export const specsDir = (): string => (process.env.COWLAB_SPECS_DIR ? resolve(process.env.COWLAB_SPECS_DIR) : repoPath("kernels", "specs"));

export async function loadKernelSpecs(): Promise<KernelSpec[]> {
  const dir = specsDir();
  const names = await readdir(dir).catch((e: Error) => {
    throw new InputError(shown(dir), `cannot read the kernel specs: ${e.message}`);
  });
  const files = names.filter((f) => f.endsWith(".yaml")).sort();
  const specs: KernelSpec[] = [];
  for (const f of files) {
    const file = join(dir, f);
    const spec = await loadYaml(file, KernelSpec);
    if (`${spec.id}.yaml` !== f) throw new InputError(await yamlLocation(file, ["id"]), `id: '${spec.id}' must match the file name (${f})`);
    specs.push(spec);
  }
  return specs;
}

/**
 * A kernel id "X.Y" with no spec file is Debian's linux-source-X.Y with the fragments every
 * kernel since 6.2 needs, so moving the matrix to the next Debian kernel is one changed line
 * in kernels/matrix.yaml. A spec file, where one exists, always wins.
 */
export function debianDefaultSpec(id: string): KernelSpec | undefined {
  if (!/^\d+\.\d+$/.test(id)) return undefined;
  return { id, description: `Debian's linux-source-${id} (no spec file: the default for a Debian kernel)`, source: { kind: "debian", package: `linux-source-${id}` }, fragments: ["base", "gup-test"] };
}

export async function loadKernelSpec(id: string): Promise<KernelSpec> {
  const specs = await loadKernelSpecs();
  const spec = specs.find((s) => s.id === id) ?? debianDefaultSpec(id);
  if (!spec) throw new InputError(shown(specsDir()), `no kernel '${id}' (known: ${specs.map((s) => s.id).join(", ")}, or X.Y for Debian's linux-source-X.Y)`);
  return spec;
}
