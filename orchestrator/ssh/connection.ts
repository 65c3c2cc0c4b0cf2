// One live ssh2 client and whether it is still up. A dropped connection must never leave a
// caller hanging: everything in flight registers a handler here and is answered "lost" the
// moment the client reports error, end or close.
import type { Client } from "ssh2";
import { type Result, err, ok } from "../util/result.ts";
import { type SysError, fail, oneLine } from "./failure.ts";
import type { SshEndpoint, SshFailure } from "./types.ts";

/** Answers an in-flight call when the connection drops; the failure's detail says why. */
export type LostHandler = (f: SshFailure) => void;

export class Connection {
  #alive = true;
  #pending = new Set<LostHandler>();
  #closeReason: string | undefined;
  /** "host:port", for messages */
  readonly hp: string;

  constructor(
    readonly endpoint: SshEndpoint,
    readonly client: Client,
  ) {
    this.hp = `${endpoint.host}:${endpoint.port}`;
    // the listeners of the connect phase would settle an already settled connect
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

  /** why the connection went down, when the client said (or we closed it) */
  get closeReason(): string | undefined {
    return this.#closeReason;
  }

  /** why a call started on a connection that is already down cannot run */
  get closedReason(): string {
    return this.#closeReason ?? "the connection is closed";
  }

  /** the failure a call in flight gets when the connection drops under it */
  lostFailure(): SshFailure {
    return fail("lost", "", this.#closeReason ?? "the server closed the connection");
  }

  onLost(h: LostHandler): void {
    this.#pending.add(h);
  }

  offLost(h: LostHandler): void {
    this.#pending.delete(h);
  }

  lostMessage(what: string, why: string, tail: string): string {
    return `connection to ${this.endpoint.user}@${this.hp} lost during ${what} (${why}); ${tail}`;
  }

  #drop(): void {
    if (!this.#alive) return;
    this.#alive = false;
    const handlers = [...this.#pending];
    this.#pending.clear();
    const lost = this.lostFailure();
    for (const h of handlers) h(lost);
  }

  /**
   * Run one callback-style ssh2 call; a dropped connection (or a synchronous throw) answers
   * err(reason) instead of hanging. `late` receives a value that arrives after that, so a
   * resource opened too late can be released.
   */
  call<T>(start: (cb: (v: T) => void) => void, late?: (v: T) => void): Promise<Result<T, string>> {
    return new Promise((resolve) => {
      let done = false;
      const onLost: LostHandler = (f) => {
        if (done) return;
        done = true;
        resolve(err(f.detail ?? "connection closed"));
      };
      this.#pending.add(onLost);
      try {
        start((v) => {
          this.#pending.delete(onLost);
          if (done) {
            late?.(v);
            return;
          }
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

  /** `call` on a connection that must still be up: a dead one answers at once. */
  guard<T>(start: (cb: (v: T) => void) => void): Promise<Result<T, string>> {
    if (!this.#alive) return Promise.resolve(err(this.closedReason));
    return this.call(start);
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
