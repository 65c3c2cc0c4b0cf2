// The command-line options that select jobs from the matrix, shared by `cowlab run` and
// `cowlab explore` (one spelling, one meaning), and the planner filters they become.
import { Option, type Command } from "commander";
import { ARCHES, type Arch } from "../config/machines.ts";
import type { Filters } from "./plan.ts";
import { resolve } from "node:path";
import { InputError } from "../util/result.ts";
import { loadManifest, MANIFEST_FILE, type Manifest } from "../config/testcases.ts";
import { loadMatrix, type Matrix } from "../config/matrix.ts";
import { parseMsgid } from "../lore/msgid.ts";
import { fetchSeries } from "../lore/fetch.ts";

export interface MatrixCliOptions {
  kernel?: string[];
  arch?: Arch[];
  variant?: string[];
  series?: string[];
  /** cover letters' Message-IDs (or lore URLs): loadInputs fetches each with b4 and adds it to `series` */
  seriesMsgid?: string[];
  /** a local mbox b4 reads the --series-msgid threads from, instead of lore */
  seriesMbox?: string;
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
    .option("-s, --series <dirs...>", "patch series (directory, quilt series file or mbox): each adds a variant named after it (named as a matrix variant, it replaces that variant: an edited copy)")
    .option("--series-msgid <ids...>", "patch series from a mailing list thread: the cover letter's Message-ID or lore URL; `b4 am` fetches it (cached) and it runs as --series would, a variant named after its subject")
    .option("--series-mbox <file>", "with --series-msgid: b4 reads the thread from this mbox instead of lore (offline; default: $COWLAB_LORE_MBOX)")
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

/**
 * The matrix and manifest the options name (the repository's by default). Series named by
 * --series-msgid are fetched here (b4 am, into the cache) and their folders appended to
 * `o.series`, so everything after this (matrixFilters, the planner) sees a plain --series.
 */
export async function loadInputs(
  o: Pick<MatrixCliOptions, "manifest" | "matrix" | "series" | "seriesMsgid" | "seriesMbox">,
): Promise<{ manifest: Manifest; matrix: Matrix; manifestFile: string }> {
  const file = manifestFile(o);
  const [manifest, matrix] = await Promise.all([loadManifest(file), o.matrix ? loadMatrix(resolve(o.matrix)) : loadMatrix()]);
  const fetched = await seriesFromLore(o);
  if (fetched.length) o.series = [...(o.series ?? []), ...fetched];
  return { manifest, matrix, manifestFile: file };
}

/** The series folders --series-msgid names, fetched one after another (b4 is not run in parallel). */
async function seriesFromLore(o: Pick<MatrixCliOptions, "seriesMsgid" | "seriesMbox">): Promise<string[]> {
  const mbox = o.seriesMbox ?? (process.env.COWLAB_LORE_MBOX || undefined);
  if (!o.seriesMsgid?.length) {
    if (o.seriesMbox) throw new InputError("--series-mbox", "needs --series-msgid: the cover letter's Message-ID picks the thread out of the mbox");
    return [];
  }
  const out: string[] = [];
  const names = new Map<string, string>();
  for (const text of o.seriesMsgid) {
    const msgid = parseMsgid(text);
    const s = await fetchSeries(msgid, mbox ? resolve(mbox) : undefined);
    const other = names.get(s.name);
    if (other === msgid) continue; // named twice
    if (other) throw new InputError("--series-msgid", `${other} and ${msgid} are both series '${s.name}': run them one at a time`);
    names.set(s.name, msgid);
    const trailers = s.trailers.length ? `, ${s.trailers.length} trailer${s.trailers.length > 1 ? "s" : ""} collected` : "";
    process.stderr.write(`series ${s.name}: <${msgid}> from ${s.from}${trailers}\n`);
    out.push(s.series);
  }
  return out;
}
