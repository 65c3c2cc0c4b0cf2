// The lab's own guest: QEMU boots the built kernel with an initramfs of busybox, the runner
// and the reproducers, and the serial console carries everything (programs' KTAP and kernel
// messages in the order they happened).
import { copyFile, writeFile, chmod } from "node:fs/promises";
import { join, relative } from "node:path";
import { buildInitramfs, DEFAULT_SETUP } from "../guest/initramfs.ts";
import { consoleStream, protocolReader } from "../guest/protocol.ts";
import { chooseAccel } from "../qemu/accel.ts";
import { qemuArgv, shellQuote } from "../qemu/command.ts";
import { runGuest } from "../qemu/guest.ts";
import type { Testcase } from "../config/testcases.ts";
import type { GuestRun, GuestRuntime, GuestWork, RuntimeJob } from "./types.ts";

/**
 * The silence watchdog's bound: the runner prints at least a marker per testcase, and kills a
 * testcase at its own bound, so a guest quiet for longer than the longest bound plus a margin
 * has hung (the kernel, or a program that starved the init) and is stopped early.
 */
export const silenceBound = (testcases: Pick<Testcase, "timeout_s">[], explore: boolean): number =>
  // an explorer line prints its block when it ends: set-up and a few 5 s step bounds
  Math.max(5, explore ? 60 : 0, ...testcases.map((t) => t.timeout_s)) + 30;

/** The guest's whole-run bound: the machine's, a tenth of it under KVM, plus the explorer's budget. */
export const guestTimeout = (job: RuntimeJob, accel: "kvm" | "tcg", work: GuestWork): number =>
  (accel === "kvm" ? Math.ceil(job.machine.qemu.timeout_s / 10) : job.machine.qemu.timeout_s) + (work.explore?.budgetS ?? 0);

/** Write rerun.sh and qemu.cmdline beside the console: any guest can be replayed by hand from the run folder. */
export async function writeRerun(dir: string, what: string, timeout: number, argv: string[]): Promise<{ cmdline: string; rerun: string }> {
  const cmdline = shellQuote(argv);
  await writeFile(join(dir, "qemu.cmdline"), `${cmdline}\n`);
  const rerun = join(dir, "rerun.sh");
  await writeFile(rerun, `#!/bin/sh\n# Replays ${what}.\ncd "$(dirname "$0")" && exec timeout ${timeout} ${cmdline}\n`);
  await chmod(rerun, 0o755);
  return { cmdline, rerun };
}

/** The run folder keeps its own copy of the kernel (once per job), so a result replays after the cache was pruned. */
export async function jobKernel(job: RuntimeJob, n: number): Promise<string> {
  if (!job.build) throw new Error(`${job.jobId}: a QEMU runtime boots the built kernel, and none was built`);
  const kernel = join(job.dir, job.machine.image.split("/").pop()!);
  if (n === 1) await copyFile(job.build.image, kernel);
  return kernel;
}

export const qemuInitramfs: GuestRuntime = {
  kind: "qemu-initramfs",
  fragments: [],
  needsKernel: true,
  setup: DEFAULT_SETUP,
  async run(job: RuntimeJob, work: GuestWork, dir: string): Promise<GuestRun> {
    const { accel, why } = await chooseAccel(job.accel, job.machine);
    // The initramfs stage is the packing and the copy into the run folder, not the accelerator probe.
    const packing = performance.now();
    const initramfs = await buildInitramfs(work.busybox, work.reproducers, work.testcases, { ...(work.cases ? { cases: work.cases } : {}), ...(work.explore ? { explore: work.explore } : {}) });
    if (!initramfs.ok) {
      const failure = initramfs.error.message;
      return { record: { events: [], tail: [failure], ending: "spawn-failed", exitCode: undefined, failure }, facts: { runtime: "qemu-initramfs", accel, bootSeconds: undefined, seconds: 0, exitCode: undefined, log: "", cmdline: "", rerun: "" } };
    }
    const kernel = await jobKernel(job, work.n);
    // Guests that boot the job's own initramfs share the job folder's copy.
    const shared = join(job.dir, "initramfs.cpio");
    const initrd = work.n === 1 ? shared : join(dir, "initramfs.cpio");
    await copyFile(initramfs.value, initrd);
    const initramfsSeconds = (performance.now() - packing) / 1000;
    const argv = qemuArgv(job.machine, { kernel: relative(dir, kernel), initrd: relative(dir, initrd) }, accel, job.kernelArgs);
    const timeout = guestTimeout(job, accel, work);
    const { cmdline, rerun } = await writeRerun(dir, `guest ${work.n} of ${job.jobId} (accel ${accel}: ${why})`, timeout, argv);
    job.progress("boot", `${accel} ${job.machine.qemu.binary}${work.purpose ? ` (${work.purpose}, guest ${work.n})` : ""}`);
    const console_ = join(dir, "console.log");
    const progressRead = protocolReader();
    const guest = await runGuest({
      argv,
      cwd: dir,
      consolePath: console_,
      timeoutS: timeout,
      silenceS: silenceBound(work.testcases, !!work.explore),
      onLine: (line) => {
        const e = progressRead(line);
        if (e?.kind === "begin") job.progress("test", e.testcase);
      },
    });
    return {
      record: { ...consoleStream(guest.console), ending: guest.ending, exitCode: guest.exitCode },
      facts: { runtime: "qemu-initramfs", accel, bootSeconds: guest.bootSeconds, initramfsSeconds, seconds: guest.seconds, exitCode: guest.exitCode, log: console_, cmdline, rerun },
    };
  },
};
