// The host tools a run executes, checked before any work starts: a tool missing half-way
// through a matrix (the cross compiler, a QEMU binary) used to end every job of one arch as
// an `error` after minutes of building the others. Each missing tool is one line naming the
// Debian package that provides it.
import { access, constants } from "node:fs/promises";
import { delimiter, join } from "node:path";
import { arch as hostNodeArch } from "node:process";
import { loadMachine, type MachineProfile } from "../config/machines.ts";
import type { SourceSpec } from "../config/kernels.ts";
import { LabFailure } from "./result.ts";

/** Something a stage runs (a program on PATH) or links against (a file). */
export interface HostNeed {
  kind: "tool" | "file";
  /** program name, or absolute path of the file */
  name: string;
  /** the Debian package that provides it */
  pkg: string;
}

const tool = (name: string, pkg: string): HostNeed => ({ kind: "tool", name, pkg });
const file = (name: string, pkg: string): HostNeed => ({ kind: "file", name, pkg });

/** Debian packages of the tools whose package is not their name. */
const PACKAGE: Record<string, string> = {
  sh: "dash",
  find: "findutils",
  sort: "coreutils",
  cp: "coreutils",
  "apt-get": "apt",
  "dpkg-deb": "dpkg",
  as: "binutils",
  ld: "binutils",
  xz: "xz-utils",
  "qemu-system-x86_64": "qemu-system-x86",
  "qemu-system-aarch64": "qemu-system-arm",
  "mkfs.ext4": "e2fsprogs",
  "ssh-keygen": "openssh-client",
  "dpkg-query": "dpkg",
};

const packageOf = (name: string): string => {
  if (PACKAGE[name]) return PACKAGE[name]!;
  // A cross tool: aarch64-linux-gnu-gcc is gcc-aarch64-linux-gnu, -as/-ld binutils-aarch64-linux-gnu.
  const cross = /^([a-z0-9_]+-linux-gnu[a-z]*)-(gcc|as|ld)$/.exec(name);
  if (cross) return `${cross[2] === "gcc" ? "gcc" : "binutils"}-${cross[1]!.replace(/_/g, "-")}`;
  return name;
};

const need = (name: string): HostNeed => tool(name, packageOf(name));

const HOST_TRIPLET: Record<string, string> = { x64: "x86_64-linux-gnu", arm64: "aarch64-linux-gnu" };
const DEB_ARCH: Record<string, string> = { "x86_64-linux-gnu": "amd64", "aarch64-linux-gnu": "arm64" };

/**
 * A C compiler that links `-static` programs: the compiler, its assembler and linker, and the
 * static C library (libc6-dev for the host's compiler, libc6-dev-ARCH-cross for a cross one).
 */
function staticCompiler(cc: string): HostNeed[] {
  const cross = /^(.+)-gcc$/.exec(cc);
  if (!cross) {
    const triplet = HOST_TRIPLET[hostNodeArch] ?? "x86_64-linux-gnu";
    return [need(cc), need("as"), need("ld"), file(`/usr/lib/${triplet}/libc.a`, "libc6-dev")];
  }
  const triplet = cross[1]!;
  return [need(cc), need(`${triplet}-as`), need(`${triplet}-ld`), file(`/usr/${triplet}/lib/libc.a`, `libc6-dev-${DEB_ARCH[triplet] ?? triplet}-cross`)];
}

/**
 * The host's own case table (guest/caselist.ts): the reproducers built with the host's gcc
 * and --listed, into a cache entry whose files are summed up with find (util/fsx.ts).
 */
export const caseTableNeeds = (): HostNeed[] => [need("sh"), need("find"), ...staticCompiler("gcc")];

/** What fetching and unpacking a source runs (sources/). */
export function sourceNeeds(source: SourceSpec, series: boolean): HostNeed[] {
  const needs: HostNeed[] = [];
  if (source.kind === "debian") needs.push(need("apt-get"), need("dpkg-deb"), need("tar"), need("xz"));
  if (source.kind === "tarball") needs.push(need("tar"), ...(/\.xz$/.test(source.path) ? [need("xz")] : []));
  if (source.kind === "git") needs.push(need("git"));
  if (series) needs.push(need("patch"), need("cp")); // a patched tree is a hard-linked copy (cp -al)
  return needs;
}

