// Running one shell command over a live connection: stdout streamed line by line, a bound
// that ends the whole remote process group, and a dropped connection answered "lost".
import { StringDecoder } from "node:string_decoder";
import type { ClientChannel } from "ssh2";
import { type Result, err, ok } from "../util/result.ts";
import type { Connection, LostHandler } from "./connection.ts";
import { fail, oneLine } from "./failure.ts";
import type { ExecOptions, ExecResult, SshFailure } from "./types.ts";

/** After TERM on timeout, how long the command gets before KILL and a forced channel close. */
const KILL_GRACE_MS = 1_000;
/** After the forced close, how long we wait for the channel's own close before giving up on it. */
const CLOSE_GRACE_MS = 2_000;

/**
 * Every command is sent as `echo PID_MARKER$$ >&2` + newline + the command: the first
 * stderr line tells us the pid of the session's shell, which sshd made a process-group
 * leader (setsid), and is removed from the stderr we report. On a timeout the whole group
 * is killed through a second channel: OpenSSH refuses "signal" channel requests for root
 * logins ("session signalling requires privilege separation"), and closing a channel
 * without a pty signals nothing.
 */
const PID_MARKER = "__cowlab_exec_pid=";

const cmdLabel = (command: string): string => {
  const c = oneLine(command);
  return JSON.stringify(c.length > 60 ? c.slice(0, 57) + "..." : c);
};

/** Run one shell command; never throws, never outlives the connection. */
export function execCommand(conn: Connection, command: string, opts: ExecOptions = {}): Promise<Result<ExecResult, SshFailure>> {
  const what = `exec of ${cmdLabel(command)}`;
  if (!conn.alive) {
    return Promise.resolve(err(fail("lost", conn.lostMessage(what, conn.closedReason, "reconnect and run it again"))));
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
      conn.offLost(onLost);
      resolve(r);
    };
    const onLost: LostHandler = (f) => {
      const tail = (stdout + stderr).trimEnd().split("\n").slice(-20).join("\n");
      const why = f.detail ?? "connection closed";
      finish(err({ ...fail("lost", conn.lostMessage(what, why, "the remote command may still be running; check the host and reconnect"), tail), why }));
    };
    conn.onLost(onLost);

    const result = (): ExecResult => ({ code, signal, stdout, stderr, timedOut, lost: !exited && !timedOut });

    try {
      conn.client.exec(`echo ${PID_MARKER}$$ >&2\n${command}`, (e, ch) => {
        if (done) {
          ch?.close();
          return;
        }
        if (e !== undefined && e !== null) {
          if (!conn.alive) return; // onLost answers
          finish(err(fail("remote", `cannot start ${what} on ${conn.hp}: ${oneLine(e.message)}; check the server's MaxSessions and sshd log`, e.message)));
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
            if (!conn.alive && !exited && !timedOut) return onLost(conn.lostFailure());
            finish(ok(result()));
          });
        });
        if (opts.stdin !== undefined) ch.end(opts.stdin);
        else ch.end();
      });
    } catch (e) {
      finish(err(fail("lost", conn.lostMessage(what, oneLine((e as Error).message), "reconnect and run it again"))));
      return;
    }

    if (opts.timeoutS !== undefined && opts.timeoutS > 0) {
      timers.push(
        setTimeout(() => {
          timedOut = true;
          // sshd delivers "signal" requests with killpg() on the session's process group, so
          // the shell and everything it started (without its own setsid) go together.
          trySignal(stream, "TERM");
          killGroup(conn, remotePid, "TERM");
          timers.push(
            setTimeout(() => {
              trySignal(stream, "KILL");
              killGroup(conn, remotePid, "KILL");
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
function killGroup(conn: Connection, pid: number | undefined, sig: "TERM" | "KILL"): void {
  if (pid === undefined || pid <= 1 || !conn.alive) return;
  void execCommand(conn, `kill -${sig} -${pid} 2>/dev/null || kill -${sig} ${pid} 2>/dev/null; true`, { timeoutS: 10 });
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
