import { afterEach, describe, expect, it, vi } from "vitest";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { canonicalC, compareFile, outsideBuild, stripComments, summarize } from "../orchestrator/bisect/noop.ts";
import { seriesTarget } from "../orchestrator/bisect/targets.ts";
import { touchedFiles } from "../orchestrator/sources/series.ts";

const same = (a: string, b: string) => canonicalC(a) === canonicalC(b);

describe("comment stripper", () => {
  it("removes /* */ and // comments, each becoming one space", () => {
    expect(stripComments("a/* x */b // tail\nc")).toBe("a b  \nc");
    expect(stripComments("int x; /* multi\n line */ int y;")).toBe("int x;   int y;");
  });

  it("leaves comment markers inside string and character literals alone", () => {
    const src = `char *u = "http://x/*y*/"; char c = '/'; char d = '"'; s = "a\\"/*b*/";`;
    expect(stripComments(src)).toBe(src);
    expect(stripComments(`p("// not a comment"); // comment`)).toBe(`p("// not a comment");  `);
  });

  it("a // inside /* */ and a /* inside // are part of that comment", () => {
    expect(stripComments("a /* // */ b")).toBe("a   b");
    expect(stripComments("a // /* \nb */")).toBe("a  \nb */");
  });

  it("joins line continuations first, so a // comment ending in a backslash runs on", () => {
    expect(stripComments("a // x \\\nb\nc")).toBe("a  \nc");
  });

  it("keeps #if 0 blocks: they are code the preprocessor drops, not comments", () => {
    const src = "#if 0\nint dead(void);\n#endif\n";
    expect(stripComments(src)).toBe(src);
    expect(same(src, "#if 0\nint dead(int);\n#endif\n")).toBe(false);
  });
});

describe("canonical C", () => {
  it("equates sources that differ in comments, indentation, blank lines and line breaks", () => {
    const a = "static int f(int a)\n{\n\t/* the answer */\n\treturn a + 42; // always\n}\n";
    const b = "static int f(int a) {\n    return a+42;\n\n}";
    expect(same(a, b)).toBe(true);
  });

  it("keeps the token boundaries whitespace made", () => {
    expect(same("int a;", "inta;")).toBe(false);
    expect(same("x = a+ ++b;", "x = a++ +b;")).toBe(false);
    expect(same("x = a - -1;", "x = a--1;")).toBe(false);
  });

  it("keeps spaces inside literals", () => {
    expect(same(`s = "a b";`, `s = "a  b";`)).toBe(false);
    expect(same(`c = ' ';`, `c = '\t';`)).toBe(false);
  });

  it("keeps what makes a macro function-like, and where a directive ends", () => {
    expect(same("#define F(x) x", "#define F (x) x")).toBe(false);
    expect(same("#define F(x)  x", "#  define F(x) /* c */ x")).toBe(true);
    expect(same("#define A 1\nint x;", "#define A 1 int x;")).toBe(false);
    expect(same("#define A 1 \\\n + 2", "#define A 1 + 2")).toBe(true);
  });

  it("a comment between tokens separates them", () => {
    expect(same("a/**/b", "a b")).toBe(true);
    expect(same("a/**/b", "ab")).toBe(false);
  });

  it("takes an include's header name as one token", () => {
    expect(same("#include <linux/mm.h>", "#include  <linux/mm.h> /* for vma */")).toBe(true);
    expect(same("#include <linux/mm.h>", "#include <linux/mman.h>")).toBe(false);
  });
});

describe("file comparison", () => {
  it("tells comment-only C changes, files outside the build and real changes apart", () => {
    expect(compareFile("mm/gup.c", "int a; /* x */", "int a; /* y */")).toBe("comments");
    expect(compareFile("mm/gup.c", "int a;", "int b;")).toBe("changed");
    expect(compareFile("mm/Makefile", "# a\nobj-y += gup.o\n", "# b\nobj-y += gup.o\n")).toBe("changed");
    expect(compareFile("Documentation/mm/gup.rst", "a", "b")).toBe("outside");
    expect(compareFile("mm/new.c", null, "int a;")).toBe("changed");
    expect(outsideBuild("MAINTAINERS") && outsideBuild("mm/.gitignore") && !outsideBuild("Makefile")).toBe(true);
    expect(summarize([["mm/gup.c", "comments"], ["Documentation/x.rst", "outside"], ["mm/rmap.c", "same"]])).toEqual({
      same: true,
      why: "only comments/whitespace in mm/gup.c; files outside the build (Documentation/x.rst)",
      files: ["Documentation/x.rst", "mm/gup.c"],
    });
    expect(summarize([])).toEqual({ same: true, why: "identical sources", files: [] });
    expect(summarize([["mm/gup.c", "comments"], ["mm/rmap.c", "changed"]]).same).toBe(false);
  });
});

describe("series no-op detection", () => {
  afterEach(() => vi.unstubAllEnvs());
  const patch = (file: string, before: string, after: string) =>
    `From: a <a@b>\nSubject: [PATCH] change ${file}\n\n---\ndiff --git a/${file} b/${file}\n--- a/${file}\n+++ b/${file}\n@@ -1,3 +1,3 @@\n int a;\n-${before}\n+${after}\n int c;\n-- \n2.39.5\n`;

  it("reads the touched files from diff headers, not from removed lines that look like them", () => {
    expect(touchedFiles(patch("mm/gup.c", "x", "y"))).toEqual(["mm/gup.c"]);
    expect(touchedFiles("--- a/x.c\n+++ b/x.c\n@@ -1 +1 @@\n--- not a header\n+y\n")).toEqual(["x.c"]);
    expect(touchedFiles("--- /dev/null\n+++ b/new.c\n")).toEqual(["new.c"]);
  });

  it("compares the positions of a series without touching its working tree", async () => {
    const root = await mkdtemp(join(tmpdir(), "cowlab-noop-test-"));
    const base = join(root, "base");
    await mkdir(join(base, "mm"), { recursive: true });
    await writeFile(join(base, "mm", "gup.c"), "int a;\nint b; /* one */\nint c;\n");
    await writeFile(join(base, "Makefile"), "VERSION = 6\n");
    const series = join(root, "series");
    await mkdir(series);
    await writeFile(join(series, "0001-comment.patch"), patch("mm/gup.c", "int b; /* one */", "int b; /* two */"));
    await writeFile(join(series, "0002-code.patch"), patch("mm/gup.c", "int b; /* two */", "long b; /* two */"));
    await writeFile(join(series, "0003-reindent.patch"), patch("mm/gup.c", "long b; /* two */", "long   b;"));
    vi.stubEnv("COWLAB_CACHE", join(root, "cache"));
    const t = await seriesTarget({ dir: base, key: "test-base", version: "6.0.0", label: "base" }, series, "x86_64");
    expect(t.n).toBe(3);
    expect(await t.sameSource(0, 1)).toEqual({ same: true, why: "only comments/whitespace in mm/gup.c", files: ["mm/gup.c"] });
    expect((await t.sameSource(1, 2)).same).toBe(false);
    expect((await t.sameSource(0, 2)).same).toBe(false);
    expect(await t.sameSource(3, 2)).toEqual({ same: true, why: "only comments/whitespace in mm/gup.c", files: ["mm/gup.c"] });
    expect((await t.sameSource(1, 3)).same).toBe(false);
    // the working tree is still the base
    expect((await execa("cat", [join(root, "cache", "bisect", `${t.workKey}-x86_64`, "tree", "mm", "gup.c")])).stdout).toContain("/* one */");
  });
});
