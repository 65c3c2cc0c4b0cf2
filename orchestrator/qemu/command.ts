import type { MachineProfile } from "../config/machines.ts";
import type { Accel } from "./accel.ts";

export interface GuestFiles {
  kernel: string;
  initrd: string;
}

/**
 * The full QEMU argv: the profile's machine arguments plus the flags every guest shares.
 * -nodefaults/-no-user-config/-display none skip firmware and devices we do not use;
 * -no-reboot turns the init's `reboot -f` (and a panic with panic=-1) into QEMU exiting.
 */
export function qemuArgv(machine: MachineProfile, files: GuestFiles, accel: Accel, extraCmdline: string[] = []): string[] {
  const cmdline = [...machine.qemu.cmdline, "panic=-1", ...extraCmdline];
  return [
    machine.qemu.binary,
    "-nodefaults",
    "-no-user-config",
    "-display",
    "none",
    "-serial",
    "stdio",
    "-no-reboot",
    "-accel",
    accel === "kvm" ? "kvm" : "tcg,thread=multi",
    ...(accel === "kvm" ? ["-cpu", "host"] : []),
    ...machine.qemu.args.filter((a, i, all) => !(accel === "kvm" && (a === "-cpu" || all[i - 1] === "-cpu"))),
    "-kernel",
    files.kernel,
    "-initrd",
    files.initrd,
    "-append",
    cmdline.join(" "),
  ];
}

/** A shell-quoted command line, to save beside the console for rerunning a guest by hand. */
export function shellQuote(argv: string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(" ");
}
