// Where a run's guests run, as data: guests/targets/NAME.yaml (or $COWLAB_TARGETS_DIR/NAME.yaml).
// A target is either the lab's own Debian rootfs booted under QEMU (reached by SSH through a
// hostfwd port, with keys the lab makes) or a real machine reached by SSH. A target file names
// where a secret lives (a key file, an environment variable holding its path, the SSH agent),
// never the secret itself: a private key pasted into the file is rejected.
import { readFile, readdir } from "node:fs/promises";
import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { join, resolve } from "node:path";
import { LineCounter, parseDocument, isNode } from "yaml";
import { z } from "zod";
import { parseYaml, shown } from "./yaml.ts";
import { repoPath } from "../util/paths.ts";
import { InputError, err, ok, type Result } from "../util/result.ts";

/** The targets' folder: guests/targets/, or $COWLAB_TARGETS_DIR (a developer's own machines, the tests' broken files). */
export const targetsDir = (): string => (process.env.COWLAB_TARGETS_DIR ? resolve(process.env.COWLAB_TARGETS_DIR) : repoPath("guests", "targets"));

const Arch = z.enum(["x86_64", "arm64"], { error: "must be x86_64 or arm64" });

/** An absolute path, or one under the home directory of whoever runs cowlab ("~/..."). */
const HostPath = z.string().refine((p) => p.startsWith("/") || p.startsWith("~/"), { error: "must be an absolute path or start with ~/" });
/** An absolute path on the target. */
const RemotePath = z.string().refine((p) => p.startsWith("/"), { error: "must be an absolute path on the target" });

/**
 * What the lab may change on the target before the programs run, each restored afterwards.
 * `keep` (and zram `none`) changes nothing: the default, so a real machine is left alone
 * unless its file asks.
 */
const ZRAM_SIZE = "must be a size like 256M (K, M or G) or none";
export const TargetSetup = z.strictObject({
  /** /sys/kernel/mm/transparent_hugepage/enabled */
  thp: z.enum(["always", "madvise", "never", "keep"], { error: "must be always, madvise, never or keep" }).default("keep"),
  /** /proc/sys/vm/nr_hugepages (default-size hugetlb pages) */
  hugepages: z.union([z.number().int().nonnegative(), z.literal("keep")], { error: "must be a number of pages (0 or more) or keep" }).default("keep"),
  /** swap on a zram device of this size (e.g. 256M), or none */
  zram: z
    .string({ error: ZRAM_SIZE })
    .regex(/^(?:[1-9]\d*[KMG]?|none)$/, { error: ZRAM_SIZE })
    .default("none"),
});
export type TargetSetup = z.infer<typeof TargetSetup>;
const NO_SETUP: TargetSetup = { thp: "keep", hugepages: "keep", zram: "none" };

const HOST_LABEL = "[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?";
const HOSTNAME = new RegExp(`^${HOST_LABEL}(?:\\.${HOST_LABEL})*\\.?$`);
const addressProblem = (a: string): string | undefined => {
  if (isIP(a)) return undefined;
  if (a.includes("@")) return `'${a}' is not a host: give the user as user:`;
  if (/^[\d.]+$/.test(a)) return `'${a}' is not an IPv4 address`;
  if (a.length > 253 || !HOSTNAME.test(a)) return `'${a}' is not a host name or an IP address`;
  return undefined;
};

/** Where the SSH private key lives: exactly one of a file, an environment variable naming the file, the agent. */
const Credentials = z
  .strictObject({
    key_file: HostPath.optional(),
    key_file_env: z
      .string()
      .refine((v) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(v), { error: "must be the name of an environment variable (that holds the key file's path), e.g. COWLAB_SSH_KEY" })
      .optional(),
    agent: z.literal(true, { error: "must be true (the key is in the SSH agent, SSH_AUTH_SOCK)" }).optional(),
  })
  .superRefine((c, ctx) => {
    const given = (["key_file", "key_file_env", "agent"] as const).filter((k) => c[k] !== undefined);
    if (!given.length) ctx.addIssue({ code: "custom", message: "give one of key_file (a path), key_file_env (a variable holding the path) or agent: true" });
    if (given.length > 1) ctx.addIssue({ code: "custom", path: [given[1]!], message: `only one of key_file, key_file_env, agent may be given (${given[0]} is given too)` });
  });

