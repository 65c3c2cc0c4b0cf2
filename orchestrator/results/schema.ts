// results.json: the one format every command writes and reads (run, merge, report, bisect).
// orchestrator/results/results.schema.json is generated from these definitions (npm run schema) and a
// test keeps the two equal.
import { z } from "zod";

export const STATUSES = ["pass", "fail", "skip", "error", "timeout", "crash"] as const;
export const Status = z.enum(STATUSES);
export type Status = z.infer<typeof Status>;

/** A case's verdict over its attempts: an attempt's status, or `flaky` when some attempts passed and others did not. */
export const VERDICTS = [...STATUSES, "flaky"] as const;
export const Verdict = z.enum(VERDICTS);
export type Verdict = z.infer<typeof Verdict>;

/** One run of one case in one guest: facts only (no known-issue policy). */
export const Attempt = z.strictObject({
  status: Status,
  duration_ms: z.number().nullable(),
  reason: z.string(),
  guest: z.number().int().min(1).describe("the job's guest that ran it: 1 = kernels[].boot, n > 1 = kernels[].reruns[n-2]"),
  report: z.string().optional().describe("title of the kernel report printed while the case ran, which made the attempt a crash"),
  own: Status.optional().describe("with report: what the program itself reported (a known-harmless report gives this status back at read time)"),
});
export type Attempt = z.infer<typeof Attempt>;

export const CaseResult = z.strictObject({
  job: z.string().describe("kernel spec / variant / arch of the guest that ran the case"),
  kernel: z.string().describe("release from the guest's uname -r (the build's release if the guest never answered)"),
  arch: z.string(),
  variant: z.string(),
  testcase: z.string(),
  case: z.string(),
  family: z.string(),
  status: Verdict.describe("the attempts' common status; flaky when some passed and some did not; else the worst"),
  duration_ms: z.number().nullable().describe("median over the attempts that have one"),
  reason: z.string().describe("the first attempt's reason that has the verdict's status (flaky: the first failing attempt's)"),
  attempts: z.array(Attempt).min(1).describe("every attempt in the order they ran (--repeat, --retry-failed)"),
  observations: z
    .array(z.string())
    .optional()
    .describe("family explore: what the guest interpreter printed for the scenario (STEP TOKEN OUTCOME, skip, kernel lines), first attempt"),
});
export type CaseResult = z.infer<typeof CaseResult>;

export const Boot = z.strictObject({
  runtime: z.enum(["qemu-initramfs", "qemu-rootfs", "ssh"]).default("qemu-initramfs").describe("how the guest ran (orchestrator/runtime/)"),
  target: z.string().optional().describe("guests/targets/NAME.yaml the guest ran on"),
  accel: z.enum(["kvm", "tcg", "none"]).describe("none: not a QEMU guest (an SSH target)"),
  seconds: z.number().nullable().describe("guest start (QEMU start, SSH connect) to the first testcase marker"),
  guest_seconds: z.number().describe("guest start to its end"),
  ending: z
    .enum(["exited", "timeout", "no-output", "spawn-failed", "stopped-after-oops", "connect-failed", "lost"])
    .describe("no-output: the silence watchdog stopped a guest that printed nothing for too long; connect-failed: the SSH target was never reached (or never came back); lost: the connection dropped mid-run"),
  exit_code: z.number().nullable(),
  console: z.string().describe("the guest's log (serial console, or the SSH session's transcript), relative to the run folder"),
  qemu_cmdline: z.string().describe("the command that ran the guest (QEMU's, or the SSH runner's)"),
  rerun: z.string().describe("one line that reruns this guest by hand from the run folder"),
  setup: z.record(z.string(), z.string()).describe("what the guest runner reported it set up and found (thp, swap, hugepages, NUMA nodes, gup_test, uname)"),
  testcases: z
    .array(z.strictObject({ id: z.string(), ms: z.number().nullable(), rc: z.number().nullable() }))
    .describe("wall time (guest clock) and exit code of each testcase program"),
  reports: z
    .array(
      z.strictObject({
        title: z.string(),
        at: z.number().optional().describe("printk time (s) of the report's first line"),
        line: z.number().optional().describe("results written before the guest protocol: the report's console line"),
      }),
    )
    .describe("kernel reports (oops headers) the guest's kernel log showed, titles normalized; manifest known_reports are applied when results are read"),
});
export type Boot = z.infer<typeof Boot>;

