import { beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar, parseGrammar } from "../orchestrator/explore/grammar.ts";
import { enumerate, randomScenarios } from "../orchestrator/explore/generate.ts";
import { parseScenario, printScenario } from "../orchestrator/explore/scenario.ts";
import { checkWellFormed } from "../orchestrator/explore/wellformed.ts";
import { InputError } from "../orchestrator/util/result.ts";

let g: Grammar;
beforeAll(async () => {
  g = await loadGrammar();
});

const parse = (line: string) => parseScenario(line, g);

describe("scenario line", () => {
  it("parses the issue's example into memory and ops", () => {
    expect(parse("thp | pin:iouring | fork | write:parent | read:pin | read:child")).toEqual({
      memory: { type: "thp" },
      ops: [
        { name: "pin", arg: "iouring" },
        { name: "fork" },
        { name: "write", arg: "parent" },
        { name: "read", arg: "pin" },
        { name: "read", arg: "child" },
      ],
    });
  });

  it("takes sizes and processes, and forgives blanks around |", () => {
    const s = parse("mthp:64k|fork |  mprotect:ro@child| pin:vmsplice@child | read:pin");
    expect(s.memory).toEqual({ type: "mthp", size: "64k" });
    expect(s.ops[1]).toEqual({ name: "mprotect", arg: "ro", at: "child" });
    expect(printScenario(s)).toBe("mthp:64k | fork | mprotect:ro@child | pin:vmsplice@child | read:pin");
  });

  it("round-trips every generated scenario of depth 3 and random ones beyond", () => {
    let n = 0;
    for (const s of enumerate(g, 3)) {
      expect(parse(printScenario(s))).toEqual(s);
      n++;
    }
    expect(n).toBeGreaterThan(1000);
    for (const { scenario } of randomScenarios(g, 7, 200)) expect(parse(printScenario(scenario))).toEqual(scenario);
  });

  it.each([
    ["thpp | read:parent", "memory 'thpp': unknown memory type 'thpp'"],
    ["mthp | read:parent", "memory 'mthp': mthp needs a size (one of 16k"],
    ["mthp:3k | read:parent", "memory 'mthp:3k': size '3k' is not one of"],
    ["thp:2M | read:parent", "memory 'thp:2M': thp takes no size"],
    ["thp | read:chld", "step 1 'read:chld': 'chld' is not one of parent, child, child2, pin"],
    ["thp | fork | reed:child", "step 2 'reed:child': unknown op 'reed'"],
    ["thp | read", "step 1 'read': read needs an argument"],
    ["thp | fork:child", "step 1 'fork:child': fork takes no argument"],
    ["thp | pin:iouring@parent", "step 1 'pin:iouring@parent': parent is the default; write 'pin:iouring'"],
    ["thp | pageout@child", "step 1 'pageout@child': '@child' is not one of"],
    ["thp | pin:rdma", "step 1 'pin:rdma': 'rdma' is not one of iouring"],
    ["thp | Read:parent", "step 1 'Read:parent': not NAME[:ARG][@PROCESS]"],
    ["", "empty scenario"],
  ])("rejects %j in one line naming the token", (line, msg) => {
    expect(() => parse(line)).toThrow(msg);
    try {
      parse(line);
    } catch (e) {
      expect((e as Error).message).not.toContain("\n");
    }
  });
});

