import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { parseConfig, droppedOptions, mergeFragments, formatDropped } from "../orchestrator/build/kconfig.ts";
import { repoPath } from "../orchestrator/util/paths.ts";

describe("fragment verification", () => {
  it("parses set, unset and string values", () => {
    const m = parseConfig('CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n# comment\n');
    expect([...m]).toEqual([
      ["CONFIG_A", "y"],
      ["CONFIG_B", "n"],
      ["CONFIG_C", '"x y"'],
      ["CONFIG_D", "0x10"],
    ]);
  });

  it("lists the options olddefconfig dropped or changed, later fragments winning", () => {
    const requested = mergeFragments(["CONFIG_A=y\nCONFIG_B=y\n", "# CONFIG_B is not set\nCONFIG_C=y\nCONFIG_E=m\n"]);
    const final = parseConfig("CONFIG_A=y\nCONFIG_E=y\n# CONFIG_C is not set\n");
    const dropped = droppedOptions(requested, final);
    expect(dropped).toEqual([
      { option: "CONFIG_C", wanted: "y", got: "n" },
      { option: "CONFIG_E", wanted: "m", got: "y" },
    ]);
    expect(formatDropped(dropped)).toBe("CONFIG_C=y (got not set), CONFIG_E=m (got y)");
  });

  it("the base fragment asks for what the brief requires", async () => {
    const base = parseConfig(await readFile(repoPath("kernels", "fragments", "base.config"), "utf8"));
    for (const o of ["BLOCK", "SWAP", "ZRAM", "NUMA", "MIGRATION", "COMPACTION", "TRANSPARENT_HUGEPAGE", "KSM", "IO_URING", "DEBUG_FS", "BLK_DEV_INITRD", "DEVTMPFS", "TMPFS"]) {
      expect(base.get(`CONFIG_${o}`), o).toBe("y");
    }
  });
});
