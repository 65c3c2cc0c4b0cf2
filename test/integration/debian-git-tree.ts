// A Linux git tree made offline from a Debian source: the 6.12 tree as one commit tagged
// "base", a patch series on top (git am). Built once per machine under the cache, shared
// by the tests that need a git tree (bisection, kernels from a git revision).
import { readdir } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../../orchestrator/util/paths.ts";
import { resolveSource } from "../../orchestrator/sources/index.ts";
import { loadKernelSpec } from "../../orchestrator/config/kernels.ts";
import { exists } from "../../orchestrator/util/fsx.ts";
import { withLock } from "../../orchestrator/util/lock.ts";

export async function debianGitTree(series: string): Promise<string> {
  const src = await resolveSource((await loadKernelSpec("6.12")).source);
  if (!src.ok) throw new Error(src.error.message);
  const repo = cachePath("test-git", `linux-${src.value.key}`);
  return withLock(repo, async () => {
    if (await exists(join(repo, ".cowlab-ready"))) return repo;
    await execa("rm", ["-rf", repo]);
    await execa("mkdir", ["-p", repo]);
    await execa("cp", ["-al", `${src.value.dir}/.`, repo]);
    const git = (args: string[]) => execa("git", ["-C", repo, "-c", "user.name=cowlab", "-c", "user.email=cowlab@localhost", ...args]);
    await git(["init", "-q"]);
    // -f: the Debian source tree ships a .gitignore that ignores everything at the top level.
    await git(["add", "-A", "-f"]);
    await git(["commit", "-q", "-m", `Debian ${src.value.label}`]);
    await git(["tag", "base"]);
    const patches = (await readdir(series)).filter((f) => f.endsWith(".patch")).sort().map((f) => join(series, f));
    await git(["am", "-q", "--committer-date-is-author-date", ...patches]);
    await execa("touch", [join(repo, ".cowlab-ready")]);
    return repo;
  });
}
