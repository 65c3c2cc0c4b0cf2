// `cowlab run --target NAME --install` against a machine the test boots itself: the lab's
// Debian rootfs guest under QEMU, used as a plain `ssh` target (its hostfwd port, its key,
// its host key in a known_hosts file). With install method kexec the built 6.12 kernel is
// copied over and kexec'd into, and the cases run on the new boot; with method reboot QEMU
// exits (-no-reboot), so the target never comes back, and the job says so.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { loadMachine, type MachineProfile } from "../../orchestrator/config/machines.ts";
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { buildKernel, type KernelBuild } from "../../orchestrator/build/kernel.ts";
import { ensureRootfsImage, rootfsFragments, type RootfsImage } from "../../orchestrator/guest/rootfs.ts";
import { freePort, rootfsQemuArgv } from "../../orchestrator/qemu/rootfs-argv.ts";
import { chooseAccel } from "../../orchestrator/qemu/accel.ts";
import { runGuest, type QemuRun } from "../../orchestrator/qemu/guest.ts";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

const JOB = ["--kernel", "6.12", "--arch", "x86_64", "--variant", "base", "--no-explore", "--fragment", "rootfs", "--tests", "swap"];
const cowlab = (args: string[], env: Record<string, string>) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 20 * 60_000, env });
const results = async (dir: string): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(join(dir, "results.json"), "utf8")));

let work: string;
let machine: MachineProfile;
let image: RootfsImage;
let build: KernelBuild;

interface Vm {
  port: number;
  knownHosts: string;
  console: string;
  qemu: Promise<QemuRun>;
  stop: AbortController;
}

/** Boot the rootfs guest with the built kernel and wait for its sshd. */
async function bootVm(name: string): Promise<Vm> {
  const { accel } = await chooseAccel("auto", machine);
  const port = await freePort();
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  const knownHosts = join(dir, "known_hosts");
  await writeFile(knownHosts, `[127.0.0.1]:${port} ${image.hostKeyPub}\n`);
  const stop = new AbortController();
  let up: () => void = () => undefined;
  const sshdUp = new Promise<"up">((res) => (up = () => res("up")));
  const console_ = join(dir, "console.log");
  const qemu = runGuest({ argv: rootfsQemuArgv(machine, { kernel: build.image, image: image.image, port }, accel), cwd: dir, consolePath: console_, timeoutS: 900, stop: stop.signal, onLine: (l) => l.includes("cowlab-rootfs: sshd up") && up() });
  const first = await Promise.race([sshdUp, qemu.then(() => "ended" as const)]);
  if (first !== "up") throw new Error(`the guest ended before sshd came up:\n${(await qemu).console.slice(-3000)}`);
  return { port, knownHosts, console: console_, qemu, stop };
}

async function writeTarget(dir: string, name: string, vm: Vm, install: string): Promise<void> {
  await mkdir(dir, { recursive: true });
  await writeFile(
    join(dir, `${name}.yaml`),
    `kind: ssh\narch: x86_64\naddress: 127.0.0.1\nport: ${vm.port}\nuser: root\ncredentials:\n  key_file: ${image.clientKey}\nknown_hosts: ${vm.knownHosts}\nconnect_timeout_s: 10\nsetup:\n  thp: always\n  hugepages: 16\n  zram: 256M\ninstall:\n${install}`,
  );
}

