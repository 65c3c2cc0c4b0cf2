import { readdir } from "node:fs/promises";
import { z } from "zod";
import { loadYaml } from "./yaml.ts";
import { repoPath } from "../util/paths.ts";

/** A QEMU machine profile per arch, kept as data the way kunit.py keeps qemu_configs/. */
export const MachineProfile = z.strictObject({
  arch: z.enum(["x86_64", "arm64"]),
  /** make ARCH= */
  kernel_arch: z.string(),
  /** make CROSS_COMPILE= ("" for native) */
  cross_compile: z.string(),
  /** userspace C compiler for the static reproducers */
  cc: z.string(),
  /** Debian architecture name, for busybox-static and liburing */
  deb_arch: z.string(),
  make_target: z.string(),
  /** kernel image, relative to the build directory */
  image: z.string(),
  /** fragment merged for this arch, from kernels/fragments/ */
  fragment: z.string(),
  /** host `uname -m` that can run this guest under KVM */
  kvm_host: z.string(),
  qemu: z.strictObject({
    binary: z.string(),
    args: z.array(z.string()),
    cmdline: z.array(z.string()),
    /** guest timeout under TCG; KVM guests get a tenth of it */
    timeout_s: z.number().int().positive(),
  }),
  /**
   * The qemu-rootfs guest (orchestrator/guest/rootfs.ts, qemu/rootfs-argv.ts): how this
   * machine attaches the Debian ext4 image and the user-net NIC, and the root device the
   * kernel mounts. Absent: this arch has no qemu-rootfs guest.
   */
  rootfs: z
    .strictObject({
      /** QEMU -drive if= for the image (virtio: a virtio-blk disk) */
      drive_if: z.string(),
      /** QEMU -device for the user-net NIC (its netdev is the hostfwd to sshd) */
      net_device: z.string(),
      /** the image's block device in the guest (root=) */
      root: z.string(),
      /** extra kernel fragments (kernels/fragments/) this arch needs besides rootfs */
      fragments: z.array(z.string()).default([]),
    })
    .optional(),
});
export type MachineProfile = z.infer<typeof MachineProfile>;
export type Arch = MachineProfile["arch"];
export const ARCHES: readonly Arch[] = ["x86_64", "arm64"];

const cache = new Map<string, MachineProfile>();

export async function loadMachine(arch: string): Promise<MachineProfile> {
  const hit = cache.get(arch);
  if (hit) return hit;
  const known = (await readdir(repoPath("guests", "machines"))).map((f) => f.replace(/\.yaml$/, ""));
  if (!known.includes(arch)) throw new Error(`unknown arch '${arch}' (known: ${known.join(", ")})`);
  const profile = await loadYaml(repoPath("guests", "machines", `${arch}.yaml`), MachineProfile);
  cache.set(arch, profile);
  return profile;
}
