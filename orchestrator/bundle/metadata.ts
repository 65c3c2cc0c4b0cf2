// metadata.json and README of a bundle. metadata.json is laid out like tuxmake's (groups of
// key/value items, a reproducer command line) so a script can read what the bundle replays
// without unpacking the kernel: the run, the case and its verdict, the kernel and its build,
// the guest's QEMU command (as recorded and as the bundle runs it), and the sha256 of every
// other file in the bundle. Nothing in it depends on when or where the bundle was written, so
// two bundles of the same result are the same bytes.
import { caseId } from "../results/attempts.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";
import type { Boot } from "../results/schema.ts";
import { shellQuote } from "../qemu/command.ts";
import { CASE_INITRD, RERUN_EXIT } from "./rerun.ts";
import { INITRD_ARG, KERNEL_ARG } from "./qemu-argv.ts";

export const BUNDLE_FORMAT = 1;

export interface MetadataInput {
  run: Pick<JudgedRun["run"], "id" | "command" | "started_at">;
  r: JudgedCase;
  entry: JudgedKernel;
  guest: number;
  boot: Boot;
  /** the argv rerun.sh boots by default (with qemu-argv.ts's placeholders for the kernel and initramfs) */
  argv: string[];
  /** what the guest runs: program, case, the env's selection lines */
  selection: { program: string; case: string; env: string };
  kernelFile: string;
  /** the reproducer's files in the bundle, and for an explorer result its line */
  reproducer: { files: string[]; scenario?: string; minimized_from?: string };
  /** sha256 of every other file, by name */
  sha256: Record<string, string>;
}

/** The series a variant applied, as the source label names it ("... + NAME (N patches)", "... + K of NAME"). */
export function seriesName(sourceLabel: string): string | null {
  return / \+ (?:\d+ of )?(\S+)/.exec(sourceLabel)?.[1] ?? null;
}

const sortedRecord = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));

export function bundleMetadata(m: MetadataInput): Record<string, unknown> {
  const { r, entry, boot } = m;
  return {
    reproducer: "./rerun.sh",
    bundle: {
      format: BUNDLE_FORMAT,
      reproducer_cmdline: ["./rerun.sh"],
      exit_codes: { [RERUN_EXIT.pass]: "the case passed", [RERUN_EXIT.failedAgain]: "it failed again (fail, crash or timeout)", [RERUN_EXIT.notRun]: "the guest did not run it (or skipped it)" },
      options: [...(m.reproducer.scenario ? [] : ["--whole"]), "--kernel IMAGE"],
    },
    run: { id: m.run.id, command: m.run.command, started_at: m.run.started_at },
    case: {
      id: caseId(r),
      job: r.job,
      testcase: r.testcase,
      case: r.case,
      family: r.family,
      verdict: r.status,
      reason: r.reason,
      expected: r.expected ?? null,
      attempts: r.attempts.map((a) => ({ guest: a.guest, status: a.status, reason: a.reason })),
      replayed_guest: m.guest,
    },
    kernel: {
      kernel_spec: entry.kernel_spec,
      version: entry.version,
      release: entry.release,
      arch: entry.arch,
      variant: entry.variant,
      series: seriesName(entry.source),
      source: entry.source,
      image: m.kernelFile,
    },
    build: {
      toolchain: entry.build?.toolchain ?? null,
      config_sha256: entry.build?.config_sha256 ?? null,
      cache_key: entry.build?.key ?? null,
    },
    guest: {
      runtime: boot.runtime,
      accel: boot.accel,
      qemu_cmdline_recorded: boot.qemu_cmdline,
      qemu_cmdline: shellQuote(m.argv.map((a) => (a === KERNEL_ARG ? m.kernelFile : a === INITRD_ARG ? CASE_INITRD : a))),
      program: m.selection.program,
      case: m.selection.case,
      env: m.selection.env,
    },
    source: { files: m.reproducer.files, ...(m.reproducer.scenario ? { scenario: m.reproducer.scenario } : {}), ...(m.reproducer.minimized_from ? { minimized_from: m.reproducer.minimized_from } : {}) },
    sha256: sortedRecord(m.sha256),
  };
}

export interface ReadmeInput {
  r: JudgedCase;
  entry: JudgedKernel;
  qemuBinary: string;
  /** the machine's C compiler for the reproducer (gcc, aarch64-linux-gnu-gcc) */
  cc: string;
  kernelFile: string;
  /** the reproducer's files in the bundle, its C file first */
  sources: string[];
  explore?: { line: string; file: string };
  command: string;
}

/** The bundle's README: what it replays, its one command, and the files. */
export function bundleReadme(x: ReadmeInput): string {
  const { r, entry } = x;
  const said = `${r.status}${r.expected ? ` (expected: ${r.expected.reason})` : ""}`;
  const reason = r.reason.split("\n")[0];
  const how = x.explore
    ? `The guest runs ${x.explore.file}, the explorer's scenario\n  ${x.explore.line}\nas one program (exit 0 as the model predicts, 1 not, 2 cannot be set up).`
    : `The guest runs ${r.testcase} with its case filter set to ${r.case === "*" ? "the job's cases" : r.case}.`;
  const build = x.explore
    ? `  ${x.cc} -static -O2 ${x.explore.file} -o repro -lpthread`
    : `  ${x.cc} -static -O2 -I testcases/lib -I LINUX_HEADERS/include ${x.sources[0]} -o ${r.testcase} -lpthread`;
  return `cowlab replay bundle
====================

${caseId(r)}: ${said}
  ${reason}
kernel ${entry.release ?? entry.version} (${entry.kernel_spec}, variant ${entry.variant}, ${entry.arch}), from ${entry.source}
run by: ${x.command}

Replay it (needs ${x.qemuBinary}, sh, awk, cat, tee and timeout; nothing else):

  ./rerun.sh                  boots ${x.kernelFile} with the initramfs the job's guest booted,
                              narrowed to this case, and prints the console. Exit 0: the case
                              passed, 1: it failed again (fail, crash or timeout), 2: the guest
                              did not run it.
${x.explore ? "" : "  ./rerun.sh --whole          boots the job's initramfs as it was (every case it ran)\n"}  ./rerun.sh --kernel IMAGE   the same with another kernel image (a build with a fix)
  ACCEL=tcg, TIMEOUT=SECONDS  TCG where the run used KVM; QEMU's bound

${how}

Files:
  rerun.sh          the command above
  metadata.json     the run, the case, the kernel and build, the QEMU command, sha256 of each file
  ${x.kernelFile.padEnd(17)} the kernel the guest booted
  .config           its configuration
  initramfs.cpio    the initramfs the guest booted (busybox, the runner, the programs)
  case.cpio         laid over it by rerun.sh: the runner's env narrowed to this case${x.explore ? ", the compiled reproducer" : ""}
${x.sources.map((s) => `  ${s}`).join("\n")}

Build the reproducer yourself:
${build}
`;
}
