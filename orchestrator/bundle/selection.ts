// What the bundle's guest runs: the job's guest narrowed to one case. The runner reads its
// selection from /etc/cowlab.env (guests/run-testcases.sh: COWLAB_TESTCASES, and per
// testcase COWLAB_TIMEOUT_<id> and COWLAB_FILTER_<id>, the program's KTAP_FILTER_GLOB), so
// the bundle lays a rewritten env over the job's initramfs; the set-up lines (THP, swap,
// hugepages, console level) stay as the job had them.
import { readNewc, writeNewc, type CpioFile } from "./cpio.ts";

export interface GuestSelection {
  /** the program the guest runs (a testcase id, or the bundle's compiled explorer reproducer) */
  program: string;
  /** the case the program runs (a KTAP case name), or "*" for every case the job ran */
  case: string;
  /** the program's bound (s) when the job's env has none for it */
  timeoutS: number;
}

/** The env file's name for a program id: the runner's `tr - _`. */
const envName = (id: string): string => id.replace(/-/g, "_");

const SELECTION_LINE = /^COWLAB_(TESTCASES|TIMEOUT_\w+|FILTER_\w+|EXPLORE_BUDGET)=/;

/**
 * The job's env with only `sel` selected: its set-up lines as they were, one program, its
 * bound (the job's, if it had one), and the case as the program's filter. A "*" selection
 * keeps the job's own filter for that program (the result was about the program as a whole).
 */
export function narrowEnv(env: string, sel: GuestSelection): string {
  const v = envName(sel.program);
  const lines = env.split("\n").filter((l) => l.trim() !== "");
  const own = (key: string): string | undefined => lines.find((l) => l.startsWith(`COWLAB_${key}_${v}=`));
  const kept = lines.filter((l) => !SELECTION_LINE.test(l));
  const filter = sel.case === "*" ? own("FILTER") : `COWLAB_FILTER_${v}="${sel.case}"`;
  return [...kept, `COWLAB_TESTCASES="${sel.program}"`, own("TIMEOUT") ?? `COWLAB_TIMEOUT_${v}=${sel.timeoutS}`, ...(filter ? [filter] : [])].join("\n") + "\n";
}

export const ENV_FILE = "etc/cowlab.env";
export const INTERP_FILE = "explore/interp";

/** The runner's env as the job's initramfs holds it. */
export function jobEnv(initramfs: Buffer): string {
  const env = readNewc(initramfs).find((f) => f.name === ENV_FILE);
  if (!env) throw new Error(`no ${ENV_FILE} in it (not a cowlab initramfs)`);
  return env.data.toString("utf8");
}

/**
 * The archive laid over the job's initramfs: the narrowed env, any program the bundle adds,
 * and, when the job's guest had the explorer, its interpreter replaced by an empty file that
 * is not executable (the runner runs the explorer only when `explore/interp` is), since a
 * later archive can replace a file but not remove it.
 */
export function selectionOverlay(initramfs: Buffer, sel: GuestSelection, programs: CpioFile[] = []): Buffer {
  const files = readNewc(initramfs);
  const env = files.find((f) => f.name === ENV_FILE);
  if (!env) throw new Error(`no ${ENV_FILE} in it (not a cowlab initramfs)`);
  const hasExplorer = files.some((f) => f.name === INTERP_FILE);
  return writeNewc([
    { name: ENV_FILE, mode: 0o644, data: Buffer.from(narrowEnv(env.data.toString("utf8"), sel)) },
    ...(hasExplorer ? [{ name: INTERP_FILE, mode: 0o644, data: Buffer.alloc(0) }] : []),
    ...programs,
  ]);
}
