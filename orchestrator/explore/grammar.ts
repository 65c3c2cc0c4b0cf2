// The explorer's grammar as data (testcases/explore/grammar.yaml): memory types, pin
// mechanisms and operations with their well-formedness conditions. The op *names* are fixed
// here because the model gives each one a meaning; everything else (which args, which
// processes, which conditions, which memory types allow it) is data a reviewer can read and
// widen without touching code.
import { z } from "zod";
import { loadYaml, parseYaml, yamlLocation } from "../config/yaml.ts";
import { repoPath } from "../util/paths.ts";
import { InputError } from "../util/result.ts";

export const PROCS = ["parent", "child", "child2"] as const;
export type Proc = (typeof PROCS)[number];
export const ACTORS = [...PROCS, "pin"] as const;
export type Actor = (typeof ACTORS)[number];

export const OP_NAMES = [
  "read", "write", "fork", "fork2", "pin", "unpin", "mprotect", "pageout", "migrate", "split",
  "collapse", "dontfork", "dofork", "wipeonfork", "mremap", "ksm", "munmap", "exit", "softdirty",
] as const;
export type OpName = (typeof OP_NAMES)[number];

export const CAPS = ["swap", "migrate", "split", "collapse", "ksm", "mremap"] as const;
export type Cap = (typeof CAPS)[number];

export const CONDITIONS = [
  "subject-alive", "subject-mapped", "subject-writable", "not-pin-owner", "pin-writable",
  "pinned", "unpinned", "child-unforked", "child-forked", "child2-unforked", "cap", "mechanism",
] as const;
export type Condition = (typeof CONDITIONS)[number];

export const NOOP_RULES = [
  "prot-same", "dontfork-set", "dontfork-clear", "wipeonfork-set", "split", "not-split", "merge-same", "repeat",
] as const;
export type NoopRule = (typeof NOOP_RULES)[number];

/** A size as the kernel's sysfs names spell it, in the line: 64k, 2M, 1G. */
const Size = z.string().regex(/^[1-9][0-9]*[kMG]$/, "a size like 64k, 2M or 1G");

const MemoryType = z.strictObject({
  summary: z.string(),
  caps: z.array(z.enum(CAPS)).default([]),
  /** sizes the line may name (`mthp:64k`); absent: the type takes no size */
  sizes: z.array(Size).min(1).optional(),
  /** sizes the generator enumerates (default: the first of `sizes`) */
  explore: z.array(Size).min(1).optional(),
  /** the region starts PTE-mapped (split) rather than PMD-mapped */
  split: z.boolean().default(false),
  /** the region starts swapped out */
  swapped: z.boolean().default(false),
  /** the region starts KSM-merged */
  merged: z.boolean().default(false),
  /** what a read sees before any write: the pattern, or zeroes (the shared zeropage) */
  initial: z.enum(["pattern", "zero"]).default("pattern"),
  /** whether the region is anonymous memory before the first write (false: page cache or zeropage) */
  anon: z.boolean().default(true),
  /**
   * the mapping has a file behind it (memfd, shmem, hugetlbfs): MADV_WIPEONFORK is refused
   * with EINVAL there (mm/madvise.c: "only supported on anonymous memory", vm_file set)
   */
  file_backed: z.boolean().default(false),
  /** simpler memory the shrinker tries in its place, simplest first (a type, or type:size) */
  simpler: z.array(z.string()).default([]),
});
export type MemoryType = z.infer<typeof MemoryType>;

const Mechanism = z.strictObject({
  summary: z.string(),
  access: z.array(z.enum(["read", "write"])).min(1),
  /** FOLL_LONGTERM pin: coherent with the pinning process's mapping until unpin */
  longterm: z.boolean(),
  /** GUP happens at each access (O_DIRECT), not once at pin time */
  at_access: z.boolean().default(false),
  flavour_of: z.string().optional(),
  requires: z.array(z.enum(CONDITIONS)).default([]),
  /** why the generator leaves this mechanism out (a line may still name it); absent: explored */
  not_explored: z.string().optional(),
});
export type Mechanism = z.infer<typeof Mechanism>;

