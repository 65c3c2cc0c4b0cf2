// Series from lore: Message-ID and lore URL parsing, the variant name, reading b4's real
// output (trailers, failures), the mail helpers, and the reply to a cover letter rendered
// from real results (test/fixtures/results/README.md says which runs made them). Running b4
// itself is in test/integration/lore.test.ts (b4 comes with scripts/setup.sh).
import { beforeAll, describe, expect, it } from "vitest";
import { readFile } from "node:fs/promises";
import { repoPath } from "../orchestrator/util/paths.ts";
import { parseMsgid, loreLink } from "../orchestrator/lore/msgid.ts";
import { seriesName } from "../orchestrator/lore/fetch.ts";
import { b4AmArgs, classifyB4Failure, trailersIn } from "../orchestrator/lore/b4.ts";
import { displayName, header, parseMail, unfoldMbox } from "../orchestrator/lore/mail.ts";
import { checkIdentity } from "../orchestrator/lore/identity.ts";
import { splitMbox } from "../orchestrator/sources/series.ts";
import { InputError } from "../orchestrator/util/result.ts";

const LORE = (name: string): string => repoPath("test", "fixtures", "lore", name);
const ID = "cover.1795667754.git.cowlab@localhost";

describe("parseMsgid", () => {
  it.each([
    [ID, ID],
    [`<${ID}>`, ID],
    [`  <${ID}>\n`, ID],
    [`id:${ID}`, ID],
    [`https://lore.kernel.org/linux-mm/${ID}/`, ID],
    [`https://lore.kernel.org/linux-mm/${ID}`, ID],
    [`https://lore.kernel.org/all/${ID}/T/#u`, ID],
    [`https://lore.kernel.org/r/${ID}`, ID],
    [`https://lore.kernel.org/linux-mm/${ID}/t.mbox.gz`, ID],
    ["https://lore.kernel.org/linux-mm/20240101120000.12345-1-someone%40example.org/", "20240101120000.12345-1-someone@example.org"],
    ["https://lore.kernel.org/lkml/abc%2Fdef@host.example/raw", "abc/def@host.example"],
    [`https://patch.msgid.link/${ID}`, ID],
  ])("reads %j", (text, want) => {
    expect(parseMsgid(text)).toBe(want);
  });

  it.each([
    ["not-a-message-id", "is not a Message-ID"],
    ["two words@host", "is not a Message-ID"],
    ["a@b@c", "is not a Message-ID"],
    ["<>", "is not a Message-ID"],
    ["https://lore.kernel.org/linux-mm/", "names no Message-ID"],
    ["https://lore.kernel.org/linux-mm/?q=s:mm", "names no Message-ID"],
  ])("refuses %j, naming the flag", (text, what) => {
    let e: unknown;
    try {
      parseMsgid(text, "--msgid");
    } catch (x) {
      e = x;
    }
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/^--msgid: /);
    expect((e as InputError).message).toContain(what);
    expect((e as InputError).message).not.toContain("\n");
  });

  it("links a Message-ID on lore", () => {
    expect(loreLink(ID)).toBe(`https://lore.kernel.org/r/${ID}`);
    expect(loreLink("a/b@c")).toBe("https://lore.kernel.org/r/a%2Fb@c");
  });
});

describe("seriesName", () => {
  it("is the cover letter's subject as a short slug, without the [PATCH] tag", () => {
    expect(seriesName("[PATCH 0/3] mm: switch off the PageAnonExclusive reuse decisions", ID)).toBe("mm-switch-off-the-pageanonexclusive");
    expect(seriesName("[PATCH 0/3] mm: comment fixes around anon exclusive and swap", ID)).toBe("mm-comment-fixes-around-anon-exclusive");
  });

  it("marks a later revision, and stays the same whatever else the tag says", () => {
    expect(seriesName("[PATCH v3 0/7] mm/gup: fix pins", ID)).toBe("mm-gup-fix-pins-v3");
    expect(seriesName("[RFC PATCH v3 0/7] mm/gup: fix pins", ID)).toBe("mm-gup-fix-pins-v3");
    expect(seriesName("[PATCH v1 0/7] mm/gup: fix pins", ID)).toBe("mm-gup-fix-pins");
    expect(seriesName("[PATCH 0/7] mm/gup: fix pins", ID)).toBe("mm-gup-fix-pins");
  });

  it("never exceeds 40 characters before the revision, and never takes a name it cannot have", () => {
    const long = seriesName("[PATCH v12 00/42] " + "abcdefghij".repeat(8), ID);
    expect(long).toBe(`${"abcdefghij".repeat(4)}-v12`);
    expect(seriesName("[PATCH] base", ID)).toMatch(/^series-[0-9a-f]{8}-base$/);
    expect(seriesName("[PATCH 0/2] ***", ID)).toMatch(/^series-[0-9a-f]{8}$/);
    expect(seriesName("[PATCH 0/2] ***", ID)).toBe(seriesName("[PATCH 0/2] ***", ID));
  });
});

