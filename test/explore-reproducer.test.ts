// The standalone C reproducer (orchestrator/explore/reproducer.ts): generated from the model's
// prediction, built on the host with `gcc -static FILE -o x` alone, run as root on the host.
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { predict } from "../orchestrator/explore/model.ts";
import { type ReproducerInput, reproducerC } from "../orchestrator/explore/reproducer.ts";
import { parseScenario } from "../orchestrator/explore/scenario.ts";

let g: Grammar;
let dir: string;
beforeAll(async () => {
  g = await loadGrammar();
  dir = mkdtempSync(join(tmpdir(), "cowlab-repro-"));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What the driver passes: the model's accepted outcomes per step. */
const expectedOf = (line: string): ReproducerInput["expected"] =>
  predict(parseScenario(line, g), g).predictions.map((p) => ({ step: p.step, token: p.token, accepted: p.accept }));

let n = 0;
/** Write, build with nothing but `gcc -static FILE -o x`, run; exit code and stdout lines. */
async function buildAndRun(input: ReproducerInput, cflags: string[] = []): Promise<{ code: number; lines: string[]; source: string }> {
  const source = reproducerC(input);
  const file = join(dir, `r${++n}.c`);
  writeFileSync(file, source);
  await execa("gcc", ["-static", ...cflags, file, "-o", `${file}.bin`]);
  const r = await execa(`${file}.bin`, [], { reject: false });
  return { code: r.exitCode ?? -1, lines: r.stdout.split("\n"), source };
}

describe("reproducerC", () => {
  it("the model's prediction holds on the host: exit 0, one line per step, OK", async () => {
    const line = "base | fork | write:parent | read:child";
    const r = await buildAndRun({ scenario: line, expected: expectedOf(line) }, ["-Wall", "-Wextra", "-Werror"]);
    expect(r.lines).toEqual([
      `scenario ${line}`,
      "step 1 fork: expected done, saw ok",
      "step 2 write:parent: expected ok, saw ok",
      "step 3 read:child: expected init, saw init",
      "OK",
    ]);
    expect(r.code).toBe(0);
  });

  it("a fault is an accepted outcome where the model predicts one", async () => {
    const line = "base | fork | dontfork | fork2 | mprotect:ro | write:parent | read:child2 | read:child";
    const r = await buildAndRun({ scenario: line, expected: expectedOf(line) });
    expect(r.lines).toContain("step 5 write:parent: expected fault, saw fault:SIGSEGV");
    expect(r.lines).toContain("step 6 read:child2: expected fault, saw fault:SIGSEGV");
    expect(r.lines.at(-1)).toBe("OK");
    expect(r.code).toBe(0);
  });

  it("an observation outside the expected set is a BUG and exit 1", async () => {
    const line = "base | fork | write:parent | read:child";
    const expected = expectedOf(line).map((e) => (e.token === "read:child" ? { ...e, accepted: ["w2"] } : e));
    const r = await buildAndRun({ scenario: line, expected });
    expect(r.lines).toContain("step 3 read:child: expected w2, saw init");
    expect(r.lines.at(-1)).toBe("BUG: step 3 'read:child': expected w2, saw init");
    expect(r.code).toBe(1);
  });

  it.skipIf(existsSync("/sys/kernel/debug/gup_test"))("set-up this machine cannot do (no gup_test on the host) is SKIP and exit 2", async () => {
    const line = "base | pin:gup-ro | fork | write:parent | read:pin";
    const r = await buildAndRun({ scenario: line, expected: expectedOf(line) });
    expect(r.lines.at(-1)).toMatch(/^SKIP: pin:gup-ro: .*gup_test/);
    expect(r.code).toBe(2);
  });

  it("the header holds the scenario, the why, the observations per kernel and how to build and run it", () => {
    const line = "thp | pin:iouring | fork | write:parent | read:pin";
    const c = reproducerC({
      scenario: line,
      expected: expectedOf(line),
      observed: { "5.10/base/x86_64": ["ok", "ok", "ok", "init"], "6.12/base/x86_64": ["ok", "ok", "ok", "w3"] },
      why: "pin-coherence: the pin kept the old page */ after fork",
    });
    const header = c.slice(0, c.indexOf("*/") + 2);
    expect(header).toContain(` * Scenario: ${line}`);
    expect(header).toContain(" * Why:      pin-coherence: the pin kept the old page * / after fork");
    expect(header).toContain(" *   step 4 read:pin: w3");
    expect(header).toContain(" *   5.10/base/x86_64: 1 ok, 2 ok, 3 ok, 4 init");
    expect(header).toContain(" *   gcc -static -O2 -o repro repro.c");
    expect(c).not.toMatch(/#include "/);
    expect(c).toContain(`ex_repro_begin(&r, "${line}", 5000)`);
  });

  it("refuses expectations that do not match the scenario's steps", () => {
    expect(() => reproducerC({ scenario: "base | fork | read:child", expected: [{ step: 2, token: "read:parent", accepted: ["init"] }] })).toThrow(
      "step 2 of 'base | fork | read:child' is 'read:child', not 'read:parent'",
    );
  });
});
