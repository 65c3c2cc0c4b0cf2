// `cowlab run --target NAME --install`: put the job's built kernel on an SSH target and boot
// it before the cases run. kexec loads it and jumps to it (no firmware, no boot loader); a
// reboot leaves the choice of kernel to the target's boot loader, which must be set to boot
// install.image_path. Either way the lab then waits for SSH to come back on a new boot with
// the built kernel's release: a target that does not come back, or comes back with another
// kernel, is a clear failure rather than a run on the wrong kernel.
import type { SshTarget } from "../config/targets.ts";
import type { KernelBuild } from "../build/kernel.ts";
import { connectSsh, type SshEndpoint, type SshSession } from "../ssh/session.ts";

export type InstallOutcome = { ok: true; seconds: number; release: string } | { ok: false; failure: string; seconds: number };

const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function bootState(s: SshSession): Promise<{ bootId: string; release: string } | undefined> {
  const r = await s.exec("cat /proc/sys/kernel/random/boot_id; uname -r", { timeoutS: 30 });
  if (!r.ok || r.value.code !== 0) return undefined;
  const [bootId, release] = r.value.stdout.trim().split("\n");
  return bootId && release ? { bootId, release } : undefined;
}

export async function installKernel(target: SshTarget, ep: SshEndpoint, build: KernelBuild, progress: (stage: string, detail?: string) => void): Promise<InstallOutcome> {
  const started = performance.now();
  const seconds = (): number => Math.round((performance.now() - started) / 100) / 10;
  const how = target.install;
  if (!how) return { ok: false, failure: `target ${target.name} has no install: section (${target.file}), so --install may not put a kernel on it`, seconds: 0 };
  const where = `${ep.user}@${ep.host}:${ep.port}`;
  const c = await connectSsh(ep);
  if (!c.ok) return { ok: false, failure: c.error.message, seconds: seconds() };
  const s = c.value;
  try {
    const before = await bootState(s);
    if (!before) return { ok: false, failure: `${where}: cannot read boot_id and uname -r before installing`, seconds: seconds() };
    progress("install", `${build.release} to ${where}:${how.image_path} (${how.method})`);
    const up = await s.upload(build.image, how.image_path, 0o644);
    if (!up.ok) return { ok: false, failure: `installing ${build.release} on ${where} failed: ${up.error.message}`, seconds: seconds() };
    // The jump happens a second later, from a process of its own, so this command returns
    // (and its answer arrives) before the connection goes down with the old kernel.
    const go =
      how.method === "kexec"
        ? `kexec -l ${q(how.image_path)} --reuse-cmdline && (nohup sh -c 'sleep 1; sync; kexec -e' >/dev/null 2>&1 &)`
        : `(nohup sh -c 'sleep 1; sync; reboot' >/dev/null 2>&1 &)`;
    const r = await s.exec(go, { timeoutS: 60 });
    if (!r.ok) return { ok: false, failure: `installing ${build.release} on ${where} failed: ${r.error.message}`, seconds: seconds() };
    if (r.value.code !== 0) return { ok: false, failure: `installing ${build.release} on ${where} failed: ${how.method === "kexec" ? "kexec -l" : "reboot"} exited ${r.value.code}: ${r.value.stderr.trim().split("\n").at(-1) ?? ""}`, seconds: seconds() };
    await s.close();
    progress("install", `waiting up to ${how.boot_timeout_s} s for ${where} to come back with ${build.release}`);
    const until = performance.now() + how.boot_timeout_s * 1000;
    let last = "it did not answer";
    await sleep(2000);
    while (performance.now() < until) {
      const again = await connectSsh({ ...ep, connectTimeoutS: Math.max(2, Math.min(ep.connectTimeoutS ?? 20, Math.ceil((until - performance.now()) / 1000))) });
      if (again.ok) {
        const now = await bootState(again.value);
        await again.value.close();
        if (now && now.bootId !== before.bootId) {
          if (now.release === build.release) return { ok: true, seconds: seconds(), release: now.release };
          return { ok: false, failure: `${where} came back running ${now.release}, not the installed ${build.release} (${how.method === "reboot" ? "is its boot loader set to boot " + how.image_path + "?" : "kexec booted another kernel"})`, seconds: seconds() };
        }
        last = now ? "it answered on the old boot (the kernel was not booted yet)" : "it answered but could not say which kernel runs";
      } else last = again.error.message;
      await sleep(2000);
    }
    return { ok: false, failure: `${where} did not come back within ${how.boot_timeout_s} s after ${how.method} into ${build.release} (last: ${last})`, seconds: seconds() };
  } finally {
    if (s.alive) await s.close();
  }
}