export const JOB_STATUSES = ["ok", "source-error", "patch-error", "build-error", "guest-error", "qemu-error", "crash", "timeout", "skipped"] as const;

/** Job statuses that are the lab's failures (the job's cases never ran, or not all): not a verdict on the kernel, as crash and timeout are. */
export const isLabJobStatus = (s: (typeof JOB_STATUSES)[number]): boolean => s !== "ok" && s !== "crash" && s !== "timeout";

/** Where a job's time went, in seconds; null: the stage did not run in this job (a cached build, no guest). */
export const JobStages = z
  .strictObject({
    source: z.number().nullable().describe("fetching and unpacking the kernel source (the arches of a kernel share one tree: the first job waits for it)"),
    patch: z.number().nullable().describe("applying the series, and moving the build workspace to the job's sources (build/workspace.ts)"),
    config: z.number().nullable().describe("tinyconfig, the fragments, olddefconfig"),
    compile: z.number().nullable().describe("make up to the first link step"),
    link: z.number().nullable().describe("the link steps, the boot image and the UAPI headers"),
    reproducers: z.number().describe("busybox and the testcase programs (cached: the look-up)"),
    initramfs: z.number().nullable().describe("packing each guest's initramfs (qemu-initramfs), summed over the job's guests"),
    boot: z.number().nullable().describe("guest start to the first testcase, summed over the job's guests"),
    suite: z.number().nullable().describe("the first testcase to the guest's end, summed over the job's guests"),
  })
  .describe("per-stage timing of the job");
export type JobStages = z.infer<typeof JobStages>;

export const KernelEntry = z.strictObject({
  job: z.string(),
  kernel_spec: z.string(),
  variant: z.string(),
  arch: z.string(),
  source: z.string().describe("where the source came from"),
  version: z.string().describe("make kernelversion of the source"),
  release: z.string().nullable().describe("uname -r in the guest"),
  status: z.enum(JOB_STATUSES),
  reason: z.string(),
  build: z
    .strictObject({
      seconds: z.number(),
      cached: z.boolean(),
      toolchain: z.string(),
      config_sha256: z.string(),
      key: z.string(),
      log: z.string(),
      image: z.string(),
      incremental: z
        .strictObject({
          fresh: z.boolean().describe("the workspace was new: a full build"),
          rewritten: z.number().describe("source files the workspace's move rewrote"),
          compiled: z.number().describe("C files make compiled"),
        })
        .optional()
        .describe("a build in its base's workspace (build/workspace.ts): how much of the tree it rebuilt"),
    })
    .nullable(),
  stages: JobStages.optional(),
  boot: Boot.nullable().describe("the job's first guest"),
  reruns: z
    .array(Boot.extend({ purpose: z.enum(["repeat", "retry"]) }))
    .describe("further guests of the same kernel and initramfs (--repeat), or of only the failed cases (--retry-failed)"),
  seconds: z.number().describe("wall time of the whole job"),
});
export type KernelEntry = z.infer<typeof KernelEntry>;

export const RunInfo = z.strictObject({
  id: z.string(),
  started_at: z.string(),
  finished_at: z.string().nullable(),
  complete: z.boolean().describe("false while running or if the run was interrupted"),
  seconds: z.number().nullable(),
  command: z.string(),
  shard: z.string().nullable(),
  repeat: z.number().int().min(1).describe("guests per job (--repeat)"),
  retry_failed: z.number().int().min(0).describe("fresh guests allowed per job for the cases that did not pass (--retry-failed)"),
  host: z.strictObject({
    hostname: z.string(),
    cores: z.number(),
    memory_gib: z.number(),
    qemu: z.string(),
    node: z.string(),
  }),
});

