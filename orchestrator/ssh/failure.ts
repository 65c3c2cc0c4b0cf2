// Building the transport's typed failures: every message is one line, so the texts that go
// into them (ssh2 errors, commands) are flattened here.
import type { SshFailure, SshFailureKind } from "./types.ts";

/** What node's fs/net and ssh2 attach to their errors. */
export interface SysError extends Error {
  code?: string | number;
  level?: string;
}

/** An SshFailure; an empty detail is left out rather than shown as nothing. */
export const fail = (kind: SshFailureKind, message: string, detail?: string): SshFailure =>
  detail === undefined || detail === "" ? { kind, message } : { kind, message, detail };

export const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();

/** The errno-style code of a failed local file operation, or its message when it has none. */
export const codeOrMessage = (e: unknown): string | number => (e as SysError).code ?? (e as Error).message;
