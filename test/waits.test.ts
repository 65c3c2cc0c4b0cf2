// The reproducers' idle-wait line ("# cowlab-waits: <ms> ms in <n> waits", testcases/lib/ktap.h):
// summed over a console by waitsFromConsole(), and invisible to the KTAP reading and the
// verdicts. The console is a real one (test/fixtures/waits/README.md says how it was captured).
import { readFileSync } from "node:fs";
import { beforeAll, describe, expect, it } from "vitest";
import { consoleStream } from "../orchestrator/guest/protocol.ts";
import { readGuest } from "../orchestrator/results/ktap.ts";
import { classifyGuest } from "../orchestrator/results/classify.ts";
import { loadManifest, type Testcase } from "../orchestrator/config/testcases.ts";
import { waitsFromConsole } from "../orchestrator/results/waits.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

const REAL = readFileSync(repoPath("test", "fixtures", "waits", "6.12-x86_64-console.txt"), "utf8");
const WAITS_LINE = /# cowlab-waits: /;
const withoutWaits = (text: string): string =>
  text
    .split("\n")
    .filter((l) => !WAITS_LINE.test(l))
    .join("\n");

// The four lines of the real console, as the programs printed them.
const REAL_LINES = REAL.split("\n").filter((l) => WAITS_LINE.test(l));
const sumOf = (lines: string[]) =>
  lines.reduce(
    (s, l) => {
      const m = /(\d+) ms in (\d+) waits/.exec(l)!;
      return { ms: s.ms + Number(m[1]), waits: s.waits + Number(m[2]), programs: s.programs + 1 };
    },
    { ms: 0, waits: 0, programs: 0 },
  );

describe("waitsFromConsole", () => {
  it("sums the line of every program of a real console", () => {
    expect(REAL_LINES).toHaveLength(4);
    const got = waitsFromConsole(REAL);
    expect(got).toEqual(sumOf(REAL_LINES));
    expect(got.waits).toBeGreaterThan(0);
  });

  it("reads both nestings, and only inside a program's block", () => {
    const text = [
      "# cowlab-waits: 1000 ms in 1000 waits", // before any program: not a program's line
      "# cowlab-begin a at=1.0",
      "    KTAP version 1",
      "    1..1",
      "    ok 1 x",
      "    # cowlab-waits: 12 ms in 3 waits",
      "# cowlab-end a rc=0 ms=20 at=1.1",
      "# cowlab-begin b at=1.1",
      "# KTAP version 1",
      "# 1..1",
      "# ok 1 y",
      "# # cowlab-waits: 5 ms in 2 waits",
      "# cowlab-end b rc=0 ms=9 at=1.2",
      "# cowlab-begin c at=1.2",
      "    KTAP version 1",
      "    1..1",
      "    ok 1 z",
      "    # cowlab-waits: many ms in some waits", // not the format: ignored
      "# cowlab-end c rc=0 ms=9 at=1.3",
      "# cowlab-done",
    ].join("\n");
    expect(waitsFromConsole(text)).toEqual({ ms: 17, waits: 5, programs: 2 });
  });

  it("is zero for a console without the line (a reproducer from before the line existed)", () => {
    expect(waitsFromConsole(withoutWaits(REAL))).toEqual({ ms: 0, waits: 0, programs: 0 });
  });
});

describe("the line is a diagnostic the KTAP reading ignores", () => {
  let testcases: Testcase[] = [];
  beforeAll(async () => {
    testcases = (await loadManifest()).testcases;
  });
  const id = { job: "6.12/base/x86_64", kernel: "6.12.117", arch: "x86_64", variant: "base" };
  const record = (text: string) => ({ ...consoleStream(text), ending: "exited" as const, exitCode: 0 });

  it("a real console reads to the same blocks and results with and without it", () => {
    const strip = (text: string) => readGuest(consoleStream(text).events).blocks.map(({ lines, begin, end, results, ...b }) => ({ ...b, results: results.map(({ at, ...r }) => r) }));
    const withLine = strip(REAL);
    expect(withLine.map((b) => b.id)).toEqual(["gup-after-fork", "gup-before-fork", "swap", "migration"]);
    expect(withLine).toEqual(strip(withoutWaits(REAL)));
  });

  it("and classifies to the same verdicts", () => {
    const verdicts = (text: string) => {
      const c = classifyGuest(id, testcases, record(text));
      return { guest: c.guestStatus, rows: c.results.map((r) => `${r.testcase}/${r.case}=${r.status} ${r.duration_ms} ${r.reason}`) };
    };
    const withLine = verdicts(REAL);
    expect(withLine.guest).toBe("ok");
    expect(withLine.rows.length).toBeGreaterThan(100);
    expect(withLine).toEqual(verdicts(withoutWaits(REAL)));
  });
});
