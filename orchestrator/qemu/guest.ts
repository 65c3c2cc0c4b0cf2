import { createWriteStream } from "node:fs";
import { execa } from "execa";
import { isFatalLine } from "./console.ts";
import { MARK } from "../guest/protocol.ts";

export interface QemuRun {
  /** how the guest ended: QEMU exited by itself, was killed at the timeout, or could not start */
  ending: "exited" | "timeout" | "no-output" | "spawn-failed" | "stopped-after-oops";
  exitCode: number | undefined;
  console: string;
  /** seconds from QEMU start to the first line of ours (the init's first testcase marker) */
  bootSeconds: number | undefined;
  seconds: number;
  stderr: string;
}

/**
 * Run one guest to its end, bounded by a timeout, keeping its whole console in `consolePath`
 * as it arrives, so a guest that hangs or crashes the host process still leaves its log.
 */
export interface GuestRequest {
  argv: string[];
  /** QEMU runs here, so the argv can name kernel and initrd relatively (as rerun.sh does) */
  cwd: string;
  consolePath: string;
  timeoutS: number;
  onLine?: (line: string) => void;
  /** stop the guest this many seconds after a fatal kernel report (default 10) */
  oopsGraceS?: number;
  /** stop a guest that printed nothing for this many seconds (the silence watchdog) */
  silenceS?: number;
  /** stop the guest now (a runtime that is done with it, or gave up waiting for it) */
  stop?: AbortSignal;
}

/** The runner's first testcase marker: the boot is over (orchestrator/guest/protocol.ts spells the markers). */
const FIRST_LINE = MARK.begin;

export async function runGuest({ argv, cwd, consolePath, timeoutS, onLine, oopsGraceS = 10, silenceS, stop }: GuestRequest): Promise<QemuRun> {
  const out = createWriteStream(consolePath);
  const started = performance.now();
  let bootSeconds: number | undefined;
  let text = "";
  let pending = "";
  const child = execa(argv[0]!, argv.slice(1), { cwd, reject: false, timeout: timeoutS * 1000, killSignal: "SIGKILL", buffer: { stdout: false, stderr: true }, stdin: "ignore" });
  // A hung guest often prints nothing at all: rather than wait out the whole timeout, stop
  // it once it has been silent for longer than anything in it may legitimately be.
  let silent = false;
  let silenceTimer: NodeJS.Timeout | undefined;
  const armSilence = (): void => {
    if (silenceS === undefined) return;
    clearTimeout(silenceTimer);
    silenceTimer = setTimeout(() => {
      silent = true;
      child.kill("SIGKILL");
    }, silenceS * 1000);
  };
  armSilence();
  stop?.addEventListener("abort", () => child.kill("SIGKILL"), { once: true });
  child.stdout?.on("data", (d: Buffer) => {
    armSilence();
    const s = d.toString().replace(/\r/g, "");
    out.write(s);
    text += s;
    pending += s;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const l of lines) {
      if (bootSeconds === undefined && l.includes(FIRST_LINE)) bootSeconds = (performance.now() - started) / 1000;
      if (!oopsTimer && isFatalLine(l)) {
        oopsTimer = setTimeout(() => {
          stoppedAfterOops = true;
          child.kill("SIGKILL");
        }, oopsGraceS * 1000);
      }
      onLine?.(l);
    }
  });
  let oopsTimer: NodeJS.Timeout | undefined;
  let stoppedAfterOops = false;
  const r = await child;
  if (oopsTimer) clearTimeout(oopsTimer);
  clearTimeout(silenceTimer);
  await new Promise<void>((res) => out.end(res));
  const seconds = (performance.now() - started) / 1000;
  const ending = stoppedAfterOops ? "stopped-after-oops" : silent ? "no-output" : r.timedOut ? "timeout" : r.failed && r.exitCode === undefined && !r.signal ? "spawn-failed" : "exited";
  return { ending, exitCode: r.exitCode, console: text, bootSeconds, seconds, stderr: String(r.stderr ?? "") };
}