/** What building a kernel for `m`, its guest (busybox, reproducers, initramfs) and booting it run. */
export function archNeeds(m: MachineProfile): HostNeed[] {
  const cross = m.cross_compile;
  const kernelCc = `${cross}gcc`;
  return [
    // the kernel build (build/kernel.ts): Kbuild, its host programs, kconfig's parser,
    // timeconst.h (bc), headers_install (rsync)
    need("make"),
    need("gcc"),
    need("flex"),
    need("bison"),
    need("bc"),
    need("rsync"),
    ...(cross ? [need(kernelCc), need(`${cross}as`), need(`${cross}ld`)] : [need("as"), need("ld")]),
    // x86: the compressed bzImage is xz (tinyconfig), objtool links libelf
    ...(m.kernel_arch === "x86_64" ? [need("xz"), file("/usr/include/gelf.h", "libelf-dev")] : []),
    // the guest: busybox-static unpacked from its deb, static reproducers, the cpio
    need("apt-get"),
    need("dpkg-deb"),
    ...staticCompiler(m.cc),
    need("cpio"),
    need("sort"),
    need(m.qemu.binary),
  ];
}

/** What a guest runtime runs on the host besides QEMU (orchestrator/runtime/). */
export function runtimeNeeds(runtime: string | undefined): HostNeed[] {
  // qemu-rootfs: the Debian image is made with mmdebstrap, its keys with ssh-keygen, the
  // ext4 file with mkfs.ext4 -d (guest/rootfs.ts); ssh needs nothing (ssh2 is JavaScript)
  return runtime === "qemu-rootfs" ? [need("mmdebstrap"), need("mkfs.ext4"), need("ssh-keygen"), need("dpkg-query")] : [];
}

/** A planned job as far as host tools go (a JobSpec is one). */
export interface ToolJob {
  kernel: { source: SourceSpec };
  variant: { series?: string };
  arch: string;
}

/** Every need of a run, once each, in a stable order. */
export async function runNeeds(jobs: ToolJob[], opts: { list?: boolean; runtime?: string } = {}): Promise<HostNeed[]> {
  const all = [...caseTableNeeds(), ...(opts.list ? [] : runtimeNeeds(opts.runtime))];
  if (!opts.list) for (const j of jobs) all.push(...sourceNeeds(j.kernel.source, !!j.variant.series), ...archNeeds(await loadMachine(j.arch)));
  const seen = new Set<string>();
  return all.filter((n) => !seen.has(n.name) && seen.add(n.name));
}

async function executable(path: string): Promise<boolean> {
  return access(path, constants.X_OK).then(
    () => true,
    () => false,
  );
}

/** Is `name` a program on PATH (as execa would find it)? */
export async function onPath(name: string, path = process.env.PATH ?? ""): Promise<boolean> {
  for (const dir of path.split(delimiter).filter(Boolean)) if (await executable(join(dir, name))) return true;
  return false;
}

export async function missingNeeds(needs: HostNeed[]): Promise<HostNeed[]> {
  const missing: HostNeed[] = [];
  for (const n of needs) {
    const there = n.kind === "tool" ? await onPath(n.name) : await access(n.name).then(() => true, () => false);
    if (!there) missing.push(n);
  }
  return missing;
}

export const missingLine = (n: HostNeed): string => `missing host ${n.kind} ${n.name}: apt-get install ${n.pkg} (or run scripts/setup.sh)`;

/**
 * `cowlab run`'s preflight: every tool the planned jobs will execute must be there before
 * anything is fetched or built (`--list` only builds the host's case table). Missing ones end
 * the command (exit 2) with one line each, as "cowlab: missing host tool NAME: apt-get install PKG".
 */
export async function checkHostTools(jobs: ToolJob[], opts: { list?: boolean; runtime?: string } = {}): Promise<void> {
  const missing = await missingNeeds(await runNeeds(jobs, opts));
  // The CLI prefixes the message with "cowlab: "; each further line gets the same prefix.
  if (missing.length) throw new LabFailure(missing.map(missingLine).join("\ncowlab: "));
}
