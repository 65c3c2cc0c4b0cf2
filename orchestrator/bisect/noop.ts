// No-op change detection, the source half: is the kernel two bisection positions build the
// same, judged from the sources alone? Yes when every file that differs is a C file or
// header whose tokens are the same once comments and whitespace are gone, or a file the
// build never reads (Documentation/, MAINTAINERS...). The image half (same sha256 after the
// build, syzkaller's kernel signature) is in steps.ts.
//
// The C side works on preprocessing tokens, not on characters: `a+ ++b` and `a++ +b` stay
// different, `#define F(x)` and `#define F (x)` stay different, a string keeps its spaces,
// a directive keeps its end of line, and `#if 0` blocks are code (a change inside one is a
// change). What it does not see: __LINE__ (a comment that adds lines moves the line numbers
// WARN/BUG print; the bisect kernels are built without CONFIG_BUG) and a stringified macro
// argument whose inner spacing changed (a different string, never different code).

/** Files that no kernel build reads: a change confined to them cannot change the image. */
export function outsideBuild(path: string): boolean {
  return (
    /^(Documentation|LICENSES)\//.test(path) ||
    /^(MAINTAINERS|CREDITS|README|COPYING|\.mailmap|\.get_maintainer\.ignore|\.clang-format|\.editorconfig)$/.test(path) ||
    /(^|\/)\.gitignore$/.test(path)
  );
}

/** C sources and headers, whose comments and whitespace the compiler never sees. */
export const isCSource = (path: string): boolean => /\.[ch]$/.test(path);

type Piece = { kind: "comment" | "space" | "newline" | "token"; text: string };

// Longest first, so that `<<=` wins over `<<` and `<`.
const PUNCTUATORS = ["%:%:", "...", "<<=", ">>=", "->", "++", "--", "<<", ">>", "<=", ">=", "==", "!=", "&&", "||", "*=", "/=", "%=", "+=", "-=", "&=", "^=", "|=", "##", "<:", ":>", "<%", "%>", "%:"];
const IDENT_START = /[A-Za-z_$\u0080-\uffff]/;
const IDENT = /[A-Za-z0-9_$\u0080-\uffff]/;
const STRING_PREFIXES = new Set(["L", "u", "U", "u8"]);

/**
 * Split C source into comments, whitespace, newlines and preprocessing tokens. Line
 * continuations are joined first (translation phase 2), so a `//` comment ending in a
 * backslash runs on, as it does for the compiler. Quotes are closed at the end of a line
 * when unterminated (an apostrophe in `#if 0` prose), the same way on both sides of a diff.
 */
