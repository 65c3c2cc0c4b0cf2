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

const MBOX_SEPARATOR = /^From [0-9a-f]{40} Mon Sep 17 00:00:00 2001$/m;

export function subjectOf(text: string, fallback: string): string {
  const m = /^Subject:\s*(.*(?:\n[ \t].*)*)/m.exec(text);
  if (!m) return fallback;
  return m[1]!.replace(/\n[ \t]+/g, " ").replace(/^\[[^\]]*\]\s*/, "").trim();
}

const slug = (s: string): string => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "").slice(0, 52);

/** Split an mbox into patches, named as git format-patch would name them. */
export function splitMbox(text: string): Patch[] {
  const starts: number[] = [];
  const re = new RegExp(MBOX_SEPARATOR.source, "gm");
  for (let m = re.exec(text); m; m = re.exec(text)) starts.push(m.index);
  return starts.map((start, i) => {
    const body = text.slice(start, starts[i + 1] ?? text.length);
    const subject = subjectOf(body, `patch ${i + 1}`);
    return { name: `${String(i + 1).padStart(4, "0")}-${slug(subject)}.patch`, subject, text: body };
  });
}

async function fromFiles(dir: string, names: string[], origin: string): Promise<Patch[]> {
  return Promise.all(
    names.map(async (n) => {
      const path = join(dir, n);
      const text = await readFile(path, "utf8").catch(() => {
        throw new InputError(origin, `lists '${n}', which does not exist`);
      });
      return { name: n, subject: subjectOf(text, n), text };
    }),
  );
}

/** Read a series in any of the accepted forms; an unreadable or empty series is an InputError. */
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
    patches = await fromFiles(path, names, path);
  } else {
    const text = await readFile(path, "utf8");
    if (MBOX_SEPARATOR.test(text)) patches = splitMbox(text);
    else if (basename(path) === "series" || !/^(---|diff --git) /m.test(text)) {
      // quilt: one patch per line, '#' comments, optional -pN after the name
      const names = text
        .split("\n")
        .map((l) => l.replace(/#.*/, "").trim().split(/\s+/)[0] ?? "")
        .filter(Boolean);
      patches = await fromFiles(dirname(path), names, path);
    } else patches = [{ name: basename(path), subject: subjectOf(text, basename(path)), text }];
  }
  if (!patches.length) throw new InputError(path, "the series holds no patches");
  return patches;
}

export const seriesKey = (patches: Patch[]): string => contentKey({ patches: patches.map((p) => sha256(p.text)) });

/** Thrown out of a shared fill, so every job waiting on the same patched tree gets the failure. */
class PatchError extends Error {
  constructor(readonly failure: PatchFailure) {
    super(failure.message);
  }
}

/**
 * The source tree with the patches applied, in a hard-linked copy (GNU patch replaces the
 * files it changes, so the base tree is never modified). The key covers every patch's text.
 */
export async function applySeries(base: SourceTree, patches: Patch[], label: string): Promise<Result<SourceTree, PatchFailure>> {
  const key = `${base.key}+${seriesKey(patches)}`;
  const dir = cachePath("src", key);
  const tree: SourceTree = { dir, key, version: base.version, label: `${base.label} + ${label} (${patches.length} patches)` };
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
