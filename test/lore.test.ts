// Series from lore: Message-ID and lore URL parsing, the variant name, reading b4's real
// output (trailers, failures), the mail helpers, and the reply to a cover letter rendered
// from real results (test/fixtures/results/README.md says which runs made them). Running b4
// itself is in test/integration/lore.test.ts (b4 comes with scripts/setup.sh).
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { repoPath } from "../orchestrator/util/paths.ts";
import { parseMsgid, loreLink } from "../orchestrator/lore/msgid.ts";
import { seriesName } from "../orchestrator/lore/fetch.ts";
import { b4AmArgs, classifyB4Failure, trailersIn } from "../orchestrator/lore/b4.ts";
import { displayName, header, parseMail, unfoldMbox, type Mail } from "../orchestrator/lore/mail.ts";
import { checkIdentity } from "../orchestrator/lore/identity.ts";
import { splitMbox } from "../orchestrator/sources/series.ts";
import { InputError } from "../orchestrator/util/result.ts";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedRun } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { seriesVariants, seriesVerdict } from "../orchestrator/lore/verdict.ts";
import { renderReply, WIDTH, type Reply } from "../orchestrator/lore/reply.ts";

const LORE = (name: string): string => repoPath("test", "fixtures", "lore", name);
const ID = "cover.1795667754.git.cowlab@localhost";
/** The fixture's second thread: comment-only patches. */
const COMMENTS = "cover.1795667756.git.cowlab@localhost";

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

// ---------------------------------------------------------------------------------------
// The reply, from real results (test/fixtures/results/README.md names the runs).

const RESULTS = (name: string): string => repoPath("test", "fixtures", "results", name);
const judged = async (name: string): Promise<JudgedRun> => applyPolicy(await readResults(RESULTS(name)), await readPolicy());
const COVER = async (): Promise<Mail> => {
  const mbox = await readFile(LORE("mm-threads.mbox"), "utf8");
  return parseMail(mbox.slice(0, mbox.indexOf("\nFrom ", 10)));
};
const TESS = "Tess Tester <tess@example.org>";
const render = async (name: string, series: string, cover: Mail | null = null): Promise<Reply> =>
  renderReply({ verdict: seriesVerdict(await judged(name), series), msgid: cover ? ID : null, cover, testedBy: TESS, report: "/srv/cowlab/run/index.html", testcases: ["swap"] });
/** The body's lines, each checked against the list's width. */
const within = (r: Reply): string[] => {
  const lines = r.text.split("\n");
  for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(WIDTH);
  return lines;
};

describe("seriesVerdict", () => {
  it("compares the series with the base of the same kernel and arch, on both arches (the default matrix run)", async () => {
    const v = seriesVerdict(await judged("lab-A-default-matrix.json"), "anon-exclusive-off");
    expect(v.groups.map((g) => `${g.kernel} ${g.arch}`).sort()).toEqual(["6.12 arm64", "6.12 x86_64"]);
    const x86 = v.groups.find((g) => g.arch === "x86_64")!;
    expect(x86.regressions.length).toBeGreaterThan(0);
    expect(x86.regressions.every((c) => c.base === "pass" && c.now === "fail")).toBe(true);
    expect(x86.regressions.map((c) => `${c.testcase}/${c.case}`)).toContain("swap/rw-pin-ro-remap-base");
    expect(x86.unchanged + x86.regressions.length + x86.fixes.length + x86.changed.length + x86.unmatched.length).toBe(x86.cases);
    // The manifest predicts the ablation's failures; they are regressions against base all the same.
    expect(x86.known.some((k) => k.what === "swap/rw-pin-ro-remap-base" && k.reason.startsWith("ablation"))).toBe(true);
    expect(v.withheld).toEqual([`6.12 arm64: ${v.groups.find((g) => g.arch === "arm64")!.regressions.length} regressions`, `6.12 x86_64: ${x86.regressions.length} regressions`]);
  });

  it("holds the Tested-by back from a series that did not apply, and from a crash with nothing to compare it to", async () => {
    const patch = seriesVerdict(await judged("fault-patch-error.json"), "series-no-apply");
    expect(patch.groups[0]!.job).toEqual({ status: "patch-error", reason: 'patch 0001-mm-gup-a-hunk-that-does-not-apply.patch ("mm/gup: a hunk written against a tree that never existed") does not apply' });
    expect(patch.withheld).toEqual([`6.12 x86_64: the series' job ended in patch-error: ${patch.groups[0]!.job!.reason}`]);
    const crash = seriesVerdict(await judged("cow-breakers-debug-vm-crash.json"), "cow-breakers");
    const g = crash.groups[0]!;
    expect(g.baseJob).toBeNull();
    expect(g.crashes).toEqual([{ case: "gup-after-fork/*", title: "page dumped because: VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page))" }]);
    expect(g.jobReports).toEqual([]); // the job's report is the case's crash, not a second finding
    expect(crash.withheld).toEqual([
      "6.12 x86_64: the series' kernel ended in a crash (page dumped because: VM_BUG_ON_PAGE((flags & FOLL_PIN) && PageAnon(page) && !PageAnonExclusive(page)))",
      "6.12 x86_64: 1 failing case with no run without the series to compare with",
    ]);
  });

  it("names the variants a reply can be about", async () => {
    expect(seriesVariants(await judged("lab-A-default-matrix.json"))).toEqual(["anon-exclusive-off"]);
    expect(seriesVariants(await judged("6.12-x86_64-base.json"))).toEqual([]);
  });
});

