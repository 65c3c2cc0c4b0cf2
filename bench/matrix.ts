// bench/matrix: wall time of the matrix, cold and warm, against its bare parts (each make
// and each QEMU guest run alone, without the orchestrator). Prints figures and ratios.
//
//   npm run bench:matrix -- [--cold] [--bare] [cowlab run filters, e.g. --kernel 6.12]
//
// --cold  builds into a fresh cache that shares only the sources (downloaded debs and their
//         unpacked trees, as the target says: "sources already downloaded"), so every
//         build, reproducer and initramfs is paid again.
// --bare  reruns each build's make steps in a scratch O= directory and each guest's
//         rerun.sh, one at a time, and compares their sum with the orchestrator's wall time.
import { mkdtemp, mkdir, symlink, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import type { KernelBuild } from "../orchestrator/build/kernel.ts";
import { execa } from "execa";
import { RunResults } from "../orchestrator/results/schema.ts";
import { cacheRoot, repoPath } from "../orchestrator/util/paths.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { makeArgs, kernelCompiler } from "../orchestrator/build/toolchain.ts";

const args = process.argv.slice(2);
const cold = args.includes("--cold");
const bare = args.includes("--bare");
const filters = args.filter((a) => a !== "--cold" && a !== "--bare");

async function timedRun(env: NodeJS.ProcessEnv, out: string, extra: string[] = []): Promise<{ seconds: number; data: RunResults }> {
  const t = performance.now();
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "run", ...filters, ...extra, "--out", out], { env: { ...process.env, ...env, CI: "1" }, reject: false, stderr: "inherit" });
  const seconds = (performance.now() - t) / 1000;
  if (![0, 1].includes(r.exitCode ?? -1)) throw new Error(`cowlab run exited ${r.exitCode}`);
  return { seconds, data: RunResults.parse(JSON.parse(await readFile(join(out, "results.json"), "utf8"))) };
}

const f1 = (n: number): string => n.toFixed(1);
const root = await mkdtemp(join(tmpdir(), "cowlab-bench-"));
let env: NodeJS.ProcessEnv = {};
if (cold) {
  const fresh = join(root, "cache");
  await mkdir(fresh, { recursive: true });
  await symlink(join(cacheRoot(), "debs"), join(fresh, "debs"));
  await symlink(join(cacheRoot(), "src"), join(fresh, "src"));
  env = { COWLAB_CACHE: fresh };
}

const first = await timedRun(env, join(root, "first"));
const builds = first.data.kernels.filter((k) => k.build && !k.build.cached);
console.log(`${cold ? "cold" : "first"} run: ${f1(first.seconds)} s wall, ${first.data.kernels.length} jobs, ${builds.length} kernels built (sum of their build seconds ${f1(builds.reduce((s, k) => s + k.build!.seconds, 0))} s)`);

// Warm: everything cached; one guest at a time isolates the orchestrator's own overhead.
const warm = await timedRun(env, join(root, "warm"));
const rebuilt = warm.data.kernels.filter((k) => k.build && !k.build.cached).map((k) => k.job);
console.log(`warm run: ${f1(warm.seconds)} s wall (target <= 60 s for the full matrix); rebuilt: ${rebuilt.length ? rebuilt.join(", ") : "nothing"}`);
const serial = await timedRun(env, join(root, "serial"), ["--guests", "1"]);
const guestSum = serial.data.kernels.reduce((s, k) => s + (k.boot?.guest_seconds ?? 0), 0);
const n = serial.data.kernels.filter((k) => k.boot).length;
console.log(`warm run, one guest at a time: ${f1(serial.seconds)} s wall, guests' own QEMU time ${f1(guestSum)} s over ${n} guests`);
// Start-up paid once per run (Node, the TypeScript loader, reading specs and the manifest).
const t = performance.now();
await execa("node", [repoPath("bin", "cowlab.js"), "run", ...filters, "--list"], { env: { ...process.env, ...env } });
const startup = (performance.now() - t) / 1000;
console.log(`start-up once per run (cowlab run --list): ${(startup * 1000).toFixed(0)} ms`);
console.log(`orchestration overhead per guest: ${((serial.seconds - startup - guestSum) / Math.max(1, n) * 1000).toFixed(0)} ms (target < 300 ms): serial wall - start-up - guests' QEMU time, over ${n} guests`);

if (bare) {
  let bareBuild = 0;
  for (const k of first.data.kernels) {
    if (!k.build || k.build.cached) continue;
    const machine = await loadMachine(k.arch);
    const meta = JSON.parse(await readFile(join(dirname(k.build.log), "build.json"), "utf8")) as KernelBuild;
    const src = meta.source_dir;
    const fragments = meta.fragment_files;
    const obj = join(root, `bare-${k.job.replace(/\//g, "-")}`);
    const mk = makeArgs(machine, obj);
    const t = performance.now();
    await execa("make", [...mk, "tinyconfig"], { cwd: src });
    await execa("scripts/kconfig/merge_config.sh", ["-m", "-O", obj, join(obj, ".config"), ...fragments], { cwd: src });
    await execa("make", [...mk, "olddefconfig"], { cwd: src });
    await execa("make", [...mk, `CC=${kernelCompiler(machine)}`, "-j3", machine.make_target], { cwd: src });
    await execa("make", [...mk, `INSTALL_HDR_PATH=${join(obj, "hdr")}`, "headers_install"], { cwd: src });
    const s = (performance.now() - t) / 1000;
    bareBuild += s;
    console.log(`bare build ${k.job}: ${f1(s)} s (orchestrated: ${k.build.seconds} s)`);
    await rm(obj, { recursive: true, force: true });
  }
  let bareGuests = 0;
  for (const k of first.data.kernels) {
    if (!k.boot) continue;
    const t = performance.now();
    await execa("sh", [join(root, "first", k.boot.rerun)], { reject: false, stdout: "ignore" });
    bareGuests += (performance.now() - t) / 1000;
  }
  const sum = bareBuild + bareGuests;
  console.log(`bare parts: builds ${f1(bareBuild)} s + guests ${f1(bareGuests)} s = ${f1(sum)} s`);
  console.log(`ratio ${cold ? "cold" : "first"} run / bare parts: ${(first.seconds / sum).toFixed(3)} (target <= 1.10 for a cold run)`);
}
console.log(`run folders kept in ${root}`);
