// The explorer against real kernels. Without case names, it must find (and shrink) the
// failures the hand-written suite shows: on 5.10, on 6.12 + anon-exclusive-off, and for each
// breaking patch of cow-breakers, where a bisection on the found scenario names the patch.
// The explorations are focused (`--only` names a memory type and the first ops to explore
// from, never a case): unfocused, depth 5 is a million lines (see README, "The explorer").
// Every minimal line must pass on 6.12 without patches, and its generated C file must build
// with gcc -static alone.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp, access } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults, type CaseResult } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

const SERIES = repoPath("kernels", "series", "cow-breakers");

interface Explored {
  data: RunResults;
  out: string;
}

async function explore(args: string[]): Promise<Explored> {
  const out = await mkdtemp(join(tmpdir(), "cowlab-explore-"));
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "explore", "--arch", "x86_64", "--shrink-known", ...args, "--out", out, "--json"], { reject: false, timeout: 60 * 60_000 });
  if (!r.stdout) throw new Error(`cowlab explore ${args.join(" ")} printed nothing (exit ${r.exitCode}):\n${r.stderr}`);
  return { data: RunResults.parse(JSON.parse(r.stdout)), out };
}

/** What the hand suite fails, and the shape of an explorer line that shows the same bug. */
const TARGETS = {
  "5.10": [
    // the child's write (or munmap) leaves the parent the THP's only mapper, with the pipe still on it
    { hand: "gup-after-fork/vmsplice-child-thp", line: /^thp \| fork \| pin:vmsplice@child \| .*write:parent.*read:pin/ },
    { hand: "swap/rw-pin-ro-remap-base", line: /^base \| pin:iouring \| .*mprotect:ro.*mprotect:rw.*write:parent.*read:pin/ },
    { hand: "gup-before-fork/iouring-fork-parent-write-hugetlb", line: /^hugetlb:2M \| pin:iouring \| .*fork.*write:parent.*read:pin/ },
  ],
  "anon-exclusive-off": [
    { hand: "gup-after-fork/ro-pin-shared-base", line: /^base \| fork \| pin:gup-ro.*write:parent.*read:pin/ },
    { hand: "swap/swapin-ro-pin-base", line: /^swap \| .*pin:gup-ro.*write:parent.*read:pin/ },
  ],
  // The hand case's R/O remap: mprotect(PROT_READ), clear soft-dirty (so mprotect back to
  // PROT_WRITE leaves the PTE write-protected), mprotect back, write: six ops with the read.
  "anon-exclusive-off remap": [
    { hand: "swap/rw-pin-ro-remap-base", line: /^base \| pin:iouring \| mprotect:ro \| softdirty \| .*mprotect:rw.*write:parent.*read:pin/ },
  ],
  "cow-breakers": [
    { hand: "gup-before-fork/iouring-fork-parent-write-base", line: /^base \| pin:iouring \| .*fork.*write:parent.*read:pin/, culprit: "0003-" },
    { hand: "gup-after-fork/ro-pin-shared-base", line: /^base \| fork \| pin:gup-ro.*write:parent.*read:pin/, culprit: "0005-" },
    { hand: "migration/move-pinned-base", line: /^base \| pin:iouring \| .*migrate.*write:parent.*read:pin/, culprit: "0007-" },
  ],
} as const;

// Known issues name these bugs on 5.10 (the rows are `expected`): a failure all the same.
const failing = (d: RunResults): CaseResult[] => d.results.filter((r) => r.family === "explore" && r.status === "fail");

const runs = new Map<string, Explored>();

