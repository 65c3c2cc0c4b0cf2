// The SSH transport's public shapes: where to connect, what a fault is, what a command
// returned and what a session offers. Kept apart from the code so the runtime and the
// tests can name them without pulling in ssh2.
import type { Result } from "../util/result.ts";

export interface SshEndpoint {
  host: string;
  port: number;
  user: string;
  /** path of a private key file; or use the agent when `agent` is set (SSH_AUTH_SOCK) */
  keyFile?: string;
  agent?: boolean;
  /** known_hosts file the host key is checked against (OpenSSH format) */
  knownHosts: string;
  /** seconds to wait for TCP connect + SSH handshake (default 20) */
  connectTimeoutS?: number;
  /** seconds between SSH keepalives when the peer is silent (default 5); after 3 unanswered the connection is "lost" */
  keepaliveS?: number;
}

export type SshFailureKind =
  | "refused"
  | "timeout"
  | "unreachable"
  | "host-key-unknown"
  | "host-key-changed"
  | "auth"
  | "lost"
  | "no-space"
  | "remote";

export interface SshFailure {
  kind: SshFailureKind;
  /** one line, names host:port and what to do */
  message: string;
  detail?: string;
  /** kind "lost": why the connection went, as the transport saw it ("the server closed the connection") */
  why?: string;
}

export interface ExecResult {
  /** exit status, null when the command was ended by a signal or never reported one */
  code: number | null;
  /** signal name without "SIG" (e.g. "KILL") when the remote command died of a signal */
  signal: string | null;
  stdout: string;
  stderr: string;
  /** the command outlived timeoutS: it was signalled (TERM, then KILL) and its channel closed */
  timedOut: boolean;
  /** the channel closed without an exit status or signal while the connection stayed up */
  lost: boolean;
}

export interface ExecOptions {
  timeoutS?: number;
  onLine?: (line: string) => void;
  stdin?: string;
}

export interface SshSession {
  readonly endpoint: SshEndpoint;
  /** run one shell command; stream stdout line by line; bound by timeoutS (on timeout: close the channel, send a signal, report timedOut) */
  exec(command: string, opts?: ExecOptions): Promise<Result<ExecResult, SshFailure>>;
  /** SFTP upload of a local file; mode e.g. 0o755; a full remote disk is kind "no-space" with a message naming the remote path */
  upload(local: string, remote: string, mode?: number): Promise<Result<void, SshFailure>>;
  /** true while the connection is up; a dropped connection makes pending exec/upload resolve with kind "lost" (never hang) */
  readonly alive: boolean;
  close(): Promise<void>;
}
