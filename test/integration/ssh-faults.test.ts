// The SSH runtime's fault table end to end: `cowlab run --target local` as a child process
// against a real OpenSSH sshd on 127.0.0.1 (test/fixtures/sshd.ts) that runs the programs of
// test/fixtures/ssh-faults/ on this host's own kernel. Each fault is checked for what the user
// sees (the job's status and its one-line message naming host:port and what to do, the
// cases' statuses, cowlab's exit code), for what the run keeps (results that had finished)
// and for what it leaves on the target: nothing (no cowlab.* folder under the target's tmp,
// which is a fresh folder per test, and no runner or program process).
// Needs root (sshd, tmpfs mount), /usr/sbin/sshd and the cached 6.12 x86_64 kernel build
// (only its UAPI headers are used: the kernel under test is the host's).
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from "node:fs";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import { release, tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { fingerprint } from "../../orchestrator/ssh/known-hosts.ts";
import { type SshdFixture, freePort, makeKey, mountTmpfs, startSilentListener, startSshd, unmountUnder } from "../fixtures/sshd.ts";

const MANIFEST = repoPath("test", "fixtures", "ssh-faults", "manifest.yaml");
const JOB = "6.12-base-x86_64";
/** cowlab's exit codes (orchestrator/cli.ts EXIT): a job that never reached or lost the target is a lab error, 2 */
const EXIT = { ok: 0, kernelFailed: 1, labError: 2 } as const;

let sshd: SshdFixture;
/** every folder a test made, removed at the end (tmpfs mounts first) */
const made: string[] = [];

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd?.stop();
  for (const d of made) {
    unmountUnder(d);
    await rm(d, { recursive: true, force: true });
  }
});

interface TargetFields {
  port: number;
  key_file: string;
  known_hosts: string;
  connect_timeout_s: number;
}

interface Lab {
  /** the target's tmp: a fresh folder on "the target" (this host) */
  tmp: string;
  out: string;
  targets: string;
  port: number;
}

/** A fresh target `local` (its own targets folder, tmp folder and out folder) pointing at the fixture sshd unless told otherwise. */
async function lab(over: Partial<TargetFields> = {}, tmpOf?: (root: string) => string): Promise<Lab> {
  const root = await mkdtemp(join(tmpdir(), "cowlab-sshfault-"));
  made.push(root);
  const f: TargetFields = { port: sshd.port, key_file: sshd.clientKey, known_hosts: sshd.knownHosts, connect_timeout_s: 10, ...over };
  const tmp = tmpOf ? tmpOf(root) : join(root, "remote-tmp");
  execFileSync("mkdir", ["-p", tmp, join(root, "targets")]);
  writeFileSync(
    join(root, "targets", "local.yaml"),
    [
      "kind: ssh",
      "arch: x86_64",
      "address: 127.0.0.1",
      `port: ${f.port}`,
      "user: root",
      "credentials:",
      `  key_file: ${f.key_file}`,
      `known_hosts: ${f.known_hosts}`,
      `tmp: ${tmp}`,
      `connect_timeout_s: ${f.connect_timeout_s}`,
      "",
    ].join("\n"),
  );
  return { tmp, out: join(root, "out"), targets: join(root, "targets"), port: f.port };
}

const cowlab = (l: Lab, tests: string, extra: string[] = []) =>
  execa("node", [repoPath("bin", "cowlab.js"), "run", "--target", "local", "--kernel", "6.12", "--no-explore", "--manifest", MANIFEST, "--tests", tests, "--out", l.out, ...extra], {
    reject: false,
    timeout: 5 * 60_000,
    env: { COWLAB_TARGETS_DIR: l.targets },
  });

const results = async (l: Lab): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(join(l.out, "results.json"), "utf8")));
const rows = (d: RunResults) => d.results.map((r) => `${r.testcase}/${r.case} ${r.status}${r.reason ? `: ${r.reason}` : ""}`);

/**
 * Processes left on "the target" by a run in `tmp`: whatever has the folder in its command
 * line (pgrep -f: the programs run as TMP/cowlab.X/testcases/ID), its working directory (the
 * runner is `sh ./run-testcases.sh` in the folder) or its environment (COWLAB_DIR).
 */
function processesUnder(tmp: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    const read = (f: string): string => {
      try {
        return f === "cwd" ? readlinkSync(`/proc/${name}/cwd`) : readFileSync(`/proc/${name}/${f}`, "utf8");
      } catch {
        return "";
      }
    };
    const cmdline = read("cmdline").replace(/\0/g, " ").trim();
    if (cmdline.includes(tmp) || read("cwd").startsWith(tmp) || read("environ").includes(tmp)) found.push(`${name} ${cmdline}`);
  }
  return found;
}

