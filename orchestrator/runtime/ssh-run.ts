// One guest's work over an SSH session (the `ssh` and `qemu-rootfs` runtimes share it): a
// private temporary folder on the target, the runner, its env and the static reproducers
// uploaded by SFTP, the runner's output streamed and stamped with the target's clock, the
// kernel log since the start read for reports, and the folder removed afterwards, also when
// the run failed half-way.
import { createWriteStream, type WriteStream } from "node:fs";
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { guestEnv, RUNNER, type GuestSetup } from "../guest/initramfs.ts";
import { mergeByTime, protocolReader, reportEvents, type GuestEvent, type ReportEvent } from "../guest/protocol.ts";
import type { GuestRecord } from "../results/classify.ts";
import type { SshFailure, SshSession } from "../ssh/session.ts";
import { capabilitiesFromSetup, planForCapabilities } from "../guest/capabilities.ts";
import type { CapabilityRule } from "../config/testcases.ts";
import type { GuestWork, Unserved } from "./types.ts";

export interface SshRunOptions {
  /** the parent of the private temporary folder on the target */
  tmp: string;
  setup: GuestSetup;
  /** the session transcript (stream lines as they came, with the target's time) */
  log: string;
  /** bound on the whole runner (each testcase also has its own, enforced on the target) */
  timeoutS: number;
  progress: (stage: string, detail?: string) => void;
  /** where kernel reports come from: the target's dmesg, or a serial console the caller reads (qemu-rootfs) */
  kernelLog: "dmesg" | "caller";
  /** connect again after the connection dropped (to read the kernel log, see whether it rebooted, clean up) */
  reconnect: () => Promise<SshSession | undefined>;
  /** which cases need which capability (manifest `capabilities`): a target without it SKIPs them */
  rules: readonly CapabilityRule[];
}

export interface SshRun {
  record: GuestRecord;
  /** guest uptime (s) when the run started: kernel log lines before it are not this run's */
  since: number | undefined;
  bootSeconds: number | undefined;
  seconds: number;
  /** the remote temporary folder, if one was made (and whether it was removed) */
  tmpdir: string | undefined;
  cleaned: boolean;
  /** the work as it ran: without the cases the target cannot serve */
  ran: GuestWork;
  unserved: Unserved[];
}

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

interface Probe {
  bootId: string;
  /** guest uptime minus host time (s), so a line's arrival time becomes the target's clock */
  offset: number;
  uptime: number;
}

async function probe(s: SshSession): Promise<Probe | SshFailure> {
  const t0 = performance.now();
  const r = await s.exec("cat /proc/sys/kernel/random/boot_id; cut -d' ' -f1 /proc/uptime", { timeoutS: 30 });
  const t1 = performance.now();
  if (!r.ok) return r.error;
  const [bootId, up] = r.value.stdout.trim().split("\n");
  const uptime = Number(up);
  if (r.value.code !== 0 || !bootId || !Number.isFinite(uptime)) return { kind: "remote", message: `${s.endpoint.host}:${s.endpoint.port}: cannot read /proc (boot_id, uptime): ${r.value.stderr.trim() || `exit ${r.value.code}`}` };
  // The answer was read half-way between sending and receiving, as far as the host can tell.
  return { bootId, uptime, offset: uptime - (t0 + t1) / 2000 };
}

/** The lines of `dmesg` from `since` on (guest uptime), as the kernel printed them. */
async function kernelLogSince(s: SshSession, since: number): Promise<{ lines: string[]; problem?: string }> {
  const r = await s.exec("dmesg", { timeoutS: 30 });
  if (!r.ok) return { lines: [], problem: r.error.message };
  if (r.value.code !== 0) return { lines: [], problem: `dmesg: ${r.value.stderr.trim() || `exit ${r.value.code}`}` };
  const lines = r.value.stdout.split("\n");
  const first = lines.findIndex((l) => {
    const m = /^\[\s*(\d+\.\d+)\]/.exec(l);
    return m !== null && Number(m[1]) >= since;
  });
  return { lines: first < 0 ? [] : lines.slice(first) };
}

