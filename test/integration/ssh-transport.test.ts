// The SSH transport against a real OpenSSH sshd on 127.0.0.1 (test/fixtures/sshd.ts): the
// success path, and every connect/exec/upload fault with its typed kind and its message.
// Needs root (sshd, tmpfs mount) and /usr/sbin/sshd.
import { execFileSync } from "node:child_process";
import { existsSync, readdirSync, statSync, writeFileSync } from "node:fs";
import { release } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fingerprint } from "../../orchestrator/ssh/known-hosts.ts";
import { type SshEndpoint, type SshFailure, type SshSession, connectSsh } from "../../orchestrator/ssh/session.ts";
import type { Result } from "../../orchestrator/util/result.ts";
import { type SshdFixture, freePort, makeKey, mountTmpfs, startSilentListener, startSshd } from "../fixtures/sshd.ts";

let sshd: SshdFixture;
let ep: SshEndpoint;
const sessions: SshSession[] = [];
/** remote process groups the tests left running on purpose (the dropped-connection case) */
const leftovers: number[] = [];

beforeAll(async () => {
  sshd = await startSshd();
  ep = { host: "127.0.0.1", port: sshd.port, user: "root", keyFile: sshd.clientKey, knownHosts: sshd.knownHosts, connectTimeoutS: 10 };
});

afterAll(async () => {
  // stop() kills every process under the listener (the sessions' shells too, so a failed
  // timeout test leaves no `sleep 600`): before the sessions close and orphan them
  await sshd?.stop();
  for (const s of sessions) await s.close();
  for (const pgid of leftovers) {
    try {
      process.kill(-pgid, "SIGKILL");
    } catch {
      /* gone */
    }
  }
});

async function connected(over: Partial<SshEndpoint> = {}): Promise<SshSession> {
  const r = await connectSsh({ ...ep, ...over });
  if (!r.ok) throw new Error(`connect failed: ${r.error.kind}: ${r.error.message}`);
  sessions.push(r.value);
  return r.value;
}

function failure<T>(r: Result<T, SshFailure>): SshFailure {
  if (r.ok) throw new Error(`expected a failure, got ${JSON.stringify(r.value)}`);
  return r.error;
}

/** pids of processes whose whole command line is exactly `cmd` */
function pgrepExact(cmd: string): number[] {
  try {
    return execFileSync("pgrep", ["-x", "-f", cmd], { encoding: "utf8" }).trim().split("\n").filter(Boolean).map(Number);
  } catch {
    return []; // exit 1: none
  }
}

const hostFp = () => fingerprint(Buffer.from(sshd.hostKeyPub.split(" ")[1]!, "base64"));

describe("ssh transport: success", () => {
  it("runs a command: uname -r is this kernel, exit codes and stderr come back", async () => {
    const s = await connected();
    expect(s.alive).toBe(true);
    const u = await s.exec("uname -r");
    expect(u).toEqual({ ok: true, value: { code: 0, signal: null, stdout: release() + "\n", stderr: "", timedOut: false, lost: false } });
    const e = await s.exec("echo out; echo oops >&2; exit 3");
    expect(e.ok && e.value).toMatchObject({ code: 3, signal: null, stdout: "out\n", stderr: "oops\n" });
    const k = await s.exec("kill -KILL $$");
    expect(k.ok && k.value).toMatchObject({ code: null, signal: "KILL", timedOut: false, lost: false });
    const c = await s.exec("tr a-z A-Z", { stdin: "abc\ndef\n" });
    expect(c.ok && c.value.stdout).toBe("ABC\nDEF\n");
  });

  it("streams stdout line by line, in order, while the command runs", async () => {
    const s = await connected();
    const seen: { line: string; at: number }[] = [];
    const t0 = Date.now();
    const r = await s.exec("for i in 1 2 3 4 5; do echo line$i; sleep 0.2; done; printf tail", {
      onLine: (line) => seen.push({ line, at: Date.now() - t0 }),
    });
    const end = Date.now() - t0;
    expect(r.ok && r.value.code).toBe(0);
    expect(seen.map((x) => x.line)).toEqual(["line1", "line2", "line3", "line4", "line5", "tail"]);
    // the first line arrived long before the command ended: streamed, not collected at the end
    expect(end - seen[0]!.at).toBeGreaterThan(600);
    expect(r.ok && r.value.stdout).toBe("line1\nline2\nline3\nline4\nline5\ntail");
  });

  it("uploads a file with its mode and runs it", async () => {
    const s = await connected();
    const local = join(sshd.dir, "local-script.sh");
    writeFileSync(local, "#!/bin/sh\necho \"hello $1\"\nexit 7\n");
    const remote = join(sshd.dir, "remote", "script.sh");
    execFileSync("mkdir", ["-p", join(sshd.dir, "remote")]);
    const up = await s.upload(local, remote, 0o755);
    expect(up).toEqual({ ok: true, value: undefined });
    expect(statSync(remote).mode & 0o777).toBe(0o755);
    const r = await s.exec(`${remote} world`);
    expect(r.ok && r.value).toMatchObject({ code: 7, stdout: "hello world\n" });
    // a bigger file arrives byte for byte
    const big = join(sshd.dir, "big-local.bin");
    execFileSync("dd", ["if=/dev/urandom", `of=${big}`, "bs=1M", "count=3", "status=none"]);
    expect((await s.upload(big, join(sshd.dir, "remote", "big.bin"))).ok).toBe(true);
    const sum = (f: string) => execFileSync("sha256sum", [f], { encoding: "utf8" }).split(" ")[0];
    expect(sum(join(sshd.dir, "remote", "big.bin"))).toBe(sum(big));
  });

  it("close() ends the session: alive turns false and later calls are 'lost', not hangs", async () => {
    const r = await connectSsh(ep);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    await r.value.close();
    expect(r.value.alive).toBe(false);
    const f = failure(await r.value.exec("true"));
    expect(f.kind).toBe("lost");
    expect(f.message).toContain(`root@127.0.0.1:${sshd.port}`);
  });
});

