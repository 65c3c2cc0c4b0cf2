// Faults of what a run is given (issue 10), each through the CLI as a user meets it:
// - a missing host tool: `cowlab run` checks every tool its jobs will execute before any
//   work, one line per missing tool naming the Debian package, exit 2;
// - an invalid matrix, kernel spec, patch series or manifest: ONE line
//   "cowlab: FILE:LINE: FIELD: what is wrong", exit 2, and nothing fetched or built.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, readdir, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { repoPath } from "../orchestrator/util/paths.ts";
import { exists } from "../orchestrator/util/fsx.ts";
import { missingLine, onPath, runNeeds, type HostNeed } from "../orchestrator/util/tools.ts";
import { loadKernelSpec } from "../orchestrator/config/kernels.ts";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { loadMatrix } from "../orchestrator/config/matrix.ts";
import { readSeries } from "../orchestrator/sources/series.ts";

let root: string; // every folder of this file's tests, removed at the end
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-faults-input-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
const temp = (name: string): Promise<string> => mkdtemp(join(root, `${name}-`));

interface Cli {
  exitCode: number | undefined;
  stderr: string;
  stdout: string;
  /** the run's --out folder and COWLAB_CACHE, to show nothing was built */
  out: string;
  cache: string;
}

/** `cowlab run ARGS --out TMP` with a cache of its own (and extra environment). */
async function cowlabRun(args: string[], env: Record<string, string> = {}): Promise<Cli> {
  const dir = await temp("run");
  const out = join(dir, "out");
  const cache = join(dir, "cache");
  const r = await execa(process.execPath, [repoPath("bin", "cowlab.js"), "run", ...args, "--out", out], {
    cwd: repoPath(),
    env: { COWLAB_CACHE: cache, ...env },
    reject: false,
    timeout: 60_000,
  });
  return { exitCode: r.exitCode, stderr: r.stderr, stdout: r.stdout, out, cache };
}

/** Nothing fetched, built or written: no cache folder, no results. */
async function nothingDone(r: Cli): Promise<void> {
  expect(await exists(r.cache)).toBe(false);
  expect(await exists(join(r.out, "results.json"))).toBe(false);
}

const RUN_612 = ["--kernel", "6.12", "--arch", "x86_64", "--no-explore"];

/**
 * A PATH of one folder holding symlinks to node and to the host tools `needs` names, but
 * those in `drop`: what a machine missing those tools looks like to cowlab.
 */
async function reducedPath(needs: HostNeed[], drop: string[]): Promise<string> {
  const bin = await temp("path");
  await symlink(process.execPath, join(bin, "node"));
  for (const n of needs) {
    if (n.kind !== "tool" || drop.includes(n.name)) continue;
    const where = await execa("sh", ["-c", 'command -v "$1"', "sh", n.name], { reject: false });
    if (where.exitCode === 0 && !(await exists(join(bin, n.name)))) await symlink(where.stdout.trim(), join(bin, n.name));
  }
  return bin;
}

