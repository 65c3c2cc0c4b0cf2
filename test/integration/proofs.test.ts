// Every family can fail: for each, a kernel on which its cases fail while the same cases
// pass on 6.12. Two families fail on Debian's 5.10 (before the PageAnonExclusive series);
// the other two need patches of our own: kernels/series/cow-breakers (0003 shares pinned
// pages at fork, 0007 migrates pinned pages; the bisection test pins each failure on its
// patch). Its fully applied build is the same cache entry the bisection's first step uses.
import { describe, expect, it, beforeAll } from "vitest";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults, type CaseResult } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";

const PROOFS = [
  { family: "gup-after-fork", broken: "5.10/base/x86_64", testcase: "gup-after-fork", cases: ["vmsplice-child-thp", "vmsplice-child-thp-swap"] },
  { family: "swap", broken: "5.10/base/x86_64", testcase: "swap", cases: ["rw-pin-ro-remap-base"] },
  { family: "gup-before-fork", broken: "6.12/cow-breakers/x86_64", testcase: "gup-before-fork", cases: ["iouring-fork-parent-write-base"] },
  { family: "migration", broken: "6.12/cow-breakers/x86_64", testcase: "migration", cases: ["move-pinned-base"] },
];

async function cowlab(args: string[]): Promise<RunResults> {
  const out = await mkdtemp(join(tmpdir(), "cowlab-proof-"));
  const r = await execa("node", [repoPath("bin", "cowlab.js"), "run", ...args, "--arch", "x86_64", "--out", out, "--json"], { reject: false, timeout: 40 * 60_000 });
  if (!r.stdout) throw new Error(`cowlab run ${args.join(" ")} printed no results (exit ${r.exitCode}):\n${r.stderr}`);
  return RunResults.parse(JSON.parse(r.stdout));
}

let results: CaseResult[] = [];

describe("each family has a kernel it fails on", () => {
  beforeAll(async () => {
    const versions = await cowlab(["--kernel", "5.10", "6.12", "--variant", "base"]);
    const proofs = await cowlab(["--kernel", "6.12", "--series", repoPath("kernels/series/cow-breakers"), "--variant", "cow-breakers"]);
    results = [...versions.results, ...proofs.results];
  }, 60 * 60_000);

  for (const p of PROOFS) {
    for (const name of p.cases) {
      it(`${p.family}: ${p.testcase}/${name} fails on ${p.broken} and passes on 6.12`, () => {
        const find = (job: string) => results.find((r) => r.job === job && r.testcase === p.testcase && r.case === name);
        const broken = find(p.broken);
        const good = find("6.12/base/x86_64");
        expect(broken, `${p.broken} has no ${name}`).toBeDefined();
        expect(broken!.status, broken!.reason).toBe("fail");
        expect(good?.status, good?.reason).toBe("pass");
      });
    }
  }
});
