// The SSH transport on top of the npm package ssh2: connect (host key checked against an
// OpenSSH known_hosts file, key-file or agent auth), exec with streamed lines and a bound,
// SFTP upload. Every fault is a typed SshFailure with a one-line message that names
// host:port and what to do; nothing throws past this module, and a dropped connection
// resolves whatever is pending with kind "lost" instead of hanging.
import { readFile, stat } from "node:fs/promises";
import { posix } from "node:path";
import { StringDecoder } from "node:string_decoder";
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from "ssh2";
import { type Result, err, ok } from "../util/result.ts";
import { checkHostKey, fingerprint, keyTypeOfBlob } from "./known-hosts.ts";

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

const KEEPALIVE_MS = 5_000;
const KEEPALIVE_MAX = 3;
/** After TERM on timeout, how long the command gets before KILL and a forced channel close. */
const KILL_GRACE_MS = 1_000;
/** After the forced close, how long we wait for the channel's own close before giving up on it. */
const CLOSE_GRACE_MS = 2_000;
/** `df` saying less than this is available in the target directory means "the disk is full". */
const NO_SPACE_KIB = 64;

/**
 * Every command is sent as `echo PID_MARKER$$ >&2` + newline + the command: the first
 * stderr line tells us the pid of the session's shell, which sshd made a process-group
 * leader (setsid), and is removed from the stderr we report. On a timeout the whole group
 * is killed through a second channel: OpenSSH refuses "signal" channel requests for root
 * logins ("session signalling requires privilege separation"), and closing a channel
 * without a pty signals nothing.
 */
const PID_MARKER = "__cowlab_exec_pid=";

const fail = (kind: SshFailureKind, message: string, detail?: string): SshFailure =>
  detail === undefined || detail === "" ? { kind, message } : { kind, message, detail };

const oneLine = (s: string): string => s.replace(/\s+/g, " ").trim();

const shQuote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

const cmdLabel = (command: string): string => {
  const c = oneLine(command);
  return JSON.stringify(c.length > 60 ? c.slice(0, 57) + "..." : c);
};

interface SysError extends Error {
  code?: string | number;
  level?: string;
}

function authLabel(ep: SshEndpoint): string {
  if (ep.keyFile !== undefined) return `key ${ep.keyFile}`;
  return `the agent at SSH_AUTH_SOCK=${process.env.SSH_AUTH_SOCK ?? "(unset)"}`;
}

