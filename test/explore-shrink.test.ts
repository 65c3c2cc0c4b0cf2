// Shrinking and the explore rows, with a fake guest: the loop's logic on its own. The real
// guest rounds are exercised by the integration tests (test/integration/explore.test.ts).
import { consoleStream } from "../orchestrator/guest/protocol.ts";
import { foldAttempts, single } from "../orchestrator/results/attempts.ts";
import { beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { predict } from "../orchestrator/explore/model.ts";
import { parseObservations, type Observations } from "../orchestrator/explore/observations.ts";
import { parseMemory, parseScenario, printScenario } from "../orchestrator/explore/scenario.ts";
import { shrinkAll, shrinkCandidates, type Execute } from "../orchestrator/explore/shrink.ts";
import { exploreResults, judgeScenario, rowObservations } from "../orchestrator/explore/verdicts.ts";
import { analyse } from "../orchestrator/explore/analysis.ts";
import { classifyGuest } from "../orchestrator/results/classify.ts";
import { focusOf, selectScenarios } from "../orchestrator/explore/selection.ts";
import { enumerate } from "../orchestrator/explore/generate.ts";
import { globRe } from "../orchestrator/util/glob.ts";

let g: Grammar;
beforeAll(async () => {
  g = await loadGrammar();
});

/**
 * A fake kernel with 5.10's THP bug: after fork, a write by the parent to a THP is not seen by
 * a R/W pin taken before the fork (the pin keeps the old page). Every other read is as predicted.
 */
function buggyKernel(line: string): Observations {
  const sc = parseScenario(line, g);
  const m = predict(sc, g);
  let pinned = false;
  let forked = false;
  const out = m.predictions.map((p) => {
    if (p.token.startsWith("pin:")) pinned = true;
    if (p.token === "unpin") pinned = false;
    if (p.token === "fork") forked = forked || pinned;
    let o = p.accept[0] === "done" ? "ok" : p.accept[0] === "fault" ? "fault:SIGSEGV" : p.accept[0]!;
    if (p.token === "read:pin" && forked && sc.memory.type === "thp" && o.startsWith("w")) o = "init";
    return `${p.step} ${p.token} ${o}`;
  });
  return parseObservations([`scenario ${line}`, ...out, "end"].join("\n"))[0]!;
}

const fakeGuest = (kernel: (l: string) => Observations): Execute => async (work) =>
  new Map([...work].map(([job, lines]) => [job, new Map(lines.map((l) => [l, kernel(l)]))]));

describe("shrink candidates", () => {
  it("drops steps and tries simpler memory, offering only well-formed lines that end in an observation", () => {
    const sc = parseScenario("thp | write:parent | pin:iouring | fork | write:parent | read:pin", g);
    const lines = shrinkCandidates(sc, g).map(printScenario);
    expect(lines).toContain("thp | pin:iouring | fork | write:parent | read:pin");
    expect(lines).toContain("base | write:parent | pin:iouring | fork | write:parent | read:pin");
    expect(lines).not.toContain("thp | write:parent | fork | write:parent | read:pin"); // read:pin without a pin
    expect(lines.every((l) => !l.endsWith("fork"))).toBe(true);
  });

  it("every `simpler` entry of the grammar names a memory the line can spell", () => {
    for (const [name, t] of Object.entries(g.memory)) for (const m of t.simpler) expect(() => parseMemory(m, g), `${name} -> ${m}`).not.toThrow();
  });
});

describe("shrinkAll", () => {
  it("cuts a long failing scenario down to the minimal one that still breaks the same invariant", async () => {
    const start = "thp | write:parent | mprotect:ro | mprotect:rw | pin:iouring | fork | read:child | write:parent | read:pin";
    expect(judgeScenario(g, buggyKernel(start)).verdict).toBe("fail");
    const [s] = await shrinkAll(
      [{ scenario: start, jobs: ["5.10/base/x86_64"], interesting: (obs) => judgeScenario(g, obs.get("5.10/base/x86_64")!).failures.some((f) => f.invariant === "pin-coherence") }],
      g,
      fakeGuest(buggyKernel),
    );
    expect(s!.minimal).toBe("thp | pin:iouring | fork | write:parent | read:pin");
    expect(s!.observations.get("5.10/base/x86_64")!.steps.at(-1)!.raw).toBe("init");
  });

  it("stops at once when no candidate is interesting (a correct kernel)", async () => {
    const correct = (l: string): Observations => {
      const m = predict(parseScenario(l, g), g);
      return parseObservations([`scenario ${l}`, ...m.predictions.map((p) => `${p.step} ${p.token} ${p.accept[0] === "done" ? "ok" : p.accept[0]}`), "end"].join("\n"))[0]!;
    };
    const line = "thp | pin:iouring | fork | write:parent | read:pin";
    const [s] = await shrinkAll([{ scenario: line, jobs: ["j"], interesting: (obs) => judgeScenario(g, obs.get("j")!).verdict === "fail" }], g, fakeGuest(correct));
    expect(s!.minimal).toBe(line);
    expect(s!.rounds).toBe(1);
  });
});

describe("explore rows", () => {
  const base = { job: "5.10/base/x86_64", kernel: "5.10.0", arch: "x86_64", variant: "base" };
  const line = "thp | pin:iouring | fork | write:parent | read:pin";

  it("judges each finished scenario, keeps its observations, and says how far a budget got", () => {
    const block = { lines: ["scenario " + line, "1 pin:iouring ok", "[   12.3] a kernel line on the console", "2 fork ok", "3 write:parent ok", "4 read:pin init", "end", "scenario base | fork | read:child", "1 fork ok"], ended: true, rc: 137, ms: 60000 };
    const rows = exploreResults(base, { scenarios: [line, "base | fork | read:child", "base | read:parent"], budgetS: 60 }, block, g);
    expect(rows.map((r) => [r.case, r.status])).toEqual([[line, "fail"], ["*", "skip"]]);
    expect(rows[0]!.reason).toBe("step 4 'read:pin': expected w3, saw init (pin-coherence)");
    expect(rows[1]!.reason).toBe("the 60 s budget ran out after 1 of 3 scenarios");
    expect(rowObservations(single(rows[0]!)).steps.map((s) => s.raw)).toEqual(["ok", "ok", "ok", "init"]);
    const a = analyse(foldAttempts([{ guest: 1, rows }]));
    expect(a.invariants).toEqual({ "pin-coherence": { "5.10/base/x86_64": 1 } });
  });

  it("a step that never returns is a `bounded` failure, counted under that invariant", () => {
    const hang = "shmem-thp-private | pin:gup-ro | read:pin";
    const rows = exploreResults(base, { scenarios: [hang], budgetS: 60 }, { lines: ["scenario " + hang, "1 pin:gup-ro timeout", "end"], ended: true, rc: 0, ms: 1 }, g);
    expect(rows.map((r) => [r.status, r.reason])).toEqual([["fail", "step 1 'pin:gup-ro' did not return within its bound (bounded)"]]);
    expect(analyse(foldAttempts([{ guest: 1, rows }])).invariants).toEqual({ bounded: { "5.10/base/x86_64": 1 } });
  });

  it("reads the explore block out of a whole guest console (markers, kernel lines and all)", () => {
    const console_ = ["# cowlab-setup uname=6.12.117", "# cowlab-begin explore", "scenario " + line, "1 pin:iouring ok", "[    3.1] random: crng init done", "2 fork ok", "3 write:parent ok", "4 read:pin w3", "end", "# cowlab-end explore rc=0 ms=812", "# cowlab-done"].join("\n");
    const c = classifyGuest(base, [], { ...consoleStream(console_), ending: "exited", exitCode: 0 });
    const block = c.blockLines("explore");
    expect(block).toMatchObject({ ended: true, rc: 0, ms: 812 });
    expect(exploreResults(base, { scenarios: [line], budgetS: 60 }, block, g).map((r) => [r.case, r.status])).toEqual([[line, "pass"]]);
  });

  it("an unreadable interpreter line is one error row, not a crash of the lab", () => {
    const rows = exploreResults(base, { scenarios: [line], budgetS: 60 }, { lines: ["scenario " + line, "1 pin:iouring maybe", "end"], ended: true, rc: 0, ms: 1 }, g);
    expect(rows).toEqual([expect.objectContaining({ case: "*", status: "error", reason: expect.stringContaining("unknown outcome 'maybe'") })]);
  });

  it("lists divergences across runs where every run passes the model", () => {
    const mk = (job: string, outcome: string) => ({ ...base, job, testcase: "explore", case: "base | mprotect:ro | read:parent", family: "explore", status: "pass" as const, duration_ms: null, reason: "", observations: [`1 mprotect:ro ${outcome}`, "2 read:parent init", "end"] });
    const a = analyse([single(mk("a", "ok")), single(mk("b", "err:EINVAL"))]);
    expect(a.divergent).toEqual([{ scenario: "base | mprotect:ro | read:parent", divergences: [{ step: 1, token: "mprotect:ro", outcomes: { ok: ["a"], "err:EINVAL": ["b"] } }], modelSilent: true }]);
  });
});

describe("selection", () => {
  it("short scenarios first, then seeded random ones; --only narrows; a glob that matches nothing is a usage error", () => {
    const lines = selectScenarios(g, { depth: 2, random: 3, seed: 7 });
    const lens = lines.slice(0, -3).map((l) => l.split(" | ").length);
    expect(lens).toEqual([...lens].sort((a, b) => a - b));
    expect(selectScenarios(g, { depth: 2, random: 3, seed: 7 })).toEqual(lines);
    expect(selectScenarios(g, { depth: 2, only: ["hugetlb:2M | *"] }).every((l) => l.startsWith("hugetlb:2M | "))).toBe(true);
    expect(() => selectScenarios(g, { depth: 1, only: ["nothing*"] })).toThrow(/--only: 'nothing\*' matches none/);
  });

  it("an --only without a wildcard is one line, run as it is (even when not maximal); a bad one is a usage error", () => {
    expect(selectScenarios(g, { depth: 6, only: ["base | fork | read:child"] })).toEqual(["base | fork | read:child"]);
    expect(selectScenarios(g, { depth: 1, only: ["thp | fork | read:child", "base | *"] })[0]).toBe("thp | fork | read:child");
    expect(() => selectScenarios(g, { depth: 1, only: ["base | read:chld"] })).toThrow(/--only: 'base \| read:chld': step 1/);
  });

  it("a focused enumeration (literal head of the --only globs) gives exactly the lines the globs select from the full one", () => {
    const globs = ["thp | fork | *", "base | pin:iouring | mprotect:ro | *", "swap | *"];
    expect(focusOf(globs)).toEqual([{ memory: "thp", ops: ["fork"] }, { memory: "base", ops: ["pin:iouring", "mprotect:ro"] }, { memory: "swap", ops: [] }]);
    expect(focusOf(["* | fork | *"])).toBeUndefined();
    const res = globs.map(globRe);
    const full = [...enumerate(g, 3)].map(printScenario).filter((l) => res.some((re) => re.test(l)));
    expect(selectScenarios(g, { depth: 3, only: globs }).sort()).toEqual([...new Set(full)].sort());
  });
});
