// The command-line options that select jobs from the matrix, shared by `cowlab run` and
// `cowlab explore` (one spelling, one meaning), and the planner filters they become.
import { Option, type Command } from "commander";
import { ARCHES, type Arch } from "../config/machines.ts";
import type { Filters } from "./plan.ts";

export interface MatrixCliOptions {
  kernel?: string[];
  arch?: Arch[];
  variant?: string[];
  series?: string[];
  gitTree?: string;
  fragment: string[];
  accel: "auto" | "kvm" | "tcg";
  guests?: string;
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
