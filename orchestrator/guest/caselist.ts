// Every case of every reproducer, known on the host before any guest boots: the programs are
// built for the host's own arch (against the host's UAPI headers) and asked to --list their
// cases, the way kunit.py asks a kernel with kunit.action=list. Case names are fixed in the
// programs (test × memory type), not discovered at run time, so the host's list is the guest's.
import { arch as hostNodeArch } from "node:process";
import { execa } from "execa";
import { join } from "node:path";
import { readFile } from "node:fs/promises";
import { loadMachine, type Arch } from "../config/machines.ts";
import type { Testcase } from "../config/testcases.ts";
import { sha256 } from "../util/hash.ts";
import { ok, labError, LabFailure, type Result } from "../util/result.ts";
import { buildReproducers } from "./reproducers.ts";

/** testcase id → its case names, in the order the program runs them */
export type CaseTable = Record<string, string[]>;

const HOST_ARCH: Record<string, Arch> = { x64: "x86_64", arm64: "arm64" };

export interface HostCases {
  table: CaseTable;
  /** the host-arch programs the table was listed from */
  dir: string;
}

export async function caseTable(testcases: Testcase[]): Promise<Result<HostCases>> {
  const arch = HOST_ARCH[hostNodeArch];
  if (!arch) return labError("guest", `cannot list cases on a ${hostNodeArch} host (cowlab knows x86_64 and arm64)`);
  // The host's own compiler, whatever the guest profile of this arch cross-compiles with.
  const machine = { ...(await loadMachine(arch)), cc: "gcc" };
  const headers = await readFile("/usr/include/linux/version.h", "utf8").catch(() => "");
  const built = await buildReproducers(machine, "/usr", `host-usr-include-${sha256(headers).slice(0, 12)}`, testcases);
  if (!built.ok) return labError("guest", `building the reproducers for the host, to list their cases, failed: ${built.error.message}`, built.error.detail);
  const table: CaseTable = {};
  for (const t of testcases) {
    const r = await execa(join(built.value, t.id), ["--list"], { reject: false, timeout: 10_000, env: { KTAP_FILTER_GLOB: "" } });
    const names = r.stdout.split("\n").filter(Boolean);
    if (r.exitCode !== 0 || !names.length) return labError("guest", `${t.id} --list failed (exit ${r.exitCode})`, r.stderr);
    table[t.id] = names;
  }
  return ok({ table, dir: built.value });
}

/** The case table a command cannot go on without: a failure ends the command (exit 2). */
export async function requireCaseTable(testcases: Testcase[]): Promise<HostCases> {
  const t = await caseTable(testcases);
  if (!t.ok) throw new LabFailure(`${t.error.message}${t.error.detail ? `\n${t.error.detail}` : ""}`);
  return t.value;
}
