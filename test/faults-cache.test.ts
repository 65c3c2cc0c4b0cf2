// Faults of the cache (issue 10). Every kind of entry is checked before it is used, and an
// entry that is corrupt — a file cut short, its completion marker gone, a file deleted
// inside — is made again instead of being used. And two processes sharing one cache: the
// build lock as buildKernel takes it, and two `cowlab run --list` filling one case table.
// Sources and debs are small fakes built with the real dpkg-deb, the kernel a fake tree
// whose Makefile writes an image, so this runs in seconds (test/integration/faults-cache
// does the same with the real 6.12 deb and build).
import { afterAll, beforeAll, describe, expect, it, beforeEach } from "vitest";
import { chmod, copyFile, cp, mkdir, mkdtemp, readFile, readdir, rm, stat, truncate, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { debianSource, debComplete, ensureDeb } from "../orchestrator/sources/debian.ts";
import { busyboxFor } from "../orchestrator/guest/busybox.ts";
import { buildInitramfs } from "../orchestrator/guest/initramfs.ts";
import { buildReproducers } from "../orchestrator/guest/reproducers.ts";
import { buildKernel, type KernelBuild } from "../orchestrator/build/kernel.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { ENTRY_MARKER, exists } from "../orchestrator/util/fsx.ts";
import { applySeries, readSeries } from "../orchestrator/sources/series.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { makeDeb } from "./fixtures/debs.ts";
import { loadManifest, type Testcase } from "../orchestrator/config/testcases.ts";
import type { SourceTree } from "../orchestrator/sources/types.ts";

let top: string; // every folder of this file's tests, removed at the end
beforeAll(async () => {
  top = await mkdtemp(join(tmpdir(), "cowlab-faults-cache-"));
});
afterAll(async () => {
  await rm(top, { recursive: true, force: true });
});
let root: string;
let repo: string; // the .debs the stand-in apt-get hands out
let env: Record<string, string>;


/** linux-source-9.9 as Debian ships a kernel source: one tarball of the tree under /usr/src. */
async function makeSourceDeb(): Promise<void> {
  const tree = join(root, "tree", "linux-source-9.9");
  await mkdir(join(tree, "mm"), { recursive: true });
  await writeFile(join(tree, "Makefile"), "kernelversion:\n\t@echo 9.9.1\n");
  await writeFile(join(tree, "mm", "memory.c"), "/* memory */\n".repeat(100));
  await writeFile(join(tree, "mm", "gup.c"), "/* gup */\n".repeat(100));
  const tarball = join(root, "linux-source-9.9.tar.xz");
  await execa("tar", ["-cJf", tarball, "-C", join(root, "tree"), "linux-source-9.9"]);
  await makeDeb(root, repo, "linux-source-9.9", "9.9.1-1", "all", { "usr/src/linux-source-9.9.tar.xz": await readFile(tarball) });
}

const fills = async (part: string): Promise<number> =>
  (await readFile(env.COWLAB_TRACE_FILLS!, "utf8").catch(() => "")).split("\n").filter((l) => l.includes(`/${part}/`)).length;
const aptCalls = async (): Promise<string[]> => (await readFile(join(root, "apt-calls"), "utf8").catch(() => "")).split("\n").filter(Boolean);
const cutInHalf = async (path: string): Promise<void> => truncate(path, Math.floor((await stat(path)).size / 2));

/**
 * A kernel tree whose Makefile does what buildKernel asks of Kbuild in a blink: .config,
 * merge_config.sh (the fragments appended, so none is "dropped"), an image, the UAPI headers.
 * Each image build is logged to `calls`.
 */
async function fakeKernelTree(dir: string, calls: string): Promise<SourceTree> {
  await mkdir(join(dir, "scripts", "kconfig"), { recursive: true });
  const rules: Record<string, string[]> = {
    tinyconfig: ["mkdir -p $(O)", ": > $(O)/.config"],
    olddefconfig: ["true"],
    bzImage: [`echo image >> ${calls}`, "sleep 0.4", "mkdir -p $(O)/arch/x86/boot", "printf 'fake bzImage %s' $$$$ > $(O)/arch/x86/boot/bzImage"],
    headers_install: ["mkdir -p $(INSTALL_HDR_PATH)/include/linux", "echo '/* mman */' > $(INSTALL_HDR_PATH)/include/linux/mman.h", "echo '/* uffd */' > $(INSTALL_HDR_PATH)/include/linux/userfaultfd.h"],
    kernelrelease: ["echo 9.9.1"],
    kernelversion: ["echo 9.9.1"],
  };
  await writeFile(join(dir, "Makefile"), Object.entries(rules).map(([t, cmds]) => `${t}:\n${cmds.map((c) => `\t@${c}\n`).join("")}`).join("\n"));
  await writeFile(join(dir, "scripts", "kconfig", "merge_config.sh"), '#!/bin/sh\ncfg=$4; shift 4; cat "$@" >> "$cfg"\n');
  await chmod(join(dir, "scripts", "kconfig", "merge_config.sh"), 0o755);
  return { dir, key: "fake-tree-1", version: "9.9.1", label: "fake tree" };
}

const imageBuilds = async (calls: string): Promise<number> => (await readFile(calls, "utf8").catch(() => "")).split("\n").filter(Boolean).length;

describe("fault: a corrupt cache entry is detected and made again", () => {
  beforeEach(async () => {
    root = await mkdtemp(join(top, "corrupt-"));
    repo = join(root, "repo");
    await mkdir(repo);
    // A stand-in apt-get first on PATH: `apt-get download PKG[:ARCH]` copies the .deb from
    // the fixture repo and logs the call.
    const bin = join(root, "bin");
    await mkdir(bin);
    await writeFile(
      join(bin, "apt-get"),
      `#!/bin/sh\n[ "$1" = download ] || exit 99\necho "$2" >> "${root}/apt-calls"\npkg=\${2%%:*}; arch=\${2#*:}; [ "$arch" = "$2" ] && arch=all\ncp "${repo}"/"$pkg"_*_"$arch".deb . || exit 100\n`,
    );
    await chmod(join(bin, "apt-get"), 0o755);
    env = { COWLAB_CACHE: join(root, "cache"), COWLAB_TRACE_FILLS: join(root, "fills"), PATH: `${bin}:${process.env.PATH}` };
    Object.assign(process.env, env);
  });

  it("src: a tree with a file cut short, its stamp gone or a file deleted is unpacked again", async () => {
    await makeSourceDeb();
    const first = await debianSource("linux-source-9.9");
    if (!first.ok) throw new Error(first.error.message);
    const tree = first.value.dir;
    const gup = join(tree, "mm", "gup.c");
    const whole = await readFile(gup, "utf8");
    const again = async (): Promise<void> => {
      const r = await debianSource("linux-source-9.9");
      expect(r.ok && r.value.dir).toBe(tree);
      expect(await readFile(gup, "utf8")).toBe(whole);
    };

    await again();
    expect(await fills("src")).toBe(1); // a whole tree is used as it is

    await cutInHalf(gup); // a file cut short
    await again();
    expect(await fills("src")).toBe(2);

    await rm(join(tree, ".cowlab-source")); // the stamp written when unpacking finished
    await again();
    expect(await fills("src")).toBe(3);

    await rm(gup); // a file deleted inside
    await again();
    expect(await fills("src")).toBe(4);

    expect(await aptCalls()).toEqual(["linux-source-9.9"]); // the deb itself was fine all along
    expect((await readdir(join(env.COWLAB_CACHE!, "src"))).filter((n) => !n.endsWith(".lock"))).toEqual([first.value.key]);
  });

  it("series: a patched tree (a hard-linked copy of its base) is checked too, and making it never touches the base's marker", async () => {
    await makeSourceDeb();
    const base = await debianSource("linux-source-9.9");
    if (!base.ok) throw new Error(base.error.message);
    const baseMarker = await readFile(join(base.value.dir, ENTRY_MARKER), "utf8");
    const patch = join(root, "0001-gup.patch");
    await writeFile(patch, "Subject: [PATCH] mm: gup\n---\ndiff --git a/mm/gup.c b/mm/gup.c\n--- a/mm/gup.c\n+++ b/mm/gup.c\n@@ -1,2 +1,2 @@\n-/* gup */\n+/* pinned */\n /* gup */\n");
    const apply = async (): Promise<string> => {
      const r = await applySeries(base.value, await readSeries(patch), "gup");
      if (!r.ok) throw new Error(`${r.error.message}\n${r.error.detail}`);
      return r.value.dir;
    };
    const patched = await apply();
    expect(await readFile(join(base.value.dir, ENTRY_MARKER), "utf8")).toBe(baseMarker);
    expect((await debianSource("linux-source-9.9")).ok).toBe(true);
    expect((await readFile(env.COWLAB_TRACE_FILLS!, "utf8")).split("\n").filter((l) => l.endsWith(base.value.dir))).toHaveLength(1);
    await rm(join(patched, "mm", "memory.c"));
    expect(await apply()).toBe(patched);
    expect(await exists(join(patched, "mm", "memory.c"))).toBe(true);
    expect((await readFile(env.COWLAB_TRACE_FILLS!, "utf8")).split("\n").filter((l) => l.endsWith(patched))).toHaveLength(2);
    expect(await readFile(join(base.value.dir, ENTRY_MARKER), "utf8")).toBe(baseMarker);
  });

  it("src: a tree made before entry markers existed is adopted once, then checked like any other", async () => {
    await makeSourceDeb();
    const first = await debianSource("linux-source-9.9");
    if (!first.ok) throw new Error(first.error.message);
    const marker = join(first.value.dir, ENTRY_MARKER);
    await rm(marker); // as an older cowlab left it
    expect((await debianSource("linux-source-9.9")).ok).toBe(true);
    expect(await fills("src")).toBe(1); // adopted, not unpacked again (a warm cache stays warm)
    expect(JSON.parse(await readFile(marker, "utf8"))).toMatchObject({ files: 4 }); // Makefile, memory.c, gup.c, the stamp
    await cutInHalf(join(first.value.dir, "mm", "memory.c"));
    expect((await debianSource("linux-source-9.9")).ok).toBe(true);
    expect(await fills("src")).toBe(2);
  });

  it("debs: a deb cut short is fetched again (dpkg-deb --info alone passes it)", async () => {
    await makeDeb(root, repo, "busybox-static", "1.35.0-4", "amd64", { "bin/busybox": "#!fake busybox\n".repeat(5000) });
    const first = await ensureDeb("busybox-static", "amd64");
    if (!first.ok) throw new Error(first.error.message);
    const whole = await readFile(first.value);
    await cutInHalf(first.value);
    expect((await execa("dpkg-deb", ["--info", first.value], { reject: false })).exitCode).toBe(0);
    expect(await debComplete(first.value)).toBe(false);
    const again = await ensureDeb("busybox-static", "amd64");
    expect(again.ok && again.value).toBe(first.value);
    expect(await readFile(first.value)).toEqual(whole);
    expect(await aptCalls()).toEqual(["busybox-static:amd64", "busybox-static:amd64"]);
  });

  it("busybox: a binary cut short or a file deleted inside is unpacked again", async () => {
    await makeDeb(root, repo, "busybox-static", "1.35.0-4", "amd64", { "bin/busybox": "#!fake busybox\n".repeat(100), "usr/share/doc/busybox-static/copyright": "GPL-2\n" });
    const first = await busyboxFor("amd64");
    if (!first.ok) throw new Error(first.error.message);
    const bin = first.value;
    const whole = await readFile(bin, "utf8");
    await cutInHalf(bin);
    expect((await busyboxFor("amd64")).ok).toBe(true);
    expect(await readFile(bin, "utf8")).toBe(whole);
    expect(await fills("busybox")).toBe(2);
    await rm(join(bin, "..", "..", "usr", "share", "doc", "busybox-static", "copyright"));
    expect((await busyboxFor("amd64")).ok).toBe(true);
    expect(await fills("busybox")).toBe(3);
    expect(await aptCalls()).toHaveLength(1);
  });

  it("testcases: a reproducer cut short (its ELF header intact) or deleted is compiled again", async () => {
    const machine = { ...(await loadMachine("x86_64")), cc: "gcc" };
    const build = () => buildReproducers(machine, "/usr", "host-for-faults", [{ id: "swap", source: "swap.c" }]);
    const first = await build();
    if (!first.ok) throw new Error(`${first.error.message}\n${first.error.detail}`);
    const bin = join(first.value, "swap");
    const size = (await stat(bin)).size;
    await cutInHalf(bin);
    expect((await build()).ok).toBe(true);
    expect((await stat(bin)).size).toBe(size);
    expect(await fills("testcases")).toBe(2);
    await rm(bin);
    expect((await build()).ok).toBe(true);
    expect((await stat(bin)).size).toBe(size);
    expect(await fills("testcases")).toBe(3);
  });

  it("initramfs: a cpio cut short, deleted, or without its .sha256 is assembled again", async () => {
    const repro = join(root, "repro");
    await mkdir(repro);
    await writeFile(join(repro, "swap"), "binary".repeat(1000));
    await writeFile(join(root, "busybox"), "busybox");
    const t = { id: "swap", family: "swap", source: "swap.c", timeout_s: 60, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] } as Testcase;
    const build = () => buildInitramfs(join(root, "busybox"), repro, [t]);
    const first = await build();
    if (!first.ok) throw new Error(first.error.message);
    const cpio = first.value;
    // (not byte-equal across assemblies: cpio keeps the staging folders' mtimes)
    const listing = async (): Promise<string> => (await execa("cpio", ["-t", "--quiet"], { input: await readFile(cpio) })).stdout;
    const whole = { size: (await stat(cpio)).size, files: await listing() };
    for (const [n, corrupt] of [() => cutInHalf(cpio), () => rm(cpio), () => rm(`${cpio}.sha256`)].entries()) {
      await corrupt();
      const r = await build();
      expect(r.ok && r.value).toBe(cpio);
      expect({ size: (await stat(cpio)).size, files: await listing() }).toEqual(whole);
      expect(await fills("initramfs")).toBe(n + 2);
    }
  });

  it("kernel builds: an image cut short, a missing build.json or a deleted header is rebuilt; a moved entry is judged by its own files", async () => {
    const calls = join(root, "make-calls");
    const source = await fakeKernelTree(join(root, "linux"), calls);
    const machine = await loadMachine("x86_64");
    const build = async (): Promise<KernelBuild> => {
      const r = await buildKernel({ source, machine, fragments: ["base"] });
      if (!r.ok) throw new Error(`${r.error.message}\n${r.error.logTail}`);
      return r.value;
    };
    const first = await build();
    expect(first.cached).toBe(false);
    expect(first.image.startsWith(env.COWLAB_CACHE!)).toBe(true);
    expect(first.headers_summary).toEqual({ files: 2, links: 0, bytes: expect.any(Number) });
    expect((await build()).cached).toBe(true);
    expect(await imageBuilds(calls)).toBe(1);

    const corruptions: [string, () => Promise<void>][] = [
      ["image cut short", () => cutInHalf(first.image)],
      ["build.json missing", () => rm(join(first.dir, "build.json"))],
      ["a header deleted", () => rm(join(first.headers, "include", "linux", "userfaultfd.h"))],
      ["a header cut short", () => truncate(join(first.headers, "include", "linux", "mman.h"), 2)],
    ];
    for (const [i, [what, corrupt]] of corruptions.entries()) {
      await corrupt();
      const b = await build();
      expect({ what, cached: b.cached, builds: await imageBuilds(calls) }).toEqual({ what, cached: false, builds: i + 2 });
      expect((await build()).cached).toBe(true);
    }

    // The entry copied into another cache: build.json still names the old place, whose files
    // are whole; the copy's own image is cut short, so the copy is rebuilt, not trusted.
    const other = join(root, "other-cache");
    await mkdir(join(other, "build"), { recursive: true });
    const moved = join(other, "build", first.dir.split("/").pop()!);
    await cp(first.dir, moved, { recursive: true });
    process.env.COWLAB_CACHE = other;
    const reused = await build();
    expect(reused.cached).toBe(true);
    expect(reused.image).toBe(join(moved, "bzImage"));
    await cutInHalf(join(moved, "bzImage"));
    const rebuilt = await build();
    expect(rebuilt.cached).toBe(false);
    expect(rebuilt.image).toBe(join(moved, "bzImage"));
    expect(await imageBuilds(calls)).toBe(corruptions.length + 2);
  });
});

