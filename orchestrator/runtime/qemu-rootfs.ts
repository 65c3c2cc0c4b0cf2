// The `qemu-rootfs` runtime: QEMU boots the built kernel with the lab's Debian bookworm image
// (guest/rootfs.ts) and the guest is reached by SSH on 127.0.0.1 through a hostfwd port, with
// the key pair and host key the lab made with the image (so the host key is checked, never
// taken on trust). The programs run over SSH as on a real machine; kernel reports are read
// from the serial console (a panicked kernel answers no SSH), placed among the events by time.
import { writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
import { ensureRootfsImage, rootfsFragments } from "../guest/rootfs.ts";
import { consoleStream, mergeByTime, type ReportEvent } from "../guest/protocol.ts";
import { chooseAccel } from "../qemu/accel.ts";
import { freePort, rootfsQemuArgv } from "../qemu/rootfs-argv.ts";
import { runGuest } from "../qemu/guest.ts";
import type { SshEndpoint } from "../ssh/session.ts";
import { connectRetrying } from "../ssh/retry.ts";
import type { MachineProfile } from "../config/machines.ts";
import type { RootfsTarget } from "../config/targets.ts";
import type { CapabilityRule } from "../config/testcases.ts";
import { runOverSsh } from "./ssh-run.ts";
import { connectOnce, runnerBound, targetSetup } from "./ssh.ts";
import { guestTimeout, jobKernel, writeRerun } from "./qemu-initramfs.ts";
import type { GuestRecord } from "../results/classify.ts";
import type { GuestRun, GuestRuntime, GuestWork, RuntimeJob } from "./types.ts";

/** The image's init prints this just before it becomes sshd (guests/rootfs/init.sh). */
const SSHD_UP = "cowlab-rootfs: sshd up";
/** TCG: kernel, init and sshd come up in well under this */
const BOOT_BOUND_S = 180;

/** A wait that does not keep the process alive: the bounds below lose their races almost always. */
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms).unref());

export function rootfsRuntime(target: RootfsTarget, machine: MachineProfile, rules: readonly CapabilityRule[]): GuestRuntime {
  const setup = { ...targetSetup(target, false), quietConsole: true };
  return {
    kind: "qemu-rootfs",
    target: target.name,
    fragments: rootfsFragments(machine),
    needsKernel: true,
    setup,
    async run(job: RuntimeJob, work: GuestWork, dir: string): Promise<GuestRun> {
      const started = performance.now();
      const seconds = (): number => (performance.now() - started) / 1000;
      const { accel, why } = await chooseAccel(job.accel, job.machine);
      const consoleLog = join(dir, "console.log");
      const base = { runtime: "qemu-rootfs" as const, target: target.name, accel, log: consoleLog };
      const failed = (failure: string, ending: GuestRecord["ending"], tail: string[] = []): GuestRun => ({
        record: { events: [], tail: [...tail, failure].slice(-30), ending, exitCode: undefined, failure },
        facts: { ...base, bootSeconds: undefined, seconds: seconds(), exitCode: undefined, cmdline: "", rerun: "" },
      });
      job.progress("rootfs", "Debian bookworm image");
      const image = await ensureRootfsImage(job.machine);
      if (!image.ok) return failed(`the rootfs image could not be made: ${image.error.message}`, "spawn-failed");

      const kernel = await jobKernel(job, work.n);
      const port = await freePort();
      const argv = rootfsQemuArgv(job.machine, { kernel: relative(dir, kernel), image: image.value.image, port }, accel, job.kernelArgs);
      const timeout = guestTimeout(job, accel, work) + BOOT_BOUND_S;
      const { cmdline, rerun } = await writeRerun(dir, `guest ${work.n} of ${job.jobId} booted with the Debian rootfs (accel ${accel}: ${why}); ssh -p ${port} -i ${image.value.clientKey} root@127.0.0.1 reaches it`, timeout, argv);
      const knownHosts = join(dir, "known_hosts");
      await writeFile(knownHosts, `[127.0.0.1]:${port} ${image.value.hostKeyPub}\n`);

      job.progress("boot", `${accel} ${job.machine.qemu.binary} rootfs (ssh 127.0.0.1:${port})${work.purpose ? ` (${work.purpose}, guest ${work.n})` : ""}`);
      const stop = new AbortController();
      let sshdUp: () => void = () => undefined;
      const up = new Promise<"up">((res) => (sshdUp = () => res("up")));
      const qemu = runGuest({ argv, cwd: dir, consolePath: consoleLog, timeoutS: timeout, stop: stop.signal, onLine: (l) => l.includes(SSHD_UP) && sshdUp() });
      const booted = await Promise.race([up, qemu.then(() => "ended" as const), sleep(BOOT_BOUND_S * 1000).then(() => "slow" as const)]);
      const facts = { ...base, cmdline, rerun };
      const withConsole = async (record: GuestRecord, bootSeconds: number | undefined, extra: Partial<GuestRun> = {}): Promise<GuestRun> => {
        const q = await qemu;
        const c = consoleStream(q.console);
        const reports = c.events.filter((e): e is ReportEvent => e.kind === "report");
        // Reports come from the console: merge them by printk time among the SSH events.
        const merged = { ...record, events: mergeByTime(record.events, reports), tail: record.tail.length ? record.tail : c.tail };
        return { record: merged, facts: { ...facts, bootSeconds, seconds: seconds(), exitCode: record.exitCode }, ...extra };
      };
      if (booted !== "up") {
        stop.abort();
        const q = await qemu;
        const why = booted === "slow" ? `sshd did not come up within ${BOOT_BOUND_S} s` : `QEMU ended (exit ${q.exitCode ?? "?"}) before sshd came up`;
        return withConsole({ events: [], tail: consoleStream(q.console).tail, ending: booted === "slow" ? "timeout" : q.ending === "spawn-failed" ? "spawn-failed" : "exited", exitCode: q.exitCode, failure: why }, undefined);
      }
      const ep: SshEndpoint = { host: "127.0.0.1", port, user: "root", keyFile: image.value.clientKey, knownHosts, connectTimeoutS: 30 };
      // sshd may need a moment after the init said it starts it
      const connected = await connectRetrying(ep, { boundS: 30, pauseMs: 500 });
      if (!connected.ok) {
        stop.abort();
        return withConsole({ events: [], tail: [], ending: "connect-failed", exitCode: undefined, failure: connected.error.message }, undefined);
      }
      const session = connected.value;
      const connectedAt = seconds();
      await writeFile(join(dir, "ssh.log"), ""); // a fresh transcript (the session appends to it)
      const r = await runOverSsh(session, work, dir, { tmp: "/tmp", setup, log: join(dir, "ssh.log"), timeoutS: runnerBound(work), progress: job.progress, kernelLog: "caller", reconnect: () => connectOnce(ep), rules });
      // Done with the guest: reboot -f ends QEMU (-no-reboot); if it does not, stop it.
      if (session.alive) void session.exec("sync; reboot -f", { timeoutS: 5 });
      const ended = await Promise.race([qemu.then(() => true), sleep(15_000).then(() => false)]);
      if (!ended) stop.abort();
      await session.close();
      const bootSeconds = r.bootSeconds === undefined ? undefined : connectedAt + r.bootSeconds;
      return withConsole(r.record, bootSeconds, { ran: r.ran, unserved: r.unserved });
    },
  };
}