describe("ssh transport: connect faults", () => {
  it("a key the server does not know is 'auth', naming user@host:port and the key file", async () => {
    const other = join(sshd.dir, "stranger_key");
    makeKey(other, "stranger");
    const f = failure(await connectSsh({ ...ep, keyFile: other }));
    expect(f.kind).toBe("auth");
    expect(f.message).toBe(
      `authentication failed for root@127.0.0.1:${sshd.port} with key ${other} (the server accepted none of the offered methods); check that the public key is in the remote user's authorized_keys`,
    );
  });

  it("a host key missing from known_hosts is 'host-key-unknown' with the fingerprint and the ssh-keyscan line", async () => {
    const kh = join(sshd.dir, "known_hosts_empty");
    writeFileSync(kh, "# nothing here\n");
    const f = failure(await connectSsh({ ...ep, knownHosts: kh }));
    expect(f.kind).toBe("host-key-unknown");
    expect(f.message).toBe(
      `host key of 127.0.0.1:${sshd.port} is not in ${kh} (offered ssh-ed25519 ${hostFp()}); check it and add it with: ssh-keyscan -p ${sshd.port} 127.0.0.1 >> ${kh}`,
    );
    // a known_hosts file that does not exist is the same refusal, not an acceptance
    const missing = join(sshd.dir, "no-such-known_hosts");
    const g = failure(await connectSsh({ ...ep, knownHosts: missing }));
    expect(g.kind).toBe("host-key-unknown");
    expect(g.message).toContain(`is not in ${missing}`);
  });

  it("another key for [127.0.0.1]:port is 'host-key-changed' naming the line, both fingerprints and ssh-keygen -R", async () => {
    const impostor = join(sshd.dir, "impostor_host_key");
    const pub = makeKey(impostor, "impostor");
    const kh = join(sshd.dir, "known_hosts_changed");
    writeFileSync(kh, `# line 1\nlocalhost ${sshd.hostKeyPub}\n[127.0.0.1]:${sshd.port} ${pub}\n`);
    const f = failure(await connectSsh({ ...ep, knownHosts: kh }));
    expect(f.kind).toBe("host-key-changed");
    const oldFp = fingerprint(Buffer.from(pub.split(" ")[1]!, "base64"));
    expect(f.message).toBe(
      `host key of 127.0.0.1:${sshd.port} CHANGED: ${kh} line 3 has ${oldFp}, the host offered ${hostFp()}; refusing (if the host was reinstalled, remove the line with ssh-keygen -R '[127.0.0.1]:${sshd.port}' -f ${kh})`,
    );
  });

  it("a closed port is 'refused'", async () => {
    const port = await freePort();
    const t0 = Date.now();
    const f = failure(await connectSsh({ ...ep, port }));
    expect(f.kind).toBe("refused");
    expect(f.message).toBe(`connection to 127.0.0.1:${port} refused: nothing listens there; check that sshd runs and the port is right`);
    expect(Date.now() - t0).toBeLessThan(2_000);
  });

  it("a listener that never speaks SSH is 'timeout' after connectTimeoutS", async () => {
    const silent = await startSilentListener();
    try {
      const t0 = Date.now();
      const f = failure(await connectSsh({ ...ep, port: silent.port, connectTimeoutS: 2 }));
      const took = Date.now() - t0;
      expect(f.kind).toBe("timeout");
      expect(f.message).toBe(
        `no SSH handshake from 127.0.0.1:${silent.port} within 2 s (connected: yes, but no usable SSH banner/handshake); check that sshd runs there and the address is right`,
      );
      expect(silent.accepted()).toBe(1);
      expect(took).toBeGreaterThanOrEqual(1_900);
      expect(took).toBeLessThan(4_000);
    } finally {
      await silent.close();
    }
  });
});

