// The reply to a series' cover letter, as a kernel list expects it: plain text, lines of at
// most 75 columns, the cover letter quoted short above the answer (bottom-posting), what
// the series did with and without it per kernel, and a Tested-by only when it broke nothing.
import type { VerdictChange } from "../results/compare.ts";
import type { Verdict } from "../results/schema.ts";
import { displayName, header, type Mail } from "./mail.ts";
import { notRun, type SeriesGroup, type SeriesVerdict } from "./verdict.ts";

export const WIDTH = 75;
/** Prose is wrapped shorter than the limit, so a quote of it ("> ") still fits. */
const PROSE = 72;

export interface ReplyInput {
  verdict: SeriesVerdict;
  /** the cover letter's Message-ID, when known */
  msgid: string | null;
  /** the cover letter (b4's .cover), when known: subject, recipients and the quote come from it */
  cover: Mail | null;
  /** "Name <email>" for the Tested-by (only used when the series earns one) */
  testedBy: string | null;
  /** where the full report is (a path or URL) */
  report: string;
  /** testcases the run ran, for the opening sentence */
  testcases: string[];
}

export interface Reply {
  series: string;
  msgid: string | null;
  headers: Record<string, string>;
  /** "no-regressions" earns the Tested-by */
  outcome: "no-regressions" | "withheld";
  tested_by: string | null;
  withheld: string[];
  groups: SeriesGroup[];
  report: string;
  body: string;
  /** headers, a blank line and the body: the whole message as a mailer's draft takes it */
  text: string;
}

