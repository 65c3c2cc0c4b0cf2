// Patch series: a directory of *.patch files (in name order), a quilt `series` file (or a
// directory holding one), or one mbox as `git format-patch --stdout` and `b4 am` write.
import { readdir, readFile, stat, writeFile } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../util/paths.ts";
import { contentKey, sha256 } from "../util/hash.ts";
import { ensureDir, exists } from "../util/fsx.ts";
import { InputError, ok, err, type Result } from "../util/result.ts";
import type { SourceTree } from "./types.ts";

export interface Patch {
  name: string;
  subject: string;
  text: string;
}

export interface PatchFailure {
  message: string;
  patch: string;
  subject: string;
  /** the rejected hunk(s) and patch's own output */
  detail: string;
}

/**
 * The line that starts each message of an mbox: `git format-patch` writes
 * "From <sha> Mon Sep 17 00:00:00 2001", `b4 am` "From git@z Thu Jan  1 00:00:00 1970".
 */
const MBOX_SEPARATOR = /^From \S+ (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]?\d \d\d:\d\d:\d\d \d{4}$/m;

export function subjectOf(text: string, fallback: string): string {
  const m = /^Subject:\s*(.*(?:\n[ \t].*)*)/m.exec(text);
  if (!m) return fallback;
  return m[1]!.replace(/\n[ \t]+/g, " ").replace(/^\[[^\]]*\]\s*/, "").trim();
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 52);

/** Split an mbox into patches, named as git format-patch would name them. */
export function splitMbox(text: string): Patch[] {
  return splitMboxAt(text).map(({ patch }) => patch);
}

/** The messages of an mbox with the line each starts on. */
function splitMboxAt(text: string): { patch: Patch; line: number }[] {
  const starts: number[] = [];
  const re = new RegExp(MBOX_SEPARATOR.source, "gm");
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index);
  return starts.map((start, i) => {
    const body = text.slice(start, starts[i + 1] ?? text.length);
    const subject = subjectOf(body, `patch ${i + 1}`);
    const line = text.slice(0, start).split("\n").length;
    return { patch: { name: `${String(i + 1).padStart(4, "0")}-${slug(subject)}.patch`, subject, text: body }, line };
  });
}

const HUNK = /^@@ -\d+(?:,(\d+))? \+\d+(?:,(\d+))? @@/;

/**
 * What is wrong with a patch's diff, if anything, and on which of its lines (1-based): no
 * diff at all, or a hunk with fewer lines than its header counts (a file cut short).
 */
