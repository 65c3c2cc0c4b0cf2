import { beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { candidates, countByDepth, enumerate, randomScenario, randomScenarios, rejectEnd, rejectNext, walk } from "../orchestrator/explore/generate.ts";
import { mulberry32 } from "../orchestrator/explore/prng.ts";
import { parseScenario, printScenario } from "../orchestrator/explore/scenario.ts";
import { applyOp, checkWellFormed, initialState } from "../orchestrator/explore/wellformed.ts";

let g: Grammar;
beforeAll(async () => {
  g = await loadGrammar();
});

/** Why the generator would not put `next` after the ops of `prefix` (null: it would). */
function whyNot(prefix: string, next: string, opts = {}): string | null {
  const s0 = parseScenario(prefix, g);
  const t = g.memory[s0.memory.type]!;
  const all = candidates(g);
  const find = (tok: string) => all.find((c) => c.token === tok)!;
  let s = initialState(t);
  const path = s0.ops.map((op) => find(tokenOf(op)));
  for (const c of path) s = applyOp(s, c.op, g, c.token);
  return rejectNext(s, path[path.length - 1], find(next), g, t, opts);
}
const tokenOf = (op: { name: string; arg?: string; at?: string }) => `${op.name}${op.arg ? `:${op.arg}` : ""}${op.at ? `@${op.at}` : ""}`;

const lines = (depth: number) => new Set([...enumerate(g, depth)].map(printScenario));

describe("pruning rules", () => {
  it("noop: mprotect to the protection already in place", () => {
    expect(whyNot("base", "mprotect:rw")).toBe("noop:prot-same");
    expect(whyNot("base | mprotect:ro", "mprotect:ro")).toBe("noop:prot-same");
    expect(whyNot("base | mprotect:ro", "mprotect:rw")).toBeNull();
    expect(whyNot("base | fork | mprotect:ro", "mprotect:ro@child")).toBeNull();
  });
  it("noop: split of a split region, collapse of a PMD-mapped one", () => {
    expect(whyNot("pte-mapped-thp", "collapse")).toBeNull();
    expect(whyNot("thp", "collapse")).toBe("noop:not-split");
    expect(whyNot("thp | split", "split")).toBe("noop:split");
    expect(whyNot("thp | split", "collapse")).toBeNull();
  });
  it("noop: madvise flags already set or clear, ksm state already there, repeated pageout/migrate", () => {
    expect(whyNot("base | dontfork", "dontfork")).toBe("noop:dontfork-set");
    expect(whyNot("base", "dofork")).toBe("noop:dontfork-clear");
    expect(whyNot("base | wipeonfork", "wipeonfork")).toBe("noop:wipeonfork-set");
    expect(whyNot("ksm", "ksm:merge")).toBe("noop:merge-same");
    expect(whyNot("base", "ksm:unmerge")).toBe("noop:merge-same");
    expect(whyNot("base | pageout", "pageout")).toBe("noop:repeat");
    expect(whyNot("base | pageout | read:parent", "pageout")).toBeNull();
    expect(whyNot("base | migrate", "migrate")).toBe("noop:repeat");
  });
  it("read-repeat and reads-commute", () => {
    expect(whyNot("base | fork | read:child", "read:child")).toBe("read-repeat");
    expect(whyNot("base | fork | read:child", "read:parent")).toBe("reads-commute");
    expect(whyNot("base | fork | read:child", "read:parent", { noCommute: true })).toBeNull();
    expect(whyNot("base | fork | read:parent", "read:child")).toBeNull();
    const d3 = lines(3);
    expect(d3.has("base | fork | read:parent | read:child")).toBe(true);
    expect(d3.has("base | fork | read:child | read:parent")).toBe(false);
  });
  it("observe-last and needs-later decide which finished scenarios are kept", () => {
    const all = candidates(g);
    const c = (tok: string) => all.find((x) => x.token === tok)!;
    expect(rejectEnd([c("fork")])).toBe("observe-last");
    expect(rejectEnd([c("fork"), c("write:child")])).toBeNull();
    expect(rejectEnd([c("wipeonfork"), c("read:parent")])).toBe("needs-later");
    expect(rejectEnd([c("wipeonfork"), c("fork"), c("read:child")])).toBeNull();
    const d3 = lines(3);
    expect(d3.has("base | fork | pageout")).toBe(false);
    expect(d3.has("base | wipeonfork | fork | read:child")).toBe(true);
    expect(d3.has("base | dontfork | read:parent")).toBe(false);
  });
  it("child naming is canonical: child2 only after child", () => {
    for (const line of lines(3)) {
      const i = line.indexOf("child2");
      if (i >= 0) expect(line.indexOf("fork | ")).toBeLessThan(i);
      expect(line).not.toMatch(/fork2.*\| fork( |$)/);
    }
  });
});

describe("enumeration", () => {
  it("emits only well-formed scenarios, each once", () => {
    const seen = new Set<string>();
    for (const s of enumerate(g, 3)) {
      const line = printScenario(s);
      expect(() => checkWellFormed(s, g)).not.toThrow();
      expect(seen.has(line)).toBe(false);
      seen.add(line);
    }
  });

  it("covers the issue's example and the hand-written suite's shapes at depth 4", () => {
    const want = [
      "thp | pin:iouring | fork | write:parent | read:pin",
      "thp-swap | fork | pin:vmsplice@child | munmap@child | write:parent",
      "base | pin:iouring | mprotect:ro | mprotect:rw | write:parent",
      "swap | pin:gup-ro | read:parent | write:parent | read:pin",
    ];
    const got = new Set<string>();
    for (const m of ["thp", "thp-swap", "base", "swap"]) walk(g, { type: m }, 4, (p) => got.add(`${m} | ${p.map((c) => c.token).join(" | ")}`));
    for (const w of want) expect(got.has(w), w).toBe(true);
  });

  it("counts per depth and memory type (printed), depth 4 ≥ 4 ops after set-up", () => {
    const counts = countByDepth(g, 4);
    let total = 0;
    const rows: string[] = [];
    for (const [m, n] of counts) {
      rows.push(`${m.padEnd(18)} ${n.slice(1).map((x) => String(x).padStart(6)).join(" ")}`);
      total += n.reduce((a, b) => a + b, 0);
      expect(n[4]).toBeGreaterThan(1000);
    }
    console.log(`depth:              1      2      3      4\n${rows.join("\n")}\ntotal ${total}`);
    expect(counts.size).toBe(12);
  });
});

describe("random scenarios beyond K", () => {
  it("replay exactly from their seed and are well-formed, longer than K", () => {
    const a = randomScenarios(g, 42, 50);
    const b = randomScenarios(g, 42, 50);
    expect(a).toEqual(b);
    for (const { seed, scenario } of a) {
      expect(randomScenario(g, seed)).toEqual(scenario);
      expect(scenario.ops.length).toBeGreaterThanOrEqual(5);
      expect(() => checkWellFormed(scenario, g)).not.toThrow();
      expect(rejectEnd(scenario.ops.map((op) => candidates(g).find((c) => c.token === tokenOf(op))!))).toBeNull();
    }
    expect(new Set(a.map((x) => printScenario(x.scenario))).size).toBeGreaterThan(45);
    expect(randomScenarios(g, 43, 5)).not.toEqual(randomScenarios(g, 42, 5));
  });

  it("the PRNG is a fixed sequence (no Math.random)", () => {
    const r = mulberry32(1);
    expect([r(), r(), r()].map((x) => x.toFixed(6))).toEqual(["0.627074", "0.002736", "0.527447"]);
  });
});

describe("prefix subsumption", () => {
  it("emits only maximal scenarios, and every kept scenario is one of them or a prefix of one", () => {
    const all = new Set([...enumerate(g, 3, { prefixes: true })].map(printScenario));
    const maximal = [...enumerate(g, 3)].map(printScenario);
    expect(maximal.length).toBeLessThan(all.size);
    const covered = new Set<string>();
    for (const line of maximal) {
      expect(all.has(line)).toBe(true);
      const parts = line.split(" | ");
      for (let n = 2; n <= parts.length; n++) covered.add(parts.slice(0, n).join(" | "));
    }
    for (const line of all) expect(covered.has(line), line).toBe(true);
    // no emitted scenario is a proper prefix of another emitted one
    const set = new Set(maximal);
    for (const line of maximal) {
      const parts = line.split(" | ");
      for (let n = 2; n < parts.length; n++) expect(set.has(parts.slice(0, n).join(" | ")), line).toBe(false);
    }
  });

  it("leaves out mechanisms the grammar marks not_explored (odirect), while a line may still name them", () => {
    expect(g.mechanisms.odirect!.not_explored).toBeTruthy();
    expect([...enumerate(g, 2)].map(printScenario).some((l) => l.includes("pin:odirect"))).toBe(false);
    expect(() => checkWellFormed(parseScenario("base | pin:odirect | read:pin", g), g)).not.toThrow();
  });
});