/** Connect, check the host key, authenticate. Never throws. */
export async function connectSsh(ep: SshEndpoint): Promise<Result<SshSession, SshFailure>> {
  const hp = `${ep.host}:${ep.port}`;
  const who = `${ep.user}@${hp}`;
  const timeoutS = ep.connectTimeoutS ?? 20;

  let knownText = "";
  try {
    knownText = await readFile(ep.knownHosts, "utf8");
  } catch (e) {
    const code = (e as SysError).code;
    if (code !== "ENOENT") {
      return err(
        fail("host-key-unknown", `cannot read known_hosts ${ep.knownHosts} to check the host key of ${hp}: ${code ?? (e as Error).message}; fix the file's path or permissions`),
      );
    }
    // a missing file is an empty one: the host key will be "unknown" with the ssh-keyscan hint
  }

  let privateKey: Buffer | undefined;
  let agent: string | undefined;
  if (ep.keyFile !== undefined) {
    try {
      privateKey = await readFile(ep.keyFile);
    } catch (e) {
      return err(fail("auth", `cannot log in as ${who}: key file ${ep.keyFile} cannot be read (${(e as SysError).code ?? (e as Error).message}); check the path`));
    }
  } else if (ep.agent === true) {
    agent = process.env.SSH_AUTH_SOCK;
    if (agent === undefined || agent === "") {
      return err(fail("auth", `cannot log in as ${who}: the agent was asked for but SSH_AUTH_SOCK is not set; start ssh-agent or give a key file`));
    }
  } else {
    return err(fail("auth", `cannot log in as ${who}: no key file and no agent given; set keyFile or agent`));
  }

  return new Promise((resolve) => {
    const client = new Client();
    let settled = false;
    let hostKeyFailure: SshFailure | undefined;
    let lastError: SysError | undefined;
    let hostKeyLine = 0;

    const settle = (r: Result<SshSession, SshFailure>) => {
      if (settled) return;
      settled = true;
      if (!r.ok) {
        client.removeAllListeners("ready");
        try {
          client.end();
        } catch {
          /* already down */
        }
        // keep an 'error' listener: ssh2 may emit more errors while it tears down
      }
      resolve(r);
    };

    const hostVerifier = (key: Buffer): boolean => {
      const type = keyTypeOfBlob(key) ?? "unknown-key-type";
      const check = checkHostKey(knownText, ep.host, ep.port, type, key, ep.knownHosts);
      if (check.ok) {
        hostKeyLine = check.line;
        return true;
      }
      hostKeyFailure = fail(check.kind === "unknown" ? "host-key-unknown" : "host-key-changed", check.message, `${type} ${fingerprint(key)}`);
      return false;
    };

    const mapError = (e: SysError): SshFailure => {
      if (hostKeyFailure !== undefined) return hostKeyFailure;
      const code = typeof e.code === "string" ? e.code : undefined;
      const msg = oneLine(e.message);
      if (e.level === "client-authentication") {
        return fail(
          "auth",
          `authentication failed for ${who} with ${authLabel(ep)} (the server accepted none of the offered methods); check that the public key is in the remote user's authorized_keys`,
          msg,
        );
      }
      if (e.level === "agent") {
        return fail("auth", `cannot log in as ${who}: the agent at ${agent ?? "SSH_AUTH_SOCK"} failed (${msg}); check ssh-agent`, msg);
      }
      if (e.level === "client-timeout") {
        return fail(
          "timeout",
          `no SSH handshake from ${hp} within ${timeoutS} s (connected: ${connected ? "yes, but no usable SSH banner/handshake" : "no"}); check that sshd runs there and the address is right`,
          msg,
        );
      }
      if (code === "ECONNREFUSED") return fail("refused", `connection to ${hp} refused: nothing listens there; check that sshd runs and the port is right`, msg);
      if (code === "ETIMEDOUT") return fail("timeout", `TCP connect to ${hp} timed out; check the address and any firewall`, msg);
      if (code === "EHOSTUNREACH" || code === "ENETUNREACH" || code === "EHOSTDOWN" || code === "ENETDOWN")
        return fail("unreachable", `${hp} is unreachable (${code}); check the address and the network route`, msg);
      if (code === "ENOTFOUND" || code === "EAI_AGAIN" || e.level === "client-dns")
        return fail("unreachable", `cannot resolve ${ep.host} (${code ?? msg}); check the host name`, msg);
      if (code === "ECONNRESET" || code === "EPIPE" || /Connection lost before handshake/.test(msg))
        return fail("lost", `connection to ${hp} was closed by the server during the SSH handshake (${code ?? msg}); check the server's sshd log (MaxStartups, access rules)`, msg);
      return fail("remote", `SSH connection to ${hp} failed: ${msg}; check the server's sshd log`, msg);
    };

    let connected = false;
    client.on("connect", () => {
      connected = true;
    });
    client.on("error", (e: SysError) => {
      lastError = e;
      if (!settled) settle(err(mapError(e)));
    });
    client.on("close", () => {
      if (settled) return;
      settle(
        err(
          hostKeyFailure ??
            (lastError !== undefined
              ? mapError(lastError)
              : fail("lost", `connection to ${hp} closed before the SSH session was ready; check the server's sshd log`)),
        ),
      );
    });
    client.on("ready", () => {
      if (settled) return;
      settle(ok(new Session(ep, client, hostKeyLine)));
    });

    const cfg: ConnectConfig = {
      host: ep.host,
      port: ep.port,
      username: ep.user,
      readyTimeout: Math.max(1, Math.round(timeoutS * 1000)),
      keepaliveInterval: ep.keepaliveS !== undefined && ep.keepaliveS > 0 ? Math.round(ep.keepaliveS * 1000) : KEEPALIVE_MS,
      keepaliveCountMax: KEEPALIVE_MAX,
      hostVerifier,
      tryKeyboard: false,
    };
    if (privateKey !== undefined) cfg.privateKey = privateKey;
    if (agent !== undefined) cfg.agent = agent;
    try {
      client.connect(cfg);
    } catch (e) {
      // ssh2 throws synchronously for a key it cannot parse (or one with a passphrase)
      const msg = oneLine((e as Error).message);
      settle(err(fail("auth", `cannot log in as ${who}: ${ep.keyFile !== undefined ? `key file ${ep.keyFile}` : "the agent"} is unusable (${msg}); give an unencrypted OpenSSH/PEM private key or use the agent`, msg)));
    }
  });
}

