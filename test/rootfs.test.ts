// The qemu-rootfs guest's pure parts: its QEMU argv (the usual flags, the image instead of an
// initrd, the hostfwd), its image's cache key, its recipe files and kernel fragment. The real
// image build and boot are in test/integration/rootfs.test.ts.
import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { createServer } from "node:net";
import { execa } from "execa";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { qemuArgv } from "../orchestrator/qemu/command.ts";
import { freePort, rootfsQemuArgv, ROOTFS_INIT } from "../orchestrator/qemu/rootfs-argv.ts";
import { ensureRootfsImage, loadRootfsRecipe, rootfsFragments, rootfsKey, type RootfsRecipe } from "../orchestrator/guest/rootfs.ts";
import { parseConfig } from "../orchestrator/build/kconfig.ts";
import { InputError } from "../orchestrator/util/result.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

const files = { kernel: "bzImage", image: "/cache/rootfs/amd64-k/rootfs.img", port: 40022 };
const flag = (argv: string[], name: string): string[] => argv.flatMap((a, i) => (argv[i - 1] === name ? [a] : []));

describe("rootfsQemuArgv", () => {
  it("is qemuArgv's command without the initrd, plus the image as a snapshot disk and the hostfwd NIC", async () => {
    const m = await loadMachine("x86_64");
    const argv = rootfsQemuArgv(m, files, "tcg");
    expect(argv).not.toContain("-initrd");
    expect(flag(argv, "-drive")).toEqual(["file=/cache/rootfs/amd64-k/rootfs.img,if=virtio,format=raw,snapshot=on"]);
    expect(flag(argv, "-netdev")).toEqual(["user,id=n0,hostfwd=tcp:127.0.0.1:40022-:22"]);
    expect(flag(argv, "-device")).toEqual(["virtio-net-pci,netdev=n0"]);
    // every flag of the usual guest is there, in the same order (one flag list, not two)
    const usual = qemuArgv(m, { kernel: "bzImage", initrd: "x" }, "tcg");
    const at = usual.indexOf("-initrd");
    const withoutInitrd = [...usual.slice(0, at), ...usual.slice(at + 2)];
    expect(argv.slice(0, withoutInitrd.length).filter((a) => a !== flag(argv, "-append")[0])).toEqual(withoutInitrd.filter((a) => a !== flag(usual, "-append")[0]));
    for (const f of ["-no-reboot", "-nodefaults", "-serial", "stdio", "-smp", "2,sockets=2,cores=1"]) expect(argv).toContain(f);
  });

  it("boots the image's init from the profile's root device, with the machine's console and numa arguments and the caller's last", async () => {
    const m = await loadMachine("x86_64");
    const [append] = flag(rootfsQemuArgv(m, files, "tcg", ["loglevel=7"]), "-append");
    const words = append!.split(" ");
    expect(words).toEqual(expect.arrayContaining(["console=ttyS0", "numa=fake=2", "panic=-1", "root=/dev/vda", "rw", `init=${ROOTFS_INIT}`]));
    expect(ROOTFS_INIT).toBe("/sbin/cowlab-init");
    expect(words.at(-1)).toBe("loglevel=7");
  });

  it("under KVM takes the host CPU, as the usual guest does", async () => {
    const m = await loadMachine("x86_64");
    const argv = rootfsQemuArgv(m, files, "kvm");
    expect(flag(argv, "-cpu")).toEqual(["host"]);
    expect(flag(argv, "-accel")).toEqual(["kvm"]);
  });

  it("doubles commas in the image path (QEMU's -drive escaping) and refuses a port that is not one", async () => {
    const m = await loadMachine("x86_64");
    expect(flag(rootfsQemuArgv(m, { ...files, image: "/a,b/rootfs.img" }, "tcg"), "-drive")[0]).toMatch(/^file=\/a,,b\/rootfs\.img,if=/);
    expect(() => rootfsQemuArgv(m, { ...files, port: 0 }, "tcg")).toThrow(/not a TCP port/);
    expect(() => rootfsQemuArgv(m, { ...files, port: 70000 }, "tcg")).toThrow(/not a TCP port/);
  });

  it("takes its devices from the machine profile's rootfs: section, and names the profile when there is none", async () => {
    const m = await loadMachine("x86_64");
    const other = { ...m, rootfs: { drive_if: "none-such", net_device: "e1000", root: "/dev/sda", fragments: [] } };
    const argv = rootfsQemuArgv(other, files, "tcg");
    expect(flag(argv, "-drive")[0]).toContain(",if=none-such,");
    expect(flag(argv, "-device")).toEqual(["e1000,netdev=n0"]);
    expect(flag(argv, "-append")[0]).toContain("root=/dev/sda");
    const { rootfs: _, ...bare } = m;
    expect(() => rootfsQemuArgv(bare, files, "tcg")).toThrow(InputError);
    expect(() => rootfsQemuArgv(bare, files, "tcg")).toThrow(/guests\/machines\/x86_64\.yaml: rootfs: missing/);
  });

  it("freePort gives a port on 127.0.0.1 that can be bound", async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(0);
    const srv = createServer();
    await new Promise<void>((res, rej) => srv.once("error", rej).listen(port, "127.0.0.1", res));
    await new Promise<void>((res) => srv.close(() => res()));
  });
});