const OpSpec = z.strictObject({
  name: z.enum(OP_NAMES),
  summary: z.string(),
  /** whose state the conditions look at: the arg (read/write/exit), the @process, or nobody */
  subject: z.enum(["arg", "at", "none"]).default("none"),
  /** allowed args, or "$mechanisms" for every mechanism name */
  args: z.union([z.array(z.string().regex(/^[a-z0-9-]+$/)).min(1), z.literal("$mechanisms")]).optional(),
  /** processes the op may run in (`@child`); the first is the default and is never written */
  at: z.array(z.enum(PROCS)).min(1).optional(),
  cap: z.enum(CAPS).optional(),
  requires: z.array(z.enum(CONDITIONS)).default([]),
  observes: z.boolean().default(false),
  noop_when: z.array(z.enum(NOOP_RULES)).default([]),
  /** the op only matters if one of these ops follows it (else the generator drops the scenario) */
  needs_later: z.array(z.enum(OP_NAMES)).default([]),
});
export type OpSpec = z.infer<typeof OpSpec>;

export const GrammarFile = z.strictObject({
  version: z.literal(1),
  memory: z.record(z.string().regex(/^[a-z0-9-]+$/), MemoryType),
  mechanisms: z.record(z.string().regex(/^[a-z0-9-]+$/), Mechanism),
  ops: z.array(OpSpec).min(1),
});
export type GrammarFile = z.infer<typeof GrammarFile>;

/** The grammar with args resolved ($mechanisms) and ops indexed by name. */
export interface Grammar {
  file: string;
  memory: Record<string, MemoryType>;
  mechanisms: Record<string, Mechanism>;
  ops: Map<OpName, ResolvedOp>;
}

/** An op spec with `$mechanisms` replaced by the mechanism names. */
export type ResolvedOp = Omit<OpSpec, "args"> & { args?: string[] };

export const defaultGrammarPath = (): string => repoPath("testcases", "explore", "grammar.yaml");

export async function loadGrammar(file = defaultGrammarPath()): Promise<Grammar> {
  const data = await loadYaml(file, GrammarFile);
  return resolveGrammar(data, file, await crossCheckLocation(file, data));
}

export function parseGrammar(text: string, file: string): Grammar {
  const data = parseYaml(text, file, GrammarFile);
  // Cross-field errors from text are located by the caller's file name only (no re-read).
  return resolveGrammar(data, file, null);
}

type Located = { where: string; message: string } | null;

/** Cross-field checks zod cannot express per field; located to a line when the file is on disk. */
async function crossCheckLocation(file: string, data: GrammarFile): Promise<Located> {
  const problem = crossCheck(data);
  if (!problem) return null;
  return { where: await yamlLocation(file, problem.path), message: problem.message };
}

function crossCheck(data: GrammarFile): { path: (string | number)[]; message: string } | null {
  const seen = new Set<string>();
  for (const [i, op] of data.ops.entries()) {
    if (seen.has(op.name)) return { path: ["ops", i, "name"], message: `ops.${i}.name: '${op.name}' is defined twice` };
    seen.add(op.name);
    if (op.requires.includes("cap") && !op.cap) return { path: ["ops", i, "requires"], message: `ops.${i}.requires: 'cap' needs a cap field` };
    if (op.subject === "at" && !op.at) return { path: ["ops", i, "subject"], message: `ops.${i}.subject: 'at' needs an at list` };
    if (op.subject === "arg" && !op.args) return { path: ["ops", i, "subject"], message: `ops.${i}.subject: 'arg' needs an args list` };
  }
  for (const [name, t] of Object.entries(data.memory)) {
    for (const s of t.explore ?? []) {
      if (!t.sizes?.includes(s)) return { path: ["memory", name, "explore"], message: `memory.${name}.explore: '${s}' is not in sizes` };
    }
  }
  for (const [name, m] of Object.entries(data.mechanisms)) {
    if (m.flavour_of && !data.mechanisms[m.flavour_of]) {
      return { path: ["mechanisms", name, "flavour_of"], message: `mechanisms.${name}.flavour_of: no mechanism '${m.flavour_of}'` };
    }
  }
  for (const needed of ["read", "write"] as const) {
    if (!seen.has(needed)) return { path: ["ops"], message: `ops: the grammar must define '${needed}'` };
  }
  return null;
}

function resolveGrammar(data: GrammarFile, file: string, located: Located): Grammar {
  if (located) throw new InputError(located.where, located.message);
  const problem = crossCheck(data);
  if (problem) throw new InputError(file, problem.message);
  const ops = new Map<OpName, ResolvedOp>();
  for (const { args: raw, ...op } of data.ops) {
    const args = raw === "$mechanisms" ? Object.keys(data.mechanisms) : raw;
    ops.set(op.name, { ...op, ...(args ? { args } : {}) });
  }
  return { file, memory: data.memory, mechanisms: data.mechanisms, ops };
}
