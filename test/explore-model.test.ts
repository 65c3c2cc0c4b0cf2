import { beforeAll, describe, expect, it } from "vitest";
import { type Grammar, loadGrammar } from "../orchestrator/explore/grammar.ts";
import { enumerate } from "../orchestrator/explore/generate.ts";
import { INVARIANT_IDS } from "../orchestrator/explore/invariants.ts";
import { type Prediction, predict } from "../orchestrator/explore/model.ts";
import { parseScenario } from "../orchestrator/explore/scenario.ts";

let g: Grammar;
beforeAll(async () => {
  g = await loadGrammar();
});

const model = (line: string) => predict(parseScenario(line, g), g);
/** The prediction of the last step (the observation each hand-written case is about). */
const last = (line: string): Prediction => model(line).predictions.at(-1)!;
/** "accept/invariant" of every observing step, in order. */
const observed = (line: string): string[] =>
  model(line).predictions.filter((p) => p.kind !== "op").map((p) => `${p.token}=${p.accept.join("|")}/${p.invariant}`);

describe("fork isolation", () => {
  it("fork then child write: the parent still sees its own version", () => {
    expect(observed("base | write:parent | fork | write:child | read:parent | read:child")).toEqual([
      "write:parent=ok/write-protection",
      "write:child=ok/write-protection",
      "read:parent=w1/fork-isolation",
      "read:child=w3/fork-isolation",
    ]);
  });
  it("the parent's write after fork is not the child's, nor child2's", () => {
    expect(observed("thp | fork | fork2 | write:parent | read:child | read:child2")).toEqual([
      "write:parent=ok/write-protection",
      "read:child=init/fork-isolation",
      "read:child2=init/fork-isolation",
    ]);
  });
  it("a child forked after a write inherits it", () => {
    expect(last("thp | fork | write:parent | fork2 | read:child2").accept).toEqual(["w2"]);
  });
  it("without any fork, a read rests on content-preserved (e.g. across pageout)", () => {
    expect(last("thp | write:parent | pageout | read:parent")).toMatchObject({ accept: ["w1"], invariant: "content-preserved" });
    expect(last("swap | read:parent")).toMatchObject({ accept: ["init"], invariant: "content-preserved" });
    expect(last("zeropage | read:parent").accept).toEqual(["zero"]);
  });
});

describe("long-term pins", () => {
  it("R/W iouring pin, fork, parent write: the pin sees the parent's write (5.10 breaks this for THP)", () => {
    expect(last("thp | pin:iouring | fork | write:parent | read:pin")).toMatchObject({ accept: ["w3"], invariant: "pin-coherence" });
  });
  it("R/W pin, fork, child write: the pin does not see it", () => {
    expect(last("thp | pin:iouring | fork | write:child | read:pin")).toMatchObject({ accept: ["init"], invariant: "pin-coherence" });
  });
  it("a write through the R/W pin reaches the pinner's mapping, not the child's", () => {
    expect(observed("base | pin:iouring | fork | write:pin | read:parent | read:child")).toEqual([
      "write:pin=ok/pin-coherence",
      "read:parent=w3/pin-coherence",
      "read:child=init/fork-isolation",
    ]);
  });
  it("R/W pin, mprotect ro then rw, write: the pin still sees it (swap.c rw-pin-ro-remap)", () => {
    expect(last("base | pin:iouring | mprotect:ro | mprotect:rw | write:parent | read:pin").accept).toEqual(["w4"]);
  });
  it("R/W pin survives pageout, migration, split and collapse", () => {
    expect(last("thp | pin:iouring | pageout | write:parent | read:pin").accept).toEqual(["w3"]);
    expect(last("thp | pin:iouring | migrate | split | collapse | write:parent | read:pin").accept).toEqual(["w5"]);
  });
  it("R/O pin of a page shared after fork, then parent write: the pin sees it", () => {
    expect(last("base | fork | pin:gup-ro | write:parent | read:pin")).toMatchObject({ accept: ["w3"], invariant: "pin-coherence", caveats: [] });
    expect(last("swap | fork | pin:gup-ro-fast | write:parent | read:pin").accept).toEqual(["w3"]);
  });
  it("a R/O long-term pin of the zeropage or a private file page says it may keep the old page", () => {
    const p = last("zeropage | pin:gup-ro | write:parent | read:pin");
    expect(p.accept).toEqual(["w2", "zero"]);
    expect(p.caveats.map((c) => c.id)).toEqual(["non-anon-ro-pin"]);
    expect(p.caveats[0]!.ref).toMatch(/gup_must_unshare/);
    // once the owner wrote, the page is anonymous: no caveat
    expect(last("memfd-private | write:parent | pin:gup-ro | write:parent | read:pin")).toMatchObject({ accept: ["w3"], caveats: [] });
    // a R/W pin write-faults first: always anonymous
    expect(last("memfd-private | pin:iouring | write:parent | read:pin")).toMatchObject({ accept: ["w2"], caveats: [] });
  });
  it("after the owner unmaps, the pin keeps the last version", () => {
    expect(last("base | pin:iouring | write:parent | munmap | read:pin")).toMatchObject({ accept: ["w2"], invariant: "content-preserved" });
  });
});