export function diffProblem(text: string): { line: number; what: string } | undefined {
  const lines = text.split("\n");
  const hasDiff = lines.some((l, i) => l.startsWith("diff --git ") || (l.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")));
  if (!hasDiff) return { line: 1, what: "holds no diff" };
  for (let i = 0; i < lines.length; i++) {
    const m = HUNK.exec(lines[i]!);
    if (!m) continue;
    const want = [m[1] === undefined ? 1 : Number(m[1]), m[2] === undefined ? 1 : Number(m[2])] as const;
    let [old, neu] = want;
    let j = i + 1;
    for (; old > 0 || neu > 0; j++) {
      const l = lines[j];
      // An empty line is a context line whose space a mailer ate, except the one a final newline leaves.
      const context = l !== undefined && (l.startsWith(" ") || (l === "" && j < lines.length - 1));
      if (l?.startsWith("\\")) continue;
      if (context) {
        old--;
        neu--;
      } else if (l?.startsWith("-") && old > 0) old--;
      else if (l?.startsWith("+") && neu > 0) neu--;
      else return { line: i + 1, what: `hunk '${m[0]}' ends after ${want[0] - old} of its ${want[0]} old and ${want[1] - neu} of its ${want[1]} new lines (the patch is cut short or damaged)` };
    }
    i = j - 1;
  }
  return undefined;
}

/** A cover letter ("[PATCH 0/N]", `git format-patch --cover-letter`): no diff, nothing to apply. */
const isCoverLetter = (text: string): boolean => /^Subject:.*\b0+\/\d+\]/m.test(text) && !/^diff --git /m.test(text);

/**
 * Check each patch of a series as read from `file` (a patch's text starts on `line`), leaving
 * out cover letters. Errors are "FILE:LINE: PATCH: what is wrong", at plan time, so a broken
 * series stops the command before anything is fetched or built.
 */
function checked(items: { patch: Patch; file: string; line: number }[]): Patch[] {
  const out: Patch[] = [];
  for (const { patch, file, line } of items) {
    if (isCoverLetter(patch.text)) continue;
    const problem = diffProblem(patch.text);
    if (problem) throw new InputError(`${file}:${line + problem.line - 1}`, `${patch.name}: ${problem.what}`);
    out.push(patch);
  }
  return out;
}

/** Patch files named by a quilt series (each with the series line naming it) or a directory listing. */
async function fromFiles(dir: string, names: { name: string; line?: number }[], origin: string): Promise<{ patch: Patch; file: string; line: number }[]> {
  return Promise.all(
    names.map(async ({ name, line }) => {
      const path = join(dir, name);
      const text = await readFile(path, "utf8").catch(() => {
        throw new InputError(line ? `${origin}:${line}` : path, `${name}: the series lists '${name}', which does not exist in ${dir}`);
      });
      return { patch: { name, subject: subjectOf(text, name), text }, file: path, line: 1 };
    }),
  );
}

/**
 * Read a series in any of the accepted forms. An unreadable, empty or damaged series (a
 * missing patch, a message or patch without a diff, a hunk cut short) is an InputError naming
 * the file and line.
 */
export async function readSeries(path: string): Promise<Patch[]> {
  const st = await stat(path).catch(() => {
    throw new InputError(path, "no such patch series (expected a directory, a quilt series file or an mbox)");
  });
  let patches: Patch[];
  if (st.isDirectory()) {
    if (await exists(join(path, "series"))) return readSeries(join(path, "series"));
    const files = await readdir(path);
    const names = files.filter((f) => /\.(patch|diff)$/.test(f)).sort();
    // `b4 am -o DIR` leaves one .mbx (and a .cover) in DIR: the folder stands for that mbox.
    const mboxes = files.filter((f) => /\.(mbx|mbox)$/.test(f));
    if (!names.length && mboxes.length === 1) return readSeries(join(path, mboxes[0]!));
    if (!names.length) throw new InputError(path, `the series holds no patches (no *.patch or *.diff, no quilt series file, no single .mbx/.mbox)`);
    patches = checked(await fromFiles(path, names.map((name) => ({ name })), path));
  } else {
    const text = await readFile(path, "utf8");
    if (MBOX_SEPARATOR.test(text)) patches = checked(splitMboxAt(text).map((m) => ({ ...m, file: path })));
    else if (/\.(mbx|mbox|eml)$/.test(path)) {
      throw new InputError(`${path}:1`, `not an mbox: no line starting a message ('From <sha> Mon Sep 17 00:00:00 2001' from git format-patch, 'From git@z ...' from b4 am)`);
    } else if (basename(path) === "series" || !/^(---|diff --git) /m.test(text)) {
      // quilt: one patch per line, '#' comments, optional -pN after the name
      const names = text
        .split("\n")
        .map((l, i) => ({ name: l.replace(/#.*/, "").trim().split(/\s+/)[0] ?? "", line: i + 1 }))
        .filter((n) => n.name);
      patches = checked(await fromFiles(dirname(path), names, path));
    } else patches = checked([{ patch: { name: basename(path), subject: subjectOf(text, basename(path)), text }, file: path, line: 1 }]);
  }
  if (!patches.length) throw new InputError(path, "the series holds no patches");
  return patches;
}

/**
 * What of a patch reaches the tree: its diff, from the first file header on, without git's
 * `index` lines and hunk headers' function names (GNU patch ignores both; they vary with the
 * tool that wrote the patch) and without the mail signature. A series re-sent with new
 * trailers (b4 adds Reviewed-by and Link:), or regenerated by git format-patch, applies to
 * the same tree, so it keeps its key and its build.
 */
export function patchDiff(text: string): string {
  const lines = text.split("\n");
  const start = lines.findIndex((l, i) => l.startsWith("diff --git ") || (l.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")));
  if (start < 0) return text;
  return lines
    .slice(start)
    .filter((l) => !/^index [0-9a-f]+\.\.[0-9a-f]+/.test(l))
    .map((l) => l.replace(/^(@@ -\S+ \+\S+ @@).*/, "$1")) // the function name after a hunk's range is decoration
    .join("\n")
    .replace(/\n-- \n[^\n]*\s*$/, "\n")
    .trimEnd();
}

/** The files a patch touches (-p1 paths, both sides of a rename). */
export function touchedFiles(patchText: string): string[] {
  const files = new Set<string>();
  const lines = patchText.split("\n");
  const strip = (p: string): string | undefined => (p === "/dev/null" ? undefined : p.replace(/^[^/]*\//, "").replace(/\t.*$/, ""));
  for (let i = 0; i < lines.length; i++) {
    const git = /^diff --git a\/(\S+) b\/(\S+)$/.exec(lines[i]!);
    if (git) {
      files.add(git[1]!).add(git[2]!);
      continue;
    }
    // A `--- ` line counts only as a file header, that is followed by its `+++ ` line.
    if (lines[i]!.startsWith("--- ") && lines[i + 1]?.startsWith("+++ ")) {
      for (const f of [strip(lines[i]!.slice(4)), strip(lines[i + 1]!.slice(4))]) if (f) files.add(f);
      i++;
    }
  }
  return [...files];
}

export const seriesKey = (patches: Patch[]): string => contentKey({ diffs: patches.map((p) => sha256(patchDiff(p.text))) });

/** Thrown out of a shared fill, so every job waiting on the same patched tree gets the failure. */
class PatchError extends Error {
  constructor(readonly failure: PatchFailure) {
    super(failure.message);
  }
}

/**
 * The source tree with the patches applied, in a hard-linked copy (GNU patch replaces the
 * files it changes, so the base tree is never modified). The key covers every patch's diff.
 */
export async function applySeries(base: SourceTree, patches: Patch[], label: string): Promise<Result<SourceTree, PatchFailure>> {
  const key = `${base.key}+${seriesKey(patches)}`;
  const dir = cachePath("src", key);
  const changed = [...new Set(patches.flatMap((p) => touchedFiles(p.text)))];
  const tree: SourceTree = { dir, key, version: base.version, label: `${base.label} + ${label} (${patches.length} patches)`, derived: { base, changed } };
  try {
    await ensureDir(dir, () => exists(join(dir, ".cowlab-series")), async (tmp) => {
      await execa("cp", ["-al", `${base.dir}/.`, tmp]);
      const failure = await applyPatches(tmp, patches);
      if (failure) throw new PatchError(failure);
      await writeFile(join(tmp, ".cowlab-series"), patches.map((p) => p.name).join("\n") + "\n");
    });
  } catch (e) {
    return err(e instanceof PatchError ? e.failure : { message: (e as Error).message, patch: "", subject: "", detail: "" });
  }
  return ok(tree);
}

/** Apply patches in order inside `dir`; the first that does not apply is returned. */
export async function applyPatches(dir: string, patches: Patch[], reverse = false): Promise<PatchFailure | undefined> {
  for (const p of reverse ? [...patches].reverse() : patches) {
    const rej = join(dir, "..", `${basename(dir)}.rej`);
    const r = await execa("patch", ["-p1", "--batch", "--forward", "--no-backup-if-mismatch", `--reject-file=${rej}`, ...(reverse ? ["-R"] : [])], {
      cwd: dir,
      input: p.text,
      reject: false,
      all: true,
    });
    if (r.exitCode !== 0) {
      const rejected = await readFile(rej, "utf8").catch(() => "");
      await execa("rm", ["-f", rej]);
      return {
        message: `patch ${p.name} ("${p.subject}") does not ${reverse ? "revert" : "apply"}`,
        patch: p.name,
        subject: p.subject,
        detail: `${r.all ?? ""}\n${rejected}`.trim(),
      };
    }
  }
  return undefined;
}
