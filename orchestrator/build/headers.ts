// UAPI headers without a kernel: what the reproducers of a machine that runs its own kernel
// (an `ssh` target without --install) compile against. `make headers_install` needs no
// .config (Kbuild's no-dot-config targets), so it takes seconds where a build takes minutes.
import { join } from "node:path";
import { mkdir } from "node:fs/promises";
import { execa } from "execa";
import type { MachineProfile } from "../config/machines.ts";
import type { SourceTree } from "../sources/index.ts";
import { cachePath } from "../util/paths.ts";
import { contentKey } from "../util/hash.ts";
import { ensureDir, exists, FillError, fillFailure, markUsed } from "../util/fsx.ts";
import { ok, type LabError, type Result } from "../util/result.ts";
import { makeArgs } from "./toolchain.ts";
import { uniqueSuffix } from "../util/unique.ts";

export interface UapiHeaders {
  /** INSTALL_HDR_PATH: include/ below it */
  dir: string;
  /** the entry's content key (the reproducers' cache key names it) */
  key: string;
}

export async function uapiHeaders(source: SourceTree, machine: MachineProfile): Promise<Result<UapiHeaders, LabError>> {
  const key = contentKey({ uapi: source.key, arch: machine.kernel_arch });
  const dir = cachePath("headers", `${machine.arch}-${source.version}-${key}`);
  try {
    await ensureDir(dir, () => exists(join(dir, "include", "linux", "mman.h")), async (tmp) => {
      const obj = cachePath("headers", `obj-${uniqueSuffix()}`);
      await mkdir(obj, { recursive: true });
      try {
        const r = await execa("make", ["-s", ...makeArgs(machine, obj), `INSTALL_HDR_PATH=${tmp}`, "headers_install"], { cwd: source.dir, reject: false, all: true });
        if (r.exitCode !== 0) throw new FillError(`make headers_install failed (exit ${r.exitCode})`, String(r.all ?? "").split("\n").slice(-20).join("\n"));
      } finally {
        await execa("rm", ["-rf", obj]);
      }
    });
  } catch (e) {
    return fillFailure("build", e, "installing the UAPI headers failed: ");
  }
  await markUsed(dir);
  return ok({ dir, key: `uapi-${key}` });
}