/** Words of `text` filled into lines of at most `width` (a word longer than that stays whole). */
export function wrap(text: string, width = PROSE, indent = ""): string[] {
  const lines: string[] = [];
  let line = "";
  for (const word of text.split(/\s+/).filter(Boolean)) {
    if (line && indent.length + line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line ? `${line} ${word}` : word;
  }
  if (line) lines.push(indent + line);
  return lines;
}

/** A header with its value folded at spaces (or commas) to stay within the width. */
function foldHeader(name: string, value: string): string {
  const words = value.split(/(?<=,) +| +/);
  const lines: string[] = [];
  let line = `${name}:`;
  for (const w of words) {
    if (line.length + 1 + w.length > WIDTH && line.trim() !== `${name}:`) {
      lines.push(line);
      line = ` ${w}`;
    } else line = `${line} ${w}`;
  }
  lines.push(line);
  return lines.join("\n");
}

const plural = (n: number, word: string, many = `${word}s`): string => `${n} ${n === 1 ? word : many}`;
const counts = (c: Partial<Record<Verdict, number>>): string =>
  Object.entries(c)
    .sort(([a], [b]) => ORDER.indexOf(a as Verdict) - ORDER.indexOf(b as Verdict))
    .map(([v, n]) => `${n} ${v}`)
    .join(", ") || "nothing";
const ORDER: Verdict[] = ["pass", "fail", "flaky", "crash", "timeout", "error", "skip"];

/** At most this many cases are named per list; the report has the rest. */
const LISTED = 6;

function changeLines(title: string, changes: VerdictChange[]): string[] {
  if (!changes.length) return [];
  const out = [`  ${title}:`];
  for (const c of changes.slice(0, LISTED)) out.push(`    ${c.testcase}/${c.case}: ${c.base} -> ${c.now}`);
  if (changes.length > LISTED) out.push(`    ... and ${changes.length - LISTED} more (see the report)`);
  // One reason, trimmed: the cases listed usually fail the same way.
  const first = changes.find((c) => c.reason);
  if (first) {
    const reason = wrap(`${first.testcase}/${first.case}: ${first.reason}`, WIDTH, "      ");
    out.push("    first of them:", ...reason.slice(0, 3), ...(reason.length > 3 ? ["      [...]"] : []));
  }
  return out;
}

function groupLines(g: SeriesGroup): string[] {
  const out = [`${g.kernel} ${g.arch}${g.release ? ` (${g.release})` : ""}:`];
  if (g.job && notRun(g.job.status)) {
    out.push(...wrap(`the series' job ended in ${g.job.status}${g.job.reason ? `: ${g.job.reason}` : ""}`, WIDTH, "  "));
    return out;
  }
  out.push(`  without the series: ${g.baseJob ? counts(g.withoutSeries) : "not run"}`);
  out.push(`  with the series:    ${counts(g.withSeries)}`);
  const tally = [plural(g.regressions.length, "regression"), plural(g.fixes.length, "fix", "fixes"), `${g.unchanged} unchanged`];
  if (g.changed.length) tally.push(`${g.changed.length} otherwise changed`);
  if (g.unmatched.length) tally.push(`${g.unmatched.length} not run without it`);
  out.push(...wrap(tally.join(", "), WIDTH, "  "));
  out.push(...changeLines("regressions", g.regressions), ...changeLines("fixes", g.fixes), ...changeLines("other changes", g.changed));
  for (const c of g.crashes.slice(0, LISTED)) out.push(...wrap(`crash in ${c.case}: ${c.title}`, WIDTH, "  ").map((l, i) => (i ? `  ${l}` : l)));
  for (const t of g.jobReports.slice(0, LISTED)) out.push(...wrap(`kernel report outside the cases: ${t}`, WIDTH, "  "));
  // Known issues are named once per reason: how many cases it covers, and how many of those
  // are regressions all the same (a known issue predicts a failure; it does not excuse one).
  const regressed = new Set(g.regressions.map((c) => `${c.testcase}/${c.case}`));
  const known = new Map<string, { n: number; regressions: number }>();
  for (const k of g.known) {
    const e = known.get(k.reason) ?? { n: 0, regressions: 0 };
    known.set(k.reason, { n: e.n + 1, regressions: e.regressions + (regressed.has(k.what) ? 1 : 0) });
  }
  for (const [reason, { n, regressions }] of known) {
    const among = regressions ? `, ${regressions === n ? "all" : regressions} among the regressions` : "";
    const text = wrap(`known issue (${plural(n, "case")}${among}): ${reason}`, WIDTH, "  ");
    out.push(...text.slice(0, 2), ...(text.length > 2 ? ["    [...]"] : []));
  }
  return out;
}

/** The cover letter quoted the way a trimmed reply does: attribution, first paragraph, "[...]". */
function quote(cover: Mail): string[] {
  const from = header(cover, "from");
  const date = header(cover, "date");
  const paragraphs = cover.body.split(/\n\s*\n/).map((p) => p.trim()).filter((p) => p && !p.startsWith("--"));
  const first = paragraphs[0];
  if (!first) return [];
  const lines = wrap(first, PROSE, "> ");
  const shown = lines.slice(0, 4);
  const trimmed = lines.length > shown.length || paragraphs.length > 1;
  const who = from ? displayName(from) : "the author";
  return [...wrap(`On ${date ?? "an earlier date"}, ${who} wrote:`, WIDTH), ...shown, ...(trimmed ? ["> [...]"] : []), ""];
}

function replyHeaders(msgid: string | null, cover: Mail | null): Record<string, string> {
  const h: Record<string, string> = {};
  const subject = cover && header(cover, "subject");
  if (subject) h.Subject = /^re:/i.test(subject) ? subject : `Re: ${subject}`;
  if (msgid) {
    h["In-Reply-To"] = `<${msgid}>`;
    const refs = cover && header(cover, "references");
    h.References = refs ? `${refs} <${msgid}>` : `<${msgid}>`;
  }
  const from = cover && header(cover, "from");
  if (from) h.To = from;
  // Reply to all, as the lists expect: the cover letter's To and Cc, less its author.
  const cc = cover ? [...(cover.headers.get("to") ?? []), ...(cover.headers.get("cc") ?? [])].flatMap((v) => v.split(/,\s*/)).filter((a) => a && a !== from) : [];
  if (cc.length) h.Cc = [...new Set(cc)].join(", ");
  return h;
}

export function renderReply(input: ReplyInput): Reply {
  const { verdict, msgid, cover } = input;
  const earned = verdict.withheld.length === 0;
  const testedBy = earned ? input.testedBy : null;
  const body: string[] = [];
  if (cover) body.push(...quote(cover));
  const tests = input.testcases.length ? ` (${input.testcases.join(", ")})` : "";
  body.push(...wrap(`I ran this series through cowlab's COW/GUP reproducers${tests}, on each kernel built without and with the series, booted in QEMU:`), "");
  for (const g of verdict.groups) body.push(...groupLines(g), "");
  if (earned) {
    const same = verdict.groups.reduce((s, g) => s + g.unchanged, 0);
    const fixes = verdict.groups.reduce((s, g) => s + g.fixes.length, 0);
    body.push(...wrap(`No regressions: ${plural(same, "case")} kept the verdict ${same === 1 ? "it has" : "they have"} without the series${fixes ? `, and ${plural(fixes, "case")} now pass${fixes === 1 ? "es" : ""}` : ""}.`), "");
  } else {
    body.push(...wrap(`No Tested-by from me for this version: ${verdict.withheld.join("; ")}.`), "");
  }
  body.push("The full report:", `  ${input.report}`);
  if (testedBy) body.push("", `Tested-by: ${testedBy}`);
  const headers = replyHeaders(msgid, cover);
  if (!msgid) headers["In-Reply-To"] = "(the cover letter's Message-ID: unknown, give --msgid)";
  const head = Object.entries(headers).map(([k, v]) => foldHeader(k, v));
  const bodyText = body.join("\n") + "\n";
  return {
    series: verdict.series,
    msgid,
    headers,
    outcome: earned ? "no-regressions" : "withheld",
    tested_by: testedBy,
    withheld: verdict.withheld,
    groups: verdict.groups,
    report: input.report,
    body: bodyText,
    text: `${head.join("\n")}\n\n${bodyText}`,
  };
}
