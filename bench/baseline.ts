// bench/baseline: the lab as it was at an older commit, run in the same bench run as today's,
// so that a speed ratio compares two revisions on the same machine under the same load (a
// figure remembered from another day compares two loads as much as two revisions).
//
// The older revision runs from a git worktree of its own (its own bin/cowlab.js, specs,
// testcases and guests) and shares what the caller's environment gives it: the lab cache
// (COWLAB_CACHE, or the default ~/.cache/cowlab, which both revisions resolve alike) and so
// the downloaded sources and whatever kernels both revisions key alike.
import { lstat, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { repoPath, repoRoot } from "../orchestrator/util/paths.ts";

/** A checkout of the lab: its folder and the commit it is at. */
export interface Checkout {
  dir: string;
  sha: string;
  /** how the bench names it: "HEAD" or the revision as given */
  label: string;
}

const git = async (args: string[], cwd = repoRoot): Promise<string> => (await execa("git", args, { cwd })).stdout.trim();

/** This checkout, as the side every baseline is compared with. */
export async function headCheckout(): Promise<Checkout> {
  return { dir: repoRoot, sha: await git(["rev-parse", "HEAD"]), label: "HEAD" };
}

/**
 * A detached worktree of REV in the temporary folder, named by its commit, reused when it is
 * already there at that commit (a second bench run pays no checkout). Anything else at that
 * path is an error, never removed: it is not ours to delete.
 */
export async function baselineCheckout(rev: string): Promise<Checkout> {
  const sha = await git(["rev-parse", "--verify", "--quiet", `${rev}^{commit}`]).catch(() => {
    throw new Error(`--baseline ${rev}: not a commit of ${repoRoot}`);
  });
  const dir = join(tmpdir(), `cowlab-baseline-${sha.slice(0, 12)}`);
  if (await lstat(dir).catch(() => undefined)) {
    const at = await git(["rev-parse", "HEAD"], dir).catch(() => "");
    if (at !== sha) throw new Error(`${dir} exists but is not a checkout of ${sha} (HEAD there: ${at || "none"}): remove it, or bench another revision`);
  } else {
    // -f: a worktree whose folder was deleted (a cleaned /tmp) stays registered, and a plain
    // add refuses its path; the folder itself is known to be absent here.
    await execa("git", ["worktree", "add", "--detach", "-f", dir, sha], { cwd: repoRoot });
  }
  // The lab's packages, not a second `npm ci` (minutes, and the network): an older revision's
  // dependencies differ little from today's (the same CLI, execa, zod, yaml, tsx), so it runs
  // on this checkout's node_modules. A revision whose code needs a package today's lack fails
  // at its first import, loudly, not with a wrong figure.
  const modules = join(dir, "node_modules");
  if (!(await lstat(modules).catch(() => undefined))) await symlink(repoPath("node_modules"), modules);
  return { dir, sha, label: rev };
}

/** One `cowlab` command as a checkout ran it. */
export interface CowlabRun {
  /** null when a signal ended it */
  exitCode: number | null;
  /** wall time, start to exit */
  seconds: number;
  stdout: string;
  stderr: string;
}

/**
 * `node bin/cowlab.js ARGS` of the checkout in DIR, in that folder, with ENV over ours and
 * CI=1 (plain progress lines, no terminal redraws). Its progress (stderr) is shown as it
 * comes and kept; a non-zero exit is the caller's to judge (1 is a regression, not a failure
 * of the bench).
 */
export async function cowlabAt(dir: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CowlabRun> {
  const t = performance.now();
  const r = await execa("node", [join(dir, "bin", "cowlab.js"), ...args], { cwd: dir, env: { ...process.env, ...env, CI: "1" }, reject: false, stderr: ["pipe", "inherit"] });
  return { exitCode: r.exitCode ?? null, seconds: (performance.now() - t) / 1000, stdout: r.stdout, stderr: r.stderr };
}

/**
 * Whether the checkout's `cowlab COMMAND` takes OPTION, from its --help: an older revision may
 * predate an option (e9f0309 has no explorer, so no --no-explore, and no bisect --repeat), and
 * commander stops at an unknown one with exit 2.
 */
export async function takesOption(dir: string, command: string, option: string): Promise<boolean> {
  const r = await execa("node", [join(dir, "bin", "cowlab.js"), command, "--help"], { cwd: dir, reject: false });
  return new RegExp(`(^|[\\s,])${option}(?![\\w-])`, "m").test(r.stdout);
}

/** A run that neither passed nor found a regression (0, 1): the bench's figures would be wrong. */
export function requireRan(who: Checkout, what: string, r: CowlabRun): void {
  if (r.exitCode === 0 || r.exitCode === 1) return;
  throw new Error(`${who.label} (${who.sha.slice(0, 12)}): ${what} exited ${r.exitCode ?? "on a signal"}:\n${r.stderr.split("\n").slice(-20).join("\n")}`);
}