const Install = z.strictObject({
  /** kexec: load the built kernel and jump to it; reboot: install it as the next boot's kernel and reboot */
  method: z.enum(["kexec", "reboot"], { error: "must be kexec or reboot" }),
  boot_timeout_s: z.number().int().positive().default(300),
  /** where the kernel image goes on the target */
  image_path: RemotePath.default("/boot/vmlinuz-cowlab"),
});

export const RootfsTargetSpec = z.strictObject({
  kind: z.literal("qemu-rootfs"),
  arch: Arch,
  memory_mb: z.number().int().min(128).optional(),
  setup: TargetSetup.default(NO_SETUP),
});

export const SshTargetSpec = z.strictObject({
  kind: z.literal("ssh"),
  arch: Arch,
  address: z.string().superRefine((a, ctx) => {
    const bad = addressProblem(a);
    if (bad) ctx.addIssue({ code: "custom", message: bad });
  }),
  port: z.number({ error: "must be a TCP port number (1-65535)" }).int().min(1, { error: "must be a TCP port number (1-65535)" }).max(65535, { error: "must be a TCP port number (1-65535)" }).default(22),
  user: z
    .string()
    .regex(/^[a-z_][a-z0-9_.-]*\$?$/i, { error: "must be a user name" })
    .default("root"),
  credentials: Credentials,
  known_hosts: HostPath.default("~/.ssh/known_hosts"),
  /** the parent folder of the run's private temporary folder on the target */
  tmp: RemotePath.default("/tmp"),
  connect_timeout_s: z.number().int().positive().default(20),
  setup: TargetSetup.default(NO_SETUP),
  /** how `cowlab run --install` may put a built kernel on the machine (absent: it may not) */
  install: Install.optional(),
});

export const TargetSpec = z.discriminatedUnion("kind", [RootfsTargetSpec, SshTargetSpec], { error: "must be qemu-rootfs or ssh" });

/** A target as loaded: its file's fields, its name (the file name) and the file. */
interface Named {
  name: string;
  /** absolute path of the target's file */
  file: string;
}
export type RootfsTarget = z.infer<typeof RootfsTargetSpec> & Named;
export type SshTarget = z.infer<typeof SshTargetSpec> & Named;
export type Target = RootfsTarget | SshTarget;

const SECRET_FIELD = /pass(word|phrase)|secret|private_?key|^key$/i;
const INLINE_KEY = "-----BEGIN";

/** The path of the first string (or field name) that holds an inline PEM/OpenSSH key, if any. */
function inlineKey(v: unknown, path: (string | number)[]): (string | number)[] | undefined {
  if (typeof v === "string") return v.includes(INLINE_KEY) ? path : undefined;
  if (Array.isArray(v)) {
    for (const [i, x] of v.entries()) {
      const hit = inlineKey(x, [...path, i]);
      if (hit) return hit;
    }
  } else if (v && typeof v === "object") {
    for (const [k, x] of Object.entries(v)) {
      const hit = inlineKey(x, [...path, k]);
      if (hit) return hit;
    }
  }
  return undefined;
}

/**
 * The target schema with the messages a hand-edited file needs: an inline key is named as
 * such (before any other problem), an unknown field is named by its own path (so the error
 * points at its line), and a missing field says it is required.
 */
const TargetFile = z.unknown().transform((input, ctx): z.infer<typeof TargetSpec> => {
  const key = inlineKey(input, []);
  if (key) {
    ctx.addIssue({
      code: "custom",
      path: key,
      message: "looks like an inline private key: a target file names where the key is, never the key (credentials: key_file: PATH, key_file_env: VAR or agent: true)",
    });
    return z.NEVER;
  }
  const r = TargetSpec.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  if (issue.code === "unrecognized_keys") {
    const k = issue.keys[0]!;
    const why = SECRET_FIELD.test(k)
      ? "unknown field: a target file holds no secrets (credentials: key_file: PATH, key_file_env: VAR or agent: true)"
      : "unknown field";
    ctx.addIssue({ code: "custom", path: [...issue.path, k], message: why });
  } else if (issue.code === "invalid_type" && / received undefined$/.test(issue.message)) {
    ctx.addIssue({ code: "custom", path: issue.path, message: `required (${issue.expected})` });
  } else {
    ctx.addIssue({ code: "custom", path: issue.path, message: issue.message });
  }
  return z.NEVER;
});

