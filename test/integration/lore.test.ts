// Series from lore, end to end with Debian's b4 (scripts/setup.sh installs it): `b4 am`
// reading the thread out of a local mbox (offline), the fetch cached and shared by two
// runs, the one-line error when lore cannot be reached, and then real runs of the cached
// 6.12 x86_64 kernel with a thread's series applied and `cowlab reply` on their results:
// the series that breaks the swap testcase gets no Tested-by, the comment-only one does.
import { beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readdir, readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { RunResults } from "../../orchestrator/results/schema.ts";
import { repoPath } from "../../orchestrator/util/paths.ts";
import { readSeries } from "../../orchestrator/sources/series.ts";

const MBOX = repoPath("test", "fixtures", "lore", "mm-threads.mbox");
/** Cover letters of the fixture's two threads (test/fixtures/lore/make-mbox.sh). */
const BREAKS = "cover.1795667754.git.cowlab@localhost";
const COMMENTS = "cover.1795667756.git.cowlab@localhost";
const BREAKS_NAME = "mm-switch-off-the-pageanonexclusive";
const COMMENTS_NAME = "mm-comment-fixes-around-anon-exclusive";

const cowlab = (args: string[], env: Record<string, string> = {}) =>
  execa("node", [repoPath("bin", "cowlab.js"), ...args], { reject: false, timeout: 30 * 60_000, env: { ...env } });
const results = async (dir: string): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(join(dir, "results.json"), "utf8")));
const tmp = (what: string) => mkdtemp(join(tmpdir(), `cowlab-lore-${what}-`));
const LIST = ["--kernel", "6.12", "--arch", "x86_64", "--tests", "swap", "--list"];

/** The lore entries of a cache: key → series.json. */
async function loreEntries(cache: string): Promise<{ msgid: string; name: string; series: string; trailers: { trailer: string }[] }[]> {
  const keys = (await readdir(join(cache, "lore")).catch(() => [] as string[])).filter((k) => !k.includes("."));
  return Promise.all(keys.map(async (k) => JSON.parse(await readFile(join(cache, "lore", k, "series.json"), "utf8"))));
}

describe("b4 am on a local mbox (no kernel)", () => {
  it("picks the thread by its Message-ID, orders its patches and adds the reviewer's trailer; two runs at once fetch once", async () => {
    const cache = await tmp("cache");
    const fills = join(cache, "fills.txt");
    const env = { COWLAB_CACHE: cache, COWLAB_TRACE_FILLS: fills };
    const url = `https://lore.kernel.org/linux-mm/${BREAKS}/`;
    const [a, b] = await Promise.all([
      cowlab(["run", "--series-msgid", url, "--series-mbox", MBOX, ...LIST], env),
      cowlab(["run", "--series-msgid", BREAKS, ...LIST], { ...env, COWLAB_LORE_MBOX: MBOX }),
    ]);
    for (const r of [a, b]) {
      expect(r.stderr).toContain(`series ${BREAKS_NAME}: <${BREAKS}> from ${MBOX}, 1 trailer collected`);
      expect(r.exitCode).toBe(0);
      expect(r.stdout).toContain(`6.12/${BREAKS_NAME}/x86_64\tswap/rw-pin-ro-remap-base`);
    }
    const lines = (await readFile(fills, "utf8")).split("\n").filter((l) => l.includes("/lore/"));
    expect(lines).toHaveLength(1);

    const [entry] = await loreEntries(cache);
    expect(entry).toMatchObject({ msgid: BREAKS, name: BREAKS_NAME, trailers: [{ trailer: "Reviewed-by: Rita Reviewer <rita@example.org>" }] });
    const folder = join(cache, "lore", lines[0]!.split("/lore/")[1]!, entry!.series);
    const patches = await readSeries(folder);
    // Only this thread's three patches, in order (not the other thread's, not the reply, not the cover).
    expect(patches.map((p) => p.subject)).toEqual([
      "mm/memory: ignore PageAnonExclusive when deciding to reuse on a write fault",
      "mm/memory: forget the exclusive marker on swap-in",
      "mm/gup: never unshare before taking a R/O pin",
    ]);
    expect(patches[1]!.text).toMatch(/^Reviewed-by: Rita Reviewer <rita@example.org>$/m);
    expect(patches[0]!.text).not.toContain("Reviewed-by:");
    const cover = (await readdir(folder)).find((f) => f.endsWith(".cover"));
    expect(await readFile(join(folder, cover!), "utf8")).toContain(`Message-Id: <${BREAKS}>`);
  });

  it("says in one line that lore cannot be reached and how to run from a local mbox; a Message-ID the mbox lacks names the mbox", async () => {
    const cache = await tmp("cache");
    // No network here: a proxy on a closed loopback port makes b4's request fail at once, as no route would.
    const offline = { COWLAB_CACHE: cache, HTTPS_PROXY: "http://127.0.0.1:9", HTTP_PROXY: "http://127.0.0.1:9", https_proxy: "http://127.0.0.1:9" };
    const r = await cowlab(["run", "--series-msgid", BREAKS, ...LIST], offline);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toEqual([
      `cowlab: --series-msgid: b4 could not reach lore.kernel.org (no network here?): save the thread where there is network (b4 mbox ${BREAKS}) and run with --series-mbox FILE (or COWLAB_LORE_MBOX=FILE)`,
    ]);
    const missing = await cowlab(["run", "--series-msgid", "nobody@example.org", "--series-mbox", MBOX, ...LIST], { COWLAB_CACHE: cache });
    expect(missing.exitCode).toBe(2);
    expect(missing.stderr.trim()).toBe(`cowlab: ${MBOX}: no message nobody@example.org in this mbox (b4 am found no thread to take)`);
    expect(await loreEntries(cache)).toEqual([]); // failures leave no entry behind
  });
});

