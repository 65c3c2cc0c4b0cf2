// bench/matrix: wall time of the matrix, cold and warm, against its bare parts (each make
// and each QEMU guest run alone, without the orchestrator), or warm against an older commit
// of the lab. Prints figures and ratios.
//
//   npm run bench:matrix -- [--cold] [--bare] [cowlab run filters, e.g. --kernel 6.12]
//   npm run bench:matrix -- --baseline REV [cowlab run filters]
//
// --cold  builds into a fresh cache that shares only the sources (downloaded debs and their
//         unpacked trees, as the target says: "sources already downloaded"), so every
//         build, reproducer and initramfs is paid again.
// --bare  reruns each build's make steps in a scratch O= directory and each guest's
//         rerun.sh, one at a time, and compares their sum with the orchestrator's wall time,
//         and the run's wall with its builds' make time alone.
// --baseline REV  the warm matrix (nothing rebuilt) of the same filters, hand-written suite
//         only (--no-explore), here and at REV (a worktree, bench/baseline.ts), alternating
//         HEAD, REV, HEAD, REV after one untimed warm-up each; the ratio of the medians, the
//         guests' own time, and (HEAD) the share of guest time spent in idle waits.
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";
import type { KernelBuild } from "../orchestrator/build/kernel.ts";
import { execa } from "execa";
import type { RunResults } from "../orchestrator/results/schema.ts";
import { readResults } from "../orchestrator/report/index.ts";
import { medianOf } from "../orchestrator/results/attempts.ts";
import { exists } from "../orchestrator/util/fsx.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { makeArgs, kernelCompiler } from "../orchestrator/build/toolchain.ts";
import { baselineCheckout, cowlabAt, headCheckout, requireRan, takesOption, type Checkout } from "./baseline.ts";
import { freshCache } from "./fresh-cache.ts";

const args = process.argv.slice(2);
const cold = args.includes("--cold");
const bare = args.includes("--bare");
const at = args.indexOf("--baseline");
const baselineRev = at >= 0 ? args[at + 1] : undefined;
if (at >= 0 && (!baselineRev || baselineRev.startsWith("-"))) usage("--baseline needs a revision (e.g. --baseline e9f0309)");
if (baselineRev && (cold || bare)) usage("--baseline measures the warm matrix in the lab's cache; run --cold/--bare on their own");
const filters = args.filter((a, i) => a !== "--cold" && a !== "--bare" && !(at >= 0 && (i === at || i === at + 1)));

function usage(message: string): never {
  console.error(`bench/matrix: ${message}`);
  process.exit(2);
}

async function timedRun(lab: Checkout, env: NodeJS.ProcessEnv, out: string, extra: string[] = []): Promise<{ seconds: number; data: RunResults }> {
  const r = await cowlabAt(lab.dir, ["run", ...filters, ...extra, "--out", out], env);
  requireRan(lab, "cowlab run", r);
  return { seconds: r.seconds, data: await readResults(join(out, "results.json")) };
}

/** Every guest of the run: each job's boot and its reruns (--repeat, --retry-failed). */
const guestsOf = (data: RunResults) => data.kernels.flatMap((k) => (k.boot ? [k.boot, ...k.reruns] : k.reruns));
const guestSeconds = (data: RunResults): number => guestsOf(data).reduce((s, g) => s + g.guest_seconds, 0);
const rebuiltJobs = (data: RunResults): string[] => data.kernels.filter((k) => k.build && !k.build.cached).map((k) => k.job);

const f1 = (n: number): string => n.toFixed(1);
const root = await mkdtemp(join(tmpdir(), "cowlab-bench-"));
const head = await headCheckout();

async function coldWarmBare(): Promise<void> {
  const env: NodeJS.ProcessEnv = cold ? { COWLAB_CACHE: await freshCache(join(root, "cache")) } : {};
  const first = await timedRun(head, env, join(root, "first"));
  const builds = first.data.kernels.filter((k) => k.build && !k.build.cached);
  console.log(`${cold ? "cold" : "first"} run: ${f1(first.seconds)} s wall, ${first.data.kernels.length} jobs, ${builds.length} kernels built (sum of their build seconds ${f1(builds.reduce((s, k) => s + k.build!.seconds, 0))} s)`);

  // Warm: everything cached; one guest at a time isolates the orchestrator's own overhead.
  const warm = await timedRun(head, env, join(root, "warm"));
  const rebuilt = rebuiltJobs(warm.data);
  console.log(`warm run: ${f1(warm.seconds)} s wall (target <= 60 s for the full matrix); rebuilt: ${rebuilt.length ? rebuilt.join(", ") : "nothing"}`);
  const serial = await timedRun(head, env, join(root, "serial"), ["--guests", "1"]);
  const guestSum = guestSeconds(serial.data);
  const n = serial.data.kernels.filter((k) => k.boot).length;
  console.log(`warm run, one guest at a time: ${f1(serial.seconds)} s wall, guests' own QEMU time ${f1(guestSum)} s over ${n} guests`);
  // Start-up paid once per run (Node, the TypeScript loader, reading specs and the manifest).
  const startup = (await cowlabAt(head.dir, ["run", ...filters, "--list"], env)).seconds;
  console.log(`start-up once per run (cowlab run --list): ${(startup * 1000).toFixed(0)} ms`);
  console.log(`orchestration overhead per guest: ${((serial.seconds - startup - guestSum) / Math.max(1, n) * 1000).toFixed(0)} ms (target < 300 ms): serial wall - start-up - guests' QEMU time, over ${n} guests`);

  if (!bare) return;
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
  // Below 1 only when the run overlaps its builds with each other and with everything else
  // (sources, reproducers, guests), which make alone, one build after another, cannot.
  if (bareBuild > 0) console.log(`ratio ${cold ? "cold" : "first"} run wall / sum of bare make times of its builds: ${(first.seconds / bareBuild).toFixed(3)} (target <= 0.85 for a cold run)`);
}

