// Debian's b4 (`b4 am`) turns a thread into an mbox ready for `git am`: it picks the newest
// revision of the series, orders its patches, and adds the trailers (Reviewed-by, Tested-by,
// Acked-by, ...) that reviewers sent as replies. cowlab runs it, either against lore or
// against a local mbox (`-m`), so both paths do the same thread selection and trailer work.
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { ok, err, type Result } from "../util/result.ts";

/**
 * The `b4 am` options cowlab always passes (part of the cache key): -C leaves b4's own
 * cache out (cowlab's cache is the one that decides when a thread is fetched again).
 */
export const B4_AM_OPTIONS = ["-C"] as const;

export interface B4Request {
  msgid: string;
  /** read the thread from this mbox instead of lore (b4 am -m; b4 runs in offline mode) */
  localMbox?: string;
  /** folder b4 writes NAME.mbx (and NAME.cover) into; it must exist */
  outDir: string;
}

export interface Trailer {
  /** the patch's subject as b4 lists it ("[PATCH 2/3] mm/memory: ...") */
  patch: string;
  /** "Reviewed-by: Name <email>" */
  trailer: string;
}

export interface B4Output {
  /** the .mbx b4 wrote (patches in order, trailers added) */
  mbx: string;
  /** the .cover b4 wrote, when the series has a cover letter */
  cover?: string;
  /** trailers b4 added from follow-up messages, per patch */
  trailers: Trailer[];
  /** what b4 says the series applies to ("not specified" unless base-commit: is given) */
  base?: string;
  /** b4's own output */
  log: string;
}

export type B4FailureKind = "missing" | "network" | "not-found" | "failed";
export interface B4Failure {
  kind: B4FailureKind;
  message: string;
  log: string;
}

/** The command line for one request (global options before the subcommand). */
export function b4AmArgs(req: B4Request): string[] {
  const offline = req.localMbox ? ["--offline-mode"] : [];
  const source = req.localMbox ? ["-m", req.localMbox] : [];
  return ["-n", ...offline, "am", ...B4_AM_OPTIONS, ...source, "-o", req.outDir, req.msgid];
}

/** Signs in b4's output (a Python traceback from requests/urllib3) that lore could not be reached at all. */
const NETWORK = /ConnectionError|ProxyError|NewConnectionError|NameResolutionError|Temporary failure in name resolution|Name or service not known|Network is unreachable|Max retries exceeded|timed out/;
const NOT_FOUND = /Could not find \S+ in|does not exist|That message-id is not known|No messages found|No patches found|Could not find any patches/;

/** What a failed (or empty) b4 run means, from its output. */
export function classifyB4Failure(log: string): B4Failure {
  const lines = log.split("\n").map((l) => l.trim()).filter(Boolean);
  if (NETWORK.test(log)) return { kind: "network", message: "b4 could not reach lore.kernel.org (no network here?)", log };
  const said = lines.filter((l) => NOT_FOUND.test(l)).at(-1);
  if (said) return { kind: "not-found", message: `b4 am: ${said.replace(/^CRITICAL:\s*/, "")}`, log };
  const last = lines.filter((l) => !/^(Running in OFFLINE mode|---)$/.test(l)).at(-1) ?? "no output";
  return { kind: "failed", message: `b4 am failed: ${last.replace(/^CRITICAL:\s*/, "")}`, log };
}

/** The trailers b4 lists under each patch ("  [PATCH 2/3] ..." then "    + Reviewed-by: ..."). */
export function trailersIn(log: string): Trailer[] {
  const out: Trailer[] = [];
  let patch = "";
  for (const line of log.split("\n")) {
    const p = /^ {2}(\[.*\].*)$/.exec(line);
    if (p) patch = p[1]!.trim();
    const t = /^ {4}\+ ([A-Za-z][\w-]*: .*)$/.exec(line);
    if (t && patch) out.push({ patch, trailer: t[1]!.trim() });
  }
  return out;
}

/** A thread of a few hundred messages downloads in seconds; minutes mean a network that drops packets. */
const B4_TIMEOUT_MS = 300_000;

export async function b4Am(req: B4Request): Promise<Result<B4Output, B4Failure>> {
  // Run in the output folder: b4 reads git config from its working directory, and a
  // checkout's b4.* settings must not change what the lab fetches.
  const r = await execa("b4", b4AmArgs(req), { cwd: req.outDir, reject: false, all: true, stdin: "ignore", timeout: B4_TIMEOUT_MS });
  const log = r.all ?? "";
  if ((r as { code?: string }).code === "ENOENT") return err({ kind: "missing", message: "b4 is not installed (apt-get install b4; scripts/setup.sh installs it)", log });
  if (r.timedOut) return err({ kind: "network", message: `b4 am got no answer from lore.kernel.org in ${B4_TIMEOUT_MS / 1000} s`, log });
  const files = await readdir(req.outDir).catch(() => [] as string[]);
  const mbx = files.find((f) => f.endsWith(".mbx"));
  if (r.exitCode !== 0 || !mbx) return err(classifyB4Failure(log));
  const cover = files.find((f) => f.endsWith(".cover"));
  const base = /^\s*Base: (.*)$/m.exec(log)?.[1]?.trim();
  return ok({ mbx: join(req.outDir, mbx), ...(cover ? { cover: join(req.outDir, cover) } : {}), trailers: trailersIn(log), ...(base ? { base } : {}), log });
}
