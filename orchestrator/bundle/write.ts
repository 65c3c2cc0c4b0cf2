// Writing the bundles of a judged run: per result, its inputs located (inputs.ts), the
// guest's selection laid over its initramfs (selection.ts), rerun.sh, the reproducer's
// source, README and metadata.json, archived reproducibly at <run folder>/<bundleFile(r)>.
import { mkdir, readFile, rm, mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join, resolve } from "node:path";
import { execa } from "execa";
import { EXPLORER_ID, loadManifest, type Manifest } from "../config/testcases.ts";
import { loadMachine, type MachineProfile } from "../config/machines.ts";
import { caseId } from "../results/attempts.ts";
import type { JudgedCase, JudgedRun } from "../results/policy.ts";
import { writeFileAtomic } from "../util/fsx.ts";
import { sha256 } from "../util/hash.ts";
import { InputError } from "../util/result.ts";
import { tarGz } from "./archive.ts";
import { locateInputs, type GuestInputs } from "./inputs.ts";
import { bundleMetadata, bundleReadme } from "./metadata.ts";
import { bundleFile } from "./paths.ts";
import { bundleArgv } from "./qemu-argv.ts";
import { rerunScript } from "./rerun.ts";
import { jobEnv, selectionOverlay, narrowEnv, type GuestSelection } from "./selection.ts";
import { exploreSource, testcaseSources, type BundleFile } from "./sources.ts";

export interface BundleOptions {
  /** write under this folder instead of the run folder (same relative names) */
  outDir?: string;
  /** the manifest whose testcases name the sources (default: testcases/manifest.yaml) */
  manifest?: Manifest;
  /** the results file the run folder holds, for messages (default: <runDir>/results.json) */
  resultsFile?: string;
}

export interface WrittenBundle {
  id: string;
  verdict: string;
  file: string;
  bytes: number;
  sha256: string;
}

export interface BundleFailure {
  id: string;
  /** one line: "FILE: what is wrong" */
  error: string;
}

/** The explorer's reproducer in the guest: a program of its own, its exit status the verdict (2: cannot be set up). */
const EXPLORE_PROGRAM = "repro";
const EXPLORE_BOUND_S = 120;