describe("a thread's series on the 6.12 kernel, and the reply", () => {
  // The real cache: the base kernel is built already; each series' kernel is built once.
  const run = async (msgid: string, name: string): Promise<{ out: string; d: RunResults; stderr: string; exitCode: number | undefined }> => {
    const out = await tmp("run");
    const r = await cowlab(["run", "--series-msgid", msgid, "--series-mbox", MBOX, "--kernel", "6.12", "--arch", "x86_64", "--variant", "base", name, "--tests", "swap", "--no-explore", "--out", out]);
    return { out, d: await results(out), stderr: r.stderr, exitCode: r.exitCode };
  };
  const reply = (out: string, extra: string[] = []) => cowlab(["reply", join(out, "results.json"), "--tested-by", "Tess Tester <tess@example.org>", ...extra]);

  let breaks: Awaited<ReturnType<typeof run>>;
  beforeAll(async () => {
    breaks = await run(BREAKS, BREAKS_NAME);
  }, 40 * 60_000);

  it("runs the series as a variant beside base, with its patches applied", () => {
    const job = breaks.d.kernels.find((k) => k.variant === BREAKS_NAME)!;
    expect(job).toMatchObject({ job: `6.12/${BREAKS_NAME}/x86_64`, status: "ok" });
    expect(job.source).toContain(`+ ${BREAKS_NAME} (3 patches)`);
    expect(breaks.d.kernels.find((k) => k.variant === "base")!.status).toBe("ok");
    // The series switches PageAnonExclusive off: the R/W pins across an R/O remap break (the base passes them).
    const row = (variant: string) => breaks.d.results.find((r) => r.variant === variant && r.case === "rw-pin-ro-remap-base")!;
    expect(row("base").status).toBe("pass");
    expect(row(BREAKS_NAME).status).toBe("fail");
    expect(breaks.exitCode).toBe(1);
  });

  it("a series that regresses gets no Tested-by, and the reply says why", async () => {
    const r = await reply(breaks.out);
    expect(r.exitCode).toBe(0);
    const text = r.stdout;
    expect(text).toContain(`In-Reply-To: <${BREAKS}>`);
    expect(text).toContain("Subject: Re: [PATCH 0/3] mm: switch off the PageAnonExclusive reuse\n decisions\n"); // folded at 75
    expect(text).toMatch(/^  \d+ regressions, 0 fixes, \d+ unchanged$/m);
    expect(text).toContain("    swap/rw-pin-ro-remap-base: pass -> fail");
    expect(text).toContain("No Tested-by from me for this version");
    expect(text).not.toMatch(/Tested-by: /);
    for (const line of text.split("\n").filter((l) => !l.startsWith("  /"))) expect(line.length).toBeLessThanOrEqual(75);
    const json = JSON.parse((await reply(breaks.out, ["--json"])).stdout);
    expect(json).toMatchObject({ series: BREAKS_NAME, msgid: BREAKS, outcome: "withheld", tested_by: null });
  });

  it("a series that regresses nothing gets the Tested-by", async () => {
    const ok = await run(COMMENTS, COMMENTS_NAME);
    expect(ok.stderr).toContain(`series ${COMMENTS_NAME}: <${COMMENTS}> from ${MBOX}, 1 trailer collected`);
    expect(ok.d.kernels.map((k) => `${k.variant}:${k.status}`).sort()).toEqual(["base:ok", `${COMMENTS_NAME}:ok`]);
    expect(ok.exitCode).toBe(0);
    const r = await reply(ok.out);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain(`In-Reply-To: <${COMMENTS}>`);
    expect(r.stdout).toMatch(/^  0 regressions, 0 fixes, \d+ unchanged$/m);
    expect(r.stdout).toMatch(/\nNo regressions: \d+ cases kept the verdict they have without the\sseries\.\n/);
    expect(r.stdout.trimEnd().split("\n").at(-1)).toBe("Tested-by: Tess Tester <tess@example.org>");
  }, 40 * 60_000);
});
