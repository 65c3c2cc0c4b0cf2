import { readdir, readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { execa } from "execa";
import type { MachineProfile } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";
import { cachePath, repoPath } from "../util/paths.ts";
import { contentKey, sha256 } from "../util/hash.ts";
import { ensureDir, markUsed } from "../util/fsx.ts";
import { ok, labError, type Result } from "../util/result.ts";
import { compilerVersion } from "../build/toolchain.ts";

async function libSources(): Promise<string[]> {
  const dir = repoPath("testcases", "lib");
  const files = (await readdir(dir)).sort();
  return Promise.all(files.map(async (f) => `${f}:${sha256(await readFile(join(dir, f)))}`));
}

/**
 * Compile the reproducers statically for the guest's arch against the UAPI headers of the
 * kernel under test, into a directory keyed by sources, headers and compiler.
 */
/** What building a program needs to know: a testcase, or the explorer's interpreter. */
export type Program = Pick<Testcase, "id" | "source">;

/** A program's C file: manifests give absolute paths; built-in programs are relative to testcases/. */
const sourcePath = (t: Program): string => resolve(repoPath("testcases"), t.source);

/** The explorer's guest interpreter, built like a reproducer. */
export const INTERP: Program = { id: "interp", source: "explore/interp.c" };

export async function buildReproducers(
  machine: MachineProfile,
  headersDir: string,
  headersKey: string,
  testcases: Program[],
): Promise<Result<string>> {
  const sources = await Promise.all(testcases.map(async (t) => `${t.id}:${sha256(await readFile(sourcePath(t)))}`));
  const key = contentKey({
    sources,
    lib: await libSources(),
    headers: headersKey,
    cc: await compilerVersion(machine.cc),
    arch: machine.arch,
  });
  const dir = cachePath("testcases", `${machine.arch}-${key}`);
  try {
    await ensureDir(dir, () => allValid(dir, machine, testcases), async (tmp) => {
      for (const t of testcases) {
        const args = ["-static", "-O2", "-Wall", "-Wextra", "-I", repoPath("testcases", "lib"), "-I", join(headersDir, "include"), sourcePath(t), "-o", join(tmp, t.id), "-lpthread"];
        const r = await execa(machine.cc, args, { reject: false, all: true });
        if (r.exitCode !== 0) throw new Error(`${machine.cc} ${t.source}: ${r.all?.split("\n").slice(0, 8).join("\n")}`);
      }
    });
  } catch (e) {
    return labError("guest", `building reproducers for ${machine.arch} failed`, (e as Error).message);
  }
  await markUsed(dir);
  return ok(dir);
}

const ELF_MACHINE: Record<string, number> = { x86_64: 62, arm64: 183 };

/** Each binary must be an ELF for the guest's arch: a truncated or foreign file is rebuilt. */
async function allValid(dir: string, machine: MachineProfile, testcases: Program[]): Promise<boolean> {
  for (const t of testcases) {
    const head = await readFile(join(dir, t.id)).then((b) => b.subarray(0, 20)).catch(() => undefined);
    if (!head || head.length < 20 || head.toString("latin1", 0, 4) !== "\x7fELF" || head.readUInt16LE(18) !== ELF_MACHINE[machine.arch]) return false;
  }
  return true;
}
