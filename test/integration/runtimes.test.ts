// One kernel, two runtimes, the same verdicts: 6.12 x86_64 built once with the rootfs
// fragments, run through qemu-initramfs (serial console) and through qemu-rootfs (the Debian
// image, over SSH through hostfwd). Every case must get the same verdict, and the serial
// console's nested KTAP must read the same in kunit.py's own parser (from the kernel source
// the lab unpacked), so a KTAP reader other than ours agrees with the lab.
import { describe, expect, it } from "vitest";
import { mkdtemp, readFile, readdir } from "node:fs/promises";
import { existsSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { cachePath, repoPath } from "../../orchestrator/util/paths.ts";

const ONE_JOB = ["--kernel", "6.12", "--arch", "x86_64", "--variant", "base", "--no-explore"];
const cowlab = (args: string[]) => execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 30 * 60_000 });
const results = async (dir: string): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(join(dir, "results.json"), "utf8")));
const verdicts = (d: RunResults): Map<string, string> => new Map(d.results.map((r) => [`${r.testcase}/${r.case}`, r.status]));

describe("qemu-initramfs and qemu-rootfs on one 6.12 x86_64 kernel", () => {
  it("give the same verdict for every case; kunit.py reads the serial console's KTAP the same way", async () => {
    const out = await mkdtemp(join(tmpdir(), "cowlab-runtimes-"));
    // The rootfs target's kernel is the job's fragments plus rootfs: the initramfs run asks for the same build.
    const rootfs = await cowlab(["run", ...ONE_JOB, "--target", "rootfs-x86_64", "--out", join(out, "rootfs")]);
    expect(rootfs.exitCode, rootfs.stderr).toBe(0);
    const serial = await cowlab(["run", ...ONE_JOB, "--fragment", "rootfs", "--out", join(out, "serial")]);
    expect(serial.exitCode, serial.stderr).toBe(0);
    const [a, b] = [await results(join(out, "rootfs")), await results(join(out, "serial"))];
    const [ka, kb] = [a.kernels[0]!, b.kernels[0]!];
    expect(ka.build!.key).toBe(kb.build!.key);
    expect(ka.boot!.runtime).toBe("qemu-rootfs");
    expect(ka.boot!.target).toBe("rootfs-x86_64");
    expect(kb.boot!.runtime).toBe("qemu-initramfs");
    expect(ka.release).toBe(kb.release);
    // The Debian guest was set up as the lab's own guests are.
    for (const k of ["thp", "swap_kb", "hugepages", "numa_nodes", "gup_test"] as const) expect(ka.boot!.setup[k], k).toBe(kb.boot!.setup[k]);

    const [va, vb] = [verdicts(a), verdicts(b)];
    expect(va.size).toBeGreaterThan(100);
    expect([...va.keys()].sort()).toEqual([...vb.keys()].sort());
    const differ = [...va].filter(([k, v]) => vb.get(k) !== v).map(([k, v]) => `${k}: rootfs ${v}, initramfs ${vb.get(k)}`);
    expect(differ).toEqual([]);
    // Not a trivial agreement: the kernel's known failures fail in both.
    expect([...va.values()].filter((v) => v === "fail").length).toBeGreaterThan(0);
    console.log(`verdicts: ${va.size} cases identical; guest ${ka.boot!.guest_seconds} s over SSH (first testcase at ${ka.boot!.seconds} s) vs ${kb.boot!.guest_seconds} s on the serial console (${kb.boot!.seconds} s)`);

    // kunit.py parse, from the 6.12 source the lab unpacked, on the serial console.
    const srcs = (await readdir(cachePath("src"))).filter((d) => /^linux-source-6\.12-[0-9a-f]+$/.test(d));
    const kunit = srcs.map((d) => cachePath("src", d, "tools", "testing", "kunit", "kunit.py")).find(existsSync);
    expect(kunit, "kunit.py in the unpacked 6.12 source").toBeDefined();
    const parsed = await execa("python3", [kunit!, "parse", join(out, "serial", kb.boot!.console)], { reject: false });
    const summary = /Ran (\d+) tests: passed: (\d+), failed: (\d+)/.exec(parsed.stdout);
    expect(summary, parsed.stdout.slice(-2000)).not.toBeNull();
    const failing = [...vb].filter(([, v]) => v === "fail").map(([k]) => k.replace("/", ".")).sort();
    const kunitFailures = (/Failures: (.*)/.exec(parsed.stdout)?.[1] ?? "").split(", ").filter(Boolean).sort();
    // kunit counts the programs' cases and, for each program, the program itself (its result line in the guest's document)
    expect(kunitFailures).toEqual(failing);
    expect(Number(summary![3])).toBe(failing.length);
  }, 40 * 60_000);

  it("a kernel that panics in mid-case over SSH: the case is a crash with the panic's title from the serial console, not a lost connection", async () => {
    const out = await mkdtemp(join(tmpdir(), "cowlab-runtimes-panic-"));
    const r = await cowlab(["run", ...ONE_JOB, "--target", "rootfs-x86_64", "--manifest", repoPath("test", "fixtures", "faults", "manifest.yaml"), "--tests", "sysrq-crash", "--out", out]);
    expect(r.exitCode, r.stderr).toBe(1);
    const d = await results(out);
    const k = d.kernels[0]!;
    expect(k.status).toBe("crash");
    expect(k.reason).toBe("Kernel panic: sysrq triggered crash");
    expect(k.boot!.ending).toBe("lost");
    expect(d.results.map((x) => `${x.case}=${x.status}`)).toEqual(["before-the-crash=pass", "*=crash"]);
    expect(d.results[1]!.reason.split("\n")[0]).toBe("Kernel panic: sysrq triggered crash");
  }, 20 * 60_000);
});
