import { describe, expect, it } from "vitest";
import { contentKey } from "../orchestrator/util/hash.ts";
import { buildKey } from "../orchestrator/build/kernel.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import type { SourceTree } from "../orchestrator/sources/types.ts";

const tree: SourceTree = { dir: "/nonexistent", key: "linux-source-6.12-abc", version: "6.12.117", label: "t" };

describe("cache keys", () => {
  it("do not depend on the order parts are given in", () => {
    expect(contentKey({ a: "1", b: ["x", "y"] })).toBe(contentKey({ b: ["x", "y"], a: "1" }));
  });
  it("change when any part changes, and parts cannot bleed into each other", () => {
    const k = contentKey({ a: "1", b: "2" });
    expect(contentKey({ a: "1", b: "3" })).not.toBe(k);
    expect(contentKey({ a: "12", b: "" })).not.toBe(contentKey({ a: "1", b: "2" }));
    expect(contentKey({ a: ["x", "y"] })).not.toBe(contentKey({ a: ["xy"] }));
  });
  it("a kernel build key covers source, patches, fragments and arch", async () => {
    const x86 = await loadMachine("x86_64");
    const arm = await loadMachine("arm64");
    const base = await buildKey({ source: tree, machine: x86, fragments: ["base", "gup-test"] });
    expect(await buildKey({ source: tree, machine: x86, fragments: ["base", "gup-test"] })).toBe(base);
    expect(await buildKey({ source: { ...tree, key: "other" }, machine: x86, fragments: ["base", "gup-test"] })).not.toBe(base);
    expect(await buildKey({ source: tree, machine: x86, fragments: ["base", "gup-test"], patchesKey: "p1" })).not.toBe(base);
    expect(await buildKey({ source: tree, machine: x86, fragments: ["base", "gup-test", "debug-vm"] })).not.toBe(base);
    expect(await buildKey({ source: tree, machine: arm, fragments: ["base", "gup-test"] })).not.toBe(base);
  });
});
