// The qemu-rootfs guest's QEMU command: the lab's usual one (qemu/command.ts) with the Debian
// image as a read-only disk instead of an initramfs, and a user-net NIC whose hostfwd reaches
// the image's sshd on 127.0.0.1:PORT.
import { createServer } from "node:net";
import type { MachineProfile } from "../config/machines.ts";
import { shown } from "../config/yaml.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";
import type { Accel } from "./accel.ts";
import { qemuArgv } from "./command.ts";

export interface RootfsGuestFiles {
  kernel: string;
  /** the cached raw ext4 image (guest/rootfs.ts): QEMU writes to a snapshot, never to it */
  image: string;
  /** host port on 127.0.0.1 forwarded to the guest's port 22 */
  port: number;
}

/** The init the image boots (guests/rootfs/init.sh, installed there by guest/rootfs.ts). */
export const ROOTFS_INIT = "/sbin/cowlab-init";

/**
 * The full QEMU argv of a qemu-rootfs guest: qemuArgv's (machine arguments, console, numa,
 * panic=-1, -no-reboot so that `reboot -f` ends QEMU) without its initrd, plus the image
 * (`snapshot=on`: the cached image is never written), the NIC and the root on the command line.
 * The devices come from the machine profile's `rootfs:` section.
 */
export function rootfsQemuArgv(machine: MachineProfile, files: RootfsGuestFiles, accel: Accel, extraCmdline: string[] = []): string[] {
  const r = machine.rootfs;
  if (!r) throw new InputError(shown(repoPath("guests", "machines", `${machine.arch}.yaml`)), `rootfs: missing: ${machine.arch} has no qemu-rootfs guest`);
  if (!Number.isInteger(files.port) || files.port < 1 || files.port > 65535) throw new RangeError(`rootfsQemuArgv: port ${files.port} is not a TCP port`);
  const NO_INITRD = "\u0000no-initrd";
  const argv = qemuArgv(machine, { kernel: files.kernel, initrd: NO_INITRD }, accel, [`root=${r.root}`, "rw", "rootfstype=ext4", `init=${ROOTFS_INIT}`, ...extraCmdline]);
  const at = argv.indexOf(NO_INITRD);
  if (at < 1 || argv[at - 1] !== "-initrd") throw new Error("qemuArgv no longer passes -initrd: update rootfsQemuArgv");
  argv.splice(at - 1, 2);
  // QEMU's -drive takes commas in a file name doubled
  const file = files.image.replace(/,/g, ",,");
  argv.push(
    "-drive",
    `file=${file},if=${r.drive_if},format=raw,snapshot=on`,
    "-netdev",
    `user,id=n0,hostfwd=tcp:127.0.0.1:${files.port}-:22`,
    "-device",
    `${r.net_device},netdev=n0`,
  );
  return argv;
}

/**
 * A TCP port on 127.0.0.1 that was free a moment ago (the kernel's pick for port 0). Another
 * process may take it before QEMU binds it; QEMU then fails to start, saying so.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close((e) => (e ? reject(e) : port ? resolve(port) : reject(new Error("no port from listen(0)"))));
    });
  });
}
