// The qemu-rootfs guest for real: the Debian bookworm image built by mmdebstrap (or reused
// from the shared cache), the 6.12 x86_64 kernel built with its spec's fragments plus the
// rootfs ones (the project's own source and build functions), booted under QEMU (TCG here)
// from the image; the host's own ssh client logs in through the hostfwd port against the
// image's host key only, checks the kernel, and `reboot -f` ends QEMU. The figures (image
// build, kernel build, boot to sshd) are printed.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { loadMachine, type MachineProfile } from "../../orchestrator/config/machines.ts";
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { buildKernel, type KernelBuild } from "../../orchestrator/build/kernel.ts";
import { ensureRootfsImage, rootfsFragments, type RootfsImage } from "../../orchestrator/guest/rootfs.ts";
import { freePort, rootfsQemuArgv } from "../../orchestrator/qemu/rootfs-argv.ts";
import { shellQuote } from "../../orchestrator/qemu/command.ts";
import { chooseAccel } from "../../orchestrator/qemu/accel.ts";
import { runGuest, type QemuRun } from "../../orchestrator/qemu/guest.ts";

const SSHD_UP = "cowlab-rootfs: sshd up";
const isRoot = process.getuid?.() === 0;
if (!isRoot) console.warn("test/integration/rootfs.test.ts: SKIPPED: mmdebstrap --mode=root needs root (run the integration tests as root)");

const secs = (t: number): number => Math.round((performance.now() - t) / 100) / 10;
const figures: Record<string, string> = {};

let work: string;
let machine: MachineProfile;
let image: RootfsImage;
let imageWall: number;
let build: KernelBuild;
let fills: string[];

