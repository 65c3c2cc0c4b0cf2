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
 *   every attempt. Not Surefire's <flakyFailure>: Jenkins' schema knows it but Ant's does not and
 *   the GitHub reporters ignore it, while system-out is shown everywhere; and `cowlab` itself
 *   does not call a flaky case a regression, so the suite should not fail on it.
 */
export function junitOutcome(r: JudgedCase): JunitOutcome {
  if (r.status === "fail" && r.expected) return "skipped";
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

const firstLine = (s: string): string => s.split("\n")[0]!;

function testcaseXml(r: JudgedCase, kernel: JudgedKernel | undefined): string {
  const head = `    <testcase${attrs({ classname: `cowlab.${r.testcase}`, name: r.case, time: seconds(r.duration_ms) })}`;
  const details = escapeText(`${r.reason}\n${attemptLines(r.attempts)}`);
  let body = "";
  switch (junitOutcome(r)) {
    case "failure":
      body = `      <failure${attrs({ message: firstLine(r.reason) || r.status, type: r.status })}>${details}</failure>\n`;
      break;
    case "error":
      // the job's status says which lab step broke (build-error, qemu-error...) when it was the job's
      body = `      <error${attrs({ message: firstLine(r.reason) || "lab error", type: kernel && kernel.status !== "ok" ? kernel.status : "error" })}>${details}</error>\n`;
      break;
    case "skipped": {
      const e = r.expected;
      const message = e && r.status === "fail" ? `expected failure: ${e.reason}${e.fixed_in ? ` (fix: ${e.fixed_in})` : ""}; got: ${firstLine(r.reason)}` : r.reason;
      body = `      <skipped${attrs({ message })}/>\n`;
      break;
    }
    case "passed":
      break;
  }
  if (r.status === "flaky") {
    const note = `flaky: passed ${Math.round(passRate(r) * 100)}% of ${r.attempts.length} attempts${r.expected ? ` (known issue: ${r.expected.reason})` : ""}\n${attemptLines(r.attempts)}`;
    body += `      <system-out>${escapeText(note)}</system-out>\n`;
  }
  return body ? `${head}>\n${body}    </testcase>\n` : `${head}/>\n`;
}

/** The counts a suite (or the whole document) carries: they must equal its testcases' outcomes. */
export interface JunitCounts {
  tests: number;
  failures: number;
  errors: number;
  skipped: number;
  time: string;
}

export function junitCounts(cases: JudgedCase[]): JunitCounts {
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
  return jobs.map((job) => ({ job, kernel: run.kernels.find((k) => k.job === job), cases: run.results.filter((r) => r.job === job) }));
}

function properties(run: JudgedRun, k: JudgedKernel | undefined): [string, string][] {
  return [
    ["run_id", run.run.id],
    ...(k
      ? ([
          ["job_status", k.status],
          ["kernel_release", k.release ?? k.version],
          ["kernel_spec", k.kernel_spec],
          ["variant", k.variant],
          ["arch", k.arch],
          ["source", k.source],
          ...(k.build ? [["config_sha256", k.build.config_sha256]] : []),
          ...(k.boot ? [["runtime", k.boot.runtime], ["console", k.boot.console]] : []),
        ] as [string, string][])
      : []),
  ];
}

/**
 * The JUnit XML of a run. Valid against Jenkins' junit-10.xsd (xunit plugin), and carries every
 * attribute and element the Ant task's schema requires of a testsuite (name, tests, failures,
 * errors, time, timestamp, hostname, id, package; properties, system-out, system-err) and of a
 * testcase (name, classname, time). Ant's schema is stricter in two places where Jenkins' and
 * the GitHub/GitLab reporters are not: it allows no attributes on <testsuites> and no
 * <system-out> inside a <testcase> (the flaky note).
 */
export function junitXml(run: JudgedRun): string {
  const all = suites(run);
  const total = junitCounts(all.flatMap((s) => s.cases));
  // <testsuites> takes only the attributes Jenkins' schema lists (no `skipped` there)
  let out = `<?xml version="1.0" encoding="UTF-8"?>\n<testsuites${attrs({ name: `cowlab ${run.run.id}`, tests: total.tests, failures: total.failures, errors: total.errors, time: total.time })}>\n`;
  all.forEach((s, id) => {
    const k = s.kernel;
    const c = junitCounts(s.cases);
    const suite = { name: s.job, tests: c.tests, failures: c.failures, errors: c.errors, skipped: c.skipped, time: c.time, timestamp: run.run.started_at.slice(0, 19), hostname: run.run.host.hostname || "localhost", id, package: "cowlab" };
    out += `  <testsuite${attrs(suite)}>\n`;
    out += `    <properties>\n${properties(run, k).map(([name, value]) => `      <property${attrs({ name, value })}/>\n`).join("")}    </properties>\n`;
    out += s.cases.map((r) => testcaseXml(r, k)).join("");
    const status = k ? `job ${s.job}: ${k.status}${k.reason ? `: ${k.reason}` : ""}${k.boot ? `\nconsole: ${k.boot.console}\nrerun: ${k.boot.rerun}` : ""}` : `job ${s.job}: not in kernels[]`;
    out += `    <system-out>${escapeText(status)}</system-out>\n    <system-err/>\n`;
    out += `  </testsuite>\n`;
  });
  return out + `</testsuites>\n`;
}
