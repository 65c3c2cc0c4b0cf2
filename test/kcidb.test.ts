// `cowlab export kcidb` on real results files (test/fixtures/results/, from real cowlab runs),
// validated with ajv against kcidb-io's own v5.3 schema (test/fixtures/kcidb/): the default
// matrix with its known issues, and the integration suites' crash, hang, QEMU, build, patch
// and flaky runs for the status tables.
import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { execa } from "execa";
import { Ajv, type ErrorObject } from "ajv";
import formats from "ajv-formats";
import { loadManifest } from "../orchestrator/config/testcases.ts";
import { kcidbJson, kcidbReport, type KcidbOptions } from "../orchestrator/export/kcidb.ts";
import { kcidbOptions } from "../orchestrator/export/kcidb-options.ts";
import { sourceFacts } from "../orchestrator/export/kcidb-source.ts";
import type { KcidbReport, KcidbTest } from "../orchestrator/export/kcidb-types.ts";
import { pathComponent } from "../orchestrator/export/kcidb-vocab.ts";
import { applyPolicy, policyOf, type Policy } from "../orchestrator/results/policy.ts";
import { RunResults } from "../orchestrator/results/schema.ts";
import { repoPath } from "../orchestrator/util/paths.ts";
import { InputError } from "../orchestrator/util/result.ts";

