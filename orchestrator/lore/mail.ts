// Just enough RFC 5322 for patch mail: unfolding header blocks, and reading one message's
// headers and body (the cover letter a reply answers).

/** The line that starts a message in an mbox (git format-patch's, b4's, a mailer's "From " line). */
const FROM_LINE = /^From \S+ +(?:Mon|Tue|Wed|Thu|Fri|Sat|Sun) (?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) [ \d]?\d \d\d:\d\d:\d\d \d{4}$/;

/**
 * The mbox with every header block unfolded (a continuation line joined to the line before
 * it with one space, as RFC 5322 reads it); bodies untouched. Debian's b4 0.12 fails on a
 * folded Subject when it reads a local mbox (it copies the raw header into a message with
 * the strict email policy: "Header values may not contain linefeed"), while git
 * format-patch folds every long Subject, so cowlab hands b4 an unfolded copy.
 */
export function unfoldMbox(text: string): string {
  const out: string[] = [];
  let inHeaders = false;
  for (const line of text.split("\n")) {
    if (FROM_LINE.test(line)) {
      inHeaders = true;
      out.push(line);
      continue;
    }
    if (inHeaders && line.trim() === "") inHeaders = false;
    else if (inHeaders && /^[ \t]/.test(line) && out.length) {
      out[out.length - 1] = `${out[out.length - 1]!.replace(/\s+$/, "")} ${line.trim()}`;
      continue;
    }
    out.push(line);
  }
  return out.join("\n");
}

export interface Mail {
  /** header name in lower case → values in order (unfolded) */
  headers: Map<string, string[]>;
  body: string;
}

/** One message (no "From " line needed): its unfolded headers and its body. */
export function parseMail(text: string): Mail {
  const lines = text.replace(/\r\n/g, "\n").split("\n");
  if (lines[0] !== undefined && FROM_LINE.test(lines[0])) lines.shift();
  const headers = new Map<string, string[]>();
  let last: string | undefined;
  let i = 0;
  for (; i < lines.length && lines[i] !== ""; i++) {
    const line = lines[i]!;
    if (/^[ \t]/.test(line) && last) {
      const values = headers.get(last)!;
      values[values.length - 1] = `${values[values.length - 1]} ${line.trim()}`;
      continue;
    }
    const m = /^([!-9;-~]+):\s*(.*)$/.exec(line);
    if (!m) break; // not a header: the body starts here (a message without the blank line)
    last = m[1]!.toLowerCase();
    headers.set(last, [...(headers.get(last) ?? []), m[2]!.trim()]);
  }
  return { headers, body: lines.slice(lines[i] === "" ? i + 1 : i).join("\n") };
}

export const header = (mail: Mail, name: string): string | undefined => mail.headers.get(name.toLowerCase())?.[0];

/** The display name of an address ("Name <a@b>" → Name), else the address itself. */
export function displayName(address: string): string {
  const m = /^\s*"?([^"<]*?)"?\s*<([^>]+)>/.exec(address);
  return m ? m[1]!.trim() || m[2]! : address.trim();
}