describe("fault: a missing host tool", () => {
  const plan = async (arch: string) => [{ kernel: await loadKernelSpec("6.12"), variant: {}, arch }];

  it.each([
    { arch: "x86_64", drop: ["bc", "qemu-system-x86_64"], packages: ["bc", "qemu-system-x86"] },
    { arch: "arm64", drop: ["aarch64-linux-gnu-gcc", "qemu-system-aarch64"], packages: ["gcc-aarch64-linux-gnu", "qemu-system-arm"] },
  ])("cowlab run --arch $arch without $drop: one line per tool naming its package, exit 2, nothing done", async ({ arch, drop, packages }) => {
    const path = await reducedPath(await runNeeds(await plan(arch)), drop);
    const r = await cowlabRun(["--kernel", "6.12", "--arch", arch, "--no-explore"], { PATH: path });
    expect(r.exitCode).toBe(2);
    const lines = r.stderr.trim().split("\n");
    for (const [i, tool] of drop.entries()) {
      expect(lines).toContain(`cowlab: missing host tool ${tool}: apt-get install ${packages[i]} (or run scripts/setup.sh)`);
    }
    // Only missing-tool lines (a host lacking more than we dropped has more of them), and nothing else ran.
    for (const l of lines) expect(l).toMatch(/^cowlab: missing host (tool|file) \S+: apt-get install \S+ \(or run scripts\/setup\.sh\)$/);
    await nothingDone(r);
  });

  it("`cowlab run --list` needs only the host's compiler, not QEMU or the kernel build tools", async () => {
    const needs = await runNeeds(await plan("x86_64"));
    const path = await reducedPath(needs, ["qemu-system-x86_64", "bc", "flex", "bison"]);
    const r = await cowlabRun([...RUN_612, "--list", "--tests", "swap"], { PATH: path });
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/^6\.12\/base\/x86_64\tswap\//);
  }, 60_000);

  it("names the Debian package of every tool, and scripts/setup.sh installs each of them", async () => {
    const needs = [...(await runNeeds(await plan("x86_64"), { runtime: "qemu-rootfs" })), ...(await runNeeds(await plan("arm64")))];
    const byName = Object.fromEntries(needs.map((n) => [n.name, n.pkg]));
    expect(byName).toMatchObject({
      "aarch64-linux-gnu-gcc": "gcc-aarch64-linux-gnu",
      "aarch64-linux-gnu-ld": "binutils-aarch64-linux-gnu",
      "qemu-system-aarch64": "qemu-system-arm",
      "qemu-system-x86_64": "qemu-system-x86",
      "dpkg-deb": "dpkg",
      "/usr/include/gelf.h": "libelf-dev",
      "/usr/aarch64-linux-gnu/lib/libc.a": "libc6-dev-arm64-cross",
      mmdebstrap: "mmdebstrap",
      "mkfs.ext4": "e2fsprogs",
      "ssh-keygen": "openssh-client",
    });
    expect(missingLine(needs.find((n) => n.name === "qemu-system-aarch64")!)).toBe("missing host tool qemu-system-aarch64: apt-get install qemu-system-arm (or run scripts/setup.sh)");
    const setup = await readFile(repoPath("scripts", "setup.sh"), "utf8");
    // comments first: they may hold parentheses of their own
    const apt = /APT_PACKAGES=\(([^)]*)\)/.exec(setup.replace(/#.*$/gm, ""))![1]!.split(/\s+/).filter(Boolean);
    const essential = ["apt", "dpkg", "tar", "dash", "findutils", "coreutils"]; // on every Debian system
    expect([...new Set(needs.map((n) => n.pkg))].filter((p) => !apt.includes(p) && !essential.includes(p))).toEqual([]);
  });

  it("finds tools on PATH as execa would", async () => {
    expect(await onPath("sh")).toBe(true);
    expect(await onPath("sh", "/nonexistent")).toBe(false);
  });
});

/** Expect the run to stop with exactly `line` on stderr, exit 2, nothing done. */
async function rejected(r: Cli, line: RegExp | string): Promise<void> {
  expect({ exit: r.exitCode, lines: r.stderr.trim().split("\n").length }).toEqual({ exit: 2, lines: 1 });
  if (typeof line === "string") expect(r.stderr.trim()).toBe(line);
  else expect(r.stderr.trim()).toMatch(line);
  await nothingDone(r);
}

describe.concurrent("fault: invalid inputs are one line naming file, line and field", () => {
  const file = async (name: string, text: string): Promise<string> => {
    const dir = await temp("input");
    await writeFile(join(dir, name), text);
    return join(dir, name);
  };

  describe("--matrix", () => {
    const matrix = (text: string) => file("matrix.yaml", text);
    it("a YAML type error", async () => {
      const m = await matrix('arches: x86_64\nkernels:\n  - id: "6.12"\n');
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), `cowlab: ${m}:1: arches: Invalid input: expected array, received string`);
    });
    it("an unknown key", async () => {
      const m = await matrix('arches: [x86_64]\nkernels:\n  - id: "6.12"\n    varaints: [base]\n');
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), `cowlab: ${m}:3: kernels.0: Unrecognized key: "varaints"`);
    });
    it("a variant nobody defines", async () => {
      const m = await matrix('arches: [x86_64]\nkernels:\n  - id: "6.12"\n    variants: [base, anon-exclusive-of]\n');
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), `cowlab: ${m}:4: kernels.0.variants.1: unknown variant 'anon-exclusive-of' (define it under variants:)`);
    });
    it("a kernel listed twice", async () => {
      const m = await matrix('arches: [x86_64]\nkernels:\n  - id: "6.12"\n  - id: "6.1"\n  - id: "6.12"\n    variants: [base]\n');
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), `cowlab: ${m}:5: kernels.2.id: kernel '6.12' is listed twice (give it one entry with several variants)`);
    });
    it("a variant's series that does not exist", async () => {
      const m = await matrix('arches: [x86_64]\nvariants:\n  off:\n    series: kernels/series/anon-exclusive-of\nkernels:\n  - id: "6.12"\n');
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), `cowlab: ${m}:4: variants.off.series: no patch series at kernels/series/anon-exclusive-of`);
    });
    it("broken YAML", async () => {
      const m = await matrix("arches: [x86_64\nkernels: []\n");
      await rejected(await cowlabRun([...RUN_612, "--matrix", m]), new RegExp(`^cowlab: ${m}:\\d+: invalid YAML: `));
    });
  });

  describe("kernel specs (COWLAB_SPECS_DIR)", () => {
    const spec = async (text: string): Promise<{ dir: string; path: string }> => {
      const path = await file("6.12.yaml", text);
      return { dir: join(path, ".."), path };
    };
    const run = (dir: string) => cowlabRun(RUN_612, { COWLAB_SPECS_DIR: dir });
    it("a YAML type error", async () => {
      const s = await spec('id: "6.12"\nsource: { kind: debian, package: linux-source-6.12 }\nfragments: base\n');
      await rejected(await run(s.dir), `cowlab: ${s.path}:3: fragments: Invalid input: expected array, received string`);
    });
    it("a package that is not a linux-source", async () => {
      const s = await spec('id: "6.12"\nsource:\n  kind: debian\n  package: linux-6.12\nfragments: [base]\n');
      await rejected(await run(s.dir), new RegExp(`^cowlab: ${s.path}:4: source\\.package: `));
    });
    it("an unknown key", async () => {
      const s = await spec('id: "6.12"\nsource: { kind: debian, package: linux-source-6.12 }\nfragmnts: [base]\n');
      await rejected(await run(s.dir), `cowlab: ${s.path}:1: (top level): Unrecognized key: "fragmnts"`);
    });
    it("an id that is not the file's name", async () => {
      const s = await spec('# copied from 6.1\nid: "6.1"\nsource: { kind: debian, package: linux-source-6.1 }\nfragments: [base]\n');
      await rejected(await run(s.dir), `cowlab: ${s.path}:2: id: '6.1' must match the file name (6.12.yaml)`);
    });
  });

  describe("--series", () => {
    const mboxPatch = (n: number, subject: string, hunk: string): string =>
      `From ${String(n).repeat(40)} Mon Sep 17 00:00:00 2001\nFrom: Dev <dev@example.org>\nSubject: [PATCH ${n}/2] ${subject}\n\nbody\n---\ndiff --git a/mm/memory.c b/mm/memory.c\n--- a/mm/memory.c\n+++ b/mm/memory.c\n${hunk}-- \n2.39.5\n\n`;
    const good = "@@ -10,3 +10,3 @@\n a\n-b\n+c\n d\n";
    it("an empty folder", async () => {
      const dir = await temp("series");
      await rejected(await cowlabRun([...RUN_612, "--series", dir]), `cowlab: ${dir}: the series holds no patches (no *.patch or *.diff, no quilt series file, no single .mbx/.mbox)`);
    });
    it("a quilt series naming a missing patch", async () => {
      const dir = await temp("series");
      await writeFile(join(dir, "0001-a.patch"), mboxPatch(1, "mm: a", good));
      await writeFile(join(dir, "series"), "# quilt\n0001-a.patch\n0002-b.patch -p1\n");
      await rejected(await cowlabRun([...RUN_612, "--series", dir]), `cowlab: ${join(dir, "series")}:3: 0002-b.patch: the series lists '0002-b.patch', which does not exist in ${dir}`);
    });
    it("an mbox cut short in the middle of a hunk", async () => {
      const text = mboxPatch(1, "mm: a", good) + mboxPatch(2, "mm: b", good);
      const m = await file("v1.mbox", text.slice(0, text.lastIndexOf("+c")));
      const hunkLine = text.split("\n").lastIndexOf("@@ -10,3 +10,3 @@") + 1;
      await rejected(
        await cowlabRun([...RUN_612, "--series", m]),
        `cowlab: ${m}:${hunkLine}: 0002-mm-b.patch: hunk '@@ -10,3 +10,3 @@' ends after 2 of its 3 old and 1 of its 3 new lines (the patch is cut short or damaged)`,
      );
    });
    it("an mbox message without a diff", async () => {
      const first = mboxPatch(1, "mm: a", good);
      const m = await file("v1.mbox", first + mboxPatch(2, "mm: b", good).replace(/^diff --git[^]*?(?=-- \n)/m, ""));
      const second = first.split("\n").length; // the line the second message starts on
      await rejected(await cowlabRun([...RUN_612, "--series", m]), `cowlab: ${m}:${second}: 0002-mm-b.patch: holds no diff`);
    });
    it("a file named .mbox that is not one (a web page saved from lore)", async () => {
      const m = await file("v1.mbox", "<!DOCTYPE html>\n<html><body>[PATCH 1/2] mm: a</body></html>\n");
      await rejected(await cowlabRun([...RUN_612, "--series", m]), new RegExp(`^cowlab: ${m}:1: not an mbox: `));
    });
  });

  describe("--manifest", () => {
    const manifest = async (edit: (text: string) => string): Promise<string> => {
      const text = await readFile(repoPath("testcases", "manifest.yaml"), "utf8");
      const edited = edit(text);
      expect(edited).not.toBe(text);
      return file("manifest.yaml", edited);
    };
    const lineOf = async (path: string, needle: string): Promise<number> => (await readFile(path, "utf8")).split("\n").findIndex((l) => l.includes(needle)) + 1;
    it("a bad version range in known_issues.kernels", async () => {
      const m = await manifest((t) => t.replace('kernels: "<5.18"', 'kernels: "before 5.18"'));
      await rejected(
        await cowlabRun([...RUN_612, "--manifest", m]),
        `cowlab: ${m}:${await lineOf(m, "before 5.18")}: known_issues.0.kernels: 'before' in 'before 5.18' is not a version bound (write e.g. "<5.19", ">=6.2 <6.5" or "5.10")`,
      );
    });
    it("a duplicate testcase id", async () => {
      const m = await manifest((t) => t.replace("  - id: gup-before-fork\n", "  - id: gup-after-fork\n"));
      const second = (await readFile(m, "utf8")).split("\n").findIndex((l, i, all) => l === "  - id: gup-after-fork" && all.indexOf(l) !== i) + 1;
      await rejected(await cowlabRun([...RUN_612, "--manifest", m]), `cowlab: ${m}:${second}: testcases.1.id: duplicate testcase id 'gup-after-fork'`);
    });
    it("a YAML type error", async () => {
      const m = await manifest((t) => t.replace("timeout_s: 120", 'timeout_s: "two minutes"'));
      await rejected(await cowlabRun([...RUN_612, "--manifest", m]), `cowlab: ${m}:${await lineOf(m, "two minutes")}: testcases.0.timeout_s: Invalid input: expected number, received string`);
    });
    it("an arch no machine profile has", async () => {
      const m = await manifest((t) => t.replace('kernels: "<5.18"', 'kernels: "<5.18"\n    arches: [x86-64]'));
      await rejected(await cowlabRun([...RUN_612, "--manifest", m]), `cowlab: ${m}:${await lineOf(m, "[x86-64]")}: known_issues.0.arches.0: unknown arch 'x86-64' (known: x86_64, arm64)`);
    });
  });
});

describe("the repository's own inputs pass these checks", () => {
  it("kernels/series/*, kernels/matrix.yaml and testcases/manifest.yaml", async () => {
    for (const s of await readdir(repoPath("kernels", "series"))) {
      if (s.endsWith(".md")) continue;
      expect((await readSeries(repoPath("kernels", "series", s))).length).toBeGreaterThan(0);
    }
    expect((await loadManifest()).testcases.length).toBeGreaterThan(0);
    expect((await loadMatrix()).kernels.length).toBeGreaterThan(0);
  });
});