type LostHandler = (f: SshFailure) => void;

class Session implements SshSession {
  #alive = true;
  #pending = new Set<LostHandler>();
  #closeReason: string | undefined;
  readonly #hp: string;

  constructor(
    readonly endpoint: SshEndpoint,
    private readonly client: Client,
    /** the known_hosts line that matched the host key */
    readonly hostKeyLine: number,
  ) {
    this.#hp = `${endpoint.host}:${endpoint.port}`;
    client.removeAllListeners("error");
    client.removeAllListeners("close");
    client.on("error", (e: SysError) => {
      this.#closeReason ??= oneLine(e.message) + (typeof e.code === "string" ? ` (${e.code})` : "");
      this.#drop();
    });
    client.on("end", () => this.#drop());
    client.on("close", () => this.#drop());
  }

  get alive(): boolean {
    return this.#alive;
  }

  #drop(): void {
    if (!this.#alive) return;
    this.#alive = false;
    const handlers = [...this.#pending];
    this.#pending.clear();
    const why = this.#closeReason ?? "the server closed the connection";
    for (const h of handlers) h(fail("lost", "", why));
  }

  #lostMessage(what: string, why: string, tail: string): string {
    return `connection to ${this.endpoint.user}@${this.#hp} lost during ${what} (${why}); ${tail}`;
  }

  exec(command: string, opts: ExecOptions = {}): Promise<Result<ExecResult, SshFailure>> {
    const what = `exec of ${cmdLabel(command)}`;
    if (!this.#alive) {
      return Promise.resolve(err(fail("lost", this.#lostMessage(what, this.#closeReason ?? "the connection is closed", "reconnect and run it again"))));
    }
    return new Promise((resolve) => {
      let done = false;
      let stream: ClientChannel | undefined;
      let stdout = "";
      let stderr = "";
      /** stderr before the pid line was seen (undefined once it was) */
      let stderrHead: string | undefined = "";
      let remotePid: number | undefined;
      let partial = "";
      let code: number | null = null;
      let signal: string | null = null;
      let exited = false;
      let timedOut = false;
      const timers: NodeJS.Timeout[] = [];
      const decoder = new StringDecoder("utf8");
      const errDecoder = new StringDecoder("utf8");

      const emitLines = (chunk: string, final: boolean) => {
        partial += chunk;
        let nl: number;
        while ((nl = partial.indexOf("\n")) >= 0) {
          const line = partial.slice(0, nl).replace(/\r$/, "");
          partial = partial.slice(nl + 1);
          safeOnLine(line);
        }
        if (final && partial !== "") {
          const line = partial;
          partial = "";
          safeOnLine(line);
        }
      };
      const safeOnLine = (line: string) => {
        if (opts.onLine === undefined) return;
        try {
          opts.onLine(line);
        } catch {
          /* a caller's callback must not break the stream */
        }
      };

      const finish = (r: Result<ExecResult, SshFailure>) => {
        if (done) return;
        done = true;
        for (const t of timers) clearTimeout(t);
        this.#pending.delete(onLost);
        resolve(r);
      };
      const onLost: LostHandler = (f) => {
        const tail = (stdout + stderr).trimEnd().split("\n").slice(-20).join("\n");
        finish(
          err(
            fail(
              "lost",
              this.#lostMessage(what, f.detail ?? "connection closed", "the remote command may still be running; check the host and reconnect"),
              tail,
            ),
          ),
        );
      };
      this.#pending.add(onLost);

      const result = (): ExecResult => ({ code, signal, stdout, stderr, timedOut, lost: !exited && !timedOut });

      try {
        this.client.exec(`echo ${PID_MARKER}$$ >&2\n${command}`, (e, ch) => {
          if (done) {
            ch?.close();
            return;
          }
          if (e !== undefined && e !== null) {
            if (!this.#alive) return; // onLost answers
            finish(err(fail("remote", `cannot start ${what} on ${this.#hp}: ${oneLine(e.message)}; check the server's MaxSessions and sshd log`, e.message)));
            return;
          }
          stream = ch;
          ch.on("data", (d: Buffer) => {
            const s = decoder.write(d);
            stdout += s;
            emitLines(s, false);
          });
          ch.stderr.on("data", (d: Buffer) => {
            const text = errDecoder.write(d);
            if (stderrHead === undefined) {
              stderr += text;
              return;
            }
            stderrHead += text;
            const nl = stderrHead.indexOf("\n");
            if (nl < 0 && stderrHead.length < 64) return;
            const first = nl < 0 ? stderrHead : stderrHead.slice(0, nl);
            const m = first.startsWith(PID_MARKER) ? /^\d+$/.exec(first.slice(PID_MARKER.length)) : null;
            if (m !== null) {
              remotePid = Number(m[0]);
              stderr += stderrHead.slice(nl + 1);
            } else {
              stderr += stderrHead; // not our line (the shell failed before it?): keep it all
            }
            stderrHead = undefined;
          });
          ch.on("exit", (c: number | null, sig?: string) => {
            exited = true;
            if (typeof c === "number") code = c;
            else if (typeof sig === "string") signal = sig.replace(/^SIG/, "");
          });
          ch.on("error", () => {
            /* surfaces as close / connection loss */
          });
          ch.on("close", () => {
            const rest = decoder.end();
            stdout += rest;
            emitLines(rest, true);
            stderr += (stderrHead ?? "") + errDecoder.end();
            stderrHead = undefined;
            // A channel closed by a dropped connection must answer "lost", and ssh2 may close
            // the channels before the client's own 'close': decide on the next turn.
            setImmediate(() => {
              if (!this.#alive && !exited && !timedOut) return onLost(fail("lost", "", this.#closeReason ?? "the server closed the connection"));
              finish(ok(result()));
            });
          });
          if (opts.stdin !== undefined) ch.end(opts.stdin);
          else ch.end();
        });
      } catch (e) {
        finish(err(fail("lost", this.#lostMessage(what, oneLine((e as Error).message), "reconnect and run it again"))));
        return;
      }

      if (opts.timeoutS !== undefined && opts.timeoutS > 0) {
        timers.push(
          setTimeout(() => {
            timedOut = true;
            // sshd delivers "signal" requests with killpg() on the session's process group, so
            // the shell and everything it started (without its own setsid) go together.
            trySignal(stream, "TERM");
            this.#killGroup(remotePid, "TERM");
            timers.push(
              setTimeout(() => {
                trySignal(stream, "KILL");
                this.#killGroup(remotePid, "KILL");
                try {
                  stream?.close();
                } catch {
                  /* closed already */
                }
                timers.push(setTimeout(() => finish(ok(result())), CLOSE_GRACE_MS));
              }, KILL_GRACE_MS),
            );
          }, opts.timeoutS * 1000),
        );
      }
    });
  }

  /** Signal the remote process group of a timed-out command through a second channel (fire and forget). */
  #killGroup(pid: number | undefined, sig: "TERM" | "KILL"): void {
    if (pid === undefined || pid <= 1 || !this.#alive) return;
    void this.exec(`kill -${sig} -${pid} 2>/dev/null || kill -${sig} ${pid} 2>/dev/null; true`, { timeoutS: 10 });
  }

  #sftp(): Promise<Result<SFTPWrapper, SshFailure>> {
    return new Promise((resolve) => {
      let done = false;
      const onLost: LostHandler = (f) => {
        if (done) return;
        done = true;
        resolve(err(f));
      };
      this.#pending.add(onLost);
      try {
        this.client.sftp((e, sftp) => {
          this.#pending.delete(onLost);
          if (done) {
            sftp?.end();
            return;
          }
          done = true;
          if (e !== undefined && e !== null) {
            if (!this.#alive) resolve(err(fail("lost", "", this.#closeReason ?? "the server closed the connection")));
            else resolve(err(fail("remote", `cannot start SFTP on ${this.#hp}: ${oneLine(e.message)}; check "Subsystem sftp" in the server's sshd_config`, e.message)));
            return;
          }
          resolve(ok(sftp));
        });
      } catch (e) {
        this.#pending.delete(onLost);
        done = true;
        resolve(err(fail("lost", "", oneLine((e as Error).message))));
      }
    });
  }

  async upload(local: string, remote: string, mode?: number): Promise<Result<void, SshFailure>> {
    const what = `upload of ${local} to ${remote}`;
    if (!this.#alive) return err(fail("lost", this.#lostMessage(what, this.#closeReason ?? "the connection is closed", "reconnect and upload again")));
    let size: number;
    try {
      const st = await stat(local);
      if (!st.isFile()) return err(fail("remote", `cannot upload ${local} to ${this.#hp}:${remote}: the local path is not a regular file`));
      size = st.size;
    } catch (e) {
      return err(fail("remote", `cannot upload ${local} to ${this.#hp}:${remote}: the local file cannot be read (${(e as SysError).code ?? (e as Error).message})`));
    }

    const s = await this.#sftp();
    if (!s.ok) {
      return err(s.error.kind === "lost" ? fail("lost", this.#lostMessage(what, s.error.detail ?? "connection closed", "reconnect and upload again")) : s.error);
    }
    const sftp = s.value;
    try {
      const put = await this.#guard<SysError | undefined>(
        (cb) => sftp.fastPut(local, remote, { fileSize: size, ...(mode === undefined ? {} : { mode }) }, (e) => cb(e ?? undefined)),
      );
      if (!put.ok) return err(fail("lost", this.#lostMessage(what, put.error, `${remote} may be left partial there; reconnect and upload again`)));
      if (put.value !== undefined) return err(await this.#uploadFailure(sftp, remote, size, put.value));
      if (mode !== undefined) {
        // open(2) on the server applies its umask to the mode given at open; set it exactly
        const ch = await this.#guard<SysError | undefined>((cb) => sftp.chmod(remote, mode, (e) => cb(e ?? undefined)));
        if (!ch.ok) return err(fail("lost", this.#lostMessage(what, ch.error, "reconnect and upload again")));
        if (ch.value !== undefined)
          return err(fail("remote", `uploaded ${remote} to ${this.#hp} but cannot chmod it to ${mode.toString(8)}: ${oneLine(ch.value.message)}`, ch.value.message));
      }
      return ok(undefined);
    } finally {
      try {
        sftp.end();
      } catch {
        /* connection gone */
      }
    }
  }

  /** Run one callback-style SFTP call; a dropped connection answers err(reason) instead of hanging. */
  #guard<T>(start: (cb: (v: T) => void) => void): Promise<Result<T, string>> {
    return new Promise((resolve) => {
      let done = false;
      const onLost: LostHandler = (f) => {
        if (done) return;
        done = true;
        resolve(err(f.detail ?? "connection closed"));
      };
      if (!this.#alive) return resolve(err(this.#closeReason ?? "the connection is closed"));
      this.#pending.add(onLost);
      try {
        start((v) => {
          this.#pending.delete(onLost);
          if (done) return;
          done = true;
          resolve(ok(v));
        });
      } catch (e) {
        this.#pending.delete(onLost);
        if (!done) {
          done = true;
          resolve(err(oneLine((e as Error).message)));
        }
      }
    });
  }

  /** A failed SFTP write: say "no space" only when df says so, and never leave the partial file. */
  async #uploadFailure(sftp: SFTPWrapper, remote: string, size: number, e: SysError): Promise<SshFailure> {
    const sftpMsg = oneLine(e.message);
    const dir = posix.dirname(remote);
    let availKiB: number | undefined;
    // Probe before removing the partial file: the partial file is what filled the disk.
    const df = await this.exec(`df -P -k -- ${shQuote(dir)}`, { timeoutS: 15 });
    if (df.ok && df.value.code === 0) {
      const row = df.value.stdout.trim().split("\n").at(-1)?.trim().split(/\s+/);
      const avail = Number(row?.[3]);
      if (Number.isFinite(avail)) availKiB = avail;
    }
    const rm = await this.#guard<SysError | undefined>((cb) => sftp.unlink(remote, (u) => cb(u ?? undefined)));
    const partialNote = !rm.ok
      ? `the partial file ${remote} could NOT be removed (${rm.error})`
      : rm.value === undefined
        ? "the partial file was removed"
        : rm.value.code === 2 /* SSH_FX_NO_SUCH_FILE */
          ? "no partial file is left"
          : `the partial file ${remote} could NOT be removed (${oneLine(rm.value.message)})`;
    if (!this.#alive) {
      return fail("lost", this.#lostMessage(`upload of ${remote}`, this.#closeReason ?? "connection closed", `${remote} may be left partial there; reconnect and upload again`), sftpMsg);
    }
    if (availKiB !== undefined && availKiB < NO_SPACE_KIB) {
      return fail(
        "no-space",
        `no space left on ${this.#hp} for ${remote} (${size} bytes; df: ${availKiB} KiB available in ${dir}); ${partialNote}; free space there or upload elsewhere`,
        `SFTP: ${sftpMsg}`,
      );
    }
    const code = typeof e.code === "number" ? ` (SFTP status ${e.code})` : "";
    return fail(
      "remote",
      `upload of ${remote} to ${this.#hp} failed: ${sftpMsg}${code}${availKiB !== undefined ? `, ${availKiB} KiB free in ${dir}` : ""}; ${partialNote}; check the remote path and permissions`,
      sftpMsg,
    );
  }

  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.#alive) {
        try {
          this.client.end();
        } catch {
          /* gone */
        }
        return resolve();
      }
      const t = setTimeout(() => {
        this.client.destroy();
        resolve();
      }, 2_000);
      this.client.once("close", () => {
        clearTimeout(t);
        resolve();
      });
      this.#closeReason = "closed by this side";
      try {
        this.client.end();
      } catch {
        clearTimeout(t);
        resolve();
      }
    });
  }
}

/**
 * Send a "signal" channel request. ssh2's ClientChannel.signal() is silently a no-op once
 * stdin was ended (it wants the stream writable and the channel state "open", and ending
 * stdin moves it to "eof"), yet every exec here ends stdin so commands that read it do not
 * hang; so after EOF the request goes through the channel's protocol object (ssh2 1.17
 * internals, checked before use), which is what signal() itself calls.
 */
function trySignal(stream: ClientChannel | undefined, sig: string): void {
  if (stream === undefined) return;
  try {
    if (stream.writable) {
      stream.signal(sig);
      return;
    }
    const inner = stream as unknown as {
      outgoing?: { id?: unknown; state?: unknown };
      _client?: { _protocol?: { signal?: unknown } };
    };
    const id = inner.outgoing?.id;
    const state = inner.outgoing?.state;
    const proto = inner._client?._protocol;
    if (typeof id === "number" && (state === "open" || state === "eof") && proto !== undefined && typeof proto.signal === "function") {
      (proto.signal as (chan: number, signal: string) => void).call(proto, id, sig);
    }
  } catch {
    /* channel or connection gone */
  }
}
