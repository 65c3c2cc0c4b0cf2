// The guest interpreter (testcases/explore/interp.c + lib/explore.h) on the host: compiled for
// it, run on scenario lines, its output parsed by observations.ts and judged by the model.
// The host is the unit tier's Linux (root, THP on madvise, io_uring, no gup_test, no swap,
// one NUMA node): scenarios needing what it lacks must print `skip <reason>`, never a verdict.
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { judge } from "../orchestrator/explore/judge.ts";
import { predict } from "../orchestrator/explore/model.ts";
import { type Observations, parseObservations } from "../orchestrator/explore/observations.ts";
import { parseScenario } from "../orchestrator/explore/scenario.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

let g: Grammar;
let dir: string;
let bin: string;

beforeAll(async () => {
  g = await loadGrammar();
  dir = mkdtempSync(join(tmpdir(), "cowlab-interp-"));
  bin = join(dir, "interp");
  // As the guests build it (orchestrator/guest/reproducers.ts), warnings fatal.
  await execa("gcc", ["-static", "-O2", "-Wall", "-Wextra", "-Werror", "-I", repoPath("testcases", "lib"), repoPath("testcases", "explore", "interp.c"), "-o", bin]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Run the interpreter on lines (stdin); the raw output and its parsed blocks. */
async function interp(lines: string[], args: string[] = []): Promise<{ text: string; obs: Observations[] }> {
  const r = await execa(bin, [...args, "-"], { input: lines.join("\n") + "\n" });
  return { text: r.stdout, obs: parseObservations(r.stdout) };
}

const verdict = (o: Observations) => judge(predict(parseScenario(o.scenario, g), g), o);

describe("interp on the host, judged by the model", () => {
  const PASS = [
    "base | fork | write:parent | read:child | read:parent",
    "base | write:parent | fork | write:child | read:parent | read:child",
    "base | mprotect:ro | write:parent | read:parent",
    "base | wipeonfork | fork | read:child | write:child | read:child | read:parent",
    "base | dontfork | fork | read:child | write:child | write:parent",
    "base | fork | fork2 | write:child2 | read:parent | read:child | read:child2",
    "base | fork | munmap@child | read:child | write:parent | read:parent",
    "base | fork | mprotect:ro@child | write:child | exit:child | write:parent",
    "base | mremap | fork | write:child | read:parent | read:child",
    "base | pin:vmsplice | fork | write:child | read:pin | read:parent",
    "zeropage | fork | write:child | read:parent | read:child",
    "memfd-private | fork | write:parent | read:child | read:parent",
    "base | pin:iouring | fork | write:parent | read:pin | write:pin | read:parent | read:child | unpin",
    "base | fork | pin:iouring@child | write:child | read:pin | write:pin | read:child | read:parent",
  ];

  it("every step of each scenario is what Linux promises (pass)", async () => {
    const { obs } = await interp(PASS);
    expect(obs.map((o) => o.scenario)).toEqual(PASS);
    for (const o of obs) {
      expect(o.complete, o.scenario).toBe(true);
      expect(o.skipped, o.scenario).toBeUndefined();
      const j = verdict(o);
      expect({ scenario: o.scenario, ...j }).toEqual({ scenario: o.scenario, verdict: "pass", failures: [], tolerated: [] });
    }
  });

  it("prints the README's block, outcome spellings included", async () => {
    const { text } = await interp(["base | mprotect:ro | write:parent | read:parent", "base | wipeonfork | fork | read:child"]);
    expect(text.split("\n")).toEqual([
      "scenario base | mprotect:ro | write:parent | read:parent",
      "1 mprotect:ro ok",
      "2 write:parent fault:SIGSEGV",
      "3 read:parent init",
      "end",
      "scenario base | wipeonfork | fork | read:child",
      "1 wipeonfork ok",
      "2 fork ok",
      "3 read:child zero",
      "end",
    ]);
  });

  it("THP with an io_uring pin across fork: pass, or a skip naming the missing facility", async () => {
    const line = "thp | pin:iouring | fork | write:parent | read:pin | read:child";
    const [o] = (await interp([line])).obs;
    if (o!.skipped !== undefined) expect(o!.skipped).toMatch(/THP|io_uring/);
    else expect(verdict(o!).verdict).toBe("pass");
  });

  it("a line that does not parse is a skip block, and the next line still runs", async () => {
    const { obs } = await interp(["# a comment", "", "base | read:chld", "base | read:parent"]);
    expect(obs).toHaveLength(2);
    expect(obs[0]).toMatchObject({ scenario: "base | read:chld", complete: true, steps: [] });
    expect(obs[0]!.skipped).toBe("parse error: step 1 'read:chld': 'chld' is not one of parent, child, child2, pin");
    expect(obs[1]!.steps.map((s) => s.raw)).toEqual(["init"]);
  });

  it("a step that hangs prints timeout within its bound; the next scenario starts clean", async () => {
    const t0 = Date.now();
    const { obs } = await interp(["base | fork | write:child | read:child", "base | read:parent"], ["--hang-at", "2", "--step-timeout-ms", "300"]);
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(obs[0]!.steps.map((s) => `${s.step} ${s.token} ${s.raw}`)).toEqual(["1 fork ok", "2 write:child timeout"]);
    expect(obs[0]!.complete).toBe(true);
    const j = verdict(obs[0]!);
    expect(j.verdict).toBe("fail");
    expect(j.failures.map((f) => f.invariant)).toEqual(["bounded"]);
    expect(obs[1]!.steps.map((s) => s.raw)).toEqual(["init"]);
  });

  it("a step's bound runs from when that step began, not from the set-up's", async () => {
    const t0 = Date.now();
    const { obs } = await interp(["base | read:parent"], ["--hang-at", "1", "--step-timeout-ms", "500"]);
    // the set-up's bound is 2 x 500 ms: a step that began early must time out well before it
    expect(Date.now() - t0).toBeLessThan(950);
    expect(obs[0]!.steps.map((s) => `${s.step} ${s.token} ${s.raw}`)).toEqual(["1 read:parent timeout"]);
  });

  // The interpreter sets the knobs scenarios need once for a run of them, not around each.
  const KNOBS = [
    "/sys/kernel/mm/transparent_hugepage/shmem_enabled",
    "/sys/kernel/mm/transparent_hugepage/hugepages-64kB/enabled",
    "/sys/kernel/mm/ksm/run",
    "/sys/kernel/mm/ksm/sleep_millisecs",
  ];
  const writable = (f: string): boolean => {
    try {
      accessSync(f, constants.W_OK);
      return true;
    } catch {
      return false;
    }
  };
  it.skipIf(!KNOBS.every(writable))("the sysfs knobs a run changes are back to their values when it ends", async () => {
    const read = (): string[] => KNOBS.map((f) => readFileSync(f, "utf8"));
    const before = read();
    const { obs } = await interp([
      "shmem-thp-private | read:parent",
      "mthp:64k | fork | read:child",
      "memfd-private | read:parent",
      "ksm | write:parent | read:parent",
      "shmem-thp-private | fork | write:child | read:parent",
    ]);
    expect(obs.map((o) => o.complete)).toEqual([true, true, true, true, true]);
    for (const o of obs) if (o.skipped === undefined) expect(verdict(o).verdict, o.scenario).toBe("pass");
    expect(read()).toEqual(before);
  });

  // The host has no swap and one NUMA node; a host that has them runs these for real.
  it("set-up the host cannot do is a skip with its reason", async () => {
    const lines = ["swap | read:parent", "base | migrate | read:parent"];
    const { obs } = await interp(lines);
    const swap = Number(/SwapTotal:\s+(\d+)/.exec(await execa("cat", ["/proc/meminfo"]).then((r) => r.stdout))?.[1] ?? 0);
    if (!swap) expect(obs[0]!.skipped).toMatch(/no swap/);
    else expect(verdict(obs[0]!).verdict).toBe("pass");
    if (!existsSync("/sys/devices/system/node/node1")) expect(obs[1]!.skipped).toMatch(/second NUMA node/);
    else expect(verdict(obs[1]!).verdict).toBe("pass");
  });

  it.skipIf(existsSync("/sys/kernel/debug/gup_test"))("pin:gup-ro without gup_test (the host's case) is a skip naming it", async () => {
    const [o] = (await interp(["base | pin:gup-ro | read:pin"])).obs;
    expect(o!.skipped).toMatch(/^pin:gup-ro: .*gup_test/);
  });
});