describe("R/O GUP references (vmsplice)", () => {
  it("vmsplice in the child, child unmaps, parent writes: the pipe keeps the fork-time data", () => {
    expect(last("thp | fork | pin:vmsplice@child | munmap@child | write:parent | read:pin")).toMatchObject({ accept: ["init"], invariant: "ro-ref-isolation" });
  });
  it("vmsplice in the parent after fork, child writes: no leak", () => {
    expect(last("swap | fork | pin:vmsplice | write:child | read:pin")).toMatchObject({ accept: ["init"], invariant: "ro-ref-isolation", caveats: [] });
  });
  it("the pinner's own later write may or may not show, and the model says why", () => {
    const p = last("base | pin:vmsplice | write:parent | read:pin");
    expect(p.accept).toEqual(["init", "w2"]);
    expect(p.caveats.map((c) => c.id)).toEqual(["ro-ref-not-longterm"]);
  });
  it("hugetlb: a leak is tolerated with cow.c's XFAIL as reference, never silently", () => {
    const p = last("hugetlb:2M | fork | pin:vmsplice@child | munmap@child | write:parent | read:pin");
    expect(p.accept).toEqual(["init"]);
    expect(p.tolerated).toBe("any");
    expect(p.caveats.map((c) => c.id)).toEqual(["hugetlb-ro-ref"]);
    expect(p.caveats[0]!.ref).toMatch(/cow\.c.*XFAIL/);
  });
});

describe("O_DIRECT (GUP at each access)", () => {
  it("reads the owner's mapping as it is, writes into it", () => {
    expect(observed("base | pin:odirect | fork | write:child | read:pin | write:pin | read:parent | read:child")).toEqual([
      "write:child=ok/write-protection",
      "read:pin=init/content-preserved",
      "write:pin=ok/write-protection",
      "read:parent=w5/pin-coherence",
      "read:child=w3/fork-isolation",
    ]);
  });
  it("an O_DIRECT read into a PROT_READ mapping fails", () => {
    expect(last("base | pin:odirect | mprotect:ro | write:pin")).toMatchObject({ accept: ["fault"], invariant: "write-protection" });
  });
});

describe("protection and madvise", () => {
  it("mprotect ro then write: fault, in every process", () => {
    expect(last("base | mprotect:ro | write:parent")).toMatchObject({ accept: ["fault"], invariant: "write-protection" });
    expect(last("base | mprotect:ro | fork | write:child")).toMatchObject({ accept: ["fault"], invariant: "write-protection" });
    expect(last("base | fork | mprotect:ro@child | write:child").accept).toEqual(["fault"]);
    expect(last("base | fork | mprotect:ro@child | write:parent").accept).toEqual(["ok"]);
  });
  it("a faulting write changes nothing", () => {
    expect(last("base | mprotect:ro | write:parent | read:parent").accept).toEqual(["init"]);
  });
  it("wipeonfork: the child reads zeroes, the parent keeps its data", () => {
    expect(observed("thp | write:parent | wipeonfork | fork | read:parent | read:child")).toEqual([
      "write:parent=ok/write-protection",
      "read:parent=w1/content-preserved",
      "read:child=zero/wipeonfork",
    ]);
  });
  it("wipeonfork on a file-backed mapping (memfd, shmem, hugetlbfs) is refused by madvise: the child inherits the data (found by the interpreter in a guest)", () => {
    for (const m of ["memfd-private", "shmem-thp-private", "hugetlb:2M"]) expect(last(`${m} | wipeonfork | fork | read:child`).accept, m).toEqual(["init"]);
    expect(last("base | wipeonfork | fork | read:child").accept).toEqual(["zero"]);
  });
  it("softdirty write-protects the PTEs but promises the same: a R/W pin still sees the owner's next write", () => {
    expect(last("base | pin:iouring | softdirty | write:parent | read:pin")).toMatchObject({ accept: ["w3"], invariant: "pin-coherence" });
  });
  it("dontfork: the child has no mapping, its accesses fault; dofork undoes it", () => {
    expect(observed("base | dontfork | fork | read:child | write:child")).toEqual(["read:child=fault/dontfork", "write:child=fault/dontfork"]);
    expect(last("base | dontfork | dofork | fork | read:child").accept).toEqual(["init"]);
  });
  it("munmap: the process's accesses fault", () => {
    expect(last("base | munmap | read:parent")).toMatchObject({ accept: ["fault"], invariant: "unmapped-faults" });
  });
  it("content survives KSM merge/unmerge and mremap", () => {
    expect(last("ksm | ksm:unmerge | mremap | read:parent").accept).toEqual(["init"]);
    expect(last("base | write:parent | ksm:merge | fork | write:child | read:parent").accept).toEqual(["w1"]);
  });
  it("other ops predict only that they return (bounded)", () => {
    for (const p of model("thp | pageout | migrate | fork | read:child").predictions.slice(0, 3)) expect(p).toMatchObject({ accept: ["done"], invariant: "bounded" });
  });
});

describe("the model over the whole depth-3 enumeration", () => {
  it("predicts one observation per step, never mixed, naming a known invariant", () => {
    for (const s of enumerate(g, 3)) {
      const m = predict(s, g);
      expect(m.predictions.map((p) => p.step)).toEqual(s.ops.map((_, i) => i + 1));
      for (const p of m.predictions) {
        expect(p.accept.length).toBeGreaterThan(0);
        expect(p.accept).not.toContain("mixed");
        expect(INVARIANT_IDS).toContain(p.invariant);
      }
    }
  });
});
