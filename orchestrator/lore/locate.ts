// Which thread a run's series came from. results.json names the variant, not the thread, so
// the Message-ID is --msgid when given, else the one `cowlab run --series-msgid` fetched
// into the cache under that variant name (the one the run's command line names, if several).
import { readFile } from "node:fs/promises";
import { cachedSeriesNamed } from "./fetch.ts";
import { parseMail, type Mail } from "./mail.ts";
import { parseMsgid } from "./msgid.ts";

export interface SeriesThread {
  msgid: string | null;
  cover: Mail | null;
}

export async function locateThread(series: string, command: string, msgidFlag?: string): Promise<SeriesThread> {
  const cached = await cachedSeriesNamed(series);
  const msgid = msgidFlag !== undefined ? parseMsgid(msgidFlag, "--msgid") : (cached.find((s) => command.includes(s.msgid)) ?? cached[0])?.msgid ?? null;
  const entry = cached.find((s) => s.msgid === msgid && s.cover);
  const cover = entry?.cover ? await readFile(entry.cover, "utf8").then(parseMail, () => null) : null;
  return { msgid, cover };
}
