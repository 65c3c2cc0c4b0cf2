import { execa } from "execa";
import type { MachineProfile } from "../config/machines.ts";

const seen = new Map<string, string>();

/** First line of `CC --version`: part of every build key, so a compiler upgrade rebuilds. */
export async function compilerVersion(cc: string): Promise<string> {
  const hit = seen.get(cc);
  if (hit) return hit;
  const r = await execa(cc, ["--version"], { reject: false });
  const v = r.exitCode === 0 ? r.stdout.split("\n")[0]!.trim() : `${cc} (missing)`;
  seen.set(cc, v);
  return v;
}

export const kernelCompiler = (m: MachineProfile): string => `${m.cross_compile}gcc`;

export function makeArgs(m: MachineProfile, objDir: string): string[] {
  const args = [`O=${objDir}`, `ARCH=${m.kernel_arch}`];
  if (m.cross_compile) args.push(`CROSS_COMPILE=${m.cross_compile}`);
  return args;
}