describe("well-formedness", () => {
  const wf = (line: string) => () => checkWellFormed(parse(line), g);
  it.each([
    ["base | read:child", "step 1 'read:child': child has not been forked"],
    ["base | unpin", "step 1 'unpin': no pin is held"],
    ["base | pin:gup-ro | pin:iouring", "step 2 'pin:iouring': a pin (gup-ro) is already held: one pin at a time"],
    ["base | pin:vmsplice | write:pin", "step 2 'write:pin': vmsplice is a read-only mechanism"],
    ["base | read:pin", "step 1 'read:pin': no pin is held"],
    ["base | mprotect:ro | pin:iouring", "step 2 'pin:iouring': iouring: parent maps the region read-only"],
    ["thp | ksm:merge", "step 1 'ksm:merge': the memory type cannot ksm"],
    ["hugetlb:2M | pageout", "step 1 'pageout': the memory type cannot swap"],
    ["base | fork2", "step 1 'fork2': fork child first"],
    ["base | fork | fork", "step 2 'fork': child was already forked"],
    ["base | fork | exit:child | read:child", "step 3 'read:child': child has exited"],
    ["base | fork | pin:vmsplice@child | exit:child", "step 3 'exit:child': child holds the pin (unpin first)"],
    ["base | munmap | mprotect:ro", "step 2 'mprotect:ro': parent has no mapping of the region"],
    ["base | dontfork | fork | pin:gup-ro@child", "step 3 'pin:gup-ro@child': child has no mapping of the region"],
  ])("%j: %s", (line, msg) => {
    expect(wf(line)).toThrow(msg);
  });

  it("accepts reads and writes that will fault: they are observations", () => {
    expect(wf("base | dontfork | fork | read:child | write:child | mprotect:ro | write:parent")).not.toThrow();
    expect(wf("base | munmap | read:parent")).not.toThrow();
  });
});

describe("grammar file", () => {
  const minimal = "version: 1\nmemory:\n  base: {summary: b}\nmechanisms:\n  m: {summary: m, access: [read], longterm: true}\nops:\n  - {name: read, summary: r, subject: arg, args: [parent]}\n  - {name: write, summary: w, subject: arg, args: [parent]}\n";

  it("loads the checked-in grammar: every type, mechanism and op of issue 9, plus softdirty", () => {
    expect(Object.keys(g.memory)).toEqual(["base", "thp", "pte-mapped-thp", "single-pte-thp", "mthp", "swap", "thp-swap", "hugetlb", "ksm", "zeropage", "memfd-private", "shmem-thp-private"]);
    expect(Object.keys(g.mechanisms)).toEqual(["iouring", "gup-ro", "gup-ro-fast", "vmsplice", "odirect"]);
    expect([...g.ops.keys()]).toHaveLength(19);
    expect(g.ops.get("pin")!.args).toEqual(Object.keys(g.mechanisms));
  });

  it("accepts a minimal grammar", () => {
    expect(parseGrammar(minimal, "g.yaml").ops.size).toBe(2);
  });

  it("names file, line and field for a bad field", () => {
    const bad = minimal.replace("access: [read]", "access: [peek]");
    expect(() => parseGrammar(bad, "g.yaml")).toThrow(InputError);
    expect(() => parseGrammar(bad, "g.yaml")).toThrow(/^g\.yaml:5: mechanisms\.m\.access\.0: /);
  });

  it("rejects unknown op names and typos in fields", () => {
    expect(() => parseGrammar(minimal.replace("name: write", "name: scribble"), "g.yaml")).toThrow(/^g\.yaml:8: ops\.1\.name: /);
    expect(() => parseGrammar(minimal.replace("{summary: b}", "{summary: b, capz: []}"), "g.yaml")).toThrow(/^g\.yaml:3: memory\.base: .*capz/);
  });

  it("locates cross-field mistakes of a file on disk to their line", async () => {
    const { mkdtemp, writeFile } = await import("node:fs/promises");
    const { join } = await import("node:path");
    const { tmpdir } = await import("node:os");
    const file = join(await mkdtemp(join(tmpdir(), "explore-grammar-")), "g.yaml");
    await writeFile(file, minimal + "  - {name: read, summary: again}\n");
    await expect(loadGrammar(file)).rejects.toThrow(/g\.yaml:9: ops\.2\.name: 'read' is defined twice$/);
  });

  it("rejects cross-field mistakes in one line", () => {
    expect(() => parseGrammar(minimal.replace("subject: arg, args: [parent]}\n  - {name: write", "subject: arg}\n  - {name: write"), "g.yaml")).toThrow("ops.0.subject: 'arg' needs an args list");
    expect(() => parseGrammar(minimal + "  - {name: read, summary: again}\n", "g.yaml")).toThrow("ops.2.name: 'read' is defined twice");
  });
});