describe("the explorer rediscovers the hand suite's failures", () => {
  beforeAll(async () => {
    // Three guests' worth of work, started together: one kernel's guest runs while the next
    // one builds (the cache's locks keep two builds of one kernel from racing).
    const [v510, aeo, aeoRemap, breakers] = await Promise.all([
      explore(["--kernel", "5.10", "--variant", "base", "--depth", "5", "--budget", "1500", "--only", "thp | fork | pin:vmsplice@child | *", "base | pin:iouring | mprotect:ro | *", "hugetlb:2M | pin:iouring | fork | *"]),
      explore(["--kernel", "6.12", "--variant", "anon-exclusive-off", "--depth", "5", "--budget", "1500", "--only", "base | fork | pin:gup-ro | *", "swap | read:parent | pin:gup-ro | *"]),
      explore(["--kernel", "6.12", "--variant", "anon-exclusive-off", "--depth", "6", "--budget", "900", "--only", "base | pin:iouring | mprotect:ro | softdirty | *"]),
      explore(["--kernel", "6.12", "--series", SERIES, "--variant", "cow-breakers", "--depth", "4", "--budget", "900", "--only", "base | pin:iouring | fork | *", "base | fork | pin:gup-ro | *", "base | pin:iouring | migrate | *"]),
    ]);
    runs.set("5.10", v510).set("anon-exclusive-off", aeo).set("anon-exclusive-off remap", aeoRemap).set("cow-breakers", breakers);
  }, 120 * 60_000);

  for (const [run, targets] of Object.entries(TARGETS)) {
    for (const t of targets) {
      it(`${run}: finds a failing line for ${t.hand}, and shrinks it to one that still fails`, () => {
        const { data } = runs.get(run)!;
        const hits = failing(data).filter((r) => t.line.test(r.case));
        expect(hits.length, `no failing line like ${t.line} among ${failing(data).map((r) => r.case).join("\n")}`).toBeGreaterThan(0);
        const minimal = (data.explore?.minimized ?? []).filter((m) => t.line.test(m.minimal));
        expect(minimal.length, `no minimized line like ${t.line}`).toBeGreaterThan(0);
        for (const m of minimal) expect(m.minimal.split(" | ").length).toBeLessThanOrEqual(hits[0]!.case.split(" | ").length);
      });
    }
  }

  it("every minimized line passes on 6.12 without patches, and its C file builds with gcc -static alone", async () => {
    const lines = new Set<string>();
    for (const { data, out } of runs.values()) {
      for (const m of data.explore?.minimized ?? []) {
        if (m.jobs.length > 1) continue; // divergences have no single failing kernel
        lines.add(m.minimal);
        expect(m.file).toBeTruthy();
        const file = join(out, m.file!);
        await access(file);
        const cc = await execa("gcc", ["-static", "-O2", file, "-o", join(out, "repro")], { reject: false, all: true });
        expect(cc.exitCode, cc.all).toBe(0);
      }
    }
    expect(lines.size).toBeGreaterThan(0);
    const control = await explore(["--kernel", "6.12", "--variant", "base", "--depth", "6", "--budget", "600", "--no-shrink", "--only", ...lines]);
    const rows = control.data.results.filter((r) => r.family === "explore" && r.case !== "*");
    expect(rows.map((r) => r.case).sort()).toEqual([...lines].sort());
    for (const r of rows) expect(r.status, `${r.case}: ${r.reason}`).toBe("pass");
  }, 30 * 60_000);

  for (const t of TARGETS["cow-breakers"]) {
    it(`a bisection on the found line for ${t.hand} names ${t.culprit}`, async () => {
      const m = runs.get("cow-breakers")!.data.explore!.minimized.find((x) => t.line.test(x.minimal));
      expect(m, "no minimized line").toBeDefined();
      const out = await mkdtemp(join(tmpdir(), "cowlab-bisect-scenario-"));
      const r = await execa("node", [repoPath("bin", "cowlab.js"), "bisect", "--kernel", "6.12", "--series", SERIES, "--scenario", m!.minimal, "--arch", "x86_64", "--out", out, "--json"], { reject: false, timeout: 60 * 60_000 });
      const b = RunResults.parse(JSON.parse(r.stdout)).bisect!;
      expect(b.culprit?.label, b.conclusion).toMatch(new RegExp(`^${t.culprit}`));
    }, 60 * 60_000);
  }
});
