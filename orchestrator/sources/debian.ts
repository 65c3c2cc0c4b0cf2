import { readdir, mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../util/paths.ts";
import { sha256FileCached } from "../util/hash.ts";
import { buildDirAtomic, exists, markUsed } from "../util/fsx.ts";
import { ok, labError, type Result } from "../util/result.ts";
import type { SourceTree } from "./types.ts";

const debDir = (): string => cachePath("debs");

/**
 * The .deb for a package in the cache, downloaded with `apt-get download` if missing.
 * A deb that dpkg-deb cannot read is deleted and fetched again.
 */
export async function ensureDeb(pkg: string, debArch?: string): Promise<Result<string>> {
  const dir = debDir();
  await mkdir(dir, { recursive: true });
  const suffix = debArch ? `_${debArch}.deb` : ".deb";
  const find = async () => (await readdir(dir)).filter((f) => f.startsWith(`${pkg}_`) && f.endsWith(suffix)).sort();
  for (const f of await find()) {
    const path = join(dir, f);
    const check = await execa("dpkg-deb", ["--info", path], { reject: false });
    if (check.exitCode === 0) return ok(path);
    await execa("rm", ["-f", path, `${path}.sha256`]);
  }
  const target = debArch ? `${pkg}:${debArch}` : pkg;
  const dl = await execa("apt-get", ["download", target], { cwd: dir, reject: false, all: true });
  const got = await find();
  if (dl.exitCode !== 0 || !got.length) {
    return labError("source", `apt-get download ${target} failed (exit ${dl.exitCode})`, dl.all);
  }
  return ok(join(dir, got[got.length - 1]!));
}

const STAMP = ".cowlab-source";

/** Unpack linux-source-X.Y (its tarball inside the deb) into a tree keyed by the deb's hash. */
export async function debianSource(pkg: string): Promise<Result<SourceTree>> {
  const deb = await ensureDeb(pkg);
  if (!deb.ok) return deb;
  const digest = await sha256FileCached(deb.value);
  const key = `${pkg}-${digest.slice(0, 12)}`;
  const dir = cachePath("src", key);
  if (!(await verifiedTree(dir, key))) {
    try {
      await buildDirAtomic(dir, async (tmp) => {
        await execa("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./usr/src/linux-source-*.tar.*"', "sh", deb.value, tmp]);
        const tarballs = (await readdir(join(tmp, "usr", "src"))).filter((f) => /\.tar\.\w+$/.test(f));
        if (tarballs.length !== 1) throw new Error(`expected one tarball in ${pkg}, found ${tarballs.join(", ") || "none"}`);
        await execa("tar", ["-xf", join(tmp, "usr", "src", tarballs[0]!), "-C", tmp, "--strip-components=1"]);
        await execa("rm", ["-rf", join(tmp, "usr", "src")]);
        await execa("sh", ["-c", `printf '%s\\n' "$1" > "$2"`, "sh", key, join(tmp, STAMP)]);
      });
    } catch (e) {
      return labError("source", `unpacking ${pkg} failed: ${(e as Error).message.split("\n")[0]}`);
    }
  }
  await markUsed(dir);
  const version = await kernelVersion(dir);
  return ok({ dir, key, version, label: `${pkg} (${version})` });
}

/** A tree is trusted only if it finished unpacking under the same key and looks like a kernel. */
async function verifiedTree(dir: string, key: string): Promise<boolean> {
  try {
    const stamp = (await readFile(join(dir, STAMP), "utf8")).trim();
    return stamp === key && (await exists(join(dir, "Makefile"))) && (await exists(join(dir, "mm", "memory.c")));
  } catch {
    return false;
  }
}

export async function kernelVersion(dir: string): Promise<string> {
  const r = await execa("make", ["-s", "-C", dir, "kernelversion"], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : "unknown";
}
