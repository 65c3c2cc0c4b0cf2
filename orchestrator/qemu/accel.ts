import { readFile, access, constants } from "node:fs/promises";
import { arch as hostArch } from "node:os";
import type { MachineProfile } from "../config/machines.ts";

export type Accel = "kvm" | "tcg";
export type AccelChoice = Accel | "auto";

const unameM = (): string => ({ x64: "x86_64", arm64: "aarch64" })[hostArch()] ?? hostArch();

/**
 * KVM only when it can really run a guest: /dev/kvm opening is not enough (here
 * KVM_CREATE_VM succeeds but guests hang on a host CPU without vmx/svm), so also require
 * the virtualization flag the CPU advertises.
 */
export async function kvmUsable(machine: MachineProfile): Promise<{ usable: boolean; why: string }> {
  if (machine.kvm_host !== unameM()) return { usable: false, why: `host is ${unameM()}, guest needs ${machine.kvm_host}` };
  try {
    await access("/dev/kvm", constants.R_OK | constants.W_OK);
  } catch {
    return { usable: false, why: "/dev/kvm not accessible" };
  }
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  if (unameM() === "x86_64" && !/^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo)) {
    return { usable: false, why: "no vmx/svm flag in /proc/cpuinfo (nested KVM hangs)" };
  }
  return { usable: true, why: "/dev/kvm and CPU virtualization flags present" };
}

export async function chooseAccel(choice: AccelChoice, machine: MachineProfile): Promise<{ accel: Accel; why: string }> {
  if (choice !== "auto") return { accel: choice, why: "forced by --accel" };
  const kvm = await kvmUsable(machine);
  return kvm.usable ? { accel: "kvm", why: kvm.why } : { accel: "tcg", why: kvm.why };
}
