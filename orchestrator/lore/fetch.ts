// A series from a mailing list thread, as a cache entry: `b4 am` run once per Message-ID (and
// local mbox, and b4 options), its mbox kept where `--series` can read it, and what the reply
// needs later (the Message-ID, the cover letter) kept beside it in series.json.
//
//   lore/<key>/series.json        LoreSeries (paths relative to the entry)
//   lore/<key>/b4.log             what b4 printed (the trailers it added, the base)
//   lore/<key>/<name>/<name>.mbx  the patches, trailers applied: the variant's --series folder
//   lore/<key>/<name>/<name>.cover
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { execa } from "execa";
import { cachePath } from "../util/paths.ts";
import { contentKey, sha256 } from "../util/hash.ts";
import { ensureDir, exists, markUsed, readJson } from "../util/fsx.ts";
import { InputError } from "../util/result.ts";
import { subjectOf } from "../sources/series.ts";
import { B4_AM_OPTIONS, b4Am, type B4Failure, type Trailer } from "./b4.ts";
import { header, parseMail, unfoldMbox } from "./mail.ts";

export interface LoreSeries {
  /** the cover letter's (or single patch's) Message-ID, without angle brackets */
  msgid: string;
  /** the variant's name: the cover letter's subject as a short slug (see seriesName) */
  name: string;
  /** the cover letter's subject, "[PATCH v2 0/3] ..." as sent */
  subject: string;
  /** where the thread came from: "lore", or the local mbox given (--series-mbox) */
  from: string;
  /** the folder holding NAME.mbx, which `--series` reads */
  series: string;
  /** NAME.cover, when the series has a cover letter */
  cover: string | null;
  trailers: Trailer[];
  base: string | null;
  b4: { version: string; options: string[] };
}

/** What series.json holds: LoreSeries with the entry's paths relative to it. */
type Stored = Omit<LoreSeries, "series" | "cover"> & { series: string; cover: string | null };

export const loreDir = (): string => cachePath("lore");

const MAX_NAME = 40;

/**
 * A short, stable variant name for a series: its subject without the "[PATCH v2 0/3]" tag,
 * as a slug cut at a word boundary, with "-vN" for a revision after the first. Stable:
 * trailers arriving later, or fetching from lore instead of a saved mbox, keep the name.
 */
export function seriesName(subject: string, msgid: string): string {
  const tags = /^\s*((?:\[[^\]]*\]\s*)*)/.exec(subject)?.[1] ?? "";
  const version = /\bv(\d+)\b/i.exec(tags)?.[1];
  const words = subject
    .slice(tags.length)
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, "-")
    .replace(/^-|-$/g, "");
  let slug = words;
  if (slug.length > MAX_NAME) {
    slug = slug.slice(0, MAX_NAME + 1);
    slug = slug.includes("-") ? slug.slice(0, slug.lastIndexOf("-")) : slug.slice(0, MAX_NAME);
  }
  if (!slug || slug === "base") slug = `series-${sha256(msgid).slice(0, 8)}${slug ? "-base" : ""}`;
  return version && Number(version) > 1 ? `${slug}-v${version}` : slug;
}

/** A b4 failure carried out of the shared fill, so every waiter on the entry sees it. */
class B4Error extends Error {
  constructor(readonly failure: B4Failure) {
    super(failure.message);
  }
}

async function b4Version(): Promise<string> {
  const r = await execa("b4", ["--version"], { reject: false });
  return r.exitCode === 0 ? r.stdout.trim() : "unknown";
}

/** The one-line error a user sees, and what to do instead. */
function failureError(f: B4Failure, msgid: string, localMbox: string | undefined): InputError {
  if (f.kind === "network") {
    return new InputError("--series-msgid", `${f.message}: save the thread where there is network (b4 mbox ${msgid}) and run with --series-mbox FILE (or COWLAB_LORE_MBOX=FILE)`);
  }
  // b4 names the copy it read (in a cache folder that is gone by now), not the user's file.
  if (f.kind === "not-found" && localMbox) return new InputError(localMbox, `no message ${msgid} in this mbox (b4 am found no thread to take)`);
  return new InputError("--series-msgid", `${msgid}: ${f.message}`);
}

