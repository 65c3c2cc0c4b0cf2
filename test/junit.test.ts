// `cowlab export junit`: JUnit XML of real runs (test/fixtures/results/), parsed back with a real
// XML parser and checked against the results and against what the Ant and Jenkins JUnit
// schemas require.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { execa } from "execa";
import { XMLParser, XMLValidator } from "fast-xml-parser";
import { parse, stringify } from "yaml";
import { repoPath } from "../orchestrator/util/paths.ts";
import { readResults } from "../orchestrator/report/index.ts";
import { applyPolicy, type JudgedCase, type JudgedRun, type Policy } from "../orchestrator/results/policy.ts";
import { readPolicy } from "../orchestrator/results/verdict.ts";
import { junitXml } from "../orchestrator/export/junit.ts";
import type { RunResults } from "../orchestrator/results/schema.ts";

const BASE = repoPath("test", "fixtures", "results", "6.12-x86_64-base.json");
const AEO = repoPath("test", "fixtures", "results", "6.12-x86_64-anon-exclusive-off.json");
const NO_ISSUES: Policy = { knownIssues: [], knownReports: [] };

type Attrs = Record<string, string | undefined>;
interface XOutcome {
  type?: string;
  message?: string;
  "#text"?: string;
}
interface XCase {
  name?: string;
  classname?: string;
  time?: string;
  failure?: XOutcome;
  error?: XOutcome;
  skipped?: XOutcome;
  "system-out"?: string;
}
interface XSuite {
  name?: string;
  id?: string;
  tests?: string;
  failures?: string;
  errors?: string;
  skipped?: string;
  time?: string;
  timestamp?: string;
  hostname?: string;
  properties: { property: Attrs[] };
  testcase: XCase[];
  "system-out": string;
  "system-err": string;
}
interface XDoc {
  testsuites: { testsuite: XSuite[] } & Attrs;
}
/** An element's attribute by name (the parser puts attributes and children side by side; `#text` is whitespace between elements). */
const attr = (o: object, k: string): unknown => (o as Record<string, unknown>)[k];
const attrNames = (o: object): string[] => Object.keys(o).filter((k) => !k.startsWith("#") && typeof attr(o, k) === "string");

/** Attributes as `@name`-less keys, numeric-looking text kept as text, entities (numeric too) decoded. */
const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "",
  parseAttributeValue: false,
  parseTagValue: false,
  htmlEntities: true,
  trimValues: false,
  isArray: (name) => ["testsuite", "testcase", "property"].includes(name),
});

/** Characters XML 1.0 allows at all (not even as references may others appear). */
const XML_CHARS = /^[\t\n\r\u0020-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]*$/u;

function parsed(xml: string): XDoc {
  expect(XMLValidator.validate(xml)).toBe(true);
  expect(XML_CHARS.test(xml)).toBe(true);
  return parser.parse(xml) as XDoc;
}

/** What the Ant task's schema (windyroad JUnit.xsd) and Jenkins' junit-10.xsd require. */
function checkSchema(doc: XDoc): void {
  const decimal = /^\d+(\.\d+)?$/;
  // Jenkins: <testsuites> may carry name, time, tests, failures, errors only
  for (const k of attrNames(doc.testsuites)) expect(["name", "time", "tests", "failures", "errors"]).toContain(k);
  doc.testsuites.testsuite.forEach((s, i) => {
    for (const a of ["name", "tests", "failures", "errors", "time", "timestamp", "hostname", "id", "package"]) expect(attr(s, a), `testsuite ${i} @${a}`).toBeTypeOf("string");
    expect(s.name!.length).toBeGreaterThan(0);
    expect(s.hostname!.length).toBeGreaterThan(0);
    expect(s.timestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d$/); // no time zone (Ant)
    expect(s.id).toBe(String(i)); // from 0, one more per suite (Ant)
    for (const a of ["tests", "failures", "errors", "skipped"]) expect(attr(s, a)).toMatch(/^\d+$/);
    expect(s.time).toMatch(decimal);
    expect(s.properties).toBeDefined();
    for (const p of s.properties.property) {
      expect(p.name!.length).toBeGreaterThan(0);
      expect(p.value).toBeTypeOf("string");
    }
    expect(s["system-out"]).toBeDefined();
    expect(s["system-err"]).toBeDefined();
    for (const c of s.testcase ?? []) {
      expect(c.name).toBeTypeOf("string");
      expect(c.classname).toMatch(/^cowlab\./);
      expect(c.time).toMatch(decimal);
      // at most one outcome element (Ant's choice); failure/error need @type
      expect(["failure", "error", "skipped"].filter((e) => e in c).length).toBeLessThanOrEqual(1);
      if (c.failure) expect(c.failure.type).toBeTypeOf("string");
      if (c.error) expect(c.error.type).toBeTypeOf("string");
    }
  });
}

