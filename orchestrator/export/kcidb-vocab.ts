// cowlab's words in KCIDB's vocabulary, as tables: statuses, test paths, and the text rules
// the schema puts on strings. The reasons for each choice are beside it; README.md says them
// to users (section "cowlab export kcidb").
import type { JOB_STATUSES, Status } from "../results/schema.ts";
import { sha256 } from "../util/hash.ts";
import { KCIDB_STATUSES, type KcidbStatus } from "./kcidb-types.ts";

/**
 * A case's attempt status → KCIDB test status. KCIDB's statuses say what the run showed about
 * the tested code; cowlab's policy (known issues, "flaky is not a regression") travels beside
 * them as issues, incidents and misc, not by bending the status.
 * - crash → FAIL: the kernel oopsed or panicked while the case ran, so the tested code was
 *   shown faulty (the report title is in misc); ERROR would say the test itself broke.
 * - timeout → FAIL: cowlab counts a hung case as the kernel's failure (policy.ts
 *   isRegression), and a hang in a COW/GUP case is a kernel hang far more often than a test's.
 * - error → ERROR: the case could not complete for a reason that is not the kernel's (a setup
 *   step failed, the harness lost the guest), so the tested code's state is unknown.
 */
export const CASE_STATUS: Record<Status, KcidbStatus> = {
  pass: "PASS",
  fail: "FAIL",
  crash: "FAIL",
  timeout: "FAIL",
  error: "ERROR",
  skip: "SKIP",
};

/**
 * The `boot` test of a job whose guest never reached its first testcase, by job status (a job
 * whose guest did reach it booted: PASS, and any crash after that belongs to the cases, which
 * carry it). Statuses that end a job before a guest exists have no boot test at all.
 */
export const BOOT_STATUS: Record<(typeof JOB_STATUSES)[number], KcidbStatus | undefined> = {
  ok: "PASS",
  crash: "FAIL", // the kernel reported an oops/panic (or the target rebooted) while booting
  timeout: "FAIL", // the guest hung or went silent before the first testcase: a kernel hang
  "guest-error": "ERROR", // the guest runner (init, SSH session) broke: the kernel's state is unknown
  "qemu-error": "ERROR", // QEMU ended early without a kernel report: a lab fault
  skipped: "SKIP",
  "source-error": undefined,
  "patch-error": undefined,
  "build-error": undefined,
};

/** Job statuses that mean the checkout itself failed (no build was attempted). */
export const CHECKOUT_FAILED: ReadonlySet<string> = new Set(["source-error", "patch-error"]);

/** The highest-priority status of several (the schema lists them in priority order). */
export const worstStatus = (statuses: KcidbStatus[]): KcidbStatus | undefined => KCIDB_STATUSES.find((s) => statuses.includes(s));

/** The path component rule of v5's test_path_re: one or more of these, dots between components. */
const COMPONENT = /^[A-Za-z0-9_-]+$/;

/**
 * A name as one component of a KCIDB test path. A name that already is one stays as it is. Any
 * other (explorer scenario lines such as `thp | fork | write:parent`, or a case with a dot,
 * which the schema would read as two components) has each run of other characters replaced by
 * `_`, and `-` plus the first 8 hex digits of the sha256 of the name appended: two different
 * names never share a path, and the name itself stays in the test's misc and comment.
 */
export function pathComponent(name: string): string {
  if (COMPONENT.test(name)) return name;
  const readable = name.replace(/[^A-Za-z0-9_-]+/g, "_").replace(/^_+|_+$/g, "");
  return `${readable || "_"}-${sha256(name).slice(0, 8)}`;
}

/** The schema's origin pattern: what `--origin` may be. */
export const ORIGIN_RE = /^[a-z0-9_]+$/;

/** The schema's `maxLength` of every log_excerpt. */
export const EXCERPT_MAX = 16384;

/** Free text as the schema takes it: no NUL anywhere (every text field's pattern is ^[^\0]*$). */
export const text = (s: string): string => s.replaceAll("\u0000", "\\x00");

/** A log excerpt: text, cut to the schema's maxLength (JSON Schema counts code points, never more than UTF-16 units, so a cut at that many units fits). */
export const excerpt = (s: string): string => {
  const t = text(s);
  return t.length <= EXCERPT_MAX ? t : t.slice(0, EXCERPT_MAX);
};
