// The seam between "what one guest runs" and "how it runs": a GuestRuntime takes a job's
// built kernel and the work for one guest, runs it its own way (a QEMU serial console, an
// SSH session to a machine, QEMU with a Debian rootfs reached over SSH), and hands back the
// guest protocol's events (orchestrator/guest/protocol.ts) plus the facts of the run.
// Classification and policy never know which runtime ran a guest.
import type { MachineProfile } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";
import type { KernelBuild } from "../build/kernel.ts";
import type { CaseTable } from "../guest/caselist.ts";
import type { GuestExplore, GuestSetup } from "../guest/initramfs.ts";
import type { GuestRecord } from "../results/classify.ts";
import type { AccelChoice } from "../qemu/accel.ts";

export const RUNTIMES = ["qemu-initramfs", "qemu-rootfs", "ssh"] as const;
export type RuntimeKind = (typeof RUNTIMES)[number];

/**
 * How a guest ended. QEMU: exited, timeout, no-output (silence watchdog), spawn-failed,
 * stopped-after-oops. SSH: exited (the runner ended), timeout, connect-failed (never reached
 * the target, or it never came back after --install), lost (the connection dropped mid-run).
 */
export const ENDINGS = ["exited", "timeout", "no-output", "spawn-failed", "stopped-after-oops", "connect-failed", "lost"] as const;
export type GuestEnding = (typeof ENDINGS)[number];

/** The programs one guest runs, and where their binaries are: the same for every runtime. */
export interface GuestWork {
  /** 1 = the job's first guest; more for --repeat and --retry-failed */
  n: number;
  purpose?: "repeat" | "retry";
  testcases: Testcase[];
  cases?: CaseTable;
  explore?: GuestExplore;
  /** the folder of the static reproducer binaries, one per testcase id */
  reproducers: string;
  busybox: string;
}

/** The job side a runtime needs: the machine profile and the kernel the lab built (if any). */
export interface RuntimeJob {
  machine: MachineProfile;
  /** the built kernel; absent when the runtime runs the target's own kernel (needsKernel false) */
  build: KernelBuild | undefined;
  jobId: string;
  /** the job's folder in the run folder; guest n > 1 runs in guest-n below it */
  dir: string;
  runDir: string;
  accel: AccelChoice;
  kernelArgs: string[];
  progress: (stage: string, detail?: string) => void;
}

/** What a runtime reports about one guest besides its events (kernels[].boot in results.json). */
export interface GuestFacts {
  runtime: RuntimeKind;
  /** guests/targets/NAME.yaml the guest ran on */
  target?: string;
  accel: "kvm" | "tcg" | "none";
  /** start to the first testcase marker */
  bootSeconds: number | undefined;
  /** packing the guest's initramfs, before the start (runtimes that pack one) */
  initramfsSeconds?: number;
  seconds: number;
  exitCode: number | undefined;
  /** the guest's log: the serial console, or the SSH session's transcript */
  log: string;
  /** the command that ran the guest, shell-quoted */
  cmdline: string;
  /** a script that reruns this guest by hand */
  rerun: string;
}

/** A case the guest could not serve (a capability it lacks), not run: SKIP with the reason. */
export interface Unserved {
  testcase: string;
  case: string;
  reason: string;
}

export interface GuestRun {
  record: GuestRecord;
  facts: GuestFacts;
  /** the work as it ran, when the runtime left cases out (what classification expects) */
  ran?: GuestWork;
  unserved?: Unserved[];
}

export interface GuestRuntime {
  readonly kind: RuntimeKind;
  /** the target's name, for runtimes that run on one */
  readonly target?: string;
  /** kernel config fragments this runtime needs on top of the job's (qemu-rootfs: virtio, ext4, networking) */
  readonly fragments: string[];
  /** whether the job's kernel must be built: false for a machine running its own kernel (its reproducers need only UAPI headers) */
  readonly needsKernel: boolean;
  /** what the runner may change on the guest (THP, hugetlb pages, zram swap) and whether it puts it back */
  readonly setup: GuestSetup;
  run(job: RuntimeJob, work: GuestWork, dir: string): Promise<GuestRun>;
}