describe("cowlab run --install on an SSH target", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cowlab-it-install-"));
    machine = await loadMachine("x86_64");
    const img = await ensureRootfsImage(machine);
    if (!img.ok) throw new Error(img.error.message);
    image = img.value;
    const spec = await loadKernelSpec("6.12");
    const source = await resolveSource(spec.source);
    if (!source.ok) throw new Error(source.error.message);
    // the same kernel `cowlab run --fragment rootfs` builds for the job (one cache entry)
    const b = await buildKernel({ source: source.value, machine, fragments: [...spec.fragments, ...rootfsFragments(machine)] });
    if (!b.ok) throw new Error(`${b.error.message}\n${b.error.logTail}`);
    build = b.value;
  }, 40 * 60_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("kexec: the built kernel is copied over and booted, and the cases run on the new boot", async () => {
    const vm = await bootVm("kexec");
    try {
      const targets = join(work, "targets-kexec");
      await writeTarget(targets, "vm", vm, "  method: kexec\n  boot_timeout_s: 180\n  image_path: /tmp/vmlinuz-cowlab\n");
      const out = join(work, "out-kexec");
      const r = await cowlab(["run", "--target", "vm", "--install", ...JOB, "--out", out], { COWLAB_TARGETS_DIR: targets });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stderr).toMatch(/install +6\.12\.\d+ to root@127\.0\.0\.1:\d+:\/tmp\/vmlinuz-cowlab \(kexec\)/);
      const d = await results(out);
      const k = d.kernels[0]!;
      expect(k.status).toBe("ok");
      expect(k.boot!.runtime).toBe("ssh");
      expect(k.release).toBe(build.release);
      const swap = d.results.filter((x) => x.testcase === "swap");
      expect(swap.length).toBeGreaterThan(10);
      expect(swap.every((x) => x.status === "pass"), swap.map((x) => `${x.case}=${x.status}`).join(" ")).toBe(true);
      expect(await readFile(join(out, k.boot!.console), "utf8")).toMatch(/^# installed 6\.12\.\d+ \(kexec\) in [\d.]+ s$/m);
      // The serial console shows the second boot: kexec started the kernel again.
      const text = await readFile(vm.console, "utf8");
      expect(text.match(/Linux version 6\.12/g)?.length).toBe(2);
    } finally {
      vm.stop.abort();
      await vm.qemu;
    }
  }, 15 * 60_000);

  it("a target that never comes back after the reboot is a guest-error saying so, and nothing runs", async () => {
    const vm = await bootVm("reboot");
    try {
      const targets = join(work, "targets-reboot");
      await writeTarget(targets, "vm", vm, "  method: reboot\n  boot_timeout_s: 20\n  image_path: /tmp/vmlinuz-cowlab\n");
      const out = join(work, "out-reboot");
      const t = performance.now();
      const r = await cowlab(["run", "--target", "vm", "--install", ...JOB, "--out", out], { COWLAB_TARGETS_DIR: targets });
      expect(r.exitCode).toBe(2);
      const d = await results(out);
      const k = d.kernels[0]!;
      expect(k.status).toBe("guest-error");
      expect(k.reason).toMatch(new RegExp(`^root@127\\.0\\.0\\.1:${vm.port} did not come back within 20 s after reboot into 6\\.12\\.\\d+ \\(last: `));
      expect(k.boot!.ending).toBe("connect-failed");
      expect(d.results.every((x) => x.status === "error" && x.reason.startsWith("not run: root@127.0.0.1"))).toBe(true);
      expect((performance.now() - t) / 1000).toBeLessThan(120);
      // -no-reboot: the reboot ended QEMU, which is why it never came back
      expect((await vm.qemu).ending).toBe("exited");
    } finally {
      vm.stop.abort();
      await vm.qemu;
    }
  }, 15 * 60_000);

  it("--install is refused for a target without an install: section, before any work", async () => {
    const targets = join(work, "targets-none");
    await mkdir(targets, { recursive: true });
    await writeFile(join(targets, "plain.yaml"), `kind: ssh\narch: x86_64\naddress: 127.0.0.1\ncredentials:\n  agent: true\n`);
    const r = await cowlab(["run", "--target", "plain", "--install", ...JOB, "--out", join(work, "out-none")], { COWLAB_TARGETS_DIR: targets });
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim()).toBe(`cowlab: --install: target plain has no install: section (${join(targets, "plain.yaml")}), so the lab may not put a kernel on it`);
  });
});
