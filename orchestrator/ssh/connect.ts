// Connecting: read known_hosts and the credentials, hand ssh2 a client config whose host
// verifier checks the key against known_hosts, and turn whatever ssh2 reports before the
// session is ready into one typed SshFailure naming host:port and what to do.
import { readFile } from "node:fs/promises";
import { Client, type ConnectConfig } from "ssh2";
import { type Result, err, ok } from "../util/result.ts";
import { Connection } from "./connection.ts";
import { execCommand } from "./exec.ts";
import { type SysError, codeOrMessage, fail, oneLine } from "./failure.ts";
import { checkHostKey, fingerprint, keyTypeOfBlob } from "./known-hosts.ts";
import type { ExecOptions, ExecResult, SshEndpoint, SshFailure, SshSession } from "./types.ts";
import { uploadFile } from "./upload.ts";

const KEEPALIVE_MS = 5_000;
const KEEPALIVE_MAX = 3;

interface Credentials {
  privateKey?: Buffer;
  agent?: string;
}

/** What the messages about one connect attempt name. */
interface Attempt {
  ep: SshEndpoint;
  /** "host:port" */
  hp: string;
  /** "user@host:port" */
  who: string;
  timeoutS: number;
  agent: string | undefined;
  /** the TCP connection was made */
  connected: boolean;
}

/** Connect, check the host key, authenticate. Never throws. */
export async function connectSsh(ep: SshEndpoint): Promise<Result<SshSession, SshFailure>> {
  const hp = `${ep.host}:${ep.port}`;
  const who = `${ep.user}@${hp}`;
  const timeoutS = ep.connectTimeoutS ?? 20;

  const known = await readKnownHosts(ep, hp);
  if (!known.ok) return known;
  const knownText = known.value;
  const creds = await readCredentials(ep, who);
  if (!creds.ok) return creds;
  const { privateKey, agent } = creds.value;

  return new Promise((resolve) => {
    const client = new Client();
    let settled = false;
    let hostKeyFailure: SshFailure | undefined;
    let lastError: SysError | undefined;
    let hostKeyLine = 0;
    let connected = false;

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

    // a refused host key is what the error that follows it really means
    const mapError = (e: SysError): SshFailure => hostKeyFailure ?? connectFailure(e, { ep, hp, who, timeoutS, agent, connected });

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

/** The known_hosts text; a missing file is an empty one (the host key will then be "unknown" with the ssh-keyscan hint). */
async function readKnownHosts(ep: SshEndpoint, hp: string): Promise<Result<string, SshFailure>> {
  try {
    return ok(await readFile(ep.knownHosts, "utf8"));
  } catch (e) {
    if ((e as SysError).code === "ENOENT") return ok("");
    return err(
      fail("host-key-unknown", `cannot read known_hosts ${ep.knownHosts} to check the host key of ${hp}: ${codeOrMessage(e)}; fix the file's path or permissions`),
    );
  }
}

/** The key file's bytes or the agent socket, whichever the endpoint asks for. */
async function readCredentials(ep: SshEndpoint, who: string): Promise<Result<Credentials, SshFailure>> {
  if (ep.keyFile !== undefined) {
    try {
      return ok({ privateKey: await readFile(ep.keyFile) });
    } catch (e) {
      return err(fail("auth", `cannot log in as ${who}: key file ${ep.keyFile} cannot be read (${codeOrMessage(e)}); check the path`));
    }
  }
  if (ep.agent === true) {
    const agent = process.env.SSH_AUTH_SOCK;
    if (agent === undefined || agent === "") {
      return err(fail("auth", `cannot log in as ${who}: the agent was asked for but SSH_AUTH_SOCK is not set; start ssh-agent or give a key file`));
    }
    return ok({ agent });
  }
  return err(fail("auth", `cannot log in as ${who}: no key file and no agent given; set keyFile or agent`));
}

function authLabel(ep: SshEndpoint): string {
  if (ep.keyFile !== undefined) return `key ${ep.keyFile}`;
  return `the agent at SSH_AUTH_SOCK=${process.env.SSH_AUTH_SOCK ?? "(unset)"}`;
}

/** What an ssh2 error before "ready" means, as one line that says what to do. */
function connectFailure(e: SysError, a: Attempt): SshFailure {
  const { ep, hp, who } = a;
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
    return fail("auth", `cannot log in as ${who}: the agent at ${a.agent ?? "SSH_AUTH_SOCK"} failed (${msg}); check ssh-agent`, msg);
  }
  if (e.level === "client-timeout") {
    return fail(
      "timeout",
      `no SSH handshake from ${hp} within ${a.timeoutS} s (connected: ${a.connected ? "yes, but no usable SSH banner/handshake" : "no"}); check that sshd runs there and the address is right`,
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
}

/** The SshSession connectSsh hands out: one live connection, with exec and upload on it. */
class Session implements SshSession {
  readonly #conn: Connection;

  constructor(
    readonly endpoint: SshEndpoint,
    client: Client,
    /** the known_hosts line that matched the host key */
    readonly hostKeyLine: number,
  ) {
    this.#conn = new Connection(endpoint, client);
  }

  get alive(): boolean {
    return this.#conn.alive;
  }

  exec(command: string, opts: ExecOptions = {}): Promise<Result<ExecResult, SshFailure>> {
    return execCommand(this.#conn, command, opts);
  }

  upload(local: string, remote: string, mode?: number): Promise<Result<void, SshFailure>> {
    return uploadFile(this.#conn, local, remote, mode);
  }

  close(): Promise<void> {
    return this.#conn.close();
  }
}