describe("b4 am's output", () => {
  it("is run offline against a local mbox, with b4's own cache off", () => {
    expect(b4AmArgs({ msgid: ID, localMbox: "/x/t.mbox", outDir: "/o" })).toEqual(["-n", "--offline-mode", "am", "-C", "-m", "/x/t.mbox", "-o", "/o", ID]);
    expect(b4AmArgs({ msgid: ID, outDir: "/o" })).toEqual(["-n", "am", "-C", "-o", "/o", ID]);
  });

  it("names the trailers b4 collected from replies, per patch (real b4 0.12 output)", async () => {
    const log = await readFile(LORE("b4-am-offline.txt"), "utf8");
    expect(trailersIn(log)).toEqual([{ patch: "[PATCH 2/3] mm/memory: forget the exclusive marker on swap-in", trailer: "Reviewed-by: Rita Reviewer <rita@example.org>" }]);
  });

  it("tells no network from a thread that is not there (real b4 0.12 output)", async () => {
    const net = classifyB4Failure(await readFile(LORE("b4-am-no-network.txt"), "utf8"));
    expect(net.kind).toBe("network");
    expect(net.message).toContain("could not reach lore.kernel.org");
    const missing = classifyB4Failure(await readFile(LORE("b4-am-not-found.txt"), "utf8"));
    expect(missing).toMatchObject({ kind: "not-found", message: "b4 am: Could not find nope@nowhere in u.mbox" });
    expect(classifyB4Failure("Running in OFFLINE mode\nCRITICAL: something else broke\n")).toMatchObject({ kind: "failed", message: "b4 am failed: something else broke" });
  });
});

describe("mail", () => {
  let mbox: string;
  beforeAll(async () => {
    mbox = await readFile(LORE("mm-threads.mbox"), "utf8");
  });

  it("unfolds headers and leaves bodies alone", () => {
    const folded = mbox.match(/^Subject: .*\n .*$/m)?.[0];
    expect(folded).toBeDefined(); // git format-patch folded a long Subject: the case b4 0.12 trips on
    const flat = unfoldMbox(mbox);
    expect(flat).toContain("Subject: [PATCH 1/3] mm/memory: ignore PageAnonExclusive when deciding to reuse on a write fault\n");
    expect(flat).not.toMatch(/^Subject: .*\n[ \t]/m);
    // the diffs (context lines start with a space) are untouched: every patch still splits and has its hunks
    const bodies = (t: string): string[] => splitMbox(t).map((p) => p.text.slice(p.text.indexOf("\n\n")));
    expect(bodies(flat)).toEqual(bodies(mbox));
  });

  it("reads a cover letter's headers and body", () => {
    const cover = parseMail(mbox.slice(0, mbox.indexOf("\nFrom ", 10)));
    expect(header(cover, "subject")).toBe("[PATCH 0/3] mm: switch off the PageAnonExclusive reuse decisions");
    expect(header(cover, "message-id")).toBe(`<${ID}>`);
    expect(displayName(header(cover, "from")!)).toBe("cowlab");
    expect(cover.body).toMatch(/^An ablation for cowlab's reproducers/);
    expect(displayName("Rita Reviewer <rita@example.org>")).toBe("Rita Reviewer");
    expect(displayName('"Doe, Jane" <jane@example.org>')).toBe("Doe, Jane");
    expect(displayName("plain@example.org")).toBe("plain@example.org");
  });
});

describe("checkIdentity", () => {
  it("takes Name <email> and refuses anything else", () => {
    expect(checkIdentity(" Tess  Tester <tess@example.org> ")).toBe("Tess Tester <tess@example.org>");
    for (const bad of ["tess@example.org", "Tess <tess>", "<tess@example.org>", "Tess <a b@c>"]) {
      expect(() => checkIdentity(bad)).toThrow(/^--tested-by: .* is not "Name <email>"$/);
    }
  });
});
