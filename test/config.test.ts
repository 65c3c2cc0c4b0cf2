import { describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { z } from "zod";
import { parseYaml } from "../orchestrator/config/yaml.ts";
import { KernelSpec, loadKernelSpecs } from "../orchestrator/config/kernels.ts";
import { loadMachine } from "../orchestrator/config/machines.ts";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { resultsJsonSchema } from "../orchestrator/results/schema.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { InputError } from "../orchestrator/util/result.ts";

describe("data files", () => {
  it("names file, line and field when a spec is wrong", () => {
    const text = 'id: "6.12"\nsource:\n  kind: debian\n  package: linux-6.12\nfragments: [base]\n';
    expect(() => parseYaml(text, "/x/kernels/specs/6.12.yaml", KernelSpec)).toThrow(InputError);
    expect(() => parseYaml(text, "/x/kernels/specs/6.12.yaml", KernelSpec)).toThrow(/6\.12\.yaml:4: source\.package: /);
  });

  it("reports YAML syntax errors with their line", () => {
    expect(() => parseYaml("a: 1\nb: [unclosed\n", "m.yaml", z.object({}))).toThrow(/m\.yaml:\d+: invalid YAML/);
  });

  it("rejects unknown fields instead of ignoring typos", () => {
    expect(() => parseYaml('id: x\nsource: {kind: debian, package: linux-source-6.12}\nfragmnts: []\n', "k.yaml", KernelSpec)).toThrow(/k\.yaml:1: .*fragmnts/);
  });

  it("loads the checked-in kernel specs, machine profiles and manifest", async () => {
    const ids = (await loadKernelSpecs()).map((s) => s.id);
    expect(ids).toEqual(expect.arrayContaining(["5.10", "6.1", "6.12"]));
    expect((await loadMachine("x86_64")).qemu.cmdline).toContain("numa=fake=2");
    expect((await loadMachine("arm64")).qemu.args.filter((a) => a.startsWith("node,"))).toHaveLength(2);
    const m = await loadManifest();
    expect(m.testcases.map((t) => t.id)).toContain("gup-after-fork");
  });

  it("the published JSON Schema of results.json matches the code", async () => {
    const file = JSON.parse(await readFile(repoPath("orchestrator", "results", "results.schema.json"), "utf8"));
    expect(file).toEqual(resultsJsonSchema());
  });
});