/** The suite's counts equal its testcases' outcome elements. */
function countsAgree(s: XSuite): void {
  const cs = s.testcase ?? [];
  expect(Number(s.tests)).toBe(cs.length);
  expect(Number(s.failures)).toBe(cs.filter((c) => c.failure).length);
  expect(Number(s.errors)).toBe(cs.filter((c) => c.error).length);
  expect(Number(s.skipped)).toBe(cs.filter((c) => c.skipped).length);
}

let manifest: Policy;
let base: RunResults;
let aeo: RunResults;
beforeAll(async () => {
  [manifest, base, aeo] = await Promise.all([readPolicy(), readResults(BASE), readResults(AEO)]);
});

describe("JUnit XML of real runs", () => {
  it("one suite per job, one testcase per case; the ablation's 27 failures and the 4 hugetlb vmsplice failures are skipped as expected failures under the manifest", () => {
    const judged = applyPolicy(aeo, manifest);
    const doc = parsed(junitXml(judged));
    checkSchema(doc);
    const [suite] = doc.testsuites.testsuite;
    expect(doc.testsuites.testsuite).toHaveLength(1);
    countsAgree(suite!);
    expect(suite).toMatchObject({ name: "6.12/anon-exclusive-off/x86_64", tests: "73", failures: "0", errors: "0", skipped: "31" });
    const expectedFails = judged.results.filter((r) => r.status === "fail" && r.expected);
    expect(expectedFails).toHaveLength(31);
    for (const r of expectedFails) {
      const c = suite!.testcase.find((t) => t.name === r.case && t.classname === `cowlab.${r.testcase}`)!;
      expect(c.skipped!.message).toBe(`expected failure: ${r.expected!.reason}${r.expected!.fixed_in ? ` (fix: ${r.expected!.fixed_in})` : ""}; got: ${r.reason}`);
    }
    const props = Object.fromEntries(suite!.properties.property.map((p) => [p.name, p.value]));
    expect(props).toMatchObject({ run_id: aeo.run.id, kernel_release: "6.12.117", arch: "x86_64", variant: "anon-exclusive-off", config_sha256: aeo.kernels[0]!.build!.config_sha256 });
    expect(props.source).toContain("anon-exclusive-off (3 patches)");
    // durations: each case's median in seconds, the suite their sum
    const sum = judged.results.reduce((s, r) => s + (r.duration_ms ?? 0), 0) / 1000;
    expect(Number(suite!.time)).toBeCloseTo(sum, 3);
  });

  it("without known issues the same cases are failures whose text is the reason and the attempts", () => {
    const judged = applyPolicy(aeo, NO_ISSUES);
    const doc = parsed(junitXml(judged));
    checkSchema(doc);
    const suite = doc.testsuites.testsuite[0]!;
    countsAgree(suite);
    expect(suite).toMatchObject({ failures: "31", skipped: "0" });
    const r = judged.results.find((x) => x.case === "rw-pin-ro-remap-base")!;
    const c = suite.testcase.find((t) => t.name === "rw-pin-ro-remap-base")!;
    expect(c.failure).toMatchObject({ type: "fail", message: r.reason });
    expect(c.failure!["#text"]).toBe(`${r.reason}\nattempt 1 (guest 1): fail ${r.attempts[0]!.duration_ms} ms: ${r.reason}`);
  });

  it("two runs in one file: two suites with ids 0 and 1, and <testsuites> totals over both", () => {
    const a = applyPolicy(base, manifest);
    const b = applyPolicy(aeo, manifest);
    const both: JudgedRun = { ...a, kernels: [...a.kernels, ...b.kernels], results: [...a.results, ...b.results] };
    const doc = parsed(junitXml(both));
    checkSchema(doc);
    expect(doc.testsuites.testsuite.map((s) => [s.name, s.id, s.skipped])).toEqual([
      ["6.12/base/x86_64", "0", "4"],
      ["6.12/anon-exclusive-off/x86_64", "1", "31"],
    ]);
    expect(doc.testsuites).toMatchObject({ tests: "146", failures: "0", errors: "0" });
  });
});