/** Build the explorer's standalone C file for the guest, against the job's own UAPI headers as the lab's reproducers are. */
async function compileForGuest(machine: MachineProfile, inputs: GuestInputs, src: BundleFile): Promise<Buffer> {
  const headers = join(inputs.buildDir, "headers", "include");
  if (!(await readFile(join(headers, "linux", "mman.h")).catch(() => undefined))) throw new InputError(headers, `missing: the UAPI headers of ${inputs.entry.job}'s build, to compile ${src.name}`);
  const dir = await mkdtemp(join(tmpdir(), "cowlab-bundle-cc-"));
  try {
    const c = join(dir, basename(src.name));
    await writeFileAtomic(c, src.data);
    const r = await execa(machine.cc, ["-static", "-O2", "-I", headers, c, "-o", join(dir, EXPLORE_PROGRAM), "-lpthread"], { reject: false, all: true });
    if (r.exitCode !== 0) throw new InputError(src.name, `${machine.cc} failed: ${(r.all ?? "").split("\n")[0]}`);
    return await readFile(join(dir, EXPLORE_PROGRAM));
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

interface Reproducer {
  sources: BundleFile[];
  selection: GuestSelection;
  programs: BundleFile[];
  explore?: { line: string; file: string; minimizedFrom?: string };
}

async function reproducerOf(file: string, data: JudgedRun, r: JudgedCase, inputs: GuestInputs, machine: MachineProfile, manifest: Manifest): Promise<Reproducer> {
  if (r.testcase === EXPLORER_ID) {
    const src = await exploreSource(dirname(resolve(file)), data, r);
    const bin = await compileForGuest(machine, inputs, src.file);
    return {
      sources: [src.file],
      selection: { program: EXPLORE_PROGRAM, case: "*", timeoutS: EXPLORE_BOUND_S },
      programs: [{ name: `testcases/${EXPLORE_PROGRAM}`, data: bin, mode: 0o755 }],
      explore: { line: src.line, file: src.file.name, ...(src.minimized && src.minimized.original !== src.line ? { minimizedFrom: src.minimized.original } : {}) },
    };
  }
  const t = manifest.testcases.find((x) => x.id === r.testcase);
  if (!t) throw new InputError(file, `${caseId(r)}: testcase ${r.testcase} is not in the manifest`);
  return { sources: await testcaseSources(t), selection: { program: t.id, case: r.case, timeoutS: t.timeout_s }, programs: [] };
}

/** The files of r's bundle, in the order README lists them. */
export async function bundleFiles(file: string, data: JudgedRun, r: JudgedCase, manifest: Manifest): Promise<BundleFile[]> {
  const inputs = await locateInputs(file, data, r);
  const machine = await loadMachine(r.arch);
  const initramfs = await readFile(inputs.initramfs);
  let env: string;
  let overlay: Buffer;
  const rep = await reproducerOf(file, data, r, inputs, machine, manifest);
  try {
    env = jobEnv(initramfs);
    overlay = selectionOverlay(initramfs, rep.selection, rep.programs.map((p) => ({ name: p.name, mode: p.mode ?? 0o644, data: p.data })));
  } catch (e) {
    throw new InputError(inputs.initramfs, (e as Error).message);
  }
  const kernelFile = basename(inputs.recorded.kernel);
  const argv = bundleArgv(inputs.argv, machine);
  // the guest's whole-run bound under TCG (the longer), and the explorer's budget for --whole
  const budget = rep.explore ? 0 : Number(/^COWLAB_EXPLORE_BUDGET=(\d+)/m.exec(env)?.[1] ?? 0);
  const reason = r.reason.split("\n")[0] ?? "";
  const rerun = rerunScript({
    id: caseId(r),
    recorded: { verdict: `${r.status}${r.expected ? " (a known issue)" : ""}`, reason },
    kernel: kernelFile,
    label: `${r.testcase}/${r.case}`,
    program: rep.selection.program,
    case: rep.selection.case,
    ...(rep.explore ? { skipRc: 2 } : {}),
    whole: !rep.explore,
    argv,
    timeoutS: machine.qemu.timeout_s + budget,
  });
  const readme = bundleReadme({
    r,
    entry: inputs.entry,
    qemuBinary: machine.qemu.binary,
    cc: machine.cc,
    kernelFile,
    sources: rep.sources.map((s) => s.name),
    ...(rep.explore ? { explore: rep.explore } : {}),
    command: data.run.command,
  });
  const files: BundleFile[] = [
    { name: "rerun.sh", data: Buffer.from(rerun), mode: 0o755 },
    { name: "README", data: Buffer.from(readme) },
    { name: kernelFile, data: await readFile(inputs.kernel) },
    { name: ".config", data: Buffer.from(inputs.configText) },
    { name: "initramfs.cpio", data: initramfs },
    { name: "case.cpio", data: overlay },
    ...rep.sources,
  ];
  const metadata = bundleMetadata({
    run: data.run,
    r,
    entry: inputs.entry,
    guest: inputs.guest,
    boot: inputs.boot,
    argv: argv.kvm ?? argv.tcg,
    selection: { program: rep.selection.program, case: rep.selection.case, env: narrowEnv(env, rep.selection) },
    kernelFile,
    reproducer: { files: rep.sources.map((s) => s.name), ...(rep.explore ? { scenario: rep.explore.line } : {}), ...(rep.explore?.minimizedFrom ? { minimized_from: rep.explore.minimizedFrom } : {}) },
    sha256: Object.fromEntries(files.map((f) => [f.name, sha256(f.data)])),
  });
  return [...files, { name: "metadata.json", data: Buffer.from(JSON.stringify(metadata, null, 2) + "\n") }];
}

/** Write r's bundle; an input that is gone is an InputError naming it. */
export async function writeBundle(file: string, data: JudgedRun, r: JudgedCase, opts: BundleOptions = {}): Promise<WrittenBundle> {
  const manifest = opts.manifest ?? (await loadManifest());
  const archive = await tarGz(await bundleFiles(file, data, r, manifest));
  const out = join(opts.outDir ? resolve(opts.outDir) : dirname(resolve(file)), bundleFile(r));
  await mkdir(dirname(out), { recursive: true });
  await writeFileAtomic(out, archive);
  return { id: caseId(r), verdict: r.status, file: out, bytes: archive.length, sha256: sha256(archive) };
}

/**
 * The bundles of the results `filter` picks from a judged run whose results.json is in
 * runDir. One result's missing input does not stop the others: it is reported in `failed`.
 * `cowlab run` calls it after a run with isRegression (results/policy.ts), so the
 * regressions of a run come with their bundles and expected failures do not.
 */
export async function writeBundles(
  runDir: string,
  judged: JudgedRun,
  filter: (r: JudgedCase) => boolean,
  opts: BundleOptions = {},
): Promise<{ written: WrittenBundle[]; failed: BundleFailure[] }> {
  const file = opts.resultsFile ?? join(runDir, "results.json");
  const manifest = opts.manifest ?? (await loadManifest());
  const written: WrittenBundle[] = [];
  const failed: BundleFailure[] = [];
  for (const r of judged.results.filter(filter)) {
    try {
      written.push(await writeBundle(file, judged, r, { ...opts, manifest }));
    } catch (e) {
      // Any failure (a tar that fails, a full disk: bundles hold kernel images) is this
      // bundle's, never the run's: `cowlab run` has written its results and must keep its exit code.
      failed.push({ id: caseId(r), error: e instanceof InputError ? e.message : `${join(runDir, bundleFile(r))}: ${(e as Error).message.split("\n")[0]}` });
    }
  }
  return { written, failed };
}