describe("renderReply", () => {
  it("answers the cover letter: Re: subject, In-Reply-To, reply-all, a trimmed quote, then the verdicts, and no Tested-by for a regressing series", async () => {
    const r = await render("lab-A-default-matrix.json", "anon-exclusive-off", await COVER());
    const lines = within(r);
    expect(r.headers).toEqual({
      Subject: "Re: [PATCH 0/3] mm: switch off the PageAnonExclusive reuse decisions",
      "In-Reply-To": `<${ID}>`,
      References: `<${ID}>`,
      To: "cowlab <cowlab@localhost>",
    });
    expect(lines.slice(0, 3)).toEqual(["Subject: Re: [PATCH 0/3] mm: switch off the PageAnonExclusive reuse", " decisions", `In-Reply-To: <${ID}>`]);
    const body = r.body.split("\n");
    expect(body[0]).toBe("On Wed, 25 Nov 2026 12:00:00 +0000, cowlab wrote:");
    expect(body[1]).toBe("> An ablation for cowlab's reproducers, never for real use: with these");
    expect(body.indexOf("> [...]")).toBeGreaterThan(1);
    expect(body.filter((l) => l.startsWith(">")).length).toBeLessThanOrEqual(5);
    expect(body).toContain("6.12 x86_64 (6.12.117):");
    expect(body).toContain("    gup-after-fork/ro-pin-shared-base: pass -> fail");
    expect(r.body).toMatch(/known issue \(14 cases, all among the regressions\): ablation: write faults/);
    expect(r.body).toMatch(/^No Tested-by from me for this version: 6\.12 arm64: \d+ regressions; 6\.12$/m);
    expect(r.body).not.toContain("Tested-by:");
    expect(r).toMatchObject({ outcome: "withheld", tested_by: null });
    expect(body.slice(-3)).toEqual(["The full report:", "  /srv/cowlab/run/index.html", ""]);
  });

  it("lists at most six cases per kind and says how many more the report has", async () => {
    const r = await render("lab-A-default-matrix.json", "anon-exclusive-off");
    const x86 = r.groups.find((g) => g.arch === "x86_64")!;
    expect(r.body).toContain(`    ... and ${x86.regressions.length - 6} more (see the report)`);
    expect(r.headers["In-Reply-To"]).toBe("(the cover letter's Message-ID: unknown, give --msgid)");
    within(r);
  });

  it("says why a series that did not apply gets no Tested-by", async () => {
    const r = await render("fault-patch-error.json", "series-no-apply");
    within(r);
    expect(r.body).toContain("  the series' job ended in patch-error: patch\n  0001-mm-gup-a-hunk-that-does-not-apply.patch");
    expect(r.body).not.toContain("Tested-by:");
  });
});

