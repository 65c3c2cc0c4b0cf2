// Bisection kernels are built reproducibly (build/kernel.ts `reproducible`): the fixed
// KBUILD_BUILD_* identity goes into that build's own environment and its key, never into
// process.env, and neither an ordinary build's key nor a bisection step's key changes.
// The kernel is a fake tree whose Makefile writes the identity it was given into the image.
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { buildKernel, buildKey, reproducibleMark, REPRODUCIBLE_BUILD_ENV } from "../orchestrator/build/kernel.ts";
import { compilerVersion, kernelCompiler } from "../orchestrator/build/toolchain.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { contentKey, sha256 } from "../orchestrator/util/hash.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import type { SourceTree } from "../orchestrator/sources/types.ts";

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), "cowlab-bisect-build-"));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});
afterEach(() => vi.unstubAllEnvs());

/** A kernel tree whose image is the KBUILD_BUILD_* identity make saw. */
async function fakeKernelTree(dir: string): Promise<SourceTree> {
  await mkdir(join(dir, "scripts", "kconfig"), { recursive: true });
  const rules: Record<string, string[]> = {
    tinyconfig: ["mkdir -p $(O)", ": > $(O)/.config"],
    olddefconfig: ["true"],
    bzImage: ["mkdir -p $(O)/arch/x86/boot", "echo \"$$KBUILD_BUILD_TIMESTAMP|$$KBUILD_BUILD_VERSION|$$KBUILD_BUILD_USER|$$KBUILD_BUILD_HOST\" > $(O)/arch/x86/boot/bzImage"],
    headers_install: ["mkdir -p $(INSTALL_HDR_PATH)/include/linux", "echo '/* mman */' > $(INSTALL_HDR_PATH)/include/linux/mman.h"],
    kernelrelease: ["echo 9.9.1"],
  };
  await writeFile(join(dir, "Makefile"), Object.entries(rules).map(([t, cmds]) => `${t}:\n${cmds.map((c) => `\t@${c}\n`).join("")}`).join("\n"));
  await writeFile(join(dir, "scripts", "kconfig", "merge_config.sh"), '#!/bin/sh\ncfg=$4; shift 4; cat "$@" >> "$cfg"\n');
  await chmod(join(dir, "scripts", "kconfig", "merge_config.sh"), 0o755);
  return { dir, key: "fake-bisect-tree-1", version: "9.9.1", label: "fake tree" };
}

describe("reproducible builds", () => {
  it("get the fixed identity in their own environment only, and keep it out of ordinary builds", async () => {
    vi.stubEnv("COWLAB_CACHE", join(root, "cache"));
    for (const k of Object.keys(REPRODUCIBLE_BUILD_ENV)) vi.stubEnv(k, undefined);
    const source = await fakeKernelTree(join(root, "tree"));
    const machine = await loadMachine("x86_64");
    const fixed = await buildKernel({ source, machine, fragments: ["base"], reproducible: true });
    const plain = await buildKernel({ source, machine, fragments: ["base"] });
    if (!fixed.ok || !plain.ok) throw new Error("fake build failed");
    expect((await readFile(fixed.value.image, "utf8")).trim()).toBe("Thu Jan  1 00:00:00 UTC 1970|1|cowlab|bisect");
    expect((await readFile(plain.value.image, "utf8")).trim()).toBe("|||");
    expect(fixed.value.key).not.toBe(plain.value.key);
    // the process around the build is left as it was
    expect(Object.keys(REPRODUCIBLE_BUILD_ENV).filter((k) => k in process.env)).toEqual([]);
  });

  it("leave ordinary build keys as they were, and bisection step keys as when the step's source key carried +kbuild-fixed", async () => {
    const machine = await loadMachine("x86_64");
    const tree: SourceTree = { dir: "/nonexistent", key: "linux-source-6.12-abc+3f2a9c", version: "6.12.117", label: "t" };
    const fragments = ["base", "gup-test"];
    const before = async (sourceKey: string) =>
      contentKey({
        recipe: "1",
        source: sourceKey,
        patches: "",
        fragments: await Promise.all([...fragments, machine.fragment].map(async (n) => sha256(await readFile(repoPath("kernels", "fragments", `${n}.config`), "utf8")))),
        arch: machine.arch,
        toolchain: await compilerVersion(kernelCompiler(machine)),
      });
    expect(reproducibleMark()).toBe("kbuild-fixed");
    expect(await buildKey({ source: tree, machine, fragments })).toBe(await before(tree.key));
    expect(await buildKey({ source: tree, machine, fragments, reproducible: false })).toBe(await before(tree.key));
    expect(await buildKey({ source: tree, machine, fragments, reproducible: true })).toBe(await before(`${tree.key}+kbuild-fixed`));
  });
});
