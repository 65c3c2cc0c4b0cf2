// A series is named on the command line by its cover letter's Message-ID, as people paste it:
// bare, in angle brackets, or as a lore (or patch.msgid.link) URL of the thread.
import { InputError } from "../util/result.ts";

/** What a Message-ID may be made of here: one "left@right" token, nothing that would need quoting. */
const MSGID = /^[^\s<>@]+@[^\s<>@]+$/;

/**
 * The Message-ID (without angle brackets) that `text` names, or an InputError naming `flag`.
 * Accepts `id@host`, `<id@host>`, `id:<id@host>` (notmuch/b4 style), and URLs such as
 * https://lore.kernel.org/linux-mm/ID/, .../all/ID/T/#u, .../r/ID, https://patch.msgid.link/ID,
 * where ID may be percent-encoded (lore writes '/' in a Message-ID as %2F).
 */
export function parseMsgid(text: string, flag = "--series-msgid"): string {
  const t = text.trim();
  let id: string | undefined;
  if (/^https?:\/\//i.test(t)) {
    let url: URL;
    try {
      url = new URL(t);
    } catch {
      throw new InputError(flag, `'${text}' is not a URL`);
    }
    // The path segment holding the '@' is the Message-ID; the list name, "r", "all", "T", "raw" are not.
    const segment = url.pathname.split("/").find((s) => decode(s).includes("@"));
    if (segment === undefined) throw new InputError(flag, `'${text}' names no Message-ID (expected a URL like https://lore.kernel.org/LIST/<id@host>/)`);
    id = decode(segment);
  } else {
    id = t.replace(/^(?:id|mid):/i, "").replace(/^<(.*)>$/, "$1");
  }
  if (!MSGID.test(id)) throw new InputError(flag, `'${text}' is not a Message-ID (expected id@host, <id@host> or a lore URL of the thread)`);
  return id;
}

function decode(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** The lore address people click to read a thread (what `b4 am` also prints as Link:). */
export const loreLink = (msgid: string): string => `https://lore.kernel.org/r/${encodeURIComponent(msgid).replace(/%40/g, "@")}`;