describe("the rootfs image's recipe and cache key", () => {
  const base = async (): Promise<RootfsRecipe> => loadRootfsRecipe();

  it("reads guests/rootfs/: bookworm minbase with sshd, ip, procps and a reboot(8); the init ends as sshd", async () => {
    const r = await base();
    expect(r.suite).toBe("bookworm");
    expect(r.variant).toBe("minbase");
    expect(r.packages).toEqual(expect.arrayContaining(["openssh-server", "iproute2", "procps", "busybox"]));
    expect(r.packages).not.toContain("systemd");
    expect(r.init).toContain('say "sshd up"');
    expect(r.init).toMatch(/\nexec \/usr\/sbin\/sshd -D -e\n/);
    expect(r.init).toContain("10.0.2.15/24");
    expect(r.init).toContain("/sys/kernel/debug");
    expect(r.sshdConfig).toMatch(/^PasswordAuthentication no$/m);
  });

  it("the init script is valid sh", async () => {
    await execa("sh", ["-n", repoPath("guests", "rootfs", "init.sh")]);
  });

  it("is stable, and changes with the package list, the init, the sshd drop-in, the suite and the arch", async () => {
    const r = await base();
    const key = rootfsKey(r, "amd64");
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(rootfsKey(await base(), "amd64")).toBe(key);
    const changed = [
      rootfsKey({ ...r, packages: [...r.packages, "strace"] }, "amd64"),
      rootfsKey({ ...r, packages: r.packages.filter((p) => p !== "procps") }, "amd64"),
      rootfsKey({ ...r, init: r.init + "\n# edited\n" }, "amd64"),
      rootfsKey({ ...r, sshdConfig: r.sshdConfig + "LogLevel DEBUG\n" }, "amd64"),
      rootfsKey({ ...r, suite: "trixie" }, "amd64"),
      rootfsKey({ ...r, variant: "required" }, "amd64"),
      rootfsKey(r, "arm64"),
    ];
    for (const k of changed) expect(k).not.toBe(key);
    expect(new Set(changed).size).toBe(changed.length);
  });

  it("does not change with the package order, a duplicate, or the mirror (the same suite's packages)", async () => {
    const r = await base();
    const key = rootfsKey(r, "amd64");
    expect(rootfsKey({ ...r, packages: [...r.packages].reverse() }, "amd64")).toBe(key);
    expect(rootfsKey({ ...r, packages: [...r.packages, r.packages[0]!] }, "amd64")).toBe(key);
    expect(rootfsKey({ ...r, mirror: "http://ftp.de.debian.org/debian" }, "amd64")).toBe(key);
  });

  it("a foreign-arch image is a clear lab error, not a half-built image", async () => {
    const host = (await execa("dpkg", ["--print-architecture"])).stdout.trim();
    const foreign = await loadMachine(host === "arm64" ? "x86_64" : "arm64");
    const r = await ensureRootfsImage(foreign);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toBe("guest");
    expect(r.error.message).toMatch(new RegExp(`^qemu-rootfs on ${foreign.arch} needs qemu-user-static`));
  });
});

describe("the rootfs kernel fragment", () => {
  it("has the virtio disk and NIC, ext4, networking and ptys, and the machine adds its own after it", async () => {
    const cfg = parseConfig(await readFile(repoPath("kernels", "fragments", "rootfs.config"), "utf8"));
    for (const o of ["PCI", "VIRTIO_PCI", "VIRTIO_BLK", "VIRTIO_NET", "EXT4_FS", "NET", "INET", "UNIX", "UNIX98_PTYS", "EPOLL", "SIGNALFD", "TIMERFD", "EVENTFD", "FILE_LOCKING", "SYSVIPC"]) {
      expect(cfg.get(`CONFIG_${o}`), o).toBe("y");
    }
    expect(rootfsFragments(await loadMachine("x86_64"))).toEqual(["rootfs"]);
  });
});