/** Nothing of the run is left on the target: its tmp is empty and nothing runs from it. */
async function expectNothingLeft(l: Lab): Promise<void> {
  expect(readdirSync(l.tmp)).toEqual([]);
  // a process being killed may take a moment to go
  for (let i = 0; i < 20 && processesUnder(l.tmp).length; i++) await new Promise((r) => setTimeout(r, 100));
  expect(processesUnder(l.tmp)).toEqual([]);
}

/** Every case of the run is `error` with "not run: MESSAGE": the target was never reached. */
function expectNotRun(d: RunResults, tests: string[], message: string): void {
  expect(d.kernels[0]!.status).toBe("guest-error");
  expect(d.kernels[0]!.reason).toBe(message);
  expect(d.kernels[0]!.boot?.ending).toBe("connect-failed");
  expect(rows(d)).toEqual(tests.map((t) => `${t}/* error: not run: ${message}`));
}

async function until(what: string, cond: () => boolean, seconds: number): Promise<void> {
  const end = Date.now() + seconds * 1000;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`waited ${seconds} s for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const hostFp = () => fingerprint(Buffer.from(sshd.hostKeyPub.split(" ")[1]!, "base64"));

describe("cowlab run --target: success", () => {
  it("runs the programs over SSH with --json: boot names the ssh runtime, the target and this kernel's release, with the setup facts", async () => {
    const l = await lab();
    const r = await cowlab(l, "quick", ["--json"]);
    expect(r.exitCode, r.stderr).toBe(EXIT.ok);
    const d = RunResults.parse(JSON.parse(r.stdout));
    const k = d.kernels[0]!;
    expect(k.status).toBe("ok");
    expect(k.release).toBe(release());
    expect(k.boot).toMatchObject({ runtime: "ssh", target: "local", accel: "none", ending: "exited", exit_code: 0 });
    expect(k.boot!.setup).toMatchObject({ uname: release(), cpus: expect.stringMatching(/^\d+$/), numa_nodes: expect.stringMatching(/^\d+$/), swap_kb: expect.stringMatching(/^\d+$/) });
    expect(Object.keys(k.boot!.setup!)).toEqual(expect.arrayContaining(["thp", "hugepages", "gup_test"]));
    expect(rows(d)).toEqual(["quick/first pass", "quick/second pass"]);
    expect(d.run.complete).toBe(true);
    // results.json holds the same run as --json printed
    expect((await results(l)).results).toEqual(d.results);
    await expectNothingLeft(l);
  }, 120_000);
});

describe("cowlab run --target: the target cannot be reached", () => {
  it("a key that is not in authorized_keys: guest-error, authentication failed, which key and where to put it", async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-sshfault-key-"));
    made.push(root);
    const stranger = join(root, "id_stranger");
    makeKey(stranger, "stranger");
    const l = await lab({ key_file: stranger });
    const r = await cowlab(l, "quick");
    const msg = `authentication failed for root@127.0.0.1:${l.port} with key ${stranger} (the server accepted none of the offered methods); check that the public key is in the remote user's authorized_keys`;
    expectNotRun(await results(l), ["quick"], msg);
    expect(r.exitCode).toBe(EXIT.labError);
    await expectNothingLeft(l);
  }, 60_000);

  it("a host key missing from known_hosts: refused, with the fingerprint and the ssh-keyscan line to add it", async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-sshfault-kh-"));
    made.push(root);
    const kh = join(root, "known_hosts");
    writeFileSync(kh, `# other hosts only\n[127.0.0.1]:${await freePort()} ${sshd.hostKeyPub}\n`);
    const l = await lab({ known_hosts: kh });
    const r = await cowlab(l, "quick");
    const msg = `host key of 127.0.0.1:${l.port} is not in ${kh} (offered ssh-ed25519 ${hostFp()}); check it and add it with: ssh-keyscan -p ${l.port} 127.0.0.1 >> ${kh}`;
    expectNotRun(await results(l), ["quick"], msg);
    expect(r.exitCode).toBe(EXIT.labError);
    await expectNothingLeft(l);
  }, 60_000);

  it("another host key for [127.0.0.1]:port: refused as CHANGED, naming the line, both fingerprints and ssh-keygen -R", async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-sshfault-kh-"));
    made.push(root);
    const impostor = makeKey(join(root, "impostor_host_key"), "impostor");
    const kh = join(root, "known_hosts");
    writeFileSync(kh, `[127.0.0.1]:${sshd.port} ${impostor}\n`);
    const l = await lab({ known_hosts: kh });
    const r = await cowlab(l, "quick");
    const oldFp = fingerprint(Buffer.from(impostor.split(" ")[1]!, "base64"));
    const msg = `host key of 127.0.0.1:${l.port} CHANGED: ${kh} line 1 has ${oldFp}, the host offered ${hostFp()}; refusing (if the host was reinstalled, remove the line with ssh-keygen -R '[127.0.0.1]:${l.port}' -f ${kh})`;
    expectNotRun(await results(l), ["quick"], msg);
    expect(r.exitCode).toBe(EXIT.labError);
    await expectNothingLeft(l);
  }, 60_000);

  it("a host that is down (closed port): connection refused, check sshd and the port", async () => {
    const l = await lab({ port: await freePort() });
    const r = await cowlab(l, "quick");
    const msg = `connection to 127.0.0.1:${l.port} refused: nothing listens there; check that sshd runs and the port is right`;
    const d = await results(l);
    expectNotRun(d, ["quick"], msg);
    expect(d.kernels[0]!.boot!.guest_seconds).toBeLessThan(2);
    expect(r.exitCode).toBe(EXIT.labError);
    await expectNothingLeft(l);
  }, 60_000);

  it("a host that never answers SSH (a silent listener): timeout after connect_timeout_s", async () => {
    const silent = await startSilentListener();
    try {
      const l = await lab({ port: silent.port, connect_timeout_s: 2 });
      const r = await cowlab(l, "quick");
      const msg = `no SSH handshake from 127.0.0.1:${l.port} within 2 s (connected: yes, but no usable SSH banner/handshake); check that sshd runs there and the address is right`;
      const d = await results(l);
      expectNotRun(d, ["quick"], msg);
      expect(silent.accepted()).toBe(1);
      expect(d.kernels[0]!.boot!.guest_seconds).toBeGreaterThanOrEqual(1.9);
      expect(d.kernels[0]!.boot!.guest_seconds).toBeLessThan(6);
      expect(r.exitCode).toBe(EXIT.labError);
      await expectNothingLeft(l);
    } finally {
      await silent.close();
    }
  }, 60_000);
});

