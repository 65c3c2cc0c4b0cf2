import { join } from "node:path";
import { execa } from "execa";
import { ensureDeb } from "../sources/debian.ts";
import { cachePath } from "../util/paths.ts";
import { sha256FileCached } from "../util/hash.ts";
import { ensureDir, exists } from "../util/fsx.ts";
import { ok, labError, type Result } from "../util/result.ts";

/** Debian's static busybox for the guest's arch, unpacked from its deb (never installed). */
export async function busyboxFor(debArch: string): Promise<Result<string>> {
  const deb = await ensureDeb("busybox-static", debArch);
  if (!deb.ok) return deb;
  const dir = cachePath("busybox", `${debArch}-${(await sha256FileCached(deb.value)).slice(0, 12)}`);
  const bin = join(dir, "bin", "busybox");
  try {
    await ensureDir(dir, () => exists(bin), async (tmp) => {
      await execa("dpkg-deb", ["-x", deb.value, tmp]);
    });
  } catch (e) {
    return labError("guest", `unpacking busybox-static:${debArch} failed: ${(e as Error).message}`);
  }
  return ok(bin);
}
