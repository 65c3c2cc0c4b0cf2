// The command-line options that select jobs from the matrix, shared by `cowlab run` and
// `cowlab explore` (one spelling, one meaning), and the planner filters they become.
import { Option, type Command } from "commander";
import { ARCHES, type Arch } from "../config/machines.ts";
import type { Filters } from "./plan.ts";
import { resolve } from "node:path";
import { InputError } from "../util/result.ts";
import { loadManifest, MANIFEST_FILE, type Manifest } from "../config/testcases.ts";
import { loadMatrix, type Matrix } from "../config/matrix.ts";

export interface MatrixCliOptions {
  kernel?: string[];
  arch?: Arch[];
  variant?: string[];
  series?: string[];
  gitTree?: string;
  fragment: string[];
  accel: "auto" | "kvm" | "tcg";
  guests?: string;
  manifest?: string;
  matrix?: string;
}

export function addMatrixOptions(cmd: Command): Command {
  return cmd
    .option("-k, --kernel <ids...>", "kernel specs (kernels/specs/, or X.Y for Debian's linux-source-X.Y); default: the matrix's")
    .addOption(new Option("-a, --arch <arches...>", "guest architectures; default: the matrix's").choices([...ARCHES]))
    .option("-s, --series <dirs...>", "patch series (directory, quilt series file or mbox): each adds a variant named after it")
    .option("--git-tree <dir>", "git tree for kernels built from a git revision (default: the spec's repo, e.g. ../linux)")
    .option("--variant <names...>", "variants to run (base, matrix variants, series names)")
    .option("-f, --fragment <names...>", "extra fragments from kernels/fragments/ for every variant (e.g. debug-vm)", [])
    .option("--guests <n>", "guests run at once (default: from cores and memory)")
    .option("--matrix <file>", "the matrix to plan from (default: kernels/matrix.yaml)")
    .option("--manifest <file>", "testcases and known issues (default: testcases/manifest.yaml)")
    .addOption(new Option("--accel <accel>", "QEMU accelerator; auto picks KVM only where it works").choices(["auto", "kvm", "tcg"]).default("auto"));
}

export function matrixFilters(o: MatrixCliOptions): Filters {
  return {
    ...(o.kernel ? { kernels: o.kernel } : {}),
    ...(o.arch ? { arches: o.arch } : {}),
    ...(o.variant ? { variants: o.variant } : {}),
    ...(o.series ? { series: o.series } : {}),
    ...(o.gitTree ? { gitTree: o.gitTree } : {}),
    fragments: o.fragment,
  };
}

/** An integer option of at least `min`, its default when absent, or a usage error naming the flag. */
export function intOption(flag: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InputError(flag, `'${value}' is not an integer >= ${min}`);
  return n;
}

/** The manifest file the options name (the repository's by default). */
export const manifestFile = (o: Pick<MatrixCliOptions, "manifest">): string => (o.manifest ? resolve(o.manifest) : MANIFEST_FILE());

/** The matrix and manifest the options name (the repository's by default). */
export async function loadInputs(o: Pick<MatrixCliOptions, "manifest" | "matrix">): Promise<{ manifest: Manifest; matrix: Matrix; manifestFile: string }> {
  const file = manifestFile(o);
  const [manifest, matrix] = await Promise.all([loadManifest(file), o.matrix ? loadMatrix(resolve(o.matrix)) : loadMatrix()]);
  return { manifest, matrix, manifestFile: file };
}
