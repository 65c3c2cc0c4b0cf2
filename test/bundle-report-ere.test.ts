// rerun.sh (a bundle's standalone script) tells a crash by REPORT_ERE, a hand translation of
// qemu/console.ts's report headers into POSIX ERE. This keeps the two in step: every header
// the lab's reader finds, in the real consoles of the corpus and in one sample line per header
// form, must match the ERE under grep -E (the engine rerun.sh's awk and grep use), and the
// program lines around them must not.
import { describe, expect, it } from "vitest";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { REPORT_ERE } from "../orchestrator/bundle/rerun.ts";
import { findKernelReports, stripTimestamp } from "../orchestrator/qemu/console.ts";

const CORPUS = "test/fixtures/consoles";

/** One line per header form qemu/console.ts reads (its comments name where each comes from). */
const SAMPLES = [
  "Kernel panic - not syncing: Attempted to kill init! exitcode=0x0000000b",
  "kernel BUG at mm/gup.c:63!",
  "Kernel BUG at 0xffffffff81234567 [verbose debug info unavailable]",
  "Internal error: Oops - BUG: 00000000f2000800 [#1] SMP",
  "Unable to handle kernel paging request at virtual address ffff000012345678",
  "BUG: KASAN: use-after-free in folio_try_get+0x12/0x40",
  "BUG: unable to handle page fault for address: ffffc90000123000",
  "BUG: kernel NULL pointer dereference, address: 0000000000000008",
  "BUG: soft lockup - CPU#0 stuck for 22s! [cow:42]",
  "BUG: scheduling while atomic: cow/42/0x00000002",
  "BUG: sleeping function called from invalid context at mm/gup.c:1234",
  "BUG: Bad page state in process cow  pfn:12345",
  "WARNING: CPU: 0 PID: 42 at mm/gup.c:123 try_grab_folio+0x1/0x2",
  "WARNING: mm/gup.c:123 at try_grab_folio+0x1/0x2, CPU#0: cow/42",
  "WARNING: at mm/gup.c:123 try_grab_folio+0x1/0x2",
  "WARNING: possible circular locking dependency detected",
  "general protection fault, probably for non-canonical address 0xdead000000000100: 0000 [#1] SMP",
  "Oops: invalid opcode: 0000 [#1] SMP",
  "invalid opcode: 0000 [#1] SMP",
  "Oops: 0002 [#1] SMP",
  "UBSAN: shift-out-of-bounds in mm/memory.c:42:7",
  "INFO: task cow:42 blocked for more than 120 seconds.",
  "rcu: INFO: rcu_sched self-detected stall on CPU",
  "page dumped because: VM_BUG_ON_PAGE(!PageAnon(page))",
];

const egrep = async (lines: string[]): Promise<string[]> => {
  const r = await execa("grep", ["-E", REPORT_ERE], { input: lines.join("\n") + "\n", reject: false });
  return r.stdout ? r.stdout.split("\n") : [];
};

describe("rerun.sh's report patterns agree with the lab's console reader", () => {
  it("every sample header is a report to both", async () => {
    const lines = SAMPLES.map((s) => `[   12.345678] ${s}`);
    for (const l of lines) expect(findKernelReports([l]).length, l).toBe(1);
    expect(await egrep(SAMPLES)).toEqual(SAMPLES);
  });

  it("every report the reader finds in the real consoles matches the ERE; the programs' result lines do not", async () => {
    const files = (await readdir(CORPUS)).filter((f) => f.endsWith(".log"));
    let found = 0;
    for (const f of files) {
      const lines = (await readFile(join(CORPUS, f), "utf8")).split("\n");
      const headers = findKernelReports(lines).map((r) => stripTimestamp(lines[r.line]!));
      found += headers.length;
      expect(await egrep(headers), f).toEqual(headers);
      const results = lines.filter((l) => /^\s*(not )?ok \d+ /.test(l));
      expect(await egrep(results), f).toEqual([]);
    }
    expect(found).toBeGreaterThanOrEqual(3);
  });
});
