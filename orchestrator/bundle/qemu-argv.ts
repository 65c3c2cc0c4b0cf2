// The bundle's QEMU command: the one the run recorded (results.json boot.qemu_cmdline, the
// machine profile's argv as qemu/command.ts built it), with the kernel and initramfs paths
// pointing into the bundle. A run under KVM also gets the TCG form of the same machine, for a
// host without a usable /dev/kvm.
import type { MachineProfile } from "../config/machines.ts";
import { qemuArgv } from "../qemu/command.ts";

/** Where rerun.sh puts its own values: the kernel image (--kernel) and the initramfs (--whole). */
export const KERNEL_ARG = "@KERNEL@";
export const INITRD_ARG = "@INITRD@";

/** A command line as qemu/command.ts shellQuote writes it (bare words, '...' with '\'' inside) back to argv. */
export function shellWords(line: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  for (let i = 0; i < line.length; i++) {
    const ch = line[i]!;
    if (ch === "'") {
      const end = line.indexOf("'", i + 1);
      if (end < 0) throw new Error(`unterminated quote in: ${line}`);
      word = (word ?? "") + line.slice(i + 1, end);
      i = end;
    } else if (ch === "\\" && i + 1 < line.length) {
      word = (word ?? "") + line[++i];
    } else if (/\s/.test(ch)) {
      if (word !== undefined) words.push(word);
      word = undefined;
    } else word = (word ?? "") + ch;
  }
  if (word !== undefined) words.push(word);
  return words;
}

const valueOf = (argv: string[], flag: string): string | undefined => {
  const i = argv.indexOf(flag);
  return i >= 0 ? argv[i + 1] : undefined;
};

export interface RecordedGuest {
  /** the kernel and initramfs the guest booted, as the recorded argv names them (relative to the guest's folder) */
  kernel: string;
  initrd: string;
  append: string;
  accel: "kvm" | "tcg";
}

/** What the recorded QEMU argv says the guest booted; an argv that is not the lab's initramfs guest is an error. */
export function readRecordedArgv(argv: string[]): RecordedGuest {
  const kernel = valueOf(argv, "-kernel");
  const initrd = valueOf(argv, "-initrd");
  const append = valueOf(argv, "-append");
  const accel = valueOf(argv, "-accel");
  if (!kernel || !initrd || append === undefined || !accel) throw new Error("the recorded QEMU command has no -kernel, -initrd, -append or -accel");
  return { kernel, initrd, append, accel: accel === "kvm" ? "kvm" : "tcg" };
}

/** The recorded argv with the bundle's placeholders for the kernel and initramfs. */
export function withBundleFiles(argv: string[]): string[] {
  return argv.map((a, i) => (argv[i - 1] === "-kernel" ? KERNEL_ARG : argv[i - 1] === "-initrd" ? INITRD_ARG : a));
}

/** The machine's TCG argv with the recorded kernel command line (what the run would have booted without KVM). */
export function tcgArgv(machine: MachineProfile, recorded: RecordedGuest): string[] {
  const argv = qemuArgv(machine, { kernel: KERNEL_ARG, initrd: INITRD_ARG }, "tcg");
  const i = argv.indexOf("-append");
  return [...argv.slice(0, i + 1), recorded.append, ...argv.slice(i + 2)];
}

/** The argv forms rerun.sh chooses from: the recorded one, and under KVM its TCG fallback. */
export function bundleArgv(recordedArgv: string[], machine: MachineProfile): { accel: "kvm" | "tcg"; kvm?: string[]; tcg: string[] } {
  const rec = readRecordedArgv(recordedArgv);
  const mine = withBundleFiles(recordedArgv);
  return rec.accel === "kvm" ? { accel: "kvm", kvm: mine, tcg: tcgArgv(machine, rec) } : { accel: "tcg", tcg: mine };
}