describe("the cases real runs rarely have", () => {
  const edit = (f: (r: JudgedCase) => JudgedCase): JudgedRun => {
    const j = applyPolicy(base, manifest);
    return { ...j, results: j.results.map(f) };
  };

  it("kernel output with control characters, markup and quotes is escaped, and reads back as written", () => {
    const nasty = 'BUG: Bad page state in "cow" <pid> & co]]>\u001b[31mred\u001b[0m\u0000\u0008 tab\there\nsecond line \uD800 end';
    const run = edit((r) => (r.case === "fork-cow-base" ? { ...r, status: "crash", reason: nasty, attempts: [{ ...r.attempts[0]!, status: "crash", reason: nasty, report: "BUG: Bad page state" }] } : r));
    const xml = junitXml(run);
    const doc = parsed(xml);
    checkSchema(doc);
    const c = doc.testsuites.testsuite[0]!.testcase.find((t) => t.name === "fork-cow-base")!;
    const visible = 'BUG: Bad page state in "cow" <pid> & co]]>\\x1b[31mred\\x1b[0m\\x00\\x08 tab\there';
    expect(c.failure!.type).toBe("crash");
    expect(c.failure!.message).toBe(visible); // the first line; the tab survives as &#9;
    expect(c.failure!["#text"]).toContain(`${visible}\nsecond line \uFFFD end\nattempt 1 (guest 1): crash`);
    expect(c.failure!["#text"]).toContain("[BUG: Bad page state]");
  });

  it("a flaky case passes with a system-out note (pass rate and every attempt); a timeout is a failure; an error of a job that did not build says so", () => {
    const run = edit((r) => {
      if (r.case === "fork-cow-base")
        return { ...r, status: "flaky", reason: "passed 1 of 2 attempts; attempt 2 (fail): pin lost", attempts: [r.attempts[0]!, { ...r.attempts[0]!, guest: 2, status: "fail", reason: "pin lost" }] };
      if (r.case === "fork-cow-thp") return { ...r, status: "timeout", reason: "case ran out of its 120 s" };
      return r;
    });
    const doc = parsed(junitXml(run));
    const s = doc.testsuites.testsuite[0]!;
    countsAgree(s);
    const flaky = s.testcase.find((t) => t.name === "fork-cow-base")!;
    expect(flaky.failure ?? flaky.error ?? flaky.skipped).toBeUndefined();
    expect(flaky["system-out"]).toMatch(/^flaky: passed 50% of 2 attempts\nattempt 1 \(guest 1\): pass .*\nattempt 2 \(guest 2\): fail .*: pin lost$/);
    expect(s.testcase.find((t) => t.name === "fork-cow-thp")!.failure).toMatchObject({ type: "timeout", message: "case ran out of its 120 s" });

    const j = applyPolicy(base, manifest);
    const broken: JudgedRun = {
      ...j,
      kernels: j.kernels.map((k) => ({ ...k, status: "build-error", reason: "make failed: mm/memory.c:42: error", build: null, boot: null })),
      results: ["gup-after-fork", "swap"].map((t) => ({ ...j.results.find((r) => r.testcase === t)!, case: "*", status: "error", reason: "build-error: make failed", attempts: [{ status: "error", duration_ms: null, reason: "build-error: make failed", guest: 1 }] })),
    };
    const bdoc = parsed(junitXml(broken));
    checkSchema(bdoc);
    const bs = bdoc.testsuites.testsuite[0]!;
    countsAgree(bs);
    expect(bs).toMatchObject({ tests: "2", errors: "2", failures: "0" });
    expect(bs.testcase[0]!.error).toMatchObject({ type: "build-error", message: "build-error: make failed" });
    expect(bs["system-out"]).toBe("job 6.12/base/x86_64: build-error: make failed: mm/memory.c:42: error");
  });
});

describe("cowlab export junit (the command)", () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "cowlab-junit-"));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });
  const cowlab = (...args: string[]) => execa(process.execPath, [repoPath("bin", "cowlab.js"), "export", "junit", ...args], { cwd: repoPath(), reject: false, timeout: 60_000 });

  it("reads the results with the manifest's known issues (stdout), or another manifest's (-o FILE)", async () => {
    const r = await cowlab(AEO);
    expect(r.exitCode).toBe(0);
    expect(parsed(r.stdout).testsuites.testsuite[0]).toMatchObject({ failures: "0", skipped: "31" });

    const m = parse(await readFile(repoPath("testcases", "manifest.yaml"), "utf8")) as Record<string, unknown>;
    const bare = join(dir, "manifest.yaml");
    await writeFile(bare, stringify({ ...m, known_issues: [] }));
    const out = join(dir, "junit.xml");
    const r2 = await cowlab(AEO, "--manifest", bare, "-o", out);
    expect(r2.exitCode).toBe(0);
    expect(r2.stdout).toBe("");
    expect(parsed(await readFile(out, "utf8")).testsuites.testsuite[0]).toMatchObject({ failures: "31", skipped: "0" });
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host

  it("an unreadable results file is one line and exit 2", async () => {
    const r = await cowlab(join(dir, "nope.json"));
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^cowlab: .*nope\.json: cannot read results: ENOENT/);
  }, 120_000); // each spawns cowlab (tsx start-up), slow on a loaded host
});
