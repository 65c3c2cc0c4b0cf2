// Older results files, brought to the current schema when read, so reports and comparisons
// keep working on runs made before per-case attempts existed, and on bisections recorded
// before their steps carried typed facts.
type Json = Record<string, unknown>;
const isObj = (x: unknown): x is Json => typeof x === "object" && x !== null && !Array.isArray(x);

/** A results file as the current schema has it; anything unknown is returned as is for the schema to judge. */
export function migrateResults(raw: unknown): unknown {
  const v2 = isObj(raw) && raw.schema_version === 1 ? fromVersion1(raw) : raw;
  return isObj(v2) && v2.schema_version === 2 && isObj(v2.bisect) ? { ...v2, bisect: bisectFacts(v2.bisect) } : v2;
}

/**
 * Version 1 (one attempt per case, known issues frozen in as `expected`, known reports as
 * `known`) → version 2: each result gets its one attempt (guest 1), and the frozen policy is
 * dropped, because policy is now applied when results are read.
 */
function fromVersion1(raw: Json): Json {
  const results = Array.isArray(raw.results) ? raw.results : [];
  const kernels = Array.isArray(raw.kernels) ? raw.kernels : [];
  return {
    ...raw,
    schema_version: 2,
    run: isObj(raw.run) ? { repeat: 1, retry_failed: 0, ...raw.run } : raw.run,
    kernels: kernels.map((k) => {
      if (!isObj(k)) return k;
      const boot = isObj(k.boot) && Array.isArray(k.boot.reports) ? { ...k.boot, reports: k.boot.reports.map((r) => (isObj(r) ? { title: r.title, line: r.line } : r)) } : k.boot;
      return { ...k, boot, reruns: [] };
    }),
    results: results.map((r) => {
      if (!isObj(r)) return r;
      const { expected: _policy, ...facts } = r;
      return { ...facts, attempts: [{ status: r.status, duration_ms: r.duration_ms, reason: r.reason, guest: 1 }] };
    }),
  };
}

/**
 * A version-2 bisection written before its steps carried how they were decided as facts
 * (decided_by, same_as, noop_files, attempts, image_sha256) and before bisect.flake: the
 * facts are recovered from what such a file did record. Its `why` sentences are read here,
 * and only here: their wording is frozen in those files, so this cannot drift from what
 * steps.ts writes today. The full image hash was not recorded (null); a step that booted
 * guests before --repeat booted one.
 */
function bisectFacts(b: Json): Json {
  const steps = Array.isArray(b.steps) ? b.steps.map((s) => (isObj(s) && !("decided_by" in s) ? { ...s, ...legacyStep(s) } : s)) : b.steps;
  if ("flake" in b) return { ...b, steps };
  // "... (the failure showed in F of N attempts: ...)" at the end of the conclusion
  const f = typeof b.conclusion === "string" ? /\((the failure showed in (\d+) of (\d+) attempts: [^()]*)\)$/.exec(b.conclusion) : null;
  return { ...b, steps, flake: f ? { failing: Number(f[2]), run: Number(f[3]), hint: f[1] } : null };
}

function legacyStep(s: Json): Json {
  const why = typeof s.why === "string" ? s.why : "";
  const none = { same_as: null, noop_files: [], attempts: null, image_sha256: null };
  // "no-op change: only comments/whitespace in a.c, b.h; files outside the build (x); verdict of position K (label): ..."
  const noop = /^no-op change: (.*?); verdict of position (\d+) /.exec(why);
  if (noop) {
    const files = noop[1]!.split("; ").flatMap((part) => /^only comments\/whitespace in (.+)$/.exec(part)?.[1]?.split(", ") ?? /files outside the build \((.+)\)$/.exec(part)?.[1]?.split(", ") ?? []);
    return { ...none, decided_by: "same-source", same_as: Number(noop[2]), noop_files: files.sort() };
  }
  // "same kernel image as position K (sha256 0123456789ab): ..."
  const twin = /^same kernel image as position (\d+) /.exec(why);
  if (twin) return { ...none, decided_by: "same-image", same_as: Number(twin[1]) };
  // A step with no build had no kernel to boot (a checkout or build that failed).
  if (s.build_seconds === null || s.build_seconds === undefined) return { ...none, decided_by: "untested" };
  // "F of N attempts failing: ..." (--repeat); before it one guest: "N failing: ...", "N passing", "untestable: ..."
  const counted = /^(\d+) of (\d+) attempts failing/.exec(why);
  const attempts = counted ? { failing: Number(counted[1]), run: Number(counted[2]) } : { failing: /^\d+ failing/.test(why) ? 1 : 0, run: 1 };
  return { ...none, decided_by: "guests", attempts };
}
