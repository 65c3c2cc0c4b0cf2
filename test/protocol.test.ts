// The guest protocol: every runtime's output becomes the same typed events, and
// classification reads only those (orchestrator/guest/protocol.ts).
import { describe, expect, it } from "vitest";
import { consoleStream, mergeByTime, readProtocol, reportEvents, type GuestEvent } from "../orchestrator/guest/protocol.ts";
import { readGuest } from "../orchestrator/results/ktap.ts";
import { classifyGuest } from "../orchestrator/results/classify.ts";
import type { Testcase } from "../orchestrator/config/testcases.ts";

const tc = (id: string): Testcase => ({ id, family: "gup-after-fork", source: `${id}.c`, timeout_s: 30, checks: "", mechanism: "", requires: { config: [], guest: [] }, references: [] });
const id = { job: "6.12/base/x86_64", kernel: "6.12.117", arch: "x86_64", variant: "base" };

const NESTED = `KTAP version 1
1..1
# cowlab-setup uname=6.12.117
# cowlab-begin alpha at=3.50
    KTAP version 1
    1..2
    # duration_ms: 5
    ok 1 first
    # child saw the parent's write
    not ok 2 second
# cowlab-end alpha rc=1 ms=20 at=3.52
not ok 1 alpha
# cowlab-done
`;

describe("guest protocol", () => {
  it("reads a nested KTAP v1 document: the program's lines without their indent, the guest's own result line ignored", () => {
    const { events } = consoleStream(NESTED);
    expect(events.filter((e) => e.kind !== "line")).toEqual([
      { kind: "setup", key: "uname", value: "6.12.117" },
      { kind: "begin", testcase: "alpha", at: 3.5 },
      { kind: "end", testcase: "alpha", rc: 1, ms: 20, at: 3.52 },
      { kind: "done" },
    ]);
    const out = readGuest(events);
    expect(out.blocks[0]!.results.map((r) => [r.name, r.ok, r.durationMs])).toEqual([["first", true, 5], ["second", false, undefined]]);
    expect(out.blocks[0]!.lines[0]).toBe("KTAP version 1");
  });

  it("reads kselftest's \"# \"-prefixed nesting the same way", () => {
    const prefixed = NESTED.replace(/^ {4}/gm, "# ");
    expect(prefixed).toContain("# not ok 2 second");
    const a = readGuest(consoleStream(NESTED).events).blocks[0]!;
    const b = readGuest(consoleStream(prefixed).events).blocks[0]!;
    expect(b.results).toEqual(a.results);
    expect(b.plan).toBe(2);
    // a diagnostic inside the program stays a diagnostic
    expect(b.results[1]!.diagnostics).toEqual(["child saw the parent's write"]);
  });

  it("a kernel report on the console is an event between the program lines it was printed between", () => {
    const text = NESTED.replace("    not ok 2 second", "[    3.510000] BUG: Bad page map in process alpha  pte:8000000 pmd:1\n    not ok 2 second");
    const { events } = consoleStream(text);
    const i = events.findIndex((e) => e.kind === "report");
    expect(events[i]).toMatchObject({ kind: "report", title: "BUG: Bad page map", at: 3.51 });
    expect(events[i - 1]).toMatchObject({ kind: "line", text: "# child saw the parent's write" });
    expect(events[i + 1]).toMatchObject({ kind: "line", text: "not ok 2 second" });
    const c = classifyGuest(id, [tc("alpha")], { ...consoleStream(text), ending: "exited", exitCode: 0 });
    expect(c.results.map((r) => `${r.case}=${r.status}`)).toEqual(["first=pass", "second=crash"]);
  });

  it("a report read apart from the output (an SSH target's dmesg) is placed by time, and classification gives the same verdicts", () => {
    const lines = NESTED.split("\n");
    // the SSH runtime stamps each line with the guest time it arrived at
    const times = lines.map((_, i) => 3.5 + i * 0.001);
    const stream = readProtocol(lines, (i) => times[i]);
    const dmesg = ["[    3.000000] zram0: detected capacity change", "[    3.508500] BUG: Bad page map in process alpha  pte:8000000 pmd:1", "[    3.508600] addr:00007f0000000000 vm_flags:00100073"];
    const reports = reportEvents(dmesg).map((r) => r.event);
    expect(reports).toHaveLength(1);
    const events: GuestEvent[] = mergeByTime(stream, reports);
    const c = classifyGuest(id, [tc("alpha")], { events, tail: [], ending: "exited", exitCode: 0 });
    // 3.5085 is after "first" (line 7 at 3.507) and before "not ok 2 second" (line 9 at 3.509)
    expect(c.results.map((r) => `${r.case}=${r.status}`)).toEqual(["first=pass", "second=crash"]);
    expect(c.reports).toEqual([{ title: "BUG: Bad page map", at: 3.5085 }]);
  });

  it("a connection lost in mid-case is an error, and a crash when the target rebooted", () => {
    const cut = NESTED.slice(0, NESTED.indexOf("    not ok 2"));
    const lost = classifyGuest(id, [tc("alpha")], { ...consoleStream(cut), ending: "lost", exitCode: undefined, failure: "connection to 10.0.0.2:22 lost" });
    expect(lost.guestStatus).toBe("guest-error");
    expect(lost.results.map((r) => `${r.case}=${r.status}`)).toEqual(["first=pass", "*=error"]);
    expect(lost.results[1]!.reason).toBe("connection to 10.0.0.2:22 lost in alpha after 1 of 2 results");
    const rebooted = classifyGuest(id, [tc("alpha")], { ...consoleStream(cut), ending: "lost", exitCode: undefined, failure: "connection to 10.0.0.2:22 lost", rebooted: true });
    expect(rebooted.guestStatus).toBe("crash");
    expect(rebooted.results.map((r) => `${r.case}=${r.status}`)).toEqual(["first=pass", "*=crash"]);
  });
});
