import { readdir, mkdir, open, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../util/paths.ts";
import { sha256FileCached } from "../util/hash.ts";
import { ensureDir, ensureEntry, exists, FillError, fillFailure, markUsed } from "../util/fsx.ts";
import { uniqueSuffix } from "../util/unique.ts";
import { ok, labError, type Result } from "../util/result.ts";
import { NEEDS } from "../util/disk.ts";
import type { SourceTree } from "./types.ts";

const debDir = (): string => cachePath("debs");

/**
 * Is this file a whole .deb? A deb is an ar archive (debian-binary, control, data); its
 * members' headers give their sizes, so a deb cut short (a full disk, an interrupted copy)
 * is told from a whole one without unpacking it — `dpkg-deb --info` reads only the control
 * member at the front and passes a deb whose data is missing.
 */
export async function debComplete(path: string): Promise<boolean> {
  const fh = await open(path, "r").catch(() => undefined);
  if (!fh) return false;
  try {
    const size = (await fh.stat()).size;
    const magic = Buffer.alloc(8);
    if ((await fh.read(magic, 0, 8, 0)).bytesRead !== 8 || magic.toString("latin1") !== "!<arch>\n") return false;
    let at = 8;
    let members = 0;
    const header = Buffer.alloc(60);
    while (at < size) {
      if ((await fh.read(header, 0, 60, at)).bytesRead !== 60 || header.toString("latin1", 58, 60) !== "`\n") return false;
      const len = Number(header.toString("latin1", 48, 58).trim());
      if (!Number.isInteger(len) || len < 0) return false;
      at += 60 + len + (len % 2);
      members++;
    }
    // a deb has at least debian-binary, control and data; the last member may lack its pad byte
    return members >= 3 && (at === size || at === size + 1);
  } finally {
    await fh.close();
  }
}

/**
 * The .deb for a package in the cache, downloaded with `apt-get download` if missing.
 * A deb cut short, or one dpkg-deb cannot read, is deleted and fetched again. The download lands in a
 * folder of its own and is moved into place whole, under the lock of that package.
 */
export async function ensureDeb(pkg: string, debArch?: string): Promise<Result<string>> {
  const dir = debDir();
  await mkdir(dir, { recursive: true });
  const suffix = debArch ? `_${debArch}.deb` : ".deb";
  const target = debArch ? `${pkg}:${debArch}` : pkg;
  const isOurs = (f: string): boolean => f.startsWith(`${pkg}_`) && f.endsWith(suffix);
  const readable = async (): Promise<string | undefined> => {
    for (const f of (await readdir(dir)).filter(isOurs).sort().reverse()) {
      const path = join(dir, f);
      if ((await debComplete(path)) && (await execa("dpkg-deb", ["--info", path], { reject: false })).exitCode === 0) return path;
      await rm(path, { force: true });
      await rm(`${path}.sha256`, { force: true });
    }
    return undefined;
  };
  let found: string | undefined;
  try {
    // `found` saves checking the deb again when this caller's own check found it valid.
    await ensureEntry(join(dir, target), async () => (found = await readable()) !== undefined, async () => {
      const tmp = join(dir, `.download-${uniqueSuffix()}`);
      await mkdir(tmp);
      try {
        const dl = await execa("apt-get", ["download", target], { cwd: tmp, reject: false, all: true });
        const got = (await readdir(tmp)).filter(isOurs);
        if (dl.exitCode !== 0 || got.length !== 1) throw new FillError(`apt-get download ${target} failed (exit ${dl.exitCode})`, dl.all);
        await rename(join(tmp, got[0]!), join(dir, got[0]!));
      } finally {
        await rm(tmp, { recursive: true, force: true });
      }
    });
  } catch (e) {
    return fillFailure("source", e);
  }
  const path = found ?? (await readable());
  return path ? ok(path) : labError("source", `apt-get download ${target}: no readable .deb in ${dir}`);
}

const STAMP = ".cowlab-source";

/** Unpack linux-source-X.Y (its tarball inside the deb) into a tree keyed by the deb's hash. */
export async function debianSource(pkg: string): Promise<Result<SourceTree>> {
  const deb = await ensureDeb(pkg);
  if (!deb.ok) return deb;
  const digest = await sha256FileCached(deb.value);
  const key = `${pkg}-${digest.slice(0, 12)}`;
  const dir = cachePath("src", key);
  const need = NEEDS.sourceTree((await stat(deb.value)).size);
  try {
    await ensureDir(dir, () => verifiedTree(dir, key), async (tmp) => {
      await execa("sh", ["-c", 'dpkg-deb --fsys-tarfile "$1" | tar -x -C "$2" --wildcards "./usr/src/linux-source-*.tar.*"', "sh", deb.value, tmp]);
      const tarballs = (await readdir(join(tmp, "usr", "src"))).filter((f) => /\.tar\.\w+$/.test(f));
      if (tarballs.length !== 1) throw new Error(`expected one tarball in ${pkg}, found ${tarballs.join(", ") || "none"}`);
      await execa("tar", ["-xf", join(tmp, "usr", "src", tarballs[0]!), "-C", tmp, "--strip-components=1"]);
      await rm(join(tmp, "usr", "src"), { recursive: true, force: true }); // the tarball; the tree has a usr/ of its own
      await writeFile(join(tmp, STAMP), `${key}\n`);
    }, { need });
  } catch (e) {
    return labError("source", `unpacking ${pkg} failed: ${(e as Error).message.split("\n")[0]}`);
  }
  await markUsed(dir);
  const version = await kernelVersion(dir);
  return ok({ dir, key, version, label: `${pkg} (${version})` });
}

/**
 * A tree is trusted only if it finished unpacking under the same key and looks like a
 * kernel (ensureDir also compares its files with the marker written when it was unpacked).
 */
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