describe("ssh transport: exec and upload faults", () => {
  it("a command that outlives timeoutS is timedOut, and nothing of it is left running", async () => {
    const s = await connected();
    expect(pgrepExact("sleep 600")).toEqual([]);
    const t0 = Date.now();
    const r = await s.exec("sleep 600", { timeoutS: 2 });
    const took = Date.now() - t0;
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.value.timedOut).toBe(true);
    expect(r.value.code).toBeNull();
    expect(r.value.signal).toBe("TERM");
    expect(took).toBeGreaterThanOrEqual(2_000);
    expect(took).toBeLessThan(6_000);
    expect(pgrepExact("sleep 600")).toEqual([]);
    // the session is still usable afterwards
    const again = await s.exec("echo still here");
    expect(again.ok && again.value.stdout).toBe("still here\n");
  });

  it("a connection dropped in mid-exec is 'lost' within seconds, and later calls say so too", async () => {
    const s = await connected();
    let pid: number | undefined;
    const pending = s.exec("echo $$; sleep 30; echo x", { onLine: (l) => (pid ??= Number(l)) });
    const t0 = Date.now();
    while (pid === undefined && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
    expect(pid).toBeGreaterThan(1);
    leftovers.push(pid!);
    expect(sshd.killSessions()).toBeGreaterThan(0);
    const t1 = Date.now();
    const r = await pending;
    expect(Date.now() - t1).toBeLessThan(5_000);
    const f = failure(r);
    expect(f.kind).toBe("lost");
    expect(f.message).toMatch(
      new RegExp(
        `^connection to root@127\\.0\\.0\\.1:${sshd.port} lost during exec of "echo \\$\\$; sleep 30; echo x" \\(.+\\); the remote command may still be running; check the host and reconnect$`,
      ),
    );
    expect(f.detail).toBe(`${pid}`);
    expect(s.alive).toBe(false);
    const later = failure(await s.exec("true"));
    expect(later.kind).toBe("lost");
    const up = failure(await s.upload(sshd.authorizedKeys, "/tmp/x"));
    expect(up.kind).toBe("lost");
    // the listener survived: a new session works
    const s2 = await connected();
    expect((await s2.exec("true")).ok).toBe(true);
  });

  it("a peer that goes silent (sshd stopped) is noticed by the keepalive: 'lost', not a hang", { timeout: 30_000 }, async () => {
    const s = await connected({ keepaliveS: 1 });
    let pid: number | undefined;
    const pending = s.exec("echo $$; sleep 60", { onLine: (l) => (pid ??= Number(l)) });
    const t0 = Date.now();
    while (pid === undefined && Date.now() - t0 < 5_000) await new Promise((r) => setTimeout(r, 20));
    expect(pid).toBeGreaterThan(1);
    leftovers.push(pid!);
    try {
      expect(sshd.killSessions("SIGSTOP")).toBeGreaterThan(0);
      const t1 = Date.now();
      const f = failure(await pending);
      const took = Date.now() - t1;
      expect(f.kind).toBe("lost");
      expect(f.message).toBe(
        `connection to root@127.0.0.1:${sshd.port} lost during exec of "echo $$; sleep 60" (Keepalive timeout); the remote command may still be running; check the host and reconnect`,
      );
      // 1 s interval, 3 unanswered: about 4 s, never the 60 s of the command
      expect(took).toBeGreaterThan(2_000);
      expect(took).toBeLessThan(10_000);
      expect(s.alive).toBe(false);
    } finally {
      sshd.killSessions("SIGKILL"); // stopped sessions are ours: end them
    }
  });

  it("an upload to a full disk is 'no-space' naming the remote path, and leaves no partial file", async () => {
    const full = join(sshd.dir, "full");
    const unmount = mountTmpfs(full, "1m");
    try {
      const s = await connected();
      const local = join(sshd.dir, "four-mib.bin");
      execFileSync("dd", ["if=/dev/zero", `of=${local}`, "bs=1M", "count=4", "status=none"]);
      const remote = join(full, "image.bin");
      const f = failure(await s.upload(local, remote, 0o644));
      expect(f.kind).toBe("no-space");
      expect(f.message).toMatch(
        new RegExp(
          `^no space left on 127\\.0\\.0\\.1:${sshd.port} for ${remote.replace(/[.]/g, "\\.")} \\(4194304 bytes; df: \\d+ KiB available in ${full.replace(/[.]/g, "\\.")}\\); the partial file was removed; free space there or upload elsewhere$`,
        ),
      );
      expect(f.detail).toMatch(/^SFTP: /);
      expect(existsSync(remote)).toBe(false);
      expect(readdirSync(full)).toEqual([]);
      // a write failure that is not a full disk stays "remote": a missing directory
      const g = failure(await s.upload(local, join(sshd.dir, "no-such-dir", "x.bin")));
      expect(g.kind).toBe("remote");
      expect(g.message).toContain(`upload of ${join(sshd.dir, "no-such-dir", "x.bin")} to 127.0.0.1:${sshd.port} failed: No such file`);
      // and the session still works after both
      expect((await s.exec("true")).ok).toBe(true);
    } finally {
      unmount();
    }
  });
});
