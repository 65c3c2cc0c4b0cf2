// "What to run": the matrix as plain data. Nothing here knows how a kernel is built or booted.
import type { KernelSpec } from "../config/kernels.ts";
import type { Arch } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";

export interface Variant {
  /** "base" for the unpatched source */
  name: string;
  /** patch series directory, quilt series file or mbox (issue 5) */
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
}

export const jobId = (j: Pick<JobSpec, "kernel" | "variant" | "arch">): string => `${j.kernel.id}/${j.variant.name}/${j.arch}`;
export const jobSlug = (j: Pick<JobSpec, "kernel" | "variant" | "arch">): string => jobId(j).replace(/\//g, "-");

export function expandMatrix(kernels: KernelSpec[], variants: Variant[], arches: Arch[], testcases: Testcase[]): JobSpec[] {
  const jobs: JobSpec[] = [];
  for (const kernel of kernels) for (const variant of variants) for (const arch of arches) jobs.push({ kernel, variant, arch, testcases });
  return jobs;
}
