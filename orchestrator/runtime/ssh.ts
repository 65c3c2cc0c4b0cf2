// The `ssh` runtime: a machine given by address, port, user, key and known_hosts entry
// (guests/targets/NAME.yaml). The kernel under test is whatever the target runs (its uname -r
// is recorded); the reproducers go over SFTP into a private temporary folder and are gone
// afterwards; reports come from the kernel log since the start (dmesg).
import { join } from "node:path";
import { writeFile, chmod } from "node:fs/promises";
import { expandHome, resolveCredentials, type SshTarget } from "../config/targets.ts";
import type { CapabilityRule } from "../config/testcases.ts";
import { connectSsh, type SshEndpoint, type SshSession } from "../ssh/session.ts";
import { connectRetrying } from "../ssh/retry.ts";
import { runOverSsh } from "./ssh-run.ts";
import { installKernel } from "./install.ts";
import type { GuestSetup } from "../guest/initramfs.ts";
import type { GuestRun, GuestRuntime, GuestWork, RuntimeJob } from "./types.ts";

/** Bound on one guest's whole runner: every testcase's own bound and the explorer's budget, plus set-up. */
export const runnerBound = (work: GuestWork): number => work.testcases.reduce((s, t) => s + t.timeout_s, 0) + (work.explore?.budgetS ?? 0) + 60;

export const targetSetup = (t: Pick<SshTarget, "setup">, restore: boolean): GuestSetup => ({ thp: t.setup.thp, hugepages: t.setup.hugepages, zram: t.setup.zram, restore });

/**
 * Connect again after a drop (to read the kernel log, tell a reboot, clean up): a link that
 * blinked may not answer at once, so the attempt is made 3 times, 2 s apart, before the run's
 * folder is given up as unreachable.
 */
export async function connectOnce(ep: SshEndpoint): Promise<SshSession | undefined> {
  const s = await connectRetrying(ep, { tries: 3, pauseMs: 2_000 });
  return s.ok ? s.value : undefined;
}

export interface SshRuntimeOptions {
  /** put the job's built kernel on the target and boot it before its first guest (--install) */
  install?: boolean;
  env?: NodeJS.ProcessEnv;
}

export function sshRuntime(target: SshTarget, rules: readonly CapabilityRule[], opts: SshRuntimeOptions = {}): GuestRuntime {
  const env = opts.env ?? process.env;
  const setup = targetSetup(target, true);
  return {
    kind: "ssh",
    target: target.name,
    fragments: [],
    // Without --install the machine runs its own kernel: the reproducers need only UAPI headers.
    needsKernel: !!opts.install,
    setup,
    async run(job: RuntimeJob, work: GuestWork, dir: string): Promise<GuestRun> {
      const log = join(dir, "ssh.log");
      const ep0 = { host: target.address, port: target.port, user: target.user, knownHosts: expandHome(target.known_hosts, env), connectTimeoutS: target.connect_timeout_s };
      const cmdline = `ssh -p ${target.port} ${target.user}@${target.address} sh run-testcases.sh`;
      const rerun = join(dir, "rerun.sh");
      await writeFile(rerun, `#!/bin/sh\n# Reruns guest ${work.n} of ${job.jobId} on target ${target.name} (${target.file}).\ncd "$(dirname "$0")" && exec node ${JSON.stringify(join(process.cwd(), "bin", "cowlab.js"))} run --target ${target.name} --tests ${work.testcases.map((t) => t.id).join(",")} --out rerun\n`);
      await chmod(rerun, 0o755);
      const facts = { runtime: "ssh" as const, target: target.name, accel: "none" as const, log, cmdline, rerun };
      const creds = resolveCredentials(target, env);
      if (!creds.ok) {
        await writeFile(log, `${creds.error}\n`);
        return { record: { events: [], tail: [creds.error], ending: "connect-failed", exitCode: undefined, failure: creds.error }, facts: { ...facts, bootSeconds: undefined, seconds: 0, exitCode: undefined } };
      }
      const ep: SshEndpoint = { ...ep0, ...creds.value };
      const t0 = performance.now();
      await writeFile(log, ""); // a fresh transcript (the session appends to it)
      // --install: once per job, before its first guest; a kernel that does not come back ends the job here.
      if (opts.install && work.n === 1 && job.build) {
        const installed = await installKernel(target, ep, job.build, job.progress);
        await writeFile(log, installed.ok ? `# installed ${installed.release} (${target.install?.method}) in ${installed.seconds} s\n` : `# install failed: ${installed.failure}\n`);
        if (!installed.ok) return { record: { events: [], tail: [installed.failure], ending: "connect-failed", exitCode: undefined, failure: installed.failure }, facts: { ...facts, bootSeconds: undefined, seconds: (performance.now() - t0) / 1000, exitCode: undefined } };
      }
      job.progress("connect", `${target.user}@${target.address}:${target.port}`);
      const s = await connectSsh(ep);
      if (!s.ok) {
        await writeFile(log, `${s.error.message}\n`);
        return { record: { events: [], tail: [s.error.message], ending: "connect-failed", exitCode: undefined, failure: s.error.message }, facts: { ...facts, bootSeconds: undefined, seconds: (performance.now() - t0) / 1000, exitCode: undefined } };
      }
      const r = await runOverSsh(s.value, work, dir, { tmp: target.tmp, setup, log, timeoutS: runnerBound(work), progress: job.progress, kernelLog: "dmesg", reconnect: () => connectOnce(ep), rules });
      await s.value.close();
      return { record: r.record, facts: { ...facts, bootSeconds: r.bootSeconds, seconds: r.seconds, exitCode: r.record.exitCode }, ran: r.ran, unserved: r.unserved };
    },
  };
}
