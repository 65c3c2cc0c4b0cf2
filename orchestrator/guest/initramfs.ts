import { mkdir, copyFile, writeFile, chmod, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import type { Testcase } from "../config/testcases.ts";
import { cachePath, repoPath } from "../util/paths.ts";
import { contentKey, sha256, sha256File, sha256FileCached } from "../util/hash.ts";
import { ensureEntry, exists, FillError, fillFailure, markUsed, writeFileAtomic } from "../util/fsx.ts";
import { uniqueSuffix } from "../util/unique.ts";
import { ok, type Result } from "../util/result.ts";

/** What the runner may change on the guest before the programs run (guests/run-testcases.sh). */
export interface GuestSetup {
  thp: "always" | "madvise" | "never" | "keep";
  zram: string | "none";
  hugepages: number | "keep";
  /** put THP, hugepages and swap back when done (a machine the lab does not own) */
  restore?: boolean;
  /** console loglevel 5: the programs share the serial line with the kernel */
  quietConsole?: boolean;
}
/** The lab's own guests: THP always, 16 hugetlb pages, 256 MiB swap on zram. */
export const DEFAULT_SETUP: GuestSetup = { thp: "always", zram: "256M", hugepages: 16, quietConsole: true };

/**
 * Shell-safe env file the init script sources: the testcases in order, their bounds, and,
 * when the host planned the cases, each testcase's case names (the program's
 * KTAP_FILTER_GLOB; names are [a-z0-9-], so they are their own globs), so the guest runs
 * exactly what was planned.
 */
export function guestEnv(testcases: Testcase[], setup: GuestSetup, cases?: Record<string, string[]>, explore?: GuestExplore): string {
  const v = (t: Testcase): string => t.id.replace(/-/g, "_");
  const lines = [
    `COWLAB_THP=${setup.thp}`,
    `COWLAB_ZRAM_SIZE=${setup.zram}`,
    `COWLAB_HUGEPAGES=${setup.hugepages}`,
    ...(setup.restore ? ["COWLAB_RESTORE=1"] : []),
    ...(setup.quietConsole ? ["COWLAB_QUIET_CONSOLE=1"] : []),
    `COWLAB_TESTCASES="${testcases.map((t) => t.id).join(" ")}"`,
    ...testcases.map((t) => `COWLAB_TIMEOUT_${v(t)}=${t.timeout_s}`),
    ...testcases.filter((t) => cases?.[t.id]).map((t) => `COWLAB_FILTER_${v(t)}="${cases![t.id]!.join(",")}"`),
    ...(explore ? [`COWLAB_EXPLORE_BUDGET=${explore.budgetS}`] : []),
  ];
  return lines.join("\n") + "\n";
}

/** The runner every runtime uses (the initramfs's init sources it; SSH runtimes upload it). */
export const RUNNER = repoPath("guests", "run-testcases.sh");

/** The explorer's part of a guest: its interpreter and the scenario lines it runs. */
export interface GuestExplore {
  interp: string;
  scenarios: string[];
  budgetS: number;
}

/**
 * Assemble the guest's initramfs: busybox, the init script, the reproducers. The cpio is
 * written with --reproducible from a sorted file list, so equal inputs give equal bytes.
 */
export async function buildInitramfs(
  busybox: string,
  reproducerDir: string,
  testcases: Testcase[],
  opts: { setup?: GuestSetup; cases?: Record<string, string[]>; explore?: GuestExplore } = {},
): Promise<Result<string>> {
  const init = await readFile(repoPath("guests", "init.sh"), "utf8");
  const runner = await readFile(RUNNER, "utf8");
  const env = guestEnv(testcases, opts.setup ?? DEFAULT_SETUP, opts.cases, opts.explore);
  const bins = await Promise.all(testcases.map(async (t) => sha256FileCached(join(reproducerDir, t.id))));
  const ex = opts.explore;
  const scenarios = ex ? ex.scenarios.join("\n") + "\n" : "";
  const explore = ex ? [await sha256FileCached(ex.interp), sha256(scenarios)] : [];
  const key = contentKey({ init: sha256(init), runner: sha256(runner), env: sha256(env), busybox: await sha256FileCached(busybox), bins, explore });
  const out = cachePath("initramfs", `${key}.cpio`);
  const valid = async (): Promise<boolean> =>
    (await exists(out)) && (await sha256File(out)) === (await readFile(`${out}.sha256`, "utf8").catch(() => "")).trim();
  try {
    await ensureEntry(out, valid, async () => {
      const stage = cachePath("initramfs", `${key}.stage-${uniqueSuffix()}`);
      try {
        for (const d of ["bin", "etc", "proc", "sys", "dev", "tmp", "testcases"]) await mkdir(join(stage, d), { recursive: true });
        await copyFile(busybox, join(stage, "bin", "busybox"));
        await writeFile(join(stage, "init"), init);
        await chmod(join(stage, "init"), 0o755);
        await writeFile(join(stage, "run-testcases.sh"), runner);
        await writeFile(join(stage, "etc", "cowlab.env"), env);
        for (const t of testcases) await copyFile(join(reproducerDir, t.id), join(stage, "testcases", t.id));
        if (ex) {
          await mkdir(join(stage, "explore"));
          await copyFile(ex.interp, join(stage, "explore", "interp"));
          await writeFile(join(stage, "explore", "scenarios.txt"), scenarios);
        }
        // Every mtime to the epoch first: cpio stores them, and the staging folders' own would
        // make two assemblies of the same inputs differ.
        const cpio = await execa("sh", ["-c", "find . -exec touch -h -d @0 {} + && find . | LC_ALL=C sort | cpio -o -H newc --reproducible --quiet"], { cwd: stage, encoding: "buffer", reject: false });
        if (cpio.exitCode !== 0) throw new FillError("cpio failed", Buffer.from(cpio.stderr).toString());
        const bytes = Buffer.from(cpio.stdout);
        await writeFileAtomic(`${out}.sha256`, sha256(bytes));
        await writeFileAtomic(out, bytes);
      } finally {
        await rm(stage, { recursive: true, force: true });
      }
    });
  } catch (e) {
    return fillFailure("guest", e, "assembling the initramfs failed: ");
  }
  await markUsed(out);
  return ok(out);
}
