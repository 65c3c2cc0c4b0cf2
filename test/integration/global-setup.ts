// Before the integration files: the kernels several of them share, built once, in a fixed
// order. vitest orders files by its results cache, or by file size in a fresh clone, so
// without this whichever file came first paid a full build inside its own timeout (the
// fault tests' first case allows 5 min for a build and two guests) and an edit that changed
// a file's size moved the cost elsewhere. Each build lands in the lab cache like any other
// (a warm cache makes this a few look-ups); a failure is printed and left to the tests that
// need the kernel, which report it in their own words.
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";
import { loadMachine } from "../../orchestrator/config/machines.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { buildKernel } from "../../orchestrator/build/kernel.ts";
import { rootfsFragments } from "../../orchestrator/guest/rootfs.ts";

/** The shared kernels (x86_64): what each is for, the spec, and whether it has the rootfs fragments. */
const SHARED = [
  { kernel: "6.12", rootfs: false, for: "most files: faults, lore, bisect, compare, incremental, proofs, boot, shard" },
  { kernel: "5.10", rootfs: false, for: "explore, bundle, proofs, shard" },
  { kernel: "6.12", rootfs: true, for: "rootfs, ssh-install, runtimes" },
];

export default async function setup(): Promise<void> {
  if (process.env.COWLAB_SKIP_PREBUILD === "1") return;
  const machine = await loadMachine("x86_64");
  for (const s of SHARED) {
    const t = performance.now();
    const spec = await loadKernelSpec(s.kernel);
    const source = await resolveSource(spec.source);
    const what = `${s.kernel}${s.rootfs ? " + rootfs" : ""} x86_64`;
    if (!source.ok) {
      process.stderr.write(`prebuild ${what}: ${source.error.message}\n`);
      continue;
    }
    const b = await buildKernel({ source: source.value, machine, fragments: [...spec.fragments, ...(s.rootfs ? rootfsFragments(machine) : [])] });
    const secs = ((performance.now() - t) / 1000).toFixed(1);
    process.stderr.write(b.ok ? `prebuild ${what} (${s.for}): ${b.value.cached ? "cached" : "built"} in ${secs} s\n` : `prebuild ${what}: ${b.error.message}\n`);
  }
}
