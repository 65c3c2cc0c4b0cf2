// Cases known at plan time: selection with --case, the manifest's known-issue globs checked
// against the case table, the guest told what to run, and a guest that ran other cases caught.
import { consoleStream } from "../orchestrator/guest/protocol.ts";
import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { loadMatrix } from "../orchestrator/config/matrix.ts";
import { checkKnownIssueGlobs, loadManifest, type Testcase } from "../orchestrator/config/testcases.ts";
import { narrowCases, planMatrix } from "../orchestrator/run/plan.ts";
import { DEFAULT_SETUP, guestEnv } from "../orchestrator/guest/initramfs.ts";
import { classifyGuest } from "../orchestrator/results/classify.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

const table = {
  "gup-after-fork": ["fork-cow-base", "vmsplice-child-base", "vmsplice-child-thp", "vmsplice-child-mprotect-thp", "vmsplice-parent-before-fork-thp", "vmsplice-parent-after-fork-thp"],
  "gup-before-fork": ["iouring-fork-parent-write-base"],
  swap: ["rw-pin-pageout-base"],
  migration: ["move-exclusive-base"],
};

describe("--case", () => {
  it("narrows every job to the matching cases, by case name or testcase/case, and drops empty testcases", async () => {
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), { kernels: ["6.12"], arches: ["x86_64"], variants: ["base"] });
    const [j] = narrowCases(jobs, table, ["vmsplice-child-*", "migration/*"]);
    expect(j!.cases).toEqual({ "gup-after-fork": ["vmsplice-child-base", "vmsplice-child-thp", "vmsplice-child-mprotect-thp"], migration: ["move-exclusive-base"] });
    expect(j!.testcases.map((t) => t.id)).toEqual(["gup-after-fork", "migration"]);
    // without globs: every case of the table
    expect(narrowCases(jobs, table)[0]!.cases).toEqual(table);
  });

  it("a glob that matches no case is a usage error naming it", async () => {
    const jobs = await planMatrix(await loadMatrix(), await loadManifest(), { kernels: ["6.12"] });
    expect(() => narrowCases(jobs, table, ["fork-cow-*", "swap/nope"])).toThrow(/--case: 'swap\/nope' matches no case/);
  });
});

describe("known-issue globs against the real case list", () => {
  it("the checked-in manifest passes against its own cases", async () => {
    const m = await loadManifest();
    const full = Object.fromEntries(m.testcases.map((t) => [t.id, m.known_issues.filter((k) => k.testcase === t.id).flatMap((k) => k.cases.map((c) => c.replace(/\*/g, "x")))]));
    await expect(checkKnownIssueGlobs(m, full)).resolves.toBeUndefined();
  });

  it("a glob that matches nothing is an error naming manifest line and field", async () => {
    const m = await loadManifest();
    const renamed = { ...table, "gup-after-fork": table["gup-after-fork"].map((c) => c.replace("vmsplice-child-thp", "vmsplice-child-THP")) };
    const e = await checkKnownIssueGlobs(m, renamed).then(() => undefined, (x: Error) => x);
    expect(e?.message).toMatch(/^testcases\/manifest\.yaml:(\d+): known_issues\.0\.cases\.0: 'vmsplice-child-thp' matches no case of gup-after-fork/);
    const line = Number(/:(\d+):/.exec(e!.message)![1]);
    const text = (await readFile(repoPath("testcases", "manifest.yaml"), "utf8")).split("\n");
    expect(text[line - 1]).toContain('"vmsplice-child-thp"');
  });
});

const tc = (id: string): Testcase => ({ id, family: "swap", source: `${id}.c`, timeout_s: 30, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] });

describe("the guest runs what the host planned", () => {
  it("the init's env names each testcase's cases", () => {
    const env = guestEnv([tc("swap"), tc("gup-after-fork")], DEFAULT_SETUP, { swap: ["a", "b-c"], "gup-after-fork": ["x"] });
    expect(env).toContain('COWLAB_FILTER_swap="a,b-c"\n');
    expect(env).toContain('COWLAB_FILTER_gup_after_fork="x"\n');
    expect(guestEnv([tc("swap")], DEFAULT_SETUP)).not.toContain("COWLAB_FILTER");
  });

  const run = (names: string[]) => ({
    ...consoleStream(`# cowlab-begin swap\nKTAP version 1\n1..${names.length}\n${names.map((n, i) => `ok ${i + 1} ${n}`).join("\n")}\n# cowlab-end swap rc=0 ms=5\n# cowlab-done\n`),
    ending: "exited" as const,
    exitCode: 0,
  });
  const id = { job: "6.12/base/x86_64", kernel: "6.12.117", arch: "x86_64", variant: "base" };

  it("a finished program that ran other cases than planned adds an error row", () => {
    const c = classifyGuest(id, [tc("swap")], run(["a", "z"]), { swap: ["a", "b"] });
    const drift = c.results.find((r) => r.case === "*");
    expect(drift?.status).toBe("error");
    expect(drift?.reason).toMatch(/not run: b; not planned: z/);
    expect(classifyGuest(id, [tc("swap")], run(["a", "b"]), { swap: ["a", "b"] }).results.map((r) => r.status)).toEqual(["pass", "pass"]);
  });
});
