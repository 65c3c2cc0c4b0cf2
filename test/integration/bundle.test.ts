// The done-when: a replay bundle of one failing 5.10 case, unpacked in an empty
// folder, reproduces the failure with its one command. A real run (5.10 predates
// PageAnonExclusive: swap's rw-pin-ro-remap-* cases fail as a known issue), a real bundle, a
// real boot of it with nothing of cowlab's checkout or cache in reach; then a case that
// passed, to see the command tell a pass apart, and a run folder that lost its initramfs.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, readdir, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { sha256 } from "../../orchestrator/util/hash.ts";

const cli = (args: string[]) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 15 * 60_000 });
const FAILING = "5.10/base/x86_64 swap/rw-pin-ro-remap-base";

let root: string;
let run: string;
let data: RunResults;

/** Unpack a bundle into an empty folder outside the checkout and run its one command there, with a bare PATH and no cowlab environment. */
async function replay(archive: string): Promise<{ dir: string; code: number; out: string }> {
  const dir = await mkdtemp(join(tmpdir(), "cowlab-replay-"));
  expect(await readdir(dir)).toEqual([]);
  await execa("tar", ["xzf", archive, "-C", dir]);
  const r = await execa("./rerun.sh", [], { cwd: dir, reject: false, all: true, timeout: 10 * 60_000, env: { PATH: "/usr/local/bin:/usr/bin:/bin" }, extendEnv: false });
  return { dir, code: r.exitCode ?? -1, out: r.all ?? "" };
}

describe("cowlab bundle: replaying a failing 5.10 case from its bundle alone", () => {
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), "cowlab-bundle-it-"));
    run = join(root, "run");
    const r = await cli(["run", "--kernel", "5.10", "--arch", "x86_64", "--variant", "base", "--tests", "swap", "--no-explore", "--out", run]);
    if (![0, 1].includes(r.exitCode ?? -1)) throw new Error(`cowlab run exited ${r.exitCode}: ${r.stderr}`);
    data = RunResults.parse(JSON.parse(await readFile(join(run, "results.json"), "utf8")));
  }, 15 * 60_000);

  it("the failing case's bundle, unpacked in an empty folder, fails again with its one command (exit 1)", async () => {
    const failing = data.results.find((r) => `${r.job} ${r.testcase}/${r.case}` === FAILING)!;
    expect(failing.status).toBe("fail");
    const b = await cli(["bundle", join(run, "results.json"), FAILING]);
    expect(b.exitCode, b.stderr).toBe(0);
    const archive = join(run, "bundles", "5.10-base-x86_64--swap--rw-pin-ro-remap-base.tar.gz");
    expect(b.stdout).toBe(`${archive} (${((await stat(archive)).size / 1024 / 1024).toFixed(1)} MiB)`);

    const { dir, code, out } = await replay(archive);
    try {
      expect(code, out.slice(-3000)).toBe(1);
      // the console shows the same case failing, and only that case ran
      expect(out).toMatch(/^ {4}not ok 1 rw-pin-ro-remap-base$/m);
      expect(out).toContain("# cowlab-setup uname=5.10.262");
      expect(out.match(/^ {4}(not )?ok \d+ /gm)).toHaveLength(1);
      expect(out).toContain("rerun: swap/rw-pin-ro-remap-base: fail: R/W pin (io_uring fixed buffer) misses the write made through the mapping");
      // every file is the one metadata.json names
      const meta = JSON.parse(await readFile(join(dir, "metadata.json"), "utf8"));
      expect(meta.reproducer).toBe("./rerun.sh");
      expect(meta.case).toMatchObject({ id: FAILING, verdict: "fail" });
      expect(meta.build.config_sha256).toBe(data.kernels[0]!.build!.config_sha256);
      expect(Object.keys(meta.sha256)).toEqual(expect.arrayContaining([".config", "bzImage", "initramfs.cpio", "case.cpio", "rerun.sh", "README", "testcases/swap.c", "testcases/lib/pin.h"]));
      for (const [f, h] of Object.entries(meta.sha256)) expect(sha256(await readFile(join(dir, f))), f).toBe(h);
      expect(meta.sha256[".config"]).toBe(meta.build.config_sha256);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 15 * 60_000);

  it("a case that passed, bundled by name, passes with the same command (exit 0)", async () => {
    const passing = data.results.find((r) => r.testcase === "swap" && r.case === "rw-pin-pageout-base")!;
    expect(passing.status).toBe("pass");
    const b = await cli(["bundle", join(run, "results.json"), "swap/rw-pin-pageout-base", "-o", join(root, "out"), "--json"]);
    expect(b.exitCode, b.stderr).toBe(0);
    const [written] = JSON.parse(b.stdout) as { file: string; verdict: string }[];
    expect(written!.verdict).toBe("pass");
    const { dir, code, out } = await replay(written!.file);
    await rm(dir, { recursive: true, force: true });
    expect(code, out.slice(-3000)).toBe(0);
    expect(out).toMatch(/^ {4}ok 1 rw-pin-pageout-base$/m);
  }, 15 * 60_000);

  it("without CASE every failure gets a bundle; a run folder that lost its initramfs is a one-line error (exit 2)", async () => {
    const b = await cli(["bundle", join(run, "results.json"), "-o", join(root, "all")]);
    expect(b.exitCode, b.stderr).toBe(0);
    expect(b.stdout.trim().split("\n")).toHaveLength(data.results.filter((r) => r.status === "fail").length);
    const initramfs = join(run, "guests", "5.10-base-x86_64", "initramfs.cpio");
    await rm(initramfs);
    const gone = await cli(["bundle", join(run, "results.json"), FAILING, "-o", join(root, "gone")]);
    expect(gone.exitCode).toBe(2);
    expect(gone.stderr.trim()).toBe(`cowlab: ${initramfs}: missing: the initramfs ${FAILING}'s guest booted; re-run the job (cowlab run --kernel 5.10 --arch x86_64 --variant base --tests swap --no-explore --out ${run})`);
    await rm(root, { recursive: true, force: true });
  }, 5 * 60_000);
});