function lex(source: string): Piece[] {
  const s = source.replace(/\r\n?/g, "\n").replace(/\\\n/g, "");
  const out: Piece[] = [];
  let i = 0;
  const quoted = (q: string, from: number): number => {
    let j = from + 1;
    while (j < s.length && s[j] !== q && s[j] !== "\n") j += s[j] === "\\" ? 2 : 1;
    return Math.min(s[j] === q ? j + 1 : j, s.length);
  };
  while (i < s.length) {
    const c = s[i]!;
    const two = s.slice(i, i + 2);
    if (c === "\n") {
      out.push({ kind: "newline", text: c });
      i++;
    } else if (/\s/.test(c)) {
      let j = i;
      while (j < s.length && s[j] !== "\n" && /\s/.test(s[j]!)) j++;
      out.push({ kind: "space", text: s.slice(i, j) });
      i = j;
    } else if (two === "/*") {
      const end = s.indexOf("*/", i + 2);
      const j = end < 0 ? s.length : end + 2;
      out.push({ kind: "comment", text: s.slice(i, j) });
      i = j;
    } else if (two === "//") {
      const end = s.indexOf("\n", i);
      const j = end < 0 ? s.length : end;
      out.push({ kind: "comment", text: s.slice(i, j) });
      i = j;
    } else if (c === '"' || c === "'") {
      const j = quoted(c, i);
      out.push({ kind: "token", text: s.slice(i, j) });
      i = j;
    } else if (IDENT_START.test(c)) {
      let j = i;
      while (j < s.length && IDENT.test(s[j]!)) j++;
      // L"x", u8"x", U'x': the prefix belongs to the literal.
      if ((s[j] === '"' || s[j] === "'") && STRING_PREFIXES.has(s.slice(i, j))) j = quoted(s[j]!, j);
      out.push({ kind: "token", text: s.slice(i, j) });
      i = j;
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(s[i + 1] ?? ""))) {
      // pp-number: digits, letters, dots, exponent signs, digit separators.
      let j = i + 1;
      while (j < s.length) {
        if (/[eEpP]/.test(s[j]!) && /[+-]/.test(s[j + 1] ?? "")) j += 2;
        else if (/[A-Za-z0-9_.']/.test(s[j]!)) j++;
        else break;
      }
      out.push({ kind: "token", text: s.slice(i, j) });
      i = j;
    } else {
      const p = PUNCTUATORS.find((x) => s.startsWith(x, i)) ?? c;
      out.push({ kind: "token", text: p });
      i += p.length;
    }
  }
  return out;
}

/** The source with every comment replaced by one space, as the compiler sees it (strings and `#if 0` blocks untouched). */
export function stripComments(source: string): string {
  return lex(source)
    .map((p) => (p.kind === "comment" ? " " : p.text))
    .join("");
}

/**
 * A canonical form of C source: its preprocessing tokens, one space apart, with the end of
 * each preprocessor directive kept (a directive ends at its line's end). Two files with the
 * same canonical form differ only in comments and whitespace. Whitespace that changes
 * meaning is kept as a token: between a #define's name and `(` (function-like or not).
 */
export function canonicalC(source: string): string {
  const pieces = lex(source);
  const out: string[] = [];
  let lineStart = true;
  // Inside a directive: which token of it we are at (0 = `#`), and its name.
  let directive: { at: number; name: string } | undefined;
  for (let k = 0; k < pieces.length; k++) {
    const p = pieces[k]!;
    if (p.kind === "newline") {
      if (directive) out.push("\n");
      directive = undefined;
      lineStart = true;
      continue;
    }
    if (p.kind !== "token") continue;
    if (lineStart && (p.text === "#" || p.text === "%:")) {
      directive = { at: 0, name: "" };
      out.push("#");
      lineStart = false;
      continue;
    }
    lineStart = false;
    if (directive) {
      directive.at++;
      if (directive.at === 1) directive.name = p.text;
      if (directive.at === 2 && (directive.name === "include" || directive.name === "include_next") && p.text === "<") {
        // A header name is one token up to `>`: `<linux//mm.h>` holds no comment.
        let name = "<";
        while (++k < pieces.length && pieces[k]!.kind !== "newline" && !name.endsWith(">")) name += pieces[k]!.text;
        out.push(name.replace(/\s+/g, " "));
        k--;
        continue;
      }
      if (directive.at === 2 && directive.name === "define" && pieces[k + 1]?.kind === "token" && pieces[k + 1]!.text === "(") {
        out.push(`${p.text}(`); // function-like macro: name and parenthesis touch
        k++;
        continue;
      }
    }
    out.push(p.text);
  }
  return out.join(" ");
}

/** How two versions of one file compare, for the no-op check. */
export type FileChange = "same" | "comments" | "outside" | "changed";

export function compareFile(path: string, a: string | null, b: string | null): FileChange {
  if (a === b) return "same";
  if (outsideBuild(path)) return "outside";
  if (a === null || b === null || !isCSource(path)) return "changed";
  return canonicalC(a) === canonicalC(b) ? "comments" : "changed";
}

/** The outcome of comparing the sources of two positions; `files`: those that differ, only in comments/whitespace or outside the build. */
export type SourceComparison = { same: true; why: string; files: string[] } | { same: false; why: string };

/** Sum up per-file comparisons: the sources build the same kernel unless some file changed. */
export function summarize(changes: [path: string, change: FileChange][]): SourceComparison {
  const changed = changes.filter(([, c]) => c === "changed").map(([f]) => f);
  if (changed.length) return { same: false, why: `${changed.slice(0, 3).join(", ")}${changed.length > 3 ? ` and ${changed.length - 3} more` : ""} changed` };
  const comments = changes.filter(([, c]) => c === "comments").map(([f]) => f);
  const outside = changes.filter(([, c]) => c === "outside").map(([f]) => f);
  const parts = [
    ...(comments.length ? [`only comments/whitespace in ${comments.join(", ")}`] : []),
    ...(outside.length ? [`${comments.length ? "" : "only "}files outside the build (${outside.join(", ")})`] : []),
  ];
  return { same: true, why: parts.join("; ") || "identical sources", files: [...comments, ...outside].sort() };
}
