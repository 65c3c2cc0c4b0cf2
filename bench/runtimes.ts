// bench/runtimes: what a guest costs over SSH (qemu-rootfs: the Debian image, reached through
// a hostfwd port) against the serial console (qemu-initramfs, the baseline), on one kernel
// built once with the rootfs fragments, measured in the same run, guests alternating.
// Per guest: start to the first testcase, the programs' own time, and the rest (upload,
// capability probe, kernel log, shutdown); medians over --guests N of each.
//
//   npm run bench:runtimes -- [--kernel 6.12] [--tests gup-after-fork,swap] [--guests 3]
//
// Figures, not a timed test: the machine and its load decide them. The kernel and the image
// come from the cache (built on first use).
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { loadMatrix } from "../orchestrator/config/matrix.ts";
import { loadTarget } from "../orchestrator/config/targets.ts";
import { planMatrix, narrowCases } from "../orchestrator/run/plan.ts";
import { requireCaseTable } from "../orchestrator/guest/caselist.ts";
import { runJobs } from "../orchestrator/run/runner.ts";
import { runtimeFor } from "../orchestrator/runtime/index.ts";
import { median } from "../orchestrator/results/attempts.ts";
import type { Boot } from "../orchestrator/results/schema.ts";

const args = process.argv.slice(2);
const opt = (name: string, dflt: string): string => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const kernel = opt("--kernel", "6.12");
const guests = Number(opt("--guests", "3"));
const tests = opt("--tests", "");

const [manifest, matrix, target] = await Promise.all([loadManifest(), loadMatrix(), loadTarget("rootfs-x86_64")]);
const rootfs = await runtimeFor(target, manifest.capabilities);
// The serial-console baseline boots the very same kernel: the job's fragments plus the rootfs ones.
const planned = await planMatrix(matrix, manifest, { kernels: [kernel], arches: ["x86_64"], variants: ["base"], fragments: rootfs.fragments, ...(tests ? { tests } : {}) });
const { table } = await requireCaseTable(manifest.testcases);
const jobs = narrowCases(planned, table, undefined);
const out = await mkdtemp(join(tmpdir(), "cowlab-bench-runtimes-"));

interface Sample {
  guest: number;
  first: number;
  programs: number;
  rest: number;
  cases: number;
}
const sample = (b: Boot, cases: number): Sample => {
  const programs = b.testcases.reduce((s, t) => s + (t.ms ?? 0), 0) / 1000;
  return { guest: b.guest_seconds, first: b.seconds ?? NaN, programs, rest: b.guest_seconds - (b.seconds ?? 0) - programs, cases };
};
const runs: Record<"serial" | "ssh", Sample[]> = { serial: [], ssh: [] };
for (let i = 0; i < guests; i++) {
  for (const kind of ["serial", "ssh"] as const) {
    const d = await runJobs({ outDir: join(out, `${kind}-${i}`), jobs, accel: "auto", command: `bench runtimes ${kind}`, ...(kind === "ssh" ? { runtime: rootfs } : {}) });
    const k = d.kernels[0]!;
    if (!k.boot || k.status !== "ok") throw new Error(`${kind} guest ${i + 1}: ${k.status} ${k.reason}`);
    runs[kind].push(sample(k.boot, d.results.length));
  }
}
const med = (xs: number[]): number => Math.round((median(xs) ?? NaN) * 100) / 100;
const row = (name: string, s: Sample[]): string =>
  `${name.padEnd(28)} ${String(s[0]!.cases).padStart(5)} ${med(s.map((x) => x.guest)).toFixed(2).padStart(8)} ${med(s.map((x) => x.first)).toFixed(2).padStart(8)} ${med(s.map((x) => x.programs)).toFixed(2).padStart(9)} ${med(s.map((x) => x.rest)).toFixed(2).padStart(7)}`;
console.log(`# runtimes: ${kernel} x86_64 (one kernel with the rootfs fragments), ${guests} guests each, alternating; medians in seconds`);
console.log(`${"runtime".padEnd(28)} cases    guest   first   programs    rest`);
console.log(row("qemu-initramfs (baseline)", runs.serial));
console.log(row("qemu-rootfs over SSH", runs.ssh));
const g = (k: "serial" | "ssh", f: keyof Sample): number => med(runs[k].map((x) => x[f]));
console.log(`overhead per guest: +${(g("ssh", "guest") - g("serial", "guest")).toFixed(2)} s (${(g("ssh", "guest") / g("serial", "guest")).toFixed(2)}x the serial console's guest); to the first testcase +${(g("ssh", "first") - g("serial", "first")).toFixed(2)} s; programs ${(g("ssh", "programs") / g("serial", "programs")).toFixed(2)}x`);
