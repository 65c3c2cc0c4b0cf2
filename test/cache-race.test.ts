// Every cache stage, asked for the same missing entry by two jobs of one process and by two
// processes at the same moment, fills it once and hands every caller a good entry. The
// first user's cold run failed exactly here (two jobs unpacking linux-source-6.12 into one
// folder); a warm cache hides it, so these tests always start from an empty one.
import { describe, expect, it, beforeEach } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { debianSource, ensureDeb } from "../orchestrator/sources/debian.ts";
import { busyboxFor } from "../orchestrator/guest/busybox.ts";
import { buildInitramfs } from "../orchestrator/guest/initramfs.ts";
import { withLock } from "../orchestrator/util/lock.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { makeDeb } from "./fixtures/debs.ts";
import type { Testcase } from "../orchestrator/config/testcases.ts";

let root: string;
let debs: string; // where the fake apt-get takes its .debs from
let env: Record<string, string>;


/** A linux-source deb as Debian ships it: one tarball of the tree under /usr/src. */
async function makeSourceDeb(): Promise<void> {
  const tree = join(root, "tree", "linux-source-9.9");
  await mkdir(join(tree, "mm"), { recursive: true });
  await mkdir(join(tree, "usr"), { recursive: true });
  await writeFile(join(tree, "Makefile"), "kernelversion:\n\t@echo 9.9.1\n");
  await writeFile(join(tree, "mm", "memory.c"), "/* memory */\n");
  await writeFile(join(tree, "usr", "gen_init_cpio.c"), "/* the tree's own usr/ */\n");
  const tarball = join(root, "linux-source-9.9.tar.xz");
  await execa("tar", ["-cJf", tarball, "-C", join(root, "tree"), "linux-source-9.9"]);
  await makeDeb(root, debs, "linux-source-9.9", "9.9.1-1", "all", { "usr/src/linux-source-9.9.tar.xz": await readFile(tarball) });
}

const fills = async (): Promise<string[]> =>
  (await readFile(env.COWLAB_TRACE_FILLS!, "utf8").catch(() => "")).split("\n").filter(Boolean).map((l) => l.split(" ")[1]!);

/** Two processes, released at the same instant, each asking `stage` for `arg`. */
async function twoProcesses(stage: string, arg: string): Promise<unknown[]> {
  const startAt = String(Date.now() + 1800); // both are loaded (tsx start-up: ~0.7 s) and waiting by then
  const run = () => execa("node", ["--import", "tsx", repoPath("test", "fixtures", "race-worker.ts"), stage, startAt, arg], { env, cwd: repoPath() });
  const [a, b] = await Promise.all([run(), run()]);
  return [JSON.parse(a.stdout), JSON.parse(b.stdout)];
}