/**
 * Stop what is left of the run on the target (its whole session) and remove the folder. After
 * a reboot the runner's session id names nothing of ours (it may be reused by anything), so
 * then only the folder goes.
 */
async function cleanUp(s: SshSession, dir: string, rebooted: boolean): Promise<boolean> {
  const pidFile = `${dir}/runner.pid`;
  // TERM first: the runner's EXIT trap puts THP, hugetlb pages and swap back.
  const stop = rebooted ? "" : `if [ -f ${q(pidFile)} ]; then sid=$(cat ${q(pidFile)}); pkill -TERM -s "$sid" 2>/dev/null && sleep 1; pkill -KILL -s "$sid" 2>/dev/null; fi; `;
  const script = `${stop}rm -rf ${q(dir)}; [ ! -e ${q(dir)} ]`;
  const r = await s.exec(script, { timeoutS: 30 });
  return r.ok && r.value.code === 0;
}

/**
 * The one line for a connection that dropped during the run, written after the runtime
 * reconnected and cleaned up: the transport's "the remote command may still be running" is
 * no longer the news; what the clean-up did (or could not do) is, and what the user should do.
 */
function droppedMessage(ep: string, why: string, tmpdir: string, after: { reached: boolean; cleaned: boolean; rebooted: boolean }): string {
  const head = `connection to ${ep} lost during the run (${why})`;
  const byHand = `remove them by hand: pkill -s "$(cat ${q(`${tmpdir}/runner.pid`)})"; rm -rf ${q(tmpdir)}`;
  if (after.rebooted) return `${head}; the target came back with a new boot id (it rebooted)${after.cleaned ? ` and ${tmpdir} was removed` : `; ${tmpdir} may be left there`}; check the target's kernel log for why it rebooted`;
  if (!after.reached) return `${head} and it did not come back: the runner and ${tmpdir} may be left there; check the target, then ${byHand}`;
  if (!after.cleaned) return `${head}; reconnected but could not stop the runner and remove ${tmpdir}; ${byHand}`;
  return `${head}; reconnected, stopped the runner and removed ${tmpdir}; check the target's network and sshd log, then run again`;
}

