// A lab cache for one bench measurement that shares only the sources with the lab's own
// (downloaded debs and their unpacked trees: "sources already downloaded"), so every build,
// reproducer and initramfs is paid again, and nothing it builds is seen by other runs.
import { mkdir, symlink } from "node:fs/promises";
import { join } from "node:path";
import { cachePath } from "../orchestrator/util/paths.ts";

/** Make DIR such a cache; run the lab with COWLAB_CACHE=DIR. */
export async function freshCache(dir: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  for (const shared of ["debs", "src"]) await symlink(cachePath(shared), join(dir, shared));
  return dir;
}
