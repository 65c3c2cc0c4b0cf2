// Which runtime runs a target's guests (guests/targets/NAME.yaml kind).
import { loadMachine } from "../config/machines.ts";
import type { Target } from "../config/targets.ts";
import type { CapabilityRule } from "../config/testcases.ts";
import { rootfsRuntime } from "./qemu-rootfs.ts";
import { sshRuntime } from "./ssh.ts";
import type { GuestRuntime } from "./types.ts";

export async function runtimeFor(target: Target, rules: readonly CapabilityRule[], opts: { install?: boolean } = {}): Promise<GuestRuntime> {
  return target.kind === "ssh" ? sshRuntime(target, rules, opts) : rootfsRuntime(target, await loadMachine(target.arch), rules);
}
