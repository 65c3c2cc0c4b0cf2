// A reproducible .tar.gz of a bundle's files: entries sorted, mtimes 0, owner root, modes
// from the files' own execute bits only (not the umask), and a gzip header without a time,
// so the same bundle is the same bytes whoever writes it and when.
import { chmod, mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { gzipSync } from "node:zlib";
import { execa } from "execa";
import type { BundleFile } from "./sources.ts";

export async function tarGz(files: BundleFile[]): Promise<Buffer> {
  const stage = await mkdtemp(join(tmpdir(), "cowlab-bundle-"));
  try {
    for (const f of files) {
      const path = join(stage, f.name);
      await mkdir(dirname(path), { recursive: true });
      await writeFile(path, f.data);
      await chmod(path, f.mode ?? 0o644);
    }
    const top = [...new Set(files.map((f) => f.name.split("/")[0]!))].sort();
    const tar = await execa(
      "tar",
      ["--sort=name", "--mtime=@0", "--owner=0", "--group=0", "--numeric-owner", "--mode=a=rX,u+w", "--format=gnu", "-C", stage, "-cf", "-", "--", ...top],
      { encoding: "buffer", reject: false },
    );
    if (tar.exitCode !== 0) throw new Error(`tar failed (exit ${tar.exitCode}): ${Buffer.from(tar.stderr).toString().trim()}`);
    // zlib's gzip header has no name and mtime 0
    return gzipSync(Buffer.from(tar.stdout), { level: 9 });
  } finally {
    await rm(stage, { recursive: true, force: true });
  }
}