describe.skipIf(!isRoot)("qemu-rootfs: the Debian image and a 6.12 x86_64 kernel, reached over SSH", () => {
  beforeAll(async () => {
    work = await mkdtemp(join(tmpdir(), "cowlab-it-rootfs-"));
    machine = await loadMachine("x86_64");
    // Two callers at once: one build (or none, from the cache), one answer.
    const trace = join(work, "fills.txt");
    process.env.COWLAB_TRACE_FILLS = trace;
    const t = performance.now();
    const [a, b] = await Promise.all([ensureRootfsImage(machine), ensureRootfsImage(machine)]);
    imageWall = secs(t);
    delete process.env.COWLAB_TRACE_FILLS;
    fills = (await readFile(trace, "utf8").catch(() => "")).split("\n").filter((l) => l.includes("/rootfs/"));
    if (!a.ok) throw new Error(`${a.error.message}\n${a.error.detail ?? ""}`);
    if (!b.ok) throw new Error(b.error.message);
    expect(b.value.key).toBe(a.value.key);
    image = a.value;
    figures["image build"] = image.cached ? `cached (built in ${image.seconds} s when it was made; this call ${imageWall} s)` : `${imageWall} s wall (mmdebstrap + keys + mkfs: ${image.seconds} s)`;
  }, 20 * 60_000);

  afterAll(async () => {
    console.log(`qemu-rootfs figures: ${Object.entries(figures).map(([k, v]) => `${k}: ${v}`).join("; ")}`);
    if (work) await rm(work, { recursive: true, force: true });
  });

  it("builds the image once for two concurrent callers, with sshd and a host key the lab knows", () => {
    expect(fills.length).toBeLessThanOrEqual(1);
    expect(image.image).toMatch(/\/rootfs\/amd64-[0-9a-f]{16}\/rootfs\.img$/);
    expect(image.hostKeyPub).toMatch(/^ssh-ed25519 AAAA\S+/);
    expect(image.packages["openssh-server"]).toMatch(/^1:9\./);
    for (const p of ["iproute2", "procps", "busybox", "libc6"]) expect(image.packages[p], p).toBeTruthy();
    expect(image.packages["systemd"]).toBeUndefined();
  });

  it("the second call is a cache hit: same key, no rebuild, fast", async () => {
    const t = performance.now();
    const again = await ensureRootfsImage(machine);
    const s = secs(t);
    expect(again.ok).toBe(true);
    if (!again.ok) return;
    expect(again.value.key).toBe(image.key);
    expect(again.value.image).toBe(image.image);
    expect(again.value.cached).toBe(true);
    expect(s).toBeLessThan(5);
    figures["cache hit"] = `${s} s`;
  });

  it("builds 6.12 x86_64 with the spec's fragments plus rootfs, nothing dropped", async () => {
    const spec = await loadKernelSpec("6.12");
    const source = await resolveSource(spec.source);
    if (!source.ok) throw new Error(source.error.message);
    const t = performance.now();
    const b = await buildKernel({ source: source.value, machine, fragments: [...spec.fragments, ...rootfsFragments(machine)] });
    if (!b.ok) throw new Error(`${b.error.message}\n${b.error.logTail}`);
    build = b.value;
    expect(build.release).toMatch(/^6\.12\.\d+/);
    figures["kernel build"] = build.cached ? `cached (built in ${build.seconds} s when it was made; this call ${secs(t)} s)` : `${build.seconds} s`;
  }, 40 * 60_000);

  it("boots it from the image under QEMU, sshd answers on the forwarded port with the image's key, and reboot -f ends QEMU", async () => {
    expect(build, "the kernel build above failed").toBeDefined();
    const { accel } = await chooseAccel("auto", machine);
    const port = await freePort();
    const argv = rootfsQemuArgv(machine, { kernel: build.image, image: image.image, port }, accel);
    await writeFile(join(work, "qemu.cmdline"), shellQuote(argv) + "\n");
    const knownHosts = join(work, "known_hosts");
    await writeFile(knownHosts, `[127.0.0.1]:${port} ${image.hostKeyPub}\n`);

    const t = performance.now();
    let up: () => void = () => undefined;
    const sshdUp = new Promise<"up">((res) => (up = () => res("up")));
    const stop = new AbortController();
    const qemu: Promise<QemuRun> = runGuest({ argv, cwd: work, consolePath: join(work, "console.log"), timeoutS: machine.qemu.timeout_s * (accel === "kvm" ? 0.1 : 1) + 60, stop: stop.signal, onLine: (l) => l.includes(SSHD_UP) && up() });
    try {
      const first = await Promise.race([sshdUp, qemu.then(() => "ended" as const)]);
      const bootS = secs(t);
      if (first !== "up") {
        const q = await qemu;
        throw new Error(`QEMU ended (${q.ending}, exit ${q.exitCode}) before "${SSHD_UP}"; console tail:\n${q.console.split("\n").slice(-40).join("\n")}\n${q.stderr}`);
      }
      figures[`boot to sshd (${accel})`] = `${bootS} s`;

      const ssh = (command: string, timeoutS = 30) =>
        execa("ssh", ["-i", image.clientKey, "-o", `UserKnownHostsFile=${knownHosts}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-o", "ConnectTimeout=10", "-p", String(port), "root@127.0.0.1", command], { reject: false, timeout: timeoutS * 1000, stdin: "ignore" });
      // The init prints its line just before exec'ing sshd: give sshd a moment to listen.
      let r = await ssh("uname -r; cat /proc/meminfo | head -3; ls /sys/kernel/debug/gup_test");
      for (let i = 0; i < 10 && r.exitCode === 255 && /Connection (refused|reset|closed)|kex_exchange/.test(r.stderr); i++) {
        await new Promise((res) => setTimeout(res, 1000));
        r = await ssh("uname -r; cat /proc/meminfo | head -3; ls /sys/kernel/debug/gup_test");
      }
      figures["first ssh command answered after"] = `${secs(t)} s`;
      expect(r.exitCode, r.stderr).toBe(0);
      const lines = r.stdout.split("\n");
      expect(lines[0]).toBe(build.release);
      expect(lines[1]).toMatch(/^MemTotal:\s+\d+ kB$/);
      expect(lines[2]).toMatch(/^MemFree:/);
      expect(lines[4]).toBe("/sys/kernel/debug/gup_test");

      // A host key other than the image's is refused: the known_hosts line is what is checked.
      const wrong = join(work, "known_hosts.wrong");
      await execa("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-f", join(work, "other")]);
      await writeFile(wrong, `[127.0.0.1]:${port} ${(await readFile(join(work, "other.pub"), "utf8")).trim()}\n`);
      const refused = await execa("ssh", ["-i", image.clientKey, "-o", `UserKnownHostsFile=${wrong}`, "-o", "StrictHostKeyChecking=yes", "-o", "BatchMode=yes", "-p", String(port), "root@127.0.0.1", "true"], { reject: false, timeout: 30_000, stdin: "ignore" });
      expect(refused.exitCode).toBe(255);
      expect(refused.stderr).toMatch(/HOST IDENTIFICATION HAS CHANGED|Host key verification failed/);

      const tReboot = performance.now();
      await ssh("reboot -f", 20); // the connection drops as the guest goes: its exit status is 255
      const ended = await Promise.race([qemu, new Promise<undefined>((res) => setTimeout(() => res(undefined), 30_000))]);
      expect(ended, "QEMU still running 30 s after reboot -f").toBeDefined();
      expect(ended!.ending).toBe("exited");
      expect(ended!.exitCode).toBe(0);
      expect(ended!.console).toMatch(/reboot: Restarting system/);
      figures["reboot -f to QEMU exit"] = `${secs(tReboot)} s`;
    } finally {
      stop.abort();
      await qemu;
    }
  }, 10 * 60_000);
});