describe("cache stages under concurrent first use", () => {
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "cowlab-race-"));
    debs = join(root, "repo");
    await mkdir(debs);
    // A stand-in apt-get first on PATH: `apt-get download PKG[:ARCH]` copies the matching
    // .deb from the fixture repo after a pause (so a second download would overlap it), and
    // logs each call.
    const bin = join(root, "bin");
    await mkdir(bin);
    await writeFile(
      join(bin, "apt-get"),
      `#!/bin/sh\n[ "$1" = download ] || exit 99\necho "$2" >> "${root}/apt-calls"\nsleep 0.3\npkg=\${2%%:*}; arch=\${2#*:}; [ "$arch" = "$2" ] && arch=all\ncp "${debs}"/"$pkg"_*_"$arch".deb . || exit 100\n`,
    );
    await chmod(join(bin, "apt-get"), 0o755);
    env = { COWLAB_CACHE: join(root, "cache"), COWLAB_TRACE_FILLS: join(root, "fills"), PATH: `${bin}:${process.env.PATH}` };
    Object.assign(process.env, env);
  });

  const aptCalls = async (): Promise<string[]> => (await readFile(join(root, "apt-calls"), "utf8").catch(() => "")).split("\n").filter(Boolean);

  it("two jobs of one process unpack one source once, with the tree whole", async () => {
    await makeSourceDeb();
    const [a, b] = await Promise.all([debianSource("linux-source-9.9"), debianSource("linux-source-9.9")]);
    expect([a, b]).toEqual([expect.objectContaining({ ok: true }), expect.objectContaining({ ok: true })]);
    if (!a.ok || !b.ok) return;
    expect(a.value.dir).toBe(b.value.dir);
    expect(a.value.version).toBe("9.9.1");
    expect(await aptCalls()).toEqual(["linux-source-9.9"]);
    expect((await fills()).filter((f) => f.includes("/src/"))).toHaveLength(1);
    // the tarball's /usr/src is gone, the kernel's own usr/ is not
    expect(await readdir(join(a.value.dir, "usr"))).toEqual(["gen_init_cpio.c"]);
    expect((await readdir(join(env.COWLAB_CACHE!, "src"))).filter((n) => !n.endsWith(".lock"))).toEqual([a.value.key]);
  });

  it("two processes unpack one source once", async () => {
    await makeSourceDeb();
    const [a, b] = (await twoProcesses("source", "linux-source-9.9")) as { ok: boolean; value: { dir: string } }[];
    expect(a!.ok && b!.ok).toBe(true);
    expect(a!.value.dir).toBe(b!.value.dir);
    expect(await aptCalls()).toHaveLength(1);
    expect((await fills()).filter((f) => f.includes("/src/"))).toHaveLength(1);
    expect((await fills()).filter((f) => f.includes("/debs/"))).toHaveLength(1);
  });

  it("debs: two processes download a package once, and a failed download is an error, not a hang", async () => {
    await makeDeb(root, debs, "busybox-static", "1.35.0-4", "arm64", { "bin/busybox": "#!fake" });
    const [a, b] = (await twoProcesses("deb", "busybox-static")) as { ok: boolean }[];
    expect(a!.ok).toBe(false); // no :arch given and the fixture has no _all deb
    expect(b!.ok).toBe(false);
    const ok = await Promise.all([ensureDeb("busybox-static", "arm64"), ensureDeb("busybox-static", "arm64")]);
    expect(ok.every((r) => r.ok)).toBe(true);
    expect((await aptCalls()).filter((c) => c === "busybox-static:arm64")).toHaveLength(1);
  });

  it("busybox: one process and two processes unpack it once", async () => {
    await makeDeb(root, debs, "busybox-static", "1.35.0-4", "arm64", { "bin/busybox": "#!fake" });
    const [a, b] = (await twoProcesses("busybox", "arm64")) as { ok: boolean; value: string }[];
    expect(a!.ok && b!.ok).toBe(true);
    expect(a!.value).toBe(b!.value);
    const [c, d] = await Promise.all([busyboxFor("arm64"), busyboxFor("arm64")]);
    expect(c.ok && d.ok).toBe(true);
    expect((await fills()).filter((f) => f.includes("/busybox/"))).toHaveLength(1);
  });

  it("initramfs: two jobs of one process assemble one cpio once", async () => {
    const repro = join(root, "repro");
    await mkdir(repro);
    await writeFile(join(repro, "swap"), "binary");
    await writeFile(join(root, "busybox"), "busybox");
    const t = { id: "swap", family: "swap", source: "swap.c", timeout_s: 60, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] } as Testcase;
    const [a, b] = await Promise.all([buildInitramfs(join(root, "busybox"), repro, [t]), buildInitramfs(join(root, "busybox"), repro, [t])]);
    expect([a, b]).toEqual([expect.objectContaining({ ok: true }), expect.objectContaining({ ok: true })]);
    if (!a.ok || !b.ok) return;
    expect(a.value).toBe(b.value);
    expect((await fills()).filter((f) => f.includes("/initramfs/"))).toHaveLength(1);
    const cpio = await execa("cpio", ["-t", "--quiet"], { input: await readFile(a.value) });
    expect(cpio.stdout.split("\n")).toContain("testcases/swap");
  });

  it("builds: the build lock is held by one process at a time, and by one job of a process at a time", async () => {
    const log = join(root, "lock.log");
    const results = await twoProcesses("lock", log);
    expect(results).toEqual(["held", "held"]);
    const lines = (await readFile(log, "utf8")).trim().split("\n").map((l) => l.split(" ")[0]);
    expect(lines).toEqual(["in", "out", "in", "out"]);

    const order: string[] = [];
    const hold = (name: string) =>
      withLock(join(root, "inproc"), async () => {
        order.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 50));
        order.push(`${name}-`);
      });
    await Promise.all([hold("a"), hold("b")]);
    expect(order).toEqual(["a+", "a-", "b+", "b-"]);
  });

  it("a lock left by a dead process is taken over", async () => {
    const path = join(root, "stale");
    await mkdir(`${path}.lock`);
    const dead = await execa("sh", ["-c", "echo $$"]);
    await writeFile(join(`${path}.lock`, "pid"), dead.stdout.trim());
    expect(await withLock(path, async () => "taken")).toBe("taken");
  });
});