export async function runOverSsh(first: SshSession, work: GuestWork, dir: string, opts: SshRunOptions): Promise<SshRun> {
  const started = performance.now();
  const seconds = (): number => (performance.now() - started) / 1000;
  const log: WriteStream = createWriteStream(opts.log, { flags: "a" }); // after what the runtime wrote before (--install)
  const ep = `${first.endpoint.user}@${first.endpoint.host}:${first.endpoint.port}`;
  const fail = (ending: GuestRecord["ending"], failure: string, events: GuestEvent[] = [], tail: string[] = []): GuestRecord => ({ events, tail: [...tail, failure].slice(-30), ending, exitCode: undefined, failure });
  let ran = work;
  let unserved: Unserved[] = [];
  const done = async (r: Omit<SshRun, "seconds" | "ran" | "unserved">): Promise<SshRun> => {
    await new Promise<void>((res) => log.end(res));
    return { ...r, seconds: seconds(), ran, unserved };
  };
  log.write(`# cowlab SSH session to ${ep}\n`);

  const p = await probe(first);
  if ("kind" in p) return done({ record: fail("connect-failed", p.message), since: undefined, bootSeconds: undefined, tmpdir: undefined, cleaned: true });

  // A private folder (mktemp -d: mode 0700) that nothing else uses.
  const mk = await first.exec(`mktemp -d ${q(`${opts.tmp}/cowlab.XXXXXXXX`)}`, { timeoutS: 30 });
  if (!mk.ok || mk.value.code !== 0) {
    const why = mk.ok ? mk.value.stderr.trim() || `exit ${mk.value.code}` : mk.error.message;
    return done({ record: fail("connect-failed", `${ep}: cannot make a temporary folder in ${opts.tmp}: ${why}`), since: p.uptime, bootSeconds: undefined, tmpdir: undefined, cleaned: true });
  }
  const tmpdir = mk.value.stdout.trim();
  log.write(`# temporary folder ${tmpdir}\n`);

  let session: SshSession | undefined = first;
  let rebooted = false;
  /** the run's connection dropped: why (the transport's words), for the message finish() writes once it knows what the clean-up did */
  let dropped: string | undefined;
  const finish = async (record: GuestRecord, bootSeconds: number | undefined): Promise<SshRun> => {
    // Whatever happened, nothing of the run stays on the target.
    let cleaned = false;
    if (session && !session.alive) session = await opts.reconnect();
    if (session) cleaned = await cleanUp(session, tmpdir, rebooted);
    log.write(`# temporary folder ${tmpdir} ${cleaned ? "removed" : session ? "NOT removed (the clean-up failed)" : "NOT removed (the target could not be reached)"}\n`);
    if (session && session !== first) await session.close();
    if (dropped !== undefined) record = { ...record, failure: droppedMessage(ep, dropped, tmpdir, { reached: session !== undefined, cleaned, rebooted }) };
    return done({ record, since: p.uptime, bootSeconds, tmpdir, cleaned });
  };

  // Upload: the runner, its env, the programs, the explorer's interpreter and lines.
  const envFile = join(dir, "cowlab.env");
  await writeFile(envFile, guestEnv(work.testcases, opts.setup, work.cases, work.explore));
  const scenarios = join(dir, "scenarios.txt");
  if (work.explore) await writeFile(scenarios, work.explore.scenarios.join("\n") + "\n");
  const files: [string, string, number][] = [
    [RUNNER, "run-testcases.sh", 0o644],
    [envFile, "cowlab.env", 0o644],
    ...work.testcases.map((t): [string, string, number] => [join(work.reproducers, t.id), `testcases/${t.id}`, 0o755]),
    ...(work.explore ? [[work.explore.interp, "explore/interp", 0o755] as [string, string, number], [scenarios, "explore/scenarios.txt", 0o644] as [string, string, number]] : []),
  ];
  const mkdirs = await first.exec(`mkdir -p ${q(`${tmpdir}/testcases`)} ${q(`${tmpdir}/explore`)}`, { timeoutS: 30 });
  if (!mkdirs.ok || mkdirs.value.code !== 0) return finish(fail("connect-failed", `${ep}: cannot make folders in ${tmpdir}`), undefined);
  opts.progress("upload", `${files.length} files to ${ep}:${tmpdir}`);
  const upload = async ([local, remote, mode]: [string, string, number]): Promise<SshFailure | undefined> => {
    const up = await first.upload(local, `${tmpdir}/${remote}`, mode);
    if (up.ok) return undefined;
    log.write(`# upload failed: ${up.error.message}\n`);
    return up.error;
  };
  for (const f of files) {
    const bad = await upload(f);
    if (bad) return finish(fail(bad.kind === "lost" ? "lost" : "connect-failed", `upload to ${ep} failed: ${bad.message}`), undefined);
  }
  const envSh = `cd ${q(tmpdir)} && set -a && . ./cowlab.env && COWLAB_DIR=${q(tmpdir)} && set +a`;

  // Capabilities: the runner sets up, reports what the target has, and puts it back; the
  // cases the target cannot serve (no hugetlb pages, one NUMA node, no gup_test) are SKIPped
  // with the reason instead of being run.
  const probed = await first.exec(`${envSh} && COWLAB_PROBE_ONLY=1 exec sh ./run-testcases.sh`, { timeoutS: 60 });
  if (probed.ok && probed.value.code === 0 && work.cases) {
    const read = protocolReader();
    const setup = Object.fromEntries(probed.value.stdout.split("\n").flatMap((l) => {
      const e = read(l);
      return e?.kind === "setup" ? [[e.key, e.value]] : [];
    }));
    log.write(`# capabilities: ${JSON.stringify(setup)}\n`);
    const plan = planForCapabilities(work.cases, capabilitiesFromSetup(setup), opts.rules);
    if (plan.skipped.length) {
      unserved = plan.skipped;
      const testcases = work.testcases.filter((t) => !work.cases![t.id] || plan.run[t.id]?.length);
      ran = { ...work, testcases, cases: plan.run };
      await writeFile(envFile, guestEnv(ran.testcases, opts.setup, ran.cases, ran.explore));
      const bad = await upload([envFile, "cowlab.env", 0o644]);
      if (bad) return finish(fail("connect-failed", `upload to ${ep} failed: ${bad.message}`), undefined);
    }
  } else {
    log.write(`# probing capabilities failed: ${probed.ok ? `exit ${probed.value.code}: ${probed.value.stderr.trim()}` : probed.error.message}\n`);
  }

  // Run. Each line is stamped with the target's clock when it arrives, so reports read from
  // the kernel log apart from the output fall between the right lines.
  const read = protocolReader();
  const events: GuestEvent[] = [];
  const tail: string[] = [];
  let bootSeconds: number | undefined;
  const cmd = `echo $$ > ${q(`${tmpdir}/runner.pid`)} && ${envSh} && exec sh ./run-testcases.sh`;
  log.write(`# ${cmd}\n`);
  const r = await first.exec(cmd, {
    timeoutS: opts.timeoutS,
    onLine: (line) => {
      const at = performance.now() / 1000 + p.offset;
      log.write(`[${at.toFixed(3)}] ${line}\n`);
      tail.push(line);
      if (tail.length > 30) tail.shift();
      const e = read(line, at);
      if (!e) return;
      events.push(e);
      if (e.kind === "begin") {
        bootSeconds ??= seconds();
        opts.progress("test", e.testcase);
      }
    },
  });

  let ending: GuestRecord["ending"];
  let failure: string | undefined;
  let exitCode: number | undefined;
  if (r.ok) {
    exitCode = r.value.code ?? undefined;
    ending = r.value.timedOut ? "timeout" : "exited";
    if (r.value.lost) [ending, failure] = ["lost", `${ep}: the runner's channel closed without an exit status`];
    else if (!r.value.timedOut && r.value.code !== 0) failure = `the runner on ${ep} ${r.value.signal ? `was killed by SIG${r.value.signal}` : `exited ${r.value.code}`}${r.value.stderr.trim() ? `: ${r.value.stderr.trim().split("\n").at(-1)}` : ""}`;
  } else {
    ending = r.error.kind === "lost" ? "lost" : "connect-failed";
    failure = r.error.message;
    if (r.error.kind === "lost") dropped = r.error.why ?? r.error.message;
    session = await opts.reconnect();
    if (session) {
      const again = await probe(session);
      rebooted = !("kind" in again) && again.bootId !== p.bootId;
      if (rebooted) failure += " (the target came back with a new boot id: it rebooted)";
    }
  }

  let reports: ReportEvent[] = [];
  if (opts.kernelLog === "dmesg" && session && !rebooted) {
    const k = await kernelLogSince(session, p.uptime);
    await writeFile(join(dir, "dmesg.log"), k.lines.join("\n"));
    if (k.problem) events.unshift({ kind: "setup", key: "kernel_log", value: `unavailable (${k.problem})` });
    reports = reportEvents(k.lines).map((x) => x.event);
  }
  const record: GuestRecord = { events: mergeByTime(events, reports), tail, ending, exitCode, ...(failure ? { failure } : {}), ...(rebooted ? { rebooted } : {}) };
  return finish(record, bootSeconds);
}
