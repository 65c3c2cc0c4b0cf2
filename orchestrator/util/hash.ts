import { createHash } from "node:crypto";
import { createReadStream } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { writeFileAtomic } from "./fsx.ts";

export const sha256 = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** A cache key from named parts; the names keep two different layouts from colliding. */
export function contentKey(parts: Record<string, string | string[]>): string {
  const canonical = Object.keys(parts)
    .sort()
    .map((k) => {
      const v = parts[k];
      return `${k}=${Array.isArray(v) ? v.join("\u0000") : v}`;
    })
    .join("\n");
  return sha256(canonical).slice(0, 16);
}

export async function sha256File(path: string): Promise<string> {
  const h = createHash("sha256");
  for await (const chunk of createReadStream(path)) h.update(chunk as Buffer);
  return h.digest("hex");
}

/** sha256 of a large file, remembered in a sidecar keyed by size and mtime. */
export async function sha256FileCached(path: string): Promise<string> {
  const st = await stat(path);
  const sidecar = `${path}.sha256`;
  const tag = `${st.size}:${st.mtimeMs}`;
  try {
    const [savedTag, digest] = (await readFile(sidecar, "utf8")).trim().split(" ");
    if (savedTag === tag && digest) return digest;
  } catch {
    /* no sidecar yet */
  }
  const digest = await sha256File(path);
  // Two jobs may hash the same file at once; a sidecar that cannot be written (a full disk)
  // only costs hashing again next time.
  await writeFileAtomic(sidecar, `${tag} ${digest}\n`).catch(() => undefined);
  return digest;
}