const NAME = /^[\w.-]+$/;

async function targetNames(dir: string): Promise<string[]> {
  const files = await readdir(dir).catch((e: Error) => {
    throw new InputError(shown(dir), `cannot read the targets: ${e.message}`);
  });
  return files
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -".yaml".length))
    .sort();
}

async function loadTargetFile(file: string, name: string): Promise<Target> {
  let text: string;
  try {
    text = await readFile(file, "utf8");
  } catch (e) {
    throw new InputError(shown(file), `cannot read: ${(e as Error).message}`);
  }
  return { ...parseYaml(text, file, TargetFile), name, file };
}

/** The target NAME (guests/targets/NAME.yaml, or in $COWLAB_TARGETS_DIR). */
export async function loadTarget(name: string): Promise<Target> {
  const dir = targetsDir();
  const names = await targetNames(dir);
  if (!NAME.test(name) || !names.includes(name)) {
    throw new InputError(shown(dir), `no target '${name}' (no ${name}.yaml here; known: ${names.join(", ") || "none"})`);
  }
  return loadTargetFile(join(dir, `${name}.yaml`), name);
}

/** Every target of the folder, by name. */
export async function listTargets(): Promise<Target[]> {
  const dir = targetsDir();
  const out: Target[] = [];
  for (const name of await targetNames(dir)) out.push(await loadTargetFile(join(dir, `${name}.yaml`), name));
  return out;
}

/** A path with a leading "~/" (or a lone "~") under the home directory (HOME of env, else the user's). */
export function expandHome(path: string, env: NodeJS.ProcessEnv = process.env): string {
  const home = env.HOME || homedir();
  if (path === "~") return home;
  return path.startsWith("~/") ? join(home, path.slice(2)) : path;
}

/** "FILE:LINE" of a field of a target file (its deepest existing node); the file alone if it cannot be read. */
function located(file: string, path: string[]): string {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return shown(file);
  }
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter });
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return `${shown(file)}:${lineCounter.linePos(node.range[0]).line}`;
  }
  return `${shown(file)}:1`;
}

const keyFileProblem = (path: string): string | undefined => {
  try {
    return statSync(path).isFile() ? undefined : `${path} is not a file`;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT" ? `${path} does not exist` : `cannot read ${path}: ${(e as Error).message}`;
  }
};

/**
 * The SSH credentials of a target, as the SSH runtime uses them: the key file's path (with
 * "~/" expanded, or read from the environment variable key_file_env names), or the agent.
 * An error is one line "FILE:LINE: credentials.FIELD: what is wrong".
 */
export function resolveCredentials(t: SshTarget, env: NodeJS.ProcessEnv = process.env): Result<{ keyFile?: string; agent?: boolean }, string> {
  const c = t.credentials;
  const fail = (field: string, what: string) => err(`${located(t.file, ["credentials", field])}: credentials.${field}: ${what}`);
  if (c.agent) {
    if (!env.SSH_AUTH_SOCK) return fail("agent", "SSH_AUTH_SOCK is not set (start ssh-agent and ssh-add the key, or give key_file)");
    return ok({ agent: true });
  }
  if (c.key_file_env !== undefined) {
    const value = env[c.key_file_env];
    if (!value) return fail("key_file_env", `environment variable ${c.key_file_env} is not set (it should hold the path of the private key file)`);
    if (value.includes(INLINE_KEY)) return fail("key_file_env", `${c.key_file_env} holds a key, not the path of a key file`);
    const path = resolve(expandHome(value, env));
    const bad = keyFileProblem(path);
    return bad ? fail("key_file_env", `${bad} (from ${c.key_file_env})`) : ok({ keyFile: path });
  }
  if (c.key_file !== undefined) {
    const path = expandHome(c.key_file, env);
    const bad = keyFileProblem(path);
    return bad ? fail("key_file", bad) : ok({ keyFile: path });
  }
  return err(`${located(t.file, ["credentials"])}: credentials: none given`); // the schema requires one
}
