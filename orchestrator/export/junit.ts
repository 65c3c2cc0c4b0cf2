// JUnit XML of a judged run, for CI dashboards (GitHub test reporters, Jenkins, GitLab).
// Shape follows the Ant/Jenkins junit XSD: <testsuites> holding one <testsuite> per job
// (kernel spec/variant/arch), one <testcase> per case. Pure: judged run in, text out.
import { passRate } from "../results/attempts.ts";
import type { JudgedCase, JudgedKernel, JudgedRun } from "../results/policy.ts";
import type { Attempt } from "../results/schema.ts";

/**
 * XML 1.0 cannot carry most C0 control characters at all, not even as character references,
 * and kernel console text has them (ESC from colour codes, NUL, backspace). They are written
 * as visible `\xNN` text; lone surrogates (from a truncated console) become U+FFFD.
 */
const INVALID_XML = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

const visible = (s: string): string =>
  s.replace(INVALID_XML, (c) => (c.charCodeAt(0) >= 0xd800 && c.charCodeAt(0) <= 0xdfff ? "\uFFFD" : `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`));

/** Text content: `]]>` needs no care since `>` is escaped too. */
export const escapeText = (s: string): string => visible(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");

/** Attribute values: quotes escaped, and tab/newline as references so parsers do not fold them to spaces. */
export const escapeAttr = (s: string): string =>
  escapeText(s).replace(/"/g, "&quot;").replace(/'/g, "&apos;").replace(/\t/g, "&#9;").replace(/\n/g, "&#10;").replace(/\r/g, "&#13;");

const attrs = (a: Record<string, string | number>): string =>
  Object.entries(a)
    .map(([k, v]) => ` ${k}="${escapeAttr(String(v))}"`)
    .join("");

const seconds = (ms: number | null | undefined): string => ((ms ?? 0) / 1000).toFixed(3);

/** What one case becomes in JUnit terms. */
export type JunitOutcome = "passed" | "failure" | "error" | "skipped";

/**
 * The rules, in one place:
 * - fail, crash, timeout → <failure type=STATUS>: the kernel got it wrong (or hung, or oopsed);
 * - error → <error>: the lab could not run the case (not the kernel's fault);
 * - skip → <skipped message=REASON>;
 * - a failure a manifest known issue predicts (JudgedCase.expected) → <skipped message="expected
 *   failure: ...">: a CI dashboard should not go red for a documented known issue, and should
 *   not show it as a plain pass either; the exit code agrees (policy.ts isRegression);
 * - flaky (passed in some attempts) → passed, with a <system-out> note giving the pass rate and
 *   every attempt. Not Surefire's <flakyFailure>: the Ant/Jenkins XSD has no such element and
 *   GitHub's reporters drop it, while system-out is shown everywhere; and `cowlab` itself does
 *   not call a flaky case a regression, so the suite should not fail on it.
 */
export function junitOutcome(r: JudgedCase): JunitOutcome {
  if (r.expected && (r.status === "fail" || r.status === "flaky")) return r.status === "fail" ? "skipped" : "passed";
  switch (r.status) {
    case "fail":
    case "crash":
    case "timeout":
      return "failure";
    case "error":
      return "error";
    case "skip":
      return "skipped";
    case "pass":
    case "flaky":
      return "passed";
  }
}

const attemptLines = (attempts: Attempt[]): string =>
  attempts.map((a, i) => `attempt ${i + 1} (guest ${a.guest}): ${a.status}${a.duration_ms === null ? "" : ` ${a.duration_ms} ms`}${a.reason ? `: ${a.reason}` : ""}${a.report ? ` [${a.report}]` : ""}`).join("\n");

function testcaseXml(r: JudgedCase): string {
  const head = `    <testcase${attrs({ classname: `cowlab.${r.testcase}`, name: r.case, time: seconds(r.duration_ms) })}`;
  const outcome = junitOutcome(r);
  let body = "";
  if (outcome === "failure") body = `      <failure${attrs({ message: r.reason || r.status, type: r.status })}>${escapeText(`${r.reason}\n${attemptLines(r.attempts)}`)}</failure>\n`;
  else if (outcome === "error") body = `      <error${attrs({ message: r.reason || "lab error", type: "error" })}>${escapeText(`${r.reason}\n${attemptLines(r.attempts)}`)}</error>\n`;
  else if (outcome === "skipped") body = `      <skipped${attrs({ message: r.expected && r.status === "fail" ? `expected failure: ${r.expected.reason}${r.expected.fixed_in ? ` (fixed in ${r.expected.fixed_in})` : ""}; got: ${r.reason}` : r.reason })}/>\n`;
  if (r.status === "flaky") {
    const note = `flaky: passed ${Math.round(passRate(r) * 100)}% of ${r.attempts.length} attempts${r.expected ? ` (known issue: ${r.expected.reason})` : ""}\n${attemptLines(r.attempts)}`;
    body += `      <system-out>${escapeText(note)}</system-out>\n`;
  }
  return body ? `${head}>\n${body}    </testcase>\n` : `${head}/>\n`;
}

/**
 * A job that never ran its cases (its build failed, QEMU died, the guest crashed or hung before
 * reporting) would otherwise be an empty suite that dashboards show green: it gets one
 * `cowlab.job/<status>` testcase, an <error> for lab failures and a <failure> for the kernel's.
 */
function jobCase(k: JudgedKernel): JudgedCase | undefined {
  if (k.status === "ok") return undefined;
  const status = k.status === "crash" || k.status === "timeout" ? k.status : k.status === "skipped" ? "skip" : "error";
  return { job: k.job, kernel: k.release ?? k.version, arch: k.arch, variant: k.variant, testcase: "job", case: k.status, family: "job", status, duration_ms: k.seconds * 1000, reason: k.reason, attempts: [{ status, duration_ms: k.seconds * 1000, reason: k.reason, guest: 1 }] };
}

interface Counts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: string;
}

function counts(cases: JudgedCase[]): Counts {
  const o = cases.map(junitOutcome);
  return {
    tests: cases.length,
    failures: o.filter((x) => x === "failure").length,
    errors: o.filter((x) => x === "error").length,
    skipped: o.filter((x) => x === "skipped").length,
    time: seconds(cases.reduce((s, r) => s + (r.duration_ms ?? 0), 0)),
  };
}

/** The suites of a run: the jobs in kernels[] order, then any job only its results name (a merged or trimmed file). */
function suites(run: JudgedRun): { job: string; kernel: JudgedKernel | undefined; cases: JudgedCase[] }[] {
  const jobs = [...new Set([...run.kernels.map((k) => k.job), ...run.results.map((r) => r.job)])];
  return jobs.map((job) => {
    const kernel = run.kernels.find((k) => k.job === job);
    const extra = kernel ? jobCase(kernel) : undefined;
    return { job, kernel, cases: [...(extra ? [extra] : []), ...run.results.filter((r) => r.job === job)] };
  });
}

export function junitXml(run: JudgedRun): string {
  const all = suites(run);
  const total = counts(all.flatMap((s) => s.cases));
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: "cowlab", ...total })}>\n`;
  all.forEach((s, id) => {
    const k = s.kernel;
    const c = counts(s.cases);
    const props: [string, string][] = [
      ["run_id", run.run.id],
      ["job_status", k?.status ?? "unknown"],
      ...(k
        ? ([
            ["kernel_release", k.release ?? k.version],
            ["kernel_spec", k.kernel_spec],
            ["variant", k.variant],
            ["arch", k.arch],
            ["source", k.source],
            ...(k.build ? [["config_sha256", k.build.config_sha256] as [string, string]] : []),
          ] as [string, string][])
        : []),
    ];
    out += `  <testsuite${attrs({ name: s.job, tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped, time: c.time, timestamp: run.run.started_at.replace(/Z$|[+-]\d\d:\d\d$/, "").slice(0, 19), hostname: run.run.host.hostname, id, package: "cowlab" })}>\n`;
    out += `    <properties>\n${props.map(([name, value]) => `      <property${attrs({ name, value })}/>\n`).join("")}    </properties>\n`;
    out += s.cases.map(testcaseXml).join("");
    out += `  </testsuite>\n`;
  });
  return out + `</testsuites>\n`;
}