describe("cowlab run --target: faults during the run", () => {
  it("a program that hangs is stopped at its bound (timeout) and the next testcase still runs and passes", async () => {
    const l = await lab();
    const r = await cowlab(l, "sleeper,quick");
    const d = await results(l);
    expect(d.kernels[0]!.status).toBe("ok"); // the runner and the connection were fine
    expect(d.kernels[0]!.boot!.ending).toBe("exited");
    expect(d.kernels[0]!.boot!.testcases).toEqual([
      { id: "sleeper", ms: expect.any(Number), rc: 137 },
      { id: "quick", ms: expect.any(Number), rc: 0 },
    ]);
    expect(d.kernels[0]!.boot!.testcases![0]!.ms).toBeGreaterThanOrEqual(5000);
    expect(rows(d)).toEqual(["sleeper/first pass", "sleeper/* timeout: sleeper exceeded its 5 s bound after 1 of 2 results", "quick/first pass", "quick/second pass"]);
    expect(r.exitCode).toBe(EXIT.kernelFailed); // a timeout is the kernel's kind of failure
    await expectNothingLeft(l);
  }, 120_000);

  it("the connection dropped mid-run: guest-error (lost), the finished case kept, the rest error naming the lost connection; the runtime reconnects and cleans up", async () => {
    const l = await lab();
    const child = cowlab(l, "slow");
    const log = join(l.out, "guests", JOB, "ssh.log");
    const text = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
    // "[target time] " and the program's four-space nesting
    await until("slow's first result", () => /^\[[\d.]+\] {5}ok 1 first$/m.test(text()), 120);
    // the program is in its 10 s case now: the runner and the program are there
    expect(processesUnder(l.tmp).length).toBeGreaterThan(0);
    expect(sshd.killSessions()).toBeGreaterThan(0);
    const r = await child;
    const d = await results(l);
    const k = d.kernels[0]!;
    expect(k.status).toBe("guest-error");
    expect(k.boot!.ending).toBe("lost");
    const folder = /^# temporary folder (\S+)$/m.exec(text())![1]!;
    expect(folder.startsWith(`${l.tmp}/cowlab.`)).toBe(true);
    const msg = `connection to root@127.0.0.1:${l.port} lost during the run (the server closed the connection); reconnected, stopped the runner and removed ${folder}; check the target's network and sshd log, then run again`;
    expect(k.reason).toBe(msg);
    expect(rows(d)).toEqual(["slow/first pass", `slow/* error: ${msg} in slow after 1 of 2 results`]);
    expect(k.boot!.guest_seconds).toBeLessThan(10); // not waiting for the program's sleep to end
    expect(r.exitCode).toBe(EXIT.labError);
    expect(text()).toContain(`# temporary folder ${folder} removed\n`);
    await expectNothingLeft(l);
  }, 120_000);

  it("the target does not come back after the drop: the message says so and names what may be left and how to remove it", async () => {
    const gone = await startSshd();
    let stopped = false;
    try {
      // the key and known_hosts outlive the fixture's folder, as a real host's would
      const keep = await mkdtemp(join(tmpdir(), "cowlab-sshfault-keys-"));
      made.push(keep);
      await copyFile(gone.clientKey, join(keep, "id"));
      await copyFile(gone.knownHosts, join(keep, "known_hosts"));
      const l = await lab({ port: gone.port, key_file: join(keep, "id"), known_hosts: join(keep, "known_hosts") });
      const child = cowlab(l, "slow");
      const log = join(l.out, "guests", JOB, "ssh.log");
      const text = () => (existsSync(log) ? readFileSync(log, "utf8") : "");
      await until("slow's first result", () => /^\[[\d.]+\] {5}ok 1 first$/m.test(text()), 120);
      await gone.stop(); // the listener and every session with what it runs: the host is down
      stopped = true;
      const r = await child;
      const d = await results(l);
      const k = d.kernels[0]!;
      const folder = /^# temporary folder (\S+)$/m.exec(text())![1]!;
      expect(k.status).toBe("guest-error");
      expect(k.boot!.ending).toBe("lost");
      expect(k.reason).toBe(
        `connection to root@127.0.0.1:${l.port} lost during the run (the server closed the connection) and it did not come back: the runner and ${folder} may be left there; check the target, then remove them by hand: pkill -s "$(cat '${folder}/runner.pid')"; rm -rf '${folder}'`,
      );
      expect(rows(d)).toEqual(["slow/first pass", `slow/* error: ${k.reason} in slow after 1 of 2 results`]);
      // three connection attempts, 2 s apart, before giving up
      expect(k.boot!.guest_seconds).toBeGreaterThan(4);
      expect(r.exitCode).toBe(EXIT.labError);
      expect(text()).toContain(`# temporary folder ${folder} NOT removed (the target could not be reached)\n`);
      // what the message says may be left is there (the fixture's stop() killed the processes)
      expect(readdirSync(l.tmp)).toEqual([folder.slice(l.tmp.length + 1)]);
      expect(processesUnder(l.tmp)).toEqual([]);
    } finally {
      if (!stopped) await gone.stop();
    }
  }, 120_000);

  it("a full temporary directory on the target: guest-error, no space left in that folder, nothing left in it", async () => {
    const l = await lab({}, (root) => join(root, "small-tmp"));
    mountTmpfs(l.tmp, "1m");
    const r = await cowlab(l, "quick,slow");
    const d = await results(l);
    const k = d.kernels[0]!;
    expect(k.status).toBe("guest-error");
    expect(k.boot!.ending).toBe("connect-failed");
    // the folder was made (and is gone now); the upload that did not fit names it
    const log = readFileSync(join(l.out, "guests", JOB, "ssh.log"), "utf8");
    const folder = /^# temporary folder (\S+)$/m.exec(log)![1]!;
    expect(folder).toMatch(new RegExp(`^${l.tmp}/cowlab\\.\\w{8}$`));
    expect(log).toContain(`# temporary folder ${folder} removed\n`);
    const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    expect(k.reason).toMatch(
      new RegExp(
        `^upload to root@127\\.0\\.0\\.1:${l.port} failed: no space left on 127\\.0\\.0\\.1:${l.port} for ${esc(folder)}/testcases/(quick|slow) \\(\\d+ bytes; df: \\d+ KiB available in ${esc(folder)}/testcases\\); the partial file was removed; free space there or upload elsewhere$`,
      ),
    );
    expect(rows(d)).toEqual([`quick/* error: not run: ${k.reason}`, `slow/* error: not run: ${k.reason}`]);
    expect(r.exitCode).toBe(EXIT.labError);
    await expectNothingLeft(l);
  }, 60_000);
});
