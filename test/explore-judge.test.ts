import { beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { diverge, judge } from "../orchestrator/explore/judge.ts";
import { type Model, predict } from "../orchestrator/explore/model.ts";
import { type Observations, ObservationError, parseObservations } from "../orchestrator/explore/observations.ts";
import { parseScenario } from "../orchestrator/explore/scenario.ts";

let g: Grammar;
beforeAll(async () => {
  g = await loadGrammar();
});

const model = (line: string): Model => predict(parseScenario(line, g), g);
/** The interpreter's output for `line` with the given outcome per step. */
const run = (line: string, outcomes: string[], extra = ""): Observations => {
  const tokens = line.split(" | ").slice(1);
  const text = [`scenario ${line}`, ...outcomes.map((o, i) => `${i + 1} ${tokens[i]} ${o}`), extra, "end"].filter(Boolean).join("\n");
  return parseObservations(text)[0]!;
};
/** Outcomes exactly as the model predicts (first accepted one; "done" printed as ok). */
const asPredicted = (m: Model): string[] => m.predictions.map((p) => (p.accept[0] === "done" ? "ok" : p.accept[0] === "fault" ? "fault:SIGSEGV" : p.accept[0]!));

const THP_PIN = "thp | pin:iouring | fork | write:parent | read:pin";

describe("judge", () => {
  it("passes observations equal to the prediction", () => {
    const m = model(THP_PIN);
    expect(judge(m, run(THP_PIN, asPredicted(m)))).toEqual({ verdict: "pass", failures: [], tolerated: [] });
  });

  it("flags 5.10's THP bug: the pin keeps the old page after the parent's write (pin-coherence)", () => {
    const j = judge(model(THP_PIN), run(THP_PIN, ["ok", "ok", "ok", "init"]));
    expect(j.verdict).toBe("fail");
    expect(j.failures).toEqual([expect.objectContaining({ step: 4, invariant: "pin-coherence", observed: "init", expected: ["w3"] })]);
    expect(j.failures[0]!.message).toBe("step 4 'read:pin': expected w3, saw init (pin-coherence)");
  });

  it("a model mistake cannot slip through: any observation other than the prediction is a finding", () => {
    // Every step of a scenario, each replaced by every other outcome in turn, must be flagged.
    const line = "base | write:parent | fork | write:child | mprotect:ro | write:parent | read:parent | read:child";
    const m = model(line);
    const good = asPredicted(m);
    for (const [i, p] of m.predictions.entries()) {
      for (const other of ["init", "zero", "w1", "w3", "mixed@64", "fault:SIGSEGV", "ok", "timeout"]) {
        const obs = [...good];
        obs[i] = other;
        const o = run(line, obs);
        const seen = o.steps[i]!.outcome;
        const accepted = p.accept.includes(p.kind === "op" && seen === "ok" ? "done" : seen);
        const j = judge(m, o);
        expect(j.verdict, `${p.token} -> ${other}`).toBe(accepted ? "pass" : "fail");
      }
    }
  });

  it("names fork-isolation when a process sees another process's write", () => {
    const line = "base | fork | write:child | read:parent";
    const j = judge(model(line), run(line, ["ok", "ok", "w2"]));
    expect(j.failures.map((f) => f.invariant)).toEqual(["fork-isolation"]);
  });

  it("a write through another process's pin leaking into a mapping is fork-isolation too", () => {
    const line = "base | fork | pin:iouring@child | write:pin | read:parent";
    const j = judge(model(line), run(line, ["ok", "ok", "ok", "w3"]));
    expect(j.failures.map((f) => f.invariant)).toEqual(["fork-isolation"]);
  });

  it("names the other invariants from the prediction", () => {
    const cases: [string, string[], string][] = [
      ["base | mprotect:ro | write:parent", ["ok", "ok"], "write-protection"],
      ["base | wipeonfork | fork | read:child", ["ok", "ok", "init"], "wipeonfork"],
      ["base | dontfork | fork | read:child", ["ok", "ok", "init"], "dontfork"],
      ["base | munmap | read:parent", ["ok", "init"], "unmapped-faults"],
      ["thp | write:parent | pageout | read:parent", ["ok", "ok", "mixed@4096"], "content-preserved"],
      ["swap | fork | pin:vmsplice | write:child | read:pin", ["ok", "ok", "ok", "w4"], "ro-ref-isolation"],
      ["thp | pin:gup-ro | migrate | read:parent", ["ok", "timeout", "init"], "bounded"],
    ];
    for (const [line, outs, inv] of cases) expect(judge(model(line), run(line, outs)).failures.map((f) => f.invariant), line).toEqual([inv]);
  });

  it("a kernel report fails a scenario whose data was right (kernel-quiet)", () => {
    const line = "base | fork | read:child";
    const j = judge(model(line), run(line, ["ok", "init"], "kernel WARNING: CPU: 0 PID: 1 at mm/memory.c:123"));
    expect(j.failures.map((f) => f.invariant)).toEqual(["kernel-quiet"]);
  });

  it("documented weaker guarantees are tolerated with their reference, not failures", () => {
    const line = "hugetlb:2M | fork | pin:vmsplice@child | munmap@child | write:parent | read:pin";
    const j = judge(model(line), run(line, ["ok", "ok", "ok", "ok", "w4"]));
    expect(j.verdict).toBe("pass");
    expect(j.tolerated).toHaveLength(1);
    expect(j.tolerated[0]!.caveats[0]!.id).toBe("hugetlb-ro-ref");
    // the same leak on THP is a failure (5.10)
    const thp = line.replace("hugetlb:2M", "thp");
    expect(judge(model(thp), run(thp, ["ok", "ok", "ok", "ok", "w4"])).failures[0]!.invariant).toBe("ro-ref-isolation");
  });

  it("skips, and refuses observations of another scenario or an early stop", () => {
    const line = "base | fork | read:child";
    expect(judge(model(line), parseObservations(`scenario ${line}\nskip no gup_test\nend`)[0]!).verdict).toBe("skip");
    const other = run("base | fork | read:parent", ["ok", "init"]);
    expect(judge(model(line), other)).toMatchObject({ verdict: "error", error: "step 2: interpreter ran 'read:parent', the scenario says 'read:child'" });
    expect(judge(model(line), run(line, ["ok"]))).toMatchObject({ verdict: "error" });
  });
});

describe("observation format", () => {
  it("parses several scenarios, ignoring lines outside them", () => {
    const text = "boot noise\nscenario base | read:parent\n1 read:parent init\nend\nmore noise\nscenario thp | write:parent\n1 write:parent fault:SIGBUS\nkernel BUG: x\nend\n";
    const [a, b] = parseObservations(text);
    expect(a).toEqual({ scenario: "base | read:parent", steps: [{ step: 1, token: "read:parent", outcome: "init", raw: "init" }], kernel: [], complete: true });
    expect(b!.steps[0]).toMatchObject({ outcome: "fault", raw: "fault:SIGBUS" });
    expect(b!.kernel).toEqual(["BUG: x"]);
  });
  it("maps return values to done and rejects unknown words", () => {
    expect(parseObservations("scenario x\n1 migrate err:EBUSY\n2 pin:iouring ret:0\nend")[0]!.steps.map((s) => s.outcome)).toEqual(["done", "done"]);
    expect(() => parseObservations("scenario x\n1 read:parent inti\nend")).toThrow(ObservationError);
    expect(() => parseObservations("scenario x\n1 read:parent inti\nend")).toThrow("line 2: unknown outcome 'inti'");
    expect(() => parseObservations("scenario x\nhello\nend")).toThrow("line 2: unexpected 'hello'");
  });
});

describe("differential judge", () => {
  const line = "thp | pin:iouring | fork | write:parent | read:pin";
  it("lists steps where kernels disagree, with who saw what", () => {
    const d = diverge([
      { label: "5.10/base/x86_64", observations: run(line, ["ok", "ok", "ok", "init"]) },
      { label: "6.12/base/x86_64", observations: run(line, ["ok", "ok", "ok", "w3"]) },
      { label: "6.12/base/arm64", observations: run(line, ["ok", "ok", "ok", "w3"]) },
    ]);
    expect(d).toEqual([{ step: 4, token: "read:pin", outcomes: { init: ["5.10/base/x86_64"], w3: ["6.12/base/x86_64", "6.12/base/arm64"] } }]);
  });
  it("sees divergences the model has no opinion on (return values) and kernel reports", () => {
    const l2 = "thp | pin:iouring | migrate | read:pin";
    const d = diverge([
      { label: "a", observations: run(l2, ["ok", "err:EBUSY", "init"]) },
      { label: "b", observations: run(l2, ["ok", "ok", "init"], "kernel WARNING: x") },
      { label: "c", observations: parseObservations(`scenario ${l2}\nskip no numa\nend`)[0]! },
    ]);
    expect(d).toEqual([
      { step: 0, token: "", outcomes: { quiet: ["a"], "kernel-report": ["b"] } },
      { step: 2, token: "migrate", outcomes: { "err:EBUSY": ["a"], ok: ["b"] } },
    ]);
  });
  it("agreeing runs, or fewer than two, have no divergence", () => {
    expect(diverge([{ label: "a", observations: run(line, ["ok", "ok", "ok", "w3"]) }, { label: "b", observations: run(line, ["ok", "ok", "ok", "w3"]) }])).toEqual([]);
    expect(diverge([{ label: "a", observations: run(line, ["ok", "ok", "ok", "w3"]) }])).toEqual([]);
  });
});