export const Bisection = z.strictObject({
  kind: z.enum(["series", "git"]),
  target: z.string().describe("the series directory or the git repository"),
  kernel: z.string(),
  arch: z.string(),
  test: z.string(),
  cases: z.string().describe("glob over the testcase's case names"),
  find: z.enum(["regression", "fix"]),
  changes: z.number().describe("patches or commits in the range"),
  culprit: z.strictObject({ position: z.number(), label: z.string(), subject: z.string() }).nullable(),
  conclusion: z.string(),
  flake: z
    .strictObject({
      failing: z.number().int().min(1).describe("attempts that failed, over the steps whose guests showed the failure"),
      run: z.number().int().min(1).describe("attempts run on those steps"),
      hint: z.string().describe("how likely a step with the bug passed all its guests, and the --repeat that makes that unlikely"),
    })
    .nullable()
    .describe("the failure showed in only some attempts of the steps where it showed; null when it showed in all (or nowhere)"),
  steps: z.array(
    z.strictObject({
      position: z.number().describe("0 = base, k = the k-th change applied"),
      label: z.string(),
      subject: z.string(),
      verdict: z.enum(["good", "bad", "skip"]),
      why: z.string().describe("how the verdict was reached, as a sentence (the fields below say it as facts)"),
      decided_by: z
        .enum(["guests", "same-source", "same-image", "untested"])
        .describe(
          "guests: the step booted its own guests; same-source: its sources differ from same_as's only in comments or files outside the build, so it took that verdict unbuilt; same-image: built to the same image as same_as, so it took that verdict unbooted; untested: no kernel to boot (checkout or build failed: a skip)",
        ),
      same_as: z.number().int().nullable().describe("same-source, same-image: the position whose verdict the step took"),
      noop_files: z.array(z.string()).describe("same-source: the files that differ, only in comments/whitespace or outside the build; else []"),
      attempts: z
        .strictObject({ failing: z.number().int().min(0), run: z.number().int().min(1) })
        .nullable()
        .describe("guests: how many of the step's guests (--repeat) showed the failure; null when no guest booted"),
      image_sha256: z.string().nullable().describe("sha256 of the built image (bisection builds are reproducible: equal hashes, equal kernels); null when not built"),
      build_seconds: z.number().nullable(),
      build_cached: z.boolean().nullable(),
      boot_seconds: z.number().nullable(),
      seconds: z.number(),
    }),
  ),
  seconds: z.number(),
});

export const MinimizedScenario = z.strictObject({
  original: z.string().describe("the scenario line the explorer found"),
  minimal: z.string().describe("the smallest line that still shows the problem"),
  why: z.string(),
  jobs: z.array(z.string()).describe("the jobs whose guests decided (one for a failure, several for a divergence)"),
  file: z.string().nullable().describe("the generated standalone C reproducer, relative to the run folder"),
  rounds: z.number(),
  tried: z.number().describe("candidates run in the guests"),
  observations: z.record(z.string(), z.array(z.string())).describe("job → the minimal line's STEP TOKEN OUTCOME lines"),
});
export type MinimizedScenario = z.infer<typeof MinimizedScenario>;

export const RunResults = z.strictObject({
  schema_version: z.literal(2).describe("2: per-case attempts, policy applied at read time (version 1 files are migrated when read)"),
  run: RunInfo,
  kernels: z.array(KernelEntry),
  results: z.array(CaseResult),
  bisect: Bisection.optional().describe("present when the run was a bisection"),
  explore: z
    .strictObject({ minimized: z.array(MinimizedScenario) })
    .optional()
    .describe("present when `cowlab explore` shrank failures and divergences"),
});
export type RunResults = z.infer<typeof RunResults>;
export type RunInfo = z.infer<typeof RunInfo>;

export const resultsJsonSchema = (): unknown => z.toJSONSchema(RunResults, { target: "draft-2020-12" });