describe("fault: two runs sharing one cache", () => {
  beforeEach(async () => {
    root = await mkdtemp(join(top, "share-"));
    env = { COWLAB_CACHE: join(root, "cache"), COWLAB_TRACE_FILLS: join(root, "fills") };
    Object.assign(process.env, env);
  });

  it("builds: two processes asking for one kernel at the same instant build it once; the second waits and reuses it", async () => {
    const calls = join(root, "make-calls");
    const source = await fakeKernelTree(join(root, "linux"), calls);
    const worker = join(root, "build-worker.mts");
    await writeFile(
      worker,
      `import { buildKernel } from ${JSON.stringify(repoPath("orchestrator", "build", "kernel.ts"))};
import { loadMachine } from ${JSON.stringify(repoPath("orchestrator", "config", "machines.ts"))};
const [startAt] = process.argv.slice(2);
await new Promise((r) => setTimeout(r, Math.max(0, Number(startAt) - Date.now())));
const r = await buildKernel({ source: ${JSON.stringify(source)}, machine: await loadMachine("x86_64"), fragments: ["base"] });
process.stdout.write(JSON.stringify(r.ok ? { cached: r.value.cached, image: r.value.image } : { error: r.error.message }));
`,
    );
    const startAt = String(Date.now() + 2000); // both loaded (tsx start-up) and waiting by then
    const run = () => execa("node", ["--import", "tsx", worker, startAt], { cwd: repoPath(), env });
    const outs = (await Promise.all([run(), run()])).map((r) => JSON.parse(r.stdout) as { cached: boolean; image: string });
    expect(outs.map((o) => o.cached).sort()).toEqual([false, true]);
    expect(outs[0]!.image).toBe(outs[1]!.image);
    expect(await imageBuilds(calls)).toBe(1);
  });

  it("two `cowlab run --list` at once fill the host's case table once and list the same cases", async () => {
    const cli = () => execa("node", [repoPath("bin", "cowlab.js"), "run", "--list", "--kernel", "6.12", "--arch", "x86_64", "--tests", "swap"], { cwd: repoPath(), env, reject: false });
    const [a, b] = await Promise.all([cli(), cli()]);
    expect([a.exitCode, b.exitCode, a.stderr, b.stderr]).toEqual([0, 0, "", ""]);
    expect(a.stdout).toBe(b.stdout);
    expect(a.stdout).toMatch(/^6\.12\/base\/x86_64\tswap\//m);
    expect(await fills("testcases")).toBe(1);
    const entries = await readdir(join(env.COWLAB_CACHE!, "testcases"));
    expect(entries.filter((n) => /\.(partial|lock)/.test(n))).toEqual([]);
    // the one entry is whole: its marker matches its files
    const dir = join(env.COWLAB_CACHE!, "testcases", entries[0]!);
    expect(JSON.parse(await readFile(join(dir, ENTRY_MARKER), "utf8"))).toMatchObject({ files: (await loadManifest()).testcases.length });
    await copyFile(join(dir, "swap"), join(root, "swap-copy")); // still a runnable program
    expect((await execa(join(root, "swap-copy"), ["--list"])).stdout).toContain("\n");
  }, 60_000);
});
