// Connecting to a target that may not answer yet: a guest whose sshd is still starting (QEMU's
// hostfwd accepts and resets until it listens), or a link that just dropped. Any failure is
// tried again, a pause apart, except a refused host key or login: waiting does not change those.
import { connectSsh } from "./connect.ts";
import type { SshEndpoint, SshFailure, SshFailureKind, SshSession } from "./types.ts";
import type { Result } from "../util/result.ts";

const FINAL: ReadonlySet<SshFailureKind> = new Set(["host-key-unknown", "host-key-changed", "auth"]);

export interface RetryOptions {
  /** at most this many attempts */
  tries?: number;
  /** no new attempt after this many seconds */
  boundS?: number;
  pauseMs: number;
}

export async function connectRetrying(ep: SshEndpoint, { tries = Infinity, boundS = Infinity, pauseMs }: RetryOptions): Promise<Result<SshSession, SshFailure>> {
  const until = performance.now() + boundS * 1000;
  for (let i = 1; ; i++) {
    const s = await connectSsh(ep);
    if (s.ok || FINAL.has(s.error.kind) || i >= tries || performance.now() + pauseMs > until) return s;
    // a plain timer: nothing else may be keeping the process alive during the pause
    await new Promise((r) => setTimeout(r, pauseMs));
  }
}