describe("cowlab reply", () => {
  const REGRESSING = RESULTS("lore-6.12-x86_64-swap-regressing-series.json");
  const NAME = "mm-switch-off-the-pageanonexclusive";
  // An empty cache: the thread is not known unless --msgid says it.
  const reply = async (args: string[], env: Record<string, string> = {}) =>
    execa("node", [repoPath("bin", "cowlab.js"), "reply", ...args], { reject: false, stripFinalNewline: false, cwd: tmpdir(), env: { COWLAB_CACHE: await mkdtemp(join(tmpdir(), "cowlab-reply-")), ...env } });

  it("replies to a real run of a thread's series (`cowlab run --series-msgid`): its regressions, and no Tested-by", async () => {
    const r = await reply([REGRESSING, "--tested-by", TESS, "--msgid", `https://lore.kernel.org/linux-mm/${ID}/`]);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines.slice(0, 3)).toEqual([`In-Reply-To: <${ID}>`, `References: <${ID}>`, ""]);
    expect(r.stdout).toContain(
      [
        "6.12 x86_64 (6.12.117):",
        "  without the series: 24 pass",
        "  with the series:    10 pass, 14 fail",
        "  14 regressions, 0 fixes, 10 unchanged",
        "  regressions:",
        "    swap/rw-pin-ro-remap-base: pass -> fail",
      ].join("\n"),
    );
    expect(r.stdout).toContain("No Tested-by from me for this version: 6.12 x86_64: 14 regressions.");
    expect(r.stdout).not.toContain("Tested-by: ");
    // No index.html beside the fixture: the results file. A path is never broken, so its line may run long.
    expect(lines.slice(-3)).toEqual(["The full report:", `  ${REGRESSING}`, ""]);
    for (const l of lines.slice(0, -2)) expect(l.length).toBeLessThanOrEqual(WIDTH);
    const json = JSON.parse((await reply([REGRESSING, "--json", "--msgid", ID, "--report-url", "https://ci.example.org/run/7/"])).stdout);
    expect(json).toMatchObject({ series: NAME, msgid: ID, outcome: "withheld", tested_by: null, report: "https://ci.example.org/run/7/", withheld: ["6.12 x86_64: 14 regressions"] });
    expect(json.groups[0]).toMatchObject({ kernel: "6.12", arch: "x86_64", cases: 24, unchanged: 10, withSeries: { pass: 10, fail: 14 }, withoutSeries: { pass: 24 } });
    expect(json.text).toBe(json.text.split("\n\n")[0] + "\n\n" + json.body);
  });

  it("says in one line what is wrong with its input", async () => {
    const cases: [string[], string][] = [
      [[RESULTS("6.12-x86_64-base.json")], `cowlab: ${RESULTS("6.12-x86_64-base.json")}: the run has no variant other than base: nothing to reply about`],
      [[REGRESSING, "--series", "nope"], `cowlab: --series: no variant nope in ${REGRESSING} (have: ${NAME})`],
      [[REGRESSING, "--tested-by", "tess@example.org"], `cowlab: --tested-by: 'tess@example.org' is not "Name <email>"`],
      [[REGRESSING, "--msgid", "not a msgid"], "cowlab: --msgid: 'not a msgid' is not a Message-ID (expected id@host, <id@host> or a lore URL of the thread)"],
    ];
    for (const [args, line] of cases) {
      const r = await reply(args);
      expect(r.stderr).toBe(`${line}\n`);
      expect(r.exitCode).toBe(2);
      expect(r.stdout).toBe("");
    }
  });

  it("gives a series that regressed nothing the Tested-by, as its last line, signed by --tested-by or git's user", async () => {
    const HARMLESS = RESULTS("lore-6.12-x86_64-swap-harmless-series.json");
    const r = await reply([HARMLESS, "--tested-by", TESS, "--msgid", COMMENTS]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("  0 regressions, 0 fixes, 24 unchanged\n");
    expect(r.stdout).toContain("No regressions: 24 cases kept the verdict they have without the series.\n");
    expect(r.stdout.endsWith(`\n\nTested-by: ${TESS}\n`)).toBe(true);
    for (const l of r.stdout.split("\n").filter((l) => !l.startsWith("  /"))) expect(l.length).toBeLessThanOrEqual(WIDTH);

    const home = await mkdtemp(join(tmpdir(), "cowlab-home-"));
    const gitconfig = join(home, "gitconfig");
    await writeFile(gitconfig, "[user]\n\tname = Gita Config\n\temail = gita@example.org\n");
    const git = { HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: gitconfig };
    const signed = JSON.parse((await reply([HARMLESS, "--json"], git)).stdout);
    expect(signed).toMatchObject({ outcome: "no-regressions", tested_by: "Gita Config <gita@example.org>", withheld: [] });
    expect(signed.body.endsWith("\nTested-by: Gita Config <gita@example.org>\n")).toBe(true);
    const nobody = await reply([HARMLESS], { ...git, GIT_CONFIG_GLOBAL: join(home, "none") });
    expect(nobody.stderr).toBe('cowlab: --tested-by: git config has no user.name/user.email: give --tested-by "Name <email>"\n');
    expect(nobody.exitCode).toBe(2);
  });

  it("needs no identity when it withholds the Tested-by", async () => {
    const home = await mkdtemp(join(tmpdir(), "cowlab-home-"));
    const r = await reply([REGRESSING], { HOME: home, GIT_CONFIG_NOSYSTEM: "1", GIT_CONFIG_GLOBAL: join(home, "none") });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("No Tested-by from me");
  });
});