/**
 * The series a thread holds, fetched by `b4 am` into the cache unless already there: from
 * lore, or from `localMbox` (b4 am -m, offline). Two runs asking at once fetch once (the
 * cache's entry lock). A failure is an InputError naming the flag or the mbox.
 */
export async function fetchSeries(msgid: string, localMbox?: string): Promise<LoreSeries> {
  let mboxText: string | undefined;
  if (localMbox) {
    mboxText = await readFile(localMbox, "utf8").catch((e: NodeJS.ErrnoException) => {
      throw new InputError(localMbox, `cannot read the mbox: ${e.code ?? e.message}`);
    });
  }
  const key = contentKey({ msgid, b4: [...B4_AM_OPTIONS], from: mboxText === undefined ? "lore" : `mbox:${sha256(mboxText)}` });
  const dir = join(loreDir(), key);
  try {
    await ensureDir(dir, () => exists(join(dir, "series.json")), async (tmp) => {
      const work = join(tmp, ".b4");
      await mkdir(work, { recursive: true });
      let input: string | undefined;
      if (mboxText !== undefined) {
        input = join(tmp, "thread.mbox");
        await writeFile(input, unfoldMbox(mboxText));
      }
      const r = await b4Am({ msgid, outDir: work, ...(input ? { localMbox: input } : {}) });
      if (!r.ok) throw new B4Error(r.error);
      await writeFile(join(tmp, "b4.log"), r.value.log);
      const coverText = r.value.cover ? await readFile(r.value.cover, "utf8") : undefined;
      const first = await readFile(r.value.mbx, "utf8");
      const subject = header(parseMail(coverText ?? first), "subject") ?? subjectOf(first, msgid);
      const name = seriesName(subject, msgid);
      await mkdir(join(tmp, name));
      await rename(r.value.mbx, join(tmp, name, `${name}.mbx`));
      if (r.value.cover) await rename(r.value.cover, join(tmp, name, `${name}.cover`));
      await rm(work, { recursive: true, force: true });
      const stored: Stored = {
        msgid,
        name,
        subject,
        from: localMbox ?? "lore",
        series: name,
        cover: r.value.cover ? join(name, `${name}.cover`) : null,
        trailers: r.value.trailers,
        base: r.value.base ?? null,
        b4: { version: await b4Version(), options: [...B4_AM_OPTIONS] },
      };
      await writeFile(join(tmp, "series.json"), JSON.stringify(stored, null, 2) + "\n");
    });
  } catch (e) {
    if (e instanceof B4Error) throw failureError(e.failure, msgid, localMbox);
    throw e;
  }
  await markUsed(dir);
  // The entry is keyed by the thread's content, so another checkout's copy of the same mbox
  // shares it: where it came from is this call's source, not the first fetcher's path.
  return { ...(await readEntry(dir))!, from: localMbox ?? "lore" };
}

async function readEntry(dir: string): Promise<LoreSeries | undefined> {
  const s = await readJson<Stored>(join(dir, "series.json"));
  if (!s || typeof s.msgid !== "string" || typeof s.name !== "string") return undefined;
  return { ...s, series: join(dir, s.series), cover: s.cover ? join(dir, s.cover) : null };
}

/** Every series fetched into the cache under variant name `name`, the most recently used first. */
export async function cachedSeriesNamed(name: string): Promise<LoreSeries[]> {
  const keys = await readdir(loreDir()).catch(() => [] as string[]);
  const found: { series: LoreSeries; used: number }[] = [];
  for (const key of keys) {
    if (key.includes(".")) continue; // locks and fills in progress
    const s = await readEntry(join(loreDir(), key));
    if (s?.name !== name) continue;
    const used = (await stat(join(loreDir(), key)).catch(() => undefined))?.mtimeMs ?? 0;
    found.push({ series: s, used });
  }
  return found.sort((a, b) => b.used - a.used).map((f) => f.series);
}