/** Two warm timed runs each, alternating, so that a load that comes and goes falls on both sides. */
const ROUNDS = 2;

async function againstBaseline(base: Checkout): Promise<void> {
  const sides = [head, base];
  const name = (s: Checkout): string => `${s.label} (${s.sha.slice(0, 12)})`;
  const folder = (s: Checkout, what: string): string => join(root, `${s === head ? "head" : s.sha.slice(0, 12)}-${what}`);
  // The hand-written suite on both sides: the explorer came after older revisions (e9f0309
  // has none, and no --no-explore), and its lines would only measure the explorer.
  const extra = new Map<Checkout, string[]>();
  for (const s of sides) extra.set(s, (await takesOption(s.dir, "run", "--no-explore")) ? ["--no-explore"] : []);
  console.log(`warm matrix ${filters.join(" ") || "(default matrix)"}: ${name(head)} against ${name(base)} (${base.dir}), hand-written suite, cache ${process.env.COWLAB_CACHE ?? "the lab's"}`);

  // Untimed: each revision's reproducers and initramfs are keyed by their content, so each
  // side's first run may make its own; a kernel both sides key alike is built once for both.
  for (const s of sides) {
    const w = await timedRun(s, {}, folder(s, "warm-up"), extra.get(s));
    const builds = w.data.kernels.filter((k) => k.build);
    const rebuilt = rebuiltJobs(w.data);
    console.log(`warm-up ${name(s)} (untimed): ${f1(w.seconds)} s, ${builds.length - rebuilt.length} of ${builds.length} kernel builds cache hits${rebuilt.length ? `; built: ${rebuilt.join(", ")}` : ""}`);
  }

  const walls = new Map<Checkout, number[]>(sides.map((s) => [s, []]));
  const guests = new Map<Checkout, number[]>(sides.map((s) => [s, []]));
  const headRuns: { dir: string; data: RunResults }[] = [];
  for (let round = 1; round <= ROUNDS; round++) {
    for (const s of sides) {
      const out = folder(s, `run${round}`);
      const r = await timedRun(s, {}, out, extra.get(s));
      const g = guestSeconds(r.data);
      const rebuilt = rebuiltJobs(r.data);
      walls.get(s)!.push(r.seconds);
      guests.get(s)!.push(g);
      if (s === head) headRuns.push({ dir: out, data: r.data });
      console.log(`${name(s)} run ${round}: ${f1(r.seconds)} s wall, guests' own time summed ${f1(g)} s over ${guestsOf(r.data).length} guests${rebuilt.length ? `; NOT WARM, rebuilt ${rebuilt.join(", ")}` : ""}`);
    }
  }
  const [headWall, baseWall] = sides.map((s) => medianOf(walls.get(s)!)!);
  const [headGuests, baseGuests] = sides.map((s) => medianOf(guests.get(s)!)!);
  console.log(`median wall: ${name(head)} ${f1(headWall!)} s, ${name(base)} ${f1(baseWall!)} s; ratio HEAD/${base.label} ${(headWall! / baseWall!).toFixed(3)} (target <= 0.6)`);
  console.log(`median guest seconds summed: ${name(head)} ${f1(headGuests!)} s, ${name(base)} ${f1(baseGuests!)} s; ratio ${(headGuests! / baseGuests!).toFixed(3)}`);
  await idleWaits(headRuns);
}

/** What orchestrator/results/waits.ts exports (written beside this bench, issue 13). */
type WaitsFromConsole = (text: string) => { ms: number; waits: number; programs: number };

/**
 * The share of HEAD's guest time its programs spent waiting idle (sleeps, polls), as the
 * programs report it on the console (`# cowlab-waits: <ms> ms in <n> waits`).
 */
async function idleWaits(runs: { dir: string; data: RunResults }[]): Promise<void> {
  // Loaded by path, not imported: the module is being written beside this bench, and a
  // checkout without it still gets every other figure.
  const module = repoPath("orchestrator", "results", "waits.ts");
  if (!(await exists(module))) {
    console.log(`idle waits: not measured (${module} is not there yet)`);
    return;
  }
  const { waitsFromConsole } = (await import(pathToFileURL(module).href)) as { waitsFromConsole: WaitsFromConsole };
  let ms = 0;
  let waits = 0;
  let programs = 0;
  let guestMs = 0;
  for (const run of runs) {
    for (const g of guestsOf(run.data)) {
      guestMs += g.guest_seconds * 1000;
      const w = waitsFromConsole(await readFile(join(run.dir, g.console), "utf8"));
      ms += w.ms;
      waits += w.waits;
      programs += w.programs;
    }
  }
  if (!programs) {
    console.log("idle waits: no program reported its waits on the console (no `# cowlab-waits:` line)");
    return;
  }
  console.log(`idle waits (HEAD, ${runs.length} runs): ${(ms / 1000).toFixed(1)} s in ${waits} waits from ${programs} programs, ${((100 * ms) / guestMs).toFixed(1)} % of guest time (target <= 10 %)`);
}

if (baselineRev) await againstBaseline(await baselineCheckout(baselineRev));
else await coldWarmBare();
console.log(`run folders kept in ${root}`);