const schema = JSON.parse(await readFile(repoPath("test", "fixtures", "kcidb", "v05_03.schema.json"), "utf8")) as object;
// kcidb-io validates with JSON Schema draft-07 and a format checker: Ajv's default class is draft-07.
const ajv = new Ajv({ allErrors: true, strict: true });
formats.default(ajv); // a CommonJS module: under NodeNext its default import is module.exports, the plugin is .default
const validate = ajv.compile(schema);
const errorsOf = (data: unknown): string[] => (validate(data) ? [] : (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath} ${e.message}`));

const fixture = async (name: string): Promise<RunResults> => RunResults.parse(JSON.parse(await readFile(repoPath("test", "fixtures", "results", name), "utf8")));
const repoPolicy = policyOf(await loadManifest());
const faultPolicy = policyOf(await loadManifest(repoPath("test", "fixtures", "faults", "manifest.yaml")));
const exportOf = async (name: string, policy: Policy = repoPolicy, opts: KcidbOptions = { origin: "cowlab" }): Promise<KcidbReport> =>
  kcidbReport(applyPolicy(await fixture(name), policy), policy.knownIssues, opts);

const FIXTURES: [string, Policy][] = [
  ["lab-A-default-matrix.json", repoPolicy],
  ["cow-breakers-debug-vm-crash.json", repoPolicy],
  ["bisect-cow-breakers.json", repoPolicy],
  ["fault-flaky-retry.json", faultPolicy],
  ["fault-hang-timeout.json", faultPolicy],
  ["fault-qemu-error.json", faultPolicy],
  ["fault-build-error.json", faultPolicy],
  ["fault-patch-error.json", faultPolicy],
  ["fault-boot-panic.json", faultPolicy],
  ["rootfs-sysrq-panic.json", faultPolicy],
];

describe("the vendored KCIDB v5.3 schema", () => {
  it("compiles in ajv's strict mode and takes the empty report of its version", () => {
    expect(errorsOf({ version: { major: 5, minor: 3 } })).toEqual([]);
    expect(errorsOf({ version: { major: 4, minor: 5 } })).not.toEqual([]);
  });

  it("rejects a broken report, so a zero-error export means something", async () => {
    const good = await exportOf("cow-breakers-debug-vm-crash.json");
    expect(errorsOf(good)).toEqual([]);
    const broken = (edit: (r: KcidbReport & Record<string, unknown>) => void): string[] => {
      const r = structuredClone(good) as KcidbReport & Record<string, unknown>;
      edit(r);
      return errorsOf(r);
    };
    expect(broken((r) => ((r.tests[0] as unknown as Record<string, unknown>).status = "CRASH")).join()).toMatch(/tests\/0\/status must be equal to one of the allowed values/);
    expect(broken((r) => (r.tests[1]!.path = "cowlab.a..b")).join()).toMatch(/tests\/1\/path must match pattern/);
    expect(broken((r) => (r.builds[0]!.id = "no-origin-colon")).join()).toMatch(/builds\/0\/id must match pattern/);
    expect(broken((r) => ((r.checkouts[0] as unknown as Record<string, unknown>).arch = "x86_64")).join()).toMatch(/checkouts\/0 must NOT have additional properties/);
    expect(broken((r) => ((r.version as unknown as Record<string, unknown>).minor = 4)).join()).toMatch(/version\/minor must be <= 3/);
    expect(broken((r) => (r.tests[0]!.log_url = "guests/x/console.log")).join()).toMatch(/tests\/0\/log_url must match format "uri"/);
  });
});

describe("cowlab export kcidb on real results", () => {
  it.each(FIXTURES)("%s validates against the schema with zero errors", async (name, policy) => {
    const report = await exportOf(name, policy);
    expect(errorsOf(report)).toEqual([]);
    // and so does its text, as kcidb-submit reads it
    expect(errorsOf(JSON.parse(kcidbJson(report)))).toEqual([]);
  });

  it.each(FIXTURES)("%s: ids are unique, carry the origin, and every link points at an object of the report", async (name, policy) => {
    const r = await exportOf(name, policy);
    for (const list of [r.checkouts, r.builds, r.tests, r.issues, r.incidents] as { id: string; origin: string }[][]) {
      expect(new Set(list.map((o) => o.id)).size).toBe(list.length);
      for (const o of list) {
        expect(o.origin).toBe("cowlab");
        expect(o.id.startsWith("cowlab:")).toBe(true);
      }
    }
    const checkouts = new Set(r.checkouts.map((c) => c.id));
    const builds = new Set(r.builds.map((b) => b.id));
    const tests = new Set(r.tests.map((t) => t.id));
    const issues = new Map(r.issues.map((i) => [i.id, i.version]));
    for (const b of r.builds) expect(checkouts.has(b.checkout_id)).toBe(true);
    for (const t of r.tests) expect(builds.has(t.build_id)).toBe(true);
    for (const i of r.incidents) {
      expect(issues.get(i.issue_id)).toBe(i.issue_version);
      expect(tests.has(i.test_id!)).toBe(true);
      expect(i.present).toBe(true);
    }
  });

  it("the default matrix: one boot test per build, one test per case, the paths and the known issues", async () => {
    const data = await fixture("lab-A-default-matrix.json");
    const judged = applyPolicy(data, repoPolicy);
    const r = kcidbReport(judged, repoPolicy.knownIssues, { origin: "cowlab" });

    expect(r.version).toEqual({ major: 5, minor: 3 });
    // 5.10, 6.1, 6.12, 7.3 base and 6.12 anon-exclusive-off, each a checkout shared by both arches
    expect(r.checkouts.map((c) => c.misc?.["variant"] === "base" ? c.patchset_hash : c.tree_name).sort()).toEqual(["", "", "", "", "debian-linux-source-6.12"]);
    expect(r.checkouts.every((c) => c.valid === true && c.tree_name?.startsWith("debian-linux-source-"))).toBe(true);
    expect(r.builds).toHaveLength(10);
    expect(new Set(r.builds.map((b) => b.architecture))).toEqual(new Set(["x86_64", "arm64"]));
    expect(r.builds.every((b) => b.status === "PASS" && b.compiler?.includes("12.2.0"))).toBe(true);

    const boots = r.tests.filter((t) => t.path === "boot");
    expect(boots.map((t) => t.build_id).sort()).toEqual(r.builds.map((b) => b.id).sort());
    expect(boots.every((t) => t.status === "PASS")).toBe(true);
    expect(r.tests).toHaveLength(boots.length + data.results.length);

    const gup = r.tests.find((t) => t.id === `cowlab:${data.run.id}/6.12/base/x86_64/gup-after-fork/vmsplice-child-hugetlb`)!;
    expect(gup.path).toBe("cowlab.gup-after-fork.vmsplice-child-hugetlb");
    expect(gup.status).toBe("FAIL");
    expect((gup.environment?.misc?.["attempts"] as unknown[]).length).toBe(1);
    // Explorer scenario lines are not path components: readable, with a hash that keeps them apart.
    const explore = r.tests.filter((t) => t.misc?.["testcase"] === "explore");
    expect(explore.length).toBeGreaterThan(0);
    for (const t of explore) expect(t.path).toMatch(/^cowlab\.explore\.[A-Za-z0-9_-]+-[0-9a-f]{8}$/);
    const perBuild = new Map<string, Set<string>>();
    for (const t of r.tests) perBuild.set(t.build_id, (perBuild.get(t.build_id) ?? new Set()).add(`${t.path}`));
    for (const [b, paths] of perBuild) expect(paths.size, b).toBe(r.tests.filter((t) => t.build_id === b).length);

    // Every case a known issue predicted is an incident of that issue; nothing else is.
    const expected = judged.results.filter((c) => c.expected);
    expect(expected.length).toBeGreaterThan(0);
    expect(r.incidents).toHaveLength(expected.length);
    const byId = new Map(r.tests.map((t) => [t.id, t]));
    for (const i of r.incidents) {
      const t = byId.get(i.test_id!)!;
      const issue = r.issues.find((x) => x.id === i.issue_id)!;
      expect(t.misc?.["expected"]).toMatchObject({ reason: issue.report_subject });
      expect(issue.culprit).toEqual({ code: true, tool: false, harness: false });
    }
    // one issue per known issue that matched at least one case
    expect(new Set(r.incidents.map((i) => i.issue_id)).size).toBe(r.issues.length);
    expect(r.issues.map((i) => i.id).every((id) => /^cowlab:known-issue\/[a-z0-9-]+\/[0-9a-f]{12}$/.test(id))).toBe(true);
  });

  it("is deterministic: the same results give the same report, byte for byte", async () => {
    const a = kcidbJson(await exportOf("lab-A-default-matrix.json"));
    const b = kcidbJson(await exportOf("lab-A-default-matrix.json"));
    expect(a).toBe(b);
  });

  it("--origin names every id and origin; --artifacts-url gives consoles a log_url", async () => {
    const r = await exportOf("fault-flaky-retry.json", faultPolicy, { origin: "my_lab", artifactsUrl: "https://ci.example.org/runs/42" });
    expect(errorsOf(r)).toEqual([]);
    expect(r.tests.every((t) => t.origin === "my_lab" && t.id.startsWith("my_lab:"))).toBe(true);
    expect(r.tests.find((t) => t.path === "boot")!.log_url).toBe("https://ci.example.org/runs/42/guests/6.12-base-x86_64/console.log");
    expect(r.tests.find((t) => t.path === "boot")!.misc?.["console"]).toBeUndefined();
  });
});

describe("status tables on the real fault runs", () => {
  const test = (r: KcidbReport, path: string): KcidbTest => {
    const t = r.tests.find((x) => x.path === path);
    if (!t) throw new Error(`no test ${path} in ${r.tests.map((x) => x.path).join(", ")}`);
    return t;
  };

  it("a kernel BUG mid-testcase: the guest booted (boot PASS), the testcase it hit is FAIL with the report", async () => {
    const r = await exportOf("cow-breakers-debug-vm-crash.json");
    expect(test(r, "boot").status).toBe("PASS");
    expect(test(r, "boot").misc?.["job_status"]).toBe("crash");
    const hit = test(r, "cowlab.gup-after-fork");
    expect(hit.status).toBe("FAIL");
    expect(hit.misc?.["verdict"]).toBe("crash");
    expect(hit.log_excerpt).toMatch(/VM_BUG_ON_PAGE/);
    // a series was applied and its patches are not in results.json: no patchset_hash rather than a wrong one
    expect(r.checkouts[0]!.patchset_hash).toBeUndefined();
    expect(r.checkouts[0]!.misc?.["series"]).toBe("cow-breakers (8 patches)");
  });

  it("a panic before the first testcase is a failed boot", async () => {
    const r = await exportOf("fault-boot-panic.json", faultPolicy);
    expect(test(r, "boot").status).toBe("FAIL");
    expect(test(r, "boot").log_excerpt).toMatch(/Kernel panic/);
    expect(test(r, "cowlab.segv").status).toBe("FAIL");
  });

  it("a hung guest's case is FAIL; a QEMU killed from outside leaves ERROR, not FAIL", async () => {
    expect(test(await exportOf("fault-hang-timeout.json", faultPolicy), "cowlab.hang").status).toBe("FAIL");
    const q = await exportOf("fault-qemu-error.json", faultPolicy);
    expect(test(q, "cowlab.hang").status).toBe("ERROR");
    expect(test(q, "boot").misc?.["job_status"]).toBe("qemu-error");
  });

  it("a flaky case is FAIL with its pass rate and both attempts; a program killed by SIGSEGV is ERROR", async () => {
    const r = await exportOf("fault-flaky-retry.json", faultPolicy);
    const flaky = test(r, "cowlab.flaky.first-time");
    expect(flaky.status).toBe("FAIL");
    expect(flaky.misc).toMatchObject({ verdict: "flaky", pass_rate: 0.5 });
    expect((flaky.environment?.misc?.["attempts"] as { status: string }[]).map((a) => a.status)).toEqual(["fail", "pass"]);
    expect(test(r, "cowlab.segv").status).toBe("ERROR");
  });

  it("a build error is a FAIL build with no tests; a series that does not apply is an invalid checkout with no build", async () => {
    const b = await exportOf("fault-build-error.json", faultPolicy);
    expect(b.builds).toHaveLength(1);
    expect(b.builds[0]!.status).toBe("FAIL");
    expect(b.builds[0]!.log_excerpt).toMatch(/#error "cowlab fault test/);
    expect(b.tests).toEqual([]);
    const p = await exportOf("fault-patch-error.json", faultPolicy);
    expect(p.checkouts).toHaveLength(1);
    expect(p.checkouts[0]!.valid).toBe(false);
    expect(p.checkouts[0]!.log_excerpt).toMatch(/does-not-apply/);
    expect(p.builds).toEqual([]);
    expect(p.tests).toEqual([]);
  });

  it("a guest over SSH says its runtime in the test environment", async () => {
    const r = await exportOf("rootfs-sysrq-panic.json", faultPolicy);
    expect(test(r, "boot").environment?.misc).toMatchObject({ runtime: "qemu-rootfs" });
    expect(test(r, "cowlab.sysrq-crash").status).toBe("FAIL");
  });

  it("a bisection: one checkout per step, named by the base tree", async () => {
    const r = await exportOf("bisect-cow-breakers.json");
    expect(r.checkouts.length).toBe(r.builds.length);
    expect(r.checkouts.every((c) => c.tree_name === "debian-linux-source-6.12")).toBe(true);
  });
});

describe("the rules beside the mapping", () => {
  it("pathComponent keeps valid names and gives any other a readable, distinct component", () => {
    expect(pathComponent("vmsplice-child-thp")).toBe("vmsplice-child-thp");
    expect(pathComponent("a_b")).toBe("a_b");
    const dotted = pathComponent("a.b");
    const spaced = pathComponent("a b");
    expect(dotted).toMatch(/^a_b-[0-9a-f]{8}$/);
    expect(new Set([dotted, spaced, "a_b"]).size).toBe(3);
    expect(pathComponent("...")).toMatch(/^_-[0-9a-f]{8}$/);
  });

  it("sourceFacts reads each source label shape the sources write", () => {
    expect(sourceFacts("linux-source-6.12 (6.12.117)")).toMatchObject({ tree_name: "debian-linux-source-6.12", patched: false });
    expect(sourceFacts("linux-source-6.12 (6.12.117) + anon-exclusive-off (3 patches)")).toMatchObject({ tree_name: "debian-linux-source-6.12", patched: true, misc: { series: "anon-exclusive-off (3 patches)" } });
    expect(sourceFacts("linux-source-6.12 (6.12.117) + 8 of cow-breakers")).toMatchObject({ patched: true, misc: { series: "8 of cow-breakers" } });
    expect(sourceFacts("https://git.example.org/linux.git@0123456789ab (6.13.0-rc1)")).toMatchObject({ tree_name: "linux", git_repository_url: "https://git.example.org/linux.git", misc: { git_commit_abbrev: "0123456789ab" } });
    expect(sourceFacts("/src/linux@0123456789ab (6.13.0)").git_repository_url).toBeUndefined();
    expect(sourceFacts("/tmp/linux-6.6.tar.xz (6.6.0)")).toMatchObject({ tree_name: "linux-6.6", patched: false });
    expect(sourceFacts("")).toEqual({ misc: {} });
  });

  it("kcidbOptions refuses an origin or URL the schema would", () => {
    expect(() => kcidbOptions({ origin: "Cow-Lab" })).toThrow(InputError);
    expect(() => kcidbOptions({ origin: "Cow-Lab" })).toThrow(/^--origin: 'Cow-Lab' is not a KCIDB origin/);
    expect(() => kcidbOptions({ origin: "cowlab", artifactsUrl: "runs/42" })).toThrow(/^--artifacts-url: /);
    expect(kcidbOptions({ origin: "cowlab", artifactsUrl: "https://x.example/r" })).toEqual({ origin: "cowlab", artifactsUrl: "https://x.example/r" });
  });
});

describe("cowlab export kcidb (CLI)", () => {
  const cowlab = (...args: string[]) => execa(process.execPath, [repoPath("bin", "cowlab.js"), "export", "kcidb", ...args], { cwd: repoPath(), reject: false, timeout: 60_000 });

  it("prints a valid report to stdout", async () => {
    const r = await cowlab(repoPath("test", "fixtures", "results", "cow-breakers-debug-vm-crash.json"));
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    expect(errorsOf(JSON.parse(r.stdout))).toEqual([]);
  });

  it("an unreadable results file is one line naming it, exit 2", async () => {
    const r = await cowlab("/nonexistent/results.json");
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr.trim().split("\n")).toHaveLength(1);
    expect(r.stderr).toMatch(/^cowlab: \/nonexistent\/results\.json: cannot read results/);
  });

  it("a bad --origin is one line naming the flag, exit 2", async () => {
    const r = await cowlab(repoPath("test", "fixtures", "results", "fault-hang-timeout.json"), "--origin", "Cow Lab");
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split("\n")).toEqual(["cowlab: --origin: 'Cow Lab' is not a KCIDB origin (lowercase letters, digits and _ only, e.g. cowlab)"]);
  });
});
